/*
 * The Privatemode-Shard-Key header value (protocol.md 4.2): 16 hex
 * digits of SHA-256(cache_salt), then one base64-alphabet character per
 * block of "tokens" (4 content bytes each) from a SHA-256 chain over the
 * prompt, with blocks of 16 tokens up to 1024, 128 up to 100 096 and 512
 * beyond, so requests sharing a prefix share a key prefix (the gateway
 * routes on it to reuse a server's prompt cache).
 */
#ifndef PM_SHARDKEY_H
#define PM_SHARDKEY_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "cerr.h"

#define SHARDKEY_MAX_TOKENS	1000000
#define SHARDKEY_MAX_LEN	(16 + 1 + 2595)

/*
 * Append the shard key of (salt, content) to out.  Fails with Go's
 * "context too large: ~<n> tokens" past SHARDKEY_MAX_TOKENS.  The caller
 * decides what an empty salt means (the proxy then sends no header).
 */
int	shard_key(const uint8_t *salt, size_t saltlen, const uint8_t *content,
	    size_t contentlen, struct buf *out, struct cerr *);

#endif
