/*
 * What makes a certificate a VCEK as AMD's KDS issues it (go-sev-guest
 * verify.validateKDSCertificateProductNonspecific and kds.Certificate-
 * Extensions): X.509 v3, RSASSA-PSS/SHA-384 from the ASK, an ECDSA P-384
 * key, AMD's subject, and exactly AMD's extensions.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "attest_int.h"

/*
 * A certificate, in one of Go's two ways.  Strict, trust.ParseCert: one
 * PEM CERTIFICATE block without headers and nothing after it, or DER.
 * Loose, pem.Decode + x509.ParseCertificate: the first PEM block of any
 * type, whatever follows it; no DER.  Either way the DER is exactly one
 * certificate.
 */
X509 *
att_cert_parse(const uint8_t *p, size_t len, int loose)
{
	const unsigned char	*q = p;
	BIO			*bio;
	X509			*x = NULL;
	char			*name = NULL, *header = NULL;
	unsigned char		*data = NULL;
	long			 dlen = 0;

	if (len == 0 || len > INT32_MAX)
		return NULL;
	if ((bio = BIO_new_mem_buf(p, (int)len)) == NULL)
		return NULL;
	if (PEM_read_bio(bio, &name, &header, &data, &dlen) == 1) {
		q = data;
		if (loose || (strcmp(name, "CERTIFICATE") == 0 &&
		    header[0] == '\0' && BIO_ctrl_pending(bio) == 0))
			x = d2i_X509(NULL, &q, dlen);
		if (x != NULL && q != data + dlen) {
			X509_free(x);
			x = NULL;
		}
	} else if (!loose && (x = d2i_X509(NULL, &q, (long)len)) != NULL &&
	    q != p + len) {
		X509_free(x);
		x = NULL;
	}
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(data);
	BIO_free(bio);
	return x;
}

/* A digest AlgorithmIdentifier with absent or NULL parameters. */
static int
alg_is_hash(const X509_ALGOR *a, int nid)
{
	const ASN1_OBJECT	*obj;
	const void		*pval;
	int			 ptype;

	if (a == NULL)
		return 0;
	X509_ALGOR_get0(&obj, &ptype, &pval, a);
	return OBJ_obj2nid(obj) == nid &&
	    (ptype == V_ASN1_UNDEF || ptype == V_ASN1_NULL);
}

/* MGF1 whose parameter is the SHA-384 AlgorithmIdentifier. */
static int
alg_is_mgf1_sha384(const X509_ALGOR *a)
{
	const ASN1_OBJECT	*obj;
	const ASN1_STRING	*seq;
	const unsigned char	*p;
	const void		*pval;
	X509_ALGOR		*h;
	int			 ptype, ok;

	if (a == NULL)
		return 0;
	X509_ALGOR_get0(&obj, &ptype, &pval, a);
	if (OBJ_obj2nid(obj) != NID_mgf1 || ptype != V_ASN1_SEQUENCE)
		return 0;
	seq = pval;
	p = ASN1_STRING_get0_data(seq);
	if ((h = d2i_X509_ALGOR(NULL, &p, ASN1_STRING_length(seq))) == NULL)
		return 0;
	ok = p == ASN1_STRING_get0_data(seq) + ASN1_STRING_length(seq) &&
	    alg_is_hash(h, NID_sha384);
	X509_ALGOR_free(h);
	return ok;
}

/*
 * Go only names a PSS certificate SHA384WithRSAPSS for SHA-384, MGF1
 * with SHA-384, a 48-byte salt and trailer 1; anything else is an
 * unknown algorithm and the VCEK is refused.
 */
int
att_alg_is_pss384(const X509_ALGOR *alg)
{
	const ASN1_OBJECT	*obj;
	const ASN1_STRING	*seq;
	const unsigned char	*p, *end;
	const void		*pval;
	RSA_PSS_PARAMS		*pss;
	int			 ptype, ok;

	X509_ALGOR_get0(&obj, &ptype, &pval, alg);
	if (OBJ_obj2nid(obj) != NID_rsassaPss || ptype != V_ASN1_SEQUENCE)
		return 0;
	seq = pval;
	p = ASN1_STRING_get0_data(seq);
	end = p + ASN1_STRING_length(seq);
	if ((pss = d2i_RSA_PSS_PARAMS(NULL, &p, end - p)) == NULL)
		return 0;
	ok = p == end && alg_is_hash(pss->hashAlgorithm, NID_sha384) &&
	    alg_is_mgf1_sha384(pss->maskGenAlgorithm) &&
	    pss->saltLength != NULL &&
	    ASN1_INTEGER_get(pss->saltLength) == 48 &&
	    (pss->trailerField == NULL ||
	    ASN1_INTEGER_get(pss->trailerField) == 1);
	RSA_PSS_PARAMS_free(pss);
	return ok;
}

static int
str_eq(const ASN1_STRING *s, const char *want)
{
	size_t	n = strlen(want);

	return (size_t)ASN1_STRING_length(s) == n &&
	    memcmp(ASN1_STRING_get0_data(s), want, n) == 0;
}

/*
 * AMD's location fields must each appear exactly once with AMD's value
 * (verify.validateAmdLocation); the common name is the last CN, as in
 * Go's pkix.Name.
 */
int
att_name_check(const X509_NAME *name, const char *cn, char *err,
    size_t errlen)
{
	static const struct {
		int		 nid;
		const char	*value;
	} loc[] = {
		{ NID_countryName, "US" },
		{ NID_localityName, "Santa Clara" },
		{ NID_stateOrProvinceName, "CA" },
		{ NID_organizationName, "Advanced Micro Devices" },
		{ NID_organizationalUnitName, "Engineering" },
	};
	const X509_NAME_ENTRY	*e;
	const ASN1_STRING	*last_cn = NULL;
	int			 count[5] = { 0 }, ok[5] = { 0 };
	int			 i, j, nid;

	for (i = 0; i < X509_NAME_entry_count(name); i++) {
		e = X509_NAME_get_entry(name, i);
		nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
		if (nid == NID_commonName)
			last_cn = X509_NAME_ENTRY_get_data(e);
		for (j = 0; j < 5; j++) {
			if (nid != loc[j].nid)
				continue;
			count[j]++;
			ok[j] = str_eq(X509_NAME_ENTRY_get_data(e),
			    loc[j].value);
		}
	}
	for (j = 0; j < 5; j++)
		if (count[j] != 1 || !ok[j]) {
			att_err(err, errlen, ATT_ERR_VCEK, "%s is not \"%s\" "
			    "exactly once", OBJ_nid2sn(loc[j].nid),
			    loc[j].value);
			return -1;
		}
	if (last_cn == NULL || !str_eq(last_cn, cn)) {
		att_err(err, errlen, ATT_ERR_VCEK, "CN is not \"%s\"", cn);
		return -1;
	}
	return 0;
}

/* DER length; minimal encoding, at most 2 length bytes. */
static int
der_len(const uint8_t **pp, const uint8_t *end, size_t *len)
{
	const uint8_t	*p = *pp;

	if (p >= end)
		return -1;
	if (*p < 0x80)
		*len = *p++;
	else if (*p == 0x81 && end - p >= 2 && p[1] >= 0x80) {
		*len = p[1];
		p += 2;
	} else if (*p == 0x82 && end - p >= 3 && p[1] != 0) {
		*len = (size_t)p[1] << 8 | p[2];
		p += 3;
	} else
		return -1;
	if ((size_t)(end - p) < *len)
		return -1;
	*pp = p;
	return 0;
}

/* The whole value is one TLV with this tag; returns its contents. */
static int
der_only(const uint8_t *p, size_t n, uint8_t tag, const uint8_t **c,
    size_t *clen)
{
	const uint8_t	*end = p + n;

	if (n < 2 || *p++ != tag || der_len(&p, end, clen) == -1 ||
	    p + *clen != end)
		return -1;
	*c = p;
	return 0;
}

/* kds asn1U8: a minimally encoded INTEGER in 0..255. */
static int
der_u8(const uint8_t *p, size_t n, uint8_t *out)
{
	const uint8_t	*c;
	size_t		 len;

	if (der_only(p, n, 0x02, &c, &len) == -1 || len == 0)
		return -1;
	if (len > 1 && c[0] == 0x00 && (c[1] & 0x80) == 0)
		return -1;		/* not minimal */
	if (c[0] & 0x80)
		return -1;		/* negative */
	if (len == 1) {
		*out = c[0];
		return 0;
	}
	if (len == 2 && c[0] == 0x00) {
		*out = c[1];
		return 0;
	}
	return -1;
}

static int
der_ia5(const uint8_t *p, size_t n, char *out, size_t outsize)
{
	const uint8_t	*c;
	size_t		 len, i;

	if (der_only(p, n, 0x16, &c, &len) == -1 || len >= outsize)
		return -1;
	for (i = 0; i < len; i++)
		if (c[i] >= 0x80)
			return -1;
	memcpy(out, c, len);
	out[len] = '\0';
	return 0;
}

/* KDS stores the hwID as 64 raw bytes; a DER OCTET STRING also works. */
static int
der_hwid(const uint8_t *p, size_t n, uint8_t out[64])
{
	const uint8_t	*c;
	size_t		 len;

	if (n == 64) {
		memcpy(out, p, 64);
		return 0;
	}
	if (der_only(p, n, 0x04, &c, &len) == -1 || len != 64)
		return -1;
	memcpy(out, c, 64);
	return 0;
}

enum {
	X_STRUCT, X_PRODUCT, X_BL, X_TEE, X_SNP, X_SPL4, X_SPL5, X_SPL6,
	X_SPL7, X_UCODE, X_HWID, X_CSPID, X_MAX
};

/* Index of an AMD KDS OID (1.3.6.1.4.1.3704.1.*), -1 if not one. */
static int
kds_oid(const ASN1_OBJECT *obj)
{
	static const uint8_t prefix[] = {
		0x2b, 0x06, 0x01, 0x04, 0x01, 0x9c, 0x78, 0x01
	};
	const uint8_t	*d = OBJ_get0_data(obj);
	size_t		 n = OBJ_length(obj);

	if (d == NULL || n <= sizeof(prefix) ||
	    memcmp(d, prefix, sizeof(prefix)) != 0)
		return -1;
	d += sizeof(prefix);
	n -= sizeof(prefix);
	if (n == 1 && d[0] == 1)
		return X_STRUCT;
	if (n == 1 && d[0] == 2)
		return X_PRODUCT;
	if (n == 1 && d[0] == 4)
		return X_HWID;
	if (n == 1 && d[0] == 5)
		return X_CSPID;
	if (n == 2 && d[0] == 3 && d[1] >= 1 && d[1] <= 8)
		return X_BL + d[1] - 1;
	return -1;
}

static int
is_aki(const ASN1_OBJECT *obj)
{
	return OBJ_obj2nid(obj) == NID_authority_key_identifier;
}

/* Map every extension (kdsOidMap): AKI skipped, all others AMD's. */
static enum attest_reason
ext_map(X509 *x, const ASN1_OCTET_STRING *val[X_MAX], char *err,
    size_t errlen)
{
	X509_EXTENSION	*ext;
	char		 oid[80];
	int		 i, k;

	memset(val, 0, sizeof(*val) * X_MAX);
	for (i = 0; i < X509_get_ext_count(x); i++) {
		ext = X509_get_ext(x, i);
		if (is_aki(X509_EXTENSION_get_object(ext)))
			continue;
		if ((k = kds_oid(X509_EXTENSION_get_object(ext))) == -1) {
			OBJ_obj2txt(oid, sizeof(oid),
			    X509_EXTENSION_get_object(ext), 1);
			return att_err(err, errlen, ATT_ERR_VCEK,
			    "not an AMD KDS extension: %s", oid);
		}
		if (val[k] != NULL)
			return att_err(err, errlen, ATT_ERR_VCEK,
			    "duplicate AMD KDS extension");
		val[k] = X509_EXTENSION_get_data(ext);
	}
	return ATT_OK;
}

#define EXT(v)	ASN1_STRING_get0_data(v), (size_t)ASN1_STRING_length(v)

enum attest_reason
att_vcek_extensions(X509 *x, struct att_vcek_ext *out, char *err,
    size_t errlen)
{
	static const char *names[] = { "structVersion", "productName",
	    "blSPL", "teeSPL", "snpSPL", "spl4", "spl5", "spl6", "spl7",
	    "ucodeSPL" };
	const ASN1_OCTET_STRING	*val[X_MAX];
	uint8_t			 spl[8];
	enum attest_reason	 rv;
	int			 i;

	memset(out, 0, sizeof(*out));
	if ((rv = ext_map(x, val, err, errlen)) != ATT_OK)
		return rv;
	for (i = X_STRUCT; i <= X_UCODE; i++)
		if (val[i] == NULL)
			return att_err(err, errlen, ATT_ERR_VCEK,
			    "no %s extension", names[i]);
	if (der_u8(EXT(val[X_STRUCT]), &out->struct_version) == -1)
		return att_err(err, errlen, ATT_ERR_VCEK,
		    "structVersion is not a uint8 INTEGER");
	if (der_ia5(EXT(val[X_PRODUCT]), out->product_name,
	    sizeof(out->product_name)) == -1)
		return att_err(err, errlen, ATT_ERR_VCEK,
		    "productName is not an IA5String");
	/* A VLEK's CSP_ID has no place in a VCEK, nor without a hwID. */
	if (val[X_CSPID] != NULL)
		return att_err(err, errlen, ATT_ERR_VCEK,
		    "unexpected CSP_ID extension in a VCEK");
	if (val[X_HWID] == NULL)
		return att_err(err, errlen, ATT_ERR_VCEK,
		    "missing HWID extension for VCEK certificate");
	if (der_hwid(EXT(val[X_HWID]), out->hwid) == -1)
		return att_err(err, errlen, ATT_ERR_VCEK,
		    "HWID is not 64 bytes");
	for (i = X_BL; i <= X_UCODE; i++) {
		if (der_u8(EXT(val[i]), &spl[i - X_BL]) == -1)
			return att_err(err, errlen, ATT_ERR_VCEK,
			    "%s is not a uint8 INTEGER", names[i]);
		/* Only the microcode SPL may use the full byte. */
		if (i != X_UCODE && spl[i - X_BL] > 127)
			return att_err(err, errlen, ATT_ERR_VCEK,
			    "%s is %u, expect 0-127", names[i],
			    spl[i - X_BL]);
	}
	/* spl[] is in OID order: bl, tee, snp, spl4..7, ucode. */
	out->tcb = (uint64_t)spl[0] | (uint64_t)spl[1] << 8 |
	    (uint64_t)spl[3] << 16 | (uint64_t)spl[4] << 24 |
	    (uint64_t)spl[5] << 32 | (uint64_t)spl[6] << 40 |
	    (uint64_t)spl[2] << 48 | (uint64_t)spl[7] << 56;
	return ATT_OK;
}

static int
is_p384(X509 *x)
{
	EVP_PKEY	*pk = X509_get0_pubkey(x);
	char		 group[32];
	size_t		 glen = 0;

	if (pk == NULL || EVP_PKEY_get_base_id(pk) != EVP_PKEY_EC)
		return 0;
	if (EVP_PKEY_get_group_name(pk, group, sizeof(group), &glen) != 1)
		return 0;
	return strcmp(group, "secp384r1") == 0;
}

enum attest_reason
att_vcek_check(X509 *x, struct att_vcek_ext *ext, char *err, size_t errlen)
{
	const X509_ALGOR	*outer, *inner;

	if (X509_get_version(x) != X509_VERSION_3)
		return att_err(err, errlen, ATT_ERR_VCEK,
		    "VCEK is not an X.509 v3 certificate");
	X509_get0_signature(NULL, &outer, x);
	inner = X509_get0_tbs_sigalg(x);
	if (X509_ALGOR_cmp(outer, inner) != 0 || !att_alg_is_pss384(outer))
		return att_err(err, errlen, ATT_ERR_VCEK,
		    "VCEK signature algorithm is not RSASSA-PSS with SHA-384");
	if (!is_p384(x))
		return att_err(err, errlen, ATT_ERR_VCEK,
		    "VCEK public key is not ECDSA P-384");
	if (att_name_check(X509_get_subject_name(x), "SEV-VCEK", err,
	    errlen) == -1)
		return ATT_ERR_VCEK;
	return att_vcek_extensions(x, ext, err, errlen);
}
