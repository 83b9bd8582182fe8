/*
 * The socket I/O core on a real socketpair: deferred writes in one batch,
 * EV_WRITE while the peer does not read and `written` at the low-water
 * mark, a failed write, the input's high-water mark and resuming once
 * drained, bytes taken in place, EOF, and a sockio freed from inside its
 * own callbacks.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "sockio.h"
#include "t.h"
#include "util.h"

T_GLOBALS;

struct owner {
	struct sockio	*io;
	int		 reads;
	int		 written;
	int		 events;
	int		 what;
	size_t		 fresh_take;	/* bytes `fresh` consumes */
	size_t		 fresh_seen;
	int		 free_in_read;
	int		 free_in_written;
};

static size_t
on_fresh(struct sockio *io, const uint8_t *p, size_t n, void *arg)
{
	struct owner	*o = arg;

	o->fresh_seen += n;
	return MINIMUM(n, o->fresh_take);
}

static void
on_read(struct sockio *io, void *arg)
{
	struct owner	*o = arg;

	o->reads++;
	if (o->free_in_read) {
		sockio_free(io);
		o->io = NULL;
	}
}

static void
on_written(struct sockio *io, void *arg)
{
	struct owner	*o = arg;

	o->written++;
	if (o->free_in_written) {
		sockio_free(io);
		o->io = NULL;
	}
}

static void
on_event(struct sockio *io, int what, void *arg)
{
	struct owner	*o = arg;

	o->events++;
	o->what = what;
}

static const struct sockio_cbs cbs = {
	.read = on_read,
	.written = on_written,
	.event = on_event,
};

static const struct sockio_cbs cbs_fresh = {
	.fresh = on_fresh,
	.read = on_read,
	.event = on_event,
};

static void
open_pair(struct event_base *base, int sv[2], struct owner *o,
    const struct sockio_cbs *c)
{
	memset(o, 0, sizeof(*o));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == -1)
		exit(1);
	o->io = sockio_new(base, sv[0], c, o);
}

/* Drain what the peer end holds; returns the byte count. */
static size_t
drain_peer(int fd)
{
	uint8_t	b[65536];
	size_t	total = 0;
	ssize_t	n;

	while ((n = read(fd, b, sizeof(b))) > 0)
		total += (size_t)n;
	return total;
}

static void
test_write(struct event_base *base)
{
	struct owner	 o;
	int		 sv[2];
	uint8_t		*big;
	size_t		 len = 4 << 20, got = 0;
	int		 i;

	T_BEGIN("writes: deferred, blocked, drained");
	open_pair(base, sv, &o, &cbs);
	sockio_write_low(o.io, 1024);
	evbuffer_add(sockio_output(o.io), "ab", 2);
	evbuffer_add(sockio_output(o.io), "cd", 2);
	T_EQ_INT(drain_peer(sv[1]), 0);		/* nothing before the loop */
	t_pump(base);
	T_EQ_INT(drain_peer(sv[1]), 4);		/* both in one batch */
	T_EQ_INT(o.written, 1);
	/* More than the socket takes: the rest waits for EV_WRITE. */
	big = xcalloc(1, len);
	evbuffer_add(sockio_output(o.io), big, len);
	t_pump(base);
	T_CHECK(evbuffer_get_length(sockio_output(o.io)) > 1024);
	T_EQ_INT(o.written, 1);
	for (i = 0; i < 1000 && got < len; i++) {
		got += drain_peer(sv[1]);
		t_pump(base);
	}
	T_EQ_INT(got, len);
	T_EQ_INT(evbuffer_get_length(sockio_output(o.io)), 0);
	T_CHECK(o.written >= 2);
	/* Freed in `written`: destroyed once the callback is done. */
	o.free_in_written = 1;
	evbuffer_add(sockio_output(o.io), "x", 1);
	t_pump(base);
	T_CHECK(o.io == NULL);
	T_EQ_INT(drain_peer(sv[1]), 1);
	T_EQ_INT(read(sv[1], big, 1), 0);	/* and its socket closed */
	free(big);
	close(sv[1]);
}

static void
test_write_error(struct event_base *base)
{
	struct owner	 o;
	int		 sv[2];

	T_BEGIN("writes: a failed write is reported once and stops I/O");
	open_pair(base, sv, &o, &cbs);
	close(sv[1]);
	evbuffer_add(sockio_output(o.io), "x", 1);
	t_pump(base);
	T_EQ_INT(o.events, 1);
	T_EQ_INT(o.what, SIO_ERROR | SIO_WRITING);
	T_EQ_INT(o.written, 0);
	evbuffer_add(sockio_output(o.io), "y", 1);
	t_pump(base);
	T_EQ_INT(o.events, 1);
	sockio_free(o.io);
}

static void
test_read(struct event_base *base)
{
	struct owner	 o;
	uint8_t		 b[4096];
	int		 sv[2];

	T_BEGIN("reads: off at first, high-water mark, EOF");
	memset(b, 'r', sizeof(b));
	open_pair(base, sv, &o, &cbs);
	T_EQ_INT(write(sv[1], b, sizeof(b)), sizeof(b));
	t_pump(base);
	T_EQ_INT(o.reads, 0);
	sockio_read_limit(o.io, 1000);
	sockio_read(o.io, 1);
	t_pump(base);
	T_EQ_INT(evbuffer_get_length(sockio_input(o.io)), 1000);
	T_EQ_INT(o.reads, 1);
	/* Drained below the mark: reading resumes. */
	evbuffer_drain(sockio_input(o.io), 1000);
	t_pump(base);
	T_EQ_INT(evbuffer_get_length(sockio_input(o.io)), 1000);
	sockio_read_limit(o.io, 0);
	t_pump(base);
	T_EQ_INT(evbuffer_get_length(sockio_input(o.io)), sizeof(b) - 1000);
	close(sv[1]);
	t_pump(base);
	T_EQ_INT(o.events, 1);
	T_EQ_INT(o.what, SIO_EOF);
	sockio_free(o.io);

	T_BEGIN("reads: freed from the read callback");
	open_pair(base, sv, &o, &cbs);
	o.free_in_read = 1;
	sockio_read(o.io, 1);
	T_EQ_INT(write(sv[1], b, 10), 10);
	t_pump(base);
	T_EQ_INT(o.reads, 1);
	T_CHECK(o.io == NULL);
	T_EQ_INT(write(sv[1], b, 1), -1);	/* the other end is gone */
	T_EQ_INT(errno, EPIPE);
	close(sv[1]);
}

static void
test_fresh(struct event_base *base)
{
	struct owner	 o;
	int		 sv[2];

	T_BEGIN("reads: fresh bytes in place, the rest buffered");
	open_pair(base, sv, &o, &cbs_fresh);
	o.fresh_take = 6;
	sockio_read(o.io, 1);
	T_EQ_INT(write(sv[1], "0123456789", 10), 10);
	t_pump(base);
	T_EQ_INT(o.fresh_seen, 10);
	T_EQ_INT(evbuffer_get_length(sockio_input(o.io)), 4);
	/* With bytes buffered, new ones go behind them. */
	T_EQ_INT(write(sv[1], "ab", 2), 2);
	t_pump(base);
	T_EQ_INT(o.fresh_seen, 10);
	T_EQ_INT(evbuffer_get_length(sockio_input(o.io)), 6);
	T_EQ_INT(o.reads, 2);
	sockio_free(o.io);
	close(sv[1]);
}

int
main(void)
{
	struct event_base	*base;

	if ((base = event_base_new()) == NULL)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	test_write(base);
	test_write_error(base);
	test_read(base);
	test_fresh(base);
	event_base_free(base);
	T_DONE();
}
