/*
 * multipart/form-data (RFC 7578): the boundary and the parts of an
 * audio upload, for the worker's check and keyd's sealing.
 */

#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "multipart.h"
#include "util.h"

/* RFC 2046 boundary characters, 1..70 of them. */
static int
bchar(int c)
{
	return isalnum(c) || strchr("'()+_,-./:=? ", c) != NULL;
}

/*
 * The next ';' that separates parameters: one inside a quoted value (a
 * filename may hold "; name=x") is part of that value.
 */
static const char *
next_param(const char *p)
{
	int	quoted = 0;

	for (; *p != '\0'; p++) {
		if (quoted && *p == '\\' && p[1] != '\0')
			p++;
		else if (*p == '"')
			quoted = !quoted;
		else if (!quoted && *p == ';')
			return p;
	}
	return NULL;
}

/*
 * The value of parameter `name` in a header value like
 * `form-data; name="x"; filename="y"` (quoted or token).
 */
static int
mime_param(const char *v, const char *name, char *out, size_t outlen)
{
	size_t		 nl = strlen(name), o;
	const char	*p = next_param(v);

	while (p != NULL) {
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncasecmp(p, name, nl) == 0 && p[nl] == '=') {
			p += nl + 1;
			o = 0;
			if (*p == '"') {
				for (p++; *p != '\0' && *p != '"'; p++) {
					if (*p == '\\' && p[1] != '\0')
						p++;
					if (o + 1 >= outlen)
						return -1;
					out[o++] = *p;
				}
				if (*p != '"')
					return -1;
			} else {
				for (; *p != '\0' && *p != ';' && *p != ' ' &&
				    *p != '\t'; p++) {
					if (o + 1 >= outlen)
						return -1;
					out[o++] = *p;
				}
			}
			out[o] = '\0';
			return 0;
		}
		p = next_param(p);
	}
	return -1;
}

int
mp_boundary(const char *ctype, char *out, size_t outlen, const char **msg)
{
	size_t	i, n;

	if (ctype == NULL || (strncasecmp(ctype, "multipart/form-data", 19) != 0 &&
	    strncasecmp(ctype, "multipart/mixed", 15) != 0)) {
		*msg = "request Content-Type isn't multipart/form-data";
		return -1;
	}
	if (mime_param(ctype, "boundary", out, outlen) == -1 || out[0] == '\0') {
		*msg = "no multipart boundary param in Content-Type";
		return -1;
	}
	n = strlen(out);
	for (i = 0; i < n; i++)
		if (!bchar((unsigned char)out[i]) || n > 70) {
			*msg = "invalid multipart boundary";
			return -1;
		}
	return 0;
}

static const uint8_t *
find(const uint8_t *hay, size_t hn, const char *needle, size_t nn)
{
	return memmem(hay, hn, needle, nn);
}

/* Parse one part's headers; returns the name/is_file. */
static int
part_headers(const uint8_t *p, size_t n, struct mp_part *part,
    const char **msg)
{
	char		 line[4096], val[1024];
	const uint8_t	*e, *end = p + n;
	size_t		 ll;
	int		 have_cd = 0;

	while (p < end) {
		e = find(p, (size_t)(end - p), "\r\n", 2);
		ll = (e != NULL ? e : end) - p;
		if (ll >= sizeof(line)) {
			*msg = "multipart: part header too long";
			return -1;
		}
		memcpy(line, p, ll);
		line[ll] = '\0';
		p += ll + (e != NULL ? 2 : 0);
		/* Go reads the first Content-Disposition (Header.Get). */
		if (have_cd ||
		    strncasecmp(line, "Content-Disposition:", 20) != 0)
			continue;
		have_cd = 1;
		if (mime_param(line, "name", val, sizeof(val)) == -1) {
			*msg = "multipart: part without a name";
			return -1;
		}
		part->name = xstrdup(val);
		part->is_file = mime_param(line, "filename", val,
		    sizeof(val)) == 0;
	}
	if (!have_cd) {
		*msg = "multipart: part without Content-Disposition";
		return -1;
	}
	return 0;
}

int
mp_parse(const uint8_t *body, size_t len, const char *boundary,
    struct mp_form *f, const char **msg)
{
	char		 delim[80];
	size_t		 dl;
	const uint8_t	*p, *end = body + len, *hend, *next;
	struct mp_part	*part;

	memset(f, 0, sizeof(*f));
	dl = (size_t)snprintf(delim, sizeof(delim), "--%s", boundary);
	/* The first delimiter may be preceded by a preamble. */
	if ((p = find(body, len, delim, dl)) == NULL) {
		*msg = "multipart: NextPart: EOF";
		return -1;
	}
	for (;;) {
		p += dl;
		if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			return 0;	/* closing delimiter */
		/* Transport padding, then CRLF. */
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
			break;
		p += 2;
		if ((hend = find(p, (size_t)(end - p), "\r\n\r\n", 4)) == NULL &&
		    !(end - p >= 2 && p[0] == '\r' && p[1] == '\n'))
			break;
		if (f->nparts == MP_MAX_PARTS) {
			*msg = "multipart: too many parts";
			goto fail;
		}
		part = &f->parts[f->nparts++];
		if (hend == NULL || (p[0] == '\r' && p[1] == '\n')) {
			*msg = "multipart: part without headers";
			goto fail;
		}
		if (part_headers(p, (size_t)(hend - p), part, msg) == -1)
			goto fail;
		p = hend + 4;
		/* The body runs to CRLF + delimiter. */
		for (next = p;; next++) {
			next = find(next, (size_t)(end - next), "\r\n--", 4);
			if (next == NULL)
				break;
			if ((size_t)(end - next) >= 2 + dl &&
			    memcmp(next + 2, delim, dl) == 0)
				break;
		}
		if (next == NULL)
			break;
		part->data = p;
		part->len = (size_t)(next - p);
		p = next + 2;
	}
	*msg = "multipart: NextPart: EOF";
 fail:
	mp_free(f);
	return -1;
}

void
mp_free(struct mp_form *f)
{
	int	i;

	for (i = 0; i < f->nparts; i++)
		free(f->parts[i].name);
	f->nparts = 0;
}

const struct mp_part *
mp_value(const struct mp_form *f, const char *name)
{
	int	i;

	for (i = 0; i < f->nparts; i++)
		if (!f->parts[i].is_file && f->parts[i].name != NULL &&
		    strcmp(f->parts[i].name, name) == 0)
			return &f->parts[i];
	return NULL;
}
