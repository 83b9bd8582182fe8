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

/*
 * Stable, machine-readable outcome.  The numbers are part of the
 * interface (metrics label failures by attest_reason_label()): append,
 * never renumber.
 */
enum attest_reason {
	ATT_OK = 0,
	ATT_NEED_FETCH = 1,		/* fetch the result's URLs, retry */
	ATT_ERR_INPUT = 2,		/* caller error (nonce length, NULL) */
	ATT_ERR_INTERNAL = 3,		/* allocation or library failure */
	ATT_ERR_MALFORMED = 4,		/* JSON, base64, protobuf, sizes */
	ATT_ERR_MANIFEST_INVALID = 5,	/* manifest fails Contrast rules */
	ATT_ERR_MANIFEST_COUNT = 6,	/* not exactly one manifest */
	ATT_ERR_MANIFEST_MISMATCH = 7,	/* do NOT retry */
	ATT_ERR_MESH_CA = 8,		/* mesh CA PEM/X.509 unusable */
	ATT_ERR_EVIDENCE_TYPE = 9,	/* insecure or unknown evidence */
	ATT_ERR_TDX_UNSUPPORTED = 10,
	ATT_ERR_VERSION = 11,		/* report version not 3..5 */
	ATT_ERR_SIGNER = 12,		/* not VCEK-signed, reserved bits */
	ATT_ERR_PRODUCT = 13,		/* product line mismatch/unknown */
	ATT_ERR_TRUST = 14,		/* no trust anchors for the line */
	ATT_ERR_VCEK = 15,		/* VCEK is not a KDS VCEK */
	ATT_ERR_CERT_CHAIN = 16,	/* VCEK does not chain to ARK */
	ATT_ERR_CERT_EXPIRED = 17,	/* chain outside validity at now */
	ATT_ERR_CRL = 18,		/* no valid CRL signed by the ARK */
	ATT_ERR_REVOKED = 19,		/* ASK listed in the CRL */
	ATT_ERR_REPORT_SIGNATURE = 20,
	ATT_ERR_POLICY = 21,		/* guest policy */
	ATT_ERR_REPORT_DATA = 22,	/* nonce/manifest/CA binding */
	ATT_ERR_HOST_DATA = 23,		/* coordinator policy hash */
	ATT_ERR_MEASUREMENT = 24,
	ATT_ERR_TCB = 25,
	ATT_ERR_FIRMWARE = 26,		/* committed > current build/API */
	ATT_ERR_PLATFORM_INFO = 27,
	ATT_ERR_ID_KEY = 28,
	ATT_ERR_MITIGATION = 29,
	ATT_ERR_VMPL = 30,
	ATT_ERR_CHIP_ID = 31,		/* CHIP_ID != VCEK hwID */
	ATT_ERR_CHIP_ID_NOT_ALLOWED = 32,
	ATT_ERR_ANCHOR = 33,		/* trust anchor PEM refused */
	ATT_REASON_MAX = 34
};

/* "ok", "need_fetch", "report_signature", ...: for metrics labels. */
const char	*attest_reason_label(enum attest_reason);
/* One-line English description of a reason. */
const char	*attest_strerror(enum attest_reason);
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
