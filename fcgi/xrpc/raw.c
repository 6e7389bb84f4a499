/*
 * raw.c: read-after-write (reference packages/pds/src/read-after-write/
 * and the munges of api/app/bsky/actor/getProfile(s).ts, feed/
 * getTimeline.ts, getAuthorFeed.ts, getPostThread.ts, getActorLikes.ts;
 * ../shared/spec/reference-pds.md f "Read-after-write").
 *
 * The call goes to the app view in PROXY_RAW mode with the account's
 * current rev: an answer carrying an older Atproto-Repo-Rev is kept (at
 * most LIM_RAW_BUFFER), every other answer is streamed as it comes.  A
 * kept answer gets the account's records written after that rev
 * (getRecordsSinceRev, at most LIM_RAW_RECORDS) merged in as the
 * reference merges them, and Atproto-Upstream-Lag; when there are none,
 * or the answer does not have the shape to merge into, or building the
 * merge fails, it goes out as it came (the reference's bufferRes).
 */
#include <stdio.h>
#include <string.h>

#include "accounts.h"
#include "cbor.h"
#include "cbor_json.h"
#include "db.h"
#include "handlers.h"
#include "log.h"
#include "proxy.h"
#include "repo_int.h"
#include "util.h"
#include "xrpc_int.h"

#define POST_NSID	"app.bsky.feed.post"
#define THREAD_VIEW	"app.bsky.feed.defs#threadViewPost"
#define EPOCH_ISO	"1970-01-01T00:00:00.000Z"

/* ==== local records (getRecordsSinceRev) ================================= */

/* A record written after the upstream's rev (RecordDescript). */
struct raw_post {
	const char	*uri;		/* arena */
	const char	*cid;		/* arena */
	const char	*indexed;	/* arena */
	json_t		*record;	/* owned: cborToLexRecord() */
};

/* LocalRecords: the latest profile record, the posts (oldest first) and
 * the count of all records read. */
struct raw_local {
	int		 count;
	json_t		*profile;	/* owned, or NULL */
	const char	*profile_indexed;
	struct raw_post	 posts[LIM_RAW_RECORDS];
	size_t		 nposts;
	/* getProfileBasic(), read once on first use */
	int		 author_done;
	json_t		*author;	/* owned, or NULL: no account */
};

static void
raw_local_free(struct raw_local *l)
{
	size_t	i;

	json_decref(l->profile);
	json_decref(l->author);
	for (i = 0; i < l->nposts; i++)
		json_decref(l->posts[i].record);
	memset(l, 0, sizeof(*l));
}

/* One row: the profile (app.bsky.actor.profile/self) or a post of the
 * account; every row counts. */
static void
raw_row(struct xrpc_req *req, sqlite3_stmt *q, struct raw_local *l)
{
	const char	*uri = (const char *)sqlite3_column_text(q, 0);
	const char	*cid = (const char *)sqlite3_column_text(q, 1);
	const char	*indexed = (const char *)sqlite3_column_text(q, 2);
	const uint8_t	*p = sqlite3_column_blob(q, 3);
	size_t		 n = (size_t)sqlite3_column_bytes(q, 3);
	size_t		 dl = strlen(req->auth.did);
	const char	*path;
	struct cbor_val	*v;
	json_t		*j = NULL;
	struct raw_post	*rp;

	l->count++;
	if (uri == NULL || cid == NULL || indexed == NULL ||
	    strncmp(uri, "at://", 5) != 0 ||
	    strncmp(uri + 5, req->auth.did, dl) != 0)
		return;
	path = uri + 5 + dl;
	if (p != NULL && cbor_decode(req->a, p, n, &v) == CBOR_OK)
		j = cbor_to_json(v);
	if (j == NULL)
		return;
	if (strcmp(path, "/app.bsky.actor.profile/self") == 0) {
		json_decref(l->profile);
		l->profile = j;
		l->profile_indexed = arena_strdup(req->a, indexed);
	} else if (strncmp(path, "/" POST_NSID "/", strlen(POST_NSID) + 2) ==
	    0 && l->nposts < LIM_RAW_RECORDS) {
		rp = &l->posts[l->nposts++];
		rp->uri = arena_strdup(req->a, uri);
		rp->cid = arena_strdup(req->a, cid);
		rp->indexed = arena_strdup(req->a, indexed);
		rp->record = j;
		if (rp->uri == NULL || rp->cid == NULL || rp->indexed == NULL) {
			json_decref(j);
			l->nposts--;
		}
	} else
		json_decref(j);
}

/* 1 when some record has repoRev <= rev (the sanity check: a rev older
 * than every local record, as after a migration, is no clock to compare
 * with), 0, -1. */
static int
raw_rev_known(struct db *db, const char *rev)
{
	sqlite3_stmt	*q;
	int		 rc;

	if ((q = db_stmt_get(db, "SELECT 1 FROM \"record\" WHERE "
	    "\"repoRev\" <= ?1 LIMIT 1")) == NULL ||
	    sqlite3_bind_text(q, 1, rev, -1, SQLITE_STATIC) != SQLITE_OK)
		rc = -1;
	else
		rc = db_step(db, q);
	db_stmt_done(q);
	return rc;
}

/* getRecordsSinceRev(rev) of the account's store db. */
static enum xrpc_status
raw_local_get(struct xrpc_req *req, struct xrpc_res *res, struct db *db,
    const char *rev, struct raw_local *l)
{
	sqlite3_stmt	*q;
	int		 rc;

	memset(l, 0, sizeof(*l));
	if ((q = db_stmt_get(db, "SELECT \"record\".\"uri\", "
	    "\"repo_block\".\"cid\", \"record\".\"indexedAt\", "
	    "\"repo_block\".\"content\" FROM \"record\" INNER JOIN "
	    "\"repo_block\" ON \"repo_block\".\"cid\" = \"record\".\"cid\" "
	    "WHERE \"record\".\"repoRev\" > ?1 ORDER BY \"record\".\"repoRev\" "
	    "ASC LIMIT ?2")) == NULL ||
	    sqlite3_bind_text(q, 1, rev, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int(q, 2, LIM_RAW_RECORDS) != SQLITE_OK) {
		db_stmt_done(q);
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	}
	while ((rc = db_step(db, q)) == 1)
		raw_row(req, q, l);
	db_stmt_done(q);
	if (rc == -1) {
		raw_local_free(l);
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	}
	if (l->count == 0)
		return XRPC_OK;
	if ((rc = raw_rev_known(db, rev)) == -1) {
		raw_local_free(l);
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	}
	if (rc == 0)
		raw_local_free(l);
	return XRPC_OK;
}

/* getLocalLag(): now - the oldest indexedAt of the profile and posts, in
 * ms; 0 and *has 0 when there is none. */
static int64_t
raw_lag(const struct raw_local *l, int *has)
{
	const char	*oldest = l->profile != NULL ? l->profile_indexed : NULL;
	int64_t		 ms;
	size_t		 i;

	for (i = 0; i < l->nposts; i++)
		if (oldest == NULL || strcmp(l->posts[i].indexed, oldest) < 0)
			oldest = l->posts[i].indexed;
	*has = oldest != NULL && util_iso_parse(oldest, strlen(oldest),
	    &ms) == 0;
	return *has ? util_now_ms() - ms : 0;
}

/* The account's store db and its current rev (NULL when it has no root). */
static enum xrpc_status
raw_store(struct xrpc_req *req, struct xrpc_res *res, struct db **db,
    const char **rev)
{
	struct storectx		*ctx;
	struct actorstore	*s;
	struct actorstore_root	 root;
	enum xrpc_status	 st;
	int			 rc;

	if ((st = repo_ctx(req, res, &ctx)) != XRPC_OK ||
	    (st = repo_store(req, res, ctx, req->auth.did, &s)) != XRPC_OK)
		return st;
	*db = actorstore_db(s);
	*rev = NULL;
	if ((rc = actorstore_root_get(s, &root)) == -1)
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	if (rc == 1 && (*rev = arena_strdup(req->a, root.rev)) == NULL)
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	return XRPC_OK;
}

/* ==== views (LocalViewer) ================================================ */

/* util.format(pattern, kind, did, cid) for %s, or the PDS's getBlob URL
 * (ImageUrlBuilder). */
static char *
raw_image_url(struct xrpc_req *req, const char *kind, const char *cid)
{
	const char	*pat = req->srv->cfg->appview_cdn_pattern, *args[3];
	struct buf	 b;
	char		*out = NULL;
	size_t		 i = 0;

	if (pat == NULL)
		return arena_printf(req->a, "https://%s/xrpc/com.atproto.sync."
		    "getBlob?did=%s&cid=%s", req->srv->cfg->hostname,
		    req->auth.did, cid);
	args[0] = kind;
	args[1] = req->auth.did;
	args[2] = cid;
	buf_init(&b, LIM_URI_LEN);
	for (; *pat != '\0'; pat++) {
		if (pat[0] == '%' && pat[1] == 's' && i < 3) {
			(void)buf_puts(&b, args[i++]);
			pat++;
		} else if (pat[0] == '%' && pat[1] == '%') {
			(void)buf_putc(&b, '%');
			pat++;
		} else
			(void)buf_putc(&b, (uint8_t)*pat);
	}
	for (; i < 3; i++)	/* util.format appends unused arguments */
		(void)buf_printf(&b, " %s", args[i]);
	if (buf_cstr(&b) == 0)
		out = arena_strdup(req->a, (const char *)b.data);
	buf_free(&b);
	return out;
}

/* The CID of a blob field (a BlobRef's ref, or a legacy blob's cid). */
static const char *
raw_blob_cid(const json_t *blob)
{
	const char	*c;

	if ((c = json_string_value(json_object_get(json_object_get(blob,
	    "ref"), "$link"))) != NULL)
		return c;
	return json_string_value(json_object_get(blob, "cid"));
}

/* Sets key to v (a new reference), or removes it when v is NULL (JS
 * undefined is not serialised).  0 or -1. */
static int
raw_set(json_t *o, const char *key, json_t *v)
{
	if (v == NULL)
		return json_object_get(o, key) != NULL ?
		    json_object_del(o, key) : 0;
	return json_object_set_new(o, key, v);
}

static json_t *
raw_image(struct xrpc_req *req, const json_t *rec, const char *field)
{
	const json_t	*blob = json_object_get(rec, field);
	const char	*cid, *url;

	if (blob == NULL || json_is_null(blob) || json_is_false(blob))
		return NULL;
	if ((cid = raw_blob_cid(blob)) == NULL ||
	    (url = raw_image_url(req, field, cid)) == NULL)
		return NULL;
	return json_string(url);
}

/* updateProfileDetailed(): displayName and avatar, description, banner
 * from the local profile record. */
static int
raw_profile_update(struct xrpc_req *req, json_t *view, const json_t *rec)
{
	json_t	*v;

	v = json_object_get(rec, "displayName");
	if (raw_set(view, "displayName", v != NULL ? json_deep_copy(v) : NULL))
		return -1;
	if (raw_set(view, "avatar", raw_image(req, rec, "avatar")) == -1)
		return -1;
	v = json_object_get(rec, "description");
	if (raw_set(view, "description", v != NULL ? json_deep_copy(v) : NULL))
		return -1;
	return raw_set(view, "banner", raw_image(req, rec, "banner"));
}

/* getProfileMunge() / getProfilesMunge(). */
static int
raw_profile_munge(struct xrpc_req *req, json_t *body, const json_t *rec)
{
	json_t	*arr, *p;
	size_t	 i;
	int	 profiles = strcmp(req->nsid, "app.bsky.actor.getProfiles") == 0;

	if (rec == NULL)
		return 0;
	if (!profiles) {
		if (!json_is_object(body) || !json_is_string(json_object_get(body,
		    "did")) || strcmp(json_string_value(json_object_get(body,
		    "did")), req->auth.did) != 0)
			return 0;
		return raw_profile_update(req, body, rec);
	}
	arr = json_object_get(body, "profiles");
	json_array_foreach(arr, i, p) {
		const char *did = json_string_value(json_object_get(p, "did"));

		if (did != NULL && strcmp(did, req->auth.did) == 0 &&
		    raw_profile_update(req, p, rec) == -1)
			return -1;
	}
	return 0;
}

/* formatMungedResponse(): the merged body as JSON, with
 * Atproto-Upstream-Lag when has_lag (none of the upstream's headers). */
static enum xrpc_status
raw_reply(struct xrpc_res *res, const json_t *body, int64_t lag,
    int has_lag)
{
	char	v[32];

	if (has_lag) {
		(void)snprintf(v, sizeof(v), "%lld", (long long)lag);
		if (xrpc_res_header(res, "Atproto-Upstream-Lag", v) == -1)
			return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	}
	return xrpc_res_json(res, 200, body);
}

/* updateProfileViewBasic(): displayName and avatar from the record. */
static int
raw_profile_basic(struct xrpc_req *req, json_t *view, const json_t *rec)
{
	json_t	*v = json_object_get(rec, "displayName");

	if (raw_set(view, "displayName", v != NULL ? json_deep_copy(v) : NULL))
		return -1;
	return raw_set(view, "avatar", raw_image(req, rec, "avatar"));
}

/* getProfileBasic(): {did, handle, displayName, avatar} from the account
 * and its current profile record; NULL without an account (*bad set on
 * failure). */
static const json_t *
raw_author(struct xrpc_req *req, struct xrpc_res *res, struct db *db,
    struct raw_local *l, int *bad)
{
	struct accountdb_account acct;
	sqlite3_stmt		*q;
	struct cbor_val		*v;
	json_t			*rec = NULL;
	int			 found, rc;

	if (l->author_done)
		return l->author;
	l->author_done = 1;
	if (repo_account(req, res, req->auth.did, 0, &acct, &found) !=
	    XRPC_OK) {
		*bad = 1;
		return NULL;
	}
	if (!found)
		return NULL;
	if ((q = db_stmt_get(db, "SELECT \"repo_block\".\"content\" FROM "
	    "\"record\" LEFT JOIN \"repo_block\" ON \"repo_block\".\"cid\" = "
	    "\"record\".\"cid\" WHERE \"record\".\"collection\" = "
	    "'app.bsky.actor.profile' AND \"record\".\"rkey\" = 'self'")) ==
	    NULL || (rc = db_step(db, q)) == -1) {
		db_stmt_done(q);
		*bad = 1;
		return NULL;
	}
	if (rc == 1 && sqlite3_column_blob(q, 0) != NULL &&
	    cbor_decode(req->a, sqlite3_column_blob(q, 0),
	    (size_t)sqlite3_column_bytes(q, 0), &v) == CBOR_OK)
		rec = cbor_to_json(v);
	db_stmt_done(q);
	l->author = json_pack("{s:s, s:s}", "did", req->auth.did, "handle",
	    acct.handle != NULL ? acct.handle : ACCT_INVALID_HANDLE);
	if (l->author == NULL || raw_profile_basic(req, l->author, rec) == -1)
		*bad = 1;
	json_decref(rec);
	return l->author;
}

/* A GET of lxm?query on the app view with a service JWT (LocalViewer's
 * appViewAgent); the JSON answer, or NULL. */
static json_t *
raw_appview_get(struct xrpc_req *req, struct xrpc_res *res, const char *lxm,
    const char *param, const char *value)
{
	struct xrpc_res		 scratch;
	struct proxy_target	 t;
	struct proxy_call	 c;
	struct buf		 out;
	const char		*enc;
	json_t			*j = NULL;

	/* a response of its own: res holds the kept answer */
	buf_init(&out, LIM_ERR_MSG);
	xrpc_res_init(&scratch, res->cfg, req->a, &out, NULL, 0);
	if (proxy_target_appview(req, &scratch, lxm, &t) != XRPC_OK ||
	    (enc = appbsky_uri_component(req->a, value)) == NULL) {
		buf_free(&scratch.body);
		return NULL;
	}
	memset(&c, 0, sizeof(c));
	c.mode = PROXY_BUFFER;
	c.method = "GET";
	c.path = arena_printf(req->a, "/xrpc/%s?%s=%s", lxm, param, enc);
	c.iss = req->auth.did;
	c.aud = t.did;
	c.lxm = lxm;
	c.accept_encoding = "identity";
	buf_init(&out, LIM_PROXY_BUFFERED);
	c.out = &out;
	if (c.path != NULL && proxy_run(req, &scratch, &t, &c) == XRPC_OK)
		j = json_loadb((const char *)out.data, out.len, 0, NULL);
	buf_free(&out);
	buf_free(&scratch.body);
	return j;
}

/* The context of one merge. */
struct raw_ctx {
	struct xrpc_req		*req;
	struct xrpc_res		*res;
	struct db		*db;
	struct raw_local	*l;
	int			 bad;	/* a failure: the answer goes out as
					 * it came */
};

static json_t *
raw_url(struct raw_ctx *c, const char *kind, const json_t *blob)
{
	const char	*cid = raw_blob_cid(blob), *url;

	if (cid == NULL || (url = raw_image_url(c->req, kind, cid)) == NULL)
		return NULL;
	return json_string(url);
}

/* formatImageEmbed() / formatExternalEmbed(); NULL for other media. */
static json_t *
raw_media_view(struct raw_ctx *c, const json_t *embed)
{
	const json_t	*img, *ext, *v;
	json_t		*out, *arr, *iv;
	size_t		 i;

	if (xrpc_json_str_is(json_object_get(embed, "$type"),
	    "app.bsky.embed.images")) {
		if ((arr = json_array()) == NULL)
			return NULL;
		json_array_foreach(json_object_get(embed, "images"), i, img) {
			v = json_object_get(img, "image");
			iv = json_object();
			if (iv == NULL || raw_set(iv, "thumb", raw_url(c,
			    "feed_thumbnail", v)) || raw_set(iv, "fullsize",
			    raw_url(c, "feed_fullsize", v)) ||
			    raw_set(iv, "aspectRatio", json_deep_copy(
			    json_object_get(img, "aspectRatio"))) ||
			    raw_set(iv, "alt", json_deep_copy(
			    json_object_get(img, "alt"))) ||
			    json_array_append_new(arr, iv) == -1) {
				json_decref(iv);
				json_decref(arr);
				return NULL;
			}
		}
		return json_pack("{s:s, s:o}", "$type",
		    "app.bsky.embed.images#view", "images", arr);
	}
	if (!xrpc_json_str_is(json_object_get(embed, "$type"),
	    "app.bsky.embed.external"))
		return NULL;
	ext = json_object_get(embed, "external");
	if ((out = json_object()) == NULL)
		return NULL;
	if (raw_set(out, "uri", json_deep_copy(json_object_get(ext, "uri"))) ||
	    raw_set(out, "title", json_deep_copy(json_object_get(ext,
	    "title"))) || raw_set(out, "description", json_deep_copy(
	    json_object_get(ext, "description"))) || raw_set(out, "thumb",
	    json_object_get(ext, "thumb") != NULL ? raw_url(c,
	    "feed_thumbnail", json_object_get(ext, "thumb")) : NULL)) {
		json_decref(out);
		return NULL;
	}
	return json_pack("{s:s, s:o}", "$type", "app.bsky.embed.external#view",
	    "external", out);
}

/* {$type: typ, ...view} (a view from the app view, retyped). */
static json_t *
raw_retype(const char *typ, const json_t *view)
{
	json_t		*out;
	const char	*k;
	json_t		*v;

	if (!json_is_object(view) || (out = json_pack("{s:s}", "$type",
	    typ)) == NULL)
		return NULL;
	json_object_foreach((json_t *)view, k, v)
		if (strcmp(k, "$type") != 0 && json_object_set(out, k, v) == -1) {
			json_decref(out);
			return NULL;
		}
	return out;
}

/* formatRecordEmbedInternal(): the embedded record's view from the app
 * view (getPosts, getFeedGenerator, getList), or NULL (not found, or
 * c->bad on failure, as the reference's munge throws). */
static json_t *
raw_record_view(struct raw_ctx *c, const char *uri)
{
	const char	*coll;
	json_t		*j, *post, *out = NULL;

	if (uri == NULL || strncmp(uri, "at://", 5) != 0 ||
	    (coll = strchr(uri + 5, '/')) == NULL)
		return NULL;
	coll++;
	if (strncmp(coll, POST_NSID "/", strlen(POST_NSID) + 1) == 0) {
		if ((j = raw_appview_get(c->req, c->res,
		    "app.bsky.feed.getPosts", "uris", uri)) == NULL) {
			c->bad = 1;
			return NULL;
		}
		post = json_array_get(json_object_get(j, "posts"), 0);
		if (post != NULL && (out = json_pack("{s:s, s:O?, s:O?, s:O?, "
		    "s:O?}", "$type", "app.bsky.embed.record#viewRecord",
		    "uri", json_object_get(post, "uri"), "cid",
		    json_object_get(post, "cid"), "author",
		    json_object_get(post, "author"), "value",
		    json_object_get(post, "record"))) != NULL &&
		    (raw_set(out, "labels", json_deep_copy(json_object_get(post,
		    "labels"))) || raw_set(out, "embeds",
		    json_object_get(post, "embed") != NULL ? json_pack("[O]",
		    json_object_get(post, "embed")) : NULL) ||
		    raw_set(out, "indexedAt", json_deep_copy(
		    json_object_get(post, "indexedAt"))))) {
			json_decref(out);
			out = NULL;
			c->bad = 1;
		}
		json_decref(j);
		return out;
	}
	if (strncmp(coll, "app.bsky.feed.generator/", 24) == 0) {
		if ((j = raw_appview_get(c->req, c->res,
		    "app.bsky.feed.getFeedGenerator", "feed", uri)) != NULL)
			out = raw_retype("app.bsky.feed.defs#generatorView",
			    json_object_get(j, "view"));
	} else if (strncmp(coll, "app.bsky.graph.list/", 20) == 0) {
		if ((j = raw_appview_get(c->req, c->res,
		    "app.bsky.graph.getList", "list", uri)) != NULL)
			out = raw_retype("app.bsky.graph.defs#listView",
			    json_object_get(j, "list"));
	} else
		return NULL;
	if (out == NULL)
		c->bad = 1;
	json_decref(j);
	return out;
}

/* formatRecordEmbed(). */
static json_t *
raw_record_embed(struct raw_ctx *c, const json_t *embed)
{
	const json_t	*uri = json_object_get(json_object_get(embed, "record"),
			    "uri");
	json_t		*view;

	view = raw_record_view(c, json_string_value(uri));
	if (c->bad)
		return NULL;
	if (view == NULL && (view = json_pack("{s:s, s:O?, s:b}", "$type",
	    "app.bsky.embed.record#viewNotFound", "uri", uri, "notFound",
	    1)) == NULL)
		return NULL;
	return json_pack("{s:s, s:o}", "$type", "app.bsky.embed.record#view",
	    "record", view);
}

/* formatPostEmbed(): the view of the record's embed, or NULL. */
static json_t *
raw_embed(struct raw_ctx *c, const json_t *embed)
{
	const json_t	*t = json_object_get(embed, "$type");
	json_t		*media, *rec;

	if (xrpc_json_str_is(t, "app.bsky.embed.images") ||
	    xrpc_json_str_is(t, "app.bsky.embed.external"))
		return raw_media_view(c, embed);
	if (xrpc_json_str_is(t, "app.bsky.embed.record"))
		return raw_record_embed(c, embed);
	if (!xrpc_json_str_is(t, "app.bsky.embed.recordWithMedia") ||
	    (media = raw_media_view(c, json_object_get(embed, "media"))) ==
	    NULL)
		return NULL;
	if ((rec = raw_record_embed(c, json_object_get(embed, "record"))) ==
	    NULL) {
		json_decref(media);
		return NULL;
	}
	return json_pack("{s:s, s:o, s:o}", "$type",
	    "app.bsky.embed.recordWithMedia#view", "record", rec, "media",
	    media);
}

/* getPost(): the post view of a local post, or NULL (no account, or
 * c->bad). */
static json_t *
raw_post_view(struct raw_ctx *c, const struct raw_post *p)
{
	const json_t	*author;
	json_t		*view, *embed = NULL;

	if ((author = raw_author(c->req, c->res, c->db, c->l, &c->bad)) ==
	    NULL)
		return NULL;
	if (json_object_get(p->record, "embed") != NULL &&
	    (embed = raw_embed(c, json_object_get(p->record, "embed"))) ==
	    NULL && c->bad)
		return NULL;
	view = json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:O, s:O}",
	    "uri", p->uri, "cid", p->cid, "likeCount", 0, "replyCount", 0,
	    "repostCount", 0, "quoteCount", 0, "author", author, "record",
	    p->record);
	if (view == NULL || raw_set(view, "embed", embed) ||
	    json_object_set_new(view, "indexedAt", json_string(p->indexed))) {
		json_decref(view);
		c->bad = 1;
		return NULL;
	}
	return view;
}

/* ==== munges ============================================================= */

static const char *
raw_item_indexed(const json_t *item)
{
	return json_string_value(json_object_get(json_object_get(item, "post"),
	    "indexedAt"));
}

/* formatAndInsertPostsInFeed(): the local posts newer than the feed's
 * last item, newest first, each before the first item older than it. */
static void
raw_feed_insert(struct raw_ctx *c, json_t *feed)
{
	const char	*last, *t;
	json_t		*view;
	size_t		 n, i, k;

	if (c->l->nposts == 0)
		return;
	n = json_array_size(feed);
	last = n > 0 ? raw_item_indexed(json_array_get(feed, n - 1)) : NULL;
	if (last == NULL)
		last = EPOCH_ISO;
	for (i = c->l->nposts; i-- > 0 && !c->bad;) {
		const struct raw_post *p = &c->l->posts[i];

		if (strcmp(p->indexed, last) <= 0)
			continue;
		if ((view = raw_post_view(c, p)) == NULL)
			continue;
		for (k = 0; k < json_array_size(feed); k++) {
			t = raw_item_indexed(json_array_get(feed, k));
			if (t != NULL && strcmp(t, p->indexed) < 0)
				break;
		}
		if (json_array_insert_new(feed, k, json_pack("{s:o}", "post",
		    view)) == -1)
			c->bad = 1;
	}
}

/* The feed items by the account get the local profile's displayName and
 * avatar (getAuthorFeed / getActorLikes). */
static void
raw_feed_profile(struct raw_ctx *c, json_t *feed)
{
	json_t		*item, *author;
	const char	*did;
	size_t		 i;

	if (c->l->profile == NULL)
		return;
	json_array_foreach(feed, i, item) {
		author = json_object_get(json_object_get(item, "post"),
		    "author");
		did = json_string_value(json_object_get(author, "did"));
		if (did != NULL && strcmp(did, c->req->auth.did) == 0 &&
		    json_is_object(author) &&
		    raw_profile_basic(c->req, author, c->l->profile) == -1)
			c->bad = 1;
	}
}

/* isUsersFeed(): the first item is the account's post, or its repost. */
static int
raw_users_feed(struct raw_ctx *c, const json_t *feed)
{
	const json_t	*first = json_array_get(feed, 0), *reason;
	const char	*did;

	if (first == NULL)
		return 0;
	reason = json_object_get(first, "reason");
	if (reason == NULL)
		did = json_string_value(json_object_get(json_object_get(
		    json_object_get(first, "post"), "author"), "did"));
	else if (xrpc_json_str_is(json_object_get(reason, "$type"),
	    "app.bsky.feed.defs#reasonRepost"))
		did = json_string_value(json_object_get(json_object_get(reason,
		    "by"), "did"));
	else
		return 0;
	return did != NULL && strcmp(did, c->req->auth.did) == 0;
}

static const char *
raw_reply_uri(const json_t *record, const char *which)
{
	return json_string_value(json_object_get(json_object_get(
	    json_object_get(record, "reply"), which), "uri"));
}

/* insertIntoThreadReplies(): p first among the replies of the post it
 * answers, searched down the replies. */
static void
raw_thread_insert(struct raw_ctx *c, json_t *view, const struct raw_post *p)
{
	const char	*parent = raw_reply_uri(p->record, "parent");
	const char	*uri = json_string_value(json_object_get(
			    json_object_get(view, "post"), "uri"));
	json_t		*replies = json_object_get(view, "replies"), *r, *pv;
	size_t		 i;

	if (parent != NULL && uri != NULL && strcmp(parent, uri) == 0) {
		if ((pv = raw_post_view(c, p)) == NULL)
			return;
		if (!json_is_array(replies) && (json_object_set_new(view,
		    "replies", json_array()) == -1 ||
		    (replies = json_object_get(view, "replies")) == NULL)) {
			json_decref(pv);
			c->bad = 1;
			return;
		}
		if (json_array_insert_new(replies, 0, json_pack("{s:s, s:o}",
		    "$type", THREAD_VIEW, "post", pv)) == -1)
			c->bad = 1;
		return;
	}
	json_array_foreach(replies, i, r) {
		if (c->bad)
			return;
		if (xrpc_json_str_is(json_object_get(r, "$type"), THREAD_VIEW))
			raw_thread_insert(c, r, p);
	}
}

/* addPostsToThread(): the local posts of the thread's root. */
static void
raw_thread_add(struct raw_ctx *c, json_t *thread)
{
	const json_t	*post = json_object_get(thread, "post");
	const char	*uri = json_string_value(json_object_get(post, "uri"));
	const char	*troot = raw_reply_uri(json_object_get(post, "record"),
			    "root");
	const char	*root;
	size_t		 i;

	for (i = 0; i < c->l->nposts && !c->bad; i++) {
		root = raw_reply_uri(c->l->posts[i].record, "root");
		if (root == NULL || !((uri != NULL && strcmp(root, uri) == 0) ||
		    (troot != NULL && strcmp(root, troot) == 0)))
			continue;
		raw_thread_insert(c, thread, &c->l->posts[i]);
	}
}

/* The munge of the method on body: 1 merged, 0 the answer has not the
 * shape to merge into (it goes out as it came). */
static int
raw_munge(struct raw_ctx *c, json_t *body)
{
	const char	*nsid = c->req->nsid;
	json_t		*feed = json_object_get(body, "feed");
	json_t		*thread;

	if (strncmp(nsid, "app.bsky.actor.", 15) == 0) {
		if (raw_profile_munge(c->req, body, c->l->profile) == -1)
			c->bad = 1;
		return 1;
	}
	if (strcmp(nsid, "app.bsky.feed.getPostThread") == 0) {
		thread = json_object_get(body, "thread");
		if (!json_is_object(thread))
			return 0;
		if (xrpc_json_str_is(json_object_get(thread, "$type"),
		    THREAD_VIEW))
			raw_thread_add(c, thread);
		return 1;
	}
	if (!json_is_array(feed))
		return 0;
	if (strcmp(nsid, "app.bsky.feed.getTimeline") == 0)
		raw_feed_insert(c, feed);
	else if (strcmp(nsid, "app.bsky.feed.getActorLikes") == 0)
		raw_feed_profile(c, feed);
	else if (raw_users_feed(c, feed)) {	/* getAuthorFeed */
		raw_feed_profile(c, feed);
		raw_feed_insert(c, feed);
	}
	return 1;
}

/* pipethroughReadAfterWrite() with the munge of req->nsid. */
static enum xrpc_status
raw_run(struct xrpc_req *req, struct xrpc_res *res)
{
	struct proxy_result	 r;
	struct raw_local	 l;
	struct raw_ctx		 c;
	struct db		*db;
	const char		*cur;
	enum xrpc_status	 st;
	json_t			*body;
	int			 has_lag;
	int64_t			 lag;

	if ((st = raw_store(req, res, &db, &cur)) != XRPC_OK ||
	    (st = proxy_pipethrough_raw(req, res, req->auth.did, cur, &r)) !=
	    XRPC_OK || !r.buffered)
		return st;
	body = json_loadb((const char *)res->body.data, res->body.len,
	    JSON_ALLOW_NUL, NULL);
	if (body == NULL || !json_is_object(body)) {
		json_decref(body);
		return proxy_result_apply(res, &r);
	}
	if ((st = raw_local_get(req, res, db, r.rev, &l)) != XRPC_OK) {
		json_decref(body);
		return st;
	}
	memset(&c, 0, sizeof(c));
	c.req = req;
	c.res = res;
	c.db = db;
	c.l = &l;
	if (l.count == 0 || !raw_munge(&c, body) || c.bad) {
		if (c.bad)
			log_warn("%s: %s: read-after-write merge failed, "
			    "answer passed on", __func__, req->id);
		json_decref(body);
		raw_local_free(&l);
		return proxy_result_apply(res, &r);
	}
	lag = raw_lag(&l, &has_lag);
	st = raw_reply(res, body, has_lag ? lag : 0, has_lag);
	json_decref(body);
	raw_local_free(&l);
	return st;
}

enum xrpc_status
app_bsky_actor_raw_profile(struct xrpc_req *req, struct xrpc_res *res)
{
	return raw_run(req, res);
}

enum xrpc_status
app_bsky_raw_pipethrough(struct xrpc_req *req, struct xrpc_res *res)
{
	return raw_run(req, res);
}
