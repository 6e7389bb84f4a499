/*
 * h_admin.c: com.atproto.admin.*: getAccountInfo(s), updateAccountHandle,
 * updateAccountEmail, updateAccountPassword, deleteAccount,
 * updateSubjectStatus / getSubjectStatus (takedowns of accounts, records
 * and blobs, account deactivation) and sendEmail.  The invite methods
 * are h_server_invite.c's.
 *
 * After the reference's api/com/atproto/admin/ handlers
 * (../shared/spec/pds-endpoints.tsv; reference-pds.md c, f "Admin auth",
 * h): Basic admin:PDS_ADMIN_PASSWORD everywhere, plus the moderation
 * service's JWT on the "moderator" methods (admin_auth.c).  An account
 * takedown sets actor.takedownRef, revokes the refresh tokens and emits
 * #account; a record takedown sets record.takedownRef; a blob takedown
 * sets blob.takedownRef and moves the file to quarantine/.
 */
#include <string.h>

#include "admin_int.h"
#include "db.h"
#include "handlers.h"
#include "log.h"
#include "password.h"
#include "plc.h"
#include "repo_int.h"
#include "seqdb.h"
#include "syntax.h"
#include "util.h"
#include "xrpc_int.h"

#define T_REPO_REF		"com.atproto.admin.defs#repoRef"
#define T_BLOB_REF		"com.atproto.admin.defs#repoBlobRef"
#define T_STRONG_REF		"com.atproto.repo.strongRef"

static enum xrpc_status
internal(struct xrpc_res *res)
{
	return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
}

/* ---- account views ------------------------------------------------------ */

enum xrpc_status
com_atproto_admin_getAccountInfo(struct xrpc_req *req, struct xrpc_res *res)
{
	struct acct_ctx		*ctx;
	enum xrpc_status	 st;
	const char		*did = NULL;
	json_t			*j;
	int			 found;

	if ((st = repo_param_fmt(req, res, "did", "did", 1, &did)) != XRPC_OK)
		return st;
	if ((ctx = acct_ctx_get(req, res)) == NULL)
		return XRPC_ERR_INTERNAL;
	if ((st = adm_account_info(req, res, ctx, did, &j, &found)) != XRPC_OK)
		return st;
	if (!found)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, "NotFound",
		    "Account not found");
	return xrpc_reply(res, j);
}

enum xrpc_status
com_atproto_admin_getAccountInfos(struct xrpc_req *req, struct xrpc_res *res)
{
	struct acct_ctx		*ctx;
	enum xrpc_status	 st;
	const char		**dids;
	json_t			*infos, *j;
	size_t			 i, n;
	int			 found;

	if ((st = xrpc_param_list(req, res, "dids", 1, &dids, &n)) != XRPC_OK)
		return st;
	if (n > LIM_ADMIN_DIDS)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Invalid %s params: Array too long (maximum %d, got %zu) "
		    "at $.dids", req->nsid, LIM_ADMIN_DIDS, n);
	for (i = 0; i < n; i++)
		if (syntax_did_validate(dids[i], strlen(dids[i]), NULL) == -1)
			return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
			    "Invalid %s params: Invalid did format (got "
			    "\"%.*s\") at $.dids[%zu]", req->nsid,
			    LIM_PARAM_PREVIEW, dids[i], i);
	if ((ctx = acct_ctx_get(req, res)) == NULL)
		return XRPC_ERR_INTERNAL;
	if ((infos = json_array()) == NULL)
		return internal(res);
	for (i = 0; i < n; i++) {
		if ((st = adm_account_info(req, res, ctx, dids[i], &j,
		    &found)) != XRPC_OK) {
			json_decref(infos);
			return st;
		}
		if (found && json_array_append_new(infos, j) == -1) {
			json_decref(infos);
			return internal(res);
		}
	}
	return xrpc_reply(res, json_pack("{s:o}", "infos", infos));
}

/* ---- account changes ---------------------------------------------------- */

/* normalizeAndValidateHandle(allowAnyValid): acct_handle_check() with
 * its last refusal, the reserved names, lifted. */
static enum xrpc_status
handle_any_valid(struct xrpc_req *req, struct xrpc_res *res,
    struct acct_ctx *ctx, const char *in, const char *did, char *out)
{
	enum xrpc_status	st;

	st = acct_handle_check(req, res, ctx, in, did, out);
	if (st == XRPC_ERR_INVALID_REQUEST && res->err_name != NULL &&
	    strcmp(res->err_name, "HandleNotAvailable") == 0) {
		res->err_name = res->err_msg = NULL;
		return XRPC_OK;
	}
	return st;
}

enum xrpc_status
com_atproto_admin_updateAccountHandle(struct xrpc_req *req,
    struct xrpc_res *res)
{
	struct accountdb_account a;
	struct acct_ctx		*ctx;
	enum xrpc_status	 st;
	const char		*did = NULL, *in = NULL;
	char			 handle[LIM_HANDLE_LEN + 1];
	struct buf		 b;
	int			 rc;

	if ((st = acct_in_format(req, res, "did", "did", 1, &did)) != XRPC_OK ||
	    (st = acct_in_format(req, res, "handle", "handle", 1, &in)) !=
	    XRPC_OK)
		return st;
	if ((ctx = acct_ctx_get(req, res)) == NULL)
		return XRPC_ERR_INTERNAL;
	if ((st = handle_any_valid(req, res, ctx, in, did, handle)) != XRPC_OK)
		return st;
	if ((rc = accountdb_account_get(ctx->account, req->a, handle,
	    ACCOUNTDB_TAKENDOWN | ACCOUNTDB_DEACTIVATED, &a)) == -1)
		return internal(res);
	if (rc == 1 && strcmp(a.did, did) != 0)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Handle already taken: %s", handle);
	if (rc == 0) {
		/* did:web documents name their own handle: no PLC op */
		if (strncmp(did, "did:plc:", 8) == 0 &&
		    (st = acct_plc_handle(req, res, ctx, did, handle)) !=
		    XRPC_OK)
			return st;
		if ((rc = accountdb_handle_update(ctx->account, did, handle)) ==
		    -1)
			return internal(res);
		if (rc == 1)
			return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
			    "Handle already taken: %s", handle);
	}
	buf_init(&b, 0);
	if (acct_evt_identity(&b, did, handle) == -1 ||
	    acct_seq(ctx, did, SEQDB_IDENTITY, &b, NULL) == -1)
		log_error("%s: %s: failed to sequence handle update", __func__,
		    did);
	buf_free(&b);
	return XRPC_OK;
}

enum xrpc_status
com_atproto_admin_updateAccountEmail(struct xrpc_req *req,
    struct xrpc_res *res)
{
	struct accountdb_account a;
	struct acct_ctx		*ctx;
	enum xrpc_status	 st;
	const char		*who = NULL, *email = NULL;
	int			 rc;

	if ((st = acct_in_format(req, res, "account", "at-identifier", 1,
	    &who)) != XRPC_OK ||
	    (st = acct_in_str(req, res, "email", 1, &email)) != XRPC_OK)
		return st;
	if (strlen(email) > LIM_EMAIL_LEN)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "This email address is not supported, please use a "
		    "different email.");
	if ((ctx = acct_ctx_get(req, res)) == NULL)
		return XRPC_ERR_INTERNAL;
	if ((rc = accountdb_account_get(ctx->account, req->a, who,
	    ACCOUNTDB_TAKENDOWN | ACCOUNTDB_DEACTIVATED, &a)) == -1)
		return internal(res);
	if (rc == 0)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Account does not exist: %s", who);
	if (db_begin_immediate(ctx->account) == -1)
		return internal(res);
	if ((rc = accountdb_email_set(ctx->account, a.did, email)) != 0 ||
	    accountdb_email_token_delete(ctx->account, a.did, NULL) == -1) {
		(void)db_rollback(ctx->account);
		/* UserAlreadyExistsError is not caught here by the reference:
		 * it answers 500 too */
		if (rc == 1)
			log_warn("%s: %s: email already in use", __func__,
			    a.did);
		return internal(res);
	}
	return db_commit(ctx->account) == -1 ? internal(res) : XRPC_OK;
}

enum xrpc_status
com_atproto_admin_updateAccountPassword(struct xrpc_req *req,
    struct xrpc_res *res)
{
	struct acct_ctx		*ctx;
	enum xrpc_status	 st;
	const char		*did = NULL, *pw = NULL;
	size_t			 pwlen = 0;

	if ((st = acct_in_format(req, res, "did", "did", 1, &did)) != XRPC_OK ||
	    (st = acct_in_bytes(req, res, "password", 1, &pw, &pwlen)) !=
	    XRPC_OK)
		return st;
	if (password_js_length(pw, pwlen) > LIM_PASSWORD_NEW)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Invalid password length.");
	if ((ctx = acct_ctx_get(req, res)) == NULL)
		return XRPC_ERR_INTERNAL;
	return adm_password_update(res, ctx, did, pw, pwlen);
}

enum xrpc_status
com_atproto_admin_deleteAccount(struct xrpc_req *req, struct xrpc_res *res)
{
	struct acct_ctx		*ctx;
	enum xrpc_status	 st;
	const char		*did = NULL;

	if ((st = acct_in_format(req, res, "did", "did", 1, &did)) != XRPC_OK)
		return st;
	if ((ctx = acct_ctx_get(req, res)) == NULL)
		return XRPC_ERR_INTERNAL;
	/* actorStore.destroy(), deleteAccount(), #account deleted, then
	 * every earlier event of the DID */
	return acct_delete(ctx, did) == -1 ? internal(res) : XRPC_OK;
}

/* ---- subject status ----------------------------------------------------- */

/* A StatusAttr input: applied, ref (at most LIM_TAKEDOWN_REF). */
struct status_attr {
	int		 present;
	int		 applied;
	const char	*ref;
};

static enum xrpc_status
status_attr_read(struct xrpc_req *req, struct xrpc_res *res, const char *key,
    struct status_attr *out)
{
	enum xrpc_status	 st;
	const char		*path;
	json_t			*v;

	memset(out, 0, sizeof(*out));
	if ((v = json_object_get(req->input, key)) == NULL)
		return XRPC_OK;
	if ((path = arena_printf(req->a, "$.%s", key)) == NULL)
		return internal(res);
	if (!json_is_object(v))
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Expected object value type (got %s) at %s",
		    acct_preview(req->a, v), path);
	if ((st = adm_obj_bool(req, res, v, path, "applied", 1,
	    &out->applied)) != XRPC_OK ||
	    (st = adm_obj_str(req, res, v, path, "ref", 0, &out->ref)) !=
	    XRPC_OK)
		return st;
	if (out->ref != NULL && strlen(out->ref) > LIM_TAKEDOWN_REF)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "String too long (maximum %d) at %s.ref", LIM_TAKEDOWN_REF,
		    path);
	out->present = 1;
	return XRPC_OK;
}

/* The subject union: its $type (NULL for one we do not know) and the
 * fields of the three we do. */
struct subject {
	const char	*type;
	const char	*did;		/* repoRef, repoBlobRef */
	const char	*uri;		/* strongRef */
	const char	*cid;		/* strongRef, repoBlobRef */
};

static enum xrpc_status
subject_read(struct xrpc_req *req, struct xrpc_res *res, struct subject *s)
{
	enum xrpc_status	 st;
	const char		*t = NULL, *p = "$.subject", *u = NULL;
	json_t			*v, *tv;
	size_t			 tlen;

	memset(s, 0, sizeof(*s));
	if ((st = acct_in_object(req, res)) != XRPC_OK)
		return st;
	if ((v = json_object_get(req->input, "subject")) == NULL)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Missing required key \"subject\" at $");
	if (!json_is_object(v))
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Expected object value type (got %s) at %s",
		    acct_preview(req->a, v), p);
	if ((st = adm_obj_bytes(req, res, v, p, "$type", 1, &t, &tlen)) !=
	    XRPC_OK)
		return st;
	/* all of $type: "...#repoRef\u0000x" is a type we do not know */
	tv = json_object_get(v, "$type");
	if (xrpc_json_str_is(tv, T_REPO_REF)) {
		s->type = T_REPO_REF;
		return adm_obj_format(req, res, v, p, "did", "did", 1, &s->did);
	}
	if (xrpc_json_str_is(tv, T_STRONG_REF) ||
	    xrpc_json_str_is(tv, T_STRONG_REF "#main")) {
		s->type = T_STRONG_REF;
		return (st = adm_obj_format(req, res, v, p, "uri", "at-uri", 1,
		    &s->uri)) != XRPC_OK ? st : adm_obj_format(req, res, v, p,
		    "cid", "cid", 1, &s->cid);
	}
	if (xrpc_json_str_is(tv, T_BLOB_REF)) {
		s->type = T_BLOB_REF;
		if ((st = adm_obj_format(req, res, v, p, "did", "did", 1,
		    &s->did)) != XRPC_OK || (st = adm_obj_format(req, res, v,
		    p, "cid", "cid", 1, &s->cid)) != XRPC_OK)
			return st;
		return adm_obj_format(req, res, v, p, "recordUri", "at-uri", 0,
		    &u);
	}
	return XRPC_OK;		/* an open union: refused by the handler */
}

/* The DID of an at:// URI's authority, when it is one. */
static const char *
uri_did(struct xrpc_req *req, const char *uri)
{
	const char	*h = uri + 5, *end;

	if (strncmp(uri, "at://", 5) != 0)
		return NULL;
	end = h + strcspn(h, "/?#");
	if (syntax_did_validate(h, (size_t)(end - h), NULL) == -1)
		return NULL;
	return arena_strndup(req->a, h, (size_t)(end - h));
}

/* The actor store of did: 'Repo not found' when there is none. */
static enum xrpc_status
store_of(struct xrpc_res *res, struct acct_ctx *ctx, const char *did,
    struct actorstore **out)
{
	int	rc;

	if (did == NULL || (rc = actorstore_get(ctx->store->actors, did,
	    out)) == 0)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, "NotFound",
		    "Repo not found");
	return rc == -1 ? internal(res) : XRPC_OK;
}

static enum xrpc_status
takedown_apply(struct xrpc_req *req, struct xrpc_res *res,
    struct acct_ctx *ctx, const struct subject *s,
    const struct status_attr *td)
{
	struct actorstore	*store;
	enum xrpc_status	 st;
	const char		*ref = NULL, *did;
	char			 now[UTIL_ISO_LEN];
	struct cid		 cid;
	int			 rc;

	if (td->applied) {
		acct_now_iso(now);
		ref = td->ref != NULL ? td->ref : now;
	}
	if (s->type == NULL)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Invalid subject");
	if (strcmp(s->type, T_REPO_REF) == 0)
		return admindb_takedown(ctx->account, s->did, ref) == -1 ?
		    internal(res) : XRPC_OK;
	did = strcmp(s->type, T_STRONG_REF) == 0 ? uri_did(req, s->uri) :
	    s->did;
	if ((st = store_of(res, ctx, did, &store)) != XRPC_OK)
		return st;
	if (strcmp(s->type, T_STRONG_REF) == 0)
		return admindb_record_takedown(actorstore_db(store), s->uri,
		    ref) == -1 ? internal(res) : XRPC_OK;
	if (admindb_blob_takedown(actorstore_db(store), s->cid, ref) == -1 ||
	    cid_parse_str(&cid, s->cid, strlen(s->cid)) != 0)
		return internal(res);
	if (!ctx->store->have_blobs)
		return XRPC_OK;
	/* the file moves; a blob without a file is fine (BlobNotFound) */
	rc = td->applied ? blobstore_quarantine(&ctx->store->blobs, s->did,
	    &cid) : blobstore_unquarantine(&ctx->store->blobs, s->did, &cid);
	return rc == -1 ? internal(res) : XRPC_OK;
}

enum xrpc_status
com_atproto_admin_updateSubjectStatus(struct xrpc_req *req,
    struct xrpc_res *res)
{
	struct status_attr	 td, deact;
	struct subject		 s;
	struct acct_ctx		*ctx;
	enum xrpc_status	 st;
	json_t			*out, *v;
	int			 repo;

	if ((st = subject_read(req, res, &s)) != XRPC_OK ||
	    (st = status_attr_read(req, res, "takedown", &td)) != XRPC_OK ||
	    (st = status_attr_read(req, res, "deactivated", &deact)) !=
	    XRPC_OK)
		return st;
	if ((ctx = acct_ctx_get(req, res)) == NULL)
		return XRPC_ERR_INTERNAL;
	repo = s.type != NULL && strcmp(s.type, T_REPO_REF) == 0;
	if (td.present && (st = takedown_apply(req, res, ctx, &s, &td)) !=
	    XRPC_OK)
		return st;
	if (deact.present && repo && (deact.applied ?
	    accountdb_deactivate(ctx->account, s.did, NULL, util_now_ms()) :
	    admindb_activate(ctx->account, s.did)) == -1)
		return internal(res);
	if (repo && (st = adm_sequence_account(req, res, ctx, s.did)) !=
	    XRPC_OK)
		return st;
	if ((out = json_object()) == NULL ||
	    json_object_set(out, "subject", json_object_get(req->input,
	    "subject")) == -1 || ((v = json_object_get(req->input,
	    "takedown")) != NULL &&
	    json_object_set(out, "takedown", v) == -1)) {
		json_decref(out);
		return internal(res);
	}
	return xrpc_reply(res, out);
}

/* {applied, ref?} */
static json_t *
status_json(const char *ref)
{
	json_t	*j = json_pack("{s:b}", "applied", ref != NULL);

	if (j != NULL && ref != NULL && json_object_set_new(j, "ref",
	    json_string(ref)) == -1) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static enum xrpc_status
subject_status_store(struct xrpc_req *req, struct xrpc_res *res,
    struct acct_ctx *ctx, const char *did, const char *uri, const char *blob,
    json_t **out)
{
	struct actorstore	*store;
	enum xrpc_status	 st;
	const char		*ref, *cid = NULL;
	int			 rc;

	*out = NULL;
	if ((st = store_of(res, ctx, uri != NULL ? uri_did(req, uri) : did,
	    &store)) != XRPC_OK)
		return st;
	if (blob != NULL)
		rc = admindb_blob_status(actorstore_db(store), req->a, blob,
		    &ref);
	else
		rc = admindb_record_status(actorstore_db(store), req->a, uri,
		    &cid, &ref);
	if (rc == -1)
		return internal(res);
	if (rc == 0 || (blob == NULL && cid == NULL))
		return XRPC_OK;		/* "Subject not found" */
	if (blob != NULL)
		*out = json_pack("{s:{s:s, s:s, s:s}, s:o}", "subject", "$type",
		    T_BLOB_REF, "did", did, "cid", blob, "takedown",
		    status_json(ref));
	else
		*out = json_pack("{s:{s:s, s:s, s:s}, s:o}", "subject", "$type",
		    T_STRONG_REF, "uri", uri, "cid", cid, "takedown",
		    status_json(ref));
	return *out == NULL ? internal(res) : XRPC_OK;
}

enum xrpc_status
com_atproto_admin_getSubjectStatus(struct xrpc_req *req, struct xrpc_res *res)
{
	struct acct_ctx		*ctx;
	enum xrpc_status	 st;
	const char		*did = NULL, *uri = NULL, *blob = NULL, *ref;
	json_t			*out = NULL;
	int			 rc, deact;

	if ((st = repo_param_fmt(req, res, "did", "did", 0, &did)) != XRPC_OK ||
	    (st = repo_param_fmt(req, res, "uri", "at-uri", 0, &uri)) !=
	    XRPC_OK ||
	    (st = repo_param_fmt(req, res, "blob", "cid", 0, &blob)) != XRPC_OK)
		return st;
	if (blob != NULL && did == NULL)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Must provide a did to request blob state");
	if (blob == NULL && uri == NULL && did == NULL)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "No provided subject");
	if ((ctx = acct_ctx_get(req, res)) == NULL)
		return XRPC_ERR_INTERNAL;
	if (blob != NULL || uri != NULL) {
		if ((st = subject_status_store(req, res, ctx, did,
		    blob != NULL ? NULL : uri, blob, &out)) != XRPC_OK)
			return st;
	} else {
		if ((rc = admindb_admin_status(ctx->account, req->a, did, &ref,
		    &deact)) == -1)
			return internal(res);
		if (rc == 1 && (out = json_pack("{s:{s:s, s:s}, s:o, s:{s:b}}",
		    "subject", "$type", T_REPO_REF, "did", did, "takedown",
		    status_json(ref), "deactivated", "applied", deact)) == NULL)
			return internal(res);
	}
	if (out == NULL)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, "NotFound",
		    "Subject not found");
	return xrpc_reply(res, out);
}

/* ---- sendEmail ---------------------------------------------------------- */

enum xrpc_status
com_atproto_admin_sendEmail(struct xrpc_req *req, struct xrpc_res *res)
{
	struct accountdb_account a;
	struct mailer_msg	 msg;
	struct acct_ctx		*ctx;
	struct mailer		*m;
	enum xrpc_status	 st;
	const char		*to = NULL, *content = NULL, *sender = NULL;
	const char		*subject = "Message via your PDS", *comment;
	char			 err[512];
	size_t			 clen;
	int			 rc;

	if ((st = acct_in_format(req, res, "recipientDid", "did", 1, &to)) !=
	    XRPC_OK ||
	    (st = acct_in_str(req, res, "content", 1, &content)) != XRPC_OK ||
	    (st = acct_in_str(req, res, "subject", 0, &subject)) != XRPC_OK ||
	    (st = acct_in_format(req, res, "senderDid", "did", 1, &sender)) !=
	    XRPC_OK ||
	    /* comment: for the moderation service, ignored here */
	    (st = acct_in_bytes(req, res, "comment", 0, &comment, &clen)) !=
	    XRPC_OK)
		return st;
	if (strlen(content) > LIM_MOD_CONTENT ||
	    strlen(subject) > LIM_MAIL_SUBJECT)
		return xrpc_fail(res, XRPC_ERR_PAYLOAD_TOO_LARGE, NULL,
		    "email content or subject too long");
	if ((ctx = acct_ctx_get(req, res)) == NULL)
		return XRPC_ERR_INTERNAL;
	if ((rc = accountdb_account_get(ctx->account, req->a, to,
	    ACCOUNTDB_TAKENDOWN | ACCOUNTDB_DEACTIVATED, &a)) == -1)
		return internal(res);
	if (rc == 0)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Recipient not found");
	if (a.email == NULL)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "account does not have an email address");
	if (strpbrk(subject, "\r\n") != NULL)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Invalid subject (line break)");
	if ((m = adm_mailer(req, res, 1)) == NULL)
		return XRPC_ERR_INTERNAL;
	memset(&msg, 0, sizeof(msg));
	msg.to = a.email;
	msg.subject = subject;
	msg.text = content;
	if (mailer_send(m, &msg, err, sizeof(err)) == -1) {
		log_error("%s: %s: moderation email to %s failed: %s", __func__,
		    req->id, a.did, err);
		return internal(res);
	}
	return xrpc_reply(res, json_pack("{s:b}", "sent", 1));
}
