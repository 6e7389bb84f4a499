/*
 * handlers.h: every XRPC handler, named after its NSID and grouped by the
 * file that defines it.  Each has the xrpc_handler signature (xrpc.h)
 * and one row in the route table (routes.c).
 */
#ifndef PDS_HANDLERS_H
#define PDS_HANDLERS_H

#include "xrpc.h"

/* basic.c */
enum xrpc_status com_atproto_server_describeServer(struct xrpc_req *,
		    struct xrpc_res *);

/* h_identity.c */
enum xrpc_status com_atproto_identity_getRecommendedDidCredentials(
		    struct xrpc_req *, struct xrpc_res *);
enum xrpc_status com_atproto_identity_resolveHandle(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status com_atproto_identity_signPlcOperation(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status com_atproto_identity_submitPlcOperation(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status com_atproto_identity_updateHandle(struct xrpc_req *,
		    struct xrpc_res *);

/* h_server_account.c */
enum xrpc_status com_atproto_server_activateAccount(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status com_atproto_server_checkAccountStatus(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status com_atproto_server_createAccount(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status com_atproto_server_createInviteCode(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status com_atproto_server_createInviteCodes(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status com_atproto_server_deactivateAccount(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status com_atproto_server_deleteAccount(struct xrpc_req *,
		    struct xrpc_res *);

/* h_server_session.c */
enum xrpc_status com_atproto_server_createAppPassword(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status com_atproto_server_createSession(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status com_atproto_server_deleteSession(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status com_atproto_server_getSession(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status com_atproto_server_listAppPasswords(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status com_atproto_server_refreshSession(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status com_atproto_server_revokeAppPassword(struct xrpc_req *,
		    struct xrpc_res *);

/* h_repo.c */
enum xrpc_status com_atproto_repo_applyWrites(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status com_atproto_repo_createRecord(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status com_atproto_repo_deleteRecord(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status com_atproto_repo_describeRepo(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status com_atproto_repo_getRecord(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status com_atproto_repo_importRepo(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status com_atproto_repo_listMissingBlobs(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status com_atproto_repo_listRecords(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status com_atproto_repo_putRecord(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status com_atproto_repo_uploadBlob(struct xrpc_req *,
		    struct xrpc_res *);

/* h_sync.c */
enum xrpc_status com_atproto_sync_getBlob(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status com_atproto_sync_getBlocks(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status com_atproto_sync_getCheckout(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status com_atproto_sync_getHead(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status com_atproto_sync_getLatestCommit(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status com_atproto_sync_getRecord(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status com_atproto_sync_getRepo(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status com_atproto_sync_getRepoStatus(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status com_atproto_sync_listBlobs(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status com_atproto_sync_listRepos(struct xrpc_req *,
		    struct xrpc_res *);

/* h_admin.c */
enum xrpc_status com_atproto_admin_deleteAccount(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status com_atproto_admin_getAccountInfo(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status com_atproto_admin_getAccountInfos(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status com_atproto_admin_getSubjectStatus(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status com_atproto_admin_sendEmail(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status com_atproto_admin_updateAccountEmail(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status com_atproto_admin_updateAccountHandle(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status com_atproto_admin_updateAccountPassword(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status com_atproto_admin_updateSubjectStatus(struct xrpc_req *,
		    struct xrpc_res *);

/* h_server_email.c */
enum xrpc_status com_atproto_identity_requestPlcOperationSignature(
		    struct xrpc_req *, struct xrpc_res *);
enum xrpc_status com_atproto_server_confirmEmail(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status com_atproto_server_requestAccountDelete(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status com_atproto_server_requestEmailConfirmation(
		    struct xrpc_req *, struct xrpc_res *);
enum xrpc_status com_atproto_server_requestEmailUpdate(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status com_atproto_server_requestPasswordReset(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status com_atproto_server_resetPassword(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status com_atproto_server_updateEmail(struct xrpc_req *,
		    struct xrpc_res *);

/* h_server_invite.c */
enum xrpc_status com_atproto_admin_disableAccountInvites(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status com_atproto_admin_disableInviteCodes(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status com_atproto_admin_enableAccountInvites(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status com_atproto_admin_getInviteCodes(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status com_atproto_server_getAccountInviteCodes(struct xrpc_req *,
		    struct xrpc_res *);

#endif /* PDS_HANDLERS_H */
