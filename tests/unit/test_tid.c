/*
 * test_tid.c: TID syntax, encoding and generation (tid.c).
 *
 * Encoding is checked against values printed by the reference's
 * @atproto/common-web TID class; generation for strict increase in one
 * process and, through a shared state file, for uniqueness across four
 * forked processes (two inheriting the parent's mapping, two mapping the
 * file themselves as spawn-fcgi -F workers would).
 */
#include <fcntl.h>
#include <stdint.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "t.h"
#include "tid.h"
#include "util.h"

#define NCHILD		4
#define PER_CHILD	20000

static void
test_encoding(void)
{
	static const struct {
		const char	*s;
		uint64_t	 us;	/* TID.timestamp() */
		unsigned	 clock;	/* TID.clockid() */
	} v[] = {
		{ "3jzfcijpj2z2a", 1688137381887007ULL, 6 },
		{ "2222222222222", 0, 0 },
		{ "7777777777777", 5811096293381285ULL, 165 },
		{ "3zzzzzzzzzzzz", 2251799813685247ULL, 1023 },
		{ "3kcb3w7mxgx22", 1697888490583453ULL, 0 },
		/* TID.fromTime(1700000000123456, 7) and (…, 1023) */
		{ "3ke6kg42cm22b", 1700000000123456ULL, 7 },
		{ "3ke6kg42cm2zz", 1700000000123456ULL, 1023 },
	};
	char		out[TID_STR_LEN];
	uint64_t	x;
	size_t		i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		T_EQ_INT(tid_parse(v[i].s, 13, &x), 0);
		T_EQ_INT(tid_us(x), v[i].us);
		T_EQ_INT(tid_clock_id(x), v[i].clock);
		tid_format(tid_make(v[i].us, v[i].clock), out);
		T_EQ_STR(out, v[i].s);
	}
	/* the top character may be up to 'j': all 64 bits round-trip */
	T_EQ_INT(tid_parse("jzzzzzzzzzzzz", 13, &x), 0);
	T_OK(x == UINT64_MAX, "jzzz… is 2^64-1");
	tid_format(x, out);
	T_EQ_STR(out, "jzzzzzzzzzzzz");
	T_EQ_INT(tid_parse("kzzzzzzzzzzzz", 13, &x), -1);
	T_EQ_INT(tid_parse("3jzfcijpj2z2", 12, &x), -1);
	T_EQ_INT(tid_parse("3jzfcijpj2z2A", 13, &x), -1);
	T_EQ_INT(tid_parse("3jzfcijpj2z21", 13, &x), -1);
	T_EQ_INT(tid_parse("3jzfcijpj2z2\0", 13, &x), -1);
	/* tid_make drops bits beyond 53 + 10 */
	T_OK(tid_make(UINT64_MAX, 0xffff) == (UINT64_MAX >> 1),
	    "tid_make masks");
}

/* Numeric order equals string order (memcmp of the 13 chars). */
static void
test_order(void)
{
	char		a[TID_STR_LEN], b[TID_STR_LEN];
	uint64_t	x, y, s = 88172645463325252ULL;
	int		i, c, bad = 0;

	for (i = 0; i < 100000; i++) {
		s ^= s << 13, s ^= s >> 7, s ^= s << 17;
		x = s;
		s ^= s << 13, s ^= s >> 7, s ^= s << 17;
		y = i % 3 == 0 ? x ^ (s & 0xfff) : s;
		tid_format(x, a);
		tid_format(y, b);
		c = memcmp(a, b, 13);
		if ((c > 0) != (tid_cmp(x, y) > 0) ||
		    (c == 0) != (tid_cmp(x, y) == 0))
			bad++;
	}
	T_EQ_INT(bad, 0);
}

/* n TIDs from tid_next(), each strictly greater than the last. */
static int
strictly_increasing(int n, uint64_t *first, uint64_t *last)
{
	uint64_t	prev = 0, v;
	int		i;

	for (i = 0; i < n; i++) {
		if (tid_next(&v) == -1 || (i > 0 && v <= prev))
			return -1;
		if (i == 0 && first != NULL)
			*first = v;
		prev = v;
	}
	if (last != NULL)
		*last = prev;
	return 0;
}

static void
test_fallback(void)
{
	uint64_t	first, v;
	char		s[TID_STR_LEN];
	int64_t		now;

	tid_fini();
	T_EQ_INT(tid_is_shared(), 0);
	now = util_now_us();
	T_EQ_INT(strictly_increasing(100000, &first, NULL), 0);
	T_OK(tid_clock_id(first) >= 32, "fallback clock id %u",
	    tid_clock_id(first));
	T_OK(tid_us(first) + 1000000 > (uint64_t)now &&
	    tid_us(first) < (uint64_t)now + 1000000, "TID near the clock");
	T_EQ_INT(tid_next_str(s), 0);
	T_EQ_INT(tid_validate(s, strlen(s), NULL), 0);
	T_EQ_INT(tid_parse(s, 13, &v), 0);
	T_OK(v > first, "string TID is later");
}

static void
test_next_after(void)
{
	uint64_t	prev, v, w, now = (uint64_t)util_now_us();

	/* behind the clock: an ordinary new TID */
	prev = tid_make(now - 5000000, 3);
	T_EQ_INT(tid_next_after(prev, &v), 0);
	T_OK(v > prev && tid_us(v) >= now, "past prev");
	/* slightly ahead (the clock went back 1 s): past prev, and the
	 * state moves with it so later TIDs stay ahead */
	prev = tid_make(now + 1000000, 1023);
	T_EQ_INT(tid_next_after(prev, &v), 0);
	T_OK(v > prev && tid_us(v) == tid_us(prev) + 1, "just past prev");
	T_EQ_INT(tid_next(&w), 0);
	T_OK(w > v, "state advanced past prev");
	/* far ahead: prev + 1 us, state left alone */
	prev = tid_make(now + 3600000000ULL, 0);
	T_EQ_INT(tid_next_after(prev, &v), 0);
	T_OK(v > prev && tid_us(v) == tid_us(prev) + 1, "far prev + 1");
	T_EQ_INT(tid_next(&w), 0);
	T_OK(w < prev, "state not dragged an hour ahead");
	/* the end of the range */
	T_EQ_INT(tid_next_after(UINT64_MAX, &v), -1);
	T_EQ_INT(tid_next_after(tid_make((1ULL << 53) - 1, 0), &v), -1);
	T_EQ_INT(tid_next_after(tid_make((1ULL << 53) - 2, 0), &v), 0);
}

/* Child: waits for the start signal (EOF on go), then writes n TIDs to
 * fd, mapping the state file itself when path is set. */
static void
child_run(const char *path, int go, int *ready, int fd)
{
	static uint64_t	v[PER_CHILD];
	size_t		off, len = sizeof(v);
	ssize_t		w;
	char		c;
	int		i;

	if (path != NULL && tid_init(path) != 0)
		_exit(2);
	/* inherited or mapped anew, the state is the shared one */
	if (!tid_is_shared())
		_exit(6);
	if (read(go, &c, 1) != 0)	/* all start together */
		_exit(5);
	/* and spin until every sibling is awake, so they overlap */
	__atomic_add_fetch(ready, 1, __ATOMIC_ACQ_REL);
	while (__atomic_load_n(ready, __ATOMIC_ACQUIRE) < NCHILD)
		sched_yield();
	for (i = 0; i < PER_CHILD; i++) {
		if (tid_next(&v[i]) == -1 || (i > 0 && v[i] <= v[i - 1]))
			_exit(3);
		if (i % 256 == 255)	/* let siblings on this core run */
			sched_yield();
	}
	for (off = 0; off < len; off += (size_t)w)
		if ((w = write(fd, (char *)v + off, len - off)) <= 0)
			_exit(4);
	_exit(0);
}

struct tagged {
	uint64_t	v;
	int		child;
};

static int
cmp_tagged(const void *a, const void *b)
{
	uint64_t	x = ((const struct tagged *)a)->v;
	uint64_t	y = ((const struct tagged *)b)->v;

	return x < y ? -1 : x > y;
}

/* Reads NCHILD * PER_CHILD values from the children's pipes. */
static int
collect(int fds[NCHILD], struct tagged *all)
{
	uint64_t	buf[512];
	size_t		have, k;
	ssize_t		r;
	int		i, n = 0;

	for (i = 0; i < NCHILD; i++) {
		for (have = 0; have < PER_CHILD * sizeof(uint64_t);
		    have += (size_t)r) {
			r = read(fds[i], buf, sizeof(buf));
			if (r <= 0 || r % sizeof(uint64_t) != 0)
				return -1;
			for (k = 0; k < (size_t)r / sizeof(uint64_t); k++) {
				all[n].v = buf[k];
				all[n++].child = i;
			}
		}
		close(fds[i]);
	}
	return n == NCHILD * PER_CHILD ? 0 : -1;
}

static void
test_processes(const char *path)
{
	static struct tagged	all[NCHILD * PER_CHILD];
	int			fds[NCHILD], p[2], go[2], i, st, ok = 1;
	int			dups = 0, switches = 0, *ready;
	pid_t			pid[NCHILD];

	T_EQ_INT(tid_init(path), 0);
	T_EQ_INT(tid_is_shared(), 1);
	ready = mmap(NULL, sizeof(*ready), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ready == MAP_FAILED || pipe(go) == -1) {
		T_OK(0, "mmap/pipe");
		return;
	}
	*ready = 0;
	for (i = 0; i < NCHILD; i++) {
		if (pipe(p) == -1 || (pid[i] = fork()) == -1) {
			T_OK(0, "pipe/fork");
			return;
		}
		if (pid[i] == 0) {
			close(p[0]);
			close(go[1]);
			/* two inherit the mapping, two map the file anew */
			if (i % 2 == 1)
				tid_fini();
			child_run(i % 2 == 1 ? path : NULL, go[0], ready,
			    p[1]);
		}
		close(p[1]);
		fds[i] = p[0];
	}
	close(go[0]);
	close(go[1]);			/* start */
	T_EQ_INT(collect(fds, all), 0);
	for (i = 0; i < NCHILD; i++) {
		if (waitpid(pid[i], &st, 0) == -1 || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0)
			ok = 0;
	}
	T_OK(ok, "children generated strictly increasing TIDs");
	(void)munmap(ready, sizeof(*ready));
	qsort(all, NCHILD * PER_CHILD, sizeof(all[0]), cmp_tagged);
	for (i = 1; i < NCHILD * PER_CHILD; i++) {
		dups += all[i].v == all[i - 1].v;
		switches += all[i].child != all[i - 1].child;
	}
	T_EQ_INT(dups, 0);
	T_OK(tid_clock_id(all[0].v) < 32, "shared clock id %u",
	    tid_clock_id(all[0].v));
	T_OK(tid_clock_id(all[0].v) ==
	    tid_clock_id(all[NCHILD * PER_CHILD - 1].v), "one shared clock id");
	/* switches: how often consecutive TIDs came from different
	 * processes (3 would mean they never ran at the same time) */
	printf("tid: %d processes x %d TIDs, %d duplicates, %d interleavings\n",
	    NCHILD, PER_CHILD, dups, switches);
}

static void
test_state_file(const char *dir)
{
	char		path[512], bad[512];
	uint64_t	v, rec[2];
	int		fd;
	int64_t		now;

	snprintf(path, sizeof(path), "%s/tid.state", dir);
	snprintf(bad, sizeof(bad), "%s/garbage.state", dir);
	test_processes(path);
	/* the state outlives the processes: a later TID is past all of
	 * them even if the clock went back (simulated: last = now + 5 s) */
	tid_fini();
	if ((fd = open(path, O_RDWR)) == -1 ||
	    pread(fd, rec, sizeof(rec), 0) != (ssize_t)sizeof(rec)) {
		T_OK(0, "read state");
		return;
	}
	now = util_now_us();
	rec[1] = (uint64_t)now + 5000000;
	T_OK(pwrite(fd, rec, sizeof(rec), 0) == (ssize_t)sizeof(rec), "write");
	close(fd);
	T_EQ_INT(tid_init(path), 0);
	T_EQ_INT(tid_next(&v), 0);
	T_OK(tid_us(v) == (uint64_t)now + 5000001, "continues after state");
	T_EQ_INT(strictly_increasing(1000, NULL, NULL), 0);
	/* a file that is not a TID state, a directory: fallback */
	if ((fd = open(bad, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1 ||
	    write(fd, "not a tid state file", 20) != 20) {
		T_OK(0, "write garbage");
		return;
	}
	close(fd);
	T_EQ_INT(tid_init(bad), -1);
	T_EQ_INT(tid_is_shared(), 0);
	T_EQ_INT(strictly_increasing(1000, &v, NULL), 0);
	T_OK(tid_clock_id(v) >= 32, "fallback after garbage");
	T_EQ_INT(tid_init(dir), -1);
	T_EQ_INT(tid_init(NULL), -1);
	T_EQ_INT(strictly_increasing(1000, NULL, NULL), 0);
	tid_fini();
	unlink(path);
	unlink(bad);
}

int
main(void)
{
	char	dir[] = "/tmp/test_tid.XXXXXX";

	log_init("test_tid", LOG_LVL_ERROR);
	test_encoding();
	test_order();
	test_fallback();
	test_next_after();
	if (mkdtemp(dir) == NULL)
		T_OK(0, "mkdtemp");
	else {
		test_state_file(dir);
		rmdir(dir);
	}
	return t_done("tid");
}
