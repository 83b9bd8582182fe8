/*
 * Unit tests of the attestation verifier's pure pieces: the spec's
 * derived values (REPORT_DATA example, transition digests, ID-key
 * digests, AMD fingerprints), the decoders and every manifest rule.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "attest_int.h"
#include "t.h"

T_GLOBALS;

static void
hexstr(const uint8_t *p, size_t n, char *out)
{
	att_hex_lower(p, n, out);
}

/* --- spec-derived values --------------------------------------------- */

static void
test_report_data_example(void)
{
	static const char root[] =
	    "-----BEGIN CERTIFICATE-----\nroot\n-----END CERTIFICATE-----\n";
	static const char mesh[] =
	    "-----BEGIN CERTIFICATE-----\nmesh\n-----END CERTIFICATE-----\n";
	struct att_blob	 m[2];
	struct att_coord c;
	uint8_t		 nonce[32], t[32], rd[64], zero[32];
	char		 hex[129];
	int		 i;

	T_BEGIN("spec 1.3 report data example");
	for (i = 0; i < 32; i++)
		nonce[i] = (uint8_t)i;
	m[0].p = (uint8_t *)"{\"example\":\"manifest\"}";
	m[0].len = strlen((char *)m[0].p);
	m[1].p = (uint8_t *)"{\"v\":2}";
	m[1].len = strlen((char *)m[1].p);
	att_transition_digest(m, 1, t);
	hexstr(t, 32, hex);
	T_EQ_STR(hex, "52d8478c46febbc477b03fcf2060eaad4bff9aa6f2d66a16"
	    "0b40d00d971a90bb");
	memset(&c, 0, sizeof(c));
	c.manifests = m;
	c.nmanifests = 1;
	c.root_ca.p = (uint8_t *)root;
	c.root_ca.len = strlen(root);
	c.mesh_ca.p = (uint8_t *)mesh;
	c.mesh_ca.len = strlen(mesh);
	att_report_data(nonce, &c, rd);
	hexstr(rd, 32, hex);
	T_EQ_STR(hex, "0f5436428d0d8efa14d8acab151f0f9f12cd9b23c2176200"
	    "b3e6eb933e078c67");
	memset(zero, 0, sizeof(zero));
	T_EQ_MEM(rd + 32, zero, 32);

	T_BEGIN("spec 1.3 two-manifest transition");
	att_transition_digest(m, 2, t);
	hexstr(t, 32, hex);
	T_EQ_STR(hex, "0cac6bf90975c038359dee66f114a557a43e00c8d526ec07"
	    "92c8abc52070d783");
}

static void
test_idkey(void)
{
	static const struct {
		uint64_t	 policy;
		const char	*digest;
	} v[] = {
		{ 0x2030000, "0904c1ac37e2399a216aacea6f4a15e82817dd0ec0018d39"
		    "bb3356ab1e30e5c2bdb366f4e897f132c0ffe7c7e581c8ea" },
		{ 0x20000, "bd81f942a7c4fc8c227da5b621b6b185e4369d0b44e21253"
		    "d6d0b090b45c084b2d64bef3f7cdc990ab97d4ad5cfb3e34" },
		{ 0x30000, "509a5e09cffe0f5dd47d401e719f2d1b72a5e5bd8f3a92ff"
		    "d9b3a436c3f461102b2e8ed95579e467e112f98a5adea4d3" },
	};
	uint8_t	ld[48], out[48];
	char	hex[97];
	size_t	i;

	for (i = 0; i < 48; i++)
		ld[i] = (uint8_t)(i + 1);
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		T_BEGIN("spec 4.3 ID-key digest");
		T_EQ_INT(att_idkey_digest(ld, v[i].policy, out), 0);
		hexstr(out, 48, hex);
		T_EQ_STR(hex, v[i].digest);
		T_BEGIN("spec 4.3 ID-key digest, generic recovery");
		T_EQ_INT(att_idkey_digest_generic(ld, v[i].policy, out), 0);
		hexstr(out, 48, hex);
		T_EQ_STR(hex, v[i].digest);
	}
	/* The constant point of the fast path, on other inputs too. */
	T_BEGIN("ID-key fast path equals the generic recovery");
	for (i = 0; i < 64; i++) {
		uint8_t	 fast[48];
		size_t	 j;

		for (j = 0; j < 48; j++)
			ld[j] = (uint8_t)(i * 37 + j * 11);
		T_EQ_INT(att_idkey_digest(ld, 0x20000 | (uint64_t)i << 18 |
		    (i & 0xff), fast), 0);
		T_EQ_INT(att_idkey_digest_generic(ld, 0x20000 |
		    (uint64_t)i << 18 | (i & 0xff), out), 0);
		T_EQ_MEM(fast, out, 48);
	}
	/*
	 * The remembered answers: more inputs than slots, each asked twice
	 * in a row and the whole round twice, so hits and evictions both
	 * happen; same launch digest, other policies must not collide.
	 */
	T_BEGIN("ID-key digest, remembered, equals the recovery");
	for (i = 0; i < 2 * 13; i++) {
		uint8_t	 memo[48], again[48];
		uint64_t pol = 0x30000 | (uint64_t)(i % 13) << 8;

		ld[0] = (uint8_t)(i % 13 / 4);
		T_EQ_INT(att_idkey_digest(ld, pol, out), 0);
		T_EQ_INT(att_idkey_digest_cached(ld, pol, memo), 0);
		T_EQ_INT(att_idkey_digest_cached(ld, pol, again), 0);
		T_EQ_MEM(memo, out, 48);
		T_EQ_MEM(again, out, 48);
	}
}

/*
 * The constants must be the spec 2.6 fingerprints, colons removed.  The
 * spec stops at Genoa (Contrast v1.20 manifests allow no Turin): Turin's
 * are those of AMD's Turin cert_chain (data/amd/README.md).
 */
static void
test_fingerprints(void)
{
	static const struct {
		enum attest_product	 line;
		int			 which;
		const char		*spec;
	} v[] = {
		{ ATT_PRODUCT_MILAN, ATT_FP_ASK, "67:D3:03:BD:39:05:FD:38:DB:8B:"
		    "20:E0:79:36:99:87:0E:7F:A6:12:EA:AD:5D:EC:35:82:93:FD:8C:"
		    "0B:AC:1B" },
		{ ATT_PRODUCT_MILAN, ATT_FP_ARK, "69:D0:63:B4:53:44:D2:6A:2E:94:"
		    "E1:F4:21:0D:E4:9E:F5:55:30:82:87:D4:C1:74:44:5C:95:63:9A:"
		    "54:0B:CD" },
		{ ATT_PRODUCT_GENOA, ATT_FP_ASK, "54:64:73:8C:15:46:AE:D5:F2:CE:"
		    "CF:1D:C9:8C:5C:96:0A:92:E8:91:32:38:A6:17:11:BC:90:EC:6E:"
		    "82:85:21" },
		{ ATT_PRODUCT_GENOA, ATT_FP_ARK, "4C:65:98:D1:9C:18:71:9C:5D:FD:"
		    "4A:7D:33:5F:67:4E:5B:FE:1D:8F:80:0C:EA:2C:F2:70:C1:0D:10:"
		    "3D:B2:F1" },
		{ ATT_PRODUCT_TURIN, ATT_FP_ASK, "5B:77:EF:5F:E7:A7:A0:04:FD:90:"
		    "32:66:8F:BA:9D:0F:DA:22:F8:8C:44:42:06:9A:47:96:36:A6:AE:"
		    "3B:31:85" },
		{ ATT_PRODUCT_TURIN, ATT_FP_ARK, "1F:08:41:61:A4:4B:B6:D9:37:78:"
		    "A9:04:87:7D:48:19:CA:FA:5D:05:EF:41:93:B2:DE:D9:DD:9C:73:"
		    "DD:3F:6A" },
	};
	char	buf[65];
	size_t	i, j, k;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		T_BEGIN("spec 2.6 AMD fingerprint");
		for (j = k = 0; v[i].spec[j] != '\0'; j++)
			if (v[i].spec[j] != ':')
				buf[k++] = v[i].spec[j];
		buf[k] = '\0';
		T_EQ_STR(attest_amd_fingerprint[v[i].line][v[i].which], buf);
	}
	T_CHECK(attest_amd_fingerprint[ATT_PRODUCT_UNKNOWN][0] == NULL);
}

/* --- codec ------------------------------------------------------------ */

static int
b64(const char *in, const char *want)
{
	uint8_t	*out;
	size_t	 n;
	int	 ok;

	if (att_b64_decode(in, strlen(in), &out, &n) == -1)
		return want == NULL;
	ok = want != NULL && n == strlen(want) && memcmp(out, want, n) == 0;
	free(out);
	return ok;
}

static void
test_base64(void)
{
	T_BEGIN("base64 (Go StdEncoding)");
	T_CHECK(b64("", ""));
	T_CHECK(b64("QQ==", "A"));
	T_CHECK(b64("QUI=", "AB"));
	T_CHECK(b64("QUJD", "ABC"));
	T_CHECK(b64("QU\r\nJD\n", "ABC"));
	T_CHECK(b64("QQ=\n=", "A"));
	T_CHECK(b64("QR==", "A"));		/* trailing bits ignored */
	T_CHECK(b64("QQ==\r\n", "A"));
	T_CHECK(b64("QQ", NULL));		/* padding required */
	T_CHECK(b64("QQ=", NULL));
	T_CHECK(b64("Q===", NULL));
	T_CHECK(b64("====", NULL));
	T_CHECK(b64("QQ==QQ==", NULL));
	T_CHECK(b64("QUJD=", NULL));
	T_CHECK(b64("Q@==", NULL));
	T_CHECK(b64("-_8=", NULL));		/* no URL alphabet */
	T_CHECK(b64("QUJD QUJD", NULL));
}

static void
test_hex_keys(void)
{
	uint8_t	out[3];

	T_BEGIN("hex");
	T_EQ_INT(att_hex_decode("aBcDeF", 6, out, 3), 0);
	T_CHECK(out[0] == 0xab && out[1] == 0xcd && out[2] == 0xef);
	T_EQ_INT(att_hex_decode("abcd", 4, out, 3), -1);
	T_EQ_INT(att_hex_decode("abcdeg", 6, out, 3), -1);
	T_EQ_INT(att_hex_valid("abc", 3), -1);
	T_EQ_INT(att_hex_valid("", 0), 0);

	T_BEGIN("member names fold like Go");
	T_CHECK(att_key_match("AttestationDoc", "AttestationDoc"));
	T_CHECK(att_key_match("attestationdoc", "AttestationDoc"));
	T_CHECK(att_key_match("ATTESTATIONDOC", "AttestationDoc"));
	T_CHECK(!att_key_match("AttestationDoc ", "AttestationDoc"));
	T_CHECK(!att_key_match("AttestationDo", "AttestationDoc"));
	T_CHECK(att_key_match("\xc5\xbfnp", "snp"));	/* U+017F */
	T_CHECK(att_key_match("\xe2\x84\xaa" "ey", "key"));	/* U+212A */
	T_CHECK(!att_key_match("\xc3\xa9", "e"));
	T_CHECK(!att_key_match("\xc5", "s"));
	T_CHECK(att_key_match("", ""));
}

static void
test_json(void)
{
	struct json_object	*o;
	char			 err[128];
	char			 deep[200];
	size_t			 i;

	T_BEGIN("JSON: last folded member wins, null is absent");
	{
		static const char j[] = "{\"Version\":\"a\",\"VERSION\":\"b\","
		    "\"x\":null}";

		o = att_json_parse((const uint8_t *)j, strlen(j), err,
		    sizeof(err));
	}
	T_CHECK(o != NULL);
	T_EQ_STR(json_object_get_string(att_json_get(o, "version")), "b");
	T_CHECK(att_json_get(o, "x") == NULL);
	T_CHECK(att_json_get(o, "y") == NULL);
	json_object_put(o);

	T_BEGIN("JSON: strict, whole buffer, bounded depth");
	o = att_json_parse((const uint8_t *)"{} \r\n", 5, err, sizeof(err));
	T_CHECK(o != NULL);
	json_object_put(o);
	T_CHECK(att_json_parse((const uint8_t *)"{}x", 3, err,
	    sizeof(err)) == NULL);
	{
		static const char *bad[] = { "{'a':1}", "{\"a\":NaN}",
		    "{\"a\":Infinity}", "{\"a\":\"x\ty\"}", "{\"a\":1.}",
		    "{\"a\":1,}", "[1,]", "{\"a\":01}", "{\"a\":\"\\x41\"}",
		    "{\"a\" 1}", "{1:2}", "{\"a\":[}", "{\"a\":tru}", "-",
		    "{\"a\":-}", "{\"a\":1e+}", "{\"a\":\"\\u12g4\"}", "]",
		    "{\"a\":1}}", "{\"a\":1]" };
		static const char *good[] = { "{\"a\":[1,-0.5e+3,true,false,"
		    "null,{},[],\"\\u00e9\\n\\\"\",\"\xff\"]}", " [ ] ",
		    "{\"a\":\"\\ud800\"}", "0", "\"s\"" };
		size_t k;

		for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
			o = att_json_parse((const uint8_t *)bad[k],
			    strlen(bad[k]), err, sizeof(err));
			T_CHECK(o == NULL);
			if (o != NULL) {
				fprintf(stderr, "  accepted %s\n", bad[k]);
				json_object_put(o);
			}
		}
		for (k = 0; k < sizeof(good) / sizeof(good[0]); k++) {
			o = att_json_parse((const uint8_t *)good[k],
			    strlen(good[k]), err, sizeof(err));
			T_CHECK(o != NULL || strcmp(good[k], "0") == 0);
			json_object_put(o);
		}
	}
	T_CHECK(att_json_parse((const uint8_t *)"", 0, err,
	    sizeof(err)) == NULL);
	T_CHECK(att_json_parse((const uint8_t *)"{\"a\":1}\0", 8, err,
	    sizeof(err)) == NULL);
	for (i = 0; i < 100; i++)
		deep[i] = '[';
	for (; i < 200; i++)
		deep[i] = ']';
	T_CHECK(att_json_parse((const uint8_t *)deep, 200, err,
	    sizeof(err)) == NULL);
}

/* --- protobuf -------------------------------------------------------- */

static int
decode(const uint8_t *p, size_t n, struct att_attestation *a)
{
	return att_proto_decode(p, n, a, NULL, 0);
}

static void
test_proto(void)
{
	struct att_attestation	a;
	/* Unknown fields of every wire type, around a small report. */
	static const uint8_t skip[] = {
		0x20, 0x96, 0x01,			/* 4: varint */
		0x29, 1, 2, 3, 4, 5, 6, 7, 8,		/* 5: fixed64 */
		0x35, 1, 2, 3, 4,			/* 6: fixed32 */
		0x3a, 0x02, 0xff, 0xff,			/* 7: bytes */
		0x0a, 0x0c,				/* report */
		0x08, 0x03,				/* version 3 */
		0xf8, 0x01, 0x05,			/* 31: cur mit 5 */
		0x90, 0x03, 0x01,			/* 50: unknown */
		0x5a, 0x02, 0xaa, 0xbb,			/* 11: 2 bytes */
		0x1a, 0x06, 0x08, 0x02, 0x1a, 0x02, 0x08, 0x01,	/* product */
	};
	static const uint8_t merge[] = {
		0x0a, 0x02, 0x08, 0x02,			/* version 2 */
		0x0a, 0x04, 0x08, 0x03, 0x30, 0x01,	/* version 3, vmpl 1 */
	};
	static const uint8_t trunc32[] = {
		0x0a, 0x06, 0x08, 0x83, 0x80, 0x80, 0x80, 0x10,
	};
	static const uint8_t chain[] = {
		0x12, 0x45,
		0x0a, 0x01, 'V',
		0x3a, 0x2a, 0x0a, 0x24,
		'0', '0', '5', '6', '9', 'e', 'e', '4', '-', 'e', '4', '8',
		'0', '-', '4', 'f', 'b', 'a', '-', 'b', 'b', 'f', '4', '-',
		'4', '5', 'b', '6', '2', '9', '9', '0', '1', '1', '8', '0',
		0x12, 0x02, 'C', 'R',
		0x3a, 0x06, 0x0a, 0x01, 'x', 0x12, 0x01, 'y',
		0x3a, 0x02, 0x18, 0x01,
		0x32, 0x01, 'L',
		0x48, 0x01,
		0x3a, 0x00,
		0x22, 0x01, 'F',
	};
	static const uint8_t bad_utf8[] = {
		0x12, 0x06, 0x3a, 0x04, 0x0a, 0x02, 0xc3, 0x28,
	};
	static const uint8_t group[] = { 0x0b, 0x0c };
	static const uint8_t overflow[] = {
		0x20, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0x02,
	};
	static const uint8_t eleven[] = {
		0x20, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
		0x80, 0x00,
	};
	static const uint8_t zero_field[] = { 0x00, 0x01 };
	static const uint8_t long_len[] = { 0x0a, 0x05, 0x08, 0x01 };
	static const uint8_t mismatch[] = { 0x0a, 0x02, 0x0a, 0x00 };
	static const uint8_t wt_top[] = { 0x08, 0x01 };
	static const uint8_t tdx[] = {
		0x0a, 0x05, 0x08, 0x04, 0x18, 0x81, 0x01,
	};

	T_BEGIN("proto: unknown fields skipped by wire type");
	T_EQ_INT(decode(skip, sizeof(skip), &a), 0);
	T_EQ_INT(a.has_report, 1);
	T_EQ_INT(a.report.version, 3);
	T_EQ_INT(a.report.current_mit_vector, 5);
	T_EQ_INT(a.report.report_data.len, 2);
	T_EQ_INT(a.has_product, 1);
	T_EQ_INT(a.product_name, 2);
	T_EQ_INT(a.has_machine_stepping, 1);
	T_EQ_INT(a.machine_stepping, 1);

	T_BEGIN("proto: repeated message merges, last scalar wins");
	T_EQ_INT(decode(merge, sizeof(merge), &a), 0);
	T_EQ_INT(a.report.version, 3);
	T_EQ_INT(a.report.vmpl, 1);

	T_BEGIN("proto: uint32 keeps the low 32 bits");
	T_EQ_INT(decode(trunc32, sizeof(trunc32), &a), 0);
	T_EQ_INT(a.report.version, 3);

	T_BEGIN("proto: certificate chain and extras map");
	T_EQ_INT(decode(chain, sizeof(chain), &a), 0);
	T_EQ_INT(a.has_chain, 1);
	T_EQ_INT(a.chain.vcek.len, 1);
	T_EQ_INT(a.chain.has_crl, 1);
	T_EQ_INT(a.chain.crl.len, 2);
	T_CHECK(memcmp(a.chain.crl.p, "CR", 2) == 0);
	T_EQ_INT(a.chain.nextras, 4);
	T_EQ_INT(a.chain.vlek.len, 1);
	T_EQ_INT(a.chain.firmware.len, 1);

	T_BEGIN("proto: malformed input refused");
	T_EQ_INT(decode(bad_utf8, sizeof(bad_utf8), &a), -1);
	T_EQ_INT(decode(group, sizeof(group), &a), -1);
	T_EQ_INT(decode(overflow, sizeof(overflow), &a), -1);
	T_EQ_INT(decode(eleven, sizeof(eleven), &a), -1);
	T_EQ_INT(decode(zero_field, sizeof(zero_field), &a), -1);
	T_EQ_INT(decode(long_len, sizeof(long_len), &a), -1);
	T_EQ_INT(decode(mismatch, sizeof(mismatch), &a), -1);
	T_EQ_INT(decode(wt_top, sizeof(wt_top), &a), -1);
	T_EQ_INT(decode(skip, sizeof(skip) - 1, &a), -1);
	T_EQ_INT(decode((const uint8_t *)"", 0, &a), 0);
	T_EQ_INT(a.has_report, 0);

	T_BEGIN("proto: TDX quote detection");
	T_EQ_INT(att_proto_is_tdx(tdx, sizeof(tdx)), 1);
	T_EQ_INT(att_proto_is_tdx(skip, sizeof(skip)), 0);
	T_EQ_INT(att_proto_is_tdx(group, sizeof(group)), 0);
}

/* --- report ---------------------------------------------------------- */

static void
test_bits(void)
{
	struct att_policy	p;
	struct att_platform	pi;
	struct att_signer	s;
	struct attest_tcb	t, u;
	uint8_t			f, m, st;

	T_BEGIN("guest policy bits");
	T_EQ_INT(att_policy_parse(0x2030000, &p), 0);
	T_CHECK(p.smt && p.page_swap_disable && !p.debug && !p.migrate_ma);
	T_EQ_INT(att_policy_bits(&p), 0x2030000);
	T_EQ_INT(att_policy_parse(0x2010000, &p), -1);	/* bit 17 clear */
	T_EQ_INT(att_policy_parse(0x4020000, &p), -1);	/* bit 26 */
	T_EQ_INT(att_policy_parse((uint64_t)1 << 63 | 0x20000, &p), -1);
	T_EQ_INT(att_policy_parse(0x3ff1f2a, &p), 0);
	T_EQ_INT(p.abi_minor, 0x2a);
	T_EQ_INT(p.abi_major, 0x1f);
	T_EQ_INT(att_policy_bits(&p), 0x3ff1f2a);

	T_BEGIN("platform info bits");
	T_EQ_INT(att_platform_parse(0x24, &pi), 0);
	T_CHECK(pi.ecc_en && pi.alias_check_complete && !pi.smt_en);
	T_EQ_INT(att_platform_parse(0xbf, &pi), 0);
	T_CHECK(pi.tio_en && pi.smt_en && pi.tsme_en && pi.rapl_dis &&
	    pi.ciphertext_hiding_dram_en);
	T_EQ_INT(att_platform_parse(0x40, &pi), -1);
	T_EQ_INT(att_platform_parse(0x100, &pi), -1);

	T_BEGIN("signer info bits");
	T_EQ_INT(att_signer_parse(0, &s), 0);
	T_EQ_INT(s.signing_key, ATT_SIGNER_VCEK);
	T_EQ_INT(att_signer_parse(0x07, &s), 0);
	T_CHECK(s.author_key_en && s.mask_chip_key);
	T_EQ_INT(s.signing_key, ATT_SIGNER_VLEK);
	T_EQ_INT(att_signer_parse(7 << 2, &s), 0);
	T_EQ_INT(s.signing_key, ATT_SIGNER_NONE);
	T_EQ_INT(att_signer_parse(2 << 2, &s), -1);
	T_EQ_INT(att_signer_parse(6 << 2, &s), -1);
	T_EQ_INT(att_signer_parse(1 << 5, &s), -1);
	T_EQ_INT(att_signer_parse(0x80000000, &s), -1);

	T_BEGIN("CPUID family/model/stepping and product line");
	att_fms(0x00a10f11, &f, &m, &st);
	T_EQ_INT(f, 0x19);
	T_EQ_INT(m, 0x11);
	T_EQ_INT(st, 1);
	T_EQ_INT(att_fms_to_eax(0x19, 0x11, 1), 0x00a10f11);
	T_EQ_INT(att_fms_to_eax(0x1a, 0x02, 0), 0x00b00f20);
	T_EQ_INT(att_fms_to_eax(0x06, 0x55, 4), 0x00050654);
	T_EQ_INT(att_product_from_fms(0x00a00f11), ATT_PRODUCT_MILAN);
	T_EQ_INT(att_product_from_fms(0x00a10f11), ATT_PRODUCT_GENOA);
	T_EQ_INT(att_product_from_fms(0x00a10f10), ATT_PRODUCT_GENOA);
	T_EQ_INT(att_product_from_fms(0x00b00f21), ATT_PRODUCT_TURIN);
	T_EQ_INT(att_product_from_fms(0x00a11f11), ATT_PRODUCT_GENOA);
	T_EQ_INT(att_product_from_fms(0x00a20f11), ATT_PRODUCT_UNKNOWN);
	T_EQ_INT(att_product_from_fms(0x00b10f11), ATT_PRODUCT_UNKNOWN);
	T_EQ_INT(att_product_from_fms(0), ATT_PRODUCT_UNKNOWN);

	T_BEGIN("TCB layout and order");
	att_tcb_split(0x5800000000000a0bULL | (uint64_t)28 << 48, &t);
	T_EQ_INT(t.bl, 0x0b);
	T_EQ_INT(t.tee, 0x0a);
	T_EQ_INT(t.snp, 28);
	T_EQ_INT(t.ucode, 0x58);
	T_EQ_INT(att_tcb_join(&t), 0x581c000000000a0bULL);
	u = t;
	T_CHECK(att_tcb_le(&t, &u));
	u.spl5 = 1;
	T_CHECK(att_tcb_le(&t, &u));
	T_CHECK(!att_tcb_le(&u, &t));
	T_EQ_STR(att_tcb_first_gt(&u, &t), "SPL5");
	u = t;
	u.ucode = 0xff;
	u.bl = 0;
	T_EQ_STR(att_tcb_first_gt(&u, &t), "UCODE_SPL");
	T_EQ_STR(att_tcb_first_gt(&t, &u), "BL_SPL");
}

/* A report whose every field has a distinct value. */
static void
fill_report(uint8_t *abi)
{
	size_t	i;

	memset(abi, 0, ATT_REPORT_SIZE);
	abi[0] = 3;
	abi[4] = 9;
	abi[0x08] = 0x1f;
	abi[0x0a] = 0x03;			/* policy bits 16, 17 */
	for (i = 0x10; i < 0x30; i++)
		abi[i] = (uint8_t)i;
	abi[0x30] = 2;
	abi[0x34] = 1;
	abi[0x38] = 0x38;
	abi[0x40] = 0x25;
	abi[0x48] = 0x03;
	for (i = 0x50; i < 0x188; i++)
		abi[i] = (uint8_t)(i * 3);
	abi[0x188] = 0x19;
	abi[0x189] = 0x11;
	abi[0x18a] = 0x02;
	for (i = 0x1a0; i < 0x1eb; i++)
		abi[i] = (uint8_t)(i * 5);
	for (i = 0x1ec; i < 0x1ef; i++)
		abi[i] = (uint8_t)i;
	for (i = 0x1f0; i < 0x208; i++)
		abi[i] = (uint8_t)(i * 7);
	for (i = 0x2a0; i < 0x2a0 + 0x90; i++)
		abi[i] = (uint8_t)(i * 11);
}

static void
test_abi(void)
{
	uint8_t			abi[ATT_REPORT_SIZE], out[ATT_REPORT_SIZE];
	struct att_report	r;
	char			err[128];

	fill_report(abi);
	T_BEGIN("ABI report: parse and rebuild byte for byte");
	T_EQ_INT(att_report_from_abi(abi, sizeof(abi), &r, err, sizeof(err)),
	    0);
	T_EQ_INT(r.version, 3);
	T_EQ_INT(r.guest_svn, 9);
	T_EQ_INT(r.policy, 0x3001f);
	T_EQ_INT(r.vmpl, 2);
	T_EQ_INT(r.signature_algo, 1);
	T_EQ_INT(r.platform_info, 0x25);
	T_EQ_INT(r.signer_info, 3);
	T_EQ_INT(r.cpuid1eax_fms, 0x00a10f12);
	T_CHECK(r.measurement.p == abi + 0x90 && r.measurement.len == 48);
	T_CHECK(r.chip_id.p == abi + 0x1a0 && r.chip_id.len == 64);
	T_EQ_INT(r.current_build, abi[0x1e8]);
	T_EQ_INT(r.committed_major, abi[0x1ee]);
	T_EQ_INT(att_report_to_abi(&r, out, err, sizeof(err)), ATT_OK);
	T_EQ_MEM(out, abi, sizeof(abi));

	T_BEGIN("ABI report: reserved bytes must be zero");
	abi[0x4c] = 1;
	T_EQ_INT(att_report_from_abi(abi, sizeof(abi), &r, err, sizeof(err)),
	    -1);
	fill_report(abi);
	abi[0x18b] = 1;
	T_EQ_INT(att_report_from_abi(abi, sizeof(abi), &r, err, sizeof(err)),
	    -1);
	fill_report(abi);
	abi[0x1eb] = 1;
	T_EQ_INT(att_report_from_abi(abi, sizeof(abi), &r, err, sizeof(err)),
	    -1);
	fill_report(abi);
	abi[0x208] = 1;
	T_EQ_INT(att_report_from_abi(abi, sizeof(abi), &r, err, sizeof(err)),
	    -1);
	fill_report(abi);
	abi[0x4a0 - 1] = 1;
	T_EQ_INT(att_report_from_abi(abi, sizeof(abi), &r, err, sizeof(err)),
	    -1);
	fill_report(abi);
	abi[0] = 2;				/* v2: 0x188.. is reserved */
	T_EQ_INT(att_report_from_abi(abi, sizeof(abi), &r, err, sizeof(err)),
	    -1);
	fill_report(abi);
	T_EQ_INT(att_report_from_abi(abi, sizeof(abi) - 1, &r, err,
	    sizeof(err)), -1);

	T_BEGIN("ABI report: rebuild refuses bad fields");
	fill_report(abi);
	att_report_from_abi(abi, sizeof(abi), &r, err, sizeof(err));
	r.measurement.len = 47;
	T_EQ_INT(att_report_to_abi(&r, out, err, sizeof(err)),
	    ATT_ERR_MALFORMED);
	T_EQ_INT(att_report_check_sizes(&r, err, sizeof(err)),
	    ATT_ERR_MALFORMED);
	T_CHECK(strstr(err, "measurement") != NULL);
	r.measurement.len = 48;
	r.current_build = 256;
	T_EQ_INT(att_report_to_abi(&r, out, err, sizeof(err)),
	    ATT_ERR_MALFORMED);
	r.current_build = 1;
	r.signer_info = 3 << 2;
	T_EQ_INT(att_report_to_abi(&r, out, err, sizeof(err)), ATT_ERR_SIGNER);
	/* Version 2 leaves the CPUID bytes zero. */
	r.signer_info = 0;
	r.version = 2;
	T_EQ_INT(att_report_to_abi(&r, out, err, sizeof(err)), ATT_OK);
	T_CHECK(out[0x188] == 0 && out[0x189] == 0 && out[0x18a] == 0);
}

/* --- manifest -------------------------------------------------------- */

#define MEAS	"a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf" \
		"c0c1c2c3c4c5c6c7c8c9cacbcccdcecf"
#define HASH	"1122334455667788990011223344556677889900112233445566778899001122"
#define CHIP	"C0C7CED5DCE3EAF1F8FF060D141B222930373E454C535A61686F767D848B9299" \
		"A0A7AEB5BCC3CAD1D8DFE6EDF4FB020910171E252C333A41484F565D646B7279"
#define MEASX	"x0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf" \
		"c0c1c2c3c4c5c6c7c8c9cacbcccdcecf"
#define HASH2	"2122334455667788990011223344556677889900112233445566778899001122"
#define HASHX	"x122334455667788990011223344556677889900112233445566778899001122"
#define H48	"3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c" \
		"3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c"

/* A pm-shaped manifest; %s hooks for one SNP entry's pieces. */
static char *
manifest(const char *policies, const char *snp, const char *tdx,
    const char *extra)
{
	char	*s;

	if (asprintf(&s, "{\"Policies\":%s,\"ReferenceValues\":{\"snp\":[%s],"
	    "\"tdx\":[%s]}%s}", policies, snp, tdx, extra) < 0)
		abort();
	return s;
}

static const char pol_ok[] = "{\"" HASH "\":{\"SANs\":[\"a\"],"
    "\"WorkloadSecretID\":\"\",\"Role\":\"coordinator\"},"
    "\"0000000000000000000000000000000000000000000000000000000000000001\":"
    "{\"SANs\":null}}";
static const char tdx_ok[] = "{\"Platform\":\"Metal-QEMU-TDX-GPU\","
    "\"MinTCBEvaluationDataNumber\":21,\"MrTd\":\"" H48 "\",\"MrSeam\":\""
    H48 "\",\"Rtmrs\":[\"" H48 "\",\"" H48 "\",\"" H48 "\",\"" H48 "\"],"
    "\"Xfam\":\"e702060000000000\",\"AllowedPIIDs\":[\"AB\"],"
    "\"MemoryIntegrity\":true,\"SMTDisabled\":false,\"StaticPlatform\":true,"
    "\"CPUs\":1}";

static char *
snp_entry(const char *product, const char *meas, const char *tcb,
    const char *gp, const char *pi, const char *chips)
{
	char	*s;

	if (asprintf(&s, "{\"Platform\":\"Metal-QEMU-SNP-GPU\","
	    "\"ProductName\":\"%s\",\"TrustedMeasurement\":\"%s\","
	    "\"MinimumTCB\":%s,\"GuestPolicy\":%s,\"PlatformInfo\":%s,"
	    "\"MinimumMitigationVector\":15,\"AllowedChipIDs\":%s,\"CPUs\":1}",
	    product, meas, tcb, gp, pi, chips) < 0)
		abort();
	return s;
}

#define TCB_OK	"{\"BootloaderVersion\":10,\"TEEVersion\":0,\"SNPVersion\":28," \
		"\"MicrocodeVersion\":88}"
#define GP_OK	"{\"SMT\":true,\"MigrateMA\":false,\"Debug\":false," \
		"\"CXLAllowed\":false,\"PageSwapDisable\":true}"
#define PI_OK	"{\"SMTEnabled\":false,\"ECCEnabled\":true," \
		"\"AliasCheckComplete\":true}"
#define CHIPS_OK "[\"" CHIP "\"]"

static enum attest_reason
parse_manifest(const char *json, struct att_manifest *m)
{
	char	err[512];

	return att_manifest_parse((const uint8_t *)json, strlen(json), m, err,
	    sizeof(err));
}

/* Expect one SNP entry variant to be refused. */
static void
bad_snp(const char *name, const char *product, const char *meas,
    const char *tcb, const char *gp, const char *pi, const char *chips)
{
	struct att_manifest	 m;
	char			*e, *j;

	T_BEGIN(name);
	e = snp_entry(product, meas, tcb, gp, pi, chips);
	j = manifest(pol_ok, e, tdx_ok, "");
	T_EQ_INT(parse_manifest(j, &m), ATT_ERR_MANIFEST_INVALID);
	T_EQ_INT(m.nsnp, 0);
	free(e);
	free(j);
}

static void
bad_manifest(const char *name, const char *json)
{
	struct att_manifest	m;

	T_BEGIN(name);
	T_EQ_INT(parse_manifest(json, &m), ATT_ERR_MANIFEST_INVALID);
}

/* A valid minimal SNP entry plus one bad member. */
static void
bad_entry(const char *name, const char *member)
{
	char	*e, *j;

	if (asprintf(&e, "{\"ProductName\":\"Genoa\",\"TrustedMeasurement\":"
	    "\"" MEAS "\",\"MinimumTCB\":" TCB_OK ",\"GuestPolicy\":" GP_OK
	    "%s}", member) < 0)
		abort();
	j = manifest(pol_ok, e, "", "");
	bad_manifest(name, j);
	free(e);
	free(j);
}

static void
bad_doc(const char *name, const char *policies, const char *tdx,
    const char *extra)
{
	char	*e, *j;

	e = snp_entry("Genoa", MEAS, TCB_OK, GP_OK, PI_OK, CHIPS_OK);
	j = manifest(policies, e, tdx, extra);
	bad_manifest(name, j);
	free(e);
	free(j);
}

static void
test_manifest_ok(void)
{
	struct att_manifest	 m;
	char			*e, *j, *lower;
	uint8_t			 hash[32];
	size_t			 i;

	T_BEGIN("manifest: pm-shaped manifest");
	e = snp_entry("Genoa", MEAS, TCB_OK, GP_OK, PI_OK, CHIPS_OK);
	j = manifest(pol_ok, e, tdx_ok, ",\"WorkloadOwnerKeyDigests\":[],"
	    "\"SeedshareOwnerPubKeys\":[],\"Unknown\":{\"x\":[1,2]}");
	T_EQ_INT(parse_manifest(j, &m), ATT_OK);
	att_hex_decode(HASH, 64, hash, 32);
	T_EQ_MEM(m.coordinator_hash, hash, 32);
	T_EQ_INT(m.nsnp, 1);
	T_EQ_INT(m.ntdx, 1);
	T_EQ_INT(m.snp[0].product, ATT_PRODUCT_GENOA);
	T_EQ_INT(m.snp[0].measurement[0], 0xa0);
	T_EQ_INT(m.snp[0].measurement[47], 0xcf);
	T_EQ_INT(m.snp[0].min_tcb.bl, 10);
	T_EQ_INT(m.snp[0].min_tcb.snp, 28);
	T_EQ_INT(m.snp[0].min_tcb.ucode, 88);
	T_EQ_INT(att_policy_bits(&m.snp[0].guest_policy), 0x2030000);
	T_CHECK(m.snp[0].platform_info.ecc_en &&
	    m.snp[0].platform_info.alias_check_complete &&
	    !m.snp[0].platform_info.smt_en);
	T_EQ_INT(m.snp[0].min_mitigation, 15);
	T_EQ_INT(m.snp[0].nchip_ids, 1);
	T_EQ_INT(m.snp[0].chip_ids[0][0], 0xc0);
	att_manifest_free(&m);

	/* Go matches member names case-insensitively; hex in any case. */
	T_BEGIN("manifest: folded member names, upper-case hex");
	lower = strdup(j);
	for (i = 0; lower[i] != '\0'; i++)
		if (lower[i] >= 'A' && lower[i] <= 'Z' &&
		    strncmp(lower + i, "Genoa", 5) != 0 &&
		    strncmp(lower + i, CHIP, 8) != 0)
			lower[i] = (char)(lower[i] + 32);
	/* "Genoa" must stay as it is: ProductName compares exactly. */
	T_EQ_INT(parse_manifest(lower, &m), ATT_OK);
	T_EQ_INT(m.nsnp, 1);
	att_manifest_free(&m);
	free(lower);
	free(e);
	free(j);

	e = snp_entry("Genoa", "A0A1A2A3A4A5A6A7A8A9AAABACADAEAFB0B1B2B3B4B5B6B7"
	    "B8B9BABBBCBDBEBFC0C1C2C3C4C5C6C7C8C9CACBCCCDCECF", TCB_OK, GP_OK,
	    PI_OK, "[]");
	j = manifest(pol_ok, e, "", "");
	T_EQ_INT(parse_manifest(j, &m), ATT_OK);
	T_EQ_INT(m.snp[0].measurement[1], 0xa1);
	T_EQ_INT(m.snp[0].nchip_ids, 0);
	T_EQ_INT(m.ntdx, 0);
	att_manifest_free(&m);
	free(e);
	free(j);

	/* SVNs are JSON numbers, truncated like Go's float64 -> uint8. */
	T_BEGIN("manifest: SVN as a float");
	e = snp_entry("Milan", MEAS, "{\"BootloaderVersion\":3.9,\"TEEVersion\":"
	    "0,\"SNPVersion\":2.8e1,\"MicrocodeVersion\":255}", GP_OK, PI_OK,
	    "null");
	j = manifest(pol_ok, e, "", "");
	T_EQ_INT(parse_manifest(j, &m), ATT_OK);
	T_EQ_INT(m.snp[0].product, ATT_PRODUCT_MILAN);
	T_EQ_INT(m.snp[0].min_tcb.bl, 3);
	T_EQ_INT(m.snp[0].min_tcb.snp, 28);
	T_EQ_INT(m.snp[0].min_tcb.ucode, 255);
	att_manifest_free(&m);
	free(e);
	free(j);

	T_BEGIN("manifest: ABI minor 31 allowed");
	e = snp_entry("Genoa", MEAS, TCB_OK, "{\"ABIMinor\":31,\"SMT\":true}",
	    "null", "[]");
	j = manifest(pol_ok, e, "", "");
	T_EQ_INT(parse_manifest(j, &m), ATT_OK);
	T_EQ_INT(att_policy_bits(&m.snp[0].guest_policy), 0x3001f);
	att_manifest_free(&m);
	free(e);
	free(j);

	T_BEGIN("manifest: only TDX reference values");
	j = manifest(pol_ok, "", tdx_ok, "");
	T_EQ_INT(parse_manifest(j, &m), ATT_OK);
	T_EQ_INT(m.nsnp, 0);
	T_EQ_INT(m.ntdx, 1);
	att_manifest_free(&m);
	free(j);
}

static void
test_manifest_bad(void)
{
	char	*e;

	bad_snp("manifest: ProductName Turin", "Turin", MEAS, TCB_OK, GP_OK,
	    PI_OK, CHIPS_OK);
	bad_snp("manifest: ProductName is case-sensitive", "genoa", MEAS,
	    TCB_OK, GP_OK, PI_OK, CHIPS_OK);
	bad_snp("manifest: measurement too short", "Genoa", MEAS "0",
	    TCB_OK, GP_OK, PI_OK, CHIPS_OK);
	bad_snp("manifest: measurement not hex", "Genoa",
	    MEASX, TCB_OK, GP_OK, PI_OK, CHIPS_OK);
	bad_snp("manifest: MinimumTCB field missing", "Genoa", MEAS,
	    "{\"BootloaderVersion\":10,\"TEEVersion\":0,\"SNPVersion\":28}",
	    GP_OK, PI_OK, CHIPS_OK);
	bad_snp("manifest: MinimumTCB missing", "Genoa", MEAS, "null", GP_OK,
	    PI_OK, CHIPS_OK);
	bad_snp("manifest: SVN 256", "Genoa", MEAS,
	    "{\"BootloaderVersion\":256,\"TEEVersion\":0,\"SNPVersion\":28,"
	    "\"MicrocodeVersion\":88}", GP_OK, PI_OK, CHIPS_OK);
	bad_snp("manifest: SVN negative", "Genoa", MEAS,
	    "{\"BootloaderVersion\":-1,\"TEEVersion\":0,\"SNPVersion\":28,"
	    "\"MicrocodeVersion\":88}", GP_OK, PI_OK, CHIPS_OK);
	bad_snp("manifest: SVN as string", "Genoa", MEAS,
	    "{\"BootloaderVersion\":\"10\",\"TEEVersion\":0,\"SNPVersion\":28,"
	    "\"MicrocodeVersion\":88}", GP_OK, PI_OK, CHIPS_OK);
	bad_snp("manifest: ABIMajor 1", "Genoa", MEAS, TCB_OK,
	    "{\"ABIMajor\":1,\"SMT\":true}", PI_OK, CHIPS_OK);
	bad_snp("manifest: ABIMinor 5", "Genoa", MEAS, TCB_OK,
	    "{\"ABIMinor\":5,\"SMT\":true}", PI_OK, CHIPS_OK);
	bad_snp("manifest: ABIMinor 1.0", "Genoa", MEAS, TCB_OK,
	    "{\"ABIMinor\":1.0,\"SMT\":true}", PI_OK, CHIPS_OK);
	bad_snp("manifest: ABIMinor 256", "Genoa", MEAS, TCB_OK,
	    "{\"ABIMinor\":256,\"SMT\":true}", PI_OK, CHIPS_OK);
	bad_snp("manifest: SMT false", "Genoa", MEAS, TCB_OK,
	    "{\"SMT\":false}", PI_OK, CHIPS_OK);
	bad_snp("manifest: SMT as string", "Genoa", MEAS, TCB_OK,
	    "{\"SMT\":\"true\"}", PI_OK, CHIPS_OK);
	bad_snp("manifest: Debug", "Genoa", MEAS, TCB_OK,
	    "{\"SMT\":true,\"Debug\":true}", PI_OK, CHIPS_OK);
	bad_snp("manifest: MigrateMA", "Genoa", MEAS, TCB_OK,
	    "{\"SMT\":true,\"MigrateMA\":true}", PI_OK, CHIPS_OK);
	bad_snp("manifest: SingleSocket", "Genoa", MEAS, TCB_OK,
	    "{\"SMT\":true,\"SingleSocket\":true}", PI_OK, CHIPS_OK);
	bad_snp("manifest: CXLAllowed", "Genoa", MEAS, TCB_OK,
	    "{\"SMT\":true,\"CXLAllowed\":true}", PI_OK, CHIPS_OK);
	bad_snp("manifest: MemAES256XTS", "Genoa", MEAS, TCB_OK,
	    "{\"SMT\":true,\"MemAES256XTS\":true}", PI_OK, CHIPS_OK);
	bad_snp("manifest: RAPLDis", "Genoa", MEAS, TCB_OK,
	    "{\"SMT\":true,\"RAPLDis\":true}", PI_OK, CHIPS_OK);
	bad_snp("manifest: CipherTextHidingDRAM", "Genoa", MEAS, TCB_OK,
	    "{\"SMT\":true,\"CipherTextHidingDRAM\":true}", PI_OK, CHIPS_OK);
	bad_snp("manifest: GuestPolicy not an object", "Genoa", MEAS, TCB_OK,
	    "[]", PI_OK, CHIPS_OK);
	bad_snp("manifest: PlatformInfo flag not a bool", "Genoa", MEAS,
	    TCB_OK, GP_OK, "{\"ECCEnabled\":1}", CHIPS_OK);
	bad_snp("manifest: chip ID too short", "Genoa", MEAS, TCB_OK, GP_OK,
	    PI_OK, "[\"C0C7\"]");
	bad_snp("manifest: chip ID not a string", "Genoa", MEAS, TCB_OK,
	    GP_OK, PI_OK, "[7]");

	bad_doc("manifest: no coordinator policy",
	    "{\"" HASH "\":{\"Role\":\"\"}}", tdx_ok, "");
	bad_doc("manifest: two coordinator policies",
	    "{\"" HASH "\":{\"Role\":\"coordinator\"},\"" HASH2
	    "\":{\"Role\":\"coordinator\"}}", tdx_ok, "");
	bad_doc("manifest: unknown role",
	    "{\"" HASH "\":{\"Role\":\"coordinator\"},\"" HASH2
	    "\":{\"Role\":\"admin\"}}", tdx_ok, "");
	bad_doc("manifest: policy hash not hex",
	    "{\"" HASHX "\":{\"Role\":\"coordinator\"}}", tdx_ok, "");
	bad_doc("manifest: policy hash length",
	    "{\"" HASH "00\":{\"Role\":\"coordinator\"}}", tdx_ok, "");
	bad_doc("manifest: policy entry not an object",
	    "{\"" HASH "\":[\"coordinator\"]}", tdx_ok, "");
	bad_doc("manifest: TDX MrTd too short", pol_ok,
	    "{\"MrTd\":\"00\",\"MrSeam\":\"" H48 "\",\"Xfam\":\"00\"}", "");
	bad_doc("manifest: TDX three RTMRs", pol_ok,
	    "{\"MrTd\":\"" H48 "\",\"MrSeam\":\"" H48 "\",\"Xfam\":"
	    "\"e702060000000000\",\"Rtmrs\":[\"" H48 "\",\"" H48 "\",\"" H48
	    "\"]}", "");
	bad_doc("manifest: TDX PIID not hex", pol_ok,
	    "{\"MrTd\":\"" H48 "\",\"MrSeam\":\"" H48 "\",\"Xfam\":"
	    "\"e702060000000000\",\"Rtmrs\":[\"" H48 "\",\"" H48 "\",\"" H48
	    "\",\"" H48 "\"],\"AllowedPIIDs\":[\"zz\"]}", "");
	bad_doc("manifest: seed share key not PKCS#1", pol_ok, tdx_ok,
	    ",\"SeedshareOwnerPubKeys\":[\"3003020101\"]");
	bad_doc("manifest: workload owner digest not hex", pol_ok, tdx_ok,
	    ",\"WorkloadOwnerKeyDigests\":[\"abcx\"]");
	bad_doc("manifest: workload owner key not hex", pol_ok, tdx_ok,
	    ",\"WorkloadOwnerPubKeys\":[\"0\"]");
	bad_doc("manifest: the last ReferenceValues member wins", pol_ok,
	    tdx_ok, ",\"referenceValues\":{\"snp\":[{}]}");
	bad_entry("manifest: mitigation vector negative",
	    ",\"MinimumMitigationVector\":-1");
	bad_entry("manifest: mitigation vector as string",
	    ",\"MinimumMitigationVector\":\"15\"");
	bad_entry("manifest: CPUs as float", ",\"CPUs\":1.5");
	bad_entry("manifest: Platform not a string", ",\"Platform\":1");
	bad_manifest("manifest: no reference values",
	    "{\"Policies\":{\"" HASH "\":{\"Role\":\"coordinator\"}}}");
	bad_manifest("manifest: not JSON", "{\"Policies\":");
	bad_manifest("manifest: not an object", "[]");
	e = strdup("{\"Policies\":{\"" HASH "\":{\"Role\":\"coordinator\"}},"
	    "\"ReferenceValues\":{\"snp\":[null]}}");
	bad_manifest("manifest: null SNP entry", e);
	free(e);
}

/* --- Coordinator JSON ------------------------------------------------ */

static void
test_coord(void)
{
	struct att_coord	c;
	char			err[128];
	static const char	doc[] = "{\"Version\":\"v1.20.0\","
	    "\"RAW_ATTESTATION_DOC\":\"AQI=\",\"manifests\":[\"e30=\",null],"
	    "\"policies\":[\"cA==\"],\"root_ca\":\"cm9vdA==\","
	    "\"mesh_ca\":\"bWVzaA==\",\"attestation_type\":[1,3,9901,2,1],"
	    "\"future\":{\"a\":1}}";
	static const char bad_type[] = "{\"attestation_type\":[1,\"3\"]}";
	static const char bad_version[] = "{\"version\":3}";

	T_BEGIN("Coordinator JSON: fields, folded names, unknown members");
	T_EQ_INT(att_coord_parse((const uint8_t *)doc, strlen(doc), &c, err,
	    sizeof(err)), ATT_OK);
	T_EQ_STR(c.version, "v1.20.0");
	T_EQ_INT(c.raw_doc.len, 2);
	T_EQ_INT(c.nmanifests, 2);
	T_EQ_INT(c.manifests[0].len, 2);
	T_EQ_INT(c.manifests[1].len, 0);
	T_EQ_INT(c.npolicies, 1);
	T_EQ_INT(c.root_ca.len, 4);
	T_EQ_INT(c.mesh_ca.len, 4);
	T_EQ_INT(c.evidence, ATT_EV_SNP);
	att_coord_free(&c);

	T_BEGIN("Coordinator JSON: type errors");
	T_EQ_INT(att_coord_parse((const uint8_t *)bad_type, strlen(bad_type),
	    &c, err, sizeof(err)), ATT_ERR_MALFORMED);
	T_EQ_INT(att_coord_parse((const uint8_t *)bad_version,
	    strlen(bad_version), &c, err, sizeof(err)), ATT_ERR_MALFORMED);
}

/* --- misc ------------------------------------------------------------ */

static void
test_misc(void)
{
	int	i, j;

	T_BEGIN("reason labels are unique");
	for (i = 0; i < ATT_REASON_MAX; i++) {
		T_CHECK(attest_reason_label(i) != NULL);
		T_CHECK(attest_strerror(i) != NULL);
		for (j = 0; j < i; j++)
			T_CHECK(strcmp(attest_reason_label(i),
			    attest_reason_label(j)) != 0);
	}
	T_EQ_STR(attest_reason_label(ATT_ERR_REPORT_SIGNATURE),
	    "report_signature");
	T_EQ_STR(attest_strerror(ATT_ERR_TDX_UNSUPPORTED),
	    "TDX coordinator evidence not supported");
	T_EQ_STR(attest_reason_label(ATT_REASON_MAX), "unknown");
	T_EQ_INT(ATT_ERR_ANCHOR, 33);
	T_EQ_STR(attest_product_name(ATT_PRODUCT_GENOA), "Genoa");
	T_EQ_STR(attest_product_name(ATT_PRODUCT_UNKNOWN), "Unknown");

	T_BEGIN("KDS cache policy");
	T_EQ_INT(attest_kds_cache_policy("https://kdsintf.amd.com/vcek/v1/"
	    "Genoa/crl"), ATT_CACHE_REFRESH);
	T_EQ_INT(attest_kds_cache_policy("https://kdsintf.amd.com/vcek/v1/"
	    "Genoa/" CHIP "?blSPL=1&teeSPL=0&snpSPL=2&ucodeSPL=3"),
	    ATT_CACHE_FOREVER);
	T_EQ_INT(attest_kds_cache_policy("https://kdsintf.amd.com/vcek/v1/"
	    "Genoa/cert_chain"), ATT_CACHE_NEVER);
	T_EQ_INT(attest_kds_cache_policy("https://kdsintf.amd.com/vcek/v1/"
	    "Genoa/" CHIP), ATT_CACHE_NEVER);
	T_EQ_INT(attest_kds_cache_policy("https://example.com/"),
	    ATT_CACHE_NEVER);
	T_EQ_INT(attest_kds_cache_policy(NULL), ATT_CACHE_NEVER);
}


/* --- real AMD material -------------------------------------------------- */

/* Where the build found the committed copies (attest.mk). */
#ifndef PM_AMD_CHAIN_SRCDIR
#error PM_AMD_CHAIN_SRCDIR must name data/amd
#endif
#ifndef PM_AMD_SAMPLE_DIR
#error PM_AMD_SAMPLE_DIR must name tests/attest/amd
#endif

static uint8_t *
slurp(const char *dir, const char *name, size_t *len)
{
	char	 path[1024];
	uint8_t	*buf;
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "%s: cannot open\n", path);
		return NULL;
	}
	if ((buf = malloc(1 << 20)) == NULL)
		abort();
	*len = fread(buf, 1, 1 << 20, f);
	fclose(f);
	return buf;
}

/* AMD's chain of a line, as shipped, loaded with the pinned fingerprints. */
static int
load_shipped(struct attest_trust *t, enum attest_product line,
    const char *file)
{
	uint8_t	*pem;
	size_t	 len = 0;
	char	 err[256];
	int	 rv;

	if ((pem = slurp(PM_AMD_CHAIN_SRCDIR, file, &len)) == NULL)
		return -1;
	rv = attest_trust_load_pem(t, line, (char *)pem, len, 0, err,
	    sizeof(err));
	if (rv != ATT_OK)
		fprintf(stderr, "%s: %s\n", file, err);
	free(pem);
	return rv == ATT_OK ? 0 : -1;
}

/*
 * A real Milan VCEK and a report it signed (go-sev-guest's public test
 * data, tests/attest/amd/) against AMD's chains as the package ships
 * them (data/amd/).
 */
static void
test_real_amd(void)
{
	struct attest_trust	 t;
	struct att_report	 r;
	struct att_vcek_ext	 ext;
	uint8_t			*genoa, *vcek, *rep, abi[ATT_REPORT_SIZE];
	size_t			 gl = 0, vl = 0, rl = 0;
	char			 err[256];
	X509			*x = NULL;

	attest_trust_init(&t);
	T_BEGIN("real AMD cert_chain files match the fingerprints");
	T_EQ_INT(load_shipped(&t, ATT_PRODUCT_MILAN, "milan-cert-chain.pem"),
	    0);
	T_EQ_INT(load_shipped(&t, ATT_PRODUCT_GENOA, "genoa-cert-chain.pem"),
	    0);
	T_EQ_INT(load_shipped(&t, ATT_PRODUCT_TURIN, "turin-cert-chain.pem"),
	    0);
	genoa = slurp(PM_AMD_CHAIN_SRCDIR, "genoa-cert-chain.pem", &gl);
	T_CHECK(genoa != NULL);
	if (genoa != NULL)
		T_EQ_INT(attest_trust_load_pem(&t, ATT_PRODUCT_MILAN,
		    (char *)genoa, gl, 0, err, sizeof(err)), ATT_ERR_ANCHOR);
	T_EQ_INT(attest_trust_is_test_only(&t), 0);

	T_BEGIN("real Milan VCEK and report");
	vcek = slurp(PM_AMD_SAMPLE_DIR, "vcek.testcer", &vl);
	rep = slurp(PM_AMD_SAMPLE_DIR, "attestation.bin", &rl);
	T_CHECK(vcek != NULL && rep != NULL && rl == ATT_REPORT_SIZE);
	if (vcek != NULL)
		x = att_cert_parse(vcek, vl, 0);
	T_CHECK(x != NULL);
	if (x == NULL || rep == NULL || rl != ATT_REPORT_SIZE)
		goto out;
	T_EQ_INT(att_vcek_check(x, &ext, err, sizeof(err)), ATT_OK);
	T_EQ_INT(att_chain_verify(&t.anchor[ATT_PRODUCT_MILAN],
	    ATT_PRODUCT_MILAN, x, 1700000000, err, sizeof(err)), ATT_OK);
	T_EQ_INT(att_chain_verify(&t.anchor[ATT_PRODUCT_GENOA],
	    ATT_PRODUCT_GENOA, x, 1700000000, err, sizeof(err)),
	    ATT_ERR_CERT_CHAIN);
	T_EQ_INT(att_chain_verify(&t.anchor[ATT_PRODUCT_TURIN],
	    ATT_PRODUCT_TURIN, x, 1700000000, err, sizeof(err)),
	    ATT_ERR_CERT_CHAIN);
	T_EQ_INT(att_report_from_abi(rep, rl, &r, err, sizeof(err)), 0);
	T_EQ_INT(att_report_to_abi(&r, abi, err, sizeof(err)), ATT_OK);
	T_EQ_MEM(abi, rep, ATT_REPORT_SIZE);
	T_EQ_INT(r.reported_tcb, ext.tcb);
	T_EQ_MEM(r.chip_id.p, ext.hwid, 64);
	T_EQ_INT(att_report_verify_sig(abi, x, err, sizeof(err)), ATT_OK);
	/* One bit of the signed body, then one of the signature's R. */
	abi[0x90] ^= 1;
	T_EQ_INT(att_report_verify_sig(abi, x, err, sizeof(err)),
	    ATT_ERR_REPORT_SIGNATURE);
	abi[0x90] ^= 1;
	abi[ATT_SIGNED_SIZE] ^= 1;
	T_EQ_INT(att_report_verify_sig(abi, x, err, sizeof(err)),
	    ATT_ERR_REPORT_SIGNATURE);
	abi[ATT_SIGNED_SIZE] ^= 1;
	T_EQ_INT(att_report_verify_sig(abi, x, err, sizeof(err)), ATT_OK);
out:
	X509_free(x);
	free(genoa);
	free(vcek);
	free(rep);
	attest_trust_free(&t);
}

static int
parses(const uint8_t *p, size_t len, int loose)
{
	X509	*x = att_cert_parse(p, len, loose);

	X509_free(x);
	return x != NULL;
}

/* Go's two ways of reading a certificate: trust.ParseCert and pem.Decode. */
static void
test_cert_parse(void)
{
	uint8_t		*der, pem[8192], *d;
	size_t		 dl, pl;
	BIO		*bio;
	X509		*x;
	char		*p;
	long		 n;

	T_BEGIN("att_cert_parse: strict and loose");
	der = slurp(PM_AMD_SAMPLE_DIR, "vcek.testcer", &dl);
	T_CHECK(der != NULL);
	if (der == NULL)
		return;
	d = der;
	x = d2i_X509(NULL, (const unsigned char **)&d, (long)dl);
	T_CHECK(x != NULL);
	bio = BIO_new(BIO_s_mem());
	T_CHECK(bio != NULL && x != NULL && PEM_write_bio_X509(bio, x) == 1);
	n = BIO_get_mem_data(bio, &p);
	T_CHECK(n > 0 && (size_t)n + 16 < sizeof(pem));
	memcpy(pem, p, (size_t)n);
	pl = (size_t)n;
	BIO_free(bio);
	X509_free(x);

	T_EQ_INT(parses(der, dl, 0), 1);	/* DER: strict only */
	T_EQ_INT(parses(der, dl, 1), 0);
	T_EQ_INT(parses(pem, pl, 0), 1);	/* one PEM block: both */
	T_EQ_INT(parses(pem, pl, 1), 1);
	memcpy(pem + pl, "trailing\n", 9);	/* something after it */
	T_EQ_INT(parses(pem, pl + 9, 0), 0);
	T_EQ_INT(parses(pem, pl + 9, 1), 1);
	T_EQ_INT(parses(der, dl - 1, 0), 0);	/* short DER */
	T_EQ_INT(parses(pem, 0, 1), 0);
	free(der);
}

int
main(void)
{
	T_BEGIN("attest_init");
	T_EQ_INT(attest_init(), 0);
	test_report_data_example();
	test_idkey();
	test_fingerprints();
	test_base64();
	test_hex_keys();
	test_json();
	test_proto();
	test_bits();
	test_abi();
	test_manifest_ok();
	test_manifest_bad();
	test_coord();
	test_misc();
	test_real_amd();
	test_cert_parse();
	T_DONE();
}
