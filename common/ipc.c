/*
 * The IPC protocol's table (who may send what to whom, size caps) and
 * the typed writer and reader that fail on short or trailing bytes.
 */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "ipc.h"
#include "log.h"
#include "util.h"

static const struct {
	const char	*name;
	size_t		 cap;
	unsigned int	 from, to;
} msg_table[] = {
	[MSG_NONE] = { "MSG_NONE", 0, 0, 0 },
#define IPC_ROW(n, c, from, to, what)	[n] = { #n, c, from, to },
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

unsigned int
ipc_role(const char *name)
{
	if (strcmp(name, "parent") == 0)
		return R_PARENT;
	if (strcmp(name, "worker") == 0)
		return R_WORKER;
	if (strcmp(name, "keyd") == 0)
		return R_KEYD;
	return 0;
}

int
msg_allowed(unsigned int type, unsigned int from, unsigned int to)
{
	if (type == MSG_NONE || type >= MSG_TYPE_MAX)
		return 0;
	return (msg_table[type].from & from) != 0 &&
	    (msg_table[type].to & to) != 0;
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

uint8_t *
msg_put_space(struct buf *w, size_t n)
{
	uint8_t	*p;

	if (n > IPC_MAX_DATA_CEIL || w->len > IPC_MAX_DATA_CEIL - n)
		fatalx("%s: message too large", __func__);
	p = buf_reserve(w, n);
	w->len += n;
	return p;
}

void
msg_put_raw(struct buf *w, const void *p, size_t n)
{
	if (n > 0)
		memcpy(msg_put_space(w, n), p, n);
}

void
msg_put_u8(struct buf *w, uint8_t v)
{
	msg_put_raw(w, &v, sizeof(v));
}

void
msg_put_u16(struct buf *w, uint16_t v)
{
	msg_put_raw(w, &v, sizeof(v));
}

void
msg_put_u32(struct buf *w, uint32_t v)
{
	msg_put_raw(w, &v, sizeof(v));
}

void
msg_put_u64(struct buf *w, uint64_t v)
{
	msg_put_raw(w, &v, sizeof(v));
}

void
msg_put_i64(struct buf *w, int64_t v)
{
	msg_put_raw(w, &v, sizeof(v));
}

void
msg_put_bytes(struct buf *w, const void *p, size_t n)
{
	if (n >= UINT32_MAX)
		fatalx("%s: field too large", __func__);
	msg_put_u32(w, (uint32_t)n);
	msg_put_raw(w, p, n);
}

#define MSG_STR_ABSENT	UINT32_MAX

void
msg_put_str(struct buf *w, const char *s)
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
