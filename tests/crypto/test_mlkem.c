/*
 * ML-KEM-768 against the Wycheproof vectors (keygen from seed, encaps
 * with invalid encapsulation keys, decaps with invalid lengths and the
 * strcmp/implicit-rejection cases, semi-expanded decapsulation keys), an
 * exhaustive check of the constant-time rounding, and Go's accumulated
 * test: "test_mlkem --accumulated N" runs only that, N iterations.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "keccak.h"
#include "mlkem.h"
#include "t.h"
#include "tc.h"

T_GLOBALS;

#define ACC_100		"1114b1b6699ed191734fa339376afa7e" \
			"285c9e6acf6ff0177d346696ce564415"
#define ACC_10000	"8a518cc63da366322a8e7a818c7a0d63" \
			"483cb3528d34a4cf42f35d5ad73f22fc"

static struct mlkem768_dk	dk;
static struct mlkem768_ek	ek;

/* Compress/Decompress against exact rational rounding, every input. */
static void
test_rounding(void)
{
	unsigned int	d, x, want, bad = 0;

	T_BEGIN("compress/decompress exhaustive");
	for (d = 1; d <= 11; d++) {
		for (x = 0; x < 3329; x++) {
			/* round(2^d x / q) = floor((2^(d+1) x + q) / 2q) */
			want = ((x << (d + 1)) + 3329) / (2 * 3329);
			want &= (1U << d) - 1;
			if (mlkem_compress((uint16_t)x, d) != want)
				bad++;
		}
		for (x = 0; x < (1U << d); x++) {
			want = (2 * x * 3329 + (1U << d)) / (2U << d);
			if (mlkem_decompress((uint16_t)x, d) != want)
				bad++;
		}
	}
	T_EQ_INT(bad, 0);
}

/* Iterate every test object of a Wycheproof file. */
static void
each_test(const char *file, void (*fn)(json_object *))
{
	json_object	*root = tc_load_json(file), *groups, *tests;
	size_t		 i, j;

	if (!json_object_object_get_ex(root, "testGroups", &groups))
		abort();
	for (i = 0; i < json_object_array_length(groups); i++) {
		if (!json_object_object_get_ex(
		    json_object_array_get_idx(groups, i), "tests", &tests))
			abort();
		for (j = 0; j < json_object_array_length(tests); j++)
			fn(json_object_array_get_idx(tests, j));
	}
	json_object_put(root);
}

static int	nvalid, ninvalid;

static void
count(json_object *t)
{
	if (strcmp(tc_str(t, "result"), "valid") == 0)
		nvalid++;
	else
		ninvalid++;
}

static void
keygen_case(json_object *t)
{
	uint8_t	seed[64], ekb[MLKEM768_EK_BYTES], want_ek[MLKEM768_EK_BYTES];
	uint8_t	dkb[MLKEM768_DK_BYTES], want_dk[MLKEM768_DK_BYTES];

	count(t);
	T_CHECK(tc_unhex_into(tc_str(t, "seed"), seed, 64) == 0);
	T_CHECK(tc_unhex_into(tc_str(t, "ek"), want_ek, sizeof(want_ek)) == 0);
	T_CHECK(tc_unhex_into(tc_str(t, "dk"), want_dk, sizeof(want_dk)) == 0);
	T_EQ_INT(mlkem768_keygen(&dk, ekb, seed, 64), 0);
	mlkem768_dk_encode(&dk, dkb);
	T_EQ_MEM(ekb, want_ek, sizeof(ekb));
	T_EQ_MEM(dkb, want_dk, sizeof(dkb));
}

static void
encaps_case(json_object *t)
{
	uint8_t	*ekb, m[32], ct[MLKEM768_CT_BYTES], ss[32];
	uint8_t	want_ct[MLKEM768_CT_BYTES], want_ss[32];
	size_t	eklen;
	int	valid = strcmp(tc_str(t, "result"), "valid") == 0;

	count(t);
	ekb = tc_unhex(tc_str(t, "ek"), &eklen);
	T_CHECK(ekb != NULL);
	T_CHECK(tc_unhex_into(tc_str(t, "m"), m, 32) == 0);
	if (!valid) {
		/* Wrong length or an unreduced coefficient: must refuse. */
		T_EQ_INT(mlkem768_ek_parse(&ek, ekb, eklen), -1);
		free(ekb);
		return;
	}
	T_EQ_INT(mlkem768_ek_parse(&ek, ekb, eklen), 0);
	T_CHECK(tc_unhex_into(tc_str(t, "c"), want_ct, sizeof(want_ct)) == 0);
	T_CHECK(tc_unhex_into(tc_str(t, "K"), want_ss, 32) == 0);
	mlkem768_encaps_derand(&ek, ct, ss, m);
	T_EQ_MEM(ct, want_ct, sizeof(ct));
	T_EQ_MEM(ss, want_ss, 32);
	free(ekb);
}

/* mlkem_768_test.json: keygen from seed, then decapsulate c. */
static void
decaps_case(json_object *t)
{
	uint8_t		*seed, *c, ss[32], want_ss[32];
	uint8_t		 ekb[MLKEM768_EK_BYTES], want_ek[MLKEM768_EK_BYTES];
	size_t		 seedlen, clen;
	const char	*ekhex = tc_str(t, "ek");
	int		 valid = strcmp(tc_str(t, "result"), "valid") == 0;
	int		 ok;

	count(t);
	seed = tc_unhex(tc_str(t, "seed"), &seedlen);
	c = tc_unhex(tc_str(t, "c"), &clen);
	T_CHECK(seed != NULL && c != NULL);
	ok = mlkem768_keygen(&dk, ekb, seed, seedlen) == 0;
	if (ok && ekhex != NULL) {
		T_CHECK(tc_unhex_into(ekhex, want_ek, sizeof(want_ek)) == 0);
		T_EQ_MEM(ekb, want_ek, sizeof(ekb));
	}
	if (ok)
		ok = mlkem768_decaps(&dk, ss, c, clen) == 0;
	T_EQ_INT(ok, valid);
	if (ok && valid) {
		T_CHECK(tc_unhex_into(tc_str(t, "K"), want_ss, 32) == 0);
		T_EQ_MEM(ss, want_ss, 32);
	}
	free(seed);
	free(c);
}

static void
semi_expanded_case(json_object *t)
{
	uint8_t		*dkb, *c, ss[32], want_ss[32];
	size_t		 dklen, clen;
	int		 valid = strcmp(tc_str(t, "result"), "valid") == 0;
	int		 ok;

	count(t);
	dkb = tc_unhex(tc_str(t, "dk"), &dklen);
	c = tc_unhex(tc_str(t, "c"), &clen);
	T_CHECK(dkb != NULL && c != NULL);
	ok = mlkem768_dk_parse(&dk, dkb, dklen) == 0;
	if (ok)
		ok = mlkem768_decaps(&dk, ss, c, clen) == 0;
	T_EQ_INT(ok, valid);
	if (ok && valid) {
		T_CHECK(tc_unhex_into(tc_str(t, "K"), want_ss, 32) == 0);
		T_EQ_MEM(ss, want_ss, 32);
	}
	free(dkb);
	free(c);
}

static void
run_file(const char *name, const char *file, void (*fn)(json_object *),
    int want_valid, int want_invalid)
{
	T_BEGIN(name);
	nvalid = ninvalid = 0;
	each_test(file, fn);
	/* Guard against a silently empty or truncated vector file. */
	T_EQ_INT(nvalid, want_valid);
	T_EQ_INT(ninvalid, want_invalid);
}

/* Round trips, implicit rejection and the re-encoding of expanded keys. */
static void
test_properties(void)
{
	uint8_t	seed[64], ekb[MLKEM768_EK_BYTES], m[32], ct[MLKEM768_CT_BYTES];
	uint8_t	ss1[32], ss2[32], ss3[32], dkb[MLKEM768_DK_BYTES];
	int	i;

	T_BEGIN("properties");
	for (i = 0; i < 64; i++)
		seed[i] = (uint8_t)i;
	memset(m, 7, sizeof(m));
	T_EQ_INT(mlkem768_keygen(&dk, ekb, seed, sizeof(seed)), 0);
	T_EQ_INT(mlkem768_ek_parse(&ek, ekb, sizeof(ekb)), 0);
	mlkem768_encaps_derand(&ek, ct, ss1, m);
	T_EQ_INT(mlkem768_decaps(&dk, ss2, ct, sizeof(ct)), 0);
	T_EQ_MEM(ss1, ss2, 32);
	/* A tampered ciphertext decapsulates to J(z || c), not an error. */
	ct[5] ^= 1;
	T_EQ_INT(mlkem768_decaps(&dk, ss3, ct, sizeof(ct)), 0);
	T_CHECK(memcmp(ss1, ss3, 32) != 0);
	T_EQ_INT(mlkem768_decaps(&dk, ss3, ct, sizeof(ct) - 1), -1);
	/* Expanded key survives encode/parse; a flipped hash does not. */
	mlkem768_dk_encode(&dk, dkb);
	T_EQ_INT(mlkem768_dk_parse(&dk, dkb, sizeof(dkb)), 0);
	ct[5] ^= 1;
	T_EQ_INT(mlkem768_decaps(&dk, ss3, ct, sizeof(ct)), 0);
	T_EQ_MEM(ss1, ss3, 32);
	dkb[2400 - 64] ^= 1;
	T_EQ_INT(mlkem768_dk_parse(&dk, dkb, sizeof(dkb)), -1);
	T_EQ_INT(mlkem768_keygen(&dk, ekb, seed, 63), -1);
	T_EQ_INT(mlkem768_ek_parse(&ek, ekb, sizeof(ekb) - 1), -1);
}

/* golang/go crypto/mlkem TestAccumulated, reproduced from its description. */
static void
accumulated(unsigned long iters, const char *want_hex)
{
	struct keccak	s, o;
	uint8_t		seed[64], ekb[MLKEM768_EK_BYTES], m[32];
	uint8_t		ct[MLKEM768_CT_BYTES], ss[32], ss2[32], out[32];
	uint8_t		want[32];
	unsigned long	i;
	int		bad = 0;

	t_current = "go accumulated";
	shake128_init(&s);
	shake128_init(&o);
	keccak_squeeze(&s, NULL, 0);		/* s = SHAKE128("") */
	for (i = 0; i < iters; i++) {
		keccak_squeeze(&s, seed, sizeof(seed));
		if (mlkem768_keygen(&dk, ekb, seed, sizeof(seed)) == -1 ||
		    mlkem768_ek_parse(&ek, ekb, sizeof(ekb)) == -1)
			bad++;
		keccak_absorb(&o, ekb, sizeof(ekb));
		keccak_squeeze(&s, m, sizeof(m));
		mlkem768_encaps_derand(&ek, ct, ss, m);
		keccak_absorb(&o, ct, sizeof(ct));
		keccak_absorb(&o, ss, sizeof(ss));
		if (mlkem768_decaps(&dk, ss2, ct, sizeof(ct)) == -1 ||
		    memcmp(ss, ss2, 32) != 0)
			bad++;
		keccak_squeeze(&s, ct, sizeof(ct));
		if (mlkem768_decaps(&dk, ss2, ct, sizeof(ct)) == -1)
			bad++;
		keccak_absorb(&o, ss2, sizeof(ss2));
	}
	keccak_squeeze(&o, out, sizeof(out));
	T_EQ_INT(bad, 0);
	T_CHECK(tc_unhex_into(want_hex, want, 32) == 0);
	T_EQ_MEM(out, want, 32);
	if (memcmp(out, want, 32) != 0)
		fprintf(stderr, "accumulated %lu: got %s\n", iters,
		    tc_hex(out, 32));
}

int
main(int argc, char *argv[])
{
	unsigned long	n;

	if (argc == 3 && strcmp(argv[1], "--accumulated") == 0) {
		n = strtoul(argv[2], NULL, 10);
		if (n != 100 && n != 10000) {
			fprintf(stderr, "known answers exist for 100, 10000\n");
			return 2;
		}
		accumulated(n, n == 100 ? ACC_100 : ACC_10000);
		T_DONE();
	}
	test_rounding();
	test_properties();
	run_file("wycheproof keygen_seed",
	    "wycheproof/mlkem_768_keygen_seed_test.json", keygen_case, 100, 0);
	run_file("wycheproof encaps",
	    "wycheproof/mlkem_768_encaps_test.json", encaps_case, 133, 132);
	run_file("wycheproof decaps",
	    "wycheproof/mlkem_768_test.json", decaps_case, 153, 40);
	run_file("wycheproof semi_expanded decaps",
	    "wycheproof/mlkem_768_semi_expanded_decaps_test.json",
	    semi_expanded_case, 3, 6);
	accumulated(100, ACC_100);
	T_DONE();
}
