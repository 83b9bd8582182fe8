/* Client tokens: the token file, MSG_CLIENTS, new tokens (clients.h). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "clients.h"
#include "ipc.h"
#include "log.h"
#include "util.h"

int
rate_parse(const char *s, struct rate *r)
{
	const char	*slash, *errstr;
	char		 num[16];
	long long	 n;
	int64_t		 ms;

	if (strcmp(s, "none") == 0) {
		r->n = 0;
		r->ms = 0;
		return 0;
	}
	if ((slash = strchr(s, '/')) == NULL || slash == s ||
	    (size_t)(slash - s) >= sizeof(num))
		return -1;
	memcpy(num, s, slash - s);
	num[slash - s] = '\0';
	if (!isdigit((unsigned char)num[0]) ||
	    parse_int(num, 1, RATE_N_MAX, &n, &errstr) == -1)
		return -1;
	if (parse_duration_ms(slash + 1, &ms, &errstr) == -1 || ms < 1 ||
	    ms > RATE_MS_MAX)
		return -1;
	r->n = (uint32_t)n;
	r->ms = ms;
	return 0;
}

void
rate_format(const struct rate *r, char *out, size_t len)
{
	if (r->n == 0)
		snprintf(out, len, "none");
	else if (r->ms % 3600000 == 0)
		snprintf(out, len, "%u/%lldh", r->n,
		    (long long)(r->ms / 3600000));
	else if (r->ms % 60000 == 0)
		snprintf(out, len, "%u/%lldm", r->n,
		    (long long)(r->ms / 60000));
	else if (r->ms % 1000 == 0)
		snprintf(out, len, "%u/%llds", r->n, (long long)(r->ms / 1000));
	else
		snprintf(out, len, "%u/%lldms", r->n, (long long)r->ms);
}

int
client_name_ok(const char *s)
{
	size_t	n = strlen(s);

	return n > 0 && n <= CLIENT_NAME_MAX && isalnum((unsigned char)s[0]) &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._-") == n;
}

int
client_auth_parse(const char *s)
{
	if (strcmp(s, "off") == 0)
		return CA_OFF;
	if (strcmp(s, "tokens") == 0)
		return CA_TOKENS;
	return -1;
}

/* A fixed number of digits; -1 if any is not one. */
static int
digits(const char *s, int n)
{
	int	v = 0, i;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* "YYYY-MM-DD" (00:00:00 UTC) or "YYYY-MM-DDTHH:MM:SSZ" into Unix time. */
static int
parse_expiry(const char *s, int64_t *t)
{
	struct tm	tm, chk;
	time_t		v;
	size_t		n = strlen(s);

	memset(&tm, 0, sizeof(tm));
	if ((n != 10 && n != 20) || s[4] != '-' || s[7] != '-')
		return -1;
	tm.tm_year = digits(s, 4) - 1900;
	tm.tm_mon = digits(s + 5, 2) - 1;
	tm.tm_mday = digits(s + 8, 2);
	if (n == 20) {
		if (s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
		    s[19] != 'Z')
			return -1;
		tm.tm_hour = digits(s + 11, 2);
		tm.tm_min = digits(s + 14, 2);
		tm.tm_sec = digits(s + 17, 2);
	}
	if (tm.tm_year < 70 || tm.tm_mon < 0 || tm.tm_mon > 11 ||
	    tm.tm_mday < 1 || tm.tm_hour < 0 || tm.tm_hour > 23 ||
	    tm.tm_min < 0 || tm.tm_min > 59 || tm.tm_sec < 0 || tm.tm_sec > 59)
		return -1;
	chk = tm;
	if ((v = timegm(&tm)) == (time_t)-1)
		return -1;
	/* timegm normalises: February 30th would become March 2nd. */
	if (tm.tm_mday != chk.tm_mday || tm.tm_mon != chk.tm_mon)
		return -1;
	*t = (int64_t)v;
	return 0;
}

static int
parse_hash(const char *s, uint8_t h[CLIENT_HASH_LEN])
{
	int	i, hi, lo;

	if (strncmp(s, "sha256:", 7) != 0 ||
	    strlen(s + 7) != 2 * CLIENT_HASH_LEN)
		return -1;
	for (i = 0, s += 7; i < CLIENT_HASH_LEN; i++, s += 2) {
		if ((hi = hex_digit((unsigned char)s[0])) == -1 ||
		    (lo = hex_digit((unsigned char)s[1])) == -1)
			return -1;
		h[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* One line's fields after the name and hash; 0 or -1 with *why set. */
static int
parse_options(char *rest, struct client_ent *e, int *has_rate,
    int *has_streams, const char **why)
{
	char		*tok, *eq, *save = NULL;
	const char	*errstr;
	long long	 v;

	*has_rate = *has_streams = 0;
	for (tok = strtok_r(rest, " ", &save); tok != NULL;
	    tok = strtok_r(NULL, " ", &save)) {
		if ((eq = strchr(tok, '=')) == NULL) {
			*why = "expected key=value (expires=, rate=, streams=)";
			return -1;
		}
		*eq++ = '\0';
		if (strcmp(tok, "expires") == 0) {
			if (e->expires != 0 || parse_expiry(eq, &e->expires)) {
				*why = "bad expires (YYYY-MM-DD or "
				    "YYYY-MM-DDTHH:MM:SSZ, UTC, given once)";
				return -1;
			}
		} else if (strcmp(tok, "rate") == 0) {
			if (*has_rate || rate_parse(eq, &e->rate) == -1) {
				*why = "bad rate (N/DURATION such as 60/1m, or "
				    "none; given once)";
				return -1;
			}
			*has_rate = 1;
		} else if (strcmp(tok, "streams") == 0) {
			if (*has_streams || parse_int(eq, 0, RATE_N_MAX, &v,
			    &errstr) == -1) {
				*why = "bad streams (0 to 1000000, given once)";
				return -1;
			}
			e->streams = (uint32_t)v;
			*has_streams = 1;
		} else {
			*why = "unknown option (expires=, rate=, streams=)";
			return -1;
		}
	}
	return 0;
}

int
clients_parse(const char *path, const char *text, size_t len,
    const struct rate *def_rate, uint32_t def_streams, struct client_ent **vp,
    uint32_t *np)
{
	struct client_ent	*v = NULL, e;
	const char		*p = text, *end = text + len, *nl, *why;
	char			*line, *name, *hash, *rest, *c;
	uint32_t		 n = 0, i;
	int			 lineno = 0, errors = 0, has_rate, has_streams;

	while (p < end) {
		lineno++;
		nl = memchr(p, '\n', end - p);
		line = xstrndup(p, nl != NULL ? (size_t)(nl - p) :
		    (size_t)(end - p));
		p = nl != NULL ? nl + 1 : end;
		if ((c = strchr(line, '#')) != NULL)
			*c = '\0';
		for (c = line; *c != '\0'; c++)
			if (*c == '\r' || *c == '\t')
				*c = ' ';
		name = line + strspn(line, " ");
		if (*name == '\0') {
			free(line);
			continue;
		}
		memset(&e, 0, sizeof(e));
		has_rate = has_streams = 0;
		hash = strchr(name, ' ');
		if (hash != NULL) {
			*hash++ = '\0';
			hash += strspn(hash, " ");
		}
		rest = hash != NULL ? strchr(hash, ' ') : NULL;
		if (rest != NULL)
			*rest++ = '\0';
		why = NULL;
		if (!client_name_ok(name))
			why = "bad client name (letters, digits, '.', '_', "
			    "'-', at most 64, starting with a letter or digit)";
		else if (hash == NULL || parse_hash(hash, e.hash) == -1)
			why = "expected sha256:<64 hex digits> after the name "
			    "(privatemoded -G prints a line)";
		else if (rest != NULL && parse_options(rest, &e, &has_rate,
		    &has_streams, &why) == -1)
			;
		else if (n == CLIENTS_MAX)
			why = "too many clients (at most 4096 lines)";
		if (why != NULL) {
			log_warnx("%s:%d: %s", path, lineno, why);
			errors++;
			free(line);
			continue;
		}
		strlcpy(e.name, name, sizeof(e.name));
		if (!has_rate)
			e.rate = *def_rate;
		if (!has_streams)
			e.streams = def_streams;
		for (i = 0; i < n; i++) {
			if (sodium_memcmp(v[i].hash, e.hash,
			    CLIENT_HASH_LEN) == 0) {
				log_warnx("%s:%d: the same token hash as %s's: "
				    "each token must be unique", path, lineno,
				    v[i].name);
				errors++;
				break;
			}
			if (strcmp(v[i].name, e.name) == 0 &&
			    (v[i].rate.n != e.rate.n ||
			    v[i].rate.ms != e.rate.ms ||
			    v[i].streams != e.streams)) {
				log_warnx("%s:%d: %s has another line with "
				    "other limits: a client's lines share its "
				    "limits", path, lineno, e.name);
				errors++;
				break;
			}
		}
		if (i == n) {
			v = xreallocarray(v, n + 1, sizeof(*v));
			v[n++] = e;
		}
		free(line);
	}
	if (errors) {
		free(v);
		return -1;
	}
	*vp = v;
	*np = n;
	return 0;
}

/* --- MSG_CLIENTS ------------------------------------------------------- */

static void
rate_put(struct buf *m, const struct rate *r)
{
	msg_put_u32(m, r->n);
	msg_put_i64(m, r->ms);
}

static void
rate_get(struct msgr *m, struct rate *r)
{
	r->n = msg_get_u32(m);
	r->ms = msg_get_i64(m);
	if (r->n > RATE_N_MAX || (r->n > 0 && (r->ms < 1 ||
	    r->ms > RATE_MS_MAX)))
		m->err = 1;
}

void
access_policy_put(struct buf *m, const struct access_policy *a)
{
	uint32_t	i;

	msg_put_u8(m, a->mode);
	msg_put_u32(m, a->workers);
	rate_put(m, &a->addr_rate);
	msg_put_u32(m, a->addr_streams);
	msg_put_u32(m, a->n);
	for (i = 0; i < a->n; i++) {
		msg_put_str(m, a->v[i].name);
		msg_put_raw(m, a->v[i].hash, CLIENT_HASH_LEN);
		msg_put_i64(m, a->v[i].expires);
		rate_put(m, &a->v[i].rate);
		msg_put_u32(m, a->v[i].streams);
	}
}

int
access_policy_get(struct msgr *m, struct access_policy *a)
{
	struct client_ent	*e;
	char			*name;
	uint32_t		 i;

	memset(a, 0, sizeof(*a));
	a->mode = msg_get_u8(m);
	a->workers = msg_get_u32(m);
	rate_get(m, &a->addr_rate);
	a->addr_streams = msg_get_u32(m);
	a->n = msg_get_u32(m);
	/* Counted before anything is allocated for them. */
	if (m->err || a->mode > CA_TOKENS || a->workers < 1 ||
	    a->workers > 4096 || a->n > CLIENTS_MAX ||
	    a->n > m->left / (4 + CLIENT_HASH_LEN + 8 + 12 + 4)) {
		a->n = 0;
		return -1;
	}
	a->v = xcalloc(a->n > 0 ? a->n : 1, sizeof(*a->v));
	for (i = 0; i < a->n; i++) {
		e = &a->v[i];
		name = msg_get_str(m);
		if (name == NULL || !client_name_ok(name)) {
			free(name);
			goto fail;
		}
		strlcpy(e->name, name, sizeof(e->name));
		free(name);
		msg_get_raw(m, e->hash, CLIENT_HASH_LEN);
		e->expires = msg_get_i64(m);
		rate_get(m, &e->rate);
		e->streams = msg_get_u32(m);
	}
	if (msg_end(m) == 0)
		return 0;
 fail:
	access_policy_free(a);
	return -1;
}

void
access_policy_free(struct access_policy *a)
{
	free(a->v);
	a->v = NULL;
	a->n = 0;
}

/* --- tokens ------------------------------------------------------------ */

void
client_token_hash(const void *p, size_t n, uint8_t h[CLIENT_HASH_LEN])
{
	crypto_hash_sha256(h, p, n);
}

void
client_token_new(char *token, size_t toklen, const char *name, char *line,
    size_t linelen)
{
	uint8_t	raw[32], h[CLIENT_HASH_LEN];
	char	b64[64], hex[2 * CLIENT_HASH_LEN + 1];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(b64, sizeof(b64), raw, sizeof(raw),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	snprintf(token, toklen, "%s%s", CLIENT_TOKEN_PREFIX, b64);
	client_token_hash(token, strlen(token), h);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	snprintf(line, linelen, "%s sha256:%s", name, hex);
	sodium_memzero(raw, sizeof(raw));
	sodium_memzero(b64, sizeof(b64));
}
