/*
 * The client-facing TLS context of a worker: protocol versions, suites,
 * ALPN, and the certificate pair the parent sends.
 */

#include "config.h"

#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "ipc.h"
#include "log.h"
#include "tls.h"

/* TLS 1.2 suites: ECDHE with AES-GCM or ChaCha20 only (1.3: defaults). */
#define TLS12_CIPHERS	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
			"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:" \
			"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"

static void
log_ssl(const char *what)
{
	char	buf[256];

	ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
	log_warnx("loading TLS config: %s: %s", what, buf);
	ERR_clear_error();
}

static int
alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char	h11[] = "\x08http/1.1";

	if (SSL_select_next_proto((unsigned char **)out, outlen, h11,
	    sizeof(h11) - 1, in, inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	return SSL_TLSEXT_ERR_OK;
}

struct ssl_ctx_st *
tls_server_ctx(const uint8_t *payload, size_t len)
{
	struct msgr	 r;
	const uint8_t	*cert, *key;
	size_t		 clen, klen;
	SSL_CTX		*ctx = NULL;
	BIO		*bio = NULL;
	X509		*x;
	EVP_PKEY	*pk = NULL;

	msgr_init(&r, payload, len);
	cert = msg_get_bytes(&r, &clen);
	key = msg_get_bytes(&r, &klen);
	if (msg_end(&r) == -1) {
		log_warnx("loading TLS config: malformed key pair message");
		return NULL;
	}
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		log_ssl("SSL_CTX_new");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	/* Idle keep-alive clients give their record buffers back. */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);

	/* The leaf, then any intermediates in the same file. */
	bio = BIO_new_mem_buf(cert, (int)clen);
	if ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL) {
		log_ssl("certificate");
		goto fail;
	}
	if (SSL_CTX_use_certificate(ctx, x) != 1) {
		X509_free(x);
		log_ssl("certificate");
		goto fail;
	}
	X509_free(x);
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		if (SSL_CTX_add_extra_chain_cert(ctx, x) != 1) {
			X509_free(x);
			log_ssl("certificate chain");
			goto fail;
		}
	ERR_clear_error();	/* the loop ends on "no start line" */
	BIO_free(bio);
	bio = BIO_new_mem_buf(key, (int)klen);
	if ((pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)) == NULL) {
		log_ssl("private key");
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey(ctx, pk) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		log_ssl("private key does not match the certificate");
		goto fail;
	}
	EVP_PKEY_free(pk);
	BIO_free(bio);
	return ctx;
 fail:
	EVP_PKEY_free(pk);
	BIO_free(bio);
	SSL_CTX_free(ctx);
	return NULL;
}

int
tls_keypair_check(const uint8_t *payload, size_t len)
{
	SSL_CTX	*ctx;

	if ((ctx = tls_server_ctx(payload, len)) == NULL)
		return -1;
	SSL_CTX_free(ctx);
	return 0;
}
