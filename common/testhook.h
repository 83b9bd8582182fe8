/*
 * Test hooks shared by the worker and keyd, compiled only with
 * --enable-test-hooks: the system calls their seccomp allow-lists must
 * refuse, made on request so that a test can watch the kernel kill the
 * process for each.
 */
#ifndef PM_TESTHOOK_H
#define PM_TESTHOOK_H

/*
 * Make the system call `name` ("socket", "connect", "bind", "listen",
 * "accept", "open", "exec", "ptrace", "kill", "tgkill", "setown",
 * "async", "setuid", "vmread"), or "fatal" (a fatal error after 4000 log
 * lines); logs what happens if it returns.  flush,
 * if not NULL, runs after the announcement and before the call (keyd's
 * log lines travel through a channel the kill would cut).
 */
void	test_forbidden_syscall(const char *name, void (*flush)(void));

#endif
