/*
 * dump_requests (daemon/dump.c): a request and its answer to the parent.
 */
#ifndef PM_DUMP_H
#define PM_DUMP_H

struct request;

/* The answer's head, into request->dump. */
void	dump_head(struct request *, int status, const char *ctype,
	    const char *extra);
/* The request and the answer collected to the parent (MSG_DUMP). */
void	dump_send(struct request *);

#endif
