/*
 * backup.c: pds-backup, consistent backups of a running PDS.
 *
 *	pds-backup [options] [run]	snapshot, prune, copy to remotes
 *	pds-backup verify SNAPSHOT	check sizes, SHA-256, CIDs, integrity
 *	pds-backup restore [-f] SNAPSHOT DIR
 *
 * A run takes one snapshot (snapshot.c) under a lock, applies the
 * retention (retention.c), then copies to each remote with rclone
 * (rclone.c).  Settings: flags, else PDS_BACKUP_* (environment or the env
 * file), else defaults; the data paths are the PDS's own configuration
 * (fcgi/core/config.c).  Exit statuses: enum cron_exit (cron/README.md).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "cron.h"
#include "log.h"

#define BK_KEEP_HOURLY	24	/* default --keep-hourly */
#define BK_KEEP_DAILY	7	/* default --keep-daily */

struct bk_args {
	const char		*dest, *lock, *env_file, *rclone;
	const char		*hourly_s, *daily_s;
	struct cron_list	 remotes;
	int64_t			 hourly, daily;
	int			 no_upload, force;
};

static void
bk_usage(void)
{
	fprintf(stderr,
	    "usage: pds-backup [-d dest] [-r remote]... [--keep-hourly n] "
	    "[--keep-daily n]\n"
	    "                  [--no-upload] [--rclone path] [-l lockfile] "
	    "[-e env-file] [run]\n"
	    "       pds-backup verify snapshot\n"
	    "       pds-backup restore [-f] snapshot dir\n");
}

static int
bk_parse_args(int argc, char *argv[], struct bk_args *a)
{
	enum { O_HOURLY = 256, O_DAILY, O_NOUP, O_RCLONE };
	static const struct option longopts[] = {
		{ "dest", required_argument, NULL, 'd' },
		{ "remote", required_argument, NULL, 'r' },
		{ "keep-hourly", required_argument, NULL, O_HOURLY },
		{ "keep-daily", required_argument, NULL, O_DAILY },
		{ "no-upload", no_argument, NULL, O_NOUP },
		{ "rclone", required_argument, NULL, O_RCLONE },
		{ "lock", required_argument, NULL, 'l' },
		{ "env-file", required_argument, NULL, 'e' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int	c;

	while ((c = getopt_long(argc, argv, "d:e:fhl:r:", longopts, NULL))
	    != -1) {
		switch (c) {
		case 'd': a->dest = optarg; break;
		case 'r':
			if (!bk_remote_ok(optarg)) {
				log_error("bad remote (NAME:path or /path)");
				return -1;
			}
			if (cron_list_add(&a->remotes, optarg, 0,
			    LIM_BK_REMOTES) == -1)
				return -1;
			break;
		case O_HOURLY: a->hourly_s = optarg; break;
		case O_DAILY: a->daily_s = optarg; break;
		case O_NOUP: a->no_upload = 1; break;
		case O_RCLONE: a->rclone = optarg; break;
		case 'l': a->lock = optarg; break;
		case 'e': a->env_file = optarg; break;
		case 'f': a->force = 1; break;
		default:
			return -1;
		}
	}
	return 0;
}

/* Flags, else PDS_BACKUP_*, else defaults. */
static int
bk_settings(struct bk_args *a)
{
	const char	*v;
	size_t		 i;

	if (a->dest == NULL)
		a->dest = cron_env_get("PDS_BACKUP_DIRECTORY");
	if (a->lock == NULL)
		a->lock = cron_env_get("PDS_BACKUP_LOCK");
	if (a->rclone == NULL && (a->rclone = cron_env_get("PDS_BACKUP_RCLONE"))
	    == NULL)
		a->rclone = "rclone";
	if (a->hourly_s == NULL)
		a->hourly_s = cron_env_get("PDS_BACKUP_KEEP_HOURLY");
	if (a->daily_s == NULL)
		a->daily_s = cron_env_get("PDS_BACKUP_KEEP_DAILY");
	a->hourly = BK_KEEP_HOURLY;
	a->daily = BK_KEEP_DAILY;
	if ((a->hourly_s != NULL && cron_flag_int("keep-hourly", a->hourly_s,
	    0, LIM_BK_KEEP_MAX, &a->hourly) == -1) ||
	    (a->daily_s != NULL && cron_flag_int("keep-daily", a->daily_s, 0,
	    LIM_BK_KEEP_MAX, &a->daily) == -1))
		return -1;
	if (a->remotes.n == 0 && (v = cron_env_get("PDS_BACKUP_REMOTES")) !=
	    NULL) {
		if (cron_list_add(&a->remotes, v, 1, LIM_BK_REMOTES) == -1)
			return -1;
		for (i = 0; i < a->remotes.n; i++)
			if (!bk_remote_ok(a->remotes.v[i])) {
				log_error("PDS_BACKUP_REMOTES: bad remote");
				return -1;
			}
	}
	if (a->dest == NULL || a->dest[0] != '/') {
		log_error("set the backup directory (an absolute path) with "
		    "--dest or PDS_BACKUP_DIRECTORY");
		return -1;
	}
	return 0;
}

/* Copies to every remote; returns CRON_EXIT_OK or CRON_EXIT_REMOTE. */
static int
bk_upload(const struct bk_args *a)
{
	struct bk_rclone_stats	st;
	size_t			i;
	int			rc = CRON_EXIT_OK;

	for (i = 0; i < a->remotes.n; i++) {
		if (bk_rclone_push(a->rclone, a->dest, a->remotes.v[i],
		    a->hourly, a->daily, &st) == -1) {
			log_error("remote %s: failed; the local snapshot is "
			    "kept and the next run retries", a->remotes.v[i]);
			rc = CRON_EXIT_REMOTE;
			continue;
		}
		log_info("remote %s: sent %lld snapshots, %lld files, %lld "
		    "bytes; purged %lld snapshots; deleted %lld files",
		    a->remotes.v[i], (long long)st.sent,
		    (long long)st.transfers, (long long)st.bytes,
		    (long long)st.purged, (long long)st.deletes);
	}
	return rc;
}

static int
bk_run(struct bk_args *a)
{
	struct pds_config	*cfg = NULL;
	struct bk_sources	 src;
	struct bk_snap_stats	 st;
	char			 lockpath[LIM_CRON_PATH], name[24];
	size_t			 pruned = 0, gone = 0;
	int			 lockfd = -1, rc = CRON_EXIT_USAGE, prc;

	if (cron_config_load(a->env_file, &cfg) == -1 || bk_settings(a) == -1 ||
	    cron_lock_path("pds-backup", a->lock, cfg, lockpath) == -1)
		goto out;
	if ((lockfd = cron_lock(lockpath)) == -2) {
		log_warn("another run holds %s; nothing done", lockpath);
		rc = CRON_EXIT_LOCKED;
		goto out;
	}
	rc = CRON_EXIT_FAIL;
	if (lockfd == -1 || cron_mkdirs(a->dest, 0700) == -1)
		goto out;
	memset(&src, 0, sizeof(src));
	src.account_db = cfg->account_db;
	src.sequencer_db = cfg->sequencer_db;
	src.did_cache_db = cfg->did_cache_db;
	src.actor_dir = cfg->actor_store_dir;
	src.blob_dir = cfg->blobstore_dir;
	src.blob_tmp = cfg->blobstore_tmp;
	src.data_dir = cfg->data_dir;
	if (bk_snapshot_take(&src, a->dest, name, &st) == -1) {
		log_error("snapshot failed; earlier snapshots are untouched");
		goto out;
	}
	prc = bk_prune(a->dest, a->hourly, a->daily, &pruned, &gone);
	log_msg(st.blobs_missing > 0 ? LOG_LVL_ERROR : LOG_LVL_INFO,
	    "snapshot %s: %zu "
	    "databases (integrity ok), %zu keys, %zu files, %zu new blobs, "
	    "%zu blobs already kept, %llu bytes copied, %zu warnings, %zu "
	    "referenced blobs missing, %zu stores copied again; pruned %zu "
	    "snapshots and %zu blobs", name, st.dbs, st.keys, st.files,
	    st.blobs_new, st.blobs_kept, (unsigned long long)st.bytes_copied,
	    st.warnings, st.blobs_missing, st.retakes, pruned, gone);
	rc = a->no_upload ? CRON_EXIT_OK : bk_upload(a);
	if (prc == -1 && rc == CRON_EXIT_OK)
		rc = CRON_EXIT_FAIL;
	/* The snapshot is kept (the best copy there is of a source that
	 * lacks blobs), but the run is not "ok". */
	if (st.blobs_missing > 0)
		rc = CRON_EXIT_BLOBS;
out:
	if (lockfd >= 0)
		(void)close(lockfd);
	config_free(cfg);
	return rc;
}

int
main(int argc, char *argv[])
{
	struct bk_args	 a;
	const char	*cmd;
	long		 bad;
	int		 rc = CRON_EXIT_USAGE;

	log_init("pds-backup", LOG_LVL_INFO);
	/* Snapshots hold password hashes and signing keys. */
	(void)umask(077);
	memset(&a, 0, sizeof(a));
	if (bk_parse_args(argc, argv, &a) == -1) {
		bk_usage();
		goto out;
	}
	cmd = optind < argc ? argv[optind] : "run";
	if (strcmp(cmd, "run") == 0 && argc - optind <= 1) {
		rc = bk_run(&a);
	} else if (strcmp(cmd, "verify") == 0 && argc - optind == 2) {
		if ((bad = bk_snapshot_verify(argv[optind + 1])) == 0) {
			log_info("verify %s: ok", argv[optind + 1]);
			rc = CRON_EXIT_OK;
		} else {
			if (bad > 0)
				log_error("verify %s: %ld damaged entries",
				    argv[optind + 1], bad);
			rc = CRON_EXIT_VERIFY;
		}
	} else if (strcmp(cmd, "restore") == 0 && argc - optind == 3) {
		rc = bk_snapshot_restore(argv[optind + 1], argv[optind + 2],
		    a.force);
	} else
		bk_usage();
out:
	cron_list_free(&a.remotes);
	cron_env_fini();
	return rc;
}
