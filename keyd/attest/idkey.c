/*
 * The ID key Contrast launches its guests with (internal/idblock).  The
 * ID block is "signed" with the fixed signature (r = 2, s = 1), which no
 * one holds a key for; the public key is recovered from that signature
 * (SEC 1, 4.1.6), so the verifier can recompute the expected
 * ID_KEY_DIGEST from the trusted launch digest and guest policy alone.
 */
#include "config.h"

#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>

#include "attest_int.h"

/* ID block v1: LD, FAMILY_ID 01.., IMAGE_ID 02.., VERSION 1, SVN 2. */
static void
id_block(const uint8_t ld[48], uint64_t policy, uint8_t blk[0x60])
{
	memset(blk, 0, 0x60);
	memcpy(blk, ld, 48);
	blk[0x30] = 0x01;
	blk[0x40] = 0x02;
	att_put32(blk + 0x50, 1);
	att_put32(blk + 0x54, 2);
	att_put32(blk + 0x58, (uint32_t)policy);
	att_put32(blk + 0x5c, (uint32_t)(policy >> 32));
}

struct recover {
	EC_GROUP	*group;
	BN_CTX		*ctx;
	EC_POINT	*a, *b, *q1, *q2;
	BIGNUM		*rinv, *u1, *x1, *y1, *x2, *y2;
};

static void
recover_free(struct recover *k)
{
	EC_POINT_free(k->a);
	EC_POINT_free(k->b);
	EC_POINT_free(k->q1);
	EC_POINT_free(k->q2);
	if (k->ctx != NULL) {
		BN_CTX_end(k->ctx);
		BN_CTX_free(k->ctx);
	}
	EC_GROUP_free(k->group);
}

/* r^-1 and u1 = -z r^-1 (mod n) for r = 2. */
static int
recover_init(struct recover *k, const uint8_t z[48])
{
	const BIGNUM	*n;
	BIGNUM		*r, *zz;

	if ((k->group = EC_GROUP_new_by_curve_name(NID_secp384r1)) == NULL ||
	    (k->ctx = BN_CTX_new()) == NULL)
		return -1;
	BN_CTX_start(k->ctx);
	r = BN_CTX_get(k->ctx);
	zz = BN_CTX_get(k->ctx);
	k->rinv = BN_CTX_get(k->ctx);
	k->u1 = BN_CTX_get(k->ctx);
	k->x1 = BN_CTX_get(k->ctx);
	k->y1 = BN_CTX_get(k->ctx);
	k->x2 = BN_CTX_get(k->ctx);
	k->y2 = BN_CTX_get(k->ctx);
	n = EC_GROUP_get0_order(k->group);
	if (k->y2 == NULL || !BN_set_word(r, 2) ||
	    BN_mod_inverse(k->rinv, r, n, k->ctx) == NULL ||
	    BN_bin2bn(z, 48, zz) == NULL ||
	    !BN_mod_mul(k->u1, zz, k->rinv, n, k->ctx))
		return -1;
	if (!BN_is_zero(k->u1) && !BN_sub(k->u1, n, k->u1))
		return -1;
	if ((k->a = EC_POINT_new(k->group)) == NULL ||
	    (k->b = EC_POINT_new(k->group)) == NULL ||
	    (k->q1 = EC_POINT_new(k->group)) == NULL ||
	    (k->q2 = EC_POINT_new(k->group)) == NULL)
		return -1;
	return 0;
}

static int
recover_coords(struct recover *k)
{
	return EC_POINT_get_affine_coordinates(k->group, k->q1, k->x1, k->y1,
	    k->ctx) && EC_POINT_get_affine_coordinates(k->group, k->q2, k->x2,
	    k->y2, k->ctx) ? 0 : -1;
}

/*
 * Contrast's recovery, literally: for both points R with x = r,
 * Q = u1 G + u2 R with u2 = s r^-1 = r^-1.  Kept for the tests, which
 * check the fast path below against it.
 */
static int
recover_generic(struct recover *k)
{
	BIGNUM	*r = BN_CTX_get(k->ctx);

	if (r == NULL || !BN_set_word(r, 2) ||
	    !EC_POINT_set_compressed_coordinates(k->group, k->a, r, 0,
	    k->ctx) ||
	    !EC_POINT_mul(k->group, k->q1, k->u1, k->a, k->rinv, k->ctx) ||
	    !EC_POINT_set_compressed_coordinates(k->group, k->a, r, 1,
	    k->ctx) ||
	    !EC_POINT_mul(k->group, k->q2, k->u1, k->a, k->rinv, k->ctx))
		return -1;
	return recover_coords(k);
}

/*
 * With r = 2 and s = 1 fixed, A = r^-1 R is a constant of the curve
 * (for the R with even y; the other R gives -A), so the candidates are
 * u1 G + A and u1 G - A: one fixed-base multiplication per manifest
 * entry instead of two double-scalar ones.
 */
static const char point_a_x[] =
    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFE"
    "FFFFFFFF0000000000000000FFFFFFFE";
static const char point_a_y[] =
    "732152442FB6EE5C3E6CE1D920C059BC623563814D79042B903CE60F1D4487FC"
    "CD450A86DA03F3E6ED525D02017BFDB3";

static int
recover_fast(struct recover *k)
{
	BIGNUM	*x = NULL, *y = NULL;
	int	 ok;

	ok = BN_hex2bn(&x, point_a_x) != 0 && BN_hex2bn(&y, point_a_y) != 0 &&
	    EC_POINT_set_affine_coordinates(k->group, k->a, x, y, k->ctx) &&
	    EC_POINT_mul(k->group, k->b, k->u1, NULL, NULL, k->ctx) &&
	    EC_POINT_add(k->group, k->q1, k->b, k->a, k->ctx) &&
	    EC_POINT_invert(k->group, k->a, k->ctx) &&
	    EC_POINT_add(k->group, k->q2, k->b, k->a, k->ctx);
	BN_free(x);
	BN_free(y);
	return ok ? recover_coords(k) : -1;
}

static int
idkey_digest(const uint8_t ld[48], uint64_t policy, uint8_t out[48],
    int (*recover)(struct recover *))
{
	struct recover	 k;
	uint8_t		 blk[0x60], z[48], key[0x404];
	const BIGNUM	*x, *y;
	int		 c, rv = -1;

	memset(&k, 0, sizeof(k));
	id_block(ld, policy, blk);
	if (EVP_Digest(blk, sizeof(blk), z, NULL, EVP_sha384(), NULL) != 1 ||
	    recover_init(&k, z) == -1 || recover(&k) == -1)
		goto out;
	/* Contrast sorts the candidates by (X, Y) and takes the first. */
	c = BN_cmp(k.x1, k.x2);
	if (c < 0 || (c == 0 && BN_cmp(k.y1, k.y2) <= 0)) {
		x = k.x1;
		y = k.y1;
	} else {
		x = k.x2;
		y = k.y2;
	}
	/* SEV ABI public key: curve 2 (P-384), Qx, Qy as 72-byte LE. */
	memset(key, 0, sizeof(key));
	att_put32(key, 2);
	if (BN_bn2lebinpad(x, key + 0x04, 72) != 72 ||
	    BN_bn2lebinpad(y, key + 0x4c, 72) != 72 ||
	    EVP_Digest(key, sizeof(key), out, NULL, EVP_sha384(), NULL) != 1)
		goto out;
	rv = 0;
out:
	recover_free(&k);
	return rv;
}

int
att_idkey_digest(const uint8_t ld[48], uint64_t policy, uint8_t out[48])
{
	return idkey_digest(ld, policy, out, recover_fast);
}

int
att_idkey_digest_generic(const uint8_t ld[48], uint64_t policy,
    uint8_t out[48])
{
	return idkey_digest(ld, policy, out, recover_generic);
}

/*
 * The expected digest depends only on reference values (launch digest and
 * guest policy), which change with the manifest, not per report; the
 * recovery costs two P-384 multiplications.  A few recent results are
 * kept: a manifest lists a handful of SNP references.
 */
#define IDKEY_MEMO	8

int
att_idkey_digest_cached(const uint8_t ld[48], uint64_t policy,
    uint8_t out[48])
{
	static struct {
		uint8_t		ld[48];
		uint64_t	policy;
		uint8_t		digest[48];
		int		used;
	}		 memo[IDKEY_MEMO];
	static size_t	 next;
	size_t		 i;

	for (i = 0; i < IDKEY_MEMO; i++)
		if (memo[i].used && memo[i].policy == policy &&
		    memcmp(memo[i].ld, ld, 48) == 0) {
			memcpy(out, memo[i].digest, 48);
			return 0;
		}
	if (att_idkey_digest(ld, policy, out) == -1)
		return -1;
	i = next++ % IDKEY_MEMO;
	memcpy(memo[i].ld, ld, 48);
	memo[i].policy = policy;
	memcpy(memo[i].digest, out, 48);
	memo[i].used = 1;
	return 0;
}
