/* The socket I/O core: deferred writes and single reads; see sockio.h. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "log.h"
#include "sockio.h"
#include "util.h"

#define SOCKIO_READ_MAX	(64 * 1024)

struct sockio {
	int			 fd;
	const struct sockio_cbs	*cbs;
	void			*arg;
	struct event		*rev;		/* EV_READ, while reading */
	struct event		*wev;		/* EV_WRITE, while blocked */
	struct event		*flush;		/* activated by new output */
	struct evbuffer		*in;
	struct evbuffer		*out;
	struct evbuffer_cb_entry *incb;
	struct evbuffer_cb_entry *outcb;
	size_t			 high;		/* input: stop reading here */
	size_t			 low;		/* output: `written` here */
	int			 want_read;
	int			 stopped;
	int			 busy;		/* in an owner's callback */
	int			 freed;		/* ... which freed us */
};

static void
destroy(struct sockio *o)
{
	evbuffer_remove_cb_entry(o->in, o->incb);
	evbuffer_remove_cb_entry(o->out, o->outcb);
	event_free(o->rev);
	event_free(o->wev);
	event_free(o->flush);
	evbuffer_free(o->in);
	evbuffer_free(o->out);
	close(o->fd);
	free(o);
}

/*
 * Around the owner's callbacks: a sockio freed in one lives until the
 * outermost returns.  leave() says whether the caller must stop.
 */
static void
enter(struct sockio *o)
{
	o->busy++;
}

static int
leave(struct sockio *o)
{
	if (--o->busy == 0 && o->freed) {
		destroy(o);
		return 1;
	}
	return o->freed;
}

/* --- reading ------------------------------------------------------------- */

static int
reading(const struct sockio *o)
{
	return event_pending(o->rev, EV_READ, NULL);
}

static void
read_apply(struct sockio *o)
{
	int	on;

	on = o->want_read && !o->stopped &&
	    (o->high == 0 || evbuffer_get_length(o->in) < o->high);
	if (on && !reading(o))
		event_add(o->rev, NULL);
	else if (!on && reading(o))
		event_del(o->rev);
}

/* The owner drained the input: below the high-water mark, read again. */
static void
input_changed(struct evbuffer *b, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct sockio	*o = arg;

	if (o->high > 0 && info->n_deleted > 0 && !reading(o))
		read_apply(o);
}

/* Fresh bytes to the owner: in place if it takes them, else buffered. */
static void
deliver(struct sockio *o, const uint8_t *p, size_t n)
{
	size_t	used = 0;

	if (o->cbs->fresh != NULL && evbuffer_get_length(o->in) == 0) {
		used = o->cbs->fresh(o, p, n, o->arg);
		if (o->freed)
			return;
	}
	if (used < n && evbuffer_add(o->in, p + used, n - used) == -1)
		fatalx("%s: evbuffer_add", __func__);
	if (o->high > 0)
		read_apply(o);
	if (o->cbs->read != NULL)
		o->cbs->read(o, o->arg);
}

ssize_t
sockio_read_now(struct sockio *o)
{
	static uint8_t	 rbuf[SOCKIO_READ_MAX];
	size_t		 want = sizeof(rbuf), len;
	ssize_t		 n;
	int		 saved;

	if (o->high > 0) {
		if ((len = evbuffer_get_length(o->in)) >= o->high) {
			read_apply(o);
			errno = EAGAIN;
			return -1;
		}
		want = MINIMUM(want, o->high - len);
	}
	enter(o);
	if (o->cbs->readfn != NULL)
		n = o->cbs->readfn(o, rbuf, want, o->arg);
	else
		n = read(o->fd, rbuf, want);
	saved = errno;
	if (n > 0) {
		deliver(o, rbuf, (size_t)n);
		explicit_bzero(rbuf, (size_t)n);
	} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		/* As libevent does: reading stops, the owner hears why. */
		o->want_read = 0;
		read_apply(o);
		errno = saved;
		o->cbs->event(o, n == 0 ? SIO_EOF : SIO_ERROR, o->arg);
	}
	leave(o);
	errno = saved;
	return n;
}

static void
on_readable(evutil_socket_t fd, short ev, void *arg)
{
	(void)sockio_read_now(arg);
}

void
sockio_read(struct sockio *o, int on)
{
	o->want_read = on;
	read_apply(o);
}

void
sockio_read_limit(struct sockio *o, size_t high)
{
	o->high = high;
	read_apply(o);
}

/* --- writing ------------------------------------------------------------- */

/* Bytes added: write them once the current callback is done. */
static void
output_changed(struct evbuffer *b, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct sockio	*o = arg;

	if (info->n_added > 0 && !o->stopped &&
	    !event_pending(o->wev, EV_WRITE, NULL))
		event_active(o->flush, 0, 0);
}

/* One write of the output; *full when the socket took less. */
static ssize_t
write_some(struct sockio *o, int *full)
{
	size_t	want;
	ssize_t	n;

	if (o->cbs->writefn != NULL)
		return o->cbs->writefn(o, full, o->arg);
	want = evbuffer_get_length(o->out);
	n = evbuffer_write(o->out, o->fd);
	*full = n >= 0 && (size_t)n < want;
	return n;
}

/* Write what is queued; EV_WRITE only while the socket is full. */
static void
flush_out(evutil_socket_t fd, short ev, void *arg)
{
	struct sockio	*o = arg;
	size_t		 before = evbuffer_get_length(o->out), left;
	int		 full = 0;

	if (o->stopped)
		return;
	if (before == 0) {
		event_del(o->wev);
		return;
	}
	while (!full && evbuffer_get_length(o->out) > 0) {
		if (write_some(o, &full) == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			/* Nothing more on this socket: no second report. */
			sockio_stop(o);
			enter(o);
			o->cbs->event(o, SIO_ERROR | SIO_WRITING, o->arg);
			leave(o);
			return;
		}
	}
	if ((left = evbuffer_get_length(o->out)) > 0)
		event_add(o->wev, NULL);
	else
		event_del(o->wev);
	if (o->cbs->written != NULL && left < before && left <= o->low) {
		enter(o);
		o->cbs->written(o, o->arg);
		leave(o);
	}
}

void
sockio_write_low(struct sockio *o, size_t low)
{
	o->low = low;
}

int
sockio_flush_sync(struct sockio *o, int timeout_ms)
{
	struct pollfd	pfd;
	int		full;

	pfd.fd = o->fd;
	pfd.events = POLLOUT;
	while (evbuffer_get_length(o->out) > 0) {
		if (write_some(o, &full) == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN || poll(&pfd, 1, timeout_ms) <= 0)
				return -1;
		}
	}
	event_del(o->wev);
	return 0;
}

/* --- life cycle ---------------------------------------------------------- */

struct sockio *
sockio_new(struct event_base *base, int fd, const struct sockio_cbs *cbs,
    void *arg)
{
	struct sockio	*o;

	o = xcalloc(1, sizeof(*o));
	o->fd = fd;
	o->cbs = cbs;
	o->arg = arg;
	o->rev = event_new(base, fd, EV_READ | EV_PERSIST, on_readable, o);
	o->wev = event_new(base, fd, EV_WRITE | EV_PERSIST, flush_out, o);
	o->flush = event_new(base, -1, 0, flush_out, o);
	o->in = evbuffer_new();
	o->out = evbuffer_new();
	if (o->rev == NULL || o->wev == NULL || o->flush == NULL ||
	    o->in == NULL || o->out == NULL ||
	    (o->incb = evbuffer_add_cb(o->in, input_changed, o)) == NULL ||
	    (o->outcb = evbuffer_add_cb(o->out, output_changed, o)) == NULL)
		fatalx("%s: libevent setup", __func__);
	return o;
}

void
sockio_stop(struct sockio *o)
{
	o->stopped = 1;
	event_del(o->rev);
	event_del(o->wev);
	event_del(o->flush);
}

void
sockio_free(struct sockio *o)
{
	if (o == NULL)
		return;
	sockio_stop(o);
	if (o->busy > 0)
		o->freed = 1;
	else
		destroy(o);
}

int
sockio_fd(const struct sockio *o)
{
	return o->fd;
}

struct evbuffer *
sockio_input(struct sockio *o)
{
	return o->in;
}

struct evbuffer *
sockio_output(struct sockio *o)
{
	return o->out;
}
