/*
 * maintain_blobs.c: pds-maintain's blob steps: orphaned blobs (rows no
 * record references, files no row names) and stale temp uploads.
 *
 * How the reference decides (packages/pds/src/actor-store/blob/
 * transactor.ts, api/com/atproto/repo/uploadBlob.ts, disk-blobstore.ts):
 * uploadBlob writes the temp file blocks/tempt/<did>/<key> first, then a
 * `blob` row with tempKey set; a commit that references the blob inserts
 * `record_blob`, copies the file to blocks/<did>/<cid> and clears tempKey
 * inside the write transaction; deleteDereferencedBlobs deletes a `blob`
 * row once its last `record_blob` row goes and removes the file after the
 * commit.  So a permanent row without references and a file without a row
 * are leftovers (a crash between the steps), but each can also be
 * momentarily true on a live server, hence the age limits; taken-down
 * blobs (takedownRef, quarantine/) are never touched.  The reference never
 * removes temp uploads itself.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sqlite3.h>

#include "cron.h"
#include "db.h"
#include "log.h"
#include "syntax.h"
#include "util.h"

#define MT_FILE_GRACE_MS	(LIM_MT_FILE_GRACE_S * 1000LL)

static const char mt_sql_orphan_rows[] =
    "SELECT cid FROM blob WHERE tempKey IS NULL AND takedownRef IS NULL "
    "AND createdAt < ?1 AND NOT EXISTS (SELECT 1 FROM record_blob "
    "WHERE record_blob.blobCid = blob.cid) LIMIT ?2";
static const char mt_sql_orphan_del[] =
    "DELETE FROM blob WHERE cid = ?1 AND tempKey IS NULL AND "
    "takedownRef IS NULL AND NOT EXISTS (SELECT 1 FROM record_blob "
    "WHERE record_blob.blobCid = blob.cid)";
static const char mt_sql_has_row[] =
    "SELECT 1 FROM blob WHERE cid = ?1";
static const char mt_sql_temp_del[] =
    "DELETE FROM blob WHERE tempKey = ?1 AND NOT EXISTS (SELECT 1 FROM "
    "record_blob WHERE record_blob.blobCid = blob.cid)";
static const char mt_sql_temp_ref[] =
    "SELECT 1 FROM blob WHERE tempKey = ?1";
static const char mt_sql_temp_rows[] =
    "SELECT cid, tempKey FROM blob WHERE tempKey IS NOT NULL AND "
    "createdAt < ?1 AND NOT EXISTS (SELECT 1 FROM record_blob "
    "WHERE record_blob.blobCid = blob.cid) LIMIT ?2";
static const char mt_sql_temp_row_del[] =
    "DELETE FROM blob WHERE cid = ?1 AND tempKey = ?2 AND NOT EXISTS "
    "(SELECT 1 FROM record_blob WHERE record_blob.blobCid = blob.cid)";

int
mt_store_path(const char *actor_dir, const char *did, char *out)
{
	static const char	hex[] = "0123456789abcdef";
	uint8_t			dg[32];
	unsigned		dl = 0;
	int			n;

	if (EVP_Digest(did, strlen(did), dg, &dl, EVP_sha256(), NULL) != 1)
		return -1;
	n = snprintf(out, LIM_CRON_PATH, "%s/%c%c/%s/store.sqlite", actor_dir,
	    hex[dg[0] >> 4], hex[dg[0] & 15], did);
	return (n < 0 || n >= LIM_CRON_PATH) ? -1 : 0;
}

/* Runs one single-text-parameter statement; returns changes, 1/0 for a
 * SELECT (row or not), or -1. */
static int
mt_exec1(struct db *db, const char *sql, const char *a, const char *b)
{
	sqlite3_stmt	*st;
	int		 r;

	if ((st = db_stmt_get(db, sql)) == NULL ||
	    sqlite3_bind_text(st, 1, a, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
	    (b != NULL && sqlite3_bind_text(st, 2, b, -1, SQLITE_TRANSIENT) !=
	    SQLITE_OK)) {
		db_stmt_done(st);
		return -1;
	}
	r = db_step(db, st);
	db_stmt_done(st);
	if (r == -1)
		return -1;
	if (sqlite3_stmt_readonly(st))
		return r;
	return sqlite3_changes(db_handle(db));
}

/* Lists up to LIM_MT_BATCH_ROWS rows of sql (?1 = cutoff time) into l:
 * "cid" or "cid\ttempKey". */
static int
mt_select(struct db *db, const char *sql, const char *cutoff, int pairs,
    struct cron_list *l)
{
	sqlite3_stmt	*st;
	const char	*a, *b;
	char		 pair[1024];
	int		 r;

	memset(l, 0, sizeof(*l));
	if ((st = db_stmt_get(db, sql)) == NULL ||
	    sqlite3_bind_text(st, 1, cutoff, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
	    sqlite3_bind_int(st, 2, LIM_MT_BATCH_ROWS) != SQLITE_OK) {
		db_stmt_done(st);
		return -1;
	}
	while ((r = db_step(db, st)) == 1) {
		a = (const char *)sqlite3_column_text(st, 0);
		b = pairs ? (const char *)sqlite3_column_text(st, 1) : NULL;
		if (a == NULL || (pairs && b == NULL))
			continue;
		if (pairs && snprintf(pair, sizeof(pair), "%s\t%s", a, b) >=
		    (int)sizeof(pair))
			continue;
		if (cron_list_add(l, pairs ? pair : a, 0, LIM_MT_BATCH_ROWS) ==
		    -1) {
			r = -1;
			break;
		}
	}
	db_stmt_done(st);
	if (r == -1)
		cron_list_free(l);
	return r == -1 ? -1 : 0;
}

/* A name the blob store could have written: a CID string, or a temp key
 * (base32, 32 random bytes: 52 characters). */
static int
mt_cid_ok(const char *s)
{
	const char	*why;

	return syntax_cid_validate_strict(s, strlen(s), &why) == 0;
}

static int
mt_key_ok(const char *s)
{
	size_t	n = strlen(s);

	return n > 0 && n <= 128 && strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "234567") == n;
}

/* ---- orphaned rows and files --------------------------------------------- */

struct mt_acct {
	const struct mt_blob_opts	*o;
	struct mt_blob_stats		*st;
	struct db			*db;
	const char			*did;
};

/* Unlinks blocks/<did>/<cid> after its row went. */
static void
mt_unlink_blob(struct mt_acct *a, const char *cid)
{
	char	dir[LIM_CRON_PATH], path[LIM_CRON_PATH];

	if (cron_path(dir, a->o->blob_dir, a->did) == -1 ||
	    cron_path(path, dir, cid) == -1)
		return;
	if (unlink(path) == 0)
		a->st->files++;
	else if (errno != ENOENT)
		log_warn("blobs: %s: %s", path, strerror(errno));
}

/* Blob rows without references, in batches of short transactions. */
static int
mt_orphan_rows(struct mt_acct *a)
{
	struct cron_list	 l;
	char			 cutoff[UTIL_ISO_LEN];
	size_t			 i, gone = 0;
	int			 r;

	util_iso_time(a->o->now_ms - a->o->orphan_age_ms, cutoff);
	for (;;) {
		if (mt_select(a->db, mt_sql_orphan_rows, cutoff, 0, &l) == -1)
			return -1;
		if (l.n == 0 || a->o->dry_run) {
			a->st->rows += l.n;
			cron_list_free(&l);
			return 0;
		}
		if (db_begin_immediate(a->db) == -1) {
			cron_list_free(&l);
			return -1;
		}
		for (i = 0, gone = 0; i < l.n; i++) {
			/* The DELETE re-checks: a record may have taken the
			 * blob since the SELECT. */
			if ((r = mt_exec1(a->db, mt_sql_orphan_del, l.v[i],
			    NULL)) == -1) {
				(void)db_rollback(a->db);
				cron_list_free(&l);
				return -1;
			}
			if (r == 0) {
				free(l.v[i]);
				l.v[i] = NULL;
			} else
				gone++;
		}
		if (db_commit(a->db) == -1) {
			cron_list_free(&l);
			return -1;
		}
		a->st->rows += gone;
		for (i = 0; i < l.n; i++)
			if (l.v[i] != NULL)
				mt_unlink_blob(a, l.v[i]);
		i = l.n;
		cron_list_free(&l);
		if (i < LIM_MT_BATCH_ROWS || gone == 0)
			return 0;
	}
}

/* Files of blocks/<did>/ that no blob row names. */
static int
mt_orphan_files(struct mt_acct *a)
{
	struct dirent	*de;
	struct stat	 sb;
	char		 dir[LIM_CRON_PATH], path[LIM_CRON_PATH];
	int64_t		 age = a->o->orphan_age_ms > MT_FILE_GRACE_MS ?
			    a->o->orphan_age_ms : MT_FILE_GRACE_MS;
	DIR		*d;
	int		 r, rc = 0;

	if (cron_path(dir, a->o->blob_dir, a->did) == -1)
		return -1;
	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (!mt_cid_ok(de->d_name) || cron_path(path, dir,
		    de->d_name) == -1 || lstat(path, &sb) == -1 ||
		    !S_ISREG(sb.st_mode))
			continue;
		if ((r = mt_exec1(a->db, mt_sql_has_row, de->d_name, NULL))
		    == -1) {
			rc = -1;
			break;
		}
		if (r == 1)
			continue;
		if ((int64_t)sb.st_mtime * 1000 > a->o->now_ms - age) {
			a->st->young++;
			continue;
		}
		if (a->o->dry_run)
			a->st->files++;
		else if (unlink(path) == 0)
			a->st->files++;
	}
	(void)closedir(d);
	return rc;
}

static int
mt_open_store(const struct cron_actor *ac, struct db **db)
{
	char	path[LIM_CRON_PATH];

	*db = NULL;
	if (cron_path(path, ac->dir, "store.sqlite") == -1 ||
	    access(path, F_OK) == -1)
		return 1;	/* no store: nothing to decide against */
	return db_open(path, DB_NOCREATE, db) == -1 ? -1 : 0;
}

static int
mt_orphans_cb(const struct cron_actor *ac, void *arg)
{
	struct mt_acct	*a = arg;
	int		 r;

	if (!ac->hh_ok)
		return 0;
	if ((r = mt_open_store(ac, &a->db)) == 1)
		return 0;
	a->did = ac->did;
	a->st->accounts++;
	if (r == -1 || mt_orphan_rows(a) == -1 || mt_orphan_files(a) == -1) {
		log_error("blobs: %s: failed; other accounts go on", ac->did);
		a->st->errors++;
	}
	db_close(a->db);
	a->db = NULL;
	return 0;
}

int
mt_blobs_orphans(const struct mt_blob_opts *o, struct mt_blob_stats *st)
{
	struct mt_acct	a;

	memset(&a, 0, sizeof(a));
	a.o = o;
	a.st = st;
	return cron_actors_walk(o->actor_dir, mt_orphans_cb, &a);
}

/* ---- stale temp uploads ----------------------------------------------------- */

/* Stale files of tmp/<did>/; db may be NULL (no account). */
static int
mt_temp_files(const struct mt_blob_opts *o, struct mt_blob_stats *st,
    struct db *db, const char *dir)
{
	struct dirent	*de;
	struct stat	 sb;
	char		 path[LIM_CRON_PATH];
	DIR		*d;
	int		 r, rc = 0;

	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (!mt_key_ok(de->d_name) || cron_path(path, dir,
		    de->d_name) == -1 || lstat(path, &sb) == -1 ||
		    !S_ISREG(sb.st_mode) ||
		    (int64_t)sb.st_mtime * 1000 > o->now_ms - o->temp_age_ms)
			continue;
		if (db != NULL && o->dry_run) {
			r = mt_exec1(db, mt_sql_temp_ref, de->d_name, NULL);
			st->temp_rows += r == 1;
		} else if (db != NULL) {
			if (db_begin_immediate(db) == -1) {
				rc = -1;
				break;
			}
			r = mt_exec1(db, mt_sql_temp_del, de->d_name, NULL);
			if (r == -1 || db_commit(db) == -1) {
				(void)db_rollback(db);
				rc = -1;
				break;
			}
			st->temp_rows += (size_t)r;
			/* A row that still names this key is referenced by a
			 * record: its file stays. */
			if (mt_exec1(db, mt_sql_temp_ref, de->d_name, NULL) != 0)
				continue;
		}
		if (o->dry_run || unlink(path) == 0)
			st->temp_files++;
	}
	(void)closedir(d);
	/* Only a DID without an account loses its (empty) directory: the
	 * PDS creates <tmp>/<did> and then the file in it, so removing a
	 * live account's directory in between fails that upload. */
	if (!o->dry_run && db == NULL)
		(void)rmdir(dir);
	return rc;
}

/* Rows with a tempKey whose file is gone, as old as stale uploads. */
static int
mt_temp_rows(const struct mt_blob_opts *o, struct mt_blob_stats *st,
    struct db *db, const char *dir)
{
	struct cron_list	 l;
	char			 cutoff[UTIL_ISO_LEN], path[LIM_CRON_PATH], *tab;
	size_t			 i;
	int			 r, rc = 0;

	util_iso_time(o->now_ms - o->temp_age_ms, cutoff);
	if (mt_select(db, mt_sql_temp_rows, cutoff, 1, &l) == -1)
		return -1;
	for (i = 0; rc == 0 && i < l.n; i++) {
		if ((tab = strchr(l.v[i], '\t')) == NULL)
			continue;
		*tab = '\0';
		if (!mt_key_ok(tab + 1) || cron_path(path, dir, tab + 1) == -1 ||
		    access(path, F_OK) == 0)
			continue;
		if (o->dry_run) {
			st->temp_rows++;
			continue;
		}
		if (db_begin_immediate(db) == -1) {
			rc = -1;
			break;
		}
		if ((r = mt_exec1(db, mt_sql_temp_row_del, l.v[i], tab + 1))
		    == -1 || db_commit(db) == -1) {
			(void)db_rollback(db);
			rc = -1;
			break;
		}
		st->temp_rows += (size_t)r;
	}
	cron_list_free(&l);
	return rc;
}

static int
mt_temp_did(const struct mt_blob_opts *o, struct mt_blob_stats *st,
    const char *did)
{
	struct db	*db = NULL;
	char		 store[LIM_CRON_PATH], dir[LIM_CRON_PATH];
	const char	*why;
	int		 rc = 0;

	if (syntax_did_validate(did, strlen(did), &why) != 0 ||
	    mt_store_path(o->actor_dir, did, store) == -1 ||
	    cron_path(dir, o->blob_tmp, did) == -1)
		return 0;
	if (access(store, F_OK) == 0 && db_open(store, DB_NOCREATE, &db) == -1)
		return -1;
	if (mt_temp_files(o, st, db, dir) == -1 ||
	    (db != NULL && mt_temp_rows(o, st, db, dir) == -1))
		rc = -1;
	db_close(db);
	return rc;
}

struct mt_temp_ctx {
	const struct mt_blob_opts	*o;
	struct mt_blob_stats		*st;
};

static int
mt_temp_rows_cb(const struct cron_actor *ac, void *arg)
{
	struct mt_temp_ctx	*c = arg;
	char			 dir[LIM_CRON_PATH];
	struct db		*db = NULL;
	int			 r;

	/* Accounts with a temp directory were done by mt_temp_did(). */
	if (!ac->hh_ok || cron_path(dir, c->o->blob_tmp, ac->did) == -1 ||
	    access(dir, F_OK) == 0)
		return 0;
	if ((r = mt_open_store(ac, &db)) == 1)
		return 0;
	if (r == -1 || mt_temp_rows(c->o, c->st, db, dir) == -1) {
		log_error("temp: %s: failed; other accounts go on", ac->did);
		c->st->errors++;
	}
	db_close(db);
	return 0;
}

int
mt_blobs_temp(const struct mt_blob_opts *o, struct mt_blob_stats *st)
{
	struct mt_temp_ctx	 c;
	struct dirent		*de;
	DIR			*d;

	if ((d = opendir(o->blob_tmp)) == NULL && errno != ENOENT) {
		log_error("temp: %s: %s", o->blob_tmp, strerror(errno));
		return -1;
	}
	while (d != NULL && (de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "did:", 4) != 0)
			continue;
		st->accounts++;
		if (mt_temp_did(o, st, de->d_name) == -1) {
			log_error("temp: %s: failed; other accounts go on",
			    de->d_name);
			st->errors++;
		}
	}
	if (d != NULL)
		(void)closedir(d);
	c.o = o;
	c.st = st;
	return cron_actors_walk(o->actor_dir, mt_temp_rows_cb, &c);
}
