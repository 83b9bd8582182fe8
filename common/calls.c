/* Requests that wait for an answer on a channel (calls.h). */
#include "config.h"

#include <stdlib.h>

#include <event2/event.h>

#include "calls.h"
#include "chan.h"
#include "ipc.h"
#include "log.h"
#include "util.h"

struct call {
	TAILQ_ENTRY(call)	 entry;
	struct calls		*set;
	uint32_t		 id;
	call_cb			 cb;		/* NULL: forgotten */
	void			*arg;
	struct event		*timeout;
};

void
calls_init(struct calls *cs, struct event_base *base, struct chan *c)
{
	TAILQ_INIT(&cs->q);
	cs->base = base;
	cs->chan = c;
}

static void
call_free(struct call *cl)
{
	TAILQ_REMOVE(&cl->set->q, cl, entry);
	if (cl->timeout != NULL)
		event_free(cl->timeout);
	free(cl);
}

/* Run the callback once, after the call is gone from the table. */
static void
call_end(struct call *cl, const struct msg_hdr *hdr, struct msgr *r)
{
	call_cb	 cb = cl->cb;
	void	*arg = cl->arg;

	call_free(cl);
	if (cb != NULL)
		cb(hdr, r, arg);
}

static void
call_timeout(evutil_socket_t fd, short ev, void *arg)
{
	struct call	*cl = arg;

	log_warnx("%s did not answer request %u in time",
	    cl->set->chan != NULL ? chan_peer(cl->set->chan) : "peer", cl->id);
	call_end(cl, NULL, NULL);
}

uint32_t
calls_send(struct calls *cs, unsigned int type, const struct buf *m,
    call_cb cb, void *arg, int timeout_ms)
{
	struct call	*cl;
	struct timeval	 tv;

	if (cs->chan == NULL) {
		if (cb != NULL)
			cb(NULL, NULL, arg);
		return 0;
	}
	cl = xcalloc(1, sizeof(*cl));
	cl->set = cs;
	cl->id = chan_next_id(cs->chan);
	cl->cb = cb;
	cl->arg = arg;
	if (timeout_ms > 0) {
		if ((cl->timeout = evtimer_new(cs->base, call_timeout,
		    cl)) == NULL)
			fatalx("%s: evtimer_new", __func__);
		ms_to_tv(timeout_ms, &tv);
		evtimer_add(cl->timeout, &tv);
	}
	TAILQ_INSERT_TAIL(&cs->q, cl, entry);
	chan_send(cs->chan, type, cl->id, m);
	return cl->id;
}

int
calls_answer(struct calls *cs, const struct msg_hdr *hdr, struct msgr *r)
{
	struct call	*cl;

	/* Answers mostly come in order: the head is the usual match. */
	TAILQ_FOREACH(cl, &cs->q, entry)
		if (cl->id == hdr->id && hdr->id != 0) {
			call_end(cl, hdr, r);
			return 0;
		}
	return -1;
}

void
calls_forget(struct calls *cs, uint32_t id)
{
	struct call	*cl;

	/* The slot stays, so that the late answer is still recognised. */
	TAILQ_FOREACH(cl, &cs->q, entry)
		if (cl->id == id && id != 0)
			cl->cb = NULL;
}

void
calls_lost(struct calls *cs)
{
	struct call	*cl;

	cs->chan = NULL;
	while ((cl = TAILQ_FIRST(&cs->q)) != NULL)
		call_end(cl, NULL, NULL);
}
