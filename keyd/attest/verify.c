/*
 * The whole verification, in the order the Privatemode proxy runs it:
 * the Contrast SDK's ValidateAttestation (decode, bind the nonce, try
 * each reference value of the evidence's platform, SNP or TDX, first
 * success wins), then Privatemode's checks (exactly one manifest,
 * byte-equal to the expected one, mesh CA parses).  Collateral the
 * document lacks (AMD KDS, Intel PCS) is requested from the caller with
 * ATT_NEED_FETCH instead of being fetched here.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "attest_int.h"

struct vctx {
	const struct attest_trust *trust;
	const struct attest_input *in;
	struct attest_result	*res;
	struct att_coord	 coord;
	struct att_manifest	 man;
	struct att_attestation	 att;
	uint8_t			 report_data[64];
	uint8_t			 abi[ATT_REPORT_SIZE];
	/* The SNP signature checks depend on the report only: run once. */
	int			 crypto_done;
	enum attest_reason	 crypto_rv;
	char			 crypto_msg[256];
	X509			*vcek;
	struct att_vcek_ext	 ext;
	/* TDX: the quote, what needs no collateral checked once. */
	struct att_tdx_quote	 q;
	int			 tdx_done;
	enum attest_reason	 tdx_rv;
	char			 tdx_msg[256];
	struct att_tdx_verified	 tv;
	/* collateral verified per tcbEvaluationDataNumber asked for */
	size_t			 ncoll;
	struct {
		long long		 eval;
		enum attest_reason	 rv;
		char			 msg[256];
		enum att_tcb_status	 tdx_status, qe_status;
		int			 no_match;
		char			 detail[128];
		long long		 got_eval;
	}			 coll[ATT_MAX_ENTRIES];
};

static enum attest_reason
fail(struct vctx *v, enum attest_reason r, const char *fmt, ...)
    __attribute__((__format__(printf, 3, 4)));

static enum attest_reason
fail(struct vctx *v, enum attest_reason r, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(v->res->message, sizeof(v->res->message), fmt, ap);
	va_end(ap);
	return r;
}

/*
 * Classify the evidence (attestation_type when the Coordinator sends it,
 * else the shape of the protobuf) and decode it: sevsnp.Attestation or
 * tdx.QuoteV4.
 */
static enum attest_reason
decode_evidence(struct vctx *v)
{
	struct att_blob	*raw = &v->coord.raw_doc;
	char		 msg[128];
	int		 tdx;

	switch (v->coord.evidence) {
	case ATT_EV_INSECURE:
		return fail(v, ATT_ERR_EVIDENCE_TYPE,
		    "refusing insecure (unattested) evidence");
	case ATT_EV_OTHER:
		return fail(v, ATT_ERR_EVIDENCE_TYPE,
		    "unknown attestation_type OID");
	default:
		break;
	}
	if (raw->len == 0)
		return fail(v, ATT_ERR_MALFORMED,
		    "raw_attestation_doc is empty");
	tdx = att_proto_is_tdx(raw->p, raw->len);
	if (v->coord.evidence == ATT_EV_SNP && tdx)
		return fail(v, ATT_ERR_EVIDENCE_TYPE, "attestation_type says "
		    "SEV-SNP, the evidence is a TDX quote");
	if (v->coord.evidence == ATT_EV_TDX && !tdx)
		return fail(v, ATT_ERR_EVIDENCE_TYPE, "attestation_type says "
		    "TDX, the evidence is not a TDX quote");
	if (v->coord.evidence == ATT_EV_TDX || tdx) {
		v->res->platform = ATT_PLATFORM_TDX;
		if (att_tdx_from_proto(raw->p, raw->len, &v->q, msg,
		    sizeof(msg)) == -1)
			return fail(v, ATT_ERR_MALFORMED, "%s", msg);
		return ATT_OK;
	}
	v->res->platform = ATT_PLATFORM_SNP;
	if (att_proto_decode(raw->p, raw->len, &v->att, msg,
	    sizeof(msg)) == -1)
		return fail(v, ATT_ERR_MALFORMED, "%s", msg);
	if (!v->att.has_report)
		return fail(v, ATT_ERR_MALFORMED, "attestation missing report");
	return ATT_OK;
}

static void
note_report(struct vctx *v)
{
	const struct att_report	*r = &v->att.report;
	struct attest_result	*res = v->res;

	res->have_report = 1;
	res->report_version = r->version;
	res->product = att_product_from_fms(r->cpuid1eax_fms);
	res->reported_tcb_raw = r->reported_tcb;
	att_tcb_split(r->reported_tcb, &res->reported_tcb);
	if (r->chip_id.len == sizeof(res->chip_id))
		memcpy(res->chip_id, r->chip_id.p, sizeof(res->chip_id));
}

/*
 * Structural checks that need neither certificates nor reference
 * values.  Version 2 reports are refused: they carry no CPUID product
 * information, and Genoa firmware new enough for the manifests' minimum
 * TCB emits version 3 or later.
 */
static enum attest_reason
check_report(struct vctx *v)
{
	const struct att_report	*r = &v->att.report;
	struct att_signer	 s;
	struct att_policy	 p;
	char			 msg[128];
	enum attest_reason	 rv;

	if (r->version < 3 || r->version > 5)
		return fail(v, ATT_ERR_VERSION, "report version %u is not "
		    "supported (need 3 to 5)", r->version);
	if ((rv = att_report_check_sizes(r, msg, sizeof(msg))) != ATT_OK)
		return fail(v, rv, "%s", msg);
	if (att_signer_parse(r->signer_info, &s) == -1)
		return fail(v, ATT_ERR_SIGNER, "signer info 0x%x has reserved "
		    "bits set", r->signer_info);
	if (s.signing_key == ATT_SIGNER_VLEK)
		return fail(v, ATT_ERR_SIGNER, "VLEK-signed report: no ASVK "
		    "trust anchor");
	if (s.signing_key != ATT_SIGNER_VCEK)
		return fail(v, ATT_ERR_SIGNER, "report is not signed");
	if (att_policy_parse(r->policy, &p) == -1)
		return fail(v, ATT_ERR_POLICY, "guest policy 0x%llx is "
		    "malformed", (unsigned long long)r->policy);
	if (r->signature_algo != 1)
		return fail(v, ATT_ERR_REPORT_SIGNATURE, "signature algorithm "
		    "%u is not ECDSA P-384 with SHA-384", r->signature_algo);
	if (v->res->product == ATT_PRODUCT_UNKNOWN)
		return fail(v, ATT_ERR_PRODUCT, "CPUID 0x%08x is not a known "
		    "SEV-SNP product", r->cpuid1eax_fms);
	if ((rv = att_report_to_abi(r, v->abi, msg, sizeof(msg))) != ATT_OK)
		return fail(v, rv, "%s", msg);
	return ATT_OK;
}

static int
kds_urls(struct vctx *v, int need_vcek, int need_crl)
{
	const struct att_report	*r = &v->att.report;
	const char		*line = attest_product_name(v->res->product);
	struct attest_tcb	 t;
	char			 chip[129];
	int			 n;

	if (need_vcek) {
		att_tcb_split(r->reported_tcb, &t);
		att_hex_lower(r->chip_id.p, 64, chip);
		n = snprintf(v->res->vcek_url, sizeof(v->res->vcek_url),
		    "%s/vcek/v1/%s/%s?blSPL=%u&teeSPL=%u&snpSPL=%u&ucodeSPL=%u",
		    v->trust->kds_base, line, chip, t.bl, t.tee, t.snp,
		    t.ucode);
		if (n < 0 || (size_t)n >= sizeof(v->res->vcek_url))
			return -1;
		v->res->need_vcek = 1;
	}
	if (need_crl) {
		n = snprintf(v->res->crl_url, sizeof(v->res->crl_url),
		    "%s/vcek/v1/%s/crl", v->trust->kds_base, line);
		if (n < 0 || (size_t)n >= sizeof(v->res->crl_url))
			return -1;
		v->res->need_crl = 1;
	}
	return 0;
}

/*
 * The pre-seeded CRL from the document wins while it is fresh (Go uses
 * it without fetching, and a bad signature on it is final).  Otherwise
 * the caller's CRL, which must be fresh too: Go would accept a stale
 * fetched CRL, we fail closed instead.
 */
static enum attest_reason
pick_crl(struct vctx *v, X509_CRL **out)
{
	const struct att_chain	*c = &v->att.chain;
	X509_CRL		*crl;

	*out = NULL;
	if (c->has_crl && (crl = att_crl_parse(c->crl.p, c->crl.len)) != NULL) {
		if (att_crl_fresh(crl, v->trust->now)) {
			*out = crl;
			return ATT_OK;
		}
		X509_CRL_free(crl);
	}
	if (v->in->crl_len == 0)
		return ATT_OK;
	if ((crl = att_crl_parse(v->in->crl, v->in->crl_len)) == NULL)
		return fail(v, ATT_ERR_CRL, "the supplied CRL does not parse");
	if (!att_crl_fresh(crl, v->trust->now)) {
		X509_CRL_free(crl);
		return fail(v, ATT_ERR_CRL, "the supplied CRL is past its "
		    "nextUpdate");
	}
	*out = crl;
	return ATT_OK;
}

/* Ask for what is missing, or fail closed if the caller cannot fetch. */
static enum attest_reason
need_fetch(struct vctx *v, int need_vcek, int need_crl)
{
	if (v->in->flags & ATT_IN_NO_FETCH) {
		if (need_vcek)
			return fail(v, ATT_ERR_VCEK, "no VCEK in the document "
			    "and none supplied");
		return fail(v, ATT_ERR_CRL, "no valid CRL in the document and "
		    "none supplied");
	}
	if (need_vcek && CRYPTO_memcmp(v->res->chip_id,
	    (const uint8_t [64]){ 0 }, 64) == 0)
		return fail(v, ATT_ERR_VCEK, "no VCEK in the document and "
		    "CHIP_ID is masked, so KDS cannot be asked");
	if (kds_urls(v, need_vcek, need_crl) == -1)
		return fail(v, ATT_ERR_INPUT, "KDS base URL too long");
	return fail(v, ATT_NEED_FETCH, "fetch %s from AMD KDS",
	    need_vcek && need_crl ? "the VCEK and the CRL" :
	    need_vcek ? "the VCEK" : "the CRL");
}

static enum attest_reason
verify_signed(struct vctx *v, X509_CRL *crl)
{
	const struct attest_anchor *a = &v->trust->anchor[v->res->product];
	enum attest_reason	rv;
	char			msg[256];

	if ((rv = att_vcek_check(v->vcek, &v->ext, msg, sizeof(msg))) !=
	    ATT_OK ||
	    (rv = att_chain_verify(a, v->res->product, v->vcek,
	    v->trust->now, msg, sizeof(msg))) != ATT_OK ||
	    (rv = att_crl_check(a, crl, msg, sizeof(msg))) != ATT_OK ||
	    (rv = att_report_verify_sig(v->abi, v->vcek, msg,
	    sizeof(msg))) != ATT_OK)
		return fail(v, rv, "%s", msg);
	v->res->test_anchors = a->test_only;
	return ATT_OK;
}

/* verify.SnpAttestation: VCEK, chain, CRL, signature. */
static enum attest_reason
verify_snp(struct vctx *v)
{
	const struct att_chain	*c = &v->att.chain;
	const struct attest_anchor *a = &v->trust->anchor[v->res->product];
	X509_CRL		*crl = NULL;
	enum attest_reason	 rv;
	int			 need_vcek;

	if (a->ask == NULL || a->ark == NULL)
		return fail(v, ATT_ERR_TRUST, "no trust anchors for %s",
		    attest_product_name(v->res->product));
	need_vcek = c->vcek.len == 0 && v->in->vcek_len == 0;
	if ((rv = pick_crl(v, &crl)) != ATT_OK)
		return rv;
	if (need_vcek || crl == NULL) {
		X509_CRL_free(crl);
		return need_fetch(v, need_vcek, crl == NULL);
	}
	/* Like Go, a VCEK in the document takes precedence. */
	if (c->vcek.len > 0)
		v->vcek = att_cert_parse(c->vcek.p, c->vcek.len, 0);
	else
		v->vcek = att_cert_parse(v->in->vcek, v->in->vcek_len, 0);
	if (v->vcek == NULL)
		rv = fail(v, ATT_ERR_VCEK, "VCEK certificate does not parse");
	else
		rv = verify_signed(v, crl);
	X509_CRL_free(crl);
	return rv;
}

static enum attest_reason
try_entry(struct vctx *v, size_t i)
{
	const struct att_snp_ref *ref = &v->man.snp[i];
	struct att_expect	 x;
	char			 msg[256];
	enum attest_reason	 rv;

	if (ref->product != v->res->product)
		return fail(v, ATT_ERR_PRODUCT, "reference values are for %s, "
		    "the report is from %s", attest_product_name(ref->product),
		    attest_product_name(v->res->product));
	if (!v->crypto_done) {
		v->crypto_rv = verify_snp(v);
		memcpy(v->crypto_msg, v->res->message, sizeof(v->crypto_msg));
		v->crypto_msg[sizeof(v->crypto_msg) - 1] = '\0';
		v->crypto_done = 1;
	}
	if (v->crypto_rv != ATT_OK)
		return fail(v, v->crypto_rv, "%s", v->crypto_msg);
	x.report_data = v->report_data;
	x.host_data = v->man.coordinator_hash;
	if ((rv = att_validate(&v->att.report, &v->ext, ref, &x, msg,
	    sizeof(msg))) != ATT_OK)
		return fail(v, rv, "%s", msg);
	return ATT_OK;
}

/* The snp[] entries' product line, for the list of reasons. */
static const char *
snp_product(const struct vctx *v, size_t i)
{
	return attest_product_name(v->man.snp[i].product);
}

/* One kind of reference values, as try_all walks it. */
struct ref_kind {
	const char	 *name;		/* "SNP", "TDX", for the messages */
	const char	 *label;	/* "snp", "tdx": the manifest's array */
	size_t		  count;
	enum attest_reason (*try_one)(struct vctx *, size_t);
	const char	*(*product)(const struct vctx *, size_t);  /* or NULL */
	int		 *winner;	/* the index of the entry that matched */
};

/*
 * Try every entry of one kind; the first that validates wins.  If none
 * does, report the most telling reason: the first one that is not merely a
 * product line mismatch.  A fetch to make, an internal error or bad input
 * ends the walk: every later entry would meet it too.
 */
static enum attest_reason
try_all(struct vctx *v, const struct ref_kind *k)
{
	struct attest_result	*res = v->res;
	enum attest_reason	 rv, overall = ATT_ERR_PRODUCT;
	char			 all[ATT_MSG_MAX - 64] = "";
	size_t			 i, n;
	int			 picked = 0;

	if (k->count == 0)
		return fail(v, ATT_ERR_MANIFEST_INVALID, "the manifest has no "
		    "%s reference values", k->name);
	for (i = 0; i < k->count; i++) {
		rv = k->try_one(v, i);
		if (i < ATT_MAX_ENTRIES) {
			res->entry_reason[i] = rv;
			res->nentries = (int)i + 1;
		}
		if (rv == ATT_OK)
			*k->winner = (int)i;
		if (rv == ATT_OK || rv == ATT_NEED_FETCH ||
		    rv == ATT_ERR_INTERNAL || rv == ATT_ERR_INPUT)
			return rv;
		if (!picked && rv != ATT_ERR_PRODUCT) {
			overall = rv;
			picked = 1;
		}
		n = strlen(all);
		snprintf(all + n, sizeof(all) - n, "%s%s[%zu]%s%s%s: %.200s",
		    i > 0 ? "; " : "", k->label, i, k->product ? " (" : "",
		    k->product ? k->product(v, i) : "", k->product ? ")" : "",
		    res->message);
	}
	return fail(v, overall, "no reference values matched: %s", all);
}

static enum attest_reason
try_snp_entries(struct vctx *v)
{
	const struct ref_kind k = { "SNP", "snp", v->man.nsnp, try_entry,
	    snp_product, &v->res->snp_index };

	return try_all(v, &k);
}

/* --- TDX ------------------------------------------------------------- */

static void
note_tdx(struct vctx *v)
{
	struct attest_tdx_info	*t = &v->res->tdx;
	const struct att_tdx_quote *q = &v->q;

	v->res->have_tdx = 1;
	if (q->tee_tcb_svn.len == sizeof(t->tee_tcb_svn))
		memcpy(t->tee_tcb_svn, q->tee_tcb_svn.p, sizeof(t->tee_tcb_svn));
	if (q->mr_td.len == sizeof(t->mr_td))
		memcpy(t->mr_td, q->mr_td.p, sizeof(t->mr_td));
	t->qe_isvsvn = q->isv_svn;
}

/* The URL of each PCS answer the verification of entry ref needs. */
static int
pcs_urls(struct vctx *v, const struct att_tdx_ref *ref,
    char urls[4][ATT_URL_MAX])
{
	const struct attest_trust *t = v->trust;
	char			 fmspc[13];
	int			 n[4];

	att_hex_lower(v->tv.ext.fmspc, 6, fmspc);
	if (ref->min_eval > 0)
		n[0] = snprintf(urls[0], ATT_URL_MAX, "%s/tdx/certification/"
		    "v4/tcb?fmspc=%s&tcbEvaluationDataNumber=%lld",
		    t->pcs_base, fmspc, ref->min_eval);
	else
		n[0] = snprintf(urls[0], ATT_URL_MAX, "%s/tdx/certification/"
		    "v4/tcb?fmspc=%s", t->pcs_base, fmspc);
	n[1] = snprintf(urls[1], ATT_URL_MAX, "%s/tdx/certification/v4/qe/"
	    "identity", t->pcs_base);
	/* The chain was checked to come from the platform CA. */
	n[2] = snprintf(urls[2], ATT_URL_MAX, "%s/sgx/certification/v4/pckcrl"
	    "?ca=platform&encoding=der", t->pcs_base);
	n[3] = snprintf(urls[3], ATT_URL_MAX, "%s", t->pcs_root_crl);
	return n[0] < 0 || n[0] >= ATT_URL_MAX || n[1] < 0 ||
	    n[1] >= ATT_URL_MAX || n[2] < 0 || n[2] >= ATT_URL_MAX ? -1 : 0;
}

static const struct attest_pcs_doc *
pcs_doc(const struct attest_input *in, const char *url)
{
	size_t	i;

	for (i = 0; i < in->npcs && i < ATT_PCS_MAX; i++)
		if (in->pcs[i].url != NULL && strcmp(in->pcs[i].url, url) == 0 &&
		    in->pcs[i].body != NULL)
			return &in->pcs[i];
	return NULL;
}

static enum attest_reason
pcs_need(struct vctx *v, char urls[4][ATT_URL_MAX],
    const struct attest_pcs_doc *d[4])
{
	static const enum attest_pcs_kind kinds[4] = { ATT_PCS_TCB_INFO,
	    ATT_PCS_QE_IDENTITY, ATT_PCS_PCK_CRL, ATT_PCS_ROOT_CRL };
	struct attest_result	*res = v->res;
	int			 i;

	for (i = 0; i < 4; i++)
		if (d[i] == NULL) {
			if (v->in->flags & ATT_IN_NO_FETCH)
				return fail(v, ATT_ERR_COLLATERAL, "no %s "
				    "supplied (%s)", attest_pcs_kind_name(
				    kinds[i]), urls[i]);
			res->pcs_need[res->npcs_need].kind = kinds[i];
			memcpy(res->pcs_need[res->npcs_need].url, urls[i],
			    ATT_URL_MAX);
			res->npcs_need++;
		}
	return fail(v, ATT_NEED_FETCH, "fetch %d Intel PCS answer%s",
	    res->npcs_need, res->npcs_need == 1 ? "" : "s");
}

/* The collateral for one tcbEvaluationDataNumber, verified once. */
static size_t
tdx_collateral(struct vctx *v, const struct att_tdx_ref *ref,
    const struct att_tdx_docs *docs)
{
	size_t	i;

	for (i = 0; i < v->ncoll; i++)
		if (v->coll[i].eval == ref->min_eval)
			return i;
	if (v->ncoll == ATT_MAX_ENTRIES)
		i = ATT_MAX_ENTRIES - 1;
	else
		i = v->ncoll++;
	v->coll[i].eval = ref->min_eval;
	v->coll[i].rv = att_tdx_verify_collateral(&v->q, v->trust->intel_root,
	    docs, v->trust->now, ref->min_eval, &v->tv, v->coll[i].msg,
	    sizeof(v->coll[i].msg));
	v->coll[i].tdx_status = v->tv.tdx_status;
	v->coll[i].qe_status = v->tv.qe_status;
	v->coll[i].no_match = v->tv.tcb_no_match;
	memcpy(v->coll[i].detail, v->tv.tcb_detail, sizeof(v->coll[i].detail));
	v->coll[i].got_eval = v->tv.eval_num;
	return i;
}

static enum attest_reason
try_tdx_entry(struct vctx *v, size_t i)
{
	const struct att_tdx_ref *ref = &v->man.tdx[i];
	const struct attest_pcs_doc *d[4];
	struct att_tdx_docs	 docs;
	struct attest_tdx_info	*info = &v->res->tdx;
	struct att_expect	 x;
	char			 urls[4][ATT_URL_MAX], msg[256];
	enum attest_reason	 rv;
	size_t			 k;
	int			 j;

	if (!v->tdx_done) {
		v->tdx_rv = att_tdx_verify_quote(&v->q, v->trust->intel_root,
		    v->trust->now, &v->tv, v->tdx_msg, sizeof(v->tdx_msg));
		v->tdx_done = 1;
		if (v->tdx_rv == ATT_OK)
			att_hex_lower(v->tv.ext.fmspc, 6, info->fmspc);
	}
	if (v->tdx_rv != ATT_OK)
		return fail(v, v->tdx_rv, "%s", v->tdx_msg);
	if (pcs_urls(v, ref, urls) == -1)
		return fail(v, ATT_ERR_INPUT, "Intel PCS base URL too long");
	for (j = 0; j < 4; j++)
		d[j] = pcs_doc(v->in, urls[j]);
	if (d[0] == NULL || d[1] == NULL || d[2] == NULL || d[3] == NULL)
		return pcs_need(v, urls, d);
	docs.tcb_info = d[0];
	docs.qe_identity = d[1];
	docs.pck_crl = d[2];
	docs.root_crl = d[3];
	k = tdx_collateral(v, ref, &docs);
	if (v->coll[k].rv != ATT_OK)
		return fail(v, v->coll[k].rv, "%s", v->coll[k].msg);
	v->tv.tdx_status = v->coll[k].tdx_status;
	v->tv.qe_status = v->coll[k].qe_status;
	v->tv.tcb_no_match = v->coll[k].no_match;
	memcpy(v->tv.tcb_detail, v->coll[k].detail, sizeof(v->tv.tcb_detail));
	snprintf(info->tcb_status, sizeof(info->tcb_status), "%s",
	    att_tcb_status_name(v->tv.tdx_status));
	snprintf(info->qe_tcb_status, sizeof(info->qe_tcb_status), "%s",
	    att_tcb_status_name(v->tv.qe_status));
	info->tcb_eval_num = v->coll[k].got_eval;
	if ((rv = att_tdx_tcb_ok(&v->tv, msg, sizeof(msg))) != ATT_OK)
		return fail(v, rv, "%s", msg);
	x.report_data = v->report_data;
	x.host_data = v->man.coordinator_hash;
	if ((rv = att_tdx_validate(&v->q, &v->tv.ext, ref, &x, msg,
	    sizeof(msg))) != ATT_OK)
		return fail(v, rv, "%s", msg);
	return ATT_OK;
}

static enum attest_reason
try_tdx_entries(struct vctx *v)
{
	const struct ref_kind k = { "TDX", "tdx", v->man.ntdx, try_tdx_entry,
	    NULL, &v->res->tdx_index };

	return try_all(v, &k);
}

/* The Coordinator's version string, for the log only. */
static const char *
printable(const char *s)
{
	size_t	i;

	if (s == NULL || *s == '\0')
		return "(unknown)";
	for (i = 0; s[i] != '\0'; i++)
		if (i >= 64 || s[i] < 0x20 || s[i] > 0x7e)
			return "(unprintable)";
	return s;
}

/* Privatemode's own checks on the state the SDK returned. */
static enum attest_reason
check_state(struct vctx *v)
{
	const struct att_blob	*m;
	uint8_t			 md[32];

	if (v->coord.nmanifests != 1)
		return fail(v, ATT_ERR_MANIFEST_COUNT, "expected exactly one "
		    "manifest, the Coordinator has %zu", v->coord.nmanifests);
	m = &v->coord.manifests[0];
	if (m->len != v->in->manifest_len || (m->len > 0 &&
	    CRYPTO_memcmp(m->p, v->in->manifest, m->len) != 0))
		return fail(v, ATT_ERR_MANIFEST_MISMATCH,
		    "active manifest does not match expected manifest");
	if ((v->res->mesh_ca = att_cert_parse(v->coord.mesh_ca.p,
	    v->coord.mesh_ca.len, 1)) == NULL)
		return fail(v, ATT_ERR_MESH_CA, "decoding mesh CA certificate "
		    "failed");
	EVP_Digest(m->p != NULL ? m->p : (const uint8_t *)"", m->len, md,
	    NULL, EVP_sha256(), NULL);
	att_hex_lower(md, sizeof(md), v->res->manifest_sha256);
	EVP_Digest(v->coord.root_ca.p != NULL ? v->coord.root_ca.p :
	    (const uint8_t *)"", v->coord.root_ca.len,
	    v->res->root_ca_sha256, NULL, EVP_sha256(), NULL);
	if (v->res->platform == ATT_PLATFORM_TDX)
		snprintf(v->res->message, sizeof(v->res->message), "verified "
		    "TDX quote v4 (FMSPC %s, TCB %s) from Coordinator %s "
		    "against tdx[%d], manifest %s", v->res->tdx.fmspc,
		    v->res->tdx.tcb_status, printable(v->coord.version),
		    v->res->tdx_index, v->res->manifest_sha256);
	else
		snprintf(v->res->message, sizeof(v->res->message), "verified "
		    "%s SNP report v%u from Coordinator %s against snp[%d], "
		    "manifest %s", attest_product_name(v->res->product),
		    v->res->report_version, printable(v->coord.version),
		    v->res->snp_index, v->res->manifest_sha256);
	return ATT_OK;
}

static enum attest_reason
verify_coordinator(struct vctx *v, const uint8_t *doc, size_t len)
{
	const struct att_blob	*latest;
	char			 msg[ATT_MSG_MAX];
	enum attest_reason	 rv;

	if ((rv = att_coord_parse(doc, len, &v->coord, msg, sizeof(msg))) !=
	    ATT_OK)
		return fail(v, rv, "%s", msg);
	if (v->coord.nmanifests == 0)
		return fail(v, ATT_ERR_MANIFEST_COUNT, "the Coordinator has no "
		    "manifest");
	att_report_data(v->in->nonce, &v->coord, v->report_data);
	latest = &v->coord.manifests[v->coord.nmanifests - 1];
	if ((rv = att_manifest_parse(latest->p, latest->len, &v->man, msg,
	    sizeof(msg))) != ATT_OK)
		return fail(v, rv, "%s", msg);
	if ((rv = decode_evidence(v)) != ATT_OK)
		return rv;
	if (v->res->platform == ATT_PLATFORM_TDX) {
		note_tdx(v);
		if ((rv = att_tdx_check(&v->q, msg, sizeof(msg))) != ATT_OK)
			return fail(v, rv, "%s", msg);
		if ((rv = try_tdx_entries(v)) != ATT_OK)
			return rv;
		v->res->test_anchors = v->trust->intel_test_only;
		return check_state(v);
	}
	note_report(v);
	if ((rv = check_report(v)) != ATT_OK ||
	    (rv = try_snp_entries(v)) != ATT_OK)
		return rv;
	return check_state(v);
}

static int
input_ok(const struct attest_trust *t, const struct attest_input *in,
    const struct attest_result *res)
{
	return t != NULL && in != NULL && res != NULL && in->nonce != NULL &&
	    t->now > 0 &&
	    in->nonce_len == ATT_NONCE_LEN &&
	    (in->doc != NULL || in->doc_len == 0) &&
	    (in->manifest != NULL || in->manifest_len == 0) &&
	    (in->vcek != NULL || in->vcek_len == 0) &&
	    (in->crl != NULL || in->crl_len == 0) &&
	    (in->pcs != NULL || in->npcs == 0) && in->npcs <= ATT_PCS_MAX &&
	    in->doc_len <= ATT_MAX_DOC;
}

static enum attest_reason
run(const struct attest_trust *t, const struct attest_input *in,
    struct attest_result *res, int envelope)
{
	struct vctx		 v;
	struct att_blob		 doc = { NULL, 0 };
	enum attest_reason	 rv;
	int			 mark;

	memset(res, 0, sizeof(*res));
	res->snp_index = -1;
	res->tdx_index = -1;
	memset(&v, 0, sizeof(v));
	v.trust = t;
	v.in = in;
	v.res = res;
	/* Leave the caller's OpenSSL error queue as we found it. */
	mark = ERR_set_mark();
	if (envelope) {
		rv = att_response_parse(in->doc, in->doc_len, &doc,
		    res->message, sizeof(res->message));
		if (rv == ATT_OK)
			rv = verify_coordinator(&v, doc.p, doc.len);
	} else
		rv = verify_coordinator(&v, in->doc, in->doc_len);
	free(doc.p);
	X509_free(v.vcek);
	att_tdx_verified_free(&v.tv);
	att_manifest_free(&v.man);
	att_coord_free(&v.coord);
	if (mark)
		ERR_pop_to_mark();
	res->reason = rv;
	if (rv != ATT_OK) {
		X509_free(res->mesh_ca);
		res->mesh_ca = NULL;
		if (rv != ATT_NEED_FETCH) {
			res->need_vcek = res->need_crl = 0;
			res->npcs_need = 0;
		}
	}
	if (res->message[0] == '\0')
		snprintf(res->message, sizeof(res->message), "%s",
		    attest_strerror(rv));
	return rv;
}

/*
 * Both entry points: the whole answer (full) or the Coordinator's part.
 * The verdict and its message are the whole answer: OpenSSL's error queue
 * is left empty, since the caller's next TLS read goes by SSL_get_error(),
 * which takes any leftover entry for a failure of its own.
 */
static enum attest_reason
verify(const struct attest_trust *t, const struct attest_input *in,
    struct attest_result *res, int full)
{
	enum attest_reason	rv;

	if (res == NULL)
		return ATT_ERR_INPUT;
	if (!input_ok(t, in, res)) {
		memset(res, 0, sizeof(*res));
		res->reason = ATT_ERR_INPUT;
		snprintf(res->message, sizeof(res->message), "%s",
		    attest_strerror(ATT_ERR_INPUT));
		return ATT_ERR_INPUT;
	}
	rv = run(t, in, res, full);
	ERR_clear_error();
	return rv;
}

enum attest_reason
attest_verify_response(const struct attest_trust *t,
    const struct attest_input *in, struct attest_result *res)
{
	return verify(t, in, res, 1);
}

enum attest_reason
attest_verify_coordinator(const struct attest_trust *t,
    const struct attest_input *in, struct attest_result *res)
{
	return verify(t, in, res, 0);
}

void
attest_result_free(struct attest_result *res)
{
	if (res == NULL)
		return;
	X509_free(res->mesh_ca);
	res->mesh_ca = NULL;
}

int
attest_init(void)
{
	static const uint8_t	ld[48];
	static const char	json[] = "{\"a\":1}";
	struct json_object	*o;
	struct tm		tm;
	time_t			t = 0;
	uint8_t			out[48], r;

	if (OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL) != 1)
		return -1;
	/* glibc reads /etc/localtime on the first gmtime (via tzset). */
	tzset();
	if (gmtime_r(&t, &tm) == NULL)
		return -1;
	/* json-c seeds its hash tables from getrandom(2) once. */
	if ((o = att_json_parse((const uint8_t *)json, sizeof(json) - 1,
	    NULL, 0)) == NULL)
		return -1;
	json_object_put(o);
	/* One ID-key derivation fetches SHA-384 and instantiates EC. */
	if (att_idkey_digest(ld, 0x30000, out) == -1)
		return -1;
	if (RAND_bytes(&r, 1) != 1 || RAND_priv_bytes(&r, 1) != 1)
		return -1;
	EVP_Digest("", 0, out, NULL, EVP_sha256(), NULL);
	return 0;
}

/* --- KDS cache policy ----------------------------------------------- */

static int
is_hex128(const char *s)
{
	int	i;

	for (i = 0; i < 128; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f') ||
		    (s[i] >= 'A' && s[i] <= 'F')))
			return 0;
	return 1;
}

/*
 * Contrast's cached KDS client: a VCEK URL names one immutable
 * certificate, so it is cached forever; a CRL is re-fetched every time
 * and the cached copy is only a fallback while it is fresh.
 */
enum attest_cache
attest_kds_cache_policy(const char *url)
{
	const char	*p, *slash;

	if (url == NULL || (p = strstr(url, "/vcek/v1/")) == NULL)
		return ATT_CACHE_NEVER;
	p += strlen("/vcek/v1/");
	if ((slash = strchr(p, '/')) == NULL || slash == p)
		return ATT_CACHE_NEVER;
	p = slash + 1;
	if (strcmp(p, "crl") == 0)
		return ATT_CACHE_REFRESH;
	if (strlen(p) > 128 && is_hex128(p) && p[128] == '?')
		return ATT_CACHE_FOREVER;
	return ATT_CACHE_NEVER;
}

int
attest_crl_usable(const uint8_t *der, size_t len, time_t now)
{
	X509_CRL	*crl;
	int		 ok, mark;

	if (der == NULL)
		return 0;
	mark = ERR_set_mark();
	if ((crl = att_crl_parse(der, len)) == NULL)
		ok = 0;
	else
		ok = att_crl_fresh(crl, now);
	X509_CRL_free(crl);
	if (mark)
		ERR_pop_to_mark();
	return ok;
}
