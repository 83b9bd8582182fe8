/*
 * keyd's sandbox: after the privilege drop, a seccomp allow-list of the
 * few syscalls a libevent loop doing crypto over two socketpairs needs.
 * Everything else kills the process (SIGSYS); a debug build traps and
 * names the syscall instead.
 */
#ifndef PM_SANDBOX_H
#define PM_SANDBOX_H

void		 sandbox_keyd(void);
const char	*sandbox_name(void);
/* 1 if the calling process runs under a seccomp filter. */
int		 sandbox_active(void);

#endif
