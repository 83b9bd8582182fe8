/*
 * The Privatemode field cipher (protocol.md sections 3.1-3.2): one
 * instance per upstream attempt, AES-GCM under the inference secret, a
 * 12-byte request nonce and independent request/response sequence
 * numbers bound into the AAD (nonce || LE32(seq)).  A message is the JSON
 * string literal "id:hex(nonce):hex(iv):hex(ciphertext||tag)".
 *
 * The key is handed to OpenSSL at creation and not kept by us; OpenSSL
 * cleanses its copy when the instance is freed.  The default IV source
 * is libsodium's randombytes_buf (call sodium_init() first); tests can
 * install a deterministic one.
 */
#ifndef PM_FIELDCIPHER_H
#define PM_FIELDCIPHER_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "cerr.h"

#define FC_NONCE_BYTES	12
#define FC_IV_BYTES	12
#define FC_TAG_BYTES	16
#define FC_ERR_FORMAT	"invalid message format: expected format " \
			"'\"id:nonce:iv:cipher\"'"

struct fc;

/* Fill out[0..n) with IV bytes. */
typedef void (*fc_rand_fn)(uint8_t *out, size_t n, void *arg);

/*
 * New cipher for one request.  The key may be 16, 24 or 32 bytes (Go's
 * aes.NewCipher accepts all three; the exchange always yields 32).  nonce
 * NULL draws a random request nonce.  Returns NULL on a bad key size.
 */
struct fc	*fc_new(const uint8_t *key, size_t keylen, const char *id,
		    const uint8_t *nonce, struct cerr *);
void		 fc_free(struct fc *);
/* Drop the cached contexts (and key copies) no cipher uses any more. */
void		 fc_forget_keys(void);
void		 fc_set_iv_source(struct fc *, fc_rand_fn, void *arg);
const uint8_t	*fc_nonce(const struct fc *);
uint32_t	 fc_enc_seq(const struct fc *);
uint32_t	 fc_dec_seq(const struct fc *);

/*
 * Encrypt pt with the next request sequence number and append the quoted
 * message to out.  Refused once a response value has been decrypted.
 */
int	fc_encrypt(struct fc *, const uint8_t *pt, size_t n, struct buf *out,
	    struct cerr *);

/*
 * Decrypt a message with the next response sequence number and append the
 * plaintext to out.  Surrounding quotes are stripped, exactly four
 * ':'-separated parts are required, hex may be either case; the id and
 * nonce text in the message are ignored (our own nonce is in the AAD).
 * On failure nothing is appended and the sequence number does not move.
 */
int	fc_decrypt(struct fc *, const uint8_t *msg, size_t n, struct buf *out,
	    struct cerr *);

/* The same two with the jm_fn signature of jsonmut.h (arg is the fc). */
int	fc_encrypt_cb(void *fc, const uint8_t *, size_t, struct buf *,
	    struct cerr *);
int	fc_decrypt_cb(void *fc, const uint8_t *, size_t, struct buf *,
	    struct cerr *);

/*
 * Go's EncryptMessage / DecryptMessage: one value under an explicit
 * nonce, sequence number and (for encryption) IV, no cipher state.  For
 * the server role in tests and benchmarks.
 */
int	fc_encrypt_message(const uint8_t *key, size_t keylen, const char *id,
	    const uint8_t nonce[FC_NONCE_BYTES], uint32_t seq,
	    const uint8_t iv[FC_IV_BYTES], const uint8_t *pt, size_t n,
	    struct buf *out, struct cerr *);
int	fc_decrypt_message(const uint8_t *key, size_t keylen,
	    const uint8_t nonce[FC_NONCE_BYTES], uint32_t seq,
	    const uint8_t *msg, size_t n, struct buf *out, struct cerr *);

/* The four parts of a message, as text spans into the input. */
struct fc_msg {
	const uint8_t	*id;
	size_t		 idlen;
	const uint8_t	*nonce;
	size_t		 noncelen;
	const uint8_t	*iv;
	size_t		 ivlen;
	const uint8_t	*ct;
	size_t		 ctlen;
};

/* Split a message (no crypto); the parser the fuzzer drives. */
int	fc_msg_parse(const uint8_t *, size_t, struct fc_msg *, struct cerr *);

/*
 * Decode n hex digits (either case) into out[n / 2], with Go's
 * encoding/hex error texts.
 */
int	fc_unhex(const uint8_t *hex, size_t n, uint8_t *out, struct cerr *);

#endif
