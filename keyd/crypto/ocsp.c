/* OCSP policy header and MAC; see ocsp.h. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "log.h"
#include "ocsp.h"
#include "util.h"

int
ocsp_policy_format(const char *const *statuses, size_t n, int64_t not_before,
    struct buf *out, struct cerr *err)
{
	size_t	i;

	if (n == 0) {
		cerr_set(err, "at least one allowed OCSP status must be "
		    "specified");
		return -1;
	}
	buf_adds(out, "rules=");
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_addc(out, ',');
		buf_adds(out, statuses[i]);
	}
	buf_addf(out, "; revocation-time-not-before=%lld",
	    (long long)not_before);
	return 0;
}

void
ocsp_policy_from_flags(int allow_unknown, int64_t grace_hours, time_t now,
    struct buf *out)
{
	const char	*st[3];
	size_t		 n = 0;

	st[n++] = OCSP_ALLOW_GOOD;
	if (grace_hours > 0)
		st[n++] = OCSP_ALLOW_REVOKED;
	if (allow_unknown)
		st[n++] = OCSP_ALLOW_UNKNOWN;
	if (ocsp_policy_format(st, n, (int64_t)now -
	    (grace_hours > 0 ? grace_hours * 3600 : 0), out, NULL) == -1)
		fatalx("%s: empty policy", __func__);
}

int
ocsp_policy_mac(const uint8_t *secret, size_t secretlen, const char *policy,
    size_t policylen, char mac[OCSP_MAC_HEXLEN + 1], struct cerr *err)
{
	static const char	hex[] = "0123456789abcdef";
	uint8_t			md[32];
	unsigned int		mdlen = sizeof(md), i;

	if (secretlen < 32) {
		cerr_set(err, "secret data too short: got %zu bytes, need at "
		    "least 32", secretlen);
		return -1;
	}
	if (HMAC(EVP_sha256(), secret, 32, (const uint8_t *)policy,
	    policylen, md, &mdlen) == NULL || mdlen != sizeof(md))
		fatalx("%s: HMAC", __func__);
	for (i = 0; i < sizeof(md); i++) {
		mac[2 * i] = hex[md[i] >> 4];
		mac[2 * i + 1] = hex[md[i] & 0xf];
	}
	mac[OCSP_MAC_HEXLEN] = '\0';
	OPENSSL_cleanse(md, sizeof(md));
	return 0;
}

static int
known_status(const char *s, size_t n)
{
	static const char *const known[] = { OCSP_ALLOW_GOOD,
	    OCSP_ALLOW_REVOKED, OCSP_ALLOW_UNKNOWN };
	size_t	i;

	for (i = 0; i < nitems(known); i++)
		if (strlen(known[i]) == n && strncasecmp(s, known[i], n) == 0)
			return 1;
	return 0;
}

int
ocsp_policy_verify(const uint8_t *secret, size_t secretlen,
    const char *policy, const char *mac, struct cerr *err)
{
	const char	*sep, *rules, *nbf, *p, *e;
	char		 want[OCSP_MAC_HEXLEN + 1], *end;

	if ((sep = strstr(policy, "; ")) == NULL || strstr(sep + 2, "; ")) {
		cerr_set(err, "invalid header format: expected 2 parts");
		return -1;
	}
	/* The two parts may come in either order. */
	rules = strncmp(policy, "rules=", 6) == 0 ? policy :
	    strncmp(sep + 2, "rules=", 6) == 0 ? sep + 2 : NULL;
	nbf = rules == policy ? sep + 2 : policy;
	if (rules == NULL || strncmp(nbf, "revocation-time-not-before=",
	    27) != 0) {
		cerr_set(err, "missing required parts in header");
		return -1;
	}
	strtoll(nbf + 27, &end, 10);
	if (end == nbf + 27 || (*end != '\0' && *end != ';')) {
		cerr_set(err, "parsing revocation time not before");
		return -1;
	}
	e = rules == policy ? sep : policy + strlen(policy);
	for (p = rules + 6; p <= e; p = sep + 1) {
		if ((sep = memchr(p, ',', (size_t)(e - p))) == NULL)
			sep = e;
		if (!known_status(p, (size_t)(sep - p))) {
			cerr_set(err, "parsing OCSP status: invalid OCSP "
			    "allow status");
			return -1;
		}
		if (sep == e)
			break;
	}
	if (ocsp_policy_mac(secret, secretlen, policy, strlen(policy), want,
	    err) == -1)
		return -1;
	if (strlen(mac) != OCSP_MAC_HEXLEN ||
	    CRYPTO_memcmp(want, mac, OCSP_MAC_HEXLEN) != 0) {
		cerr_set(err, "HMAC verification failed");
		return -1;
	}
	return 0;
}
