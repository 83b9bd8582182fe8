/*
 * Client tokens and usage (common/clients.c, common/usage.c): the token
 * file's grammar and its errors, rate limits, MSG_CLIENTS and MSG_USAGE
 * (round trip, cut anywhere, a byte more), new tokens, the usage objects
 * of OpenAI and Anthropic answers (unary and streamed) and the bounds of
 * the usage tables.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "clients.h"
#include "ipc.h"
#include "log.h"
#include "t.h"
#include "usage.h"
#include "util.h"

T_GLOBALS;

#define H1 "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
#define H2 "sha256:60303AE22B998861BCE3B28F33EEC1BE758A213C86C93C076DBE9F558C11C752"
#define H3 "sha256:fd61a03af4f77d870fc21e05e7e80678095c92d808cfb3b5c279ee04c74aca13"

static int
parse(const char *text, struct client_ent **v, uint32_t *n)
{
	struct rate	def = { 0, 0 };

	return clients_parse("clients", text, strlen(text), &def, 0, v, n);
}

static void
test_rate(void)
{
	struct rate	r;
	char		s[32];

	T_BEGIN("rate_parse");
	T_EQ_INT(rate_parse("none", &r), 0);
	T_EQ_INT(r.n, 0);
	T_EQ_INT(rate_parse("60/1m", &r), 0);
	T_EQ_INT(r.n, 60);
	T_EQ_INT(r.ms, 60000);
	T_EQ_INT(rate_parse("1/250ms", &r), 0);
	T_EQ_INT(r.ms, 250);
	T_EQ_INT(rate_parse("1000000/24h", &r), 0);
	T_EQ_INT(rate_parse("0/1s", &r), -1);
	T_EQ_INT(rate_parse("1000001/1s", &r), -1);
	T_EQ_INT(rate_parse("5/25h", &r), -1);
	T_EQ_INT(rate_parse("5/0s", &r), -1);
	T_EQ_INT(rate_parse("5/", &r), -1);
	T_EQ_INT(rate_parse("/1s", &r), -1);
	T_EQ_INT(rate_parse("-1/1s", &r), -1);
	T_EQ_INT(rate_parse("5/1x", &r), -1);
	T_EQ_INT(rate_parse("five/1s", &r), -1);
	T_EQ_INT(rate_parse("", &r), -1);

	T_BEGIN("rate_format");
	r.n = 60;
	r.ms = 60000;
	rate_format(&r, s, sizeof(s));
	T_EQ_STR(s, "60/1m");
	r.ms = 1500;
	rate_format(&r, s, sizeof(s));
	T_EQ_STR(s, "60/1500ms");
	r.n = 0;
	rate_format(&r, s, sizeof(s));
	T_EQ_STR(s, "none");
}

static void
test_names(void)
{
	char	n65[66];

	T_BEGIN("client names");
	T_CHECK(client_name_ok("gitlab"));
	T_CHECK(client_name_ok("ci-bot_2.prod"));
	T_CHECK(client_name_ok("9"));
	T_CHECK(!client_name_ok(""));
	T_CHECK(!client_name_ok("-x"));
	T_CHECK(!client_name_ok(".x"));
	T_CHECK(!client_name_ok("a b"));
	T_CHECK(!client_name_ok("a\"b"));
	T_CHECK(!client_name_ok("caf\xc3\xa9"));
	memset(n65, 'a', 65);
	n65[65] = '\0';
	T_CHECK(!client_name_ok(n65));
	n65[64] = '\0';
	T_CHECK(client_name_ok(n65));

	T_BEGIN("client_auth values");
	T_EQ_INT(client_auth_parse("off"), CA_OFF);
	T_EQ_INT(client_auth_parse("tokens"), CA_TOKENS);
	T_EQ_INT(client_auth_parse("on"), -1);
	T_EQ_INT(client_auth_parse("Tokens"), -1);
}

static void
test_file(void)
{
	struct client_ent	*v = NULL;
	struct rate		 def = { 10, 1000 };
	uint32_t		 n = 0;
	const char		*good =
	    "# comment line\n"
	    "\n"
	    "gitlab " H1 "  # trailing comment\n"
	    "  ci\t" H2 " expires=2027-06-30 rate=60/1m streams=4\r\n"
	    "ci " H3 " streams=4 rate=60/1m expires=2030-01-02T03:04:05Z";

	T_BEGIN("a good token file");
	T_EQ_INT(clients_parse("f", good, strlen(good), &def, 7, &v, &n), 0);
	T_EQ_INT(n, 3);
	if (n == 3) {
		T_EQ_STR(v[0].name, "gitlab");
		T_EQ_INT(v[0].hash[0], 0x9f);
		T_EQ_INT(v[0].hash[31], 0x08);
		T_EQ_INT(v[0].expires, 0);
		T_EQ_INT(v[0].rate.n, 10);	/* the defaults */
		T_EQ_INT(v[0].rate.ms, 1000);
		T_EQ_INT(v[0].streams, 7);
		T_EQ_STR(v[1].name, "ci");
		T_EQ_INT(v[1].hash[0], 0x60);	/* upper-case hex */
		T_EQ_INT(v[1].expires, 1814313600);	/* 2027-06-30 UTC */
		T_EQ_INT(v[1].rate.n, 60);
		T_EQ_INT(v[1].rate.ms, 60000);
		T_EQ_INT(v[1].streams, 4);
		T_EQ_INT(v[2].expires, 1893553445);
	}
	free(v);

	T_BEGIN("rate=none and streams=0 override the defaults");
	{
		const char *t = "a " H1 " rate=none streams=0\n";

		T_EQ_INT(clients_parse("f", t, strlen(t), &def, 7, &v, &n), 0);
		T_EQ_INT(n, 1);
		T_EQ_INT(v[0].rate.n, 0);
		T_EQ_INT(v[0].streams, 0);
		free(v);
	}

	T_BEGIN("an empty file names no client");
	T_EQ_INT(parse("# nobody\n", &v, &n), 0);
	T_EQ_INT(n, 0);
	free(v);

	T_BEGIN("bad lines are refused");
	{
		static const char *const bad[] = {
			"gitlab\n",
			"gitlab 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n",
			"gitlab sha256:9f86\n",
			"gitlab sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a0g\n",
			"gitlab sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a0800\n",
			"-x " H1 "\n",
			"gitlab " H1 " expires=2027-02-30\n",
			"gitlab " H1 " expires=2027-13-01\n",
			"gitlab " H1 " expires=27-01-01\n",
			"gitlab " H1 " expires=2027-01-01T25:00:00Z\n",
			"gitlab " H1 " expires=2027-01-01 expires=2028-01-01\n",
			"gitlab " H1 " rate=60\n",
			"gitlab " H1 " rate=60/1m rate=1/1s\n",
			"gitlab " H1 " streams=-1\n",
			"gitlab " H1 " streams=x\n",
			"gitlab " H1 " colour=blue\n",
			"gitlab " H1 " stray\n",
			/* one token, two lines */
			"a " H1 "\nb " H1 "\n",
			/* one client, two lines that disagree on its limits */
			"a " H1 " rate=1/1s\na " H2 " rate=2/1s\n",
		};
		size_t	i;

		for (i = 0; i < nitems(bad); i++) {
			v = NULL;
			if (parse(bad[i], &v, &n) != -1)
				fprintf(stderr, "accepted: %s", bad[i]);
			T_EQ_INT(parse(bad[i], &v, &n), -1);
		}
	}

	T_BEGIN("one client, two tokens with the same limits");
	{
		const char *t = "a " H1 " streams=2\na " H2 " streams=2\n";

		T_EQ_INT(parse(t, &v, &n), 0);
		T_EQ_INT(n, 2);
		free(v);
	}
}

static void
test_policy_codec(void)
{
	struct access_policy	 a, b;
	struct client_ent	 e[2];
	struct msgr		 r;
	struct buf		 m;
	size_t			 cut, bad = 0;

	memset(&a, 0, sizeof(a));
	memset(e, 0, sizeof(e));
	strlcpy(e[0].name, "gitlab", sizeof(e[0].name));
	memset(e[0].hash, 0xab, sizeof(e[0].hash));
	e[0].expires = 1814313600;
	e[0].rate.n = 60;
	e[0].rate.ms = 60000;
	e[0].streams = 4;
	strlcpy(e[1].name, "ci", sizeof(e[1].name));
	memset(e[1].hash, 0xcd, sizeof(e[1].hash));
	a.mode = CA_TOKENS;
	a.workers = 3;
	a.addr_rate.n = 100;
	a.addr_rate.ms = 1000;
	a.addr_streams = 8;
	a.v = e;
	a.n = 2;

	T_BEGIN("MSG_CLIENTS round trip");
	buf_init(&m, 0);
	access_policy_put(&m, &a);
	msgr_init(&r, m.p, m.len);
	T_EQ_INT(access_policy_get(&r, &b), 0);
	T_EQ_INT(b.mode, CA_TOKENS);
	T_EQ_INT(b.workers, 3);
	T_EQ_INT(b.addr_rate.n, 100);
	T_EQ_INT(b.addr_rate.ms, 1000);
	T_EQ_INT(b.addr_streams, 8);
	T_EQ_INT(b.n, 2);
	if (b.n == 2) {
		T_EQ_STR(b.v[0].name, "gitlab");
		T_EQ_MEM(b.v[0].hash, e[0].hash, CLIENT_HASH_LEN);
		T_EQ_INT(b.v[0].expires, 1814313600);
		T_EQ_INT(b.v[0].rate.n, 60);
		T_EQ_INT(b.v[0].rate.ms, 60000);
		T_EQ_INT(b.v[0].streams, 4);
		T_EQ_STR(b.v[1].name, "ci");
	}
	access_policy_free(&b);

	T_BEGIN("MSG_CLIENTS cut anywhere, or with a byte more, is refused");
	for (cut = 0; cut < m.len; cut++) {
		msgr_init(&r, m.p, cut);
		if (access_policy_get(&r, &b) != -1)
			bad++;
	}
	T_EQ_INT(bad, 0);
	buf_addc(&m, 0);
	msgr_init(&r, m.p, m.len);
	T_EQ_INT(access_policy_get(&r, &b), -1);
	buf_free(&m);

	T_BEGIN("MSG_CLIENTS: a bad name, mode, worker count or limit is refused");
	strlcpy(e[1].name, "bad name", sizeof(e[1].name));
	buf_init(&m, 0);
	access_policy_put(&m, &a);
	msgr_init(&r, m.p, m.len);
	T_EQ_INT(access_policy_get(&r, &b), -1);
	buf_free(&m);
	strlcpy(e[1].name, "ci", sizeof(e[1].name));
	a.mode = 7;
	buf_init(&m, 0);
	access_policy_put(&m, &a);
	msgr_init(&r, m.p, m.len);
	T_EQ_INT(access_policy_get(&r, &b), -1);
	buf_free(&m);
	a.mode = CA_OFF;
	a.workers = 0;
	buf_init(&m, 0);
	access_policy_put(&m, &a);
	msgr_init(&r, m.p, m.len);
	T_EQ_INT(access_policy_get(&r, &b), -1);
	buf_free(&m);
	a.workers = 1;
	e[0].rate.ms = 0;
	buf_init(&m, 0);
	access_policy_put(&m, &a);
	msgr_init(&r, m.p, m.len);
	T_EQ_INT(access_policy_get(&r, &b), -1);
	buf_free(&m);

	T_BEGIN("MSG_CLIENTS: a count larger than the payload allocates nothing");
	buf_init(&m, 0);
	msg_put_u8(&m, CA_TOKENS);
	msg_put_u32(&m, 1);
	msg_put_u32(&m, 0);
	msg_put_i64(&m, 0);
	msg_put_u32(&m, 0);
	msg_put_u32(&m, CLIENTS_MAX);
	msgr_init(&r, m.p, m.len);
	T_EQ_INT(access_policy_get(&r, &b), -1);
	T_CHECK(b.v == NULL);
	buf_free(&m);
}

static void
test_tokens(void)
{
	char		tok[CLIENT_TOKEN_LEN + 1], tok2[CLIENT_TOKEN_LEN + 1];
	char		line[200], hex[65];
	uint8_t		h[CLIENT_HASH_LEN];
	struct client_ent *v = NULL;
	uint32_t	n = 0;

	T_BEGIN("-G: a fresh token and its line, which parses to its hash");
	client_token_new(tok, sizeof(tok), "gitlab", line, sizeof(line));
	T_EQ_INT(strlen(tok), CLIENT_TOKEN_LEN);
	T_CHECK(strncmp(tok, "pmc_", 4) == 0);
	T_EQ_INT(strspn(tok + 4, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP"
	    "QRSTUVWXYZ0123456789-_"), CLIENT_TOKEN_LEN - 4);
	client_token_hash(tok, strlen(tok), h);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	T_CHECK(strncmp(line, "gitlab sha256:", 14) == 0);
	T_EQ_STR(line + 14, hex);
	T_CHECK(strstr(line, tok + 4) == NULL);	/* the line has no token */
	T_EQ_INT(parse(line, &v, &n), 0);
	T_EQ_INT(n, 1);
	if (n == 1)
		T_EQ_MEM(v[0].hash, h, CLIENT_HASH_LEN);
	free(v);
	client_token_new(tok2, sizeof(tok2), "gitlab", line, sizeof(line));
	T_CHECK(strcmp(tok, tok2) != 0);

	T_BEGIN("SHA-256 of a token is SHA-256");
	client_token_hash("test", 4, h);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	T_EQ_STR(hex, "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
}

/* --- usage ------------------------------------------------------------------ */

static struct usage
json(const char *s)
{
	struct usage	u;

	memset(&u, 0, sizeof(u));
	usage_from_json(&u, (const uint8_t *)s, strlen(s));
	return u;
}

static struct usage
sse(const char *s)
{
	struct usage	u;

	memset(&u, 0, sizeof(u));
	usage_from_sse(&u, (const uint8_t *)s, strlen(s));
	return u;
}

static void
test_usage_read(void)
{
	struct usage	u;

	T_BEGIN("usage: OpenAI unary");
	u = json("{\"id\":\"x\",\"choices\":[{\"message\":{\"content\":"
	    "\"the \\\"usage\\\" of words\"}}],\"usage\":{\"prompt_tokens\":12,"
	    "\"completion_tokens\":5,\"total_tokens\":17}}");
	T_EQ_INT(u.seen, USAGE_PROMPT | USAGE_COMPLETION);
	T_EQ_INT(u.prompt, 12);
	T_EQ_INT(u.completion, 5);

	T_BEGIN("usage: embeddings (prompt only)");
	u = json("{\"data\":[],\"usage\":{\"prompt_tokens\":3,"
	    "\"total_tokens\":3}}");
	T_EQ_INT(u.prompt, 3);
	T_EQ_INT(u.completion, 0);

	T_BEGIN("usage: Anthropic unary");
	u = json("{\"type\":\"message\",\"content\":[],\"usage\":"
	    "{\"input_tokens\":20,\"output_tokens\":7}}");
	T_EQ_INT(u.prompt, 20);
	T_EQ_INT(u.completion, 7);

	T_BEGIN("usage: only the top level counts; nested, null, text do not");
	u = json("{\"choices\":[{\"usage\":{\"prompt_tokens\":99}}],"
	    "\"x\":\"\\\"usage\\\":{\\\"prompt_tokens\\\":98}\"}");
	T_EQ_INT(u.seen, 0);
	u = json("{\"usage\":null}");
	T_EQ_INT(u.seen, 0);
	u = json("{\"usage\":{\"prompt_tokens\":-1,\"completion_tokens\":1.5}}");
	T_EQ_INT(u.seen, 0);
	u = json("{\"usage\":{\"prompt_tokens\":1}");	/* cut */
	T_EQ_INT(u.seen, 0);
	u = json("[{\"usage\":{\"prompt_tokens\":1}}]");
	T_EQ_INT(u.seen, 0);

	T_BEGIN("usage: an OpenAI stream, continuous usage: the last wins");
	u = sse("data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}],"
	    "\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":1}}\n\n"
	    "data: {\"choices\":[{\"delta\":{\"content\":\"b\"}}],"
	    "\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2}}\n\n"
	    "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":9,"
	    "\"completion_tokens\":3,\"total_tokens\":12}}\r\n\r\n"
	    "data: [DONE]\n\n");
	T_EQ_INT(u.prompt, 9);
	T_EQ_INT(u.completion, 3);

	T_BEGIN("usage: an OpenAI stream without include_usage has none");
	u = sse("data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}],"
	    "\"usage\":null}\n\ndata: [DONE]\n\n");
	T_EQ_INT(u.seen, 0);

	T_BEGIN("usage: an Anthropic stream (message_start, message_delta)");
	u = sse("event: message_start\ndata: {\"type\":\"message_start\","
	    "\"message\":{\"id\":\"m\",\"usage\":{\"input_tokens\":25,"
	    "\"output_tokens\":1}}}\n\n"
	    "event: content_block_delta\ndata: {\"type\":"
	    "\"content_block_delta\",\"delta\":{\"text\":\"usage\"}}\n\n"
	    "event: message_delta\ndata: {\"type\":\"message_delta\","
	    "\"delta\":{},\"usage\":{\"output_tokens\":15}}\n\n"
	    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
	T_EQ_INT(u.prompt, 25);
	T_EQ_INT(u.completion, 15);

	T_BEGIN("usage: a line cut short is not read");
	u = sse("data: {\"usage\":{\"prompt_tokens\":4}}");
	T_EQ_INT(u.seen, 0);
	u = sse("data: {\"usage\":{\"prompt_tokens\":4}}\n\ndata: {\"usage\":"
	    "{\"prompt_tokens\":5}}");
	T_EQ_INT(u.prompt, 4);

	T_BEGIN("usage: batches of a stream, one after another");
	memset(&u, 0, sizeof(u));
	usage_from_sse(&u, (const uint8_t *)"event: message_start\ndata: "
	    "{\"message\":{\"usage\":{\"input_tokens\":30,\"output_tokens\":"
	    "1}}}\n\n", 88);
	T_EQ_INT(u.prompt, 30);
	T_EQ_INT(u.completion, 1);
	usage_from_sse(&u, (const uint8_t *)"event: message_delta\ndata: "
	    "{\"usage\":{\"output_tokens\":9}}\n\n", 58);
	T_EQ_INT(u.prompt, 30);
	T_EQ_INT(u.completion, 9);
	T_EQ_INT(u.seen, USAGE_PROMPT | USAGE_COMPLETION);

	T_BEGIN("usage: within one batch the last value of each field wins");
	u = sse("data: {\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":"
	    "1}}\n\ndata: {\"usage\":{\"completion_tokens\":7}}\n\n"
	    "data: {\"x\":1}\n\n");
	T_EQ_INT(u.prompt, 1);
	T_EQ_INT(u.completion, 7);
}

static void
test_usage_tables(void)
{
	struct usage_table	 p = { NULL, 0, 1 }, w = { NULL, 0, 0 };
	struct msgr		 r;
	struct buf		 m, out;
	char			 name[32], label[USAGE_NAME_MAX + 1];
	size_t			 i, cut, bad = 0;

	T_BEGIN("labels");
	usage_label(label, "gpt-oss-120b", 12);
	T_EQ_STR(label, "gpt-oss-120b");
	usage_label(label, "meta-llama/Llama-3.3-70B:fp8@x+y", 32);
	T_EQ_STR(label, "meta-llama/Llama-3.3-70B:fp8@x+y");
	usage_label(label, "a\"b", 3);
	T_EQ_STR(label, USAGE_OTHER);
	usage_label(label, "a\nb", 3);
	T_EQ_STR(label, USAGE_OTHER);
	usage_label(label, "a\0b", 3);
	T_EQ_STR(label, USAGE_OTHER);
	usage_label(label, "", 0);
	T_EQ_STR(label, USAGE_OTHER);
	usage_label(label, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	    65);
	T_EQ_STR(label, USAGE_OTHER);

	T_BEGIN("a worker's table refuses a row past its bound, then is sent");
	for (i = 0; i < USAGE_DELTA_ROWS; i++) {
		snprintf(name, sizeof(name), "m%zu", i);
		T_EQ_INT(usage_add(&w, "c", name, 1, i, 2 * i), 0);
	}
	T_EQ_INT(usage_add(&w, "c", "one-more", 1, 0, 0), -1);
	T_EQ_INT(usage_add(&w, "c", "m7", 1, 1, 1), 0);	/* an existing row */

	T_BEGIN("MSG_USAGE round trip into the parent's table");
	buf_init(&m, 0);
	usage_put(&m, &w);
	T_CHECK(m.len <= IPC_MAX_SMALL);
	msgr_init(&r, m.p, m.len);
	T_EQ_INT(usage_get(&r, &p), 0);
	T_EQ_INT(p.n, USAGE_MODELS_PER_CLIENT + 1);	/* m0..m31, (other) */
	T_EQ_STR(p.v[7].model, "m7");
	T_EQ_INT(p.v[7].requests, 2);
	T_EQ_INT(p.v[7].prompt, 8);
	T_EQ_INT(p.v[7].completion, 15);
	T_EQ_STR(p.v[USAGE_MODELS_PER_CLIENT].model, USAGE_OTHER);
	T_EQ_INT(p.v[USAGE_MODELS_PER_CLIENT].requests,
	    USAGE_DELTA_ROWS - USAGE_MODELS_PER_CLIENT);

	T_BEGIN("MSG_USAGE cut anywhere, or with a byte more, adds nothing");
	usage_reset(&p);
	for (cut = 0; cut < m.len; cut++) {
		msgr_init(&r, m.p, cut);
		if (usage_get(&r, &p) != -1)
			bad++;
	}
	T_EQ_INT(bad, 0);
	T_EQ_INT(p.n, 0);
	buf_addc(&m, 0);
	msgr_init(&r, m.p, m.len);
	T_EQ_INT(usage_get(&r, &p), -1);
	T_EQ_INT(p.n, 0);
	buf_free(&m);

	T_BEGIN("MSG_USAGE: a name that is no label is refused");
	usage_reset(&w);
	usage_add(&w, "c", "bad\"name", 1, 0, 0);
	buf_init(&m, 0);
	usage_put(&m, &w);
	msgr_init(&r, m.p, m.len);
	T_EQ_INT(usage_get(&r, &p), -1);
	T_EQ_INT(p.n, 0);
	buf_free(&m);

	T_BEGIN("the parent's table: past its rows, (other)/(other)");
	for (i = 0; i < USAGE_ROWS_MAX + 10; i++) {
		snprintf(name, sizeof(name), "client%zu", i);
		usage_add(&p, name, "m", 1, 1, 1);
	}
	T_EQ_INT(p.n, USAGE_ROWS_MAX + 1);
	T_EQ_STR(p.v[USAGE_ROWS_MAX].client, USAGE_OTHER);
	T_EQ_STR(p.v[USAGE_ROWS_MAX].model, USAGE_OTHER);
	T_EQ_INT(p.v[USAGE_ROWS_MAX].requests, 10);
	usage_add(&p, "client3", "m", 1, 5, 6);	/* existing rows still count */
	T_EQ_INT(p.v[3].requests, 2);

	T_BEGIN("exposition");
	usage_reset(&p);
	usage_add(&p, "gitlab", "gpt-oss-120b", 3, 30, 12);
	buf_init(&out, 0);
	usage_render(&p, &out);
	T_CHECK(strstr(buf_cstr(&out), "privatemode_client_requests_total{"
	    "client=\"gitlab\",model=\"gpt-oss-120b\"} 3\n") != NULL);
	T_CHECK(strstr(buf_cstr(&out), "privatemode_client_tokens_total{"
	    "client=\"gitlab\",model=\"gpt-oss-120b\",kind=\"prompt\"} 30\n") !=
	    NULL);
	T_CHECK(strstr(buf_cstr(&out), "privatemode_client_tokens_total{"
	    "client=\"gitlab\",model=\"gpt-oss-120b\",kind=\"completion\"} 12\n")
	    != NULL);
	buf_free(&out);
	usage_free(&p);
	usage_free(&w);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	log_init(1, LOG_CRIT, LOG_FORMAT_TEXT);	/* the parser's warnings */
	test_rate();
	test_names();
	test_file();
	test_policy_codec();
	test_tokens();
	test_usage_read();
	test_usage_tables();
	T_DONE();
}
