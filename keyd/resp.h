/*
 * An HTTP/1.1 response reader over decrypted bytes: head, then a body
 * framed by Content-Length, chunked coding or connection close.  Used by
 * keyd for relayed responses and for its own downloads.
 */
#ifndef PM_RESP_H
#define PM_RESP_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "http.h"

#define RESP_HEAD_MAX	(64U * 1024)

struct resp_cb {
	/* Return -1 to abort (err set by the callee). */
	int	(*head)(void *arg);
	int	(*body)(void *arg, const uint8_t *, size_t);
	int	(*done)(void *arg);
};

struct resp {
	int			 state;
	struct buf		 pend;		/* head bytes so far */
	size_t			 scanned;
	struct http_head	 head;
	uint64_t		 left;		/* Content-Length remaining */
	struct http_chunked	 ch;
	int			 keepalive;	/* connection reusable after */
	int			 bodyless;	/* HEAD request, 1xx/204/304 */
	uint64_t		 received;	/* response bytes seen */
	/* for the chunk callback */
	const struct resp_cb	*cb;
	void			*arg;
	int			 cb_failed;
};

void	resp_init(struct resp *, int head_request);
void	resp_free(struct resp *);
/* Feed bytes; -1 on a malformed response or a callback failure. */
int	resp_feed(struct resp *, const uint8_t *, size_t,
	    const struct resp_cb *, void *, char *err, size_t errlen);
/* The connection ended: 0 if that completes a close-delimited body
 * (done called), -1 if the response is incomplete. */
int	resp_eof(struct resp *, const struct resp_cb *, void *);
int	resp_done(const struct resp *);

#endif
