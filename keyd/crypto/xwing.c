/*
 * X-Wing on top of our ML-KEM-768 and libsodium's X25519.  libsodium's
 * crypto_scalarmult rejects an all-zero result, which is exactly the
 * check X-Wing (and Go) want for a small-order peer point.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "keccak.h"
#include "util.h"
#include "xwing.h"

/* The 6-byte label "\.//^\", hashed last (draft-05 and later). */
static const uint8_t xwing_label[6] = { 0x5c, 0x2e, 0x2f, 0x2f, 0x5e, 0x5c };

static void
combiner(uint8_t ss[XWING_SS_BYTES], const uint8_t ss_m[32],
    const uint8_t ss_x[32], const uint8_t ct_x[32], const uint8_t pk_x[32])
{
	struct keccak	h;

	sha3_256_init(&h);
	keccak_absorb(&h, ss_m, 32);
	keccak_absorb(&h, ss_x, 32);
	keccak_absorb(&h, ct_x, 32);
	keccak_absorb(&h, pk_x, 32);
	keccak_absorb(&h, xwing_label, sizeof(xwing_label));
	keccak_squeeze(&h, ss, XWING_SS_BYTES);
	keccak_wipe(&h);
}

int
xwing_keygen(struct xwing_sk *sk, uint8_t *pk,
    const uint8_t seed[XWING_SEED_BYTES])
{
	uint8_t	expanded[96];
	int	rv = -1;

	shake256(expanded, sizeof(expanded), seed, XWING_SEED_BYTES);
	if (mlkem768_keygen(&sk->dk, NULL, expanded, 64) == -1)
		goto out;
	memcpy(sk->sk_x, expanded + 64, 32);
	/* Clamping happens inside; a clamped scalar never gives zero. */
	if (crypto_scalarmult_base(sk->pk_x, sk->sk_x) != 0)
		goto out;
	if (pk != NULL)
		xwing_public_key(sk, pk);
	rv = 0;
 out:
	sodium_memzero(expanded, sizeof(expanded));
	return rv;
}

void
xwing_public_key(const struct xwing_sk *sk, uint8_t pk[XWING_PK_BYTES])
{
	memcpy(pk, sk->dk.ek.bytes, MLKEM768_EK_BYTES);
	memcpy(pk + MLKEM768_EK_BYTES, sk->pk_x, 32);
}

int
xwing_decaps(const struct xwing_sk *sk, uint8_t ss[XWING_SS_BYTES],
    const uint8_t *ct, size_t ctlen)
{
	uint8_t	ss_m[32], ss_x[32];
	int	rv = -1;

	if (ctlen != XWING_CT_BYTES)
		return -1;
	if (mlkem768_decaps(&sk->dk, ss_m, ct, MLKEM768_CT_BYTES) == -1)
		goto out;
	if (crypto_scalarmult(ss_x, sk->sk_x, ct + MLKEM768_CT_BYTES) != 0)
		goto out;
	combiner(ss, ss_m, ss_x, ct + MLKEM768_CT_BYTES, sk->pk_x);
	rv = 0;
 out:
	sodium_memzero(ss_m, sizeof(ss_m));
	sodium_memzero(ss_x, sizeof(ss_x));
	return rv;
}

int
xwing_encaps_derand(uint8_t ct[XWING_CT_BYTES], uint8_t ss[XWING_SS_BYTES],
    const uint8_t *pk, size_t pklen, const uint8_t eseed[XWING_ESEED_BYTES])
{
	struct mlkem768_ek	*ek;
	const uint8_t		*pk_x = pk + MLKEM768_EK_BYTES;
	uint8_t			 ss_m[32], ss_x[32];
	uint8_t			*ct_x = ct + MLKEM768_CT_BYTES;
	int			 rv = -1;

	if (pklen != XWING_PK_BYTES)
		return -1;
	/* The parsed key is large (A-hat) but public: plain heap. */
	ek = xmalloc(sizeof(*ek));
	if (mlkem768_ek_parse(ek, pk, MLKEM768_EK_BYTES) == -1)
		goto out;
	mlkem768_encaps_derand(ek, ct, ss_m, eseed);
	if (crypto_scalarmult_base(ct_x, eseed + 32) != 0)
		goto out;
	if (crypto_scalarmult(ss_x, eseed + 32, pk_x) != 0)
		goto out;
	combiner(ss, ss_m, ss_x, ct_x, pk_x);
	rv = 0;
 out:
	free(ek);
	sodium_memzero(ss_m, sizeof(ss_m));
	sodium_memzero(ss_x, sizeof(ss_x));
	return rv;
}
