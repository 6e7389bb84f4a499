/*
 * proxy.c: where a forwarded call goes and what it carries (pipethrough.ts
 * proxyHandler, pipethrough(), parseProxyInfo(), parseProxyHeader(),
 * defaultService(); ../shared/spec/reference-pds.md f "The atproto-proxy
 * header and default proxying").
 *
 * Owns the method lists (protected, privileged, moderation defaults), the
 * target of a call (the atproto-proxy header, resolved through the DID
 * cache, or the configured services), the catch-all's checks and the
 * pipethrough() used by routed handlers.  The HTTP exchange itself is
 * proxy_http.c's.
 */
#include <string.h>

#include "accounts.h"
#include "log.h"
#include "proxy.h"
#include "resolve.h"
#include "upstream.h"
#include "xrpc_int.h"

/* ==== method lists ======================================================= */

/* PROTECTED_METHODS: account management, never proxied nor service-authed. */
static const char *const protected_methods[] = {
	"com.atproto.admin.sendEmail",
	"com.atproto.identity.requestPlcOperationSignature",
	"com.atproto.identity.signPlcOperation",
	"com.atproto.identity.updateHandle",
	"com.atproto.server.activateAccount",
	"com.atproto.server.confirmEmail",
	"com.atproto.server.createAppPassword",
	"com.atproto.server.deactivateAccount",
	"com.atproto.server.getAccountInviteCodes",
	"com.atproto.server.getSession",
	"com.atproto.server.listAppPasswords",
	"com.atproto.server.requestAccountDelete",
	"com.atproto.server.requestEmailConfirmation",
	"com.atproto.server.requestEmailUpdate",
	"com.atproto.server.revokeAppPassword",
	"com.atproto.server.updateEmail",
	NULL
};

/* PRIVILEGED_METHODS: need the main password or a privileged app
 * password. */
static const char *const privileged_methods[] = {
	"chat.bsky.actor.deleteAccount",
	"chat.bsky.actor.exportAccountData",
	"chat.bsky.convo.deleteMessageForSelf",
	"chat.bsky.convo.getConvo",
	"chat.bsky.convo.getConvoForMembers",
	"chat.bsky.convo.getLog",
	"chat.bsky.convo.getMessages",
	"chat.bsky.convo.leaveConvo",
	"chat.bsky.convo.listConvos",
	"chat.bsky.convo.muteConvo",
	"chat.bsky.convo.sendMessage",
	"chat.bsky.convo.sendMessageBatch",
	"chat.bsky.convo.unmuteConvo",
	"chat.bsky.convo.updateRead",
	"com.atproto.server.createAccount",
	NULL
};

/* defaultService(): these go to the moderation service without an
 * atproto-proxy header (pds-endpoints.tsv "proxied-mod" rows). */
static const char *const mod_methods[] = {
	"tools.ozone.communication.createTemplate",
	"tools.ozone.communication.deleteTemplate",
	"tools.ozone.communication.listTemplates",
	"tools.ozone.communication.updateTemplate",
	"tools.ozone.moderation.cancelScheduledActions",
	"tools.ozone.moderation.emitEvent",
	"tools.ozone.moderation.getAccountTimeline",
	"tools.ozone.moderation.getEvent",
	"tools.ozone.moderation.getRecord",
	"tools.ozone.moderation.getRepo",
	"tools.ozone.moderation.listScheduledActions",
	"tools.ozone.moderation.queryEvents",
	"tools.ozone.moderation.queryStatuses",
	"tools.ozone.moderation.scheduleAction",
	"tools.ozone.moderation.searchRepos",
	"tools.ozone.safelink.addRule",
	"tools.ozone.safelink.queryEvents",
	"tools.ozone.safelink.queryRules",
	"tools.ozone.safelink.removeRule",
	"tools.ozone.safelink.updateRule",
	"tools.ozone.team.addMember",
	"tools.ozone.team.deleteMember",
	"tools.ozone.team.listMembers",
	"tools.ozone.team.updateMember",
	"tools.ozone.verification.grantVerifications",
	"tools.ozone.verification.listVerifications",
	"tools.ozone.verification.revokeVerifications",
	NULL
};

static int
in_list(const char *nsid, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(nsid, *list) == 0)
			return 1;
	return 0;
}

int
proxy_method_protected(const char *nsid)
{
	return nsid != NULL && in_list(nsid, protected_methods);
}

int
proxy_method_privileged(const char *nsid)
{
	return nsid != NULL && in_list(nsid, privileged_methods);
}

/* ==== targets ============================================================ */

/* A target from a configured URL and DID. */
static enum xrpc_status
target_config(struct xrpc_req *req, struct xrpc_res *res, const char *url,
    const char *did, const char *service_id, struct proxy_target *out)
{
	char	origin[UPSTREAM_ORIGIN_LEN];
	int	https;

	if (upstream_origin_parse(url, strlen(url), origin, sizeof(origin),
	    &https) == -1) {
		log_error("%s: %s: configured service URL is not an http(s) "
		    "URL", __func__, req->id);
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	}
	out->origin = arena_strdup(req->a, origin);
	out->did = did;
	out->service_id = service_id;
	if (out->origin == NULL)
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	return XRPC_OK;
}

enum xrpc_status
proxy_target_appview(struct xrpc_req *req, struct xrpc_res *res,
    const char *lxm, struct proxy_target *out)
{
	const struct pds_config	*cfg = req->srv->cfg;

	if (cfg->appview_url == NULL || cfg->appview_did == NULL)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "No service configured for %s", lxm);
	return target_config(req, res, cfg->appview_url, cfg->appview_did,
	    "#bsky_appview", out);
}

enum xrpc_status
proxy_target_did(struct xrpc_req *req, struct xrpc_res *res, const char *did,
    const char *id, const char *type, const char *nodoc_msg,
    const char *nosvc_msg, struct proxy_target *out)
{
	struct acct_ctx		*ctx;
	struct resolve_atproto	 atp;
	json_t			*doc = NULL;
	const char		*ep;
	char			 origin[UPSTREAM_ORIGIN_LEN];
	int			 rc, https;
	enum xrpc_status	 st = XRPC_OK;

	if ((ctx = acct_ctx_get(req, res)) == NULL)
		return XRPC_ERR_INTERNAL;
	if ((rc = resolve_did(&ctx->resolver, req->a, did, 0, &doc,
	    &atp)) == -1)
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	if (rc == 0)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL, "%s",
		    nodoc_msg != NULL ? nodoc_msg : "could not resolve did");
	ep = upstream_service_endpoint(doc, id, type);
	if (ep == NULL || upstream_origin_parse(ep, strlen(ep), origin,
	    sizeof(origin), &https) == -1)
		st = xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL, "%s",
		    nosvc_msg != NULL ? nosvc_msg : "no service endpoint");
	else if ((out->origin = arena_strdup(req->a, origin)) == NULL ||
	    (out->did = arena_strdup(req->a, did)) == NULL ||
	    (out->service_id = arena_strdup(req->a, id)) == NULL)
		st = xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	json_decref(doc);
	return st;
}

/* parseProxyHeader(). */
static enum xrpc_status
target_header(struct xrpc_req *req, struct xrpc_res *res, const char *h,
    struct proxy_target *out)
{
	const struct pds_config	*cfg = req->srv->cfg;
	enum upstream_hdr_err	 e;
	const char		*svc;
	char			*did;
	size_t			 dl, len = strlen(h);

	if ((e = upstream_proxy_parse(h, len, &dl)) != UPSTREAM_HDR_OK)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL, "%s",
		    upstream_hdr_err_str(e));
	if (dl > LIM_DID_LEN)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "could not resolve proxy did");
	if ((did = arena_strndup(req->a, h, dl)) == NULL)
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	svc = h + dl;
	/* the configured app view needs no resolution */
	if (cfg->appview_did != NULL && cfg->appview_url != NULL &&
	    strcmp(did, cfg->appview_did) == 0 &&
	    strcmp(svc, "#bsky_appview") == 0)
		return target_config(req, res, cfg->appview_url,
		    cfg->appview_did, "#bsky_appview", out);
	return proxy_target_did(req, res, did, svc, NULL,
	    "could not resolve proxy did",
	    "could not resolve proxy did service url", out);
}

enum xrpc_status
proxy_target_for(struct xrpc_req *req, struct xrpc_res *res, const char *lxm,
    struct proxy_target *out)
{
	const struct pds_config	*cfg = req->srv->cfg;
	const char		*h = xrpc_req_param(req, "HTTP_ATPROTO_PROXY");

	memset(out, 0, sizeof(*out));
	if (h != NULL && h[0] != '\0')
		return target_header(req, res, h, out);
	if (in_list(lxm, mod_methods)) {
		if (cfg->mod_url != NULL && cfg->mod_did != NULL)
			return target_config(req, res, cfg->mod_url,
			    cfg->mod_did, "#atproto_labeler", out);
	} else if (strcmp(lxm, "com.atproto.moderation.createReport") == 0) {
		/* the report service falls back to the mod service */
		if (cfg->report_url != NULL && cfg->report_did != NULL)
			return target_config(req, res, cfg->report_url,
			    cfg->report_did, "#atproto_labeler", out);
		if (cfg->mod_url != NULL && cfg->mod_did != NULL)
			return target_config(req, res, cfg->mod_url,
			    cfg->mod_did, "#atproto_labeler", out);
	} else if (cfg->appview_url != NULL && cfg->appview_did != NULL)
		return target_config(req, res, cfg->appview_url,
		    cfg->appview_did, "#bsky_appview", out);
	return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
	    "No service configured for %s", lxm);
}

/* ==== the forwarded request ============================================== */

/* A request target we can paste into a URL: "/xrpc/...", printable
 * ASCII, bounded. */
static int
path_ok(const char *p)
{
	size_t	i, n = strlen(p);

	if (n < 7 || n > LIM_URI_LEN || strncmp(p, "/xrpc/", 6) != 0)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)p[i] <= 0x20 || (unsigned char)p[i] >= 0x7f ||
		    p[i] == '#')
			return 0;
	return 1;
}

const char *
proxy_req_path(struct xrpc_req *req)
{
	const char	*u = xrpc_req_param(req, "REQUEST_URI");
	const char	*qs;
	char		*p;

	/* req.originalUrl: the path and query exactly as the client sent */
	if (u != NULL && path_ok(u))
		return u;
	qs = xrpc_req_param(req, "QUERY_STRING");
	p = arena_printf(req->a, "%s%s%s", req->path, qs != NULL &&
	    qs[0] != '\0' ? "?" : "", qs != NULL ? qs : "");
	return p != NULL && path_ok(p) ? p : NULL;
}

enum xrpc_status
proxy_catchall(struct xrpc_req *req, struct xrpc_res *res)
{
	struct proxy_target	 t;
	struct proxy_call	 c;
	enum xrpc_status	 st;
	const char		*ae;

	if (req->method != XRPC_M_GET && req->method != XRPC_M_HEAD &&
	    req->method != XRPC_M_POST)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "XRPC requests only supports GET and POST");
	if (proxy_method_protected(req->nsid))
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, "InvalidToken",
		    "Bad token method");
	if ((st = xrpc_auth_check(req, res, XRPC_AUTH_ACCESS, 0)) != XRPC_OK)
		return st;
	if (!req->auth.privileged && proxy_method_privileged(req->nsid))
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, "InvalidToken",
		    "Bad token method");
	if ((st = proxy_target_for(req, res, req->nsid, &t)) != XRPC_OK)
		return st;
	memset(&c, 0, sizeof(c));
	c.mode = PROXY_STREAM;
	c.method = req->method == XRPC_M_POST ? "POST" :
	    req->method == XRPC_M_HEAD ? "HEAD" : "GET";
	if ((c.path = proxy_req_path(req)) == NULL)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "invalid xrpc path");
	c.iss = req->auth.did;
	c.aud = t.did;
	c.lxm = req->nsid;
	ae = xrpc_req_param(req, "HTTP_ACCEPT_ENCODING");
	c.accept_encoding = ae != NULL && ae[0] != '\0' ? ae : "identity";
	c.client_headers = 1;
	c.client_body = req->method == XRPC_M_POST;
	return proxy_run(req, res, &t, &c);
}

static enum xrpc_status
pipethrough(struct xrpc_req *req, struct xrpc_res *res, const char *iss,
    const char *aud, const char *lxm, struct proxy_result *raw,
    const char *cur_rev)
{
	struct proxy_target	 t;
	struct proxy_call	 c;
	enum xrpc_status	 st;
	const char		*bad;
	char			*ae;
	size_t			 badlen;

	if (req->method != XRPC_M_GET && req->method != XRPC_M_HEAD)
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL,
		    "Proxying of %s requests is not supported",
		    req->method_str);
	if ((st = proxy_target_for(req, res, req->nsid, &t)) != XRPC_OK)
		return st;
	if ((ae = arena_alloc(req->a, UPSTREAM_AE_LEN)) == NULL)
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	switch (upstream_accept_encoding(xrpc_req_param(req,
	    "HTTP_ACCEPT_ENCODING"), req->srv->cfg->proxy_prefer_compressed,
	    ae, UPSTREAM_AE_LEN, &bad, &badlen)) {
	case UPSTREAM_AE_OK:
		break;
	case UPSTREAM_AE_INVALID:
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Invalid accept-encoding: \"%.*s\"", (int)(badlen > 256 ?
		    256 : badlen), bad);
	default:
		return xrpc_fail(res, XRPC_ERR_NOT_ACCEPTABLE, NULL,
		    "this service does not support any of the requested "
		    "encodings");
	}
	memset(&c, 0, sizeof(c));
	c.mode = raw != NULL ? PROXY_RAW : PROXY_STREAM_200;
	c.result = raw;
	c.cur_rev = cur_rev;
	c.method = req->method == XRPC_M_HEAD ? "HEAD" : "GET";
	if ((c.path = proxy_req_path(req)) == NULL)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "invalid xrpc path");
	c.iss = iss;
	c.aud = aud != NULL ? aud : t.did;
	c.lxm = lxm != NULL ? lxm : req->nsid;
	c.accept_encoding = ae;
	c.client_headers = 1;
	return proxy_run(req, res, &t, &c);
}

enum xrpc_status
proxy_pipethrough(struct xrpc_req *req, struct xrpc_res *res,
    const char *iss, const char *aud, const char *lxm)
{
	return pipethrough(req, res, iss, aud, lxm, NULL, NULL);
}

enum xrpc_status
proxy_pipethrough_raw(struct xrpc_req *req, struct xrpc_res *res,
    const char *iss, const char *cur_rev, struct proxy_result *result)
{
	memset(result, 0, sizeof(*result));
	return pipethrough(req, res, iss, NULL, NULL, result, cur_rev);
}
