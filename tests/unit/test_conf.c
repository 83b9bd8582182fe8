/* Config parser: every key, every error path with file:line, marshalling. */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "ipc.h"
#include "log.h"
#include "t.h"
#include "util.h"

T_GLOBALS;

static char	last_msg[4096];
static int	nmsgs;

static void
capture(int prio, const char *msg, void *arg)
{
	(void)prio;
	(void)arg;
	strlcpy(last_msg, msg, sizeof(last_msg));
	nmsgs++;
}

static int
parse(struct config *c, const char *text)
{
	char	*buf = xstrdup(text);
	int	 rv;

	last_msg[0] = '\0';
	nmsgs = 0;
	c->path = xstrdup("t.conf");
	rv = config_parse_buffer(c, "t.conf", buf, strlen(buf));
	free(buf);
	return rv;
}

/* Parse text into a fresh config and expect failure with this message. */
static void
expect_error(const char *text, const char *msg)
{
	struct config	*c = config_new();

	T_EQ_INT(parse(c, text), -1);
	T_EQ_STR(last_msg, msg);
	config_free(c);
}

static void
expect_invalid(const char *text, const char *msg)
{
	struct config	*c = config_new();

	T_EQ_INT(parse(c, text), 0);
	last_msg[0] = '\0';
	T_EQ_INT(config_validate(c), -1);
	T_EQ_STR(last_msg, msg);
	config_free(c);
}

static void
test_defaults(void)
{
	struct config	*c = config_new();

	T_BEGIN("defaults");
	T_CHECK(c->api_key == NULL);
	T_EQ_STR(c->api_endpoint, "api.privatemode.ai:443");
	T_EQ_STR(c->port, "8080");
	T_EQ_INT(c->listen.n, 0);
	T_EQ_STR(c->workspace, "/var/lib/privatemode");
	T_CHECK(c->manifest_path == NULL);
	T_EQ_STR(c->cdn_base_url, "https://cdn.confidential.cloud/privatemode/v2");
	T_EQ_STR(c->pcs_base_url, "https://api.trustedservices.intel.com");
	T_EQ_STR(c->pcs_root_crl_url, "https://certificates.trustedservices."
	    "intel.com/IntelSGXRootCA.der");
	T_CHECK(c->test_intel_root_ca == NULL);
	T_EQ_INT(c->nvidia_ocsp_allow_unknown, 1);
	T_EQ_INT(c->nvidia_ocsp_revoked_grace_period, 48);
	T_EQ_INT(c->shared_prompt_cache, 0);
	T_EQ_INT(c->dump_requests, 0);
	T_EQ_INT(c->log_level, LOG_INFO);
	T_EQ_INT(c->log_format, LOG_FORMAT_TEXT);
	T_EQ_INT(c->insecure_api_connection, 0);
	T_EQ_INT(c->workers, 0);
	T_CHECK(config_workers(c) >= 1);
	T_EQ_STR(c->user, PM_DEFAULT_USER);
	T_EQ_INT(c->max_connections, 1024);
	T_CHECK(c->max_body_size == 64ULL << 20);
	T_CHECK(c->max_header_size == 64ULL << 10);
	T_EQ_INT(c->client_header_timeout, 30000);
	T_EQ_INT(c->client_body_timeout, 60000);
	T_EQ_INT(c->keepalive_timeout, 75000);
	T_EQ_INT(c->upstream_connect_timeout, 10000);
	T_EQ_INT(c->upstream_first_byte_timeout, 1800000);
	T_EQ_INT(c->stream_idle_timeout, 300000);
	T_EQ_INT(c->shutdown_timeout, 30000);
	T_EQ_STR(c->metrics_listen, "127.0.0.1:9464");
	T_EQ_INT(config_validate(c), 0);
	config_free(c);
}

static void
test_every_key(void)
{
	struct config	*c = config_new();
	const char	*text =
	    "# a full configuration\n"
	    "api_key @/etc/privatemode/api-key\n"
	    "api_endpoint 127.0.0.1:8443\n"
	    "listen 127.0.0.1\n"
	    "listen [::1]:9000\n"
	    "port 8081\n"
	    "workspace /var/tmp/pm\n"
	    "manifest_path /etc/privatemode/manifest.json\n"
	    "cdn_base_url http://127.0.0.1:9/cdn\n"
	    "nvidia_ocsp_allow_unknown no\n"
	    "nvidia_ocsp_revoked_grace_period 0\n"
	    "shared_prompt_cache yes\n"
	    "prompt_cache_salt \"p1234567890123456789012345678912\"\n"
	    "tls_cert /etc/ssl/c.pem\n"
	    "tls_key /etc/ssl/k.pem\n"
	    "dump_requests yes\n"
	    "log_level debug\n"
	    "LOG_FORMAT json   # keys are case-insensitive\n"
	    "insecure_api_connection true\n"
	    "ca_file /etc/ssl/test-ca.pem\n"
	    "workers 3\n"
	    "user nobody\n"
	    "chroot_dir /var/empty\n"
	    "max_connections 0x10\n"
	    "max_connections_per_address 7\n"
	    "max_body_size 8M\n"
	    "max_body_buffer 9M\n"
	    "max_header_size 16k\n"
	    "client_header_timeout 250ms\n"
	    "client_body_timeout 2m\n"
	    "client_body_deadline 3m\n"
	    "keepalive_timeout 5\n"
	    "upstream_connect_timeout 1s\n"
	    "upstream_first_byte_timeout 1h\n"
	    "stream_idle_timeout 90s\n"
	    "shutdown_timeout 0\n"
	    "metrics_listen none\r\n";

	T_BEGIN("every key");
	T_EQ_INT(parse(c, text), 0);
	T_EQ_STR(c->api_key, "@/etc/privatemode/api-key");
	T_EQ_STR(c->api_endpoint, "127.0.0.1:8443");
	T_EQ_INT(c->listen.n, 2);
	T_EQ_STR(c->listen.v[0], "127.0.0.1");
	T_EQ_STR(c->listen.v[1], "[::1]:9000");
	T_EQ_STR(c->port, "8081");
	T_EQ_STR(c->workspace, "/var/tmp/pm");
	T_EQ_STR(c->manifest_path, "/etc/privatemode/manifest.json");
	T_EQ_STR(c->cdn_base_url, "http://127.0.0.1:9/cdn");
	T_EQ_INT(c->nvidia_ocsp_allow_unknown, 0);
	T_EQ_INT(c->nvidia_ocsp_revoked_grace_period, 0);
	T_EQ_INT(c->shared_prompt_cache, 1);
	T_EQ_STR(c->prompt_cache_salt, "p1234567890123456789012345678912");
	T_EQ_STR(c->tls_cert, "/etc/ssl/c.pem");
	T_EQ_STR(c->tls_key, "/etc/ssl/k.pem");
	T_EQ_INT(c->dump_requests, 1);
	T_EQ_INT(c->log_level, LOG_DEBUG);
	T_EQ_INT(c->log_format, LOG_FORMAT_JSON);
	T_EQ_INT(c->insecure_api_connection, 1);
	T_EQ_STR(c->ca_file, "/etc/ssl/test-ca.pem");
	T_EQ_INT(c->workers, 3);
	T_EQ_INT(config_workers(c), 3);
	T_EQ_STR(c->user, "nobody");
	T_EQ_STR(c->chroot_dir, "/var/empty");
	T_EQ_INT(c->max_connections, 16);
	T_EQ_INT(c->max_connections_per_address, 7);
	T_CHECK(c->max_body_size == 8ULL << 20);
	T_CHECK(c->max_body_buffer == 9ULL << 20);
	T_CHECK(c->max_header_size == 16ULL << 10);
	T_EQ_INT(c->client_header_timeout, 250);
	T_EQ_INT(c->client_body_timeout, 120000);
	T_EQ_INT(c->client_body_deadline, 180000);
	T_EQ_INT(c->keepalive_timeout, 5000);
	T_EQ_INT(c->upstream_connect_timeout, 1000);
	T_EQ_INT(c->upstream_first_byte_timeout, 3600000);
	T_EQ_INT(c->stream_idle_timeout, 90000);
	T_EQ_INT(c->shutdown_timeout, 0);
	T_EQ_STR(c->metrics_listen, "none");
#ifdef TEST_HOOKS
	T_EQ_INT(config_validate(c), 0);
#else
	/* insecure_api_connection and the http:// CDN: test_switches(). */
	T_EQ_INT(config_validate(c), -1);
#endif
	config_free(c);
}

/*
 * The settings only tests need: a --enable-test-hooks build takes them, a
 * production build refuses each with an error naming it.
 */
static void
test_switches(void)
{
	static const struct {
		const char	*text;
		const char	*msg;
	} t[] = {
		{ "insecure_api_connection yes\n",
		    "t.conf:1: insecure_api_connection: test-only setting "
		    "refused: it turns off the verification of the API's TLS "
		    "certificate, and this build (configured without "
		    "--enable-test-hooks) is for production" },
		{ "test_trust_any_amd_root yes\n",
		    "t.conf:1: test_trust_any_amd_root: test-only setting "
		    "refused: it accepts AMD certificate chains that are not "
		    "AMD's, and this build (configured without "
		    "--enable-test-hooks) is for production" },
		{ "cdn_base_url http://127.0.0.1:9/cdn\n",
		    "t.conf:1: cdn_base_url: must be an https:// URL (plain "
		    "http:// is for tests, in a build configured with "
		    "--enable-test-hooks)" },
		{ "test_intel_root_ca /tmp/intel-root.pem\n",
		    "t.conf:1: test_intel_root_ca: test-only setting refused: "
		    "it replaces Intel's SGX root CA, and this build "
		    "(configured without --enable-test-hooks) is for "
		    "production" },
		{ "pcs_base_url http://127.0.0.1:9\n",
		    "t.conf:1: pcs_base_url: must be an https:// URL (plain "
		    "http:// is for tests, in a build configured with "
		    "--enable-test-hooks)" },
		{ "pcs_root_crl_url http://127.0.0.1:9/IntelSGXRootCA.der\n",
		    "t.conf:1: pcs_root_crl_url: must be an https:// URL (plain "
		    "http:// is for tests, in a build configured with "
		    "--enable-test-hooks)" },
	};
	struct config	*c;
	size_t		 i;

#ifdef TEST_HOOKS
	T_BEGIN("test switches: a test build takes them");
#else
	T_BEGIN("test switches: a production build refuses them");
#endif
	for (i = 0; i < nitems(t); i++) {
#ifdef TEST_HOOKS
		c = config_new();
		T_EQ_INT(parse(c, t[i].text), 0);
		T_EQ_INT(config_validate(c), 0);
		config_free(c);
#else
		expect_invalid(t[i].text, t[i].msg);
#endif
	}
	/* "no" and https are fine everywhere. */
	c = config_new();
	T_EQ_INT(parse(c, "insecure_api_connection no\ntest_trust_any_amd_root "
	    "no\ncdn_base_url https://cdn.example/v2\n"), 0);
	T_EQ_INT(config_validate(c), 0);
	config_free(c);
}

static void
test_syntax(void)
{
	struct config	*c = config_new();

	T_BEGIN("quotes and comments");
	T_EQ_INT(parse(c, "  # indented comment\n\n\t\n"
	    "api_key \"sk-#not-a-comment \\\"x\\\"\"  # trailing\n"
	    "user  pm   # comment after value\n"), 0);
	T_EQ_STR(c->api_key, "sk-#not-a-comment \"x\"");
	T_EQ_STR(c->user, "pm");
	config_free(c);

	c = config_new();
	T_EQ_INT(parse(c, "api_key \"\"\n"), 0);
	T_EQ_STR(c->api_key, "");
	config_free(c);
}

static void
test_errors(void)
{
	T_BEGIN("errors carry file:line");
	expect_error("user x\n\nbogus 1\n", "t.conf:3: unknown key \"bogus\"");
	expect_error("user a\nuser b\n",
	    "t.conf:2: duplicate key \"user\" (first set at line 1)");
	expect_error("dump_requests maybe\n",
	    "t.conf:1: dump_requests: bad value \"maybe\": expected yes or no");
	expect_error("workers 300\n",
	    "t.conf:1: workers: bad value \"300\": too large");
	expect_error("workers -1\n",
	    "t.conf:1: workers: bad value \"-1\": too small");
	expect_error("max_connections 12abc\n",
	    "t.conf:1: max_connections: bad value \"12abc\": not a number");
	expect_error("shutdown_timeout 5 minutes\n",
	    "t.conf:1: shutdown_timeout: bad value \"5 minutes\": bad unit (use ms, s, m or h)");
	expect_error("shutdown_timeout soon\n",
	    "t.conf:1: shutdown_timeout: bad value \"soon\": not a duration");
	expect_error("max_body_size 10T\n",
	    "t.conf:1: max_body_size: bad value \"10T\": bad unit (use k, M or G)");
	expect_error("log_level loud\n",
	    "t.conf:1: log_level: bad value \"loud\": expected debug, info, warn or error");
	expect_error("log_format xml\n",
	    "t.conf:1: log_format: bad value \"xml\": expected text or json");
	expect_error("user \"abc\n", "t.conf:1: unterminated quoted value");
	expect_error("user \"abc\" def\n", "t.conf:1: text after quoted value");
	expect_error("user\n", "t.conf:1: missing value");
	expect_error("user   # only a comment\n", "t.conf:1: missing value");
	expect_error("user a\x01" "b\n", "t.conf:1: control character in value");
	expect_error("us\x02" "er a\n", "t.conf:1: control character in key");
	/* A secret's bad value is never echoed. */
	expect_error("nvidia_ocsp_revoked_grace_period 1000000\n",
	    "t.conf:1: nvidia_ocsp_revoked_grace_period: bad value \"1000000\": too large");
	{
		struct config	*c = config_new();
		char		 buf[] = "user a\0b\n";

		T_EQ_INT(config_parse_buffer(c, "t.conf", buf, sizeof(buf) - 1), -1);
		T_EQ_STR(last_msg, "t.conf: NUL byte in file");
		config_free(c);
	}
	{
		/* All errors of a file are reported, not just the first. */
		struct config	*c = config_new();

		T_EQ_INT(parse(c, "a 1\nb 2\nuser x\nc 3\n"), -1);
		T_EQ_INT(nmsgs, 3);
		T_EQ_STR(last_msg, "t.conf:4: unknown key \"c\"");
		config_free(c);
	}
}

static void
test_validation(void)
{
	T_BEGIN("cross-key validation");
	expect_invalid("tls_cert /a\n", "TLS certificate and key must be "
	    "provided together (tls_cert and tls_key)");
	expect_invalid("tls_key /a\n", "TLS certificate and key must be "
	    "provided together (tls_cert and tls_key)");
	expect_invalid("user x\nprompt_cache_salt abc\n",
	    "t.conf:2: prompt_cache_salt: getting prompt cache salt: "
	    "promptCacheSalt is set but sharedPromptCache is not enabled");
	expect_invalid("nvidia_ocsp_allow_unknown no\n",
	    "unknown OCSP statuses are disallowed, but revoked statuses are "
	    "allowed. This is likely to be an erroneous configuration");
	expect_invalid("api_endpoint host:99999\n",
	    "t.conf:1: api_endpoint: bad address \"host:99999\"");
	expect_invalid("api_endpoint :443\n",
	    "t.conf:1: api_endpoint: bad address \":443\"");
	expect_invalid("api_endpoint ::1\n",
	    "t.conf:1: api_endpoint: bad address \"::1\"");
	expect_invalid("port http\n", "t.conf:1: port: bad port \"http\"");
	expect_invalid("port 0\n", "t.conf:1: port: bad port \"0\"");
	expect_invalid("listen 1.2.3.4:x\n",
	    "t.conf:1: listen: bad address \"1.2.3.4:x\"");
	expect_invalid("metrics_listen localhost:99999\n",
	    "t.conf:1: metrics_listen: bad address \"localhost:99999\"");
	expect_invalid("listen [::1\n",
	    "t.conf:1: listen: bad address \"[::1\"");
#ifdef TEST_HOOKS
	expect_invalid("cdn_base_url ftp://x\n",
	    "t.conf:1: cdn_base_url: must be an http:// or https:// URL");
	expect_invalid("pcs_base_url ftp://x\n",
	    "t.conf:1: pcs_base_url: must be an https:// URL (or http://, "
	    "in this build with test hooks)");
#else
	expect_invalid("pcs_base_url ftp://x\n",
	    "t.conf:1: pcs_base_url: must be an https:// URL (plain http:// "
	    "is for tests, in a build configured with --enable-test-hooks)");
#endif
	expect_invalid("pcs_root_crl_url https://\n",
	    "t.conf:1: pcs_root_crl_url: not a URL with a host (at most 255 "
	    "characters)");
	expect_invalid("max_body_size 8M\nmax_body_buffer 4M\n",
	    "t.conf:2: max_body_buffer: must be at least max_body_size "
	    "(8388608 bytes): a body of the largest size could never be "
	    "received");
	expect_invalid("client_body_deadline 500ms\n",
	    "t.conf:1: client_body_deadline: must be at least 1s");
	expect_invalid("chroot_dir relative\n",
	    "t.conf:1: chroot_dir: must be an absolute path");
	expect_invalid("max_body_size 100\n",
	    "t.conf:1: max_body_size: must be between 1k and 256M");
	expect_invalid("max_header_size 2M\n",
	    "t.conf:1: max_header_size: must be between 1k and 1M");
	{
		struct config	*c = config_new();

		T_EQ_INT(parse(c, "workspace rel/dir\n"), 0);
		T_EQ_INT(config_validate(c), 0);
		T_CHECK(c->workspace[0] == '/');
		T_CHECK(strstr(c->workspace, "/rel/dir") != NULL);
		config_free(c);
	}
}

static void
test_overrides(void)
{
	struct config		*c = config_new();
	struct overrides	 o = { NULL, 0 };
	const char		*key;
	int			 is_bool = -1;

	T_BEGIN("official flags as overrides");
	key = config_flag_to_key("apiKey", &is_bool);
	T_EQ_STR(key, "api_key");
	T_EQ_INT(is_bool, 0);
	key = config_flag_to_key("sharedPromptCache", &is_bool);
	T_EQ_STR(key, "shared_prompt_cache");
	T_EQ_INT(is_bool, 1);
	T_CHECK(config_flag_to_key("apikey", &is_bool) == NULL);
	T_CHECK(config_flag_to_key("workers", &is_bool) == NULL);
	T_EQ_STR(config_flag_to_key("log-level", &is_bool), "log_level");
	T_EQ_STR(config_flag_to_key("tlsCertPath", &is_bool), "tls_cert");

	T_EQ_INT(parse(c, "port 9000\nlisten 10.0.0.1\nlisten 10.0.0.2\n"), 0);
	overrides_add(&o, "port", "9001");
	overrides_add(&o, "listen", "127.0.0.1");
	overrides_add(&o, "listen", "127.0.0.2");
	T_EQ_INT(config_apply_overrides(c, &o), 0);
	T_EQ_STR(c->port, "9001");
	T_EQ_INT(c->listen.n, 2);
	T_EQ_STR(c->listen.v[0], "127.0.0.1");
	T_EQ_STR(c->listen.v[1], "127.0.0.2");
	overrides_free(&o);
	overrides_add(&o, "workers", "lots");
	T_EQ_INT(config_apply_overrides(c, &o), -1);
	T_EQ_STR(last_msg, "command line: workers: bad value \"lots\": not a number");
	overrides_free(&o);
	config_free(c);
}

static void
test_marshal(void)
{
	struct config	*a = config_new(), *b = config_new();
	struct buf	 w;
	struct msgr	 r;

	T_BEGIN("marshal keeps secrets in the parent");
	T_EQ_INT(parse(a, "api_key sk-very-secret\nlisten 127.0.0.1:1\n"
	    "listen 127.0.0.1:2\nworkers 2\nmax_body_size 2M\n"
	    "shutdown_timeout 3s\nlog_format json\n"), 0);
	buf_init(&w, 0);
	config_marshal(a, &w);
	T_CHECK(memmem(w.p, w.len, "sk-very-secret", 14) == NULL);
	msgr_init(&r, w.p, w.len);
	T_EQ_INT(config_unmarshal(b, &r), 0);
	T_EQ_INT(msg_end(&r), 0);
	T_CHECK(b->api_key != NULL && b->api_key[0] == '\0');
	T_CHECK(b->prompt_cache_salt == NULL);
	T_EQ_INT(b->listen.n, 2);
	T_EQ_STR(b->listen.v[1], "127.0.0.1:2");
	T_EQ_INT(b->workers, 2);
	T_CHECK(b->max_body_size == 2ULL << 20);
	T_EQ_INT(b->shutdown_timeout, 3000);
	T_EQ_INT(b->log_format, LOG_FORMAT_JSON);
	T_EQ_STR(b->path, "t.conf");

	/* Truncated config fails cleanly. */
	msgr_init(&r, w.p, w.len / 2);
	T_CHECK(config_unmarshal(b, &r) == -1 || msg_end(&r) == -1);
	buf_free(&w);
	config_free(a);
	config_free(b);
}

int
main(void)
{
	log_init(1, LOG_DEBUG, LOG_FORMAT_TEXT);
	log_setsink(capture, NULL);
	test_defaults();
	test_every_key();
	test_syntax();
	test_errors();
	test_validation();
	test_switches();
	test_overrides();
	test_marshal();
	T_DONE();
}
