/*
 * libFuzzer target: HTTP heads (the worker's request parser) and keyd's
 * reader of upstream responses.  The first input byte chooses a HEAD
 * request and how to cut the rest into reads.  Oracles beyond "no
 * crash, no sanitizer report":
 *  - the response reader gives the same callbacks, body bytes, error and
 *    end state fed whole, fed in pieces of the chosen sizes, and (short
 *    inputs) fed byte by byte: a parser that depends on read boundaries
 *    is one that an upstream can steer by timing;
 *  - http_head_end resumed over growing prefixes finds the end that one
 *    scan finds;
 *  - a parsed request head has its fields inside its own NUL-terminated
 *    copy, at most HTTP_MAX_HEADERS of them, each found again by name.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "http.h"
#include "resp.h"
#include "resp_trace.h"

/*
 * Cut points of pieces of 1..step bytes, varying with the input; step 0
 * is one piece.
 */
static size_t
make_cuts(size_t n, unsigned int step, size_t *cuts)
{
	unsigned int	x = step;
	size_t		off = 0, k = 0;

	if (step == 0)
		return 0;
	for (;;) {
		x = x * 1103515245u + 12345u;
		off += 1 + (x >> 16) % step;
		if (off >= n)
			return k;
		cuts[k++] = off;
	}
}

static void
run(const uint8_t *in, size_t n, int head_request, unsigned int step,
    struct trace *t)
{
	size_t	*cuts = calloc(n + 1, sizeof(*cuts));

	trace_run(in, n, cuts, make_cuts(n, step, cuts), head_request, t);
	free(cuts);
}

static void
check_same(const struct trace *a, const struct trace *b)
{
	if (!trace_same(a, b))
		abort();
}

static void
response_oracle(const uint8_t *in, size_t n, int head_request,
    unsigned int step)
{
	struct trace	whole, cut;

	run(in, n, head_request, 0, &whole);
	run(in, n, head_request, step, &cut);
	check_same(&whole, &cut);
	trace_free(&cut);
	if (n <= 2048) {
		run(in, n, head_request, 1, &cut);
		check_same(&whole, &cut);
		trace_free(&cut);
	}
	trace_free(&whole);
}

static int
inside(const struct http_head *h, const char *s)
{
	return s >= h->raw && s + strlen(s) <= h->raw + h->rawlen;
}

static void
request_oracle(const uint8_t *in, size_t n)
{
	struct http_head	 h;
	size_t			 end, i, scanned = 0, resumed = 0, e2;
	int			 k;

	end = http_head_end((const char *)in, n, &scanned);
	if (n <= 4096) {
		for (i = 1, e2 = 0; i <= n && e2 == 0; i++)
			e2 = http_head_end((const char *)in, i, &resumed);
		if (e2 != end)
			abort();
	}
	if (end == 0)
		return;
	if (http_head_parse(&h, (const char *)in, end, 1) == HTTP_OK) {
		if (h.nh > HTTP_MAX_HEADERS || !inside(&h, h.method) ||
		    !inside(&h, h.target) || h.raw[h.rawlen] != '\0')
			abort();
		for (k = 0; k < h.nh; k++) {
			if (!inside(&h, h.h[k].name) ||
			    !inside(&h, h.h[k].value) ||
			    http_head_get(&h, h.h[k].name) == NULL ||
			    http_head_count(&h, h.h[k].name) < 1)
				abort();
			(void)http_token_in(h.h[k].value, "close");
		}
	}
	http_head_free(&h);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	response_oracle(data + 1, size - 1, data[0] & 1,
	    1 + (data[0] >> 1) % 64);
	request_oracle(data + 1, size - 1);
	return 0;
}
