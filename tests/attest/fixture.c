/*
 * Fixture builder: a fake AMD PKI and SNP evidence made with OpenSSL.
 * The report layout, the protobuf encoding and the REPORT_DATA formula
 * are written out again here from the spec rather than borrowed from
 * the verifier, so a mistake on one side shows up as a test failure.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "attest_int.h"
#include "fixture.h"

#define DAY	86400L
#define YEAR	(365 * DAY)

/* --- small growable string ------------------------------------------ */

struct sb {
	char	*p;
	size_t	 len, cap;
};

static void
sb_add(struct sb *s, const void *p, size_t n)
{
	if (s->len + n + 1 > s->cap) {
		while (s->len + n + 1 > s->cap)
			s->cap = s->cap ? s->cap * 2 : 256;
		if ((s->p = realloc(s->p, s->cap)) == NULL)
			abort();
	}
	memcpy(s->p + s->len, p, n);
	s->len += n;
	s->p[s->len] = '\0';
}

static void	sb_addf(struct sb *, const char *, ...)
		    __attribute__((__format__(printf, 2, 3)));

static void
sb_addf(struct sb *s, const char *fmt, ...)
{
	va_list	ap;
	char	*t;
	int	 n;

	va_start(ap, fmt);
	n = vasprintf(&t, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	sb_add(s, t, (size_t)n);
	free(t);
}

char *
fx_b64(const uint8_t *p, size_t n)
{
	char	*out;

	if ((out = malloc(4 * ((n + 2) / 3) + 1)) == NULL)
		abort();
	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
	return out;
}

void
fx_hex(const uint8_t *p, size_t n, char *out, int upper)
{
	const char	*d = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	size_t		 i;

	for (i = 0; i < n; i++) {
		out[2 * i] = d[p[i] >> 4];
		out[2 * i + 1] = d[p[i] & 0xf];
	}
	out[2 * n] = '\0';
}

static void
sha256(const void *p, size_t n, uint8_t out[32])
{
	EVP_Digest(p, n, out, NULL, EVP_sha256(), NULL);
}

/* --- keys ------------------------------------------------------------ */

static EVP_PKEY *
load_or_make_rsa(const char *dir, const char *name, unsigned bits)
{
	char		 path[1024], tmp[1100];
	EVP_PKEY	*k = NULL;
	FILE		*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "r")) != NULL) {
		k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
		if (k != NULL)
			return k;
	}
	fprintf(stderr, "fixture: generating RSA-%u %s (once)\n", bits, path);
	if ((k = EVP_RSA_gen(bits)) == NULL)
		return NULL;
	/* Write then rename, so a concurrent reader never sees half. */
	snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
	if ((f = fopen(tmp, "w")) != NULL) {
		PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
		fclose(f);
		if (rename(tmp, path) == -1)
			unlink(tmp);
	}
	return k;
}

static EVP_PKEY *
make_ec(const char *curve)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
}

/* --- certificates ---------------------------------------------------- */

static X509_NAME *
amd_name(const char *cn)
{
	X509_NAME	*n = X509_NAME_new();

	X509_NAME_add_entry_by_txt(n, "OU", MBSTRING_ASC,
	    (const unsigned char *)"Engineering", -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "C", MBSTRING_ASC,
	    (const unsigned char *)"US", -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "L", MBSTRING_ASC,
	    (const unsigned char *)"Santa Clara", -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "ST", MBSTRING_ASC,
	    (const unsigned char *)"CA", -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
	    (const unsigned char *)"Advanced Micro Devices", -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	return n;
}

static X509_NAME *
plain_name(const char *cn)
{
	X509_NAME	*n = X509_NAME_new();

	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	return n;
}

static int
sign_pss(X509 *x, X509_CRL *crl, EVP_PKEY *key)
{
	EVP_MD_CTX	*md = EVP_MD_CTX_new();
	EVP_PKEY_CTX	*pctx = NULL;
	int		 ok;

	ok = EVP_DigestSignInit(md, &pctx, EVP_sha384(), NULL, key) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 48) == 1 &&
	    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha384()) == 1 &&
	    (x != NULL ? X509_sign_ctx(x, md) : X509_CRL_sign_ctx(crl,
	    md)) > 0;
	EVP_MD_CTX_free(md);
	return ok ? 0 : -1;
}

static void
add_conf_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX	 ctx;
	X509_EXTENSION	*e;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	if ((e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
		abort();
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
}

static X509 *
cert_new(EVP_PKEY *pub, X509_NAME *subject, X509_NAME *issuer, long serial,
    time_t nb, time_t na)
{
	X509	*x = X509_new();

	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_set_subject_name(x, subject);
	X509_set_issuer_name(x, issuer);
	ASN1_TIME_set(X509_getm_notBefore(x), nb);
	ASN1_TIME_set(X509_getm_notAfter(x), na);
	X509_set_pubkey(x, pub);
	X509_NAME_free(subject);
	X509_NAME_free(issuer);
	return x;
}

/* ARK or ASK: RSA, PSS-signed, CA, AMD's CRL distribution point. */
static X509 *
amd_ca(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
    const char *issuer_cn, long serial)
{
	X509	*x;

	x = cert_new(key, amd_name(cn), amd_name(issuer_cn), serial,
	    1643211277L, 1643211277L + 25 * YEAR);
	add_conf_ext(x, issuer != NULL ? issuer : x, NID_key_usage,
	    "critical,keyCertSign,cRLSign");
	add_conf_ext(x, issuer != NULL ? issuer : x, NID_basic_constraints,
	    "critical,CA:TRUE");
	add_conf_ext(x, issuer != NULL ? issuer : x, NID_crl_distribution_points,
	    "URI:https://kdsintf.amd.com/vcek/v1/Genoa/crl");
	if (sign_pss(x, NULL, issuer_key) == -1)
		abort();
	return x;
}

static X509 *
self_signed_ec(EVP_PKEY *key, const char *cn, long serial)
{
	X509	*x;
	time_t	 now = time(NULL);

	x = cert_new(key, plain_name(cn), plain_name(cn), serial,
	    now - YEAR, now + 10 * YEAR);
	add_conf_ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
	add_conf_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
	if (X509_sign(x, key, EVP_sha384()) <= 0)
		abort();
	return x;
}

static char *
pem_of(X509 *x, size_t *len)
{
	BIO	*b = BIO_new(BIO_s_mem());
	char	*p, *out;
	long	 n;

	PEM_write_bio_X509(b, x);
	n = BIO_get_mem_data(b, &p);
	if ((out = malloc((size_t)n + 1)) == NULL)
		abort();
	memcpy(out, p, (size_t)n);
	out[n] = '\0';
	if (len != NULL)
		*len = (size_t)n;
	BIO_free(b);
	return out;
}

int
fx_pki_init(struct fx_pki *k, const char *dir)
{
	char	*ask_pem, *ark_pem;
	size_t	 n1, n2;
	X509	*root, *mesh;

	memset(k, 0, sizeof(*k));
	if (dir == NULL && (dir = getenv("PM_ATTEST_PKI_DIR")) == NULL)
		dir = "tests/attest/pki";
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		fprintf(stderr, "fixture: mkdir %s: %s\n", dir,
		    strerror(errno));
		return -1;
	}
	k->ark_key = load_or_make_rsa(dir, "ark.key", 4096);
	k->ask_key = load_or_make_rsa(dir, "ask.key", 4096);
	k->foreign_key = load_or_make_rsa(dir, "foreign.key", 2048);
	k->vcek_key = make_ec("P-384");
	k->p256_key = make_ec("P-256");
	k->ca_key = make_ec("P-384");
	if (k->ark_key == NULL || k->ask_key == NULL ||
	    k->foreign_key == NULL || k->vcek_key == NULL ||
	    k->p256_key == NULL || k->ca_key == NULL)
		return -1;
	k->ark = amd_ca(k->ark_key, "ARK-Genoa", NULL, k->ark_key,
	    "ARK-Genoa", 0x020000);
	k->ask = amd_ca(k->ask_key, "SEV-Genoa", k->ark, k->ark_key,
	    "ARK-Genoa", 0x020002);
	k->foreign_ask = amd_ca(k->foreign_key, "SEV-Genoa", NULL,
	    k->foreign_key, "ARK-Genoa", 0x020002);
	ask_pem = pem_of(k->ask, &n1);
	ark_pem = pem_of(k->ark, &n2);
	if ((k->trust_pem = malloc(n1 + n2 + 1)) == NULL)
		abort();
	memcpy(k->trust_pem, ask_pem, n1);
	memcpy(k->trust_pem + n1, ark_pem, n2 + 1);
	k->trust_pem_len = n1 + n2;
	free(ask_pem);
	free(ark_pem);
	root = self_signed_ec(k->ca_key, "system:coordinator:root", 1);
	mesh = self_signed_ec(k->ca_key, "system:coordinator:meshCA", 2);
	k->root_pem = pem_of(root, NULL);
	k->mesh_pem = pem_of(mesh, NULL);
	X509_free(root);
	X509_free(mesh);
	return 0;
}

void
fx_pki_free(struct fx_pki *k)
{
	EVP_PKEY_free(k->ark_key);
	EVP_PKEY_free(k->ask_key);
	EVP_PKEY_free(k->foreign_key);
	EVP_PKEY_free(k->vcek_key);
	EVP_PKEY_free(k->p256_key);
	EVP_PKEY_free(k->ca_key);
	X509_free(k->ark);
	X509_free(k->ask);
	X509_free(k->foreign_ask);
	free(k->trust_pem);
	free(k->root_pem);
	free(k->mesh_pem);
	memset(k, 0, sizeof(*k));
}

/* An extension with raw DER contents under an OID given as text. */
static void
add_raw_ext(X509 *x, const char *oid, const uint8_t *der, size_t n)
{
	ASN1_OBJECT		*obj = OBJ_txt2obj(oid, 1);
	ASN1_OCTET_STRING	*os = ASN1_OCTET_STRING_new();
	X509_EXTENSION		*e;

	ASN1_OCTET_STRING_set(os, der, (int)n);
	e = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os);
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(obj);
}

static void
add_int_ext(X509 *x, const char *oid, unsigned v)
{
	uint8_t	der[4] = { 0x02, 0x01, (uint8_t)v, 0 };

	if (v >= 0x80) {
		der[1] = 2;
		der[2] = 0;
		der[3] = (uint8_t)v;
		add_raw_ext(x, oid, der, 4);
	} else
		add_raw_ext(x, oid, der, 3);
}

static X509 *
make_vcek(const struct fx_pki *k, const struct fx_params *p)
{
	const struct attest_tcb *t = &p->vcek_tcb;
	EVP_PKEY	*issuer_key;
	X509		*x;
	uint8_t		 der[80];
	size_t		 n;

	x = cert_new(p->vcek_p256 ? k->p256_key : k->vcek_key,
	    amd_name(p->vcek_cn), amd_name(p->vcek_issuer_cn), 0,
	    p->vcek_not_before, p->vcek_not_after);
	add_int_ext(x, "1.3.6.1.4.1.3704.1.1", 0);
	n = strlen(p->product_name);
	der[0] = 0x16;
	der[1] = (uint8_t)n;
	memcpy(der + 2, p->product_name, n);
	add_raw_ext(x, "1.3.6.1.4.1.3704.1.2", der, n + 2);
	add_int_ext(x, "1.3.6.1.4.1.3704.1.3.1", t->bl);
	if (p->dup_ext)
		add_int_ext(x, "1.3.6.1.4.1.3704.1.3.1", t->bl);
	add_int_ext(x, "1.3.6.1.4.1.3704.1.3.2", t->tee);
	add_int_ext(x, "1.3.6.1.4.1.3704.1.3.4", t->spl4);
	add_int_ext(x, "1.3.6.1.4.1.3704.1.3.5", t->spl5);
	add_int_ext(x, "1.3.6.1.4.1.3704.1.3.6", t->spl6);
	add_int_ext(x, "1.3.6.1.4.1.3704.1.3.7", t->spl7);
	add_int_ext(x, "1.3.6.1.4.1.3704.1.3.3", t->snp);
	add_int_ext(x, "1.3.6.1.4.1.3704.1.3.8", t->ucode);
	if (!p->no_hwid) {
		if (p->hwid_octet) {
			der[0] = 0x04;
			der[1] = (uint8_t)p->hwid_len;
			memcpy(der + 2, p->hwid, (size_t)p->hwid_len);
			add_raw_ext(x, "1.3.6.1.4.1.3704.1.4", der,
			    (size_t)p->hwid_len + 2);
		} else
			add_raw_ext(x, "1.3.6.1.4.1.3704.1.4", p->hwid,
			    (size_t)p->hwid_len);
	}
	if (p->extra_ext)
		add_conf_ext(x, x, NID_subject_key_identifier, "hash");
	issuer_key = p->vcek_issuer == FX_FOREIGN ? k->foreign_key : k->ask_key;
	if (p->vcek_sig == FX_PKCS1) {
		if (X509_sign(x, issuer_key, EVP_sha384()) <= 0)
			abort();
	} else if (sign_pss(x, NULL, issuer_key) == -1)
		abort();
	return x;
}

int
fx_crl(const struct fx_pki *k, int revoke_ask, int foreign, time_t tu,
    time_t nu, uint8_t **out, size_t *outlen)
{
	X509_CRL	*crl = X509_CRL_new();
	X509_REVOKED	*r;
	ASN1_INTEGER	*s;
	ASN1_TIME	*t;
	unsigned char	*p;
	int		 n;
	long		 serials[2] = { 0x0a0b0c, 0x020002 };
	int		 i, count = revoke_ask ? 2 : 1;

	X509_CRL_set_version(crl, X509_CRL_VERSION_2);
	X509_CRL_set_issuer_name(crl, X509_get_subject_name(k->ark));
	t = ASN1_TIME_set(NULL, tu);
	X509_CRL_set1_lastUpdate(crl, t);
	ASN1_TIME_set(t, nu);
	X509_CRL_set1_nextUpdate(crl, t);
	for (i = 0; i < count; i++) {
		r = X509_REVOKED_new();
		s = ASN1_INTEGER_new();
		ASN1_INTEGER_set(s, serials[i]);
		X509_REVOKED_set_serialNumber(r, s);
		ASN1_TIME_set(t, tu - DAY);
		X509_REVOKED_set_revocationDate(r, t);
		X509_CRL_add0_revoked(crl, r);
		ASN1_INTEGER_free(s);
	}
	ASN1_TIME_free(t);
	X509_CRL_sort(crl);
	if (sign_pss(NULL, crl, foreign ? k->foreign_key : k->ark_key) == -1)
		abort();
	p = NULL;
	n = i2d_X509_CRL(crl, &p);
	X509_CRL_free(crl);
	if (n <= 0)
		return -1;
	*out = p;
	*outlen = (size_t)n;
	return 0;
}

/* --- report ----------------------------------------------------------- */

static void
le(uint8_t *p, uint64_t v, int n)
{
	int	i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t
rle(const uint8_t *p, int n)
{
	uint64_t	v = 0;
	int		i;

	for (i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void
tcb_le(uint8_t *p, const struct attest_tcb *t)
{
	p[0] = t->bl;
	p[1] = t->tee;
	p[2] = t->spl4;
	p[3] = t->spl5;
	p[4] = t->spl6;
	p[5] = t->spl7;
	p[6] = t->snp;
	p[7] = t->ucode;
}

static uint64_t
tcb64(const struct attest_tcb *t)
{
	uint8_t	b[8];

	tcb_le(b, t);
	return rle(b, 8);
}

/* Family/model/stepping bytes of CPUID(1).EAX, per the spec. */
static void
fms_bytes(uint32_t eax, uint8_t *out)
{
	out[0] = (uint8_t)(((eax >> 20) & 0xff) + ((eax >> 8) & 0xf));
	out[1] = (uint8_t)(((eax >> 16) & 0xf) << 4 | ((eax >> 4) & 0xf));
	out[2] = eax & 0xf;
}

static void
report_abi(const struct fx_params *p, uint8_t *r)
{
	memset(r, 0, 0x4a0);
	le(r + 0x000, p->version, 4);
	le(r + 0x004, p->guest_svn, 4);
	le(r + 0x008, p->policy, 8);
	r[0x010] = 0x01;			/* FAMILY_ID of the ID block */
	r[0x020] = 0x02;			/* IMAGE_ID */
	le(r + 0x030, p->vmpl, 4);
	le(r + 0x034, p->sigalgo, 4);
	le(r + 0x038, p->current_tcb, 8);
	le(r + 0x040, p->platform_info, 8);
	le(r + 0x048, p->signer_info, 4);
	memcpy(r + 0x050, p->report_data, 64);
	memcpy(r + 0x090, p->measurement, 48);
	memcpy(r + 0x0c0, p->host_data, 32);
	memcpy(r + 0x0e0, p->id_key_digest, 48);
	memset(r + 0x140, 0x5a, 32);		/* REPORT_ID */
	memset(r + 0x160, 0xff, 32);		/* REPORT_ID_MA */
	le(r + 0x180, p->reported_tcb, 8);
	if (p->version >= 3)
		fms_bytes(p->fms, r + 0x188);
	memcpy(r + 0x1a0, p->chip_id, 64);
	le(r + 0x1e0, p->committed_tcb, 8);
	r[0x1e8] = p->cur_build;
	r[0x1e9] = p->cur_minor;
	r[0x1ea] = p->cur_major;
	r[0x1ec] = p->com_build;
	r[0x1ed] = p->com_minor;
	r[0x1ee] = p->com_major;
	le(r + 0x1f0, p->launch_tcb, 8);
	le(r + 0x1f8, p->launch_mit, 8);
	le(r + 0x200, p->current_mit, 8);
}

/* ECDSA P-384/SHA-384 over [0, 0x2A0), R and S as 72-byte LE. */
static int
report_sign(EVP_PKEY *key, uint8_t *r)
{
	EVP_MD_CTX		*md = EVP_MD_CTX_new();
	unsigned char		 der[128];
	const unsigned char	*q = der;
	size_t			 n = sizeof(der);
	ECDSA_SIG		*sig;
	const BIGNUM		*br, *bs;

	if (EVP_DigestSignInit(md, NULL, EVP_sha384(), NULL, key) != 1 ||
	    EVP_DigestSign(md, der, &n, r, 0x2a0) != 1)
		return -1;
	EVP_MD_CTX_free(md);
	if ((sig = d2i_ECDSA_SIG(NULL, &q, (long)n)) == NULL)
		return -1;
	ECDSA_SIG_get0(sig, &br, &bs);
	BN_bn2lebinpad(br, r + 0x2a0, 72);
	BN_bn2lebinpad(bs, r + 0x2a0 + 72, 72);
	ECDSA_SIG_free(sig);
	return 0;
}

/* --- protobuf writer --------------------------------------------------- */

static void
pb_varint(struct sb *s, uint64_t v)
{
	uint8_t	c;

	do {
		c = v & 0x7f;
		v >>= 7;
		if (v)
			c |= 0x80;
		sb_add(s, &c, 1);
	} while (v);
}

static void
pb_uint(struct sb *s, int field, uint64_t v)
{
	if (v == 0)		/* proto3 leaves zero scalars out */
		return;
	pb_varint(s, (uint64_t)field << 3 | 0);
	pb_varint(s, v);
}

static void
pb_len(struct sb *s, int field, const void *p, size_t n)
{
	pb_varint(s, (uint64_t)field << 3 | 2);
	pb_varint(s, n);
	sb_add(s, p, n);
}

static void
pb_bytes(struct sb *s, int field, const void *p, size_t n)
{
	if (n > 0)
		pb_len(s, field, p, n);
}

/* sevsnp.Report from the ABI image, as abi.ReportToProto reads it. */
static void
pb_report(struct sb *s, const uint8_t *r)
{
	uint32_t	version = (uint32_t)rle(r, 4);
	uint8_t		f = r[0x188], m = r[0x189], st = r[0x18a], ext = 0;
	uint8_t		fam = f;

	pb_uint(s, 1, version);
	pb_uint(s, 2, rle(r + 0x004, 4));
	pb_uint(s, 3, rle(r + 0x008, 8));
	pb_bytes(s, 4, r + 0x010, 16);
	pb_bytes(s, 5, r + 0x020, 16);
	pb_uint(s, 6, rle(r + 0x030, 4));
	pb_uint(s, 7, rle(r + 0x034, 4));
	pb_uint(s, 8, rle(r + 0x038, 8));
	pb_uint(s, 9, rle(r + 0x040, 8));
	pb_uint(s, 10, rle(r + 0x048, 4));
	pb_bytes(s, 11, r + 0x050, 64);
	pb_bytes(s, 12, r + 0x090, 48);
	pb_bytes(s, 13, r + 0x0c0, 32);
	pb_bytes(s, 14, r + 0x0e0, 48);
	pb_bytes(s, 15, r + 0x110, 48);
	pb_bytes(s, 16, r + 0x140, 32);
	pb_bytes(s, 17, r + 0x160, 32);
	pb_uint(s, 18, rle(r + 0x180, 8));
	pb_bytes(s, 19, r + 0x1a0, 64);
	pb_uint(s, 20, rle(r + 0x1e0, 8));
	pb_uint(s, 21, r[0x1e8]);
	pb_uint(s, 22, r[0x1e9]);
	pb_uint(s, 23, r[0x1ea]);
	pb_uint(s, 24, r[0x1ec]);
	pb_uint(s, 25, r[0x1ed]);
	pb_uint(s, 26, r[0x1ee]);
	pb_uint(s, 27, rle(r + 0x1f0, 8));
	pb_bytes(s, 28, r + 0x2a0, 512);
	if (version >= 3) {
		if (f >= 0xf) {
			ext = f - 0xf;
			fam = 0xf;
		}
		pb_uint(s, 29, (uint32_t)ext << 20 | (uint32_t)(m >> 4) << 16 |
		    (uint32_t)fam << 8 | (uint32_t)(m & 0xf) << 4 | (st & 0xf));
	}
	pb_uint(s, 30, rle(r + 0x1f8, 8));
	pb_uint(s, 31, rle(r + 0x200, 8));
}

static void
pb_attestation(struct sb *out, const uint8_t *abi, const struct fx_doc *d,
    const struct fx_pki *k, const struct fx_params *p)
{
	struct sb	 rep = { 0 }, chain = { 0 }, entry = { 0 }, prod = { 0 };
	unsigned char	*der = NULL;
	int		 n;

	pb_report(&rep, abi);
	pb_len(out, 1, rep.p, rep.len);
	if (p->embed_vcek)
		pb_bytes(&chain, 1, d->vcek, d->vcek_len);
	n = i2d_X509(k->ask, &der);
	pb_bytes(&chain, 2, der, (size_t)n);
	OPENSSL_free(der);
	der = NULL;
	n = i2d_X509(k->ark, &der);
	pb_bytes(&chain, 3, der, (size_t)n);
	OPENSSL_free(der);
	if (p->crl == FX_CRL_EMBED) {
		pb_bytes(&entry, 1, ATT_CRL_EXTRAS_KEY,
		    strlen(ATT_CRL_EXTRAS_KEY));
		pb_bytes(&entry, 2, d->crl, d->crl_len);
		pb_len(&chain, 7, entry.p, entry.len);
	}
	pb_len(out, 2, chain.p, chain.len);
	pb_uint(&prod, 1, ATT_PRODUCT_GENOA);
	pb_len(&prod, 3, "", 0);		/* machine_stepping {0} */
	pb_len(out, 3, prod.p, prod.len);
	free(rep.p);
	free(chain.p);
	free(entry.p);
	free(prod.p);
}

/* --- manifest ------------------------------------------------------- */

void
fx_manifest_default(struct fx_manifest *m, const struct fx_params *p)
{
	memset(m, 0, sizeof(*m));
	m->product = "Genoa";
	memcpy(m->measurement, p->measurement, 48);
	memcpy(m->coord_hash, p->host_data, 32);
	m->min_tcb = "{\"BootloaderVersion\":10,\"TEEVersion\":0,"
	    "\"SNPVersion\":28,\"MicrocodeVersion\":88}";
	m->guest_policy = "{\"ABIMinor\":0,\"ABIMajor\":0,\"SMT\":true,"
	    "\"MigrateMA\":false,\"Debug\":false,\"SingleSocket\":false,"
	    "\"CXLAllowed\":false,\"MemAES256XTS\":false,\"RAPLDis\":false,"
	    "\"CipherTextHidingDRAM\":false,\"PageSwapDisable\":true}";
	m->platform_info = "{\"SMTEnabled\":false,\"TSMEEnabled\":false,"
	    "\"ECCEnabled\":true,\"RAPLDisabled\":false,"
	    "\"CiphertextHidingDRAMEnabled\":false,"
	    "\"AliasCheckComplete\":true,\"TIOEnabled\":false}";
	m->min_mitigation = 15;
	m->chip_ids = NULL;	/* default: the report's, uppercase */
	memcpy(m->chip, p->chip_id, 64);
}

static const char tdx_entry[] =
    "{\"Platform\":\"Metal-QEMU-TDX-GPU\",\"MinTCBEvaluationDataNumber\":21,"
    "\"MrTd\":\"%s\",\"MrSeam\":\"%s\",\"Rtmrs\":[\"%s\",\"%s\",\"%s\",\"%s\"],"
    "\"Xfam\":\"e702060000000000\",\"AllowedPIIDs\":["
    "\"0123456789abcdef0123456789abcdef\"],\"MemoryIntegrity\":false,"
    "\"SMTDisabled\":false,\"StaticPlatform\":false,\"CPUs\":1}";

char *
fx_manifest_json(const struct fx_manifest *m)
{
	struct sb	 s = { 0 };
	char		 meas[97], hash[65], chip[129], h48[97];
	uint8_t		 b48[48];

	fx_hex(m->measurement, 48, meas, 0);
	fx_hex(m->coord_hash, 32, hash, 0);
	memset(b48, 0x3c, sizeof(b48));
	fx_hex(b48, 48, h48, 0);
	sb_addf(&s, "{\"Policies\":{\"%s\":{\"SANs\":[\"coordinator\","
	    "\"*\"],\"WorkloadSecretID\":\"\",\"Role\":\"coordinator\"},"
	    "\"%064d\":{\"SANs\":[],\"WorkloadSecretID\":\"secret-service\"}},"
	    "\"ReferenceValues\":{\"snp\":[", hash, 1);
	if (m->prefix_snp != NULL)
		sb_addf(&s, "%s,", m->prefix_snp);
	sb_addf(&s, "{\"Platform\":\"Metal-QEMU-SNP-GPU\",\"ProductName\":"
	    "\"%s\",\"TrustedMeasurement\":\"%s\",\"MinimumTCB\":%s,"
	    "\"GuestPolicy\":%s,\"PlatformInfo\":%s,"
	    "\"MinimumMitigationVector\":%llu,\"AllowedChipIDs\":",
	    m->product, meas, m->min_tcb, m->guest_policy, m->platform_info,
	    (unsigned long long)m->min_mitigation);
	if (m->chip_ids != NULL)
		sb_addf(&s, "%s", m->chip_ids);
	else {
		fx_hex(m->chip, 64, chip, 1);
		sb_addf(&s, "[\"%s\"]", chip);
	}
	sb_addf(&s, ",\"CPUs\":1}");
	if (m->extra_snp != NULL)
		sb_addf(&s, ",%s", m->extra_snp);
	sb_addf(&s, "],\"tdx\":[");
	sb_addf(&s, tdx_entry, h48, h48, h48, h48, h48, h48);
	sb_addf(&s, "]},\"WorkloadOwnerKeyDigests\":[],"
	    "\"SeedshareOwnerPubKeys\":[]}");
	return s.p;
}

/* --- defaults -------------------------------------------------------- */

void
fx_params_default(struct fx_params *p, const struct fx_pki *k)
{
	struct fx_manifest	m;
	int			i;

	(void)k;
	memset(p, 0, sizeof(*p));
	p->now = 1767225600L;		/* 2026-01-01T00:00:00Z */
	p->embed_vcek = 1;
	p->vcek_cn = "SEV-VCEK";
	p->vcek_issuer_cn = "SEV-Genoa";
	p->vcek_not_before = p->now - 30 * DAY;
	p->vcek_not_after = p->now + 7 * YEAR;
	p->vcek_tcb.bl = 10;
	p->vcek_tcb.tee = 0;
	p->vcek_tcb.snp = 28;
	p->vcek_tcb.ucode = 88;
	for (i = 0; i < 64; i++)
		p->hwid[i] = (uint8_t)(0xc0 ^ i * 7);
	p->hwid_len = 64;
	p->product_name = "Genoa-B1";
	p->crl = FX_CRL_EMBED;
	p->crl_this = p->now - DAY;
	p->crl_next = p->now + 7 * DAY;
	p->version = 3;
	p->guest_svn = 2;
	p->vmpl = 0;
	p->sigalgo = 1;
	p->policy = 0x2030000;
	p->idkey_policy = 0x2030000;
	p->platform_info = 0x24;	/* ECC_EN | ALIAS_CHECK_COMPLETE */
	p->reported_tcb = tcb64(&p->vcek_tcb);
	p->launch_tcb = p->reported_tcb;
	p->current_tcb = p->reported_tcb + ((uint64_t)1 << 48);
	p->committed_tcb = p->current_tcb;
	p->launch_mit = p->current_mit = 0xf;
	p->cur_build = p->com_build = 21;
	p->cur_minor = p->com_minor = 55;
	p->cur_major = p->com_major = 1;
	p->fms = 0x00a10f11;		/* family 0x19, model 0x11: Genoa */
	memcpy(p->chip_id, p->hwid, 64);
	for (i = 0; i < 48; i++)
		p->measurement[i] = (uint8_t)(0xa0 + i);
	for (i = 0; i < 32; i++) {
		p->host_data[i] = (uint8_t)(0x11 * (i % 15 + 1));
		p->nonce[i] = (uint8_t)(0x40 + i);
	}
	p->flip = -1;
	fx_manifest_default(&m, p);
	p->manifest = fx_manifest_json(&m);
}

void
fx_params_free(struct fx_params *p)
{
	free(p->manifest);
	free(p->prev_manifest);
	p->manifest = p->prev_manifest = NULL;
}

/* --- documents -------------------------------------------------------- */

/* SHA-256(nonce || transition || SHA-256(root) || SHA-256(mesh)) || 0. */
static void
report_data(const struct fx_params *p, const char *root, const char *mesh,
    uint8_t out[64])
{
	uint8_t	buf[128], t[64];

	memset(t, 0, sizeof(t));
	if (p->prev_manifest != NULL) {
		sha256(p->prev_manifest, strlen(p->prev_manifest), t);
		sha256(t, 64, t + 32);
	}
	sha256(p->manifest, strlen(p->manifest), t);
	sha256(t, 64, t + 32);
	memcpy(buf, p->nonce, 32);
	memcpy(buf + 32, t + 32, 32);
	sha256(root, strlen(root), buf + 64);
	sha256(mesh, strlen(mesh), buf + 96);
	sha256(buf, sizeof(buf), out);
	memset(out + 32, 0, 32);
}

static void
json_b64(struct sb *s, const char *name, const void *p, size_t n)
{
	char	*b = fx_b64(p, n);

	sb_addf(s, "\"%s\":\"%s\"", name, b);
	free(b);
}

static void
json_b64_elem(struct sb *s, const void *p, size_t n)
{
	char	*b = fx_b64(p, n);

	sb_addf(s, "\"%s\"", b);
	free(b);
}

static void
coordinator_json(const struct fx_params *p, const struct fx_pki *k,
    const struct fx_doc *d, const char *mesh, struct sb *s)
{
	static const char policy[] = "package agent_policy\ndefault x := true\n";

	sb_addf(s, "{\"version\":\"v1.20.0\",");
	json_b64(s, "raw_attestation_doc", d->proto, d->proto_len);
	sb_addf(s, ",\"manifests\":[");
	if (p->prev_manifest != NULL) {
		json_b64_elem(s, p->prev_manifest, strlen(p->prev_manifest));
		sb_addf(s, ",");
	}
	json_b64_elem(s, p->manifest, strlen(p->manifest));
	sb_addf(s, "],\"policies\":[");
	json_b64_elem(s, policy, strlen(policy));
	sb_addf(s, "],");
	json_b64(s, "root_ca", k->root_pem, strlen(k->root_pem));
	sb_addf(s, ",");
	json_b64(s, "mesh_ca", mesh, strlen(mesh));
	if (p->extra_json != NULL)
		sb_addf(s, ",%s", p->extra_json);
	sb_addf(s, "}");
}

int
fx_build(const struct fx_pki *k, const struct fx_params *p, struct fx_doc *d)
{
	struct fx_params	 q = *p;
	struct sb		 proto = { 0 }, coord = { 0 }, body = { 0 };
	const char		*mesh = p->mesh_pem ? p->mesh_pem : k->mesh_pem;
	unsigned char		*der = NULL;
	X509			*vcek;
	int			 n;
	char			*b;

	memset(d, 0, sizeof(*d));
	vcek = make_vcek(k, p);
	n = i2d_X509(vcek, &der);
	X509_free(vcek);
	d->vcek = der;
	d->vcek_len = (size_t)n;
	if (fx_crl(k, p->crl_revoke_ask, p->crl_foreign, p->crl_this,
	    p->crl_next, &d->crl, &d->crl_len) == -1)
		return -1;
	if (!p->report_data_set)
		report_data(p, k->root_pem, mesh, q.report_data);
	if (!p->id_key_set &&
	    att_idkey_digest(p->measurement, p->idkey_policy,
	    q.id_key_digest) == -1)
		return -1;
	report_abi(&q, d->abi);
	if (report_sign(k->vcek_key, d->abi) == -1)
		return -1;
	if (p->flip >= 0)
		d->abi[p->flip] ^= 0x01;
	pb_attestation(&proto, d->abi, d, k, p);
	d->proto = (uint8_t *)proto.p;
	d->proto_len = proto.len;
	coordinator_json(p, k, d, mesh, &coord);
	d->coord = coord.p;
	d->coord_len = coord.len;
	b = fx_b64((const uint8_t *)coord.p, coord.len);
	sb_addf(&body, "{\"AttestationDoc\":\"%s\"}", b);
	free(b);
	d->body = body.p;
	d->body_len = body.len;
	return 0;
}

void
fx_doc_free(struct fx_doc *d)
{
	free(d->proto);
	OPENSSL_free(d->vcek);
	OPENSSL_free(d->crl);
	free(d->coord);
	free(d->body);
	memset(d, 0, sizeof(*d));
}
