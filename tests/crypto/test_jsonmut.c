/*
 * JSON field mutation: the behaviours of the Go proxy's mutator tests
 * (protocol.md section 10.2), the Go traversal order (bytewise on escaped
 * names, array indices as strings), byte-exact preservation of everything
 * else, Go's error texts, and linear behaviour on large documents.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "jsonmut.h"
#include "t.h"
#include "util.h"

T_GLOBALS;

/* Replace every value by a constant. */
static int
const_fn(void *arg, const uint8_t *in, size_t n, struct buf *out,
    struct cerr *err)
{
	buf_adds(out, arg);
	return 0;
}

/* Record the visiting order ("raw|raw|...") and replace by "X". */
static int
record_fn(void *arg, const uint8_t *in, size_t n, struct buf *out,
    struct cerr *err)
{
	struct buf	*log = arg;

	if (log->len > 0)
		buf_addc(log, '|');
	buf_add(log, in, n);
	buf_adds(out, "\"X\"");
	return 0;
}

static int
fail_fn(void *arg, const uint8_t *in, size_t n, struct buf *out,
    struct cerr *err)
{
	if (n == strlen(arg) && memcmp(in, arg, n) == 0) {
		cerr_set(err, "boom");
		return -1;
	}
	buf_adds(out, "\"ok\"");
	return 0;
}

static int
identity_fn(void *arg, const uint8_t *in, size_t n, struct buf *out,
    struct cerr *err)
{
	buf_add(out, in, n);
	return 0;
}

struct mcase {
	const char	*name;
	const char	*repl;		/* constant replacement */
	const char	*skip[3];	/* dotted skip paths */
	const char	*in;
	const char	*want;		/* NULL: must fail */
};

static const struct mcase cases[] = {
	{ "empty body", "\"E\"", { NULL }, "", "" },
	{ "single field", "\"encryptedText\"", { NULL },
	    "{\"field1\": \"plainText\"}",
	    "{\"field1\": \"encryptedText\"}" },
	{ "replacement inserted as raw JSON", "{\"nestedField\": \"plainText\"}",
	    { NULL }, "{\"field1\": \"encryptedText\"}",
	    "{\"field1\": {\"nestedField\": \"plainText\"}}" },
	{ "all members", "\"E\"", { NULL },
	    "{\"field1\": \"plainText\", \"field2\": \"plainText\"}",
	    "{\"field1\": \"E\", \"field2\": \"E\"}" },
	{ "skip one", "\"E\"", { "field1" },
	    "{\"field1\": \"plainText\", \"field2\": \"plainText\"}",
	    "{\"field1\": \"plainText\", \"field2\": \"E\"}" },
	{ "absent skip", "\"E\"", { "field3" },
	    "{\"field1\": \"plainText\", \"field2\": \"plainText\"}",
	    "{\"field1\": \"E\", \"field2\": \"E\"}" },
	{ "nested skip", "\"E\"", { "field1.nestedField1" },
	    "{\"field1\": {\"nestedField1\": \"plainText\", \"nestedField2\": "
	    "\"plainText\"}, \"field2\": \"plainText\"}",
	    "{\"field1\": {\"nestedField1\": \"plainText\", \"nestedField2\": "
	    "\"E\"}, \"field2\": \"E\"}" },
	{ "truncated JSON", "\"E\"", { NULL },
	    "{\"field1\": \"encryptedText\"", NULL },
	{ "dots in names", "\"E\"", { "field1.nested\\.field" },
	    "{\"field1\": {\"nested.field\": \"plainText\"}, \"field2\": "
	    "\"plainText\", \"field2.3\": \"plainText\"}",
	    "{\"field1\": {\"nested.field\": \"plainText\"}, \"field2\": \"E\", "
	    "\"field2.3\": \"E\"}" },
	{ "multiple skips", "\"E\"", { "field1", "field2" },
	    "{\"field1\": \"p\", \"field2\": \"p\", \"field3\": \"p\"}",
	    "{\"field1\": \"p\", \"field2\": \"p\", \"field3\": \"E\"}" },
	{ "object as one unit", "\"E\"", { NULL },
	    "{\"field1\": {\"a\": \"p\", \"b\": \"p\"}, \"field2\": \"p\"}",
	    "{\"field1\": \"E\", \"field2\": \"E\"}" },
	{ "# in arrays", "\"E\"", { "field1.#.key1" },
	    "{\"field1\": [{\"key1\": \"p\", \"key2\": \"p\"}, {\"key1\": \"p\", "
	    "\"key2\": \"p\"}], \"field2\": \"p\"}",
	    "{\"field1\": [{\"key1\": \"p\", \"key2\": \"E\"}, {\"key1\": \"p\", "
	    "\"key2\": \"E\"}], \"field2\": \"E\"}" },
	{ "index in arrays", "\"E\"", { "field1.0.key1" },
	    "{\"field1\": [{\"key1\": \"p\", \"key2\": \"p\"}, {\"key1\": \"p\", "
	    "\"key2\": \"p\"}], \"field2\": \"p\"}",
	    "{\"field1\": [{\"key1\": \"p\", \"key2\": \"E\"}, \"E\"], "
	    "\"field2\": \"E\"}" },
	{ "whole array plain", "\"E\"", { "field1.#" },
	    "{\"field1\": [\"p\", \"p\"], \"field2\": \"p\"}",
	    "{\"field1\": [\"p\", \"p\"], \"field2\": \"E\"}" },
	{ "one element plain", "\"E\"", { "field1.0" },
	    "{\"field1\": [\"p\", \"p\"], \"field2\": \"p\"}",
	    "{\"field1\": [\"p\", \"E\"], \"field2\": \"E\"}" },
	{ "path into scalars", "\"E\"", { "field1.0.foo" },
	    "{\"field1\": [\"p\", \"p\"], \"field2\": \"p\"}",
	    "{\"field1\": [\"E\", \"E\"], \"field2\": \"E\"}" },
	{ "deeply nested #", "\"E\"", { "field1.#.nested.#.skip" },
	    "{\"field1\": [{\"nested\": [{\"skip\": \"p\", \"mutate\": \"p1\"}]},"
	    " {\"nested\": [{\"skip\": \"p\", \"mutate\": \"p2\"}]}]}",
	    "{\"field1\": [{\"nested\": [{\"skip\": \"p\", \"mutate\": \"E\"}]},"
	    " {\"nested\": [{\"skip\": \"p\", \"mutate\": \"E\"}]}]}" },
	{ "# on an empty array mutates it whole", "\"E\"", { "a.#" },
	    "{\"a\": [], \"b\": 1}", "{\"a\": \"E\", \"b\": \"E\"}" },
	{ "whitespace kept byte for byte", "1", { "b" },
	    " {\n\t\"a\" :  [ 1 , 2 ] ,\r\n \"b\":\"\\u0041\" , \"c\":null } \n",
	    " {\n\t\"a\" :  1 ,\r\n \"b\":\"\\u0041\" , \"c\":1 } \n" },
	{ "top-level array", "0", { "1" }, "[true, false, null]",
	    "[0, false, 0]" },
	{ "top-level null", "0", { NULL }, " null ", " null " },
	{ "top-level scalar", "0", { NULL }, "\"s\"", NULL },
	{ "garbage", "0", { NULL }, "{\"a\" 1}", NULL },
	{ "duplicate visited name", "0", { NULL },
	    "{\"a\": 1, \"a\": 2}", NULL },
	{ "duplicate inside a unit is its business", "0", { NULL },
	    "{\"a\": {\"x\": 1, \"x\": 2}}", "{\"a\": 0}" },
};

static void
test_cases(void)
{
	struct jm_skip	 skip;
	struct buf	 out;
	struct cerr	 err;
	const struct mcase *c;
	size_t		 i, j;
	int		 r;

	for (i = 0; i < nitems(cases); i++) {
		c = &cases[i];
		T_BEGIN(c->name);
		jm_skip_init(&skip);
		for (j = 0; j < nitems(c->skip) && c->skip[j] != NULL; j++)
			jm_skip_add(&skip, c->skip[j]);
		buf_init(&out, 0);
		r = jm_mutate((const uint8_t *)c->in, strlen(c->in), &skip,
		    const_fn, (void *)c->repl, &out, &err);
		if (c->want == NULL)
			T_EQ_INT(r, -1);
		else {
			T_EQ_INT(r, 0);
			T_EQ_STR(buf_cstr(&out), c->want);
		}
		buf_free(&out);
		jm_skip_free(&skip);
	}
}

static void
check_order(const char *name, const char *doc, const char *const *skips,
    const char *want)
{
	struct jm_skip	skip;
	struct buf	log, out;
	struct cerr	err;

	T_BEGIN(name);
	jm_skip_init(&skip);
	while (skips != NULL && *skips != NULL)
		jm_skip_add(&skip, *skips++);
	buf_init(&log, 0);
	buf_init(&out, 0);
	T_EQ_INT(jm_mutate((const uint8_t *)doc, strlen(doc), &skip,
	    record_fn, &log, &out, &err), 0);
	T_EQ_STR(buf_cstr(&log), want);
	buf_free(&log);
	buf_free(&out);
	jm_skip_free(&skip);
}

static void
test_order(void)
{
	static const char *const chat_plain[] = { "model", "stream_options",
	    "max_tokens", "max_completion_tokens", "n", "stream", NULL };
	static const char *const none[] = { NULL };

	/* protocol.md 3.5's worked example. */
	check_order("chat request order",
	    "{\"model\":\"m\",\"messages\":[1],\"stream\":true,"
	    "\"temperature\":0.5,\"tools\":[2],\"cache_salt\":\"s\"}",
	    chat_plain, "\"s\"|[1]|0.5|[2]");
	check_order("array indices sort as strings",
	    "[0,1,2,3,4,5,6,7,8,9,10,11]", none,
	    "0|1|10|11|2|3|4|5|6|7|8|9");
	check_order("uppercase before underscore before lowercase",
	    "{\"b\":1,\"_\":2,\"B\":3,\"a\":4,\"\":5,\"ab\":6}", none,
	    "5|3|2|4|6|1");
	/* Escaped names: a@ < a\* < a\.b < a\? (backslash 0x5c > @ 0x40). */
	check_order("escaped names decide the order",
	    "{\"a.b\":1,\"a@\":2,\"a*\":3,\"a?\":4}", none, "2|3|1|4");
	check_order("escapes in names are decoded first",
	    "{\"b\":1,\"\\u0061\":2}", none, "2|1");
	check_order("depth first into skipped containers",
	    "{\"z\":1,\"a\":[{\"k\":2,\"j\":3},{\"k\":4}],\"m\":5}",
	    (const char *const []){ "a.#.k", NULL }, "3|5|1");
}

static void
test_errors(void)
{
	struct jm_skip	skip;
	struct buf	out;
	struct cerr	err;
	const char	*doc;

	jm_skip_init(&skip);
	buf_init(&out, 0);

	T_BEGIN("error texts");
	doc = "{\"field1\": \"x\"";
	T_EQ_INT(jm_mutate((const uint8_t *)doc, strlen(doc), &skip,
	    const_fn, "0", &out, &err), -1);
	T_EQ_STR(err.msg, "mutation on invalid JSON data: incomplete JSON");
	doc = " [1, 2 ";
	T_EQ_INT(jm_mutate((const uint8_t *)doc, strlen(doc), &skip,
	    const_fn, "0", &out, &err), -1);
	T_EQ_STR(err.msg, "mutation on invalid JSON data: incomplete JSON");
	doc = "{\"a\" 1}";
	T_EQ_INT(jm_mutate((const uint8_t *)doc, strlen(doc), &skip,
	    const_fn, "0", &out, &err), -1);
	T_EQ_STR(err.msg, "mutation on invalid JSON data: invalid JSON data");
	doc = "data: {}";
	T_EQ_INT(jm_mutate((const uint8_t *)doc, strlen(doc), &skip,
	    const_fn, "0", &out, &err), -1);
	T_EQ_STR(err.msg, "mutation on invalid JSON data: invalid JSON data");
	doc = "{\"field1\": \"plain\", \"a\": 1}";
	T_EQ_INT(jm_mutate((const uint8_t *)doc, strlen(doc), &skip,
	    fail_fn, "\"plain\"", &out, &err), -1);
	T_EQ_STR(err.msg, "mutating field \"field1\": boom");
	jm_skip_add(&skip, "f.#.k");
	doc = "{\"f\": [{\"k\": 1, \"q\\\"\": \"bad\"}]}";
	T_EQ_INT(jm_mutate((const uint8_t *)doc, strlen(doc), &skip,
	    fail_fn, "\"bad\"", &out, &err), -1);
	T_EQ_STR(err.msg, "mutating field \"f\": mutating nested field: "
	    "mutating field \"0\": mutating nested field: "
	    "mutating field \"q\\\"\": boom");
	/* Nothing is appended on failure. */
	T_EQ_INT(out.len, 0);
	buf_free(&out);
	jm_skip_free(&skip);
}

/*
 * Large documents: a 100 MB chat body and a million members.  A walk that
 * rescanned the document per member would not finish in test time.
 */
static void
test_large(void)
{
	struct jm_skip	 skip;
	struct buf	 doc, out, log;
	struct cerr	 err;
	size_t		 i, big = 100 * 1024 * 1024;

	T_BEGIN("100 MB body, identity mutation");
	jm_skip_init(&skip);
	jm_skip_add(&skip, "model");
	buf_init(&doc, big + 256);
	buf_adds(&doc, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
	    "\"content\":\"");
	memset(buf_reserve(&doc, big), 'a', big);
	doc.len += big;
	buf_adds(&doc, "\"}],\"stream\":false}");
	buf_init(&out, 0);
	T_EQ_INT(jm_mutate(doc.p, doc.len, &skip, identity_fn, NULL, &out,
	    &err), 0);
	T_EQ_INT(out.len, doc.len);
	T_CHECK(out.len == doc.len && memcmp(out.p, doc.p, doc.len) == 0);
	buf_free(&out);
	buf_free(&doc);
	jm_skip_free(&skip);

	T_BEGIN("a million members");
	buf_init(&doc, 16 * 1024 * 1024);
	buf_addc(&doc, '{');
	for (i = 0; i < 1000000; i++)
		buf_addf(&doc, "%s\"k%zu\":%zu", i ? "," : "", i, i);
	buf_addc(&doc, '}');
	buf_init(&out, 0);
	buf_init(&log, 0);
	T_EQ_INT(jm_mutate(doc.p, doc.len, NULL, record_fn, &log, &out,
	    &err), 0);
	/* First visited is "k0", then "k1", "k10", "k100", ... */
	T_CHECK(log.len > 12 && memcmp(log.p, "0|1|10|100|", 11) == 0);
	buf_free(&out);
	buf_free(&log);
	buf_free(&doc);
}

int
main(void)
{
	test_cases();
	test_order();
	test_errors();
	test_large();
	T_DONE();
}
