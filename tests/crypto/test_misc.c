/*
 * Shard key (every length boundary of protocol.md 10.6 and the error at
 * 4 000 004 bytes), the OCSP policy header and its MAC (section 6 vector),
 * UUIDv7 request ids (RFC 9562 example) with attempt suffixes, and random
 * cache salts.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ocsp.h"
#include "reqid.h"
#include "shardkey.h"
#include "t.h"
#include "util.h"

T_GLOBALS;

#define PREFIX	"087280357dfdc5a3"
#define S63	"QKxToFQ1MRRq7Cv3lYFdwK6SCGf2xm2Lb85NGe7Z+Zy8goI7wAWd/zYccoVSVlj"

static char	*content;

static const char *
key_for(size_t len, struct cerr *err, int *rv)
{
	static struct buf	b;

	if (b.p == NULL)
		buf_init(&b, 4096);
	buf_reset(&b);
	*rv = shard_key((const uint8_t *)"test-salt", 9,
	    (const uint8_t *)content, len, &b, err);
	return buf_cstr(&b);
}

static void
test_shard_key(void)
{
	static const struct {
		size_t		 len;
		const char	*want;
	} exact[] = {
		{ 0, PREFIX }, { 1, PREFIX }, { 63, PREFIX },
		{ 64, PREFIX "-Q" }, { 127, PREFIX "-Q" },
		{ 128, PREFIX "-QK" }, { 129, PREFIX "-QK" },
		{ 191, PREFIX "-QK" }, { 192, PREFIX "-QKx" },
		{ 193, PREFIX "-QKx" }, { 4095, PREFIX "-" S63 },
		{ 4096, PREFIX "-" S63 "T" }, { 4097, PREFIX "-" S63 "T" },
		{ 4607, PREFIX "-" S63 "T" }, { 4608, PREFIX "-" S63 "TI" },
	};
	static const struct {
		size_t	len;
		size_t	suffix;
	} lengths[] = {
		{ 400383, 837 }, { 400384, 838 }, { 400385, 838 },
		{ 3999999, 2595 }, { 4000000, 2595 }, { 4000001, 2595 },
		{ 4000002, 2595 }, { 4000003, 2595 },
	};
	struct cerr	 err;
	const char	*k;
	size_t		 i;
	int		 rv;

	T_BEGIN("shard key");
	content = xmalloc(4000004);
	memset(content, 'a', 4000004);
	for (i = 0; i < nitems(exact); i++) {
		k = key_for(exact[i].len, &err, &rv);
		T_EQ_INT(rv, 0);
		T_EQ_STR(k, exact[i].want);
	}
	for (i = 0; i < nitems(lengths); i++) {
		k = key_for(lengths[i].len, &err, &rv);
		T_EQ_INT(rv, 0);
		T_EQ_INT(strlen(k), 17 + lengths[i].suffix);
		T_CHECK(strncmp(k, PREFIX "-" S63 "TI", 17 + 65) == 0);
	}
	k = key_for(4000004, &err, &rv);
	T_EQ_INT(rv, -1);
	T_EQ_STR(err.msg, "context too large: ~1000001 tokens");
	free(content);
}

static void
test_ocsp(void)
{
	static const char *const none[1];
	static const char *const all[] = { OCSP_ALLOW_GOOD,
	    OCSP_ALLOW_REVOKED, OCSP_ALLOW_UNKNOWN };
	const char	*pol = "rules=allow-good,allow-revoked,allow-unknown; "
	    "revocation-time-not-before=1700000000";
	uint8_t		 key[32];
	char		 mac[OCSP_MAC_HEXLEN + 1], bad[OCSP_MAC_HEXLEN + 1];
	struct buf	 b;
	struct cerr	 err;
	size_t		 i;

	T_BEGIN("ocsp policy and MAC");
	memset(key, 0x42, sizeof(key));
	buf_init(&b, 0);
	T_EQ_INT(ocsp_policy_format(all, 3, 1700000000, &b, &err), 0);
	T_EQ_STR(buf_cstr(&b), pol);
	T_EQ_INT(ocsp_policy_mac(key, 32, pol, strlen(pol), mac, &err), 0);
	T_EQ_STR(mac, "83c41a390ef80d5784aa31a562d90c20"
	    "e19f2dfc11e018f18913277c49722369");
	T_EQ_INT(ocsp_policy_verify(key, 32, pol, mac, &err), 0);

	buf_reset(&b);
	ocsp_policy_from_flags(1, 48, 1700000000 + 48 * 3600, &b);
	T_EQ_STR(buf_cstr(&b), pol);
	buf_reset(&b);
	ocsp_policy_from_flags(1, 0, 1234, &b);
	T_EQ_STR(buf_cstr(&b), "rules=allow-good,allow-unknown; "
	    "revocation-time-not-before=1234");
	buf_reset(&b);
	ocsp_policy_from_flags(0, 0, 1234, &b);
	T_EQ_STR(buf_cstr(&b), "rules=allow-good; "
	    "revocation-time-not-before=1234");
	buf_reset(&b);
	ocsp_policy_from_flags(0, 48, 3600, &b);
	T_EQ_STR(buf_cstr(&b), "rules=allow-good,allow-revoked; "
	    "revocation-time-not-before=-169200");
	T_EQ_INT(ocsp_policy_mac(key, 32, buf_cstr(&b), b.len, mac, &err), 0);
	T_EQ_INT(ocsp_policy_verify(key, 32, buf_cstr(&b), mac, &err), 0);

	/* Failures: empty list, short secret, any change to MAC or policy. */
	T_EQ_INT(ocsp_policy_format(none, 0, 0, &b, &err), -1);
	T_EQ_STR(err.msg, "at least one allowed OCSP status must be specified");
	T_EQ_INT(ocsp_policy_mac(key, 8, pol, strlen(pol), mac, &err), -1);
	T_EQ_STR(err.msg, "secret data too short: got 8 bytes, need at "
	    "least 32");
	T_EQ_INT(ocsp_policy_mac(key, 32, pol, strlen(pol), mac, &err), 0);
	for (i = 0; i < OCSP_MAC_HEXLEN; i++)
		bad[i] = mac[i] >= 'a' ? mac[i] - 'a' + 'A' : mac[i];
	bad[OCSP_MAC_HEXLEN] = '\0';
	T_EQ_INT(ocsp_policy_verify(key, 32, pol, bad, &err), -1);
	strlcpy(bad, mac, sizeof(bad));
	bad[0] = bad[0] == '0' ? '1' : '0';
	T_EQ_INT(ocsp_policy_verify(key, 32, pol, bad, &err), -1);
	T_EQ_STR(err.msg, "HMAC verification failed");
	key[0] ^= 1;
	T_EQ_INT(ocsp_policy_verify(key, 32, pol, mac, &err), -1);
	key[0] ^= 1;
	T_EQ_INT(ocsp_policy_verify(key, 32, "rules=allow-good; "
	    "revocation-time-not-before=1; x=y", mac, &err), -1);
	T_EQ_INT(ocsp_policy_verify(key, 32, "rules=allow-bad; "
	    "revocation-time-not-before=1", mac, &err), -1);
	/* Statuses are matched in any case (the MAC then differs). */
	T_EQ_INT(ocsp_policy_mac(key, 32, "rules=Allow-Good; "
	    "revocation-time-not-before=5", 46, mac, &err), 0);
	T_EQ_INT(ocsp_policy_verify(key, 32, "rules=Allow-Good; "
	    "revocation-time-not-before=5", mac, &err), 0);
	buf_free(&b);
}

static int
is_lower_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static void
test_ids(void)
{
	static const uint8_t	 rnd[10] = { 0x0c, 0xc3, 0x18, 0xc4, 0xdc,
	    0x0c, 0x0c, 0x07, 0x39, 0x8f };
	char			 u[UUID_STRLEN + 1], a[REQID_LEN + 1];
	char			 b[REQID_LEN + 1], s[64], salt[CACHE_SALT_LEN + 1];
	char			 salt2[CACHE_SALT_LEN + 1];
	uint8_t			 bin[64];
	size_t			 binlen, i;
	uint64_t		 ms, now;
	int			 shape = 1;

	T_BEGIN("uuidv7 and request ids");
	/* RFC 9562 appendix A.6. */
	uuidv7_format(u, 0x017f22e279b0ULL, rnd);
	T_EQ_STR(u, "017f22e2-79b0-7cc3-98c4-dc0c0c07398f");
	now = (uint64_t)wall_ms();
	reqid_new(a);
	reqid_new(b);
	T_EQ_INT(strlen(a), REQID_LEN);
	T_CHECK(strncmp(a, "proxy_", 6) == 0);
	T_CHECK(strcmp(a, b) != 0);
	for (i = 6; i < REQID_LEN; i++) {
		if (i == 6 + 8 || i == 6 + 13 || i == 6 + 18 || i == 6 + 23)
			shape &= a[i] == '-';
		else
			shape &= is_lower_hex(a[i]);
	}
	T_CHECK(shape);
	T_CHECK(a[6 + 14] == '7');
	T_CHECK(strchr("89ab", a[6 + 19]) != NULL);
	/* The first 48 bits are the current time in milliseconds. */
	strlcpy(s, a + 6, 9);
	strlcat(s, a + 6 + 9, 13);
	ms = strtoull(s, NULL, 16);
	T_CHECK(ms >= now && ms < now + 60000);
	T_EQ_INT(reqid_attempt(s, sizeof(s), a, 1), 0);
	T_EQ_INT(strlen(s), REQID_LEN + 2);
	T_CHECK(strcmp(s + REQID_LEN, "_1") == 0);
	T_EQ_INT(reqid_attempt(s, 10, a, 0), -1);

	T_BEGIN("cache salt");
	cache_salt_random(salt);
	cache_salt_random(salt2);
	T_EQ_INT(strlen(salt), CACHE_SALT_LEN);
	T_CHECK(salt[43] == '=' && salt[42] != '=');
	T_CHECK(strcmp(salt, salt2) != 0);
	T_EQ_INT(sodium_base642bin(bin, sizeof(bin), salt, CACHE_SALT_LEN,
	    NULL, &binlen, NULL, sodium_base64_VARIANT_ORIGINAL), 0);
	T_EQ_INT(binlen, 32);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_shard_key();
	test_ocsp();
	test_ids();
	T_DONE();
}
