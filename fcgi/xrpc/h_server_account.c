/*
 * h_server_account.c: account lifecycle: com.atproto.server.createAccount,
 * createInviteCode, createInviteCodes, deactivateAccount, activateAccount,
 * checkAccountStatus and deleteAccount.
 *
 * After the reference's api/com/atproto/server/ handlers and AccountManager
 * (../shared/spec/reference-pds.md c, d, g): a did:plc genesis operation
 * signed with the PDS rotation key, the actor store with its genesis
 * commit, the account rows in one transaction, and the #identity,
 * #account, #commit, #sync events in one sequencer transaction.
 * Accounts that bring their own DID (a service JWT from that DID) start
 * deactivated and sequence nothing until activateAccount.
 */
#include <string.h>

#include "accounts.h"
#include "db.h"
#include "enc.h"
#include "handlers.h"
#include "log.h"
#include "password.h"
#include "plc.h"
#include "seqdb.h"
#include "storectx.h"
#include "svcauth.h"
#include "syntax.h"
#include "util.h"
#include "xrpc_int.h"

#define NSID_CREATE_ACCOUNT	"com.atproto.server.createAccount"

static enum xrpc_status
internal(struct xrpc_res *res)
{
	return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
}

/* ---- service auth (userServiceAuthOptional) ------------------------------------ */

/* A Bearer service JWT from the user for lxm (svcauth.h, @atproto/
 * xrpc-server verifyJwt()); no Authorization header leaves *iss NULL. */
static enum xrpc_status
service_auth(struct xrpc_req *req, struct xrpc_res *res, struct acct_ctx *ctx,
    const char *lxm, const char **iss)
{
	const char		*h = xrpc_req_param(req, "HTTP_AUTHORIZATION");
	const char		*tok, *why;
	struct svcauth_params	 p;
	struct svcauth_claims	 c;
	enum svcauth_err	 e;
	enum xrpc_authz		 t;
	size_t			 toklen;

	*iss = NULL;
	if (h == NULL || h[0] == '\0')
		return XRPC_OK;
	if (strlen(h) > LIM_HEADER_LEN || xrpc_authz_parse(h, strlen(h), &t,
	    &tok, &toklen, &why) == -1 || t != XRPC_AUTHZ_BEARER)
		return xrpc_fail(res, XRPC_ERR_AUTH_REQUIRED, "AuthMissing",
		    NULL);
	memset(&p, 0, sizeof(p));
	p.aud = req->srv->cfg->service_did;
	p.lxm = lxm;
	p.key_fn = svcauth_key_resolve;
	p.key_arg = &ctx->resolver;
	if ((e = svcauth_verify(tok, toklen, &p, req->a, &c)) != SVCAUTH_OK) {
		if (e == SVCAUTH_ERR_INTERNAL)
			return internal(res);
		if (e == SVCAUTH_ERR_LXM || e == SVCAUTH_ERR_LXM_MISSING)
			return xrpc_fail(res, XRPC_ERR_AUTH_REQUIRED,
			    svcauth_err_name(e), "%s %s", svcauth_err_msg(e),
			    lxm);
		return xrpc_fail(res, XRPC_ERR_AUTH_REQUIRED,
		    svcauth_err_name(e), "%s", svcauth_err_msg(e));
	}
	*iss = c.iss_did;
	return XRPC_OK;
}

/* ---- createAccount ------------------------------------------------------------ */

/* The strings as acct_in_bytes() read them; email, invite and recovery
 * hold no NUL once create_read() and create_validate() accepted them. */
struct create_in {
	const char	*email, *handle_in, *did, *invite, *password;
	const char	*recovery;
	size_t		 emaillen, invitelen, pwlen, recoverylen;
	char		 handle[LIM_HANDLE_LEN + 1];
};

static enum xrpc_status
create_read(struct xrpc_req *req, struct xrpc_res *res, struct create_in *in)
{
	const char		*s;
	enum xrpc_status	 st;
	size_t			 len;

	memset(in, 0, sizeof(*in));
	if ((st = acct_in_bytes(req, res, "email", 0, &in->email,
	    &in->emaillen)) != XRPC_OK ||
	    (st = acct_in_format(req, res, "handle", "handle", 1,
	    &in->handle_in)) != XRPC_OK ||
	    (st = acct_in_format(req, res, "did", "did", 0, &in->did)) !=
	    XRPC_OK ||
	    (st = acct_in_bytes(req, res, "inviteCode", 0, &in->invite,
	    &in->invitelen)) != XRPC_OK ||
	    /* the phone verification is not offered: ignored */
	    (st = acct_in_bytes(req, res, "verificationCode", 0, &s, &len)) !=
	    XRPC_OK ||
	    (st = acct_in_bytes(req, res, "verificationPhone", 0, &s, &len)) !=
	    XRPC_OK ||
	    (st = acct_in_bytes(req, res, "password", 0, &in->password,
	    &in->pwlen)) != XRPC_OK ||
	    (st = acct_in_bytes(req, res, "recoveryKey", 0, &in->recovery,
	    &in->recoverylen)) != XRPC_OK)
		return st;
	if (json_object_get(req->input, "plcOp") != NULL)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Unsupported input: \"plcOp\"");
	/* no stored code is this long or holds a NUL */
	if (in->invite != NULL && (in->invitelen > LIM_INVITE_CODE_LEN ||
	    memchr(in->invite, '\0', in->invitelen) != NULL))
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST,
		    "InvalidInviteCode", "Provided invite code not available");
	return XRPC_OK;
}

/* validateInputsForLocalPds(), up to the DID. */
static enum xrpc_status
create_validate(struct xrpc_req *req, struct xrpc_res *res,
    struct acct_ctx *ctx, struct create_in *in)
{
	const struct pds_config	*cfg = req->srv->cfg;
	const int		 all = ACCOUNTDB_TAKENDOWN |
				    ACCOUNTDB_DEACTIVATED;
	struct accountdb_account a;
	enum xrpc_status	 st;
	int			 rc;

	if (in->password != NULL &&
	    password_js_length(in->password, in->pwlen) > LIM_PASSWORD_NEW)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Password too long. Maximum length is %d characters.",
		    LIM_PASSWORD_NEW);
	if (cfg->invite_required && in->invite == NULL)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST,
		    "InvalidInviteCode", "No invite code provided");
	if (in->email == NULL)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Email is required");
	if (!acct_email_valid(in->email, in->emaillen))
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "This email address is not supported, please use a "
		    "different email.");
	if ((st = acct_handle_check(req, res, ctx, in->handle_in, in->did,
	    in->handle)) != XRPC_OK)
		return st;
	if (cfg->invite_required &&
	    (rc = accountdb_invite_available(ctx->account, in->invite)) != 1)
		return rc == -1 ? internal(res) : xrpc_fail(res,
		    XRPC_ERR_INVALID_REQUEST, "InvalidInviteCode",
		    "Provided invite code not available");
	if ((rc = accountdb_account_get(ctx->account, req->a, in->handle, all,
	    &a)) != 0)
		return rc == -1 ? internal(res) : xrpc_fail(res,
		    XRPC_ERR_INVALID_REQUEST, NULL, "Handle already taken: %s",
		    in->handle);
	if ((rc = accountdb_account_by_email(ctx->account, req->a, in->email,
	    all, &a)) != 0)
		return rc == -1 ? internal(res) : xrpc_fail(res,
		    XRPC_ERR_INVALID_REQUEST, NULL, "Email already taken: %s",
		    in->email);
	return XRPC_OK;
}

/* formatDidAndPlcOp(): rotation keys [recoveryKey?, PDS_RECOVERY_DID_KEY?,
 * PDS key], the account key as #atproto, at://handle, our endpoint. */
static enum xrpc_status
create_plc_op(struct xrpc_req *req, struct xrpc_res *res,
    struct acct_ctx *ctx, const struct create_in *in, const struct key *sk,
    struct cbor_val **op, char did[PLC_DID_LEN])
{
	const struct pds_config	*cfg = req->srv->cfg;
	const char		*rot[3];
	char			 skdid[KEY_DID_LEN];
	struct plc_genesis	 g;
	size_t			 n = 0;
	enum plc_err		 e;

	/* the PLC directory refuses keys it cannot parse; so do we */
	if (in->recovery != NULL) {
		struct key *k = NULL;

		if (key_parse_did(in->recovery, in->recoverylen, &k) !=
		    KEY_OK)
			return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
			    "Unsupported recovery key: %s", in->recovery);
		key_free(k);
		rot[n++] = in->recovery;
	}
	if (cfg->recovery_did_key != NULL)
		rot[n++] = cfg->recovery_did_key;
	rot[n++] = ctx->rotation_did;
	key_did(sk, skdid);
	g.rotation_keys = rot;
	g.nrotation = n;
	g.signing_key = skdid;
	g.handle = in->handle;
	g.endpoint = cfg->public_url;
	if ((e = plc_op_genesis(req->a, &g, op)) != PLC_OK ||
	    (e = plc_op_sign(req->a, *op, ctx->rotation)) != PLC_OK ||
	    (e = plc_op_did(*op, did)) != PLC_OK)
		return e == PLC_ERR_NOMEM ? internal(res) :
		    xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "invalid plc operation: %s", plc_err_str(e));
	return XRPC_OK;
}

/* The account rows: AccountManager.createAccount() in one transaction. */
static enum xrpc_status
create_rows(struct xrpc_req *req, struct xrpc_res *res, struct acct_ctx *ctx,
    const struct create_in *in, const char *did, int deactivated,
    const struct actorstore_genesis *g, const struct acct_tokens *t)
{
	struct db	*db = ctx->account;
	char		 hash[PASSWORD_STORED_LEN], now[UTIL_ISO_LEN];
	char		 cs[CID_STR_LEN];
	int64_t		 now_ms = util_now_ms();
	int		 rc, with_pw = in->email != NULL && in->password != NULL;

	(void)req;
	if (with_pw && password_hash(in->password, in->pwlen, hash) == -1)
		return internal(res);
	util_iso_time(now_ms, now);
	cid_format(&g->cid, cs);
	if (db_begin_immediate(db) == -1) {
		util_wipe(hash, sizeof(hash));
		return internal(res);
	}
	if (in->invite != NULL &&
	    (rc = accountdb_invite_available(db, in->invite)) != 1) {
		(void)db_rollback(db);
		util_wipe(hash, sizeof(hash));
		return rc == -1 ? internal(res) : xrpc_fail(res,
		    XRPC_ERR_INVALID_REQUEST, "InvalidInviteCode",
		    "Provided invite code not available");
	}
	rc = accountdb_actor_insert(db, did, in->handle, deactivated, now_ms);
	if (rc == 0 && with_pw)
		rc = accountdb_account_insert(db, did, in->email, hash);
	util_wipe(hash, sizeof(hash));
	if (rc == 0 && in->invite != NULL)
		rc = accountdb_invite_use(db, in->invite, did, now) == -1 ? -1 :
		    0;
	if (rc == 0)
		rc = acct_tokens_store(ctx, did, t, NULL) |
		    accountdb_repo_root_set(db, did, cs, g->rev, now);
	if (rc != 0) {
		(void)db_rollback(db);
		/* UserAlreadyExistsError: a concurrent request won the race */
		return rc == 1 ? xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Handle already taken: %s", in->handle) : internal(res);
	}
	return db_commit(db) == -1 ? internal(res) : XRPC_OK;
}

/* #identity, #account, #commit, #sync in one sequencer transaction. */
static int
create_events(struct acct_ctx *ctx, const char *did, const char *handle,
    const struct actorstore_genesis *g)
{
	static const int	 types[4] = { SEQDB_IDENTITY, SEQDB_ACCOUNT,
	    SEQDB_APPEND, SEQDB_SYNC };
	const struct buf	*bodies[4];
	struct buf		 id, acc;
	int			 rc = -1;

	buf_init(&id, 0);
	buf_init(&acc, 0);
	bodies[0] = &id;
	bodies[1] = &acc;
	bodies[2] = &g->commit_evt;
	bodies[3] = &g->sync_evt;
	if (acct_evt_identity(&id, did, handle) == 0 &&
	    acct_evt_account(&acc, did, 1, NULL) == 0)
		rc = acct_seq_many(ctx, did, types, bodies, 4);
	buf_free(&id);
	buf_free(&acc);
	return rc;
}

static json_t *
create_json(const char *handle, const char *did, json_t *doc,
    const struct acct_tokens *t)
{
	json_t	*j = json_pack("{s:s, s:s}", "handle", handle, "did", did);

	if (j != NULL && ((doc != NULL && json_object_set(j, "didDoc", doc)) ||
	    json_object_set_new(j, "accessJwt", json_string(t->access)) ||
	    json_object_set_new(j, "refreshJwt", json_string(t->refresh)))) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

enum xrpc_status
com_atproto_server_createAccount(struct xrpc_req *req, struct xrpc_res *res)
{
	const struct pds_config	*cfg = req->srv->cfg;
	struct resolve_atproto	 at;
	struct actorstore_genesis g;
	struct create_in	 in;
	struct acct_tokens	 t;
	struct acct_ctx		*ctx;
	struct cbor_val		*op = NULL;
	struct key		*sk = NULL;
	enum xrpc_status	 st;
	enum plc_err		 pe;
	const char		*requester, *did;
	char			 plcdid[PLC_DID_LEN], why[256];
	json_t			*doc = NULL;
	int			 deactivated = 0, made = 0, rc;

	actorstore_genesis_init(&g);
	if ((ctx = acct_ctx_get(req, res)) == NULL)
		return XRPC_ERR_INTERNAL;
	if ((st = service_auth(req, res, ctx, NSID_CREATE_ACCOUNT,
	    &requester)) != XRPC_OK ||
	    (st = create_read(req, res, &in)) != XRPC_OK ||
	    (st = create_validate(req, res, ctx, &in)) != XRPC_OK)
		return st;
	if (key_new_k256(&sk) != KEY_OK)
		return internal(res);
	if (in.did != NULL) {
		if (requester == NULL || strcmp(in.did, requester) != 0) {
			st = xrpc_fail(res, XRPC_ERR_AUTH_REQUIRED, NULL,
			    "Missing auth to create account with did: %s",
			    in.did);
			goto out;
		}
		did = in.did;
		deactivated = 1;
	} else {
		if ((st = create_plc_op(req, res, ctx, &in, sk, &op, plcdid)) !=
		    XRPC_OK)
			goto out;
		did = plcdid;
	}
	if ((rc = acct_store_create(ctx, did, sk, &g)) != 0) {
		st = rc == 1 ? xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Account already exists: %s", did) : internal(res);
		goto out;
	}
	made = 1;
	if (op != NULL && (pe = plc_submit(cfg->plc_url, did, op,
	    LIM_PLC_TIMEOUT_MS, why, sizeof(why))) != PLC_OK) {
		log_error("%s: failed to create did:plc for %s: %s", __func__,
		    in.handle, why);
		st = acct_plc_fail(res, pe, why);
		goto out;
	}
	if (resolve_did(&ctx->resolver, req->a, did, 1, &doc, &at) != 1)
		doc = NULL;	/* safeResolveDidDoc(): logged, not fatal */
	if (acct_tokens_make(req, did, ACCT_SCOPE_ACCESS, NULL, &t) == -1) {
		st = internal(res);
		goto out;
	}
	if ((st = create_rows(req, res, ctx, &in, did, deactivated, &g, &t)) !=
	    XRPC_OK)
		goto out;
	made = 0;	/* the account exists now: keep its store */
	if (!deactivated && create_events(ctx, did, in.handle, &g) == -1)
		log_error("%s: %s: could not sequence the new account",
		    __func__, did);
	st = xrpc_reply(res, create_json(in.handle, did, doc, &t));
out:
	if (made && acct_store_destroy(ctx, did) == -1)
		log_error("%s: %s: could not remove the actor store", __func__,
		    did);
	json_decref(doc);
	key_free(sk);
	actorstore_genesis_fini(&g);
	return st;
}

/* ---- invite codes (admin) ------------------------------------------------------- */

/* genInvCode(): <hostname with '.' -> '-'>-xxxxx-xxxxx, lowercase base32. */
static const char *
invite_code(struct xrpc_req *req)
{
	const char	*host = req->srv->cfg->hostname;
	uint8_t		 raw[8];
	char		 b32[ENC_B32_LEN(8)], *h, *p;

	if (util_random(raw, sizeof(raw)) == -1 ||
	    (h = arena_strdup(req->a, host)) == NULL)
		return NULL;
	for (p = h; *p != '\0'; p++)
		if (*p == '.')
			*p = '-';
	(void)enc_b32_encode(raw, sizeof(raw), b32);
	return arena_printf(req->a, "%s-%.5s-%.5s", h, b32, b32 + 5);
}

/* Inserts count codes for account with uses each into arr (strings). */
static enum xrpc_status
invite_make(struct xrpc_req *req, struct xrpc_res *res, struct acct_ctx *ctx,
    const char *account, int64_t count, int64_t uses, json_t *arr)
{
	const char	*code;
	char		 now[UTIL_ISO_LEN];
	int64_t		 i;
	int		 rc;

	acct_now_iso(now);
	for (i = 0; i < count; i++) {
		do {
			if ((code = invite_code(req)) == NULL)
				return internal(res);
			rc = accountdb_invite_insert(ctx->account, code, uses,
			    account, "admin", now);
		} while (rc == 1);	/* a 40-bit collision: draw again */
		if (rc == -1 || json_array_append_new(arr, json_string(code)))
			return internal(res);
	}
	return XRPC_OK;
}

enum xrpc_status
com_atproto_server_createInviteCode(struct xrpc_req *req, struct xrpc_res *res)
{
	struct acct_ctx		*ctx;
	enum xrpc_status	 st;
	const char		*forac = "admin";
	int64_t			 uses = 0;
	json_t			*arr;

	if ((st = acct_in_int(req, res, "useCount", 1, INT64_MIN / 2,
	    LIM_JSON_SAFE_INT, &uses)) != XRPC_OK ||
	    (st = acct_in_format(req, res, "forAccount", "did", 0, &forac)) !=
	    XRPC_OK)
		return st;
	if ((ctx = acct_ctx_get(req, res)) == NULL)
		return XRPC_ERR_INTERNAL;
	if ((arr = json_array()) == NULL)
		return internal(res);
	if ((st = invite_make(req, res, ctx, forac, 1, uses, arr)) != XRPC_OK) {
		json_decref(arr);
		return st;
	}
	st = xrpc_reply(res, json_pack("{s:O}", "code", json_array_get(arr, 0)));
	json_decref(arr);
	return st;
}

enum xrpc_status
com_atproto_server_createInviteCodes(struct xrpc_req *req,
    struct xrpc_res *res)
{
	struct acct_ctx		*ctx;
	enum xrpc_status	 st;
	int64_t			 count = 1, uses = 0;
	json_t			*accts, *out, *arr, *v;
	size_t			 i, n;
	const char		*did;

	if ((st = acct_in_int(req, res, "codeCount", 1, 0, LIM_INVITE_COUNT,
	    &count)) != XRPC_OK ||
	    (st = acct_in_int(req, res, "useCount", 1, INT64_MIN / 2,
	    LIM_JSON_SAFE_INT, &uses)) != XRPC_OK)
		return st;
	accts = json_object_get(req->input, "forAccounts");
	if (accts != NULL && (!json_is_array(accts) ||
	    json_array_size(accts) > LIM_INVITE_COUNT))
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Expected array value type (got %s) at $.forAccounts",
		    acct_preview(req->a, accts));
	n = accts != NULL ? json_array_size(accts) : 0;
	json_array_foreach(accts, i, v) {
		/* all of it: "did:plc:x\u0000y" is not did:plc:x */
		did = json_string_value(v);
		if (did == NULL || syntax_did_validate(did,
		    json_string_length(v), NULL) == -1)
			return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
			    "Invalid DID (got %s) at $.forAccounts[%zu]",
			    acct_preview(req->a, v), i);
	}
	if ((ctx = acct_ctx_get(req, res)) == NULL)
		return XRPC_ERR_INTERNAL;
	if ((out = json_array()) == NULL)
		return internal(res);
	for (i = 0; i < (n > 0 ? n : 1); i++) {
		did = n > 0 ? json_string_value(json_array_get(accts, i)) :
		    "admin";
		if ((arr = json_array()) == NULL ||
		    json_array_append_new(out, json_pack("{s:s, s:o}",
		    "account", did, "codes", arr)) == -1) {
			json_decref(out);
			return internal(res);
		}
		if ((st = invite_make(req, res, ctx, did, count, uses, arr)) !=
		    XRPC_OK) {
			json_decref(out);
			return st;
		}
	}
	return xrpc_reply(res, json_pack("{s:o}", "codes", out));
}

/* ---- activation ------------------------------------------------------------------ */

enum xrpc_status
com_atproto_server_deactivateAccount(struct xrpc_req *req,
    struct xrpc_res *res)
{
	struct acct_ctx		*ctx;
	enum xrpc_status	 st;
	const char		*after = NULL;
	struct buf		 b;
	int			 rc;

	if (req->input != NULL && (st = acct_in_format(req, res, "deleteAfter",
	    "datetime", 0, &after)) != XRPC_OK)
		return st;
	if ((ctx = acct_ctx_get(req, res)) == NULL)
		return XRPC_ERR_INTERNAL;
	if ((rc = accountdb_deactivate(ctx->account, req->auth.did, after,
	    util_now_ms())) == -1)
		return internal(res);
	if (rc == 0)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Account not found");
	buf_init(&b, 0);
	if (acct_evt_account(&b, req->auth.did, 0, "deactivated") == -1 ||
	    acct_seq(ctx, req->auth.did, SEQDB_ACCOUNT, &b, NULL) == -1)
		st = internal(res);
	else
		st = XRPC_OK;
	buf_free(&b);
	return st;
}

/* assertValidDidDocumentForService(): the DID document names this PDS,
 * our rotation key (did:plc) and the account's key. */
static enum xrpc_status
valid_did_doc(struct xrpc_req *req, struct xrpc_res *res,
    struct acct_ctx *ctx, const char *did)
{
	const struct pds_config	*cfg = req->srv->cfg;
	const char		*pds = NULL, *sk = NULL;
	struct resolve_atproto	 at;
	struct cbor_val		*data, *rot, *v;
	enum plc_err		 e;
	char			 why[256], local[KEY_DID_LEN];
	size_t			 i;
	int			 found = 0, rc;

	if (strncmp(did, "did:plc:", 8) == 0) {
		if ((e = plc_doc_data(req->a, cfg->plc_url, did,
		    LIM_PLC_TIMEOUT_MS, &data, why, sizeof(why))) != PLC_OK)
			return acct_plc_fail(res, e, why);
		rot = cbor_map_get(data, "rotationKeys");
		for (i = 0; i < rot->u.a.n; i++)
			found |= rot->u.a.items[i]->u.s.len ==
			    strlen(ctx->rotation_did) &&
			    memcmp(rot->u.a.items[i]->u.s.p, ctx->rotation_did,
			    strlen(ctx->rotation_did)) == 0;
		if (!found)
			return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
			    "Server rotation key not included in PLC DID data");
		v = cbor_map_get(cbor_map_get(cbor_map_get(data, "services"),
		    "atproto_pds"), "endpoint");
		if (v != NULL && v->type == CBOR_TEXT)
			pds = arena_strndup(req->a, (const char *)v->u.s.p,
			    v->u.s.len);
		v = cbor_map_get(cbor_map_get(data, "verificationMethods"),
		    "atproto");
		if (v != NULL && v->type == CBOR_TEXT)
			sk = arena_strndup(req->a, (const char *)v->u.s.p,
			    v->u.s.len);
	} else {
		if ((rc = resolve_did(&ctx->resolver, req->a, did, 1, NULL,
		    &at)) == -1)
			return internal(res);
		if (rc == 0)
			return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
			    "Could not resolve DID");
		pds = at.pds;
		sk = at.signing_key;
	}
	if (pds == NULL || strcmp(pds, cfg->public_url) != 0)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "DID document atproto_pds service endpoint does not match "
		    "PDS public url");
	if ((rc = acct_store_key_did(ctx, did, local)) != 1)
		return internal(res);
	if (sk == NULL || strcmp(sk, local) != 0)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "DID document verification method does not match expected "
		    "signing key");
	return XRPC_OK;
}

/* #account (the current status), #identity, #sync of the head commit. */
static int
activation_events(struct xrpc_req *req, struct acct_ctx *ctx,
    const struct accountdb_account *a)
{
	static const int	 types[3] = { SEQDB_ACCOUNT, SEQDB_IDENTITY,
	    SEQDB_SYNC };
	const struct buf	*bodies[3];
	struct actorstore_root	 root;
	struct buf		 b[3];
	const char		*status;
	uint8_t			*blk;
	size_t			 blen, i;
	int			 rc = -1, active;

	acct_status(a, &active, &status);
	for (i = 0; i < 3; i++) {
		buf_init(&b[i], LIM_COMMIT_EVENT_BYTES);
		bodies[i] = &b[i];
	}
	if (acct_store_head(ctx, req->a, a->did, &root, &blk, &blen) == 1 &&
	    acct_evt_account(&b[0], a->did, active, status) == 0 &&
	    acct_evt_identity(&b[1], a->did, a->handle != NULL ? a->handle :
	    ACCT_INVALID_HANDLE) == 0 &&
	    acct_evt_sync(&b[2], a->did, root.rev, &root.cid, blk, blen) == 0)
		rc = acct_seq_many(ctx, a->did, types, bodies, 3);
	for (i = 0; i < 3; i++)
		buf_free(&b[i]);
	return rc;
}

enum xrpc_status
com_atproto_server_activateAccount(struct xrpc_req *req, struct xrpc_res *res)
{
	struct accountdb_account a;
	struct acct_ctx		*ctx;
	enum xrpc_status	 st;
	int			 rc;

	if ((ctx = acct_ctx_get(req, res)) == NULL)
		return XRPC_ERR_INTERNAL;
	if ((st = valid_did_doc(req, res, ctx, req->auth.did)) != XRPC_OK)
		return st;
	if ((rc = accountdb_activate(ctx->account, req->auth.did)) == -1)
		return internal(res);
	if (rc == 0)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, "AccountNotFound",
		    "user not found");
	if ((rc = accountdb_account_get(ctx->account, req->a, req->auth.did,
	    ACCOUNTDB_TAKENDOWN | ACCOUNTDB_DEACTIVATED, &a)) == -1)
		return internal(res);
	if (rc == 0)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, "AccountNotFound",
		    "user not found");
	if (activation_events(req, ctx, &a) == -1)
		return internal(res);
	return XRPC_OK;
}

enum xrpc_status
com_atproto_server_checkAccountStatus(struct xrpc_req *req,
    struct xrpc_res *res)
{
	struct actorstore_root	 root;
	struct accountdb_account a;
	struct acct_ctx		*ctx;
	struct xrpc_res		 scratch;
	char			 cs[CID_STR_LEN];
	uint8_t			*blk;
	size_t			 blen;
	int64_t			 blocks, records, blobs, expected;
	int			 rc, valid;

	if ((ctx = acct_ctx_get(req, res)) == NULL)
		return XRPC_ERR_INTERNAL;
	if ((rc = acct_store_head(ctx, req->a, req->auth.did, &root, &blk,
	    &blen)) == -1 || acct_store_counts(ctx, req->auth.did, &blocks,
	    &records, &blobs, &expected) == -1)
		return internal(res);
	if (rc == 0)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Repo not found");
	cid_format(&root.cid, cs);
	if ((rc = accountdb_account_get(ctx->account, req->a, req->auth.did,
	    ACCOUNTDB_DEACTIVATED, &a)) == -1)
		return internal(res);
	/* isValidDidDocForService(): any refusal is just "false" */
	memset(&scratch, 0, sizeof(scratch));
	scratch.a = req->a;
	valid = valid_did_doc(req, &scratch, ctx, req->auth.did) == XRPC_OK;
	return xrpc_reply(res, json_pack("{s:b, s:b, s:s, s:s, s:I, s:I, s:i,"
	    " s:I, s:I}", "activated", rc == 1 && a.deactivated_at == NULL,
	    "validDid", valid, "repoCommit", cs, "repoRev", root.rev,
	    "repoBlocks", (json_int_t)blocks, "indexedRecords",
	    (json_int_t)records, "privateStateValues", 0, "expectedBlobs",
	    (json_int_t)expected, "importedBlobs", (json_int_t)blobs));
}

/* ---- deleteAccount ----------------------------------------------------------------- */

enum xrpc_status
com_atproto_server_deleteAccount(struct xrpc_req *req, struct xrpc_res *res)
{
	struct accountdb_account a;
	struct acct_ctx		*ctx;
	enum xrpc_status	 st;
	const char		*did = NULL, *pw = NULL, *token = NULL, *stored;
	size_t			 pwlen = 0, toklen = 0;
	int			 rc;

	if ((st = acct_in_format(req, res, "did", "did", 1, &did)) != XRPC_OK ||
	    (st = acct_in_bytes(req, res, "password", 1, &pw, &pwlen)) !=
	    XRPC_OK ||
	    (st = acct_in_bytes(req, res, "token", 1, &token, &toklen)) !=
	    XRPC_OK)
		return st;
	if ((ctx = acct_ctx_get(req, res)) == NULL)
		return XRPC_ERR_INTERNAL;
	if ((rc = accountdb_account_get(ctx->account, req->a, did,
	    ACCOUNTDB_TAKENDOWN | ACCOUNTDB_DEACTIVATED, &a)) == -1)
		return internal(res);
	if (rc == 0)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "account not found");
	if (password_js_length(pw, pwlen) > LIM_PASSWORD_OLD ||
	    pwlen > LIM_PASSWORD_BYTES)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Invalid password length.");
	if ((rc = accountdb_password_get(ctx->account, req->a, did, &stored)) ==
	    -1 || (rc == 1 && (rc = password_verify(pw, pwlen, stored,
	    strlen(stored))) == -1))
		return internal(res);
	if (rc != 1)
		return xrpc_fail(res, XRPC_ERR_AUTH_REQUIRED, NULL,
		    "Invalid did or password");
	if ((st = acct_token_check(res, ctx, did, "delete_account", token,
	    toklen)) != XRPC_OK)
		return st;
	return acct_delete(ctx, did) == -1 ? internal(res) : XRPC_OK;
}
