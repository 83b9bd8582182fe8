/*
 * Encodings the Go side produces: standard base64 for []byte, hex for
 * Contrast's HexString, and JSON decoded the way encoding/json does it
 * (member names matched case-insensitively, unknown members ignored).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "attest_int.h"
#include "util.h"

enum attest_reason
att_err(char *err, size_t errlen, enum attest_reason r, const char *fmt, ...)
{
	va_list	ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return r;
}

int
att_b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static size_t
skip_crlf(const char *s, size_t n, size_t i)
{
	while (i < n && (s[i] == '\r' || s[i] == '\n'))
		i++;
	return i;
}

/*
 * Go's StdEncoding is not "strict": it skips CR and LF anywhere and
 * ignores non-zero bits in the last quantum, but it insists on padding
 * and on nothing but CR/LF after the padding.
 */
int
att_b64_decode(const char *s, size_t n, uint8_t **outp, size_t *outlenp)
{
	uint8_t	*out;
	size_t	 i = 0, o = 0;
	int	 q[4], k = 0, v;

	*outp = NULL;
	*outlenp = 0;
	if ((out = malloc(n / 4 * 3 + 3)) == NULL)
		return -1;
	while ((i = skip_crlf(s, n, i)) < n) {
		if (s[i] == '=') {
			if (k < 2)
				goto bad;
			i++;
			if (k == 2) {
				i = skip_crlf(s, n, i);
				if (i >= n || s[i] != '=')
					goto bad;
				i++;
			}
			if (skip_crlf(s, n, i) != n)
				goto bad;
			out[o++] = (uint8_t)(q[0] << 2 | q[1] >> 4);
			if (k == 3)
				out[o++] = (uint8_t)(q[1] << 4 | q[2] >> 2);
			k = 0;
			break;
		}
		if ((v = att_b64_value((unsigned char)s[i++])) < 0)
			goto bad;
		q[k++] = v;
		if (k == 4) {
			out[o++] = (uint8_t)(q[0] << 2 | q[1] >> 4);
			out[o++] = (uint8_t)(q[1] << 4 | q[2] >> 2);
			out[o++] = (uint8_t)(q[2] << 6 | q[3]);
			k = 0;
		}
	}
	if (k != 0)
		goto bad;
	*outp = out;
	*outlenp = o;
	return 0;
bad:
	free(out);
	return -1;
}

int
att_hex_valid(const char *s, size_t n)
{
	size_t	i;

	if (n % 2 != 0)
		return -1;
	for (i = 0; i < n; i++)
		if (hex_digit((unsigned char)s[i]) < 0)
			return -1;
	return 0;
}

int
att_hex_decode(const char *s, size_t n, uint8_t *out, size_t outlen)
{
	size_t	i;

	if (outlen > SIZE_MAX / 2 || n != outlen * 2 ||
	    att_hex_valid(s, n) == -1)
		return -1;
	for (i = 0; i < outlen; i++)
		out[i] = (uint8_t)(hex_digit((unsigned char)s[2 * i]) << 4 |
		    hex_digit((unsigned char)s[2 * i + 1]));
	return 0;
}

void
att_hex_lower(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t	i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0xf];
	}
	out[2 * n] = '\0';
}

/*
 * Next code point of s folded the way Go's encoding/json folds member
 * names: ASCII case-insensitive, plus the two non-ASCII letters whose
 * simple case folding reaches ASCII (U+017F long s, U+212A Kelvin).
 * Anything else non-ASCII folds to a value no ASCII name can match.
 */
static int
fold_next(const unsigned char **sp)
{
	const unsigned char *s = *sp;

	if (s[0] < 0x80) {
		*sp = s + 1;
		return (s[0] >= 'A' && s[0] <= 'Z') ? s[0] + 32 : s[0];
	}
	if (s[0] == 0xc5 && s[1] == 0xbf) {		/* U+017F */
		*sp = s + 2;
		return 's';
	}
	if (s[0] == 0xe2 && s[1] == 0x84 && s[2] == 0xaa) {	/* U+212A */
		*sp = s + 3;
		return 'k';
	}
	*sp = s + 1;
	return 0x100;
}

int
att_key_match(const char *key, const char *field)
{
	const unsigned char *k = (const unsigned char *)key;
	const unsigned char *f = (const unsigned char *)field;

	while (*k != '\0' && *f != '\0')
		if (fold_next(&k) != fold_next(&f))
			return 0;
	return *k == '\0' && *f == '\0';
}

/*
 * json-c accepts more than RFC 8259 even in strict mode (single quotes,
 * NaN, raw control characters, "1.").  Go's decoder does not, so the
 * syntax is checked here first, iteratively and with bounded depth.
 */
struct jscan {
	const uint8_t	*p;
	size_t		 n, i;
};

static void
js_ws(struct jscan *s)
{
	while (s->i < s->n && (s->p[s->i] == ' ' || s->p[s->i] == '\t' ||
	    s->p[s->i] == '\n' || s->p[s->i] == '\r'))
		s->i++;
}

static int
js_lit(struct jscan *s, const char *lit)
{
	size_t	n = strlen(lit);

	if (s->n - s->i < n || memcmp(s->p + s->i, lit, n) != 0)
		return -1;
	s->i += n;
	return 0;
}

static int
js_digits(struct jscan *s)
{
	size_t	start = s->i;

	while (s->i < s->n && s->p[s->i] >= '0' && s->p[s->i] <= '9')
		s->i++;
	return s->i > start ? 0 : -1;
}

static int
js_number(struct jscan *s)
{
	if (s->i < s->n && s->p[s->i] == '-')
		s->i++;
	if (s->i < s->n && s->p[s->i] == '0')
		s->i++;
	else if (js_digits(s) == -1)
		return -1;
	if (s->i < s->n && s->p[s->i] == '.') {
		s->i++;
		if (js_digits(s) == -1)
			return -1;
	}
	if (s->i < s->n && (s->p[s->i] == 'e' || s->p[s->i] == 'E')) {
		s->i++;
		if (s->i < s->n && (s->p[s->i] == '+' || s->p[s->i] == '-'))
			s->i++;
		if (js_digits(s) == -1)
			return -1;
	}
	return 0;
}

static int
js_string(struct jscan *s)
{
	int	k;

	if (s->i >= s->n || s->p[s->i++] != '"')
		return -1;
	while (s->i < s->n) {
		unsigned char c = s->p[s->i++];

		if (c == '"')
			return 0;
		if (c < 0x20)
			return -1;
		if (c != '\\')
			continue;
		if (s->i >= s->n)
			return -1;
		c = s->p[s->i++];
		if (c == 'u') {
			for (k = 0; k < 4; k++)
				if (s->i >= s->n ||
				    hex_digit(s->p[s->i++]) < 0)
					return -1;
		} else if (strchr("\"\\/bfnrt", c) == NULL || c == '\0')
			return -1;
	}
	return -1;
}

static int
js_scalar(struct jscan *s)
{
	switch (s->p[s->i]) {
	case '"':
		return js_string(s);
	case 't':
		return js_lit(s, "true");
	case 'f':
		return js_lit(s, "false");
	case 'n':
		return js_lit(s, "null");
	default:
		return js_number(s);
	}
}

static int
json_syntax_ok(const uint8_t *p, size_t n)
{
	struct jscan	 s = { p, n, 0 };
	char		 stack[ATT_JSON_DEPTH];
	int		 depth = 0;

value:
	js_ws(&s);
	if (s.i >= s.n)
		return 0;
	if (s.p[s.i] == '{' || s.p[s.i] == '[') {
		if (depth == ATT_JSON_DEPTH)
			return 0;
		stack[depth++] = (char)s.p[s.i++];
		js_ws(&s);
		if (s.i < s.n && s.p[s.i] == (stack[depth - 1] == '{' ? '}' :
		    ']')) {
			s.i++;
			depth--;
			goto after;
		}
		if (stack[depth - 1] == '[')
			goto value;
		goto key;
	}
	if (js_scalar(&s) == -1)
		return 0;
after:
	js_ws(&s);
	if (depth == 0)
		return s.i == s.n;
	if (s.i >= s.n)
		return 0;
	if (s.p[s.i] == ',') {
		s.i++;
		if (stack[depth - 1] == '[')
			goto value;
		js_ws(&s);
		goto key;
	}
	if (s.p[s.i] != (stack[depth - 1] == '{' ? '}' : ']'))
		return 0;
	s.i++;
	depth--;
	goto after;
key:
	if (js_string(&s) == -1)
		return 0;
	js_ws(&s);
	if (s.i >= s.n || s.p[s.i++] != ':')
		return 0;
	goto value;
}

struct json_object *
att_json_parse(const uint8_t *p, size_t n, char *err, size_t errlen)
{
	struct json_tokener	*tok;
	struct json_object	*obj;
	size_t			 end;

	if (n > ATT_MAX_DOC || n > INT32_MAX) {
		att_err(err, errlen, ATT_ERR_MALFORMED, "JSON too large");
		return NULL;
	}
	if (!json_syntax_ok(p, n)) {
		att_err(err, errlen, ATT_ERR_MALFORMED, "invalid JSON");
		return NULL;
	}
	if ((tok = json_tokener_new_ex(ATT_JSON_DEPTH + 1)) == NULL) {
		att_err(err, errlen, ATT_ERR_INTERNAL, "out of memory");
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, (const char *)p, (int)n);
	if (obj == NULL) {
		if (json_tokener_get_error(tok) == json_tokener_continue)
			att_err(err, errlen, ATT_ERR_MALFORMED,
			    "invalid JSON: unexpected end of input");
		else
			att_err(err, errlen, ATT_ERR_MALFORMED,
			    "invalid JSON: %s", json_tokener_error_desc(
			    json_tokener_get_error(tok)));
		json_tokener_free(tok);
		return NULL;
	}
	/* Like Go, only whitespace may follow the value. */
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	for (; end < n; end++) {
		if (p[end] != ' ' && p[end] != '\t' && p[end] != '\n' &&
		    p[end] != '\r') {
			json_object_put(obj);
			att_err(err, errlen, ATT_ERR_MALFORMED,
			    "invalid JSON: trailing data");
			return NULL;
		}
	}
	return obj;
}

/*
 * Go assigns each member to the field its name folds to, in document
 * order, so the last matching member wins.  A JSON null leaves the
 * field at its zero value: report it as absent.
 */
struct json_object *
att_json_get(struct json_object *obj, const char *name)
{
	struct json_object	*found = NULL;

	if (obj == NULL || !json_object_is_type(obj, json_type_object))
		return NULL;
	json_object_object_foreach(obj, key, val) {
		if (att_key_match(key, name))
			found = val;
	}
	return found;
}

int
att_json_bytes(struct json_object *obj, const char *name, uint8_t **p,
    size_t *len)
{
	struct json_object	*v;

	*p = NULL;
	*len = 0;
	if ((v = att_json_get(obj, name)) == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return -1;
	return att_b64_decode(json_object_get_string(v),
	    (size_t)json_object_get_string_len(v), p, len);
}
