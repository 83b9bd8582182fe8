/*
 * The API routes in the worker: validate and limit the client request,
 * hand it to keyd for sealing over a pooled upstream connection, and
 * relay keyd's events (head, decrypted data, end, error, retry) to the
 * client with backpressure.
 */
#ifndef PM_PROXY_H
#define PM_PROXY_H

#include "ipc.h"

struct request;

/* Early checks on the head (content type): 0 to read the body. */
int	proxy_head(struct request *, enum route_kind);
void	proxy_request(struct request *, enum route_kind, const char *upath);

#endif
