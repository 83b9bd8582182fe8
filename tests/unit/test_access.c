/*
 * The worker's admission (daemon/access.c) with the server and the parent
 * stubbed: token checks (Bearer, x-api-key, missing, wrong, expired, too
 * long), the per-worker share of each limit (burst and streams divided by
 * the number of workers, rounded up), stream slots given back, a policy
 * replaced while a removed client still streams, and the usage rows a
 * worker sends (MSG_USAGE).  Refill over time is the e2e tests' (the SDKs
 * wait out Retry-After there).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <sodium.h>

#include "access.h"
#include "clients.h"
#include "ipc.h"
#include "log.h"
#include "metrics.h"
#include "server.h"
#include "t.h"
#include "usage.h"
#include "util.h"
#include "worker.h"

T_GLOBALS;

/* --- stubs: what access.c uses of the worker ------------------------------ */

static struct worker_env	 env;
struct worker_env		*wenv = &env;

static int	 answered;		/* status of the last answer, or 0 */
static char	 answer_hdr[256];
static char	 answer_code[64];
static struct buf sent;			/* the last MSG_USAGE */
static int	 nsent;

void
req_error_hdr(struct request *r, enum pmerr_code code, const char *extra,
    const char *fmt, ...)
{
	answered = pmerr_status(code);
	strlcpy(answer_hdr, extra != NULL ? extra : "", sizeof(answer_hdr));
	strlcpy(answer_code, pmerr_code_str(code), sizeof(answer_code));
}

const char *
req_header(const struct request *r, const char *name)
{
	return http_head_get(&r->head, name);
}

void
parent_send(unsigned int type, const struct buf *m)
{
	if (type != MSG_USAGE)
		return;
	buf_reset(&sent);
	buf_add(&sent, m->p, m->len);
	nsent++;
}

/* --- helpers ------------------------------------------------------------- */

static struct client_ent
ent(const char *name, const char *token, uint32_t n, int64_t ms,
    uint32_t streams, int64_t expires)
{
	struct client_ent	e;

	memset(&e, 0, sizeof(e));
	strlcpy(e.name, name, sizeof(e.name));
	client_token_hash(token, strlen(token), e.hash);
	e.rate.n = n;
	e.rate.ms = ms;
	e.streams = streams;
	e.expires = expires;
	return e;
}

static void
policy(uint8_t mode, uint32_t workers, struct client_ent *v, uint32_t n,
    uint32_t addr_n, int64_t addr_ms, uint32_t addr_streams)
{
	struct access_policy	a;
	struct msgr		r;
	struct buf		m;

	memset(&a, 0, sizeof(a));
	a.mode = mode;
	a.workers = workers;
	a.addr_rate.n = addr_n;
	a.addr_rate.ms = addr_ms;
	a.addr_streams = addr_streams;
	a.v = v;
	a.n = n;
	buf_init(&m, 0);
	access_policy_put(&m, &a);
	msgr_init(&r, m.p, m.len);
	T_EQ_INT(access_set_policy(&r), 0);
	buf_free(&m);
}

/* A request with these extra header lines from address a.b.c.d. */
static struct request *
req(const char *hdrs, uint8_t last_octet)
{
	struct request	*r = xcalloc(1, sizeof(*r));
	char		 head[512];

	snprintf(head, sizeof(head), "POST /v1/chat/completions HTTP/1.1\r\n"
	    "Host: x\r\n%s\r\n", hdrs);
	if (http_head_parse(&r->head, head, strlen(head), 1) != HTTP_OK)
		abort();
	r->akey[10] = r->akey[11] = 0xff;
	r->akey[12] = 192;
	r->akey[13] = 0;
	r->akey[14] = 2;
	r->akey[15] = last_octet;
	r->akey_ok = 1;
	strlcpy(r->peer, "192.0.2.1", sizeof(r->peer));
	return r;
}

static void
req_free(struct request *r)
{
	access_release(r);
	http_head_free(&r->head);
	free(r);
}

/* access_auth, then access_admit: the status answered, 0 if admitted. */
static int
ask(struct request *r)
{
	answered = 0;
	answer_hdr[0] = answer_code[0] = '\0';
	if (access_auth(r) == -1 || access_admit(r) == -1)
		return answered;
	return 0;
}

/* --- tests ---------------------------------------------------------------- */

static void
test_tokens(void)
{
	struct client_ent	 v[3];
	struct request		*r;

	v[0] = ent("alice", "tok-alice", 0, 0, 0, 0);
	v[1] = ent("alice", "tok-alice-2", 0, 0, 0, 0);
	v[2] = ent("bob", "tok-bob", 0, 0, 0, 1);	/* expired in 1970 */
	policy(CA_TOKENS, 1, v, 3, 0, 0, 0);

	T_BEGIN("auth: Bearer (any case), the second token of a client");
	r = req("Authorization: Bearer tok-alice\r\n", 1);
	T_EQ_INT(ask(r), 0);
	T_EQ_STR(r->client, "alice");
	req_free(r);
	r = req("Authorization: bearer   tok-alice-2  \r\n", 1);
	T_EQ_INT(ask(r), 0);
	T_EQ_STR(r->client, "alice");
	req_free(r);

	T_BEGIN("auth: x-api-key, and when Authorization is no Bearer");
	r = req("x-api-key: tok-alice\r\n", 1);
	T_EQ_INT(ask(r), 0);
	req_free(r);
	r = req("Authorization: Basic dXNlcjpwYXNz\r\nx-api-key: tok-alice\r\n", 1);
	T_EQ_INT(ask(r), 0);
	req_free(r);

	T_BEGIN("auth: Authorization counts before x-api-key");
	r = req("Authorization: Bearer wrong\r\nx-api-key: tok-alice\r\n", 1);
	T_EQ_INT(ask(r), 401);
	T_EQ_STR(answer_code, "invalid_api_key");
	req_free(r);

	T_BEGIN("auth: none, empty, wrong, a prefix, too long, expired");
	r = req("", 1);
	T_EQ_INT(ask(r), 401);
	T_EQ_STR(answer_code, "missing_api_key");
	T_EQ_STR(answer_hdr, "WWW-Authenticate: Bearer realm=\"privatemode\"\r\n");
	req_free(r);
	r = req("Authorization: Bearer \r\n", 1);
	T_EQ_INT(ask(r), 401);
	T_EQ_STR(answer_code, "missing_api_key");
	req_free(r);
	r = req("Authorization: Bearer tok-alic\r\n", 1);
	T_EQ_INT(ask(r), 401);
	T_EQ_STR(answer_code, "invalid_api_key");
	T_CHECK(strstr(answer_hdr, "error=\"invalid_token\"") != NULL);
	req_free(r);
	{
		char	h[400];

		memset(h, 'a', sizeof(h));
		memcpy(h, "x-api-key: ", 11);
		memcpy(h + 300, "\r\n", 3);
		r = req(h, 1);
		T_EQ_INT(ask(r), 401);
		T_EQ_STR(answer_code, "invalid_api_key");
		req_free(r);
	}
	r = req("Authorization: Bearer tok-bob\r\n", 1);
	T_EQ_INT(ask(r), 401);
	T_EQ_STR(answer_code, "expired_api_key");
	req_free(r);
	T_CHECK(metrics.auth_failures[0] >= 2 && metrics.auth_failures[1] >= 3 &&
	    metrics.auth_failures[2] == 1);

	T_BEGIN("token headers are hidden only with client_auth tokens");
	T_CHECK(access_token_header("authorization"));
	T_CHECK(access_token_header("X-API-Key"));
	T_CHECK(!access_token_header("X-Request-ID"));
	policy(CA_OFF, 1, NULL, 0, 0, 0, 0);
	T_CHECK(!access_token_header("Authorization"));
	r = req("", 1);
	T_EQ_INT(ask(r), 0);
	T_EQ_STR(r->client, "");
	req_free(r);
}

static void
test_shares(void)
{
	struct client_ent	 v[2];
	struct request		*r[8];
	int			 i;

	T_BEGIN("rate 3/1h over 2 workers: a burst of 2 here, then 429 with "
	    "the wait in Retry-After");
	v[0] = ent("c", "tok-c", 3, 3600000, 0, 0);
	v[1] = ent("d", "tok-d", 0, 0, 3, 0);
	policy(CA_TOKENS, 2, v, 2, 0, 0, 0);
	for (i = 0; i < 2; i++) {
		r[i] = req("Authorization: Bearer tok-c\r\n", 1);
		T_EQ_INT(ask(r[i]), 0);
		req_free(r[i]);
	}
	r[0] = req("Authorization: Bearer tok-c\r\n", 1);
	T_EQ_INT(ask(r[0]), 429);
	T_EQ_STR(answer_code, "rate_limit_exceeded");
	/* 1.5 requests an hour here: 2400 s for the next. */
	T_EQ_STR(answer_hdr, "Retry-After: 2400\r\n");
	req_free(r[0]);

	T_BEGIN("streams 3 over 2 workers: 2 at once here; one ends, one more");
	for (i = 0; i < 2; i++) {
		r[i] = req("Authorization: Bearer tok-d\r\n", 1);
		T_EQ_INT(ask(r[i]), 0);
	}
	r[2] = req("Authorization: Bearer tok-d\r\n", 1);
	T_EQ_INT(ask(r[2]), 429);
	T_EQ_STR(answer_code, "too_many_streams");
	T_EQ_STR(answer_hdr, "Retry-After: 1\r\n");
	req_free(r[2]);
	req_free(r[0]);
	r[2] = req("Authorization: Bearer tok-d\r\n", 1);
	T_EQ_INT(ask(r[2]), 0);

	T_BEGIN("a client taken out while it streams: refused, its slots live "
	    "on until they end");
	v[0] = ent("c", "tok-c", 3, 3600000, 0, 0);
	policy(CA_TOKENS, 2, v, 1, 0, 0, 0);
	r[3] = req("Authorization: Bearer tok-d\r\n", 1);
	T_EQ_INT(ask(r[3]), 401);
	req_free(r[3]);
	req_free(r[1]);
	req_free(r[2]);		/* the last one frees the old client */

	T_BEGIN("the same client back: a fresh state");
	v[1] = ent("d", "tok-d", 0, 0, 1, 0);
	policy(CA_TOKENS, 1, v, 2, 0, 0, 0);
	r[0] = req("Authorization: Bearer tok-d\r\n", 1);
	T_EQ_INT(ask(r[0]), 0);
	r[1] = req("Authorization: Bearer tok-d\r\n", 1);
	T_EQ_INT(ask(r[1]), 429);
	req_free(r[1]);
	req_free(r[0]);
}

static void
test_addresses(void)
{
	struct request	*r[4];
	int		 i;

	T_BEGIN("address rate 1/1h, 1 worker: one request per address");
	policy(CA_OFF, 1, NULL, 0, 1, 3600000, 0);
	r[0] = req("", 10);
	T_EQ_INT(ask(r[0]), 0);
	r[1] = req("", 10);
	T_EQ_INT(ask(r[1]), 429);
	T_EQ_STR(answer_code, "rate_limit_exceeded");
	r[2] = req("", 11);
	T_EQ_INT(ask(r[2]), 0);
	for (i = 0; i < 3; i++)
		req_free(r[i]);

	T_BEGIN("address streams 1: per address, given back");
	policy(CA_OFF, 1, NULL, 0, 0, 0, 1);
	r[0] = req("", 20);
	T_EQ_INT(ask(r[0]), 0);
	r[1] = req("", 20);
	T_EQ_INT(ask(r[1]), 429);
	T_EQ_STR(answer_code, "too_many_streams");
	req_free(r[1]);
	r[2] = req("", 21);
	T_EQ_INT(ask(r[2]), 0);
	req_free(r[0]);
	r[0] = req("", 20);
	T_EQ_INT(ask(r[0]), 0);
	req_free(r[0]);
	req_free(r[2]);

	T_BEGIN("limits off: everything goes");
	policy(CA_OFF, 1, NULL, 0, 0, 0, 0);
	for (i = 0; i < 4; i++) {
		r[i] = req("", 30);
		T_EQ_INT(ask(r[i]), 0);
	}
	for (i = 0; i < 4; i++)
		req_free(r[i]);
}

static void
test_usage(void)
{
	struct usage_table	 t = { NULL, 0, 1 };
	struct request		*r;
	struct msgr		 m;
	int			 i;

	T_BEGIN("usage: rows per client and model, sent on flush");
	policy(CA_OFF, 1, NULL, 0, 0, 0, 0);
	for (i = 0; i < 3; i++) {
		r = req("", 1);
		strlcpy(r->model, i < 2 ? "m1" : "m2", sizeof(r->model));
		r->usage.prompt = 10;
		r->usage.completion = (uint64_t)i;
		access_account(r);
		req_free(r);
	}
	r = req("", 1);		/* never sent to keyd: no model, no row */
	access_account(r);
	req_free(r);
	access_flush();
	T_EQ_INT(nsent, 1);
	msgr_init(&m, sent.p, sent.len);
	T_EQ_INT(usage_get(&m, &t), 0);
	T_EQ_INT(t.n, 2);
	T_EQ_STR(t.v[0].client, "-");
	T_EQ_STR(t.v[0].model, "m1");
	T_EQ_INT(t.v[0].requests, 2);
	T_EQ_INT(t.v[0].prompt, 20);
	T_EQ_INT(t.v[0].completion, 1);
	T_EQ_INT(t.v[1].completion, 2);
	access_flush();
	T_EQ_INT(nsent, 1);	/* nothing new, nothing sent */

	T_BEGIN("usage: a full table is sent, then the row goes in");
	for (i = 0; i < USAGE_DELTA_ROWS + 1; i++) {
		r = req("", 1);
		snprintf(r->model, sizeof(r->model), "m%d", i);
		access_account(r);
		req_free(r);
	}
	T_EQ_INT(nsent, 2);
	usage_free(&t);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	log_init(1, LOG_CRIT, LOG_FORMAT_TEXT);
	env.base = event_base_new();
	buf_init(&sent, 0);
	test_tokens();
	test_shares();
	test_addresses();
	test_usage();
	T_DONE();
}
