/*
 * HTTP/1.1 head parsing (request and status lines, header fields),
 * chunked framing, and the hop-by-hop list, shared by worker and keyd.
 */

#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"
#include "util.h"

size_t
http_head_end(const char *data, size_t len, size_t *scanned)
{
	size_t	i = *scanned > 3 ? *scanned - 3 : 0;

	/* The empty line is CRLF CRLF; a bare LF is tolerated (RFC 9112 2.2). */
	for (; i < len; i++) {
		if (data[i] != '\n')
			continue;
		if (i + 1 < len && data[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && data[i + 1] == '\r' && data[i + 2] == '\n')
			return i + 3;
	}
	*scanned = len;
	return 0;
}

static int
is_tchar(int c)
{
	return isalnum(c) || (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Split raw into lines in place; returns the next line or NULL. */
static char *
next_line(char **cursor, char *end)
{
	char	*line = *cursor, *nl;

	if (line >= end)
		return NULL;
	if ((nl = memchr(line, '\n', end - line)) == NULL)
		nl = end;
	*cursor = nl + 1;
	if (nl > line && nl[-1] == '\r')
		nl[-1] = '\0';
	*nl = '\0';
	return line;
}

static enum http_perr
parse_version(const char *v, int *minor)
{
	if (strncmp(v, "HTTP/", 5) != 0)
		return HTTP_E_SYNTAX;
	if (v[5] != '1' || v[6] != '.' || !isdigit((unsigned char)v[7]) ||
	    v[8] != '\0')
		return isdigit((unsigned char)v[5]) ? HTTP_E_VERSION :
		    HTTP_E_SYNTAX;
	*minor = v[7] - '0';
	return HTTP_OK;
}

static enum http_perr
parse_request_line(struct http_head *hd, char *line)
{
	char	*sp1, *sp2, *p;

	if ((sp1 = strchr(line, ' ')) == NULL ||
	    (sp2 = strchr(sp1 + 1, ' ')) == NULL || strchr(sp2 + 1, ' '))
		return HTTP_E_SYNTAX;
	*sp1 = *sp2 = '\0';
	if (*line == '\0')
		return HTTP_E_METHOD;
	for (p = line; *p; p++)
		if (!is_tchar((unsigned char)*p))
			return HTTP_E_METHOD;
	hd->method = line;
	hd->target = sp1 + 1;
	if (hd->target[0] != '/')
		return hd->target[0] == '\0' ? HTTP_E_SYNTAX : HTTP_E_TARGET;
	for (p = sp1 + 1; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p == 0x7f)
			return HTTP_E_SYNTAX;
	return parse_version(sp2 + 1, &hd->minor);
}

static enum http_perr
parse_status_line(struct http_head *hd, char *line)
{
	char		*sp, *end;
	enum http_perr	 e;
	long		 st;

	if ((sp = strchr(line, ' ')) == NULL)
		return HTTP_E_SYNTAX;
	*sp = '\0';
	if ((e = parse_version(line, &hd->minor)) != HTTP_OK)
		return e;
	if (!isdigit((unsigned char)sp[1]) || !isdigit((unsigned char)sp[2]) ||
	    !isdigit((unsigned char)sp[3]) || (sp[4] != ' ' && sp[4] != '\0'))
		return HTTP_E_SYNTAX;
	st = strtol(sp + 1, &end, 10);
	if (st < 100 || st > 999)
		return HTTP_E_SYNTAX;
	hd->status = (int)st;
	hd->reason = sp[4] == ' ' ? sp + 5 : "";
	return HTTP_OK;
}

static enum http_perr
parse_header_line(struct http_head *hd, char *line)
{
	char	*colon, *v, *e, *p;

	if (*line == ' ' || *line == '\t')
		return HTTP_E_SYNTAX;	/* obsolete line folding */
	if ((colon = strchr(line, ':')) == NULL || colon == line)
		return HTTP_E_SYNTAX;
	for (p = line; p < colon; p++)
		if (!is_tchar((unsigned char)*p))
			return HTTP_E_SYNTAX;
	*colon = '\0';
	v = colon + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	e = v + strlen(v);
	while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	for (p = v; *p; p++)
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			return HTTP_E_SYNTAX;
	if (hd->nh == HTTP_MAX_HEADERS)
		return HTTP_E_TOO_MANY;
	hd->h[hd->nh].name = line;
	hd->h[hd->nh].value = v;
	hd->nh++;
	return HTTP_OK;
}

enum http_perr
http_head_parse(struct http_head *hd, const char *data, size_t len,
    int is_request)
{
	char		*cursor, *end, *line;
	enum http_perr	 e;

	memset(hd, 0, sizeof(*hd));
	if (memchr(data, '\0', len) != NULL)
		return HTTP_E_SYNTAX;
	hd->raw = xmalloc(len + 1);
	memcpy(hd->raw, data, len);
	hd->raw[len] = '\0';
	hd->rawlen = len;
	cursor = hd->raw;
	end = hd->raw + len;

	/* RFC 9112 2.2: ignore at least one empty line before a request. */
	while (is_request && cursor < end && (*cursor == '\r' || *cursor == '\n'))
		cursor++;
	if ((line = next_line(&cursor, end)) == NULL)
		return HTTP_E_SYNTAX;
	e = is_request ? parse_request_line(hd, line) :
	    parse_status_line(hd, line);
	if (e != HTTP_OK)
		return e;
	while ((line = next_line(&cursor, end)) != NULL && *line != '\0')
		if ((e = parse_header_line(hd, line)) != HTTP_OK)
			return e;
	return HTTP_OK;
}

void
http_head_free(struct http_head *hd)
{
	free(hd->raw);
	memset(hd, 0, sizeof(*hd));
}

const char *
http_head_get(const struct http_head *hd, const char *name)
{
	int	i;

	for (i = 0; i < hd->nh; i++)
		if (strcasecmp(hd->h[i].name, name) == 0)
			return hd->h[i].value;
	return NULL;
}

int
http_head_count(const struct http_head *hd, const char *name)
{
	int	i, n = 0;

	for (i = 0; i < hd->nh; i++)
		if (strcasecmp(hd->h[i].name, name) == 0)
			n++;
	return n;
}

int
http_token_in(const char *list, const char *token)
{
	size_t		 tl = strlen(token);
	const char	*p = list, *e;

	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		e = p;
		while (*e && *e != ',')
			e++;
		/* Trim the element; ignore parameters after ';'. */
		{
			const char	*te = e;

			while (te > p && (te[-1] == ' ' || te[-1] == '\t'))
				te--;
			if ((size_t)(te - p) == tl &&
			    strncasecmp(p, token, tl) == 0)
				return 1;
		}
		p = e;
	}
	return 0;
}

const char *
http_perr_str(enum http_perr e)
{
	switch (e) {
	case HTTP_OK:		return "ok";
	case HTTP_E_SYNTAX:	return "malformed HTTP head";
	case HTTP_E_VERSION:	return "unsupported HTTP version";
	case HTTP_E_TOO_MANY:	return "too many header fields";
	case HTTP_E_TARGET:	return "request target must be a path";
	case HTTP_E_METHOD:	return "malformed method";
	}
	return "?";
}

const char *
http_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 417: return "Expectation Failed";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	case 529: return "Overloaded";
	}
	return "Unknown";
}

/* --- chunked transfer coding ---------------------------------------- */

enum {
	CH_SIZE,	/* hex digits of the chunk size */
	CH_EXT,		/* chunk extension up to LF */
	CH_DATA,
	CH_DATA_CR,	/* CRLF after data */
	CH_DATA_LF,
	CH_TRAILER,	/* trailer lines until an empty one */
	CH_DONE
};

#define CHUNK_LINE_MAX	4096

/*
 * Where in the rest of a size line we are: its chunk extensions, RFC 9112
 * 7.1.1:  *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ).
 * They mean nothing to us and are dropped, but they are parsed: a size
 * line that is not this grammar ("2 junk") is refused, so that no peer
 * behind or in front of us can read the same bytes as a different size.
 */
enum {
	EXT_END,	/* after the size or an extension: ";", BWS or EOL */
	EXT_BWS,	/* white space there: only ";" may follow */
	EXT_NAME0,	/* after ";": BWS, then the name's first tchar */
	EXT_NAME,	/* in the name */
	EXT_EQ,		/* BWS after the name: "=" or ";" */
	EXT_VAL0,	/* after "=": BWS, then a token or a quoted string */
	EXT_TOKEN,	/* in a token value */
	EXT_QUOTED,	/* in a quoted-string value */
	EXT_QPAIR,	/* after a backslash in it */
	EXT_CR		/* CR seen: LF must follow */
};

enum ext_step { EXT_MORE, EXT_EOL, EXT_BAD };

/* One byte of a size line after its digits. */
static enum ext_step
chunk_ext_byte(struct http_chunked *c, uint8_t b)
{
	int	ows = b == ' ' || b == '\t';

	/* A line may end where an extension may (BWS only before ; and =). */
	if (c->ext == EXT_END || c->ext == EXT_NAME || c->ext == EXT_TOKEN) {
		if (b == '\n')
			return EXT_EOL;	/* a bare LF is tolerated */
		if (b == '\r') {
			c->ext = EXT_CR;
			return EXT_MORE;
		}
	}
	switch (c->ext) {
	case EXT_END:
	case EXT_BWS:
	case EXT_EQ:
		if (ows)
			c->ext = c->ext == EXT_END ? EXT_BWS : c->ext;
		else if (b == ';')
			c->ext = EXT_NAME0;
		else if (b == '=' && c->ext == EXT_EQ)
			c->ext = EXT_VAL0;
		else
			return EXT_BAD;
		return EXT_MORE;
	case EXT_NAME:
	case EXT_TOKEN:
		if (is_tchar(b))
			return EXT_MORE;
		if (ows)
			c->ext = c->ext == EXT_NAME ? EXT_EQ : EXT_BWS;
		else if (b == ';')
			c->ext = EXT_NAME0;
		else if (b == '=' && c->ext == EXT_NAME)
			c->ext = EXT_VAL0;
		else
			return EXT_BAD;
		return EXT_MORE;
	case EXT_NAME0:
	case EXT_VAL0:
		if (ows)
			return EXT_MORE;
		if (is_tchar(b))
			c->ext = c->ext == EXT_NAME0 ? EXT_NAME : EXT_TOKEN;
		else if (b == '"' && c->ext == EXT_VAL0)
			c->ext = EXT_QUOTED;
		else
			return EXT_BAD;
		return EXT_MORE;
	case EXT_QUOTED:
		/* qdtext: HTAB, SP, VCHAR except '"' and '\\', obs-text */
		if (b == '"')
			c->ext = EXT_END;
		else if (b == '\\')
			c->ext = EXT_QPAIR;
		else if (b < 0x20 ? b != '\t' : b == 0x7f)
			return EXT_BAD;
		return EXT_MORE;
	case EXT_QPAIR:
		/* quoted-pair: "\" ( HTAB / SP / VCHAR / obs-text ) */
		if (b < 0x20 ? b != '\t' : b == 0x7f)
			return EXT_BAD;
		c->ext = EXT_QUOTED;
		return EXT_MORE;
	case EXT_CR:
		return b == '\n' ? EXT_EOL : EXT_BAD;
	}
	return EXT_BAD;
}

void
http_chunked_init(struct http_chunked *c)
{
	memset(c, 0, sizeof(*c));
	c->state = CH_SIZE;
}

enum http_chunk_rv
http_chunked_feed(struct http_chunked *c, const uint8_t *in, size_t len,
    size_t *used, void (*out)(const uint8_t *, size_t, void *), void *arg)
{
	size_t	i = 0, n;
	int	v;

	while (i < len) {
		switch (c->state) {
		case CH_SIZE:
			if ((v = hex_digit(in[i])) >= 0) {
				/* 15 hex digits cannot overflow 64 bits. */
				if (++c->digits > 15)
					goto bad;
				c->remaining = c->remaining * 16 + v;
				i++;
				break;
			}
			if (c->digits == 0)
				goto bad;
			c->state = CH_EXT;
			c->ext = EXT_END;
			c->linelen = 0;
			break;
		case CH_EXT:
			if (++c->linelen > CHUNK_LINE_MAX)
				goto bad;
			switch (chunk_ext_byte(c, in[i])) {
			case EXT_BAD:
				goto bad;
			case EXT_EOL:
				c->digits = 0;
				c->linelen = 0;
				c->state = c->remaining == 0 ? CH_TRAILER :
				    CH_DATA;
				break;
			case EXT_MORE:
				break;
			}
			i++;
			break;
		case CH_DATA:
			n = len - i;
			if (n > c->remaining)
				n = (size_t)c->remaining;
			out(in + i, n, arg);
			i += n;
			c->remaining -= n;
			if (c->remaining == 0)
				c->state = CH_DATA_CR;
			break;
		case CH_DATA_CR:
			if (in[i] == '\r') {
				i++;
				c->state = CH_DATA_LF;
				break;
			}
			/* A bare LF is tolerated. */
			/* FALLTHROUGH */
		case CH_DATA_LF:
			if (in[i] != '\n')
				goto bad;
			i++;
			c->state = CH_SIZE;
			break;
		case CH_TRAILER:
			if (in[i] == '\n') {
				i++;
				if (c->linelen == 0) {
					c->state = CH_DONE;
					*used = i;
					return HTTP_CHUNK_DONE;
				}
				c->linelen = 0;
				break;
			}
			if (in[i] != '\r' && ++c->linelen > CHUNK_LINE_MAX)
				goto bad;
			i++;
			break;
		case CH_DONE:
			*used = i;
			return HTTP_CHUNK_DONE;
		}
	}
	*used = i;
	return HTTP_CHUNK_MORE;
 bad:
	*used = i;
	return HTTP_CHUNK_ERROR;
}

int
http_hop_by_hop(const char *name)
{
	/* RFC 9110 7.6.1, the fields Go's proxy drops, and their old kin. */
	static const char *const hop[] = {
		"Connection", "Keep-Alive", "Proxy-Authenticate",
		"Proxy-Authorization", "Proxy-Connection", "Te", "Trailer",
		"Trailers", "Transfer-Encoding", "Upgrade"
	};
	size_t	i;

	for (i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
		if (strcasecmp(name, hop[i]) == 0)
			return 1;
	return 0;
}
