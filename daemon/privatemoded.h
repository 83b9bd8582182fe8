/*
 * What privatemoded.c starts besides the parent: the worker role.
 */

#ifndef PM_PRIVATEMODED_H
#define PM_PRIVATEMODED_H

int	worker_main(int instance);

#endif
