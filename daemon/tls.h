/*
 * Client-facing TLS in the workers (tls_cert / tls_key).  A worker holds
 * the certificate chain only; the private key is in its keyd, which makes
 * every signature of a handshake (MSG_TLS_SIGN).  The handshake runs here
 * rather than in libevent's OpenSSL bufferevent, because it pauses while
 * keyd signs: OpenSSL's asynchronous mode (SSL_MODE_ASYNC) runs it as a
 * job that the key method suspends (ASYNC_pause_job) until keyd's answer
 * comes, and SSL_do_handshake says SSL_ERROR_WANT_ASYNC meanwhile.  The
 * event loop goes on serving everything else.
 */
#ifndef PM_TLS_H
#define PM_TLS_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct ssl_ctx_st;
struct ssl_st;

/*
 * A server context from a certificate chain (PEM: the leaf, then any
 * intermediates): TLS 1.2 and 1.3, forward-secret AEAD suites only (no
 * RSA key exchange, so no decryption is ever asked of keyd), HTTP/1.1 by
 * ALPN, and a key whose private operations are keyd's.  RSA and ECDSA
 * keys.  Returns NULL with the reason logged.
 */
struct ssl_ctx_st *tls_server_ctx(const uint8_t *pem, size_t len);
/*
 * The parent's check before it hands a pair out: the chain makes a
 * context and the key (PEM) is the certificate's.  -1 with the reason
 * logged.
 */
int	tls_pair_check(const uint8_t *cert, size_t clen, const uint8_t *key,
	    size_t klen);

/*
 * A server handshake on fd.  done gets the SSL (and owns it and fd from
 * then on) once it is complete, or NULL when it failed (fd is closed).
 */
typedef void	(*tlshs_done_fn)(struct ssl_st *, int fd, void *arg);
struct tlshs;

struct tlshs	*tlshs_start(struct event_base *, struct ssl_ctx_st *, int fd,
		    tlshs_done_fn, void *arg);
/* The connection goes (a timeout, a drain): done is not called.  A
 * handshake waiting for keyd ends when keyd answers or the call times
 * out, since OpenSSL's paused job must run to its end to be freed. */
void		 tlshs_abandon(struct tlshs *);

#endif
