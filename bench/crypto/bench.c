/*
 * Crypto core benchmark: prints "name value" lines that bench.sh puts in
 * a table next to @noble/post-quantum and `openssl speed`.  Not a test:
 * nothing here asserts a timing.
 *
 *	xwing_keygen_us		X-Wing key pair from a 32-byte seed
 *	xwing_decaps_us		decapsulation with the expanded key
 *	xwing_seed_decaps_us	key expansion + decapsulation (what
 *				noble's decapsulate(ct, seed) does)
 *	sx_client_us		sx_begin + sx_finish against a prepared valid
 *				response (fixed seed, so one response fits)
 *	json_encrypt_mbps	field encryption of a 1 MB chat body
 *	json_decrypt_mbps	and of its encrypted response form
 *	gcm_raw_mbps		in-process AES-256-GCM on 1 MB, for scale
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include "fieldcipher.h"
#include "hpke.h"
#include "jsonmut.h"
#include "sx.h"
#include "util.h"
#include "xwing.h"

static double
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Seconds per call: the best of five rounds of secs/5 each, so a burst of
 * load from other processes on a shared machine spoils one round, not the
 * figure.
 */
static double
per_op(void (*fn)(void *), void *arg, double secs)
{
	double		t0, t, best = 0;
	unsigned long	n;
	int		round;

	fn(arg);			/* warm caches and allocator */
	for (round = 0; round < 5; round++) {
		t0 = now_s();
		n = 0;
		do {
			fn(arg);
			n++;
		} while ((t = now_s() - t0) < secs / 5);
		if (round == 0 || t / (double)n < best)
			best = t / (double)n;
	}
	return best;
}

static struct xwing_sk	*xsk;
static uint8_t		 seed[32], pk[XWING_PK_BYTES], ct[XWING_CT_BYTES];

static void
op_keygen(void *arg)
{
	if (xwing_keygen(xsk, pk, seed) == -1)
		abort();
}

static void
op_decaps(void *arg)
{
	uint8_t	ss[32];

	if (xwing_decaps(xsk, ss, ct, sizeof(ct)) == -1)
		abort();
}

static void
op_seed_decaps(void *arg)
{
	op_keygen(arg);
	op_decaps(arg);
}

/* --- secret exchange: a one-off mesh PKI and a prepared response ---- */

struct sxb {
	X509		*ca;
	struct buf	 resp;
};

static X509 *
cert(EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey, int ca)
{
	X509		*x = X509_new();
	X509_NAME	*n = X509_NAME_new();
	X509V3_CTX	 v;
	X509_EXTENSION	*e;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), ca ? 1 : 2);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)(ca ? "mesh CA" : "leaf"), -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
	X509_set_pubkey(x, key);
	X509V3_set_ctx(&v, issuer ? issuer : x, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &v, ca ? NID_basic_constraints :
	    NID_ext_key_usage, ca ? "critical,CA:TRUE" :
	    "serverAuth,clientAuth");
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	X509_sign(x, ikey, EVP_sha256());
	X509_NAME_free(n);
	return x;
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

static void
sx_prepare(struct sxb *b)
{
	EVP_PKEY	*cak = EVP_EC_gen("P-256"), *lk = EVP_EC_gen("P-256");
	EVP_PKEY_CTX	*pc;
	X509		*leaf;
	uint8_t		 eseed[64], ss[32], d[32], sig[160], der[4096], *p = der;
	size_t		 siglen = sizeof(sig);
	int		 derlen;

	b->ca = cert(cak, NULL, cak, 1);
	leaf = cert(lk, b->ca, cak, 0);
	if (xwing_keygen(xsk, pk, seed) == -1)
		abort();
	randombytes_buf(eseed, sizeof(eseed));
	if (xwing_encaps_derand(ct, ss, pk, sizeof(pk), eseed) == -1)
		abort();
	sx_digest(pk, sizeof(pk), ct, sizeof(ct), d);
	if ((pc = EVP_PKEY_CTX_new(lk, NULL)) == NULL ||
	    EVP_PKEY_sign_init(pc) != 1 ||
	    EVP_PKEY_sign(pc, sig, &siglen, d, sizeof(d)) != 1)
		abort();
	derlen = i2d_X509(leaf, &p);
	buf_init(&b->resp, 8192);
	buf_adds(&b->resp, "{\"EncapsulatedKey\":\"");
	b64(&b->resp, ct, sizeof(ct));
	buf_adds(&b->resp, "\",\"Signature\":\"");
	b64(&b->resp, sig, siglen);
	buf_adds(&b->resp, "\",\"MeshCert\":\"");
	b64(&b->resp, der, (size_t)derlen);
	buf_adds(&b->resp, "\"}");
	EVP_PKEY_CTX_free(pc);
	X509_free(leaf);
	EVP_PKEY_free(cak);
	EVP_PKEY_free(lk);
}

static void
op_sx(void *arg)
{
	struct sxb		*b = arg;
	struct sx		*sx;
	struct sx_secret	*sec;
	struct buf		 req;
	struct cerr		 err;

	buf_init(&req, 2048);
	if (sx_begin_seed(&sx, seed, &req, &err) == -1 ||
	    sx_finish(sx, b->resp.p, b->resp.len, b->ca, time(NULL), &sec,
	    &err) == -1) {
		fprintf(stderr, "sx: %s\n", err.msg);
		abort();
	}
	sx_secret_free(sec);
	sx_free(sx);
	buf_free(&req);
}

/* --- JSON field encryption of a 1 MB chat body --------------------- */

struct jb {
	struct jm_skip	 skip, rskip;
	struct buf	 body, enc, resp, out;
	uint8_t		 key[32], nonce[12];
};

static void
op_json_enc(void *arg)
{
	struct jb	*j = arg;
	struct fc	*fc = fc_new(j->key, 32, "bench", j->nonce, NULL);
	struct cerr	 err;

	buf_reset(&j->enc);
	if (jm_mutate(j->body.p, j->body.len, &j->skip, fc_encrypt_cb, fc,
	    &j->enc, &err) == -1)
		abort();
	fc_free(fc);
}

static void
op_json_dec(void *arg)
{
	struct jb	*j = arg;
	struct fc	*fc = fc_new(j->key, 32, "bench", j->nonce, NULL);
	struct cerr	 err;

	buf_reset(&j->out);
	if (jm_mutate(j->resp.p, j->resp.len, &j->rskip, fc_decrypt_cb, fc,
	    &j->out, &err) == -1)
		abort();
	fc_free(fc);
}

static void
json_prepare(struct jb *j)
{
	static const char *const plain[] = { "model", "stream_options",
	    "max_tokens", "max_completion_tokens", "n", "stream" };
	struct fc	*srv;
	size_t		 i;
	struct cerr	 err;

	memset(j, 0, sizeof(*j));
	randombytes_buf(j->key, sizeof(j->key));
	randombytes_buf(j->nonce, sizeof(j->nonce));
	jm_skip_init(&j->skip);
	for (i = 0; i < nitems(plain); i++)
		jm_skip_add(&j->skip, plain[i]);
	jm_skip_init(&j->rskip);
	jm_skip_add(&j->rskip, "id");
	jm_skip_add(&j->rskip, "usage");
	/*
	 * Ten messages of ~100 kB: English prose with a newline or quote
	 * every line or so, some non-ASCII and a code fragment -- about one
	 * escape per 60 bytes, like a long chat history.
	 */
	buf_init(&j->body, 1 << 20);
	buf_adds(&j->body, "{\"model\":\"gpt-oss-120b\",\"messages\":[");
	for (i = 0; i < 10; i++) {
		buf_addf(&j->body, "%s{\"role\":\"%s\",\"content\":\"", i ? "," :
		    "", i % 2 ? "assistant" : "user");
		while (j->body.len < (i + 1) * 104000)
			buf_adds(&j->body, "Large language models are trained "
			    "on large corpora of text and can answer questions, "
			    "write code and summarise documents.\\n\\nWhen a "
			    "user sends a prompt, the \\\"context\\\" is "
			    "tokenised \xe2\x80\x94 caf\xc3\xa9, na\xc3\xafve "
			    "\xf0\x9f\x98\x80 \\u00e9 \\u2014 \\n```c\\nif (x) "
			    "{ return \\\"a\\\\b\\\"; }\\n```\\n");
		buf_adds(&j->body, "\"}");
	}
	buf_adds(&j->body, "],\"stream\":false,\"temperature\":0.7,"
	    "\"cache_salt\":\"p1234567890123456789012345678912\"}");
	buf_init(&j->enc, 0);
	buf_init(&j->out, 0);
	/* The response: the same size, encrypted as a server would. */
	buf_init(&j->resp, 0);
	srv = fc_new(j->key, 32, "bench", j->nonce, &err);
	buf_adds(&j->resp, "{\"id\":\"chatcmpl-1\",\"choices\":");
	fc_encrypt(srv, j->body.p + 35, j->body.len - 35 - 92, &j->resp,
	    &err);
	buf_adds(&j->resp, ",\"usage\":{\"total_tokens\":1}}");
	fc_free(srv);
}

static void
op_gcm(void *arg)
{
	struct jb	*j = arg;
	EVP_CIPHER_CTX	*c = EVP_CIPHER_CTX_new();
	uint8_t		*dst = xmalloc(j->body.len + 16), tag[16];
	int		 l;

	if (!EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, j->key, j->nonce) ||
	    !EVP_EncryptUpdate(c, dst, &l, j->body.p, (int)j->body.len) ||
	    !EVP_EncryptFinal_ex(c, dst + l, &l) ||
	    !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag))
		abort();
	EVP_CIPHER_CTX_free(c);
	free(dst);
}

/* Run one measurement unless a name filter (argv[2]) excludes it. */
static int
want(const char *only, const char *name)
{
	return only == NULL || strstr(name, only) != NULL;
}

int
main(int argc, char *argv[])
{
	struct sxb	 sb;
	struct jb	 jb;
	double		 secs = argc > 1 ? atof(argv[1]) : 2.0, t;
	const char	*only = argc > 2 ? argv[2] : NULL;

	if (sodium_init() < 0 || (xsk = sodium_malloc(sizeof(*xsk))) == NULL)
		return 1;
	randombytes_buf(seed, sizeof(seed));
	sx_prepare(&sb);		/* also sets pk and ct */

	if (want(only, "xwing_keygen_us"))
		printf("xwing_keygen_us %.1f\n",
		    1e6 * per_op(op_keygen, NULL, secs));
	op_keygen(NULL);
	if (want(only, "xwing_decaps_us"))
		printf("xwing_decaps_us %.1f\n",
		    1e6 * per_op(op_decaps, NULL, secs));
	if (want(only, "xwing_seed_decaps_us"))
		printf("xwing_seed_decaps_us %.1f\n",
		    1e6 * per_op(op_seed_decaps, NULL, secs));
	if (want(only, "sx_client_us"))
		printf("sx_client_us %.1f\n", 1e6 * per_op(op_sx, &sb, secs));

	json_prepare(&jb);
	printf("json_body_bytes %zu\n", jb.body.len);
	if (want(only, "json_encrypt_mbps")) {
		t = per_op(op_json_enc, &jb, secs);
		printf("json_encrypt_mbps %.1f\n",
		    (double)jb.body.len / t / 1e6);
	}
	if (want(only, "json_decrypt_mbps")) {
		t = per_op(op_json_dec, &jb, secs);
		printf("json_decrypt_mbps %.1f\n",
		    (double)jb.resp.len / t / 1e6);
	}
	if (want(only, "gcm_raw_mbps")) {
		t = per_op(op_gcm, &jb, secs);
		printf("gcm_raw_mbps %.1f\n", (double)jb.body.len / t / 1e6);
	}
	sodium_free(xsk);
	return 0;
}
