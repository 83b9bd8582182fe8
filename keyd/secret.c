/*
 * The inference secret's lifecycle (protocol.md 2.5, attestation spec 6):
 *
 *	update:	  [mesh CA unknown] → manifest (CDN or static) → attest →
 *		  verify → mesh CA;  then secret exchange with the mesh CA.
 *		  If the exchange fails with a cached CA: re-attest once
 *		  and exchange again.  Three attempts, 1 s then 2 s apart;
 *		  a manifest mismatch is never retried.
 *	refresh:  45 minutes after an exchange (the server keeps it 1 h),
 *		  while requests keep using the old secret meanwhile.
 *	failure:  requests waiting for a secret get 503 (401 for a bad
 *		  client key), and keyd retries with capped exponential
 *		  back-off instead of exiting: systemd would only restart-
 *		  loop us.  Each distinct failure is logged once.
 *
 * Nothing here blocks: every network step is a fetch whose callback
 * advances the state.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "attest.h"
#include "buf.h"
#include "calls.h"
#include "cerr.h"
#include "chan.h"
#include "conf.h"
#include "fieldcipher.h"
#include "ipc.h"
#include "kd.h"
#include "log.h"
#include "metrics.h"
#include "sx.h"
#include "util.h"

/* metrics.c labels keyd/attest's platforms by number. */
typedef char platform_labels_match[M_NPLATFORMS == ATT_PLATFORM_MAX ? 1 : -1];

#define ATTEMPTS		3
#define RETRY_BASE_MS		1000
#define BACKOFF_MAX_MS		60000
#define REFRESH_GRACE_S		(10 * 60)	/* old secret still usable */

enum step {
	ST_IDLE, ST_MANIFEST, ST_MANIFEST_LOG, ST_ATTEST, ST_KDS_CACHE, ST_KDS,
	ST_PCS, ST_PCS_CACHE, ST_EXCHANGE
};

/* One Intel PCS answer held for the verifier (owned copies). */
struct pcs_held {
	char			*url;
	struct buf		 body;
	char			*chain;
	size_t			 chain_len;
};

static struct {
	enum step		 step;
	struct sx_secret	*cur;
	time_t			 expires;
	time_t			 obtained;
	X509			*mesh_ca;
	struct buf		 manifest;	/* expected, byte-exact */
	int			 have_manifest;
	struct attest_trust	 trust;
	/* the key used for attest/secret: configured, or offered */
	char			*offered;	/* sodium_malloc'd */
	size_t			 offered_len;
	int			 offer_pending;
	/* one update */
	int			 attempt;
	int			 exchanged_with_cached_ca;
	int			 no_retry;	/* manifest mismatch */
	uint8_t			 nonce[ATT_NONCE_LEN];
	struct buf		 doc;		/* attestation response body */
	struct buf		 vcek, crl;
	struct sx		*sx;
	struct event		*timer;
	int			 failures;	/* consecutive failed updates */
	/* for /readyz and the log */
	char			 last_error[512];
	enum pmerr_code		 last_code;	/* not attested, or a bad key */
	char			 manifest_sha256[65];
	struct attest_tcb	 tcb;
	time_t			 attested_at;
	int			 test_anchors;
	int64_t			 clock_offset;	/* test hook */
	uint32_t		 log_id;	/* request id to the parent */
	int			 reported;	/* 1 ready, 2 failed, 0 never */
	char			 kds_url[ATT_URL_MAX];
	int			 kds_is_crl;
	/* Intel PCS answers of this attestation, and those still to fetch */
	struct pcs_held		 pcs[ATT_PCS_MAX];
	size_t			 npcs;
	struct {
		enum attest_pcs_kind kind;
		char		 url[ATT_URL_MAX];
	}			 pcs_todo[ATT_PCS_NEED_MAX];
	int			 npcs_todo, pcs_next;
	uintptr_t		 pcs_gen;	/* a fetch of an older round is late */
	/* what was attested, for /readyz, the log and the metrics */
	enum attest_platform	 platform;
	struct attest_tdx_info	 tdx;
} S;

static void	update_start(int force);
static void	attempt_run(void);
static void	attempt_failed(const char *fmt, ...)
		    __attribute__((__format__(printf, 1, 2)));
static void	step_exchange(void);

static time_t
now(void)
{
	return time(NULL) + (time_t)S.clock_offset;
}

void
secret_advance_clock(int64_t seconds)
{
	S.clock_offset += seconds;
	log_warnx("test hook: keyd clock advanced by %lld s",
	    (long long)seconds);
	/* A refresh that is due now must not wait for its timer. */
	if (S.cur != NULL && now() >= S.expires && S.step == ST_IDLE)
		update_start(0);
}

static const char *
api_key(size_t *len)
{
	if (kenv->api_key != NULL) {
		*len = kenv->api_key_len;
		return kenv->api_key;
	}
	*len = S.offered_len;
	return S.offered;
}

int
secret_have_key(void)
{
	size_t	n;

	return api_key(&n) != NULL;
}

/* --- files loaded before the sandbox ----------------------------------- */

/*
 * The parent picked the file (override or shipped copy), named it in its
 * log and checked it the same way before sending it.
 */
static void
load_anchor(enum attest_product prod, int have, const struct buf *pem,
    int test_only)
{
	char	err[256];

	if (!have)
		return;
	if (attest_trust_load_pem(&S.trust, prod, (const char *)pem->p,
	    pem->len, test_only, err, sizeof(err)) != ATT_OK)
		log_warnx("AMD certificate chain (%s) refused: %s",
		    attest_product_name(prod), err);
}

void
secret_init(void)
{
	const struct config	*c = kenv->conf;
	const struct keyd_files	*f = kenv->files;

	/* Library state the verifier needs, set up before the sandbox. */
	if (attest_init() == -1)
		fatalx("attest_init");
	buf_init(&S.manifest, 0);
	buf_init(&S.doc, 0);
	buf_init(&S.vcek, 0);
	buf_init(&S.crl, 0);
	attest_trust_init(&S.trust);
	load_anchor(ATT_PRODUCT_GENOA, f->have_genoa, &f->genoa,
	    c->test_trust_any_amd_root);
	load_anchor(ATT_PRODUCT_MILAN, f->have_milan, &f->milan,
	    c->test_trust_any_amd_root);
	load_anchor(ATT_PRODUCT_TURIN, f->have_turin, &f->turin,
	    c->test_trust_any_amd_root);
	if (c->test_kds_base_url != NULL)
		attest_trust_set_kds_base(&S.trust, c->test_kds_base_url);
	if (attest_trust_set_pcs(&S.trust, c->pcs_base_url,
	    c->pcs_root_crl_url) == -1)
		log_warnx("Intel PCS URLs %s, %s refused: keeping %s",
		    c->pcs_base_url, c->pcs_root_crl_url, ATT_PCS_BASE);
	if (f->have_intel) {
		char	err[256];

		/* Test only (refused by production builds): a fake Intel root. */
		if (attest_trust_load_intel_root(&S.trust,
		    (const char *)f->intel.p, f->intel.len, 1, err,
		    sizeof(err)) != ATT_OK)
			log_warnx("test_intel_root_ca refused: %s", err);
	}
	if (c->manifest_path != NULL) {
		if (!f->have_manifest)
			snprintf(S.last_error, sizeof(S.last_error), "failed to "
			    "read manifest file %s", c->manifest_path);
		else {
			buf_add(&S.manifest, f->manifest.p, f->manifest.len);
			S.have_manifest = 1;
		}
	}
	S.timer = evtimer_new(kenv->base, NULL, NULL);
	S.last_code = PME_NOT_ATTESTED;
	if (S.last_error[0] == '\0')
		snprintf(S.last_error, sizeof(S.last_error), "%s",
		    secret_have_key() ? "attestation pending" :
		    "no API key yet: configure api_key or send a request "
		    "with Authorization: Bearer <key>");
}

/*
 * The old secret goes, and with it the field cipher's cached contexts of
 * keys no request uses any more (those of running requests go when the
 * requests end).
 */
static void
replace_secret(struct sx_secret *sec)
{
	sx_secret_free(S.cur);
	S.cur = sec;
	fc_forget_keys();
}

/* --- public -------------------------------------------------------------- */

const struct sx_secret *
secret_current(void)
{
	time_t	t = now();

	if (S.cur != NULL && t >= S.expires && S.step == ST_IDLE)
		update_start(0);	/* refresh; keep serving meanwhile */
	if (S.cur != NULL && t < S.expires + REFRESH_GRACE_S)
		return S.cur;
	if (S.step == ST_IDLE && secret_have_key())
		update_start(0);
	return NULL;
}

void
secret_offer_key(const char *token, size_t len)
{
	if (kenv->api_key != NULL || S.offered != NULL || S.step != ST_IDLE)
		return;
	if ((S.offered = sodium_malloc(len + 1)) == NULL)
		fatal("sodium_malloc");
	memcpy(S.offered, token, len);
	S.offered[len] = '\0';
	S.offered_len = len;
	S.offer_pending = 1;
	update_start(1);
}

void
secret_force_update(void)
{
	/*
	 * The deployment does not know this secret: never use it again, so
	 * that the retry waits for the new one instead of repeating it.
	 */
	replace_secret(NULL);
	if (S.step == ST_IDLE)
		update_start(1);
}

void
secret_gauges(uint64_t *age_s, uint64_t *ready)
{
	time_t	t = now();

	*ready = S.cur != NULL && t < S.expires + REFRESH_GRACE_S;
	*age_s = S.cur != NULL ? (uint64_t)(t - S.obtained) : 0;
	memset(metrics.attested_platform, 0,
	    sizeof(metrics.attested_platform));
	if (S.mesh_ca != NULL && (unsigned)S.platform < M_NPLATFORMS)
		metrics.attested_platform[S.platform] = 1;
}

char *
secret_status_json(int *ready)
{
	struct buf	 b;
	char		*esc, ts[32];
	struct tm	 tm;
	time_t		 t = now();

	buf_init(&b, 256);
	*ready = S.cur != NULL && t < S.expires + REFRESH_GRACE_S;
	buf_addf(&b, "{\"ready\":%s", *ready ? "true" : "false");
	if (!*ready) {
		esc = json_escape_dup(S.step != ST_IDLE && S.cur == NULL ?
		    "attestation in progress" : S.last_error);
		buf_addf(&b, ",\"reason\":%s", esc);
		free(esc);
	}
	if (S.attested_at != 0) {
		gmtime_r(&S.attested_at, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
		buf_addf(&b, ",\"platform\":\"%s\",\"manifest_sha256\":\"%s\"",
		    attest_platform_name(S.platform), S.manifest_sha256);
		if (S.platform == ATT_PLATFORM_TDX) {
			char	svn[33];

			sodium_bin2hex(svn, sizeof(svn), S.tdx.tee_tcb_svn,
			    sizeof(S.tdx.tee_tcb_svn));
			buf_addf(&b, ",\"tdx\":{\"fmspc\":\"%s\",\"tee_tcb_svn\":"
			    "\"%s\",\"tcb_status\":\"%s\",\"qe_tcb_status\":\"%s\","
			    "\"tcb_evaluation_data_number\":%lld}", S.tdx.fmspc,
			    svn, S.tdx.tcb_status, S.tdx.qe_tcb_status,
			    S.tdx.tcb_eval_num);
		} else
			buf_addf(&b, ",\"tcb\":{\"bootloader\":%u,\"tee\":%u,"
			    "\"snp\":%u,\"microcode\":%u}", S.tcb.bl, S.tcb.tee,
			    S.tcb.snp, S.tcb.ucode);
		buf_addf(&b, ",\"last_attestation\":\"%s\"", ts);
	}
	if (S.cur != NULL)
		buf_addf(&b, ",\"secret_expires_in_s\":%lld",
		    (long long)(S.expires - t));
	if (S.test_anchors)
		buf_adds(&b, ",\"test_trust_anchors\":true");
	buf_adds(&b, "}");
	return (char *)buf_release(&b, NULL);
}

/* --- the update state machine -------------------------------------------- */

static void
timer_in(int64_t ms, void (*fn)(evutil_socket_t, short, void *))
{
	struct timeval	tv;

	evtimer_del(S.timer);
	evtimer_assign(S.timer, kenv->base, fn, NULL);
	ms_to_tv(ms, &tv);
	evtimer_add(S.timer, &tv);
}

static void
refresh_cb(evutil_socket_t fd, short ev, void *arg)
{
	if (S.step == ST_IDLE)
		update_start(0);
}

static void
backoff_cb(evutil_socket_t fd, short ev, void *arg)
{
	if (S.step == ST_IDLE && secret_have_key())
		update_start(0);
}

static void
retry_cb(evutil_socket_t fd, short ev, void *arg)
{
	attempt_run();
}

static void
auth_headers(const char **hdrs, char *auth, size_t authlen, char *ver,
    size_t verlen)
{
	const char	*key;
	size_t		 n;

	key = api_key(&n);
	/* Go sends "Bearer <key>" even for an empty key. */
	snprintf(auth, authlen, "Authorization: Bearer %.*s", (int)n,
	    key != NULL ? key : "");
	snprintf(ver, verlen, "Privatemode-Version: v%s", PACKAGE_VERSION);
	hdrs[0] = auth;
	hdrs[1] = ver;
	hdrs[2] = NULL;
}

/* POST a JSON body to the API with our credentials (protocol.md 2.2). */
static int
api_post(const char *path, const struct buf *body, fetch_cb cb)
{
	const char	*hdrs[3];
	char		 url[512], auth[4096], ver[64];
	int		 rv;

	auth_headers(hdrs, auth, sizeof(auth), ver, sizeof(ver));
	snprintf(url, sizeof(url), "https://%s%s", kenv->conf->api_endpoint,
	    path);
	rv = fetch_start("POST", NO_API, url, 1, hdrs, body->p, body->len, cb, NULL);
	explicit_bzero(auth, sizeof(auth));
	return rv;
}

/* Tell the parent (readiness, systemd status) when the verdict changes. */
static void
report_state(int ready, const char *reason)
{
	struct buf	m;

	if (S.reported == (ready ? 1 : 2) && ready)
		return;
	S.reported = ready ? 1 : 2;
	buf_init(&m, 256);
	msg_put_u8(&m, (uint8_t)ready);
	msg_put_str(&m, reason);
	chan_send(kenv->parent, MSG_KEYD_STATE, 0, &m);
	buf_free(&m);
}

/* The whole update failed: tell waiting requests, schedule a retry. */
static void
update_failed(void)
{
	int64_t	delay;
	int	bad_key = S.last_code == PME_INVALID_API_KEY;

	S.step = ST_IDLE;
	S.failures++;
	report_state(0, S.last_error);
	if (bad_key && S.offered != NULL) {
		/* A client's key that does not work is dropped again. */
		sodium_free(S.offered);
		S.offered = NULL;
		S.offered_len = 0;
	}
	relay_secret_failed(S.offer_pending ? PME_INVALID_API_KEY : S.last_code,
	    S.last_error);
	S.offer_pending = 0;
	if (!secret_have_key())
		return;
	delay = (int64_t)RETRY_BASE_MS << MINIMUM(S.failures, 7);
	if (delay > BACKOFF_MAX_MS)
		delay = BACKOFF_MAX_MS;
	timer_in(delay, backoff_cb);
}

static void
attempt_failed(const char *fmt, ...)
{
	char	msg[512];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Log a failure once; its repetitions at debug level. */
	if (strcmp(msg, S.last_error) != 0)
		log_warnx("secret update failed (attempt %d): %s", S.attempt,
		    msg);
	else
		log_debug("secret update failed again (attempt %d): %s",
		    S.attempt, msg);
	strlcpy(S.last_error, msg, sizeof(S.last_error));
	if (S.sx != NULL) {
		sx_free(S.sx);
		S.sx = NULL;
	}
	if (S.no_retry || S.attempt >= ATTEMPTS) {
		update_failed();
		return;
	}
	/* retry-go's back-off: 1 s, then 2 s. */
	timer_in((int64_t)RETRY_BASE_MS << (S.attempt - 1), retry_cb);
	S.attempt++;
}

static int
http_status_error(int status, const uint8_t *body, size_t len,
    const char *err, const char *what)
{
	if (status == -1) {
		attempt_failed("%s: %s", what, err);
		return -1;
	}
	if (status == 401) {
		S.last_code = PME_INVALID_API_KEY;
		attempt_failed("%s: Unauthorized: %.*s", what,
		    (int)MINIMUM(len, 200), (const char *)body);
		return -1;
	}
	if (status != 200) {
		attempt_failed("%s: unexpected status code: %d: %.*s", what,
		    status, (int)MINIMUM(len, 200), (const char *)body);
		return -1;
	}
	return 0;
}

/* --- attestation ------------------------------------------------------- */

static void	step_attest(void);
static void	verify_doc(void);
static void	cache_answered(const struct msg_hdr *, struct msgr *, void *);
static void	manifest_logged(const struct msg_hdr *, struct msgr *, void *);

/*
 * KDS collateral, as the Contrast SDK caches it under <workspace>/contrast
 * (the parent holds the files): a VCEK is immutable, so the cache is
 * asked first; a CRL is always fetched, and a cached one is used only
 * when the fetch fails and it is still before its nextUpdate.
 */
static void
cache_put(const char *url, const uint8_t *p, size_t n)
{
	struct buf	m;

	buf_init(&m, n + strlen(url) + 16);
	msg_put_str(&m, url);
	msg_put_bytes(&m, p, n);
	chan_send(kenv->parent, MSG_CACHE_PUT, 0, &m);
	buf_free(&m);
}

#define CACHE_VCEK	0
#define CACHE_CRL	1
#define CACHE_PCS	2

static void
cache_get(const char *url, int what)
{
	struct buf	m;

	if (what != CACHE_PCS)
		strlcpy(S.kds_url, url, sizeof(S.kds_url));
	S.kds_is_crl = what;
	S.step = what == CACHE_PCS ? ST_PCS_CACHE : ST_KDS_CACHE;
	buf_init(&m, strlen(url) + 16);
	msg_put_str(&m, url);
	S.log_id = calls_send(kenv->parent_calls, MSG_CACHE_GET, &m,
	    cache_answered, NULL, 0);
	buf_free(&m);
}

/* --- Intel PCS collateral (TDX) ----------------------------------------- */

/*
 * Like the KDS CRL: always fetched, and the cached copy (written through
 * the parent as one blob, body and issuer chain) is used only when the
 * fetch fails and the copy is not past its nextUpdate.  The verifier
 * checks everything again; keyd only picks what to hand it.
 */
static void	pcs_next(void);

static void
pcs_reset(void)
{
	size_t	i;

	for (i = 0; i < S.npcs; i++) {
		free(S.pcs[i].url);
		buf_free(&S.pcs[i].body);
		free(S.pcs[i].chain);
	}
	memset(S.pcs, 0, sizeof(S.pcs));
	S.npcs = 0;
	S.npcs_todo = S.pcs_next = 0;
	S.pcs_gen++;
}

static void
pcs_hold(const char *url, const uint8_t *body, size_t len,
    const char *chain, size_t clen)
{
	struct pcs_held	*h;

	if (S.npcs == ATT_PCS_MAX)
		return;
	h = &S.pcs[S.npcs++];
	h->url = xstrdup(url);
	buf_init(&h->body, len);
	buf_add(&h->body, body, len);
	h->chain = NULL;
	h->chain_len = clen;
	if (chain != NULL) {
		h->chain = xmalloc(clen + 1);
		memcpy(h->chain, chain, clen);
		h->chain[clen] = '\0';
	}
}

static void
pcs_done(int status, const uint8_t *body, size_t len, const char *hdr,
    const char *err, void *arg)
{
	struct attest_pcs_doc	 d;
	uint8_t			*blob;
	size_t			 blen;
	int			 kind = S.pcs_todo[S.pcs_next].kind;
	const char		*url = S.pcs_todo[S.pcs_next].url;
	const char		*want = attest_pcs_issuer_header(kind);

	if (S.step != ST_PCS || (uintptr_t)arg != S.pcs_gen)
		return;		/* an attempt that failed meanwhile */
	if (status != 200 || (want != NULL && hdr == NULL)) {
		log_info("fetching the Intel PCS %s failed (%s): trying the "
		    "cache", attest_pcs_kind_name(kind), status == -1 ? err :
		    status != 200 ? "bad status" : "no issuer chain header");
		cache_get(url, CACHE_PCS);
		return;
	}
	memset(&d, 0, sizeof(d));
	d.body = body;
	d.body_len = len;
	d.issuer_chain = hdr;
	d.issuer_chain_len = hdr != NULL ? strlen(hdr) : 0;
	if (attest_pcs_pack(&d, &blob, &blen) == 0) {
		cache_put(url, blob, blen);
		free(blob);
	}
	pcs_hold(url, body, len, hdr, d.issuer_chain_len);
	S.pcs_next++;
	pcs_next();
}

/* The next answer the verifier asked for, or the verifier again. */
static void
pcs_next(void)
{
	const char	*url;
	int		 kind;

	if (S.pcs_next >= S.npcs_todo) {
		verify_doc();
		return;
	}
	url = S.pcs_todo[S.pcs_next].url;
	kind = S.pcs_todo[S.pcs_next].kind;
	S.step = ST_PCS;
	if (fetch_get_hdr(kind == ATT_PCS_ROOT_CRL ? NO_PCS_ROOT_CRL : NO_PCS,
	    url, attest_pcs_issuer_header(kind) != NULL ?
	    attest_pcs_issuer_header(kind) : "-", pcs_done,
	    (void *)S.pcs_gen) == -1)
		attempt_failed("validating attestation: bad Intel PCS URL %s",
		    url);
}

/* The parent's answer for a PCS URL. */
static void
pcs_cached(int found, const uint8_t *p, size_t n)
{
	struct attest_pcs_doc	d;
	int			kind = S.pcs_todo[S.pcs_next].kind;

	if (!found || attest_pcs_unpack(p, n, &d) == -1 ||
	    !attest_pcs_usable(kind, &d, now())) {
		/* Fail closed: no valid collateral, no secret. */
		attempt_failed("validating attestation: no valid Intel PCS %s: "
		    "fetch failed and %s", attest_pcs_kind_name(kind), found ?
		    "the cached copy is past its nextUpdate" : "none is cached");
		return;
	}
	pcs_hold(S.pcs_todo[S.pcs_next].url, d.body, d.body_len,
	    d.issuer_chain, d.issuer_chain_len);
	S.pcs_next++;
	pcs_next();
}

static void
kds_done(int status, const uint8_t *body, size_t len, const char *err,
    void *arg)
{
	int	is_crl = arg != NULL;

	if (status != 200) {
		if (is_crl) {
			log_info("fetching the CRL failed (%s): trying the "
			    "cache", status == -1 ? err : "bad status");
			cache_get(S.kds_url, CACHE_CRL);
			return;
		}
		/* Fail closed: no VCEK, no secret. */
		attempt_failed("validating attestation: fetching VCEK from "
		    "AMD KDS: %s", status == -1 ? err : "unexpected status");
		return;
	}
	cache_put(S.kds_url, body, len);
	buf_reset(is_crl ? &S.crl : &S.vcek);
	buf_add(is_crl ? &S.crl : &S.vcek, body, len);
	verify_doc();
}

static void
kds_fetch(const char *url, int is_crl)
{
	strlcpy(S.kds_url, url, sizeof(S.kds_url));
	S.step = ST_KDS;
	if (fetch_start("GET", NO_KDS, url, 0, NULL, NULL, 0, kds_done,
	    is_crl ? (void *)1 : NULL) == -1)
		attempt_failed("validating attestation: bad KDS URL %s", url);
}

/* The parent's MSG_CACHE_ANS: found flag, bytes. */
static void
cache_answered(const struct msg_hdr *hdr, struct msgr *r, void *arg)
{
	const uint8_t	*p;
	size_t		 n;
	int		 found;

	if (hdr == NULL || (S.step != ST_KDS_CACHE && S.step !=
	    ST_PCS_CACHE) || hdr->id != S.log_id)
		return;		/* the parent is gone, or the attempt */
	found = msg_get_u8(r);
	p = msg_get_bytes(r, &n);
	if (msg_end(r) == -1) {
		attempt_failed("validating attestation: malformed cache answer");
		return;
	}
	if (S.step == ST_PCS_CACHE) {
		pcs_cached(found, p, n);
		return;
	}
	if (S.kds_is_crl) {
		if (!found || !attest_crl_usable(p, n, now())) {
			/* Fail closed: no valid CRL, no secret. */
			attempt_failed("validating attestation: no valid CRL: "
			    "fetch failed and %s", found ? "the cached CRL "
			    "has expired" : "none is cached");
			return;
		}
		buf_reset(&S.crl);
		buf_add(&S.crl, p, n);
		verify_doc();
		return;
	}
	if (!found) {
		kds_fetch(S.kds_url, 0);
		return;
	}
	buf_reset(&S.vcek);
	buf_add(&S.vcek, p, n);
	verify_doc();
}

/*
 * The verifier asks for PCS answers: fetch them in turn.  An answer it
 * asks for again although held would loop: refuse.
 */
static int
pcs_plan(const struct attest_result *res)
{
	size_t	i;
	int	k;

	for (k = 0; k < res->npcs_need && k < ATT_PCS_NEED_MAX; k++) {
		for (i = 0; i < S.npcs; i++)
			if (strcmp(S.pcs[i].url, res->pcs_need[k].url) == 0)
				return -1;
		S.pcs_todo[k].kind = res->pcs_need[k].kind;
		strlcpy(S.pcs_todo[k].url, res->pcs_need[k].url,
		    sizeof(S.pcs_todo[k].url));
	}
	if (S.npcs + (size_t)k > ATT_PCS_MAX)
		return -1;
	S.npcs_todo = k;
	S.pcs_next = 0;
	return 0;
}

static void
verify_doc(void)
{
	struct attest_input	in;
	struct attest_result	res;
	struct attest_pcs_doc	docs[ATT_PCS_MAX];
	enum attest_reason	r;
	size_t			i;

	memset(&in, 0, sizeof(in));
	memset(docs, 0, sizeof(docs));
	for (i = 0; i < S.npcs; i++) {
		docs[i].url = S.pcs[i].url;
		docs[i].body = S.pcs[i].body.p != NULL ? S.pcs[i].body.p :
		    (const uint8_t *)"";
		docs[i].body_len = S.pcs[i].body.len;
		docs[i].issuer_chain = S.pcs[i].chain;
		docs[i].issuer_chain_len = S.pcs[i].chain_len;
	}
	in.pcs = docs;
	in.npcs = S.npcs;
	in.nonce = S.nonce;
	in.nonce_len = sizeof(S.nonce);
	in.doc = S.doc.p;
	in.doc_len = S.doc.len;
	in.manifest = S.manifest.p;
	in.manifest_len = S.manifest.len;
	if (S.vcek.len > 0) {
		in.vcek = S.vcek.p;
		in.vcek_len = S.vcek.len;
	}
	if (S.crl.len > 0) {
		in.crl = S.crl.p;
		in.crl_len = S.crl.len;
	}
	S.trust.now = now();
	memset(&res, 0, sizeof(res));
	r = attest_verify_response(&S.trust, &in, &res);
	if (r == ATT_NEED_FETCH) {
		if (res.npcs_need > 0 && pcs_plan(&res) == 0)
			pcs_next();
		else if (res.npcs_need > 0)
			attempt_failed("validating attestation: Intel PCS "
			    "collateral unusable: %s", res.message);
		else if (res.need_vcek && S.vcek.len == 0)
			cache_get(res.vcek_url, CACHE_VCEK);
		else if (res.need_crl && S.crl.len == 0)
			kds_fetch(res.crl_url, 1);
		else
			attempt_failed("validating attestation: KDS data "
			    "unusable: %s", res.message);
		attest_result_free(&res);
		return;
	}
	if (r != ATT_OK) {
		metrics.attest_fail[r < M_NREASONS ? r : 0]++;
		if (r == ATT_ERR_MANIFEST_MISMATCH)
			S.no_retry = 1;
		attempt_failed("getting attested certificate: validating "
		    "attestation: %s (%s)", res.message,
		    attest_reason_label(r));
		attest_result_free(&res);
		return;
	}
	if (S.mesh_ca != NULL)
		X509_free(S.mesh_ca);
	S.mesh_ca = res.mesh_ca;
	res.mesh_ca = NULL;
	strlcpy(S.manifest_sha256, res.manifest_sha256,
	    sizeof(S.manifest_sha256));
	S.tcb = res.reported_tcb;
	S.platform = res.platform;
	S.tdx = res.tdx;
	S.attested_at = now();
	S.test_anchors = res.test_anchors;
	metrics.attest_ok++;
	if ((unsigned)res.platform < M_NPLATFORMS)
		metrics.attest_platform[res.platform]++;
	if (res.platform == ATT_PLATFORM_TDX)
		log_info("attestation verified: TDX quote v4, FMSPC %s, TCB %s "
		    "(tcbEvaluationDataNumber %lld), QE %s, manifest sha256 "
		    "%s%s", res.tdx.fmspc, res.tdx.tcb_status,
		    res.tdx.tcb_eval_num, res.tdx.qe_tcb_status,
		    res.manifest_sha256, res.test_anchors ?
		    " (TEST trust anchors)" : "");
	else
		log_info("attestation verified: %s SEV-SNP report v%u, "
		    "manifest sha256 %s, TCB bl %u tee %u snp %u ucode %u%s",
		    attest_product_name(res.product), res.report_version,
		    res.manifest_sha256, S.tcb.bl, S.tcb.tee, S.tcb.snp,
		    S.tcb.ucode, res.test_anchors ?
		    " (TEST trust anchors)" : "");
	attest_result_free(&res);
	step_exchange();
}

static void
attest_done(int status, const uint8_t *body, size_t len, const char *err,
    void *arg)
{
	if (http_status_error(status, body, len, err,
	    "getting attested certificate: doing request") == -1)
		return;
	buf_reset(&S.doc);
	buf_add(&S.doc, body, len);
	buf_reset(&S.vcek);
	buf_reset(&S.crl);
	pcs_reset();
	verify_doc();
}

static void
step_attest(void)
{
	char		 b64[64];
	struct buf	 body;

	S.step = ST_ATTEST;
	pubrand(S.nonce, sizeof(S.nonce));
	sodium_bin2base64(b64, sizeof(b64), S.nonce, sizeof(S.nonce),
	    sodium_base64_VARIANT_ORIGINAL);
	buf_init(&body, 64);
	buf_addf(&body, "{\"Nonce\":\"%s\"}", b64);
	if (api_post("/privatemode/v1/attest", &body, attest_done) == -1)
		attempt_failed("getting attested certificate: bad API URL");
	buf_free(&body);
}

static void
manifest_done(int status, const uint8_t *body, size_t len, const char *err,
    void *arg)
{
	struct buf	m;

	if (status == -1) {
		attempt_failed("updating mesh CA: fetching manifest: %s", err);
		return;
	}
	if (status != 200) {
		attempt_failed("updating mesh CA: fetching manifest: unexpected "
		    "status code: %d", status);
		return;
	}
	buf_reset(&S.manifest);
	buf_add(&S.manifest, body, len);
	/* The parent appends it to <workspace>/manifests before we trust it. */
	buf_init(&m, len + 16);
	msg_put_bytes(&m, body, len);
	S.step = ST_MANIFEST_LOG;
	S.log_id = calls_send(kenv->parent_calls, MSG_MANIFEST_LOG, &m,
	    manifest_logged, NULL, 0);
	buf_free(&m);
}

/* The parent's MSG_MANIFEST_LOGGED: "" or why the log failed. */
static void
manifest_logged(const struct msg_hdr *hdr, struct msgr *r, void *arg)
{
	char	*err;

	if (hdr == NULL || S.step != ST_MANIFEST_LOG || hdr->id != S.log_id)
		return;		/* the parent is gone, or the attempt */
	err = msg_get_str(r);
	if (msg_end(r) == -1 || err == NULL)
		attempt_failed("updating mesh CA: logging manifest: malformed "
		    "answer");
	else if (err[0] != '\0')
		attempt_failed("updating mesh CA: logging manifest: %s", err);
	else
		step_attest();
	free(err);
}

static void
step_ca(void)
{
	char	url[1024];

	if (kenv->conf->manifest_path != NULL) {
		if (!S.have_manifest) {
			S.no_retry = 1;
			attempt_failed("%s", S.last_error);
			return;
		}
		step_attest();
		return;
	}
	S.step = ST_MANIFEST;
	snprintf(url, sizeof(url), "%s/manifest.json?t=%lld",
	    kenv->conf->cdn_base_url, (long long)wall_ms());
	if (fetch_start("GET", NO_CDN, url, 0, NULL, NULL, 0, manifest_done,
	    NULL) == -1)
		attempt_failed("updating mesh CA: bad CDN URL %s", url);
}

/* --- the exchange ------------------------------------------------------ */

static void
exchange_done(int status, const uint8_t *body, size_t len, const char *err,
    void *arg)
{
	struct sx_secret	*sec;
	struct cerr		 ce;

	if (http_status_error(status, body, len, err,
	    "exchanging secret: doing request") == -1)
		return;
	if (sx_finish(S.sx, body, len, S.mesh_ca, now(), &sec, &ce) == -1) {
		sx_free(S.sx);
		S.sx = NULL;
		if (S.exchanged_with_cached_ca) {
			/* The CA may have rotated: attest again, once. */
			S.exchanged_with_cached_ca = 0;
			log_info("secret exchange failed (%s): re-attesting",
			    ce.msg);
			step_ca();
			return;
		}
		attempt_failed("exchanging secret: %s", ce.msg);
		return;
	}
	sx_free(S.sx);
	S.sx = NULL;
	replace_secret(sec);
	S.obtained = now();
	metrics.secret_exchanges++;
	S.expires = now() + kenv->conf->test_secret_lifetime / 1000;
	S.step = ST_IDLE;
	S.failures = 0;
	S.last_code = PME_NOT_ATTESTED;
	S.last_error[0] = '\0';
	S.offer_pending = 0;
	log_info("inference secret %.8s... established, valid for %lld s",
	    sec->id, (long long)(kenv->conf->test_secret_lifetime / 1000));
	timer_in(kenv->conf->test_secret_lifetime, refresh_cb);
	report_state(1, "attested");
	relay_secret_ready();
}

static void
step_exchange(void)
{
	struct buf	 body;
	struct cerr	 ce;

	S.step = ST_EXCHANGE;
	buf_init(&body, 2048);
	if (sx_begin(&S.sx, &body, &ce) == -1) {
		buf_free(&body);
		attempt_failed("exchanging secret: generating key: %s", ce.msg);
		return;
	}
	if (api_post("/privatemode/v1/secret", &body, exchange_done) == -1)
		attempt_failed("exchanging secret: bad API URL");
	buf_free(&body);
}

static void
attempt_run(void)
{
	if (S.mesh_ca == NULL) {
		S.exchanged_with_cached_ca = 0;
		step_ca();
	} else {
		S.exchanged_with_cached_ca = 1;
		step_exchange();
	}
}

static void
update_start(int force)
{
	if (S.step != ST_IDLE || !secret_have_key())
		return;
	evtimer_del(S.timer);
	S.attempt = 1;
	S.no_retry = 0;
	S.last_code = PME_NOT_ATTESTED;
	log_debug("secret update starting%s", force ? " (forced)" : "");
	attempt_run();
}
