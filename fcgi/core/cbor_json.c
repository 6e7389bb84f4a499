/*
 * cbor_json.c: the atproto JSON form of the data model
 * (atproto.com/specs/data-model, "JSON Representation"), both ways, with
 * jansson; a direct JSON text writer matching the reference's
 * JSON.stringify; and the data-model record checks ($type, blobs).
 * Does not own JSON text parsing (jansson) or the CBOR bytes (cbor.c).
 *
 * Error convention: enum cbor_json_err; writers return 0/-1, builders
 * NULL on failure.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cbor_json.h"
#include "enc.h"
#include "pds_limits.h"

#define CJ_INDEX_MAX	4294967294ULL	/* largest JS array index, 2^32-2 */
#define CJ_INDEX_DIGITS	10		/* digits of CJ_INDEX_MAX */
#define CJ_INT_CHARS	24		/* "-9223372036854775808" + NUL */
#define CJ_SORT_STACK	32		/* maps up to this many pairs sort
					 * on the stack */

static const char *const cj_errs[CJ_ERR__MAX] = {
	"ok",						/* CJ_OK */
	"non-integer number",				/* CJ_ERR_FLOAT */
	"integer outside the safe range",		/* CJ_ERR_RANGE */
	"invalid $link object",				/* CJ_ERR_LINK */
	"invalid $bytes object",			/* CJ_ERR_BYTES */
	"invalid blob object",				/* CJ_ERR_BLOB */
	"nesting too deep",				/* CJ_ERR_DEPTH */
	"unsupported JSON value",			/* CJ_ERR_TYPE */
	"out of memory",				/* CJ_ERR_NOMEM */
	"invalid JSON",					/* CJ_ERR_SYNTAX */
	"invalid key: __proto__",			/* CJ_ERR_KEY */
	"record is not an object",			/* CJ_ERR_NOTMAP */
	"invalid $type property",			/* CJ_ERR_DOLLARTYPE */
	"too many items or string too long",		/* CJ_ERR_LIMIT */
};

const char *
cbor_json_err_str(enum cbor_json_err e)
{
	if ((unsigned)e >= CJ_ERR__MAX)
		return "unknown error";
	return cj_errs[e];
}

/* ---- JSON -> tree ---------------------------------------------------- */

static enum cbor_json_err	fj_val(struct arena *, const json_t *,
				    struct cbor_val *, unsigned);

static int
key_is(const char *k, size_t klen, const char *lit)
{
	size_t	n = strlen(lit);

	return klen == n && memcmp(k, lit, n) == 0;
}

/* {"$link": "b..."}: the only key, a blessed CID string. */
static enum cbor_json_err
fj_link(const json_t *j, const json_t *s, struct cbor_val *out)
{
	if (json_object_size(j) != 1 || !json_is_string(s) ||
	    cid_parse_str(&out->u.link, json_string_value(s),
	    json_string_length(s)) == -1)
		return CJ_ERR_LINK;
	out->type = CBOR_LINK;
	return CJ_OK;
}

/* {"$bytes": "<base64>"}: the only key; base64 read leniently as the
 * reference does (enc_b64_decode_lenient). */
static enum cbor_json_err
fj_bytes(struct arena *a, const json_t *j, const json_t *s,
    struct cbor_val *out)
{
	uint8_t	*p;
	size_t	 len, cap;
	ssize_t	 n;

	if (json_object_size(j) != 1 || !json_is_string(s))
		return CJ_ERR_BYTES;
	len = json_string_length(s);
	cap = len / 4 * 3 + 3;
	if (cap > LIM_CBOR_STRING + 3)
		return CJ_ERR_LIMIT;
	if ((p = arena_alloc(a, cap)) == NULL)
		return CJ_ERR_NOMEM;
	if ((n = enc_b64_decode_lenient(json_string_value(s), len, p,
	    cap)) < 0)
		return CJ_ERR_BYTES;
	if ((size_t)n > LIM_CBOR_STRING)
		return CJ_ERR_LIMIT;
	out->type = CBOR_BYTES;
	out->u.s.p = p;
	out->u.s.len = (size_t)n;
	return CJ_OK;
}

static enum cbor_json_err
fj_object(struct arena *a, const json_t *j, struct cbor_val *out,
    unsigned depth)
{
	struct cbor_pair	*pairs = NULL;
	struct cbor_val		*vals = NULL;
	const json_t		*s;
	const char		*k;
	void			*it;
	size_t			 n, i = 0, klen;
	enum cbor_json_err	 e;

	/* The reference looks for $link first, then $bytes. */
	if ((s = json_object_get(j, "$link")) != NULL)
		return fj_link(j, s, out);
	if ((s = json_object_get(j, "$bytes")) != NULL)
		return fj_bytes(a, j, s, out);
	if (depth >= LIM_JSON_DEPTH)
		return CJ_ERR_DEPTH;
	if ((n = json_object_size(j)) > LIM_CBOR_ITEMS)
		return CJ_ERR_LIMIT;
	if (n > 0 && ((pairs = arena_alloc(a, n * sizeof(*pairs))) == NULL ||
	    (vals = arena_alloc(a, n * sizeof(*vals))) == NULL))
		return CJ_ERR_NOMEM;
	for (it = json_object_iter((json_t *)j); it != NULL && i < n;
	    it = json_object_iter_next((json_t *)j, it), i++) {
		k = json_object_iter_key(it);
		klen = json_object_iter_key_len(it);
		if (key_is(k, klen, "__proto__"))
			return CJ_ERR_KEY;
		if (klen > LIM_CBOR_STRING)
			return CJ_ERR_LIMIT;
		if (!cbor_utf8_validate((const uint8_t *)k, klen))
			return CJ_ERR_TYPE;
		if ((pairs[i].key = arena_memdup(a, k, klen)) == NULL)
			return CJ_ERR_NOMEM;
		pairs[i].klen = klen;
		pairs[i].val = &vals[i];
		if ((e = fj_val(a, json_object_iter_value(it), &vals[i],
		    depth + 1)) != CJ_OK)
			return e;
	}
	out->type = CBOR_MAP;
	out->u.m.pairs = pairs;
	out->u.m.n = out->u.m.cap = i;
	/* jansson keys are unique, so sorting cannot find duplicates. */
	return cbor_map_sort(out) == 0 ? CJ_OK : CJ_ERR_TYPE;
}

static enum cbor_json_err
fj_array(struct arena *a, const json_t *j, struct cbor_val *out,
    unsigned depth)
{
	struct cbor_val		**items = NULL, *vals = NULL;
	size_t			  n, i;
	enum cbor_json_err	  e;

	if (depth >= LIM_JSON_DEPTH)
		return CJ_ERR_DEPTH;
	if ((n = json_array_size(j)) > LIM_CBOR_ITEMS)
		return CJ_ERR_LIMIT;
	if (n > 0 && ((items = arena_alloc(a, n * sizeof(*items))) == NULL ||
	    (vals = arena_alloc(a, n * sizeof(*vals))) == NULL))
		return CJ_ERR_NOMEM;
	for (i = 0; i < n; i++) {
		items[i] = &vals[i];
		if ((e = fj_val(a, json_array_get(j, i), &vals[i],
		    depth + 1)) != CJ_OK)
			return e;
	}
	out->type = CBOR_ARRAY;
	out->u.a.items = items;
	out->u.a.n = out->u.a.cap = n;
	return CJ_OK;
}

/*
 * Numbers: the data model has integers only.  jansson gives a real for
 * any number written with a fraction or exponent; like Number.isSafeInteger
 * on the reference's side, an integral real in the safe range is that
 * integer (123.0 is 123, -0.0 is 0).
 */
static enum cbor_json_err
fj_real(double d, struct cbor_val *out)
{
	if (!isfinite(d) || d != floor(d))
		return CJ_ERR_FLOAT;
	if (fabs(d) > (double)LIM_JSON_SAFE_INT)
		return CJ_ERR_RANGE;
	out->type = CBOR_INT;
	out->u.i = (int64_t)d;
	return CJ_OK;
}

static enum cbor_json_err
fj_string(struct arena *a, const json_t *j, struct cbor_val *out)
{
	size_t	 len = json_string_length(j);
	void	*p;

	if (len > LIM_CBOR_STRING)
		return CJ_ERR_LIMIT;
	/* jansson checks UTF-8 when parsing, but not json_*_nocheck(). */
	if (!cbor_utf8_validate((const uint8_t *)json_string_value(j), len))
		return CJ_ERR_TYPE;
	if ((p = arena_memdup(a, json_string_value(j), len)) == NULL)
		return CJ_ERR_NOMEM;
	out->type = CBOR_TEXT;
	out->u.s.p = p;
	out->u.s.len = len;
	return CJ_OK;
}

static enum cbor_json_err
fj_val(struct arena *a, const json_t *j, struct cbor_val *out,
    unsigned depth)
{
	json_int_t	i;

	memset(out, 0, sizeof(*out));
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		return fj_object(a, j, out, depth);
	case JSON_ARRAY:
		return fj_array(a, j, out, depth);
	case JSON_STRING:
		return fj_string(a, j, out);
	case JSON_INTEGER:
		i = json_integer_value(j);
		if (i > LIM_JSON_SAFE_INT || i < -LIM_JSON_SAFE_INT)
			return CJ_ERR_RANGE;
		out->type = CBOR_INT;
		out->u.i = i;
		return CJ_OK;
	case JSON_REAL:
		return fj_real(json_real_value(j), out);
	case JSON_TRUE:
	case JSON_FALSE:
		out->type = CBOR_BOOL;
		out->u.b = json_is_true(j);
		return CJ_OK;
	case JSON_NULL:
		out->type = CBOR_NULL;
		return CJ_OK;
	default:
		return CJ_ERR_TYPE;
	}
}

enum cbor_json_err
cbor_from_json(struct arena *a, const json_t *j, struct cbor_val **out)
{
	struct cbor_val		*root;
	enum cbor_json_err	 e;

	*out = NULL;
	if (j == NULL)
		return CJ_ERR_TYPE;
	if ((root = arena_alloc(a, sizeof(*root))) == NULL)
		return CJ_ERR_NOMEM;
	if ((e = fj_val(a, j, root, 0)) != CJ_OK)
		return e;
	*out = root;
	return CJ_OK;
}

enum cbor_json_err
cbor_json_parse(struct arena *a, const char *p, size_t len,
    struct cbor_val **out)
{
	json_error_t		 err;
	json_t			*j;
	enum cbor_json_err	 e;

	*out = NULL;
	if ((j = json_loadb(p, len, JSON_DECODE_ANY | JSON_ALLOW_NUL,
	    &err)) == NULL)
		return CJ_ERR_SYNTAX;
	e = cbor_from_json(a, j, out);
	json_decref(j);
	return e;
}

/* ---- key order for output -------------------------------------------- */

/* 1 when k is a JavaScript array index: canonical decimal <= 2^32-2.
 * Such keys come first in a JS object's own-key order. */
static int
is_index_key(const char *k, size_t klen)
{
	uint64_t	v = 0;
	size_t		i;

	if (klen == 0 || klen > CJ_INDEX_DIGITS || (k[0] == '0' && klen > 1))
		return 0;
	for (i = 0; i < klen; i++) {
		if (k[i] < '0' || k[i] > '9')
			return 0;
		v = v * 10 + (uint64_t)(k[i] - '0');
	}
	return v <= CJ_INDEX_MAX;
}

static int
pairp_cmp(const void *a, const void *b)
{
	const struct cbor_pair	*pa = *(const struct cbor_pair *const *)a;
	const struct cbor_pair	*pb = *(const struct cbor_pair *const *)b;

	return cbor_key_cmp(pa->key, pa->klen, pb->key, pb->klen);
}

/*
 * Fills order[] with the map's pairs in output order: the canonical
 * (CBOR) order with array-index keys moved first.  In canonical order
 * index keys are already in numeric order (shorter = smaller, same length
 * compares as digits).  order must hold n pointers.
 */
static void
map_order(const struct cbor_val *m, const struct cbor_pair **order)
{
	size_t	i, o = 0, n = m->u.m.n;
	int	sorted = 1;

	for (i = 0; i < n; i++) {
		order[i] = &m->u.m.pairs[i];
		if (i > 0 && cbor_key_cmp(order[i - 1]->key,
		    order[i - 1]->klen, order[i]->key, order[i]->klen) > 0)
			sorted = 0;
	}
	if (!sorted)
		qsort(order, n, sizeof(*order), pairp_cmp);
	/* Stable partition: index keys first.  Two passes over a copy are
	 * avoided by rotating each index key down into place. */
	for (i = 0; i < n; i++) {
		const struct cbor_pair	*t = order[i];
		size_t			 j;

		if (!is_index_key(t->key, t->klen))
			continue;
		for (j = i; j > o; j--)
			order[j] = order[j - 1];
		order[o++] = t;
	}
}

/* order[] from the stack for small maps, else the heap; NULL on ENOMEM. */
static const struct cbor_pair **
order_get(const struct cbor_val *m, const struct cbor_pair **stack)
{
	const struct cbor_pair	**o = stack;

	if (m->u.m.n > CJ_SORT_STACK &&
	    (o = reallocarray(NULL, m->u.m.n, sizeof(*o))) == NULL)
		return NULL;
	map_order(m, o);
	return o;
}

static void
order_put(const struct cbor_pair **o, const struct cbor_pair **stack)
{
	if (o != stack)
		free(o);
}

/* ---- tree -> jansson --------------------------------------------------- */

static json_t	*tj_val(const struct cbor_val *, unsigned);

static json_t *
tj_bytes(const uint8_t *p, size_t len)
{
	json_t	*o, *s;
	char	*t;

	if (len > LIM_CBOR_STRING || (t = malloc(ENC_B64_LEN(len))) == NULL)
		return NULL;
	s = json_stringn_nocheck(t, enc_b64_encode(ENC_B64_STD, 0, p, len,
	    t));
	free(t);
	if (s == NULL || (o = json_object()) == NULL) {
		json_decref(s);
		return NULL;
	}
	if (json_object_set_new_nocheck(o, "$bytes", s) == -1) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
tj_link(const struct cid *c)
{
	char	 s[CID_STR_LEN];
	json_t	*o;

	cid_format(c, s);
	if ((o = json_object()) == NULL)
		return NULL;
	if (json_object_set_new_nocheck(o, "$link", json_string_nocheck(s))
	    == -1) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
tj_map(const struct cbor_val *v, unsigned depth)
{
	const struct cbor_pair	*stack[CJ_SORT_STACK], **order;
	json_t			*o = NULL, *e;
	size_t			 i;

	if ((order = order_get(v, stack)) == NULL)
		return NULL;
	if ((o = json_object()) == NULL)
		goto fail;
	for (i = 0; i < v->u.m.n; i++) {
		if ((e = tj_val(order[i]->val, depth + 1)) == NULL ||
		    json_object_setn_new_nocheck(o, order[i]->key,
		    order[i]->klen, e) == -1)
			goto fail;
	}
	order_put(order, stack);
	return o;
fail:
	order_put(order, stack);
	json_decref(o);
	return NULL;
}

static json_t *
tj_val(const struct cbor_val *v, unsigned depth)
{
	json_t	*a, *e;
	size_t	 i;

	switch (v->type) {
	case CBOR_NULL:
		return json_null();
	case CBOR_BOOL:
		return json_boolean(v->u.b);
	case CBOR_INT:
		return json_integer(v->u.i);
	case CBOR_TEXT:
		return json_stringn_nocheck((const char *)v->u.s.p,
		    v->u.s.len);
	case CBOR_BYTES:
		return tj_bytes(v->u.s.p, v->u.s.len);
	case CBOR_LINK:
		return tj_link(&v->u.link);
	case CBOR_ARRAY:
		if (depth >= LIM_CBOR_DEPTH || (a = json_array()) == NULL)
			return NULL;
		for (i = 0; i < v->u.a.n; i++) {
			if ((e = tj_val(v->u.a.items[i], depth + 1)) == NULL ||
			    json_array_append_new(a, e) == -1) {
				json_decref(a);
				return NULL;
			}
		}
		return a;
	case CBOR_MAP:
		if (depth >= LIM_CBOR_DEPTH)
			return NULL;
		return tj_map(v, depth);
	default:
		return NULL;
	}
}

json_t *
cbor_to_json(const struct cbor_val *v)
{
	return v == NULL ? NULL : tj_val(v, 0);
}

/* ---- tree -> JSON text ------------------------------------------------- */

/* JSON.stringify's QuoteJSONString (ECMA-262 25.5.2.3) on valid UTF-8. */
static int
jw_string(struct buf *b, const uint8_t *p, size_t len)
{
	static const char	 hex[] = "0123456789abcdef";
	char			 esc[6];
	size_t			 i, run = 0, el;
	uint8_t			 c;

	if (buf_putc(b, '"') == -1)
		return -1;
	for (i = 0; i < len; i++) {
		c = p[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		if (buf_append(b, p + run, i - run) == -1)
			return -1;
		run = i + 1;
		esc[0] = '\\';
		el = 2;
		switch (c) {
		case '"':  esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			el = 6;
			break;
		}
		if (buf_append(b, esc, el) == -1)
			return -1;
	}
	if (buf_append(b, p + run, len - run) == -1)
		return -1;
	return buf_putc(b, '"');
}

static int
jw_int(struct buf *b, int64_t i)
{
	char		 t[CJ_INT_CHARS], *o = t + sizeof(t);
	uint64_t	 u = i < 0 ? (uint64_t)0 - (uint64_t)i : (uint64_t)i;

	do {
		*--o = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (i < 0)
		*--o = '-';
	return buf_append(b, o, (size_t)(t + sizeof(t) - o));
}

static int
jw_bytes(struct buf *b, const uint8_t *p, size_t len)
{
	size_t	need = ENC_B64_LEN(len);

	if (len > LIM_CBOR_STRING ||
	    buf_append(b, "{\"$bytes\":\"", 11) == -1 ||
	    buf_reserve(b, need) == -1)
		return -1;
	b->len += enc_b64_encode(ENC_B64_STD, 0, p, len,
	    (char *)b->data + b->len);
	return buf_append(b, "\"}", 2);
}

static int
jw_link(struct buf *b, const struct cid *c)
{
	char	s[CID_STR_LEN];

	cid_format(c, s);
	if (buf_append(b, "{\"$link\":\"", 10) == -1 ||
	    buf_append(b, s, CID_STR_LEN - 1) == -1)
		return -1;
	return buf_append(b, "\"}", 2);
}

static int	jw_val(struct buf *, const struct cbor_val *, unsigned);

static int
jw_map(struct buf *b, const struct cbor_val *v, unsigned depth)
{
	const struct cbor_pair	*stack[CJ_SORT_STACK], **order;
	size_t			 i;
	int			 rc = -1;

	if ((order = order_get(v, stack)) == NULL)
		return -1;
	if (buf_putc(b, '{') == -1)
		goto out;
	for (i = 0; i < v->u.m.n; i++) {
		if ((i > 0 && buf_putc(b, ',') == -1) ||
		    jw_string(b, (const uint8_t *)order[i]->key,
		    order[i]->klen) == -1 || buf_putc(b, ':') == -1 ||
		    jw_val(b, order[i]->val, depth + 1) == -1)
			goto out;
	}
	rc = buf_putc(b, '}');
out:
	order_put(order, stack);
	return rc;
}

static int
jw_val(struct buf *b, const struct cbor_val *v, unsigned depth)
{
	size_t	i;

	switch (v->type) {
	case CBOR_NULL:
		return buf_append(b, "null", 4);
	case CBOR_BOOL:
		return v->u.b ? buf_append(b, "true", 4) :
		    buf_append(b, "false", 5);
	case CBOR_INT:
		return jw_int(b, v->u.i);
	case CBOR_TEXT:
		return jw_string(b, v->u.s.p, v->u.s.len);
	case CBOR_BYTES:
		return jw_bytes(b, v->u.s.p, v->u.s.len);
	case CBOR_LINK:
		return jw_link(b, &v->u.link);
	case CBOR_ARRAY:
		if (depth >= LIM_CBOR_DEPTH || buf_putc(b, '[') == -1)
			return -1;
		for (i = 0; i < v->u.a.n; i++)
			if ((i > 0 && buf_putc(b, ',') == -1) ||
			    jw_val(b, v->u.a.items[i], depth + 1) == -1)
				return -1;
		return buf_putc(b, ']');
	case CBOR_MAP:
		if (depth >= LIM_CBOR_DEPTH)
			return -1;
		return jw_map(b, v, depth);
	default:
		return -1;
	}
}

int
cbor_json_write(struct buf *b, const struct cbor_val *v)
{
	return jw_val(b, v, 0);
}

/* ---- record checks ------------------------------------------------------ */

static int
text_is(const struct cbor_val *v, const char *lit)
{
	return v != NULL && v->type == CBOR_TEXT &&
	    key_is((const char *)v->u.s.p, v->u.s.len, lit);
}

/* isTypedBlobRef (strict) of @atproto/lex-data: exactly four keys. */
static enum cbor_json_err
blob_validate(const struct cbor_val *m)
{
	const struct cbor_val	*ref, *mime, *size;

	ref = cbor_map_getn(m, "ref", 3);
	mime = cbor_map_getn(m, "mimeType", 8);
	size = cbor_map_getn(m, "size", 4);
	if (m->u.m.n != 4 || ref == NULL || mime == NULL || size == NULL)
		return CJ_ERR_BLOB;
	if (ref->type != CBOR_LINK ||
	    cid_codec(&ref->u.link) != CID_CODEC_RAW)
		return CJ_ERR_BLOB;
	if (mime->type != CBOR_TEXT ||
	    memchr(mime->u.s.p, '/', mime->u.s.len) == NULL)
		return CJ_ERR_BLOB;
	if (size->type != CBOR_INT || size->u.i < 0 ||
	    size->u.i > LIM_JSON_SAFE_INT)
		return CJ_ERR_BLOB;
	return CJ_OK;
}

static enum cbor_json_err
rv_val(const struct cbor_val *v, unsigned depth)
{
	const struct cbor_val	*t;
	enum cbor_json_err	 e;
	size_t			 i;

	if (depth > LIM_CBOR_DEPTH)
		return CJ_ERR_DEPTH;
	if (v->type == CBOR_ARRAY) {
		for (i = 0; i < v->u.a.n; i++)
			if ((e = rv_val(v->u.a.items[i], depth + 1)) != CJ_OK)
				return e;
		return CJ_OK;
	}
	if (v->type != CBOR_MAP)
		return CJ_OK;
	if ((t = cbor_map_getn(v, "$type", 5)) != NULL) {
		if (t->type != CBOR_TEXT || t->u.s.len == 0)
			return CJ_ERR_DOLLARTYPE;
		if (text_is(t, "blob"))
			return blob_validate(v);
	}
	for (i = 0; i < v->u.m.n; i++)
		if ((e = rv_val(v->u.m.pairs[i].val, depth + 1)) != CJ_OK)
			return e;
	return CJ_OK;
}

enum cbor_json_err
cbor_json_record_validate(const struct cbor_val *v)
{
	if (v == NULL || v->type != CBOR_MAP)
		return CJ_ERR_NOTMAP;
	return rv_val(v, 0);
}
