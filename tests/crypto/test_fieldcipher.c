/*
 * The field cipher: the derived messages of protocol.md section 3.10
 * (fixed IVs), a whole chat body through the JSON walk, the behaviours of
 * the Go crypto tests (section 10.5) and the refusal of every malformed
 * message shape.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fieldcipher.h"
#include "jsonmut.h"
#include "t.h"
#include "tc.h"
#include "util.h"

T_GLOBALS;

#define ID	"l9Nk4tPTXwMKA4xBu63ELQwV+o15ulaZh+Gf3bLoD5o="
#define MSG0	"\"" ID ":000102030405060708090a0b:101112131415161718191a1b:" \
		"7089989a9c3e0a1391a765f64d0172eb36d404795aaae0501282f86d5ac8" \
		"61d5d532e3c2e91325e363558c95e4a5eb640569\""
#define MSG1	"\"" ID ":000102030405060708090a0b:202122232425262728292a2b:" \
		"69ed61718b85ca1d8bc50ab49ab812da630b22bb374e674cba26ea1b35a6" \
		"908ae4a00db2dee31ba4fdc4fe1c5ed0fa773b396f\""

static const uint8_t nonce[12] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 };

/* IVs 10 11 .. 1b, then 20 21 .. 2b, ... */
static void
fixed_ivs(uint8_t *out, size_t n, void *arg)
{
	int	*k = arg;
	size_t	 i;

	for (i = 0; i < n; i++)
		out[i] = (uint8_t)(0x10 * (*k + 1) + i);
	(*k)++;
}

static void
test_vectors(void)
{
	uint8_t		 key[32];
	struct fc	*fc;
	struct buf	 out;
	struct cerr	 err;
	const char	*p0 = "\"p1234567890123456789012345678912\"";
	const char	*p1 = "[{\"role\":\"user\",\"content\":\"Hello\"}]";
	int		 k = 0;

	T_BEGIN("protocol.md 3.10 messages");
	memset(key, 0x42, sizeof(key));
	fc = fc_new(key, sizeof(key), ID, nonce, &err);
	T_CHECK(fc != NULL);
	fc_set_iv_source(fc, fixed_ivs, &k);
	buf_init(&out, 0);
	T_EQ_INT(fc_encrypt(fc, (const uint8_t *)p0, strlen(p0), &out, &err),
	    0);
	T_EQ_STR(buf_cstr(&out), MSG0);
	buf_reset(&out);
	T_EQ_INT(fc_encrypt(fc, (const uint8_t *)p1, strlen(p1), &out, &err),
	    0);
	T_EQ_STR(buf_cstr(&out), MSG1);
	T_EQ_INT(fc_enc_seq(fc), 2);
	fc_free(fc);

	/* The stateless form gives the same text. */
	buf_reset(&out);
	T_EQ_INT(fc_encrypt_message(key, 32, ID, nonce, 1,
	    (const uint8_t *)"\x20\x21\x22\x23\x24\x25\x26\x27\x28\x29\x2a\x2b",
	    (const uint8_t *)p1, strlen(p1), &out, &err), 0);
	T_EQ_STR(buf_cstr(&out), MSG1);
	buf_reset(&out);
	T_EQ_INT(fc_decrypt_message(key, 32, nonce, 1, (const uint8_t *)MSG1,
	    strlen(MSG1), &out, &err), 0);
	T_EQ_INT(out.len, strlen(p1));
	T_CHECK(memcmp(out.p, p1, out.len) == 0);
	buf_free(&out);
}

/* The protocol.md 3.10 chat body, encrypted through the JSON walk. */
static void
test_chat_body(void)
{
	static const char *const plain[] = { "model", "stream_options",
	    "max_tokens", "max_completion_tokens", "n", "stream" };
	const char	*body = "{\"model\":\"gpt-oss-120b\",\"messages\":"
	    "[{\"role\":\"user\",\"content\":\"Hello\"}],\"stream\":true,"
	    "\"cache_salt\":\"p1234567890123456789012345678912\"}";
	const char	*want = "{\"model\":\"gpt-oss-120b\",\"messages\":" MSG1
	    ",\"stream\":true,\"cache_salt\":" MSG0 "}";
	struct jm_skip	 skip;
	struct fc	*fc;
	struct buf	 out, back;
	struct cerr	 err;
	uint8_t		 key[32];
	size_t		 i;
	int		 k = 0;

	T_BEGIN("chat body, section 3.10");
	memset(key, 0x42, sizeof(key));
	jm_skip_init(&skip);
	for (i = 0; i < nitems(plain); i++)
		jm_skip_add(&skip, plain[i]);
	fc = fc_new(key, sizeof(key), ID, nonce, &err);
	fc_set_iv_source(fc, fixed_ivs, &k);
	buf_init(&out, 0);
	T_EQ_INT(jm_mutate((const uint8_t *)body, strlen(body), &skip,
	    fc_encrypt_cb, fc, &out, &err), 0);
	T_EQ_STR(buf_cstr(&out), want);
	fc_free(fc);

	/* Decrypting in the same order restores the body exactly. */
	fc = fc_new(key, sizeof(key), ID, nonce, &err);
	buf_init(&back, 0);
	T_EQ_INT(jm_mutate(out.p, out.len, &skip, fc_decrypt_cb, fc, &back,
	    &err), 0);
	T_EQ_STR(buf_cstr(&back), body);
	fc_free(fc);
	buf_free(&out);
	buf_free(&back);
	jm_skip_free(&skip);
}

/* Server side: nonce from the first message, then seq 0, 1, ... */
static int
server_nonce(const char *msg, uint8_t out[12])
{
	struct fc_msg	m;

	if (fc_msg_parse((const uint8_t *)msg, strlen(msg), &m, NULL) == -1 ||
	    m.noncelen != 24)
		return -1;
	return fc_unhex(m.nonce, m.noncelen, out, NULL);
}

static void
test_request_cipher(void)
{
	uint8_t		 key[16], other[16], snonce[12], bad_nonce[12], iv[12];
	struct fc	*fc;
	struct buf	 r1, r2, pt, s1, s2, x;
	struct cerr	 err;
	struct fc_msg	 m;

	T_BEGIN("request cipher (Go crypto_test)");
	memset(key, 7, sizeof(key));
	memset(other, 8, sizeof(other));
	memset(iv, 9, sizeof(iv));
	fc = fc_new(key, sizeof(key), "123", NULL, &err);
	T_CHECK(fc != NULL);
	buf_init(&r1, 0);
	buf_init(&r2, 0);
	buf_init(&pt, 0);
	buf_init(&s1, 0);
	buf_init(&s2, 0);
	buf_init(&x, 0);
	T_EQ_INT(fc_encrypt(fc, (const uint8_t *)"req1", 4, &r1, &err), 0);
	T_EQ_INT(fc_encrypt(fc, (const uint8_t *)"req2", 4, &r2, &err), 0);
	T_CHECK(r1.p[0] == '"' && r1.p[r1.len - 1] == '"');
	T_EQ_INT(fc_msg_parse(r1.p, r1.len, &m, &err), 0);
	T_CHECK(m.idlen == 3 && memcmp(m.id, "123", 3) == 0);
	T_EQ_INT(server_nonce(buf_cstr(&r1), snonce), 0);
	T_EQ_MEM(snonce, fc_nonce(fc), 12);
	T_EQ_INT(fc_decrypt_message(key, 16, snonce, 0, r1.p, r1.len, &pt,
	    &err), 0);
	T_EQ_INT(fc_decrypt_message(key, 16, snonce, 1, r2.p, r2.len, &pt,
	    &err), 0);
	T_EQ_STR(buf_cstr(&pt), "req1req2");
	/* Wrong key, wrong sequence number. */
	T_EQ_INT(fc_decrypt_message(other, 16, snonce, 0, r1.p, r1.len, &x,
	    &err), -1);
	T_EQ_STR(err.msg, "cipher: message authentication failed");
	T_EQ_INT(fc_decrypt_message(key, 16, snonce, 1, r1.p, r1.len, &x,
	    &err), -1);
	T_EQ_INT(x.len, 0);

	T_EQ_INT(fc_encrypt_message(key, 16, "123", snonce, 0, iv,
	    (const uint8_t *)"resp1", 5, &s1, &err), 0);
	T_EQ_INT(fc_encrypt_message(key, 16, "123", snonce, 1, iv,
	    (const uint8_t *)"resp2", 5, &s2, &err), 0);
	/* Out of order (replay of the later message first) fails... */
	T_EQ_INT(fc_decrypt(fc, s2.p, s2.len, &x, &err), -1);
	T_EQ_INT(fc_dec_seq(fc), 0);
	/* ...and a failure does not advance: in order still works. */
	buf_reset(&pt);
	T_EQ_INT(fc_decrypt(fc, s1.p, s1.len, &pt, &err), 0);
	T_EQ_INT(fc_decrypt(fc, s1.p, s1.len, &x, &err), -1);	/* replay */
	T_EQ_INT(fc_decrypt(fc, s2.p, s2.len, &pt, &err), 0);
	T_EQ_STR(buf_cstr(&pt), "resp1resp2");
	T_EQ_INT(fc_dec_seq(fc), 2);
	T_EQ_INT(x.len, 0);
	/* No more encryption once a response was decrypted. */
	T_EQ_INT(fc_encrypt(fc, (const uint8_t *)"req3", 4, &x, &err), -1);
	T_EQ_STR(err.msg, "can't encrypt another request after decrypting "
	    "a response");
	fc_free(fc);

	/* A response under another request's nonce fails. */
	fc = fc_new(key, sizeof(key), "123", NULL, &err);
	memcpy(bad_nonce, fc_nonce(fc), 12);
	bad_nonce[0] ^= 1;
	buf_reset(&s1);
	T_EQ_INT(fc_encrypt_message(key, 16, "123", bad_nonce, 0, iv,
	    (const uint8_t *)"resp1", 5, &s1, &err), 0);
	T_EQ_INT(fc_decrypt(fc, s1.p, s1.len, &x, &err), -1);
	fc_free(fc);

	/* Key sizes: 30 bytes is refused with Go's text. */
	T_CHECK(fc_new(key, 30, "123", NULL, &err) == NULL);
	T_EQ_STR(err.msg, "crypto/aes: invalid key size 30");
	buf_free(&r1);
	buf_free(&r2);
	buf_free(&pt);
	buf_free(&s1);
	buf_free(&s2);
	buf_free(&x);
}

static int
dec(const uint8_t key[32], const char *msg, struct cerr *err)
{
	struct fc	*fc = fc_new(key, 32, ID, nonce, err);
	struct buf	 out;
	int		 r;

	buf_init(&out, 0);
	r = fc_decrypt(fc, (const uint8_t *)msg, strlen(msg), &out, err);
	if (r == -1 && out.len != 0)
		r = -2;
	buf_free(&out);
	fc_free(fc);
	return r;
}

static void
test_shapes(void)
{
	uint8_t		 key[32];
	struct cerr	 err;
	char		 m[512], *p;
	size_t		 n;

	T_BEGIN("message shapes");
	memset(key, 0x42, sizeof(key));
	T_EQ_INT(dec(key, MSG0, &err), 0);
	/* Either hex case; any number of surrounding quotes; the id and
	 * nonce text are not used (our own nonce is in the AAD). */
	strlcpy(m, MSG0, sizeof(m));
	for (p = strrchr(m, ':'); *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p -= 'a' - 'A';
	T_EQ_INT(dec(key, m, &err), 0);
	snprintf(m, sizeof(m), "\"\"%s\"\"", MSG0);
	T_EQ_INT(dec(key, m, &err), 0);
	strlcpy(m, MSG0, sizeof(m));
	m[1] = 'X';
	m[46] = 'f';
	T_EQ_INT(dec(key, m, &err), 0);

	T_EQ_INT(dec(key, "", &err), -1);
	T_EQ_STR(err.msg, FC_ERR_FORMAT);
	T_EQ_INT(dec(key, "\"\"", &err), -1);
	T_EQ_STR(err.msg, FC_ERR_FORMAT);
	T_EQ_INT(dec(key, "\"a:b:c\"", &err), -1);
	T_EQ_STR(err.msg, FC_ERR_FORMAT);
	T_EQ_INT(dec(key, "\"a:b:c:d:e\"", &err), -1);
	T_EQ_STR(err.msg, FC_ERR_FORMAT);
	/* A fifth part wins over every later error, as Go splits first. */
	T_EQ_INT(dec(key, "\"a:b:1g:d:e\"", &err), -1);
	T_EQ_STR(err.msg, FC_ERR_FORMAT);
	T_EQ_INT(dec(key, "\"a:b:101112131415161718191a1b:00:ff\"", &err),
	    -1);
	T_EQ_STR(err.msg, FC_ERR_FORMAT);
	snprintf(m, sizeof(m), "%.*s:00\"", (int)strlen(MSG0) - 1, MSG0);
	T_EQ_INT(dec(key, m, &err), -1);
	T_EQ_STR(err.msg, FC_ERR_FORMAT);
	T_EQ_INT(dec(key, "42", &err), -1);
	T_EQ_STR(err.msg, FC_ERR_FORMAT);
	T_EQ_INT(dec(key, "\"a:b:10111213141516171819ga1b:00\"", &err), -1);
	T_EQ_STR(err.msg, "encoding/hex: invalid byte: U+0067 'g'");
	T_EQ_INT(dec(key, "\"a:b:101:00\"", &err), -1);
	T_EQ_STR(err.msg, "encoding/hex: odd length hex string");
	T_EQ_INT(dec(key, "\"a:b:1011:00\"", &err), -1);
	T_EQ_STR(err.msg, "cipher: incorrect nonce length given to GCM");
	T_EQ_INT(dec(key, "\"a:b:101112131415161718191a1b:0\"", &err), -1);
	T_EQ_STR(err.msg, "encoding/hex: odd length hex string");
	/* Truncated ciphertext: shorter than a tag, and cut by one byte. */
	T_EQ_INT(dec(key, "\"a:b:101112131415161718191a1b:00ff\"", &err), -1);
	T_EQ_STR(err.msg, "cipher: message authentication failed");
	strlcpy(m, MSG0, sizeof(m));
	n = strlen(m);
	memmove(m + n - 3, m + n - 1, 2);
	T_EQ_INT(dec(key, m, &err), -1);
	T_EQ_STR(err.msg, "cipher: message authentication failed");
	/* A bad digit in the tag part: hex error, nothing left behind. */
	strlcpy(m, MSG0, sizeof(m));
	m[strlen(m) - 2] = 'z';
	T_EQ_INT(dec(key, m, &err), -1);
	T_EQ_STR(err.msg, "encoding/hex: invalid byte: U+007A 'z'");
	/* A flipped ciphertext bit. */
	strlcpy(m, MSG0, sizeof(m));
	p = strrchr(m, ':') + 1;
	*p = *p == '0' ? '1' : '0';
	T_EQ_INT(dec(key, m, &err), -1);
	T_EQ_STR(err.msg, "cipher: message authentication failed");
}

/* Long values go through the vectorised hex paths: case, bad digits. */
static void
test_long_values(void)
{
	uint8_t		 key[32], pt[1000];
	struct buf	 enc, out;
	struct cerr	 err;
	char		*p;
	size_t		 i;

	T_BEGIN("long values");
	memset(key, 0x42, sizeof(key));
	for (i = 0; i < sizeof(pt); i++)
		pt[i] = (uint8_t)(i * 7);
	buf_init(&enc, 0);
	buf_init(&out, 0);
	T_EQ_INT(fc_encrypt_message(key, 32, ID, nonce, 0, nonce, pt,
	    sizeof(pt), &enc, &err), 0);
	T_EQ_INT(enc.len, 2 + 44 + 3 + 24 + 24 + 2 * (sizeof(pt) + 16));
	/* Upper case every hex digit of the ciphertext. */
	for (p = strrchr(buf_cstr(&enc), ':'); *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p -= 'a' - 'A';
	T_EQ_INT(fc_decrypt_message(key, 32, nonce, 0, enc.p, enc.len, &out,
	    &err), 0);
	T_EQ_INT(out.len, sizeof(pt));
	T_CHECK(out.len == sizeof(pt) && memcmp(out.p, pt, sizeof(pt)) == 0);
	/* A bad digit deep inside: Go's text, nothing appended. */
	buf_reset(&out);
	p = strrchr(buf_cstr(&enc), ':') + 1 + 777;
	*p = 'x';
	T_EQ_INT(fc_decrypt_message(key, 32, nonce, 0, enc.p, enc.len, &out,
	    &err), -1);
	T_EQ_STR(err.msg, "encoding/hex: invalid byte: U+0078 'x'");
	T_EQ_INT(out.len, 0);
	*p = '/';		/* just below '0' */
	T_EQ_INT(fc_decrypt_message(key, 32, nonce, 0, enc.p, enc.len, &out,
	    &err), -1);
	T_EQ_STR(err.msg, "encoding/hex: invalid byte: U+002F '/'");
	*p = 'G';		/* just above 'F' */
	T_EQ_INT(fc_decrypt_message(key, 32, nonce, 0, enc.p, enc.len, &out,
	    &err), -1);
	T_EQ_STR(err.msg, "encoding/hex: invalid byte: U+0047 'G'");
	buf_free(&enc);
	buf_free(&out);
}

/*
 * A cipher's short values go through libsodium where the CPU allows,
 * longer ones and the stateless forms through OpenSSL: the same message
 * text from both sides of the boundary, each opening the other's, and a
 * forged tag or a bad digit refused with Go's words and nothing appended.
 */
static void
test_backends(void)
{
	static const size_t	 sizes[] = { 0, 1, 15, 16, 17, 400, 1023, 1024,
	    1025, 2048, 16384, 16385, 40000 };
	static uint8_t		 pt[40000];
	uint8_t			 key[32], iv[12];
	struct fc		*fc;
	struct buf		 a, b, out;
	struct cerr		 err;
	size_t			 i, n;
	int			 k = 0;
	char			*p, c;

	T_BEGIN("libsodium and OpenSSL agree");
	memset(key, 0x42, sizeof(key));
	for (i = 0; i < sizeof(pt); i++)
		pt[i] = (uint8_t)(i * 13 + 5);
	buf_init(&a, 0);
	buf_init(&b, 0);
	buf_init(&out, 0);
	fc = fc_new(key, sizeof(key), ID, nonce, &err);
	T_CHECK(fc != NULL);
	fc_set_iv_source(fc, fixed_ivs, &k);
	for (i = 0; i < nitems(sizes); i++) {
		n = sizes[i];
		buf_reset(&a);
		buf_reset(&b);
		T_EQ_INT(fc_encrypt(fc, pt, n, &a, &err), 0);
		fixed_ivs(iv, sizeof(iv), &(int){ (int)i });
		T_EQ_INT(fc_encrypt_message(key, 32, ID, nonce, (uint32_t)i,
		    iv, pt, n, &b, &err), 0);
		T_CHECK(a.len == b.len && memcmp(a.p, b.p, a.len) == 0);
		/* fc opens what the stateless form sealed, in sequence. */
		buf_reset(&out);
		T_EQ_INT(fc_decrypt_message(key, 32, nonce, (uint32_t)i, a.p,
		    a.len, &out, &err), 0);
		T_CHECK(out.len == n && (n == 0 || memcmp(out.p, pt, n) == 0));
	}
	fc_free(fc);

	/* The decrypting side: a response cipher opens seq 0, 1, ... */
	fc = fc_new(key, sizeof(key), ID, nonce, &err);
	for (i = 0; i < nitems(sizes); i++) {
		n = sizes[i];
		buf_reset(&b);
		fixed_ivs(iv, sizeof(iv), &(int){ (int)i });
		T_EQ_INT(fc_encrypt_message(key, 32, ID, nonce, (uint32_t)i,
		    iv, pt, n, &b, &err), 0);
		/* A forged tag first: refused, nothing left behind. */
		p = (char *)b.p + b.len - 3;
		c = *p;
		*p = c == '0' ? '1' : '0';
		buf_reset(&out);
		buf_adds(&out, "kept");
		T_EQ_INT(fc_decrypt(fc, b.p, b.len, &out, &err), -1);
		T_EQ_STR(err.msg, "cipher: message authentication failed");
		T_EQ_INT(out.len, 4);
		*p = c;
		if (n > 0) {
			/* A bad digit in the ciphertext: Go's words. */
			p = strrchr(buf_cstr(&b), ':') + 1;
			*p = 'x';
			T_EQ_INT(fc_decrypt(fc, b.p, b.len, &out, &err), -1);
			T_EQ_STR(err.msg,
			    "encoding/hex: invalid byte: U+0078 'x'");
			T_EQ_INT(out.len, 4);
			buf_reset(&b);
			T_EQ_INT(fc_encrypt_message(key, 32, ID, nonce,
			    (uint32_t)i, iv, pt, n, &b, &err), 0);
		}
		T_EQ_INT(fc_decrypt(fc, b.p, b.len, &out, &err), 0);
		T_CHECK(out.len == 4 + n &&
		    (n == 0 || memcmp(out.p + 4, pt, n) == 0));
	}
	fc_free(fc);
	fc_forget_keys();
	buf_free(&a);
	buf_free(&b);
	buf_free(&out);
}

/*
 * Ciphers of one key share their AES-GCM contexts: interleaved use by
 * many ciphers over more keys than the cache holds, a failed open on a
 * shared context, and a forget while ciphers still use it, must all leave
 * each cipher's results as if it were alone.
 */
static void
test_shared_contexts(void)
{
	enum { NKEYS = 6, PER = 3 };
	struct fc	*fc[NKEYS][PER];
	uint8_t		 key[NKEYS][32], iv[12];
	struct buf	 ct, pt, resp;
	struct cerr	 err;
	char		 msg[32];
	int		 k, i, round, bad = 0;

	T_BEGIN("shared cipher contexts");
	memset(iv, 3, sizeof(iv));
	buf_init(&ct, 0);
	buf_init(&pt, 0);
	buf_init(&resp, 0);
	for (k = 0; k < NKEYS; k++) {
		memset(key[k], 0x40 + k, 32);
		for (i = 0; i < PER; i++)
			fc[k][i] = fc_new(key[k], 32, "id", NULL, &err);
	}
	for (round = 0; round < 2; round++) {
		for (i = 0; i < PER; i++)
			for (k = 0; k < NKEYS; k++) {
				/* Each request: its own nonce, under its key. */
				snprintf(msg, sizeof(msg), "k%d c%d r%d", k, i,
				    round);
				buf_reset(&ct);
				buf_reset(&pt);
				if (fc_encrypt(fc[k][i], (const uint8_t *)msg,
				    strlen(msg), &ct, &err) != 0 ||
				    fc_decrypt_message(key[k], 32,
				    fc_nonce(fc[k][i]), (uint32_t)round,
				    ct.p, ct.len, &pt, &err) != 0 ||
				    strcmp(buf_cstr(&pt), msg) != 0)
					bad++;
			}
		if (round == 0)
			fc_forget_keys();	/* while all are in use */
	}
	T_EQ_INT(bad, 0);
	/* A response that fails its tag, then a good one, on one key. */
	buf_reset(&resp);
	T_EQ_INT(fc_encrypt_message(key[0], 32, "id", fc_nonce(fc[0][1]), 0,
	    iv, (const uint8_t *)"answer", 6, &resp, &err), 0);
	resp.p[resp.len - 3] ^= 1;
	buf_reset(&pt);
	T_EQ_INT(fc_decrypt(fc[0][1], resp.p, resp.len, &pt, &err), -1);
	resp.p[resp.len - 3] ^= 1;
	T_EQ_INT(fc_decrypt(fc[0][1], resp.p, resp.len, &pt, &err), 0);
	T_EQ_STR(buf_cstr(&pt), "answer");
	/* Another key's cipher is not disturbed by it. */
	buf_reset(&resp);
	buf_reset(&pt);
	T_EQ_INT(fc_encrypt_message(key[5], 32, "id", fc_nonce(fc[5][0]), 0,
	    iv, (const uint8_t *)"other", 5, &resp, &err), 0);
	T_EQ_INT(fc_decrypt(fc[5][0], resp.p, resp.len, &pt, &err), 0);
	T_EQ_STR(buf_cstr(&pt), "other");
	for (k = 0; k < NKEYS; k++)
		for (i = 0; i < PER; i++)
			fc_free(fc[k][i]);
	fc_forget_keys();
	buf_free(&ct);
	buf_free(&pt);
	buf_free(&resp);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_vectors();
	test_chat_body();
	test_request_cipher();
	test_shapes();
	test_long_values();
	test_backends();
	test_shared_contexts();
	T_DONE();
}
