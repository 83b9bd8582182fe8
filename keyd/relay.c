/*
 * Relayed exchanges.  The worker sends a client's request in plaintext
 * (MSG_REQ); keyd checks that its route and path are ones it may send
 * (seal_admit), seals it for the upstream (seal.c), puts it on a
 * connection it owns (ktun.c), reads the answer, decrypts it and sends it
 * back as events (MSG_RESP): unary bodies as one document, event streams
 * line by line, everything one upstream read produced in one message per
 * exchange.
 *
 * Connections to the API speak HTTP/1.1 (one exchange at a time, idle ones
 * pooled) or, where the API picks it by ALPN and upstream_http2 allows,
 * HTTP/2 (h2.c): one connection carries every exchange as a stream, and
 * another is opened only when the server's concurrent-stream limit is
 * reached.  Until TLS has agreed on the protocol, exchanges wait on the
 * new connection; if it turns out to be HTTP/1.1, all but the first go
 * elsewhere.
 *
 * keyd keeps the client's plaintext request until the answer has begun,
 * so that a retry (protocol.md 2.8) is sealed afresh: after a reset, a
 * refused stream or a GOAWAY before any answer byte (a new attempt, 50 ms
 * later, once), after a pooled connection turned out dead (at once, twice
 * at most), and after a 500 saying the deployment does not know our
 * secret (once a new secret is in).  The worker steers an exchange with
 * MSG_REQ_CTL: a client that stops reading pauses its exchange (HTTP/1.1:
 * keyd stops reading the connection; HTTP/2: the stream's window stays
 * shut), a client that leaves cancels it (HTTP/1.1: the connection
 * closes; HTTP/2: RST_STREAM CANCEL).
 */
#include "config.h"

#include <sys/queue.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>
#include <sodium.h>

#include "buf.h"
#include "cerr.h"
#include "chan.h"
#include "conf.h"
#include "dpmsg.h"
#include "fieldcipher.h"
#include "ipc.h"
#include "jsonmut.h"
#include "kd.h"
#include "log.h"
#include "metrics.h"
#include "resp.h"
#include "routes.h"
#include "seal.h"
#include "sx.h"
#include "tunnel.h"
#include "util.h"

#define UNARY_MAX	(128U * 1024 * 1024)	/* Go's MaxUnaryResponseBodyBytes */
#define SSE_LINE_MAX	(1024 * 1024)
#define PLAIN_KEEP_MAX	(256 * 1024)		/* relay_input's kept buffer */
#define NO_SECRET_MARK	"no secret for ID"
#define XID_BUCKETS	256
#define POOL_MAX	64		/* idle HTTP/1.1 connections kept */
#define POOL_IDLE_MS	60000		/* ... for at most this long */
#define RESET_DELAY_MS	50		/* protocol.md 2.8 */
#define STALE_MAX	2		/* dead pooled connections in a row */
#define WAITERS_MAX	1000		/* on a connection before its SETTINGS */

enum px_mode {
	PX_BUFFERED,	/* collect the body, transform once */
	PX_STREAM	/* event stream: transform line by line */
};

struct pexch {
	struct pexch		*hnext;		/* by xid */
	TAILQ_ENTRY(pexch)	 wait;		/* waiting for a secret */
	TAILQ_ENTRY(pexch)	 onconn;	/* on its connection's pxs */
	int			 waiting;
	uint32_t		 xid;
	struct dp_req		 q;		/* until the answer begins */
	enum route_kind		 route;
	const char		*method;
	struct ktun		*kt;
	int32_t			 stream;	/* HTTP/2 stream id */
	int			 submitted;	/* HTTP/2: a stream of kt */
	struct buf		 sealed;	/* the request until it is sent */
	uint32_t		 attempt;	/* the request id's suffix */
	int			 stale;		/* dead pooled connections */
	struct event		*delay;		/* a retry's wait */
	struct event		*timer;		/* the upstream's deadlines */
	int			 paused;	/* the client stopped reading */
	size_t			 unconsumed;	/* HTTP/2 window held back */
	int			 written;	/* request out, waiting for it */
	uint64_t		 received;	/* answer bytes seen */
	/* the answer */
	struct fc		*fc;
	int			 decrypt;	/* else passed through */
	enum px_mode		 mode;
	int			 check_retry;	/* 500: look for no-secret */
	struct resp		 resp;
	struct buf		 body_acc;
	struct buf		 line;
	struct buf		 out;		/* DATA for this read */
	struct buf		 ev;		/* MSG_RESP under construction */
	int			 headed;
	int			 retrying;	/* the no-secret retry */
	char			 err[CERR_MAX + 128];
};

/* Where relay.c keeps an API connection (kt->listed). */
enum { L_NONE, L_POOL, L_H2, L_AGREEING };

static struct pexch		*xids[XID_BUCKETS];
static TAILQ_HEAD(, pexch)	 waitq = TAILQ_HEAD_INITIALIZER(waitq);
static TAILQ_HEAD(ktunlist, ktun) pool = TAILQ_HEAD_INITIALIZER(pool),
				 h2s = TAILQ_HEAD_INITIALIZER(h2s),
				 agreeing = TAILQ_HEAD_INITIALIZER(agreeing);
static int			 npool;
static int			 h1_seen;	/* the API picked HTTP/1.1 */

static void	px_attempt(struct pexch *);
static void	px_start(struct pexch *);
static void	px_place(struct pexch *);
static void	px_send(struct pexch *);
static void	px_conn_lost(struct pexch *, int err, const char *why,
		    int reused);
static int	on_body(void *, const uint8_t *, size_t);
static int	on_head(void *);
static int	on_done(void *);
static const struct resp_cb px_cb;

/* --- exchanges ------------------------------------------------------------ */

static struct pexch *
px_find(uint32_t xid)
{
	struct pexch	*px;

	for (px = xids[xid % XID_BUCKETS]; px != NULL; px = px->hnext)
		if (px->xid == xid)
			return px;
	return NULL;
}

/* Its route encrypts (and so needs a secret); relay_request checked it. */
static int
px_sealed(const struct pexch *px)
{
	return route_sealed(route_traits(px->route));
}

static void
px_unlink(struct pexch *px)
{
	struct pexch	**pp;

	for (pp = &xids[px->xid % XID_BUCKETS]; *pp != NULL;
	    pp = &(*pp)->hnext)
		if (*pp == px) {
			*pp = px->hnext;
			return;
		}
}

static void
px_unwait(struct pexch *px)
{
	if (px->waiting) {
		TAILQ_REMOVE(&waitq, px, wait);
		px->waiting = 0;
	}
}

static void
px_wait_secret(struct pexch *px)
{
	px_unwait(px);
	px->waiting = 1;
	TAILQ_INSERT_TAIL(&waitq, px, wait);
}

/* The client's plaintext: no longer needed once the answer has begun. */
static void
px_forget_request(struct pexch *px)
{
	if (px->q.body != NULL)
		sodium_memzero((void *)(uintptr_t)px->q.body, px->q.bodylen);
	dp_req_free(&px->q);
	buf_free(&px->sealed);
}

static void
px_answer_reset(struct pexch *px)
{
	fc_free(px->fc);
	px->fc = NULL;
	resp_free(&px->resp);
	resp_init(&px->resp, 0);
	buf_reset(&px->body_acc);
	buf_reset(&px->line);
	buf_reset(&px->out);
	px->headed = px->retrying = px->written = 0;
	px->decrypt = px->check_retry = 0;
	px->received = 0;
	px->unconsumed = 0;
}

/* Everything this read produced, in one message. */
static void
px_send_events(struct pexch *px)
{
	if (px->ev.len == 0 || kenv->worker == NULL)
		return;
	chan_send(kenv->worker, MSG_RESP, px->xid, &px->ev);
	buf_reset(&px->ev);
}

static void
px_timer(struct pexch *px, int64_t ms)
{
	struct timeval	tv;

	if (ms <= 0) {
		evtimer_del(px->timer);
		return;
	}
	ms_to_tv(ms, &tv);
	evtimer_add(px->timer, &tv);
}

/* The deployment lost our secret: the exchange again, after a new one. */
static void
px_retry_secret(struct pexch *px)
{
	px->attempt++;
	metrics.retries[MRT_NO_SECRET]++;
	px_timer(px, 0);
	px_wait_secret(px);
}

/* --- connections ------------------------------------------------------------ */

static struct ktunlist *
list_of(int l)
{
	return l == L_POOL ? &pool : l == L_H2 ? &h2s : &agreeing;
}

static void
conn_list(struct ktun *kt, int l)
{
	if (kt->listed != L_NONE) {
		TAILQ_REMOVE(list_of(kt->listed), kt, list);
		if (kt->listed == L_POOL)
			npool--;
	}
	kt->listed = l;
	if (l != L_NONE) {
		TAILQ_INSERT_TAIL(list_of(l), kt, list);
		if (l == L_POOL)
			npool++;
	}
}

/* Take an exchange off its connection's list (HTTP/2, or not agreed). */
static void
px_off_conn(struct pexch *px)
{
	struct ktun	*kt = px->kt;

	TAILQ_REMOVE(&kt->pxs, px, onconn);
	kt->npx--;
	if (px->submitted) {
		kt->nstreams--;
		kt->exchanges++;
	}
	px->submitted = 0;
	px->stream = 0;
	px->kt = NULL;
}

/* Close a connection; exchanges still on it hear why (err: an errno). */
static void
conn_close(struct ktun *kt, int err, const char *why)
{
	struct pexch	*px;
	int		 reused = kt->exchanges > 0;

	log_debug("API connection %u: closed%s%s", kt->id, *why ? ": " : "",
	    why);
	conn_list(kt, L_NONE);
	if ((px = kt->px) != NULL) {
		kt->px = NULL;
		px->kt = NULL;
		px_conn_lost(px, err, why, reused);
	}
	while ((px = TAILQ_FIRST(&kt->pxs)) != NULL) {
		px_off_conn(px);
		px_conn_lost(px, err, why, reused);
	}
	ktun_free(kt);
}

static int
offer_h2(void)
{
	return strcmp(kenv->conf->upstream_http2, "off") != 0;
}

/*
 * A connection for an exchange: a stream on an HTTP/2 connection with
 * room, an idle HTTP/1.1 one (most recently used: its TCP and TLS state is
 * warmest), a place on a connection whose protocol is not agreed yet (when
 * the API may pick HTTP/2), or a new one.
 */
static struct ktun *
conn_get(void)
{
	struct ktun	*kt;

	/*
	 * Until the server's SETTINGS say how many streams it takes, an
	 * HTTP/2 connection takes exchanges to send once they do.
	 */
	TAILQ_FOREACH(kt, &h2s, list)
		if (h2_settled(kt->h2) ? h2_room(kt->h2, kt->npx) > 0 :
		    kt->npx < WAITERS_MAX)
			return kt;
	if ((kt = TAILQ_LAST(&pool, ktunlist)) != NULL) {
		conn_list(kt, L_NONE);
		ktun_timer(kt, 0);
		return kt;
	}
	if (offer_h2() && !h1_seen)
		TAILQ_FOREACH(kt, &agreeing, list)
			if (kt->npx < WAITERS_MAX)
				return kt;
	kt = ktun_new(KT_RELAY, NO_API, kenv->api_host, 1, 1, offer_h2());
	TAILQ_INIT(&kt->pxs);
	log_debug("API connection %u: new", kt->id);
	if (offer_h2())
		conn_list(kt, L_AGREEING);
	else
		kt->proto = KP_H1;
	return kt;
}

/* An HTTP/1.1 connection whose exchange is over: keep it, or close it. */
static void
conn_release(struct ktun *kt, int reusable)
{
	kt->px = NULL;
	if (!reusable || kt->fd == -1 || !tun_ready(kt->t) ||
	    npool >= POOL_MAX) {
		conn_close(kt, 0, "");
		return;
	}
	kt->exchanges++;
	conn_list(kt, L_POOL);
	ktun_read(kt, 1);	/* the server closing it is news */
	ktun_timer(kt, POOL_IDLE_MS);
}

/* An HTTP/2 stream is over: the connection stays for the others. */
static void
conn_unstream(struct pexch *px)
{
	struct ktun	*kt = px->kt;

	px_off_conn(px);
	if (kt->npx == 0 && kt->proto == KP_H2)
		ktun_timer(kt, POOL_IDLE_MS);
}

/*
 * The exchanges waiting on an HTTP/2 connection go out as its stream
 * limit allows, once the server's SETTINGS have said what it is; those
 * for which there is no room now go to another connection.
 */
static void
h2_fill(struct ktun *kt)
{
	struct pexch	*px, *next;

	if (!h2_settled(kt->h2))
		return;
	for (px = TAILQ_FIRST(&kt->pxs); px != NULL; px = next) {
		next = TAILQ_NEXT(px, onconn);
		if (px->submitted)
			continue;
		if (h2_room(kt->h2, kt->nstreams) > 0) {
			px_send(px);	/* may free px; next is intact */
			continue;
		}
		px_off_conn(px);
		px_place(px);
	}
}

/* --- ending an exchange ---------------------------------------------------- */

/* Off its connection (cancelled, failed or retried): HTTP/2 resets it. */
static void
px_detach(struct pexch *px, int close_h1)
{
	struct ktun	*kt = px->kt;

	if (kt == NULL)
		return;
	if (kt->proto == KP_H2) {
		/* Perhaps inside nghttp2's callbacks: the RST goes out soon. */
		if (px->stream > 0) {
			h2_cancel(kt->h2, px->stream);
			ktun_soon(kt);
		}
		conn_unstream(px);
	} else if (kt->proto == KP_UNKNOWN) {
		px_off_conn(px);
	} else {
		kt->px = NULL;
		px->kt = NULL;
		if (close_h1)
			conn_close(kt, 0, "");
	}
}

static void
px_free(struct pexch *px)
{
	px_detach(px, 1);
	px_unlink(px);
	px_unwait(px);
	px_forget_request(px);
	if (px->delay != NULL)
		event_free(px->delay);
	event_free(px->timer);
	fc_free(px->fc);
	resp_free(&px->resp);
	buf_free(&px->body_acc);
	buf_free(&px->line);
	buf_free(&px->out);
	buf_free(&px->ev);
	free(px);
}

/* The exchange is over; its connection stays for the next one or not. */
static void
px_finish(struct pexch *px, int reusable)
{
	struct ktun	*kt = px->kt;

	px_send_events(px);
	if (kt != NULL && kt->proto == KP_H2)
		conn_unstream(px);
	else if (kt != NULL && kt->proto == KP_H1) {
		px->kt = NULL;
		conn_release(kt, reusable);
	}
	px_free(px);
}

/* What the answer decrypted so far goes into the exchange's events. */
static void
px_pass_out(struct pexch *px)
{
	if (px->out.len > 0) {
		dp_resp_data(&px->ev, px->out.p, px->out.len);
		buf_reset(&px->out);
	}
}

/* The exchange ends with an error for the client. */
static void
px_fail(struct pexch *px, const struct pmerr *e)
{
	if (px->headed && px->out.len > 0)
		dp_resp_data(&px->ev, px->out.p, px->out.len);
	dp_resp_error(&px->ev, e);
	/* A stream that did not end well is reset; a connection closed. */
	px_send_events(px);
	px_detach(px, 1);
	px_free(px);
}

static void
px_failf(struct pexch *px, enum pmerr_code code, const char *fmt, ...)
    __attribute__((__format__(printf, 3, 4)));

static void
px_failf(struct pexch *px, enum pmerr_code code, const char *fmt, ...)
{
	struct pmerr	e;
	va_list		ap;

	va_start(ap, fmt);
	pmerr_vset(&e, code, fmt, ap);
	va_end(ap);
	px_fail(px, &e);
}

static void
delay_cb(evutil_socket_t fd, short ev, void *arg)
{
	px_start(arg);
}

/* Let go of the connection and send the request again later or now. */
static void
px_retry(struct pexch *px, enum m_retry why, uint32_t delay_ms)
{
	struct timeval	tv;

	ms_to_tv(delay_ms, &tv);
	metrics.retries[why]++;
	log_debug("exchange %u: sending again (%s) in %u ms", px->xid,
	    why == MRT_RESET ? "connection reset or stream refused" :
	    why == MRT_STALE ? "stale connection" : "unknown secret", delay_ms);
	px_detach(px, 1);
	px_timer(px, 0);
	if (delay_ms == 0) {
		px_start(px);
		return;
	}
	if (px->delay == NULL &&
	    (px->delay = evtimer_new(kenv->base, delay_cb, px)) == NULL)
		fatalx("%s: evtimer_new", __func__);
	evtimer_add(px->delay, &tv);
}

/*
 * The exchange's connection (or stream) ended before the answer did.  A
 * request that got no answer byte may go again: once, with a new attempt,
 * after a reset or a refusal; at once, twice at most, when a connection
 * that had served before turned out dead.
 */
static void
px_conn_lost(struct pexch *px, int err, const char *why, int reused)
{
	if (px->received == 0 && px->q.body != NULL && err != ETIMEDOUT) {
		/* ECONNREFUSED here: an HTTP/2 stream refused or cut by GOAWAY. */
		if ((err == ECONNRESET || err == ECONNREFUSED) &&
		    px->attempt == 0) {
			px->attempt++;
			px_retry(px, MRT_RESET, RESET_DELAY_MS);
			return;
		}
		if (err != ECONNREFUSED && reused && px->stale++ < STALE_MAX) {
			px_retry(px, MRT_STALE, 0);
			return;
		}
	}
	if (err == ETIMEDOUT)
		px_failf(px, PME_UPSTREAM_TIMEOUT, "%s", why);
	else
		px_failf(px, PME_UPSTREAM_CLOSED, "upstream connection "
		    "failed before the response was complete: %s", why);
}

/* --- the answer -------------------------------------------------------------- */

static void
emit_head(struct pexch *px, int64_t clen)
{
	const struct http_head	*h = &px->resp.head;
	const char		*names[HTTP_MAX_HEADERS + 1];
	const char		*values[HTTP_MAX_HEADERS + 1];
	char			 len[32];
	size_t			 need = 64;
	int			 i, n = 0;

	for (i = 0; i < h->nh; i++) {
		/* Content-Length: the worker's to set, for what it sends. */
		if (http_hop_by_hop(h->h[i].name) ||
		    strcasecmp(h->h[i].name, "Content-Length") == 0)
			continue;
		names[n] = h->h[i].name;
		values[n++] = h->h[i].value;
	}
	if (clen >= 0) {
		snprintf(len, sizeof(len), "%lld", (long long)clen);
		names[n] = "Content-Length";
		values[n++] = len;
		need += (size_t)clen;	/* the body follows at once */
	}
	/* The message grows once, not by doubling from nothing. */
	for (i = 0; i < n; i++)
		need += 8 + strlen(names[i]) + strlen(values[i]);
	buf_reserve(&px->ev, need);
	dp_resp_head(&px->ev, h->status, names, values, n);
	px->headed = 1;
}

static int
on_head(void *arg)
{
	struct pexch		*px = arg;
	const struct http_head	*h = &px->resp.head;
	const char		*enc, *ct, *ce;

	enc = http_head_get(h, "Privatemode-Encrypted");
	ct = http_head_get(h, "Content-Type");
	ce = http_head_get(h, "Content-Encoding");
	px->decrypt = px_sealed(px) &&
	    !(enc != NULL && strcmp(enc, "false") == 0);
	px->mode = ct != NULL && strstr(ct, "event-stream") != NULL ?
	    PX_STREAM : PX_BUFFERED;
	if (px->decrypt && ce != NULL && strcasecmp(ce, "identity") != 0) {
		snprintf(px->err, sizeof(px->err), "upstream answered with "
		    "Content-Encoding %s, which cannot be decrypted", ce);
		return -1;
	}
	/* Go retries once on a 500 whose body says the secret is unknown. */
	px->check_retry = h->status == 500 && px->attempt == 0 &&
	    px_sealed(px) && px->mode == PX_BUFFERED;
	if (px->mode == PX_STREAM)
		emit_head(px, -1);
	return 0;
}

/* One line of an event stream (protocol.md 3.6), appended to px->out. */
static int
stream_line(struct pexch *px, const uint8_t *l, size_t n)
{
	const uint8_t	*sep, *payload;
	size_t		 plen, prefix, mark;
	struct cerr	 ce;

	if (n > 0 && l[n - 1] == '\r')
		n--;
	if (n == 0)
		return 0;	/* blank lines are regenerated below */
	if (l[0] == ':') {
		/* A comment (keep-alive): Go would abort; we pass it on. */
		buf_add(&px->out, l, n);
		buf_adds(&px->out, "\n");
		return 0;
	}
	sep = memmem(l, n, ": ", 2);
	prefix = sep != NULL ? (size_t)(sep - l) + 2 : 0;
	payload = l + prefix;
	plen = n - prefix;
	if (sep != NULL && sep - l == 5 && memcmp(l, "event", 5) == 0) {
		buf_add(&px->out, l, n);
		buf_adds(&px->out, "\n");
		return 0;
	}
	mark = px->out.len;
	buf_add(&px->out, l, prefix);
	if (plen == 6 && strncasecmp((const char *)payload, "[DONE]", 6) == 0)
		buf_add(&px->out, payload, plen);
	else if (jm_mutate(payload, plen, seal_response_plain(px->route),
	    fc_decrypt_cb, px->fc, &px->out, &ce) == -1) {
		/* Only whole events reach the client, then the error. */
		px->out.len = mark;
		snprintf(px->err, sizeof(px->err), "decrypting event: %s",
		    ce.msg);
		return -1;
	}
	buf_adds(&px->out, "\n\n");
	return 0;
}

static int
stream_bytes(struct pexch *px, const uint8_t *p, size_t n)
{
	const uint8_t	*nl;
	size_t		 k;

	while (n > 0) {
		nl = memchr(p, '\n', n);
		k = nl != NULL ? (size_t)(nl - p) : n;
		/* The same limit whether the line came in one read or many. */
		if (px->line.len + k > SSE_LINE_MAX) {
			snprintf(px->err, sizeof(px->err), "event stream line "
			    "longer than %d bytes", SSE_LINE_MAX);
			return -1;
		}
		if (nl == NULL) {
			buf_add(&px->line, p, n);
			return 0;
		}
		if (px->line.len > 0) {
			buf_add(&px->line, p, k);
			if (stream_line(px, px->line.p, px->line.len) == -1)
				return -1;
			buf_reset(&px->line);
		} else if (stream_line(px, p, k) == -1)
			return -1;
		p += k + 1;
		n -= k + 1;
	}
	return 0;
}

static int
on_body(void *arg, const uint8_t *p, size_t n)
{
	struct pexch	*px = arg;

	if (px->mode == PX_STREAM) {
		if (!px->decrypt) {
			/* Privatemode-Encrypted: false: byte for byte. */
			buf_add(&px->out, p, n);
			return 0;
		}
		return stream_bytes(px, p, n);
	}
	if (px->body_acc.len + n > UNARY_MAX) {
		snprintf(px->err, sizeof(px->err), "upstream response body "
		    "larger than %u bytes", UNARY_MAX);
		return -1;
	}
	buf_add(&px->body_acc, p, n);
	return 0;
}

static int
on_done(void *arg)
{
	struct pexch	*px = arg;
	struct buf	 plain;
	struct cerr	 ce;

	if (px->mode == PX_STREAM) {
		/* A last line without a newline still counts. */
		if (px->line.len > 0 &&
		    stream_line(px, px->line.p, px->line.len) == -1)
			return -1;
		buf_reset(&px->line);
		return 0;
	}
	if (px->check_retry && memmem(px->body_acc.p, px->body_acc.len,
	    NO_SECRET_MARK, strlen(NO_SECRET_MARK)) != NULL) {
		log_info("upstream does not know our secret: exchanging a "
		    "new one and retrying");
		secret_force_update();
		px->retrying = 1;	/* nothing goes to the client */
		return 0;
	}
	if (!px->decrypt || px->body_acc.len == 0) {
		emit_head(px, (int64_t)px->body_acc.len);
		dp_resp_data(&px->ev, px->body_acc.p, px->body_acc.len);
		return 0;
	}
	buf_init(&plain, px->body_acc.len);
	if (jm_mutate(px->body_acc.p, px->body_acc.len,
	    seal_response_plain(px->route), fc_decrypt_cb, px->fc, &plain,
	    &ce) == -1) {
		snprintf(px->err, sizeof(px->err), "mapping response: "
		    "mutating response body: %s", ce.msg);
		buf_free(&plain);
		return -1;
	}
	emit_head(px, (int64_t)plain.len);
	dp_resp_data(&px->ev, plain.p, plain.len);
	buf_free(&plain);
	return 0;
}

static const struct resp_cb px_cb = { on_head, on_body, on_done };

/* --- HTTP/2 streams (h2.c calls these) --------------------------------------- */

void
relay_h2_sent(void *arg)
{
	struct pexch	*px = arg;

	if (!px->written && px->resp.head.status == 0) {
		px->written = 1;
		px_timer(px, kenv->conf->upstream_first_byte_timeout);
	}
}

/* The stream's head, as an HTTP/1.1 head text: parsed as one. */
void
relay_h2_head(void *arg, const char *text, size_t len)
{
	struct pexch	*px = arg;

	px->received += len;
	http_head_free(&px->resp.head);
	if (http_head_parse(&px->resp.head, text, len, 0) != HTTP_OK) {
		px_failf(px, PME_BAD_UPSTREAM_RESPONSE,
		    "malformed upstream response head");
		return;
	}
	if (on_head(px) == -1) {
		px_failf(px, PME_BAD_UPSTREAM_RESPONSE, "%s", px->err);
		return;
	}
	if (!px->paused)
		px_timer(px, kenv->conf->stream_idle_timeout);
}

void
relay_h2_data(void *arg, const uint8_t *p, size_t n)
{
	struct pexch	*px = arg;

	px->received += n;
	if (on_body(px, p, n) == -1) {
		/* Whole events out, then the error; the stream is reset. */
		px_failf(px, PME_BAD_UPSTREAM_RESPONSE, "%s", px->err);
		return;
	}
	/* The stream's window opens again only as the client reads. */
	if (px->paused)
		px->unconsumed += n;
	else {
		h2_consume(px->kt->h2, px->stream, n);
		px_timer(px, kenv->conf->stream_idle_timeout);
	}
}

void
relay_h2_closed(void *arg, uint32_t code)
{
	struct pexch	*px = arg;

	px->stream = 0;		/* closed: nothing to reset */
	if (code == H2_HEAD_TOO_BIG) {
		/* The words of the HTTP/1.1 reader for the same limit. */
		px_failf(px, PME_BAD_UPSTREAM_RESPONSE, "upstream "
		    "response head too large (over %u bytes)", RESP_HEAD_MAX);
		return;
	}
	if (code == H2_REFUSED_STREAM) {
		/* Never processed (a refusal, or above a GOAWAY's last id). */
		conn_unstream(px);
		px_conn_lost(px, ECONNREFUSED, "upstream refused the stream", 0);
		return;
	}
	if (code != 0) {
		px_failf(px, PME_UPSTREAM_RESET, "upstream reset the "
		    "stream: %s", h2_code_str(code));
		return;
	}
	if (!px->headed && px->resp.head.status == 0) {
		px_failf(px, PME_BAD_UPSTREAM_RESPONSE, "upstream "
		    "ended the stream without an answer");
		return;
	}
	if (on_done(px) == -1) {
		px_failf(px, PME_BAD_UPSTREAM_RESPONSE, "%s", px->err);
		return;
	}
	px_pass_out(px);
	if (px->retrying) {
		conn_unstream(px);
		px_retry_secret(px);
		return;
	}
	dp_resp_end(&px->ev);
	px_finish(px, 1);
}

/*
 * After HTTP/2 input: each stream's events of this read, in one message;
 * then the exchanges waiting for room (SETTINGS, closed streams).
 */
static void
h2_after_input(struct ktun *kt)
{
	struct pexch	*px;

	TAILQ_FOREACH(px, &kt->pxs, onconn) {
		px_pass_out(px);
		if (px->headed && px->q.body != NULL)
			px_forget_request(px);
		px_send_events(px);
	}
	h2_fill(kt);
	h2_output(kt->h2);
}

/* --- sending ---------------------------------------------------------------- */

/*
 * No key configured: the client's own key may be the API key, sent as
 * Authorization: Bearer (OpenAI SDKs) or x-api-key (Anthropic SDKs), as
 * the official proxy takes it (protocol.md 2.9).  1 if there was one.
 */
static int
offer_client_key(const struct pexch *px)
{
	const char	*v;
	uint32_t	 i;

	for (i = 0; i < px->q.nh; i++) {
		v = px->q.hvalue[i];
		if (strcasecmp(px->q.hname[i], "Authorization") == 0 &&
		    strncmp(v, "Bearer ", 7) == 0)
			v += 7;
		else if (strcasecmp(px->q.hname[i], "x-api-key") != 0)
			continue;
		if (*v == '\0' || strchr(v, ' ') != NULL)
			continue;
		secret_offer_key(v, strlen(v));
		return 1;
	}
	return 0;
}

/* Seal the request for the secret of now and put it on a connection. */
static void
px_attempt(struct pexch *px)
{
	const struct sx_secret	*sec = NULL;
	struct seal_in		 in;
	struct pmerr		 e;

	if (px_sealed(px) && (sec = secret_current()) == NULL)
		fatalx("%s: no secret", __func__);
	px_answer_reset(px);
	in = (struct seal_in){ px->route, px->method, px->q.path,
	    px->q.reqid, px->q.peer, px->attempt, (int)px->q.nh,
	    px->q.hname, px->q.hvalue, px->q.body, px->q.bodylen };
	/* It holds the API key in clear: a buffer wiped as it goes. */
	buf_free(&px->sealed);
	buf_init_secret(&px->sealed, px->q.bodylen * 2 + 1024);
	if (seal_request(&in, sec, &px->sealed, &px->fc, &e) == -1) {
		px_fail(px, &e);
		return;
	}
	px_place(px);
}

/* The sealed request onto its connection, now that it speaks. */
static void
px_send(struct pexch *px)
{
	struct ktun	*kt = px->kt;
	char		 err[256];
	int32_t		 id;

	if (kt->proto == KP_H2) {
		/* The stream takes the sealed request's storage. */
		id = h2_submit(kt->h2, px, &px->sealed, err, sizeof(err));
		if (id < 0) {
			px_failf(px, PME_UPSTREAM_HTTP2, "%s", err);
			return;
		}
		px->stream = id;
		px->submitted = 1;
		kt->nstreams++;
		ktun_timer(kt, 0);
		/*
		 * Until the body is out (flow control may hold it back), an
		 * API that takes none of it counts as stalled; then the wait
		 * for the answer starts (relay_h2_sent).
		 */
		if (!px->written)
			px_timer(px, kenv->conf->stream_idle_timeout);
		/*
		 * Out once this callback is done: the requests of one read
		 * from the worker leave in one TLS record and one write.
		 */
		ktun_soon(kt);
		return;
	}
	kt->px = px;
	if (tun_write(kt->t, px->sealed.p, px->sealed.len, err,
	    sizeof(err)) == -1) {
		buf_free(&px->sealed);
		px_failf(px, PME_UPSTREAM_TLS, "%s", err);
		return;
	}
	buf_free(&px->sealed);
	/*
	 * Until the request is out, an API that takes none of it for
	 * stream_idle_timeout counts as stalled; then the wait for the
	 * answer starts (relay_drained).
	 */
	px_timer(px, kenv->conf->stream_idle_timeout);
	if (kt->fd != -1)
		ktun_flush(kt);
}

/* A connection for the exchange: now, or once it has agreed on HTTP. */
static void
px_place(struct pexch *px)
{
	struct ktun	*kt = conn_get();

	px->kt = kt;
	if (kt->proto == KP_H2 || kt->proto == KP_UNKNOWN) {
		TAILQ_INSERT_TAIL(&kt->pxs, px, onconn);
		kt->npx++;
	}
	ktun_read(kt, 1);
	if (kt->proto == KP_UNKNOWN || (kt->proto == KP_H2 &&
	    !h2_settled(kt->h2))) {
		px_timer(px, kenv->conf->upstream_connect_timeout +
		    kenv->conf->stream_idle_timeout);
		return;
	}
	px_send(px);
}

/* Run the exchange now, or once there is a secret. */
static void
px_start(struct pexch *px)
{
	if (!px_sealed(px) || secret_current() != NULL) {
		px_attempt(px);
		return;
	}
	if (!secret_have_key() && !offer_client_key(px)) {
		px_failf(px, PME_MISSING_API_KEY, "no API key: set api_key in "
		    "privatemode.conf, or send the key as Authorization: "
		    "Bearer or x-api-key");
		return;
	}
	px_wait_secret(px);
}

static void
px_timeout(evutil_socket_t fd, short ev, void *arg)
{
	struct pexch	*px = arg;
	struct ktun	*kt = px->kt;
	char		 why[160];

	/* The head came (if not yet sent on: a unary answer is collected). */
	if (px->resp.head.status > 0)
		snprintf(why, sizeof(why), "upstream timeout: nothing received "
		    "for %lld ms (stream_idle_timeout)",
		    (long long)kenv->conf->stream_idle_timeout);
	else if (px->written)
		snprintf(why, sizeof(why), "upstream timeout: no answer within "
		    "%lld ms (upstream_first_byte_timeout)",
		    (long long)kenv->conf->upstream_first_byte_timeout);
	else
		snprintf(why, sizeof(why), "upstream timeout: the API took "
		    "none of the request for %lld ms",
		    (long long)kenv->conf->stream_idle_timeout);
	/* HTTP/1.1: the connection goes with it; HTTP/2: the stream. */
	if (kt != NULL && kt->proto == KP_H1) {
		kt->px = NULL;
		px->kt = NULL;
		conn_close(kt, 0, "");
	}
	px_conn_lost(px, ETIMEDOUT, why, 0);
}

int
relay_request(uint32_t xid, struct msgr *r)
{
	struct pexch	*px;

	if (xid == 0 || px_find(xid) != NULL) {
		log_warnx("worker: exchange id %u reused", xid);
		return -1;
	}
	px = xcalloc(1, sizeof(*px));
	if (dp_req_get(r, &px->q) == -1 || route_traits(px->q.route) == NULL) {
		dp_req_free(&px->q);
		free(px);
		return -1;
	}
	px->xid = xid;
	px->route = px->q.route;
	px->hnext = xids[xid % XID_BUCKETS];
	xids[xid % XID_BUCKETS] = px;
	buf_init(&px->body_acc, 0);
	buf_init(&px->line, 0);
	buf_init(&px->out, 0);
	buf_init(&px->ev, 0);
	/* (sealed is made by px_attempt, for the size of the body) */
	resp_init(&px->resp, 0);
	if ((px->timer = evtimer_new(kenv->base, px_timeout, px)) == NULL)
		fatalx("%s: evtimer_new", __func__);
	if ((px->method = seal_admit(px->route, px->q.path)) == NULL) {
		/* The path is the client's: a refusal, not a broken worker. */
		log_warnx("refusing to send %s for route kind %d", px->q.path,
		    px->route);
		px_failf(px, PME_BAD_REQUEST,
		    "refusing to forward this request line");
		return 0;
	}
	px_start(px);
	return 0;
}

int
relay_ctl(uint32_t xid, struct msgr *r)
{
	struct pexch	*px;
	struct ktun	*kt;
	enum dp_ctl	 op;

	if (dp_ctl_get(r, &op) == -1)
		return -1;
	if ((px = px_find(xid)) == NULL)
		return 0;	/* answered meanwhile */
	kt = px->kt;
	switch (op) {
	case DPC_PAUSE:
	case DPC_RESUME:
		px->paused = op == DPC_PAUSE;
		/* A client that stops reading is not an upstream stall. */
		px_timer(px, px->paused ? 0 : kenv->conf->stream_idle_timeout);
		if (kt == NULL)
			break;
		if (kt->proto == KP_H1)
			ktun_read(kt, !px->paused);
		else if (kt->proto == KP_H2 && !px->paused &&
		    px->stream > 0) {
			h2_consume(kt->h2, px->stream, px->unconsumed);
			px->unconsumed = 0;
			h2_output(kt->h2);
		}
		break;
	case DPC_CANCEL:
		/* HTTP/1.1 cancels by closing, HTTP/2 by RST_STREAM CANCEL. */
		px_free(px);
		break;
	}
	return 0;
}

void
relay_secret_ready(void)
{
	struct pexch	*px;

	if (secret_current() == NULL)
		return;
	while ((px = TAILQ_FIRST(&waitq)) != NULL) {
		px_unwait(px);
		px_attempt(px);
	}
}

void
relay_secret_failed(enum pmerr_code code, const char *msg)
{
	struct pexch	*px;

	while ((px = TAILQ_FIRST(&waitq)) != NULL) {
		px_unwait(px);
		px_failf(px, code, "%s", msg);
	}
}

/* --- what the connection tells -------------------------------------------- */

void
relay_connected(struct ktun *kt, enum dp_fd_fail fail, const char *err)
{
	struct pexch	*px;

	if (fail == DPF_OK) {
		ktun_flush(kt);
		return;
	}
	/* Nothing was sent on it: every exchange waiting for it fails. */
	conn_list(kt, L_NONE);
	while ((px = kt->px != NULL ? kt->px : TAILQ_FIRST(&kt->pxs)) != NULL) {
		px_detach(px, 0);
		if (fail == DPF_PROXY)
			/* A gateway on the way said no: a bad gateway. */
			px_failf(px, PME_UPSTREAM_PROXY, "%s", err);
		else
			/* Unavailable: try again later. */
			px_failf(px, PME_UPSTREAM_UNREACHABLE, "cannot reach "
			    "the API at %s: %s", kenv->conf->api_endpoint, err);
	}
	ktun_free(kt);
}

void
relay_drained(struct ktun *kt)
{
	struct pexch	*px = kt->px;

	/* The wait for the first answer byte starts once all of it is out. */
	if (kt->proto == KP_H1 && px != NULL && !px->written &&
	    !px->headed && tun_ready(kt->t) && tun_queued(kt->t) == 0) {
		px->written = 1;
		px_timer(px, kenv->conf->upstream_first_byte_timeout);
	}
}

/*
 * TLS is done and says which protocol: HTTP/2 takes every exchange that
 * waited; HTTP/1.1 the first, the others go elsewhere.
 */
static int
conn_agreed(struct ktun *kt)
{
	struct pexch	*px, *first;
	char		 err[256];

	log_debug("API connection %u: %s, %d exchange(s) waiting", kt->id,
	    tun_h2(kt->t) ? "HTTP/2" : "HTTP/1.1", kt->npx);
	if (tun_h2(kt->t)) {
		if ((kt->h2 = h2_new(kt, err, sizeof(err))) == NULL) {
			conn_close(kt, EPROTO, err);
			return -1;
		}
		kt->proto = KP_H2;
		conn_list(kt, L_H2);
		h2_fill(kt);
		h2_output(kt->h2);
		return 0;
	}
	kt->proto = KP_H1;
	h1_seen = 1;
	conn_list(kt, L_NONE);
	first = TAILQ_FIRST(&kt->pxs);
	while ((px = TAILQ_FIRST(&kt->pxs)) != NULL) {
		px_off_conn(px);
		if (px == first)
			px->kt = kt;	/* the one this connection serves */
		else
			px_place(px);
	}
	if (first == NULL) {
		conn_release(kt, 1);
		return 0;
	}
	px_send(first);
	return 0;
}

/* Bytes on an idle HTTP/1.1 connection: a late ticket, or the end of it. */
static void
idle_input(struct ktun *kt, struct buf *plain, int failed)
{
	if (failed || plain->len > 0) {
		conn_close(kt, 0, "");
		return;
	}
	ktun_flush(kt);
}

static void
h1_input(struct ktun *kt, struct pexch *px, struct buf *plain)
{
	px->err[0] = '\0';
	px->received += plain->len;
	if (plain->len > 0 && resp_feed(&px->resp, plain->p, plain->len,
	    &px_cb, px, px->err, sizeof(px->err)) == -1) {
		px_failf(px, PME_BAD_UPSTREAM_RESPONSE, "%s", px->err);
		return;
	}
	px_pass_out(px);
	if (resp_done(&px->resp)) {
		if (px->retrying) {
			px->kt = NULL;
			conn_release(kt, px->resp.keepalive);
			px_retry_secret(px);
			return;
		}
		dp_resp_end(&px->ev);
		px_finish(px, px->resp.keepalive);
		return;
	}
	if (px->headed && px->q.body != NULL)
		px_forget_request(px);
	if (px->headed && !px->paused)
		px_timer(px, kenv->conf->stream_idle_timeout);
	ktun_flush(kt);
	px_send_events(px);
}

void
relay_input(struct ktun *kt, const uint8_t *p, size_t n)
{
	/*
	 * Kept between reads (a read's plaintext is about its ciphertext): a
	 * fresh buffer grown to 16 KiB and more for every read was a malloc
	 * and two reallocs per event.
	 */
	static struct buf	 plain;
	char			 err[512];
	int			 failed;

	if (plain.cap > PLAIN_KEEP_MAX)
		buf_free(&plain);
	buf_reset(&plain);
	err[0] = '\0';
	failed = tun_input(kt->t, p, n, &plain, err, sizeof(err)) == -1;
	if (failed) {
		conn_close(kt, EPROTO, err);
		return;
	}
	if (kt->proto == KP_UNKNOWN && tun_ready(kt->t) &&
	    conn_agreed(kt) == -1)
		return;
	switch (kt->proto) {
	case KP_UNKNOWN:
		/* Handshake bytes; application bytes here are bogus. */
		if (plain.len > 0)
			conn_close(kt, EPROTO, "application data before the "
			    "TLS handshake completed");
		else
			ktun_flush(kt);
		return;
	case KP_H2:
		if (plain.len > 0 && h2_input(kt->h2, plain.p, plain.len, err,
		    sizeof(err)) == -1) {
			conn_close(kt, EPROTO, err);
			return;
		}
		h2_after_input(kt);
		if (h2_finished(kt->h2))
			conn_close(kt, 0, "");
		return;
	case KP_H1:
		if (kt->px == NULL)
			idle_input(kt, &plain, 0);
		else
			h1_input(kt, kt->px, &plain);
		return;
	}
}

/*
 * The connection ended (err 0: closed by the server; else an errno).  A
 * close-delimited HTTP/1.1 answer is complete now; every other exchange
 * on it hears that its connection is gone.
 */
void
relay_eof(struct ktun *kt, int err, const char *why)
{
	struct pexch	*px = kt->px;

	if (kt->proto == KP_H1 && px != NULL &&
	    resp_eof(&px->resp, &px_cb, px) == 0 && resp_done(&px->resp)) {
		px_pass_out(px);
		dp_resp_end(&px->ev);
		px_finish(px, 0);
		return;
	}
	conn_close(kt, err, why);
}

/* Output another part of keyd queued for an HTTP/2 connection. */
void
relay_soon(struct ktun *kt)
{
	if (kt->proto == KP_H2)
		h2_output(kt->h2);
}

/* An idle connection (pooled HTTP/1.1, HTTP/2 without streams) expired. */
void
relay_timeout(struct ktun *kt)
{
	if (kt->px == NULL && kt->npx == 0)
		conn_close(kt, 0, "");
}
