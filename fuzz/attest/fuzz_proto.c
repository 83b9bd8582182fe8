/*
 * libFuzzer target: the sevsnp.Attestation protobuf decoder and the ABI
 * image built from what it decodes.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "attest_int.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Every view must lie inside the input. */
static void
inside(struct att_view v, const uint8_t *p, size_t n)
{
	if (v.len > 0 && (v.p < p || v.p + v.len > p + n))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	struct att_attestation	a;
	struct att_report	back;
	uint8_t			abi[ATT_REPORT_SIZE];
	char			err[256];

	(void)att_proto_is_tdx(p, n);
	if (att_proto_decode(p, n, &a, err, sizeof(err)) == -1)
		return 0;
	inside(a.report.measurement, p, n);
	inside(a.report.signature, p, n);
	inside(a.report.chip_id, p, n);
	inside(a.chain.vcek, p, n);
	inside(a.chain.crl, p, n);
	if (!a.has_report ||
	    att_report_to_abi(&a.report, abi, err, sizeof(err)) != ATT_OK)
		return 0;
	/* The rebuilt image parses back to the same fields. */
	if (att_report_from_abi(abi, sizeof(abi), &back, err,
	    sizeof(err)) == 0) {
		if (back.version != a.report.version ||
		    back.reported_tcb != a.report.reported_tcb ||
		    memcmp(back.measurement.p, a.report.measurement.p, 48) != 0)
			abort();
	}
	return 0;
}
