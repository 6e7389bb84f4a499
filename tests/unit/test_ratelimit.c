/*
 * test_ratelimit.c: fcgi/store/ratelimit.c, the counter file shared by
 * the workers: rate-limiter-flexible's fixed-window arithmetic (limit,
 * remaining, msBeforeNext, the window opening at the first hit, costs,
 * hits past the limit still counting), keys and buckets kept apart,
 * counts shared by forked processes hitting at once, counts surviving a
 * reopen, a foreign file reset, a flooded table evicting, bad hits.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pds_limits.h"
#include "ratelimit.h"
#include "t.h"

static char	dir[] = "/tmp/test_ratelimit.XXXXXX";
static char	path[256];

static void
hit_set(struct ratelimit_hit *h, const char *bucket, const char *key,
    int64_t limit, int64_t dur_ms, int64_t cost)
{
	memset(h, 0, sizeof(*h));
	h->bucket = bucket;
	h->key = key;
	h->keylen = strlen(key);
	h->limit = limit;
	h->duration_ms = dur_ms;
	h->cost = cost;
}

/* One hit; returns its status. */
static struct ratelimit_status
one(struct ratelimit *rl, const char *bucket, const char *key, int64_t limit,
    int64_t dur_ms, int64_t cost, int64_t now)
{
	struct ratelimit_hit	h;

	hit_set(&h, bucket, key, limit, dur_ms, cost);
	T_EQ_INT(ratelimit_consume(rl, &h, 1, now), 0);
	return h.st;
}

static void
test_window(struct ratelimit *rl)
{
	struct ratelimit_status	st;
	int64_t			t0 = 1700000000000LL;
	int			i;

	for (i = 1; i <= 3; i++) {
		st = one(rl, "b", "1.2.3.4", 3, 300000, 1, t0 + i);
		T_EQ_INT(st.consumed, i);
		T_EQ_INT(st.remaining, 3 - i);
		T_EQ_INT(st.exceeded, 0);
		T_EQ_INT(st.limit, 3);
		T_EQ_INT(st.duration_s, 300);
		/* the window opened at the first hit (t0 + 1) */
		T_EQ_INT(st.ms_before_next, 300000 - (i - 1));
	}
	st = one(rl, "b", "1.2.3.4", 3, 300000, 1, t0 + 10);
	T_EQ_INT(st.exceeded, 1);
	T_EQ_INT(st.remaining, 0);
	T_EQ_INT(st.consumed, 4);
	/* refused hits still count */
	st = one(rl, "b", "1.2.3.4", 3, 300000, 1, t0 + 20);
	T_EQ_INT(st.consumed, 5);
	/* another key, another bucket: their own windows */
	st = one(rl, "b", "1.2.3.5", 3, 300000, 1, t0 + 20);
	T_EQ_INT(st.consumed, 1);
	st = one(rl, "c", "1.2.3.4", 3, 300000, 1, t0 + 20);
	T_EQ_INT(st.consumed, 1);
	/* "b"+"x1" and "bx"+"1" do not collide */
	st = one(rl, "bx", "1", 3, 300000, 1, t0);
	T_EQ_INT(st.consumed, 1);
	st = one(rl, "b", "x1", 3, 300000, 1, t0);
	T_EQ_INT(st.consumed, 1);
	/* the window ends at t0 + 1 + 300000: a new one opens */
	st = one(rl, "b", "1.2.3.4", 3, 300000, 1, t0 + 300000);
	T_EQ_INT(st.exceeded, 1);
	st = one(rl, "b", "1.2.3.4", 3, 300000, 1, t0 + 300001);
	T_EQ_INT(st.consumed, 1);
	T_EQ_INT(st.exceeded, 0);
	T_EQ_INT(st.ms_before_next, 300000);
	/* costs: 3 + 2 + 1 of 5 points; sub-second durations round down */
	st = one(rl, "w", "did:plc:x", 5, 3600999, 3, t0);
	T_EQ_INT(st.remaining, 2);
	T_EQ_INT(st.duration_s, 3600);
	T_EQ_INT(st.ms_before_next, 3600000);
	st = one(rl, "w", "did:plc:x", 5, 3600999, 2, t0);
	T_EQ_INT(st.exceeded, 0);
	st = one(rl, "w", "did:plc:x", 5, 3600999, 1, t0);
	T_EQ_INT(st.exceeded, 1);
}

static void
test_many(struct ratelimit *rl)
{
	struct ratelimit_hit	h[3];

	/* one call, several buckets, one lock */
	hit_set(&h[0], "day", "k", 300, 86400000, 1);
	hit_set(&h[1], "5min", "k", 2, 300000, 1);
	hit_set(&h[2], "global", "k", 3000, 300000, 1);
	T_EQ_INT(ratelimit_consume(rl, h, 3, 1000), 0);
	T_EQ_INT(ratelimit_consume(rl, h, 3, 2000), 0);
	T_EQ_INT(ratelimit_consume(rl, h, 3, 3000), 0);
	T_EQ_INT(h[0].st.exceeded, 0);
	T_EQ_INT(h[1].st.exceeded, 1);
	T_EQ_INT(h[2].st.remaining, 2997);
	/* bad hits are refused before anything counts */
	hit_set(&h[0], "x", "k", 0, 300000, 1);
	T_EQ_INT(ratelimit_consume(rl, h, 1, 1000), -1);
	hit_set(&h[0], "x", "k", 1, 999, 1);
	T_EQ_INT(ratelimit_consume(rl, h, 1, 1000), -1);
	hit_set(&h[0], "x", "k", 1, 1000, 0);
	T_EQ_INT(ratelimit_consume(rl, h, 1, 1000), -1);
	T_EQ_INT(ratelimit_consume(rl, h, 0, 1000), 0);
}

/* N processes, each with its own handle, hit one key at once. */
static void
test_processes(void)
{
	struct ratelimit	*rl;
	struct ratelimit_status	 st;
	pid_t			 pids[4];
	int			 i, j, status, ok = 1;

	for (i = 0; i < 4; i++) {
		if ((pids[i] = fork()) == 0) {
			struct ratelimit_hit h;

			if (ratelimit_open(path, &rl) == -1)
				_exit(2);
			for (j = 0; j < 250; j++) {
				hit_set(&h, "proc", "same", 1000, 60000, 1);
				if (ratelimit_consume(rl, &h, 1, 5000) == -1)
					_exit(3);
			}
			ratelimit_close(rl);
			_exit(0);
		}
		T_OK(pids[i] > 0, "fork");
	}
	for (i = 0; i < 4; i++) {
		ok &= waitpid(pids[i], &status, 0) == pids[i] &&
		    WIFEXITED(status) && WEXITSTATUS(status) == 0;
	}
	T_OK(ok, "children");
	T_EQ_INT(ratelimit_open(path, &rl), 0);
	st = one(rl, "proc", "same", 1000, 60000, 1, 5000);
	T_EQ_INT(st.consumed, 1001);
	T_EQ_INT(st.exceeded, 1);
	ratelimit_close(rl);
}

static void
test_flood(struct ratelimit *rl)
{
	struct ratelimit_status	st;
	char			key[32];
	int			i;

	/* more live keys than slots: the oldest windows are forgotten */
	for (i = 0; i < LIM_RL_SLOTS + LIM_RL_SLOTS / 4; i++) {
		(void)snprintf(key, sizeof(key), "k%d", i);
		st = one(rl, "flood", key, 10, 3600000, 1, 10000000 + i);
	}
	T_OK(ratelimit_evictions(rl) > 0, "evictions");
	/* the newest key still counts */
	st = one(rl, "flood", key, 10, 3600000, 1, 10000000 + 2 * LIM_RL_SLOTS);
	T_EQ_INT(st.consumed, 2);
}

static void
test_file(void)
{
	struct ratelimit	*rl;
	struct ratelimit_status	 st;
	struct stat		 sb;
	int			 fd;

	/* the counts survive a reopen (a worker restart) */
	T_EQ_INT(ratelimit_open(path, &rl), 0);
	st = one(rl, "b", "1.2.3.4", 3, 300000, 1, 1700000000000LL + 300002);
	T_EQ_INT(st.consumed, 2);
	ratelimit_close(rl);
	T_EQ_INT(stat(path, &sb), 0);
	T_EQ_INT(sb.st_mode & 0777, 0600);
	/* a file of another format is started afresh */
	T_OK((fd = open(path, O_WRONLY | O_TRUNC)) != -1, "truncate");
	T_EQ_INT(write(fd, "garbage", 7), 7);
	(void)close(fd);
	T_EQ_INT(ratelimit_open(path, &rl), 0);
	st = one(rl, "b", "1.2.3.4", 3, 300000, 1, 1700000000000LL + 300003);
	T_EQ_INT(st.consumed, 1);
	ratelimit_close(rl);
	ratelimit_close(NULL);
	/* an unusable path */
	T_EQ_INT(ratelimit_open("/nonexistent/dir/rl.dat", &rl), -1);
	T_OK(rl == NULL, "no handle");
}

int
main(void)
{
	struct ratelimit	*rl;

	if (mkdtemp(dir) == NULL)
		return 1;
	(void)snprintf(path, sizeof(path), "%s/ratelimit.dat", dir);
	T_EQ_INT(ratelimit_open(path, &rl), 0);
	test_window(rl);
	test_many(rl);
	ratelimit_close(rl);
	test_processes();
	test_file();
	T_EQ_INT(ratelimit_open(path, &rl), 0);
	test_flood(rl);
	ratelimit_close(rl);
	(void)unlink(path);
	(void)rmdir(dir);
	return t_done("ratelimit");
}
