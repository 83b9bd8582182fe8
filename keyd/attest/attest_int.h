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

/* --- proto.c: sevsnp.Attestation ------------------------------------ */

struct att_view {
	const uint8_t	*p;
	size_t		 len;
};

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

struct att_manifest {
	uint8_t		 coordinator_hash[32];
	struct att_snp_ref *snp;
	size_t		 nsnp;
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

/* DER, or PEM holding a single CERTIFICATE block. */
X509	*att_cert_parse(const uint8_t *, size_t);
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

#endif
