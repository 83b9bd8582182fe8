/* Egress through an HTTP proxy: which origins, and through what (egress.h). */
#include "config.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "conf.h"
#include "dpmsg.h"
#include "egress.h"
#include "util.h"

/* --- the proxy URL ----------------------------------------------------------- */

static int
unhex(int c)
{
	return isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
}

/* Percent-decoding of the userinfo, in place; -1 on a bad escape. */
static int
pct_decode(char *s)
{
	char	*o = s;

	for (; *s != '\0'; s++) {
		if (*s != '%') {
			*o++ = *s;
			continue;
		}
		if (!isxdigit((unsigned char)s[1]) ||
		    !isxdigit((unsigned char)s[2]))
			return -1;
		*o++ = (char)(unhex((unsigned char)s[1]) * 16 +
		    unhex((unsigned char)s[2]));
		s += 2;
	}
	*o = '\0';
	return 0;
}

static char *
base64(const char *s)
{
	size_t	n = strlen(s);
	char	*out = xmalloc(4 * ((n + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s,
	    (int)n);
	return out;
}

int
proxy_parse(const char *url, struct proxy *p, char *err, size_t errlen)
{
	struct origin	 o;
	const char	*rest = url, *at, *slash;
	char		*userinfo = NULL, *full;
	int		 rv;

	memset(p, 0, sizeof(*p));
	/* Go takes a value without a scheme as http://. */
	if (strstr(url, "://") == NULL)
		xasprintf(&full, "http://%s", url);
	else if (strncasecmp(url, "http://", 7) == 0)
		full = xstrdup(url);
	else {
		snprintf(err, errlen, "%s: only http:// proxies are supported",
		    url);
		return -1;
	}
	rest = full + 7;
	slash = strchr(rest, '/');
	at = strchr(rest, '@');
	if (at != NULL && (slash == NULL || at < slash)) {
		userinfo = xstrndup(rest, at - rest);
		memmove(full + 7, at + 1, strlen(at + 1) + 1);
	}
	rv = url_split(full, &o, NULL);
	free(full);
	if (rv == -1 || (userinfo != NULL && pct_decode(userinfo) == -1)) {
		snprintf(err, errlen, "%s: not a proxy URL "
		    "(http://[user:password@]host[:port])", url);
		freezero(userinfo, userinfo != NULL ? strlen(userinfo) : 0);
		return -1;
	}
	strlcpy(p->host, o.host, sizeof(p->host));
	p->port = o.port;
	if (userinfo != NULL) {
		p->auth = base64(userinfo);
		freezero(userinfo, strlen(userinfo));
	}
	return 0;
}

void
proxy_clear(struct proxy *p)
{
	if (p->auth != NULL)
		freezero(p->auth, strlen(p->auth));
	memset(p, 0, sizeof(*p));
}

/* --- NO_PROXY ------------------------------------------------------------------ */

/* An IPv4 or IPv6 address in 16 bytes (v4-mapped), with its family. */
static int
parse_ip(const char *s, uint8_t out[16], int *family)
{
	struct in_addr	a4;

	if (inet_pton(AF_INET6, s, out) == 1) {
		*family = AF_INET6;
		return 0;
	}
	if (inet_pton(AF_INET, s, &a4) == 1) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &a4, 4);
		*family = AF_INET;
		return 0;
	}
	return -1;
}

static int
prefix_match(const uint8_t *a, const uint8_t *b, int bits)
{
	int	full = bits / 8, rem = bits % 8;

	if (memcmp(a, b, full) != 0)
		return 0;
	return rem == 0 ||
	    ((a[full] ^ b[full]) & (uint8_t)(0xff << (8 - rem))) == 0;
}

/* host[:port] or [v6]:port of a NO_PROXY entry; *port "" when none. */
static void
entry_split(char *e, char **host, char **port)
{
	char	*c;

	*port = "";
	if (e[0] == '[' && (c = strchr(e, ']')) != NULL) {
		*c = '\0';
		*host = e + 1;
		if (c[1] == ':')
			*port = c + 2;
		return;
	}
	*host = e;
	/* One colon: host:port; more: a bare IPv6 address. */
	if ((c = strchr(e, ':')) != NULL && strchr(c + 1, ':') == NULL) {
		*c = '\0';
		*port = c + 1;
	}
}

static int
entry_match(char *e, const char *host, const uint8_t *ip, int have_ip,
    const char *port)
{
	uint8_t	 net[16];
	char	*slash, *h, *p;
	size_t	 hl, nl;
	int	 fam, bits;

	if ((slash = strchr(e, '/')) != NULL) {
		/* CIDR: a prefix of an IP address. */
		*slash = '\0';
		bits = atoi(slash + 1);
		if (!have_ip || parse_ip(e, net, &fam) == -1)
			return 0;
		if (fam == AF_INET)
			bits += 96;
		return bits >= 0 && bits <= 128 && prefix_match(ip, net, bits);
	}
	entry_split(e, &h, &p);
	if (*p != '\0' && strcmp(p, port) != 0)
		return 0;
	if (parse_ip(h, net, &fam) == 0)
		return have_ip && memcmp(ip, net, 16) == 0;
	if (have_ip || *h == '\0')
		return 0;
	/* A name: itself and its subdomains; ".name" (or "*.name") the latter. */
	if (h[0] == '*' && h[1] == '.')
		h++;
	hl = strlen(host);
	if (h[0] != '.' && strcasecmp(host, h) == 0)
		return 1;
	if (h[0] == '.')
		h++;
	nl = strlen(h);
	return hl > nl && host[hl - nl - 1] == '.' &&
	    strcasecmp(host + hl - nl, h) == 0;
}

int
no_proxy_match(const char *list, const char *host, uint16_t port)
{
	uint8_t	 ip[16];
	char	*copy, *e, *next, ps[8];
	int	 fam, have_ip, hit = 0;

	if (list == NULL)
		return 0;
	have_ip = parse_ip(host, ip, &fam) == 0;
	snprintf(ps, sizeof(ps), "%u", port);
	copy = xstrdup(list);
	for (e = copy; e != NULL && !hit; e = next) {
		if ((next = strchr(e, ',')) != NULL)
			*next++ = '\0';
		e = trim_space(e);
		if (*e == '\0')
			continue;
		hit = strcmp(e, "*") == 0 || entry_match(e, host, ip, have_ip,
		    ps);
	}
	free(copy);
	return hit;
}

/* --- the decision ---------------------------------------------------------------- */

/* Go never proxies localhost or a loopback address. */
static int
is_loopback(const char *host)
{
	uint8_t	ip[16];
	int	fam;

	if (strcasecmp(host, "localhost") == 0)
		return 1;
	if (parse_ip(host, ip, &fam) == -1)
		return 0;
	if (fam == AF_INET)
		return ip[12] == 127;
	return memcmp(ip, in6addr_loopback.s6_addr, 16) == 0;
}

int
egress_proxy_for(const struct config *c, const struct origin *o,
    struct proxy *p)
{
	char	err[128];

	/* http:// origins (test set-ups only) always go direct. */
	if (c->https_proxy == NULL || c->https_proxy[0] == '\0' || !o->tls ||
	    is_loopback(o->host) || no_proxy_match(c->no_proxy, o->host,
	    o->port))
		return 1;
	return proxy_parse(c->https_proxy, p, err, sizeof(err)) == 0 ? 0 : 1;
}

/* The upper-case name wins, as in Go. */
static const char *
env_either(const char *upper, const char *lower)
{
	const char	*v = getenv(upper);

	return v != NULL && *v != '\0' ? v : getenv(lower);
}

void
egress_from_environment(struct config *c)
{
	const char	*v;

	if (c->https_proxy == NULL &&
	    (v = env_either("HTTPS_PROXY", "https_proxy")) != NULL &&
	    *v != '\0')
		c->https_proxy = xstrdup(v);
	if (c->no_proxy == NULL &&
	    (v = env_either("NO_PROXY", "no_proxy")) != NULL && *v != '\0')
		c->no_proxy = xstrdup(v);
}
