/*
 * /etc/privatemode.conf: one "key value" pair per line, '#' starts a
 * comment, a value may be double-quoted.  Keys are case-insensitive, an
 * unknown key, a bad value or a repeated key is an error reported with
 * file:line.  Every key is described once, in CONFIG_KEYS below; the
 * parser, the IPC marshalling, the command-line overrides and the key list
 * the man-page test compares against are all generated from that table.
 */
#ifndef PM_CONF_H
#define PM_CONF_H

#include <stdint.h>

#include "log.h"

struct buf;
struct msgr;

/* Value kinds. */
#define K_STR		1	/* char *, NULL when unset */
#define K_SECRET	2	/* char *, literal or "@file"; never leaves the parent except to keyd */
#define K_BOOL		3	/* int */
#define K_INT		4	/* long long, within [min, max] */
#define K_DURATION	5	/* int64_t milliseconds */
#define K_SIZE		6	/* uint64_t bytes */
#define K_LIST		7	/* struct strlist, repeatable */
#define K_LOGLEVEL	8	/* int, syslog priority */
#define K_LOGFORMAT	9	/* int, enum log_format */

/* Flags. */
#define CF_RESTART	0x01	/* a reload cannot change it */
#define CF_TESTONLY	0x02	/* for tests; loud warning when set */
#define CF_HIDDEN	0x04	/* official hidden flag */

/*
 * X(key, kind, default, min, max, flags, official long flag or NULL)
 * Keep in the order of privatemode.conf(5).
 */
#define CONFIG_KEYS(X)							\
	X(api_key,			K_SECRET,   NULL,		0, 0,	0,	"apiKey") \
	X(api_endpoint,			K_STR,	    "api.privatemode.ai:443", 0, 0, 0,	"apiEndpoint") \
	X(listen,			K_LIST,	    NULL,		0, 0,	CF_RESTART, NULL) \
	X(port,				K_STR,	    "8080",		0, 0,	CF_RESTART, "port") \
	X(workspace,			K_STR,	    "/var/lib/privatemode", 0, 0, 0,	"workspace") \
	X(manifest_path,		K_STR,	    NULL,		0, 0,	0,	"manifestPath") \
	X(cdn_base_url,			K_STR,	    "https://cdn.confidential.cloud/privatemode/v2", 0, 0, CF_HIDDEN, "cdnBaseURL") \
	X(nvidia_ocsp_allow_unknown,	K_BOOL,	    "yes",		0, 0,	0,	"nvidiaOCSPAllowUnknown") \
	X(nvidia_ocsp_revoked_grace_period, K_INT,  "48",		0, 876000, 0,	"nvidiaOCSPRevokedGracePeriod") \
	X(shared_prompt_cache,		K_BOOL,	    "no",		0, 0,	0,	"sharedPromptCache") \
	X(prompt_cache_salt,		K_SECRET,   NULL,		0, 0,	0,	"promptCacheSalt") \
	X(tls_cert,			K_STR,	    NULL,		0, 0,	0,	"tlsCertPath") \
	X(tls_key,			K_STR,	    NULL,		0, 0,	0,	"tlsKeyPath") \
	X(dump_requests,		K_BOOL,	    "no",		0, 0,	0,	"dumpRequests") \
	X(log_level,			K_LOGLEVEL, "info",		0, 0,	0,	"log-level") \
	X(log_format,			K_LOGFORMAT, "text",		0, 0,	0,	"log-format") \
	X(insecure_api_connection,	K_BOOL,	    "no",		0, 0,	CF_TESTONLY | CF_HIDDEN, "insecureAPIConnection") \
	X(ca_file,			K_STR,	    NULL,		0, 0,	0,	NULL) \
	X(https_proxy,			K_STR,	    NULL,		0, 0,	0,	NULL) \
	X(no_proxy,			K_STR,	    NULL,		0, 0,	0,	NULL) \
	X(amd_cert_chain_genoa,		K_STR,	    "/etc/privatemode/amd/genoa-cert-chain.pem", 0, 0, 0, NULL) \
	X(amd_cert_chain_milan,		K_STR,	    "/etc/privatemode/amd/milan-cert-chain.pem", 0, 0, 0, NULL) \
	X(amd_cert_chain_turin,		K_STR,	    "/etc/privatemode/amd/turin-cert-chain.pem", 0, 0, 0, NULL) \
	X(pcs_base_url,			K_STR,	    "https://api.trustedservices.intel.com", 0, 0, 0, NULL) \
	X(pcs_root_crl_url,		K_STR,	    "https://certificates.trustedservices.intel.com/IntelSGXRootCA.der", 0, 0, 0, NULL) \
	X(test_trust_any_amd_root,	K_BOOL,	    "no",		0, 0,	CF_TESTONLY, NULL) \
	X(test_kds_base_url,		K_STR,	    NULL,		0, 0,	CF_TESTONLY, NULL) \
	X(test_intel_root_ca,		K_STR,	    NULL,		0, 0,	CF_TESTONLY, NULL) \
	X(test_secret_lifetime,		K_DURATION, "45m",		0, 0,	CF_TESTONLY, NULL) \
	X(workers,			K_INT,	    "0",		0, 256,	0,	NULL) \
	X(user,				K_STR,	    PM_DEFAULT_USER,	0, 0,	CF_RESTART, NULL) \
	X(chroot,			K_BOOL,	    "yes",		0, 0,	CF_RESTART, NULL) \
	X(chroot_dir,			K_STR,	    "/run/privatemoded/empty", 0, 0, CF_RESTART, NULL) \
	X(max_connections,		K_INT,	    "1024",		1, 1000000, 0,	NULL) \
	X(max_connections_per_address,	K_INT,	    "256",		0, 1000000, 0,	NULL) \
	X(max_body_size,		K_SIZE,	    "64M",		0, 0,	0,	NULL) \
	X(max_body_buffer,		K_SIZE,	    "256M",		0, 0,	0,	NULL) \
	X(max_header_size,		K_SIZE,	    "64k",		0, 0,	0,	NULL) \
	X(client_header_timeout,	K_DURATION, "30s",		0, 0,	0,	NULL) \
	X(client_body_timeout,		K_DURATION, "60s",		0, 0,	0,	NULL) \
	X(client_body_deadline,		K_DURATION, "300s",		0, 0,	0,	NULL) \
	X(keepalive_timeout,		K_DURATION, "75s",		0, 0,	0,	NULL) \
	X(upstream_http2,		K_STR,	    "auto",		0, 0,	0,	NULL) \
	X(upstream_connect_timeout,	K_DURATION, "10s",		0, 0,	0,	NULL) \
	X(upstream_first_byte_timeout,	K_DURATION, "30m",		0, 0,	0,	NULL) \
	X(stream_idle_timeout,		K_DURATION, "300s",		0, 0,	0,	NULL) \
	X(shutdown_timeout,		K_DURATION, "30s",		0, 0,	0,	NULL) \
	X(metrics_listen,		K_STR,	    "127.0.0.1:9464",	0, 0,	CF_RESTART, NULL) \
	X(client_auth,			K_STR,	    "off",		0, 0,	0,	NULL) \
	X(client_tokens,		K_STR,	    "/etc/privatemode/clients", 0, 0, 0, NULL) \
	X(client_rate_limit,		K_STR,	    "none",		0, 0,	0,	NULL) \
	X(client_max_streams,		K_INT,	    "0",		0, 1000000, 0,	NULL) \
	X(address_rate_limit,		K_STR,	    "none",		0, 0,	0,	NULL) \
	X(address_max_streams,		K_INT,	    "0",		0, 1000000, 0,	NULL)

struct strlist {
	char	**v;
	int	  n;
};

#define CFG_TYPE_K_STR		char *
#define CFG_TYPE_K_SECRET	char *
#define CFG_TYPE_K_BOOL		int
#define CFG_TYPE_K_INT		long long
#define CFG_TYPE_K_DURATION	int64_t
#define CFG_TYPE_K_SIZE		uint64_t
#define CFG_TYPE_K_LIST		struct strlist
#define CFG_TYPE_K_LOGLEVEL	int
#define CFG_TYPE_K_LOGFORMAT	int

struct config {
#define CFG_FIELD(key, kind, def, min, max, flags, flag) CFG_TYPE_##kind key;
	CONFIG_KEYS(CFG_FIELD)
#undef CFG_FIELD
	/* Where each key was set (0 = default), for error messages. */
	int	 set_line[64];
	char	*path;
};

/* A command-line override in the official proxy's --name=value style. */
struct override {
	char	*key;
	char	*value;
};

struct overrides {
	struct override	*v;
	int		 n;
};

struct config	*config_new(void);
void		 config_free(struct config *);
/* Parse a file (missing file: error unless allow_missing). */
int		 config_parse_file(struct config *, const char *path,
		    int allow_missing);
/* Parse a buffer; name is used in messages ("file:line: ..."). */
int		 config_parse_buffer(struct config *, const char *name,
		    char *buf, size_t len);
int		 config_set(struct config *, const char *key, const char *value,
		    const char *where);
int		 config_apply_overrides(struct config *,
		    const struct overrides *);
/* Cross-key checks after parsing; reports every problem found. */
int		 config_validate(struct config *);
/* Non-zero if the file or the command line set key (not its default). */
int		 config_is_set(const struct config *, const char *key);
/* Warn about test-only keys that are set (the daemon logs this loudly). */
void		 config_warn_testonly(const struct config *);
/* Resolved worker count (0 = number of online CPUs). */
int		 config_workers(const struct config *);
/* Keys a reload cannot change: warn and keep the running values. */
void		 config_carry_restart_keys(struct config *new,
		    const struct config *old);

/* Non-secret fields to a child, and back. */
void		 config_marshal(const struct config *, struct buf *);
int		 config_unmarshal(struct config *, struct msgr *);

/* Map an official long flag (without "--") to a config key; NULL if none. */
const char	*config_flag_to_key(const char *flag, int *is_bool);
/* Every key, one per line (used by tests against the man page). */
void		 config_print_keys(void);

/* host[:port] into parts; port defaults to defport. */
int		 split_hostport(const char *, char **host, char **port,
		    const char *defport);

void		 overrides_add(struct overrides *, const char *, const char *);
void		 overrides_free(struct overrides *);

#endif
