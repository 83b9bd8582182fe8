/*
 * The keyd process: its channels, what the parent hands over, the
 * sandbox, and the dispatch of worker requests.
 */

#include "config.h"

#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <sodium.h>

#include "buf.h"
#include "calls.h"
#include "chan.h"
#include "conf.h"
#include "dpmsg.h"
#include "ipc.h"
#include "kd.h"
#include "keyd.h"
#include "log.h"
#include "metrics.h"
#include "privdrop.h"
#include "sandbox.h"
#include "seal.h"
#include "tlsmsg.h"
#include "tlssign.h"
#include "tunnel.h"
#include "util.h"
#ifdef TEST_HOOKS
#include "testhook.h"
#endif

/* keyd's life: configured by the parent, sandboxed, then given secrets. */
enum keyd_state {
	KS_INIT = 0x01,		/* waiting for MSG_CONFIG */
	KS_SANDBOXED = 0x02,	/* sandbox on, waiting for MSG_SECRETS */
	KS_READY = 0x04		/* secrets installed, serving the worker */
};
#define KS_ANY	(KS_INIT | KS_SANDBOXED | KS_READY)

enum peer { FROM_PARENT, FROM_WORKER };

typedef int	(*keyd_handler)(struct chan *, const struct msg_hdr *,
		    struct msgr *);

static int	k_files(struct chan *, const struct msg_hdr *, struct msgr *);
static int	k_config(struct chan *, const struct msg_hdr *, struct msgr *);
static int	k_secrets(struct chan *, const struct msg_hdr *, struct msgr *);
static int	k_shutdown(struct chan *, const struct msg_hdr *, struct msgr *);
static int	k_status(struct chan *, const struct msg_hdr *, struct msgr *);
static int	k_parent_answer(struct chan *, const struct msg_hdr *,
		    struct msgr *);
static int	k_metrics(struct chan *, const struct msg_hdr *, struct msgr *);
static int	k_req(struct chan *, const struct msg_hdr *, struct msgr *);
static int	k_req_ctl(struct chan *, const struct msg_hdr *, struct msgr *);
static int	k_net_fd(struct chan *, const struct msg_hdr *, struct msgr *);
static int	k_tls_key(struct chan *, const struct msg_hdr *, struct msgr *);
static int	k_tls_sign(struct chan *, const struct msg_hdr *, struct msgr *);
#ifdef TEST_HOOKS
static int	k_test_syscall(struct chan *, const struct msg_hdr *,
		    struct msgr *);
static int	k_test_clock(struct chan *, const struct msg_hdr *,
		    struct msgr *);
#endif

/*
 * The gated request table (OpenSSH's monitor style): a message is
 * answered only if its row names the sending peer and the current state.
 * Anything else is fatal for the channel, and losing a channel ends keyd.
 */
static const struct keyd_req {
	unsigned int	type;
	enum peer	from;
	unsigned int	states;
	keyd_handler	fn;
} keyd_reqs[] = {
	{ MSG_KEYD_FILES,	FROM_PARENT,	KS_INIT,	k_files },
	{ MSG_CONFIG,		FROM_PARENT,	KS_INIT,	k_config },
	{ MSG_SECRETS,		FROM_PARENT,	KS_SANDBOXED,	k_secrets },
	{ MSG_TLS_KEY,		FROM_PARENT,	KS_SANDBOXED | KS_READY, k_tls_key },
	{ MSG_SHUTDOWN,		FROM_PARENT,	KS_ANY,		k_shutdown },
	{ MSG_MANIFEST_LOGGED,	FROM_PARENT,	KS_READY,	k_parent_answer },
	{ MSG_CACHE_ANS,	FROM_PARENT,	KS_READY,	k_parent_answer },
	{ MSG_METRICS_REQ,	FROM_PARENT,	KS_ANY,		k_metrics },
	{ MSG_STATUS_REQ,	FROM_WORKER,	KS_SANDBOXED | KS_READY, k_status },
	{ MSG_REQ,		FROM_WORKER,	KS_READY,	k_req },
	{ MSG_REQ_CTL,		FROM_WORKER,	KS_READY,	k_req_ctl },
	{ MSG_NET_FD,		FROM_WORKER,	KS_READY,	k_net_fd },
	{ MSG_TLS_SIGN,		FROM_WORKER,	KS_READY,	k_tls_sign },
#ifdef TEST_HOOKS
	{ MSG_TEST_SYSCALL,	FROM_WORKER,	KS_SANDBOXED | KS_READY,
	    k_test_syscall },
	{ MSG_TEST_CLOCK,	FROM_WORKER,	KS_READY,	k_test_clock },
#endif
};

static struct {
	struct keyd_env		 env;
	struct event_base	*base;
	struct config		*conf;
	struct chan		*parent;
	struct chan		*worker;
	enum keyd_state		 state;
	char			*api_key;	/* sodium_malloc'd, or NULL */
	size_t			 api_key_len;
	char			*salt;		/* sodium_malloc'd, or NULL */
	size_t			 salt_len;
	struct keyd_files	 files;
	struct calls		 parent_calls;
} k;

struct keyd_env	*kenv = &k.env;

/* --- logging through the parent ----------------------------------- */

static void
keyd_log_sink(int prio, const char *msg, void *arg)
{
	struct buf	m;

	if (k.parent == NULL)
		return;
	buf_init(&m, strlen(msg) + 16);
	msg_put_u32(&m, (uint32_t)prio);
	/* A line longer than a frame allows is cut, never dropped. */
	msg_put_bytes(&m, msg, MINIMUM(strlen(msg), IPC_MAX_SMALL - 64));
	chan_send(k.parent, MSG_LOG, 0, &m);
	buf_free(&m);
}

static void
keyd_fatal_hook(void)
{
	if (k.parent != NULL)
		chan_flush_sync(k.parent, 1000);
}

/* --- the table ---------------------------------------------------- */

static int
keyd_dispatch(struct chan *c, const struct msg_hdr *hdr, struct msgr *r,
    void *arg)
{
	enum peer	from = (enum peer)(intptr_t)arg;
	size_t		i;

	for (i = 0; i < nitems(keyd_reqs); i++) {
		if (keyd_reqs[i].type != hdr->type)
			continue;
		if (keyd_reqs[i].from != from) {
			log_warnx("%s may not send %s", chan_peer(c),
			    msg_to_str(hdr->type));
			return -1;
		}
		if (!(keyd_reqs[i].states & k.state)) {
			log_warnx("%s: %s not permitted in state %d",
			    chan_peer(c), msg_to_str(hdr->type), k.state);
			return -1;
		}
		return keyd_reqs[i].fn(c, hdr, r);
	}
	log_warnx("%s: unexpected %s", chan_peer(c), msg_to_str(hdr->type));
	return -1;
}

static void
keyd_closed(struct chan *c, const char *why, void *arg)
{
	enum peer	from = (enum peer)(intptr_t)arg;

	/* Either peer gone means this keyd has nobody left to serve. */
	if (from == FROM_PARENT)
		k.parent = k.env.parent = NULL;
	else
		k.worker = k.env.worker = NULL;
	if (from == FROM_WORKER && strcmp(why, "closed by peer") == 0) {
		log_debug("worker gone, exiting");
		keyd_fatal_hook();
		exit(0);
	}
	fatalx("%s channel: %s", from == FROM_PARENT ? "parent" : "worker",
	    why);
}

/* --- handlers ----------------------------------------------------- */

static int
get_file(struct msgr *r, struct buf *b, int *have)
{
	const uint8_t	*p;
	size_t		 n;

	*have = msg_get_u8(r);
	p = msg_get_bytes(r, &n);
	buf_init(b, n);
	buf_add(b, p, n);
	return r->err ? -1 : 0;
}

/* The parent read them for us: keyd never opens a file. */
static int
k_files(struct chan *c, const struct msg_hdr *hdr, struct msgr *r)
{
	struct keyd_files	*f = &k.files;

	if (f->loaded)
		return -1;
	if (get_file(r, &f->ca, &f->have_ca) == -1 ||
	    get_file(r, &f->genoa, &f->have_genoa) == -1 ||
	    get_file(r, &f->milan, &f->have_milan) == -1 ||
	    get_file(r, &f->turin, &f->have_turin) == -1 ||
	    get_file(r, &f->manifest, &f->have_manifest) == -1 ||
	    get_file(r, &f->intel, &f->have_intel) == -1 ||
	    msg_end(r) == -1)
		return -1;
	f->loaded = 1;
	k.env.files = f;
	return 0;
}

/*
 * Everything that needs the filesystem or privileges happens here, before
 * the sandbox: OpenSSL and libsodium initialisation (they probe files and
 * the entropy source), then the drop and the filter.  Only then do we
 * tell the parent we are ready for secrets.
 */
static int
k_config(struct chan *c, const struct msg_hdr *hdr, struct msgr *r)
{
	struct privdrop	 pd;
	struct buf	 m;
	uint8_t		 probe[16];
	char		*port, err[256];
	int		 privflags;
	uint32_t	 uid, gid;

	k.conf = config_new();
	if (config_unmarshal(k.conf, r) == -1)
		return -1;
	privflags = msg_get_u8(r);
	uid = msg_get_u32(r);
	gid = msg_get_u32(r);
	(void)msg_get_u32(r);	/* listener counts: workers only */
	(void)msg_get_u32(r);
	if (msg_end(r) == -1)
		return -1;
	log_setlevel(k.conf->log_level);
	chan_set_data_cap(k.worker, ipc_data_cap(k.conf->max_body_size));

	if (sodium_init() < 0)
		fatalx("sodium_init");
	if (OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG, NULL) != 1)
		fatalx("OPENSSL_init_ssl");
	if (RAND_bytes(probe, sizeof(probe)) != 1)
		fatalx("RAND_bytes");
	randombytes_buf(probe, sizeof(probe));

	/* Every file keyd will ever need is read now, before the drop. */
	k.env.conf = k.conf;
	if (split_hostport(k.conf->api_endpoint, &k.env.api_host, &port,
	    "443") == -1)
		fatalx("bad api_endpoint");
	k.env.api_port = (uint16_t)atoi(port);
	free(port);
	if (!k.files.loaded)
		fatalx("MSG_CONFIG before MSG_KEYD_FILES");
	if (tun_ctx_init(k.files.have_ca ? &k.files.ca : NULL,
	    k.conf->insecure_api_connection, err, sizeof(err)) == -1)
		fatalx("TLS client setup: %s", err);
	seal_init();
	secret_init();
	tlssign_init();

	privdrop_child_init(&pd, privflags, k.conf->chroot_dir, uid, gid);
	/* Its channels, and an upstream socket per connection it holds. */
	pd.nofile = k.conf->max_connections + 128;
#ifdef SANDBOX_NONE
	pd.fsize = -1;	/* sanitizer reports go to stderr, maybe a file */
#else
	pd.fsize = 0;
#endif
	privdrop(&pd);
	sandbox_keyd();
#ifndef SANDBOX_NONE
	if (!sandbox_active())
		fatalx("seccomp filter is not active");
#endif
	k.state = KS_SANDBOXED;
	log_debug("sandbox %s active", sandbox_name());
	buf_init(&m, 16);
	msg_put_str(&m, sandbox_name());
	chan_send(k.parent, MSG_SANDBOXED, 0, &m);
	buf_free(&m);
	return 0;
}

static char *
secret_copy(const uint8_t *p, size_t n, size_t *lenp)
{
	char	*s;

	if ((s = sodium_malloc(n + 1)) == NULL)
		fatal("sodium_malloc");
	memcpy(s, p, n);
	s[n] = '\0';
	*lenp = n;
	return s;
}

static int
k_secrets(struct chan *c, const struct msg_hdr *hdr, struct msgr *r)
{
	const uint8_t	*key, *salt;
	size_t		 keylen, saltlen;
	uint8_t		 has_key, has_salt;
	struct buf	 m;

	has_key = msg_get_u8(r);
	key = msg_get_bytes(r, &keylen);
	has_salt = msg_get_u8(r);
	salt = msg_get_bytes(r, &saltlen);
	if (msg_end(r) == -1)
		return -1;
	if (has_key) {
		k.api_key = secret_copy(key, keylen, &k.api_key_len);
		k.env.api_key = k.api_key;
		k.env.api_key_len = k.api_key_len;
	}
	if (has_salt) {
		k.salt = secret_copy(salt, saltlen, &k.salt_len);
		k.env.salt = k.salt;
		k.env.salt_len = k.salt_len;
	}
	/* The frame lives on in the channel buffer until drained: scrub it. */
	sodium_memzero((void *)(uintptr_t)key, keylen);
	sodium_memzero((void *)(uintptr_t)salt, saltlen);
	k.state = KS_READY;
	/* The worker's queued requests are read from now on. */
	chan_pause(k.worker, 0);
	log_debug("secrets installed (api key: %s)", has_key ? "yes" : "no");
	buf_init(&m, 16);
	chan_send(k.parent, MSG_SECRETS_DONE, 0, &m);
	buf_free(&m);
	/* With a configured key, attest right away (not on first use). */
	if (has_key)
		(void)secret_current();
	return 0;
}

static int
k_shutdown(struct chan *c, const struct msg_hdr *hdr, struct msgr *r)
{
	(void)msg_get_i64(r);
	if (msg_end(r) == -1)
		return -1;
	log_debug("shutdown");
	keyd_fatal_hook();
	exit(0);
}

static int
k_status(struct chan *c, const struct msg_hdr *hdr, struct msgr *r)
{
	struct buf	 m;
	char		*detail;
	int		 ready = 0;

	if (msg_end(r) == -1)
		return -1;
	if (k.state != KS_READY)
		detail = xstrdup("{\"ready\":false,\"reason\":\"keyd "
		    "starting\"}");
	else
		detail = secret_status_json(&ready);
	buf_init(&m, 256);
	msg_put_u8(&m, (uint8_t)ready);
	msg_put_str(&m, detail);
	chan_send(c, MSG_STATUS_ANS, hdr->id, &m);
	buf_free(&m);
	free(detail);
	return 0;
}

/* MSG_MANIFEST_LOGGED, MSG_CACHE_ANS: answers to keyd's own calls. */
static int
k_parent_answer(struct chan *c, const struct msg_hdr *hdr, struct msgr *r)
{
	if (calls_answer(&k.parent_calls, hdr, r) == -1) {
		log_warnx("parent: unsolicited %s (id %u)",
		    msg_to_str(hdr->type), hdr->id);
		return -1;
	}
	return 0;
}

static int
k_metrics(struct chan *c, const struct msg_hdr *hdr, struct msgr *r)
{
	struct buf	m;

	if (msg_end(r) == -1)
		return -1;
	if (k.state == KS_READY)
		secret_gauges(&metrics.secret_age_s, &metrics.secret_ready);
	metrics.processes = 1;
	buf_init(&m, sizeof(metrics));
	msg_put_raw(&m, &metrics, sizeof(metrics));
	chan_send(c, MSG_METRICS_ANS, hdr->id, &m);
	buf_free(&m);
	return 0;
}

/* --- the data path ------------------------------------------------------ */

static int
k_req(struct chan *c, const struct msg_hdr *hdr, struct msgr *r)
{
	return relay_request(hdr->id, r);
}

static int
k_req_ctl(struct chan *c, const struct msg_hdr *hdr, struct msgr *r)
{
	return relay_ctl(hdr->id, r);
}

/* The worker's answer to MSG_NET_OPEN: a connected socket, or why not. */
static int
k_net_fd(struct chan *c, const struct msg_hdr *hdr, struct msgr *r)
{
	enum dp_fd_fail	 why;
	char		*err;
	int		 fd = -1, rv;

	if (dp_fd_get(r, &why, &err) == -1)
		return -1;
	if (why == DPF_OK && (fd = chan_take_fd(c)) == -1) {
		log_warnx("worker: connection %u handed over without its "
		    "descriptor", hdr->id);
		free(err);
		return -1;
	}
	rv = ktun_handover(hdr->id, why, err, fd);
	free(err);
	return rv;
}

/*
 * The client-facing TLS key: from the parent after the sandbox is on (at
 * start, before the secrets; again when the files were renewed), never
 * from the worker, which only asks for signatures.
 */
static int
k_tls_key(struct chan *c, const struct msg_hdr *hdr, struct msgr *r)
{
	const uint8_t	*pem;
	size_t		 len;

	if (tls_pem_get(r, &pem, &len) == -1)
		return -1;
	if (tlssign_set_key(pem, len) == -1)
		log_warnx("TLS key from the parent not usable: keeping the "
		    "one before, if any");
	return 0;
}

static int
k_tls_sign(struct chan *c, const struct msg_hdr *hdr, struct msgr *r)
{
	return tlssign_request(c, hdr, r);
}

#ifdef TEST_HOOKS
static int
k_test_syscall(struct chan *c, const struct msg_hdr *hdr, struct msgr *r)
{
	char	*name = msg_get_str(r);

	if (msg_end(r) == -1 || name == NULL) {
		free(name);
		return -1;
	}
	test_forbidden_syscall(name, keyd_fatal_hook);
	free(name);
	return 0;
}

static int
k_test_clock(struct chan *c, const struct msg_hdr *hdr, struct msgr *r)
{
	int64_t	seconds;

	seconds = msg_get_i64(r);
	if (msg_end(r) == -1)
		return -1;
	secret_advance_clock(seconds);
	return 0;
}
#endif

int
keyd_main(int instance)
{
	log_procinit("keyd", instance);
	chan_set_identity("keyd", instance);
	/*
	 * The worker's exit ends us (channel EOF), so that a draining worker
	 * keeps its keyd; signals meant for the whole group do not.
	 */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	heap_keep_freed();
	k.state = KS_INIT;
	if ((k.base = event_base_new()) == NULL)
		fatalx("event_base_new");
	k.parent = chan_new(k.base, IPC_FD_PARENT, "parent", IPC_MAX_CONFIG,
	    keyd_dispatch, keyd_closed, (void *)(intptr_t)FROM_PARENT);
	k.worker = chan_new(k.base, IPC_FD_PEER, "worker", 0, keyd_dispatch,
	    keyd_closed, (void *)(intptr_t)FROM_WORKER);
	/* Upstream sockets come from the worker, from nobody else. */
	chan_accept_fds(k.worker);
	calls_init(&k.parent_calls, k.base, k.parent);
	k.env.base = k.base;
	k.env.parent = k.parent;
	k.env.parent_calls = &k.parent_calls;
	k.env.worker = k.worker;
	/* Nothing from the worker is read before the secrets are in. */
	chan_pause(k.worker, 1);
	log_setsink(keyd_log_sink, NULL);
	log_setfatalhook(keyd_fatal_hook);
	event_base_dispatch(k.base);
	return 0;
}
