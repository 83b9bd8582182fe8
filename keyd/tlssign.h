/*
 * keyd's half of client-facing TLS: it holds the private key of
 * tls_key (MSG_TLS_KEY from the parent) and signs for its worker's
 * handshakes (MSG_TLS_SIGN), nothing else: no decryption, no raw RSA on
 * a block that is not a PSS encoding, no digest of a length TLS does not
 * use.
 */
#ifndef PM_TLSSIGN_H
#define PM_TLSSIGN_H

#include <stddef.h>
#include <stdint.h>

struct chan;
struct msg_hdr;
struct msgr;

/* Fetch the digests once (before the sandbox). */
void	tlssign_init(void);
/* MSG_TLS_KEY's PEM (scrubbed here): the new current key; the one
 * before stays for handshakes of a worker that still has the previous
 * certificate.  -1: unusable (logged), the keys stay as they were. */
int	tlssign_set_key(const uint8_t *pem, size_t len);
/* MSG_TLS_SIGN: answered with MSG_TLS_SIGNED; -1 only if malformed. */
int	tlssign_request(struct chan *, const struct msg_hdr *, struct msgr *);
/* Is blk (k bytes, k the modulus's length) an EMSA-PSS encoding with
 * MGF1 and a salt as long as the hash, for SHA-256, -384 or -512? */
int	tlssign_pss_shape(const uint8_t *blk, size_t k, int modbits);

#endif
