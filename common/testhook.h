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
 * "async", "setuid", "vmread"); logs what happens if it returns.
 */
void	test_forbidden_syscall(const char *name);

#endif
