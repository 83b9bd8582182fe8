/*
 * libFuzzer target: keyd's HTTP/2 answer handling (keyd/h2.c: our nghttp2
 * callbacks, the answer head as keyd parses it, DATA and the stream's
 * close), fed what a server could send on a connection with three
 * streams open.  The first input byte chooses how to cut the rest into
 * reads.  Oracles beyond "no crash, no sanitizer report":
 *  - each stream's trace (head, body bytes, a good end or not) is the
 *    same fed whole, in pieces of the chosen sizes and (short inputs)
 *    byte by byte: an answer must not depend on how the network cut it;
 *  - a head comes at most once per stream, before any body byte, within
 *    the 64 KiB limit; nothing comes after a stream's close.  (Whether
 *    keyd's HTTP/1.1 head parser takes the head is recorded, not required:
 *    it refuses some values HTTP/2 allows, and then the exchange fails.)
 * The relay and the socket layer are stand-ins here that record.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "http.h"
#include "kd.h"
#include "log.h"
#include "resp.h"

#define NSTREAMS	3

/*
 * A stream's events: "H<len>:<head>", "D:" then the body bytes (however
 * many chunks they came in), "C<code>".
 */
struct strace {
	struct buf	log;
	int		headed, closed, bad, in_data;
};

static struct strace	st[NSTREAMS];

/* Exchange "pointers" 1..NSTREAMS (h2.c takes NULL for "gone"). */
static struct strace *
of(void *px)
{
	return &st[(intptr_t)px - 1];
}

/* --- stand-ins for relay.c and ktun.c --------------------------------------- */

void
relay_h2_sent(void *px)
{
}

void
relay_h2_head(void *px, const char *head, size_t len)
{
	struct strace	*s = of(px);
	struct http_head h;

	memset(&h, 0, sizeof(h));
	if (s->headed || s->closed || len > RESP_HEAD_MAX + 64)
		s->bad = __LINE__;
	s->headed = 1;
	s->in_data = 0;
	/* What keyd's head parser makes of it is part of the outcome. */
	buf_addf(&s->log, "H%zu%s:", len,
	    http_head_parse(&h, head, len, 0) == HTTP_OK ? "" : "!");
	http_head_free(&h);
	buf_add(&s->log, head, len);
}

void
relay_h2_data(void *px, const uint8_t *p, size_t n)
{
	struct strace	*s = of(px);

	if (!s->headed || s->closed)
		s->bad = __LINE__;
	if (!s->in_data)
		buf_adds(&s->log, "D:");
	s->in_data = 1;
	buf_add(&s->log, p, n);
}

void
relay_h2_closed(void *px, uint32_t code)
{
	struct strace	*s = of(px);

	if (s->closed)
		s->bad = __LINE__;
	s->closed = 1;
	s->in_data = 0;
	buf_addf(&s->log, "C%u", code);
}

int
tun_write(struct tunnel *t, const uint8_t *p, size_t n, char *err,
    size_t errlen)
{
	return 0;	/* what we send is not under test */
}

void
ktun_flush(struct ktun *kt)
{
}

/* --- the driver ------------------------------------------------------------------- */

static const char req[] = "POST /v1/chat/completions HTTP/1.1\r\n"
    "Host: api.example\r\nContent-Type: application/json\r\n"
    "Authorization: Bearer k\r\nContent-Length: 2\r\n\r\n{}";

struct outcome {
	struct buf	log[NSTREAMS];
	int		failed;		/* the connection failed */
};

/*
 * The input is over: a stream that did not end well ends as "X", whether
 * it was reset, cut off with its connection or left open.  Which of these
 * nghttp2 does for a stream when the connection fails or goes away around
 * it depends on where the reads ended; the relay fails the exchange in
 * every case.  What must not depend on the cuts: the head, the body bytes
 * and a good end.
 */
static void
end_of_input(struct strace *s)
{
	size_t	i = s->log.len;

	while (i > 0 && s->log.p[i - 1] >= '0' && s->log.p[i - 1] <= '9')
		i--;
	if (s->closed && i > 0 && s->log.p[i - 1] == 'C' &&
	    !(s->log.len - i == 1 && s->log.p[i] == '0'))
		s->log.len = i - 1;		/* drop "C<code>" */
	else if (s->closed)
		return;			/* ended well before the failure */
	buf_adds(&s->log, "X");
}

static void
run(const uint8_t *in, size_t n, unsigned int step, struct outcome *o)
{
	struct ktun	 kt;
	struct h2	*h;
	struct buf	 rq;
	char		 err[256];
	size_t		 off = 0, k;
	unsigned int	 x = step;
	int		 i;

	memset(&kt, 0, sizeof(kt));
	memset(o, 0, sizeof(*o));
	for (i = 0; i < NSTREAMS; i++) {
		memset(&st[i], 0, sizeof(st[i]));
		buf_init(&st[i].log, 256);
	}
	if ((h = h2_new(&kt, err, sizeof(err))) == NULL)
		abort();
	for (i = 0; i < NSTREAMS; i++) {
		buf_init(&rq, sizeof(req));
		buf_add(&rq, req, sizeof(req) - 1);
		if (h2_submit(h, (void *)(intptr_t)(i + 1), &rq, err,
		    sizeof(err)) < 0)
			abort();
		buf_free(&rq);
	}
	h2_output(h);
	while (off < n && !o->failed) {
		if (step == 0)
			k = n - off;
		else {
			x = x * 1103515245u + 12345u;
			k = 1 + (x >> 16) % step;
			if (k > n - off)
				k = n - off;
		}
		if (h2_input(h, in + off, k, err, sizeof(err)) == -1) {
			o->failed = 1;
			if (getenv("FUZZ_H2_DEBUG") != NULL)
				fprintf(stderr, "failed at %zu+%zu: %s\n", off,
				    k, err);
		}
		off += k;
		h2_output(h);
	}
	h2_free(h);
	for (i = 0; i < NSTREAMS; i++) {
		if (st[i].bad) {
			fprintf(stderr, "fuzz_h2: stream %d broke the rule at "
			    "line %d: %.*s\n", i, st[i].bad,
			    (int)st[i].log.len, (const char *)st[i].log.p);
			abort();
		}
		end_of_input(&st[i]);
		o->log[i] = st[i].log;
	}
}

static void
outcome_free(struct outcome *o)
{
	int	i;

	for (i = 0; i < NSTREAMS; i++)
		buf_free(&o->log[i]);
}

static int
same(const struct outcome *a, const struct outcome *b)
{
	int	i;

	/*
	 * Not the connection's fate: nghttp2 may see an error on a stream
	 * or on the connection around it, depending on the reads.
	 */
	for (i = 0; i < NSTREAMS; i++)
		if (a->log[i].len != b->log[i].len ||
		    memcmp(a->log[i].p, b->log[i].p, a->log[i].len) != 0)
			return 0;
	return 1;
}

/* On a mismatch, both outcomes for the reproducer's report. */
static void
differ(const char *what, const struct outcome *a, const struct outcome *b)
{
	int	i;

	fprintf(stderr, "fuzz_h2: whole and %s differ (failed %d vs %d)\n",
	    what, a->failed, b->failed);
	for (i = 0; i < NSTREAMS; i++)
		fprintf(stderr, "stream %d:\n  whole: %.*s\n  %s: %.*s\n", i,
		    (int)a->log[i].len, (const char *)a->log[i].p, what,
		    (int)b->log[i].len, (const char *)b->log[i].p);
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct outcome	whole, cut, bytes;
	unsigned int	step;

	if (size < 1)
		return 0;
	if (getenv("FUZZ_H2_DEBUG") != NULL)
		log_init(1, LOG_DEBUG, LOG_FORMAT_TEXT);
	step = data[0] % 64;
	data++;
	size--;
	run(data, size, 0, &whole);
	run(data, size, step == 0 ? 7 : step, &cut);
	if (getenv("FUZZ_H2_DEBUG") != NULL)
		fprintf(stderr, "whole: failed %d, %.*s|%.*s|%.*s\n",
		    whole.failed, (int)whole.log[0].len,
		    (const char *)whole.log[0].p, (int)whole.log[1].len,
		    (const char *)whole.log[1].p, (int)whole.log[2].len,
		    (const char *)whole.log[2].p);
	if (!same(&whole, &cut))
		differ("cut", &whole, &cut);
	if (size <= 4096) {
		run(data, size, 1, &bytes);
		if (!same(&whole, &bytes))
			differ("byte by byte", &whole, &bytes);
		outcome_free(&bytes);
	}
	outcome_free(&whole);
	outcome_free(&cut);
	return 0;
}
