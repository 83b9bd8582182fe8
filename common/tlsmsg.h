/*
 * The client-facing TLS key's messages (common/ipc.h).  The workers
 * terminate client TLS with the certificate only; every private-key
 * operation of a handshake is a signature their keyd makes (relayd's and
 * OpenSMTPD's "ca" process):
 *
 *	MSG_TLS_CERT	parent -> worker	certificate chain (PEM)
 *	MSG_TLS_KEY	parent -> keyd		private key (PEM)
 *	MSG_TLS_SIGN	worker -> keyd		key id, algorithm, digest
 *	MSG_TLS_SIGNED	keyd -> worker		signature, or why not
 *
 * A sign request names its key by the SHA-256 of the certificate's
 * SubjectPublicKeyInfo, so that a worker still holding the previous
 * certificate during a renewal is never answered with the new key.
 * What may be signed is narrow: a digest of a TLS 1.2/1.3 signature
 * algorithm's hash, or for RSA-PSS the encoded block (which keyd checks
 * is a PSS encoding before it touches the key).  There is no decryption.
 * One encoder and one decoder each; every decoder fails on a short
 * payload, trailing bytes or a field out of range.
 */
#ifndef PM_TLSMSG_H
#define PM_TLSMSG_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "ipc.h"

#define TLS_PEM_MAX	(IPC_MAX_CONFIG - 64)	/* the parent reads no more */
#define TLS_KEYID_LEN	32		/* SHA-256 of the SPKI DER */
#define TLS_SIG_MAX	1024		/* RSA-8192 */
#define TLS_SIG_MIN	64		/* RSA-512: nothing smaller is a key */

enum tls_sigalg {
	TSA_RSA_PKCS1 = 1,	/* PKCS#1 v1.5 over a digest (TLS 1.2) */
	TSA_RSA_PSS,		/* a PSS-encoded block (TLS 1.2 and 1.3) */
	TSA_ECDSA		/* ECDSA over a digest, DER signature */
};
#define TSA_MAX	TSA_ECDSA

enum tls_md {
	TMD_NONE = 0,		/* RSA-PSS: the hash is in the encoding */
	TMD_SHA256,
	TMD_SHA384,
	TMD_SHA512
};
#define TMD_MAX	TMD_SHA512

enum tls_sign_status {
	TSS_OK = 0,
	TSS_NOKEY,		/* keyd has no key of that id */
	TSS_REFUSED,		/* not a TLS handshake's signing input */
	TSS_FAILED		/* the key operation failed */
};
#define TSS_MAX	TSS_FAILED

struct tls_sign_req {
	uint8_t		 keyid[TLS_KEYID_LEN];
	uint8_t		 alg;		/* enum tls_sigalg */
	uint8_t		 md;		/* enum tls_md */
	const uint8_t	*in;		/* digest or PSS block (a view) */
	size_t		 inlen;
};

/* Digest length of a TMD_* (0 for TMD_NONE or out of range). */
size_t	tls_md_len(unsigned int md);
const char *tls_sigalg_name(unsigned int alg);

/* MSG_TLS_CERT, MSG_TLS_KEY: one PEM text, not empty, at most TLS_PEM_MAX. */
void	tls_pem_put(struct buf *, const void *, size_t);
int	tls_pem_get(struct msgr *, const uint8_t **, size_t *);

/* MSG_TLS_SIGN */
void	tls_sign_put(struct buf *, const struct tls_sign_req *);
int	tls_sign_get(struct msgr *, struct tls_sign_req *);

/* MSG_TLS_SIGNED: a signature with TSS_OK, none otherwise. */
void	tls_signed_put(struct buf *, enum tls_sign_status, const void *,
	    size_t);
int	tls_signed_get(struct msgr *, enum tls_sign_status *,
	    const uint8_t **, size_t *);

#endif
