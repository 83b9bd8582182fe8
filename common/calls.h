/*
 * Requests that wait for an answer on a channel (the OpenSSH monitor's
 * request/answer pairs): each call gets a fresh id, which the request
 * frame carries and its answer repeats, a callback and an optional
 * timeout.  An answer whose id nobody waits for is unsolicited and the
 * caller refuses it.  One table per channel; the worker keeps one for its
 * keyd and one for the parent, keyd one for the parent.
 */
#ifndef PM_CALLS_H
#define PM_CALLS_H

#include <sys/queue.h>

#include <stdint.h>

struct buf;
struct chan;
struct event_base;
struct msg_hdr;
struct msgr;

/* The answer, or hdr NULL when it timed out or the channel went away. */
typedef void	(*call_cb)(const struct msg_hdr *, struct msgr *, void *arg);

struct call;

struct calls {
	TAILQ_HEAD(, call)	 q;
	struct event_base	*base;
	struct chan		*chan;		/* NULL once gone */
};

void		calls_init(struct calls *, struct event_base *, struct chan *);
/* Send type with m and wait for the answer (timeout_ms 0: no limit). */
uint32_t	calls_send(struct calls *, unsigned int type, const struct buf *m,
		    call_cb, void *arg, int timeout_ms);
/* Hand an answer to its call; -1 if no call waits for hdr->id. */
int		calls_answer(struct calls *, const struct msg_hdr *,
		    struct msgr *);
/* The caller went away: its answer, when it comes, is taken and dropped. */
void		calls_forget(struct calls *, uint32_t id);
/* The channel is gone: every call hears so (hdr NULL), then none is left. */
void		calls_lost(struct calls *);

#endif
