/*
 * keyd's own HTTP requests: attestation and secret exchange with the API
 * endpoint, the CDN manifest and AMD KDS downloads.  keyd asks its worker
 * to open the socket (MSG_NET_OPEN) and keeps the TLS session; one
 * request per connection, Connection: close.
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

struct fetch {
	struct ktun	*kt;
	struct resp	 resp;
	struct buf	 body;
	struct event	*timer;
	fetch_cb	 cb;
	void		*arg;
	char		 what[160];	/* "GET host/path" for messages */
	char		 err[256];
};

static uint32_t	next_id;

/* scheme://host[:port]/path into parts. */
static int
parse_url(const char *url, int *tls, char **host, uint16_t *port,
    char **path)
{
	const char	*p, *slash;
	char		*hp, *h, *ps;

	if (strncmp(url, "https://", 8) == 0) {
		*tls = 1;
		p = url + 8;
	} else if (strncmp(url, "http://", 7) == 0) {
		*tls = 0;
		p = url + 7;
	} else
		return -1;
	slash = strchr(p, '/');
	hp = slash != NULL ? xstrndup(p, slash - p) : xstrdup(p);
	*path = xstrdup(slash != NULL ? slash : "/");
	if (split_hostport(hp, &h, &ps, *tls ? "443" : "80") == -1 ||
	    *h == '\0' || atoi(ps) <= 0 || atoi(ps) > 65535) {
		free(hp);
		free(*path);
		return -1;
	}
	*host = h;
	*port = (uint16_t)atoi(ps);
	free(ps);
	free(hp);
	return 0;
}

static void
fetch_free(struct fetch *fx)
{
	struct upio	io;

	if (fx->kt != NULL) {
		/* Close the socket on the worker's side, then forget it. */
		upio_init(&io);
		io.flags = UPF_CLOSE;
		ktun_flush(fx->kt, &io);
		upio_free(&io);
		ktun_free(fx->kt);
	}
	event_free(fx->timer);
	resp_free(&fx->resp);
	buf_free(&fx->body);
	free(fx);
}

static void
fetch_complete(struct fetch *fx, int status, const char *err)
{
	fetch_cb	 cb = fx->cb;
	void		*arg = fx->arg;
	struct buf	 body = fx->body;

	/* The callback may start new fetches: detach first. */
	buf_init(&fx->body, 0);
	fetch_free(fx);
	cb(status, body.p, body.len, err, arg);
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

int
fetch_start(const char *method, const char *url, int api_tls_policy,
    const char *const *hdrs, const void *body, size_t len, fetch_cb cb,
    void *arg)
{
	struct fetch	*fx;
	struct buf	 req;
	struct buf	 m;
	struct timeval	 tv = { FETCH_TIMEOUT_S, 0 };
	char		*host, *path, err[256];
	uint16_t	 port;
	int		 tls, i;

	if (parse_url(url, &tls, &host, &port, &path) == -1) {
		log_warnx("bad URL %s", url);
		return -1;
	}
	fx = xcalloc(1, sizeof(*fx));
	fx->cb = cb;
	fx->arg = arg;
	snprintf(fx->what, sizeof(fx->what), "%s %s%s", method, host, path);
	if ((fx->what[sizeof(fx->what) - 2] != '\0'))
		fx->what[sizeof(fx->what) - 2] = '.';
	resp_init(&fx->resp, 0);
	buf_init(&fx->body, 0);
	next_id = (next_id + 1) & ~UP_KEYD_ID;
	fx->kt = ktun_new(UP_KEYD_ID | next_id, KT_FETCH, host, tls,
	    api_tls_policy);
	fx->kt->fx = fx;
	fx->timer = evtimer_new(kenv->base, fetch_timeout, fx);
	evtimer_add(fx->timer, &tv);

	buf_init(&req, len + 512);
	buf_addf(&req, "%s %s HTTP/1.1\r\nHost: %s", method, path, host);
	if (port != (tls ? 443 : 80))
		buf_addf(&req, ":%u", port);
	buf_addf(&req, "\r\nUser-Agent: privatemoded/%s\r\nConnection: close"
	    "\r\n", PACKAGE_VERSION);
	for (i = 0; hdrs != NULL && hdrs[i] != NULL; i++)
		buf_addf(&req, "%s\r\n", hdrs[i]);
	if (body != NULL || strcmp(method, "POST") == 0)
		buf_addf(&req, "Content-Length: %zu\r\n", len);
	buf_adds(&req, "\r\n");
	buf_add(&req, body, len);
	if (tun_write(fx->kt->t, req.p, req.len, err, sizeof(err)) == -1) {
		explicit_bzero(req.p, req.len);
		buf_free(&req);
		free(host);
		free(path);
		fetch_free(fx);
		return -1;
	}
	/* The request carries the API key in clear. */
	explicit_bzero(req.p, req.len);
	buf_free(&req);

	buf_init(&m, 64);
	msg_put_u32(&m, fx->kt->id);
	msg_put_str(&m, host);
	msg_put_u16(&m, port);
	chan_send(kenv->worker, MSG_NET_OPEN, 0, &m);
	buf_free(&m);
	free(host);
	free(path);
	return 0;
}

void
fetch_net_status(struct ktun *kt, const char *err)
{
	struct fetch	*fx = kt->fx;
	struct upio	 io;
	char		 e[256];

	if (err[0] != '\0') {
		fetch_fail(fx, err);
		return;
	}
	if (tun_start(kt->t, e, sizeof(e)) == -1) {
		fetch_fail(fx, e);
		return;
	}
	upio_init(&io);
	ktun_flush(kt, &io);
	upio_free(&io);
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

void
fetch_input(struct ktun *kt, const uint8_t *p, size_t n)
{
	struct fetch	*fx = kt->fx;
	struct buf	 plain;
	struct upio	 io;
	char		 err[256];

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
	upio_init(&io);
	ktun_flush(kt, &io);
	upio_free(&io);
}

void
fetch_eof(struct ktun *kt, const char *why)
{
	struct fetch	*fx = kt->fx;

	if (resp_eof(&fx->resp, &fx_cb, fx) == 0 && resp_done(&fx->resp)) {
		fetch_complete(fx, fx->resp.head.status, NULL);
		return;
	}
	/* The worker has closed the socket already. */
	fx->kt->fx = NULL;
	ktun_free(fx->kt);
	fx->kt = NULL;
	fetch_fail(fx, why);
}
