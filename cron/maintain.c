/*
 * maintain.c: pds-maintain, the daily housekeeping of a running PDS.
 *
 *	pds-maintain [options] [seq] [blobs] [temp] [checkpoint]
 *
 * Steps (all by default, in this order), each logged in one line and each
 * safe while the PDS serves: short immediate transactions that SQLite's
 * busy timeout serialises with the PDS's writers, and files removed only
 * after the rows that named them.
 *   seq         prune sequencer.sqlite repo_seq rows older than the
 *               retention (PDS_SEQ_RETENTION_DAYS), never inside the
 *               firehose backfill window (PDS_REPO_BACKFILL_LIMIT_MS) and
 *               never the newest row, so seq numbering goes on
 *               (reference-pds.md d: the reference never prunes).
 *   blobs       orphaned blob rows and files (maintain_blobs.c).
 *   temp        stale temp uploads (maintain_blobs.c).
 *   checkpoint  PRAGMA wal_checkpoint on every database (PASSIVE: never
 *               waits for readers or writers; TRUNCATE when asked).
 * Exit statuses: enum cron_exit (cron/README.md).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "config.h"
#include "cron.h"
#include "db.h"
#include "log.h"
#include "util.h"

#define MT_HOUR_MS	3600000LL
#define MT_DAY_MS	86400000LL

enum mt_step { MT_SEQ, MT_BLOBS, MT_TEMP, MT_CHECKPOINT, MT__MAX };

static const char *const mt_step_names[MT__MAX] = {
	"seq",		/* MT_SEQ */
	"blobs",	/* MT_BLOBS */
	"temp",		/* MT_TEMP */
	"checkpoint",	/* MT_CHECKPOINT */
};

struct mt_args {
	const char	*lock, *env_file;
	const char	*retention_s, *temp_age_s, *orphan_age_s, *ckpt;
	int		 steps[MT__MAX];
	int		 dry_run;
	int64_t		 retention_days, temp_age_h, orphan_age_h;
	int		 truncate;
};

static void
mt_usage(void)
{
	fprintf(stderr,
	    "usage: pds-maintain [-n] [--seq-retention-days n] "
	    "[--temp-max-age hours]\n"
	    "                    [--orphan-min-age hours] "
	    "[--checkpoint passive|truncate]\n"
	    "                    [-l lockfile] [-e env-file] "
	    "[seq] [blobs] [temp] [checkpoint]\n");
}

/* ---- seq ------------------------------------------------------------------ */

static int64_t
mt_int_query(struct db *db, const char *sql, const char *arg, int *ok)
{
	sqlite3_stmt	*st;
	int64_t		 v = 0;

	*ok = 0;
	if ((st = db_stmt_get(db, sql)) == NULL)
		return 0;
	if (arg != NULL && sqlite3_bind_text(st, 1, arg, -1,
	    SQLITE_TRANSIENT) != SQLITE_OK) {
		db_stmt_done(st);
		return 0;
	}
	if (db_step(db, st) == 1) {
		v = sqlite3_column_int64(st, 0);
		*ok = 1;
	}
	db_stmt_done(st);
	return v;
}

/* Deletes one batch; returns rows deleted or -1. */
static int
mt_seq_batch(struct db *db, const char *cutoff, int64_t newest)
{
	sqlite3_stmt	*st;
	int		 r;

	if (db_begin_immediate(db) == -1)
		return -1;
	if ((st = db_stmt_get(db, "DELETE FROM repo_seq WHERE seq IN (SELECT "
	    "seq FROM repo_seq WHERE sequencedAt < ?1 AND seq < ?2 ORDER BY "
	    "seq LIMIT ?3)")) == NULL ||
	    sqlite3_bind_text(st, 1, cutoff, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, newest) != SQLITE_OK ||
	    sqlite3_bind_int(st, 3, LIM_MT_BATCH_ROWS) != SQLITE_OK ||
	    db_step(db, st) == -1) {
		db_stmt_done(st);
		(void)db_rollback(db);
		return -1;
	}
	db_stmt_done(st);
	r = sqlite3_changes(db_handle(db));
	if (db_commit(db) == -1) {
		(void)db_rollback(db);
		return -1;
	}
	return r;
}

static int
mt_seq(const struct mt_args *a, const struct pds_config *cfg, int64_t now)
{
	struct db	*db = NULL;
	char		 cutoff[UTIL_ISO_LEN];
	int64_t		 window, newest, total = 0, left;
	int		 ok, r, rc = -1;

	if (a->retention_days == 0) {
		log_info("seq: no retention set (PDS_SEQ_RETENTION_DAYS or "
		    "--seq-retention-days); every event kept");
		return 0;
	}
	window = a->retention_days * MT_DAY_MS;
	if (window < cfg->backfill_limit_ms)
		window = cfg->backfill_limit_ms;
	util_iso_time(now - window, cutoff);
	if (db_open(cfg->sequencer_db, DB_NOCREATE, &db) == -1)
		return -1;
	newest = mt_int_query(db, "SELECT max(seq) FROM repo_seq", NULL, &ok);
	if (!ok)
		goto out;
	if (a->dry_run) {
		total = mt_int_query(db, "SELECT count(*) FROM repo_seq WHERE "
		    "sequencedAt < ?1 AND seq < (SELECT max(seq) FROM repo_seq)",
		    cutoff, &ok);
	} else {
		do {
			if ((r = mt_seq_batch(db, cutoff, newest)) == -1)
				goto out;
			total += r;
		} while (r == LIM_MT_BATCH_ROWS);
	}
	left = mt_int_query(db, "SELECT count(*) FROM repo_seq", NULL, &ok);
	log_info("seq: %s %lld events sequenced before %s (retention %lld "
	    "days, backfill window %lld h); %lld events left, newest seq %lld",
	    a->dry_run ? "would delete" : "deleted", (long long)total, cutoff,
	    (long long)a->retention_days,
	    (long long)(cfg->backfill_limit_ms / MT_HOUR_MS), (long long)left,
	    (long long)newest);
	rc = 0;
out:
	db_close(db);
	return rc;
}

/* ---- checkpoint ----------------------------------------------------------- */

struct mt_ckpt {
	int	truncate;
	int	dbs, failed, busy;
	int64_t	frames, done;
};

static void
mt_ckpt_one(struct mt_ckpt *c, const char *path)
{
	struct db	*db = NULL;
	int		 logf = 0, ckpt = 0, rc;

	if (access(path, F_OK) == -1)
		return;
	if (db_open(path, DB_NOCREATE, &db) == -1) {
		c->failed++;
		return;
	}
	rc = sqlite3_wal_checkpoint_v2(db_handle(db), NULL, c->truncate ?
	    SQLITE_CHECKPOINT_TRUNCATE : SQLITE_CHECKPOINT_PASSIVE, &logf,
	    &ckpt);
	if (rc == SQLITE_BUSY) {
		c->busy++;	/* a reader kept TRUNCATE from finishing */
	} else if (rc != SQLITE_OK) {
		log_error("checkpoint: %s: %s", path,
		    sqlite3_errmsg(db_handle(db)));
		c->failed++;
	}
	c->dbs++;
	if (logf > 0)
		c->frames += logf;
	if (ckpt > 0)
		c->done += ckpt;
	db_close(db);
}

static int
mt_ckpt_cb(const struct cron_actor *ac, void *arg)
{
	char	path[LIM_CRON_PATH];

	if (cron_path(path, ac->dir, "store.sqlite") == 0)
		mt_ckpt_one(arg, path);
	return 0;
}

static int
mt_checkpoint(const struct mt_args *a, const struct pds_config *cfg)
{
	struct mt_ckpt	c;

	memset(&c, 0, sizeof(c));
	c.truncate = a->truncate;
	if (a->dry_run) {
		log_info("checkpoint: skipped in a dry run");
		return 0;
	}
	mt_ckpt_one(&c, cfg->account_db);
	mt_ckpt_one(&c, cfg->sequencer_db);
	mt_ckpt_one(&c, cfg->did_cache_db);
	if (cron_actors_walk(cfg->actor_store_dir, mt_ckpt_cb, &c) == -1)
		c.failed++;
	log_info("checkpoint (%s): %d databases, %lld of %lld WAL frames "
	    "written back, %d busy, %d failed", a->truncate ? "truncate" :
	    "passive", c.dbs, (long long)c.done, (long long)c.frames, c.busy,
	    c.failed);
	return c.failed ? -1 : 0;
}

/* ---- blobs and temp ---------------------------------------------------- */

static int
mt_blobs(const struct mt_args *a, const struct pds_config *cfg, int64_t now,
    int temp)
{
	struct mt_blob_opts	o;
	struct mt_blob_stats	st;
	int			rc;

	memset(&o, 0, sizeof(o));
	memset(&st, 0, sizeof(st));
	o.actor_dir = cfg->actor_store_dir;
	o.blob_dir = cfg->blobstore_dir;
	o.blob_tmp = cfg->blobstore_tmp;
	o.now_ms = now;
	o.orphan_age_ms = a->orphan_age_h * MT_HOUR_MS;
	o.temp_age_ms = a->temp_age_h * MT_HOUR_MS;
	o.dry_run = a->dry_run;
	if (!temp) {
		rc = mt_blobs_orphans(&o, &st);
		log_info("blobs: %zu accounts: %s %zu unreferenced blob rows "
		    "and %zu orphaned files; %zu orphans younger than the "
		    "limits kept; %zu accounts failed", st.accounts,
		    a->dry_run ? "would delete" : "deleted", st.rows, st.files,
		    st.young, st.errors);
	} else {
		rc = mt_blobs_temp(&o, &st);
		log_info("temp: %zu temp directories: %s %zu uploads older "
		    "than %lld h and %zu of their blob rows; %zu accounts failed",
		    st.accounts, a->dry_run ? "would delete" : "deleted",
		    st.temp_files, (long long)a->temp_age_h, st.temp_rows,
		    st.errors);
	}
	return (rc == -1 || st.errors > 0) ? -1 : 0;
}

/* ---- main ------------------------------------------------------------------- */

static int
mt_parse_args(int argc, char *argv[], struct mt_args *a)
{
	enum { O_RET = 256, O_TEMP, O_ORPHAN, O_CKPT };
	static const struct option longopts[] = {
		{ "seq-retention-days", required_argument, NULL, O_RET },
		{ "temp-max-age", required_argument, NULL, O_TEMP },
		{ "orphan-min-age", required_argument, NULL, O_ORPHAN },
		{ "checkpoint", required_argument, NULL, O_CKPT },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "lock", required_argument, NULL, 'l' },
		{ "env-file", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int	c, i, any = 0;

	while ((c = getopt_long(argc, argv, "e:hl:n", longopts, NULL)) != -1) {
		switch (c) {
		case O_RET: a->retention_s = optarg; break;
		case O_TEMP: a->temp_age_s = optarg; break;
		case O_ORPHAN: a->orphan_age_s = optarg; break;
		case O_CKPT: a->ckpt = optarg; break;
		case 'n': a->dry_run = 1; break;
		case 'l': a->lock = optarg; break;
		case 'e': a->env_file = optarg; break;
		default:
			return -1;
		}
	}
	for (; optind < argc; optind++, any = 1) {
		for (i = 0; i < MT__MAX; i++)
			if (strcmp(argv[optind], mt_step_names[i]) == 0)
				break;
		if (i == MT__MAX)
			return -1;
		a->steps[i] = 1;
	}
	for (i = 0; !any && i < MT__MAX; i++)
		a->steps[i] = 1;
	return 0;
}

/* Flags, else PDS_* / PDS_MAINTAIN_* settings, else defaults. */
static int
mt_settings(struct mt_args *a, const struct pds_config *cfg)
{
	if (a->lock == NULL)
		a->lock = cron_env_get("PDS_MAINTAIN_LOCK");
	if (a->temp_age_s == NULL)
		a->temp_age_s = cron_env_get("PDS_MAINTAIN_TEMP_MAX_AGE_HOURS");
	if (a->orphan_age_s == NULL)
		a->orphan_age_s =
		    cron_env_get("PDS_MAINTAIN_ORPHAN_MIN_AGE_HOURS");
	if (a->ckpt == NULL)
		a->ckpt = cron_env_get("PDS_MAINTAIN_CHECKPOINT");
	a->retention_days = cfg->seq_retention_days;
	a->temp_age_h = LIM_MT_TEMP_AGE_S / 3600;
	a->orphan_age_h = 24;
	if ((a->retention_s != NULL && cron_flag_int("seq-retention-days",
	    a->retention_s, 0, LIM_MT_RETENTION_DAYS, &a->retention_days)
	    == -1) ||
	    (a->temp_age_s != NULL && cron_flag_int("temp-max-age",
	    a->temp_age_s, 1, 24 * LIM_MT_RETENTION_DAYS, &a->temp_age_h) ==
	    -1) ||
	    (a->orphan_age_s != NULL && cron_flag_int("orphan-min-age",
	    a->orphan_age_s, 0, 24 * LIM_MT_RETENTION_DAYS,
	    &a->orphan_age_h) == -1))
		return -1;
	if (a->retention_days > LIM_MT_RETENTION_DAYS) {
		log_error("PDS_SEQ_RETENTION_DAYS: at most %d",
		    LIM_MT_RETENTION_DAYS);
		return -1;
	}
	if (a->ckpt != NULL && strcmp(a->ckpt, "passive") != 0 &&
	    strcmp(a->ckpt, "truncate") != 0) {
		log_error("checkpoint: passive or truncate");
		return -1;
	}
	a->truncate = a->ckpt != NULL && strcmp(a->ckpt, "truncate") == 0;
	return 0;
}

static int
mt_run(struct mt_args *a, const struct pds_config *cfg)
{
	int64_t	now = util_now_ms();
	int	rc = CRON_EXIT_OK;

	if (a->steps[MT_SEQ] && mt_seq(a, cfg, now) == -1) {
		log_error("seq: failed");
		rc = CRON_EXIT_FAIL;
	}
	if (a->steps[MT_BLOBS] && mt_blobs(a, cfg, now, 0) == -1)
		rc = CRON_EXIT_FAIL;
	if (a->steps[MT_TEMP] && mt_blobs(a, cfg, now, 1) == -1)
		rc = CRON_EXIT_FAIL;
	if (a->steps[MT_CHECKPOINT] && mt_checkpoint(a, cfg) == -1)
		rc = CRON_EXIT_FAIL;
	return rc;
}

int
main(int argc, char *argv[])
{
	struct mt_args		 a;
	struct pds_config	*cfg = NULL;
	char			 lockpath[LIM_CRON_PATH];
	int			 rc = CRON_EXIT_USAGE, lockfd = -1;

	log_init("pds-maintain", LOG_LVL_INFO);
	memset(&a, 0, sizeof(a));
	if (mt_parse_args(argc, argv, &a) == -1) {
		mt_usage();
		goto out;
	}
	if (cron_config_load(a.env_file, &cfg) == -1 ||
	    mt_settings(&a, cfg) == -1 ||
	    cron_lock_path("pds-maintain", a.lock, cfg, lockpath) == -1)
		goto out;
	if ((lockfd = cron_lock(lockpath)) == -2) {
		log_warn("another run holds %s; nothing done", lockpath);
		rc = CRON_EXIT_LOCKED;
		goto out;
	}
	if (lockfd == -1) {
		rc = CRON_EXIT_FAIL;
		goto out;
	}
	rc = mt_run(&a, cfg);
out:
	if (lockfd >= 0)
		(void)close(lockfd);
	cron_env_fini();
	config_free(cfg);
	return rc;
}
