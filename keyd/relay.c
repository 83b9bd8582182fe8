/*
 * Relayed exchanges: a client request sealed for the upstream (seal.c),
 * written into the connection's TLS session, and the response read back,
 * decrypted and handed to the worker as events.  Unary bodies are
 * decrypted as one document; event streams line by line, each read's
 * events batched into one message, the response sequence continuing
 * across events (protocol.md 3.6).
 */
#include "config.h"

#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "buf.h"
#include "cerr.h"
#include "conf.h"
#include "fieldcipher.h"
#include "ipc.h"
#include "jsonmut.h"
#include "kd.h"
#include "log.h"
#include "resp.h"
#include "seal.h"
#include "sx.h"
#include "tunnel.h"
#include "util.h"

#define UNARY_MAX	(128U * 1024 * 1024)	/* Go's MaxUnaryResponseBodyBytes */
#define SSE_LINE_MAX	(1024 * 1024)
#define ERRBODY_MAX	(1024 * 1024)		/* buffered to look for retries */
#define PLAIN_KEEP_MAX	(256 * 1024)		/* relay_input's kept buffer */
#define NO_SECRET_MARK	"no secret for ID"

enum px_mode {
	PX_BUFFERED,	/* collect the body, transform once */
	PX_STREAM	/* event stream: transform line by line */
};

struct pexch {
	TAILQ_ENTRY(pexch)	 wait;		/* waiting for a secret */
	int			 waiting;
	struct ktun		*kt;
	/* the request, kept only until it is sealed */
	struct seal_in		 in;
	char			*method, *path, *reqid, *peer, *auth;
	char			**hname, **hvalue;
	uint8_t			*body;
	/* the response */
	enum route_kind		 route;
	uint32_t		 attempt;
	struct fc		*fc;
	int			 decrypt;	/* else passed through */
	enum px_mode		 mode;
	int			 check_retry;	/* 500: look for no-secret */
	struct resp		 resp;
	struct buf		 body_acc;
	struct buf		 line;
	struct buf		 out;		/* DATA for this read */
	struct upio		 io;
	int			 headed;
	int			 retrying;	/* answered by UPE_RETRY */
	char			 err[CERR_MAX + 128];
};

static TAILQ_HEAD(, pexch)	waitq = TAILQ_HEAD_INITIALIZER(waitq);

static void
px_free_request(struct pexch *px)
{
	int	i;

	free(px->method);
	free(px->path);
	free(px->reqid);
	free(px->peer);
	if (px->auth != NULL)
		sodium_free(px->auth);
	for (i = 0; i < px->in.nh; i++) {
		free(px->hname[i]);
		free(px->hvalue[i]);
	}
	free(px->hname);
	free(px->hvalue);
	free(px->body);
	px->method = px->path = px->reqid = px->peer = px->auth = NULL;
	px->hname = px->hvalue = NULL;
	px->body = NULL;
	px->in.nh = 0;
}

static void
px_free(struct pexch *px)
{
	if (px->waiting)
		TAILQ_REMOVE(&waitq, px, wait);
	px_free_request(px);
	fc_free(px->fc);
	resp_free(&px->resp);
	buf_free(&px->body_acc);
	buf_free(&px->line);
	buf_free(&px->out);
	upio_free(&px->io);
	if (px->kt != NULL)
		px->kt->px = NULL;
	free(px);
}

/* The exchange is over; the connection stays for the next one or not. */
static void
px_finish(struct pexch *px, int reusable)
{
	struct ktun	*kt = px->kt;

	if (reusable)
		px->io.flags |= UPF_REUSABLE;
	else
		px->io.flags |= UPF_CLOSE;
	kt->exchanges++;
	ktun_flush(kt, &px->io);
	px_free(px);
}

static void
px_fail(struct pexch *px, int status, const char *code, const char *fmt, ...)
    __attribute__((__format__(printf, 4, 5)));

static void
px_fail(struct pexch *px, int status, const char *code, const char *fmt, ...)
{
	char	msg[1024];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	upio_error(&px->io, status, status == 504 ? "timeout_error" :
	    status >= 500 ? "upstream_error" : "invalid_request_error", code,
	    "%s", msg);
	px_finish(px, 0);
}

/* --- sealing --------------------------------------------------------- */

static void
px_seal(struct pexch *px, const struct sx_secret *sec)
{
	struct seal_err	 e;
	struct buf	 req;
	char		 err[256];

	buf_init(&req, px->in.bodylen * 2 + 1024);
	if (seal_request(&px->in, sec, &req, &px->fc, &e) == -1) {
		buf_free(&req);
		px_free_request(px);
		/* Nothing was written: the connection is still good. */
		upio_error(&px->io, e.status, e.type, e.code, "%s", e.msg);
		px_finish(px, 1);
		return;
	}
	px_free_request(px);
	if (tun_write(px->kt->t, req.p, req.len, err, sizeof(err)) == -1) {
		buf_free(&req);
		px_fail(px, 502, "upstream_tls", "%s", err);
		return;
	}
	/* The request held the API key in clear: scrub before freeing. */
	explicit_bzero(req.p, req.len);
	buf_free(&req);
	ktun_flush(px->kt, &px->io);
}

static char *
dup_bounded(struct msgr *r)
{
	char	*s = msg_get_str(r);

	return s != NULL ? s : xstrdup("");
}

int
relay_seal(struct msgr *r)
{
	struct pexch		*px;
	struct ktun		*kt;
	const struct sx_secret	*sec;
	const uint8_t		*body;
	size_t			 bodylen;
	uint32_t		 id, nh, i;

	px = xcalloc(1, sizeof(*px));
	id = msg_get_u32(r);
	px->attempt = msg_get_u32(r);
	px->route = msg_get_u8(r);
	px->method = dup_bounded(r);
	px->path = dup_bounded(r);
	px->reqid = dup_bounded(r);
	px->peer = dup_bounded(r);
	nh = msg_get_u32(r);
	if (nh > HTTP_MAX_HEADERS)
		r->err = 1;
	px->hname = xcalloc(nh + 1, sizeof(char *));
	px->hvalue = xcalloc(nh + 1, sizeof(char *));
	for (i = 0; i < nh && !r->err; i++) {
		px->hname[i] = dup_bounded(r);
		px->hvalue[i] = dup_bounded(r);
		px->in.nh = (int)i + 1;
	}
	body = msg_get_bytes(r, &bodylen);
	if (msg_end(r) == -1 || px->route < RK_MODELS ||
	    px->route > RK_UNSTRUCTURED || px->attempt > 2) {
		px_free(px);
		return -1;
	}
	px->body = xmalloc(bodylen + 1);
	memcpy(px->body, body, bodylen);
	px->in = (struct seal_in){ px->route, px->method, px->path, px->reqid,
	    px->peer, px->attempt, px->in.nh, (const char **)px->hname,
	    (const char **)px->hvalue, px->body, bodylen };
	buf_init(&px->body_acc, 0);
	buf_init(&px->line, 0);
	buf_init(&px->out, 0);
	upio_init(&px->io);
	resp_init(&px->resp, strcmp(px->method, "HEAD") == 0);

	if ((kt = ktun_find(id)) == NULL || kt->kind != KT_RELAY) {
		/* The worker closed it meanwhile. */
		px_free(px);
		return 0;
	}
	if (kt->px != NULL) {
		log_warnx("worker: second exchange on connection %u", id);
		px_free(px);
		return -1;
	}
	kt->px = px;
	px->kt = kt;
	if (px->route == RK_MODELS) {
		px_seal(px, NULL);
		return 0;
	}
	if ((sec = secret_current()) != NULL) {
		px_seal(px, sec);
		return 0;
	}
	/* No key configured: the client's bearer token may be the key. */
	for (i = 0; i < (uint32_t)px->in.nh; i++)
		if (strcasecmp(px->hname[i], "Authorization") == 0 &&
		    strncmp(px->hvalue[i], "Bearer ", 7) == 0 &&
		    strchr(px->hvalue[i] + 7, ' ') == NULL &&
		    px->hvalue[i][7] != '\0')
			secret_offer_key(px->hvalue[i] + 7,
			    strlen(px->hvalue[i] + 7));
	px->waiting = 1;
	TAILQ_INSERT_TAIL(&waitq, px, wait);
	/* The offer may have completed synchronously (it never does). */
	return 0;
}

void
relay_secret_ready(void)
{
	const struct sx_secret	*sec = secret_current();
	struct pexch		*px;

	if (sec == NULL)
		return;
	while ((px = TAILQ_FIRST(&waitq)) != NULL) {
		TAILQ_REMOVE(&waitq, px, wait);
		px->waiting = 0;
		px_seal(px, sec);
	}
}

void
relay_secret_failed(int status, const char *code, const char *msg)
{
	struct pexch	*px;

	while ((px = TAILQ_FIRST(&waitq)) != NULL) {
		TAILQ_REMOVE(&waitq, px, wait);
		px->waiting = 0;
		px_free_request(px);
		upio_error(&px->io, status, status == 401 ?
		    "authentication_error" : "service_unavailable", code, "%s",
		    msg);
		/* Nothing was written: the connection can be reused. */
		px_finish(px, 1);
	}
}

/* --- the response ------------------------------------------------------ */

static int
dropped_response_header(const char *n)
{
	static const char *const drop[] = {
		"Connection", "Keep-Alive", "Proxy-Authenticate",
		"Proxy-Authorization", "Te", "Trailer", "Trailers",
		"Transfer-Encoding", "Upgrade", "Content-Length"
	};
	size_t	i;

	for (i = 0; i < nitems(drop); i++)
		if (strcasecmp(n, drop[i]) == 0)
			return 1;
	return 0;
}

static void
emit_head(struct pexch *px, int64_t clen)
{
	const struct http_head	*h = &px->resp.head;
	const char		*names[HTTP_MAX_HEADERS + 1];
	const char		*values[HTTP_MAX_HEADERS + 1];
	char			 len[32];
	int			 i, n = 0;

	for (i = 0; i < h->nh; i++) {
		if (dropped_response_header(h->h[i].name))
			continue;
		names[n] = h->h[i].name;
		values[n++] = h->h[i].value;
	}
	if (clen >= 0) {
		snprintf(len, sizeof(len), "%lld", (long long)clen);
		names[n] = "Content-Length";
		values[n++] = len;
	}
	upio_head(&px->io, h->status, names, values, n);
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
	px->decrypt = px->route != RK_MODELS &&
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
	    px->route != RK_MODELS && px->mode == PX_BUFFERED;
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
		upio_retry(&px->io, UPR_NO_SECRET, 0);
		px->retrying = 1;	/* nothing goes to the client */
		return 0;
	}
	if (!px->decrypt || px->body_acc.len == 0) {
		emit_head(px, (int64_t)px->body_acc.len);
		upio_data(&px->io, px->body_acc.p, px->body_acc.len);
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
	upio_data(&px->io, plain.p, plain.len);
	buf_free(&plain);
	return 0;
}

static const struct resp_cb px_cb = { on_head, on_body, on_done };

void
relay_input(struct ktun *kt, const uint8_t *p, size_t n)
{
	/*
	 * Kept between reads (TLS records are at most 16 KiB; a read's
	 * plaintext is about its ciphertext): a fresh buffer grown to 16 KiB
	 * and more for every read was a malloc and two reallocs per event.
	 */
	static struct buf	 plain;
	struct pexch		*px = kt->px;
	struct upio		 io;
	char			 err[512];

	if (plain.cap > PLAIN_KEEP_MAX)
		buf_free(&plain);
	buf_reset(&plain);
	err[0] = '\0';
	if (tun_input(kt->t, p, n, &plain, err, sizeof(err)) == -1) {
		if (px != NULL) {
			px_fail(px, 502, "upstream_tls", "%s", err);
			return;
		}
		upio_init(&io);
		io.flags |= UPF_CLOSE;
		ktun_flush(kt, &io);
		upio_free(&io);
		return;
	}
	if (px == NULL || px->waiting) {
		/* Handshake bytes, or a ticket; plaintext here is bogus. */
		upio_init(&io);
		if (plain.len > 0)
			io.flags |= UPF_CLOSE;
		ktun_flush(kt, &io);
		upio_free(&io);
		return;
	}
	px->err[0] = '\0';
	if (resp_feed(&px->resp, plain.p, plain.len, &px_cb, px, px->err,
	    sizeof(px->err)) == -1) {
		if (px->headed)
			upio_data(&px->io, px->out.p, px->out.len);
		px_fail(px, 502, "bad_upstream_response", "%s", px->err);
		return;
	}
	if (px->out.len > 0) {
		upio_data(&px->io, px->out.p, px->out.len);
		buf_reset(&px->out);
	}
	if (resp_done(&px->resp)) {
		if (!px->retrying)
			upio_end(&px->io);
		px_finish(px, px->resp.keepalive);
		return;
	}
	ktun_flush(kt, &px->io);
}

/*
 * The worker's socket is gone.  Whatever happens here ends with one last
 * MSG_UP_IO flagged UPF_CLOSE, which lets the worker forget it too.
 */
void
relay_eof(struct ktun *kt, const char *why)
{
	struct pexch	*px = kt->px;
	struct upio	 io;

	if (px == NULL) {
		upio_init(&io);
		io.flags = UPF_CLOSE;
		ktun_flush(kt, &io);
		upio_free(&io);
		return;
	}
	if (px->waiting) {
		TAILQ_REMOVE(&waitq, px, wait);
		px->waiting = 0;
		px_free_request(px);
	}
	if (resp_eof(&px->resp, &px_cb, px) == 0 && resp_done(&px->resp)) {
		if (px->out.len > 0)
			upio_data(&px->io, px->out.p, px->out.len);
		upio_end(&px->io);
		px_finish(px, 0);
		return;
	}
	if (px->resp.received == 0 && px->attempt == 0 &&
	    strstr(why, "connection reset by peer") != NULL) {
		/* protocol.md 2.8: new nonce, 50 ms, once. */
		upio_retry(&px->io, UPR_RESET, 50);
		px_finish(px, 0);
		return;
	}
	if (px->resp.received == 0 && kt->exchanges > 0 &&
	    strstr(why, "timeout") == NULL) {
		/* A pooled connection the server had closed: try a fresh one. */
		upio_retry(&px->io, UPR_STALE, 0);
		px_finish(px, 0);
		return;
	}
	if (strstr(why, "timeout") != NULL)
		px_fail(px, 504, "upstream_timeout", "%s", why);
	else
		px_fail(px, 502, "upstream_closed", "upstream connection "
		    "failed before the response was complete: %s", why);
}

void
relay_close(struct ktun *kt)
{
	if (kt->px != NULL) {
		kt->px->kt = NULL;
		px_free(kt->px);
		kt->px = NULL;
	}
}
