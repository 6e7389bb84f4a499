/*
 * cbor.c: DAG-CBOR as atproto restricts it (atproto.com/specs/data-model;
 * ipld.io/specs/codecs/dag-cbor/spec; RFC 8949 section 4.2.1 for the
 * minimal heads).  Owns the low-level encoder, the strict decoder and
 * checker, the value-tree encoder and the tree constructors.  Does not
 * own the JSON form (cbor_json.c) or CIDs themselves (cid.c).
 *
 * Error convention: the decoder returns enum cbor_err; everything else
 * returns 0/-1 or NULL.
 */
#include <stdlib.h>
#include <string.h>

#include "cbor.h"
#include "pds_limits.h"

#define MT_UINT		0
#define MT_NINT		1
#define MT_BYTES	2
#define MT_TEXT		3
#define MT_ARRAY	4
#define MT_MAP		5
#define MT_TAG		6
#define MT_SIMPLE	7

#define CBOR_FALSE	0xf4
#define CBOR_TRUE	0xf5
#define CBOR_NULLB	0xf6
#define CBOR_TAG_CID	42
#define CBOR_CID_PAYLOAD (1 + CID_BIN_LEN)	/* 0x00 prefix + binary CID */
#define CBOR_HEAD_MAX	9			/* initial byte + 8 */
#define CBOR_SORT_STACK	32	/* maps up to this many pairs sort on stack */

static const char *const cbor_errs[CBOR_ERR__MAX] = {
	"ok",						/* CBOR_OK */
	"truncated input",				/* CBOR_ERR_TRUNCATED */
	"trailing bytes after the item",		/* CBOR_ERR_TRAILING */
	"non-canonical encoding",			/* CBOR_ERR_NONCANONICAL */
	"unsupported CBOR type",			/* CBOR_ERR_TYPE */
	"duplicate map key",				/* CBOR_ERR_DUPKEY */
	"map key is not a text string",			/* CBOR_ERR_KEYTYPE */
	"invalid UTF-8 in text",			/* CBOR_ERR_UTF8 */
	"invalid CID link",				/* CBOR_ERR_LINK */
	"integer out of range",				/* CBOR_ERR_RANGE */
	"size, count or depth limit exceeded",		/* CBOR_ERR_LIMIT */
	"out of memory",				/* CBOR_ERR_NOMEM */
};

const char *
cbor_err_str(enum cbor_err e)
{
	if ((unsigned)e >= CBOR_ERR__MAX)
		return "unknown error";
	return cbor_errs[e];
}

/*
 * DAG-CBOR "length-first" key order (the RFC 7049 canonical order).  An
 * inline copy so the decoder's and encoder's hot loops need no call.
 */
static inline int
key_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	if (alen != blen)
		return alen < blen ? -1 : 1;
	return memcmp(a, b, alen);
}

int
cbor_key_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	return key_cmp(a, alen, b, blen);
}

/* ---- UTF-8 ----------------------------------------------------------- */

int
cbor_utf8_validate(const uint8_t *p, size_t len)
{
	size_t		i = 0;
	uint64_t	w;
	uint8_t		c, lo, hi;

	while (i < len) {
		/* Most text is ASCII: skip 8 bytes at a time. */
		if (len - i >= 8) {
			memcpy(&w, p + i, 8);
			if ((w & 0x8080808080808080ULL) == 0) {
				i += 8;
				continue;
			}
		}
		c = p[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		lo = 0x80;
		hi = 0xbf;
		if (c < 0xc2 || c > 0xf4)	/* continuation, overlong, >U+10FFFF */
			return 0;
		if (c < 0xe0) {
			if (len - i < 2 || (p[i + 1] & 0xc0) != 0x80)
				return 0;
			i += 2;
			continue;
		}
		if (c == 0xe0)
			lo = 0xa0;		/* overlong 3-byte */
		else if (c == 0xed)
			hi = 0x9f;		/* UTF-16 surrogates */
		else if (c == 0xf0)
			lo = 0x90;		/* overlong 4-byte */
		else if (c == 0xf4)
			hi = 0x8f;		/* past U+10FFFF */
		if (c < 0xf0) {
			if (len - i < 3 || p[i + 1] < lo || p[i + 1] > hi ||
			    (p[i + 2] & 0xc0) != 0x80)
				return 0;
			i += 3;
		} else {
			if (len - i < 4 || p[i + 1] < lo || p[i + 1] > hi ||
			    (p[i + 2] & 0xc0) != 0x80 ||
			    (p[i + 3] & 0xc0) != 0x80)
				return 0;
			i += 4;
		}
	}
	return 1;
}

/* ---- low-level encoder ---------------------------------------------- */

static size_t
head_len(uint64_t v)
{
	if (v < 24)
		return 1;
	if (v <= 0xff)
		return 2;
	if (v <= 0xffff)
		return 3;
	if (v <= 0xffffffffULL)
		return 5;
	return 9;
}

/* Writes the minimal head for (major, v) at o; returns the byte count. */
static size_t
head_write(uint8_t *o, unsigned major, uint64_t v)
{
	uint8_t	mt = (uint8_t)(major << 5);
	size_t	n = head_len(v), i;

	if (n == 1) {
		o[0] = (uint8_t)(mt | v);
		return 1;
	}
	o[0] = (uint8_t)(mt | (n == 2 ? 24 : n == 3 ? 25 : n == 5 ? 26 : 27));
	for (i = n - 1; i >= 1; i--) {
		o[i] = (uint8_t)(v & 0xff);
		v >>= 8;
	}
	return n;
}

static int
put_head(struct buf *b, unsigned major, uint64_t v)
{
	if (buf_reserve(b, head_len(v)) == -1)
		return -1;
	b->len += head_write(b->data + b->len, major, v);
	return 0;
}

/* A head followed by len payload bytes, reserved at once. */
static int
put_string(struct buf *b, unsigned major, const void *p, size_t len)
{
	size_t	hl = head_len(len);

	if (len > SIZE_MAX - hl || buf_reserve(b, hl + len) == -1)
		return -1;
	b->len += head_write(b->data + b->len, major, len);
	if (len > 0)
		memcpy(b->data + b->len, p, len);
	b->len += len;
	return 0;
}

int
cbor_put_uint(struct buf *b, uint64_t v)
{
	return put_head(b, MT_UINT, v);
}

int
cbor_put_int(struct buf *b, int64_t i)
{
	if (i >= 0)
		return put_head(b, MT_UINT, (uint64_t)i);
	/* -1 - i, without overflow for INT64_MIN */
	return put_head(b, MT_NINT, (uint64_t)(-(i + 1)));
}

int
cbor_put_bytes(struct buf *b, const void *p, size_t len)
{
	return put_string(b, MT_BYTES, p, len);
}

int
cbor_put_text(struct buf *b, const char *s, size_t len)
{
	return put_string(b, MT_TEXT, s, len);
}

int
cbor_put_cstr(struct buf *b, const char *s)
{
	return put_string(b, MT_TEXT, s, strlen(s));
}

int
cbor_put_array(struct buf *b, size_t n)
{
	return put_head(b, MT_ARRAY, n);
}

int
cbor_put_map(struct buf *b, size_t n)
{
	return put_head(b, MT_MAP, n);
}

int
cbor_put_link(struct buf *b, const struct cid *c)
{
	uint8_t	*o;

	/* d8 2a (tag 42), 58 25 (bytes, 37), 00, binary CID */
	if (buf_reserve(b, 5 + CID_BIN_LEN) == -1)
		return -1;
	o = b->data + b->len;
	o[0] = 0xd8;
	o[1] = CBOR_TAG_CID;
	o[2] = 0x58;
	o[3] = CBOR_CID_PAYLOAD;
	o[4] = 0x00;
	memcpy(o + 5, c->bytes, CID_BIN_LEN);
	b->len += 5 + CID_BIN_LEN;
	return 0;
}

int
cbor_put_bool(struct buf *b, int v)
{
	return buf_putc(b, v ? CBOR_TRUE : CBOR_FALSE);
}

int
cbor_put_null(struct buf *b)
{
	return buf_putc(b, CBOR_NULLB);
}

/* ---- decoder --------------------------------------------------------- */

struct cbor_dec {
	const uint8_t	*p;	/* next unread byte */
	const uint8_t	*end;
	struct arena	*a;	/* NULL: check only, build nothing */
};

static enum cbor_err	dec_item(struct cbor_dec *, struct cbor_val *,
			    unsigned);


static uint64_t
be_read(const uint8_t *p, size_t n)
{
	uint64_t	v = 0;
	size_t		i;

	for (i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/*
 * Reads the argument of a head whose initial byte had additional info ai.
 * Minimal length is required (RFC 8949 4.2.1, "preferred serialization"),
 * and indefinite lengths (ai 31) are refused.
 */
static enum cbor_err
dec_arg(struct cbor_dec *d, unsigned ai, uint64_t *v)
{
	static const uint64_t	 least[4] = { 24, 0x100, 0x10000,
				    0x100000000ULL };
	size_t			 n;

	if (ai < 24) {
		*v = ai;
		return CBOR_OK;
	}
	if (ai == 31)
		return CBOR_ERR_NONCANONICAL;
	if (ai > 27)
		return CBOR_ERR_TYPE;		/* reserved: malformed */
	n = (size_t)1 << (ai - 24);
	if ((size_t)(d->end - d->p) < n)
		return CBOR_ERR_TRUNCATED;
	*v = be_read(d->p, n);
	d->p += n;
	if (*v < least[ai - 24])
		return CBOR_ERR_NONCANONICAL;
	return CBOR_OK;
}

static enum cbor_err
dec_simple(uint8_t ib, struct cbor_val *out)
{
	switch (ib) {
	case CBOR_FALSE:
	case CBOR_TRUE:
		if (out != NULL) {
			out->type = CBOR_BOOL;
			out->u.b = ib == CBOR_TRUE;
		}
		return CBOR_OK;
	case CBOR_NULLB:
		if (out != NULL)
			out->type = CBOR_NULL;
		return CBOR_OK;
	default:
		/* undefined, other simple values, floats, break */
		return CBOR_ERR_TYPE;
	}
}

/* A byte or text string of declared length len (head already read). */
static enum cbor_err
dec_str(struct cbor_dec *d, uint64_t len, int text, struct cbor_val *out)
{
	if (len > LIM_CBOR_STRING)
		return CBOR_ERR_LIMIT;
	if (len > (uint64_t)(d->end - d->p))
		return CBOR_ERR_TRUNCATED;
	if (text && !cbor_utf8_validate(d->p, (size_t)len))
		return CBOR_ERR_UTF8;
	if (out != NULL) {
		out->type = text ? CBOR_TEXT : CBOR_BYTES;
		out->u.s.p = d->p;
		out->u.s.len = (size_t)len;
	}
	d->p += len;
	return CBOR_OK;
}

/* Tag 42 holding bytes 0x00 + a blessed binary CID; nothing else. */
static enum cbor_err
dec_link(struct cbor_dec *d, uint64_t tag, struct cbor_val *out)
{
	struct cid	c;
	uint64_t	len;
	uint8_t		ib;
	enum cbor_err	e;

	if (tag != CBOR_TAG_CID)
		return CBOR_ERR_TYPE;
	if (d->p == d->end)
		return CBOR_ERR_TRUNCATED;
	ib = *d->p++;
	if (ib >> 5 != MT_BYTES)
		return CBOR_ERR_LINK;
	if ((e = dec_arg(d, ib & 31, &len)) != CBOR_OK)
		return e;
	if (len > (uint64_t)(d->end - d->p))
		return CBOR_ERR_TRUNCATED;
	if (len != CBOR_CID_PAYLOAD || d->p[0] != 0x00 ||
	    cid_parse_bytes(&c, d->p + 1, CID_BIN_LEN) != CID_BIN_LEN)
		return CBOR_ERR_LINK;
	d->p += len;
	if (out != NULL) {
		out->type = CBOR_LINK;
		out->u.link = c;
	}
	return CBOR_OK;
}

static enum cbor_err
dec_array(struct cbor_dec *d, uint64_t n, struct cbor_val *out,
    unsigned depth)
{
	struct cbor_val	**items = NULL, *vals = NULL;
	enum cbor_err	  e;
	size_t		  i;

	if (depth >= LIM_CBOR_DEPTH || n > LIM_CBOR_ITEMS)
		return CBOR_ERR_LIMIT;
	/* Each item takes at least one byte: never trust n beyond that. */
	if (n > (uint64_t)(d->end - d->p))
		return CBOR_ERR_TRUNCATED;
	if (out != NULL && n > 0) {
		items = arena_alloc(d->a, (size_t)n * sizeof(*items));
		vals = arena_alloc(d->a, (size_t)n * sizeof(*vals));
		if (items == NULL || vals == NULL)
			return CBOR_ERR_NOMEM;
	}
	for (i = 0; i < n; i++) {
		if (out != NULL)
			items[i] = &vals[i];
		if ((e = dec_item(d, out != NULL ? &vals[i] : NULL,
		    depth + 1)) != CBOR_OK)
			return e;
	}
	if (out != NULL) {
		out->type = CBOR_ARRAY;
		out->u.a.items = items;
		out->u.a.n = out->u.a.cap = (size_t)n;
	}
	return CBOR_OK;
}

/* A map key: a text string, UTF-8-checked. */
static enum cbor_err
dec_key(struct cbor_dec *d, const char **k, size_t *klen)
{
	uint64_t	len;
	uint8_t		ib;
	enum cbor_err	e;

	if (d->p == d->end)
		return CBOR_ERR_TRUNCATED;
	ib = *d->p++;
	if (ib >> 5 != MT_TEXT)
		return CBOR_ERR_KEYTYPE;
	if ((e = dec_arg(d, ib & 31, &len)) != CBOR_OK)
		return e;
	if (len > LIM_CBOR_STRING)
		return CBOR_ERR_LIMIT;
	if (len > (uint64_t)(d->end - d->p))
		return CBOR_ERR_TRUNCATED;
	if (!cbor_utf8_validate(d->p, (size_t)len))
		return CBOR_ERR_UTF8;
	*k = (const char *)d->p;
	*klen = (size_t)len;
	d->p += len;
	return CBOR_OK;
}

static enum cbor_err
dec_map(struct cbor_dec *d, uint64_t n, struct cbor_val *out,
    unsigned depth)
{
	struct cbor_pair	*pairs = NULL;
	struct cbor_val		*vals = NULL;
	const char		*k, *pk = NULL;
	size_t			 i, klen, pklen = 0;
	enum cbor_err		 e;
	int			 c;

	if (depth >= LIM_CBOR_DEPTH || n > LIM_CBOR_ITEMS)
		return CBOR_ERR_LIMIT;
	/* Each pair takes at least two bytes. */
	if (n > (uint64_t)(d->end - d->p) / 2)
		return CBOR_ERR_TRUNCATED;
	if (out != NULL && n > 0) {
		pairs = arena_alloc(d->a, (size_t)n * sizeof(*pairs));
		vals = arena_alloc(d->a, (size_t)n * sizeof(*vals));
		if (pairs == NULL || vals == NULL)
			return CBOR_ERR_NOMEM;
	}
	for (i = 0; i < n; i++) {
		if ((e = dec_key(d, &k, &klen)) != CBOR_OK)
			return e;
		if (i > 0 && (c = key_cmp(pk, pklen, k, klen)) >= 0)
			return c == 0 ? CBOR_ERR_DUPKEY :
			    CBOR_ERR_NONCANONICAL;
		pk = k;
		pklen = klen;
		if ((e = dec_item(d, out != NULL ? &vals[i] : NULL,
		    depth + 1)) != CBOR_OK)
			return e;
		if (out != NULL) {
			pairs[i].key = k;
			pairs[i].klen = klen;
			pairs[i].val = &vals[i];
		}
	}
	if (out != NULL) {
		out->type = CBOR_MAP;
		out->u.m.pairs = pairs;
		out->u.m.n = out->u.m.cap = (size_t)n;
	}
	return CBOR_OK;
}

/* One item; depth counts the containers around it. */
static enum cbor_err
dec_item(struct cbor_dec *d, struct cbor_val *out, unsigned depth)
{
	uint64_t	v;
	uint8_t		ib;
	enum cbor_err	e;

	if (d->p == d->end)
		return CBOR_ERR_TRUNCATED;
	ib = *d->p++;
	if (ib >> 5 == MT_SIMPLE)
		return dec_simple(ib, out);
	if ((e = dec_arg(d, ib & 31, &v)) != CBOR_OK)
		return e;
	switch (ib >> 5) {
	case MT_UINT:
	case MT_NINT:
		if (v > INT64_MAX)
			return CBOR_ERR_RANGE;
		if (out != NULL) {
			out->type = CBOR_INT;
			out->u.i = ib >> 5 == MT_UINT ? (int64_t)v :
			    -1 - (int64_t)v;
		}
		return CBOR_OK;
	case MT_BYTES:
		return dec_str(d, v, 0, out);
	case MT_TEXT:
		return dec_str(d, v, 1, out);
	case MT_ARRAY:
		return dec_array(d, v, out, depth);
	case MT_MAP:
		return dec_map(d, v, out, depth);
	default:
		return dec_link(d, v, out);
	}
}

static enum cbor_err
dec_top(struct cbor_dec *d, struct cbor_val *out)
{
	enum cbor_err	e;

	if ((size_t)(d->end - d->p) > LIM_CBOR_TOTAL)
		return CBOR_ERR_LIMIT;
	if ((e = dec_item(d, out, 0)) != CBOR_OK)
		return e;
	return d->p == d->end ? CBOR_OK : CBOR_ERR_TRAILING;
}

enum cbor_err
cbor_decode(struct arena *a, const uint8_t *p, size_t len,
    struct cbor_val **out)
{
	struct cbor_dec	 d = { p, p + len, a };
	struct cbor_val	*root;
	enum cbor_err	 e;

	*out = NULL;
	if (len > LIM_CBOR_TOTAL)
		return CBOR_ERR_LIMIT;
	if ((root = arena_alloc(a, sizeof(*root))) == NULL)
		return CBOR_ERR_NOMEM;
	if ((e = dec_top(&d, root)) != CBOR_OK)
		return e;
	*out = root;
	return CBOR_OK;
}

enum cbor_err
cbor_check(const uint8_t *p, size_t len)
{
	struct cbor_dec	d = { p, p + len, NULL };

	return dec_top(&d, NULL);
}

/* ---- value-tree encoder --------------------------------------------- */

static int	enc_val(struct buf *, const struct cbor_val *, unsigned);

static int
pair_cmp(const void *a, const void *b)
{
	const struct cbor_pair	*pa = *(const struct cbor_pair *const *)a;
	const struct cbor_pair	*pb = *(const struct cbor_pair *const *)b;

	return key_cmp(pa->key, pa->klen, pb->key, pb->klen);
}

/* Sorts n pair pointers; insertion sort for the small maps records have. */
static void
pairs_sort(const struct cbor_pair **v, size_t n)
{
	const struct cbor_pair	*t;
	size_t			 i, j;

	if (n > CBOR_SORT_STACK) {
		qsort(v, n, sizeof(*v), pair_cmp);
		return;
	}
	for (i = 1; i < n; i++) {
		t = v[i];
		for (j = i; j > 0 && key_cmp(v[j - 1]->key, v[j - 1]->klen,
		    t->key, t->klen) > 0; j--)
			v[j] = v[j - 1];
		v[j] = t;
	}
}

/* 1 when the pairs are strictly increasing (canonical, no duplicates). */
static int
pairs_canonical(const struct cbor_pair *p, size_t n)
{
	size_t	i;

	for (i = 1; i < n; i++)
		if (key_cmp(p[i - 1].key, p[i - 1].klen, p[i].key,
		    p[i].klen) >= 0)
			return 0;
	return 1;
}

static int
enc_pair(struct buf *b, const struct cbor_pair *p, unsigned depth)
{
	if (put_string(b, MT_TEXT, p->key, p->klen) == -1)
		return -1;
	return enc_val(b, p->val, depth + 1);
}

static int
enc_map(struct buf *b, const struct cbor_val *v, unsigned depth)
{
	const struct cbor_pair	*stack[CBOR_SORT_STACK];
	const struct cbor_pair	**s = stack;
	size_t			  i, n = v->u.m.n;
	int			  rc = -1;

	if (put_head(b, MT_MAP, n) == -1)
		return -1;
	if (pairs_canonical(v->u.m.pairs, n)) {
		for (i = 0; i < n; i++)
			if (enc_pair(b, &v->u.m.pairs[i], depth) == -1)
				return -1;
		return 0;
	}
	/* Out of order (built with cbor_map_set): sort pointers, not v. */
	if (n > CBOR_SORT_STACK &&
	    (s = reallocarray(NULL, n, sizeof(*s))) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		s[i] = &v->u.m.pairs[i];
	pairs_sort(s, n);
	for (i = 0; i < n; i++) {
		if ((i > 0 && key_cmp(s[i - 1]->key, s[i - 1]->klen,
		    s[i]->key, s[i]->klen) == 0) ||
		    enc_pair(b, s[i], depth) == -1)
			goto out;
	}
	rc = 0;
out:
	if (s != stack)
		free(s);
	return rc;
}

static int
enc_val(struct buf *b, const struct cbor_val *v, unsigned depth)
{
	size_t	i;

	switch (v->type) {
	case CBOR_NULL:
		return cbor_put_null(b);
	case CBOR_BOOL:
		return cbor_put_bool(b, v->u.b);
	case CBOR_INT:
		return cbor_put_int(b, v->u.i);
	case CBOR_BYTES:
		return put_string(b, MT_BYTES, v->u.s.p, v->u.s.len);
	case CBOR_TEXT:
		return put_string(b, MT_TEXT, v->u.s.p, v->u.s.len);
	case CBOR_LINK:
		return cbor_put_link(b, &v->u.link);
	case CBOR_ARRAY:
		if (depth >= LIM_CBOR_DEPTH ||
		    put_head(b, MT_ARRAY, v->u.a.n) == -1)
			return -1;
		for (i = 0; i < v->u.a.n; i++)
			if (enc_val(b, v->u.a.items[i], depth + 1) == -1)
				return -1;
		return 0;
	case CBOR_MAP:
		if (depth >= LIM_CBOR_DEPTH)
			return -1;
		return enc_map(b, v, depth);
	default:
		return -1;
	}
}

int
cbor_encode(struct buf *b, const struct cbor_val *v)
{
	return enc_val(b, v, 0);
}

int
cbor_encode_cid(struct buf *b, const struct cbor_val *v, struct cid *out)
{
	size_t	start = b->len;

	if (enc_val(b, v, 0) == -1)
		return -1;
	return cid_compute(out, CID_CODEC_DAG_CBOR, b->data + start,
	    b->len - start);
}

int
cbor_cid(const struct cbor_val *v, struct cid *out)
{
	struct buf	b;
	int		rc;

	buf_init(&b, LIM_CBOR_TOTAL);
	rc = cbor_encode_cid(&b, v, out);
	buf_free(&b);
	return rc;
}

/* ---- constructors ---------------------------------------------------- */

static struct cbor_val *
new_val(struct arena *a, enum cbor_type t)
{
	struct cbor_val	*v;

	if ((v = arena_alloc(a, sizeof(*v))) != NULL) {
		memset(v, 0, sizeof(*v));
		v->type = t;
	}
	return v;
}

struct cbor_val *
cbor_new_null(struct arena *a)
{
	return new_val(a, CBOR_NULL);
}

struct cbor_val *
cbor_new_bool(struct arena *a, int b)
{
	struct cbor_val	*v;

	if ((v = new_val(a, CBOR_BOOL)) != NULL)
		v->u.b = b != 0;
	return v;
}

struct cbor_val *
cbor_new_int(struct arena *a, int64_t i)
{
	struct cbor_val	*v;

	if ((v = new_val(a, CBOR_INT)) != NULL)
		v->u.i = i;
	return v;
}

static struct cbor_val *
new_str(struct arena *a, enum cbor_type t, const void *p, size_t len)
{
	struct cbor_val	*v;
	void		*copy;

	if (len > LIM_CBOR_STRING || (copy = arena_memdup(a, p, len)) == NULL ||
	    (v = new_val(a, t)) == NULL)
		return NULL;
	v->u.s.p = copy;
	v->u.s.len = len;
	return v;
}

struct cbor_val *
cbor_new_text(struct arena *a, const char *s, size_t len)
{
	if (!cbor_utf8_validate((const uint8_t *)s, len))
		return NULL;
	return new_str(a, CBOR_TEXT, s, len);
}

struct cbor_val *
cbor_new_cstr(struct arena *a, const char *s)
{
	return cbor_new_text(a, s, strlen(s));
}

struct cbor_val *
cbor_new_bytes(struct arena *a, const void *p, size_t len)
{
	return new_str(a, CBOR_BYTES, p, len);
}

struct cbor_val *
cbor_new_link(struct arena *a, const struct cid *c)
{
	struct cbor_val	*v;

	if ((v = new_val(a, CBOR_LINK)) != NULL)
		v->u.link = *c;
	return v;
}

struct cbor_val *
cbor_new_array(struct arena *a, size_t cap)
{
	struct cbor_val	*v;

	if (cap > LIM_CBOR_ITEMS || (v = new_val(a, CBOR_ARRAY)) == NULL)
		return NULL;
	if (cap > 0 &&
	    (v->u.a.items = arena_calloc(a, cap, sizeof(*v->u.a.items))) ==
	    NULL)
		return NULL;
	v->u.a.cap = cap;
	return v;
}

struct cbor_val *
cbor_new_map(struct arena *a, size_t cap)
{
	struct cbor_val	*v;

	if (cap > LIM_CBOR_ITEMS || (v = new_val(a, CBOR_MAP)) == NULL)
		return NULL;
	if (cap > 0 &&
	    (v->u.m.pairs = arena_calloc(a, cap, sizeof(*v->u.m.pairs))) ==
	    NULL)
		return NULL;
	v->u.m.cap = cap;
	return v;
}

/* Doubles an arena array of n used slots of size sz to hold one more. */
static void *
grow(struct arena *a, void *old, size_t n, size_t *cap, size_t sz)
{
	size_t	ncap = *cap < 4 ? 8 : *cap * 2;
	void	*p;

	if (n >= LIM_CBOR_ITEMS)
		return NULL;
	if (ncap > LIM_CBOR_ITEMS)
		ncap = LIM_CBOR_ITEMS;
	if ((p = arena_calloc(a, ncap, sz)) == NULL)
		return NULL;
	if (n > 0)
		memcpy(p, old, n * sz);
	*cap = ncap;
	return p;
}

int
cbor_array_push(struct arena *a, struct cbor_val *arr, struct cbor_val *item)
{
	struct cbor_val	**p;

	if (arr == NULL || item == NULL || arr->type != CBOR_ARRAY)
		return -1;
	if (arr->u.a.n == arr->u.a.cap) {
		if ((p = grow(a, arr->u.a.items, arr->u.a.n, &arr->u.a.cap,
		    sizeof(*p))) == NULL)
			return -1;
		arr->u.a.items = p;
	}
	arr->u.a.items[arr->u.a.n++] = item;
	return 0;
}

struct cbor_val *
cbor_map_getn(const struct cbor_val *map, const char *key, size_t klen)
{
	size_t	i;

	if (map == NULL || map->type != CBOR_MAP)
		return NULL;
	for (i = 0; i < map->u.m.n; i++)
		if (map->u.m.pairs[i].klen == klen &&
		    memcmp(map->u.m.pairs[i].key, key, klen) == 0)
			return map->u.m.pairs[i].val;
	return NULL;
}

struct cbor_val *
cbor_map_get(const struct cbor_val *map, const char *key)
{
	return cbor_map_getn(map, key, strlen(key));
}

int
cbor_map_setn(struct arena *a, struct cbor_val *map, const char *key,
    size_t klen, struct cbor_val *val)
{
	struct cbor_pair	*p;
	size_t			 i;
	char			*k;

	if (map == NULL || val == NULL || map->type != CBOR_MAP ||
	    klen > LIM_CBOR_STRING ||
	    !cbor_utf8_validate((const uint8_t *)key, klen))
		return -1;
	for (i = 0; i < map->u.m.n; i++) {
		p = &map->u.m.pairs[i];
		if (p->klen == klen && memcmp(p->key, key, klen) == 0) {
			p->val = val;
			return 0;
		}
	}
	if ((k = arena_strndup(a, key, klen)) == NULL)
		return -1;
	if (map->u.m.n == map->u.m.cap) {
		if ((p = grow(a, map->u.m.pairs, map->u.m.n, &map->u.m.cap,
		    sizeof(*p))) == NULL)
			return -1;
		map->u.m.pairs = p;
	}
	p = &map->u.m.pairs[map->u.m.n++];
	p->key = k;
	p->klen = klen;
	p->val = val;
	return 0;
}

int
cbor_map_set(struct arena *a, struct cbor_val *map, const char *key,
    struct cbor_val *val)
{
	return cbor_map_setn(a, map, key, strlen(key), val);
}

static int
pair_val_cmp(const void *a, const void *b)
{
	const struct cbor_pair	*pa = a, *pb = b;

	return key_cmp(pa->key, pa->klen, pb->key, pb->klen);
}

int
cbor_map_sort(struct cbor_val *map)
{
	struct cbor_pair	*p, t;
	size_t			 i, j, n;

	if (map == NULL || map->type != CBOR_MAP)
		return -1;
	p = map->u.m.pairs;
	n = map->u.m.n;
	if (pairs_canonical(p, n))
		return 0;
	if (n > CBOR_SORT_STACK) {
		qsort(p, n, sizeof(*p), pair_val_cmp);
	} else {
		for (i = 1; i < n; i++) {
			t = p[i];
			for (j = i; j > 0 && key_cmp(p[j - 1].key,
			    p[j - 1].klen, t.key, t.klen) > 0; j--)
				p[j] = p[j - 1];
			p[j] = t;
		}
	}
	return pairs_canonical(p, n) ? 0 : -1;
}
