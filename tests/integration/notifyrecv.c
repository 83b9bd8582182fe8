/*
 * notifyrecv PATH SECONDS: receive sd_notify(3) datagrams on an AF_UNIX
 * socket at PATH and print each on one line ('\n' in a datagram becomes
 * '|'), for SECONDS or until STOPPING=1 arrives.
 *
 * SIGUSR1: print every datagram queued so far, then a line "MARK <n>"
 * (n counts the marks).  A test that has stopped the sender waits for the
 * mark and knows that everything sent before the stop is in the output,
 * without guessing how long delivery takes.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t	marks;

static void
on_usr1(int sig)
{
	(void)sig;
	marks++;
}

static int
print_one(int fd, int flags)
{
	char	buf[4096];
	ssize_t	n, i;

	if ((n = recv(fd, buf, sizeof(buf) - 1, flags)) <= 0)
		return 0;
	for (i = 0; i < n; i++)
		if (buf[i] == '\n')
			buf[i] = '|';
	buf[n] = '\0';
	printf("%s\n", buf);
	fflush(stdout);
	return strstr(buf, "STOPPING=1") != NULL ? -1 : 1;
}

int
main(int argc, char *argv[])
{
	struct sockaddr_un	sun;
	struct pollfd		pfd;
	struct sigaction	sa;
	time_t			end;
	sig_atomic_t		done = 0;
	int			fd, rv;

	if (argc != 3)
		return 2;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strncpy(sun.sun_path, argv[1], sizeof(sun.sun_path) - 1);
	unlink(argv[1]);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		perror(argv[1]);
		return 2;
	}
	chmod(argv[1], 0777);	/* the daemon has dropped to its user */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;	/* no SA_RESTART: poll returns EINTR */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) == -1) {
		perror("sigaction");
		return 2;
	}
	end = time(NULL) + atoi(argv[2]);
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (time(NULL) < end) {
		if (marks != done) {
			/* Everything queued before the signal, then the mark. */
			while ((rv = print_one(fd, MSG_DONTWAIT)) > 0)
				;
			if (rv == -1)
				break;
			done = marks;
			printf("MARK %d\n", (int)done);
			fflush(stdout);
		}
		if (poll(&pfd, 1, 200) <= 0)
			continue;
		if (print_one(fd, 0) == -1)
			break;
	}
	return 0;
}
