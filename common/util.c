/*
 * Small helpers every process uses: allocation that cannot fail,
 * strings, UTF-8 and JSON escaping, value parsers, clocks, randomness.
 */

#include "config.h"

#include <sys/time.h>

#include <sys/random.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#ifdef HAVE_MALLOC_TRIM
#include <malloc.h>
#endif
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

void *
xmalloc(size_t n)
{
	void	*p;

	if (n == 0)
		n = 1;
	if ((p = malloc(n)) == NULL)
		fatal("%s: malloc %zu", __func__, n);
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void	*p;

	if (nmemb == 0 || size == 0)
		nmemb = size = 1;
	if ((p = calloc(nmemb, size)) == NULL)
		fatal("%s: calloc", __func__);
	return p;
}

void *
xreallocarray(void *ptr, size_t nmemb, size_t size)
{
	void	*p;

	if (size != 0 && nmemb > SIZE_MAX / size)
		fatalx("%s: overflow", __func__);
	if ((p = realloc(ptr, nmemb * size == 0 ? 1 : nmemb * size)) == NULL)
		fatal("%s: realloc", __func__);
	return p;
}

char *
xstrdup(const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		fatal("%s: strdup", __func__);
	return p;
}

char *
xstrndup(const char *s, size_t n)
{
	char	*p;

	if ((p = strndup(s, n)) == NULL)
		fatal("%s: strndup", __func__);
	return p;
}

int
xasprintf(char **ret, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vasprintf(ret, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatal("%s: vasprintf", __func__);
	return n;
}

void
freezero(void *p, size_t len)
{
	if (p == NULL)
		return;
	explicit_bzero(p, len);
	free(p);
}

void
strfreezero(char *s)
{
	if (s != NULL)
		freezero(s, strlen(s));
}

__attribute__((__noinline__)) void
stack_scrub(void)
{
	volatile uint8_t	area[64 * 1024];

	explicit_bzero((void *)(uintptr_t)area, sizeof(area));
	__asm__ __volatile__("" : : "r"(area) : "memory");
}

#ifndef HAVE_STRLCPY
size_t
strlcpy(char *dst, const char *src, size_t dsize)
{
	size_t	len = strlen(src);

	if (dsize != 0) {
		size_t	n = len >= dsize ? dsize - 1 : len;

		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}
#endif

#ifndef HAVE_STRLCAT
size_t
strlcat(char *dst, const char *src, size_t dsize)
{
	size_t	dlen = strnlen(dst, dsize);

	if (dlen == dsize)
		return dlen + strlen(src);
	return dlen + strlcpy(dst + dlen, src, dsize - dlen);
}
#endif

/* Length of a valid UTF-8 sequence at s (max n bytes), or 0 if invalid. */
static size_t
utf8_seqlen(const unsigned char *s, size_t n)
{
	uint32_t	cp;
	size_t		len, i;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		cp = s[0] & 0x07;
	} else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

char *
json_escape_range(const char *str, size_t n)
{
	const unsigned char	*s = (const unsigned char *)str;
	char			*out, *p;
	size_t			 i, l;

	/* Worst case: every byte becomes \uFFFD (6 chars) or \u00XX. */
	if (n > (SIZE_MAX - 3) / 6)
		fatalx("%s: too long", __func__);
	p = out = xmalloc(n * 6 + 3);
	*p++ = '"';
	for (i = 0; i < n; ) {
		switch (s[i]) {
		case '"':  *p++ = '\\'; *p++ = '"';  i++; continue;
		case '\\': *p++ = '\\'; *p++ = '\\'; i++; continue;
		case '\n': *p++ = '\\'; *p++ = 'n';  i++; continue;
		case '\r': *p++ = '\\'; *p++ = 'r';  i++; continue;
		case '\t': *p++ = '\\'; *p++ = 't';  i++; continue;
		case '<': case '>': case '&':
			/* As Go's encoder: safe to embed in HTML. */
			p += sprintf(p, "\\u%04x", s[i]);
			i++;
			continue;
		}
		if (s[i] < 0x20) {
			p += sprintf(p, "\\u%04x", s[i]);
			i++;
			continue;
		}
		if ((l = utf8_seqlen(s + i, n - i)) == 0) {
			p += sprintf(p, "\\ufffd");
			i++;
			continue;
		}
		memcpy(p, s + i, l);
		p += l;
		i += l;
	}
	*p++ = '"';
	*p = '\0';
	return out;
}

char *
json_escape_dup(const char *s)
{
	return json_escape_range(s, strlen(s));
}

int
parse_duration_ms(const char *s, int64_t *ms, const char **errstr)
{
	char		*end;
	long long	 v;
	int64_t		 mul;

	errno = 0;
	if (!isdigit((unsigned char)*s)) {
		*errstr = "not a duration";
		return -1;
	}
	v = strtoll(s, &end, 10);
	if (errno == ERANGE || v < 0) {
		*errstr = "out of range";
		return -1;
	}
	if (*end == '\0' || strcmp(end, "s") == 0)
		mul = 1000;
	else if (strcmp(end, "ms") == 0)
		mul = 1;
	else if (strcmp(end, "m") == 0)
		mul = 60 * 1000;
	else if (strcmp(end, "h") == 0)
		mul = 3600 * 1000;
	else {
		*errstr = "bad unit (use ms, s, m or h)";
		return -1;
	}
	if (v > INT64_MAX / mul / 1000) {
		*errstr = "out of range";
		return -1;
	}
	*ms = v * mul;
	return 0;
}

int
parse_size(const char *s, uint64_t *bytes, const char **errstr)
{
	char			*end;
	unsigned long long	 v;
	uint64_t		 mul = 1;

	errno = 0;
	if (!isdigit((unsigned char)*s)) {
		*errstr = "not a size";
		return -1;
	}
	v = strtoull(s, &end, 10);
	if (errno == ERANGE) {
		*errstr = "out of range";
		return -1;
	}
	if (*end != '\0') {
		switch (*end) {
		case 'k': case 'K': mul = 1024ULL; break;
		case 'm': case 'M': mul = 1024ULL * 1024; break;
		case 'g': case 'G': mul = 1024ULL * 1024 * 1024; break;
		default:
			*errstr = "bad unit (use k, M or G)";
			return -1;
		}
		if (end[1] != '\0' && !((end[1] == 'B' || end[1] == 'b') &&
		    end[2] == '\0')) {
			*errstr = "bad unit (use k, M or G)";
			return -1;
		}
	}
	if (v > UINT64_MAX / mul / 4) {
		*errstr = "out of range";
		return -1;
	}
	*bytes = v * mul;
	return 0;
}

int
parse_bool(const char *s, int *v)
{
	if (strcasecmp(s, "yes") == 0 || strcasecmp(s, "true") == 0 ||
	    strcasecmp(s, "on") == 0 || strcmp(s, "1") == 0)
		*v = 1;
	else if (strcasecmp(s, "no") == 0 || strcasecmp(s, "false") == 0 ||
	    strcasecmp(s, "off") == 0 || strcmp(s, "0") == 0)
		*v = 0;
	else
		return -1;
	return 0;
}

int
parse_int(const char *s, long long min, long long max, long long *v,
    const char **errstr)
{
	char		*end;
	long long	 n;

	errno = 0;
	if (*s == '\0') {
		*errstr = "empty";
		return -1;
	}
	/* Base 0 accepts 0x10 like the official proxy's flag parser. */
	n = strtoll(s, &end, 0);
	if (*end != '\0') {
		*errstr = "not a number";
		return -1;
	}
	if (errno == ERANGE || n < min) {
		*errstr = "too small";
		return -1;
	}
	if (n > max) {
		*errstr = "too large";
		return -1;
	}
	*v = n;
	return 0;
}

int
read_file(const char *path, size_t max, char **bufp, size_t *lenp)
{
	struct stat	 st;
	char		*buf;
	size_t		 len = 0, cap;
	ssize_t		 n;
	int		 fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, &st) == -1)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		goto fail;
	}
	if ((size_t)st.st_size > max) {
		errno = EFBIG;
		goto fail;
	}
	/*
	 * One allocation of the stat size: never realloc, so a secret read
	 * here leaves no stale copy behind in freed heap memory.
	 */
	cap = (size_t)st.st_size + 1;
	buf = xmalloc(cap);
	for (;;) {
		if (len + 1 >= cap) {
			char	extra;

			/* A file that grows while we read it is refused. */
			if ((n = read(fd, &extra, 1)) == 0)
				break;
			freezero(buf, cap);
			errno = n == -1 ? errno : EAGAIN;
			goto fail;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			freezero(buf, cap);
			goto fail;
		}
		if (n == 0)
			break;
		len += n;
	}
	close(fd);
	buf[len] = '\0';
	*bufp = buf;
	*lenp = len;
	return 0;
 fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

char *
trim_space(char *s)
{
	char	*e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

uint64_t
now_ms(void)
{
	return now_us() / 1000;
}

void
ms_to_tv(int64_t ms, struct timeval *tv)
{
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
}

uint64_t
now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
wall_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define PUBRAND_POOL	4096

static void
getrandom_full(uint8_t *p, size_t n)
{
	ssize_t	r;

	while (n > 0) {
		if ((r = getrandom(p, n, 0)) == -1) {
			if (errno == EINTR)
				continue;
			fatal("getrandom");
		}
		p += r;
		n -= (size_t)r;
	}
}

/*
 * Our children are exec'd, never just forked, so no two processes ever
 * hand out the same pool.
 */
void
pubrand(void *out, size_t n)
{
	static uint8_t	pool[PUBRAND_POOL];
	static size_t	left;

	if (n > PUBRAND_POOL / 4) {
		getrandom_full(out, n);
		return;
	}
	if (n > left) {
		getrandom_full(pool, sizeof(pool));
		left = sizeof(pool);
	}
	/* Handed-out bytes go on the wire: nothing to wipe. */
	memcpy(out, pool + sizeof(pool) - left, n);
	left -= n;
}

/*
 * qsort(3) for the arrays JSON objects make, a handful of members each:
 * below SORT_SMALL elements an insertion sort, where qsort's set-up (a
 * merge sort with its temporary array, in glibc) cost more than sorting.
 */
#define SORT_SMALL	16
#define SORT_ELEM_MAX	64

void
sort_small(void *base, size_t n, size_t size,
    int (*cmp)(const void *, const void *))
{
	uint8_t	*a = base, tmp[SORT_ELEM_MAX];
	size_t	 i, j;

	if (n > SORT_SMALL || size > sizeof(tmp)) {
		qsort(base, n, size, cmp);
		return;
	}
	for (i = 1; i < n; i++) {
		memcpy(tmp, a + i * size, size);
		for (j = i; j > 0 && cmp(a + (j - 1) * size, tmp) > 0; j--)
			memcpy(a + j * size, a + (j - 1) * size, size);
		memcpy(a + j * size, tmp, size);
	}
}

/*
 * Keep up to 1 MiB of freed heap rather than give the top back to the
 * kernel as free() goes: buffers that come and go with every stream or
 * streamed event otherwise cost a brk(2) pair each (seen with strace and
 * perf in both the worker and keyd).  keyd's quiet-time malloc_trim()
 * still returns it once connections stop coming and going.
 *
 * Setting the trim threshold also freezes glibc's mmap threshold at
 * 128 KiB, so a buffer of a burst of SSE events (an input chain of 132
 * KiB in keyd) was an mmap/munmap pair each time, and munmap on this
 * paravirtualised guest costs a TLB shootdown (70 us, strace).  Up to
 * the same 1 MiB, such buffers come from the heap too.
 */
#define HEAP_KEEP	(1024 * 1024)

void
heap_keep_freed(void)
{
#ifdef HAVE_MALLOC_TRIM
	mallopt(M_TRIM_THRESHOLD, HEAP_KEEP);
	mallopt(M_MMAP_THRESHOLD, HEAP_KEEP);
#endif
}
