/*
 * validate.SnpAttestation with the options Contrast v1.20 builds from a
 * manifest's SNP reference values (internal/manifest SNPValidateOpts,
 * sdk/common.go), plus Contrast's AllowedChipIDs check.  The first
 * failing rule decides the reason, in go-sev-guest's order.
 */
#include "config.h"

#include <string.h>

#include <openssl/crypto.h>

#include "attest_int.h"

static int
all_zero(const uint8_t *p, size_t n)
{
	size_t	i;
	uint8_t	acc = 0;

	for (i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

static enum attest_reason
check_policy(uint64_t bits, const struct att_policy *want, char *err,
    size_t errlen)
{
	struct att_policy	got;
	unsigned		g, w;

	if (att_policy_parse(bits, &got) == -1)
		return att_err(err, errlen, ATT_ERR_POLICY,
		    "guest policy 0x%llx is malformed",
		    (unsigned long long)bits);
	g = (unsigned)got.abi_major << 8 | got.abi_minor;
	w = (unsigned)want->abi_major << 8 | want->abi_minor;
	if (w > g)
		return att_err(err, errlen, ATT_ERR_POLICY, "guest policy ABI "
		    "%u.%u is below the required %u.%u", got.abi_major,
		    got.abi_minor, want->abi_major, want->abi_minor);
	if (got.migrate_ma && !want->migrate_ma)
		return att_err(err, errlen, ATT_ERR_POLICY,
		    "guest policy allows a migration agent");
	if (got.debug && !want->debug)
		return att_err(err, errlen, ATT_ERR_POLICY,
		    "guest policy allows debugging");
	if (got.smt && !want->smt)
		return att_err(err, errlen, ATT_ERR_POLICY,
		    "guest policy allows SMT");
	if (want->single_socket && !got.single_socket)
		return att_err(err, errlen, ATT_ERR_POLICY,
		    "guest policy lacks SINGLE_SOCKET");
	if (got.cxl_allowed && !want->cxl_allowed)
		return att_err(err, errlen, ATT_ERR_POLICY,
		    "guest policy allows CXL");
	if (want->mem_aes_256_xts && !got.mem_aes_256_xts)
		return att_err(err, errlen, ATT_ERR_POLICY,
		    "guest policy lacks MEM_AES_256_XTS");
	if (want->rapl_dis && !got.rapl_dis)
		return att_err(err, errlen, ATT_ERR_POLICY,
		    "guest policy lacks RAPL_DIS");
	if (want->ciphertext_hiding_dram && !got.ciphertext_hiding_dram)
		return att_err(err, errlen, ATT_ERR_POLICY,
		    "guest policy lacks CIPHERTEXT_HIDING_DRAM");
	if (want->page_swap_disable && !got.page_swap_disable)
		return att_err(err, errlen, ATT_ERR_POLICY,
		    "guest policy lacks PAGE_SWAP_DISABLE");
	return ATT_OK;
}

static enum attest_reason
check_exact(const struct att_report *r, const struct att_snp_ref *ref,
    const struct att_expect *x, char *err, size_t errlen)
{
	if (CRYPTO_memcmp(r->report_data.p, x->report_data, 64) != 0)
		return att_err(err, errlen, ATT_ERR_REPORT_DATA, "REPORT_DATA "
		    "does not bind the nonce, manifests and CAs");
	if (CRYPTO_memcmp(r->host_data.p, x->host_data, 32) != 0)
		return att_err(err, errlen, ATT_ERR_HOST_DATA, "HOST_DATA is "
		    "not the coordinator policy hash");
	if (CRYPTO_memcmp(r->measurement.p, ref->measurement, 48) != 0)
		return att_err(err, errlen, ATT_ERR_MEASUREMENT, "MEASUREMENT "
		    "is not the trusted measurement");
	return ATT_OK;
}

/* wantLower <= wantHigher in every component, else name the first. */
static enum attest_reason
tcb_le(const struct attest_tcb *lo, const char *lname,
    const struct attest_tcb *hi, const char *hname, char *err, size_t errlen)
{
	const char	*c;

	if ((c = att_tcb_first_gt(lo, hi)) == NULL)
		return ATT_OK;
	return att_err(err, errlen, ATT_ERR_TCB, "%s exceeds %s in %s", lname,
	    hname, c);
}

static enum attest_reason
check_tcb(const struct att_report *r, uint64_t cert_tcb,
    const struct att_snp_ref *ref, char *err, size_t errlen)
{
	struct attest_tcb	reported, current, committed, launch, cert;
	enum attest_reason	rv;

	att_tcb_split(r->reported_tcb, &reported);
	att_tcb_split(r->current_tcb, &current);
	att_tcb_split(r->committed_tcb, &committed);
	att_tcb_split(r->launch_tcb, &launch);
	att_tcb_split(cert_tcb, &cert);
	/* Provisional firmware is permitted: committed <= current. */
	if ((rv = tcb_le(&committed, "COMMITTED_TCB", &current,
	    "CURRENT_TCB", err, errlen)) != ATT_OK)
		return rv;
	if ((rv = tcb_le(&ref->min_tcb, "the minimum TCB", &launch,
	    "LAUNCH_TCB", err, errlen)) != ATT_OK)
		return rv;
	if (r->reported_tcb != cert_tcb)
		return att_err(err, errlen, ATT_ERR_TCB, "REPORTED_TCB "
		    "0x%016llx is not the VCEK TCB 0x%016llx",
		    (unsigned long long)r->reported_tcb,
		    (unsigned long long)cert_tcb);
	if ((rv = tcb_le(&cert, "the VCEK TCB", &current, "CURRENT_TCB",
	    err, errlen)) != ATT_OK)
		return rv;
	return tcb_le(&ref->min_tcb, "the minimum TCB", &reported,
	    "REPORTED_TCB", err, errlen);
}

static enum attest_reason
check_firmware(const struct att_report *r, char *err, size_t errlen)
{
	unsigned	committed, current;

	if (r->committed_build > r->current_build)
		return att_err(err, errlen, ATT_ERR_FIRMWARE, "committed "
		    "build %u is above the current build %u",
		    r->committed_build, r->current_build);
	committed = r->committed_major << 8 | r->committed_minor;
	current = r->current_major << 8 | r->current_minor;
	if (committed > current)
		return att_err(err, errlen, ATT_ERR_FIRMWARE, "committed API "
		    "%u.%u is above the current API %u.%u",
		    r->committed_major, r->committed_minor, r->current_major,
		    r->current_minor);
	return ATT_OK;
}

static enum attest_reason
check_platform(uint64_t bits, const struct att_platform *want, char *err,
    size_t errlen)
{
	struct att_platform	got;

	if (att_platform_parse(bits, &got) == -1)
		return att_err(err, errlen, ATT_ERR_PLATFORM_INFO,
		    "PLATFORM_INFO 0x%llx has reserved bits",
		    (unsigned long long)bits);
	if (got.smt_en && !want->smt_en)
		return att_err(err, errlen, ATT_ERR_PLATFORM_INFO,
		    "platform has SMT enabled");
	if (got.tsme_en && !want->tsme_en)
		return att_err(err, errlen, ATT_ERR_PLATFORM_INFO,
		    "platform has TSME enabled");
	if (want->ecc_en && !got.ecc_en)
		return att_err(err, errlen, ATT_ERR_PLATFORM_INFO,
		    "platform lacks ECC memory");
	if (want->rapl_dis && !got.rapl_dis)
		return att_err(err, errlen, ATT_ERR_PLATFORM_INFO,
		    "platform has RAPL enabled");
	if (want->ciphertext_hiding_dram_en && !got.ciphertext_hiding_dram_en)
		return att_err(err, errlen, ATT_ERR_PLATFORM_INFO,
		    "platform lacks DRAM ciphertext hiding");
	if (want->alias_check_complete && !got.alias_check_complete)
		return att_err(err, errlen, ATT_ERR_PLATFORM_INFO,
		    "platform memory alias check not complete");
	if (got.tio_en && !want->tio_en)
		return att_err(err, errlen, ATT_ERR_PLATFORM_INFO,
		    "platform has SEV-TIO enabled");
	return ATT_OK;
}

static enum attest_reason
check_id_key(const struct att_report *r, const struct att_snp_ref *ref,
    char *err, size_t errlen)
{
	uint8_t	want[48];

	if (att_idkey_digest_cached(ref->measurement,
	    att_policy_bits(&ref->guest_policy), want) == -1)
		return att_err(err, errlen, ATT_ERR_INTERNAL,
		    "ID key recovery failed");
	if (CRYPTO_memcmp(r->id_key_digest.p, want, 48) != 0)
		return att_err(err, errlen, ATT_ERR_ID_KEY,
		    "ID_KEY_DIGEST is not Contrast's ID key for the "
		    "measurement and guest policy");
	return ATT_OK;
}

static enum attest_reason
check_mitigation(const struct att_report *r, uint64_t min, char *err,
    size_t errlen)
{
	if ((r->launch_mit_vector & min) != min)
		return att_err(err, errlen, ATT_ERR_MITIGATION,
		    "LAUNCH_MIT_VECTOR 0x%llx lacks bits of 0x%llx",
		    (unsigned long long)r->launch_mit_vector,
		    (unsigned long long)min);
	if ((r->current_mit_vector & min) != min)
		return att_err(err, errlen, ATT_ERR_MITIGATION,
		    "CURRENT_MIT_VECTOR 0x%llx lacks bits of 0x%llx",
		    (unsigned long long)r->current_mit_vector,
		    (unsigned long long)min);
	return ATT_OK;
}

static enum attest_reason
check_chip(const struct att_report *r, const struct att_vcek_ext *ext,
    const struct att_snp_ref *ref, char *err, size_t errlen)
{
	size_t	i;

	/* A host may mask CHIP_ID to zeros; only a real one must match. */
	if (!all_zero(r->chip_id.p, 64) &&
	    CRYPTO_memcmp(r->chip_id.p, ext->hwid, 64) != 0)
		return att_err(err, errlen, ATT_ERR_CHIP_ID,
		    "CHIP_ID is not the VCEK's hwID");
	if (ref->nchip_ids == 0)
		return ATT_OK;
	for (i = 0; i < ref->nchip_ids; i++)
		if (CRYPTO_memcmp(r->chip_id.p, ref->chip_ids[i], 64) == 0)
			return ATT_OK;
	return att_err(err, errlen, ATT_ERR_CHIP_ID_NOT_ALLOWED,
	    "CHIP_ID is not in AllowedChipIDs");
}

enum attest_reason
att_validate(const struct att_report *r, const struct att_vcek_ext *ext,
    const struct att_snp_ref *ref, const struct att_expect *x, char *err,
    size_t errlen)
{
	enum attest_reason	rv;

	if ((rv = check_policy(r->policy, &ref->guest_policy, err,
	    errlen)) != ATT_OK ||
	    (rv = check_exact(r, ref, x, err, errlen)) != ATT_OK ||
	    (rv = check_tcb(r, ext->tcb, ref, err, errlen)) != ATT_OK ||
	    (rv = check_firmware(r, err, errlen)) != ATT_OK ||
	    (rv = check_platform(r->platform_info, &ref->platform_info, err,
	    errlen)) != ATT_OK ||
	    (rv = check_id_key(r, ref, err, errlen)) != ATT_OK ||
	    (rv = check_mitigation(r, ref->min_mitigation, err,
	    errlen)) != ATT_OK)
		return rv;
	if (r->vmpl != 0)
		return att_err(err, errlen, ATT_ERR_VMPL, "VMPL is %u, not 0",
		    r->vmpl);
	return check_chip(r, ext, ref, err, errlen);
}
