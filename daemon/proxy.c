/*
 * The worker's side of a proxied request: checks it can make without a
 * key, MSG_REQ to keyd, and relaying keyd's MSG_RESP to the client.
 */

#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>

#include "access.h"
#include "buf.h"
#include "conf.h"
#include "dpmsg.h"
#include "http.h"
#include "ipc.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "multipart.h"
#include "proxy.h"
#include "reqid.h"
#include "routes.h"
#include "server.h"
#include "usage.h"
#include "util.h"
#include "worker.h"

#define XID_BUCKETS	256

/* An exchange: a client request keyd answers. */
struct pxreq {
	struct pxreq	*hnext;		/* by xid */
	uint32_t	 xid;
	struct request	*req;		/* NULL once answered */
	enum route_kind	 route;
	int		 streaming;	/* client response started */
	int		 paused;	/* keyd was told to stop reading */
	int		 usage;		/* read the answer's usage objects */
	int		 sse;		/* ... as an event stream */
	uint64_t	 t_sent;	/* MSG_REQ sent, until keyd answers */
};

static struct pxreq	*xids[XID_BUCKETS];
static uint32_t		 next_xid;

static void	px_abort(struct request *);
static void	px_writable(struct request *);

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
	req_error(r, PME_UNSUPPORTED_MEDIA_TYPE, "Content-Encoding %s is not "
	    "supported: send the body uncompressed", ce);
	return -1;
}

int
proxy_head(struct request *r, enum route_kind rk)
{
	const char	*ct = req_header(r, "Content-Type");

	/*
	 * A worker whose keyd is gone (it drains, then the pair respawns)
	 * can serve nothing: say so after the head, not after a body that
	 * may not arrive before the drain ends and closes it (bench/soak).
	 */
	if (!keyd_alive()) {
		req_error(r, PME_KEYD_UNAVAILABLE, NULL);
		return -1;
	}
	switch (route_traits(rk)->body) {
	case RB_JSON:
		/* The Content-Type is judged with the body (check_json). */
		return check_encoding(r);
	case RB_MULTIPART:
		if (check_encoding(r) == -1)
			return -1;
		if (ct == NULL || strncasecmp(ct, "multipart/form-data", 19)) {
			req_error(r, PME_UNSUPPORTED_MEDIA_TYPE,
			    "Content-Type must be multipart/form-data");
			return -1;
		}
		return 0;
	default:
		return 0;
	}
}

/*
 * The JSON body checks a client deserves a clear 400 for.  Like the
 * official proxy, a body that parses as JSON is served whatever its
 * Content-Type says (curl -d sends application/x-www-form-urlencoded);
 * one that does not, under a type that is not JSON, gets 415.
 */
static int
check_json(struct request *r, char model[USAGE_NAME_MAX + 1])
{
	const char		*ct = req_header(r, "Content-Type");
	struct json_result	 jr;
	struct json_top		*top = NULL;
	struct buf		 name;
	enum json_status	 st;
	size_t			 ntop = 0, i;

	if (!is_json_ctype(ct) && (r->body.len == 0 ||
	    json_validate(r->body.p, r->body.len, 0, &jr) != JSON_OK)) {
		req_error(r, PME_UNSUPPORTED_MEDIA_TYPE, "Content-Type %s is "
		    "not supported: send application/json", ct);
		return -1;
	}
	if (r->body.len == 0) {
		req_error(r, PME_INVALID_JSON,
		    "request body is empty; expected a JSON object");
		return -1;
	}
	st = json_validate_top(r->body.p, r->body.len, 0, &jr, &top, &ntop);
	/* The model asked for, as a usage label: no other content is kept. */
	for (i = 0; i < ntop && st == JSON_OK; i++)
		if (json_strcmp(r->body.p + top[i].key.off, top[i].key.len,
		    (const uint8_t *)"\"model\"", 7) == 0 &&
		    json_kind_at(r->body.p, r->body.len, top[i].value.off) ==
		    JSON_STRING) {
			buf_init(&name, 64);
			if (json_unescape(r->body.p + top[i].value.off,
			    top[i].value.len, &name) == 0)
				usage_label(model, name.p, name.len);
			buf_free(&name);
			break;
		}
	free(top);
	if (st == JSON_EDUPKEY) {
		/* Go would encrypt the first and forward the second in clear. */
		req_error(r, PME_DUPLICATE_KEY, "request body repeats a "
		    "member name (at byte %zu)", jr.offset);
		return -1;
	}
	if (st != JSON_OK) {
		req_error(r, PME_INVALID_JSON, "invalid JSON at byte %zu: %s",
		    jr.offset, jr.msg);
		return -1;
	}
	if (jr.top != JSON_OBJECT) {
		req_error(r, PME_INVALID_JSON, NULL);
		return -1;
	}
	return 0;
}

/*
 * A form keyd will take: the worker parses it with keyd's own parser
 * first, so that keyd only ever sees a body the worker validated, and a
 * client gets its 400 without a trip to keyd.
 */
static int
check_multipart(struct request *r, char modelname[USAGE_NAME_MAX + 1])
{
	struct mp_form		 form;
	const struct mp_part	*model;
	const char		*msg;
	char			 boundary[128];

	if (mp_boundary(req_header(r, "Content-Type"), boundary,
	    sizeof(boundary), &msg) == -1) {
		req_error(r, PME_INVALID_MULTIPART, "%s", msg);
		return -1;
	}
	if (mp_parse(r->body.p, r->body.len, boundary, &form, &msg) == -1) {
		req_error(r, PME_INVALID_MULTIPART,
		    "parsing multipart form: %s", msg);
		return -1;
	}
	model = mp_value(&form, "model");
	if (model == NULL || model->len == 0) {
		mp_free(&form);
		req_error(r, PME_MISSING_MODEL, NULL);
		return -1;
	}
	usage_label(modelname, model->data, model->len);
	mp_free(&form);
	return 0;
}

/* The body checks of the route's kind of body. */
static int
check_body(struct request *r, enum route_body body,
    char model[USAGE_NAME_MAX + 1])
{
	switch (body) {
	case RB_JSON:
		return check_json(r, model);
	case RB_MULTIPART:
		return check_multipart(r, model);
	default:
		return 0;	/* the bytes as they came: nothing to read */
	}
}

/* --- exchanges -------------------------------------------------------------- */

static struct pxreq *
px_find(uint32_t xid)
{
	struct pxreq	*px;

	for (px = xids[xid % XID_BUCKETS]; px != NULL; px = px->hnext)
		if (px->xid == xid)
			return px;
	return NULL;
}

static struct pxreq *
px_new(struct request *r, enum route_kind rk)
{
	struct pxreq	*px;

	px = xcalloc(1, sizeof(*px));
	do
		next_xid++;
	while (next_xid == 0 || px_find(next_xid) != NULL);
	px->xid = next_xid;
	px->req = r;
	px->route = rk;
	px->hnext = xids[px->xid % XID_BUCKETS];
	xids[px->xid % XID_BUCKETS] = px;
	r->hctx = px;
	r->on_abort = px_abort;
	r->on_writable = px_writable;
	return px;
}

/* The exchange is over: detach from the request and forget it. */
static void
px_free(struct pxreq *px)
{
	struct pxreq	**pp;

	for (pp = &xids[px->xid % XID_BUCKETS]; *pp != NULL;
	    pp = &(*pp)->hnext)
		if (*pp == px) {
			*pp = px->hnext;
			break;
		}
	if (px->req != NULL) {
		px->req->hctx = NULL;
		px->req->on_abort = NULL;
		px->req->on_writable = NULL;
	}
	free(px);
}

static void
px_ctl(struct pxreq *px, enum dp_ctl op)
{
	struct buf	m;

	buf_init(&m, 8);
	dp_ctl_put(&m, op);
	keyd_send(MSG_REQ_CTL, px->xid, &m);
	buf_free(&m);
}

static void
px_abort(struct request *r)
{
	struct pxreq	*px = r->hctx;

	/* The client left: the upstream request is cancelled with it. */
	px->req = NULL;
	px_ctl(px, DPC_CANCEL);
	px_free(px);
}

static void
px_writable(struct request *r)
{
	struct pxreq	*px = r->hctx;

	if (px->paused) {
		px->paused = 0;
		px_ctl(px, DPC_RESUME);
	}
}

/* --- the answer ---------------------------------------------------------------- */

/* The exchange is over: an error answer, or the event ending the stream. */
static void
px_error(struct pxreq *px, const struct pmerr *e)
{
	if (px->req == NULL)
		return;
	req_fail(px->req, e);
	px->req = NULL;
}

/* The same for a failure the worker sees itself, with its usual words. */
static void
px_error_code(struct pxreq *px, enum pmerr_code c)
{
	struct pmerr	e;

	pmerr_set(&e, c, NULL);
	px_error(px, &e);
}

/* The upstream head as extra header lines, Content-Length and -Type apart. */
static char *
head_headers(const struct dp_event *ev, int64_t *clen, char **ctype)
{
	struct buf	 h;
	int		 i;

	*clen = -1;
	*ctype = NULL;
	buf_init(&h, 256);
	for (i = 0; i < ev->nh; i++) {
		if (strcasecmp(ev->hname[i], "Content-Length") == 0)
			*clen = strtoll(ev->hvalue[i], NULL, 10);
		else if (strcasecmp(ev->hname[i], "Content-Type") == 0)
			*ctype = xstrdup(ev->hvalue[i]);
		else if (strcasecmp(ev->hname[i], "x-request-id") != 0)
			buf_addf(&h, "%s: %s\r\n", ev->hname[i],
			    ev->hvalue[i]);
	}
	return buf_cstr(&h) == NULL ? NULL : (char *)buf_release(&h, NULL);
}

/*
 * The head.  A unary answer with its whole body in the same message goes
 * out in one write; anything else starts a stream.
 */
static void
px_head(struct pxreq *px, const struct dp_event *ev, struct msgr *m)
{
	struct msgr	 peek = *m;
	struct dp_event	 data;
	char		*hdrs, *ctype;
	int64_t		 clen;

	memset(&data, 0, sizeof(data));
	hdrs = head_headers(ev, &clen, &ctype);
	/* Usage, from inference answers that succeeded; no content kept. */
	px->usage = ev->status >= 200 && ev->status < 300 &&
	    (route_traits(px->route)->flags & RT_USAGE);
	px->sse = ctype != NULL && strncasecmp(ctype, "text/event-stream",
	    17) == 0;
	if (clen == 0) {
		req_respond(px->req, ev->status, ctype, hdrs, "", 0);
		px->req = NULL;
	} else if (clen > 0 && dp_resp_next(&peek, &data) == 1 &&
	    data.type == DPE_DATA && (uint64_t)clen == data.len) {
		if (px->usage)
			usage_from_json(&px->req->usage, data.data, data.len);
		req_respond(px->req, ev->status, ctype, hdrs, data.data,
		    data.len);
		px->req = NULL;
		*m = peek;
	} else {
		req_stream_start(px->req, ev->status, ctype, hdrs);
		px->streaming = 1;
	}
	dp_event_free(&data);
	free(hdrs);
	free(ctype);
}

/* One event; 1 when the client's buffer is full. */
static int
px_event(struct pxreq *px, const struct dp_event *ev, struct msgr *m)
{
	struct request	*r = px->req;
	int		 full = 0;

	if (ev->type == DPE_ERROR) {
		log_info("request %s: %d %s: %s", r != NULL ? r->id : "-",
		    pmerr_status(ev->err.code), pmerr_code_str(ev->err.code),
		    ev->err.msg);
		px_error(px, &ev->err);
		return 0;
	}
	if (r == NULL)
		return 0;	/* answered already: nothing more goes out */
	switch (ev->type) {
	case DPE_HEAD:
		if (!px->streaming)
			px_head(px, ev, m);
		break;
	case DPE_DATA:
		if (px->streaming) {
			/* keyd sends whole lines, unary bodies whole. */
			if (px->usage && px->sse)
				usage_from_sse(&r->usage, ev->data, ev->len);
			else if (px->usage)
				usage_from_json(&r->usage, ev->data, ev->len);
			full = req_stream_write(r, ev->data, ev->len);
			metrics.stream_chunks++;
		}
		break;
	case DPE_END:
		if (px->streaming)
			req_stream_end(r);
		px->req = NULL;
		break;
	default:
		break;
	}
	return full;
}

int
proxy_answer(uint32_t xid, struct msgr *m)
{
	struct pxreq	*px;
	struct dp_event	 ev;
	int		 rv, full = 0, over = 0;

	if ((px = px_find(xid)) == NULL)
		return 0;	/* the client left; keyd had not heard yet */
	if (px->t_sent != 0) {
		metrics_observe(&metrics.keyd_ipc, now_us() - px->t_sent, 1);
		px->t_sent = 0;
	}
	while ((rv = dp_resp_next(m, &ev)) == 1) {
		over |= ev.type == DPE_END || ev.type == DPE_ERROR;
		full |= px_event(px, &ev, m);
		dp_event_free(&ev);
	}
	if (rv == -1) {
		log_warnx("keyd: malformed MSG_RESP");
		px_error_code(px, PME_RELAY_INTERNAL);
		px_free(px);
		return -1;
	}
	if (over || px->req == NULL) {
		px_free(px);
		return 0;
	}
	if (full && !px->paused) {
		px->paused = 1;
		px_ctl(px, DPC_PAUSE);
	}
	return 0;
}

void
proxy_keyd_lost(void)
{
	struct pxreq	*px;
	size_t		 i;

	for (i = 0; i < XID_BUCKETS; i++)
		while ((px = xids[i]) != NULL) {
			px_error_code(px, PME_KEYD_LOST);
			px_free(px);
		}
}

/* --- sending ------------------------------------------------------------------- */

/* What keyd never gets: hop-by-hop fields, and what keyd sets itself. */
static int
not_forwarded(const char *name)
{
	static const char *const own[] = {
		"Host", "Content-Length", "Expect", "Accept-Encoding"
	};
	size_t	i;

	if (http_hop_by_hop(name))
		return 1;
	for (i = 0; i < nitems(own); i++)
		if (strcasecmp(name, own[i]) == 0)
			return 1;
	return 0;
}

/* Everything keyd needs for the request, in one message. */
static void
px_send(struct pxreq *px, const char *upath, const char *reqid)
{
	struct request	*r = px->req;
	const char	*names[HTTP_MAX_HEADERS], *values[HTTP_MAX_HEADERS];
	struct dp_req	 q;
	struct buf	 m;
	int		 i;

	memset(&q, 0, sizeof(q));
	q.route = (uint8_t)px->route;
	q.path = upath;
	q.reqid = reqid;
	q.peer = r->peer;
	q.hname = names;
	q.hvalue = values;
	for (i = 0; i < r->head.nh; i++)
		if (!not_forwarded(r->head.h[i].name) &&
		    !access_token_header(r->head.h[i].name)) {
			names[q.nh] = r->head.h[i].name;
			values[q.nh++] = r->head.h[i].value;
		}
	q.body = r->body.p;
	q.bodylen = r->body.len;
	buf_init(&m, r->body.len + 2048);
	dp_req_put(&m, &q);
	px->t_sent = now_us();
	keyd_send(MSG_REQ, px->xid, &m);
	buf_free(&m);
}

void
proxy_request(struct request *r, enum route_kind rk, const char *upath)
{
	struct pxreq	*px;
	char		 reqid[REQID_LEN + 1];
	char		 model[USAGE_NAME_MAX + 1] = USAGE_NONE;

	if (!keyd_alive()) {
		req_error(r, PME_KEYD_UNAVAILABLE, NULL);
		return;
	}
	if (check_body(r, route_traits(rk)->body, model) == -1)
		return;
	/* From here on it counts as a request of its client and model. */
	strlcpy(r->model, model, sizeof(r->model));
	/* One id for the client, the upstream and the logs. */
	if (r->id_minted)
		strlcpy(reqid, r->id, sizeof(reqid));
	else
		reqid_new(reqid);
	px = px_new(r, rk);
	px_send(px, upath, reqid);
}
