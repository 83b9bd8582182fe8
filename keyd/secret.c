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

#define ATTEMPTS		3
#define RETRY_BASE_MS		1000
#define BACKOFF_MAX_MS		60000
#define REFRESH_GRACE_S		(10 * 60)	/* old secret still usable */

enum step {
	ST_IDLE, ST_MANIFEST, ST_MANIFEST_LOG, ST_ATTEST, ST_KDS_CACHE, ST_KDS,
	ST_EXCHANGE
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
	int			 last_status;	/* 503, or 401 for a bad key */
	char			 manifest_sha256[65];
	struct attest_tcb	 tcb;
	time_t			 attested_at;
	int			 test_anchors;
	int64_t			 clock_offset;	/* test hook */
	uint32_t		 log_id;	/* request id to the parent */
	int			 reported;	/* 1 ready, 2 failed, 0 never */
	char			 kds_url[ATT_URL_MAX];
	int			 kds_is_crl;
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
	S.last_status = 503;
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
		buf_addf(&b, ",\"manifest_sha256\":\"%s\",\"tcb\":{\"bootloader\""
		    ":%u,\"tee\":%u,\"snp\":%u,\"microcode\":%u},"
		    "\"last_attestation\":\"%s\"", S.manifest_sha256, S.tcb.bl,
		    S.tcb.tee, S.tcb.snp, S.tcb.ucode, ts);
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
	int	bad_key = S.last_status == 401;

	S.step = ST_IDLE;
	S.failures++;
	report_state(0, S.last_error);
	if (bad_key && S.offered != NULL) {
		/* A client's key that does not work is dropped again. */
		sodium_free(S.offered);
		S.offered = NULL;
		S.offered_len = 0;
	}
	relay_secret_failed(S.offer_pending ? 401 : S.last_status,
	    S.offer_pending ? "invalid_api_key" : bad_key ?
	    "invalid_api_key" : "not_attested", S.last_error);
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
		S.last_status = 401;
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

static void
cache_get(const char *url, int is_crl)
{
	struct buf	m;

	strlcpy(S.kds_url, url, sizeof(S.kds_url));
	S.kds_is_crl = is_crl;
	S.step = ST_KDS_CACHE;
	buf_init(&m, strlen(url) + 16);
	msg_put_str(&m, url);
	S.log_id = calls_send(kenv->parent_calls, MSG_CACHE_GET, &m,
	    cache_answered, NULL, 0);
	buf_free(&m);
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
			cache_get(S.kds_url, 1);
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

	if (hdr == NULL || S.step != ST_KDS_CACHE || hdr->id != S.log_id)
		return;		/* the parent is gone, or the attempt */
	found = msg_get_u8(r);
	p = msg_get_bytes(r, &n);
	if (msg_end(r) == -1) {
		attempt_failed("validating attestation: malformed cache answer");
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

static void
verify_doc(void)
{
	struct attest_input	in;
	struct attest_result	res;
	enum attest_reason	r;

	memset(&in, 0, sizeof(in));
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
		if (res.need_vcek && S.vcek.len == 0)
			cache_get(res.vcek_url, 0);
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
	S.attested_at = now();
	S.test_anchors = res.test_anchors;
	metrics.attest_ok++;
	log_info("attestation verified: %s SEV-SNP report v%u, manifest "
	    "sha256 %s, TCB bl %u tee %u snp %u ucode %u%s",
	    attest_product_name(res.product), res.report_version,
	    res.manifest_sha256, S.tcb.bl, S.tcb.tee, S.tcb.snp, S.tcb.ucode,
	    res.test_anchors ? " (TEST trust anchors)" : "");
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
	S.last_status = 503;
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
	S.last_status = 503;
	log_debug("secret update starting%s", force ? " (forced)" : "");
	attempt_run();
}
