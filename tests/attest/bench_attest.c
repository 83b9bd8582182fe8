/*
 * Micro-benchmark: CPU time per full verification of a fixture
 * Coordinator document (envelope to mesh CA), and of its costly parts.
 * Not a test; run by hand: tests/attest/bench_attest [iterations].
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attest_int.h"
#include "fixture.h"

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
	b.vcek = att_cert_parse(d.vcek, d.vcek_len);

	printf("document: %zu bytes response, %zu bytes manifest\n",
	    d.body_len, strlen(p.manifest));
	measure("full verification (attest_verify)", run_verify, &b, n);
	measure("  JSON + manifest parsing", run_parse, &b, n);
	measure("  ID-key recovery (P-384)", run_idkey, &b, n);
	measure("  report signature (ECDSA P-384)", run_sig, &b, n);
	measure("  VCEK chain (2x RSA-4096 PSS)", run_chain, &b, n);

	X509_free(b.vcek);
	attest_trust_free(&trust);
	fx_doc_free(&d);
	fx_params_free(&p);
	fx_pki_free(&pki);
	return 0;
}
