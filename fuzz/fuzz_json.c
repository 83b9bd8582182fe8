/*
 * libFuzzer target: the JSON scanner and the field mutation walk.
 * Oracles beyond "no crash, no sanitizer report":
 *  - the SSE2 scanner agrees with its portable build (status, offset);
 *  - the walk with an identity mutation reproduces the input exactly;
 *  - replacing values by a valid JSON value keeps the document valid;
 *  - the walk fails exactly when the scanner rejects the input;
 *  - json_scan_top (no duplicate bookkeeping) agrees with
 *    json_validate_top but for JSON_EDUPKEY, and records the same members;
 *  - jm_mutate_top on those members does what jm_mutate does.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "jsonmut.h"

static int
identity(void *arg, const uint8_t *in, size_t n, struct buf *out,
    struct cerr *err)
{
	buf_add(out, in, n);
	return 0;
}

static int
constant(void *arg, const uint8_t *in, size_t n, struct buf *out,
    struct cerr *err)
{
	buf_adds(out, "\"X\"");
	return 0;
}

/*
 * Iterate the top level of a valid document; the spans must agree with
 * the ones json_validate_top recorded in its single pass.
 */
static void
walk_members(const uint8_t *d, size_t n, const struct json_top *top,
    size_t ntop)
{
	struct json_span	 all;
	struct json_iter	 it;
	struct json_member	 m;
	struct buf		 s;
	size_t			 k = 0;

	if (json_value_span(d, n, 0, &all) == -1)
		abort();
	if (json_iter_init(&it, d, all) == -1) {
		if (ntop != 0)
			abort();
		return;
	}
	buf_init(&s, 0);
	while (json_iter_next(&it, &m) == 1) {
		if (k >= ntop || m.value.off != top[k].value.off ||
		    m.value.len != top[k].value.len ||
		    m.key.off != top[k].key.off || m.key.len != top[k].key.len)
			abort();
		k++;
		if (m.type == JSON_STRING &&
		    json_unescape(d + m.value.off, m.value.len, &s) == -1)
			abort();
		buf_reset(&s);
	}
	if (k != ntop)
		abort();
	json_iter_free(&it);
	buf_free(&s);
}

/* fuzz/json_ref.c: the same scanner without its SSE2 paths. */
enum json_status ref_json_validate(const uint8_t *, size_t, unsigned int,
		    struct json_result *);

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static struct jm_skip	 skip;
	static struct json_top	*stop;
	static size_t		 scap;
	static int		 init;
	struct json_result	 r, rr;
	struct json_top		*top;
	struct buf		 out, out2;
	struct cerr		 err, err2;
	enum json_status	 st;
	size_t			 ntop, nstop;
	int			 valid, rv;

	if (!init) {
		jm_skip_init(&skip);
		jm_skip_add(&skip, "model");
		jm_skip_add(&skip, "a.#.b");
		jm_skip_add(&skip, "1.x");
		jm_skip_add(&skip, "m\\.n.0");
		init = 1;
	}
	st = json_validate(d, n, 0, &r);
	valid = st == JSON_OK || st == JSON_EDUPKEY;
	/* The vectorised scanner must agree with the portable one. */
	if (ref_json_validate(d, n, 0, &rr) != st || rr.offset != r.offset ||
	    rr.top != r.top)
		abort();
	if (json_validate_top(d, n, 0, NULL, &top, &ntop) != st)
		abort();
	if (valid)
		walk_members(d, n, top, ntop);
	/* The scan keeps its array from one input to the next. */
	if (json_scan_top(d, n, 0, NULL, &stop, &scap, &nstop) !=
	    (st == JSON_EDUPKEY ? JSON_OK : st) || nstop != (valid ? ntop : 0) ||
	    (nstop > 0 && memcmp(stop, top, nstop * sizeof(*top)) != 0))
		abort();

	buf_init(&out, 0);
	rv = jm_mutate(d, n, &skip, constant, NULL, &out, &err);
	if (valid) {
		buf_init(&out2, 0);
		if (jm_mutate_top(d, n, top, ntop, &skip, constant, NULL, &out2,
		    &err2) != rv || (rv == 0 && (out2.len != out.len ||
		    memcmp(out2.p, out.p, out.len) != 0)) ||
		    (rv == -1 && strcmp(err.msg, err2.msg) != 0))
			abort();
		buf_free(&out2);
	}
	free(top);
	buf_reset(&out);
	rv = jm_mutate(d, n, &skip, identity, NULL, &out, &err);
	/* Invalid input must fail; valid input may still be refused for a
	 * scalar top level or a duplicate name on the walked path. */
	if (n > 0 && !valid && rv == 0)
		abort();
	if (rv == 0 && (out.len != n || (n > 0 && memcmp(out.p, d, n) != 0)))
		abort();
	buf_reset(&out);
	rv = jm_mutate(d, n, &skip, constant, NULL, &out, &err);
	if (rv == 0 && n > 0) {
		st = json_validate(out.p, out.len, 0, NULL);
		if (st != JSON_OK && st != JSON_EDUPKEY)
			abort();
	}
	buf_free(&out);
	return 0;
}
