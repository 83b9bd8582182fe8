/*
 * Direct I/O for plain-socket bufferevents.  A bufferevent asks FIONREAD
 * before every read, registers EV_WRITE when bytes are added and drops it
 * once they are written: per response or streamed event an ioctl(2), two
 * epoll_ctl(2) calls and an extra trip through the event loop.
 *
 * With a bevio attached, libevent does neither reading nor (normally)
 * writing for the bufferevent, whose EV_READ and EV_WRITE stay off; the
 * owner keeps its input and output evbuffers and its callbacks.
 *   reading:  one read(2) into the input per readiness, the read callback
 *	       as libevent would call it, EOF and errors to the event
 *	       callback with BEV_EVENT_READING; a high-water mark stops
 *	       reading until the input is drained below it.
 *   writing:  what a callback added goes out in one writev(2) as soon as it
 *	       returns; only a write that would block (or fails) hands the
 *	       rest to libevent, EV_WRITE on until the output is empty again.
 *	       The write callback runs once the output is empty.
 * Not for TLS bufferevents, whose buffers are not the socket's.
 */
#ifndef PM_BEVIO_H
#define PM_BEVIO_H

#include <stddef.h>

#include <event2/bufferevent.h>

struct bevio;

/*
 * Attach to bev once its callbacks are set.  A connecting socket keeps
 * libevent's EV_WRITE until bevio_connected(): that is how libevent learns
 * of the connection.  Reading starts off.
 */
struct bevio	*bevio_new(struct event_base *, struct bufferevent *,
		    int connected);
void		 bevio_connected(struct bevio *);
/* Read or stop reading (backpressure); effective once connected. */
void		 bevio_read(struct bevio *, int on);
/* Stop reading while the input holds this much (0: no limit). */
void		 bevio_read_limit(struct bevio *, size_t high);
/* Before bufferevent_free(). */
void		 bevio_free(struct bevio *);

#endif
