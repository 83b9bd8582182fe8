/*
 * X-Wing (draft-connolly-cfrg-xwing-kem, label last), HPKE KEM 0x647a:
 * ML-KEM-768 combined with X25519.  This is the KEM of the Privatemode
 * secret exchange; the private key is a 32-byte seed.
 */
#ifndef PM_XWING_H
#define PM_XWING_H

#include <stddef.h>
#include <stdint.h>

#include "mlkem.h"

#define XWING_SEED_BYTES	32
#define XWING_ESEED_BYTES	64	/* m (32) || ephemeral X25519 secret */
#define XWING_PK_BYTES		1216	/* ML-KEM ek (1184) || X25519 pk */
#define XWING_CT_BYTES		1120	/* ML-KEM ct (1088) || X25519 pk */
#define XWING_SS_BYTES		32
#define XWING_HPKE_KEM_ID	0x647a

/* An expanded private key; secret, keep it in guarded memory. */
struct xwing_sk {
	struct mlkem768_dk	dk;
	uint8_t			sk_x[32];
	uint8_t			pk_x[32];
};

/*
 * Derive the key pair from its seed: SHAKE256(seed, 96) gives the
 * ML-KEM seed d || z and the X25519 secret.  pk may be NULL.
 */
int	xwing_keygen(struct xwing_sk *, uint8_t *pk,
	    const uint8_t seed[XWING_SEED_BYTES]);

/* The encoded public key of an expanded private key. */
void	xwing_public_key(const struct xwing_sk *, uint8_t pk[XWING_PK_BYTES]);

/*
 * Decapsulate.  Fails if ctlen is not 1120 or if X25519 yields the
 * all-zero point (a small-order ephemeral key), as Go's crypto/hpke does.
 */
int	xwing_decaps(const struct xwing_sk *, uint8_t ss[XWING_SS_BYTES],
	    const uint8_t *ct, size_t ctlen);

/*
 * Derandomised encapsulation (tests and the benchmark's mock server).
 * Fails on a malformed public key (length, ML-KEM modulus check) or an
 * all-zero X25519 result.
 */
int	xwing_encaps_derand(uint8_t ct[XWING_CT_BYTES],
	    uint8_t ss[XWING_SS_BYTES], const uint8_t *pk, size_t pklen,
	    const uint8_t eseed[XWING_ESEED_BYTES]);

#endif
