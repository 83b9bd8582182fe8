/* Direct I/O for plain-socket bufferevents; see bevio.h. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "bevio.h"
#include "log.h"
#include "util.h"

#define READ_MAX	16384		/* libevent's own per-read maximum */

struct bevio {
	struct bufferevent	*bev;
	struct event_base	*base;
	struct evbuffer_cb_entry *outcb;
	struct evbuffer_cb_entry *incb;
	struct event		*flush;
	struct event		*rev;		/* NULL until connected */
	int			 writing;	/* our own drain: no new flush */
	int			 want_read;
	size_t			 high;
};

/* --- reading ------------------------------------------------------------- */

static int
reading(const struct bevio *o)
{
	return o->rev != NULL && event_pending(o->rev, EV_READ, NULL);
}

static void
read_apply(struct bevio *o)
{
	struct evbuffer	*in = bufferevent_get_input(o->bev);
	int		 on;

	on = o->rev != NULL && o->want_read &&
	    (o->high == 0 || evbuffer_get_length(in) < o->high);
	if (on && !reading(o))
		event_add(o->rev, NULL);
	else if (!on && reading(o))
		event_del(o->rev);
}

static void
readable(evutil_socket_t fd, short ev, void *arg)
{
	static uint8_t		 rbuf[READ_MAX];
	struct bevio		*o = arg;
	struct bufferevent	*bev = o->bev;
	struct evbuffer		*in = bufferevent_get_input(bev);
	bufferevent_data_cb	 rcb;
	bufferevent_event_cb	 ecb;
	void			*cbarg;
	size_t			 want = sizeof(rbuf), len;
	ssize_t			 n;
	int			 saved;

	if (o->high > 0) {
		if ((len = evbuffer_get_length(in)) >= o->high) {
			read_apply(o);
			return;
		}
		want = MINIMUM(want, o->high - len);
	}
	n = read(fd, rbuf, want);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	bufferevent_getcb(bev, &rcb, NULL, &ecb, &cbarg);
	if (n > 0) {
		/* A bufferevent keeps the end of its input frozen. */
		evbuffer_unfreeze(in, 0);
		if (evbuffer_add(in, rbuf, (size_t)n) == -1)
			fatalx("%s: evbuffer_add", __func__);
		evbuffer_freeze(in, 0);
		if (o->high > 0)
			read_apply(o);
		if (rcb != NULL)
			rcb(bev, cbarg);	/* may free o */
		return;
	}
	/* As libevent does: reading stops, the owner hears why. */
	saved = errno;
	o->want_read = 0;
	read_apply(o);
	errno = saved;
	if (ecb != NULL)
		ecb(bev, BEV_EVENT_READING | (n == 0 ? BEV_EVENT_EOF :
		    BEV_EVENT_ERROR), cbarg);
}

/* The owner drained the input: below the high-water mark, read again. */
static void
input_changed(struct evbuffer *b, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct bevio	*o = arg;

	if (o->high > 0 && info->n_deleted > 0 && !reading(o))
		read_apply(o);
}

void
bevio_read(struct bevio *o, int on)
{
	o->want_read = on;
	read_apply(o);
}

void
bevio_read_limit(struct bevio *o, size_t high)
{
	o->high = high;
	read_apply(o);
}

/* --- writing ------------------------------------------------------------- */

/*
 * Bytes added, or the output emptied by libevent: look again once the
 * current callback is done.  event_active() costs no system call.
 */
static void
output_changed(struct evbuffer *b, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct bevio	*o = arg;

	if (o->writing)
		return;
	if (info->n_added > 0 ||
	    info->orig_size + info->n_added == info->n_deleted)
		event_active(o->flush, 0, 0);
}

static void
flush(evutil_socket_t fd, short ev, void *arg)
{
	struct bevio		*o = arg;
	struct evbuffer		*out = bufferevent_get_output(o->bev);
	bufferevent_data_cb	 wcb;
	void			*cbarg;
	int			 n;

	if (bufferevent_get_enabled(o->bev) & EV_WRITE) {
		/* libevent had the rest; once it is out, back to direct. */
		if (o->rev != NULL && evbuffer_get_length(out) == 0)
			bufferevent_disable(o->bev, EV_WRITE);
		return;
	}
	if (evbuffer_get_length(out) == 0)
		return;
	/* A bufferevent keeps the start of its output frozen. */
	o->writing = 1;
	evbuffer_unfreeze(out, 1);
	do
		n = evbuffer_write(out, bufferevent_getfd(o->bev));
	while (n == -1 && errno == EINTR);
	evbuffer_freeze(out, 1);
	o->writing = 0;
	if (evbuffer_get_length(out) > 0) {
		/*
		 * Blocked (or failed: libevent's own write then reports the
		 * error through the event callback).
		 */
		bufferevent_enable(o->bev, EV_WRITE);
		return;
	}
	/* Empty, so at or below any low-water mark. */
	bufferevent_getcb(o->bev, NULL, &wcb, NULL, &cbarg);
	if (wcb != NULL)
		wcb(o->bev, cbarg);	/* may free o */
}

/* --- life cycle ---------------------------------------------------------- */

struct bevio *
bevio_new(struct event_base *base, struct bufferevent *bev, int connected)
{
	struct bevio	*o;

	o = xcalloc(1, sizeof(*o));
	o->bev = bev;
	o->base = base;
	bufferevent_disable(bev, EV_READ);
	if ((o->flush = event_new(base, -1, 0, flush, o)) == NULL ||
	    (o->outcb = evbuffer_add_cb(bufferevent_get_output(bev),
	    output_changed, o)) == NULL ||
	    (o->incb = evbuffer_add_cb(bufferevent_get_input(bev),
	    input_changed, o)) == NULL)
		fatalx("%s: libevent setup", __func__);
	if (connected)
		bevio_connected(o);
	return o;
}

void
bevio_connected(struct bevio *o)
{
	if (o->rev == NULL && (o->rev = event_new(o->base,
	    bufferevent_getfd(o->bev), EV_READ | EV_PERSIST, readable,
	    o)) == NULL)
		fatalx("%s: event_new", __func__);
	if (evbuffer_get_length(bufferevent_get_output(o->bev)) == 0)
		bufferevent_disable(o->bev, EV_WRITE);
	read_apply(o);
}

void
bevio_free(struct bevio *o)
{
	if (o == NULL)
		return;
	evbuffer_remove_cb_entry(bufferevent_get_output(o->bev), o->outcb);
	evbuffer_remove_cb_entry(bufferevent_get_input(o->bev), o->incb);
	if (o->rev != NULL)
		event_free(o->rev);
	event_free(o->flush);
	free(o);
}
