/*
 * routes.c: the XRPC route table (STYLE.md 6.6 "Make the routing table
 * data").  One row per NSID served locally: kind, auth, flags, body class,
 * accepted input media types, handler (../shared/spec/pds-endpoints.tsv
 * gives each method's auth and where it is served).  NSIDs without a row
 * go to the catch-all proxy (catchall.c).
 *
 * Keep the rows sorted by NSID (strcmp order): lookups are a binary
 * search, and xrpc_routes_check() refuses an unsorted table at start-up.
 */
#include <string.h>

#include "handlers.h"
#include "log.h"
#include "xrpc.h"

#define JSON	"application/json"

static const struct xrpc_route routes[] = {
	{ "com.atproto.admin.deleteAccount", XRPC_PROCEDURE, XRPC_AUTH_ADMIN,
	    0, XRPC_BODY_JSON, JSON, com_atproto_admin_deleteAccount },
	{ "com.atproto.admin.disableAccountInvites", XRPC_PROCEDURE,
	    XRPC_AUTH_MODERATOR, 0, XRPC_BODY_JSON, JSON,
	    com_atproto_admin_disableAccountInvites },
	{ "com.atproto.admin.disableInviteCodes", XRPC_PROCEDURE,
	    XRPC_AUTH_MODERATOR, 0, XRPC_BODY_JSON, JSON,
	    com_atproto_admin_disableInviteCodes },
	{ "com.atproto.admin.enableAccountInvites", XRPC_PROCEDURE,
	    XRPC_AUTH_MODERATOR, 0, XRPC_BODY_JSON, JSON,
	    com_atproto_admin_enableAccountInvites },
	{ "com.atproto.admin.getAccountInfo", XRPC_QUERY, XRPC_AUTH_MODERATOR,
	    0, XRPC_BODY_NONE, NULL, com_atproto_admin_getAccountInfo },
	{ "com.atproto.admin.getAccountInfos", XRPC_QUERY, XRPC_AUTH_MODERATOR,
	    0, XRPC_BODY_NONE, NULL, com_atproto_admin_getAccountInfos },
	{ "com.atproto.admin.getInviteCodes", XRPC_QUERY, XRPC_AUTH_MODERATOR,
	    0, XRPC_BODY_NONE, NULL, com_atproto_admin_getInviteCodes },
	{ "com.atproto.admin.getSubjectStatus", XRPC_QUERY,
	    XRPC_AUTH_MODERATOR, 0, XRPC_BODY_NONE, NULL,
	    com_atproto_admin_getSubjectStatus },
	{ "com.atproto.admin.sendEmail", XRPC_PROCEDURE, XRPC_AUTH_MODERATOR,
	    0, XRPC_BODY_JSON, JSON, com_atproto_admin_sendEmail },
	{ "com.atproto.admin.updateAccountEmail", XRPC_PROCEDURE,
	    XRPC_AUTH_ADMIN, 0, XRPC_BODY_JSON, JSON,
	    com_atproto_admin_updateAccountEmail },
	{ "com.atproto.admin.updateAccountHandle", XRPC_PROCEDURE,
	    XRPC_AUTH_ADMIN, 0, XRPC_BODY_JSON, JSON,
	    com_atproto_admin_updateAccountHandle },
	{ "com.atproto.admin.updateAccountPassword", XRPC_PROCEDURE,
	    XRPC_AUTH_ADMIN, 0, XRPC_BODY_JSON, JSON,
	    com_atproto_admin_updateAccountPassword },
	{ "com.atproto.admin.updateSubjectStatus", XRPC_PROCEDURE,
	    XRPC_AUTH_MODERATOR, 0, XRPC_BODY_JSON, JSON,
	    com_atproto_admin_updateSubjectStatus },
	{ "com.atproto.identity.getRecommendedDidCredentials", XRPC_QUERY,
	    XRPC_AUTH_ACCESS, 0, XRPC_BODY_NONE, NULL,
	    com_atproto_identity_getRecommendedDidCredentials },
	{ "com.atproto.identity.requestPlcOperationSignature", XRPC_PROCEDURE,
	    XRPC_AUTH_ACCESS_FULL, XRPC_F_TAKENDOWN_OK, XRPC_BODY_NONE, NULL,
	    com_atproto_identity_requestPlcOperationSignature },
	{ "com.atproto.identity.resolveHandle", XRPC_QUERY, XRPC_AUTH_NONE, 0,
	    XRPC_BODY_NONE, NULL, com_atproto_identity_resolveHandle },
	{ "com.atproto.identity.signPlcOperation", XRPC_PROCEDURE,
	    XRPC_AUTH_ACCESS_FULL, XRPC_F_TAKENDOWN_OK, XRPC_BODY_JSON, JSON,
	    com_atproto_identity_signPlcOperation },
	{ "com.atproto.identity.submitPlcOperation", XRPC_PROCEDURE,
	    XRPC_AUTH_ACCESS, 0, XRPC_BODY_JSON, JSON,
	    com_atproto_identity_submitPlcOperation },
	{ "com.atproto.identity.updateHandle", XRPC_PROCEDURE, XRPC_AUTH_ACCESS,
	    XRPC_F_CHECK_TAKEDOWN, XRPC_BODY_JSON, JSON,
	    com_atproto_identity_updateHandle },
	{ "com.atproto.repo.applyWrites", XRPC_PROCEDURE, XRPC_AUTH_ACCESS,
	    XRPC_F_CHECK_TAKEDOWN | XRPC_F_CHECK_DEACTIVATED, XRPC_BODY_WRITE,
	    JSON, com_atproto_repo_applyWrites },
	{ "com.atproto.repo.createRecord", XRPC_PROCEDURE, XRPC_AUTH_ACCESS,
	    XRPC_F_CHECK_TAKEDOWN | XRPC_F_CHECK_DEACTIVATED, XRPC_BODY_WRITE,
	    JSON, com_atproto_repo_createRecord },
	{ "com.atproto.repo.deleteRecord", XRPC_PROCEDURE, XRPC_AUTH_ACCESS,
	    XRPC_F_CHECK_TAKEDOWN | XRPC_F_CHECK_DEACTIVATED, XRPC_BODY_JSON,
	    JSON, com_atproto_repo_deleteRecord },
	{ "com.atproto.repo.describeRepo", XRPC_QUERY, XRPC_AUTH_NONE, 0,
	    XRPC_BODY_NONE, NULL, com_atproto_repo_describeRepo },
	{ "com.atproto.repo.getRecord", XRPC_QUERY, XRPC_AUTH_NONE, 0,
	    XRPC_BODY_NONE, NULL, com_atproto_repo_getRecord },
	{ "com.atproto.repo.importRepo", XRPC_PROCEDURE,
	    XRPC_AUTH_ACCESS_FULL, XRPC_F_CHECK_TAKEDOWN, XRPC_BODY_IMPORT,
	    "application/vnd.ipld.car", com_atproto_repo_importRepo },
	{ "com.atproto.repo.listMissingBlobs", XRPC_QUERY, XRPC_AUTH_ACCESS, 0,
	    XRPC_BODY_NONE, NULL, com_atproto_repo_listMissingBlobs },
	{ "com.atproto.repo.listRecords", XRPC_QUERY, XRPC_AUTH_NONE, 0,
	    XRPC_BODY_NONE, NULL, com_atproto_repo_listRecords },
	{ "com.atproto.repo.putRecord", XRPC_PROCEDURE, XRPC_AUTH_ACCESS,
	    XRPC_F_CHECK_TAKEDOWN | XRPC_F_CHECK_DEACTIVATED, XRPC_BODY_WRITE,
	    JSON, com_atproto_repo_putRecord },
	{ "com.atproto.repo.uploadBlob", XRPC_PROCEDURE, XRPC_AUTH_ACCESS,
	    XRPC_F_CHECK_TAKEDOWN, XRPC_BODY_BLOB, "*/*",
	    com_atproto_repo_uploadBlob },
	{ "com.atproto.server.activateAccount", XRPC_PROCEDURE,
	    XRPC_AUTH_ACCESS_FULL, 0, XRPC_BODY_NONE, NULL,
	    com_atproto_server_activateAccount },
	{ "com.atproto.server.checkAccountStatus", XRPC_QUERY, XRPC_AUTH_ACCESS,
	    0, XRPC_BODY_NONE, NULL, com_atproto_server_checkAccountStatus },
	{ "com.atproto.server.confirmEmail", XRPC_PROCEDURE, XRPC_AUTH_ACCESS,
	    XRPC_F_CHECK_TAKEDOWN, XRPC_BODY_JSON, JSON,
	    com_atproto_server_confirmEmail },
	{ "com.atproto.server.createAccount", XRPC_PROCEDURE, XRPC_AUTH_NONE, 0,
	    XRPC_BODY_JSON, JSON, com_atproto_server_createAccount },
	{ "com.atproto.server.createAppPassword", XRPC_PROCEDURE,
	    XRPC_AUTH_ACCESS_FULL, XRPC_F_CHECK_TAKEDOWN, XRPC_BODY_JSON, JSON,
	    com_atproto_server_createAppPassword },
	{ "com.atproto.server.createInviteCode", XRPC_PROCEDURE,
	    XRPC_AUTH_ADMIN, 0, XRPC_BODY_JSON, JSON,
	    com_atproto_server_createInviteCode },
	{ "com.atproto.server.createInviteCodes", XRPC_PROCEDURE,
	    XRPC_AUTH_ADMIN, 0, XRPC_BODY_JSON, JSON,
	    com_atproto_server_createInviteCodes },
	{ "com.atproto.server.createSession", XRPC_PROCEDURE, XRPC_AUTH_NONE, 0,
	    XRPC_BODY_JSON, JSON, com_atproto_server_createSession },
	{ "com.atproto.server.deactivateAccount", XRPC_PROCEDURE,
	    XRPC_AUTH_ACCESS_FULL, XRPC_F_TAKENDOWN_OK, XRPC_BODY_JSON, JSON,
	    com_atproto_server_deactivateAccount },
	{ "com.atproto.server.deleteAccount", XRPC_PROCEDURE, XRPC_AUTH_NONE, 0,
	    XRPC_BODY_JSON, JSON, com_atproto_server_deleteAccount },
	{ "com.atproto.server.deleteSession", XRPC_PROCEDURE,
	    XRPC_AUTH_REFRESH_EXPIRED, 0, XRPC_BODY_NONE, NULL,
	    com_atproto_server_deleteSession },
	{ "com.atproto.server.describeServer", XRPC_QUERY, XRPC_AUTH_NONE, 0,
	    XRPC_BODY_NONE, NULL, com_atproto_server_describeServer },
	{ "com.atproto.server.getAccountInviteCodes", XRPC_QUERY,
	    XRPC_AUTH_ACCESS_FULL, XRPC_F_CHECK_TAKEDOWN, XRPC_BODY_NONE, NULL,
	    com_atproto_server_getAccountInviteCodes },
	{ "com.atproto.server.getSession", XRPC_QUERY, XRPC_AUTH_ACCESS,
	    XRPC_F_SIGNUP_QUEUED_OK, XRPC_BODY_NONE, NULL,
	    com_atproto_server_getSession },
	{ "com.atproto.server.listAppPasswords", XRPC_QUERY, XRPC_AUTH_ACCESS,
	    0, XRPC_BODY_NONE, NULL, com_atproto_server_listAppPasswords },
	{ "com.atproto.server.refreshSession", XRPC_PROCEDURE,
	    XRPC_AUTH_REFRESH, 0, XRPC_BODY_NONE, NULL,
	    com_atproto_server_refreshSession },
	{ "com.atproto.server.requestAccountDelete", XRPC_PROCEDURE,
	    XRPC_AUTH_ACCESS_FULL, XRPC_F_CHECK_TAKEDOWN, XRPC_BODY_NONE, NULL,
	    com_atproto_server_requestAccountDelete },
	{ "com.atproto.server.requestEmailConfirmation", XRPC_PROCEDURE,
	    XRPC_AUTH_ACCESS, XRPC_F_CHECK_TAKEDOWN, XRPC_BODY_NONE, NULL,
	    com_atproto_server_requestEmailConfirmation },
	{ "com.atproto.server.requestEmailUpdate", XRPC_PROCEDURE,
	    XRPC_AUTH_ACCESS_FULL, XRPC_F_CHECK_TAKEDOWN, XRPC_BODY_NONE, NULL,
	    com_atproto_server_requestEmailUpdate },
	{ "com.atproto.server.requestPasswordReset", XRPC_PROCEDURE,
	    XRPC_AUTH_NONE, 0, XRPC_BODY_JSON, JSON,
	    com_atproto_server_requestPasswordReset },
	{ "com.atproto.server.resetPassword", XRPC_PROCEDURE, XRPC_AUTH_NONE,
	    0, XRPC_BODY_JSON, JSON, com_atproto_server_resetPassword },
	{ "com.atproto.server.revokeAppPassword", XRPC_PROCEDURE,
	    XRPC_AUTH_ACCESS, 0, XRPC_BODY_JSON, JSON,
	    com_atproto_server_revokeAppPassword },
	{ "com.atproto.server.updateEmail", XRPC_PROCEDURE,
	    XRPC_AUTH_ACCESS_FULL, XRPC_F_CHECK_TAKEDOWN, XRPC_BODY_JSON, JSON,
	    com_atproto_server_updateEmail },
	{ "com.atproto.sync.getBlob", XRPC_QUERY, XRPC_AUTH_OPTIONAL, 0,
	    XRPC_BODY_NONE, NULL, com_atproto_sync_getBlob },
	{ "com.atproto.sync.getBlocks", XRPC_QUERY, XRPC_AUTH_OPTIONAL, 0,
	    XRPC_BODY_NONE, NULL, com_atproto_sync_getBlocks },
	{ "com.atproto.sync.getCheckout", XRPC_QUERY, XRPC_AUTH_OPTIONAL, 0,
	    XRPC_BODY_NONE, NULL, com_atproto_sync_getCheckout },
	{ "com.atproto.sync.getHead", XRPC_QUERY, XRPC_AUTH_OPTIONAL, 0,
	    XRPC_BODY_NONE, NULL, com_atproto_sync_getHead },
	{ "com.atproto.sync.getLatestCommit", XRPC_QUERY, XRPC_AUTH_OPTIONAL,
	    0, XRPC_BODY_NONE, NULL, com_atproto_sync_getLatestCommit },
	{ "com.atproto.sync.getRecord", XRPC_QUERY, XRPC_AUTH_OPTIONAL, 0,
	    XRPC_BODY_NONE, NULL, com_atproto_sync_getRecord },
	{ "com.atproto.sync.getRepo", XRPC_QUERY, XRPC_AUTH_OPTIONAL, 0,
	    XRPC_BODY_NONE, NULL, com_atproto_sync_getRepo },
	{ "com.atproto.sync.getRepoStatus", XRPC_QUERY, XRPC_AUTH_NONE, 0,
	    XRPC_BODY_NONE, NULL, com_atproto_sync_getRepoStatus },
	{ "com.atproto.sync.listBlobs", XRPC_QUERY, XRPC_AUTH_OPTIONAL, 0,
	    XRPC_BODY_NONE, NULL, com_atproto_sync_listBlobs },
	{ "com.atproto.sync.listRepos", XRPC_QUERY, XRPC_AUTH_NONE, 0,
	    XRPC_BODY_NONE, NULL, com_atproto_sync_listRepos },
};

#define NROUTES	(sizeof(routes) / sizeof(routes[0]))

/* strcmp() order of (p, len) against a NUL-terminated NSID. */
static int
route_cmp(const char *p, size_t len, const char *nsid)
{
	size_t	n = strlen(nsid);
	int	c = memcmp(p, nsid, len < n ? len : n);

	if (c != 0)
		return c;
	return len < n ? -1 : len > n ? 1 : 0;
}

const struct xrpc_route *
xrpc_route_find(const char *nsid, size_t nsidlen)
{
	size_t	lo = 0, hi = NROUTES, mid;
	int	c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = route_cmp(nsid, nsidlen, routes[mid].nsid)) == 0)
			return &routes[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

int
xrpc_routes_check(void)
{
	const struct xrpc_route	*r;
	size_t			 i;
	int			 bad;

	for (i = 0; i < NROUTES; i++) {
		r = &routes[i];
		bad = r->nsid == NULL || r->fn == NULL ||
		    (unsigned)r->kind >= XRPC_KIND__MAX ||
		    (unsigned)r->auth >= XRPC_AUTH__MAX ||
		    (unsigned)r->body >= XRPC_BODY__MAX ||
		    (r->body == XRPC_BODY_NONE) != (r->accept == NULL) ||
		    (r->kind == XRPC_QUERY && r->body != XRPC_BODY_NONE) ||
		    (i > 0 && strcmp(routes[i - 1].nsid, r->nsid) >= 0);
		if (bad) {
			log_error("%s: route table row %zu (%s) is unsorted, "
			    "duplicate or inconsistent", __func__, i,
			    r->nsid != NULL ? r->nsid : "(null)");
			return -1;
		}
	}
	return 0;
}
