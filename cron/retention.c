/*
 * retention.c: which pds-backup snapshots to keep (the newest per hour
 * for the N most recent hours, the newest per day for the N most recent
 * days, and always the newest), removing the rest, and removing blobs of
 * the shared area <dest>/blocks that no remaining MANIFEST lists.
 *
 * Snapshot names are UTC times, "YYYYMMDDTHHMMSS.mmmZ", so sorting the
 * names sorts the times and the first 11 / 8 characters are the hour and
 * the day.  Anything else under snapshots/ is never touched.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cron.h"
#include "log.h"

int
bk_snapshot_name_ok(const char *name)
{
	size_t	i;

	if (strlen(name) != 20)
		return 0;
	for (i = 0; i < 20; i++) {
		if (i == 8) {
			if (name[i] != 'T')
				return 0;
		} else if (i == 15) {
			if (name[i] != '.')
				return 0;
		} else if (i == 19) {
			if (name[i] != 'Z')
				return 0;
		} else if (name[i] < '0' || name[i] > '9')
			return 0;
	}
	return 1;
}

void
bk_snapshot_name(int64_t ms, char out[24])
{
	struct tm	tm;
	time_t		t = (time_t)(ms / 1000);

	int		n;

	(void)gmtime_r(&t, &tm);
	n = snprintf(out, 24, "%04d%02d%02dT%02d%02d%02d.%03dZ",
	    (tm.tm_year + 1900) % 10000, (tm.tm_mon + 1) % 100,
	    tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100,
	    tm.tm_sec % 100, (int)(ms % 1000));
	if (n != 20)
		out[0] = '\0';	/* before 1970 or after 9999: no name */
}

void
bk_keep_select(char *const *names, size_t n, int64_t hourly, int64_t daily,
    int *keep)
{
	const char	*last_h = NULL, *last_d = NULL;
	int64_t		 nh = 0, nd = 0;
	size_t		 i;

	for (i = 0; i < n; i++)
		keep[i] = 0;
	if (n == 0)
		return;
	keep[n - 1] = 1;
	for (i = n; i-- > 0; ) {
		if (nh < hourly && (last_h == NULL ||
		    strncmp(last_h, names[i], 11) != 0)) {
			keep[i] = 1;
			nh++;
			last_h = names[i];
		}
		if (nd < daily && (last_d == NULL ||
		    strncmp(last_d, names[i], 8) != 0)) {
			keep[i] = 1;
			nd++;
			last_d = names[i];
		}
	}
}

static int
bk_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
bk_snapshots_list(const char *dest, struct cron_list *out)
{
	char		 dir[LIM_CRON_PATH];
	struct dirent	*de;
	DIR		*d;

	memset(out, 0, sizeof(*out));
	if (cron_path(dir, dest, "snapshots") == -1)
		return -1;
	if ((d = opendir(dir)) == NULL) {
		if (errno == ENOENT)
			return 0;
		log_error("%s: %s: %s", __func__, dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (!bk_snapshot_name_ok(de->d_name))
			continue;
		if (cron_list_add(out, de->d_name, 0, LIM_BK_SNAPSHOTS) == -1) {
			(void)closedir(d);
			cron_list_free(out);
			return -1;
		}
	}
	(void)closedir(d);
	if (out->n > 1)
		qsort(out->v, out->n, sizeof(out->v[0]), bk_name_cmp);
	return 0;
}

/* Collects every blob path of every remaining MANIFEST, sorted. */
static int
bk_live_blobs(const char *dest, const struct cron_list *snaps,
    struct cron_list *live)
{
	struct bk_manifest	 m;
	char			 snapdir[LIM_CRON_PATH], sub[64];
	size_t			 i, k;

	memset(live, 0, sizeof(*live));
	for (i = 0; i < snaps->n; i++) {
		(void)snprintf(sub, sizeof(sub), "snapshots/%s", snaps->v[i]);
		if (cron_path(snapdir, dest, sub) == -1 ||
		    bk_manifest_load(snapdir, &m) == -1)
			goto fail;
		for (k = 0; k < m.n; k++)
			if (m.v[k].kind == BK_BLOB && cron_list_add(live,
			    m.v[k].path, 0, LIM_BK_FILES) == -1) {
				bk_manifest_free(&m);
				goto fail;
			}
		bk_manifest_free(&m);
	}
	if (live->n > 1)
		qsort(live->v, live->n, sizeof(live->v[0]), bk_name_cmp);
	return 0;
fail:
	cron_list_free(live);
	return -1;
}

struct bk_gc {
	const struct cron_list	*live;
	size_t			 removed;
	int			 failed;
};

/* Walks <area>/<rel> removing files whose "blocks/<rel>" is not live,
 * then the directory itself when it became empty. */
static void
bk_gc_dir(struct bk_gc *gc, const char *dir, const char *rel, int depth)
{
	struct dirent	*de;
	struct stat	 st;
	char		 path[LIM_CRON_PATH], r2[LIM_CRON_PATH];
	char		 full[LIM_CRON_PATH + 8];
	const char	*key;
	DIR		*d;
	int		 n;

	if (depth > 4 || (d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		n = snprintf(r2, sizeof(r2), "%s%s%s", rel, *rel ? "/" : "",
		    de->d_name);
		if (n < 0 || (size_t)n >= sizeof(r2) ||
		    cron_path(path, dir, de->d_name) == -1 ||
		    lstat(path, &st) == -1)
			continue;
		if (S_ISDIR(st.st_mode)) {
			bk_gc_dir(gc, path, r2, depth + 1);
			continue;
		}
		n = snprintf(full, sizeof(full), "blocks/%s", r2);
		key = full;
		if (n < 0 || (size_t)n >= sizeof(full) || (gc->live->n > 0 &&
		    bsearch(&key, gc->live->v, gc->live->n,
		    sizeof(gc->live->v[0]), bk_name_cmp) != NULL))
			continue;
		if (unlink(path) == 0)
			gc->removed++;
		else
			gc->failed = 1;
	}
	(void)closedir(d);
	if (depth > 0)
		(void)rmdir(dir);	/* only succeeds when empty */
}

int
bk_prune(const char *dest, int64_t hourly, int64_t daily, size_t *pruned,
    size_t *blobs_removed)
{
	struct cron_list	 snaps, kept, live;
	struct bk_gc		 gc;
	char			 path[LIM_CRON_PATH], sub[64];
	size_t			 i;
	int			*keep = NULL, rc = -1;

	*pruned = *blobs_removed = 0;
	memset(&kept, 0, sizeof(kept));
	memset(&live, 0, sizeof(live));
	if (bk_snapshots_list(dest, &snaps) == -1)
		return -1;
	if (snaps.n > 0 && (keep = calloc(snaps.n, sizeof(*keep))) == NULL)
		goto out;
	bk_keep_select(snaps.v, snaps.n, hourly, daily, keep);
	for (i = 0; i < snaps.n; i++) {
		if (keep[i]) {
			if (cron_list_add(&kept, snaps.v[i], 0,
			    LIM_BK_SNAPSHOTS) == -1)
				goto out;
			continue;
		}
		(void)snprintf(sub, sizeof(sub), "snapshots/%s", snaps.v[i]);
		if (cron_path(path, dest, sub) == -1 || cron_rmtree(path) == -1)
			goto out;
		(*pruned)++;
	}
	/* The blob area is only collected against readable manifests: one
	 * unreadable manifest stops the collection, never widens it. */
	if (bk_live_blobs(dest, &kept, &live) == -1)
		goto out;
	memset(&gc, 0, sizeof(gc));
	gc.live = &live;
	if (cron_path(path, dest, "blocks") == -1)
		goto out;
	bk_gc_dir(&gc, path, "", 0);
	*blobs_removed = gc.removed;
	if (gc.failed)
		log_warn("prune: some unlisted blobs could not be removed");
	rc = 0;
out:
	free(keep);
	cron_list_free(&snaps);
	cron_list_free(&kept);
	cron_list_free(&live);
	return rc;
}
