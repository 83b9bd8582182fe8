/*
 * libFuzzer target: the JSON side: the /attest envelope, the Coordinator
 * response, the manifest, and the whole verifier up to the point where
 * it needs trust anchors (none are loaded here).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "attest_int.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The default trust anchors, loaded once: a tenth of a run's time. */
static struct attest_trust	t;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	attest_trust_init(&t);
	t.now = 1767225600;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	static const uint8_t	 nonce[ATT_NONCE_LEN];
	struct att_blob		 doc;
	struct att_coord	 c;
	struct att_manifest	 m;
	struct attest_input	 in;
	struct attest_result	 res;
	char			 err[512];

	if (att_response_parse(p, n, &doc, err, sizeof(err)) == ATT_OK)
		free(doc.p);
	if (att_coord_parse(p, n, &c, err, sizeof(err)) == ATT_OK)
		att_coord_free(&c);
	if (att_manifest_parse(p, n, &m, err, sizeof(err)) == ATT_OK) {
		if (m.nsnp > 64)
			abort();
		att_manifest_free(&m);
	}

	memset(&in, 0, sizeof(in));
	in.nonce = nonce;
	in.nonce_len = sizeof(nonce);
	in.doc = p;
	in.doc_len = n;
	in.manifest = p;
	in.manifest_len = n;
	if (attest_verify_coordinator(&t, &in, &res) == ATT_OK)
		abort();	/* impossible without anchors */
	if (res.reason >= ATT_REASON_MAX ||
	    memchr(res.message, '\0', sizeof(res.message)) == NULL)
		abort();
	attest_result_free(&res);
	return 0;
}
