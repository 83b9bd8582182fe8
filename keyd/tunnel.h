/*
 * keyd's TLS client sessions (or plain bytes for http:// URLs) over memory
 * BIOs: ktun.c reads the socket into tun_input() and writes what
 * tun_output() gives, so the socket I/O stays one read and one write per
 * event.  The TLS keys, and so the API key in the Authorization header,
 * never leave keyd.
 */
#ifndef PM_TUNNEL_H
#define PM_TUNNEL_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct tunnel;
struct ssl_ctx_st;

/*
 * The client TLS contexts from a PEM bundle of CA certificates (read by
 * the parent), verification on unless insecure for the API endpoint;
 * CDN and KDS connections are always verified.
 */
int		 tun_ctx_init(const struct buf *ca_pem, int insecure, char *err,
		    size_t errlen);
/* A session to host; offer_h2: ALPN offers h2 before http/1.1. */
struct tunnel	*tun_new(uint32_t id, const char *host, int tls, int verify,
		    int offer_h2);
/* Did the server pick HTTP/2 (once the handshake is done)? */
int		 tun_h2(const struct tunnel *);
void		 tun_free(struct tunnel *);
int		 tun_ready(const struct tunnel *);	/* handshake done */
/* Plaintext written before the handshake and not yet sealed. */
size_t		 tun_queued(const struct tunnel *);
/*
 * Feed bytes read from the socket; decrypted application bytes are
 * appended to plain.  Returns 0, or -1 with a message (TLS alert,
 * certificate verification failure, ...).
 */
int		 tun_input(struct tunnel *, const uint8_t *, size_t,
		    struct buf *plain, char *err, size_t errlen);
/* Queue application bytes; written once the handshake completes. */
int		 tun_write(struct tunnel *, const uint8_t *, size_t, char *err,
		    size_t errlen);
/* Append everything waiting to go to the socket. */
void		 tun_output(struct tunnel *, struct buf *out);
/* Start the handshake (client hello goes to the output). */
int		 tun_start(struct tunnel *, char *err, size_t errlen);

#endif
