/*
 * The secret-exchange client step against a mock secret service built
 * here from our X-Wing encapsulation, the HPKE schedule and a locally
 * generated mesh PKI: the happy path (both sides derive the same secret
 * and ID), Go-decoder leniency, and every refusal: foreign, expired or
 * not-yet-valid certificate, wrong EKU, non-ECDSA key, trailing data,
 * bad base64, swapped or foreign signatures, wrong encapsulation length.
 * Also the derived IDs and digest of attestation-and-key-exchange.md 6.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include "hpke.h"
#include "json.h"
#include "sx.h"
#include "t.h"
#include "tc.h"
#include "util.h"
#include "xwing.h"

T_GLOBALS;

#define T0	((time_t)1750000000)
#define DAY	((time_t)86400)

struct pki {
	EVP_PKEY	*ca_key;
	X509		*ca;
	EVP_PKEY	*leaf_key;
	X509		*leaf;
};

static void
add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX	 ctx;
	X509_EXTENSION	*ext;

	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL ||
	    !X509_add_ext(cert, ext, -1))
		abort();
	X509_EXTENSION_free(ext);
}

static X509 *
make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
    time_t nb, time_t na, int ca, const char *eku)
{
	static long	 serial = 1;
	X509		*x = X509_new();
	X509_NAME	*name = X509_NAME_new();

	if (x == NULL || name == NULL)
		abort();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	ASN1_TIME_set(X509_getm_notBefore(x), nb);
	ASN1_TIME_set(X509_getm_notAfter(x), na);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
	X509_set_pubkey(x, key);
	if (ca) {
		add_ext(x, issuer ? issuer : x, NID_basic_constraints,
		    "critical,CA:TRUE");
		add_ext(x, issuer ? issuer : x, NID_key_usage,
		    "critical,keyCertSign,cRLSign");
	} else
		add_ext(x, issuer, NID_key_usage, "critical,digitalSignature");
	if (eku != NULL)
		add_ext(x, issuer ? issuer : x, NID_ext_key_usage, eku);
	if (!X509_sign(x, issuer_key, EVP_PKEY_get_base_id(issuer_key) ==
	    EVP_PKEY_ED25519 ? NULL : EVP_sha256()))
		abort();
	X509_NAME_free(name);
	return x;
}

static void
pki_make(struct pki *p, const char *curve, const char *leaf_type,
    time_t nb, time_t na, const char *eku)
{
	p->ca_key = EVP_EC_gen(curve);
	p->ca = make_cert("mesh CA", p->ca_key, NULL, p->ca_key, T0 - 30 * DAY,
	    T0 + 365 * DAY, 1, NULL);
	if (strcmp(leaf_type, "ed25519") == 0)
		p->leaf_key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	else
		p->leaf_key = EVP_EC_gen(leaf_type);
	if (p->ca_key == NULL || p->leaf_key == NULL)
		abort();
	p->leaf = make_cert("secret-service", p->leaf_key, p->ca, p->ca_key,
	    nb, na, 0, eku);
}

static void
pki_free(struct pki *p)
{
	X509_free(p->ca);
	X509_free(p->leaf);
	EVP_PKEY_free(p->ca_key);
	EVP_PKEY_free(p->leaf_key);
}

static void
b64(struct buf *out, const uint8_t *p, size_t n)
{
	size_t	 l = sodium_base64_ENCODED_LEN(n,
		    sodium_base64_VARIANT_ORIGINAL);
	char	*s = xmalloc(l);

	sodium_bin2base64(s, l, p, n, sodium_base64_VARIANT_ORIGINAL);
	buf_adds(out, s);
	free(s);
}

/* What the mock service did, for the test to compare and to tamper. */
struct served {
	uint8_t		secret[32];
	char		id[SX_ID_LEN + 1];
	uint8_t		pk[XWING_PK_BYTES];
	uint8_t		enc[XWING_CT_BYTES];
	size_t		enclen;
	uint8_t		sig[160];
	size_t		siglen;
	uint8_t		cert[4096];
	size_t		certlen;
};

static void
sign_digest(EVP_PKEY *key, const uint8_t digest[32], uint8_t *sig,
    size_t *siglen)
{
	EVP_PKEY_CTX	*c;
	EVP_MD_CTX	*m;

	*siglen = 160;
	if (EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519) {
		/* Only for the not-ECDSA case: the client refuses it first. */
		if ((m = EVP_MD_CTX_new()) == NULL ||
		    EVP_DigestSignInit(m, NULL, NULL, NULL, key) != 1 ||
		    EVP_DigestSign(m, sig, siglen, digest, 32) != 1)
			abort();
		EVP_MD_CTX_free(m);
		return;
	}
	c = EVP_PKEY_CTX_new(key, NULL);
	if (c == NULL || EVP_PKEY_sign_init(c) != 1 ||
	    EVP_PKEY_sign(c, sig, siglen, digest, 32) != 1)
		abort();
	EVP_PKEY_CTX_free(c);
}

/* The secret service: encapsulate to the request's key, sign, export. */
static void
serve(const struct buf *req, EVP_PKEY *sign_key, X509 *cert,
    struct served *s)
{
	struct json_span	 all;
	struct json_iter	 it;
	struct json_member	 m;
	struct hpke_ctx		 ctx;
	struct buf		 pkb64;
	uint8_t			 eseed[64], ss[32], digest[32], *p;
	size_t			 len;

	buf_init(&pkb64, 0);
	T_EQ_INT(json_validate(req->p, req->len, 0, NULL), JSON_OK);
	json_value_span(req->p, req->len, 0, &all);
	json_iter_init(&it, req->p, all);
	T_EQ_INT(json_iter_next(&it, &m), 1);
	T_EQ_STR(m.name, "PublicKey");
	json_unescape(req->p + m.value.off, m.value.len, &pkb64);
	T_EQ_INT(json_iter_next(&it, &m), 0);
	json_iter_free(&it);
	T_EQ_INT(pkb64.len, 1624);
	T_EQ_INT(sodium_base642bin(s->pk, sizeof(s->pk), (char *)pkb64.p,
	    pkb64.len, NULL, &len, NULL, sodium_base64_VARIANT_ORIGINAL), 0);
	T_EQ_INT(len, XWING_PK_BYTES);
	buf_free(&pkb64);

	randombytes_buf(eseed, sizeof(eseed));
	T_EQ_INT(xwing_encaps_derand(s->enc, ss, s->pk, sizeof(s->pk), eseed),
	    0);
	s->enclen = XWING_CT_BYTES;
	T_EQ_INT(hpke_key_schedule_base(&ctx, XWING_HPKE_KEM_ID,
	    HPKE_KDF_HKDF_SHA256, HPKE_AEAD_EXPORT_ONLY, ss, 32, NULL, 0), 0);
	T_EQ_INT(hpke_export(&ctx, NULL, 0, s->secret, 32), 0);
	sx_secret_id(s->pk, sizeof(s->pk), s->id);
	sx_digest(s->pk, sizeof(s->pk), s->enc, s->enclen, digest);
	sign_digest(sign_key, digest, s->sig, &s->siglen);
	p = s->cert;
	s->certlen = (size_t)i2d_X509(cert, &p);
}

/* Render the response JSON from (possibly tampered) parts. */
static void
respond(const struct served *s, struct buf *out)
{
	buf_adds(out, "{\"EncapsulatedKey\":\"");
	b64(out, s->enc, s->enclen);
	buf_adds(out, "\",\"Signature\":\"");
	b64(out, s->sig, s->siglen);
	buf_adds(out, "\",\"MeshCert\":\"");
	b64(out, s->cert, s->certlen);
	buf_adds(out, "\"}");
}

/* One exchange; returns sx_finish's result, secret checked on success. */
static int
exchange(struct pki *p, time_t now, void (*tamper)(struct served *,
    struct pki *), const char *body_override, struct cerr *err)
{
	struct sx		*sx;
	struct sx_secret	*sec = NULL;
	struct buf		 req, resp;
	struct served		 s;
	int			 rv;

	buf_init(&req, 0);
	buf_init(&resp, 0);
	T_EQ_INT(sx_begin(&sx, &req, err), 0);
	serve(&req, p->leaf_key, p->leaf, &s);
	if (tamper != NULL)
		tamper(&s, p);
	if (body_override != NULL)
		buf_adds(&resp, body_override);
	else
		respond(&s, &resp);
	rv = sx_finish(sx, resp.p, resp.len, p->ca, now, &sec, err);
	if (rv == 0) {
		T_EQ_MEM(sec->key, s.secret, 32);
		T_EQ_STR(sec->id, s.id);
		T_EQ_INT(strlen(sec->id), SX_ID_LEN);
	} else
		T_CHECK(sec == NULL);
	sx_secret_free(sec);
	sx_free(sx);
	buf_free(&req);
	buf_free(&resp);
	return rv;
}

static void
swap_pk(struct served *s, struct pki *p)
{
	uint8_t	digest[32];

	s->pk[0] ^= 1;
	sx_digest(s->pk, sizeof(s->pk), s->enc, s->enclen, digest);
	sign_digest(p->leaf_key, digest, s->sig, &s->siglen);
}

static void
tamper_enc(struct served *s, struct pki *p)
{
	s->enc[100] ^= 1;
}

static void
foreign_signer(struct served *s, struct pki *p)
{
	EVP_PKEY	*k = EVP_EC_gen("P-256");
	uint8_t		 digest[32];

	sx_digest(s->pk, sizeof(s->pk), s->enc, s->enclen, digest);
	sign_digest(k, digest, s->sig, &s->siglen);
	EVP_PKEY_free(k);
}

static void
hash_twice(struct served *s, struct pki *p)
{
	uint8_t	digest[32], again[32];

	/* DigestVerify-style: signing SHA-256(digest) must not pass. */
	sx_digest(s->pk, sizeof(s->pk), s->enc, s->enclen, digest);
	EVP_Digest(digest, 32, again, NULL, EVP_sha256(), NULL);
	sign_digest(p->leaf_key, again, s->sig, &s->siglen);
}

static void
no_signature(struct served *s, struct pki *p)
{
	s->siglen = 0;
}

static void
short_enc(struct served *s, struct pki *p)
{
	uint8_t	digest[32];

	s->enclen = XWING_CT_BYTES - 1;
	sx_digest(s->pk, sizeof(s->pk), s->enc, s->enclen, digest);
	sign_digest(p->leaf_key, digest, s->sig, &s->siglen);
}

static void
two_certs(struct served *s, struct pki *p)
{
	memcpy(s->cert + s->certlen, s->cert, s->certlen);
	s->certlen *= 2;
}

static void
garbage_cert(struct served *s, struct pki *p)
{
	memset(s->cert, 0x30, 16);
	s->certlen = 16;
}

static void
foreign_ca(struct served *s, struct pki *p)
{
	struct pki	 other;
	uint8_t		*q = s->cert, digest[32];

	pki_make(&other, "P-256", "P-256", T0 - DAY, T0 + DAY, NULL);
	s->certlen = (size_t)i2d_X509(other.leaf, &q);
	sx_digest(s->pk, sizeof(s->pk), s->enc, s->enclen, digest);
	sign_digest(other.leaf_key, digest, s->sig, &s->siglen);
	pki_free(&other);
}

static void
test_exchange(void)
{
	struct pki	p;
	struct cerr	err;

	T_BEGIN("exchange: happy path, P-256 and P-384");
	pki_make(&p, "P-256", "P-256", T0 - DAY, T0 + 30 * DAY,
	    "serverAuth,clientAuth");
	T_EQ_INT(exchange(&p, T0, NULL, NULL, &err), 0);

	T_BEGIN("exchange: refusals");
	T_EQ_INT(exchange(&p, T0, swap_pk, NULL, &err), -1);
	T_EQ_STR(err.msg, "invalid signature");
	T_EQ_INT(exchange(&p, T0, tamper_enc, NULL, &err), -1);
	T_EQ_STR(err.msg, "invalid signature");
	T_EQ_INT(exchange(&p, T0, foreign_signer, NULL, &err), -1);
	T_EQ_STR(err.msg, "invalid signature");
	T_EQ_INT(exchange(&p, T0, hash_twice, NULL, &err), -1);
	T_EQ_STR(err.msg, "invalid signature");
	T_EQ_INT(exchange(&p, T0, no_signature, NULL, &err), -1);
	T_EQ_STR(err.msg, "invalid signature");
	T_EQ_INT(exchange(&p, T0, short_enc, NULL, &err), -1);
	T_EQ_STR(err.msg, "creating recipient: invalid encapsulated key "
	    "length 1119");
	T_EQ_INT(exchange(&p, T0, two_certs, NULL, &err), -1);
	T_EQ_STR(err.msg, "getting public key: parsing certificate: x509: "
	    "trailing data");
	T_EQ_INT(exchange(&p, T0, garbage_cert, NULL, &err), -1);
	T_CHECK(strncmp(err.msg, "getting public key: parsing certificate: ",
	    41) == 0);
	T_EQ_INT(exchange(&p, T0, foreign_ca, NULL, &err), -1);
	T_EQ_STR(err.msg, "getting public key: verifying certificate: "
	    "x509: certificate signed by unknown authority");
	T_EQ_INT(exchange(&p, T0 + 31 * DAY, NULL, NULL, &err), -1);
	T_EQ_STR(err.msg, "getting public key: verifying certificate: "
	    "x509: certificate has expired or is not yet valid");
	T_EQ_INT(exchange(&p, T0 - 2 * DAY, NULL, NULL, &err), -1);
	T_EQ_STR(err.msg, "getting public key: verifying certificate: "
	    "x509: certificate has expired or is not yet valid");
	pki_free(&p);

	pki_make(&p, "P-384", "P-384", T0 - DAY, T0 + DAY, NULL);
	T_EQ_INT(exchange(&p, T0, NULL, NULL, &err), 0);	/* no EKU: ok */
	pki_free(&p);
	pki_make(&p, "P-256", "P-256", T0 - DAY, T0 + DAY, "clientAuth");
	T_EQ_INT(exchange(&p, T0, NULL, NULL, &err), -1);
	T_EQ_STR(err.msg, "getting public key: verifying certificate: "
	    "x509: certificate specifies an incompatible key usage");
	pki_free(&p);
	pki_make(&p, "P-256", "ed25519", T0 - DAY, T0 + DAY, "serverAuth");
	T_EQ_INT(exchange(&p, T0, NULL, NULL, &err), -1);
	T_EQ_STR(err.msg, "getting public key: public key is not ECDSA");
	pki_free(&p);
}

/*
 * sx_finish remembers the last mesh certificate that passed; nothing
 * that the full check would refuse may pass on the remembered one.
 */
static void
test_remembered_leaf(void)
{
	struct pki	p, other;
	X509		*ca_copy, *mine;
	struct cerr	err;

	T_BEGIN("exchange: a remembered mesh certificate is held to the same rules");
	pki_make(&p, "P-384", "P-384", T0 - DAY, T0 + 400 * DAY, NULL);
	T_EQ_INT(exchange(&p, T0, NULL, NULL, &err), 0);
	T_EQ_INT(exchange(&p, T0 + DAY, NULL, NULL, &err), 0);
	/* The signature is checked on every exchange. */
	T_EQ_INT(exchange(&p, T0, tamper_enc, NULL, &err), -1);
	T_EQ_STR(err.msg, "invalid signature");
	T_EQ_INT(exchange(&p, T0, foreign_signer, NULL, &err), -1);
	T_EQ_STR(err.msg, "invalid signature");
	/* The CA's own validity ends first (T0 + 365 days). */
	T_EQ_INT(exchange(&p, T0 + 366 * DAY, NULL, NULL, &err), -1);
	T_EQ_STR(err.msg, "getting public key: verifying certificate: "
	    "x509: certificate has expired or is not yet valid");
	T_EQ_INT(exchange(&p, T0 - 2 * DAY, NULL, NULL, &err), -1);
	T_EQ_STR(err.msg, "getting public key: verifying certificate: "
	    "x509: certificate has expired or is not yet valid");
	/* The same leaf bytes under another CA (same name, other key). */
	T_EQ_INT(exchange(&p, T0, NULL, NULL, &err), 0);
	pki_make(&other, "P-384", "P-384", T0 - DAY, T0 + DAY, NULL);
	mine = p.ca;
	p.ca = other.ca;
	T_EQ_INT(exchange(&p, T0, NULL, NULL, &err), -1);
	T_EQ_STR(err.msg, "getting public key: verifying certificate: "
	    "x509: certificate signed by unknown authority");
	/* An equal CA in another object (a re-attestation) passes. */
	if ((ca_copy = X509_dup(mine)) == NULL)
		abort();
	p.ca = ca_copy;
	T_EQ_INT(exchange(&p, T0, NULL, NULL, &err), 0);
	p.ca = mine;
	X509_free(ca_copy);
	pki_free(&other);
	pki_free(&p);
}

/* Go's decoder leniency and strictness, on otherwise valid responses. */
static void
test_json_forms(void)
{
	struct pki		 p;
	struct sx		*sx;
	struct sx_secret	*sec;
	struct served		 s;
	struct buf		 req, resp, e, sg, c;
	struct cerr		 err;
	char			*x;
	size_t			 i;

	T_BEGIN("response JSON forms");
	pki_make(&p, "P-256", "P-256", T0 - DAY, T0 + DAY, "serverAuth");
	buf_init(&req, 0);
	buf_init(&resp, 0);
	buf_init(&e, 0);
	buf_init(&sg, 0);
	buf_init(&c, 0);
	T_EQ_INT(sx_begin(&sx, &req, &err), 0);
	serve(&req, p.leaf_key, p.leaf, &s);
	b64(&e, s.enc, s.enclen);
	b64(&sg, s.sig, s.siglen);
	b64(&c, s.cert, s.certlen);
	/* Lowercase names, other order, unknown members, "\/" escapes,
	 * a stale earlier value overridden by the last one. */
	buf_addf(&resp, " {\"meshcert\":\"%s\",\"extra\":[1,{\"x\":null}],"
	    "\"SIGNATURE\":\"AAAA\",\"signature\":\"%s\",\"EncapsulatedKey\":"
	    "\"", buf_cstr(&c), buf_cstr(&sg));
	for (x = buf_cstr(&e); *x != '\0'; x++) {
		if (*x == '/')
			buf_addc(&resp, '\\');
		buf_addc(&resp, (uint8_t)*x);
	}
	buf_adds(&resp, "\"} ");
	T_EQ_INT(sx_finish(sx, resp.p, resp.len, p.ca, T0, &sec, &err), 0);
	T_EQ_MEM(sec->key, s.secret, 32);
	sx_secret_free(sec);
	/* Single use. */
	T_EQ_INT(sx_finish(sx, resp.p, resp.len, p.ca, T0, &sec, &err), -1);
	T_EQ_STR(err.msg, "secret exchange already finished");
	sx_free(sx);

	static const char *const bad[] = {
		"", "not json", "{\"EncapsulatedKey\":", "[1,2]",
		"{\"EncapsulatedKey\":12}", "{\"Signature\":\"AAA\"}",
		"{\"Signature\":\"AA==\\n\"}", "{\"Signature\":\"A A=\"}",
		"{\"MeshCert\":\"-_8=\"}", "null",
	};
	static const char *const want[] = {
		"unmarshaling response: unexpected end of JSON input",
		"unmarshaling response: invalid JSON syntax",
		"unmarshaling response: unexpected end of JSON input",
		"unmarshaling response: json: cannot unmarshal array into Go "
		    "value of type httpapi.SecretResp",
		"unmarshaling response: json: cannot unmarshal number into Go "
		    "struct field SecretResp.EncapsulatedKey of type []uint8",
		NULL, NULL, NULL, NULL,
		"getting public key: parsing certificate: ",
	};
	for (i = 0; i < nitems(bad); i++) {
		T_EQ_INT(exchange(&p, T0, NULL, bad[i], &err), -1);
		if (want[i] != NULL)
			T_CHECK(strncmp(err.msg, want[i], strlen(want[i])) ==
			    0);
		else
			T_CHECK(strncmp(err.msg, "unmarshaling response: "
			    "illegal base64", 37) == 0);
	}
	buf_free(&req);
	buf_free(&resp);
	buf_free(&e);
	buf_free(&sg);
	buf_free(&c);
	pki_free(&p);
}

static void
test_vectors(void)
{
	json_object	*root = tc_load_json("hpke-pq-test-vectors.json");
	json_object	*v, *o;
	uint8_t		 zero[XWING_PK_BYTES], *pk, *enc, d[32], want[32];
	char		 id[SX_ID_LEN + 1];
	size_t		 i, pklen, enclen, found = 0;
	struct buf	 b1, b2;
	struct sx	*a, *b;
	struct cerr	 err;

	T_BEGIN("secret IDs and signed digest");
	memset(zero, 0, sizeof(zero));
	sx_secret_id(zero, sizeof(zero), id);
	T_EQ_STR(id, "l9Nk4tPTXwMKA4xBu63ELQwV+o15ulaZh+Gf3bLoD5o=");
	for (i = 0; i < json_object_array_length(root); i++) {
		v = json_object_array_get_idx(root, i);
		if (!json_object_object_get_ex(v, "kem_id", &o) ||
		    json_object_get_int(o) != XWING_HPKE_KEM_ID ||
		    !json_object_object_get_ex(v, "kdf_id", &o) ||
		    json_object_get_int(o) != HPKE_KDF_HKDF_SHA256)
			continue;
		found++;
		pk = tc_unhex(tc_str(v, "pkRm"), &pklen);
		enc = tc_unhex(tc_str(v, "enc"), &enclen);
		sx_secret_id(pk, pklen, id);
		T_EQ_STR(id, "rYqvPwDYo5v+7ClHp9Xd5ovgi7oZvTAaNIpF3F/Mg0E=");
		sx_digest(pk, pklen, enc, enclen, d);
		tc_unhex_into("0261b4f1314ee1e3a1104a4f1509eecf"
		    "122e34896f8b06d5b5206229fef6d1e6", want, 32);
		T_EQ_MEM(d, want, 32);
		free(pk);
		free(enc);
	}
	T_EQ_INT(found, 1);
	json_object_put(root);

	/* A given seed gives the same request; fresh ones differ. */
	buf_init(&b1, 0);
	buf_init(&b2, 0);
	memset(d, 9, sizeof(d));
	T_EQ_INT(sx_begin_seed(&a, d, &b1, &err), 0);
	T_EQ_INT(sx_begin_seed(&b, d, &b2, &err), 0);
	T_CHECK(b1.len == b2.len && memcmp(b1.p, b2.p, b1.len) == 0);
	T_EQ_INT(b1.len, 14 + 1624 + 2);
	sx_free(a);
	sx_free(b);
	buf_reset(&b1);
	buf_reset(&b2);
	T_EQ_INT(sx_begin(&a, &b1, &err), 0);
	T_EQ_INT(sx_begin(&b, &b2, &err), 0);
	T_CHECK(memcmp(b1.p, b2.p, b1.len) != 0);
	sx_free(a);
	sx_free(b);
	buf_free(&b1);
	buf_free(&b2);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_vectors();
	test_exchange();
	test_remembered_leaf();
	test_json_forms();
	T_DONE();
}
