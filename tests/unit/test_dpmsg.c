/*
 * The data-path messages (common/dpmsg.c): each encoder against its
 * decoder, cut payloads and trailing bytes refused, counts checked before
 * anything is allocated; and keyd's oracle (seal_admit) fed requests
 * forged through the codec, as a worker that is not what it should be
 * would send them: only the official proxy's method and path per route
 * kind are sealed.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "dpmsg.h"
#include "ipc.h"
#include "metrics.h"
#include "routes.h"
#include "seal.h"
#include "t.h"
#include "util.h"

T_GLOBALS;

static const char	*names[] = { "Content-Type", "X-Request-ID" };
static const char	*values[] = { "application/json", "abc" };

static void
put_req(struct buf *m, uint8_t route, const char *path)
{
	struct dp_req	q;

	memset(&q, 0, sizeof(q));
	q.route = route;
	q.path = path;
	q.reqid = "proxy_0";
	q.peer = "127.0.0.1";
	q.nh = 2;
	q.hname = names;
	q.hvalue = values;
	q.body = (const uint8_t *)"{}";
	q.bodylen = 2;
	dp_req_put(m, &q);
}

static void
test_req(void)
{
	struct dp_req	q;
	struct msgr	r;
	struct buf	m;
	size_t		cut, bad = 0;

	T_BEGIN("MSG_REQ round trip");
	buf_init(&m, 0);
	put_req(&m, RK_CHAT, "/v1/chat/completions?x=1");
	msgr_init(&r, m.p, m.len);
	T_EQ_INT(dp_req_get(&r, &q), 0);
	T_EQ_INT(q.route, RK_CHAT);
	T_EQ_STR(q.path, "/v1/chat/completions?x=1");
	T_EQ_STR(q.reqid, "proxy_0");
	T_EQ_STR(q.peer, "127.0.0.1");
	T_EQ_INT(q.nh, 2);
	T_EQ_STR(q.hname[1], "X-Request-ID");
	T_EQ_STR(q.hvalue[0], "application/json");
	T_EQ_INT(q.bodylen, 2);
	T_EQ_MEM(q.body, "{}", 2);
	dp_req_free(&q);

	T_BEGIN("MSG_REQ cut anywhere, or with a byte more, is refused");
	for (cut = 0; cut < m.len; cut++) {
		msgr_init(&r, m.p, cut);
		if (dp_req_get(&r, &q) != -1)
			bad++;
	}
	T_EQ_INT(bad, 0);
	buf_addc(&m, 0);
	msgr_init(&r, m.p, m.len);
	T_EQ_INT(dp_req_get(&r, &q), -1);
	buf_free(&m);

	T_BEGIN("MSG_REQ with a header count beyond the limit or the payload");
	buf_init(&m, 0);
	msg_put_u8(&m, RK_CHAT);
	msg_put_str(&m, "/v1/chat/completions");
	msg_put_str(&m, "id");
	msg_put_str(&m, "peer");
	msg_put_u32(&m, 0xffffffffU);
	msgr_init(&r, m.p, m.len);
	T_EQ_INT(dp_req_get(&r, &q), -1);
	buf_free(&m);
	buf_init(&m, 0);
	msg_put_u8(&m, RK_CHAT);
	msg_put_str(&m, "/v1/chat/completions");
	msg_put_str(&m, "id");
	msg_put_str(&m, "peer");
	msg_put_u32(&m, 50);	/* fewer than HTTP_MAX_HEADERS, more than sent */
	msg_put_bytes(&m, "", 0);
	msgr_init(&r, m.p, m.len);
	T_EQ_INT(dp_req_get(&r, &q), -1);
	buf_free(&m);

	T_BEGIN("MSG_REQ with an absent string is refused");
	buf_init(&m, 0);
	msg_put_u8(&m, RK_MODELS);
	msg_put_str(&m, NULL);
	msg_put_str(&m, "id");
	msg_put_str(&m, "peer");
	msg_put_u32(&m, 0);
	msg_put_bytes(&m, "", 0);
	msgr_init(&r, m.p, m.len);
	T_EQ_INT(dp_req_get(&r, &q), -1);
	buf_free(&m);
}

static void
test_resp(void)
{
	static const char *const hn[] = { "Content-Type", "X-A" };
	static const char *const hv[] = { "text/event-stream", "1" };
	struct dp_event	ev;
	struct msgr	r;
	struct buf	m;
	size_t		cut, bad = 0;
	struct pmerr	e;

	T_BEGIN("MSG_RESP events in order");
	buf_init(&m, 0);
	dp_resp_head(&m, 200, hn, hv, 2);
	dp_resp_data(&m, "data: 1\n\n", 9);
	dp_resp_data(&m, "", 0);	/* nothing: not an event */
	dp_resp_end(&m);
	pmerr_set(&e, PME_UPSTREAM_TIMEOUT, "slow");
	dp_resp_error(&m, &e);
	msgr_init(&r, m.p, m.len);
	T_EQ_INT(dp_resp_next(&r, &ev), 1);
	T_EQ_INT(ev.type, DPE_HEAD);
	T_EQ_INT(ev.status, 200);
	T_EQ_INT(ev.nh, 2);
	T_EQ_STR(ev.hvalue[0], "text/event-stream");
	dp_event_free(&ev);
	T_EQ_INT(dp_resp_next(&r, &ev), 1);
	T_EQ_INT(ev.type, DPE_DATA);
	T_EQ_INT(ev.len, 9);
	T_EQ_INT(dp_resp_next(&r, &ev), 1);
	T_EQ_INT(ev.type, DPE_END);
	T_EQ_INT(dp_resp_next(&r, &ev), 1);
	T_EQ_INT(ev.type, DPE_ERROR);
	T_EQ_INT(ev.err.code, PME_UPSTREAM_TIMEOUT);
	T_EQ_INT(pmerr_status(ev.err.code), 504);
	T_EQ_STR(ev.err.msg, "slow");
	dp_event_free(&ev);
	T_EQ_INT(dp_resp_next(&r, &ev), 0);

	T_BEGIN("MSG_RESP cut inside an event fails; an unknown event fails");
	for (cut = 1; cut < m.len; cut++) {
		int	rv;

		msgr_init(&r, m.p, cut);
		while ((rv = dp_resp_next(&r, &ev)) == 1)
			dp_event_free(&ev);
		/* A cut between events reads as fewer events, never garbage. */
		if (rv == 0 && r.left != 0)
			bad++;
	}
	T_EQ_INT(bad, 0);
	buf_reset(&m);
	msg_put_u8(&m, 9);
	msgr_init(&r, m.p, m.len);
	T_EQ_INT(dp_resp_next(&r, &ev), -1);
	buf_free(&m);
}

static void
test_small(void)
{
	struct msgr	 r;
	struct buf	 m;
	enum dp_ctl	 op;
	enum net_origin	 o;
	enum dp_fd_fail	 why;
	char		*err;

	T_BEGIN("MSG_REQ_CTL, MSG_NET_OPEN and MSG_NET_FD");
	buf_init(&m, 0);
	dp_ctl_put(&m, DPC_CANCEL);
	msgr_init(&r, m.p, m.len);
	T_EQ_INT(dp_ctl_get(&r, &op), 0);
	T_EQ_INT(op, DPC_CANCEL);
	buf_reset(&m);
	msg_put_u8(&m, 0);
	msgr_init(&r, m.p, m.len);
	T_EQ_INT(dp_ctl_get(&r, &op), -1);
	buf_reset(&m);
	dp_open_put(&m, NO_KDS);
	msgr_init(&r, m.p, m.len);
	T_EQ_INT(dp_open_get(&r, &o), 0);
	T_EQ_INT(o, NO_KDS);
	buf_reset(&m);
	msg_put_u8(&m, NO_MAX + 1);
	msgr_init(&r, m.p, m.len);
	T_EQ_INT(dp_open_get(&r, &o), -1);
	buf_reset(&m);
	dp_fd_put(&m, DPF_OK, "");
	msgr_init(&r, m.p, m.len);
	T_EQ_INT(dp_fd_get(&r, &why, &err), 0);
	T_EQ_INT(why, DPF_OK);
	T_EQ_STR(err, "");
	free(err);
	buf_reset(&m);
	dp_fd_put(&m, DPF_PROXY, "proxy said 403");
	msgr_init(&r, m.p, m.len);
	T_EQ_INT(dp_fd_get(&r, &why, &err), 0);
	T_EQ_INT(why, DPF_PROXY);
	free(err);
	/* A socket with a reason, or a reason-less failure, is malformed. */
	buf_reset(&m);
	dp_fd_put(&m, DPF_OK, "but why");
	msgr_init(&r, m.p, m.len);
	T_EQ_INT(dp_fd_get(&r, &why, &err), -1);
	buf_reset(&m);
	dp_fd_put(&m, DPF_UNREACHABLE, "");
	msgr_init(&r, m.p, m.len);
	T_EQ_INT(dp_fd_get(&r, &why, &err), -1);
	buf_reset(&m);
	msg_put_u8(&m, DPF_PROXY + 1);
	msg_put_str(&m, "x");
	msgr_init(&r, m.p, m.len);
	T_EQ_INT(dp_fd_get(&r, &why, &err), -1);
	buf_reset(&m);
	msg_put_u8(&m, DPF_OK);
	msg_put_str(&m, NULL);
	msgr_init(&r, m.p, m.len);
	T_EQ_INT(dp_fd_get(&r, &why, &err), -1);
	buf_free(&m);
}

/* A request forged through the codec, as keyd decodes it, then admitted. */
static const char *
admit_forged(uint8_t route, const char *path)
{
	struct dp_req	 q;
	struct msgr	 r;
	struct buf	 m;
	const char	*method = "(undecodable)";

	buf_init(&m, 0);
	put_req(&m, route, path);
	msgr_init(&r, m.p, m.len);
	if (dp_req_get(&r, &q) == 0) {
		method = seal_admit(q.route, q.path);
		dp_req_free(&q);
	}
	buf_free(&m);
	return method;
}

static void
test_oracle(void)
{
	static const struct {
		uint8_t		 route;
		const char	*path;
		const char	*method;	/* NULL: refused */
	} cases[] = {
		{ RK_MODELS, "/v1/models", "GET" },
		{ RK_CHAT, "/v1/chat/completions", "POST" },
		{ RK_CHAT, "/v1/chat/completions?api-version=1", "POST" },
		{ RK_COMPLETIONS, "/v1/completions", "POST" },
		{ RK_EMBEDDINGS, "/v1/embeddings", "POST" },
		{ RK_TRANSCRIPTIONS, "/v1/audio/transcriptions", "POST" },
		{ RK_MESSAGES, "/v1/messages", "POST" },
		{ RK_UNSTRUCTURED, "/unstructured/general/v0/general", "POST" },
		{ RK_UNSTRUCTURED, "/unstructured/", "POST" },
		/* another route's path, or none of the proxy's */
		{ RK_CHAT, "/v1/models", NULL },
		{ RK_MODELS, "/v1/chat/completions", NULL },
		{ RK_CHAT, "/v1/secrets", NULL },
		{ RK_EMBEDDINGS, "/v1/embeddings/x", NULL },
		{ RK_MESSAGES, "/v1/messages/", NULL },
		{ RK_CHAT, "/v1/chat/completions/../../admin", NULL },
		{ RK_UNSTRUCTURED, "/unstructured", NULL },
		{ RK_UNSTRUCTURED, "/unstructured/../v1/chat/completions", NULL },
		{ RK_UNSTRUCTURED, "/unstructured/a/./b", NULL },
		{ RK_UNSTRUCTURED, "/unstructured/a/..", NULL },
		{ RK_UNSTRUCTURED, "/unstructured/a b", NULL },
		{ RK_UNSTRUCTURED, "/unstructured/a\r\nX-Injected: 1", NULL },
		{ RK_UNSTRUCTURED, "/unstructured/a#frag", NULL },
		/* the query: printable, no space, no fragment */
		{ RK_CHAT, "/v1/chat/completions?a b", NULL },
		{ RK_CHAT, "/v1/chat/completions?a#b", NULL },
		{ RK_CHAT, "/v1/chat/completions?\x7f", NULL },
		{ RK_MODELS, "v1/models", NULL },
		{ RK_MODELS, "", NULL },
		/* not a route kind */
		{ 0, "/v1/models", NULL },
		{ RK__COUNT, "/v1/models", NULL },
	};
	const char	*got;
	size_t		 i;

	T_BEGIN("keyd seals only the official proxy's method and path per route");
	for (i = 0; i < nitems(cases); i++) {
		got = admit_forged(cases[i].route, cases[i].path);
		if (cases[i].method == NULL)
			T_CHECK(got == NULL);
		else
			T_EQ_STR(got != NULL ? got : "(refused)",
			    cases[i].method);
	}
}

/*
 * The route table: a row per kind, client paths and aliases to their
 * kind, the worker's method and path what keyd admits, the metrics
 * labels the dashboards know.
 */
static void
test_routes(void)
{
	static const struct {
		const char	*path;
		int		 rk;		/* 0: no route kind */
		const char	*canonical;	/* NULL: not an alias */
	} paths[] = {
		{ "/v1/chat/completions", RK_CHAT, NULL },
		{ "/chat/completions", RK_CHAT, "/v1/chat/completions" },
		{ "/v1/completions", RK_COMPLETIONS, NULL },
		{ "/completions", RK_COMPLETIONS, "/v1/completions" },
		{ "/v1/embeddings", RK_EMBEDDINGS, NULL },
		{ "/embeddings", RK_EMBEDDINGS, "/v1/embeddings" },
		{ "/v1/audio/transcriptions", RK_TRANSCRIPTIONS, NULL },
		{ "/v1/messages", RK_MESSAGES, NULL },
		{ "/unstructured/", RK_UNSTRUCTURED, NULL },
		{ "/unstructured/general/v0/general", RK_UNSTRUCTURED, NULL },
		{ "/v1/models", RK_MODELS, NULL },
		{ "/v1/v1/models", RK_MODELS, "/v1/models" },
		{ "/models", RK_MODELS, "/v1/models" },
		{ "/unstructured", 0, NULL },
		{ "/v1/models/x", 0, NULL },
		{ "/v1/audio/translations", 0, NULL },
		{ "/healthz", 0, NULL },
		{ "", 0, NULL },
	};
	static const char *const labels[RK__COUNT] = {
		[RK_MODELS] = "models", [RK_CHAT] = "chat_completions",
		[RK_COMPLETIONS] = "completions",
		[RK_EMBEDDINGS] = "embeddings",
		[RK_TRANSCRIPTIONS] = "audio_transcriptions",
		[RK_MESSAGES] = "messages", [RK_UNSTRUCTURED] = "unstructured",
	};
	const struct route_traits	*t;
	const char			*canonical;
	char				 sub[128];
	size_t				 i;
	int				 rk;

	T_BEGIN("route table: a row per kind, none beyond");
	T_CHECK(route_traits(0) == NULL);
	T_CHECK(route_traits(-1) == NULL);
	T_CHECK(route_traits(RK__COUNT) == NULL);
	for (rk = 1; rk < RK__COUNT; rk++) {
		T_CHECK((t = route_traits(rk)) != NULL);
		if (t == NULL)
			continue;
		T_EQ_STR(t->label, labels[rk]);
		T_EQ_INT(metrics_route(rk), rk);
		/* What the worker sends for the kind, keyd admits. */
		snprintf(sub, sizeof(sub), "%s%s", t->path,
		    t->subtree ? "x" : "");
		T_EQ_STR(seal_admit(rk, sub) != NULL ? seal_admit(rk, sub) :
		    "(refused)", t->method);
		T_EQ_INT(route_sealed(t), rk != RK_MODELS);
	}
	T_EQ_INT(metrics_route(0), MR_OTHER);
	T_EQ_INT(metrics_route(RK__COUNT), MR_OTHER);

	T_BEGIN("route table: client paths and aliases to their kind");
	for (i = 0; i < nitems(paths); i++) {
		T_EQ_INT(route_by_path(paths[i].path, &canonical),
		    paths[i].rk);
		T_CHECK(canonical == NULL ? paths[i].canonical == NULL :
		    paths[i].canonical != NULL &&
		    strcmp(canonical, paths[i].canonical) == 0);
	}
}

/* Where each origin is: the configuration's URLs, by role. */
static void
test_origins(void)
{
	struct config	*c = config_new();
	struct origin	 o;
	char		 line[] = "pcs_base_url https://pcs.example:8443/x\n"
	    "pcs_root_crl_url https://crl.example/IntelSGXRootCA.der\n";

	T_BEGIN("origins: Intel PCS and the root CA CRL by role");
	T_EQ_INT(config_parse_buffer(c, "t.conf", line, strlen(line)), 0);
	T_EQ_INT(origin_get(c, NO_PCS, &o), 0);
	T_EQ_STR(o.host, "pcs.example");
	T_EQ_INT(o.port, 8443);
	T_EQ_INT(o.tls, 1);
	T_EQ_INT(origin_get(c, NO_PCS_ROOT_CRL, &o), 0);
	T_EQ_STR(o.host, "crl.example");
	T_EQ_INT(o.port, 443);
	T_EQ_STR(origin_base_url(c, NO_PCS), "https://pcs.example:8443/x");
	T_EQ_STR(origin_name(NO_PCS), "Intel PCS");
	T_EQ_STR(origin_name(NO_PCS_ROOT_CRL), "Intel root CA CRL");
	T_EQ_INT(NO_MAX, NO_PCS_ROOT_CRL);
	config_free(c);
	c = config_new();
	T_EQ_INT(origin_get(c, NO_PCS, &o), 0);
	T_EQ_STR(o.host, "api.trustedservices.intel.com");
	T_EQ_INT(origin_get(c, NO_PCS_ROOT_CRL, &o), 0);
	T_EQ_STR(o.host, "certificates.trustedservices.intel.com");
	config_free(c);
}

int
main(void)
{
	test_req();
	test_resp();
	test_small();
	test_origins();
	test_oracle();
	test_routes();
	T_DONE();
}
