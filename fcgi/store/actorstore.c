/*
 * actorstore.c: per-account stores: paths, creation with the genesis
 * commit, the per-process cache of open stores, key files, repo_root and
 * repo_block.  See actorstore.h.
 *
 * Owns the schema of store.sqlite (the reference's migration '001',
 * packages/pds/src/actor-store/db/migrations/001-init.ts, in Kysely's
 * SQL) and our seq_pending table.  Does not own what the tables mean
 * beyond repo_root and repo_block (repowrite.c, actorread.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "actorstore.h"
#include "db.h"
#include "enc.h"
#include "log.h"
#include "pds_limits.h"
#include "repo.h"
#include "seqevt.h"
#include "syntax.h"
#include "util.h"

#define STORE_FILE	"store.sqlite"
#define KEY_FILE	"key"

/* ==== schema ============================================================= */

/* Migration '001' as Kysely writes it for SQLite. */
static const char actorstore_001[] =
    "create table \"repo_root\" (\"did\" varchar primary key, \"cid\" "
    "varchar not null, \"rev\" varchar not null, \"indexedAt\" varchar not "
    "null);"
    "create table \"repo_block\" (\"cid\" varchar primary key, \"repoRev\" "
    "varchar not null, \"size\" integer not null, \"content\" blob not "
    "null);"
    "create index \"repo_block_repo_rev_idx\" on \"repo_block\" "
    "(\"repoRev\", \"cid\");"
    "create table \"record\" (\"uri\" varchar primary key, \"cid\" varchar "
    "not null, \"collection\" varchar not null, \"rkey\" varchar not null, "
    "\"repoRev\" varchar not null, \"indexedAt\" varchar not null, "
    "\"takedownRef\" varchar);"
    "create index \"record_cid_idx\" on \"record\" (\"cid\");"
    "create index \"record_collection_idx\" on \"record\" (\"collection\");"
    "create index \"record_repo_rev_idx\" on \"record\" (\"repoRev\");"
    "create table \"blob\" (\"cid\" varchar primary key, \"mimeType\" "
    "varchar not null, \"size\" integer not null, \"tempKey\" varchar, "
    "\"width\" integer, \"height\" integer, \"createdAt\" varchar not null, "
    "\"takedownRef\" varchar);"
    "create index \"blob_tempkey_idx\" on \"blob\" (\"tempKey\");"
    "create table \"record_blob\" (\"blobCid\" varchar not null, "
    "\"recordUri\" varchar not null, constraint \"record_blob_pkey\" "
    "primary key (\"blobCid\", \"recordUri\"));"
    "create table \"backlink\" (\"uri\" varchar not null, \"path\" varchar "
    "not null, \"linkTo\" varchar not null, constraint \"backlinks_pkey\" "
    "primary key (\"uri\", \"path\"));"
    "create index \"backlink_link_to_idx\" on \"backlink\" (\"path\", "
    "\"linkTo\");"
    "create table \"account_pref\" (\"id\" integer primary key "
    "autoincrement, \"name\" varchar not null, \"valueJson\" text not "
    "null);";

static const struct db_migration actorstore_migrations[] = {
	{ "001", actorstore_001, NULL },
};

/*
 * Ours, outside the migration list so that the store stays at the
 * reference's '001': #commit events committed with their repository
 * change but not yet copied into sequencer.sqlite (repowrite.c).  Created
 * whenever a store is opened, so stores made by the reference get it too.
 */
static const char actorstore_pending_sql[] =
    "create table if not exists \"seq_pending\" (\"rev\" varchar primary "
    "key, \"event\" blob not null)";

/* ==== paths =============================================================== */

int
actorstore_dir_path(const char *root, const char *did, char *out,
    size_t outsz)
{
	uint8_t	dg[32];
	char	hh[3];
	int	n;

	if (root == NULL || did == NULL ||
	    syntax_did_validate(did, strlen(did), NULL) == -1)
		return -1;
	if (cid_sha256(did, strlen(did), dg) == -1)
		return -1;
	(void)enc_hex_encode(dg, 1, hh);
	hh[2] = '\0';
	n = snprintf(out, outsz, "%s/%s/%s", root, hh, did);
	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

/* "<dir>/<name>" into out. */
static int
file_path(const char *dir, const char *name, char *out, size_t outsz)
{
	int	n = snprintf(out, outsz, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

/* mkdir that accepts an existing directory. */
static int
mkdir_ok(const char *p, mode_t mode)
{
	if (mkdir(p, mode) == 0 || errno == EEXIST)
		return 0;
	log_error("%s: mkdir %s: %s", __func__, p, strerror(errno));
	return -1;
}

/* mkdir -p of the parents of dir (root may not exist yet either). */
static int
mkdir_parents(const char *dir)
{
	char	p[LIM_STORE_PATH];
	size_t	i, len = strlen(dir);

	if (len >= sizeof(p))
		return -1;
	memcpy(p, dir, len + 1);
	for (i = 1; i < len; i++) {
		if (p[i] != '/')
			continue;
		p[i] = '\0';
		if (mkdir_ok(p, 0700) == -1)
			return -1;
		p[i] = '/';
	}
	return 0;
}

/* ==== opening a database ==================================================== */

static int
store_db_open(const char *path, int flags, int create, struct db **out)
{
	int	dflags = 0;
	char	sql[64];

	if (flags & ACTORSTORE_WAL_NOAUTO)
		dflags |= DB_WAL_NOAUTO;
	if (!create)
		dflags |= DB_NOCREATE;
	/* db_open() sets WAL with synchronous = NORMAL, as the reference's
	 * better-sqlite3 build runs (SQLITE_DEFAULT_WAL_SYNCHRONOUS=1). */
	if (db_open(path, dflags, out) == -1)
		return -1;
	(void)snprintf(sql, sizeof(sql), "PRAGMA cache_size = -%d",
	    LIM_ACTOR_DB_CACHE_KIB);
	if (db_exec(*out, sql) == -1) {
		db_close(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

/* ==== blocks and the root ==================================================== */

int
actorstore_block_get(struct actorstore *s, const struct cid *c,
    struct buf *out)
{
	sqlite3_stmt	*st;
	const void	*p;
	char		 cs[CID_STR_LEN];
	const char	*v[1] = { cs };
	int		 rc, n;

	buf_reset(out);
	cid_format(c, cs);
	if ((rc = db_query_strs(actorstore_db(s), "SELECT content FROM "
	    "repo_block WHERE cid = ?1", v, 1, &st)) == 1) {
		p = sqlite3_column_blob(st, 0);
		n = sqlite3_column_bytes(st, 0);
		if (n > 0 && (p == NULL || buf_append(out, p, (size_t)n) == -1))
			rc = -1;
	}
	db_stmt_done(st);
	return rc;
}

int
actorstore_block_put(struct actorstore *s, const struct cid *c,
    const void *p, size_t len, const char *rev)
{
	struct db	*db = actorstore_db(s);
	sqlite3_stmt	*st;
	char		 cs[CID_STR_LEN];
	int		 rc;

	cid_format(c, cs);
	st = db_stmt_get(db, "INSERT INTO repo_block (cid, repoRev, size, "
	    "content) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING");
	if (st == NULL)
		return -1;
	if (sqlite3_bind_text(st, 1, cs, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, rev, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, (sqlite3_int64)len) != SQLITE_OK ||
	    sqlite3_bind_blob(st, 4, len > 0 ? p : "", (int)len,
	    SQLITE_STATIC) != SQLITE_OK) {
		db_stmt_done(st);
		return -1;
	}
	rc = db_step(db, st);
	db_stmt_done(st);
	return rc == -1 ? -1 : 0;
}

int
actorstore_blocks_put(struct actorstore *s, const struct repo_commit *rc)
{
	const struct cid	*c;
	const uint8_t		*p;
	size_t			 i, len;

	for (i = 0; blockmap_next(&rc->new_blocks, &i, &c, &p, &len);)
		if (actorstore_block_put(s, c, p, len, rc->rev) == -1)
			return -1;
	return 0;
}

int
actorstore_block_delete(struct actorstore *s, const struct cid *c)
{
	char		 cs[CID_STR_LEN];
	const char	*v[1] = { cs };

	cid_format(c, cs);
	return db_exec_strs(actorstore_db(s), "DELETE FROM repo_block WHERE "
	    "cid = ?1", v, 1) == -1 ? -1 : 0;
}

/* struct mst_source adapter: 0 found, 1 absent, -1 error. */
static int
store_source_get(void *arg, const struct cid *c, struct buf *out)
{
	int	rc = actorstore_block_get(arg, c, out);

	return rc == 1 ? 0 : rc == 0 ? 1 : -1;
}

void
actorstore_source(struct actorstore *s, struct mst_source *out)
{
	out->get = store_source_get;
	out->arg = s;
}

int
actorstore_root_get(struct actorstore *s, struct actorstore_root *out)
{
	struct db	*db = actorstore_db(s);
	sqlite3_stmt	*st;
	const char	*cs, *rev;
	int		 rc;

	st = db_stmt_get(db, "SELECT cid, rev FROM repo_root LIMIT 1");
	if (st == NULL)
		return -1;
	if ((rc = db_step(db, st)) == 1) {
		cs = (const char *)sqlite3_column_text(st, 0);
		rev = (const char *)sqlite3_column_text(st, 1);
		if (cs == NULL || rev == NULL ||
		    cid_parse_str(&out->cid, cs, strlen(cs)) == -1 ||
		    tid_validate(rev, strlen(rev), NULL) == -1) {
			log_error("%s: %s: malformed repo_root row", __func__,
			    actorstore_did(s));
			rc = -1;
		} else
			memcpy(out->rev, rev, TID_STR_LEN);
	}
	db_stmt_done(st);
	return rc;
}

int
actorstore_root_set(struct actorstore *s, const struct cid *cid,
    const char *rev)
{
	char		 cs[CID_STR_LEN], now[UTIL_ISO_LEN];
	const char	*v[4] = { actorstore_did(s), cs, rev, now };

	cid_format(cid, cs);
	util_iso_time(util_now_ms(), now);
	return db_exec_strs(actorstore_db(s), "INSERT INTO repo_root (did, "
	    "cid, rev, indexedAt) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (did) DO "
	    "UPDATE SET cid = excluded.cid, rev = excluded.rev, indexedAt = "
	    "excluded.indexedAt", v, 4) == -1 ? -1 : 0;
}

/* ==== one store =============================================================== */

struct actorstore {
	char		*did;
	char		*dir;		/* <root>/<hh>/<did> */
	struct db	*db;
	struct key	*key;		/* loaded on first use */
	int		 dirfd;		/* the directory, for the write lock */
	dev_t		 dev;		/* of store.sqlite when opened */
	ino_t		 ino;
	unsigned long	 used;		/* cache tick of the last get */
};

struct db *
actorstore_db(struct actorstore *s)
{
	return s->db;
}

const char *
actorstore_did(const struct actorstore *s)
{
	return s->did;
}

static void
store_free(struct actorstore *s)
{
	if (s == NULL)
		return;
	db_close(s->db);
	key_free(s->key);
	if (s->dirfd != -1)
		(void)close(s->dirfd);
	free(s->did);
	free(s->dir);
	free(s);
}

static struct actorstore *
store_new(const char *did, const char *dir)
{
	struct actorstore	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->dirfd = -1;
	if ((s->did = strdup(did)) == NULL || (s->dir = strdup(dir)) == NULL) {
		store_free(s);
		return NULL;
	}
	return s;
}

int
actorstore_lock(struct actorstore *s)
{
	while (flock(s->dirfd, LOCK_EX) == -1) {
		if (errno == EINTR)
			continue;
		log_error("%s: %s: flock: %s", __func__, s->dir,
		    strerror(errno));
		return -1;
	}
	return 0;
}

int
actorstore_unlock(struct actorstore *s)
{
	if (flock(s->dirfd, LOCK_UN) == -1) {
		log_error("%s: %s: flock: %s", __func__, s->dir,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* Reads the raw 32-byte key file. */
static int
key_file_read(const char *dir, struct key **out)
{
	uint8_t	raw[LIM_ACTOR_KEY_FILE + 1];
	char	path[LIM_STORE_PATH];
	ssize_t	n;
	int	fd, rc = -1;

	if (file_path(dir, KEY_FILE, path, sizeof(path)) == -1)
		return -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		log_error("%s: %s: %s", __func__, path, strerror(errno));
		return -1;
	}
	n = read(fd, raw, sizeof(raw));
	(void)close(fd);
	if (n != LIM_ACTOR_KEY_FILE)
		log_error("%s: %s: not a raw %d-byte key", __func__, path,
		    LIM_ACTOR_KEY_FILE);
	else if (key_load_k256_raw(raw, (size_t)n, out) != KEY_OK)
		log_error("%s: %s: invalid key", __func__, path);
	else
		rc = 0;
	util_wipe(raw, sizeof(raw));
	return rc;
}

int
actorstore_key(struct actorstore *s, const struct key **out)
{
	if (s->key == NULL && key_file_read(s->dir, &s->key) == -1)
		return -1;
	*out = s->key;
	return 0;
}

/* Opens the existing store in dir.  Returns 1, 0 when absent, -1. */
static int
store_open(const char *dir, const char *did, int flags,
    struct actorstore **out)
{
	struct actorstore	*s;
	struct stat		 sb;
	char			 path[LIM_STORE_PATH];

	*out = NULL;
	if (file_path(dir, STORE_FILE, path, sizeof(path)) == -1)
		return -1;
	if (stat(path, &sb) == -1) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		log_error("%s: %s: %s", __func__, path, strerror(errno));
		return -1;
	}
	if ((s = store_new(did, dir)) == NULL)
		return -1;
	s->dev = sb.st_dev;
	s->ino = sb.st_ino;
	if ((s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		log_error("%s: %s: %s", __func__, dir, strerror(errno));
		store_free(s);
		return -1;
	}
	if (store_db_open(path, flags, 0, &s->db) == -1 ||
	    db_exec(s->db, actorstore_pending_sql) == -1) {
		store_free(s);
		return -1;
	}
	*out = s;
	return 1;
}

/* Is s still the file at its path (not deleted or replaced)? */
static int
store_current(const struct actorstore *s)
{
	struct stat	sb;
	char		path[LIM_STORE_PATH];

	if (file_path(s->dir, STORE_FILE, path, sizeof(path)) == -1 ||
	    stat(path, &sb) == -1)
		return 0;
	return sb.st_dev == s->dev && sb.st_ino == s->ino;
}

/* ==== the cache ============================================================== */

struct actorstore_cache {
	char			 *root;
	int			  flags;
	size_t			  cap;
	size_t			  n;
	struct actorstore	**slot;
	unsigned long		  tick;
};

int
actorstore_cache_new(const char *root, size_t cap, int flags,
    struct actorstore_cache **out)
{
	struct actorstore_cache	*c;

	*out = NULL;
	if (cap < 1)
		cap = 1;
	if (cap > LIM_ACTOR_CACHE_MAX)
		cap = LIM_ACTOR_CACHE_MAX;
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->root = strdup(root)) == NULL ||
	    (c->slot = calloc(cap, sizeof(*c->slot))) == NULL) {
		actorstore_cache_free(c);
		log_error("%s: out of memory", __func__);
		return -1;
	}
	c->cap = cap;
	c->flags = flags;
	*out = c;
	return 0;
}

void
actorstore_cache_free(struct actorstore_cache *c)
{
	size_t	i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n; i++)
		store_free(c->slot[i]);
	free(c->slot);
	free(c->root);
	free(c);
}

static void
cache_drop(struct actorstore_cache *c, size_t i)
{
	store_free(c->slot[i]);
	c->slot[i] = c->slot[--c->n];
	c->slot[c->n] = NULL;
}

/* Frees a slot, evicting the least recently used store when full. */
static void
cache_make_room(struct actorstore_cache *c)
{
	size_t	i, lru = 0;

	if (c->n < c->cap)
		return;
	for (i = 1; i < c->n; i++)
		if (c->slot[i]->used < c->slot[lru]->used)
			lru = i;
	cache_drop(c, lru);
}

int
actorstore_get(struct actorstore_cache *c, const char *did,
    struct actorstore **out)
{
	struct actorstore	*s;
	char			 dir[LIM_STORE_PATH];
	size_t			 i;
	int			 rc;

	*out = NULL;
	for (i = 0; i < c->n; i++) {
		if (strcmp(c->slot[i]->did, did) != 0)
			continue;
		if (!store_current(c->slot[i])) {
			cache_drop(c, i);
			break;
		}
		c->slot[i]->used = ++c->tick;
		*out = c->slot[i];
		return 1;
	}
	if (actorstore_dir_path(c->root, did, dir, sizeof(dir)) == -1)
		return 0;
	if ((rc = store_open(dir, did, c->flags, &s)) != 1)
		return rc;
	cache_make_room(c);
	s->used = ++c->tick;
	c->slot[c->n++] = s;
	*out = s;
	return 1;
}

/* ==== creation and removal =================================================== */

void
actorstore_genesis_init(struct actorstore_genesis *g)
{
	memset(g, 0, sizeof(*g));
	buf_init(&g->commit_evt, LIM_COMMIT_EVENT_BYTES + (64u << 10));
	buf_init(&g->sync_evt, LIM_SYNC_EVENT_BYTES + 1024);
}

void
actorstore_genesis_fini(struct actorstore_genesis *g)
{
	if (g == NULL)
		return;
	buf_free(&g->commit_evt);
	buf_free(&g->sync_evt);
}

static int
key_file_write(const char *dir, const struct key *k)
{
	uint8_t	raw[KEY_PRIV_LEN];
	char	path[LIM_STORE_PATH];
	int	fd, rc = -1;

	if (file_path(dir, KEY_FILE, path, sizeof(path)) == -1 ||
	    key_priv_get(k, raw) != KEY_OK)
		return -1;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1)
		log_error("%s: %s: %s", __func__, path, strerror(errno));
	else if (write(fd, raw, sizeof(raw)) != (ssize_t)sizeof(raw) ||
	    fsync(fd) == -1)
		log_error("%s: %s: write: %s", __func__, path, strerror(errno));
	else
		rc = 0;
	if (fd != -1)
		(void)close(fd);
	util_wipe(raw, sizeof(raw));
	return rc;
}

/* Stores every new block of the genesis commit and the root. */
static int
genesis_store(struct actorstore *s, const struct repo_commit *rc)
{
	if (actorstore_blocks_put(s, rc) == -1)
		return -1;
	return actorstore_root_set(s, &rc->cid, rc->rev);
}

/* The event bodies of the genesis commit. */
static int
genesis_events(const char *did, const struct repo_commit *rc,
    struct actorstore_genesis *out)
{
	const uint8_t	*blk;
	struct buf	 car;
	size_t		 blen;
	int		 ret = -1;

	buf_init(&car, LIM_COMMIT_EVENT_BYTES);
	if ((blk = blockmap_get(&rc->new_blocks, &rc->cid, &blen)) == NULL ||
	    seqevt_commit_car(rc, &car) == -1 ||
	    seqevt_commit_encode(did, rc, car.data, car.len,
	    &out->commit_evt) == -1 ||
	    seqevt_sync_encode(did, rc->rev, &rc->cid, blk, blen,
	    &out->sync_evt) == -1)
		goto out;
	out->cid = rc->cid;
	memcpy(out->rev, rc->rev, sizeof(out->rev));
	ret = 0;
out:
	buf_free(&car);
	return ret;
}

/* Schema and genesis commit in a fresh store. */
static int
genesis_write(struct actorstore *s, const struct key *k,
    struct actorstore_genesis *out)
{
	struct repo_commit	rc;
	struct mst_source	src;
	enum repo_err		e;
	int			ret = -1;

	repo_commit_init(&rc);
	actorstore_source(s, &src);
	if (db_migrate(s->db, actorstore_migrations, 1) == -1 ||
	    db_exec(s->db, actorstore_pending_sql) == -1)
		goto out;
	if ((e = repo_create(&src, s->did, strlen(s->did), k, NULL, 0,
	    &rc)) != REPO_OK) {
		log_error("%s: %s: genesis commit: %s", __func__, s->did,
		    repo_err_str(e));
		goto out;
	}
	if (db_begin_immediate(s->db) == -1)
		goto out;
	if (genesis_store(s, &rc) == -1 || db_commit(s->db) == -1) {
		(void)db_rollback(s->db);
		goto out;
	}
	ret = genesis_events(s->did, &rc, out);
out:
	repo_commit_fini(&rc);
	return ret;
}

/* Removes the files of a store and its directory (missing ones are
 * fine). */
static int
remove_store_files(const char *dir)
{
	static const char *const names[] = { STORE_FILE, STORE_FILE "-wal",
	    STORE_FILE "-shm", STORE_FILE "-journal", KEY_FILE, NULL };
	char	path[LIM_STORE_PATH];
	size_t	i;
	int	rc = 0;

	for (i = 0; names[i] != NULL; i++) {
		if (file_path(dir, names[i], path, sizeof(path)) == -1)
			return -1;
		if (unlink(path) == -1 && errno != ENOENT) {
			log_error("%s: unlink %s: %s", __func__, path,
			    strerror(errno));
			rc = -1;
		}
	}
	if (rmdir(dir) == -1 && errno != ENOENT) {
		log_error("%s: rmdir %s: %s", __func__, dir, strerror(errno));
		rc = -1;
	}
	return rc;
}

int
actorstore_create(const char *root, const char *did, const struct key *k,
    int flags, struct actorstore_genesis *out)
{
	struct actorstore	*s = NULL;
	char			 dir[LIM_STORE_PATH], path[LIM_STORE_PATH];

	if (actorstore_dir_path(root, did, dir, sizeof(dir)) == -1 ||
	    file_path(dir, STORE_FILE, path, sizeof(path)) == -1) {
		log_error("%s: invalid DID or path too long", __func__);
		return -1;
	}
	if (access(path, F_OK) == 0)
		return 1;	/* "Repo already exists" */
	if (mkdir_parents(dir) == -1 || mkdir_ok(dir, 0700) == -1 ||
	    key_file_write(dir, k) == -1)
		goto fail;
	if ((s = store_new(did, dir)) == NULL)
		goto fail;
	if (store_db_open(path, flags, 1, &s->db) == -1 ||
	    genesis_write(s, k, out) == -1)
		goto fail;
	store_free(s);
	return 0;
fail:
	store_free(s);
	(void)remove_store_files(dir);
	return -1;
}

int
actorstore_destroy(const char *root, const char *did)
{
	char	dir[LIM_STORE_PATH];

	if (actorstore_dir_path(root, did, dir, sizeof(dir)) == -1)
		return -1;
	return remove_store_files(dir);
}
