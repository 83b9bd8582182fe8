/*
 * JSON field mutation; see jsonmut.h.  Replacement texts are collected in
 * one buffer as edits (original span -> replacement span) while walking
 * in the Go order; the output is then assembled in document order.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "jsonmut.h"
#include "log.h"
#include "util.h"

/* A skip path relative to the value being walked. */
struct sub {
	const char	*head;		/* first element; NULL: any (a "#") */
	size_t		 headlen;
	char *const	*tail;
	const size_t	*tlen;		/* lengths of the tail's elements */
	size_t		 ntail;
};

struct subs {
	struct sub	*v;
	size_t		 n;
	size_t		 cap;
};

struct edit {
	size_t	off;
	size_t	len;
	size_t	roff;
	size_t	rlen;
};

/* A member of the container being walked, named as Go names it. */
struct entry {
	size_t			 noff;	/* into the name arena */
	size_t			 nlen;
	const char		*name;
	struct json_span	 value;
	enum json_kind		 type;
};

struct walk {
	const uint8_t	*doc;
	jm_fn		 fn;
	void		*arg;
	struct buf	*repl;
	struct edit	*edits;
	size_t		 nedits;
	size_t		 capedits;
};

/* Where a container's member names and entries are collected. */
struct members {
	struct buf	 names;
	struct entry	*v;
	size_t		 cap;
};

/*
 * What a call needs, kept from one call to the next: an SSE event is a
 * small document, and allocating these afresh for each one (the members
 * the validator saw, replacement texts, edits, names) cost more in
 * malloc and free than the walk itself.  Whatever grew past SCRATCH_KEEP
 * is let go after the call.  A call made from inside a call (not done
 * today) gets storage of its own.
 */
#define SCRATCH_KEEP	(256 * 1024)

struct scratch {
	struct json_top	*tops;
	size_t		 ctops;
	struct buf	 repl;
	struct edit	*edits;
	size_t		 cedits;
	struct subs	 top;
	struct members	 mem;
	int		 busy;
};

static struct scratch	scratch;

void
jm_skip_init(struct jm_skip *s)
{
	s->paths = NULL;
	s->n = 0;
}

void
jm_skip_add_elems(struct jm_skip *s, const char *const *elem, size_t n)
{
	struct jm_path	*p;
	size_t		 i;

	if (n == 0)
		fatalx("%s: empty path", __func__);
	s->paths = xreallocarray(s->paths, s->n + 1, sizeof(*s->paths));
	p = &s->paths[s->n++];
	p->elem = xcalloc(n, sizeof(*p->elem));
	p->len = xcalloc(n, sizeof(*p->len));
	p->n = n;
	for (i = 0; i < n; i++) {
		p->elem[i] = xstrdup(elem[i]);
		p->len[i] = strlen(elem[i]);
	}
}

void
jm_skip_add(struct jm_skip *s, const char *path)
{
	char		**elem = NULL, *cur;
	const char	 *p, *start;
	size_t		  n = 0, i;

	/* Split on dots that are not escaped; the escape stays put. */
	for (p = start = path;; p++) {
		if (*p == '\\' && p[1] != '\0') {
			p++;
			continue;
		}
		if (*p != '.' && *p != '\0')
			continue;
		cur = xstrndup(start, (size_t)(p - start));
		elem = xreallocarray(elem, n + 1, sizeof(*elem));
		elem[n++] = cur;
		if (*p == '\0')
			break;
		start = p + 1;
	}
	jm_skip_add_elems(s, (const char *const *)elem, n);
	for (i = 0; i < n; i++)
		free(elem[i]);
	free(elem);
}

void
jm_skip_free(struct jm_skip *s)
{
	size_t	i, j;

	for (i = 0; i < s->n; i++) {
		for (j = 0; j < s->paths[i].n; j++)
			free(s->paths[i].elem[j]);
		free(s->paths[i].elem);
		free(s->paths[i].len);
	}
	free(s->paths);
	s->paths = NULL;
	s->n = 0;
}

static struct sub *
subs_push(struct subs *s)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 8;
		s->v = xreallocarray(s->v, s->cap, sizeof(*s->v));
	}
	memset(&s->v[s->n], 0, sizeof(s->v[0]));
	return &s->v[s->n++];
}

static int
is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* An array with no element (only its brackets and white space). */
static int
array_empty(const uint8_t *doc, struct json_span sp)
{
	size_t	i = sp.off + 1;

	while (i < sp.off + sp.len && is_space(doc[i]))
		i++;
	return i >= sp.off + sp.len || doc[i] == ']';
}

/*
 * EvaluateArrayPaths: the rest of a skip path, seen from member value v.
 * Objects, and arrays addressed by index, take it as it is; "#" on an
 * array is one path per element, which Go spells out index by index and
 * we keep as one path matching any index: the same paths, without a
 * compare of every element against every index (quadratic: 34 s of CPU
 * for a 25 KB array under the fuzzer); scalars take nothing.
 */
static void
expand(const uint8_t *doc, struct subs *out, char *const *tail,
    const size_t *tlen, size_t ntail, const struct entry *e)
{
	struct sub		*s;
	int			 every = tlen[0] == 1 && tail[0][0] == '#';

	if (e->type == JSON_OBJECT || (e->type == JSON_ARRAY && !every)) {
		s = subs_push(out);
		s->head = tail[0];
		s->headlen = tlen[0];
		s->tail = tail + 1;
		s->tlen = tlen + 1;
		s->ntail = ntail - 1;
		return;
	}
	if (e->type != JSON_ARRAY || array_empty(doc, e->value))
		return;		/* no path: the value is mutated whole */
	s = subs_push(out);
	s->head = NULL;
	s->tail = tail + 1;
	s->tlen = tlen + 1;
	s->ntail = ntail - 1;
}

static int
entry_cmp(const void *va, const void *vb)
{
	const struct entry	*a = va, *b = vb;
	int			 c;

	/* Go's string order: bytewise, a proper prefix first. */
	if ((c = memcmp(a->name, b->name, MINIMUM(a->nlen, b->nlen))) != 0)
		return c;
	return a->nlen < b->nlen ? -1 : a->nlen > b->nlen;
}

/* A skip path's first element against a member's name, lengths first. */
static int
name_eq(const struct sub *s, const struct entry *e)
{
	/* A "#" is only ever matched against the entries of its array. */
	return s->head == NULL || (s->headlen == e->nlen &&
	    memcmp(s->head, e->name, e->nlen) == 0);
}

static void
add_edit(struct walk *w, const struct json_span *sp, size_t roff)
{
	struct edit	*e;

	if (w->nedits == w->capedits) {
		w->capedits = w->capedits ? w->capedits * 2 : 16;
		w->edits = xreallocarray(w->edits, w->capedits,
		    sizeof(*w->edits));
	}
	e = &w->edits[w->nedits++];
	e->off = sp->off;
	e->len = sp->len;
	e->roff = roff;
	e->rlen = w->repl->len - roff;
}

/* gjson's path metacharacters, escaped in a name. */
static int
is_meta(char c)
{
	return c == '.' || c == '?' || c == '*';
}

/* Append a member name to the arena, escaped the way gjson paths are. */
static void
add_name(struct buf *names, const char *name, size_t len)
{
	size_t	i;

	for (i = 0; i < len && !is_meta(name[i]); i++)
		;
	if (i == len) {
		/* Nearly every name: nothing to escape. */
		buf_add(names, name, len);
		return;
	}
	for (i = 0; i < len; i++) {
		if (is_meta(name[i]))
			buf_addc(names, '\\');
		buf_addc(names, (uint8_t)name[i]);
	}
}

static void
finish_names(struct entry *v, size_t n, const struct buf *names)
{
	size_t	i;

	/* The arena has stopped moving: now the names can be pointers. */
	for (i = 0; i < n; i++)
		v[i].name = (const char *)names->p + v[i].noff;
}

/* Room for one more entry in m. */
static struct entry *
entry_push(struct members *m, size_t n)
{
	if (n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 16;
		m->v = xreallocarray(m->v, m->cap, sizeof(*m->v));
	}
	return &m->v[n];
}

/*
 * The top level from the members the validator recorded, which spares a
 * second scan of a large body.
 */
static int
collect_top(const struct walk *w, const struct json_top *top, size_t ntop,
    struct members *m, size_t *nentries)
{
	struct entry	*e;
	struct buf	 name;
	const uint8_t	*k;
	size_t		 i, klen;
	int		 named = 0;

	for (i = 0; i < ntop; i++) {
		e = entry_push(m, i);
		e->noff = m->names.len;
		k = w->doc + top[i].key.off;
		klen = top[i].key.len;
		if (klen == 0)
			buf_addf(&m->names, "%zu", i);
		else if (memchr(k, '\\', klen) == NULL) {
			/* No escape: the name is the text between the quotes. */
			add_name(&m->names, (const char *)k + 1, klen - 2);
		} else {
			if (!named++)
				buf_init(&name, 64);
			buf_reset(&name);
			if (json_unescape(k, klen, &name) == -1) {
				buf_free(&name);
				return -1;
			}
			add_name(&m->names, (const char *)name.p, name.len);
		}
		e->nlen = m->names.len - e->noff;
		e->value = top[i].value;
		e->type = json_kind_at(w->doc, top[i].value.off +
		    top[i].value.len, top[i].value.off);
	}
	if (named)
		buf_free(&name);
	finish_names(m->v, ntop, &m->names);
	*nentries = ntop;
	return 0;
}

/* The member names of one container, escaped the way gjson paths are. */
static int
collect(const struct walk *w, struct json_span sp, struct members *mb,
    size_t *nentries)
{
	struct json_iter	 it;
	struct json_member	 m;
	struct entry		*e;
	size_t			 n = 0;
	int			 r;

	if (json_iter_init(&it, w->doc, sp) == -1)
		return -1;
	while ((r = json_iter_next(&it, &m)) == 1) {
		e = entry_push(mb, n);
		e->noff = mb->names.len;
		if (it.type == JSON_ARRAY)
			buf_addf(&mb->names, "%zu", m.index);
		else
			add_name(&mb->names, m.name, m.namelen);
		e->nlen = mb->names.len - e->noff;
		e->value = m.value;
		e->type = m.type;
		n++;
	}
	json_iter_free(&it);
	if (r == -1)
		return -1;
	finish_names(mb->v, n, &mb->names);
	*nentries = n;
	return 0;
}

static void
wrap_field(struct cerr *err, const struct entry *e)
{
	char	q[256];

	cerr_quote(q, sizeof(q), e->name, e->nlen);
	cerr_wrap(err, "mutating field %s", q);
}

static int	walk_value(struct walk *, struct json_span, const struct subs *,
		    const struct json_top *, size_t, struct members *,
		    struct cerr *);

static int
visit(struct walk *w, const struct entry *e, const struct subs *skip,
    struct cerr *err)
{
	struct subs	nested = { NULL, 0, 0 };
	struct members	mem;
	size_t		i, roff;
	int		rv = -1, r;

	for (i = 0; i < skip->n; i++) {
		if (!name_eq(&skip->v[i], e))
			continue;
		if (skip->v[i].ntail == 0) {
			/* Listed as plain: no cipher call, no sequence. */
			free(nested.v);
			return 0;
		}
		expand(w->doc, &nested, skip->v[i].tail, skip->v[i].tlen,
		    skip->v[i].ntail, e);
	}
	if (nested.n > 0) {
		memset(&mem, 0, sizeof(mem));
		buf_init(&mem.names, 256);
		r = walk_value(w, e->value, &nested, NULL, 0, &mem, err);
		buf_free(&mem.names);
		free(mem.v);
		if (r == -1) {
			cerr_wrap(err, "mutating nested field");
			wrap_field(err, e);
			goto out;
		}
	} else {
		roff = w->repl->len;
		if (w->fn(w->arg, w->doc + e->value.off, e->value.len,
		    w->repl, err) == -1) {
			w->repl->len = roff;
			wrap_field(err, e);
			goto out;
		}
		add_edit(w, &e->value, roff);
	}
	rv = 0;
 out:
	free(nested.v);
	return rv;
}

/*
 * Walk the container at sp; top/ntop, when not NULL, are its members as
 * the validator recorded them (the top level only).  The member names
 * and entries are collected in m.
 */
static int
walk_value(struct walk *w, struct json_span sp, const struct subs *skip,
    const struct json_top *top, size_t ntop, struct members *m,
    struct cerr *err)
{
	struct entry	*v;
	size_t		 n = 0, i;
	char		 q[256];

	switch (json_kind_at(w->doc, sp.off + sp.len, sp.off)) {
	case JSON_NULL:
		return 0;
	case JSON_OBJECT:
	case JSON_ARRAY:
		break;
	default:
		cerr_set(err, "cannot mutate fields of a JSON scalar");
		return -1;
	}
	buf_reset(&m->names);
	if ((top != NULL ? collect_top(w, top, ntop, m, &n) :
	    collect(w, sp, m, &n)) == -1) {
		cerr_set(err, "invalid JSON data");
		return -1;
	}
	v = m->v;
	if (n > 1)
		sort_small(v, n, sizeof(*v), entry_cmp);
	for (i = 1; i < n; i++) {
		if (entry_cmp(&v[i - 1], &v[i]) == 0) {
			cerr_quote(q, sizeof(q), v[i].name, v[i].nlen);
			cerr_set(err, "duplicate member name %s", q);
			return -1;
		}
	}
	for (i = 0; i < n; i++)
		if (visit(w, &v[i], skip, err) == -1)
			return -1;
	return 0;
}

static int
edit_cmp(const void *va, const void *vb)
{
	const struct edit	*a = va, *b = vb;

	return a->off < b->off ? -1 : a->off > b->off;
}

/* Go's isValidJSON: which of its two messages an invalid body gets. */
static void
invalid_json(struct cerr *err, const uint8_t *doc, size_t n)
{
	size_t	s = 0, e = n;

	while (s < e && strchr(" \t\n\v\f\r", doc[s]) != NULL && doc[s])
		s++;
	while (e > s && strchr(" \t\n\v\f\r", doc[e - 1]) != NULL &&
	    doc[e - 1])
		e--;
	if (e > s && ((doc[s] == '{' && doc[e - 1] != '}') ||
	    (doc[s] == '[' && doc[e - 1] != ']')))
		cerr_set(err, "mutation on invalid JSON data: "
		    "incomplete JSON");
	else
		cerr_set(err, "mutation on invalid JSON data: "
		    "invalid JSON data");
}

/* Let go of what one big document made the scratch grow to. */
static void
scratch_trim(struct scratch *sc)
{
	if (sc->repl.cap > SCRATCH_KEEP)
		buf_free(&sc->repl);
	if (sc->mem.names.cap > SCRATCH_KEEP)
		buf_free(&sc->mem.names);
	if (sc->ctops * sizeof(*sc->tops) > SCRATCH_KEEP) {
		free(sc->tops);
		sc->tops = NULL;
		sc->ctops = 0;
	}
	if (sc->cedits * sizeof(*sc->edits) > SCRATCH_KEEP) {
		free(sc->edits);
		sc->edits = NULL;
		sc->cedits = 0;
	}
	if (sc->mem.cap * sizeof(*sc->mem.v) > SCRATCH_KEEP) {
		free(sc->mem.v);
		sc->mem.v = NULL;
		sc->mem.cap = 0;
	}
}

static void
scratch_free(struct scratch *sc)
{
	free(sc->tops);
	buf_free(&sc->repl);
	free(sc->edits);
	free(sc->top.v);
	buf_free(&sc->mem.names);
	free(sc->mem.v);
	memset(sc, 0, sizeof(*sc));
}

/*
 * The walk of a valid document whose top-level members are tops (NULL
 * for json_scan_top's into the scratch).
 */
static int
mutate(const uint8_t *doc, size_t n, const struct json_top *tops,
    size_t ntops, const struct jm_skip *skip, jm_fn fn, void *arg,
    struct buf *out, struct cerr *err)
{
	struct scratch		 own, *sc = &scratch;
	struct walk		 w;
	struct json_span	 all;
	struct sub		*s;
	size_t			 i, pos;
	int			 rv = -1;

	if (n == 0)
		return 0;
	if (sc->busy) {
		memset(&own, 0, sizeof(own));
		sc = &own;
	}
	sc->busy = 1;
	/*
	 * Repeated names are refused by the walk where it matters (the
	 * containers it visits); elsewhere they are tolerated, so the
	 * validator need not look for them.
	 */
	if (tops == NULL) {
		if (json_scan_top(doc, n, 0, NULL, &sc->tops, &sc->ctops,
		    &ntops) != JSON_OK) {
			invalid_json(err, doc, n);
			goto out;
		}
		tops = sc->tops;
	}
	memset(&w, 0, sizeof(w));
	w.doc = doc;
	w.fn = fn;
	w.arg = arg;
	w.repl = &sc->repl;
	w.edits = sc->edits;
	w.capedits = sc->cedits;
	/*
	 * Room for the common case (encryption doubles a value as hex) so
	 * the replacement buffer is not copied while it grows.
	 */
	buf_reset(w.repl);
	buf_reserve(w.repl, 2 * n + 4096);
	if (sc->mem.names.p == NULL)
		buf_init(&sc->mem.names, 256);
	sc->top.n = 0;
	for (i = 0; skip != NULL && i < skip->n; i++) {
		s = subs_push(&sc->top);
		s->head = skip->paths[i].elem[0];
		s->headlen = skip->paths[i].len[0];
		s->tail = skip->paths[i].elem + 1;
		s->tlen = skip->paths[i].len + 1;
		s->ntail = skip->paths[i].n - 1;
	}
	/* A valid document is one value between optional whitespace. */
	for (all.off = 0; all.off < n && is_space(doc[all.off]); all.off++)
		;
	for (pos = n; pos > all.off && is_space(doc[pos - 1]); pos--)
		;
	all.len = pos - all.off;
	rv = walk_value(&w, all, &sc->top, tops, ntops, &sc->mem, err);
	sc->edits = w.edits;
	sc->cedits = w.capedits;
	if (rv == -1)
		goto out;

	/* Assemble: untouched bytes between edits, replacements in place. */
	if (w.nedits > 1)
		sort_small(w.edits, w.nedits, sizeof(*w.edits), edit_cmp);
	buf_reserve(out, n + w.repl->len);
	for (pos = 0, i = 0; i < w.nedits; i++) {
		buf_add(out, doc + pos, w.edits[i].off - pos);
		buf_add(out, w.repl->p + w.edits[i].roff, w.edits[i].rlen);
		pos = w.edits[i].off + w.edits[i].len;
	}
	buf_add(out, doc + pos, n - pos);
	rv = 0;
 out:
	/*
	 * Not wiped: replacements are message text or body plaintext that
	 * the caller holds in out anyway; key material never passes here.
	 */
	if (sc == &own)
		scratch_free(sc);
	else {
		scratch_trim(sc);
		sc->busy = 0;
	}
	return rv;
}

int
jm_mutate(const uint8_t *doc, size_t n, const struct jm_skip *skip, jm_fn fn,
    void *arg, struct buf *out, struct cerr *err)
{
	return mutate(doc, n, NULL, 0, skip, fn, arg, out, err);
}

int
jm_mutate_top(const uint8_t *doc, size_t n, const struct json_top *top,
    size_t ntop, const struct jm_skip *skip, jm_fn fn, void *arg,
    struct buf *out, struct cerr *err)
{
	static const struct json_top	none;

	/* (An empty container has no members: not "scan it first".) */
	return mutate(doc, n, top != NULL ? top : &none, ntop, skip, fn, arg,
	    out, err);
}
