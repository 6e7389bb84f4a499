/*
 * mst_int.h: the in-memory MST shared by mst.c (nodes, loading,
 * encoding, writes) and mst_walk.c (listing, proofs, diff).  Private to
 * fcgi/repo; other modules use mst.h.
 */
#ifndef PDS_MST_INT_H
#define PDS_MST_INT_H

#include "arena.h"
#include "mst.h"

struct mst_node;

struct mst_ent {
	char		*key;		/* heap, NUL-terminated, full key */
	size_t		 klen;
	struct cid	 val;		/* record CID */
	struct mst_node	*right;		/* subtree after this key or NULL */
};

/*
 * A node is either a stub (loaded 0: only cid and layer are known) or
 * loaded.  A dirty node changed since its CID was computed; mst_root()
 * encodes it, caches the bytes in enc and clears dirty.
 */
struct mst_node {
	struct mst_node	*left;		/* subtree before the first key */
	struct mst_ent	*e;		/* keys in ascending order */
	size_t		 n;
	size_t		 cap;
	int		 layer;		/* -1 while unknown (lazy root) */
	int		 loaded;
	int		 dirty;
	struct cid	 cid;		/* valid when !dirty */
	uint8_t		*enc;		/* encoding made by mst_root or NULL */
	size_t		 enclen;
};

struct mst {
	struct mst_source	 src;
	struct mst_node		*root;
	struct buf		 blk;	/* block read from the source */
	struct buf		 enc;	/* scratch encoding */
	struct arena		 ar;	/* scratch for decoding one node */
	struct mst_stats	 st;
};

/* mst.c */
/* Loads nd (a node of t) if it is a stub.  is_root allows the empty
 * node and an unknown layer. */
enum mst_err	 mst_node_ensure(struct mst *t, struct mst_node *nd,
		    int is_root);
/* Loads the root and settles its layer. */
enum mst_err	 mst_root_ensure(struct mst *t);
/* The canonical bytes of a clean node (cached or encoded into t->enc,
 * valid until the next encode).  nd must be loaded and not dirty. */
enum mst_err	 mst_node_bytes(struct mst *t, struct mst_node *nd,
		    const uint8_t **p, size_t *len);
/* Index of the first key >= (key, klen) in a loaded node. */
size_t		 mst_node_lb(const struct mst_node *nd, const char *key,
		    size_t klen);
/* The subtree slot between key i-1 and key i (l for i == 0). */
struct mst_node	**mst_node_gap(struct mst_node *nd, size_t i);
/* Bytewise order of two keys, shorter first on a tie: <0, 0, >0. */
int		 mst_keycmp(const char *a, size_t alen, const char *b,
		    size_t blen);

#endif
