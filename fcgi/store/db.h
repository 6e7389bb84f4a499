/*
 * db.h: the one place that opens SQLite (STYLE.md 6.3 "SQL").
 *
 * Every database of the reference's layout (account.sqlite,
 * sequencer.sqlite, did_cache.sqlite, actors/.../store.sqlite;
 * ../shared/spec/reference-pds.md section c) is opened through db_open():
 * WAL journal, a busy timeout, foreign keys when asked, and
 * PRAGMA wal_autocheckpoint = 0 when PDS_SQLITE_DISABLE_WAL_AUTO_CHECKPOINT
 * is set.  On top: a prepared-statement cache, explicit transactions with
 * SQLITE_BUSY handled on purpose, and Kysely-compatible migrations
 * (tables kysely_migration and kysely_migration_lock).
 *
 * Error convention for the whole module: functions return 0 (or a count,
 * or 1 for "row"/"exists") on success and -1 on failure; a failure is
 * logged once here, with the function, the database path and SQLite's
 * message.  SQL text is always a constant of the caller: values go
 * through bound parameters only.
 */
#ifndef PDS_DB_H
#define PDS_DB_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

struct arena;
struct db;

/* db_open() flags */
#define DB_READONLY	0x01	/* SQLITE_OPEN_READONLY; no journal change */
#define DB_NOCREATE	0x02	/* the file must exist */
#define DB_FOREIGN_KEYS	0x04	/* PRAGMA foreign_keys = ON */
#define DB_WAL_NOAUTO	0x08	/* PRAGMA wal_autocheckpoint = 0 (set it
				 * from pds_config.wal_autockpt_off) */

/* Opens path with flags (DB_*).  On success returns 0 and *out, which the
 * caller releases with db_close().  The handle belongs to one process
 * (never share it across fork()) and one thread. */
int	db_open(const char *path, int flags, struct db **out);
/* Finalizes cached statements and closes; accepts NULL. */
void	db_close(struct db *);
/* The SQLite handle, owned by db (for sqlite3_* calls the helpers below
 * do not cover), and the path it was opened with. */
sqlite3	*db_handle(struct db *);
const char *db_path(const struct db *);

/* Runs constant SQL without parameters (DDL, pragmas; may hold several
 * statements).  Returns 0 or -1. */
int	db_exec(struct db *, const char *sql);

/* Returns the cached prepared statement for the constant text sql
 * (prepared on first use), reset and with bindings cleared, or NULL on
 * error.  The statement stays owned by db: do not finalize it; call
 * db_stmt_done() when finished with it (or db_reset_all()).  It remains
 * valid until db_close(); at most LIM_DB_STMTS statements are cached, the
 * least recently used idle one being replaced. */
sqlite3_stmt *db_stmt_get(struct db *, const char *sql);
/* Steps a statement: returns 1 for a row, 0 when done, -1 on error
 * (SQLITE_BUSY included: the busy timeout has already expired). */
int	db_step(struct db *, sqlite3_stmt *);
/* Resets a cached statement and clears its bindings (ends its read
 * snapshot).  Accepts NULL. */
void	db_stmt_done(sqlite3_stmt *);
/* Resets every cached statement still running: the worker calls this
 * after each request so no read snapshot outlives the request. */
void	db_reset_all(struct db *);

/* Text parameters: v[0..n) are bound to ?1..?n (a NULL entry binds SQL
 * NULL).  The strings are not copied: they must stay valid until the
 * statement is released. */
/* Binds v to st, a statement from db_stmt_get() (NULL is accepted: a
 * failed db_stmt_get).  Returns 0, or -1 with st released. */
int	db_bind_strs(struct db *, sqlite3_stmt *st, const char *const *v,
	    int n);
/* The cached statement for sql (db_stmt_get) with v bound; release it
 * with db_stmt_done().  Returns NULL on error (nothing to release). */
sqlite3_stmt *db_prepare_strs(struct db *, const char *sql,
	    const char *const *v, int n);
/* db_prepare_strs() and the first step.  Returns 1 with *out on the first
 * row (read it, db_step() on, then db_stmt_done()), 0 when there is no
 * row, or -1; on 0 and -1 the statement is released and *out is NULL. */
int	db_query_strs(struct db *, const char *sql, const char *const *v,
	    int n, sqlite3_stmt **out);
/* Runs sql, which returns no row, with v bound.  Returns the number of
 * rows it changed (sqlite3_changes), or -1 (a returned row is an error
 * too). */
int	db_exec_strs(struct db *, const char *sql, const char *const *v,
	    int n);
/* Binds the integer x to parameter idx (1-based) of st, a statement from
 * db_prepare_strs() (NULL is accepted: a failed prepare).  Returns 0, or
 * -1 with st released. */
int	db_bind_i64(struct db *, sqlite3_stmt *st, int idx, int64_t x);
/* Steps st, a bound statement that returns no row (NULL is accepted: a
 * failed prepare or bind), and releases it.  Returns the number of rows
 * it changed (sqlite3_changes), or -1 (a returned row is an error too). */
int	db_exec_stmt(struct db *, sqlite3_stmt *st);
/* Runs the n constant statements sqls[0..nsql) in order in one immediate
 * transaction, each with as many of v[0..n) as it has parameters (bound
 * to ?1.. as db_bind_strs does).  Returns 0, or -1 with the transaction
 * rolled back. */
int	db_exec_strs_tx(struct db *, const char *const *sqls, size_t nsql,
	    const char *const *v, int n);
/* Column col of st's current row copied into the arena (NUL-terminated,
 * sqlite3_column_bytes() long), or NULL for SQL NULL; a failed copy
 * returns NULL and sets *bad, so that a row is read field by field and
 * checked once. */
const char *db_col_dup(struct arena *, sqlite3_stmt *st, int col, int *bad);

/* Transactions.  db_begin_immediate() takes the write lock at once;
 * when SQLite still reports SQLITE_BUSY after the busy timeout it sleeps
 * and retries (LIM_DB_BEGIN_TRIES attempts, LIM_DB_BEGIN_SLEEP_MS
 * doubling) before failing.  db_begin() starts a deferred (read)
 * transaction.  db_rollback() is safe to call when no transaction is
 * open.  All return 0 or -1. */
int	db_begin(struct db *);
int	db_begin_immediate(struct db *);
int	db_commit(struct db *);
int	db_rollback(struct db *);

/* Returns 1 when a table named name exists, 0 when not, -1 on error. */
int	db_table_exists(struct db *, const char *name);

/* One migration, Kysely style: name "001", "002", ... in order; up is
 * constant SQL (may hold several statements) and/or a function run after
 * it (returns 0 or -1). */
struct db_migration {
	const char	*name;
	const char	*sql;
	int		(*up)(struct db *);
};

/* Brings the database to the last of the n migrations, as Kysely's
 * Migrator does: creates kysely_migration(name, timestamp) and
 * kysely_migration_lock(id, is_locked) if needed, refuses a database
 * whose executed migrations are not a prefix of the list (a newer or
 * foreign schema), then runs each pending one and records its name with
 * the ISO time, all in one immediate transaction.  Returns the number of
 * migrations run, or -1 (nothing is changed on failure). */
int	db_migrate(struct db *, const struct db_migration *m, size_t n);

#endif /* PDS_DB_H */
