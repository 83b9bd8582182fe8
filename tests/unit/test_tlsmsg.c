/*
 * The client TLS key's messages (common/tlsmsg.c): each encoder against
 * its decoder, cut payloads and a byte more refused, shapes that are no
 * handshake's refused; and keyd's check that an RSA block is a PSS
 * encoding (keyd/tlssign.c) before it makes the raw private operation:
 * OpenSSL's own PSS encodings pass, a random block (a ciphertext, say)
 * and encodings with a wrong trailer, salt or separator do not.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "ipc.h"
#include "t.h"
#include "tlsmsg.h"
#include "tlssign.h"

T_GLOBALS;

/* Every strict prefix and the payload plus a byte fail to decode. */
#define CUTS(m, decode) do {						\
	size_t		cut_, bad_ = 0;					\
	struct msgr	cr_;						\
									\
	for (cut_ = 0; cut_ < (m)->len; cut_++) {			\
		msgr_init(&cr_, (m)->p, cut_);				\
		if ((decode) != -1)					\
			bad_++;						\
	}								\
	T_EQ_INT(bad_, 0);						\
	buf_addc((m), 0);						\
	msgr_init(&cr_, (m)->p, (m)->len);				\
	T_EQ_INT((decode), -1);						\
} while (0)

static void
test_pem(void)
{
	static const char	 pem[] = "-----BEGIN CERTIFICATE-----\n";
	const uint8_t		*p;
	size_t			 n;
	struct buf		 m;
	struct msgr		 r;

	T_BEGIN("MSG_TLS_CERT / MSG_TLS_KEY round trip");
	buf_init(&m, 0);
	tls_pem_put(&m, pem, sizeof(pem) - 1);
	msgr_init(&r, m.p, m.len);
	T_EQ_INT(tls_pem_get(&r, &p, &n), 0);
	T_EQ_INT(n, sizeof(pem) - 1);
	T_EQ_MEM(p, pem, n);
	T_BEGIN("MSG_TLS_CERT cut anywhere, or with a byte more, is refused");
	CUTS(&m, tls_pem_get(&cr_, &p, &n));
	buf_free(&m);

	T_BEGIN("MSG_TLS_KEY empty is refused");
	buf_init(&m, 0);
	tls_pem_put(&m, NULL, 0);
	msgr_init(&r, m.p, m.len);
	T_EQ_INT(tls_pem_get(&r, &p, &n), -1);
	buf_free(&m);
}

static void
put_sign(struct buf *m, uint8_t alg, uint8_t md, size_t inlen)
{
	struct tls_sign_req	q;
	static uint8_t		in[TLS_SIG_MAX + 1];

	memset(&q, 0, sizeof(q));
	memset(q.keyid, 0xab, sizeof(q.keyid));
	memset(in, 0x5c, sizeof(in));
	q.alg = alg;
	q.md = md;
	q.in = in;
	q.inlen = inlen;
	tls_sign_put(m, &q);
}

static int
sign_decodes(uint8_t alg, uint8_t md, size_t inlen)
{
	struct tls_sign_req	q;
	struct buf		m;
	struct msgr		r;
	int			rv;

	buf_init(&m, 0);
	put_sign(&m, alg, md, inlen);
	msgr_init(&r, m.p, m.len);
	rv = tls_sign_get(&r, &q);
	buf_free(&m);
	return rv;
}

static void
test_sign(void)
{
	struct tls_sign_req	q;
	struct buf		m;
	struct msgr		r;
	uint8_t			id[TLS_KEYID_LEN];

	T_BEGIN("MSG_TLS_SIGN round trip");
	buf_init(&m, 0);
	put_sign(&m, TSA_ECDSA, TMD_SHA384, 48);
	msgr_init(&r, m.p, m.len);
	T_EQ_INT(tls_sign_get(&r, &q), 0);
	memset(id, 0xab, sizeof(id));
	T_EQ_MEM(q.keyid, id, sizeof(id));
	T_EQ_INT(q.alg, TSA_ECDSA);
	T_EQ_INT(q.md, TMD_SHA384);
	T_EQ_INT(q.inlen, 48);
	T_BEGIN("MSG_TLS_SIGN cut anywhere, or with a byte more, is refused");
	CUTS(&m, tls_sign_get(&cr_, &q));
	buf_free(&m);

	T_BEGIN("MSG_TLS_SIGN: a digest of its hash's length only");
	T_EQ_INT(sign_decodes(TSA_RSA_PKCS1, TMD_SHA256, 32), 0);
	T_EQ_INT(sign_decodes(TSA_RSA_PKCS1, TMD_SHA512, 64), 0);
	T_EQ_INT(sign_decodes(TSA_RSA_PKCS1, TMD_SHA256, 48), -1);
	T_EQ_INT(sign_decodes(TSA_ECDSA, TMD_SHA256, 20), -1);
	T_EQ_INT(sign_decodes(TSA_ECDSA, TMD_NONE, 32), -1);
	T_EQ_INT(sign_decodes(TSA_ECDSA, TMD_MAX + 1, 32), -1);
	T_BEGIN("MSG_TLS_SIGN: a PSS block of an RSA key's size, no hash");
	T_EQ_INT(sign_decodes(TSA_RSA_PSS, TMD_NONE, 256), 0);
	T_EQ_INT(sign_decodes(TSA_RSA_PSS, TMD_SHA256, 256), -1);
	T_EQ_INT(sign_decodes(TSA_RSA_PSS, TMD_NONE, 32), -1);
	T_EQ_INT(sign_decodes(TSA_RSA_PSS, TMD_NONE, TLS_SIG_MAX + 1), -1);
	T_BEGIN("MSG_TLS_SIGN: no algorithm but the three");
	T_EQ_INT(sign_decodes(0, TMD_SHA256, 32), -1);
	T_EQ_INT(sign_decodes(TSA_MAX + 1, TMD_SHA256, 32), -1);
}

static void
test_signed(void)
{
	enum tls_sign_status	 st;
	const uint8_t		*sig;
	size_t			 n;
	struct buf		 m;
	struct msgr		 r;
	uint8_t			 s[72];

	memset(s, 0x30, sizeof(s));
	T_BEGIN("MSG_TLS_SIGNED round trip");
	buf_init(&m, 0);
	tls_signed_put(&m, TSS_OK, s, sizeof(s));
	msgr_init(&r, m.p, m.len);
	T_EQ_INT(tls_signed_get(&r, &st, &sig, &n), 0);
	T_EQ_INT(st, TSS_OK);
	T_EQ_INT(n, sizeof(s));
	T_EQ_MEM(sig, s, n);
	T_BEGIN("MSG_TLS_SIGNED cut anywhere, or with a byte more, is refused");
	CUTS(&m, tls_signed_get(&cr_, &st, &sig, &n));
	buf_free(&m);

	T_BEGIN("MSG_TLS_SIGNED: a refusal carries no signature");
	buf_init(&m, 0);
	tls_signed_put(&m, TSS_REFUSED, s, sizeof(s));
	msgr_init(&r, m.p, m.len);
	T_EQ_INT(tls_signed_get(&r, &st, &sig, &n), 0);
	T_EQ_INT(st, TSS_REFUSED);
	T_EQ_INT(n, 0);
	buf_free(&m);
	T_BEGIN("MSG_TLS_SIGNED: success without a signature, or an "
	    "unknown status, is refused");
	buf_init(&m, 0);
	msg_put_u8(&m, TSS_OK);
	msg_put_bytes(&m, NULL, 0);
	msgr_init(&r, m.p, m.len);
	T_EQ_INT(tls_signed_get(&r, &st, &sig, &n), -1);
	buf_free(&m);
	buf_init(&m, 0);
	msg_put_u8(&m, TSS_MAX + 1);
	msg_put_bytes(&m, NULL, 0);
	msgr_init(&r, m.p, m.len);
	T_EQ_INT(tls_signed_get(&r, &st, &sig, &n), -1);
	buf_free(&m);
}

/* OpenSSL's PSS encoding of a random digest, as TLS makes it. */
static void
pss_block(EVP_PKEY *pk, const char *mdname, uint8_t *blk, size_t k)
{
	uint8_t		 dg[64];
	const EVP_MD	*md = EVP_get_digestbyname(mdname);
	const RSA	*rsa = EVP_PKEY_get0_RSA(pk);

	RAND_bytes(dg, sizeof(dg));
	memset(blk, 0, k);
	T_CHECK(RSA_padding_add_PKCS1_PSS_mgf1((RSA *)(uintptr_t)rsa, blk,
	    dg, md, md, RSA_PSS_SALTLEN_DIGEST) == 1);
}

static void
test_pss(int bits)
{
	EVP_PKEY	*pk;
	uint8_t		 blk[TLS_SIG_MAX];
	size_t		 k;
	int		 i, random_passed = 0;

	T_BEGIN("PSS shape: OpenSSL's encodings pass, anything else fails");
	pk = EVP_RSA_gen((unsigned int)bits);
	T_CHECK(pk != NULL);
	if (pk == NULL)
		return;
	bits = EVP_PKEY_get_bits(pk);
	k = (size_t)EVP_PKEY_get_size(pk);
	pss_block(pk, "SHA256", blk, k);
	T_EQ_INT(tlssign_pss_shape(blk, k, bits), 1);
	pss_block(pk, "SHA384", blk, k);
	T_EQ_INT(tlssign_pss_shape(blk, k, bits), 1);
	pss_block(pk, "SHA512", blk, k);
	T_EQ_INT(tlssign_pss_shape(blk, k, bits), 1);
	T_EQ_INT(tlssign_pss_shape(blk, k - 1, bits), 0);
	blk[k - 1] ^= 1;			/* the trailer */
	T_EQ_INT(tlssign_pss_shape(blk, k, bits), 0);
	blk[k - 1] ^= 1;
	blk[k - 2] ^= 0x10;			/* inside H */
	T_EQ_INT(tlssign_pss_shape(blk, k, bits), 0);
	blk[k - 2] ^= 0x10;
	blk[1] ^= 0x01;				/* the zero padding */
	T_EQ_INT(tlssign_pss_shape(blk, k, bits), 0);
	/* Ciphertexts: random blocks below the modulus. */
	for (i = 0; i < 1000; i++) {
		RAND_bytes(blk, (int)k);
		blk[0] &= 0x7f;
		random_passed += tlssign_pss_shape(blk, k, bits);
	}
	T_EQ_INT(random_passed, 0);
	EVP_PKEY_free(pk);
}

int
main(void)
{
	tlssign_init();
	test_pem();
	test_sign();
	test_signed();
	test_pss(2048);
	test_pss(3072);
	T_DONE();
}
