/*
 * rclone.c: copying pds-backup's snapshots to remotes with rclone(1).
 *
 * A remote mirrors <dest>'s layout: <remote>/blocks/ holds every blob once
 * (copied with --size-only: a blob's name is its hash, so an object of the
 * same name and size is the same blob), <remote>/snapshots/<name>/ holds
 * each snapshot's databases, keys and MANIFEST.  Snapshots are immutable
 * once complete, so only those the remote lacks are sent, oldest first,
 * after the blobs they list.  The retention is then applied to the
 * remote's own list of snapshots (rclone purge), and remote blobs are only
 * deleted (rclone sync) when every snapshot the remote keeps is also kept
 * here, so a wiped local disk never empties a remote.
 *
 * rclone runs with --use-json-log; its final "stats" object gives the
 * counts logged per remote.  rclone is configured the usual ways
 * (rclone.conf, RCLONE_CONFIG_<NAME>_* variables, RCLONE_* flags).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "cron.h"
#include "log.h"

extern char	**environ;

#define RC_ARGS		24	/* argv slots of one rclone call */
#define RC_EXIT_DIRNOTFOUND 3	/* rclone: directory not found */

/* ---- output -------------------------------------------------------------- */

static void
bk_rclone_line(json_t *o, struct bk_rclone_stats *last, int *have,
    char *err, size_t errsz)
{
	json_t		*s = json_object_get(o, "stats");
	const char	*lvl = json_string_value(json_object_get(o, "level"));
	const char	*msg = json_string_value(json_object_get(o, "msg"));
	const char	*obj = json_string_value(json_object_get(o, "object"));
	char		 e1[200], e2[120];

	if (json_is_object(s)) {
		last->transfers = json_integer_value(json_object_get(s,
		    "transfers"));
		last->bytes = json_integer_value(json_object_get(s, "bytes"));
		last->deletes = json_integer_value(json_object_get(s,
		    "deletes"));
		last->errors = json_integer_value(json_object_get(s, "errors"));
		*have = 1;
	}
	if (lvl != NULL && msg != NULL && err[0] == '\0' &&
	    (strcmp(lvl, "error") == 0 || strcmp(lvl, "critical") == 0)) {
		log_escape(e1, sizeof(e1), msg, strlen(msg));
		if (obj != NULL) {
			log_escape(e2, sizeof(e2), obj, strlen(obj));
			(void)snprintf(err, errsz, "%s: %s", e2, e1);
		} else
			(void)snprintf(err, errsz, "%s", e1);
	}
}

int
bk_rclone_parse(const char *p, size_t len, struct bk_rclone_stats *st,
    char *err, size_t errsz)
{
	struct bk_rclone_stats	 last;
	json_error_t		 je;
	json_t			*o;
	const char		*b, *e, *end = p + len;
	int			 have = 0;

	if (errsz > 0)
		err[0] = '\0';
	memset(&last, 0, sizeof(last));
	for (b = p; b < end; b = e + 1) {
		if ((e = memchr(b, '\n', (size_t)(end - b))) == NULL)
			e = end;
		if (e - b < 2 || *b != '{')
			continue;
		if ((o = json_loadb(b, (size_t)(e - b), JSON_REJECT_DUPLICATES,
		    &je)) == NULL)
			continue;
		if (json_is_object(o))
			bk_rclone_line(o, &last, &have, err, errsz);
		json_decref(o);
	}
	if (have) {
		st->transfers += last.transfers;
		st->bytes += last.bytes;
		st->deletes += last.deletes;
		st->errors += last.errors;
	}
	return 0;
}

int
bk_remote_ok(const char *s)
{
	size_t	i, n = strlen(s);

	if (n == 0 || n > 1024 || s[0] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return s[0] == '/' || strchr(s, ':') != NULL;
}

/* ---- running rclone ---------------------------------------------------- */

/* Runs argv, collecting up to LIM_BK_RCLONE_OUT bytes of its output into
 * out.  Returns rclone's exit status, or -1 when it could not run. */
static int
bk_rclone_exec(char *const argv[], struct buf *out)
{
	posix_spawn_file_actions_t	 fa;
	struct pollfd			 pfd;
	char				 chunk[4096];
	pid_t				 pid;
	ssize_t				 r;
	int				 p[2], status, err;

	if (pipe2(p, O_CLOEXEC) == -1)
		return -1;
	if (posix_spawn_file_actions_init(&fa) != 0) {
		(void)close(p[0]);
		(void)close(p[1]);
		return -1;
	}
	(void)posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
	(void)posix_spawn_file_actions_adddup2(&fa, p[1], STDERR_FILENO);
	(void)posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null",
	    O_RDONLY, 0);
	err = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	(void)close(p[1]);
	if (err != 0) {
		(void)close(p[0]);
		log_error("rclone: cannot run %s: %s", argv[0], strerror(err));
		return -1;
	}
	pfd.fd = p[0];
	pfd.events = POLLIN;
	for (;;) {
		if (poll(&pfd, 1, -1) == -1 && errno != EINTR)
			break;
		if ((r = read(p[0], chunk, sizeof(chunk))) == -1 &&
		    errno == EINTR)
			continue;
		if (r <= 0)
			break;
		/* Past the limit the output is dropped, not the run. */
		(void)buf_append(out, chunk, (size_t)r);
	}
	(void)close(p[0]);
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* One rclone call: "rclone <verb> <a> [<b>] --use-json-log ... extra".
 * Adds the stats, logs rclone's first error.  Returns its exit status or
 * -1.  *out (may be NULL) receives the raw output for listing verbs. */
static int
bk_rclone_run(const char *rclone, const char *verb, const char *a,
    const char *b, const char *const *extra, struct bk_rclone_stats *st,
    struct buf *out)
{
	char		*argv[RC_ARGS], err[300];
	struct buf	 own;
	size_t		 n = 0;
	int		 rc;

	argv[n++] = (char *)(uintptr_t)rclone;
	argv[n++] = (char *)(uintptr_t)verb;
	argv[n++] = (char *)(uintptr_t)a;
	if (b != NULL)
		argv[n++] = (char *)(uintptr_t)b;
	if (out == NULL) {
		argv[n++] = "--use-json-log";
		argv[n++] = "--stats=1h";
		argv[n++] = "--stats-log-level=NOTICE";
	}
	for (; extra != NULL && *extra != NULL && n < RC_ARGS - 1; extra++)
		argv[n++] = (char *)(uintptr_t)*extra;
	argv[n] = NULL;
	buf_init(&own, LIM_BK_RCLONE_OUT);
	if (out == NULL)
		out = &own;
	rc = bk_rclone_exec(argv, out);
	if (out == &own) {
		(void)bk_rclone_parse((const char *)own.data, own.len, st, err,
		    sizeof(err));
		if (rc != 0 && rc != -1)
			log_error("rclone %s %s: exit %d%s%s", verb, b != NULL ?
			    b : a, rc, err[0] ? ": " : "", err);
	}
	buf_free(&own);
	return rc;
}

/* ---- one remote ------------------------------------------------------- */

static int
bk_str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
bk_has(const struct cron_list *l, const char *name)
{
	return l->n > 0 && bsearch(&name, l->v, l->n, sizeof(l->v[0]),
	    bk_str_cmp) != NULL;
}

/* Lists the snapshot names on the remote (sorted). */
static int
bk_remote_list(const char *rclone, const char *rsnaps, struct cron_list *l)
{
	static const char *const x[] = { "--dirs-only", NULL };
	struct bk_rclone_stats	 st;
	struct buf		 out;
	char			 name[24];
	const char		*b, *e, *end;
	int			 rc, ret = -1;

	memset(l, 0, sizeof(*l));
	buf_init(&out, LIM_BK_RCLONE_OUT);
	rc = bk_rclone_run(rclone, "lsf", rsnaps, NULL, x, &st, &out);
	if (rc == RC_EXIT_DIRNOTFOUND) {
		ret = 0;
		goto done;
	}
	if (rc != 0) {
		log_error("rclone lsf %s: exit %d", rsnaps, rc);
		goto done;
	}
	end = (const char *)out.data + out.len;
	for (b = (const char *)out.data; b != NULL && b < end; b = e + 1) {
		if ((e = memchr(b, '\n', (size_t)(end - b))) == NULL)
			e = end;
		if (e - b != 21 || e[-1] != '/')
			continue;
		memcpy(name, b, 20);
		name[20] = '\0';
		if (bk_snapshot_name_ok(name) &&
		    cron_list_add(l, name, 0, LIM_BK_SNAPSHOTS) == -1)
			goto done;
	}
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(l->v[0]), bk_str_cmp);
	ret = 0;
done:
	buf_free(&out);
	if (ret != 0)
		cron_list_free(l);
	return ret;
}

/* "<remote>/<sub>", or "<remote><sub>" when it ends in ':' or '/'. */
static int
bk_remote_path(char *out, const char *remote, const char *sub)
{
	size_t	n = strlen(remote);
	int	r;

	if (n > 0 && (remote[n - 1] == ':' || remote[n - 1] == '/'))
		r = snprintf(out, LIM_CRON_PATH, "%s%s", remote, sub);
	else
		r = snprintf(out, LIM_CRON_PATH, "%s/%s", remote, sub);
	return (r < 0 || r >= LIM_CRON_PATH) ? -1 : 0;
}

/* The plan for one remote: what to send, what to purge, and whether
 * remote blobs may be deleted. */
struct bk_plan {
	struct cron_list	 local, remote, all;
	int			*keep;		/* over all */
	int			 blob_sync;
};

static void
bk_plan_free(struct bk_plan *p)
{
	cron_list_free(&p->local);
	cron_list_free(&p->remote);
	cron_list_free(&p->all);
	free(p->keep);
	p->keep = NULL;
}

static int
bk_plan_make(struct bk_plan *p, const char *rclone, const char *dest,
    const char *rsnaps, int64_t hourly, int64_t daily)
{
	size_t	i;

	memset(p, 0, sizeof(*p));
	if (bk_snapshots_list(dest, &p->local) == -1 ||
	    bk_remote_list(rclone, rsnaps, &p->remote) == -1)
		return -1;
	for (i = 0; i < p->local.n; i++)
		if (cron_list_add(&p->all, p->local.v[i], 0,
		    2 * LIM_BK_SNAPSHOTS) == -1)
			return -1;
	for (i = 0; i < p->remote.n; i++)
		if (!bk_has(&p->local, p->remote.v[i]) && cron_list_add(&p->all,
		    p->remote.v[i], 0, 2 * LIM_BK_SNAPSHOTS) == -1)
			return -1;
	if (p->all.n > 1)
		qsort(p->all.v, p->all.n, sizeof(p->all.v[0]), bk_str_cmp);
	if ((p->keep = calloc(p->all.n + 1, sizeof(*p->keep))) == NULL)
		return -1;
	bk_keep_select(p->all.v, p->all.n, hourly, daily, p->keep);
	p->blob_sync = 1;
	for (i = 0; i < p->all.n; i++)
		if (p->keep[i] && !bk_has(&p->local, p->all.v[i]))
			p->blob_sync = 0;
	return 0;
}

int
bk_rclone_push(const char *rclone, const char *dest, const char *remote,
    int64_t hourly, int64_t daily, struct bk_rclone_stats *st)
{
	/* --fast-list: one recursive listing instead of one per directory
	 * (fewer requests on object stores with many blobs). */
	static const char *const blobx[] = { "--size-only", "--fast-list",
	    NULL };
	struct bk_plan	 p;
	char		 rblocks[LIM_CRON_PATH], rsnaps[LIM_CRON_PATH];
	char		 lblocks[LIM_CRON_PATH], from[LIM_CRON_PATH];
	char		 to[LIM_CRON_PATH], sub[64];
	size_t		 i;
	int		 rc = -1;

	memset(st, 0, sizeof(*st));
	memset(&p, 0, sizeof(p));
	if (bk_remote_path(rblocks, remote, "blocks") == -1 ||
	    bk_remote_path(rsnaps, remote, "snapshots") == -1 ||
	    cron_path(lblocks, dest, "blocks") == -1 ||
	    cron_mkdirs(lblocks, 0750) == -1 ||
	    bk_plan_make(&p, rclone, dest, rsnaps, hourly, daily) == -1)
		goto out;
	/* Blobs first: a snapshot on the remote implies its blobs are. */
	if (bk_rclone_run(rclone, p.blob_sync ? "sync" : "copy", lblocks,
	    rblocks, blobx, st, NULL) != 0)
		goto out;
	for (i = 0; i < p.all.n; i++) {
		if (!p.keep[i] || bk_has(&p.remote, p.all.v[i]))
			continue;
		(void)snprintf(sub, sizeof(sub), "snapshots/%s", p.all.v[i]);
		if (cron_path(from, dest, sub) == -1 ||
		    bk_remote_path(to, remote, sub) == -1 ||
		    bk_rclone_run(rclone, "copy", from, to, NULL, st, NULL) != 0)
			goto out;
		st->sent++;
	}
	for (i = 0; i < p.all.n; i++) {
		if (p.keep[i] || !bk_has(&p.remote, p.all.v[i]))
			continue;
		(void)snprintf(sub, sizeof(sub), "snapshots/%s", p.all.v[i]);
		if (bk_remote_path(to, remote, sub) == -1 ||
		    bk_rclone_run(rclone, "purge", to, NULL, NULL, st, NULL) != 0)
			goto out;
		st->purged++;
	}
	rc = 0;
out:
	bk_plan_free(&p);
	return rc;
}
