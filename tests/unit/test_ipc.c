/* IPC codec: round trips, truncation, trailing bytes, caps, names. */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "ipc.h"
#include "t.h"

T_GLOBALS;

static void
test_round_trip(void)
{
	struct buf	 w;
	struct msgr	 r;
	const uint8_t	*b;
	size_t		 n;
	char		*s, *absent;
	uint8_t		 raw[4];

	T_BEGIN("round trip");
	buf_init(&w, 0);
	msg_put_u8(&w, 0xab);
	msg_put_u16(&w, 0xbeef);
	msg_put_u32(&w, 0xdeadbeef);
	msg_put_u64(&w, 0x0123456789abcdefULL);
	msg_put_i64(&w, -42);
	msg_put_bytes(&w, "\0\1\2", 3);
	msg_put_str(&w, "hello");
	msg_put_str(&w, NULL);
	msg_put_raw(&w, "wxyz", 4);
	msgr_init(&r, w.p, w.len);
	T_EQ_INT(msg_get_u8(&r), 0xab);
	T_EQ_INT(msg_get_u16(&r), 0xbeef);
	T_EQ_INT(msg_get_u32(&r), 0xdeadbeef);
	T_CHECK(msg_get_u64(&r) == 0x0123456789abcdefULL);
	T_EQ_INT(msg_get_i64(&r), -42);
	b = msg_get_bytes(&r, &n);
	T_EQ_INT(n, 3);
	T_EQ_MEM(b, "\0\1\2", 3);
	s = msg_get_str(&r);
	T_EQ_STR(s, "hello");
	absent = msg_get_str(&r);
	T_CHECK(absent == NULL);
	T_EQ_INT(msg_get_raw(&r, raw, 4), 0);
	T_EQ_MEM(raw, "wxyz", 4);
	T_EQ_INT(msg_end(&r), 0);
	free(s);
	buf_free(&w);
}

static void
test_truncation(void)
{
	struct buf	w;
	struct msgr	r;
	size_t		cut, n;

	T_BEGIN("truncation at every byte fails");
	buf_init(&w, 0);
	msg_put_u32(&w, 7);
	msg_put_str(&w, "abcdef");
	msg_put_u64(&w, 9);
	for (cut = 0; cut < w.len; cut++) {
		char	*s;

		msgr_init(&r, w.p, cut);
		(void)msg_get_u32(&r);
		s = msg_get_str(&r);
		(void)msg_get_u64(&r);
		T_EQ_INT(msg_end(&r), -1);
		free(s);
	}
	/* A length prefix pointing past the end must not be trusted. */
	buf_free(&w);
	buf_init(&w, 0);
	msg_put_u32(&w, 1000);
	msg_put_raw(&w, "abc", 3);
	msgr_init(&r, w.p, w.len);
	(void)msg_get_bytes(&r, &n);
	T_EQ_INT(n, 0);
	T_EQ_INT(msg_end(&r), -1);
	buf_free(&w);
}

static void
test_trailing(void)
{
	struct buf	w;
	struct msgr	r;

	T_BEGIN("trailing bytes fail");
	buf_init(&w, 0);
	msg_put_u32(&w, 1);
	msg_put_u8(&w, 0);
	msgr_init(&r, w.p, w.len);
	(void)msg_get_u32(&r);
	T_EQ_INT(msg_end(&r), -1);
	buf_free(&w);
}

static void
test_embedded_nul(void)
{
	struct buf	 w;
	struct msgr	 r;
	char		*s;

	T_BEGIN("string with NUL is rejected");
	buf_init(&w, 0);
	msg_put_bytes(&w, "a\0b", 3);
	msgr_init(&r, w.p, w.len);
	s = msg_get_str(&r);
	T_CHECK(s == NULL);
	T_EQ_INT(msg_end(&r), -1);
	buf_free(&w);
}

static void
test_names_and_caps(void)
{
	unsigned int	t;

	T_BEGIN("msg_to_str and caps");
	T_EQ_STR(msg_to_str(MSG_HELLO), "MSG_HELLO");
	T_EQ_STR(msg_to_str(MSG_SECRETS), "MSG_SECRETS");
	T_EQ_STR(msg_to_str(0), "MSG_UNKNOWN");
	T_EQ_STR(msg_to_str(MSG_TYPE_MAX), "MSG_UNKNOWN");
	T_EQ_STR(msg_to_str(60000), "MSG_UNKNOWN");
	T_EQ_INT(msg_cap(MSG_TYPE_MAX, 1), 0);
	for (t = 1; t < MSG_TYPE_MAX; t++) {
		T_CHECK(strncmp(msg_to_str(t), "MSG_", 4) == 0);
		T_CHECK(msg_cap(t, IPC_MAX_DATA_FLOOR) > 0);
		T_CHECK(msg_cap(t, IPC_MAX_DATA_FLOOR) <= IPC_MAX_DATA_CEIL);
	}
	T_EQ_INT(sizeof(struct msg_hdr), 12);
}

static void
test_secret_writer(void)
{
	struct buf	w;
	int		i;

	T_BEGIN("secret writer grows without realloc");
	buf_init_secret(&w, 0);
	for (i = 0; i < 1000; i++)
		msg_put_u32(&w, (uint32_t)i);
	T_EQ_INT(w.len, 4000);
	T_CHECK(w.cap >= 4000);
	buf_free(&w);
	T_CHECK(w.p == NULL);
}

int
main(void)
{
	test_round_trip();
	test_truncation();
	test_trailing();
	test_embedded_nul();
	test_names_and_caps();
	test_secret_writer();
	T_DONE();
}
