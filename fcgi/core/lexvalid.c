/*
 * lexvalid.c: validating records against a linked Lexicon set (see
 * lexicon.h), node by node as the reference's @atproto/lex-schema
 * validators do in "validate" mode with strict on (core/validator.ts and
 * the schema/ folder), stopping at the first issue and describing it with
 * lex-schema's words (core/validation-issue.ts):
 *
 *   Expected <type> value type (got <value>)      invalid_type
 *   Expected <v1>, <v2> or <v3> (got <value>)      invalid_value
 *   Missing required key "<key>"                   required_key
 *   <kind> too big (maximum <n>, got <m>)          too_big
 *   <kind> too small (minimum <n>, got <m>)        too_small
 *   Invalid <format> (got "<string>")             invalid_format
 *
 * followed by " at <JSON path>".  <value> is stringifyValue(): numbers,
 * JSON strings cut at 255 UTF-16 units plus an ellipsis, "cid" for a
 * link, "object" for bytes, arrays and maps shortened to two entries.
 *
 * The walk keeps the path as a stack of segments (map keys point into the
 * record, array indexes are numbers) and renders it only on failure; no
 * allocation.  Recursion is bounded by the data's depth and
 * LIM_LEXICON_STEPS.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cid.h"
#include "grapheme.h"
#include "lexicon.h"
#include "lexicon_int.h"
#include "pds_limits.h"
#include "syntax.h"
#include "tid.h"

#define LX_SEGS		(LIM_CBOR_DEPTH + 8)	/* path segments kept */
#define LX_SAFE_INT	9007199254740991LL	/* Number.MAX_SAFE_INTEGER */

struct vseg {
	const char	*key;	/* NULL: an array index */
	size_t		 klen;
	size_t		 idx;
};

struct vctx {
	const struct lexicon_set	*s;
	int				 flags;		/* LEXICON_F_* */
	const char			*base;		/* "$.record" */
	const char			*prefix;	/* message start */
	struct vseg			 seg[LX_SEGS];
	int				 nseg;
	int				 lost;		/* segments not kept */
	int				 steps;
	char				*why;
	size_t				 whysz;
};

/* ==== message writer ===================================================== */

struct wbuf {
	char	*p;
	size_t	 sz;
	size_t	 len;
};

static void
w_mem(struct wbuf *w, const char *s, size_t n)
{
	if (w->sz == 0)
		return;
	if (n > w->sz - 1 - w->len)
		n = w->sz - 1 - w->len;
	memcpy(w->p + w->len, s, n);
	w->len += n;
	w->p[w->len] = '\0';
}

static void
w_str(struct wbuf *w, const char *s)
{
	w_mem(w, s, strlen(s));
}

static void
w_fmt(struct wbuf *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
w_fmt(struct wbuf *w, const char *fmt, ...)
{
	char	tmp[128];
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		w_mem(w, tmp, (size_t)n < sizeof(tmp) ? (size_t)n :
		    sizeof(tmp) - 1);
}

static int
w_full(const struct wbuf *w)
{
	return w->sz == 0 || w->len + 1 >= w->sz;
}

/* JSON.stringify() of a string, cut as stringifyValue() cuts it: at most
 * LIM_LEXICON_PREVIEW - 1 UTF-16 units and "…" when it has at least
 * LIM_LEXICON_PREVIEW. */
static void
w_jstring(struct wbuf *w, const uint8_t *p, size_t len)
{
	size_t		i = 0, n, units = 0, total = 0, cut;
	int32_t		cp;
	char		esc[8];

	for (i = 0; i < len; i += n) {
		n = grapheme_utf8_next(p + i, len - i, &cp);
		total += cp >= 0x10000 ? 2 : 1;
	}
	cut = total < LIM_LEXICON_PREVIEW ? total : LIM_LEXICON_PREVIEW - 1;
	w_str(w, "\"");
	for (i = 0; i < len && units < cut && !w_full(w); i += n) {
		n = grapheme_utf8_next(p + i, len - i, &cp);
		if (cp >= 0x10000 && units + 2 > cut) {
			/* half a surrogate pair: JSON.stringify escapes it */
			w_fmt(w, "\\u%04x", (unsigned)(0xd800 +
			    ((cp - 0x10000) >> 10)));
			units++;
			break;
		}
		units += cp >= 0x10000 ? 2 : 1;
		if (cp == '"' || cp == '\\') {
			esc[0] = '\\';
			esc[1] = (char)cp;
			w_mem(w, esc, 2);
		} else if (cp >= 0 && cp < 0x20) {
			switch (cp) {
			case '\b': w_str(w, "\\b"); break;
			case '\f': w_str(w, "\\f"); break;
			case '\n': w_str(w, "\\n"); break;
			case '\r': w_str(w, "\\r"); break;
			case '\t': w_str(w, "\\t"); break;
			default: w_fmt(w, "\\u%04x", (unsigned)cp); break;
			}
		} else
			w_mem(w, (const char *)p + i, n);
	}
	if (cut < total)
		w_str(w, "\xe2\x80\xa6");	/* U+2026 */
	w_str(w, "\"");
}

static void	w_value(struct wbuf *, const struct cbor_val *);

/* stringifyValue() of an array or a map: two entries, then ", ...". */
static void
w_container(struct wbuf *w, const struct cbor_val *v)
{
	size_t	n = v->type == CBOR_ARRAY ? v->u.a.n : v->u.m.n, i;

	w_str(w, v->type == CBOR_ARRAY ? "[" : "{");
	for (i = 0; i < n && i < 2 && !w_full(w); i++) {
		if (i > 0)
			w_str(w, ", ");
		if (v->type == CBOR_ARRAY)
			w_value(w, v->u.a.items[i]);
		else {
			w_jstring(w, (const uint8_t *)v->u.m.pairs[i].key,
			    v->u.m.pairs[i].klen);
			w_str(w, ": ...");
		}
	}
	if (n > 2)
		w_str(w, ", ...");
	w_str(w, v->type == CBOR_ARRAY ? "]" : "}");
}

/* stringifyValue() of a data-model value; NULL is JS undefined. */
static void
w_value(struct wbuf *w, const struct cbor_val *v)
{
	if (v == NULL) {
		w_str(w, "undefined");
		return;
	}
	switch (v->type) {
	case CBOR_NULL:
		w_str(w, "null");
		break;
	case CBOR_BOOL:
		w_str(w, v->u.b ? "true" : "false");
		break;
	case CBOR_INT:
		w_fmt(w, "%lld", (long long)v->u.i);
		break;
	case CBOR_TEXT:
		w_jstring(w, v->u.s.p, v->u.s.len);
		break;
	case CBOR_BYTES:
		w_str(w, "object");	/* a Uint8Array */
		break;
	case CBOR_LINK:
		w_str(w, "cid");
		break;
	default:
		w_container(w, v);
		break;
	}
}

/* The path: base, then ".key" / "[\"key\"]" / "[i]" per segment
 * (validation-issue.ts toJsonPathSegment). */
static void
w_path(struct wbuf *w, const struct vctx *x, const char *extra)
{
	const struct vseg	*g;
	size_t			 j;
	int			 i, ident;

	w_str(w, x->base);
	for (i = 0; i < x->nseg + (extra != NULL); i++) {
		struct vseg	tmp;

		if (i == x->nseg) {
			tmp.key = extra;
			tmp.klen = strlen(extra);
			g = &tmp;
		} else
			g = &x->seg[i];
		if (g->key == NULL) {
			w_fmt(w, "[%zu]", g->idx);
			continue;
		}
		ident = g->klen > 0 && (g->key[0] == '_' || g->key[0] == '$' ||
		    (unsigned)((g->key[0] | 0x20) - 'a') < 26u);
		for (j = 1; ident && j < g->klen; j++)
			ident = g->key[j] == '_' ||
			    (unsigned)((g->key[j] | 0x20) - 'a') < 26u ||
			    (unsigned)(g->key[j] - '0') < 10u;
		if (ident) {
			w_str(w, ".");
			w_mem(w, g->key, g->klen);
		} else {
			w_str(w, "[");
			w_jstring(w, (const uint8_t *)g->key, g->klen);
			w_str(w, "]");
		}
	}
}

/* Starts the message: the prefix, then returns the writer. */
static struct wbuf
issue_begin(struct vctx *x)
{
	struct wbuf	w = { x->why, x->whysz, 0 };

	if (w.sz > 0)
		w.p[0] = '\0';
	w_str(&w, x->prefix);
	return w;
}

/* Ends the message with " at <path>[.<extra>]"; returns -1. */
static int
issue_end(struct vctx *x, struct wbuf *w, const char *extra)
{
	w_str(w, " at ");
	w_path(w, x, extra);
	return -1;
}

static int
issue_type(struct vctx *x, const struct cbor_val *v, const char *expected,
    const char *extra)
{
	struct wbuf	w = issue_begin(x);

	w_str(&w, "Expected ");
	w_str(&w, strcmp(expected, "$typed") == 0 ?
	    "an object which includes the \"$type\" property" : expected);
	w_str(&w, " value type (got ");
	w_value(&w, v);
	w_str(&w, ")");
	return issue_end(x, &w, extra);
}

/* oneOf() of the values: "a", "a or b", "a, b or c". */
static void
w_oneof_sep(struct wbuf *w, size_t i, size_t n)
{
	if (i == 0)
		w_str(w, n > 1 ? "one of " : "");
	else
		w_str(w, i + 1 == n ? " or " : ", ");
}

/* invalid_value with string values from the list (offsets) or one
 * string; v is the input, extra a property the issue is about. */
static int
issue_value_strs(struct vctx *x, const struct cbor_val *v,
    const uint32_t *offs, size_t n, size_t stride, const char *extra)
{
	struct wbuf	w = issue_begin(x);
	const char	*s;
	size_t		 i;

	w_str(&w, "Expected ");
	for (i = 0; i < n; i++) {
		w_oneof_sep(&w, i, n);
		s = lx_str(x->s, offs[i * stride]);
		w_jstring(&w, (const uint8_t *)s, strlen(s));
	}
	w_str(&w, " (got ");
	w_value(&w, v);
	w_str(&w, ")");
	return issue_end(x, &w, extra);
}

static int
issue_value_ints(struct vctx *x, const struct cbor_val *v,
    const int64_t *vals, size_t n)
{
	struct wbuf	w = issue_begin(x);
	size_t		i;

	w_str(&w, "Expected ");
	for (i = 0; i < n; i++) {
		w_oneof_sep(&w, i, n);
		w_fmt(&w, "%lld", (long long)vals[i]);
	}
	w_str(&w, " (got ");
	w_value(&w, v);
	w_str(&w, ")");
	return issue_end(x, &w, NULL);
}

static int
issue_size(struct vctx *x, const char *kind, int big, int64_t limit,
    int64_t actual)
{
	struct wbuf	w = issue_begin(x);

	w_fmt(&w, "%s too %s (%s %lld, got %lld)", kind, big ? "big" :
	    "small", big ? "maximum" : "minimum", (long long)limit,
	    (long long)actual);
	return issue_end(x, &w, NULL);
}

static int
issue_required(struct vctx *x, const char *key, size_t klen)
{
	struct wbuf	w = issue_begin(x);

	w_str(&w, "Missing required key \"");
	w_mem(&w, key, klen);
	w_str(&w, "\"");
	return issue_end(x, &w, NULL);
}

/* IssueInvalidFormat formatDescription. */
static const char *
format_desc(enum syntax_format f)
{
	static const char *const d[SYNTAX_FMT__MAX] = {
		[SYNTAX_FMT_AT_IDENTIFIER] = "AT identifier",
		[SYNTAX_FMT_AT_URI] = "at-uri",
		[SYNTAX_FMT_CID] = "CID string",
		[SYNTAX_FMT_DATETIME] = "datetime",
		[SYNTAX_FMT_DID] = "DID",
		[SYNTAX_FMT_HANDLE] = "handle",
		[SYNTAX_FMT_LANGUAGE] = "language",
		[SYNTAX_FMT_NSID] = "NSID",
		[SYNTAX_FMT_RECORD_KEY] = "record key",
		[SYNTAX_FMT_TID] = "TID string",
		[SYNTAX_FMT_URI] = "uri",
	};

	return (unsigned)f < SYNTAX_FMT__MAX && d[f] != NULL ? d[f] :
	    "format";
}

static int
issue_format(struct vctx *x, const uint8_t *p, size_t len,
    enum syntax_format f)
{
	struct wbuf	w = issue_begin(x);

	w_str(&w, "Invalid ");
	w_str(&w, format_desc(f));
	w_str(&w, " (got ");
	w_jstring(&w, p, len);
	w_str(&w, ")");
	return issue_end(x, &w, NULL);
}

/* Not a data problem: a set that is not linked this far. */
static int
broken(struct vctx *x, const char *what)
{
	struct wbuf	w = { x->why, x->whysz, 0 };

	if (w.sz > 0)
		w.p[0] = '\0';
	w_str(&w, what);
	w_str(&w, " at ");
	w_path(&w, x, NULL);
	return -2;
}

/* ==== path =============================================================== */

static void
push_key(struct vctx *x, const char *key, size_t klen)
{
	if (x->nseg < LX_SEGS) {
		x->seg[x->nseg].key = key;
		x->seg[x->nseg].klen = klen;
		x->nseg++;
	} else
		x->lost++;
}

static void
push_index(struct vctx *x, size_t i)
{
	if (x->nseg < LX_SEGS) {
		x->seg[x->nseg].key = NULL;
		x->seg[x->nseg].idx = i;
		x->nseg++;
	} else
		x->lost++;
}

static void
pop(struct vctx *x)
{
	if (x->lost > 0)
		x->lost--;
	else
		x->nseg--;
}

/* ==== helpers ============================================================ */

static int
text_is(const struct cbor_val *v, const char *s)
{
	size_t	n = strlen(s);

	return v != NULL && v->type == CBOR_TEXT && v->u.s.len == n &&
	    memcmp(v->u.s.p, s, n) == 0;
}

static int
safe_int(const struct cbor_val *v)
{
	return v->type == CBOR_INT && v->u.i >= -LX_SAFE_INT &&
	    v->u.i <= LX_SAFE_INT;
}

/* UTF-16 length of valid UTF-8 (JS string .length). */
static size_t
utf16_len(const uint8_t *p, size_t len)
{
	size_t	i, n = 0;

	for (i = 0; i < len; i++)
		if ((p[i] & 0xc0) != 0x80)
			n += (p[i] & 0xf8) == 0xf0 ? 2 : 1;
	return n;
}

static int	v_node(struct vctx *, uint32_t, const struct cbor_val *);

/* ==== primitives ========================================================= */

static int
v_integer(struct vctx *x, const struct lx_node *nd, const struct cbor_val *v)
{
	if (!safe_int(v))
		return issue_type(x, v, "integer", NULL);
	if ((nd->flags & LXN_MIN) && v->u.i < nd->min)
		return issue_size(x, "integer", 0, nd->min, v->u.i);
	if ((nd->flags & LXN_MAX) && v->u.i > nd->max)
		return issue_size(x, "integer", 1, nd->max, v->u.i);
	return 0;
}

/* The string checks of StringSchema on (p, len). */
static int
v_string_text(struct vctx *x, const struct lx_node *nd, const uint8_t *p,
    size_t len)
{
	size_t	u16 = 0, g = 0;
	int	have_g = 0;

	if ((nd->flags & LXN_MIN) && (int64_t)len < nd->min)
		return issue_size(x, "string", 0, nd->min, (int64_t)len);
	if ((nd->flags & LXN_MAX) && (int64_t)len > nd->max)
		return issue_size(x, "string", 1, nd->max, (int64_t)len);
	if (nd->flags & (LXN_GMIN | LXN_GMAX))
		u16 = utf16_len(p, len);
	if (nd->flags & LXN_GMIN) {
		if ((int64_t)u16 < nd->gmin)
			return issue_size(x, "grapheme", 0, nd->gmin,
			    (int64_t)u16);
		g = grapheme_count(p, len);
		have_g = 1;
		if ((int64_t)g < nd->gmin)
			return issue_size(x, "grapheme", 0, nd->gmin,
			    (int64_t)g);
	}
	if ((nd->flags & LXN_GMAX) && (int64_t)u16 > nd->gmax) {
		if (!have_g)
			g = grapheme_count(p, len);
		if ((int64_t)g > nd->gmax)
			return issue_size(x, "grapheme", 1, nd->gmax,
			    (int64_t)g);
	}
	if (nd->fmt != 0 && syntax_format_validate(
	    (enum syntax_format)(nd->fmt - 1), (const char *)p, len, NULL) ==
	    -1)
		return issue_format(x, p, len, (enum syntax_format)(nd->fmt -
		    1));
	return 0;
}

/* StringSchema: a string, or a CID link coerced to its string (which then
 * fails validate mode's identity check). */
static int
v_string(struct vctx *x, const struct lx_node *nd, const struct cbor_val *v)
{
	char		 cs[CID_STR_LEN];
	struct wbuf	 w;

	if (v->type == CBOR_TEXT)
		return v_string_text(x, nd, v->u.s.p, v->u.s.len);
	if (v->type != CBOR_LINK)
		return issue_type(x, v, "string", NULL);
	cid_format(&v->u.link, cs);
	if (v_string_text(x, nd, (const uint8_t *)cs, strlen(cs)) == -1)
		return -1;
	w = issue_begin(x);
	w_str(&w, "Expected ");
	w_jstring(&w, (const uint8_t *)cs, strlen(cs));
	w_str(&w, " (got cid)");
	return issue_end(x, &w, NULL);
}

static int
v_bytes(struct vctx *x, const struct lx_node *nd, const struct cbor_val *v)
{
	if (v->type != CBOR_BYTES)
		return issue_type(x, v, "bytes", NULL);
	if ((nd->flags & LXN_MIN) && (int64_t)v->u.s.len < nd->min)
		return issue_size(x, "bytes", 0, nd->min, (int64_t)v->u.s.len);
	if ((nd->flags & LXN_MAX) && (int64_t)v->u.s.len > nd->max)
		return issue_size(x, "bytes", 1, nd->max, (int64_t)v->u.s.len);
	return 0;
}

/* isTypedBlobRef(), strict: exactly $type "blob", mimeType with a "/",
 * size a safe non-negative integer, ref a CID (raw codec unless
 * LEXICON_F_INTEROP). */
static int
is_blob_ref(const struct vctx *x, const struct cbor_val *v)
{
	const struct cbor_val	*mt, *sz, *ref;

	if (v->type != CBOR_MAP || !text_is(cbor_map_get(v, "$type"), "blob"))
		return 0;
	mt = cbor_map_get(v, "mimeType");
	sz = cbor_map_get(v, "size");
	ref = cbor_map_get(v, "ref");
	if (mt == NULL || mt->type != CBOR_TEXT ||
	    memchr(mt->u.s.p, '/', mt->u.s.len) == NULL)
		return 0;
	if (sz == NULL || !safe_int(sz) || sz->u.i < 0)
		return 0;
	if (ref == NULL || ref->type != CBOR_LINK ||
	    (!(x->flags & LEXICON_F_INTEROP) &&
	    cid_codec(&ref->u.link) != CID_CODEC_RAW))
		return 0;
	return v->u.m.n == 4;	/* those four keys and no other */
}

/* matchesMime() of blob.ts. */
static int
mime_ok(const struct vctx *x, const struct lx_node *nd,
    const struct cbor_val *mt)
{
	const char	*a;
	size_t		 i, n;

	for (i = 0; i < nd->n; i++)
		if (strcmp(lx_str(x->s, x->s->list[nd->a + i]), "*/*") == 0)
			return 1;
	for (i = 0; i < nd->n; i++)
		if (text_is(mt, lx_str(x->s, x->s->list[nd->a + i])))
			return 1;
	for (i = 0; i < nd->n; i++) {
		a = lx_str(x->s, x->s->list[nd->a + i]);
		n = strlen(a);
		if (n >= 2 && strcmp(a + n - 2, "/*") == 0 &&
		    mt->u.s.len >= n - 1 && memcmp(mt->u.s.p, a, n - 1) == 0)
			return 1;
	}
	return 0;
}

static int
v_blob(struct vctx *x, const struct lx_node *nd, const struct cbor_val *v)
{
	const struct cbor_val	*mt, *sz;

	if (!is_blob_ref(x, v))
		return issue_type(x, v, "blob", NULL);
	mt = cbor_map_get(v, "mimeType");
	sz = cbor_map_get(v, "size");
	if (nd->a != LX_NONE && !mime_ok(x, nd, mt))
		return issue_value_strs(x, mt, &x->s->list[nd->a], nd->n, 1,
		    "mimeType");
	if ((nd->flags & LXN_MAX) && sz->u.i > nd->max)
		return issue_size(x, "blob", 1, nd->max, sz->u.i);
	return 0;
}

/* lexMap(): any map (LEXICON_F_INTEROP: but not a blob). */
static int
v_unknown(struct vctx *x, const struct cbor_val *v)
{
	if (v->type != CBOR_MAP)
		return issue_type(x, v, "object", NULL);
	if ((x->flags & LEXICON_F_INTEROP) &&
	    text_is(cbor_map_get(v, "$type"), "blob"))
		return issue_type(x, v, "object", NULL);
	return 0;
}

static int
v_literal(struct vctx *x, const struct lx_node *nd, const struct cbor_val *v)
{
	int	ok;

	switch (nd->vtype) {
	case LXV_STRING:
		if (text_is(v, lx_str(x->s, nd->str)))
			return 0;
		return issue_value_strs(x, v, &nd->str, 1, 1, NULL);
	case LXV_INTEGER:
		ok = safe_int(v) && v->u.i == nd->min;
		break;
	default:
		ok = v->type == CBOR_BOOL && (v->u.b != 0) == (nd->min != 0);
		if (!ok) {
			struct wbuf	w = issue_begin(x);

			w_str(&w, nd->min ? "Expected true (got " :
			    "Expected false (got ");
			w_value(&w, v);
			w_str(&w, ")");
			return issue_end(x, &w, NULL);
		}
		return 0;
	}
	return ok ? 0 : issue_value_ints(x, v, &nd->min, 1);
}

static int
v_enum(struct vctx *x, const struct lx_node *nd, const struct cbor_val *v)
{
	uint32_t	i;

	for (i = 0; i < nd->n; i++)
		if (nd->vtype == LXV_STRING ? text_is(v, lx_str(x->s,
		    x->s->list[nd->a + i])) : (safe_int(v) &&
		    v->u.i == x->s->ints[nd->a + i]))
			return 0;
	if (nd->vtype == LXV_STRING)
		return issue_value_strs(x, v, &x->s->list[nd->a], nd->n, 1,
		    NULL);
	return issue_value_ints(x, v, &x->s->ints[nd->a], nd->n);
}

static int
v_token(struct vctx *x, const struct lx_node *nd, const struct cbor_val *v)
{
	if (text_is(v, lx_str(x->s, nd->str)))
		return 0;
	if (v->type != CBOR_TEXT)
		return issue_type(x, v, "token", NULL);
	return issue_value_strs(x, v, &nd->str, 1, 1, NULL);
}

/* ==== containers ========================================================= */

static int
v_array(struct vctx *x, const struct lx_node *nd, const struct cbor_val *v)
{
	size_t	i;
	int	rc;

	if (v->type != CBOR_ARRAY)
		return issue_type(x, v, "array", NULL);
	if ((nd->flags & LXN_MIN) && (int64_t)v->u.a.n < nd->min)
		return issue_size(x, "array", 0, nd->min, (int64_t)v->u.a.n);
	if ((nd->flags & LXN_MAX) && (int64_t)v->u.a.n > nd->max)
		return issue_size(x, "array", 1, nd->max, (int64_t)v->u.a.n);
	for (i = 0; i < v->u.a.n; i++) {
		push_index(x, i);
		rc = v_node(x, nd->a, v->u.a.items[i]);
		pop(x);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* ObjectSchema (TypedObjectSchema when LXN_TYPED): properties in schema
 * order; a missing one is fine unless required; null is fine when
 * nullable; keys the schema does not name are ignored. */
static int
v_object(struct vctx *x, const struct lx_node *nd, const struct cbor_val *v)
{
	const struct lx_prop	*p;
	const struct cbor_val	*pv, *t;
	uint32_t		 i;
	int			 rc;

	if (v->type != CBOR_MAP)
		return issue_type(x, v, "object", NULL);
	if ((nd->flags & LXN_TYPED) && (t = cbor_map_get(v, "$type")) !=
	    NULL && !text_is(t, lx_str(x->s, nd->str)))
		return issue_value_strs(x, t, &nd->str, 1, 1, "$type");
	for (i = 0; i < nd->n; i++) {
		p = &x->s->props[nd->a + i];
		pv = cbor_map_getn(v, lx_str(x->s, p->name), p->nlen);
		if (pv == NULL) {
			if (p->required)
				return issue_required(x, lx_str(x->s, p->name),
				    p->nlen);
			continue;
		}
		if (pv->type == CBOR_NULL && p->nullable)
			continue;
		push_key(x, lx_str(x->s, p->name), p->nlen);
		rc = v_node(x, p->node, pv);
		pop(x);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* The $type a union member answers to. */
static const char *
member_type(const struct vctx *x, uint32_t node)
{
	return lx_str(x->s, x->s->nodes[node].str);
}

/* TypedUnionSchema. */
static int
v_union(struct vctx *x, const struct lx_node *nd, const struct cbor_val *v)
{
	const struct cbor_val	*t;
	uint32_t		 i, m;
	struct wbuf		 w;

	if (!(nd->flags & LXN_LINKED))
		return broken(x, "Union not linked");
	if (v->type != CBOR_MAP || (t = cbor_map_get(v, "$type")) == NULL)
		return issue_type(x, v, "$typed", NULL);
	for (i = nd->n; i-- > 0;) {	/* the last of equal $types wins */
		m = x->s->list[nd->a + 2 * i + 1];
		if (text_is(t, member_type(x, m)))
			return v_node(x, m, v);
	}
	if (nd->flags & LXN_CLOSED) {
		w = issue_begin(x);
		w_str(&w, "Expected ");
		for (i = 0; i < nd->n; i++) {
			const char	*s;

			w_oneof_sep(&w, i, nd->n);
			s = member_type(x, x->s->list[nd->a + 2 * i + 1]);
			w_jstring(&w, (const uint8_t *)s, strlen(s));
		}
		w_str(&w, " (got ");
		w_value(&w, t);
		w_str(&w, ")");
		return issue_end(x, &w, "$type");
	}
	if (t->type != CBOR_TEXT)
		return issue_type(x, t, "string", "$type");
	return 0;
}

/* RecordSchema: the object, then $type must be the record's NSID. */
static int
v_record(struct vctx *x, const struct lx_node *nd, const struct cbor_val *v)
{
	const struct cbor_val	*t;
	int			 rc;

	if ((rc = v_node(x, nd->a, v)) != 0)
		return rc;
	t = cbor_map_get(v, "$type");
	if (!text_is(t, lx_str(x->s, nd->str)))
		return issue_value_strs(x, t, &nd->str, 1, 1, "$type");
	return 0;
}

/* One node: 0 valid, -1 an issue (why written), -2 broken set. */
static int
v_node(struct vctx *x, uint32_t id, const struct cbor_val *v)
{
	const struct lx_node	*nd;
	int			 rc;

	if (id == LX_NONE || id >= x->s->nnodes)
		return broken(x, "Schema node missing");
	if (++x->steps > LIM_LEXICON_STEPS)
		return broken(x, "Schema nested too deeply");
	nd = &x->s->nodes[id];
	switch (nd->kind) {
	case LX_BOOLEAN:
		rc = v->type == CBOR_BOOL ? 0 :
		    issue_type(x, v, "boolean", NULL);
		break;
	case LX_INTEGER: rc = v_integer(x, nd, v); break;
	case LX_STRING: rc = v_string(x, nd, v); break;
	case LX_BYTES: rc = v_bytes(x, nd, v); break;
	case LX_CID:
		rc = v->type == CBOR_LINK ? 0 : issue_type(x, v, "cid", NULL);
		break;
	case LX_BLOB: rc = v_blob(x, nd, v); break;
	case LX_UNKNOWN: rc = v_unknown(x, v); break;
	case LX_ARRAY: rc = v_array(x, nd, v); break;
	case LX_OBJECT: rc = v_object(x, nd, v); break;
	case LX_REF:
		rc = (nd->flags & LXN_LINKED) ? v_node(x, nd->a, v) :
		    broken(x, "Ref not linked");
		break;
	case LX_UNION: rc = v_union(x, nd, v); break;
	case LX_TOKEN: rc = v_token(x, nd, v); break;
	case LX_RECORD: rc = v_record(x, nd, v); break;
	case LX_LITERAL: rc = v_literal(x, nd, v); break;
	case LX_ENUM: rc = v_enum(x, nd, v); break;
	case LX_NEVER: rc = issue_type(x, v, "never", NULL); break;
	default: rc = broken(x, "Not a data schema"); break;
	}
	x->steps--;
	return rc;
}

/* ==== record keys ======================================================== */

/* The record definition's keySchema against rkey (record.ts recordKey). */
static int
v_rkey(struct vctx *x, const struct lx_node *rec, const char *rkey)
{
	size_t			 len = strlen(rkey);
	struct cbor_val		 v;
	enum syntax_format	 f;
	int			 bad;

	memset(&v, 0, sizeof(v));
	v.type = CBOR_TEXT;
	v.u.s.p = (const uint8_t *)rkey;
	v.u.s.len = len;
	switch ((enum lx_key)rec->vtype) {
	case LXK_LITERAL:
		if (strcmp(rkey, lx_str(x->s, rec->key)) == 0)
			return 0;
		return issue_value_strs(x, &v, &rec->key, 1, 1, NULL);
	case LXK_TID:
		f = SYNTAX_FMT_TID;
		bad = tid_validate(rkey, len, NULL) == -1;
		break;
	case LXK_NSID:
		f = SYNTAX_FMT_NSID;
		bad = syntax_nsid_validate(rkey, len, NULL) == -1;
		break;
	default:
		f = SYNTAX_FMT_RECORD_KEY;
		bad = syntax_rkey_validate(rkey, len, NULL) == -1;
		break;
	}
	return bad ? issue_format(x, v.u.s.p, len, f) : 0;
}

/* ==== API ================================================================ */

void
lexicon_unknown_msg(const char *nsid, char *why, size_t whysz)
{
	(void)snprintf(why, whysz, "Unknown lexicon type: %s", nsid);
}

enum lexicon_status
lexicon_set_record_validate(const struct lexicon_set *s, const char *nsid,
    const struct cbor_val *rec, const char *rkey, const char *path,
    int flags, char *why, size_t whysz)
{
	struct vctx		 x;
	const struct lx_node	*nd;
	char			 prefix[LIM_NSID_LEN + 64];
	int			 rc;

	if (whysz > 0)
		why[0] = '\0';
	if (s == NULL || nsid == NULL || rec == NULL || !s->linked) {
		(void)snprintf(why, whysz, "Lexicon set not available");
		return LEXICON_ERROR;
	}
	if ((nd = lx_record_find(s, nsid)) == NULL)
		return LEXICON_UNKNOWN;
	memset(&x, 0, sizeof(x));
	x.s = s;
	x.flags = flags;
	x.why = why;
	x.whysz = whysz;
	if (rkey != NULL) {
		(void)snprintf(prefix, sizeof(prefix),
		    "Invalid record key for %s: ", nsid);
		x.prefix = prefix;
		x.base = "$";
		if (v_rkey(&x, nd, rkey) != 0)
			return LEXICON_INVALID;
	}
	(void)snprintf(prefix, sizeof(prefix), "Invalid %s record: ", nsid);
	x.prefix = prefix;
	x.base = path != NULL ? path : "$.record";
	rc = v_node(&x, (uint32_t)(nd - s->nodes), rec);
	if (rc == 0)
		return LEXICON_VALID;
	return rc == -1 ? LEXICON_INVALID : LEXICON_ERROR;
}

enum lexicon_status
lexicon_record_validate(const char *nsid, const struct cbor_val *rec,
    const char *rkey, const char *path, char *why, size_t whysz)
{
	return lexicon_set_record_validate(lexicon_builtin(), nsid, rec, rkey,
	    path, 0, why, whysz);
}
