/*
 * The outcomes of an attestation, as keyd's verifier (keyd/attest/)
 * reports them and the parent labels them in its metrics: a vocabulary
 * both sides share, so it lives in common/.
 */
#ifndef PM_ATTEST_REASON_H
#define PM_ATTEST_REASON_H

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
	ATT_ERR_TDX_UNSUPPORTED = 10,	/* no longer reported */
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
	/* Intel TDX (keyd/attest/tdx_*.c). */
	ATT_ERR_QUOTE_SIGNATURE = 34,	/* quote or QE report signature */
	ATT_ERR_PCK = 35,		/* PCK chain or SGX extension */
	ATT_ERR_COLLATERAL = 36,	/* PCS answer unusable or unsigned */
	ATT_ERR_COLLATERAL_STALE = 37,	/* past its nextUpdate */
	ATT_ERR_TDX_TCB = 38,		/* TDX TCB not UpToDate */
	ATT_ERR_QE_IDENTITY = 39,	/* QE not Intel's, or not UpToDate */
	ATT_ERR_MR_SEAM = 40,
	ATT_ERR_TD_ATTRIBUTES = 41,	/* e.g. a debug TD */
	ATT_ERR_XFAM = 42,
	ATT_ERR_RTMR = 43,
	ATT_ERR_QE_VENDOR = 44,
	ATT_ERR_PCK_CONFIG = 45,	/* SGX type, SMT, dynamic platform */
	ATT_ERR_PIID = 46,		/* platform instance not allowed */
	ATT_REASON_MAX = 47
};

/* "ok", "need_fetch", "report_signature", ...: for metrics labels. */
const char	*attest_reason_label(enum attest_reason);
/* One-line English description of a reason. */
const char	*attest_strerror(enum attest_reason);
#endif
