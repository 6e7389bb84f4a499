/*
 * seqevt.h: the bodies of the repository events the sequencer stores in
 * repo_seq.event (../shared/spec/reference-pds.md d; reference
 * sequencer/events.ts formatSeqCommit, formatSeqSyncEvt): canonical
 * DAG-CBOR maps without seq, time or $type.
 *
 *   #commit  {ops, rev, repo, blobs: [], since, blocks, commit,
 *             rebase: false, tooBig: false, prevData?}
 *            ops: [{cid, path, prev?, action}], cid null for deletes,
 *            prev whenever a record was replaced or deleted; since null
 *            and prevData left out for a genesis commit; blocks a CAR
 *            (root the commit) of the new blocks and the covering proofs.
 *   #sync    {did, rev, blocks}: a CAR holding only the commit block.
 *
 * Pure encoders over struct repo_commit (repo.h).  Error convention:
 * 0 on success, -1 on failure (buffer limit or ENOMEM).
 */
#ifndef PDS_SEQEVT_H
#define PDS_SEQEVT_H

#include <stddef.h>

#include "buf.h"
#include "repo.h"

/* Appends the #commit event's CAR (repo_commit_car) to car.  Returns 0,
 * or -1 when car's max refused the bytes (the caller sizes car with
 * LIM_COMMIT_EVENT_BYTES to enforce "Max event size: 2MB"). */
int	seqevt_commit_car(const struct repo_commit *c, struct buf *car);
/* Appends the #commit body for did's commit c, whose CAR (from
 * seqevt_commit_car) is (car, carlen).  Returns 0 or -1. */
int	seqevt_commit_encode(const char *did, const struct repo_commit *c,
	    const void *car, size_t carlen, struct buf *out);
/* Appends the #sync body: did, rev and a CAR whose root is commit and
 * whose one block is the signed commit block (blk, blklen). */
int	seqevt_sync_encode(const char *did, const char *rev,
	    const struct cid *commit, const void *blk, size_t blklen,
	    struct buf *out);

#endif /* PDS_SEQEVT_H */
