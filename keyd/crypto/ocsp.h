/*
 * The NVIDIA OCSP policy the proxy sends with each attempt (protocol.md
 * section 6): which GPU certificate statuses the client accepts, and an
 * HMAC-SHA256 over the policy text keyed with the inference secret, so the
 * gateway cannot weaken the policy on the way to the TEE.
 */
#ifndef PM_OCSP_H
#define PM_OCSP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "cerr.h"

#define OCSP_ALLOW_GOOD		"allow-good"
#define OCSP_ALLOW_REVOKED	"allow-revoked"
#define OCSP_ALLOW_UNKNOWN	"allow-unknown"
#define OCSP_MAC_HEXLEN		64

/*
 * "rules=<s1>,<s2>,...; revocation-time-not-before=<unix>", appended to
 * out.  Fails on an empty status list (Go's Marshal does too).
 */
int	ocsp_policy_format(const char *const *statuses, size_t n,
	    int64_t not_before, struct buf *out, struct cerr *);

/*
 * The proxy's policy from its flags: allow-good; allow-revoked when the
 * grace period (hours) is positive; allow-unknown if permitted; not-before
 * = now - grace.
 */
void	ocsp_policy_from_flags(int allow_unknown, int64_t grace_hours,
	    time_t now, struct buf *out);

/*
 * Lowercase hex HMAC-SHA256(secret[0..32), policy).  Go's text for a
 * short secret: "secret data too short: got N bytes, need at least 32".
 */
int	ocsp_policy_mac(const uint8_t *secret, size_t secretlen,
	    const char *policy, size_t policylen,
	    char mac[OCSP_MAC_HEXLEN + 1], struct cerr *);

/*
 * The server's check (for tests and the simulator): two parts, known
 * statuses (any case), and a MAC equal to ours (exact, lowercase).
 */
int	ocsp_policy_verify(const uint8_t *secret, size_t secretlen,
	    const char *policy, const char *mac, struct cerr *);

#endif
