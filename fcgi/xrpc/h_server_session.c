/*
 * h_server_session.c: legacy sessions and app passwords:
 * com.atproto.server.createSession, refreshSession, getSession,
 * deleteSession, createAppPassword, listAppPasswords, revokeAppPassword.
 *
 * After the reference's api/com/atproto/server/ handlers and
 * AccountManager.login / createSession / rotateRefreshToken
 * (../shared/spec/reference-pds.md f): HS256 tokens, refresh rotation
 * with a 2 h grace period and a stable next id, app passwords hashed
 * with a DID-derived salt, the 350 ms login floor and the 512-char
 * password cap.  Token verification itself is in auth.c.
 */
#include <string.h>
#include <time.h>

#include "accounts.h"
#include "db.h"
#include "handlers.h"
#include "log.h"
#include "password.h"
#include "syntax.h"
#include "util.h"
#include "xrpc_int.h"

static enum xrpc_status
internal(struct xrpc_res *res)
{
	return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
}

/* The reference's session body: {accessJwt, refreshJwt, did, didDoc,
 * handle, email, emailConfirmed, active, status}, undefined fields left
 * out.  access NULL gives getSession's body (no tokens). */
static json_t *
session_json(const struct accountdb_account *u, const char *access,
    const char *refresh, json_t *diddoc)
{
	const char	*status;
	json_t		*j;
	int		 active, bad = 0;

	acct_status(u, &active, &status);
	if ((j = json_object()) == NULL)
		return NULL;
	if (access != NULL) {
		bad |= json_object_set_new(j, "accessJwt", json_string(access));
		bad |= json_object_set_new(j, "refreshJwt",
		    json_string(refresh));
	}
	bad |= json_object_set_new(j, "did", json_string(u->did));
	if (diddoc != NULL)
		bad |= json_object_set(j, "didDoc", diddoc);
	bad |= json_object_set_new(j, "handle", json_string(u->handle != NULL ?
	    u->handle : ACCT_INVALID_HANDLE));
	if (u->email != NULL)
		bad |= json_object_set_new(j, "email", json_string(u->email));
	bad |= json_object_set_new(j, "emailConfirmed",
	    json_boolean(u->email_confirmed_at != NULL));
	bad |= json_object_set_new(j, "active", json_boolean(active));
	if (status != NULL)
		bad |= json_object_set_new(j, "status", json_string(status));
	if (bad) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* ---- createSession ---------------------------------------------------------- */

/* Sleeps until LIM_LOGIN_FLOOR_MS have passed since t0_us (monotonic). */
static void
login_floor(int64_t t0_us)
{
	int64_t		left = LIM_LOGIN_FLOOR_MS * 1000 - (util_mono_us() - t0_us);
	struct timespec	ts;

	if (left <= 0)
		return;
	ts.tv_sec = (time_t)(left / 1000000);
	ts.tv_nsec = (long)(left % 1000000) * 1000;
	while (nanosleep(&ts, &ts) == -1)
		;
}

/* verifyAccountPassword(): main password (never over 512 chars). */
static int
login_main(struct acct_ctx *ctx, struct arena *a, const char *did,
    const char *pw, size_t len)
{
	const char	*stored;
	int		 rc;

	if (password_js_length(pw, len) > LIM_PASSWORD_OLD ||
	    len > LIM_PASSWORD_BYTES)
		return 0;
	if ((rc = accountdb_password_get(ctx->account, a, did, &stored)) != 1)
		return rc;
	return password_verify(pw, len, stored, strlen(stored));
}

/* verifyAppPassword(): the hash is deterministic, so look it up. */
static int
login_app(struct acct_ctx *ctx, struct arena *a, const char *did,
    const char *pw, size_t len, struct accountdb_app_password *app)
{
	char	hash[PASSWORD_STORED_LEN];
	int	rc;

	if (len > LIM_PASSWORD_BYTES ||
	    password_app_hash(did, pw, len, hash) == -1)
		return len > LIM_PASSWORD_BYTES ? 0 : -1;
	rc = accountdb_app_password_find(ctx->account, a, did, hash, app);
	util_wipe(hash, sizeof(hash));
	return rc;
}

/* AccountManager.login(): the account of identifier whose password or
 * an app password matches.  Returns XRPC_OK with *u (and *app when an
 * app password matched), or the refusal. */
static enum xrpc_status
login(struct xrpc_req *req, struct xrpc_res *res, struct acct_ctx *ctx,
    const char *ident, size_t identlen, const char *pw, size_t pwlen,
    struct accountdb_account *u, struct accountdb_app_password *app,
    int *used_app)
{
	const int	 all = ACCOUNTDB_TAKENDOWN | ACCOUNTDB_DEACTIVATED;
	char		*id;
	size_t		 i;
	int		 rc;

	*used_app = 0;
	/* all of it: no stored handle, DID or email holds a NUL */
	if (memchr(ident, '\0', identlen) != NULL)
		return xrpc_fail(res, XRPC_ERR_AUTH_REQUIRED, NULL,
		    "Invalid identifier or password");
	if ((id = arena_strdup(req->a, ident)) == NULL)
		return internal(res);
	for (i = 0; id[i] != '\0'; i++)
		if (id[i] >= 'A' && id[i] <= 'Z')
			id[i] = (char)(id[i] - 'A' + 'a');
	if (strchr(id, '@') != NULL)
		rc = accountdb_account_by_email(ctx->account, req->a, id, all,
		    u);
	else if (syntax_atid_validate(id, identlen, NULL) == 0)
		rc = accountdb_account_get(ctx->account, req->a, id, all, u);
	else
		rc = 0;
	if (rc == -1)
		return internal(res);
	if (rc == 0)
		return xrpc_fail(res, XRPC_ERR_AUTH_REQUIRED, NULL,
		    "Invalid identifier or password");
	if ((rc = login_main(ctx, req->a, u->did, pw, pwlen)) == -1)
		return internal(res);
	if (rc == 1)
		return XRPC_OK;
	/* taken-down accounts cannot log in with app passwords */
	if (u->takedown_ref != NULL)
		return xrpc_fail(res, XRPC_ERR_AUTH_REQUIRED, NULL,
		    "Invalid identifier or password");
	if ((rc = login_app(ctx, req->a, u->did, pw, pwlen, app)) == -1)
		return internal(res);
	if (rc == 0)
		return xrpc_fail(res, XRPC_ERR_AUTH_REQUIRED, NULL,
		    "Invalid identifier or password");
	*used_app = 1;
	return XRPC_OK;
}

/* formatScope() */
static const char *
session_scope(int used_app, const struct accountdb_app_password *app,
    int soft_deleted)
{
	if (soft_deleted)
		return ACCT_SCOPE_TAKENDOWN;
	if (!used_app)
		return ACCT_SCOPE_ACCESS;
	return app->privileged ? ACCT_SCOPE_APP_PRIV : ACCT_SCOPE_APP_PASS;
}

enum xrpc_status
com_atproto_server_createSession(struct xrpc_req *req, struct xrpc_res *res)
{
	struct accountdb_app_password	 app;
	struct accountdb_account	 u;
	struct acct_tokens		 t;
	struct acct_ctx			*ctx;
	enum xrpc_status		 st;
	const char			*ident = NULL, *pw = NULL, *factor = NULL;
	json_t				*doc;
	size_t				 identlen = 0, pwlen = 0, flen;
	int64_t				 t0 = util_mono_us();
	int				 allow = 0, used_app, soft;

	memset(&app, 0, sizeof(app));
	if ((st = acct_in_bytes(req, res, "identifier", 1, &ident,
	    &identlen)) != XRPC_OK ||
	    (st = acct_in_bytes(req, res, "password", 1, &pw, &pwlen)) !=
	    XRPC_OK ||
	    /* authFactorToken: checked, then ignored (no email 2FA) */
	    (st = acct_in_bytes(req, res, "authFactorToken", 0, &factor,
	    &flen)) != XRPC_OK ||
	    (st = acct_in_bool(req, res, "allowTakendown", 0, &allow)) !=
	    XRPC_OK)
		return st;
	if (password_js_length(pw, pwlen) > LIM_PASSWORD_OLD)
		return xrpc_fail(res, XRPC_ERR_AUTH_REQUIRED, NULL,
		    "Password too long. Consider resetting your password.");
	if ((ctx = acct_ctx_get(req, res)) == NULL)
		return XRPC_ERR_INTERNAL;
	st = login(req, res, ctx, ident, identlen, pw, pwlen, &u, &app,
	    &used_app);
	login_floor(t0);	/* on every path, as login()'s finally */
	if (st != XRPC_OK)
		return st;
	soft = u.takedown_ref != NULL;
	if (!allow && soft)
		return xrpc_fail(res, XRPC_ERR_AUTH_REQUIRED, "AccountTakedown",
		    "Account has been taken down");
	if (acct_tokens_make(req, u.did, session_scope(used_app, &app, soft),
	    NULL, &t) == -1)
		return internal(res);
	/* Taken-down sessions are not stored, so they cannot be rotated. */
	if (!soft && acct_tokens_store(ctx, u.did, &t, used_app ? app.name :
	    NULL) == -1)
		return internal(res);
	doc = acct_diddoc_for_session(req, ctx, u.did, 0);
	st = xrpc_reply(res, session_json(&u, t.access, t.refresh, doc));
	json_decref(doc);
	return st;
}

/* ---- refreshSession ---------------------------------------------------------- */

/* rotateRefreshToken(): 1 with *t, 0 when revoked or expired, -1. */
static int
rotate(struct xrpc_req *req, struct acct_ctx *ctx, const char *id,
    struct acct_tokens *t)
{
	struct accountdb_app_password	 app;
	struct accountdb_refresh	 r;
	char				 now_iso[UTIL_ISO_LEN], exp[UTIL_ISO_LEN];
	const char			*next;
	int64_t				 now = util_now_ms(), prev_ms, exp_ms;
	int				 rc, tries;

	memset(&app, 0, sizeof(app));
	for (tries = 0; tries < 3; tries++) {
		if ((rc = accountdb_refresh_get(ctx->account, req->a, id, &r)) !=
		    1)
			return rc;
		util_iso_time(now, now_iso);
		/* best effort tidying of the account's expired tokens */
		(void)accountdb_refresh_delete_expired(ctx->account, r.did,
		    now_iso);
		if (util_iso_parse(r.expires_at, strlen(r.expires_at),
		    &prev_ms) == -1)
			return 0;
		exp_ms = now + LIM_REFRESH_GRACE_MS;
		if (prev_ms < exp_ms)
			exp_ms = prev_ms;
		if (exp_ms <= now)
			return 0;
		/* upon reuse inside the grace period: the same next id */
		next = r.next_id;
		app.name = r.app_password_name;
		app.privileged = r.privileged;
		if (acct_tokens_make(req, r.did, session_scope(app.name != NULL,
		    &app, 0), next, t) == -1)
			return -1;
		util_iso_time(exp_ms, exp);
		if (db_begin_immediate(ctx->account) == -1)
			return -1;
		if ((rc = accountdb_refresh_grace(ctx->account, id, exp,
		    t->jti)) == 1 &&
		    acct_tokens_store(ctx, r.did, t, r.app_password_name) == 0) {
			if (db_commit(ctx->account) == -1)
				return -1;
			return 1;
		}
		(void)db_rollback(ctx->account);
		if (rc == -1)
			return -1;
		/* ConcurrentRefreshError: another worker rotated it first */
	}
	return -1;
}

enum xrpc_status
com_atproto_server_refreshSession(struct xrpc_req *req, struct xrpc_res *res)
{
	struct accountdb_account	 u;
	struct acct_tokens		 t;
	struct acct_ctx			*ctx;
	enum xrpc_status		 st;
	json_t				*doc;
	int				 rc;

	if ((ctx = acct_ctx_get(req, res)) == NULL)
		return XRPC_ERR_INTERNAL;
	rc = accountdb_account_get(ctx->account, req->a, req->auth.did,
	    ACCOUNTDB_TAKENDOWN | ACCOUNTDB_DEACTIVATED, &u);
	if (rc == -1)
		return internal(res);
	if (rc == 0)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Could not find user info for account: %s", req->auth.did);
	if (u.takedown_ref != NULL)
		return xrpc_fail(res, XRPC_ERR_AUTH_REQUIRED, "AccountTakedown",
		    "Account has been taken down");
	if ((rc = rotate(req, ctx, req->auth.token_id, &t)) == -1)
		return internal(res);
	if (rc == 0)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, "ExpiredToken",
		    "Token has been revoked");
	doc = acct_diddoc_for_session(req, ctx, u.did, 0);
	st = xrpc_reply(res, session_json(&u, t.access, t.refresh, doc));
	json_decref(doc);
	return st;
}

/* ---- getSession, deleteSession ------------------------------------------------ */

enum xrpc_status
com_atproto_server_getSession(struct xrpc_req *req, struct xrpc_res *res)
{
	struct accountdb_account	 u;
	struct acct_ctx			*ctx;
	enum xrpc_status		 st;
	json_t				*doc;
	int				 rc;

	if ((ctx = acct_ctx_get(req, res)) == NULL)
		return XRPC_ERR_INTERNAL;
	rc = accountdb_account_get(ctx->account, req->a, req->auth.did,
	    ACCOUNTDB_DEACTIVATED, &u);
	if (rc == -1)
		return internal(res);
	if (rc == 0)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Could not find user info for account: %s", req->auth.did);
	doc = acct_diddoc_for_session(req, ctx, u.did, 0);
	st = xrpc_reply(res, session_json(&u, NULL, NULL, doc));
	json_decref(doc);
	return st;
}

enum xrpc_status
com_atproto_server_deleteSession(struct xrpc_req *req, struct xrpc_res *res)
{
	struct acct_ctx	*ctx;

	if ((ctx = acct_ctx_get(req, res)) == NULL)
		return XRPC_ERR_INTERNAL;
	if (accountdb_refresh_delete(ctx->account, req->auth.token_id) == -1)
		return internal(res);
	return XRPC_OK;
}

/* ---- app passwords --------------------------------------------------------------- */

enum xrpc_status
com_atproto_server_createAppPassword(struct xrpc_req *req,
    struct xrpc_res *res)
{
	struct acct_ctx	*ctx;
	enum xrpc_status st;
	const char	*name = NULL;
	char		 pw[PASSWORD_APP_LEN], hash[PASSWORD_STORED_LEN];
	char		 now[UTIL_ISO_LEN];
	json_t		*j;
	int		 priv = 0, rc;

	if ((st = acct_in_str(req, res, "name", 1, &name)) != XRPC_OK ||
	    (st = acct_in_bool(req, res, "privileged", 0, &priv)) != XRPC_OK)
		return st;
	if (strlen(name) > LIM_APP_PASS_NAME)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "App password name too long");
	if ((ctx = acct_ctx_get(req, res)) == NULL)
		return XRPC_ERR_INTERNAL;
	if (password_app_generate(pw) == -1 ||
	    password_app_hash(req->auth.did, pw, strlen(pw), hash) == -1)
		return internal(res);
	acct_now_iso(now);
	rc = accountdb_app_password_insert(ctx->account, req->auth.did, name,
	    hash, priv, now);
	util_wipe(hash, sizeof(hash));
	if (rc == -1) {
		util_wipe(pw, sizeof(pw));
		return internal(res);
	}
	if (rc == 1) {
		util_wipe(pw, sizeof(pw));
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "could not create app-specific password");
	}
	j = json_pack("{s:s, s:s, s:s, s:b}", "name", name, "password", pw,
	    "createdAt", now, "privileged", priv);
	util_wipe(pw, sizeof(pw));
	return xrpc_reply(res, j);
}

enum xrpc_status
com_atproto_server_listAppPasswords(struct xrpc_req *req, struct xrpc_res *res)
{
	struct accountdb_app_password	*v;
	struct acct_ctx			*ctx;
	json_t				*arr, *j;
	size_t				 n, i;

	if ((ctx = acct_ctx_get(req, res)) == NULL)
		return XRPC_ERR_INTERNAL;
	if (accountdb_app_password_list(ctx->account, req->a, req->auth.did,
	    &v, &n) == -1 || (arr = json_array()) == NULL)
		return internal(res);
	for (i = 0; i < n; i++)
		if (json_array_append_new(arr, json_pack("{s:s, s:s, s:b}",
		    "name", v[i].name, "createdAt", v[i].created_at,
		    "privileged", v[i].privileged)) == -1) {
			json_decref(arr);
			return internal(res);
		}
	j = json_pack("{s:o}", "passwords", arr);
	return xrpc_reply(res, j);
}

enum xrpc_status
com_atproto_server_revokeAppPassword(struct xrpc_req *req,
    struct xrpc_res *res)
{
	struct acct_ctx		*ctx;
	enum xrpc_status	 st;
	const char		*name = NULL;
	size_t			 len = 0;

	if ((st = acct_in_bytes(req, res, "name", 1, &name, &len)) != XRPC_OK)
		return st;
	if ((ctx = acct_ctx_get(req, res)) == NULL)
		return XRPC_ERR_INTERNAL;
	/* a name with a NUL names no stored password: nothing to revoke */
	if (memchr(name, '\0', len) == NULL &&
	    accountdb_app_password_delete(ctx->account, req->auth.did, name) ==
	    -1)
		return internal(res);
	return XRPC_OK;
}
