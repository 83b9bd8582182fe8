/*
 * Secret exchange client step; see sx.h.  The response is scanned with
 * common/json (Go's decoder rules: case-insensitive names, last one wins,
 * unknown members ignored, null is empty), the certificate is checked
 * with an X509_STORE that holds only the mesh CA, and the signature is
 * verified on the prehashed digest, as Go's ecdsa.VerifyASN1 does.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include "hpke.h"
#include "json.h"
#include "log.h"
#include "p384.h"
#include "sx.h"
#include "util.h"

struct sx {
	struct xwing_sk	sk;
	uint8_t		pk[XWING_PK_BYTES];
	int		finished;
};

/* The three members of the response, decoded. */
struct sx_resp {
	struct buf	enc;
	struct buf	sig;
	struct buf	cert;
};

static void
b64_append(struct buf *out, const uint8_t *p, size_t n)
{
	size_t	 l = sodium_base64_ENCODED_LEN(n,
		    sodium_base64_VARIANT_ORIGINAL);
	char	*dst = (char *)buf_reserve(out, l);

	sodium_bin2base64(dst, l, p, n, sodium_base64_VARIANT_ORIGINAL);
	out->len += l - 1;		/* without the terminating NUL */
}

void
sx_secret_id(const uint8_t *pk, size_t pklen, char id[SX_ID_LEN + 1])
{
	uint8_t	h[32];

	SHA256(pk, pklen, h);
	sodium_bin2base64(id, SX_ID_LEN + 1, h, sizeof(h),
	    sodium_base64_VARIANT_ORIGINAL);
}

void
sx_digest(const uint8_t *pk, size_t pklen, const uint8_t *enc, size_t enclen,
    uint8_t out[32])
{
	EVP_MD_CTX	*c;
	unsigned int	 l;

	if ((c = EVP_MD_CTX_new()) == NULL ||
	    !EVP_DigestInit_ex(c, EVP_sha256(), NULL) ||
	    !EVP_DigestUpdate(c, pk, pklen) ||
	    !EVP_DigestUpdate(c, enc, enclen) ||
	    !EVP_DigestFinal_ex(c, out, &l))
		fatalx("%s: SHA-256", __func__);
	EVP_MD_CTX_free(c);
}

int
sx_begin_seed(struct sx **sxp, const uint8_t seed[XWING_SEED_BYTES],
    struct buf *body, struct cerr *err)
{
	struct sx	*sx;

	*sxp = NULL;
	if (sodium_init() < 0 || (sx = sodium_malloc(sizeof(*sx))) == NULL) {
		cerr_set(err, "generating key: out of secure memory");
		return -1;
	}
	memset(sx, 0, sizeof(*sx));
	if (xwing_keygen(&sx->sk, sx->pk, seed) == -1) {
		sodium_free(sx);
		cerr_set(err, "generating key: X-Wing key generation failed");
		return -1;
	}
	buf_adds(body, "{\"PublicKey\":\"");
	b64_append(body, sx->pk, sizeof(sx->pk));
	buf_adds(body, "\"}");
	*sxp = sx;
	return 0;
}

/*
 * The seed lives on the stack for the key generation only and is wiped
 * after it, like the key generation's own temporaries: a guarded
 * allocation of its own cost six system calls and a TLB flush.
 */
int
sx_begin(struct sx **sxp, struct buf *body, struct cerr *err)
{
	uint8_t	seed[XWING_SEED_BYTES];
	int	rv;

	if (sodium_init() < 0) {
		cerr_set(err, "generating key: libsodium unavailable");
		return -1;
	}
	randombytes_buf(seed, sizeof(seed));
	rv = sx_begin_seed(sxp, seed, body, err);
	sodium_memzero(seed, sizeof(seed));
	return rv;
}

void
sx_free(struct sx *sx)
{
	/* sodium_free wipes the whole allocation. */
	if (sx != NULL)
		sodium_free(sx);
}

void
sx_secret_free(struct sx_secret *s)
{
	if (s != NULL)
		sodium_free(s);
}

static const char *
go_type(enum json_kind t)
{
	switch (t) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	case JSON_NUMBER:
		return "number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "bool";
	default:
		return "string";
	}
}

/* One []byte member: a base64 string or null. */
static int
decode_bytes(const uint8_t *doc, const struct json_member *m,
    const char *field, struct buf *out, struct cerr *err)
{
	struct buf	 s;
	const char	*end;
	size_t		 binlen;
	int		 rv = -1;

	buf_reset(out);
	if (m->type == JSON_NULL)
		return 0;
	if (m->type != JSON_STRING) {
		cerr_set(err, "json: cannot unmarshal %s into Go struct field "
		    "SecretResp.%s of type []uint8", go_type(m->type), field);
		return -1;
	}
	buf_init(&s, m->value.len);
	if (json_unescape(doc + m->value.off, m->value.len, &s) == -1) {
		cerr_set(err, "invalid JSON string");
		goto out;
	}
	buf_reserve(out, s.len / 4 * 3 + 3);
	if (sodium_base642bin(out->p, out->cap, (const char *)s.p, s.len,
	    NULL, &binlen, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != (const char *)s.p + s.len) {
		cerr_set(err, "illegal base64 data at input byte %zu",
		    end != NULL && end >= (const char *)s.p ?
		    (size_t)(end - (const char *)s.p) : (size_t)0);
		goto out;
	}
	out->len = binlen;
	rv = 0;
 out:
	buf_free(&s);
	return rv;
}

static int
parse_response(const uint8_t *doc, size_t n, struct sx_resp *r,
    struct cerr *err)
{
	struct json_result	 res;
	struct json_iter	 it;
	struct json_member	 m;
	struct json_span	 all;
	struct buf		*dst;
	const char		*field;
	int			 k;

	json_validate(doc, n, 0, &res);
	if (res.status != JSON_OK && res.status != JSON_EDUPKEY) {
		cerr_set(err, "%s", res.status == JSON_EEMPTY ||
		    res.status == JSON_EINCOMPLETE ?
		    "unexpected end of JSON input" : res.msg);
		return -1;
	}
	if (res.top != JSON_OBJECT) {
		if (res.top == JSON_NULL)
			return 0;		/* Go: null leaves all empty */
		cerr_set(err, "json: cannot unmarshal %s into Go value of "
		    "type httpapi.SecretResp", go_type(res.top));
		return -1;
	}
	if (json_value_span(doc, n, 0, &all) == -1 ||
	    json_iter_init(&it, doc, all) == -1)
		fatalx("%s: validated JSON has no object", __func__);
	while ((k = json_iter_next(&it, &m)) == 1) {
		/* Go matches field names case-insensitively. */
		if (m.namelen == 15 && strcasecmp(m.name,
		    "EncapsulatedKey") == 0) {
			dst = &r->enc;
			field = "EncapsulatedKey";
		} else if (m.namelen == 9 && strcasecmp(m.name,
		    "Signature") == 0) {
			dst = &r->sig;
			field = "Signature";
		} else if (m.namelen == 8 && strcasecmp(m.name,
		    "MeshCert") == 0) {
			dst = &r->cert;
			field = "MeshCert";
		} else
			continue;
		if (decode_bytes(doc, &m, field, dst, err) == -1) {
			json_iter_free(&it);
			return -1;
		}
	}
	json_iter_free(&it);
	if (k == -1)
		fatalx("%s: validated JSON did not iterate", __func__);
	return 0;
}

static void
ossl_reason(char *dst, size_t len)
{
	unsigned long	e = ERR_peek_last_error();

	if (e == 0)
		strlcpy(dst, "unknown error", len);
	else
		ERR_error_string_n(e, dst, len);
	ERR_clear_error();
}

/* Go's x509 wording for the verification failures that matter here. */
static const char *
verify_reason(int code)
{
	switch (code) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return "x509: certificate has expired or is not yet valid";
	case X509_V_ERR_INVALID_PURPOSE:
		return "x509: certificate specifies an incompatible key usage";
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
		return "x509: certificate signed by unknown authority";
	}
	return X509_verify_cert_error_string(code);
}

/*
 * The mesh certificate is the same in every exchange until the deployment
 * replaces it, and checking it (parsing, a P-384 signature) costs a third
 * of an exchange.  So the last leaf that passed is remembered: the same
 * DER bytes under a byte-identical CA (a re-attestation that finds the CA
 * unchanged) give the same answer while both certificates are still
 * inside their validity period, the only input of the check that changes
 * with time.  Anything else takes the full path, and failures are never
 * remembered.
 */
static struct {
	struct buf	 der;
	struct buf	 ca_der;
	X509		*leaf;
	EVP_PKEY	*key;
} verified_leaf;

/* The DER encoding of x into out (reset first); -1 if it has none. */
static int
der_of(X509 *x, struct buf *out)
{
	unsigned char	*enc = NULL;
	int		 n;

	buf_reset(out);
	if ((n = i2d_X509(x, &enc)) <= 0)
		return -1;
	buf_add(out, enc, (size_t)n);
	OPENSSL_free(enc);
	return 0;
}

static int
same_bytes(const struct buf *a, const struct buf *b)
{
	return a->len == b->len &&
	    (a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
}

static int
same_der(X509 *x, const struct buf *der)
{
	struct buf	mine;
	int		same;

	buf_init(&mine, der->len);
	same = der_of(x, &mine) == 0 && same_bytes(&mine, der);
	buf_free(&mine);
	return same;
}

/* X509_verify_cert's own time rule: notBefore < now < notAfter. */
static int
valid_at(X509 *x, time_t now)
{
	return X509_cmp_time(X509_get0_notBefore(x), &now) < 0 &&
	    X509_cmp_time(X509_get0_notAfter(x), &now) > 0;
}

static EVP_PKEY *
remembered_key(const struct buf *der, X509 *mesh_ca, time_t now)
{
	if (verified_leaf.key == NULL ||
	    !same_der(mesh_ca, &verified_leaf.ca_der) ||
	    !same_bytes(der, &verified_leaf.der) ||
	    !valid_at(verified_leaf.leaf, now) || !valid_at(mesh_ca, now)) {
		ERR_clear_error();
		return NULL;
	}
	EVP_PKEY_up_ref(verified_leaf.key);
	return verified_leaf.key;
}

static void
remember_key(const struct buf *der, X509 *leaf, X509 *mesh_ca, EVP_PKEY *key)
{
	X509_free(verified_leaf.leaf);
	EVP_PKEY_free(verified_leaf.key);
	verified_leaf.leaf = NULL;
	verified_leaf.key = NULL;
	if (der_of(mesh_ca, &verified_leaf.ca_der) == -1)
		return;
	buf_reset(&verified_leaf.der);
	buf_add(&verified_leaf.der, der->p, der->len);
	X509_up_ref(leaf);
	EVP_PKEY_up_ref(key);
	verified_leaf.leaf = leaf;
	verified_leaf.key = key;
}

/* Go's getVerifiedPublicKey: parse, chain to the mesh CA, key type. */
static EVP_PKEY *
verified_key(const struct buf *der, X509 *mesh_ca, time_t now,
    struct cerr *err)
{
	X509_STORE		*store = NULL;
	X509_STORE_CTX		*ctx = NULL;
	X509_VERIFY_PARAM	*param;
	X509			*leaf;
	EVP_PKEY		*key = NULL;
	const unsigned char	*p = der->p;
	char			 why[256];

	if ((key = remembered_key(der, mesh_ca, now)) != NULL)
		return key;
	if ((leaf = d2i_X509(NULL, &p, (long)der->len)) == NULL) {
		ossl_reason(why, sizeof(why));
		cerr_set(err, "parsing certificate: %s", why);
		return NULL;
	}
	if (p != der->p + der->len) {
		cerr_set(err, "parsing certificate: x509: trailing data");
		goto out;
	}
	if ((store = X509_STORE_new()) == NULL ||
	    (ctx = X509_STORE_CTX_new()) == NULL ||
	    !X509_STORE_add_cert(store, mesh_ca) ||
	    !X509_STORE_CTX_init(ctx, store, leaf, NULL))
		fatalx("%s: X509_STORE setup", __func__);
	param = X509_STORE_CTX_get0_param(ctx);
	/* The mesh CA is the only anchor; Go trusts any pool member. */
	X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
	X509_VERIFY_PARAM_set_time(param, now);
	/* EKU, when present, must allow serverAuth (Go's default usage). */
	X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER);
	if (X509_verify_cert(ctx) != 1) {
		cerr_set(err, "verifying certificate: %s",
		    verify_reason(X509_STORE_CTX_get_error(ctx)));
		ERR_clear_error();
		goto out;
	}
	if ((key = X509_get_pubkey(leaf)) == NULL ||
	    EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) {
		EVP_PKEY_free(key);
		key = NULL;
		cerr_set(err, "public key is not ECDSA");
		goto out;
	}
	remember_key(der, leaf, mesh_ca, key);
 out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	X509_free(leaf);
	return key;
}

/* ecdsa.VerifyASN1(pub, digest, sig): the digest is not hashed again. */
static int
verify_digest(EVP_PKEY *key, const uint8_t digest[32], const struct buf *sig)
{
	EVP_PKEY_CTX	*pc;
	int		 ok;

	if ((ok = p384_verify_der(key, digest, 32, sig->p, sig->len)) != -1)
		return ok;
	if ((pc = EVP_PKEY_CTX_new(key, NULL)) == NULL ||
	    EVP_PKEY_verify_init(pc) != 1)
		fatalx("%s: EVP_PKEY_verify_init", __func__);
	ok = sig->len > 0 && EVP_PKEY_verify(pc, sig->p, sig->len, digest,
	    32) == 1;
	EVP_PKEY_CTX_free(pc);
	ERR_clear_error();
	return ok;
}

static int
derive(struct sx *sx, const struct buf *enc, struct sx_secret *out,
    struct cerr *err)
{
	struct hpke_ctx	ctx;
	uint8_t		ss[XWING_SS_BYTES];
	int		rv = -1;

	if (enc->len != XWING_CT_BYTES) {
		cerr_set(err, "creating recipient: invalid encapsulated key "
		    "length %zu", enc->len);
		return -1;
	}
	if (xwing_decaps(&sx->sk, ss, enc->p, enc->len) == -1) {
		cerr_set(err, "creating recipient: decapsulation failed");
		goto out;
	}
	if (hpke_key_schedule_base(&ctx, XWING_HPKE_KEM_ID,
	    HPKE_KDF_HKDF_SHA256, HPKE_AEAD_EXPORT_ONLY, ss, sizeof(ss),
	    NULL, 0) == -1)
		fatalx("%s: unsupported HPKE suite", __func__);
	if (hpke_export(&ctx, NULL, 0, out->key, SX_SECRET_BYTES) == -1) {
		cerr_set(err, "exporting secret: export failed");
		goto out;
	}
	rv = 0;
 out:
	hpke_ctx_wipe(&ctx);
	sodium_memzero(ss, sizeof(ss));
	return rv;
}

int
sx_finish(struct sx *sx, const uint8_t *resp, size_t resplen, X509 *mesh_ca,
    time_t now, struct sx_secret **outp, struct cerr *err)
{
	struct sx_resp		 r;
	struct sx_secret	*out = NULL;
	EVP_PKEY		*key = NULL;
	uint8_t			 digest[32];
	int			 rv = -1;

	*outp = NULL;
	if (sx->finished) {
		cerr_set(err, "secret exchange already finished");
		return -1;
	}
	sx->finished = 1;
	buf_init(&r.enc, XWING_CT_BYTES);
	buf_init(&r.sig, 128);
	buf_init(&r.cert, 1024);
	if (parse_response(resp, resplen, &r, err) == -1) {
		cerr_wrap(err, "unmarshaling response");
		goto out;
	}
	if ((key = verified_key(&r.cert, mesh_ca, now, err)) == NULL) {
		cerr_wrap(err, "getting public key");
		goto out;
	}
	sx_digest(sx->pk, sizeof(sx->pk), r.enc.p, r.enc.len, digest);
	if (!verify_digest(key, digest, &r.sig)) {
		cerr_set(err, "invalid signature");
		goto out;
	}
	if ((out = sodium_malloc(sizeof(*out))) == NULL) {
		cerr_set(err, "exporting secret: out of secure memory");
		goto out;
	}
	if (derive(sx, &r.enc, out, err) == -1)
		goto out;
	sx_secret_id(sx->pk, sizeof(sx->pk), out->id);
	*outp = out;
	out = NULL;
	rv = 0;
 out:
	sx_secret_free(out);
	EVP_PKEY_free(key);
	buf_free(&r.enc);
	buf_free(&r.sig);
	buf_free(&r.cert);
	return rv;
}
