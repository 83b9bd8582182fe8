/* Request ids and cache salts; see reqid.h. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "reqid.h"
#include "util.h"

void
uuidv7_format(char out[UUID_STRLEN + 1], uint64_t unix_ms,
    const uint8_t rnd[10])
{
	static const char	hex[] = "0123456789abcdef";
	uint8_t			u[16];
	int			i, o = 0;

	/* 48-bit big-endian milliseconds, then version and variant. */
	for (i = 0; i < 6; i++)
		u[i] = (uint8_t)(unix_ms >> (8 * (5 - i)));
	memcpy(u + 6, rnd, 10);
	u[6] = (uint8_t)(0x70 | (u[6] & 0x0f));
	u[8] = (uint8_t)(0x80 | (u[8] & 0x3f));
	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[u[i] >> 4];
		out[o++] = hex[u[i] & 0xf];
	}
	out[o] = '\0';
}

void
reqid_new(char out[REQID_LEN + 1])
{
	uint8_t	rnd[10];

	pubrand(rnd, sizeof(rnd));
	memcpy(out, REQID_PREFIX, 6);
	uuidv7_format(out + 6, (uint64_t)wall_ms(), rnd);
}

int
reqid_attempt(char *out, size_t outlen, const char *id, unsigned int attempt)
{
	int	n = snprintf(out, outlen, "%s_%u", id, attempt);

	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

void
cache_salt_random(char out[CACHE_SALT_LEN + 1])
{
	uint8_t	b[32];

	randombytes_buf(b, sizeof(b));
	sodium_bin2base64(out, CACHE_SALT_LEN + 1, b, sizeof(b),
	    sodium_base64_VARIANT_ORIGINAL);
}
