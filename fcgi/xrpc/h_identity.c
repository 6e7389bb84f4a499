/*
 * h_identity.c: com.atproto.identity.resolveHandle, updateHandle,
 * getRecommendedDidCredentials, signPlcOperation and submitPlcOperation.
 *
 * After the reference's api/com/atproto/identity/ handlers and
 * AccountManager.updateHandle (../shared/spec/reference-pds.md g): local
 * handles first, service-domain handles never leave the PDS, others go
 * through the app view (when configured) then DNS and HTTPS; handle
 * changes of a did:plc are PLC update operations signed with the PDS
 * rotation key, each followed by an #identity event.
 * requestPlcOperationSignature (the email) belongs to the email module;
 * signPlcOperation consumes the plc_operation token it stored.
 */
#include <string.h>

#include "accounts.h"
#include "buf.h"
#include "cbor_json.h"
#include "fetch.h"
#include "handlers.h"
#include "log.h"
#include "plc.h"
#include "seqdb.h"
#include "syntax.h"
#include "util.h"
#include "xrpc_int.h"

static enum xrpc_status
internal(struct xrpc_res *res)
{
	return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
}

static int
sequence_identity(struct acct_ctx *ctx, const char *did, const char *handle)
{
	struct buf	b;
	int		rc;

	buf_init(&b, 0);
	rc = acct_evt_identity(&b, did, handle) == -1 ||
	    acct_seq(ctx, did, SEQDB_IDENTITY, &b, NULL) == -1 ? -1 : 0;
	buf_free(&b);
	return rc;
}

/* ---- resolveHandle ------------------------------------------------------------ */

/* tryResolveFromAppView(): any failure is "not found". */
static int
appview_resolve(struct xrpc_req *req, const char *handle, char *did,
    size_t didsz)
{
	const struct pds_config	*cfg = req->srv->cfg;
	struct fetch_req	 r;
	struct buf		 body;
	json_t			*j;
	json_error_t		 je;
	const char		*d;
	char			 err[128];
	long			 status;
	int			 rc = 0;

	if (cfg->appview_url == NULL)
		return 0;
	memset(&r, 0, sizeof(r));
	r.method = "GET";
	r.url = arena_printf(req->a, "%s/xrpc/com.atproto.identity."
	    "resolveHandle?handle=%s", cfg->appview_url, handle);
	r.accept = "application/json";
	r.timeout_ms = cfg->id_resolver_timeout;
	r.max_bytes = LIM_WELLKNOWN_BYTES;
	r.allow_http = cfg->dev_mode;
	if (r.url == NULL)
		return 0;
	buf_init(&body, LIM_WELLKNOWN_BYTES);
	if (fetch_do(&r, &body, &status, err, sizeof(err)) == 0 &&
	    status == 200 && (j = json_loadb((const char *)body.data, body.len,
	    0, &je)) != NULL) {
		d = json_string_value(json_object_get(j, "did"));
		if (d != NULL && strlen(d) < didsz &&
		    syntax_did_validate(d, strlen(d), NULL) == 0) {
			memcpy(did, d, strlen(d) + 1);
			rc = 1;
		}
		json_decref(j);
	}
	buf_free(&body);
	return rc;
}

/* handle.endsWith(host) || handle === host.slice(1) */
static int
service_handle(const struct pds_config *cfg, const char *handle)
{
	size_t	i;

	if (acct_handle_is_service(cfg, handle))
		return 1;
	for (i = 0; i < cfg->handle_domains.n; i++)
		if (strcmp(handle, cfg->handle_domains.v[i] + 1) == 0)
			return 1;
	return 0;
}

enum xrpc_status
com_atproto_identity_resolveHandle(struct xrpc_req *req, struct xrpc_res *res)
{
	struct accountdb_account a;
	struct acct_ctx		*ctx;
	enum xrpc_status	 st;
	const char		*in = NULL;
	char			 handle[LIM_HANDLE_LEN + 1], did[LIM_DID_LEN + 1];
	char			 prev[LIM_PARAM_PREVIEW * 8];
	int			 rc;

	if ((st = xrpc_param_str(req, res, "handle", 1, &in)) != XRPC_OK)
		return st;
	if (syntax_handle_validate(in, strlen(in), NULL) == -1) {
		xrpc_json_preview(prev, sizeof(prev), in, strlen(in));
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Invalid %s params: Invalid handle (got %s)", req->nsid,
		    prev);
	}
	if ((st = acct_handle_normalize(res, in, handle)) != XRPC_OK)
		return st;
	if ((ctx = acct_ctx_get(req, res)) == NULL)
		return XRPC_ERR_INTERNAL;
	if ((rc = accountdb_account_get(ctx->account, req->a, handle, 0,
	    &a)) == -1)
		return internal(res);
	if (rc == 1)
		return xrpc_reply(res, json_pack("{s:s}", "did", a.did));
	/* ours: it would be in the database, so it does not exist */
	if (service_handle(req->srv->cfg, handle))
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Unable to resolve handle");
	if ((rc = appview_resolve(req, handle, did, sizeof(did))) == 0 &&
	    (rc = resolve_handle(&ctx->resolver, handle, did, sizeof(did))) ==
	    -1)
		return internal(res);
	if (rc == 0)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Unable to resolve handle");
	return xrpc_reply(res, json_pack("{s:s}", "did", did));
}

/* ---- updateHandle ------------------------------------------------------------- */

enum xrpc_status
com_atproto_identity_updateHandle(struct xrpc_req *req, struct xrpc_res *res)
{
	const char		*did = req->auth.did, *in = NULL;
	struct accountdb_account a;
	struct resolve_atproto	 at;
	struct acct_ctx		*ctx;
	enum xrpc_status	 st;
	char			 handle[LIM_HANDLE_LEN + 1];
	int			 rc;

	if ((st = acct_in_format(req, res, "handle", "handle", 1, &in)) !=
	    XRPC_OK)
		return st;
	if ((ctx = acct_ctx_get(req, res)) == NULL)
		return XRPC_ERR_INTERNAL;
	if ((st = acct_handle_check(req, res, ctx, in, did, handle)) != XRPC_OK)
		return st;
	if ((rc = accountdb_account_get(ctx->account, req->a, handle,
	    ACCOUNTDB_TAKENDOWN | ACCOUNTDB_DEACTIVATED, &a)) == -1)
		return internal(res);
	if (rc == 1 && strcmp(a.did, did) != 0)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST,
		    "HandleNotAvailable", "Handle already taken: %s", handle);
	if (rc == 0) {
		if (strncmp(did, "did:plc:", 8) == 0) {
			if ((st = acct_plc_handle(req, res, ctx, did, handle)) !=
			    XRPC_OK)
				return st;
		} else {
			if ((rc = resolve_did(&ctx->resolver, req->a, did, 1,
			    NULL, &at)) == -1)
				return internal(res);
			if (rc == 0 || at.handle == NULL ||
			    strcmp(at.handle, handle) != 0)
				return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST,
				    NULL, "DID is not properly configured for "
				    "handle");
		}
		if ((rc = accountdb_handle_update(ctx->account, did, handle)) ==
		    -1)
			return internal(res);
		if (rc == 1)
			return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST,
			    "HandleNotAvailable", "Handle already taken: %s",
			    handle);
	}
	/* re-setting the same handle re-emits the event */
	if (sequence_identity(ctx, did, handle) == -1)
		log_error("%s: %s: failed to sequence handle update", __func__,
		    did);
	return XRPC_OK;
}

/* ---- getRecommendedDidCredentials ---------------------------------------------- */

enum xrpc_status
com_atproto_identity_getRecommendedDidCredentials(struct xrpc_req *req,
    struct xrpc_res *res)
{
	const struct pds_config	*cfg = req->srv->cfg;
	struct accountdb_account a;
	struct acct_ctx		*ctx;
	char			 kd[KEY_DID_LEN];
	json_t			*j, *rot;
	int			 rc, bad = 0;

	if ((ctx = acct_ctx_get(req, res)) == NULL)
		return XRPC_ERR_INTERNAL;
	if ((rc = acct_store_key_did(ctx, req->auth.did, kd)) != 1)
		return rc == 0 ? xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Repo not found") : internal(res);
	if ((rc = accountdb_account_get(ctx->account, req->a, req->auth.did,
	    ACCOUNTDB_DEACTIVATED, &a)) == -1)
		return internal(res);
	if ((j = json_object()) == NULL || (rot = json_array()) == NULL) {
		json_decref(j);
		return internal(res);
	}
	if (rc == 1 && a.handle != NULL)
		bad |= json_object_set_new(j, "alsoKnownAs", json_pack("[s++]",
		    "at://", a.handle, ""));
	bad |= json_object_set_new(j, "verificationMethods",
	    json_pack("{s:s}", "atproto", kd));
	if (cfg->recovery_did_key != NULL)
		bad |= json_array_append_new(rot,
		    json_string(cfg->recovery_did_key));
	bad |= json_array_append_new(rot, json_string(ctx->rotation_did));
	bad |= json_object_set_new(j, "rotationKeys", rot);
	bad |= json_object_set_new(j, "services", json_pack("{s:{s:s, s:s}}",
	    "atproto_pds", "type", "AtprotoPersonalDataServer", "endpoint",
	    cfg->public_url));
	if (bad) {
		json_decref(j);
		return internal(res);
	}
	return xrpc_reply(res, j);
}

/* ---- signPlcOperation, submitPlcOperation ------------------------------------------ */

/* Replaces op's field key by the input's when given (converted to the
 * data model), refusing non-JSON-data values. */
static enum xrpc_status
sign_override(struct xrpc_req *req, struct xrpc_res *res, struct cbor_val *op,
    const char *key)
{
	json_t		*v = json_object_get(req->input, key);
	struct cbor_val	*c;

	if (v == NULL)
		return XRPC_OK;
	if (cbor_from_json(req->a, v, &c) != CJ_OK ||
	    cbor_map_set(req->a, op, key, c) == -1)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Invalid %s", key);
	return XRPC_OK;
}

enum xrpc_status
com_atproto_identity_signPlcOperation(struct xrpc_req *req,
    struct xrpc_res *res)
{
	static const char *const fields[] = { "rotationKeys", "alsoKnownAs",
	    "verificationMethods", "services", NULL };
	const char		*did = req->auth.did, *token = NULL, *why;
	struct cbor_val		*last, *op;
	struct acct_ctx		*ctx;
	enum xrpc_status	 st;
	enum plc_err		 e;
	char			 msg[256];
	size_t			 i, toklen = 0;

	if ((st = acct_in_bytes(req, res, "token", 0, &token, &toklen)) !=
	    XRPC_OK)
		return st;
	if (token == NULL)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "email confirmation token required to sign PLC operations");
	if ((ctx = acct_ctx_get(req, res)) == NULL)
		return XRPC_ERR_INTERNAL;
	if ((st = acct_token_check(res, ctx, did, "plc_operation", token,
	    toklen)) != XRPC_OK)
		return st;
	if (accountdb_email_token_delete(ctx->account, did, "plc_operation") ==
	    -1)
		return internal(res);
	if (strncmp(did, "did:plc:", 8) != 0)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Not a did:plc: %s", did);
	if ((e = plc_last_op(req->a, req->srv->cfg->plc_url, did,
	    LIM_PLC_TIMEOUT_MS, &last, msg, sizeof(msg))) != PLC_OK)
		return acct_plc_fail(res, e, msg);
	if ((e = plc_op_update(req->a, last, NULL, &op)) != PLC_OK)
		return e == PLC_ERR_TOMBSTONE ? xrpc_fail(res,
		    XRPC_ERR_INVALID_REQUEST, NULL, "Did is tombstoned") :
		    internal(res);
	for (i = 0; fields[i] != NULL; i++)
		if ((st = sign_override(req, res, op, fields[i])) != XRPC_OK)
			return st;
	if (plc_op_validate(op, 0, &why) != PLC_OK)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Invalid operation: %s", why);
	if (plc_op_sign(req->a, op, ctx->rotation) != PLC_OK)
		return internal(res);
	return xrpc_reply(res, json_pack("{s:o}", "operation",
	    cbor_to_json(op)));
}

/* The checks of submitPlcOperation.ts on a validated operation. */
static enum xrpc_status
submit_check(struct xrpc_req *req, struct xrpc_res *res, struct acct_ctx *ctx,
    const struct cbor_val *op)
{
	const struct pds_config	*cfg = req->srv->cfg;
	const struct cbor_val	*rot, *pds, *v;
	struct accountdb_account a;
	char			 kd[KEY_DID_LEN], *s;
	size_t			 i;
	int			 found = 0, rc;

	rot = cbor_map_get(op, "rotationKeys");
	for (i = 0; i < rot->u.a.n; i++)
		found |= rot->u.a.items[i]->u.s.len == strlen(ctx->rotation_did) &&
		    memcmp(rot->u.a.items[i]->u.s.p, ctx->rotation_did,
		    rot->u.a.items[i]->u.s.len) == 0;
	if (!found)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Rotation keys do not include server's rotation key");
	pds = cbor_map_get(cbor_map_get(op, "services"), "atproto_pds");
	v = cbor_map_get(pds, "type");
	if (v == NULL || v->u.s.len != 25 || memcmp(v->u.s.p,
	    "AtprotoPersonalDataServer", 25) != 0)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Missing atproto_pds service type");
	v = cbor_map_get(pds, "endpoint");
	if (v->u.s.len != strlen(cfg->public_url) || memcmp(v->u.s.p,
	    cfg->public_url, v->u.s.len) != 0)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Incorrect endpoint on atproto_pds service");
	if ((rc = acct_store_key_did(ctx, req->auth.did, kd)) != 1)
		return internal(res);
	v = cbor_map_get(cbor_map_get(op, "verificationMethods"), "atproto");
	if (v == NULL || v->u.s.len != strlen(kd) || memcmp(v->u.s.p, kd,
	    v->u.s.len) != 0)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Incorrect signing key");
	if ((rc = accountdb_account_get(ctx->account, req->a, req->auth.did,
	    ACCOUNTDB_DEACTIVATED, &a)) == -1)
		return internal(res);
	if (rc == 1 && a.handle != NULL) {
		v = cbor_map_get(op, "alsoKnownAs");
		s = arena_printf(req->a, "at://%s", a.handle);
		if (s == NULL || v->u.a.n == 0 || v->u.a.items[0]->u.s.len !=
		    strlen(s) || memcmp(v->u.a.items[0]->u.s.p, s,
		    strlen(s)) != 0)
			return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
			    "Incorrect handle in alsoKnownAs");
	}
	return XRPC_OK;
}

enum xrpc_status
com_atproto_identity_submitPlcOperation(struct xrpc_req *req,
    struct xrpc_res *res)
{
	struct cbor_val		*op;
	struct acct_ctx		*ctx;
	enum xrpc_status	 st;
	enum plc_err		 e;
	const char		*why, *type;
	json_t			*in;
	char			 msg[256];

	if ((st = acct_in_object(req, res)) != XRPC_OK)
		return st;
	if ((in = json_object_get(req->input, "operation")) == NULL)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Missing required key \"operation\" at $");
	if (cbor_from_json(req->a, in, &op) != CJ_OK ||
	    plc_op_validate(op, 1, &why) != PLC_OK ||
	    (type = plc_op_type(op)) == NULL ||
	    strcmp(type, "plc_operation") != 0)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Invalid operation");
	if ((ctx = acct_ctx_get(req, res)) == NULL)
		return XRPC_ERR_INTERNAL;
	if ((st = submit_check(req, res, ctx, op)) != XRPC_OK)
		return st;
	if ((e = plc_submit(req->srv->cfg->plc_url, req->auth.did, op,
	    LIM_PLC_TIMEOUT_MS, msg, sizeof(msg))) != PLC_OK)
		return acct_plc_fail(res, e, msg);
	if (sequence_identity(ctx, req->auth.did, NULL) == -1)
		return internal(res);
	return XRPC_OK;
}
