/*
 * libFuzzer target: TDX quotes.  The input is decoded both as a raw
 * quote (abi.QuoteToProto) and as a tdx.QuoteV4 protobuf; whatever
 * decodes is checked (abi.CheckQuoteV4) and, when sound, verified as far
 * as no collateral is needed (PCK chain to Intel's root, quote and QE
 * report signatures, QE binding), with Intel's compiled-in root at the
 * instant Intel's sample is valid.
 *
 * Oracles: every view lies inside the input; a raw quote that checks
 * rebuilds to exactly the input's bytes up to the end of its signed data;
 * its protobuf form (encoded here, independently of the decoder) decodes
 * to the same images; whatever verifies carries the PCK of Intel's
 * sample (nothing else can chain to Intel's root in a fuzzer's hands).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "attest_int.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define SAMPLE_NOW	((time_t)1688173200)	/* 2023-07-01T01:00:00Z */

static void
inside(struct att_view v, const uint8_t *p, size_t n)
{
	if (v.len > 0 && (v.p < p || v.p + v.len > p + n))
		abort();
}

static void
all_inside(const struct att_tdx_quote *q, const uint8_t *p, size_t n)
{
	const struct att_view *v[] = {
		&q->qe_svn, &q->pce_svn, &q->qe_vendor_id, &q->user_data,
		&q->tee_tcb_svn, &q->mr_seam, &q->mr_signer_seam,
		&q->seam_attributes, &q->td_attributes, &q->xfam, &q->mr_td,
		&q->mr_config_id, &q->mr_owner, &q->mr_owner_config,
		&q->report_data, &q->signature, &q->attestation_key,
		&q->cpu_svn, &q->reserved1, &q->attributes, &q->mr_enclave,
		&q->reserved2, &q->mr_signer, &q->reserved3, &q->reserved4,
		&q->qe_report_data, &q->qe_report_signature, &q->qe_auth_data,
		&q->pck_chain, &q->extra_bytes,
	};
	size_t	i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		inside(*v[i], p, n);
	for (i = 0; i < q->nrtmrs && i < ATT_TDX_MAX_RTMRS; i++)
		inside(q->rtmr[i], p, n);
}

/* --- a protobuf writer of our own ---------------------------------------- */

struct w {
	uint8_t	*p;
	size_t	 n, cap;
};

static void
put(struct w *w, const void *p, size_t n)
{
	if (w->n + n > w->cap) {
		w->cap = (w->n + n) * 2 + 64;
		if ((w->p = realloc(w->p, w->cap)) == NULL)
			abort();
	}
	memcpy(w->p + w->n, p, n);
	w->n += n;
}

static void
varint(struct w *w, uint64_t v)
{
	uint8_t	c;

	do {
		c = v & 0x7f;
		v >>= 7;
		c |= v ? 0x80 : 0;
		put(w, &c, 1);
	} while (v);
}

static void
fbytes(struct w *w, uint32_t f, const void *p, size_t n)
{
	varint(w, (uint64_t)f << 3 | 2);
	varint(w, n);
	put(w, p, n);
}

static void
fview(struct w *w, uint32_t f, struct att_view v)
{
	fbytes(w, f, v.p, v.len);
}

static void
fuint(struct w *w, uint32_t f, uint64_t v)
{
	varint(w, (uint64_t)f << 3);
	varint(w, v);
}

static void
fmsg(struct w *w, uint32_t f, struct w *m)
{
	fbytes(w, f, m->p, m->n);
	free(m->p);
	memset(m, 0, sizeof(*m));
}

static void
to_proto(const struct att_tdx_quote *q, struct w *out)
{
	struct w	h = { 0 }, b = { 0 }, sd = { 0 }, c = { 0 }, qc = { 0 };
	struct w	r = { 0 }, a = { 0 }, k = { 0 };
	size_t		i;

	fuint(&h, 1, q->version);
	fuint(&h, 2, q->key_type);
	fuint(&h, 3, q->tee_type);
	fview(&h, 4, q->qe_svn);
	fview(&h, 5, q->pce_svn);
	fview(&h, 6, q->qe_vendor_id);
	fview(&h, 7, q->user_data);
	fview(&b, 1, q->tee_tcb_svn);
	fview(&b, 2, q->mr_seam);
	fview(&b, 3, q->mr_signer_seam);
	fview(&b, 4, q->seam_attributes);
	fview(&b, 5, q->td_attributes);
	fview(&b, 6, q->xfam);
	fview(&b, 7, q->mr_td);
	fview(&b, 8, q->mr_config_id);
	fview(&b, 9, q->mr_owner);
	fview(&b, 10, q->mr_owner_config);
	for (i = 0; i < 4; i++)
		fview(&b, 11, q->rtmr[i]);
	fview(&b, 12, q->report_data);
	fview(&r, 1, q->cpu_svn);
	fuint(&r, 2, q->misc_select);
	fview(&r, 3, q->reserved1);
	fview(&r, 4, q->attributes);
	fview(&r, 5, q->mr_enclave);
	fview(&r, 6, q->reserved2);
	fview(&r, 7, q->mr_signer);
	fview(&r, 8, q->reserved3);
	fuint(&r, 9, q->isv_prod_id);
	fuint(&r, 10, q->isv_svn);
	fview(&r, 11, q->reserved4);
	fview(&r, 12, q->qe_report_data);
	fuint(&a, 1, q->qe_auth_size);
	fview(&a, 2, q->qe_auth_data);
	fuint(&k, 1, q->pck_type);
	fuint(&k, 2, q->pck_size);
	fview(&k, 3, q->pck_chain);
	fmsg(&qc, 1, &r);
	fview(&qc, 2, q->qe_report_signature);
	fmsg(&qc, 3, &a);
	fmsg(&qc, 4, &k);
	fuint(&c, 1, q->cert_type);
	fuint(&c, 2, q->cert_size);
	fmsg(&c, 3, &qc);
	fview(&sd, 1, q->signature);
	fview(&sd, 2, q->attestation_key);
	fmsg(&sd, 3, &c);
	fmsg(out, 1, &h);
	fmsg(out, 2, &b);
	fuint(out, 3, q->signed_data_size);
	fmsg(out, 4, &sd);
}

/* --- the target -------------------------------------------------------------- */

static X509 *
intel_root(void)
{
	static struct attest_trust	t;
	static int			done;

	if (!done) {
		attest_trust_init(&t);
		done = 1;
	}
	return t.intel_root;
}

static void
verify(const struct att_tdx_quote *q)
{
	struct att_tdx_verified	v;
	char			err[256];

	if (att_tdx_verify_quote(q, intel_root(), SAMPLE_NOW, &v, err,
	    sizeof(err)) != ATT_OK)
		return;
	/* Only Intel's sample PCK chains to Intel's root here. */
	if (memcmp(v.ext.fmspc, "\x50\x80\x6f\x00\x00\x00", 6) != 0)
		abort();
	att_tdx_verified_free(&v);
}

static void
images(const struct att_tdx_quote *q, uint8_t *h, uint8_t *b, uint8_t *qe)
{
	att_tdx_header_abi(q, h);
	att_tdx_body_abi(q, b);
	att_tdx_qe_report_abi(q, qe);
}

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	struct att_tdx_quote	 q, r;
	struct w		 pb = { 0 };
	uint8_t			 h1[ATT_TDX_HEADER_SIZE], b1[ATT_TDX_BODY_SIZE];
	uint8_t			 h2[ATT_TDX_HEADER_SIZE], b2[ATT_TDX_BODY_SIZE];
	uint8_t			 q1[ATT_TDX_QE_REPORT_SIZE], q2[ATT_TDX_QE_REPORT_SIZE];
	char			 err[256];
	size_t			 end;

	(void)att_proto_is_tdx(p, n);
	/* As a protobuf. */
	if (att_tdx_from_proto(p, n, &q, err, sizeof(err)) == 0) {
		all_inside(&q, p, n);
		if (att_tdx_check(&q, err, sizeof(err)) == ATT_OK) {
			images(&q, h1, b1, q1);
			verify(&q);
		}
	}
	/* As a raw quote. */
	if (att_tdx_from_abi(p, n, &q, err, sizeof(err)) != ATT_OK)
		return 0;
	all_inside(&q, p, n);
	if (att_tdx_check(&q, err, sizeof(err)) != ATT_OK)
		return 0;
	/* The images are the input's own bytes. */
	images(&q, h1, b1, q1);
	if (memcmp(h1, p, sizeof(h1)) != 0 ||
	    memcmp(b1, p + sizeof(h1), sizeof(b1)) != 0 ||
	    memcmp(q1, p + 0x27c + 0x86, sizeof(q1)) != 0)
		abort();
	end = ATT_TDX_HEADER_SIZE + ATT_TDX_BODY_SIZE + 4 + q.signed_data_size;
	if (end > n || q.extra_bytes.len != n - end)
		abort();
	/* Through our own protobuf encoding: the same images. */
	to_proto(&q, &pb);
	if (att_tdx_from_proto(pb.p, pb.n, &r, err, sizeof(err)) != 0 ||
	    att_tdx_check(&r, err, sizeof(err)) != ATT_OK)
		abort();
	images(&r, h2, b2, q2);
	if (memcmp(h1, h2, sizeof(h1)) != 0 || memcmp(b1, b2, sizeof(b1)) != 0 ||
	    memcmp(q1, q2, sizeof(q1)) != 0 ||
	    r.pck_chain.len != q.pck_chain.len ||
	    memcmp(r.pck_chain.p, q.pck_chain.p, q.pck_chain.len) != 0)
		abort();
	free(pb.p);
	verify(&q);
	return 0;
}
