/*
 * Client tokens, limits and usage in the worker (access.h).
 *
 * A presented token is hashed (SHA-256) and compared with every hash of
 * the policy in constant time (sodium_memcmp, no early exit, the match
 * selected without a branch): how long a check takes says how many
 * tokens there are, not which one matched or how much of one did.
 *
 * Rate limits are token buckets: a client (or address) may send a burst
 * of its share of N at once and gets its share of N back per interval.
 * Stream limits count the proxied requests in flight.
 */
#include "config.h"

#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>
#include <sodium.h>

#include "access.h"
#include "buf.h"
#include "clients.h"
#include "ipc.h"
#include "log.h"
#include "metrics.h"
#include "server.h"
#include "usage.h"
#include "util.h"
#include "worker.h"

#define ADDR_BUCKETS	1024
#define ADDR_MAX	65536		/* address states held at most */
#define SWEEP_MS	1000		/* a full table is swept this often */
#define NAME_BUCKETS	1024
#define FLUSH_MS	1000		/* usage rows to the parent */

struct bucket {
	double		 level;		/* requests that may go now */
	uint64_t	 t_ms;		/* of the last fill */
	int		 init;
};

/* A client (one name; several tokens may name it). */
struct climit {
	TAILQ_ENTRY(climit)	 entry;
	struct climit		*hnext;		/* by name */
	char			 name[CLIENT_NAME_MAX + 1];
	struct rate		 rate;
	uint32_t		 streams;
	struct bucket		 b;
	uint32_t		 inflight;
	int			 listed;	/* in the policy in force */
};

struct token {
	uint8_t			 hash[CLIENT_HASH_LEN];
	int64_t			 expires;
	struct climit		*cl;
};

/* A client address (IPv4, IPv6 /64). */
struct alimit {
	struct alimit		*next;
	uint8_t			 key[16];
	struct bucket		 b;
	uint32_t		 inflight;
};

enum hold {
	HOLD_CLIENT = 0x01,
	HOLD_ADDR = 0x02
};

static struct {
	int			 have;
	struct access_policy	 pol;		/* without its entries */
	struct token		*tok;
	uint32_t		 ntok;
	TAILQ_HEAD(, climit)	 clients;
	struct climit		*names[NAME_BUCKETS];
	struct alimit		*addrs[ADDR_BUCKETS];
	size_t			 naddrs;
	uint64_t		 swept_ms;
	struct alimit		 overflow;	/* addresses beyond ADDR_MAX */
	uint8_t			 hkey[crypto_shorthash_KEYBYTES];
	struct usage_table	 delta;
	struct event		*flush_ev;
} A = { .clients = TAILQ_HEAD_INITIALIZER(A.clients) };

/* --- the policy -------------------------------------------------------- */

/* FNV-1a: the names are the administrator's, not a client's choice. */
static size_t
name_bucket(const char *name)
{
	uint32_t	h = 2166136261U;

	for (; *name != '\0'; name++)
		h = (h ^ (uint8_t)*name) * 16777619U;
	return h % NAME_BUCKETS;
}

static struct climit *
climit_find(const char *name)
{
	struct climit	*cl;

	for (cl = A.names[name_bucket(name)]; cl != NULL; cl = cl->hnext)
		if (strcmp(cl->name, name) == 0)
			return cl;
	return NULL;
}

static struct climit *
climit_new(const char *name)
{
	struct climit	*cl;
	size_t		 b = name_bucket(name);

	cl = xcalloc(1, sizeof(*cl));
	strlcpy(cl->name, name, sizeof(cl->name));
	TAILQ_INSERT_TAIL(&A.clients, cl, entry);
	cl->hnext = A.names[b];
	A.names[b] = cl;
	return cl;
}

static void
climit_gc(struct climit *cl)
{
	struct climit	**pp;

	if (cl->listed || cl->inflight > 0)
		return;
	for (pp = &A.names[name_bucket(cl->name)]; *pp != NULL;
	    pp = &(*pp)->hnext)
		if (*pp == cl) {
			*pp = cl->hnext;
			break;
		}
	TAILQ_REMOVE(&A.clients, cl, entry);
	free(cl);
}

int
access_set_policy(struct msgr *m)
{
	struct access_policy	 p;
	struct climit		*cl, *tmp;
	struct token		*tok;
	uint32_t		 i;

	if (access_policy_get(m, &p) == -1)
		return -1;
	tok = xcalloc(p.n > 0 ? p.n : 1, sizeof(*tok));
	TAILQ_FOREACH(cl, &A.clients, entry)
		cl->listed = 0;
	for (i = 0; i < p.n; i++) {
		/*
		 * A client that stays keeps its bucket and its streams in
		 * flight; one that is gone lives on until they end.
		 */
		if ((cl = climit_find(p.v[i].name)) == NULL || !cl->listed) {
			if (cl == NULL)
				cl = climit_new(p.v[i].name);
			cl->listed = 1;
			cl->rate = p.v[i].rate;
			cl->streams = p.v[i].streams;
		}
		memcpy(tok[i].hash, p.v[i].hash, CLIENT_HASH_LEN);
		tok[i].expires = p.v[i].expires;
		tok[i].cl = cl;
	}
	for (cl = TAILQ_FIRST(&A.clients); cl != NULL; cl = tmp) {
		tmp = TAILQ_NEXT(cl, entry);
		climit_gc(cl);
	}
	if (A.tok != NULL)
		sodium_memzero(A.tok, A.ntok * sizeof(*A.tok));
	free(A.tok);
	A.tok = tok;
	A.ntok = p.n;
	access_policy_free(&p);
	A.pol = p;
	if (!A.have)
		crypto_shorthash_keygen(A.hkey);
	A.have = 1;
	log_debug("client access: client_auth %s, %u token(s), %u worker(s) "
	    "share the limits", A.pol.mode == CA_TOKENS ? "tokens" : "off",
	    A.ntok, A.pol.workers);
	return 0;
}

int
access_have_policy(void)
{
	return A.have;
}

int
access_tokens_on(void)
{
	return A.have && A.pol.mode == CA_TOKENS;
}

int
access_token_header(const char *name)
{
	return access_tokens_on() && (strcasecmp(name, "Authorization") == 0 ||
	    strcasecmp(name, "x-api-key") == 0);
}

/* --- client tokens ----------------------------------------------------- */

enum auth_fail {
	AF_MISSING = 0,
	AF_INVALID,
	AF_EXPIRED
};

/* Authorization: Bearer <token>, else x-api-key (Anthropic's SDKs). */
static const char *
presented_token(const struct request *r, size_t *n)
{
	static const char *const names[] = { "Authorization", "x-api-key" };
	const char	*v;
	size_t		 i, len;

	for (i = 0; i < nitems(names); i++) {
		if ((v = req_header(r, names[i])) == NULL)
			continue;
		if (i == 0) {
			if (strncasecmp(v, "Bearer", 6) != 0 ||
			    (v[6] != ' ' && v[6] != '\t'))
				continue;
			v += 6;
		}
		v += strspn(v, " \t");
		len = strlen(v);
		while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
			len--;
		if (len > 0) {
			*n = len;
			return v;
		}
	}
	return NULL;
}

static int
auth_refuse(struct request *r, enum auth_fail why, const char *name)
{
	static const enum pmerr_code codes[] = {
		PME_MISSING_API_KEY, PME_INVALID_API_KEY, PME_EXPIRED_API_KEY
	};
	static const char *const msgs[] = {
		"a client token is required: send it as Authorization: Bearer "
		    "<token> (or x-api-key)",
		"the client token is not valid",
		"the client token has expired"
	};
	const char	*hdr;

	metrics.auth_failures[why]++;
	if (why == AF_EXPIRED)
		log_info("%s: client %s: token expired", r->peer, name);
	else
		log_debug("%s: %s client token", r->peer, why == AF_MISSING ?
		    "no" : "unknown");
	/* RFC 6750 3: no error code when no credentials were sent. */
	hdr = why == AF_MISSING ?
	    "WWW-Authenticate: Bearer realm=\"privatemode\"\r\n" :
	    "WWW-Authenticate: Bearer realm=\"privatemode\", "
	    "error=\"invalid_token\"\r\n";
	req_error_hdr(r, codes[why], hdr, "%s", msgs[why]);
	return -1;
}

int
access_auth(struct request *r)
{
	const char	*tok;
	uint8_t		 h[CLIENT_HASH_LEN];
	uint32_t	 i, idx = 0, eq, found = 0;
	size_t		 n = 0;

	if (!access_tokens_on())
		return 0;
	if ((tok = presented_token(r, &n)) == NULL)
		return auth_refuse(r, AF_MISSING, NULL);
	if (n > CLIENT_TOKEN_MAX)
		return auth_refuse(r, AF_INVALID, NULL);
	client_token_hash(tok, n, h);
	for (i = 0; i < A.ntok; i++) {
		eq = sodium_memcmp(h, A.tok[i].hash, CLIENT_HASH_LEN) == 0;
		idx = (idx & (eq - 1)) | (i & (0U - eq));
		found |= eq;
	}
	sodium_memzero(h, sizeof(h));
	if (!found)
		return auth_refuse(r, AF_INVALID, NULL);
	if (A.tok[idx].expires != 0 &&
	    wall_ms() / 1000 >= A.tok[idx].expires)
		return auth_refuse(r, AF_EXPIRED, A.tok[idx].cl->name);
	r->climit = A.tok[idx].cl;
	strlcpy(r->client, r->climit->name, sizeof(r->client));
	return 0;
}

/* --- limits ------------------------------------------------------------ */

/* This worker's share of a limit of n: n / workers rounded up, >= 1. */
static uint32_t
share(uint32_t n)
{
	return n == 0 ? 0 : (n + A.pol.workers - 1) / A.pol.workers;
}

/* Refill to now; the requests this worker's bucket could take at most. */
static void
bucket_fill(struct bucket *b, const struct rate *rt, uint64_t now)
{
	double	cap = share(rt->n);
	double	per_ms = (double)rt->n / A.pol.workers / (double)rt->ms;

	if (!b->init) {
		b->level = cap;
		b->init = 1;
	} else if (now > b->t_ms)
		b->level = MINIMUM(cap, b->level + (double)(now - b->t_ms) *
		    per_ms);
	b->t_ms = now;
}

/* Milliseconds until the bucket holds a request; 0 if it does now. */
static int64_t
bucket_wait(const struct bucket *b, const struct rate *rt)
{
	double	per_ms = (double)rt->n / A.pol.workers / (double)rt->ms;
	double	x;
	int64_t	ms;

	if (b->level >= 1.0)
		return 0;
	x = (1.0 - b->level) / per_ms;
	ms = (int64_t)x;
	return (double)ms < x ? ms + 1 : ms;
}

/* Full again: nothing to remember about this address. */
static int
alimit_idle(struct alimit *a, uint64_t now)
{
	if (a->inflight > 0)
		return 0;
	if (A.pol.addr_rate.n == 0)
		return 1;
	bucket_fill(&a->b, &A.pol.addr_rate, now);
	return a->b.level >= share(A.pol.addr_rate.n);
}

static void
alimit_sweep(uint64_t now)
{
	struct alimit	**pp, *a;
	size_t		  i;

	for (i = 0; i < ADDR_BUCKETS; i++)
		for (pp = &A.addrs[i]; (a = *pp) != NULL; ) {
			if (alimit_idle(a, now)) {
				*pp = a->next;
				free(a);
				A.naddrs--;
			} else
				pp = &a->next;
		}
}

static size_t
addr_bucket(const uint8_t key[16])
{
	uint8_t	h[crypto_shorthash_BYTES];

	/* Keyed: clients cannot pick addresses that share one chain. */
	crypto_shorthash(h, key, 16, A.hkey);
	return ((size_t)h[0] << 8 | h[1]) % ADDR_BUCKETS;
}

/*
 * The state of an address.  Beyond ADDR_MAX addresses (each one
 * remembered only while it has a stream or an emptied bucket) the rest
 * share one state: limited together rather than not at all.
 */
static struct alimit *
alimit_get(const uint8_t key[16], uint64_t now)
{
	struct alimit	*a;
	size_t		 b = addr_bucket(key);

	for (a = A.addrs[b]; a != NULL; a = a->next)
		if (memcmp(a->key, key, 16) == 0)
			return a;
	/* A sweep is a walk of the table: once a second at most. */
	if (A.naddrs >= ADDR_MAX && now - A.swept_ms >= SWEEP_MS) {
		alimit_sweep(now);
		A.swept_ms = now;
	}
	if (A.naddrs >= ADDR_MAX)
		return &A.overflow;
	a = xcalloc(1, sizeof(*a));
	memcpy(a->key, key, 16);
	a->next = A.addrs[b];
	A.addrs[b] = a;
	A.naddrs++;
	return a;
}

static void
alimit_release(struct alimit *a)
{
	struct alimit	**pp;

	if (a->inflight > 0)
		a->inflight--;
	if (a == &A.overflow || a->inflight > 0 || A.pol.addr_rate.n > 0)
		return;		/* a bucket is swept once it is full */
	for (pp = &A.addrs[addr_bucket(a->key)]; *pp != NULL;
	    pp = &(*pp)->next)
		if (*pp == a) {
			*pp = a->next;
			free(a);
			A.naddrs--;
			return;
		}
}

static int
limit_refuse(struct request *r, enum m_limit which, int64_t wait_ms,
    enum pmerr_code code, const char *client)
{
	char		 hdr[64], msg[256];
	const char	*what = pmerr_default_msg(code);
	int64_t		 secs = wait_ms <= 0 ? 1 : (wait_ms + 999) / 1000;

	metrics.limit_refusals[which]++;
	if (client != NULL)
		snprintf(msg, sizeof(msg), "%s for client %s", what, client);
	else
		snprintf(msg, sizeof(msg), "%s from this address", what);
	log_debug("%s: 429: %s", r->peer, msg);
	snprintf(hdr, sizeof(hdr), "Retry-After: %lld\r\n", (long long)secs);
	req_error_hdr(r, code, hdr, "%s; retry after %lld s", msg,
	    (long long)secs);
	return -1;
}

int
access_admit(struct request *r)
{
	struct climit	*cl = access_tokens_on() ? r->climit : NULL;
	struct alimit	*al = NULL;
	uint64_t	 now = now_ms();
	int64_t		 cw = 0, aw = 0;
	int		 crate, arate;

	if (!A.have)
		return 0;
	if (r->akey_ok && (A.pol.addr_rate.n > 0 || A.pol.addr_streams > 0))
		al = alimit_get(r->akey, now);
	crate = cl != NULL && cl->rate.n > 0;
	arate = al != NULL && A.pol.addr_rate.n > 0;
	if (cl != NULL && cl->streams > 0 && cl->inflight >= share(cl->streams))
		return limit_refuse(r, ML_CLIENT_STREAMS, 0,
		    PME_TOO_MANY_STREAMS, cl->name);
	if (al != NULL && A.pol.addr_streams > 0 &&
	    al->inflight >= share(A.pol.addr_streams))
		return limit_refuse(r, ML_ADDRESS_STREAMS, 0,
		    PME_TOO_MANY_STREAMS, NULL);
	if (crate) {
		bucket_fill(&cl->b, &cl->rate, now);
		cw = bucket_wait(&cl->b, &cl->rate);
	}
	if (arate) {
		bucket_fill(&al->b, &A.pol.addr_rate, now);
		aw = bucket_wait(&al->b, &A.pol.addr_rate);
	}
	if (cw > 0 || aw > 0) {
		if (cw >= aw && cl != NULL)
			return limit_refuse(r, ML_CLIENT_RATE, cw,
			    PME_RATE_LIMITED, cl->name);
		return limit_refuse(r, ML_ADDRESS_RATE, aw,
		    PME_RATE_LIMITED, NULL);
	}
	if (crate)
		cl->b.level -= 1.0;
	if (arate)
		al->b.level -= 1.0;
	if (cl != NULL) {
		cl->inflight++;
		r->holds |= HOLD_CLIENT;
	}
	if (al != NULL) {
		al->inflight++;
		r->alimit = al;
		r->holds |= HOLD_ADDR;
	}
	return 0;
}

void
access_release(struct request *r)
{
	if ((r->holds & HOLD_CLIENT) && r->climit != NULL) {
		r->climit->inflight--;
		climit_gc(r->climit);
	}
	if ((r->holds & HOLD_ADDR) && r->alimit != NULL)
		alimit_release(r->alimit);
	r->holds = 0;
	r->climit = NULL;
	r->alimit = NULL;
}

/* --- usage ------------------------------------------------------------- */

static void
flush_cb(evutil_socket_t fd, short ev, void *arg)
{
	access_flush();
}

void
access_flush(void)
{
	struct buf	m;

	if (A.delta.n == 0)
		return;
	buf_init(&m, 64 + A.delta.n * 64);
	usage_put(&m, &A.delta);
	parent_send(MSG_USAGE, &m);
	buf_free(&m);
	usage_reset(&A.delta);
	if (A.flush_ev != NULL)
		evtimer_del(A.flush_ev);
}

void
access_account(struct request *r)
{
	const char	*client = r->client[0] != '\0' ? r->client : USAGE_NONE;
	struct timeval	 tv;

	/* Only what went to keyd: model is set when it is sent. */
	if (r->model[0] == '\0')
		return;
	if (usage_add(&A.delta, client, r->model, 1, r->usage.prompt,
	    r->usage.completion) == -1) {
		access_flush();
		usage_add(&A.delta, client, r->model, 1, r->usage.prompt,
		    r->usage.completion);
	}
	if (A.flush_ev == NULL)
		A.flush_ev = evtimer_new(wenv->base, flush_cb, NULL);
	if (!evtimer_pending(A.flush_ev, NULL)) {
		ms_to_tv(FLUSH_MS, &tv);
		evtimer_add(A.flush_ev, &tv);
	}
}
