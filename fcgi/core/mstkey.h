/*
 * mstkey.h: Merkle Search Tree keys (atproto.com/specs/repository,
 * "MST Structure"; reference-pds.md e; @atproto/repo src/mst/util.ts).
 *
 * What the repository engineer needs to build the MST on top: which keys
 * are legal, which layer a key lives on, and how many leading bytes two
 * keys share (the "p" field of an MST entry).  Pure functions on
 * (pointer, length); no allocation.
 */
#ifndef PDS_MSTKEY_H
#define PDS_MSTKEY_H

#include <stddef.h>

/* Checks an MST key "<collection>/<rkey>": at most LIM_MST_KEY_LEN (1024)
 * bytes, exactly one '/', both sides non-empty, every other byte in
 * [A-Za-z0-9_~:.-] (isValidMstKey).  The sides are not checked as an NSID
 * or a record key; callers that build keys from a collection and rkey
 * validate those with syntax.h first.  Returns 0, or -1 with a static
 * reason in *why (why may be NULL). */
int	mst_key_validate(const char *p, size_t len, const char **why);
/* The layer (height) of a key: the number of leading zero bits of
 * SHA-256(key bytes) divided by 2, rounded down (fanout 4), so 0..128.
 * Any bytes are accepted, the empty key included (interop
 * mst/key_heights.json).  Leaves sit on the layer of their key; a node's
 * layer is that of its keys.  Hashes through cid_sha256().  Returns the
 * height, or -1 when hashing failed (ENOMEM only). */
int	mst_key_height(const void *p, size_t len);
/* The number of leading bytes a and b have in common (0..min(alen, blen));
 * bytes may include NUL (interop mst/common_prefix.json). */
size_t	mst_common_prefix(const void *a, size_t alen, const void *b,
	    size_t blen);

#endif /* PDS_MSTKEY_H */
