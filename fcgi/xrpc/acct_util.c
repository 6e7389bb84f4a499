/*
 * acct_util.c: shared pieces of the account, session and identity
 * handlers (see accounts.h): the per-worker context, lexicon-style input
 * field checks (all the bytes of a JSON string, NULs included), handle
 * and email policy, account status, email-token checks, the PLC
 * directory's errors and handle updates, session tokens
 * (account-manager/helpers/auth.ts) and the didDoc of session responses.
 */
#include <ctype.h>
#include <string.h>
#include <unistd.h>

#include "accounts.h"
#include "db.h"
#include "didcache.h"
#include "enc.h"
#include "jwt.h"
#include "log.h"
#include "seqdb.h"
#include "storectx.h"
#include "syntax.h"
#include "util.h"
#include "xrpc_int.h"

/* ---- the per-worker context ------------------------------------------------ */

static struct acct_ctx	acct_state;
static pid_t		acct_pid;	/* 0: not set up in this process */

void
acct_ctx_fini(void)
{
	db_close(acct_state.didcache);
	key_free(acct_state.rotation);
	memset(&acct_state, 0, sizeof(acct_state));
	acct_pid = 0;
}

static int
acct_ctx_init(struct xrpc_server *srv)
{
	const struct pds_config	*cfg = srv->cfg;
	int			 flags = cfg->wal_autockpt_off ? DB_WAL_NOAUTO : 0;

	memset(&acct_state, 0, sizeof(acct_state));
	if (accountdb_migrate(srv->account) == -1 ||
	    (acct_state.store = storectx_get(cfg, srv->account)) == NULL ||
	    didcache_open(cfg->did_cache_db, flags, &acct_state.didcache) == -1)
		goto fail;
	/* Only the hex key is supported (KMS is refused by config.c). */
	if (cfg->plc_rotation_key_hex == NULL ||
	    key_load_hex(KEY_TYPE_K256, cfg->plc_rotation_key_hex,
	    strlen(cfg->plc_rotation_key_hex), &acct_state.rotation) != KEY_OK) {
		log_error("%s: PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX is "
		    "missing or not a secp256k1 key", __func__);
		goto fail;
	}
	key_did(acct_state.rotation, acct_state.rotation_did);
	acct_state.resolver.cfg = cfg;
	acct_state.resolver.cache = acct_state.didcache;
	acct_pid = getpid();
	return 0;
fail:
	acct_ctx_fini();
	return -1;
}

struct acct_ctx *
acct_ctx_get(struct xrpc_req *req, struct xrpc_res *res)
{
	if (req->srv->account == NULL) {
		(void)xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
		return NULL;
	}
	if (acct_pid != getpid() && acct_ctx_init(req->srv) == -1) {
		(void)xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
		return NULL;
	}
	acct_state.account = req->srv->account;
	acct_state.resolver.cfg = req->srv->cfg;
	/* storectx_get() refreshes its borrowed account handle */
	if ((acct_state.store = storectx_get(req->srv->cfg,
	    req->srv->account)) == NULL) {
		(void)xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
		return NULL;
	}
	return &acct_state;
}

/* ---- input fields ------------------------------------------------------------ */

static void
preview_str(struct buf *b, const char *s, size_t len)
{
	char	tmp[LIM_PARAM_PREVIEW * 8];

	xrpc_json_preview(tmp, sizeof(tmp), s, len);
	(void)buf_puts(b, tmp);
}

static void
preview_val(struct buf *b, const json_t *j, int depth)
{
	const char	*k;
	json_t		*v;
	size_t		 i, n;

	switch (json_typeof(j)) {
	case JSON_STRING:
		preview_str(b, json_string_value(j), json_string_length(j));
		break;
	case JSON_INTEGER:
		(void)buf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
		break;
	case JSON_REAL:
		(void)buf_printf(b, "%.17g", json_real_value(j));
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		(void)buf_puts(b, json_is_true(j) ? "true" : "false");
		break;
	case JSON_NULL:
		(void)buf_puts(b, "null");
		break;
	case JSON_ARRAY:
		/* stringifyArray(): the first two items, then ", ..." */
		(void)buf_putc(b, '[');
		n = json_array_size(j);
		for (i = 0; i < n && i < 2; i++) {
			if (i > 0)
				(void)buf_puts(b, ", ");
			if (depth < 4)
				preview_val(b, json_array_get(j, i), depth + 1);
		}
		(void)buf_puts(b, n > 2 ? ", ...]" : "]");
		break;
	case JSON_OBJECT:
		(void)buf_putc(b, '{');
		i = 0;
		json_object_foreach((json_t *)j, k, v) {
			if (i == 2)
				break;
			if (i++ > 0)
				(void)buf_puts(b, ", ");
			preview_str(b, k, strlen(k));
			(void)buf_puts(b, ": ...");
		}
		(void)buf_puts(b, json_object_size(j) > 2 ? ", ...}" : "}");
		break;
	}
}

const char *
acct_preview(struct arena *a, const json_t *j)
{
	struct buf	 b;
	char		*s;

	buf_init(&b, LIM_ERR_MSG);
	preview_val(&b, j, 0);
	s = arena_strndup(a, b.data != NULL ? (const char *)b.data : "",
	    b.len);
	buf_free(&b);
	return s != NULL ? s : "?";
}

/* "$.key" or '$["key"]' as lex-schema writes a property path. */
static const char *
acct_path(struct arena *a, const char *key)
{
	size_t	i;
	int	plain = isalpha((unsigned char)key[0]) || key[0] == '_' ||
		    key[0] == '$';

	for (i = 1; plain && key[i] != '\0'; i++)
		plain = isalnum((unsigned char)key[i]) || key[i] == '_';
	if (plain)
		return arena_printf(a, "$.%s", key);
	return arena_printf(a, "$[\"%s\"]", key);
}

enum xrpc_status
acct_in_object(struct xrpc_req *req, struct xrpc_res *res)
{
	if (json_is_object(req->input))
		return XRPC_OK;
	return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
	    "Expected object value type (got %s) at $",
	    req->input != NULL ? acct_preview(req->a, req->input) :
	    "undefined");
}

/* The field, NULL when absent (XRPC_OK) or on a recorded error. */
static enum xrpc_status
acct_field(struct xrpc_req *req, struct xrpc_res *res, const char *key,
    int required, json_t **out)
{
	enum xrpc_status	st;

	*out = NULL;
	if ((st = acct_in_object(req, res)) != XRPC_OK)
		return st;
	*out = json_object_get(req->input, key);
	if (*out == NULL && required)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Missing required key \"%s\" at $", key);
	return XRPC_OK;
}

static enum xrpc_status
acct_type_fail(struct xrpc_req *req, struct xrpc_res *res, const char *key,
    const char *type, const json_t *v)
{
	return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
	    "Expected %s value type (got %s) at %s", type,
	    acct_preview(req->a, v), acct_path(req->a, key));
}

enum xrpc_status
acct_in_bytes(struct xrpc_req *req, struct xrpc_res *res, const char *key,
    int required, const char **out, size_t *len)
{
	enum xrpc_status	 st;
	json_t			*v;

	if ((st = acct_field(req, res, key, required, &v)) != XRPC_OK ||
	    v == NULL)
		return st;
	if (!json_is_string(v))
		return acct_type_fail(req, res, key, "string", v);
	*out = json_string_value(v);
	*len = json_string_length(v);
	return XRPC_OK;
}

enum xrpc_status
acct_in_str(struct xrpc_req *req, struct xrpc_res *res, const char *key,
    int required, const char **out)
{
	enum xrpc_status	 st;
	const char		*s = NULL;
	size_t			 len = 0;

	if ((st = acct_in_bytes(req, res, key, required, &s, &len)) !=
	    XRPC_OK || s == NULL)
		return st;
	/* XXX the reference stores or mails the NUL; a C string cannot */
	if (memchr(s, '\0', len) != NULL)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Invalid string (NUL character) at %s",
		    acct_path(req->a, key));
	*out = s;
	return XRPC_OK;
}

enum xrpc_status
acct_in_bool(struct xrpc_req *req, struct xrpc_res *res, const char *key,
    int required, int *out)
{
	enum xrpc_status	 st;
	json_t			*v;

	if ((st = acct_field(req, res, key, required, &v)) != XRPC_OK ||
	    v == NULL)
		return st;
	if (!json_is_boolean(v))
		return acct_type_fail(req, res, key, "boolean", v);
	*out = json_is_true(v);
	return XRPC_OK;
}

enum xrpc_status
acct_in_int(struct xrpc_req *req, struct xrpc_res *res, const char *key,
    int required, int64_t min, int64_t max, int64_t *out)
{
	enum xrpc_status	 st;
	json_t			*v;
	json_int_t		 i;

	if ((st = acct_field(req, res, key, required, &v)) != XRPC_OK ||
	    v == NULL)
		return st;
	/* an integral real (3.0) is an integer; the range check keeps the
	 * cast defined */
	if (json_is_real(v) && json_real_value(v) >= -(double)LIM_JSON_SAFE_INT &&
	    json_real_value(v) <= (double)LIM_JSON_SAFE_INT &&
	    json_real_value(v) == (double)(json_int_t)json_real_value(v))
		i = (json_int_t)json_real_value(v);
	else if (json_is_integer(v))
		i = json_integer_value(v);
	else
		return acct_type_fail(req, res, key, "integer", v);
	if (i < min)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "integer too small (minimum %lld, got %lld) at %s",
		    (long long)min, (long long)i, acct_path(req->a, key));
	if (i > max)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "integer too big (maximum %lld, got %lld) at %s",
		    (long long)max, (long long)i, acct_path(req->a, key));
	*out = i;
	return XRPC_OK;
}

enum xrpc_status
acct_in_format(struct xrpc_req *req, struct xrpc_res *res, const char *key,
    const char *format, int required, const char **out)
{
	enum syntax_format	 fmt;
	enum xrpc_status	 st;
	const char		*s = NULL, *desc;
	size_t			 len = 0;

	if ((st = acct_in_bytes(req, res, key, required, &s, &len)) !=
	    XRPC_OK || s == NULL)
		return st;
	/* all len bytes: the validators refuse a NUL, so that *out is a
	 * C string once accepted */
	if (syntax_format_find(format, strlen(format), &fmt) == -1 ||
	    syntax_format_validate(fmt, s, len, NULL) == -1) {
		desc = strcmp(format, "did") == 0 ? "DID" :
		    strcmp(format, "at-identifier") == 0 ? "AT identifier" :
		    format;
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Invalid %s (got %s) at %s", desc,
		    acct_preview(req->a, json_object_get(req->input, key)),
		    acct_path(req->a, key));
	}
	*out = s;
	return XRPC_OK;
}

/* ---- handles and emails ------------------------------------------------------- */

static enum xrpc_status
invalid_handle(struct xrpc_res *res, const char *msg)
{
	return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, "InvalidHandle", "%s",
	    msg);
}

enum xrpc_status
acct_handle_normalize(struct xrpc_res *res, const char *in, char *out)
{
	size_t	len = strlen(in), i, start = 0, n;

	/* @atproto/syntax ensureValidHandle(), message for message */
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)in[i]) && in[i] != '.' &&
		    in[i] != '-')
			return invalid_handle(res, "Disallowed characters in "
			    "handle (ASCII letters, digits, dashes, periods "
			    "only)");
	if (len > LIM_HANDLE_LEN)
		return invalid_handle(res, "Handle is too long (253 chars max)");
	if (memchr(in, '.', len) == NULL)
		return invalid_handle(res, "Handle domain needs at least two "
		    "parts");
	for (i = 0; i <= len; i++) {
		if (i < len && in[i] != '.')
			continue;
		n = i - start;
		if (n < 1)
			return invalid_handle(res, "Handle parts can not be "
			    "empty");
		if (n > LIM_HANDLE_LABEL_LEN)
			return invalid_handle(res, "Handle part too long "
			    "(max 63 chars)");
		if (in[start] == '-' || in[i - 1] == '-')
			return invalid_handle(res, "Handle parts can not start "
			    "or end with hyphens");
		if (i == len && !isalpha((unsigned char)in[start]))
			return invalid_handle(res, "Handle final component "
			    "(TLD) must start with ASCII letter");
		start = i + 1;
	}
	for (i = 0; i <= len; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	return XRPC_OK;
}

int
acct_handle_is_service(const struct pds_config *cfg, const char *handle)
{
	size_t	i, hl = strlen(handle), dl;

	for (i = 0; i < cfg->handle_domains.n; i++) {
		dl = strlen(cfg->handle_domains.v[i]);
		if (hl >= dl && strcmp(handle + hl - dl,
		    cfg->handle_domains.v[i]) == 0)
			return 1;
	}
	return 0;
}

/* ensureHandleServiceConstraints() */
static enum xrpc_status
acct_handle_service(struct xrpc_res *res, const struct pds_config *cfg,
    const char *handle)
{
	size_t	i, hl = strlen(handle), dl = 0, front;

	for (i = 0; i < cfg->handle_domains.n; i++) {
		dl = strlen(cfg->handle_domains.v[i]);
		if (hl >= dl && strcmp(handle + hl - dl,
		    cfg->handle_domains.v[i]) == 0)
			break;
	}
	front = hl - dl;
	if (memchr(handle, '.', front) != NULL)
		return invalid_handle(res, "Invalid characters in handle");
	if (front < LIM_HANDLE_FRONT_MIN)
		return invalid_handle(res, "Handle too short");
	if (front > LIM_HANDLE_FRONT_MAX)
		return invalid_handle(res, "Handle too long");
	if (acct_handle_reserved(handle, front))
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST,
		    "HandleNotAvailable", "Reserved handle");
	return XRPC_OK;
}

enum xrpc_status
acct_handle_check(struct xrpc_req *req, struct xrpc_res *res,
    struct acct_ctx *ctx, const char *in, const char *did, char *out)
{
	const struct pds_config	*cfg = req->srv->cfg;
	enum xrpc_status	 st;
	char			 got[LIM_DID_LEN + 1];
	int			 rc;

	if ((st = acct_handle_normalize(res, in, out)) != XRPC_OK)
		return st;
	if (syntax_handle_tld_validate(out, strlen(out), NULL) == -1)
		return invalid_handle(res, "Handle TLD is invalid or "
		    "disallowed");
	/* XXX the reference also refuses explicit slurs
	 * (handle/explicit-slurs.ts); that word list is not shipped. */
	if (acct_handle_is_service(cfg, out))
		return acct_handle_service(res, cfg, out);
	if (did == NULL)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST,
		    "UnsupportedDomain", "Not a supported handle domain");
	if ((rc = resolve_handle(&ctx->resolver, out, got, sizeof(got))) == -1)
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	if (rc == 0 || strcmp(got, did) != 0)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "External handle did not resolve to DID");
	return XRPC_OK;
}

/* RFC 5322 atext (what @hapi/address accepts unquoted); not NUL, which
 * strchr() would find as the terminator. */
static int
email_atext(unsigned char c)
{
	return isalnum(c) || (c != '\0' &&
	    strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

int
acct_email_valid(const char *e, size_t len)
{
	const char	*at = memchr(e, '@', len);
	size_t		 local, i, start, tl;

	/* XXX @hapi/address also checks the TLD against the IANA list, and
	 * the reference refuses disposable domains; neither list is
	 * shipped: the syntax is checked here. */
	if (at == NULL || len > LIM_EMAIL_LEN || memchr(at + 1, '@',
	    (size_t)(e + len - at - 1)) != NULL)
		return 0;
	local = (size_t)(at - e);
	if (local < 1 || local > 64 || e[0] == '.' || e[local - 1] == '.')
		return 0;
	for (i = 0; i < local; i++)
		if ((e[i] == '.' && e[i + 1] == '.') ||
		    (e[i] != '.' && !email_atext((unsigned char)e[i])))
			return 0;
	/* the domain: a hostname of at least two labels */
	start = local + 1;
	if (start >= len || syntax_handle_validate(e + start, len - start,
	    NULL) == -1)
		return 0;
	for (tl = len; tl > start && e[tl - 1] != '.'; tl--)
		;
	return len - tl >= 2;
}

/* ---- account status ------------------------------------------------------------ */

void
acct_status(const struct accountdb_account *a, int *active,
    const char **status)
{
	*active = 0;
	if (a == NULL)
		*status = "deleted";
	else if (a->takedown_ref != NULL)
		*status = "takendown";
	else if (a->deactivated_at != NULL)
		*status = "deactivated";
	else {
		*active = 1;
		*status = NULL;
	}
}

void
acct_now_iso(char *out)
{
	util_iso_time(util_now_ms(), out);
}

enum xrpc_status
acct_token_check(struct xrpc_res *res, struct acct_ctx *ctx, const char *did,
    const char *purpose, const char *token, size_t len)
{
	enum accountdb_token	t = ACCOUNTDB_TOKEN_INVALID;

	/* stored tokens are short and hold no NUL: these match none */
	if (len <= LIM_TOKEN_INPUT && memchr(token, '\0', len) == NULL &&
	    accountdb_email_token_check(ctx->account, did, purpose, token,
	    util_now_ms(), &t) == -1)
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	if (t == ACCOUNTDB_TOKEN_INVALID)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, "InvalidToken",
		    "Token is invalid");
	if (t == ACCOUNTDB_TOKEN_EXPIRED)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, "ExpiredToken",
		    "Token is expired");
	return XRPC_OK;
}

/* ---- the PLC directory ---------------------------------------------------------- */

enum xrpc_status
acct_plc_fail(struct xrpc_res *res, enum plc_err e, const char *why)
{
	if (e == PLC_ERR_NOMEM)
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	if (e == PLC_ERR_UPSTREAM)
		return xrpc_fail(res, XRPC_ERR_UPSTREAM_FAILURE, NULL, "%s",
		    why);
	return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL, "%s", why);
}

enum xrpc_status
acct_plc_handle(struct xrpc_req *req, struct xrpc_res *res,
    struct acct_ctx *ctx, const char *did, const char *handle)
{
	const char	*url = req->srv->cfg->plc_url;
	struct cbor_val	*last, *op;
	enum plc_err	 e;
	char		 why[256];

	if ((e = plc_last_op(req->a, url, did, LIM_PLC_TIMEOUT_MS, &last, why,
	    sizeof(why))) != PLC_OK)
		return acct_plc_fail(res, e, why);
	if ((e = plc_op_update(req->a, last, handle, &op)) != PLC_OK) {
		if (e == PLC_ERR_TOMBSTONE)
			return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
			    "Cannot apply op to tombstone");
		return acct_plc_fail(res, e, plc_err_str(e));
	}
	if (plc_op_sign(req->a, op, ctx->rotation) != PLC_OK)
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	if ((e = plc_submit(url, did, op, LIM_PLC_TIMEOUT_MS, why,
	    sizeof(why))) != PLC_OK)
		return acct_plc_fail(res, e, why);
	return XRPC_OK;
}

/* ---- tokens ---------------------------------------------------------------------- */

static const char *
acct_sign(struct xrpc_req *req, json_t *hdr, json_t *pl)
{
	const char	*secret = req->srv->cfg->jwt_secret;
	struct jwt_key	 k = { NULL, (const uint8_t *)secret,
	    secret != NULL ? strlen(secret) : 0 };
	struct buf	 b;
	const char	*s = NULL;

	buf_init(&b, LIM_JWT_LEN);
	if (hdr != NULL && pl != NULL && secret != NULL &&
	    jwt_encode(JWT_ALG_HS256, hdr, pl, &k, &b) == JWT_OK)
		s = arena_strndup(req->a, (const char *)b.data, b.len);
	util_wipe(b.data, b.cap);
	buf_free(&b);
	json_decref(hdr);
	json_decref(pl);
	return s;
}

int
acct_tokens_make(struct xrpc_req *req, const char *did, const char *scope,
    const char *jti, struct acct_tokens *out)
{
	const char	*aud = req->srv->cfg->service_did;
	uint8_t		 raw[32];
	char		 id[ENC_B64_LEN(32)];
	int64_t		 iat = util_now_ms() / 1000;

	memset(out, 0, sizeof(*out));
	if (jti == NULL) {
		/* getRefreshTokenId(): 32 random bytes, unpadded base64 */
		if (util_random(raw, sizeof(raw)) == -1)
			return -1;
		(void)enc_b64_encode(ENC_B64_STD, 0, raw, sizeof(raw), id);
		jti = id;
	}
	/* jose SignJWT: claims in the order they are set */
	out->access = acct_sign(req,
	    json_pack("{s:s, s:s}", "typ", "at+jwt", "alg", "HS256"),
	    json_pack("{s:s, s:s, s:s, s:I, s:I}", "scope", scope, "aud", aud,
	    "sub", did, "iat", (json_int_t)iat,
	    "exp", (json_int_t)(iat + LIM_ACCESS_TTL_S)));
	out->refresh = acct_sign(req,
	    json_pack("{s:s, s:s}", "typ", "refresh+jwt", "alg", "HS256"),
	    json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "scope",
	    ACCT_SCOPE_REFRESH, "aud", aud, "sub", did, "jti", jti,
	    "iat", (json_int_t)iat, "exp",
	    (json_int_t)(iat + LIM_REFRESH_TTL_S)));
	out->jti = arena_strdup(req->a, jti);
	out->refresh_exp = iat + LIM_REFRESH_TTL_S;
	util_wipe(raw, sizeof(raw));
	return out->access != NULL && out->refresh != NULL &&
	    out->jti != NULL ? 0 : -1;
}

int
acct_tokens_store(struct acct_ctx *ctx, const char *did,
    const struct acct_tokens *t, const char *app_password)
{
	char	exp[UTIL_ISO_LEN];

	util_iso_time(t->refresh_exp * 1000, exp);
	return accountdb_refresh_insert(ctx->account, t->jti, did, exp,
	    app_password);
}

json_t *
acct_diddoc_for_session(struct xrpc_req *req, struct acct_ctx *ctx,
    const char *did, int force)
{
	struct resolve_atproto	 at;
	json_t			*doc = NULL;

	if (!req->srv->cfg->did_doc_with_session)
		return NULL;
	if (resolve_did(&ctx->resolver, req->a, did, force, &doc, &at) != 1)
		return NULL;	/* safeResolveDidDoc(): failures are logged */
	return doc;
}
