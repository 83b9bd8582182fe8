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

#include <sys/queue.h>

#include "buf.h"
#include "dpmsg.h"
#include "ipc.h"

struct calls;
struct chan;
struct config;
struct event_base;
struct event;
struct sockio;
struct tunnel;
struct msgr;
struct pexch;
struct fetch;
struct h2;

/* Files the parent read for keyd (MSG_KEYD_FILES). */
struct keyd_files {
	int		loaded;
	int		have_ca, have_genoa, have_milan, have_turin;
	int		have_manifest, have_intel;
	struct buf	ca, genoa, milan, turin, manifest;
	struct buf	intel;		/* test_intel_root_ca */
};

struct keyd_env {
	struct event_base	*base;
	struct config		*conf;
	struct chan		*parent;
	struct calls		*parent_calls;	/* waiting for the parent */
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

/*
 * An upstream connection keyd owns (ktun.c): asked of the worker by
 * origin (MSG_NET_OPEN), then the connected socket it handed over, with
 * keyd's TLS session on it.  keyd reads and writes the socket itself.
 */
enum ktun_kind { KT_RELAY, KT_FETCH };

/* What an API connection speaks: known once TLS has agreed on it. */
enum ktun_proto { KP_UNKNOWN, KP_H1, KP_H2 };

struct ktun {
	struct ktun	*next;		/* hash chain */
	uint32_t	 id;		/* MSG_NET_OPEN / MSG_NET_FD id */
	enum ktun_kind	 kind;
	enum net_origin	 origin;
	int		 fd;		/* -1 until the worker hands it over */
	int		 answered;	/* MSG_NET_FD came */
	int		 orphan;	/* freed before it came */
	struct sockio	*io;		/* the socket's I/O, from the hand-over */
	struct event	*timer;		/* the owner's */
	struct event	*soon;		/* ktun_soon() */
	struct buf	 out;		/* TLS bytes from the tunnel */
	int		 want_read;
	struct tunnel	*t;
	int		 exchanges;	/* completed on this connection */
	/* KT_RELAY */
	enum ktun_proto	 proto;
	struct h2	*h2;		/* KP_H2: the session */
	TAILQ_ENTRY(ktun) list;		/* in one of relay.c's lists */
	int		 listed;	/* which one (relay.c) */
	struct pexch	*px;		/* KP_H1: the current exchange */
	TAILQ_HEAD(, pexch) pxs;	/* KP_H2: its streams and those
					   waiting for room; KP_UNKNOWN: the
					   exchanges waiting for it */
	int		 npx;
	int		 nstreams;	/* KP_H2: open streams */
	/* KT_FETCH */
	struct fetch	*fx;		/* its request */
};

/*
 * A new connection to an origin: asks the worker for the socket.
 * offer_h2: TLS offers HTTP/2 before HTTP/1.1.
 */
struct ktun	*ktun_new(enum ktun_kind, enum net_origin, const char *host,
		    int tls, int verify, int offer_h2);
void		 ktun_free(struct ktun *);
/* MSG_NET_FD: the socket for id, or why there is none; -1 refuses it. */
int		 ktun_handover(uint32_t id, enum dp_fd_fail, const char *err,
		    int fd);
/* Write what TLS has for the socket now. */
void		 ktun_flush(struct ktun *);
/* Read the socket or not (a client that stops reading). */
void		 ktun_read(struct ktun *, int on);
/* Arm (ms > 0) or stop the relay's timer (relay_timeout). */
void		 ktun_timer(struct ktun *, int64_t ms);
/* Call relay_soon() for it once the current callback is done. */
void		 ktun_soon(struct ktun *);

/*
 * What ktun.c tells a connection's owner.  err is an errno value (0 for
 * a clean end of stream, ETIMEDOUT for keyd's own timers) and why the
 * text to show.
 */
void	relay_connected(struct ktun *, enum dp_fd_fail, const char *err);
void	relay_input(struct ktun *, const uint8_t *, size_t);
void	relay_drained(struct ktun *);
void	relay_timeout(struct ktun *);
void	relay_soon(struct ktun *);
void	relay_eof(struct ktun *, int err, const char *why);
void	fetch_connected(struct ktun *, enum dp_fd_fail, const char *err);
void	fetch_input(struct ktun *, const uint8_t *, size_t);
void	fetch_eof(struct ktun *, int err, const char *why);

/* h2.c: HTTP/2 on an API connection, for relay.c. */
#define H2_REFUSED_STREAM	0x7	/* RFC 9113 7: never processed */
#define H2_HEAD_TOO_BIG		0x10000	/* not an HTTP/2 code: our head limit */
struct h2	*h2_new(struct ktun *, char *err, size_t errlen);
void		 h2_free(struct h2 *);
/* Feed decrypted bytes; -1 on a connection error. */
int		 h2_input(struct h2 *, const uint8_t *, size_t, char *err,
		    size_t errlen);
/* What the session has to send, into the TLS tunnel and out. */
void		 h2_output(struct h2 *);
/*
 * A sealed HTTP/1.1 request as a new stream; its id, or -1.  The stream
 * takes req's storage (its body is sent from there); req is left empty.
 */
int32_t		 h2_submit(struct h2 *, void *px, struct buf *req,
		    char *err, size_t errlen);
void		 h2_cancel(struct h2 *, int32_t stream);
/* The client read n more bytes of the stream: window for the server. */
void		 h2_consume(struct h2 *, int32_t stream, size_t n);
/* How many more streams the server takes now (0 after a GOAWAY). */
int		 h2_room(const struct h2 *, int active);
/* Has the server's first SETTINGS come (its stream limit is known)? */
int		 h2_settled(const struct h2 *);
/* After a GOAWAY, every stream is done: nothing more will come. */
int		 h2_finished(const struct h2 *);
const char	*h2_code_str(uint32_t);
/* What h2.c tells relay.c of a stream. */
void	relay_h2_sent(void *px);	/* the request body is all out */
void	relay_h2_head(void *px, const char *head, size_t len);
void	relay_h2_data(void *px, const uint8_t *, size_t);
void	relay_h2_closed(void *px, uint32_t code);

/* relay.c: proxied client requests (MSG_REQ, MSG_REQ_CTL). */
int	relay_request(uint32_t xid, struct msgr *);
int	relay_ctl(uint32_t xid, struct msgr *);
/* Requests waiting for a secret: run or fail them now. */
void	relay_secret_ready(void);
void	relay_secret_failed(enum pmerr_code, const char *msg);

/* fetch.c: keyd's own HTTP requests (attest, secret, manifest, KDS). */
typedef void	(*fetch_cb)(int status, const uint8_t *body, size_t len,
		    const char *err, void *arg);
int	fetch_start(const char *method, enum net_origin, const char *url,
	    int api_tls_policy, const char *const *hdrs, const void *body,
	    size_t len, fetch_cb, void *arg);
/* A GET whose callback also gets the value of one response header. */
typedef void	(*fetch_hdr_cb)(int status, const uint8_t *body, size_t len,
		    const char *header, const char *err, void *arg);
int	fetch_get_hdr(enum net_origin, const char *url, const char *header,
	    fetch_hdr_cb, void *arg);

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

#endif
