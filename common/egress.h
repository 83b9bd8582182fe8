/*
 * Egress through an HTTP proxy, decided as Go's ProxyFromEnvironment
 * decides it for the official proxy: the https_proxy configuration key,
 * or else HTTPS_PROXY / https_proxy from the environment, for https://
 * origins; NO_PROXY / no_proxy (or the no_proxy key) excludes hosts;
 * localhost and loopback addresses are never proxied.  The worker opens
 * the CONNECT tunnel; TLS stays end to end from keyd to the real host.
 */
#ifndef PM_EGRESS_H
#define PM_EGRESS_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct origin;

struct proxy {
	char		host[256];
	uint16_t	port;
	char		*auth;		/* base64 of "user:password", or NULL */
};

/*
 * http://[user[:password]@]host[:port] (the scheme may be left out, as
 * Go allows; the port defaults to 80).  -1 with err set otherwise.
 */
int	proxy_parse(const char *url, struct proxy *, char *err, size_t errlen);
void	proxy_clear(struct proxy *);
/*
 * Does the NO_PROXY list exclude host:port?  Entries are host names
 * (matching the name and its subdomains; a leading "." subdomains only),
 * IP addresses, CIDR prefixes, each optionally with :port, or "*".
 */
int	no_proxy_match(const char *list, const char *host, uint16_t port);
/* The proxy an origin goes through (filled in), 0; or 1 for none. */
int	egress_proxy_for(const struct config *, const struct origin *,
	    struct proxy *);
/* Fill https_proxy and no_proxy from the environment where unset. */
void	egress_from_environment(struct config *);

#endif
