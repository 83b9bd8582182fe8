/* P-384 ECDSA verification with nettle; see p384.h. */
#include "config.h"

#include <string.h>

#include <gmp.h>
#include <nettle/dsa.h>
#include <nettle/ecc-curve.h>
#include <nettle/ecc.h>
#include <nettle/ecdsa.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>

#include "p384.h"

#define P384_BYTES	48

static int
is_p384(EVP_PKEY *key)
{
	char	group[32];

	return EVP_PKEY_get_base_id(key) == EVP_PKEY_EC &&
	    EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME,
	    group, sizeof(group), NULL) == 1 && strcmp(group, "secp384r1") == 0;
}

/* A non-negative BIGNUM into an mpz; 0 if it is wider than 72 bytes. */
static int
bn_to_mpz(mpz_t out, const BIGNUM *bn)
{
	uint8_t	b[72];
	int	n;

	if (BN_is_negative(bn) || (n = BN_num_bytes(bn)) > (int)sizeof(b))
		return 0;
	BN_bn2bin(bn, b);
	mpz_import(out, (size_t)n, 1, 1, 1, 0, b);
	return 1;
}

/* The public point; 0 if OpenSSL cannot give it or it is off the curve. */
static int
public_point(EVP_PKEY *key, struct ecc_point *q)
{
	BIGNUM	*x = NULL, *y = NULL;
	mpz_t	 mx, my;
	int	 ok;

	mpz_init(mx);
	mpz_init(my);
	ok = EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &x) == 1 &&
	    EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &y) == 1 &&
	    bn_to_mpz(mx, x) && bn_to_mpz(my, y) && ecc_point_set(q, mx, my);
	BN_free(x);
	BN_free(y);
	mpz_clear(mx);
	mpz_clear(my);
	ERR_clear_error();
	return ok;
}

int
p384_verify(EVP_PKEY *key, const uint8_t *digest, size_t dlen,
    const BIGNUM *r, const BIGNUM *s)
{
	struct ecc_point	q;
	struct dsa_signature	sig;
	int			ok;

	if (!is_p384(key)) {
		ERR_clear_error();
		return -1;
	}
	ecc_point_init(&q, nettle_get_secp_384r1());
	dsa_signature_init(&sig);
	/* ecdsa_verify itself refuses r or s outside [1, n-1]. */
	ok = public_point(key, &q) && bn_to_mpz(sig.r, r) &&
	    bn_to_mpz(sig.s, s) && ecdsa_verify(&q, dlen, digest, &sig);
	dsa_signature_clear(&sig);
	ecc_point_clear(&q);
	return ok ? 1 : 0;
}

int
p384_verify_der(EVP_PKEY *key, const uint8_t *digest, size_t dlen,
    const uint8_t *sig, size_t siglen)
{
	const unsigned char	*p = sig;
	unsigned char		*der = NULL;
	ECDSA_SIG		*es;
	const BIGNUM		*r, *s;
	int			 derlen, rv;

	if (!is_p384(key)) {
		ERR_clear_error();
		return -1;
	}
	if (siglen == 0 || siglen > 1024 ||
	    (es = d2i_ECDSA_SIG(NULL, &p, (long)siglen)) == NULL) {
		ERR_clear_error();
		return 0;
	}
	/* OpenSSL's rule: the encoding must be the DER one, and all of it. */
	derlen = i2d_ECDSA_SIG(es, &der);
	if (derlen <= 0 || (size_t)derlen != siglen ||
	    memcmp(der, sig, siglen) != 0)
		rv = 0;
	else {
		ECDSA_SIG_get0(es, &r, &s);
		rv = p384_verify(key, digest, dlen, r, s);
	}
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	ERR_clear_error();
	return rv;
}
