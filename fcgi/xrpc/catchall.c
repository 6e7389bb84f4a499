/*
 * catchall.c: an /xrpc/<nsid> this PDS has no route for, handled as the
 * reference's catch-all proxy (pipethrough.ts proxyHandler;
 * ../shared/spec/reference-pds.md f, "The atproto-proxy header").
 *
 * Owns the checks made before anything is forwarded: the method, the
 * protected and privileged method lists, access-token auth, the
 * atproto-proxy header syntax and the default service choice.  The
 * forwarding itself (DID resolution, service JWT, streaming the upstream
 * answer) is the proxy module's; until it lands, a request that passes
 * every check gets 501.
 */
#include <string.h>

#include "log.h"
#include "xrpc.h"
#include "xrpc_int.h"

/* Never proxied (PROTECTED_METHODS): account management. */
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
	"com.atproto.server.listAppPasswords",
	"com.atproto.server.requestAccountDelete",
	"com.atproto.server.requestEmailConfirmation",
	"com.atproto.server.requestEmailUpdate",
	"com.atproto.server.revokeAppPassword",
	"com.atproto.server.updateEmail",
	NULL
};

/* Need a privileged token (PRIVILEGED_METHODS). */
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

/* Go to the moderation service without an atproto-proxy header. */
static const char *const mod_methods[] = {
	"tools.ozone.communication.createTemplate",
	"tools.ozone.communication.deleteTemplate",
	"tools.ozone.communication.listTemplates",
	"tools.ozone.communication.updateTemplate",
	"tools.ozone.moderation.emitEvent",
	"tools.ozone.moderation.getEvent",
	"tools.ozone.moderation.getRecord",
	"tools.ozone.moderation.getRepo",
	"tools.ozone.moderation.queryEvents",
	"tools.ozone.moderation.queryStatuses",
	"tools.ozone.moderation.searchRepos",
	"tools.ozone.team.addMember",
	"tools.ozone.team.deleteMember",
	"tools.ozone.team.listMembers",
	"tools.ozone.team.updateMember",
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

/* parseProxyHeader()'s syntax checks, in its order. */
static enum xrpc_status
proxy_header_check(struct xrpc_res *res, const char *h)
{
	const char	*hash = strchr(h, '#');

	if (hash == h)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "no did specified in proxy header");
	if (hash == NULL || hash[1] == '\0')
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "no service id specified in proxy header");
	if (strchr(hash + 1, '#') != NULL)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "invalid proxy header format");
	if (strchr(h, ' ') != NULL)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "proxy header cannot contain spaces");
	return XRPC_OK;
}

/* defaultService(): the URL a header-less call goes to, or NULL. */
static const char *
default_service(const struct pds_config *cfg, const char *nsid)
{
	if (in_list(nsid, mod_methods))
		return cfg->mod_did != NULL ? cfg->mod_url : NULL;
	if (strcmp(nsid, "com.atproto.moderation.createReport") == 0)
		return cfg->report_url != NULL ? cfg->report_url : cfg->mod_url;
	return cfg->appview_url;
}

enum xrpc_status
xrpc_catchall(struct xrpc_req *req, struct xrpc_res *res)
{
	const char		*target, *hdr;
	enum xrpc_status	 st;

	if (req->method != XRPC_M_GET && req->method != XRPC_M_HEAD &&
	    req->method != XRPC_M_POST)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "XRPC requests only supports GET and POST");
	if (in_list(req->nsid, protected_methods))
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, "InvalidToken",
		    "Bad token method");
	if ((st = xrpc_auth_check(req, res, XRPC_AUTH_ACCESS, 0)) != XRPC_OK)
		return st;
	if (!req->auth.privileged && in_list(req->nsid, privileged_methods))
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, "InvalidToken",
		    "Bad token method");
	hdr = xrpc_req_param(req, "HTTP_ATPROTO_PROXY");
	if (hdr != NULL && hdr[0] != '\0') {
		if ((st = proxy_header_check(res, hdr)) != XRPC_OK)
			return st;
		target = hdr;
	} else if ((target = default_service(req->srv->cfg,
	    req->nsid)) == NULL)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "No service configured for %s", req->nsid);
	/* XXX forwarding (DID resolution, service-auth JWT, upstream
	 * streaming) is the proxy module's, not written yet. */
	(void)target;
	return xrpc_fail(res, XRPC_ERR_NOT_IMPLEMENTED, NULL,
	    "Proxying %s is not implemented by this server yet", req->nsid);
}
