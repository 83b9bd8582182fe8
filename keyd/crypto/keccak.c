/*
 * Keccak-f[1600] sponge (FIPS 202).  Lanes are kept as host integers and
 * bytes enter and leave little-endian, so the code is endian-neutral.
 */
#include "config.h"

#include <string.h>

#include "keccak.h"
#include "log.h"

#define ROL64(x, r)	(((x) << (r)) | ((x) >> ((64 - (r)) & 63)))

static const uint64_t keccak_rc[24] = {
	0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL,
	0x8000000080008000ULL, 0x000000000000808bULL, 0x0000000080000001ULL,
	0x8000000080008081ULL, 0x8000000000008009ULL, 0x000000000000008aULL,
	0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
	0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL,
	0x8000000000008003ULL, 0x8000000000008002ULL, 0x8000000000000080ULL,
	0x000000000000800aULL, 0x800000008000000aULL, 0x8000000080008081ULL,
	0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

/*
 * rho rotation for lane (x, y) stored at x + 5y, and where pi moves it:
 * lane (x, y) goes to (y, 2x + 3y mod 5).
 */
static const uint8_t keccak_rot[25] = {
	 0,  1, 62, 28, 27,
	36, 44,  6, 55, 20,
	 3, 10, 43, 25, 39,
	41, 45, 15, 21,  8,
	18,  2, 61, 56, 14,
};
static const uint8_t keccak_dst[25] = {
	 0, 10, 20,  5, 15,
	16,  1, 11, 21,  6,
	 7, 17,  2, 12, 22,
	23,  8, 18,  3, 13,
	14, 24,  9, 19,  4,
};

void
keccak_f1600(uint64_t s[25])
{
	uint64_t	c[5], d[5], b[25];
	int		round, x, y, i;

	for (round = 0; round < 24; round++) {
		/* theta: mix each column's parity into its neighbours */
		for (x = 0; x < 5; x++)
			c[x] = s[x] ^ s[x + 5] ^ s[x + 10] ^ s[x + 15] ^
			    s[x + 20];
		for (x = 0; x < 5; x++) {
			d[x] = c[(x + 4) % 5] ^ ROL64(c[(x + 1) % 5], 1);
			for (y = 0; y < 25; y += 5)
				s[y + x] ^= d[x];
		}
		/* rho and pi together */
		for (i = 0; i < 25; i++)
			b[keccak_dst[i]] = ROL64(s[i], keccak_rot[i]);
		/* chi: the only non-linear step, row by row */
		for (y = 0; y < 25; y += 5)
			for (x = 0; x < 5; x++)
				s[y + x] = b[y + x] ^
				    (~b[y + (x + 1) % 5] & b[y + (x + 2) % 5]);
		/* iota */
		s[0] ^= keccak_rc[round];
	}
}

static void
keccak_init(struct keccak *k, unsigned int rate, uint8_t dsbyte)
{
	memset(k->s, 0, sizeof(k->s));
	k->pos = 0;
	k->rate = rate;
	k->dsbyte = dsbyte;
	k->squeezing = 0;
}

void
shake128_init(struct keccak *k)
{
	keccak_init(k, SHAKE128_RATE, 0x1f);
}

void
shake256_init(struct keccak *k)
{
	keccak_init(k, SHAKE256_RATE, 0x1f);
}

void
sha3_256_init(struct keccak *k)
{
	keccak_init(k, SHA3_256_RATE, 0x06);
}

void
sha3_512_init(struct keccak *k)
{
	keccak_init(k, SHA3_512_RATE, 0x06);
}

static inline uint64_t
load64_le(const uint8_t *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
	    (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 |
	    (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
	    (uint64_t)p[7] << 56;
}

static inline void
store64_le(uint8_t *p, uint64_t v)
{
	int	i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void
xor_byte(struct keccak *k, unsigned int off, uint8_t v)
{
	k->s[off / 8] ^= (uint64_t)v << (8 * (off % 8));
}

void
keccak_absorb(struct keccak *k, const void *in, size_t n)
{
	const uint8_t	*p = in;
	unsigned int	 i;

	if (k->squeezing)
		fatalx("%s: absorb after squeeze", __func__);
	/* Finish a partial block byte by byte. */
	while (n > 0 && k->pos != 0) {
		xor_byte(k, k->pos++, *p++);
		n--;
		if (k->pos == k->rate) {
			keccak_f1600(k->s);
			k->pos = 0;
		}
	}
	/* Whole blocks a lane at a time: the bulk of H(ek) and J(z||c). */
	while (n >= k->rate) {
		for (i = 0; i < k->rate / 8; i++)
			k->s[i] ^= load64_le(p + 8 * i);
		keccak_f1600(k->s);
		p += k->rate;
		n -= k->rate;
	}
	while (n > 0) {
		xor_byte(k, k->pos++, *p++);
		n--;
	}
}

static void
keccak_finish(struct keccak *k)
{
	xor_byte(k, k->pos, k->dsbyte);
	xor_byte(k, k->rate - 1, 0x80);
	keccak_f1600(k->s);
	k->pos = 0;
	k->squeezing = 1;
}

void
keccak_squeeze(struct keccak *k, void *out, size_t n)
{
	uint8_t	*p = out;

	if (!k->squeezing)
		keccak_finish(k);
	while (n > 0) {
		if (k->pos == k->rate) {
			keccak_f1600(k->s);
			k->pos = 0;
		}
		*p++ = (uint8_t)(k->s[k->pos / 8] >> (8 * (k->pos % 8)));
		k->pos++;
		n--;
	}
}

void
keccak_squeeze_blocks(struct keccak *k, uint8_t *out, size_t nblocks)
{
	unsigned int	i;

	if (!k->squeezing)
		keccak_finish(k);
	if (k->pos != 0 && k->pos != k->rate)
		fatalx("%s: unaligned squeeze", __func__);
	while (nblocks-- > 0) {
		/* A fresh sponge's first block is already permuted. */
		if (k->pos == k->rate)
			keccak_f1600(k->s);
		for (i = 0; i < k->rate / 8; i++)
			store64_le(out + 8 * i, k->s[i]);
		out += k->rate;
		k->pos = k->rate;
	}
}

void
keccak_wipe(struct keccak *k)
{
	explicit_bzero(k, sizeof(*k));
}

void
sha3_256(uint8_t out[32], const void *in, size_t n)
{
	struct keccak	k;

	sha3_256_init(&k);
	keccak_absorb(&k, in, n);
	keccak_squeeze(&k, out, 32);
	keccak_wipe(&k);
}

void
sha3_512(uint8_t out[64], const void *in, size_t n)
{
	struct keccak	k;

	sha3_512_init(&k);
	keccak_absorb(&k, in, n);
	keccak_squeeze(&k, out, 64);
	keccak_wipe(&k);
}

void
shake128(void *out, size_t outlen, const void *in, size_t n)
{
	struct keccak	k;

	shake128_init(&k);
	keccak_absorb(&k, in, n);
	keccak_squeeze(&k, out, outlen);
	keccak_wipe(&k);
}

void
shake256(void *out, size_t outlen, const void *in, size_t n)
{
	struct keccak	k;

	shake256_init(&k);
	keccak_absorb(&k, in, n);
	keccak_squeeze(&k, out, outlen);
	keccak_wipe(&k);
}
