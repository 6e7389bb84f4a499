/*
 * plc.h: did:plc operations (did-method-plc packages/lib/src/
 * operations.ts, client.ts; ../shared/spec/reference-pds.md g).
 *
 * An operation is a DAG-CBOR map (held here as a struct cbor_val tree in
 * the caller's arena):
 *   plc_operation  {type, rotationKeys[], verificationMethods{},
 *                   alsoKnownAs[], services{id: {type, endpoint}},
 *                   prev: null | "<cid>", sig: "<base64url>"}
 *   plc_tombstone  {type, prev, sig}
 *   create         the legacy genesis form {type, signingKey,
 *                   recoveryKey, handle, service, prev, sig}
 * sig is base64url (no padding) of the 64-byte low-S compact ECDSA
 * signature, over SHA-256 of the DAG-CBOR of the operation without sig,
 * by one of the rotation keys (the previous operation's, for updates).
 * The DID of a genesis operation is "did:plc:" + the first 24 chars of
 * lowercase base32 of SHA-256(DAG-CBOR(signed op)).  prev of an update
 * is the dag-cbor CID string of the previous signed operation.
 *
 * The directory protocol (PDS_DID_PLC_URL): POST <url>/<did> with the
 * operation as JSON; GET <url>/<did>/log/last (last operation) and
 * <url>/<did>/data (its current state).
 *
 * One error convention: enum plc_err; the HTTP functions also write a
 * short English reason for the XRPC message.
 */
#ifndef PDS_PLC_H
#define PDS_PLC_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "cbor.h"
#include "cid.h"
#include "keys.h"

#define PLC_DID_LEN	33	/* "did:plc:" + 24 + NUL */
#define PLC_SIG_B64_LEN	87	/* base64url of 64 bytes (86) + NUL */

enum plc_err {
	PLC_OK,
	PLC_ERR_FORMAT,		/* not an operation of the expected shape */
	PLC_ERR_KEY,		/* a key is not a did:key we can parse */
	PLC_ERR_SIG,		/* no allowed key signed it */
	PLC_ERR_TOMBSTONE,	/* the DID is tombstoned */
	PLC_ERR_NOTFOUND,	/* the directory does not know the DID */
	PLC_ERR_REFUSED,	/* the directory answered 4xx */
	PLC_ERR_UPSTREAM,	/* 5xx, unreachable, timeout, oversize */
	PLC_ERR_NOMEM,
	PLC_ERR__MAX
};

/* Static English text for an error. */
const char	*plc_err_str(enum plc_err);

/* The fields of a genesis operation (reference createAccount.ts). */
struct plc_genesis {
	const char *const	*rotation_keys;	/* did:key strings, priority */
	size_t			 nrotation;	/* 1..LIM_PLC_ROTATION_KEYS */
	const char		*signing_key;	/* did:key of the account key */
	const char		*handle;	/* becomes "at://<handle>" */
	const char		*endpoint;	/* atproto_pds endpoint URL */
};

/* Builds the unsigned genesis operation (prev null) in a.  Returns
 * PLC_OK and *out, PLC_ERR_FORMAT (no or too many rotation keys) or
 * PLC_ERR_NOMEM. */
enum plc_err	plc_op_genesis(struct arena *a, const struct plc_genesis *g,
		    struct cbor_val **out);
/* Replaces op's sig (adding it if absent) with the signature of k over
 * the operation without sig.  op is a map built in a (its pairs may be
 * re-allocated).  Returns PLC_OK, PLC_ERR_FORMAT, PLC_ERR_KEY or
 * PLC_ERR_NOMEM. */
enum plc_err	plc_op_sign(struct arena *a, struct cbor_val *op,
		    const struct key *k);
/* The DID a signed genesis operation names.  Returns PLC_OK or
 * PLC_ERR_NOMEM. */
enum plc_err	plc_op_did(const struct cbor_val *op, char out[PLC_DID_LEN]);
/* The dag-cbor CID of op (prev of the next operation). */
enum plc_err	plc_op_cid(const struct cbor_val *op, struct cid *out);

/* Parses untrusted operation JSON (p, len) into a tree in a and checks
 * its shape strictly: exactly the keys of one of the three types, every
 * value of its JSON type (strings, string arrays, maps of strings or
 * service objects), at most LIM_PLC_ROTATION_KEYS rotation keys (at
 * least one), each rotation key and verification method a did:key that
 * parses, prev null or a CID string (the legacy form: null only), sig a
 * base64url string of 64 bytes.  need_sig 0 accepts an unsigned
 * operation (no sig key).  Returns PLC_OK, PLC_ERR_FORMAT or
 * PLC_ERR_KEY with *why (static text). */
enum plc_err	plc_op_parse(struct arena *a, const char *p, size_t len,
		    int need_sig, struct cbor_val **out, const char **why);
/* Checks a parsed (plc_op_parse) operation tree the same way. */
enum plc_err	plc_op_validate(const struct cbor_val *op, int need_sig,
		    const char **why);
/* Verifies op's sig against the did:keys keys[0..n); sets *which to the
 * index of the key that signed.  Returns PLC_OK, PLC_ERR_SIG,
 * PLC_ERR_FORMAT (no sig) or PLC_ERR_NOMEM. */
enum plc_err	plc_op_verify(const struct cbor_val *op,
		    const char *const *keys, size_t n, size_t *which);
/* The operation's type string ("plc_operation", "plc_tombstone",
 * "create"), pointing into the tree, or NULL. */
const char	*plc_op_type(const struct cbor_val *op);
/* As normalizeOp(): a plc_operation view of op (a legacy "create" is
 * rewritten; a plc_operation is returned as is), without sig.  NULL for
 * a tombstone or on ENOMEM. */
struct cbor_val	*plc_op_normalize(struct arena *a, const struct cbor_val *op);
/* The unsigned update after last (updateHandleOp / createUpdateOp): the
 * normalized fields of last, with the first "at://" alsoKnownAs entry
 * replaced by "at://<handle>" (prepended when there is none), and prev =
 * CID of last.  handle NULL keeps alsoKnownAs.  Sign it with
 * plc_op_sign().  Returns PLC_OK, PLC_ERR_TOMBSTONE, PLC_ERR_FORMAT or
 * PLC_ERR_NOMEM. */
enum plc_err	plc_op_update(struct arena *a, const struct cbor_val *last,
		    const char *handle, struct cbor_val **out);

/* Directory access.  timeout_ms bounds the whole exchange; why (whysz
 * bytes) receives a reason on failure (the directory's own message when
 * it sent one). */
/* POSTs op as JSON to <url>/<did>.  Returns PLC_OK, PLC_ERR_REFUSED,
 * PLC_ERR_UPSTREAM or PLC_ERR_NOMEM. */
enum plc_err	plc_submit(const char *url, const char *did,
		    const struct cbor_val *op, int64_t timeout_ms, char *why,
		    size_t whysz);
/* GETs <url>/<did>/log/last into a tree in a (shape-checked).  Returns
 * PLC_OK, PLC_ERR_NOTFOUND, PLC_ERR_UPSTREAM, PLC_ERR_FORMAT. */
enum plc_err	plc_last_op(struct arena *a, const char *url, const char *did,
		    int64_t timeout_ms, struct cbor_val **out, char *why,
		    size_t whysz);
/* GETs <url>/<did>/data: {did, verificationMethods, rotationKeys,
 * alsoKnownAs, services} as a tree in a.  Returns as plc_last_op(). */
enum plc_err	plc_doc_data(struct arena *a, const char *url,
		    const char *did, int64_t timeout_ms, struct cbor_val **out,
		    char *why, size_t whysz);

#endif /* PDS_PLC_H */
