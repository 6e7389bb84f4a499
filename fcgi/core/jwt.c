/*
 * jwt.c: compact JWS parsing, verification and signing (RFC 7515, RFC
 * 7519) for HS256 session tokens and ES256K / ES256 service auth.
 *
 * Checks follow @atproto/xrpc-server auth.ts (service auth) and the
 * reference PDS's session-token verifier (reference-pds.md section f);
 * where they differ the stricter rule is kept and noted below.
 */
#include <limits.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "enc.h"
#include "jwt.h"
#include "util.h"

#define HS256_LEN	32
#define JTI_BYTES	16	/* xrpc-server: randomStr(16, 'hex') */
#define SERVICE_TTL_S	60	/* xrpc-server: exp = iat + MINUTE */

static const char *const jwt_algs[JWT_ALG__MAX] = {
	[JWT_ALG_HS256] = "HS256",
	[JWT_ALG_ES256K] = "ES256K",
	[JWT_ALG_ES256] = "ES256",
};

/* Indexed by enum jwt_err: text, service-auth name, session name. */
static const struct {
	const char	*str, *service, *session;
} jwt_errs[JWT_ERR__MAX] = {
	[JWT_OK] = { "ok", NULL, NULL },
	[JWT_ERR_FORMAT] = { "poorly formatted jwt", "BadJwt",
	    "InvalidToken" },
	[JWT_ERR_SIZE] = { "jwt too large", "BadJwt", "InvalidToken" },
	[JWT_ERR_JSON] = { "poorly formatted jwt", "BadJwt",
	    "InvalidToken" },
	[JWT_ERR_ALG] = { "unexpected jwt alg", "BadJwtSignature",
	    "InvalidToken" },
	[JWT_ERR_TYPE] = { "invalid jwt type", "BadJwtType",
	    "InvalidToken" },
	[JWT_ERR_CLAIMS] = { "poorly formatted jwt claims", "BadJwt",
	    "InvalidToken" },
	[JWT_ERR_EXPIRED] = { "jwt expired", "JwtExpired", "ExpiredToken" },
	[JWT_ERR_NOT_YET] = { "jwt issued in the future", "BadJwt",
	    "InvalidToken" },
	[JWT_ERR_AUDIENCE] = { "jwt audience does not match service did",
	    "BadJwtAudience", "InvalidToken" },
	[JWT_ERR_LXM] = { "bad or missing jwt lexicon method (\"lxm\")",
	    "BadJwtLexiconMethod", "InvalidToken" },
	[JWT_ERR_SIGNATURE] = { "jwt signature does not match",
	    "BadJwtSignature", "InvalidToken" },
	[JWT_ERR_KEY] = { "key does not fit the jwt alg", "BadJwtSignature",
	    "InvalidToken" },
	[JWT_ERR_NOMEM] = { "out of memory", NULL, NULL },
	[JWT_ERR_CRYPTO] = { "crypto library failure", NULL, NULL },
};

const char *
jwt_err_str(enum jwt_err e)
{
	if ((unsigned)e >= JWT_ERR__MAX)
		return "unknown jwt error";
	return jwt_errs[e].str;
}

const char *
jwt_err_service_name(enum jwt_err e)
{
	return (unsigned)e < JWT_ERR__MAX ? jwt_errs[e].service : NULL;
}

const char *
jwt_err_session_name(enum jwt_err e)
{
	return (unsigned)e < JWT_ERR__MAX ? jwt_errs[e].session : NULL;
}

const char *
jwt_alg_name(enum jwt_alg a)
{
	return (unsigned)a < JWT_ALG__MAX ? jwt_algs[a] : NULL;
}

enum jwt_alg
jwt_alg_for_key(enum key_type t)
{
	return t == KEY_TYPE_P256 ? JWT_ALG_ES256 : JWT_ALG_ES256K;
}

void
jwt_params_init(struct jwt_params *p, enum jwt_alg alg)
{
	memset(p, 0, sizeof(*p));
	p->alg = alg;
	p->need = JWT_NEED_EXP;
	p->skew_s = LIM_JWT_SKEW_S;
}

/* ---- parsing --------------------------------------------------------- */

/* Strict base64url (RFC 7515 section 2): the URL alphabet only, no '='
 * padding, canonical trailing bits (enc_b64_decode refuses the rest).
 * Returns the decoded length or -1. */
static ssize_t
b64url_decode(const char *s, size_t len, uint8_t *out, size_t outsz)
{
	if (len == 0 || memchr(s, '=', len) != NULL)
		return -1;
	return enc_b64_decode(ENC_B64_URL, s, len, out, outsz);
}

/* 1 when j nests no deeper than depth levels of containers. */
static int
json_depth_ok(const json_t *j, int depth)
{
	const char	*k;
	json_t		*v;
	size_t		 i;

	if (!json_is_object(j) && !json_is_array(j))
		return 1;
	if (depth <= 0)
		return 0;
	if (json_is_object(j)) {
		json_object_foreach((json_t *)j, k, v)
			if (!json_depth_ok(v, depth - 1))
				return 0;
	} else {
		json_array_foreach(j, i, v)
			if (!json_depth_ok(v, depth - 1))
				return 0;
	}
	return 1;
}

/* Decodes one header/payload segment into a JSON object. */
static enum jwt_err
segment_parse(const char *s, size_t len, json_t **out)
{
	uint8_t		 raw[LIM_JWT_SEGMENT];
	json_error_t	 je;
	json_t		*j;
	ssize_t		 n;

	*out = NULL;
	/* Decoded size is floor(len * 3 / 4); refuse before decoding. */
	if (len * 3 / 4 > sizeof(raw))
		return JWT_ERR_SIZE;
	if ((n = b64url_decode(s, len, raw, sizeof(raw))) == -1)
		return JWT_ERR_FORMAT;
	/* jansson: UTF-8 checked, NUL in strings refused by default. */
	if ((j = json_loadb((const char *)raw, (size_t)n,
	    JSON_REJECT_DUPLICATES, &je)) == NULL)
		return JWT_ERR_JSON;
	if (!json_is_object(j) || !json_depth_ok(j, LIM_JSON_DEPTH)) {
		json_decref(j);
		return JWT_ERR_JSON;
	}
	*out = j;
	return JWT_OK;
}

enum jwt_err
jwt_parse(const char *tok, size_t len, struct jwt *out)
{
	const char	*d1, *d2;
	json_t		*alg;
	ssize_t		 n;
	size_t		 slen;
	enum jwt_err	 rc;

	memset(out, 0, sizeof(*out));
	if (tok == NULL || len == 0)
		return JWT_ERR_FORMAT;
	if (len > LIM_JWT_LEN)
		return JWT_ERR_SIZE;
	/* Exactly three segments: header "." payload "." signature. */
	if ((d1 = memchr(tok, '.', len)) == NULL ||
	    (d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - tok))) == NULL ||
	    memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - tok)) != NULL)
		return JWT_ERR_FORMAT;
	if (d1 == tok || d2 == d1 + 1 || d2 + 1 == tok + len)
		return JWT_ERR_FORMAT;	/* empty segment (e.g. alg none) */
	slen = len - (size_t)(d2 + 1 - tok);
	if (slen * 3 / 4 > sizeof(out->sig))
		return JWT_ERR_SIZE;
	if ((n = b64url_decode(d2 + 1, slen, out->sig, sizeof(out->sig))) ==
	    -1) {
		rc = JWT_ERR_FORMAT;
		goto fail;
	}
	out->sig_len = (size_t)n;
	if ((rc = segment_parse(tok, (size_t)(d1 - tok), &out->header)) !=
	    JWT_OK ||
	    (rc = segment_parse(d1 + 1, (size_t)(d2 - d1 - 1),
	    &out->payload)) != JWT_OK)
		goto fail;
	/* xrpc-server parseHeader: alg must be a string. */
	if ((alg = json_object_get(out->header, "alg")) == NULL ||
	    !json_is_string(alg)) {
		rc = JWT_ERR_JSON;
		goto fail;
	}
	/* RFC 7515 4.1.11: we understand no extensions, so any "crit"
	 * means the token cannot be processed. */
	if (json_object_get(out->header, "crit") != NULL) {
		rc = JWT_ERR_FORMAT;
		goto fail;
	}
	out->alg = json_string_value(alg);
	out->signed_part = tok;
	out->signed_len = (size_t)(d2 - tok);
	return JWT_OK;
fail:
	jwt_fini(out);
	return rc;
}

void
jwt_fini(struct jwt *j)
{
	if (j == NULL)
		return;
	json_decref(j->header);
	json_decref(j->payload);
	memset(j, 0, sizeof(*j));
}

const char *
jwt_get_str(const struct jwt *j, const char *name)
{
	json_t	*v;

	if (j->payload == NULL ||
	    (v = json_object_get(j->payload, name)) == NULL ||
	    !json_is_string(v))
		return NULL;
	return json_string_value(v);
}

/* ---- signatures -------------------------------------------------------- */

static enum jwt_err
hs256(const struct jwt_key *k, const void *msg, size_t len,
    uint8_t mac[HS256_LEN])
{
	unsigned int	maclen = HS256_LEN;

	if (k->secret == NULL || k->secret_len == 0 ||
	    k->secret_len > INT_MAX)
		return JWT_ERR_KEY;
	if (HMAC(EVP_sha256(), k->secret, (int)k->secret_len, msg, len, mac,
	    &maclen) == NULL || maclen != HS256_LEN)
		return JWT_ERR_CRYPTO;
	return JWT_OK;
}

/* The key must be of the type the pinned ES alg signs with. */
static enum jwt_err
es_key_check(enum jwt_alg alg, const struct jwt_key *k)
{
	if (k->key == NULL || jwt_alg_for_key(key_get_type(k->key)) != alg)
		return JWT_ERR_KEY;
	return JWT_OK;
}

enum jwt_err
jwt_verify_sig(const struct jwt *j, const struct jwt_params *p)
{
	uint8_t		mac[HS256_LEN];
	enum jwt_err	rc;
	enum key_err	kr;

	if ((unsigned)p->alg >= JWT_ALG__MAX)
		return JWT_ERR_KEY;
	/* The pin: the header may not choose the algorithm. */
	if (j->alg == NULL || strcmp(j->alg, jwt_algs[p->alg]) != 0)
		return JWT_ERR_ALG;
	if (p->alg == JWT_ALG_HS256) {
		if ((rc = hs256(&p->key, j->signed_part, j->signed_len,
		    mac)) != JWT_OK)
			return rc;
		rc = util_ct_equal(mac, sizeof(mac), j->sig, j->sig_len) ?
		    JWT_OK : JWT_ERR_SIGNATURE;
		util_wipe(mac, sizeof(mac));
		return rc;
	}
	if ((rc = es_key_check(p->alg, &p->key)) != JWT_OK)
		return rc;
	kr = key_verify(p->key.key, j->signed_part, j->signed_len, j->sig,
	    j->sig_len, p->malleable ? KEY_VERIFY_MALLEABLE : 0);
	if (kr == KEY_ERR_NOMEM)
		return JWT_ERR_NOMEM;
	if (kr == KEY_ERR_CRYPTO)
		return JWT_ERR_CRYPTO;
	return kr == KEY_OK ? JWT_OK : JWT_ERR_SIGNATURE;
}

/* ---- claims ------------------------------------------------------------ */

/* Compares typ values as jose does: case-insensitive, an optional
 * "application/" prefix ignored (RFC 7515 section 4.1.9). */
static int
typ_equal(const char *a, const char *b)
{
	static const char	app[] = "application/";
	const size_t		applen = sizeof(app) - 1;

	if (strncasecmp(a, app, applen) == 0)
		a += applen;
	if (strncasecmp(b, app, applen) == 0)
		b += applen;
	return strcasecmp(a, b) == 0;
}

static enum jwt_err
typ_check(const struct jwt *j, const struct jwt_params *p)
{
	json_t		*t = json_object_get(j->header, "typ");
	const char	*typ;
	size_t		 i;

	if (t != NULL && !json_is_string(t))
		return JWT_ERR_TYPE;
	typ = t != NULL ? json_string_value(t) : NULL;
	if (p->typ != NULL && (typ == NULL || !typ_equal(typ, p->typ)))
		return JWT_ERR_TYPE;
	/* xrpc-server compares the forbidden values exactly. */
	for (i = 0; typ != NULL && p->typ_forbidden != NULL &&
	    p->typ_forbidden[i] != NULL; i++)
		if (strcmp(typ, p->typ_forbidden[i]) == 0)
			return JWT_ERR_TYPE;
	return JWT_OK;
}

/* Reads numeric claim name into *ms (milliseconds).  Returns 1 when
 * present, 0 when absent, -1 when not a usable number. */
static int
time_claim(const json_t *payload, const char *name, double *ms)
{
	json_t	*v = json_object_get(payload, name);
	double	 d;

	if (v == NULL)
		return 0;
	if (!json_is_number(v))
		return -1;
	d = json_number_value(v);
	/* Outside +-(2^53 - 1) seconds is no time a token can mean. */
	if (!(d >= -(double)LIM_JSON_SAFE_INT && d <= (double)LIM_JSON_SAFE_INT))
		return -1;
	*ms = d * 1000.0;
	return 1;
}

static enum jwt_err
time_check(const struct jwt *j, const struct jwt_params *p)
{
	double	now, limit, v;
	int	r;

	now = (double)(p->now_ms != 0 ? p->now_ms : util_now_ms());
	limit = now + (double)p->skew_s * 1000.0;
	if ((r = time_claim(j->payload, "exp", &v)) == -1 ||
	    (r == 0 && (p->need & JWT_NEED_EXP)))
		return JWT_ERR_CLAIMS;
	if (r == 1 && now > v)
		return JWT_ERR_EXPIRED;
	if ((r = time_claim(j->payload, "iat", &v)) == -1 ||
	    (r == 0 && (p->need & JWT_NEED_IAT)))
		return JWT_ERR_CLAIMS;
	if (r == 1 && v > limit)
		return JWT_ERR_NOT_YET;
	if ((r = time_claim(j->payload, "nbf", &v)) == -1)
		return JWT_ERR_CLAIMS;
	if (r == 1 && v > limit)
		return JWT_ERR_NOT_YET;
	return JWT_OK;
}

/* String claims: when present they must be strings (xrpc-server
 * parsePayload: iss, aud; lxm, nonce when truthy); need says which must
 * be present.  aud arrays are refused: atproto tokens carry one DID. */
static enum jwt_err
str_claims_check(const struct jwt *j, const struct jwt_params *p)
{
	static const struct {
		const char	*name;
		unsigned	 need;
	} claims[] = {
		{ "iss", JWT_NEED_ISS }, { "aud", JWT_NEED_AUD },
		{ "sub", JWT_NEED_SUB }, { "jti", JWT_NEED_JTI },
		{ "lxm", 0 }, { "nonce", 0 }, { "scope", 0 },
	};
	json_t	*v;
	size_t	 i;

	for (i = 0; i < sizeof(claims) / sizeof(claims[0]); i++) {
		v = json_object_get(j->payload, claims[i].name);
		if (v == NULL ? (p->need & claims[i].need) != 0 :
		    !json_is_string(v))
			return JWT_ERR_CLAIMS;
	}
	return JWT_OK;
}

enum jwt_err
jwt_check_claims(const struct jwt *j, const struct jwt_params *p)
{
	const char	*s;
	enum jwt_err	 rc;

	if ((rc = typ_check(j, p)) != JWT_OK ||
	    (rc = str_claims_check(j, p)) != JWT_OK ||
	    (rc = time_check(j, p)) != JWT_OK)
		return rc;
	if (p->aud != NULL && ((s = jwt_get_str(j, "aud")) == NULL ||
	    strcmp(s, p->aud) != 0))
		return JWT_ERR_AUDIENCE;
	if (p->lxm != NULL && ((s = jwt_get_str(j, "lxm")) == NULL ||
	    strcmp(s, p->lxm) != 0))
		return JWT_ERR_LXM;
	return JWT_OK;
}

enum jwt_err
jwt_verify(const char *tok, size_t len, const struct jwt_params *p,
    struct jwt *out)
{
	enum jwt_err	rc;

	if ((rc = jwt_parse(tok, len, out)) != JWT_OK)
		return rc;
	if ((rc = jwt_verify_sig(out, p)) != JWT_OK ||
	    (rc = jwt_check_claims(out, p)) != JWT_OK)
		jwt_fini(out);
	return rc;
}

/* ---- encoding ---------------------------------------------------------- */

/* Appends base64url(JSON of j) to out. */
static enum jwt_err
segment_write(const json_t *j, struct buf *out)
{
	char		 raw[LIM_JWT_SEGMENT];
	char		 enc[ENC_B64_LEN(LIM_JWT_SEGMENT)];
	size_t		 n, elen;

	if (!json_is_object(j))
		return JWT_ERR_JSON;
	/* json_dumpb returns the full size even when it does not fit. */
	if ((n = json_dumpb(j, raw, sizeof(raw), JSON_COMPACT)) == 0)
		return JWT_ERR_JSON;
	if (n > sizeof(raw))
		return JWT_ERR_SIZE;
	elen = enc_b64_encode(ENC_B64_URL, 0, (const uint8_t *)raw, n, enc);
	if (buf_append(out, enc, elen) == -1)
		return JWT_ERR_NOMEM;
	return JWT_OK;
}

static enum jwt_err
sig_make(enum jwt_alg alg, const struct jwt_key *k, const void *msg,
    size_t len, uint8_t *sig, size_t *siglen)
{
	enum jwt_err	rc;

	if (alg == JWT_ALG_HS256) {
		*siglen = HS256_LEN;
		return hs256(k, msg, len, sig);
	}
	if ((rc = es_key_check(alg, k)) != JWT_OK)
		return rc;
	if (!key_has_priv(k->key))
		return JWT_ERR_KEY;
	*siglen = KEY_SIG_LEN;
	return key_sign(k->key, msg, len, sig) == KEY_OK ? JWT_OK :
	    JWT_ERR_CRYPTO;
}

enum jwt_err
jwt_encode(enum jwt_alg alg, const json_t *header, const json_t *payload,
    const struct jwt_key *k, struct buf *out)
{
	uint8_t		 sig[KEY_SIG_LEN];
	char		 enc[ENC_B64_LEN(KEY_SIG_LEN)];
	size_t		 start = out->len, siglen = 0, elen;
	json_t		*a;
	enum jwt_err	 rc;

	if ((unsigned)alg >= JWT_ALG__MAX)
		return JWT_ERR_KEY;
	if (!json_is_object(header) ||
	    (a = json_object_get(header, "alg")) == NULL ||
	    !json_is_string(a) ||
	    strcmp(json_string_value(a), jwt_algs[alg]) != 0)
		return JWT_ERR_ALG;
	if ((rc = segment_write(header, out)) != JWT_OK)
		goto fail;
	if (buf_putc(out, '.') == -1) {
		rc = JWT_ERR_NOMEM;
		goto fail;
	}
	if ((rc = segment_write(payload, out)) != JWT_OK ||
	    (rc = sig_make(alg, k, out->data + start, out->len - start, sig,
	    &siglen)) != JWT_OK)
		goto fail;
	elen = enc_b64_encode(ENC_B64_URL, 0, sig, siglen, enc);
	if (buf_putc(out, '.') == -1 || buf_append(out, enc, elen) == -1 ||
	    buf_cstr(out) == -1) {
		rc = JWT_ERR_NOMEM;
		goto fail;
	}
	if (out->len - start > LIM_JWT_LEN) {
		rc = JWT_ERR_SIZE;
		goto fail;
	}
	return JWT_OK;
fail:
	out->len = start;	/* leave out as it was */
	return rc;
}

enum jwt_err
jwt_service_encode(const struct key *key, const char *iss, const char *aud,
    const char *lxm, int64_t iat, int64_t exp, struct buf *out)
{
	struct jwt_key	 k = { .key = key };
	uint8_t		 rnd[JTI_BYTES];
	char		 jti[ENC_HEX_LEN(JTI_BYTES)];
	enum jwt_alg	 alg;
	json_t		*h = NULL, *p = NULL;
	enum jwt_err	 rc = JWT_ERR_CLAIMS;	/* bad UTF-8 (or ENOMEM) */

	if (key == NULL || iss == NULL || aud == NULL)
		return JWT_ERR_KEY;
	alg = jwt_alg_for_key(key_get_type(key));
	if (iat == 0)
		iat = util_now_ms() / 1000;
	if (exp == 0)
		exp = iat + SERVICE_TTL_S;
	if (util_random(rnd, sizeof(rnd)) == -1)
		return JWT_ERR_CRYPTO;
	(void)enc_hex_encode(rnd, sizeof(rnd), jti);
	/* Key order as createServiceJwt writes them. */
	if ((h = json_pack("{s:s, s:s}", "typ", "JWT", "alg",
	    jwt_algs[alg])) == NULL ||
	    (p = json_pack("{s:I, s:s, s:s, s:I}", "iat", (json_int_t)iat,
	    "iss", iss, "aud", aud, "exp", (json_int_t)exp)) == NULL)
		goto out;
	if ((lxm != NULL && json_object_set_new(p, "lxm",
	    json_string(lxm)) == -1) ||
	    json_object_set_new(p, "jti", json_string(jti)) == -1)
		goto out;
	rc = jwt_encode(alg, h, p, &k, out);
out:
	json_decref(h);
	json_decref(p);
	return rc;
}
