/*
 * didcache.c: did_cache.sqlite (see didcache.h).  Owns the schema and the
 * three row operations; resolve.c decides what is fresh.
 */
#include <string.h>

#include "db.h"
#include "didcache.h"
#include "log.h"
#include "pds_limits.h"

static const struct db_migration didcache_migrations[] = {
	{ "001",
	  "create table \"did_doc\" (\"did\" varchar primary key, \"doc\" text "
	  "not null, \"updatedAt\" bigint not null);",
	  NULL },
};

int
didcache_open(const char *path, int flags, struct db **out)
{
	struct db	*db = NULL;

	*out = NULL;
	if (db_open(path, flags & ~(DB_READONLY | DB_NOCREATE), &db) == -1)
		return -1;
	if (db_migrate(db, didcache_migrations, sizeof(didcache_migrations) /
	    sizeof(didcache_migrations[0])) == -1) {
		db_close(db);
		return -1;
	}
	*out = db;
	return 0;
}

int
didcache_get(struct db *db, struct arena *a, const char *did,
    const char **doc, size_t *len, int64_t *updated_ms)
{
	static const char sql[] = "SELECT doc, updatedAt FROM did_doc"
	    " WHERE did = ?1";
	sqlite3_stmt	*st;
	const char	*s;
	int		 rc;

	*doc = NULL;
	*len = 0;
	*updated_ms = 0;
	if ((st = db_prepare_strs(db, sql, &did, 1)) == NULL)
		return -1;
	if ((rc = db_step(db, st)) == 1) {
		s = (const char *)sqlite3_column_text(st, 0);
		*len = (size_t)sqlite3_column_bytes(st, 0);
		*updated_ms = sqlite3_column_int64(st, 1);
		if (s == NULL || *len > LIM_DIDDOC_BYTES ||
		    (*doc = arena_strndup(a, s, *len)) == NULL)
			rc = -1;
	}
	db_stmt_done(st);
	return rc;
}

int
didcache_put(struct db *db, const char *did, const char *doc, size_t len,
    int64_t now_ms)
{
	static const char sql[] = "INSERT INTO did_doc (did, doc, updatedAt)"
	    " VALUES (?1, ?2, ?3) ON CONFLICT (did) DO UPDATE SET doc = ?2,"
	    " updatedAt = ?3";
	sqlite3_stmt	*st;
	int		 rc;

	if (len > LIM_DIDDOC_BYTES || (st = db_stmt_get(db, sql)) == NULL)
		return -1;
	if (sqlite3_bind_text(st, 1, did, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, doc, (int)len, SQLITE_STATIC) !=
	    SQLITE_OK || sqlite3_bind_int64(st, 3, now_ms) != SQLITE_OK) {
		db_stmt_done(st);
		return -1;
	}
	rc = db_step(db, st);
	db_stmt_done(st);
	return rc == -1 ? -1 : 0;
}

int
didcache_delete(struct db *db, const char *did)
{
	static const char sql[] = "DELETE FROM did_doc WHERE did = ?1";

	return db_exec_strs(db, sql, &did, 1) == -1 ? -1 : 0;
}
