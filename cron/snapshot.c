/*
 * snapshot.c: pds-backup's snapshots: taking one while the PDS runs,
 * verifying one, restoring one into a fresh data directory.
 *
 * Databases are copied with SQLite's online backup API
 * (sqlite.org/backup.html): one sqlite3_backup_step(-1) reads the whole
 * source inside one read transaction, so each copy is the database as of
 * one instant even while the PDS writes (WAL lets writers go on).  A plain
 * file copy of a live WAL database is never made.  Each copy is switched to
 * rollback-journal mode (one self-contained file) and must pass
 * PRAGMA integrity_check.  Blobs are copied in two passes around the
 * databases: the first copies every blob on disk, so a record deleted
 * (and its blob file removed by the PDS) after its store was copied still
 * finds its blob; the second copies each blob a copied store references
 * (reference-pds.md e, "Blobs") that was made permanent after the first
 * pass, and reports those on disk in neither pass.  Blobs are content-addressed
 * and immutable, so the shared area <dest>/blocks keeps each one once for
 * all snapshots.  Layout of <dest>: see cron/README.md.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cid.h"
#include "cron.h"
#include "db.h"
#include "log.h"
#include "util.h"

#define BK_BUSY_SLEEP_US	20000	/* between busy backup steps */
#define BK_RETAKE_MAX		3	/* copies of one store again when blobs
					 * it references vanished (second pass) */

/* State of one snapshot being taken. */
struct bk_take {
	const struct bk_sources	*src;
	const char		*dest;
	char			 tmp[LIM_CRON_PATH];	/* .tmp-<name> */
	struct bk_manifest	 m;
	struct bk_manifest	 prev;	/* newest earlier MANIFEST, or empty */
	size_t			 nsorted; /* m.v[0, nsorted) sorted (pass 2) */
	struct bk_snap_stats	*st;
};

/* ---- databases ---------------------------------------------------------- */

/* PRAGMA integrity_check must answer exactly one row, "ok".  Returns 0,
 * or -1 with SQLite's first complaint in msg. */
static int
bk_integrity(struct db *db, char *msg, size_t msgsz)
{
	sqlite3_stmt	*st;
	const char	*t;
	int		 r, rows = 0, ok = 0;

	(void)snprintf(msg, msgsz, "cannot run integrity_check");
	if ((st = db_stmt_get(db, "PRAGMA integrity_check")) == NULL)
		return -1;
	while ((r = db_step(db, st)) == 1) {
		t = (const char *)sqlite3_column_text(st, 0);
		if (rows++ == 0) {
			ok = t != NULL && strcmp(t, "ok") == 0;
			if (!ok)
				log_escape(msg, msgsz, t != NULL ? t : "(null)",
				    t != NULL ? strlen(t) : 6);
		}
	}
	db_stmt_done(st);
	return (r == 0 && rows == 1 && ok) ? 0 : -1;
}

static int
bk_fsync_path(const char *path)
{
	int	fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	rc = fsync(fd);
	(void)close(fd);
	return rc;
}

/* Runs the online backup from s into d, waiting out SQLITE_BUSY. */
static int
bk_backup_run(struct db *s, struct db *d, const char *src)
{
	sqlite3_backup	*b;
	int64_t		 deadline = util_mono_us() + LIM_BK_BUSY_MS * 1000LL;
	int		 rc;

	if ((b = sqlite3_backup_init(db_handle(d), "main", db_handle(s),
	    "main")) == NULL) {
		log_error("backup: %s: %s", src, sqlite3_errmsg(db_handle(d)));
		return -1;
	}
	for (;;) {
		rc = sqlite3_backup_step(b, -1);
		if (rc == SQLITE_DONE)
			break;
		if ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) &&
		    util_mono_us() < deadline) {
			(void)usleep(BK_BUSY_SLEEP_US);
			continue;
		}
		log_error("backup: %s: %s", src, sqlite3_errstr(rc));
		(void)sqlite3_backup_finish(b);
		return -1;
	}
	if (sqlite3_backup_finish(b) != SQLITE_OK) {
		log_error("backup: %s: %s", src, sqlite3_errmsg(db_handle(d)));
		return -1;
	}
	return 0;
}

/* Copies the live database src into the new file dst, consistent as of
 * one instant, then checks the copy.  Returns 0, 1 when src does not
 * exist (nothing copied), or -1 (logged). */
static int
bk_db_copy(const char *src, const char *dst)
{
	struct db	*s = NULL, *d = NULL;
	struct stat	 sb;
	char		 msg[200];
	int		 rc = -1;

	if (stat(src, &sb) == -1 && errno == ENOENT)
		return 1;
	if (db_open(src, DB_READONLY | DB_NOCREATE, &s) == -1 ||
	    db_open(dst, 0, &d) == -1 || bk_backup_run(s, d, src) == -1)
		goto out;
	db_close(s);
	s = NULL;
	/* One self-contained file: no -wal beside the copy. */
	if (db_exec(d, "PRAGMA journal_mode = DELETE") == -1)
		goto out;
	if (bk_integrity(d, msg, sizeof(msg)) == -1) {
		log_error("backup: %s: the copy fails integrity_check: %s",
		    src, msg);
		goto out;
	}
	rc = 0;
out:
	db_close(s);
	db_close(d);
	if (rc == 0 && bk_fsync_path(dst) == -1) {
		log_error("backup: %s: fsync: %s", dst, strerror(errno));
		rc = -1;
	}
	return rc;
}

/* Backs up one database to <tmp>/<rel> and lists it. */
static int
bk_take_db(struct bk_take *t, const char *src, const char *rel)
{
	char		dst[LIM_CRON_PATH];
	uint8_t		sha[32];
	uint64_t	size;
	int		r;

	if (cron_path(dst, t->tmp, rel) == -1)
		return -1;
	if ((r = bk_db_copy(src, dst)) == 1) {
		log_warn("backup: %s does not exist; not in the snapshot", src);
		t->st->warnings++;
		return 0;
	}
	if (r == -1 || cron_file_sha256(dst, sha, &size) == -1 ||
	    bk_manifest_add(&t->m, rel, BK_DB, size, sha) == -1)
		return -1;
	t->st->dbs++;
	t->st->bytes_copied += size;
	return 0;
}

/* ---- account directories ------------------------------------------------ */

static int
bk_is_journal(const char *name)
{
	size_t	n = strlen(name);

	return (n > 4 && (strcmp(name + n - 4, "-wal") == 0 ||
	    strcmp(name + n - 4, "-shm") == 0)) ||
	    (n > 8 && strcmp(name + n - 8, "-journal") == 0);
}

/* Copies a small file (key, other account file) into the snapshot. */
static int
bk_take_file(struct bk_take *t, const char *src, const char *rel,
    enum bk_kind kind)
{
	char		dst[LIM_CRON_PATH];
	uint8_t		sha[32];
	uint64_t	size;
	int		r;

	if (cron_path(dst, t->tmp, rel) == -1)
		return -1;
	r = cron_file_copy(src, dst, kind == BK_KEY ? 0600 : 0640, 1, sha,
	    &size);
	if (r == -2)
		return 0;	/* removed meanwhile (account deleted) */
	if (r == -1 || bk_manifest_add(&t->m, rel, kind, size, sha) == -1)
		return -1;
	if (kind == BK_KEY)
		t->st->keys++;
	else
		t->st->files++;
	t->st->bytes_copied += size;
	return 0;
}

static int
bk_take_actor(const struct cron_actor *a, void *arg)
{
	struct bk_take	*t = arg;
	struct dirent	*de;
	struct stat	 sb;
	char		 rel[LIM_CRON_PATH], src[LIM_CRON_PATH], dir[LIM_CRON_PATH];
	DIR		*d;
	int		 n, rc = 0;

	n = snprintf(rel, sizeof(rel), "actors/%s/%s", a->hh, a->did);
	if (n < 0 || (size_t)n >= sizeof(rel) || !bk_path_ok(rel,
	    (size_t)n, BK_FILE) || cron_path(dir, t->tmp, rel) == -1) {
		log_warn("backup: skipped odd account directory %s", a->dir);
		t->st->warnings++;
		return 0;
	}
	if (cron_mkdirs(dir, 0700) == -1 || (d = opendir(a->dir)) == NULL)
		return -1;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || bk_is_journal(de->d_name))
			continue;
		n = snprintf(rel, sizeof(rel), "actors/%s/%s/%s", a->hh, a->did,
		    de->d_name);
		if (n < 0 || (size_t)n >= sizeof(rel) ||
		    cron_path(src, a->dir, de->d_name) == -1 ||
		    lstat(src, &sb) == -1 || !S_ISREG(sb.st_mode))
			continue;
		if (!bk_path_ok(rel, (size_t)n, BK_FILE)) {
			log_warn("backup: skipped odd file name in %s", a->dir);
			continue;
		}
		if (strcmp(de->d_name, "store.sqlite") == 0)
			rc = bk_take_db(t, src, rel);
		else
			rc = bk_take_file(t, src, rel, strcmp(de->d_name, "key")
			    == 0 ? BK_KEY : BK_FILE);
	}
	(void)closedir(d);
	return rc;
}

/* actors/reserved_keys/<did or did:key>: keys from reserveSigningKey. */
static int
bk_take_reserved(struct bk_take *t)
{
	struct dirent	*de;
	char		 dir[LIM_CRON_PATH], src[LIM_CRON_PATH];
	char		 rel[LIM_CRON_PATH], out[LIM_CRON_PATH];
	DIR		*d;
	int		 n, rc = 0, made = 0;

	if (cron_path(dir, t->src->actor_dir, "reserved_keys") == -1)
		return -1;
	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		n = snprintf(rel, sizeof(rel), "actors/reserved_keys/%s",
		    de->d_name);
		if (n < 0 || (size_t)n >= sizeof(rel) ||
		    !bk_path_ok(rel, (size_t)n, BK_KEY) ||
		    cron_path(src, dir, de->d_name) == -1)
			continue;
		if (!made && (cron_path(out, t->tmp, "actors/reserved_keys")
		    == -1 || cron_mkdirs(out, 0700) == -1)) {
			rc = -1;
			break;
		}
		made = 1;
		rc = bk_take_file(t, src, rel, BK_KEY);
	}
	(void)closedir(d);
	return rc;
}

/* ---- blobs ---------------------------------------------------------------- */

/* Warns when a raw-codec blob's bytes do not hash to its CID. */
static void
bk_blob_check(struct bk_take *t, const char *name, const char *src,
    const uint8_t sha[32])
{
	struct cid	c;

	if (cid_parse_str(&c, name, strlen(name)) == -1 ||
	    cid_codec(&c) != CID_CODEC_RAW)
		return;
	if (memcmp(cid_digest(&c), sha, 32) != 0) {
		log_warn("backup: %s: content does not match its CID", src);
		t->st->warnings++;
	}
}

/* One blob: reuse the shared area's copy, or copy it there. */
static int
bk_take_blob(struct bk_take *t, const char *srcdir, const char *areadir,
    const char *rel, const char *name)
{
	const struct bk_entry	*pe;
	struct stat		 ss, as;
	char			 path[LIM_CRON_PATH], src[LIM_CRON_PATH];
	char			 area[LIM_CRON_PATH];
	uint8_t			 sha[32];
	uint64_t		 size;
	int			 n, r;

	n = snprintf(path, sizeof(path), "blocks/%s/%s", rel, name);
	if (n < 0 || (size_t)n >= sizeof(path) ||
	    !bk_path_ok(path, (size_t)n, BK_BLOB) ||
	    cron_path(src, srcdir, name) == -1 ||
	    cron_path(area, areadir, name) == -1)
		return 0;	/* not a blob name (e.g. a stray temp file) */
	if (lstat(src, &ss) == -1 || !S_ISREG(ss.st_mode))
		return 0;
	if (lstat(area, &as) == 0 && S_ISREG(as.st_mode) &&
	    as.st_size == ss.st_size) {
		pe = bk_manifest_find(&t->prev, path);
		if (pe != NULL && pe->size == (uint64_t)as.st_size) {
			memcpy(sha, pe->sha, 32);
			size = pe->size;
		} else if (cron_file_sha256(area, sha, &size) == -1)
			return -1;
		t->st->blobs_kept++;
		return bk_manifest_add(&t->m, path, BK_BLOB, size, sha);
	}
	if ((r = cron_file_copy(src, area, 0640, 1, sha, &size)) == -2) {
		t->st->warnings++;	/* deleted since listed */
		return 0;
	}
	if (r == -1)
		return -1;
	bk_blob_check(t, name, src, sha);
	t->st->blobs_new++;
	t->st->bytes_copied += size;
	return bk_manifest_add(&t->m, path, BK_BLOB, size, sha);
}

/* All blobs of one directory: rel is "<did>" or "quarantine/<did>". */
static int
bk_take_blob_dir(struct bk_take *t, const char *rel)
{
	struct dirent	*de;
	char		 srcdir[LIM_CRON_PATH], areadir[LIM_CRON_PATH];
	char		 sub[LIM_CRON_PATH];
	DIR		*d;
	int		 rc = 0, n;

	n = snprintf(sub, sizeof(sub), "blocks/%s", rel);
	if (n < 0 || (size_t)n >= sizeof(sub) ||
	    cron_path(srcdir, t->src->blob_dir, rel) == -1 ||
	    cron_path(areadir, t->dest, sub) == -1)
		return -1;
	if ((d = opendir(srcdir)) == NULL)
		return errno == ENOENT ? 0 : -1;
	if (cron_mkdirs(areadir, 0750) == -1) {
		(void)closedir(d);
		return -1;
	}
	while (rc == 0 && (de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			rc = bk_take_blob(t, srcdir, areadir, rel, de->d_name);
	(void)closedir(d);
	return rc;
}

/* Name of the temp directory when it lies directly in the blob dir. */
static const char *
bk_tmp_name(const struct bk_sources *src)
{
	const char	*slash;
	size_t		 bl = strlen(src->blob_dir);

	if (src->blob_tmp == NULL || strncmp(src->blob_tmp, src->blob_dir, bl)
	    != 0 || src->blob_tmp[bl] != '/')
		return "tempt";
	slash = src->blob_tmp + bl + 1;
	return strchr(slash, '/') == NULL ? slash : "tempt";
}

static int
bk_take_blobs(struct bk_take *t)
{
	struct dirent	*de, *qe;
	struct stat	 sb;
	char		 path[LIM_CRON_PATH], rel[LIM_CRON_PATH];
	const char	*tmpname = bk_tmp_name(t->src);
	DIR		*d, *q;
	int		 rc = 0;

	if (t->src->blob_dir == NULL || (d = opendir(t->src->blob_dir)) == NULL)
		return 0;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strcmp(de->d_name, tmpname) == 0 ||
		    cron_path(path, t->src->blob_dir, de->d_name) == -1 ||
		    lstat(path, &sb) == -1 || !S_ISDIR(sb.st_mode))
			continue;
		if (strncmp(de->d_name, "did:", 4) == 0) {
			rc = bk_take_blob_dir(t, de->d_name);
			continue;
		}
		if (strcmp(de->d_name, "quarantine") != 0 ||
		    (q = opendir(path)) == NULL)
			continue;
		while (rc == 0 && (qe = readdir(q)) != NULL) {
			if (strncmp(qe->d_name, "did:", 4) != 0)
				continue;
			(void)snprintf(rel, sizeof(rel), "quarantine/%s",
			    qe->d_name);
			rc = bk_take_blob_dir(t, rel);
		}
		(void)closedir(q);
	}
	(void)closedir(d);
	return rc;
}

/* ---- referenced blobs: the second pass ------------------------------------ */

/*
 * A blob "referenced by a store" is a permanent blob row (tempKey NULL)
 * that a record_blob row names: the blob a record of that snapshot points
 * at (reference-pds.md e, "Making a blob permanent").  Permanent rows
 * without a record are crash leftovers that pds-maintain removes; they
 * are not required.
 */
static const char bk_sql_refs[] =
    "SELECT b.cid FROM blob b WHERE b.tempKey IS NULL AND EXISTS "
    "(SELECT 1 FROM record_blob r WHERE r.blobCid = b.cid)";
static const char bk_sql_ref1[] =
    "SELECT 1 FROM blob b WHERE b.cid = ?1 AND b.tempKey IS NULL AND EXISTS "
    "(SELECT 1 FROM record_blob r WHERE r.blobCid = b.cid)";

/* Appends to out the CIDs referenced by the store at dbpath (a store
 * without the blob tables references none).  Returns 0 or -1 (logged). */
static int
bk_refs_list(const char *dbpath, struct cron_list *out)
{
	struct db	*db = NULL;
	sqlite3_stmt	*st;
	const char	*cid;
	int		 r, rc = -1;

	if (db_open(dbpath, DB_READONLY | DB_NOCREATE, &db) == -1)
		return -1;
	if ((r = db_table_exists(db, "blob")) == 1)
		r = db_table_exists(db, "record_blob");
	if (r != 1) {
		db_close(db);
		return r == 0 ? 0 : -1;
	}
	if ((st = db_stmt_get(db, bk_sql_refs)) == NULL)
		goto out;
	while ((r = db_step(db, st)) == 1) {
		cid = (const char *)sqlite3_column_text(st, 0);
		if (cid != NULL && cron_list_add(out, cid, 0, LIM_BK_FILES)
		    == -1)
			break;
	}
	db_stmt_done(st);
	rc = r == 0 ? 0 : -1;
out:
	if (rc == -1)
		log_error("backup: %s: cannot list the referenced blobs",
		    dbpath);
	db_close(db);
	return rc;
}

/* Splits "actors/<hh>/<did>/store.sqlite" into hh (3) and did
 * (LIM_CRON_PATH).  Returns 1 when path is an account store, else 0. */
static int
bk_store_rel(const char *path, char *hh, char *did)
{
	static const char	tail[] = "/store.sqlite";
	const char		*d, *e;
	size_t			 n = strlen(path);

	if (strncmp(path, "actors/", 7) != 0 || n < 7 + 3 + sizeof(tail) ||
	    path[9] != '/' || strcmp(path + n - (sizeof(tail) - 1), tail) != 0)
		return 0;
	d = path + 10;
	e = path + n - (sizeof(tail) - 1);
	if (e <= d || memchr(d, '/', (size_t)(e - d)) != NULL ||
	    (size_t)(e - d) >= LIM_CRON_PATH)
		return 0;
	memcpy(hh, path + 7, 2);
	hh[2] = '\0';
	memcpy(did, d, (size_t)(e - d));
	did[e - d] = '\0';
	return 1;
}

/* The two MANIFEST paths a blob of did may have: blocks/<did>/<cid> and
 * blocks/quarantine/<did>/<cid> (taken down).  Returns 0, or -1 when the
 * CID is no acceptable file name. */
static int
bk_ref_paths(const char *did, const char *cid, char *plain, char *quar)
{
	int	n, q;

	n = snprintf(plain, LIM_CRON_PATH, "blocks/%s/%s", did, cid);
	q = snprintf(quar, LIM_CRON_PATH, "blocks/quarantine/%s/%s", did, cid);
	if (n < 0 || n >= LIM_CRON_PATH || q < 0 || q >= LIM_CRON_PATH ||
	    !bk_path_ok(plain, (size_t)n, BK_BLOB) ||
	    !bk_path_ok(quar, (size_t)q, BK_BLOB))
		return -1;
	return 0;
}

/* Is path in the MANIFEST being built?  Entries [0, nsorted) are sorted,
 * the few the second pass appends are searched one by one. */
static int
bk_take_has(const struct bk_take *t, const char *path)
{
	struct bk_manifest	view;
	size_t			i;

	view.v = t->m.v;
	view.n = t->nsorted;
	view.cap = t->nsorted;
	if (bk_manifest_find(&view, path) != NULL)
		return 1;
	for (i = t->nsorted; i < t->m.n; i++)
		if (strcmp(t->m.v[i].path, path) == 0)
			return 1;
	return 0;
}

/* Copies one referenced blob the first pass did not see, from either
 * place.  Returns 1 when the snapshot now holds it, 0 when it is on disk
 * in neither place, -1 on error. */
static int
bk_take_ref(struct bk_take *t, const char *did, const char *cid)
{
	static const char *const where[2] = { "", "quarantine/" };
	char		 plain[LIM_CRON_PATH], quar[LIM_CRON_PATH];
	char		 rel[LIM_CRON_PATH], sub[LIM_CRON_PATH];
	char		 srcdir[LIM_CRON_PATH], areadir[LIM_CRON_PATH];
	size_t		 before, i;
	int		 n, q;

	if (bk_ref_paths(did, cid, plain, quar) == -1) {
		log_warn("backup: %s: a referenced CID is no file name", did);
		t->st->warnings++;
		return 1;
	}
	if (bk_take_has(t, plain) || bk_take_has(t, quar))
		return 1;
	for (i = 0; i < 2 && t->src->blob_dir != NULL; i++) {
		n = snprintf(rel, sizeof(rel), "%s%s", where[i], did);
		q = snprintf(sub, sizeof(sub), "blocks/%s%s", where[i], did);
		if (n < 0 || (size_t)n >= sizeof(rel) || q < 0 ||
		    (size_t)q >= sizeof(sub) ||
		    cron_path(srcdir, t->src->blob_dir, rel) == -1 ||
		    cron_path(areadir, t->dest, sub) == -1)
			return -1;
		if (access(srcdir, F_OK) == -1)
			continue;
		if (cron_mkdirs(areadir, 0750) == -1)
			return -1;
		before = t->m.n;
		if (bk_take_blob(t, srcdir, areadir, rel, cid) == -1)
			return -1;
		if (t->m.n > before)
			return 1;
	}
	return 0;
}

/* Does the live store still reference cid?  1, 0, or -1. */
static int
bk_live_refs(const char *live, const char *cid)
{
	struct db	*db = NULL;
	sqlite3_stmt	*st;
	const char	*v[1] = { cid };
	int		 r;

	if (db_open(live, DB_READONLY | DB_NOCREATE, &db) == -1)
		return -1;
	if ((r = db_query_strs(db, bk_sql_ref1, v, 1, &st)) == 1)
		db_stmt_done(st);
	db_close(db);
	return r;
}

/* Copies the store again (its records changed since) and updates its
 * MANIFEST entry. */
static int
bk_retake_store(struct bk_take *t, const char *live, const char *rel)
{
	const struct bk_entry	*pe;
	struct bk_manifest	 view;
	struct bk_entry		*e;
	char			 dst[LIM_CRON_PATH];
	uint8_t			 sha[32];
	uint64_t		 size;

	view.v = t->m.v;
	view.n = view.cap = t->nsorted;
	if ((pe = bk_manifest_find(&view, rel)) == NULL ||
	    cron_path(dst, t->tmp, rel) == -1)
		return -1;
	e = &t->m.v[pe - t->m.v];
	(void)unlink(dst);
	if (bk_db_copy(live, dst) != 0 || cron_file_sha256(dst, sha, &size)
	    == -1)
		return -1;
	e->size = size;
	memcpy(e->sha, sha, 32);
	t->st->bytes_copied += size;
	t->st->retakes++;
	return 0;
}

/* One store copy: copies the referenced blobs the first pass missed.  A
 * blob gone from disk that the live store no longer references was
 * deleted by the PDS after the copy was taken (made permanent after the
 * first pass, deleted before this one): the store is copied again, at
 * most BK_RETAKE_MAX times.  A blob the live store still references but
 * the disk lacks is missing at the source: each is logged and counted. */
static int
bk_take_refs_store(struct bk_take *t, const char *rel)
{
	struct cron_list	 refs, gone;
	char			 hh[3], did[LIM_CRON_PATH];
	char			 copy[LIM_CRON_PATH], live[LIM_CRON_PATH];
	size_t			 i, stale;
	int			 r, rc = -1, tries;

	memset(&refs, 0, sizeof(refs));
	memset(&gone, 0, sizeof(gone));
	if (!bk_store_rel(rel, hh, did))
		return 0;
	if (cron_path(copy, t->tmp, rel) == -1 ||
	    cron_path(live, t->src->actor_dir, rel + 7) == -1)
		return -1;
	for (tries = 0;; tries++) {
		cron_list_free(&refs);
		cron_list_free(&gone);
		if (bk_refs_list(copy, &refs) == -1)
			goto out;
		for (i = 0; i < refs.n; i++) {
			if ((r = bk_take_ref(t, did, refs.v[i])) == -1)
				goto out;
			if (r == 0 && cron_list_add(&gone, refs.v[i], 0,
			    LIM_BK_FILES) == -1)
				goto out;
		}
		for (i = 0, stale = 0; i < gone.n; i++)
			if ((r = bk_live_refs(live, gone.v[i])) == 0)
				stale++;
		if (gone.n == 0 || stale == 0 || tries == BK_RETAKE_MAX)
			break;
		if (bk_retake_store(t, live, rel) == -1)
			goto out;
	}
	for (i = 0; i < gone.n; i++)
		log_error("backup: %s: blob %s, referenced by a record of the "
		    "snapshot, is missing from %s", did, gone.v[i],
		    t->src->blob_dir != NULL ? t->src->blob_dir : "(no blob "
		    "directory)");
	t->st->blobs_missing += gone.n;
	rc = 0;
out:
	cron_list_free(&refs);
	cron_list_free(&gone);
	return rc;
}

/* The second pass, after the databases: every blob referenced by a
 * copied store that the first pass did not see. */
static int
bk_take_refs(struct bk_take *t)
{
	char	rel[LIM_CRON_PATH];
	size_t	i, n;

	if (bk_manifest_sort(&t->m) == -1)
		return -1;
	t->nsorted = n = t->m.n;
	for (i = 0; i < n; i++) {
		if (t->m.v[i].kind != BK_DB)
			continue;
		(void)snprintf(rel, sizeof(rel), "%s", t->m.v[i].path);
		if (bk_take_refs_store(t, rel) == -1)
			return -1;
	}
	return 0;
}

/* Verify: every blob a store of the snapshot references is listed.
 * Returns the number missing (each logged). */
static long
bk_verify_refs(const char *snapdir, const struct bk_manifest *m,
    const struct bk_entry *e)
{
	struct cron_list	 refs;
	char			 hh[3], did[LIM_CRON_PATH], path[LIM_CRON_PATH];
	char			 plain[LIM_CRON_PATH], quar[LIM_CRON_PATH];
	size_t			 i;
	long			 bad = 0;

	if (!bk_store_rel(e->path, hh, did))
		return 0;
	memset(&refs, 0, sizeof(refs));
	if (bk_entry_file(snapdir, e, path) == -1 ||
	    bk_refs_list(path, &refs) == -1)
		return 1;
	for (i = 0; i < refs.n; i++) {
		if (bk_ref_paths(did, refs.v[i], plain, quar) == -1) {
			log_error("verify: %s: a referenced CID is no file "
			    "name", e->path);
			bad++;
		} else if (bk_manifest_find(m, plain) == NULL &&
		    bk_manifest_find(m, quar) == NULL) {
			log_error("verify: %s: referenced blob %s is not in "
			    "the snapshot", e->path, refs.v[i]);
			bad++;
		}
	}
	cron_list_free(&refs);
	return bad;
}

/* ---- taking a snapshot ---------------------------------------------------- */

/* Removes .tmp-* leftovers of runs that died (the caller holds the lock). */
static int
bk_clean_tmp(const char *snaps)
{
	struct dirent	*de;
	char		 path[LIM_CRON_PATH];
	DIR		*d;
	int		 rc = 0;

	if ((d = opendir(snaps)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, ".tmp-", 5) == 0 &&
		    (cron_path(path, snaps, de->d_name) == -1 ||
		    cron_rmtree(path) == -1))
			rc = -1;
	(void)closedir(d);
	return rc;
}

/* Loads the newest complete snapshot's MANIFEST, for blob hashes. */
static void
bk_load_prev(const char *dest, struct bk_manifest *prev)
{
	struct cron_list	 l;
	char			 dir[LIM_CRON_PATH], sub[64];

	memset(prev, 0, sizeof(*prev));
	if (bk_snapshots_list(dest, &l) == -1)
		return;
	if (l.n > 0) {
		(void)snprintf(sub, sizeof(sub), "snapshots/%s", l.v[l.n - 1]);
		if (cron_path(dir, dest, sub) == 0 &&
		    bk_manifest_load(dir, prev) == -1)
			log_warn("backup: the previous MANIFEST is unusable; "
			    "blob hashes are recomputed");
	}
	cron_list_free(&l);
}

static int
bk_take_all(struct bk_take *t)
{
	const struct bk_sources	*s = t->src;

	/* Blobs first: a record deleted after its store was copied takes
	 * its blob file with it, but the first pass has the blob already.
	 * The second pass adds what was made permanent in between. */
	if (bk_take_blobs(t) == -1 ||
	    bk_take_db(t, s->account_db, "account.sqlite") == -1 ||
	    bk_take_db(t, s->sequencer_db, "sequencer.sqlite") == -1 ||
	    bk_take_db(t, s->did_cache_db, "did_cache.sqlite") == -1 ||
	    cron_actors_walk(s->actor_dir, bk_take_actor, t) == -1 ||
	    bk_take_reserved(t) == -1 || bk_take_refs(t) == -1)
		return -1;
	return 0;
}

/* Writes <tmp>/MANIFEST durably. */
static int
bk_manifest_save(struct bk_take *t)
{
	struct buf	 b;
	char		 path[LIM_CRON_PATH], iso[UTIL_ISO_LEN];
	int		 fd = -1, rc = -1;

	buf_init(&b, LIM_BK_MANIFEST);
	util_iso_time(util_now_ms(), iso);
	if (bk_manifest_sort(&t->m) == -1 ||
	    bk_manifest_write(&b, &t->m, iso, t->src->data_dir) == -1 ||
	    cron_path(path, t->tmp, "MANIFEST") == -1) {
		log_error("backup: cannot write the MANIFEST");
		goto out;
	}
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640))
	    == -1 || write(fd, b.data, b.len) != (ssize_t)b.len ||
	    fsync(fd) == -1) {
		log_error("backup: %s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		(void)close(fd);
	buf_free(&b);
	return rc;
}

int
bk_snapshot_take(const struct bk_sources *src, const char *dest,
    char name[24], struct bk_snap_stats *st)
{
	struct bk_take	t;
	char		snaps[LIM_CRON_PATH], final[LIM_CRON_PATH], sub[64];
	int		rc = -1;

	memset(&t, 0, sizeof(t));
	memset(st, 0, sizeof(*st));
	t.src = src;
	t.dest = dest;
	t.st = st;
	bk_snapshot_name(util_now_ms(), name);
	(void)snprintf(sub, sizeof(sub), "snapshots/.tmp-%s", name);
	if (cron_path(snaps, dest, "snapshots") == -1 ||
	    cron_path(t.tmp, dest, sub) == -1 ||
	    cron_path(final, snaps, name) == -1 ||
	    cron_mkdirs(snaps, 0750) == -1 || bk_clean_tmp(snaps) == -1)
		goto out;
	if (access(final, F_OK) == 0) {
		log_error("backup: snapshot %s exists already", name);
		goto out;
	}
	bk_load_prev(dest, &t.prev);
	if (cron_mkdirs(t.tmp, 0750) == -1 || bk_take_all(&t) == -1 ||
	    bk_manifest_save(&t) == -1 || cron_fsync_dir(t.tmp) == -1)
		goto out;
	if (rename(t.tmp, final) == -1) {
		log_error("backup: %s: %s", final, strerror(errno));
		goto out;
	}
	if (cron_fsync_dir(snaps) == -1)
		goto out;
	rc = 0;
out:
	if (rc != 0 && t.tmp[0] != '\0')
		(void)cron_rmtree(t.tmp);
	bk_manifest_free(&t.m);
	bk_manifest_free(&t.prev);
	return rc;
}

/* ---- verifying -------------------------------------------------------------- */

/* Checks one entry; logs and returns -1 when it is damaged. */
static int
bk_verify_entry(const char *snapdir, const struct bk_entry *e)
{
	struct db	*db = NULL;
	struct cid	 c;
	const char	*name;
	char		 path[LIM_CRON_PATH], msg[200];
	uint8_t		 sha[32];
	uint64_t	 size;
	int		 rc = -1;

	if (bk_entry_file(snapdir, e, path) == -1 ||
	    cron_file_sha256(path, sha, &size) == -1)
		return -1;	/* cron_file_sha256 logged a missing file */
	if (size != e->size) {
		log_error("verify: %s: %llu bytes, the MANIFEST says %llu",
		    e->path, (unsigned long long)size,
		    (unsigned long long)e->size);
		return -1;
	}
	if (memcmp(sha, e->sha, 32) != 0) {
		log_error("verify: %s: SHA-256 differs from the MANIFEST",
		    e->path);
		return -1;
	}
	if (e->kind == BK_BLOB) {
		name = strrchr(e->path, '/') + 1;
		if (cid_parse_str(&c, name, strlen(name)) == 0 &&
		    cid_codec(&c) == CID_CODEC_RAW &&
		    memcmp(cid_digest(&c), sha, 32) != 0) {
			log_error("verify: %s: content does not match the CID",
			    e->path);
			return -1;
		}
		return 0;
	}
	if (e->kind != BK_DB)
		return 0;
	if (db_open(path, DB_READONLY | DB_NOCREATE, &db) == -1)
		return -1;
	if (bk_integrity(db, msg, sizeof(msg)) == -1)
		log_error("verify: %s: integrity_check: %s", e->path, msg);
	else
		rc = 0;
	db_close(db);
	return rc;
}

long
bk_snapshot_verify(const char *snapdir)
{
	struct bk_manifest	m;
	size_t			i;
	long			bad = 0;

	if (bk_manifest_load(snapdir, &m) == -1)
		return -1;
	for (i = 0; i < m.n; i++) {
		if (bk_verify_entry(snapdir, &m.v[i]) == -1)
			bad++;
		else if (m.v[i].kind == BK_DB)
			bad += bk_verify_refs(snapdir, &m, &m.v[i]);
	}
	bk_manifest_free(&m);
	return bad;
}

/* ---- restoring --------------------------------------------------------------- */

/* Restores one entry to <dir>/<path>, checking the bytes again. */
static int
bk_restore_entry(const char *snapdir, const char *dir,
    const struct bk_entry *e, uint64_t *bytes)
{
	struct db	*db = NULL;
	char		 src[LIM_CRON_PATH], dst[LIM_CRON_PATH], side[LIM_CRON_PATH];
	char		 parent[LIM_CRON_PATH], *slash;
	static const char *const sides[] = { "-wal", "-shm", "-journal" };
	uint8_t		 sha[32];
	uint64_t	 size;
	size_t		 i;

	if (bk_entry_file(snapdir, e, src) == -1 ||
	    cron_path(dst, dir, e->path) == -1)
		return -1;
	memcpy(parent, dst, sizeof(parent));
	if ((slash = strrchr(parent, '/')) != NULL) {
		*slash = '\0';
		if (cron_mkdirs(parent, 0750) == -1)
			return -1;
	}
	/* A stale WAL beside a restored database would be replayed into it. */
	for (i = 0; e->kind == BK_DB && i < 3; i++)
		if (snprintf(side, sizeof(side), "%s%s", dst, sides[i]) <
		    (int)sizeof(side))
			(void)unlink(side);
	if (cron_file_copy(src, dst, e->kind == BK_KEY ? 0600 : 0640, 1, sha,
	    &size) != 0)
		return -1;
	if (size != e->size || memcmp(sha, e->sha, 32) != 0) {
		log_error("restore: %s changed while restoring", e->path);
		return -1;
	}
	*bytes += size;
	if (e->kind != BK_DB)
		return 0;
	/* Back to WAL, as the PDS runs its databases. */
	if (db_open(dst, DB_NOCREATE, &db) == -1)
		return -1;
	db_close(db);
	return 0;
}

int
bk_snapshot_restore(const char *snapdir, const char *dir, int force)
{
	struct bk_manifest	m;
	uint64_t		bytes = 0;
	size_t			i;
	long			bad;
	int			empty;

	if ((empty = cron_dir_empty(dir)) == -1)
		return CRON_EXIT_FAIL;
	if (!empty && !force) {
		log_error("restore: %s is not empty; give --force to restore "
		    "over it", dir);
		return CRON_EXIT_USAGE;
	}
	if ((bad = bk_snapshot_verify(snapdir)) != 0) {
		log_error("restore: %s does not verify; nothing restored",
		    snapdir);
		return CRON_EXIT_VERIFY;
	}
	if (bk_manifest_load(snapdir, &m) == -1)
		return CRON_EXIT_VERIFY;
	if (cron_mkdirs(dir, 0750) == -1) {
		bk_manifest_free(&m);
		return CRON_EXIT_FAIL;
	}
	for (i = 0; i < m.n; i++)
		if (bk_restore_entry(snapdir, dir, &m.v[i], &bytes) == -1) {
			bk_manifest_free(&m);
			return CRON_EXIT_FAIL;
		}
	log_info("restored %s into %s: %zu files, %llu bytes; run the PDS "
	    "with PDS_DATA_DIRECTORY=%s and PDS_BLOBSTORE_DISK_LOCATION="
	    "%s/blocks", snapdir, dir, m.n, (unsigned long long)bytes, dir,
	    dir);
	bk_manifest_free(&m);
	return CRON_EXIT_OK;
}
