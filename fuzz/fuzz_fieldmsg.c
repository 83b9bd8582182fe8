/*
 * libFuzzer target: the field-cipher message parser and decryption of
 * arbitrary text (must fail cleanly and leave nothing behind), and a
 * round trip of the input as plaintext (must come back unchanged).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fieldcipher.h"

static void
fixed_iv(uint8_t *out, size_t n, void *arg)
{
	memset(out, 0x10, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static const uint8_t	 key[32] = { 0x42 }, nonce[12] = { 1 };
	struct fc_msg		 m;
	struct fc		*enc, *dec;
	struct buf		 out, ct;
	struct cerr		 err;
	uint8_t			 tmp[64];

	if (sodium_init() < 0)
		abort();
	if (fc_msg_parse(d, n, &m, &err) == 0) {
		if (m.idlen + m.noncelen + m.ivlen + m.ctlen + 3 > n)
			abort();
		if (m.ivlen <= 2 * sizeof(tmp))
			(void)fc_unhex(m.iv, m.ivlen, tmp, &err);
	}
	buf_init(&out, 0);
	dec = fc_new(key, sizeof(key), "id", nonce, &err);
	if (fc_decrypt(dec, d, n, &out, &err) == 0 || out.len != 0 ||
	    fc_dec_seq(dec) != 0)
		abort();		/* a forgery, or residue */

	enc = fc_new(key, sizeof(key), "id", nonce, &err);
	fc_set_iv_source(enc, fixed_iv, NULL);
	buf_init(&ct, 0);
	if (fc_encrypt(enc, d, n, &ct, &err) == -1 ||
	    fc_decrypt(dec, ct.p, ct.len, &out, &err) == -1 ||
	    out.len != n || (n > 0 && memcmp(out.p, d, n) != 0))
		abort();
	fc_free(enc);
	fc_free(dec);
	buf_free(&ct);
	buf_free(&out);
	return 0;
}
