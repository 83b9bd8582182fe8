#ifndef PM_PRIVATEMODED_H
#define PM_PRIVATEMODED_H

int	worker_main(int instance);

#endif
