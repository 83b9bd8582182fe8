#include "config.h"

#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>

#include "bevio.h"
#include "chan.h"
#include "conf.h"
#include "ipc.h"
#include "log.h"
#include "upstream.h"
#include "util.h"
#include "worker.h"

#define POOL_MAX	64		/* idle connections kept per worker */
#define POOL_IDLE_MS	60000		/* ... for at most this long */
#define READ_CHUNK	(256 * 1024)	/* bytes per MSG_UP_DATA at most */

enum uc_state {
	UC_CONNECTING,	/* TCP connect (and TLS) in progress */
	UC_OPEN,
	UC_IDLE		/* in the pool */
};

struct upconn {
	TAILQ_ENTRY(upconn)	 entry;		/* all connections */
	TAILQ_ENTRY(upconn)	 pool;		/* idle ones */
	uint32_t		 id;
	enum uc_state		 state;
	struct bufferevent	*bev;
	struct bevio		*io;		/* direct I/O once connected */
	struct event		*timer;
	struct upuser		 user;
	int			 has_user;
	int			 ready;		/* TLS handshake done */
	int			 fresh;		/* never carried an exchange */
	int			 closing;	/* close once output drains */
	int			 paused;
	int			 keyd_owned;	/* MSG_NET_OPEN */
	int			 dead;		/* socket gone, keyd's verdict due */
	int			 awaiting;	/* request out, no answer byte yet */
	uint64_t		 idle_since;
};

static TAILQ_HEAD(, upconn)	conns = TAILQ_HEAD_INITIALIZER(conns);
static TAILQ_HEAD(upidle, upconn) idle = TAILQ_HEAD_INITIALIZER(idle);
static int			nidle;
static uint32_t			next_id;
static struct evdns_base	*dns;
static char			*api_host;
static int			 api_port;

void
upstream_init(void)
{
	char	*port;

	/* Reads resolv.conf and hosts now: the chroot hides them later. */
	dns = evdns_base_new(wenv->base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
	if (dns == NULL)
		log_warnx("DNS resolver unavailable: only numeric upstream "
		    "addresses will work");
	else
		evdns_base_load_hosts(dns, NULL);
	if (split_hostport(wenv->conf->api_endpoint, &api_host, &port,
	    "443") == -1)
		fatalx("bad api_endpoint %s", wenv->conf->api_endpoint);
	api_port = atoi(port);
	free(port);
}

static struct upconn *
find(uint32_t id)
{
	struct upconn	*u;

	TAILQ_FOREACH(u, &conns, entry)
		if (u->id == id)
			return u;
	return NULL;
}

static void
timer_set(struct upconn *u, int64_t ms)
{
	struct timeval	tv;

	if (ms <= 0) {
		evtimer_del(u->timer);
		return;
	}
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(u->timer, &tv);
}

static void
send_small(unsigned int type, uint32_t id, const char *reason)
{
	struct buf	m;

	buf_init(&m, 64);
	msg_put_u32(&m, id);
	if (reason != NULL)
		msg_put_str(&m, reason);
	keyd_send(type, &m);
	buf_free(&m);
}

static void
upconn_free(struct upconn *u)
{
	if (u->state == UC_IDLE) {
		TAILQ_REMOVE(&idle, u, pool);
		nidle--;
	}
	TAILQ_REMOVE(&conns, u, entry);
	event_free(u->timer);
	bevio_free(u->io);
	if (u->bev != NULL)
		bufferevent_free(u->bev);
	free(u);
}

void
upconn_close(struct upconn *u)
{
	/* A dead one was forgotten by keyd when it answered the EOF. */
	if (!u->dead)
		send_small(MSG_UP_CLOSE, u->id, NULL);
	upconn_free(u);
}

/*
 * The socket is gone (EOF, error, timeout).  An idle pooled connection
 * just goes.  Otherwise keyd decides what it means (a complete
 * close-delimited body, a retry, a 502/504) and answers with a last
 * MSG_UP_IO; until then the connection object stays, without a socket.
 */
static void
upconn_fail(struct upconn *u, int timeout, const char *why)
{
	if (u->state == UC_IDLE) {
		upconn_close(u);
		return;
	}
	if (u->keyd_owned) {
		send_small(MSG_UP_EOF, u->id, why);
		upconn_free(u);
		return;
	}
	if (u->dead)
		return;
	u->dead = 1;
	evtimer_del(u->timer);
	bevio_free(u->io);
	u->io = NULL;
	bufferevent_free(u->bev);
	u->bev = NULL;
	send_small(MSG_UP_EOF, u->id, timeout ? "upstream timeout" : why);
}

static void
on_timer(evutil_socket_t fd, short ev, void *arg)
{
	struct upconn	*u = arg;

	switch (u->state) {
	case UC_IDLE:
		upconn_close(u);
		return;
	case UC_CONNECTING:
		upconn_fail(u, 1, "upstream connect timeout");
		return;
	case UC_OPEN:
		upconn_fail(u, 1, "upstream timeout");
		return;
	}
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct upconn	*u = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	struct buf	 m;
	size_t		 n;

	/* Idle pooled connection: any byte (or EOF) means it is dead. */
	if (u->state == UC_IDLE) {
		upconn_close(u);
		return;
	}
	while ((n = evbuffer_get_length(in)) > 0) {
		n = MINIMUM(n, READ_CHUNK);
		buf_init(&m, n + 16);
		msg_put_u32(&m, u->id);
		msg_put_u32(&m, (uint32_t)n);
		evbuffer_remove(in, msg_put_space(&m, n), n);
		keyd_send(MSG_UP_DATA, &m);
		buf_free(&m);
	}
	if (u->has_user && !u->keyd_owned && u->state == UC_OPEN &&
	    evtimer_pending(u->timer, NULL) && u->ready) {
		u->awaiting = 0;
		timer_set(u, wenv->conf->stream_idle_timeout);
	}
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct upconn	*u = arg;
	int		 err;

	if (what & BEV_EVENT_CONNECTED) {
		int one = 1;

		setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY,
		    &one, sizeof(one));
		bevio_connected(u->io);
		if (u->keyd_owned) {
			send_small(MSG_NET_STATUS, u->id, "");
			u->state = UC_OPEN;
			timer_set(u, wenv->conf->stream_idle_timeout);
		}
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		err = EVUTIL_SOCKET_ERROR();
		if (bufferevent_socket_get_dns_error(bev) != 0)
			upconn_fail(u, 0, evutil_gai_strerror(
			    bufferevent_socket_get_dns_error(bev)));
		else
			upconn_fail(u, 0, err == ECONNRESET ?
			    "read: connection reset by peer" :
			    evutil_socket_error_to_string(err));
		return;
	}
	if (what & BEV_EVENT_EOF)
		upconn_fail(u, 0, "upstream closed the connection");
}

static void
on_write(struct bufferevent *bev, void *arg)
{
	struct upconn	*u = arg;

	if (u->closing &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
		upconn_close(u);
		return;
	}
	/*
	 * The wait for the first answer byte starts once the request is out:
	 * a large body still on its way is not the API being slow.
	 */
	if (u->awaiting && u->ready && u->has_user)
		timer_set(u, wenv->conf->upstream_first_byte_timeout);
}

static struct upconn *
upconn_new(const char *host, int port, uint32_t id)
{
	struct upconn	*u;

	u = xcalloc(1, sizeof(*u));
	u->id = id;
	u->state = UC_CONNECTING;
	u->fresh = 1;
	u->timer = evtimer_new(wenv->base, on_timer, u);
	u->bev = bufferevent_socket_new(wenv->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (u->bev == NULL)
		fatalx("bufferevent_socket_new");
	bufferevent_setcb(u->bev, on_read, on_write, on_event, u);
	/* EV_WRITE tells us of the connection; bevio reads once there. */
	bufferevent_enable(u->bev, EV_WRITE);
	u->io = bevio_new(wenv->base, u->bev, 0);
	bevio_read(u->io, 1);
	TAILQ_INSERT_TAIL(&conns, u, entry);
	timer_set(u, wenv->conf->upstream_connect_timeout);
	if (bufferevent_socket_connect_hostname(u->bev, dns, AF_UNSPEC, host,
	    port) == -1)
		log_debug("upstream %u: connect to %s:%d failed at once", id,
		    host, port);
	return u;
}

struct upconn *
upconn_get(const struct upuser *user)
{
	struct upconn	*u;
	struct buf	 m;

	/* Most recently used first: its TCP and TLS state is warmest. */
	if ((u = TAILQ_LAST(&idle, upidle)) != NULL) {
		TAILQ_REMOVE(&idle, u, pool);
		nidle--;
		u->state = UC_OPEN;
		u->fresh = 0;
		evtimer_del(u->timer);
	} else {
		if (++next_id >= UP_KEYD_ID)
			next_id = 1;
		u = upconn_new(api_host, api_port, next_id);
		buf_init(&m, 64);
		msg_put_u32(&m, u->id);
		msg_put_str(&m, api_host);
		keyd_send(MSG_UP_OPEN, &m);
		buf_free(&m);
	}
	u->user = *user;
	u->has_user = 1;
	return u;
}

uint32_t
upconn_id(const struct upconn *u)
{
	return u->id;
}

int
upconn_fresh(const struct upconn *u)
{
	return u->fresh;
}

void
upconn_release(struct upconn *u, int reusable)
{
	u->has_user = 0;
	u->awaiting = 0;
	memset(&u->user, 0, sizeof(u->user));
	if (u->paused)
		upconn_pause(u, 0);
	if (!reusable || !u->ready || nidle >= POOL_MAX || u->dead ||
	    u->state != UC_OPEN) {
		upconn_close(u);
		return;
	}
	u->state = UC_IDLE;
	u->idle_since = now_ms();
	TAILQ_INSERT_TAIL(&idle, u, pool);
	nidle++;
	timer_set(u, POOL_IDLE_MS);
}

void
upconn_arm_first_byte(struct upconn *u)
{
	/*
	 * The request is on its way.  The wait for the answer starts once it
	 * is all out (on_write), as Go's ResponseHeaderTimeout does; until
	 * then an API that takes none of it for stream_idle_timeout counts as
	 * stalled, not one that is merely slow to read a large body.
	 */
	u->awaiting = 1;
	timer_set(u, u->ready ? wenv->conf->stream_idle_timeout :
	    wenv->conf->upstream_connect_timeout +
	    wenv->conf->stream_idle_timeout);
}

void
upconn_headed(struct upconn *u)
{
	u->awaiting = 0;
	timer_set(u, wenv->conf->stream_idle_timeout);
}

void
upconn_pause(struct upconn *u, int pause)
{
	if (u->bev == NULL)
		return;
	u->paused = pause;
	bevio_read(u->io, !pause);
	if (pause) {
		/* A client that stops reading is not an upstream stall. */
		evtimer_del(u->timer);
	} else {
		timer_set(u, wenv->conf->stream_idle_timeout);
	}
}

/* --- keyd's side of the data path ------------------------------------ */

static int
net_open(struct msgr *r)
{
	struct upconn	*u;
	uint32_t	 id;
	char		*host;
	uint16_t	 port;

	id = msg_get_u32(r);
	host = msg_get_str(r);
	port = msg_get_u16(r);
	if (msg_end(r) == -1 || host == NULL || !(id & UP_KEYD_ID) ||
	    find(id) != NULL) {
		free(host);
		return -1;
	}
	u = upconn_new(host, port, id);
	u->keyd_owned = 1;
	u->has_user = 0;
	free(host);
	return 0;
}

static int
up_io(struct msgr *r)
{
	struct upconn	*u;
	const uint8_t	*out;
	size_t		 n;
	uint32_t	 id;
	uint8_t		 flags;

	id = msg_get_u32(r);
	out = msg_get_bytes(r, &n);
	flags = msg_get_u8(r);
	if (r->err)
		return -1;
	if ((u = find(id)) == NULL)
		return 0;	/* closed meanwhile: drop */
	if (n > 0 && u->bev != NULL)
		bufferevent_write(u->bev, out, n);
	if ((flags & UPF_READY) && !u->ready) {
		u->ready = 1;
		if (u->state == UC_CONNECTING)
			u->state = UC_OPEN;
		if (!u->keyd_owned && u->has_user)
			upconn_arm_first_byte(u);
	}
	if (u->keyd_owned) {
		if (flags & UPF_CLOSE) {
			u->closing = 1;
			on_write(u->bev, u);
		}
		return msg_get_u32(r) == 0 && msg_end(r) == 0 ? 0 : -1;
	}
	if (u->has_user)
		u->user.on_events(u, flags, r, u->user.arg);
	else if ((flags & UPF_CLOSE) || u->dead)
		upconn_close(u);
	return 0;
}

int
upstream_keyd_msg(unsigned int type, struct msgr *r)
{
	switch (type) {
	case MSG_NET_OPEN:
		return net_open(r);
	case MSG_UP_IO:
		return up_io(r);
	}
	return -1;
}

void
upstream_close_all(void)
{
	struct upconn	*u;

	while ((u = TAILQ_FIRST(&conns)) != NULL)
		upconn_free(u);
}

int
upstream_active(void)
{
	struct upconn	*u;
	int		 n = 0;

	TAILQ_FOREACH(u, &conns, entry)
		if (u->has_user)
			n++;
	return n;
}
