/*
 * fuzz_jwt.c: libFuzzer entry point for the JWT parser (jwt_parse) and
 * the checks after it: signature with a fixed HS256 secret and a fixed
 * ES256K / ES256 key (strict and malleable), and the claim checks.
 * An input starting with '{' is taken as "HEADER\nPAYLOAD\nSIGBYTES" and
 * base64url-encoded into a token first, so the fuzzer reaches the JSON
 * and claim logic without having to discover base64.
 * Seeds: tests/fuzz/corpus/jwt/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "enc.h"
#include "jwt.h"
#include "keys.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct key *
fixed_key(enum key_type t)
{
	uint8_t		 priv[KEY_PRIV_LEN];
	struct key	*k = NULL;

	memset(priv, 0x42, sizeof(priv));
	if (key_load_raw(t, priv, sizeof(priv), &k) != KEY_OK)
		abort();
	return k;
}

/* Appends base64url(p, len) to b. */
static void
b64url_put(struct buf *b, const uint8_t *p, size_t len)
{
	char	*tmp;

	if ((tmp = malloc(ENC_B64_LEN(len))) == NULL)
		abort();
	(void)enc_b64_encode(ENC_B64_URL, 0, p, len, tmp);
	(void)buf_puts(b, tmp);
	free(tmp);
}

/* Builds a token from "HEADER\nPAYLOAD\nSIG" into b; returns -1 when the
 * input does not have that shape. */
static int
assemble(const uint8_t *data, size_t size, struct buf *b)
{
	const uint8_t	*n1, *n2;

	if ((n1 = memchr(data, '\n', size)) == NULL ||
	    (n2 = memchr(n1 + 1, '\n', size - (size_t)(n1 + 1 - data))) ==
	    NULL)
		return -1;
	b64url_put(b, data, (size_t)(n1 - data));
	(void)buf_putc(b, '.');
	b64url_put(b, n1 + 1, (size_t)(n2 - n1 - 1));
	(void)buf_putc(b, '.');
	b64url_put(b, n2 + 1, size - (size_t)(n2 + 1 - data));
	return 0;
}

static void
run(const char *tok, size_t size)
{
	static struct key	*k256, *p256;
	static const char	 secret[] = "fuzz-secret";
	static const char *const forbid[] = { "at+jwt", "refresh+jwt", NULL };
	struct jwt_params	 p;
	struct jwt		 j;
	int			 a;

	if (k256 == NULL) {
		k256 = fixed_key(KEY_TYPE_K256);
		p256 = fixed_key(KEY_TYPE_P256);
	}
	if (jwt_parse(tok, size, &j) != JWT_OK)
		return;
	for (a = 0; a < JWT_ALG__MAX; a++) {
		jwt_params_init(&p, (enum jwt_alg)a);
		p.key.secret = (const uint8_t *)secret;
		p.key.secret_len = sizeof(secret) - 1;
		p.key.key = a == JWT_ALG_ES256 ? p256 : k256;
		p.aud = "did:web:fuzz.test";
		p.lxm = "com.atproto.repo.uploadBlob";
		p.typ_forbidden = forbid;
		p.now_ms = 1700000000000LL;
		p.need = JWT_NEED_EXP | JWT_NEED_ISS | JWT_NEED_IAT;
		(void)jwt_verify_sig(&j, &p);
		p.malleable = 1;
		(void)jwt_verify_sig(&j, &p);
		(void)jwt_check_claims(&j, &p);
		p.typ = "at+jwt";
		(void)jwt_check_claims(&j, &p);
	}
	(void)jwt_get_str(&j, "sub");
	jwt_fini(&j);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf	b;

	if (size > 0 && data[0] == '{') {
		buf_init(&b, 0);
		if (assemble(data, size, &b) == 0)
			run((const char *)b.data, b.len);
		buf_free(&b);
		return 0;
	}
	run((const char *)data, size);
	return 0;
}
