/*
 * repo.h: repository writes as whole commits, and whole-repository
 * checks.  atproto.com/specs/repository and specs/sync; reference-pds.md d
 * (#commit events, sync v1.1) and e; reference packages/repo/src/repo.ts
 * (formatInitCommit, formatCommit) and sync/consumer.ts (verifyRepo).
 *
 * repo_apply_writes() is what the actor store calls inside its write
 * transaction: given the block source of the repository and its current
 * commit, it applies up to LIM_WRITES_PER_COMMIT creates, updates and
 * deletes to the MST, signs the next commit and returns everything the
 * caller stores and sequences:
 *   - new_blocks: blocks to insert into repo_block (new MST nodes, records
 *     whose CIDs entered the tree, the commit);
 *   - removed: CIDs to delete from repo_block (MST nodes that left the
 *     tree, record CIDs that left it, the previous commit).  The actor
 *     store must keep a record CID another record still uses (the
 *     reference's getDuplicateRecordCids);
 *   - ops: per write, in write order, {action, path, cid, prev} for the
 *     #commit event and the record table;
 *   - relevant: the covering proof of every written key in the new tree
 *     plus the new records and the commit, so that new_blocks + relevant
 *     is the #commit event's CAR (repo_commit_car);
 *   - cid, rev, since, data and prev_data for repo_root and the event.
 *
 * Heap memory: struct repo_commit owns its lists; repo_commit_fini()
 * releases them.  One error convention: enum repo_err.
 */
#ifndef PDS_REPO_H
#define PDS_REPO_H

#include <stddef.h>
#include <stdint.h>

#include "blockmap.h"
#include "car.h"
#include "commit.h"
#include "keys.h"
#include "mst.h"

enum repo_action {
	REPO_CREATE,
	REPO_UPDATE,
	REPO_DELETE,
	REPO_ACTION__MAX
};

enum repo_err {
	REPO_OK,
	REPO_ERR_TOO_MANY,	/* more than LIM_WRITES_PER_COMMIT writes */
	REPO_ERR_KEY,		/* a write's path is not a valid MST key */
	REPO_ERR_EXISTS,	/* create of a record that exists */
	REPO_ERR_NOTFOUND,	/* update or delete of a missing record */
	REPO_ERR_RECORD,	/* record block missing or too large */
	REPO_ERR_COMMIT,	/* head commit missing, malformed, other DID */
	REPO_ERR_SIG,		/* commit signature does not verify */
	REPO_ERR_MST,		/* tree node missing or corrupt */
	REPO_ERR_CAR,		/* CAR malformed (see car_err) */
	REPO_ERR_SIGN,		/* signing failed */
	REPO_ERR_SOURCE,	/* the block source failed */
	REPO_ERR_LIMIT,		/* a size limit was reached */
	REPO_ERR_NOMEM,
	REPO_ERR__MAX
};

/* Static English text for an error. */
const char	*repo_err_str(enum repo_err);

/* One write.  key is "<collection>/<rkey>" (validated here as an MST
 * key; collection and rkey syntax are the caller's); rec is the record's
 * DAG-CBOR block for creates and updates (its CID is computed here). */
struct repo_write {
	enum repo_action	 action;
	const char		*key;
	size_t			 klen;
	const uint8_t		*rec;
	size_t			 reclen;
};

/* One op of the commit (#commit ops[]): cid is the new record CID (not
 * for deletes); prev the CID it replaced (updates and deletes). */
struct repo_op {
	enum repo_action	 action;
	const char		*key;	/* the write's key (caller's memory) */
	size_t			 klen;
	struct cid		 cid;
	int			 has_prev;
	struct cid		 prev;
};

struct repo_commit {
	struct cid	 cid;			/* the new commit */
	struct commit	 commit;		/* its contents (signed) */
	char		 rev[TID_STR_LEN];
	char		 since[TID_STR_LEN];	/* previous rev; "" if none */
	struct cid	 data;			/* new MST root */
	int		 has_prev_data;		/* 0 for a new repository */
	struct cid	 prev_data;		/* previous MST root */
	int		 has_prev_commit;
	struct cid	 prev_commit;		/* previous commit CID */
	struct repo_op	*ops;			/* one per write, in order */
	size_t		 nops;
	struct blockmap	 new_blocks;
	struct blockmap	 relevant;
	struct cid	*removed;
	size_t		 nremoved;
};

/* Sets up an empty result; repo_commit_fini() releases it. */
void		repo_commit_init(struct repo_commit *c);
/* Releases a result; accepts NULL; c may be reused after _init. */
void		repo_commit_fini(struct repo_commit *c);

/*
 * Applies n writes (in order) to the repository whose current commit
 * block is head (read through src along with the MST nodes) and fills
 * out (freshly initialised) with the next commit, signed with k, whose rev
 * is commit_next_rev(head's rev).  did must equal the head commit's did.
 * src is not written to.  Errors leave out partly filled: fini it.
 */
enum repo_err	repo_apply_writes(const struct mst_source *src,
		    const struct cid *head, const char *did, size_t didlen,
		    const struct key *k, const struct repo_write *w, size_t n,
		    struct repo_commit *out);
/* The genesis commit of a new repository (createAccount, importRepo
 * rebuilds): an MST of n creates (others are refused with
 * REPO_ERR_RECORD), no since, no prev_data; relevant equals new_blocks.
 * src is used only for lookups of nodes it created itself (none). */
enum repo_err	repo_create(const struct mst_source *src, const char *did,
		    size_t didlen, const struct key *k,
		    const struct repo_write *w, size_t n,
		    struct repo_commit *out);
/* Writes the #commit event's CAR: root the commit, then new_blocks, then
 * the relevant blocks not among them.  Returns CAR_OK or the writer's
 * error. */
enum car_err	repo_commit_car(const struct repo_commit *c,
		    struct car_writer *w);

/* What repo_verify_car() found. */
struct repo_verified {
	struct cid	 root;		/* commit CID (the CAR's root) */
	struct commit	 commit;
	uint64_t	 records;	/* leaves checked */
	uint64_t	 nodes;		/* MST nodes checked */
	uint64_t	 blocks;	/* blocks in the CAR */
};

/*
 * Checks a whole repository CAR (getRepo output, importRepo input): one
 * root, every block's hash (car.h), a v3 commit for did (when did is not
 * NULL) whose signature verifies with didkey (when not NULL), an MST
 * whose every node is present and valid, and a block for every record
 * CID.  blocks (caller-initialised) receives every block of the CAR.
 * Returns REPO_OK, or the first problem (*carerr set for REPO_ERR_CAR).
 */
enum repo_err	repo_verify_car(const uint8_t *p, size_t len,
		    const char *did, const char *didkey,
		    struct blockmap *blocks, struct repo_verified *out,
		    enum car_err *carerr);

#endif
