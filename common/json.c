/*
 * Strict JSON scanner; see json.h.  The validator is a loop over an
 * explicit container stack.  Duplicate names are found by sorting each
 * object's keys when the object closes, comparing unescaped contents as
 * byte streams, so a hostile document cannot force quadratic work the way
 * a fixed hash with chosen collisions could.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "buf.h"
#include "json.h"
#include "util.h"

static const char *const json_msgs[] = {
	[JSON_OK] = "ok",
	[JSON_EDUPKEY] = "duplicate member name",
	[JSON_ESYNTAX] = "invalid JSON syntax",
	[JSON_EINCOMPLETE] = "unexpected end of JSON input",
	[JSON_EDEPTH] = "JSON nested too deeply",
	[JSON_EUTF8] = "invalid UTF-8 in JSON string",
	[JSON_EEMPTY] = "no JSON value",
};

static inline int
is_ws(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t
skip_ws(const uint8_t *p, size_t n, size_t i)
{
	while (i < n && is_ws(p[i]))
		i++;
	return i;
}

/* Length of the valid UTF-8 sequence at p (1-4), 0 if invalid, -1 if cut. */
static int
utf8_seq(const uint8_t *p, size_t n)
{
	uint8_t	c = p[0], lo = 0x80, hi = 0xbf;
	int	len, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0;		/* no overlong forms */
		else if (c == 0xed)
			hi = 0x9f;		/* no surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;		/* nothing above U+10FFFF */
	} else
		return 0;
	for (i = 1; i < len; i++) {
		if ((size_t)i >= n)
			return -1;
		if (p[i] < lo || p[i] > hi)
			return 0;
		lo = 0x80;
		hi = 0xbf;
	}
	return len;
}

/* Characters that may follow a backslash, other than 'u'. */
static const uint8_t simple_escapes[256] = {
	['"'] = 1, ['\\'] = 1, ['/'] = 1, ['b'] = 1, ['f'] = 1, ['n'] = 1,
	['r'] = 1, ['t'] = 1,
};

static inline int
simple_escape(uint8_t c)
{
	return simple_escapes[c];
}

/*
 * One special byte of a string body at p[i] (anything but plain printable
 * ASCII): the closing quote, an escape, a UTF-8 sequence, or an error.
 * Returns JSON_OK with *next past it, or *done set at the closing quote.
 */
static enum json_status
string_special(const uint8_t *p, size_t n, size_t i, size_t *next, int *done,
    int *esc)
{
	int	l, k;
	uint8_t	c = p[i];

	if (c == '"') {
		*done = 1;
		*next = i + 1;
		return JSON_OK;
	}
	if (c == '\\') {
		*esc = 1;
		if (i + 1 >= n) {
			*next = n;
			return JSON_EINCOMPLETE;
		}
		switch (p[i + 1]) {
		case '"': case '\\': case '/': case 'b': case 'f':
		case 'n': case 'r': case 't':
			*next = i + 2;
			return JSON_OK;
		case 'u':
			for (k = 2; k < 6; k++) {
				if (i + k >= n) {
					*next = n;
					return JSON_EINCOMPLETE;
				}
				if (hex_digit(p[i + k]) < 0) {
					*next = i + k;
					return JSON_ESYNTAX;
				}
			}
			*next = i + 6;
			return JSON_OK;
		}
		*next = i + 1;
		return JSON_ESYNTAX;
	}
	*next = i;
	if (c < 0x20)
		return JSON_ESYNTAX;
	/* A whole run of non-ASCII text at once (CJK is all of it). */
	do {
		if ((l = utf8_seq(p + i, n - i)) <= 0) {
			*next = i;
			return l < 0 ? JSON_EINCOMPLETE : JSON_EUTF8;
		}
		i += (size_t)l;
	} while (i < n && p[i] >= 0x80);
	*next = i;
	return JSON_OK;
}

#ifdef __SSE2__
/* Bit mask of the bytes of v that may follow a backslash, except 'u'. */
static inline unsigned int
escape_letters(__m128i v)
{
	__m128i	m;

	m = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
	    _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));
	m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8('/')));
	m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8('b')));
	m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8('f')));
	m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8('n')));
	m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8('r')));
	m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8('t')));
	return (unsigned int)_mm_movemask_epi8(m);
}
#endif

/*
 * Scan the string whose opening quote is at p[*pos]; on success *pos is
 * one past the closing quote and *esc says whether it had escapes.  On
 * error *pos is where the problem is.
 *
 * Prompts are long strings, so this is the validator's inner loop.  With
 * SSE2 (baseline on x86-64) it classifies 16 bytes at a time and then
 * deals with every special byte of the block before loading the next one
 * (a signed compare against 0x20 flags control bytes and bytes >= 0x80).
 */
static enum json_status
scan_string(const uint8_t *p, size_t n, size_t *pos, int *esc)
{
	enum json_status	st;
	size_t			i = *pos + 1, next;
	int			done = 0;
	uint8_t			c;
#ifdef __SSE2__
	const __m128i		quote = _mm_set1_epi8('"');
	const __m128i		bslash = _mm_set1_epi8('\\');
	const __m128i		space = _mm_set1_epi8(0x20);
	__m128i			v;
	unsigned int		bits, bs, qs, lt, hi, lim;
	size_t			base, j;
	int			l;

	*esc = 0;
	while (i + 16 <= n) {
		base = i;
		v = _mm_loadu_si128((const __m128i *)(p + base));
		bs = (unsigned int)_mm_movemask_epi8(_mm_cmpeq_epi8(v, bslash));
		qs = (unsigned int)_mm_movemask_epi8(_mm_cmpeq_epi8(v, quote));
		lt = (unsigned int)_mm_movemask_epi8(_mm_cmplt_epi8(v, space));
		if ((bits = bs | qs | lt) == 0) {
			i = base + 16;
			continue;
		}
		/*
		 * Escapes as a block: when no two backslashes touch and none
		 * ends the block, each one escapes the next byte, which must
		 * be a simple escape letter ('u' goes the slow way below).
		 * Then only UTF-8 is left to look at sequence by sequence.
		 */
		hi = (unsigned int)_mm_movemask_epi8(v);
		if ((lt & ~hi) == 0 && (bs & (bs >> 1)) == 0 &&
		    (bs & 0x8000) == 0 &&
		    ((bs << 1) & ~escape_letters(v)) == 0) {
			if (bs != 0)
				*esc = 1;
			qs &= ~(bs << 1);
			lim = qs != 0 ? (unsigned int)__builtin_ctz(qs) : 16;
			for (bits = hi & ((1U << lim) - 1); bits != 0;
			    bits &= bits - 1) {
				j = base + (size_t)__builtin_ctz(bits);
				if (j < i)
					continue;	/* continuation */
				/* A run of non-ASCII text in one go. */
				for (i = j; i < n && p[i] >= 0x80; i += (size_t)l)
					if ((l = utf8_seq(p + i, n - i)) <= 0) {
						*pos = i;
						return l < 0 ?
						    JSON_EINCOMPLETE :
						    JSON_EUTF8;
					}
			}
			if (qs != 0) {
				*pos = base + lim + 1;
				return JSON_OK;
			}
			if (i < base + 16)
				i = base + 16;
			continue;
		}
		for (; bits != 0; bits &= bits - 1) {
			j = base + (size_t)__builtin_ctz(bits);
			if (j < i)
				continue;	/* inside an escape or sequence */
			/* Inline the two commonest cases: \n-style escapes
			 * and two-byte UTF-8 (accented Latin). */
			c = p[j];
			if (c == '\\' && j + 1 < n && simple_escape(p[j + 1])) {
				*esc = 1;
				i = j + 2;
				continue;
			}
			if (c >= 0xc2 && c <= 0xdf && j + 1 < n &&
			    (p[j + 1] & 0xc0) == 0x80) {
				i = j + 2;
				continue;
			}
			st = string_special(p, n, j, &next, &done, esc);
			if (st != JSON_OK || done) {
				*pos = next;
				return st;
			}
			i = next;
		}
		if (i < base + 16)
			i = base + 16;
	}
#else
	*esc = 0;
#endif
	for (;;) {
		while (i < n && (c = p[i]) >= 0x20 && c != '"' && c != '\\' &&
		    c < 0x80)
			i++;
		if (i >= n) {
			*pos = i;
			return JSON_EINCOMPLETE;
		}
		st = string_special(p, n, i, &next, &done, esc);
		if (st != JSON_OK || done) {
			*pos = next;
			return st;
		}
		i = next;
	}
}

static size_t
skip_digits(const uint8_t *p, size_t n, size_t i)
{
	while (i < n && p[i] >= '0' && p[i] <= '9')
		i++;
	return i;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static enum json_status
scan_number(const uint8_t *p, size_t n, size_t *pos)
{
	size_t	i = *pos, j;

	if (p[i] == '-')
		i++;
	if (i >= n)
		return JSON_EINCOMPLETE;
	if (p[i] == '0')
		i++;
	else if (p[i] >= '1' && p[i] <= '9')
		i = skip_digits(p, n, i);
	else {
		*pos = i;
		return JSON_ESYNTAX;
	}
	if (i < n && p[i] == '.') {
		j = skip_digits(p, n, i + 1);
		if (j == i + 1) {
			*pos = j;
			return j >= n ? JSON_EINCOMPLETE : JSON_ESYNTAX;
		}
		i = j;
	}
	if (i < n && (p[i] == 'e' || p[i] == 'E')) {
		i++;
		if (i < n && (p[i] == '+' || p[i] == '-'))
			i++;
		j = skip_digits(p, n, i);
		if (j == i) {
			*pos = j;
			return j >= n ? JSON_EINCOMPLETE : JSON_ESYNTAX;
		}
		i = j;
	}
	*pos = i;
	return JSON_OK;
}

static enum json_status
scan_literal(const uint8_t *p, size_t n, size_t *pos, const char *lit)
{
	size_t	i = *pos, k, l = strlen(lit);

	for (k = 0; k < l; k++) {
		if (i + k >= n)
			return JSON_EINCOMPLETE;
		if (p[i + k] != (uint8_t)lit[k]) {
			*pos = i + k;
			return JSON_ESYNTAX;
		}
	}
	*pos = i + l;
	return JSON_OK;
}

/* --- unescaping reader ------------------------------------------------ */

/* Yields the unescaped bytes of a raw string body one at a time. */
struct jsr {
	const uint8_t	*p;
	size_t		 i;
	size_t		 end;
	uint8_t		 pend[4];
	unsigned int	 npend;
	unsigned int	 ipend;
	int		 bad;
};

static void
jsr_init(struct jsr *r, const uint8_t *raw, size_t len)
{
	memset(r, 0, sizeof(*r));
	r->p = raw;
	/* Skip the quotes when present. */
	if (len >= 2 && raw[0] == '"' && raw[len - 1] == '"') {
		r->i = 1;
		r->end = len - 1;
	} else
		r->end = len;
}

static int
hex4(const uint8_t *p, size_t avail, unsigned int *v)
{
	int	d, k;

	if (avail < 4)
		return -1;
	*v = 0;
	for (k = 0; k < 4; k++) {
		if ((d = hex_digit(p[k])) < 0)
			return -1;
		*v = *v << 4 | (unsigned int)d;
	}
	return 0;
}

static unsigned int
utf8_put(uint8_t *o, unsigned int cp)
{
	if (cp < 0x80) {
		o[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (uint8_t)(0xc0 | cp >> 6);
		o[1] = (uint8_t)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (uint8_t)(0xe0 | cp >> 12);
		o[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (uint8_t)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (uint8_t)(0xf0 | cp >> 18);
	o[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
	o[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
	o[3] = (uint8_t)(0x80 | (cp & 0x3f));
	return 4;
}

/* Next unescaped byte, or -1 at the end (r->bad set if malformed). */
static int
jsr_next(struct jsr *r)
{
	unsigned int	cp, lo;
	uint8_t		c;

	if (r->ipend < r->npend)
		return r->pend[r->ipend++];
	if (r->i >= r->end)
		return -1;
	c = r->p[r->i];
	if (c != '\\') {
		r->i++;
		return c;
	}
	if (r->i + 1 >= r->end) {
		r->bad = 1;
		return -1;
	}
	c = r->p[r->i + 1];
	r->i += 2;
	switch (c) {
	case '"': case '\\': case '/':
		return c;
	case 'b':
		return '\b';
	case 'f':
		return '\f';
	case 'n':
		return '\n';
	case 'r':
		return '\r';
	case 't':
		return '\t';
	case 'u':
		break;
	default:
		r->bad = 1;
		return -1;
	}
	if (hex4(r->p + r->i, r->end - r->i, &cp) == -1) {
		r->bad = 1;
		return -1;
	}
	r->i += 4;
	if (cp >= 0xd800 && cp <= 0xdbff && r->i + 6 <= r->end &&
	    r->p[r->i] == '\\' && r->p[r->i + 1] == 'u' &&
	    hex4(r->p + r->i + 2, 4, &lo) == 0 && lo >= 0xdc00 &&
	    lo <= 0xdfff) {
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		r->i += 6;
	} else if (cp >= 0xd800 && cp <= 0xdfff)
		cp = 0xfffd;
	r->npend = utf8_put(r->pend, cp);
	r->ipend = 1;
	return r->pend[0];
}

int
json_unescape(const uint8_t *raw, size_t len, struct buf *out)
{
	struct jsr	r;
	size_t		start = out->len, run;
	int		c;

	jsr_init(&r, raw, len);
	for (;;) {
		/* Copy unescaped runs wholesale. */
		for (run = r.i; run < r.end && raw[run] != '\\'; run++)
			;
		if (run > r.i && r.ipend >= r.npend) {
			buf_add(out, raw + r.i, run - r.i);
			r.i = run;
		}
		if ((c = jsr_next(&r)) == -1)
			break;
		buf_addc(out, (uint8_t)c);
	}
	if (r.bad) {
		out->len = start;
		return -1;
	}
	return 0;
}

int
json_strcmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	struct jsr	ra, rb;
	int		ca, cb;

	jsr_init(&ra, a, alen);
	jsr_init(&rb, b, blen);
	for (;;) {
		ca = jsr_next(&ra);
		cb = jsr_next(&rb);
		if (ca != cb)
			return ca < cb ? -1 : 1;
		if (ca == -1)
			return 0;
	}
}

/* --- validation -------------------------------------------------------- */

struct keyent {
	const uint8_t	*p;
	size_t		 len;
	int		 esc;
};

struct frame {
	uint8_t		 type;		/* '{' or '[' */
	size_t		 keybase;	/* first key of this object */
};

/* Most documents fit these; deeper or wider ones go to the heap. */
#define LOCAL_FRAMES	32
#define LOCAL_KEYS	64

struct vstate {
	struct frame	*stack;
	size_t		 depth;
	size_t		 cap;
	struct keyent	*keys;
	size_t		 nkeys;
	size_t		 keycap;
	size_t		 dup_off;
	int		 dup;
	int		 nodup;		/* repeated names are not looked for */
	/* Optional record of the top-level container's members. */
	int		 record;
	int		 open;		/* a member value is being scanned */
	struct json_top	*top;
	size_t		 ntop;
	size_t		 captop;
	/* last: not cleared, vstate_init() stops before them */
	struct frame	 lstack[LOCAL_FRAMES];
	struct keyent	 lkeys[LOCAL_KEYS];
};

static void
vstate_init(struct vstate *v)
{
	memset(v, 0, offsetof(struct vstate, lstack));
}

static int
keyent_cmp(const void *va, const void *vb)
{
	const struct keyent	*a = va, *b = vb;
	size_t			 l;
	int			 c;

	if (!a->esc && !b->esc) {
		/* Raw bytes are the contents: compare inside the quotes. */
		l = MINIMUM(a->len, b->len) - 2;
		if ((c = memcmp(a->p + 1, b->p + 1, l)) != 0)
			return c;
		return a->len < b->len ? -1 : a->len > b->len;
	}
	return json_strcmp(a->p, a->len, b->p, b->len);
}

/* Sort order for long objects: by name, then by place in the text. */
static int
keyent_sort_cmp(const void *va, const void *vb)
{
	const struct keyent	*a = va, *b = vb;
	int			 c;

	if ((c = keyent_cmp(a, b)) != 0)
		return c;
	return a->p < b->p ? -1 : a->p > b->p;
}

/*
 * Duplicate names: the offset reported is that of the earliest second
 * occurrence.  Objects are mostly small (an SSE event's keys), where
 * comparing pairs beats qsort's set-up.
 */
#define DUP_PAIRWISE_MAX	16

static void
note_dup(struct vstate *v, const struct keyent *k, const uint8_t *doc)
{
	size_t	off = (size_t)(k->p - doc);

	if (!v->dup || off < v->dup_off)
		v->dup_off = off;
	v->dup = 1;
}

static void
close_object(struct vstate *v, size_t base, const uint8_t *doc)
{
	struct keyent	*k = v->keys + base;
	size_t		 i, j, n = v->nkeys - base;

	if (n >= 2 && n <= DUP_PAIRWISE_MAX) {
		/* Keys are in text order: the first hit is the earliest. */
		for (i = 1; i < n; i++) {
			for (j = 0; j < i; j++)
				if (keyent_cmp(&k[j], &k[i]) == 0)
					break;
			if (j < i) {
				note_dup(v, &k[i], doc);
				break;
			}
		}
	} else if (n > DUP_PAIRWISE_MAX) {
		qsort(k, n, sizeof(*k), keyent_sort_cmp);
		for (i = 1; i < n; i++)
			if (keyent_cmp(&k[i - 1], &k[i]) == 0)
				note_dup(v, &k[i], doc);
	}
	v->nkeys = base;
}

/* Grow a vstate array that may still be the one inside the vstate. */
static void *
grow(void *a, const void *local, size_t *cap, size_t size)
{
	void	*na;

	if (a != local)
		return xreallocarray(a, *cap *= 2, size);
	na = xreallocarray(NULL, *cap * 2, size);
	memcpy(na, a, *cap * size);
	*cap *= 2;
	return na;
}

static void
push(struct vstate *v, uint8_t type)
{
	if (v->depth == v->cap)
		v->stack = grow(v->stack, v->lstack, &v->cap,
		    sizeof(*v->stack));
	v->stack[v->depth].type = type;
	v->stack[v->depth].keybase = v->nkeys;
	v->depth++;
}

static void
add_key(struct vstate *v, const uint8_t *p, size_t len, int esc)
{
	if (v->nkeys == v->keycap)
		v->keys = grow(v->keys, v->lkeys, &v->keycap,
		    sizeof(*v->keys));
	v->keys[v->nkeys].p = p;
	v->keys[v->nkeys].len = len;
	v->keys[v->nkeys].esc = esc;
	v->nkeys++;
}

static struct json_top *
top_push(struct vstate *v)
{
	if (v->ntop == v->captop) {
		v->captop = v->captop ? v->captop * 2 : 16;
		v->top = xreallocarray(v->top, v->captop, sizeof(*v->top));
	}
	memset(&v->top[v->ntop], 0, sizeof(v->top[0]));
	return &v->top[v->ntop++];
}

enum vstep { V_VALUE, V_AFTER_VALUE, V_KEY };

static enum json_status
validate(const uint8_t *p, size_t n, unsigned int maxdepth, struct vstate *v,
    size_t *pos, enum json_kind *top)
{
	enum json_status	st = JSON_OK;
	enum vstep		step = V_VALUE;
	size_t			i, ks;
	int			esc;
	uint8_t			c;

	i = skip_ws(p, n, 0);
	if (i >= n)
		return JSON_EEMPTY;
	*top = json_kind_at(p, n, i);
	for (;;) {
		if (v->open && step == V_AFTER_VALUE && v->depth == 1) {
			/* A member of the top-level container just ended. */
			v->top[v->ntop - 1].value.len = i -
			    v->top[v->ntop - 1].value.off;
			v->open = 0;
		}
		i = skip_ws(p, n, i);
		if (step == V_AFTER_VALUE && v->depth == 0) {
			*pos = i;
			return i == n ? JSON_OK : JSON_ESYNTAX;
		}
		if (i >= n) {
			*pos = i;
			return JSON_EINCOMPLETE;
		}
		c = p[i];
		*pos = i;
		switch (step) {
		case V_KEY:
			/* After '{' or ',' inside an object: "name" ':' */
			if (c != '"')
				return JSON_ESYNTAX;
			ks = i;
			if ((st = scan_string(p, n, &i, &esc)) != JSON_OK) {
				*pos = i;
				return st;
			}
			if (!v->nodup)
				add_key(v, p + ks, i - ks, esc);
			if (v->record && v->depth == 1) {
				top_push(v);
				v->top[v->ntop - 1].key.off = ks;
				v->top[v->ntop - 1].key.len = i - ks;
			}
			i = skip_ws(p, n, i);
			if (i >= n) {
				*pos = i;
				return JSON_EINCOMPLETE;
			}
			if (p[i] != ':') {
				*pos = i;
				return JSON_ESYNTAX;
			}
			i++;
			step = V_VALUE;
			break;
		case V_VALUE:
			step = V_AFTER_VALUE;
			if (v->record && v->depth == 1) {
				/* Object members got their entry at the key. */
				if (v->stack[0].type == '[')
					top_push(v);
				v->top[v->ntop - 1].value.off = i;
				v->open = 1;
			}
			switch (c) {
			case '{':
			case '[':
				if (v->depth >= maxdepth)
					return JSON_EDEPTH;
				push(v, c);
				i = skip_ws(p, n, i + 1);
				if (i < n && p[i] == (c == '{' ? '}' : ']')) {
					v->depth--;
					i++;
				} else
					step = c == '{' ? V_KEY : V_VALUE;
				break;
			case '"':
				st = scan_string(p, n, &i, &esc);
				break;
			case 't':
				st = scan_literal(p, n, &i, "true");
				break;
			case 'f':
				st = scan_literal(p, n, &i, "false");
				break;
			case 'n':
				st = scan_literal(p, n, &i, "null");
				break;
			default:
				if (c != '-' && (c < '0' || c > '9'))
					return JSON_ESYNTAX;
				st = scan_number(p, n, &i);
				break;
			}
			if (c != '{' && c != '[' && st != JSON_OK) {
				*pos = i;
				return st;
			}
			break;
		case V_AFTER_VALUE:
			if (c == ',') {
				i++;
				step = v->stack[v->depth - 1].type == '{' ?
				    V_KEY : V_VALUE;
			} else if (c == (v->stack[v->depth - 1].type == '{' ?
			    '}' : ']')) {
				if (c == '}' && !v->nodup)
					close_object(v,
					    v->stack[v->depth - 1].keybase, p);
				v->depth--;
				i++;
			} else
				return JSON_ESYNTAX;
			break;
		}
	}
}

static enum json_status
run_validate(const uint8_t *p, size_t n, unsigned int maxdepth,
    struct json_result *res, struct vstate *v)
{
	struct json_result	r;
	size_t			pos = 0;

	memset(&r, 0, sizeof(r));
	if (maxdepth == 0)
		maxdepth = JSON_MAX_DEPTH;
	v->stack = v->lstack;
	v->cap = LOCAL_FRAMES;
	v->keys = v->lkeys;
	v->keycap = LOCAL_KEYS;
	r.status = validate(p, n, maxdepth, v, &pos, &r.top);
	r.offset = pos;
	if (r.status == JSON_OK && v->dup) {
		r.status = JSON_EDUPKEY;
		r.offset = v->dup_off;
	}
	r.msg = json_msgs[r.status];
	if (v->stack != v->lstack)
		free(v->stack);
	if (v->keys != v->lkeys)
		free(v->keys);
	if (res != NULL)
		*res = r;
	return r.status;
}

enum json_status
json_validate(const uint8_t *p, size_t n, unsigned int maxdepth,
    struct json_result *res)
{
	struct vstate	v;

	vstate_init(&v);
	return run_validate(p, n, maxdepth, res, &v);
}

enum json_status
json_validate_top(const uint8_t *p, size_t n, unsigned int maxdepth,
    struct json_result *res, struct json_top **top, size_t *ntop)
{
	struct vstate		v;
	enum json_status	st;

	vstate_init(&v);
	v.record = 1;
	st = run_validate(p, n, maxdepth, res, &v);
	if (st != JSON_OK && st != JSON_EDUPKEY) {
		free(v.top);
		v.top = NULL;
		v.ntop = 0;
	}
	*top = v.top;
	*ntop = v.ntop;
	return st;
}

enum json_status
json_scan_top(const uint8_t *p, size_t n, unsigned int maxdepth,
    struct json_result *res, struct json_top **top, size_t *cap,
    size_t *ntop)
{
	struct vstate		v;
	enum json_status	st;

	vstate_init(&v);
	v.record = 1;
	v.nodup = 1;
	v.top = *top;
	v.captop = *cap;
	st = run_validate(p, n, maxdepth, res, &v);
	*top = v.top;
	*cap = v.captop;
	*ntop = st == JSON_OK ? v.ntop : 0;
	return st;
}

/* --- navigation ------------------------------------------------------- */

enum json_kind
json_kind_at(const uint8_t *p, size_t n, size_t off)
{
	off = skip_ws(p, n, off);
	if (off >= n)
		return JSON_NONE;
	switch (p[off]) {
	case '{':
		return JSON_OBJECT;
	case '[':
		return JSON_ARRAY;
	case '"':
		return JSON_STRING;
	case 't':
		return JSON_TRUE;
	case 'f':
		return JSON_FALSE;
	case 'n':
		return JSON_NULL;
	}
	if (p[off] == '-' || (p[off] >= '0' && p[off] <= '9'))
		return JSON_NUMBER;
	return JSON_NONE;
}

/* Is the quote at p[i] escaped (preceded by an odd run of backslashes)? */
static int
escaped(const uint8_t *p, size_t start, size_t i)
{
	size_t	bs = 0;

	while (i - bs > start && p[i - 1 - bs] == '\\')
		bs++;
	return bs % 2 == 1;
}

/* End of the string opening at p[i], or 0 if unterminated. */
static size_t
string_end(const uint8_t *p, size_t n, size_t i)
{
	const uint8_t	*q;
	size_t		 start = i + 1;

	for (i = start; i < n; i++) {
		/* memchr finds the next quote fast; then check escaping. */
		if ((q = memchr(p + i, '"', n - i)) == NULL)
			return 0;
		i = (size_t)(q - p);
		if (!escaped(p, start, i))
			return i + 1;
	}
	return 0;
}

int
json_value_span(const uint8_t *p, size_t n, size_t off, struct json_span *sp)
{
	size_t	i = skip_ws(p, n, off), depth = 0, e;
	uint8_t	c;

	if (i >= n)
		return -1;
	sp->off = i;
	c = p[i];
	if (c == '"') {
		if ((e = string_end(p, n, i)) == 0)
			return -1;
		sp->len = e - i;
		return 0;
	}
	if (c != '{' && c != '[') {
		/* Scalars end at the next delimiter. */
		for (e = i; e < n && !is_ws(p[e]) && p[e] != ',' &&
		    p[e] != ']' && p[e] != '}' && p[e] != ':'; e++)
			;
		if (e == i)
			return -1;
		sp->len = e - i;
		return 0;
	}
	for (e = i; e < n; e++) {
		c = p[e];
		if (c == '"') {
			if ((e = string_end(p, n, e)) == 0)
				return -1;
			e--;
		} else if (c == '{' || c == '[')
			depth++;
		else if (c == '}' || c == ']') {
			if (--depth == 0) {
				sp->len = e + 1 - i;
				return 0;
			}
		}
	}
	return -1;
}

int
json_iter_init(struct json_iter *it, const uint8_t *p, struct json_span sp)
{
	enum json_kind	t = json_kind_at(p, sp.off + sp.len, sp.off);

	memset(it, 0, sizeof(*it));
	if (t != JSON_OBJECT && t != JSON_ARRAY)
		return -1;
	it->p = p;
	it->type = t;
	it->pos = skip_ws(p, sp.off + sp.len, sp.off) + 1;
	it->end = sp.off + sp.len;
	buf_init(&it->name, 64);
	return 0;
}

int
json_iter_next(struct json_iter *it, struct json_member *m)
{
	const uint8_t	*p = it->p;
	size_t		 i = skip_ws(p, it->end, it->pos);
	struct json_span sp;

	if (i >= it->end)
		return -1;
	if (p[i] == '}' || p[i] == ']') {
		it->pos = i;
		return 0;
	}
	if (it->index > 0) {
		if (p[i] != ',')
			return -1;
		i = skip_ws(p, it->end, i + 1);
	}
	memset(m, 0, sizeof(*m));
	buf_reset(&it->name);
	if (it->type == JSON_OBJECT) {
		if (i >= it->end || p[i] != '"' ||
		    json_value_span(p, it->end, i, &sp) == -1)
			return -1;
		m->key = sp;
		if (json_unescape(p + sp.off, sp.len, &it->name) == -1)
			return -1;
		i = skip_ws(p, it->end, sp.off + sp.len);
		if (i >= it->end || p[i] != ':')
			return -1;
		i++;
	}
	m->name = buf_cstr(&it->name);
	m->namelen = it->name.len;
	if (json_value_span(p, it->end, i, &m->value) == -1)
		return -1;
	m->type = json_kind_at(p, it->end, m->value.off);
	m->index = it->index++;
	it->pos = m->value.off + m->value.len;
	return 1;
}

void
json_iter_free(struct json_iter *it)
{
	buf_free(&it->name);
}
