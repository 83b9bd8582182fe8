/*
 * Egress proxy decisions (common/egress.c) against Go's httpproxy rules:
 * the proxy URL (scheme, userinfo, port), NO_PROXY entries (names with
 * and without a leading dot, IP addresses, CIDR prefixes, ports, "*"),
 * and which origins go through the proxy at all.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "dpmsg.h"
#include "egress.h"
#include "t.h"
#include "util.h"

T_GLOBALS;

static void
test_parse(void)
{
	struct proxy	p;
	char		err[256];

	T_BEGIN("proxy URLs");
	T_EQ_INT(proxy_parse("http://proxy.example:3128", &p, err,
	    sizeof(err)), 0);
	T_EQ_STR(p.host, "proxy.example");
	T_EQ_INT(p.port, 3128);
	T_CHECK(p.auth == NULL);
	proxy_clear(&p);
	/* No scheme: http://, as Go takes it; no port: 80. */
	T_EQ_INT(proxy_parse("proxy.example", &p, err, sizeof(err)), 0);
	T_EQ_INT(p.port, 80);
	proxy_clear(&p);
	T_EQ_INT(proxy_parse("http://u:p@h", &p, err, sizeof(err)), 0);
	T_EQ_STR(p.auth, "dTpw");
	proxy_clear(&p);
	/* Percent-decoded before it is encoded for the header. */
	T_EQ_INT(proxy_parse("http://p%6D:s%2D1@h:1", &p, err, sizeof(err)),
	    0);
	T_EQ_STR(p.auth, "cG06cy0x");
	T_EQ_STR(p.host, "h");
	proxy_clear(&p);
	T_EQ_INT(proxy_parse("http://[::1]:3128/", &p, err, sizeof(err)), 0);
	T_EQ_STR(p.host, "::1");
	proxy_clear(&p);
	T_EQ_INT(proxy_parse("https://h:443", &p, err, sizeof(err)), -1);
	T_CHECK(strstr(err, "only http://") != NULL);
	T_EQ_INT(proxy_parse("socks5://h:1080", &p, err, sizeof(err)), -1);
	T_EQ_INT(proxy_parse("http://u:%zz@h", &p, err, sizeof(err)), -1);
	T_EQ_INT(proxy_parse("http://h:99999", &p, err, sizeof(err)), -1);
	T_EQ_INT(proxy_parse("http://:3128", &p, err, sizeof(err)), -1);
}

static void
test_no_proxy(void)
{
	T_BEGIN("NO_PROXY: names and their subdomains");
	T_CHECK(no_proxy_match("example.com", "example.com", 443));
	T_CHECK(no_proxy_match("example.com", "api.EXAMPLE.com", 443));
	T_CHECK(!no_proxy_match("example.com", "badexample.com", 443));
	T_CHECK(!no_proxy_match(".example.com", "example.com", 443));
	T_CHECK(no_proxy_match(".example.com", "a.example.com", 443));
	T_CHECK(no_proxy_match("*.example.com", "a.example.com", 443));
	T_CHECK(!no_proxy_match("*.example.com", "example.com", 443));
	T_CHECK(no_proxy_match(" other.org , Example.com ", "x.example.com",
	    443));
	T_CHECK(!no_proxy_match(",,", "example.com", 443));
	T_CHECK(!no_proxy_match(NULL, "example.com", 443));

	T_BEGIN("NO_PROXY: ports");
	T_CHECK(no_proxy_match("example.com:8443", "example.com", 8443));
	T_CHECK(!no_proxy_match("example.com:8443", "example.com", 443));
	T_CHECK(no_proxy_match("1.2.3.4:443", "1.2.3.4", 443));
	T_CHECK(!no_proxy_match("1.2.3.4:443", "1.2.3.4", 80));
	T_CHECK(no_proxy_match("[2001:db8::1]:443", "2001:db8::1", 443));

	T_BEGIN("NO_PROXY: addresses and prefixes");
	T_CHECK(no_proxy_match("10.0.0.0/8", "10.1.2.3", 443));
	T_CHECK(!no_proxy_match("10.0.0.0/8", "11.0.0.1", 443));
	T_CHECK(!no_proxy_match("10.0.0.0/8", "ten.example", 443));
	T_CHECK(no_proxy_match("192.168.1.0/24", "192.168.1.77", 443));
	T_CHECK(!no_proxy_match("192.168.1.0/24", "192.168.2.1", 443));
	T_CHECK(no_proxy_match("2001:db8::/32", "2001:db8:1::5", 443));
	T_CHECK(!no_proxy_match("2001:db8::/32", "2001:db9::5", 443));
	T_CHECK(no_proxy_match("1.2.3.4", "1.2.3.4", 443));
	T_CHECK(!no_proxy_match("1.2.3.4", "1.2.3.5", 443));
	/* A name entry never matches an address, nor the reverse. */
	T_CHECK(!no_proxy_match("example.com", "1.2.3.4", 443));
	T_CHECK(!no_proxy_match("1.2.3.4", "example.com", 443));

	T_BEGIN("NO_PROXY: *");
	T_CHECK(no_proxy_match("*", "anything.example", 443));
	T_CHECK(no_proxy_match("x.org,*", "10.0.0.1", 443));
}

static int
proxied(const struct config *c, int tls, const char *host)
{
	struct origin	o;
	struct proxy	p;
	int		rv;

	memset(&o, 0, sizeof(o));
	o.tls = tls;
	strlcpy(o.host, host, sizeof(o.host));
	o.port = 443;
	rv = egress_proxy_for(c, &o, &p) == 0;
	if (rv)
		proxy_clear(&p);
	return rv;
}

static void
test_decision(void)
{
	struct config	*c = config_new();

	T_BEGIN("which origins go through the proxy");
	T_CHECK(!proxied(c, 1, "api.privatemode.ai"));
	c->https_proxy = xstrdup("http://proxy.example:3128");
	T_CHECK(proxied(c, 1, "api.privatemode.ai"));
	T_CHECK(proxied(c, 1, "10.0.0.1"));
	/* Go never proxies loopback, and http:// origins go direct here. */
	T_CHECK(!proxied(c, 1, "localhost"));
	T_CHECK(!proxied(c, 1, "127.0.0.1"));
	T_CHECK(!proxied(c, 1, "127.1.2.3"));
	T_CHECK(!proxied(c, 1, "::1"));
	T_CHECK(!proxied(c, 0, "cdn.example"));
	c->no_proxy = xstrdup(".privatemode.ai");
	T_CHECK(!proxied(c, 1, "api.privatemode.ai"));
	T_CHECK(proxied(c, 1, "kdsintf.amd.com"));
	config_free(c);

	T_BEGIN("the environment, upper case first, where the keys are unset");
	c = config_new();
	setenv("https_proxy", "http://lower:1", 1);
	setenv("HTTPS_PROXY", "http://upper:2", 1);
	setenv("no_proxy", "lower.example", 1);
	egress_from_environment(c);
	T_EQ_STR(c->https_proxy, "http://upper:2");
	T_EQ_STR(c->no_proxy, "lower.example");
	config_free(c);
	c = config_new();
	c->https_proxy = xstrdup("http://configured:3");
	egress_from_environment(c);
	T_EQ_STR(c->https_proxy, "http://configured:3");
	config_free(c);
}

int
main(void)
{
	test_parse();
	test_no_proxy();
	test_decision();
	T_DONE();
}
