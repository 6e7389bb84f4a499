/*
 * test_seqdb.c: fcgi/store/seqdb.c against real SQLite files: the schema
 * text of migration 001 and Kysely's bookkeeping, append / read / next /
 * max / first-since / last / delete, invalidated and malformed rows,
 * explicit transactions and batches, a read-only handle seeing a
 * writer's commits, and the wake-up datagram sent after each commit.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <sqlite3.h>

#include "t.h"
#include "seqdb.h"
#include "util.h"

static char	dir[64], path[128];

struct got {
	int64_t		seq[16];
	int		type[16];
	char		did[16][32];
	char		time[16][32];
	size_t		elen[16];
	int		n, stop_at;
};

static int
collect(const struct seqdb_row *r, void *arg)
{
	struct got	*g = arg;

	if (g->n >= 16)
		return -1;
	g->seq[g->n] = r->seq;
	g->type[g->n] = r->type;
	snprintf(g->did[g->n], 32, "%.*s", (int)r->did_len, r->did);
	snprintf(g->time[g->n], 32, "%.*s", (int)r->time_len, r->time);
	g->elen[g->n] = r->event_len;
	g->n++;
	return g->stop_at != 0 && g->n == g->stop_at ? 1 : 0;
}

/* Runs one SQL statement on the file with a separate connection; returns
 * the first column of the first row as an integer (or -1). */
static long long
sql1(const char *sql, char *text, size_t textsz)
{
	sqlite3		*h = NULL;
	sqlite3_stmt	*st = NULL;
	long long	 v = -1;

	if (sqlite3_open(path, &h) == SQLITE_OK &&
	    sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW) {
			v = sqlite3_column_int64(st, 0);
			if (text != NULL)
				snprintf(text, textsz, "%s",
				    (const char *)sqlite3_column_text(st, 0));
		} else
			v = 0;
	}
	sqlite3_finalize(st);
	sqlite3_close(h);
	return v;
}

static int
wake_socket(void)
{
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (seqdb_wake_path(path, sun.sun_path, sizeof(sun.sun_path)) == -1)
		return -1;
	(void)unlink(sun.sun_path);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0)) == -1)
		return -1;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
wakes(int fd)
{
	char	b[8];
	int	n = 0;

	while (recv(fd, b, sizeof(b), 0) > 0)
		n++;
	return n;
}

static void
test_schema(void)
{
	struct seqdb	*s = NULL;
	char		 sql[512];

	T_EQ_INT(seqdb_open(path, SEQDB_RDONLY, &s), -1);
	T_EQ_INT(seqdb_open(path, 0, &s), -1);		/* no CREATE */
	T_EQ_INT(seqdb_open(path, SEQDB_CREATE, &s), 0);
	seqdb_close(s);
	T_EQ_INT(seqdb_open(path, SEQDB_CREATE, &s), 0);	/* again */
	seqdb_close(s);
	sql1("SELECT sql FROM sqlite_master WHERE name = 'repo_seq'", sql,
	    sizeof(sql));
	T_EQ_STR(sql, "CREATE TABLE \"repo_seq\" (\"seq\" integer primary key "
	    "autoincrement, \"did\" varchar not null, \"eventType\" varchar "
	    "not null, \"event\" blob not null, \"invalidated\" int2 default 0 "
	    "not null, \"sequencedAt\" varchar not null)");
	sql1("SELECT sql FROM sqlite_master WHERE name = "
	    "'repo_seq_sequenced_at_index'", sql, sizeof(sql));
	T_EQ_STR(sql, "CREATE INDEX \"repo_seq_sequenced_at_index\" on "
	    "\"repo_seq\" (\"sequencedAt\")");
	T_EQ_INT(sql1("SELECT count(*) FROM sqlite_master WHERE type = 'index'"
	    " AND name LIKE 'repo_seq_%'", NULL, 0), 3);
	T_EQ_INT(sql1("SELECT count(*) FROM kysely_migration WHERE name = "
	    "'001'", NULL, 0), 1);
	T_EQ_INT(sql1("SELECT count(*) FROM kysely_migration", NULL, 0), 1);
	T_EQ_INT(sql1("SELECT is_locked FROM kysely_migration_lock WHERE id = "
	    "'migration_lock'", NULL, 0), 0);
	sql1("PRAGMA journal_mode", sql, sizeof(sql));
	T_EQ_STR(sql, "wal");
}

static void
test_append_read(void)
{
	static const uint8_t	 body[] = { 0xa1, 0x63, 'd', 'i', 'd', 0x61,
	    'x' };
	struct seqdb		*w = NULL, *r = NULL;
	struct got		 g;
	char			 t[64], iso[UTIL_ISO_LEN];
	int64_t			 seq = 0, base = 1700000000000LL;
	int			 i, fd;

	T_EQ_INT(seqdb_open(path, SEQDB_CREATE, &w), 0);
	T_EQ_INT(seqdb_open(path, SEQDB_RDONLY, &r), 0);
	if (w == NULL || r == NULL)
		goto out;
	fd = wake_socket();
	T_OK(fd != -1, "wake socket: %s", strerror(errno));
	T_EQ_INT(seqdb_max_seq(r, &seq), 0);
	T_EQ_INT(seq, 0);
	T_EQ_INT(seqdb_next(r, 0, &seq, t, sizeof(t)), 0);
	for (i = 0; i < 6; i++) {
		T_EQ_INT(seqdb_append(w, i == 5 ? "did:plc:other" :
		    "did:plc:alice", (enum seqdb_type)(i % SEQDB__MAX), body,
		    sizeof(body), base + i * 1000, &seq), 0);
		T_EQ_INT(seq, i + 1);
	}
	T_EQ_INT(wakes(fd), 6);		/* one per autocommitted append */
	T_EQ_INT(seqdb_max_seq(r, &seq), 0);
	T_EQ_INT(seq, 6);
	T_EQ_INT(seqdb_next(r, 2, &seq, t, sizeof(t)), 1);
	T_EQ_INT(seq, 3);
	util_iso_time(base + 2000, iso);
	T_EQ_STR(t, iso);
	T_EQ_STR(t, "2023-11-14T22:13:22.000Z");
	T_EQ_INT(seqdb_first_since(r, "2023-11-14T22:13:22.500Z", &seq), 1);
	T_EQ_INT(seq, 4);
	T_EQ_INT(seqdb_first_since(r, "2030-01-01T00:00:00.000Z", &seq), 0);

	memset(&g, 0, sizeof(g));
	T_EQ_INT(seqdb_read(r, 0, 6, 100, collect, &g), 6);
	T_EQ_INT(g.n, 6);
	T_EQ_INT(g.seq[0], 1);
	T_EQ_INT(g.type[1], SEQDB_SYNC);
	T_EQ_STR(g.did[5], "did:plc:other");
	T_EQ_INT(g.elen[0], sizeof(body));
	T_EQ_STR(g.time[0], "2023-11-14T22:13:20.000Z");
	/* Bounds: after is exclusive, upto inclusive, limit counts rows. */
	memset(&g, 0, sizeof(g));
	T_EQ_INT(seqdb_read(r, 2, 4, 100, collect, &g), 2);
	T_OK(g.n == 2 && g.seq[0] == 3 && g.seq[1] == 4, "range");
	memset(&g, 0, sizeof(g));
	T_EQ_INT(seqdb_read(r, 0, 6, 2, collect, &g), 2);
	memset(&g, 0, sizeof(g));
	g.stop_at = 1;
	T_EQ_INT(seqdb_read(r, 0, 6, 100, collect, &g), 1);

	/* Invalidated rows are skipped by reads, not by max/next. */
	T_EQ_INT(sql1("UPDATE repo_seq SET invalidated = 1 WHERE seq = 3",
	    NULL, 0), 0);
	memset(&g, 0, sizeof(g));
	T_EQ_INT(seqdb_read(r, 0, 6, 100, collect, &g), 5);
	T_OK(g.seq[2] == 4, "invalidated row skipped");
	T_EQ_INT(seqdb_next(r, 2, &seq, t, sizeof(t)), 1);
	T_EQ_INT(seq, 3);
	/* A row of an unknown type, or with an empty body, still comes
	 * out (so readers move past it), marked SEQDB__MAX. */
	T_EQ_INT(sql1("INSERT INTO repo_seq (did, eventType, event, "
	    "sequencedAt) VALUES ('did:plc:x', 'bogus', x'a0', "
	    "'2023-11-14T22:14:00.000Z')", NULL, 0), 0);
	T_EQ_INT(sql1("INSERT INTO repo_seq (did, eventType, event, "
	    "sequencedAt) VALUES ('did:plc:x', 'sync', x'', "
	    "'2023-11-14T22:14:00.000Z')", NULL, 0), 0);
	memset(&g, 0, sizeof(g));
	T_EQ_INT(seqdb_read(r, 6, 100, 100, collect, &g), 2);
	T_EQ_INT(g.n, 2);
	T_EQ_INT(g.type[0], SEQDB__MAX);
	T_EQ_INT(g.type[1], SEQDB_SYNC);
	T_EQ_INT(g.elen[1], 0);

	/* Transactions: nothing is visible, and no wake-up, until commit. */
	(void)wakes(fd);
	T_EQ_INT(seqdb_begin(w), 0);
	T_EQ_INT(seqdb_begin(w), -1);
	T_EQ_INT(seqdb_append(w, "did:plc:bob", SEQDB_IDENTITY, body,
	    sizeof(body), base, &seq), 0);
	T_EQ_INT(seq, 9);
	T_EQ_INT(wakes(fd), 0);
	seqdb_rollback(w);
	T_EQ_INT(seqdb_max_seq(r, &seq), 0);
	T_EQ_INT(seq, 8);
	T_EQ_INT(seqdb_begin(w), 0);
	T_EQ_INT(seqdb_append(w, "did:plc:bob", SEQDB_IDENTITY, body,
	    sizeof(body), base, NULL), 0);
	T_EQ_INT(seqdb_append(w, "did:plc:bob", SEQDB_ACCOUNT, body,
	    sizeof(body), base, &seq), 0);
	T_EQ_INT(wakes(fd), 0);
	T_EQ_INT(seqdb_commit(w), 0);
	T_EQ_INT(wakes(fd), 1);
	T_EQ_INT(seq, 10);	/* the rolled-back 9 is reused */
	T_EQ_INT(seqdb_commit(w), -1);

	/* The latest row of a DID and type, invalidated ones included. */
	memset(&g, 0, sizeof(g));
	T_EQ_INT(seqdb_last(r, "did:plc:alice", SEQDB_APPEND, collect, &g), 1);
	T_OK(g.n == 1 && g.seq[0] == 5 && g.type[0] == SEQDB_APPEND &&
	    strcmp(g.did[0], "did:plc:alice") == 0 && g.elen[0] ==
	    sizeof(body), "last #commit of alice");
	memset(&g, 0, sizeof(g));
	T_EQ_INT(seqdb_last(r, "did:plc:alice", SEQDB_IDENTITY, collect, &g),
	    1);
	T_OK(g.n == 1 && g.seq[0] == 3, "invalidated row 3 counts");
	memset(&g, 0, sizeof(g));
	T_EQ_INT(seqdb_last(r, "did:plc:bob", SEQDB_ACCOUNT, collect, &g), 1);
	T_OK(g.n == 1 && g.seq[0] == 10, "last #account of bob");
	memset(&g, 0, sizeof(g));
	T_EQ_INT(seqdb_last(r, "did:plc:bob", SEQDB_APPEND, collect, &g), 0);
	T_EQ_INT(seqdb_last(r, "did:plc:nobody", SEQDB_SYNC, collect, &g), 0);
	T_EQ_INT(g.n, 0);
	T_EQ_INT(seqdb_last(r, "did:plc:bob", SEQDB__MAX, collect, &g), -1);
	g.n = 16;	/* collect() refuses: the failure comes back */
	T_EQ_INT(seqdb_last(r, "did:plc:bob", SEQDB_ACCOUNT, collect, &g), -1);
	/* A batch: inside the writer's transaction its own appends are
	 * seen, by nobody else; rolled back, they never were. */
	(void)wakes(fd);
	T_EQ_INT(seqdb_begin(w), 0);
	T_EQ_INT(seqdb_append(w, "did:plc:bob", SEQDB_APPEND, body,
	    sizeof(body), base, &seq), 0);
	T_EQ_INT(seqdb_append(w, "did:plc:bob", SEQDB_APPEND, body,
	    sizeof(body), base, NULL), 0);
	memset(&g, 0, sizeof(g));
	T_EQ_INT(seqdb_last(w, "did:plc:bob", SEQDB_APPEND, collect, &g), 1);
	T_OK(g.n == 1 && g.seq[0] == seq + 1, "own batch seen");
	T_EQ_INT(seqdb_last(r, "did:plc:bob", SEQDB_APPEND, collect, &g), 0);
	seqdb_rollback(w);
	T_EQ_INT(seqdb_last(w, "did:plc:bob", SEQDB_APPEND, collect, &g), 0);
	T_EQ_INT(wakes(fd), 0);

	/* Account deletion keeps rows from seq on, and other accounts. */
	T_EQ_INT(seqdb_delete_before(w, "did:plc:alice", 5), 0);
	T_EQ_INT(sql1("SELECT count(*) FROM repo_seq WHERE did = "
	    "'did:plc:alice'", NULL, 0), 1);
	T_EQ_INT(sql1("SELECT count(*) FROM repo_seq", NULL, 0), 6);
	T_EQ_INT(seqdb_append(r, "did:plc:x", SEQDB_SYNC, body, sizeof(body),
	    base, NULL), -1);	/* the daemon's handle cannot write */
	if (fd != -1)
		close(fd);
out:
	seqdb_close(w);
	seqdb_close(r);
}

static void
test_names(void)
{
	enum seqdb_type	t;
	char		out[108];
	char		longp[200];

	T_EQ_STR(seqdb_type_name(SEQDB_APPEND), "append");
	T_EQ_STR(seqdb_type_wire(SEQDB_APPEND), "#commit");
	T_EQ_STR(seqdb_type_wire(SEQDB_ACCOUNT), "#account");
	T_EQ_INT(seqdb_type_parse("identity", 8, &t), 0);
	T_EQ_INT(t, SEQDB_IDENTITY);
	T_EQ_INT(seqdb_type_parse("identit", 7, &t), -1);
	T_EQ_INT(seqdb_type_parse("commit", 6, &t), -1);
	T_EQ_INT(seqdb_wake_path("/pds/sequencer.sqlite", out, sizeof(out)),
	    0);
	T_EQ_STR(out, "/pds/.sequencer.sqlite.wake");
	T_EQ_INT(seqdb_wake_path("seq.db", out, sizeof(out)), 0);
	T_EQ_STR(out, ".seq.db.wake");
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	longp[0] = '/';
	T_EQ_INT(seqdb_wake_path(longp, out, sizeof(out)), -1);
	seqdb_close(NULL);
	seqdb_rollback(NULL);
}

int
main(void)
{
	char	wake[192];

	snprintf(dir, sizeof(dir), "/tmp/test_seqdb.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/sequencer.sqlite", dir);
	test_schema();
	test_append_read();
	test_names();
	/* Clean up the scratch directory. */
	(void)seqdb_wake_path(path, wake, sizeof(wake));
	(void)unlink(wake);
	(void)unlink(path);
	snprintf(wake, sizeof(wake), "%s-wal", path);
	(void)unlink(wake);
	snprintf(wake, sizeof(wake), "%s-shm", path);
	(void)unlink(wake);
	(void)rmdir(dir);
	return t_done("seqdb");
}
