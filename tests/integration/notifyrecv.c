/*
 * notifyrecv PATH SECONDS: receive sd_notify(3) datagrams on an AF_UNIX
 * socket at PATH and print each on one line ('\n' in a datagram becomes
 * '|'), for SECONDS or until STOPPING=1 arrives.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int
main(int argc, char *argv[])
{
	struct sockaddr_un	sun;
	struct pollfd		pfd;
	char			buf[4096];
	time_t			end;
	ssize_t			n, i;
	int			fd;

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
	end = time(NULL) + atoi(argv[2]);
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (time(NULL) < end) {
		if (poll(&pfd, 1, 200) <= 0)
			continue;
		if ((n = recv(fd, buf, sizeof(buf) - 1, 0)) <= 0)
			continue;
		for (i = 0; i < n; i++)
			if (buf[i] == '\n')
				buf[i] = '|';
		buf[n] = '\0';
		printf("%s\n", buf);
		fflush(stdout);
		if (strstr(buf, "STOPPING=1") != NULL)
			break;
	}
	return 0;
}
