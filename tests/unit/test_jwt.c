/*
 * test_jwt.c: jwt.c round trips (HS256, ES256K, ES256) and refusals:
 * alg none, alg swap, expiry, future iat/nbf, aud, lxm, typ, bad
 * signatures, garbage, padding, oversize, extra segments, deep JSON.
 * Hand-made tokens are built here with OpenSSL's HMAC directly, not with
 * jwt_encode, so the two sides are independent.
 */
#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "t.h"
#include "buf.h"
#include "enc.h"
#include "jwt.h"
#include "keys.h"
#include "util.h"

static const char	secret[] = "s3cr3t-jwt-secret";
static int64_t		now_s;

static void
b64url_append(struct buf *b, const void *p, size_t len)
{
	char	*tmp = malloc(ENC_B64_LEN(len));

	if (tmp == NULL)
		abort();
	(void)enc_b64_encode(ENC_B64_URL, 0, p, len, tmp);
	if (buf_puts(b, tmp) == -1)
		abort();
	free(tmp);
}

/* header.payload.HMAC(secret) from raw JSON texts; caller buf_free()s. */
static void
mk_hs(struct buf *b, const char *hdr, const char *pl, const char *key)
{
	uint8_t		mac[32];
	unsigned int	maclen = 32;

	buf_init(b, 0);
	b64url_append(b, hdr, strlen(hdr));
	(void)buf_putc(b, '.');
	b64url_append(b, pl, strlen(pl));
	(void)HMAC(EVP_sha256(), key, (int)strlen(key), b->data, b->len, mac,
	    &maclen);
	(void)buf_putc(b, '.');
	b64url_append(b, mac, maclen);
	(void)buf_cstr(b);
}

static enum jwt_err
verify_str(const char *tok, size_t len, const struct jwt_params *p)
{
	struct jwt	j;
	enum jwt_err	e;

	e = jwt_verify(tok, len, p, &j);
	if (e == JWT_OK)
		jwt_fini(&j);
	else
		T_OK(j.header == NULL && j.payload == NULL, "not emptied");
	return e;
}

static enum jwt_err
verify_buf(const struct buf *b, const struct jwt_params *p)
{
	return verify_str((const char *)b->data, b->len, p);
}

static void
hs_params(struct jwt_params *p)
{
	jwt_params_init(p, JWT_ALG_HS256);
	p->key.secret = (const uint8_t *)secret;
	p->key.secret_len = strlen(secret);
	p->now_ms = now_s * 1000;
}

/* A session access token as the reference makes one. */
static void
test_hs256_roundtrip(void)
{
	struct jwt_params	 p;
	struct jwt		 j;
	struct buf		 b;
	json_t			*h, *pl;

	hs_params(&p);
	buf_init(&b, 0);
	h = json_pack("{s:s, s:s}", "typ", "at+jwt", "alg", "HS256");
	pl = json_pack("{s:s, s:s, s:s, s:I, s:I}", "scope",
	    "com.atproto.access", "aud", "did:web:pds.test", "sub",
	    "did:plc:abc", "iat", (json_int_t)now_s, "exp",
	    (json_int_t)now_s + 7200);
	T_EQ_INT(jwt_encode(JWT_ALG_HS256, h, pl, &p.key, &b), JWT_OK);
	T_EQ_INT(strlen((char *)b.data), b.len);
	p.typ = "at+jwt";
	p.aud = "did:web:pds.test";
	p.need |= JWT_NEED_SUB | JWT_NEED_IAT;
	T_EQ_INT(jwt_verify((char *)b.data, b.len, &p, &j), JWT_OK);
	T_EQ_STR(jwt_get_str(&j, "sub"), "did:plc:abc");
	T_EQ_STR(jwt_get_str(&j, "scope"), "com.atproto.access");
	T_OK(jwt_get_str(&j, "iat") == NULL, "iat is not a string");
	T_EQ_STR(j.alg, "HS256");
	T_EQ_INT(j.sig_len, 32);
	jwt_fini(&j);
	jwt_fini(&j);		/* harmless twice */
	jwt_fini(NULL);
	/* typ is compared case-insensitively, "application/" optional. */
	p.typ = "application/AT+JWT";
	T_EQ_INT(verify_buf(&b, &p), JWT_OK);
	p.typ = "refresh+jwt";
	T_EQ_INT(verify_buf(&b, &p), JWT_ERR_TYPE);
	p.typ = NULL;
	/* Wrong secret. */
	p.key.secret = (const uint8_t *)"other";
	p.key.secret_len = 5;
	T_EQ_INT(verify_buf(&b, &p), JWT_ERR_SIGNATURE);
	p.key.secret_len = 0;
	T_EQ_INT(verify_buf(&b, &p), JWT_ERR_KEY);
	/* Header alg must match the key handed to jwt_encode. */
	T_EQ_INT(jwt_encode(JWT_ALG_ES256K, h, pl, &p.key, &b), JWT_ERR_ALG);
	json_decref(h);
	json_decref(pl);
	buf_free(&b);
}

static void
test_es_roundtrip(enum key_type t)
{
	struct key		*k = NULL, *pub = NULL, *other = NULL;
	struct jwt_params	 p;
	struct jwt		 j;
	struct buf		 b;
	char			 did[KEY_DID_LEN];
	static const char *const forbid[] = { "at+jwt", "refresh+jwt",
	    "dpop+jwt", NULL };
	enum jwt_alg		 alg = jwt_alg_for_key(t);

	T_EQ_INT(key_new(t, &k), KEY_OK);
	T_EQ_INT(key_new(t == KEY_TYPE_K256 ? KEY_TYPE_P256 : KEY_TYPE_K256,
	    &other), KEY_OK);
	if (k == NULL || other == NULL)
		goto out;
	key_did(k, did);
	T_EQ_INT(key_parse_did(did, strlen(did), &pub), KEY_OK);
	buf_init(&b, 0);
	T_EQ_INT(jwt_service_encode(k, "did:plc:issuer", "did:web:pds.test",
	    "com.atproto.repo.uploadBlob", now_s, 0, &b), JWT_OK);
	/* Verify with the public key only, as a receiving service does. */
	jwt_params_init(&p, alg);
	p.key.key = pub;
	p.now_ms = now_s * 1000;
	p.aud = "did:web:pds.test";
	p.lxm = "com.atproto.repo.uploadBlob";
	p.typ_forbidden = forbid;
	p.need |= JWT_NEED_ISS | JWT_NEED_AUD;
	T_EQ_INT(jwt_verify((char *)b.data, b.len, &p, &j), JWT_OK);
	if (j.payload != NULL) {
		T_EQ_STR(jwt_get_str(&j, "iss"), "did:plc:issuer");
		T_EQ_INT(json_integer_value(json_object_get(j.payload, "exp")),
		    now_s + 60);
		T_EQ_INT(strlen(jwt_get_str(&j, "jti")), 32);
		T_EQ_STR(j.alg, jwt_alg_name(alg));
		T_EQ_INT(j.sig_len, 64);
	}
	jwt_fini(&j);
	/* Wrong lxm, missing lxm check, wrong aud. */
	p.lxm = "com.atproto.server.createAccount";
	T_EQ_INT(verify_buf(&b, &p), JWT_ERR_LXM);
	p.lxm = NULL;
	T_EQ_INT(verify_buf(&b, &p), JWT_OK);
	p.aud = "did:web:other.test";
	T_EQ_INT(verify_buf(&b, &p), JWT_ERR_AUDIENCE);
	p.aud = "did:web:pds.test";
	/* Expired one second after exp. */
	p.now_ms = (now_s + 61) * 1000;
	T_EQ_INT(verify_buf(&b, &p), JWT_ERR_EXPIRED);
	p.now_ms = (now_s + 60) * 1000;
	T_EQ_INT(verify_buf(&b, &p), JWT_OK);
	/* Issued far ahead of our clock. */
	p.now_ms = (now_s - 3600) * 1000;
	T_EQ_INT(verify_buf(&b, &p), JWT_ERR_NOT_YET);
	p.now_ms = (now_s - LIM_JWT_SKEW_S) * 1000;
	T_EQ_INT(verify_buf(&b, &p), JWT_OK);
	p.now_ms = now_s * 1000;
	/* Alg swap: the ES token checked as HS256 with the secret. */
	hs_params(&p);
	T_EQ_INT(verify_buf(&b, &p), JWT_ERR_ALG);
	/* The other ES alg, and a key of the wrong curve. */
	jwt_params_init(&p, alg == JWT_ALG_ES256K ? JWT_ALG_ES256 :
	    JWT_ALG_ES256K);
	p.key.key = other;
	p.now_ms = now_s * 1000;
	T_EQ_INT(verify_buf(&b, &p), JWT_ERR_ALG);
	jwt_params_init(&p, alg);
	p.key.key = other;
	p.now_ms = now_s * 1000;
	T_EQ_INT(verify_buf(&b, &p), JWT_ERR_KEY);
	p.key.key = NULL;
	T_EQ_INT(verify_buf(&b, &p), JWT_ERR_KEY);
	/* A public-only key cannot sign. */
	{
		struct jwt_key	 pk = { .key = pub };
		json_t		*h = json_pack("{s:s}", "alg",
				    jwt_alg_name(alg));
		json_t		*pl = json_object();
		struct buf	 b2;

		buf_init(&b2, 0);
		T_EQ_INT(jwt_encode(alg, h, pl, &pk, &b2), JWT_ERR_KEY);
		T_EQ_INT(b2.len, 0);
		buf_free(&b2);
		json_decref(h);
		json_decref(pl);
	}
	buf_free(&b);
out:
	key_free(pub);
	key_free(other);
	key_free(k);
}

/* Byte layout of a service token: the header segment is exactly
 * base64url('{"typ":"JWT","alg":"ES256K"}'), as createServiceJwt. */
static void
test_service_layout(void)
{
	struct key	*k = NULL;
	struct buf	 b;
	struct jwt	 j;
	char		 want[128];
	static const char hdr[] = "{\"typ\":\"JWT\",\"alg\":\"ES256K\"}";
	size_t		 n;

	T_EQ_INT(key_new_k256(&k), KEY_OK);
	if (k == NULL)
		return;
	buf_init(&b, 0);
	T_EQ_INT(jwt_service_encode(k, "did:plc:a", "did:web:b", NULL, 1000,
	    2000, &b), JWT_OK);
	n = enc_b64_encode(ENC_B64_URL, 0, (const uint8_t *)hdr,
	    sizeof(hdr) - 1, want);
	T_OK(b.len > n && memcmp(b.data, want, n) == 0 && b.data[n] == '.',
	    "header segment %s", (char *)b.data);
	T_EQ_INT(jwt_parse((char *)b.data, b.len, &j), JWT_OK);
	T_OK(json_object_get(j.payload, "lxm") == NULL, "lxm written");
	T_EQ_INT(json_object_size(j.payload), 5);
	jwt_fini(&j);
	buf_free(&b);
	key_free(k);
}

/* High-S ES256K signatures: refused strictly, accepted with malleable
 * (the reference's service-auth verifier allows them). */
static void
test_malleable(void)
{
	static const uint8_t	n[32] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
		0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b,
		0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41 };
	struct key		*k = NULL;
	struct jwt_params	 p;
	struct jwt		 j;
	struct buf		 b, t;
	uint8_t			 sig[64];
	int			 i, d, borrow;

	T_EQ_INT(key_new_k256(&k), KEY_OK);
	if (k == NULL)
		return;
	buf_init(&b, 0);
	T_EQ_INT(jwt_service_encode(k, "did:plc:a", "did:web:b", NULL, now_s,
	    0, &b), JWT_OK);
	T_EQ_INT(jwt_parse((char *)b.data, b.len, &j), JWT_OK);
	memcpy(sig, j.sig, 64);
	for (i = 31, borrow = 0; i >= 0; i--) {
		d = (int)n[i] - (int)sig[32 + i] - borrow;
		borrow = d < 0;
		sig[32 + i] = (uint8_t)(d + (borrow ? 256 : 0));
	}
	buf_init(&t, 0);
	(void)buf_append(&t, j.signed_part, j.signed_len + 1);
	b64url_append(&t, sig, 64);
	jwt_fini(&j);
	jwt_params_init(&p, JWT_ALG_ES256K);
	p.key.key = k;
	p.now_ms = now_s * 1000;
	T_EQ_INT(verify_buf(&t, &p), JWT_ERR_SIGNATURE);
	p.malleable = 1;
	T_EQ_INT(verify_buf(&t, &p), JWT_OK);
	buf_free(&t);
	buf_free(&b);
	key_free(k);
}

static void
test_refusals(void)
{
	struct jwt_params	p;
	struct buf		b;
	char			pl[256], *big;
	size_t			i;
	static const char	*garbage[] = {
		"", ".", "..", "...", "abc", "a.b", "a.b.c", "a..c", ".b.c",
		"a.b.", "e30.e30.", "e30.e30.e30.e30", "e30.e30.e30.e30.e30",
		"e30=.e30.AAAA", "e30.e30.AAAA=", "e30.e30.AA==",
		"e30.e30.A", "e30.e30.AAA*", "e30 .e30.AAAA",
		"eyJhbGciOiJIUzI1NiJ9.e30.AAAA\n",
	};

	hs_params(&p);
	for (i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++)
		T_OK(verify_str(garbage[i], strlen(garbage[i]), &p) ==
		    JWT_ERR_FORMAT || verify_str(garbage[i],
		    strlen(garbage[i]), &p) == JWT_ERR_JSON,
		    "garbage %zu \"%s\" -> %d", i, garbage[i],
		    verify_str(garbage[i], strlen(garbage[i]), &p));
	T_EQ_INT(verify_str(NULL, 0, &p), JWT_ERR_FORMAT);
	(void)snprintf(pl, sizeof(pl), "{\"exp\":%lld}",
	    (long long)now_s + 60);

	/* The good one, to show the hand-made tokens work at all. */
	mk_hs(&b, "{\"alg\":\"HS256\"}", pl, secret);
	T_EQ_INT(verify_buf(&b, &p), JWT_OK);
	/* Bad signature: one character of it changed. */
	b.data[b.len - 5] = b.data[b.len - 5] == 'A' ? 'B' : 'A';
	T_EQ_INT(verify_buf(&b, &p), JWT_ERR_SIGNATURE);
	/* Truncated signature. */
	T_EQ_INT(verify_str((char *)b.data, b.len - 4, &p),
	    JWT_ERR_SIGNATURE);
	buf_free(&b);
	/* alg none, with and without a signature. */
	mk_hs(&b, "{\"alg\":\"none\"}", pl, secret);
	T_EQ_INT(verify_buf(&b, &p), JWT_ERR_ALG);
	*(strrchr((char *)b.data, '.') + 1) = '\0';
	T_EQ_INT(verify_str((char *)b.data, strlen((char *)b.data), &p),
	    JWT_ERR_FORMAT);
	buf_free(&b);
	/* alg swap the other way: an HS256 token pinned to ES256K, HMAC'd
	 * with a public key string (the classic confusion attack). */
	mk_hs(&b, "{\"alg\":\"HS256\"}", pl,
	    "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme");
	{
		struct jwt_params	 q;
		struct key		*k = NULL;
		const char		*d =
		    "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme";

		T_EQ_INT(key_parse_did(d, strlen(d), &k), KEY_OK);
		jwt_params_init(&q, JWT_ALG_ES256K);
		q.key.key = k;
		q.now_ms = now_s * 1000;
		T_EQ_INT(verify_buf(&b, &q), JWT_ERR_ALG);
		key_free(k);
	}
	buf_free(&b);
	/* Header alg in another case, or not a string, or missing. */
	mk_hs(&b, "{\"alg\":\"hs256\"}", pl, secret);
	T_EQ_INT(verify_buf(&b, &p), JWT_ERR_ALG);
	buf_free(&b);
	mk_hs(&b, "{\"alg\":1}", pl, secret);
	T_EQ_INT(verify_buf(&b, &p), JWT_ERR_JSON);
	buf_free(&b);
	mk_hs(&b, "{\"typ\":\"JWT\"}", pl, secret);
	T_EQ_INT(verify_buf(&b, &p), JWT_ERR_JSON);
	buf_free(&b);
	/* crit extensions are not understood. */
	mk_hs(&b, "{\"alg\":\"HS256\",\"crit\":[\"b64\"],\"b64\":false}", pl,
	    secret);
	T_EQ_INT(verify_buf(&b, &p), JWT_ERR_FORMAT);
	buf_free(&b);
	/* Duplicate keys, non-objects, invalid UTF-8, trailing junk. */
	mk_hs(&b, "{\"alg\":\"HS256\",\"alg\":\"HS256\"}", pl, secret);
	T_EQ_INT(verify_buf(&b, &p), JWT_ERR_JSON);
	buf_free(&b);
	mk_hs(&b, "[\"HS256\"]", pl, secret);
	T_EQ_INT(verify_buf(&b, &p), JWT_ERR_JSON);
	buf_free(&b);
	mk_hs(&b, "{\"alg\":\"HS256\"}", "\"x\"", secret);
	T_EQ_INT(verify_buf(&b, &p), JWT_ERR_JSON);
	buf_free(&b);
	mk_hs(&b, "{\"alg\":\"HS256\"}", "{\"sub\":\"\xff\"}", secret);
	T_EQ_INT(verify_buf(&b, &p), JWT_ERR_JSON);
	buf_free(&b);
	mk_hs(&b, "{\"alg\":\"HS256\"} x", pl, secret);
	T_EQ_INT(verify_buf(&b, &p), JWT_ERR_JSON);
	buf_free(&b);
	/* Claims of the wrong type or missing. */
	mk_hs(&b, "{\"alg\":\"HS256\"}", "{\"exp\":\"9999999999\"}", secret);
	T_EQ_INT(verify_buf(&b, &p), JWT_ERR_CLAIMS);
	buf_free(&b);
	mk_hs(&b, "{\"alg\":\"HS256\"}", "{\"sub\":\"did:plc:x\"}", secret);
	T_EQ_INT(verify_buf(&b, &p), JWT_ERR_CLAIMS);
	buf_free(&b);
	mk_hs(&b, "{\"alg\":\"HS256\"}", "{\"exp\":9999999999,\"iss\":5}",
	    secret);
	T_EQ_INT(verify_buf(&b, &p), JWT_ERR_CLAIMS);
	buf_free(&b);
	mk_hs(&b, "{\"alg\":\"HS256\"}", "{\"exp\":1e300}", secret);
	T_EQ_INT(verify_buf(&b, &p), JWT_ERR_CLAIMS);
	buf_free(&b);
	mk_hs(&b, "{\"alg\":\"HS256\"}",
	    "{\"exp\":9999999999,\"aud\":[\"did:web:pds.test\"]}", secret);
	T_EQ_INT(verify_buf(&b, &p), JWT_ERR_CLAIMS);
	buf_free(&b);
	/* Expired by one second; nbf in the future; typ not a string. */
	(void)snprintf(pl, sizeof(pl), "{\"exp\":%lld}", (long long)now_s - 1);
	mk_hs(&b, "{\"alg\":\"HS256\"}", pl, secret);
	T_EQ_INT(verify_buf(&b, &p), JWT_ERR_EXPIRED);
	buf_free(&b);
	(void)snprintf(pl, sizeof(pl), "{\"exp\":%lld,\"nbf\":%lld}",
	    (long long)now_s + 9000, (long long)now_s + 3000);
	mk_hs(&b, "{\"alg\":\"HS256\"}", pl, secret);
	T_EQ_INT(verify_buf(&b, &p), JWT_ERR_NOT_YET);
	buf_free(&b);
	(void)snprintf(pl, sizeof(pl), "{\"exp\":%lld,\"iat\":%lld}",
	    (long long)now_s + 9000, (long long)now_s + 3000);
	mk_hs(&b, "{\"alg\":\"HS256\"}", pl, secret);
	T_EQ_INT(verify_buf(&b, &p), JWT_ERR_NOT_YET);
	buf_free(&b);
	(void)snprintf(pl, sizeof(pl), "{\"exp\":%lld}", (long long)now_s + 9);
	mk_hs(&b, "{\"alg\":\"HS256\",\"typ\":7}", pl, secret);
	T_EQ_INT(verify_buf(&b, &p), JWT_ERR_TYPE);
	buf_free(&b);
	/* Forbidden typ for service tokens (xrpc-server). */
	{
		static const char *const forbid[] = { "refresh+jwt", NULL };

		mk_hs(&b, "{\"alg\":\"HS256\",\"typ\":\"refresh+jwt\"}", pl,
		    secret);
		T_EQ_INT(verify_buf(&b, &p), JWT_OK);
		p.typ_forbidden = forbid;
		T_EQ_INT(verify_buf(&b, &p), JWT_ERR_TYPE);
		p.typ_forbidden = NULL;
		buf_free(&b);
	}
	/* Nesting deeper than LIM_JSON_DEPTH. */
	big = malloc(4096);
	if (big != NULL) {
		size_t	o = 0, k;

		o += (size_t)snprintf(big, 4096, "{\"exp\":%lld,\"x\":",
		    (long long)now_s + 9);
		for (k = 0; k < LIM_JSON_DEPTH + 1; k++)
			big[o++] = '[';
		for (k = 0; k < LIM_JSON_DEPTH + 1; k++)
			big[o++] = ']';
		big[o++] = '}';
		big[o] = '\0';
		mk_hs(&b, "{\"alg\":\"HS256\"}", big, secret);
		T_EQ_INT(verify_buf(&b, &p), JWT_ERR_JSON);
		buf_free(&b);
		free(big);
	}
}

static void
test_limits(void)
{
	struct jwt_params	 p;
	struct buf		 b;
	char			*s;
	size_t			 n;

	hs_params(&p);
	/* Whole token over LIM_JWT_LEN. */
	n = LIM_JWT_LEN + 1;
	if ((s = malloc(n + 1)) == NULL)
		return;
	memset(s, 'A', n);
	s[10] = '.';
	s[20] = '.';
	T_EQ_INT(verify_str(s, n, &p), JWT_ERR_SIZE);
	/* Payload segment decoding to more than LIM_JWT_SEGMENT. */
	n = LIM_JWT_LEN - 100;
	T_EQ_INT(verify_str(s, n, &p), JWT_ERR_SIZE);
	/* Signature over LIM_JWT_SIG. */
	memset(s, 'A', n);
	memcpy(s, "e30.e30.", 8);
	T_EQ_INT(verify_str(s, 8 + LIM_JWT_SIG * 4 / 3 + 8, &p),
	    JWT_ERR_SIZE);
	free(s);
	/* A payload segment just under the limit is fine. */
	if ((s = malloc(LIM_JWT_SEGMENT)) == NULL)
		return;
	n = (size_t)snprintf(s, LIM_JWT_SEGMENT, "{\"exp\":%lld,\"x\":\"",
	    (long long)now_s + 9);
	memset(s + n, 'x', LIM_JWT_SEGMENT - n - 2);
	memcpy(s + LIM_JWT_SEGMENT - 2, "\"}", 2);
	{
		char	*pl = malloc(LIM_JWT_SEGMENT + 1);

		if (pl != NULL) {
			memcpy(pl, s, LIM_JWT_SEGMENT);
			pl[LIM_JWT_SEGMENT] = '\0';
			mk_hs(&b, "{\"alg\":\"HS256\"}", pl, secret);
			T_EQ_INT(verify_buf(&b, &p), JWT_OK);
			buf_free(&b);
			/* One byte more is refused. */
			pl[LIM_JWT_SEGMENT - 1] = ' ';
			{
				char	*pl2 = malloc(LIM_JWT_SEGMENT + 2);

				if (pl2 != NULL) {
					memcpy(pl2, pl, LIM_JWT_SEGMENT);
					pl2[LIM_JWT_SEGMENT] = '}';
					pl2[LIM_JWT_SEGMENT + 1] = '\0';
					mk_hs(&b, "{\"alg\":\"HS256\"}", pl2,
					    secret);
					T_EQ_INT(verify_buf(&b, &p),
					    JWT_ERR_SIZE);
					buf_free(&b);
					free(pl2);
				}
			}
			free(pl);
		}
	}
	free(s);
}

static void
test_names(void)
{
	T_EQ_STR(jwt_err_service_name(JWT_ERR_EXPIRED), "JwtExpired");
	T_EQ_STR(jwt_err_service_name(JWT_ERR_AUDIENCE), "BadJwtAudience");
	T_EQ_STR(jwt_err_service_name(JWT_ERR_LXM), "BadJwtLexiconMethod");
	T_EQ_STR(jwt_err_service_name(JWT_ERR_SIGNATURE), "BadJwtSignature");
	T_EQ_STR(jwt_err_service_name(JWT_ERR_TYPE), "BadJwtType");
	T_EQ_STR(jwt_err_service_name(JWT_ERR_FORMAT), "BadJwt");
	T_EQ_STR(jwt_err_session_name(JWT_ERR_EXPIRED), "ExpiredToken");
	T_EQ_STR(jwt_err_session_name(JWT_ERR_SIGNATURE), "InvalidToken");
	T_OK(jwt_err_service_name(JWT_ERR_NOMEM) == NULL, "nomem name");
	T_OK(jwt_err_service_name(JWT_ERR__MAX) == NULL, "max name");
	T_EQ_STR(jwt_err_str(JWT_ERR__MAX), "unknown jwt error");
	T_EQ_STR(jwt_alg_name(JWT_ALG_ES256K), "ES256K");
	T_OK(jwt_alg_name(JWT_ALG__MAX) == NULL, "alg max");
}

int
main(void)
{
	now_s = util_now_ms() / 1000;
	test_hs256_roundtrip();
	test_es_roundtrip(KEY_TYPE_K256);
	test_es_roundtrip(KEY_TYPE_P256);
	test_service_layout();
	test_malleable();
	test_refusals();
	test_limits();
	test_names();
	return t_done("jwt");
}
