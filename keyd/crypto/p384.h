/*
 * ECDSA verification on P-384 by nettle's secp384r1 code, about twice as
 * fast as OpenSSL 3.0's generic prime-curve arithmetic (300 against
 * 560 us here), for the signatures keyd checks on every attestation (the
 * SEV-SNP report) and every secret exchange (the secret service's).  The
 * digest is used as given, prehashed, as ECDSA prescribes (its leftmost
 * 384 bits when longer).
 *
 * Each returns 1 for a valid signature, 0 for an invalid one, and -1 when
 * the key is not a P-384 EC key: the caller then verifies with OpenSSL.
 */
#ifndef PM_P384_H
#define PM_P384_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/bn.h>
#include <openssl/evp.h>

int	p384_verify(EVP_PKEY *, const uint8_t *digest, size_t dlen,
	    const BIGNUM *r, const BIGNUM *s);
/* A DER ECDSA-Sig-Value: strict DER, no trailing bytes (as OpenSSL). */
int	p384_verify_der(EVP_PKEY *, const uint8_t *digest, size_t dlen,
	    const uint8_t *sig, size_t siglen);

#endif
