/*
 * db.c: opening SQLite databases, the statement cache, transactions and
 * Kysely-style migrations.  See db.h.
 *
 * Owns: connection setup (pragmas), SQLITE_BUSY policy, the migration
 * bookkeeping tables.  Does not own: any schema (each store module keeps
 * its own migrations) or what is stored.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "db.h"
#include "log.h"
#include "pds_limits.h"
#include "util.h"

struct db_cached {
	const char	*sql;	/* the caller's constant text */
	sqlite3_stmt	*stmt;
	unsigned long	 used;	/* last use, for replacement */
};

struct db {
	sqlite3			*h;
	char			*path;
	struct db_cached	 cache[LIM_DB_STMTS];
	unsigned long		 tick;
};

static void
db_log_err(const struct db *db, const char *func, const char *what)
{
	log_error("%s: %s: %s: %s", func, db->path, what,
	    sqlite3_errmsg(db->h));
}

static int
db_pragmas(struct db *db, int flags)
{
	if (sqlite3_busy_timeout(db->h, LIM_DB_BUSY_MS) != SQLITE_OK) {
		db_log_err(db, __func__, "busy_timeout");
		return -1;
	}
	/* WAL with synchronous = NORMAL, SQLite's recommended setting for
	 * WAL (sqlite.org/compile.html, SQLITE_DEFAULT_WAL_SYNCHRONOUS): a
	 * commit survives a crash of the process; a power loss may roll
	 * back the last commits but never corrupts; no fsync per commit. */
	if (!(flags & DB_READONLY) &&
	    (db_exec(db, "PRAGMA journal_mode = WAL") == -1 ||
	    db_exec(db, "PRAGMA synchronous = NORMAL") == -1))
		return -1;
	if ((flags & DB_FOREIGN_KEYS) &&
	    db_exec(db, "PRAGMA foreign_keys = ON") == -1)
		return -1;
	if ((flags & DB_WAL_NOAUTO) &&
	    db_exec(db, "PRAGMA wal_autocheckpoint = 0") == -1)
		return -1;
	return 0;
}

int
db_open(const char *path, int flags, struct db **out)
{
	struct db	*db;
	int		 oflags, rc;

	*out = NULL;
	if ((db = calloc(1, sizeof(*db))) == NULL ||
	    (db->path = strdup(path)) == NULL) {
		log_error("%s: %s: out of memory", __func__, path);
		free(db);
		return -1;
	}
	oflags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_PRIVATECACHE;
	if (flags & DB_READONLY)
		oflags |= SQLITE_OPEN_READONLY;
	else
		oflags |= SQLITE_OPEN_READWRITE |
		    ((flags & DB_NOCREATE) ? 0 : SQLITE_OPEN_CREATE);
	rc = sqlite3_open_v2(path, &db->h, oflags, NULL);
	if (rc != SQLITE_OK) {
		log_error("%s: %s: %s", __func__, path, db->h != NULL ?
		    sqlite3_errmsg(db->h) : sqlite3_errstr(rc));
		db_close(db);
		return -1;
	}
	(void)sqlite3_extended_result_codes(db->h, 1);
	if (db_pragmas(db, flags) == -1) {
		db_close(db);
		return -1;
	}
	*out = db;
	return 0;
}

void
db_close(struct db *db)
{
	size_t	i;

	if (db == NULL)
		return;
	for (i = 0; i < LIM_DB_STMTS; i++)
		(void)sqlite3_finalize(db->cache[i].stmt);
	if (db->h != NULL && sqlite3_close(db->h) != SQLITE_OK)
		log_error("%s: %s: %s", __func__, db->path,
		    sqlite3_errmsg(db->h));
	free(db->path);
	free(db);
}

sqlite3 *
db_handle(struct db *db)
{
	return db->h;
}

const char *
db_path(const struct db *db)
{
	return db->path;
}

int
db_exec(struct db *db, const char *sql)
{
	char	*msg = NULL;

	if (sqlite3_exec(db->h, sql, NULL, NULL, &msg) != SQLITE_OK) {
		log_error("%s: %s: %s", __func__, db->path,
		    msg != NULL ? msg : sqlite3_errmsg(db->h));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* ---- statement cache -------------------------------------------------- */

static struct db_cached *
db_cache_find(struct db *db, const char *sql)
{
	size_t	i;

	for (i = 0; i < LIM_DB_STMTS; i++)
		if (db->cache[i].sql == sql)
			return &db->cache[i];
	for (i = 0; i < LIM_DB_STMTS; i++)
		if (db->cache[i].sql != NULL &&
		    strcmp(db->cache[i].sql, sql) == 0)
			return &db->cache[i];
	return NULL;
}

/* An empty slot, else the least recently used idle statement. */
static struct db_cached *
db_cache_slot(struct db *db)
{
	struct db_cached	*best = NULL;
	size_t			 i;

	for (i = 0; i < LIM_DB_STMTS; i++) {
		if (db->cache[i].stmt == NULL)
			return &db->cache[i];
		if (sqlite3_stmt_busy(db->cache[i].stmt))
			continue;
		if (best == NULL || db->cache[i].used < best->used)
			best = &db->cache[i];
	}
	if (best != NULL) {
		(void)sqlite3_finalize(best->stmt);
		best->stmt = NULL;
		best->sql = NULL;
	}
	return best;
}

sqlite3_stmt *
db_stmt_get(struct db *db, const char *sql)
{
	struct db_cached	*c;
	size_t			 len = strlen(sql);

	if ((c = db_cache_find(db, sql)) != NULL) {
		(void)sqlite3_reset(c->stmt);
		(void)sqlite3_clear_bindings(c->stmt);
		c->used = ++db->tick;
		return c->stmt;
	}
	if (len > LIM_DB_SQL_LEN) {
		log_error("%s: %s: statement longer than %u bytes", __func__,
		    db->path, (unsigned)LIM_DB_SQL_LEN);
		return NULL;
	}
	if ((c = db_cache_slot(db)) == NULL) {
		log_error("%s: %s: all %d cached statements are running",
		    __func__, db->path, LIM_DB_STMTS);
		return NULL;
	}
	if (sqlite3_prepare_v3(db->h, sql, (int)len + 1,
	    SQLITE_PREPARE_PERSISTENT, &c->stmt, NULL) != SQLITE_OK) {
		db_log_err(db, __func__, "prepare");
		c->stmt = NULL;
		return NULL;
	}
	c->sql = sql;
	c->used = ++db->tick;
	return c->stmt;
}

int
db_step(struct db *db, sqlite3_stmt *stmt)
{
	int	rc;

	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	db_log_err(db, __func__, (rc & 0xff) == SQLITE_BUSY ?
	    "busy after timeout" : "step");
	(void)sqlite3_reset(stmt);
	return -1;
}

void
db_stmt_done(sqlite3_stmt *stmt)
{
	if (stmt == NULL)
		return;
	(void)sqlite3_reset(stmt);
	(void)sqlite3_clear_bindings(stmt);
}

void
db_reset_all(struct db *db)
{
	size_t	i;

	if (db == NULL)
		return;
	for (i = 0; i < LIM_DB_STMTS; i++)
		if (db->cache[i].stmt != NULL &&
		    sqlite3_stmt_busy(db->cache[i].stmt))
			db_stmt_done(db->cache[i].stmt);
}

/* ---- statements with text parameters ---------------------------------- */

int
db_bind_strs(struct db *db, sqlite3_stmt *st, const char *const *v, int n)
{
	int	i, rc;

	if (st == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		rc = v[i] != NULL ? sqlite3_bind_text(st, i + 1, v[i], -1,
		    SQLITE_STATIC) : sqlite3_bind_null(st, i + 1);
		if (rc != SQLITE_OK) {
			db_log_err(db, __func__, "bind");
			db_stmt_done(st);
			return -1;
		}
	}
	return 0;
}

sqlite3_stmt *
db_prepare_strs(struct db *db, const char *sql, const char *const *v, int n)
{
	sqlite3_stmt	*st = db_stmt_get(db, sql);

	return db_bind_strs(db, st, v, n) == -1 ? NULL : st;
}

int
db_query_strs(struct db *db, const char *sql, const char *const *v, int n,
    sqlite3_stmt **out)
{
	sqlite3_stmt	*st;
	int		 rc;

	*out = NULL;
	if ((st = db_prepare_strs(db, sql, v, n)) == NULL)
		return -1;
	if ((rc = db_step(db, st)) == 1)
		*out = st;
	else
		db_stmt_done(st);
	return rc;
}

int
db_bind_i64(struct db *db, sqlite3_stmt *st, int idx, int64_t x)
{
	if (st == NULL)
		return -1;
	if (sqlite3_bind_int64(st, idx, x) != SQLITE_OK) {
		db_log_err(db, __func__, "bind");
		db_stmt_done(st);
		return -1;
	}
	return 0;
}

int
db_exec_stmt(struct db *db, sqlite3_stmt *st)
{
	int	rc;

	if (st == NULL)
		return -1;
	rc = db_step(db, st);
	db_stmt_done(st);
	if (rc == 1) {
		log_error("%s: %s: statement returned a row", __func__,
		    db->path);
		return -1;
	}
	return rc == -1 ? -1 : sqlite3_changes(db->h);
}

int
db_exec_strs(struct db *db, const char *sql, const char *const *v, int n)
{
	return db_exec_stmt(db, db_prepare_strs(db, sql, v, n));
}

int
db_exec_strs_tx(struct db *db, const char *const *sqls, size_t nsql,
    const char *const *v, int n)
{
	sqlite3_stmt	*st;
	size_t		 i;
	int		 k;

	if (db_begin_immediate(db) == -1)
		return -1;
	for (i = 0; i < nsql; i++) {
		k = n;
		if ((st = db_stmt_get(db, sqls[i])) != NULL &&
		    sqlite3_bind_parameter_count(st) < k)
			k = sqlite3_bind_parameter_count(st);
		if (db_exec_stmt(db, db_bind_strs(db, st, v, k) == -1 ? NULL :
		    st) == -1) {
			(void)db_rollback(db);
			return -1;
		}
	}
	return db_commit(db);
}

const char *
db_col_dup(struct arena *a, sqlite3_stmt *st, int col, int *bad)
{
	const unsigned char	*s;
	const char		*c;

	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return NULL;
	if ((s = sqlite3_column_text(st, col)) == NULL ||
	    (c = arena_strndup(a, (const char *)s,
	    (size_t)sqlite3_column_bytes(st, col))) == NULL) {
		*bad = 1;
		return NULL;
	}
	return c;
}

/* ---- transactions ------------------------------------------------------ */

static void
db_sleep_ms(long ms)
{
	struct timespec	ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

int
db_begin(struct db *db)
{
	return db_exec(db, "BEGIN");
}

int
db_begin_immediate(struct db *db)
{
	long	sleep_ms = LIM_DB_BEGIN_SLEEP_MS;
	int	try, rc;

	for (try = 1; ; try++) {
		rc = sqlite3_exec(db->h, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			return 0;
		/* Busy or locked after the busy timeout: another process
		 * holds the write lock for long; back off and try again. */
		if (((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) !=
		    SQLITE_LOCKED) || try >= LIM_DB_BEGIN_TRIES)
			break;
		log_warn("%s: %s: write lock busy (attempt %d of %d)",
		    __func__, db->path, try, LIM_DB_BEGIN_TRIES);
		db_sleep_ms(sleep_ms);
		sleep_ms *= 2;
	}
	db_log_err(db, __func__, "BEGIN IMMEDIATE");
	return -1;
}

int
db_commit(struct db *db)
{
	return db_exec(db, "COMMIT");
}

int
db_rollback(struct db *db)
{
	if (sqlite3_get_autocommit(db->h))
		return 0;	/* no transaction open */
	return db_exec(db, "ROLLBACK");
}

int
db_table_exists(struct db *db, const char *name)
{
	const char	*v[1] = { name };
	sqlite3_stmt	*st;
	int		 rc;

	rc = db_query_strs(db, "SELECT 1 FROM sqlite_master "
	    "WHERE type = 'table' AND name = ?1", v, 1, &st);
	db_stmt_done(st);
	return rc;
}

/* ---- migrations (Kysely Migrator, as the reference runs it) ----------- */

/* Kysely 0.23's DDL for its bookkeeping, byte for byte. */
static const char db_mig_tables[] =
    "create table if not exists \"kysely_migration\" (\"name\" "
    "varchar(255) not null primary key, \"timestamp\" varchar(255) not "
    "null);"
    "create table if not exists \"kysely_migration_lock\" (\"id\" "
    "varchar(255) not null primary key, \"is_locked\" integer default 0 "
    "not null);"
    "insert into \"kysely_migration_lock\" (\"id\", \"is_locked\") "
    "select 'migration_lock', 0 where not exists (select 1 from "
    "\"kysely_migration_lock\" where \"id\" = 'migration_lock');";

/* Checks the executed migrations against the list; sets *done to how
 * many of the list already ran. */
static int
db_mig_executed(struct db *db, const struct db_migration *m, size_t n,
    size_t *done)
{
	sqlite3_stmt	*st;
	const char	*name;
	size_t		 i = 0;
	int		 rc;

	st = db_stmt_get(db, "SELECT \"name\" FROM \"kysely_migration\" "
	    "ORDER BY \"name\"");
	if (st == NULL)
		return -1;
	while ((rc = db_step(db, st)) == 1) {
		name = (const char *)sqlite3_column_text(st, 0);
		if (name == NULL || i >= n || strcmp(name, m[i].name) != 0) {
			log_error("%s: %s: corrupted migrations: executed "
			    "migration %s is not known here", __func__,
			    db->path, name != NULL ? name : "(null)");
			db_stmt_done(st);
			return -1;
		}
		i++;
	}
	db_stmt_done(st);
	*done = i;
	return rc;
}

static int
db_mig_record(struct db *db, const char *name)
{
	char		 ts[UTIL_ISO_LEN];
	const char	*v[2] = { name, ts };

	util_iso_time(util_now_ms(), ts);
	return db_exec_strs(db, "INSERT INTO \"kysely_migration\" "
	    "(\"name\", \"timestamp\") VALUES (?1, ?2)", v, 2) == -1 ? -1 : 0;
}

int
db_migrate(struct db *db, const struct db_migration *m, size_t n)
{
	size_t	i, done = 0;
	int	ran = 0;

	if (db_begin_immediate(db) == -1)
		return -1;
	if (db_exec(db, db_mig_tables) == -1 ||
	    db_mig_executed(db, m, n, &done) == -1)
		goto fail;
	for (i = done; i < n; i++) {
		if (m[i].sql != NULL && db_exec(db, m[i].sql) == -1)
			goto fail;
		if (m[i].up != NULL && m[i].up(db) == -1) {
			log_error("%s: %s: migration %s failed", __func__,
			    db->path, m[i].name);
			goto fail;
		}
		if (db_mig_record(db, m[i].name) == -1)
			goto fail;
		ran++;
	}
	if (db_commit(db) == -1)
		goto fail;
	if (ran > 0)
		log_info("%s: %s: ran %d migration(s), now at %s", __func__,
		    db->path, ran, m[n - 1].name);
	return ran;
fail:
	(void)db_rollback(db);
	return -1;
}
