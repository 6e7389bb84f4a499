/*
 * repowrite.c: one repository commit from prepared writes, stored and
 * sequenced all or nothing.  See repowrite.h for the pipeline and for how
 * the #commit event survives a crash (seq_pending).
 *
 * Owns the SQL that changes an actor store (record, backlink, blob,
 * record_blob, seq_pending; repo_block through actorstore.c) and when a
 * #commit row is appended to repo_seq (through seqdb.h, never twice).
 * Does not own record preparation (prepare.c), the MST (repo.h) or blob
 * files (blobstore.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accountdb.h"
#include "cbor.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "prepare.h"
#include "repowrite.h"
#include "seqdb.h"
#include "seqevt.h"
#include "syntax.h"
#include "util.h"

/* State of one call. */
struct rw_txn {
	struct storectx		*ctx;
	struct actorstore	*s;
	struct db		*db;
	const char		*did;
	struct arena		*a;
	struct rw_error		*err;
	char			 now[UTIL_ISO_LEN];
	struct cid		*gone;		/* blob files to delete after */
	size_t			 ngone;
	size_t			 gonecap;
};

/* Sets up the state of one call on store s. */
static void
rw_txn_init(struct rw_txn *t, struct storectx *ctx, struct actorstore *s,
    struct arena *a, struct rw_error *err)
{
	memset(t, 0, sizeof(*t));
	t->ctx = ctx;
	t->s = s;
	t->db = actorstore_db(s);
	t->did = actorstore_did(s);
	t->a = a;
	t->err = err;
	util_iso_time(util_now_ms(), t->now);
}

/* ==== errors ============================================================== */

static int
rw_fail(struct rw_error *e, int status, const char *name, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));

static int
rw_fail(struct rw_error *e, int status, const char *name, const char *fmt,
    ...)
{
	va_list	ap;

	e->status = status;
	e->name = name;
	va_start(ap, fmt);
	(void)vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* An internal failure (logged once here). */
static int
rw_internal(struct rw_txn *t, const char *func, const char *what)
{
	log_error("%s: %s: %s", func, t->did, what);
	return rw_fail(t->err, 500, NULL, "Internal Server Error");
}

/* ==== record lookups ==================================================== */

/* The current CID of record uri (soft-deleted included).  1 / 0 / -1. */
static int
record_cid_get(struct db *db, const char *uri, struct cid *out)
{
	const char	*v[1] = { uri };
	sqlite3_stmt	*st;
	const char	*cs;
	int		 rc;

	if ((rc = db_query_strs(db, "SELECT cid FROM record WHERE uri = ?1",
	    v, 1, &st)) != 1)
		return rc;
	cs = (const char *)sqlite3_column_text(st, 0);
	if (cs == NULL || cid_parse_str(out, cs, strlen(cs)) == -1)
		rc = -1;
	db_stmt_done(st);
	return rc;
}

/* ==== sequencing and seq_pending ============================================= */

/* seqdb_last() callback: the rev of a #commit body into arg. */
static int
commit_rev_get(const struct seqdb_row *row, void *arg)
{
	char		*rev = arg;
	struct arena	 a;
	struct cbor_val	*ev, *r;
	int		 rc = -1;

	arena_init(&a);
	if (cbor_decode(&a, row->event, row->event_len, &ev) == CBOR_OK &&
	    (r = cbor_map_get(ev, "rev")) != NULL && r->type == CBOR_TEXT &&
	    r->u.s.len < TID_STR_LEN) {
		memcpy(rev, r->u.s.p, r->u.s.len);
		rev[r->u.s.len] = '\0';
		rc = 0;
	} else
		log_error("%s: %.*s: undecodable #commit row", __func__,
		    (int)row->did_len, row->did);
	arena_free(&a);
	return rc;
}

/* Appends the #commit event of rev unless repo_seq has it (see
 * repowrite.h).  Call with the repository's write lock held. */
static int
sequence_event(struct storectx *ctx, const char *did, const char *rev,
    const uint8_t *ev, size_t len)
{
	char	last[TID_STR_LEN];
	int	rc;

	if ((rc = seqdb_last(ctx->seq, did, SEQDB_APPEND, commit_rev_get,
	    last)) == -1)
		return -1;
	if (rc == 1 && strcmp(last, rev) >= 0)
		return 0;
	return seqdb_append(ctx->seq, did, SEQDB_APPEND, ev, len,
	    util_now_ms(), NULL);
}

/* Sequences and deletes every pending row, in rev order (inside the
 * write transaction, under the lock).  The events are appended as one
 * sequencer transaction, opened only when there is one: all of them or,
 * on failure, none (they stay pending). */
static int
pending_flush(struct rw_txn *t)
{
	struct seqdb	*seq = t->ctx->seq;
	sqlite3_stmt	*st;
	const char	*rev;
	const void	*p;
	char		 upto[TID_STR_LEN] = "";
	const char	*v[1];
	int		 rc, len, n = 0;

	st = db_stmt_get(t->db, "SELECT rev, event FROM seq_pending ORDER BY "
	    "rev LIMIT ?1");
	if (st == NULL || sqlite3_bind_int(st, 1, LIM_PENDING_EVENTS) !=
	    SQLITE_OK) {
		db_stmt_done(st);
		return rw_internal(t, __func__, "seq_pending query");
	}
	while ((rc = db_step(t->db, st)) == 1) {
		rev = (const char *)sqlite3_column_text(st, 0);
		p = sqlite3_column_blob(st, 1);
		len = sqlite3_column_bytes(st, 1);
		if (rev == NULL || strlen(rev) >= TID_STR_LEN || p == NULL ||
		    (n == 0 && seqdb_begin(seq) == -1) ||
		    sequence_event(t->ctx, t->did, rev, p, (size_t)len) == -1) {
			rc = -1;
			break;
		}
		memcpy(upto, rev, strlen(rev) + 1);
		n++;
	}
	db_stmt_done(st);
	if (rc == -1 || (n > 0 && seqdb_commit(seq) == -1)) {
		seqdb_rollback(seq);
		return rw_internal(t, __func__, "cannot sequence a pending "
		    "event");
	}
	if (n == 0)
		return 0;
	v[0] = upto;
	if (db_exec_strs(t->db, "DELETE FROM seq_pending WHERE rev <= ?1", v,
	    1) == -1)
		return rw_internal(t, __func__, "seq_pending delete");
	return 0;
}

/* Deletes the pending row of a sequenced event (autocommit, still under
 * the lock).  Failing is harmless: the next write drops it. */
static void
pending_drop(struct rw_txn *t, const char *rev)
{
	const char	*v[1] = { rev };

	if (db_exec_strs(t->db, "DELETE FROM seq_pending WHERE rev = ?1", v,
	    1) == -1)
		log_warn("%s: %s: rev %s stays pending", __func__, t->did, rev);
}

static int
pending_insert(struct rw_txn *t, const char *rev, const struct buf *ev)
{
	sqlite3_stmt	*st;
	int		 rc;

	st = db_stmt_get(t->db, "INSERT INTO seq_pending (rev, event) VALUES "
	    "(?1, ?2)");
	if (st == NULL)
		return -1;
	if (sqlite3_bind_text(st, 1, rev, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_blob(st, 2, ev->data, (int)ev->len, SQLITE_STATIC) !=
	    SQLITE_OK) {
		db_stmt_done(st);
		return -1;
	}
	rc = db_step(t->db, st);
	db_stmt_done(st);
	return rc == -1 ? -1 : 0;
}

/* ---- marker files: <actors>/seq_pending/<did> while a write is in
 * flight (written and removed under the repository's lock) ---------- */

static int
marker_path(const struct storectx *ctx, const char *did, char *out,
    size_t outsz)
{
	int	n;

	if (ctx->pending_dir == NULL)
		return -1;
	n = snprintf(out, outsz, "%s/%s", ctx->pending_dir, did);
	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

static int
marker_set(const struct storectx *ctx, const char *did)
{
	char	p[LIM_STORE_PATH];
	int	fd;

	if (marker_path(ctx, did, p, sizeof(p)) == -1)
		return -1;
	if ((fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) == -1) {
		log_error("%s: %s: %s", __func__, p, strerror(errno));
		return -1;
	}
	(void)close(fd);
	return 0;
}

static void
marker_clear(const struct storectx *ctx, const char *did)
{
	char	p[LIM_STORE_PATH];

	if (marker_path(ctx, did, p, sizeof(p)) == 0 && unlink(p) == -1 &&
	    errno != ENOENT)
		log_warn("%s: %s: %s", __func__, p, strerror(errno));
}

/* ==== swaps and backlink deletions ============================================ */

static int
swap_commit_check(struct rw_txn *t, const struct actorstore_root *root,
    const struct cid *swap)
{
	char	cs[CID_STR_LEN];

	if (swap == NULL || cid_equal(swap, &root->cid))
		return 0;
	cid_format(&root->cid, cs);
	return rw_fail(t->err, 400, "InvalidSwap", "Commit was at %s", cs);
}

/* formatCommit()'s BadRecordSwapError rules for one write. */
static int
swap_record_check(struct rw_txn *t, const struct rw_write *w)
{
	struct cid	cur;
	char		cs[CID_STR_LEN];
	int		have, bad;

	if (w->swap == RW_SWAP_NONE)
		return 0;
	if ((have = record_cid_get(t->db, w->uri, &cur)) == -1)
		return rw_internal(t, __func__, "record lookup");
	bad = (w->action == REPO_CREATE && w->swap == RW_SWAP_CID) ||
	    (w->action != REPO_CREATE && w->swap == RW_SWAP_NULL);
	if (!bad && (have || w->swap == RW_SWAP_CID))
		bad = !(have && w->swap == RW_SWAP_CID &&
		    cid_equal(&cur, &w->swap_cid));
	if (!bad)
		return 0;
	if (have)
		cid_format(&cur, cs);
	return rw_fail(t->err, 400, "InvalidSwap", "Record was at %s",
	    have ? cs : "null");
}

/* A delete of <collection>/<rkey> of this repository, in the arena. */
static int
make_delete(struct rw_txn *t, const char *collection, const char *rkey,
    struct rw_write *out)
{
	memset(out, 0, sizeof(*out));
	out->action = REPO_DELETE;
	out->collection = collection;
	out->rkey = arena_strdup(t->a, rkey);
	out->key = arena_printf(t->a, "%s/%s", collection, rkey);
	out->uri = arena_printf(t->a, "at://%s/%s/%s", t->did, collection,
	    rkey);
	return out->rkey == NULL || out->key == NULL || out->uri == NULL ?
	    -1 : 0;
}

/* getBacklinkConflicts(): the records of w's collection that have w's
 * backlink become deletes ahead of w.  *all gets the new write list. */
static int
backlink_dedup(struct rw_txn *t, struct rw_write *w, size_t n,
    struct rw_write **all, size_t *nall)
{
	const char	*v[3] = { w[0].bl_path, w[0].bl_link, w[0].collection };
	struct rw_write	*list;
	sqlite3_stmt	*st;
	const char	*rkey;
	size_t		 k = 0;
	int		 rc;

	*all = w;
	*nall = n;
	if (w[0].action != REPO_CREATE || w[0].bl_path == NULL)
		return 0;
	if ((list = arena_calloc(t->a, LIM_WRITES_PER_COMMIT + 1,
	    sizeof(*list))) == NULL)
		return rw_internal(t, __func__, "out of memory");
	for (rc = db_query_strs(t->db, "SELECT record.rkey FROM record INNER "
	    "JOIN backlink ON backlink.uri = record.uri WHERE backlink.path = "
	    "?1 AND backlink.linkTo = ?2 AND record.collection = ?3", v, 3,
	    &st); rc == 1 && k + n < LIM_WRITES_PER_COMMIT;
	    rc = db_step(t->db, st)) {
		rkey = (const char *)sqlite3_column_text(st, 0);
		if (rkey == NULL ||
		    make_delete(t, w[0].collection, rkey, &list[k]) == -1) {
			rc = -1;
			break;
		}
		k++;
	}
	db_stmt_done(st);
	if (rc == -1)
		return rw_internal(t, __func__, "backlink lookup");
	if (k == 0)
		return 0;
	memcpy(list + k, w, n * sizeof(*w));
	*all = list;
	*nall = k + n;
	return 0;
}

/* ==== indexing ================================================================= */

static int
index_write(struct rw_txn *t, const struct rw_write *w, const char *rev)
{
	char		 cs[CID_STR_LEN];
	const char	*up[6] = { w->uri, cs, w->collection, w->rkey, rev,
			    t->now };
	const char	*u[1] = { w->uri };
	const char	*bl[3] = { w->uri, w->bl_path, w->bl_link };

	if (w->action == REPO_DELETE)
		return db_exec_strs(t->db, "DELETE FROM record WHERE uri = "
		    "?1", u, 1) == -1 || db_exec_strs(t->db, "DELETE FROM "
		    "backlink WHERE uri = ?1", u, 1) == -1 ? -1 : 0;
	cid_format(&w->cid, cs);
	if (db_exec_strs(t->db, "INSERT INTO record (uri, cid, collection, "
	    "rkey, repoRev, indexedAt) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON "
	    "CONFLICT (uri) DO UPDATE SET cid = excluded.cid, repoRev = "
	    "excluded.repoRev, indexedAt = excluded.indexedAt", up, 6) == -1)
		return -1;
	if (w->action == REPO_UPDATE && db_exec_strs(t->db, "DELETE FROM "
	    "backlink WHERE uri = ?1", u, 1) == -1)
		return -1;
	if (w->bl_path != NULL && db_exec_strs(t->db, "INSERT INTO backlink "
	    "(uri, path, linkTo) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
	    bl, 3) == -1)
		return -1;
	return 0;
}

/* ==== blobs ===================================================================== */

static int
gone_push(struct rw_txn *t, const struct cid *c)
{
	struct cid	*p;

	if (t->ngone == t->gonecap) {
		size_t	cap = t->gonecap == 0 ? 8 : t->gonecap * 2;

		if ((p = reallocarray(t->gone, cap, sizeof(*p))) == NULL)
			return -1;
		t->gone = p;
		t->gonecap = cap;
	}
	t->gone[t->ngone++] = *c;
	return 0;
}

/* Is c referenced by a create or update of this commit? */
static int
blob_in_writes(const struct rw_write *w, size_t n, const struct cid *c)
{
	size_t	i, j;

	for (i = 0; i < n; i++)
		for (j = 0; w[i].action != REPO_DELETE && j < w[i].nblobs; j++)
			if (cid_equal(&w[i].blobs[j].cid, c))
				return 1;
	return 0;
}

/* Drops the blob row of c when nothing references it any more. */
static int
blob_maybe_drop(struct rw_txn *t, const char *cs, const struct rw_write *w,
    size_t n)
{
	const char	*v[1] = { cs };
	sqlite3_stmt	*st;
	struct cid	 c;
	int		 rc;

	if (cid_parse_str(&c, cs, strlen(cs)) == -1)
		return -1;
	if (blob_in_writes(w, n, &c))
		return 0;
	if ((rc = db_query_strs(t->db, "SELECT 1 FROM record_blob WHERE "
	    "blobCid = ?1 LIMIT 1", v, 1, &st)) == 1) {
		db_stmt_done(st);
		return 0;
	}
	if (rc == -1 || db_exec_strs(t->db, "DELETE FROM blob WHERE cid = ?1",
	    v, 1) == -1)
		return -1;
	return gone_push(t, &c);
}

/* deleteDereferencedBlobs() for one updated or deleted record. */
static int
blob_deref(struct rw_txn *t, const char *uri, const struct rw_write *w,
    size_t n)
{
	const char	*v[1] = { uri };
	const char	**cids = NULL;
	sqlite3_stmt	*st;
	const char	*cs;
	size_t		 k = 0, i, cap = 0;
	int		 rc;

	for (rc = db_query_strs(t->db, "SELECT blobCid FROM record_blob WHERE "
	    "recordUri = ?1", v, 1, &st); rc == 1; rc = db_step(t->db, st)) {
		if (k == cap) {
			const char **p;

			cap = cap == 0 ? 8 : cap * 2;
			if ((p = arena_calloc(t->a, cap, sizeof(*p))) == NULL) {
				rc = -1;
				break;
			}
			if (k > 0)
				memcpy(p, cids, k * sizeof(*p));
			cids = p;
		}
		cs = (const char *)sqlite3_column_text(st, 0);
		if (cs == NULL || (cids[k++] = arena_strdup(t->a, cs)) ==
		    NULL) {
			rc = -1;
			break;
		}
	}
	db_stmt_done(st);
	if (rc == -1 || (k > 0 && db_exec_strs(t->db, "DELETE FROM record_blob "
	    "WHERE recordUri = ?1", v, 1) == -1))
		return -1;
	for (i = 0; i < k; i++)
		if (blob_maybe_drop(t, cids[i], w, n) == -1)
			return -1;
	return 0;
}

/* prettyBytes() of the reference's BlobTooLarge message (SI units). */
static void
pretty_bytes(int64_t n, char *out, size_t outsz)
{
	static const char *const units[] = { "B", "kB", "MB", "GB", "TB" };
	double	v = (double)n;
	size_t	u = 0;

	while (v >= 1000.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1000.0;
		u++;
	}
	(void)snprintf(out, outsz, "%.3g %s", v, units[u]);
}

/* acceptedMime() of blob/transactor.ts. */
static int
accepted_mime(const char *mime, const struct rw_blob *b)
{
	size_t	i, len;

	for (i = 0; i < b->naccept; i++) {
		len = strlen(b->accept[i]);
		if (strcmp(b->accept[i], "*/*") == 0 ||
		    strcmp(b->accept[i], mime) == 0)
			return 1;
		if (len >= 2 && strcmp(b->accept[i] + len - 2, "/*") == 0 &&
		    strncmp(mime, b->accept[i], len - 1) == 0)
			return 1;
	}
	return 0;
}

/* verifyBlob(): the stored blob against the reference and the lexicon. */
static int
blob_verify(struct rw_txn *t, const struct rw_blob *b, const char *mime,
    int64_t size)
{
	char	have[32], max[32], list[LIM_ERR_MSG / 2];
	size_t	i, off = 0;

	if (b->max_size > 0 && size > b->max_size) {
		pretty_bytes(size, have, sizeof(have));
		pretty_bytes(b->max_size, max, sizeof(max));
		return rw_fail(t->err, 400, "BlobTooLarge", "This file is too "
		    "large. It is %s but the maximum size is %s.", have, max);
	}
	if (b->mimelen != strlen(mime) || memcmp(b->mime, mime, b->mimelen) !=
	    0)
		return rw_fail(t->err, 400, "InvalidMimeType", "Referenced "
		    "Mimetype does not match stored blob. Expected: %s, Got: %s",
		    mime, b->mime);
	if (b->size != size)
		return rw_fail(t->err, 400, "InvalidBlob", "Referenced size "
		    "does not match stored blob. Expected: %lld, Got: %lld",
		    (long long)size, (long long)b->size);
	if (b->accept == NULL || accepted_mime(b->mime, b))
		return 0;
	list[0] = '\0';
	for (i = 0; i < b->naccept && off < sizeof(list); i++)
		off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
		    i > 0 ? "," : "", b->accept[i]);
	return rw_fail(t->err, 400, "InvalidMimeType", "Wrong type of file. "
	    "It is %s but it must match %s.", b->mime, list);
}

/* associateBlob(): a record_blob row (blob cs, record uri). */
static int
record_blob_add(struct rw_txn *t, const char *cs, const char *uri)
{
	const char	*v[2] = { cs, uri };

	return db_exec_strs(t->db, "INSERT INTO record_blob (blobCid, "
	    "recordUri) VALUES (?1, ?2) ON CONFLICT DO NOTHING", v, 2) == -1 ?
	    -1 : 0;
}

/* verifyBlobAndMakePermanent() + associateBlob(). */
static int
blob_attach(struct rw_txn *t, const struct rw_blob *b, const char *uri)
{
	char		 cs[CID_STR_LEN], mime[LIM_MIME_LEN + 1];
	char		 key[BLOBSTORE_KEY_LEN];
	const char	*v[1] = { cs }, *kv[1] = { key }, *m, *k;
	sqlite3_stmt	*st;
	int64_t		 size;
	int		 rc;

	cid_format(&b->cid, cs);
	if ((rc = db_query_strs(t->db, "SELECT mimeType, size, tempKey FROM "
	    "blob WHERE cid = ?1 AND takedownRef IS NULL", v, 1, &st)) == -1)
		return rw_internal(t, __func__, "blob lookup");
	if (rc == 0)
		return rw_fail(t->err, 400, "BlobNotFound", "Could not find "
		    "blob: %s", cs);
	m = (const char *)sqlite3_column_text(st, 0);
	size = sqlite3_column_int64(st, 1);
	k = (const char *)sqlite3_column_text(st, 2);
	(void)snprintf(mime, sizeof(mime), "%s", m != NULL ? m : "");
	key[0] = '\0';
	if (k != NULL)
		(void)snprintf(key, sizeof(key), "%s", k);
	db_stmt_done(st);
	if (key[0] != '\0') {
		if (blob_verify(t, b, mime, size) == -1)
			return -1;
		if (!t->ctx->have_blobs || (rc = blobstore_make_permanent(
		    &t->ctx->blobs, t->did, key, &b->cid)) == -1)
			return rw_internal(t, __func__, "make permanent");
		if (rc == 1)
			return rw_fail(t->err, 400, "BlobNotFound", "Could not "
			    "find blob: %s", cs);
		if (db_exec_strs(t->db, "UPDATE blob SET tempKey = NULL WHERE "
		    "tempKey = ?1", kv, 1) == -1)
			return rw_internal(t, __func__, "blob update");
	}
	if (record_blob_add(t, cs, uri) == -1)
		return rw_internal(t, __func__, "record_blob insert");
	return 0;
}

/* processWriteBlobs(). */
static int
process_blobs(struct rw_txn *t, const struct rw_write *w, size_t n)
{
	size_t	i, j;

	for (i = 0; i < n; i++)
		if (w[i].action != REPO_CREATE &&
		    blob_deref(t, w[i].uri, w, n) == -1)
			return rw_internal(t, __func__, "blob dereference");
	for (i = 0; i < n; i++)
		for (j = 0; w[i].action != REPO_DELETE && j < w[i].nblobs; j++)
			if (blob_attach(t, &w[i].blobs[j], w[i].uri) == -1)
				return -1;
	return 0;
}

/* ==== storing the commit ========================================================== */

/* Deletes the removed blocks no record uses and no new block is. */
static int
drop_blocks(struct rw_txn *t, const struct repo_commit *rc)
{
	char		 cs[CID_STR_LEN];
	const char	*v[1] = { cs };
	size_t		 i;

	for (i = 0; i < rc->nremoved; i++) {
		if (blockmap_has(&rc->new_blocks, &rc->removed[i]))
			continue;
		cid_format(&rc->removed[i], cs);
		if (db_exec_strs(t->db, "DELETE FROM repo_block WHERE cid = "
		    "?1 AND NOT EXISTS (SELECT 1 FROM record WHERE record.cid "
		    "= ?1)", v, 1) == -1)
			return -1;
	}
	return 0;
}

static int
map_repo_err(struct rw_txn *t, enum repo_err e)
{
	if (e == REPO_ERR_TOO_MANY)
		return rw_fail(t->err, 400, NULL, "Too many writes. Max: %d",
		    LIM_WRITES_PER_COMMIT);
	/* The reference throws plain Errors here (a create over an existing
	 * key, an update or delete of a missing one): 500. */
	if (e == REPO_ERR_EXISTS || e == REPO_ERR_NOTFOUND) {
		log_warn("%s: %s: %s", __func__, t->did, repo_err_str(e));
		return rw_fail(t->err, 500, NULL, "Internal Server Error");
	}
	return rw_internal(t, __func__, repo_err_str(e));
}

/* The commit proper: MST, blocks, index, blobs, root, pending event. */
static int
commit_writes(struct rw_txn *t, const struct actorstore_root *root,
    struct rw_write *w, size_t n, struct repo_commit *rc, struct buf *ev)
{
	struct repo_write	*rw = NULL;
	struct mst_source	 src;
	const struct key	*k;
	struct buf		 car;
	enum repo_err		 e;
	size_t			 i;
	int			 ret = -1;

	buf_init(&car, LIM_COMMIT_EVENT_BYTES);
	if (n > 0 && (rw = calloc(n, sizeof(*rw))) == NULL) {
		rw_internal(t, __func__, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		rw[i].action = w[i].action;
		rw[i].key = w[i].key;
		rw[i].klen = strlen(w[i].key);
		rw[i].rec = w[i].rec;
		rw[i].reclen = w[i].reclen;
	}
	if (actorstore_key(t->s, &k) == -1) {
		rw_internal(t, __func__, "signing key");
		goto out;
	}
	actorstore_source(t->s, &src);
	if ((e = repo_apply_writes(&src, &root->cid, t->did, strlen(t->did),
	    k, rw, n, rc)) != REPO_OK) {
		map_repo_err(t, e);
		goto out;
	}
	if (seqevt_commit_car(rc, &car) == -1) {
		rw_fail(t->err, 400, NULL,
		    "Too many writes. Max event size: 2MB");
		goto out;
	}
	if (actorstore_blocks_put(t->s, rc) == -1) {
		rw_internal(t, __func__, "storing blocks");
		goto out;
	}
	for (i = 0; i < n; i++)
		if (index_write(t, &w[i], rc->rev) == -1) {
			rw_internal(t, __func__, "indexing records");
			goto out;
		}
	if (process_blobs(t, w, n) == -1)
		goto out;
	if (drop_blocks(t, rc) == -1 ||
	    actorstore_root_set(t->s, &rc->cid, rc->rev) == -1 ||
	    seqevt_commit_encode(t->did, rc, car.data, car.len, ev) == -1 ||
	    pending_insert(t, rc->rev, ev) == -1) {
		rw_internal(t, __func__, "storing the commit");
		goto out;
	}
	ret = 0;
out:
	free(rw);
	buf_free(&car);
	return ret;
}

/* ==== the call ==================================================================== */

/* putRecord / deleteRecord decisions from the current record. */
static int
decide(struct rw_txn *t, struct rw_write *w, unsigned flags, int *noop)
{
	struct cid	cur;
	int		have;

	*noop = 0;
	if (!(flags & (RW_F_PUT | RW_F_DELETE_PRESENT)))
		return 0;
	if ((have = record_cid_get(t->db, w[0].uri, &cur)) == -1)
		return rw_internal(t, __func__, "record lookup");
	if (flags & RW_F_PUT) {
		w[0].action = have ? REPO_UPDATE : REPO_CREATE;
		*noop = have && cid_equal(&cur, &w[0].cid);
	} else
		*noop = !have;
	return 0;
}

/* Everything between BEGIN IMMEDIATE and COMMIT. */
static int
rw_body(struct rw_txn *t, struct rw_write *w, size_t n,
    const struct cid *swap_commit, unsigned flags, struct repo_commit *rc,
    struct buf *ev, struct rw_result *out)
{
	struct actorstore_root	 root;
	struct rw_write		*all;
	size_t			 nall, i;
	int			 rc_root;

	if (pending_flush(t) == -1)
		return -1;
	if ((rc_root = actorstore_root_get(t->s, &root)) != 1)
		return rc_root == 0 ? rw_fail(t->err, 400, NULL,
		    "No repo root found for %s", t->did) :
		    rw_internal(t, __func__, "repo_root");
	if (swap_commit_check(t, &root, swap_commit) == -1 ||
	    decide(t, w, flags, &out->noop) == -1)
		return -1;
	if (out->noop)
		return 0;
	all = w;
	nall = n;
	if ((flags & RW_F_BACKLINK_DEDUP) && n > 0 &&
	    backlink_dedup(t, w, n, &all, &nall) == -1)
		return -1;
	for (i = 0; i < nall; i++)
		if (swap_record_check(t, &all[i]) == -1)
			return -1;
	if (commit_writes(t, &root, all, nall, rc, ev) == -1)
		return -1;
	out->cid = rc->cid;
	memcpy(out->rev, rc->rev, sizeof(out->rev));
	return 0;
}

/* account.sqlite repo_root (updateRepoRoot), best effort. */
static void
account_root_update(struct storectx *ctx, const char *did,
    const struct rw_result *r)
{
	char	cs[CID_STR_LEN], now[UTIL_ISO_LEN];

	if (ctx->acctw == NULL || db_table_exists(ctx->acctw,
	    "repo_root") != 1)
		return;
	cid_format(&r->cid, cs);
	util_iso_time(util_now_ms(), now);
	if (accountdb_repo_root_set(ctx->acctw, did, cs, r->rev, now) == -1)
		log_warn("%s: %s: could not update repo_root", __func__, did);
}

/* After the commit: delete the files of blobs no longer referenced. */
static void
blob_files_delete(struct rw_txn *t)
{
	size_t	i;

	for (i = 0; t->ctx->have_blobs && i < t->ngone; i++)
		(void)blobstore_delete(&t->ctx->blobs, t->did, &t->gone[i]);
}

int
repowrite_apply(struct storectx *ctx, struct actorstore *s, struct arena *a,
    struct rw_write *w, size_t n, const struct cid *swap_commit,
    unsigned flags, struct rw_result *out, struct rw_error *err)
{
	struct rw_txn		t;
	struct repo_commit	rc;
	struct buf		ev;
	int			ret = -1;

	memset(out, 0, sizeof(*out));
	memset(err, 0, sizeof(*err));
	rw_txn_init(&t, ctx, s, a, err);
	if (n > LIM_WRITES_PER_COMMIT)
		return rw_fail(err, 400, NULL, "Too many writes. Max: %d",
		    LIM_WRITES_PER_COMMIT);
	repo_commit_init(&rc);
	buf_init(&ev, LIM_COMMIT_EVENT_BYTES + (64u << 10));
	if (actorstore_lock(s) == -1) {
		rw_internal(&t, __func__, "lock");
		goto done;
	}
	if (marker_set(ctx, t.did) == -1 || db_begin_immediate(t.db) == -1) {
		rw_internal(&t, __func__, "begin");
		goto unlock;
	}
	if (rw_body(&t, w, n, swap_commit, flags, &rc, &ev, out) == -1) {
		(void)db_rollback(t.db);
		goto unlock;
	}
	if (db_commit(t.db) == -1) {
		(void)db_rollback(t.db);
		rw_internal(&t, __func__, "commit");
		goto unlock;
	}
	ret = 0;
	/* Committed: from here on a failure leaves the event pending for
	 * the next write or repowrite_recover(), never lost. */
	if (!out->noop && sequence_event(ctx, t.did, rc.rev, ev.data,
	    ev.len) == -1)
		log_error("%s: %s: rev %s left pending", __func__, t.did,
		    rc.rev);
	else {
		if (!out->noop)
			pending_drop(&t, rc.rev);
		marker_clear(ctx, t.did);
	}
unlock:
	if (ret == -1)
		marker_clear(ctx, t.did);
	(void)actorstore_unlock(s);
done:
	if (ret == 0 && !out->noop) {
		account_root_update(ctx, t.did, out);
		blob_files_delete(&t);
	}
	free(t.gone);
	buf_free(&ev);
	repo_commit_fini(&rc);
	return ret;
}

/* ==== importRepo ===================================================================== */

struct imp {
	struct rw_txn	*t;
	const char	*rev;
	struct buf	 blk;		/* a record block being indexed */
	struct arena	 a;		/* per record, reset each time */
	int		 failed;
};

static int
reach_add(struct rw_txn *t, const struct cid *c)
{
	char		 cs[CID_STR_LEN];
	const char	*v[1] = { cs };

	cid_format(c, cs);
	return db_exec_strs(t->db, "INSERT OR IGNORE INTO temp.import_reach "
	    "(cid) VALUES (?1)", v, 1) == -1 ? -1 : 0;
}

/* Every block of the CAR into repo_block under rev; *root its root. */
static int
import_blocks(struct rw_txn *t, car_read_fn rd, void *arg, const char *rev,
    struct cid *root)
{
	struct car_reader	 r;
	enum car_err		 e;
	struct cid		 c;
	const uint8_t		*p;
	size_t			 len;
	int			 ret = -1;

	if ((e = car_reader_init_fn(&r, rd, arg)) != CAR_OK) {
		rw_fail(t->err, 400, NULL, "Could not read CAR: %s",
		    car_err_str(e));
		goto out;
	}
	if (r.nroots != 1) {
		rw_fail(t->err, 400, NULL, "expected one root");
		goto out;
	}
	*root = r.roots[0];
	while ((e = car_reader_next(&r, &c, &p, &len)) == CAR_OK)
		if (actorstore_block_put(t->s, &c, p, len, rev) == -1) {
			rw_internal(t, __func__, "storing a block");
			goto out;
		}
	if (e != CAR_END)
		rw_fail(t->err, 400, NULL, "Could not read CAR: %s",
		    car_err_str(e));
	else
		ret = 0;
out:
	car_reader_fini(&r);
	return ret;
}

static int
imp_node(void *arg, const struct cid *c, const uint8_t *p, size_t len)
{
	struct imp	*im = arg;

	(void)p;
	(void)len;
	return reach_add(im->t, c);
}

/* One leaf: its record row, backlink and record_blob rows. */
static int
imp_leaf(void *arg, const char *key, size_t klen, const struct cid *val)
{
	struct imp	*im = arg;
	struct rw_write	 w;
	char		*k, cs[CID_STR_LEN];
	size_t		 i;
	int		 have;

	arena_reset(&im->a);
	if ((k = arena_strndup(&im->a, key, klen)) == NULL ||
	    (have = actorstore_block_get(im->t->s, val, &im->blk)) == -1 ||
	    prepare_block(&im->a, im->t->did, k, have ? im->blk.data : NULL,
	    im->blk.len, &w) == -1)
		return -1;
	w.cid = *val;
	if (index_write(im->t, &w, im->rev) == -1 ||
	    (have && reach_add(im->t, val) == -1))
		return -1;
	for (i = 0; i < w.nblobs; i++) {
		cid_format(&w.blobs[i].cid, cs);
		if (record_blob_add(im->t, cs, w.uri) == -1)
			return -1;
	}
	return 0;
}

/* The new commit over data, signed with the account's key. */
static int
import_commit(struct rw_txn *t, const struct cid *data, const char *rev,
    struct rw_result *out)
{
	const struct key	*k;
	struct commit		 c;
	struct buf		 b;
	int			 ret = -1;

	buf_init(&b, LIM_CAR_BLOCK);
	if (actorstore_key(t->s, &k) == -1 ||
	    commit_init(&c, t->did, strlen(t->did), data, rev, strlen(rev)) !=
	    COMMIT_OK || commit_sign(&c, k) != COMMIT_OK ||
	    commit_encode(&c, &b) != COMMIT_OK ||
	    cid_compute(&out->cid, CID_CODEC_DAG_CBOR, b.data, b.len) == -1 ||
	    actorstore_block_put(t->s, &out->cid, b.data, b.len, rev) == -1 ||
	    reach_add(t, &out->cid) == -1 ||
	    actorstore_root_set(t->s, &out->cid, rev) == -1)
		goto out;
	memcpy(out->rev, rev, TID_STR_LEN);
	ret = 0;
out:
	buf_free(&b);
	return ret;
}

/* The imported tree: every node and record reached and indexed. */
static int
import_tree(struct rw_txn *t, const struct cid *root, const char *rev,
    struct rw_result *out)
{
	struct mst_source	 src;
	struct mst		*m = NULL;
	struct commit		 c;
	struct imp		 im;
	enum mst_err		 e;
	int			 ret = -1;

	memset(&im, 0, sizeof(im));
	im.t = t;
	im.rev = rev;
	buf_init(&im.blk, LIM_CAR_BLOCK);
	arena_init(&im.a);
	if (actorstore_block_get(t->s, root, &im.blk) != 1 ||
	    commit_parse(&c, im.blk.data, im.blk.len) != COMMIT_OK) {
		rw_fail(t->err, 400, NULL, "Invalid commit: %s",
		    "the root is not a repository commit");
		goto out;
	}
	if (strcmp(c.did, t->did) != 0) {
		rw_fail(t->err, 400, NULL, "Repository is for %s, not %s", c.did,
		    t->did);
		goto out;
	}
	actorstore_source(t->s, &src);
	if ((e = mst_load(&src, &c.data, &m)) != MST_OK ||
	    (e = mst_walk_blocks(m, imp_node, &im)) != MST_OK ||
	    (e = mst_list(m, NULL, imp_leaf, &im)) != MST_OK) {
		if (e == MST_ERR_SOURCE)
			rw_internal(t, __func__, "indexing");
		else
			rw_fail(t->err, 400, NULL, "Invalid repository: %s",
			    mst_err_str(e));
		goto out;
	}
	if (import_commit(t, &c.data, rev, out) == -1) {
		rw_internal(t, __func__, "new commit");
		goto out;
	}
	ret = 0;
out:
	mst_free(m);
	arena_free(&im.a);
	buf_free(&im.blk);
	return ret;
}

static int
import_body(struct rw_txn *t, car_read_fn rd, void *rdarg,
    struct rw_result *out)
{
	struct actorstore_root	root;
	struct cid		carroot;
	char			rev[TID_STR_LEN];
	int			rc;

	if ((rc = actorstore_root_get(t->s, &root)) == -1)
		return rw_internal(t, __func__, "repo_root");
	if (commit_next_rev(rc == 1 ? root.rev : NULL, rc == 1 ?
	    strlen(root.rev) : 0, rev) != COMMIT_OK)
		return rw_internal(t, __func__, "rev");
	if (db_exec(t->db, "CREATE TEMP TABLE IF NOT EXISTS import_reach "
	    "(cid varchar primary key); DELETE FROM temp.import_reach; "
	    "DELETE FROM repo_block; DELETE FROM record; DELETE FROM backlink; "
	    "DELETE FROM record_blob") == -1)
		return rw_internal(t, __func__, "clearing the repository");
	if (import_blocks(t, rd, rdarg, rev, &carroot) == -1 ||
	    import_tree(t, &carroot, rev, out) == -1)
		return -1;
	if (db_exec(t->db, "DELETE FROM repo_block WHERE cid NOT IN (SELECT "
	    "cid FROM temp.import_reach); DELETE FROM temp.import_reach") == -1)
		return rw_internal(t, __func__, "dropping unreached blocks");
	return 0;
}

int
repowrite_import(struct storectx *ctx, struct actorstore *s, car_read_fn rd,
    void *rdarg, struct rw_result *out, struct rw_error *err)
{
	struct rw_txn	t;
	struct arena	a;
	int		ret = -1;

	memset(out, 0, sizeof(*out));
	memset(err, 0, sizeof(*err));
	arena_init(&a);
	rw_txn_init(&t, ctx, s, &a, err);
	if (actorstore_lock(s) == -1) {
		rw_internal(&t, __func__, "lock");
		goto done;
	}
	if (db_begin_immediate(t.db) == -1)
		rw_internal(&t, __func__, "begin");
	else if (pending_flush(&t) == -1 || import_body(&t, rd, rdarg,
	    out) == -1 || db_commit(t.db) == -1) {
		(void)db_rollback(t.db);
		if (err->status == 0)
			rw_internal(&t, __func__, "commit");
	} else
		ret = 0;
	(void)actorstore_unlock(s);
	if (ret == 0)
		account_root_update(ctx, t.did, out);
done:
	arena_free(&a);
	return ret;
}

/* ==== recovery ====================================================================== */

/* Flushes the pending events of one repository. */
static int
recover_one(struct storectx *ctx, const char *did)
{
	struct actorstore	*s;
	struct arena		 a;
	struct rw_error		 err;
	struct rw_txn		 t;
	int			 rc, ret = -1;

	if ((rc = actorstore_get(ctx->actors, did, &s)) != 1) {
		if (rc == 0)
			marker_clear(ctx, did);
		return rc;
	}
	arena_init(&a);
	rw_txn_init(&t, ctx, s, &a, &err);
	if (actorstore_lock(s) == -1)
		goto out;
	if (db_begin_immediate(t.db) == 0) {
		if (pending_flush(&t) == 0 && db_commit(t.db) == 0) {
			marker_clear(ctx, did);
			ret = 0;
		} else
			(void)db_rollback(t.db);
	}
	(void)actorstore_unlock(s);
out:
	arena_free(&a);
	return ret;
}

int
repowrite_recover(struct storectx *ctx)
{
	struct dirent	*de;
	DIR		*d;
	int		 n = 0;

	if (ctx->pending_dir == NULL ||
	    (d = opendir(ctx->pending_dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "did:", 4) != 0 ||
		    syntax_did_validate(de->d_name, strlen(de->d_name),
		    NULL) == -1)
			continue;
		if (recover_one(ctx, de->d_name) == 0) {
			log_info("%s: %s: pending events sequenced", __func__,
			    de->d_name);
			n++;
		}
	}
	(void)closedir(d);
	return n;
}
