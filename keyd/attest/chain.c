/*
 * Trust anchors (AMD's ARK and ASK per product line), the VCEK chain,
 * the product CRL and the report signature.  Only the injected anchors
 * are trusted: the ASK and ARK a document carries are never used, as
 * Contrast sets verify.Options.TrustedRoots.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "attest_int.h"
#include "p384.h"

/*
 * SHA-256 over the DER of the KDS cert_chain certificates, as published
 * at https://kdsintf.amd.com/vcek/v1/{Milan,Genoa,Turin}/cert_chain.
 * The copies the package installs (data/amd/) are checked against these
 * at build time (tests/unit/test_amdchain).
 */
const char *const attest_amd_fingerprint[ATT_PRODUCT_MAX][2] = {
	[ATT_PRODUCT_MILAN] = {
		"67D303BD3905FD38DB8B20E079369987"
		    "0E7FA612EAAD5DEC358293FD8C0BAC1B",
		"69D063B45344D26A2E94E1F4210DE49E"
		    "F555308287D4C174445C95639A540BCD",
	},
	[ATT_PRODUCT_GENOA] = {
		"5464738C1546AED5F2CECF1DC98C5C96"
		    "0A92E8913238A61711BC90EC6E828521",
		"4C6598D19C18719C5DFD4A7D335F674E"
		    "5BFE1D8F800CEA2CF270C10D103DB2F1",
	},
	[ATT_PRODUCT_TURIN] = {
		"5B77EF5FE7A7A004FD9032668FBA9D0F"
		    "DA22F88C4442069A479636A6AE3B3185",
		"1F084161A44BB6D93778A904877D4819"
		    "CAFA5D05EF4193B2DED9DD9C73DD3F6A",
	},
};

void
attest_trust_init(struct attest_trust *t)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->kds_base, sizeof(t->kds_base), "%s", ATT_KDS_BASE);
	att_trust_intel_default(t);
}

static void
anchor_clear(struct attest_anchor *a)
{
	X509_free(a->ask);
	X509_free(a->ark);
	memset(a, 0, sizeof(*a));
}

void
attest_trust_free(struct attest_trust *t)
{
	int	i;

	for (i = 0; i < ATT_PRODUCT_MAX; i++)
		anchor_clear(&t->anchor[i]);
	X509_free(t->intel_root);
	t->intel_root = NULL;
}

int
attest_trust_set_kds_base(struct attest_trust *t, const char *base)
{
	size_t	n = strlen(base);

	while (n > 0 && base[n - 1] == '/')
		n--;
	if (n == 0 || n >= sizeof(t->kds_base))
		return -1;
	memcpy(t->kds_base, base, n);
	t->kds_base[n] = '\0';
	return 0;
}

int
attest_trust_is_test_only(const struct attest_trust *t)
{
	int	i;

	for (i = 0; i < ATT_PRODUCT_MAX; i++)
		if (t->anchor[i].ark != NULL && t->anchor[i].test_only)
			return 1;
	return t->intel_root != NULL && t->intel_test_only;
}

/* One PEM CERTIFICATE block without headers, from the BIO. */
static X509 *
pem_cert(BIO *bio)
{
	char		*name = NULL, *header = NULL;
	unsigned char	*data = NULL;
	const unsigned char *q;
	long		 len = 0;
	X509		*x = NULL;

	if (PEM_read_bio(bio, &name, &header, &data, &len) != 1)
		return NULL;
	q = data;
	if (strcmp(name, "CERTIFICATE") == 0 && header[0] == '\0' &&
	    (x = d2i_X509(NULL, &q, len)) != NULL && q != data + len) {
		X509_free(x);
		x = NULL;
	}
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(data);
	return x;
}

static int
only_space_left(BIO *bio)
{
	char	c;

	while (BIO_read(bio, &c, 1) == 1)
		if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
			return 0;
	return 1;
}

void
att_fingerprint(X509 *x, char out[65])
{
	static const char digits[] = "0123456789ABCDEF";
	unsigned char	md[EVP_MAX_MD_SIZE];
	unsigned int	n = 0, i;

	X509_digest(x, EVP_sha256(), md, &n);
	for (i = 0; i < n && i < 32; i++) {
		out[2 * i] = digits[md[i] >> 4];
		out[2 * i + 1] = digits[md[i] & 0xf];
	}
	out[2 * i] = '\0';
}

/* The pair must be AMD's shape: self-signed ARK that signed the ASK. */
static enum attest_reason
anchor_sane(X509 *ask, X509 *ark, enum attest_product line, char *err,
    size_t errlen)
{
	char	cn[32];

	snprintf(cn, sizeof(cn), "ARK-%s", attest_product_name(line));
	if (att_name_check(X509_get_subject_name(ark), cn, err, errlen) == -1)
		return ATT_ERR_ANCHOR;
	snprintf(cn, sizeof(cn), "SEV-%s", attest_product_name(line));
	if (att_name_check(X509_get_subject_name(ask), cn, err, errlen) == -1)
		return ATT_ERR_ANCHOR;
	if (X509_verify(ark, X509_get0_pubkey(ark)) != 1)
		return att_err(err, errlen, ATT_ERR_ANCHOR,
		    "ARK is not self-signed");
	if (X509_verify(ask, X509_get0_pubkey(ark)) != 1)
		return att_err(err, errlen, ATT_ERR_ANCHOR,
		    "ASK is not signed by the ARK");
	return ATT_OK;
}

enum attest_reason
attest_trust_load_pem(struct attest_trust *t, enum attest_product line,
    const char *pem, size_t len, int test_only, char *err, size_t errlen)
{
	BIO			*bio;
	X509			*ask = NULL, *ark = NULL;
	char			 fp[65];
	enum attest_reason	 rv = ATT_OK;
	int			 mark;

	if (line != ATT_PRODUCT_MILAN && line != ATT_PRODUCT_GENOA &&
	    line != ATT_PRODUCT_TURIN)
		return att_err(err, errlen, ATT_ERR_ANCHOR,
		    "product line must be Milan, Genoa or Turin");
	if (len == 0 || len > INT32_MAX)
		return att_err(err, errlen, ATT_ERR_ANCHOR, "empty PEM");
	mark = ERR_set_mark();
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		rv = att_err(err, errlen, ATT_ERR_INTERNAL, "out of memory");
		goto out;
	}
	/* KDS cert_chain: the ASK first, then the ARK. */
	if ((ask = pem_cert(bio)) == NULL || (ark = pem_cert(bio)) == NULL ||
	    !only_space_left(bio)) {
		rv = att_err(err, errlen, ATT_ERR_ANCHOR,
		    "expected exactly two PEM certificates (ASK, ARK)");
		goto out;
	}
	if (!test_only) {
		att_fingerprint(ask, fp);
		if (strcmp(fp, attest_amd_fingerprint[line][ATT_FP_ASK]) != 0) {
			rv = att_err(err, errlen, ATT_ERR_ANCHOR, "ASK "
			    "SHA-256 fingerprint %s is not AMD's %s ASK", fp,
			    attest_product_name(line));
			goto out;
		}
		att_fingerprint(ark, fp);
		if (strcmp(fp, attest_amd_fingerprint[line][ATT_FP_ARK]) != 0) {
			rv = att_err(err, errlen, ATT_ERR_ANCHOR, "ARK "
			    "SHA-256 fingerprint %s is not AMD's %s ARK", fp,
			    attest_product_name(line));
			goto out;
		}
	}
	if ((rv = anchor_sane(ask, ark, line, err, errlen)) != ATT_OK)
		goto out;
	anchor_clear(&t->anchor[line]);
	t->anchor[line].ask = ask;
	t->anchor[line].ark = ark;
	t->anchor[line].test_only = test_only != 0;
	ask = ark = NULL;
out:
	X509_free(ask);
	X509_free(ark);
	BIO_free(bio);
	if (mark)
		ERR_pop_to_mark();
	return rv;
}

/*
 * Go's x509.Verify with root as the only trust anchor and intermediate
 * (may be NULL) as the only other certificate, at now.  1: the chain
 * verifies; 0: it does not, and *why is the X509_V_ERR_* reason; -1:
 * OpenSSL could not run the check.
 */
int
att_x509_verify(X509 *leaf, X509 *intermediate, X509 *root, time_t now,
    int *why)
{
	X509_STORE		*st = NULL;
	X509_STORE_CTX		*ctx = NULL;
	STACK_OF(X509)		*untrusted = NULL;
	int			 rv = -1;

	if ((st = X509_STORE_new()) == NULL ||
	    (ctx = X509_STORE_CTX_new()) == NULL ||
	    (untrusted = sk_X509_new_null()) == NULL ||
	    X509_STORE_add_cert(st, root) != 1 ||
	    (intermediate != NULL && sk_X509_push(untrusted,
	    intermediate) == 0) ||
	    X509_STORE_CTX_init(ctx, st, leaf, untrusted) != 1)
		goto out;
	X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), now);
	rv = X509_verify_cert(ctx) == 1;
	*why = X509_STORE_CTX_get_error(ctx);
out:
	X509_STORE_CTX_free(ctx);
	sk_X509_free(untrusted);
	X509_STORE_free(st);
	return rv;
}

/* A chain that failed att_x509_verify only for a time outside a validity. */
int
att_x509_expired(int why)
{
	return why == X509_V_ERR_CERT_HAS_EXPIRED ||
	    why == X509_V_ERR_CERT_NOT_YET_VALID;
}

/*
 * The VCEK must verify with the ARK as the only root and the ASK as the
 * only intermediate, at the injected time (Go x509.Verify).
 */
enum attest_reason
att_chain_verify(const struct attest_anchor *a, enum attest_product line,
    X509 *vcek, time_t now, char *err, size_t errlen)
{
	char	cn[32];
	int	why = 0;

	if (a->ask == NULL || a->ark == NULL)
		return att_err(err, errlen, ATT_ERR_TRUST,
		    "no trust anchors for %s", attest_product_name(line));
	snprintf(cn, sizeof(cn), "SEV-%s", attest_product_name(line));
	if (att_name_check(X509_get_issuer_name(vcek), cn, err, errlen) == -1)
		return ATT_ERR_CERT_CHAIN;
	switch (att_x509_verify(vcek, a->ask, a->ark, now, &why)) {
	case 1:
		return ATT_OK;
	case 0:
		return att_err(err, errlen, att_x509_expired(why) ?
		    ATT_ERR_CERT_EXPIRED : ATT_ERR_CERT_CHAIN, "VCEK chain: %s",
		    X509_verify_cert_error_string(why));
	default:
		return att_err(err, errlen, ATT_ERR_INTERNAL, "X509_STORE");
	}
}

X509_CRL *
att_crl_parse(const uint8_t *p, size_t len)
{
	const unsigned char	*q = p;
	X509_CRL		*crl;

	if (len == 0 || len > INT32_MAX)
		return NULL;
	if ((crl = d2i_X509_CRL(NULL, &q, (long)len)) != NULL &&
	    q != p + len) {
		X509_CRL_free(crl);
		crl = NULL;
	}
	return crl;
}

int
att_crl_fresh(const X509_CRL *crl, time_t now)
{
	const ASN1_TIME	*next = X509_CRL_get0_nextUpdate(crl);

	return next != NULL && ASN1_TIME_cmp_time_t(next, now) == 1;
}

/* GetCrlAndCheckRoot/verifyCRL: signed by the ARK, ASK not listed. */
enum attest_reason
att_crl_check(const struct attest_anchor *a, X509_CRL *crl, char *err,
    size_t errlen)
{
	X509_REVOKED	*rev = NULL;
	uint32_t	 ku;

	if (X509_check_ca(a->ark) == 0)
		return att_err(err, errlen, ATT_ERR_CRL,
		    "ARK may not sign CRLs");
	ku = X509_get_key_usage(a->ark);
	if (ku != UINT32_MAX && (ku & KU_CRL_SIGN) == 0)
		return att_err(err, errlen, ATT_ERR_CRL,
		    "ARK key usage lacks cRLSign");
	if (X509_CRL_verify(crl, X509_get0_pubkey(a->ark)) != 1)
		return att_err(err, errlen, ATT_ERR_CRL,
		    "CRL is not signed by the ARK");
	if (X509_CRL_get0_by_serial(crl, &rev,
	    X509_get0_serialNumber(a->ask)) != 0)
		return att_err(err, errlen, ATT_ERR_REVOKED,
		    "the ASK is revoked by the ARK's CRL");
	return ATT_OK;
}

/* AMD stores R and S as 72-byte little-endian integers. */
static int
amd_sig_der(const uint8_t *sig, unsigned char **der, int *derlen)
{
	ECDSA_SIG	*es;
	BIGNUM		*r, *s;

	r = BN_lebin2bn(sig, 72, NULL);
	s = BN_lebin2bn(sig + 72, 72, NULL);
	if (r == NULL || s == NULL || (es = ECDSA_SIG_new()) == NULL) {
		BN_free(r);
		BN_free(s);
		return -1;
	}
	ECDSA_SIG_set0(es, r, s);
	*der = NULL;
	*derlen = i2d_ECDSA_SIG(es, der);
	ECDSA_SIG_free(es);
	return *derlen > 0 ? 0 : -1;
}

/* The VCEK is a P-384 key: nettle's check (p384.h), -1 if it is not. */
static int
verify_fast(const uint8_t abi[ATT_REPORT_SIZE], EVP_PKEY *vcek)
{
	uint8_t		 digest[48];
	BIGNUM		*r, *s;
	int		 rv = -1;

	r = BN_lebin2bn(abi + ATT_SIGNED_SIZE, 72, NULL);
	s = BN_lebin2bn(abi + ATT_SIGNED_SIZE + 72, 72, NULL);
	if (r != NULL && s != NULL && EVP_Digest(abi, ATT_SIGNED_SIZE, digest,
	    NULL, EVP_sha384(), NULL) == 1)
		rv = p384_verify(vcek, digest, sizeof(digest), r, s);
	BN_free(r);
	BN_free(s);
	return rv;
}

enum attest_reason
att_report_verify_sig(const uint8_t abi[ATT_REPORT_SIZE], X509 *vcek,
    char *err, size_t errlen)
{
	EVP_MD_CTX	*md;
	unsigned char	*der = NULL;
	int		 derlen, ok;

	if ((ok = verify_fast(abi, X509_get0_pubkey(vcek))) == 1)
		return ATT_OK;
	if (ok == 0)
		return att_err(err, errlen, ATT_ERR_REPORT_SIGNATURE,
		    "report signature does not verify with the VCEK");
	if (amd_sig_der(abi + ATT_SIGNED_SIZE, &der, &derlen) == -1)
		return att_err(err, errlen, ATT_ERR_INTERNAL, "ECDSA_SIG");
	if ((md = EVP_MD_CTX_new()) == NULL) {
		OPENSSL_free(der);
		return att_err(err, errlen, ATT_ERR_INTERNAL, "EVP_MD_CTX");
	}
	ok = EVP_DigestVerifyInit(md, NULL, EVP_sha384(), NULL,
	    X509_get0_pubkey(vcek)) == 1 &&
	    EVP_DigestVerify(md, der, derlen, abi, ATT_SIGNED_SIZE) == 1;
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	if (!ok)
		return att_err(err, errlen, ATT_ERR_REPORT_SIGNATURE,
		    "report signature does not verify with the VCEK");
	return ATT_OK;
}
