/*
 * Helpers shared by the crypto test programs: hex, vector files (parsed
 * with json-c, read in place from tests/vectors) and small conveniences.
 */
#ifndef PM_TEST_TC_H
#define PM_TEST_TC_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

/* Decode hex into a fresh buffer (caller frees); NULL on bad hex. */
uint8_t		*tc_unhex(const char *, size_t *len);
/* Decode hex into out, which must hold exactly n bytes; -1 otherwise. */
int		 tc_unhex_into(const char *, uint8_t *out, size_t n);
/* Lowercase hex of n bytes in a static buffer (for messages). */
const char	*tc_hex(const uint8_t *, size_t);
/* Parse <vectors>/<rel> with json-c; exits on failure. */
json_object	*tc_load_json(const char *rel);
/* Read <vectors>/<rel> into a NUL-terminated buffer; exits on failure. */
char		*tc_load_text(const char *rel, size_t *len);
/* String member of an object, or NULL. */
const char	*tc_str(json_object *, const char *key);

#endif
