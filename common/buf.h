/*
 * A growable byte buffer for building messages, bodies and encodings.
 * buf_free_secret() zeroes before freeing; a buffer that may hold a key
 * must be created with buf_init_secret() so growth never leaves a copy.
 */
#ifndef PM_BUF_H
#define PM_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t	*p;
	size_t	 len;
	size_t	 cap;
	int	 secret;
};

void	 buf_init(struct buf *, size_t hint);
void	 buf_init_secret(struct buf *, size_t hint);
void	 buf_free(struct buf *);
void	 buf_reset(struct buf *);
/* Make room for n more bytes; returns a pointer to them (len unchanged). */
uint8_t	*buf_reserve(struct buf *, size_t n);
void	 buf_add(struct buf *, const void *, size_t);
void	 buf_addc(struct buf *, uint8_t);
void	 buf_adds(struct buf *, const char *);
void	 buf_addf(struct buf *, const char *, ...)
	    __attribute__((__format__(printf, 2, 3)));
/* Lowercase hex of the bytes. */
void	 buf_add_hex(struct buf *, const void *, size_t);
/* NUL-terminate without counting the NUL in len; returns the string. */
char	*buf_cstr(struct buf *);
/* Hand the storage (NUL-terminated) to the caller, who frees it; the
 * buffer is reset. */
uint8_t	*buf_release(struct buf *, size_t *len);

#endif
