/*
 * test_db.c: fcgi/store/db.c on real SQLite files: pragmas, read-only
 * and no-create opens, the statement cache, statements with text
 * parameters (db_*_strs), transactions under a competing writer, and
 * Kysely-compatible migrations (the bookkeeping DDL is compared with
 * what Kysely 0.23 itself emits).
 */
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "t.h"
#include "db.h"
#include "log.h"
#include "pds_limits.h"

static char	dir[] = "/tmp/test_db_XXXXXX";
static char	path[600];

static int64_t
pragma_int(struct db *db, const char *sql)
{
	sqlite3_stmt	*st = db_stmt_get(db, sql);
	int64_t		 v = -1;

	if (st != NULL && db_step(db, st) == 1)
		v = sqlite3_column_int64(st, 0);
	db_stmt_done(st);
	return v;
}

static void
test_open(void)
{
	struct db	*db = NULL, *ro = NULL;
	sqlite3_stmt	*st;
	char		 missing[700];

	T_EQ_INT(db_open(path, DB_FOREIGN_KEYS | DB_WAL_NOAUTO, &db), 0);
	if (db == NULL)
		return;
	st = db_stmt_get(db, "PRAGMA journal_mode");
	T_OK(st != NULL && db_step(db, st) == 1 && strcmp((const char *)
	    sqlite3_column_text(st, 0), "wal") == 0, "journal_mode");
	db_stmt_done(st);
	T_EQ_INT(pragma_int(db, "PRAGMA foreign_keys"), 1);
	T_EQ_INT(pragma_int(db, "PRAGMA wal_autocheckpoint"), 0);
	T_EQ_INT(pragma_int(db, "PRAGMA busy_timeout"), LIM_DB_BUSY_MS);
	T_EQ_INT(db_exec(db, "CREATE TABLE t (k TEXT PRIMARY KEY, v INT)"), 0);
	T_EQ_INT(db_table_exists(db, "t"), 1);
	T_EQ_INT(db_table_exists(db, "nope"), 0);
	T_EQ_INT(db_exec(db, "not sql"), -1);
	T_OK(db_stmt_get(db, "SELECT * FROM nope") == NULL, "bad prepare");

	/* The cache hands back the same statement, reset. */
	st = db_stmt_get(db, "INSERT INTO t VALUES (?1, ?2)");
	T_OK(st != NULL, "prepare");
	T_OK(db_stmt_get(db, "INSERT INTO t VALUES (?1, ?2)") == st, "cached");
	sqlite3_bind_text(st, 1, "a", -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, 1);
	T_EQ_INT(db_step(db, st), 0);
	db_stmt_done(st);
	/* A constraint failure is an error, logged once. */
	st = db_stmt_get(db, "INSERT INTO t VALUES (?1, ?2)");
	sqlite3_bind_text(st, 1, "a", -1, SQLITE_STATIC);
	T_EQ_INT(db_step(db, st), -1);
	db_stmt_done(st);

	/* Defaults: 1 and 0 elsewhere. */
	T_EQ_INT(db_open(path, DB_READONLY, &ro), 0);
	if (ro != NULL) {
		T_EQ_INT(pragma_int(ro, "PRAGMA foreign_keys"), 0);
		T_EQ_INT(pragma_int(ro, "PRAGMA wal_autocheckpoint"), 1000);
		T_EQ_INT(db_exec(ro, "INSERT INTO t VALUES ('b', 2)"), -1);
		T_EQ_INT(pragma_int(ro, "SELECT count(*) FROM t"), 1);
	}
	db_close(ro);
	(void)snprintf(missing, sizeof(missing), "%s/missing.sqlite", dir);
	ro = NULL;
	T_EQ_INT(db_open(missing, DB_NOCREATE, &ro), -1);
	T_OK(ro == NULL && access(missing, F_OK) == -1, "created anyway");
	T_EQ_INT(db_open("/nonexistent/dir/x.sqlite", 0, &ro), -1);
	db_close(db);
	db_close(NULL);
}

/* More distinct statements than the cache holds: the oldest idle one is
 * replaced; a running one is kept. */
static void
test_cache_eviction(void)
{
	struct db	*db = NULL;
	sqlite3_stmt	*running, *st;
	char		*sql[LIM_DB_STMTS + 4];
	size_t		 i;

	if (db_open(path, 0, &db) == -1)
		return;
	running = db_stmt_get(db, "SELECT k FROM t");
	T_EQ_INT(db_step(db, running), 1);	/* left running */
	for (i = 0; i < LIM_DB_STMTS + 4; i++) {
		if ((sql[i] = malloc(32)) == NULL)
			return;
		(void)snprintf(sql[i], 32, "SELECT %zu", i);
		st = db_stmt_get(db, sql[i]);
		T_OK(st != NULL, "statement %zu", i);
		T_EQ_INT(db_step(db, st), 1);
		db_stmt_done(st);
	}
	/* Still valid and still running. */
	T_OK(sqlite3_stmt_busy(running), "running statement evicted");
	db_reset_all(db);
	T_OK(!sqlite3_stmt_busy(running), "reset_all");
	db_close(db);
	for (i = 0; i < LIM_DB_STMTS + 4; i++)
		free(sql[i]);
}

/* Statements with text parameters: NULL binds SQL NULL, counts of
 * changed rows, first rows, and the errors that release the statement. */
static void
test_strs(void)
{
	const char	*ab[2] = { "x", NULL }, *one[1] = { "x" };
	const char	*nul[1] = { NULL }, *miss[1] = { "nope" };
	struct db	*db = NULL;
	sqlite3_stmt	*st;

	if (db_open(path, 0, &db) == -1)
		return;
	T_EQ_INT(db_exec(db, "CREATE TABLE s (a TEXT, b TEXT)"), 0);
	T_EQ_INT(db_exec_strs(db, "INSERT INTO s VALUES (?1, ?2)", ab, 2), 1);
	T_EQ_INT(db_exec_strs(db, "INSERT INTO s VALUES (?1, ?2)", ab, 2), 1);
	T_EQ_INT(db_exec_strs(db, "UPDATE s SET b = ?1 WHERE b IS NULL", one,
	    1), 2);
	T_EQ_INT(db_exec_strs(db, "UPDATE s SET b = ?1 WHERE b IS NULL", one,
	    1), 0);
	T_EQ_INT(db_exec_strs(db, "INSERT INTO s VALUES (?1, ?1)", nul, 1), 1);
	T_EQ_INT(db_query_strs(db, "SELECT count(*) FROM s WHERE a IS NULL AND "
	    "b IS NULL", NULL, 0, &st), 1);
	T_OK(st != NULL && sqlite3_column_int(st, 0) == 1, "NULL bound");
	T_OK(st != NULL && sqlite3_stmt_busy(st), "left on its row");
	db_stmt_done(st);
	/* several rows: the caller steps on */
	T_EQ_INT(db_query_strs(db, "SELECT b FROM s WHERE a = ?1", one, 1, &st),
	    1);
	T_EQ_INT(db_step(db, st), 1);
	T_EQ_INT(db_step(db, st), 0);
	db_stmt_done(st);
	/* no row, or an error: released, *out NULL */
	st = (sqlite3_stmt *)1;
	T_EQ_INT(db_query_strs(db, "SELECT b FROM s WHERE a = ?1", miss, 1,
	    &st), 0);
	T_OK(st == NULL, "no row: NULL");
	st = (sqlite3_stmt *)1;
	T_EQ_INT(db_query_strs(db, "SELECT * FROM nope", NULL, 0, &st), -1);
	T_OK(st == NULL, "error: NULL");
	/* a parameter the statement does not have */
	T_OK(db_prepare_strs(db, "SELECT ?1", ab, 2) == NULL, "bind range");
	T_EQ_INT(db_bind_strs(db, NULL, one, 1), -1);
	st = db_prepare_strs(db, "SELECT ?1 || ?2", ab, 1);
	T_OK(st != NULL && db_step(db, st) == 1 &&
	    sqlite3_column_type(st, 0) == SQLITE_NULL, "unbound ?2 is NULL");
	db_stmt_done(st);
	/* db_exec_strs() is for statements without rows; a constraint
	 * failure is -1 too */
	T_EQ_INT(db_exec_strs(db, "SELECT a FROM s", NULL, 0), -1);
	T_EQ_INT(db_exec_strs(db, "INSERT INTO t VALUES (?1, 1)",
	    (const char *const[]){ "a" }, 1), -1);
	T_OK(!sqlite3_stmt_busy(db_stmt_get(db, "SELECT a FROM s")),
	    "released after a row");
	db_close(db);
}

/* An integer parameter after the text ones, db_exec_stmt(), and a
 * transaction of statements with fewer parameters than given, rolled
 * back whole when one fails. */
static void
test_strs_tx(void)
{
	static const char *const ok[] = {
		"INSERT INTO u VALUES (?1, ?2)",
		"DELETE FROM u WHERE a = ?1 AND b IS NULL",
	};
	static const char *const bad[] = {
		"INSERT INTO u VALUES (?1, ?2)",
		"INSERT INTO nope VALUES (?1)",
	};
	const char	*ab[2] = { "x", "y" }, *one[1] = { "x" };
	struct db	*db = NULL;
	sqlite3_stmt	*st;

	if (db_open(path, 0, &db) == -1)
		return;
	T_EQ_INT(db_exec(db, "CREATE TABLE u (a TEXT, b)"), 0);
	st = db_prepare_strs(db, "INSERT INTO u VALUES (?1, ?2)", one, 1);
	T_EQ_INT(db_bind_i64(db, st, 2, INT64_C(1) << 40), 0);
	T_EQ_INT(db_exec_stmt(db, st), 1);
	T_EQ_INT(db_query_strs(db, "SELECT b FROM u WHERE a = ?1", one, 1, &st),
	    1);
	T_OK(st != NULL && sqlite3_column_int64(st, 0) == INT64_C(1) << 40,
	    "int64 bound");
	db_stmt_done(st);
	st = db_prepare_strs(db, "SELECT ?1", one, 1);
	T_EQ_INT(db_bind_i64(db, st, 2, 1), -1);
	T_OK(!sqlite3_stmt_busy(st), "released after a bad bind");
	T_EQ_INT(db_bind_i64(db, NULL, 1, 1), -1);
	T_EQ_INT(db_exec_stmt(db, NULL), -1);
	T_EQ_INT(db_exec_stmt(db, db_prepare_strs(db, "SELECT 1", NULL, 0)),
	    -1);
	T_EQ_INT(db_exec_strs_tx(db, ok, 2, ab, 2), 0);
	T_EQ_INT(db_query_strs(db, "SELECT count(*) FROM u WHERE b = 'y'", NULL,
	    0, &st), 1);
	T_OK(st != NULL && sqlite3_column_int(st, 0) == 1, "tx committed");
	db_stmt_done(st);
	T_EQ_INT(db_exec_strs_tx(db, bad, 2, ab, 2), -1);
	T_EQ_INT(db_query_strs(db, "SELECT count(*) FROM u", NULL, 0, &st), 1);
	T_OK(st != NULL && sqlite3_column_int(st, 0) == 2, "tx rolled back");
	db_stmt_done(st);
	T_EQ_INT(db_exec(db, "DROP TABLE u"), 0);
	db_close(db);
}

/* BEGIN IMMEDIATE waits for another process's write transaction. */
static void
test_immediate(void)
{
	struct db	*db = NULL, *other = NULL;
	int		 p[2], status;
	char		 c;
	pid_t		 pid;

	if (pipe(p) == -1)
		return;
	if ((pid = fork()) == 0) {
		close(p[0]);
		if (db_open(path, 0, &other) == -1 ||
		    db_begin_immediate(other) == -1 ||
		    db_exec(other, "INSERT INTO t VALUES ('child', 9)") == -1)
			_exit(1);
		(void)!write(p[1], "x", 1);
		usleep(300000);	/* hold the write lock */
		_exit(db_commit(other) == 0 ? 0 : 1);
	}
	close(p[1]);
	T_OK(read(p[0], &c, 1) == 1, "child took the lock");
	close(p[0]);
	T_EQ_INT(db_open(path, 0, &db), 0);
	if (db != NULL) {
		T_EQ_INT(db_begin_immediate(db), 0);	/* waits ~300 ms */
		T_EQ_INT(pragma_int(db, "SELECT v FROM t WHERE k = 'child'"),
		    9);
		T_EQ_INT(db_exec(db, "UPDATE t SET v = 10 WHERE k = 'child'"),
		    0);
		T_EQ_INT(db_rollback(db), 0);
		T_EQ_INT(db_rollback(db), 0);	/* none open: harmless */
		T_EQ_INT(pragma_int(db, "SELECT v FROM t WHERE k = 'child'"),
		    9);
	}
	T_EQ_INT(waitpid(pid, &status, 0), pid);
	T_OK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child");
	db_close(db);
}

static int	up_calls;

static int
mig_up(struct db *db)
{
	up_calls++;
	return db_exec(db, "INSERT INTO m1 (x) VALUES (42)");
}

static int
mig_fail(struct db *db)
{
	(void)db;
	return -1;
}

static void
test_migrate(void)
{
	static const struct db_migration m[] = {
		{ "001", "CREATE TABLE m1 (x INT)", NULL },
		{ "002", "CREATE TABLE m2 (y INT); CREATE INDEX m2_y ON m2 (y)",
		    mig_up },
		{ "003", "ALTER TABLE m2 ADD COLUMN z TEXT", NULL },
	};
	static const struct db_migration bad[] = {
		{ "001", "CREATE TABLE m1 (x INT)", NULL },
		{ "002", NULL, NULL },
		{ "003", NULL, NULL },
		{ "004", "CREATE TABLE m4 (x INT)", mig_fail },
	};
	static const struct db_migration foreign[] = {
		{ "001", "CREATE TABLE m1 (x INT)", NULL },
		{ "009", NULL, NULL },
	};
	char		 mpath[700];
	struct db	*db = NULL;
	sqlite3_stmt	*st;

	(void)snprintf(mpath, sizeof(mpath), "%s/migrate.sqlite", dir);
	if (db_open(mpath, 0, &db) == -1)
		return;
	T_EQ_INT(db_migrate(db, m, 2), 2);
	T_EQ_INT(up_calls, 1);
	T_EQ_INT(db_migrate(db, m, 2), 0);	/* up to date */
	T_EQ_INT(db_migrate(db, m, 3), 1);
	T_EQ_INT(up_calls, 1);
	T_EQ_INT(pragma_int(db, "SELECT x FROM m1"), 42);
	/* Kysely's rows and DDL. */
	st = db_stmt_get(db, "SELECT group_concat(name, ','), "
	    "min(length(timestamp)) FROM kysely_migration");
	T_OK(st != NULL && db_step(db, st) == 1 && strcmp((const char *)
	    sqlite3_column_text(st, 0), "001,002,003") == 0 &&
	    sqlite3_column_int(st, 1) == 24, "migration rows");
	db_stmt_done(st);
	st = db_stmt_get(db, "SELECT sql FROM sqlite_master WHERE name = "
	    "'kysely_migration'");
	T_OK(st != NULL && db_step(db, st) == 1 && strcmp((const char *)
	    sqlite3_column_text(st, 0), "CREATE TABLE \"kysely_migration\" "
	    "(\"name\" varchar(255) not null primary key, \"timestamp\" "
	    "varchar(255) not null)") == 0, "kysely_migration DDL");
	db_stmt_done(st);
	st = db_stmt_get(db, "SELECT sql FROM sqlite_master WHERE name = "
	    "'kysely_migration_lock'");
	T_OK(st != NULL && db_step(db, st) == 1 && strcmp((const char *)
	    sqlite3_column_text(st, 0), "CREATE TABLE "
	    "\"kysely_migration_lock\" (\"id\" varchar(255) not null primary "
	    "key, \"is_locked\" integer default 0 not null)") == 0,
	    "kysely_migration_lock DDL");
	db_stmt_done(st);
	T_EQ_INT(pragma_int(db, "SELECT count(*) FROM kysely_migration_lock "
	    "WHERE id = 'migration_lock' AND is_locked = 0"), 1);
	/* A failing migration changes nothing. */
	T_EQ_INT(db_migrate(db, bad, 4), -1);
	T_EQ_INT(db_table_exists(db, "m4"), 0);
	T_EQ_INT(pragma_int(db, "SELECT count(*) FROM kysely_migration"), 3);
	/* A database from another schema history is refused. */
	T_EQ_INT(db_migrate(db, foreign, 2), -1);
	T_EQ_INT(db_migrate(db, m, 1), -1);	/* newer than this list */
	db_close(db);
	unlink(mpath);
}

int
main(void)
{
	char	f[700];

	log_init("test_db", LOG_LVL_ERROR);
	if (mkdtemp(dir) == NULL)
		return 1;
	(void)snprintf(path, sizeof(path), "%s/t.sqlite", dir);
	test_open();
	test_cache_eviction();
	test_strs();
	test_strs_tx();
	test_immediate();
	test_migrate();
	(void)snprintf(f, sizeof(f), "%s-wal", path);
	unlink(f);
	(void)snprintf(f, sizeof(f), "%s-shm", path);
	unlink(f);
	unlink(path);
	(void)snprintf(f, sizeof(f), "%s/migrate.sqlite-wal", dir);
	unlink(f);
	(void)snprintf(f, sizeof(f), "%s/migrate.sqlite-shm", dir);
	unlink(f);
	rmdir(dir);
	return t_done("db");
}
