/*
 * X-Wing and the HPKE key schedule against the published vectors:
 * the X-Wing draft vectors (pk from seed, derandomised encapsulation,
 * decapsulation), both hpke-pq KEM 0x647a vectors (shared secret; for
 * HKDF-SHA256 also key, base_nonce, exporter_secret and every export),
 * RFC 9180 A.7 (DHKEM-X25519, export-only) and the derived export-only
 * value of attestation-and-key-exchange.md section 5.2.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "hpke.h"
#include "t.h"
#include "tc.h"
#include "util.h"
#include "xwing.h"

T_GLOBALS;

#define DERIVED_EXPORT	"0005644c57f5a89757f9cec2a399a3cc" \
			"ac6a77b15da049db4e46c025f20fc3ec"

static struct xwing_sk	sk;

static void
test_draft_vectors(void)
{
	json_object	*root = tc_load_json("xwing-draft-test-vectors.json");
	json_object	*v;
	uint8_t		 seed[32], eseed[64], want_pk[XWING_PK_BYTES];
	uint8_t		 want_ct[XWING_CT_BYTES], want_ss[32];
	uint8_t		 pk[XWING_PK_BYTES], ct[XWING_CT_BYTES], ss[32];
	size_t		 i, n = json_object_array_length(root);

	T_BEGIN("xwing draft vectors");
	T_EQ_INT(n, 3);
	for (i = 0; i < n; i++) {
		v = json_object_array_get_idx(root, i);
		T_CHECK(tc_unhex_into(tc_str(v, "seed"), seed, 32) == 0);
		T_CHECK(tc_unhex_into(tc_str(v, "eseed"), eseed, 64) == 0);
		T_CHECK(tc_unhex_into(tc_str(v, "pk"), want_pk,
		    sizeof(want_pk)) == 0);
		T_CHECK(tc_unhex_into(tc_str(v, "ct"), want_ct,
		    sizeof(want_ct)) == 0);
		T_CHECK(tc_unhex_into(tc_str(v, "ss"), want_ss, 32) == 0);
		T_EQ_INT(xwing_keygen(&sk, pk, seed), 0);
		T_EQ_MEM(pk, want_pk, sizeof(pk));
		memset(ct, 0, sizeof(ct));
		T_EQ_INT(xwing_encaps_derand(ct, ss, pk, sizeof(pk), eseed), 0);
		T_EQ_MEM(ct, want_ct, sizeof(ct));
		T_EQ_MEM(ss, want_ss, 32);
		memset(ss, 0, sizeof(ss));
		T_EQ_INT(xwing_decaps(&sk, ss, want_ct, sizeof(want_ct)), 0);
		T_EQ_MEM(ss, want_ss, 32);
	}
	json_object_put(root);
}

static uint8_t *
member_hex(json_object *o, const char *key, size_t *len)
{
	const char	*s = tc_str(o, key);
	uint8_t		*p;

	if (s == NULL || (p = tc_unhex(s, len)) == NULL) {
		fprintf(stderr, "bad member %s\n", key);
		exit(1);
	}
	return p;
}

static void
check_exports(const struct hpke_ctx *ctx, json_object *exports)
{
	json_object	*e, *lo;
	uint8_t		*ectx, *want, out[64];
	size_t		 i, ectxlen, wantlen;

	T_EQ_INT(json_object_array_length(exports), 5);
	for (i = 0; i < json_object_array_length(exports); i++) {
		e = json_object_array_get_idx(exports, i);
		ectx = member_hex(e, "exporter_context", &ectxlen);
		want = member_hex(e, "exported_value", &wantlen);
		T_CHECK(json_object_object_get_ex(e, "L", &lo));
		T_EQ_INT(json_object_get_int(lo), (long long)wantlen);
		T_CHECK(wantlen <= sizeof(out));
		T_EQ_INT(hpke_export(ctx, ectx, ectxlen, out, wantlen), 0);
		T_EQ_MEM(out, want, wantlen);
		free(ectx);
		free(want);
	}
}

static void
test_hpke_pq(void)
{
	json_object	*root = tc_load_json("hpke-pq-test-vectors.json");
	json_object	*v, *o;
	struct hpke_ctx	 ctx;
	uint8_t		*skr, *pkr, *enc, *want_ss, *info, *x;
	uint8_t		 pk[XWING_PK_BYTES], ss[32], out[32], want[32];
	size_t		 i, len, infolen, sslen, seen = 0, scheduled = 0;
	int		 kdf, aead;

	T_BEGIN("hpke-pq 0x647a vectors");
	for (i = 0; i < json_object_array_length(root); i++) {
		v = json_object_array_get_idx(root, i);
		if (!json_object_object_get_ex(v, "kem_id", &o) ||
		    json_object_get_int(o) != XWING_HPKE_KEM_ID)
			continue;
		seen++;
		json_object_object_get_ex(v, "kdf_id", &o);
		kdf = json_object_get_int(o);
		json_object_object_get_ex(v, "aead_id", &o);
		aead = json_object_get_int(o);
		skr = member_hex(v, "skRm", &len);
		T_EQ_INT(len, 32);
		pkr = member_hex(v, "pkRm", &len);
		T_EQ_INT(len, XWING_PK_BYTES);
		enc = member_hex(v, "enc", &len);
		T_EQ_INT(len, XWING_CT_BYTES);
		want_ss = member_hex(v, "shared_secret", &sslen);
		T_EQ_INT(xwing_keygen(&sk, pk, skr), 0);
		T_EQ_MEM(pk, pkr, sizeof(pk));
		T_EQ_INT(xwing_decaps(&sk, ss, enc, XWING_CT_BYTES), 0);
		T_EQ_MEM(ss, want_ss, 32);
		if (kdf == HPKE_KDF_HKDF_SHA256) {
			scheduled++;
			info = member_hex(v, "info", &infolen);
			T_EQ_INT(hpke_key_schedule_base(&ctx, XWING_HPKE_KEM_ID,
			    (uint16_t)kdf, (uint16_t)aead, ss, 32, info,
			    infolen), 0);
			x = member_hex(v, "suite_id", &len);
			T_EQ_MEM(ctx.suite_id, x, HPKE_SUITE_ID_BYTES);
			free(x);
			x = member_hex(v, "key", &len);
			T_EQ_INT(ctx.nk, (long long)len);
			T_EQ_MEM(ctx.key, x, len);
			free(x);
			x = member_hex(v, "base_nonce", &len);
			T_EQ_INT(ctx.nn, (long long)len);
			T_EQ_MEM(ctx.base_nonce, x, len);
			free(x);
			x = member_hex(v, "exporter_secret", &len);
			T_EQ_MEM(ctx.exporter_secret, x, 32);
			free(x);
			T_CHECK(json_object_object_get_ex(v, "exports", &o));
			check_exports(&ctx, o);
			free(info);

			/* The Privatemode suite on the same shared secret. */
			T_EQ_INT(hpke_key_schedule_base(&ctx, XWING_HPKE_KEM_ID,
			    HPKE_KDF_HKDF_SHA256, HPKE_AEAD_EXPORT_ONLY, ss, 32,
			    NULL, 0), 0);
			T_EQ_INT(ctx.nk, 0);
			T_EQ_INT(ctx.nn, 0);
			T_EQ_INT(hpke_export(&ctx, NULL, 0, out, 32), 0);
			tc_unhex_into(DERIVED_EXPORT, want, 32);
			T_EQ_MEM(out, want, 32);
			hpke_ctx_wipe(&ctx);
		}
		free(skr);
		free(pkr);
		free(enc);
		free(want_ss);
	}
	T_EQ_INT(seen, 2);
	T_EQ_INT(scheduled, 1);
	json_object_put(root);
}

/* Value of "name:" in the RFC text: same line, else following hex lines. */
static uint8_t *
rfc_field(const char *text, const char *name, size_t *len)
{
	char		 key[64], hex[1024];
	const char	*p, *e;
	size_t		 n = 0;

	snprintf(key, sizeof(key), "\n%s:", name);
	if ((p = strstr(text, key)) == NULL)
		return NULL;
	p += strlen(key);
	for (;;) {
		while (*p == ' ' || *p == '\n')
			p++;
		e = p + strcspn(p, "\n");
		if (memchr(p, ':', e - p) != NULL || *p == '~' || p == e)
			break;
		if (n + (e - p) >= sizeof(hex))
			return NULL;
		memcpy(hex + n, p, e - p);
		n += e - p;
		p = e;
	}
	hex[n] = '\0';
	return tc_unhex(hex, len);
}

static void
test_rfc9180_a7(void)
{
	struct hpke_ctx	 ctx;
	char		*text;
	uint8_t		*ss, *info, *es, *ectx, *want, out[32];
	const char	*p;
	size_t		 sslen, infolen, eslen, ectxlen, wantlen, textlen;
	size_t		 nexp = 0;

	T_BEGIN("rfc9180 A.7 export-only");
	text = tc_load_text("rfc9180-A7-export-only-base.txt", &textlen);
	ss = rfc_field(text, "shared_secret", &sslen);
	info = rfc_field(text, "info", &infolen);
	es = rfc_field(text, "exporter_secret", &eslen);
	T_CHECK(ss != NULL && info != NULL && es != NULL);
	T_EQ_INT(hpke_key_schedule_base(&ctx, 0x0020, HPKE_KDF_HKDF_SHA256,
	    HPKE_AEAD_EXPORT_ONLY, ss, sslen, info, infolen), 0);
	T_EQ_INT(eslen, 32);
	T_EQ_MEM(ctx.exporter_secret, es, 32);
	/* Each exported value: context, L, value, in that order. */
	for (p = strstr(text, "\nexporter_context:"); p != NULL;
	    p = strstr(p + 1, "\nexporter_context:")) {
		ectx = rfc_field(p, "exporter_context", &ectxlen);
		want = rfc_field(p, "exported_value", &wantlen);
		T_CHECK(ectx != NULL && want != NULL && wantlen == 32);
		T_EQ_INT(hpke_export(&ctx, ectx, ectxlen, out, 32), 0);
		T_EQ_MEM(out, want, 32);
		free(ectx);
		free(want);
		nexp++;
	}
	T_EQ_INT(nexp, 3);
	free(ss);
	free(info);
	free(es);
	free(text);
}

static void
test_negative(void)
{
	uint8_t	seed[32], pk[XWING_PK_BYTES], ct[XWING_CT_BYTES], eseed[64];
	uint8_t	ss[32], ss2[32];
	struct hpke_ctx	ctx;

	T_BEGIN("x-wing and hpke failure paths");
	memset(seed, 1, sizeof(seed));
	memset(eseed, 2, sizeof(eseed));
	T_EQ_INT(xwing_keygen(&sk, pk, seed), 0);
	T_EQ_INT(xwing_encaps_derand(ct, ss, pk, sizeof(pk) - 1, eseed), -1);
	T_EQ_INT(xwing_encaps_derand(ct, ss, pk, sizeof(pk), eseed), 0);
	T_EQ_INT(xwing_decaps(&sk, ss2, ct, sizeof(ct) - 1), -1);
	T_EQ_INT(xwing_decaps(&sk, ss2, ct, sizeof(ct) + 1), -1);
	/* A tampered ML-KEM part is implicitly rejected: a different ss. */
	ct[0] ^= 1;
	T_EQ_INT(xwing_decaps(&sk, ss2, ct, sizeof(ct)), 0);
	T_CHECK(memcmp(ss, ss2, 32) != 0);
	ct[0] ^= 1;
	/* A small-order (here: zero) X25519 share must be refused. */
	memset(ct + MLKEM768_CT_BYTES, 0, 32);
	T_EQ_INT(xwing_decaps(&sk, ss2, ct, sizeof(ct)), -1);
	/* An ML-KEM coefficient >= q in the public key: modulus check. */
	pk[0] = 0xff;
	pk[1] |= 0x0f;
	T_EQ_INT(xwing_encaps_derand(ct, ss, pk, sizeof(pk), eseed), -1);
	/* An X25519 public key of zero: all-zero shared point. */
	T_EQ_INT(xwing_keygen(&sk, pk, seed), 0);
	memset(pk + MLKEM768_EK_BYTES, 0, 32);
	T_EQ_INT(xwing_encaps_derand(ct, ss, pk, sizeof(pk), eseed), -1);
	/* Unsupported KDF or AEAD ids; oversized exports. */
	T_EQ_INT(hpke_key_schedule_base(&ctx, 0x647a, 0x0002, 0xffff, ss, 32,
	    NULL, 0), -1);
	T_EQ_INT(hpke_key_schedule_base(&ctx, 0x647a, 0x0001, 0x0004, ss, 32,
	    NULL, 0), -1);
	T_EQ_INT(hpke_key_schedule_base(&ctx, 0x647a, 0x0001, 0xffff, ss, 32,
	    NULL, 0), 0);
	T_EQ_INT(hpke_export(&ctx, NULL, 0, NULL, 255 * 32 + 1), -1);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_draft_vectors();
	test_hpke_pq();
	test_rfc9180_a7();
	test_negative();
	T_DONE();
}
