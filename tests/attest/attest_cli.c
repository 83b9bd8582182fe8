/*
 * attest_cli: run the verifier on files, for cross-checks against other
 * implementations (the Node simulator) and by hand.  Test tool only.
 *
 *   attest_cli -t cert_chain.pem -n <nonce hex> -d body.json -m manifest
 *       [-v vcek.der] [-c crl.der] [-s unix-time] [-k kds-base] [-C] [-N]
 *
 * -C: the document is the Coordinator JSON, not the /attest body.
 * -N: the caller cannot fetch (ATT_IN_NO_FETCH).
 * Prints "<label> <message>" and, for need_fetch, "vcek_url <url>" and
 * "crl_url <url>" lines.  Exit 0 on ok, 2 on need_fetch, 1 otherwise.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "attest_int.h"

static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE	*f;
	uint8_t	*buf = NULL, *nb;
	size_t	 cap = 0, n;

	*len = 0;
	if ((f = fopen(path, "rb")) == NULL) {
		perror(path);
		exit(1);
	}
	for (;;) {
		if (*len == cap) {
			cap = cap ? cap * 2 : 65536;
			if ((nb = realloc(buf, cap)) == NULL)
				exit(1);
			buf = nb;
		}
		if ((n = fread(buf + *len, 1, cap - *len, f)) == 0)
			break;
		*len += n;
	}
	fclose(f);
	return buf;
}

static void
usage(void)
{
	fprintf(stderr, "usage: attest_cli -t cert_chain.pem -n nonce-hex "
	    "-d doc -m manifest [-v vcek] [-c crl] [-s time] [-k kds-base] "
	    "[-C] [-N]\n");
	exit(1);
}

int
main(int argc, char *argv[])
{
	struct attest_trust	 t;
	struct attest_input	 in;
	struct attest_result	 res;
	uint8_t			 nonce[32], *pem = NULL, *doc = NULL;
	uint8_t			*man = NULL, *vcek = NULL, *crl = NULL;
	size_t			 pem_len = 0, doc_len = 0, man_len = 0;
	size_t			 vcek_len = 0, crl_len = 0;
	const char		*nonce_hex = NULL, *kds = NULL;
	char			 err[256];
	int			 ch, coordinator = 0, flags = 0, rv;
	time_t			 now = time(NULL);

	while ((ch = getopt(argc, argv, "t:n:d:m:v:c:s:k:CN")) != -1) {
		switch (ch) {
		case 't':
			pem = slurp(optarg, &pem_len);
			break;
		case 'n':
			nonce_hex = optarg;
			break;
		case 'd':
			doc = slurp(optarg, &doc_len);
			break;
		case 'm':
			man = slurp(optarg, &man_len);
			break;
		case 'v':
			vcek = slurp(optarg, &vcek_len);
			break;
		case 'c':
			crl = slurp(optarg, &crl_len);
			break;
		case 's':
			now = (time_t)strtoll(optarg, NULL, 10);
			break;
		case 'k':
			kds = optarg;
			break;
		case 'C':
			coordinator = 1;
			break;
		case 'N':
			flags |= ATT_IN_NO_FETCH;
			break;
		default:
			usage();
		}
	}
	if (pem == NULL || nonce_hex == NULL || doc == NULL || man == NULL ||
	    att_hex_decode(nonce_hex, strlen(nonce_hex), nonce, 32) == -1)
		usage();
	attest_trust_init(&t);
	if (attest_trust_load_pem(&t, ATT_PRODUCT_GENOA, (char *)pem, pem_len,
	    1, err, sizeof(err)) != ATT_OK) {
		printf("anchor %s\n", err);
		return 1;
	}
	if (kds != NULL && attest_trust_set_kds_base(&t, kds) == -1)
		usage();
	t.now = now;
	memset(&in, 0, sizeof(in));
	in.nonce = nonce;
	in.nonce_len = sizeof(nonce);
	in.doc = doc;
	in.doc_len = doc_len;
	in.manifest = man;
	in.manifest_len = man_len;
	in.vcek = vcek;
	in.vcek_len = vcek_len;
	in.crl = crl;
	in.crl_len = crl_len;
	in.flags = flags;
	rv = coordinator ? attest_verify_coordinator(&t, &in, &res) :
	    attest_verify_response(&t, &in, &res);
	printf("%s %s\n", attest_reason_label(rv), res.message);
	if (res.need_vcek)
		printf("vcek_url %s\n", res.vcek_url);
	if (res.need_crl)
		printf("crl_url %s\n", res.crl_url);
	attest_result_free(&res);
	attest_trust_free(&t);
	free(pem);
	free(doc);
	free(man);
	free(vcek);
	free(crl);
	return rv == ATT_OK ? 0 : rv == ATT_NEED_FETCH ? 2 : 1;
}
