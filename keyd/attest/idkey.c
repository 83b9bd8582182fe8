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

static void
le32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

/* ID block v1: LD, FAMILY_ID 01.., IMAGE_ID 02.., VERSION 1, SVN 2. */
static void
id_block(const uint8_t ld[48], uint64_t policy, uint8_t blk[0x60])
{
	memset(blk, 0, 0x60);
	memcpy(blk, ld, 48);
	blk[0x30] = 0x01;
	blk[0x40] = 0x02;
	le32(blk + 0x50, 1);
	le32(blk + 0x54, 2);
	le32(blk + 0x58, (uint32_t)policy);
	le32(blk + 0x5c, (uint32_t)(policy >> 32));
}

struct recover {
	EC_GROUP	*group;
	BN_CTX		*ctx;
	EC_POINT	*r, *a, *b, *q1, *q2;
	BIGNUM		*x1, *y1, *x2, *y2;
};

static void
recover_free(struct recover *k)
{
	EC_POINT_free(k->r);
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

/*
 * Q = r^-1 (s R - z G) for both points R with x = r.  With A = r^-1 s R
 * and B = -r^-1 z G the candidates are B + A and B - A: one variable-
 * base and one fixed-base multiplication instead of two double ones.
 */
static int
recover_keys(struct recover *k, const uint8_t z[48])
{
	BIGNUM	*r, *rinv, *zz, *u1;

	if ((k->group = EC_GROUP_new_by_curve_name(NID_secp384r1)) == NULL ||
	    (k->ctx = BN_CTX_new()) == NULL)
		return -1;
	BN_CTX_start(k->ctx);
	r = BN_CTX_get(k->ctx);
	rinv = BN_CTX_get(k->ctx);
	zz = BN_CTX_get(k->ctx);
	u1 = BN_CTX_get(k->ctx);
	k->x1 = BN_CTX_get(k->ctx);
	k->y1 = BN_CTX_get(k->ctx);
	k->x2 = BN_CTX_get(k->ctx);
	k->y2 = BN_CTX_get(k->ctx);
	if (k->y2 == NULL || !BN_set_word(r, 2) ||
	    BN_mod_inverse(rinv, r, EC_GROUP_get0_order(k->group),
	    k->ctx) == NULL ||
	    BN_bin2bn(z, 48, zz) == NULL ||
	    !BN_mod_mul(u1, zz, rinv, EC_GROUP_get0_order(k->group), k->ctx))
		return -1;
	if (!BN_is_zero(u1) && !BN_sub(u1, EC_GROUP_get0_order(k->group), u1))
		return -1;
	if ((k->r = EC_POINT_new(k->group)) == NULL ||
	    (k->a = EC_POINT_new(k->group)) == NULL ||
	    (k->b = EC_POINT_new(k->group)) == NULL ||
	    (k->q1 = EC_POINT_new(k->group)) == NULL ||
	    (k->q2 = EC_POINT_new(k->group)) == NULL)
		return -1;
	/* s = 1, so the variable-base scalar is r^-1 itself. */
	if (!EC_POINT_set_compressed_coordinates(k->group, k->r, r, 0,
	    k->ctx) ||
	    !EC_POINT_mul(k->group, k->a, NULL, k->r, rinv, k->ctx) ||
	    !EC_POINT_mul(k->group, k->b, u1, NULL, NULL, k->ctx) ||
	    !EC_POINT_add(k->group, k->q1, k->b, k->a, k->ctx) ||
	    !EC_POINT_invert(k->group, k->a, k->ctx) ||
	    !EC_POINT_add(k->group, k->q2, k->b, k->a, k->ctx))
		return -1;
	if (!EC_POINT_get_affine_coordinates(k->group, k->q1, k->x1, k->y1,
	    k->ctx) ||
	    !EC_POINT_get_affine_coordinates(k->group, k->q2, k->x2, k->y2,
	    k->ctx))
		return -1;
	return 0;
}

int
att_idkey_digest(const uint8_t ld[48], uint64_t policy, uint8_t out[48])
{
	struct recover	 k;
	uint8_t		 blk[0x60], z[48], key[0x404];
	const BIGNUM	*x, *y;
	int		 c, rv = -1;

	memset(&k, 0, sizeof(k));
	id_block(ld, policy, blk);
	if (EVP_Digest(blk, sizeof(blk), z, NULL, EVP_sha384(), NULL) != 1 ||
	    recover_keys(&k, z) == -1)
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
	le32(key, 2);
	if (BN_bn2lebinpad(x, key + 0x04, 72) != 72 ||
	    BN_bn2lebinpad(y, key + 0x4c, 72) != 72 ||
	    EVP_Digest(key, sizeof(key), out, NULL, EVP_sha384(), NULL) != 1)
		goto out;
	rv = 0;
out:
	recover_free(&k);
	return rv;
}
