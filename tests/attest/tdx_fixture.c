/*
 * TDX test fixtures: see tdx_fixture.h.  The fake Intel PKI mirrors the
 * real one (names, key types, extensions, validity shapes) so that only
 * the keys differ, as in tests/sim/lib/tdx.mjs.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tdx_fixture.h"

/* --- a growable byte buffer ------------------------------------------- */

struct bb {
	uint8_t	*p;
	size_t	 len, cap;
};

static void
bb_add(struct bb *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 64;
		if ((b->p = realloc(b->p, b->cap)) == NULL)
			abort();
	}
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void
bb_u8(struct bb *b, uint8_t v)
{
	bb_add(b, &v, 1);
}

static void
bb_le(struct bb *b, uint64_t v, int n)
{
	int	i;

	for (i = 0; i < n; i++)
		bb_u8(b, (uint8_t)(v >> (8 * i)));
}

static void
bb_str(struct bb *b, const char *s)
{
	bb_add(b, s, strlen(s));
}

static void
bb_fmt(struct bb *b, const char *fmt, ...) __attribute__((__format__(printf, 2, 3)));

static void
bb_fmt(struct bb *b, const char *fmt, ...)
{
	char	*buf;
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vasprintf(&buf, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	bb_add(b, buf, (size_t)n);
	free(buf);
}

static char *
bb_cstr(struct bb *b)
{
	bb_u8(b, 0);
	return (char *)b->p;
}

/* --- protobuf ------------------------------------------------------------ */

static void
pb_varint(struct bb *b, uint64_t v)
{
	do {
		uint8_t c = v & 0x7f;

		v >>= 7;
		if (v)
			c |= 0x80;
		bb_u8(b, c);
	} while (v);
}

static void
pb_uint(struct bb *b, uint32_t field, uint64_t v)
{
	if (v == 0)
		return;
	pb_varint(b, (uint64_t)field << 3);
	pb_varint(b, v);
}

static void
pb_bytes(struct bb *b, uint32_t field, const uint8_t *p, size_t n, int force)
{
	if (n == 0 && !force)
		return;
	pb_varint(b, (uint64_t)field << 3 | 2);
	pb_varint(b, n);
	bb_add(b, p, n);
}

static void
pb_view(struct bb *b, uint32_t field, struct att_view v)
{
	pb_bytes(b, field, v.p, v.len, 0);
}

static void
pb_msg(struct bb *b, uint32_t field, struct bb *m)
{
	pb_bytes(b, field, m->p, m->len, 1);
	free(m->p);
	memset(m, 0, sizeof(*m));
}

int
fxt_quote_proto(const struct att_tdx_quote *q, uint8_t **out, size_t *len)
{
	struct bb	b = { 0 }, h = { 0 }, body = { 0 }, sd = { 0 };
	struct bb	cert = { 0 }, qec = { 0 }, rep = { 0 }, auth = { 0 };
	struct bb	pck = { 0 };
	size_t		i;

	pb_uint(&h, 1, q->version);
	pb_uint(&h, 2, q->key_type);
	pb_uint(&h, 3, q->tee_type);
	pb_view(&h, 4, q->qe_svn);
	pb_view(&h, 5, q->pce_svn);
	pb_view(&h, 6, q->qe_vendor_id);
	pb_view(&h, 7, q->user_data);

	pb_view(&body, 1, q->tee_tcb_svn);
	pb_view(&body, 2, q->mr_seam);
	pb_view(&body, 3, q->mr_signer_seam);
	pb_view(&body, 4, q->seam_attributes);
	pb_view(&body, 5, q->td_attributes);
	pb_view(&body, 6, q->xfam);
	pb_view(&body, 7, q->mr_td);
	pb_view(&body, 8, q->mr_config_id);
	pb_view(&body, 9, q->mr_owner);
	pb_view(&body, 10, q->mr_owner_config);
	for (i = 0; i < q->nrtmrs && i < ATT_TDX_MAX_RTMRS; i++)
		pb_bytes(&body, 11, q->rtmr[i].p, q->rtmr[i].len, 1);
	pb_view(&body, 12, q->report_data);

	pb_view(&rep, 1, q->cpu_svn);
	pb_uint(&rep, 2, q->misc_select);
	pb_view(&rep, 3, q->reserved1);
	pb_view(&rep, 4, q->attributes);
	pb_view(&rep, 5, q->mr_enclave);
	pb_view(&rep, 6, q->reserved2);
	pb_view(&rep, 7, q->mr_signer);
	pb_view(&rep, 8, q->reserved3);
	pb_uint(&rep, 9, q->isv_prod_id);
	pb_uint(&rep, 10, q->isv_svn);
	pb_view(&rep, 11, q->reserved4);
	pb_view(&rep, 12, q->qe_report_data);
	pb_uint(&auth, 1, q->qe_auth_size);
	pb_view(&auth, 2, q->qe_auth_data);
	pb_uint(&pck, 1, q->pck_type);
	pb_uint(&pck, 2, q->pck_size);
	pb_view(&pck, 3, q->pck_chain);
	pb_msg(&qec, 1, &rep);
	pb_view(&qec, 2, q->qe_report_signature);
	pb_msg(&qec, 3, &auth);
	pb_msg(&qec, 4, &pck);
	pb_uint(&cert, 1, q->cert_type);
	pb_uint(&cert, 2, q->cert_size);
	pb_msg(&cert, 3, &qec);
	pb_view(&sd, 1, q->signature);
	pb_view(&sd, 2, q->attestation_key);
	pb_msg(&sd, 3, &cert);

	pb_msg(&b, 1, &h);
	pb_msg(&b, 2, &body);
	pb_uint(&b, 3, q->signed_data_size);
	pb_msg(&b, 4, &sd);
	pb_view(&b, 5, q->extra_bytes);
	*out = b.p;
	*len = b.len;
	return 0;
}

int
fxt_quote_abi(const struct att_tdx_quote *q, uint8_t **out, size_t *len)
{
	struct bb	b = { 0 }, sd = { 0 };
	uint8_t		h[ATT_TDX_HEADER_SIZE], body[ATT_TDX_BODY_SIZE];
	uint8_t		qe[ATT_TDX_QE_REPORT_SIZE];

	att_tdx_header_abi(q, h);
	att_tdx_body_abi(q, body);
	att_tdx_qe_report_abi(q, qe);
	bb_add(&b, h, sizeof(h));
	bb_add(&b, body, sizeof(body));
	bb_add(&sd, q->signature.p, q->signature.len);
	bb_add(&sd, q->attestation_key.p, q->attestation_key.len);
	bb_le(&sd, q->cert_type, 2);
	bb_le(&sd, q->cert_size, 4);
	bb_add(&sd, qe, sizeof(qe));
	bb_add(&sd, q->qe_report_signature.p, q->qe_report_signature.len);
	bb_le(&sd, q->qe_auth_size, 2);
	bb_add(&sd, q->qe_auth_data.p, q->qe_auth_data.len);
	bb_le(&sd, q->pck_type, 2);
	bb_le(&sd, q->pck_size, 4);
	bb_add(&sd, q->pck_chain.p, q->pck_chain.len);
	bb_le(&b, sd.len, 4);
	bb_add(&b, sd.p, sd.len);
	bb_add(&b, q->extra_bytes.p, q->extra_bytes.len);
	free(sd.p);
	*out = b.p;
	*len = b.len;
	return 0;
}

char *
fxt_url_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	struct bb	b = { 0 };

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		    c == '.' || c == '~')
			bb_u8(&b, c);
		else {
			bb_u8(&b, '%');
			bb_u8(&b, (uint8_t)hex[c >> 4]);
			bb_u8(&b, (uint8_t)hex[c & 15]);
		}
	}
	return bb_cstr(&b);
}

/* --- keys and certificates ------------------------------------------------ */

static EVP_PKEY *
p256(void)
{
	EVP_PKEY	*k = EVP_EC_gen("P-256");

	if (k == NULL)
		abort();
	return k;
}

static X509_NAME *
intel_name(const char *cn)
{
	X509_NAME	*n = X509_NAME_new();

	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8,
	    (const unsigned char *)"Intel Corporation", -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "L", MBSTRING_UTF8,
	    (const unsigned char *)"Santa Clara", -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "ST", MBSTRING_UTF8,
	    (const unsigned char *)"CA", -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "C", MBSTRING_ASC,
	    (const unsigned char *)"US", -1, -1, 0);
	return n;
}

static void
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX	 ctx;
	X509_EXTENSION	*e;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	if ((e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
		abort();
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
}

static long	serial = 0x1000;

/*
 * A certificate for key, issued by issuer (NULL: self-signed) and
 * signed with sign_key.  ca: CA extensions, else a leaf's.
 */
static X509 *
mkcert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *sign_key,
    time_t nb, time_t na, int ca, const char *crldp)
{
	X509		*x = X509_new();
	X509_NAME	*n = intel_name(cn);

	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, issuer != NULL ?
	    X509_get_subject_name(issuer) : n);
	X509_NAME_free(n);
	ASN1_TIME_set(X509_getm_notBefore(x), nb);
	ASN1_TIME_set(X509_getm_notAfter(x), na);
	X509_set_pubkey(x, key);
	if (issuer != NULL)
		add_ext(x, issuer, NID_authority_key_identifier, "keyid");
	if (crldp != NULL)
		add_ext(x, issuer != NULL ? issuer : x,
		    NID_crl_distribution_points, crldp);
	add_ext(x, issuer != NULL ? issuer : x, NID_subject_key_identifier,
	    "hash");
	add_ext(x, issuer != NULL ? issuer : x, NID_key_usage, ca ?
	    "critical,keyCertSign,cRLSign" :
	    "critical,digitalSignature,nonRepudiation");
	add_ext(x, issuer != NULL ? issuer : x, NID_basic_constraints, ca ?
	    "critical,CA:TRUE,pathlen:1" : "critical,CA:FALSE");
	return x;
}

static void
sign(X509 *x, EVP_PKEY *k)
{
	if (X509_sign(x, k, EVP_sha256()) <= 0)
		abort();
}

static char *
pem_of(X509 *x)
{
	BIO	*b = BIO_new(BIO_s_mem());
	char	*p, *out;
	long	 n;

	PEM_write_bio_X509(b, x);
	n = BIO_get_mem_data(b, &p);
	out = malloc((size_t)n + 1);
	memcpy(out, p, (size_t)n);
	out[n] = '\0';
	BIO_free(b);
	return out;
}

#define YEAR	(365 * 86400)
#define ROOT_CRLDP \
	"URI:https://certificates.trustedservices.intel.com/IntelSGXRootCA.der"

int
fxt_pki_init(struct fxt_pki *k, time_t now)
{
	memset(k, 0, sizeof(*k));
	k->root_key = p256();
	k->pca_key = p256();
	k->pck_key = p256();
	k->signing_key = p256();
	k->foreign_key = p256();
	k->root = mkcert(ATT_INTEL_ROOT_CN, k->root_key, NULL, k->root_key,
	    now - 8 * YEAR, now + 20 * YEAR, 1, ROOT_CRLDP);
	sign(k->root, k->root_key);
	k->pca = mkcert(ATT_PCK_PLATFORM_CN, k->pca_key, k->root, k->root_key,
	    now - 8 * YEAR, now + 7 * YEAR, 1, ROOT_CRLDP);
	sign(k->pca, k->root_key);
	k->signing = mkcert(ATT_TCB_SIGNING_CN, k->signing_key, k->root,
	    k->root_key, now - YEAR, now + 6 * YEAR, 0, ROOT_CRLDP);
	sign(k->signing, k->root_key);
	k->root_pem = pem_of(k->root);
	return 0;
}

void
fxt_pki_free(struct fxt_pki *k)
{
	EVP_PKEY_free(k->root_key);
	EVP_PKEY_free(k->pca_key);
	EVP_PKEY_free(k->pck_key);
	EVP_PKEY_free(k->signing_key);
	EVP_PKEY_free(k->foreign_key);
	X509_free(k->root);
	X509_free(k->pca);
	X509_free(k->signing);
	free(k->root_pem);
	memset(k, 0, sizeof(*k));
}

/* --- the SGX extension, hand-built DER ------------------------------------- */

static void
der_tlv(struct bb *b, uint8_t tag, const uint8_t *p, size_t n)
{
	bb_u8(b, tag);
	if (n < 0x80)
		bb_u8(b, (uint8_t)n);
	else if (n < 0x100) {
		bb_u8(b, 0x81);
		bb_u8(b, (uint8_t)n);
	} else {
		bb_u8(b, 0x82);
		bb_u8(b, (uint8_t)(n >> 8));
		bb_u8(b, (uint8_t)n);
	}
	bb_add(b, p, n);
}

static void
der_wrap(struct bb *out, uint8_t tag, struct bb *in)
{
	der_tlv(out, tag, in->p, in->len);
	free(in->p);
	memset(in, 0, sizeof(*in));
}

static const uint8_t SGX_PREFIX[] = {
	0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01
};

/* SEQUENCE { OID 1.2.840.113741.1.13.1.a[.b], value } */
static void
sgx_attr(struct bb *out, int a, int b, uint8_t tag, const uint8_t *v,
    size_t n)
{
	struct bb	seq = { 0 }, oid = { 0 };

	bb_add(&oid, SGX_PREFIX, sizeof(SGX_PREFIX));
	bb_u8(&oid, (uint8_t)a);
	if (b >= 0)
		bb_u8(&oid, (uint8_t)b);
	der_wrap(&seq, 0x06, &oid);
	der_tlv(&seq, tag, v, n);
	der_wrap(out, 0x30, &seq);
}

static void
sgx_int(struct bb *out, int a, int b, unsigned v)
{
	uint8_t	buf[3];
	size_t	n = 0;

	if (v > 0x7fff) {
		buf[n++] = 0;
		buf[n++] = (uint8_t)(v >> 8);
	} else if (v > 0x7f)
		buf[n++] = (uint8_t)(v >> 8);
	buf[n++] = (uint8_t)v;
	sgx_attr(out, a, b, 0x02, buf, n);
}

static X509_EXTENSION *
sgx_extension(const struct fxt_params *p)
{
	struct bb	 all = { 0 }, tcb = { 0 }, cfg = { 0 }, v = { 0 };
	uint8_t		 ppid[16], t, f;
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	ASN1_OBJECT	*oid = OBJ_txt2obj("1.2.840.113741.1.13.1", 1);
	X509_EXTENSION	*e;
	int		 i;

	memset(ppid, 0x5a, sizeof(ppid));
	sgx_attr(&all, 1, -1, 0x04, ppid, 16);
	for (i = 0; i < 16; i++)
		sgx_int(&tcb, 2, i + 1, p->comp[i]);
	sgx_int(&tcb, 2, 17, p->pcesvn);
	sgx_attr(&tcb, 2, 18, 0x04, p->comp, 16);
	{
		struct bb	s = { 0 }, o = { 0 };

		bb_add(&o, SGX_PREFIX, sizeof(SGX_PREFIX));
		bb_u8(&o, 2);
		der_wrap(&s, 0x06, &o);
		der_wrap(&s, 0x30, &tcb);
		der_wrap(&all, 0x30, &s);
	}
	sgx_attr(&all, 3, -1, 0x04, p->pceid, 2);
	sgx_attr(&all, 4, -1, 0x04, p->fmspc, 6);
	t = (uint8_t)p->sgx_type;
	sgx_attr(&all, 5, -1, 0x0a, &t, 1);
	sgx_attr(&all, 6, -1, 0x04, p->piid, 16);
	f = p->dynamic_platform ? 0xff : 0;
	sgx_attr(&cfg, 7, 1, 0x01, &f, 1);
	f = p->cached_keys ? 0xff : 0;
	sgx_attr(&cfg, 7, 2, 0x01, &f, 1);
	f = p->smt_enabled ? 0xff : 0;
	sgx_attr(&cfg, 7, 3, 0x01, &f, 1);
	{
		struct bb	s = { 0 }, o = { 0 };

		bb_add(&o, SGX_PREFIX, sizeof(SGX_PREFIX));
		bb_u8(&o, 7);
		der_wrap(&s, 0x06, &o);
		der_wrap(&s, 0x30, &cfg);
		der_wrap(&all, 0x30, &s);
	}
	der_wrap(&v, 0x30, &all);
	ASN1_OCTET_STRING_set(os, v.p, (int)v.len);
	e = X509_EXTENSION_create_by_OBJ(NULL, oid, 0, os);
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(oid);
	free(v.p);
	return e;
}

static X509 *
pck_cert(const struct fxt_pki *k, const struct fxt_params *p)
{
	X509		*x;
	X509_EXTENSION	*e;

	x = mkcert(ATT_PCK_LEAF_CN, k->pck_key, k->pca, k->pca_key,
	    p->now - 30 * 86400, p->pck_not_after,
	    0, "URI:https://api.trustedservices.intel.com/sgx/certification/"
	    "v4/pckcrl?ca=platform&encoding=der");
	e = sgx_extension(p);
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	if (p->pck_extra_ext)
		add_ext(x, k->pca, NID_ext_key_usage, "clientAuth");
	sign(x, p->pck_foreign ? k->foreign_key : k->pca_key);
	return x;
}

/* --- signatures as r || s ---------------------------------------------------- */

static void
sign_raw(EVP_PKEY *k, const uint8_t *m, size_t n, uint8_t out[64])
{
	EVP_MD_CTX		*ctx = EVP_MD_CTX_new();
	unsigned char		 der[80];
	const unsigned char	*q = der;
	size_t			 dl = sizeof(der);
	ECDSA_SIG		*s;

	if (EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k) != 1 ||
	    EVP_DigestSign(ctx, der, &dl, m, n) != 1 ||
	    (s = d2i_ECDSA_SIG(NULL, &q, (long)dl)) == NULL)
		abort();
	BN_bn2binpad(ECDSA_SIG_get0_r(s), out, 32);
	BN_bn2binpad(ECDSA_SIG_get0_s(s), out + 32, 32);
	ECDSA_SIG_free(s);
	EVP_MD_CTX_free(ctx);
}

static void
pub_raw(EVP_PKEY *k, uint8_t out[64])
{
	uint8_t	pt[65];
	size_t	n = 0;

	if (EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pt,
	    sizeof(pt), &n) != 1 || n != 65)
		abort();
	memcpy(out, pt + 1, 64);
}

static void
hexs(const uint8_t *p, size_t n, char *out, int upper)
{
	static const char lo[] = "0123456789abcdef", up[] = "0123456789ABCDEF";
	const char	*d = upper ? up : lo;
	size_t		 i;

	for (i = 0; i < n; i++) {
		out[2 * i] = d[p[i] >> 4];
		out[2 * i + 1] = d[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static void
rfc3339(time_t t, char out[32])
{
	struct tm	tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* {"<name>":<inner>,"signature":"<hex>"} with inner signed by k. */
static char *
signed_json(const char *name, const char *inner, EVP_PKEY *k)
{
	struct bb	b = { 0 };
	uint8_t		sig[64];
	char		hex[129];

	sign_raw(k, (const uint8_t *)inner, strlen(inner), sig);
	hexs(sig, 64, hex, 0);
	bb_fmt(&b, "{\"%s\":", name);
	bb_str(&b, inner);
	bb_fmt(&b, ",\"signature\":\"%s\"}", hex);
	return bb_cstr(&b);
}

static void
components(struct bb *b, const char *name, const uint8_t *svn)
{
	int	i;

	bb_fmt(b, "\"%s\":[", name);
	for (i = 0; i < 16; i++)
		bb_fmt(b, "%s{\"svn\":%u%s}", i ? "," : "", svn[i], i == 0 ?
		    ",\"category\":\"BIOS\",\"type\":\"Early Microcode Update\"" :
		    "");
	bb_str(b, "]");
}

static char *
tcb_info(const struct fxt_pki *k, const struct fxt_params *p)
{
	struct bb	b = { 0 };
	char		iss[32], next[32], fmspc[13], pceid[5], mrs[97];
	char		*inner, *out;
	static const uint8_t zero16[16];

	rfc3339(p->now - 86400, iss);
	rfc3339(p->tcb_next, next);
	hexs(p->fmspc, 6, fmspc, 0);
	hexs(p->tcb_pceid, 2, pceid, 1);
	hexs(p->tcb_mrsigner_seam, 48, mrs, 0);
	bb_fmt(&b, "{\"id\":\"TDX\",\"version\":3,\"issueDate\":\"%s\","
	    "\"nextUpdate\":\"%s\",\"fmspc\":\"%s\",\"pceId\":\"%s\","
	    "\"tcbType\":0,\"tcbEvaluationDataNumber\":%lld,"
	    "\"tdxModule\":{\"mrsigner\":\"%s\",\"attributes\":"
	    "\"0000000000000000\",\"attributesMask\":\"FFFFFFFFFFFFFFFF\"},",
	    iss, next, p->tcb_fmspc != NULL ? p->tcb_fmspc : fmspc, pceid,
	    p->eval_num, mrs);
	if (p->module_ids != NULL)
		bb_fmt(&b, "\"tdxModuleIdentities\":%s,", p->module_ids);
	bb_str(&b, "\"tcbLevels\":[{\"tcb\":{");
	components(&b, "sgxtcbcomponents", p->tcb_sgx);
	bb_fmt(&b, ",\"pcesvn\":%u,", p->tcb_pcesvn);
	components(&b, "tdxtcbcomponents", p->tcb_tdx);
	bb_fmt(&b, "},\"tcbDate\":\"2024-03-13T00:00:00Z\",\"tcbStatus\":"
	    "\"%s\"},{\"tcb\":{", p->tcb_status);
	/* An older level that everything matches: OutOfDate. */
	components(&b, "sgxtcbcomponents", zero16);
	bb_str(&b, ",\"pcesvn\":0,");
	components(&b, "tdxtcbcomponents", zero16);
	bb_str(&b, "},\"tcbDate\":\"2018-01-04T00:00:00Z\",\"tcbStatus\":"
	    "\"OutOfDate\",\"advisoryIDs\":[\"INTEL-SA-00106\"]}]}");
	inner = bb_cstr(&b);
	out = signed_json("tcbInfo", inner, p->tcb_foreign_sig ?
	    k->foreign_key : k->signing_key);
	free(inner);
	return out;
}

static char *
qe_identity(const struct fxt_pki *k, const struct fxt_params *p)
{
	struct bb	b = { 0 };
	char		iss[32], next[32], mrs[65], *inner, *out;

	rfc3339(p->now - 86400, iss);
	rfc3339(p->qe_next, next);
	hexs(p->qe_id_mrsigner, 32, mrs, 1);
	bb_fmt(&b, "{\"id\":\"TD_QE\",\"version\":2,\"issueDate\":\"%s\","
	    "\"nextUpdate\":\"%s\",\"tcbEvaluationDataNumber\":%lld,"
	    "\"miscselect\":\"00000000\",\"miscselectMask\":\"FFFFFFFF\","
	    "\"attributes\":\"11000000000000000000000000000000\","
	    "\"attributesMask\":\"FBFFFFFFFFFFFFFF0000000000000000\","
	    "\"mrsigner\":\"%s\",\"isvprodid\":2,\"tcbLevels\":[{\"tcb\":"
	    "{\"isvsvn\":4},\"tcbDate\":\"2024-03-13T00:00:00Z\","
	    "\"tcbStatus\":\"%s\"},{\"tcb\":{\"isvsvn\":0},\"tcbDate\":"
	    "\"2018-01-04T00:00:00Z\",\"tcbStatus\":\"OutOfDate\"}]}",
	    iss, next, p->eval_num, mrs, p->qe_status);
	inner = bb_cstr(&b);
	out = signed_json("enclaveIdentity", inner, k->signing_key);
	free(inner);
	return out;
}

static uint8_t *
crl(X509 *issuer, EVP_PKEY *key, X509 *revoked, time_t now, time_t next,
    size_t *len)
{
	X509_CRL	*c = X509_CRL_new();
	X509_REVOKED	*r;
	ASN1_TIME	*t = ASN1_TIME_new();
	unsigned char	*der = NULL;
	int		 n;

	X509_CRL_set_version(c, 1);
	X509_CRL_set_issuer_name(c, X509_get_subject_name(issuer));
	ASN1_TIME_set(t, now - 86400);
	X509_CRL_set1_lastUpdate(c, t);
	ASN1_TIME_set(t, next);
	X509_CRL_set1_nextUpdate(c, t);
	if (revoked != NULL) {
		r = X509_REVOKED_new();
		X509_REVOKED_set_serialNumber(r,
		    (ASN1_INTEGER *)(uintptr_t)X509_get0_serialNumber(revoked));
		ASN1_TIME_set(t, now - 3600);
		X509_REVOKED_set_revocationDate(r, t);
		X509_CRL_add0_revoked(c, r);
	}
	X509_CRL_sort(c);
	if (X509_CRL_sign(c, key, EVP_sha256()) <= 0 ||
	    (n = i2d_X509_CRL(c, &der)) <= 0)
		abort();
	ASN1_TIME_free(t);
	X509_CRL_free(c);
	*len = (size_t)n;
	return der;
}

/* --- parameters and the document ------------------------------------------- */

void
fxt_params_default(struct fxt_params *p, time_t now)
{
	size_t	i;

	memset(p, 0, sizeof(*p));
	p->now = now;
	memcpy(p->fmspc, "\x50\x80\x6f\x00\x00\x00", 6);
	memset(p->comp, 3, sizeof(p->comp));
	p->pcesvn = 13;
	p->sgx_type = 1;
	memset(p->piid, 0x8c, sizeof(p->piid));
	p->dynamic_platform = 1;
	p->smt_enabled = 1;
	p->pck_not_after = now + 5 * YEAR;
	memcpy(p->tee_tcb_svn, "\x05\x00\x02\x00\x00\x00\x00\x00"
	    "\x00\x00\x00\x00\x00\x00\x00\x00", 16);
	for (i = 0; i < 48; i++) {
		p->mr_seam[i] = (uint8_t)(0x40 + i);
		p->mr_td[i] = (uint8_t)(0x80 + i);
		p->rtmr[0][i] = (uint8_t)(0x10 + i);
		p->rtmr[1][i] = (uint8_t)(0x20 + i);
		p->rtmr[2][i] = (uint8_t)(0x30 + i);
		p->rtmr[3][i] = 0;
	}
	p->td_attributes = 1ULL << 28;
	p->xfam = 0x61ae7;
	memcpy(p->qe_vendor, "\x93\x9a\x72\x33\xf7\x9c\x4c\xa9\x94\x0a\x0d"
	    "\xb3\x95\x7f\x06\x07", 16);
	p->qe_isvsvn = 4;
	p->qe_prodid = 2;
	memset(p->qe_mrsigner, 0xdc, sizeof(p->qe_mrsigner));
	memcpy(p->qe_id_mrsigner, p->qe_mrsigner, 32);
	memcpy(p->tcb_pceid, p->pceid, 2);
	memcpy(p->tcb_mrsigner_seam, p->mr_signer_seam, 48);
	p->flip_body = -1;
	p->tcb_status = "UpToDate";
	p->qe_status = "UpToDate";
	memset(p->tcb_sgx, 2, sizeof(p->tcb_sgx));
	memcpy(p->tcb_tdx, "\x05\x00\x02", 3);
	p->tcb_pcesvn = 11;
	p->eval_num = 21;
	p->tcb_next = now + 30 * 86400;
	p->qe_next = now + 30 * 86400;
	p->crl_next = now + 30 * 86400;
	/* Used when a test sets TEE_TCB_SVN[1] = 1. */
	p->module_ids = "[{\"id\":\"TDX_01\",\"mrsigner\":\"" "00" "\","
	    "\"attributes\":\"0000000000000000\",\"attributesMask\":"
	    "\"FFFFFFFFFFFFFFFF\",\"tcbLevels\":[{\"tcb\":{\"isvsvn\":5},"
	    "\"tcbDate\":\"2024-03-13T00:00:00Z\",\"tcbStatus\":\"UpToDate\"},"
	    "{\"tcb\":{\"isvsvn\":2},\"tcbDate\":\"2023-08-09T00:00:00Z\","
	    "\"tcbStatus\":\"OutOfDate\"}]}]";
}

static struct att_view
vw(const uint8_t *p, size_t n)
{
	struct att_view	v = { p, n };

	return v;
}

int
fxt_build(const struct fxt_pki *k, const struct fxt_params *p,
    struct fxt_doc *d)
{
	struct att_tdx_quote	 q;
	EVP_PKEY		*ak = p256();
	X509			*pck;
	uint8_t			 akraw[64], h[ATT_TDX_HEADER_SIZE];
	uint8_t			 body[ATT_TDX_BODY_SIZE], msg[sizeof(h) + sizeof(body)];
	uint8_t			 qe[ATT_TDX_QE_REPORT_SIZE], qerd[64], md[32];
	uint8_t			 sig[64], qesig[64], auth[32], seam[8], attr[8];
	uint8_t			 xfam[8], qe_attr[16], zero[96], misc_pad[28];
	uint8_t			 svn2[2] = { 0, 0 }, pce2[2] = { 13, 0 };
	uint8_t			 user[20], cpusvn[16], mr_enclave[32];
	struct bb		 chain = { 0 };
	char			*pem;
	size_t			 i;

	memset(d, 0, sizeof(*d));
	memset(&q, 0, sizeof(q));
	memset(zero, 0, sizeof(zero));
	memset(misc_pad, 0, sizeof(misc_pad));
	memset(user, 0, sizeof(user));
	memset(mr_enclave, 0x77, sizeof(mr_enclave));
	memcpy(cpusvn, p->comp, 16);
	for (i = 0; i < 32; i++)
		auth[i] = (uint8_t)i;
	for (i = 0; i < 8; i++) {
		seam[i] = (uint8_t)(p->seam_attributes >> (8 * i));
		attr[i] = (uint8_t)(p->td_attributes >> (8 * i));
		xfam[i] = (uint8_t)(p->xfam >> (8 * i));
	}
	memset(qe_attr, 0, sizeof(qe_attr));
	qe_attr[0] = 0x11;
	qe_attr[8] = 0xe7;

	pck = pck_cert(k, p);
	pem = pem_of(pck);
	bb_str(&chain, pem);
	free(pem);
	pem = pem_of(k->pca);
	bb_str(&chain, pem);
	free(pem);
	bb_str(&chain, k->root_pem);
	pub_raw(ak, akraw);

	q.version = 4;
	q.key_type = 2;
	q.tee_type = ATT_TDX_TEE;
	q.pce_svn = vw(pce2, 2);
	q.qe_svn = vw(svn2, 2);
	q.qe_vendor_id = vw(p->qe_vendor, 16);
	q.user_data = vw(user, 20);
	q.tee_tcb_svn = vw(p->tee_tcb_svn, 16);
	q.mr_seam = vw(p->mr_seam, 48);
	q.mr_signer_seam = vw(p->mr_signer_seam, 48);
	q.seam_attributes = vw(seam, 8);
	q.td_attributes = vw(attr, 8);
	q.xfam = vw(xfam, 8);
	q.mr_td = vw(p->mr_td, 48);
	q.mr_config_id = vw(p->mr_config_id, 48);
	q.mr_owner = vw(zero, 48);
	q.mr_owner_config = vw(zero, 48);
	for (i = 0; i < 4; i++)
		q.rtmr[i] = vw(p->rtmr[i], 48);
	q.nrtmrs = 4;
	q.report_data = vw(p->report_data, 64);
	att_tdx_header_abi(&q, h);
	att_tdx_body_abi(&q, body);
	memcpy(msg, h, sizeof(h));
	memcpy(msg + sizeof(h), body, sizeof(body));
	sign_raw(ak, msg, sizeof(msg), sig);

	/* QE report: REPORT_DATA = SHA-256(key || auth data) || 0^32. */
	EVP_Digest(akraw, 64, md, NULL, EVP_sha256(), NULL);
	memset(qerd, 0, sizeof(qerd));
	memcpy(qerd, md, 32);
	/* Hash of key || auth: key first, then auth. */
	{
		EVP_MD_CTX *c = EVP_MD_CTX_new();

		EVP_DigestInit_ex(c, EVP_sha256(), NULL);
		EVP_DigestUpdate(c, akraw, 64);
		EVP_DigestUpdate(c, auth, 32);
		EVP_DigestFinal_ex(c, qerd, NULL);
		EVP_MD_CTX_free(c);
	}
	if (p->bad_qe_binding)
		qerd[5] ^= 1;
	q.cpu_svn = vw(cpusvn, 16);
	q.misc_select = p->qe_miscselect;
	q.reserved1 = vw(misc_pad, 28);
	q.attributes = vw(qe_attr, 16);
	q.mr_enclave = vw(mr_enclave, 32);
	q.reserved2 = vw(zero, 32);
	q.mr_signer = vw(p->qe_mrsigner, 32);
	q.reserved3 = vw(zero, 96);
	q.isv_prod_id = p->qe_prodid;
	q.isv_svn = p->qe_isvsvn;
	q.reserved4 = vw(zero, 60);
	q.qe_report_data = vw(qerd, 64);
	att_tdx_qe_report_abi(&q, qe);
	sign_raw(k->pck_key, qe, sizeof(qe), qesig);

	q.signature = vw(sig, 64);
	q.attestation_key = vw(akraw, 64);
	q.cert_type = ATT_TDX_CERT_QE_REPORT;
	q.qe_report_signature = vw(qesig, 64);
	q.qe_auth_size = 32;
	q.qe_auth_data = vw(auth, 32);
	q.pck_type = ATT_TDX_CERT_PCK_CHAIN;
	q.pck_size = (uint32_t)chain.len;
	q.pck_chain = vw(chain.p, chain.len);
	q.cert_size = (uint32_t)(ATT_TDX_QE_REPORT_SIZE + 64 + 2 + 32 + 6 +
	    chain.len);
	q.signed_data_size = 64 + 64 + 6 + q.cert_size;
	q.has_header = q.has_body = q.has_signed = q.has_cert = 1;
	q.has_qe_cert = q.has_qe_report = q.has_qe_auth = q.has_pck = 1;

	fxt_quote_abi(&q, &d->abi, &d->abi_len);
	if (p->flip_body >= 0 && p->flip_body < ATT_TDX_BODY_SIZE)
		d->abi[ATT_TDX_HEADER_SIZE + p->flip_body] ^= 0x01;
	free(chain.p);
	if (att_tdx_from_abi(d->abi, d->abi_len, &d->q, NULL, 0) != ATT_OK)
		abort();
	fxt_quote_proto(&d->q, &d->proto, &d->proto_len);

	d->tcb_info = tcb_info(k, p);
	d->qe_identity = qe_identity(k, p);
	pem = pem_of(k->signing);
	{
		struct bb	c = { 0 };

		bb_str(&c, pem);
		bb_str(&c, k->root_pem);
		d->tcb_chain = fxt_url_escape(bb_cstr(&c));
		d->qe_chain = strdup(d->tcb_chain);
		free(c.p);
	}
	free(pem);
	pem = pem_of(k->pca);
	{
		struct bb	c = { 0 };

		bb_str(&c, pem);
		bb_str(&c, k->root_pem);
		d->pck_crl_chain = fxt_url_escape(bb_cstr(&c));
		free(c.p);
	}
	free(pem);
	d->pck_crl = crl(k->pca, k->pca_key, p->revoke_pck ? pck : NULL,
	    p->now, p->crl_next, &d->pck_crl_len);
	d->root_crl = crl(k->root, k->root_key, NULL, p->now, p->crl_next,
	    &d->root_crl_len);
	X509_free(pck);
	EVP_PKEY_free(ak);
	return 0;
}

void
fxt_doc_free(struct fxt_doc *d)
{
	free(d->abi);
	free(d->proto);
	free(d->tcb_info);
	free(d->qe_identity);
	free(d->tcb_chain);
	free(d->qe_chain);
	free(d->pck_crl_chain);
	OPENSSL_free(d->pck_crl);
	OPENSSL_free(d->root_crl);
	memset(d, 0, sizeof(*d));
}

void
fxt_pcs_docs(const struct fxt_doc *d, const struct attest_trust *t,
    const char *fmspc, long long eval, struct attest_pcs_doc out[4])
{
	static char	urls[4][ATT_URL_MAX];

	if (eval > 0)
		snprintf(urls[0], sizeof(urls[0]), "%s/tdx/certification/v4/"
		    "tcb?fmspc=%s&tcbEvaluationDataNumber=%lld", t->pcs_base,
		    fmspc, eval);
	else
		snprintf(urls[0], sizeof(urls[0]), "%s/tdx/certification/v4/"
		    "tcb?fmspc=%s", t->pcs_base, fmspc);
	snprintf(urls[1], sizeof(urls[1]), "%s/tdx/certification/v4/qe/"
	    "identity", t->pcs_base);
	snprintf(urls[2], sizeof(urls[2]), "%s/sgx/certification/v4/pckcrl?"
	    "ca=platform&encoding=der", t->pcs_base);
	snprintf(urls[3], sizeof(urls[3]), "%s", t->pcs_root_crl);
	memset(out, 0, 4 * sizeof(*out));
	out[0].url = urls[0];
	out[0].body = (const uint8_t *)d->tcb_info;
	out[0].body_len = strlen(d->tcb_info);
	out[0].issuer_chain = d->tcb_chain;
	out[0].issuer_chain_len = strlen(d->tcb_chain);
	out[1].url = urls[1];
	out[1].body = (const uint8_t *)d->qe_identity;
	out[1].body_len = strlen(d->qe_identity);
	out[1].issuer_chain = d->qe_chain;
	out[1].issuer_chain_len = strlen(d->qe_chain);
	out[2].url = urls[2];
	out[2].body = d->pck_crl;
	out[2].body_len = d->pck_crl_len;
	out[2].issuer_chain = d->pck_crl_chain;
	out[2].issuer_chain_len = strlen(d->pck_crl_chain);
	out[3].url = urls[3];
	out[3].body = d->root_crl;
	out[3].body_len = d->root_crl_len;
}

/* --- manifest, Coordinator JSON, envelope --------------------------------- */

void
fxt_ref_default(struct fxt_ref *r, const struct fxt_params *p)
{
	size_t	i;

	memset(r, 0, sizeof(*r));
	r->min_eval = 21;
	memcpy(r->mr_td, p->mr_td, 48);
	memcpy(r->mr_seam, p->mr_seam, 48);
	for (i = 0; i < 8; i++)
		r->xfam[i] = (uint8_t)(p->xfam >> (8 * i));
	memcpy(r->rtmr, p->rtmr, sizeof(r->rtmr));
	r->piids = "[\"8C8C8C8C8C8C8C8C8C8C8C8C8C8C8C8C\","
	    "\"00112233445566778899AABBCCDDEEFF\"]";
}

char *
fxt_ref_json(const struct fxt_ref *r)
{
	struct bb	b = { 0 };
	char		h[97];
	int		i;

	bb_fmt(&b, "{\"Platform\":\"Metal-QEMU-TDX-GPU\","
	    "\"MinTCBEvaluationDataNumber\":%lld,", r->min_eval);
	hexs(r->mr_td, 48, h, 0);
	bb_fmt(&b, "\"MrTd\":\"%s\",", h);
	hexs(r->mr_seam, 48, h, 0);
	bb_fmt(&b, "\"MrSeam\":\"%s\",\"Rtmrs\":[", h);
	for (i = 0; i < 4; i++) {
		hexs(r->rtmr[i], 48, h, 0);
		bb_fmt(&b, "%s\"%s\"", i ? "," : "", h);
	}
	hexs(r->xfam, 8, h, 0);
	bb_fmt(&b, "],\"Xfam\":\"%s\",", h);
	if (r->piids != NULL)
		bb_fmt(&b, "\"AllowedPIIDs\":%s,", r->piids);
	bb_fmt(&b, "\"MemoryIntegrity\":%s,\"SMTDisabled\":%s,"
	    "\"StaticPlatform\":%s,\"CPUs\":1}",
	    r->memory_integrity ? "true" : "false",
	    r->smt_disabled ? "true" : "false",
	    r->static_platform ? "true" : "false");
	return bb_cstr(&b);
}

static char *
b64(const void *p, size_t n)
{
	char	*out = malloc(4 * ((n + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
	return out;
}

static char *
ca_pem(const char *cn)
{
	EVP_PKEY	*k = EVP_EC_gen("P-384");
	X509		*x = X509_new();
	X509_NAME	*n = X509_NAME_new();
	char		*pem;

	X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8,
	    (const unsigned char *)"Contrast", -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, n);
	X509_gmtime_adj(X509_getm_notBefore(x), -86400);
	X509_gmtime_adj(X509_getm_notAfter(x), 10L * YEAR);
	X509_set_pubkey(x, k);
	add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
	X509_sign(x, k, EVP_sha384());
	pem = pem_of(x);
	X509_NAME_free(n);
	X509_free(x);
	EVP_PKEY_free(k);
	return pem;
}

static void
sha(const void *p, size_t n, uint8_t out[32])
{
	EVP_Digest(p, n, out, NULL, EVP_sha256(), NULL);
}

int
fxt_full_build(const struct fxt_pki *k, struct fxt_params *p,
    const char *entries, const char *extra, struct fxt_full *f)
{
	struct fxt_ref	 r;
	struct bb	 m = { 0 }, c = { 0 }, e = { 0 };
	uint8_t		 t[64], buf[128];
	char		 hash[65], *ref, *s;
	size_t		 i;
	struct fxt_params dflt;

	memset(f, 0, sizeof(*f));
	/* The manifest says what an untampered quote says. */
	fxt_params_default(&dflt, p->now);
	for (i = 0; i < 32; i++) {
		f->nonce[i] = (uint8_t)(0xa0 + i);
		f->policy_hash[i] = (uint8_t)(0x11 * (i % 15 + 1));
	}
	hexs(f->policy_hash, 32, hash, 0);
	fxt_ref_default(&r, &dflt);
	ref = fxt_ref_json(&r);
	bb_fmt(&m, "{\"Policies\":{\"%s\":{\"SANs\":[\"coordinator\",\"*\"],"
	    "\"WorkloadSecretID\":\"\",\"Role\":\"coordinator\"}},"
	    "\"ReferenceValues\":{\"snp\":[%s],\"tdx\":[", hash,
	    p->snp_entries != NULL ? p->snp_entries : "");
	bb_str(&m, entries != NULL ? entries : ref);
	bb_str(&m, "]},\"SeedshareOwnerPubKeys\":[]}\n");
	free(ref);
	f->manifest = bb_cstr(&m);
	f->root_pem = ca_pem("system:coordinator:root");
	f->mesh_pem = ca_pem("system:coordinator:meshCA");

	/* REPORT_DATA (attestation spec 1.3), independently of keyd/attest. */
	memset(t, 0, sizeof(t));
	sha(f->manifest, strlen(f->manifest), t);
	sha(t, 64, t + 32);
	memcpy(buf, f->nonce, 32);
	memcpy(buf + 32, t + 32, 32);
	sha(f->root_pem, strlen(f->root_pem), buf + 64);
	sha(f->mesh_pem, strlen(f->mesh_pem), buf + 96);
	if (!p->rd_set) {
		memset(p->report_data, 0, 64);
		sha(buf, sizeof(buf), p->report_data);
	}
	if (!p->config_set) {
		memset(p->mr_config_id, 0, 48);
		memcpy(p->mr_config_id, f->policy_hash, 32);
	}
	if (fxt_build(k, p, &f->doc) == -1)
		return -1;

	bb_str(&c, "{\"version\":\"v1.20.0\",\"raw_attestation_doc\":\"");
	s = b64(f->doc.proto, f->doc.proto_len);
	bb_str(&c, s);
	free(s);
	bb_str(&c, "\",\"manifests\":[\"");
	s = b64(f->manifest, strlen(f->manifest));
	bb_str(&c, s);
	free(s);
	bb_str(&c, "\"],\"policies\":[],\"root_ca\":\"");
	s = b64(f->root_pem, strlen(f->root_pem));
	bb_str(&c, s);
	free(s);
	bb_str(&c, "\",\"mesh_ca\":\"");
	s = b64(f->mesh_pem, strlen(f->mesh_pem));
	bb_str(&c, s);
	free(s);
	bb_str(&c, "\"");
	if (extra != NULL)
		bb_fmt(&c, ",%s", extra);
	bb_str(&c, "}");
	s = b64(c.p, c.len);
	bb_fmt(&e, "{\"AttestationDoc\":\"%s\"}", s);
	free(s);
	free(c.p);
	f->body = bb_cstr(&e);
	return 0;
}

void
fxt_full_free(struct fxt_full *f)
{
	fxt_doc_free(&f->doc);
	free(f->manifest);
	free(f->body);
	free(f->root_pem);
	free(f->mesh_pem);
	memset(f, 0, sizeof(*f));
}
