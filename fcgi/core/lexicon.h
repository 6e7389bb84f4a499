/*
 * lexicon.h: Lexicon schemas and record validation.
 *
 * Lexicon documents (atproto.com/specs/lexicon) are parsed from JSON,
 * checked against the Lexicon language (the reference's lex-document
 * lexiconDocumentSchema), compiled into compact tables and linked (refs
 * resolved).  Records are then validated the way the reference PDS 0.5.x
 * does in com.atproto.repo.createRecord/putRecord/applyWrites
 * (@atproto/pds dist/repo/prepare.js validateRecord over @atproto/lex-
 * schema validators, strict mode), with the reference's exact messages:
 *
 *   - unknown record type, validate=true:  "Unknown lexicon type: <nsid>"
 *   - rkey not of the key type:  "Invalid record key for <nsid>: <issue>"
 *   - record does not match:     "Invalid <nsid> record: <issue>"
 *
 * where <issue> is lex-schema's "<message> at <JSON path>", e.g.
 * "grapheme too big (maximum 300, got 301) at $.record.text".
 *
 * Records are data-model trees (cbor.h struct cbor_val, as cbor_from_json
 * or cbor_decode build them): bytes, CID links and blobs are typed there.
 * One divergence follows from that choice: an object shown in a message
 * preview ("got {"a": ..., "b": ..., ...}") lists its first two keys in
 * canonical DAG-CBOR order, where the reference lists them in the order
 * of the request JSON.  Messages longer than the caller's buffer are cut.
 *
 * Built-in schemas: the record types the reference validates itself
 * (prepare.js knownSchemas) and the documents they reach, from
 * fcgi/core/lexicons/ (embedded by lexicons.gen.c), compiled once per
 * process on first use.  Validation allocates nothing.
 *
 * Error convention: functions returning int give 0, or -1 with a reason in
 * why (whysz bytes, always NUL-terminated when whysz > 0); the record
 * validators return enum lexicon_status.
 */
#ifndef PDS_CORE_LEXICON_H
#define PDS_CORE_LEXICON_H

#include <stddef.h>

#include "cbor.h"

struct lexicon_set;

enum lexicon_status {
	LEXICON_VALID,		/* known record type, record and rkey match */
	LEXICON_UNKNOWN,	/* no record schema of that type */
	LEXICON_INVALID,	/* known type, but record or rkey do not match;
				 * why holds the reference's InvalidRequest
				 * message */
	LEXICON_ERROR,		/* internal: the built-in schemas failed to
				 * load (logged) or bad arguments */
	LEXICON__MAX
};

/* lexicon_set_record_validate() flags */
#define LEXICON_F_INTEROP	0x01	/* the interop vectors' reading
					 * (../shared/interop/lexicon) where it
					 * differs from the reference's strict
					 * mode: a blob ref may link any CID
					 * (the reference wants a raw-codec
					 * CID), and an "unknown" field refuses
					 * a blob (the reference accepts any
					 * map) */

/* ---- schema sets ------------------------------------------------------ */

/* An empty set.  Returns 0 and *out (free with lexicon_set_free), or -1
 * when out of memory. */
int	lexicon_set_new(struct lexicon_set **out);
/* Releases a set; accepts NULL. */
void	lexicon_set_free(struct lexicon_set *s);
/* Parses the Lexicon document (json, len) (untrusted; at most
 * LIM_LEXICON_DOC bytes), checks it as lexicon_doc_validate() does and
 * compiles it into s.  A document id already in s is refused.  Not
 * allowed once s is linked.  Returns 0 or -1 with why. */
int	lexicon_set_add(struct lexicon_set *s, const char *json, size_t len,
	    char *why, size_t whysz);
/* Resolves the refs of every record definition in s and of everything
 * they reach; each must name a definition in s of a kind a ref may name
 * (unions: object or record definitions).  Refs of definitions no record
 * reaches may stay unresolved (a procedure may name app.bsky.actor.defs
 * without it being loaded).  Afterwards s is read-only.  Returns 0 or -1
 * with why. */
int	lexicon_set_link(struct lexicon_set *s, char *why, size_t whysz);
/* Checks one Lexicon document (untrusted JSON text) without keeping it:
 * JSON object with lexicon 1, an NSID id, defs whose "main" is any
 * definition type and whose others are boolean, integer, string, bytes,
 * cid-link, blob, array, object or token; every field of the right JSON
 * type, formats and record keys known, required properties defined.  As
 * the interop catalog requires (and the spec's grammar allows), objects
 * may nest inline as property and array-item types.  Returns 0 or -1 with
 * why ("<message> at <JSON path>"). */
int	lexicon_doc_validate(const char *json, size_t len, char *why,
	    size_t whysz);
/* Does s hold a record definition named nsid?  1 or 0. */
int	lexicon_set_has_record(const struct lexicon_set *s, const char *nsid);

/* The process's built-in set (linked, read-only, never freed), compiled
 * on first call; call it once before forking workers to share it.  NULL
 * when it cannot be built (logged; out of memory). */
const struct lexicon_set	*lexicon_builtin(void);

/* ---- records ---------------------------------------------------------- */

/*
 * Validates rec as a record of type nsid against s: when rkey is not
 * NULL, first the record definition's key type against it ("tid", "nsid",
 * "any", "literal:<value>"), then the record (a map whose $type must be
 * nsid, as the caller has made it).  path is the JSON path the reference
 * reports the record at: "$.record" (createRecord, putRecord; NULL means
 * that) or "$.writes[<i>].record" (applyWrites).  flags are LEXICON_F_*.
 * Returns LEXICON_VALID, LEXICON_UNKNOWN (why empty), LEXICON_INVALID
 * with the full InvalidRequest message in why, or LEXICON_ERROR.
 */
enum lexicon_status	lexicon_set_record_validate(
			    const struct lexicon_set *s, const char *nsid,
			    const struct cbor_val *rec, const char *rkey,
			    const char *path, int flags, char *why,
			    size_t whysz);
/* lexicon_set_record_validate() against lexicon_builtin() in the
 * reference's strict mode (flags 0); LEXICON_ERROR when the built-in set
 * is unavailable. */
enum lexicon_status	lexicon_record_validate(const char *nsid,
			    const struct cbor_val *rec, const char *rkey,
			    const char *path, char *why, size_t whysz);
/* The message the reference gives for validate=true and a type without a
 * schema: "Unknown lexicon type: <nsid>", written into why. */
void	lexicon_unknown_msg(const char *nsid, char *why, size_t whysz);

#endif /* PDS_CORE_LEXICON_H */
