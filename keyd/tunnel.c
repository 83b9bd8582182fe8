/*
 * TLS to the API over memory BIOs: contexts, verification, session
 * resumption, and the byte pumps ktun.c drives.
 */

#include "config.h"

#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "buf.h"
#include "log.h"
#include "tunnel.h"
#include "util.h"


struct tunnel {
	uint32_t	 id;
	char		*host;
	SSL		*ssl;		/* NULL: plain TCP */
	BIO		*rbio;		/* socket -> SSL */
	BIO		*wbio;		/* SSL -> socket */
	int		 handshake_done;
	struct buf	 queued;	/* plaintext waiting for the handshake */
	struct buf	 plain_out;	/* plain tunnels: bytes to send */
};

static SSL_CTX	*ctx_verify;	/* api endpoint (verification per config) */
static SSL_CTX	*ctx_strict;	/* CDN and KDS: always verified */
/*
 * Resumption: the last session per host keeps reconnects to one RTT and
 * skips the certificate checks.  One slot per context, so that a session
 * from an unverified API connection (insecure) can never be resumed where
 * verification is mandatory.
 */
static struct resume {
	SSL_SESSION	*sess;
	char		*host;
} resume_api, resume_strict;

static void
ssl_errstr(const char *what, char *err, size_t errlen)
{
	unsigned long	e = ERR_get_error();
	char		buf[256];

	if (e == 0)
		snprintf(err, errlen, "%s", what);
	else {
		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(err, errlen, "%s: %s", what, buf);
	}
	ERR_clear_error();
}

/*
 * Before SSL_read/SSL_write: SSL_get_error() reads the thread's error
 * queue, and an entry left by unrelated code (a PEM parse that ended on
 * "no start line") would turn the next would-block into a fatal TLS
 * error.  Peek first: clearing walks every slot of the queue, and it is
 * nearly always empty.
 */
static void
clear_stale_errors(void)
{
	if (ERR_peek_error() != 0)
		ERR_clear_error();
}

static struct resume *
resume_slot(const SSL_CTX *ctx)
{
	return ctx == ctx_strict ? &resume_strict : &resume_api;
}

/*
 * The slot only ever holds copies, never a connection's own session:
 * OpenSSL marks that one not resumable when the connection is freed
 * without a TLS shutdown, which is how every connection here ends (the
 * socket belongs to a worker).
 */
static int
new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
	struct resume	*r = resume_slot(SSL_get_SSL_CTX(ssl));
	const char	*host = SSL_get_app_data(ssl);
	SSL_SESSION	*copy;

	if (host == NULL || (copy = SSL_SESSION_dup(sess)) == NULL)
		return 0;
	SSL_SESSION_free(r->sess);
	free(r->host);
	r->sess = copy;
	r->host = xstrdup(host);
	return 0;	/* OpenSSL frees its own reference */
}

static void
resume_offer(SSL *ssl, const char *host)
{
	struct resume	*r = resume_slot(SSL_get_SSL_CTX(ssl));
	SSL_SESSION	*copy;

	if (r->sess == NULL || strcmp(r->host, host) != 0 ||
	    (copy = SSL_SESSION_dup(r->sess)) == NULL)
		return;
	SSL_set_session(ssl, copy);
	SSL_SESSION_free(copy);		/* the SSL holds its own reference */
}

static SSL_CTX *
make_ctx(X509_STORE *store, int verify, char *err, size_t errlen)
{
	SSL_CTX	*ctx;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		ssl_errstr("SSL_CTX_new", err, errlen);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE,
	    NULL);
	if (store != NULL)
		SSL_CTX_set1_cert_store(ctx, store);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT |
	    SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx, new_session_cb);
	/* HTTP/1.1 unless a tunnel offers HTTP/2 as well (tun_new). */
	SSL_CTX_set_alpn_protos(ctx, (const unsigned char *)"\x08http/1.1", 9);
	/*
	 * An idle session (a pooled connection, a stream between chunks)
	 * gives its 2 x 17 KiB record buffers back: keyd holds one session
	 * per upstream connection of its worker.
	 */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	return ctx;
}

static int
load_bundle(X509_STORE *store, const struct buf *pem, char *err, size_t errlen)
{
	BIO	*bio;
	X509	*x;
	int	 n = 0;

	if (pem == NULL || pem->len == 0) {
		snprintf(err, errlen, "no CA certificates");
		return -1;
	}
	bio = BIO_new_mem_buf(pem->p, (int)pem->len);
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (X509_STORE_add_cert(store, x) == 1)
			n++;
		X509_free(x);
	}
	ERR_clear_error();	/* the loop ends on "no start line" */
	BIO_free(bio);
	if (n == 0) {
		snprintf(err, errlen, "no CA certificate in the bundle");
		return -1;
	}
	return 0;
}

int
tun_ctx_init(const struct buf *ca_pem, int insecure, char *err, size_t errlen)
{
	X509_STORE	*store;

	if ((store = X509_STORE_new()) == NULL) {
		ssl_errstr("X509_STORE_new", err, errlen);
		return -1;
	}
	if (load_bundle(store, ca_pem, err, errlen) == -1) {
		X509_STORE_free(store);
		return -1;
	}
	if ((ctx_verify = make_ctx(store, !insecure, err, errlen)) == NULL ||
	    (ctx_strict = make_ctx(store, 1, err, errlen)) == NULL) {
		X509_STORE_free(store);
		return -1;
	}
	X509_STORE_free(store);	/* the contexts hold references */
	return 0;
}

struct tunnel *
tun_new(uint32_t id, const char *host, int tls, int verify, int offer_h2)
{
	struct tunnel	*t;
	struct in6_addr	 a6;
	struct in_addr	 a4;
	int		 is_ip;

	t = xcalloc(1, sizeof(*t));
	t->id = id;
	t->host = xstrdup(host);
	buf_init(&t->queued, 0);
	buf_init(&t->plain_out, 0);
	if (!tls) {
		t->handshake_done = 1;
		return t;
	}
	if ((t->ssl = SSL_new(verify ? ctx_verify : ctx_strict)) == NULL)
		fatalx("SSL_new");
	t->rbio = BIO_new(BIO_s_mem());
	t->wbio = BIO_new(BIO_s_mem());
	if (t->rbio == NULL || t->wbio == NULL)
		fatalx("BIO_new");
	/* An empty read is "try again", not EOF. */
	BIO_set_mem_eof_return(t->rbio, -1);
	SSL_set_bio(t->ssl, t->rbio, t->wbio);
	SSL_set_connect_state(t->ssl);
	SSL_set_app_data(t->ssl, t->host);
	if (offer_h2 && SSL_set_alpn_protos(t->ssl,
	    (const unsigned char *)"\x02h2\x08http/1.1", 12) != 0)
		fatalx("SSL_set_alpn_protos");
	is_ip = inet_pton(AF_INET, host, &a4) == 1 ||
	    inet_pton(AF_INET6, host, &a6) == 1;
	if (is_ip)
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), host);
	else {
		SSL_set_tlsext_host_name(t->ssl, host);
		SSL_set1_host(t->ssl, host);
	}
	resume_offer(t->ssl, host);
	return t;
}

void
tun_free(struct tunnel *t)
{
	if (t == NULL)
		return;
	if (t->ssl != NULL)
		SSL_free(t->ssl);	/* frees the BIOs, cleanses keys */
	buf_free(&t->queued);
	buf_free(&t->plain_out);
	free(t->host);
	free(t);
}

int
tun_ready(const struct tunnel *t)
{
	return t->handshake_done;
}

int
tun_h2(const struct tunnel *t)
{
	const unsigned char	*proto;
	unsigned int		 len;

	if (t->ssl == NULL || !t->handshake_done)
		return 0;
	SSL_get0_alpn_selected(t->ssl, &proto, &len);
	return len == 2 && memcmp(proto, "h2", 2) == 0;
}

size_t
tun_queued(const struct tunnel *t)
{
	return t->queued.len;
}

static int
flush_queued(struct tunnel *t, char *err, size_t errlen)
{
	int	n;

	while (t->queued.len > 0) {
		n = SSL_write(t->ssl, t->queued.p,
		    (int)MINIMUM(t->queued.len, (size_t)INT32_MAX));
		if (n <= 0) {
			ssl_errstr("TLS write", err, errlen);
			return -1;
		}
		memmove(t->queued.p, t->queued.p + n, t->queued.len - n);
		t->queued.len -= n;
	}
	return 0;
}

static int
do_handshake(struct tunnel *t, char *err, size_t errlen)
{
	long	vr;
	int	rv;

	if ((rv = SSL_do_handshake(t->ssl)) == 1) {
		t->handshake_done = 1;
		return flush_queued(t, err, errlen);
	}
	switch (SSL_get_error(t->ssl, rv)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return 0;
	default:
		if ((vr = SSL_get_verify_result(t->ssl)) != X509_V_OK) {
			snprintf(err, errlen, "TLS handshake with %s: "
			    "certificate verification failed: %s", t->host,
			    X509_verify_cert_error_string(vr));
			ERR_clear_error();
		} else
			ssl_errstr("TLS handshake", err, errlen);
		return -1;
	}
}

int
tun_start(struct tunnel *t, char *err, size_t errlen)
{
	if (t->ssl == NULL)
		return 0;
	return do_handshake(t, err, errlen);
}

int
tun_input(struct tunnel *t, const uint8_t *p, size_t n, struct buf *plain,
    char *err, size_t errlen)
{
	uint8_t	*dst;
	int	 rv;

	if (t->ssl == NULL) {
		buf_add(plain, p, n);
		return 0;
	}
	clear_stale_errors();
	if (n > 0 && BIO_write(t->rbio, p, (int)n) != (int)n) {
		snprintf(err, errlen, "BIO_write");
		return -1;
	}
	if (!t->handshake_done && do_handshake(t, err, errlen) == -1)
		return -1;
	if (!t->handshake_done)
		return 0;
	for (;;) {
		dst = buf_reserve(plain, 16384);
		rv = SSL_read(t->ssl, dst, 16384);
		if (rv > 0) {
			plain->len += rv;
			continue;
		}
		switch (SSL_get_error(t->ssl, rv)) {
		case SSL_ERROR_WANT_READ:
		case SSL_ERROR_WANT_WRITE:
			return 0;
		case SSL_ERROR_ZERO_RETURN:
			/* close_notify: the caller sees EOF on the socket. */
			return 0;
		default:
			ssl_errstr("TLS read", err, errlen);
			return -1;
		}
	}
}

int
tun_write(struct tunnel *t, const uint8_t *p, size_t n, char *err,
    size_t errlen)
{
	if (t->ssl == NULL) {
		buf_add(&t->plain_out, p, n);
		return 0;
	}
	buf_add(&t->queued, p, n);
	if (!t->handshake_done)
		return 0;
	clear_stale_errors();
	return flush_queued(t, err, errlen);
}

void
tun_output(struct tunnel *t, struct buf *out)
{
	size_t	pending;
	int	n;

	if (t->ssl == NULL) {
		buf_add(out, t->plain_out.p, t->plain_out.len);
		buf_reset(&t->plain_out);
		return;
	}
	while ((pending = BIO_ctrl_pending(t->wbio)) > 0) {
		n = BIO_read(t->wbio, buf_reserve(out, pending), (int)pending);
		if (n <= 0)
			break;
		out->len += n;
	}
}
