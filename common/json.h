/*
 * A strict RFC 8259 JSON scanner over raw bytes.  It validates (grammar,
 * UTF-8, nesting depth, optionally duplicate member names), then lets the
 * caller walk containers member by member with raw spans, so a document
 * can be rewritten in place without ever being converted to a tree: the
 * field cipher replaces value text and keeps every other byte.
 *
 * Validation is iterative (an explicit stack), so deep nesting costs
 * memory proportional to the depth limit, never C stack.
 */
#ifndef PM_JSON_H
#define PM_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/*
 * Go's encoding/json refuses nesting deeper than 10000, and the server
 * side decodes with it, so deeper documents could never be served anyway.
 */
#define JSON_MAX_DEPTH	10000

enum json_kind {
	JSON_NONE = 0,
	JSON_OBJECT,
	JSON_ARRAY,
	JSON_STRING,
	JSON_NUMBER,
	JSON_TRUE,
	JSON_FALSE,
	JSON_NULL
};

enum json_status {
	JSON_OK = 0,
	JSON_EDUPKEY,		/* valid, but an object repeats a name */
	JSON_ESYNTAX,
	JSON_EINCOMPLETE,	/* input ended inside the value */
	JSON_EDEPTH,
	JSON_EUTF8,
	JSON_EEMPTY		/* no value at all (only whitespace) */
};

struct json_span {
	size_t	off;
	size_t	len;
};

struct json_result {
	enum json_status status;
	enum json_kind	 top;		/* type of the top-level value */
	size_t		 offset;	/* of the error or duplicate name */
	const char	*msg;		/* static text for the status */
};

/*
 * Validate a whole document (one value, surrounding whitespace allowed).
 * Returns the status; JSON_EDUPKEY is reported only for an otherwise
 * valid document, so a caller that tolerates duplicates treats it as OK.
 * maxdepth 0 means JSON_MAX_DEPTH.
 */
enum json_status json_validate(const uint8_t *, size_t, unsigned int maxdepth,
		    struct json_result *);

/* A member of the top-level object or array, as json_validate_top saw it. */
struct json_top {
	struct json_span key;		/* raw key with quotes; 0 in arrays */
	struct json_span value;		/* raw value text */
};

/*
 * json_validate that also records the members of a top-level container
 * in the same pass (*top is malloc'ed, the caller frees it; NULL and 0
 * for a scalar or an invalid document).  Saves the walk that rewrites
 * top-level values a second scan of a large body.
 */
enum json_status json_validate_top(const uint8_t *, size_t,
		    unsigned int maxdepth, struct json_result *,
		    struct json_top **, size_t *);

/*
 * json_validate_top for a caller that tolerates repeated member names
 * (the field walk checks the names it visits itself): they are not
 * looked for, so the status is never JSON_EDUPKEY, and no bookkeeping is
 * spent on them.  The members go into the caller's array *top of *cap
 * entries, grown as needed and kept by the caller for the next document
 * (free(*top) when done); *ntop is 0 unless the document is valid.
 */
enum json_status json_scan_top(const uint8_t *, size_t,
		    unsigned int maxdepth, struct json_result *,
		    struct json_top **top, size_t *cap, size_t *ntop);

/* Type of the value starting at p[off] (whitespace skipped). */
enum json_kind	 json_kind_at(const uint8_t *, size_t, size_t off);

/*
 * Span of the value starting at or after p[off] (leading whitespace
 * skipped), in a document known to be valid.  Returns -1 on malformed
 * input rather than reading out of bounds.
 */
int		 json_value_span(const uint8_t *, size_t, size_t off,
		    struct json_span *);

/* Members of one object, or elements of one array, in document order. */
struct json_iter {
	const uint8_t	*p;
	size_t		 end;		/* one past the closing bracket */
	size_t		 pos;
	enum json_kind	 type;		/* JSON_OBJECT or JSON_ARRAY */
	size_t		 index;
	struct buf	 name;		/* unescaped name of the member */
};

struct json_member {
	struct json_span key;		/* raw key with quotes; 0 in arrays */
	const char	*name;		/* unescaped key, NUL-terminated */
	size_t		 namelen;	/* (it may contain NUL bytes) */
	size_t		 index;		/* position in the container */
	struct json_span value;		/* raw value text */
	enum json_kind	 type;
};

/*
 * Start iterating the container whose raw text is p[span].  Fails if the
 * span is not an object or array.  The document must be valid.
 */
int	json_iter_init(struct json_iter *, const uint8_t *, struct json_span);
/* Next member: 1, end: 0, malformed input: -1. */
int	json_iter_next(struct json_iter *, struct json_member *);
void	json_iter_free(struct json_iter *);

/*
 * Append the unescaped contents of a raw JSON string (quotes included)
 * to out.  Lone surrogates become U+FFFD, as in Go.  -1 if malformed.
 */
int	json_unescape(const uint8_t *raw, size_t len, struct buf *out);

/* Bytewise comparison of two raw JSON strings' unescaped contents. */
int	json_strcmp(const uint8_t *a, size_t alen, const uint8_t *b,
	    size_t blen);

#endif
