/*
 * actorread.h: the reads of one actor store that the com.atproto.repo.*
 * and com.atproto.sync.* handlers serve (reference actor-store
 * record/reader.ts, blob/reader.ts, repo/sql-repo-reader.ts; the queries
 * and orders are the reference's).
 *
 * Rows are handed to callbacks with pointers valid only during the call;
 * every iteration runs inside one read transaction of its own, so a
 * concurrent write is seen entirely or not at all.  Error convention:
 * lookups 1 / 0 / -1, iterations the number of rows or -1; callbacks
 * return 0 to go on, 1 to stop, -1 to fail.
 */
#ifndef PDS_ACTORREAD_H
#define PDS_ACTORREAD_H

#include <stddef.h>
#include <stdint.h>

#include "actorstore.h"
#include "buf.h"
#include "cid.h"

/* A record row joined with its block. */
struct ar_record {
	const char	*uri;
	const char	*cid;		/* CID string as stored */
	const uint8_t	*content;	/* DAG-CBOR */
	size_t		 len;
	int		 takendown;	/* takedownRef set */
};
typedef int	(*ar_record_fn)(void *arg, const struct ar_record *r);

/* getRecord(uri, cid): the record (and its block) at uri, and at cid when
 * cid is not NULL; soft-deleted ones too (r->takendown tells).  Calls fn
 * once.  Returns 1, 0 when absent, -1. */
int	ar_record_get(struct actorstore *s, const char *uri, const char *cid,
	    ar_record_fn fn, void *arg);
/* listRecordsForCollection(): records of collection not taken down,
 * rkey descending (ascending with reverse), at most limit, starting after
 * cursor (an rkey) when it is not NULL.  Returns the count or -1. */
long	ar_records_list(struct actorstore *s, const char *collection,
	    long limit, const char *cursor, int reverse, ar_record_fn fn,
	    void *arg);
/* listCollections(): each distinct collection, in order. */
typedef int	(*ar_str_fn)(void *arg, const char *s);
long	ar_collections(struct actorstore *s, ar_str_fn fn, void *arg);

/* A blob row. */
struct ar_blob {
	const char	*cid;
	const char	*mime;
	int64_t		 size;
	int		 temp;		/* tempKey set (not yet referenced) */
	int		 takendown;
};
typedef int	(*ar_blob_fn)(void *arg, const struct ar_blob *b);
/* The blob row of cid.  Returns 1 (fn called), 0, -1. */
int	ar_blob_get(struct actorstore *s, const char *cid, ar_blob_fn fn,
	    void *arg);
/* listBlobs(): distinct blob CIDs referenced by records (of records with
 * repoRev > since when since is not NULL), ascending, after cursor, at
 * most limit. */
long	ar_blobs_list(struct actorstore *s, const char *since,
	    const char *cursor, long limit, ar_str_fn fn, void *arg);
/* listMissingBlobs(): referenced blob CIDs without a blob row, with one
 * referencing record, ascending, after cursor, at most limit. */
typedef int	(*ar_missing_fn)(void *arg, const char *cid, const char *uri);
long	ar_blobs_missing(struct actorstore *s, const char *cursor, long limit,
	    ar_missing_fn fn, void *arg);

/* Upserts the blob row of a finished upload (trackUntetheredBlob):
 * a new row with tempKey, or tempKey refreshed on a row that still has
 * one.  Returns 0, 1 when the blob is taken down ("cannot re-upload"),
 * or -1. */
int	ar_blob_track(struct actorstore *s, const struct cid *cid,
	    const char *mime, uint64_t size, const char *temp_key);

/* Blocks, for getRepo: root_fn gets the head first (to write the CAR
 * header), then block_fn each block's CID and bytes. */
typedef int	(*ar_root_fn)(void *arg, const struct actorstore_root *root);
typedef int	(*ar_block_fn)(void *arg, const struct cid *c,
		    const uint8_t *p, size_t len);
/* Reads the root, then every repo_block row (repoRev > since when since
 * is not NULL) ordered by repoRev, cid descending (the reference's
 * getCarStream), all in one read transaction, so the blocks are those
 * of that root.  Returns the number of blocks, -2 when the repository
 * has no root (no callback called), or -1. */
long	ar_blocks_stream(struct actorstore *s, const char *since,
	    ar_root_fn root_fn, ar_block_fn block_fn, void *arg);

#endif /* PDS_ACTORREAD_H */
