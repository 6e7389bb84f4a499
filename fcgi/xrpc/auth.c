/*
 * auth.c: the authentication stage of the XRPC pipeline, after the
 * reference's auth-verifier.ts (../shared/spec/reference-pds.md f).
 *
 * Owns: Authorization header handling per route auth kind, admin Basic
 * auth (constant-time), HS256 session access and refresh tokens (typ,
 * aud = service DID, scope sets, cnf/lxm refused), and the takedown /
 * deactivation checks.  Does not own: issuing tokens, the refresh_token
 * table, OAuth/DPoP, service-auth JWTs (their modules plug in here).
 */
#include <string.h>

#include "admin_int.h"
#include "enc.h"
#include "jwt.h"
#include "log.h"
#include "util.h"
#include "xrpc.h"
#include "xrpc_int.h"

/* AuthScope values (auth-verifier.ts). */
#define SCOPE_ACCESS		"com.atproto.access"
#define SCOPE_REFRESH		"com.atproto.refresh"
#define SCOPE_APP_PASS		"com.atproto.appPass"
#define SCOPE_APP_PASS_PRIV	"com.atproto.appPassPrivileged"
#define SCOPE_SIGNUP_QUEUED	"com.atproto.signupQueued"
#define SCOPE_TAKENDOWN		"com.atproto.takendown"

static const char *const auth_scopes[] = { SCOPE_ACCESS, SCOPE_REFRESH,
    SCOPE_APP_PASS, SCOPE_APP_PASS_PRIV, SCOPE_SIGNUP_QUEUED,
    SCOPE_TAKENDOWN, NULL };

static int
scope_in(const char *scope, const char *const *set)
{
	for (; *set != NULL; set++)
		if (strcmp(scope, *set) == 0)
			return 1;
	return 0;
}

/* The scopes an auth kind accepts, plus the route's additional ones. */
static void
scopes_for(enum xrpc_auth_kind kind, unsigned flags, const char **set)
{
	size_t	n = 0;

	if (kind == XRPC_AUTH_REFRESH || kind == XRPC_AUTH_REFRESH_EXPIRED) {
		set[n++] = SCOPE_REFRESH;
		set[n] = NULL;
		return;
	}
	set[n++] = SCOPE_ACCESS;
	if (kind == XRPC_AUTH_ACCESS || kind == XRPC_AUTH_OPTIONAL ||
	    kind == XRPC_AUTH_ACCESS_PRIVILEGED)
		set[n++] = SCOPE_APP_PASS_PRIV;
	if (kind == XRPC_AUTH_ACCESS || kind == XRPC_AUTH_OPTIONAL)
		set[n++] = SCOPE_APP_PASS;
	if (flags & XRPC_F_TAKENDOWN_OK)
		set[n++] = SCOPE_TAKENDOWN;
	if (flags & XRPC_F_SIGNUP_QUEUED_OK)
		set[n++] = SCOPE_SIGNUP_QUEUED;
	set[n] = NULL;
}

static enum xrpc_status
invalid_token(struct xrpc_res *res, const char *msg)
{
	return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, "InvalidToken", "%s",
	    msg);
}

static enum xrpc_status
auth_missing(struct xrpc_res *res)
{
	/* AuthRequiredError(undefined, 'AuthMissing') */
	return xrpc_fail(res, XRPC_ERR_AUTH_REQUIRED, "AuthMissing", NULL);
}

/* ---- admin Basic auth ------------------------------------------------------ */

/* parseBasicAuth(): base64 "user:password", split at the first colon;
 * only admin with PDS_ADMIN_PASSWORD passes (compared in constant time). */
static enum xrpc_status
auth_admin(struct xrpc_req *req, struct xrpc_res *res, enum xrpc_authz t,
    const char *tok, size_t toklen)
{
	const char	*pw = req->srv->cfg->admin_password;
	uint8_t		 dec[LIM_HEADER_LEN];
	ssize_t		 n;
	uint8_t		*colon;
	int		 ok = 0;

	if (t == XRPC_AUTHZ_BASIC && pw != NULL && toklen < sizeof(dec) &&
	    (n = enc_b64_decode_lenient(tok, toklen, dec, sizeof(dec))) > 0 &&
	    (colon = memchr(dec, ':', (size_t)n)) != NULL) {
		ok = colon - dec == 5 && memcmp(dec, "admin", 5) == 0;
		/* Always compare, so the time does not tell the user part. */
		ok &= util_ct_equal(colon + 1, (size_t)(dec + n - colon - 1),
		    pw, strlen(pw));
		util_wipe(dec, (size_t)n);
	}
	if (!ok)
		return xrpc_fail(res, XRPC_ERR_AUTH_REQUIRED, NULL, NULL);
	req->auth.type = XRPC_CRED_ADMIN;
	return XRPC_OK;
}

/* ---- session tokens (HS256) ------------------------------------------------ */

static enum xrpc_status
jwt_refused(struct xrpc_res *res, enum jwt_err e)
{
	if (e == JWT_ERR_NOMEM || e == JWT_ERR_CRYPTO)
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	if (e == JWT_ERR_EXPIRED)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, "ExpiredToken",
		    "Token has expired");
	return invalid_token(res, "Token could not be verified");
}

/* jose.jwtVerify() with the secret and audience, then the checks of
 * validateBearerToken(): typ, sub, aud, cnf, scope. */
static enum xrpc_status
auth_bearer(struct xrpc_req *req, struct xrpc_res *res,
    enum xrpc_auth_kind kind, unsigned flags, const char *tok,
    size_t toklen)
{
	const struct pds_config	*cfg = req->srv->cfg;
	const char		*allowed[8], *sub, *aud, *scope, *jti;
	const char		*want_typ;
	struct jwt_params	 p;
	struct jwt		 j;
	enum jwt_err		 e;
	enum xrpc_status	 st = XRPC_OK;
	json_t			*v;
	double			 exp;

	memset(&j, 0, sizeof(j));
	want_typ = kind == XRPC_AUTH_REFRESH ||
	    kind == XRPC_AUTH_REFRESH_EXPIRED ? "refresh+jwt" : "at+jwt";
	jwt_params_init(&p, JWT_ALG_HS256);
	p.key.secret = (const uint8_t *)cfg->jwt_secret;
	p.key.secret_len = cfg->jwt_secret != NULL ?
	    strlen(cfg->jwt_secret) : 0;
	p.aud = cfg->service_did;
	p.need = JWT_NEED_AUD;
	if ((e = jwt_parse(tok, toklen, &j)) != JWT_OK ||
	    (e = jwt_verify_sig(&j, &p)) != JWT_OK)
		goto refused;
	if (kind == XRPC_AUTH_REFRESH_EXPIRED &&
	    (v = json_object_get(j.payload, "exp")) != NULL &&
	    json_is_number(v) && (exp = json_number_value(v)) > 0 &&
	    exp * 1000.0 < (double)util_now_ms())
		p.now_ms = (int64_t)(exp * 1000.0);	/* clockTolerance: oo */
	if ((e = jwt_check_claims(&j, &p)) != JWT_OK)
		goto refused;
	if ((v = json_object_get(j.header, "typ")) != NULL &&
	    (!json_is_string(v) || strcmp(json_string_value(v), want_typ) != 0)) {
		st = invalid_token(res, "Invalid token type");
		goto out;
	}
	sub = jwt_get_str(&j, "sub");
	aud = jwt_get_str(&j, "aud");
	if (sub == NULL || strncmp(sub, "did:", 4) != 0 || aud == NULL ||
	    strncmp(aud, "did:", 4) != 0 ||
	    json_object_get(j.payload, "cnf") != NULL ||
	    json_object_get(j.payload, "lxm") != NULL) {
		st = invalid_token(res, "Malformed token");
		goto out;
	}
	scopes_for(kind, flags, allowed);
	scope = jwt_get_str(&j, "scope");
	if (scope == NULL || !scope_in(scope, auth_scopes) ||
	    !scope_in(scope, allowed)) {
		st = invalid_token(res, "Bad token scope");
		goto out;
	}
	jti = jwt_get_str(&j, "jti");
	if (strcmp(want_typ, "refresh+jwt") == 0 && jti == NULL) {
		st = xrpc_fail(res, XRPC_ERR_AUTH_REQUIRED, "MissingTokenId",
		    "Unexpected missing refresh token id");
		goto out;
	}
	req->auth.type = strcmp(want_typ, "refresh+jwt") == 0 ?
	    XRPC_CRED_REFRESH : XRPC_CRED_ACCESS;
	req->auth.did = arena_strdup(req->a, sub);
	req->auth.scope = arena_strdup(req->a, scope);
	req->auth.audience = arena_strdup(req->a, aud);
	req->auth.token_id = jti != NULL ? arena_strdup(req->a, jti) : NULL;
	req->auth.privileged = strcmp(scope, SCOPE_ACCESS) == 0 ||
	    strcmp(scope, SCOPE_APP_PASS_PRIV) == 0;
	if (req->auth.did == NULL || req->auth.scope == NULL ||
	    req->auth.audience == NULL || (jti != NULL &&
	    req->auth.token_id == NULL))
		st = xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	goto out;
refused:
	st = jwt_refused(res, e);
out:
	jwt_fini(&j);
	return st;
}

/* AccessOpts checkTakedown / checkDeactivated (validateAccessToken). */
static enum xrpc_status
auth_account_status(struct xrpc_req *req, struct xrpc_res *res,
    unsigned flags)
{
	struct xrpc_actor	a;
	int			rc;

	if (!(flags & (XRPC_F_CHECK_TAKEDOWN | XRPC_F_CHECK_DEACTIVATED)))
		return XRPC_OK;
	if ((rc = xrpc_actor_find(req->srv, req->a, req->auth.did, &a)) == -1)
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	if (rc == 0)
		return xrpc_fail(res, XRPC_ERR_FORBIDDEN, "AccountNotFound",
		    "Account not found");
	if ((flags & XRPC_F_CHECK_TAKEDOWN) && a.takendown)
		return xrpc_fail(res, XRPC_ERR_AUTH_REQUIRED, "AccountTakedown",
		    "Account has been taken down");
	if ((flags & XRPC_F_CHECK_DEACTIVATED) && a.deactivated)
		return xrpc_fail(res, XRPC_ERR_AUTH_REQUIRED,
		    "AccountDeactivated", "Account is deactivated");
	return XRPC_OK;
}

/* validateAccessToken(): Bearer or DPoP by the header's scheme. */
static enum xrpc_status
auth_access(struct xrpc_req *req, struct xrpc_res *res,
    enum xrpc_auth_kind kind, unsigned flags, enum xrpc_authz t,
    const char *tok, size_t toklen)
{
	enum xrpc_status	st;

	switch (t) {
	case XRPC_AUTHZ_NONE:
		return auth_missing(res);
	case XRPC_AUTHZ_BEARER:
		if (toklen == 0)	/* "Bearer " carries no token */
			return auth_missing(res);
		if ((st = auth_bearer(req, res, kind, flags, tok, toklen)) !=
		    XRPC_OK)
			return st;
		return auth_account_status(req, res, flags);
	case XRPC_AUTHZ_DPOP:
		/* XXX OAuth resource-server verification (DPoP proof, token
		 * row, scopes) belongs to the OAuth module, not written yet. */
		return invalid_token(res,
		    "DPoP access tokens are not supported by this server yet");
	default:
		return invalid_token(res, "Unexpected authorization type");
	}
}

enum xrpc_status
xrpc_auth_check(struct xrpc_req *req, struct xrpc_res *res,
    enum xrpc_auth_kind kind, unsigned flags)
{
	const char		*h, *tok = NULL, *why = "";
	size_t			 toklen = 0;
	enum xrpc_authz		 t = XRPC_AUTHZ_NONE;
	int			 bad;

	memset(&req->auth, 0, sizeof(req->auth));
	if (kind == XRPC_AUTH_NONE)
		return XRPC_OK;
	/* setAuthHeaders(): on every authenticated route, errors included */
	if (xrpc_res_header(res, "Cache-Control", "private") == -1 ||
	    xrpc_res_header(res, "Vary", "Authorization") == -1)
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	h = xrpc_req_param(req, "HTTP_AUTHORIZATION");
	if (h != NULL && strlen(h) > LIM_HEADER_LEN)
		return invalid_token(res, "Malformed authorization header");
	bad = xrpc_authz_parse(h, h != NULL ? strlen(h) : 0, &t, &tok,
	    &toklen, &why) == -1;
	if (kind == XRPC_AUTH_ADMIN)	/* parseBasicAuth swallows errors */
		return auth_admin(req, res, bad ? XRPC_AUTHZ_NONE : t, tok,
		    toklen);
	/* moderator: a Bearer token is a mod-service JWT (admin_auth.c),
	 * anything else goes to the admin check */
	if (kind == XRPC_AUTH_MODERATOR && !bad)
		return t == XRPC_AUTHZ_BEARER ? xrpc_auth_mod_service(req, res,
		    tok, toklen) : auth_admin(req, res, t, tok, toklen);
	if (bad) {
		if (h != NULL &&
		    strcmp(why, "Unsupported authorization type") == 0) {
			const char *sp = strchr(h, ' ');

			return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST,
			    "InvalidToken", "%s: %.*s", why, (int)(sp != NULL ?
			    sp - h : 64), h);
		}
		return invalid_token(res, why);
	}
	switch (kind) {
	case XRPC_AUTH_OPTIONAL:
		if (t == XRPC_AUTHZ_NONE)
			return XRPC_OK;
		if (t == XRPC_AUTHZ_BASIC)
			return auth_admin(req, res, t, tok, toklen);
		return auth_access(req, res, XRPC_AUTH_ACCESS, flags, t, tok,
		    toklen);
	case XRPC_AUTH_REFRESH:
	case XRPC_AUTH_REFRESH_EXPIRED:
		/* bearerTokenFromReq(): anything but Bearer is no token */
		if (t != XRPC_AUTHZ_BEARER || toklen == 0)
			return auth_missing(res);
		return auth_bearer(req, res, kind, flags, tok, toklen);
	default:
		return auth_access(req, res, kind, flags, t, tok, toklen);
	}
}
