#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "chan.h"
#include "log.h"
#include "util.h"

struct chan {
	struct bufferevent	*bev;
	char			 peer[16];
	size_t			 data_cap;
	chan_dispatch_fn	 dispatch;
	chan_closed_fn		 closed;
	void			*arg;
	uint32_t		 next_id;
	int			 hello_seen;
	int			 in_dispatch;
	int			 dead;
	struct chan_peerinfo	 info;
};

static char	self_role[16] = "?";
static int	self_instance = -1;

void
chan_set_identity(const char *role, int instance)
{
	strlcpy(self_role, role, sizeof(self_role));
	self_instance = instance;
}

static void	chan_fail(struct chan *, const char *);

static int
chan_hello(struct chan *c, const struct msg_hdr *hdr, struct msgr *r)
{
	uint32_t	 version;
	char		*role;

	version = msg_get_u32(r);
	role = msg_get_str(r);
	c->info.instance = (int32_t)msg_get_u32(r);
	c->info.pid = (long)msg_get_i64(r);
	if (msg_end(r) == -1 || role == NULL) {
		free(role);
		chan_fail(c, "malformed MSG_HELLO");
		return -1;
	}
	if (version != IPC_PROTO_VERSION) {
		/* Typically a binary upgraded on disk under a running parent. */
		log_warnx("%s: protocol version %u, expected %u", c->peer,
		    version, IPC_PROTO_VERSION);
		free(role);
		chan_fail(c, "protocol version mismatch");
		return -1;
	}
	strlcpy(c->info.role, role, sizeof(c->info.role));
	free(role);
	c->hello_seen = 1;
	return 0;
}

static void
chan_read(struct bufferevent *bev, void *arg)
{
	struct chan	*c = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	struct msg_hdr	 hdr;
	struct msgr	 r;
	const uint8_t	*payload;
	size_t		 cap;
	int		 rv;

	c->in_dispatch = 1;
	while (!c->dead && evbuffer_get_length(in) >= sizeof(hdr)) {
		evbuffer_copyout(in, &hdr, sizeof(hdr));
		if (hdr.flags != 0 || hdr.type == MSG_NONE ||
		    hdr.type >= MSG_TYPE_MAX) {
			log_warnx("%s: bad frame header (type %u, flags %u)",
			    c->peer, hdr.type, hdr.flags);
			chan_fail(c, "bad frame header");
			break;
		}
		cap = msg_cap(hdr.type, c->data_cap);
		if (hdr.len > cap) {
			log_warnx("%s: %s of %u bytes exceeds cap %zu", c->peer,
			    msg_to_str(hdr.type), hdr.len, cap);
			chan_fail(c, "oversized frame");
			break;
		}
		if (evbuffer_get_length(in) < sizeof(hdr) + hdr.len) {
			/* Wait for the rest; don't wake up for every segment. */
			bufferevent_setwatermark(bev, EV_READ,
			    sizeof(hdr) + hdr.len, 0);
			break;
		}
		bufferevent_setwatermark(bev, EV_READ, 0, 0);
		evbuffer_drain(in, sizeof(hdr));
		payload = evbuffer_pullup(in, hdr.len);
		msgr_init(&r, payload, hdr.len);
		if (!c->hello_seen) {
			if (hdr.type != MSG_HELLO) {
				log_warnx("%s: %s before MSG_HELLO", c->peer,
				    msg_to_str(hdr.type));
				chan_fail(c, "no MSG_HELLO");
				break;
			}
			rv = chan_hello(c, &hdr, &r);
		} else if (hdr.type == MSG_HELLO) {
			chan_fail(c, "duplicate MSG_HELLO");
			break;
		} else
			rv = c->dispatch(c, &hdr, &r, c->arg);
		evbuffer_drain(in, hdr.len);
		if (rv == -1 && !c->dead)
			chan_fail(c, "message rejected");
	}
	c->in_dispatch = 0;
	if (c->dead)
		chan_free(c);
}

static void
chan_event(struct bufferevent *bev, short what, void *arg)
{
	struct chan	*c = arg;

	if (what & BEV_EVENT_EOF)
		chan_fail(c, "closed by peer");
	else if (what & BEV_EVENT_ERROR)
		chan_fail(c, strerror(EVUTIL_SOCKET_ERROR()));
}

static void
chan_fail(struct chan *c, const char *why)
{
	if (c->dead)
		return;
	c->dead = 1;
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	c->closed(c, why, c->arg);
	if (!c->in_dispatch)
		chan_free(c);
}

struct chan *
chan_new(struct event_base *base, int fd, const char *peer, size_t data_cap,
    chan_dispatch_fn dispatch, chan_closed_fn closed, void *arg)
{
	struct chan	*c;
	struct buf	 w;

	c = xcalloc(1, sizeof(*c));
	evutil_make_socket_nonblocking(fd);
	evutil_make_socket_closeonexec(fd);
	c->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL)
		fatalx("%s: bufferevent_socket_new", __func__);
	strlcpy(c->peer, peer, sizeof(c->peer));
	c->data_cap = data_cap < IPC_MAX_DATA_FLOOR ? IPC_MAX_DATA_FLOOR :
	    data_cap;
	c->dispatch = dispatch;
	c->closed = closed;
	c->arg = arg;
	c->next_id = 1;
	c->info.instance = -1;
	bufferevent_setcb(c->bev, chan_read, NULL, chan_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);

	buf_init(&w, 64);
	msg_put_u32(&w, IPC_PROTO_VERSION);
	msg_put_str(&w, self_role);
	msg_put_u32(&w, (uint32_t)self_instance);
	msg_put_i64(&w, (int64_t)getpid());
	chan_send(c, MSG_HELLO, 0, &w);
	buf_free(&w);
	return c;
}

void
chan_free(struct chan *c)
{
	if (c == NULL)
		return;
	if (c->in_dispatch) {
		/* Freed on return from the read callback. */
		c->dead = 1;
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
		return;
	}
	bufferevent_free(c->bev);
	free(c);
}

static void
frame_header(struct msg_hdr *hdr, unsigned int type, uint32_t id, size_t len)
{
	if (len > IPC_MAX_DATA_CEIL)
		fatalx("%s: %s payload of %zu bytes", __func__,
		    msg_to_str(type), len);
	hdr->len = (uint32_t)len;
	hdr->type = (uint16_t)type;
	hdr->flags = 0;
	hdr->id = id;
}

void
chan_send(struct chan *c, unsigned int type, uint32_t id, const struct buf *w)
{
	struct evbuffer	*out;
	struct msg_hdr	 hdr;
	size_t		 len = w != NULL ? w->len : 0;

	if (c->dead)
		return;
	frame_header(&hdr, type, id, len);
	out = bufferevent_get_output(c->bev);
	evbuffer_add(out, &hdr, sizeof(hdr));
	if (len > 0)
		evbuffer_add(out, w->p, len);
}

int
chan_flush_sync(struct chan *c, int timeout_ms)
{
	struct evbuffer	*out = bufferevent_get_output(c->bev);
	struct pollfd	 pfd;
	int		 fd = bufferevent_getfd(c->bev);

	int		 rv = 0;

	pfd.fd = fd;
	pfd.events = POLLOUT;
	/* A bufferevent keeps the start of its output frozen: thaw it. */
	evbuffer_unfreeze(out, 1);
	while (evbuffer_get_length(out) > 0) {
		if (evbuffer_write(out, fd) == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN ||
			    poll(&pfd, 1, timeout_ms) <= 0) {
				rv = -1;
				break;
			}
		}
	}
	evbuffer_freeze(out, 1);
	return rv;
}

static void
secret_cleanup(const void *data, size_t len, void *arg)
{
	freezero((void *)(uintptr_t)data, len);
}

int
chan_send_secret(struct chan *c, unsigned int type, uint32_t id,
    const struct buf *w)
{
	struct evbuffer	*out;
	struct msg_hdr	 hdr;
	uint8_t		*copy;

	if (c->dead)
		return -1;
	frame_header(&hdr, type, id, w->len);
	out = bufferevent_get_output(c->bev);
	/*
	 * The payload is referenced, not copied into the buffer's chains,
	 * and zeroed by the cleanup once it has been written.
	 */
	copy = xmalloc(w->len > 0 ? w->len : 1);
	memcpy(copy, w->p, w->len);
	evbuffer_add(out, &hdr, sizeof(hdr));
	if (evbuffer_add_reference(out, copy, w->len, secret_cleanup,
	    NULL) == -1) {
		freezero(copy, w->len);
		return -1;
	}
	return 0;
}

uint32_t
chan_next_id(struct chan *c)
{
	if (++c->next_id == 0)
		c->next_id = 1;
	return c->next_id;
}

size_t
chan_pending(const struct chan *c)
{
	return evbuffer_get_length(bufferevent_get_output(c->bev));
}

const char *
chan_peer(const struct chan *c)
{
	return c->peer;
}

const struct chan_peerinfo *
chan_peerinfo(const struct chan *c)
{
	return &c->info;
}

int
chan_fd(const struct chan *c)
{
	return bufferevent_getfd(c->bev);
}

void
chan_pause(struct chan *c, int pause)
{
	if (c->dead)
		return;
	if (pause)
		bufferevent_disable(c->bev, EV_READ);
	else
		bufferevent_enable(c->bev, EV_READ);
}

void
chan_set_data_cap(struct chan *c, size_t cap)
{
	if (cap < IPC_MAX_DATA_FLOOR)
		cap = IPC_MAX_DATA_FLOOR;
	if (cap > IPC_MAX_DATA_CEIL)
		cap = IPC_MAX_DATA_CEIL;
	c->data_cap = cap;
}
