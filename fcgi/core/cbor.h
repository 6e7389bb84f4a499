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
		} a;
		struct {		/* CBOR_MAP: pairs in canonical order
					 * after decode or cbor_map_sort() */
			struct cbor_pair *pairs;
			size_t		  n;
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

/* Short English text for an error, for messages and logs. */
const char	*cbor_err_str(enum cbor_err);

/* ---- low-level encoder: each returns 0, or -1 when the buffer refuses */
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
 * changed).  Returns 0, or -1 (buffer limit / ENOMEM / duplicate keys). */
int		cbor_encode(struct buf *, const struct cbor_val *v);
/* Computes the dag-cbor CID of v's canonical encoding.  Returns 0 or -1. */
int		cbor_cid(const struct cbor_val *v, struct cid *out);

/* Constructors, all allocating from a; NULL on failure. */
struct cbor_val	*cbor_new_null(struct arena *a);
struct cbor_val	*cbor_new_bool(struct arena *a, int b);
struct cbor_val	*cbor_new_int(struct arena *a, int64_t i);
struct cbor_val	*cbor_new_text(struct arena *a, const char *s, size_t len);
struct cbor_val	*cbor_new_cstr(struct arena *a, const char *s);
struct cbor_val	*cbor_new_bytes(struct arena *a, const void *p, size_t len);
struct cbor_val	*cbor_new_link(struct arena *a, const struct cid *c);
struct cbor_val	*cbor_new_array(struct arena *a, size_t cap);
struct cbor_val	*cbor_new_map(struct arena *a, size_t cap);
/* Appends to an array / map made with a capacity (grows in the arena).
 * Return 0 or -1. cbor_map_set replaces an existing key's value. */
int		 cbor_array_push(struct arena *a, struct cbor_val *arr,
		    struct cbor_val *item);
int		 cbor_map_set(struct arena *a, struct cbor_val *map,
		    const char *key, struct cbor_val *val);
/* Looks up a key in a map; NULL when absent or v is not a map. */
struct cbor_val	*cbor_map_get(const struct cbor_val *map, const char *key);

#endif
