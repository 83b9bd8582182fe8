/*
 * keyd's internals shared by its modules: the process state (what the
 * parent handed over), the connections it owns the TLS of, and the entry
 * points of the data path (relay.c), downloads (fetch.c) and the secret
 * lifecycle (secret.c).  Only keyd includes this header.
 */
#ifndef PM_KD_H
#define PM_KD_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "ipc.h"

struct chan;
struct config;
struct event_base;
struct tunnel;
struct msgr;
struct pexch;
struct fetch;

/* Files the parent read for keyd (MSG_KEYD_FILES). */
struct keyd_files {
	int		loaded;
	int		have_ca, have_genoa, have_milan, have_turin;
	int		have_manifest;
	struct buf	ca, genoa, milan, turin, manifest;
};

struct keyd_env {
	struct event_base	*base;
	struct config		*conf;
	struct chan		*parent;
	struct chan		*worker;
	const char		*api_key;	/* sodium_malloc'd, or NULL */
	size_t			 api_key_len;
	const char		*salt;		/* default cache salt, or NULL */
	size_t			 salt_len;
	struct keyd_files	*files;
	char			*api_host;	/* from api_endpoint */
	uint16_t		 api_port;
};

extern struct keyd_env	*kenv;

/* A connection keyd holds the TLS session of. */
enum ktun_kind { KT_RELAY, KT_FETCH };

struct ktun {
	struct ktun	*next;		/* hash chain */
	uint32_t	 id;
	enum ktun_kind	 kind;
	struct tunnel	*t;
	int		 exchanges;	/* completed on this connection */
	int		 ready_sent;	/* UPF_READY told to the worker */
	struct pexch	*px;		/* KT_RELAY: the current exchange */
	struct fetch	*fx;		/* KT_FETCH: its request */
};

struct ktun	*ktun_new(uint32_t id, enum ktun_kind, const char *host,
		    int tls, int verify);
struct ktun	*ktun_find(uint32_t id);
void		 ktun_free(struct ktun *);

/*
 * MSG_UP_IO under construction: events are appended, then ktun_flush
 * sends the TLS bytes waiting for the socket plus the events.
 */
struct upio {
	struct buf	ev;
	uint32_t	nev;
	uint8_t		flags;
};

void	upio_init(struct upio *);
void	upio_free(struct upio *);
void	upio_head(struct upio *, int status, const char *const *names,
	    const char *const *values, int n);
void	upio_data(struct upio *, const void *, size_t);
void	upio_end(struct upio *);
void	upio_error(struct upio *, int status, const char *type,
	    const char *code, const char *fmt, ...)
	    __attribute__((__format__(printf, 5, 6)));
void	upio_retry(struct upio *, int reason, uint32_t delay_ms);
void	ktun_flush(struct ktun *, struct upio *);

/* relay.c: proxied client requests. */
int	relay_seal(struct msgr *);
void	relay_input(struct ktun *, const uint8_t *, size_t);
void	relay_eof(struct ktun *, const char *why);
void	relay_close(struct ktun *);
/* Requests waiting for a secret: run or fail them now. */
void	relay_secret_ready(void);
void	relay_secret_failed(int status, const char *code, const char *msg);

/* fetch.c: keyd's own HTTP requests (attest, secret, manifest, KDS). */
typedef void	(*fetch_cb)(int status, const uint8_t *body, size_t len,
		    const char *err, void *arg);
int	fetch_start(const char *method, const char *url, int api_tls_policy,
	    const char *const *hdrs, const void *body, size_t len,
	    fetch_cb, void *arg);
void	fetch_input(struct ktun *, const uint8_t *, size_t);
void	fetch_eof(struct ktun *, const char *why);
void	fetch_net_status(struct ktun *, const char *err);

/* secret.c: attestation, secret exchange, refresh. */
struct sx_secret;
void	secret_init(void);
/* The current secret, or NULL (and the lifecycle is kicked if idle). */
const struct sx_secret *secret_current(void);
/* A client offers its bearer token (no api_key configured). */
void	secret_offer_key(const char *token, size_t len);
/* The server did not know our secret: exchange a new one. */
void	secret_force_update(void);
/* JSON for /readyz; sets *ready. */
char	*secret_status_json(int *ready);
int	secret_have_key(void);
/* Metrics gauges: age of the current secret, 1 if it is usable. */
void	secret_gauges(uint64_t *age_s, uint64_t *ready);
/* Test hook: move keyd's clock forward (secret expiry, certificates). */
void	secret_advance_clock(int64_t seconds);
/* The parent's answer to MSG_MANIFEST_LOG (err empty: logged). */
void	secret_manifest_logged(uint32_t id, const char *err);
/* The parent's answer to MSG_CACHE_GET. */
void	secret_cache_answer(uint32_t id, int found, const uint8_t *, size_t);

#endif
