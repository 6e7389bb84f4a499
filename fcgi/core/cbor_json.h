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
 * (other "$"-keys are kept as ordinary keys).
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
	CJ_ERR__MAX
};

const char	*cbor_json_err_str(enum cbor_json_err);

/* Converts a jansson value to a tree in a.  Does not keep references to
 * j (strings are copied into a).  Returns CJ_OK and sets *out. */
enum cbor_json_err	cbor_from_json(struct arena *a, const json_t *j,
			    struct cbor_val **out);
/* Converts a tree to a new jansson value (caller json_decref()s it), or
 * NULL on ENOMEM. */
json_t			*cbor_to_json(const struct cbor_val *v);

#endif
