/*
 * Growable byte buffers; a secret one is wiped before it is freed or
 * reused.
 */

#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "util.h"

void
buf_init(struct buf *b, size_t hint)
{
	b->cap = hint < 64 ? 64 : hint;
	b->p = xmalloc(b->cap);
	b->len = 0;
	b->secret = 0;
}

void
buf_init_secret(struct buf *b, size_t hint)
{
	buf_init(b, hint);
	b->secret = 1;
}

void
buf_free(struct buf *b)
{
	if (b->p != NULL) {
		if (b->secret)
			freezero(b->p, b->cap);
		else
			free(b->p);
	}
	b->p = NULL;
	b->len = b->cap = 0;
}

void
buf_reset(struct buf *b)
{
	if (b->secret)
		explicit_bzero(b->p, b->len);
	b->len = 0;
}

uint8_t *
buf_reserve(struct buf *b, size_t n)
{
	uint8_t	*np;
	size_t	 ncap;

	if (b->p == NULL)
		buf_init(b, n);
	if (n > SIZE_MAX / 2 - b->len)
		fatalx("%s: overflow", __func__);
	if (b->len + n + 1 > b->cap) {
		/* +1 keeps room for buf_cstr()'s terminator. */
		ncap = b->cap;
		while (ncap < b->len + n + 1)
			ncap *= 2;
		if (b->secret) {
			np = xmalloc(ncap);
			memcpy(np, b->p, b->len);
			freezero(b->p, b->cap);
		} else
			np = xreallocarray(b->p, 1, ncap);
		b->p = np;
		b->cap = ncap;
	}
	return b->p + b->len;
}

void
buf_add(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return;
	memcpy(buf_reserve(b, n), p, n);
	b->len += n;
}

void
buf_addc(struct buf *b, uint8_t c)
{
	*buf_reserve(b, 1) = c;
	b->len++;
}

void
buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

/* One vsnprintf when the text fits in what is left, a second otherwise. */
void
buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list	ap;
	size_t	room;
	int	n;

	buf_reserve(b, 64);
	room = b->cap - b->len;
	va_start(ap, fmt);
	n = vsnprintf((char *)b->p + b->len, room, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatalx("%s: vsnprintf", __func__);
	if ((size_t)n >= room) {
		buf_reserve(b, (size_t)n + 1);
		va_start(ap, fmt);
		vsnprintf((char *)b->p + b->len, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	b->len += n;
}

void
buf_add_hex(struct buf *b, const void *src, size_t n)
{
	static const char	 hex[] = "0123456789abcdef";
	const uint8_t		*s = src;
	uint8_t			*d;
	size_t			 i;

	if (n > SIZE_MAX / 4)
		fatalx("%s: overflow", __func__);
	d = buf_reserve(b, n * 2);
	for (i = 0; i < n; i++) {
		d[2 * i] = hex[s[i] >> 4];
		d[2 * i + 1] = hex[s[i] & 0xf];
	}
	b->len += n * 2;
}

char *
buf_cstr(struct buf *b)
{
	buf_reserve(b, 0);
	b->p[b->len] = '\0';
	return (char *)b->p;
}

uint8_t *
buf_release(struct buf *b, size_t *len)
{
	uint8_t	*p;

	buf_reserve(b, 0);
	b->p[b->len] = '\0';	/* strings can be released as such */
	p = b->p;
	if (len != NULL)
		*len = b->len;
	b->p = NULL;
	b->len = b->cap = 0;
	return p;
}
