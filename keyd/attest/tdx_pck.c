/*
 * Intel's side of a TDX quote: the PEM certificate chains (the PCK chain
 * in the quote, the issuer chains of the PCS answers), the rules
 * go-tdx-guest applies to each certificate, the SGX extension of a PCK
 * leaf (pcs.PckCertificateExtensions), CRLs, and ECDSA P-256 signatures
 * given as r || s.
 *
 * Encodings are held to their canonical form: PEM exactly as Intel
 * writes it, base64 with zero padding bits, DER that re-encodes to the
 * same bytes.  Go is more lenient in places (pem.Decode skips text
 * between blocks, base64 ignores the padding bits); none of that
 * leniency carries meaning, and refusing it makes a changed byte
 * anywhere in a chain a refusal.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "attest_int.h"

/* --- PEM ------------------------------------------------------------- */

#define PEM_BEGIN	"-----BEGIN CERTIFICATE-----\n"
#define PEM_END		"-----END CERTIFICATE-----"

/*
 * Base64 of one block's body (newlines already removed): length a
 * multiple of 4, padding only at the end, unused bits zero.
 */
static int
b64_strict(const uint8_t *s, size_t n, uint8_t *out, size_t *outlen)
{
	size_t	i, o = 0, pad = 0;
	int	v[4], k;

	if (n == 0 || n % 4 != 0)
		return -1;
	if (s[n - 1] == '=')
		pad = s[n - 2] == '=' ? 2 : 1;
	for (i = 0; i < n; i += 4) {
		for (k = 0; k < 4; k++) {
			if (i + 4 == n && k >= 4 - (int)pad) {
				if (s[i + k] != '=')
					return -1;
				v[k] = 0;
			} else if ((v[k] = att_b64_value(s[i + k])) < 0)
				return -1;
		}
		out[o++] = (uint8_t)(v[0] << 2 | v[1] >> 4);
		if (i + 4 < n || pad < 2)
			out[o++] = (uint8_t)(v[1] << 4 | v[2] >> 2);
		if (i + 4 < n || pad < 1)
			out[o++] = (uint8_t)(v[2] << 6 | v[3]);
	}
	/* The bits the padding leaves over must be zero. */
	if ((pad == 1 && (v[2] & 0x03) != 0) || (pad == 2 && (v[1] & 0x0f) != 0))
		return -1;
	*outlen = o;
	return 0;
}

/*
 * Parsing a certificate costs OpenSSL 3.0 about a quarter of a
 * millisecond (its key goes through the decoder framework), and a TDX
 * verification meets the same few certificates every time: Intel's
 * platform CA and TCB signing certificate, the platform's PCK.  So the
 * last few DER encodings parsed are remembered with their X509, like
 * att_idkey_digest_cached() remembers its answers: a pure function of
 * the bytes, with a reference handed out per use.  keyd is single-
 * threaded, as are the tests and fuzzers.
 */
#define CERT_MEMO	12

static struct {
	uint8_t		*der;
	size_t		 len;
	X509		*x;
} memo[CERT_MEMO];
static size_t	memo_next;

static X509 *
memo_get(const uint8_t *der, size_t len)
{
	size_t	i;

	for (i = 0; i < CERT_MEMO; i++)
		if (memo[i].x != NULL && memo[i].len == len &&
		    memcmp(memo[i].der, der, len) == 0) {
			X509_up_ref(memo[i].x);
			return memo[i].x;
		}
	return NULL;
}

static void
memo_put(const uint8_t *der, size_t len, X509 *x)
{
	size_t	i = memo_next++ % CERT_MEMO;
	uint8_t	*copy;

	if ((copy = malloc(len)) == NULL || X509_up_ref(x) != 1) {
		free(copy);
		return;
	}
	memcpy(copy, der, len);
	free(memo[i].der);
	X509_free(memo[i].x);
	memo[i].der = copy;
	memo[i].len = len;
	memo[i].x = x;
}

/* A DER certificate that re-encodes to exactly the same bytes. */
static X509 *
der_cert(const uint8_t *der, size_t len)
{
	const unsigned char	*q = der;
	unsigned char		*re = NULL;
	X509			*x;
	int			 n;

	if (len == 0 || len > 1 << 20)
		return NULL;
	if ((x = memo_get(der, len)) != NULL)
		return x;
	if ((x = d2i_X509(NULL, &q, (long)len)) == NULL)
		return NULL;
	if (q != der + len || (n = i2d_X509(x, &re)) < 0 ||
	    (size_t)n != len || memcmp(re, der, len) != 0) {
		OPENSSL_free(re);
		X509_free(x);
		return NULL;
	}
	OPENSSL_free(re);
	memo_put(der, len, x);
	return x;
}

/* One block at *off; advances past its END line (and its newline). */
static X509 *
pem_block(const uint8_t *p, size_t len, size_t *off, int last)
{
	const size_t	 blen = sizeof(PEM_BEGIN) - 1, elen = sizeof(PEM_END) - 1;
	size_t		 i = *off, line, body = 0, derlen;
	uint8_t		*b64 = NULL, *der = NULL;
	X509		*x = NULL;

	if (len - i < blen || memcmp(p + i, PEM_BEGIN, blen) != 0)
		return NULL;
	i += blen;
	if ((b64 = malloc(len)) == NULL || (der = malloc(len)) == NULL)
		goto out;
	/* Base64 lines, each ending in a newline, up to the END line. */
	for (;;) {
		if (len - i >= elen && memcmp(p + i, PEM_END, elen) == 0)
			break;
		for (line = i; i < len && p[i] != '\n'; i++)
			;
		if (i == len || i == line)
			goto out;
		memcpy(b64 + body, p + line, i - line);
		body += i - line;
		i++;
	}
	i += elen;
	if (i < len && p[i] == '\n')
		i++;
	else if (!last)
		goto out;
	if (b64_strict(b64, body, der, &derlen) == -1)
		goto out;
	if ((x = der_cert(der, derlen)) != NULL)
		*off = i;
out:
	free(b64);
	free(der);
	return x;
}

int
att_pem_certs(const uint8_t *p, size_t len, X509 **out, size_t n, int nul_ok)
{
	size_t	i, off = 0;

	for (i = 0; i < n; i++)
		out[i] = NULL;
	for (i = 0; i < n; i++)
		if ((out[i] = pem_block(p, len, &off, i + 1 == n)) == NULL)
			goto bad;
	if (off == len || (nul_ok && off + 1 == len && p[off] == '\0'))
		return 0;
bad:
	for (i = 0; i < n; i++) {
		X509_free(out[i]);
		out[i] = NULL;
	}
	return -1;
}

/* --- certificate rules ------------------------------------------------- */

/* Go's pkix.Name.CommonName: the last CN attribute. */
static int
common_name(const X509_NAME *name, char *out, size_t outlen)
{
	const ASN1_STRING	*s;
	int			 i = -1, last = -1;

	while ((i = X509_NAME_get_index_by_NID(name, NID_commonName, i)) >= 0)
		last = i;
	if (last < 0)
		return -1;
	s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, last));
	if ((size_t)ASN1_STRING_length(s) >= outlen ||
	    memchr(ASN1_STRING_get0_data(s), '\0',
	    (size_t)ASN1_STRING_length(s)) != NULL)
		return -1;
	memcpy(out, ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s));
	out[ASN1_STRING_length(s)] = '\0';
	return 0;
}

static int
is_p256_key(X509 *x)
{
	EVP_PKEY	*pk = X509_get0_pubkey(x);
	char		 name[32];
	size_t		 n = 0;

	return pk != NULL && EVP_PKEY_is_a(pk, "EC") &&
	    EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME,
	    name, sizeof(name), &n) == 1 && strcmp(name, "prime256v1") == 0;
}

enum attest_reason
att_intel_cert_shape(X509 *x, X509 *parent, const char *cn, char *err,
    size_t errlen)
{
	char	got[80];

	if (X509_get_version(x) != X509_VERSION_3)
		return att_err(err, errlen, ATT_ERR_PCK, "%s: not an X.509 v3 "
		    "certificate", cn);
	if (X509_get_signature_nid(x) != NID_ecdsa_with_SHA256)
		return att_err(err, errlen, ATT_ERR_PCK, "%s: signature "
		    "algorithm is not ECDSA with SHA-256", cn);
	if (!is_p256_key(x))
		return att_err(err, errlen, ATT_ERR_PCK, "%s: public key is "
		    "not ECDSA P-256", cn);
	if (common_name(X509_get_subject_name(x), got, sizeof(got)) == -1 ||
	    strcmp(got, cn) != 0)
		return att_err(err, errlen, ATT_ERR_PCK, "subject CN \"%.60s\" "
		    "is not \"%s\"", got, cn);
	if (X509_NAME_cmp(X509_get_issuer_name(x),
	    X509_get_subject_name(parent)) != 0)
		return att_err(err, errlen, ATT_ERR_PCK, "%s: issuer name is "
		    "not its parent's subject", cn);
	return ATT_OK;
}

enum attest_reason
att_intel_cert_check(X509 *x, X509 *parent, const char *cn, char *err,
    size_t errlen)
{
	enum attest_reason	rv;

	if ((rv = att_intel_cert_shape(x, parent, cn, err, errlen)) != ATT_OK)
		return rv;
	if (X509_verify(x, X509_get0_pubkey(parent)) != 1)
		return att_err(err, errlen, ATT_ERR_PCK, "%s: signature does "
		    "not verify with its parent's key", cn);
	return ATT_OK;
}

/*
 * x509.Verify with root as the only trust anchor and the intermediate
 * (may be NULL) as the only other certificate, at now.
 */
enum attest_reason
att_intel_chain(X509 *leaf, X509 *intermediate, X509 *root, time_t now,
    char *err, size_t errlen)
{
	int	why = 0;

	switch (att_x509_verify(leaf, intermediate, root, now, &why)) {
	case 1:
		return ATT_OK;
	case 0:
		return att_err(err, errlen, att_x509_expired(why) ?
		    ATT_ERR_CERT_EXPIRED : ATT_ERR_PCK, "chain to the Intel "
		    "SGX root: %s", X509_verify_cert_error_string(why));
	default:
		return att_err(err, errlen, ATT_ERR_INTERNAL, "X509_STORE");
	}
}

/* --- CRLs ---------------------------------------------------------------- */

X509_CRL *
att_der_crl(const uint8_t *der, size_t len)
{
	const unsigned char	*q = der;
	unsigned char		*re = NULL;
	X509_CRL		*crl;
	int			 n;

	if (der == NULL || len == 0 || len > 16 << 20 ||
	    (crl = d2i_X509_CRL(NULL, &q, (long)len)) == NULL)
		return NULL;
	if (q != der + len || (n = i2d_X509_CRL(crl, &re)) < 0 ||
	    (size_t)n != len || memcmp(re, der, len) != 0) {
		OPENSSL_free(re);
		X509_CRL_free(crl);
		return NULL;
	}
	OPENSSL_free(re);
	return crl;
}

enum attest_reason
att_intel_crl_check(X509_CRL *crl, X509 *issuer, char *err, size_t errlen)
{
	if (X509_NAME_cmp(X509_CRL_get_issuer(crl),
	    X509_get_subject_name(issuer)) != 0)
		return att_err(err, errlen, ATT_ERR_CRL, "CRL issuer is not "
		    "the expected certificate");
	if (X509_CRL_get_signature_nid(crl) != NID_ecdsa_with_SHA256 ||
	    X509_CRL_verify(crl, X509_get0_pubkey(issuer)) != 1)
		return att_err(err, errlen, ATT_ERR_CRL, "CRL signature does "
		    "not verify");
	return ATT_OK;
}

/* Is x's serial number on the CRL? */
int
att_crl_lists(X509_CRL *crl, X509 *x)
{
	STACK_OF(X509_REVOKED)	*rev = X509_CRL_get_REVOKED(crl);
	const ASN1_INTEGER	*serial = X509_get0_serialNumber(x);
	int			 i;

	for (i = 0; i < sk_X509_REVOKED_num(rev); i++)
		if (ASN1_INTEGER_cmp(X509_REVOKED_get0_serialNumber(
		    sk_X509_REVOKED_value(rev, i)), serial) == 0)
			return 1;
	return 0;
}

/* --- ECDSA P-256 ---------------------------------------------------------- */

static int
verify_with(EVP_PKEY *pk, const uint8_t *msg, size_t len,
    const uint8_t sig[64])
{
	ECDSA_SIG	*s;
	BIGNUM		*r, *sv;
	EVP_MD_CTX	*md = NULL;
	unsigned char	*der = NULL;
	int		 n, ok = 0;

	if ((s = ECDSA_SIG_new()) == NULL)
		return 0;
	r = BN_bin2bn(sig, 32, NULL);
	sv = BN_bin2bn(sig + 32, 32, NULL);
	if (r == NULL || sv == NULL || ECDSA_SIG_set0(s, r, sv) != 1) {
		BN_free(r);
		BN_free(sv);
		ECDSA_SIG_free(s);
		return 0;
	}
	if ((n = i2d_ECDSA_SIG(s, &der)) > 0 &&
	    (md = EVP_MD_CTX_new()) != NULL &&
	    EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk) == 1 &&
	    EVP_DigestVerify(md, der, (size_t)n, msg, len) == 1)
		ok = 1;
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	ECDSA_SIG_free(s);
	return ok;
}

int
att_p256_verify_raw(const uint8_t pub[64], const uint8_t *msg, size_t len,
    const uint8_t sig[64])
{
	OSSL_PARAM_BLD	*bld;
	OSSL_PARAM	*params = NULL;
	EVP_PKEY_CTX	*pctx = NULL;
	EVP_PKEY	*pk = NULL;
	uint8_t		 point[65];
	int		 ok = 0;

	point[0] = 0x04;
	memcpy(point + 1, pub, 64);
	if ((bld = OSSL_PARAM_BLD_new()) == NULL)
		return 0;
	if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    "prime256v1", 0) == 1 &&
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
	    point, sizeof(point)) == 1 &&
	    (params = OSSL_PARAM_BLD_to_param(bld)) != NULL &&
	    (pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) != NULL &&
	    EVP_PKEY_fromdata_init(pctx) == 1 &&
	    EVP_PKEY_fromdata(pctx, &pk, EVP_PKEY_PUBLIC_KEY, params) == 1)
		ok = verify_with(pk, msg, len, sig);
	EVP_PKEY_free(pk);
	EVP_PKEY_CTX_free(pctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return ok;
}

int
att_p256_verify_cert(X509 *x, const uint8_t *msg, size_t len,
    const uint8_t sig[64])
{
	EVP_PKEY	*pk = X509_get0_pubkey(x);

	return pk != NULL && is_p256_key(x) && verify_with(pk, msg, len, sig);
}

/* --- the SGX extension ----------------------------------------------------- */

/*
 * A small DER reader: the extension is parsed by hand so that every
 * byte is accounted for (Go's encoding/asn1 refuses trailing data at
 * each level, and so do we).
 */
struct der {
	const uint8_t	*p;
	size_t		 len;
};

/* One TLV: tag (low-tag-number form only), definite minimal length. */
static int
der_next(struct der *d, int *tag, struct der *val, struct der *whole)
{
	size_t	n, i, hl;

	if (d->len < 2 || (d->p[0] & 0x1f) == 0x1f)
		return -1;
	*tag = d->p[0];
	if (d->p[1] < 0x80) {
		n = d->p[1];
		hl = 2;
	} else {
		i = d->p[1] & 0x7f;
		if (i == 0 || i > 3 || d->len < 2 + i || d->p[2] == 0)
			return -1;
		for (n = 0, hl = 2; hl < 2 + i; hl++)
			n = n << 8 | d->p[hl];
		if (n < 0x80)
			return -1;
	}
	if (d->len - hl < n)
		return -1;
	val->p = d->p + hl;
	val->len = n;
	if (whole != NULL) {
		whole->p = d->p;
		whole->len = hl + n;
	}
	d->p += hl + n;
	d->len -= hl + n;
	return 0;
}

/* The whole of d is one element with the given tag. */
static int
der_only(struct der d, int want, struct der *val)
{
	int	tag;

	return der_next(&d, &tag, val, NULL) == 0 && tag == want &&
	    d.len == 0 ? 0 : -1;
}

/* Contents of an OBJECT IDENTIFIER 1.2.840.113741.1.13.1[.a[.b]]. */
static const uint8_t SGX_OID[] = {
	0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01
};

/* The arcs after the SGX prefix (one or two, each < 128), or -1. */
static int
sgx_arcs(struct der oid, int *a, int *b)
{
	if (oid.len < sizeof(SGX_OID) + 1 ||
	    memcmp(oid.p, SGX_OID, sizeof(SGX_OID)) != 0)
		return -1;
	oid.p += sizeof(SGX_OID);
	oid.len -= sizeof(SGX_OID);
	if (oid.p[0] >= 0x80 || (oid.len == 2 && oid.p[1] >= 0x80) ||
	    oid.len > 2)
		return -1;
	*a = oid.p[0];
	*b = oid.len == 2 ? oid.p[1] : -1;
	return 0;
}

/* A non-negative DER INTEGER that fits max. */
static int
der_uint(struct der v, unsigned long max, unsigned long *out)
{
	unsigned long	x = 0;
	size_t		i;

	if (v.len == 0 || v.len > 4 || (v.p[0] & 0x80) ||
	    (v.len > 1 && v.p[0] == 0 && !(v.p[1] & 0x80)))
		return -1;
	for (i = 0; i < v.len; i++)
		x = x << 8 | v.p[i];
	if (x > max)
		return -1;
	*out = x;
	return 0;
}

/* SEQUENCE { OID, value } -> the OID's arcs and the value TLV. */
static int
attr(struct der seq, int *a, int *b, int *vtag, struct der *val)
{
	struct der	oid;
	int		tag;

	if (der_next(&seq, &tag, &oid, NULL) == -1 || tag != 0x06 ||
	    sgx_arcs(oid, a, b) == -1 ||
	    der_next(&seq, vtag, val, NULL) == -1 || seq.len != 0)
		return -1;
	return 0;
}

/* An OCTET STRING of exactly n bytes (the only form Intel issues). */
static int
octets(int tag, struct der v, uint8_t *out, size_t n)
{
	if (tag != 0x04 || v.len != n)
		return -1;
	memcpy(out, v.p, n);
	return 0;
}

static int
parse_tcb(struct der v, struct att_pck_ext *e)
{
	struct der	item, val;
	unsigned long	x;
	int		tag, a, b, vtag, n = 0;

	while (v.len > 0) {
		if (der_next(&v, &tag, &item, NULL) == -1 || tag != 0x30 ||
		    attr(item, &a, &b, &vtag, &val) == -1 || a != 2 || b < 1)
			return -1;
		n++;
		if (b <= 16) {
			if (vtag != 0x02 || der_uint(val, 255, &x) == -1)
				return -1;
			e->comp[b - 1] = (uint8_t)x;
		} else if (b == 17) {
			if (vtag != 0x02 || der_uint(val, 65535, &x) == -1)
				return -1;
			e->pcesvn = (uint16_t)x;
		} else if (b == 18) {
			if (octets(vtag, val, e->cpusvn, 16) == -1)
				return -1;
		}
		/* Other arcs: ignored, as Go does. */
	}
	/* Sixteen components, PCESVN and CPUSVN. */
	return n == 18 ? 0 : -1;
}

static int
parse_config(struct der v, struct att_pck_ext *e)
{
	struct der	item, val;
	int		tag, a, b, vtag;

	while (v.len > 0) {
		if (der_next(&v, &tag, &item, NULL) == -1 || tag != 0x30 ||
		    attr(item, &a, &b, &vtag, &val) == -1 || a != 7 ||
		    vtag != 0x01 || val.len != 1 ||
		    (val.p[0] != 0x00 && val.p[0] != 0xff))
			return -1;
		switch (b) {
		case 1:
			e->dynamic_platform = val.p[0] != 0;
			break;
		case 2:
			e->cached_keys = val.p[0] != 0;
			break;
		case 3:
			e->smt_enabled = val.p[0] != 0;
			break;
		default:
			return -1;	/* Go: unsupported configuration OID */
		}
	}
	return 0;
}

static int
sgx_entry(struct der item, struct att_pck_ext *e)
{
	struct der	val;
	unsigned long	x;
	int		a, b, vtag;

	if (attr(item, &a, &b, &vtag, &val) == -1 || b != -1)
		return -1;
	switch (a) {
	case 1:
		e->has_ppid = 1;
		return octets(vtag, val, e->ppid, 16);
	case 2:
		e->has_tcb = 1;
		return vtag == 0x30 ? parse_tcb(val, e) : -1;
	case 3:
		e->has_pceid = 1;
		return octets(vtag, val, e->pceid, 2);
	case 4:
		e->has_fmspc = 1;
		return octets(vtag, val, e->fmspc, 6);
	case 5:
		if (vtag != 0x0a || der_uint(val, 255, &x) == -1)
			return -1;
		e->has_sgx_type = 1;
		e->sgx_type = (long)x;
		return 0;
	case 6:
		e->has_piid = 1;
		return octets(vtag, val, e->piid, 16);
	case 7:
		e->has_config = 1;
		return vtag == 0x30 ? parse_config(val, e) : -1;
	default:
		return 0;	/* unknown entries are skipped, as in Go */
	}
}

enum attest_reason
att_pck_extensions(X509 *x, struct att_pck_ext *e, char *err, size_t errlen)
{
	const X509_EXTENSION	*ext = NULL;
	const ASN1_OCTET_STRING	*os;
	ASN1_OBJECT		*oid;
	struct der		 d, seq, item;
	int			 i, n, tag, count = 0;

	memset(e, 0, sizeof(*e));
	/* A PCK certificate has exactly six extensions. */
	if ((n = X509_get_ext_count(x)) != 6)
		return att_err(err, errlen, ATT_ERR_PCK, "PCK certificate has "
		    "%d extensions, not 6", n);
	if ((oid = OBJ_txt2obj("1.2.840.113741.1.13.1", 1)) == NULL)
		return att_err(err, errlen, ATT_ERR_INTERNAL, "OBJ_txt2obj");
	for (i = 0; i < n; i++)
		if (OBJ_cmp(X509_EXTENSION_get_object(X509_get_ext(x, i)),
		    oid) == 0) {
			ext = X509_get_ext(x, i);
			count++;
		}
	ASN1_OBJECT_free(oid);
	if (count != 1)
		return att_err(err, errlen, ATT_ERR_PCK, "PCK certificate has "
		    "%d SGX extensions", count);
	os = X509_EXTENSION_get_data((X509_EXTENSION *)(uintptr_t)ext);
	d.p = ASN1_STRING_get0_data(os);
	d.len = (size_t)ASN1_STRING_length(os);
	if (der_only(d, 0x30, &seq) == -1)
		return att_err(err, errlen, ATT_ERR_PCK, "SGX extension is "
		    "not a SEQUENCE");
	n = 0;
	while (seq.len > 0) {
		if (der_next(&seq, &tag, &item, NULL) == -1 || tag != 0x30 ||
		    sgx_entry(item, e) == -1)
			return att_err(err, errlen, ATT_ERR_PCK, "SGX extension "
			    "entry %d is malformed", n);
		n++;
	}
	if (n < 4)
		return att_err(err, errlen, ATT_ERR_PCK, "SGX extension has "
		    "%d entries, fewer than 4", n);
	if (!e->has_tcb || !e->has_pceid || !e->has_fmspc)
		return att_err(err, errlen, ATT_ERR_PCK, "SGX extension lacks "
		    "the TCB, the PCEID or the FMSPC");
	return ATT_OK;
}
