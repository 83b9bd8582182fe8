/*
 * The Contrast manifest (internal/manifest, v1.20-era) as Go decodes
 * and validates it before building validators: member names match
 * case-insensitively, unknown members are ignored, a type mismatch is an
 * error, and Manifest.Validate() must pass.  Only what the SNP checks
 * need is kept; everything else is checked for type and dropped.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "attest_int.h"

#define MAX_REFS	64
#define MAX_LIST	4096

/* Decoding context: the JSON path for messages and the first error. */
struct mctx {
	char	 path[160];
	char	*err;
	size_t	 errlen;
	int	 failed;
};

static void	bad(struct mctx *, const char *, const char *, ...)
		    __attribute__((__format__(printf, 3, 4)));

static void
bad(struct mctx *m, const char *field, const char *fmt, ...)
{
	char	msg[256];
	va_list	ap;

	if (m->failed++)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	att_err(m->err, m->errlen, ATT_ERR_MANIFEST_INVALID,
	    "manifest %s%s%s: %s", m->path, *m->path && *field ? "." : "",
	    field, msg);
}

static int
is_type(struct json_object *v, enum json_type t)
{
	return json_object_is_type(v, t);
}

static void
get_bool(struct mctx *m, struct json_object *o, const char *name, int *out)
{
	struct json_object *v = att_json_get(o, name);

	*out = 0;
	if (v == NULL)
		return;
	if (!is_type(v, json_type_boolean))
		bad(m, name, "not a boolean");
	else
		*out = json_object_get_boolean(v);
}

/* Go decodes unsigned integers from integer literals only. */
static void
get_uint(struct mctx *m, struct json_object *o, const char *name,
    uint64_t max, uint64_t *out)
{
	struct json_object *v = att_json_get(o, name);

	*out = 0;
	if (v == NULL)
		return;
	if (!is_type(v, json_type_int) || json_object_get_int64(v) < 0 ||
	    json_object_get_uint64(v) > max)
		bad(m, name, "not an unsigned integer <= %llu",
		    (unsigned long long)max);
	else
		*out = json_object_get_uint64(v);
}

/* Contrast's SVN: any JSON number in [0, 255], truncated to uint8. */
static void
get_svn(struct mctx *m, struct json_object *o, const char *name,
    uint8_t *out)
{
	struct json_object *v = att_json_get(o, name);
	double		 d;

	*out = 0;
	if (v == NULL) {
		bad(m, name, "field cannot be empty");
		return;
	}
	if (!is_type(v, json_type_int) && !is_type(v, json_type_double)) {
		bad(m, name, "not a number");
		return;
	}
	if (is_type(v, json_type_int)) {
		if (json_object_get_int64(v) < 0 ||
		    json_object_get_int64(v) > 255) {
			bad(m, name, "value out of range for uint8");
			return;
		}
		*out = (uint8_t)json_object_get_int64(v);
		return;
	}
	d = json_object_get_double(v);
	if (!(d >= 0 && d <= 255)) {
		bad(m, name, "value out of range for uint8");
		return;
	}
	*out = (uint8_t)d;
}

/* A string member; absent is "". */
static const char *
get_str(struct mctx *m, struct json_object *o, const char *name,
    size_t *len)
{
	struct json_object *v = att_json_get(o, name);

	*len = 0;
	if (v == NULL)
		return "";
	if (!is_type(v, json_type_string)) {
		bad(m, name, "not a string");
		return "";
	}
	*len = (size_t)json_object_get_string_len(v);
	return json_object_get_string(v);
}

/* validateHexString: exactly n bytes of hex. */
static void
get_hex(struct mctx *m, struct json_object *o, const char *name,
    uint8_t *out, size_t n)
{
	const char	*s;
	size_t		 len;

	s = get_str(m, o, name, &len);
	if (m->failed)
		return;
	if (len != 2 * n)
		bad(m, name, "invalid length: %zu (expected %zu)", len, 2 * n);
	else if (att_hex_decode(s, len, out, n) == -1)
		bad(m, name, "invalid hex");
}

/* An object member or absent; a null value counts as absent. */
static struct json_object *
get_obj(struct mctx *m, struct json_object *o, const char *name)
{
	struct json_object *v = att_json_get(o, name);

	if (v != NULL && !is_type(v, json_type_object)) {
		bad(m, name, "not an object");
		return NULL;
	}
	return v;
}

static struct json_object *
get_arr(struct mctx *m, struct json_object *o, const char *name)
{
	struct json_object *v = att_json_get(o, name);

	if (v == NULL)
		return NULL;
	if (!is_type(v, json_type_array)) {
		bad(m, name, "not an array");
		return NULL;
	}
	if (json_object_array_length(v) > MAX_LIST) {
		bad(m, name, "too many entries");
		return NULL;
	}
	return v;
}

/* Every element a string (or null), each passing check (may be NULL). */
static void
str_list(struct mctx *m, struct json_object *o, const char *name,
    void (*check)(struct mctx *, const char *, const char *, size_t, void *),
    void *arg)
{
	struct json_object	*arr, *e;
	char			 label[64];
	size_t			 i, n;

	if ((arr = get_arr(m, o, name)) == NULL)
		return;
	n = json_object_array_length(arr);
	for (i = 0; i < n && !m->failed; i++) {
		snprintf(label, sizeof(label), "%s[%zu]", name, i);
		e = json_object_array_get_idx(arr, i);
		if (e != NULL && !is_type(e, json_type_string))
			bad(m, label, "not a string");
		else if (check != NULL)
			check(m, label, e ? json_object_get_string(e) : "",
			    e ? (size_t)json_object_get_string_len(e) : 0,
			    arg);
	}
}

static void
check_hex_any(struct mctx *m, const char *label, const char *s, size_t n,
    void *arg)
{
	(void)arg;
	if (att_hex_valid(s, n) == -1)
		bad(m, label, "invalid hex");
}

/* SeedshareOwnerPubKeys: hex of a PKCS#1 RSAPublicKey. */
static void
check_rsa_pkcs1(struct mctx *m, const char *label, const char *s, size_t n,
    void *arg)
{
	const unsigned char	*p;
	uint8_t			*der;
	EVP_PKEY		*pk;

	(void)arg;
	if (att_hex_valid(s, n) == -1) {
		bad(m, label, "parsing from hex");
		return;
	}
	if ((der = malloc(n / 2 + 1)) == NULL) {
		bad(m, label, "out of memory");
		return;
	}
	att_hex_decode(s, n, der, n / 2);
	p = der;
	pk = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)(n / 2));
	if (pk == NULL || p != der + n / 2)
		bad(m, label, "parsing from PKCS1");
	EVP_PKEY_free(pk);
	free(der);
}

struct chip_list {
	uint8_t	(*ids)[64];
	size_t	 n;
};

static void
check_chip_id(struct mctx *m, const char *label, const char *s, size_t n,
    void *arg)
{
	struct chip_list *cl = arg;

	if (n != 128)
		bad(m, label, "invalid length: %zu (expected 128)", n);
	else if (att_hex_decode(s, n, cl->ids[cl->n], 64) == -1)
		bad(m, label, "invalid hex");
	else
		cl->n++;
}

static void
parse_policy_entry(struct mctx *m, const char *hash, struct json_object *v,
    struct att_manifest *out, int *ncoord)
{
	const char	*role;
	size_t		 len, hlen = strlen(hash);

	if (v != NULL && !is_type(v, json_type_object)) {
		bad(m, "", "not an object");
		return;
	}
	str_list(m, v, "SANs", NULL, NULL);
	get_str(m, v, "WorkloadSecretID", &len);
	role = get_str(m, v, "Role", &len);
	if (m->failed)
		return;
	if (att_hex_valid(hash, hlen) == -1)
		bad(m, "", "decoding policy hash");
	else if (hlen != 64)
		bad(m, "", "invalid policy hash length: %zu (expected 64)",
		    hlen);
	else if (strcmp(role, "coordinator") == 0 && len == 11) {
		if ((*ncoord)++ == 0)
			att_hex_decode(hash, 64, out->coordinator_hash, 32);
	} else if (len != 0)
		bad(m, "Role", "unknown role: %s", role);
}

static void
parse_policies(struct mctx *m, struct json_object *root,
    struct att_manifest *out)
{
	struct json_object	*pol;
	int			 ncoord = 0;

	if ((pol = get_obj(m, root, "Policies")) != NULL) {
		json_object_object_foreach(pol, hash, v) {
			snprintf(m->path, sizeof(m->path),
			    "Policies[\"%.80s\"]", hash);
			parse_policy_entry(m, hash, v, out, &ncoord);
			if (m->failed)
				break;
		}
	}
	m->path[0] = '\0';
	if (!m->failed && ncoord != 1)
		bad(m, "Policies", "expected exactly 1 policy with role "
		    "'coordinator', got %d", ncoord);
}

static void
parse_min_tcb(struct mctx *m, struct json_object *o, struct attest_tcb *t)
{
	struct json_object *tcb = get_obj(m, o, "MinimumTCB");

	memset(t, 0, sizeof(*t));
	if (m->failed)
		return;
	if (tcb == NULL) {
		bad(m, "MinimumTCB", "field cannot be empty");
		return;
	}
	get_svn(m, tcb, "BootloaderVersion", &t->bl);
	get_svn(m, tcb, "TEEVersion", &t->tee);
	get_svn(m, tcb, "SNPVersion", &t->snp);
	get_svn(m, tcb, "MicrocodeVersion", &t->ucode);
}

static void
parse_guest_policy(struct mctx *m, struct json_object *o,
    struct att_policy *p)
{
	struct json_object	*gp = get_obj(m, o, "GuestPolicy");
	uint64_t		 v;

	memset(p, 0, sizeof(*p));
	get_uint(m, gp, "ABIMinor", 0xff, &v);
	p->abi_minor = (uint8_t)v;
	get_uint(m, gp, "ABIMajor", 0xff, &v);
	p->abi_major = (uint8_t)v;
	get_bool(m, gp, "SMT", &p->smt);
	get_bool(m, gp, "MigrateMA", &p->migrate_ma);
	get_bool(m, gp, "Debug", &p->debug);
	get_bool(m, gp, "SingleSocket", &p->single_socket);
	get_bool(m, gp, "CXLAllowed", &p->cxl_allowed);
	get_bool(m, gp, "MemAES256XTS", &p->mem_aes_256_xts);
	get_bool(m, gp, "RAPLDis", &p->rapl_dis);
	get_bool(m, gp, "CipherTextHidingDRAM", &p->ciphertext_hiding_dram);
	get_bool(m, gp, "PageSwapDisable", &p->page_swap_disable);
	if (m->failed)
		return;
	/* Contrast forbids changing these from what it launches with. */
	if (p->abi_major != 0)
		bad(m, "GuestPolicy.ABIMajor", "modifying this field is not "
		    "permitted");
	else if (p->abi_minor != 0 && p->abi_minor != 31)
		bad(m, "GuestPolicy.ABIMinor", "modifying this field is not "
		    "permitted");
	else if (!p->smt)
		bad(m, "GuestPolicy.SMT", "modifying this field is not "
		    "permitted");
	else if (p->migrate_ma || p->debug || p->single_socket ||
	    p->cxl_allowed || p->mem_aes_256_xts || p->rapl_dis ||
	    p->ciphertext_hiding_dram)
		bad(m, "GuestPolicy", "modifying MigrateMA, Debug, "
		    "SingleSocket, CXLAllowed, MemAES256XTS, RAPLDis or "
		    "CipherTextHidingDRAM is not permitted");
}

static void
parse_platform_info(struct mctx *m, struct json_object *o,
    struct att_platform *p)
{
	struct json_object *pi = get_obj(m, o, "PlatformInfo");

	memset(p, 0, sizeof(*p));
	get_bool(m, pi, "SMTEnabled", &p->smt_en);
	get_bool(m, pi, "TSMEEnabled", &p->tsme_en);
	get_bool(m, pi, "ECCEnabled", &p->ecc_en);
	get_bool(m, pi, "RAPLDisabled", &p->rapl_dis);
	get_bool(m, pi, "CiphertextHidingDRAMEnabled",
	    &p->ciphertext_hiding_dram_en);
	get_bool(m, pi, "AliasCheckComplete", &p->alias_check_complete);
	get_bool(m, pi, "TIOEnabled", &p->tio_en);
}

static void
parse_chip_ids(struct mctx *m, struct json_object *o, struct att_snp_ref *r)
{
	struct json_object	*arr;
	struct chip_list	 cl = { NULL, 0 };
	size_t			 n;

	if ((arr = get_arr(m, o, "AllowedChipIDs")) == NULL ||
	    (n = json_object_array_length(arr)) == 0)
		return;
	if ((cl.ids = calloc(n, sizeof(*cl.ids))) == NULL) {
		bad(m, "AllowedChipIDs", "out of memory");
		return;
	}
	str_list(m, o, "AllowedChipIDs", check_chip_id, &cl);
	r->chip_ids = cl.ids;
	r->nchip_ids = cl.n;
}

static void
parse_snp(struct mctx *m, struct json_object *o, struct att_snp_ref *r)
{
	const char	*name;
	size_t		 len;
	uint64_t	 v;

	if (o != NULL && !is_type(o, json_type_object)) {
		bad(m, "", "not an object");
		return;
	}
	get_str(m, o, "Platform", &len);
	get_uint(m, o, "CPUs", UINT64_MAX, &v);
	get_uint(m, o, "MinimumMitigationVector", UINT64_MAX,
	    &r->min_mitigation);
	parse_min_tcb(m, o, &r->min_tcb);
	parse_guest_policy(m, o, &r->guest_policy);
	parse_platform_info(m, o, &r->platform_info);
	name = get_str(m, o, "ProductName", &len);
	if (m->failed)
		return;
	if (len == 5 && strcmp(name, "Milan") == 0)
		r->product = ATT_PRODUCT_MILAN;
	else if (len == 5 && strcmp(name, "Genoa") == 0)
		r->product = ATT_PRODUCT_GENOA;
	else {
		bad(m, "ProductName", "unknown product name: %.32s", name);
		return;
	}
	get_hex(m, o, "TrustedMeasurement", r->measurement, 48);
	parse_chip_ids(m, o, r);
}

struct piid_list {
	struct att_blob	*v;
	size_t		 n;
};

static void
check_piid(struct mctx *m, const char *label, const char *s, size_t n,
    void *arg)
{
	struct piid_list *pl = arg;
	struct att_blob	*b = &pl->v[pl->n];

	if (att_hex_valid(s, n) == -1) {
		bad(m, label, "invalid hex");
		return;
	}
	if (n > 0 && (b->p = malloc(n / 2)) == NULL) {
		bad(m, label, "out of memory");
		return;
	}
	att_hex_decode(s, n, b->p, n / 2);
	b->len = n / 2;
	pl->n++;
}

/* Go's int: any JSON integer literal that fits int64. */
static void
get_int64(struct mctx *m, struct json_object *o, const char *name,
    long long *out)
{
	struct json_object *v = att_json_get(o, name);

	*out = 0;
	if (v == NULL)
		return;
	if (!is_type(v, json_type_int) ||
	    json_object_get_int64(v) == INT64_MAX ||
	    json_object_get_int64(v) == INT64_MIN)
		bad(m, name, "not an integer");
	else
		*out = (long long)json_object_get_int64(v);
}

static void
parse_tdx(struct mctx *m, struct json_object *o, struct att_tdx_ref *r)
{
	struct json_object	*arr;
	struct piid_list	 pl = { NULL, 0 };
	size_t			 i, n, len;
	char			 label[16];
	uint64_t		 v;

	if (o != NULL && !is_type(o, json_type_object)) {
		bad(m, "", "not an object");
		return;
	}
	get_str(m, o, "Platform", &len);
	get_int64(m, o, "MinTCBEvaluationDataNumber", &r->min_eval);
	get_uint(m, o, "CPUs", UINT64_MAX, &v);
	get_bool(m, o, "MemoryIntegrity", &r->memory_integrity);
	get_bool(m, o, "SMTDisabled", &r->smt_disabled);
	get_bool(m, o, "StaticPlatform", &r->static_platform);
	if ((arr = get_arr(m, o, "AllowedPIIDs")) != NULL &&
	    (n = json_object_array_length(arr)) > 0) {
		if ((pl.v = calloc(n, sizeof(*pl.v))) == NULL) {
			bad(m, "AllowedPIIDs", "out of memory");
			return;
		}
		str_list(m, o, "AllowedPIIDs", check_piid, &pl);
		r->piids = pl.v;
		r->npiids = pl.n;
	}
	get_hex(m, o, "MrTd", r->mr_td, 48);
	get_hex(m, o, "MrSeam", r->mr_seam, 48);
	get_hex(m, o, "Xfam", r->xfam, 8);
	if (m->failed)
		return;
	/* Go's [4]HexString: extra elements dropped, missing ones "". */
	arr = get_arr(m, o, "Rtmrs");
	n = arr != NULL ? json_object_array_length(arr) : 0;
	for (i = 0; i < 4 && !m->failed; i++) {
		struct json_object *e = i < n ?
		    json_object_array_get_idx(arr, i) : NULL;

		snprintf(label, sizeof(label), "RTMR[%zu]", i + 1);
		if (e != NULL && !is_type(e, json_type_string))
			bad(m, label, "not a string");
		else if (e == NULL || json_object_get_string_len(e) != 96 ||
		    att_hex_decode(json_object_get_string(e), 96, r->rtmr[i],
		    48) == -1)
			bad(m, label, "invalid length or hex");
	}
}

static void
parse_refs(struct mctx *m, struct json_object *root, struct att_manifest *out)
{
	struct json_object	*rv, *snp, *tdx;
	size_t			 i, n;

	rv = get_obj(m, root, "ReferenceValues");
	snp = get_arr(m, rv, "snp");
	tdx = get_arr(m, rv, "tdx");
	if (m->failed)
		return;
	n = snp != NULL ? json_object_array_length(snp) : 0;
	if (n > MAX_REFS) {
		bad(m, "ReferenceValues.snp", "more than %d entries",
		    MAX_REFS);
		return;
	}
	if (n > 0 && (out->snp = calloc(n, sizeof(*out->snp))) == NULL) {
		bad(m, "ReferenceValues", "out of memory");
		return;
	}
	for (i = 0; i < n && !m->failed; i++) {
		snprintf(m->path, sizeof(m->path), "ReferenceValues.snp[%zu]",
		    i);
		parse_snp(m, json_object_array_get_idx(snp, i), &out->snp[i]);
		out->nsnp++;
	}
	n = tdx != NULL ? json_object_array_length(tdx) : 0;
	if (n > MAX_REFS) {
		bad(m, "ReferenceValues.tdx", "more than %d entries",
		    MAX_REFS);
		return;
	}
	if (n > 0 && (out->tdx = calloc(n, sizeof(*out->tdx))) == NULL) {
		bad(m, "ReferenceValues", "out of memory");
		return;
	}
	for (i = 0; i < n && !m->failed; i++) {
		snprintf(m->path, sizeof(m->path), "ReferenceValues.tdx[%zu]",
		    i);
		parse_tdx(m, json_object_array_get_idx(tdx, i), &out->tdx[i]);
		out->ntdx++;
	}
	m->path[0] = '\0';
	if (!m->failed && out->nsnp + out->ntdx == 0)
		bad(m, "ReferenceValues", "reference values in manifest "
		    "cannot be empty");
}

enum attest_reason
att_manifest_parse(const uint8_t *p, size_t len, struct att_manifest *out,
    char *err, size_t errlen)
{
	struct json_object	*root;
	struct mctx		 m;

	memset(out, 0, sizeof(*out));
	memset(&m, 0, sizeof(m));
	m.err = err;
	m.errlen = errlen;
	if ((root = att_json_parse(p, len, err, errlen)) == NULL)
		return att_err(err, errlen, ATT_ERR_MANIFEST_INVALID,
		    "manifest is not valid JSON");
	if (!is_type(root, json_type_object))
		bad(&m, "", "not a JSON object");
	else {
		parse_policies(&m, root, out);
		if (!m.failed)
			parse_refs(&m, root, out);
		/*
		 * Which of these two v1.20 has is not certain and pm
		 * sends neither; both are only required to be hex.
		 */
		if (!m.failed)
			str_list(&m, root, "WorkloadOwnerKeyDigests",
			    check_hex_any, NULL);
		if (!m.failed)
			str_list(&m, root, "WorkloadOwnerPubKeys",
			    check_hex_any, NULL);
		if (!m.failed)
			str_list(&m, root, "SeedshareOwnerPubKeys",
			    check_rsa_pkcs1, NULL);
	}
	json_object_put(root);
	if (m.failed) {
		att_manifest_free(out);
		return ATT_ERR_MANIFEST_INVALID;
	}
	return ATT_OK;
}

void
att_manifest_free(struct att_manifest *m)
{
	size_t	i, k;

	for (i = 0; i < m->nsnp; i++)
		free(m->snp[i].chip_ids);
	free(m->snp);
	for (i = 0; i < m->ntdx; i++) {
		for (k = 0; k < m->tdx[i].npiids; k++)
			free(m->tdx[i].piids[k].p);
		free(m->tdx[i].piids);
	}
	free(m->tdx);
	memset(m, 0, sizeof(*m));
}
