/*
 * privatemode.conf: the key table, the parser, defaults, command-line
 * overrides and the checks that run at -t, at start and on reload.
 */

#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clients.h"
#include "conf.h"
#include "egress.h"
#include "ipc.h"
#include "log.h"
#include "util.h"

struct keydef {
	const char	*name;
	int		 kind;
	const char	*def;
	long long	 min, max;
	int		 flags;
	const char	*flag;
	size_t		 off;
};

static const struct keydef keydefs[] = {
#define CFG_KEYDEF(key, kind, def, min, max, flags, flag)		\
	{ #key, kind, def, min, max, flags, flag, offsetof(struct config, key) },
	CONFIG_KEYS(CFG_KEYDEF)
#undef CFG_KEYDEF
};

_Static_assert(nitems(keydefs) <= nitems(((struct config *)0)->set_line),
    "struct config set_line too small");

#define FIELD(c, kd, type)	((type *)((char *)(c) + (kd)->off))

/* How a value arrives: a default, a file line, or a command-line flag. */
enum set_mode { SET_DEFAULT, SET_FILE, SET_OVERRIDE };

static const struct keydef *
keydef_find(const char *name)
{
	size_t	i;

	for (i = 0; i < nitems(keydefs); i++)
		if (strcasecmp(keydefs[i].name, name) == 0)
			return &keydefs[i];
	return NULL;
}

static void
strlist_add(struct strlist *l, const char *s)
{
	l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
	l->v[l->n++] = xstrdup(s);
}

static void
strlist_clear(struct strlist *l)
{
	int	i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static void
field_clear(struct config *c, const struct keydef *kd)
{
	char	**sp;

	switch (kd->kind) {
	case K_SECRET:
		sp = FIELD(c, kd, char *);
		strfreezero(*sp);
		*sp = NULL;
		break;
	case K_STR:
		sp = FIELD(c, kd, char *);
		free(*sp);
		*sp = NULL;
		break;
	case K_LIST:
		strlist_clear(FIELD(c, kd, struct strlist));
		break;
	}
}

/* Parse value into the field; on error return a message. */
static const char *
field_set(struct config *c, const struct keydef *kd, const char *value)
{
	const char	*errstr = NULL;
	long long	 ll;
	int64_t		 ms;
	uint64_t	 sz;
	int		 b;

	switch (kd->kind) {
	case K_STR:
	case K_SECRET:
		field_clear(c, kd);
		*FIELD(c, kd, char *) = xstrdup(value);
		return NULL;
	case K_LIST:
		strlist_add(FIELD(c, kd, struct strlist), value);
		return NULL;
	case K_BOOL:
		if (parse_bool(value, &b) == -1)
			return "expected yes or no";
		*FIELD(c, kd, int) = b;
		return NULL;
	case K_INT:
		if (parse_int(value, kd->min, kd->max, &ll, &errstr) == -1)
			return errstr;
		*FIELD(c, kd, long long) = ll;
		return NULL;
	case K_DURATION:
		if (parse_duration_ms(value, &ms, &errstr) == -1)
			return errstr;
		*FIELD(c, kd, int64_t) = ms;
		return NULL;
	case K_SIZE:
		if (parse_size(value, &sz, &errstr) == -1)
			return errstr;
		*FIELD(c, kd, uint64_t) = sz;
		return NULL;
	case K_LOGLEVEL:
		if ((b = log_parselevel(value)) == -1)
			return "expected debug, info, warn or error";
		*FIELD(c, kd, int) = b;
		return NULL;
	case K_LOGFORMAT:
		if (strcasecmp(value, "text") == 0)
			*FIELD(c, kd, int) = LOG_FORMAT_TEXT;
		else if (strcasecmp(value, "json") == 0)
			*FIELD(c, kd, int) = LOG_FORMAT_JSON;
		else
			return "expected text or json";
		return NULL;
	}
	return "internal error: unknown kind";
}

static int
config_set_mode(struct config *c, const char *key, const char *value,
    const char *where, int line, enum set_mode mode)
{
	const struct keydef	*kd;
	const char		*err;
	size_t			 idx;

	if ((kd = keydef_find(key)) == NULL) {
		log_warnx("%s: unknown key \"%s\"", where, key);
		return -1;
	}
	idx = kd - keydefs;
	if (mode == SET_FILE && c->set_line[idx] > 0 && kd->kind != K_LIST) {
		log_warnx("%s: duplicate key \"%s\" (first set at line %d)",
		    where, kd->name, c->set_line[idx]);
		return -1;
	}
	/* A list given on the command line replaces the file's entries. */
	if (mode == SET_OVERRIDE && kd->kind == K_LIST && c->set_line[idx] >= 0)
		field_clear(c, kd);
	if ((err = field_set(c, kd, value)) != NULL) {
		log_warnx("%s: %s: bad value \"%s\": %s", where, kd->name,
		    kd->kind == K_SECRET ? "(hidden)" : value, err);
		return -1;
	}
	if (mode == SET_FILE)
		c->set_line[idx] = line;
	else if (mode == SET_OVERRIDE)
		c->set_line[idx] = -1;
	return 0;
}

int
config_set(struct config *c, const char *key, const char *value,
    const char *where)
{
	return config_set_mode(c, key, value, where, 1, SET_FILE);
}

struct config *
config_new(void)
{
	struct config	*c;
	size_t		 i;

	c = xcalloc(1, sizeof(*c));
	for (i = 0; i < nitems(keydefs); i++)
		if (keydefs[i].def != NULL &&
		    config_set_mode(c, keydefs[i].name, keydefs[i].def,
		    "default", 0, SET_DEFAULT) == -1)
			fatalx("%s: bad default for %s", __func__,
			    keydefs[i].name);
	return c;
}

void
config_free(struct config *c)
{
	size_t	i;

	if (c == NULL)
		return;
	for (i = 0; i < nitems(keydefs); i++)
		field_clear(c, &keydefs[i]);
	free(c->path);
	free(c);
}

/*
 * Split one line into key and value.  Returns 0 for a blank or comment
 * line, 1 for a pair, -1 (with *err) for a malformed line.  Works in place.
 */
static int
split_line(char *line, char **keyp, char **valp, const char **err)
{
	char	*p = line, *key, *val, *out;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0' || *p == '#')
		return 0;
	for (key = p; *p != '\0' && !isspace((unsigned char)*p); p++)
		if (iscntrl((unsigned char)*p)) {
			*err = "control character in key";
			return -1;
		}
	if (*p != '\0')
		*p++ = '\0';
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '"') {
		/* Quoted: \" and \\ are the only escapes. */
		val = out = ++p;
		for (;;) {
			if (*p == '\0') {
				*err = "unterminated quoted value";
				return -1;
			}
			if (*p == '"')
				break;
			if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
				p++;
			*out++ = *p++;
		}
		p++;
		*out = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '\0' && *p != '#') {
			*err = "text after quoted value";
			return -1;
		}
	} else {
		val = p;
		while (*p != '\0' && *p != '#')
			p++;
		*p = '\0';
		val = trim_space(val);
		if (*val == '\0') {
			*err = "missing value";
			return -1;
		}
	}
	for (p = val; *p != '\0'; p++)
		if (iscntrl((unsigned char)*p) && *p != '\t') {
			*err = "control character in value";
			return -1;
		}
	*keyp = key;
	*valp = val;
	return 1;
}

int
config_parse_buffer(struct config *c, const char *name, char *buf, size_t len)
{
	char		*line, *next, *key, *val, where[1024];
	const char	*err = NULL;
	size_t		 llen;
	int		 lineno = 0, errors = 0, rv;

	if (memchr(buf, '\0', len) != NULL) {
		log_warnx("%s: NUL byte in file", name);
		return -1;
	}
	for (line = buf; line != NULL && *line != '\0'; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if ((llen = strlen(line)) > 0 && line[llen - 1] == '\r')
			line[llen - 1] = '\0';
		snprintf(where, sizeof(where), "%s:%d", name, lineno);
		rv = split_line(line, &key, &val, &err);
		if (rv == -1) {
			log_warnx("%s: %s", where, err);
			errors++;
		} else if (rv == 1 &&
		    config_set_mode(c, key, val, where, lineno, SET_FILE) == -1)
			errors++;
	}
	return errors ? -1 : 0;
}

int
config_parse_file(struct config *c, const char *path, int allow_missing)
{
	char	*buf;
	size_t	 len;
	int	 rv;

	free(c->path);
	c->path = xstrdup(path);
	if (read_file(path, 1024 * 1024, &buf, &len) == -1) {
		if (errno == ENOENT && allow_missing)
			return 0;
		log_warn("%s", path);
		return -1;
	}
	rv = config_parse_buffer(c, path, buf, len);
	/* The file may hold a literal API key. */
	freezero(buf, len + 1);
	return rv;
}

int
config_apply_overrides(struct config *c, const struct overrides *o)
{
	char	where[128];
	int	i, errors = 0;

	for (i = 0; i < o->n; i++) {
		snprintf(where, sizeof(where), "command line");
		if (config_set_mode(c, o->v[i].key, o->v[i].value, where, 0,
		    SET_OVERRIDE) == -1)
			errors++;
	}
	return errors ? -1 : 0;
}

int
split_hostport(const char *s, char **host, char **port, const char *defport)
{
	const char	*p, *colon;

	*host = *port = NULL;
	if (*s == '[') {
		if ((p = strchr(s, ']')) == NULL || p == s + 1)
			return -1;
		*host = xstrndup(s + 1, p - s - 1);
		p++;
		if (*p == ':')
			*port = xstrdup(p + 1);
		else if (*p != '\0')
			goto bad;
	} else {
		colon = strrchr(s, ':');
		if (colon != NULL && strchr(s, ':') != colon)
			goto bad;	/* bare IPv6 needs brackets */
		if (colon != NULL) {
			*host = xstrndup(s, colon - s);
			*port = xstrdup(colon + 1);
		} else
			*host = xstrdup(s);
	}
	if (*port == NULL)
		*port = xstrdup(defport);
	if (**host == '\0' && strcmp(s, "") == 0)
		goto bad;
	return 0;
 bad:
	free(*host);
	free(*port);
	*host = *port = NULL;
	return -1;
}

static int
valid_port_range(const char *s, long long min)
{
	long long	 v;
	const char	*e;

	return parse_int(s, min, 65535, &v, &e) == 0 &&
	    isdigit((unsigned char)*s);
}

static int
valid_port(const char *s)
{
	return valid_port_range(s, 1);
}

/* allow_any: a listening address, which may be a wildcard or port 0. */
static int
check_hostport(const char *what, const char *value, const char *defport,
    int allow_any)
{
	char	*h, *p;
	int	 ok;

	if (split_hostport(value, &h, &p, defport) == -1) {
		log_warnx("%s: bad address \"%s\"", what, value);
		return -1;
	}
	ok = valid_port_range(p, allow_any ? 0 : 1) &&
	    (*h != '\0' || allow_any);
	if (!ok)
		log_warnx("%s: bad address \"%s\"", what, value);
	free(h);
	free(p);
	return ok ? 0 : -1;
}

static const char *
where_of(const struct config *c, const char *key, char *buf, size_t len)
{
	const struct keydef	*kd = keydef_find(key);
	int			 line = c->set_line[kd - keydefs];

	if (line > 0)
		snprintf(buf, len, "%s:%d: %s", c->path ? c->path : "config",
		    line, key);
	else if (line < 0)
		snprintf(buf, len, "command line: %s", key);
	else
		snprintf(buf, len, "%s", key);
	return buf;
}

#ifndef TEST_HOOKS
/* Refuse a test-only setting in a production build, saying what it undoes. */
static int
refuse_test_only(const struct config *c, int set, const char *key,
    const char *what)
{
	char	w[256];

	if (!set)
		return 0;
	log_warnx("%s: test-only setting refused: it %s, and this build "
	    "(configured without --enable-test-hooks) is for production",
	    where_of(c, key, w, sizeof(w)), what);
	return 1;
}
#endif

/*
 * Intel PCS URLs (TDX collateral): https, with a host; a build with test
 * hooks also takes http (the simulator).  Returns the errors found.
 */
static int
check_pcs_url(struct config *c, const char *key, const char *url)
{
	const char	*host;
	char		 w[256];

#ifdef TEST_HOOKS
	if (strncmp(url, "http://", 7) == 0)
		host = url + 7;
	else
#endif
	if (strncmp(url, "https://", 8) == 0)
		host = url + 8;
	else {
		log_warnx("%s: must be an https:// URL%s", where_of(c, key, w,
		    sizeof(w)),
#ifdef TEST_HOOKS
		    " (or http://, in this build with test hooks)"
#else
		    " (plain http:// is for tests, in a build configured with "
		    "--enable-test-hooks)"
#endif
		    );
		return 1;
	}
	if (*host == '\0' || *host == '/' || strlen(url) >= 256) {
		log_warnx("%s: not a URL with a host (at most 255 characters)",
		    where_of(c, key, w, sizeof(w)));
		return 1;
	}
	return 0;
}

int
config_validate(struct config *c)
{
	struct proxy	proxy;
	struct rate	rate;
	char		w[1200], perr[300], *cwd, *abs;
	int		errors = 0, i;

	if ((c->tls_cert == NULL) != (c->tls_key == NULL)) {
		log_warnx("TLS certificate and key must be provided together "
		    "(tls_cert and tls_key)");
		errors++;
	}
	if (c->prompt_cache_salt != NULL && !c->shared_prompt_cache) {
		log_warnx("%s: getting prompt cache salt: promptCacheSalt is "
		    "set but sharedPromptCache is not enabled",
		    where_of(c, "prompt_cache_salt", w, sizeof(w)));
		errors++;
	}
	if (!c->nvidia_ocsp_allow_unknown &&
	    c->nvidia_ocsp_revoked_grace_period > 0) {
		log_warnx("unknown OCSP statuses are disallowed, but revoked "
		    "statuses are allowed. This is likely to be an erroneous "
		    "configuration");
		errors++;
	}
	if (check_hostport(where_of(c, "api_endpoint", w, sizeof(w)),
	    c->api_endpoint, "443", 0) == -1)
		errors++;
	if (!valid_port(c->port)) {
		log_warnx("%s: bad port \"%s\"",
		    where_of(c, "port", w, sizeof(w)), c->port);
		errors++;
	}
	for (i = 0; i < c->listen.n; i++)
		if (check_hostport(where_of(c, "listen", w, sizeof(w)),
		    c->listen.v[i], c->port, 1) == -1)
			errors++;
	if (strcasecmp(c->metrics_listen, "none") != 0 &&
	    check_hostport(where_of(c, "metrics_listen", w, sizeof(w)),
	    c->metrics_listen, "9464", 1) == -1)
		errors++;
	if (strcmp(c->upstream_http2, "auto") != 0 &&
	    strcmp(c->upstream_http2, "off") != 0) {
		log_warnx("%s: must be auto or off",
		    where_of(c, "upstream_http2", w, sizeof(w)));
		errors++;
	}
	if (client_auth_parse(c->client_auth) == -1) {
		log_warnx("%s: must be off or tokens",
		    where_of(c, "client_auth", w, sizeof(w)));
		errors++;
	} else if (client_auth_parse(c->client_auth) == CA_TOKENS &&
	    c->api_key == NULL) {
		/*
		 * With client tokens a client's bearer is its client token,
		 * never a Privatemode key: without api_key no request could
		 * be served.
		 */
		log_warnx("%s: client_auth tokens needs api_key (or --apiKey): "
		    "a client's Authorization or x-api-key is then its client "
		    "token, never the Privatemode API key",
		    where_of(c, "client_auth", w, sizeof(w)));
		errors++;
	}
	if (rate_parse(c->client_rate_limit, &rate) == -1) {
		log_warnx("%s: must be none or N/DURATION (1 to 1000000 "
		    "requests per 1ms to 24h, such as 60/1m)",
		    where_of(c, "client_rate_limit", w, sizeof(w)));
		errors++;
	}
	if (rate_parse(c->address_rate_limit, &rate) == -1) {
		log_warnx("%s: must be none or N/DURATION (1 to 1000000 "
		    "requests per 1ms to 24h, such as 60/1m)",
		    where_of(c, "address_rate_limit", w, sizeof(w)));
		errors++;
	}
	memset(&proxy, 0, sizeof(proxy));
	if (c->https_proxy != NULL && c->https_proxy[0] != '\0' &&
	    proxy_parse(c->https_proxy, &proxy, perr, sizeof(perr)) == -1) {
		log_warnx("%s: %s", where_of(c, "https_proxy", w, sizeof(w)),
		    perr);
		errors++;
	}
	proxy_clear(&proxy);
	errors += check_pcs_url(c, "pcs_base_url", c->pcs_base_url);
	errors += check_pcs_url(c, "pcs_root_crl_url", c->pcs_root_crl_url);
#ifdef TEST_HOOKS
	/* The simulated deployment serves its manifest over plain HTTP. */
	if (strncmp(c->cdn_base_url, "https://", 8) != 0 &&
	    strncmp(c->cdn_base_url, "http://", 7) != 0) {
		log_warnx("%s: must be an http:// or https:// URL",
		    where_of(c, "cdn_base_url", w, sizeof(w)));
		errors++;
	}
#else
	/*
	 * A production build (no --enable-test-hooks) refuses what only tests
	 * need: each one undoes a guarantee the daemon exists for.  Without
	 * TLS verification of the API the key goes to whoever intercepts;
	 * without AMD's roots any chain passes attestation; a manifest over
	 * plain HTTP is whatever the network says it is.
	 */
	if (strncmp(c->cdn_base_url, "https://", 8) != 0) {
		log_warnx("%s: must be an https:// URL (plain http:// is for "
		    "tests, in a build configured with --enable-test-hooks)",
		    where_of(c, "cdn_base_url", w, sizeof(w)));
		errors++;
	}
	errors += refuse_test_only(c, c->insecure_api_connection,
	    "insecure_api_connection",
	    "turns off the verification of the API's TLS certificate");
	errors += refuse_test_only(c, c->test_trust_any_amd_root,
	    "test_trust_any_amd_root",
	    "accepts AMD certificate chains that are not AMD's");
	errors += refuse_test_only(c, c->test_intel_root_ca != NULL,
	    "test_intel_root_ca", "replaces Intel's SGX root CA");
#endif
	if (c->chroot_dir[0] != '/') {
		log_warnx("%s: must be an absolute path",
		    where_of(c, "chroot_dir", w, sizeof(w)));
		errors++;
	}
	if (c->max_body_size < 1024 || c->max_body_size > 256ULL << 20) {
		log_warnx("%s: must be between 1k and 256M",
		    where_of(c, "max_body_size", w, sizeof(w)));
		errors++;
	}
	if (c->max_body_buffer < c->max_body_size) {
		log_warnx("%s: must be at least max_body_size (%llu bytes): a "
		    "body of the largest size could never be received",
		    where_of(c, "max_body_buffer", w, sizeof(w)),
		    (unsigned long long)c->max_body_size);
		errors++;
	}
	if (c->client_body_deadline < 1000) {
		log_warnx("%s: must be at least 1s",
		    where_of(c, "client_body_deadline", w, sizeof(w)));
		errors++;
	}
	if (c->max_header_size < 1024 || c->max_header_size > 1 << 20) {
		log_warnx("%s: must be between 1k and 1M",
		    where_of(c, "max_header_size", w, sizeof(w)));
		errors++;
	}
	if (c->workspace[0] == '\0') {
		log_warnx("workspace: must not be empty");
		errors++;
	} else if (c->workspace[0] != '/') {
		/* Relative to where we started: we chdir("/") later. */
		if ((cwd = getcwd(NULL, 0)) == NULL)
			fatal("getcwd");
		xasprintf(&abs, "%s/%s", cwd, c->workspace);
		free(cwd);
		free(c->workspace);
		c->workspace = abs;
	}
	return errors ? -1 : 0;
}

int
config_is_set(const struct config *c, const char *key)
{
	const struct keydef	*kd = keydef_find(key);

	return kd != NULL && c->set_line[kd - keydefs] != 0;
}

void
config_warn_testonly(const struct config *c)
{
	size_t	i;

	for (i = 0; i < nitems(keydefs); i++) {
		const struct keydef *kd = &keydefs[i];

		if (!(kd->flags & CF_TESTONLY))
			continue;
		if ((kd->kind == K_BOOL && *FIELD(c, kd, int)) ||
		    (kd->kind == K_STR && *FIELD(c, kd, char *) != NULL) ||
		    (kd->kind == K_DURATION && c->set_line[i] != 0))
			log_warnx("TEST-ONLY SETTING %s IS ACTIVE: this daemon "
			    "must not be used in production", kd->name);
	}
}

int
config_workers(const struct config *c)
{
	long	n;

	if (c->workers > 0)
		return (int)c->workers;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : (n > 64 ? 64 : (int)n);
}

static int
field_equal(const struct config *a, const struct config *b,
    const struct keydef *kd)
{
	const struct strlist	*la, *lb;
	const char		*sa, *sb;
	int			 i;

	switch (kd->kind) {
	case K_STR:
	case K_SECRET:
		sa = *FIELD(a, kd, char *);
		sb = *FIELD(b, kd, char *);
		return (sa == NULL && sb == NULL) ||
		    (sa != NULL && sb != NULL && strcmp(sa, sb) == 0);
	case K_LIST:
		la = FIELD(a, kd, struct strlist);
		lb = FIELD(b, kd, struct strlist);
		if (la->n != lb->n)
			return 0;
		for (i = 0; i < la->n; i++)
			if (strcmp(la->v[i], lb->v[i]) != 0)
				return 0;
		return 1;
	case K_BOOL:
	case K_LOGLEVEL:
	case K_LOGFORMAT:
		return *FIELD(a, kd, int) == *FIELD(b, kd, int);
	case K_INT:
		return *FIELD(a, kd, long long) == *FIELD(b, kd, long long);
	case K_DURATION:
		return *FIELD(a, kd, int64_t) == *FIELD(b, kd, int64_t);
	case K_SIZE:
		return *FIELD(a, kd, uint64_t) == *FIELD(b, kd, uint64_t);
	}
	return 0;
}

static void
field_copy(struct config *dst, const struct config *src,
    const struct keydef *kd)
{
	const struct strlist	*l;
	int			 i;

	field_clear(dst, kd);
	switch (kd->kind) {
	case K_STR:
	case K_SECRET:
		if (*FIELD(src, kd, char *) != NULL)
			*FIELD(dst, kd, char *) =
			    xstrdup(*FIELD(src, kd, char *));
		break;
	case K_LIST:
		l = FIELD(src, kd, struct strlist);
		for (i = 0; i < l->n; i++)
			strlist_add(FIELD(dst, kd, struct strlist), l->v[i]);
		break;
	default:
		/* Scalars: the field sizes differ by kind; copy by size. */
		memcpy((char *)dst + kd->off, (const char *)src + kd->off,
		    kd->kind == K_INT ? sizeof(long long) :
		    kd->kind == K_DURATION ? sizeof(int64_t) :
		    kd->kind == K_SIZE ? sizeof(uint64_t) : sizeof(int));
		break;
	}
}

void
config_carry_restart_keys(struct config *new, const struct config *old)
{
	size_t	i;

	for (i = 0; i < nitems(keydefs); i++) {
		if (!(keydefs[i].flags & CF_RESTART) ||
		    field_equal(old, new, &keydefs[i]))
			continue;
		log_warnx("reload: %s changed; keeping the running value until "
		    "a restart", keydefs[i].name);
		field_copy(new, old, &keydefs[i]);
	}
}

void
config_marshal(const struct config *c, struct buf *w)
{
	const struct strlist	*l;
	size_t			 i;
	int			 j;

	msg_put_u32(w, (uint32_t)nitems(keydefs));
	for (i = 0; i < nitems(keydefs); i++) {
		const struct keydef *kd = &keydefs[i];

		switch (kd->kind) {
		case K_SECRET:
			/* Children learn only whether it is configured. */
			msg_put_u8(w, *FIELD(c, kd, char *) != NULL);
			break;
		case K_STR:
			msg_put_str(w, *FIELD(c, kd, char *));
			break;
		case K_LIST:
			l = FIELD(c, kd, struct strlist);
			msg_put_u32(w, (uint32_t)l->n);
			for (j = 0; j < l->n; j++)
				msg_put_str(w, l->v[j]);
			break;
		case K_BOOL:
		case K_LOGLEVEL:
		case K_LOGFORMAT:
			msg_put_u32(w, (uint32_t)*FIELD(c, kd, int));
			break;
		case K_INT:
			msg_put_i64(w, *FIELD(c, kd, long long));
			break;
		case K_DURATION:
			msg_put_i64(w, *FIELD(c, kd, int64_t));
			break;
		case K_SIZE:
			msg_put_u64(w, *FIELD(c, kd, uint64_t));
			break;
		}
	}
	msg_put_str(w, c->path);
}

int
config_unmarshal(struct config *c, struct msgr *r)
{
	struct strlist	*l;
	uint32_t	 n, k;
	size_t		 i;
	char		*s;

	if (msg_get_u32(r) != nitems(keydefs))
		return -1;
	for (i = 0; i < nitems(keydefs) && !r->err; i++) {
		const struct keydef *kd = &keydefs[i];

		field_clear(c, kd);
		switch (kd->kind) {
		case K_SECRET:
			/* A placeholder: the value itself stays in keyd. */
			if (msg_get_u8(r))
				*FIELD(c, kd, char *) = xstrdup("");
			break;
		case K_STR:
			*FIELD(c, kd, char *) = msg_get_str(r);
			break;
		case K_LIST:
			l = FIELD(c, kd, struct strlist);
			n = msg_get_u32(r);
			if (n > 256)
				return -1;
			for (k = 0; k < n && !r->err; k++) {
				if ((s = msg_get_str(r)) == NULL)
					return -1;
				strlist_add(l, s);
				free(s);
			}
			break;
		case K_BOOL:
		case K_LOGLEVEL:
		case K_LOGFORMAT:
			*FIELD(c, kd, int) = (int)msg_get_u32(r);
			break;
		case K_INT:
			*FIELD(c, kd, long long) = msg_get_i64(r);
			break;
		case K_DURATION:
			*FIELD(c, kd, int64_t) = msg_get_i64(r);
			break;
		case K_SIZE:
			*FIELD(c, kd, uint64_t) = msg_get_u64(r);
			break;
		}
	}
	free(c->path);
	c->path = msg_get_str(r);
	return r->err ? -1 : 0;
}

const char *
config_flag_to_key(const char *flag, int *is_bool)
{
	size_t	i;

	for (i = 0; i < nitems(keydefs); i++)
		if (keydefs[i].flag != NULL &&
		    strcmp(keydefs[i].flag, flag) == 0) {
			*is_bool = keydefs[i].kind == K_BOOL;
			return keydefs[i].name;
		}
	return NULL;
}

static const char *
kind_name(int kind)
{
	switch (kind) {
	case K_STR:		return "string";
	case K_SECRET:		return "secret";
	case K_BOOL:		return "flag";
	case K_INT:		return "number";
	case K_DURATION:	return "duration";
	case K_SIZE:		return "size";
	case K_LIST:		return "list";
	case K_LOGLEVEL:	return "level";
	case K_LOGFORMAT:	return "format";
	}
	return "?";
}

void
config_print_keys(void)
{
	size_t	i;

	for (i = 0; i < nitems(keydefs); i++)
		printf("%s\t%s\t%s\t%s%s\n", keydefs[i].name,
		    kind_name(keydefs[i].kind),
		    keydefs[i].def ? keydefs[i].def : "-",
		    keydefs[i].flag ? "--" : "",
		    keydefs[i].flag ? keydefs[i].flag : "-");
}

void
overrides_add(struct overrides *o, const char *key, const char *value)
{
	o->v = xreallocarray(o->v, o->n + 1, sizeof(*o->v));
	o->v[o->n].key = xstrdup(key);
	o->v[o->n].value = xstrdup(value);
	o->n++;
}

void
overrides_free(struct overrides *o)
{
	int	i;

	for (i = 0; i < o->n; i++) {
		free(o->v[i].key);
		strfreezero(o->v[i].value);
	}
	free(o->v);
	o->v = NULL;
	o->n = 0;
}
