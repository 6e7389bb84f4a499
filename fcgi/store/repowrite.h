/*
 * repowrite.h: the repository write pipeline of createRecord, putRecord,
 * deleteRecord and applyWrites (reference actor-store/repo/transactor.ts
 * processWrites + formatCommit, record/transactor.ts indexRecord,
 * blob/transactor.ts processWriteBlobs, sequencer formatSeqCommit;
 * ../shared/spec/reference-pds.md d and e).
 *
 * One call = one commit, all or nothing:
 *   lock the repository (actorstore_lock) and BEGIN IMMEDIATE;
 *   sequence any #commit left pending by an earlier write (see below);
 *   check swapCommit and each swapRecord (InvalidSwap);
 *   createRecord: add deletes of records with the same backlink;
 *   apply the writes to the MST and sign the commit (repo.h);
 *   refuse an event CAR over 2 MB ("Too many writes. Max event size: 2MB");
 *   store new blocks, delete removed ones no record still uses;
 *   index records and backlinks; drop blobs no record references any
 *   more; check referenced blobs and make temp ones permanent; write
 *   record_blob rows; update repo_root;
 *   store the #commit event body in seq_pending;
 *   COMMIT; append the event to sequencer.sqlite (seqdb_append(), which
 *   wakes the firehose daemon); unlock;
 *   then, best effort: account.sqlite repo_root, blob file deletion.
 *
 * Why seq_pending: sequencer.sqlite and store.sqlite are two WAL
 * databases, which SQLite cannot commit atomically together.  The event
 * is therefore committed inside the repository's own transaction, and
 * copied to repo_seq after.  If the process dies in between, the row
 * survives: the next write to that repository, or repowrite_recover()
 * (run once by every new worker, driven by marker files
 * <actors>/seq_pending/<did> that exist while a write is in flight),
 * appends it; several pending events go in as one sequencer
 * transaction.  A copy is never appended twice: appends for one
 * repository happen only under its write lock, in rev order, so an event
 * whose rev is not above the repository's last appended #commit rev is
 * already in repo_seq.  A pending row is deleted once its event is
 * appended (or by the next write, when the process died in between).
 *
 * Error convention: repowrite_apply() returns 0 or -1 with struct
 * rw_error filled (an HTTP status, an XRPC error name, a message); 500s
 * are logged here.
 */
#ifndef PDS_REPOWRITE_H
#define PDS_REPOWRITE_H

#include <stddef.h>
#include <stdint.h>

#include "actorstore.h"
#include "arena.h"
#include "pds_limits.h"
#include "repo.h"
#include "storectx.h"

/* A blob a record references (prepare.h fills it). */
struct rw_blob {
	struct cid		 cid;
	const char		*mime;		/* the ref's mimeType */
	size_t			 mimelen;	/* its bytes (a NUL may be
						 * one of them) */
	int64_t			 size;		/* the ref's size */
	int64_t			 max_size;	/* lexicon maxSize, 0 = none */
	const char *const	*accept;	/* lexicon accept, or NULL */
	size_t			 naccept;
};

/* swapRecord of a write */
enum rw_swap {
	RW_SWAP_NONE,		/* not given: no check */
	RW_SWAP_NULL,		/* null: the record must not exist */
	RW_SWAP_CID,		/* the record must be at swap_cid */
};

/* One prepared write.  Strings are NUL-terminated and owned by the
 * caller (an arena); they must outlive repowrite_apply(). */
struct rw_write {
	enum repo_action	 action;
	const char		*collection;
	const char		*rkey;
	const char		*key;		/* "<collection>/<rkey>" */
	const char		*uri;		/* "at://<did>/<key>" */
	const uint8_t		*rec;		/* DAG-CBOR (create, update) */
	size_t			 reclen;
	struct cid		 cid;		/* CID of rec */
	enum rw_swap		 swap;
	struct cid		 swap_cid;
	struct rw_blob		*blobs;
	size_t			 nblobs;
	const char		*bl_path;	/* backlink "subject" or
						 * "subject.uri", or NULL */
	const char		*bl_link;
	const char		*validation;	/* "valid", "unknown", NULL */
};

/* repowrite_apply() flags */
#define RW_F_BACKLINK_DEDUP	0x01	/* createRecord with validation:
					 * delete records of the same
					 * collection with w[0]'s backlink */
#define RW_F_PUT		0x02	/* putRecord: w[0] becomes a create
					 * or an update by presence; same CID
					 * as stored: no commit */
#define RW_F_DELETE_PRESENT	0x04	/* deleteRecord: absent record, no
					 * commit */

struct rw_result {
	int		noop;			/* nothing was committed */
	struct cid	cid;			/* the new commit */
	char		rev[TID_STR_LEN];
};

struct rw_error {
	int		 status;		/* 0 ok, else an HTTP status */
	const char	*name;			/* XRPC error name (static);
						 * NULL: the status's own */
	char		 msg[LIM_ERR_MSG];
};

/* Applies w[0..n) (n <= LIM_WRITES_PER_COMMIT) to the repository of s as
 * one commit, then sequences it; see above.  swap_commit may be NULL.
 * a holds per-call allocations (backlink deletions).  With RW_F_PUT,
 * w[0].action is set to the action taken.  Returns 0 and *out, or -1
 * and *err (nothing changed then, except an event sequenced from an
 * earlier write). */
int	repowrite_apply(struct storectx *ctx, struct actorstore *s,
	    struct arena *a, struct rw_write *w, size_t n,
	    const struct cid *swap_commit, unsigned flags,
	    struct rw_result *out, struct rw_error *err);

/*
 * importRepo (reference api/com/atproto/repo/importRepo.ts): replaces the
 * repository of s with the one in a CAR read through rd (bounded memory:
 * one block at a time, straight into repo_block), in one transaction
 * under the write lock.  The CAR must have one root, a v3 commit of s's
 * DID whose MST is complete (record blocks may be missing: ensureLeaves
 * false); records, backlinks and record_blob rows are rebuilt (blobs not
 * uploaded yet show in listMissingBlobs); blocks the tree does not reach
 * are dropped; a new commit over the same MST root, with a new rev, is
 * signed with the account's key.  Nothing is sequenced (the reference
 * sequences #sync at activation).  Returns 0 and *out, or -1 and *err.
 */
int	repowrite_import(struct storectx *ctx, struct actorstore *s,
	    car_read_fn rd, void *rdarg, struct rw_result *out,
	    struct rw_error *err);

/* Sequences the events left pending by processes that died, for every
 * marker under <actors>/seq_pending/.  Returns the number of
 * repositories recovered, or -1. */
int	repowrite_recover(struct storectx *ctx);

#endif /* PDS_REPOWRITE_H */
