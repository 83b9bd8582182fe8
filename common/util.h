/* Small helpers shared by every process role. */
#ifndef PM_UTIL_H
#define PM_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
#ifndef MINIMUM
#define MINIMUM(a, b)	(((a) < (b)) ? (a) : (b))
#define MAXIMUM(a, b)	(((a) > (b)) ? (a) : (b))
#endif

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
int	 xasprintf(char **, const char *, ...)
	    __attribute__((__format__(printf, 2, 3)));
/* Zero, then free: for anything that ever held a secret. */
void	 freezero(void *, size_t);
void	 strfreezero(char *);
/* Zero the dead stack below the caller (64 KiB): after secrets passed
 * through library code whose temporaries we cannot reach. */
void	 stack_scrub(void);

#ifndef HAVE_STRLCPY
size_t	 strlcpy(char *, const char *, size_t);
#endif
#ifndef HAVE_STRLCAT
size_t	 strlcat(char *, const char *, size_t);
#endif

/* JSON string literal (with quotes) of a NUL-terminated UTF-8 string. */
char	*json_escape_dup(const char *);
/* Same for a byte range; invalid UTF-8 becomes U+FFFD, like Go's encoder. */
char	*json_escape_range(const char *, size_t);

/*
 * Parse "30", "30s", "250ms", "5m", "2h" into milliseconds and "1024",
 * "64k", "8M", "1G" into bytes.  Return -1 with *errstr set on bad input.
 */
int	 parse_duration_ms(const char *, int64_t *, const char **);
int	 parse_size(const char *, uint64_t *, const char **);
int	 parse_bool(const char *, int *);
int	 parse_int(const char *, long long, long long, long long *,
	    const char **);

/* Read a whole regular file (max bytes) into a NUL-terminated buffer. */
int	 read_file(const char *, size_t, char **, size_t *);
/* Trim ASCII whitespace on both ends in place; returns the new start. */
char	*trim_space(char *);

/*
 * Random bytes that go on the wire anyway (AES-GCM IVs and request nonces,
 * request IDs, attestation nonces, multipart boundaries), served from a
 * per-process pool that one getrandom(2) fills, instead of a system call
 * per value.  Key material keeps using randombytes_buf() directly.
 */
void	 pubrand(void *, size_t);
/* Keep 1 MiB of freed heap before the top goes back (glibc). */
void	 heap_keep_freed(void);
/* qsort(3), by insertion for the few elements of a JSON object. */
void	 sort_small(void *, size_t, size_t,
	    int (*)(const void *, const void *));

uint64_t now_ms(void);		/* CLOCK_MONOTONIC */
uint64_t now_us(void);
struct timeval;
/* Milliseconds as the timeval libevent's timers take. */
void	 ms_to_tv(int64_t, struct timeval *);
int64_t	 wall_ms(void);		/* CLOCK_REALTIME */

/*
 * The value of one hex digit, either case; -1 if c is not one.  By table,
 * not by comparisons: hex comes in runs of random digits (IVs and tags of
 * every streamed event), where the branches mispredict.
 */
static inline int
hex_digit(int c)
{
	static const int8_t	v[256] = {
		-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
		-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
		-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
		0, 1, 2, 3, 4, 5, 6, 7, 8, 9, -1, -1, -1, -1, -1, -1,
		-1, 10, 11, 12, 13, 14, 15, -1, -1, -1, -1, -1, -1, -1, -1, -1,
		-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
		-1, 10, 11, 12, 13, 14, 15, -1, -1, -1, -1, -1, -1, -1, -1, -1,
		-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
		-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
		-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
		-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
		-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
		-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
		-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
		-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
		-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	};

	return c >= 0 && c < 256 ? v[c] : -1;
}

#endif
