/*
 * The client-facing TLS private key, in keyd only (tlssign.h).  The
 * worker's handshakes reach it as signing requests: a digest for PKCS#1
 * v1.5 and ECDSA, an encoded block for RSA-PSS (OpenSSL pads PSS before
 * the private operation it hands to an RSA_METHOD).  A raw RSA private
 * operation is what RSA decryption is, so the PSS block is first checked
 * to be a PSS encoding: a ciphertext passes that with probability about
 * 2^-(8 * (k - 2 * hlen - 2)), which is nil, so a compromised worker gets
 * signatures, as it would from any TLS server, and never a decryption.
 */
#include "config.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <sodium.h>

#include "buf.h"
#include "chan.h"
#include "ipc.h"
#include "log.h"
#include "tlsmsg.h"
#include "tlssign.h"
#include "util.h"

struct tlskey {
	EVP_PKEY	*pk;
	uint8_t		 id[TLS_KEYID_LEN];
	int		 rsa;		/* else EC */
	int		 bits;
};

/* The current key and the one before (a renewal in flight). */
static struct tlskey	 keys[2];
static EVP_MD		*mds[TMD_MAX + 1];

void
tlssign_init(void)
{
	static const char *const names[] = { NULL, "SHA256", "SHA384",
	    "SHA512" };
	int	i;

	for (i = TMD_SHA256; i <= TMD_MAX; i++)
		if ((mds[i] = EVP_MD_fetch(NULL, names[i], NULL)) == NULL)
			fatalx("EVP_MD_fetch %s", names[i]);
}

static void
log_ssl(const char *what)
{
	char	buf[256];

	ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
	log_warnx("TLS key: %s: %s", what, buf);
	ERR_clear_error();
}

/* The id the worker names it by: SHA-256 of the SubjectPublicKeyInfo. */
static int
key_id(EVP_PKEY *pk, uint8_t id[TLS_KEYID_LEN])
{
	unsigned char	*der = NULL;
	int		 n;

	if ((n = i2d_PUBKEY(pk, &der)) <= 0)
		return -1;
	crypto_hash_sha256(id, der, (unsigned long long)n);
	OPENSSL_free(der);
	return 0;
}

int
tlssign_set_key(const uint8_t *pem, size_t len)
{
	struct tlskey	 k;
	BIO		*bio;
	int		 rv = -1;

	memset(&k, 0, sizeof(k));
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		fatalx("BIO_new_mem_buf");
	if ((k.pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)) == NULL)
		log_ssl("not a private key");
	else if (!EVP_PKEY_is_a(k.pk, "RSA") && !EVP_PKEY_is_a(k.pk, "EC"))
		log_warnx("TLS key: only RSA and ECDSA keys are supported");
	else if (key_id(k.pk, k.id) == -1)
		log_ssl("public key");
	else
		rv = 0;
	BIO_free(bio);
	/* The frame stays in the channel's buffer until it is drained. */
	sodium_memzero((void *)(uintptr_t)pem, len);
	if (rv == -1) {
		EVP_PKEY_free(k.pk);
		return -1;
	}
	k.rsa = EVP_PKEY_is_a(k.pk, "RSA");
	k.bits = EVP_PKEY_get_bits(k.pk);
	/* The same key again (a reload) is not a renewal. */
	if (keys[0].pk != NULL && memcmp(keys[0].id, k.id, sizeof(k.id)) == 0) {
		EVP_PKEY_free(k.pk);
		return 0;
	}
	EVP_PKEY_free(keys[1].pk);
	keys[1] = keys[0];
	keys[0] = k;
	log_debug("TLS key installed (%s, %d bits)", k.rsa ? "RSA" : "EC",
	    k.bits);
	return 0;
}

static const struct tlskey *
key_find(const uint8_t id[TLS_KEYID_LEN])
{
	size_t	i;

	for (i = 0; i < nitems(keys); i++)
		if (keys[i].pk != NULL &&
		    memcmp(keys[i].id, id, TLS_KEYID_LEN) == 0)
			return &keys[i];
	return NULL;
}

/* MGF1 (RFC 8017 B.2.1) of seed into out. */
static int
mgf1(uint8_t *out, size_t len, const uint8_t *seed, size_t slen,
    const EVP_MD *md)
{
	EVP_MD_CTX	*ctx;
	uint8_t		 t[EVP_MAX_MD_SIZE], c[4];
	size_t		 done, hlen = (size_t)EVP_MD_get_size(md), n;
	uint32_t	 i;
	int		 rv = -1;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	for (done = 0, i = 0; done < len; done += n, i++) {
		c[0] = (uint8_t)(i >> 24);
		c[1] = (uint8_t)(i >> 16);
		c[2] = (uint8_t)(i >> 8);
		c[3] = (uint8_t)i;
		if (EVP_DigestInit_ex(ctx, md, NULL) != 1 ||
		    EVP_DigestUpdate(ctx, seed, slen) != 1 ||
		    EVP_DigestUpdate(ctx, c, sizeof(c)) != 1 ||
		    EVP_DigestFinal_ex(ctx, t, NULL) != 1)
			goto out;
		n = len - done < hlen ? len - done : hlen;
		memcpy(out + done, t, n);
	}
	rv = 0;
 out:
	EVP_MD_CTX_free(ctx);
	return rv;
}

/* EM = maskedDB || H || 0xbc, DB = 0..0 || 0x01 || salt (RFC 8017 9.1.1). */
static int
pss_shape_md(const uint8_t *em, size_t emlen, int embits, const EVP_MD *md)
{
	uint8_t		 db[TLS_SIG_MAX];
	size_t		 hlen = (size_t)EVP_MD_get_size(md), dblen, ps, i;
	unsigned int	 zbits = 8 * (unsigned int)emlen - (unsigned int)embits;
	uint8_t		 top = (uint8_t)(0xff >> zbits);

	if (emlen < 2 * hlen + 2 || em[emlen - 1] != 0xbc ||
	    (em[0] & ~top) != 0)
		return 0;
	dblen = emlen - hlen - 1;
	if (mgf1(db, dblen, em + dblen, hlen, md) == -1)
		return 0;
	for (i = 0; i < dblen; i++)
		db[i] ^= em[i];
	db[0] &= top;
	/* TLS's salt is as long as the hash (RFC 8446 4.2.3). */
	ps = dblen - hlen - 1;
	for (i = 0; i < ps; i++)
		if (db[i] != 0)
			return 0;
	return db[ps] == 0x01;
}

int
tlssign_pss_shape(const uint8_t *blk, size_t k, int modbits)
{
	int	embits = modbits - 1, i;
	size_t	emlen = ((size_t)embits + 7) / 8;

	if (modbits < 8 * TLS_SIG_MIN - 7 || k != ((size_t)modbits + 7) / 8 ||
	    k > TLS_SIG_MAX)
		return 0;
	/* A modulus of 8n+1 bits: the encoding is a byte shorter. */
	if (emlen < k) {
		if (blk[0] != 0)
			return 0;
		blk++;
	}
	for (i = TMD_SHA256; i <= TMD_MAX; i++)
		if (mds[i] != NULL && pss_shape_md(blk, emlen, embits, mds[i]))
			return 1;
	return 0;
}

static enum tls_sign_status
sign(const struct tlskey *k, const struct tls_sign_req *q, uint8_t *sig,
    size_t *siglen)
{
	EVP_PKEY_CTX		*ctx;
	enum tls_sign_status	 st = TSS_FAILED;
	int			 ok;

	if ((q->alg == TSA_ECDSA) == k->rsa)
		return TSS_REFUSED;
	if (q->alg == TSA_RSA_PSS && !tlssign_pss_shape(q->in, q->inlen,
	    k->bits))
		return TSS_REFUSED;
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pk, NULL)) == NULL)
		return TSS_FAILED;
	ok = EVP_PKEY_sign_init(ctx) == 1;
	switch (q->alg) {
	case TSA_RSA_PKCS1:
		ok = ok && EVP_PKEY_CTX_set_rsa_padding(ctx,
		    RSA_PKCS1_PADDING) == 1 &&
		    EVP_PKEY_CTX_set_signature_md(ctx, mds[q->md]) == 1;
		break;
	case TSA_RSA_PSS:
		/* The block is padded already (and checked above). */
		ok = ok && EVP_PKEY_CTX_set_rsa_padding(ctx,
		    RSA_NO_PADDING) == 1;
		break;
	case TSA_ECDSA:
		ok = ok && EVP_PKEY_CTX_set_signature_md(ctx, mds[q->md]) == 1;
		break;
	}
	*siglen = TLS_SIG_MAX;
	if (ok && EVP_PKEY_sign(ctx, sig, siglen, q->in, q->inlen) == 1 &&
	    *siglen > 0 && *siglen <= TLS_SIG_MAX)
		st = TSS_OK;
	else
		log_ssl(tls_sigalg_name(q->alg));
	EVP_PKEY_CTX_free(ctx);
	return st;
}

int
tlssign_request(struct chan *c, const struct msg_hdr *hdr, struct msgr *r)
{
	struct tls_sign_req	 q;
	const struct tlskey	*k;
	enum tls_sign_status	 st;
	uint8_t			 sig[TLS_SIG_MAX];
	size_t			 siglen = 0;
	struct buf		 m;

	if (tls_sign_get(r, &q) == -1) {
		log_warnx("worker: malformed %s", msg_to_str(hdr->type));
		return -1;
	}
	if ((k = key_find(q.keyid)) == NULL) {
		log_warnx("TLS signature for a key this keyd does not hold");
		st = TSS_NOKEY;
	} else if ((st = sign(k, &q, sig, &siglen)) == TSS_REFUSED)
		log_warnx("TLS signature refused: %s input is not a "
		    "handshake's for this %s key", tls_sigalg_name(q.alg),
		    k->rsa ? "RSA" : "EC");
	buf_init(&m, siglen + 16);
	tls_signed_put(&m, st, sig, siglen);
	chan_send(c, MSG_TLS_SIGNED, hdr->id, &m);
	buf_free(&m);
	return 0;
}
