/*
 * TDX end to end through attest_verify_response(), on documents the
 * fixture builds with a fake Intel PKI (tdx_fixture.c): the happy path
 * with its Intel PCS fetch round trip, and one named case per tampering,
 * each with the reason it must be refused for.  Then the pieces keyd
 * uses around the verifier (the cache format, the freshness of a cached
 * answer) and a loop over every byte of a quote's protobuf.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest_int.h"
#include "t.h"
#include "tdx_fixture.h"

T_GLOBALS;

/* 2026-06-01T00:00:00Z */
#define NOW	((time_t)1780272000)

static struct fxt_pki	pki;
static int		ncases;

/* The verification as keyd runs it: fetch what is asked for, again. */
static enum attest_reason
run(const struct fxt_full *f, time_t now, int fetch, struct attest_result *res)
{
	struct attest_trust	t;
	struct attest_input	in;
	struct attest_pcs_doc	d[4], have[ATT_PCS_MAX];
	enum attest_reason	rv;
	int			i, k, rounds = 0;
	size_t			n = 0;

	attest_trust_init(&t);
	if (attest_trust_load_intel_root(&t, pki.root_pem,
	    strlen(pki.root_pem), 1, NULL, 0) != ATT_OK)
		abort();
	t.now = now;
	memset(&in, 0, sizeof(in));
	in.nonce = f->nonce;
	in.nonce_len = 32;
	in.doc = (const uint8_t *)f->body;
	in.doc_len = strlen(f->body);
	in.manifest = (const uint8_t *)f->manifest;
	in.manifest_len = strlen(f->manifest);
	in.pcs = have;
	for (;;) {
		in.npcs = n;
		rv = attest_verify_response(&t, &in, res);
		if (rv != ATT_NEED_FETCH || !fetch || rounds++ > 3)
			break;
		/* The fixture answers any FMSPC and evaluation number. */
		fxt_pcs_docs(&f->doc, &t, "-", 0, d);
		for (i = 0; i < res->npcs_need; i++) {
			k = res->pcs_need[i].kind - ATT_PCS_TCB_INFO;
			if (k < 0 || k > 3 || n == ATT_PCS_MAX)
				abort();
			have[n] = d[k];
			have[n].url = strdup(res->pcs_need[i].url);
			n++;
		}
		attest_result_free(res);
	}
	for (i = 0; i < (int)n; i++)
		free((char *)(uintptr_t)have[i].url);
	attest_trust_free(&t);
	return rv;
}

static void
expect(const char *name, const struct fxt_full *f, time_t now,
    enum attest_reason want)
{
	struct attest_result	res;
	enum attest_reason	rv;

	ncases++;
	T_BEGIN(name);
	rv = run(f, now, 1, &res);
	T_EQ_INT(rv, want);
	if (rv != want)
		fprintf(stderr, "  %s: got %s: %s\n", name,
		    attest_reason_label(rv), res.message);
	attest_result_free(&res);
}

/*
 * CASE(name, reason, changes): default parameters, the changes (p is the
 * fxt_params, entries a manifest tdx[] override), build, verify.
 */
#define CASE(name, want, ...) do {					\
	struct fxt_params	p;					\
	struct fxt_full		f;					\
	const char		*entries = NULL, *extra = NULL;		\
	time_t			 now = NOW;				\
									\
	fxt_params_default(&p, NOW);					\
	__VA_ARGS__;							\
	if (fxt_full_build(&pki, &p, entries, extra, &f) == -1)		\
		abort();						\
	expect(name, &f, now, want);					\
	fxt_full_free(&f);						\
	(void)entries; (void)extra;					\
} while (0)

/* A manifest entry from the defaults with one change. */
static char *
entry(void (*change)(struct fxt_ref *))
{
	struct fxt_params	p;
	struct fxt_ref		r;

	fxt_params_default(&p, NOW);
	fxt_ref_default(&r, &p);
	if (change != NULL)
		change(&r);
	return fxt_ref_json(&r);
}

static void ch_mrtd(struct fxt_ref *r) { r->mr_td[0] ^= 1; }
static void ch_seam(struct fxt_ref *r) { r->mr_seam[47] ^= 1; }
static void ch_rtmr(struct fxt_ref *r) { r->rtmr[2][5] ^= 1; }
static void ch_xfam(struct fxt_ref *r) { r->xfam[1] ^= 0x08; }
static void ch_piid(struct fxt_ref *r) { r->piids = "[\"00112233445566778899AABBCCDDEEFF\"]"; }
static void ch_nopiid(struct fxt_ref *r) { r->piids = "[]"; }
static void ch_memint(struct fxt_ref *r) { r->memory_integrity = 1; }
static void ch_smt(struct fxt_ref *r) { r->smt_disabled = 1; }
static void ch_static(struct fxt_ref *r) { r->static_platform = 1; }
static void ch_eval25(struct fxt_ref *r) { r->min_eval = 25; }
static void ch_eval0(struct fxt_ref *r) { r->min_eval = 0; }
static void ch_xfam_wild(struct fxt_ref *r) { r->xfam[2] |= 0x10; }

static void
test_happy(void)
{
	struct fxt_params	 p;
	struct fxt_full		 f;
	struct attest_result	 res;
	struct attest_trust	 t;

	fxt_params_default(&p, NOW);
	if (fxt_full_build(&pki, &p, NULL, NULL, &f) == -1)
		abort();

	T_BEGIN("TDX: a document without collateral asks for four PCS answers");
	T_EQ_INT(run(&f, NOW, 0, &res), ATT_NEED_FETCH);
	T_EQ_INT(res.platform, ATT_PLATFORM_TDX);
	T_EQ_INT(res.npcs_need, 4);
	T_EQ_INT(res.pcs_need[0].kind, ATT_PCS_TCB_INFO);
	T_EQ_STR(res.pcs_need[0].url, "https://api.trustedservices.intel.com/"
	    "tdx/certification/v4/tcb?fmspc=50806f000000&"
	    "tcbEvaluationDataNumber=21");
	T_EQ_INT(res.pcs_need[1].kind, ATT_PCS_QE_IDENTITY);
	T_EQ_STR(res.pcs_need[1].url, "https://api.trustedservices.intel.com/"
	    "tdx/certification/v4/qe/identity");
	T_EQ_INT(res.pcs_need[2].kind, ATT_PCS_PCK_CRL);
	T_EQ_STR(res.pcs_need[2].url, "https://api.trustedservices.intel.com/"
	    "sgx/certification/v4/pckcrl?ca=platform&encoding=der");
	T_EQ_INT(res.pcs_need[3].kind, ATT_PCS_ROOT_CRL);
	T_EQ_STR(res.pcs_need[3].url, "https://certificates.trustedservices."
	    "intel.com/IntelSGXRootCA.der");
	T_EQ_STR(res.tdx.fmspc, "50806f000000");
	attest_result_free(&res);

	T_BEGIN("TDX: happy path, collateral fetched");
	T_EQ_INT(run(&f, NOW, 1, &res), ATT_OK);
	if (res.reason != ATT_OK)
		fprintf(stderr, "  %s\n", res.message);
	T_EQ_INT(res.platform, ATT_PLATFORM_TDX);
	T_EQ_INT(res.tdx_index, 0);
	T_EQ_INT(res.snp_index, -1);
	T_CHECK(res.mesh_ca != NULL);
	T_EQ_INT(res.test_anchors, 1);
	T_EQ_INT(res.have_tdx, 1);
	T_EQ_STR(res.tdx.tcb_status, "UpToDate");
	T_EQ_STR(res.tdx.qe_tcb_status, "UpToDate");
	T_EQ_INT(res.tdx.tcb_eval_num, 21);
	T_EQ_INT(res.tdx.qe_isvsvn, 4);
	T_EQ_MEM(res.tdx.mr_td, p.mr_td, 48);
	T_CHECK(strstr(res.message, "TDX quote v4") != NULL);
	attest_result_free(&res);

	T_BEGIN("TDX: the caller cannot fetch: fail closed");
	T_EQ_INT(run(&f, NOW, 0, &res), ATT_NEED_FETCH);
	attest_result_free(&res);
	attest_trust_init(&t);
	attest_trust_load_intel_root(&t, pki.root_pem, strlen(pki.root_pem), 1,
	    NULL, 0);
	t.now = NOW;
	{
		struct attest_input in;

		memset(&in, 0, sizeof(in));
		in.nonce = f.nonce;
		in.nonce_len = 32;
		in.doc = (const uint8_t *)f.body;
		in.doc_len = strlen(f.body);
		in.manifest = (const uint8_t *)f.manifest;
		in.manifest_len = strlen(f.manifest);
		in.flags = ATT_IN_NO_FETCH;
		T_EQ_INT(attest_verify_response(&t, &in, &res),
		    ATT_ERR_COLLATERAL);
		T_EQ_INT(res.npcs_need, 0);
		attest_result_free(&res);

		T_BEGIN("TDX: Intel's own root does not trust the fake PKI");
		attest_trust_free(&t);
		attest_trust_init(&t);
		t.now = NOW;
		T_EQ_INT(attest_verify_response(&t, &in, &res), ATT_ERR_PCK);
		attest_result_free(&res);
	}
	T_BEGIN("TDX: a test root is refused without test_only");
	T_EQ_INT(attest_trust_load_intel_root(&t, pki.root_pem,
	    strlen(pki.root_pem), 0, NULL, 0), ATT_ERR_ANCHOR);
	T_EQ_INT(attest_trust_is_test_only(&t), 0);
	attest_trust_free(&t);

	T_BEGIN("TDX: the PCS base URL moves every URL but the root CRL's");
	attest_trust_init(&t);
	T_EQ_INT(attest_trust_set_pcs(&t, "http://127.0.0.1:9/pcs/", NULL), 0);
	T_EQ_STR(t.pcs_base, "http://127.0.0.1:9/pcs");
	T_EQ_INT(attest_trust_set_pcs(&t, NULL, "ftp://x/y"), -1);
	T_EQ_INT(attest_trust_set_pcs(&t, "", NULL), -1);
	T_EQ_STR(t.pcs_root_crl, ATT_PCS_ROOT_CRL_URL);
	attest_trust_free(&t);
	fxt_full_free(&f);
}

static void
test_matrix(void)
{
	char	*e1, *e2, buf[16384];

	/* Quote contents the manifest does not allow. */
	CASE("TDX: MR_TD differs (measurement)", ATT_ERR_MEASUREMENT,
	    p.mr_td[0] ^= 1);
	CASE("TDX: RTMR[3] differs", ATT_ERR_RTMR, p.rtmr[3][47] ^= 1);
	CASE("TDX: RTMR[0] differs", ATT_ERR_RTMR, p.rtmr[0][0] ^= 0x80);
	CASE("TDX: MR_SEAM differs", ATT_ERR_MR_SEAM, p.mr_seam[1] ^= 1);
	CASE("TDX: XFAM differs", ATT_ERR_XFAM, p.xfam ^= 0x800);
	CASE("TDX: debug TD attribute", ATT_ERR_TD_ATTRIBUTES,
	    p.td_attributes |= 1);
	CASE("TDX: TD attributes without SEPT_VE_DISABLE",
	    ATT_ERR_TD_ATTRIBUTES, p.td_attributes = 0);
	CASE("TDX: MR_CONFIG_ID is not the coordinator policy",
	    ATT_ERR_HOST_DATA, p.config_set = 1; p.mr_config_id[3] = 1);
	CASE("TDX: MR_CONFIG_ID tail not zero", ATT_ERR_HOST_DATA,
	    p.config_set = 1; memset(p.mr_config_id, 0x11, 48));
	CASE("TDX: REPORT_DATA does not bind the nonce", ATT_ERR_REPORT_DATA,
	    p.rd_set = 1; memset(p.report_data, 0x42, 64));
	CASE("TDX: QE vendor ID not Intel's", ATT_ERR_QE_VENDOR,
	    p.qe_vendor[0] ^= 1);

	/* Forgeries. */
	CASE("TDX: quote body changed after signing", ATT_ERR_QUOTE_SIGNATURE,
	    p.flip_body = 0x100);
	CASE("TDX: QE report does not bind the attestation key",
	    ATT_ERR_QUOTE_SIGNATURE, p.bad_qe_binding = 1);
	CASE("TDX: PCK certificate not signed by the platform CA", ATT_ERR_PCK,
	    p.pck_foreign = 1);
	CASE("TDX: PCK certificate with a seventh extension", ATT_ERR_PCK,
	    p.pck_extra_ext = 1);
	CASE("TDX: PCK certificate expired", ATT_ERR_CERT_EXPIRED,
	    p.pck_not_after = NOW - 3600);
	CASE("TDX: PCK certificate revoked", ATT_ERR_REVOKED, p.revoke_pck = 1);

	/* TCB status, the SDK's policy: UpToDate only. */
	CASE("TDX: TCB status OutOfDate", ATT_ERR_TDX_TCB,
	    p.tcb_status = "OutOfDate");
	CASE("TDX: TCB status SWHardeningNeeded", ATT_ERR_TDX_TCB,
	    p.tcb_status = "SWHardeningNeeded");
	CASE("TDX: TCB status ConfigurationNeeded", ATT_ERR_TDX_TCB,
	    p.tcb_status = "ConfigurationNeeded");
	CASE("TDX: TCB status ConfigurationAndSWHardeningNeeded",
	    ATT_ERR_TDX_TCB,
	    p.tcb_status = "ConfigurationAndSWHardeningNeeded");
	CASE("TDX: TCB status OutOfDateConfigurationNeeded", ATT_ERR_TDX_TCB,
	    p.tcb_status = "OutOfDateConfigurationNeeded");
	CASE("TDX: TCB status Revoked", ATT_ERR_TDX_TCB,
	    p.tcb_status = "Revoked");
	CASE("TDX: TCB status not a known one", ATT_ERR_COLLATERAL,
	    p.tcb_status = "Fine");
	CASE("TDX: TEE_TCB_SVN and PCK below the first level: OutOfDate",
	    ATT_ERR_TDX_TCB, p.tcb_tdx[2] = 9; p.tee_tcb_svn[2] = 1;
	    memset(p.comp, 0, 16));
	CASE("TDX: PCK PCESVN below the level: the older level, OutOfDate",
	    ATT_ERR_TDX_TCB, p.pcesvn = 10);
	CASE("TDX: TDX module identity TDX_01, SVN 5: UpToDate", ATT_OK,
	    p.tee_tcb_svn[1] = 1);
	CASE("TDX: TDX module identity TDX_01, SVN 3: OutOfDate",
	    ATT_ERR_TDX_TCB, p.tee_tcb_svn[1] = 1; p.tee_tcb_svn[0] = 3);
	CASE("TDX: no TDX module identity TDX_02", ATT_ERR_TDX_TCB,
	    p.tee_tcb_svn[1] = 2);
	CASE("TDX: QE TCB status OutOfDate", ATT_ERR_QE_IDENTITY,
	    p.qe_status = "OutOfDate");
	CASE("TDX: QE ISV SVN below the UpToDate level", ATT_ERR_QE_IDENTITY,
	    p.qe_isvsvn = 0; p.qe_status = "UpToDate");
	CASE("TDX: QE MRSIGNER not the QE identity's", ATT_ERR_QE_IDENTITY,
	    p.qe_mrsigner[0] ^= 1);
	CASE("TDX: QE product ID not the QE identity's", ATT_ERR_QE_IDENTITY,
	    p.qe_prodid = 1);
	CASE("TDX: QE MISCSELECT outside the mask", ATT_ERR_QE_IDENTITY,
	    p.qe_miscselect = 1);

	/* Collateral. */
	CASE("TDX: TCB info signed by another key (collateral signature)",
	    ATT_ERR_COLLATERAL, p.tcb_foreign_sig = 1);
	CASE("TDX: TCB info past its nextUpdate", ATT_ERR_COLLATERAL_STALE,
	    p.tcb_next = NOW - 1);
	CASE("TDX: QE identity past its nextUpdate", ATT_ERR_COLLATERAL_STALE,
	    p.qe_next = NOW - 1);
	CASE("TDX: stale CRLs", ATT_ERR_COLLATERAL_STALE,
	    p.crl_next = NOW - 1);
	CASE("TDX: TCB info for another FMSPC", ATT_ERR_COLLATERAL,
	    p.tcb_fmspc = "00906ed50000");
	CASE("TDX: FMSPC in upper case is the same", ATT_OK,
	    p.tcb_fmspc = "50806F000000");
	CASE("TDX: PCEID of the PCK not the TCB info's", ATT_ERR_COLLATERAL,
	    p.pceid[1] = 1);
	CASE("TDX: TCB info older than the tcbEvaluationDataNumber asked for",
	    ATT_ERR_COLLATERAL, p.eval_num = 20);
	CASE("TDX: MRSIGNERSEAM not the TDX module's signer", ATT_ERR_TDX_TCB,
	    p.mr_signer_seam[0] = 1);
	CASE("TDX: SEAM attributes outside the module's", ATT_ERR_TDX_TCB,
	    p.seam_attributes = 1);
	CASE("TDX: all of it, ten years later", ATT_ERR_CERT_EXPIRED,
	    now = NOW + 10 * 365 * 86400L);

	/* The manifest's TDX reference values. */
	CASE("TDX: manifest MrTd differs", ATT_ERR_MEASUREMENT,
	    entries = e1 = entry(ch_mrtd); (void)e1);
	free(e1);
	CASE("TDX: manifest MrSeam differs", ATT_ERR_MR_SEAM,
	    entries = e1 = entry(ch_seam));
	free(e1);
	CASE("TDX: manifest RTMR[3] differs", ATT_ERR_RTMR,
	    entries = e1 = entry(ch_rtmr));
	free(e1);
	CASE("TDX: manifest Xfam differs", ATT_ERR_XFAM,
	    entries = e1 = entry(ch_xfam));
	free(e1);
	CASE("TDX: XFAM bits outside the fixed-0 mask", ATT_ERR_XFAM,
	    entries = e1 = entry(ch_xfam_wild); p.xfam |= 0x100000);
	free(e1);
	CASE("TDX: PIID not in AllowedPIIDs", ATT_ERR_PIID,
	    entries = e1 = entry(ch_piid));
	free(e1);
	CASE("TDX: empty AllowedPIIDs allows any", ATT_OK,
	    entries = e1 = entry(ch_nopiid));
	free(e1);
	CASE("TDX: MemoryIntegrity needs SGX type 2", ATT_ERR_PCK_CONFIG,
	    entries = e1 = entry(ch_memint));
	free(e1);
	CASE("TDX: MemoryIntegrity with SGX type 2", ATT_OK,
	    entries = e1 = entry(ch_memint); p.sgx_type = 2);
	free(e1);
	CASE("TDX: SMTDisabled on an SMT platform", ATT_ERR_PCK_CONFIG,
	    entries = e1 = entry(ch_smt));
	free(e1);
	CASE("TDX: SMTDisabled without SMT", ATT_OK,
	    entries = e1 = entry(ch_smt); p.smt_enabled = 0);
	free(e1);
	CASE("TDX: StaticPlatform on a dynamic platform", ATT_ERR_PCK_CONFIG,
	    entries = e1 = entry(ch_static));
	free(e1);
	CASE("TDX: MinTCBEvaluationDataNumber above the TCB info's",
	    ATT_ERR_COLLATERAL, entries = e1 = entry(ch_eval25));
	free(e1);
	CASE("TDX: no MinTCBEvaluationDataNumber: any TCB info", ATT_OK,
	    entries = e1 = entry(ch_eval0));
	free(e1);
	e1 = entry(ch_mrtd);
	e2 = entry(NULL);
	snprintf(buf, sizeof(buf), "%s,%s", e1, e2);
	CASE("TDX: the second tdx[] entry matches", ATT_OK, entries = buf);
	snprintf(buf, sizeof(buf), "%s,%s", e1, e1);
	CASE("TDX: no entry matches: the first one's reason",
	    ATT_ERR_MEASUREMENT, entries = buf);
	free(e1);
	e1 = entry(ch_eval25);
	snprintf(buf, sizeof(buf), "%s,%s", e1, e2);
	CASE("TDX: entries asking for two tcbEvaluationDataNumbers", ATT_OK,
	    entries = buf);
	free(e1);
	free(e2);

	/* The Coordinator document around it. */
	CASE("TDX: attestation_type TDX", ATT_OK,
	    extra = "\"attestation_type\":[1,3,9901,2,2]");
	CASE("TDX: attestation_type SEV-SNP on a TDX quote",
	    ATT_ERR_EVIDENCE_TYPE, extra = "\"attestation_type\":[1,3,9901,2,1]");
}

/* A pm-shaped SNP entry (valid by Contrast's rules), for TDX evidence. */
static const char snp_entry[] = "{\"Platform\":\"Metal-QEMU-SNP-GPU\","
    "\"ProductName\":\"Genoa\",\"TrustedMeasurement\":\"" "%096d" "\","
    "\"MinimumTCB\":{\"BootloaderVersion\":10,\"TEEVersion\":0,"
    "\"SNPVersion\":28,\"MicrocodeVersion\":88},\"GuestPolicy\":"
    "{\"SMT\":true,\"PageSwapDisable\":true},\"PlatformInfo\":"
    "{\"ECCEnabled\":true,\"AliasCheckComplete\":true},"
    "\"MinimumMitigationVector\":15,\"AllowedChipIDs\":[],\"CPUs\":1}";

static void
test_snp_refs(void)
{
	char	snp[1024];

	snprintf(snp, sizeof(snp), snp_entry, 0);
	CASE("TDX: a manifest with SNP reference values only",
	    ATT_ERR_MANIFEST_INVALID, p.snp_entries = snp; entries = "");
	CASE("TDX: SNP and TDX reference values, the TDX one matches", ATT_OK,
	    p.snp_entries = snp);
}

static void
test_cache_format(void)
{
	struct fxt_params	 p;
	struct fxt_doc		 d;
	struct attest_trust	 t;
	struct attest_pcs_doc	 docs[4], back;
	uint8_t			*blob;
	size_t			 len;
	int			 i;

	fxt_params_default(&p, NOW);
	if (fxt_build(&pki, &p, &d) == -1)
		abort();
	attest_trust_init(&t);
	fxt_pcs_docs(&d, &t, "50806f000000", 21, docs);

	T_BEGIN("PCS cache blob: pack and unpack");
	for (i = 0; i < 4; i++) {
		T_EQ_INT(attest_pcs_pack(&docs[i], &blob, &len), 0);
		T_EQ_INT(attest_pcs_unpack(blob, len, &back), 0);
		T_EQ_INT(back.body_len, docs[i].body_len);
		T_EQ_MEM(back.body, docs[i].body, back.body_len);
		T_EQ_INT(back.issuer_chain_len, docs[i].issuer_chain_len);
		if (back.issuer_chain_len > 0)
			T_EQ_MEM(back.issuer_chain, docs[i].issuer_chain,
			    back.issuer_chain_len);
		T_EQ_INT(attest_pcs_unpack(blob, len - back.body_len - 1,
		    &back), -1);
		free(blob);
	}
	T_EQ_INT(attest_pcs_unpack((const uint8_t *)"PMPCS", 5, &back), -1);

	T_BEGIN("PCS cache: usable until nextUpdate, not after");
	T_EQ_INT(attest_pcs_usable(ATT_PCS_TCB_INFO, &docs[0], NOW), 1);
	T_EQ_INT(attest_pcs_usable(ATT_PCS_TCB_INFO, &docs[0], p.tcb_next), 1);
	T_EQ_INT(attest_pcs_usable(ATT_PCS_TCB_INFO, &docs[0],
	    p.tcb_next + 1), 0);
	T_EQ_INT(attest_pcs_usable(ATT_PCS_QE_IDENTITY, &docs[1], NOW), 1);
	T_EQ_INT(attest_pcs_usable(ATT_PCS_QE_IDENTITY, &docs[1],
	    p.qe_next + 1), 0);
	T_EQ_INT(attest_pcs_usable(ATT_PCS_PCK_CRL, &docs[2], NOW), 1);
	T_EQ_INT(attest_pcs_usable(ATT_PCS_PCK_CRL, &docs[2],
	    p.crl_next + 1), 0);
	T_EQ_INT(attest_pcs_usable(ATT_PCS_ROOT_CRL, &docs[3], NOW), 1);
	T_EQ_INT(attest_pcs_usable(ATT_PCS_ROOT_CRL, &docs[3],
	    p.crl_next + 1), 0);
	T_BEGIN("PCS cache: garbage is not usable");
	T_EQ_INT(attest_pcs_usable(ATT_PCS_TCB_INFO, &docs[2], NOW), 0);
	T_EQ_INT(attest_pcs_usable(ATT_PCS_ROOT_CRL, &docs[0], NOW), 0);
	T_EQ_INT(attest_pcs_usable(ATT_PCS_NONE, &docs[0], NOW), 0);

	T_BEGIN("PCS answers: names and issuer chain headers");
	T_EQ_STR(attest_pcs_issuer_header(ATT_PCS_TCB_INFO),
	    "TCB-Info-Issuer-Chain");
	T_EQ_STR(attest_pcs_issuer_header(ATT_PCS_QE_IDENTITY),
	    "SGX-Enclave-Identity-Issuer-Chain");
	T_EQ_STR(attest_pcs_issuer_header(ATT_PCS_PCK_CRL),
	    "SGX-PCK-CRL-Issuer-Chain");
	T_CHECK(attest_pcs_issuer_header(ATT_PCS_ROOT_CRL) == NULL);
	T_EQ_STR(attest_platform_name(ATT_PLATFORM_TDX), "tdx");
	T_EQ_STR(attest_platform_name(ATT_PLATFORM_SNP), "sev-snp");
	attest_trust_free(&t);
	fxt_doc_free(&d);
}

/* Each byte of the tdx.QuoteV4 protobuf, changed in turn, is refused. */
static void
test_proto_flips(void)
{
	struct fxt_params	 p;
	struct fxt_full		 f;
	struct att_tdx_quote	 q;
	struct att_tdx_verified	 v;
	struct attest_trust	 t;
	struct attest_pcs_doc	 d[4];
	struct att_tdx_docs	 docs;
	size_t			 i, accepted = 0;
	uint8_t			 pat;
	enum attest_reason	 rv;

	fxt_params_default(&p, NOW);
	if (fxt_full_build(&pki, &p, NULL, NULL, &f) == -1)
		abort();
	attest_trust_init(&t);
	attest_trust_load_intel_root(&t, pki.root_pem, strlen(pki.root_pem), 1,
	    NULL, 0);
	fxt_pcs_docs(&f.doc, &t, "50806f000000", 21, d);
	docs.tcb_info = &d[0];
	docs.qe_identity = &d[1];
	docs.pck_crl = &d[2];
	docs.root_crl = &d[3];
	T_BEGIN("TDX protobuf: each changed byte is refused");
	T_EQ_INT(att_tdx_from_proto(f.doc.proto, f.doc.proto_len, &q, NULL, 0),
	    0);
	T_EQ_INT(att_tdx_verify(&q, t.intel_root, &docs, NOW, 21, &v, NULL, 0),
	    ATT_OK);
	att_tdx_verified_free(&v);
	for (i = 0; i < f.doc.proto_len; i++) {
		pat = (uint8_t)(1U << (i % 8));
		f.doc.proto[i] ^= pat;
		if (att_tdx_from_proto(f.doc.proto, f.doc.proto_len, &q, NULL,
		    0) == -1)
			rv = ATT_ERR_MALFORMED;
		else
			rv = att_tdx_verify(&q, t.intel_root, &docs, NOW, 21,
			    &v, NULL, 0);
		if (rv == ATT_OK)
			rv = att_tdx_tcb_ok(&v, NULL, 0);
		att_tdx_verified_free(&v);
		if (rv == ATT_OK && accepted++ < 5)
			fprintf(stderr, "  protobuf byte %zu ^ 0x%02x accepted\n",
			    i, pat);
		f.doc.proto[i] ^= pat;
	}
	T_EQ_INT(accepted, 0);
	attest_trust_free(&t);
	fxt_full_free(&f);
}

int
main(void)
{
	T_BEGIN("attest_init");
	T_EQ_INT(attest_init(), 0);
	fxt_pki_init(&pki, NOW);
	test_happy();
	test_matrix();
	test_snp_refs();
	test_cache_format();
	test_proto_flips();
	fxt_pki_free(&pki);
	printf("%d TDX verification cases\n", ncases);
	T_DONE();
}
