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

struct trace {
	struct resp	*r;
	struct buf	 ev;
	struct buf	 body;
};

static int
on_head(void *arg)
{
	struct trace	*t = arg;

	buf_addf(&t->ev, "head %d at %zu; ", t->r->head.status, t->body.len);
	return 0;
}

static int
on_body(void *arg, const uint8_t *p, size_t n)
{
	struct trace	*t = arg;

	buf_add(&t->body, p, n);
	return 0;
}

static int
on_done(void *arg)
{
	struct trace	*t = arg;

	buf_addf(&t->ev, "done at %zu; ", t->body.len);
	return 0;
}

static const struct resp_cb cb = { on_head, on_body, on_done };

/* Pieces of 1..seed+1 bytes, varying; step 0 feeds everything at once. */
static void
run(const uint8_t *in, size_t n, int head_request, unsigned int seed,
    struct trace *t)
{
	struct resp	 r;
	char		 err[256] = "";
	size_t		 off = 0, l;
	unsigned int	 x = seed;
	int		 rv = 0;

	resp_init(&r, head_request);
	t->r = &r;
	buf_init(&t->ev, 0);
	buf_init(&t->body, 0);
	while (rv == 0 && off < n) {
		x = x * 1103515245u + 12345u;
		l = seed == 0 ? n - off : 1 + (x >> 16) % seed;
		if (l > n - off)
			l = n - off;
		rv = resp_feed(&r, in + off, l, &cb, t, err, sizeof(err));
		off += l;
	}
	if (rv == -1)
		buf_addf(&t->ev, "error %s", err);
	else {
		rv = resp_eof(&r, &cb, t);
		buf_addf(&t->ev, "eof %d keepalive %d done %d", rv,
		    r.keepalive, resp_done(&r));
	}
	buf_addc(&t->ev, '\0');
	resp_free(&r);
}

static void
check_same(const struct trace *a, const struct trace *b)
{
	if (strcmp((char *)a->ev.p, (char *)b->ev.p) != 0 ||
	    a->body.len != b->body.len ||
	    (a->body.len != 0 && memcmp(a->body.p, b->body.p, a->body.len)))
		abort();
}

static void
free_trace(struct trace *t)
{
	buf_free(&t->ev);
	buf_free(&t->body);
}

static void
response_oracle(const uint8_t *in, size_t n, int head_request,
    unsigned int seed)
{
	struct trace	whole, cut;

	run(in, n, head_request, 0, &whole);
	run(in, n, head_request, seed, &cut);
	check_same(&whole, &cut);
	free_trace(&cut);
	if (n <= 2048) {
		run(in, n, head_request, 1, &cut);
		check_same(&whole, &cut);
		free_trace(&cut);
	}
	free_trace(&whole);
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
