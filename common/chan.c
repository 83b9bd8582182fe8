/*
 * The IPC channel: frames over a non-blocking socketpair, the hello
 * handshake, role checks on every frame, and descriptor passing.
 */

#include "config.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "chan.h"
#include "log.h"
#include "sockio.h"
#include "util.h"

/*
 * The socket is driven by the I/O core (sockio.h), for the system calls
 * per message: a send only queues, and everything one callback sent
 * leaves in one writev once it returns; whole frames are dispatched from
 * the core's read buffer itself, and only a frame that came in pieces is
 * collected in the input buffer.  Descriptor passing replaces the core's
 * read and write with recvmsg(2) and sendmsg(2).
 */
#define CHAN_FDS_MAX	16		/* descriptors received, not yet taken */

/* A descriptor to send with the frame that starts at byte `at`. */
struct fd_out {
	uint64_t	at;
	size_t		len;		/* the frame's length */
	int		fd;
};

struct chan {
	struct sockio		*io;
	char			 peer[16];
	unsigned int		 peer_role;	/* R_* */
	size_t			 data_cap;
	chan_dispatch_fn	 dispatch;
	chan_closed_fn		 closed;
	void			*arg;
	uint32_t		 next_id;
	int			 hello_seen;
	int			 in_dispatch;	/* nesting: free when 0 */
	int			 dead;
	struct chan_peerinfo	 info;
	/* descriptor passing (SCM_RIGHTS) */
	uint64_t		 queued;	/* bytes ever queued */
	uint64_t		 sent;		/* bytes ever written */
	struct fd_out		*fdout;
	size_t			 nfdout;
	int			 accept_fds;
	int			 fdin[CHAN_FDS_MAX];
	size_t			 nfdin;
};

static char		self_role[16] = "?";
static unsigned int	self_r;
static int		self_instance = -1;

void
chan_set_identity(const char *role, int instance)
{
	strlcpy(self_role, role, sizeof(self_role));
	self_r = ipc_role(role);
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

/* A frame header the channel accepts; fails the channel otherwise. */
static int
frame_ok(struct chan *c, const struct msg_hdr *hdr)
{
	size_t	cap;

	if (hdr->flags != 0 || hdr->type == MSG_NONE ||
	    hdr->type >= MSG_TYPE_MAX) {
		log_warnx("%s: bad frame header (type %u, flags %u)",
		    c->peer, hdr->type, hdr->flags);
		chan_fail(c, "bad frame header");
		return 0;
	}
	if (!msg_allowed(hdr->type, c->peer_role, self_r)) {
		log_warnx("%s may not send %s to a %s", c->peer,
		    msg_to_str(hdr->type), self_role);
		chan_fail(c, "message from the wrong role");
		return 0;
	}
	cap = msg_cap(hdr->type, c->data_cap);
	if (hdr->len > cap) {
		log_warnx("%s: %s of %u bytes exceeds cap %zu", c->peer,
		    msg_to_str(hdr->type), hdr->len, cap);
		chan_fail(c, "oversized frame");
		return 0;
	}
	return 1;
}

static void
frame_dispatch(struct chan *c, const struct msg_hdr *hdr,
    const uint8_t *payload)
{
	struct msgr	r;
	int		rv;

	msgr_init(&r, payload, hdr->len);
	if (!c->hello_seen) {
		if (hdr->type != MSG_HELLO) {
			log_warnx("%s: %s before MSG_HELLO", c->peer,
			    msg_to_str(hdr->type));
			chan_fail(c, "no MSG_HELLO");
			return;
		}
		rv = chan_hello(c, hdr, &r);
	} else if (hdr->type == MSG_HELLO) {
		chan_fail(c, "duplicate MSG_HELLO");
		return;
	} else
		rv = c->dispatch(c, hdr, &r, c->arg);
	if (rv == -1 && !c->dead)
		chan_fail(c, "message rejected");
}

/* Whole frames in p[0, len), in place; returns the bytes they took. */
static size_t
frames_in_place(struct chan *c, const uint8_t *p, size_t len)
{
	struct msg_hdr	hdr;
	size_t		off = 0;

	while (!c->dead && len - off >= sizeof(hdr)) {
		memcpy(&hdr, p + off, sizeof(hdr));
		if (!frame_ok(c, &hdr) || len - off - sizeof(hdr) < hdr.len)
			break;
		frame_dispatch(c, &hdr, p + off + sizeof(hdr));
		off += sizeof(hdr) + hdr.len;
	}
	return off;
}

/* Whole frames from the input buffer (a frame that came in pieces). */
static void
frames_buffered(struct chan *c)
{
	struct evbuffer	*in = sockio_input(c->io);
	struct msg_hdr	 hdr;
	size_t		 len;

	while (!c->dead && (len = evbuffer_get_length(in)) >= sizeof(hdr)) {
		evbuffer_copyout(in, &hdr, sizeof(hdr));
		if (!frame_ok(c, &hdr) || len - sizeof(hdr) < hdr.len)
			break;
		frame_dispatch(c, &hdr,
		    evbuffer_pullup(in, sizeof(hdr) + hdr.len) + sizeof(hdr));
		evbuffer_drain(in, sizeof(hdr) + hdr.len);
	}
}

static void
close_fds_in(struct chan *c)
{
	while (c->nfdin > 0)
		close(c->fdin[--c->nfdin]);
}

/*
 * read(2), or recvmsg(2) for a channel that takes descriptors.  The kernel ends a
 * read after the bytes that carried descriptors, so each arrives with
 * the start of the frame it belongs to; the frame's handler takes it
 * (chan_take_fd).
 */
static ssize_t
read_some(struct sockio *io, uint8_t *p, size_t len, void *arg)
{
	struct chan	*c = arg;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) * CHAN_FDS_MAX)];
	} cm;
	struct msghdr	 mh;
	struct iovec	 iov = { p, len };
	struct cmsghdr	*cmsg;
	ssize_t		 n;
	size_t		 i, nfd;
	int		 fd;

	if (!c->accept_fds)
		return read(sockio_fd(io), p, len);
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	if ((n = recvmsg(sockio_fd(io), &mh, MSG_CMSG_CLOEXEC)) == -1)
		return -1;
	for (cmsg = CMSG_FIRSTHDR(&mh); cmsg != NULL;
	    cmsg = CMSG_NXTHDR(&mh, cmsg)) {
		if (cmsg->cmsg_level != SOL_SOCKET ||
		    cmsg->cmsg_type != SCM_RIGHTS)
			continue;
		nfd = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < nfd; i++) {
			memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int),
			    sizeof(fd));
			if (c->nfdin < CHAN_FDS_MAX)
				c->fdin[c->nfdin++] = fd;
			else
				close(fd);
		}
	}
	if (mh.msg_flags & MSG_CTRUNC) {
		log_warnx("%s: too many descriptors at once", c->peer);
		errno = EMSGSIZE;
		return -1;
	}
	return n;
}

/*
 * A descriptor no frame took, although every frame it could belong to
 * is complete: the peer sent one unasked.  Refused (closed) and fatal
 * for the channel.
 */
static void
refuse_stray_fds(struct chan *c)
{
	if (c->dead || c->nfdin == 0 ||
	    evbuffer_get_length(sockio_input(c->io)) > 0)
		return;
	log_warnx("%s: refusing %zu descriptor(s) no message asked for",
	    c->peer, c->nfdin);
	close_fds_in(c);
	chan_fail(c, "unexpected descriptor");
}

/* Out of a callback that dispatched frames: free a channel that died. */
static void
chan_release(struct chan *c)
{
	if (--c->in_dispatch == 0 && c->dead)
		chan_free(c);
}

/* Fresh bytes with nothing buffered (the usual case): frames in place. */
static size_t
on_fresh(struct sockio *io, const uint8_t *p, size_t len, void *arg)
{
	struct chan	*c = arg;
	size_t		 used;

	c->in_dispatch++;
	used = frames_in_place(c, p, len);
	chan_release(c);
	return used;
}

/* The rest went to the input buffer: whole frames from there. */
static void
on_read(struct sockio *io, void *arg)
{
	struct chan	*c = arg;

	c->in_dispatch++;
	frames_buffered(c);
	refuse_stray_fds(c);
	chan_release(c);
}

static void
on_event(struct sockio *io, int what, void *arg)
{
	chan_fail(arg, what & SIO_EOF ? "closed by peer" : strerror(errno));
}

void
chan_drain(struct chan *c)
{
	/* The peer is gone: what it wrote before it went is still read. */
	c->in_dispatch++;
	while (!c->dead && sockio_read_now(c->io) > 0)
		;
	c->in_dispatch--;
	if (c->dead)
		chan_free(c);
	else
		chan_fail(c, "closed by peer");
}

/* The frame that carries a descriptor, sent with it. */
static ssize_t
send_with_fd(struct chan *c, const struct fd_out *fo)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct msghdr	 mh;
	struct iovec	 iov;
	struct cmsghdr	*cmsg;

	memset(&mh, 0, sizeof(mh));
	memset(&cm, 0, sizeof(cm));
	iov.iov_base = evbuffer_pullup(sockio_output(c->io), fo->len);
	iov.iov_len = fo->len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	cmsg = CMSG_FIRSTHDR(&mh);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fo->fd, sizeof(int));
	return sendmsg(sockio_fd(c->io), &mh, MSG_NOSIGNAL);
}

/*
 * One write of queued bytes: up to the next frame that carries a
 * descriptor, or that frame with its descriptor, which is then ours no
 * more.  Returns what write(2) would; *full is set when the socket took
 * less than it was offered.
 */
static ssize_t
write_some(struct sockio *io, int *full, void *arg)
{
	struct chan	*c = arg;
	struct evbuffer	*out = sockio_output(io);
	size_t		 want = evbuffer_get_length(out);
	ssize_t		 n;

	if (c->nfdout > 0 && c->fdout[0].at == c->sent) {
		want = c->fdout[0].len;
		if ((n = send_with_fd(c, &c->fdout[0])) > 0) {
			evbuffer_drain(out, (size_t)n);
			close(c->fdout[0].fd);
			memmove(c->fdout, c->fdout + 1,
			    --c->nfdout * sizeof(*c->fdout));
		}
	} else {
		if (c->nfdout > 0)
			want = MINIMUM(want, c->fdout[0].at - c->sent);
		n = evbuffer_write_atmost(out, sockio_fd(io),
		    (ev_ssize_t)want);
	}
	if (n > 0)
		c->sent += (uint64_t)n;
	*full = n >= 0 && (size_t)n < want;
	return n;
}

static const struct sockio_cbs chan_io = {
	.fresh = on_fresh,
	.read = on_read,
	.event = on_event,
	.readfn = read_some,
	.writefn = write_some,
};

static void
chan_fail(struct chan *c, const char *why)
{
	if (c->dead)
		return;
	c->dead = 1;
	sockio_stop(c->io);
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
	c->io = sockio_new(base, fd, &chan_io, c);
	sockio_read(c->io, 1);
	strlcpy(c->peer, peer, sizeof(c->peer));
	if ((c->peer_role = ipc_role(peer)) == 0)
		fatalx("%s: unknown peer role %s", __func__, peer);
	c->data_cap = data_cap < IPC_MAX_DATA_FLOOR ? IPC_MAX_DATA_FLOOR :
	    data_cap;
	c->dispatch = dispatch;
	c->closed = closed;
	c->arg = arg;
	c->next_id = 1;
	c->info.instance = -1;

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
		sockio_stop(c->io);
		return;
	}
	sockio_free(c->io);
	close_fds_in(c);
	while (c->nfdout > 0)
		close(c->fdout[--c->nfdout].fd);
	free(c->fdout);
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
	out = sockio_output(c->io);
	c->queued += sizeof(hdr) + len;
	evbuffer_add(out, &hdr, sizeof(hdr));
	if (len > 0)
		evbuffer_add(out, w->p, len);
}

void
chan_send_fd(struct chan *c, unsigned int type, uint32_t id,
    const struct buf *w, int fd)
{
	struct fd_out	*fo;

	if (c->dead) {
		close(fd);
		return;
	}
	c->fdout = xreallocarray(c->fdout, c->nfdout + 1, sizeof(*c->fdout));
	fo = &c->fdout[c->nfdout++];
	fo->at = c->queued;
	fo->len = sizeof(struct msg_hdr) + (w != NULL ? w->len : 0);
	fo->fd = fd;
	chan_send(c, type, id, w);
}

void
chan_accept_fds(struct chan *c)
{
	c->accept_fds = 1;
}

int
chan_take_fd(struct chan *c)
{
	int	fd;

	if (c->nfdin == 0)
		return -1;
	fd = c->fdin[0];
	memmove(c->fdin, c->fdin + 1, --c->nfdin * sizeof(int));
	return fd;
}

int
chan_flush_sync(struct chan *c, int timeout_ms)
{
	return sockio_flush_sync(c->io, timeout_ms);
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
	out = sockio_output(c->io);
	c->queued += sizeof(hdr) + w->len;
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

void
chan_pause(struct chan *c, int pause)
{
	if (c->dead)
		return;
	sockio_read(c->io, !pause);
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
