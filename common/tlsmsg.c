/* The client-facing TLS key's messages (tlsmsg.h). */
#include "config.h"

#include <string.h>

#include "tlsmsg.h"

size_t
tls_md_len(unsigned int md)
{
	switch (md) {
	case TMD_SHA256:
		return 32;
	case TMD_SHA384:
		return 48;
	case TMD_SHA512:
		return 64;
	}
	return 0;
}

const char *
tls_sigalg_name(unsigned int alg)
{
	switch (alg) {
	case TSA_RSA_PKCS1:
		return "RSA PKCS#1";
	case TSA_RSA_PSS:
		return "RSA-PSS";
	case TSA_ECDSA:
		return "ECDSA";
	}
	return "?";
}

void
tls_pem_put(struct buf *m, const void *p, size_t n)
{
	msg_put_bytes(m, p, n);
}

int
tls_pem_get(struct msgr *r, const uint8_t **p, size_t *n)
{
	*p = msg_get_bytes(r, n);
	if (msg_end(r) == -1 || *n == 0 || *n > TLS_PEM_MAX) {
		*p = NULL;
		*n = 0;
		return -1;
	}
	return 0;
}

void
tls_sign_put(struct buf *m, const struct tls_sign_req *q)
{
	msg_put_raw(m, q->keyid, sizeof(q->keyid));
	msg_put_u8(m, q->alg);
	msg_put_u8(m, q->md);
	msg_put_bytes(m, q->in, q->inlen);
}

/*
 * The shape of a signing input follows from its algorithm: a digest of
 * exactly its hash's length, or an RSA block of a plausible size.
 * Anything else is not what a handshake asks for.
 */
static int
sign_shape_ok(const struct tls_sign_req *q)
{
	switch (q->alg) {
	case TSA_RSA_PKCS1:
	case TSA_ECDSA:
		return q->md != TMD_NONE && q->inlen == tls_md_len(q->md);
	case TSA_RSA_PSS:
		return q->md == TMD_NONE && q->inlen >= TLS_SIG_MIN &&
		    q->inlen <= TLS_SIG_MAX;
	}
	return 0;
}

int
tls_sign_get(struct msgr *r, struct tls_sign_req *q)
{
	memset(q, 0, sizeof(*q));
	msg_get_raw(r, q->keyid, sizeof(q->keyid));
	q->alg = msg_get_u8(r);
	q->md = msg_get_u8(r);
	q->in = msg_get_bytes(r, &q->inlen);
	if (msg_end(r) == -1 || !sign_shape_ok(q)) {
		memset(q, 0, sizeof(*q));
		return -1;
	}
	return 0;
}

void
tls_signed_put(struct buf *m, enum tls_sign_status st, const void *sig,
    size_t n)
{
	msg_put_u8(m, (uint8_t)st);
	msg_put_bytes(m, st == TSS_OK ? sig : NULL, st == TSS_OK ? n : 0);
}

int
tls_signed_get(struct msgr *r, enum tls_sign_status *st,
    const uint8_t **sig, size_t *n)
{
	*st = msg_get_u8(r);
	*sig = msg_get_bytes(r, n);
	/* A signature comes with success only, and never empty. */
	if (msg_end(r) == -1 || *st > TSS_MAX || (*st == TSS_OK) !=
	    (*n > 0) || *n > TLS_SIG_MAX) {
		*sig = NULL;
		*n = 0;
		return -1;
	}
	return 0;
}
