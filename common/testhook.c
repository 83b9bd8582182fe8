/*
 * Test hooks: forbidden system calls on request (testhook.h).  Each is
 * harmless where no filter stops it (a sanitizer build): nothing is
 * opened or executed, no signal is sent, no process is traced.
 */
#include "config.h"

#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "testhook.h"

/*
 * Not a system call: a fatal error after enough log lines to fill the
 * channel they travel on, so that a test can check that the reason still
 * gets out (keyd's fatal path waits for its channel under its filter).
 */
static __dead void
flood_then_die(void)
{
	int	i;

	for (i = 0; i < 4000; i++)
		log_info("test hook: filling the log channel, line %d of 4000 "
		    "..........................................................",
		    i);
	fatalx("test hook: fatal error on request");
}

static long
forbidden(const char *name)
{
	struct iovec	local = { &local, 1 }, remote = { &local, 1 };
	static char	*const argv[] = { "true", NULL };

	if (strcmp(name, "socket") == 0)
		return socket(AF_INET, SOCK_STREAM, 0);
	if (strcmp(name, "connect") == 0)
		return connect(0, NULL, 0);
	if (strcmp(name, "bind") == 0)
		return bind(0, NULL, 0);
	if (strcmp(name, "listen") == 0)
		return listen(0, 1);
	if (strcmp(name, "accept") == 0)
		return accept4(0, NULL, NULL, 0);
	if (strcmp(name, "open") == 0)
		return openat(AT_FDCWD, "/nonexistent", O_RDONLY);
	if (strcmp(name, "exec") == 0)
		return execve("/nonexistent/true", argv, NULL);
	if (strcmp(name, "ptrace") == 0)
		return ptrace(PTRACE_PEEKDATA, getppid(), NULL, NULL);
	if (strcmp(name, "kill") == 0)
		return kill(getppid(), 0);
	if (strcmp(name, "tgkill") == 0)
		return syscall(SYS_tgkill, getppid(), getppid(), 0);
	if (strcmp(name, "setown") == 0)
		return fcntl(0, F_SETOWN, getpid());
	if (strcmp(name, "async") == 0)
		return fcntl(0, F_SETFL, O_ASYNC);
	if (strcmp(name, "setuid") == 0)
		return setuid(0);
	if (strcmp(name, "vmread") == 0)
		return process_vm_readv(getppid(), &local, 1, &remote, 1, 0);
	if (strcmp(name, "fatal") == 0)
		flood_then_die();
	errno = EINVAL;
	return -2;
}

void
test_forbidden_syscall(const char *name, void (*flush)(void))
{
	long	rv;

	log_warnx("test hook: attempting %s, outside the allow-list", name);
	if (flush != NULL)
		flush();
	/* Under the filter this never returns: the kernel kills us. */
	rv = forbidden(name);
	if (rv == -2)
		log_warnx("test hook: no such call %s", name);
	else
		log_warnx("test hook: %s returned %ld (%s): no sandbox", name,
		    rv, rv == -1 ? strerror(errno) : "ok");
}
