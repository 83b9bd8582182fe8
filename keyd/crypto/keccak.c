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
 * One round, written out with constant indices so the compiler keeps all
 * 25 lanes in registers (a loop with "% 5" indexing runs about five times
 * slower, and Keccak dominates ML-KEM's cost).
 *
 * RHOPI(i, d, r): lane i = (x, y) is rotated by its rho offset r and
 * moved by pi to d = (y, 2x + 3y mod 5); theta's column term is folded in.
 */
#define RHOPI(i, d, r)	b[d] = ROL64(a[i] ^ t[(i) % 5], r)
#define CHI(y) do {							\
	a[y + 0] = b[y + 0] ^ (~b[y + 1] & b[y + 2]);			\
	a[y + 1] = b[y + 1] ^ (~b[y + 2] & b[y + 3]);			\
	a[y + 2] = b[y + 2] ^ (~b[y + 3] & b[y + 4]);			\
	a[y + 3] = b[y + 3] ^ (~b[y + 4] & b[y + 0]);			\
	a[y + 4] = b[y + 4] ^ (~b[y + 0] & b[y + 1]);			\
} while (0)

void
keccak_f1600(uint64_t s[25])
{
	uint64_t	a[25], b[25], c[5], t[5];
	int		round, i;

	memcpy(a, s, sizeof(a));
	for (round = 0; round < 24; round++) {
		/* theta: each column's parity mixed into its neighbours */
		for (i = 0; i < 5; i++)
			c[i] = a[i] ^ a[i + 5] ^ a[i + 10] ^ a[i + 15] ^ a[i + 20];
		t[0] = c[4] ^ ROL64(c[1], 1);
		t[1] = c[0] ^ ROL64(c[2], 1);
		t[2] = c[1] ^ ROL64(c[3], 1);
		t[3] = c[2] ^ ROL64(c[4], 1);
		t[4] = c[3] ^ ROL64(c[0], 1);
		/* rho and pi */
		RHOPI( 0,  0,  0);
		RHOPI( 1, 10,  1);
		RHOPI( 2, 20, 62);
		RHOPI( 3,  5, 28);
		RHOPI( 4, 15, 27);
		RHOPI( 5, 16, 36);
		RHOPI( 6,  1, 44);
		RHOPI( 7, 11,  6);
		RHOPI( 8, 21, 55);
		RHOPI( 9,  6, 20);
		RHOPI(10,  7,  3);
		RHOPI(11, 17, 10);
		RHOPI(12,  2, 43);
		RHOPI(13, 12, 25);
		RHOPI(14, 22, 39);
		RHOPI(15, 23, 41);
		RHOPI(16,  8, 45);
		RHOPI(17, 18, 15);
		RHOPI(18,  3, 21);
		RHOPI(19, 13,  8);
		RHOPI(20, 14, 18);
		RHOPI(21, 24,  2);
		RHOPI(22,  9, 61);
		RHOPI(23, 19, 56);
		RHOPI(24,  4, 14);
		/* chi, the only non-linear step, row by row; then iota */
		CHI(0);
		CHI(5);
		CHI(10);
		CHI(15);
		CHI(20);
		a[0] ^= keccak_rc[round];
	}
	memcpy(s, a, sizeof(a));
	explicit_bzero(b, sizeof(b));
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
