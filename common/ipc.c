#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "ipc.h"
#include "log.h"
#include "util.h"

static const struct {
	const char	*name;
	size_t		 cap;
} msg_table[] = {
	[MSG_NONE] = { "MSG_NONE", 0 },
#define IPC_ROW(n, c, what)	[n] = { #n, c },
	IPC_MESSAGES(IPC_ROW)
#undef IPC_ROW
};

const char *
msg_to_str(unsigned int type)
{
	if (type == MSG_NONE || type >= MSG_TYPE_MAX)
		return "MSG_UNKNOWN";
	return msg_table[type].name;
}

size_t
ipc_data_cap(uint64_t max_body_size)
{
	uint64_t	cap = 3 * max_body_size + (260U << 20);

	return cap > IPC_MAX_DATA_CEIL ? IPC_MAX_DATA_CEIL : (size_t)cap;
}

size_t
msg_cap(unsigned int type, size_t data_cap)
{
	if (type == MSG_NONE || type >= MSG_TYPE_MAX)
		return 0;
	return msg_table[type].cap != 0 ? msg_table[type].cap : data_cap;
}

/* --- writer --------------------------------------------------------- */

void
msgw_init(struct msgw *w, size_t hint)
{
	w->cap = hint < 64 ? 64 : hint;
	w->buf = xmalloc(w->cap);
	w->len = 0;
	w->secret = 0;
}

void
msgw_init_secret(struct msgw *w, size_t hint)
{
	msgw_init(w, hint);
	w->secret = 1;
}

void
msgw_free(struct msgw *w)
{
	if (w->secret)
		freezero(w->buf, w->cap);
	else
		free(w->buf);
	w->buf = NULL;
	w->len = w->cap = 0;
}

static uint8_t *
msgw_reserve(struct msgw *w, size_t n)
{
	uint8_t	*nb;
	size_t	 ncap;

	if (n > IPC_MAX_DATA_CEIL || w->len > IPC_MAX_DATA_CEIL - n)
		fatalx("%s: message too large", __func__);
	if (w->len + n > w->cap) {
		ncap = w->cap;
		while (ncap < w->len + n)
			ncap *= 2;
		if (w->secret) {
			/* No realloc: the old block must be zeroed, not freed. */
			nb = xmalloc(ncap);
			memcpy(nb, w->buf, w->len);
			freezero(w->buf, w->cap);
		} else
			nb = xreallocarray(w->buf, 1, ncap);
		w->buf = nb;
		w->cap = ncap;
	}
	w->len += n;
	return w->buf + w->len - n;
}

void
msg_put_raw(struct msgw *w, const void *p, size_t n)
{
	if (n > 0)
		memcpy(msgw_reserve(w, n), p, n);
}

uint8_t *
msg_put_space(struct msgw *w, size_t n)
{
	return msgw_reserve(w, n);
}

void
msg_put_u8(struct msgw *w, uint8_t v)
{
	msg_put_raw(w, &v, sizeof(v));
}

void
msg_put_u16(struct msgw *w, uint16_t v)
{
	msg_put_raw(w, &v, sizeof(v));
}

void
msg_put_u32(struct msgw *w, uint32_t v)
{
	msg_put_raw(w, &v, sizeof(v));
}

void
msg_put_u64(struct msgw *w, uint64_t v)
{
	msg_put_raw(w, &v, sizeof(v));
}

void
msg_put_i64(struct msgw *w, int64_t v)
{
	msg_put_raw(w, &v, sizeof(v));
}

void
msg_put_bytes(struct msgw *w, const void *p, size_t n)
{
	if (n >= UINT32_MAX)
		fatalx("%s: field too large", __func__);
	msg_put_u32(w, (uint32_t)n);
	msg_put_raw(w, p, n);
}

#define MSG_STR_ABSENT	UINT32_MAX

void
msg_put_str(struct msgw *w, const char *s)
{
	if (s == NULL)
		msg_put_u32(w, MSG_STR_ABSENT);
	else
		msg_put_bytes(w, s, strlen(s));
}

/* --- reader --------------------------------------------------------- */

void
msgr_init(struct msgr *r, const void *p, size_t n)
{
	r->p = p;
	r->left = n;
	r->err = 0;
}

int
msg_get_raw(struct msgr *r, void *out, size_t n)
{
	if (r->err || r->left < n) {
		r->err = 1;
		memset(out, 0, n);
		return -1;
	}
	memcpy(out, r->p, n);
	r->p += n;
	r->left -= n;
	return 0;
}

const uint8_t *
msg_get_bytes_raw(struct msgr *r, size_t n)
{
	const uint8_t	*p;

	if (r->err || r->left < n) {
		r->err = 1;
		return NULL;
	}
	p = r->p;
	r->p += n;
	r->left -= n;
	return p;
}

uint8_t
msg_get_u8(struct msgr *r)
{
	uint8_t	v;

	msg_get_raw(r, &v, sizeof(v));
	return v;
}

uint16_t
msg_get_u16(struct msgr *r)
{
	uint16_t v;

	msg_get_raw(r, &v, sizeof(v));
	return v;
}

uint32_t
msg_get_u32(struct msgr *r)
{
	uint32_t v;

	msg_get_raw(r, &v, sizeof(v));
	return v;
}

uint64_t
msg_get_u64(struct msgr *r)
{
	uint64_t v;

	msg_get_raw(r, &v, sizeof(v));
	return v;
}

int64_t
msg_get_i64(struct msgr *r)
{
	int64_t	v;

	msg_get_raw(r, &v, sizeof(v));
	return v;
}

const uint8_t *
msg_get_bytes(struct msgr *r, size_t *lenp)
{
	const uint8_t	*p;
	uint32_t	 n;

	n = msg_get_u32(r);
	if (r->err || n > r->left) {
		r->err = 1;
		*lenp = 0;
		return (const uint8_t *)"";
	}
	p = r->p;
	r->p += n;
	r->left -= n;
	*lenp = n;
	return p;
}

char *
msg_get_str(struct msgr *r)
{
	const uint8_t	*p;
	size_t		 n;
	uint32_t	 peek;

	if (r->err || r->left < sizeof(peek)) {
		r->err = 1;
		return NULL;
	}
	memcpy(&peek, r->p, sizeof(peek));
	if (peek == MSG_STR_ABSENT) {
		r->p += sizeof(peek);
		r->left -= sizeof(peek);
		return NULL;
	}
	p = msg_get_bytes(r, &n);
	if (r->err)
		return NULL;
	if (memchr(p, '\0', n) != NULL) {
		r->err = 1;
		return NULL;
	}
	return xstrndup((const char *)p, n);
}

int
msg_end(const struct msgr *r)
{
	return (r->err || r->left != 0) ? -1 : 0;
}
