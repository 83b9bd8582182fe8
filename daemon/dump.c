/*
 * dump_requests in the worker: each request as received and its answer
 * as written, in plaintext, for the parent to write below
 * <workspace>/requests (MSG_DUMP).  The server collects the answer's
 * bytes in request->dump; this file says what they look like.
 */
#include "config.h"

#include <stdint.h>

#include "access.h"
#include "dump.h"
#include "http.h"
#include "ipc.h"
#include "server.h"
#include "util.h"
#include "worker.h"

/* The answer as Go's httputil.DumpResponse renders it (protocol.md 8). */
void
dump_head(struct request *r, int status, const char *ctype, const char *extra)
{
	buf_addf(r->dump, "HTTP/0.0 %d %s\r\n", status, http_reason(status));
	if (ctype != NULL)
		buf_addf(r->dump, "Content-Type: %s\r\n", ctype);
	if (r->id[0] != '\0')
		buf_addf(r->dump, "X-Request-Id: %s\r\n", r->id);
	if (extra != NULL)
		buf_adds(r->dump, extra);
	buf_adds(r->dump, "\r\n");
}

/* The request as parsed (client tokens masked) and the answer as written. */
void
dump_send(struct request *r)
{
	struct buf	m;
	struct buf	req;
	int		i;

	/* The head re-serialised from what was parsed, then the body. */
	buf_init(&req, r->head.rawlen + r->body.len + 64);
	buf_addf(&req, "%s %s HTTP/1.%d\r\n", r->head.method, r->head.target,
	    r->head.minor);
	for (i = 0; i < r->head.nh; i++)
		buf_addf(&req, "%s: %s\r\n", r->head.h[i].name,
		    access_token_header(r->head.h[i].name) ? "[client token]" :
		    r->head.h[i].value);
	buf_adds(&req, "\r\n");
	buf_add(&req, r->body.p, r->body.len);
	buf_init(&m, req.len + r->dump->len + 64);
	msg_put_i64(&m, wall_ms() * 1000 + (int64_t)(now_us() % 1000));
	msg_put_u32(&m, (uint32_t)req.len);
	msg_put_raw(&m, req.p, req.len);
	msg_put_bytes(&m, r->dump->p, r->dump->len);
	buf_free(&req);
	parent_send(MSG_DUMP, &m);
	buf_free(&m);
}
