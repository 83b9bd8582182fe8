/*
 * Per-request identifiers, minted by the worker and used by keyd (so they
 * live in common/): the Privatemode-User-Request-ID value
 * "proxy_<uuidv7>" (RFC 9562 version 7, lowercase canonical form) with
 * its "_<attempt>" suffix, and the random prompt-cache salt (32 random
 * bytes, standard base64, 44 characters).  Randomness comes from
 * libsodium (call sodium_init() first).
 */
#ifndef PM_REQID_H
#define PM_REQID_H

#include <stddef.h>
#include <stdint.h>

#define UUID_STRLEN		36
#define REQID_PREFIX		"proxy_"
#define REQID_LEN		(6 + UUID_STRLEN)
#define CACHE_SALT_LEN		44

/*
 * A UUIDv7 from a Unix time in milliseconds and 10 random bytes (74 of
 * their bits are used: 12 for rand_a, 62 for rand_b).
 */
void	uuidv7_format(char out[UUID_STRLEN + 1], uint64_t unix_ms,
	    const uint8_t rnd[10]);
/* "proxy_<uuidv7>" for now (CLOCK_REALTIME) and fresh randomness. */
void	reqid_new(char out[REQID_LEN + 1]);
/* "<id>_<attempt>" into out (size outlen); -1 if it does not fit. */
int	reqid_attempt(char *out, size_t outlen, const char *id,
	    unsigned int attempt);
/* A fresh random cache salt. */
void	cache_salt_random(char out[CACHE_SALT_LEN + 1]);

#endif
