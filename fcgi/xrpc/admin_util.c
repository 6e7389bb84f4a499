/*
 * admin_util.c: shared pieces of the email, invite and admin handlers
 * (see admin_int.h): the worker's two mailers, random tokens and invite
 * codes (api/com/atproto/server/util.ts), CodeDetail and AccountView
 * JSON (api/com/atproto/admin/util.ts formatAccountInfo), the #account
 * event of an admin change, and lexicon checks of nested input fields.
 */
#include <ctype.h>
#include <string.h>
#include <unistd.h>

#include "admin_int.h"
#include "db.h"
#include "enc.h"
#include "log.h"
#include "password.h"
#include "seqdb.h"
#include "syntax.h"
#include "util.h"
#include "xrpc_int.h"

static enum xrpc_status
internal(struct xrpc_res *res)
{
	return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
}

/* ---- mailers ------------------------------------------------------------ */

static struct mailer	adm_mailers[2];
static pid_t		adm_mailer_pid[2];

struct mailer *
adm_mailer(struct xrpc_req *req, struct xrpc_res *res, int moderation)
{
	const struct pds_config	*cfg = req->srv->cfg;
	struct mailer		*m = &adm_mailers[moderation ? 1 : 0];
	pid_t			*pid = &adm_mailer_pid[moderation ? 1 : 0];
	char			 err[256];
	int			 rc;

	if (*pid == getpid())
		return m;
	/* a fork()ed worker inherits nothing usable: start afresh */
	memset(m, 0, sizeof(*m));
	rc = moderation ? mailer_init(m, cfg->mod_smtp_url, cfg->mod_email,
	    "moderation mailer", err, sizeof(err)) : mailer_init(m,
	    cfg->smtp_url, cfg->email_from, "mailer", err, sizeof(err));
	if (rc == -1) {
		log_error("%s: %s", __func__, err);
		(void)internal(res);
		return NULL;
	}
	*pid = getpid();
	return m;
}

/* ---- tokens and invite codes -------------------------------------------- */

int
adm_random_token(char *out, int upper)
{
	uint8_t	raw[8];
	char	b32[ENC_B32_LEN(8)];
	size_t	i;

	if (util_random(raw, sizeof(raw)) == -1)
		return -1;
	(void)enc_b32_encode(raw, sizeof(raw), b32);
	util_wipe(raw, sizeof(raw));
	memcpy(out, b32, 5);
	out[5] = '-';
	memcpy(out + 6, b32 + 5, 5);
	out[LIM_EMAIL_TOKEN_LEN] = '\0';
	util_wipe(b32, sizeof(b32));
	for (i = 0; upper && i < LIM_EMAIL_TOKEN_LEN; i++)
		out[i] = (char)toupper((unsigned char)out[i]);
	return 0;
}

enum xrpc_status
adm_email_token_new(struct xrpc_req *req, struct xrpc_res *res,
    struct acct_ctx *ctx, const char *did, const char *purpose, char *out)
{
	char	now[UTIL_ISO_LEN];

	(void)req;
	acct_now_iso(now);
	if (adm_random_token(out, 1) == -1 ||
	    accountdb_email_token_set(ctx->account, did, purpose, out, now) ==
	    -1)
		return internal(res);
	return XRPC_OK;
}

const char *
adm_invite_code(struct xrpc_req *req)
{
	char	tok[LIM_EMAIL_TOKEN_LEN + 1], *h, *p;

	if (adm_random_token(tok, 0) == -1 ||
	    (h = arena_strdup(req->a, req->srv->cfg->hostname)) == NULL)
		return NULL;
	for (p = h; *p != '\0'; p++)
		if (*p == '.')
			*p = '-';
	return arena_printf(req->a, "%s-%s", h, tok);
}

/* ---- JSON views --------------------------------------------------------- */

json_t *
adm_code_json(const struct admindb_code *c)
{
	json_t	*j, *uses;
	int64_t	 i;

	if ((uses = json_array()) == NULL)
		return NULL;
	for (i = 0; i < c->nuses && c->uses != NULL; i++)
		if (json_array_append_new(uses, json_pack("{s:s, s:s}",
		    "usedBy", c->uses[i].used_by != NULL ? c->uses[i].used_by :
		    "", "usedAt", c->uses[i].used_at != NULL ?
		    c->uses[i].used_at : "")) == -1) {
			json_decref(uses);
			return NULL;
		}
	/* createAccountInviteCodes() spreads the inserted row, then adds
	 * "available": fresh codes keep "availableUses" in front of it */
	if (c->fresh)
		j = json_pack("{s:s, s:I, s:b, s:s, s:s, s:s, s:I, s:o}", "code",
		    c->code, "availableUses", (json_int_t)c->available,
		    "disabled", c->disabled, "forAccount", c->for_account,
		    "createdBy", c->created_by, "createdAt", c->created_at,
		    "available", (json_int_t)c->available, "uses", uses);
	else
		j = json_pack("{s:s, s:I, s:b, s:s, s:s, s:s, s:o}", "code",
		    c->code, "available", (json_int_t)c->available, "disabled",
		    c->disabled, "forAccount", c->for_account != NULL ?
		    c->for_account : "", "createdBy", c->created_by != NULL ?
		    c->created_by : "", "createdAt", c->created_at != NULL ?
		    c->created_at : "", "uses", uses);
	return j;
}

static int
set_str(json_t *j, const char *k, const char *v)
{
	return v == NULL ? 0 : json_object_set_new(j, k, json_string(v));
}

/* The invites of did as a JSON array. */
static json_t *
adm_codes_json(struct xrpc_req *req, struct acct_ctx *ctx, const char *did)
{
	struct admindb_code	*codes;
	json_t			*arr;
	size_t			 i, n;

	if (admindb_codes_for_account(ctx->account, req->a, did, &codes,
	    &n) == -1 || (arr = json_array()) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (json_array_append_new(arr, adm_code_json(&codes[i])) ==
		    -1) {
			json_decref(arr);
			return NULL;
		}
	return arr;
}

enum xrpc_status
adm_account_info(struct xrpc_req *req, struct xrpc_res *res,
    struct acct_ctx *ctx, const char *did, json_t **out, int *found)
{
	struct accountdb_account a;
	struct admindb_code	 by;
	json_t			*j, *invites;
	int			 rc, has_by;

	*out = NULL;
	*found = 0;
	if ((rc = accountdb_account_get(ctx->account, req->a, did,
	    ACCOUNTDB_TAKENDOWN | ACCOUNTDB_DEACTIVATED, &a)) == -1)
		return internal(res);
	if (rc == 0)
		return XRPC_OK;
	if ((has_by = admindb_invited_by(ctx->account, req->a, a.did, &by)) ==
	    -1 || (invites = adm_codes_json(req, ctx, a.did)) == NULL)
		return internal(res);
	/* formatAccountInfo(), managesOwnInvites (no entryway) */
	j = json_pack("{s:s, s:s}", "did", a.did, "handle", a.handle != NULL ?
	    a.handle : ACCT_INVALID_HANDLE);
	if (j == NULL || set_str(j, "email", a.email) ||
	    set_str(j, "indexedAt", a.created_at) ||
	    set_str(j, "emailConfirmedAt", a.email_confirmed_at) ||
	    (has_by && json_object_set_new(j, "invitedBy",
	    adm_code_json(&by))) ||
	    json_object_set_new(j, "invites", invites) ||
	    json_object_set_new(j, "invitesDisabled",
	    json_boolean(a.invites_disabled == 1)) ||
	    set_str(j, "deactivatedAt", a.deactivated_at)) {
		json_decref(j);
		return internal(res);
	}
	*out = j;
	*found = 1;
	return XRPC_OK;
}

enum xrpc_status
adm_password_update(struct xrpc_res *res, struct acct_ctx *ctx,
    const char *did, const char *pw, size_t len)
{
	char	hash[PASSWORD_STORED_LEN];
	int	rc;

	if (password_hash(pw, len, hash) == -1)
		return internal(res);
	if (db_begin_immediate(ctx->account) == -1) {
		util_wipe(hash, sizeof(hash));
		return internal(res);
	}
	rc = accountdb_password_set(ctx->account, did, hash) == -1 ||
	    accountdb_email_token_delete(ctx->account, did, ADM_PURPOSE_RESET) ==
	    -1 || accountdb_refresh_delete_did(ctx->account, did) == -1;
	util_wipe(hash, sizeof(hash));
	if (rc) {
		(void)db_rollback(ctx->account);
		return internal(res);
	}
	return db_commit(ctx->account) == -1 ? internal(res) : XRPC_OK;
}

enum xrpc_status
adm_sequence_account(struct xrpc_req *req, struct xrpc_res *res,
    struct acct_ctx *ctx, const char *did)
{
	struct accountdb_account a;
	const char		*status;
	struct buf		 b;
	int			 rc, active;

	if ((rc = accountdb_account_get(ctx->account, req->a, did,
	    ACCOUNTDB_TAKENDOWN | ACCOUNTDB_DEACTIVATED, &a)) == -1)
		return internal(res);
	acct_status(rc == 1 ? &a : NULL, &active, &status);
	buf_init(&b, 0);
	rc = acct_evt_account(&b, did, active, status) == -1 ||
	    acct_seq(ctx, did, SEQDB_ACCOUNT, &b, NULL) == -1;
	buf_free(&b);
	return rc ? internal(res) : XRPC_OK;
}

/* ---- nested input fields ------------------------------------------------ */

/* "<path>.<key>" for messages. */
static const char *
field_path(struct xrpc_req *req, const char *path, const char *key)
{
	const char	*p = arena_printf(req->a, "%s.%s", path, key);

	return p != NULL ? p : key;
}

static enum xrpc_status
field_get(struct xrpc_req *req, struct xrpc_res *res, json_t *obj,
    const char *path, const char *key, int required, json_t **out)
{
	(void)req;
	*out = json_is_object(obj) ? json_object_get(obj, key) : NULL;
	if (*out == NULL && required)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Missing required key \"%s\" at %s", key, path);
	return XRPC_OK;
}

enum xrpc_status
adm_obj_bytes(struct xrpc_req *req, struct xrpc_res *res, json_t *obj,
    const char *path, const char *key, int required, const char **out,
    size_t *len)
{
	enum xrpc_status	 st;
	json_t			*v;

	if ((st = field_get(req, res, obj, path, key, required, &v)) !=
	    XRPC_OK || v == NULL)
		return st;
	if (!json_is_string(v))
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Expected string value type (got %s) at %s",
		    acct_preview(req->a, v), field_path(req, path, key));
	*out = json_string_value(v);
	*len = json_string_length(v);
	return XRPC_OK;
}

enum xrpc_status
adm_obj_str(struct xrpc_req *req, struct xrpc_res *res, json_t *obj,
    const char *path, const char *key, int required, const char **out)
{
	enum xrpc_status	 st;
	const char		*s = NULL;
	size_t			 len = 0;

	if ((st = adm_obj_bytes(req, res, obj, path, key, required, &s,
	    &len)) != XRPC_OK || s == NULL)
		return st;
	/* XXX the reference stores the NUL; a C string cannot */
	if (memchr(s, '\0', len) != NULL)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Invalid string (NUL character) at %s",
		    field_path(req, path, key));
	*out = s;
	return XRPC_OK;
}

enum xrpc_status
adm_obj_bool(struct xrpc_req *req, struct xrpc_res *res, json_t *obj,
    const char *path, const char *key, int required, int *out)
{
	enum xrpc_status	 st;
	json_t			*v;

	if ((st = field_get(req, res, obj, path, key, required, &v)) !=
	    XRPC_OK || v == NULL)
		return st;
	if (!json_is_boolean(v))
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Expected boolean value type (got %s) at %s",
		    acct_preview(req->a, v), field_path(req, path, key));
	*out = json_is_true(v);
	return XRPC_OK;
}

enum xrpc_status
adm_obj_format(struct xrpc_req *req, struct xrpc_res *res, json_t *obj,
    const char *path, const char *key, const char *format, int required,
    const char **out)
{
	enum syntax_format	 fmt;
	enum xrpc_status	 st;
	const char		*s = NULL, *desc;
	size_t			 len = 0;

	if ((st = adm_obj_bytes(req, res, obj, path, key, required, &s,
	    &len)) != XRPC_OK || s == NULL)
		return st;
	/* all len bytes: a NUL fails the validator */
	if (syntax_format_find(format, strlen(format), &fmt) == -1 ||
	    syntax_format_validate(fmt, s, len, NULL) == -1) {
		desc = strcmp(format, "did") == 0 ? "DID" :
		    strcmp(format, "at-uri") == 0 ? "AT URI" :
		    strcmp(format, "cid") == 0 ? "CID string" : format;
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Invalid %s (got %s) at %s", desc,
		    acct_preview(req->a, json_object_get(obj, key)),
		    field_path(req, path, key));
	}
	*out = s;
	return XRPC_OK;
}

enum xrpc_status
adm_obj_strings(struct xrpc_req *req, struct xrpc_res *res, json_t *obj,
    const char *path, const char *key, size_t max, json_t **out)
{
	enum xrpc_status	 st;
	json_t			*v, *item;
	size_t			 i;

	*out = NULL;
	if ((st = field_get(req, res, obj, path, key, 0, &v)) != XRPC_OK ||
	    v == NULL)
		return st;
	if (!json_is_array(v))
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Expected array value type (got %s) at %s",
		    acct_preview(req->a, v), field_path(req, path, key));
	if (json_array_size(v) > max)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Array too long (maximum %zu, got %zu) at %s", max,
		    json_array_size(v), field_path(req, path, key));
	json_array_foreach(v, i, item) {
		if (!json_is_string(item))
			return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
			    "Expected string value type (got %s) at %s[%zu]",
			    acct_preview(req->a, item),
			    field_path(req, path, key), i);
		if (json_string_length(item) > LIM_INVITE_CODE_LEN)
			return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
			    "String too long (maximum %d) at %s[%zu]",
			    LIM_INVITE_CODE_LEN, field_path(req, path, key), i);
	}
	*out = v;
	return XRPC_OK;
}
