/* Client-facing TLS in the workers (tls_cert / tls_key). */
#ifndef PM_TLS_H
#define PM_TLS_H

#include <stddef.h>
#include <stdint.h>

struct ssl_ctx_st;

/*
 * A server context from a MSG_TLS_KEYPAIR payload (cert PEM, key PEM):
 * TLS 1.2 and 1.3, forward-secret AEAD suites only, HTTP/1.1 by ALPN.
 * Returns NULL with the reason logged.
 */
struct ssl_ctx_st *tls_server_ctx(const uint8_t *payload, size_t len);
/* -1 if the payload does not make a usable context (certificate and key
 * mismatch, unparsable PEM), with the reason logged. */
int	tls_keypair_check(const uint8_t *payload, size_t len);

#endif
