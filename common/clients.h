/*
 * Client tokens and limits (client_auth, privatemode.conf(5)): the token
 * file the parent reads, and the access policy it sends every worker in
 * MSG_CLIENTS (common/ipc.h).  A worker gets names, SHA-256 hashes of the
 * tokens, expiry and limits; a token in clear exists only in the client
 * and in the output of "privatemoded -G".
 *
 * The token file has one client a line:
 *
 *	name sha256:<64 hex digits> [expires=DATE] [rate=N/DURATION|none]
 *	    [streams=N]
 *
 * '#' starts a comment.  A name may have several lines (a token being
 * rotated): they share the client's limits, which must then agree.
 */
#ifndef PM_CLIENTS_H
#define PM_CLIENTS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct msgr;

#define CLIENT_NAME_MAX		64	/* [A-Za-z0-9][A-Za-z0-9._-]* */
#define CLIENTS_MAX		4096	/* lines in the token file */
#define CLIENT_TOKEN_MAX	256	/* longer presented tokens are wrong */
#define CLIENT_HASH_LEN		32	/* SHA-256 */
#define CLIENT_TOKEN_PREFIX	"pmc_"
/* "pmc_" and 32 random bytes in unpadded base64url. */
#define CLIENT_TOKEN_LEN	(sizeof(CLIENT_TOKEN_PREFIX) - 1 + 43)

/* At most n requests per ms milliseconds (a token bucket); n 0: none. */
struct rate {
	uint32_t	n;
	int64_t		ms;
};

#define RATE_N_MAX	1000000
#define RATE_MS_MAX	(24LL * 3600 * 1000)

struct client_ent {
	char		name[CLIENT_NAME_MAX + 1];
	uint8_t		hash[CLIENT_HASH_LEN];
	int64_t		expires;	/* Unix time it stops working; 0: never */
	struct rate	rate;		/* in force: its own, or the default */
	uint32_t	streams;	/* in force; 0: no limit */
};

enum client_auth {
	CA_OFF = 0,
	CA_TOKENS
};

/* MSG_CLIENTS: what a worker needs to admit a request. */
struct access_policy {
	uint8_t			 mode;		/* enum client_auth */
	uint32_t		 workers;	/* the limits are shared by */
	struct rate		 addr_rate;	/* address_rate_limit */
	uint32_t		 addr_streams;	/* address_max_streams */
	struct client_ent	*v;
	uint32_t		 n;
};

/* "none", or "N/DURATION" (N 1..RATE_N_MAX, 1ms..24h); -1 if bad. */
int	rate_parse(const char *, struct rate *);
/* "60/1m" (or "none") into buf. */
void	rate_format(const struct rate *, char *, size_t);
/* 1 if s is a client name. */
int	client_name_ok(const char *);
/* "off" or "tokens"; -1 if neither. */
int	client_auth_parse(const char *);

/*
 * The token file's text (NUL-terminated, len bytes) into v/n, with the
 * default limits filled in where a line has none.  Every problem is
 * logged as "path:line: ..."; -1 if there was any.
 */
int	clients_parse(const char *path, const char *text, size_t len,
	    const struct rate *def_rate, uint32_t def_streams,
	    struct client_ent **v, uint32_t *n);

/* MSG_CLIENTS codec; get fails on a short payload or trailing bytes. */
void	access_policy_put(struct buf *, const struct access_policy *);
int	access_policy_get(struct msgr *, struct access_policy *);
void	access_policy_free(struct access_policy *);

/*
 * A new token (CLIENT_TOKEN_LEN characters and a NUL) and the file line
 * "name sha256:<hex>" for it.  libsodium must be initialised.
 */
void	client_token_new(char *token, size_t, const char *name, char *line,
	    size_t);
/* SHA-256 of a presented token. */
void	client_token_hash(const void *, size_t, uint8_t[CLIENT_HASH_LEN]);

#endif
