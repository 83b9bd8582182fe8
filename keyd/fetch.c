/*
 * keyd's own HTTP requests: attestation and secret exchange with the API
 * endpoint, the CDN manifest and AMD KDS downloads, each to an origin of
 * the configuration, on a connection keyd owns (ktun.c).
 *
 * A connection whose response was complete and framed waits a few seconds
 * for the next request to the same origin: a re-attestation is an
 * exchange, a manifest, an attestation and another exchange in a row, and
 * every new connection costs a TCP and a TLS handshake.  A request that
 * finds its reused connection closed before any response byte is sent
 * once more on a new one (the server may close an idle connection just as
 * we write); all of keyd's requests can be repeated.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "buf.h"
#include "chan.h"
#include "conf.h"
#include "ipc.h"
#include "kd.h"
#include "log.h"
#include "resp.h"
#include "tunnel.h"
#include "util.h"

#define FETCH_BODY_MAX	(16 * 1024 * 1024)
#define FETCH_TIMEOUT_S	30
#define IDLE_SLOTS	4	/* API endpoint, CDN, KDS or Intel PCS, ... */
#define IDLE_KEEP_S	4	/* under Node's 5 s keep-alive default */

/* Where a connection goes: the origin, and the TLS policy for it. */
struct dest {
	enum net_origin	 which;
	struct origin	 o;
	int		 policy;
};

struct fetch {
	struct ktun	*kt;
	struct dest	 d;
	struct buf	 req;		/* kept for a resend; holds the key */
	int		 reused;	/* kt came from an idle slot */
	struct resp	 resp;
	struct buf	 body;
	struct event	*timer;
	fetch_cb	 cb;
	fetch_hdr_cb	 hcb;		/* instead of cb: with want's value */
	char		*want;		/* a response header to hand over */
	void		*arg;
	char		 what[160];	/* "GET host/path" for messages */
	char		 err[256];
};

static struct idle {
	struct ktun	*kt;		/* NULL: free slot */
	struct dest	 d;
	struct event	*timer;
	uint64_t	 since;		/* for evicting the oldest */
} idle[IDLE_SLOTS];

static uint64_t	idle_clock;

static int
same_dest(const struct dest *a, const struct dest *b)
{
	return a->which == b->which && a->policy == b->policy &&
	    a->o.tls == b->o.tls && a->o.port == b->o.port &&
	    strcmp(a->o.host, b->o.host) == 0;
}

static void
idle_clear(struct idle *s)
{
	evtimer_del(s->timer);
	s->kt = NULL;
}

static void
idle_expired(evutil_socket_t fd, short ev, void *arg)
{
	struct idle	*s = arg;
	struct ktun	*kt = s->kt;

	idle_clear(s);
	ktun_free(kt);
}

static struct idle *
idle_of(const struct ktun *kt)
{
	size_t	i;

	for (i = 0; i < IDLE_SLOTS; i++)
		if (idle[i].kt == kt)
			return &idle[i];
	return NULL;
}

static struct idle *
idle_for(const struct dest *d)
{
	size_t	i;

	for (i = 0; i < IDLE_SLOTS; i++)
		if (idle[i].kt != NULL && same_dest(&idle[i].d, d))
			return &idle[i];
	return NULL;
}

static void
park(struct ktun *kt, const struct dest *d)
{
	struct timeval	 tv = { IDLE_KEEP_S, 0 };
	struct idle	*s, *oldest = &idle[0];
	size_t		 i;

	if ((s = idle_for(d)) == NULL) {
		for (i = 0; i < IDLE_SLOTS && idle[i].kt != NULL; i++)
			if (idle[i].since < oldest->since)
				oldest = &idle[i];
		s = i < IDLE_SLOTS ? &idle[i] : oldest;
	}
	if (s->kt != NULL) {
		ktun_free(s->kt);
		idle_clear(s);
	}
	if (s->timer == NULL &&
	    (s->timer = evtimer_new(kenv->base, idle_expired, s)) == NULL)
		fatalx("%s: evtimer_new", __func__);
	kt->fx = NULL;
	s->kt = kt;
	s->d = *d;
	s->since = ++idle_clock;
	evtimer_add(s->timer, &tv);
}

/* The connection's response was complete and framed: keep it. */
static int
reusable(const struct fetch *fx)
{
	return fx->kt != NULL && fx->kt->fd != -1 && resp_done(&fx->resp) &&
	    fx->resp.keepalive && tun_ready(fx->kt->t);
}

static void
fetch_free(struct fetch *fx)
{
	if (fx->kt != NULL) {
		if (reusable(fx))
			park(fx->kt, &fx->d);
		else
			ktun_free(fx->kt);
	}
	event_free(fx->timer);
	free(fx->want);
	resp_free(&fx->resp);
	buf_free(&fx->body);
	buf_free(&fx->req);	/* wiped: a secret buffer */
	free(fx);
}

static void
fetch_complete(struct fetch *fx, int status, const char *err)
{
	fetch_cb	 cb = fx->cb;
	fetch_hdr_cb	 hcb = fx->hcb;
	void		*arg = fx->arg;
	struct buf	 body = fx->body;
	char		*hv = NULL;

	/* The wanted header, if the answer carries it exactly once. */
	if (hcb != NULL && status > 0 && http_head_count(&fx->resp.head,
	    fx->want) == 1)
		hv = xstrdup(http_head_get(&fx->resp.head, fx->want));
	/* The callback may start new fetches: detach first. */
	buf_init(&fx->body, 0);
	fetch_free(fx);
	if (hcb != NULL)
		hcb(status, body.p, body.len, hv, err, arg);
	else
		cb(status, body.p, body.len, err, arg);
	free(hv);
	buf_free(&body);
}

static void
fetch_fail(struct fetch *fx, const char *why)
{
	char	msg[512];

	snprintf(msg, sizeof(msg), "%s: %s", fx->what, why);
	fetch_complete(fx, -1, msg);
}

static void
fetch_timeout(evutil_socket_t fd, short ev, void *arg)
{
	fetch_fail(arg, "timed out");
}

/* A new connection for fx, its request queued behind the handshake. */
static int
connect_fresh(struct fetch *fx)
{
	char	err[256];

	/* keyd's own requests stay HTTP/1.1: one at a time per origin. */
	fx->kt = ktun_new(KT_FETCH, fx->d.which, fx->d.o.host, fx->d.o.tls,
	    fx->d.policy, 0);
	fx->kt->fx = fx;
	fx->reused = 0;
	return tun_write(fx->kt->t, fx->req.p, fx->req.len, err, sizeof(err));
}

/* The request on an idle connection to the same origin. */
static int
connect_reused(struct fetch *fx, struct idle *s)
{
	char	err[256];

	fx->kt = s->kt;
	fx->kt->fx = fx;
	fx->reused = 1;
	idle_clear(s);
	if (tun_write(fx->kt->t, fx->req.p, fx->req.len, err,
	    sizeof(err)) == -1)
		return -1;
	ktun_flush(fx->kt);
	return 0;
}

/*
 * The URL must be on the origin the worker will connect to: keyd names
 * the origin, the worker takes its address from its own configuration.
 */
static int
on_origin(const char *url, enum net_origin which, struct dest *d,
    char **path)
{
	struct origin	want;

	if (url_split(url, &d->o, path) == -1)
		return -1;
	if (origin_get(kenv->conf, which, &want) == -1 ||
	    want.tls != d->o.tls || want.port != d->o.port ||
	    strcmp(want.host, d->o.host) != 0) {
		free(*path);
		return -1;
	}
	d->which = which;
	return 0;
}

static int
fetch_begin(const char *method, enum net_origin which, const char *url,
    int api_tls_policy, const char *const *hdrs, const void *body, size_t len,
    fetch_cb cb, fetch_hdr_cb hcb, const char *want, void *arg)
{
	struct fetch	*fx;
	struct idle	*s;
	struct timeval	 tv = { FETCH_TIMEOUT_S, 0 };
	char		*path;
	int		 i, rv;

	fx = xcalloc(1, sizeof(*fx));
	if (on_origin(url, which, &fx->d, &path) == -1) {
		log_warnx("bad URL %s for the %s origin", url,
		    origin_name(which));
		free(fx);
		return -1;
	}
	fx->d.policy = api_tls_policy;
	fx->cb = cb;
	fx->hcb = hcb;
	fx->want = want != NULL ? xstrdup(want) : NULL;
	fx->arg = arg;
	/* For messages only: cut, and marked so, when long. */
	if ((size_t)snprintf(fx->what, sizeof(fx->what), "%s %.*s%s", method,
	    (int)sizeof(fx->what), fx->d.o.host, path) >= sizeof(fx->what))
		fx->what[sizeof(fx->what) - 2] = '.';
	resp_init(&fx->resp, 0);
	buf_init(&fx->body, 0);
	fx->timer = evtimer_new(kenv->base, fetch_timeout, fx);
	evtimer_add(fx->timer, &tv);

	/* The request carries the API key in clear: a wiped buffer. */
	buf_init_secret(&fx->req, len + 512);
	buf_addf(&fx->req, "%s %s HTTP/1.1\r\nHost: %s", method, path,
	    fx->d.o.host);
	if (fx->d.o.port != (fx->d.o.tls ? 443 : 80))
		buf_addf(&fx->req, ":%u", fx->d.o.port);
	buf_addf(&fx->req, "\r\nUser-Agent: privatemoded/%s\r\n",
	    PACKAGE_VERSION);
	for (i = 0; hdrs != NULL && hdrs[i] != NULL; i++)
		buf_addf(&fx->req, "%s\r\n", hdrs[i]);
	if (body != NULL || strcmp(method, "POST") == 0)
		buf_addf(&fx->req, "Content-Length: %zu\r\n", len);
	buf_adds(&fx->req, "\r\n");
	buf_add(&fx->req, body, len);
	free(path);

	if ((s = idle_for(&fx->d)) != NULL)
		rv = connect_reused(fx, s);
	else
		rv = connect_fresh(fx);
	if (rv == -1) {
		fetch_free(fx);
		return -1;
	}
	return 0;
}

int
fetch_start(const char *method, enum net_origin which, const char *url,
    int api_tls_policy, const char *const *hdrs, const void *body, size_t len,
    fetch_cb cb, void *arg)
{
	return fetch_begin(method, which, url, api_tls_policy, hdrs, body, len,
	    cb, NULL, NULL, arg);
}

/* A GET whose callback also gets one response header's value (or NULL). */
int
fetch_get_hdr(enum net_origin which, const char *url, const char *header,
    fetch_hdr_cb hcb, void *arg)
{
	return fetch_begin("GET", which, url, 0, NULL, NULL, 0, NULL, hcb,
	    header, arg);
}

/*
 * A reused connection that ends before the first response byte was most
 * likely closed by the server while idle: once more on a new one.
 */
static int
resend(struct fetch *fx)
{
	if (!fx->reused || fx->resp.received > 0)
		return 0;
	log_debug("%s: idle connection closed, sending again", fx->what);
	fx->kt->fx = NULL;
	ktun_free(fx->kt);
	fx->kt = NULL;
	resp_free(&fx->resp);
	resp_init(&fx->resp, 0);
	return connect_fresh(fx) == 0;
}

void
fetch_connected(struct ktun *kt, enum dp_fd_fail fail, const char *err)
{
	struct fetch	*fx = kt->fx;

	if (fx == NULL) {
		ktun_free(kt);
		return;
	}
	if (fail != DPF_OK) {
		fetch_fail(fx, err);
		return;
	}
	ktun_flush(kt);
}

static int
fx_head(void *arg)
{
	return 0;
}

static int
fx_body(void *arg, const uint8_t *p, size_t n)
{
	struct fetch	*fx = arg;

	if (fx->body.len + n > FETCH_BODY_MAX) {
		snprintf(fx->err, sizeof(fx->err), "response body too large");
		return -1;
	}
	buf_add(&fx->body, p, n);
	return 0;
}

static int
fx_done(void *arg)
{
	return 0;
}

static const struct resp_cb fx_cb = { fx_head, fx_body, fx_done };

/*
 * Bytes on an idle connection: TLS housekeeping (a late session ticket)
 * is fine, anything else means the connection is not ours to reuse.
 */
static void
idle_input(struct ktun *kt, const uint8_t *p, size_t n)
{
	struct idle	*s = idle_of(kt);
	struct buf	 plain;
	char		 err[256];
	int		 rv;

	buf_init(&plain, n + 64);
	rv = tun_input(kt->t, p, n, &plain, err, sizeof(err));
	if (rv == -1 || plain.len > 0) {
		if (s != NULL)
			idle_clear(s);
		ktun_free(kt);
	} else
		ktun_flush(kt);
	buf_free(&plain);
}

void
fetch_input(struct ktun *kt, const uint8_t *p, size_t n)
{
	struct fetch	*fx = kt->fx;
	struct buf	 plain;
	char		 err[256];

	if (fx == NULL) {
		idle_input(kt, p, n);
		return;
	}
	buf_init(&plain, n + 64);
	if (tun_input(kt->t, p, n, &plain, err, sizeof(err)) == -1) {
		buf_free(&plain);
		fetch_fail(fx, err);
		return;
	}
	if (resp_feed(&fx->resp, plain.p, plain.len, &fx_cb, fx, fx->err,
	    sizeof(fx->err)) == -1) {
		buf_free(&plain);
		fetch_fail(fx, fx->err);
		return;
	}
	buf_free(&plain);
	if (resp_done(&fx->resp)) {
		fetch_complete(fx, fx->resp.head.status, NULL);
		return;
	}
	/* Handshake replies and the like. */
	ktun_flush(kt);
}

void
fetch_eof(struct ktun *kt, int err, const char *why)
{
	struct fetch	*fx = kt->fx;
	struct idle	*s;

	if (fx == NULL) {
		/* An idle connection closed by the server: forget it. */
		if ((s = idle_of(kt)) != NULL)
			idle_clear(s);
		ktun_free(kt);
		return;
	}
	fx->resp.keepalive = 0;		/* whatever it said, it is closed */
	if (resp_eof(&fx->resp, &fx_cb, fx) == 0 && resp_done(&fx->resp)) {
		fetch_complete(fx, fx->resp.head.status, NULL);
		return;
	}
	if (resend(fx))
		return;
	fetch_fail(fx, why);
}
