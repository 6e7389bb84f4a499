/*
 * ratelimit.h: rate-limit counters shared by every pre-forked worker
 * (and every pds-fcgi on the same data directory), kept in a small
 * memory-mapped file, <PDS_DATA_DIRECTORY>/ratelimit.dat, so that a
 * limit counts requests whichever worker serves them and survives the
 * restart of a worker (or of the whole server).
 *
 * Semantics are those of the reference's limiter (rate-limiter-flexible's
 * RateLimiterMemory behind @atproto/xrpc-server; ../shared/spec/
 * reference-pds.md j): a fixed window per (bucket, key) that opens at the
 * first hit and lasts the bucket's duration (whole seconds); each hit adds
 * its cost even when over the limit; a hit is refused when the window's
 * total exceeds the limit; remaining = max(limit - consumed, 0).
 *
 * The file is a header plus LIM_RL_SLOTS slots of (16-byte keyed hash of
 * bucket and key, window end, consumed).  Keys are hashed with SHA-256
 * and a random salt kept in the header, so neither keys (IPs, handles)
 * nor their hashes without the salt are stored.  Lookups probe at most
 * LIM_RL_PROBE slots; an expired slot is reused; when all probed slots
 * are live the one closest to expiry is evicted (counted in the header):
 * a table flooded with more live keys than it holds forgets the oldest
 * windows first.  Every update happens under flock(2) on the file, which
 * the kernel releases when a worker dies.
 *
 * Error convention: 0 on success, -1 on failure (logged once here).
 */
#ifndef PDS_RATELIMIT_H
#define PDS_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

struct ratelimit;

/* The state of one (bucket, key) after a hit, as the reference's
 * RateLimiterRes / formatLimiterStatus report it. */
struct ratelimit_status {
	int64_t	limit;		/* points per window */
	int64_t	duration_s;	/* window, whole seconds */
	int64_t	consumed;	/* points in the window, this hit included */
	int64_t	remaining;	/* max(limit - consumed, 0) */
	int64_t	ms_before_next;	/* until the window ends, ms */
	int	exceeded;	/* consumed > limit */
};

/* One hit of one request on one bucket. */
struct ratelimit_hit {
	const char		*bucket;	/* name, hashed with the key */
	const char		*key;		/* (key, keylen): IP, DID */
	size_t			 keylen;
	int64_t			 limit;		/* points per window (>= 1) */
	int64_t			 duration_ms;	/* window (>= 1000) */
	int64_t			 cost;		/* points this hit (>= 1) */
	struct ratelimit_status	 st;		/* ratelimit_consume() sets */
};

/* Opens (creating it, 0600, when missing) the counter file at path and
 * maps it.  A file of another format or size is reset.  The handle
 * belongs to the calling process: open it after fork().  Returns 0 and
 * *out (release with ratelimit_close), or -1. */
int	ratelimit_open(const char *path, struct ratelimit **out);
/* Unmaps and closes; accepts NULL. */
void	ratelimit_close(struct ratelimit *);
/* Applies every hit in hits[0..n) at time now_ms (wall clock, ms) under
 * one lock, filling each hit's st.  Each hit needs limit >= 1,
 * duration_ms >= 1000 and cost >= 1.  Returns 0, or -1: bad hits are
 * refused before anything is counted, a hashing failure may leave the
 * earlier hits counted; callers then let the request through, as the
 * reference fails open. */
int	ratelimit_consume(struct ratelimit *, struct ratelimit_hit *hits,
	    size_t n, int64_t now_ms);
/* Slots evicted while still live since the file was created. */
uint64_t ratelimit_evictions(const struct ratelimit *);

#endif /* PDS_RATELIMIT_H */
