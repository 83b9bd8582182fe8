/*
 * Direct output for plain-socket bufferevents.  A bufferevent registers
 * EV_WRITE when bytes are added and drops it once they are written: two
 * epoll_ctl(2) calls and an extra trip through the event loop for every
 * response and every streamed event.  With a bevout attached the
 * bufferevent's EV_WRITE stays off; what the current callback added goes
 * out in one writev(2) as soon as it returns, and only a write that would
 * block (or fails) hands the rest to libevent, with EV_WRITE on until the
 * buffer is empty again.  The bufferevent's write callback runs as
 * libevent would run it: once the output is at or below the low-water
 * mark.  Not for TLS bufferevents, whose output is not the socket's.
 */
#ifndef PM_BEVOUT_H
#define PM_BEVOUT_H

#include <event2/bufferevent.h>

struct bevout;

/*
 * Attach to bev, whose data callbacks are written/arg.  A connecting
 * socket keeps EV_WRITE until bevout_connected(): libevent learns of the
 * connection through it.
 */
struct bevout	*bevout_new(struct event_base *, struct bufferevent *,
		    int connected, bufferevent_data_cb written, void *arg);
void		 bevout_connected(struct bevout *);
/* Before bufferevent_free(). */
void		 bevout_free(struct bevout *);

#endif
