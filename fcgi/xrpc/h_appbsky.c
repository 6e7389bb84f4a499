/*
 * h_appbsky.c: the app.bsky methods a PDS answers itself (reference
 * packages/pds/src/api/app/bsky/; ../shared/spec/reference-pds.md f
 * "app.bsky routes the PDS handles itself"; pds-endpoints.tsv):
 *
 *   actor.getPreferences / putPreferences   account_pref of the actor
 *                                           store (app.bsky namespace)
 *   actor.getProfile(s), feed.getTimeline, getAuthorFeed,
 *   getPostThread, getActorLikes            pipethrough() to the app view
 *   feed.getFeed                            the feed generator's DID as
 *                                           the service JWT's aud
 *   notification.registerPush / unregisterPush   a service JWT for the
 *                                           push service, forwarded
 *   ageassurance.*, unspecced.*AgeAssurance* (ours, opt-in with
 *                                           PDS_AGE_ASSURANCE_LOCAL)
 *
 * These are registered only when PDS_BSKY_APP_VIEW_URL is set, as the
 * reference does; without it they fall to the catch-all.  The routes
 * live in a table here (appbsky_route_find), consulted by the catch-all
 * hook (catchall.c) before anything is proxied.
 *
 * Read-after-write (getProfile(s) and the four post-based answers) lives
 * in raw.c.
 */
#include <string.h>
#include <time.h>

#include <stdio.h>

#include "accounts.h"
#include "db.h"
#include "handlers.h"
#include "log.h"
#include "proxy.h"
#include "repo_int.h"
#include "syntax.h"
#include "util.h"
#include "xrpc_int.h"

#define NS_APP_BSKY	"app.bsky"
#define PREF_PERSONAL	"app.bsky.actor.defs#personalDetailsPref"
#define PREF_DECLARED	"app.bsky.actor.defs#declaredAgePref"
#define SCOPE_FULL	"com.atproto.access"
#define JSON_TYPE	"application/json"

/* ==== preferences (actor-store/preference/) ============================== */

/* prefMatchNamespace() of the name (p, len); a $type may hold a NUL,
 * which the comparisons take as any other byte. */
static int
pref_in_ns(const char *p, size_t len)
{
	size_t	n = strlen(NS_APP_BSKY);

	return len >= n && memcmp(p, NS_APP_BSKY, n) == 0 &&
	    (len == n || p[n] == '.');
}

/* The $type of a preference (a string, else NULL) and its length. */
static const char *
pref_type(const json_t *pref, size_t *len)
{
	const json_t	*t = json_object_get(pref, "$type");

	*len = json_string_length(t);
	return json_string_value(t);
}

/* prefAllowed(): personalDetailsPref needs full access. */
static int
pref_allowed(const json_t *pref, int full)
{
	return full || !xrpc_json_str_is(json_object_get(pref, "$type"),
	    PREF_PERSONAL);
}

/* getAgeFromDatestring(): whole years from new Date(birthDate) to today,
 * in the local time zone as the reference computes it; all len bytes of
 * birth (a NUL makes an Invalid Date).  Returns 0 and *age, -1 for an
 * Invalid Date (every comparison is then false). */
static int
pref_age(const char *birth, size_t len, int *age)
{
	struct tm	b, t;
	time_t		bt, now = time(NULL);
	int64_t		ms;

	/* new Date(): an RFC 3339 datetime, or a bare date (UTC midnight) */
	if (syntax_datetime_parse(birth, len, &ms, NULL) == -1) {
		char	full[32];
		int	n = snprintf(full, sizeof(full), "%.10sT00:00:00Z",
			    birth);

		if (len != 10 || n < 0 || (size_t)n >= sizeof(full) ||
		    syntax_datetime_parse(full, (size_t)n, &ms, NULL) == -1)
			return -1;
	}
	bt = (time_t)(ms / 1000 - (ms % 1000 < 0 ? 1 : 0));
	if (localtime_r(&bt, &b) == NULL || localtime_r(&now, &t) == NULL)
		return -1;
	*age = t.tm_year - b.tm_year;
	if (t.tm_mon < b.tm_mon || (t.tm_mon == b.tm_mon &&
	    t.tm_mday < b.tm_mday))
		(*age)--;
	return 0;
}

/* The account's store, or a 500. */
static enum xrpc_status
pref_store(struct xrpc_req *req, struct xrpc_res *res, struct db **db)
{
	struct storectx		*ctx;
	struct actorstore	*s;
	enum xrpc_status	 st;

	if ((st = repo_ctx(req, res, &ctx)) != XRPC_OK ||
	    (st = repo_store(req, res, ctx, req->auth.did, &s)) != XRPC_OK)
		return st;
	*db = actorstore_db(s);
	return XRPC_OK;
}

/* The stored app.bsky preferences in id order (PreferenceReader), with
 * the derived declaredAgePref, filtered by access. */
static enum xrpc_status
pref_read(struct xrpc_req *req, struct xrpc_res *res, struct db *db,
    int full, json_t *out)
{
	sqlite3_stmt	*q;
	json_t		*v, *personal = NULL;
	const char	*name, *birth;
	int		 rc, age;
	size_t		 i;

	if ((q = db_stmt_get(db, "SELECT \"name\", \"valueJson\" FROM "
	    "\"account_pref\" ORDER BY \"id\"")) == NULL)
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	while ((rc = db_step(db, q)) == 1) {
		name = (const char *)sqlite3_column_text(q, 0);
		if (name == NULL || !pref_in_ns(name,
		    (size_t)sqlite3_column_bytes(q, 0)))
			continue;
		v = json_loadb((const char *)sqlite3_column_blob(q, 1),
		    (size_t)sqlite3_column_bytes(q, 1), JSON_ALLOW_NUL |
		    JSON_DECODE_ANY, NULL);
		if (v == NULL || json_array_append_new(out, v) == -1) {
			db_stmt_done(q);
			log_error("%s: %s: unreadable account_pref row",
			    __func__, req->id);
			return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
		}
	}
	db_stmt_done(q);
	if (rc == -1)
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	json_array_foreach(out, i, v) {
		if (xrpc_json_str_is(json_object_get(v, "$type"),
		    PREF_PERSONAL)) {
			personal = v;
			break;
		}
	}
	v = json_object_get(personal, "birthDate");
	if ((birth = json_string_value(v)) != NULL &&
	    json_string_length(v) > 0) {
		int ok = pref_age(birth, json_string_length(v), &age) == 0;

		v = json_pack("{s:s, s:b, s:b, s:b}", "$type", PREF_DECLARED,
		    "isOverAge13", ok && age >= 13, "isOverAge16",
		    ok && age >= 16, "isOverAge18", ok && age >= 18);
		if (v == NULL || json_array_append_new(out, v) == -1)
			return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	}
	for (i = json_array_size(out); i-- > 0;) {
		if (!pref_allowed(json_array_get(out, i), full))
			(void)json_array_remove(out, i);
	}
	return XRPC_OK;
}

/* computeProxyTo() != "<app view DID>#bsky_appview": the call belongs to
 * another app view. */
static int
pref_elsewhere(struct xrpc_req *req)
{
	const struct pds_config	*cfg = req->srv->cfg;
	const char		*h = xrpc_req_param(req, "HTTP_ATPROTO_PROXY");
	size_t			 dl;

	if (h == NULL || h[0] == '\0')
		return 0;
	dl = strlen(cfg->appview_did);
	return !(strncmp(h, cfg->appview_did, dl) == 0 &&
	    strcmp(h + dl, "#bsky_appview") == 0);
}

/* The bare DID of an atproto-proxy value (bareDidFromProxyTo). */
static const char *
proxy_bare_did(struct xrpc_req *req)
{
	const char	*h = xrpc_req_param(req, "HTTP_ATPROTO_PROXY");
	const char	*hash = strchr(h, '#');

	return hash != NULL ? arena_strndup(req->a, h, (size_t)(hash - h)) :
	    h;
}

enum xrpc_status
app_bsky_actor_getPreferences(struct xrpc_req *req, struct xrpc_res *res)
{
	struct db		*db;
	enum xrpc_status	 st;
	json_t			*prefs, *body;
	int			 full;

	if (pref_elsewhere(req))
		return proxy_pipethrough(req, res, req->auth.did,
		    proxy_bare_did(req), req->nsid);
	if ((st = pref_store(req, res, &db)) != XRPC_OK)
		return st;
	full = req->auth.scope != NULL &&
	    strcmp(req->auth.scope, SCOPE_FULL) == 0;
	if ((prefs = json_array()) == NULL)
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	if ((st = pref_read(req, res, db, full, prefs)) != XRPC_OK) {
		json_decref(prefs);
		return st;
	}
	if ((body = json_pack("{s:o}", "preferences", prefs)) == NULL)
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	st = xrpc_res_json(res, 200, body);
	json_decref(body);
	return st;
}

/* The input's preferences: an array of objects with a string $type in
 * the app.bsky namespace, each allowed for the token. */
static enum xrpc_status
pref_input(struct xrpc_req *req, struct xrpc_res *res, int full,
    json_t **out)
{
	json_t		*arr, *v;
	const char	*type;
	struct buf	 denied;
	size_t		 i, len;
	enum xrpc_status st = XRPC_OK;

	if ((st = acct_in_object(req, res)) != XRPC_OK)
		return st;
	if ((arr = json_object_get(req->input, "preferences")) == NULL)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Missing required key \"preferences\" at $");
	if (!json_is_array(arr))
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Expected array value type (got %s) at $.preferences",
		    acct_preview(req->a, arr));
	json_array_foreach(arr, i, v) {
		if (!json_is_object(v))
			return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
			    "Expected object value type (got %s) at "
			    "$.preferences[%zu]", acct_preview(req->a, v), i);
		if (!json_is_string(json_object_get(v, "$type")))
			return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
			    "Preference is missing a $type");
	}
	json_array_foreach(arr, i, v) {
		type = pref_type(v, &len);
		if (!pref_in_ns(type, len))
			return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
			    "Some preferences are not in the app.bsky "
			    "namespace");
	}
	buf_init(&denied, LIM_ERR_MSG);
	json_array_foreach(arr, i, v)
		if (!pref_allowed(v, full) && buf_printf(&denied, "%s%s",
		    denied.len > 0 ? ", " : "", PREF_PERSONAL) == -1)
			break;
	if (denied.len > 0)
		st = xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Do not have authorization to set preferences: %.*s",
		    (int)denied.len, (const char *)denied.data);
	buf_free(&denied);
	*out = arr;
	return st;
}

/* PreferenceTransactor.putPreferences(): in one transaction, delete the
 * namespace's rows the token may touch, insert the new ones (read-only
 * declaredAgePref is never stored). */
static enum xrpc_status
pref_write(struct xrpc_res *res, struct db *db, const json_t *arr, int full)
{
	sqlite3_stmt	*q;
	const json_t	*v;
	const char	*type;
	char		*txt;
	size_t		 i, len;
	int		 bad = 0;

	if (db_begin_immediate(db) == -1)
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	if ((q = db_stmt_get(db, "DELETE FROM \"account_pref\" WHERE "
	    "(\"name\" = 'app.bsky' OR substr(\"name\", 1, 9) = 'app.bsky.') "
	    "AND (?1 OR \"name\" != '" PREF_PERSONAL "')")) == NULL ||
	    sqlite3_bind_int(q, 1, full) != SQLITE_OK || db_step(db, q) == -1)
		bad = 1;
	db_stmt_done(q);
	json_array_foreach(arr, i, v) {
		if (bad)
			break;
		if (xrpc_json_str_is(json_object_get(v, "$type"),
		    PREF_DECLARED))
			continue;
		type = pref_type(v, &len);
		/* JSON.stringify(value) */
		txt = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER |
		    JSON_ENCODE_ANY);
		if (txt == NULL || (q = db_stmt_get(db, "INSERT INTO "
		    "\"account_pref\" (\"name\", \"valueJson\") VALUES "
		    "(?1, ?2)")) == NULL ||
		    sqlite3_bind_text(q, 1, type, (int)len, SQLITE_STATIC) !=
		    SQLITE_OK || sqlite3_bind_text(q, 2, txt, -1,
		    SQLITE_STATIC) != SQLITE_OK || db_step(db, q) == -1)
			bad = 1;
		db_stmt_done(q);
		free(txt);
	}
	if (bad || db_commit(db) == -1) {
		(void)db_rollback(db);
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	}
	return XRPC_OK;
}

enum xrpc_status
app_bsky_actor_putPreferences(struct xrpc_req *req, struct xrpc_res *res)
{
	struct db		*db;
	enum xrpc_status	 st;
	json_t			*arr = NULL;
	int			 full;

	full = req->auth.scope != NULL &&
	    strcmp(req->auth.scope, SCOPE_FULL) == 0;
	if ((st = pref_input(req, res, full, &arr)) != XRPC_OK)
		return st;
	if (pref_elsewhere(req))
		return appbsky_forward_input(req, res, proxy_bare_did(req));
	if ((st = pref_store(req, res, &db)) != XRPC_OK)
		return st;
	return pref_write(res, db, arr, full);
}

/* encodeURIComponent() of s into the arena. */
char *
appbsky_uri_component(struct arena *a, const char *s)
{
	static const char	hex[] = "0123456789ABCDEF";
	size_t			n = strlen(s), i, o = 0;
	char			*out;

	if (n > LIM_URI_LEN || (out = arena_alloc(a, n * 3 + 1)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("-_.!~*'()", c) != NULL)
			out[o++] = (char)c;
		else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return out;
}

/* getFeed: app.bsky.feed.getFeedGenerator on the app view (aud: the app
 * view, lxm: getFeedGenerator), then pipethrough() with aud = the
 * generator's DID and lxm = app.bsky.feed.getFeedSkeleton. */
enum xrpc_status
app_bsky_feed_getFeed(struct xrpc_req *req, struct xrpc_res *res)
{
	static const char	 lxm[] = "app.bsky.feed.getFeedGenerator";
	struct proxy_target	 t;
	struct proxy_call	 c;
	struct buf		 out;
	enum xrpc_status	 st;
	const char		*feed = NULL, *gen;
	char			*enc;
	json_t			*j = NULL;

	if ((st = repo_param_fmt(req, res, "feed", "at-uri", 1, &feed)) !=
	    XRPC_OK || (st = proxy_target_appview(req, res, lxm, &t)) !=
	    XRPC_OK)
		return st;
	if ((enc = appbsky_uri_component(req->a, feed)) == NULL)
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	memset(&c, 0, sizeof(c));
	c.mode = PROXY_BUFFER;
	c.method = "GET";
	c.path = arena_printf(req->a, "/xrpc/%s?feed=%s", lxm, enc);
	c.iss = req->auth.did;
	c.aud = t.did;
	c.lxm = lxm;
	c.accept_encoding = "identity";
	buf_init(&out, LIM_PROXY_BUFFERED);
	c.out = &out;
	if (c.path == NULL)
		st = xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	else
		st = proxy_run(req, res, &t, &c);
	if (st == XRPC_OK)
		j = json_loadb((const char *)out.data, out.len, 0, NULL);
	buf_free(&out);
	if (st != XRPC_OK)
		return st;
	gen = json_string_value(json_object_get(json_object_get(j, "view"),
	    "did"));
	if (gen == NULL || (gen = arena_strdup(req->a, gen)) == NULL) {
		json_decref(j);
		log_warn("%s: %s: getFeedGenerator answer without view.did",
		    __func__, req->id);
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	}
	json_decref(j);
	res->status = 200;
	return proxy_pipethrough(req, res, req->auth.did, gen,
	    "app.bsky.feed.getFeedSkeleton");
}

/* ==== push registration ================================================== */

/* POSTs the (already parsed) JSON input to t with a service JWT for aud
 * and lxm = the NSID; a 2xx answer is an empty 200. */
static enum xrpc_status
forward_json(struct xrpc_req *req, struct xrpc_res *res,
    const struct proxy_target *t, const char *aud, enum proxy_mode mode)
{
	struct proxy_call	 c;
	struct buf		 out;
	enum xrpc_status	 st;
	char			*body;

	if ((body = json_dumps(req->input, JSON_COMPACT |
	    JSON_PRESERVE_ORDER)) == NULL)
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	memset(&c, 0, sizeof(c));
	c.mode = mode;
	c.method = "POST";
	c.path = arena_printf(req->a, "/xrpc/%s", req->nsid);
	c.iss = req->auth.did;
	c.aud = aud;
	c.lxm = req->nsid;
	c.body = body;
	c.bodylen = strlen(body);
	c.body_type = JSON_TYPE;
	if (mode != PROXY_BUFFER) {
		c.accept_encoding = "identity";
		c.client_headers = 1;
	}
	buf_init(&out, LIM_PROXY_BUFFERED);
	c.out = &out;
	if (c.path == NULL)
		st = xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	else
		st = proxy_run(req, res, t, &c);
	buf_free(&out);
	free(body);
	if (st == XRPC_OK && mode == PROXY_BUFFER)
		res->status = 200;	/* the handler returns nothing */
	return st;
}

enum xrpc_status
appbsky_forward_input(struct xrpc_req *req, struct xrpc_res *res,
    const char *aud)
{
	struct proxy_target	t;
	enum xrpc_status	st;

	if ((st = proxy_target_for(req, res, req->nsid, &t)) != XRPC_OK)
		return st;
	/* status and headers as the catch-all copies them: a procedure
	 * without output has no content type to invent */
	return forward_json(req, res, &t, aud, PROXY_STREAM);
}

/* registerPush / unregisterPush: to the app view when serviceDid is the
 * app view's DID, else to the #bsky_notif service of serviceDid. */
static enum xrpc_status
push_forward(struct xrpc_req *req, struct xrpc_res *res)
{
	const struct pds_config	*cfg = req->srv->cfg;
	struct proxy_target	 t;
	enum xrpc_status	 st;
	const char		*svc = NULL, *s = NULL;
	size_t			 len;
	int			 b;

	/* checked, then forwarded as they came (json_dumps keeps NULs) */
	if ((st = acct_in_format(req, res, "serviceDid", "did", 1, &svc)) !=
	    XRPC_OK ||
	    (st = acct_in_bytes(req, res, "token", 1, &s, &len)) != XRPC_OK ||
	    (st = acct_in_bytes(req, res, "platform", 1, &s, &len)) !=
	    XRPC_OK ||
	    (st = acct_in_bytes(req, res, "appId", 1, &s, &len)) != XRPC_OK ||
	    (st = acct_in_bool(req, res, "ageRestricted", 0, &b)) != XRPC_OK)
		return st;
	if (strcmp(svc, cfg->appview_did) == 0)
		st = proxy_target_appview(req, res, req->nsid, &t);
	else
		st = proxy_target_did(req, res, svc, "#bsky_notif",
		    "BskyNotificationService", arena_printf(req->a,
		    "could not resolve did document: %s", svc),
		    arena_printf(req->a, "invalid notification service "
		    "details in did document: %s", svc), &t);
	if (st != XRPC_OK)
		return st;
	return forward_json(req, res, &t, svc, PROXY_BUFFER);
}

enum xrpc_status
app_bsky_notification_registerPush(struct xrpc_req *req, struct xrpc_res *res)
{
	return push_forward(req, res);
}

enum xrpc_status
app_bsky_notification_unregisterPush(struct xrpc_req *req,
    struct xrpc_res *res)
{
	return push_forward(req, res);
}

/* ==== age assurance (ours: PDS_AGE_ASSURANCE_LOCAL) ====================== */

/*
 * What operators answer by hand in nginx/caddy in front of a PDS for
 * app.bsky.unspecced.getAgeAssuranceState ({"lastInitiatedAt": ...,
 * "status": "assured"}), and the same verdict in the newer
 * app.bsky.ageassurance shapes (state assured, access full; no regional
 * rules).  lastInitiatedAt is the account's creation time.
 */
static enum xrpc_status
age_created(struct xrpc_req *req, struct xrpc_res *res, const char **out)
{
	struct accountdb_account	acct;
	enum xrpc_status		st;
	int				found;

	if ((st = repo_account(req, res, req->auth.did, ACCOUNTDB_TAKENDOWN |
	    ACCOUNTDB_DEACTIVATED, &acct, &found)) != XRPC_OK)
		return st;
	if (!found)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST,
		    "AccountNotFound", "Account not found");
	*out = acct.created_at;
	return XRPC_OK;
}

enum xrpc_status
app_bsky_unspecced_getAgeAssuranceState(struct xrpc_req *req,
    struct xrpc_res *res)
{
	const char		*created = NULL;
	enum xrpc_status	 st;

	if ((st = age_created(req, res, &created)) != XRPC_OK)
		return st;
	return xrpc_reply(res, json_pack("{s:s, s:s}", "lastInitiatedAt",
	    created, "status", "assured"));
}

enum xrpc_status
app_bsky_unspecced_initAgeAssurance(struct xrpc_req *req,
    struct xrpc_res *res)
{
	char	now[UTIL_ISO_LEN];

	(void)req;
	util_iso_time(util_now_ms(), now);
	return xrpc_reply(res, json_pack("{s:s, s:s}", "lastInitiatedAt", now,
	    "status", "assured"));
}

enum xrpc_status
app_bsky_ageassurance_getState(struct xrpc_req *req, struct xrpc_res *res)
{
	const char		*created = NULL, *cc = NULL;
	enum xrpc_status	 st;

	if ((st = xrpc_param_str(req, res, "countryCode", 1, &cc)) !=
	    XRPC_OK || (st = age_created(req, res, &created)) != XRPC_OK)
		return st;
	return xrpc_reply(res, json_pack("{s:{s:s, s:s, s:s}, s:{s:s}}",
	    "state", "lastInitiatedAt", created, "status", "assured",
	    "access", "full", "metadata", "accountCreatedAt", created));
}

enum xrpc_status
app_bsky_ageassurance_getConfig(struct xrpc_req *req, struct xrpc_res *res)
{
	(void)req;
	return xrpc_reply(res, json_pack("{s:[]}", "regions"));
}

enum xrpc_status
app_bsky_ageassurance_begin(struct xrpc_req *req, struct xrpc_res *res)
{
	char	now[UTIL_ISO_LEN];

	(void)req;
	util_iso_time(util_now_ms(), now);
	return xrpc_reply(res, json_pack("{s:s, s:s, s:s}", "lastInitiatedAt",
	    now, "status", "assured", "access", "full"));
}

/* ==== the route table ==================================================== */

#define NEED_APPVIEW	0x1	/* registered only with PDS_BSKY_APP_VIEW_URL */
#define NEED_AGE	0x2	/* registered only with PDS_AGE_ASSURANCE_LOCAL */

static const struct {
	struct xrpc_route	r;
	unsigned		need;
} appbsky_routes[] = {
	{ { "app.bsky.actor.getPreferences", XRPC_QUERY, XRPC_AUTH_ACCESS,
	    XRPC_F_TAKENDOWN_OK, XRPC_BODY_NONE, NULL,
	    app_bsky_actor_getPreferences }, NEED_APPVIEW },
	{ { "app.bsky.actor.getProfile", XRPC_QUERY, XRPC_AUTH_ACCESS, 0,
	    XRPC_BODY_NONE, NULL, app_bsky_actor_raw_profile }, NEED_APPVIEW },
	{ { "app.bsky.actor.getProfiles", XRPC_QUERY, XRPC_AUTH_ACCESS, 0,
	    XRPC_BODY_NONE, NULL, app_bsky_actor_raw_profile }, NEED_APPVIEW },
	{ { "app.bsky.actor.putPreferences", XRPC_PROCEDURE, XRPC_AUTH_ACCESS,
	    XRPC_F_CHECK_TAKEDOWN, XRPC_BODY_JSON, JSON_TYPE,
	    app_bsky_actor_putPreferences }, NEED_APPVIEW },
	{ { "app.bsky.ageassurance.begin", XRPC_PROCEDURE, XRPC_AUTH_ACCESS,
	    0, XRPC_BODY_JSON, JSON_TYPE, app_bsky_ageassurance_begin },
	    NEED_AGE },
	{ { "app.bsky.ageassurance.getConfig", XRPC_QUERY, XRPC_AUTH_ACCESS, 0,
	    XRPC_BODY_NONE, NULL, app_bsky_ageassurance_getConfig },
	    NEED_AGE },
	{ { "app.bsky.ageassurance.getState", XRPC_QUERY, XRPC_AUTH_ACCESS, 0,
	    XRPC_BODY_NONE, NULL, app_bsky_ageassurance_getState }, NEED_AGE },
	{ { "app.bsky.feed.getActorLikes", XRPC_QUERY, XRPC_AUTH_ACCESS, 0,
	    XRPC_BODY_NONE, NULL, app_bsky_raw_pipethrough }, NEED_APPVIEW },
	{ { "app.bsky.feed.getAuthorFeed", XRPC_QUERY, XRPC_AUTH_ACCESS, 0,
	    XRPC_BODY_NONE, NULL, app_bsky_raw_pipethrough }, NEED_APPVIEW },
	{ { "app.bsky.feed.getFeed", XRPC_QUERY, XRPC_AUTH_ACCESS, 0,
	    XRPC_BODY_NONE, NULL, app_bsky_feed_getFeed }, NEED_APPVIEW },
	{ { "app.bsky.feed.getPostThread", XRPC_QUERY, XRPC_AUTH_ACCESS, 0,
	    XRPC_BODY_NONE, NULL, app_bsky_raw_pipethrough }, NEED_APPVIEW },
	{ { "app.bsky.feed.getTimeline", XRPC_QUERY, XRPC_AUTH_ACCESS, 0,
	    XRPC_BODY_NONE, NULL, app_bsky_raw_pipethrough }, NEED_APPVIEW },
	{ { "app.bsky.notification.registerPush", XRPC_PROCEDURE,
	    XRPC_AUTH_ACCESS, XRPC_F_SIGNUP_QUEUED_OK, XRPC_BODY_JSON,
	    JSON_TYPE, app_bsky_notification_registerPush }, NEED_APPVIEW },
	{ { "app.bsky.notification.unregisterPush", XRPC_PROCEDURE,
	    XRPC_AUTH_ACCESS, XRPC_F_SIGNUP_QUEUED_OK, XRPC_BODY_JSON,
	    JSON_TYPE, app_bsky_notification_unregisterPush }, NEED_APPVIEW },
	{ { "app.bsky.unspecced.getAgeAssuranceState", XRPC_QUERY,
	    XRPC_AUTH_ACCESS, 0, XRPC_BODY_NONE, NULL,
	    app_bsky_unspecced_getAgeAssuranceState }, NEED_AGE },
	{ { "app.bsky.unspecced.initAgeAssurance", XRPC_PROCEDURE,
	    XRPC_AUTH_ACCESS, 0, XRPC_BODY_JSON, JSON_TYPE,
	    app_bsky_unspecced_initAgeAssurance }, NEED_AGE },
	{ { "com.atproto.server.getServiceAuth", XRPC_QUERY, XRPC_AUTH_ACCESS,
	    XRPC_F_TAKENDOWN_OK, XRPC_BODY_NONE, NULL,
	    com_atproto_server_getServiceAuth }, 0 },
};

const struct xrpc_route *
appbsky_route_find(const struct pds_config *cfg, const char *nsid)
{
	size_t	i;

	for (i = 0; i < sizeof(appbsky_routes) / sizeof(appbsky_routes[0]);
	    i++) {
		if (strcmp(appbsky_routes[i].r.nsid, nsid) != 0)
			continue;
		if ((appbsky_routes[i].need & NEED_APPVIEW) &&
		    (cfg->appview_url == NULL || cfg->appview_did == NULL))
			return NULL;
		if ((appbsky_routes[i].need & NEED_AGE) &&
		    !cfg->age_assurance_local)
			return NULL;
		return &appbsky_routes[i].r;
	}
	return NULL;
}

enum xrpc_status
appbsky_dispatch(struct xrpc_req *req, struct xrpc_res *res,
    const struct xrpc_route *r)
{
	enum xrpc_status	st;

	/* as dispatch.c does for the main table (the catch-all counted
	 * the global rate limit already) */
	if ((st = xrpc_method_check(req, res, r)) != XRPC_OK)
		return st;
	req->route = r;
	if ((st = xrpc_auth_check(req, res, r->auth, r->flags)) != XRPC_OK ||
	    (st = xrpc_input(req, res)) != XRPC_OK)
		return st;
	return r->fn(req, res);
}
