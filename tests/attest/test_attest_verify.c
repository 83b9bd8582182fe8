/*
 * End-to-end verification of generated Coordinator documents: the happy
 * path, the KDS fetch round trip, and one named case per tampering of
 * the spec's test matrix, each asserting its reason code.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "attest_int.h"
#include "fixture.h"
#include "t.h"

T_GLOBALS;

static struct fx_pki		pki;
static struct attest_trust	trust;
static int			ncases;

#define DAY	86400L

struct call {
	const char	*expected;	/* default: p->manifest */
	const uint8_t	*nonce;		/* default: p->nonce */
	int		 flags;
	const uint8_t	*vcek;
	size_t		 vcek_len;
	const uint8_t	*crl;
	size_t		 crl_len;
	int		 coordinator;	/* verify the Coordinator JSON */
	const struct attest_trust *trust;
};

static enum attest_reason
run_doc(const char *name, const struct fx_params *p, const struct fx_doc *d,
    const struct call *c, enum attest_reason want, struct attest_result *res)
{
	struct attest_input	in;
	struct attest_trust	t = c->trust ? *c->trust : trust;
	enum attest_reason	rv;
	const char		*exp = c->expected ? c->expected : p->manifest;

	T_BEGIN(name);
	ncases++;
	memset(res, 0, sizeof(*res));
	memset(&in, 0, sizeof(in));
	in.nonce = c->nonce ? c->nonce : p->nonce;
	in.nonce_len = 32;
	in.doc = (const uint8_t *)(c->coordinator ? d->coord : d->body);
	in.doc_len = c->coordinator ? d->coord_len : d->body_len;
	in.manifest = (const uint8_t *)exp;
	in.manifest_len = strlen(exp);
	in.vcek = c->vcek;
	in.vcek_len = c->vcek_len;
	in.crl = c->crl;
	in.crl_len = c->crl_len;
	in.flags = c->flags;
	t.now = p->now;
	ERR_clear_error();
	rv = c->coordinator ? attest_verify_coordinator(&t, &in, res) :
	    attest_verify_response(&t, &in, res);
	T_EQ_INT(rv, want);
	/* keyd's TLS reads need an empty queue (SSL_get_error). */
	T_EQ_INT(ERR_peek_error(), 0);
	T_EQ_INT(res->reason, rv);
	T_CHECK(res->message[0] != '\0');
	if (rv != want)
		fprintf(stderr, "  %s: got %s: %s\n", name,
		    attest_reason_label(rv), res->message);
	else if (getenv("PM_ATTEST_VERBOSE") != NULL)
		printf("ok %-45s %-20s %s\n", name, attest_reason_label(rv),
		    res->message);
	if (rv != ATT_OK)
		T_CHECK(res->mesh_ca == NULL);
	return rv;
}

static enum attest_reason
run(const char *name, const struct fx_params *p, const struct call *c,
    enum attest_reason want, struct attest_result *res)
{
	struct fx_doc		d;
	enum attest_reason	rv;

	if (fx_build(&pki, p, &d) == -1) {
		T_BEGIN(name);
		T_CHECK(!"fixture build failed");
		memset(res, 0, sizeof(*res));
		return ATT_ERR_INTERNAL;
	}
	rv = run_doc(name, p, &d, c, want, res);
	fx_doc_free(&d);
	return rv;
}

static void
expect(const char *name, const struct fx_params *p, enum attest_reason want)
{
	struct call		c;
	struct attest_result	res;

	memset(&c, 0, sizeof(c));
	run(name, p, &c, want, &res);
	attest_result_free(&res);
}

/* One case: default parameters, one change, one expected reason. */
#define CASE(name, want, ...) do {					\
	struct fx_params p;						\
	fx_params_default(&p, &pki);					\
	__VA_ARGS__;							\
	expect(name, &p, want);						\
	fx_params_free(&p);						\
} while (0)

/* Rebuild p's manifest after changing the pieces in stmt. */
#define MANIFEST(p, ...) do {						\
	struct fx_manifest m;						\
	fx_manifest_default(&m, &(p));					\
	__VA_ARGS__;							\
	free((p).manifest);						\
	(p).manifest = fx_manifest_json(&m);				\
} while (0)

static void
set_tcb(uint64_t *v, int byte, uint8_t value)
{
	*v &= ~((uint64_t)0xff << (8 * byte));
	*v |= (uint64_t)value << (8 * byte);
}

static void
test_happy(void)
{
	struct fx_params	fp;
	struct call		c;
	struct attest_result	res;
	uint8_t			md[32];
	char			hex[65];

	fx_params_default(&fp, &pki);
	memset(&c, 0, sizeof(c));
	if (run("happy path (attest response)", &fp, &c, ATT_OK, &res) ==
	    ATT_OK) {
		T_CHECK(res.mesh_ca != NULL);
		T_EQ_INT(res.snp_index, 0);
		T_EQ_INT(res.test_anchors, 1);
		T_EQ_INT(res.have_report, 1);
		T_EQ_INT(res.report_version, 3);
		T_EQ_INT(res.product, ATT_PRODUCT_GENOA);
		T_EQ_INT(res.reported_tcb.bl, 10);
		T_EQ_INT(res.reported_tcb.tee, 0);
		T_EQ_INT(res.reported_tcb.snp, 28);
		T_EQ_INT(res.reported_tcb.ucode, 88);
		T_EQ_INT(res.reported_tcb_raw, fp.reported_tcb);
		T_EQ_MEM(res.chip_id, fp.hwid, 64);
		T_EQ_INT(res.need_vcek, 0);
		T_EQ_INT(res.need_crl, 0);
		T_EQ_INT(res.nentries, 1);
		T_EQ_INT(res.entry_reason[0], ATT_OK);
		EVP_Digest(fp.manifest, strlen(fp.manifest), md, NULL,
		    EVP_sha256(), NULL);
		fx_hex(md, 32, hex, 0);
		T_EQ_STR(res.manifest_sha256, hex);
		EVP_Digest(pki.root_pem, strlen(pki.root_pem), md, NULL,
		    EVP_sha256(), NULL);
		T_EQ_MEM(res.root_ca_sha256, md, 32);
	}
	attest_result_free(&res);
	T_CHECK(res.mesh_ca == NULL);

	c.coordinator = 1;
	run("happy path (Coordinator JSON)", &fp, &c, ATT_OK, &res);
	attest_result_free(&res);
	fx_params_free(&fp);

	CASE("hwID as DER OCTET STRING", ATT_OK, p.hwid_octet = 1);
	CASE("attestation_type SNP", ATT_OK,
	    p.extra_json = "\"attestation_type\":[1,3,9901,2,1]");
	CASE("report version 5", ATT_OK, p.version = 5);
	CASE("masked CHIP_ID, no AllowedChipIDs", ATT_OK,
	    MANIFEST(p, m.chip_ids = "[]");
	    memset(p.chip_id, 0, 64); p.signer_info = 2);
	CASE("ABI minor 31 in manifest and report", ATT_OK,
	    MANIFEST(p, m.guest_policy = "{\"ABIMinor\":31,\"SMT\":true,"
	    "\"PageSwapDisable\":true}");
	    p.policy = 0x203001f; p.idkey_policy = 0x203001f);
	CASE("lower-case AllowedChipIDs", ATT_OK, {
		char json[140];
		char hx[129];
		fx_hex(p.chip_id, 64, hx, 0);
		snprintf(json, sizeof(json), "[\"%s\"]", hx);
		MANIFEST(p, m.chip_ids = json);
	});
}

/* A Milan entry first (product mismatch), then the matching Genoa. */
static void
test_entries(void)
{
	struct fx_params	fp;
	struct call		c;
	struct attest_result	res;
	char			entry[1024], meas[97], hx[129];

	fx_params_default(&fp, &pki);
	fx_hex(fp.measurement, 48, meas, 0);
	fx_hex(fp.chip_id, 64, hx, 1);
	snprintf(entry, sizeof(entry), "{\"ProductName\":\"Milan\","
	    "\"TrustedMeasurement\":\"%s\",\"MinimumTCB\":{"
	    "\"BootloaderVersion\":3,\"TEEVersion\":0,\"SNPVersion\":8,"
	    "\"MicrocodeVersion\":115},\"GuestPolicy\":{\"SMT\":true},"
	    "\"AllowedChipIDs\":[\"%s\"]}", meas, hx);
	MANIFEST(fp, m.prefix_snp = entry);
	memset(&c, 0, sizeof(c));
	if (run("Milan entry then Genoa entry", &fp, &c, ATT_OK, &res) ==
	    ATT_OK) {
		T_EQ_INT(res.snp_index, 1);
		T_EQ_INT(res.nentries, 2);
		T_EQ_INT(res.entry_reason[0], ATT_ERR_PRODUCT);
		T_EQ_INT(res.entry_reason[1], ATT_OK);
	}
	attest_result_free(&res);
	fx_params_free(&fp);

	/* A Genoa entry with another measurement, then the right one. */
	fx_params_default(&fp, &pki);
	{
		uint8_t	other[48];

		memset(other, 0x77, sizeof(other));
		fx_hex(other, 48, meas, 0);
	}
	snprintf(entry, sizeof(entry), "{\"ProductName\":\"Genoa\","
	    "\"TrustedMeasurement\":\"%s\",\"MinimumTCB\":{"
	    "\"BootloaderVersion\":10,\"TEEVersion\":0,\"SNPVersion\":28,"
	    "\"MicrocodeVersion\":88},\"GuestPolicy\":{\"SMT\":true}}", meas);
	MANIFEST(fp, m.prefix_snp = entry);
	if (run("wrong Genoa entry then right one", &fp, &c, ATT_OK, &res) ==
	    ATT_OK) {
		T_EQ_INT(res.snp_index, 1);
		T_EQ_INT(res.entry_reason[0], ATT_ERR_MEASUREMENT);
	}
	attest_result_free(&res);

	/* Both wrong: the reason is the first that is not a product. */
	fx_params_free(&fp);
	fx_params_default(&fp, &pki);
	MANIFEST(fp, m.prefix_snp = entry; m.product = "Milan");
	if (run("no entry matches", &fp, &c, ATT_ERR_MEASUREMENT, &res) ==
	    ATT_ERR_MEASUREMENT) {
		T_EQ_INT(res.nentries, 2);
		T_EQ_INT(res.entry_reason[0], ATT_ERR_MEASUREMENT);
		T_EQ_INT(res.entry_reason[1], ATT_ERR_PRODUCT);
		T_CHECK(strstr(res.message, "snp[0] (Genoa): ") != NULL);
		T_CHECK(strstr(res.message, "snp[1] (Milan): ") != NULL);
	}
	attest_result_free(&res);
	fx_params_free(&fp);
}

static void
test_fetch(void)
{
	struct fx_params	fp;
	struct fx_doc		d;
	struct call		c;
	struct attest_result	res;
	struct attest_trust	t2;
	char			url[512], chip[129];
	uint8_t			*crl, *old;
	size_t			 crl_len, old_len;

	/* VCEK missing: the exact KDS URL, then success with the bytes. */
	fx_params_default(&fp, &pki);
	fp.embed_vcek = 0;
	if (fx_build(&pki, &fp, &d) == -1)
		abort();
	memset(&c, 0, sizeof(c));
	if (run_doc("VCEK missing -> need fetch", &fp, &d, &c, ATT_NEED_FETCH,
	    &res) == ATT_NEED_FETCH) {
		fx_hex(fp.chip_id, 64, chip, 0);
		snprintf(url, sizeof(url), "https://kdsintf.amd.com/vcek/v1/"
		    "Genoa/%s?blSPL=10&teeSPL=0&snpSPL=28&ucodeSPL=88", chip);
		T_EQ_INT(res.need_vcek, 1);
		T_EQ_INT(res.need_crl, 0);
		T_EQ_STR(res.vcek_url, url);
		T_EQ_INT(attest_kds_cache_policy(res.vcek_url),
		    ATT_CACHE_FOREVER);
	}
	attest_result_free(&res);
	c.vcek = d.vcek;
	c.vcek_len = d.vcek_len;
	run_doc("VCEK supplied by caller", &fp, &d, &c, ATT_OK, &res);
	attest_result_free(&res);
	c.vcek = (const uint8_t *)"garbage";
	c.vcek_len = 7;
	run_doc("supplied VCEK garbage", &fp, &d, &c, ATT_ERR_VCEK, &res);
	attest_result_free(&res);
	memset(&c, 0, sizeof(c));
	c.flags = ATT_IN_NO_FETCH;
	run_doc("VCEK missing, caller cannot fetch", &fp, &d, &c, ATT_ERR_VCEK,
	    &res);
	attest_result_free(&res);
	fx_doc_free(&d);
	fx_params_free(&fp);

	CASE("VCEK missing, CHIP_ID masked", ATT_ERR_VCEK,
	    p.embed_vcek = 0; memset(p.chip_id, 0, 64); p.signer_info = 2;
	    MANIFEST(p, m.chip_ids = "[]"));

	/* CRL missing: need fetch, then the fetched CRL is used. */
	fx_params_default(&fp, &pki);
	fp.crl = FX_CRL_NONE;
	if (fx_build(&pki, &fp, &d) == -1)
		abort();
	memset(&c, 0, sizeof(c));
	if (run_doc("CRL missing -> need fetch", &fp, &d, &c, ATT_NEED_FETCH,
	    &res) == ATT_NEED_FETCH) {
		T_EQ_INT(res.need_vcek, 0);
		T_EQ_INT(res.need_crl, 1);
		T_EQ_STR(res.crl_url, "https://kdsintf.amd.com/vcek/v1/Genoa/crl");
		T_EQ_INT(attest_kds_cache_policy(res.crl_url),
		    ATT_CACHE_REFRESH);
	}
	attest_result_free(&res);
	c.crl = d.crl;
	c.crl_len = d.crl_len;
	run_doc("CRL supplied by caller", &fp, &d, &c, ATT_OK, &res);
	attest_result_free(&res);
	c.crl = (const uint8_t *)"garbage";
	c.crl_len = 7;
	run_doc("supplied CRL garbage", &fp, &d, &c, ATT_ERR_CRL, &res);
	attest_result_free(&res);
	fx_doc_free(&d);

	/* Both missing, with a test KDS base URL. */
	fp.embed_vcek = 0;
	if (fx_build(&pki, &fp, &d) == -1)
		abort();
	t2 = trust;
	T_CHECK(attest_trust_set_kds_base(&t2, "http://127.0.0.1:8999/") == 0);
	memset(&c, 0, sizeof(c));
	c.trust = &t2;
	if (run_doc("VCEK and CRL missing -> both URLs", &fp, &d, &c,
	    ATT_NEED_FETCH, &res) == ATT_NEED_FETCH) {
		T_EQ_INT(res.need_vcek, 1);
		T_EQ_INT(res.need_crl, 1);
		T_CHECK(strncmp(res.vcek_url,
		    "http://127.0.0.1:8999/vcek/v1/Genoa/", 36) == 0);
		T_EQ_STR(res.crl_url, "http://127.0.0.1:8999/vcek/v1/Genoa/crl");
	}
	attest_result_free(&res);
	c.vcek = d.vcek;
	c.vcek_len = d.vcek_len;
	c.crl = d.crl;
	c.crl_len = d.crl_len;
	run_doc("VCEK and CRL supplied", &fp, &d, &c, ATT_OK, &res);
	attest_result_free(&res);
	fx_doc_free(&d);
	fx_params_free(&fp);

	/* The embedded CRL is stale: fetch, use a fresh one, or fail. */
	fx_params_default(&fp, &pki);
	fp.crl_this = fp.now - 30 * DAY;
	fp.crl_next = fp.now - DAY;
	if (fx_build(&pki, &fp, &d) == -1 ||
	    fx_crl(&pki, 0, 0, fp.now - DAY, fp.now + DAY, &crl, &crl_len) == -1)
		abort();
	memset(&c, 0, sizeof(c));
	run_doc("embedded CRL expired -> need fetch", &fp, &d, &c,
	    ATT_NEED_FETCH, &res);
	T_EQ_INT(res.need_crl, 1);
	attest_result_free(&res);
	c.crl = crl;
	c.crl_len = crl_len;
	run_doc("embedded CRL expired, fresh CRL supplied", &fp, &d, &c,
	    ATT_OK, &res);
	attest_result_free(&res);
	c.crl = d.crl;
	c.crl_len = d.crl_len;
	run_doc("embedded CRL expired, expired fallback", &fp, &d, &c,
	    ATT_ERR_CRL, &res);
	attest_result_free(&res);
	memset(&c, 0, sizeof(c));
	c.flags = ATT_IN_NO_FETCH;
	run_doc("expired CRL with no fallback", &fp, &d, &c, ATT_ERR_CRL, &res);
	attest_result_free(&res);
	T_EQ_INT(attest_crl_usable(crl, crl_len, fp.now), 1);
	T_EQ_INT(attest_crl_usable(d.crl, d.crl_len, fp.now), 0);
	T_EQ_INT(attest_crl_usable(crl, crl_len, fp.now + 2 * DAY), 0);
	T_EQ_INT(attest_crl_usable((const uint8_t *)"x", 1, fp.now), 0);
	old = crl;
	old_len = crl_len;
	(void)old_len;
	OPENSSL_free(old);
	fx_doc_free(&d);
	fx_params_free(&fp);
}

static void
test_report_matrix(void)
{
	static const uint8_t other_nonce[32] = { 1, 2, 3 };
	struct fx_params	fp;
	struct call		c;
	struct attest_result	res;

	CASE("report byte flip", ATT_ERR_REPORT_SIGNATURE, p.flip = 0x95);
	CASE("signature R flip", ATT_ERR_REPORT_SIGNATURE, p.flip = 0x2a0);
	CASE("signature algorithm 2", ATT_ERR_REPORT_SIGNATURE,
	    p.sigalgo = 2);

	fx_params_default(&fp, &pki);
	memset(&c, 0, sizeof(c));
	c.nonce = other_nonce;
	run("wrong nonce binding", &fp, &c, ATT_ERR_REPORT_DATA, &res);
	attest_result_free(&res);
	fx_params_free(&fp);
	CASE("REPORT_DATA of other CAs", ATT_ERR_REPORT_DATA,
	    p.report_data_set = 1; memset(p.report_data, 0x42, 32));

	CASE("wrong measurement", ATT_ERR_MEASUREMENT,
	    p.measurement[47] ^= 0x80);
	CASE("HOST_DATA not the coordinator policy", ATT_ERR_HOST_DATA,
	    p.host_data[0] ^= 1);
	CASE("ID_KEY_DIGEST mismatch", ATT_ERR_ID_KEY,
	    p.id_key_set = 1; memset(p.id_key_digest, 0xee, 48));
	CASE("ID key for another guest policy", ATT_ERR_ID_KEY,
	    p.idkey_policy = 0x2020000);

	/* Guest policy. */
	CASE("policy DEBUG", ATT_ERR_POLICY, p.policy |= 1 << 19);
	CASE("policy MIGRATE_MA", ATT_ERR_POLICY, p.policy |= 1 << 18);
	CASE("policy CXL_ALLOW", ATT_ERR_POLICY, p.policy |= 1 << 21);
	CASE("policy lacks PAGE_SWAP_DISABLE", ATT_ERR_POLICY,
	    p.policy &= ~(1UL << 25));
	CASE("policy reserved bit 17 clear", ATT_ERR_POLICY,
	    p.policy &= ~(1UL << 17));
	CASE("policy MBZ bit 26", ATT_ERR_POLICY, p.policy |= 1UL << 26);
	CASE("policy ABI below required", ATT_ERR_POLICY,
	    MANIFEST(p, m.guest_policy = "{\"ABIMinor\":31,\"SMT\":true,"
	    "\"PageSwapDisable\":true}"); p.idkey_policy = 0x203001f);

	/* Platform info. */
	CASE("platform SMT_EN", ATT_ERR_PLATFORM_INFO,
	    p.platform_info |= 0x01);
	CASE("platform TSME_EN", ATT_ERR_PLATFORM_INFO,
	    p.platform_info |= 0x02);
	CASE("platform lacks ECC_EN", ATT_ERR_PLATFORM_INFO,
	    p.platform_info &= ~0x04UL);
	CASE("platform lacks ALIAS_CHECK_COMPLETE", ATT_ERR_PLATFORM_INFO,
	    p.platform_info &= ~0x20UL);
	CASE("platform TIO_EN", ATT_ERR_PLATFORM_INFO,
	    p.platform_info |= 0x80);
	CASE("platform reserved bit 6", ATT_ERR_PLATFORM_INFO,
	    p.platform_info |= 0x40);
	CASE("platform bit 8", ATT_ERR_PLATFORM_INFO,
	    p.platform_info |= 0x100);
	CASE("platform lacks required RAPL_DIS", ATT_ERR_PLATFORM_INFO,
	    MANIFEST(p, m.platform_info = "{\"ECCEnabled\":true,"
	    "\"AliasCheckComplete\":true,\"RAPLDisabled\":true}"));
	CASE("platform lacks required ciphertext hiding",
	    ATT_ERR_PLATFORM_INFO,
	    MANIFEST(p, m.platform_info = "{\"ECCEnabled\":true,"
	    "\"CiphertextHidingDRAMEnabled\":true}"));

	/* TCB rules. */
	CASE("REPORTED_TCB is not the VCEK TCB", ATT_ERR_TCB,
	    set_tcb(&p.reported_tcb, 6, 29));
	CASE("REPORTED_TCB below the minimum", ATT_ERR_TCB,
	    p.vcek_tcb.snp = 27; set_tcb(&p.reported_tcb, 6, 27));
	CASE("microcode SPL below the minimum", ATT_ERR_TCB,
	    p.vcek_tcb.ucode = 87; set_tcb(&p.reported_tcb, 7, 87);
	    set_tcb(&p.launch_tcb, 7, 90));
	CASE("LAUNCH_TCB below the minimum", ATT_ERR_TCB,
	    set_tcb(&p.launch_tcb, 0, 9));
	CASE("COMMITTED_TCB above CURRENT_TCB", ATT_ERR_TCB,
	    set_tcb(&p.committed_tcb, 1, 1));
	CASE("VCEK TCB above CURRENT_TCB", ATT_ERR_TCB,
	    set_tcb(&p.current_tcb, 6, 27); p.committed_tcb = p.current_tcb);

	/* Firmware version. */
	CASE("committed build above current", ATT_ERR_FIRMWARE,
	    p.com_build = 22);
	CASE("committed API above current", ATT_ERR_FIRMWARE,
	    p.com_minor = 56);

	CASE("launch mitigation vector lacks bits", ATT_ERR_MITIGATION,
	    p.launch_mit = 0x7);
	CASE("current mitigation vector lacks bits", ATT_ERR_MITIGATION,
	    p.current_mit = 0x1b);
	CASE("VMPL 1", ATT_ERR_VMPL, p.vmpl = 1);

	/* Chip ID. */
	CASE("CHIP_ID is not the VCEK hwID", ATT_ERR_CHIP_ID,
	    p.chip_id[5] ^= 0x10);
	CASE("CHIP_ID not in AllowedChipIDs", ATT_ERR_CHIP_ID_NOT_ALLOWED,
	    MANIFEST(p, m.chip[0] ^= 1));
	CASE("masked CHIP_ID with AllowedChipIDs",
	    ATT_ERR_CHIP_ID_NOT_ALLOWED,
	    memset(p.chip_id, 0, 64); p.signer_info = 2);

	/* Signer info. */
	CASE("signer VLEK", ATT_ERR_SIGNER, p.signer_info = 1 << 2);
	CASE("signer reserved key 3", ATT_ERR_SIGNER, p.signer_info = 3 << 2);
	CASE("signer none", ATT_ERR_SIGNER, p.signer_info = 7 << 2);
	CASE("signer MBZ bit 5", ATT_ERR_SIGNER, p.signer_info = 1 << 5);

	/* Versions and product. */
	CASE("report version 1", ATT_ERR_VERSION, p.version = 1);
	CASE("report version 2", ATT_ERR_VERSION, p.version = 2);
	CASE("report version 6", ATT_ERR_VERSION, p.version = 6);
	CASE("Milan report, Genoa manifest", ATT_ERR_PRODUCT,
	    p.fms = 0x00a00f11);
	CASE("Turin report", ATT_ERR_PRODUCT, p.fms = 0x00b00f21);
	CASE("unknown CPU", ATT_ERR_PRODUCT, p.fms = 0x00800f12);
}

static void
test_chain_matrix(void)
{
	struct fx_params	fp;
	struct call		c;
	struct attest_result	res;
	struct attest_trust	milan_only;
	char			err[256];

	CASE("VCEK from a foreign ASK", ATT_ERR_CERT_CHAIN,
	    p.vcek_issuer = FX_FOREIGN);
	CASE("VCEK issuer CN SEV-Milan", ATT_ERR_CERT_CHAIN,
	    p.vcek_issuer_cn = "SEV-Milan");
	CASE("VCEK subject CN wrong", ATT_ERR_VCEK, p.vcek_cn = "SEV-VLEK");
	CASE("VCEK signed PKCS#1 v1.5", ATT_ERR_VCEK, p.vcek_sig = FX_PKCS1);
	CASE("VCEK P-256 key", ATT_ERR_VCEK, p.vcek_p256 = 1);
	CASE("VCEK expired at the injected time", ATT_ERR_CERT_EXPIRED,
	    p.vcek_not_before = p.now - 400 * DAY;
	    p.vcek_not_after = p.now - DAY);
	CASE("VCEK not yet valid", ATT_ERR_CERT_EXPIRED,
	    p.vcek_not_before = p.now + DAY);
	CASE("VCEK duplicate AMD extension", ATT_ERR_VCEK, p.dup_ext = 1);
	CASE("VCEK non-AMD extension", ATT_ERR_VCEK, p.extra_ext = 1);
	CASE("VCEK TEE SPL above 127", ATT_ERR_VCEK,
	    p.vcek_tcb.tee = 200; set_tcb(&p.reported_tcb, 1, 200));
	CASE("VCEK hwID 63 bytes", ATT_ERR_VCEK, p.hwid_len = 63);
	CASE("VCEK without hwID", ATT_ERR_VCEK, p.no_hwid = 1);

	CASE("ASK revoked", ATT_ERR_REVOKED, p.crl_revoke_ask = 1);
	CASE("CRL signed by a foreign key", ATT_ERR_CRL, p.crl_foreign = 1);

	/* Anchors only for Milan: nothing to verify a Genoa report with. */
	attest_trust_init(&milan_only);
	T_BEGIN("load test anchors as Milan");
	T_EQ_INT(attest_trust_load_pem(&milan_only, ATT_PRODUCT_MILAN,
	    pki.trust_pem, pki.trust_pem_len, 1, err, sizeof(err)),
	    ATT_ERR_ANCHOR);
	fx_params_default(&fp, &pki);
	memset(&c, 0, sizeof(c));
	c.trust = &milan_only;
	run("no trust anchors for Genoa", &fp, &c, ATT_ERR_TRUST, &res);
	attest_result_free(&res);
	fx_params_free(&fp);
	attest_trust_free(&milan_only);
}

/* Coordinator JSON with a replaced raw_attestation_doc. */
static void
expect_raw(const char *name, const struct fx_params *p, const uint8_t *raw,
    size_t rawlen, enum attest_reason want)
{
	struct fx_doc		d;
	struct call		c;
	struct attest_result	res;
	char			*b64, *json;
	size_t			 n;

	if (fx_build(&pki, p, &d) == -1)
		abort();
	b64 = fx_b64(raw, rawlen);
	n = strlen(d.coord) + strlen(b64) + 64;
	if ((json = malloc(n)) == NULL)
		abort();
	/* Last member wins, as in Go. */
	snprintf(json, n, "%.*s,\"raw_attestation_doc\":\"%s\"}",
	    (int)d.coord_len - 1, d.coord, b64);
	free(d.coord);
	d.coord = json;
	d.coord_len = strlen(json);
	memset(&c, 0, sizeof(c));
	c.coordinator = 1;
	run_doc(name, p, &d, &c, want, &res);
	attest_result_free(&res);
	free(b64);
	fx_doc_free(&d);
}

static void
test_doc_matrix(void)
{
	/* TDX QuoteV4: header {version 4, key type 2, TEE 0x81}, body. */
	static const uint8_t tdx[] = {
		0x0a, 0x07, 0x08, 0x04, 0x10, 0x02, 0x18, 0x81, 0x01,
		0x12, 0x04, 0x0a, 0x02, 0x00, 0x00,
		0x18, 0x80, 0x04,
	};
	static const uint8_t no_report[] = { 0x12, 0x02, 0x0a, 0x00 };
	static const uint8_t wiretype[] = { 0x08, 0x01 };
	static const uint8_t garbage[] = { 0xff, 0xff, 0xff };
	struct fx_params	fp;
	struct fx_doc		d;
	struct call		c;
	struct attest_result	res;
	char			*exp;
	size_t			 n;
	uint8_t			 short_meas[4 + 2 + 47] = {
		0x0a, 0x33, 0x08, 0x03, 0x62, 0x2f	/* Report{1: 3, 12: 47B} */
	};

	CASE("attestation_type TDX on SNP evidence", ATT_ERR_EVIDENCE_TYPE,
	    p.extra_json = "\"attestation_type\":[1,3,9901,2,2]");
	CASE("attestation_type insecure", ATT_ERR_EVIDENCE_TYPE,
	    p.extra_json = "\"attestation_type\":[1,3,9901,2,3]");
	CASE("attestation_type unknown", ATT_ERR_EVIDENCE_TYPE,
	    p.extra_json = "\"attestation_type\":[1,2,3]");
	CASE("attestation_type not an OID", ATT_ERR_MALFORMED,
	    p.extra_json = "\"attestation_type\":\"snp\"");

	fx_params_default(&fp, &pki);
	/* TDX-shaped, but no more than a header: a TDX structure error. */
	expect_raw("TDX quote header alone", &fp, tdx, sizeof(tdx),
	    ATT_ERR_MALFORMED);
	expect_raw("malformed protobuf", &fp, garbage, sizeof(garbage),
	    ATT_ERR_MALFORMED);
	expect_raw("protobuf wire type mismatch", &fp, wiretype,
	    sizeof(wiretype), ATT_ERR_MALFORMED);
	expect_raw("protobuf without report", &fp, no_report,
	    sizeof(no_report), ATT_ERR_MALFORMED);
	expect_raw("report field of wrong size", &fp, short_meas,
	    sizeof(short_meas), ATT_ERR_MALFORMED);
	expect_raw("empty raw document", &fp, garbage, 0, ATT_ERR_MALFORMED);
	if (fx_build(&pki, &fp, &d) == -1)
		abort();
	expect_raw("truncated protobuf", &fp, d.proto, d.proto_len - 7,
	    ATT_ERR_MALFORMED);

	/* Malformed envelopes. */
	memset(&c, 0, sizeof(c));
	free(d.body);
	d.body = strdup("{\"AttestationDoc\":\"@@@@\"}");
	d.body_len = strlen(d.body);
	run_doc("AttestationDoc not base64", &fp, &d, &c, ATT_ERR_MALFORMED,
	    &res);
	attest_result_free(&res);
	free(d.body);
	d.body = strdup("{\"AttestationDoc\":");
	d.body_len = strlen(d.body);
	run_doc("truncated JSON", &fp, &d, &c, ATT_ERR_MALFORMED, &res);
	attest_result_free(&res);
	free(d.body);
	d.body = strdup("{\"AttestationDoc\":\"e30=\"} x");
	d.body_len = strlen(d.body);
	run_doc("trailing garbage after JSON", &fp, &d, &c, ATT_ERR_MALFORMED,
	    &res);
	attest_result_free(&res);
	free(d.body);
	d.body = strdup("{\"AttestationDoc\":\"W10=\"}");	/* "[]" */
	d.body_len = strlen(d.body);
	run_doc("Coordinator JSON not an object", &fp, &d, &c,
	    ATT_ERR_MALFORMED, &res);
	attest_result_free(&res);
	free(d.body);
	d.body = strdup("{\"attestationdoc\":\"e30=\"}");	/* "{}" */
	d.body_len = strlen(d.body);
	run_doc("empty Coordinator state", &fp, &d, &c, ATT_ERR_MANIFEST_COUNT,
	    &res);
	attest_result_free(&res);
	c.coordinator = 1;
	free(d.coord);
	d.coord = strdup("{\"manifests\":[\"!!\"]}");
	d.coord_len = strlen(d.coord);
	run_doc("manifest not base64", &fp, &d, &c, ATT_ERR_MALFORMED, &res);
	attest_result_free(&res);
	free(d.coord);
	d.coord = strdup("{\"root_ca\":42}");
	d.coord_len = strlen(d.coord);
	run_doc("root_ca not a string", &fp, &d, &c, ATT_ERR_MALFORMED, &res);
	attest_result_free(&res);
	fx_doc_free(&d);

	/* Manifest-level checks after a verified report. */
	memset(&c, 0, sizeof(c));
	n = strlen(fp.manifest) + 2;
	if ((exp = malloc(n)) == NULL)
		abort();
	snprintf(exp, n, "%s ", fp.manifest);
	c.expected = exp;
	run("manifest differs by one byte (length)", &fp, &c,
	    ATT_ERR_MANIFEST_MISMATCH, &res);
	attest_result_free(&res);
	snprintf(exp, n, "%s", fp.manifest);
	exp[10] ^= 0x20;
	run("manifest differs by one byte (case)", &fp, &c,
	    ATT_ERR_MANIFEST_MISMATCH, &res);
	attest_result_free(&res);
	free(exp);
	fx_params_free(&fp);

	CASE("two manifests in the history", ATT_ERR_MANIFEST_COUNT,
	    p.prev_manifest = strdup(p.manifest);
	    p.prev_manifest[1] = ' ');
	CASE("manifest without coordinator policy", ATT_ERR_MANIFEST_INVALID,
	    char *q = strstr(p.manifest, "\"coordinator\"}");
	    memcpy(q, "\"\"}           ", 14));
	CASE("mesh CA not PEM", ATT_ERR_MESH_CA,
	    p.mesh_pem = "not a certificate\n");
	CASE("mesh CA PEM of garbage", ATT_ERR_MESH_CA,
	    p.mesh_pem = "-----BEGIN CERTIFICATE-----\nAAAA\n"
	    "-----END CERTIFICATE-----\n");
}


static char *
concat_pem(X509 *a, X509 *b, const char *tail, size_t *len)
{
	BIO	*bio = BIO_new(BIO_s_mem());
	char	*p, *out;
	long	 n;

	if (a != NULL)
		PEM_write_bio_X509(bio, a);
	if (b != NULL)
		PEM_write_bio_X509(bio, b);
	BIO_puts(bio, tail);
	n = BIO_get_mem_data(bio, &p);
	if ((out = malloc((size_t)n + 1)) == NULL)
		abort();
	if (n > 0)
		memcpy(out, p, (size_t)n);
	out[n] = '\0';
	*len = (size_t)n;
	BIO_free(bio);
	return out;
}

static void
anchor_case(const char *name, X509 *a, X509 *b, const char *tail,
    enum attest_product line, int test_only, enum attest_reason want)
{
	struct attest_trust	t;
	char			*pem, err[256];
	size_t			 len;

	T_BEGIN(name);
	ncases++;
	attest_trust_init(&t);
	pem = concat_pem(a, b, tail, &len);
	T_EQ_INT(attest_trust_load_pem(&t, line, pem, len, test_only, err,
	    sizeof(err)), want);
	if (want == ATT_OK) {
		T_CHECK(t.anchor[line].ask != NULL);
		T_EQ_INT(attest_trust_is_test_only(&t), test_only != 0);
	} else {
		T_CHECK(t.anchor[line].ask == NULL);
		T_CHECK(err[0] != '\0');
	}
	if (getenv("PM_ATTEST_VERBOSE") != NULL)
		printf("ok %-45s %s\n", name, want == ATT_OK ? "ok" : err);
	free(pem);
	attest_trust_free(&t);
}

static void
test_anchors(void)
{
	struct attest_trust	t;
	char			long_url[300];

	anchor_case("test anchors accepted as test-only", pki.ask, pki.ark,
	    "", ATT_PRODUCT_GENOA, 1, ATT_OK);
	anchor_case("trailing whitespace after the chain", pki.ask, pki.ark,
	    "\n\n", ATT_PRODUCT_GENOA, 1, ATT_OK);
	anchor_case("test anchors refused as production", pki.ask, pki.ark,
	    "", ATT_PRODUCT_GENOA, 0, ATT_ERR_ANCHOR);
	anchor_case("only one certificate", pki.ask, NULL, "",
	    ATT_PRODUCT_GENOA, 1, ATT_ERR_ANCHOR);
	anchor_case("ARK before ASK", pki.ark, pki.ask, "",
	    ATT_PRODUCT_GENOA, 1, ATT_ERR_ANCHOR);
	anchor_case("ASK not signed by the ARK", pki.foreign_ask, pki.ark, "",
	    ATT_PRODUCT_GENOA, 1, ATT_ERR_ANCHOR);
	anchor_case("trailing garbage after the chain", pki.ask, pki.ark,
	    "junk", ATT_PRODUCT_GENOA, 1, ATT_ERR_ANCHOR);
	anchor_case("Turin anchors", pki.ask, pki.ark, "", ATT_PRODUCT_TURIN,
	    1, ATT_ERR_ANCHOR);
	anchor_case("empty PEM", NULL, NULL, "", ATT_PRODUCT_GENOA, 1,
	    ATT_ERR_ANCHOR);

	T_BEGIN("KDS base URL");
	attest_trust_init(&t);
	T_EQ_STR(t.kds_base, "https://kdsintf.amd.com");
	T_EQ_INT(attest_trust_set_kds_base(&t, ""), -1);
	T_EQ_INT(attest_trust_set_kds_base(&t, "///"), -1);
	memset(long_url, 'a', sizeof(long_url) - 1);
	long_url[sizeof(long_url) - 1] = '\0';
	T_EQ_INT(attest_trust_set_kds_base(&t, long_url), -1);
	T_EQ_INT(attest_trust_set_kds_base(&t, "http://kds.test//"), 0);
	T_EQ_STR(t.kds_base, "http://kds.test");
	T_EQ_INT(attest_trust_is_test_only(&t), 0);
	attest_trust_free(&t);
}

static void
test_inputs(void)
{
	struct attest_input	in;
	struct attest_result	res;
	static const uint8_t	nonce[32];

	T_BEGIN("nonce of 31 bytes");
	ncases++;
	memset(&in, 0, sizeof(in));
	in.nonce = nonce;
	in.nonce_len = 31;
	T_EQ_INT(attest_verify_response(&trust, &in, &res), ATT_ERR_INPUT);
	attest_result_free(&res);
	T_BEGIN("verification time not set");
	{
		struct attest_trust t0 = trust;

		t0.now = 0;
		in.nonce_len = 32;
		T_EQ_INT(attest_verify_response(&t0, &in, &res), ATT_ERR_INPUT);
		in.nonce_len = 31;
	}
	T_BEGIN("NULL arguments");
	T_EQ_INT(attest_verify_response(NULL, &in, &res), ATT_ERR_INPUT);
	T_EQ_INT(attest_verify_coordinator(&trust, NULL, &res), ATT_ERR_INPUT);
	T_EQ_INT(attest_verify_coordinator(&trust, &in, NULL), ATT_ERR_INPUT);
}

int
main(void)
{
	char	err[256];

	if (fx_pki_init(&pki, NULL) == -1) {
		fprintf(stderr, "fixture PKI failed\n");
		return 1;
	}
	attest_trust_init(&trust);
	T_BEGIN("load fixture anchors");
	T_EQ_INT(attest_trust_load_pem(&trust, ATT_PRODUCT_GENOA,
	    pki.trust_pem, pki.trust_pem_len, 1, err, sizeof(err)), ATT_OK);
	T_EQ_INT(attest_trust_is_test_only(&trust), 1);

	test_happy();
	test_entries();
	test_fetch();
	test_report_matrix();
	test_chain_matrix();
	test_doc_matrix();
	test_inputs();
	test_anchors();

	printf("%d verification cases\n", ncases);
	attest_trust_free(&trust);
	fx_pki_free(&pki);
	T_DONE();
}
