/*
 * Keccak-f[1600] and the FIPS 202 functions ML-KEM needs: SHA3-256,
 * SHA3-512, SHAKE128 and SHAKE256, with incremental absorb and squeeze.
 *
 * Why our own sponge: ML-KEM's SampleNTT reads SHAKE128 output a block at
 * a time until it has 256 coefficients, and how much it needs depends on
 * the seed.  OpenSSL 3.0's EVP_DigestFinalXOF is one-shot (no further
 * squeeze after the first call), so we would have to guess a length and
 * recompute on a shortfall.  A 25-lane permutation is small, is checked
 * against OpenSSL's EVP implementation in the unit tests, and also avoids
 * an EVP fetch per hash on the hot decapsulation path.
 */
#ifndef PM_KECCAK_H
#define PM_KECCAK_H

#include <stddef.h>
#include <stdint.h>

#define SHAKE128_RATE	168
#define SHAKE256_RATE	136
#define SHA3_256_RATE	136
#define SHA3_512_RATE	72

struct keccak {
	uint64_t	s[25];
	unsigned int	pos;		/* byte offset into the rate */
	unsigned int	rate;		/* bytes per block */
	uint8_t		dsbyte;		/* domain bits + first pad bit */
	int		squeezing;
};

/* The bare permutation (24 rounds), exposed for the known-answer test. */
void	keccak_f1600(uint64_t s[25]);

void	shake128_init(struct keccak *);
void	shake256_init(struct keccak *);
void	sha3_256_init(struct keccak *);
void	sha3_512_init(struct keccak *);

/* Absorb more input; fatal if called after squeezing started. */
void	keccak_absorb(struct keccak *, const void *, size_t);
/* Squeeze output; the first call pads and finalises the input. */
void	keccak_squeeze(struct keccak *, void *, size_t);
/* Squeeze whole blocks straight out of the state (n * rate bytes). */
void	keccak_squeeze_blocks(struct keccak *, uint8_t *, size_t nblocks);
/* Wipe the state (it may hold key material). */
void	keccak_wipe(struct keccak *);

/* One-shot helpers. */
void	sha3_256(uint8_t out[32], const void *, size_t);
void	sha3_512(uint8_t out[64], const void *, size_t);
void	shake128(void *out, size_t outlen, const void *, size_t);
void	shake256(void *out, size_t outlen, const void *, size_t);

#endif
