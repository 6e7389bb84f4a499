/*
 * ratelimit.c: the shared rate-limit counter file (see ratelimit.h).
 * Owns the file's layout, its locking and the fixed-window arithmetic;
 * which limits apply to which request is fcgi/xrpc/ratelimits.c's.
 */
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "log.h"
#include "pds_limits.h"
#include "ratelimit.h"
#include "util.h"

#define RL_MAGIC	"PDSRL001"
#define RL_KEY_BYTES	16

/* 64 bytes, then the slots. */
struct rl_header {
	char		magic[8];
	uint32_t	slots;
	uint32_t	slot_size;
	uint8_t		salt[16];
	uint64_t	evictions;
	uint8_t		pad[24];
};

struct rl_slot {
	uint8_t		key[RL_KEY_BYTES];	/* keyed hash; zero: unused */
	int64_t		expires_ms;		/* window end; 0: never used */
	int64_t		consumed;		/* points in the window */
};

struct ratelimit {
	int			 fd;
	size_t			 size;
	struct rl_header	*hdr;		/* the mapping */
	struct rl_slot		*slot;
	char			*path;
};

_Static_assert(sizeof(struct rl_header) == 64, "header layout");
_Static_assert(sizeof(struct rl_slot) == 32, "slot layout");
_Static_assert((LIM_RL_SLOTS & (LIM_RL_SLOTS - 1)) == 0,
    "LIM_RL_SLOTS must be a power of two");

static int
rl_lock(struct ratelimit *rl, int op)
{
	while (flock(rl->fd, op) == -1) {
		if (errno != EINTR) {
			log_error("%s: flock %s: %s", __func__, rl->path,
			    strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* A fresh header (new salt) over zeroed slots; called under the lock. */
static int
rl_format(struct ratelimit *rl)
{
	struct rl_header	h;

	memset(&h, 0, sizeof(h));
	memcpy(h.magic, RL_MAGIC, sizeof(h.magic));
	h.slots = LIM_RL_SLOTS;
	h.slot_size = sizeof(struct rl_slot);
	if (util_random(h.salt, sizeof(h.salt)) == -1 ||
	    ftruncate(rl->fd, 0) == -1 ||
	    ftruncate(rl->fd, (off_t)rl->size) == -1 ||
	    pwrite(rl->fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
		log_error("%s: %s: %s", __func__, rl->path, strerror(errno));
		return -1;
	}
	util_wipe(&h, sizeof(h));
	return 0;
}

/* Checks the file's header and size, formatting it when they are not
 * ours; called under the lock. */
static int
rl_check(struct ratelimit *rl)
{
	struct rl_header	h;
	struct stat		sb;
	ssize_t			n;

	if (fstat(rl->fd, &sb) == -1) {
		log_error("%s: %s: %s", __func__, rl->path, strerror(errno));
		return -1;
	}
	n = pread(rl->fd, &h, sizeof(h), 0);
	if ((size_t)sb.st_size == rl->size && n == (ssize_t)sizeof(h) &&
	    memcmp(h.magic, RL_MAGIC, sizeof(h.magic)) == 0 &&
	    h.slots == LIM_RL_SLOTS && h.slot_size == sizeof(struct rl_slot))
		return 0;
	if (sb.st_size != 0)
		log_warn("%s: %s: not a counter file of this version; "
		    "starting it afresh", __func__, rl->path);
	return rl_format(rl);
}

int
ratelimit_open(const char *path, struct ratelimit **out)
{
	struct ratelimit	*rl;
	void			*m;
	int			 ok;

	*out = NULL;
	if ((rl = calloc(1, sizeof(*rl))) == NULL ||
	    (rl->path = strdup(path)) == NULL) {
		free(rl);
		log_error("%s: out of memory", __func__);
		return -1;
	}
	rl->size = sizeof(struct rl_header) +
	    (size_t)LIM_RL_SLOTS * sizeof(struct rl_slot);
	if ((rl->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600)) == -1) {
		log_error("%s: %s: %s", __func__, path, strerror(errno));
		free(rl->path);
		free(rl);
		return -1;
	}
	if (rl_lock(rl, LOCK_EX) == -1) {
		ratelimit_close(rl);
		return -1;
	}
	ok = rl_check(rl) == 0;
	(void)rl_lock(rl, LOCK_UN);
	if (!ok || (m = mmap(NULL, rl->size, PROT_READ | PROT_WRITE,
	    MAP_SHARED, rl->fd, 0)) == MAP_FAILED) {
		if (ok)
			log_error("%s: mmap %s: %s", __func__, path,
			    strerror(errno));
		ratelimit_close(rl);
		return -1;
	}
	rl->hdr = m;
	rl->slot = (struct rl_slot *)((char *)m + sizeof(struct rl_header));
	*out = rl;
	return 0;
}

void
ratelimit_close(struct ratelimit *rl)
{
	if (rl == NULL)
		return;
	if (rl->hdr != NULL)
		(void)munmap(rl->hdr, rl->size);
	if (rl->fd != -1)
		(void)close(rl->fd);
	free(rl->path);
	free(rl);
}

uint64_t
ratelimit_evictions(const struct ratelimit *rl)
{
	return rl != NULL && rl->hdr != NULL ? rl->hdr->evictions : 0;
}

/* SHA-256(salt || bucket || 0 || key): 16 bytes of key, then the probe
 * start from the next 8. */
static int
rl_hash(const struct ratelimit *rl, const struct ratelimit_hit *h,
    uint8_t key[RL_KEY_BYTES], size_t *idx)
{
	EVP_MD_CTX	*md;
	uint8_t		 d[32];
	unsigned int	 dlen = 0;
	uint64_t	 v = 0;
	size_t		 i;
	int		 ok;

	if ((md = EVP_MD_CTX_new()) == NULL)
		return -1;
	ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(md, rl->hdr->salt, sizeof(rl->hdr->salt)) == 1 &&
	    EVP_DigestUpdate(md, h->bucket, strlen(h->bucket) + 1) == 1 &&
	    EVP_DigestUpdate(md, h->key, h->keylen) == 1 &&
	    EVP_DigestFinal_ex(md, d, &dlen) == 1 && dlen == sizeof(d);
	EVP_MD_CTX_free(md);
	if (!ok)
		return -1;
	memcpy(key, d, RL_KEY_BYTES);
	for (i = 0; i < 8; i++)
		v = v << 8 | d[RL_KEY_BYTES + i];
	*idx = (size_t)(v & (LIM_RL_SLOTS - 1));
	return 0;
}

/* The slot of key: its own (live or expired), else the first reusable
 * one probed, else the live one closest to expiry (*fresh = 1 for the
 * last two: the caller opens a new window there). */
static struct rl_slot *
rl_find(struct ratelimit *rl, const uint8_t key[RL_KEY_BYTES], size_t idx,
    int64_t now_ms, int *fresh)
{
	struct rl_slot	*s, *cand = NULL, *oldest = NULL;
	size_t		 i;

	*fresh = 1;
	for (i = 0; i < LIM_RL_PROBE; i++) {
		s = &rl->slot[(idx + i) & (LIM_RL_SLOTS - 1)];
		if (s->expires_ms == 0) {	/* never used: key is absent */
			if (cand == NULL)
				cand = s;
			break;
		}
		if (memcmp(s->key, key, RL_KEY_BYTES) == 0) {
			*fresh = s->expires_ms <= now_ms;
			return s;
		}
		if (s->expires_ms <= now_ms) {
			if (cand == NULL)
				cand = s;
		} else if (oldest == NULL || s->expires_ms < oldest->expires_ms)
			oldest = s;
	}
	if (cand != NULL)
		return cand;
	rl->hdr->evictions++;
	return oldest;
}

/* One hit, under the lock. */
static int
rl_hit(struct ratelimit *rl, struct ratelimit_hit *h, int64_t now_ms)
{
	struct rl_slot	*s;
	uint8_t		 key[RL_KEY_BYTES];
	size_t		 idx;
	int64_t		 window;
	int		 fresh;

	if (rl_hash(rl, h, key, &idx) == -1)
		return -1;
	/* rate-limiter-flexible: duration = floor(durationMs / 1000) s */
	window = h->duration_ms / 1000 * 1000;
	s = rl_find(rl, key, idx, now_ms, &fresh);
	if (fresh) {
		memcpy(s->key, key, RL_KEY_BYTES);
		s->expires_ms = now_ms + window;
		s->consumed = 0;
	}
	s->consumed = s->consumed > INT64_MAX - h->cost ? INT64_MAX :
	    s->consumed + h->cost;
	h->st.limit = h->limit;
	h->st.duration_s = window / 1000;
	h->st.consumed = s->consumed;
	h->st.remaining = h->limit > s->consumed ? h->limit - s->consumed : 0;
	h->st.ms_before_next = s->expires_ms - now_ms;
	h->st.exceeded = s->consumed > h->limit;
	return 0;
}

int
ratelimit_consume(struct ratelimit *rl, struct ratelimit_hit *hits, size_t n,
    int64_t now_ms)
{
	size_t	i;
	int	rc = 0;

	for (i = 0; i < n; i++)
		if (hits[i].limit < 1 || hits[i].duration_ms < 1000 ||
		    hits[i].cost < 1 || hits[i].bucket == NULL ||
		    (hits[i].key == NULL && hits[i].keylen > 0)) {
			log_error("%s: bad hit on bucket %s", __func__,
			    hits[i].bucket != NULL ? hits[i].bucket : "?");
			return -1;
		}
	if (n == 0)
		return 0;
	if (rl_lock(rl, LOCK_EX) == -1)
		return -1;
	for (i = 0; i < n && rc == 0; i++)
		if (rl_hit(rl, &hits[i], now_ms) == -1) {
			log_error("%s: bucket %s: hashing failed", __func__,
			    hits[i].bucket);
			rc = -1;
		}
	(void)rl_lock(rl, LOCK_UN);
	return rc;
}
