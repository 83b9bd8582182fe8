/*
 * Client-facing TLS in the workers, without the private key (tls.h).
 *
 * The key a worker's SSL_CTX holds is the certificate's public key with
 * an RSA_METHOD or EC_KEY_METHOD whose private operations are requests to
 * keyd (OpenSSL calls such a key "foreign" and keeps it on its legacy
 * path, as it does for PKCS#11 engines).  These methods are deprecated
 * in OpenSSL 3 in favour of providers, but they are what 3.0 (Debian 12)
 * offers with the least code that can go wrong, and they are the same
 * hook relayd's and OpenSMTPD's "ca" processes use.  A provider would let
 * keyd see the whole signed input instead of its digest; what keyd signs
 * is narrow either way (keyd/tlssign.c).
 */
#include "config.h"

/* RSA_METHOD and EC_KEY_METHOD: see above. */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/async.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/ssl.h>
#include <sodium.h>

#include "buf.h"
#include "calls.h"
#include "ipc.h"
#include "log.h"
#include "tls.h"
#include "tlsmsg.h"
#include "util.h"
#include "worker.h"

/* TLS 1.2 suites: ECDHE with AES-GCM or ChaCha20 only (1.3: defaults). */
#define TLS12_CIPHERS	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
			"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:" \
			"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"
/* The signatures keyd makes: SHA-2 only, RSA-PSS for RSA keys in 1.3. */
#define TLS_SIGALGS	"ECDSA+SHA256:ECDSA+SHA384:ECDSA+SHA512:" \
			"rsa_pss_rsae_sha256:rsa_pss_rsae_sha384:" \
			"rsa_pss_rsae_sha512:RSA+SHA256:RSA+SHA384:RSA+SHA512"
/* keyd signs from memory in well under a millisecond; this is a wedge. */
#define TLS_SIGN_TIMEOUT_MS	5000

enum hs_sig { SIG_NONE, SIG_WAITING, SIG_OK, SIG_FAIL };

struct tlshs {
	struct event_base	*base;
	SSL			*ssl;
	int			 fd;
	struct event		*io;		/* the socket, as SSL wants */
	struct event		*resume;	/* keyd answered */
	tlshs_done_fn		 done;		/* NULL: abandoned */
	void			*arg;
	enum hs_sig		 sig;
	int			 paused;	/* the job waits for keyd */
	uint8_t			 sigbuf[TLS_SIG_MAX];
	size_t			 siglen;
};

/* The handshake SSL_do_handshake is running (one thread, one at a time). */
static struct tlshs	*hs_current;
static RSA_METHOD	*rsa_remote;
static EC_KEY_METHOD	*ec_remote;
static int		 keyid_idx = -1;

static void
log_ssl(const char *what)
{
	char	buf[256];

	ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
	log_warnx("loading TLS config: %s: %s", what, buf);
	ERR_clear_error();
}

/* --- the key methods: signatures by keyd ---------------------------- */

static void
sign_answer(const struct msg_hdr *hdr, struct msgr *r, void *arg)
{
	struct tlshs		*hs = arg;
	enum tls_sign_status	 st;
	const uint8_t		*sig;
	size_t			 n;

	hs->sig = SIG_FAIL;
	if (hdr == NULL)
		log_warnx("TLS handshake: keyd did not sign (gone or too slow)");
	else if (tls_signed_get(r, &st, &sig, &n) == -1)
		log_warnx("keyd: malformed %s", msg_to_str(hdr->type));
	else if (st != TSS_OK)
		log_warnx("TLS handshake: keyd refused to sign (%d)", st);
	else {
		memcpy(hs->sigbuf, sig, n);
		hs->siglen = n;
		hs->sig = SIG_OK;
	}
	/* From the event loop, never from inside the job itself. */
	if (hs->paused)
		event_active(hs->resume, 0, 0);
}

/*
 * Runs inside the handshake's job: ask keyd, suspend the job until the
 * answer is in, and return the signature's length (-1 on failure).
 */
static int
remote_sign(uint8_t alg, uint8_t md, const uint8_t *in, size_t inlen,
    uint8_t *out, size_t outmax)
{
	struct tlshs		*hs = hs_current;
	struct tls_sign_req	 q;
	const uint8_t		*id;
	struct buf		 m;

	if (hs == NULL || ASYNC_get_current_job() == NULL ||
	    (id = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(hs->ssl),
	    keyid_idx)) == NULL) {
		log_warnx("TLS: a private-key operation outside a handshake");
		return -1;
	}
	memset(&q, 0, sizeof(q));
	memcpy(q.keyid, id, sizeof(q.keyid));
	q.alg = alg;
	q.md = md;
	q.in = in;
	q.inlen = inlen;
	buf_init(&m, inlen + 64);
	tls_sign_put(&m, &q);
	hs->sig = SIG_WAITING;
	hs->siglen = 0;
	(void)keyd_call(MSG_TLS_SIGN, &m, sign_answer, hs,
	    TLS_SIGN_TIMEOUT_MS);
	buf_free(&m);
	while (hs->sig == SIG_WAITING) {
		hs->paused = 1;
		if (ASYNC_pause_job() == 0)
			fatalx("ASYNC_pause_job");
		hs->paused = 0;
	}
	/* An abandoned connection's handshake only has to end. */
	if (hs->sig != SIG_OK || hs->done == NULL || hs->siglen > outmax)
		return -1;
	memcpy(out, hs->sigbuf, hs->siglen);
	return (int)hs->siglen;
}

static uint8_t
md_of_nid(int nid)
{
	switch (nid) {
	case NID_sha256:
		return TMD_SHA256;
	case NID_sha384:
		return TMD_SHA384;
	case NID_sha512:
		return TMD_SHA512;
	}
	return TMD_NONE;
}

/* PKCS#1 v1.5 (TLS 1.2): OpenSSL hands over the digest and its type. */
static int
rsa_sign(int type, const unsigned char *m, unsigned int mlen,
    unsigned char *sig, unsigned int *siglen, const RSA *rsa)
{
	uint8_t	md = md_of_nid(type);
	int	n;

	if (md == TMD_NONE || mlen != tls_md_len(md)) {
		log_warnx("TLS: no RSA signature with digest %d", type);
		return 0;
	}
	if ((n = remote_sign(TSA_RSA_PKCS1, md, m, mlen, sig,
	    (size_t)RSA_size(rsa))) <= 0)
		return 0;
	*siglen = (unsigned int)n;
	return 1;
}

/* RSA-PSS: OpenSSL pads, then asks for the raw private operation. */
static int
rsa_priv_enc(int flen, const unsigned char *from, unsigned char *to,
    RSA *rsa, int padding)
{
	int	n;

	if (padding != RSA_NO_PADDING || flen != RSA_size(rsa)) {
		log_warnx("TLS: no RSA private operation with padding %d",
		    padding);
		return -1;
	}
	n = remote_sign(TSA_RSA_PSS, TMD_NONE, from, (size_t)flen, to,
	    (size_t)RSA_size(rsa));
	return n == RSA_size(rsa) ? n : -1;
}

/* RSA key exchange is not among our suites: nothing to decrypt, ever. */
static int
rsa_priv_dec(int flen, const unsigned char *from, unsigned char *to,
    RSA *rsa, int padding)
{
	log_warnx("TLS: refusing an RSA decryption");
	return -1;
}

static int
ec_sign(int type, const unsigned char *dgst, int dlen, unsigned char *sig,
    unsigned int *siglen, const BIGNUM *kinv, const BIGNUM *r,
    EC_KEY *eckey)
{
	uint8_t	md = md_of_nid(type);
	int	n;

	if (md == TMD_NONE || dlen < 0 || (size_t)dlen != tls_md_len(md)) {
		log_warnx("TLS: no ECDSA signature with digest %d", type);
		return 0;
	}
	if ((n = remote_sign(TSA_ECDSA, md, dgst, (size_t)dlen, sig,
	    (size_t)ECDSA_size(eckey))) <= 0)
		return 0;
	*siglen = (unsigned int)n;
	return 1;
}

/* ECDSA_do_sign: TLS does not use it; keyd signs digests with ECDSA_sign. */
static ECDSA_SIG *
ec_sign_sig(const unsigned char *dgst, int dlen, const BIGNUM *kinv,
    const BIGNUM *r, EC_KEY *eckey)
{
	log_warnx("TLS: refusing a bare ECDSA_do_sign");
	return NULL;
}

static void
keyid_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
    void *argp)
{
	free(ptr);
}

static int
methods_init(void)
{
	int	(*setup)(EC_KEY *, BN_CTX *, BIGNUM **, BIGNUM **) = NULL;

	if (rsa_remote != NULL)
		return 0;
	if (!ASYNC_is_capable()) {
		log_warnx("loading TLS config: this OpenSSL cannot run "
		    "asynchronous jobs, which the handshakes need");
		return -1;
	}
	if ((rsa_remote = RSA_meth_dup(RSA_PKCS1_OpenSSL())) == NULL ||
	    RSA_meth_set1_name(rsa_remote, "privatemoded keyd") != 1 ||
	    RSA_meth_set_sign(rsa_remote, rsa_sign) != 1 ||
	    RSA_meth_set_priv_enc(rsa_remote, rsa_priv_enc) != 1 ||
	    RSA_meth_set_priv_dec(rsa_remote, rsa_priv_dec) != 1)
		fatalx("RSA_METHOD");
	if ((ec_remote = EC_KEY_METHOD_new(EC_KEY_OpenSSL())) == NULL)
		fatalx("EC_KEY_METHOD_new");
	EC_KEY_METHOD_get_sign(ec_remote, NULL, &setup, NULL);
	EC_KEY_METHOD_set_sign(ec_remote, ec_sign, setup, ec_sign_sig);
	if ((keyid_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL,
	    keyid_free)) == -1)
		fatalx("SSL_CTX_get_ex_new_index");
	return 0;
}

/* The certificate's public key, with keyd for its private half. */
static EVP_PKEY *
remote_key(EVP_PKEY *pub)
{
	EVP_PKEY	*pk;
	RSA		*rsa;
	EC_KEY		*ec;

	if ((pk = EVP_PKEY_new()) == NULL)
		return NULL;
	if (EVP_PKEY_is_a(pub, "RSA")) {
		if ((rsa = RSAPublicKey_dup(EVP_PKEY_get0_RSA(pub))) != NULL &&
		    RSA_set_method(rsa, rsa_remote) == 1 &&
		    EVP_PKEY_assign_RSA(pk, rsa) == 1)
			return pk;
		RSA_free(rsa);
	} else if (EVP_PKEY_is_a(pub, "EC")) {
		if ((ec = EC_KEY_dup(EVP_PKEY_get0_EC_KEY(pub))) != NULL &&
		    EC_KEY_set_method(ec, ec_remote) == 1 &&
		    EVP_PKEY_assign_EC_KEY(pk, ec) == 1)
			return pk;
		EC_KEY_free(ec);
	} else
		log_warnx("loading TLS config: only RSA and ECDSA keys are "
		    "supported");
	EVP_PKEY_free(pk);
	return NULL;
}

/* What keyd knows the key by: SHA-256 of the SubjectPublicKeyInfo. */
static uint8_t *
key_id(EVP_PKEY *pub)
{
	unsigned char	*der = NULL;
	uint8_t		*id;
	int		 n;

	if ((n = i2d_PUBKEY(pub, &der)) <= 0)
		return NULL;
	id = xmalloc(TLS_KEYID_LEN);
	crypto_hash_sha256(id, der, (unsigned long long)n);
	OPENSSL_free(der);
	return id;
}

/* --- the context ---------------------------------------------------- */

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

/* A suite with RSA key exchange would make keyd a decryption oracle. */
static int
no_rsa_kx(SSL_CTX *ctx)
{
	STACK_OF(SSL_CIPHER)	*sk = SSL_CTX_get_ciphers(ctx);
	int			 i;

	for (i = 0; sk != NULL && i < sk_SSL_CIPHER_num(sk); i++)
		if (SSL_CIPHER_get_kx_nid(sk_SSL_CIPHER_value(sk, i)) ==
		    NID_kx_rsa) {
			log_warnx("loading TLS config: RSA key exchange "
			    "suite %s", SSL_CIPHER_get_name(
			    sk_SSL_CIPHER_value(sk, i)));
			return -1;
		}
	return 0;
}

static SSL_CTX *
ctx_new(void)
{
	SSL_CTX	*ctx;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		log_ssl("SSL_CTX_new");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
	if (SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1 ||
	    SSL_CTX_set1_sigalgs_list(ctx, TLS_SIGALGS) != 1 ||
	    no_rsa_kx(ctx) == -1) {
		log_ssl("suites");
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	/*
	 * Idle keep-alive clients give their record buffers back.  The
	 * handshake runs as an asynchronous job (tlshs_start), which the
	 * connection leaves once it is done.
	 */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ASYNC);
	return ctx;
}

struct ssl_ctx_st *
tls_server_ctx(const uint8_t *pem, size_t len)
{
	SSL_CTX		*ctx = NULL;
	BIO		*bio;
	X509		*x;
	EVP_PKEY	*pk = NULL;
	uint8_t		*id;

	if (methods_init() == -1 || (ctx = ctx_new()) == NULL)
		return NULL;
	/* The leaf, then any intermediates in the same file. */
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		fatalx("BIO_new_mem_buf");
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
	x = SSL_CTX_get0_certificate(ctx);
	if ((pk = remote_key(X509_get0_pubkey(x))) == NULL ||
	    SSL_CTX_use_PrivateKey(ctx, pk) != 1) {
		log_ssl("certificate's public key");
		goto fail;
	}
	if ((id = key_id(X509_get0_pubkey(x))) == NULL) {
		log_ssl("certificate's public key");
		goto fail;
	}
	SSL_CTX_set_ex_data(ctx, keyid_idx, id);
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
tls_pair_check(const uint8_t *cert, size_t clen, const uint8_t *key,
    size_t klen)
{
	SSL_CTX		*ctx;
	BIO		*bio;
	EVP_PKEY	*pk;
	int		 rv = -1;

	if ((ctx = tls_server_ctx(cert, clen)) == NULL)
		return -1;
	if ((bio = BIO_new_mem_buf(key, (int)klen)) == NULL)
		fatalx("BIO_new_mem_buf");
	if ((pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)) == NULL)
		log_ssl("private key");
	else if (X509_check_private_key(SSL_CTX_get0_certificate(ctx),
	    pk) != 1)
		log_ssl("private key does not match the certificate");
	else
		rv = 0;
	EVP_PKEY_free(pk);
	BIO_free(bio);
	SSL_CTX_free(ctx);
	return rv;
}

/* --- the handshake -------------------------------------------------- */

static void	hs_step(struct tlshs *);

static void
hs_end(struct tlshs *hs, int ok)
{
	tlshs_done_fn	 done = hs->done;
	void		*arg = hs->arg;
	SSL		*ssl = hs->ssl;
	int		 fd = hs->fd;

	event_free(hs->io);
	event_free(hs->resume);
	free(hs);
	if (ok && done != NULL) {
		done(ssl, fd, arg);
		return;
	}
	SSL_free(ssl);
	close(fd);
	if (done != NULL)
		done(NULL, -1, arg);
}

static void
hs_io(evutil_socket_t fd, short ev, void *arg)
{
	hs_step(arg);
}

static void
hs_resume(evutil_socket_t fd, short ev, void *arg)
{
	hs_step(arg);
}

static void
hs_step(struct tlshs *hs)
{
	short	what;
	int	rv;

	hs_current = hs;
	rv = SSL_do_handshake(hs->ssl);
	hs_current = NULL;
	if (rv == 1) {
		/*
		 * Records need no job: running each SSL_read and SSL_write as
		 * one would cost a context switch each for nothing.
		 */
		SSL_clear_mode(hs->ssl, SSL_MODE_ASYNC);
		hs_end(hs, 1);
		return;
	}
	switch (SSL_get_error(hs->ssl, rv)) {
	case SSL_ERROR_WANT_READ:
		what = EV_READ;
		break;
	case SSL_ERROR_WANT_WRITE:
		what = EV_WRITE;
		break;
	case SSL_ERROR_WANT_ASYNC:
		/* keyd has our request: its answer resumes the job. */
		return;
	default:
		log_debug("client TLS handshake failed");
		ERR_clear_error();
		hs_end(hs, 0);
		return;
	}
	if (hs->done == NULL) {
		hs_end(hs, 0);
		return;
	}
	event_del(hs->io);
	event_assign(hs->io, hs->base, hs->fd, what, hs_io, hs);
	event_add(hs->io, NULL);
}

struct tlshs *
tlshs_start(struct event_base *base, struct ssl_ctx_st *ctx, int fd,
    tlshs_done_fn done, void *arg)
{
	struct tlshs	*hs;
	SSL		*ssl;

	if ((ssl = SSL_new(ctx)) == NULL || SSL_set_fd(ssl, fd) != 1) {
		SSL_free(ssl);
		return NULL;
	}
	SSL_set_accept_state(ssl);
	hs = xcalloc(1, sizeof(*hs));
	hs->base = base;
	hs->ssl = ssl;
	hs->fd = fd;
	hs->done = done;
	hs->arg = arg;
	hs->io = event_new(base, fd, EV_READ, hs_io, hs);
	hs->resume = event_new(base, -1, 0, hs_resume, hs);
	if (hs->io == NULL || hs->resume == NULL)
		fatalx("%s: event_new", __func__);
	/* The client speaks first. */
	event_add(hs->io, NULL);
	return hs;
}

void
tlshs_abandon(struct tlshs *hs)
{
	hs->done = NULL;
	if (hs->sig == SIG_WAITING)
		return;		/* sign_answer resumes it, then it ends */
	hs_end(hs, 0);
}
