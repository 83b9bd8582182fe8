#ifndef PM_PRIVATEMODED_H
#define PM_PRIVATEMODED_H

int	parent_main(int, char **);
int	worker_main(int instance);
int	keyd_main(int instance);

#endif
