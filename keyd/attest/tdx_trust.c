/*
 * Intel's SGX root CA and what else a TDX verification trusts or asks
 * for: the PCS URLs, the shape of a PCS answer in the collateral cache.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "attest_int.h"

/*
 * data/intel/sgx-root-ca.pem byte for byte (tests/attest checks it):
 * CN=Intel SGX Root CA, ECDSA P-256, valid 2018-05-21 to 2049-12-31.
 */
const char attest_intel_root_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIICjzCCAjSgAwIBAgIUImUM1lqdNInzg7SVUr9QGzknBqwwCgYIKoZIzj0EAwIw\n"
	"aDEaMBgGA1UEAwwRSW50ZWwgU0dYIFJvb3QgQ0ExGjAYBgNVBAoMEUludGVsIENv\n"
	"cnBvcmF0aW9uMRQwEgYDVQQHDAtTYW50YSBDbGFyYTELMAkGA1UECAwCQ0ExCzAJ\n"
	"BgNVBAYTAlVTMB4XDTE4MDUyMTEwNDUxMFoXDTQ5MTIzMTIzNTk1OVowaDEaMBgG\n"
	"A1UEAwwRSW50ZWwgU0dYIFJvb3QgQ0ExGjAYBgNVBAoMEUludGVsIENvcnBvcmF0\n"
	"aW9uMRQwEgYDVQQHDAtTYW50YSBDbGFyYTELMAkGA1UECAwCQ0ExCzAJBgNVBAYT\n"
	"AlVTMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEC6nEwMDIYZOj/iPWsCzaEKi7\n"
	"1OiOSLRFhWGjbnBVJfVnkY4u3IjkDYYL0MxO4mqsyYjlBalTVYxFP2sJBK5zlKOB\n"
	"uzCBuDAfBgNVHSMEGDAWgBQiZQzWWp00ifODtJVSv1AbOScGrDBSBgNVHR8ESzBJ\n"
	"MEegRaBDhkFodHRwczovL2NlcnRpZmljYXRlcy50cnVzdGVkc2VydmljZXMuaW50\n"
	"ZWwuY29tL0ludGVsU0dYUm9vdENBLmRlcjAdBgNVHQ4EFgQUImUM1lqdNInzg7SV\n"
	"Ur9QGzknBqwwDgYDVR0PAQH/BAQDAgEGMBIGA1UdEwEB/wQIMAYBAf8CAQEwCgYI\n"
	"KoZIzj0EAwIDSQAwRgIhAOW/5QkR+S9CiSDcNoowLuPRLsWGf/Yi7GSX94BgwTwg\n"
	"AiEA4J0lrHoMs+Xo5o/sX6O9QWxHRAvZUGOdRQ7cvqRXaqI=\n"
	"-----END CERTIFICATE-----";

/* SHA-256 of its DER (attestation spec 3.4). */
const char attest_intel_root_fingerprint[] =
    "44A0196B2B99F889B8E149E95B807A350E7424964399E885A7CBB8CCFAB674D3";

enum attest_reason
attest_trust_load_intel_root(struct attest_trust *t, const char *pem,
    size_t len, int test_only, char *err, size_t errlen)
{
	X509			*x;
	char			 fp[65], msg[160];
	enum attest_reason	 rv;
	int			 mark;

	mark = ERR_set_mark();
	if (pem == NULL || att_pem_certs((const uint8_t *)pem, len, &x, 1,
	    0) == -1) {
		rv = att_err(err, errlen, ATT_ERR_ANCHOR, "Intel SGX root: "
		    "expected exactly one PEM certificate");
		goto out;
	}
	att_fingerprint(x, fp);
	if (!test_only && strcmp(fp, attest_intel_root_fingerprint) != 0) {
		X509_free(x);
		rv = att_err(err, errlen, ATT_ERR_ANCHOR, "Intel SGX root: "
		    "SHA-256 fingerprint %s is not Intel's", fp);
		goto out;
	}
	if (att_intel_cert_check(x, x, ATT_INTEL_ROOT_CN, msg,
	    sizeof(msg)) != ATT_OK) {
		X509_free(x);
		rv = att_err(err, errlen, ATT_ERR_ANCHOR, "Intel SGX root: %s",
		    msg);
		goto out;
	}
	X509_free(t->intel_root);
	t->intel_root = x;
	t->intel_test_only = test_only != 0;
	rv = ATT_OK;
out:
	if (mark)
		ERR_pop_to_mark();
	return rv;
}

/* Intel's own root, compiled in; used by attest_trust_init(). */
void
att_trust_intel_default(struct attest_trust *t)
{
	snprintf(t->pcs_base, sizeof(t->pcs_base), "%s", ATT_PCS_BASE);
	snprintf(t->pcs_root_crl, sizeof(t->pcs_root_crl), "%s",
	    ATT_PCS_ROOT_CRL_URL);
	(void)attest_trust_load_intel_root(t, attest_intel_root_pem,
	    strlen(attest_intel_root_pem), 0, NULL, 0);
}

static int
set_url(char *dst, size_t dstlen, const char *url, int strip)
{
	size_t	n = strlen(url);

	while (strip && n > 0 && url[n - 1] == '/')
		n--;
	if (n == 0 || n >= dstlen || (strncmp(url, "https://", 8) != 0 &&
	    strncmp(url, "http://", 7) != 0))
		return -1;
	memcpy(dst, url, n);
	dst[n] = '\0';
	return 0;
}

int
attest_trust_set_pcs(struct attest_trust *t, const char *base,
    const char *root_crl)
{
	char	b[sizeof(t->pcs_base)], r[sizeof(t->pcs_root_crl)];

	memcpy(b, t->pcs_base, sizeof(b));
	memcpy(r, t->pcs_root_crl, sizeof(r));
	if ((base != NULL && set_url(b, sizeof(b), base, 1) == -1) ||
	    (root_crl != NULL && set_url(r, sizeof(r), root_crl, 0) == -1))
		return -1;
	memcpy(t->pcs_base, b, sizeof(b));
	memcpy(t->pcs_root_crl, r, sizeof(r));
	return 0;
}

const char *
attest_platform_name(enum attest_platform p)
{
	switch (p) {
	case ATT_PLATFORM_SNP:
		return "sev-snp";
	case ATT_PLATFORM_TDX:
		return "tdx";
	default:
		return "none";
	}
}

/* --- PCS answers ------------------------------------------------------- */

const char *
attest_pcs_kind_name(enum attest_pcs_kind k)
{
	switch (k) {
	case ATT_PCS_TCB_INFO:
		return "TCB info";
	case ATT_PCS_QE_IDENTITY:
		return "QE identity";
	case ATT_PCS_PCK_CRL:
		return "PCK CRL";
	case ATT_PCS_ROOT_CRL:
		return "root CA CRL";
	default:
		return "?";
	}
}

/* pcs.TcbInfoIssuerChainPhrase and friends. */
const char *
attest_pcs_issuer_header(enum attest_pcs_kind k)
{
	switch (k) {
	case ATT_PCS_TCB_INFO:
		return "TCB-Info-Issuer-Chain";
	case ATT_PCS_QE_IDENTITY:
		return "SGX-Enclave-Identity-Issuer-Chain";
	case ATT_PCS_PCK_CRL:
		return "SGX-PCK-CRL-Issuer-Chain";
	default:
		return NULL;
	}
}

/* "PMPCS1" u32 (big endian) chain length, the chain, the body. */
#define PACK_MAGIC	"PMPCS1"
#define PACK_HDR	(sizeof(PACK_MAGIC) - 1 + 4)

int
attest_pcs_pack(const struct attest_pcs_doc *d, uint8_t **out,
    size_t *outlen)
{
	uint8_t	*p;
	size_t	 n;

	*out = NULL;
	*outlen = 0;
	if (d->issuer_chain_len > UINT32_MAX ||
	    d->body_len > SIZE_MAX - PACK_HDR - d->issuer_chain_len)
		return -1;
	n = PACK_HDR + d->issuer_chain_len + d->body_len;
	if ((p = malloc(n)) == NULL)
		return -1;
	memcpy(p, PACK_MAGIC, PACK_HDR - 4);
	p[6] = (uint8_t)(d->issuer_chain_len >> 24);
	p[7] = (uint8_t)(d->issuer_chain_len >> 16);
	p[8] = (uint8_t)(d->issuer_chain_len >> 8);
	p[9] = (uint8_t)d->issuer_chain_len;
	if (d->issuer_chain_len > 0)
		memcpy(p + PACK_HDR, d->issuer_chain, d->issuer_chain_len);
	if (d->body_len > 0)
		memcpy(p + PACK_HDR + d->issuer_chain_len, d->body,
		    d->body_len);
	*out = p;
	*outlen = n;
	return 0;
}

int
attest_pcs_unpack(const uint8_t *p, size_t len, struct attest_pcs_doc *d)
{
	size_t	clen;

	memset(d, 0, sizeof(*d));
	if (p == NULL || len < PACK_HDR ||
	    memcmp(p, PACK_MAGIC, PACK_HDR - 4) != 0)
		return -1;
	clen = (size_t)p[6] << 24 | (size_t)p[7] << 16 | (size_t)p[8] << 8 |
	    p[9];
	if (len - PACK_HDR < clen)
		return -1;
	d->issuer_chain = clen > 0 ? (const char *)p + PACK_HDR : NULL;
	d->issuer_chain_len = clen;
	d->body = p + PACK_HDR + clen;
	d->body_len = len - PACK_HDR - clen;
	return 0;
}

int
attest_pcs_usable(enum attest_pcs_kind k, const struct attest_pcs_doc *d,
    time_t now)
{
	struct att_pcs_json	 c;
	X509_CRL		*crl;
	const ASN1_TIME		*next;
	int			 ok = 0, mark;

	if (d == NULL || d->body == NULL)
		return 0;
	mark = ERR_set_mark();
	switch (k) {
	case ATT_PCS_TCB_INFO:
	case ATT_PCS_QE_IDENTITY:
		if (att_pcs_json_parse(d->body, d->body_len,
		    k == ATT_PCS_TCB_INFO, &c, NULL, 0) == ATT_OK) {
			ok = now <= c.next_update;
			att_pcs_json_free(&c);
		}
		break;
	case ATT_PCS_PCK_CRL:
	case ATT_PCS_ROOT_CRL:
		if ((crl = att_der_crl(d->body, d->body_len)) != NULL) {
			next = X509_CRL_get0_nextUpdate(crl);
			ok = next != NULL && ASN1_TIME_cmp_time_t(next, now) >= 0;
			X509_CRL_free(crl);
		}
		break;
	default:
		break;
	}
	if (mark)
		ERR_pop_to_mark();
	return ok;
}
