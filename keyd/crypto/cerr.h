/*
 * Error text for the crypto core, built the way Go wraps errors
 * ("outer: inner"), so messages can mirror the Go proxy's wording.
 * Every function that can fail on bad input takes an optional struct
 * cerr; NULL means the caller only wants the return code.
 */
#ifndef PM_CERR_H
#define PM_CERR_H

#define CERR_MAX	1024

struct cerr {
	char	msg[CERR_MAX];
};

/* Replace the message. */
void	cerr_set(struct cerr *, const char *, ...)
	    __attribute__((__format__(printf, 2, 3)));
/* Prefix the message: "<formatted>: <old message>". */
void	cerr_wrap(struct cerr *, const char *, ...)
	    __attribute__((__format__(printf, 2, 3)));
/* Go's %q for a byte string, appended to dst (truncated to dstlen). */
void	cerr_quote(char *dst, size_t dstlen, const void *, size_t);

#endif
