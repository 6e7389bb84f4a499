/*
 * h_server_invite.c: invite codes beyond their creation (which is
 * h_server_account.c's): com.atproto.server.getAccountInviteCodes, with
 * the interval minting of PDS_INVITE_INTERVAL / PDS_INVITE_EPOCH, and the
 * moderator methods com.atproto.admin.getInviteCodes, disableInviteCodes,
 * enableAccountInvites and disableAccountInvites.
 *
 * After the reference's api/com/atproto/{server,admin}/ handlers and
 * account-manager/helpers/invite.ts (../shared/spec/reference-pds.md b
 * "Invites", c "invite_code").
 */
#include <ctype.h>
#include <string.h>

#include "admin_int.h"
#include "db.h"
#include "handlers.h"
#include "log.h"
#include "util.h"
#include "xrpc_int.h"

#define ENTRYWAY_INVITES						\
	"Account invites are managed by the entryway service"

static enum xrpc_status
internal(struct xrpc_res *res)
{
	return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
}

/* ---- getAccountInviteCodes ---------------------------------------------- */

/* calculateCodesToCreate(): how many routine codes to mint now and the
 * routine total expected afterwards. */
static void
codes_to_create(const struct admindb_code *codes, size_t n, int64_t created_ms,
    int64_t now_ms, int64_t epoch, int64_t interval, int64_t *to_create,
    int64_t *total)
{
	int64_t	routine = 0, unused = 0, in_epoch = 0, could, at;
	size_t	i;

	for (i = 0; i < n; i++) {
		/* explicitly gifted admin codes do not count */
		if (codes[i].created_by != NULL &&
		    strcmp(codes[i].created_by, "admin") == 0)
			continue;
		routine++;
		if (!codes[i].disabled && codes[i].available > codes[i].nuses)
			unused++;
		if (codes[i].created_at != NULL &&
		    util_iso_parse(codes[i].created_at,
		    strlen(codes[i].created_at), &at) == 0 && at > epoch)
			in_epoch++;
	}
	could = (now_ms - created_ms) / interval;
	if (created_ms < epoch)
		could -= (epoch - created_ms) / interval;
	*to_create = LIM_INVITE_OPEN_MAX - unused < could - in_epoch ?
	    LIM_INVITE_OPEN_MAX - unused : could - in_epoch;
	*total = routine + *to_create;
}

/* Mints the routine codes due to did; appends them to *codes. */
static enum xrpc_status
codes_mint(struct xrpc_req *req, struct xrpc_res *res, struct acct_ctx *ctx,
    const struct accountdb_account *a, struct admindb_code **codes,
    size_t *n)
{
	const struct pds_config	*cfg = req->srv->cfg;
	struct admindb_code	*all;
	const char		**fresh;
	char			 now[UTIL_ISO_LEN];
	int64_t			 created, want, total, i;
	int			 rc;

	if (util_iso_parse(a->created_at, strlen(a->created_at), &created) ==
	    -1)
		return internal(res);
	codes_to_create(*codes, *n, created, util_now_ms(), cfg->invite_epoch,
	    cfg->invite_interval, &want, &total);
	if (want <= 0)
		return XRPC_OK;
	if ((fresh = arena_calloc(req->a, (size_t)want, sizeof(*fresh))) ==
	    NULL || (all = arena_calloc(req->a, *n + (size_t)want,
	    sizeof(*all))) == NULL)
		return internal(res);
	for (i = 0; i < want; i++)
		if ((fresh[i] = adm_invite_code(req)) == NULL)
			return internal(res);
	acct_now_iso(now);
	if ((rc = admindb_codes_mint(ctx->account, a->did, fresh, (size_t)want,
	    a->invites_disabled, total, now)) == -1)
		return internal(res);
	if (rc == 1)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, "DuplicateCreate",
		    "attempted to create additional codes in another request");
	if (*n > 0)
		memcpy(all, *codes, *n * sizeof(*all));
	for (i = 0; i < want; i++) {
		struct admindb_code *c = &all[*n + (size_t)i];

		c->code = fresh[i];
		c->available = 1;
		c->disabled = a->invites_disabled != 0;
		c->for_account = c->created_by = a->did;
		if ((c->created_at = arena_strdup(req->a, now)) == NULL)
			return internal(res);
		c->fresh = 1;
	}
	*codes = all;
	*n += (size_t)want;
	return XRPC_OK;
}

enum xrpc_status
com_atproto_server_getAccountInviteCodes(struct xrpc_req *req,
    struct xrpc_res *res)
{
	const struct pds_config	*cfg = req->srv->cfg;
	struct accountdb_account a;
	struct admindb_code	*codes;
	struct acct_ctx		*ctx;
	enum xrpc_status	 st;
	json_t			*arr;
	size_t			 i, n;
	int			 used = 1, create = 1, rc;

	if ((st = xrpc_param_bool(req, res, "includeUsed", 0, &used)) !=
	    XRPC_OK ||
	    (st = xrpc_param_bool(req, res, "createAvailable", 0, &create)) !=
	    XRPC_OK)
		return st;
	if ((ctx = acct_ctx_get(req, res)) == NULL)
		return XRPC_ERR_INTERNAL;
	if ((rc = accountdb_account_get(ctx->account, req->a, req->auth.did, 0,
	    &a)) == -1 || admindb_codes_for_account(ctx->account, req->a,
	    req->auth.did, &codes, &n) == -1)
		return internal(res);
	if (rc == 0)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, "NotFound",
		    "Account not found");
	if (create && cfg->invite_required && cfg->invite_interval > 0 &&
	    (st = codes_mint(req, res, ctx, &a, &codes, &n)) != XRPC_OK)
		return st;
	if ((arr = json_array()) == NULL)
		return internal(res);
	for (i = 0; i < n; i++) {
		if (codes[i].disabled || (!used && codes[i].nuses >=
		    codes[i].available))
			continue;
		if (json_array_append_new(arr, adm_code_json(&codes[i])) ==
		    -1) {
			json_decref(arr);
			return internal(res);
		}
	}
	return xrpc_reply(res, json_pack("{s:o}", "codes", arr));
}

/* ---- admin.getInviteCodes ----------------------------------------------- */

/* JS parseInt(s, 10): blanks, a sign, then at least one digit; what
 * follows the digits is ignored.  Returns 0 with *out (clamped to
 * +-2^62), or -1 (NaN). */
static int
js_parse_int(const char *s, int64_t *out)
{
	int64_t	v = 0;
	int	neg = 0, digits = 0;

	while (*s == ' ' || (*s >= '\t' && *s <= '\r'))
		s++;
	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	for (; isdigit((unsigned char)*s); s++, digits++)
		if (v < ((int64_t)1 << 62) / 10)
			v = v * 10 + (*s - '0');
	if (digits == 0)
		return -1;
	*out = neg ? -v : v;
	return 0;
}

/* GenericKeyset.unpack() and cursorToLabeledResult(): the cursor
 * "<primary>::<secondary>" into the keyset's values. */
static enum xrpc_status
cursor_unpack(struct xrpc_req *req, struct xrpc_res *res,
    enum admindb_sort sort, const char *cursor, const char **primary,
    const char **code)
{
	const char	*sep;
	char		 iso[UTIL_ISO_LEN];
	int64_t		 v;

	*primary = *code = NULL;
	if (cursor == NULL || cursor[0] == '\0')
		return XRPC_OK;
	if ((sep = strstr(cursor, "::")) == NULL || sep == cursor ||
	    sep[2] == '\0' || strstr(sep + 2, "::") != NULL ||
	    js_parse_int(cursor, &v) == -1)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Malformed cursor");
	if (sort == ADMINDB_SORT_RECENT) {
		/* new Date(ms) within what toISOString() writes as YYYY */
		if (v < 0 || v > 253402300799999LL)
			return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
			    "Malformed cursor");
		util_iso_time(v, iso);
		*primary = arena_strdup(req->a, iso);
	} else
		*primary = arena_printf(req->a, "%lld", (long long)v);
	*code = arena_strdup(req->a, sep + 2);
	return *primary == NULL || *code == NULL ? internal(res) : XRPC_OK;
}

/* packFromResult(): the last row as "<primary>::<code>". */
static const char *
cursor_pack(struct xrpc_req *req, enum admindb_sort sort,
    const struct admindb_code *last)
{
	int64_t	ms;

	if (sort == ADMINDB_SORT_USAGE)
		return arena_printf(req->a, "%lld::%s", (long long)last->nuses,
		    last->code);
	if (last->created_at == NULL || util_iso_parse(last->created_at,
	    strlen(last->created_at), &ms) == -1)
		return arena_printf(req->a, "NaN::%s", last->code);
	return arena_printf(req->a, "%lld::%s", (long long)ms, last->code);
}

enum xrpc_status
com_atproto_admin_getInviteCodes(struct xrpc_req *req, struct xrpc_res *res)
{
	struct admindb_code	*codes;
	struct acct_ctx		*ctx;
	enum admindb_sort	 sort;
	enum xrpc_status	 st;
	const char		*s = "recent", *cursor = NULL, *prim, *code;
	const char		*next = NULL;
	int64_t			 limit = LIM_INVITE_PAGE_DEFAULT;
	json_t			*arr, *out;
	size_t			 i, n;

	if ((st = xrpc_param_str(req, res, "sort", 0, &s)) != XRPC_OK ||
	    (st = xrpc_param_int(req, res, "limit", 0, 1, LIM_INVITE_PAGE_MAX,
	    &limit)) != XRPC_OK ||
	    (st = xrpc_param_str(req, res, "cursor", 0, &cursor)) != XRPC_OK)
		return st;
	if (req->srv->cfg->entryway_url != NULL)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL, "%s",
		    ENTRYWAY_INVITES);
	if (strcmp(s, "recent") == 0)
		sort = ADMINDB_SORT_RECENT;
	else if (strcmp(s, "usage") == 0)
		sort = ADMINDB_SORT_USAGE;
	else
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "unknown sort method: %.*s", LIM_PARAM_PREVIEW, s);
	if ((st = cursor_unpack(req, res, sort, cursor, &prim, &code)) !=
	    XRPC_OK)
		return st;
	if ((ctx = acct_ctx_get(req, res)) == NULL)
		return XRPC_ERR_INTERNAL;
	if (admindb_codes_page(ctx->account, req->a, sort, prim, code, limit,
	    &codes, &n) == -1 || (arr = json_array()) == NULL)
		return internal(res);
	for (i = 0; i < n; i++)
		if (json_array_append_new(arr, adm_code_json(&codes[i])) ==
		    -1) {
			json_decref(arr);
			return internal(res);
		}
	if (n > 0 && (next = cursor_pack(req, sort, &codes[n - 1])) == NULL) {
		json_decref(arr);
		return internal(res);
	}
	if ((out = json_object()) == NULL || (next != NULL &&
	    json_object_set_new(out, "cursor", json_string(next)) == -1) ||
	    json_object_set_new(out, "codes", arr) == -1) {
		json_decref(out);
		return internal(res);
	}
	return xrpc_reply(res, out);
}

/* ---- disabling ---------------------------------------------------------- */

/* 1 when the JSON string v holds a NUL. */
static int
has_nul(const json_t *v)
{
	return memchr(json_string_value(v), '\0', json_string_length(v)) !=
	    NULL;
}

enum xrpc_status
com_atproto_admin_disableInviteCodes(struct xrpc_req *req,
    struct xrpc_res *res)
{
	struct acct_ctx		*ctx;
	enum xrpc_status	 st;
	json_t			*codes, *accounts, *v;
	size_t			 i;
	int			 rc = 0;

	if ((st = acct_in_object(req, res)) != XRPC_OK ||
	    (st = adm_obj_strings(req, res, req->input, "$", "codes",
	    LIM_ADMIN_CODES, &codes)) != XRPC_OK ||
	    (st = adm_obj_strings(req, res, req->input, "$", "accounts",
	    LIM_ADMIN_CODES, &accounts)) != XRPC_OK)
		return st;
	if (req->srv->cfg->entryway_url != NULL)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL, "%s",
		    ENTRYWAY_INVITES);
	json_array_foreach(accounts, i, v)
		if (xrpc_json_str_is(v, "admin"))
			return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
			    "cannot disable admin invite codes");
	if ((ctx = acct_ctx_get(req, res)) == NULL)
		return XRPC_ERR_INTERNAL;
	if (db_begin_immediate(ctx->account) == -1)
		return internal(res);
	/* a value with a NUL matches no stored code or account: skipped */
	json_array_foreach(codes, i, v)
		if (!has_nul(v))
			rc |= admindb_code_disable(ctx->account,
			    json_string_value(v));
	json_array_foreach(accounts, i, v)
		if (!has_nul(v))
			rc |= admindb_account_codes_disable(ctx->account,
			    json_string_value(v));
	if (rc != 0) {
		(void)db_rollback(ctx->account);
		return internal(res);
	}
	return db_commit(ctx->account) == -1 ? internal(res) : XRPC_OK;
}

static enum xrpc_status
account_invites(struct xrpc_req *req, struct xrpc_res *res, int disabled)
{
	struct acct_ctx		*ctx;
	enum xrpc_status	 st;
	const char		*did = NULL, *note = NULL;
	size_t			 len;

	if ((st = acct_in_format(req, res, "account", "did", 1, &did)) !=
	    XRPC_OK ||
	    /* note: checked, not kept (as the reference) */
	    (st = acct_in_bytes(req, res, "note", 0, &note, &len)) != XRPC_OK)
		return st;
	if (req->srv->cfg->entryway_url != NULL)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL, "%s",
		    ENTRYWAY_INVITES);
	if ((ctx = acct_ctx_get(req, res)) == NULL)
		return XRPC_ERR_INTERNAL;
	return admindb_invites_disabled_set(ctx->account, did, disabled) ==
	    -1 ? internal(res) : XRPC_OK;
}

enum xrpc_status
com_atproto_admin_enableAccountInvites(struct xrpc_req *req,
    struct xrpc_res *res)
{
	return account_invites(req, res, 0);
}

enum xrpc_status
com_atproto_admin_disableAccountInvites(struct xrpc_req *req,
    struct xrpc_res *res)
{
	return account_invites(req, res, 1);
}
