/*
 * memscan PID NEEDLE: count occurrences of NEEDLE in every readable
 * mapping of process PID (via /proc/PID/maps and /proc/PID/mem).
 * A NEEDLE of the form hex:0a1b... is those bytes (key material has
 * NULs).  Exit 0 if found, 1 if not, 2 on error.  Used to prove that
 * secrets exist only in keyd's memory.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK	(1024 * 1024)

/* Scan [start, end) in chunks that overlap by nlen - 1 bytes. */
static void
scan_region(int mem, unsigned long start, unsigned long end,
    const char *needle, size_t nlen, size_t *total, size_t *scanned)
{
	static unsigned char	 buf[CHUNK];
	unsigned long		 off = start;
	unsigned char		*p, *hit;
	size_t			 left;
	ssize_t			 n;

	while (off < end) {
		size_t want = end - off < CHUNK ? end - off : CHUNK;

		if ((n = pread(mem, buf, want, (off_t)off)) <= 0)
			return;
		*scanned += (size_t)n;
		for (p = buf, left = (size_t)n; left >= nlen; ) {
			if ((hit = memmem(p, left, needle, nlen)) == NULL)
				break;
			(*total)++;
			left -= (size_t)(hit - p) + 1;
			p = hit + 1;
		}
		if ((size_t)n < want || off + (size_t)n >= end)
			return;
		off += (size_t)n - (nlen - 1);
	}
}

/* "hex:..." in place into its bytes; -1 if it is not even hex. */
static int
unhex(char *s, size_t *len)
{
	size_t		i, n = strlen(s);
	unsigned int	v;

	if (n % 2 != 0)
		return -1;
	for (i = 0; i < n / 2; i++) {
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		s[i] = (char)v;
	}
	*len = n / 2;
	return 0;
}

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
	if (strncmp(argv[2], "hex:", 4) == 0) {
		argv[2] += 4;
		if (unhex(argv[2], &nlen) == -1 || nlen == 0) {
			fprintf(stderr, "memscan: bad hex needle\n");
			return 2;
		}
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
		if (sscanf(line, "%lx-%lx %7s", &start, &end, perms) != 3)
			continue;
		/* [vvar] and friends cannot be read; skip non-readable ones. */
		if (perms[0] != 'r' || strstr(line, "[vvar]") != NULL ||
		    strstr(line, "[vsyscall]") != NULL)
			continue;
		/*
		 * Sanitizer shadow memory reserves terabytes; no heap, stack
		 * or library mapping of ours comes near a gigabyte.
		 */
		if (end - start > (1UL << 30))
			continue;
		scan_region(mem, start, end, argv[2], nlen, &total, &scanned);
	}
	fclose(maps);
	close(mem);
	printf("%zu occurrence(s) in %zu bytes scanned\n", total, scanned);
	if (scanned == 0)
		return 2;
	return total > 0 ? 0 : 1;
}
