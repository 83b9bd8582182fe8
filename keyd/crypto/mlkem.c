/*
 * ML-KEM-768 following FIPS 203 algorithm by algorithm.  Coefficients are
 * stored fully reduced in [0, q) as uint16_t; products are reduced with a
 * Barrett step that is exact for any 32-bit input, which lets the NTT-domain
 * dot products accumulate three terms before reducing once.
 */
#include "config.h"

#include <string.h>

#include "keccak.h"
#include "log.h"
#include "mlkem.h"

#define Q		3329
#define K		MLKEM768_K
#define N		MLKEM_N
#define DU		10
#define DV		4
#define POLY12_BYTES	384			/* ByteEncode12 of one poly */
#define C1_BYTES	(K * 32 * DU)		/* 960 */
#define C2_BYTES	(32 * DV)		/* 128 */
#define PRF_BYTES	128			/* 64 * eta, eta1 = eta2 = 2 */
#define BARRETT_M	1290167			/* floor(2^32 / q) */
#define INV128		3303			/* 128^-1 mod q */

typedef uint16_t poly[N];

/* zeta^BitRev7(i) for the NTT layers, zeta = 17. */
static const uint16_t zetas[128] = {
	   1, 1729, 2580, 3289, 2642,  630, 1897,  848,
	1062, 1919,  193,  797, 2786, 3260,  569, 1746,
	 296, 2447, 1339, 1476, 3046,   56, 2240, 1333,
	1426, 2094,  535, 2882, 2393, 2879, 1974,  821,
	 289,  331, 3253, 1756, 1197, 2304, 2277, 2055,
	 650, 1977, 2513,  632, 2865,   33, 1320, 1915,
	2319, 1435,  807,  452, 1438, 2868, 1534, 2402,
	2647, 2617, 1481,  648, 2474, 3110, 1227,  910,
	  17, 2761,  583, 2649, 1637,  723, 2288, 1100,
	1409, 2662, 3281,  233,  756, 2156, 3015, 3050,
	1703, 1651, 2789, 1789, 1847,  952, 1461, 2687,
	 939, 2308, 2437, 2388,  733, 2337,  268,  641,
	1584, 2298, 2037, 3220,  375, 2549, 2090, 1645,
	1063,  319, 2773,  757, 2099,  561, 2466, 2594,
	2804, 1092,  403, 1026, 1143, 2150, 2775,  886,
	1722, 1212, 1874, 1029, 2110, 2935,  885, 2154,
};

/* zeta^(2 BitRev7(i) + 1): the moduli of the degree-2 base multiplications. */
static const uint16_t gammas[128] = {
	  17, 3312, 2761,  568,  583, 2746, 2649,  680,
	1637, 1692,  723, 2606, 2288, 1041, 1100, 2229,
	1409, 1920, 2662,  667, 3281,   48,  233, 3096,
	 756, 2573, 2156, 1173, 3015,  314, 3050,  279,
	1703, 1626, 1651, 1678, 2789,  540, 1789, 1540,
	1847, 1482,  952, 2377, 1461, 1868, 2687,  642,
	 939, 2390, 2308, 1021, 2437,  892, 2388,  941,
	 733, 2596, 2337,  992,  268, 3061,  641, 2688,
	1584, 1745, 2298, 1031, 2037, 1292, 3220,  109,
	 375, 2954, 2549,  780, 2090, 1239, 1645, 1684,
	1063, 2266,  319, 3010, 2773,  556,  757, 2572,
	2099, 1230,  561, 2768, 2466,  863, 2594,  735,
	2804,  525, 1092, 2237,  403, 2926, 1026, 2303,
	1143, 2186, 2150, 1179, 2775,  554,  886, 2443,
	1722, 1607, 1212, 2117, 1874, 1455, 1029, 2300,
	2110, 1219, 2935,  394,  885, 2444, 2154, 1175,
};

/* --- field arithmetic (all branch-free) ------------------------------ */

/* x in [0, 2q) -> x mod q. */
static inline uint16_t
csubq(uint32_t x)
{
	uint32_t	t = x - Q;

	/* t wrapped (top bit set) iff x < q: add q back in that case. */
	t += (0U - (t >> 31)) & Q;
	return (uint16_t)t;
}

/* Any 32-bit x -> x mod q, exact (t is floor(x/q) or one less). */
static inline uint16_t
reduce32(uint32_t x)
{
	uint32_t	t;

	t = (uint32_t)(((uint64_t)x * BARRETT_M) >> 32);
	return csubq(x - t * Q);
}

static inline uint16_t
fq_add(uint16_t a, uint16_t b)
{
	return csubq((uint32_t)a + b);
}

static inline uint16_t
fq_sub(uint16_t a, uint16_t b)
{
	return csubq((uint32_t)a + Q - b);
}

static inline uint16_t
fq_mul(uint16_t a, uint16_t b)
{
	return reduce32((uint32_t)a * b);
}

/* floor(n / q) for n < 2^23 without a division instruction. */
static inline uint32_t
div_q(uint32_t n)
{
	uint32_t	t, r;

	t = (uint32_t)(((uint64_t)n * BARRETT_M) >> 32);
	r = n - t * Q;				/* in [0, 2q) */
	t += 1 - ((r - Q) >> 31);		/* +1 iff r >= q */
	return t;
}

/* Compress_d: round(2^d / q * x) mod 2^d, constant time. */
uint16_t
mlkem_compress(uint16_t x, unsigned int d)
{
	return (uint16_t)(div_q(((uint32_t)x << d) + Q / 2) &
	    ((1U << d) - 1));
}

/* Decompress_d: round(q / 2^d * y). */
uint16_t
mlkem_decompress(uint16_t y, unsigned int d)
{
	return (uint16_t)(((uint32_t)y * Q + (1U << (d - 1))) >> d);
}

/* --- NTT (FIPS 203 algorithms 9-12) ---------------------------------- */

/*
 * b * zeta mod q for a public constant zeta, with zq = floor(zeta 2^16 / q)
 * (Shoup's trick): the quotient estimate is off by at most one, so one
 * conditional subtraction finishes.  Cheaper than the general Barrett
 * step, and the NTTs are half of a decapsulation.
 */
static inline uint16_t
mul_const(uint16_t b, uint16_t zeta, uint32_t zq)
{
	uint32_t	t = ((uint32_t)b * zq) >> 16;

	return csubq((uint32_t)b * zeta - t * Q);
}

static inline uint32_t
shoup(uint16_t zeta)
{
	/* zeta is a public table entry: this division leaks nothing. */
	return ((uint32_t)zeta << 16) / Q;
}

static void
ntt(poly f)
{
	unsigned int	len, start, j, i = 1;
	uint16_t	zeta, t;
	uint32_t	zq;

	for (len = 128; len >= 2; len >>= 1) {
		for (start = 0; start < N; start += 2 * len) {
			zeta = zetas[i++];
			zq = shoup(zeta);
			for (j = start; j < start + len; j++) {
				t = mul_const(f[j + len], zeta, zq);
				f[j + len] = fq_sub(f[j], t);
				f[j] = fq_add(f[j], t);
			}
		}
	}
}

static void
ntt_inv(poly f)
{
	unsigned int	len, start, j, i = 127;
	uint16_t	zeta, t;
	uint32_t	zq;

	for (len = 2; len <= 128; len <<= 1) {
		for (start = 0; start < N; start += 2 * len) {
			zeta = zetas[i--];
			zq = shoup(zeta);
			for (j = start; j < start + len; j++) {
				t = f[j];
				f[j] = fq_add(t, f[j + len]);
				f[j + len] = mul_const(fq_sub(f[j + len], t),
				    zeta, zq);
			}
		}
	}
	zq = shoup(INV128);
	for (j = 0; j < N; j++)
		f[j] = mul_const(f[j], INV128, zq);
}

/*
 * acc += a * b in the NTT domain, coefficients left unreduced: each call
 * adds less than 2 q^2 < 2^25 per slot, so up to 128 calls fit a uint32_t.
 */
static void
basemul_acc(uint32_t acc[N], const poly a, const poly b)
{
	unsigned int	i;
	uint32_t	a0, a1, b0, b1;

	for (i = 0; i < N / 2; i++) {
		a0 = a[2 * i];
		a1 = a[2 * i + 1];
		b0 = b[2 * i];
		b1 = b[2 * i + 1];
		acc[2 * i] += a0 * b0 + (uint32_t)fq_mul(
		    fq_mul((uint16_t)a1, (uint16_t)b1), gammas[i]);
		acc[2 * i + 1] += a0 * b1 + a1 * b0;
	}
}

static void
acc_reduce(poly r, const uint32_t acc[N])
{
	unsigned int	i;

	for (i = 0; i < N; i++)
		r[i] = reduce32(acc[i]);
}

static void
poly_add(poly r, const poly a)
{
	unsigned int	i;

	for (i = 0; i < N; i++)
		r[i] = fq_add(r[i], a[i]);
}

/* --- sampling (algorithms 7, 8 and the PRF) -------------------------- */

/*
 * SampleNTT: rejection-sample SHAKE128(rho || j || i) into A-hat[i][j].
 * Variable time, but only on the public seed rho.
 */
static void
sample_ntt(poly a, const uint8_t rho[32], uint8_t col, uint8_t row)
{
	struct keccak	xof;
	uint8_t		buf[3 * SHAKE128_RATE], seed[34];
	unsigned int	n = 0, pos, avail;
	uint16_t	d1, d2;

	memcpy(seed, rho, 32);
	seed[32] = col;
	seed[33] = row;
	shake128_init(&xof);
	keccak_absorb(&xof, seed, sizeof(seed));
	/* Three blocks almost always suffice; then one block at a time. */
	keccak_squeeze_blocks(&xof, buf, 3);
	avail = sizeof(buf);
	pos = 0;
	while (n < N) {
		if (pos + 3 > avail) {
			keccak_squeeze_blocks(&xof, buf, 1);
			avail = SHAKE128_RATE;
			pos = 0;
		}
		d1 = buf[pos] | (uint16_t)(buf[pos + 1] & 0x0f) << 8;
		d2 = buf[pos + 1] >> 4 | (uint16_t)buf[pos + 2] << 4;
		pos += 3;
		if (d1 < Q)
			a[n++] = d1;
		if (d2 < Q && n < N)
			a[n++] = d2;
	}
}

static void
expand_a(uint16_t a[K][K][N], const uint8_t rho[32])
{
	unsigned int	i, j;

	for (i = 0; i < K; i++)
		for (j = 0; j < K; j++)
			sample_ntt(a[i][j], rho, (uint8_t)j, (uint8_t)i);
}

/* SamplePolyCBD_2 over PRF_2(sigma, nonce) = SHAKE256(sigma || nonce). */
static void
sample_cbd2(poly f, const uint8_t sigma[32], uint8_t nonce)
{
	uint8_t		in[33], buf[PRF_BYTES];
	unsigned int	i, x, y;
	uint8_t		b;

	memcpy(in, sigma, 32);
	in[32] = nonce;
	shake256(buf, sizeof(buf), in, sizeof(in));
	for (i = 0; i < PRF_BYTES; i++) {
		b = buf[i];
		x = (b & 1) + (b >> 1 & 1);
		y = (b >> 2 & 1) + (b >> 3 & 1);
		f[2 * i] = csubq(x + Q - y);
		x = (b >> 4 & 1) + (b >> 5 & 1);
		y = (b >> 6 & 1) + (b >> 7 & 1);
		f[2 * i + 1] = csubq(x + Q - y);
	}
	explicit_bzero(in, sizeof(in));
	explicit_bzero(buf, sizeof(buf));
}

/* --- encodings (algorithms 5, 6) ------------------------------------- */

static void
encode12(uint8_t *out, const poly f)
{
	unsigned int	i;

	for (i = 0; i < N / 2; i++) {
		out[3 * i] = (uint8_t)f[2 * i];
		out[3 * i + 1] = (uint8_t)(f[2 * i] >> 8 | f[2 * i + 1] << 4);
		out[3 * i + 2] = (uint8_t)(f[2 * i + 1] >> 4);
	}
}

/*
 * ByteDecode12.  Returns non-zero if any value was >= q; the values are
 * reduced mod q either way, as FIPS 203 defines for d = 12.
 */
static unsigned int
decode12(poly f, const uint8_t *in)
{
	unsigned int	i, bad = 0;
	uint16_t	a, b;

	for (i = 0; i < N / 2; i++) {
		a = in[3 * i] | (uint16_t)(in[3 * i + 1] & 0x0f) << 8;
		b = in[3 * i + 1] >> 4 | (uint16_t)in[3 * i + 2] << 4;
		/* Accumulate without branching: dk bytes are secret. */
		bad |= (uint32_t)(Q - 1 - a) >> 31;
		bad |= (uint32_t)(Q - 1 - b) >> 31;
		f[2 * i] = csubq(a);
		f[2 * i + 1] = csubq(b);
	}
	return bad;
}

/* Compress_10 + ByteEncode_10: four coefficients in five bytes. */
static void
encode_u(uint8_t *out, const poly f)
{
	unsigned int	i;
	uint16_t	c[4];
	int		j;

	for (i = 0; i < N / 4; i++) {
		for (j = 0; j < 4; j++)
			c[j] = mlkem_compress(f[4 * i + j], DU);
		out[0] = (uint8_t)c[0];
		out[1] = (uint8_t)(c[0] >> 8 | c[1] << 2);
		out[2] = (uint8_t)(c[1] >> 6 | c[2] << 4);
		out[3] = (uint8_t)(c[2] >> 4 | c[3] << 6);
		out[4] = (uint8_t)(c[3] >> 2);
		out += 5;
	}
}

static void
decode_u(poly f, const uint8_t *in)
{
	unsigned int	i;
	uint16_t	c[4];
	int		j;

	for (i = 0; i < N / 4; i++) {
		c[0] = (in[0] | (uint16_t)in[1] << 8) & 0x3ff;
		c[1] = (in[1] >> 2 | (uint16_t)in[2] << 6) & 0x3ff;
		c[2] = (in[2] >> 4 | (uint16_t)in[3] << 4) & 0x3ff;
		c[3] = (in[3] >> 6 | (uint16_t)in[4] << 2) & 0x3ff;
		for (j = 0; j < 4; j++)
			f[4 * i + j] = mlkem_decompress(c[j], DU);
		in += 5;
	}
}

/* Compress_4 + ByteEncode_4. */
static void
encode_v(uint8_t *out, const poly f)
{
	unsigned int	i;

	for (i = 0; i < N / 2; i++)
		out[i] = (uint8_t)(mlkem_compress(f[2 * i], DV) |
		    mlkem_compress(f[2 * i + 1], DV) << 4);
}

static void
decode_v(poly f, const uint8_t *in)
{
	unsigned int	i;

	for (i = 0; i < N / 2; i++) {
		f[2 * i] = mlkem_decompress(in[i] & 0x0f, DV);
		f[2 * i + 1] = mlkem_decompress(in[i] >> 4, DV);
	}
}

/* Decompress_1(ByteDecode_1(m)): bit -> 0 or (q+1)/2, by mask. */
static void
msg_to_poly(poly f, const uint8_t m[32])
{
	unsigned int	i;
	uint16_t	bit;

	for (i = 0; i < N; i++) {
		bit = (m[i / 8] >> (i % 8)) & 1;
		f[i] = (uint16_t)(0U - bit) & ((Q + 1) / 2);
	}
}

static void
poly_to_msg(uint8_t m[32], const poly f)
{
	unsigned int	i;

	memset(m, 0, 32);
	for (i = 0; i < N; i++)
		m[i / 8] |= (uint8_t)(mlkem_compress(f[i], 1) << (i % 8));
}

/* --- K-PKE (algorithms 13-15) ---------------------------------------- */

/* Scratch for encryption; everything in it is secret. */
struct pke_scratch {
	poly		y[K];
	poly		e1;
	poly		e2;
	poly		mu;
	poly		u;
	poly		v;
	uint32_t	acc[N];
};

static void
pke_encrypt(const struct mlkem768_ek *ek, uint8_t ct[MLKEM768_CT_BYTES],
    const uint8_t m[32], const uint8_t r[32])
{
	struct pke_scratch	w;
	unsigned int		i, j;
	uint8_t			nonce = 0;

	for (i = 0; i < K; i++) {
		/* cppcheck-suppress uninitvar ; w.y[i] is the output */
		sample_cbd2(w.y[i], r, nonce++);
		ntt(w.y[i]);
	}
	for (i = 0; i < K; i++) {
		/* u_i = NTT^-1(sum_j A-hat[j][i] y-hat_j) + e1_i */
		sample_cbd2(w.e1, r, nonce++);
		memset(w.acc, 0, sizeof(w.acc));
		for (j = 0; j < K; j++)
			basemul_acc(w.acc, ek->a[j][i], w.y[j]);
		acc_reduce(w.u, w.acc);
		ntt_inv(w.u);
		poly_add(w.u, w.e1);
		encode_u(ct + i * 32 * DU, w.u);
	}
	sample_cbd2(w.e2, r, nonce);
	memset(w.acc, 0, sizeof(w.acc));
	for (j = 0; j < K; j++)
		basemul_acc(w.acc, ek->t[j], w.y[j]);
	acc_reduce(w.v, w.acc);
	ntt_inv(w.v);
	poly_add(w.v, w.e2);
	msg_to_poly(w.mu, m);
	poly_add(w.v, w.mu);
	encode_v(ct + C1_BYTES, w.v);
	explicit_bzero(&w, sizeof(w));
}

static void
pke_decrypt(const struct mlkem768_dk *dk, uint8_t m[32],
    const uint8_t ct[MLKEM768_CT_BYTES])
{
	poly		u, v, w;
	uint32_t	acc[N];
	unsigned int	i;

	memset(acc, 0, sizeof(acc));
	for (i = 0; i < K; i++) {
		decode_u(u, ct + i * 32 * DU);
		ntt(u);
		basemul_acc(acc, dk->s[i], u);
	}
	acc_reduce(w, acc);
	ntt_inv(w);
	decode_v(v, ct + C1_BYTES);
	for (i = 0; i < N; i++)
		w[i] = fq_sub(v[i], w[i]);
	poly_to_msg(m, w);
	explicit_bzero(acc, sizeof(acc));
	explicit_bzero(w, sizeof(w));
	explicit_bzero(u, sizeof(u));
}

/* --- ML-KEM (algorithms 16-18) --------------------------------------- */

static void
ek_finish(struct mlkem768_ek *ek)
{
	unsigned int	i;

	for (i = 0; i < K; i++)
		encode12(ek->bytes + i * POLY12_BYTES, ek->t[i]);
	memcpy(ek->bytes + K * POLY12_BYTES, ek->rho, 32);
	sha3_256(ek->h, ek->bytes, MLKEM768_EK_BYTES);
}

int
mlkem768_keygen(struct mlkem768_dk *dk, uint8_t *ek_out, const uint8_t *seed,
    size_t seedlen)
{
	struct mlkem768_ek	*ek = &dk->ek;
	uint8_t			 g_in[33], g_out[64];
	poly			 e;
	uint32_t		 acc[N];
	unsigned int		 i, j;
	uint8_t			 nonce = 0;

	if (seedlen != MLKEM768_SEED_BYTES)
		return -1;
	/* (rho, sigma) = G(d || k): the domain byte is final FIPS 203. */
	memcpy(g_in, seed, 32);
	g_in[32] = K;
	sha3_512(g_out, g_in, sizeof(g_in));
	memcpy(ek->rho, g_out, 32);
	memcpy(dk->z, seed + 32, 32);
	expand_a(ek->a, ek->rho);
	for (i = 0; i < K; i++) {
		sample_cbd2(dk->s[i], g_out + 32, nonce++);
		ntt(dk->s[i]);
	}
	for (i = 0; i < K; i++) {
		sample_cbd2(e, g_out + 32, nonce++);
		ntt(e);
		memset(acc, 0, sizeof(acc));
		for (j = 0; j < K; j++)
			basemul_acc(acc, ek->a[i][j], dk->s[j]);
		acc_reduce(ek->t[i], acc);
		poly_add(ek->t[i], e);
	}
	ek_finish(ek);
	if (ek_out != NULL)
		memcpy(ek_out, ek->bytes, MLKEM768_EK_BYTES);
	explicit_bzero(g_in, sizeof(g_in));
	explicit_bzero(g_out, sizeof(g_out));
	explicit_bzero(e, sizeof(e));
	explicit_bzero(acc, sizeof(acc));
	return 0;
}

int
mlkem768_ek_parse(struct mlkem768_ek *ek, const uint8_t *in, size_t len)
{
	unsigned int	i, bad = 0;

	if (len != MLKEM768_EK_BYTES)
		return -1;
	for (i = 0; i < K; i++)
		bad |= decode12(ek->t[i], in + i * POLY12_BYTES);
	if (bad)
		return -1;
	memcpy(ek->rho, in + K * POLY12_BYTES, 32);
	memcpy(ek->bytes, in, MLKEM768_EK_BYTES);
	sha3_256(ek->h, ek->bytes, MLKEM768_EK_BYTES);
	expand_a(ek->a, ek->rho);
	return 0;
}

/* Constant-time equality of two byte strings: 0 if equal, else 1. */
static unsigned int
ct_neq(const uint8_t *a, const uint8_t *b, size_t n)
{
	uint8_t	d = 0;
	size_t	i;

	for (i = 0; i < n; i++)
		d |= a[i] ^ b[i];
	return (unsigned int)((0U - (uint32_t)d) >> 31);
}

int
mlkem768_dk_parse(struct mlkem768_dk *dk, const uint8_t *in, size_t len)
{
	const uint8_t	*ekp = in + K * POLY12_BYTES;
	const uint8_t	*hp = ekp + MLKEM768_EK_BYTES;
	unsigned int	 i;

	if (len != MLKEM768_DK_BYTES)
		return -1;
	if (mlkem768_ek_parse(&dk->ek, ekp, MLKEM768_EK_BYTES) == -1)
		return -1;
	if (ct_neq(dk->ek.h, hp, 32))
		return -1;
	for (i = 0; i < K; i++)
		(void)decode12(dk->s[i], in + i * POLY12_BYTES);
	memcpy(dk->z, hp + 32, 32);
	return 0;
}

void
mlkem768_dk_encode(const struct mlkem768_dk *dk, uint8_t out[MLKEM768_DK_BYTES])
{
	unsigned int	i;

	for (i = 0; i < K; i++)
		encode12(out + i * POLY12_BYTES, dk->s[i]);
	out += K * POLY12_BYTES;
	memcpy(out, dk->ek.bytes, MLKEM768_EK_BYTES);
	out += MLKEM768_EK_BYTES;
	memcpy(out, dk->ek.h, 32);
	memcpy(out + 32, dk->z, 32);
}

void
mlkem768_encaps_derand(const struct mlkem768_ek *ek,
    uint8_t ct[MLKEM768_CT_BYTES], uint8_t ss[MLKEM768_SS_BYTES],
    const uint8_t m[MLKEM768_MSG_BYTES])
{
	uint8_t	g_in[64], g_out[64];

	/* (K, r) = G(m || H(ek)) */
	memcpy(g_in, m, 32);
	memcpy(g_in + 32, ek->h, 32);
	sha3_512(g_out, g_in, sizeof(g_in));
	pke_encrypt(ek, ct, m, g_out + 32);
	memcpy(ss, g_out, 32);
	explicit_bzero(g_in, sizeof(g_in));
	explicit_bzero(g_out, sizeof(g_out));
}

int
mlkem768_decaps(const struct mlkem768_dk *dk, uint8_t ss[MLKEM768_SS_BYTES],
    const uint8_t *ct, size_t ctlen)
{
	struct keccak	j;
	uint8_t		g_in[64], g_out[64], kbar[32];
	uint8_t		ct2[MLKEM768_CT_BYTES];
	uint8_t		mask;
	unsigned int	i;

	if (ctlen != MLKEM768_CT_BYTES)
		return -1;
	pke_decrypt(dk, g_in, ct);			/* m' */
	memcpy(g_in + 32, dk->ek.h, 32);
	sha3_512(g_out, g_in, sizeof(g_in));		/* (K', r') */
	shake256_init(&j);				/* K-bar = J(z || c) */
	keccak_absorb(&j, dk->z, 32);
	keccak_absorb(&j, ct, ctlen);
	keccak_squeeze(&j, kbar, 32);
	pke_encrypt(&dk->ek, ct2, g_in, g_out + 32);
	/* mask = 0xff iff the re-encryption differs: then take K-bar. */
	mask = (uint8_t)(0U - ct_neq(ct, ct2, MLKEM768_CT_BYTES));
	for (i = 0; i < 32; i++)
		ss[i] = (uint8_t)(g_out[i] ^ (mask & (g_out[i] ^ kbar[i])));
	keccak_wipe(&j);
	explicit_bzero(g_in, sizeof(g_in));
	explicit_bzero(g_out, sizeof(g_out));
	explicit_bzero(kbar, sizeof(kbar));
	explicit_bzero(ct2, sizeof(ct2));
	return 0;
}
