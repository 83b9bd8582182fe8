/*
 * Verification of a Contrast Coordinator attestation document (AMD
 * SEV-SNP or Intel TDX), as the Privatemode proxy does it through the
 * Contrast SDK v1.20: decode the document, check the nonce binding,
 * verify the evidence (SNP: VCEK chain, CRL, report signature; TDX: PCK
 * chain, quote and QE report signatures, Intel PCS collateral), validate
 * it against the manifest's reference values, and hand back the
 * attested mesh CA.
 *
 * Everything here is a pure function of its arguments: no file or
 * network I/O, no logging, no global mutable state.  When the document
 * lacks collateral (a VCEK or CRL from AMD's KDS, TCB info, QE identity
 * or CRLs from Intel's PCS) the verifier answers ATT_NEED_FETCH with the
 * exact URLs; the caller fetches them and calls again with the bytes.
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

/* What the Coordinator's evidence came from. */
enum attest_platform {
	ATT_PLATFORM_NONE = 0,
	ATT_PLATFORM_SNP,
	ATT_PLATFORM_TDX
};
#define ATT_PLATFORM_MAX	3

/* "sev-snp", "tdx" or "none". */
const char	*attest_platform_name(enum attest_platform);

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
	/* Intel's SGX root CA (TDX), the compiled-in copy by default. */
	X509	*intel_root;
	int	 intel_test_only;
	char	 pcs_base[128];	/* ATT_PCS_BASE */
	char	 pcs_root_crl[256];	/* ATT_PCS_ROOT_CRL_URL */
};

#define ATT_KDS_BASE	"https://kdsintf.amd.com"
/* Intel's PCS (TCB info, QE identity, PCK CRL) and its root CA's CRL. */
#define ATT_PCS_BASE	"https://api.trustedservices.intel.com"
#define ATT_PCS_ROOT_CRL_URL	\
	"https://certificates.trustedservices.intel.com/IntelSGXRootCA.der"

/*
 * Intel's SGX root CA (data/intel/sgx-root-ca.pem, the certificate
 * go-tdx-guest and Contrast embed), compiled in, and the SHA-256 of its
 * DER, uppercase hex.
 */
extern const char attest_intel_root_pem[];
extern const char attest_intel_root_fingerprint[];

/* SHA-256 fingerprints of AMD's ASK/ARK certificates (DER), uppercase hex. */
extern const char *const attest_amd_fingerprint[ATT_PRODUCT_MAX][2];
#define ATT_FP_ASK	0
#define ATT_FP_ARK	1

/* Empty AMD anchors, Intel's root loaded: call attest_trust_free(). */
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
/*
 * Replace the Intel SGX root (one PEM certificate, self-signed, CN
 * "Intel SGX Root CA", ECDSA P-256).  Unless test_only is set it must be
 * Intel's, by fingerprint.
 */
enum attest_reason attest_trust_load_intel_root(struct attest_trust *,
	    const char *pem, size_t len, int test_only, char *err,
	    size_t errlen);
/* Intel PCS base URL and root CA CRL URL (NULL keeps the current). */
int	 attest_trust_set_pcs(struct attest_trust *, const char *base,
	    const char *root_crl_url);
/* Non-zero if any loaded anchor (AMD or Intel) is test-only. */
int	 attest_trust_is_test_only(const struct attest_trust *);

/* --- verification -------------------------------------------------- */

#define ATT_NONCE_LEN	32

/* The caller cannot fetch (network down, no fresh cache): fail closed. */
#define ATT_IN_NO_FETCH	0x01

/* What an Intel PCS URL answers. */
enum attest_pcs_kind {
	ATT_PCS_NONE = 0,
	ATT_PCS_TCB_INFO,	/* /tdx/certification/v4/tcb?fmspc=... */
	ATT_PCS_QE_IDENTITY,	/* /tdx/certification/v4/qe/identity */
	ATT_PCS_PCK_CRL,	/* /sgx/certification/v4/pckcrl?ca=... */
	ATT_PCS_ROOT_CRL	/* the root CA's CRL distribution point */
};

/* One PCS answer: its body, and the issuer chain header's value. */
struct attest_pcs_doc {
	const char	*url;		/* as the verifier asked for it */
	const uint8_t	*body;
	size_t		 body_len;
	const char	*issuer_chain;	/* URL-escaped PEM; NULL for the root CRL */
	size_t		 issuer_chain_len;
};
#define ATT_PCS_MAX	8

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
	const struct attest_pcs_doc *pcs;	/* Intel PCS answers */
	size_t		 npcs;
	int		 flags;		/* ATT_IN_* */
};

struct attest_tcb {
	uint8_t	bl, tee, spl4, spl5, spl6, spl7, snp, ucode;
};

#define ATT_MSG_MAX	1024
#define ATT_URL_MAX	512
#define ATT_MAX_ENTRIES	16
#define ATT_PCS_NEED_MAX	4

/* What a verified (or decoded) TDX quote says, for the log and /readyz. */
struct attest_tdx_info {
	uint8_t		 tee_tcb_svn[16];
	uint8_t		 mr_td[48];
	char		 fmspc[13];		/* lowercase hex, PCK's */
	char		 tcb_status[40];	/* TDX TCB level, "" if none */
	char		 qe_tcb_status[40];
	long long	 tcb_eval_num;		/* of the TCB info used */
	uint32_t	 qe_isvsvn;
};

struct attest_result {
	enum attest_reason reason;
	char		 message[ATT_MSG_MAX];	/* detail for the log */

	/* Set on ATT_OK. */
	X509		*mesh_ca;		/* owned by the result */
	char		 manifest_sha256[65];	/* lowercase hex */
	uint8_t		 root_ca_sha256[32];
	int		 snp_index;		/* matching snp[] entry */
	int		 tdx_index;		/* matching tdx[] entry */
	int		 test_anchors;		/* verified with test anchors */

	/* Set as soon as the evidence is classified. */
	enum attest_platform platform;

	/* TDX: set as soon as the quote decoded, more once verified. */
	int		 have_tdx;
	struct attest_tdx_info tdx;

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
	/* ... and the Intel PCS answers to fetch (TDX). */
	int		 npcs_need;
	struct {
		enum attest_pcs_kind kind;
		char		 url[ATT_URL_MAX];
	}		 pcs_need[ATT_PCS_NEED_MAX];

	/* Outcome per ReferenceValues.snp[] (or tdx[]) entry tried. */
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

/* --- Intel PCS answers (for the caller's fetches and cache) ---------- */

/* "TCB info", "QE identity", "PCK CRL", "root CA CRL". */
const char	*attest_pcs_kind_name(enum attest_pcs_kind);
/* The response header carrying a kind's issuer chain, or NULL. */
const char	*attest_pcs_issuer_header(enum attest_pcs_kind);
/*
 * A PCS answer in one blob for a cache (body and issuer chain), and back
 * (the doc's pointers point into the blob; url is left NULL).
 */
int	 attest_pcs_pack(const struct attest_pcs_doc *, uint8_t **, size_t *);
int	 attest_pcs_unpack(const uint8_t *, size_t, struct attest_pcs_doc *);
/*
 * Non-zero if an answer of that kind parses and now is not past its
 * nextUpdate (TCB info, QE identity, CRLs): a cached copy may stand in
 * for a failed fetch.  Signatures are the verifier's business.
 */
int	 attest_pcs_usable(enum attest_pcs_kind, const struct attest_pcs_doc *,
	    time_t now);

#endif
