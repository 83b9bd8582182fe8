/*
 * The worker process: its channels to the parent and to its keyd, the
 * sandbox, and the event loop that runs the server.
 */

#include "config.h"

#include <sys/queue.h>

#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "access.h"
#include "calls.h"
#include "chan.h"
#include "conf.h"
#include "ipc.h"
#include "log.h"
#include "metrics.h"
#include "privatemoded.h"
#include "privdrop.h"
#include "proxy.h"
#include "route.h"
#include "sandbox.h"
#include "server.h"
#include "tls.h"
#include "tlsmsg.h"
#include "upstream.h"
#include "util.h"
#include "worker.h"

static struct {
	struct worker_env	 env;
	struct config		*conf;
	struct chan		*parent;
	struct chan		*keyd;
	struct server		*srv;
	int			 fds[64];
	int			 nfds;
	int			 nmetrics;
	int			 draining;
	int			 exit_status;
	struct event		*drain_timer;
	struct ssl_ctx_st	*tls;		/* client-facing TLS, or NULL */
	struct calls		 keyd_calls;	/* waiting for keyd's answer */
	struct calls		 parent_calls;	/* ... for the parent's */
} w;

struct worker_env	*wenv = &w.env;

/* Without keyd: time for the error events to reach their clients. */
#define KEYD_LOST_DRAIN_MS	2000

static void	worker_exit(int);
static void	worker_drain(int64_t);

/* --- calls to keyd and the parent ----------------------------------- */

uint32_t
keyd_call(unsigned int type, const struct buf *m, call_cb cb, void *arg,
    int timeout_ms)
{
	return calls_send(&w.keyd_calls, type, m, cb, arg, timeout_ms);
}

uint32_t
parent_call(unsigned int type, const struct buf *m, call_cb cb, void *arg,
    int timeout_ms)
{
	return calls_send(&w.parent_calls, type, m, cb, arg, timeout_ms);
}

void
keyd_cancel(uint32_t id)
{
	calls_forget(&w.keyd_calls, id);
}

void
parent_cancel(uint32_t id)
{
	calls_forget(&w.parent_calls, id);
}

void
parent_send(unsigned int type, const struct buf *m)
{
	if (w.parent != NULL)
		chan_send(w.parent, type, 0, m);
}

void
keyd_send(unsigned int type, uint32_t id, const struct buf *m)
{
	if (w.keyd != NULL)
		chan_send(w.keyd, type, id, m);
}

void
keyd_send_fd(unsigned int type, uint32_t id, const struct buf *m, int fd)
{
	if (w.keyd != NULL)
		chan_send_fd(w.keyd, type, id, m, fd);
	else
		close(fd);
}

int
keyd_alive(void)
{
	return w.keyd != NULL;
}

static int
keyd_dispatch(struct chan *c, const struct msg_hdr *hdr, struct msgr *r,
    void *arg)
{
	/* The data path is not request/answer: keyd speaks when it must. */
	if (hdr->type == MSG_RESP)
		return proxy_answer(hdr->id, r);
	if (hdr->type == MSG_NET_OPEN)
		return upstream_open(hdr->id, r);
	if (calls_answer(&w.keyd_calls, hdr, r) == -1) {
		log_warnx("keyd: unsolicited %s (id %u)", msg_to_str(hdr->type),
		    hdr->id);
		return -1;
	}
	return 0;
}

static void
keyd_closed(struct chan *c, const char *why, void *arg)
{
	log_warnx("keyd channel lost: %s", why);
	w.keyd = NULL;
	calls_lost(&w.keyd_calls);
	/*
	 * Without keyd this pair cannot serve: every exchange in flight ends
	 * with an error its client can read, then the worker drains and the
	 * parent respawns the pair.
	 */
	proxy_keyd_lost();
	/* Nor can a request whose body is still on its way (bench/soak). */
	if (w.srv != NULL)
		server_refuse_incomplete(w.srv, PME_KEYD_UNAVAILABLE);
	w.exit_status = 1;
	worker_drain(KEYD_LOST_DRAIN_MS);
}

/* --- lifecycle ---------------------------------------------------- */

static void
worker_exit(int status)
{
	if (w.srv != NULL)
		server_close_all(w.srv);
	upstream_close_all();
	/* The usage of the last requests survives this worker. */
	access_flush();
	if (w.parent != NULL)
		chan_flush_sync(w.parent, 1000);
	exit(status);
}

static void
drain_done(struct server *s, void *arg)
{
	log_debug("drained, exiting");
	worker_exit(w.exit_status);
}

static void
drain_timeout(evutil_socket_t fd, short ev, void *arg)
{
	log_warnx("shutdown timeout: closing %d connection(s)",
	    server_nconns(w.srv));
	worker_exit(w.exit_status);
}

static void
worker_drain(int64_t timeout_ms)
{
	struct timeval	tv;

	if (w.draining)
		return;
	w.draining = 1;
	if (w.srv == NULL)
		worker_exit(w.exit_status);
	ms_to_tv(timeout_ms, &tv);
	w.drain_timer = evtimer_new(w.env.base, drain_timeout, NULL);
	evtimer_add(w.drain_timer, &tv);
	server_drain(w.srv, drain_done, NULL);
}

static void
worker_configure(struct msgr *r)
{
	struct privdrop	 pd;
	struct buf	 m;
	int		 privflags, i;
	uint32_t	 uid, gid, nfds, nmetrics;

	w.conf = config_new();
	if (config_unmarshal(w.conf, r) == -1)
		fatalx("parent: malformed MSG_CONFIG");
	privflags = msg_get_u8(r);
	uid = msg_get_u32(r);
	gid = msg_get_u32(r);
	nfds = msg_get_u32(r);
	nmetrics = msg_get_u32(r);
	if (msg_end(r) == -1 || nfds + nmetrics > nitems(w.fds))
		fatalx("parent: malformed MSG_CONFIG");
	w.env.conf = w.conf;
	chan_set_data_cap(w.keyd, ipc_data_cap(w.conf->max_body_size));
	chan_set_data_cap(w.parent, ipc_data_cap(w.conf->max_body_size));
	log_setlevel(w.conf->log_level);
	log_setformat(w.conf->log_format);
	for (i = 0; i < (int)(nfds + nmetrics); i++)
		w.fds[i] = IPC_FD_LISTEN0 + i;
	w.nfds = (int)nfds;
	w.nmetrics = (int)nmetrics;

	privdrop_child_init(&pd, privflags, w.conf->chroot_dir, uid, gid);
	pd.nofile = 2 * w.conf->max_connections + 128;
	upstream_init();	/* reads resolv.conf: before the chroot */
	privdrop(&pd);

	if (w.conf->tls_cert != NULL && w.tls == NULL)
		fatalx("TLS is configured but no certificate arrived");
	if (!access_have_policy())
		fatalx("no client access policy arrived (MSG_CLIENTS)");
	w.srv = server_new(w.env.base, w.conf, w.fds, w.nfds, w.nmetrics,
	    w.tls, route_head, route_request);
	/* Everything is set up: from here on, the allow-list. */
	sandbox_worker();
#ifndef SANDBOX_NONE
	if (!sandbox_active())
		fatalx("seccomp filter is not active");
#endif
	chan_pause(w.keyd, 0);
	log_debug("serving on %d listener(s), sandbox %s", w.nfds,
	    sandbox_name());
	buf_init(&m, 16);
	chan_send(w.parent, MSG_CONFIG_DONE, 0, &m);
	buf_free(&m);
}

static int
parent_dispatch(struct chan *c, const struct msg_hdr *hdr, struct msgr *r,
    void *arg)
{
	struct buf	 m;
	struct ssl_ctx_st *ctx;
	const uint8_t	*pem;
	size_t		 len;
	int64_t		 timeout;

	switch (hdr->type) {
	case MSG_TLS_CERT:
		if (w.conf == NULL && w.tls != NULL)
			return -1;
		/* The chain only: the key is keyd's (daemon/tls.c). */
		if (tls_pem_get(r, &pem, &len) == -1) {
			log_warnx("parent: malformed %s", msg_to_str(hdr->type));
			return -1;
		}
		ctx = tls_server_ctx(pem, len);
		if (w.conf == NULL) {
			w.tls = ctx;
			return w.tls == NULL ? -1 : 0;
		}
		/*
		 * A renewed certificate (the parent saw the files change): for
		 * the connections from now on; a bad pair keeps the old one.
		 */
		if (ctx == NULL || w.srv == NULL || w.tls == NULL) {
			log_warnx("renewed TLS certificate not usable: keeping "
			    "the current one");
			if (ctx != NULL)
				SSL_CTX_free(ctx);
			return 0;
		}
		server_set_tls(w.srv, ctx);
		w.tls = ctx;
		log_debug("TLS certificate renewed for new connections");
		return 0;
	case MSG_CLIENTS:
		if (access_set_policy(r) == -1) {
			log_warnx("parent: malformed MSG_CLIENTS");
			return -1;
		}
		return 0;
	case MSG_CONFIG:
		if (w.conf != NULL) {
			log_warnx("parent: second MSG_CONFIG");
			return -1;
		}
		worker_configure(r);
		return 0;
	case MSG_SHUTDOWN:
		timeout = msg_get_i64(r);
		if (msg_end(r) == -1)
			return -1;
		worker_drain(timeout);
		return 0;
	case MSG_METRICS_REQ:
		if (msg_end(r) == -1)
			return -1;
		/* Usage first: a scrape sums what went before its answer. */
		access_flush();
		metrics.active_connections = w.srv != NULL ?
		    (uint64_t)server_nconns(w.srv) : 0;
		metrics.processes = 1;
		buf_init(&m, sizeof(metrics));
		msg_put_raw(&m, &metrics, sizeof(metrics));
		chan_send(w.parent, MSG_METRICS_ANS, hdr->id, &m);
		buf_free(&m);
		return 0;
	case MSG_METRICS_TEXT:
		if (calls_answer(&w.parent_calls, hdr, r) == -1) {
			log_warnx("parent: unsolicited %s (id %u)",
			    msg_to_str(hdr->type), hdr->id);
			return -1;
		}
		return 0;
	default:
		log_warnx("parent: unexpected %s", msg_to_str(hdr->type));
		return -1;
	}
}

static void
parent_closed(struct chan *c, const char *why, void *arg)
{
	/* The supervisor is gone: finish what we have and leave. */
	log_warnx("parent channel lost: %s", why);
	w.parent = NULL;
	calls_lost(&w.parent_calls);
	worker_drain(w.conf != NULL ? w.conf->shutdown_timeout : 0);
}

static void
worker_signal(evutil_socket_t sig, short ev, void *arg)
{
	/* SIGTERM from the parent's final sweep, or by hand. */
	worker_drain(w.conf != NULL ? w.conf->shutdown_timeout : 0);
}

int
worker_main(int instance)
{
	struct event	*sigterm, *sigint;

	log_procinit("worker", instance);
	chan_set_identity("worker", instance);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	heap_keep_freed();
	w.env.instance = instance;
	if ((w.env.base = event_base_new()) == NULL)
		fatalx("event_base_new");
	w.parent = chan_new(w.env.base, IPC_FD_PARENT, "parent",
	    IPC_MAX_CONFIG, parent_dispatch, parent_closed, NULL);
	w.keyd = chan_new(w.env.base, IPC_FD_PEER, "keyd", 0, keyd_dispatch,
	    keyd_closed, NULL);
	/*
	 * Nothing from keyd is read before the worker is configured: keyd
	 * starts attesting at once and asks for an API connection
	 * (MSG_NET_OPEN), which a worker without its MSG_CONFIG cannot open
	 * (a loaded machine runs one child and not the other: bench/soak saw
	 * the SIGSEGV; tests/integration/startup_order.sh).
	 */
	chan_pause(w.keyd, 1);
	calls_init(&w.parent_calls, w.env.base, w.parent);
	calls_init(&w.keyd_calls, w.env.base, w.keyd);
	sigterm = evsignal_new(w.env.base, SIGTERM, worker_signal, NULL);
	sigint = evsignal_new(w.env.base, SIGINT, worker_signal, NULL);
	evsignal_add(sigterm, NULL);
	evsignal_add(sigint, NULL);
	event_base_dispatch(w.env.base);
	return 0;
}
