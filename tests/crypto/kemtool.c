/*
 * A stdin/stdout driver of the crypto core for the Node interop tests.
 * One command per line, hex arguments separated by spaces, one answer
 * line per command ("ERR <text>" on failure), so a test can send a whole
 * batch of rounds in one process start:
 *
 *	xk SEED32		-> X-Wing public key
 *	xd SEED32 ENC		-> HPKE (X-Wing, HKDF-SHA256, export-only)
 *				   Export("", 32) as the recipient
 *	xe PK ESEED64		-> "CT SS" derandomised X-Wing encapsulation
 *	mk SEED64		-> ML-KEM-768 encapsulation key
 *	md SEED64 CT		-> ML-KEM-768 shared secret
 *	me EK M32		-> "CT SS" ML-KEM-768 encapsulation
 *	fe KEY ID NONCE PLAIN BODY -> body with fields encrypted (request)
 *	fd KEY NONCE PLAIN BODY	-> body with fields decrypted (response)
 *
 * PLAIN is a comma-separated list of plain member names, or "-".  ID is
 * text, BODY hex.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fieldcipher.h"
#include "hpke.h"
#include "jsonmut.h"
#include "mlkem.h"
#include "tc.h"
#include "util.h"
#include "xwing.h"

#define MAXARGS	8

static struct xwing_sk		xsk;
static struct mlkem768_dk	dk;
static struct mlkem768_ek	ek;

static void
put_hex(const uint8_t *p, size_t n)
{
	static const char	hex[] = "0123456789abcdef";
	size_t			i;

	for (i = 0; i < n; i++) {
		putchar(hex[p[i] >> 4]);
		putchar(hex[p[i] & 0xf]);
	}
}

static void
skip_list(struct jm_skip *s, const char *plain)
{
	char	*copy, *p, *tok;

	jm_skip_init(s);
	if (strcmp(plain, "-") == 0)
		return;
	copy = xstrdup(plain);
	for (p = copy; (tok = strsep(&p, ",")) != NULL;)
		if (*tok != '\0')
			jm_skip_add(s, tok);
	free(copy);
}

/* Field-cipher commands: a fresh cipher per body, as per attempt. */
static const char *
field(char **av, int ac, int encrypt, struct buf *out, struct cerr *err)
{
	struct jm_skip	 skip;
	struct fc	*fc;
	uint8_t		*key, *nonce, *body;
	size_t		 keylen, noncelen, bodylen;
	const char	*id = encrypt ? av[2] : "unused";
	int		 a = encrypt ? 3 : 2, rv;

	if (ac != (encrypt ? 6 : 5))
		return "usage";
	key = tc_unhex(av[1], &keylen);
	nonce = tc_unhex(av[a], &noncelen);
	body = tc_unhex(av[a + 2], &bodylen);
	if (key == NULL || nonce == NULL || body == NULL || noncelen != 12)
		return "bad hex";
	if ((fc = fc_new(key, keylen, id, nonce, err)) == NULL)
		return err->msg;
	skip_list(&skip, av[a + 1]);
	rv = jm_mutate(body, bodylen, &skip, encrypt ? fc_encrypt_cb :
	    fc_decrypt_cb, fc, out, err);
	jm_skip_free(&skip);
	fc_free(fc);
	free(key);
	free(nonce);
	free(body);
	return rv == 0 ? NULL : err->msg;
}

static const char *
run(char **av, int ac)
{
	static struct buf	 out;
	struct hpke_ctx		 ctx;
	static struct cerr	 err;
	uint8_t			 a[64], b[64], pk[XWING_PK_BYTES], *x;
	uint8_t			 ct[XWING_CT_BYTES], ss[32];
	size_t			 xl;
	const char		*e;

	if (out.p == NULL)
		buf_init(&out, 1 << 16);
	if (strcmp(av[0], "xk") == 0 && ac == 2) {
		if (tc_unhex_into(av[1], a, 32) == -1 ||
		    xwing_keygen(&xsk, pk, a) == -1)
			return "keygen";
		put_hex(pk, sizeof(pk));
	} else if (strcmp(av[0], "xd") == 0 && ac == 3) {
		if (tc_unhex_into(av[1], a, 32) == -1 ||
		    xwing_keygen(&xsk, NULL, a) == -1 ||
		    (x = tc_unhex(av[2], &xl)) == NULL)
			return "bad input";
		if (xwing_decaps(&xsk, ss, x, xl) == -1) {
			free(x);
			return "decaps";
		}
		free(x);
		if (hpke_key_schedule_base(&ctx, XWING_HPKE_KEM_ID,
		    HPKE_KDF_HKDF_SHA256, HPKE_AEAD_EXPORT_ONLY, ss, 32, NULL,
		    0) == -1 || hpke_export(&ctx, NULL, 0, b, 32) == -1)
			return "schedule";
		put_hex(b, 32);
	} else if (strcmp(av[0], "xe") == 0 && ac == 3) {
		if ((x = tc_unhex(av[1], &xl)) == NULL ||
		    tc_unhex_into(av[2], a, 64) == -1)
			return "bad input";
		if (xwing_encaps_derand(ct, ss, x, xl, a) == -1) {
			free(x);
			return "encaps";
		}
		free(x);
		put_hex(ct, XWING_CT_BYTES);
		putchar(' ');
		put_hex(ss, 32);
	} else if (strcmp(av[0], "mk") == 0 && ac == 2) {
		if (tc_unhex_into(av[1], a, 64) == -1 ||
		    mlkem768_keygen(&dk, pk, a, 64) == -1)
			return "keygen";
		put_hex(pk, MLKEM768_EK_BYTES);
	} else if (strcmp(av[0], "md") == 0 && ac == 3) {
		if (tc_unhex_into(av[1], a, 64) == -1 ||
		    mlkem768_keygen(&dk, NULL, a, 64) == -1 ||
		    (x = tc_unhex(av[2], &xl)) == NULL)
			return "bad input";
		if (mlkem768_decaps(&dk, ss, x, xl) == -1) {
			free(x);
			return "decaps";
		}
		free(x);
		put_hex(ss, 32);
	} else if (strcmp(av[0], "me") == 0 && ac == 3) {
		if ((x = tc_unhex(av[1], &xl)) == NULL ||
		    tc_unhex_into(av[2], a, 32) == -1)
			return "bad input";
		if (mlkem768_ek_parse(&ek, x, xl) == -1) {
			free(x);
			return "invalid encapsulation key";
		}
		free(x);
		mlkem768_encaps_derand(&ek, ct, ss, a);
		put_hex(ct, MLKEM768_CT_BYTES);
		putchar(' ');
		put_hex(ss, 32);
	} else if (strcmp(av[0], "fe") == 0 || strcmp(av[0], "fd") == 0) {
		buf_reset(&out);
		if ((e = field(av, ac, av[0][1] == 'e', &out, &err)) != NULL)
			return e;
		put_hex(out.p, out.len);
	} else
		return "unknown command";
	return NULL;
}

int
main(void)
{
	char		*line = NULL, *p, *av[MAXARGS];
	const char	*e;
	size_t		 cap = 0;
	ssize_t		 n;
	int		 ac;

	if (sodium_init() < 0)
		return 1;
	while ((n = getline(&line, &cap, stdin)) != -1) {
		if (n > 0 && line[n - 1] == '\n')
			line[n - 1] = '\0';
		ac = 0;
		for (p = line; ac < MAXARGS &&
		    (av[ac] = strsep(&p, " ")) != NULL;)
			if (*av[ac] != '\0')
				ac++;
		if (ac == 0)
			continue;
		if ((e = run(av, ac)) != NULL)
			printf("ERR %s", e);
		putchar('\n');
	}
	free(line);
	return ferror(stdout) ? 1 : 0;
}
