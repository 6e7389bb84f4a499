/*
 * cbor.h: DAG-CBOR, the atproto data model's binary form.
 * atproto.com/specs/data-model; ipld.io/specs/codecs/dag-cbor/spec.
 *
 * Two layers:
 *  - a low-level encoder that appends one item at a time to a struct buf
 *    (the caller writes map keys in canonical order: shorter first, then
 *    bytewise), used for commits, MST nodes, events, PLC operations;
 *  - a value tree (struct cbor_val) built in a request arena, with a
 *    strict decoder and an encoder that sorts map keys itself.
 *
 * The decoder accepts only canonical DAG-CBOR as atproto restricts it:
 * minimal-length heads, definite lengths, map keys that are text strings,
 * unique and in canonical order, tag 42 only (a byte string holding 0x00
 * and a blessed CID), UTF-8-valid text, integers in the int64 range,
 * simple values false/true/null only, no floats, no trailing bytes; depth,
 * item count, string and total-size limits from pds_limits.h.
 */
#ifndef PDS_CBOR_H
#define PDS_CBOR_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "buf.h"
#include "cid.h"

enum cbor_type {
	CBOR_NULL,
	CBOR_BOOL,
	CBOR_INT,
	CBOR_BYTES,
	CBOR_TEXT,
	CBOR_ARRAY,
	CBOR_MAP,
	CBOR_LINK,
	CBOR__MAX
};

struct cbor_val;

struct cbor_pair {
	const char		*key;	/* not NUL-terminated; see klen */
	size_t			 klen;
	struct cbor_val		*val;
};

struct cbor_val {
	enum cbor_type	type;
	union {
		int		 b;	/* CBOR_BOOL */
		int64_t		 i;	/* CBOR_INT */
		struct {		/* CBOR_BYTES, CBOR_TEXT */
			const uint8_t	*p;	/* not NUL-terminated */
			size_t		 len;
		} s;
		struct {		/* CBOR_ARRAY */
			struct cbor_val	**items;
			size_t		  n;
			size_t		  cap;	/* slots in items */
		} a;
		struct {		/* CBOR_MAP: pairs in canonical order
					 * after decode, cbor_from_json() or
					 * cbor_map_sort(); cbor_map_set()
					 * appends */
			struct cbor_pair *pairs;
			size_t		  n;
			size_t		  cap;	/* slots in pairs */
		} m;
		struct cid	 link;	/* CBOR_LINK */
	} u;
};

/* Decoder errors, one enum for the module. */
enum cbor_err {
	CBOR_OK,
	CBOR_ERR_TRUNCATED,	/* input ends inside an item */
	CBOR_ERR_TRAILING,	/* bytes after the top-level item */
	CBOR_ERR_NONCANONICAL,	/* non-minimal head, key order, ... */
	CBOR_ERR_TYPE,		/* float, undefined, bad simple, bad tag */
	CBOR_ERR_DUPKEY,
	CBOR_ERR_KEYTYPE,	/* map key not a text string */
	CBOR_ERR_UTF8,
	CBOR_ERR_LINK,		/* tag 42 content not 0x00 + blessed CID */
	CBOR_ERR_RANGE,		/* integer outside int64 */
	CBOR_ERR_LIMIT,		/* depth, count, size limits */
	CBOR_ERR_NOMEM,
	CBOR_ERR__MAX
};

/* Short English text for an error, for messages and logs (static). */
const char	*cbor_err_str(enum cbor_err);
/* Canonical DAG-CBOR map-key order: shorter key first, then bytewise.
 * Returns <0, 0 or >0 like memcmp. */
int		 cbor_key_cmp(const char *a, size_t alen, const char *b,
		    size_t blen);
/* Returns 1 when (p, len) is well-formed UTF-8 (RFC 3629: no overlong
 * forms, no surrogates, nothing past U+10FFFF), 0 otherwise. */
int		 cbor_utf8_validate(const uint8_t *p, size_t len);

/* ---- low-level encoder: each appends one item (heads minimal-length)
 * and returns 0, or -1 when the buffer refuses (limit / ENOMEM; the buffer
 * may then hold a partial item).  Text is not UTF-8-checked here: pass
 * valid UTF-8. */
int	cbor_put_uint(struct buf *, uint64_t);
int	cbor_put_int(struct buf *, int64_t);
int	cbor_put_bytes(struct buf *, const void *, size_t);
int	cbor_put_text(struct buf *, const char *, size_t);
int	cbor_put_cstr(struct buf *, const char *);
int	cbor_put_array(struct buf *, size_t n);	/* then n items */
int	cbor_put_map(struct buf *, size_t n);	/* then n key, value pairs */
int	cbor_put_link(struct buf *, const struct cid *);
int	cbor_put_bool(struct buf *, int);
int	cbor_put_null(struct buf *);

/* ---- value tree ------------------------------------------------------ */
/* Decodes exactly one item filling all of (p, len) into a tree allocated
 * from a.  Byte and text strings point into p (p must outlive the tree).
 * Returns CBOR_OK and sets *out, or an error (nothing to free: the arena
 * owns any partial tree). */
enum cbor_err	cbor_decode(struct arena *a, const uint8_t *p, size_t len,
		    struct cbor_val **out);
/* Checks (p, len) as cbor_decode() does without building a tree. */
enum cbor_err	cbor_check(const uint8_t *p, size_t len);
/* Appends the canonical encoding of v (maps sorted on the fly; v is not
 * changed).  Returns 0, or -1 (buffer limit / ENOMEM / duplicate keys /
 * nesting over LIM_CBOR_DEPTH); on -1 the buffer may hold a partial
 * encoding after its old length. */
int		cbor_encode(struct buf *, const struct cbor_val *v);
/* As cbor_encode(), and sets *out to the dag-cbor CID of the bytes just
 * appended (one SHA-256 pass over them).  Returns 0 or -1. */
int		cbor_encode_cid(struct buf *, const struct cbor_val *v,
		    struct cid *out);
/* Computes the dag-cbor CID of v's canonical encoding (a scratch buffer
 * on the heap, released before returning).  Returns 0 or -1. */
int		cbor_cid(const struct cbor_val *v, struct cid *out);

/* Constructors, all allocating from a; NULL on failure.  Text and bytes
 * are copied into a; cbor_new_text()/cbor_new_cstr() also return NULL
 * when the text is not valid UTF-8 (the data model allows nothing else).
 * The capacity of arrays and maps is a hint (0 is fine). */
struct cbor_val	*cbor_new_null(struct arena *a);
struct cbor_val	*cbor_new_bool(struct arena *a, int b);
struct cbor_val	*cbor_new_int(struct arena *a, int64_t i);
struct cbor_val	*cbor_new_text(struct arena *a, const char *s, size_t len);
struct cbor_val	*cbor_new_cstr(struct arena *a, const char *s);
struct cbor_val	*cbor_new_bytes(struct arena *a, const void *p, size_t len);
struct cbor_val	*cbor_new_link(struct arena *a, const struct cid *c);
struct cbor_val	*cbor_new_array(struct arena *a, size_t cap);
struct cbor_val	*cbor_new_map(struct arena *a, size_t cap);
/* Appends to an array / map (grows in the arena; also works on decoded
 * trees).  Return 0 or -1 (ENOMEM, over LIM_CBOR_ITEMS, not an array/map,
 * key not UTF-8).  cbor_map_set replaces an existing key's value, else
 * appends; the key is copied into a.  Values are not copied (the tree
 * points at them). */
int		 cbor_array_push(struct arena *a, struct cbor_val *arr,
		    struct cbor_val *item);
int		 cbor_map_set(struct arena *a, struct cbor_val *map,
		    const char *key, struct cbor_val *val);
int		 cbor_map_setn(struct arena *a, struct cbor_val *map,
		    const char *key, size_t klen, struct cbor_val *val);
/* Sorts a map's pairs into canonical order (shorter key first, then
 * bytewise), in place.  Returns 0, or -1 when two keys are equal or v is
 * not a map. */
int		 cbor_map_sort(struct cbor_val *map);
/* Looks up a key in a map; NULL when absent or v is not a map.  The
 * result points into the tree (no ownership). */
struct cbor_val	*cbor_map_get(const struct cbor_val *map, const char *key);
struct cbor_val	*cbor_map_getn(const struct cbor_val *map, const char *key,
		    size_t klen);

#endif
