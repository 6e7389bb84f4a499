/*
 * commit.h: signed repository commits, version 3.
 * atproto.com/specs/repository ("Commit Objects"); reference-pds.md e
 * "Commit object"; reference packages/repo/src/{types,util}.ts.
 *
 * A commit is the DAG-CBOR map {did, rev, sig, data, prev, version: 3}
 * (canonical key order).  The signature is ECDSA over SHA-256 of the
 * unsigned map (the same without sig), 64-byte compact low-S r||s with the
 * account's signing key.  prev is always written as null; a parsed commit
 * may carry a link there (v2 compatibility).  rev is a TID that grows
 * with every commit of the repository.
 *
 * One error convention: enum commit_err.  No allocation survives a call.
 */
#ifndef PDS_COMMIT_H
#define PDS_COMMIT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "cid.h"
#include "keys.h"
#include "pds_limits.h"
#include "tid.h"

#define COMMIT_VERSION	3

enum commit_err {
	COMMIT_OK,
	COMMIT_ERR_CBOR,	/* not canonical DAG-CBOR */
	COMMIT_ERR_FORMAT,	/* not a map of exactly the commit fields */
	COMMIT_ERR_VERSION,	/* version other than 3 */
	COMMIT_ERR_DID,		/* did is not a valid DID */
	COMMIT_ERR_REV,		/* rev is not a TID, or not after the last */
	COMMIT_ERR_UNSIGNED,	/* no signature to encode or verify */
	COMMIT_ERR_SIG,		/* signature malformed or does not verify */
	COMMIT_ERR_KEY,		/* signing or did:key failed */
	COMMIT_ERR_LIMIT,	/* output buffer refused the bytes */
	COMMIT_ERR_NOMEM,
	COMMIT_ERR__MAX
};

struct commit {
	char		did[LIM_DID_LEN + 1];	/* NUL-terminated */
	size_t		didlen;
	int64_t		version;		/* COMMIT_VERSION */
	struct cid	data;			/* MST root */
	char		rev[TID_STR_LEN];	/* NUL-terminated TID */
	int		has_prev;		/* prev is a link, not null */
	struct cid	prev;
	uint8_t		sig[KEY_SIG_LEN];
	size_t		siglen;			/* 0 until signed */
};

/* Static English text for an error. */
const char	*commit_err_str(enum commit_err);

/* Fills c as an unsigned v3 commit of did over the MST root data at rev
 * (a TID string).  Returns COMMIT_OK, COMMIT_ERR_DID or COMMIT_ERR_REV. */
enum commit_err	commit_init(struct commit *c, const char *did, size_t didlen,
		    const struct cid *data, const char *rev, size_t revlen);
/* Writes into rev the TID for the commit after one at prev (prev NULL or
 * "" for a new repository): tid_next_after(), so strictly greater than
 * prev.  Returns COMMIT_OK or COMMIT_ERR_REV (prev not a TID). */
enum commit_err	commit_next_rev(const char *prev, size_t prevlen,
		    char rev[TID_STR_LEN]);
/* Appends the unsigned map (the bytes that are signed).  Returns COMMIT_OK
 * or COMMIT_ERR_LIMIT. */
enum commit_err	commit_encode_unsigned(const struct commit *c,
		    struct buf *out);
/* Signs c with the private key k (secp256k1 for repositories; any curve
 * keys.h signs).  Returns COMMIT_OK, COMMIT_ERR_KEY or COMMIT_ERR_NOMEM. */
enum commit_err	commit_sign(struct commit *c, const struct key *k);
/* Appends the signed commit block.  Returns COMMIT_OK,
 * COMMIT_ERR_UNSIGNED or COMMIT_ERR_LIMIT. */
enum commit_err	commit_encode(const struct commit *c, struct buf *out);
/* As commit_encode() into a scratch buffer, then the block's CID. */
enum commit_err	commit_cid(const struct commit *c, struct cid *out);
/* Parses a commit block (untrusted): canonical DAG-CBOR, exactly the six
 * fields with their types, version 3, a valid DID, a TID rev, a signature
 * of 64 bytes.  Returns COMMIT_OK or the reason. */
enum commit_err	commit_parse(struct commit *c, const uint8_t *p, size_t len);
/* Verifies c's signature with the public key k.  Returns COMMIT_OK,
 * COMMIT_ERR_UNSIGNED or COMMIT_ERR_SIG (high-S and DER refused). */
enum commit_err	commit_verify(const struct commit *c, const struct key *k);
/* As commit_verify() with a "did:key:z..." (the DID document's
 * atproto signing key).  COMMIT_ERR_KEY when didkey does not parse. */
enum commit_err	commit_verify_did(const struct commit *c, const char *didkey,
		    size_t len);

#endif
