/*
 * keyd's seccomp allow-list (libseccomp; the library inserts the
 * architecture check first, and a foreign architecture is killed too).
 *
 * The list is what a libevent epoll loop, OpenSSL, libsodium and glibc's
 * malloc need once every file and socket is already open.  When keyd
 * dies with SIGSYS after a library upgrade, find the syscall with
 *	strace -f -e trace=all privatemoded -d ...
 * or on a live system with
 *	auditctl -a task,always -F uid=<privatemode uid>
 * and build with --enable-sandbox-debug, which traps and logs the name.
 * Never ship the debug build: a trap can be caught, a kill cannot.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <seccomp.h>

#include "ipc.h"
#include "log.h"
#include "sandbox.h"

/* Syscalls allowed with any argument. */
static const int allow_any[] = {
	SCMP_SYS(read), SCMP_SYS(recvfrom),
	SCMP_SYS(write), SCMP_SYS(writev), SCMP_SYS(sendto),
	SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_ctl),
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_nanosleep),
	SCMP_SYS(gettimeofday), SCMP_SYS(nanosleep),
	SCMP_SYS(getrandom), SCMP_SYS(getpid), SCMP_SYS(gettid),
	SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap),
	SCMP_SYS(madvise), SCMP_SYS(mprotect), SCMP_SYS(mlock),
	SCMP_SYS(munlock), SCMP_SYS(futex), SCMP_SYS(close),
	SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(restart_syscall),
	SCMP_SYS(fcntl), SCMP_SYS(fstat), SCMP_SYS(newfstatat),
};

#ifdef SANDBOX_DEBUG
static void
sigsys_report(int sig, siginfo_t *info, void *uctx)
{
	char	*name;

	name = seccomp_syscall_resolve_num_arch(info->si_arch, info->si_syscall);
	/* Not async-signal-safe, and that is fine in a debug build. */
	log_warnx("seccomp: forbidden syscall %s (%d) on arch 0x%x",
	    name ? name : "?", info->si_syscall, info->si_arch);
	_exit(99);
}
#endif

void
sandbox_keyd(void)
{
	scmp_filter_ctx	ctx;
	uint32_t	action = SCMP_ACT_KILL_PROCESS;
	size_t		i;
	int		rv;

#ifdef SANDBOX_DEBUG
	struct sigaction	sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sigsys_report;
	sa.sa_flags = SA_SIGINFO;
	if (sigaction(SIGSYS, &sa, NULL) == -1)
		fatal("sigaction SIGSYS");
	action = SCMP_ACT_TRAP;
	log_warnx("seccomp debug build: violations trap instead of kill");
#endif
	if ((ctx = seccomp_init(action)) == NULL)
		fatalx("seccomp_init");
	/* A foreign architecture's syscall numbers mean nothing: kill. */
	if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
	    SCMP_ACT_KILL_PROCESS) != 0)
		fatalx("seccomp: SCMP_FLTATR_ACT_BADARCH");
	for (i = 0; i < sizeof(allow_any) / sizeof(allow_any[0]); i++)
		if ((rv = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allow_any[i],
		    0)) != 0)
			fatalx("seccomp_rule_add %d: %s", allow_any[i],
			    strerror(-rv));
	/* keyd asks whether its own filter is on, nothing else. */
	if ((rv = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
	    SCMP_A0(SCMP_CMP_EQ, PR_GET_SECCOMP))) != 0)
		fatalx("seccomp_rule_add prctl: %s", strerror(-rv));
	/* keyd never opens anything: fail open(2) politely for libc probes. */
	seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 0);
	seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(open), 0);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("PR_SET_NO_NEW_PRIVS");
	if ((rv = seccomp_load(ctx)) != 0)
		fatalx("seccomp_load: %s", strerror(-rv));
	seccomp_release(ctx);
}

const char *
sandbox_name(void)
{
	return "seccomp";
}

int
sandbox_active(void)
{
	return prctl(PR_GET_SECCOMP, 0, 0, 0, 0) == 2;
}
