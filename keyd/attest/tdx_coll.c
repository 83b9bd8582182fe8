/*
 * Intel PCS collateral for a TDX quote (go-tdx-guest pcs/pcs.go and the
 * collateral part of verify/verify.go): the TCB info and QE identity
 * JSON answers, their signatures over the raw JSON value of "tcbInfo" /
 * "enclaveIdentity", and the issuer chains the PCS sends in a response
 * header (URL-escaped PEM: signing certificate, then Intel's root).
 *
 * One deliberate difference: Go decodes the answer's fields from the
 * whole body with case-insensitive member matching, but takes the signed
 * bytes from the member named exactly "tcbInfo".  A body carrying both
 * "tcbInfo" and, say, "TCBINFO" would then be checked against one and
 * decoded from both.  Here the fields are decoded from the very bytes
 * whose signature was checked, and a body with two top-level members
 * whose names fold together is refused.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/x509.h>

#include "attest_int.h"

/* --- the issuer chain header --------------------------------------------- */

/* An upper-case hex digit's value, or -1. */
static int
upper_hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * url.QueryUnescape: %XX and '+' for a space; a '%' not followed by two
 * hex digits is an error.  Go takes either case of the digits; Intel
 * writes upper case, and so must a header here (one encoding per byte).
 */
static int
query_unescape(const char *s, size_t n, uint8_t *out, size_t *outlen)
{
	size_t	i, o = 0;
	int	hi, lo;

	for (i = 0; i < n; i++) {
		if (s[i] == '%') {
			if (n - i < 3 || (hi = upper_hex((unsigned char)s[i + 1]))
			    < 0 || (lo = upper_hex((unsigned char)s[i + 2])) < 0)
				return -1;
			out[o++] = (uint8_t)(hi << 4 | lo);
			i += 2;
		} else if (s[i] == '+')
			out[o++] = ' ';
		else
			out[o++] = (uint8_t)s[i];
	}
	*outlen = o;
	return 0;
}

enum attest_reason
att_pcs_issuer_chain(const char *hdr, size_t len, X509 **signer, X509 **root,
    char *err, size_t errlen)
{
	X509	*x[2];
	uint8_t	*pem;
	size_t	 n;
	int	 rv;

	*signer = *root = NULL;
	if (hdr == NULL || len == 0)
		return att_err(err, errlen, ATT_ERR_COLLATERAL, "no issuer "
		    "chain header");
	if (len > 64 * 1024 || (pem = malloc(len)) == NULL)
		return att_err(err, errlen, ATT_ERR_COLLATERAL, "issuer chain "
		    "header too long");
	if (query_unescape(hdr, len, pem, &n) == -1) {
		free(pem);
		return att_err(err, errlen, ATT_ERR_COLLATERAL, "issuer chain "
		    "header is not URL-escaped");
	}
	rv = att_pem_certs(pem, n, x, 2, 0);
	free(pem);
	if (rv == -1)
		return att_err(err, errlen, ATT_ERR_COLLATERAL, "issuer chain "
		    "is not two PEM certificates");
	*signer = x[0];
	*root = x[1];
	return ATT_OK;
}

/* --- time ------------------------------------------------------------------- */

static int
digits(const char *s, size_t n, int *out)
{
	size_t	i;
	int	v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

static int
leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* "2006-01-02T15:04:05[.frac](Z|+hh:mm|-hh:mm)", as time.RFC3339Nano. */
int
att_rfc3339(const char *s, size_t n, time_t *out)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	struct tm	tm;
	int		y, mo, d, h, mi, sec, oh, om, sign;
	size_t		i = 19;
	time_t		t;

	if (n < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
	    s[13] != ':' || s[16] != ':' ||
	    digits(s, 4, &y) == -1 || digits(s + 5, 2, &mo) == -1 ||
	    digits(s + 8, 2, &d) == -1 || digits(s + 11, 2, &h) == -1 ||
	    digits(s + 14, 2, &mi) == -1 || digits(s + 17, 2, &sec) == -1)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 ||
	    d > mdays[mo - 1] + (mo == 2 && leap(y)) || h > 23 || mi > 59 ||
	    sec > 59)
		return -1;
	if (s[i] == '.') {
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == 20)
			return -1;
	}
	if (i == n - 1 && s[i] == 'Z')
		oh = om = sign = 0;
	else if (n - i == 6 && (s[i] == '+' || s[i] == '-') &&
	    s[i + 3] == ':' && digits(s + i + 1, 2, &oh) == 0 &&
	    digits(s + i + 4, 2, &om) == 0 && oh <= 23 && om <= 59)
		sign = s[i] == '-' ? -1 : 1;
	else
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	if ((t = timegm(&tm)) == (time_t)-1 && y != 1969)
		return -1;
	*out = t - (time_t)sign * (oh * 3600 + om * 60);
	return 0;
}

/* --- top-level members, raw ------------------------------------------------ */

struct member {
	const uint8_t	*key, *val;
	size_t		 klen, vlen;
};

static size_t
ws(const uint8_t *p, size_t n, size_t i)
{
	while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' ||
	    p[i] == '\r'))
		i++;
	return i;
}

/* End of the string starting at p[i] == '"' (index after the quote). */
static size_t
str_end(const uint8_t *p, size_t n, size_t i)
{
	for (i++; i < n; i++) {
		if (p[i] == '\\')
			i++;
		else if (p[i] == '"')
			return i + 1;
	}
	return n + 1;
}

/* End of the value at p[i], in syntactically valid JSON. */
static size_t
val_end(const uint8_t *p, size_t n, size_t i)
{
	int	depth = 0;

	do {
		if (i >= n)
			return n + 1;
		if (p[i] == '"') {
			i = str_end(p, n, i);
			continue;
		}
		if (p[i] == '{' || p[i] == '[')
			depth++;
		else if (p[i] == '}' || p[i] == ']')
			depth--;
		else if (depth == 0) {
			/* A scalar: up to the next delimiter. */
			while (i < n && p[i] != ',' && p[i] != '}' &&
			    p[i] != ']' && p[i] != ' ' && p[i] != '\t' &&
			    p[i] != '\n' && p[i] != '\r')
				i++;
			return i;
		}
		i++;
	} while (depth > 0);
	return i;
}

/*
 * The members of the top-level object of a body att_json_parse() has
 * accepted.  Names with escapes are refused (Intel writes none), and so
 * are two names that fold to the same (see the top of the file).
 */
static int
members(const uint8_t *p, size_t n, struct member *m, size_t max,
    size_t *count)
{
	char	a[64], b[64];
	size_t	i, k = 0, j, e;

	i = ws(p, n, 0);
	if (i >= n || p[i] != '{')
		return -1;
	i = ws(p, n, i + 1);
	if (i < n && p[i] == '}') {
		*count = 0;
		return 0;
	}
	for (;;) {
		if (i >= n || p[i] != '"' || k == max)
			return -1;
		e = str_end(p, n, i);
		if (e > n || memchr(p + i + 1, '\\', e - i - 2) != NULL)
			return -1;
		m[k].key = p + i + 1;
		m[k].klen = e - i - 2;
		i = ws(p, n, e);
		if (i >= n || p[i] != ':')
			return -1;
		i = ws(p, n, i + 1);
		m[k].val = p + i;
		if ((e = val_end(p, n, i)) > n)
			return -1;
		m[k].vlen = e - i;
		k++;
		i = ws(p, n, e);
		if (i < n && p[i] == ',') {
			i = ws(p, n, i + 1);
			continue;
		}
		if (i < n && p[i] == '}')
			break;
		return -1;
	}
	for (i = 0; i < k; i++)
		for (j = i + 1; j < k; j++) {
			if (m[i].klen >= sizeof(a) || m[j].klen >= sizeof(b))
				continue;
			memcpy(a, m[i].key, m[i].klen);
			a[m[i].klen] = '\0';
			memcpy(b, m[j].key, m[j].klen);
			b[m[j].klen] = '\0';
			if (att_key_match(a, b))
				return -1;
		}
	*count = k;
	return 0;
}

static const struct member *
member_exact(const struct member *m, size_t n, const char *name)
{
	size_t	i, len = strlen(name);

	for (i = 0; i < n; i++)
		if (m[i].klen == len && memcmp(m[i].key, name, len) == 0)
			return &m[i];
	return NULL;
}

/* --- typed fields, as encoding/json decodes them ------------------------- */

struct jctx {
	char		*err;
	size_t		 errlen;
	int		 failed;
	const char	*what;
};

static void	jbad(struct jctx *, const char *, const char *)
		    __attribute__((__nonnull__(1)));

static void
jbad(struct jctx *j, const char *field, const char *why)
{
	if (j->failed++)
		return;
	att_err(j->err, j->errlen, ATT_ERR_COLLATERAL, "%s: %s %s", j->what,
	    field, why);
}

/* A member that must be there and be of type t (null counts as absent). */
static struct json_object *
jget(struct jctx *j, struct json_object *o, const char *name,
    enum json_type t, int required)
{
	struct json_object *v = att_json_get(o, name);

	if (v == NULL) {
		if (required)
			jbad(j, name, "is missing");
		return NULL;
	}
	if (!json_object_is_type(v, t)) {
		jbad(j, name, "has the wrong type");
		return NULL;
	}
	return v;
}

/* An integer in [min, max]; a float literal is an error, as in Go. */
static long long
jint(struct jctx *j, struct json_object *o, const char *name, long long min,
    long long max, int required)
{
	struct json_object	*v = jget(j, o, name, json_type_int, required);
	long long		 x;

	if (v == NULL)
		return 0;
	x = (long long)json_object_get_int64(v);
	if (x < min || x > max || (x == INT64_MAX && max == INT64_MAX)) {
		jbad(j, name, "is out of range");
		return 0;
	}
	return x;
}

static const char *
jstr(struct jctx *j, struct json_object *o, const char *name, size_t *len,
    int required)
{
	struct json_object *v = jget(j, o, name, json_type_string, required);

	*len = 0;
	if (v == NULL)
		return "";
	*len = (size_t)json_object_get_string_len(v);
	return json_object_get_string(v);
}

static void
jcopy(struct jctx *j, struct json_object *o, const char *name, char *out,
    size_t outlen, int required)
{
	const char	*s;
	size_t		 n;

	s = jstr(j, o, name, &n, required);
	if (n >= outlen || memchr(s, '\0', n) != NULL) {
		jbad(j, name, "is too long");
		n = 0;
	}
	memcpy(out, s, n);
	out[n] = '\0';
}

/* pcs.HexBytes: a string of hex digits, any even length. */
static void
jhex(struct jctx *j, struct json_object *o, const char *name,
    struct att_blob *out, int required)
{
	const char	*s;
	size_t		 n;

	out->p = NULL;
	out->len = 0;
	s = jstr(j, o, name, &n, required);
	if (j->failed || n == 0)
		return;
	if (n > 1024 || (out->p = malloc(n / 2 + 1)) == NULL ||
	    att_hex_decode(s, n, out->p, n / 2) == -1) {
		jbad(j, name, "is not hex");
		return;
	}
	out->len = n / 2;
}

static void
jtime(struct jctx *j, struct json_object *o, const char *name, time_t *out)
{
	const char	*s;
	size_t		 n;

	*out = 0;
	s = jstr(j, o, name, &n, 1);
	if (!j->failed && att_rfc3339(s, n, out) == -1)
		jbad(j, name, "is not an RFC 3339 time");
}

static const char *const status_names[] = {
	[ATT_TCB_NONE] = "",
	[ATT_TCB_UP_TO_DATE] = "UpToDate",
	[ATT_TCB_SW_HARDENING_NEEDED] = "SWHardeningNeeded",
	[ATT_TCB_CONFIGURATION_NEEDED] = "ConfigurationNeeded",
	[ATT_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED] =
	    "ConfigurationAndSWHardeningNeeded",
	[ATT_TCB_OUT_OF_DATE] = "OutOfDate",
	[ATT_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED] =
	    "OutOfDateConfigurationNeeded",
	[ATT_TCB_REVOKED] = "Revoked",
};

const char *
att_tcb_status_name(enum att_tcb_status s)
{
	if ((unsigned)s >= sizeof(status_names) / sizeof(status_names[0]))
		return "?";
	return status_names[s];
}

static enum att_tcb_status
jstatus(struct jctx *j, struct json_object *o)
{
	const char	*s;
	size_t		 n, i;

	s = jstr(j, o, "tcbStatus", &n, 1);
	for (i = ATT_TCB_UP_TO_DATE;
	    i < sizeof(status_names) / sizeof(status_names[0]); i++)
		if (strlen(status_names[i]) == n &&
		    memcmp(status_names[i], s, n) == 0)
			return (enum att_tcb_status)i;
	jbad(j, "tcbStatus", "is not a known TCB status");
	return ATT_TCB_NONE;
}

static void
components(struct jctx *j, struct json_object *tcb, const char *name,
    uint8_t *out, size_t *n)
{
	struct json_object	*arr, *e;
	size_t			 i;

	*n = 0;
	if ((arr = jget(j, tcb, name, json_type_array, 0)) == NULL)
		return;
	*n = json_object_array_length(arr);
	for (i = 0; i < *n && !j->failed; i++) {
		e = json_object_array_get_idx(arr, i);
		if (e == NULL || !json_object_is_type(e, json_type_object)) {
			jbad(j, name, "entry is not an object");
			return;
		}
		/* More than 16 never matches; keep the count only. */
		if (i < ATT_TCB_COMPONENTS)
			out[i] = (uint8_t)jint(j, e, "svn", 0, 255, 0);
		else
			(void)jint(j, e, "svn", 0, 255, 0);
	}
}

static void
levels(struct jctx *j, struct json_object *o, int tcb_info,
    struct att_tcb_level **out, size_t *nout)
{
	struct json_object	*arr, *e, *tcb;
	struct att_tcb_level	*l;
	size_t			 i, n;

	*out = NULL;
	*nout = 0;
	if ((arr = jget(j, o, "tcbLevels", json_type_array, 0)) == NULL)
		return;
	n = json_object_array_length(arr);
	if (n > ATT_MAX_TCB_LEVELS) {
		jbad(j, "tcbLevels", "has too many entries");
		return;
	}
	if (n == 0 || (*out = calloc(n, sizeof(**out))) == NULL)
		return;
	*nout = n;
	for (i = 0; i < n && !j->failed; i++) {
		l = &(*out)[i];
		e = json_object_array_get_idx(arr, i);
		if (e == NULL || !json_object_is_type(e, json_type_object)) {
			jbad(j, "tcbLevels", "entry is not an object");
			return;
		}
		if ((tcb = jget(j, e, "tcb", json_type_object, 0)) != NULL) {
			if (tcb_info) {
				components(j, tcb, "sgxtcbcomponents", l->sgx,
				    &l->nsgx);
				components(j, tcb, "tdxtcbcomponents", l->tdx,
				    &l->ntdx);
				l->pcesvn = (uint16_t)jint(j, tcb, "pcesvn", 0,
				    65535, 0);
			}
			l->isvsvn = (uint32_t)jint(j, tcb, "isvsvn", 0,
			    UINT32_MAX, 0);
		}
		l->status = jstatus(j, e);
	}
}

static void
modules(struct jctx *j, struct json_object *o, struct att_pcs_json *c)
{
	struct json_object	*arr, *e;
	size_t			 i, n;
	struct att_blob		 b;

	if ((arr = jget(j, o, "tdxModuleIdentities", json_type_array, 0)) ==
	    NULL)
		return;
	n = json_object_array_length(arr);
	if (n > ATT_MAX_MODULE_IDS) {
		jbad(j, "tdxModuleIdentities", "has too many entries");
		return;
	}
	if (n == 0 || (c->modules = calloc(n, sizeof(*c->modules))) == NULL)
		return;
	c->nmodules = n;
	for (i = 0; i < n && !j->failed; i++) {
		e = json_object_array_get_idx(arr, i);
		if (e == NULL || !json_object_is_type(e, json_type_object)) {
			jbad(j, "tdxModuleIdentities", "entry is not an "
			    "object");
			return;
		}
		jcopy(j, e, "id", c->modules[i].id, sizeof(c->modules[i].id),
		    0);
		/* Checked for type as Go decodes them, not used by Go. */
		jhex(j, e, "mrsigner", &b, 0);
		free(b.p);
		jhex(j, e, "attributes", &b, 0);
		free(b.p);
		jhex(j, e, "attributesMask", &b, 0);
		free(b.p);
		levels(j, e, 0, &c->modules[i].levels,
		    &c->modules[i].nlevels);
	}
}

void
att_pcs_json_free(struct att_pcs_json *c)
{
	size_t	i;

	free(c->levels);
	for (i = 0; i < c->nmodules; i++)
		free(c->modules[i].levels);
	free(c->modules);
	free(c->module_mrsigner.p);
	free(c->module_attributes.p);
	free(c->module_mask.p);
	free(c->miscselect.p);
	free(c->miscselect_mask.p);
	free(c->attributes.p);
	free(c->attributes_mask.p);
	free(c->mrsigner.p);
	memset(c, 0, sizeof(*c));
}

/*
 * {"tcbInfo": {...}, "signature": "<hex r||s>"} or the same with
 * "enclaveIdentity".  The fields are those of go-tdx-guest's
 * pcs.TcbInfo / pcs.EnclaveIdentity; the signature is not checked here.
 */
enum attest_reason
att_pcs_json_parse(const uint8_t *p, size_t len, int tcb_info,
    struct att_pcs_json *c, char *err, size_t errlen)
{
	const char		*name = tcb_info ? "tcbInfo" : "enclaveIdentity";
	struct member		 m[16];
	const struct member	*body, *sig;
	struct json_object	*root, *o = NULL, *mod;
	struct jctx		 j;
	size_t			 n, i;
	enum attest_reason	 rv = ATT_OK;

	memset(c, 0, sizeof(*c));
	memset(&j, 0, sizeof(j));
	j.err = err;
	j.errlen = errlen;
	j.what = tcb_info ? "TCB info" : "QE identity";
	if ((root = att_json_parse(p, len, NULL, 0)) == NULL)
		return att_err(err, errlen, ATT_ERR_COLLATERAL, "%s is not "
		    "JSON", j.what);
	json_object_put(root);
	if (members(p, len, m, sizeof(m) / sizeof(m[0]), &n) == -1)
		return att_err(err, errlen, ATT_ERR_COLLATERAL, "%s: not an "
		    "object, or members whose names fold together", j.what);
	if ((body = member_exact(m, n, name)) == NULL ||
	    (sig = member_exact(m, n, "signature")) == NULL)
		return att_err(err, errlen, ATT_ERR_COLLATERAL, "%s: no \"%s\" "
		    "or no \"signature\"", j.what, name);
	/* Lower-case hex, as Intel writes it (Go takes either case). */
	for (i = 1; i < sig->vlen - 1 && sig->vlen == 130; i++)
		if (sig->val[i] >= 'A' && sig->val[i] <= 'F')
			break;
	if (sig->vlen != 130 || sig->val[0] != '"' || i != 129 ||
	    att_hex_decode((const char *)sig->val + 1, 128, c->sig, 64) == -1)
		return att_err(err, errlen, ATT_ERR_COLLATERAL, "%s: signature "
		    "is not 64 bytes of lower-case hex", j.what);
	c->signed_p = body->val;
	c->signed_len = body->vlen;
	if ((o = att_json_parse(body->val, body->vlen, NULL, 0)) == NULL ||
	    !json_object_is_type(o, json_type_object)) {
		rv = att_err(err, errlen, ATT_ERR_COLLATERAL, "%s: \"%s\" is "
		    "not an object", j.what, name);
		goto out;
	}
	jcopy(&j, o, "id", c->id, sizeof(c->id), 1);
	c->version = (unsigned)jint(&j, o, "version", 0, 255, 1);
	jtime(&j, o, "issueDate", &c->issue_date);
	jtime(&j, o, "nextUpdate", &c->next_update);
	c->eval_num = jint(&j, o, "tcbEvaluationDataNumber", INT64_MIN + 1,
	    INT64_MAX, 0);
	if (tcb_info) {
		jcopy(&j, o, "fmspc", c->fmspc, sizeof(c->fmspc), 1);
		jcopy(&j, o, "pceId", c->pceid, sizeof(c->pceid), 1);
		(void)jint(&j, o, "tcbType", 0, 255, 0);
		if ((mod = jget(&j, o, "tdxModule", json_type_object, 1)) !=
		    NULL) {
			jhex(&j, mod, "mrsigner", &c->module_mrsigner, 1);
			jhex(&j, mod, "attributes", &c->module_attributes, 1);
			jhex(&j, mod, "attributesMask", &c->module_mask, 1);
		}
		modules(&j, o, c);
	} else {
		jhex(&j, o, "miscselect", &c->miscselect, 1);
		jhex(&j, o, "miscselectMask", &c->miscselect_mask, 1);
		jhex(&j, o, "attributes", &c->attributes, 1);
		jhex(&j, o, "attributesMask", &c->attributes_mask, 1);
		jhex(&j, o, "mrsigner", &c->mrsigner, 1);
		c->isvprodid = (uint16_t)jint(&j, o, "isvprodid", 0, 65535, 1);
	}
	levels(&j, o, tcb_info, &c->levels, &c->nlevels);
	if (j.failed)
		rv = ATT_ERR_COLLATERAL;
out:
	json_object_put(o);
	if (rv != ATT_OK)
		att_pcs_json_free(c);
	return rv;
}
