/*
 * keyd's upstream connections.  keyd cannot create or connect a socket:
 * it asks its worker for a connection to an origin (MSG_NET_OPEN), the
 * worker connects to where its configuration puts that origin and hands
 * the socket over (MSG_NET_FD, SCM_RIGHTS).  From then on keyd alone
 * reads and writes it: TLS records through its tunnel (tunnel.c), over
 * the socket I/O core (sockio.h): one read(2) per readiness, whose bytes
 * go to the tunnel in place, one write per callback batch, EV_WRITE only
 * while the socket is full.  What happens on the connection
 * is its owner's business (relay.c for client requests, fetch.c for
 * keyd's own), told through the relay_* / fetch_* entry points.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>

#ifdef HAVE_MALLOC_TRIM
#include <malloc.h>
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "buf.h"
#include "chan.h"
#include "dpmsg.h"
#include "ipc.h"
#include "kd.h"
#include "log.h"
#include "sockio.h"
#include "tunnel.h"
#include "util.h"

#define KTUN_BUCKETS	256
#define TRIM_QUIET_MS	500

static struct ktun	*buckets[KTUN_BUCKETS];
static uint32_t		 next_id;

#ifdef HAVE_MALLOC_TRIM
static struct event	*trim_ev;

static void
trim_cb(evutil_socket_t fd, short ev, void *arg)
{
	malloc_trim(0);
}
#endif

/*
 * Every TLS handshake leaves freed memory in the heap, which malloc keeps.
 * Once connections have stopped opening, completing their handshakes and
 * closing for TRIM_QUIET_MS, the free pages go back to the kernel: after a
 * burst of streams keyd holds what the open sessions use, not the burst's
 * high-water mark.
 */
static void
trim_when_quiet(void)
{
#ifdef HAVE_MALLOC_TRIM
	struct timeval	tv = { 0, TRIM_QUIET_MS * 1000 };

	if (trim_ev == NULL &&
	    (trim_ev = evtimer_new(kenv->base, trim_cb, NULL)) == NULL)
		fatalx("%s: evtimer_new", __func__);
	evtimer_add(trim_ev, &tv);	/* re-adding restarts the wait */
#endif
}

static struct ktun *
ktun_find(uint32_t id)
{
	struct ktun	*kt;

	for (kt = buckets[id % KTUN_BUCKETS]; kt != NULL; kt = kt->next)
		if (kt->id == id)
			return kt;
	return NULL;
}

struct ktun *
ktun_new(enum ktun_kind kind, enum net_origin origin, const char *host,
    int tls, int verify, int offer_h2)
{
	struct ktun	*kt;
	struct buf	 m;

	kt = xcalloc(1, sizeof(*kt));
	do
		next_id++;
	while (next_id == 0 || ktun_find(next_id) != NULL);
	kt->id = next_id;
	kt->kind = kind;
	kt->origin = origin;
	kt->fd = -1;
	kt->want_read = 1;
	buf_init(&kt->out, 0);
	kt->t = tun_new(kt->id, host, tls, verify, offer_h2);
	kt->next = buckets[kt->id % KTUN_BUCKETS];
	buckets[kt->id % KTUN_BUCKETS] = kt;
	buf_init(&m, 8);
	dp_open_put(&m, origin);
	chan_send(kenv->worker, MSG_NET_OPEN, kt->id, &m);
	buf_free(&m);
	trim_when_quiet();
	return kt;
}

void
ktun_free(struct ktun *kt)
{
	struct ktun	**pp;

	if (kt == NULL)
		return;
	if (!kt->answered) {
		/*
		 * The worker's answer is on its way: keep the id until it
		 * comes, so that it is not taken for a descriptor nobody
		 * asked for.  Then the socket is closed unused.
		 */
		kt->orphan = 1;
		kt->px = NULL;
		kt->fx = NULL;
		return;
	}
	for (pp = &buckets[kt->id % KTUN_BUCKETS]; *pp != NULL;
	    pp = &(*pp)->next)
		if (*pp == kt) {
			*pp = kt->next;
			break;
		}
	sockio_free(kt->io);		/* closes kt->fd */
	if (kt->timer != NULL)
		event_free(kt->timer);
	if (kt->soon != NULL)
		event_free(kt->soon);
	h2_free(kt->h2);
	tun_free(kt->t);
	buf_free(&kt->out);
	free(kt);
	trim_when_quiet();
}

/* --- I/O ------------------------------------------------------------------ */

static void
owner_input(struct ktun *kt, const uint8_t *p, size_t n)
{
	if (kt->kind == KT_RELAY)
		relay_input(kt, p, n);
	else
		fetch_input(kt, p, n);
}

static void
owner_eof(struct ktun *kt, int err, int writing)
{
	char	why[128];

	if (err == 0)
		strlcpy(why, "upstream closed the connection", sizeof(why));
	else
		snprintf(why, sizeof(why), "%s: %s", writing ? "write" :
		    "read", strerror(err));
	if (kt->kind == KT_RELAY)
		relay_eof(kt, err, why);
	else
		fetch_eof(kt, err, why);
}

/* The owner takes every byte read, in place; it may free kt. */
static size_t
on_fresh(struct sockio *io, const uint8_t *p, size_t n, void *arg)
{
	owner_input(arg, p, n);
	return n;
}

static void
on_event(struct sockio *io, int what, void *arg)
{
	owner_eof(arg, what & SIO_EOF ? 0 : errno, what & SIO_WRITING);
}

static void
on_written(struct sockio *io, void *arg)
{
	struct ktun	*kt = arg;

	if (kt->kind == KT_RELAY)
		relay_drained(kt);
}

static const struct sockio_cbs ktun_io = {
	.fresh = on_fresh,
	.written = on_written,
	.event = on_event,
};

/* What the tunnel has for the socket goes out once the callback is done. */
void
ktun_flush(struct ktun *kt)
{
	tun_output(kt->t, &kt->out);
	if (kt->io == NULL || kt->out.len == 0)
		return;
	if (evbuffer_add(sockio_output(kt->io), kt->out.p, kt->out.len) == -1)
		fatalx("%s: evbuffer_add", __func__);
	kt->out.len = 0;
}

void
ktun_read(struct ktun *kt, int on)
{
	kt->want_read = on;
	if (kt->io != NULL)
		sockio_read(kt->io, on);
}

static void
on_timer(evutil_socket_t fd, short ev, void *arg)
{
	relay_timeout(arg);
}

void
ktun_timer(struct ktun *kt, int64_t ms)
{
	struct timeval	tv;

	if (kt->timer == NULL &&
	    (kt->timer = evtimer_new(kenv->base, on_timer, kt)) == NULL)
		fatalx("%s: evtimer_new", __func__);
	if (ms <= 0) {
		evtimer_del(kt->timer);
		return;
	}
	ms_to_tv(ms, &tv);
	evtimer_add(kt->timer, &tv);
}

static void
on_soon(evutil_socket_t fd, short ev, void *arg)
{
	relay_soon(arg);
}

void
ktun_soon(struct ktun *kt)
{
	if (kt->soon == NULL &&
	    (kt->soon = event_new(kenv->base, -1, 0, on_soon, kt)) == NULL)
		fatalx("%s: event_new", __func__);
	event_active(kt->soon, 0, 0);
}

/* --- the hand-over ---------------------------------------------------------- */

/*
 * What the worker handed over must be a connected TCP socket: anything
 * else (a file, a pipe, a datagram or an unconnected socket) is refused.
 */
static int
connected_tcp(int fd, char *why, size_t whylen)
{
	struct sockaddr_storage	ss;
	struct stat		st;
	socklen_t		len;
	int			type, domain;

	if (fstat(fd, &st) == -1 || !S_ISSOCK(st.st_mode)) {
		snprintf(why, whylen, "not a socket");
		return 0;
	}
	len = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1 ||
	    type != SOCK_STREAM) {
		snprintf(why, whylen, "not a stream socket");
		return 0;
	}
	len = sizeof(domain);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == -1 ||
	    (domain != AF_INET && domain != AF_INET6)) {
		snprintf(why, whylen, "not an IPv4 or IPv6 socket");
		return 0;
	}
	len = sizeof(ss);
	if (getpeername(fd, (struct sockaddr *)&ss, &len) == -1) {
		snprintf(why, whylen, "not connected");
		return 0;
	}
	return 1;
}

static void
owner_connected(struct ktun *kt, enum dp_fd_fail fail, const char *err)
{
	if (kt->kind == KT_RELAY)
		relay_connected(kt, fail, err);
	else
		fetch_connected(kt, fail, err);
}

int
ktun_handover(uint32_t id, enum dp_fd_fail fail, const char *err, int fd)
{
	struct ktun	*kt = ktun_find(id);
	char		 why[64], terr[256];

	if (kt == NULL || kt->answered || (fail == DPF_OK) != (fd != -1)) {
		log_warnx("worker: refusing a connection for %u that was "
		    "not asked for", id);
		if (fd != -1)
			close(fd);
		return -1;
	}
	kt->answered = 1;
	if (kt->orphan) {
		if (fd != -1)
			close(fd);
		ktun_free(kt);
		return 0;
	}
	if (fd == -1) {
		owner_connected(kt, fail, err);
		return 0;
	}
	if (!connected_tcp(fd, why, sizeof(why))) {
		log_warnx("worker: refusing the descriptor for connection "
		    "%u: %s", id, why);
		close(fd);
		return -1;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1)
		fatal("%s: fcntl", __func__);
	kt->fd = fd;
	kt->io = sockio_new(kenv->base, fd, &ktun_io, kt);
	ktun_read(kt, kt->want_read);
	/* The owner flushes (or frees kt: the answer may be moot by now). */
	if (tun_start(kt->t, terr, sizeof(terr)) == -1)
		owner_connected(kt, DPF_UNREACHABLE, terr);
	else
		owner_connected(kt, DPF_OK, "");
	return 0;
}
