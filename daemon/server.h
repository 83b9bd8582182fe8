/*
 * The worker's HTTP/1.1 server: connections, request parsing with limits
 * and timeouts, keep-alive, and responses (fixed-length or streamed with
 * chunked coding and backpressure).  Route handlers live in route.c.
 */
#ifndef PM_SERVER_H
#define PM_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "clients.h"
#include "http.h"
#include "pmerr.h"
#include "routes.h"
#include "usage.h"

struct event_base;
struct config;
struct ssl_ctx_st;
struct server;
struct conn;
struct request;
struct climit;
struct alimit;

/* Called once the head is parsed: return 0 to read the body, or respond
 * (e.g. 404/405/413) and return -1. */
typedef int	(*server_head_fn)(struct request *);
/* Called with the complete request; respond now or later. */
typedef void	(*server_request_fn)(struct request *);
/* Called when a drain completes (no connections left). */
typedef void	(*server_idle_fn)(struct server *, void *);

/*
 * A request belongs to the server.  A handler that answers later keeps
 * its state in hctx and sets on_abort: if the client goes away first,
 * on_abort is called and the request is freed right after it returns,
 * so the handler must forget its pointer there.  Once a response is
 * complete (req_respond, req_error, req_stream_end/abort) the request is
 * freed as well.
 */
struct request {
	struct conn		*conn;
	struct server		*srv;
	struct http_head	 head;
	char			*path;		/* raw path, no query */
	char			*query;		/* after '?', or NULL */
	struct buf		 body;
	uint64_t		 body_charged;	/* of the server's max_body_buffer */
	char			 peer[64];	/* client IP, for X-Forwarded-For */
	char			 id[128];	/* x-request-id */
	int			 id_minted;	/* ours, not the client's */
	uint64_t		 start_us;
	uint64_t		 first_us;	/* first answer byte, or 0 */
	int			 mroute;	/* enum m_route, for metrics */
	int			 proxied;	/* went upstream */
	int			 metrics_listener;	/* came in on metrics_listen */
	int			 head_only;	/* HEAD request */
	int			 wants_sse;	/* Accept: text/event-stream */
	enum route_dialect	 dialect;	/* of its errors (the route's) */
	int			 conn_close;	/* close after this response */
	struct buf		*dump;		/* dump_requests: the answer */
	/* access.c: who asked, what it cost, which slots it holds */
	uint8_t			 akey[16];	/* address key: IPv4, IPv6 /64 */
	int			 akey_ok;
	char			 client[CLIENT_NAME_MAX + 1];	/* or "" */
	char			 model[USAGE_NAME_MAX + 1];	/* sent: the model */
	struct usage		 usage;		/* from the answer */
	struct climit		*climit;	/* authenticated as */
	struct alimit		*alimit;
	int			 holds;		/* stream slots held */
	/* response state */
	int			 status;
	int			 started;	/* status line written */
	int			 streaming;	/* chunked response in progress */
	int			 done;
	uint64_t		 bytes_out;
	/* handler context and hooks */
	void			*hctx;
	void			(*on_abort)(struct request *);
	void			(*on_writable)(struct request *);
};

/* fds[0..nfds) are API listeners, then nmetrics metrics listeners. */
struct server	*server_new(struct event_base *, const struct config *,
		    const int *fds, int nfds, int nmetrics,
		    struct ssl_ctx_st *tls, server_head_fn, server_request_fn);
/* Stop accepting, finish in-flight requests, call idle when done. */
void		 server_drain(struct server *, server_idle_fn, void *);
/* Close every connection now. */
void		 server_close_all(struct server *);
/* Answer every request still receiving its body with this error. */
void		 server_refuse_incomplete(struct server *, enum pmerr_code);
/* A renewed client TLS context for new connections (the server owns it). */
void		 server_set_tls(struct server *, struct ssl_ctx_st *);
int		 server_nconns(const struct server *);

/* Response helpers.  Extra headers are "Name: value\r\n" lines or NULL. */
void	req_respond(struct request *, int status, const char *ctype,
	    const char *extra_headers, const void *body, size_t len);
void	req_stream_start(struct request *, int status, const char *ctype,
	    const char *extra_headers);
/* Returns 1 if the client's buffer is above the high-water mark: stop
 * producing until on_writable is called. */
int	req_stream_write(struct request *, const void *, size_t);
void	req_stream_end(struct request *);
/*
 * Answer with an error (daemon/reqerr.c, rendered by apierr.c in the
 * route's dialect; an SSE error event if the client asked for
 * text/event-stream).  A NULL fmt sends the code's default message.
 */
void	req_error(struct request *, enum pmerr_code, const char *fmt, ...)
	    __attribute__((__format__(printf, 3, 4)));
/* The same with extra header lines (then no default Retry-After). */
void	req_error_hdr(struct request *, enum pmerr_code, const char *extra,
	    const char *fmt, ...) __attribute__((__format__(printf, 4, 5)));
/*
 * An error that ends an exchange (keyd's, or the worker's about it): an
 * error answer, or once the answer streams, the API's own in-stream
 * error event and the end of the stream.
 */
void	req_fail(struct request *, const struct pmerr *);
const char *req_header(const struct request *, const char *);

#endif
