/*
 * tool_crypto.c: command-line access to keys.c and jwt.c for the Node
 * interop suite (tests/integration/crypto-interop.test.mjs) and the
 * benchmark (tests/bench/bench_crypto.mjs).  Binary values are base64
 * (standard alphabet, padding optional; "-" for empty) on the command
 * line and on output; keys are k256|p256 plus 64 hex digits.
 *
 *   tool_crypto did TYPE PRIVHEX             -> did:key
 *   tool_crypto gen TYPE                     -> PRIVHEX did:key
 *   tool_crypto sign TYPE PRIVHEX MSG64      -> SIG64
 *   tool_crypto batch                        stdin lines, stdout answers:
 *       verify DID MSG64 SIG64   -> "ok" | key_err_str
 *       sign TYPE PRIVHEX MSG64  -> SIG64
 *       did TYPE PRIVHEX         -> did:key
 *   tool_crypto service-jwt TYPE PRIVHEX ISS AUD LXM|- [IAT EXP]
 *   tool_crypto hs256-jwt SECRET HEADERJSON PAYLOADJSON
 *   tool_crypto jwt-verify ALG SECRET|DID TOKEN [AUD|- [LXM|-]]
 *       -> payload JSON, or "error <ServiceName> <text>" and exit 1
 *   tool_crypto bench [SECONDS]              -> one JSON line per op
 * Exit status: 0 ok, 1 refused / verification failed, 2 usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "enc.h"
#include "jwt.h"
#include "keys.h"
#include "util.h"

#define TOOL_MSG_MAX	(64u << 10)	/* bytes of one message */
#define TOOL_LINE_MAX	(128u << 10)	/* one batch line */

static int
type_parse(const char *s, enum key_type *t)
{
	if (strcmp(s, "k256") == 0)
		*t = KEY_TYPE_K256;
	else if (strcmp(s, "p256") == 0)
		*t = KEY_TYPE_P256;
	else
		return -1;
	return 0;
}

static struct key *
key_arg(const char *type, const char *hex)
{
	enum key_type	 t;
	struct key	*k = NULL;
	enum key_err	 e;

	if (type_parse(type, &t) == -1) {
		fprintf(stderr, "unknown key type %s\n", type);
		return NULL;
	}
	if ((e = key_load_hex(t, hex, strlen(hex), &k)) != KEY_OK)
		fprintf(stderr, "bad key: %s\n", key_err_str(e));
	return k;
}

/* Decodes base64 s ("-": empty) into a malloc'd buffer; *len gets its
 * size. */
static uint8_t *
b64_arg(const char *s, size_t *len)
{
	size_t	 n = strlen(s);
	uint8_t	*p;
	ssize_t	 r;

	if (strcmp(s, "-") == 0)
		n = 0;

	if (n / 4 * 3 + 3 > TOOL_MSG_MAX || (p = malloc(n / 4 * 3 + 3)) == NULL)
		return NULL;
	if ((r = enc_b64_decode(ENC_B64_STD, s, n, p, n / 4 * 3 + 3)) < 0) {
		free(p);
		return NULL;
	}
	*len = (size_t)r;
	return p;
}

static void
b64_print(const uint8_t *p, size_t len)
{
	char	out[ENC_B64_LEN(KEY_SIG_LEN)];

	if (len > KEY_SIG_LEN)
		return;
	(void)enc_b64_encode(ENC_B64_STD, 0, p, len, out);
	printf("%s\n", out);
}

static int
do_sign(const char *type, const char *hex, const char *msg64)
{
	struct key	*k;
	uint8_t		*m, sig[KEY_SIG_LEN];
	size_t		 mlen;
	int		 rc = 1;

	if ((k = key_arg(type, hex)) == NULL)
		return 1;
	if ((m = b64_arg(msg64, &mlen)) != NULL &&
	    key_sign(k, m, mlen, sig) == KEY_OK) {
		b64_print(sig, sizeof(sig));
		rc = 0;
	} else
		printf("error\n");
	free(m);
	key_free(k);
	return rc;
}

static int
do_verify(const char *did, const char *msg64, const char *sig64)
{
	uint8_t		*m = NULL, *s = NULL;
	size_t		 mlen = 0, slen = 0;
	enum key_err	 e = KEY_ERR_ENCODING;

	if ((m = b64_arg(msg64, &mlen)) != NULL &&
	    (s = b64_arg(sig64, &slen)) != NULL)
		e = key_verify_did(did, strlen(did), m, mlen, s, slen);
	printf("%s\n", e == KEY_OK ? "ok" : key_err_str(e));
	free(m);
	free(s);
	return e == KEY_OK ? 0 : 1;
}

static int
do_did(const char *type, const char *hex)
{
	struct key	*k;
	char		 did[KEY_DID_LEN];

	if ((k = key_arg(type, hex)) == NULL) {
		printf("error\n");
		return 1;
	}
	key_did(k, did);
	printf("%s\n", did);
	key_free(k);
	return 0;
}

static int
do_gen(const char *type)
{
	enum key_type	 t;
	struct key	*k = NULL;
	char		 hex[KEY_PRIV_HEX_LEN], did[KEY_DID_LEN];

	if (type_parse(type, &t) == -1 || key_new(t, &k) != KEY_OK ||
	    key_priv_hex(k, hex) != KEY_OK) {
		key_free(k);
		return 2;
	}
	key_did(k, did);
	printf("%s %s\n", hex, did);
	util_wipe(hex, sizeof(hex));
	key_free(k);
	return 0;
}

/* Splits line into at most 4 space-separated words. */
static int
words(char *line, char *w[4])
{
	int	n = 0;
	char	*save = NULL, *t;

	for (t = strtok_r(line, " \n", &save); t != NULL && n < 4;
	    t = strtok_r(NULL, " \n", &save))
		w[n++] = t;
	return n;
}

static int
do_batch(void)
{
	char	*line, *w[4];
	int	 n;

	if ((line = malloc(TOOL_LINE_MAX)) == NULL)
		return 2;
	while (fgets(line, TOOL_LINE_MAX, stdin) != NULL) {
		n = words(line, w);
		if (n == 4 && strcmp(w[0], "verify") == 0)
			(void)do_verify(w[1], w[2], w[3]);
		else if (n == 4 && strcmp(w[0], "sign") == 0)
			(void)do_sign(w[1], w[2], w[3]);
		else if (n == 3 && strcmp(w[0], "did") == 0)
			(void)do_did(w[1], w[2]);
		else
			printf("usage\n");
		fflush(stdout);
	}
	free(line);
	return 0;
}

static int
do_service_jwt(int argc, char *argv[])
{
	struct key	*k;
	struct buf	 b;
	int64_t		 iat = 0, exp = 0;
	enum jwt_err	 e;

	if (argc != 7 && argc != 9)
		return 2;
	if (argc == 9 && (util_int_parse_str(argv[7], 0, INT64_MAX / 2,
	    &iat) == -1 || util_int_parse_str(argv[8], 0, INT64_MAX / 2,
	    &exp) == -1))
		return 2;
	if ((k = key_arg(argv[2], argv[3])) == NULL)
		return 1;
	buf_init(&b, 0);
	e = jwt_service_encode(k, argv[4], argv[5],
	    strcmp(argv[6], "-") == 0 ? NULL : argv[6], iat, exp, &b);
	if (e == JWT_OK)
		printf("%s\n", (char *)b.data);
	else
		printf("error %s\n", jwt_err_str(e));
	buf_free(&b);
	key_free(k);
	return e == JWT_OK ? 0 : 1;
}

static int
do_hs256_jwt(const char *secret, const char *hjs, const char *pjs)
{
	struct jwt_key	 k = { .secret = (const uint8_t *)secret,
			    .secret_len = strlen(secret) };
	json_t		*h, *p;
	struct buf	 b;
	enum jwt_err	 e = JWT_ERR_JSON;

	buf_init(&b, 0);
	h = json_loads(hjs, 0, NULL);
	p = json_loads(pjs, 0, NULL);
	if (h != NULL && p != NULL)
		e = jwt_encode(JWT_ALG_HS256, h, p, &k, &b);
	if (e == JWT_OK)
		printf("%s\n", (char *)b.data);
	else
		printf("error %s\n", jwt_err_str(e));
	json_decref(h);
	json_decref(p);
	buf_free(&b);
	return e == JWT_OK ? 0 : 1;
}

static int
do_jwt_verify(int argc, char *argv[])
{
	struct jwt_params	 p;
	struct jwt		 j;
	struct key		*k = NULL;
	char			*dump;
	int			 a;
	enum jwt_err		 e;

	if (argc < 5 || argc > 7)
		return 2;
	for (a = 0; a < JWT_ALG__MAX; a++)
		if (strcmp(argv[2], jwt_alg_name((enum jwt_alg)a)) == 0)
			break;
	if (a == JWT_ALG__MAX)
		return 2;
	jwt_params_init(&p, (enum jwt_alg)a);
	if (a == JWT_ALG_HS256) {
		p.key.secret = (const uint8_t *)argv[3];
		p.key.secret_len = strlen(argv[3]);
	} else if (key_parse_did(argv[3], strlen(argv[3]), &k) != KEY_OK)
		return 2;
	p.key.key = k;
	if (argc > 5 && strcmp(argv[5], "-") != 0)
		p.aud = argv[5];
	if (argc > 6 && strcmp(argv[6], "-") != 0)
		p.lxm = argv[6];
	e = jwt_verify(argv[4], strlen(argv[4]), &p, &j);
	if (e == JWT_OK) {
		dump = json_dumps(j.payload, JSON_COMPACT);
		printf("%s\n", dump != NULL ? dump : "null");
		free(dump);
		jwt_fini(&j);
	} else
		printf("error %s %s\n", jwt_err_service_name(e) != NULL ?
		    jwt_err_service_name(e) : "Internal", jwt_err_str(e));
	key_free(k);
	return e == JWT_OK ? 0 : 1;
}

/* ---- bench ----------------------------------------------------------- */

/* verify and jwt verify start from the did:key string, as
 * @atproto/crypto verifySignature() and xrpc-server verifyJwt() do;
 * verify-key reuses a parsed key. */
enum bench_op { B_SIGN, B_VERIFY, B_VERIFY_KEY, B_JWT_SIGN, B_JWT_VERIFY,
    B__MAX };

struct bench_ctx {
	enum jwt_alg	 alg;
	struct key	*key;
	char		 did[KEY_DID_LEN];
	struct jwt_key	 jk;
	json_t		*hdr, *pl;	/* HS256 session token parts */
	struct buf	 tok, scratch;
	uint8_t		 sig[KEY_SIG_LEN];
	struct jwt_params p;
};

/* A typical service-auth signing input (header.payload). */
static const char bench_msg[] =
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NksifQ.eyJpYXQiOjE3MDAwMDAwMDAsImlzcyI"
    "6ImRpZDpwbGM6YWJjIiwiYXVkIjoiZGlkOndlYjpwZHMudGVzdCJ9";

static enum jwt_err
bench_jwt_make(struct bench_ctx *c, struct buf *out)
{
	if (c->alg == JWT_ALG_HS256)
		return jwt_encode(JWT_ALG_HS256, c->hdr, c->pl, &c->jk, out);
	return jwt_service_encode(c->key, "did:plc:abc", "did:web:pds.test",
	    "com.atproto.repo.uploadBlob", 0, 0, out);
}

static int
bench_op(enum bench_op op, struct bench_ctx *c)
{
	struct jwt		 j;
	struct jwt_params	 p;
	struct key		*k = NULL;
	enum jwt_err		 e;

	switch (op) {
	case B_SIGN:
		return key_sign(c->key, bench_msg, sizeof(bench_msg) - 1,
		    c->sig) == KEY_OK ? 0 : -1;
	case B_VERIFY:
		return key_verify_did(c->did, strlen(c->did), bench_msg,
		    sizeof(bench_msg) - 1, c->sig, sizeof(c->sig)) == KEY_OK ?
		    0 : -1;
	case B_VERIFY_KEY:
		return key_verify(c->key, bench_msg, sizeof(bench_msg) - 1,
		    c->sig, sizeof(c->sig), 0) == KEY_OK ? 0 : -1;
	case B_JWT_SIGN:
		buf_reset(&c->scratch);
		return bench_jwt_make(c, &c->scratch) == JWT_OK ? 0 : -1;
	default:
		p = c->p;
		if (c->alg != JWT_ALG_HS256) {
			if (key_parse_did(c->did, strlen(c->did), &k) != KEY_OK)
				return -1;
			p.key.key = k;
		}
		e = jwt_verify((char *)c->tok.data, c->tok.len, &p, &j);
		key_free(k);
		if (e != JWT_OK)
			return -1;
		jwt_fini(&j);
		return 0;
	}
}

static int
bench_run(const char *alg, const char *name, enum bench_op op,
    struct bench_ctx *c, double secs)
{
	int64_t	start = util_mono_us(), el;
	long	n = 0;
	int	i;

	do {
		for (i = 0; i < 16; i++)
			if (bench_op(op, c) == -1) {
				fprintf(stderr, "%s %s failed\n", alg, name);
				return 1;
			}
		n += 16;
		el = util_mono_us() - start;
	} while (el < (int64_t)(secs * 1e6));
	printf("{\"impl\":\"c\",\"alg\":\"%s\",\"op\":\"%s\","
	    "\"ops\":%ld,\"seconds\":%.3f,\"ops_per_sec\":%.0f}\n", alg,
	    name, n, (double)el / 1e6, (double)n / ((double)el / 1e6));
	fflush(stdout);
	return 0;
}

/* Sets c up for alg: a fresh key (or the secret), the token to verify
 * and the params that verify it. */
static int
bench_setup(struct bench_ctx *c, enum jwt_alg alg)
{
	static const char	secret[] = "bench-jwt-secret-bench-jwt-secret";
	int64_t			now = util_now_ms() / 1000;

	memset(c, 0, sizeof(*c));
	c->alg = alg;
	buf_init(&c->tok, 0);
	buf_init(&c->scratch, 0);
	jwt_params_init(&c->p, alg);
	c->p.aud = "did:web:pds.test";
	if (alg == JWT_ALG_HS256) {
		c->jk.secret = (const uint8_t *)secret;
		c->jk.secret_len = sizeof(secret) - 1;
		c->hdr = json_pack("{s:s, s:s}", "typ", "at+jwt", "alg",
		    "HS256");
		c->pl = json_pack("{s:s, s:s, s:s, s:I, s:I}", "scope",
		    "com.atproto.access", "aud", "did:web:pds.test", "sub",
		    "did:plc:abc", "iat", (json_int_t)now, "exp",
		    (json_int_t)now + 7200);
		if (c->hdr == NULL || c->pl == NULL)
			return -1;
		c->p.typ = "at+jwt";
	} else {
		if (key_new(alg == JWT_ALG_ES256 ? KEY_TYPE_P256 :
		    KEY_TYPE_K256, &c->key) != KEY_OK)
			return -1;
		c->jk.key = c->key;
		key_did(c->key, c->did);
		c->p.lxm = "com.atproto.repo.uploadBlob";
		if (key_sign(c->key, bench_msg, sizeof(bench_msg) - 1,
		    c->sig) != KEY_OK)
			return -1;
	}
	c->p.key = c->jk;
	return bench_jwt_make(c, &c->tok) == JWT_OK ? 0 : -1;
}

static void
bench_teardown(struct bench_ctx *c)
{
	json_decref(c->hdr);
	json_decref(c->pl);
	buf_free(&c->tok);
	buf_free(&c->scratch);
	key_free(c->key);
}

static int
do_bench(double secs)
{
	static const char *const names[B__MAX] = {
		[B_SIGN] = "sign", [B_VERIFY] = "verify",
		[B_VERIFY_KEY] = "verify (parsed key)",
		[B_JWT_SIGN] = "jwt sign", [B_JWT_VERIFY] = "jwt verify",
	};
	static const enum jwt_alg algs[] = { JWT_ALG_ES256K, JWT_ALG_ES256,
	    JWT_ALG_HS256 };
	struct bench_ctx	c;
	size_t			i;
	int			op, rc = 0;

	for (i = 0; i < sizeof(algs) / sizeof(algs[0]) && rc == 0; i++) {
		if (bench_setup(&c, algs[i]) == -1)
			rc = 1;
		for (op = 0; op < B__MAX && rc == 0; op++) {
			/* HS256 has no raw sign/verify: only tokens. */
			if (algs[i] == JWT_ALG_HS256 && op < B_JWT_SIGN)
				continue;
			rc = bench_run(jwt_alg_name(algs[i]), names[op],
			    (enum bench_op)op, &c, secs);
		}
		bench_teardown(&c);
	}
	return rc;
}

static void
usage(void)
{
	fprintf(stderr, "usage: tool_crypto did|gen|sign|batch|service-jwt|"
	    "hs256-jwt|jwt-verify|bench ...\n");
}

int
main(int argc, char *argv[])
{
	int64_t	ms = 1000;

	if (argc < 2) {
		usage();
		return 2;
	}
	if (strcmp(argv[1], "did") == 0 && argc == 4)
		return do_did(argv[2], argv[3]);
	if (strcmp(argv[1], "gen") == 0 && argc == 3)
		return do_gen(argv[2]);
	if (strcmp(argv[1], "sign") == 0 && argc == 5)
		return do_sign(argv[2], argv[3], argv[4]);
	if (strcmp(argv[1], "verify") == 0 && argc == 5)
		return do_verify(argv[2], argv[3], argv[4]);
	if (strcmp(argv[1], "batch") == 0 && argc == 2)
		return do_batch();
	if (strcmp(argv[1], "service-jwt") == 0)
		return do_service_jwt(argc, argv);
	if (strcmp(argv[1], "hs256-jwt") == 0 && argc == 5)
		return do_hs256_jwt(argv[2], argv[3], argv[4]);
	if (strcmp(argv[1], "jwt-verify") == 0)
		return do_jwt_verify(argc, argv);
	if (strcmp(argv[1], "bench") == 0 && argc <= 3) {
		/* Seconds per operation, default 1. */
		if (argc == 3 && util_int_parse_str(argv[2], 1, 600,
		    &ms) == -1)
			return 2;
		if (argc == 3)
			ms *= 1000;
		return do_bench((double)ms / 1000.0);
	}
	usage();
	return 2;
}
