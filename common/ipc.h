/*
 * The IPC protocol between privatemoded's processes: parent, network
 * workers and key daemons (keyd).  This header is the single definition
 * of the wire format; bump IPC_PROTO_VERSION whenever a message type is
 * added, removed or changes its fields.
 *
 * Topology (socketpairs created by the parent, one set per instance i):
 *
 *	parent <-> worker[i]	config, shutdown, metrics
 *	parent <-> keyd[i]	config, secrets, log lines, workspace writes
 *	worker[i] <-> keyd[i]	the data path (plaintext requests and answers,
 *				upstream sockets handed to keyd)
 *
 * Frame: a fixed header followed by `len` payload bytes.  Payloads are
 * built and read with the typed msg_put_* / msg_get_* helpers; a reader
 * that runs short, or finds bytes left over at msg_end(), fails.
 */
#ifndef PM_IPC_H
#define PM_IPC_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define IPC_PROTO_VERSION	5

/* Child file descriptors set up by the parent before exec. */
#define IPC_FD_PARENT		3	/* channel to the parent */
#define IPC_FD_PEER		4	/* worker <-> keyd channel */
#define IPC_FD_LISTEN0		5	/* workers: first inherited listener */
/*
 * The chroot directory, opened by the parent (O_PATH), entered with
 * fchdir() + chroot(".") in privdrop() and closed there.  Placed above
 * every other inherited descriptor (listeners, the parent's own binary).
 */
#define IPC_FD_CHROOT		63

/* Caps on a single frame's payload, checked before it is buffered. */
#define IPC_MAX_SMALL		(64 * 1024)
#define IPC_MAX_CONFIG		(1024 * 1024)
#define IPC_MAX_DATA_FLOOR	(16 * 1024 * 1024)	/* data path minimum */
#define IPC_MAX_DATA_CEIL	(1024U * 1024 * 1024)	/* absolute limit */

/* Process roles: who may send a message, and to whom. */
#define R_PARENT	0x01
#define R_WORKER	0x02
#define R_KEYD		0x04
#define R_CHILD		(R_WORKER | R_KEYD)
#define R_ANY		(R_PARENT | R_WORKER | R_KEYD)

/*
 * Message types: X(name, payload cap, sender roles, receiver roles,
 * what).  A cap of 0 means "the channel's data cap", which scales with
 * max_body_size.  A channel refuses a frame whose type its peer may not
 * send or this process may not receive.  Requests that expect an answer
 * carry a request id the answer repeats.
 */
#define IPC_MESSAGES(X)							\
	X(MSG_HELLO,		IPC_MAX_SMALL,	R_ANY, R_ANY,		"protocol version, role, pid") \
	X(MSG_CONFIG,		IPC_MAX_CONFIG,	R_PARENT, R_CHILD,	"non-secret config") \
	X(MSG_CONFIG_DONE,	IPC_MAX_SMALL,	R_WORKER, R_PARENT,	"config applied, serving") \
	X(MSG_KEYD_FILES,	IPC_MAX_CONFIG * 64, R_PARENT, R_KEYD,	"CA bundle, AMD chains, manifest, test Intel root") \
	X(MSG_TLS_CERT,		IPC_MAX_CONFIG,	R_PARENT, R_WORKER,	"client-facing TLS certificate chain") \
	X(MSG_TLS_KEY,		IPC_MAX_CONFIG,	R_PARENT, R_KEYD,	"client-facing TLS private key") \
	X(MSG_TLS_SIGN,		IPC_MAX_SMALL,	R_WORKER, R_KEYD,	"sign a TLS handshake's digest") \
	X(MSG_TLS_SIGNED,	IPC_MAX_SMALL,	R_KEYD, R_WORKER,	"the signature, or why not") \
	X(MSG_SANDBOXED,	IPC_MAX_SMALL,	R_KEYD, R_PARENT,	"sandbox on, send secrets") \
	X(MSG_SECRETS,		IPC_MAX_SMALL,	R_PARENT, R_KEYD,	"API key, cache salt") \
	X(MSG_SECRETS_DONE,	IPC_MAX_SMALL,	R_KEYD, R_PARENT,	"secrets installed") \
	X(MSG_SHUTDOWN,		IPC_MAX_SMALL,	R_PARENT, R_CHILD,	"drain and exit") \
	X(MSG_LOG,		IPC_MAX_SMALL,	R_KEYD, R_PARENT,	"one log line") \
	X(MSG_STATUS_REQ,	IPC_MAX_SMALL,	R_WORKER, R_KEYD,	"readiness query") \
	X(MSG_STATUS_ANS,	IPC_MAX_SMALL,	R_KEYD, R_WORKER,	"readiness answer") \
	X(MSG_REQ,		0,		R_WORKER, R_KEYD,	"a client request to seal and send") \
	X(MSG_REQ_CTL,		IPC_MAX_SMALL,	R_WORKER, R_KEYD,	"pause, resume or cancel an exchange") \
	X(MSG_RESP,		0,		R_KEYD, R_WORKER,	"an exchange's answer events") \
	X(MSG_NET_OPEN,		IPC_MAX_SMALL,	R_KEYD, R_WORKER,	"connect to a configured origin") \
	X(MSG_NET_FD,		IPC_MAX_SMALL,	R_WORKER, R_KEYD,	"the connected socket, or why not") \
	X(MSG_MANIFEST_LOG,	IPC_MAX_CONFIG * 16, R_KEYD, R_PARENT,	"a fetched manifest to log") \
	X(MSG_MANIFEST_LOGGED,	IPC_MAX_SMALL,	R_PARENT, R_KEYD,	"logged, or why not") \
	X(MSG_CACHE_GET,	IPC_MAX_SMALL,	R_KEYD, R_PARENT,	"cached KDS response for a URL?") \
	X(MSG_CACHE_ANS,	IPC_MAX_CONFIG * 16, R_PARENT, R_KEYD,	"found flag, bytes") \
	X(MSG_CACHE_PUT,	IPC_MAX_CONFIG * 16, R_KEYD, R_PARENT,	"store a KDS response") \
	X(MSG_KEYD_STATE,	IPC_MAX_SMALL,	R_KEYD, R_PARENT,	"secret usable or not, and why") \
	X(MSG_DUMP,		0,		R_WORKER, R_PARENT,	"a request and its answer to dump") \
	X(MSG_METRICS_REQ,	IPC_MAX_SMALL,	R_PARENT, R_CHILD,	"send your counters") \
	X(MSG_METRICS_ANS,	IPC_MAX_SMALL,	R_CHILD, R_PARENT,	"struct metrics") \
	X(MSG_METRICS_SCRAPE,	IPC_MAX_SMALL,	R_WORKER, R_PARENT,	"a scrape arrived, aggregate") \
	X(MSG_METRICS_TEXT,	IPC_MAX_CONFIG,	R_PARENT, R_WORKER,	"the exposition text") \
	X(MSG_TEST_SYSCALL,	IPC_MAX_SMALL,	R_WORKER, R_KEYD,	"test hook: a forbidden syscall") \
	X(MSG_TEST_CLOCK,	IPC_MAX_SMALL,	R_WORKER, R_KEYD,	"test hook: advance keyd's clock") \
	X(MSG_CLIENTS,		IPC_MAX_CONFIG,	R_PARENT, R_WORKER,	"client_auth, token hashes, limits") \
	X(MSG_USAGE,		IPC_MAX_SMALL,	R_WORKER, R_PARENT,	"token usage per client and model")

/*
 * The data path (codecs in dpmsg.h).  An exchange is one client request
 * and its answer; the worker numbers them (the frame id of MSG_REQ,
 * MSG_REQ_CTL and MSG_RESP).  keyd owns every upstream connection: it
 * asks its worker to connect to an origin named by its role in the
 * configuration (MSG_NET_OPEN, never a host name), and the worker hands
 * the connected socket over (MSG_NET_FD with SCM_RIGHTS) and forgets it.
 * keyd numbers those requests (the frame id of MSG_NET_OPEN/_FD).
 */

/* The route kinds MSG_REQ names are enum route_kind (routes.h). */

enum msg_type {
	MSG_NONE = 0,
#define IPC_ENUM(name, cap, from, to, what)	name,
	IPC_MESSAGES(IPC_ENUM)
#undef IPC_ENUM
	MSG_TYPE_MAX
};

struct msg_hdr {
	uint32_t	len;		/* payload bytes after the header */
	uint16_t	type;		/* enum msg_type */
	uint16_t	flags;		/* reserved, must be 0 */
	uint32_t	id;		/* request id, echoed in the answer */
} __attribute__((__packed__));

const char	*msg_to_str(unsigned int type);
/* R_* of a role name ("parent", "worker", "keyd"); 0 if unknown. */
unsigned int	 ipc_role(const char *);
/* May a process of role `from` send this type to one of role `to`? */
int		 msg_allowed(unsigned int type, unsigned int from,
		    unsigned int to);
/*
 * The worker<->keyd frame cap: a sealed body (hex makes it 2x, plus the
 * TLS framing) or a decrypted unary answer (up to 128 MiB).
 */
size_t		 ipc_data_cap(uint64_t max_body_size);
size_t		 msg_cap(unsigned int type, size_t data_cap);

/* --- typed marshalling ---------------------------------------------- */

/*
 * Writer: a struct buf (common/buf.h); one initialised with
 * buf_init_secret() is zeroed as it grows and when freed.
 */
void	msg_put_u8(struct buf *, uint8_t);
void	msg_put_u16(struct buf *, uint16_t);
void	msg_put_u32(struct buf *, uint32_t);
void	msg_put_u64(struct buf *, uint64_t);
void	msg_put_i64(struct buf *, int64_t);
/* Length-prefixed (u32) byte string; NULL/0 is an empty string. */
void	msg_put_bytes(struct buf *, const void *, size_t);
/* Length-prefixed string; NULL encodes as absent (len 0xffffffff). */
void	msg_put_str(struct buf *, const char *);
/* Raw bytes with no prefix, for fixed-size fields. */
void	msg_put_raw(struct buf *, const void *, size_t);
/* Room for n raw bytes the caller fills in (no prefix). */
uint8_t	*msg_put_space(struct buf *, size_t);

/*
 * Reader over one received payload.  Getters never read past the end:
 * on a short read they record the error, return zeroes, and every later
 * getter fails too, so a handler may check once at msg_end().
 */
struct msgr {
	const uint8_t	*p;
	size_t		 left;
	int		 err;
};

void	 msgr_init(struct msgr *, const void *, size_t);
uint8_t	 msg_get_u8(struct msgr *);
uint16_t msg_get_u16(struct msgr *);
uint32_t msg_get_u32(struct msgr *);
uint64_t msg_get_u64(struct msgr *);
int64_t	 msg_get_i64(struct msgr *);
/* Zero-copy view of a length-prefixed byte string. */
const uint8_t *msg_get_bytes(struct msgr *, size_t *);
/* Copy of a length-prefixed string (NUL-terminated, no embedded NULs);
 * NULL when absent or on error (check msg_end()). */
char	*msg_get_str(struct msgr *);
int	 msg_get_raw(struct msgr *, void *, size_t);
/* Zero-copy view of exactly n raw bytes (no prefix); NULL if short. */
const uint8_t *msg_get_bytes_raw(struct msgr *, size_t n);
/* 0 if every byte was consumed and nothing ran short, else -1. */
int	 msg_end(const struct msgr *);

#endif
