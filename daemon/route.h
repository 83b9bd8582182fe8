/* Request routing in the worker: path + method → handler. */
#ifndef PM_ROUTE_H
#define PM_ROUTE_H

struct request;

int	route_head(struct request *);
void	route_request(struct request *);

#endif
