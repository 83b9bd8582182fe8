/*
 * The parent: starts as root, reads the configuration and secrets, binds
 * the listeners, fork+execs one keyd and one worker per instance, hands
 * each keyd its secrets (then scrubs its own copies), drops to the
 * unprivileged user and supervises: respawn with back-off, graceful
 * drain on SIGTERM/SIGINT, configuration reload on SIGHUP.
 *
 * Secrets at rest in the parent live in a sealed memfd, not in its
 * address space: a read of the parent's memory finds no key.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <linux/capability.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#include "amdchain.h"
#include "chan.h"
#include "clients.h"
#include "conf.h"
#include "egress.h"
#include "ipc.h"
#include "log.h"
#include "metrics.h"
#include "sdnotify.h"
#include "parent.h"
#include "privdrop.h"
#include "usage.h"
#include "util.h"
#include "workspace.h"
#include "tls.h"
#include "tlsmsg.h"

#define RESPAWN_MIN_MS		500
#define RESPAWN_MAX_MS		30000
#define STABLE_UPTIME_MS	30000	/* a pair that lived this long resets back-off */
#define STRAGGLER_MS		5000	/* other half of a dead pair: then SIGKILL */
#define MAX_LISTENERS		32
#define TLS_CHECK_MS		3000	/* tls_cert/tls_key renewed on disk? */
#define CLIENTS_FILE_MAX	(4 * 1024 * 1024)
#define SETUP_FAIL_LIMIT	3	/* set-up deaths in a row before we give up */

/* What stat(2) says of a file: a renewal changes some of it. */
struct filesig {
	dev_t		dev;
	ino_t		ino;
	off_t		size;
	struct timespec	mtime;
	struct timespec	ctime;
};

/* The chroot descriptor sits above everything else a child inherits. */
_Static_assert(IPC_FD_LISTEN0 + MAX_LISTENERS + 4 < IPC_FD_CHROOT,
    "IPC_FD_CHROOT collides with the listeners or the binary's descriptor");

enum role { ROLE_WORKER, ROLE_KEYD };

struct child {
	pid_t		 pid;		/* 0 when not running */
	struct chan	*chan;
	int		 ready;
	/* MSG_METRICS_REQ/ANS: what we asked (scrapes and watchdog pings). */
	uint32_t	 last_asked;	/* highest id sent to this process */
	uint32_t	 ping_id;	/* watchdog ping not yet answered, or 0 */
	int		 wd_killed;	/* killed by the watchdog: ticks since */
};

enum pair_state { PAIR_RUNNING, PAIR_DRAINING };

struct pair {
	TAILQ_ENTRY(pair)	 entry;
	int			 instance;
	int			 generation;
	enum pair_state		 state;
	struct child		 worker;
	struct child		 keyd;
	int			 keyd_state;	/* 0 unknown, 1 ready, 2 failed */
	int			 keyd_sandboxed; /* may be sent MSG_TLS_KEY */
	uint64_t		 started_ms;
	int			 failures;
	struct event		*respawn;	/* pending while scheduled */
	struct event		*straggler;
	/*
	 * Deaths before both halves were ready, in a row, and how the
	 * last one went: the first abnormal wait status of that life (-1
	 * none yet), and keyd's last fatal line (keyd logs through us).
	 */
	int			 setup_fails;
	int			 died_how;
	char			*fatal_line;
#ifdef TEST_HOOKS
	struct event		*setup_later;	/* worker_setup_delay() */
#endif
};

static struct {
	struct event_base	*base;
	struct parent_opts	*opts;
	struct config		*conf;
	int			 self_fd;	/* our own binary, for fexecve */
	int			 root;		/* started as root */
	int			 chroot_ok;	/* chroot yes, and root or CAP_SYS_CHROOT */
	int			 chroot_fd;	/* chroot_dir, O_PATH; -1: no chroot */
	uid_t			 uid;
	gid_t			 gid;
	int			 lfds[MAX_LISTENERS];
	int			 nlfds;
	int			 mfds[4];	/* metrics_listen */
	int			 nmfds;
	TAILQ_HEAD(, scrape)	 scrapes;
	int			 store_fd;	/* sealed memfd: MSG_SECRETS payload */
	int			 tls_fd;	/* sealed memfd: TLS cert and key */
	struct buf		 files;		/* MSG_KEYD_FILES payload */
	int			 cli_fd;	/* memfd: secrets from argv */
	int			 salt_fd;	/* memfd: process-lifetime random salt */
	int			 cli_has_key;
	int			 cli_has_salt;
	int			 generation;
	int			 shutting_down;
	int			 notified;	/* READY=1 sent for this generation */
	TAILQ_HEAD(, pair)	 pairs;
	struct event		*kill_timer;
	struct access_policy	 access;	/* MSG_CLIENTS for every worker */
	struct usage_table	 usage;		/* for the daemon's lifetime */
	struct event		*tls_timer;
	struct filesig		 tls_sig[2];	/* cert, key, last looked at */
	int			 tls_sig_ok;
} P = { .store_fd = -1, .tls_fd = -1, .cli_fd = -1, .salt_fd = -1,
    .usage.bounded = 1, .chroot_fd = -1 };

/* A /metrics scrape: every child's counters, summed, back to a worker. */
struct scrape {
	TAILQ_ENTRY(scrape)	 entry;
	uint32_t		 id;		/* our id towards the children */
	uint32_t		 reply_id;	/* the worker's request id */
	struct pair		*from;		/* the asking worker's pair */
	struct child		**asked;	/* not answered yet, or NULL */
	int			 nasked;
	int			 waiting;
	struct metrics		 sum;
	struct event		*timer;
};

static void	spawn_pair(struct pair *);
static void	kill_all(int);
static void	pair_check_dead(struct pair *);
static int	load_tls(const struct config *, int *);
static int	pair_check_forked(const char *, size_t, const char *, size_t);
static void	asked_reset(struct pair *);

/* --- secrets store -------------------------------------------------- */

static int
memfd_store(const char *name, const void *p, size_t len)
{
	int	fd;

	if ((fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING)) == -1)
		fatal("memfd_create");
	if (len > 0 && write(fd, p, len) != (ssize_t)len)
		fatal("memfd write");
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_WRITE | F_SEAL_SEAL) == -1)
		fatal("memfd seal");
	return fd;
}

/* Read a whole memfd into a secret writer (zeroed on free). */
static void
memfd_load(int fd, struct buf *w)
{
	struct stat	st;

	if (fstat(fd, &st) == -1)
		fatal("memfd fstat");
	buf_init_secret(w, (size_t)st.st_size + 1);
	if (st.st_size > 0 && pread(fd, w->p, (size_t)st.st_size, 0) !=
	    st.st_size)
		fatal("memfd read");
	w->len = (size_t)st.st_size;
}

/* The two secret fields of a store: u8 present, bytes value. */
static int
store_field(int fd, int index, struct buf *out)
{
	struct buf	 w;
	struct msgr	 r;
	const uint8_t	*v = NULL;
	size_t		 n = 0;
	int		 i, present = 0;

	memfd_load(fd, &w);
	msgr_init(&r, w.p, w.len);
	for (i = 0; i <= index; i++) {
		present = msg_get_u8(&r);
		v = msg_get_bytes(&r, &n);
	}
	if (r.err)
		fatalx("%s: corrupt secret store", __func__);
	if (present)
		msg_put_raw(out, v, n);
	buf_free(&w);
	return present;
}

static void
random_salt(void)
{
	uint8_t	raw[32];
	char	b64[64];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(b64, sizeof(b64), raw, sizeof(raw),
	    sodium_base64_VARIANT_ORIGINAL);
	P.salt_fd = memfd_store("pm-salt", b64, strlen(b64));
	sodium_memzero(raw, sizeof(raw));
	sodium_memzero(b64, sizeof(b64));
}

/* Resolve a secret config value: "@path" reads the file, else literal. */
static int
resolve_secret(const char *what, const char *value, struct buf *out)
{
	char	*buf, *t;
	size_t	 len;

	if (value[0] != '@') {
		msg_put_raw(out, value, strlen(value));
		return 0;
	}
	if (read_file(value + 1, 64 * 1024, &buf, &len) == -1) {
		log_warn("failed to read %s file \"%s\"", what, value + 1);
		return -1;
	}
	t = trim_space(buf);
	msg_put_raw(out, t, strlen(t));
	freezero(buf, len + 1);
	return 0;
}

static void
put_secret_field(struct buf *w, struct buf *value, int present)
{
	msg_put_u8(w, (uint8_t)present);
	msg_put_bytes(w, value->p, present ? value->len : 0);
	buf_free(value);
}

/*
 * Build the MSG_SECRETS payload for conf into a new sealed memfd and
 * blank the secret values in conf (an empty string keeps the "it is
 * configured" bit the children are told about).
 */
static int
build_store(struct config *c)
{
	struct buf	w, key, salt;
	int		have_key = 0, have_salt = 0, fd;

	buf_init_secret(&key, 128);
	buf_init_secret(&salt, 64);
	if (P.cli_fd != -1 && (have_key = store_field(P.cli_fd, 0, &key)))
		;
	else if (c->api_key != NULL) {
		if (resolve_secret("API key", c->api_key, &key) == -1)
			goto fail;
		have_key = 1;
	}
	if (P.cli_fd != -1 && (have_salt = store_field(P.cli_fd, 1, &salt)))
		;
	else if (c->prompt_cache_salt != NULL) {
		if (resolve_secret("prompt cache salt", c->prompt_cache_salt,
		    &salt) == -1)
			goto fail;
		have_salt = 1;
	} else if (c->shared_prompt_cache) {
		/* One random salt for the daemon's lifetime, shared by all. */
		if (P.salt_fd == -1)
			random_salt();
		have_salt = store_field(P.salt_fd, 0, &salt);
	}
	buf_init_secret(&w, key.len + salt.len + 16);
	put_secret_field(&w, &key, have_key);
	put_secret_field(&w, &salt, have_salt);
	fd = memfd_store("pm-secrets", w.p, w.len);
	buf_free(&w);
	if (P.store_fd != -1)
		close(P.store_fd);
	P.store_fd = fd;

	strfreezero(c->api_key);
	c->api_key = have_key ? xstrdup("") : NULL;
	strfreezero(c->prompt_cache_salt);
	c->prompt_cache_salt = NULL;
	stack_scrub();
	return 0;
 fail:
	buf_free(&key);
	buf_free(&salt);
	return -1;
}

static void
forget_cli_secrets(struct parent_opts *o)
{
	strfreezero(o->cli_api_key);
	strfreezero(o->cli_salt);
	o->cli_api_key = o->cli_salt = NULL;
}

/* Command-line literals go to a memfd once; argv is scrubbed by main. */
static void
stash_cli_secrets(struct parent_opts *o)
{
	struct buf	w, key, salt;

	if (o->cli_api_key == NULL && o->cli_salt == NULL)
		return;
	buf_init_secret(&key, 128);
	buf_init_secret(&salt, 64);
	if (o->cli_api_key != NULL)
		msg_put_raw(&key, o->cli_api_key, strlen(o->cli_api_key));
	if (o->cli_salt != NULL)
		msg_put_raw(&salt, o->cli_salt, strlen(o->cli_salt));
	buf_init_secret(&w, 256);
	put_secret_field(&w, &key, o->cli_api_key != NULL);
	put_secret_field(&w, &salt, o->cli_salt != NULL);
	P.cli_fd = memfd_store("pm-cli", w.p, w.len);
	P.cli_has_key = o->cli_api_key != NULL;
	P.cli_has_salt = o->cli_salt != NULL;
	buf_free(&w);
	forget_cli_secrets(o);
}

/* --- files keyd needs ----------------------------------------------- */

#define SYSTEM_CA_FILE	"/etc/ssl/certs/ca-certificates.crt"

/* One optional file into w: u8 present, bytes. */
static int
put_file(struct buf *w, const char *path, const char *what, int required)
{
	char	*buf;
	size_t	 len;

	if (path == NULL || read_file(path, 16 * 1024 * 1024, &buf, &len) == -1) {
		if (path != NULL && required) {
			log_warn("%s %s", what, path);
			return -1;
		}
		if (path != NULL)
			log_warnx("%s %s: %s", what, path, strerror(errno));
		msg_put_u8(w, 0);
		msg_put_bytes(w, NULL, 0);
		return 0;
	}
	msg_put_u8(w, 1);
	msg_put_bytes(w, buf, len);
	free(buf);
	return 0;
}

/*
 * Everything keyd reads comes from us (only the parent touches the file
 * system): the CA bundle for upstream TLS, AMD's certificate chains (an
 * override or the shipped copy, checked: amdchain.c), a static manifest
 * and, in tests, a fake Intel SGX root.  Read at start-up and on each
 * reload.
 */
static int
load_keyd_files(const struct config *c, struct buf *w)
{
	struct amd_chains	amd;

	if (amd_chains_load(c, AMD_CHAIN_DIR, &amd) == -1)
		return -1;
	amd_chains_log(&amd);
	buf_init(w, 256 * 1024);
	if (put_file(w, c->ca_file != NULL ? c->ca_file : SYSTEM_CA_FILE,
	    "CA bundle", 1) == -1)
		goto fail;
	amd_chains_put(&amd, w);
	if (put_file(w, c->manifest_path, "setting up secret manager "
	    "configuration: failed to read manifest file", 1) == -1)
		goto fail;
	/* A fake Intel SGX root for tests (Intel's own is compiled in). */
	if (put_file(w, c->test_intel_root_ca, "test_intel_root_ca", 1) == -1)
		goto fail;
	amd_chains_free(&amd);
	return 0;
 fail:
	amd_chains_free(&amd);
	buf_free(w);
	return -1;
}

/* --- configuration ------------------------------------------------- */

static struct config *
load_config(struct parent_opts *o)
{
	struct config	*c = config_new();

	if (config_parse_file(c, o->conf_path, !o->conf_explicit) == -1 ||
	    config_apply_overrides(c, &o->ovr) == -1)
		goto fail;
	/* Literals from the command line count as "configured". */
	if ((o->cli_api_key != NULL || P.cli_has_key) && c->api_key == NULL)
		c->api_key = xstrdup("");
	if ((o->cli_salt != NULL || P.cli_has_salt) &&
	    c->prompt_cache_salt == NULL)
		c->prompt_cache_salt = xstrdup("");
	/* HTTPS_PROXY and NO_PROXY, as the official proxy takes them. */
	egress_from_environment(c);
	if (config_validate(c) == -1)
		goto fail;
	return c;
 fail:
	config_free(c);
	return NULL;
}

/*
 * The access policy of c (MSG_CLIENTS): client_auth, the limits and,
 * with client_auth tokens, the token file, read by us like every other
 * file (workers have no file system).  -1 with the reasons logged.
 */
static int
load_access(const struct config *c, struct access_policy *a)
{
	struct rate	 def;
	char		*text;
	size_t		 len;
	int		 rv;

	memset(a, 0, sizeof(*a));
	if (rate_parse(c->client_rate_limit, &def) == -1 ||
	    rate_parse(c->address_rate_limit, &a->addr_rate) == -1 ||
	    client_auth_parse(c->client_auth) == -1)
		return -1;
	a->mode = (uint8_t)client_auth_parse(c->client_auth);
	a->workers = (uint32_t)config_workers(c);
	a->addr_streams = (uint32_t)c->address_max_streams;
	if (a->mode != CA_TOKENS)
		return 0;
	if (read_file(c->client_tokens, CLIENTS_FILE_MAX, &text, &len) == -1) {
		log_warn("client_tokens %s", c->client_tokens);
		return -1;
	}
	rv = clients_parse(c->client_tokens, text, len, &def,
	    (uint32_t)c->client_max_streams, &a->v, &a->n);
	free(text);
	if (rv == -1)
		return -1;
	if (a->n == 0)
		log_warnx("client_tokens %s names no client: every API request "
		    "is refused", c->client_tokens);
	return 0;
}

static void
send_access(struct chan *c)
{
	struct buf	m;

	buf_init(&m, 64 + P.access.n * 96);
	access_policy_put(&m, &P.access);
	chan_send(c, MSG_CLIENTS, 0, &m);
	buf_free(&m);
}

/*
 * Whoever reaches a listener beyond loopback spends the organisation's
 * credits unless client_auth asks for a token: said at every start and
 * reload that leaves it so.
 */
static void
warn_open_listeners(const struct config *c)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in6	*s6;
	socklen_t		 len;
	int			 i, open = 0;

	if (client_auth_parse(c->client_auth) == CA_TOKENS)
		return;
	for (i = 0; i < P.nlfds; i++) {
		len = sizeof(ss);
		if (getsockname(P.lfds[i], (struct sockaddr *)&ss, &len) == -1)
			continue;
		if (ss.ss_family == AF_INET) {
			if ((ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr) >>
			    24) != 127)
				open = 1;
		} else if (ss.ss_family == AF_INET6) {
			s6 = (struct sockaddr_in6 *)&ss;
			if (!IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr) &&
			    !(IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr) &&
			    s6->sin6_addr.s6_addr[12] == 127))
				open = 1;
		}
	}
	if (open)
		log_warnx("WARNING: client_auth is off and the daemon listens "
		    "beyond loopback: anyone who reaches the port spends this "
		    "installation's Privatemode API key.  Set client_auth "
		    "tokens (privatemode.conf(5)) or listen on 127.0.0.1 "
		    "only");
}

static int
lookup_user(const struct config *c)
{
	struct passwd	*pw;

	if ((pw = getpwnam(c->user)) == NULL) {
		log_warnx("user \"%s\" does not exist", c->user);
		return -1;
	}
	if (pw->pw_uid == 0) {
		log_warnx("user \"%s\" is root: refusing to run workers as root",
		    c->user);
		return -1;
	}
	P.uid = pw->pw_uid;
	P.gid = pw->pw_gid;
	return 0;
}

/* --- listeners ----------------------------------------------------- */

static int
bind_one(const struct addrinfo *ai)
{
	int	fd, one = 1, zero = 0;

	if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, ai->ai_protocol)) == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* "All interfaces" is one dual-stack socket, as Go listens. */
	if (ai->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1 ||
	    listen(fd, 511) == -1) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

static int
bind_address(const char *spec, const char *defport, int *fds, int *nfds,
    int max)
{
	struct addrinfo	 hints, *res, *ai;
	char		*host, *port;
	int		 rv, fd, n = 0;

	if (split_hostport(spec, &host, &port, defport) == -1)
		fatalx("bad listen address %s", spec);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if (*host == '\0' || strcmp(host, "*") == 0) {
		/* Prefer one dual-stack socket; fall back to IPv4 only. */
		hints.ai_family = AF_INET6;
		rv = getaddrinfo(NULL, port, &hints, &res);
		if (rv == 0 && (fd = bind_one(res)) != -1) {
			freeaddrinfo(res);
			fds[(*nfds)++] = fd;
			free(host);
			free(port);
			return 0;
		}
		if (rv == 0)
			freeaddrinfo(res);
		hints.ai_family = AF_INET;
		rv = getaddrinfo(NULL, port, &hints, &res);
	} else
		rv = getaddrinfo(host, port, &hints, &res);
	if (rv != 0) {
		log_warnx("listen %s: %s", spec, gai_strerror(rv));
		free(host);
		free(port);
		return -1;
	}
	for (ai = res; ai != NULL && *nfds < max; ai = ai->ai_next) {
		if ((fd = bind_one(ai)) == -1) {
			log_warn("listening on %s", spec);
			continue;
		}
		fds[(*nfds)++] = fd;
		n++;
	}
	freeaddrinfo(res);
	free(host);
	free(port);
	return n > 0 ? 0 : -1;
}

static void
log_listener(int fd, const char *what)
{
	struct sockaddr_storage	ss;
	socklen_t		len = sizeof(ss);
	char			host[NI_MAXHOST], port[NI_MAXSERV];

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1 ||
	    getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), port,
	    sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		return;
	log_info("listening on %s%s%s:%s%s", ss.ss_family == AF_INET6 ? "[" :
	    "", host, ss.ss_family == AF_INET6 ? "]" : "", port, what);
}

static int
bind_listeners(const struct config *c)
{
	int	i;

	if (c->listen.n == 0) {
		if (bind_address("*", c->port, P.lfds, &P.nlfds,
		    MAX_LISTENERS) == -1)
			return -1;
	} else
		for (i = 0; i < c->listen.n; i++)
			if (bind_address(c->listen.v[i], c->port, P.lfds,
			    &P.nlfds, MAX_LISTENERS) == -1)
				return -1;
	for (i = 0; i < P.nlfds; i++)
		log_listener(P.lfds[i], "");
	if (strcasecmp(c->metrics_listen, "none") != 0) {
		if (bind_address(c->metrics_listen, "9464", P.mfds, &P.nmfds,
		    (int)nitems(P.mfds)) == -1)
			return -1;
		for (i = 0; i < P.nmfds; i++)
			log_listener(P.mfds[i], " (metrics)");
	}
	return 0;
}

/*
 * An empty directory, owned by root and writable by nobody else, for the
 * children's chroot.  Created if missing when we are root (mode set
 * explicitly: a umask of 077 would make it unsearchable).  Returns it
 * opened (O_PATH): children enter it by that descriptor, so neither they
 * nor we need to reach it by its path once we are the user (a build tree
 * under a mode 0700 home); the checks are on what was opened.
 */
static int
prepare_chroot(const char *dir, int root)
{
	struct stat	 st;
	char		*p, *s;
	int		 fd;

	if (!root)
		goto check;
	s = xstrdup(dir);
	for (p = s + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(s, 0755) == -1 && errno != EEXIST)
				fatal("mkdir %s", s);
			*p = '/';
		}
	if (mkdir(s, 0755) == -1) {
		if (errno != EEXIST)
			fatal("mkdir %s", s);
	} else if (chmod(s, 0755) == -1)
		fatal("chmod %s", s);
	free(s);
 check:
	if ((fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1)
		fatal("chroot_dir %s", dir);
	if (!S_ISDIR(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)))
		fatalx("chroot_dir %s must be a directory owned by root and "
		    "writable by nobody else", dir);
	/* The children's fchdir() needs search permission as the user. */
	if (!(st.st_mode & S_IXOTH) &&
	    !((st.st_mode & S_IXGRP) && st.st_gid == P.gid))
		fatalx("chroot_dir %s must be searchable by uid %ld (mode "
		    "0755)", dir, (long)P.uid);
	return fd;
}

/* --- children ------------------------------------------------------ */

/*
 * Children get a clean environment: nothing of systemd's (NOTIFY_SOCKET,
 * CREDENTIALS_DIRECTORY) or the caller's, only what libc, OpenSSL and the
 * sanitizers read.  OpenSSL's two matter most in keyd, where the crypto
 * is: a host that configures providers (FIPS, say) through OPENSSL_CONF
 * and OPENSSL_MODULES means them for keyd too.
 */
static char **
child_env(void)
{
	static const char *const keep[] = {
		"TZ", "OPENSSL_CONF", "OPENSSL_MODULES", "ASAN_OPTIONS",
		"UBSAN_OPTIONS", "LSAN_OPTIONS"
	};
	static char	*env[nitems(keep) + 1];
	size_t		 i, n = 0;
	const char	*v;

	for (i = 0; i < nitems(keep); i++)
		if ((v = getenv(keep[i])) != NULL)
			xasprintf(&env[n++], "%s=%s", keep[i], v);
	env[n] = NULL;
	return env;
}

/*
 * In the child: move src[i] to fd 3 + i, the chroot directory (if any) to
 * IPC_FD_CHROOT, close everything else, exec.
 */
static __dead void
exec_child(const char *role, int instance, const int *src, int n,
    int null_stdio)
{
	char	 inst[16], *argv[8];
	int	 tmp[IPC_FD_LISTEN0 + MAX_LISTENERS + 4], i, self, devnull;
	int	 root = -1, fd, ac = 0;

	/*
	 * Everything moves above the target range (3 .. 3 + n, and
	 * IPC_FD_CHROOT above it) first: no clobbering.
	 */
	for (i = 0; i < n; i++)
		if ((tmp[i] = fcntl(src[i], F_DUPFD, IPC_FD_CHROOT + 1)) == -1)
			_exit(127);
	if ((self = fcntl(P.self_fd, F_DUPFD, IPC_FD_CHROOT + 1)) == -1)
		_exit(127);
	if (P.chroot_fd != -1 &&
	    (root = fcntl(P.chroot_fd, F_DUPFD, IPC_FD_CHROOT + 1)) == -1)
		_exit(127);
	for (i = 0; i < n; i++)
		if (dup2(tmp[i], 3 + i) == -1)
			_exit(127);
	/* Our binary's descriptor survives the sweep, close-on-exec. */
	if (dup2(self, 3 + n) == -1 || fcntl(3 + n, F_SETFD, FD_CLOEXEC) == -1)
		_exit(127);
	/* dup2() leaves the chroot descriptor open across exec. */
	if (root != -1 && dup2(root, IPC_FD_CHROOT) == -1)
		_exit(127);
	for (fd = 3 + n + 1; fd < IPC_FD_CHROOT; fd++)
		(void)close(fd);
	closefrom(root != -1 ? IPC_FD_CHROOT + 1 : IPC_FD_CHROOT);
	if (null_stdio && (devnull = open("/dev/null", O_RDWR)) != -1) {
		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(devnull, 2);
		if (devnull > 2)
			close(devnull);
	}
	snprintf(inst, sizeof(inst), "%d", instance);
	argv[ac++] = "privatemoded";
	argv[ac++] = "-T";
	argv[ac++] = (char *)role;
	argv[ac++] = "-I";
	argv[ac++] = inst;
	if (P.opts->foreground)
		argv[ac++] = P.opts->debug ? "-d" : "-F";
	argv[ac] = NULL;
	/*
	 * By descriptor: a package upgrade that replaced the file on disk
	 * must not hand a respawned child the new binary (MSG_HELLO would
	 * refuse a changed protocol, but any change is unwelcome).
	 */
	fexecve(3 + n, argv, child_env());
	_exit(127);
}

static pid_t
fork_child(const char *role, int instance, const int *fds, int n,
    int null_stdio)
{
	pid_t	pid;

	switch ((pid = fork())) {
	case -1:
		log_warn("fork %s[%d]", role, instance);
		return -1;
	case 0:
		log_forked();
		exec_child(role, instance, fds, n, null_stdio);
	}
	return pid;
}

static void
send_config(struct chan *c)
{
	struct buf	m;

	buf_init(&m, 4096);
	config_marshal(P.conf, &m);
	msg_put_u8(&m, (uint8_t)((P.chroot_ok ? PRIV_CHROOT : 0) |
	    (P.root ? PRIV_SWITCH_IDS : 0)));
	msg_put_u32(&m, (uint32_t)P.uid);
	msg_put_u32(&m, (uint32_t)P.gid);
	msg_put_u32(&m, (uint32_t)P.nlfds);
	msg_put_u32(&m, (uint32_t)P.nmfds);
	chan_send(c, MSG_CONFIG, 0, &m);
	buf_free(&m);
}

/*
 * The client-facing TLS certificate and key, read as root at start-up,
 * on every reload and when the files change on disk, checked as a pair
 * and kept in a sealed memfd, as the secrets are: the certificate chain
 * goes to the workers, the key to the keyds only, which sign for their
 * workers' handshakes (daemon/tls.c, keyd/tlssign.c).
 */
static int
load_tls(const struct config *c, int *fdp)
{
	char		*cert, *key;
	size_t		 clen, klen;
	struct buf	 w;
	int		 rv;

	*fdp = -1;
	if (c->tls_cert == NULL)
		return 0;
	if (read_file(c->tls_cert, TLS_PEM_MAX, &cert, &clen) == -1) {
		log_warn("loading TLS config: %s", c->tls_cert);
		return -1;
	}
	if (read_file(c->tls_key, TLS_PEM_MAX, &key, &klen) == -1) {
		log_warn("loading TLS config: %s", c->tls_key);
		freezero(cert, clen + 1);
		return -1;
	}
	if ((rv = pair_check_forked(cert, clen, key, klen)) == 0) {
		buf_init_secret(&w, clen + klen + 16);
		msg_put_bytes(&w, cert, clen);
		msg_put_bytes(&w, key, klen);
		*fdp = memfd_store("pm-tls", w.p, w.len);
		buf_free(&w);
	}
	freezero(cert, clen + 1);
	freezero(key, klen + 1);
	/* Library temporaries on the stack saw the key. */
	stack_scrub();
	return rv == 0 ? 1 : -1;
}

/*
 * Whether key is cert's, asked of a child that exits right after: parsing
 * the key leaves its numbers (DER, BIGNUM limbs) in the heap of whoever
 * parses it, and the parent should hold them no more than a worker does.
 * The child's verdict is its exit status; its log lines are its own.
 */
static int
pair_check_forked(const char *cert, size_t clen, const char *key,
    size_t klen)
{
	pid_t	pid;
	int	status;

	switch ((pid = fork())) {
	case -1:
		log_warn("loading TLS config: fork");
		return -1;
	case 0:
		_exit(tls_pair_check((const uint8_t *)cert, clen,
		    (const uint8_t *)key, klen) == 0 ? 0 : 1);
	}
	/* Reaped here, so SIGCHLD's reaper never sees it. */
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR) {
			log_warn("loading TLS config: waitpid");
			return -1;
		}
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* The pair that load_tls checked last becomes the one handed out. */
static void
tls_install(int fd)
{
	if (P.tls_fd != -1)
		close(P.tls_fd);
	P.tls_fd = fd;
}

/* One half of the stored pair: MSG_TLS_CERT's or MSG_TLS_KEY's payload. */
static void
send_tls_part(struct chan *c, unsigned int type, const char *who,
    int instance)
{
	struct buf	 w, m;
	struct msgr	 r;
	const uint8_t	*cert, *key;
	size_t		 clen, klen;

	if (P.tls_fd == -1 || c == NULL)
		return;
	memfd_load(P.tls_fd, &w);
	msgr_init(&r, w.p, w.len);
	cert = msg_get_bytes(&r, &clen);
	key = msg_get_bytes(&r, &klen);
	if (msg_end(&r) == -1)
		fatalx("%s: corrupt TLS store", __func__);
	buf_init_secret(&m, (type == MSG_TLS_KEY ? klen : clen) + 16);
	if (type == MSG_TLS_KEY)
		tls_pem_put(&m, key, klen);
	else
		tls_pem_put(&m, cert, clen);
	buf_free(&w);
	if (chan_send_secret(c, type, 0, &m) == -1)
		log_warnx("%s[%d]: could not hand over the TLS %s", who,
		    instance, type == MSG_TLS_KEY ? "key" : "certificate");
	buf_free(&m);
	stack_scrub();
}

/*
 * Certificate renewal without a reload (certbot and the like): every
 * TLS_CHECK_MS the parent looks at the two files (stat, nothing read),
 * and when either changed and they make a usable pair again, every
 * worker gets it for its new connections.  The official proxy loads the
 * pair per handshake; this costs two stat(2) calls every few seconds.
 */
static int
filesig_get(const char *path, struct filesig *f)
{
	struct stat	st;

	memset(f, 0, sizeof(*f));
	if (stat(path, &st) == -1)
		return -1;
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->size = st.st_size;
	f->mtime = st.st_mtim;
	f->ctime = st.st_ctim;
	return 0;
}

/* The files as they are now: what the workers were just given. */
static void
tls_sig_update(void)
{
	P.tls_sig_ok = P.conf->tls_cert != NULL &&
	    filesig_get(P.conf->tls_cert, &P.tls_sig[0]) == 0 &&
	    filesig_get(P.conf->tls_key, &P.tls_sig[1]) == 0;
}

static void
tls_check(evutil_socket_t fd, short ev, void *arg)
{
	struct filesig	 now[2];
	struct timeval	 tv;
	struct pair	*p;
	int		 tfd;

	ms_to_tv(TLS_CHECK_MS, &tv);
	evtimer_add(P.tls_timer, &tv);
	if (P.conf->tls_cert == NULL || P.shutting_down ||
	    filesig_get(P.conf->tls_cert, &now[0]) == -1 ||
	    filesig_get(P.conf->tls_key, &now[1]) == -1)
		return;		/* missing for a moment: next time */
	if (P.tls_sig_ok && memcmp(now, P.tls_sig, sizeof(now)) == 0)
		return;
	memcpy(P.tls_sig, now, sizeof(now));
	P.tls_sig_ok = 1;
	if (load_tls(P.conf, &tfd) == -1) {
		/* Half written (a new certificate, the old key)? Next change. */
		log_warnx("%s or %s changed but they are not a usable pair: "
		    "new connections still get the previous certificate",
		    P.conf->tls_cert, P.conf->tls_key);
		return;
	}
	tls_install(tfd);
	/*
	 * keyds first: a worker's first handshake with the new certificate
	 * must find the key in its keyd (which keeps the previous one for
	 * handshakes under way).  A keyd not yet sandboxed gets it from
	 * the store when it is.
	 */
	TAILQ_FOREACH(p, &P.pairs, entry)
		if (p->keyd_sandboxed)
			send_tls_part(p->keyd.chan, MSG_TLS_KEY, "keyd",
			    p->instance);
	TAILQ_FOREACH(p, &P.pairs, entry)
		send_tls_part(p->worker.chan, MSG_TLS_CERT, "worker",
		    p->instance);
	log_info("TLS certificate %s renewed: new connections get it",
	    P.conf->tls_cert);
}

static void
send_secrets(struct pair *p)
{
	struct buf	w;

	memfd_load(P.store_fd, &w);
	if (chan_send_secret(p->keyd.chan, MSG_SECRETS, 0, &w) == -1)
		log_warnx("keyd[%d]: could not hand over secrets", p->instance);
	buf_free(&w);
	/* Library temporaries on the stack saw the payload (memscan.sh). */
	stack_scrub();
}

static void	drain_old_generations(void);

/*
 * systemd readiness: once every current worker serves and, with a key
 * configured, every keyd has finished its first attestation (either
 * way: an unreachable API must not fail the start-up, it is retried).
 */
static void
notify_ready(void)
{
	struct pair	*p;
	int		 n = 0, attested = 0;

	TAILQ_FOREACH(p, &P.pairs, entry) {
		if (p->generation != P.generation)
			continue;
		n++;
		attested += p->keyd_state == 1;
		if (!p->worker.ready)
			return;
		if (P.conf->api_key != NULL && p->keyd_state == 0)
			return;
	}
	if (P.conf->api_key == NULL)
		sd_notifyf("%sSTATUS=serving; no API key configured: the "
		    "first client bearer token that works is used",
		    P.notified ? "" : "READY=1\n");
	else
		sd_notifyf("%sSTATUS=serving; %d of %d key daemons attested",
		    P.notified ? "" : "READY=1\n", attested, n);
	P.notified = 1;
}

/* A worker's dump: written only while dump_requests is on. */
static int
dump_request(struct msgr *r)
{
	const uint8_t	*req, *resp;
	size_t		 resplen;
	uint32_t	 reqlen;
	int64_t		 t_us;
	char		 err[512];

	t_us = msg_get_i64(r);
	reqlen = msg_get_u32(r);
	req = msg_get_bytes_raw(r, reqlen);
	resp = msg_get_bytes(r, &resplen);
	if (msg_end(r) == -1)
		return -1;
	if (P.conf->dump_requests && dump_write(P.conf->workspace, t_us, req,
	    reqlen, resp, resplen, err, sizeof(err)) == -1)
		log_warnx("failed to dump request: %s", err);
	return 0;
}

/*
 * MSG_METRICS_REQ ids, shared by scrapes and watchdog pings so that an
 * answer names exactly one question.  Never 0: an id of 0 was never
 * asked (wrapping takes 2^32 questions).
 */
static uint32_t	metrics_ids;

static uint32_t
metrics_next_id(void)
{
	if (++metrics_ids == 0)
		metrics_ids = 1;
	return metrics_ids;
}

/* Ask ch for its counters under id. */
static void
metrics_ask(struct child *ch, uint32_t id)
{
	ch->last_asked = id;
	chan_send(ch->chan, MSG_METRICS_REQ, id, NULL);
}

static void
scrape_finish(struct scrape *sc)
{
	struct buf	 m, body;
	char		*text;
	size_t		 len;

	TAILQ_REMOVE(&P.scrapes, sc, entry);
	event_free(sc->timer);
	if (sc->from != NULL && sc->from->worker.chan != NULL) {
		text = metrics_render(&sc->sum, &len);
		buf_init(&body, len + 4096);
		buf_add(&body, text, len);
		free(text);
		/* Ours, not the children's: it outlives their generations. */
		usage_render(&P.usage, &body);
		buf_init(&m, body.len + 16);
		msg_put_bytes(&m, body.p, body.len);
		chan_send(sc->from->worker.chan, MSG_METRICS_TEXT,
		    sc->reply_id, &m);
		buf_free(&m);
		buf_free(&body);
	}
	free(sc->asked);
	free(sc);
}

static void
scrape_timeout(evutil_socket_t fd, short ev, void *arg)
{
	/* Render what arrived: a hung child must not hang the scrape. */
	scrape_finish(arg);
}

static void
scrape_start(struct pair *from, uint32_t reply_id)
{
	struct scrape	*sc;
	struct pair	*p;
	struct timeval	 tv = { 1, 0 };
	int		 i;

	sc = xcalloc(1, sizeof(*sc));
	sc->id = metrics_next_id();
	sc->reply_id = reply_id;
	sc->from = from;
	sc->timer = evtimer_new(P.base, scrape_timeout, sc);
	TAILQ_INSERT_TAIL(&P.scrapes, sc, entry);
	TAILQ_FOREACH(p, &P.pairs, entry)
		sc->nasked += 2;
	sc->asked = xcalloc(sc->nasked > 0 ? sc->nasked : 1,
	    sizeof(*sc->asked));
	sc->nasked = 0;
	TAILQ_FOREACH(p, &P.pairs, entry) {
		if (p->worker.chan != NULL && p->worker.ready)
			sc->asked[sc->nasked++] = &p->worker;
		if (p->keyd.chan != NULL && p->keyd.ready)
			sc->asked[sc->nasked++] = &p->keyd;
	}
	for (i = 0; i < sc->nasked; i++)
		metrics_ask(sc->asked[i], sc->id);
	sc->waiting = sc->nasked;
	evtimer_add(sc->timer, &tv);
}

/* 1 if ch's answer belonged to a scrape still waiting for it. */
static int
scrape_answer(struct child *ch, uint32_t id, const struct metrics *m)
{
	struct scrape	*sc;
	int		 i;

	TAILQ_FOREACH(sc, &P.scrapes, entry)
		if (sc->id == id)
			break;
	if (sc == NULL)
		return 0;
	for (i = 0; i < sc->nasked; i++)
		if (sc->asked[i] == ch)
			break;
	if (i == sc->nasked)
		return 0;	/* not asked, or answered already */
	sc->asked[i] = NULL;
	metrics_add(&sc->sum, m);
	if (--sc->waiting == 0)
		scrape_finish(sc);
	return 1;
}

/*
 * A pair going away (or respawned) must not be answered to, and its old
 * processes' answers are not waited for: the scrape's timer ends it.
 */
static void
scrape_forget(struct pair *p)
{
	struct scrape	*sc;
	int		 i;

	TAILQ_FOREACH(sc, &P.scrapes, entry) {
		if (sc->from == p)
			sc->from = NULL;
		for (i = 0; i < sc->nasked; i++)
			if (sc->asked[i] == &p->worker ||
			    sc->asked[i] == &p->keyd)
				sc->asked[i] = NULL;
	}
}

/*
 * MSG_METRICS_ANS is accepted only as the answer to a MSG_METRICS_REQ we
 * sent that process: a scrape's (summed into it), a watchdog ping's, or
 * a late one to a question it was asked (dropped).  Anything else is a
 * child speaking out of turn, which would let it feed counters into
 * every scrape or fake the watchdog's proof of life: refused, logged,
 * and the channel closed (the pair is respawned).
 */
static int
metrics_answer(struct pair *p, struct child *ch, const char *role,
    const struct msg_hdr *hdr, struct msgr *r)
{
	struct metrics	m;

	/* Copied out: a frame payload need not be 8-byte aligned. */
	if (msg_get_raw(r, &m, sizeof(m)) == -1 || msg_end(r) == -1)
		return -1;
	if (hdr->id != 0 && hdr->id == ch->ping_id) {
		ch->ping_id = 0;
		return 0;
	}
	if (scrape_answer(ch, hdr->id, &m))
		return 0;
	if (hdr->id != 0 && hdr->id <= ch->last_asked) {
		log_debug("%s[%d]: late MSG_METRICS_ANS %u dropped", role,
		    p->instance, hdr->id);
		return 0;
	}
	log_warnx("%s[%d] (pid %ld): unsolicited MSG_METRICS_ANS (id %u, "
	    "never asked): refused, closing its channel", role, p->instance,
	    (long)ch->pid, hdr->id);
	return -1;
}

/* A pair's new processes have been asked nothing yet. */
static void
asked_reset(struct pair *p)
{
	struct child	*ch[2] = { &p->worker, &p->keyd };
	int		 i;

	scrape_forget(p);
	for (i = 0; i < 2; i++) {
		ch[i]->last_asked = 0;
		ch[i]->ping_id = 0;
		ch[i]->wd_killed = 0;
	}
}

/* --- watchdog ------------------------------------------------------ */

/*
 * systemd's watchdog (WatchdogSec= in the unit, WATCHDOG_USEC here).
 * Every half period the parent pings each serving worker and keyd over
 * its channel (MSG_METRICS_REQ, which both answer from their event loop
 * whatever their state) and sends WATCHDOG=1.
 *
 * A child that has not answered the previous ping a whole half period
 * later is stopped (SIGSTOP) or wedged.  The parent then kills its pair,
 * both halves with SIGKILL, and the ordinary respawn replaces it.  That
 * costs only that pair's clients; letting systemd's watchdog fire instead
 * would restart the service: every healthy worker's connections and every
 * keyd's attestation.  So WATCHDOG=1 means "the parent runs its loop and
 * every child answers or is being replaced", and the parent stops sending
 * it only when that stops being true: a child it killed is still there
 * two ticks later (SIGKILL did not take, e.g. stuck in the kernel), and a
 * restart of the whole service is the remaining remedy.  A stopped or
 * wedged parent sends nothing, which is what systemd watches for.
 */
static struct {
	int64_t		 half_ms;	/* 0: no watchdog */
	struct event	*ev;
} WD;

static void
watchdog_kill(struct pair *p, const char *role, const struct child *ch)
{
	log_warnx("watchdog: %s[%d] (pid %ld) did not answer within %lld ms: "
	    "killing worker[%d] and keyd[%d]", role, p->instance,
	    (long)ch->pid, (long long)WD.half_ms, p->instance, p->instance);
	if (p->worker.pid > 0)
		kill(p->worker.pid, SIGKILL);
	if (p->keyd.pid > 0)
		kill(p->keyd.pid, SIGKILL);
	p->worker.wd_killed = p->keyd.wd_killed = 1;
	p->worker.ping_id = p->keyd.ping_id = 0;
}

/* -1 if ch was killed two ticks ago and is still there. */
static int
watchdog_check(struct pair *p, struct child *ch, const char *role)
{
	if (ch->wd_killed > 0)
		return ch->pid > 0 && ++ch->wd_killed > 2 ? -1 : 0;
	if (ch->ping_id != 0 && ch->pid > 0)
		watchdog_kill(p, role, ch);
	return 0;
}

static void
watchdog_tick(evutil_socket_t fd, short ev, void *arg)
{
	struct pair	*p;
	struct child	*ch[2];
	int		 i, alive = 1;

	TAILQ_FOREACH(p, &P.pairs, entry)
		if (watchdog_check(p, &p->worker, "worker") == -1 ||
		    watchdog_check(p, &p->keyd, "keyd") == -1) {
			log_warnx("watchdog: worker[%d] or keyd[%d] survived "
			    "SIGKILL: no longer notifying systemd",
			    p->instance, p->instance);
			alive = 0;
		}
	if (alive)
		sd_notifyf("WATCHDOG=1");
	if (P.shutting_down)
		return;
	TAILQ_FOREACH(p, &P.pairs, entry) {
		if (p->state != PAIR_RUNNING)
			continue;
		ch[0] = &p->worker;
		ch[1] = &p->keyd;
		for (i = 0; i < 2; i++)
			if (ch[i]->chan != NULL && ch[i]->ready &&
			    ch[i]->pid > 0 && ch[i]->wd_killed == 0) {
				ch[i]->ping_id = metrics_next_id();
				metrics_ask(ch[i], ch[i]->ping_id);
			}
	}
}

/* WATCHDOG_USEC (and WATCHDOG_PID, when systemd names a process) as
 * sd_watchdog_enabled(3) reads them. */
static void
watchdog_init(void)
{
	const char	*usec = getenv("WATCHDOG_USEC");
	const char	*pid = getenv("WATCHDOG_PID"), *err;
	long long	 v;
	struct timeval	 tv;

	if (usec == NULL)
		return;
	if (pid != NULL && (parse_int(pid, 1, INT_MAX, &v, &err) == -1 ||
	    v != (long long)getpid())) {
		log_debug("watchdog: WATCHDOG_PID %s is not us", pid);
		return;
	}
	if (parse_int(usec, 2000, 24LL * 3600 * 1000000, &v, &err) == -1) {
		log_warnx("watchdog: WATCHDOG_USEC \"%s\" %s: no watchdog",
		    usec, err);
		return;
	}
	WD.half_ms = v / 2000;
	ms_to_tv(WD.half_ms, &tv);
	WD.ev = event_new(P.base, -1, EV_PERSIST, watchdog_tick, NULL);
	evtimer_add(WD.ev, &tv);
	log_info("watchdog: WATCHDOG=1 every %lld ms while every worker and "
	    "keyd answers", (long long)WD.half_ms);
}

static void
cache_answer(struct chan *c, uint32_t id, const char *url)
{
	struct buf	 w;
	uint8_t		*p = NULL;
	size_t		 n = 0;
	int		 found;

	found = kds_cache_get(P.conf->workspace, url, &p, &n) == 0;
	buf_init(&w, n + 16);
	msg_put_u8(&w, (uint8_t)found);
	msg_put_bytes(&w, p, n);
	chan_send(c, MSG_CACHE_ANS, id, &w);
	buf_free(&w);
	free(p);
}

/* keyd fetched a manifest: log it before it is trusted, then answer. */
static void
manifest_logged(struct chan *c, uint32_t id, const uint8_t *m, size_t len)
{
	struct buf	w;
	char		err[1024] = "";

	if (manifest_log_append(P.conf->workspace, m, len, err,
	    sizeof(err)) == -1)
		log_warnx("logging manifest: %s", err);
	buf_init(&w, 64);
	msg_put_str(&w, err);
	chan_send(c, MSG_MANIFEST_LOGGED, id, &w);
	buf_free(&w);
}

static int
child_dispatch(struct chan *c, const struct msg_hdr *hdr, struct msgr *r,
    void *arg)
{
	struct pair		*p = arg;
	int			 is_keyd = c == p->keyd.chan;
	const uint8_t		*msg;
	size_t			 len;
	uint32_t		 prio;
	char			*s = NULL, line[1024];

	switch (hdr->type) {
	case MSG_LOG:
		if (!is_keyd)
			return -1;
		prio = msg_get_u32(r);
		msg = msg_get_bytes(r, &len);
		if (msg_end(r) == -1)
			return -1;
		s = xstrndup((const char *)msg, len);
		log_emit("keyd", p->instance, (long)p->keyd.pid, (int)prio, s);
		if ((int)prio <= LOG_CRIT) {	/* fatal(): why it died */
			free(p->fatal_line);
			p->fatal_line = s;
		} else
			free(s);
		return 0;
	case MSG_SANDBOXED:
		if (!is_keyd || (s = msg_get_str(r)) == NULL ||
		    msg_end(r) == -1)
			return -1;
		log_debug("keyd[%d]: sandbox %s on, sending secrets",
		    p->instance, s);
		free(s);
		/* The TLS key first: keyd answers its worker once READY. */
		p->keyd_sandboxed = 1;
		send_tls_part(p->keyd.chan, MSG_TLS_KEY, "keyd", p->instance);
		send_secrets(p);
		return 0;
	case MSG_SECRETS_DONE:
		if (!is_keyd || msg_end(r) == -1)
			return -1;
		p->keyd.ready = 1;
		drain_old_generations();
		return 0;
	case MSG_KEYD_STATE:
		prio = msg_get_u8(r);
		if (!is_keyd || (s = msg_get_str(r)) == NULL ||
		    msg_end(r) == -1) {
			free(s);
			return -1;
		}
		p->keyd_state = prio ? 1 : 2;
		free(s);
		notify_ready();
		return 0;
	case MSG_DUMP:
		if (is_keyd)
			return -1;
		return dump_request(r);
	case MSG_USAGE:
		if (is_keyd)
			return -1;
		return usage_get(r, &P.usage);
	case MSG_METRICS_SCRAPE:
		if (is_keyd || msg_end(r) == -1)
			return -1;
		scrape_start(p, hdr->id);
		return 0;
	case MSG_METRICS_ANS:
		return metrics_answer(p, is_keyd ? &p->keyd : &p->worker,
		    is_keyd ? "keyd" : "worker", hdr, r);
	case MSG_MANIFEST_LOG:
		if (!is_keyd)
			return -1;
		msg = msg_get_bytes(r, &len);
		if (msg_end(r) == -1)
			return -1;
		manifest_logged(c, hdr->id, msg, len);
		return 0;
	case MSG_CACHE_GET:
		if (!is_keyd || (s = msg_get_str(r)) == NULL ||
		    msg_end(r) == -1) {
			free(s);
			return -1;
		}
		cache_answer(c, hdr->id, s);
		free(s);
		return 0;
	case MSG_CACHE_PUT:
		if (!is_keyd || (s = msg_get_str(r)) == NULL) {
			free(s);
			return -1;
		}
		msg = msg_get_bytes(r, &len);
		if (msg_end(r) == -1) {
			free(s);
			return -1;
		}
		if (kds_cache_put(P.conf->workspace, s, msg, len, line,
		    sizeof(line)) == -1)
			log_warnx("KDS cache: %s", line);
		free(s);
		return 0;
	case MSG_CONFIG_DONE:
		if (is_keyd || msg_end(r) == -1)
			return -1;
		p->worker.ready = 1;
		drain_old_generations();
		notify_ready();
		return 0;
	}
	log_warnx("%s[%d]: unexpected %s", is_keyd ? "keyd" : "worker",
	    p->instance, msg_to_str(hdr->type));
	return -1;
}

static void
child_closed(struct chan *c, const char *why, void *arg)
{
	struct pair	*p = arg;

	/* The process itself is reaped on SIGCHLD. */
	if (c == p->keyd.chan)
		p->keyd.chan = NULL;
	else
		p->worker.chan = NULL;
}

/*
 * The certificate and the access policy must arrive before the config
 * that starts serving; the key goes to keyd once sandboxed.
 */
static void
send_worker_setup(struct pair *p)
{
	send_tls_part(p->worker.chan, MSG_TLS_CERT, "worker", p->instance);
	send_access(p->worker.chan);
	send_config(p->worker.chan);
}

#ifdef TEST_HOOKS
static void
worker_setup_later(evutil_socket_t fd, short ev, void *arg)
{
	struct pair	*p = arg;

	if (p->worker.chan != NULL)
		send_worker_setup(p);
}

/*
 * Test hook: PM_TEST_WORKER_SETUP_DELAY_MS holds back a new worker's
 * set-up, so that its keyd is up and speaking to it first, as happens
 * when a loaded machine runs one child and not the other
 * (tests/integration/startup_order.sh).  Returns 1 when it does.
 */
static int
worker_setup_delay(struct pair *p)
{
	const char	*v = getenv("PM_TEST_WORKER_SETUP_DELAY_MS");
	struct timeval	 tv;
	long		 ms;

	if (v == NULL || (ms = strtol(v, NULL, 10)) <= 0)
		return 0;
	if (p->setup_later == NULL)
		p->setup_later = evtimer_new(P.base, worker_setup_later, p);
	ms_to_tv(ms, &tv);
	evtimer_add(p->setup_later, &tv);
	return 1;
}
#endif

static void
spawn_pair(struct pair *p)
{
	int	pw[2], pk[2], wk[2], fds[2 + MAX_LISTENERS + 4], i;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pw) == -1 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pk) == -1 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, wk) == -1)
		fatal("socketpair");

	/*
	 * keyd: parent channel, worker channel, and no stdio at all; except
	 * in sanitizer builds (no sandbox), whose reports must be seen.
	 */
	fds[0] = pk[1];
	fds[1] = wk[1];
#ifdef SANDBOX_NONE
	p->keyd.pid = fork_child("keyd", p->instance, fds, 2, 0);
#else
	p->keyd.pid = fork_child("keyd", p->instance, fds, 2, 1);
#endif

	fds[0] = pw[1];
	fds[1] = wk[0];
	for (i = 0; i < P.nlfds; i++)
		fds[2 + i] = P.lfds[i];
	for (i = 0; i < P.nmfds; i++)
		fds[2 + P.nlfds + i] = P.mfds[i];
	p->worker.pid = fork_child("worker", p->instance, fds,
	    2 + P.nlfds + P.nmfds, 0);

	close(pw[1]);
	close(pk[1]);
	close(wk[0]);
	close(wk[1]);
	p->worker.ready = p->keyd.ready = 0;
	p->keyd_sandboxed = 0;
	asked_reset(p);
	p->died_how = -1;
	free(p->fatal_line);
	p->fatal_line = NULL;
	p->worker.chan = chan_new(P.base, pw[0], "worker",
	    ipc_data_cap(P.conf->max_body_size), child_dispatch, child_closed, p);
	p->keyd.chan = chan_new(P.base, pk[0], "keyd", IPC_MAX_CONFIG,
	    child_dispatch, child_closed, p);
	p->started_ms = now_ms();
	if (p->keyd.pid == -1 || p->worker.pid == -1) {
		/* Treat as an immediate death; back-off applies. */
		if (p->keyd.pid > 0)
			kill(p->keyd.pid, SIGKILL);
		if (p->worker.pid > 0)
			kill(p->worker.pid, SIGKILL);
		return;
	}
	chan_send(p->keyd.chan, MSG_KEYD_FILES, 0, &P.files);
	send_config(p->keyd.chan);
#ifdef TEST_HOOKS
	if (worker_setup_delay(p) == 0)
#endif
	send_worker_setup(p);
	log_debug("spawned worker[%d] pid %ld, keyd[%d] pid %ld (generation "
	    "%d)", p->instance, (long)p->worker.pid, p->instance,
	    (long)p->keyd.pid, p->generation);
}

static void
respawn_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct pair	*p = arg;

	if (P.shutting_down || p->state != PAIR_RUNNING ||
	    p->generation != P.generation)
		return;
	log_info("respawning worker[%d] and keyd[%d]", p->instance,
	    p->instance);
	spawn_pair(p);
}

static void
straggler_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct pair	*p = arg;

	if (p->worker.pid > 0)
		kill(p->worker.pid, SIGKILL);
	if (p->keyd.pid > 0)
		kill(p->keyd.pid, SIGKILL);
}

static struct pair *
pair_new(int instance, int generation)
{
	struct pair	*p;

	p = xcalloc(1, sizeof(*p));
	p->instance = instance;
	p->generation = generation;
	p->state = PAIR_RUNNING;
	p->respawn = evtimer_new(P.base, respawn_cb, p);
	p->straggler = evtimer_new(P.base, straggler_cb, p);
	TAILQ_INSERT_TAIL(&P.pairs, p, entry);
	return p;
}

static void
pair_free(struct pair *p)
{
	scrape_forget(p);
	TAILQ_REMOVE(&P.pairs, p, entry);
	if (p->worker.chan != NULL)
		chan_free(p->worker.chan);
	if (p->keyd.chan != NULL)
		chan_free(p->keyd.chan);
	event_free(p->respawn);
	event_free(p->straggler);
#ifdef TEST_HOOKS
	if (p->setup_later != NULL)
		event_free(p->setup_later);
#endif
	free(p->fatal_line);
	free(p);
}

static void
check_all_gone(void)
{
	static int	done;

	if (P.shutting_down && TAILQ_EMPTY(&P.pairs) && !done) {
		done = 1;
		log_info("all children gone, exiting");
		event_base_loopexit(P.base, NULL);
	}
}

static void
describe_status(int status, char *out, size_t len)
{
	if (status == -1)
		snprintf(out, len, "exited");
	else if (WIFSIGNALED(status))
		snprintf(out, len, "killed by signal %d (%s)%s",
		    WTERMSIG(status), strsignal(WTERMSIG(status)),
		    WTERMSIG(status) == SIGSYS ? ": seccomp violation" : "");
	else
		snprintf(out, len, "exited with status %d",
		    WEXITSTATUS(status));
}

/*
 * Every pair of the current generation died before it was ready, the
 * same way, SETUP_FAIL_LIMIT times in a row: respawning will not help
 * (a chroot the user cannot enter, a CA bundle keyd cannot load, a
 * sandbox this kernel refuses), and the back-off would hide it for ever.
 * With no older generation serving, stop; with one (a reload), say so
 * once and let it serve.
 */
static void
check_setup_failures(const struct pair *dead)
{
	static int	 warned_generation;
	struct pair	*p;
	char		 how[128];
	int		 serving = 0;

	TAILQ_FOREACH(p, &P.pairs, entry) {
		if (p->generation != P.generation) {
			serving |= p->state == PAIR_RUNNING &&
			    p->worker.ready && p->keyd.ready;
			continue;
		}
		if (p->setup_fails < SETUP_FAIL_LIMIT ||
		    p->died_how != dead->died_how)
			return;
	}
	describe_status(dead->died_how, how, sizeof(how));
	if (serving) {
		if (warned_generation != P.generation)
			log_warnx("every worker/keyd pair of generation %d %s "
			    "before it was ready, %d times in a row%s%s: the "
			    "previous generation keeps serving", P.generation,
			    how, SETUP_FAIL_LIMIT, dead->fatal_line ?
			    "; keyd: " : "", dead->fatal_line ?
			    dead->fatal_line : "");
		warned_generation = P.generation;
		return;
	}
	kill_all(SIGKILL);
	fatalx("every worker/keyd pair %s before it was ready, %d times in "
	    "a row%s%s (the children's own messages above say why): giving "
	    "up", how, SETUP_FAIL_LIMIT, dead->fatal_line ? "; keyd: " : "",
	    dead->fatal_line ? dead->fatal_line : "");
}

/* Both halves of a pair are gone: respawn, or retire the pair. */
static void
pair_check_dead(struct pair *p)
{
	struct timeval	tv;
	int64_t		delay;

	if (p->worker.pid > 0 || p->keyd.pid > 0 ||
	    evtimer_pending(p->respawn, NULL))
		return;
	evtimer_del(p->straggler);
	if (P.shutting_down || p->state == PAIR_DRAINING ||
	    p->generation != P.generation) {
		pair_free(p);
		check_all_gone();
		return;
	}
	if (now_ms() - p->started_ms >= STABLE_UPTIME_MS)
		p->failures = 0;
	if (p->worker.ready && p->keyd.ready)
		p->setup_fails = 0;
	else if (++p->setup_fails >= SETUP_FAIL_LIMIT)
		check_setup_failures(p);
	delay = (int64_t)RESPAWN_MIN_MS << MINIMUM(p->failures, 6);
	if (delay > RESPAWN_MAX_MS)
		delay = RESPAWN_MAX_MS;
	p->failures++;
	if (p->worker.chan != NULL) {
		chan_free(p->worker.chan);
		p->worker.chan = NULL;
	}
	if (p->keyd.chan != NULL) {
		chan_free(p->keyd.chan);
		p->keyd.chan = NULL;
	}
	log_info("worker[%d]/keyd[%d] respawn in %lld ms", p->instance,
	    p->instance, (long long)delay);
	ms_to_tv(delay, &tv);
	evtimer_add(p->respawn, &tv);
}

static void
log_exit(const char *role, int instance, pid_t pid, int status, int expected)
{
	if (WIFSIGNALED(status))
		log_warnx("%s[%d] (pid %ld) killed by signal %d (%s)%s", role,
		    instance, (long)pid, WTERMSIG(status),
		    strsignal(WTERMSIG(status)), WTERMSIG(status) == SIGSYS ?
		    ": seccomp violation" : "");
	else if (WEXITSTATUS(status) != 0)
		log_warnx("%s[%d] (pid %ld) exited with status %d", role,
		    instance, (long)pid, WEXITSTATUS(status));
	else if (!expected)
		log_warnx("%s[%d] (pid %ld) exited unexpectedly", role,
		    instance, (long)pid);
	else
		log_debug("%s[%d] (pid %ld) exited", role, instance, (long)pid);
}

static void
reap_children(void)
{
	struct pair	*p, *tmp;
	struct timeval	 tv;
	pid_t		 pid;
	int		 status, expected;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		TAILQ_FOREACH(p, &P.pairs, entry)
			if (p->worker.pid == pid || p->keyd.pid == pid)
				break;
		if (p == NULL)
			continue;
		expected = P.shutting_down || p->state == PAIR_DRAINING;
		/* Its last words (a fatal error's reason) before its exit. */
		if (p->worker.pid == pid && p->worker.chan != NULL)
			chan_drain(p->worker.chan);
		else if (p->keyd.pid == pid && p->keyd.chan != NULL)
			chan_drain(p->keyd.chan);
		if (p->died_how == -1 &&
		    (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
			p->died_how = status;
		if (p->worker.pid == pid) {
			log_exit("worker", p->instance, pid, status, expected);
			p->worker.pid = 0;
		} else {
			/* keyd leaves whenever its worker is gone. */
			log_exit("keyd", p->instance, pid, status,
			    expected || p->worker.pid == 0);
			p->keyd.pid = 0;
		}
		if (p->worker.pid > 0 || p->keyd.pid > 0) {
			/* The survivor follows on channel EOF; make sure. */
			ms_to_tv(STRAGGLER_MS, &tv);
			evtimer_add(p->straggler, &tv);
		}
	}
	for (p = TAILQ_FIRST(&P.pairs); p != NULL; p = tmp) {
		tmp = TAILQ_NEXT(p, entry);
		pair_check_dead(p);
	}
}

/*
 * Ask a pair's worker to finish its connections within shutdown_timeout
 * and exit, and cancel the pair's pending respawn, if any.
 */
static void
pair_drain(struct pair *p)
{
	struct buf	 m;

	evtimer_del(p->respawn);
	if (p->worker.chan == NULL)
		return;
	buf_init(&m, 16);
	msg_put_i64(&m, P.conf->shutdown_timeout);
	chan_send(p->worker.chan, MSG_SHUTDOWN, 0, &m);
	buf_free(&m);
}

/* New workers are serving: let the previous generation finish and go. */
static void
drain_old_generations(void)
{
	struct pair	*p;

	/*
	 * Both halves: a worker is ready before its keyd has come through
	 * its own set-up, which a reload can break (a CA bundle keyd cannot
	 * load); the old generation serves until then.
	 */
	TAILQ_FOREACH(p, &P.pairs, entry)
		if (p->generation == P.generation &&
		    (!p->worker.ready || !p->keyd.ready))
			return;
	TAILQ_FOREACH(p, &P.pairs, entry) {
		if (p->generation == P.generation || p->state == PAIR_DRAINING)
			continue;
		p->state = PAIR_DRAINING;
		pair_drain(p);
	}
	{
		struct pair *tmp;

		for (p = TAILQ_FIRST(&P.pairs); p != NULL; p = tmp) {
			tmp = TAILQ_NEXT(p, entry);
			if (p->state == PAIR_DRAINING)
				pair_check_dead(p);
		}
	}
}

static void
spawn_generation(void)
{
	int	i, n = config_workers(P.conf);

	P.generation++;
	for (i = 0; i < n; i++)
		spawn_pair(pair_new(i, P.generation));
}

/* --- signals ------------------------------------------------------- */

static void
kill_all(int sig)
{
	struct pair	*p;

	TAILQ_FOREACH(p, &P.pairs, entry) {
		if (p->worker.pid > 0)
			kill(p->worker.pid, sig);
		if (p->keyd.pid > 0)
			kill(p->keyd.pid, sig);
	}
}

static void
kill_timer_cb(evutil_socket_t fd, short ev, void *arg)
{
	log_warnx("children did not exit in time: killing them");
	kill_all(SIGKILL);
}

static void
start_shutdown(int sig)
{
	struct pair	*p;
	struct timeval	 tv;

	if (P.shutting_down) {
		/* A second signal: stop waiting (Go's proxy does the same). */
		log_warnx("second signal: terminating immediately");
		kill_all(SIGKILL);
		return;
	}
	P.shutting_down = 1;
	sd_notifyf("STOPPING=1");
	log_info("%s: draining (up to %lld ms)", strsignal(sig),
	    (long long)P.conf->shutdown_timeout);
	TAILQ_FOREACH(p, &P.pairs, entry)
		pair_drain(p);
	ms_to_tv(P.conf->shutdown_timeout + 2000, &tv);
	evtimer_add(P.kill_timer, &tv);
	/* Pairs already dead and waiting for respawn are retired now. */
	{
		struct pair *tmp;

		for (p = TAILQ_FIRST(&P.pairs); p != NULL; p = tmp) {
			tmp = TAILQ_NEXT(p, entry);
			pair_check_dead(p);
		}
	}
	check_all_gone();
}

static void
reload(void)
{
	struct config		*c;
	struct buf		 files;
	struct access_policy	 access;
	struct pair		*p;
	int			 tls_fd = -1;

	log_info("SIGHUP: reloading %s", P.opts->conf_path);
	sd_notifyf("RELOADING=1");
	if ((c = load_config(P.opts)) == NULL) {
		log_warnx("reload failed: keeping the current configuration");
		sd_notifyf("READY=1\nSTATUS=reload failed, running the previous "
		    "configuration");
		return;
	}
	config_carry_restart_keys(c, P.conf);
	if (load_access(c, &access) == -1) {
		log_warnx("reload failed: keeping the current configuration");
		sd_notifyf("READY=1\nSTATUS=reload failed, running the previous "
		    "configuration");
		config_free(c);
		return;
	}
	if (load_tls(c, &tls_fd) == -1 || load_keyd_files(c, &files) == -1 ||
	    build_store(c) == -1) {
		if (tls_fd != -1)
			close(tls_fd);
		log_warnx("reload failed: keeping the current configuration");
		sd_notifyf("READY=1\nSTATUS=reload failed, running the previous "
		    "configuration");
		access_policy_free(&access);
		config_free(c);
		return;
	}
	config_free(P.conf);
	P.conf = c;
	buf_free(&P.files);
	P.files = files;
	tls_install(tls_fd);
	/*
	 * The new access policy holds at once for every worker, those of
	 * the generation about to drain too: a revoked token is refused
	 * from the next request on, wherever it lands.  Requests admitted
	 * before finish.
	 */
	access_policy_free(&P.access);
	P.access = access;
	TAILQ_FOREACH(p, &P.pairs, entry)
		if (p->worker.chan != NULL)
			send_access(p->worker.chan);
	log_info("client access: client_auth %s, %u client token(s)",
	    P.access.mode == CA_TOKENS ? "tokens" : "off", P.access.n);
	warn_open_listeners(c);
	tls_sig_update();
	log_setlevel(c->log_level);
	log_setformat(c->log_format);
	config_warn_testonly(c);
	P.notified = 0;		/* READY=1 again once the new one serves */
	spawn_generation();
	log_info("configuration reloaded (generation %d)", P.generation);
}

static void
signal_cb(evutil_socket_t sig, short ev, void *arg)
{
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		start_shutdown((int)sig);
		break;
	case SIGHUP:
		if (!P.shutting_down)
			reload();
		break;
	case SIGCHLD:
		reap_children();
		break;
	}
}

/* --- start-up ------------------------------------------------------ */

static void
daemonize(void)
{
	int	fd;

	switch (fork()) {
	case -1:
		fatal("fork");
	case 0:
		log_forked();
		break;
	default:
		_exit(0);
	}
	if (setsid() == -1)
		fatal("setsid");
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
}

/* Said at every start: a test build must never pass for a real one. */
static void
warn_test_build(void)
{
#ifdef TEST_HOOKS
	log_warnx("THIS BUILD HAS TEST HOOKS (--enable-test-hooks): "
	    "unauthenticated /__test/ routes (one kills keyd on request) and "
	    "insecure test-only settings are accepted; never run it in "
	    "production");
#endif
}

static int
check_secret_file(const char *what, const char *value)
{
	if (value == NULL || value[0] != '@')
		return 0;
	if (access(value + 1, R_OK) == -1) {
		log_warn("failed to read %s file \"%s\"", what, value + 1);
		return -1;
	}
	return 0;
}

int
parent_main(struct parent_opts *o)
{
	static const int	 sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGCHLD };
	struct event		*ev;
	size_t			 i;

	P.opts = o;
	TAILQ_INIT(&P.pairs);
	TAILQ_INIT(&P.scrapes);
	log_procinit("parent", -1);
	chan_set_identity("parent", -1);
	if (sodium_init() < 0)
		fatalx("sodium_init");

	if ((P.conf = load_config(o)) == NULL) {
		if (o->check_only)
			fprintf(stderr, "%s: configuration invalid\n",
			    o->conf_path);
		forget_cli_secrets(o);
		return 1;
	}
	if (o->check_only) {
		/* Nothing runs: the command line's literals are not stashed. */
		forget_cli_secrets(o);
		if (lookup_user(P.conf) == -1 ||
		    load_access(P.conf, &P.access) == -1 ||
		    check_secret_file("API key", P.conf->api_key) == -1 ||
		    check_secret_file("prompt cache salt",
		    P.conf->prompt_cache_salt) == -1 ||
		    amd_chains_check(P.conf, AMD_CHAIN_DIR, stdout) == -1) {
			fprintf(stderr, "%s: configuration invalid\n",
			    o->conf_path);
			return 1;
		}
		printf("%s: configuration OK\n", o->conf_path);
		return 0;
	}
	log_setlevel(P.conf->log_level);
	log_setformat(P.conf->log_format);
	if (!o->foreground)
		log_init(0, log_getlevel(), P.conf->log_format);
	log_info("Privatemode encryption proxy, version v%s", PACKAGE_VERSION);
	warn_test_build();
	config_warn_testonly(P.conf);

	if ((P.self_fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC)) == -1)
		fatal("open /proc/self/exe");
	/*
	 * Started as root, we switch to `user' ourselves.  Started as the
	 * user with an ambient CAP_SYS_CHROOT (the systemd unit does that),
	 * children still chroot.  Without either, children could not chroot:
	 * a taken-over worker would see the whole file system as our user
	 * (the API key file among it), so we do not start unless the
	 * configuration gives the chroot up in so many words.
	 */
	P.root = priv_is_root();
	P.chroot_ok = P.conf->chroot &&
	    (P.root || priv_have_cap(CAP_SYS_CHROOT));
	if (P.root) {
		if (lookup_user(P.conf) == -1)
			return 1;
	} else {
		P.uid = getuid();
		P.gid = getgid();
	}
	if (P.conf->chroot && !P.chroot_ok) {
		log_warnx("started as uid %ld without CAP_SYS_CHROOT: workers "
		    "and keyd could not chroot into %s; not starting.  Start "
		    "as root or with an ambient CAP_SYS_CHROOT (as the systemd "
		    "unit does), or set \"chroot no\" to run them without a "
		    "chroot (see privatemode.conf(5))", (long)getuid(),
		    P.conf->chroot_dir);
		return 1;
	}
	if (!P.conf->chroot)
		log_warnx("chroot no: workers and keyd run without a chroot, "
		    "seeing the file system as uid %ld", (long)P.uid);
	stash_cli_secrets(o);
	if (load_access(P.conf, &P.access) == -1 ||
	    load_tls(P.conf, &P.tls_fd) == -1 ||
	    load_keyd_files(P.conf, &P.files) == -1 ||
	    build_store(P.conf) == -1)
		return 1;
	if (P.conf->api_key == NULL)
		log_warnx("No API key provided. The proxy will not "
		    "authenticate with the API.");
	if (bind_listeners(P.conf) == -1)
		return 1;
	log_info("client access: client_auth %s, %u client token(s)",
	    P.access.mode == CA_TOKENS ? "tokens" : "off", P.access.n);
	warn_open_listeners(P.conf);
	if (P.chroot_ok)
		P.chroot_fd = prepare_chroot(P.conf->chroot_dir, P.root);
	if (P.root)
		workspace_prepare(P.conf->workspace, P.uid, P.gid);
	if (!o->foreground)
		daemonize();
	signal(SIGPIPE, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	privdrop_parent(P.uid, P.gid, P.root);
	/*
	 * With our effective ids and capabilities, as the writes will be:
	 * plain access() ignores a non-root caller's capabilities and so
	 * failed on a workspace below a mode 0700 home, which
	 * CAP_DAC_READ_SEARCH lets us reach.
	 */
	if (faccessat(AT_FDCWD, P.conf->workspace, W_OK, AT_EACCESS) == -1)
		log_warn("workspace %s is not writable: the manifest log and "
		    "request dumps will fail", P.conf->workspace);

	if ((P.base = event_base_new()) == NULL)
		fatalx("event_base_new");
	for (i = 0; i < nitems(sigs); i++) {
		ev = evsignal_new(P.base, sigs[i], signal_cb, NULL);
		evsignal_add(ev, NULL);
	}
	P.kill_timer = evtimer_new(P.base, kill_timer_cb, NULL);
	P.tls_timer = evtimer_new(P.base, tls_check, NULL);
	tls_sig_update();
	tls_check(-1, 0, NULL);
	watchdog_init();
	spawn_generation();
	log_info("started %d worker(s), listening on %d socket(s)",
	    config_workers(P.conf), P.nlfds);
	event_base_dispatch(P.base);
	return 0;
}
