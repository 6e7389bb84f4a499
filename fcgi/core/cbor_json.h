/*
 * cbor_json.h: the atproto JSON <-> data model mapping, with jansson.
 * atproto.com/specs/data-model ("JSON representation").
 *
 *   {"$link": "<cid>"}        <-> link
 *   {"$bytes": "<base64>"}    <-> bytes (standard alphabet, written
 *                                 unpadded, read with or without padding)
 *   blob objects               {"$type":"blob","ref":{"$link"},"mimeType",
 *                               "size"} are ordinary maps with a link
 *   numbers                    integers only; an integral real (123.0)
 *                              is the integer 123; 1.5 is refused;
 *                              outside +-(2^53-1) is refused
 * An object with "$link" or "$bytes" must have exactly that one key
 * (other "$"-keys are kept as ordinary keys).  "$link" takes only blessed
 * CIDs ("b" + base32, dag-cbor or raw, sha2-256); the reference also reads
 * other CID forms, which we refuse (cid.h).
 *
 * NUL: jansson refuses "\u0000" in strings unless the text is parsed with
 * JSON_ALLOW_NUL, and refuses it in object keys always.  The reference
 * (JSON.parse) takes both.  cbor_json_parse() passes JSON_ALLOW_NUL, and
 * every conversion here uses explicit lengths, so NUL inside string values
 * round-trips; a NUL inside an object key is refused (CJ_ERR_SYNTAX) on
 * the JSON side only (CBOR maps may hold such keys; cbor_to_json() and
 * cbor_json_write() write them).
 *
 * The key "__proto__" is refused on input as the reference's jsonToLex()
 * does ("Invalid key: __proto__").
 *
 * Output key order follows JavaScript's: JSON.stringify of a decoded record
 * writes array-index keys ("0".."4294967294") first in numeric order, then
 * the other keys in CBOR (canonical) order.  cbor_to_json() inserts keys in
 * that order and cbor_json_write() writes them so, byte for byte as the
 * reference's JSON.stringify(lexToJson(v)).
 */
#ifndef PDS_CBOR_JSON_H
#define PDS_CBOR_JSON_H

#include <jansson.h>

#include "arena.h"
#include "cbor.h"

enum cbor_json_err {
	CJ_OK,
	CJ_ERR_FLOAT,		/* a non-integral number */
	CJ_ERR_RANGE,		/* integer outside the safe range */
	CJ_ERR_LINK,		/* malformed $link object or CID */
	CJ_ERR_BYTES,		/* malformed $bytes object or base64 */
	CJ_ERR_BLOB,		/* malformed blob object */
	CJ_ERR_DEPTH,		/* nesting over LIM_JSON_DEPTH */
	CJ_ERR_TYPE,		/* unsupported JSON value */
	CJ_ERR_NOMEM,
	CJ_ERR_SYNTAX,		/* not JSON (cbor_json_parse), NUL in a key */
	CJ_ERR_KEY,		/* the key "__proto__" */
	CJ_ERR_NOTMAP,		/* a record that is not an object */
	CJ_ERR_DOLLARTYPE,	/* "$type" not a non-empty string */
	CJ_ERR_LIMIT,		/* over LIM_CBOR_ITEMS / LIM_CBOR_STRING */
	CJ_ERR__MAX
};

/* Short English text for an error (static). */
const char	*cbor_json_err_str(enum cbor_json_err);

/* Converts a jansson value to a tree in a (maps sorted canonically).
 * Does not keep references to j (strings are copied into a).  Returns
 * CJ_OK and sets *out, or an error (the arena owns any partial tree). */
enum cbor_json_err	cbor_from_json(struct arena *a, const json_t *j,
			    struct cbor_val **out);
/* Parses JSON text (p, len) (untrusted; any top-level value; jansson with
 * JSON_ALLOW_NUL) and converts it as cbor_from_json().  Returns CJ_OK and
 * sets *out, or an error (CJ_ERR_SYNTAX when jansson refuses the text). */
enum cbor_json_err	cbor_json_parse(struct arena *a, const char *p,
			    size_t len, struct cbor_val **out);
/* Converts a tree to a new jansson value (caller json_decref()s it), or
 * NULL on ENOMEM or a tree nested deeper than LIM_CBOR_DEPTH. */
json_t			*cbor_to_json(const struct cbor_val *v);
/* Appends v as compact JSON text, byte-identical to the reference's
 * JSON.stringify(lexToJson(v)) (escapes as JSON.stringify: \" \\ \b \f
 * \n \r \t, other controls as \u00xx, nothing else).  Returns 0, or -1
 * (buffer limit / ENOMEM / depth); the buffer may then hold part. */
int			 cbor_json_write(struct buf *b,
			    const struct cbor_val *v);
/*
 * Checks v as an atproto record (atproto.com/specs/data-model, "Lexicon
 * type" and "Blob"; strict jsonToLex of @atproto/lex-json):
 *  - the top level is a map (CJ_ERR_NOTMAP);
 *  - every "$type" in every map is a non-empty text string
 *    (CJ_ERR_DOLLARTYPE);
 *  - every map with "$type": "blob" has exactly the keys "$type", "ref"
 *    (a link with codec raw), "mimeType" (text containing '/') and "size"
 *    (an integer, 0 to 2^53-1) (CJ_ERR_BLOB).
 * $link, $bytes and number rules are enforced by the JSON mapping itself.
 * Returns CJ_OK or the first error found.
 */
enum cbor_json_err	cbor_json_record_validate(const struct cbor_val *v);

#endif
