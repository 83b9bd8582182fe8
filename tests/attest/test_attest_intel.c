/*
 * TDX verification against Intel's own material: the production quote
 * from a Sapphire Rapids machine and the PCS answers (TCB info, QE
 * identity, PCK and root CA CRLs, their issuer chain headers) that
 * go-tdx-guest publishes as test data (tests/attest/intel/, provenance
 * in the README there), Intel's SGX root as shipped (data/intel/), at
 * 2023-07-01T01:00:00Z, inside every validity window (go-tdx-guest's
 * own tests pin the same instant).
 *
 * The sample verifies up to the TCB level, and there it fails as Go's
 * tests say it does: Intel's sample TCB info has no level the sample
 * platform reaches ("no matching TCB level found").  Every byte of the
 * quote (header to the end of the signed data), of both JSON answers,
 * of every issuer chain and of both CRLs is then changed in turn, and
 * each change must be refused.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "attest_int.h"
#include "t.h"
#include "tdx_fixture.h"

T_GLOBALS;

#ifndef PM_INTEL_SAMPLE_DIR
#define PM_INTEL_SAMPLE_DIR	"tests/attest/intel"
#endif
#ifndef PM_INTEL_ROOT_DIR
#define PM_INTEL_ROOT_DIR	"data/intel"
#endif

/* 2023-07-01T01:00:00Z */
#define SAMPLE_NOW	((time_t)1688173200)

struct sample {
	uint8_t	*quote, *v5, *tcb, *qe, *pckcrl, *rootcrl;
	uint8_t	*tcb_chain, *qe_chain, *pckcrl_chain, *root_pem;
	size_t	 quote_len, v5_len, tcb_len, qe_len, pckcrl_len, rootcrl_len;
	size_t	 tcb_chain_len, qe_chain_len, pckcrl_chain_len, root_pem_len;
};

static uint8_t *
slurp(const char *dir, const char *name, size_t *len)
{
	char	 path[1024];
	uint8_t	*buf;
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "%s: cannot open\n", path);
		exit(1);
	}
	if ((buf = malloc(1 << 20)) == NULL)
		abort();
	*len = fread(buf, 1, 1 << 20, f);
	fclose(f);
	return buf;
}

static void
load(struct sample *s)
{
	const char	*d = PM_INTEL_SAMPLE_DIR;

	s->quote = slurp(d, "tdx_prod_quote_SPR_E4.dat", &s->quote_len);
	s->v5 = slurp(d, "quote_v5_sample.dat", &s->v5_len);
	s->tcb = slurp(d, "sample_tcbInfo_response", &s->tcb_len);
	s->qe = slurp(d, "sample_qeIdentity_response", &s->qe_len);
	s->pckcrl = slurp(d, "pckcrl", &s->pckcrl_len);
	s->rootcrl = slurp(d, "rootcrl.der", &s->rootcrl_len);
	s->tcb_chain = slurp(d, "tcbinfo-issuer-chain", &s->tcb_chain_len);
	s->qe_chain = slurp(d, "qeidentity-issuer-chain", &s->qe_chain_len);
	s->pckcrl_chain = slurp(d, "pckcrl-issuer-chain",
	    &s->pckcrl_chain_len);
	s->root_pem = slurp(PM_INTEL_ROOT_DIR, "sgx-root-ca.pem",
	    &s->root_pem_len);
}

static void
unload(struct sample *s)
{
	free(s->quote);
	free(s->v5);
	free(s->tcb);
	free(s->qe);
	free(s->pckcrl);
	free(s->rootcrl);
	free(s->tcb_chain);
	free(s->qe_chain);
	free(s->pckcrl_chain);
	free(s->root_pem);
}

/* The four answers as keyd would hold them. */
static void
docs_of(const struct sample *s, struct attest_pcs_doc d[4],
    struct att_tdx_docs *docs)
{
	memset(d, 0, 4 * sizeof(*d));
	d[0].body = s->tcb;
	d[0].body_len = s->tcb_len;
	d[0].issuer_chain = (const char *)s->tcb_chain;
	d[0].issuer_chain_len = s->tcb_chain_len;
	d[1].body = s->qe;
	d[1].body_len = s->qe_len;
	d[1].issuer_chain = (const char *)s->qe_chain;
	d[1].issuer_chain_len = s->qe_chain_len;
	d[2].body = s->pckcrl;
	d[2].body_len = s->pckcrl_len;
	d[2].issuer_chain = (const char *)s->pckcrl_chain;
	d[2].issuer_chain_len = s->pckcrl_chain_len;
	d[3].body = s->rootcrl;
	d[3].body_len = s->rootcrl_len;
	docs->tcb_info = &d[0];
	docs->qe_identity = &d[1];
	docs->pck_crl = &d[2];
	docs->root_crl = &d[3];
}

/* Everything up to, not including, the judgement of the TCB status. */
static enum attest_reason
verify_sample(const struct sample *s, const uint8_t *quote, size_t qlen,
    X509 *root, time_t now, struct att_tdx_verified *v, char *err,
    size_t errlen)
{
	struct attest_pcs_doc	d[4];
	struct att_tdx_docs	docs;
	struct att_tdx_quote	q;
	enum attest_reason	rv;

	docs_of(s, d, &docs);
	if ((rv = att_tdx_from_abi(quote, qlen, &q, err, errlen)) != ATT_OK)
		return rv;
	return att_tdx_verify(&q, root, &docs, now, 0, v, err, errlen);
}

static void
test_root(const struct sample *s, struct attest_trust *t)
{
	T_BEGIN("Intel SGX root: compiled-in copy is data/intel/sgx-root-ca.pem");
	T_EQ_INT(strlen(attest_intel_root_pem), s->root_pem_len);
	T_EQ_MEM(attest_intel_root_pem, s->root_pem, s->root_pem_len);
	T_BEGIN("Intel SGX root: loaded by attest_trust_init, pinned");
	T_CHECK(t->intel_root != NULL);
	T_EQ_INT(t->intel_test_only, 0);
	T_EQ_INT(attest_trust_load_intel_root(t, (const char *)s->root_pem,
	    s->root_pem_len, 0, NULL, 0), ATT_OK);
	T_EQ_STR(t->pcs_base, "https://api.trustedservices.intel.com");
	T_EQ_STR(t->pcs_root_crl, "https://certificates.trustedservices.intel"
	    ".com/IntelSGXRootCA.der");
}

static void
test_parse(const struct sample *s)
{
	struct att_tdx_quote	 q, p;
	uint8_t			*proto, *abi;
	size_t			 plen, alen;
	char			 hex[129];

	T_BEGIN("Intel sample quote: ABI parse");
	T_EQ_INT(att_tdx_from_abi(s->quote, s->quote_len, &q, NULL, 0), ATT_OK);
	T_EQ_INT(att_tdx_check(&q, NULL, 0), ATT_OK);
	T_EQ_INT(q.version, 4);
	T_EQ_INT(q.tee_type, 0x81);
	att_hex_lower(q.mr_seam.p, 48, hex);
	T_EQ_STR(hex, "2fd279c16164a93dd5bf373d834328d46008c2b693af9ebb865b"
	    "08b2ced320c9a89b4869a9fab60fbe9d0c5a5363c656");
	att_hex_lower(q.tee_tcb_svn.p, 16, hex);
	T_EQ_STR(hex, "03000400000000000000000000000000");
	att_hex_lower(q.td_attributes.p, 8, hex);
	T_EQ_STR(hex, "0000004000000000");
	att_hex_lower(q.xfam.p, 8, hex);
	T_EQ_STR(hex, "e71a060000000000");
	T_EQ_INT(q.isv_prod_id, 2);
	T_EQ_INT(q.isv_svn, 4);
	T_EQ_INT(q.pck_chain.len, 3677);
	T_EQ_INT(q.extra_bytes.len, 39);

	T_BEGIN("Intel sample quote: ABI rebuilt byte for byte");
	T_EQ_INT(fxt_quote_abi(&q, &abi, &alen), 0);
	T_EQ_INT(alen, s->quote_len);
	T_EQ_MEM(abi, s->quote, s->quote_len);
	free(abi);

	T_BEGIN("Intel sample quote: through tdx.QuoteV4 protobuf and back");
	fxt_quote_proto(&q, &proto, &plen);
	T_EQ_INT(att_tdx_from_proto(proto, plen, &p, NULL, 0), 0);
	T_EQ_INT(att_tdx_check(&p, NULL, 0), ATT_OK);
	T_EQ_INT(fxt_quote_abi(&p, &abi, &alen), 0);
	T_EQ_INT(alen, s->quote_len);
	T_EQ_MEM(abi, s->quote, s->quote_len);
	free(abi);
	free(proto);

	T_BEGIN("Intel quote v5 sample: refused, as the SDK does");
	T_EQ_INT(att_tdx_from_abi(s->v5, s->v5_len, &q, NULL, 0),
	    ATT_ERR_VERSION);
}

static void
test_verify(const struct sample *s, struct attest_trust *t)
{
	struct att_tdx_verified	 v;
	struct att_tdx_quote	 q;
	struct att_pcs_json	 c;
	char			 err[512], hex[40];
	static const uint8_t	 comp[16] = { 3, 3, 2, 2, 2, 1, 0, 2 };

	T_BEGIN("Intel sample: quote, PCK chain, signatures, collateral");
	T_EQ_INT(verify_sample(s, s->quote, s->quote_len, t->intel_root,
	    SAMPLE_NOW, &v, err, sizeof(err)), ATT_OK);
	if (t_failures)
		fprintf(stderr, "  %s\n", err);
	att_hex_lower(v.ext.fmspc, 6, hex);
	T_EQ_STR(hex, "50806f000000");
	att_hex_lower(v.ext.pceid, 2, hex);
	T_EQ_STR(hex, "0000");
	T_EQ_MEM(v.ext.comp, comp, 16);
	T_EQ_INT(v.ext.pcesvn, 11);
	T_EQ_INT(v.ext.sgx_type, 1);
	att_hex_lower(v.ext.piid, 16, hex);
	T_EQ_STR(hex, "8c314d17d205dfafcbecbb00fc87eff7");
	T_EQ_INT(v.ext.dynamic_platform, 1);
	T_EQ_INT(v.ext.cached_keys, 0);
	T_EQ_INT(v.ext.smt_enabled, 1);
	T_EQ_INT(v.eval_num, 15);
	T_EQ_INT(v.qe_status, ATT_TCB_UP_TO_DATE);

	T_BEGIN("Intel sample: no TCB level matches (as go-tdx-guest's tests)");
	T_EQ_INT(v.tdx_status, ATT_TCB_NONE);
	T_EQ_INT(v.tcb_no_match, 1);
	T_EQ_INT(att_tdx_tcb_ok(&v, err, sizeof(err)), ATT_ERR_TDX_TCB);
	T_CHECK(strstr(err, "no matching TCB level found") != NULL);
	att_tdx_verified_free(&v);

	/*
	 * TestVerifyUsingTcbInfoV4: with every SVN of the first level set
	 * to 0 the sample matches it, and its status is UpToDate; with the
	 * SGX ones at 10, or the TDX ones at 10, or PCESVN 20, nothing.
	 */
	T_BEGIN("Intel sample: TCB level algorithm on the real TCB info");
	T_EQ_INT(att_tdx_from_abi(s->quote, s->quote_len, &q, NULL, 0), ATT_OK);
	T_EQ_INT(att_pcs_json_parse(s->tcb, s->tcb_len, 1, &c, err,
	    sizeof(err)), ATT_OK);
	T_EQ_INT(c.nlevels, 2);
	T_EQ_INT(c.levels[0].status, ATT_TCB_UP_TO_DATE);
	T_EQ_INT(c.levels[1].status, ATT_TCB_OUT_OF_DATE);
	memset(&v, 0, sizeof(v));
	memcpy(v.ext.comp, comp, 16);
	v.ext.pcesvn = 11;
	att_tdx_tcb_status(&c, &q, &v);
	T_EQ_INT(v.tdx_status, ATT_TCB_NONE);
	memset(c.levels[0].sgx, 0, 16);
	memset(c.levels[0].tdx, 0, 16);
	att_tdx_tcb_status(&c, &q, &v);
	T_EQ_INT(v.tdx_status, ATT_TCB_UP_TO_DATE);
	memset(c.levels[0].sgx, 10, 16);
	att_tdx_tcb_status(&c, &q, &v);
	T_EQ_INT(v.tdx_status, ATT_TCB_NONE);
	memset(c.levels[0].sgx, 0, 16);
	memset(c.levels[0].tdx, 10, 16);
	att_tdx_tcb_status(&c, &q, &v);
	T_EQ_INT(v.tdx_status, ATT_TCB_NONE);
	memset(c.levels[0].tdx, 0, 16);
	c.levels[0].pcesvn = 20;
	att_tdx_tcb_status(&c, &q, &v);
	T_EQ_INT(v.tdx_status, ATT_TCB_NONE);
	c.levels[0].pcesvn = 0;
	c.levels[0].status = ATT_TCB_OUT_OF_DATE;
	att_tdx_tcb_status(&c, &q, &v);
	T_EQ_INT(v.tdx_status, ATT_TCB_OUT_OF_DATE);
	T_EQ_INT(att_tdx_tcb_ok(&v, err, sizeof(err)), ATT_ERR_TDX_TCB);
	att_pcs_json_free(&c);
}

static void
test_time(const struct sample *s, struct attest_trust *t)
{
	struct att_tdx_verified	v;
	char			err[512];

	T_BEGIN("Intel sample: QE identity and PCK CRL stale after 2023-07-08");
	T_EQ_INT(verify_sample(s, s->quote, s->quote_len, t->intel_root,
	    SAMPLE_NOW + 8 * 86400, &v, err, sizeof(err)),
	    ATT_ERR_COLLATERAL_STALE);
	att_tdx_verified_free(&v);
	/* 2023-07-08T07:24:59Z, the QE identity's nextUpdate: still good. */
	T_EQ_INT(verify_sample(s, s->quote, s->quote_len, t->intel_root,
	    (time_t)1688801099, &v, err, sizeof(err)), ATT_OK);
	att_tdx_verified_free(&v);
	T_EQ_INT(verify_sample(s, s->quote, s->quote_len, t->intel_root,
	    (time_t)1688801100, &v, err, sizeof(err)),
	    ATT_ERR_COLLATERAL_STALE);
	att_tdx_verified_free(&v);
	T_BEGIN("Intel sample: PCK certificate expired in 2053");
	T_EQ_INT(verify_sample(s, s->quote, s->quote_len, t->intel_root,
	    (time_t)2634944400, &v, err, sizeof(err)), ATT_ERR_CERT_EXPIRED);
	att_tdx_verified_free(&v);
	T_BEGIN("Intel sample: not before the PCK certificate (2022-09-20)");
	T_EQ_INT(verify_sample(s, s->quote, s->quote_len, t->intel_root,
	    (time_t)1663680030, &v, err, sizeof(err)), ATT_ERR_CERT_EXPIRED);
	att_tdx_verified_free(&v);
}

/*
 * Change each byte of buf in turn (byte i XOR 1 << (i % 8), so that every
 * bit position is exercised over the buffer), run the verification, and
 * count the changes that were not refused.  The body must pass unchanged.
 * A change to collateral reruns only the collateral part (the quote's
 * part depends on the quote alone).
 */
static void
flip_all(const char *what, uint8_t *buf, size_t from, size_t to,
    const struct sample *s, X509 *root, int collateral)
{
	struct attest_pcs_doc	 d[4];
	struct att_tdx_docs	 docs;
	struct att_tdx_quote	 q;
	struct att_tdx_verified	 v, base;
	size_t			 i, accepted = 0, tried = 0;
	enum attest_reason	 rv;
	uint8_t			 pat;
	char			 name[160];

	snprintf(name, sizeof(name), "Intel sample: each changed byte of %s "
	    "is refused", what);
	T_BEGIN(name);
	docs_of(s, d, &docs);
	T_EQ_INT(verify_sample(s, s->quote, s->quote_len, root, SAMPLE_NOW,
	    &base, NULL, 0), ATT_OK);
	T_EQ_INT(att_tdx_from_abi(s->quote, s->quote_len, &q, NULL, 0),
	    ATT_OK);
	for (i = from; i < to; i++) {
		pat = (uint8_t)(1U << (i % 8));
		buf[i] ^= pat;
		if (collateral)
			rv = att_tdx_verify_collateral(&q, root, &docs,
			    SAMPLE_NOW, 0, &base, NULL, 0);
		else {
			rv = verify_sample(s, s->quote, s->quote_len, root,
			    SAMPLE_NOW, &v, NULL, 0);
			att_tdx_verified_free(&v);
		}
		if (rv == ATT_OK && accepted++ < 5)
			fprintf(stderr, "  %s: byte %zu ^ 0x%02x accepted\n",
			    what, i, pat);
		buf[i] ^= pat;
		tried++;
	}
	att_tdx_verified_free(&base);
	T_EQ_INT(accepted, 0);
	T_EQ_INT(tried, to - from);
}

static void
test_flips(struct sample *s, struct attest_trust *t)
{
	struct att_tdx_quote	 q;
	struct att_tdx_verified	 v;
	size_t			 end, i, changed = 0;

	T_EQ_INT(att_tdx_from_abi(s->quote, s->quote_len, &q, NULL, 0), ATT_OK);
	/* Header to the end of the signed data; the trailer is not Intel's. */
	end = ATT_TDX_HEADER_SIZE + ATT_TDX_BODY_SIZE + 4 + q.signed_data_size;
	T_EQ_INT(s->quote_len - end, 39);
	flip_all("the quote (header, body, signature, key, QE report, "
	    "PCK chain)", s->quote, 0, end, s, t->intel_root, 0);
	flip_all("the TCB info", s->tcb, 0, s->tcb_len, s, t->intel_root, 1);
	flip_all("the QE identity", s->qe, 0, s->qe_len, s, t->intel_root, 1);
	flip_all("the TCB info issuer chain", s->tcb_chain, 0,
	    s->tcb_chain_len, s, t->intel_root, 1);
	flip_all("the QE identity issuer chain", s->qe_chain, 0,
	    s->qe_chain_len, s, t->intel_root, 1);
	flip_all("the PCK CRL", s->pckcrl, 0, s->pckcrl_len, s, t->intel_root,
	    1);
	flip_all("the PCK CRL issuer chain", s->pckcrl_chain, 0,
	    s->pckcrl_chain_len, s, t->intel_root, 1);
	flip_all("the root CA CRL", s->rootcrl, 0, s->rootcrl_len, s,
	    t->intel_root, 1);

	/* go-tdx-guest appended 39 bytes to its sample; nobody signs them. */
	T_BEGIN("Intel sample: the unsigned trailer is ignored, as in Go");
	for (i = end; i < s->quote_len; i++) {
		s->quote[i] ^= 0x01;
		if (verify_sample(s, s->quote, s->quote_len, t->intel_root,
		    SAMPLE_NOW, &v, NULL, 0) != ATT_OK)
			changed++;
		att_tdx_verified_free(&v);
		s->quote[i] ^= 0x01;
	}
	T_EQ_INT(changed, 0);
}

int
main(void)
{
	struct sample		s;
	struct attest_trust	t;

	T_BEGIN("attest_init");
	T_EQ_INT(attest_init(), 0);
	load(&s);
	attest_trust_init(&t);
	test_root(&s, &t);
	test_parse(&s);
	test_verify(&s, &t);
	test_time(&s, &t);
	test_flips(&s, &t);
	attest_trust_free(&t);
	unload(&s);
	T_DONE();
}
