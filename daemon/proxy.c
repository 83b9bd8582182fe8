#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>

#include "conf.h"
#include "ipc.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "proxy.h"
#include "reqid.h"
#include "server.h"
#include "upstream.h"
#include "util.h"
#include "worker.h"

struct pxreq {
	struct request	*req;		/* NULL once the client is gone */
	enum route_kind	 route;
	struct upconn	*uc;
	uint32_t	 attempt;
	int		 stale_retries;
	char		 reqid[REQID_LEN + 1];
	char		*upath;		/* upstream path + query */
	struct event	*retry_ev;
	int		 streaming;	/* client response started */
	uint64_t	 t_seal;	/* MSG_REQ_SEAL sent, until keyd answers */
};

static void	px_send(struct pxreq *);

static int
is_json_ctype(const char *ct)
{
	size_t	n;

	if (ct == NULL)
		return 1;	/* curl -d without -H: accept, the body decides */
	n = strcspn(ct, ";");
	while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
		n--;
	if (n == 16 && strncasecmp(ct, "application/json", 16) == 0)
		return 1;
	/* application/<anything>+json */
	return n > 5 && strncasecmp(ct + n - 5, "+json", 5) == 0;
}

/*
 * A body this daemon reads and encrypts value by value must come
 * uncompressed; a gzip body would otherwise be refused as invalid JSON.
 */
static int
check_encoding(struct request *r)
{
	const char	*ce = req_header(r, "Content-Encoding");

	if (ce == NULL || strcasecmp(ce, "identity") == 0)
		return 0;
	req_error(r, 415, "invalid_request_error", "unsupported_media_type",
	    "Content-Encoding %s is not supported: send the body "
	    "uncompressed", ce);
	return -1;
}

int
proxy_head(struct request *r, enum route_kind rk)
{
	const char	*ct = req_header(r, "Content-Type");

	switch (rk) {
	case RK_CHAT:
	case RK_COMPLETIONS:
	case RK_EMBEDDINGS:
	case RK_MESSAGES:
		if (check_encoding(r) == -1)
			return -1;
		if (!is_json_ctype(ct)) {
			req_error(r, 415, "invalid_request_error",
			    "unsupported_media_type", "Content-Type %s is not "
			    "supported: send application/json", ct);
			return -1;
		}
		return 0;
	case RK_TRANSCRIPTIONS:
		if (check_encoding(r) == -1)
			return -1;
		if (ct == NULL || strncasecmp(ct, "multipart/form-data", 19)) {
			req_error(r, 415, "invalid_request_error",
			    "unsupported_media_type", "Content-Type must be "
			    "multipart/form-data");
			return -1;
		}
		return 0;
	default:
		return 0;
	}
}

/* The JSON body checks a client deserves a clear 400 for. */
static int
check_json(struct request *r)
{
	struct json_result	jr;
	enum json_status	st;

	if (r->body.len == 0) {
		req_error(r, 400, "invalid_request_error", "invalid_json",
		    "request body is empty; expected a JSON object");
		return -1;
	}
	st = json_validate(r->body.p, r->body.len, 0, &jr);
	if (st == JSON_EDUPKEY) {
		/* Go would encrypt the first and forward the second in clear. */
		req_error(r, 400, "invalid_request_error", "duplicate_key",
		    "request body repeats a member name (at byte %zu)",
		    jr.offset);
		return -1;
	}
	if (st != JSON_OK) {
		req_error(r, 400, "invalid_request_error", "invalid_json",
		    "invalid JSON at byte %zu: %s", jr.offset, jr.msg);
		return -1;
	}
	if (jr.top != JSON_OBJECT) {
		req_error(r, 400, "invalid_request_error", "invalid_json",
		    "request body must be a JSON object");
		return -1;
	}
	return 0;
}

/* --- lifecycle ----------------------------------------------------------- */

static void
px_free(struct pxreq *px)
{
	if (px->retry_ev != NULL)
		event_free(px->retry_ev);
	free(px->upath);
	free(px);
}

/* The request is answered: detach from it and let go of the upstream. */
static void
px_done(struct pxreq *px, int reusable)
{
	if (px->uc != NULL)
		upconn_release(px->uc, reusable);
	px->uc = NULL;
	if (px->req != NULL) {
		px->req->hctx = NULL;
		px->req->on_abort = NULL;
		px->req->on_writable = NULL;
	}
	px_free(px);
}

static void
px_abort(struct request *r)
{
	struct pxreq	*px = r->hctx;

	/* The client left: the upstream request is cancelled with it. */
	px->req = NULL;
	if (px->uc != NULL)
		upconn_close(px->uc);
	px->uc = NULL;
	px_free(px);
}

static void
px_writable(struct request *r)
{
	struct pxreq	*px = r->hctx;

	if (px->uc != NULL)
		upconn_pause(px->uc, 0);
}

/* --- events from keyd ------------------------------------------------------ */

/* A failure after the head went out: one error event, then the end. */
static void
stream_error(struct pxreq *px, int status, const char *type,
    const char *code, const char *msg)
{
	struct request	*r = px->req;
	char		*esc = json_escape_dup(msg);
	char		*ev;

	if (px->route == RK_MESSAGES)
		xasprintf(&ev, "event: error\ndata: {\"type\":\"error\","
		    "\"error\":{\"type\":\"%s\",\"message\":%s}}\n\n",
		    anthropic_error_type(status), esc);
	else
		xasprintf(&ev, "data: {\"error\":{\"message\":%s,\"type\":"
		    "\"%s\",\"param\":null,\"code\":\"%s\"}}\n\n", esc, type,
		    code);
	req_stream_write(r, ev, strlen(ev));
	free(ev);
	free(esc);
	/* The stream ends properly; the connection does not stay. */
	r->conn_close = 1;
	req_stream_end(r);
}

static void
px_error(struct pxreq *px, int status, const char *type, const char *code,
    const char *msg)
{
	if (px->req == NULL)
		return;
	if (px->streaming)
		stream_error(px, status, type, code, msg);
	else
		req_error(px->req, status, type, code, "%s", msg);
	px->req = NULL;
}

static void
retry_cb(evutil_socket_t fd, short ev, void *arg)
{
	px_send(arg);
}

static void
px_retry(struct pxreq *px, int reason, uint32_t delay)
{
	struct timeval	tv;

	metrics.retries[reason < M_NRETRY ? reason : 0]++;
	if (reason == UPR_STALE) {
		if (++px->stale_retries > 2) {
			px_error(px, 502, "upstream_error", "upstream_closed",
			    "upstream keeps closing connections");
			px_done(px, 0);
			return;
		}
	} else if (++px->attempt > 1) {
		px_error(px, 502, "upstream_error", "retry_exhausted",
		    "upstream request failed after a retry");
		px_done(px, 0);
		return;
	}
	log_debug("request %s: retrying (%s) in %u ms", px->reqid,
	    reason == UPR_RESET ? "connection reset" :
	    reason == UPR_NO_SECRET ? "unknown secret" : "stale connection",
	    delay);
	if (px->retry_ev == NULL)
		px->retry_ev = evtimer_new(wenv->base, retry_cb, px);
	tv.tv_sec = delay / 1000;
	tv.tv_usec = (delay % 1000) * 1000;
	evtimer_add(px->retry_ev, &tv);
}

static char *
head_headers(struct msgr *m, int *status, int64_t *clen, char **ctype)
{
	struct buf	 h;
	char		*name, *value;
	uint32_t	 n, i;

	*status = msg_get_u16(m);
	n = msg_get_u32(m);
	*clen = -1;
	*ctype = NULL;
	buf_init(&h, 256);
	for (i = 0; i < n && !m->err && i < 128; i++) {
		name = msg_get_str(m);
		value = msg_get_str(m);
		if (name == NULL || value == NULL) {
			free(name);
			free(value);
			break;
		}
		if (strcasecmp(name, "Content-Length") == 0)
			*clen = strtoll(value, NULL, 10);
		else if (strcasecmp(name, "Content-Type") == 0)
			*ctype = xstrdup(value);
		else if (strcasecmp(name, "x-request-id") != 0)
			buf_addf(&h, "%s: %s\r\n", name, value);
		free(name);
		free(value);
	}
	return buf_cstr(&h) == NULL ? NULL : (char *)buf_release(&h, NULL);
}

static void
px_events(struct upconn *uc, uint8_t flags, struct msgr *m, void *arg)
{
	struct pxreq	*px = arg;
	struct request	*r = px->req;
	const uint8_t	*data;
	char		*hdrs, *ctype, *type, *code, *msg;
	size_t		 n;
	uint32_t	 nev, i, delay;
	int64_t		 clen;
	int		 status, reason, pause = 0;

	if (px->t_seal != 0) {
		metrics_observe(&metrics.keyd_ipc, now_us() - px->t_seal, 1);
		px->t_seal = 0;
	}
	nev = msg_get_u32(m);
	for (i = 0; i < nev && !m->err; i++) {
		switch (msg_get_u8(m)) {
		case UPE_HEAD:
			hdrs = head_headers(m, &status, &clen, &ctype);
			upconn_headed(uc);
			/* A whole unary answer in this message: one write. */
			if (clen >= 0 && i + 1 < nev && m->left > 0 &&
			    m->p[0] == UPE_DATA) {
				(void)msg_get_u8(m);
				data = msg_get_bytes(m, &n);
				i++;
				req_respond(r, status, ctype, hdrs, data, n);
				px->req = r = NULL;
			} else if (clen == 0) {
				req_respond(r, status, ctype, hdrs, "", 0);
				px->req = r = NULL;
			} else {
				req_stream_start(r, status, ctype, hdrs);
				px->streaming = 1;
			}
			free(hdrs);
			free(ctype);
			break;
		case UPE_DATA:
			data = msg_get_bytes(m, &n);
			if (r != NULL && px->streaming) {
				pause |= req_stream_write(r, data, n);
				metrics.stream_chunks++;
			}
			break;
		case UPE_END:
			if (r != NULL && px->streaming) {
				req_stream_end(r);
				px->req = r = NULL;
			}
			break;
		case UPE_ERROR:
			status = msg_get_u16(m);
			type = msg_get_str(m);
			code = msg_get_str(m);
			msg = msg_get_str(m);
			if (type != NULL && code != NULL && msg != NULL) {
				log_info("request %s: %d %s: %s", px->reqid,
				    status, code, msg);
				px_error(px, status, type, code, msg);
			}
			r = NULL;
			free(type);
			free(code);
			free(msg);
			break;
		case UPE_RETRY:
			reason = msg_get_u8(m);
			delay = msg_get_u32(m);
			if (m->err)
				break;
			px->uc = NULL;
			upconn_release(uc, (flags & UPF_REUSABLE) != 0);
			px_retry(px, reason, delay);
			return;
		default:
			m->err = 1;
		}
	}
	if (m->err || msg_end(m) == -1) {
		log_warnx("keyd: malformed MSG_UP_IO");
		px_error(px, 502, "upstream_error", "internal_error",
		    "internal error relaying the response");
		px_done(px, 0);
		return;
	}
	if (px->req == NULL) {
		/* Answered (or failed): the exchange is over. */
		px_done(px, (flags & UPF_REUSABLE) != 0);
		return;
	}
	if (flags & UPF_CLOSE) {
		/* keyd ended the connection without an answer. */
		px_error(px, 502, "upstream_error", "upstream_closed",
		    "upstream connection closed");
		px_done(px, 0);
		return;
	}
	if (pause)
		upconn_pause(uc, 1);
}

/* --- sending --------------------------------------------------------------- */

static int
hop_by_hop(const char *name)
{
	static const char *const h[] = {
		"Connection", "Keep-Alive", "Proxy-Authenticate",
		"Proxy-Authorization", "Te", "Trailer", "Trailers",
		"Transfer-Encoding", "Upgrade", "Host", "Content-Length",
		"Expect", "Accept-Encoding"
	};
	size_t	i;

	for (i = 0; i < nitems(h); i++)
		if (strcasecmp(name, h[i]) == 0)
			return 1;
	return 0;
}

static void
px_send(struct pxreq *px)
{
	static const struct upuser	 user = { px_events, NULL };
	struct upuser			 u = user;
	struct request			*r = px->req;
	struct buf			 m;
	int				 i, n = 0;

	u.arg = px;
	px->uc = upconn_get(&u);
	buf_init(&m, r->body.len + 2048);
	msg_put_u32(&m, upconn_id(px->uc));
	msg_put_u32(&m, px->attempt);
	msg_put_u8(&m, (uint8_t)px->route);
	msg_put_str(&m, px->route == RK_MODELS ? "GET" : "POST");
	msg_put_str(&m, px->upath);
	msg_put_str(&m, px->reqid);
	msg_put_str(&m, r->peer);
	for (i = 0; i < r->head.nh; i++)
		if (!hop_by_hop(r->head.h[i].name))
			n++;
	msg_put_u32(&m, (uint32_t)n);
	for (i = 0; i < r->head.nh; i++)
		if (!hop_by_hop(r->head.h[i].name)) {
			msg_put_str(&m, r->head.h[i].name);
			msg_put_str(&m, r->head.h[i].value);
		}
	msg_put_bytes(&m, r->body.p, r->body.len);
	px->t_seal = now_us();
	keyd_send(MSG_REQ_SEAL, &m);
	buf_free(&m);
	upconn_arm_first_byte(px->uc);
}

void
proxy_request(struct request *r, enum route_kind rk, const char *upath)
{
	struct pxreq	*px;

	if (!keyd_alive()) {
		req_error(r, 503, "service_unavailable", "keyd_unavailable",
		    "key daemon unavailable");
		return;
	}
	if ((rk == RK_CHAT || rk == RK_COMPLETIONS || rk == RK_EMBEDDINGS ||
	    rk == RK_MESSAGES) && check_json(r) == -1)
		return;
	px = xcalloc(1, sizeof(*px));
	px->req = r;
	px->route = rk;
	/* One id for the client, the upstream and the logs. */
	if (r->id_minted)
		strlcpy(px->reqid, r->id, sizeof(px->reqid));
	else
		reqid_new(px->reqid);
	px->upath = xstrdup(upath);
	r->hctx = px;
	r->on_abort = px_abort;
	r->on_writable = px_writable;
	px_send(px);
}
