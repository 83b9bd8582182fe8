/* Direct output for plain-socket bufferevents; see bevout.h. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "bevout.h"
#include "log.h"
#include "util.h"

struct bevout {
	struct bufferevent	*bev;
	struct evbuffer_cb_entry *cbent;
	struct event		*flush;
	bufferevent_data_cb	 written;
	void			*arg;
	int			 connected;
	int			 writing;	/* our own drain: no new flush */
};

/*
 * Bytes added, or the buffer emptied by libevent: look again once the
 * current callback is done.  event_active() costs no system call.
 */
static void
changed(struct evbuffer *b, const struct evbuffer_cb_info *info, void *arg)
{
	struct bevout	*o = arg;

	if (o->writing)
		return;
	if (info->n_added > 0 ||
	    info->orig_size + info->n_added == info->n_deleted)
		event_active(o->flush, 0, 0);
}

static void
flush(evutil_socket_t fd, short ev, void *arg)
{
	struct bevout	*o = arg;
	struct evbuffer	*out = bufferevent_get_output(o->bev);
	int		 n;

	if (bufferevent_get_enabled(o->bev) & EV_WRITE) {
		/* libevent had the rest; once it is out, back to direct. */
		if (o->connected && evbuffer_get_length(out) == 0)
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
	if (o->written != NULL)
		o->written(o->bev, o->arg);	/* may free o */
}

struct bevout *
bevout_new(struct event_base *base, struct bufferevent *bev, int connected,
    bufferevent_data_cb written, void *arg)
{
	struct bevout	*o;

	o = xcalloc(1, sizeof(*o));
	o->bev = bev;
	o->written = written;
	o->arg = arg;
	if ((o->flush = event_new(base, -1, 0, flush, o)) == NULL ||
	    (o->cbent = evbuffer_add_cb(bufferevent_get_output(bev), changed,
	    o)) == NULL)
		fatalx("%s: libevent setup", __func__);
	if (connected)
		bevout_connected(o);
	return o;
}

void
bevout_connected(struct bevout *o)
{
	o->connected = 1;
	if (evbuffer_get_length(bufferevent_get_output(o->bev)) == 0)
		bufferevent_disable(o->bev, EV_WRITE);
}

void
bevout_free(struct bevout *o)
{
	if (o == NULL)
		return;
	evbuffer_remove_cb_entry(bufferevent_get_output(o->bev), o->cbent);
	event_free(o->flush);
	free(o);
}
