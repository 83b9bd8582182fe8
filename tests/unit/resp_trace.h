/*
 * What keyd's response reader (keyd/resp.c) made of some bytes: its
 * callbacks with the body length at each, the body, and how it ended.
 * Shared by tests/unit/test_http.c and fuzz/fuzz_http.c, whose rule is
 * that the record does not depend on how the bytes were cut into reads.
 */
#ifndef PM_TEST_RESP_TRACE_H
#define PM_TEST_RESP_TRACE_H

#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "resp.h"

struct trace {
	struct resp	*r;	/* while trace_run feeds it */
	struct buf	 ev;	/* NUL-terminated text */
	struct buf	 body;
};

static int
trace_head(void *arg)
{
	struct trace	*t = arg;

	buf_addf(&t->ev, "head %d at %zu; ", t->r->head.status, t->body.len);
	return 0;
}

static int
trace_body(void *arg, const uint8_t *p, size_t n)
{
	struct trace	*t = arg;

	buf_add(&t->body, p, n);
	return 0;
}

static int
trace_done(void *arg)
{
	struct trace	*t = arg;

	buf_addf(&t->ev, "done at %zu; ", t->body.len);
	return 0;
}

static const struct resp_cb trace_cb = { trace_head, trace_body, trace_done };

/*
 * Feed in[0..n) cut at the ascending offsets cuts[0..ncuts) (NULL for
 * none), stopping at a failed feed, then end the connection.
 */
static void
trace_run(const uint8_t *in, size_t n, const size_t *cuts, size_t ncuts,
    int head_request, struct trace *t)
{
	struct resp	 r;
	char		 err[256] = "";
	size_t		 i, from = 0, to;
	int		 rv = 0;

	resp_init(&r, head_request);
	t->r = &r;
	buf_init(&t->ev, 0);
	buf_init(&t->body, 0);
	for (i = 0; i <= ncuts && rv == 0; i++) {
		to = cuts != NULL && i < ncuts ? cuts[i] : n;
		rv = resp_feed(&r, in + from, to - from, &trace_cb, t, err,
		    sizeof(err));
		from = to;
	}
	if (rv == -1)
		buf_addf(&t->ev, "error \"%s\"", err);
	else {
		rv = resp_eof(&r, &trace_cb, t);
		buf_addf(&t->ev, "eof %d, keepalive %d, done %d", rv,
		    r.keepalive, resp_done(&r));
	}
	buf_addc(&t->ev, '\0');
	resp_free(&r);
	t->r = NULL;	/* the reader was ours alone */
}

static int
trace_same(const struct trace *a, const struct trace *b)
{
	return strcmp((char *)a->ev.p, (char *)b->ev.p) == 0 &&
	    a->body.len == b->body.len &&
	    (a->body.len == 0 || memcmp(a->body.p, b->body.p, a->body.len) == 0);
}

static void
trace_free(struct trace *t)
{
	buf_free(&t->ev);
	buf_free(&t->body);
}

#endif
