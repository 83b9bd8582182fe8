/*
 * The error vocabulary and its renderer: the table (common/pmerr.c), the
 * IPC encoding of a struct pmerr (short and trailing bytes refused, no
 * unknown code), and the bytes clients see (daemon/apierr.c): each
 * dialect as JSON, as an error answer's SSE event and as the event that
 * ends a stream, with the message escaped.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apierr.h"
#include "ipc.h"
#include "pmerr.h"
#include "t.h"
#include "util.h"

T_GLOBALS;

static char *
render(enum route_dialect d, enum apierr_form f, enum pmerr_code c,
    const char *msg)
{
	struct buf	b;

	buf_init(&b, 0);
	apierr_render(&b, d, f, c, msg);
	return (char *)buf_release(&b, NULL);
}

static void
check(enum route_dialect d, enum apierr_form f, enum pmerr_code c,
    const char *msg, const char *want)
{
	char	*got = render(d, f, c, msg);

	T_EQ_STR(got, want);
	free(got);
}

static void
test_table(void)
{
	int	c;

	T_BEGIN("every code has a status, a type, a code and a message");
	for (c = PME_NONE + 1; c < PME_MAX; c++) {
		T_CHECK(pmerr_status(c) >= 400 && pmerr_status(c) <= 599);
		T_CHECK(pmerr_type(c) != NULL && *pmerr_type(c) != '\0');
		T_CHECK(pmerr_code_str(c) != NULL &&
		    *pmerr_code_str(c) != '\0');
		T_CHECK(*pmerr_default_msg(c) != '\0');
	}
	T_BEGIN("a code out of range reads as an internal error");
	T_EQ_INT(pmerr_status(PME_MAX), 500);
	T_EQ_STR(pmerr_code_str((enum pmerr_code)999), "internal_error");
	T_EQ_STR(pmerr_type(PME_NONE), "server_error");
	T_BEGIN("what the clients' tests assert");
	T_EQ_INT(pmerr_status(PME_NOT_ATTESTED), 503);
	T_EQ_STR(pmerr_type(PME_NOT_ATTESTED), "service_unavailable");
	T_EQ_INT(pmerr_status(PME_INVALID_API_KEY), 401);
	T_EQ_STR(pmerr_type(PME_INVALID_API_KEY), "authentication_error");
	T_EQ_INT(pmerr_status(PME_UPSTREAM_TIMEOUT), 504);
	T_EQ_STR(pmerr_type(PME_UPSTREAM_TIMEOUT), "timeout_error");
}

static void
test_set(void)
{
	struct pmerr	e;
	char		long_msg[PMERR_MSG_MAX + 100];

	T_BEGIN("pmerr_set: default message, formatted, cut");
	pmerr_set(&e, PME_KEYD_UNAVAILABLE, NULL);
	T_EQ_INT(e.code, PME_KEYD_UNAVAILABLE);
	T_EQ_STR(e.msg, "key daemon unavailable");
	pmerr_set(&e, PME_NOT_FOUND, "no route for %s", "/x");
	T_EQ_STR(e.msg, "no route for /x");
	memset(long_msg, 'a', sizeof(long_msg) - 1);
	long_msg[sizeof(long_msg) - 1] = '\0';
	pmerr_set(&e, PME_INVALID_JSON, "%s", long_msg);
	T_EQ_INT(strlen(e.msg), PMERR_MSG_MAX - 1);
}

static void
test_ipc(void)
{
	struct pmerr	e, got;
	struct msgr	r;
	struct buf	m;
	size_t		cut, bad = 0;

	T_BEGIN("pmerr IPC round trip");
	buf_init(&m, 0);
	pmerr_set(&e, PME_UPSTREAM_TLS, "handshake: \"bad\" certificate");
	pmerr_put(&m, &e);
	msgr_init(&r, m.p, m.len);
	T_EQ_INT(pmerr_get(&r, &got), 0);
	T_EQ_INT(msg_end(&r), 0);
	T_EQ_INT(got.code, PME_UPSTREAM_TLS);
	T_EQ_STR(got.msg, e.msg);

	T_BEGIN("pmerr IPC: every short payload fails");
	for (cut = 0; cut < m.len; cut++) {
		msgr_init(&r, m.p, cut);
		if (pmerr_get(&r, &got) != -1 || msg_end(&r) != -1 ||
		    got.code != PME_NONE)
			bad++;
	}
	T_EQ_INT(bad, 0);

	T_BEGIN("pmerr IPC: a trailing byte fails at msg_end");
	msg_put_u8(&m, 0);
	msgr_init(&r, m.p, m.len);
	T_EQ_INT(pmerr_get(&r, &got), 0);
	T_EQ_INT(msg_end(&r), -1);
	buf_free(&m);

	T_BEGIN("pmerr IPC: no code, an unknown code, no message fail");
	buf_init(&m, 0);
	msg_put_u16(&m, PME_NONE);
	msg_put_str(&m, "x");
	msgr_init(&r, m.p, m.len);
	T_EQ_INT(pmerr_get(&r, &got), -1);
	T_EQ_INT(msg_end(&r), -1);
	buf_reset(&m);
	msg_put_u16(&m, PME_MAX);
	msg_put_str(&m, "x");
	msgr_init(&r, m.p, m.len);
	T_EQ_INT(pmerr_get(&r, &got), -1);
	buf_reset(&m);
	msg_put_u16(&m, PME_INTERNAL);
	msg_put_str(&m, NULL);
	msgr_init(&r, m.p, m.len);
	T_EQ_INT(pmerr_get(&r, &got), -1);
	T_EQ_INT(msg_end(&r), -1);

	T_BEGIN("pmerr IPC: a message longer than a struct pmerr holds fails");
	buf_reset(&m);
	msg_put_u16(&m, PME_INTERNAL);
	msg_put_u32(&m, PMERR_MSG_MAX);
	memset(msg_put_space(&m, PMERR_MSG_MAX), 'a', PMERR_MSG_MAX);
	msgr_init(&r, m.p, m.len);
	T_EQ_INT(pmerr_get(&r, &got), -1);
	buf_free(&m);
}

static void
test_openai(void)
{
	T_BEGIN("OpenAI: JSON");
	check(RD_OPENAI, AEF_JSON, PME_NOT_FOUND, "no route for /x",
	    "{\"error\":{\"message\":\"no route for /x\","
	    "\"type\":\"invalid_request_error\",\"param\":null,"
	    "\"code\":\"not_found\"}}");
	T_BEGIN("OpenAI: the default message");
	check(RD_OPENAI, AEF_JSON, PME_KEYD_UNAVAILABLE, NULL,
	    "{\"error\":{\"message\":\"key daemon unavailable\","
	    "\"type\":\"service_unavailable\",\"param\":null,"
	    "\"code\":\"keyd_unavailable\"}}");
	T_BEGIN("OpenAI: the 429s of a connection over a limit");
	check(RD_OPENAI, AEF_JSON, PME_TOO_MANY_CONNECTIONS, NULL,
	    "{\"error\":{\"message\":\"too many connections\",\"type\":"
	    "\"rate_limit_error\",\"param\":null,"
	    "\"code\":\"too_many_connections\"}}");
	check(RD_OPENAI, AEF_JSON, PME_TOO_MANY_CONNECTIONS_ADDR, NULL,
	    "{\"error\":{\"message\":\"too many connections from this "
	    "address\",\"type\":\"rate_limit_error\",\"param\":null,"
	    "\"code\":\"too_many_connections_from_address\"}}");
	T_BEGIN("OpenAI: an error answer as an event stream");
	check(RD_OPENAI, AEF_SSE, PME_RATE_LIMITED, "slow down",
	    "event: error\ndata: {\"error\":{\"message\":\"slow down\","
	    "\"type\":\"rate_limit_error\",\"param\":null,"
	    "\"code\":\"rate_limit_exceeded\"}}\n\n");
	T_BEGIN("OpenAI: the event ending a stream is a data event");
	check(RD_OPENAI, AEF_STREAM, PME_UPSTREAM_TIMEOUT, "slow",
	    "data: {\"error\":{\"message\":\"slow\",\"type\":\"timeout_error\","
	    "\"param\":null,\"code\":\"upstream_timeout\"}}\n\n");
}

static void
test_anthropic(void)
{
	T_BEGIN("Anthropic: JSON, the type from the status");
	check(RD_ANTHROPIC, AEF_JSON, PME_NOT_FOUND, "no route",
	    "{\"type\":\"error\",\"error\":{\"type\":\"not_found_error\","
	    "\"message\":\"no route\"}}");
	check(RD_ANTHROPIC, AEF_JSON, PME_MISSING_API_KEY, "k",
	    "{\"type\":\"error\",\"error\":{\"type\":\"authentication_error\","
	    "\"message\":\"k\"}}");
	check(RD_ANTHROPIC, AEF_JSON, PME_BODY_TOO_LARGE, "b",
	    "{\"type\":\"error\",\"error\":{\"type\":\"request_too_large\","
	    "\"message\":\"b\"}}");
	check(RD_ANTHROPIC, AEF_JSON, PME_RATE_LIMITED, "r",
	    "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\","
	    "\"message\":\"r\"}}");
	check(RD_ANTHROPIC, AEF_JSON, PME_INVALID_JSON, "j",
	    "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\","
	    "\"message\":\"j\"}}");
	check(RD_ANTHROPIC, AEF_JSON, PME_NOT_ATTESTED, "n",
	    "{\"type\":\"error\",\"error\":{\"type\":\"api_error\","
	    "\"message\":\"n\"}}");
	T_BEGIN("Anthropic: an error answer and a stream's end alike");
	check(RD_ANTHROPIC, AEF_SSE, PME_UPSTREAM_CLOSED, "c",
	    "event: error\ndata: {\"type\":\"error\",\"error\":"
	    "{\"type\":\"api_error\",\"message\":\"c\"}}\n\n");
	check(RD_ANTHROPIC, AEF_STREAM, PME_UPSTREAM_CLOSED, "c",
	    "event: error\ndata: {\"type\":\"error\",\"error\":"
	    "{\"type\":\"api_error\",\"message\":\"c\"}}\n\n");
}

static void
test_escape(void)
{
	T_BEGIN("messages are escaped in both dialects");
	check(RD_OPENAI, AEF_JSON, PME_BAD_REQUEST, "a\"b\\c\nd\x01<e>&\xff",
	    "{\"error\":{\"message\":\"a\\\"b\\\\c\\nd\\u0001\\u003ce\\u003e"
	    "\\u0026\\ufffd\",\"type\":\"invalid_request_error\","
	    "\"param\":null,\"code\":\"bad_request\"}}");
	check(RD_ANTHROPIC, AEF_STREAM, PME_BAD_REQUEST, "\"\n\n",
	    "event: error\ndata: {\"type\":\"error\",\"error\":"
	    "{\"type\":\"invalid_request_error\",\"message\":\"\\\"\\n\\n\"}}"
	    "\n\n");
	T_BEGIN("content types");
	T_EQ_STR(apierr_ctype(AEF_JSON), "application/json");
	T_EQ_STR(apierr_ctype(AEF_SSE), "text/event-stream");
}

int
main(void)
{
	test_table();
	test_set();
	test_ipc();
	test_openai();
	test_anthropic();
	test_escape();
	T_DONE();
}
