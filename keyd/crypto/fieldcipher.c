/*
 * Field cipher; see fieldcipher.h.  Ciphertext is produced and consumed
 * in fixed-size chunks so a large value needs no second full-size buffer
 * for the binary form next to its hex form.
 */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "fieldcipher.h"
#include "log.h"
#include "util.h"

#define CHUNK	16384

/*
 * Short values go through libsodium's AES-256-GCM where the CPU has
 * AES-NI and PCLMUL: each OpenSSL 3 call that sets an IV or a tag goes
 * through the provider's parameter lists (a string compare per parameter
 * name), which costs more than opening a short value, and an SSE event
 * carries four of them.  libsodium 1.0.18 is slower per byte, so longer
 * values stay with OpenSSL: with one key, 16 bytes took 0.3 us against
 * 1.2 us, 400 bytes 0.6 against 1.7, 1 KiB the same, 2 KiB 5.4 against
 * 3.9.  Both are the same AES-GCM: the bytes are identical.
 */
#define SMALL_MAX	1024

/* AES-GCM contexts keyed with one key, shared by every fc of that key. */
struct keyctx {
	uint8_t		*key;		/* sodium_malloc'd */
	size_t		 keylen;
	EVP_CIPHER_CTX	*enc;
	EVP_CIPHER_CTX	*dec;
	/* libsodium's expanded key for short values; NULL: OpenSSL only */
	crypto_aead_aes256gcm_state *small;	/* sodium_malloc'd */
	int		 refs;
};

struct fc {
	struct keyctx	*kc;
	char		*id;
	size_t		 idlen;
	uint8_t		 nonce[FC_NONCE_BYTES];
	uint32_t	 enc_seq;
	uint32_t	 dec_seq;
	fc_rand_fn	 iv_fn;
	void		*iv_arg;
};

static void
default_iv(uint8_t *out, size_t n, void *arg)
{
	pubrand(out, n);
}

/* Fetched once, not looked up again by every request's two inits. */
static const EVP_CIPHER *
gcm_for(size_t keylen)
{
	static EVP_CIPHER	*gcm[3];
	static const char *const name[3] = {
		"AES-128-GCM", "AES-192-GCM", "AES-256-GCM"
	};
	size_t			 i;

	if (keylen != 16 && keylen != 24 && keylen != 32)
		return NULL;
	i = (keylen - 16) / 8;
	if (gcm[i] == NULL &&
	    (gcm[i] = EVP_CIPHER_fetch(NULL, name[i], NULL)) == NULL)
		fatalx("%s: no %s", __func__, name[i]);
	return gcm[i];
}

/*
 * Key set-up costs more than sealing a small value (a provider context
 * and its parameters, twice per request), and every request of a secret
 * uses the same key: the contexts are kept per key and shared.  Sharing is
 * safe because each seal or open sets its own IV and runs to the end
 * before it returns.  The key copy lets a lookup compare keys; the
 * contexts hold the key schedule anyway.
 */
#define KEYCTX_SLOTS	4

static struct keyctx	*keyctx[KEYCTX_SLOTS];

static void
keyctx_free(struct keyctx *kc)
{
	EVP_CIPHER_CTX_free(kc->enc);
	EVP_CIPHER_CTX_free(kc->dec);
	if (kc->small != NULL)
		sodium_free(kc->small);
	sodium_free(kc->key);
	free(kc);
}

static struct keyctx *
keyctx_get(const EVP_CIPHER *c, const uint8_t *key, size_t keylen)
{
	struct keyctx	*kc;
	int		 i, empty = -1, unused = -1, slot;

	for (i = 0; i < KEYCTX_SLOTS; i++) {
		if ((kc = keyctx[i]) == NULL) {
			empty = empty == -1 ? i : empty;
			continue;
		}
		if (kc->keylen == keylen &&
		    sodium_memcmp(kc->key, key, keylen) == 0) {
			kc->refs++;
			return kc;
		}
		if (kc->refs == 1 && unused == -1)
			unused = i;	/* only the cache holds it */
	}
	slot = empty != -1 ? empty : unused;
	kc = xcalloc(1, sizeof(*kc));
	if ((kc->key = sodium_malloc(keylen)) == NULL)
		fatalx("%s: sodium_malloc", __func__);
	memcpy(kc->key, key, keylen);
	kc->keylen = keylen;
	if ((kc->enc = EVP_CIPHER_CTX_new()) == NULL ||
	    (kc->dec = EVP_CIPHER_CTX_new()) == NULL ||
	    !EVP_EncryptInit_ex(kc->enc, c, NULL, key, NULL) ||
	    !EVP_DecryptInit_ex(kc->dec, c, NULL, key, NULL))
		fatalx("%s: cannot set up AES-GCM", __func__);
	/* (sodium_init finds the CPU's features; it runs once.) */
	if (keylen == crypto_aead_aes256gcm_KEYBYTES && sodium_init() >= 0 &&
	    crypto_aead_aes256gcm_is_available()) {
		if ((kc->small = sodium_malloc(sizeof(*kc->small))) == NULL)
			fatalx("%s: sodium_malloc", __func__);
		crypto_aead_aes256gcm_beforenm(kc->small, key);
	}
	kc->refs = 1;
	if (slot != -1) {
		if (keyctx[slot] != NULL)
			keyctx_free(keyctx[slot]);
		keyctx[slot] = kc;
		kc->refs++;		/* the cache's reference */
	}
	return kc;
}

static void
keyctx_put(struct keyctx *kc)
{
	if (--kc->refs == 0)
		keyctx_free(kc);
}

void
fc_forget_keys(void)
{
	int	i;

	for (i = 0; i < KEYCTX_SLOTS; i++) {
		if (keyctx[i] != NULL)
			keyctx_put(keyctx[i]);
		keyctx[i] = NULL;
	}
}

struct fc *
fc_new(const uint8_t *key, size_t keylen, const char *id,
    const uint8_t *nonce, struct cerr *err)
{
	const EVP_CIPHER	*c;
	struct fc		*fc;

	if ((c = gcm_for(keylen)) == NULL) {
		cerr_set(err, "crypto/aes: invalid key size %zu", keylen);
		return NULL;
	}
	fc = xcalloc(1, sizeof(*fc));
	fc->kc = keyctx_get(c, key, keylen);
	fc->id = xstrdup(id);
	fc->idlen = strlen(id);
	if (nonce != NULL)
		memcpy(fc->nonce, nonce, FC_NONCE_BYTES);
	else
		pubrand(fc->nonce, FC_NONCE_BYTES);
	fc->iv_fn = default_iv;
	return fc;
}

void
fc_free(struct fc *fc)
{
	if (fc == NULL)
		return;
	keyctx_put(fc->kc);
	free(fc->id);
	freezero(fc, sizeof(*fc));
}

void
fc_set_iv_source(struct fc *fc, fc_rand_fn fn, void *arg)
{
	fc->iv_fn = fn != NULL ? fn : default_iv;
	fc->iv_arg = arg;
}

const uint8_t *
fc_nonce(const struct fc *fc)
{
	return fc->nonce;
}

uint32_t
fc_enc_seq(const struct fc *fc)
{
	return fc->enc_seq;
}

uint32_t
fc_dec_seq(const struct fc *fc)
{
	return fc->dec_seq;
}

/* AAD = request nonce || little-endian sequence number. */
static void
make_aad(uint8_t aad[FC_NONCE_BYTES + 4], const uint8_t *nonce, uint32_t seq)
{
	memcpy(aad, nonce, FC_NONCE_BYTES);
	aad[12] = (uint8_t)seq;
	aad[13] = (uint8_t)(seq >> 8);
	aad[14] = (uint8_t)(seq >> 16);
	aad[15] = (uint8_t)(seq >> 24);
}

/*
 * Hex coding is most of the work of a large value (the AES-GCM itself runs
 * at several GB/s), so both directions have an SSE2 path -- baseline on
 * x86-64, no run-time dispatch -- and a portable one.
 */
static const char hexdigits[] = "0123456789abcdef";

static void
hex_encode(uint8_t *dst, const uint8_t *src, size_t n)
{
	size_t	i = 0;
#ifdef __SSE2__
	const __m128i	mask = _mm_set1_epi8(0x0f), nine = _mm_set1_epi8(9);
	const __m128i	zero = _mm_set1_epi8('0'), gap = _mm_set1_epi8(39);
	__m128i		v, hi, lo;

	for (; i + 16 <= n; i += 16) {
		v = _mm_loadu_si128((const __m128i *)(src + i));
		hi = _mm_and_si128(_mm_srli_epi16(v, 4), mask);
		lo = _mm_and_si128(v, mask);
		/* nibble + '0', plus 39 more for a-f */
		hi = _mm_add_epi8(_mm_add_epi8(hi, zero),
		    _mm_and_si128(_mm_cmpgt_epi8(hi, nine), gap));
		lo = _mm_add_epi8(_mm_add_epi8(lo, zero),
		    _mm_and_si128(_mm_cmpgt_epi8(lo, nine), gap));
		_mm_storeu_si128((__m128i *)(dst + 2 * i),
		    _mm_unpacklo_epi8(hi, lo));
		_mm_storeu_si128((__m128i *)(dst + 2 * i + 16),
		    _mm_unpackhi_epi8(hi, lo));
	}
#endif
	for (; i < n; i++) {
		dst[2 * i] = (uint8_t)hexdigits[src[i] >> 4];
		dst[2 * i + 1] = (uint8_t)hexdigits[src[i] & 0x0f];
	}
}

static void
buf_hex(struct buf *b, const uint8_t *src, size_t n)
{
	hex_encode(buf_reserve(b, 2 * n), src, n);
	b->len += 2 * n;
}

/*
 * Decode 2n hex digits into n bytes; -1 (output undefined) if any digit
 * is invalid, so the caller can redo it slowly for Go's error text.
 */
static int
hex_decode_fast(uint8_t *dst, const uint8_t *src, size_t n)
{
	size_t	i = 0;
	int	d1, d2;
#ifdef __SSE2__
	const __m128i	flip = _mm_set1_epi8((char)0x80);
	const __m128i	c0 = _mm_set1_epi8('0'), ca = _mm_set1_epi8('a');
	const __m128i	lt10 = _mm_set1_epi8((char)(10 ^ 0x80));
	const __m128i	lt6 = _mm_set1_epi8((char)(6 ^ 0x80));
	const __m128i	ten = _mm_set1_epi8(10), low = _mm_set1_epi16(0x00ff);
	const __m128i	lc = _mm_set1_epi8(0x20);
	__m128i		v[2], d, l, isd, isl, nib, w[2];
	int		k;

	for (; i + 16 <= n; i += 16) {
		for (k = 0; k < 2; k++) {
			v[k] = _mm_loadu_si128((const __m128i *)(src + 2 * i +
			    16 * k));
			/* unsigned (c - '0') < 10, or ((c | 0x20) - 'a') < 6 */
			d = _mm_sub_epi8(v[k], c0);
			l = _mm_sub_epi8(_mm_or_si128(v[k], lc), ca);
			isd = _mm_cmplt_epi8(_mm_xor_si128(d, flip), lt10);
			isl = _mm_cmplt_epi8(_mm_xor_si128(l, flip), lt6);
			if (_mm_movemask_epi8(_mm_or_si128(isd, isl)) != 0xffff)
				return -1;
			nib = _mm_or_si128(_mm_and_si128(isd, d),
			    _mm_and_si128(isl, _mm_add_epi8(l, ten)));
			/* (first << 4) | second, per 16-bit pair */
			w[k] = _mm_or_si128(_mm_slli_epi16(_mm_and_si128(nib,
			    low), 4), _mm_srli_epi16(nib, 8));
		}
		_mm_storeu_si128((__m128i *)(dst + i),
		    _mm_packus_epi16(w[0], w[1]));
	}
#endif
	for (; i < n; i++) {
		if ((d1 = hex_digit(src[2 * i])) < 0 ||
		    (d2 = hex_digit(src[2 * i + 1])) < 0)
			return -1;
		dst[i] = (uint8_t)(d1 << 4 | d2);
	}
	return 0;
}

/* Seal one value under (nonce, seq) and append the quoted message. */
static void
seal(EVP_CIPHER_CTX *ctx, const crypto_aead_aes256gcm_state *small,
    const char *id, size_t idlen, const uint8_t *nonce, uint32_t seq,
    const uint8_t iv[FC_IV_BYTES], const uint8_t *pt, size_t n,
    struct buf *out)
{
	uint8_t		 aad[16], chunk[CHUNK], tag[FC_TAG_BYTES];
	size_t		 off, l;
	int		 outl;

	make_aad(aad, nonce, seq);
	/* Reserve the whole message once: quotes, 3 colons, hex. */
	buf_reserve(out, 2 + idlen + 3 + 2 * (FC_NONCE_BYTES + FC_IV_BYTES +
	    FC_TAG_BYTES) + 2 * n);
	buf_addc(out, '"');
	buf_add(out, id, idlen);
	buf_addc(out, ':');
	buf_hex(out, nonce, FC_NONCE_BYTES);
	buf_addc(out, ':');
	buf_hex(out, iv, FC_IV_BYTES);
	buf_addc(out, ':');
	if (small != NULL && n <= SMALL_MAX) {
		if (crypto_aead_aes256gcm_encrypt_detached_afternm(chunk, tag,
		    NULL, pt, n, aad, sizeof(aad), NULL, iv, small) != 0)
			fatalx("%s: crypto_aead_aes256gcm_encrypt", __func__);
		buf_hex(out, chunk, n);
		goto tag;
	}
	if (!EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, iv) ||
	    !EVP_EncryptUpdate(ctx, NULL, &outl, aad, sizeof(aad)))
		fatalx("%s: EVP_EncryptInit", __func__);
	for (off = 0; off < n; off += l) {
		l = MINIMUM(n - off, sizeof(chunk));
		if (!EVP_EncryptUpdate(ctx, chunk, &outl, pt + off, (int)l) ||
		    (size_t)outl != l)
			fatalx("%s: EVP_EncryptUpdate", __func__);
		buf_hex(out, chunk, l);
	}
	if (!EVP_EncryptFinal_ex(ctx, chunk, &outl) || outl != 0 ||
	    !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, sizeof(tag), tag))
		fatalx("%s: EVP_EncryptFinal", __func__);
 tag:
	buf_hex(out, tag, sizeof(tag));
	buf_addc(out, '"');
	/* chunk held ciphertext only: no wipe (16 KiB per value). */
}

int
fc_encrypt(struct fc *fc, const uint8_t *pt, size_t n, struct buf *out,
    struct cerr *err)
{
	uint8_t	iv[FC_IV_BYTES];

	if (fc->dec_seq != 0) {
		cerr_set(err, "can't encrypt another request after "
		    "decrypting a response");
		return -1;
	}
	if (fc->enc_seq == UINT32_MAX) {
		cerr_set(err, "sequence number exhausted");
		return -1;
	}
	fc->iv_fn(iv, sizeof(iv), fc->iv_arg);
	seal(fc->kc->enc, fc->kc->small, fc->id, fc->idlen, fc->nonce,
	    fc->enc_seq, iv, pt, n, out);
	fc->enc_seq++;
	return 0;
}

static void
bad_hex_byte(struct cerr *err, uint8_t c)
{
	if (c >= 0x20 && c < 0x7f)
		cerr_set(err, "encoding/hex: invalid byte: U+%04X '%c'", c, c);
	else
		cerr_set(err, "encoding/hex: invalid byte: U+%04X", c);
}

int
fc_unhex(const uint8_t *hex, size_t n, uint8_t *out, struct cerr *err)
{
	size_t	i;
	int	hi, lo;

	/* Go reports a bad digit in a full pair before an odd length. */
	for (i = 0; i + 1 < n; i += 2) {
		hi = hex_digit(hex[i]);
		lo = hex_digit(hex[i + 1]);
		if ((hi | lo) < 0) {
			bad_hex_byte(err, hi < 0 ? hex[i] : hex[i + 1]);
			return -1;
		}
		if (out != NULL)
			out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	if (n % 2 != 0) {
		if (hex_digit(hex[n - 1]) < 0)
			bad_hex_byte(err, hex[n - 1]);
		else
			cerr_set(err, "encoding/hex: odd length hex string");
		return -1;
	}
	return 0;
}

/*
 * The first three parts and the rest; whether the rest holds a fifth
 * part is left to the caller.  -1 if there are fewer than four.
 */
static int
msg_split(const uint8_t *msg, size_t n, struct fc_msg *m)
{
	const uint8_t	*part[4], *end, *c;
	size_t		 len[3], i = 0;

	/* strings.Trim(s, `"`): every leading and trailing quote. */
	while (n > 0 && msg[0] == '"') {
		msg++;
		n--;
	}
	while (n > 0 && msg[n - 1] == '"')
		n--;
	end = msg + n;
	part[0] = msg;
	for (c = msg; i < 3 && c < end &&
	    (c = memchr(c, ':', (size_t)(end - c))) != NULL; c++) {
		len[i] = (size_t)(c - part[i]);
		part[++i] = c + 1;
	}
	if (i != 3)
		return -1;
	m->id = part[0];
	m->idlen = len[0];
	m->nonce = part[1];
	m->noncelen = len[1];
	m->iv = part[2];
	m->ivlen = len[2];
	m->ct = part[3];
	m->ctlen = (size_t)(end - part[3]);
	return 0;
}

static int
fifth_part(const struct fc_msg *m)
{
	return memchr(m->ct, ':', m->ctlen) != NULL;
}

int
fc_msg_parse(const uint8_t *msg, size_t n, struct fc_msg *m, struct cerr *err)
{
	if (msg_split(msg, n, m) == -1 || fifth_part(m)) {
		cerr_set(err, FC_ERR_FORMAT);
		return -1;
	}
	return 0;
}

/* Open the parts of a message under (nonce, seq), append the plaintext. */
static int
open_parts(EVP_CIPHER_CTX *ctx, const crypto_aead_aes256gcm_state *small,
    const uint8_t *nonce, uint32_t seq, const struct fc_msg *mp,
    struct buf *out, struct cerr *err)
{
	struct fc_msg	 m = *mp;
	uint8_t		 iv[FC_IV_BYTES] = { 0 }, aad[16], tag[FC_TAG_BYTES];
	uint8_t		 chunk[CHUNK], *dst;
	size_t		 start = out->len, ctlen, off, l;
	int		 outl;

	/*
	 * Go decodes the IV, then the ciphertext, then opens; keep that
	 * order of errors.  The slow paths below only run on bad input.
	 */
	/* A well-sized IV is validated and decoded in one pass. */
	if (fc_unhex(m.iv, m.ivlen, m.ivlen == 2 * FC_IV_BYTES ? iv : NULL,
	    err) == -1)
		return -1;
	if (m.ivlen != 2 * FC_IV_BYTES || m.ctlen % 2 != 0 ||
	    m.ctlen < 2 * FC_TAG_BYTES) {
		if (fc_unhex(m.ct, m.ctlen, NULL, err) == -1)
			return -1;
		if (m.ivlen != 2 * FC_IV_BYTES)
			cerr_set(err, "cipher: incorrect nonce length given "
			    "to GCM");
		else
			cerr_set(err, "cipher: message authentication failed");
		return -1;
	}
	ctlen = m.ctlen / 2 - FC_TAG_BYTES;

	make_aad(aad, nonce, seq);
	dst = buf_reserve(out, ctlen);
	if (small != NULL && ctlen <= SMALL_MAX) {
		/* The same checks in the same order, in one piece. */
		if (hex_decode_fast(chunk, m.ct, ctlen) == -1) {
			(void)fc_unhex(m.ct, 2 * ctlen, NULL, err);
			goto fail;
		}
		if (fc_unhex(m.ct + 2 * ctlen, 2 * FC_TAG_BYTES, tag,
		    err) == -1)
			goto fail;
		if (crypto_aead_aes256gcm_decrypt_detached_afternm(dst, NULL,
		    chunk, ctlen, tag, aad, sizeof(aad), iv, small) != 0) {
			cerr_set(err, "cipher: message authentication failed");
			goto fail;
		}
		out->len = start + ctlen;
		return 0;
	}
	if (!EVP_DecryptInit_ex(ctx, NULL, NULL, NULL, iv) ||
	    !EVP_DecryptUpdate(ctx, NULL, &outl, aad, sizeof(aad)))
		fatalx("%s: EVP_DecryptInit", __func__);
	/* Hex is decoded chunk by chunk straight into the cipher. */
	for (off = 0; off < ctlen; off += l) {
		l = MINIMUM(ctlen - off, sizeof(chunk));
		if (hex_decode_fast(chunk, m.ct + 2 * off, l) == -1) {
			(void)fc_unhex(m.ct + 2 * off, 2 * l, NULL, err);
			goto fail;
		}
		if (!EVP_DecryptUpdate(ctx, dst + off, &outl, chunk,
		    (int)l) || (size_t)outl != l)
			fatalx("%s: EVP_DecryptUpdate", __func__);
	}
	if (fc_unhex(m.ct + 2 * ctlen, 2 * FC_TAG_BYTES, tag, err) == -1)
		goto fail;
	if (!EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, sizeof(tag),
	    tag))
		fatalx("%s: EVP_CTRL_GCM_SET_TAG", __func__);
	if (EVP_DecryptFinal_ex(ctx, chunk, &outl) != 1) {
		cerr_set(err, "cipher: message authentication failed");
		goto fail;
	}
	/* chunk held ciphertext only, which crossed the wire: no wipe. */
	out->len = start + ctlen;
	return 0;
 fail:
	/* Forged or misdirected: leave no unauthenticated bytes behind. */
	explicit_bzero(dst, ctlen);
	out->len = start;
	return -1;
}

/*
 * Open a message under (nonce, seq) and append the plaintext.  A fifth
 * part is a format error before anything else (Go splits first), but it
 * is looked for only once opening failed: a colon in the ciphertext
 * fails its hex decoding anyway, so a message that opens has none, and
 * the scan of every ciphertext for one is spared.
 */
static int
open_msg(EVP_CIPHER_CTX *ctx, const crypto_aead_aes256gcm_state *small,
    const uint8_t *nonce, uint32_t seq, const uint8_t *msg, size_t n,
    struct buf *out, struct cerr *err)
{
	struct fc_msg	m;

	if (msg_split(msg, n, &m) == -1) {
		cerr_set(err, FC_ERR_FORMAT);
		return -1;
	}
	if (open_parts(ctx, small, nonce, seq, &m, out, err) == -1) {
		if (fifth_part(&m))
			cerr_set(err, FC_ERR_FORMAT);
		return -1;
	}
	return 0;
}

int
fc_decrypt(struct fc *fc, const uint8_t *msg, size_t n, struct buf *out,
    struct cerr *err)
{
	if (open_msg(fc->kc->dec, fc->kc->small, fc->nonce, fc->dec_seq, msg,
	    n, out, err) == -1)
		return -1;
	fc->dec_seq++;
	return 0;
}

static EVP_CIPHER_CTX *
one_shot_ctx(const uint8_t *key, size_t keylen, int enc, struct cerr *err)
{
	const EVP_CIPHER	*c;
	EVP_CIPHER_CTX		*ctx;

	if ((c = gcm_for(keylen)) == NULL) {
		cerr_set(err, "crypto/aes: invalid key size %zu", keylen);
		return NULL;
	}
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    !EVP_CipherInit_ex(ctx, c, NULL, key, NULL, enc))
		fatalx("%s: cannot set up AES-GCM", __func__);
	return ctx;
}

int
fc_encrypt_message(const uint8_t *key, size_t keylen, const char *id,
    const uint8_t nonce[FC_NONCE_BYTES], uint32_t seq,
    const uint8_t iv[FC_IV_BYTES], const uint8_t *pt, size_t n,
    struct buf *out, struct cerr *err)
{
	EVP_CIPHER_CTX	*ctx;

	if ((ctx = one_shot_ctx(key, keylen, 1, err)) == NULL)
		return -1;
	seal(ctx, NULL, id, strlen(id), nonce, seq, iv, pt, n, out);
	EVP_CIPHER_CTX_free(ctx);
	return 0;
}

int
fc_decrypt_message(const uint8_t *key, size_t keylen,
    const uint8_t nonce[FC_NONCE_BYTES], uint32_t seq, const uint8_t *msg,
    size_t n, struct buf *out, struct cerr *err)
{
	EVP_CIPHER_CTX	*ctx;
	int		 rv;

	if ((ctx = one_shot_ctx(key, keylen, 0, err)) == NULL)
		return -1;
	rv = open_msg(ctx, NULL, nonce, seq, msg, n, out, err);
	EVP_CIPHER_CTX_free(ctx);
	return rv;
}

int
fc_encrypt_cb(void *fc, const uint8_t *in, size_t n, struct buf *out,
    struct cerr *err)
{
	return fc_encrypt(fc, in, n, out, err);
}

int
fc_decrypt_cb(void *fc, const uint8_t *in, size_t n, struct buf *out,
    struct cerr *err)
{
	return fc_decrypt(fc, in, n, out, err);
}
