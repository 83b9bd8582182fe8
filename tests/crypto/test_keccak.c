/*
 * Our Keccak sponge against OpenSSL's EVP SHA3/SHAKE: fixed answers, then
 * random inputs absorbed and squeezed in random pieces, which exercises
 * every partial-block path of the incremental API.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "keccak.h"
#include "t.h"
#include "tc.h"

T_GLOBALS;

static void
evp_hash(const char *name, const uint8_t *in, size_t n, uint8_t *out,
    size_t outlen)
{
	EVP_MD_CTX	*c = EVP_MD_CTX_new();
	const EVP_MD	*md = EVP_get_digestbyname(name);
	unsigned int	 l;

	if (c == NULL || md == NULL || !EVP_DigestInit_ex(c, md, NULL) ||
	    !EVP_DigestUpdate(c, in, n))
		abort();
	if (EVP_MD_get_flags(md) & EVP_MD_FLAG_XOF) {
		if (!EVP_DigestFinalXOF(c, out, outlen))
			abort();
	} else if (!EVP_DigestFinal_ex(c, out, &l) || l != outlen)
		abort();
	EVP_MD_CTX_free(c);
}

static void
test_known(void)
{
	uint8_t	out[64], ref[32];

	T_BEGIN("known answers");
	sha3_256(out, "", 0);
	tc_unhex_into("a7ffc6f8bf1ed76651c14756a061d662"
	    "f580ff4de43b49fa82d80a4b80f8434a", ref, 32);
	T_EQ_MEM(out, ref, 32);
	shake128(out, 32, "", 0);
	tc_unhex_into("7f9c2ba4e88f827d616045507605853e"
	    "d73b8093f6efbc88eb1a6eacfa66ef26", ref, 32);
	T_EQ_MEM(out, ref, 32);
}

/* Absorb in random pieces, squeeze in random pieces, compare. */
static void
cross_check(const char *name, void (*init)(struct keccak *), size_t outlen,
    int xof)
{
	struct keccak	 k;
	uint8_t		 in[700], *ours, *ref;
	size_t		 n, off, piece, rounds, i;
	int		 bad = 0;

	ours = malloc(outlen);
	ref = malloc(outlen);
	for (rounds = 0; rounds < 300; rounds++) {
		n = rounds < 200 ? rounds : (size_t)(rounds * 7 % sizeof(in));
		RAND_bytes(in, sizeof(in));
		init(&k);
		for (off = 0; off < n; off += piece) {
			piece = 1 + (size_t)(in[off] % 170);
			if (piece > n - off)
				piece = n - off;
			keccak_absorb(&k, in + off, piece);
		}
		if (xof) {
			for (off = 0, i = 0; off < outlen; off += piece, i++) {
				piece = 1 + (in[i % sizeof(in)] * 3) % 200;
				if (piece > outlen - off)
					piece = outlen - off;
				keccak_squeeze(&k, ours + off, piece);
			}
		} else
			keccak_squeeze(&k, ours, outlen);
		evp_hash(name, in, n, ref, outlen);
		if (memcmp(ours, ref, outlen) != 0)
			bad++;
	}
	t_current = name;
	T_EQ_INT(bad, 0);
	free(ours);
	free(ref);
}

/* keccak_squeeze_blocks must agree with byte-wise squeezing. */
static void
test_blocks(void)
{
	struct keccak	a, b;
	uint8_t		x[5 * SHAKE128_RATE], y[5 * SHAKE128_RATE];

	T_BEGIN("squeeze_blocks");
	shake128_init(&a);
	shake128_init(&b);
	keccak_absorb(&a, "abc", 3);
	keccak_absorb(&b, "abc", 3);
	keccak_squeeze_blocks(&a, x, 3);
	keccak_squeeze_blocks(&a, x + 3 * SHAKE128_RATE, 2);
	keccak_squeeze(&b, y, sizeof(y));
	T_EQ_MEM(x, y, sizeof(x));
}

int
main(void)
{
	test_known();
	test_blocks();
	cross_check("SHA3-256", sha3_256_init, 32, 0);
	cross_check("SHA3-512", sha3_512_init, 64, 0);
	cross_check("SHAKE128", shake128_init, 1000, 1);
	cross_check("SHAKE256", shake256_init, 1000, 1);
	T_DONE();
}
