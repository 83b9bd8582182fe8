/*
 * ML-KEM-768 (FIPS 203, final): the post-quantum half of X-Wing.
 *
 * Keys are kept expanded (matrix A-hat, t-hat, s-hat in the NTT domain) so
 * a decapsulation only does the work FIPS 203 requires per ciphertext.
 * Everything touching secret values is constant time: no branch or table
 * index depends on a secret, division by q is done by multiplication, and
 * the implicit-rejection comparison and selection use masks.
 */
#ifndef PM_MLKEM_H
#define PM_MLKEM_H

#include <stddef.h>
#include <stdint.h>

#define MLKEM768_K		3
#define MLKEM_N			256
#define MLKEM768_EK_BYTES	1184
#define MLKEM768_DK_BYTES	2400
#define MLKEM768_CT_BYTES	1088
#define MLKEM768_SS_BYTES	32
#define MLKEM768_SEED_BYTES	64	/* d || z */
#define MLKEM768_MSG_BYTES	32	/* encapsulation randomness m */

/* A parsed (and modulus-checked) encapsulation key. */
struct mlkem768_ek {
	uint16_t	t[MLKEM768_K][MLKEM_N];		/* t-hat */
	uint16_t	a[MLKEM768_K][MLKEM768_K][MLKEM_N]; /* A-hat */
	uint8_t		rho[32];
	uint8_t		h[32];				/* H(ek) */
	uint8_t		bytes[MLKEM768_EK_BYTES];
};

/* An expanded decapsulation key; secret, keep it in guarded memory. */
struct mlkem768_dk {
	struct mlkem768_ek ek;
	uint16_t	s[MLKEM768_K][MLKEM_N];		/* s-hat */
	uint8_t		z[32];				/* rejection seed */
};

/*
 * KeyGen from the 64-byte seed d || z (FIPS 203 ML-KEM.KeyGen_internal,
 * G = SHA3-512(d || 0x03)).  ek_out, if not NULL, receives the encoded
 * encapsulation key.  Fails only if seedlen is not 64.
 */
int	mlkem768_keygen(struct mlkem768_dk *, uint8_t *ek_out,
	    const uint8_t *seed, size_t seedlen);

/*
 * Parse an encoded encapsulation key: length must be 1184 and every
 * coefficient below q (the FIPS 203 section 7.2 modulus check).
 */
int	mlkem768_ek_parse(struct mlkem768_ek *, const uint8_t *, size_t);

/*
 * Parse an expanded 2400-byte decapsulation key: length, the embedded
 * hash check H(ek) == h (FIPS 203 section 7.3) and the ek modulus check.
 */
int	mlkem768_dk_parse(struct mlkem768_dk *, const uint8_t *, size_t);
/* Encode the expanded key (dk_PKE || ek || H(ek) || z). */
void	mlkem768_dk_encode(const struct mlkem768_dk *,
	    uint8_t out[MLKEM768_DK_BYTES]);

/* Derandomised encapsulation with explicit m (ML-KEM.Encaps_internal). */
void	mlkem768_encaps_derand(const struct mlkem768_ek *,
	    uint8_t ct[MLKEM768_CT_BYTES], uint8_t ss[MLKEM768_SS_BYTES],
	    const uint8_t m[MLKEM768_MSG_BYTES]);

/*
 * Decapsulation with implicit rejection: an invalid ciphertext of the
 * right length yields the pseudo-random J(z || c), never an error.  Fails
 * only if ctlen is not 1088.
 */
int	mlkem768_decaps(const struct mlkem768_dk *,
	    uint8_t ss[MLKEM768_SS_BYTES], const uint8_t *ct, size_t ctlen);

/* Exposed for the exhaustive unit test of the constant-time rounding. */
uint16_t mlkem_compress(uint16_t x, unsigned int d);
uint16_t mlkem_decompress(uint16_t y, unsigned int d);

#endif
