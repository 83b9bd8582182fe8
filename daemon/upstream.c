/*
 * The worker connects for keyd (upstream.h).  Where to is the worker's
 * own business: keyd names an origin's role, never a host, so a keyd
 * that is not what it should be cannot make the worker reach anything but
 * the configured API endpoint, CDN and KDS.  Each address the resolver
 * returns is tried in turn within upstream_connect_timeout; the errors
 * are the resolver's and the kernel's own words.  Through an egress
 * proxy (egress.h) the worker connects to the proxy instead and asks it
 * for a tunnel (CONNECT host:port); keyd's TLS runs through the tunnel to
 * the real host.
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

#include "buf.h"
#include "conf.h"
#include "dpmsg.h"
#include "egress.h"
#include "ipc.h"
#include "log.h"
#include "upstream.h"
#include "util.h"
#include "worker.h"

#define CONNECT_HEAD_MAX	4096	/* a proxy's answer to CONNECT */

struct netopen {
	TAILQ_ENTRY(netopen)		 entry;
	uint32_t			 id;
	struct origin			 target;	/* the real origin */
	struct origin			 o;	/* where to connect */
	struct proxy			 proxy;
	int				 proxied;
	struct event			*rev;	/* the proxy's answer */
	char				 head[CONNECT_HEAD_MAX];
	size_t				 headlen;
	struct evdns_getaddrinfo_request *dreq;
	struct evutil_addrinfo		*ai;	/* all addresses */
	struct evutil_addrinfo		*next;	/* the one to try next */
	int				 fd;
	struct event			*wev;	/* connect completion */
	struct event			*timer;
	int				 in_resolve;	/* inside evdns */
	int				 dead;	/* freed but for this */
	char				 err[512];
};

static TAILQ_HEAD(, netopen)	opens = TAILQ_HEAD_INITIALIZER(opens);
static struct evdns_base	*dns;
#ifdef TEST_HOOKS
static char			 bad_handover[16];	/* the next one */

static void	test_spoil(struct netopen *);
#endif

void
upstream_init(void)
{
	/* Reads resolv.conf and hosts now: the chroot hides them later. */
	dns = evdns_base_new(wenv->base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
	if (dns == NULL)
		log_warnx("DNS resolver unavailable: only numeric upstream "
		    "addresses will work");
	else
		evdns_base_load_hosts(dns, NULL);
}

/*
 * The resolver holds on to `no` while it looks a name up (and answers a
 * cancelled lookup later, from the loop), or while it answers inside
 * evdns_getaddrinfo(): the memory goes when it has let go.
 */
static void
no_free(struct netopen *no)
{
	TAILQ_REMOVE(&opens, no, entry);
	if (no->ai != NULL)
		evutil_freeaddrinfo(no->ai);
	if (no->wev != NULL)
		event_free(no->wev);
	if (no->rev != NULL)
		event_free(no->rev);
	if (no->timer != NULL)
		event_free(no->timer);
	if (no->fd != -1)
		close(no->fd);
	proxy_clear(&no->proxy);
	no->dead = 1;
	if (no->dreq != NULL) {
		evdns_getaddrinfo_cancel(no->dreq);
		return;
	}
	if (!no->in_resolve)
		free(no);
}

/* Tell keyd: the socket (DPF_OK, the channel then owns it), or why not. */
static void
no_answer(struct netopen *no, enum dp_fd_fail why, const char *err)
{
	struct buf	m;

	buf_init(&m, 64 + strlen(err));
	dp_fd_put(&m, why, err);
#ifdef TEST_HOOKS
	if (why == DPF_OK && bad_handover[0] != '\0')
		test_spoil(no);
#endif
	if (why == DPF_OK && no->fd == -1) {
		/* Test hook "nofd": claims a descriptor, sends none. */
		keyd_send(MSG_NET_FD, no->id, &m);
	} else if (why == DPF_OK) {
		keyd_send_fd(MSG_NET_FD, no->id, &m, no->fd);
		no->fd = -1;
	} else {
		log_debug("connection %u for keyd: %s", no->id, err);
		keyd_send(MSG_NET_FD, no->id, &m);
	}
	buf_free(&m);
	no_free(no);
}

static void
no_fail(struct netopen *no, enum dp_fd_fail why, const char *fmt, ...)
    __attribute__((__format__(printf, 3, 4)));

static void
no_fail(struct netopen *no, enum dp_fd_fail why, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(no->err, sizeof(no->err), fmt, ap);
	va_end(ap);
	no_answer(no, why, no->err);
}

/* --- the egress proxy ------------------------------------------------------- */

/* The proxy's answer: a 2xx status line and a head, and not a byte more. */
static void
proxy_answer(struct netopen *no)
{
	char	*eol, *end = memmem(no->head, no->headlen, "\r\n\r\n", 4);
	size_t	 headlen;
	int	 status = 0;

	if (end == NULL)
		return;		/* more to come */
	headlen = (size_t)(end + 4 - no->head);
	*end = '\0';
	if ((eol = strstr(no->head, "\r\n")) != NULL)
		*eol = '\0';
	if (strncmp(no->head, "HTTP/1.", 7) != 0 || strlen(no->head) < 12 ||
	    no->head[8] != ' ' || (status = atoi(no->head + 9)) < 100) {
		no_fail(no, DPF_PROXY, "proxy %s port %u did not answer "
		    "CONNECT in HTTP", no->o.host, no->o.port);
		return;
	}
	if (status / 100 != 2) {
		no_fail(no, DPF_PROXY, "proxy %s port %u refused CONNECT "
		    "%s:%u: %.80s", no->o.host, no->o.port, no->target.host,
		    no->target.port, no->head + 9);
		return;
	}
	/* The TLS server does not speak first: more is not the tunnel's. */
	if (headlen != no->headlen) {
		no_fail(no, DPF_PROXY, "proxy %s port %u sent bytes after its "
		    "answer to CONNECT %s:%u", no->o.host, no->o.port,
		    no->target.host, no->target.port);
		return;
	}
	event_free(no->rev);
	no->rev = NULL;
	no_answer(no, DPF_OK, "");
}

static void
proxy_readable(evutil_socket_t fd, short ev, void *arg)
{
	struct netopen	*no = arg;
	ssize_t		 n;

	n = read(no->fd, no->head + no->headlen,
	    sizeof(no->head) - 1 - no->headlen);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		no_fail(no, DPF_PROXY, "proxy %s port %u closed the "
		    "connection during CONNECT %s:%u%s%s", no->o.host,
		    no->o.port, no->target.host, no->target.port,
		    n == 0 ? "" : ": ", n == 0 ? "" : strerror(errno));
		return;
	}
	no->headlen += (size_t)n;
	if (no->headlen == sizeof(no->head) - 1 &&
	    memmem(no->head, no->headlen, "\r\n\r\n", 4) == NULL) {
		no_fail(no, DPF_PROXY, "proxy %s port %u: answer to CONNECT "
		    "longer than %d bytes", no->o.host, no->o.port,
		    CONNECT_HEAD_MAX);
		return;
	}
	proxy_answer(no);
}

/* Ask the proxy for a tunnel to the origin. */
static void
proxy_connect(struct netopen *no)
{
	char	req[1024];
	int	n;

	n = snprintf(req, sizeof(req), "CONNECT %s:%u HTTP/1.1\r\n"
	    "Host: %s:%u\r\n%s%s%sUser-Agent: privatemoded/%s\r\n\r\n",
	    no->target.host, no->target.port, no->target.host,
	    no->target.port, no->proxy.auth != NULL ?
	    "Proxy-Authorization: Basic " : "", no->proxy.auth != NULL ?
	    no->proxy.auth : "", no->proxy.auth != NULL ? "\r\n" : "",
	    PACKAGE_VERSION);
	/* A fresh connection takes a request this small in one write. */
	if (n < 0 || (size_t)n >= sizeof(req) ||
	    write(no->fd, req, (size_t)n) != n) {
		explicit_bzero(req, sizeof(req));
		no_fail(no, DPF_PROXY, "proxy %s port %u: cannot send CONNECT",
		    no->o.host, no->o.port);
		return;
	}
	explicit_bzero(req, sizeof(req));
	no->rev = event_new(wenv->base, no->fd, EV_READ | EV_PERSIST,
	    proxy_readable, no);
	if (no->rev == NULL)
		fatalx("%s: event_new", __func__);
	event_add(no->rev, NULL);
}

static void	no_try_next(struct netopen *);

static void
no_connected(evutil_socket_t fd, short ev, void *arg)
{
	struct netopen	*no = arg;
	socklen_t	 len = sizeof(int);
	int		 soerr = 0, one = 1;

	if (getsockopt(no->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1)
		soerr = errno;
	if (soerr != 0) {
		snprintf(no->err, sizeof(no->err), "connect to %s%s port %u: "
		    "%s", no->proxied ? "proxy " : "", no->o.host, no->o.port,
		    strerror(soerr));
		no_try_next(no);
		return;
	}
	/* Requests and events are small: no Nagle delay on them. */
	(void)setsockopt(no->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (no->proxied)
		proxy_connect(no);
	else
		no_answer(no, DPF_OK, "");
}

/* The next address, or the last error if none is left. */
static void
no_try_next(struct netopen *no)
{
	struct evutil_addrinfo	*a;

	if (no->wev != NULL) {
		event_free(no->wev);
		no->wev = NULL;
	}
	if (no->fd != -1) {
		close(no->fd);
		no->fd = -1;
	}
	while ((a = no->next) != NULL) {
		no->next = a->ai_next;
		no->fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (no->fd == -1) {
			snprintf(no->err, sizeof(no->err), "socket: %s",
			    strerror(errno));
			continue;
		}
		if (connect(no->fd, a->ai_addr, a->ai_addrlen) == 0 ||
		    errno == EINPROGRESS) {
			no->wev = event_new(wenv->base, no->fd, EV_WRITE,
			    no_connected, no);
			if (no->wev == NULL)
				fatalx("%s: event_new", __func__);
			event_add(no->wev, NULL);
			return;
		}
		snprintf(no->err, sizeof(no->err), "connect to %s%s port %u: "
		    "%s", no->proxied ? "proxy " : "", no->o.host, no->o.port,
		    strerror(errno));
		close(no->fd);
		no->fd = -1;
	}
	no_answer(no, DPF_UNREACHABLE, no->err);
}

static void
no_resolved(int result, struct evutil_addrinfo *res, void *arg)
{
	struct netopen	*no = arg;

	no->dreq = NULL;
	if (no->dead) {
		if (res != NULL)
			evutil_freeaddrinfo(res);
		if (!no->in_resolve)
			free(no);
		return;
	}
	if (result != 0) {
		/*
		 * libevent's codes are the system's EAI_* values here: the
		 * resolver's own words, not libevent's BSD wording.
		 */
		no_fail(no, DPF_UNREACHABLE, "resolving %s: %s", no->o.host,
		    result == EVUTIL_EAI_CANCEL ? "cancelled" :
		    gai_strerror(result));
		return;
	}
	no->ai = no->next = res;
	no_try_next(no);
}

static void
no_timeout(evutil_socket_t fd, short ev, void *arg)
{
	struct netopen	*no = arg;

	no_fail(no, DPF_UNREACHABLE, "%s %s port %u: timed out after %lld ms",
	    no->rev != NULL ? "CONNECT through proxy" : "connect to",
	    no->o.host, no->o.port,
	    (long long)wenv->conf->upstream_connect_timeout);
}

static void
no_resolve(struct netopen *no)
{
	struct evdns_getaddrinfo_request	*req;
	struct evutil_addrinfo			 hints, *res = NULL;
	char					 port[8];
	int			 rv;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	snprintf(port, sizeof(port), "%u", no->o.port);
	if (dns != NULL) {
		/* May answer at once (a numeric host, /etc/hosts). */
		no->in_resolve = 1;
		req = evdns_getaddrinfo(dns, no->o.host, port, &hints,
		    no_resolved, no);
		no->in_resolve = 0;
		if (no->dead)
			free(no);
		else
			no->dreq = req;
		return;
	}
	hints.ai_flags = EVUTIL_AI_NUMERICHOST;
	rv = evutil_getaddrinfo(no->o.host, port, &hints, &res);
	no_resolved(rv, res, no);
}

int
upstream_open(uint32_t id, struct msgr *r)
{
	struct netopen	*no;
	struct timeval	 tv;
	enum net_origin	 which;

	if (dp_open_get(r, &which) == -1)
		return -1;
	no = xcalloc(1, sizeof(*no));
	no->id = id;
	no->fd = -1;
	TAILQ_INSERT_TAIL(&opens, no, entry);
	if (origin_get(wenv->conf, which, &no->target) == -1) {
		no_fail(no, DPF_UNREACHABLE, "the %s origin in the "
		    "configuration does not parse", origin_name(which));
		return 0;
	}
	no->o = no->target;
	if (egress_proxy_for(wenv->conf, &no->target, &no->proxy) == 0) {
		no->proxied = 1;
		strlcpy(no->o.host, no->proxy.host, sizeof(no->o.host));
		no->o.port = no->proxy.port;
	}
	no->timer = evtimer_new(wenv->base, no_timeout, no);
	ms_to_tv(wenv->conf->upstream_connect_timeout, &tv);
	evtimer_add(no->timer, &tv);
	no_resolve(no);
	return 0;
}

void
upstream_close_all(void)
{
	struct netopen	*no;

	while ((no = TAILQ_FIRST(&opens)) != NULL)
		no_free(no);
}

#ifdef TEST_HOOKS
/*
 * Test hook: the next hand-over is spoiled, to watch keyd refuse it.
 *	udp		a datagram socket instead of the connection
 *	unconnected	a TCP socket that never connected
 *	nofd		the message says a socket rides along; none does
 *	unasked		(at once) a socket for a connection keyd never asked for
 */
int
upstream_test_bad_handover(const char *kind)
{
	struct buf	m;
	int		fd;

	if (strcmp(kind, "unasked") == 0) {
		if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
			return -1;
		buf_init(&m, 8);
		dp_fd_put(&m, DPF_OK, "");
		keyd_send_fd(MSG_NET_FD, 0x7ffffff0U, &m, fd);
		buf_free(&m);
		return 0;
	}
	if (strcmp(kind, "udp") != 0 && strcmp(kind, "unconnected") != 0 &&
	    strcmp(kind, "nofd") != 0)
		return -1;
	strlcpy(bad_handover, kind, sizeof(bad_handover));
	return 0;
}

static void
test_spoil(struct netopen *no)
{
	log_warnx("test hook: spoiling the hand-over of connection %u (%s)",
	    no->id, bad_handover);
	close(no->fd);
	no->fd = -1;
	if (strcmp(bad_handover, "udp") == 0)
		no->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	else if (strcmp(bad_handover, "unconnected") == 0)
		no->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bad_handover[0] = '\0';
}
#endif
