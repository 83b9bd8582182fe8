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
 *	worker[i] <-> keyd[i]	the data path (sealing requests, TLS bytes)
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

#define IPC_PROTO_VERSION	1

/* Child file descriptors set up by the parent before exec. */
#define IPC_FD_PARENT		3	/* channel to the parent */
#define IPC_FD_PEER		4	/* worker <-> keyd channel */
#define IPC_FD_LISTEN0		5	/* workers: first inherited listener */

/* Caps on a single frame's payload, checked before it is buffered. */
#define IPC_MAX_SMALL		(64 * 1024)
#define IPC_MAX_CONFIG		(1024 * 1024)
#define IPC_MAX_DATA_FLOOR	(16 * 1024 * 1024)	/* data path minimum */
#define IPC_MAX_DATA_CEIL	(1024U * 1024 * 1024)	/* absolute limit */

/*
 * Message types: X(name, payload cap, direction).  A cap of 0 means "the
 * channel's data cap", which scales with max_body_size.  Requests that
 * expect an answer carry a request id the answer repeats.
 */
#define IPC_MESSAGES(X)							\
	X(MSG_HELLO,		IPC_MAX_SMALL,	"any: protocol version, role, pid") \
	X(MSG_CONFIG,		IPC_MAX_CONFIG,	"parent->child: non-secret config") \
	X(MSG_CONFIG_DONE,	IPC_MAX_SMALL,	"child->parent: config applied") \
	X(MSG_KEYD_FILES,	IPC_MAX_CONFIG * 64, "parent->keyd: CA bundle, AMD chains, manifest") \
	X(MSG_TLS_KEYPAIR,	IPC_MAX_CONFIG,	"parent->worker: client-facing TLS cert and key") \
	X(MSG_SANDBOXED,	IPC_MAX_SMALL,	"keyd->parent: sandbox on, send secrets") \
	X(MSG_SECRETS,		IPC_MAX_SMALL,	"parent->keyd: API key, cache salt") \
	X(MSG_SECRETS_DONE,	IPC_MAX_SMALL,	"keyd->parent: secrets installed") \
	X(MSG_SHUTDOWN,		IPC_MAX_SMALL,	"parent->child: drain and exit") \
	X(MSG_LOG,		IPC_MAX_SMALL,	"keyd->parent: one log line") \
	X(MSG_STATUS_REQ,	IPC_MAX_SMALL,	"worker->keyd: readiness query") \
	X(MSG_STATUS_ANS,	IPC_MAX_SMALL,	"keyd->worker: readiness answer") \
	X(MSG_TEST_SYSCALL,	IPC_MAX_SMALL,	"worker->keyd: test hook, forbidden syscall") \
	X(MSG_UP_OPEN,		IPC_MAX_SMALL,	"worker->keyd: new upstream connection") \
	X(MSG_UP_DATA,		0,		"worker->keyd: bytes read from upstream") \
	X(MSG_UP_EOF,		IPC_MAX_SMALL,	"worker->keyd: upstream closed or failed") \
	X(MSG_UP_CLOSE,		IPC_MAX_SMALL,	"worker->keyd: connection gone, forget it") \
	X(MSG_UP_IO,		0,		"keyd->worker: bytes to send, response events") \
	X(MSG_REQ_SEAL,		0,		"worker->keyd: client request to encrypt and send") \
	X(MSG_NET_OPEN,		IPC_MAX_SMALL,	"keyd->worker: open a connection for keyd") \
	X(MSG_NET_STATUS,	IPC_MAX_SMALL,	"worker->keyd: keyd's connection is up, or why not") \
	X(MSG_MANIFEST_LOG,	IPC_MAX_CONFIG * 16, "keyd->parent: a fetched manifest to log") \
	X(MSG_MANIFEST_LOGGED,	IPC_MAX_SMALL,	"parent->keyd: logged, or why not") \
	X(MSG_CACHE_GET,	IPC_MAX_SMALL,	"keyd->parent: cached KDS response for a URL?") \
	X(MSG_CACHE_ANS,	IPC_MAX_CONFIG * 16, "parent->keyd: found flag, bytes") \
	X(MSG_CACHE_PUT,	IPC_MAX_CONFIG * 16, "keyd->parent: store a KDS response") \
	X(MSG_KEYD_STATE,	IPC_MAX_SMALL,	"keyd->parent: secret usable or not, and why") \
	X(MSG_DUMP,		0,		"worker->parent: a request and its answer to dump") \
	X(MSG_METRICS_REQ,	IPC_MAX_SMALL,	"parent->child: send your counters") \
	X(MSG_METRICS_ANS,	IPC_MAX_SMALL,	"child->parent: struct metrics") \
	X(MSG_METRICS_SCRAPE,	IPC_MAX_SMALL,	"worker->parent: a scrape arrived, aggregate") \
	X(MSG_METRICS_TEXT,	IPC_MAX_CONFIG,	"parent->worker: the exposition text") \
	X(MSG_TEST_CLOCK,	IPC_MAX_SMALL,	"worker->keyd: test hook, advance keyd's clock")

/*
 * The data path.  An upstream connection has a 32-bit id: the worker
 * numbers the ones it opens for client requests (bit 31 clear), keyd the
 * ones it needs for attestation, the secret exchange and downloads (bit
 * 31 set, opened by the worker on MSG_NET_OPEN).  keyd owns the TLS
 * session of every one of them; the worker owns the socket.
 *
 * MSG_UP_IO carries: u32 conn id, bytes to write to the socket, u8 flags
 * (UPF_*), u32 event count, then events (u8 UPE_* type + fields):
 *	UPE_HEAD	u16 status, u32 n, n x (str name, str value)
 *	UPE_DATA	bytes (plaintext for the client)
 *	UPE_END		- (the response is complete)
 *	UPE_ERROR	u16 status, str type, str code, str message
 *	UPE_RETRY	u8 reason (UPR_*), u32 delay ms
 */
#define UP_KEYD_ID	0x80000000U	/* id bit: connection opened for keyd */

#define UPF_CLOSE	0x01	/* close the socket once the bytes are out */
#define UPF_REUSABLE	0x02	/* exchange done, connection may be pooled */
#define UPF_READY	0x04	/* TLS handshake complete */

enum up_event {
	UPE_HEAD = 1,
	UPE_DATA,
	UPE_END,
	UPE_ERROR,
	UPE_RETRY
};

enum up_retry {
	UPR_RESET = 1,		/* connection reset: new nonce, 50 ms */
	UPR_NO_SECRET,		/* "no secret for ID": after a new secret */
	UPR_STALE		/* pooled connection was dead: same attempt */
};

/* Routes a client request can take, as MSG_REQ_SEAL names them. */
enum route_kind {
	RK_MODELS = 1,		/* no encryption, passthrough */
	RK_CHAT,		/* /v1/chat/completions */
	RK_COMPLETIONS,		/* /v1/completions */
	RK_EMBEDDINGS,
	RK_TRANSCRIPTIONS,	/* multipart */
	RK_MESSAGES,		/* Anthropic */
	RK_UNSTRUCTURED		/* raw body */
};

enum msg_type {
	MSG_NONE = 0,
#define IPC_ENUM(name, cap, what)	name,
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
