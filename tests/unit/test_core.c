/*
 * test_core.c: buf, arena, util and enc.
 */
#include <stdint.h>

#include "t.h"
#include "arena.h"
#include "buf.h"
#include "enc.h"
#include "util.h"

static void
test_int_parse(void)
{
	static const struct {
		const char	*in;
		int64_t		 min, max;
		int		 ok;
		int64_t		 want;
	} rows[] = {
		{ "0", 0, 10, 1, 0 },
		{ "10", 0, 10, 1, 10 },
		{ "11", 0, 10, 0, 0 },
		{ "-1", 0, 10, 0, 0 },
		{ "-1", -5, 10, 1, -1 },
		{ "-0", -5, 10, 0, 0 },
		{ "01", 0, 10, 0, 0 },
		{ "+1", 0, 10, 0, 0 },
		{ " 1", 0, 10, 0, 0 },
		{ "1 ", 0, 10, 0, 0 },
		{ "", 0, 10, 0, 0 },
		{ "-", -5, 10, 0, 0 },
		{ "1e3", 0, 10000, 0, 0 },
		{ "9223372036854775807", 0, INT64_MAX, 1, INT64_MAX },
		{ "9223372036854775808", 0, INT64_MAX, 0, 0 },
		{ "-9223372036854775808", INT64_MIN, 0, 1, INT64_MIN },
		{ "-9223372036854775809", INT64_MIN, 0, 0, 0 },
		{ "99999999999999999999999", 0, INT64_MAX, 0, 0 },
	};
	size_t	i;
	int64_t	v;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		v = 0;
		T_EQ_INT(util_int_parse_str(rows[i].in, rows[i].min,
		    rows[i].max, &v) == 0, rows[i].ok);
		if (rows[i].ok)
			T_EQ_INT(v, rows[i].want);
	}
}

static void
test_buf_arena(void)
{
	struct buf	b;
	struct arena	a;
	char		*s;
	int		 i;

	buf_init(&b, 10);
	T_EQ_INT(buf_append(&b, "0123456789", 10), 0);
	T_EQ_INT(buf_putc(&b, 'x'), -1);
	T_EQ_INT(b.len, 10);
	T_EQ_INT(buf_cstr(&b), 0);
	T_EQ_STR((char *)b.data, "0123456789");
	buf_reset(&b);
	T_EQ_INT(buf_printf(&b, "%d-%s", 42, "ab"), 0);
	T_EQ_INT(buf_printf(&b, "%s", "toolongtoolong"), -1);
	T_EQ_INT(b.len, 5);
	buf_free(&b);
	buf_free(NULL);

	arena_init(&a);
	for (i = 0; i < 10000; i++) {
		s = arena_printf(&a, "item %d", i);
		T_OK(s != NULL && ((uintptr_t)s & 15) == 0, "alloc %d", i);
	}
	T_OK(arena_alloc(&a, 1 << 20) != NULL, "large");
	arena_reset(&a);
	T_OK(arena_strdup(&a, "x") != NULL, "after reset");
	a.max = 1 << 20;
	T_OK(arena_alloc(&a, 2 << 20) == NULL, "over max");
	arena_free(&a);
	arena_free(NULL);
}

static void
test_enc(void)
{
	uint8_t		 out[64];
	char		 s[128];
	ssize_t		 n;
	uint64_t	 v;
	static const uint8_t	hello[] = "hello world";

	enc_b32_encode(hello, 11, s);
	T_EQ_STR(s, "nbswy3dpeb3w64tmmq");
	n = enc_b32_decode(s, strlen(s), out, sizeof(out));
	T_EQ_MEM(out, (size_t)n, hello, 11);
	T_EQ_INT(enc_b32_decode("nbswy3dpeb3w64tmmr", 18, out, 64), -1);
	T_EQ_INT(enc_b32_decode("NBSW", 4, out, 64), -1);

	enc_b58_encode(hello, 11, s, sizeof(s));
	T_EQ_STR(s, "StV1DL6CwTryKyV");
	n = enc_b58_decode(s, strlen(s), out, sizeof(out));
	T_EQ_MEM(out, (size_t)n, hello, 11);
	enc_b58_encode((const uint8_t *)"\0\0\1", 3, s, sizeof(s));
	T_EQ_STR(s, "112");
	T_EQ_INT(enc_b58_decode("0OIl", 4, out, 64), -1);

	enc_b64_encode(ENC_B64_STD, 0, hello, 11, s);
	T_EQ_STR(s, "aGVsbG8gd29ybGQ");
	enc_b64_encode(ENC_B64_STD, 1, hello, 11, s);
	T_EQ_STR(s, "aGVsbG8gd29ybGQ=");
	T_EQ_INT(enc_b64_decode(ENC_B64_STD, "aGVsbG8gd29ybGQ=", 16, out, 64),
	    11);
	T_EQ_INT(enc_b64_decode(ENC_B64_STD, "aGVsbG8gd29ybGQ", 15, out, 64),
	    11);
	T_EQ_INT(enc_b64_decode(ENC_B64_STD, "aGVsbG8gd29ybGR", 15, out, 64),
	    -1);
	T_EQ_INT(enc_b64_decode(ENC_B64_STD, "a=b", 3, out, 64), -1);
	T_EQ_INT(enc_b64_decode(ENC_B64_URL, "-_8", 3, out, 64), 2);
	T_EQ_INT(enc_b64_decode(ENC_B64_STD, "-_8", 3, out, 64), -1);

	enc_hex_encode(hello, 2, s);
	T_EQ_STR(s, "6865");
	T_EQ_INT(enc_hex_decode("6A6b", 4, out, 64), 2);
	T_EQ_INT(enc_hex_decode("6g", 2, out, 64), -1);

	T_EQ_INT(enc_varint_encode(300, out), 2);
	T_EQ_INT(out[0], 0xac);
	T_EQ_INT(enc_varint_decode(out, 2, &v), 2);
	T_EQ_INT(v, 300);
	T_EQ_INT(enc_varint_decode((const uint8_t *)"\x80\x00", 2, &v), -1);
	T_EQ_INT(enc_varint_decode((const uint8_t *)"\x80", 1, &v), -1);
}

static void
test_time(void)
{
	char	 s[UTIL_ISO_LEN];
	int64_t	 ms;

	util_iso_time(1735787045678LL, s);
	T_EQ_STR(s, "2025-01-02T03:04:05.678Z");
	T_EQ_INT(util_iso_parse(s, strlen(s), &ms), 0);
	T_EQ_INT(ms, 1735787045678LL);
	T_OK(util_ct_equal("abc", 3, "abc", 3), "ct eq");
	T_OK(!util_ct_equal("abc", 3, "abd", 3), "ct ne");
	T_OK(!util_ct_equal("abc", 3, "ab", 2), "ct len");
}

int
main(void)
{
	test_int_parse();
	test_buf_arena();
	test_enc();
	test_time();
	return t_done("core");
}
