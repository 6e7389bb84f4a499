/*
 * h_sync.c: com.atproto.sync.* reads (reference packages/pds/src/api/
 * com/atproto/sync/; ../shared/spec/pds-endpoints.tsv; reference-pds.md
 * e "CAR files"): getRepo (and getCheckout), getLatestCommit, getHead,
 * getRecord, getBlocks, getRepoStatus, listRepos, listBlobs, getBlob.
 *
 * CARs are streamed block by block (xrpc_res_begin/xrpc_res_write):
 * a whole repository never sits in memory.  Blobs are sent by the web
 * server (X-Accel-Redirect / X-Sendfile, PDS_BLOB_SENDFILE) or streamed
 * from the file here.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "accounts.h"
#include "actorread.h"
#include "blobstore.h"
#include "car.h"
#include "commit.h"
#include "db.h"
#include "handlers.h"
#include "log.h"
#include "repo_int.h"
#include "syntax.h"
#include "util.h"
#include "xrpc_int.h"

#define CAR_TYPE	"application/vnd.ipld.car"

/* ==== repository availability ============================================== */

/* isUserOrAdmin(auth, did) */
static int
self_or_admin(const struct xrpc_req *req, const char *did)
{
	return req->auth.type == XRPC_CRED_ADMIN ||
	    (req->auth.type == XRPC_CRED_ACCESS && req->auth.did != NULL &&
	    strcmp(req->auth.did, did) == 0);
}

/* assertRepoAvailability(): RepoNotFound, RepoTakendown, RepoDeactivated
 * (the owner and admins may read those). */
static enum xrpc_status
available(struct xrpc_req *req, struct xrpc_res *res, const char *did,
    struct accountdb_account *acct)
{
	enum xrpc_status	st;
	int			found;

	if ((st = repo_account(req, res, did, ACCOUNTDB_TAKENDOWN |
	    ACCOUNTDB_DEACTIVATED, acct, &found)) != XRPC_OK)
		return st;
	if (!found)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, "RepoNotFound",
		    "Could not find repo for DID: %s", did);
	if (self_or_admin(req, did))
		return XRPC_OK;
	if (acct->takedown_ref != NULL)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, "RepoTakendown",
		    "Repo has been takendown: %s", did);
	if (acct->deactivated_at != NULL)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST,
		    "RepoDeactivated", "Repo has been deactivated: %s", did);
	return XRPC_OK;
}

/* The did parameter, the account's availability and its store. */
static enum xrpc_status
open_repo(struct xrpc_req *req, struct xrpc_res *res, const char **did,
    struct accountdb_account *acct, struct storectx **ctx,
    struct actorstore **s)
{
	enum xrpc_status	st;

	if ((st = repo_param_fmt(req, res, "did", "did", 1, did)) != XRPC_OK ||
	    (st = available(req, res, *did, acct)) != XRPC_OK ||
	    (st = repo_ctx(req, res, ctx)) != XRPC_OK)
		return st;
	return repo_store(req, res, *ctx, *did, s);
}

/* ==== streamed CARs ========================================================== */

/* car_write_fn over the response. */
static int
car_res_write(void *arg, const void *p, size_t len)
{
	return xrpc_res_write(arg, p, len);
}

struct car_stream {
	struct xrpc_res		*res;
	struct car_writer	 w;
};

static int
stream_root(void *arg, const struct actorstore_root *root)
{
	struct car_stream	*cs = arg;

	cs->res->content_type = CAR_TYPE;
	return car_write_header(&cs->w, &root->cid, 1) == CAR_OK ? 0 : -1;
}

static int
stream_block(void *arg, const struct cid *c, const uint8_t *p, size_t len)
{
	struct car_stream	*cs = arg;

	return car_write_block(&cs->w, c, p, len) == CAR_OK ? 0 : -1;
}

/* getCarStream(did, since). */
static enum xrpc_status
repo_car(struct xrpc_req *req, struct xrpc_res *res, int with_since)
{
	struct accountdb_account	 acct;
	struct car_stream		 cs;
	struct storectx			*ctx;
	struct actorstore		*s;
	enum xrpc_status		 st;
	const char			*did, *since = NULL;
	long				 n;

	if ((st = open_repo(req, res, &did, &acct, &ctx, &s)) != XRPC_OK ||
	    (with_since && (st = repo_param_fmt(req, res, "since", "tid", 0,
	    &since)) != XRPC_OK))
		return st;
	cs.res = res;
	car_writer_init(&cs.w, car_res_write, res);
	n = ar_blocks_stream(s, since, stream_root, stream_block, &cs);
	if (n == -2)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, "RepoNotFound",
		    "Could not find repo for DID: %s", did);
	if (n == -1 && !res->io_error)
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	if (!res->started && xrpc_res_begin(res) == -1)
		return XRPC_OK;
	return XRPC_OK;
}

enum xrpc_status
com_atproto_sync_getRepo(struct xrpc_req *req, struct xrpc_res *res)
{
	return repo_car(req, res, 1);
}

enum xrpc_status
com_atproto_sync_getCheckout(struct xrpc_req *req, struct xrpc_res *res)
{
	return repo_car(req, res, 0);
}

/* ==== heads =================================================================== */

/* The repository root, its commit CID formatted into cs, or RepoNotFound
 * / err_name. */
static enum xrpc_status
head(struct xrpc_req *req, struct xrpc_res *res, const char *err_name,
    struct actorstore_root *root, char cs[CID_STR_LEN])
{
	struct accountdb_account	 acct;
	struct storectx			*ctx;
	struct actorstore		*s;
	enum xrpc_status		 st;
	const char			*did;
	int				 rc;

	if ((st = open_repo(req, res, &did, &acct, &ctx, &s)) != XRPC_OK)
		return st;
	if ((rc = actorstore_root_get(s, root)) == -1)
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	if (rc == 0)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, err_name,
		    "Could not find root for DID: %s", did);
	cid_format(&root->cid, cs);
	return XRPC_OK;
}

enum xrpc_status
com_atproto_sync_getLatestCommit(struct xrpc_req *req, struct xrpc_res *res)
{
	struct actorstore_root	 root;
	enum xrpc_status	 st;
	char			 cs[CID_STR_LEN];

	if ((st = head(req, res, "RepoNotFound", &root, cs)) != XRPC_OK)
		return st;
	return xrpc_reply(res, json_pack("{s:s,s:s}", "cid", cs, "rev",
	    root.rev));
}

enum xrpc_status
com_atproto_sync_getHead(struct xrpc_req *req, struct xrpc_res *res)
{
	struct actorstore_root	 root;
	enum xrpc_status	 st;
	char			 cs[CID_STR_LEN];

	if ((st = head(req, res, "HeadNotFound", &root, cs)) != XRPC_OK)
		return st;
	return xrpc_reply(res, json_pack("{s:s}", "root", cs));
}

/* ==== getRecord (the commit, the MST proof and the record) ====================== */

/* Collects the commit block, the MST path to key and the record block in
 * bm, reading at the current root (inside the caller's transaction). */
static int
record_proof(struct actorstore *s, const char *key, struct cid *root_out,
    struct blockmap *bm)
{
	struct actorstore_root	 root;
	struct mst_source	 src;
	struct mst		*t = NULL;
	struct commit		 c;
	struct buf		 b;
	struct cid		 rec;
	int			 rc = -1;

	buf_init(&b, LIM_CAR_BLOCK);
	actorstore_source(s, &src);
	if (actorstore_root_get(s, &root) != 1 ||
	    actorstore_block_get(s, &root.cid, &b) != 1 ||
	    commit_parse(&c, b.data, b.len) != COMMIT_OK ||
	    blockmap_put(bm, &root.cid, b.data, b.len) == -1 ||
	    mst_load(&src, &c.data, &t) != MST_OK)
		goto out;
	/* The path to the key, as the reference's cidsForPath: it proves
	 * presence or absence. */
	switch (mst_path(t, key, strlen(key), bm, &rec)) {
	case MST_OK:
		if (actorstore_block_get(s, &rec, &b) != 1 ||
		    blockmap_put(bm, &rec, b.data, b.len) == -1)
			goto out;
		break;
	case MST_ERR_NOTFOUND:
		break;
	default:
		goto out;
	}
	*root_out = root.cid;
	rc = 0;
out:
	mst_free(t);
	buf_free(&b);
	return rc;
}

enum xrpc_status
com_atproto_sync_getRecord(struct xrpc_req *req, struct xrpc_res *res)
{
	struct accountdb_account	 acct;
	struct car_writer		 w;
	struct blockmap			 bm;
	struct storectx			*ctx;
	struct actorstore		*s;
	enum xrpc_status		 st;
	const struct cid		*c;
	const uint8_t			*p;
	const char			*did, *coll = NULL, *rkey = NULL, *key;
	struct cid			 root;
	size_t				 i, len;
	int				 rc;

	if ((st = open_repo(req, res, &did, &acct, &ctx, &s)) != XRPC_OK ||
	    (st = repo_param_fmt(req, res, "collection", "nsid", 1, &coll)) !=
	    XRPC_OK || (st = repo_param_fmt(req, res, "rkey", "record-key", 1,
	    &rkey)) != XRPC_OK)
		return st;
	if ((key = arena_printf(req->a, "%s/%s", coll, rkey)) == NULL)
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	blockmap_init(&bm, 0);
	if (db_begin(actorstore_db(s)) == -1) {
		blockmap_fini(&bm);
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	}
	rc = record_proof(s, key, &root, &bm);
	(void)db_commit(actorstore_db(s));
	if (rc == -1) {
		blockmap_fini(&bm);
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	}
	res->content_type = CAR_TYPE;
	car_writer_init(&w, car_buf_write, &res->body);
	buf_reset(&res->body);
	rc = car_write_header(&w, &root, 1) == CAR_OK ? 0 : -1;
	for (i = 0; rc == 0 && blockmap_next(&bm, &i, &c, &p, &len);)
		if (car_write_block(&w, c, p, len) != CAR_OK)
			rc = -1;
	blockmap_fini(&bm);
	if (rc == -1)
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	return XRPC_OK;
}

/* ==== getBlocks ================================================================== */

/* Parses every cids value; refuses a malformed one. */
static enum xrpc_status
parse_cids(struct xrpc_req *req, struct xrpc_res *res, struct cid **out,
    size_t *n)
{
	enum xrpc_status	 st;
	const char		**v;
	struct cid		*c;
	size_t			 i;

	if ((st = xrpc_param_list(req, res, "cids", 1, &v, n)) != XRPC_OK)
		return st;
	if (*n > LIM_GET_BLOCKS_MAX)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Invalid %s params: too many cids", req->nsid);
	if ((c = arena_calloc(req->a, *n + 1, sizeof(*c))) == NULL)
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	for (i = 0; i < *n; i++)
		if (cid_parse_str(&c[i], v[i], strlen(v[i])) == -1)
			return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
			    "Invalid %s params: Invalid cid format (got "
			    "\"%.100s\") at $.cids[%zu]", req->nsid, v[i], i);
	*out = c;
	return XRPC_OK;
}

/* "Could not find cids: a,b" when some are missing. */
static enum xrpc_status
blocks_present(struct xrpc_res *res, struct actorstore *s,
    const struct cid *c, size_t n, struct buf *b)
{
	struct buf	missing;
	char		cs[CID_STR_LEN];
	size_t		i;
	int		rc;
	enum xrpc_status st = XRPC_OK;

	buf_init(&missing, LIM_ERR_MSG);
	for (i = 0; i < n; i++) {
		if ((rc = actorstore_block_get(s, &c[i], b)) == -1) {
			st = xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
			goto out;
		}
		if (rc == 0) {
			cid_format(&c[i], cs);
			(void)buf_printf(&missing, "%s%s", missing.len > 0 ?
			    "," : "", cs);
		}
	}
	if (missing.len > 0 && buf_cstr(&missing) == 0)
		st = xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Could not find cids: %s", (const char *)missing.data);
out:
	buf_free(&missing);
	return st;
}

enum xrpc_status
com_atproto_sync_getBlocks(struct xrpc_req *req, struct xrpc_res *res)
{
	struct accountdb_account	 acct;
	struct car_writer		 w;
	struct storectx			*ctx;
	struct actorstore		*s;
	enum xrpc_status		 st;
	struct cid			*c = NULL;
	struct buf			 b;
	const char			*did;
	size_t				 i, n;

	if ((st = open_repo(req, res, &did, &acct, &ctx, &s)) != XRPC_OK ||
	    (st = parse_cids(req, res, &c, &n)) != XRPC_OK)
		return st;
	buf_init(&b, LIM_CAR_BLOCK);
	if (db_begin(actorstore_db(s)) == -1) {
		buf_free(&b);
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	}
	if ((st = blocks_present(res, s, c, n, &b)) != XRPC_OK)
		goto out;
	res->content_type = CAR_TYPE;
	car_writer_init(&w, car_res_write, res);
	if (car_write_header(&w, NULL, 0) != CAR_OK)
		goto out;
	for (i = 0; i < n; i++)
		if (actorstore_block_get(s, &c[i], &b) != 1 ||
		    car_write_block(&w, &c[i], b.data, b.len) != CAR_OK)
			break;
out:
	(void)db_commit(actorstore_db(s));
	buf_free(&b);
	return st;
}

/* ==== getRepoStatus, listRepos ==================================================== */

enum xrpc_status
com_atproto_sync_getRepoStatus(struct xrpc_req *req, struct xrpc_res *res)
{
	struct accountdb_account	 acct;
	struct actorstore_root		 root;
	struct storectx			*ctx;
	struct actorstore		*s;
	enum xrpc_status		 st;
	const char			*did = NULL, *status;
	json_t				*o;
	int				 found, active;

	if ((st = repo_param_fmt(req, res, "did", "did", 1, &did)) != XRPC_OK ||
	    (st = repo_account(req, res, did, ACCOUNTDB_TAKENDOWN |
	    ACCOUNTDB_DEACTIVATED, &acct, &found)) != XRPC_OK)
		return st;
	if (!found)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, "RepoNotFound",
		    "Could not find repo for DID: %s", did);
	acct_status(&acct, &active, &status);
	if ((o = json_pack("{s:s,s:b}", "did", acct.did, "active", active)) ==
	    NULL)
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	if (status != NULL && json_object_set_new(o, "status",
	    json_string(status)) == -1)
		goto fail;
	if (active) {
		if ((st = repo_ctx(req, res, &ctx)) != XRPC_OK ||
		    (st = repo_store(req, res, ctx, acct.did, &s)) != XRPC_OK) {
			json_decref(o);
			return st;
		}
		if (actorstore_root_get(s, &root) != 1 ||
		    json_object_set_new(o, "rev", json_string(root.rev)) == -1)
			goto fail;
	}
	return xrpc_reply(res, o);
fail:
	json_decref(o);
	return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
}

/* TimeDidKeyset cursor "<createdAt ms>::<did>" into (iso, did). */
static int
repos_cursor(const char *cur, char iso[UTIL_ISO_LEN], const char **did)
{
	const char	*sep = strstr(cur, "::");
	int64_t		 ms;

	if (sep == NULL || util_int_parse(cur, (size_t)(sep - cur), 0,
	    INT64_C(8640000000000000), &ms) == -1 ||
	    syntax_did_validate(sep + 2, strlen(sep + 2), NULL) == -1)
		return -1;
	util_iso_time(ms, iso);
	*did = sep + 2;
	return 0;
}

/* One listRepos item from an (did, head, rev, createdAt, deactivatedAt,
 * takedownRef) row; sets *cursor from the row. */
static json_t *
repos_item(struct xrpc_req *req, sqlite3_stmt *st, const char **cursor)
{
	struct accountdb_account	 a;
	const char			*head, *rev, *status;
	int64_t				 ms = 0;
	int				 active;
	json_t				*o;

	memset(&a, 0, sizeof(a));
	a.did = (const char *)sqlite3_column_text(st, 0);
	head = (const char *)sqlite3_column_text(st, 1);
	rev = (const char *)sqlite3_column_text(st, 2);
	a.created_at = (const char *)sqlite3_column_text(st, 3);
	a.deactivated_at = (const char *)sqlite3_column_text(st, 4);
	a.takedown_ref = (const char *)sqlite3_column_text(st, 5);
	a.email = "";
	if (a.did == NULL || head == NULL || a.created_at == NULL ||
	    util_iso_parse(a.created_at, strlen(a.created_at), &ms) == -1)
		return NULL;
	acct_status(&a, &active, &status);
	o = json_pack("{s:s,s:s,s:s,s:b}", "did", a.did, "head", head, "rev",
	    rev != NULL ? rev : "", "active", active);
	if (o != NULL && status != NULL && json_object_set_new(o, "status",
	    json_string(status)) == -1) {
		json_decref(o);
		return NULL;
	}
	*cursor = arena_printf(req->a, "%lld::%s", (long long)ms, a.did);
	return o;
}

/* The listRepos page: actor join repo_root in (createdAt, did) order. */
static enum xrpc_status
repos_page(struct xrpc_req *req, struct xrpc_res *res, struct db *db,
    const char *cursor, int64_t limit, json_t *arr, const char **last)
{
	char		 iso[UTIL_ISO_LEN];
	const char	*cdid = NULL;
	sqlite3_stmt	*st;
	json_t		*item;
	int		 rc;

	if (cursor != NULL && repos_cursor(cursor, iso, &cdid) == -1)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Malformed cursor");
	st = db_stmt_get(db, cursor != NULL ?
	    "SELECT actor.did, repo_root.cid, repo_root.rev, actor.createdAt, "
	    "actor.deactivatedAt, actor.takedownRef FROM actor INNER JOIN "
	    "repo_root ON repo_root.did = actor.did WHERE (actor.createdAt, "
	    "actor.did) > (?1, ?2) ORDER BY actor.createdAt ASC, actor.did "
	    "ASC LIMIT ?3" :
	    "SELECT actor.did, repo_root.cid, repo_root.rev, actor.createdAt, "
	    "actor.deactivatedAt, actor.takedownRef FROM actor INNER JOIN "
	    "repo_root ON repo_root.did = actor.did ORDER BY actor.createdAt "
	    "ASC, actor.did ASC LIMIT ?1");
	if (st == NULL || (cursor != NULL &&
	    (sqlite3_bind_text(st, 1, iso, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, cdid, -1, SQLITE_STATIC) != SQLITE_OK)) ||
	    sqlite3_bind_int64(st, cursor != NULL ? 3 : 1, limit) !=
	    SQLITE_OK) {
		db_stmt_done(st);
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	}
	while ((rc = db_step(db, st)) == 1)
		if ((item = repos_item(req, st, last)) == NULL ||
		    json_array_append_new(arr, item) == -1) {
			rc = -1;
			break;
		}
	db_stmt_done(st);
	return rc == -1 ? xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL) :
	    XRPC_OK;
}

enum xrpc_status
com_atproto_sync_listRepos(struct xrpc_req *req, struct xrpc_res *res)
{
	struct acct_ctx		*actx;
	enum xrpc_status	 st;
	const char		*cursor = NULL, *last = NULL;
	int64_t			 limit = LIM_LIST_REPOS_DEFAULT;
	json_t			*o, *arr;

	if ((st = xrpc_param_int(req, res, "limit", 0, 1, LIM_LIST_REPOS_MAX,
	    &limit)) != XRPC_OK ||
	    (st = xrpc_param_str(req, res, "cursor", 0, &cursor)) != XRPC_OK)
		return st;
	if ((actx = acct_ctx_get(req, res)) == NULL)
		return XRPC_ERR_INTERNAL;
	if ((arr = json_array()) == NULL)
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	if ((st = repos_page(req, res, actx->account, cursor, limit, arr,
	    &last)) != XRPC_OK) {
		json_decref(arr);
		return st;
	}
	if ((o = json_object()) == NULL || (last != NULL &&
	    json_object_set_new(o, "cursor", json_string(last)) == -1) ||
	    json_object_set_new(o, "repos", arr) == -1) {
		json_decref(o);
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	}
	return xrpc_reply(res, o);
}

/* ==== listBlobs, getBlob ============================================================= */

struct cid_list {
	json_t		*arr;
	const char	*last;
	struct arena	*a;
};

static int
cid_list_cb(void *arg, const char *s)
{
	struct cid_list	*l = arg;

	if (json_array_append_new(l->arr, json_string(s)) == -1 ||
	    (l->last = arena_strdup(l->a, s)) == NULL)
		return -1;
	return 0;
}

enum xrpc_status
com_atproto_sync_listBlobs(struct xrpc_req *req, struct xrpc_res *res)
{
	struct accountdb_account	 acct;
	struct cid_list			 l = { NULL, NULL, req->a };
	struct storectx			*ctx;
	struct actorstore		*s;
	enum xrpc_status		 st;
	const char			*did, *since = NULL, *cursor = NULL;
	int64_t				 limit = LIM_LIST_BLOBS_DEFAULT;
	json_t				*o;

	if ((st = open_repo(req, res, &did, &acct, &ctx, &s)) != XRPC_OK ||
	    (st = repo_param_fmt(req, res, "since", "tid", 0, &since)) !=
	    XRPC_OK || (st = xrpc_param_int(req, res, "limit", 0, 1,
	    LIM_LIST_BLOBS_MAX, &limit)) != XRPC_OK ||
	    (st = xrpc_param_str(req, res, "cursor", 0, &cursor)) != XRPC_OK)
		return st;
	if ((l.arr = json_array()) == NULL || ar_blobs_list(s, since, cursor,
	    (long)limit, cid_list_cb, &l) == -1 ||
	    (o = json_object()) == NULL) {
		json_decref(l.arr);
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	}
	if ((l.last != NULL && json_object_set_new(o, "cursor",
	    json_string(l.last)) == -1) ||
	    json_object_set_new(o, "cids", l.arr) == -1) {
		json_decref(o);
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	}
	return xrpc_reply(res, o);
}

struct blob_row {
	char		mime[LIM_MIME_LEN + 1];
	int64_t		size;
	int		takendown;
};

static int
blob_row_cb(void *arg, const struct ar_blob *b)
{
	struct blob_row	*r = arg;

	(void)snprintf(r->mime, sizeof(r->mime), "%s", b->mime);
	r->size = b->size;
	r->takendown = b->takendown;
	return 1;
}

/* Streams the file itself (PDS_BLOB_SENDFILE=none). */
static enum xrpc_status
blob_stream(struct xrpc_res *res, struct storectx *ctx, const char *did,
    const struct cid *cid)
{
	uint8_t		buf[LIM_IO_CHUNK];
	char		len[32];
	uint64_t	size;
	ssize_t		n;
	int		fd, rc;

	if ((rc = blobstore_open(&ctx->blobs, did, cid, &fd, &size)) == -1)
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	if (rc == 0)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, "BlobNotFound",
		    "Blob not found");
	(void)snprintf(len, sizeof(len), "%llu", (unsigned long long)size);
	if (xrpc_res_header(res, "Content-Length", len) == -1 ||
	    xrpc_res_begin(res) == -1) {
		(void)close(fd);
		return XRPC_OK;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (xrpc_res_write(res, buf, (size_t)n) == -1)
			break;
	if (n == -1)
		log_error("%s: %s: read: %s", __func__, did, strerror(errno));
	(void)close(fd);
	return XRPC_OK;
}

enum xrpc_status
com_atproto_sync_getBlob(struct xrpc_req *req, struct xrpc_res *res)
{
	struct accountdb_account	 acct;
	struct blob_row			 r;
	struct storectx			*ctx;
	struct actorstore		*s;
	enum xrpc_status		 st;
	struct cid			 cid;
	const char			*did, *cs = NULL, *disp;
	char				 abs[LIM_STORE_PATH], rel[LIM_STORE_PATH];
	int				 rc;

	if ((st = open_repo(req, res, &did, &acct, &ctx, &s)) != XRPC_OK ||
	    (st = repo_param_fmt(req, res, "cid", "cid", 1, &cs)) != XRPC_OK)
		return st;
	if (cid_parse_str(&cid, cs, strlen(cs)) == -1)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Invalid %s params: Invalid cid format (got \"%.100s\") at "
		    "$.cid", req->nsid, cs);
	memset(&r, 0, sizeof(r));
	if ((rc = ar_blob_get(s, cs, blob_row_cb, &r)) == -1)
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	if (rc == 0 || r.takendown || !ctx->have_blobs)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, "BlobNotFound",
		    "Blob not found");
	if ((disp = arena_printf(req->a, "attachment; filename=\"%s\"", cs)) ==
	    NULL || xrpc_res_header(res, "x-content-type-options",
	    "nosniff") == -1 || xrpc_res_header(res, "content-disposition",
	    disp) == -1 || xrpc_res_header(res, "content-security-policy",
	    "default-src 'none'; sandbox") == -1 ||
	    blobstore_path(&ctx->blobs, did, &cid, abs, sizeof(abs), rel,
	    sizeof(rel)) == -1)
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	res->content_type = arena_strdup(req->a, r.mime[0] != '\0' ? r.mime :
	    "application/octet-stream");
	if ((rc = xrpc_res_sendfile(res, rel, abs)) == 0)
		return XRPC_OK;
	return blob_stream(res, ctx, did, &cid);
}
