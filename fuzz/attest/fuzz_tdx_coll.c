/*
 * libFuzzer target: Intel PCS collateral.  The first input byte picks
 * which of the four answers of Intel's sample (tests/attest/intel) the
 * rest replaces: TCB info, QE identity, PCK CRL, root CA CRL, or one of
 * the issuer chain headers; the sample quote is then verified with it at
 * 2023-07-01.  Before that the rest also goes through each parser alone
 * (JSON answer, issuer chain, RFC 3339 time, the cache blob).
 *
 * Oracles: a JSON answer's signed span lies inside the input; the cache
 * blob round-trips; and the collateral verifies only if what Intel
 * signed is unchanged: for a JSON answer the signed member and the
 * signature are Intel's bytes (JSON whitespace around them is not
 * signed), for the rest the input is Intel's, byte for byte.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "attest_int.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#ifndef PM_INTEL_SAMPLE_DIR
#define PM_INTEL_SAMPLE_DIR	"tests/attest/intel"
#endif
#define SAMPLE_NOW	((time_t)1688173200)	/* 2023-07-01T01:00:00Z */

enum { TCB, QE, PCKCRL, ROOTCRL, TCB_CHAIN, QE_CHAIN, PCKCRL_CHAIN, NDOCS };

static const char *const files[NDOCS] = {
	"sample_tcbInfo_response", "sample_qeIdentity_response", "pckcrl",
	"rootcrl.der", "tcbinfo-issuer-chain", "qeidentity-issuer-chain",
	"pckcrl-issuer-chain",
};

static struct {
	uint8_t			*buf[NDOCS];
	size_t			 len[NDOCS];
	uint8_t			*quote;
	size_t			 quote_len;
	struct attest_trust	 t;
	struct att_tdx_quote	 q;
	struct att_tdx_verified	 v;
} S;

static uint8_t *
slurp(const char *name, size_t *len)
{
	char	 path[1024];
	uint8_t	*b;
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", PM_INTEL_SAMPLE_DIR, name);
	if ((f = fopen(path, "rb")) == NULL || (b = malloc(1 << 16)) == NULL)
		abort();
	*len = fread(b, 1, 1 << 16, f);
	fclose(f);
	return b;
}

/*
 * Before the first input, so that no input pays for the samples and the
 * trust anchors, and libFuzzer's malloc/free balance of a run (its cue
 * for a leak check) counts only what the input causes.
 */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int	i;

	for (i = 0; i < NDOCS; i++)
		S.buf[i] = slurp(files[i], &S.len[i]);
	S.quote = slurp("tdx_prod_quote_SPR_E4.dat", &S.quote_len);
	attest_trust_init(&S.t);
	if (att_tdx_from_abi(S.quote, S.quote_len, &S.q, NULL, 0) != ATT_OK ||
	    att_tdx_verify_quote(&S.q, S.t.intel_root, SAMPLE_NOW, &S.v, NULL,
	    0) != ATT_OK)
		abort();
	return 0;
}

/* The signed member and signature of a JSON answer, or -1. */
static int
signed_part(const uint8_t *p, size_t n, int tcb, const uint8_t **sp,
    size_t *sl, uint8_t sig[64])
{
	struct att_pcs_json	c;

	if (att_pcs_json_parse(p, n, tcb, &c, NULL, 0) != ATT_OK)
		return -1;
	*sp = c.signed_p;
	*sl = c.signed_len;
	memcpy(sig, c.sig, 64);
	att_pcs_json_free(&c);
	return 0;
}

static void
parsers(const uint8_t *p, size_t n)
{
	struct att_pcs_json	 c;
	struct attest_pcs_doc	 d, back;
	X509			*a, *b;
	uint8_t			*blob;
	size_t			 len;
	time_t			 t;
	int			 k;

	for (k = 0; k < 2; k++)
		if (att_pcs_json_parse(p, n, k, &c, NULL, 0) == ATT_OK) {
			if (c.signed_p < p || c.signed_p + c.signed_len > p + n)
				abort();
			att_pcs_json_free(&c);
		}
	if (att_pcs_issuer_chain((const char *)p, n, &a, &b, NULL, 0) ==
	    ATT_OK) {
		X509_free(a);
		X509_free(b);
	}
	(void)att_rfc3339((const char *)p, n, &t);
	memset(&d, 0, sizeof(d));
	d.body = p;
	d.body_len = n / 2;
	d.issuer_chain = (const char *)p + n / 2;
	d.issuer_chain_len = n - n / 2;
	if (attest_pcs_pack(&d, &blob, &len) == 0) {
		if (attest_pcs_unpack(blob, len, &back) == -1 ||
		    back.body_len != d.body_len ||
		    back.issuer_chain_len != d.issuer_chain_len ||
		    memcmp(back.body, d.body, d.body_len) != 0)
			abort();
		free(blob);
	}
	(void)attest_pcs_unpack(p, n, &back);
	for (k = ATT_PCS_TCB_INFO; k <= ATT_PCS_ROOT_CRL; k++) {
		d.body = p;
		d.body_len = n;
		(void)attest_pcs_usable(k, &d, SAMPLE_NOW);
	}
}

static void	collateral(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *in, size_t n)
{
	if (n < 1)
		return 0;
	parsers(in + 1, n - 1);
	collateral(in, n);
	/*
	 * As attest_verify_* do: a failed parse leaves OpenSSL's error
	 * queue holding strings, which libFuzzer counts as a possible
	 * leak and answers with a full leak scan of the heap, every run.
	 */
	ERR_clear_error();
	return 0;
}

/* The sample quote verified with one of Intel's answers replaced. */
static void
collateral(const uint8_t *in, size_t n)
{
	struct attest_pcs_doc	 d[4];
	struct att_tdx_docs	 docs;
	const uint8_t		*p = in + 1, *sp, *op;
	const uint8_t		*buf[NDOCS];
	size_t			 len[NDOCS], sl, ol;
	uint8_t			 sig[64], osig[64];
	int			 which, i;

	n--;
	which = in[0] % NDOCS;
	for (i = 0; i < NDOCS; i++) {
		buf[i] = S.buf[i];
		len[i] = S.len[i];
	}
	buf[which] = p;
	len[which] = n;
	memset(d, 0, sizeof(d));
	d[0].body = buf[TCB];
	d[0].body_len = len[TCB];
	d[0].issuer_chain = (const char *)buf[TCB_CHAIN];
	d[0].issuer_chain_len = len[TCB_CHAIN];
	d[1].body = buf[QE];
	d[1].body_len = len[QE];
	d[1].issuer_chain = (const char *)buf[QE_CHAIN];
	d[1].issuer_chain_len = len[QE_CHAIN];
	d[2].body = buf[PCKCRL];
	d[2].body_len = len[PCKCRL];
	d[2].issuer_chain = (const char *)buf[PCKCRL_CHAIN];
	d[2].issuer_chain_len = len[PCKCRL_CHAIN];
	d[3].body = buf[ROOTCRL];
	d[3].body_len = len[ROOTCRL];
	docs.tcb_info = &d[0];
	docs.qe_identity = &d[1];
	docs.pck_crl = &d[2];
	docs.root_crl = &d[3];
	if (att_tdx_verify_collateral(&S.q, S.t.intel_root, &docs, SAMPLE_NOW,
	    0, &S.v, NULL, 0) != ATT_OK)
		return;
	/* Accepted: what Intel signed must be what Intel sent. */
	if (which == TCB || which == QE) {
		if (signed_part(p, n, which == TCB, &sp, &sl, sig) == -1 ||
		    signed_part(S.buf[which], S.len[which], which == TCB, &op,
		    &ol, osig) == -1 || sl != ol || memcmp(sp, op, sl) != 0 ||
		    memcmp(sig, osig, 64) != 0)
			abort();
	} else if (n != S.len[which] || memcmp(p, S.buf[which], n) != 0)
		abort();
}
