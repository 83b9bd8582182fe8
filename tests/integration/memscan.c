/*
 * memscan PID NEEDLE: count occurrences of NEEDLE in every readable
 * mapping of process PID (via /proc/PID/maps and /proc/PID/mem).
 * Exit 0 if found, 1 if not, 2 on error.  Used to prove that secrets
 * exist only in keyd's memory.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
main(int argc, char *argv[])
{
	char		 path[64], line[512], perms[8];
	unsigned long	 start, end;
	size_t		 nlen, total = 0, scanned = 0;
	FILE		*maps;
	int		 mem;

	if (argc != 3 || (nlen = strlen(argv[2])) == 0) {
		fprintf(stderr, "usage: memscan pid needle\n");
		return 2;
	}
	snprintf(path, sizeof(path), "/proc/%s/maps", argv[1]);
	if ((maps = fopen(path, "r")) == NULL) {
		perror(path);
		return 2;
	}
	snprintf(path, sizeof(path), "/proc/%s/mem", argv[1]);
	if ((mem = open(path, O_RDONLY)) == -1) {
		perror(path);
		return 2;
	}
	while (fgets(line, sizeof(line), maps) != NULL) {
		unsigned char	*buf, *p;
		size_t		 len, left;
		ssize_t		 n;

		if (sscanf(line, "%lx-%lx %7s", &start, &end, perms) != 3)
			continue;
		/* [vvar] and friends cannot be read; skip non-readable ones. */
		if (perms[0] != 'r' || strstr(line, "[vvar]") != NULL ||
		    strstr(line, "[vsyscall]") != NULL)
			continue;
		len = end - start;
		if ((buf = malloc(len)) == NULL)
			return 2;
		n = pread(mem, buf, len, (off_t)start);
		if (n <= 0) {
			free(buf);
			continue;
		}
		scanned += (size_t)n;
		for (p = buf, left = (size_t)n; left >= nlen; ) {
			unsigned char *hit = memmem(p, left, argv[2], nlen);

			if (hit == NULL)
				break;
			total++;
			left -= (size_t)(hit - p) + 1;
			p = hit + 1;
		}
		free(buf);
	}
	fclose(maps);
	close(mem);
	printf("%zu occurrence(s) in %zu bytes scanned\n", total, scanned);
	if (scanned == 0)
		return 2;
	return total > 0 ? 0 : 1;
}
