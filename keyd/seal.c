/*
 * Sealing requests and opening answers: the members each route kind's
 * row (common/routes.c) leaves plain per direction (protocol.md 4), the
 * rest encrypted field by field.
 */

#include "config.h"

#include <sys/utsname.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include "buf.h"
#include "cerr.h"
#include "conf.h"
#include "fieldcipher.h"
#include "http.h"
#include "json.h"
#include "jsonmut.h"
#include "kd.h"
#include "log.h"
#include "multipart.h"
#include "ocsp.h"
#include "reqid.h"
#include "routes.h"
#include "seal.h"
#include "shardkey.h"
#include "sx.h"
#include "util.h"

/* The longest refusal detail keyd sends for a request it cannot seal. */
#define SEAL_MSG_MAX	512

/* The plain sets of the route kinds' rows, as the JSON walk takes them. */
static struct jm_skip	skip_req[RK__COUNT], skip_resp[RK__COUNT];
static struct utsname	uts;
static char		client_text[256];	/* client_fields() */

static void
skip_fill(struct jm_skip *s, const char *const *plain)
{
	jm_skip_init(s);
	for (; plain != NULL && *plain != NULL; plain++)
		jm_skip_add(s, *plain);
}

void
seal_init(void)
{
	const struct route_traits	*t;
	int				 rk;

	for (rk = 0; rk < RK__COUNT; rk++) {
		if ((t = route_traits(rk)) == NULL)
			continue;
		skip_fill(&skip_req[rk], t->req_plain);
		skip_fill(&skip_resp[rk], t->resp_plain);
	}
	uname(&uts);
	client_text[0] = '\0';		/* made again for this uts */
}

const struct jm_skip *
seal_response_plain(enum route_kind rk)
{
	const struct route_traits	*t = route_traits(rk);

	return t != NULL && route_sealed(t) ? &skip_resp[rk] : NULL;
}

const char *
seal_goarch(void)
{
	/* Go's GOARCH names, which the server side expects. */
	if (strcmp(uts.machine, "x86_64") == 0)
		return "amd64";
	if (strcmp(uts.machine, "aarch64") == 0)
		return "arm64";
	if (strncmp(uts.machine, "i", 1) == 0 && strstr(uts.machine, "86"))
		return "386";
	if (strncmp(uts.machine, "arm", 3) == 0)
		return "arm";
	return uts.machine;
}

/* --- the JSON body of chat-like routes ----------------------------------- */

/* What the mutators need from the top-level object, read once. */
struct body_info {
	struct json_span model;		/* raw value, len 0 if absent */
	int		 model_exact;	/* found as "model", not another case */
	struct json_span salt;		/* raw cache_salt value */
	enum json_kind	 salt_kind;
	struct json_span content[5];	/* system tools messages prompt suffix */
	enum json_kind	 content_kind[5];
};

static const char *const content_names[5] = {
	"system", "tools", "messages", "prompt", "suffix"
};

/*
 * One of the names read_body_info looks for: 0 model, 1 cache_salt,
 * 2.. the content names; -1 for any other.  A table by length and first
 * byte rather than seven string compares per member.
 */
static int
body_name(const char *name, size_t len)
{
	int	i;

	/* Not a switch on the length alone: "tools" is five bytes too. */
	if (len == 5 && memcmp(name, "model", 5) == 0)
		return 0;
	if (len == 10 && memcmp(name, "cache_salt", 10) == 0)
		return 1;
	for (i = 0; i < 5; i++)
		if (len == strlen(content_names[i]) &&
		    name[0] == content_names[i][0] &&
		    memcmp(name, content_names[i], len) == 0)
			return 2 + i;
	return -1;
}

/*
 * From the members the validator recorded.  A name is compared as the
 * string it decodes to, up to a NUL (as strcmp on the decoded name did);
 * one without escapes is its raw text.
 */
static int
read_body_info(const uint8_t *b, const struct json_top *top, size_t ntop,
    struct body_info *bi)
{
	struct buf	 dec;
	const char	*name;
	size_t		 i, len;
	int		 k, decoded = 0;

	memset(bi, 0, sizeof(*bi));
	for (i = 0; i < ntop; i++) {
		name = (const char *)b + top[i].key.off + 1;
		len = top[i].key.len - 2;
		if (memchr(name, '\\', len) != NULL) {
			if (!decoded++)
				buf_init(&dec, 64);
			buf_reset(&dec);
			if (json_unescape(b + top[i].key.off, top[i].key.len,
			    &dec) == -1) {
				buf_free(&dec);
				return -1;
			}
			name = buf_cstr(&dec);
			len = strlen(name);
		}
		k = body_name(name, len);
		if (k == 0) {
			bi->model = top[i].value;
			bi->model_exact = 1;
		} else if (!bi->model_exact && len == 5 &&
		    strncasecmp(name, "model", 5) == 0)
			bi->model = top[i].value; /* Go's case-insensitive decode */
		else if (k == 1) {
			bi->salt = top[i].value;
			bi->salt_kind = json_kind_at(b, top[i].value.off +
			    top[i].value.len, top[i].value.off);
		} else if (k >= 2) {
			bi->content[k - 2] = top[i].value;
			bi->content_kind[k - 2] = json_kind_at(b,
			    top[i].value.off + top[i].value.len,
			    top[i].value.off);
		}
	}
	if (decoded)
		buf_free(&dec);
	return 0;
}

/* gjson's String() of a raw value: strings unescaped, null empty. */
static void
gjson_string(const uint8_t *b, struct json_span sp, enum json_kind k,
    struct buf *out)
{
	if (sp.len == 0 || k == JSON_NULL)
		return;
	if (k == JSON_STRING)
		json_unescape(b + sp.off, sp.len, out);
	else
		buf_add(out, b + sp.off, sp.len);
}

/*
 * The shard key (protocol.md 4.1 step 1) and the cache salt (step 2):
 * the client's cache_salt wins; else the configured or shared salt; else
 * a fresh random one per attempt, which yields no shard key.  1 when the
 * body stays as it is (the client's salt: body_out is not written), 0
 * with the salted body in body_out, -1 on error.
 */
static int
salt_and_shard(const uint8_t *b, size_t n, const struct body_info *bi,
    struct buf *body_out, struct buf *shard, struct pmerr *e)
{
	struct buf	salt, content;
	struct cerr	ce;
	char		rnd[CACHE_SALT_LEN + 1], *esc;
	size_t		i, close_at;
	int		client_salt, rv = 0;

	buf_init(&salt, 64);
	buf_init(&content, n);
	gjson_string(b, bi->salt, bi->salt_kind, &salt);
	client_salt = salt.len > 0;
	if (!client_salt && kenv->salt != NULL)
		buf_add(&salt, kenv->salt, kenv->salt_len);
	if (salt.len > 0) {
		for (i = 0; i < 5; i++)
			gjson_string(b, bi->content[i], bi->content_kind[i],
			    &content);
		if (shard_key(salt.p, salt.len, content.p, content.len, shard,
		    &ce) == -1) {
			pmerr_set(e, PME_CONTEXT_TOO_LARGE,
			    "generating shard key: %s", ce.msg);
			rv = -1;
			goto done;
		}
	}
	if (client_salt) {
		if (salt.len < 32) {
			pmerr_set(e, PME_INVALID_CACHE_SALT, NULL);
			rv = -1;
			goto done;
		}
		rv = 1;
		goto done;
	}
	if (salt.len == 0) {
		cache_salt_random(rnd);
		buf_adds(&salt, rnd);
	}
	esc = json_escape_range((const char *)salt.p, salt.len);
	if (bi->salt.len > 0) {
		/* "" or null: replaced in place, like sjson does. */
		buf_add(body_out, b, bi->salt.off);
		buf_adds(body_out, esc);
		buf_add(body_out, b + bi->salt.off + bi->salt.len,
		    n - bi->salt.off - bi->salt.len);
	} else {
		/* Appended as the last member; trailing whitespace dropped. */
		close_at = n;
		while (close_at > 0 && b[close_at - 1] != '}')
			close_at--;
		close_at--;
		buf_add(body_out, b, close_at);
		for (i = close_at; i > 0 && isspace(b[i - 1]); i--)
			;
		if (b[i - 1] != '{')
			buf_addc(body_out, ',');
		buf_adds(body_out, "\"cache_salt\":");
		buf_adds(body_out, esc);
		buf_addc(body_out, '}');
	}
	sodium_memzero(rnd, sizeof(rnd));
	free(esc);
 done:
	buf_free(&salt);
	buf_free(&content);
	return rv;
}

static int
target_model(const uint8_t *b, const struct body_info *bi, struct buf *model,
    struct pmerr *e)
{
	if (bi->model.len == 0 ||
	    json_kind_at(b, bi->model.off + bi->model.len, bi->model.off) !=
	    JSON_STRING) {
		if (bi->model.len > 0 && json_kind_at(b, bi->model.off +
		    bi->model.len, bi->model.off) != JSON_NULL) {
			pmerr_set(e, PME_INVALID_MODEL, NULL);
			return -1;
		}
		pmerr_set(e, PME_MISSING_MODEL, NULL);
		return -1;
	}
	json_unescape(b + bi->model.off, bi->model.len, model);
	if (model->len == 0) {
		pmerr_set(e, PME_MISSING_MODEL, NULL);
		return -1;
	}
	return 0;
}

static int
seal_json(const struct seal_in *in, struct fc *fc, struct buf *body,
    struct buf *model, struct buf *shard, struct pmerr *e)
{
	struct json_result	 jr;
	struct json_top		*top = NULL;
	struct body_info	 bi;
	struct buf		 salted;
	struct cerr		 ce;
	const uint8_t		*b = in->body;
	size_t			 n = in->bodylen, ntop = 0;
	int			 rv = -1, same = 1, mr;

	/*
	 * One pass validates (repeated names refused) and records the
	 * members, which the body's fields are read from and, when the
	 * body goes as it came, the encryption walks without a second scan.
	 */
	buf_init(&salted, 0);
	if (json_validate_top(b, n, 0, &jr, &top, &ntop) != JSON_OK ||
	    jr.top != JSON_OBJECT || read_body_info(b, top, ntop, &bi) == -1) {
		pmerr_set(e, PME_INVALID_JSON, NULL);
		goto done;
	}
	if (target_model(b, &bi, model, e) == -1)
		goto done;
	if (route_traits(in->route)->flags & RT_CACHE_SALT) {
		buf_reserve(&salted, n + 128);
		if ((same = salt_and_shard(b, n, &bi, &salted, shard, e)) == -1)
			goto done;
	}
	if (same)
		mr = jm_mutate_top(b, n, top, ntop, &skip_req[in->route],
		    fc_encrypt_cb, fc, body, &ce);
	else
		mr = jm_mutate(salted.p, salted.len, &skip_req[in->route],
		    fc_encrypt_cb, fc, body, &ce);
	if (mr == -1) {
		pmerr_set(e, PME_INVALID_JSON, "%s", ce.msg);
		goto done;
	}
	rv = 0;
 done:
	free(top);
	buf_free(&salted);
	return rv;
}

/* --- multipart and raw bodies ------------------------------------------- */

static int
name_cmp(const void *a, const void *b)
{
	const struct mp_part *pa = *(const struct mp_part *const *)a;
	const struct mp_part *pb = *(const struct mp_part *const *)b;

	return strcmp(pa->name, pb->name);
}

/* Go's mime/multipart escapeQuotes: backslash and double quote. */
static char *
quote_name(const char *s)
{
	char	*out = xmalloc(2 * strlen(s) + 1), *o = out;

	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			*o++ = '\\';
		*o++ = *s;
	}
	*o = '\0';
	return out;
}

/* Values first, then files, each sorted, first occurrence per name. */
static int
seal_form(const struct seal_in *in, const char *ctype, struct fc *fc,
    struct buf *body, struct buf *model, char *new_ctype, size_t ctlen,
    struct pmerr *e)
{
	struct mp_form		 form;
	const struct mp_part	*sorted[MP_MAX_PARTS], *mv;
	struct cerr		 ce;
	const char		*msg;
	char			 boundary[128], nb[61];
	const char *const	*plain = route_traits(in->route)->req_plain;
	uint8_t			 rnd[30];
	int			 i, k, n = 0, pass;

	if (mp_boundary(ctype, boundary, sizeof(boundary), &msg) == -1) {
		/* Not multipart at all is 415; a bad boundary is malformed. */
		if (strstr(msg, "isn't multipart") != NULL)
			pmerr_set(e, PME_UNSUPPORTED_MEDIA_TYPE, "%s", msg);
		else
			pmerr_set(e, PME_INVALID_MULTIPART, "%s", msg);
		return -1;
	}
	if (mp_parse(in->body, in->bodylen, boundary, &form, &msg) == -1) {
		pmerr_set(e, PME_INVALID_MULTIPART,
		    "parsing multipart form: %s", msg);
		return -1;
	}
	if ((mv = mp_value(&form, "model")) == NULL || mv->len == 0) {
		mp_free(&form);
		pmerr_set(e, PME_MISSING_MODEL, NULL);
		return -1;
	}
	buf_add(model, mv->data, mv->len);
	pubrand(rnd, sizeof(rnd));
	for (i = 0; i < 30; i++)
		snprintf(nb + 2 * i, 3, "%02x", rnd[i]);
	for (pass = 0; pass < 2; pass++) {
		int first = n;

		for (i = 0; i < form.nparts; i++) {
			if (form.parts[i].is_file != pass)
				continue;
			for (k = first; k < n; k++)
				if (strcmp(sorted[k]->name,
				    form.parts[i].name) == 0)
					break;
			if (k == n)
				sorted[n++] = &form.parts[i];
		}
		qsort(sorted + first, n - first, sizeof(sorted[0]), name_cmp);
	}
	for (i = 0; i < n; i++) {
		const struct mp_part *p = sorted[i];
		char *qname = quote_name(p->name);

		buf_addf(body, "--%s\r\nContent-Disposition: form-data; "
		    "name=\"%s\"", nb, qname);
		/* The original file name is not kept (protocol.md 3.8). */
		if (p->is_file)
			buf_addf(body, "; filename=\"%s\"\r\nContent-Type: "
			    "application/octet-stream", qname);
		buf_adds(body, "\r\n\r\n");
		free(qname);
		if (!p->is_file && route_plain_has(plain, p->name))
			buf_add(body, p->data, p->len);
		else if (fc_encrypt(fc, p->data, p->len, body, &ce) == -1) {
			mp_free(&form);
			pmerr_set(e, PME_ENCRYPTION_FAILED, "%s", ce.msg);
			return -1;
		}
		buf_adds(body, "\r\n");
	}
	buf_addf(body, "--%s--\r\n", nb);
	snprintf(new_ctype, ctlen, "multipart/form-data; boundary=%s", nb);
	mp_free(&form);
	return 0;
}

/* --- the oracle ------------------------------------------------------------ */

/* RFC 3986 path characters, and no "." or ".." segment to climb out. */
static int
subtree_ok(const char *p, size_t n)
{
	size_t	i, seg = 0;

	for (i = 0; i <= n; i++) {
		if (i == n || p[i] == '/') {
			if ((i - seg == 1 && p[seg] == '.') ||
			    (i - seg == 2 && p[seg] == '.' && p[seg + 1] == '.'))
				return 0;
			seg = i + 1;
			continue;
		}
		if (!isalnum((unsigned char)p[i]) &&
		    strchr("-._~%!$&'()*+,;=:@", p[i]) == NULL)
			return 0;
	}
	return 1;
}

/* The client's query goes along: printable, no space, no fragment. */
static int
query_ok(const char *q)
{
	for (; *q != '\0'; q++)
		if (*q <= ' ' || *q >= 0x7f || *q == '#')
			return 0;
	return 1;
}

/*
 * keyd is a narrow oracle: a route kind maps to the one method and the
 * fixed upstream path (or subtree) of its row in the route table, so
 * that a worker cannot have the API key attached to any other request.
 */
const char *
seal_admit(enum route_kind rk, const char *path)
{
	const struct route_traits	*t = route_traits(rk);
	size_t				 n, plen = strcspn(path, "?");

	if (t == NULL)
		return NULL;
	if (path[plen] == '?' && !query_ok(path + plen + 1))
		return NULL;
	n = strlen(t->path);
	if (t->subtree ? plen >= n && strncmp(path, t->path, n) == 0 &&
	    subtree_ok(path + n, plen - n) :
	    plen == n && strncmp(path, t->path, n) == 0)
		return t->method;
	return NULL;
}

/* --- the request head ----------------------------------------------------- */

static int
is_token(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) &&
		    strchr("!#$%&'*+-.^_`|~", *s) == NULL)
			return 0;
	return 1;
}

static int
safe_value(const char *s)
{
	for (; *s; s++)
		if ((*s < 0x20 && *s != '\t') || *s == 0x7f)
			return 0;
	return 1;
}

/* Client headers the upstream request never carries. */
static int
dropped_header(const char *name, int have_key)
{
	static const char *const drop[] = {
		"Host", "Content-Length", "Expect", "Accept-Encoding",
		"X-Forwarded-For"
	};
	size_t	i;

	if (http_hop_by_hop(name))
		return 1;
	for (i = 0; i < nitems(drop); i++)
		if (strcasecmp(name, drop[i]) == 0)
			return 1;
	/* Ours to set, never the client's. */
	if (strncasecmp(name, "Privatemode-", 12) == 0)
		return 1;
	if (have_key && (strcasecmp(name, "Authorization") == 0 ||
	    strcasecmp(name, "x-api-key") == 0))
		return 1;
	return 0;
}

/*
 * No key configured: the client's own key goes upstream.  An Anthropic
 * SDK sends it as x-api-key, which the API does not read: it becomes
 * Authorization: Bearer, unless the client sent an Authorization too.
 * NULL when the client's headers go as they are.
 */
static const char *
client_key_as_bearer(const struct seal_in *in)
{
	const char	*xkey = NULL;
	int		 i;

	if (kenv->api_key != NULL)
		return NULL;
	for (i = 0; i < in->nh; i++) {
		if (strcasecmp(in->hname[i], "Authorization") == 0)
			return NULL;
		if (strcasecmp(in->hname[i], "x-api-key") == 0)
			xkey = in->hvalue[i];
	}
	return xkey;
}

/*
 * The OCSP policy MAC changes only with the policy text (its
 * revocation-time-not-before moves with the clock, once a second) and
 * the secret, so the last one is remembered instead of one HMAC per
 * request.  A secret ID is the SHA-256 of the fresh public key of one
 * exchange, so it names its secret.  The MAC goes on the wire: the memo
 * holds nothing secret.
 */
static void
policy_mac(const struct sx_secret *sec, struct buf *policy,
    char mac[OCSP_MAC_HEXLEN + 1])
{
	static struct {
		char	id[SX_ID_LEN + 1];
		char	policy[256];
		char	mac[OCSP_MAC_HEXLEN + 1];
	} memo;
	const char	*text = buf_cstr(policy);

	if (strcmp(memo.id, sec->id) != 0 || strcmp(memo.policy, text) != 0) {
		if (ocsp_policy_mac(sec->key, sizeof(sec->key), text,
		    policy->len, memo.mac, NULL) == -1)
			fatalx("ocsp_policy_mac");
		if (strlcpy(memo.policy, text, sizeof(memo.policy)) >=
		    sizeof(memo.policy))
			memo.policy[0] = '\0';	/* too long to remember */
		strlcpy(memo.id, sec->id, sizeof(memo.id));
	}
	memcpy(mac, memo.mac, sizeof(memo.mac));
}

/* "name: value" and CRLF, without a format string per line. */
static void
add_field(struct buf *out, const char *name, const char *value)
{
	buf_adds(out, name);
	buf_add(out, ": ", 2);
	buf_adds(out, value);
	buf_add(out, "\r\n", 2);
}

/* The Privatemode-* lines that are the same for every request. */
static const char *
client_fields(void)
{
	if (client_text[0] == '\0')
		snprintf(client_text, sizeof(client_text),
		    "Privatemode-Version: v%s\r\nPrivatemode-OS: linux\r\n"
		    "Privatemode-Architecture: %s\r\n"
		    "Privatemode-Client: Proxy\r\n", PACKAGE_VERSION,
		    seal_goarch());
	return client_text;
}

static int
write_head(const struct seal_in *in, const struct sx_secret *sec,
    const char *ctype, const struct buf *model, const struct buf *shard,
    size_t bodylen, struct buf *out, struct pmerr *e)
{
	const char	*xff = NULL, *bearer = client_key_as_bearer(in);
	struct buf	 policy;
	char		 mac[OCSP_MAC_HEXLEN + 1], attempt_id[128];
	int		 i, have_key = kenv->api_key != NULL;

	if ((strcmp(in->method, "GET") != 0 &&
	    strcmp(in->method, "POST") != 0) || in->path[0] != '/' ||
	    !safe_value(in->path) || strchr(in->path, ' ') != NULL) {
		pmerr_set(e, PME_BAD_REQUEST,
		    "refusing to forward this request line");
		return -1;
	}
	buf_addf(out, "%s %s HTTP/1.1\r\nHost: %s", in->method, in->path,
	    kenv->api_host);
	if (kenv->api_port != 443)
		buf_addf(out, ":%u", kenv->api_port);
	buf_adds(out, "\r\n");
	for (i = 0; i < in->nh; i++) {
		/* keyd re-checks what the worker parsed: no injection. */
		if (!is_token(in->hname[i]) || !safe_value(in->hvalue[i])) {
			pmerr_set(e, PME_BAD_REQUEST,
			    "malformed header field");
			return -1;
		}
		if (strcasecmp(in->hname[i], "X-Forwarded-For") == 0)
			xff = in->hvalue[i];
		if (dropped_header(in->hname[i], have_key) ||
		    (ctype != NULL && strcasecmp(in->hname[i],
		    "Content-Type") == 0) || (bearer != NULL &&
		    strcasecmp(in->hname[i], "x-api-key") == 0))
			continue;
		add_field(out, in->hname[i], in->hvalue[i]);
	}
	if (ctype != NULL)
		add_field(out, "Content-Type", ctype);
	if (have_key) {
		buf_adds(out, "Authorization: Bearer ");
		buf_add(out, kenv->api_key, kenv->api_key_len);
		buf_adds(out, "\r\n");
	} else if (bearer != NULL)
		buf_addf(out, "Authorization: Bearer %s\r\n", bearer);
	if (in->peer[0] != '\0' && safe_value(in->peer)) {
		if (xff != NULL)
			buf_addf(out, "X-Forwarded-For: %s, %s\r\n", xff,
			    in->peer);
		else
			buf_addf(out, "X-Forwarded-For: %s\r\n", in->peer);
	}
	buf_adds(out, client_fields());
	if (sec == NULL) {
		/* /v1/models: no secret, no attempt suffix. */
		add_field(out, "Privatemode-User-Request-ID", in->reqid);
	} else {
		buf_init(&policy, 128);
		ocsp_policy_from_flags(kenv->conf->nvidia_ocsp_allow_unknown,
		    kenv->conf->nvidia_ocsp_revoked_grace_period, time(NULL),
		    &policy);
		policy_mac(sec, &policy, mac);
		reqid_attempt(attempt_id, sizeof(attempt_id), in->reqid,
		    in->attempt);
		add_field(out, "Privatemode-Secret-ID", sec->id);
		add_field(out, "Privatemode-NVIDIA-OCSP-Policy",
		    buf_cstr(&policy));
		add_field(out, "Privatemode-NVIDIA-OCSP-Policy-MAC", mac);
		add_field(out, "Privatemode-User-Request-ID", attempt_id);
		buf_free(&policy);
	}
	if (model != NULL && model->len > 0 &&
	    safe_value(buf_cstr((struct buf *)model)))
		add_field(out, "Privatemode-Target-Model",
		    (const char *)model->p);
	if (shard != NULL && shard->len > 0)
		add_field(out, "Privatemode-Shard-Key",
		    buf_cstr((struct buf *)shard));
	if (strcmp(in->method, "POST") == 0 || bodylen > 0)
		buf_addf(out, "Content-Length: %zu\r\n", bodylen);
	buf_adds(out, "\r\n");
	return 0;
}

static const char *
client_ctype(const struct seal_in *in)
{
	int	i;

	for (i = 0; i < in->nh; i++)
		if (strcasecmp(in->hname[i], "Content-Type") == 0)
			return in->hvalue[i];
	return NULL;
}

int
seal_request(const struct seal_in *in, const struct sx_secret *sec,
    struct buf *out, struct fc **fcp, struct pmerr *e)
{
	const struct route_traits	*t;
	struct buf			 body, model, shard;
	struct fc			*fc = NULL;
	struct cerr			 ce;
	char				 new_ctype[128];
	const char			*ctype = NULL;
	int				 rv = -1;

	*fcp = NULL;
	memset(e, 0, sizeof(*e));
	buf_init(&body, in->bodylen * 2 + 512);
	buf_init(&model, 64);
	buf_init(&shard, 64);
	if ((t = route_traits(in->route)) == NULL) {
		pmerr_set(e, PME_NOT_FOUND, NULL);
		goto done;
	}
	if (route_sealed(t)) {
		if (sec == NULL)
			fatalx("%s: no secret", __func__);
		if ((fc = fc_new(sec->key, sizeof(sec->key), sec->id, NULL,
		    &ce)) == NULL) {
			pmerr_set(e, PME_ENCRYPTION_FAILED,
			    "creating request cipher: %s", ce.msg);
			goto done;
		}
	}
	switch (t->body) {
	case RB_PLAIN:
		buf_add(&body, in->body, in->bodylen);
		break;
	case RB_JSON:
		if (seal_json(in, fc, &body, &model, &shard, e) == -1)
			goto done;
		break;
	case RB_MULTIPART:
		if (seal_form(in, client_ctype(in), fc, &body, &model,
		    new_ctype, sizeof(new_ctype), e) == -1)
			goto done;
		ctype = new_ctype;
		break;
	case RB_RAW:
		/* The whole body is one message (protocol.md 3.9). */
		if (fc_encrypt(fc, in->body, in->bodylen, &body, &ce) == -1) {
			pmerr_set(e, PME_ENCRYPTION_FAILED, "%s", ce.msg);
			goto done;
		}
		break;
	}
	if (write_head(in, route_sealed(t) ? sec : NULL, ctype, &model,
	    &shard, body.len, out, e) == -1)
		goto done;
	buf_add(out, body.p, body.len);
	*fcp = fc;
	fc = NULL;
	rv = 0;
 done:
	/* A refusal's detail is cut where it always was, for the same text. */
	if (rv == -1)
		e->msg[SEAL_MSG_MAX - 1] = '\0';
	fc_free(fc);
	buf_free(&body);
	buf_free(&model);
	buf_free(&shard);
	return rv;
}
