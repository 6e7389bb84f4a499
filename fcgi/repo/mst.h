/*
 * mst.h: the Merkle Search Tree of an atproto repository.
 * atproto.com/specs/repository ("Merkle Search Tree"); reference-pds.md
 * e "MST"; reference packages/repo/src/mst/{mst,util,diff}.ts.
 *
 * A node is the DAG-CBOR map {e: [{k, p, t, v}...], l} (keys in canonical
 * order): l the CID of the left-most subtree or null; for each entry p the
 * bytes shared with the previous key of the node (maximal), k the rest of
 * the key (bytes), v the record CID, t the CID of the subtree right of the
 * entry or null.  Keys sit on the layer given by mst_key_height()
 * (mstkey.h, 2 bits per layer); the root is on the highest layer of any
 * key; a gap between two keys of a layer-L node that holds keys gets a
 * layer L-1 node (which may hold no key of its own, only l); the empty
 * tree is the single node {e: [], l: null}.
 *
 * The tree is loaded lazily from a block source (the actor store backs it
 * with repo_block; tests with a struct blockmap) and changed in place:
 * each write touches only the nodes on its key's path (and, for a split
 * or merge, the neighbours' paths); mst_root() then encodes every changed
 * node once and yields the root CID.  Nodes read from the source are
 * checked: canonical bytes (re-encoding must give them back), hash equal
 * to the CID, valid keys in strictly increasing order, every key on the
 * node's layer, no subtree under layer 0.  Ordering between a subtree
 * and its parent's keys is not re-checked.
 *
 * Memory: the tree and its nodes are on the heap; mst_free() releases
 * everything.  One error convention: enum mst_err.
 */
#ifndef PDS_MST_H
#define PDS_MST_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "blockmap.h"
#include "buf.h"
#include "cid.h"

/* Highest layer a key can have: 256 bits of SHA-256 / 2 bits per layer. */
#define MST_MAX_LAYER	128

enum mst_err {
	MST_OK,
	MST_ERR_KEY,		/* not a valid MST key */
	MST_ERR_EXISTS,		/* add of a key already present */
	MST_ERR_NOTFOUND,	/* get/update/delete of an absent key */
	MST_ERR_MISSING,	/* the block source lacks a node */
	MST_ERR_CORRUPT,	/* a node block is malformed or inconsistent */
	MST_ERR_SOURCE,		/* the block source failed */
	MST_ERR_LIMIT,		/* an output buffer refused more bytes */
	MST_ERR_NOMEM,
	MST_ERR__MAX
};

/* Static English text for an error. */
const char	*mst_err_str(enum mst_err);

/*
 * Where nodes come from: get() copies the bytes of block c into out
 * (resetting it first) and returns 0, 1 when the block is absent, -1 on
 * failure.  The tree calls it only while an operation runs.
 */
struct mst_source {
	int	(*get)(void *arg, const struct cid *c, struct buf *out);
	void	*arg;
};

struct mst;

/* Makes an empty tree over src (copied; src->arg must outlive the tree).
 * Returns MST_OK and *out (caller frees with mst_free) or MST_ERR_NOMEM. */
enum mst_err	mst_new(const struct mst_source *src, struct mst **out);
/* Makes a tree whose root is the node root, read lazily from src (nothing
 * is read yet).  Returns as mst_new(). */
enum mst_err	mst_load(const struct mst_source *src, const struct cid *root,
		    struct mst **out);
/* Releases the tree and every node; accepts NULL. */
void		mst_free(struct mst *t);

/* Looks key up: MST_OK and *val, MST_ERR_NOTFOUND, or a load error. */
enum mst_err	mst_get(struct mst *t, const char *key, size_t klen,
		    struct cid *val);
/* Adds key -> val; MST_ERR_EXISTS when present (tree unchanged),
 * MST_ERR_KEY when key is not a valid MST key (mstkey.h). */
enum mst_err	mst_add(struct mst *t, const char *key, size_t klen,
		    const struct cid *val);
/* Replaces key's value; the old one goes to *prev (may be NULL).
 * MST_ERR_NOTFOUND when absent. */
enum mst_err	mst_update(struct mst *t, const char *key, size_t klen,
		    const struct cid *val, struct cid *prev);
/* Removes key; its value goes to *prev (may be NULL).  MST_ERR_NOTFOUND
 * when absent (tree unchanged). */
enum mst_err	mst_delete(struct mst *t, const char *key, size_t klen,
		    struct cid *prev);
/* Encodes the nodes changed since the last call (each once) and sets
 * *root to the root node's CID. */
enum mst_err	mst_root(struct mst *t, struct cid *root);

/* Counters since mst_new/mst_load, for tests and benchmarks. */
struct mst_stats {
	uint64_t	loaded;		/* nodes read from the source */
	uint64_t	encoded;	/* nodes encoded by mst_root() */
};
void		mst_stats_get(const struct mst *t, struct mst_stats *st);

/* ---- listing ----------------------------------------------------------- */

/* Selects keys for mst_list(): those starting with prefix (all when
 * prefixlen is 0), greater than after (when set) and less than before
 * (when set), visited in ascending order, or descending with reverse. */
struct mst_range {
	const char	*prefix;
	size_t		 prefixlen;
	const char	*after;		/* exclusive lower bound or NULL */
	size_t		 afterlen;
	const char	*before;	/* exclusive upper bound or NULL */
	size_t		 beforelen;
	int		 reverse;
};

/* Called per key; key is valid only during the call.  Returns 0 to go on,
 * 1 to stop (mst_list returns MST_OK), -1 to abort (MST_ERR_SOURCE). */
typedef int	(*mst_list_fn)(void *arg, const char *key, size_t klen,
		    const struct cid *val);

/* Visits the keys r selects (r NULL: all), loading only the nodes whose
 * key span meets the range. */
enum mst_err	mst_list(struct mst *t, const struct mst_range *r,
		    mst_list_fn fn, void *arg);

/* Visits every node block of the tree (root first, then depth-first) and
 * calls fn with its CID and bytes (valid during the call), for exports.
 * fn returns 0 to go on or -1 to abort (MST_ERR_SOURCE). */
typedef int	(*mst_block_fn)(void *arg, const struct cid *c,
		    const uint8_t *p, size_t len);
enum mst_err	mst_walk_blocks(struct mst *t, mst_block_fn fn, void *arg);

/* ---- proofs ------------------------------------------------------------- */

/* Adds to out the covering proof of key in t (present or not): the nodes
 * on the path to the key and on the paths to its left and right
 * neighbours, exactly as the reference's getCoveringProof (proofForKey,
 * proofForLeftSib, proofForRightSib).  Calls mst_root() first. */
enum mst_err	mst_proof(struct mst *t, const char *key, size_t klen,
		    struct blockmap *out);

/* Adds to out the nodes on the path from the root to key (the reference's
 * cidsForPath, what sync.getRecord sends, a narrower set than
 * mst_proof): every node descended through, down to the one holding key
 * or the last one whose gap for key is empty.  Returns MST_OK and *val
 * (may be NULL) when key is present, MST_ERR_NOTFOUND when absent (the
 * path is added either way: it proves the absence), or an error.  Calls
 * mst_root() first. */
enum mst_err	mst_path(struct mst *t, const char *key, size_t klen,
		    struct blockmap *out, struct cid *val);

/* ---- diff --------------------------------------------------------------- */

/* One changed key: created (has_old 0), deleted (has_new 0) or updated. */
struct mst_diff_op {
	const char	*key;		/* owned by the diff (NUL-terminated) */
	size_t		 klen;
	int		 has_old;
	int		 has_new;
	struct cid	 old;		/* value in the old tree */
	struct cid	 new;		/* value in the new tree */
};

struct mst_diff {
	struct mst_diff_op	*ops;		/* ascending key order */
	size_t			 nops;
	size_t			 opcap;
	struct blockmap		 new_nodes;	/* node blocks only in new */
	struct cid		*removed;	/* node CIDs only in old, then
						 * removed record CIDs */
	size_t			 nremoved;
	size_t			 remcap;
	struct cid		*new_leaves;	/* record CIDs new in the tree */
	size_t			 nnew_leaves;
	size_t			 leafcap;
	struct arena		 keys;		/* storage of ops[].key */
};

/* Sets up an empty diff. */
void		mst_diff_init(struct mst_diff *d);
/* Releases a diff; accepts NULL; d may be reused after mst_diff_init. */
void		mst_diff_fini(struct mst_diff *d);
/*
 * Computes what changed from old (NULL: from nothing) to cur, the
 * reference's mstDiff / DataDiff: key ops with old and new values, the
 * node blocks of cur that old lacks (with bytes), the CIDs of old's
 * nodes that cur lacks plus record CIDs that left the tree, and the
 * record CIDs that entered it.  Subtrees with equal CIDs are skipped
 * unread.  Both trees must share a block source that holds old's nodes;
 * calls mst_root() on both.  d must be freshly initialised.
 */
enum mst_err	mst_diff(struct mst *cur, struct mst *old, struct mst_diff *d);

#endif
