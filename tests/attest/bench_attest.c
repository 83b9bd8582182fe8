/*
 * Micro-benchmark: CPU time per full verification of a fixture
 * Coordinator document (envelope to mesh CA), SEV-SNP and Intel TDX, and
 * of their costly parts.  Not a test; run by hand or by make
 * bench-attest: tests/attest/bench_attest [iterations].
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attest_int.h"
#include "fixture.h"
#include "tdx_fixture.h"

static double
cpu_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

struct bench {
	struct attest_trust	*trust;
	struct attest_input	*in;
	struct fx_doc		*doc;
	struct fx_params	*p;
	X509			*vcek;
	struct att_manifest	 man;
	struct att_coord	 coord;
};

static int
run_verify(struct bench *b)
{
	struct attest_result	res;
	enum attest_reason	rv;

	rv = attest_verify_response(b->trust, b->in, &res);
	attest_result_free(&res);
	return rv == ATT_OK ? 0 : -1;
}

static int
run_idkey(struct bench *b)
{
	uint8_t	out[48];

	return att_idkey_digest(b->p->measurement, 0x2030000, out);
}

static int
run_sig(struct bench *b)
{
	return att_report_verify_sig(b->doc->abi, b->vcek, NULL, 0) ==
	    ATT_OK ? 0 : -1;
}

static int
run_chain(struct bench *b)
{
	return att_chain_verify(&b->trust->anchor[ATT_PRODUCT_GENOA],
	    ATT_PRODUCT_GENOA, b->vcek, b->p->now, NULL, 0) == ATT_OK ? 0 : -1;
}

static int
run_parse(struct bench *b)
{
	struct att_coord	c;
	struct att_manifest	m;

	if (att_coord_parse((uint8_t *)b->doc->coord, b->doc->coord_len, &c,
	    NULL, 0) != ATT_OK)
		return -1;
	if (att_manifest_parse(c.manifests[0].p, c.manifests[0].len, &m, NULL,
	    0) != ATT_OK) {
		att_coord_free(&c);
		return -1;
	}
	att_manifest_free(&m);
	att_coord_free(&c);
	return 0;
}

/* --- TDX ---------------------------------------------------------------- */

struct tbench {
	struct attest_trust	 trust;
	struct attest_input	 in;
	struct fxt_full		 f;
	struct attest_pcs_doc	 docs[4];
	struct att_tdx_quote	 q;
	struct att_tdx_verified	 v;
	struct att_tdx_docs	 td;
};

static struct tbench	T;

static int
run_tdx_verify(struct bench *b)
{
	struct attest_result	res;
	enum attest_reason	rv;

	(void)b;
	rv = attest_verify_response(&T.trust, &T.in, &res);
	attest_result_free(&res);
	return rv == ATT_OK ? 0 : -1;
}

static int
run_tdx_quote(struct bench *b)
{
	struct att_tdx_verified	v;
	enum attest_reason	rv;

	(void)b;
	rv = att_tdx_verify_quote(&T.q, T.trust.intel_root, T.trust.now, &v,
	    NULL, 0);
	att_tdx_verified_free(&v);
	return rv == ATT_OK ? 0 : -1;
}

static int
run_tdx_collateral(struct bench *b)
{
	(void)b;
	return att_tdx_verify_collateral(&T.q, T.trust.intel_root, &T.td,
	    T.trust.now, 21, &T.v, NULL, 0) == ATT_OK ? 0 : -1;
}

static int
run_tdx_parse(struct bench *b)
{
	struct att_pcs_json	c;

	(void)b;
	if (att_tdx_from_proto(T.f.doc.proto, T.f.doc.proto_len, &T.q, NULL,
	    0) == -1 || att_pcs_json_parse(T.docs[0].body, T.docs[0].body_len,
	    1, &c, NULL, 0) != ATT_OK)
		return -1;
	att_pcs_json_free(&c);
	return 0;
}

static int
tdx_setup(struct fxt_pki *k, struct fxt_params *p)
{
	struct attest_result	res;
	char			fmspc[13];

	fxt_params_default(p, 1780272000L);
	if (fxt_pki_init(k, p->now) == -1 ||
	    fxt_full_build(k, p, NULL, NULL, &T.f) == -1)
		return -1;
	attest_trust_init(&T.trust);
	if (attest_trust_load_intel_root(&T.trust, k->root_pem,
	    strlen(k->root_pem), 1, NULL, 0) != ATT_OK)
		return -1;
	T.trust.now = p->now;
	att_hex_lower(p->fmspc, 6, fmspc);
	fxt_pcs_docs(&T.f.doc, &T.trust, fmspc, 21, T.docs);
	memset(&T.in, 0, sizeof(T.in));
	T.in.nonce = T.f.nonce;
	T.in.nonce_len = 32;
	T.in.doc = (const uint8_t *)T.f.body;
	T.in.doc_len = strlen(T.f.body);
	T.in.manifest = (const uint8_t *)T.f.manifest;
	T.in.manifest_len = strlen(T.f.manifest);
	T.in.pcs = T.docs;
	T.in.npcs = 4;
	/* The URLs the verifier asks for are the fixture's. */
	if (attest_verify_response(&T.trust, &T.in, &res) != ATT_OK) {
		fprintf(stderr, "TDX fixture: %s\n", res.message);
		attest_result_free(&res);
		return -1;
	}
	attest_result_free(&res);
	T.td.tcb_info = &T.docs[0];
	T.td.qe_identity = &T.docs[1];
	T.td.pck_crl = &T.docs[2];
	T.td.root_crl = &T.docs[3];
	if (att_tdx_from_proto(T.f.doc.proto, T.f.doc.proto_len, &T.q, NULL,
	    0) == -1 || att_tdx_verify_quote(&T.q, T.trust.intel_root,
	    T.trust.now, &T.v, NULL, 0) != ATT_OK)
		return -1;
	return 0;
}

static void
measure(const char *name, int (*fn)(struct bench *), struct bench *b, int n)
{
	double	t0, t1;
	int	i;

	if (fn(b) == -1) {		/* warm up, and check it works */
		fprintf(stderr, "%s failed\n", name);
		exit(1);
	}
	t0 = cpu_us();
	for (i = 0; i < n; i++)
		if (fn(b) == -1) {
			fprintf(stderr, "%s failed\n", name);
			exit(1);
		}
	t1 = cpu_us();
	printf("%-34s %9.1f us CPU per call (%d calls)\n", name,
	    (t1 - t0) / n, n);
}

int
main(int argc, char *argv[])
{
	struct fx_pki		pki;
	struct fx_params	p;
	struct fx_doc		d;
	struct attest_trust	trust;
	struct attest_input	in;
	struct bench		b;
	char			err[256];
	int			n = argc > 1 ? atoi(argv[1]) : 200;

	if (n <= 0 || fx_pki_init(&pki, NULL) == -1)
		return 1;
	fx_params_default(&p, &pki);
	if (fx_build(&pki, &p, &d) == -1)
		return 1;
	attest_trust_init(&trust);
	if (attest_trust_load_pem(&trust, ATT_PRODUCT_GENOA, pki.trust_pem,
	    pki.trust_pem_len, 1, err, sizeof(err)) != ATT_OK) {
		fprintf(stderr, "anchors: %s\n", err);
		return 1;
	}
	trust.now = p.now;
	memset(&in, 0, sizeof(in));
	in.nonce = p.nonce;
	in.nonce_len = sizeof(p.nonce);
	in.doc = (const uint8_t *)d.body;
	in.doc_len = d.body_len;
	in.manifest = (const uint8_t *)p.manifest;
	in.manifest_len = strlen(p.manifest);

	memset(&b, 0, sizeof(b));
	b.trust = &trust;
	b.in = &in;
	b.doc = &d;
	b.p = &p;
	b.vcek = att_cert_parse(d.vcek, d.vcek_len, 0);

	printf("document: %zu bytes response, %zu bytes manifest\n",
	    d.body_len, strlen(p.manifest));
	measure("full verification (attest_verify)", run_verify, &b, n);
	measure("  JSON + manifest parsing", run_parse, &b, n);
	measure("  ID-key recovery (P-384)", run_idkey, &b, n);
	measure("  report signature (ECDSA P-384)", run_sig, &b, n);
	measure("  VCEK chain (2x RSA-4096 PSS)", run_chain, &b, n);

	{
		struct fxt_pki		tk;
		struct fxt_params	tp;

		if (tdx_setup(&tk, &tp) == -1) {
			fprintf(stderr, "TDX fixture failed\n");
			return 1;
		}
		printf("TDX document: %zu bytes response, quote %zu bytes, "
		    "collateral %zu bytes\n", strlen(T.f.body),
		    T.f.doc.proto_len, T.docs[0].body_len + T.docs[1].body_len +
		    T.docs[2].body_len + T.docs[3].body_len);
		measure("full TDX verification (attest_verify)",
		    run_tdx_verify, &b, n);
		measure("  quote + TCB info decoding", run_tdx_parse, &b, n);
		measure("  PCK chain, quote and QE signatures", run_tdx_quote,
		    &b, n);
		measure("  collateral (CRLs, TCB info, QE id)",
		    run_tdx_collateral, &b, n);
		att_tdx_verified_free(&T.v);
		attest_trust_free(&T.trust);
		fxt_full_free(&T.f);
		fxt_pki_free(&tk);
	}

	X509_free(b.vcek);
	attest_trust_free(&trust);
	fx_doc_free(&d);
	fx_params_free(&p);
	fx_pki_free(&pki);
	return 0;
}
