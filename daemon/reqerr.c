/*
 * Answering a request with an error (the req_error family of server.h):
 * the renderer (apierr.c) makes the bytes, the server's response calls
 * send them.  The transport itself knows no error schema.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "apierr.h"
#include "log.h"
#include "server.h"
#include "util.h"


static void
req_answer_error(struct request *r, enum pmerr_code c, const char *extra,
    const char *msg)
{
	enum apierr_form	 f = r->wants_sse ? AEF_SSE : AEF_JSON;
	struct buf		 b;
	int			 status = pmerr_status(c);

	buf_init(&b, 256);
	apierr_render(&b, r->dialect, f, c, msg);
	if (r->started) {
		/* Too late for a status: end the stream with the event. */
		if (r->streaming)
			req_stream_write(r, b.p, b.len);
		req_stream_end(r);
	} else {
		/* request_done() closes if the request was not fully read. */
		if (extra == NULL && (status == 429 || status == 503))
			extra = "Retry-After: 1\r\n";
		req_respond(r, status, apierr_ctype(f), extra, b.p, b.len);
	}
	buf_free(&b);
}

static void
req_verror(struct request *r, enum pmerr_code c, const char *extra,
    const char *fmt, va_list ap) __attribute__((__format__(printf, 4, 0)));

static void
req_verror(struct request *r, enum pmerr_code c, const char *extra,
    const char *fmt, va_list ap)
{
	char	*msg = NULL;

	/* Not a struct pmerr: a client's path in the text is not cut. */
	if (fmt != NULL && vasprintf(&msg, fmt, ap) == -1)
		fatal("vasprintf");
	req_answer_error(r, c, extra, msg);
	free(msg);
}

void
req_error(struct request *r, enum pmerr_code c, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	req_verror(r, c, NULL, fmt, ap);
	va_end(ap);
}

void
req_error_hdr(struct request *r, enum pmerr_code c, const char *extra,
    const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	req_verror(r, c, extra, fmt, ap);
	va_end(ap);
}

void
req_fail(struct request *r, const struct pmerr *e)
{
	struct buf	b;

	if (!r->streaming) {
		req_answer_error(r, e->code, NULL, e->msg);
		return;
	}
	buf_init(&b, 256);
	apierr_render(&b, r->dialect, AEF_STREAM, e->code, e->msg);
	req_stream_write(r, b.p, b.len);
	buf_free(&b);
	/* The stream ends properly; the connection does not stay. */
	r->conn_close = 1;
	req_stream_end(r);
}
