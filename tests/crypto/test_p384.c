/*
 * keyd/crypto/p384.c (nettle) against OpenSSL's own ECDSA verification,
 * an independent implementation: the same verdict on valid signatures
 * over digests of several lengths and on every kind of bad one (changed
 * digest, changed r or s, r or s zero or not below the group order,
 * non-DER and trailing bytes, another key), and -1 for other curves.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "p384.h"
#include "t.h"

T_GLOBALS;

#define ROUNDS	150

static int
openssl_verdict(EVP_PKEY *key, const uint8_t *d, size_t dlen,
    const uint8_t *sig, size_t siglen)
{
	EVP_PKEY_CTX	*c = EVP_PKEY_CTX_new(key, NULL);
	int		 ok;

	if (c == NULL || EVP_PKEY_verify_init(c) != 1)
		abort();
	ok = EVP_PKEY_verify(c, sig, siglen, d, dlen) == 1;
	EVP_PKEY_CTX_free(c);
	return ok;
}

static size_t
sign(EVP_PKEY *key, const uint8_t *d, size_t dlen, uint8_t *sig)
{
	EVP_PKEY_CTX	*c = EVP_PKEY_CTX_new(key, NULL);
	size_t		 n = 200;

	if (c == NULL || EVP_PKEY_sign_init(c) != 1 ||
	    EVP_PKEY_sign(c, sig, &n, d, dlen) != 1)
		abort();
	EVP_PKEY_CTX_free(c);
	return n;
}

/* DER of (r, s). */
static size_t
encode(const BIGNUM *r, const BIGNUM *s, uint8_t *out)
{
	ECDSA_SIG	*es = ECDSA_SIG_new();
	unsigned char	*p = out;
	int		 n;

	if (es == NULL || !ECDSA_SIG_set0(es, BN_dup(r), BN_dup(s)))
		abort();
	n = i2d_ECDSA_SIG(es, &p);
	ECDSA_SIG_free(es);
	return n > 0 ? (size_t)n : 0;
}

static void
same(EVP_PKEY *key, const uint8_t *d, size_t dlen, const uint8_t *sig,
    size_t siglen, int want, const char *what)
{
	int	ours = p384_verify_der(key, d, dlen, sig, siglen);
	int	ref = openssl_verdict(key, d, dlen, sig, siglen);

	T_CHECK(ours == ref);
	T_CHECK(ours == want);
	if (ours != ref || ours != want)
		fprintf(stderr, "  %s: nettle %d, openssl %d, want %d\n", what,
		    ours, ref, want);
}

static void
test_cross(void)
{
	static const size_t	 dlens[] = { 32, 48, 64, 20 };
	EVP_PKEY		*key, *other;
	EC_GROUP		*g = EC_GROUP_new_by_curve_name(NID_secp384r1);
	const BIGNUM		*n = EC_GROUP_get0_order(g);
	BIGNUM			*r, *s, *t;
	uint8_t			 d[64], sig[200], bad[220];
	const unsigned char	*p;
	ECDSA_SIG		*es;
	size_t			 siglen, badlen, dlen;
	int			 i;

	T_BEGIN("P-384: nettle and OpenSSL agree, good and bad signatures");
	other = EVP_EC_gen("P-384");
	t = BN_new();
	for (i = 0; i < ROUNDS; i++) {
		key = EVP_EC_gen("P-384");
		dlen = dlens[i % 4];
		if (key == NULL || RAND_bytes(d, sizeof(d)) != 1)
			abort();
		siglen = sign(key, d, dlen, sig);
		same(key, d, dlen, sig, siglen, 1, "valid");
		same(other, d, dlen, sig, siglen, 0, "other key");
		/* Only the leftmost 384 bits of a longer digest count. */
		d[i % 20] ^= 0x10;
		same(key, d, dlen, sig, siglen, 0, "changed digest");
		d[i % 20] ^= 0x10;
		if (dlen == 64) {
			d[50] ^= 0x10;
			same(key, d, dlen, sig, siglen, 1, "beyond 384 bits");
			d[50] ^= 0x10;
		}

		p = sig;
		if ((es = d2i_ECDSA_SIG(NULL, &p, (long)siglen)) == NULL)
			abort();
		r = BN_dup(ECDSA_SIG_get0_r(es));
		s = BN_dup(ECDSA_SIG_get0_s(es));
		BN_add_word(r, 1);
		badlen = encode(r, s, bad);
		same(key, d, dlen, bad, badlen, 0, "r + 1");
		BN_sub_word(r, 1);
		BN_add_word(s, 1);
		badlen = encode(r, s, bad);
		same(key, d, dlen, bad, badlen, 0, "s + 1");
		BN_sub_word(s, 1);
		/* r + n is congruent to r but not below n. */
		BN_add(t, r, n);
		badlen = encode(t, s, bad);
		same(key, d, dlen, bad, badlen, 0, "r + n");
		BN_add(t, s, n);
		badlen = encode(r, t, bad);
		same(key, d, dlen, bad, badlen, 0, "s + n");
		BN_zero(t);
		badlen = encode(t, s, bad);
		same(key, d, dlen, bad, badlen, 0, "r = 0");
		badlen = encode(r, t, bad);
		same(key, d, dlen, bad, badlen, 0, "s = 0");
		/* Not DER: trailing byte; r with a superfluous leading zero. */
		memcpy(bad, sig, siglen);
		bad[siglen] = 0;
		same(key, d, dlen, bad, siglen + 1, 0, "trailing byte");
		if (sig[1] < 0x7f && sig[3] < 0x7f) {
			bad[0] = 0x30;
			bad[1] = (uint8_t)(sig[1] + 1);
			bad[2] = 0x02;
			bad[3] = (uint8_t)(sig[3] + 1);
			bad[4] = 0;
			memcpy(bad + 5, sig + 4, siglen - 4);
			same(key, d, dlen, bad, siglen + 1, 0, "padded r");
		}
		same(key, d, dlen, sig, siglen - 1, 0, "truncated");
		same(key, d, dlen, sig, 0, 0, "empty");
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(es);
		EVP_PKEY_free(key);
	}
	BN_free(t);
	EVP_PKEY_free(other);
	EC_GROUP_free(g);
}

static void
test_other_curves(void)
{
	EVP_PKEY	*k256 = EVP_EC_gen("P-256");
	EVP_PKEY	*ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	uint8_t		 d[32] = { 1 }, sig[100];
	size_t		 n;

	T_BEGIN("P-384: other keys are left to OpenSSL (-1)");
	n = sign(k256, d, sizeof(d), sig);
	T_EQ_INT(p384_verify_der(k256, d, sizeof(d), sig, n), -1);
	T_EQ_INT(p384_verify_der(ed, d, sizeof(d), sig, n), -1);
	EVP_PKEY_free(k256);
	EVP_PKEY_free(ed);
}

int
main(void)
{
	test_cross();
	test_other_curves();
	T_DONE();
}
