/* Names and descriptions of the attestation outcomes (attest_reason.h). */
#include "config.h"

#include "attest_reason.h"

static const struct {
	const char	*label;
	const char	*text;
} reasons[ATT_REASON_MAX] = {
	[ATT_OK] = { "ok", "attestation verified" },
	[ATT_NEED_FETCH] = { "need_fetch",
	    "collateral needed (AMD KDS or Intel PCS)" },
	[ATT_ERR_INPUT] = { "input", "invalid arguments" },
	[ATT_ERR_INTERNAL] = { "internal", "internal error" },
	[ATT_ERR_MALFORMED] = { "malformed", "malformed attestation document" },
	[ATT_ERR_MANIFEST_INVALID] = { "manifest_invalid",
	    "manifest is not a valid Contrast manifest" },
	[ATT_ERR_MANIFEST_COUNT] = { "manifest_count",
	    "expected exactly one manifest" },
	[ATT_ERR_MANIFEST_MISMATCH] = { "manifest_mismatch",
	    "active manifest does not match expected manifest" },
	[ATT_ERR_MESH_CA] = { "mesh_ca", "mesh CA certificate unusable" },
	[ATT_ERR_EVIDENCE_TYPE] = { "evidence_type",
	    "insecure or unknown evidence type" },
	[ATT_ERR_TDX_UNSUPPORTED] = { "tdx_unsupported",
	    "TDX coordinator evidence not supported" },
	[ATT_ERR_VERSION] = { "version", "unsupported report version" },
	[ATT_ERR_SIGNER] = { "signer", "report not signed by a VCEK" },
	[ATT_ERR_PRODUCT] = { "product", "product line mismatch" },
	[ATT_ERR_TRUST] = { "trust", "no trust anchors for the product line" },
	[ATT_ERR_VCEK] = { "vcek", "VCEK certificate invalid" },
	[ATT_ERR_CERT_CHAIN] = { "cert_chain",
	    "VCEK does not chain to the AMD root" },
	[ATT_ERR_CERT_EXPIRED] = { "cert_expired",
	    "certificate outside its validity period" },
	[ATT_ERR_CRL] = { "crl", "no valid CRL" },
	[ATT_ERR_REVOKED] = { "revoked", "signing certificate revoked" },
	[ATT_ERR_REPORT_SIGNATURE] = { "report_signature",
	    "report signature invalid" },
	[ATT_ERR_POLICY] = { "policy", "guest policy not allowed" },
	[ATT_ERR_REPORT_DATA] = { "report_data",
	    "report data does not bind the nonce" },
	[ATT_ERR_HOST_DATA] = { "host_data",
	    "host data is not the coordinator policy" },
	[ATT_ERR_MEASUREMENT] = { "measurement",
	    "launch measurement mismatch" },
	[ATT_ERR_TCB] = { "tcb", "TCB version not acceptable" },
	[ATT_ERR_FIRMWARE] = { "firmware", "firmware version inconsistent" },
	[ATT_ERR_PLATFORM_INFO] = { "platform_info",
	    "platform configuration not allowed" },
	[ATT_ERR_ID_KEY] = { "id_key", "ID key digest mismatch" },
	[ATT_ERR_MITIGATION] = { "mitigation",
	    "mitigation vector lacks required bits" },
	[ATT_ERR_VMPL] = { "vmpl", "report not from VMPL 0" },
	[ATT_ERR_CHIP_ID] = { "chip_id", "chip ID does not match the VCEK" },
	[ATT_ERR_CHIP_ID_NOT_ALLOWED] = { "chip_id_not_allowed",
	    "chip ID not allowed by the manifest" },
	[ATT_ERR_ANCHOR] = { "anchor", "trust anchor refused" },
	[ATT_ERR_QUOTE_SIGNATURE] = { "quote_signature",
	    "TDX quote or QE report signature invalid" },
	[ATT_ERR_PCK] = { "pck",
	    "PCK certificate chain invalid" },
	[ATT_ERR_COLLATERAL] = { "collateral",
	    "Intel PCS collateral invalid" },
	[ATT_ERR_COLLATERAL_STALE] = { "collateral_stale",
	    "collateral past its nextUpdate" },
	[ATT_ERR_TDX_TCB] = { "tdx_tcb", "TDX TCB status not UpToDate" },
	[ATT_ERR_QE_IDENTITY] = { "qe_identity",
	    "quoting enclave not acceptable" },
	[ATT_ERR_MR_SEAM] = { "mr_seam", "TDX module measurement mismatch" },
	[ATT_ERR_TD_ATTRIBUTES] = { "td_attributes",
	    "TD attributes not allowed" },
	[ATT_ERR_XFAM] = { "xfam", "XFAM not allowed" },
	[ATT_ERR_RTMR] = { "rtmr", "runtime measurement register mismatch" },
	[ATT_ERR_QE_VENDOR] = { "qe_vendor", "quoting enclave not Intel's" },
	[ATT_ERR_PCK_CONFIG] = { "pck_config",
	    "platform configuration not allowed" },
	[ATT_ERR_PIID] = { "piid", "platform instance ID not allowed" },
};

const char *
attest_reason_label(enum attest_reason r)
{
	if ((unsigned)r >= ATT_REASON_MAX)
		return "unknown";
	return reasons[r].label;
}

const char *
attest_strerror(enum attest_reason r)
{
	if ((unsigned)r >= ATT_REASON_MAX)
		return "unknown attestation outcome";
	return reasons[r].text;
}

