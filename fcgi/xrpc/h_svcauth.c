/*
 * h_svcauth.c: com.atproto.server.getServiceAuth (reference
 * api/com/atproto/server/getServiceAuth.ts; ../shared/spec/
 * reference-pds.md f "Service auth JWTs"): a service JWT signed with the
 * account's repo key for a service of the client's choosing.
 *
 * Rules, in the reference's order: a takendown-scope token may only ask
 * for lxm = com.atproto.server.createAccount; exp must be in the future
 * and at most an hour ahead, at most a minute without lxm
 * (BadExpiration); protected methods are refused; privileged methods need
 * a privileged token.
 */
#include <string.h>

#include "log.h"
#include "proxy.h"
#include "repo_int.h"
#include "svcauth.h"
#include "syntax.h"
#include "util.h"
#include "xrpc_int.h"

#define SCOPE_TAKENDOWN	"com.atproto.takendown"
#define LXM_CREATE	"com.atproto.server.createAccount"
#define MINUTE_MS	(60LL * 1000)
#define HOUR_MS		(60LL * MINUTE_MS)

/* aud: a DID, or a DID + "#" + a service id (the lexicon's newer form). */
static enum xrpc_status
param_aud(struct xrpc_req *req, struct xrpc_res *res, const char **out)
{
	enum xrpc_status	 st;
	const char		*aud = NULL, *hash;
	size_t			 dl;

	if ((st = xrpc_param_str(req, res, "aud", 1, &aud)) != XRPC_OK)
		return st;
	hash = strchr(aud, '#');
	dl = hash != NULL ? (size_t)(hash - aud) : strlen(aud);
	if (syntax_did_validate(aud, dl, NULL) == -1 || (hash != NULL &&
	    (hash[1] == '\0' || strchr(hash + 1, '#') != NULL)))
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Invalid %s params: Invalid did format (got \"%.*s\") at "
		    "$.aud", req->nsid, LIM_PARAM_PREVIEW, aud);
	*out = aud;
	return XRPC_OK;
}

static enum xrpc_status
check_exp(struct xrpc_res *res, int64_t exp, const char *lxm)
{
	int64_t	diff;

	if (exp == 0)		/* `if (exp)`: absent (or 0) is not checked */
		return XRPC_OK;
	diff = exp * 1000 - util_now_ms();
	if (diff < 0)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, "BadExpiration",
		    "expiration is in past");
	if (diff > HOUR_MS)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, "BadExpiration",
		    "cannot request a token with an expiration more than an "
		    "hour in the future");
	if (lxm == NULL && diff > MINUTE_MS)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, "BadExpiration",
		    "cannot request a method-less token with an expiration "
		    "more than a minute in the future");
	return XRPC_OK;
}

enum xrpc_status
com_atproto_server_getServiceAuth(struct xrpc_req *req, struct xrpc_res *res)
{
	struct storectx		*ctx;
	struct buf		 tok;
	enum xrpc_status	 st;
	enum svcauth_err	 e;
	const char		*aud = NULL, *lxm = NULL;
	int64_t			 exp = 0;
	json_t			*body;

	if ((st = param_aud(req, res, &aud)) != XRPC_OK ||
	    (st = xrpc_param_int(req, res, "exp", 0, -LIM_JSON_SAFE_INT,
	    LIM_JSON_SAFE_INT / 1000, &exp)) != XRPC_OK ||
	    (st = repo_param_fmt(req, res, "lxm", "nsid", 0, &lxm)) != XRPC_OK)
		return st;
	/* takendown accounts may only get what account migration needs */
	if (req->auth.scope != NULL &&
	    strcmp(req->auth.scope, SCOPE_TAKENDOWN) == 0 &&
	    (lxm == NULL || strcmp(lxm, LXM_CREATE) != 0))
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, "InvalidToken",
		    "Bad token scope");
	if ((st = check_exp(res, exp, lxm)) != XRPC_OK)
		return st;
	if (lxm != NULL && proxy_method_protected(lxm))
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "cannot request a service auth token for the following "
		    "protected method: %s", lxm);
	if (lxm != NULL && !req->auth.privileged &&
	    proxy_method_privileged(lxm))
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "insufficient access to request a service auth token for "
		    "the following method: %s", lxm);
	if ((st = repo_ctx(req, res, &ctx)) != XRPC_OK)
		return st;
	buf_init(&tok, LIM_JWT_LEN + 1);
	e = svcauth_sign_for(ctx->actors, req->auth.did, aud, lxm, exp, &tok);
	if (e != SVCAUTH_OK) {
		buf_free(&tok);
		log_error("%s: %s: %s", __func__, req->id, svcauth_err_msg(e));
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	}
	body = json_pack("{s:s}", "token", (const char *)tok.data);
	buf_free(&tok);
	if (body == NULL)
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	st = xrpc_res_json(res, 200, body);
	json_decref(body);
	return st;
}
