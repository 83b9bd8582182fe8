/*
 * libFuzzer target: keyd's multipart/form-data parser.  The input's first
 * line is the request's Content-Type, the rest its body.  Oracles beyond
 * "no crash, no sanitizer report" (leaks included):
 *  - every part's data lies inside the body, at most MP_MAX_PARTS;
 *  - mp_value finds the first value part of each name;
 *  - the parts written out again as a clean form (a boundary found in
 *    no part, one Content-Disposition each) parse back to the same
 *    names, kinds and bytes.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "multipart.h"

/* A name the clean form can carry in a quoted parameter. */
static int
quotable(const char *s)
{
	return strpbrk(s, "\"\\\r\n") == NULL;
}

static void
rebuild(const struct mp_form *f, const char *boundary, struct buf *out)
{
	int	i;

	for (i = 0; i < f->nparts; i++) {
		buf_addf(out, "--%s\r\nContent-Disposition: form-data; "
		    "name=\"%s\"%s\r\n\r\n", boundary, f->parts[i].name,
		    f->parts[i].is_file ? "; filename=\"f\"" : "");
		buf_add(out, f->parts[i].data, f->parts[i].len);
		buf_adds(out, "\r\n");
	}
	buf_addf(out, "--%s--\r\n", boundary);
}

/* A boundary that no part contains, so the clean form is unambiguous. */
static void
fresh_boundary(const struct mp_form *f, char *b, size_t blen)
{
	unsigned int	k;
	int		i, clash;

	for (k = 0;; k++) {
		snprintf(b, blen, "fz%u", k);
		for (clash = 0, i = 0; i < f->nparts && !clash; i++)
			clash = memmem(f->parts[i].data, f->parts[i].len, b,
			    strlen(b)) != NULL;
		if (!clash)
			return;
	}
}

static void
round_trip(const struct mp_form *f)
{
	struct mp_form	 g;
	struct buf	 clean;
	const char	*msg;
	char		 b[32];
	int		 i;

	for (i = 0; i < f->nparts; i++)
		if (!quotable(f->parts[i].name))
			return;
	fresh_boundary(f, b, sizeof(b));
	buf_init(&clean, 0);
	rebuild(f, b, &clean);
	if (mp_parse(clean.p, clean.len, b, &g, &msg) == -1 ||
	    g.nparts != f->nparts)
		abort();
	for (i = 0; i < f->nparts; i++)
		if (strcmp(g.parts[i].name, f->parts[i].name) != 0 ||
		    g.parts[i].is_file != f->parts[i].is_file ||
		    g.parts[i].len != f->parts[i].len ||
		    (g.parts[i].len != 0 && memcmp(g.parts[i].data,
		    f->parts[i].data, g.parts[i].len) != 0))
			abort();
	mp_free(&g);
	buf_free(&clean);
}

static void
check_form(const struct mp_form *f, const uint8_t *body, size_t len)
{
	const struct mp_part	*v;
	int			 i, j;

	if (f->nparts > MP_MAX_PARTS)
		abort();
	for (i = 0; i < f->nparts; i++) {
		if (f->parts[i].name == NULL || f->parts[i].data < body ||
		    f->parts[i].data + f->parts[i].len > body + len)
			abort();
		if (f->parts[i].is_file)
			continue;
		v = mp_value(f, f->parts[i].name);
		for (j = 0; j < i; j++)
			if (!f->parts[j].is_file &&
			    strcmp(f->parts[j].name, f->parts[i].name) == 0)
				break;
		if (v != &f->parts[j])
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mp_form	 f;
	const uint8_t	*nl;
	const char	*msg;
	char		 ctype[512], b[80];
	size_t		 cl;

	if ((nl = memchr(data, '\n', size)) == NULL ||
	    (cl = (size_t)(nl - data)) >= sizeof(ctype))
		return 0;
	memcpy(ctype, data, cl);
	ctype[cl] = '\0';
	if (memchr(ctype, '\0', cl) != NULL ||
	    mp_boundary(ctype, b, sizeof(b), &msg) == -1)
		return 0;
	if (mp_parse(nl + 1, size - cl - 1, b, &f, &msg) == -1)
		return 0;
	check_form(&f, nl + 1, size - cl - 1);
	round_trip(&f);
	mp_free(&f);
	return 0;
}
