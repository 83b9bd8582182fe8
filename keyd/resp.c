/*
 * The API's HTTP/1.1 answers as keyd reads them: status line, head
 * limit, Content-Length or chunked body, keep-alive.
 */

#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "resp.h"
#include "util.h"

enum {
	RS_HEAD,
	RS_LEN,		/* Content-Length body */
	RS_CHUNKED,
	RS_EOF,		/* body until the connection closes */
	RS_DONE,
	RS_FAILED
};

void
resp_init(struct resp *r, int head_request)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->pend, 0);
	r->state = RS_HEAD;
	r->bodyless = head_request;
}

void
resp_free(struct resp *r)
{
	buf_free(&r->pend);
	http_head_free(&r->head);
}

int
resp_done(const struct resp *r)
{
	return r->state == RS_DONE;
}

static int
finish(struct resp *r, const struct resp_cb *cb, void *arg)
{
	r->state = RS_DONE;
	return cb->done(arg);
}

static int
framing(struct resp *r, char *err, size_t errlen)
{
	const struct http_head	*h = &r->head;
	const char		*te, *cl, *conn;
	char			*end;
	unsigned long long	 n;

	conn = http_head_get(h, "Connection");
	r->keepalive = h->minor >= 1 ? conn == NULL ||
	    !http_token_in(conn, "close") :
	    conn != NULL && http_token_in(conn, "keep-alive");
	if (r->bodyless || (h->status >= 100 && h->status < 200) ||
	    h->status == 204 || h->status == 304)
		return RS_DONE;
	te = http_head_get(h, "Transfer-Encoding");
	cl = http_head_get(h, "Content-Length");
	if (te != NULL) {
		if (strcasecmp(te, "chunked") != 0) {
			snprintf(err, errlen, "unsupported upstream "
			    "Transfer-Encoding \"%s\"", te);
			return -1;
		}
		http_chunked_init(&r->ch);
		return RS_CHUNKED;
	}
	if (cl != NULL) {
		errno = 0;
		n = strtoull(cl, &end, 10);
		if (*cl < '0' || *cl > '9' || *end != '\0' || errno != 0 ||
		    http_head_count(h, "Content-Length") != 1) {
			snprintf(err, errlen, "bad upstream Content-Length");
			return -1;
		}
		r->left = n;
		return n == 0 ? RS_DONE : RS_LEN;
	}
	r->keepalive = 0;
	return RS_EOF;
}

static void
chunk_out(const uint8_t *p, size_t n, void *arg)
{
	struct resp	*r = arg;

	if (!r->cb_failed && r->cb->body(r->arg, p, n) == -1)
		r->cb_failed = 1;
}

/* Returns bytes consumed from p, or -1. */
static long
feed_head(struct resp *r, const uint8_t *p, size_t n,
    const struct resp_cb *cb, void *arg, char *err, size_t errlen)
{
	size_t		 end, before = r->pend.len, used;
	enum http_perr	 e;
	int		 st;

	buf_add(&r->pend, p, n);
	end = http_head_end((const char *)r->pend.p, r->pend.len, &r->scanned);
	/*
	 * The head so far, or the whole head: the same limit whether it
	 * came in one read or in many.
	 */
	if ((end == 0 ? r->pend.len : end) > RESP_HEAD_MAX) {
		snprintf(err, errlen, "upstream response head too large "
		    "(over %u bytes)", RESP_HEAD_MAX);
		return -1;
	}
	if (end == 0)
		return (long)n;
	if ((e = http_head_parse(&r->head, (const char *)r->pend.p, end, 0)) !=
	    HTTP_OK) {
		snprintf(err, errlen, "malformed upstream response: %s",
		    http_perr_str(e));
		return -1;
	}
	used = end - before;
	if (r->head.status >= 100 && r->head.status < 200) {
		/* Interim response (100 Continue): wait for the real one. */
		http_head_free(&r->head);
		r->scanned = 0;
		buf_reset(&r->pend);
		return (long)used;
	}
	if ((st = framing(r, err, errlen)) == -1)
		return -1;
	r->state = st;
	r->scanned = 0;
	buf_reset(&r->pend);
	if (cb->head(arg) == -1)
		return -1;
	if (r->state == RS_DONE && finish(r, cb, arg) == -1)
		return -1;
	return (long)used;
}

int
resp_feed(struct resp *r, const uint8_t *p, size_t n,
    const struct resp_cb *cb, void *arg, char *err, size_t errlen)
{
	enum http_chunk_rv	rv;
	size_t			used, k;
	long			l;

	r->received += n;
	r->cb = cb;
	r->arg = arg;
	while (n > 0) {
		switch (r->state) {
		case RS_HEAD:
			if ((l = feed_head(r, p, n, cb, arg, err, errlen)) < 0)
				goto failed;
			p += l;
			n -= (size_t)l;
			break;
		case RS_LEN:
			k = n < r->left ? n : (size_t)r->left;
			if (cb->body(arg, p, k) == -1)
				goto failed;
			p += k;
			n -= k;
			r->left -= k;
			if (r->left == 0 && finish(r, cb, arg) == -1)
				goto failed;
			break;
		case RS_CHUNKED:
			rv = http_chunked_feed(&r->ch, p, n, &used, chunk_out,
			    r);
			p += used;
			n -= used;
			if (r->cb_failed)
				goto failed;
			if (rv == HTTP_CHUNK_ERROR) {
				snprintf(err, errlen, "malformed chunked "
				    "upstream response");
				goto failed;
			}
			if (rv == HTTP_CHUNK_DONE && finish(r, cb, arg) == -1)
				goto failed;
			break;
		case RS_EOF:
			if (cb->body(arg, p, n) == -1)
				goto failed;
			n = 0;
			break;
		case RS_DONE:
			/* Bytes after a complete response: not reusable. */
			r->keepalive = 0;
			return 0;
		default:
			return -1;
		}
	}
	return 0;
 failed:
	if (err[0] == '\0')
		snprintf(err, errlen, "response processing failed");
	r->state = RS_FAILED;
	return -1;
}

int
resp_eof(struct resp *r, const struct resp_cb *cb, void *arg)
{
	if (r->state == RS_EOF) {
		r->keepalive = 0;
		return finish(r, cb, arg) == -1 ? -1 : 0;
	}
	return r->state == RS_DONE ? 0 : -1;
}
