/*
 * The seccomp allow-lists of the two sandboxed roles (libseccomp; the
 * library inserts the architecture check first, and a foreign
 * architecture is killed too).  Anything not listed kills the process.
 *
 * keyd: what a libevent epoll loop, OpenSSL, libsodium and glibc's malloc
 * need once every file is read, plus the upstream sockets its worker
 * hands it: receiving them (recvmsg), checking them (getsockopt,
 * getpeername, fstat), reading, writing and closing them.  It cannot
 * create, bind, listen on, accept or connect a socket, open a file,
 * execute, trace, signal another process or change its identity.
 *
 * worker: the same loop serving clients (accept4, client TLS) and
 * connecting upstream (socket for IPv4/IPv6 only, connect, the DNS
 * resolver's datagrams), handing sockets to keyd (sendmsg).  No file
 * opens, no exec, no ptrace or process_vm_*, no signal to another
 * process, no identity change.
 *
 * For both, fcntl is limited to F_GETFL, F_SETFL without O_ASYNC, F_GETFD
 * and F_SETFD: F_SETOWN, F_SETSIG and O_ASYNC would let a process have the
 * kernel signal any process of the same user.
 *
 * When a process dies with SIGSYS after a library upgrade, find the
 * syscall with
 *	strace -f -e trace=all privatemoded -d ...
 * or on a live system with
 *	auditctl -a task,always -F uid=<privatemode uid>
 * and build with --enable-sandbox-debug, which traps and logs the name.
 * Never ship the debug build: a trap can be caught, a kill cannot.
 */
#include "config.h"

#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <seccomp.h>

#include "log.h"
#include "sandbox.h"

/* Both roles, with any argument. */
static const int allow_common[] = {
	SCMP_SYS(read), SCMP_SYS(readv), SCMP_SYS(recvfrom),
	SCMP_SYS(write), SCMP_SYS(writev), SCMP_SYS(sendto),
	SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_ctl),
	SCMP_SYS(poll), SCMP_SYS(ppoll),
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_nanosleep),
	SCMP_SYS(gettimeofday), SCMP_SYS(nanosleep),
	SCMP_SYS(getrandom), SCMP_SYS(getpid), SCMP_SYS(gettid),
	SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap),
	SCMP_SYS(madvise), SCMP_SYS(mprotect), SCMP_SYS(mlock),
	SCMP_SYS(munlock), SCMP_SYS(futex), SCMP_SYS(close),
	SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(restart_syscall),
	SCMP_SYS(fstat), SCMP_SYS(newfstatat),
	SCMP_SYS(getsockopt), SCMP_SYS(getpeername), SCMP_SYS(shutdown),
};

/* keyd: the handed-over sockets arrive with a message. */
static const int allow_keyd[] = {
	SCMP_SYS(recvmsg),
};

/* The worker: clients, upstream connections, the hand-over. */
static const int allow_worker[] = {
	SCMP_SYS(accept4), SCMP_SYS(accept), SCMP_SYS(connect),
	SCMP_SYS(setsockopt), SCMP_SYS(getsockname), SCMP_SYS(sendmsg),
	SCMP_SYS(recvmsg),
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

static void
rule(scmp_filter_ctx ctx, uint32_t action, int nr, unsigned int argc,
    const struct scmp_arg_cmp *args)
{
	int	rv;

	if ((rv = seccomp_rule_add_array(ctx, action, nr, argc, args)) != 0)
		fatalx("seccomp_rule_add %d: %s", nr, strerror(-rv));
}

static void
allow_all(scmp_filter_ctx ctx, const int *nr, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		rule(ctx, SCMP_ACT_ALLOW, nr[i], 0, NULL);
}

/* A rule that allows nr only when argument `arg` equals v. */
static void
allow_if(scmp_filter_ctx ctx, int nr, unsigned int arg, scmp_datum_t v)
{
	struct scmp_arg_cmp	cmp = SCMP_CMP(arg, SCMP_CMP_EQ, v);

	rule(ctx, SCMP_ACT_ALLOW, nr, 1, &cmp);
}

/* What both roles may do only with certain arguments. */
static void
allow_restricted(scmp_filter_ctx ctx)
{
	struct scmp_arg_cmp	setfl[2] = {
		SCMP_CMP(1, SCMP_CMP_EQ, F_SETFL),
		SCMP_CMP(2, SCMP_CMP_MASKED_EQ, O_ASYNC, 0),
	};
	pid_t			self = getpid();

	allow_if(ctx, SCMP_SYS(fcntl), 1, F_GETFL);
	allow_if(ctx, SCMP_SYS(fcntl), 1, F_GETFD);
	allow_if(ctx, SCMP_SYS(fcntl), 1, F_SETFD);
	rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 2, setfl);
	/* abort() signals itself; nobody else. */
	allow_if(ctx, SCMP_SYS(kill), 0, (scmp_datum_t)self);
	allow_if(ctx, SCMP_SYS(tgkill), 0, (scmp_datum_t)self);
	/* A process asks whether its own filter is on, nothing else. */
	allow_if(ctx, SCMP_SYS(prctl), 0, PR_GET_SECCOMP);
}

static scmp_filter_ctx
filter_new(void)
{
	scmp_filter_ctx	ctx;
	uint32_t	action = SCMP_ACT_KILL_PROCESS;

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
	allow_all(ctx, allow_common, sizeof(allow_common) / sizeof(int));
	allow_restricted(ctx);
	return ctx;
}

static void
filter_load(scmp_filter_ctx ctx)
{
	int	rv;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("PR_SET_NO_NEW_PRIVS");
	if ((rv = seccomp_load(ctx)) != 0)
		fatalx("seccomp_load: %s", strerror(-rv));
	seccomp_release(ctx);
}

void
sandbox_keyd(void)
{
	scmp_filter_ctx	ctx = filter_new();

	allow_all(ctx, allow_keyd, sizeof(allow_keyd) / sizeof(int));
	filter_load(ctx);
}

void
sandbox_worker(void)
{
	scmp_filter_ctx		ctx = filter_new();
	struct scmp_arg_cmp	fionread = SCMP_CMP(1, SCMP_CMP_EQ, FIONREAD);
	struct scmp_arg_cmp	local = SCMP_CMP(0, SCMP_CMP_EQ, AF_UNIX);

	allow_all(ctx, allow_worker, sizeof(allow_worker) / sizeof(int));
	/* Upstream TCP and the resolver's UDP, over IPv4 or IPv6 only. */
	allow_if(ctx, SCMP_SYS(socket), 0, AF_INET);
	allow_if(ctx, SCMP_SYS(socket), 0, AF_INET6);
	/*
	 * syslog(3) reconnecting to /dev/log after journald restarted: it
	 * cannot reach it from the chroot anyway; fail it politely.
	 */
	rule(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 1, &local);
	/* libevent sizes socket reads with FIONREAD. */
	rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, &fionread);
	filter_load(ctx);
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
