/*
 * svcauth.c: inter-service auth JWTs (see svcauth.h): signing with an
 * account's repo key, and verifyJwt()'s checks of an incoming token in
 * the reference's order and wording.  The JWS mechanics (segments,
 * base64url, signatures) are jwt.c's.
 */
#include <math.h>
#include <string.h>

#include "actorstore.h"
#include "jwt.h"
#include "log.h"
#include "resolve.h"
#include "svcauth.h"
#include "syntax.h"
#include "util.h"

static const struct {
	const char	*name, *msg;
} svcauth_errs[SVCAUTH_ERR__MAX] = {
	[SVCAUTH_OK] = { NULL, "ok" },
	[SVCAUTH_ERR_BAD_JWT] = { "BadJwt", "poorly formatted jwt" },
	[SVCAUTH_ERR_TYPE] = { "BadJwtType", "Invalid jwt type" },
	[SVCAUTH_ERR_EXPIRED] = { "JwtExpired", "jwt expired" },
	[SVCAUTH_ERR_AUDIENCE] = { "BadJwtAudience",
	    "jwt audience does not match service did" },
	[SVCAUTH_ERR_LXM_MISSING] = { "BadJwtLexiconMethod",
	    "missing jwt lexicon method (\"lxm\"). must match:" },
	[SVCAUTH_ERR_LXM] = { "BadJwtLexiconMethod",
	    "bad jwt lexicon method (\"lxm\"). must match:" },
	[SVCAUTH_ERR_ISS] = { "BadJwtIss", "jwt iss is not a valid did" },
	/* pds auth-verifier getSigningKey(): AuthRequiredError without a
	 * custom name */
	[SVCAUTH_ERR_NO_KEY] = { NULL, "could not resolve iss did" },
	[SVCAUTH_ERR_SIGNATURE] = { "BadJwtSignature",
	    "jwt signature does not match jwt issuer" },
	[SVCAUTH_ERR_NO_STORE] = { NULL, "account has no repository" },
	[SVCAUTH_ERR_INTERNAL] = { NULL, "internal error" },
};

const char *
svcauth_err_name(enum svcauth_err e)
{
	return (unsigned)e < SVCAUTH_ERR__MAX ? svcauth_errs[e].name : NULL;
}

const char *
svcauth_err_msg(enum svcauth_err e)
{
	return (unsigned)e < SVCAUTH_ERR__MAX ? svcauth_errs[e].msg :
	    "internal error";
}

/* ==== creation =========================================================== */

enum svcauth_err
svcauth_sign(const struct key *k, const char *iss, const char *aud,
    const char *lxm, int64_t exp, struct buf *out)
{
	enum jwt_err	e;

	if (k == NULL || iss == NULL || aud == NULL)
		return SVCAUTH_ERR_INTERNAL;
	if ((e = jwt_service_encode(k, iss, aud, lxm, 0, exp, out)) !=
	    JWT_OK) {
		log_error("%s: %s", __func__, jwt_err_str(e));
		return SVCAUTH_ERR_INTERNAL;
	}
	return SVCAUTH_OK;
}

enum svcauth_err
svcauth_sign_for(struct actorstore_cache *c, const char *did,
    const char *aud, const char *lxm, int64_t exp, struct buf *out)
{
	struct actorstore	*s;
	const struct key	*k;
	int			 rc;

	if (c == NULL || did == NULL)
		return SVCAUTH_ERR_INTERNAL;
	if ((rc = actorstore_get(c, did, &s)) == 0)
		return SVCAUTH_ERR_NO_STORE;
	if (rc == -1 || actorstore_key(s, &k) == -1)
		return SVCAUTH_ERR_INTERNAL;
	return svcauth_sign(k, did, aud, lxm, exp, out);
}

/* ==== verification ======================================================= */

/* isDidStringOrService(): a DID, or a DID + "#" + a non-empty fragment
 * without another '#'. */
static int
iss_ok(const char *iss, size_t *didlen)
{
	const char	*hash = strchr(iss, '#');
	size_t		 len = strlen(iss);

	*didlen = hash != NULL ? (size_t)(hash - iss) : len;
	if (hash != NULL && (hash[1] == '\0' || strchr(hash + 1, '#') != NULL))
		return 0;
	return syntax_did_validate(iss, *didlen, NULL) == 0;
}

/* parsePayload(): iss and aud strings, exp a number, lxm (when truthy)
 * and nonce (when truthy) strings. */
static int
payload_ok(const json_t *pl)
{
	const json_t	*v;

	if (!json_is_object(pl) ||
	    !json_is_string(json_object_get(pl, "iss")) ||
	    !json_is_string(json_object_get(pl, "aud")) ||
	    !json_is_number(json_object_get(pl, "exp")))
		return 0;
	v = json_object_get(pl, "lxm");
	if (v != NULL && !json_is_string(v) && !json_is_false(v) &&
	    !json_is_null(v) && !(json_is_number(v) &&
	    json_number_value(v) == 0))
		return 0;
	v = json_object_get(pl, "nonce");
	if (v != NULL && !json_is_string(v) && !json_is_false(v) &&
	    !json_is_null(v) && !(json_is_number(v) &&
	    json_number_value(v) == 0))
		return 0;
	return 1;
}

enum svcauth_err
svcauth_claims_check(const struct jwt *j, const struct svcauth_params *p,
    size_t *didlen)
{
	const char	*typ, *s;
	double		 exp, now;

	typ = json_string_value(json_object_get(j->header, "typ"));
	if (typ != NULL && (strcmp(typ, "at+jwt") == 0 ||
	    strcmp(typ, "refresh+jwt") == 0 || strcmp(typ, "dpop+jwt") == 0))
		return SVCAUTH_ERR_TYPE;
	if (!payload_ok(j->payload))
		return SVCAUTH_ERR_BAD_JWT;
	exp = json_number_value(json_object_get(j->payload, "exp"));
	now = (double)(p->now_ms != 0 ? p->now_ms : util_now_ms()) / 1000.0;
	if (isnan(exp) || now > exp)
		return SVCAUTH_ERR_EXPIRED;
	if (p->aud != NULL && strcmp(jwt_get_str(j, "aud"), p->aud) != 0)
		return SVCAUTH_ERR_AUDIENCE;
	if (p->lxm != NULL) {
		s = jwt_get_str(j, "lxm");
		if (s == NULL)
			return json_object_get(j->payload, "lxm") != NULL ?
			    SVCAUTH_ERR_LXM : SVCAUTH_ERR_LXM_MISSING;
		if (strcmp(s, p->lxm) != 0)
			return SVCAUTH_ERR_LXM;
	}
	s = jwt_get_str(j, "iss");
	if (s[0] == '\0' || !iss_ok(s, didlen))
		return SVCAUTH_ERR_ISS;
	return SVCAUTH_OK;
}

/* Checks the signature with k (alg pinned to the key's type). */
static enum svcauth_err
sig_check(const struct jwt *j, const struct key *k)
{
	struct jwt_params	jp;
	enum jwt_err		e;

	jwt_params_init(&jp, jwt_alg_for_key(key_get_type(k)));
	jp.key.key = k;
	jp.malleable = 1;
	e = jwt_verify_sig(j, &jp);
	if (e == JWT_OK)
		return SVCAUTH_OK;
	if (e == JWT_ERR_NOMEM || e == JWT_ERR_CRYPTO)
		return SVCAUTH_ERR_INTERNAL;
	return SVCAUTH_ERR_SIGNATURE;
}

static enum svcauth_err
claims_fill(const struct jwt *j, size_t didlen, struct arena *a,
    struct svcauth_claims *out)
{
	const char	*iss = jwt_get_str(j, "iss");

	out->iss = arena_strdup(a, iss);
	out->iss_did = arena_strndup(a, iss, didlen);
	out->aud = arena_strdup(a, jwt_get_str(j, "aud"));
	out->lxm = jwt_get_str(j, "lxm") != NULL ?
	    arena_strdup(a, jwt_get_str(j, "lxm")) : NULL;
	out->jti = jwt_get_str(j, "jti") != NULL ?
	    arena_strdup(a, jwt_get_str(j, "jti")) : NULL;
	out->exp = (int64_t)json_number_value(json_object_get(j->payload,
	    "exp"));
	if (out->iss == NULL || out->iss_did == NULL || out->aud == NULL ||
	    (jwt_get_str(j, "lxm") != NULL && out->lxm == NULL) ||
	    (jwt_get_str(j, "jti") != NULL && out->jti == NULL))
		return SVCAUTH_ERR_INTERNAL;
	return SVCAUTH_OK;
}

enum svcauth_err
svcauth_verify(const char *tok, size_t len, const struct svcauth_params *p,
    struct arena *a, struct svcauth_claims *out)
{
	struct jwt		 j;
	struct key		*k = NULL, *fresh = NULL;
	char			*did = NULL;
	enum svcauth_err	 st;
	enum jwt_err		 e;
	size_t			 didlen = 0;
	int			 rc;

	memset(out, 0, sizeof(*out));
	memset(&j, 0, sizeof(j));
	if (p == NULL || p->key_fn == NULL)
		return SVCAUTH_ERR_INTERNAL;
	if ((e = jwt_parse(tok, len, &j)) != JWT_OK)
		return e == JWT_ERR_NOMEM ? SVCAUTH_ERR_INTERNAL :
		    SVCAUTH_ERR_BAD_JWT;
	if ((st = svcauth_claims_check(&j, p, &didlen)) != SVCAUTH_OK)
		goto out;
	if ((did = arena_strndup(a, jwt_get_str(&j, "iss"), didlen)) == NULL) {
		st = SVCAUTH_ERR_INTERNAL;
		goto out;
	}
	if ((rc = p->key_fn(p->key_arg, did, 0, &k)) != 1) {
		st = rc == 0 ? SVCAUTH_ERR_NO_KEY : SVCAUTH_ERR_INTERNAL;
		goto out;
	}
	if ((st = sig_check(&j, k)) == SVCAUTH_ERR_SIGNATURE &&
	    p->key_fn(p->key_arg, did, 1, &fresh) == 1 &&
	    !key_pub_equal(k, fresh))
		st = sig_check(&j, fresh);	/* a rotated key */
	if (st == SVCAUTH_OK)
		st = claims_fill(&j, didlen, a, out);
out:
	key_free(k);
	key_free(fresh);
	jwt_fini(&j);
	return st;
}

int
svcauth_key_resolve(void *arg, const char *did, int force, struct key **out)
{
	const struct resolve_ctx	*ctx = arg;
	struct resolve_atproto		 atp;
	struct arena			 a;
	int				 rc;

	*out = NULL;
	arena_init(&a);
	rc = resolve_did(ctx, &a, did, force, NULL, &atp);
	if (rc == 1) {
		if (atp.signing_key == NULL || key_parse_did(atp.signing_key,
		    strlen(atp.signing_key), out) != KEY_OK)
			rc = 0;
	}
	arena_free(&a);
	return rc;
}
