/*
 * tid.c: TID syntax, encoding and generation (atproto.com/specs/tid;
 * @atproto/syntax tid.ts, @atproto/common-web tid.ts).
 *
 * How generation stays unique across pre-forked workers (separate
 * processes, forked by our master or by spawn-fcgi -F):
 *
 *  - Shared mode.  tid_init() maps a 16-byte state file MAP_SHARED:
 *    { magic | clock id, last issued microseconds }.  The clock id is
 *    drawn once (0..31, as the reference draws it) by whichever process
 *    creates the file, and every process uses it.  Each TID takes
 *    us = max(now, last + 1) and publishes it with an atomic
 *    compare-and-swap on `last`, so no two processes (nor two calls) ever
 *    get the same microsecond: TIDs are unique and globally increasing,
 *    and survive restarts and a clock stepping back.
 *  - Fallback mode (no path, or the file cannot be opened or mapped): a
 *    process-local `last` and a random clock id in 32..1023, disjoint from
 *    the shared ids; the id is re-drawn when getpid() changes, so a child
 *    forked after the draw does not repeat its parent's TIDs.
 *
 * __atomic builtins on 8-byte aligned shared memory are lock-free across
 * processes on every platform we build for (checked below).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "tid.h"
#include "util.h"

#define TID_US_MAX	((UINT64_C(1) << 53) - 1)
#define TID_MAGIC	UINT64_C(0x7064732d74696400)	/* "pds-tid\0" */
#define TID_MAGIC_MASK	(~(uint64_t)TID_CLOCK_MAX)
#define TID_SHARED_IDS	32		/* shared clock ids: 0..31 */

_Static_assert(__atomic_always_lock_free(sizeof(uint64_t), 0),
    "64-bit atomics must be lock-free to be shared between processes");

/* The state file's layout (host byte order; never leaves the host). */
struct tid_shared {
	uint64_t	magic_clock;	/* TID_MAGIC | clock id; 0: new */
	uint64_t	last_us;	/* last microseconds issued */
};

static const char	s32[] = "234567abcdefghijklmnopqrstuvwxyz";

static struct {
	struct tid_shared	*shm;	/* NULL in fallback mode */
	unsigned		 clock;	/* our clock id */
	pid_t			 pid;	/* who drew clock (fallback) */
	uint64_t		 last_us;	/* fallback: last issued */
} tid_st;

/* ==== syntax and encoding ============================================== */

/* The value of a base32-sortable char, or -1. */
static int
s32_val(unsigned char c)
{
	if (c >= '2' && c <= '7')
		return c - '2';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 6;
	return -1;
}

int
tid_validate(const char *p, size_t len, const char **why)
{
	const char	*err = NULL;
	size_t		 i;

	if (len != LIM_TID_LEN)
		err = "TID must be 13 characters";
	for (i = 0; err == NULL && i < len; i++)
		if (s32_val((unsigned char)p[i]) < 0)
			err = "TID syntax not valid (base32-sortable only)";
	/* 13 chars carry 65 bits; the first char holds the top 4 (the
	 * "234567abcdefghij" rule), so the value fits 64 bits */
	if (err == NULL && s32_val((unsigned char)p[0]) >= 16)
		err = "TID first character must be one of 234567abcdefghij";
	if (err != NULL) {
		if (why != NULL)
			*why = err;
		return -1;
	}
	return 0;
}

int
tid_parse(const char *p, size_t len, uint64_t *v)
{
	uint64_t	x = 0;
	size_t		i;

	if (tid_validate(p, len, NULL) == -1)
		return -1;
	for (i = 0; i < LIM_TID_LEN; i++)
		x = x << 5 | (uint64_t)s32_val((unsigned char)p[i]);
	*v = x;
	return 0;
}

void
tid_format(uint64_t v, char out[TID_STR_LEN])
{
	int	i;

	for (i = LIM_TID_LEN - 1; i >= 0; i--) {
		out[i] = s32[v & 31];
		v >>= 5;
	}
	out[LIM_TID_LEN] = '\0';
}

uint64_t
tid_make(uint64_t us, unsigned clock_id)
{
	return (us & TID_US_MAX) << TID_CLOCK_BITS | (clock_id & TID_CLOCK_MAX);
}

uint64_t
tid_us(uint64_t v)
{
	return v >> TID_CLOCK_BITS;
}

unsigned
tid_clock_id(uint64_t v)
{
	return (unsigned)(v & TID_CLOCK_MAX);
}

int
tid_cmp(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

/* ==== generation ======================================================== */

/* A random fallback clock id in 32..1023, for this process. */
static void
tid_draw_local_clock(void)
{
	uint32_t	r;

	if (util_random(&r, sizeof(r)) == -1)
		r = (uint32_t)getpid() ^ (uint32_t)util_mono_us();
	tid_st.clock = TID_SHARED_IDS +
	    r % (TID_CLOCK_MAX + 1 - TID_SHARED_IDS);
	tid_st.pid = getpid();
}

/* Opens and maps the state file; returns the mapping or NULL. */
static struct tid_shared *
tid_map(const char *path)
{
	struct tid_shared	*m = NULL;
	struct stat		 st;
	int			 fd;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd == -1) {
		log_warn("%s: open %s: %s", __func__, path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		log_warn("%s: %s is not a regular file", __func__, path);
		goto out;
	}
	/* Growing with zeros is safe if several processes race here; the
	 * file is never shrunk, so a live state is never cleared. */
	if (st.st_size < (off_t)sizeof(*m) &&
	    ftruncate(fd, (off_t)sizeof(*m)) == -1) {
		log_warn("%s: ftruncate %s: %s", __func__, path,
		    strerror(errno));
		goto out;
	}
	m = mmap(NULL, sizeof(*m), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		log_warn("%s: mmap %s: %s", __func__, path, strerror(errno));
		m = NULL;
	}
out:
	(void)close(fd);
	return m;
}

/* Claims or reads the shared clock id.  Returns it, or -1 when the file
 * holds something that is not a TID state. */
static int
tid_shared_clock(struct tid_shared *m)
{
	uint64_t	want, cur = 0;
	uint32_t	r;

	if (util_random(&r, sizeof(r)) == -1)
		r = (uint32_t)getpid();
	want = TID_MAGIC | (r % TID_SHARED_IDS);
	if (!__atomic_compare_exchange_n(&m->magic_clock, &cur, want, 0,
	    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		want = cur;		/* another process set it first */
	if ((want & TID_MAGIC_MASK) != TID_MAGIC ||
	    (want & TID_CLOCK_MAX) >= TID_SHARED_IDS)
		return -1;
	return (int)(want & TID_CLOCK_MAX);
}

int
tid_init(const char *state_path)
{
	struct tid_shared	*m;
	int			 clock;

	tid_fini();
	if (state_path == NULL)
		return -1;
	if ((m = tid_map(state_path)) == NULL)
		goto fallback;
	if ((clock = tid_shared_clock(m)) == -1) {
		log_warn("%s: %s is not a TID state file", __func__,
		    state_path);
		(void)munmap(m, sizeof(*m));
		goto fallback;
	}
	tid_st.shm = m;
	tid_st.clock = (unsigned)clock;
	return 0;
fallback:
	log_warn("%s: TIDs use a per-process clock id", __func__);
	return -1;
}

void
tid_fini(void)
{
	if (tid_st.shm != NULL)
		(void)munmap(tid_st.shm, sizeof(*tid_st.shm));
	tid_st.shm = NULL;
	tid_st.pid = 0;		/* fallback draws a fresh clock id */
}

int
tid_is_shared(void)
{
	return tid_st.shm != NULL;
}

/* The `last` word in use: the shared one, or this process's (drawing a
 * fallback clock id first if this process has none yet). */
static uint64_t *
tid_last(void)
{
	if (tid_st.shm != NULL)
		return &tid_st.shm->last_us;
	if (tid_st.pid != getpid())
		tid_draw_local_clock();
	return &tid_st.last_us;
}

/*
 * Issues the next microseconds value, at least floor: max(now, last + 1,
 * floor), published atomically in shared mode.  Returns 0, or -1 when the
 * 53-bit range is exhausted.
 */
static int
tid_advance(uint64_t floor, uint64_t *us)
{
	uint64_t	now, old, next, *last;

	now = (uint64_t)util_now_us();
	last = tid_last();
	old = __atomic_load_n(last, __ATOMIC_ACQUIRE);
	do {
		next = now > old ? now : old + 1;
		if (next < floor)
			next = floor;
		if (next > TID_US_MAX)
			return -1;
	} while (!__atomic_compare_exchange_n(last, &old, next, 0,
	    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
	*us = next;
	return 0;
}

int
tid_next(uint64_t *out)
{
	uint64_t	us;

	if (tid_advance(0, &us) == -1) {
		log_error("%s: TID timestamp range exhausted", __func__);
		return -1;
	}
	*out = tid_make(us, tid_st.clock);
	return 0;
}

int
tid_next_str(char out[TID_STR_LEN])
{
	uint64_t	v;

	if (tid_next(&v) == -1)
		return -1;
	tid_format(v, out);
	return 0;
}

int
tid_next_after(uint64_t prev, uint64_t *out)
{
	uint64_t	prev_us = tid_us(prev), now, us;

	if (prev_us >= TID_US_MAX)
		return -1;
	now = (uint64_t)util_now_us();
	if (prev_us + 1 > now + LIM_TID_SKEW_US &&
	    __atomic_load_n(tid_last(), __ATOMIC_ACQUIRE) < prev_us + 1) {
		/* far ahead of the clock: do not drag the shared state */
		*out = tid_make(prev_us + 1, tid_st.clock);
		return 0;
	}
	if (tid_advance(prev_us + 1, &us) == -1)
		return -1;
	*out = tid_make(us, tid_st.clock);
	return 0;
}
