/*
 * The HTTP parsers: common/http.c (heads, chunked coding), keyd/resp.c
 * (keyd's reader of upstream responses) and keyd/multipart.c.  The
 * response reader is held to one rule above all: the same bytes give the
 * same result however they are cut into reads.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "http.h"
#include "multipart.h"
#include "resp.h"
#include "resp_trace.h"
#include "t.h"

T_GLOBALS;

/* --- heads ----------------------------------------------------------- */

static void
test_request_head(void)
{
	static const char	 ok[] = "\r\nPOST /v1/chat/completions?x=1 "
	    "HTTP/1.1\r\nHost: a\r\ncontent-type:  application/json \t\r\n"
	    "X-Empty:\r\n\r\n";
	struct http_head	 h;
	struct buf		 flood;
	int			 i;

	T_BEGIN("request head: line, headers, trimmed values");
	T_EQ_INT(http_head_parse(&h, ok, sizeof(ok) - 1, 1), HTTP_OK);
	T_EQ_STR(h.method, "POST");
	T_EQ_STR(h.target, "/v1/chat/completions?x=1");
	T_EQ_INT(h.minor, 1);
	T_EQ_INT(h.nh, 3);
	T_EQ_STR(http_head_get(&h, "Content-Type"), "application/json");
	T_EQ_STR(http_head_get(&h, "x-empty"), "");
	T_CHECK(http_head_get(&h, "Content-Length") == NULL);
	http_head_free(&h);

	T_BEGIN("request head: each malformed head has its error");
	T_EQ_INT(http_head_parse(&h, "GET / HTTP/2.0\r\n\r\n", 18, 1),
	    HTTP_E_VERSION);
	http_head_free(&h);
	T_EQ_INT(http_head_parse(&h, "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
	    31, 1), HTTP_E_SYNTAX);
	http_head_free(&h);
	T_EQ_INT(http_head_parse(&h, "GET / HTTP/1.1\r\nA: b\0c\r\n\r\n", 26,
	    1), HTTP_E_SYNTAX);
	http_head_free(&h);
	T_EQ_INT(http_head_parse(&h, "GET / HTTP/1.1\r\nA: b\x01\r\n\r\n", 24,
	    1), HTTP_E_SYNTAX);
	http_head_free(&h);

	T_BEGIN("request head: 100 headers pass, 101 are a flood");
	buf_init(&flood, 0);
	buf_adds(&flood, "GET / HTTP/1.1\r\n");
	for (i = 0; i < HTTP_MAX_HEADERS; i++)
		buf_addf(&flood, "H%d: v\r\n", i);
	buf_adds(&flood, "\r\n");
	T_EQ_INT(http_head_parse(&h, (char *)flood.p, flood.len, 1), HTTP_OK);
	T_EQ_INT(h.nh, HTTP_MAX_HEADERS);
	http_head_free(&h);
	flood.len -= 2;
	buf_adds(&flood, "One-More: v\r\n\r\n");
	T_EQ_INT(http_head_parse(&h, (char *)flood.p, flood.len, 1),
	    HTTP_E_TOO_MANY);
	http_head_free(&h);
	buf_free(&flood);
}

/* The end of a head found by resumed scans, one byte more each time. */
static size_t
head_end_bytewise(const char *s, size_t n)
{
	size_t	i, end, scanned = 0;

	for (i = 1; i <= n; i++)
		if ((end = http_head_end(s, i, &scanned)) != 0)
			return end;
	return 0;
}

static void
test_head_end(void)
{
	static const char *const heads[] = {
		"HTTP/1.1 200 OK\r\nA: b\r\n\r\nbody",
		"HTTP/1.1 200 OK\nA: b\n\nbody",
		"HTTP/1.1 200 OK\r\nA: b\n\r\nbody",
		"HTTP/1.1 200 OK\r\nA: b\r\n",
	};
	size_t	i, scanned, n;

	T_BEGIN("http_head_end: resumed scans find what one scan finds");
	for (i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		n = strlen(heads[i]);
		scanned = 0;
		T_EQ_INT(head_end_bytewise(heads[i], n),
		    http_head_end(heads[i], n, &scanned));
	}
	scanned = 0;
	T_EQ_INT(http_head_end(heads[0], strlen(heads[0]), &scanned), 25);
	scanned = 0;
	T_EQ_INT(http_head_end(heads[1], strlen(heads[1]), &scanned), 22);
}

/* --- chunked coding -------------------------------------------------- */

static void
collect(const uint8_t *p, size_t n, void *arg)
{
	buf_add(arg, p, n);
}

/* Feed in pieces of `step` bytes; the payload and the last status. */
static enum http_chunk_rv
chunked_in_steps(const char *in, size_t n, size_t step, struct buf *out,
    size_t *consumed)
{
	struct http_chunked	 c;
	enum http_chunk_rv	 rv = HTTP_CHUNK_MORE;
	size_t			 off = 0, l, used;

	http_chunked_init(&c);
	*consumed = 0;
	while (off < n && rv == HTTP_CHUNK_MORE) {
		l = n - off < step ? n - off : step;
		rv = http_chunked_feed(&c, (const uint8_t *)in + off, l, &used,
		    collect, out);
		*consumed += used;
		off += l;
	}
	return rv;
}

static void
test_chunked(void)
{
	static const struct {
		const char		*in;
		enum http_chunk_rv	 rv;
		const char		*payload;
		size_t			 consumed;	/* when DONE */
	} t[] = {
		{ "5\r\nhello\r\n0\r\n\r\nNEXT", HTTP_CHUNK_DONE, "hello", 15 },
		{ "3;ext=1\r\nabc\r\nA\r\n0123456789\r\n0\r\nT: x\r\n\r\n",
		    HTTP_CHUNK_DONE, "abc0123456789", 40 },
		{ "2\nab\n0\n\n", HTTP_CHUNK_DONE, "ab", 8 },
		{ "2\r\nab", HTTP_CHUNK_MORE, "ab", 0 },
		{ "x\r\n", HTTP_CHUNK_ERROR, "", 0 },
		{ "2\r\nabX\r\n", HTTP_CHUNK_ERROR, "ab", 0 },
		{ "1000000000000000\r\n", HTTP_CHUNK_ERROR, "", 0 },
		/* Chunk extensions, RFC 9112 7.1.1: accepted and dropped. */
		{ "2;name=value\r\nab\r\n0\r\n\r\n", HTTP_CHUNK_DONE, "ab",
		    23 },
		{ "2 ; a ; b = c;d\r\nab\r\n0;last\r\n\r\n", HTTP_CHUNK_DONE,
		    "ab", 31 },
		{ "2;q=\"a \\\" ;\tb\"\r\nab\r\n0\r\n\r\n", HTTP_CHUNK_DONE,
		    "ab", 25 },
		{ "2;q=\"\x80\"\nab\n0\n\n", HTTP_CHUNK_DONE, "ab", 14 },
		/* ... anything else after the size is refused. */
		{ "2 junk\r\nab\r\n0\r\n\r\n", HTTP_CHUNK_ERROR, "", 0 },
		{ "2 \r\nab\r\n0\r\n\r\n", HTTP_CHUNK_ERROR, "", 0 },
		{ "2;\r\nab\r\n", HTTP_CHUNK_ERROR, "", 0 },
		{ "2;=v\r\nab\r\n", HTTP_CHUNK_ERROR, "", 0 },
		{ "2;a=\r\nab\r\n", HTTP_CHUNK_ERROR, "", 0 },
		{ "2;a b\r\nab\r\n", HTTP_CHUNK_ERROR, "", 0 },
		{ "2;a=b c\r\nab\r\n", HTTP_CHUNK_ERROR, "", 0 },
		{ "2;a=b=c\r\nab\r\n", HTTP_CHUNK_ERROR, "", 0 },
		{ "2;a=\"open\r\nab\r\n", HTTP_CHUNK_ERROR, "", 0 },
		{ "2;a=\"x\"y\r\nab\r\n", HTTP_CHUNK_ERROR, "", 0 },
		{ "2;a\rb\nab\r\n", HTTP_CHUNK_ERROR, "", 0 },
		{ "2;a=\"\x01\"\r\nab\r\n", HTTP_CHUNK_ERROR, "", 0 },
		{ "0 x\r\n\r\n", HTTP_CHUNK_ERROR, "", 0 },
		{ "2;a \r\nab\r\n", HTTP_CHUNK_ERROR, "", 0 },
		{ "2;a=b \r\nab\r\n", HTTP_CHUNK_ERROR, "", 0 },
	};
	struct buf		 whole, piece;
	enum http_chunk_rv	 rv;
	size_t			 i, n, step, used, used1;

	T_BEGIN("chunked: payload and status, fed whole and in every step");
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		n = strlen(t[i].in);
		buf_init(&whole, 0);
		rv = chunked_in_steps(t[i].in, n, n, &whole, &used);
		T_EQ_INT(rv, t[i].rv);
		T_CHECK(whole.len == strlen(t[i].payload) &&
		    memcmp(whole.p, t[i].payload, whole.len) == 0);
		if (rv == HTTP_CHUNK_DONE)
			T_EQ_INT(used, t[i].consumed);
		for (step = 1; step < n; step++) {
			buf_init(&piece, 0);
			T_EQ_INT(chunked_in_steps(t[i].in, n, step, &piece,
			    &used1), rv);
			T_CHECK(piece.len == whole.len && (whole.len == 0 ||
			    memcmp(piece.p, whole.p, whole.len) == 0));
			if (rv == HTTP_CHUNK_DONE)
				T_EQ_INT(used1, used);
			buf_free(&piece);
		}
		buf_free(&whole);
	}
}

/* --- keyd's response reader ------------------------------------------ */

/* The outcome of `in` fed whole; every two-piece cut and byte by byte
 * must give the same. */
static void
resp_split_invariant(const char *in, size_t n, int head_request,
    const char *want)
{
	struct trace	 whole, cut;
	size_t		*cuts, i;

	trace_run((const uint8_t *)in, n, NULL, 0, head_request, &whole);
	if (want != NULL && strcmp((char *)whole.ev.p, want) != 0) {
		T_EQ_STR((char *)whole.ev.p, want);
		trace_free(&whole);
		return;
	}
	t_checks++;
	for (i = 1; i < n; i++) {
		trace_run((const uint8_t *)in, n, &i, 1, head_request, &cut);
		if (!trace_same(&whole, &cut)) {
			T_EQ_STR((char *)cut.ev.p, (char *)whole.ev.p);
			fprintf(stderr, "  (cut at %zu of %s)\n", i, in);
		}
		trace_free(&cut);
	}
	cuts = calloc(n, sizeof(*cuts));
	for (i = 0; i + 1 < n; i++)
		cuts[i] = i + 1;
	trace_run((const uint8_t *)in, n, cuts, n > 0 ? n - 1 : 0, head_request, &cut);
	T_CHECK(trace_same(&whole, &cut));
	trace_free(&cut);
	free(cuts);
	trace_free(&whole);
}

static void
test_resp(void)
{
	static const struct {
		const char	*in;
		int		 head_request;
		const char	*want;
	} t[] = {
		{ "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 0,
		    "head 200 at 0; done at 5; eof 0, keepalive 1, done 1" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		    "3\r\nabc\r\n2;x\r\nde\r\n0\r\nTrailer: t\r\n\r\n", 0,
		    "head 200 at 0; done at 5; eof 0, keepalive 1, done 1" },
		{ "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nto the end", 0,
		    "head 200 at 0; done at 10; eof 0, keepalive 0, done 1" },
		{ "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\n"
		    "Content-Length: 2\r\n\r\nok", 0,
		    "head 201 at 0; done at 2; eof 0, keepalive 1, done 1" },
		{ "HTTP/1.1 204 No Content\r\n\r\n", 0,
		    "head 204 at 0; done at 0; eof 0, keepalive 1, done 1" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", 1,
		    "head 200 at 0; done at 0; eof 0, keepalive 1, done 1" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxEXTRA", 0,
		    "head 200 at 0; done at 1; eof 0, keepalive 0, done 1" },
		{ "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", 0,
		    "head 200 at 0; done at 1; eof 0, keepalive 0, done 1" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nabc", 0,
		    "head 200 at 0; eof -1, keepalive 1, done 0" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1"
		    "\r\n\r\nx", 0, "error \"bad upstream Content-Length\"" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 0,
		    "error \"bad upstream Content-Length\"" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", 0,
		    "error \"unsupported upstream Transfer-Encoding "
		    "\"gzip\"\"" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		    "2\r\nabc\r\n", 0, "head 200 at 0; "
		    "error \"malformed chunked upstream response\"" },
		{ "HTTP/1.1 200 OK\r\nBad Header\r\n\r\n", 0,
		    "error \"malformed upstream response: malformed HTTP "
		    "head\"" },
		{ "HTTP/1.1 200 OK\r\nContent-", 0,
		    "eof -1, keepalive 0, done 0" },
	};
	size_t	i;

	T_BEGIN("resp: each response gives one outcome however it is cut");
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		resp_split_invariant(t[i].in, strlen(t[i].in),
		    t[i].head_request, t[i].want);
}

/* A head of `size` bytes, fed whole or in 1 KiB reads. */
static void
big_head(size_t size, const char *want)
{
	struct trace	 t;
	struct buf	 b;
	size_t		*cuts, n, i;

	/* Long headers, few enough for HTTP_MAX_HEADERS. */
	buf_init(&b, size);
	buf_adds(&b, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n");
	for (i = 0; b.len + 1100 < size; i++) {
		buf_addf(&b, "X-Fill-%zu: ", i);
		memset(buf_reserve(&b, 1000), 'v', 1000);
		b.len += 1000;
		buf_adds(&b, "\r\n");
	}
	buf_adds(&b, "\r\n");
	n = b.len / 1024;
	cuts = calloc(n + 1, sizeof(*cuts));
	for (i = 0; i < n; i++)
		cuts[i] = (i + 1) * 1024;
	trace_run(b.p, b.len, NULL, 0, 0, &t);
	T_EQ_STR((char *)t.ev.p, want);
	trace_free(&t);
	trace_run(b.p, b.len, cuts, n, 0, &t);
	T_EQ_STR((char *)t.ev.p, want);
	trace_free(&t);
	free(cuts);
	buf_free(&b);
}

static void
test_resp_head_limit(void)
{
	T_BEGIN("resp: the head limit does not depend on how it is read");
	big_head(RESP_HEAD_MAX - 4096,
	    "head 200 at 0; done at 0; eof 0, keepalive 1, done 1");
	big_head(RESP_HEAD_MAX + 4096,
	    "error \"upstream response head too large (over 65536 bytes)\"");
}

/* --- multipart -------------------------------------------------------- */

static int
parse_form(const char *body, const char *boundary, struct mp_form *f,
    const char **msg)
{
	return mp_parse((const uint8_t *)body, strlen(body), boundary, f, msg);
}

/* A form of one part with these headers: its name and kind. */
static void
one_part(const char *headers, const char *name, int is_file)
{
	struct mp_form	 f;
	struct buf	 body;
	const char	*msg = NULL;

	buf_init(&body, 0);
	buf_addf(&body, "--B\r\n%s\r\n\r\nv\r\n--B--", headers);
	buf_addc(&body, '\0');
	T_EQ_INT(parse_form((char *)body.p, "B", &f, &msg), 0);
	T_EQ_INT(f.nparts, 1);
	if (f.nparts == 1) {
		T_EQ_STR(f.parts[0].name, name);
		T_EQ_INT(f.parts[0].is_file, is_file);
	}
	mp_free(&f);
	buf_free(&body);
}

static void
test_multipart(void)
{
	struct mp_form		 f;
	const struct mp_part	*v;
	const char		*msg = NULL;
	char			 b[80];
	struct buf		 many;
	int			 i;

	T_BEGIN("multipart: boundary from the Content-Type");
	T_EQ_INT(mp_boundary("multipart/form-data; boundary=\"a b\"", b,
	    sizeof(b), &msg), 0);
	T_EQ_STR(b, "a b");
	T_EQ_INT(mp_boundary("multipart/form-data; boundary=a<b", b,
	    sizeof(b), &msg), -1);
	T_EQ_STR(msg, "invalid multipart boundary");
	T_EQ_INT(mp_boundary("text/plain; boundary=x", b, sizeof(b), &msg),
	    -1);
	T_EQ_INT(mp_boundary("multipart/form-data", b, sizeof(b), &msg), -1);
	T_EQ_STR(msg, "no multipart boundary param in Content-Type");

	T_BEGIN("multipart: values and files, spans into the body");
	T_EQ_INT(parse_form("preamble\r\n--XY\r\n"
	    "Content-Disposition: form-data; name=\"model\"\r\n\r\nwhisper"
	    "\r\n--XY\r\nContent-Disposition: form-data; name=\"file\"; "
	    "filename=\"a.wav\"\r\nContent-Type: audio/wav\r\n\r\nRIFF\r\n--"
	    "\r\n--XY--\r\n", "XY", &f, &msg), 0);
	T_EQ_INT(f.nparts, 2);
	T_EQ_STR(f.parts[0].name, "model");
	T_EQ_INT(f.parts[0].is_file, 0);
	T_CHECK(f.parts[0].len == 7 &&
	    memcmp(f.parts[0].data, "whisper", 7) == 0);
	T_EQ_STR(f.parts[1].name, "file");
	T_EQ_INT(f.parts[1].is_file, 1);
	T_CHECK(f.parts[1].len == 8 &&
	    memcmp(f.parts[1].data, "RIFF\r\n--", 8) == 0);
	T_CHECK((v = mp_value(&f, "model")) == &f.parts[0]);
	T_CHECK(mp_value(&f, "file") == NULL);
	mp_free(&f);

	/* Go's Header.Get: the first Content-Disposition names the part. */
	T_BEGIN("multipart: the first of two Content-Dispositions counts");
	one_part("Content-Disposition: form-data; name=\"first\"\r\n"
	    "content-disposition: form-data; name=\"second\"; filename=\"f\"",
	    "first", 0);

	T_BEGIN("multipart: a ';' inside a quoted value is not a parameter");
	one_part("Content-Disposition: form-data; filename=\"x; name=evil\\\"; "
	    "name=worse\"; name=\"model\"", "model", 1);

	T_BEGIN("multipart: each malformed form has its error");
	T_EQ_INT(parse_form("--B\r\nContent-Type: text/plain\r\n\r\nv\r\n"
	    "--B--", "B", &f, &msg), -1);
	T_EQ_STR(msg, "multipart: part without Content-Disposition");
	T_EQ_INT(parse_form("--B\r\nContent-Disposition: form-data\r\n\r\n"
	    "v\r\n--B--", "B", &f, &msg), -1);
	T_EQ_STR(msg, "multipart: part without a name");
	T_EQ_INT(parse_form("--B\r\nContent-Disposition: form-data; "
	    "name=\"a\"\r\n\r\nno closing delimiter", "B", &f, &msg), -1);
	T_EQ_STR(msg, "multipart: NextPart: EOF");
	T_EQ_INT(parse_form("no delimiter at all", "B", &f, &msg), -1);
	T_EQ_STR(msg, "multipart: NextPart: EOF");
	buf_init(&many, 0);
	for (i = 0; i <= MP_MAX_PARTS; i++)
		buf_addf(&many, "--B\r\nContent-Disposition: form-data; "
		    "name=\"p%d\"\r\n\r\n%d\r\n", i, i);
	buf_adds(&many, "--B--");
	buf_addc(&many, '\0');
	T_EQ_INT(parse_form((char *)many.p, "B", &f, &msg), -1);
	T_EQ_STR(msg, "multipart: too many parts");
	buf_free(&many);
}

int
main(void)
{
	test_request_head();
	test_head_end();
	test_chunked();
	test_resp();
	test_resp_head_limit();
	test_multipart();
	T_DONE();
}
