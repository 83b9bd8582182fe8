/*
 * libFuzzer target: the 0x4A0-byte SNP report parser, its bit fields,
 * and the validate checks run against reference values derived from the
 * input itself so that the deep checks (TCB, ID key, chip ID) are hit.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "attest_int.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	struct att_report	r;
	struct att_policy	pol;
	struct att_platform	pi;
	struct att_signer	s;
	struct att_snp_ref	ref;
	struct att_vcek_ext	ext;
	struct att_expect	x;
	struct attest_tcb	t;
	uint8_t			abi[ATT_REPORT_SIZE];
	char			err[256];

	if (att_report_from_abi(p, n, &r, err, sizeof(err)) == -1)
		return 0;
	/* ReportToProto and ReportToAbiBytes are inverse (stepping < 16). */
	if (att_report_to_abi(&r, abi, err, sizeof(err)) != ATT_OK)
		abort();
	if ((r.version < 3 || p[0x18a] < 16) &&
	    memcmp(abi, p, ATT_REPORT_SIZE) != 0)
		abort();
	att_tcb_split(r.current_tcb, &t);
	if (att_tcb_join(&t) != r.current_tcb)
		abort();
	if (att_policy_parse(r.policy, &pol) == 0 &&
	    att_policy_bits(&pol) != r.policy)
		abort();
	(void)att_platform_parse(r.platform_info, &pi);
	(void)att_signer_parse(r.signer_info, &s);
	(void)att_product_from_fms(r.cpuid1eax_fms);

	/* Reference values that the report mostly satisfies. */
	memset(&ref, 0, sizeof(ref));
	memset(&ext, 0, sizeof(ext));
	ref.product = ATT_PRODUCT_GENOA;
	memcpy(ref.measurement, r.measurement.p, 48);
	att_tcb_split(r.reported_tcb & 0xff00000000ffffULL, &ref.min_tcb);
	(void)att_policy_parse(r.policy & 0x30000, &ref.guest_policy);
	ref.guest_policy.page_swap_disable = n > ATT_REPORT_SIZE &&
	    (p[ATT_REPORT_SIZE] & 1);
	ref.platform_info.ecc_en = 1;
	ref.min_mitigation = r.launch_mit_vector & 0xf;
	ext.tcb = r.reported_tcb;
	memcpy(ext.hwid, r.chip_id.p, 64);
	x.report_data = r.report_data.p;
	x.host_data = r.host_data.p;
	(void)att_validate(&r, &ext, &ref, &x, err, sizeof(err));
	return 0;
}
