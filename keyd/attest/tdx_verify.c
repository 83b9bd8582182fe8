/*
 * verify.TdxQuote of go-tdx-guest (the edgelesssys fork the Privatemode
 * proxy builds with, ac8c4b4a23eb) as Contrast v1.20 configures it:
 * CheckRevocations and GetCollateral on, Intel's SGX root as the only
 * trusted root, the tcbEvaluationDataNumber of the reference values.
 *
 * Order: the quote's structure, the PCK chain and its SGX extension, the
 * quote signature, the QE report signature and its binding of the
 * attestation key; then the collateral: CRLs, TCB info and QE identity
 * (issuer chains, signatures, freshness), the quote against the TCB info
 * (FMSPC, PCEID, TDX module) and the QE report against the QE identity.
 * Signatures come first so that a forged quote costs no download.
 *
 * Differences from Go, all stricter: the roots a quote or a PCS answer
 * carries must be byte-equal to the trusted root; PEM, base64 and DER
 * must be canonical; a PCS answer is decoded from the bytes that were
 * signed (tdx_coll.c).  Collateral is "stale" when now is after its
 * nextUpdate, as in Go.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "attest_int.h"

/* now is after t (Go's time.After). */
static int
after(time_t now, const ASN1_TIME *t)
{
	return t == NULL || ASN1_TIME_cmp_time_t(t, now) < 0;
}

static int
same_cert(X509 *a, X509 *b)
{
	unsigned char	*da = NULL, *db = NULL;
	int		 na, nb, eq;

	na = i2d_X509(a, &da);
	nb = i2d_X509(b, &db);
	eq = na > 0 && na == nb && memcmp(da, db, (size_t)na) == 0;
	OPENSSL_free(da);
	OPENSSL_free(db);
	return eq;
}

void
att_tdx_verified_free(struct att_tdx_verified *v)
{
	int	i;

	for (i = 0; i < 3; i++) {
		X509_free(v->chain[i]);
		v->chain[i] = NULL;
	}
}

/* --- the quote and its PCK chain ------------------------------------------- */

static enum attest_reason
pck_chain(const struct att_tdx_quote *q, X509 *trusted, time_t now,
    X509 *c[3], struct att_tdx_verified *out, char *err, size_t errlen)
{
	enum attest_reason	rv;
	char			msg[200];

	if (att_pem_certs(q->pck_chain.p, q->pck_chain.len, c, 3, 1) == -1)
		return att_err(err, errlen, ATT_ERR_PCK, "PCK certificate "
		    "chain is not three PEM certificates (leaf, intermediate, "
		    "root)");
	if (!same_cert(c[2], trusted))
		return att_err(err, errlen, ATT_ERR_PCK, "PCK chain root is "
		    "not the trusted Intel SGX root");
	/* The signatures are x509.Verify's (att_intel_chain) business. */
	if ((rv = att_intel_cert_shape(c[1], c[2], ATT_PCK_PLATFORM_CN, msg,
	    sizeof(msg))) != ATT_OK ||
	    (rv = att_intel_cert_shape(c[0], c[1], ATT_PCK_LEAF_CN, msg,
	    sizeof(msg))) != ATT_OK ||
	    (rv = att_intel_chain(c[0], c[1], trusted, now, msg,
	    sizeof(msg))) != ATT_OK)
		return att_err(err, errlen, rv, "PCK chain: %s", msg);
	if ((rv = att_pck_extensions(c[0], &out->ext, msg, sizeof(msg))) !=
	    ATT_OK)
		return att_err(err, errlen, rv, "%s", msg);
	return ATT_OK;
}

static enum attest_reason
quote_signatures(const struct att_tdx_quote *q, X509 *pck, char *err,
    size_t errlen)
{
	uint8_t		 msg[ATT_TDX_HEADER_SIZE + ATT_TDX_BODY_SIZE];
	uint8_t		 qe[ATT_TDX_QE_REPORT_SIZE], md[32], want[64];
	EVP_MD_CTX	*ctx;
	int		 ok;

	att_tdx_header_abi(q, msg);
	att_tdx_body_abi(q, msg + ATT_TDX_HEADER_SIZE);
	if (!att_p256_verify_raw(q->attestation_key.p, msg, sizeof(msg),
	    q->signature.p))
		return att_err(err, errlen, ATT_ERR_QUOTE_SIGNATURE, "quote "
		    "signature does not verify with its attestation key");
	att_tdx_qe_report_abi(q, qe);
	if (!att_p256_verify_cert(pck, qe, sizeof(qe),
	    q->qe_report_signature.p))
		return att_err(err, errlen, ATT_ERR_QUOTE_SIGNATURE, "QE "
		    "report signature does not verify with the PCK key");
	/* REPORT_DATA = SHA-256(attestation key || QE auth data) || 0^32. */
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return att_err(err, errlen, ATT_ERR_INTERNAL, "EVP_MD_CTX");
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, q->attestation_key.p, 64) == 1 &&
	    EVP_DigestUpdate(ctx, q->qe_auth_data.p, q->qe_auth_data.len) ==
	    1 && EVP_DigestFinal_ex(ctx, md, NULL) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return att_err(err, errlen, ATT_ERR_INTERNAL, "SHA-256");
	memset(want, 0, sizeof(want));
	memcpy(want, md, sizeof(md));
	if (CRYPTO_memcmp(want, q->qe_report_data.p, 64) != 0)
		return att_err(err, errlen, ATT_ERR_QUOTE_SIGNATURE, "QE "
		    "report data does not bind the attestation key");
	return ATT_OK;
}

/* --- collateral ----------------------------------------------------------- */

static enum attest_reason
root_crl(const struct attest_pcs_doc *d, X509 *trusted, time_t now,
    X509_CRL **out, char *err, size_t errlen)
{
	enum attest_reason	rv;
	char			msg[128];

	*out = NULL;
	if ((*out = att_der_crl(d->body, d->body_len)) == NULL)
		return att_err(err, errlen, ATT_ERR_CRL, "root CA CRL is not "
		    "a DER CRL");
	if ((rv = att_intel_crl_check(*out, trusted, msg, sizeof(msg))) !=
	    ATT_OK)
		return att_err(err, errlen, rv, "root CA %s", msg);
	if (after(now, X509_CRL_get0_nextUpdate(*out)))
		return att_err(err, errlen, ATT_ERR_COLLATERAL_STALE, "root CA "
		    "CRL is past its nextUpdate");
	return ATT_OK;
}

static enum attest_reason
pck_crl(const struct attest_pcs_doc *d, X509 *c[3], time_t now,
    char *err, size_t errlen)
{
	X509			*signer = NULL, *root = NULL;
	X509_CRL		*crl = NULL;
	enum attest_reason	 rv;
	char			 msg[160];

	/*
	 * Go requires the issuer chain header and checks its dates, no
	 * more (the CRL is checked with the quote's own intermediate).  We
	 * also check that it is Intel's: the platform CA under the trusted
	 * root, so that nothing in a PCS answer goes unverified.
	 */
	if ((rv = att_pcs_issuer_chain(d->issuer_chain, d->issuer_chain_len,
	    &signer, &root, msg, sizeof(msg))) != ATT_OK) {
		rv = att_err(err, errlen, rv, "PCK CRL: %s", msg);
		goto out;
	}
	if (after(now, X509_get0_notAfter(signer)) ||
	    after(now, X509_get0_notAfter(root))) {
		rv = att_err(err, errlen, ATT_ERR_CERT_EXPIRED, "PCK CRL "
		    "issuer chain has expired");
		goto out;
	}
	if (!same_cert(root, c[2]) || (!same_cert(signer, c[1]) &&
	    (att_intel_cert_shape(signer, c[2], ATT_PCK_PLATFORM_CN, msg,
	    sizeof(msg)) != ATT_OK ||
	    att_intel_chain(signer, NULL, c[2], now, msg, sizeof(msg)) !=
	    ATT_OK))) {
		rv = att_err(err, errlen, ATT_ERR_COLLATERAL, "PCK CRL issuer "
		    "chain is not the platform CA under the Intel SGX root");
		goto out;
	}
	if ((crl = att_der_crl(d->body, d->body_len)) == NULL) {
		rv = att_err(err, errlen, ATT_ERR_CRL, "PCK CRL is not a DER "
		    "CRL");
		goto out;
	}
	/* Signed by the intermediate of the quote's own chain. */
	if ((rv = att_intel_crl_check(crl, c[1], msg, sizeof(msg))) !=
	    ATT_OK) {
		rv = att_err(err, errlen, rv, "PCK %s", msg);
		goto out;
	}
	if (X509_NAME_cmp(X509_CRL_get_issuer(crl),
	    X509_get_issuer_name(c[0])) != 0) {
		rv = att_err(err, errlen, ATT_ERR_CRL, "PCK CRL issuer is not "
		    "the PCK certificate's issuer");
		goto out;
	}
	if (after(now, X509_CRL_get0_nextUpdate(crl))) {
		rv = att_err(err, errlen, ATT_ERR_COLLATERAL_STALE, "PCK CRL "
		    "is past its nextUpdate");
		goto out;
	}
	if (att_crl_lists(crl, c[0]))
		rv = att_err(err, errlen, ATT_ERR_REVOKED, "the PCK "
		    "certificate is revoked");
out:
	X509_CRL_free(crl);
	X509_free(signer);
	X509_free(root);
	return rv;
}

/*
 * A TCB info or QE identity answer: issuer chain to the trusted root,
 * signing certificate not revoked, signature over the raw member,
 * identity and version, freshness.
 */
static enum attest_reason
pcs_answer(const struct attest_pcs_doc *d, int tcb_info, X509 *trusted,
    X509_CRL *rcrl, time_t now, X509 **verified, struct att_pcs_json *c,
    char *err, size_t errlen)
{
	const char		*what = tcb_info ? "TCB info" : "QE identity";
	X509			*signer = NULL, *root = NULL;
	enum attest_reason	 rv;
	char			 msg[200];

	if ((rv = att_pcs_json_parse(d->body, d->body_len, tcb_info, c, msg,
	    sizeof(msg))) != ATT_OK)
		return att_err(err, errlen, rv, "%s", msg);
	if ((rv = att_pcs_issuer_chain(d->issuer_chain, d->issuer_chain_len,
	    &signer, &root, msg, sizeof(msg))) != ATT_OK) {
		rv = att_err(err, errlen, rv, "%s: %s", what, msg);
		goto out;
	}
	if (after(now, X509_get0_notAfter(signer)) ||
	    after(now, X509_get0_notAfter(root))) {
		rv = att_err(err, errlen, ATT_ERR_CERT_EXPIRED, "%s issuer "
		    "chain has expired", what);
		goto out;
	}
	if (now > c->next_update) {
		rv = att_err(err, errlen, ATT_ERR_COLLATERAL_STALE, "%s is "
		    "past its nextUpdate", what);
		goto out;
	}
	if (strcmp(c->id, tcb_info ? "TDX" : "TD_QE") != 0 ||
	    c->version != (tcb_info ? 3U : 2U)) {
		rv = att_err(err, errlen, ATT_ERR_COLLATERAL, "%s has id "
		    "\"%s\" version %u", what, c->id, c->version);
		goto out;
	}
	if (c->nlevels == 0) {
		rv = att_err(err, errlen, ATT_ERR_COLLATERAL, "%s has no TCB "
		    "levels", what);
		goto out;
	}
	if (!same_cert(root, trusted)) {
		rv = att_err(err, errlen, ATT_ERR_COLLATERAL, "%s issuer "
		    "chain root is not the trusted Intel SGX root", what);
		goto out;
	}
	if (*verified != NULL && same_cert(signer, *verified))
		;	/* the TCB info's signer, checked a moment ago */
	else if ((rv = att_intel_cert_shape(signer, root, ATT_TCB_SIGNING_CN,
	    msg, sizeof(msg))) != ATT_OK ||
	    (rv = att_intel_chain(signer, NULL, trusted, now, msg,
	    sizeof(msg))) != ATT_OK) {
		rv = att_err(err, errlen, rv == ATT_ERR_CERT_EXPIRED ? rv :
		    ATT_ERR_COLLATERAL, "%s signing certificate: %s", what,
		    msg);
		goto out;
	}
	if (!att_p256_verify_cert(signer, c->signed_p, c->signed_len,
	    c->sig)) {
		rv = att_err(err, errlen, ATT_ERR_COLLATERAL, "%s signature "
		    "does not verify", what);
		goto out;
	}
	if (att_crl_lists(rcrl, signer))
		rv = att_err(err, errlen, ATT_ERR_REVOKED, "%s signing "
		    "certificate is revoked", what);
	else if (*verified == NULL && X509_up_ref(signer) == 1)
		*verified = signer;
out:
	X509_free(signer);
	X509_free(root);
	return rv;
}

/* --- TCB levels (verify.go readTcbInfoTcbStatus, readQeTcbStatus) --------- */

static int
sgx_ge(const struct att_pck_ext *e, const struct att_tcb_level *l)
{
	size_t	i;

	if (l->nsgx != ATT_TCB_COMPONENTS)
		return 0;
	for (i = 0; i < ATT_TCB_COMPONENTS; i++)
		if (e->comp[i] < l->sgx[i])
			return 0;
	return 1;
}

static int
tdx_ge(const uint8_t *svn, const struct att_tcb_level *l)
{
	size_t	i;

	if (l->ntdx != ATT_TCB_COMPONENTS)
		return 0;
	/* With a TDX module version (SVN[1]), SVN[0..1] are judged apart. */
	for (i = svn[1] > 0 ? 2 : 0; i < ATT_TCB_COMPONENTS; i++)
		if (svn[i] < l->tdx[i])
			return 0;
	return 1;
}

void
att_tdx_tcb_status(const struct att_pcs_json *c, const struct att_tdx_quote *q,
    struct att_tdx_verified *out)
{
	const uint8_t		*svn = q->tee_tcb_svn.p;
	const struct att_module_id *m = NULL;
	char			 id[16];
	size_t			 i;

	out->tdx_status = ATT_TCB_NONE;
	for (i = 0; i < c->nlevels; i++)
		if (sgx_ge(&out->ext, &c->levels[i]) &&
		    out->ext.pcesvn >= c->levels[i].pcesvn &&
		    tdx_ge(svn, &c->levels[i]))
			break;
	if (i == c->nlevels) {
		out->tcb_no_match = 1;
		snprintf(out->tcb_detail, sizeof(out->tcb_detail), "no "
		    "matching TCB level found");
		return;
	}
	if (svn[1] == 0) {
		out->tdx_status = c->levels[i].status;
		return;
	}
	/* The TDX module identity "TDX_<hex SVN[1]>", first isvsvn <= SVN[0]. */
	snprintf(id, sizeof(id), "TDX_%02x", svn[1]);
	for (i = 0; i < c->nmodules && m == NULL; i++)
		if (strcmp(c->modules[i].id, id) == 0)
			m = &c->modules[i];
	if (m == NULL) {
		out->tcb_no_match = 1;
		snprintf(out->tcb_detail, sizeof(out->tcb_detail), "no TDX "
		    "module identity %s in the TCB info", id);
		return;
	}
	for (i = 0; i < m->nlevels; i++)
		if (svn[0] >= m->levels[i].isvsvn) {
			out->tdx_status = m->levels[i].status;
			return;
		}
	out->tcb_no_match = 1;
	snprintf(out->tcb_detail, sizeof(out->tcb_detail), "no TCB level of "
	    "%s matches the TDX module's SVN %u", id, svn[0]);
}

static enum attest_reason
against_tcb_info(const struct att_pcs_json *c, const struct att_tdx_quote *q,
    long long min_eval, struct att_tdx_verified *out, char *err,
    size_t errlen)
{
	char		fmspc[13], pceid[5];
	size_t		i;

	if (min_eval > 0 && c->eval_num < min_eval)
		return att_err(err, errlen, ATT_ERR_COLLATERAL, "TCB info has "
		    "tcbEvaluationDataNumber %lld, %lld was asked for",
		    c->eval_num, min_eval);
	out->eval_num = c->eval_num;
	att_hex_lower(out->ext.fmspc, 6, fmspc);
	att_hex_lower(out->ext.pceid, 2, pceid);
	if (strlen(c->fmspc) != 12 || strcasecmp(c->fmspc, fmspc) != 0)
		return att_err(err, errlen, ATT_ERR_COLLATERAL, "FMSPC %s of "
		    "the PCK certificate is not the TCB info's %.16s", fmspc,
		    c->fmspc);
	if (strcmp(c->pceid, pceid) != 0)
		return att_err(err, errlen, ATT_ERR_COLLATERAL, "PCEID %s of "
		    "the PCK certificate is not the TCB info's %.8s", pceid,
		    c->pceid);
	if (c->module_mrsigner.len != q->mr_signer_seam.len ||
	    CRYPTO_memcmp(c->module_mrsigner.p, q->mr_signer_seam.p,
	    q->mr_signer_seam.len) != 0)
		return att_err(err, errlen, ATT_ERR_TDX_TCB, "MRSIGNERSEAM is "
		    "not the TCB info's TDX module signer");
	if (c->module_mask.len != q->seam_attributes.len ||
	    c->module_attributes.len != q->seam_attributes.len)
		return att_err(err, errlen, ATT_ERR_TDX_TCB, "TDX module "
		    "attributes mask is not 8 bytes");
	for (i = 0; i < q->seam_attributes.len; i++)
		if ((q->seam_attributes.p[i] & c->module_mask.p[i]) !=
		    c->module_attributes.p[i])
			return att_err(err, errlen, ATT_ERR_TDX_TCB, "SEAM "
			    "attributes do not match the TDX module's");
	att_tdx_tcb_status(c, q, out);
	return ATT_OK;
}

static uint32_t
le32v(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static enum attest_reason
against_qe_identity(const struct att_pcs_json *c,
    const struct att_tdx_quote *q, struct att_tdx_verified *out, char *err,
    size_t errlen)
{
	size_t	i;

	if (c->miscselect.len != 4 || c->miscselect_mask.len != 4)
		return att_err(err, errlen, ATT_ERR_QE_IDENTITY, "QE identity "
		    "MISCSELECT fields are not 4 bytes");
	if ((q->misc_select & le32v(c->miscselect_mask.p)) !=
	    le32v(c->miscselect.p))
		return att_err(err, errlen, ATT_ERR_QE_IDENTITY, "QE "
		    "MISCSELECT does not match the QE identity");
	if (c->attributes_mask.len != q->attributes.len ||
	    c->attributes.len != q->attributes.len)
		return att_err(err, errlen, ATT_ERR_QE_IDENTITY, "QE identity "
		    "attributes are not 16 bytes");
	for (i = 0; i < q->attributes.len; i++)
		if ((q->attributes.p[i] & c->attributes_mask.p[i]) !=
		    c->attributes.p[i])
			return att_err(err, errlen, ATT_ERR_QE_IDENTITY, "QE "
			    "attributes do not match the QE identity");
	if (c->mrsigner.len != q->mr_signer.len ||
	    CRYPTO_memcmp(c->mrsigner.p, q->mr_signer.p, q->mr_signer.len) != 0)
		return att_err(err, errlen, ATT_ERR_QE_IDENTITY, "QE MRSIGNER "
		    "is not the QE identity's");
	if (q->isv_prod_id != c->isvprodid)
		return att_err(err, errlen, ATT_ERR_QE_IDENTITY, "QE ISV "
		    "product ID %u is not the QE identity's %u",
		    q->isv_prod_id, c->isvprodid);
	out->qe_status = ATT_TCB_NONE;
	for (i = 0; i < c->nlevels; i++)
		if (c->levels[i].isvsvn <= q->isv_svn) {
			out->qe_status = c->levels[i].status;
			break;
		}
	return ATT_OK;
}

enum attest_reason
att_tdx_verify_quote(const struct att_tdx_quote *q, X509 *trusted, time_t now,
    struct att_tdx_verified *out, char *err, size_t errlen)
{
	enum attest_reason	rv;
	char			msg[256];

	memset(out, 0, sizeof(*out));
	if (trusted == NULL)
		return att_err(err, errlen, ATT_ERR_TRUST, "no Intel SGX root "
		    "to trust");
	if ((rv = att_tdx_check(q, msg, sizeof(msg))) != ATT_OK ||
	    (rv = pck_chain(q, trusted, now, out->chain, out, msg,
	    sizeof(msg))) != ATT_OK ||
	    (rv = quote_signatures(q, out->chain[0], msg, sizeof(msg))) !=
	    ATT_OK) {
		att_tdx_verified_free(out);
		return att_err(err, errlen, rv, "%s", msg);
	}
	return ATT_OK;
}

enum attest_reason
att_tdx_verify_collateral(const struct att_tdx_quote *q, X509 *trusted,
    const struct att_tdx_docs *docs, time_t now, long long min_eval,
    struct att_tdx_verified *out, char *err, size_t errlen)
{
	X509			**c = out->chain;
	X509			*signer = NULL;
	X509_CRL		*rcrl = NULL;
	struct att_pcs_json	 tcb, qe;
	enum attest_reason	 rv;
	char			 msg[256];

	memset(&tcb, 0, sizeof(tcb));
	memset(&qe, 0, sizeof(qe));
	out->tdx_status = out->qe_status = ATT_TCB_NONE;
	out->tcb_no_match = 0;
	out->tcb_detail[0] = '\0';
	if (docs == NULL || docs->tcb_info == NULL ||
	    docs->qe_identity == NULL || docs->pck_crl == NULL ||
	    docs->root_crl == NULL)
		return att_err(err, errlen, ATT_NEED_FETCH, "Intel PCS "
		    "collateral needed");
	if ((rv = root_crl(docs->root_crl, trusted, now, &rcrl, msg,
	    sizeof(msg))) != ATT_OK ||
	    (rv = pck_crl(docs->pck_crl, c, now, msg, sizeof(msg))) != ATT_OK) {
		rv = att_err(err, errlen, rv, "%s", msg);
		goto out;
	}
	if (att_crl_lists(rcrl, c[1])) {
		rv = att_err(err, errlen, ATT_ERR_REVOKED, "the PCK platform "
		    "CA is revoked");
		goto out;
	}
	if ((rv = pcs_answer(docs->tcb_info, 1, trusted, rcrl, now, &signer,
	    &tcb, msg, sizeof(msg))) != ATT_OK ||
	    (rv = pcs_answer(docs->qe_identity, 0, trusted, rcrl, now, &signer,
	    &qe, msg, sizeof(msg))) != ATT_OK ||
	    (rv = against_tcb_info(&tcb, q, min_eval, out, msg,
	    sizeof(msg))) != ATT_OK ||
	    (rv = against_qe_identity(&qe, q, out, msg, sizeof(msg))) !=
	    ATT_OK) {
		rv = att_err(err, errlen, rv, "%s", msg);
		goto out;
	}
	rv = ATT_OK;
out:
	att_pcs_json_free(&tcb);
	att_pcs_json_free(&qe);
	X509_CRL_free(rcrl);
	X509_free(signer);
	return rv;
}

enum attest_reason
att_tdx_verify(const struct att_tdx_quote *q, X509 *trusted,
    const struct att_tdx_docs *docs, time_t now, long long min_eval,
    struct att_tdx_verified *out, char *err, size_t errlen)
{
	enum attest_reason	rv;

	if ((rv = att_tdx_verify_quote(q, trusted, now, out, err, errlen)) !=
	    ATT_OK)
		return rv;
	return att_tdx_verify_collateral(q, trusted, docs, now, min_eval, out,
	    err, errlen);
}

enum attest_reason
att_tdx_tcb_ok(const struct att_tdx_verified *v, char *err, size_t errlen)
{
	if (v->tdx_status != ATT_TCB_UP_TO_DATE)
		return att_err(err, errlen, ATT_ERR_TDX_TCB, "TDX TCB status "
		    "is not UpToDate: %s", v->tcb_no_match ? v->tcb_detail :
		    att_tcb_status_name(v->tdx_status));
	if (v->qe_status != ATT_TCB_UP_TO_DATE)
		return att_err(err, errlen, ATT_ERR_QE_IDENTITY, "QE TCB "
		    "status is not UpToDate: %s", v->qe_status == ATT_TCB_NONE ?
		    "no matching QE TCB level found" :
		    att_tcb_status_name(v->qe_status));
	return ATT_OK;
}

/* --- validate.TdxQuote with Contrast v1.20's options ------------------------ */

/* validate.go's fixed bits (Intel TDX module ABI). */
#define XFAM_FIXED1		0x00000003ULL
#define XFAM_FIXED0		0x0006DBE7ULL
#define TD_ATTR_SEPT_VE_DIS	(1ULL << 28)
#define TD_ATTR_FIXED0		(0x1ULL | TD_ATTR_SEPT_VE_DIS | 1ULL << 30 | \
				    1ULL << 63)

/* The QE vendor ID of Intel's quoting enclave (Contrast intelQeVendorID). */
static const uint8_t intel_qe_vendor[16] = {
	0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
	0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07
};

static uint64_t
le64v(const uint8_t *p)
{
	uint64_t	v = 0;
	int		i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static int
same(struct att_view v, const uint8_t *want, size_t n)
{
	return v.len == n && CRYPTO_memcmp(v.p, want, n) == 0;
}

enum attest_reason
att_tdx_validate(const struct att_tdx_quote *q, const struct att_pck_ext *e,
    const struct att_tdx_ref *ref, const struct att_expect *x, char *err,
    size_t errlen)
{
	uint8_t		config_id[48], td_attr[8];
	uint64_t	xfam, attr;
	size_t		i;
	char		hex[97];

	/* exactByteMatch, in validate.go's order. */
	if (!same(q->mr_seam, ref->mr_seam, 48))
		return att_err(err, errlen, ATT_ERR_MR_SEAM, "MR_SEAM is not "
		    "the reference value");
	/* Kata/QEMU launch TDs with SEPT_VE_DISABLE only (Contrast). */
	for (i = 0; i < 8; i++)
		td_attr[i] = (uint8_t)(TD_ATTR_SEPT_VE_DIS >> (8 * i));
	if (!same(q->td_attributes, td_attr, 8)) {
		att_hex_lower(q->td_attributes.p, 8, hex);
		return att_err(err, errlen, ATT_ERR_TD_ATTRIBUTES, "TD_ATTRIBUTES "
		    "%s are not SEPT_VE_DISABLE alone%s", hex,
		    q->td_attributes.p[0] & 1 ? " (a debug TD)" : "");
	}
	if (!same(q->xfam, ref->xfam, 8))
		return att_err(err, errlen, ATT_ERR_XFAM, "XFAM is not the "
		    "reference value");
	if (!same(q->mr_td, ref->mr_td, 48))
		return att_err(err, errlen, ATT_ERR_MEASUREMENT, "MR_TD is not "
		    "the reference value");
	memset(config_id, 0, sizeof(config_id));
	memcpy(config_id, x->host_data, 32);
	if (!same(q->mr_config_id, config_id, 48))
		return att_err(err, errlen, ATT_ERR_HOST_DATA, "MR_CONFIG_ID is "
		    "not the coordinator policy hash");
	for (i = 0; i < 4; i++)
		if (!same(q->rtmr[i], ref->rtmr[i], 48))
			return att_err(err, errlen, ATT_ERR_RTMR, "RTMR[%zu] is "
			    "not the reference value", i + 1);
	if (!same(q->report_data, x->report_data, 64))
		return att_err(err, errlen, ATT_ERR_REPORT_DATA, "REPORT_DATA "
		    "does not bind the nonce, manifest and CAs");
	if (!same(q->qe_vendor_id, intel_qe_vendor, 16))
		return att_err(err, errlen, ATT_ERR_QE_VENDOR, "QE vendor ID is "
		    "not Intel's");
	/* The fixed bits of XFAM and TD_ATTRIBUTES. */
	xfam = le64v(q->xfam.p);
	if ((xfam & XFAM_FIXED1) != XFAM_FIXED1 || (xfam & ~XFAM_FIXED0) != 0)
		return att_err(err, errlen, ATT_ERR_XFAM, "XFAM 0x%llx breaks "
		    "the fixed bits", (unsigned long long)xfam);
	attr = le64v(q->td_attributes.p);
	if ((attr & ~TD_ATTR_FIXED0) != 0)
		return att_err(err, errlen, ATT_ERR_TD_ATTRIBUTES,
		    "TD_ATTRIBUTES 0x%llx break the fixed bits",
		    (unsigned long long)attr);
	/* PCKOptions. */
	if (ref->memory_integrity && e->sgx_type != 2)
		return att_err(err, errlen, ATT_ERR_PCK_CONFIG, "SGX type %ld "
		    "is not scalable with integrity", e->sgx_type);
	if (ref->smt_disabled && e->smt_enabled)
		return att_err(err, errlen, ATT_ERR_PCK_CONFIG, "the platform "
		    "has SMT enabled");
	if (ref->static_platform && e->dynamic_platform)
		return att_err(err, errlen, ATT_ERR_PCK_CONFIG, "the platform "
		    "is dynamic (packages can be added)");
	/* Contrast: AllowedPIIDs, if any, must list the PCK's PIID. */
	if (ref->npiids > 0) {
		if (!e->has_piid)
			return att_err(err, errlen, ATT_ERR_PIID, "the PCK "
			    "certificate has no PIID");
		for (i = 0; i < ref->npiids; i++)
			if (ref->piids[i].len == 16 &&
			    memcmp(ref->piids[i].p, e->piid, 16) == 0)
				break;
		if (i == ref->npiids) {
			att_hex_lower(e->piid, 16, hex);
			return att_err(err, errlen, ATT_ERR_PIID, "PIID %s is "
			    "not in AllowedPIIDs", hex);
		}
	}
	return ATT_OK;
}
