/*
 * Verification of a Contrast Coordinator attestation document (AMD
 * SEV-SNP), as the Privatemode proxy does it through the Contrast SDK
 * v1.20: decode the document, check the nonce binding, verify the VCEK
 * chain, the CRL and the report signature, validate the report against
 * the manifest's reference values, and hand back the attested mesh CA.
 *
 * Everything here is a pure function of its arguments: no file or
 * network I/O, no logging, no global mutable state.  When the document
 * lacks the VCEK or a usable CRL the verifier answers ATT_NEED_FETCH
 * with the exact AMD KDS URLs; the caller fetches them and calls again
 * with the bytes.
 */
#ifndef PM_ATTEST_H
#define PM_ATTEST_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

/* Values equal the sevsnp.SevProduct.SevProductName enum. */
enum attest_product {
	ATT_PRODUCT_UNKNOWN = 0,
	ATT_PRODUCT_MILAN = 1,
	ATT_PRODUCT_GENOA = 2,
	ATT_PRODUCT_TURIN = 3
};
#define ATT_PRODUCT_MAX	4

#include "attest_reason.h"

/* "Milan", "Genoa", "Turin" or "Unknown" (KDS spelling). */
const char	*attest_product_name(enum attest_product);

/*
 * Call once before the sandbox: makes OpenSSL load its configuration
 * and providers and seed the DRBG that EC blinding draws from, so that
 * verification afterwards needs no file access and no getrandom(2)
 * (OpenSSL still calls getpid(2) for its fork check).  0 on success.
 */
int		 attest_init(void);

/* --- trust anchors ------------------------------------------------- */

struct attest_anchor {
	X509	*ask;
	X509	*ark;
	int	 test_only;	/* not AMD's certificates: warn loudly */
};

struct attest_trust {
	struct attest_anchor anchor[ATT_PRODUCT_MAX];
	time_t	 now;		/* verification time: set before each call */
	char	 kds_base[128];	/* "https://kdsintf.amd.com" */
};

#define ATT_KDS_BASE	"https://kdsintf.amd.com"

/* SHA-256 fingerprints of AMD's ASK/ARK certificates (DER), uppercase hex. */
extern const char *const attest_amd_fingerprint[ATT_PRODUCT_MAX][2];
#define ATT_FP_ASK	0
#define ATT_FP_ARK	1

void	 attest_trust_init(struct attest_trust *);
void	 attest_trust_free(struct attest_trust *);
/*
 * Load a KDS "cert_chain" (PEM: ASK then ARK) for a product line from a
 * buffer.  Unless test_only is set, both certificates must carry AMD's
 * fingerprints for that line.  Replaces anchors loaded before.
 */
enum attest_reason attest_trust_load_pem(struct attest_trust *,
	    enum attest_product, const char *pem, size_t len, int test_only,
	    char *err, size_t errlen);
/* Base URL for KDS requests (tests point it at a loopback server). */
int	 attest_trust_set_kds_base(struct attest_trust *, const char *);
/* Non-zero if any loaded anchor is test-only. */
int	 attest_trust_is_test_only(const struct attest_trust *);

/* --- verification -------------------------------------------------- */

#define ATT_NONCE_LEN	32

/* The caller cannot fetch (network down, no fresh cache): fail closed. */
#define ATT_IN_NO_FETCH	0x01

struct attest_input {
	const uint8_t	*nonce;		/* the 32 bytes sent to /attest */
	size_t		 nonce_len;
	const uint8_t	*doc;		/* body or Coordinator JSON */
	size_t		 doc_len;
	const uint8_t	*manifest;	/* expected manifest, byte-exact */
	size_t		 manifest_len;
	const uint8_t	*vcek;		/* KDS VCEK (DER), if fetched */
	size_t		 vcek_len;
	const uint8_t	*crl;		/* KDS CRL (DER), fetched or cached */
	size_t		 crl_len;
	int		 flags;		/* ATT_IN_* */
};

struct attest_tcb {
	uint8_t	bl, tee, spl4, spl5, spl6, spl7, snp, ucode;
};

#define ATT_MSG_MAX	1024
#define ATT_URL_MAX	512
#define ATT_MAX_ENTRIES	16

struct attest_result {
	enum attest_reason reason;
	char		 message[ATT_MSG_MAX];	/* detail for the log */

	/* Set on ATT_OK. */
	X509		*mesh_ca;		/* owned by the result */
	char		 manifest_sha256[65];	/* lowercase hex */
	uint8_t		 root_ca_sha256[32];
	int		 snp_index;		/* matching snp[] entry */
	int		 test_anchors;		/* verified with test anchors */

	/* Set as soon as the report decoded (also on most failures). */
	int		 have_report;
	uint32_t	 report_version;
	enum attest_product product;
	uint64_t	 reported_tcb_raw;
	struct attest_tcb reported_tcb;
	uint8_t		 chip_id[64];

	/* Set on ATT_NEED_FETCH: fetch each URL flagged, pass the bytes. */
	int		 need_vcek;
	char		 vcek_url[ATT_URL_MAX];
	int		 need_crl;
	char		 crl_url[ATT_URL_MAX];

	/* Outcome per ReferenceValues.snp[] entry tried. */
	int		 nentries;
	enum attest_reason entry_reason[ATT_MAX_ENTRIES];
};

/*
 * Verify the body of POST /privatemode/v1/attest, {"AttestationDoc":
 * "<base64>"}, against the nonce and the expected manifest.  The result
 * must be released with attest_result_free() whatever the outcome.
 */
enum attest_reason attest_verify_response(const struct attest_trust *,
	    const struct attest_input *, struct attest_result *);
/* Same, with doc holding the Coordinator JSON itself. */
enum attest_reason attest_verify_coordinator(const struct attest_trust *,
	    const struct attest_input *, struct attest_result *);
void	 attest_result_free(struct attest_result *);

/* --- KDS cache policy (for the caller's cache; no I/O here) --------- */

enum attest_cache {
	ATT_CACHE_NEVER = 0,	/* not a KDS URL we know */
	ATT_CACHE_FOREVER,	/* VCEK: immutable, cache by URL */
	ATT_CACHE_REFRESH	/* CRL: always re-fetch, cache as fallback */
};

enum attest_cache attest_kds_cache_policy(const char *url);
/* Non-zero if a cached CRL parses and now is before its nextUpdate. */
int	 attest_crl_usable(const uint8_t *der, size_t len, time_t now);

#endif
