/*
 * The API routes in the worker: validate and limit the client request,
 * send it to keyd in plaintext (MSG_REQ), and relay keyd's answer events
 * (head, decrypted data, end, error) to the client, telling keyd when the
 * client stops reading, reads again or leaves (MSG_REQ_CTL).
 */
#ifndef PM_PROXY_H
#define PM_PROXY_H

#include <stdint.h>

#include "ipc.h"
#include "routes.h"

struct msgr;
struct request;

/* Early checks on the head (content type): 0 to read the body. */
int	proxy_head(struct request *, enum route_kind);
void	proxy_request(struct request *, enum route_kind, const char *upath);
/* MSG_RESP: events for exchange xid; -1 if malformed. */
int	proxy_answer(uint32_t xid, struct msgr *);
/* keyd is gone: every exchange in flight ends with an error. */
void	proxy_keyd_lost(void);

#endif
