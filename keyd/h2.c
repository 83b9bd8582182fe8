/*
 * HTTP/2 to the API on a connection keyd owns (libnghttp2, memory I/O):
 * the session's frames go through the connection's TLS tunnel, a request
 * relay.c sealed as HTTP/1.1 is submitted as a stream, and each stream's
 * answer goes back to relay.c as a head, body bytes and a close
 * (relay_h2_*).  Flow control follows the client: a stream's window is
 * only given back once its bytes went to the worker and the client reads,
 * the connection's at once, so that a client that stops reading stops its
 * own stream and nothing else.
 */
#include "config.h"

#include <sys/queue.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <nghttp2/nghttp2.h>

#include "buf.h"
#include "http.h"
#include "kd.h"
#include "log.h"
#include "resp.h"
#include "tunnel.h"
#include "util.h"

#define STREAM_WINDOW	(256 * 1024)	/* per stream: what a paused one holds */
#define CONN_WINDOW	(16 * 1024 * 1024)	/* for every stream together */
#define MAX_HEADER_LIST	RESP_HEAD_MAX
#define FRAME_HDR	9
#define FRAME_MAX	16384		/* SETTINGS_MAX_FRAME_SIZE, ours */

/* What a stream needs on our side: its request body and its answer's head. */
struct h2stream {
	LIST_ENTRY(h2stream) entry;	/* the session's, freed with it */
	void		*px;		/* relay.c's exchange, NULL once gone */
	int32_t		 id;		/* the stream's id */
	struct buf	 body;		/* the sealed request, head and body */
	size_t		 sent;		/* up to here: head, body sent */
	struct buf	 head;		/* the answer's head, as HTTP/1.1 text */
	size_t		 hbytes;	/* header list size, as HPACK counts */
	int		 status;
	int		 too_big;	/* head over MAX_HEADER_LIST */
	int		 collecting;	/* a head is coming in */
	int		 headed;	/* the final head went to relay.c */
	int		 remote_closed;	/* END_STREAM from the server */
};

struct h2 {
	nghttp2_session		*s;
	struct ktun		*kt;
	int			 goaway;	/* the server's */
	int			 settled;	/* its first SETTINGS came */
	struct buf		 pend;		/* a frame not yet whole */
	struct buf		 frames;	/* h2_output's, for one TLS write */
	/* nghttp2 does not close the streams of a session it deletes */
	LIST_HEAD(, h2stream)	 streams;
};

static void
stream_free(struct h2stream *st)
{
	LIST_REMOVE(st, entry);
	buf_free(&st->body);
	buf_free(&st->head);
	free(st);
}

/* --- callbacks ------------------------------------------------------------ */

static struct h2stream *
stream_of(nghttp2_session *s, int32_t id)
{
	return nghttp2_session_get_stream_user_data(s, id);
}

/*
 * The answer's head: the first HEADERS, or the one after an interim (1xx)
 * answer, which nghttp2 files as HCAT_HEADERS; later ones are trailers.
 */
static int
on_begin_headers(nghttp2_session *s, const nghttp2_frame *f, void *arg)
{
	struct h2stream	*st = stream_of(s, f->hd.stream_id);

	if (st == NULL || f->hd.type != NGHTTP2_HEADERS || st->headed)
		return 0;
	if (f->headers.cat == NGHTTP2_HCAT_RESPONSE ||
	    f->headers.cat == NGHTTP2_HCAT_HEADERS) {
		buf_reset(&st->head);
		st->hbytes = 0;
		st->status = 0;
		st->collecting = 1;
	}
	return 0;
}

static int
on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name,
    size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
    void *arg)
{
	struct h2stream	*st = stream_of(s, f->hd.stream_id);

	if (st == NULL || !st->collecting)
		return 0;	/* trailers: not kept */
	/* The same limit on a head as over HTTP/1.1, and no more state. */
	st->hbytes += namelen + valuelen + 32;
	if (st->hbytes > MAX_HEADER_LIST) {
		st->too_big = 1;
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	}
	if (namelen == 7 && memcmp(name, ":status", 7) == 0) {
		st->status = valuelen == 3 && isdigit(value[0]) ?
		    atoi((const char *)value) : -1;
		return 0;
	}
	if (namelen > 0 && name[0] == ':')
		return 0;
	buf_add(&st->head, name, namelen);
	buf_adds(&st->head, ": ");
	buf_add(&st->head, value, valuelen);
	buf_adds(&st->head, "\r\n");
	return 0;
}

/* The head, as the HTTP/1.1 reader would have seen it. */
static void
deliver_head(struct h2stream *st)
{
	struct buf	text;

	buf_init(&text, st->head.len + 32);
	buf_addf(&text, "HTTP/1.1 %03d -\r\n", st->status);
	buf_add(&text, st->head.p, st->head.len);
	buf_adds(&text, "\r\n");
	relay_h2_head(st->px, (const char *)text.p, text.len);
	buf_free(&text);
}

static int
on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *arg)
{
	struct h2	*h = arg;
	struct h2stream	*st;

	if (f->hd.type == NGHTTP2_SETTINGS &&
	    !(f->hd.flags & NGHTTP2_FLAG_ACK)) {
		h->settled = 1;
		log_debug("API connection %u: SETTINGS, up to %u streams",
		    h->kt->id, nghttp2_session_get_remote_settings(s,
		    NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS));
	}
	if (f->hd.type == NGHTTP2_GOAWAY) {
		h->goaway = 1;
		log_debug("API connection %u: GOAWAY, last stream %d, error "
		    "%u", h->kt->id, f->goaway.last_stream_id,
		    f->goaway.error_code);
		return 0;
	}
	if ((st = stream_of(s, f->hd.stream_id)) == NULL || st->px == NULL)
		return 0;
	if (f->hd.type == NGHTTP2_HEADERS && st->collecting) {
		st->collecting = 0;
		/*
		 * Only a 1xx is interim.  Any other status, even one no
		 * server may send (050, 4 digits), is this stream's head,
		 * which the head parser then refuses, as it does over
		 * HTTP/1.1: data after it must not arrive headless.
		 */
		if (st->status < 100 || st->status > 199) {
			st->headed = 1;
			deliver_head(st);
		}
	}
	if ((f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA) &&
	    (f->hd.flags & NGHTTP2_FLAG_END_STREAM))
		st->remote_closed = 1;
	return 0;
}

static int
on_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *p,
    size_t n, void *arg)
{
	struct h2stream	*st = stream_of(s, id);

	/* The connection's window comes back at once, whoever reads. */
	nghttp2_session_consume_connection(s, n);
	if (st == NULL || st->px == NULL)
		return 0;
	relay_h2_data(st->px, p, n);
	return 0;
}

static int
on_stream_close(nghttp2_session *s, int32_t id, uint32_t code, void *arg)
{
	struct h2stream	*st = stream_of(s, id);

	if (st == NULL)
		return 0;
	nghttp2_session_set_stream_user_data(s, id, NULL);
	if (st->px != NULL) {
		if (st->too_big)
			relay_h2_closed(st->px, H2_HEAD_TOO_BIG);
		else if (code == NGHTTP2_NO_ERROR && !st->remote_closed)
			relay_h2_closed(st->px, NGHTTP2_INTERNAL_ERROR);
		else
			relay_h2_closed(st->px, code);
	}
	stream_free(st);
	return 0;
}

static int
on_error(nghttp2_session *s, int code, const char *msg, size_t len,
    void *arg)
{
	struct h2	*h = arg;

	log_debug("API connection %u: HTTP/2: %.*s", h->kt->id, (int)len, msg);
	return 0;
}

static ssize_t
read_body(nghttp2_session *s, int32_t id, uint8_t *out, size_t len,
    uint32_t *flags, nghttp2_data_source *src, void *arg)
{
	struct h2stream	*st = src->ptr;
	size_t		 n = MINIMUM(len, st->body.len - st->sent);

	memcpy(out, st->body.p + st->sent, n);
	st->sent += n;
	if (st->sent == st->body.len) {
		*flags |= NGHTTP2_DATA_FLAG_EOF;
		/* Sealed values, but there is no need to keep them. */
		buf_free(&st->body);
		st->sent = 0;
		if (st->px != NULL)
			relay_h2_sent(st->px);
	}
	return (ssize_t)n;
}

/* --- the session ------------------------------------------------------------ */

struct h2 *
h2_new(struct ktun *kt, char *err, size_t errlen)
{
	static const nghttp2_settings_entry settings[] = {
		{ NGHTTP2_SETTINGS_ENABLE_PUSH, 0 },
		{ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, STREAM_WINDOW },
		{ NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, MAX_HEADER_LIST },
	};
	nghttp2_session_callbacks	*cb;
	nghttp2_option			*opt;
	struct h2			*h;
	int				 rv;

	h = xcalloc(1, sizeof(*h));
	h->kt = kt;
	LIST_INIT(&h->streams);
	buf_init(&h->pend, 0);
	/* HEADERS frames carry the API key: wiped after each write. */
	buf_init_secret(&h->frames, 16384);
	if (nghttp2_session_callbacks_new(&cb) != 0 ||
	    nghttp2_option_new(&opt) != 0)
		fatalx("%s: out of memory", __func__);
	nghttp2_session_callbacks_set_on_begin_headers_callback(cb,
	    on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb,
	    on_stream_close);
	nghttp2_session_callbacks_set_error_callback2(cb, on_error);
	/* Window updates are ours to send: per stream, as the client reads. */
	nghttp2_option_set_no_auto_window_update(opt, 1);
	rv = nghttp2_session_client_new2(&h->s, cb, h, opt);
	nghttp2_session_callbacks_del(cb);
	nghttp2_option_del(opt);
	if (rv == 0)
		rv = nghttp2_submit_settings(h->s, NGHTTP2_FLAG_NONE, settings,
		    nitems(settings));
	if (rv == 0)
		rv = nghttp2_session_set_local_window_size(h->s,
		    NGHTTP2_FLAG_NONE, 0, CONN_WINDOW);
	if (rv != 0) {
		snprintf(err, errlen, "HTTP/2 session: %s",
		    nghttp2_strerror(rv));
		h2_free(h);
		return NULL;
	}
	return h;
}

void
h2_free(struct h2 *h)
{
	if (h == NULL)
		return;
	/* Streams still open are dropped: relay.c has let go of them. */
	if (h->s != NULL)
		nghttp2_session_del(h->s);
	while (!LIST_EMPTY(&h->streams))
		stream_free(LIST_FIRST(&h->streams));
	buf_free(&h->pend);
	buf_free(&h->frames);
	free(h);
}

/* What nghttp2 has to send, into h->frames: it counts it as sent now. */
static void
take_output(struct h2 *h)
{
	const uint8_t	*p;
	ssize_t		 n;

	while ((n = nghttp2_session_mem_send(h->s, &p)) > 0)
		buf_add(&h->frames, p, (size_t)n);
}

void
h2_output(struct h2 *h)
{
	char		 err[256];

	/*
	 * nghttp2 hands out one frame at a time; written one by one, each
	 * would be a TLS record of its own (a request's HEADERS and DATA, a
	 * read's WINDOW_UPDATEs), each sealed and framed separately.
	 */
	take_output(h);
	if (h->frames.len > 0) {
		if (tun_write(h->kt->t, h->frames.p, h->frames.len, err,
		    sizeof(err)) == -1)
			log_warnx("API connection %u: %s", h->kt->id, err);
		buf_reset(&h->frames);
	}
	ktun_flush(h->kt);
}

/*
 * The first frame of p[0..n): its length if it is whole, 0 if a read cut
 * it, all of p for a frame too big (nghttp2 refuses it, whole or not).
 */
static size_t
frame_at(const uint8_t *p, size_t n)
{
	size_t	len;

	if (n < FRAME_HDR)
		return 0;
	len = (size_t)p[0] << 16 | (size_t)p[1] << 8 | p[2];
	if (len > FRAME_MAX)
		return n;
	return n - FRAME_HDR < len ? 0 : FRAME_HDR + len;
}

/*
 * The whole frames at the start of p go to nghttp2 (*took: their bytes),
 * one frame at a time, with nghttp2's answers to each (a SETTINGS ACK, an
 * RST_STREAM, WINDOW_UPDATEs) taken before the next: what follows a stream
 * it has reset it ignores, but one it has only queued a reset for makes
 * it fail the whole connection.  So the outcome does not depend on how
 * many frames a read brought (fuzz_h2 found a good answer lost only when
 * the frames before it came in the same read).
 */
static int
feed(struct h2 *h, const uint8_t *p, size_t n, size_t *took, char *err,
    size_t errlen)
{
	ssize_t	rv;
	size_t	one;

	for (*took = 0; (one = frame_at(p + *took, n - *took)) > 0;
	    *took += one) {
		if ((rv = nghttp2_session_mem_recv(h->s, p + *took, one)) < 0) {
			snprintf(err, errlen, "HTTP/2: %s",
			    nghttp2_strerror((int)rv));
			return -1;
		}
		take_output(h);
	}
	return 0;
}

/*
 * nghttp2 gets whole frames only: what it makes of a frame must not depend
 * on how the reads cut it (it counts a CONTINUATION frame fed in pieces as
 * many).  A frame cut by a read waits in pend; frames are 16 KiB at most.
 */
int
h2_input(struct h2 *h, const uint8_t *p, size_t n, char *err, size_t errlen)
{
	size_t	w;

	if (h->pend.len > 0) {
		buf_add(&h->pend, p, n);
		p = h->pend.p;
		n = h->pend.len;
	}
	if (feed(h, p, n, &w, err, errlen) == -1)
		return -1;
	if (h->pend.len > 0) {
		memmove(h->pend.p, h->pend.p + w, n - w);
		h->pend.len = n - w;
	} else
		buf_add(&h->pend, p + w, n - w);
	/*
	 * A protocol error ends the session with our GOAWAY, and once that is
	 * out nghttp2 reads no more: the connection failed, whichever read it
	 * was in.
	 */
	h2_output(h);
	if (!h->goaway && !nghttp2_session_want_read(h->s)) {
		snprintf(err, errlen, "HTTP/2: the API broke the protocol");
		return -1;
	}
	return 0;
}

/* Streams it may still open: none after a GOAWAY, else the server's limit. */
int
h2_room(const struct h2 *h, int active)
{
	uint32_t	max;

	if (!nghttp2_session_check_request_allowed(h->s))
		return 0;
	max = nghttp2_session_get_remote_settings(h->s,
	    NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
	return active < (int)MINIMUM(max, (uint32_t)INT32_MAX) ?
	    (int)MINIMUM(max, (uint32_t)INT32_MAX) - active : 0;
}

int
h2_settled(const struct h2 *h)
{
	return h->settled;
}

/* Nothing more to come or go (after a GOAWAY, every stream done). */
int
h2_finished(const struct h2 *h)
{
	return !nghttp2_session_want_read(h->s) &&
	    !nghttp2_session_want_write(h->s);
}

/*
 * The sealed HTTP/1.1 request relay.c built (head, then body) as a stream:
 * request line and Host into pseudo-headers, names lower-cased, the
 * connection-specific fields left out (RFC 9113 8.2.2).
 */
static int
to_nv(const uint8_t *req, size_t len, nghttp2_nv *nv, size_t *nnv,
    struct buf *names, size_t *bodyoff)
{
	const char	*p = (const char *)req, *end, *line, *eol, *sp, *colon;
	size_t		 n = 0, i, hl, scanned = 0;

	if ((hl = http_head_end(p, len, &scanned)) == 0)
		return -1;
	end = p + hl - 2;
	*bodyoff = hl;
	/* "METHOD SP path SP HTTP/1.1" */
	eol = memmem(p, (size_t)(end - p), "\r\n", 2);
	if ((sp = memchr(p, ' ', (size_t)(eol - p))) == NULL)
		return -1;
	nv[n++] = (nghttp2_nv){ (uint8_t *)":method", (uint8_t *)p, 7,
	    (size_t)(sp - p), NGHTTP2_NV_FLAG_NONE };
	nv[n++] = (nghttp2_nv){ (uint8_t *)":scheme", (uint8_t *)"https", 7, 5,
	    NGHTTP2_NV_FLAG_NONE };
	line = sp + 1;
	if ((sp = memchr(line, ' ', (size_t)(eol - line))) == NULL)
		return -1;
	nv[n++] = (nghttp2_nv){ (uint8_t *)":path", (uint8_t *)line, 5,
	    (size_t)(sp - line), NGHTTP2_NV_FLAG_NONE };
	/* Lower-case copies of the names, in one buffer that does not move. */
	buf_reserve(names, hl);
	for (line = eol + 2; line < end; line = eol + 2) {
		eol = memmem(line, (size_t)(end - line) + 2, "\r\n", 2);
		if ((colon = memchr(line, ':', (size_t)(eol - line))) == NULL ||
		    n + 1 >= HTTP_MAX_HEADERS + 4)
			return -1;
		for (sp = colon + 1; sp < eol && *sp == ' '; sp++)
			;
		if ((size_t)(colon - line) == 4 &&
		    strncasecmp(line, "Host", 4) == 0) {
			nv[n++] = (nghttp2_nv){ (uint8_t *)":authority",
			    (uint8_t *)sp, 10, (size_t)(eol - sp),
			    NGHTTP2_NV_FLAG_NONE };
			continue;
		}
		for (i = 0; i < (size_t)(colon - line); i++)
			buf_addc(names, (uint8_t)tolower((unsigned char)line[i]));
		nv[n++] = (nghttp2_nv){ names->p + names->len - (colon - line),
		    (uint8_t *)sp, (size_t)(colon - line), (size_t)(eol - sp),
		    NGHTTP2_NV_FLAG_NONE };
	}
	*nnv = n;
	return 0;
}

int32_t
h2_submit(struct h2 *h, void *px, struct buf *req, char *err, size_t errlen)
{
	nghttp2_nv		 nv[HTTP_MAX_HEADERS + 4];
	nghttp2_data_provider	 prd;
	struct h2stream		*st;
	struct buf		 names;
	size_t			 nnv, off, len = req->len;
	int32_t			 id;

	buf_init_secret(&names, 256);
	if (to_nv(req->p, len, nv, &nnv, &names, &off) == -1) {
		buf_free(&names);
		snprintf(err, errlen, "HTTP/2: cannot map the request head");
		return -1;
	}
	st = xcalloc(1, sizeof(*st));
	LIST_INSERT_HEAD(&h->streams, st, entry);
	st->px = px;
	/* The body goes from the sealed request itself, not a copy. */
	st->body = *req;
	st->sent = off;
	memset(req, 0, sizeof(*req));
	buf_init(&st->head, 512);
	prd.source.ptr = st;
	prd.read_callback = read_body;
	id = nghttp2_submit_request(h->s, NULL, nv, nnv,
	    len > off ? &prd : NULL, st);
	/* nghttp2 copied the fields (the API key among them): wipe ours. */
	buf_free(&names);
	if (len == off)
		buf_free(&st->body);	/* the head is all there was */
	if (id < 0) {
		snprintf(err, errlen, "HTTP/2: %s", nghttp2_strerror(id));
		stream_free(st);
		return -1;
	}
	st->id = id;
	if (len == off)
		relay_h2_sent(px);	/* nothing to send but the head */
	return id;
}

/*
 * relay.c lets go of a stream: it hears nothing more of it.  A stream
 * whose HEADERS nghttp2 has not sent yet (submitted in this callback, or
 * queued behind the server's stream limit) does not exist for
 * nghttp2_session_get_stream_user_data() yet, but its user data, ours,
 * comes back in its callbacks once it opens (a RST_STREAM submitted for
 * it closes it with CANCEL): found in our own list instead, or
 * relay_h2_closed() would get an exchange already freed (bench/soak:
 * keyd SIGSEGV after a client vanished right after sending).
 */
static void
detach(struct h2 *h, int32_t id)
{
	struct h2stream	*st = stream_of(h->s, id);

	if (st == NULL)
		LIST_FOREACH(st, &h->streams, entry)
			if (st->id == id)
				break;
	if (st != NULL)
		st->px = NULL;
}

void
h2_cancel(struct h2 *h, int32_t id)
{
	detach(h, id);
	nghttp2_submit_rst_stream(h->s, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
}

void
h2_consume(struct h2 *h, int32_t id, size_t n)
{
	if (n > 0)
		nghttp2_session_consume_stream(h->s, id, n);
}

const char *
h2_code_str(uint32_t code)
{
	if (code == H2_HEAD_TOO_BIG)
		return "answer head too large";
	return nghttp2_http2_strerror(code);
}
