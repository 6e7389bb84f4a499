/*
 * actorread.c: reads of an actor store for the XRPC handlers, plus the
 * blob row of an upload.  See actorread.h.
 */
#include <string.h>

#include "actorread.h"
#include "db.h"
#include "log.h"
#include "util.h"

/* Binds text params (NULL: SQL NULL) from 1 and optionally an integer
 * after them.  Returns 0 or -1 (st released). */
static int
bind_all(struct db *db, sqlite3_stmt *st, const char *const *v, int n,
    int has_int, int64_t iv)
{
	if (db_bind_strs(db, st, v, n) == -1)
		return -1;
	if (has_int && sqlite3_bind_int64(st, n + 1, iv) != SQLITE_OK) {
		db_stmt_done(st);
		return -1;
	}
	return 0;
}

/* Fills r from a (uri, cid, content, takedownRef IS NOT NULL) row. */
static int
record_row(sqlite3_stmt *st, struct ar_record *r)
{
	int	n;

	r->uri = (const char *)sqlite3_column_text(st, 0);
	r->cid = (const char *)sqlite3_column_text(st, 1);
	r->content = sqlite3_column_blob(st, 2);
	n = sqlite3_column_bytes(st, 2);
	r->len = n > 0 ? (size_t)n : 0;
	r->takendown = sqlite3_column_int(st, 3);
	return r->uri == NULL || r->cid == NULL || r->content == NULL ? -1 : 0;
}

/* Steps st, handing rows to each(); shared by the list functions. */
static long
rows_each(struct db *db, sqlite3_stmt *st,
    int (*each)(sqlite3_stmt *, void *), void *arg)
{
	long	n = 0;
	int	rc, cb;

	while ((rc = db_step(db, st)) == 1) {
		if ((cb = each(st, arg)) == -1) {
			rc = -1;
			break;
		}
		n++;
		if (cb == 1)
			break;
	}
	db_stmt_done(st);
	return rc == -1 ? -1 : n;
}

/* ---- records ------------------------------------------------------------------ */

struct rec_cb {
	ar_record_fn	 fn;
	void		*arg;
};

static int
rec_each(sqlite3_stmt *st, void *arg)
{
	struct rec_cb		*c = arg;
	struct ar_record	 r;

	if (record_row(st, &r) == -1)
		return -1;
	return c->fn(c->arg, &r);
}

int
ar_record_get(struct actorstore *s, const char *uri, const char *cid,
    ar_record_fn fn, void *arg)
{
	struct db	*db = actorstore_db(s);
	const char	*v[2] = { uri, cid };
	struct rec_cb	 c = { fn, arg };
	sqlite3_stmt	*st;
	long		 n;

	st = db_stmt_get(db, cid != NULL ?
	    "SELECT record.uri, record.cid, repo_block.content, "
	    "record.takedownRef IS NOT NULL FROM record INNER JOIN repo_block "
	    "ON repo_block.cid = record.cid WHERE record.uri = ?1 AND "
	    "record.cid = ?2" :
	    "SELECT record.uri, record.cid, repo_block.content, "
	    "record.takedownRef IS NOT NULL FROM record INNER JOIN repo_block "
	    "ON repo_block.cid = record.cid WHERE record.uri = ?1");
	if (bind_all(db, st, v, cid != NULL ? 2 : 1, 0, 0) == -1)
		return -1;
	if ((n = rows_each(db, st, rec_each, &c)) == -1)
		return -1;
	return n > 0 ? 1 : 0;
}

long
ar_records_list(struct actorstore *s, const char *collection, long limit,
    const char *cursor, int reverse, ar_record_fn fn, void *arg)
{
	static const char *const sql[2][2] = {
		{ "SELECT record.uri, record.cid, repo_block.content, 0 FROM "
		  "record INNER JOIN repo_block ON repo_block.cid = record.cid "
		  "WHERE record.collection = ?1 AND record.takedownRef IS NULL "
		  "ORDER BY record.rkey DESC LIMIT ?2",
		  "SELECT record.uri, record.cid, repo_block.content, 0 FROM "
		  "record INNER JOIN repo_block ON repo_block.cid = record.cid "
		  "WHERE record.collection = ?1 AND record.takedownRef IS NULL "
		  "AND record.rkey < ?2 ORDER BY record.rkey DESC LIMIT ?3" },
		{ "SELECT record.uri, record.cid, repo_block.content, 0 FROM "
		  "record INNER JOIN repo_block ON repo_block.cid = record.cid "
		  "WHERE record.collection = ?1 AND record.takedownRef IS NULL "
		  "ORDER BY record.rkey ASC LIMIT ?2",
		  "SELECT record.uri, record.cid, repo_block.content, 0 FROM "
		  "record INNER JOIN repo_block ON repo_block.cid = record.cid "
		  "WHERE record.collection = ?1 AND record.takedownRef IS NULL "
		  "AND record.rkey > ?2 ORDER BY record.rkey ASC LIMIT ?3" },
	};
	struct db	*db = actorstore_db(s);
	const char	*v[2] = { collection, cursor };
	struct rec_cb	 c = { fn, arg };
	sqlite3_stmt	*st;

	st = db_stmt_get(db, sql[reverse != 0][cursor != NULL]);
	if (bind_all(db, st, v, cursor != NULL ? 2 : 1, 1, limit) == -1)
		return -1;
	return rows_each(db, st, rec_each, &c);
}

struct str_cb {
	ar_str_fn	 fn;
	void		*arg;
};

static int
str_each(sqlite3_stmt *st, void *arg)
{
	struct str_cb	*c = arg;
	const char	*s = (const char *)sqlite3_column_text(st, 0);

	return s == NULL ? -1 : c->fn(c->arg, s);
}

long
ar_collections(struct actorstore *s, ar_str_fn fn, void *arg)
{
	struct db	*db = actorstore_db(s);
	struct str_cb	 c = { fn, arg };
	sqlite3_stmt	*st;

	st = db_stmt_get(db, "SELECT collection FROM record GROUP BY "
	    "collection ORDER BY collection");
	if (st == NULL)
		return -1;
	return rows_each(db, st, str_each, &c);
}

/* ---- blobs ------------------------------------------------------------------------ */

struct blob_cb {
	ar_blob_fn	 fn;
	void		*arg;
};

static int
blob_each(sqlite3_stmt *st, void *arg)
{
	struct blob_cb	*c = arg;
	struct ar_blob	 b;

	b.cid = (const char *)sqlite3_column_text(st, 0);
	b.mime = (const char *)sqlite3_column_text(st, 1);
	b.size = sqlite3_column_int64(st, 2);
	b.temp = sqlite3_column_int(st, 3);
	b.takendown = sqlite3_column_int(st, 4);
	if (b.cid == NULL || b.mime == NULL)
		return -1;
	return c->fn(c->arg, &b);
}

int
ar_blob_get(struct actorstore *s, const char *cid, ar_blob_fn fn, void *arg)
{
	struct db	*db = actorstore_db(s);
	const char	*v[1] = { cid };
	struct blob_cb	 c = { fn, arg };
	sqlite3_stmt	*st;
	long		 n;

	st = db_stmt_get(db, "SELECT cid, mimeType, size, tempKey IS NOT "
	    "NULL, takedownRef IS NOT NULL FROM blob WHERE cid = ?1");
	if (bind_all(db, st, v, 1, 0, 0) == -1)
		return -1;
	if ((n = rows_each(db, st, blob_each, &c)) == -1)
		return -1;
	return n > 0 ? 1 : 0;
}

long
ar_blobs_list(struct actorstore *s, const char *since, const char *cursor,
    long limit, ar_str_fn fn, void *arg)
{
	static const char *const sql[2][2] = {
		{ "SELECT blobCid FROM record_blob GROUP BY blobCid ORDER BY "
		  "blobCid ASC LIMIT ?1",
		  "SELECT blobCid FROM record_blob WHERE blobCid > ?1 GROUP BY "
		  "blobCid ORDER BY blobCid ASC LIMIT ?2" },
		{ "SELECT record_blob.blobCid FROM record_blob INNER JOIN "
		  "record ON record.uri = record_blob.recordUri WHERE "
		  "record.repoRev > ?1 GROUP BY record_blob.blobCid ORDER BY "
		  "record_blob.blobCid ASC LIMIT ?2",
		  "SELECT record_blob.blobCid FROM record_blob INNER JOIN "
		  "record ON record.uri = record_blob.recordUri WHERE "
		  "record.repoRev > ?1 AND record_blob.blobCid > ?2 GROUP BY "
		  "record_blob.blobCid ORDER BY record_blob.blobCid ASC LIMIT "
		  "?3" },
	};
	struct db	*db = actorstore_db(s);
	const char	*v[2];
	struct str_cb	 c = { fn, arg };
	sqlite3_stmt	*st;
	int		 n = 0;

	if (since != NULL)
		v[n++] = since;
	if (cursor != NULL)
		v[n++] = cursor;
	st = db_stmt_get(db, sql[since != NULL][cursor != NULL]);
	if (bind_all(db, st, v, n, 1, limit) == -1)
		return -1;
	return rows_each(db, st, str_each, &c);
}

struct missing_cb {
	ar_missing_fn	 fn;
	void		*arg;
};

static int
missing_each(sqlite3_stmt *st, void *arg)
{
	struct missing_cb	*c = arg;
	const char		*cid = (const char *)sqlite3_column_text(st, 0);
	const char		*uri = (const char *)sqlite3_column_text(st, 1);

	return cid == NULL || uri == NULL ? -1 : c->fn(c->arg, cid, uri);
}

long
ar_blobs_missing(struct actorstore *s, const char *cursor, long limit,
    ar_missing_fn fn, void *arg)
{
	struct db		*db = actorstore_db(s);
	const char		*v[1] = { cursor };
	struct missing_cb	 c = { fn, arg };
	sqlite3_stmt		*st;

	st = db_stmt_get(db, cursor != NULL ?
	    "SELECT blobCid, min(recordUri) FROM record_blob WHERE NOT EXISTS "
	    "(SELECT 1 FROM blob WHERE blob.cid = record_blob.blobCid) AND "
	    "blobCid > ?1 GROUP BY blobCid ORDER BY blobCid ASC LIMIT ?2" :
	    "SELECT blobCid, min(recordUri) FROM record_blob WHERE NOT EXISTS "
	    "(SELECT 1 FROM blob WHERE blob.cid = record_blob.blobCid) "
	    "GROUP BY blobCid ORDER BY blobCid ASC LIMIT ?1");
	if (bind_all(db, st, v, cursor != NULL ? 1 : 0, 1, limit) == -1)
		return -1;
	return rows_each(db, st, missing_each, &c);
}

/* trackUntetheredBlob(). */
int
ar_blob_track(struct actorstore *s, const struct cid *cid, const char *mime,
    uint64_t size, const char *temp_key)
{
	struct db	*db = actorstore_db(s);
	sqlite3_stmt	*st;
	char		 cs[CID_STR_LEN], now[UTIL_ISO_LEN];
	const char	*v[1] = { cs };
	int		 rc;

	cid_format(cid, cs);
	st = db_stmt_get(db, "SELECT 1 FROM blob WHERE cid = ?1 AND "
	    "takedownRef IS NOT NULL");
	if (bind_all(db, st, v, 1, 0, 0) == -1)
		return -1;
	rc = db_step(db, st);
	db_stmt_done(st);
	if (rc != 0)
		return rc;	/* 1: taken down, -1: error */
	util_iso_time(util_now_ms(), now);
	st = db_stmt_get(db, "INSERT INTO blob (cid, mimeType, size, tempKey, "
	    "createdAt) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (cid) DO "
	    "UPDATE SET tempKey = excluded.tempKey WHERE blob.tempKey IS NOT "
	    "NULL");
	if (st == NULL)
		return -1;
	if (sqlite3_bind_text(st, 1, cs, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, mime, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, (sqlite3_int64)size) != SQLITE_OK ||
	    sqlite3_bind_text(st, 4, temp_key, -1, SQLITE_STATIC) !=
	    SQLITE_OK || sqlite3_bind_text(st, 5, now, -1, SQLITE_STATIC) !=
	    SQLITE_OK) {
		db_stmt_done(st);
		return -1;
	}
	rc = db_step(db, st);
	db_stmt_done(st);
	return rc == -1 ? -1 : 0;
}

/* ---- blocks ------------------------------------------------------------------------- */

struct block_cb {
	ar_block_fn	 fn;
	void		*arg;
};

static int
block_each(sqlite3_stmt *st, void *arg)
{
	struct block_cb	*c = arg;
	const char	*cs = (const char *)sqlite3_column_text(st, 0);
	const void	*p = sqlite3_column_blob(st, 1);
	int		 n = sqlite3_column_bytes(st, 1);
	struct cid	 cid;

	if (cs == NULL || cid_parse_str(&cid, cs, strlen(cs)) == -1 ||
	    (p == NULL && n > 0))
		return -1;
	return c->fn(c->arg, &cid, p, (size_t)n);
}

long
ar_blocks_stream(struct actorstore *s, const char *since, ar_root_fn root_fn,
    ar_block_fn block_fn, void *arg)
{
	struct db		*db = actorstore_db(s);
	struct actorstore_root	 root;
	struct block_cb		 c = { block_fn, arg };
	const char		*v[1] = { since };
	sqlite3_stmt		*st;
	long			 n = -1;
	int			 rc;

	if (db_begin(db) == -1)
		return -1;
	if ((rc = actorstore_root_get(s, &root)) != 1) {
		n = rc == 0 ? -2 : -1;
		goto out;
	}
	if (root_fn(arg, &root) == -1)
		goto out;
	st = db_stmt_get(db, since != NULL ?
	    "SELECT cid, content FROM repo_block WHERE repoRev > ?1 ORDER BY "
	    "repoRev DESC, cid DESC" :
	    "SELECT cid, content FROM repo_block ORDER BY repoRev DESC, cid "
	    "DESC");
	if (bind_all(db, st, v, since != NULL ? 1 : 0, 0, 0) == -1)
		goto out;
	n = rows_each(db, st, block_each, &c);
out:
	(void)db_commit(db);
	return n;
}
