/*
 * The socket I/O core: a non-blocking stream socket driven by libevent
 * with the fewest system calls per message, under IPC channels (chan.c),
 * the worker's plain client connections (daemon/server.c) and keyd's
 * upstream connections (keyd/ktun.c, TLS above it through memory BIOs).
 *
 * A bufferevent asks FIONREAD before every read and registers EV_WRITE
 * when bytes are added and drops it once they are written: per message an
 * ioctl(2), two epoll_ctl(2) calls and an extra trip through the event
 * loop.  Here:
 *   writing:  bytes added to the output only activate a flush event (no
 *	       system call); once the current callback returns, one writev(2)
 *	       sends all of them.  EV_WRITE is registered only while a write
 *	       would block, until the output is empty again.  `written` runs
 *	       when a write leaves the output at or below the low-water mark.
 *   reading:  one read(2) per readiness into a static buffer, wiped
 *	       afterwards (keyd reads secrets through it).  While the input
 *	       buffer is empty, `fresh` may consume the bytes in place; the
 *	       rest is appended to the input and `read` runs.  A high-water
 *	       mark stops reading until the owner drains the input below it.
 *   errors:   EOF or a failed read goes to `event` (errno set for
 *	       SIO_ERROR) and reading stops; a failed write stops all I/O.
 * Any callback may free the sockio: it is then destroyed once the core's
 * own callback has unwound.  Reading starts off (sockio_read).  The bytes
 * in its buffers are the socket's: a TLS session sits above it.
 */
#ifndef PM_SOCKIO_H
#define PM_SOCKIO_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct evbuffer;
struct sockio;

#define SIO_EOF		0x01
#define SIO_ERROR	0x02
#define SIO_WRITING	0x04		/* with SIO_ERROR: a write failed */

struct sockio_cbs {
	/* Optional: fresh bytes while the input is empty; returns how
	 * many it consumed in place. */
	size_t	(*fresh)(struct sockio *, const uint8_t *, size_t, void *);
	/* Optional: bytes were read (after `fresh` and appending the rest). */
	void	(*read)(struct sockio *, void *);
	/* Optional: a write left the output at or below the low-water mark. */
	void	(*written)(struct sockio *, void *);
	/* SIO_EOF, or SIO_ERROR (| SIO_WRITING). */
	void	(*event)(struct sockio *, int, void *);
	/* Optional replacements for read(2) and for one write of the
	 * output (descriptor passing); the write sets *full when the
	 * socket took less than it was offered. */
	ssize_t	(*readfn)(struct sockio *, uint8_t *, size_t, void *);
	ssize_t	(*writefn)(struct sockio *, int *full, void *);
};

/* Owns fd from here on: sockio_free() closes it. */
struct sockio	*sockio_new(struct event_base *, int fd,
		    const struct sockio_cbs *, void *);
void		 sockio_free(struct sockio *);
int		 sockio_fd(const struct sockio *);
struct evbuffer	*sockio_input(struct sockio *);
struct evbuffer	*sockio_output(struct sockio *);
/* Read or stop reading (backpressure). */
void		 sockio_read(struct sockio *, int on);
/* Stop reading while the input holds this much (0: no limit). */
void		 sockio_read_limit(struct sockio *, size_t high);
void		 sockio_write_low(struct sockio *, size_t low);
/* One read now, as on readiness; returns what read(2) returned.  Not
 * from inside a read callback: all share the one static buffer. */
ssize_t		 sockio_read_now(struct sockio *);
/* Write all the output, blocking up to timeout_ms per wait. */
int		 sockio_flush_sync(struct sockio *, int timeout_ms);
/* Stop all I/O for good; what is queued stays unsent. */
void		 sockio_stop(struct sockio *);

#endif
