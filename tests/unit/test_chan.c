/*
 * IPC channel framing on a real socketpair: whole frames dispatched from
 * the read buffer, frames that arrive in pieces (split at every byte),
 * each way a peer can fail the channel (a frame its role may not send
 * among them), and descriptors passed with the frames that claim them.
 * This process is a keyd; the channels' peers are workers.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "chan.h"
#include "ipc.h"
#include "t.h"
#include "util.h"

T_GLOBALS;

#define MAXGOT	16

/* What the channel handed to its owner. */
struct seen {
	struct chan	*c;
	int		 n;
	unsigned int	 type[MAXGOT];
	uint32_t	 id[MAXGOT];
	struct buf	 payload[MAXGOT];
	char		 closed[64];
	int		 reject_id;	/* answer -1 to this id */
	int		 free_id;	/* chan_free() from inside dispatch */
};

static int
on_msg(struct chan *c, const struct msg_hdr *hdr, struct msgr *r, void *arg)
{
	struct seen	*s = arg;

	if (s->n < MAXGOT) {
		s->type[s->n] = hdr->type;
		s->id[s->n] = hdr->id;
		buf_init(&s->payload[s->n], 16);
		buf_add(&s->payload[s->n], r->p, r->left);
		s->n++;
	}
	r->left = 0;
	if (s->free_id != 0 && hdr->id == (uint32_t)s->free_id) {
		chan_free(c);
		s->c = NULL;
		return 0;
	}
	return s->reject_id != 0 && hdr->id == (uint32_t)s->reject_id ? -1 : 0;
}

static void
on_closed(struct chan *c, const char *why, void *arg)
{
	struct seen	*s = arg;

	strlcpy(s->closed, why, sizeof(s->closed));
	s->c = NULL;
}

static void
frame(struct buf *b, unsigned int type, uint16_t flags, uint32_t id,
    const void *p, size_t len)
{
	struct msg_hdr	h;

	h.len = (uint32_t)len;
	h.type = (uint16_t)type;
	h.flags = flags;
	h.id = id;
	buf_add(b, &h, sizeof(h));
	buf_add(b, p, len);
}

static void
hello(struct buf *b)
{
	struct buf	p;

	buf_init(&p, 64);
	msg_put_u32(&p, IPC_PROTO_VERSION);
	msg_put_str(&p, "test");
	msg_put_u32(&p, 7);
	msg_put_i64(&p, 1234);
	frame(b, MSG_HELLO, 0, 0, p.p, p.len);
	buf_free(&p);
}

/* HELLO, then three messages; the third's payload is 100 KB. */
static void
stream(struct buf *b, struct buf *big)
{
	size_t	i;

	buf_init(big, 100 * 1024);
	for (i = 0; i < 100 * 1024; i++)
		buf_addc(big, (uint8_t)(i * 7));
	hello(b);
	frame(b, MSG_STATUS_REQ, 0, 1, "one", 3);
	frame(b, MSG_STATUS_REQ, 0, 2, "", 0);
	frame(b, MSG_REQ, 0, 3, big->p, big->len);
}

static void
seen_free(struct seen *s)
{
	int	i;

	for (i = 0; i < s->n; i++)
		buf_free(&s->payload[i]);
	if (s->c != NULL)
		chan_free(s->c);
	memset(s, 0, sizeof(*s));
}

/* Write p in two pieces, cut at `cut`, running the loop after each. */
static void
feed(struct event_base *base, int fd, const uint8_t *p, size_t len,
    size_t cut)
{
	if (cut > 0) {
		T_EQ_INT(write(fd, p, cut), cut);
		t_pump(base);
	}
	if (len > cut) {
		T_EQ_INT(write(fd, p + cut, len - cut), len - cut);
		t_pump(base);
	}
}

static struct chan *
open_chan(struct event_base *base, int sv[2], struct seen *s)
{
	memset(s, 0, sizeof(*s));
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		return NULL;
	/* 1 MiB socket buffers: the 100 KB frame fits in one write. */
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &(int){ 1 << 20 },
	    sizeof(int));
	setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &(int){ 1 << 20 },
	    sizeof(int));
	s->c = chan_new(base, sv[0], "worker", 0, on_msg, on_closed, s);
	return s->c;
}

static void
check_stream(const struct seen *s, const struct buf *big)
{
	T_EQ_INT(s->n, 3);
	T_EQ_STR(s->closed, "");
	if (s->n != 3)
		return;
	T_EQ_INT(s->type[0], MSG_STATUS_REQ);
	T_EQ_INT(s->id[0], 1);
	T_EQ_INT(s->payload[0].len, 3);
	T_EQ_MEM(s->payload[0].p, "one", 3);
	T_EQ_INT(s->id[1], 2);
	T_EQ_INT(s->payload[1].len, 0);
	T_EQ_INT(s->type[2], MSG_REQ);
	T_EQ_INT(s->payload[2].len, big->len);
	T_CHECK(s->payload[2].len == big->len &&
	    memcmp(s->payload[2].p, big->p, big->len) == 0);
}

static void
test_whole_and_split(struct event_base *base)
{
	struct seen	s;
	struct buf	b, big;
	size_t		cut, bad = 0;
	int		sv[2];

	T_BEGIN("frames in one write, and split at every byte");
	buf_init(&b, 1024);
	stream(&b, &big);
	T_CHECK(open_chan(base, sv, &s) != NULL);
	feed(base, sv[1], b.p, b.len, 0);
	check_stream(&s, &big);
	T_EQ_STR(chan_peerinfo(s.c)->role, "test");
	T_EQ_INT(chan_peerinfo(s.c)->instance, 7);
	seen_free(&s);
	close(sv[1]);

	/* Every cut up to past the third header, then every 997th byte. */
	for (cut = 1; cut < b.len; cut += cut < 200 ? 1 : 997) {
		open_chan(base, sv, &s);
		feed(base, sv[1], b.p, b.len, cut);
		if (s.n != 3 || s.closed[0] != '\0' ||
		    s.payload[2].len != big.len ||
		    memcmp(s.payload[2].p, big.p, big.len) != 0 ||
		    memcmp(s.payload[0].p, "one", 3) != 0)
			bad++;
		seen_free(&s);
		close(sv[1]);
	}
	T_EQ_INT(bad, 0);
	buf_free(&b);
	buf_free(&big);
}

/* Open a channel, write `b` (cut in two at `cut`), expect `why`. */
static void
expect_failure(struct event_base *base, const struct buf *b, size_t cut,
    int reject_id, int want_n, const char *why)
{
	struct seen	s;
	int		sv[2];

	open_chan(base, sv, &s);
	s.reject_id = reject_id;
	feed(base, sv[1], b->p, b->len, cut);
	T_EQ_INT(s.n, want_n);
	T_EQ_STR(s.closed, why);
	T_CHECK(s.c == NULL);
	seen_free(&s);
	close(sv[1]);
}

static void
test_failures(struct event_base *base)
{
	struct buf	b;
	struct msg_hdr	h;
	int		sv[2];
	struct seen	s;
	size_t		cut;
	char		junk[256];

	T_BEGIN("bad frames fail the channel, after the good ones");
	for (cut = 0; cut < 40; cut += 13) {
		buf_init(&b, 256);
		hello(&b);
		frame(&b, MSG_STATUS_REQ, 0, 1, "a", 1);
		frame(&b, MSG_STATUS_REQ, 1, 2, "b", 1);	/* flags */
		expect_failure(base, &b, cut, 0, 1, "bad frame header");
		buf_free(&b);
	}

	buf_init(&b, 256);
	hello(&b);
	frame(&b, MSG_TYPE_MAX, 0, 1, "x", 1);
	expect_failure(base, &b, 0, 0, 0, "bad frame header");
	buf_free(&b);

	/* Over the cap: refused on the header, before the payload comes. */
	buf_init(&b, 256);
	hello(&b);
	h.len = IPC_MAX_SMALL + 1;
	h.type = MSG_STATUS_REQ;
	h.flags = 0;
	h.id = 1;
	buf_add(&b, &h, sizeof(h));
	expect_failure(base, &b, 0, 0, 0, "oversized frame");
	buf_free(&b);

	buf_init(&b, 256);
	frame(&b, MSG_STATUS_REQ, 0, 1, "a", 1);
	expect_failure(base, &b, 5, 0, 0, "no MSG_HELLO");
	buf_free(&b);

	buf_init(&b, 256);
	hello(&b);
	hello(&b);
	expect_failure(base, &b, 0, 0, 0, "duplicate MSG_HELLO");
	buf_free(&b);

	/* A rejected message stops the frames behind it. */
	buf_init(&b, 256);
	hello(&b);
	frame(&b, MSG_STATUS_REQ, 0, 1, "a", 1);
	frame(&b, MSG_STATUS_REQ, 0, 2, "b", 1);
	frame(&b, MSG_STATUS_REQ, 0, 3, "c", 1);
	expect_failure(base, &b, 0, 2, 2, "message rejected");
	expect_failure(base, &b, 30, 2, 2, "message rejected");
	buf_free(&b);

	/* A worker may not send what only the parent sends. */
	buf_init(&b, 256);
	hello(&b);
	frame(&b, MSG_STATUS_REQ, 0, 1, "a", 1);
	frame(&b, MSG_SECRETS, 0, 2, "k", 1);
	expect_failure(base, &b, 0, 0, 1, "message from the wrong role");
	buf_free(&b);
	/* ... nor what this process sends rather than receives. */
	buf_init(&b, 256);
	hello(&b);
	frame(&b, MSG_RESP, 0, 2, "r", 1);
	expect_failure(base, &b, 0, 0, 0, "message from the wrong role");
	buf_free(&b);

	buf_init(&b, 256);
	hello(&b);
	frame(&b, MSG_STATUS_REQ, 0, 1, "a", 1);
	frame(&b, MSG_STATUS_REQ, 0, 2, "b", 1);
	frame(&b, MSG_STATUS_REQ, 0, 3, "c", 1);

	T_BEGIN("a handler may free its channel; nothing after is read");
	open_chan(base, sv, &s);
	s.free_id = 1;
	feed(base, sv[1], b.p, b.len, 0);
	T_EQ_INT(s.n, 1);
	T_CHECK(s.c == NULL);
	seen_free(&s);
	close(sv[1]);
	buf_free(&b);

	T_BEGIN("peer closes");
	open_chan(base, sv, &s);
	buf_init(&b, 256);
	hello(&b);
	feed(base, sv[1], b.p, b.len, 0);
	/* Read our HELLO first: unread data would make the close a reset. */
	T_CHECK(read(sv[1], junk, sizeof(junk)) > 0);
	close(sv[1]);
	t_pump(base);
	T_EQ_STR(s.closed, "closed by peer");
	seen_free(&s);
	buf_free(&b);
}

/* Write bytes with a descriptor attached, as chan_send_fd does. */
static void
send_fd_raw(int sock, const void *p, size_t len, int fd)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct msghdr	 mh;
	struct iovec	 iov = { (void *)(uintptr_t)p, len };
	struct cmsghdr	*cmsg;

	memset(&mh, 0, sizeof(mh));
	memset(&cm, 0, sizeof(cm));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	cmsg = CMSG_FIRSTHDR(&mh);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	T_EQ_INT(sendmsg(sock, &mh, 0), len);
}

/*
 * The descriptor a frame claims (an empty error string, as MSG_NET_FD
 * says): the handler takes it when it runs, though it may have come in
 * the same read as frames before it.
 */
static int	taken[4];
static int	ntaken;

static int
on_fd_msg(struct chan *c, const struct msg_hdr *hdr, struct msgr *r,
    void *arg)
{
	char	*err = msg_get_str(r);

	if (hdr->type == MSG_NET_FD && ntaken < 4)
		taken[ntaken++] = err != NULL && *err == '\0' ?
		    chan_take_fd(c) : -1;
	free(err);
	return msg_end(r);
}

/* Same file as `fd`? */
static int
same_file(int a, int b)
{
	struct stat	sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 &&
	    sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static void
test_descriptors(struct event_base *base)
{
	struct seen	 s;
	struct buf	 b, one, two;
	struct chan	*tx;
	int		 sv[2], pv[2], i;

	T_BEGIN("descriptors arrive with the frames that carry them");
	memset(&s, 0, sizeof(s));
	T_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	T_CHECK(pipe(pv) == 0);
	/* Both ends in this process: the sender calls itself a worker. */
	chan_set_identity("worker", 0);
	tx = chan_new(base, sv[1], "keyd", 0, on_msg, on_closed, &s);
	chan_set_identity("keyd", 0);
	s.c = chan_new(base, sv[0], "worker", 0, on_fd_msg, on_closed, &s);
	chan_accept_fds(s.c);
	buf_init(&one, 8);
	msg_put_str(&one, "");
	buf_init(&two, 8);
	msg_put_str(&two, "x");
	ntaken = 0;
	/* A frame without, one with, one without, one with. */
	chan_send(tx, MSG_NET_FD, 1, &two);
	chan_send_fd(tx, MSG_NET_FD, 2, &one, dup(pv[0]));
	chan_send(tx, MSG_NET_FD, 3, &two);
	chan_send_fd(tx, MSG_NET_FD, 4, &one, dup(pv[1]));
	t_pump(base);
	T_EQ_INT(ntaken, 4);
	T_EQ_INT(taken[0], -1);
	T_CHECK(taken[1] >= 0 && same_file(taken[1], pv[0]));
	T_EQ_INT(taken[2], -1);
	T_CHECK(taken[3] >= 0 && same_file(taken[3], pv[1]));
	T_EQ_STR(s.closed, "");
	for (i = 0; i < ntaken; i++)
		if (taken[i] >= 0)
			close(taken[i]);
	chan_free(tx);
	seen_free(&s);

	T_BEGIN("a descriptor no frame claims is refused");
	memset(&s, 0, sizeof(s));
	T_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	s.c = chan_new(base, sv[0], "worker", 0, on_msg, on_closed, &s);
	chan_accept_fds(s.c);
	buf_init(&b, 256);
	hello(&b);
	frame(&b, MSG_STATUS_REQ, 0, 1, "a", 1);
	send_fd_raw(sv[1], b.p, b.len, pv[0]);
	t_pump(base);
	T_EQ_INT(s.n, 1);
	T_EQ_STR(s.closed, "unexpected descriptor");
	seen_free(&s);
	close(sv[1]);
	buf_free(&b);

	T_BEGIN("a channel that takes none never sees one");
	open_chan(base, sv, &s);
	buf_init(&b, 256);
	hello(&b);
	frame(&b, MSG_NET_FD, 0, 1, one.p, one.len);
	ntaken = 0;
	send_fd_raw(sv[1], b.p, b.len, pv[0]);
	t_pump(base);
	T_EQ_INT(s.n, 1);
	T_EQ_INT(chan_take_fd(s.c), -1);
	T_EQ_STR(s.closed, "");
	seen_free(&s);
	close(sv[1]);
	buf_free(&b);
	buf_free(&one);
	buf_free(&two);
	close(pv[0]);
	close(pv[1]);
}

int
main(void)
{
	struct event_base	*base;

	if ((base = event_base_new()) == NULL)
		return 1;
	chan_set_identity("keyd", 0);
	test_whole_and_split(base);
	test_failures(base);
	test_descriptors(base);
	event_base_free(base);
	T_DONE();
}
