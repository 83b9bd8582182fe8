/*
 * Internal interfaces of the attestation verifier, shared by its source
 * files, the unit tests and the fuzz targets.  Not for other modules.
 */
#ifndef PM_ATTEST_INT_H
#define PM_ATTEST_INT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/x509.h>

#include "attest.h"

/* Little-endian fields of the AMD report and the Intel quote. */
static inline uint32_t
att_get16(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static inline uint32_t
att_get32(const uint8_t *p)
{
	return att_get16(p) | att_get16(p + 2) << 16;
}

static inline uint64_t
att_get64(const uint8_t *p)
{
	return (uint64_t)att_get32(p) | (uint64_t)att_get32(p + 4) << 32;
}

static inline void
att_put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void
att_put32(uint8_t *p, uint32_t v)
{
	att_put16(p, v);
	att_put16(p + 2, v >> 16);
}

static inline void
att_put64(uint8_t *p, uint64_t v)
{
	att_put32(p, (uint32_t)v);
	att_put32(p + 4, (uint32_t)(v >> 32));
}

#define ATT_REPORT_SIZE		0x4A0
#define ATT_SIGNED_SIZE		0x2A0
#define ATT_MAX_DOC		(16 * 1024 * 1024)
#define ATT_MAX_MANIFESTS	1024
#define ATT_JSON_DEPTH		64

/* Contrast stores the product CRL under this extras key. */
#define ATT_CRL_EXTRAS_KEY	"00569ee4-e480-4fba-bbf4-45b629901180"

/* Format an error into err (may be NULL); always returns the reason. */
enum attest_reason att_err(char *err, size_t errlen, enum attest_reason,
	    const char *, ...) __attribute__((__format__(printf, 4, 5)));

/* --- codec.c: base64, hex, JSON helpers ----------------------------- */

/* Go's base64.StdEncoding: padding required, CR/LF skipped. */
int	 att_b64_decode(const char *, size_t, uint8_t **, size_t *);
/* A base64 digit's value (standard alphabet), -1 for any other byte. */
int	 att_b64_value(unsigned char);
/* Exactly outlen bytes from 2*outlen hex digits (either case). */
int	 att_hex_decode(const char *, size_t, uint8_t *, size_t);
/* Any length; -1 on odd length or bad digit. */
int	 att_hex_valid(const char *, size_t);
void	 att_hex_lower(const uint8_t *, size_t, char *);
/* Go's key/field matching: exact or case-folded (incl. U+017F, U+212A). */
int	 att_key_match(const char *, const char *);
/* Parse strict JSON that must span the whole buffer. */
struct json_object *att_json_parse(const uint8_t *, size_t, char *, size_t);
/* Member matching name as Go would pick it; NULL if absent or null. */
struct json_object *att_json_get(struct json_object *, const char *);
/* A []byte member: base64 string, null or absent (empty). */
int	 att_json_bytes(struct json_object *, const char *, uint8_t **,
	    size_t *);

/* --- proto.c: protobuf wire format, sevsnp.Attestation --------------- */

struct att_view {
	const uint8_t	*p;
	size_t		 len;
};

/* A protobuf message being read. */
struct att_pb {
	const uint8_t	*p;
	size_t		 len;
	size_t		 off;
};

enum {
	ATT_WT_VARINT = 0,
	ATT_WT_I64 = 1,
	ATT_WT_LEN = 2,
	ATT_WT_I32 = 5
};

int	 att_pb_varint(struct att_pb *, uint64_t *);
int	 att_pb_tag(struct att_pb *, uint32_t *field, int *wt);
int	 att_pb_bytes(struct att_pb *, struct att_view *);
/* Skip a field by wire type; groups and types 6, 7 are errors. */
int	 att_pb_skip(struct att_pb *, int wt);

struct att_report {
	uint32_t	version, guest_svn;
	uint64_t	policy;
	struct att_view	family_id, image_id;
	uint32_t	vmpl, signature_algo;
	uint64_t	current_tcb, platform_info;
	uint32_t	signer_info;
	struct att_view	report_data, measurement, host_data, id_key_digest;
	struct att_view	author_key_digest, report_id, report_id_ma;
	uint64_t	reported_tcb;
	struct att_view	chip_id;
	uint64_t	committed_tcb;
	uint32_t	current_build, current_minor, current_major;
	uint32_t	committed_build, committed_minor, committed_major;
	uint64_t	launch_tcb;
	struct att_view	signature;
	uint32_t	cpuid1eax_fms;
	uint64_t	launch_mit_vector, current_mit_vector;
};

struct att_chain {
	struct att_view	vcek, ask, ark, firmware, vlek;
	struct att_view	crl;		/* extras[ATT_CRL_EXTRAS_KEY] */
	int		has_crl;
	size_t		nextras;
};

struct att_attestation {
	int		 has_report;
	struct att_report report;
	int		 has_chain;
	struct att_chain chain;
	int		 has_product;
	int32_t		 product_name;
	uint32_t	 product_stepping;
	int		 has_machine_stepping;
	uint32_t	 machine_stepping;
};

/* Views point into the input buffer, which must outlive the result. */
int	 att_proto_decode(const uint8_t *, size_t, struct att_attestation *,
	    char *, size_t);
/* Non-zero if the bytes look like a tdx.QuoteV4 (header TEE type 0x81). */
int	 att_proto_is_tdx(const uint8_t *, size_t);

/* --- report.c: ABI report, bit fields, product line, TCB ------------ */

struct att_policy {
	uint8_t	abi_minor, abi_major;
	int	smt, migrate_ma, debug, single_socket, cxl_allowed;
	int	mem_aes_256_xts, rapl_dis, ciphertext_hiding_dram;
	int	page_swap_disable;
};

struct att_platform {
	int	smt_en, tsme_en, ecc_en, rapl_dis, ciphertext_hiding_dram_en;
	int	alias_check_complete, tio_en;
};

struct att_signer {
	int	author_key_en, mask_chip_key, signing_key;
};
#define ATT_SIGNER_VCEK	0
#define ATT_SIGNER_VLEK	1
#define ATT_SIGNER_NONE	7

int	 att_policy_parse(uint64_t, struct att_policy *);
uint64_t att_policy_bits(const struct att_policy *);
int	 att_platform_parse(uint64_t, struct att_platform *);
int	 att_signer_parse(uint32_t, struct att_signer *);
void	 att_fms(uint32_t, uint8_t *, uint8_t *, uint8_t *);
uint32_t att_fms_to_eax(uint8_t, uint8_t, uint8_t);
enum attest_product att_product_from_fms(uint32_t);
void	 att_tcb_split(uint64_t, struct attest_tcb *);
uint64_t att_tcb_join(const struct attest_tcb *);
/* Non-zero if every component of a is <= the one of b. */
int	 att_tcb_le(const struct attest_tcb *, const struct attest_tcb *);
/* First component where a > b, by name ("BL_SPL", ...). */
const char *att_tcb_first_gt(const struct attest_tcb *,
	    const struct attest_tcb *);
/* Sizes of all bytes fields as the ABI requires. */
enum attest_reason att_report_check_sizes(const struct att_report *, char *,
	    size_t);
/* ReportToAbiBytes: the 0x4A0 ABI image of a decoded report. */
enum attest_reason att_report_to_abi(const struct att_report *,
	    uint8_t[ATT_REPORT_SIZE], char *, size_t);
/* ReportToProto: views point into the buffer; checks MBZ ranges. */
int	 att_report_from_abi(const uint8_t *, size_t, struct att_report *,
	    char *, size_t);

/* --- coord.c: envelope, Coordinator JSON, REPORT_DATA --------------- */

struct att_blob {
	uint8_t	*p;
	size_t	 len;
};

struct att_coord {
	char		*version;
	struct att_blob	 raw_doc;
	struct att_blob	*manifests;
	size_t		 nmanifests;
	size_t		 npolicies;
	struct att_blob	 root_ca;
	struct att_blob	 mesh_ca;
	int		 evidence;	/* ATT_EV_* from attestation_type */
};

/* attestation_type, only sent by Coordinators from ~v1.22 on. */
#define ATT_EV_ABSENT	0
#define ATT_EV_SNP	1	/* 1.3.9901.2.1 */
#define ATT_EV_TDX	2	/* 1.3.9901.2.2 */
#define ATT_EV_INSECURE	3	/* 1.3.9901.2.3 */
#define ATT_EV_OTHER	4

enum attest_reason att_response_parse(const uint8_t *, size_t,
	    struct att_blob *, char *, size_t);
enum attest_reason att_coord_parse(const uint8_t *, size_t,
	    struct att_coord *, char *, size_t);
void	 att_coord_free(struct att_coord *);
/* Digest of the last transition of the manifest history. */
void	 att_transition_digest(const struct att_blob *, size_t, uint8_t[32]);
void	 att_report_data(const uint8_t[ATT_NONCE_LEN],
	    const struct att_coord *, uint8_t[64]);

/* --- manifest.c ----------------------------------------------------- */

struct att_snp_ref {
	enum attest_product product;
	uint8_t		 measurement[48];
	struct attest_tcb min_tcb;
	struct att_policy guest_policy;
	struct att_platform platform_info;
	uint64_t	 min_mitigation;
	uint8_t		(*chip_ids)[64];
	size_t		 nchip_ids;
};

/* ReferenceValues.tdx[] (Contrast TDXReferenceValues, v1.20). */
struct att_tdx_ref {
	long long	 min_eval;		/* MinTCBEvaluationDataNumber */
	uint8_t		 mr_td[48], mr_seam[48], xfam[8];
	uint8_t		 rtmr[4][48];
	struct att_blob	*piids;			/* AllowedPIIDs, any length */
	size_t		 npiids;
	int		 memory_integrity, smt_disabled, static_platform;
};

struct att_manifest {
	uint8_t		 coordinator_hash[32];
	struct att_snp_ref *snp;
	size_t		 nsnp;
	struct att_tdx_ref *tdx;
	size_t		 ntdx;
};

enum attest_reason att_manifest_parse(const uint8_t *, size_t,
	    struct att_manifest *, char *, size_t);
void	 att_manifest_free(struct att_manifest *);

/* --- vcek.c: KDS certificate rules ---------------------------------- */

struct att_vcek_ext {
	uint8_t	struct_version;
	char	product_name[64];
	uint8_t	hwid[64];
	uint64_t tcb;
};

/* Strict: DER, or one PEM CERTIFICATE block; loose: the first PEM block. */
X509	*att_cert_parse(const uint8_t *, size_t, int loose);
int	 att_x509_verify(X509 *leaf, X509 *intermediate, X509 *root, time_t,
	    int *why);
int	 att_x509_expired(int why);
/* The AMD extensions (the whole kdsOidMap rule set). */
enum attest_reason att_vcek_extensions(X509 *, struct att_vcek_ext *,
	    char *, size_t);
/* Version, RSA-PSS/SHA-384, P-384, subject, extensions. */
enum attest_reason att_vcek_check(X509 *, struct att_vcek_ext *, char *,
	    size_t);
/* AMD location fields once each, and the given CN. */
int	 att_name_check(const X509_NAME *, const char *, char *, size_t);
/* RSASSA-PSS with SHA-384, MGF1-SHA-384, salt 48, trailer 1. */
int	 att_alg_is_pss384(const X509_ALGOR *);

/* --- chain.c: anchors, chain, CRL, report signature ----------------- */

enum attest_reason att_chain_verify(const struct attest_anchor *,
	    enum attest_product, X509 *, time_t, char *, size_t);
/* SHA-256 of the DER, 64 upper-case hex digits. */
void	 att_fingerprint(X509 *, char[65]);
X509_CRL *att_crl_parse(const uint8_t *, size_t);
/* Non-zero if now is strictly before the CRL's nextUpdate. */
int	 att_crl_fresh(const X509_CRL *, time_t);
enum attest_reason att_crl_check(const struct attest_anchor *, X509_CRL *,
	    char *, size_t);
enum attest_reason att_report_verify_sig(const uint8_t[ATT_REPORT_SIZE],
	    X509 *, char *, size_t);

/* --- idkey.c --------------------------------------------------------- */

/* SHA-384 of the ID key Contrast derives from (measurement, policy). */
int	 att_idkey_digest(const uint8_t[48], uint64_t, uint8_t[48]);
/* The same by Contrast's literal two-candidate recovery (for tests). */
int	 att_idkey_digest_generic(const uint8_t[48], uint64_t, uint8_t[48]);
/* att_idkey_digest remembering its last few answers (the verifier's). */
int	 att_idkey_digest_cached(const uint8_t[48], uint64_t, uint8_t[48]);

/* --- validate.c ----------------------------------------------------- */

struct att_expect {
	const uint8_t	*report_data;	/* 64 */
	const uint8_t	*host_data;	/* 32 */
};

enum attest_reason att_validate(const struct att_report *,
	    const struct att_vcek_ext *, const struct att_snp_ref *,
	    const struct att_expect *, char *, size_t);
struct att_tdx_quote;
struct att_pck_ext;
/*
 * validate.TdxQuote with Contrast's options, then AllowedPIIDs: the
 * quote against one tdx[] entry; expect->host_data is the coordinator
 * policy hash (MR_CONFIG_ID is it, then 16 zero bytes).
 */
enum attest_reason att_tdx_validate(const struct att_tdx_quote *,
	    const struct att_pck_ext *, const struct att_tdx_ref *,
	    const struct att_expect *, char *, size_t);

/* --- tdx_quote.c: tdx.QuoteV4, protobuf and raw ABI ------------------ */

#define ATT_TDX_HEADER_SIZE	0x30
#define ATT_TDX_BODY_SIZE	0x248
#define ATT_TDX_QE_REPORT_SIZE	0x180
#define ATT_TDX_QUOTE_MIN	0x3FC		/* abi.QuoteMinSize */
#define ATT_TDX_TEE		0x81
#define ATT_TDX_KEY_TYPE	2		/* ECDSA-256 with P-256 */
#define ATT_TDX_CERT_QE_REPORT	6		/* certification data types */
#define ATT_TDX_CERT_PCK_CHAIN	5
#define ATT_TDX_MAX_RTMRS	8		/* kept; exactly 4 are valid */

/*
 * A quote as go-tdx-guest's protobuf holds it.  Views point into the
 * input; sizes are checked by att_tdx_check(), not by the decoders.
 */
struct att_tdx_quote {
	/* Header */
	uint32_t	version, key_type, tee_type;
	struct att_view	qe_svn, pce_svn;	/* go-tdx-guest's names */
	struct att_view	qe_vendor_id, user_data;
	/* TDQuoteBody */
	struct att_view	tee_tcb_svn, mr_seam, mr_signer_seam;
	struct att_view	seam_attributes, td_attributes, xfam, mr_td;
	struct att_view	mr_config_id, mr_owner, mr_owner_config;
	struct att_view	rtmr[ATT_TDX_MAX_RTMRS];
	size_t		nrtmrs;			/* may exceed the array */
	struct att_view	report_data;
	uint32_t	signed_data_size;
	/* Ecdsa256BitQuoteV4AuthData */
	struct att_view	signature, attestation_key;
	uint32_t	cert_type, cert_size;
	/* QEReportCertificationData: the QE report (EnclaveReport) */
	struct att_view	cpu_svn;
	uint32_t	misc_select;
	struct att_view	reserved1, attributes, mr_enclave, reserved2;
	struct att_view	mr_signer, reserved3;
	uint32_t	isv_prod_id, isv_svn;
	struct att_view	reserved4, qe_report_data;
	struct att_view	qe_report_signature;
	uint32_t	qe_auth_size;
	struct att_view	qe_auth_data;
	uint32_t	pck_type, pck_size;
	struct att_view	pck_chain;
	struct att_view	extra_bytes;
	/* Which messages were present (a missing one is Go's nil). */
	int		has_header, has_body, has_signed, has_cert;
	int		has_qe_cert, has_qe_report, has_qe_auth, has_pck;
};

/* tdx.QuoteV4 protobuf (Contrast's raw_attestation_doc). */
int	 att_tdx_from_proto(const uint8_t *, size_t, struct att_tdx_quote *,
	    char *, size_t);
/* A raw quote as the TDX quoting enclave emits it (abi.QuoteToProto). */
enum attest_reason att_tdx_from_abi(const uint8_t *, size_t,
	    struct att_tdx_quote *, char *, size_t);
/* abi.CheckQuoteV4: version 4, key type, TEE type, every size. */
enum attest_reason att_tdx_check(const struct att_tdx_quote *, char *,
	    size_t);
/* The signed images, rebuilt from a checked quote. */
void	 att_tdx_header_abi(const struct att_tdx_quote *,
	    uint8_t[ATT_TDX_HEADER_SIZE]);
void	 att_tdx_body_abi(const struct att_tdx_quote *,
	    uint8_t[ATT_TDX_BODY_SIZE]);
void	 att_tdx_qe_report_abi(const struct att_tdx_quote *,
	    uint8_t[ATT_TDX_QE_REPORT_SIZE]);

/* --- tdx_pck.c: PEM, Intel's certificates, PCK extensions, CRLs ------ */

#define ATT_INTEL_ROOT_CN	"Intel SGX Root CA"
#define ATT_PCK_PLATFORM_CN	"Intel SGX PCK Platform CA"
#define ATT_PCK_PROCESSOR_CN	"Intel SGX PCK Processor CA"
#define ATT_PCK_LEAF_CN		"Intel SGX PCK Certificate"
#define ATT_TCB_SIGNING_CN	"Intel SGX TCB Signing"

/* SGX extension of a PCK certificate (go-tdx-guest pcs.PckExtensions). */
struct att_pck_ext {
	int		has_ppid, has_tcb, has_pceid, has_fmspc;
	int		has_sgx_type, has_piid, has_config;
	uint8_t		ppid[16];
	uint8_t		comp[16];		/* SGX TCB components */
	uint16_t	pcesvn;
	uint8_t		cpusvn[16];
	uint8_t		pceid[2];
	uint8_t		fmspc[6];
	long		sgx_type;		/* 0 standard, 1, 2 */
	uint8_t		piid[16];
	int		dynamic_platform, cached_keys, smt_enabled;
};

/*
 * Certificates in PEM, strictly: each block exactly
 * "-----BEGIN CERTIFICATE-----\n", base64 lines (canonical padding),
 * "-----END CERTIFICATE-----\n" (the last newline optional), blocks back
 * to back, then one NUL if nul_ok; each DER canonical.  Exactly n
 * certificates, or -1.
 */
int	 att_pem_certs(const uint8_t *, size_t, X509 **, size_t n, int nul_ok);
/* The SGX extension and the whole extension list of a PCK leaf. */
enum attest_reason att_pck_extensions(X509 *, struct att_pck_ext *,
	    char *, size_t);
/*
 * go-tdx-guest validateCertificate: X.509 v3, ECDSA with SHA-256, a
 * P-256 key, subject CN exactly cn, issuer name equal to the parent's
 * subject (the shape), signed by the parent (the check).
 */
enum attest_reason att_intel_cert_shape(X509 *, X509 *parent,
	    const char *cn, char *, size_t);
enum attest_reason att_intel_cert_check(X509 *, X509 *parent,
	    const char *cn, char *, size_t);
/*
 * Does leaf chain to root (the only trust anchor) through intermediate
 * at now (x509.Verify: signatures, validity, CA constraints)?
 */
enum attest_reason att_intel_chain(X509 *leaf, X509 *intermediate,
	    X509 *root, time_t now, char *, size_t);
/* DER CRL, canonical encoding, or NULL. */
X509_CRL *att_der_crl(const uint8_t *, size_t);
/* CRL issued and signed by issuer (go-tdx-guest validateCRL). */
enum attest_reason att_intel_crl_check(X509_CRL *, X509 *issuer, char *,
	    size_t);
int	 att_crl_lists(X509_CRL *, X509 *);
/* ECDSA P-256 / SHA-256; signature r || s (32 bytes each). */
int	 att_p256_verify_raw(const uint8_t pub[64], const uint8_t *, size_t,
	    const uint8_t sig[64]);
int	 att_p256_verify_cert(X509 *, const uint8_t *, size_t,
	    const uint8_t sig[64]);

/* --- tdx_coll.c: Intel PCS collateral -------------------------------- */

#define ATT_TCB_COMPONENTS	16
#define ATT_MAX_TCB_LEVELS	64
#define ATT_MAX_MODULE_IDS	16

/* pcs.TcbComponentStatus: anything else fails to decode, as in Go. */
enum att_tcb_status {
	ATT_TCB_NONE = 0,		/* no level matched */
	ATT_TCB_UP_TO_DATE,
	ATT_TCB_SW_HARDENING_NEEDED,
	ATT_TCB_CONFIGURATION_NEEDED,
	ATT_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED,
	ATT_TCB_OUT_OF_DATE,
	ATT_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED,
	ATT_TCB_REVOKED
};
const char *att_tcb_status_name(enum att_tcb_status);

struct att_tcb_level {
	size_t		nsgx, ntdx;		/* component counts */
	uint8_t		sgx[ATT_TCB_COMPONENTS];
	uint8_t		tdx[ATT_TCB_COMPONENTS];
	uint16_t	pcesvn;
	uint32_t	isvsvn;
	enum att_tcb_status status;
};

struct att_module_id {
	char		id[32];
	struct att_tcb_level *levels;
	size_t		nlevels;
};

/* A signed PCS JSON answer: TCB info or QE identity. */
struct att_pcs_json {
	/* common */
	char		id[16];
	unsigned	version;
	time_t		issue_date, next_update;
	long long	eval_num;
	struct att_tcb_level *levels;
	size_t		nlevels;
	/* TCB info */
	char		fmspc[16], pceid[8];
	struct att_blob	module_mrsigner, module_attributes, module_mask;
	struct att_module_id *modules;
	size_t		nmodules;
	/* QE identity */
	struct att_blob	miscselect, miscselect_mask, attributes, attributes_mask;
	struct att_blob	mrsigner;
	uint16_t	isvprodid;
	/* the signature over the raw member value */
	uint8_t		sig[64];
	const uint8_t	*signed_p;		/* into the body */
	size_t		 signed_len;
};

/* The issuer chain a PCS answer's header carries: signing cert, root. */
enum attest_reason att_pcs_issuer_chain(const char *, size_t, X509 **signer,
	    X509 **root, char *, size_t);
/* Parse a TCB info (tdx=1) or QE identity body; see tdx_coll.c. */
enum attest_reason att_pcs_json_parse(const uint8_t *, size_t, int tcb_info,
	    struct att_pcs_json *, char *, size_t);
void	 att_pcs_json_free(struct att_pcs_json *);
/* RFC 3339 as Go's time.Time decodes it; -1 if malformed. */
int	 att_rfc3339(const char *, size_t, time_t *);

/* --- tdx_trust.c --- */

/* The compiled-in Intel root and Intel's PCS URLs. */
void	 att_trust_intel_default(struct attest_trust *);

/* --- tdx_verify.c ----------------------------------------------------- */

/* The collateral, as bytes (views into the caller's input). */
struct att_tdx_docs {
	const struct attest_pcs_doc *tcb_info, *qe_identity, *pck_crl, *root_crl;
};

/* What verify.TdxQuote found out, for the caller and the validator. */
struct att_tdx_verified {
	X509		*chain[3];		/* PCK, platform CA, root; owned */
	struct att_pck_ext ext;
	enum att_tcb_status tdx_status, qe_status;
	long long	eval_num;
	int		tcb_no_match;		/* why tdx_status is NONE */
	char		tcb_detail[128];
};

/*
 * verify.TdxQuote with CheckRevocations and GetCollateral, trusting only
 * root at now: the PCK chain, the quote and QE report signatures, the QE
 * report's binding of the attestation key, and the collateral (issuer
 * chains, signatures, freshness, CRLs, FMSPC/PCEID, QE identity).  The
 * TCB status is computed into out but not judged: att_tdx_tcb_ok() does.
 * min_eval is the tcbEvaluationDataNumber asked for (0: none).
 */
enum attest_reason att_tdx_verify(const struct att_tdx_quote *, X509 *root,
	    const struct att_tdx_docs *, time_t now, long long min_eval,
	    struct att_tdx_verified *, char *, size_t);
/* The same in two steps: what needs no collateral, then the rest. */
enum attest_reason att_tdx_verify_quote(const struct att_tdx_quote *,
	    X509 *root, time_t now, struct att_tdx_verified *, char *, size_t);
enum attest_reason att_tdx_verify_collateral(const struct att_tdx_quote *,
	    X509 *root, const struct att_tdx_docs *, time_t now,
	    long long min_eval, struct att_tdx_verified *, char *, size_t);
/* The TDX TCB level the quote and its PCK match (verify.go's rules). */
void	 att_tdx_tcb_status(const struct att_pcs_json *,
	    const struct att_tdx_quote *, struct att_tdx_verified *);
/* Only UpToDate passes, for the TDX TCB and for the QE. */
enum attest_reason att_tdx_tcb_ok(const struct att_tdx_verified *, char *,
	    size_t);
void	 att_tdx_verified_free(struct att_tdx_verified *);

#endif
