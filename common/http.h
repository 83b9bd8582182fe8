/*
 * HTTP/1.x message heads and chunked bodies: the strict parsing shared by
 * the worker (client requests) and keyd (upstream responses).  Nothing
 * here allocates per header; a parsed head points into its own copy of
 * the header block.
 */
#ifndef PM_HTTP_H
#define PM_HTTP_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_HEADERS	100

struct http_header {
	const char	*name;
	const char	*value;
};

struct http_head {
	char			*raw;		/* owned, NUL-separated fields */
	size_t			 rawlen;
	/* request line */
	const char		*method;
	const char		*target;	/* as sent, path + query */
	/* status line */
	int			 status;
	const char		*reason;
	int			 minor;		/* HTTP/1.<minor> */
	struct http_header	 h[HTTP_MAX_HEADERS];
	int			 nh;
};

/* Parse results, mapped to statuses by the caller. */
enum http_perr {
	HTTP_OK = 0,
	HTTP_E_SYNTAX,		/* 400 */
	HTTP_E_VERSION,		/* 505 */
	HTTP_E_TOO_MANY,	/* 431: header flood */
	HTTP_E_TARGET,		/* 400: target not origin-form */
	HTTP_E_METHOD		/* 400/501 */
};

/*
 * Find the end of a head (the empty line) in data[0..len).  Returns the
 * head length including the terminating empty line, or 0 if not yet
 * complete.  *scanned carries the resume offset between calls.
 */
size_t		 http_head_end(const char *data, size_t len, size_t *scanned);
/* Parse a complete head; is_request selects request vs status line. */
enum http_perr	 http_head_parse(struct http_head *, const char *data,
		    size_t len, int is_request);
void		 http_head_free(struct http_head *);
const char	*http_head_get(const struct http_head *, const char *name);
int		 http_head_count(const struct http_head *, const char *name);
/* Does a comma-separated header list contain token (case-insensitive)? */
int		 http_token_in(const char *list, const char *token);
const char	*http_perr_str(enum http_perr);
/* A field that concerns one connection, never forwarded (hop by hop). */
int		 http_hop_by_hop(const char *name);
const char	*http_reason(int status);

/*
 * Chunked transfer coding decoder.  Feed raw bytes; decoded payload is
 * appended by the callback.  Chunk extensions must follow RFC 9112
 * 7.1.1 (";" name ["=" token or quoted-string], optional white space
 * around ";" and "=") and are discarded; anything else after the size
 * ("2 junk") is an error.  Trailers are read and discarded.
 */
struct http_chunked {
	int		state;
	int		ext;		/* where in a chunk extension */
	uint64_t	remaining;	/* of the current chunk */
	size_t		linelen;	/* size line / trailer line length */
	int		digits;
};

enum http_chunk_rv {
	HTTP_CHUNK_MORE,	/* consumed everything, need more */
	HTTP_CHUNK_DONE,	/* final chunk and trailers consumed */
	HTTP_CHUNK_ERROR	/* malformed */
};

void			http_chunked_init(struct http_chunked *);
/* *used is set to the number of input bytes consumed. */
enum http_chunk_rv	http_chunked_feed(struct http_chunked *,
			    const uint8_t *in, size_t len, size_t *used,
			    void (*out)(const uint8_t *, size_t, void *),
			    void *arg);

#endif
