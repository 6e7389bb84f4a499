/*
 * h_repo.c: com.atproto.repo.* (reference packages/pds/src/api/com/
 * atproto/repo/; ../shared/spec/pds-endpoints.tsv): createRecord,
 * putRecord, deleteRecord, applyWrites, getRecord, listRecords,
 * describeRepo, uploadBlob, listMissingBlobs, importRepo; plus the
 * helpers the sync handlers share (repo_int.h).
 *
 * Owns the request side: input fields, account checks, responses.  The
 * records are prepared by prepare.c and committed by repowrite.c.
 */
#include <string.h>

#include "accounts.h"
#include "actorread.h"
#include "blobstore.h"
#include "cbor_json.h"
#include "handlers.h"
#include "log.h"
#include "mimesniff.h"
#include "prepare.h"
#include "repo_int.h"
#include "repowrite.h"
#include "syntax.h"
#include "xrpc_int.h"

/* ==== shared helpers ===================================================== */

enum xrpc_status
repo_ctx(struct xrpc_req *req, struct xrpc_res *res, struct storectx **out)
{
	if ((*out = storectx_get(req->srv->cfg, req->srv->account)) == NULL)
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	return XRPC_OK;
}

enum xrpc_status
repo_store(struct xrpc_req *req, struct xrpc_res *res, struct storectx *ctx,
    const char *did, struct actorstore **out)
{
	int	rc = actorstore_get(ctx->actors, did, out);

	(void)req;
	if (rc != 1) {
		log_error("%s: %s: actor store %s", __func__, did,
		    rc == 0 ? "missing" : "unavailable");
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	}
	return XRPC_OK;
}

enum xrpc_status
repo_param_fmt(struct xrpc_req *req, struct xrpc_res *res, const char *name,
    const char *format, int required, const char **out)
{
	enum syntax_format	 f;
	enum xrpc_status	 st;
	const char		*s = NULL;

	if ((st = xrpc_param_str(req, res, name, required, &s)) != XRPC_OK ||
	    s == NULL)
		return st;
	if (syntax_format_find(format, strlen(format), &f) == 0 &&
	    syntax_format_validate(f, s, strlen(s), NULL) == -1)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Invalid %s params: Invalid %s format (got \"%.*s\") at "
		    "$.%s", req->nsid, format, LIM_PARAM_PREVIEW, s, name);
	*out = s;
	return XRPC_OK;
}

enum xrpc_status
repo_account(struct xrpc_req *req, struct xrpc_res *res,
    const char *handle_or_did, int flags, struct accountdb_account *out,
    int *found)
{
	struct acct_ctx	*actx;
	int		 rc;

	if ((actx = acct_ctx_get(req, res)) == NULL)
		return XRPC_ERR_INTERNAL;
	rc = accountdb_account_get(actx->account, req->a, handle_or_did, flags,
	    out);
	if (rc == -1)
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	*found = rc;
	return XRPC_OK;
}

/* ---- JSON helpers ---------------------------------------------------------- */

/* Sets key to a new string (NULL s: nothing).  0 or -1. */
static int
jset_str(json_t *o, const char *key, const char *s)
{
	return s == NULL ? 0 : json_object_set_new(o, key, json_string(s));
}

static int
jset_cid(json_t *o, const char *key, const struct cid *c)
{
	char	cs[CID_STR_LEN];

	cid_format(c, cs);
	return json_object_set_new(o, key, json_string(cs));
}

/* {cid, rev} of a commit. */
static json_t *
commit_json(const struct rw_result *r)
{
	json_t	*o = json_object();

	if (o == NULL || jset_cid(o, "cid", &r->cid) == -1 ||
	    jset_str(o, "rev", r->rev) == -1) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* ---- input fields ------------------------------------------------------------ */

/* A body string field with a Lexicon format. */
static enum xrpc_status
in_fmt(struct xrpc_req *req, struct xrpc_res *res, const char *key,
    const char *format, int required, const char **out)
{
	return acct_in_format(req, res, key, format, required, out);
}

/* An optional CID field (swapCommit), into *c; *have 1 when given. */
static enum xrpc_status
in_cid(struct xrpc_req *req, struct xrpc_res *res, const char *key,
    struct cid *c, int *have)
{
	enum xrpc_status	 st;
	const char		*s = NULL;

	*have = 0;
	if ((st = in_fmt(req, res, key, "cid", 0, &s)) != XRPC_OK ||
	    s == NULL)
		return st;
	if (cid_parse_str(c, s, strlen(s)) == -1)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Invalid CID (got \"%.100s\") at $.%s", s, key);
	*have = 1;
	return XRPC_OK;
}

/* swapRecord: absent, null or a CID. */
static enum xrpc_status
in_swap(struct xrpc_req *req, struct xrpc_res *res, enum rw_swap *swap,
    struct cid *c)
{
	json_t	*v = json_object_get(req->input, "swapRecord");
	int	 have;

	*swap = RW_SWAP_NONE;
	if (v == NULL)
		return XRPC_OK;
	if (json_is_null(v)) {
		*swap = RW_SWAP_NULL;
		return XRPC_OK;
	}
	if (in_cid(req, res, "swapRecord", c, &have) != XRPC_OK)
		return XRPC_ERR_INVALID_REQUEST;
	*swap = RW_SWAP_CID;
	return XRPC_OK;
}

static enum xrpc_status
in_validate(struct xrpc_req *req, struct xrpc_res *res,
    enum prep_validate *out)
{
	enum xrpc_status	st;
	int			v = -1;

	*out = PREP_VALIDATE_DEFAULT;
	if ((st = acct_in_bool(req, res, "validate", 0, &v)) != XRPC_OK)
		return st;
	if (v != -1)
		*out = v ? PREP_VALIDATE_TRUE : PREP_VALIDATE_FALSE;
	return XRPC_OK;
}

/* The repo field to the caller's own, active account (createRecord and
 * friends): "Could not find repo", "Account is deactivated", or
 * AuthRequired for someone else's repository. */
static enum xrpc_status
own_repo(struct xrpc_req *req, struct xrpc_res *res, const char **did)
{
	struct accountdb_account	 acct;
	enum xrpc_status		 st;
	const char			*repo = NULL;
	int				 found;

	if ((st = in_fmt(req, res, "repo", "at-identifier", 1, &repo)) !=
	    XRPC_OK || (st = repo_account(req, res, repo,
	    ACCOUNTDB_DEACTIVATED, &acct, &found)) != XRPC_OK)
		return st;
	if (!found)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Could not find repo: %s", repo);
	if (acct.deactivated_at != NULL)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Account is deactivated");
	if (req->auth.did == NULL || strcmp(acct.did, req->auth.did) != 0)
		return xrpc_fail(res, XRPC_ERR_AUTH_REQUIRED, NULL, NULL);
	*did = acct.did;
	return XRPC_OK;
}

/* repowrite's error to the response. */
static enum xrpc_status
write_fail(struct xrpc_res *res, const struct rw_error *e)
{
	enum xrpc_status	st;

	switch (e->status) {
	case 400:
		st = XRPC_ERR_INVALID_REQUEST;
		break;
	case 401:
		st = XRPC_ERR_AUTH_REQUIRED;
		break;
	default:
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	}
	return xrpc_fail(res, st, e->name, "%s", e->msg);
}

/* Commits writes through the caller's store. */
static enum xrpc_status
commit(struct xrpc_req *req, struct xrpc_res *res, const char *did,
    struct rw_write *w, size_t n, const struct cid *swap_commit,
    unsigned flags, struct rw_result *out)
{
	struct storectx		*ctx;
	struct actorstore	*s;
	struct rw_error		 err;
	enum xrpc_status	 st;

	if ((st = repo_ctx(req, res, &ctx)) != XRPC_OK ||
	    (st = repo_store(req, res, ctx, did, &s)) != XRPC_OK)
		return st;
	if (repowrite_apply(ctx, s, req->a, w, n, swap_commit, flags, out,
	    &err) == -1)
		return write_fail(res, &err);
	return XRPC_OK;
}

/* ==== createRecord, putRecord, deleteRecord ==================================== */

/* A refused record: InvalidRequest with prepare.c's message (the built-in
 * schemas failing to load is a 500). */
static enum xrpc_status
prepare_fail(struct xrpc_res *res, const char *msg)
{
	if (strcmp(msg, "Internal Server Error") == 0)
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL, "%s",
	    msg[0] != '\0' ? msg : "Bad record");
}

/* The fields createRecord and putRecord share, prepared into w. */
static enum xrpc_status
record_input(struct xrpc_req *req, struct xrpc_res *res, const char *did,
    int rkey_required, enum repo_action action, struct rw_write *w,
    enum prep_validate *validate)
{
	struct prep_in		 in;
	enum xrpc_status	 st;
	char			 msg[LIM_ERR_MSG];
	json_t			*rec;

	memset(&in, 0, sizeof(in));
	in.did = did;
	in.action = action;
	if ((st = in_fmt(req, res, "collection", "nsid", 1,
	    &in.collection)) != XRPC_OK ||
	    (st = in_fmt(req, res, "rkey", "record-key", rkey_required,
	    &in.rkey)) != XRPC_OK ||
	    (st = in_validate(req, res, &in.validate)) != XRPC_OK)
		return st;
	if (action == REPO_CREATE && rkey_required == 0)
		in.swap = RW_SWAP_NONE;
	else if ((st = in_swap(req, res, &in.swap, &in.swap_cid)) != XRPC_OK)
		return st;
	if ((rec = json_object_get(req->input, "record")) == NULL)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Missing required key \"record\" at $");
	if (!json_is_object(rec))
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Expected object value type (got %s) at $.record",
		    acct_preview(req->a, rec));
	in.record = rec;
	*validate = in.validate;
	if (prepare_write(req->a, &in, w, msg, sizeof(msg)) == -1)
		return prepare_fail(res, msg);
	return XRPC_OK;
}

/* {uri, cid, commit?, validationStatus?} */
static enum xrpc_status
record_reply(struct xrpc_res *res, const struct rw_write *w,
    const struct rw_result *r)
{
	json_t	*o = json_object(), *c;

	if (o == NULL || jset_str(o, "uri", w->uri) == -1 ||
	    jset_cid(o, "cid", &w->cid) == -1)
		goto fail;
	if (!r->noop && ((c = commit_json(r)) == NULL ||
	    json_object_set_new(o, "commit", c) == -1))
		goto fail;
	if (jset_str(o, "validationStatus", w->validation) == -1)
		goto fail;
	return xrpc_reply(res, o);
fail:
	json_decref(o);
	return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
}

/* createRecord (put 0) and putRecord (put 1): one write, committed with
 * swapCommit, answered with uri/cid/commit/validationStatus. */
static enum xrpc_status
write_record(struct xrpc_req *req, struct xrpc_res *res, int put)
{
	struct rw_write		 w;
	struct rw_result	 r;
	struct cid		 swap;
	enum prep_validate	 v = PREP_VALIDATE_FALSE;
	enum xrpc_status	 st;
	const char		*did;
	int			 have;

	if ((st = own_repo(req, res, &did)) != XRPC_OK ||
	    (st = in_cid(req, res, "swapCommit", &swap, &have)) != XRPC_OK ||
	    (st = record_input(req, res, did, put, put ? REPO_UPDATE :
	    REPO_CREATE, &w, &v)) != XRPC_OK)
		return st;
	if ((st = commit(req, res, did, &w, 1, have ? &swap : NULL, put ?
	    RW_F_PUT : v != PREP_VALIDATE_FALSE ? RW_F_BACKLINK_DEDUP : 0,
	    &r)) != XRPC_OK)
		return st;
	return record_reply(res, &w, &r);
}

enum xrpc_status
com_atproto_repo_createRecord(struct xrpc_req *req, struct xrpc_res *res)
{
	return write_record(req, res, 0);
}

enum xrpc_status
com_atproto_repo_putRecord(struct xrpc_req *req, struct xrpc_res *res)
{
	return write_record(req, res, 1);
}

enum xrpc_status
com_atproto_repo_deleteRecord(struct xrpc_req *req, struct xrpc_res *res)
{
	struct rw_write		 w;
	struct rw_result	 r;
	struct cid		 swap, swaprec;
	enum xrpc_status	 st;
	const char		*did, *collection = NULL, *rkey = NULL;
	json_t			*o, *c;
	int			 have, haverec;

	if ((st = own_repo(req, res, &did)) != XRPC_OK ||
	    (st = in_fmt(req, res, "collection", "nsid", 1, &collection)) !=
	    XRPC_OK || (st = in_fmt(req, res, "rkey", "record-key", 1,
	    &rkey)) != XRPC_OK ||
	    (st = in_cid(req, res, "swapCommit", &swap, &have)) != XRPC_OK ||
	    (st = in_cid(req, res, "swapRecord", &swaprec, &haverec)) !=
	    XRPC_OK)
		return st;
	if (prepare_delete(req->a, did, collection, rkey, haverec ?
	    RW_SWAP_CID : RW_SWAP_NONE, &swaprec, &w) == -1)
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	if ((st = commit(req, res, did, &w, 1, have ? &swap : NULL,
	    RW_F_DELETE_PRESENT, &r)) != XRPC_OK)
		return st;
	if ((o = json_object()) == NULL)
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	if (!r.noop && ((c = commit_json(&r)) == NULL ||
	    json_object_set_new(o, "commit", c) == -1)) {
		json_decref(o);
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	}
	return xrpc_reply(res, o);
}

/* ==== applyWrites ============================================================== */

#define AW_TYPE		"com.atproto.repo.applyWrites"

/* A string field of writes[i] with a format ("nsid", "record-key"). */
static enum xrpc_status
aw_str(struct xrpc_req *req, struct xrpc_res *res, const json_t *o, size_t i,
    const char *key, const char *format, int required, const char **out)
{
	const json_t		*v = json_object_get(o, key);
	enum syntax_format	 f;
	const char		*s;

	*out = NULL;
	if (v == NULL) {
		if (!required)
			return XRPC_OK;
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Missing required key \"%s\" at $.writes[%zu]", key, i);
	}
	if (!json_is_string(v))
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Expected string value type (got %s) at $.writes[%zu].%s",
		    acct_preview(req->a, v), i, key);
	/* The whole string (it may hold a NUL, which the validator
	 * refuses), so that s is a valid C string once accepted. */
	s = json_string_value(v);
	if (syntax_format_find(format, strlen(format), &f) == -1 ||
	    syntax_format_validate(f, s, json_string_length(v), NULL) == -1)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Invalid %s (got %s) at $.writes[%zu].%s", format,
		    acct_preview(req->a, v), i, key);
	*out = s;
	return XRPC_OK;
}

/* One element of writes: #create, #update or #delete. */
static enum xrpc_status
aw_one(struct xrpc_req *req, struct xrpc_res *res, const char *did,
    enum prep_validate validate, const json_t *o, size_t i,
    struct rw_write *w)
{
	struct prep_in		 in;
	enum xrpc_status	 st;
	const json_t		*type;
	char			 msg[LIM_ERR_MSG];

	if (!json_is_object(o))
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Expected object value type (got %s) at $.writes[%zu]",
		    acct_preview(req->a, o), i);
	type = json_object_get(o, "$type");
	memset(&in, 0, sizeof(in));
	in.did = did;
	in.validate = validate;
	if (xrpc_json_str_is(type, AW_TYPE "#create"))
		in.action = REPO_CREATE;
	else if (xrpc_json_str_is(type, AW_TYPE "#update"))
		in.action = REPO_UPDATE;
	else if (xrpc_json_str_is(type, AW_TYPE "#delete"))
		in.action = REPO_DELETE;
	else
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Expected one of \"%s#create\", \"%s#update\" or "
		    "\"%s#delete\" at $.writes[%zu].$type", AW_TYPE, AW_TYPE,
		    AW_TYPE, i);
	if ((st = aw_str(req, res, o, i, "collection", "nsid", 1,
	    &in.collection)) != XRPC_OK || (st = aw_str(req, res, o, i,
	    "rkey", "record-key", in.action != REPO_CREATE, &in.rkey)) !=
	    XRPC_OK)
		return st;
	if (in.action == REPO_DELETE)
		return prepare_delete(req->a, did, in.collection, in.rkey,
		    RW_SWAP_NONE, NULL, w) == -1 ? xrpc_fail(res,
		    XRPC_ERR_INTERNAL, NULL, NULL) : XRPC_OK;
	in.record = json_object_get(o, "value");
	if (in.record == NULL)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Missing required key \"value\" at $.writes[%zu]", i);
	if (!json_is_object(in.record))
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Expected object value type (got %s) at "
		    "$.writes[%zu].value", acct_preview(req->a, in.record), i);
	if ((in.path = arena_printf(req->a, "$.writes[%zu].record", i)) ==
	    NULL)
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	if (prepare_write(req->a, &in, w, msg, sizeof(msg)) == -1)
		return prepare_fail(res, msg);
	return XRPC_OK;
}

/* writeToOutputResult() of each write. */
static json_t *
aw_results(const struct rw_write *w, size_t n)
{
	static const char *const types[REPO_ACTION__MAX] = {
		AW_TYPE "#createResult", AW_TYPE "#updateResult",
		AW_TYPE "#deleteResult",
	};
	json_t	*arr = json_array(), *o;
	size_t	 i;

	for (i = 0; arr != NULL && i < n; i++) {
		if ((o = json_object()) == NULL ||
		    json_array_append_new(arr, o) == -1 ||
		    jset_str(o, "$type", types[w[i].action]) == -1)
			goto fail;
		if (w[i].action != REPO_DELETE &&
		    (jset_str(o, "uri", w[i].uri) == -1 ||
		    jset_cid(o, "cid", &w[i].cid) == -1 ||
		    jset_str(o, "validationStatus", w[i].validation) == -1))
			goto fail;
	}
	return arr;
fail:
	json_decref(arr);
	return NULL;
}

enum xrpc_status
com_atproto_repo_applyWrites(struct xrpc_req *req, struct xrpc_res *res)
{
	struct rw_write		*w;
	struct rw_result	 r;
	struct cid		 swap;
	enum prep_validate	 v;
	enum xrpc_status	 st;
	const char		*did;
	json_t			*writes, *o, *c, *results;
	size_t			 i, n;
	int			 have;

	if ((st = own_repo(req, res, &did)) != XRPC_OK ||
	    (st = in_validate(req, res, &v)) != XRPC_OK ||
	    (st = in_cid(req, res, "swapCommit", &swap, &have)) != XRPC_OK)
		return st;
	if ((writes = json_object_get(req->input, "writes")) == NULL)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Missing required key \"writes\" at $");
	if (!json_is_array(writes))
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Expected array value type (got %s) at $.writes",
		    acct_preview(req->a, writes));
	if ((n = json_array_size(writes)) > LIM_WRITES_PER_COMMIT)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Too many writes. Max: %d", LIM_WRITES_PER_COMMIT);
	if ((w = arena_calloc(req->a, n + 1, sizeof(*w))) == NULL)
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	for (i = 0; i < n; i++)
		if ((st = aw_one(req, res, did, v, json_array_get(writes, i),
		    i, &w[i])) != XRPC_OK)
			return st;
	if ((st = commit(req, res, did, w, n, have ? &swap : NULL, 0, &r)) !=
	    XRPC_OK)
		return st;
	if ((o = json_object()) == NULL || (c = commit_json(&r)) == NULL ||
	    json_object_set_new(o, "commit", c) == -1 ||
	    (results = aw_results(w, n)) == NULL ||
	    json_object_set_new(o, "results", results) == -1) {
		json_decref(o);
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	}
	return xrpc_reply(res, o);
}

/* ==== getRecord, listRecords, describeRepo ====================================== */

/* {uri, cid, value} of a record row. */
static json_t *
record_json(const struct ar_record *r, struct arena *a)
{
	struct cbor_val	*v;
	json_t		*o, *val;

	if (cbor_decode(a, r->content, r->len, &v) != CBOR_OK ||
	    (val = cbor_to_json(v)) == NULL)
		return NULL;
	if ((o = json_object()) == NULL || jset_str(o, "uri", r->uri) == -1 ||
	    jset_str(o, "cid", r->cid) == -1 ||
	    json_object_set_new(o, "value", val) == -1) {
		json_decref(o);
		return NULL;
	}
	return o;
}

struct get_rec {
	struct arena	*a;
	json_t		*out;
	int		 takendown;
};

static int
get_rec_cb(void *arg, const struct ar_record *r)
{
	struct get_rec	*g = arg;

	g->takendown = r->takendown;
	if ((g->out = record_json(r, g->a)) == NULL)
		return -1;
	return 1;
}

enum xrpc_status
com_atproto_repo_getRecord(struct xrpc_req *req, struct xrpc_res *res)
{
	struct accountdb_account	 acct;
	struct get_rec			 g = { req->a, NULL, 0 };
	struct storectx			*ctx;
	struct actorstore		*s;
	enum xrpc_status		 st;
	const char			*repo = NULL, *coll = NULL, *rkey = NULL;
	const char			*cid = NULL, *uri;
	int				 found, rc;

	if ((st = repo_param_fmt(req, res, "repo", "at-identifier", 1,
	    &repo)) != XRPC_OK || (st = repo_param_fmt(req, res, "collection",
	    "nsid", 1, &coll)) != XRPC_OK || (st = repo_param_fmt(req, res,
	    "rkey", "record-key", 1, &rkey)) != XRPC_OK ||
	    (st = repo_param_fmt(req, res, "cid", "cid", 0, &cid)) != XRPC_OK ||
	    (st = repo_account(req, res, repo, 0, &acct, &found)) != XRPC_OK)
		return st;
	if (!found) {
		if (req->srv->cfg->appview_url != NULL)
			return xrpc_catchall(req, res);
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Could not locate record");
	}
	if ((uri = arena_printf(req->a, "at://%s/%s/%s", acct.did, coll,
	    rkey)) == NULL || (st = repo_ctx(req, res, &ctx)) != XRPC_OK ||
	    (st = repo_store(req, res, ctx, acct.did, &s)) != XRPC_OK)
		return st != XRPC_OK ? st : xrpc_fail(res, XRPC_ERR_INTERNAL,
		    NULL, NULL);
	if ((rc = ar_record_get(s, uri, cid, get_rec_cb, &g)) == -1) {
		json_decref(g.out);
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	}
	if (rc == 0 || g.takendown) {
		json_decref(g.out);
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, "RecordNotFound",
		    "Could not locate record: %s", uri);
	}
	return xrpc_reply(res, g.out);
}

struct list_rec {
	struct arena	*a;
	json_t		*arr;
	const char	*last;		/* uri of the last record */
};

static int
list_rec_cb(void *arg, const struct ar_record *r)
{
	struct list_rec	*l = arg;
	json_t		*o;

	if ((o = record_json(r, l->a)) == NULL ||
	    json_array_append_new(l->arr, o) == -1 ||
	    (l->last = arena_strdup(l->a, r->uri)) == NULL)
		return -1;
	return 0;
}

enum xrpc_status
com_atproto_repo_listRecords(struct xrpc_req *req, struct xrpc_res *res)
{
	struct accountdb_account	 acct;
	struct list_rec			 l = { req->a, NULL, NULL };
	struct storectx			*ctx;
	struct actorstore		*s;
	enum xrpc_status		 st;
	const char			*repo = NULL, *coll = NULL;
	const char			*cursor = NULL, *slash;
	int64_t				 limit = LIM_LIST_RECORDS_DEFAULT;
	int				 reverse = 0, found;
	json_t				*o;

	if ((st = repo_param_fmt(req, res, "repo", "at-identifier", 1,
	    &repo)) != XRPC_OK || (st = repo_param_fmt(req, res, "collection",
	    "nsid", 1, &coll)) != XRPC_OK ||
	    (st = xrpc_param_int(req, res, "limit", 0, 1,
	    LIM_LIST_RECORDS_MAX, &limit)) != XRPC_OK ||
	    (st = xrpc_param_str(req, res, "cursor", 0, &cursor)) != XRPC_OK ||
	    (st = xrpc_param_bool(req, res, "reverse", 0, &reverse)) !=
	    XRPC_OK || (st = repo_account(req, res, repo, 0, &acct,
	    &found)) != XRPC_OK)
		return st;
	if (!found)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Could not find repo: %s", repo);
	if ((st = repo_ctx(req, res, &ctx)) != XRPC_OK ||
	    (st = repo_store(req, res, ctx, acct.did, &s)) != XRPC_OK)
		return st;
	if ((l.arr = json_array()) == NULL ||
	    ar_records_list(s, coll, (long)limit, cursor, reverse,
	    list_rec_cb, &l) == -1) {
		json_decref(l.arr);
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	}
	if ((o = json_object()) == NULL ||
	    json_object_set_new(o, "records", l.arr) == -1) {
		json_decref(o);
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	}
	if (l.last != NULL && (slash = strrchr(l.last, '/')) != NULL &&
	    jset_str(o, "cursor", slash + 1) == -1) {
		json_decref(o);
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	}
	return xrpc_reply(res, o);
}

static int
collections_cb(void *arg, const char *s)
{
	return json_array_append_new(arg, json_string(s));
}

/* The describeRepo body; takes doc. */
static json_t *
describe_json(const struct accountdb_account *acct, json_t *doc, json_t *cols,
    int handle_ok)
{
	json_t	*o = json_object();

	if (o == NULL || jset_str(o, "handle", acct->handle) == -1 ||
	    jset_str(o, "did", acct->did) == -1 ||
	    json_object_set(o, "didDoc", doc) == -1 ||
	    json_object_set(o, "collections", cols) == -1 ||
	    json_object_set_new(o, "handleIsCorrect",
	    json_boolean(handle_ok)) == -1) {
		json_decref(o);
		return NULL;
	}
	return o;
}

enum xrpc_status
com_atproto_repo_describeRepo(struct xrpc_req *req, struct xrpc_res *res)
{
	struct accountdb_account	 acct;
	struct resolve_atproto		 atp;
	struct acct_ctx			*actx;
	struct storectx			*ctx;
	struct actorstore		*s;
	enum xrpc_status		 st;
	const char			*repo = NULL;
	json_t				*doc = NULL, *o = NULL, *cols;
	int				 found, ok;

	if ((st = repo_param_fmt(req, res, "repo", "at-identifier", 1,
	    &repo)) != XRPC_OK || (st = repo_account(req, res, repo, 0, &acct,
	    &found)) != XRPC_OK)
		return st;
	if (!found)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Could not find user: %s", repo);
	if ((st = repo_ctx(req, res, &ctx)) != XRPC_OK ||
	    (st = repo_store(req, res, ctx, acct.did, &s)) != XRPC_OK)
		return st;
	if ((actx = acct_ctx_get(req, res)) == NULL)
		return XRPC_ERR_INTERNAL;
	if (resolve_did(&actx->resolver, req->a, acct.did, 0, &doc, &atp) != 1)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Could not resolve DID: %s", acct.did);
	ok = atp.handle != NULL && acct.handle != NULL &&
	    strcmp(atp.handle, acct.handle) == 0;
	if ((cols = json_array()) != NULL &&
	    ar_collections(s, collections_cb, cols) != -1)
		o = describe_json(&acct, doc, cols, ok);
	json_decref(cols);
	json_decref(doc);
	return xrpc_reply(res, o);
}

/* ==== uploadBlob, listMissingBlobs ================================================ */

/* Streams the body into a temp file.  Returns XRPC_OK with the file
 * finished (*cid, *size), or an error (the file removed). */
static enum xrpc_status
blob_receive(struct xrpc_req *req, struct xrpc_res *res,
    struct blobstore_upload *u, struct cid *cid, uint64_t *size)
{
	enum xrpc_status	st;
	uint8_t			chunk[LIM_IO_CHUNK];
	size_t			got;

	do {
		if ((st = xrpc_body_read(req, res, chunk, sizeof(chunk),
		    &got)) != XRPC_OK)
			return st;
		if (got > 0 && blobstore_upload_write(u, chunk, got) == -1)
			return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	} while (got > 0);
	if (blobstore_upload_finish(u, cid, size) == -1)
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	return XRPC_OK;
}

/* {blob: {$type: blob, ref: {$link}, mimeType, size}} */
static enum xrpc_status
blob_reply(struct xrpc_res *res, const struct cid *cid, const char *mime,
    uint64_t size)
{
	json_t	*o = json_object(), *b = json_object(), *ref = json_object();

	if (o == NULL || b == NULL || ref == NULL ||
	    jset_cid(ref, "$link", cid) == -1 ||
	    jset_str(b, "$type", "blob") == -1 ||
	    json_object_set(b, "ref", ref) == -1 ||
	    jset_str(b, "mimeType", mime) == -1 ||
	    json_object_set_new(b, "size", json_integer((json_int_t)size)) ==
	    -1 || json_object_set(o, "blob", b) == -1) {
		json_decref(o);
		o = NULL;
	}
	json_decref(ref);
	json_decref(b);
	return xrpc_reply(res, o);
}

enum xrpc_status
com_atproto_repo_uploadBlob(struct xrpc_req *req, struct xrpc_res *res)
{
	struct blobstore_upload	 u;
	struct storectx		*ctx;
	struct actorstore	*s;
	enum xrpc_status	 st;
	struct cid		 cid;
	uint64_t		 size = 0;
	const char		*mime;
	int			 rc;

	if ((st = repo_ctx(req, res, &ctx)) != XRPC_OK ||
	    (st = repo_store(req, res, ctx, req->auth.did, &s)) != XRPC_OK)
		return st;
	if (!ctx->have_blobs || blobstore_upload_open(&ctx->blobs,
	    req->auth.did, &u) == -1)
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	if ((st = blob_receive(req, res, &u, &cid, &size)) != XRPC_OK) {
		blobstore_upload_abort(&u);
		return st;
	}
	if ((mime = mime_sniff(u.head, u.headlen)) == NULL) {
		mime = req->content_type;
		if (mime == NULL || mime_validate(mime, strlen(mime)) == -1)
			mime = "application/octet-stream";
	}
	rc = ar_blob_track(s, &cid, mime, size, u.key);
	if (rc != 0) {
		(void)blobstore_delete_temp(&ctx->blobs, req->auth.did, u.key);
		if (rc == 1)
			return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
			    "Blob has been takendown, cannot re-upload");
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	}
	return blob_reply(res, &cid, mime, size);
}

struct missing {
	json_t		*arr;
	const char	*last;
	struct arena	*a;
};

static int
missing_cb(void *arg, const char *cid, const char *uri)
{
	struct missing	*m = arg;
	json_t		*o = json_object();

	if (o == NULL || json_array_append_new(m->arr, o) == -1 ||
	    jset_str(o, "cid", cid) == -1 ||
	    jset_str(o, "recordUri", uri) == -1 ||
	    (m->last = arena_strdup(m->a, cid)) == NULL)
		return -1;
	return 0;
}

enum xrpc_status
com_atproto_repo_listMissingBlobs(struct xrpc_req *req, struct xrpc_res *res)
{
	struct missing		 m = { NULL, NULL, req->a };
	struct storectx		*ctx;
	struct actorstore	*s;
	enum xrpc_status	 st;
	const char		*cursor = NULL;
	int64_t			 limit = LIM_LIST_BLOBS_DEFAULT;
	json_t			*o;

	if ((st = xrpc_param_int(req, res, "limit", 0, 1, LIM_LIST_BLOBS_MAX,
	    &limit)) != XRPC_OK ||
	    (st = xrpc_param_str(req, res, "cursor", 0, &cursor)) != XRPC_OK ||
	    (st = repo_ctx(req, res, &ctx)) != XRPC_OK ||
	    (st = repo_store(req, res, ctx, req->auth.did, &s)) != XRPC_OK)
		return st;
	if ((m.arr = json_array()) == NULL ||
	    ar_blobs_missing(s, cursor, (long)limit, missing_cb, &m) == -1 ||
	    (o = json_object()) == NULL) {
		json_decref(m.arr);
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	}
	if (json_object_set_new(o, "blobs", m.arr) == -1 ||
	    jset_str(o, "cursor", m.last) == -1) {
		json_decref(o);
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	}
	return xrpc_reply(res, o);
}

/* ==== importRepo ==================================================================== */

struct import_read {
	struct xrpc_req		*req;
	struct xrpc_res		*res;
	enum xrpc_status	 st;	/* the body's error, if any */
};

/* car_read_fn over the request body. */
static ssize_t
import_read(void *arg, void *p, size_t len)
{
	struct import_read	*r = arg;
	size_t			 got;

	if ((r->st = xrpc_body_read(r->req, r->res, p, len, &got)) != XRPC_OK)
		return -1;
	return (ssize_t)got;
}

enum xrpc_status
com_atproto_repo_importRepo(struct xrpc_req *req, struct xrpc_res *res)
{
	struct import_read	 r = { req, res, XRPC_OK };
	struct storectx		*ctx;
	struct actorstore	*s;
	struct rw_result	 out;
	struct rw_error		 err;
	enum xrpc_status	 st;

	if (!req->srv->cfg->accepting_imports)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Service is not accepting repo imports");
	if ((st = repo_ctx(req, res, &ctx)) != XRPC_OK ||
	    (st = repo_store(req, res, ctx, req->auth.did, &s)) != XRPC_OK)
		return st;
	if (repowrite_import(ctx, s, import_read, &r, &out, &err) == -1) {
		if (r.st != XRPC_OK)
			return r.st;	/* recorded by xrpc_body_read() */
		return write_fail(res, &err);
	}
	res->status = 200;
	return XRPC_OK;
}
