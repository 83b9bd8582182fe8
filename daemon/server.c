/*
 * The worker's HTTP/1.1 server: connections, heads, bodies, limits,
 * timeouts, keep-alive and responses.
 *
 * A plain connection is driven by the socket I/O core (common/sockio.h),
 * as channels are.  A TLS connection, once its handshake (tls.c) is done,
 * is libevent's OpenSSL bufferevent, for now and on purpose: measured on
 * one kept-alive connection (20 chat requests against tests/sim, strace
 * -c -f of worker and keyd) it costs about 20 system calls per request
 * against 16 plain, the difference being EV_WRITE registered and dropped
 * around each response (2 epoll_ctl), a write(2) per piece of the output
 * instead of one writev, and OpenSSL reading a record's header and body
 * with two read(2)s.  Taking it through the core needs
 * a server-side memory-BIO engine (keyd/tunnel.c is a client's, with its
 * contexts and resumption, and keyd-only) plus close_notify, dirty
 * shutdown and half-close handling re-done and re-tested; TLS on the
 * listener is optional and off by default, so that is a follow-up, not
 * part of the core.  Both kinds share every buffer-level function here
 * through conn_input() and conn_output().
 */

#include "config.h"

#include <sys/queue.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/ssl.h>
#include <sodium.h>

#include "access.h"
#include "apierr.h"
#include "conf.h"
#include "dump.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "server.h"
#include "sockio.h"
#include "tls.h"
#include "util.h"
#include "worker.h"

#define HIGH_WATER	(256 * 1024)	/* client output: pause producers */
#define LOW_WATER	(64 * 1024)	/* resume producers below this */
#define PIPELINE_MAX	(64 * 1024)	/* buffered input while handling */
#define REJECT_MAX	64		/* concurrent 429 answers in flight */
#define BODY_PREALLOC	(64 * 1024)	/* body bytes allocated before they arrive */
#define ADDR_BUCKETS	256		/* per-address connection counts */

enum conn_state {
	CS_HANDSHAKE,	/* TLS handshake (daemon/tls.c), no bufferevent yet */
	CS_HEAD,	/* waiting for / reading a request head */
	CS_BODY,	/* reading the body */
	CS_HANDLE,	/* handler owns the request */
	CS_CLOSING,	/* flushing the last response, then close */
	CS_LINGER	/* response sent, discarding input until EOF */
};

#define LINGER_MS	2000		/* lingering close: max wait */
#define DRAIN_IDLE_GRACE_MS 1000	/* idle connections when draining */
#define LINGER_BYTES	(1024 * 1024)	/* ... and max bytes discarded */

/*
 * Open connections per client address (max_connections_per_address): an
 * IPv4 address, or the /64 prefix of an IPv6 one (what one subscriber
 * gets), as 16 bytes.
 */
struct addrslot {
	struct addrslot		*next;
	uint8_t			 key[16];
	unsigned int		 count;
};

struct conn {
	TAILQ_ENTRY(conn)	 entry;
	struct server		*srv;
	struct addrslot		*slot;		/* counted here, or NULL */
	struct bufferevent	*bev;		/* TLS, once handshaken */
	struct sockio		*io;		/* plain sockets */
	struct tlshs		*hs;		/* CS_HANDSHAKE */
	struct event		*timer;
	enum conn_state		 state;
	struct request		*req;
	char			 peer[64];
	uint8_t			 akey[16];	/* addr_key() of the peer */
	int			 akey_ok;
	size_t			 scanned;	/* head search resume offset */
	int			 keepalive;
	int			 rejecting;	/* a 429 connection */
	int			 reject_addr;	/* ... per address, not in total */
	int			 got_bytes;	/* any byte of the current head */
	int			 unread;	/* request bytes may be left unread */
	int			 tls;
	int			 metrics_listener;
	size_t			 lingered;
	/* body framing */
	int			 chunked;
	uint64_t		 body_left;	/* Content-Length remaining */
	uint64_t		 body_deadline;	/* now_ms() the body must be in by */
	struct http_chunked	 ch;
};

struct listener {
	struct evconnlistener	*l;
	struct event		*retry;
	struct server		*srv;
	int			 metrics;	/* serves /metrics only */
};

struct server {
	struct event_base	*base;
	const struct config	*conf;
	struct listener		*ls;
	int			 nls;
	TAILQ_HEAD(, conn)	 conns;
	int			 nconns;
	int			 nreject;
	int			 draining;
	server_head_fn		 on_head;
	server_request_fn	 on_request;
	server_idle_fn		 on_idle;
	void			*idle_arg;
	struct event		*idle_ev;
	SSL_CTX			*tls;
	/* Request body bytes held or announced, all connections together. */
	uint64_t		 body_bytes;
	struct addrslot		*addrs[ADDR_BUCKETS];
	uint8_t			 addr_hkey[crypto_shorthash_KEYBYTES];
};

static void	conn_close(struct conn *);
static void	conn_handshaken(struct ssl_st *, int, void *);
static void	conn_finish(struct conn *);
static void	conn_read(struct bufferevent *, void *);
static void	conn_input_ready(struct conn *);
static void	conn_next(struct conn *);
static void	request_free(struct request *);

/* --- timers ------------------------------------------------------- */

static void
conn_timeout(evutil_socket_t fd, short ev, void *arg)
{
	struct conn	*c = arg;

	switch (c->state) {
	case CS_HANDSHAKE:
		log_debug("%s: TLS handshake timeout", c->peer);
		/* FALLTHROUGH */
	case CS_LINGER:
	case CS_CLOSING:
		conn_close(c);
		return;
	case CS_HEAD:
		if (!c->got_bytes) {
			/* An idle keep-alive connection: just close it. */
			conn_close(c);
			return;
		}
		log_debug("%s: client header timeout", c->peer);
		break;
	case CS_BODY:
		log_debug("%s: client body timeout", c->peer);
		break;
	default:
		return;
	}
	if (c->req == NULL || c->req->started)
		conn_close(c);
	else if (c->state == CS_BODY && now_ms() >= c->body_deadline) {
		metrics.limit_refusals[ML_BODY_DEADLINE]++;
		req_error(c->req, PME_REQUEST_TIMEOUT, "the request body did "
		    "not arrive within client_body_deadline (%lld ms)",
		    (long long)c->srv->conf->client_body_deadline);
	} else
		req_error(c->req, PME_REQUEST_TIMEOUT, "timed out reading the "
		    "request %s", c->state == CS_HEAD ? "header" : "body");
}

static void
timer_arm(struct conn *c, int64_t ms)
{
	struct timeval	tv;

	if (ms <= 0) {
		evtimer_del(c->timer);
		return;
	}
	ms_to_tv(ms, &tv);
	evtimer_add(c->timer, &tv);
}

/*
 * While a body is read: client_body_timeout from the last read, but never
 * past client_body_deadline from the end of the head.  The deadline is not
 * moved by reads, so a client sending a byte now and then cannot hold a
 * connection (and its share of max_body_buffer) for longer than that.
 */
static void
body_timer_arm(struct conn *c)
{
	uint64_t	now = now_ms();
	int64_t		ms = c->srv->conf->client_body_timeout;

	if (c->body_deadline <= now)
		ms = 1;
	else if (ms <= 0 || (uint64_t)ms > c->body_deadline - now)
		ms = (int64_t)(c->body_deadline - now);
	timer_arm(c, ms);
}

/* --- connections ------------------------------------------------- */

static void
peer_string(const struct sockaddr *sa, char *buf, size_t len)
{
	const struct sockaddr_in6	*s6;

	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
		    buf, len);
	else if (sa->sa_family == AF_INET6) {
		s6 = (const struct sockaddr_in6 *)sa;
		/* Report v4-mapped clients as plain IPv4, like Go does. */
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
			inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], buf, len);
		else
			inet_ntop(AF_INET6, &s6->sin6_addr, buf, len);
	} else
		strlcpy(buf, "unknown", len);
}

/* The counting key of a client address; -1 if it is not IP. */
static int
addr_key(const struct sockaddr *sa, uint8_t key[16])
{
	const struct sockaddr_in6	*s6;

	memset(key, 0, 16);
	if (sa->sa_family == AF_INET) {
		/* As a v4-mapped address: one key whichever socket it came on. */
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family != AF_INET6)
		return -1;
	s6 = (const struct sockaddr_in6 *)sa;
	if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
		memcpy(key, &s6->sin6_addr, 16);
	else
		memcpy(key, &s6->sin6_addr, 8);	/* the /64 */
	return 0;
}

/* The count for key, created at 0 if absent. */
static struct addrslot *
addr_slot(struct server *s, const uint8_t key[16])
{
	struct addrslot	*a;
	uint8_t		 h[crypto_shorthash_BYTES];
	size_t		 b;

	/* Keyed: clients cannot pick addresses that share one bucket. */
	crypto_shorthash(h, key, 16, s->addr_hkey);
	b = h[0] % ADDR_BUCKETS;
	for (a = s->addrs[b]; a != NULL; a = a->next)
		if (memcmp(a->key, key, 16) == 0)
			return a;
	a = xcalloc(1, sizeof(*a));
	memcpy(a->key, key, 16);
	a->next = s->addrs[b];
	s->addrs[b] = a;
	return a;
}

/* Drop a slot whose count is back to 0. */
static void
addr_release(struct server *s, struct addrslot *a)
{
	struct addrslot	**pp;
	uint8_t		  h[crypto_shorthash_BYTES];

	if (a->count > 0)
		return;
	crypto_shorthash(h, a->key, 16, s->addr_hkey);
	for (pp = &s->addrs[h[0] % ADDR_BUCKETS]; *pp != NULL;
	    pp = &(*pp)->next)
		if (*pp == a) {
			*pp = a->next;
			free(a);
			return;
		}
	fatalx("%s: slot not found", __func__);
}

static void
server_check_idle(struct server *s)
{
	if (s->draining && s->nconns == 0 && s->nreject == 0 &&
	    s->on_idle != NULL)
		event_active(s->idle_ev, 0, 0);
}

static void
conn_close(struct conn *c)
{
	struct server	*s = c->srv;

	if (c->req != NULL) {
		struct request	*r = c->req;

		c->req = NULL;
		r->conn = NULL;
		if (!r->done && r->on_abort != NULL)
			r->on_abort(r);	/* handler lets go of r */
		else if (!r->done && r->hctx != NULL)
			log_warnx("request %s: closed with handler state", r->id);
		request_free(r);
	}
	if (c->rejecting)
		s->nreject--;
	else {
		TAILQ_REMOVE(&s->conns, c, entry);
		s->nconns--;
	}
	if (c->slot != NULL) {
		c->slot->count--;
		addr_release(s, c->slot);
	}
	event_free(c->timer);
	if (c->hs != NULL)
		tlshs_abandon(c->hs);
	sockio_free(c->io);
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	free(c);
	server_check_idle(s);
}

/* The connection's buffers: the I/O core's, or under TLS libevent's. */
static struct evbuffer *
conn_input(struct conn *c)
{
	return c->io != NULL ? sockio_input(c->io) :
	    bufferevent_get_input(c->bev);
}

static struct evbuffer *
conn_output(struct conn *c)
{
	return c->io != NULL ? sockio_output(c->io) :
	    bufferevent_get_output(c->bev);
}

/* Reading on or off. */
static void
conn_reading(struct conn *c, int on)
{
	if (c->io != NULL)
		sockio_read(c->io, on);
	else if (on)
		bufferevent_enable(c->bev, EV_READ);
	else
		bufferevent_disable(c->bev, EV_READ);
}

/* Stop reading while the input holds high bytes (0: no limit). */
static void
conn_read_limit(struct conn *c, size_t high)
{
	if (c->io != NULL)
		sockio_read_limit(c->io, high);
	else
		bufferevent_setwatermark(c->bev, EV_READ, 0, high);
}

/*
 * The last response is out.  If the client may still be sending (we
 * answered before reading its whole request), closing now would reset
 * the connection and could destroy the response in flight; so half-close
 * and discard what arrives, for a bounded time, as nginx does.
 */
static void
conn_finish(struct conn *c)
{
	/* Under TLS a raw half-close would cut the session: just close. */
	if (!c->unread || c->tls) {
		conn_close(c);
		return;
	}
	c->state = CS_LINGER;
	shutdown(sockio_fd(c->io), SHUT_WR);
	conn_read_limit(c, 0);
	conn_reading(c, 1);
	timer_arm(c, LINGER_MS);
}

static void
conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn	*c = arg;

	/* A TLS connection reports its finished handshake as an event. */
	if (what == BEV_EVENT_CONNECTED)
		return;
	if (what & BEV_EVENT_TIMEOUT)
		log_debug("%s: client stopped reading", c->peer);
	conn_close(c);
}

/* EOF or an error on a plain socket. */
static void
conn_io_event(struct sockio *io, int what, void *arg)
{
	conn_close(arg);
}

/* The output is at or below LOW_WATER. */
static void
conn_drained(struct conn *c)
{
	struct request	*r = c->req;

	if (c->state == CS_CLOSING) {
		if (evbuffer_get_length(conn_output(c)) == 0)
			conn_finish(c);
		return;
	}
	/* Below the low-water mark again: let a paused producer go on. */
	if (r != NULL && r->streaming && r->on_writable != NULL)
		r->on_writable(r);
}

static void
conn_written(struct bufferevent *bev, void *arg)
{
	conn_drained(arg);
}

static void
conn_io_written(struct sockio *io, void *arg)
{
	conn_drained(arg);
}

static void
conn_io_read(struct sockio *io, void *arg)
{
	conn_input_ready(arg);
}

static const struct sockio_cbs conn_io = {
	.read = conn_io_read,
	.written = conn_io_written,
	.event = conn_io_event,
};

/*
 * A connection over a limit gets 429 before its request is read: no
 * route is known yet, so the body is OpenAI's shape, which the Anthropic
 * SDK also retries on.
 */
static void
write_canned_429(struct conn *c, int per_address)
{
	enum pmerr_code	code;
	struct buf	body;

	code = per_address ? PME_TOO_MANY_CONNECTIONS_ADDR :
	    PME_TOO_MANY_CONNECTIONS;
	buf_init(&body, 160);
	apierr_render(&body, RD_OPENAI, AEF_JSON, code, NULL);
	evbuffer_add_printf(conn_output(c),
	    "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nRetry-After: 1\r\n"
	    "Connection: close\r\nContent-Length: %zu\r\n\r\n%s",
	    pmerr_status(code), http_reason(pmerr_status(code)),
	    apierr_ctype(AEF_JSON), body.len, buf_cstr(&body));
	buf_free(&body);
	c->state = CS_CLOSING;
	c->unread = 1;
}

static void
server_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct listener	*ls = arg;
	struct server	*s = ls->srv;
	struct conn	*c;
	struct addrslot	*slot = NULL;
	uint8_t		 key[16];
	int		 one = 1, over_total, over_addr = 0;

	if (s->draining) {
		close(fd);
		return;
	}
	/* The metrics listener is for monitoring: no per-address count. */
	if (!ls->metrics && s->conf->max_connections_per_address > 0 &&
	    addr_key(sa, key) == 0) {
		slot = addr_slot(s, key);
		over_addr = slot->count >=
		    (unsigned long long)s->conf->max_connections_per_address;
	}
	over_total = s->nconns >= s->conf->max_connections;
	if ((over_total || over_addr) && s->nreject >= REJECT_MAX) {
		if (slot != NULL)
			addr_release(s, slot);
		metrics.limit_refusals[over_total ? ML_CONNECTIONS :
		    ML_PER_ADDRESS]++;
		close(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c = xcalloc(1, sizeof(*c));
	c->srv = s;
	c->metrics_listener = ls->metrics;
	peer_string(sa, c->peer, sizeof(c->peer));
	c->akey_ok = addr_key(sa, c->akey) == 0;
	/*
	 * TLS: the handshake first (it may wait for keyd's signature), the
	 * bufferevent once it is done.
	 */
	c->tls = s->tls != NULL && !ls->metrics;
	if (c->tls)
		c->hs = tlshs_start(s->base, s->tls, fd, conn_handshaken, c);
	else {
		c->io = sockio_new(s->base, fd, &conn_io, c);
		sockio_write_low(c->io, LOW_WATER);
	}
	if (c->io == NULL && c->hs == NULL) {
		if (slot != NULL)
			addr_release(s, slot);
		close(fd);
		free(c);
		return;
	}
	c->timer = evtimer_new(s->base, conn_timeout, c);
	if (over_total || over_addr) {
		if (over_addr && !over_total)
			log_debug("%s: over max_connections_per_address (%lld)",
			    c->peer, s->conf->max_connections_per_address);
		if (slot != NULL)
			addr_release(s, slot);
		metrics.limit_refusals[over_total ? ML_CONNECTIONS :
		    ML_PER_ADDRESS]++;
		c->rejecting = 1;
		c->reject_addr = !over_total;
		s->nreject++;
		timer_arm(c, 5000);
		/* Under TLS the answer waits for the handshake. */
		if (c->tls) {
			c->state = CS_HANDSHAKE;
			return;
		}
		write_canned_429(c, c->reject_addr);
		return;
	}
	if (slot != NULL) {
		slot->count++;
		c->slot = slot;
	}
	TAILQ_INSERT_TAIL(&s->conns, c, entry);
	s->nconns++;
	if (c->tls)
		c->state = CS_HANDSHAKE;
	else {
		c->state = CS_HEAD;
		sockio_read(c->io, 1);
	}
	timer_arm(c, s->conf->keepalive_timeout);
}

/* The TLS handshake is over: records from here on in libevent's hands. */
static void
conn_handshaken(struct ssl_st *ssl, int fd, void *arg)
{
	struct conn	*c = arg;

	c->hs = NULL;
	if (ssl == NULL) {
		conn_close(c);
		return;
	}
	c->bev = bufferevent_openssl_socket_new(c->srv->base, fd, ssl,
	    BUFFEREVENT_SSL_OPEN, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		SSL_free(ssl);
		close(fd);
		conn_close(c);
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	bufferevent_setcb(c->bev, conn_read, conn_written, conn_event, c);
	bufferevent_setwatermark(c->bev, EV_WRITE, LOW_WATER, 0);
	if (c->rejecting) {
		write_canned_429(c, c->reject_addr);
		bufferevent_enable(c->bev, EV_WRITE);
		return;
	}
	c->state = CS_HEAD;
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	timer_arm(c, c->srv->conf->keepalive_timeout);
}

static void
listener_retry(evutil_socket_t fd, short ev, void *arg)
{
	struct listener	*l = arg;

	evconnlistener_enable(l->l);
}

static void
listener_error(struct evconnlistener *el, void *arg)
{
	struct listener	*ls = arg;
	struct timeval	 tv = { 1, 0 };
	int		 err = EVUTIL_SOCKET_ERROR();

	/* Out of descriptors: pause accepting for a second (relayd does). */
	log_warnx("accept: %s", evutil_socket_error_to_string(err));
	evconnlistener_disable(el);
	evtimer_add(ls->retry, &tv);
}

/* --- requests ----------------------------------------------------- */

static struct request *
request_new(struct conn *c)
{
	struct request	*r;

	r = xcalloc(1, sizeof(*r));
	r->conn = c;
	r->srv = c->srv;
	strlcpy(r->peer, c->peer, sizeof(r->peer));
	memcpy(r->akey, c->akey, sizeof(r->akey));
	r->akey_ok = c->akey_ok;
	r->start_us = now_us();
	r->metrics_listener = c->metrics_listener;
	if (c->srv->conf->dump_requests && !c->metrics_listener) {
		r->dump = xcalloc(1, sizeof(*r->dump));
		buf_init(r->dump, 1024);
	}
	buf_init(&r->body, 0);
	return r;
}

static void
request_free(struct request *r)
{
	access_release(r);
	r->srv->body_bytes -= r->body_charged;
	metrics.body_buffer_bytes = r->srv->body_bytes;
	if (r->dump != NULL) {
		buf_free(r->dump);
		free(r->dump);
	}
	http_head_free(&r->head);
	free(r->path);
	free(r->query);
	buf_free(&r->body);
	free(r);
}

const char *
req_header(const struct request *r, const char *name)
{
	return http_head_get(&r->head, name);
}

static void
write_head(struct request *r, int status, const char *ctype,
    const char *extra, int64_t clen)
{
	struct conn	*c = r->conn;
	struct evbuffer	*out = conn_output(c);

	r->status = status;
	r->started = 1;
	r->first_us = now_us();
	if (r->dump != NULL)
		dump_head(r, status, ctype, extra);
	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n", status,
	    http_reason(status));
	if (ctype != NULL)
		evbuffer_add_printf(out, "Content-Type: %s\r\n", ctype);
	/* Anthropic's SDKs read the request id from their own header. */
	if (r->id[0] != '\0')
		evbuffer_add_printf(out, "x-request-id: %s\r\n", r->id);
	if (r->id[0] != '\0' && r->dialect == RD_ANTHROPIC)
		evbuffer_add_printf(out, "request-id: %s\r\n", r->id);
	if (r->conn_close)
		c->keepalive = 0;
	/*
	 * Answered before the whole request was read (413, 408, a refusal
	 * from the head alone): request_done() will close, so say so.
	 */
	if (c->state == CS_HEAD || c->state == CS_BODY)
		c->keepalive = 0;
	if (extra != NULL)
		evbuffer_add(out, extra, strlen(extra));
	if (clen >= 0)
		evbuffer_add_printf(out, "Content-Length: %lld\r\n",
		    (long long)clen);
	else if (r->head.minor >= 1)
		evbuffer_add(out, "Transfer-Encoding: chunked\r\n", 28);
	else
		c->keepalive = 0;	/* HTTP/1.0: close delimits the body */
	if (!c->keepalive || c->srv->draining)
		evbuffer_add(out, "Connection: close\r\n", 19);
	evbuffer_add(out, "\r\n", 2);
}

/* Counters and the access log line: no body, no prompt text. */
static void
request_account(struct request *r)
{
	uint64_t	now = now_us();
	char		who[CLIENT_NAME_MAX + USAGE_NAME_MAX + 96] = "";

	if (r->dump != NULL && r->head.method != NULL)
		dump_send(r);
	access_account(r);
	if (r->client[0] != '\0')
		snprintf(who, sizeof(who), " client=%s", r->client);
	if (r->model[0] != '\0')
		snprintf(who + strlen(who), sizeof(who) - strlen(who),
		    " model=%s prompt_tokens=%llu completion_tokens=%llu",
		    r->model, (unsigned long long)r->usage.prompt,
		    (unsigned long long)r->usage.completion);
	metrics_request(r->mroute, r->status);
	metrics.bytes_in += r->body.len;
	metrics.bytes_out += r->bytes_out;
	if (r->proxied) {
		metrics_observe(&metrics.upstream[r->mroute], now - r->start_us,
		    0);
		metrics_observe(&metrics.ttft[r->mroute], r->first_us -
		    r->start_us, 0);
	}
	if (r->mroute == MR_HEALTH || r->mroute == MR_METRICS)
		log_debug("%s \"%s %s\" %d %llu %.1fms id=%s%s", r->peer,
		    r->head.method, r->path != NULL ? r->path : "-", r->status,
		    (unsigned long long)r->bytes_out,
		    (now - r->start_us) / 1000.0, r->id, who);
	else
		log_info("%s \"%s %s\" %d %llu %.1fms id=%s%s", r->peer,
		    r->head.method != NULL ? r->head.method : "-",
		    r->path != NULL ? r->path : "-", r->status,
		    (unsigned long long)r->bytes_out,
		    (now - r->start_us) / 1000.0, r->id, who);
}

static void
request_done(struct request *r)
{
	struct conn	*c = r->conn;

	r->done = 1;
	c->req = NULL;
	request_account(r);
	request_free(r);
	/* Answered before the body was read: its bytes would be misparsed. */
	if (c->state == CS_HEAD || c->state == CS_BODY) {
		c->keepalive = 0;
		c->unread = 1;
	}
	if (!c->keepalive || c->srv->draining) {
		c->unread = c->unread ||
		    evbuffer_get_length(conn_input(c)) > 0;
		c->state = CS_CLOSING;
		timer_arm(c, c->srv->conf->stream_idle_timeout);
		conn_reading(c, 0);
		if (evbuffer_get_length(conn_output(c)) == 0)
			conn_finish(c);
		return;
	}
	conn_next(c);
}

void
req_respond(struct request *r, int status, const char *ctype,
    const char *extra, const void *body, size_t len)
{
	if (r->started)
		fatalx("%s: response already started", __func__);
	write_head(r, status, ctype, extra, (int64_t)len);
	if (len > 0 && !r->head_only)
		evbuffer_add(conn_output(r->conn), body, len);
	if (r->dump != NULL)
		buf_add(r->dump, body, len);
	r->bytes_out += len;
	request_done(r);
}

void
req_stream_start(struct request *r, int status, const char *ctype,
    const char *extra)
{
	if (r->started)
		fatalx("%s: response already started", __func__);
	write_head(r, status, ctype, extra, -1);
	r->streaming = 1;
}

int
req_stream_write(struct request *r, const void *p, size_t len)
{
	struct evbuffer	*out;

	if (!r->streaming || len == 0)
		return 0;
	out = conn_output(r->conn);
	if (r->dump != NULL)
		buf_add(r->dump, p, len);
	if (r->head.minor >= 1) {
		evbuffer_add_printf(out, "%zx\r\n", len);
		evbuffer_add(out, p, len);
		evbuffer_add(out, "\r\n", 2);
	} else
		evbuffer_add(out, p, len);
	r->bytes_out += len;
	return evbuffer_get_length(out) > HIGH_WATER;
}

void
req_stream_end(struct request *r)
{
	if (r->streaming && r->head.minor >= 1)
		evbuffer_add(conn_output(r->conn), "0\r\n\r\n", 5);
	r->streaming = 0;
	request_done(r);
}

/* --- reading ------------------------------------------------------ */

static int
parse_content_length(const struct http_head *h, uint64_t *len)
{
	const char	*v;
	char		*end;
	int		 i, seen = 0;
	unsigned long long n, first = 0;

	for (i = 0; i < h->nh; i++) {
		if (strcasecmp(h->h[i].name, "Content-Length") != 0)
			continue;
		v = h->h[i].value;
		if (*v < '0' || *v > '9')
			return -1;
		errno = 0;
		n = strtoull(v, &end, 10);
		if (errno != 0 || *end != '\0')
			return -1;
		/* Repeated values must agree (RFC 9110 8.6). */
		if (seen && n != first)
			return -1;
		first = n;
		seen = 1;
	}
	*len = first;
	return seen;
}

static void
split_target(struct request *r)
{
	const char	*t = r->head.target, *q;

	if ((q = strchr(t, '?')) != NULL) {
		r->path = xstrndup(t, q - t);
		r->query = xstrdup(q + 1);
	} else
		r->path = xstrdup(t);
}

static void
body_append(const uint8_t *p, size_t n, void *arg)
{
	struct request	*r = arg;

	buf_add(&r->body, p, n);
}

/*
 * Count up to total bytes of r's body against max_body_buffer, the
 * worker's budget for request bodies over all its connections; -1 (and
 * nothing counted) if they do not fit.  A body is counted from its head
 * (Content-Length) or as it arrives (chunked) until the request is freed,
 * since the worker keeps it for a retry.
 */
static int
body_charge(struct request *r, uint64_t total)
{
	struct server	*s = r->srv;

	if (total <= r->body_charged)
		return 0;
	if (s->body_bytes - r->body_charged + total > s->conf->max_body_buffer)
		return -1;
	s->body_bytes += total - r->body_charged;
	r->body_charged = total;
	metrics.body_buffer_bytes = s->body_bytes;
	return 0;
}

static void
body_over_budget(struct request *r)
{
	log_debug("%s: request body over max_body_buffer (%llu bytes held)",
	    r->peer, (unsigned long long)r->srv->body_bytes);
	metrics.limit_refusals[ML_BODY_BUFFER]++;
	req_error(r, PME_BODY_BUFFER_FULL, NULL);
}

/* The whole request is in: hand it over. */
static void
conn_dispatch(struct conn *c)
{
	struct request	*r = c->req;

	c->state = CS_HANDLE;
	evtimer_del(c->timer);
	/* Keep watching for EOF, but do not buffer a pipelining flood. */
	conn_read_limit(c, PIPELINE_MAX);
	c->srv->on_request(r);
}

static void
read_body(struct conn *c)
{
	struct evbuffer		*in = conn_input(c);
	struct request		*r = c->req;
	const struct config	*conf = c->srv->conf;
	enum http_chunk_rv	 rv;
	size_t			 n, used;
	uint8_t			*p;

	if (!c->chunked) {
		n = evbuffer_get_length(in);
		if (n > c->body_left)
			n = (size_t)c->body_left;
		if (n > 0) {
			evbuffer_remove(in, buf_reserve(&r->body, n), n);
			r->body.len += n;
			c->body_left -= n;
		}
		if (c->body_left == 0)
			conn_dispatch(c);
		else
			body_timer_arm(c);
		return;
	}
	while ((n = evbuffer_get_length(in)) > 0) {
		n = MINIMUM(n, 65536);
		p = evbuffer_pullup(in, n);
		rv = http_chunked_feed(&c->ch, p, n, &used, body_append, r);
		evbuffer_drain(in, used);
		if (rv == HTTP_CHUNK_ERROR) {
			req_error(r, PME_INVALID_CHUNKED_BODY, NULL);
			return;
		}
		if (r->body.len > conf->max_body_size) {
			req_error(r, PME_BODY_TOO_LARGE, "request body exceeds "
			    "%llu bytes",
			    (unsigned long long)conf->max_body_size);
			return;
		}
		if (body_charge(r, r->body.len) == -1) {
			body_over_budget(r);
			return;
		}
		if (rv == HTTP_CHUNK_DONE) {
			conn_dispatch(c);
			return;
		}
	}
	body_timer_arm(c);
}

/* Validate framing headers and start on the body. */
static void
begin_body(struct conn *c)
{
	struct request		*r = c->req;
	const struct config	*conf = c->srv->conf;
	const char		*te, *expect;
	uint64_t		 clen = 0;
	int			 has_cl;

	te = http_head_get(&r->head, "Transfer-Encoding");
	has_cl = parse_content_length(&r->head, &clen);
	if (has_cl == -1) {
		req_error(r, PME_BAD_CONTENT_LENGTH, NULL);
		return;
	}
	if (te != NULL) {
		/* Both framings at once is a smuggling vector: refuse. */
		if (has_cl || http_head_count(&r->head,
		    "Transfer-Encoding") > 1 || r->head.minor < 1) {
			req_error(r, PME_BAD_TRANSFER_ENCODING, NULL);
			return;
		}
		if (strcasecmp(te, "chunked") != 0) {
			req_error(r, PME_UNSUPPORTED_TRANSFER_ENCODING,
			    "unsupported Transfer-Encoding \"%s\"", te);
			return;
		}
		c->chunked = 1;
		http_chunked_init(&c->ch);
	} else if (clen > conf->max_body_size) {
		req_error(r, PME_BODY_TOO_LARGE, "request body of %llu bytes "
		    "exceeds the limit of %llu",
		    (unsigned long long)clen,
		    (unsigned long long)conf->max_body_size);
		return;
	}
	c->body_left = clen;
	/*
	 * A body of known length counts in full from here: once admitted it
	 * is never refused halfway for what other connections hold.
	 */
	if (body_charge(r, clen) == -1) {
		body_over_budget(r);
		return;
	}
	if ((expect = http_head_get(&r->head, "Expect")) != NULL) {
		if (strcasecmp(expect, "100-continue") != 0) {
			req_error(r, PME_EXPECTATION_FAILED,
			    "unsupported Expect \"%s\"",
			    expect);
			return;
		}
		if ((c->chunked || clen > 0) &&
		    evbuffer_get_length(conn_input(c)) == 0)
			evbuffer_add(conn_output(c),
			    "HTTP/1.1 100 Continue\r\n\r\n", 25);
	}
	/*
	 * Memory follows the bytes that arrive: a head announcing 64 MiB and
	 * sending nothing costs BODY_PREALLOC at most, not the announced size.
	 */
	if (!c->chunked && clen > 0)
		buf_reserve(&r->body, (size_t)MINIMUM(clen, BODY_PREALLOC));
	c->body_deadline = now_ms() + (uint64_t)conf->client_body_deadline;
	c->state = CS_BODY;
	read_body(c);
}

static enum pmerr_code
head_error(enum http_perr e)
{
	switch (e) {
	case HTTP_E_TOO_MANY:	return PME_HEAD_TOO_MANY;
	case HTTP_E_VERSION:	return PME_HTTP_VERSION;
	default:		return PME_BAD_REQUEST;
	}
}

static void
read_head(struct conn *c)
{
	struct evbuffer		*in = conn_input(c);
	const struct config	*conf = c->srv->conf;
	struct request		*r;
	enum http_perr		 e;
	const char		*data, *conn_hdr, *accept;
	size_t			 len, end;

	/* Stray CRLFs between requests are ignored (RFC 9112 2.2). */
	while ((len = evbuffer_get_length(in)) > 0) {
		data = (const char *)evbuffer_pullup(in, 1);
		if (*data != '\r' && *data != '\n')
			break;
		evbuffer_drain(in, 1);
	}
	if (len == 0)
		return;
	if (!c->got_bytes) {
		c->got_bytes = 1;
		timer_arm(c, conf->client_header_timeout);
	}
	len = MINIMUM(len, (size_t)conf->max_header_size);
	data = (const char *)evbuffer_pullup(in, len);
	end = http_head_end(data, len, &c->scanned);
	if (c->req == NULL)
		c->req = request_new(c);
	r = c->req;
	if (end == 0) {
		if (len >= conf->max_header_size)
			req_error(r, PME_HEADER_TOO_LARGE, "request header "
			    "exceeds %llu bytes",
			    (unsigned long long)conf->max_header_size);
		return;
	}
	e = http_head_parse(&r->head, data, end, 1);
	evbuffer_drain(in, end);
	c->scanned = 0;
	if (e != HTTP_OK) {
		req_error(r, head_error(e), "%s", http_perr_str(e));
		return;
	}
	split_target(r);
	r->head_only = strcmp(r->head.method, "HEAD") == 0;
	accept = http_head_get(&r->head, "Accept");
	r->wants_sse = accept != NULL && strcmp(accept, "text/event-stream") == 0;
	conn_hdr = http_head_get(&r->head, "Connection");
	if (r->head.minor >= 1)
		c->keepalive = conn_hdr == NULL ||
		    !http_token_in(conn_hdr, "close");
	else
		c->keepalive = conn_hdr != NULL &&
		    http_token_in(conn_hdr, "keep-alive");
	if (r->head.minor >= 1 && http_head_count(&r->head, "Host") != 1) {
		req_error(r, PME_BAD_REQUEST,
		    "exactly one Host header is required");
		return;
	}
	if (c->srv->on_head(r) == -1)
		return;
	begin_body(c);
}

static void
conn_input_ready(struct conn *c)
{
	struct evbuffer	*in = conn_input(c);

	switch (c->state) {
	case CS_HEAD:
		read_head(c);
		break;
	case CS_BODY:
		read_body(c);
		break;
	case CS_HANDSHAKE:	/* no bufferevent before it is done */
	case CS_HANDLE:
		/* Pipelined bytes wait for their turn. */
		break;
	case CS_CLOSING:
	case CS_LINGER:
		c->lingered += evbuffer_get_length(in);
		evbuffer_drain(in, evbuffer_get_length(in));
		if (c->lingered > LINGER_BYTES)
			conn_close(c);
		break;
	}
}

static void
conn_read(struct bufferevent *bev, void *arg)
{
	conn_input_ready(arg);
}

/* Ready for the next request on a kept-alive connection. */
static void
conn_next(struct conn *c)
{
	c->state = CS_HEAD;
	c->got_bytes = 0;
	c->unread = 0;
	c->scanned = 0;
	c->chunked = 0;
	c->body_left = 0;
	conn_read_limit(c, 0);
	conn_reading(c, 1);
	timer_arm(c, c->srv->conf->keepalive_timeout);
	if (evbuffer_get_length(conn_input(c)) > 0)
		read_head(c);
}

/* --- server ------------------------------------------------------- */

static void
server_idle_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct server	*s = arg;

	if (s->on_idle != NULL)
		s->on_idle(s, s->idle_arg);
}

struct server *
server_new(struct event_base *base, const struct config *conf, const int *fds,
    int nfds, int nmetrics, struct ssl_ctx_st *tls, server_head_fn on_head,
    server_request_fn on_request)
{
	struct server	*s;
	int		 i;

	s = xcalloc(1, sizeof(*s));
	s->base = base;
	s->tls = tls;
	pubrand(s->addr_hkey, sizeof(s->addr_hkey));
	s->conf = conf;
	s->on_head = on_head;
	s->on_request = on_request;
	TAILQ_INIT(&s->conns);
	s->idle_ev = event_new(base, -1, 0, server_idle_cb, s);
	s->ls = xcalloc(nfds + nmetrics, sizeof(*s->ls));
	for (i = 0; i < nfds + nmetrics; i++) {
		evutil_make_socket_nonblocking(fds[i]);
		s->ls[i].srv = s;
		s->ls[i].metrics = i >= nfds;
		s->ls[i].l = evconnlistener_new(base, server_accept, &s->ls[i],
		    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fds[i]);
		if (s->ls[i].l == NULL)
			fatalx("evconnlistener_new on fd %d", fds[i]);
		evconnlistener_set_error_cb(s->ls[i].l, listener_error);
		s->ls[i].retry = evtimer_new(base, listener_retry, &s->ls[i]);
	}
	s->nls = nfds + nmetrics;
	return s;
}

static void
server_close_listeners(struct server *s)
{
	int	i;

	for (i = 0; i < s->nls; i++) {
		evconnlistener_free(s->ls[i].l);
		event_free(s->ls[i].retry);
	}
	free(s->ls);
	s->ls = NULL;
	s->nls = 0;
}

void
server_close_all(struct server *s)
{
	struct conn	*c;

	while ((c = TAILQ_FIRST(&s->conns)) != NULL)
		conn_close(c);
}

/*
 * An idle connection whose request is already in the kernel (or in our
 * input buffer) is served before it goes, so a client that connected
 * just before a reload or shutdown does not see a reset.
 */
static int
bytes_waiting(struct conn *c)
{
	char	b;

	if (evbuffer_get_length(conn_input(c)) > 0)
		return 1;
	return recv(c->io != NULL ? sockio_fd(c->io) :
	    bufferevent_getfd(c->bev), &b, 1, MSG_PEEK |
	    MSG_DONTWAIT) > 0;
}

void
server_drain(struct server *s, server_idle_fn fn, void *arg)
{
	struct conn	*c, *tmp;

	s->draining = 1;
	s->on_idle = fn;
	s->idle_arg = arg;
	server_close_listeners(s);
	/*
	 * Idle keep-alive connections get a short grace instead of an
	 * immediate close: a request a client sent just now (it cannot know
	 * we are draining) is still answered, with Connection: close.
	 */
	for (c = TAILQ_FIRST(&s->conns); c != NULL; c = tmp) {
		tmp = TAILQ_NEXT(c, entry);
		c->keepalive = 0;
		if (c->state == CS_HEAD && !c->got_bytes && !bytes_waiting(c))
			timer_arm(c, MINIMUM(DRAIN_IDLE_GRACE_MS,
			    s->conf->keepalive_timeout));
	}
	server_check_idle(s);
}

/*
 * A request whose head or body is still arriving when the worker can no
 * longer serve anything (its keyd is gone) is answered now, with
 * Connection: close, instead of waiting for the end of the drain, which
 * would close a slow one without a word.  A head that is whole by then
 * is answered by the proxy, as are requests past their body.
 */
void
server_refuse_incomplete(struct server *s, enum pmerr_code code)
{
	struct conn	*c, *tmp;

	for (c = TAILQ_FIRST(&s->conns); c != NULL; c = tmp) {
		tmp = TAILQ_NEXT(c, entry);
		if ((c->state == CS_BODY || c->state == CS_HEAD) &&
		    c->req != NULL && !c->req->started && !c->req->done)
			req_error(c->req, code, NULL);
	}
}

int
server_nconns(const struct server *s)
{
	return s->nconns;
}

void
server_set_tls(struct server *s, struct ssl_ctx_st *tls)
{
	/* Connections that have an SSL keep their reference to the old. */
	SSL_CTX_free(s->tls);
	s->tls = tls;
}

