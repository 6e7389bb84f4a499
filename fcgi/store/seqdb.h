/*
 * seqdb.h: the sequencer database, sequencer.sqlite (table repo_seq), as
 * the reference PDS lays it out (../shared/spec/reference-pds.md c, d;
 * packages/pds/src/sequencer/).  Writers (pds-fcgi workers) append events
 * and delete an account's old rows; the firehose daemon reads it
 * read-only and is woken after each commit through seqdb_notify().
 *
 * Error convention: functions return 0 on success and -1 on failure
 * (logged once here with the SQLite message); lookups return 1 when
 * found, 0 when absent, -1 on failure.
 */
#ifndef PDS_SEQDB_H
#define PDS_SEQDB_H

#include <stddef.h>
#include <stdint.h>

/* repo_seq.eventType values, with the wire type each becomes. */
enum seqdb_type {
	SEQDB_APPEND,	/* "append"   -> "#commit" */
	SEQDB_SYNC,	/* "sync"     -> "#sync" */
	SEQDB_IDENTITY,	/* "identity" -> "#identity" */
	SEQDB_ACCOUNT,	/* "account"  -> "#account" */
	SEQDB__MAX
};

/* Names (static strings): the eventType column value, the frame "t". */
const char	*seqdb_type_name(enum seqdb_type);
const char	*seqdb_type_wire(enum seqdb_type);
/* Parses an eventType column value.  Returns 0 or -1 (unknown). */
int		 seqdb_type_parse(const char *s, size_t len,
		    enum seqdb_type *out);

/* One repo_seq row as read; every pointer is valid only inside the
 * callback that receives it.  type is SEQDB__MAX for an eventType the
 * reference does not write (its parseRepoSeqRows() drops such rows). */
struct seqdb_row {
	int64_t		 seq;
	enum seqdb_type	 type;
	const char	*did;
	size_t		 did_len;
	const uint8_t	*event;		/* DAG-CBOR body without seq/time */
	size_t		 event_len;
	const char	*time;		/* sequencedAt, ISO 8601 */
	size_t		 time_len;
};

struct seqdb;

#define SEQDB_RDONLY	0x01	/* the daemon: read-only, never creates */
#define SEQDB_CREATE	0x02	/* writers: create the file and schema */
#define SEQDB_WAL_NOAUTO 0x04	/* PRAGMA wal_autocheckpoint = 0 (from
				 * pds_config.wal_autockpt_off) */

/* Opens sequencer.sqlite at path.  With SEQDB_CREATE, creates the file
 * when missing and runs the reference's migration "001" (repo_seq, its
 * three indexes, and Kysely's kysely_migration bookkeeping) if it has
 * not run (through db_migrate()); WAL mode.  Without it the file must
 * exist.  With SEQDB_RDONLY it must exist and is opened read-only with a
 * short busy timeout (LIM_FH_DB_BUSY_MS).  repo_seq must exist.
 * Returns 0 and *out (caller frees with seqdb_close()), or -1. */
int	seqdb_open(const char *path, int flags, struct seqdb **out);
/* Closes; accepts NULL. */
void	seqdb_close(struct seqdb *);

/* Explicit transactions for writers that append several events
 * atomically (account creation: #identity, #account, #commit, #sync).
 * seqdb_commit() also wakes the daemon.  Return 0 or -1. */
int	seqdb_begin(struct seqdb *);
int	seqdb_commit(struct seqdb *);
/* Rolls back an open transaction; safe to call when none is open. */
void	seqdb_rollback(struct seqdb *);

/* Appends one event: did, type, the DAG-CBOR body (the event map WITHOUT
 * seq, time or $type; not copied), sequenced at time_ms (ms since the
 * epoch, written as toISOString() does).  Sets *seq to the new row's seq
 * (may be NULL).  Outside a transaction the insert commits at once and
 * wakes the daemon; inside one (seqdb_begin), several appends, and reads
 * such as seqdb_last(), commit together as one batch.  Every writer of
 * repo_seq goes through here (the repository write path, account
 * events).  The body is not re-validated here: the caller built
 * it with the cbor encoder.  Returns 0 or -1. */
int	seqdb_append(struct seqdb *, const char *did, enum seqdb_type type,
	    const uint8_t *body, size_t len, int64_t time_ms, int64_t *seq);

/* Deletes every row of did with seq < before_seq (account deletion keeps
 * its final #account row: sequencer.deleteAllForUser).  Returns 0 or -1. */
int	seqdb_delete_before(struct seqdb *, const char *did,
	    int64_t before_seq);

/* Sets *seq to the highest seq, invalidated rows included (the
 * reference's curr()); 0 when the table is empty.  Returns 0 or -1. */
int	seqdb_max_seq(struct seqdb *, int64_t *seq);
/* The first row with seq > cursor, invalidated or not (the reference's
 * next()).  Sets *seq and copies its sequencedAt into time (timesz
 * bytes, NUL-terminated, truncated).  Returns 1, 0 when none, or -1. */
int	seqdb_next(struct seqdb *, int64_t cursor, int64_t *seq, char *time,
	    size_t timesz);
/* The seq of the earliest row with sequencedAt >= iso (the reference's
 * earliestAfterTime()).  Returns 1 and sets *seq, 0 when none, or -1. */
int	seqdb_first_since(struct seqdb *, const char *iso, int64_t *seq);

/* Calls fn for the latest row of did with eventType type (the highest
 * seq; invalidated or not).  fn returns 0, or -1 to fail.  Returns 1
 * when there is such a row (and fn did not fail), 0 when there is none,
 * or -1. */
typedef int (*seqdb_row_fn)(const struct seqdb_row *, void *arg);
int	seqdb_last(struct seqdb *, const char *did, enum seqdb_type type,
	    seqdb_row_fn fn, void *arg);

/* Calls fn for each row with after < seq <= upto and invalidated = 0, in
 * seq order, at most limit rows.  fn returns 0 to go on, 1 to stop, -1
 * to fail.  Returns the number of rows read (< limit means the range is
 * exhausted, unless fn stopped), or -1.  No transaction is held open
 * after the return (WAL checkpoints are never blocked by a reader). */
long	seqdb_read(struct seqdb *, int64_t after, int64_t upto, size_t limit,
	    seqdb_row_fn fn, void *arg);

/* The daemon's wake-up socket for the database at path: a unix datagram
 * socket ".<file name>.wake" next to the database.  Writes the path into
 * out (outsz bytes).  Returns 0, or -1 when it does not fit a
 * sockaddr_un. */
int	seqdb_wake_path(const char *path, char *out, size_t outsz);
/* Sends one wake-up datagram to the daemon (non-blocking; silently does
 * nothing when no daemon listens).  Called by seqdb_commit() and by
 * seqdb_append() outside a transaction. */
void	seqdb_notify(struct seqdb *);

#endif /* PDS_SEQDB_H */
