/*
 * Network worker process: one per configured worker.  It owns the
 * client connections, parses HTTP, connects upstream for its keyd and
 * hands the sockets over; it never holds a key nor touches an upstream
 * byte: every secret operation is a request to its keyd.
 */
#ifndef PM_WORKER_H
#define PM_WORKER_H

#include <stdint.h>

#include "calls.h"

struct msg_hdr;
struct msgr;
struct buf;
struct config;
struct event_base;


struct worker_env {
	struct event_base	*base;
	const struct config	*conf;
	int			 instance;
};

extern struct worker_env	*wenv;

/* Send a request to keyd; returns the request id. */
uint32_t	keyd_call(unsigned int type, const struct buf *, call_cb,
		    void *arg, int timeout_ms);
/* A request to the parent (metrics), answered like keyd_call. */
uint32_t	parent_call(unsigned int type, const struct buf *, call_cb,
		    void *arg, int timeout_ms);
void		parent_cancel(uint32_t id);
/* A message to the parent that expects no answer. */
void		parent_send(unsigned int type, const struct buf *);
/* A message to keyd that expects no answer (id: the data path's). */
void		keyd_send(unsigned int type, uint32_t id, const struct buf *);
/* The same with a descriptor keyd takes over (SCM_RIGHTS). */
void		keyd_send_fd(unsigned int type, uint32_t id, const struct buf *,
		    int fd);
/* Forget a pending call (its requester went away); the answer is dropped. */
void		keyd_cancel(uint32_t id);
int		keyd_alive(void);

#endif
