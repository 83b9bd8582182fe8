/*
 * multipart/form-data parsing, shared: the worker validates a form with it
 * before keyd sees it, and keyd parses it again to rebuild it as the
 * official proxy does (protocol.md 3.8: value fields first and file fields
 * second, each group sorted by name, first occurrence only, files renamed
 * to their field name, every non-plain part encrypted; keyd/seal.c).
 */
#ifndef PM_MULTIPART_H
#define PM_MULTIPART_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define MP_MAX_PARTS	256

struct mp_part {
	char		*name;
	int		 is_file;	/* had a filename parameter */
	const uint8_t	*data;		/* into the parsed body */
	size_t		 len;
};

struct mp_form {
	struct mp_part	parts[MP_MAX_PARTS];
	int		nparts;
};

/* The boundary parameter of a Content-Type; -1 with msg if unusable. */
int	mp_boundary(const char *ctype, char *out, size_t outlen,
	    const char **msg);
/* Parse body into form (spans point into body); -1 with msg. */
int	mp_parse(const uint8_t *body, size_t len, const char *boundary,
	    struct mp_form *, const char **msg);
void	mp_free(struct mp_form *);
/* First value part with this name, or NULL. */
const struct mp_part *mp_value(const struct mp_form *, const char *name);

#endif
