/*
 * The client step of the Privatemode secret exchange (protocol.md 2.4,
 * attestation-and-key-exchange.md section 6), split so the caller does
 * the HTTP round trip: sx_begin() makes a fresh X-Wing key pair and the
 * request body; sx_finish() checks the response against the attested mesh
 * CA and derives the 32-byte inference secret and its ID.
 *
 * Private key, shared secrets and the exported secret live in libsodium
 * guarded allocations (sodium_init() must have succeeded) or are wiped on
 * every path.  Error texts follow the Go client's.
 */
#ifndef PM_SX_H
#define PM_SX_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "buf.h"
#include "cerr.h"
#include "xwing.h"

#define SX_SECRET_BYTES	32
#define SX_ID_LEN	44	/* base64std of a SHA-256 digest */

struct sx;

/* The result; guarded memory owned by the caller (sx_secret_free). */
struct sx_secret {
	uint8_t	key[SX_SECRET_BYTES];
	char	id[SX_ID_LEN + 1];
};

/*
 * Start an exchange with a fresh key pair from 32 random bytes and append
 * the request body {"PublicKey":"<base64std>"} to body.
 */
int	sx_begin(struct sx **, struct buf *body, struct cerr *);
/* The same from a given seed (tests, benchmarks). */
int	sx_begin_seed(struct sx **, const uint8_t seed[XWING_SEED_BYTES],
	    struct buf *body, struct cerr *);

/*
 * Finish with the response body {"EncapsulatedKey","Signature",
 * "MeshCert"} (names case-insensitive, unknown members ignored, values
 * standard base64 with padding).  MeshCert must be exactly one DER
 * certificate issued by mesh_ca, valid at `now`, with an ECDSA key and an
 * EKU (if any) that permits serverAuth; Signature is its DER ECDSA
 * signature over the digest SHA-256(PublicKey || EncapsulatedKey).  Then
 * X-Wing decapsulation, the HPKE schedule and Export("", 32).  An
 * exchange can be finished once.
 */
int	sx_finish(struct sx *, const uint8_t *resp, size_t resplen,
	    X509 *mesh_ca, time_t now, struct sx_secret **, struct cerr *);


void	sx_free(struct sx *);
void	sx_secret_free(struct sx_secret *);

/* Secret ID: base64std(SHA-256(pk)), NUL-terminated, 44 characters. */
void	sx_secret_id(const uint8_t *pk, size_t pklen, char id[SX_ID_LEN + 1]);
/* The signed digest SHA-256(pk || enc). */
void	sx_digest(const uint8_t *pk, size_t pklen, const uint8_t *enc,
	    size_t enclen, uint8_t out[32]);

#endif
