/*
 * seqdb.c: sequencer.sqlite (repo_seq) for writers and for the firehose
 * daemon.  See seqdb.h.  Owns the schema of migration "001" and the
 * statements on repo_seq; does not own how the events are built (the
 * repository and account code) or served (firehose/).
 *
 * Wake-up: after a commit, writers send one datagram to a unix socket the
 * daemon binds next to the database (seqdb_wake_path()).  It carries no
 * data; the daemon then reads repo_seq for seq > its last.  A missing
 * daemon costs one failed sendto().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <sqlite3.h>

#include "db.h"
#include "log.h"
#include "pds_limits.h"
#include "seqdb.h"
#include "util.h"

/* Migration 001 of packages/pds/src/sequencer/db/migrations, as Kysely
 * compiles it for SQLite (byte for byte: sqlite_master keeps this text). */
static const struct db_migration seqdb_migrations[] = {
	{ "001",
	  "create table \"repo_seq\" (\"seq\" integer primary key "
	  "autoincrement, \"did\" varchar not null, \"eventType\" varchar "
	  "not null, \"event\" blob not null, \"invalidated\" int2 default 0 "
	  "not null, \"sequencedAt\" varchar not null);"
	  "create index \"repo_seq_did_idx\" on \"repo_seq\" (\"did\");"
	  "create index \"repo_seq_event_type_idx\" on \"repo_seq\" "
	  "(\"eventType\");"
	  "create index \"repo_seq_sequenced_at_index\" on \"repo_seq\" "
	  "(\"sequencedAt\");",
	  NULL },
};

static const char sq_insert[] =
    "INSERT INTO repo_seq (did, eventType, event, sequencedAt) "
    "VALUES (?1, ?2, ?3, ?4)";
static const char sq_delete[] =
    "DELETE FROM repo_seq WHERE did = ?1 AND seq < ?2";
static const char sq_max[] =
    "SELECT seq FROM repo_seq ORDER BY seq DESC LIMIT 1";
static const char sq_next[] =
    "SELECT seq, sequencedAt FROM repo_seq WHERE seq > ?1 "
    "ORDER BY seq ASC LIMIT 1";
static const char sq_since[] =
    "SELECT seq FROM repo_seq WHERE sequencedAt >= ?1 "
    "ORDER BY sequencedAt ASC LIMIT 1";
static const char sq_last[] =
    "SELECT seq, did, eventType, event, sequencedAt FROM repo_seq "
    "WHERE did = ?1 AND eventType = ?2 ORDER BY seq DESC LIMIT 1";
static const char sq_read[] =
    "SELECT seq, did, eventType, event, sequencedAt FROM repo_seq "
    "WHERE seq > ?1 AND seq <= ?2 AND invalidated = 0 "
    "ORDER BY seq ASC LIMIT ?3";

struct seqdb {
	struct db		*db;
	int			 rdonly;
	int			 in_tx;
	int			 wake_fd;	/* -1 until first notify */
	int			 wake_ok;	/* wake address fits */
	struct sockaddr_un	 wake;
};

static const char *const seqdb_names[SEQDB__MAX] = {
	"append",	/* SEQDB_APPEND */
	"sync",		/* SEQDB_SYNC */
	"identity",	/* SEQDB_IDENTITY */
	"account",	/* SEQDB_ACCOUNT */
};

static const char *const seqdb_wire[SEQDB__MAX] = {
	"#commit",	/* SEQDB_APPEND */
	"#sync",	/* SEQDB_SYNC */
	"#identity",	/* SEQDB_IDENTITY */
	"#account",	/* SEQDB_ACCOUNT */
};

const char *
seqdb_type_name(enum seqdb_type t)
{
	return (unsigned)t < SEQDB__MAX ? seqdb_names[t] : "?";
}

const char *
seqdb_type_wire(enum seqdb_type t)
{
	return (unsigned)t < SEQDB__MAX ? seqdb_wire[t] : "?";
}

int
seqdb_type_parse(const char *s, size_t len, enum seqdb_type *out)
{
	int	i;

	for (i = 0; i < SEQDB__MAX; i++)
		if (strlen(seqdb_names[i]) == len &&
		    memcmp(seqdb_names[i], s, len) == 0) {
			*out = (enum seqdb_type)i;
			return 0;
		}
	return -1;
}

/* ---- opening -------------------------------------------------------- */

int
seqdb_wake_path(const char *path, char *out, size_t outsz)
{
	struct sockaddr_un	 sun;
	const char		*slash;
	int			 n;

	if (outsz > sizeof(sun.sun_path))
		outsz = sizeof(sun.sun_path);
	slash = strrchr(path, '/');
	if (slash == NULL)
		n = snprintf(out, outsz, ".%s.wake", path);
	else
		n = snprintf(out, outsz, "%.*s/.%s.wake",
		    (int)(slash - path), path, slash + 1);
	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

int
seqdb_open(const char *path, int flags, struct seqdb **out)
{
	struct seqdb	*s;
	int		 dflags;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_error("%s: %s", __func__, strerror(errno));
		return -1;
	}
	s->wake_fd = -1;
	s->rdonly = (flags & SEQDB_RDONLY) != 0;
	dflags = s->rdonly ? DB_READONLY | DB_NOCREATE :
	    ((flags & SEQDB_CREATE) ? 0 : DB_NOCREATE) |
	    ((flags & SEQDB_WAL_NOAUTO) ? DB_WAL_NOAUTO : 0);
	if (db_open(path, dflags, &s->db) == -1)
		goto fail;
	/* The daemon's reads run in its event loop: never wait long. */
	if (s->rdonly && sqlite3_busy_timeout(db_handle(s->db),
	    LIM_FH_DB_BUSY_MS) != SQLITE_OK)
		goto fail;
	if ((flags & SEQDB_CREATE) && !s->rdonly && db_migrate(s->db,
	    seqdb_migrations, sizeof(seqdb_migrations) /
	    sizeof(seqdb_migrations[0])) == -1)
		goto fail;
	if (db_table_exists(s->db, "repo_seq") != 1) {
		log_error("%s: %s: no repo_seq table", __func__, path);
		goto fail;
	}
	s->wake.sun_family = AF_UNIX;
	s->wake_ok = seqdb_wake_path(path, s->wake.sun_path,
	    sizeof(s->wake.sun_path)) == 0;
	*out = s;
	return 0;
fail:
	seqdb_close(s);
	return -1;
}

void
seqdb_close(struct seqdb *s)
{
	if (s == NULL)
		return;
	seqdb_rollback(s);
	db_close(s->db);
	if (s->wake_fd != -1)
		close(s->wake_fd);
	free(s);
}

/* ---- writing --------------------------------------------------------- */

void
seqdb_notify(struct seqdb *s)
{
	static const char	 b = 'w';

	if (s == NULL || !s->wake_ok)
		return;
	if (s->wake_fd == -1 && (s->wake_fd = socket(AF_UNIX,
	    SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
		return;
	/* ENOENT / ECONNREFUSED (no daemon) and EAGAIN (a wake-up is
	 * already queued) all mean there is nothing more to do. */
	(void)sendto(s->wake_fd, &b, 1, MSG_DONTWAIT | MSG_NOSIGNAL,
	    (const struct sockaddr *)&s->wake, sizeof(s->wake));
}

int
seqdb_begin(struct seqdb *s)
{
	if (s->in_tx || s->rdonly) {
		log_error("%s: transaction already open or read-only",
		    __func__);
		return -1;
	}
	if (db_begin_immediate(s->db) == -1)
		return -1;
	s->in_tx = 1;
	return 0;
}

int
seqdb_commit(struct seqdb *s)
{
	if (!s->in_tx) {
		log_error("%s: no transaction open", __func__);
		return -1;
	}
	if (db_commit(s->db) == -1) {
		seqdb_rollback(s);
		return -1;
	}
	s->in_tx = 0;
	seqdb_notify(s);
	return 0;
}

void
seqdb_rollback(struct seqdb *s)
{
	if (s == NULL || !s->in_tx)
		return;
	(void)db_rollback(s->db);
	s->in_tx = 0;
}

/* Binding failed: log with the SQLite message and release st. */
static int
seqdb_bind_fail(struct seqdb *s, sqlite3_stmt *st, const char *fn)
{
	log_error("%s: %s: bind: %s", fn, db_path(s->db),
	    sqlite3_errmsg(db_handle(s->db)));
	db_stmt_done(st);
	return -1;
}

int
seqdb_append(struct seqdb *s, const char *did, enum seqdb_type type,
    const uint8_t *body, size_t len, int64_t time_ms, int64_t *seq)
{
	sqlite3_stmt	*st;
	char		 iso[UTIL_ISO_LEN];
	int		 rc;

	if ((unsigned)type >= SEQDB__MAX || len > INT32_MAX || s->rdonly) {
		log_error("%s: bad arguments", __func__);
		return -1;
	}
	util_iso_time(time_ms, iso);
	if ((st = db_stmt_get(s->db, sq_insert)) == NULL)
		return -1;
	if (sqlite3_bind_text(st, 1, did, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, seqdb_names[type], -1, SQLITE_STATIC) !=
	    SQLITE_OK ||
	    sqlite3_bind_blob(st, 3, len ? (const void *)body : "", (int)len,
	    SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 4, iso, -1, SQLITE_STATIC) != SQLITE_OK)
		return seqdb_bind_fail(s, st, __func__);
	rc = db_step(s->db, st);
	db_stmt_done(st);
	if (rc != 0)
		return -1;
	if (seq != NULL)
		*seq = sqlite3_last_insert_rowid(db_handle(s->db));
	if (!s->in_tx)
		seqdb_notify(s);
	return 0;
}

int
seqdb_delete_before(struct seqdb *s, const char *did, int64_t before_seq)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_stmt_get(s->db, sq_delete)) == NULL)
		return -1;
	if (sqlite3_bind_text(st, 1, did, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, before_seq) != SQLITE_OK)
		return seqdb_bind_fail(s, st, __func__);
	rc = db_step(s->db, st);
	db_stmt_done(st);
	return rc == 0 ? 0 : -1;
}

/* ---- reading ----------------------------------------------------------- */

int
seqdb_max_seq(struct seqdb *s, int64_t *seq)
{
	sqlite3_stmt	*st;
	int		 r;

	*seq = 0;
	if ((st = db_stmt_get(s->db, sq_max)) == NULL)
		return -1;
	if ((r = db_step(s->db, st)) == 1)
		*seq = sqlite3_column_int64(st, 0);
	db_stmt_done(st);
	return r == -1 ? -1 : 0;
}

int
seqdb_next(struct seqdb *s, int64_t cursor, int64_t *seq, char *time,
    size_t timesz)
{
	sqlite3_stmt	*st;
	const char	*t;
	int		 r;

	if ((st = db_stmt_get(s->db, sq_next)) == NULL)
		return -1;
	if (sqlite3_bind_int64(st, 1, cursor) != SQLITE_OK)
		return seqdb_bind_fail(s, st, __func__);
	if ((r = db_step(s->db, st)) == 1) {
		*seq = sqlite3_column_int64(st, 0);
		t = (const char *)sqlite3_column_text(st, 1);
		if (snprintf(time, timesz, "%s", t ? t : "") < 0)
			r = -1;
	}
	db_stmt_done(st);
	return r;
}

int
seqdb_first_since(struct seqdb *s, const char *iso, int64_t *seq)
{
	sqlite3_stmt	*st;
	int		 r;

	if ((st = db_stmt_get(s->db, sq_since)) == NULL)
		return -1;
	if (sqlite3_bind_text(st, 1, iso, -1, SQLITE_STATIC) != SQLITE_OK)
		return seqdb_bind_fail(s, st, __func__);
	if ((r = db_step(s->db, st)) == 1)
		*seq = sqlite3_column_int64(st, 0);
	db_stmt_done(st);
	return r;
}

/* Fills a row from the current result of sq_read or sq_last (the same
 * columns).  A row the reference could not have written (an unknown
 * eventType) comes out with type SEQDB__MAX, so that readers can step
 * over it. */
static void
seqdb_row_get(sqlite3_stmt *st, struct seqdb_row *row)
{
	const char	*type;

	row->seq = sqlite3_column_int64(st, 0);
	row->did = (const char *)sqlite3_column_text(st, 1);
	row->did_len = (size_t)sqlite3_column_bytes(st, 1);
	type = (const char *)sqlite3_column_text(st, 2);
	if (type == NULL || seqdb_type_parse(type,
	    (size_t)sqlite3_column_bytes(st, 2), &row->type) == -1)
		row->type = SEQDB__MAX;
	row->event = sqlite3_column_blob(st, 3);
	row->event_len = (size_t)sqlite3_column_bytes(st, 3);
	row->time = (const char *)sqlite3_column_text(st, 4);
	row->time_len = (size_t)sqlite3_column_bytes(st, 4);
	/* Empty values come back as NULL pointers. */
	if (row->did == NULL) {
		row->did = "";
		row->did_len = 0;
	}
	if (row->event == NULL) {
		row->event = (const uint8_t *)"";
		row->event_len = 0;
	}
	if (row->time == NULL) {
		row->time = "";
		row->time_len = 0;
	}
}

int
seqdb_last(struct seqdb *s, const char *did, enum seqdb_type type,
    seqdb_row_fn fn, void *arg)
{
	sqlite3_stmt		*st;
	struct seqdb_row	 row;
	int			 r;

	if ((unsigned)type >= SEQDB__MAX) {
		log_error("%s: bad event type", __func__);
		return -1;
	}
	if ((st = db_stmt_get(s->db, sq_last)) == NULL)
		return -1;
	if (sqlite3_bind_text(st, 1, did, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, seqdb_names[type], -1, SQLITE_STATIC) !=
	    SQLITE_OK)
		return seqdb_bind_fail(s, st, __func__);
	if ((r = db_step(s->db, st)) == 1) {
		seqdb_row_get(st, &row);
		if (fn(&row, arg) == -1)
			r = -1;
	}
	db_stmt_done(st);
	return r;
}

long
seqdb_read(struct seqdb *s, int64_t after, int64_t upto, size_t limit,
    seqdb_row_fn fn, void *arg)
{
	sqlite3_stmt		*st;
	struct seqdb_row	 row;
	long			 n = 0;
	int			 r;

	if (limit > INT32_MAX)
		limit = INT32_MAX;
	if ((st = db_stmt_get(s->db, sq_read)) == NULL)
		return -1;
	if (sqlite3_bind_int64(st, 1, after) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, upto) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, (sqlite3_int64)limit) != SQLITE_OK)
		return seqdb_bind_fail(s, st, __func__);
	while ((r = db_step(s->db, st)) == 1) {
		n++;
		seqdb_row_get(st, &row);
		if ((r = fn(&row, arg)) != 0)
			break;
	}
	db_stmt_done(st);
	return r == -1 ? -1 : n;
}
