/*
 * The worker's routes: which path is which kind of request, the local
 * endpoints (health, readiness, metrics), request ids.
 */

#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "access.h"
#include "buf.h"
#include "ipc.h"
#include "log.h"
#include "metrics.h"
#include "route.h"
#include "server.h"
#include "util.h"
#include "worker.h"
#include "proxy.h"
#include "reqid.h"
#include "routes.h"
#ifdef TEST_HOOKS
#include "testhook.h"
#include "upstream.h"
#endif

#include <event2/event.h>

typedef void	(*route_fn)(struct request *);

/* A route answered in the worker. */
struct local {
	const char	*path;
	const char	*methods;	/* comma-separated */
	route_fn	 fn;
	int		 where;		/* ON_API and/or ON_METRICS */
};

/* Where a request goes: a local route, or a route kind's to the API. */
struct route {
	const char	*path;
	const char	*methods;	/* comma-separated */
	route_fn	 fn;		/* NULL: proxied to the API */
	int		 where;		/* ON_API and/or ON_METRICS */
	enum route_kind	 rk;		/* proxied */
	const char	*upath;		/* upstream path; NULL: as requested */
};

#define ON_API		0x01	/* the API listeners */
#define ON_METRICS	0x02	/* metrics_listen */
#define OPEN		0x04	/* no client token (client_auth tokens) */

static void	h_healthz(struct request *);
static void	h_readyz(struct request *);
static void	h_metrics(struct request *);
#ifdef TEST_HOOKS
static void	h_test_keyd_syscall(struct request *);
static void	h_test_worker_syscall(struct request *);
static void	h_test_bad_handover(struct request *);
static void	h_test_sleep(struct request *);
static void	h_test_echo(struct request *);
static void	h_test_keyd_clock(struct request *);
static void	h_test_metrics_ans(struct request *);
#endif

/*
 * The local routes.  The proxied ones are the route kinds' rows
 * (common/routes.c).
 */
static const struct local locals[] = {
	/*
	 * /readyz on the API port says only ready or not and why in a few
	 * words of ours; its detail (attestation, TCB, the last error, which
	 * may be an upstream's text) is for the metrics listener.
	 */
	{ "/healthz",	"GET,HEAD",	h_healthz, ON_API | ON_METRICS | OPEN },
	{ "/readyz",	"GET,HEAD",	h_readyz, ON_API | ON_METRICS | OPEN },
	{ "/metrics",	"GET",	h_metrics, ON_METRICS },
#ifdef TEST_HOOKS
	{ "/__test/keyd-forbidden-syscall", "POST", h_test_keyd_syscall,
	    ON_API | OPEN },
	{ "/__test/worker-forbidden-syscall", "POST", h_test_worker_syscall,
	    ON_API | OPEN },
	{ "/__test/bad-handover", "POST", h_test_bad_handover,
	    ON_API | OPEN },
	{ "/__test/sleep", "GET", h_test_sleep, ON_API | OPEN },
	{ "/__test/echo", "POST", h_test_echo, ON_API | OPEN },
	{ "/__test/keyd-clock", "POST", h_test_keyd_clock, ON_API | OPEN },
	{ "/__test/metrics-ans", "POST", h_test_metrics_ans, ON_API | OPEN },
#endif
};

/* The route of a path: a route kind's, or a local one; -1 for none. */
static int
route_find(const char *path, struct route *rt)
{
	const struct route_traits	*t;
	const char			*canonical;
	size_t				 i;
	int				 rk;

	if ((rk = route_by_path(path, &canonical)) != 0) {
		t = route_traits(rk);
		*rt = (struct route){ path, t->method, NULL, ON_API, rk,
		    canonical };
		return 0;
	}
	for (i = 0; i < nitems(locals); i++)
		if (strcmp(path, locals[i].path) == 0) {
			*rt = (struct route){ locals[i].path, locals[i].methods,
			    locals[i].fn, locals[i].where, 0, NULL };
			return 0;
		}
	return -1;
}

/* Client's X-Request-ID if it is sane, else a fresh proxy_<uuidv7>. */
static void
assign_request_id(struct request *r)
{
	const char	*v = req_header(r, "X-Request-ID");
	char		 id[REQID_LEN + 1];
	size_t		 n;

	if (v != NULL && (n = strlen(v)) > 0 && n < sizeof(r->id) &&
	    strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._:-") == n) {
		strlcpy(r->id, v, sizeof(r->id));
		return;
	}
	reqid_new(id);
	strlcpy(r->id, id, sizeof(r->id));
	r->id_minted = 1;
}

int
route_head(struct request *r)
{
	struct route	 rt;
	int		 found;

	assign_request_id(r);
	found = route_find(r->path, &rt) == 0;
	/* metrics_listen serves its routes only, the API port never those. */
	if (found && !(rt.where & (r->metrics_listener ? ON_METRICS : ON_API)))
		found = 0;
	if (found)
		r->mroute = rt.fn == NULL ? metrics_route(rt.rk) :
		    rt.fn == h_metrics ? MR_METRICS : MR_HEALTH;
	r->dialect = found && rt.fn == NULL ? route_traits(rt.rk)->dialect :
	    RD_OPENAI;
	/*
	 * client_auth tokens: the token first, before anything else is done
	 * with the request, on every path of the API port but the open
	 * ones (a client without a token learns no route either).
	 */
	if (!r->metrics_listener && (!found || !(rt.where & OPEN)) &&
	    access_auth(r) == -1)
		return -1;
	if (!found) {
		req_error(r, PME_NOT_FOUND, "no route for %s", r->path);
		return -1;
	}
	if (!http_token_in(rt.methods, r->head.method)) {
		req_error(r, PME_METHOD_NOT_ALLOWED, "method %s not allowed "
		    "on %s (allowed: %s)", r->head.method, r->path,
		    rt.methods);
		return -1;
	}
	if (rt.fn == NULL)
		return access_admit(r) == -1 ? -1 : proxy_head(r, rt.rk);
	return 0;
}

void
route_request(struct request *r)
{
	struct route	 rt;
	char		*upath;

	if (route_find(r->path, &rt) == -1)
		fatalx("%s: %s lost its route", __func__, r->path);
	if (rt.fn != NULL) {
		rt.fn(r);
		return;
	}
	if (rt.upath != NULL && r->query != NULL)
		xasprintf(&upath, "%s?%s", rt.upath, r->query);
	else
		upath = xstrdup(rt.upath != NULL ? rt.upath : r->head.target);
	r->proxied = 1;
	proxy_request(r, rt.rk, upath);
	free(upath);
}

static void
h_healthz(struct request *r)
{
	static const char	body[] = "{\"status\":\"ok\"}";

	req_respond(r, 200, "application/json", NULL, body, sizeof(body) - 1);
}

/* --- /metrics: the parent sums every process's counters ------------ */

static void
metrics_answer(const struct msg_hdr *hdr, struct msgr *m, void *arg)
{
	struct request	*r = arg;
	const uint8_t	*text;
	size_t		 n;

	r->hctx = NULL;
	r->on_abort = NULL;
	if (hdr == NULL) {
		req_error(r, PME_METRICS_UNAVAILABLE, NULL);
		return;
	}
	text = msg_get_bytes(m, &n);
	if (msg_end(m) == -1) {
		req_error(r, PME_INTERNAL, "malformed metrics");
		return;
	}
	req_respond(r, 200, "text/plain; version=0.0.4; charset=utf-8", NULL,
	    text, n);
}

static void
metrics_abort(struct request *r)
{
	parent_cancel((uint32_t)(uintptr_t)r->hctx);
}

static void
h_metrics(struct request *r)
{
	uint32_t	id;

	id = parent_call(MSG_METRICS_SCRAPE, NULL, metrics_answer, r, 3000);
	r->hctx = (void *)(uintptr_t)id;
	r->on_abort = metrics_abort;
}

/* --- /readyz: ask keyd whether it holds a usable secret ------------ */

struct readyz_ctx {
	struct request	*req;
	uint32_t	 call;
};

static void
readyz_abort(struct request *r)
{
	struct readyz_ctx	*ctx = r->hctx;

	keyd_cancel(ctx->call);
	free(ctx);
}

/*
 * The API port's reason: keyd's own words for the states before an
 * attestation has run, otherwise a fixed sentence.  An attestation's
 * error may carry an upstream's text, which is for the metrics listener
 * and the log only.
 */
static const char *
brief_reason(const char *detail)
{
	static const char *const own[] = {
		"keyd starting", "keyd unavailable", "attestation pending",
		"attestation in progress", "no API key yet"
	};
	static const char	 key[] = "\"reason\":\"";
	const char		*p;
	size_t			 i;

	if ((p = strstr(detail, key)) != NULL) {
		p += sizeof(key) - 1;
		for (i = 0; i < nitems(own); i++)
			if (strncmp(p, own[i], strlen(own[i])) == 0)
				return own[i];
	}
	return "not attested: the reason is on the metrics listener's /readyz "
	    "and in the log";
}

static void
readyz_answer(const struct msg_hdr *hdr, struct msgr *m, void *arg)
{
	struct readyz_ctx	*ctx = arg;
	struct request		*r = ctx->req;
	uint8_t			 ready = 0;
	char			*detail = NULL;

	if (hdr != NULL) {
		ready = msg_get_u8(m);
		detail = msg_get_str(m);
		if (msg_end(m) == -1 || detail == NULL) {
			free(detail);
			detail = NULL;
			ready = 0;
		}
	}
	r->hctx = NULL;
	r->on_abort = NULL;
	free(ctx);
	if (detail == NULL)
		detail = xstrdup("{\"ready\":false,\"reason\":\"keyd "
		    "unavailable\"}");
	if (!r->metrics_listener) {
		char	*brief;

		xasprintf(&brief, ready ? "{\"ready\":true}" :
		    "{\"ready\":false,\"reason\":\"%s\"}", brief_reason(detail));
		free(detail);
		detail = brief;
	}
	req_respond(r, ready ? 200 : 503, "application/json",
	    ready ? NULL : "Retry-After: 1\r\n", detail, strlen(detail));
	free(detail);
}

static void
h_readyz(struct request *r)
{
	struct readyz_ctx	*ctx;

	ctx = xcalloc(1, sizeof(*ctx));
	ctx->req = r;
	if (!keyd_alive()) {
		/* No keyd to ask: "keyd unavailable", in /readyz's shape. */
		readyz_answer(NULL, NULL, ctx);
		return;
	}
	r->hctx = ctx;
	r->on_abort = readyz_abort;
	ctx->call = keyd_call(MSG_STATUS_REQ, NULL, readyz_answer, ctx, 5000);
}

#ifdef TEST_HOOKS
/* ?call=NAME, the forbidden syscall (testhook.h); "socket" by default. */
static const char *
test_call(const struct request *r)
{
	if (r->query != NULL && strncmp(r->query, "call=", 5) == 0)
		return r->query + 5;
	return "socket";
}

/* Make keyd attempt a syscall outside its allow-list (tests only). */
static void
h_test_keyd_syscall(struct request *r)
{
	static const char	body[] = "{\"sent\":true}";
	struct buf		m;

	buf_init(&m, 32);
	msg_put_str(&m, test_call(r));
	keyd_send(MSG_TEST_SYSCALL, 0, &m);
	buf_free(&m);
	req_respond(r, 202, "application/json", NULL, body, sizeof(body) - 1);
}

/* The worker itself attempts one: the answer is never written. */
static void
h_test_worker_syscall(struct request *r)
{
	test_forbidden_syscall(test_call(r), NULL);
	req_error(r, PME_SANDBOX_MISSING, NULL);
}

/* ?kind=udp|unconnected|nofd|unasked: see upstream_test_bad_handover. */
static void
h_test_bad_handover(struct request *r)
{
	static const char	body[] = "{\"armed\":true}";
	const char		*kind = "";

	if (r->query != NULL && strncmp(r->query, "kind=", 5) == 0)
		kind = r->query + 5;
	if (upstream_test_bad_handover(kind) == -1) {
		req_error(r, PME_BAD_KIND, "unknown hand-over fault %s", kind);
		return;
	}
	req_respond(r, 202, "application/json", NULL, body, sizeof(body) - 1);
}

/* The size of the body received: exercises the body readers. */
static void
h_test_echo(struct request *r)
{
	char	body[64];
	int	n;

	n = snprintf(body, sizeof(body), "{\"bytes\":%zu}", r->body.len);
	req_respond(r, 200, "application/json", NULL, body, (size_t)n);
}

/* Answer after ?ms=N milliseconds: an in-flight request for drain tests. */
struct sleep_ctx {
	struct request	*req;
	struct event	*ev;
};

static void
sleep_done(evutil_socket_t fd, short ev, void *arg)
{
	struct sleep_ctx	*ctx = arg;
	struct request		*r = ctx->req;
	static const char	 body[] = "{\"slept\":true}";

	event_free(ctx->ev);
	free(ctx);
	r->hctx = NULL;
	r->on_abort = NULL;
	req_respond(r, 200, "application/json", NULL, body, sizeof(body) - 1);
}

static void
sleep_abort(struct request *r)
{
	struct sleep_ctx	*ctx = r->hctx;

	event_free(ctx->ev);
	free(ctx);
}

static void
h_test_sleep(struct request *r)
{
	struct sleep_ctx	*ctx;
	struct timeval		 tv;
	long			 ms = 1000;

	if (r->query != NULL && strncmp(r->query, "ms=", 3) == 0)
		ms = strtol(r->query + 3, NULL, 10);
	ctx = xcalloc(1, sizeof(*ctx));
	ctx->req = r;
	ctx->ev = evtimer_new(wenv->base, sleep_done, ctx);
	r->hctx = ctx;
	r->on_abort = sleep_abort;
	ms_to_tv(ms, &tv);
	evtimer_add(ctx->ev, &tv);
}

/* Advance keyd's clock by ?s=N seconds (secret expiry tests). */
static void
h_test_keyd_clock(struct request *r)
{
	static const char	body[] = "{\"sent\":true}";
	struct buf		m;
	long long		secs = 0;

	if (r->query != NULL && strncmp(r->query, "s=", 2) == 0)
		secs = strtoll(r->query + 2, NULL, 10);
	buf_init(&m, 16);
	msg_put_i64(&m, secs);
	keyd_send(MSG_TEST_CLOCK, 0, &m);
	buf_free(&m);
	req_respond(r, 202, "application/json", NULL, body, sizeof(body) - 1);
}

/* Counters the parent never asked for (it must refuse them). */
static void
h_test_metrics_ans(struct request *r)
{
	static const char	body[] = "{\"sent\":true}";
	struct buf		m;

	buf_init(&m, sizeof(metrics));
	msg_put_raw(&m, &metrics, sizeof(metrics));
	parent_send(MSG_METRICS_ANS, &m);
	buf_free(&m);
	req_respond(r, 202, "application/json", NULL, body, sizeof(body) - 1);
}
#endif
