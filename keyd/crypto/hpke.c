/*
 * RFC 9180 section 5.1 with HKDF-SHA256 built on OpenSSL's one-shot
 * HMAC().  Inputs that carry key material (the expand chain feeds the
 * previous output block back in) are assembled in secret buffers.
 */
#include "config.h"

#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "buf.h"
#include "hpke.h"
#include "log.h"

#define HPKE_VERSION_LABEL	"HPKE-v1"
#define MODE_BASE		0x00

static void
put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
hmac_sha256(uint8_t out[HPKE_NH], const uint8_t *key, size_t keylen,
    const uint8_t *msg, size_t msglen)
{
	static const uint8_t	 empty[1];
	unsigned int		 outlen = HPKE_NH;

	/* A NULL key means "reuse" to OpenSSL; an empty salt is not that. */
	if (keylen == 0)
		key = empty;
	if (HMAC(EVP_sha256(), key, (int)keylen, msg, msglen, out,
	    &outlen) == NULL || outlen != HPKE_NH)
		fatalx("%s: HMAC failed", __func__);
}

/* LabeledExtract(salt, label, ikm) */
static void
labeled_extract(uint8_t prk[HPKE_NH], const uint8_t *suite_id,
    const uint8_t *salt, size_t saltlen, const char *label,
    const uint8_t *ikm, size_t ikmlen)
{
	struct buf	m;

	buf_init_secret(&m, 64 + ikmlen);
	buf_adds(&m, HPKE_VERSION_LABEL);
	buf_add(&m, suite_id, HPKE_SUITE_ID_BYTES);
	buf_adds(&m, label);
	buf_add(&m, ikm, ikmlen);
	hmac_sha256(prk, salt, saltlen, m.p, m.len);
	buf_free(&m);
}

/* LabeledExpand(prk, label, info, L): HKDF-Expand with a labelled info. */
static int
labeled_expand(uint8_t *out, size_t len, const uint8_t *suite_id,
    const uint8_t prk[HPKE_NH], const char *label, const uint8_t *info,
    size_t infolen)
{
	struct buf	li, m;
	uint8_t		t[HPKE_NH], l2[2];
	size_t		done, n;
	unsigned int	i;

	if (len > 255 * HPKE_NH)
		return -1;
	put_u16(l2, (uint16_t)len);
	buf_init(&li, 64 + infolen);
	buf_add(&li, l2, 2);
	buf_adds(&li, HPKE_VERSION_LABEL);
	buf_add(&li, suite_id, HPKE_SUITE_ID_BYTES);
	buf_adds(&li, label);
	buf_add(&li, info, infolen);
	buf_init_secret(&m, HPKE_NH + li.len + 1);
	/* T(i) = HMAC(prk, T(i-1) || info || i), T(0) empty. */
	for (done = 0, i = 1; done < len; i++) {
		buf_reset(&m);
		if (i > 1)
			buf_add(&m, t, HPKE_NH);
		buf_add(&m, li.p, li.len);
		buf_addc(&m, (uint8_t)i);
		hmac_sha256(t, prk, HPKE_NH, m.p, m.len);
		n = len - done < HPKE_NH ? len - done : HPKE_NH;
		memcpy(out + done, t, n);
		done += n;
	}
	buf_free(&li);
	buf_free(&m);
	explicit_bzero(t, sizeof(t));
	return 0;
}

static int
aead_sizes(uint16_t aead_id, size_t *nk, size_t *nn)
{
	switch (aead_id) {
	case HPKE_AEAD_AES128GCM:
		*nk = 16;
		*nn = 12;
		return 0;
	case HPKE_AEAD_AES256GCM:
	case HPKE_AEAD_CHACHAPOLY:
		*nk = 32;
		*nn = 12;
		return 0;
	case HPKE_AEAD_EXPORT_ONLY:
		/* No key or nonce; OpenSSL would not expand 0 bytes anyway. */
		*nk = *nn = 0;
		return 0;
	}
	return -1;
}

int
hpke_key_schedule_base(struct hpke_ctx *ctx, uint16_t kem_id, uint16_t kdf_id,
    uint16_t aead_id, const uint8_t *ss, size_t sslen, const uint8_t *info,
    size_t infolen)
{
	uint8_t	ksc[1 + 2 * HPKE_NH], secret[HPKE_NH];
	int	rv = -1;

	memset(ctx, 0, sizeof(*ctx));
	if (kdf_id != HPKE_KDF_HKDF_SHA256 ||
	    aead_sizes(aead_id, &ctx->nk, &ctx->nn) == -1)
		return -1;
	memcpy(ctx->suite_id, "HPKE", 4);
	put_u16(ctx->suite_id + 4, kem_id);
	put_u16(ctx->suite_id + 6, kdf_id);
	put_u16(ctx->suite_id + 8, aead_id);

	/* key_schedule_context = mode || psk_id_hash || info_hash */
	ksc[0] = MODE_BASE;
	labeled_extract(ksc + 1, ctx->suite_id, NULL, 0, "psk_id_hash",
	    NULL, 0);
	labeled_extract(ksc + 1 + HPKE_NH, ctx->suite_id, NULL, 0,
	    "info_hash", info, infolen);
	/* secret = LabeledExtract(shared_secret, "secret", psk = "") */
	labeled_extract(secret, ctx->suite_id, ss, sslen, "secret", NULL, 0);

	if (ctx->nk > 0 && labeled_expand(ctx->key, ctx->nk, ctx->suite_id,
	    secret, "key", ksc, sizeof(ksc)) == -1)
		goto out;
	if (ctx->nn > 0 && labeled_expand(ctx->base_nonce, ctx->nn,
	    ctx->suite_id, secret, "base_nonce", ksc, sizeof(ksc)) == -1)
		goto out;
	if (labeled_expand(ctx->exporter_secret, HPKE_NH, ctx->suite_id,
	    secret, "exp", ksc, sizeof(ksc)) == -1)
		goto out;
	rv = 0;
 out:
	explicit_bzero(secret, sizeof(secret));
	if (rv == -1)
		hpke_ctx_wipe(ctx);
	return rv;
}

int
hpke_export(const struct hpke_ctx *ctx, const uint8_t *ectx, size_t ectxlen,
    uint8_t *out, size_t len)
{
	return labeled_expand(out, len, ctx->suite_id, ctx->exporter_secret,
	    "sec", ectx, ectxlen);
}

void
hpke_ctx_wipe(struct hpke_ctx *ctx)
{
	explicit_bzero(ctx, sizeof(*ctx));
}
