/*
 * A framed, non-blocking IPC channel on one end of a socketpair, driven
 * by libevent.  The first frame in each direction is MSG_HELLO carrying
 * IPC_PROTO_VERSION; a mismatch, an unknown type, a type the peer's role
 * may not send (the peer name is its role: "parent", "worker", "keyd"),
 * a frame over its cap, a descriptor no frame asked for, or a payload
 * the handler rejects closes the channel.
 */
#ifndef PM_CHAN_H
#define PM_CHAN_H

#include <stdint.h>

#include "ipc.h"

struct event_base;
struct chan;

/* Return 0 if the message was handled, -1 to fail the channel. */
typedef int	(*chan_dispatch_fn)(struct chan *, const struct msg_hdr *,
		    struct msgr *, void *);
typedef void	(*chan_closed_fn)(struct chan *, const char *why, void *);

struct chan_peerinfo {
	char	role[16];
	int	instance;
	long	pid;
};

struct chan	*chan_new(struct event_base *, int fd, const char *peer,
		    size_t data_cap, chan_dispatch_fn, chan_closed_fn, void *);
void		 chan_free(struct chan *);
void		 chan_send(struct chan *, unsigned int type, uint32_t id,
		    const struct buf *);
/* Queue a frame whose payload is a secret: it is referenced, never
 * copied into library-owned buffers, and zeroed once written. */
int		 chan_send_secret(struct chan *, unsigned int type, uint32_t id,
		    const struct buf *);
/* Queue a frame and, with it, a descriptor the channel then owns and
 * closes once sent. */
void		 chan_send_fd(struct chan *, unsigned int type, uint32_t id,
		    const struct buf *, int fd);
/* Take descriptors from the peer (else the kernel discards any). */
void		 chan_accept_fds(struct chan *);
/* The oldest descriptor received and not yet taken, or -1. */
int		 chan_take_fd(struct chan *);
int		 chan_flush_sync(struct chan *, int timeout_ms);
uint32_t	 chan_next_id(struct chan *);
const char	*chan_peer(const struct chan *);
const struct chan_peerinfo *chan_peerinfo(const struct chan *);
/* Stop reading (backpressure) or resume. */
void		 chan_pause(struct chan *, int);
void		 chan_set_data_cap(struct chan *, size_t);
/* Our own identity, sent in HELLO by every channel of this process. */
void		 chan_set_identity(const char *role, int instance);

#endif
