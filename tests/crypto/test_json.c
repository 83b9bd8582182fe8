/*
 * The strict JSON scanner: grammar, UTF-8, depth (without C-stack
 * recursion), duplicate names (also through escapes), iteration spans,
 * unescaping and the string order used for sorting keys.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "t.h"
#include "util.h"

T_GLOBALS;

static enum json_status
v(const char *s)
{
	return json_validate((const uint8_t *)s, strlen(s), 0, NULL);
}

static enum json_status
vn(const char *s, size_t n)
{
	return json_validate((const uint8_t *)s, n, 0, NULL);
}

static void
test_grammar(void)
{
	static const char *const ok[] = {
		"{}", "[]", " {} ", "0", "-0", "-0.5e+3", "1E9", "123.456",
		"\"\"", "true", "false", "null", "[1,2,[3,{\"a\":[]}]]",
		"{\"a\":{\"b\":null},\"c\":[true,false]}",
		"\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\uD83D\\uDE00\"",
		"\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"",
		"\"\\ud800\"",		/* a lone surrogate is grammatical */
		"\t\r\n[ 1 , 2 ]\n",
	};
	static const char *const bad[] = {
		"[1,]", "{\"a\":1,}", "01", ".5", "+1", "1.e3", "-", "[1 2]",
		"{\"a\" 1}", "{a:1}", "\"\\q\"", "\"\\u12g4\"", "{} x", "tru!",
		"nul ", "[}", "{]", "'a'", "\"\x01\"", "{\"a\":1 \"b\":2}",
		"[1]]", "NaN", "Infinity", "1e", "[\"a\",]", "\xef\xbb\xbf{}",
	};
	static const char *const cut[] = {
		"{", "[", "{\"a\":", "\"abc", "[1,", "tru", "{\"a\"", "\"\\u12",
		"[\"\\", "-", "1.", "1e+",
	};
	size_t	i;
	int	nbad = 0;

	T_BEGIN("grammar");
	for (i = 0; i < nitems(ok); i++)
		if (v(ok[i]) != JSON_OK) {
			fprintf(stderr, "rejected: %s\n", ok[i]);
			nbad++;
		}
	for (i = 0; i < nitems(bad); i++)
		if (v(bad[i]) == JSON_OK || v(bad[i]) == JSON_EDUPKEY) {
			fprintf(stderr, "accepted: %s\n", bad[i]);
			nbad++;
		}
	for (i = 0; i < nitems(cut); i++)
		if (v(cut[i]) != JSON_EINCOMPLETE) {
			fprintf(stderr, "not incomplete: %s (%d)\n", cut[i],
			    v(cut[i]));
			nbad++;
		}
	T_EQ_INT(nbad, 0);
	/* A cut escape reports where the input ended (found by fuzzing). */
	{
		struct json_result	r;

		T_EQ_INT(json_validate((const uint8_t *)"[0,{\"*dd\\", 9, 0,
		    &r), JSON_EINCOMPLETE);
		T_EQ_INT(r.offset, 9);
		T_EQ_INT(json_validate((const uint8_t *)"\"\\u00", 5, 0, &r),
		    JSON_EINCOMPLETE);
		T_EQ_INT(r.offset, 5);
	}
	T_EQ_INT(v(""), JSON_EEMPTY);
	T_EQ_INT(v("  \n"), JSON_EEMPTY);
	/* A NUL byte inside or after a value is not JSON. */
	T_EQ_INT(vn("\"a\0b\"", 5), JSON_ESYNTAX);
	T_EQ_INT(vn("{}\0", 3), JSON_ESYNTAX);
}

static void
test_utf8(void)
{
	static const char *const bad[] = {
		"\"\xff\"", "\"\xc0\xaf\"", "\"\xe0\x80\xaf\"",
		"\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\x80\"",
		"\"\xc3\x28\"", "\"\xf5\x80\x80\x80\"",
	};
	size_t	i;

	T_BEGIN("utf-8");
	for (i = 0; i < nitems(bad); i++)
		T_EQ_INT(v(bad[i]), JSON_EUTF8);
	T_EQ_INT(v("\"\xf4\x8f\xbf\xbf\""), JSON_OK);	/* U+10FFFF */
	T_EQ_INT(v("\"\xed\x9f\xbf\""), JSON_OK);		/* U+D7FF */
	T_EQ_INT(v("\"\xe2\x82"), JSON_EINCOMPLETE);
}

static void
test_depth(void)
{
	struct json_result	 r;
	size_t			 n = 1000000, i;
	char			*s = xmalloc(2 * n + 1);

	T_BEGIN("depth");
	for (i = 0; i < JSON_MAX_DEPTH; i++) {
		s[i] = '[';
		s[2 * JSON_MAX_DEPTH - 1 - i] = ']';
	}
	T_EQ_INT(vn(s, 2 * JSON_MAX_DEPTH), JSON_OK);
	/* One level more is refused... */
	memmove(s + 1, s, 2 * JSON_MAX_DEPTH);
	s[0] = '[';
	s[2 * JSON_MAX_DEPTH + 1] = ']';
	T_EQ_INT(vn(s, 2 * JSON_MAX_DEPTH + 2), JSON_EDEPTH);
	/* ...and a million open brackets neither recurse nor crash. */
	memset(s, '[', n);
	T_EQ_INT(json_validate((uint8_t *)s, n, 0, &r), JSON_EDEPTH);
	T_EQ_INT(r.offset, JSON_MAX_DEPTH);
	T_EQ_INT(json_validate((uint8_t *)"[[[1]]]", 7, 2, NULL), JSON_EDEPTH);
	T_EQ_INT(json_validate((uint8_t *)"[[[1]]]", 7, 3, NULL), JSON_OK);
	free(s);
}

/* Objects past the pairwise limit are checked by sorting; same answers. */
static void
test_long_objects(void)
{
	struct json_result	r;
	struct buf		b;
	size_t			i, want;

	buf_init(&b, 1024);
	buf_addc(&b, '{');
	for (i = 0; i < 40; i++)
		buf_addf(&b, "%s\"k%zu\":%zu", i ? "," : "", i, i);
	buf_addc(&b, '}');
	T_EQ_INT(json_validate(b.p, b.len, 0, &r), JSON_OK);
	/* k7 again near the end, then k3 twice: the earliest repeat wins. */
	b.len--;
	want = b.len + 1;
	buf_adds(&b, ",\"k7\":0,\"k3\":0,\"k3\":1,\"k7\":2}");
	T_EQ_INT(json_validate(b.p, b.len, 0, &r), JSON_EDUPKEY);
	T_EQ_INT(r.offset, want);
	buf_free(&b);
}

static void
test_duplicates(void)
{
	struct json_result	r;
	const char		*s;

	T_BEGIN("duplicate names");
	s = "{\"a\":1,\"b\":2,\"a\":3}";
	T_EQ_INT(json_validate((uint8_t *)s, strlen(s), 0, &r), JSON_EDUPKEY);
	T_EQ_INT(r.offset, 13);
	T_EQ_INT(r.top, JSON_OBJECT);
	T_EQ_INT(v("{\"a\":1,\"\\u0061\":2}"), JSON_EDUPKEY);
	T_EQ_INT(v("{\"\\u00e9\":1,\"\xc3\xa9\":2}"), JSON_EDUPKEY);
	T_EQ_INT(v("{\"x\":[{\"b\":1,\"b\":2}]}"), JSON_EDUPKEY);
	T_EQ_INT(v("{\"a\":{\"a\":1}}"), JSON_OK);
	T_EQ_INT(v("[{\"a\":1},{\"a\":1}]"), JSON_OK);
	T_EQ_INT(v("{\"a\":1,\"ab\":2,\"A\":3,\"\":4}"), JSON_OK);
	/* Syntax errors win over duplicates. */
	T_EQ_INT(v("{\"a\":1,\"a\":2"), JSON_EINCOMPLETE);
	/* Three of a name: the second occurrence is reported. */
	s = "{\"c\":1,\"a\":1,\"c\":2,\"b\":0,\"c\":3}";
	T_EQ_INT(json_validate((uint8_t *)s, strlen(s), 0, &r), JSON_EDUPKEY);
	T_EQ_INT(r.offset, 13);
	test_long_objects();
}

static void
test_iter(void)
{
	const char		*s = " { \"k\\u0031\" : [1, \"x\"] ,\"b\":{} } ";
	const uint8_t		*p = (const uint8_t *)s;
	struct json_span	 all, sp;
	struct json_iter	 it;
	struct json_member	 m;

	T_BEGIN("iteration");
	T_EQ_INT(json_value_span(p, strlen(s), 0, &all), 0);
	T_EQ_INT(all.off, 1);
	T_EQ_INT(all.len, strlen(s) - 2);
	T_EQ_INT(json_iter_init(&it, p, all), 0);
	T_EQ_INT(json_iter_next(&it, &m), 1);
	T_EQ_INT(m.namelen, 2);
	T_EQ_STR(m.name, "k1");
	T_EQ_INT(m.key.off, 3);
	T_EQ_INT(m.key.len, 9);
	T_EQ_INT(m.type, JSON_ARRAY);
	T_CHECK(memcmp(p + m.value.off, "[1, \"x\"]", m.value.len) == 0);
	sp = m.value;
	T_EQ_INT(json_iter_next(&it, &m), 1);
	T_EQ_STR(m.name, "b");
	T_EQ_INT(m.index, 1);
	T_EQ_INT(m.type, JSON_OBJECT);
	T_EQ_INT(m.value.len, 2);
	T_EQ_INT(json_iter_next(&it, &m), 0);
	json_iter_free(&it);

	T_EQ_INT(json_iter_init(&it, p, sp), 0);
	T_EQ_INT(json_iter_next(&it, &m), 1);
	T_EQ_INT(m.type, JSON_NUMBER);
	T_EQ_INT(m.value.len, 1);
	T_EQ_INT(json_iter_next(&it, &m), 1);
	T_EQ_INT(m.type, JSON_STRING);
	T_EQ_INT(m.index, 1);
	T_EQ_INT(json_iter_next(&it, &m), 0);
	json_iter_free(&it);

	/* Strings with escaped quotes and brackets inside. */
	s = "[\"a\\\"]\\\\\", {\"}\":\"\\\\\"}]";
	p = (const uint8_t *)s;
	T_EQ_INT(v(s), JSON_OK);
	T_EQ_INT(json_value_span(p, strlen(s), 0, &all), 0);
	T_EQ_INT(all.len, strlen(s));
	T_EQ_INT(json_iter_init(&it, p, all), 0);
	T_EQ_INT(json_iter_next(&it, &m), 1);
	T_EQ_INT(m.value.len, 8);
	T_EQ_INT(json_iter_next(&it, &m), 1);
	T_EQ_INT(m.type, JSON_OBJECT);
	T_EQ_INT(json_iter_next(&it, &m), 0);
	json_iter_free(&it);
	/* Scalars are not containers; truncated input is not a crash. */
	sp.off = 0;
	sp.len = 3;
	T_EQ_INT(json_iter_init(&it, (const uint8_t *)"123", sp), -1);
	T_EQ_INT(json_value_span((const uint8_t *)"[1,", 3, 0, &sp), -1);
	T_EQ_INT(json_value_span((const uint8_t *)"\"ab", 3, 0, &sp), -1);
}

static void
test_top(void)
{
	const char		*s = " {\"a\":[1,{}] , \"b\\u0031\" : \"x\",\"c\":{}} ";
	const char		*arr = "[ 1, [2,[]] ,\"s\",{} ]";
	struct json_top		*top;
	size_t			 n;

	T_BEGIN("members recorded while validating");
	T_EQ_INT(json_validate_top((const uint8_t *)s, strlen(s), 0, NULL,
	    &top, &n), JSON_OK);
	T_EQ_INT(n, 3);
	T_CHECK(top[0].key.off == 2 && top[0].key.len == 3);
	T_CHECK(strncmp(s + top[0].value.off, "[1,{}]", top[0].value.len) ==
	    0 && top[0].value.len == 6);
	T_CHECK(strncmp(s + top[1].key.off, "\"b\\u0031\"",
	    top[1].key.len) == 0);
	T_CHECK(strncmp(s + top[1].value.off, "\"x\"", top[1].value.len) ==
	    0 && top[1].value.len == 3);
	T_CHECK(top[2].value.len == 2);
	free(top);
	T_EQ_INT(json_validate_top((const uint8_t *)arr, strlen(arr), 0, NULL,
	    &top, &n), JSON_OK);
	T_EQ_INT(n, 4);
	T_CHECK(top[0].key.len == 0 && top[0].value.len == 1);
	T_CHECK(strncmp(arr + top[1].value.off, "[2,[]]",
	    top[1].value.len) == 0 && top[1].value.len == 6);
	T_CHECK(top[2].value.len == 3 && top[3].value.len == 2);
	free(top);
	T_EQ_INT(json_validate_top((const uint8_t *)"[1,", 3, 0, NULL, &top,
	    &n), JSON_EINCOMPLETE);
	T_CHECK(top == NULL && n == 0);
	T_EQ_INT(json_validate_top((const uint8_t *)"7", 1, 0, NULL, &top,
	    &n), JSON_OK);
	T_CHECK(top == NULL && n == 0);
	T_EQ_INT(json_validate_top((const uint8_t *)"{}", 2, 0, NULL, &top,
	    &n), JSON_OK);
	T_EQ_INT(n, 0);
	free(top);
}

static void
test_unescape(void)
{
	struct buf	b;
	const char	*s;

	T_BEGIN("unescape");
	buf_init(&b, 0);
	s = "\"a\\n\\u00e9\\ud83d\\ude00\\/\\\"x\"";
	T_EQ_INT(json_unescape((const uint8_t *)s, strlen(s), &b), 0);
	T_EQ_INT(b.len, 1 + 1 + 2 + 4 + 1 + 1 + 1);
	T_CHECK(memcmp(b.p, "a\n\xc3\xa9\xf0\x9f\x98\x80/\"x", b.len) == 0);
	buf_reset(&b);
	s = "\"\\ud800x\\udc00\\u0000\"";
	T_EQ_INT(json_unescape((const uint8_t *)s, strlen(s), &b), 0);
	T_EQ_INT(b.len, 8);
	T_CHECK(memcmp(b.p, "\xef\xbf\xbdx\xef\xbf\xbd\0", 8) == 0);
	buf_reset(&b);
	s = "\"bad\\x\"";
	T_EQ_INT(json_unescape((const uint8_t *)s, strlen(s), &b), -1);
	T_EQ_INT(b.len, 0);
	buf_free(&b);

	T_CHECK(json_strcmp((const uint8_t *)"\"a\"", 3,
	    (const uint8_t *)"\"\\u0061\"", 8) == 0);
	T_CHECK(json_strcmp((const uint8_t *)"\"a\"", 3,
	    (const uint8_t *)"\"ab\"", 4) < 0);
	T_CHECK(json_strcmp((const uint8_t *)"\"B\"", 3,
	    (const uint8_t *)"\"a\"", 3) < 0);
	T_CHECK(json_strcmp((const uint8_t *)"\"\\u00e9\"", 8,
	    (const uint8_t *)"\"z\"", 3) > 0);
}

/* fuzz/json_ref.c: the portable build of the scanner, for comparison. */
enum json_status ref_json_validate(const uint8_t *, size_t, unsigned int,
		    struct json_result *);

static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * The SSE2 string scanner against the portable one on random documents
 * with long strings of escapes, UTF-8, quotes and damage placed at every
 * alignment: status, error offset and top-level type must agree.
 */
static void
test_vector_vs_portable(void)
{
	static const char *const piece[] = {
		"a", "bcdefgh", " ", "\\\"", "\\\\", "\\n", "\\/", "\\u00e9",
		"\\ud83d\\ude00", "\xc3\xa9", "\xe2\x80\x94", "\xf0\x9f\x98\x80",
		"\\t\\r", "\\\\\\\"", "xyz0123456789",
	};
	static const char *const bad[] = {
		"\x01", "\x80", "\\x", "\\u12g4", "\xc3", "\xed\xa0\x80", "\"",
		"\\",
	};
	struct json_result	 a, b;
	struct buf		 d;
	uint64_t		 seed = 0x9e3779b97f4a7c15ULL;
	size_t			 k, m, len;
	int			 differ = 0;

	T_BEGIN("SSE2 scanner agrees with the portable one");
	buf_init(&d, 4096);
	for (k = 0; k < 20000; k++) {
		buf_reset(&d);
		buf_adds(&d, "{\"k\":\"");
		len = rnd(&seed) % 200;
		for (m = 0; m < len; m++)
			buf_adds(&d, piece[rnd(&seed) % nitems(piece)]);
		if (rnd(&seed) % 4 == 0)
			buf_adds(&d, bad[rnd(&seed) % nitems(bad)]);
		for (m = rnd(&seed) % 40; m > 0; m--)
			buf_adds(&d, piece[rnd(&seed) % nitems(piece)]);
		buf_adds(&d, "\",\"n\":[1,\"x\"]}");
		/* Sometimes cut it, sometimes flip a byte. */
		if (rnd(&seed) % 3 == 0)
			d.len = rnd(&seed) % (d.len + 1);
		else if (rnd(&seed) % 3 == 0)
			d.p[rnd(&seed) % d.len] ^= (uint8_t)(1 << rnd(&seed) % 8);
		if (json_validate(d.p, d.len, 0, &a) !=
		    ref_json_validate(d.p, d.len, 0, &b) ||
		    a.offset != b.offset || a.top != b.top)
			differ++;
	}
	T_EQ_INT(differ, 0);
	buf_free(&d);
}

int
main(void)
{
	test_grammar();
	test_utf8();
	test_depth();
	test_duplicates();
	test_iter();
	test_top();
	test_unescape();
	test_vector_vs_portable();
	T_DONE();
}
