/*
 * The sandboxes of keyd and the workers: after the privilege drop, a
 * seccomp allow-list of the syscalls each role needs (sandbox-seccomp.c
 * says which).  Everything else kills the process (SIGSYS); a debug build
 * traps and names the syscall instead.  sandbox-null.c compiles them out
 * for sanitizer and Valgrind builds.
 */
#ifndef PM_SANDBOX_H
#define PM_SANDBOX_H

void		 sandbox_keyd(void);
void		 sandbox_worker(void);
const char	*sandbox_name(void);
/* 1 if the calling process runs under a seccomp filter. */
int		 sandbox_active(void);

#endif
