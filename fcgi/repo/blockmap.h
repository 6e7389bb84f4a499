/*
 * blockmap.h: an in-memory set of blocks keyed by CID, in insertion order
 * (the reference's BlockMap, packages/repo/src/block-map.ts).
 *
 * Used to collect a commit's new and relevant blocks, to hold the blocks
 * of a CAR being read, and as the in-memory block source of tests
 * (blockmap_source_get fits struct mst_source).  Block bytes live in one
 * heap buffer with a hard maximum; lookups go through an open-addressing
 * index on the CID digest.  Heap memory; blockmap_fini() releases it.
 */
#ifndef PDS_BLOCKMAP_H
#define PDS_BLOCKMAP_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "cid.h"

struct blockmap_ent {
	struct cid	cid;
	size_t		off;		/* into data */
	size_t		len;
	int		dead;		/* removed; kept for insertion order */
};

struct blockmap {
	struct blockmap_ent	*ents;	/* insertion order */
	size_t			 n;	/* entries used, dead included */
	size_t			 cap;
	size_t			 live;	/* entries not dead */
	uint32_t		*slots;	/* index: entry number + 1, 0 = free */
	size_t			 nslots;/* power of two */
	struct buf		 data;	/* every block's bytes, back to back */
	uint64_t		 bytes;	/* bytes of the live blocks */
};

/* Sets up an empty map whose block bytes may total max bytes (0 means
 * LIM_RESPONSE_BUF).  Allocates nothing yet. */
void	blockmap_init(struct blockmap *bm, size_t max);
/* Releases everything; accepts NULL; bm may be reused after _init. */
void	blockmap_fini(struct blockmap *bm);
/* Empties bm, keeping its storage. */
void	blockmap_reset(struct blockmap *bm);
/* Adds a copy of (p, len) under c (the caller vouches for the hash).
 * Returns 1 when added, 0 when c was already present (unchanged), -1 on
 * limit or ENOMEM (bm unchanged). */
int	blockmap_put(struct blockmap *bm, const struct cid *c, const void *p,
	    size_t len);
/* Computes the CID of (p, len) with codec, adds the block and stores the
 * CID in *out (may be NULL).  Returns as blockmap_put(). */
int	blockmap_put_data(struct blockmap *bm, uint8_t codec, const void *p,
	    size_t len, struct cid *out);
/* Copies every live block of src into bm.  Returns 0 or -1. */
int	blockmap_put_all(struct blockmap *bm, const struct blockmap *src);
/* Looks c up.  Returns a pointer into bm (valid until the next put, reset
 * or fini) and sets *len, or NULL when absent. */
const uint8_t *blockmap_get(const struct blockmap *bm, const struct cid *c,
	    size_t *len);
/* Returns 1 when c is present, else 0. */
int	blockmap_has(const struct blockmap *bm, const struct cid *c);
/* Removes c.  Returns 1 when it was present, else 0. */
int	blockmap_remove(struct blockmap *bm, const struct cid *c);
/* Number of live blocks. */
size_t	blockmap_count(const struct blockmap *bm);
/* Iterates in insertion order: *i starts at 0; returns 1 and sets *c and
 * (*p, *len) (pointers into bm, as blockmap_get) or 0 at the end. */
int	blockmap_next(const struct blockmap *bm, size_t *i,
	    const struct cid **c, const uint8_t **p, size_t *len);
/* A block source over a struct blockmap given as arg (struct mst_source
 * and friends): copies block c into out after resetting it.  Returns 0,
 * 1 when absent, -1 when out refuses the bytes. */
int	blockmap_source_get(void *arg, const struct cid *c, struct buf *out);

#endif
