/*
 * fuzz_cid.c: libFuzzer target for CID parsing (binary and text) and the
 * lenient base64 reader used for "$bytes".
 *
 * An accepted binary CID consumes exactly CID_BIN_LEN bytes and survives
 * print -> parse; an accepted text CID is the one canonical spelling
 * (printing it gives the input back).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cid.h"
#include "enc.h"

#define FUZZ_B64_OUT	4096

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t len)
{
	struct cid	c, d;
	char		s[CID_STR_LEN];
	uint8_t		out[FUZZ_B64_OUT];
	ssize_t		n;

	if ((n = cid_parse_bytes(&c, p, len)) != -1) {
		if (n != CID_BIN_LEN || memcmp(c.bytes, p, CID_BIN_LEN) != 0)
			abort();
		cid_format(&c, s);
		if (cid_parse_str(&d, s, strlen(s)) != 0 || !cid_equal(&c, &d))
			abort();
	}
	if (cid_parse_str(&c, (const char *)p, len) == 0) {
		cid_format(&c, s);
		if (len != CID_STR_LEN - 1 || memcmp(s, p, len) != 0)
			abort();
	}
	n = enc_b64_decode_lenient((const char *)p, len, out, sizeof(out));
	if (n > (ssize_t)sizeof(out) || (n >= 0 && (size_t)n > len))
		abort();
	return 0;
}
