/*
 * lexcompile.c: checking a Lexicon document against the Lexicon language
 * and compiling it into a struct lexicon_set (lexicon_int.h).  lexicon.c
 * owns the set's life, linking and the built-in set; lexvalid.c uses the
 * compiled tables.
 *
 * The check follows the reference's lex-document lexiconDocumentSchema
 * (unknown keys ignored, "main" may be any definition type, other
 * definitions only boolean/integer/string/bytes/cid-link/blob/array/
 * object/token), plus what lex-builder refuses when it compiles
 * (required/nullable naming undefined properties, malformed refs), and
 * allows objects inline as property and array-item types (the interop
 * catalog has them).  Compilation mirrors lex-builder's output
 * (lex-def-builder.js): const becomes a literal, enum an enum (a literal
 * when it has one value), a const outside its enum or an empty enum
 * "never"; knownValues, default and descriptions have no effect on
 * validation and are dropped.  Errors read "<message> at $<path>".
 *
 * Limits: LIM_LEXICON_NEST inline nesting, LIM_LEXICON_POOL bytes per
 * compiled set.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lexicon.h"
#include "lexicon_int.h"
#include "pds_limits.h"
#include "syntax.h"

#define LX_PATH_MAX	512	/* bytes of a document error path */
#define LX_ID_MAX	(LIM_NSID_LEN + 1 + 256)	/* "<nsid>#<def>" */

/* Type names, as lex-document lists them in its messages. */
static const char *const MAIN_TYPES[] = { "permission-set", "procedure",
	"query", "record", "subscription", "boolean", "integer", "string",
	"bytes", "cid-link", "blob", "array", "object", "token", NULL };
static const char *const NAMED_TYPES[] = { "boolean", "integer", "string",
	"bytes", "cid-link", "blob", "array", "object", "token", NULL };
static const char *const PROP_TYPES[] = { "boolean", "integer", "string",
	"bytes", "cid-link", "blob", "unknown", "ref", "union", "array",
	"object", NULL };
static const char *const ITEM_TYPES[] = { "boolean", "integer", "string",
	"bytes", "cid-link", "blob", "unknown", "ref", "union", "object",
	NULL };
static const char *const PARAM_TYPES[] = { "boolean", "integer", "string",
	"array", NULL };
static const char *const PARAM_ITEM_TYPES[] = { "boolean", "integer",
	"string", NULL };
static const char *const BODY_TYPES[] = { "ref", "union", "object", NULL };

/* Compile context: the set, the document, the error path. */
struct cctx {
	struct lexicon_set	*s;
	const char		*docid;
	uint32_t		 docid_off;
	char			*why;
	size_t			 whysz;
	char			 path[LX_PATH_MAX];
	size_t			 plen;
	int			 nest;
};

/* ==== errors and paths =================================================== */

/* A short rendering of a JSON value for messages. */
static void
jpreview(const json_t *v, char *out, size_t outsz)
{
	const char	*s;

	switch (json_typeof(v)) {
	case JSON_STRING:
		s = json_string_value(v);
		(void)snprintf(out, outsz, "\"%.*s%s\"", 64, s,
		    json_string_length(v) > 64 ? "..." : "");
		break;
	case JSON_INTEGER:
		(void)snprintf(out, outsz, "%lld",
		    (long long)json_integer_value(v));
		break;
	case JSON_REAL:
		(void)snprintf(out, outsz, "%g", json_real_value(v));
		break;
	case JSON_TRUE:
		(void)snprintf(out, outsz, "true");
		break;
	case JSON_FALSE:
		(void)snprintf(out, outsz, "false");
		break;
	case JSON_OBJECT:
		(void)snprintf(out, outsz, "{...}");
		break;
	case JSON_ARRAY:
		(void)snprintf(out, outsz, "[...]");
		break;
	default:
		(void)snprintf(out, outsz, "null");
		break;
	}
}

static int
cfail(struct cctx *x, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Writes "<message> at $<path>" into why; returns -1. */
static int
cfail(struct cctx *x, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	if (x->whysz == 0)
		return -1;
	va_start(ap, fmt);
	n = vsnprintf(x->why, x->whysz, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < x->whysz)
		(void)snprintf(x->why + n, x->whysz - (size_t)n, " at $%s",
		    x->path);
	return -1;
}

/* "Expected <what> value type (got <v>)". */
static int
cfail_type(struct cctx *x, const char *what, const json_t *v)
{
	char	got[96];

	jpreview(v, got, sizeof(got));
	return cfail(x, "Expected %s value type (got %s)", what, got);
}

/* Is s a JS identifier-like key ([A-Za-z_$][A-Za-z0-9_]*)? */
static int
ident_like(const char *s, size_t len)
{
	size_t	i;

	if (len == 0 || !(s[0] == '_' || s[0] == '$' ||
	    (unsigned)((s[0] | 0x20) - 'a') < 26u))
		return 0;
	for (i = 1; i < len; i++)
		if (!(s[i] == '_' || (unsigned)((s[i] | 0x20) - 'a') < 26u ||
		    (unsigned)(s[i] - '0') < 10u))
			return 0;
	return 1;
}

/* Appends ".key" or "[\"key\"]" to the path; returns the old length.
 * A path that would overflow keeps its old length (messages then show a
 * shorter path, never a wrong one past the cut). */
static size_t
cpush(struct cctx *x, const char *key)
{
	size_t	old = x->plen, len = strlen(key);
	int	n;

	if (ident_like(key, len))
		n = snprintf(x->path + x->plen, sizeof(x->path) - x->plen,
		    ".%s", key);
	else
		n = snprintf(x->path + x->plen, sizeof(x->path) - x->plen,
		    "[\"%s\"]", key);
	if (n > 0 && (size_t)n < sizeof(x->path) - x->plen)
		x->plen += (size_t)n;
	else
		x->path[old] = '\0';
	return old;
}

static size_t
cpush_index(struct cctx *x, size_t i)
{
	size_t	old = x->plen;
	int	n;

	n = snprintf(x->path + x->plen, sizeof(x->path) - x->plen, "[%zu]",
	    i);
	if (n > 0 && (size_t)n < sizeof(x->path) - x->plen)
		x->plen += (size_t)n;
	else
		x->path[old] = '\0';
	return old;
}

static void
cpop(struct cctx *x, size_t old)
{
	x->plen = old;
	x->path[old] = '\0';
}

/* ==== the set's storage ================================================== */

/* Makes room for one more element of size elsz in *p (n used, *cap
 * slots), within the set's byte budget.  Returns 0 or -1. */
static int
grow(struct lexicon_set *s, void **p, size_t n, size_t *cap, size_t elsz)
{
	size_t	ncap;
	void	*np;

	if (n < *cap)
		return 0;
	ncap = *cap == 0 ? 16 : *cap * 2;
	if (s->bytes + (ncap - *cap) * elsz > LIM_LEXICON_POOL)
		return -1;
	if ((np = reallocarray(*p, ncap, elsz)) == NULL)
		return -1;
	s->bytes += (ncap - *cap) * elsz;
	*p = np;
	*cap = ncap;
	return 0;
}

static uint32_t
pool_add(struct lexicon_set *s, const char *str, size_t len)
{
	uint32_t	off;

	while (s->npool + len + 1 > s->cappool)
		if (grow(s, (void **)&s->pool, s->cappool, &s->cappool, 1) ==
		    -1)
			return LX_NONE;
	off = (uint32_t)s->npool;
	memcpy(s->pool + s->npool, str, len);
	s->pool[s->npool + len] = '\0';
	s->npool += len + 1;
	return off;
}

static uint32_t
node_new(struct lexicon_set *s, enum lx_kind kind)
{
	struct lx_node	*nd;

	if (s->nnodes >= LX_NONE - 1 || grow(s, (void **)&s->nodes,
	    s->nnodes, &s->capnodes, sizeof(*s->nodes)) == -1)
		return LX_NONE;
	nd = &s->nodes[s->nnodes];
	memset(nd, 0, sizeof(*nd));
	nd->kind = (uint8_t)kind;
	nd->a = nd->str = nd->key = LX_NONE;
	return (uint32_t)s->nnodes++;
}

static int
list_add(struct lexicon_set *s, uint32_t v)
{
	if (grow(s, (void **)&s->list, s->nlist, &s->caplist,
	    sizeof(*s->list)) == -1)
		return -1;
	s->list[s->nlist++] = v;
	return 0;
}

static int
ints_add(struct lexicon_set *s, int64_t v)
{
	if (grow(s, (void **)&s->ints, s->nints, &s->capints,
	    sizeof(*s->ints)) == -1)
		return -1;
	s->ints[s->nints++] = v;
	return 0;
}

static int
nomem(struct cctx *x)
{
	return cfail(x, "Out of memory (schema set over %u bytes?)",
	    (unsigned)LIM_LEXICON_POOL);
}

/* ==== field checks ======================================================= */

/* The value of an optional field, NULL when absent. */
static const json_t *
field(const json_t *def, const char *name)
{
	return json_object_get(def, name);
}

/* Optional field of a given JSON type; 0 (absent or fine) or -1. */
static int
opt_type(struct cctx *x, const json_t *def, const char *name, json_type t,
    const char *what)
{
	const json_t	*v = field(def, name);
	size_t		 old;
	int		 ok;

	if (v == NULL)
		return 0;
	ok = t == JSON_TRUE ? json_is_boolean(v) : json_typeof(v) == t;
	if (ok)
		return 0;
	old = cpush(x, name);
	(void)cfail_type(x, what, v);
	cpop(x, old);
	return -1;
}

/* Optional integer field: *has and *out. */
static int
opt_int(struct cctx *x, const json_t *def, const char *name, int *has,
    int64_t *out)
{
	const json_t	*v = field(def, name);

	*has = 0;
	if (opt_type(x, def, name, JSON_INTEGER, "integer") == -1)
		return -1;
	if (v != NULL) {
		*has = 1;
		*out = (int64_t)json_integer_value(v);
	}
	return 0;
}

/* Optional array whose elements all have JSON type t. */
static int
opt_array_of(struct cctx *x, const json_t *def, const char *name,
    json_type t, const char *what)
{
	const json_t	*v = field(def, name), *e;
	size_t		 i, old, old2;
	int		 rc = 0;

	if (opt_type(x, def, name, JSON_ARRAY, "array") == -1)
		return -1;
	if (v == NULL)
		return 0;
	old = cpush(x, name);
	json_array_foreach(v, i, e)
		if (json_typeof(e) != t) {
			old2 = cpush_index(x, i);
			rc = cfail_type(x, what, e);
			cpop(x, old2);
			break;
		}
	cpop(x, old);
	return rc;
}

/* Common to every definition: an optional string description. */
static int
check_description(struct cctx *x, const json_t *def)
{
	return opt_type(x, def, "description", JSON_STRING, "string");
}

/* "Expected one of "a", "b" or "c" (got <v>)" for a type outside set. */
static int
fail_type_choice(struct cctx *x, const char *const *set, const json_t *v)
{
	char	list[512], got[96];
	size_t	off = 0, n = 0, i;
	int	w;

	while (set[n] != NULL)
		n++;
	list[0] = '\0';
	for (i = 0; i < n; i++) {
		w = snprintf(list + off, sizeof(list) - off, "%s\"%s\"",
		    i == 0 ? "" : i + 1 == n ? " or " : ", ", set[i]);
		if (w < 0 || (size_t)w >= sizeof(list) - off)
			break;
		off += (size_t)w;
	}
	jpreview(v, got, sizeof(got));
	return cfail(x, "Expected one of %s (got %s)", list, got);
}

/* The "type" of def, which must be one of set.  Returns it or NULL. */
static const char *
def_type(struct cctx *x, const json_t *def, const char *const *set)
{
	const json_t	*t;
	size_t		 i, old;

	if (!json_is_object(def)) {
		(void)cfail_type(x, "object", def);
		return NULL;
	}
	if ((t = field(def, "type")) == NULL) {
		(void)cfail(x, "Missing required key \"type\"");
		return NULL;
	}
	for (i = 0; json_is_string(t) && set[i] != NULL; i++)
		if (strcmp(json_string_value(t), set[i]) == 0)
			return set[i];
	old = cpush(x, "type");
	(void)fail_type_choice(x, set, t);
	cpop(x, old);
	return NULL;
}

/* A required string field. */
static const char *
req_string(struct cctx *x, const json_t *def, const char *name)
{
	const json_t	*v = field(def, name);
	size_t		 old;

	if (v == NULL) {
		(void)cfail(x, "Missing required key \"%s\"", name);
		return NULL;
	}
	if (!json_is_string(v)) {
		old = cpush(x, name);
		(void)cfail_type(x, "string", v);
		cpop(x, old);
		return NULL;
	}
	return json_string_value(v);
}

/* ==== refs =============================================================== */

/* Splits a ref as lex-builder resolves it: "#def" in the document,
 * "<nsid>" (its main) or "<nsid>#<def>"; writes "<nsid>#<def>" into out.
 * Returns 0 or -1 (malformed). */
static int
ref_full(const char *ref, const char *docid, char *out, size_t outsz)
{
	const char	*hash = strchr(ref, '#');
	size_t		 idlen = hash == NULL ? strlen(ref) :
			    (size_t)(hash - ref);
	const char	*name = hash == NULL ? "main" : hash + 1;
	int		 n;

	if (*name == '\0' || strchr(name, '#') != NULL)
		return -1;
	if (idlen == 0)
		n = snprintf(out, outsz, "%s#%s", docid, name);
	else {
		if (syntax_nsid_validate(ref, idlen, NULL) == -1)
			return -1;
		n = snprintf(out, outsz, "%.*s#%s", (int)idlen, ref, name);
	}
	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

/* Pool offset of the full form of the ref string v. */
static uint32_t
ref_add(struct cctx *x, const json_t *v)
{
	char		full[LX_ID_MAX];
	uint32_t	off;

	if (ref_full(json_string_value(v), x->docid, full, sizeof(full)) ==
	    -1) {
		(void)cfail(x, "Invalid ref (got \"%.*s\")", 300,
		    json_string_value(v));
		return LX_NONE;
	}
	if ((off = pool_add(x->s, full, strlen(full))) == LX_NONE)
		(void)nomem(x);
	return off;
}

/* ==== concrete types ===================================================== */

static int	c_contained(struct cctx *, const json_t *,
		    const char *const *, uint32_t *);
static int	c_object(struct cctx *, const json_t *, uint32_t, uint32_t *);

/* const/enum handling shared by string and integer (lex-builder
 * compileConstSchema, compileEnumSchema).  *out is set when const or enum
 * decide the node; returns 0 (maybe nothing decided) or -1. */
static int
c_const_enum(struct cctx *x, const json_t *def, enum lx_vtype vt,
    uint32_t *out)
{
	const json_t	*k = field(def, "const"), *en = field(def, "enum"), *e;
	struct lx_node	*nd;
	uint32_t	 id, first;
	size_t		 i;
	int		 in_enum = 0;

	if (k == NULL && en == NULL)
		return 0;
	json_array_foreach(en, i, e)
		if (k != NULL && json_equal(e, k))
			in_enum = 1;
	if (k != NULL && en != NULL && !in_enum)
		return (*out = node_new(x->s, LX_NEVER)) == LX_NONE ?
		    nomem(x) : 0;
	if (k == NULL && json_array_size(en) == 0)
		return (*out = node_new(x->s, LX_NEVER)) == LX_NONE ?
		    nomem(x) : 0;
	if (k == NULL && json_array_size(en) == 1)
		k = json_array_get(en, 0);
	if (k != NULL) {
		if ((id = node_new(x->s, LX_LITERAL)) == LX_NONE)
			return nomem(x);
		if (vt == LXV_STRING && (first = pool_add(x->s,
		    json_string_value(k), json_string_length(k))) == LX_NONE)
			return nomem(x);
		nd = &x->s->nodes[id];
		nd->vtype = (uint8_t)vt;
		if (vt == LXV_STRING)
			nd->str = first;
		else if (vt == LXV_INTEGER)
			nd->min = (int64_t)json_integer_value(k);
		else
			nd->min = json_is_true(k);
		*out = id;
		return 0;
	}
	first = (uint32_t)(vt == LXV_STRING ? x->s->nlist : x->s->nints);
	json_array_foreach(en, i, e) {
		uint32_t	off;

		if (vt == LXV_INTEGER) {
			if (ints_add(x->s, (int64_t)json_integer_value(e)) ==
			    -1)
				return nomem(x);
		} else if ((off = pool_add(x->s, json_string_value(e),
		    json_string_length(e))) == LX_NONE ||
		    list_add(x->s, off) == -1)
			return nomem(x);
	}
	if ((id = node_new(x->s, LX_ENUM)) == LX_NONE)
		return nomem(x);
	nd = &x->s->nodes[id];
	nd->vtype = (uint8_t)vt;
	nd->a = first;
	nd->n = (uint32_t)json_array_size(en);
	*out = id;
	return 0;
}

static int
c_boolean(struct cctx *x, const json_t *def, uint32_t *out)
{
	const json_t	*k = field(def, "const");
	uint32_t	 id;

	if (opt_type(x, def, "default", JSON_TRUE, "boolean") == -1 ||
	    opt_type(x, def, "const", JSON_TRUE, "boolean") == -1)
		return -1;
	if ((id = node_new(x->s, k != NULL ? LX_LITERAL : LX_BOOLEAN)) ==
	    LX_NONE)
		return nomem(x);
	if (k != NULL) {
		x->s->nodes[id].vtype = LXV_BOOLEAN;
		x->s->nodes[id].min = json_is_true(k);
	}
	*out = id;
	return 0;
}

static int
c_integer(struct cctx *x, const json_t *def, uint32_t *out)
{
	int64_t		mn = 0, mx = 0, dummy;
	int		hmn, hmx, h;
	uint32_t	id = LX_NONE;

	if (opt_int(x, def, "minimum", &hmn, &mn) == -1 ||
	    opt_int(x, def, "maximum", &hmx, &mx) == -1 ||
	    opt_int(x, def, "default", &h, &dummy) == -1 ||
	    opt_int(x, def, "const", &h, &dummy) == -1 ||
	    opt_array_of(x, def, "enum", JSON_INTEGER, "integer") == -1 ||
	    c_const_enum(x, def, LXV_INTEGER, &id) == -1)
		return -1;
	if (id == LX_NONE) {
		if ((id = node_new(x->s, LX_INTEGER)) == LX_NONE)
			return nomem(x);
		x->s->nodes[id].min = mn;
		x->s->nodes[id].max = mx;
		x->s->nodes[id].flags = (uint8_t)((hmn ? LXN_MIN : 0) |
		    (hmx ? LXN_MAX : 0));
	}
	*out = id;
	return 0;
}

static int
c_string_fmt(struct cctx *x, const json_t *def, uint8_t *fmt)
{
	const json_t		*f = field(def, "format");
	enum syntax_format	 sf;
	size_t			 old;
	char			 got[96];

	*fmt = 0;
	if (opt_type(x, def, "format", JSON_STRING, "string") == -1)
		return -1;
	if (f == NULL)
		return 0;
	if (syntax_format_find(json_string_value(f), json_string_length(f),
	    &sf) == -1) {
		old = cpush(x, "format");
		jpreview(f, got, sizeof(got));
		(void)cfail(x, "Unknown string format (got %s)", got);
		cpop(x, old);
		return -1;
	}
	*fmt = (uint8_t)(sf + 1);
	return 0;
}

static int
c_string(struct cctx *x, const json_t *def, uint32_t *out)
{
	int64_t		v[4] = { 0, 0, 0, 0 };
	int		h[4];
	static const char *const names[4] = { "minLength", "maxLength",
		"minGraphemes", "maxGraphemes" };
	static const uint8_t bits[4] = { LXN_MIN, LXN_MAX, LXN_GMIN,
		LXN_GMAX };
	struct lx_node	*nd;
	uint32_t	 id = LX_NONE;
	uint8_t		 fmt, flags = 0;
	int		 i;

	for (i = 0; i < 4; i++) {
		if (opt_int(x, def, names[i], &h[i], &v[i]) == -1)
			return -1;
		flags |= h[i] ? bits[i] : 0;
	}
	if (c_string_fmt(x, def, &fmt) == -1 ||
	    opt_type(x, def, "default", JSON_STRING, "string") == -1 ||
	    opt_type(x, def, "const", JSON_STRING, "string") == -1 ||
	    opt_array_of(x, def, "enum", JSON_STRING, "string") == -1 ||
	    opt_array_of(x, def, "knownValues", JSON_STRING, "string") == -1 ||
	    c_const_enum(x, def, LXV_STRING, &id) == -1)
		return -1;
	if (id == LX_NONE) {
		if ((id = node_new(x->s, LX_STRING)) == LX_NONE)
			return nomem(x);
		nd = &x->s->nodes[id];
		nd->fmt = fmt;
		nd->flags = flags;
		nd->min = v[0];
		nd->max = v[1];
		nd->gmin = v[2];
		nd->gmax = v[3];
	}
	*out = id;
	return 0;
}

static int
c_bytes(struct cctx *x, const json_t *def, uint32_t *out)
{
	int64_t		mn = 0, mx = 0;
	int		hmn, hmx;
	uint32_t	id;

	if (opt_int(x, def, "minLength", &hmn, &mn) == -1 ||
	    opt_int(x, def, "maxLength", &hmx, &mx) == -1)
		return -1;
	if ((id = node_new(x->s, LX_BYTES)) == LX_NONE)
		return nomem(x);
	x->s->nodes[id].min = mn;
	x->s->nodes[id].max = mx;
	x->s->nodes[id].flags = (uint8_t)((hmn ? LXN_MIN : 0) |
	    (hmx ? LXN_MAX : 0));
	*out = id;
	return 0;
}

static int
c_blob(struct cctx *x, const json_t *def, uint32_t *out)
{
	const json_t	*acc = field(def, "accept"), *e;
	int64_t		 mx = 0;
	int		 hmx;
	uint32_t	 id, first = (uint32_t)x->s->nlist, off;
	size_t		 i;

	if (opt_array_of(x, def, "accept", JSON_STRING, "string") == -1 ||
	    opt_int(x, def, "maxSize", &hmx, &mx) == -1)
		return -1;
	json_array_foreach(acc, i, e)
		if ((off = pool_add(x->s, json_string_value(e),
		    json_string_length(e))) == LX_NONE ||
		    list_add(x->s, off) == -1)
			return nomem(x);
	if ((id = node_new(x->s, LX_BLOB)) == LX_NONE)
		return nomem(x);
	x->s->nodes[id].max = mx;
	x->s->nodes[id].flags = hmx ? LXN_MAX : 0;
	if (acc != NULL) {
		x->s->nodes[id].a = first;
		x->s->nodes[id].n = (uint32_t)json_array_size(acc);
	}
	*out = id;
	return 0;
}

static int
c_array(struct cctx *x, const json_t *def, const char *const *items,
    uint32_t *out)
{
	const json_t	*it = field(def, "items");
	int64_t		 mn = 0, mx = 0;
	int		 hmn, hmx;
	uint32_t	 id, child;
	size_t		 old;

	if (opt_int(x, def, "minLength", &hmn, &mn) == -1 ||
	    opt_int(x, def, "maxLength", &hmx, &mx) == -1)
		return -1;
	if (it == NULL)
		return cfail(x, "Missing required key \"items\"");
	old = cpush(x, "items");
	if (c_contained(x, it, items, &child) == -1)
		return -1;
	cpop(x, old);
	if ((id = node_new(x->s, LX_ARRAY)) == LX_NONE)
		return nomem(x);
	x->s->nodes[id].a = child;
	x->s->nodes[id].min = mn;
	x->s->nodes[id].max = mx;
	x->s->nodes[id].flags = (uint8_t)((hmn ? LXN_MIN : 0) |
	    (hmx ? LXN_MAX : 0));
	*out = id;
	return 0;
}

static int
c_ref(struct cctx *x, const json_t *def, uint32_t *out)
{
	const char	*ref;
	uint32_t	 id, off;
	size_t		 old;

	if ((ref = req_string(x, def, "ref")) == NULL)
		return -1;
	old = cpush(x, "ref");
	off = ref_add(x, field(def, "ref"));
	cpop(x, old);
	if (off == LX_NONE)
		return -1;
	if ((id = node_new(x->s, LX_REF)) == LX_NONE)
		return nomem(x);
	x->s->nodes[id].str = off;
	*out = id;
	return 0;
}

static int
c_union(struct cctx *x, const json_t *def, uint32_t *out)
{
	const json_t	*refs = field(def, "refs"), *e;
	uint32_t	 id, first = (uint32_t)x->s->nlist, off;
	size_t		 i, old, old2;
	int		 closed;

	if (refs == NULL)
		return cfail(x, "Missing required key \"refs\"");
	if (opt_array_of(x, def, "refs", JSON_STRING, "string") == -1 ||
	    opt_type(x, def, "closed", JSON_TRUE, "boolean") == -1)
		return -1;
	closed = json_is_true(field(def, "closed"));
	if (closed && json_array_size(refs) == 0)
		return (*out = node_new(x->s, LX_NEVER)) == LX_NONE ?
		    nomem(x) : 0;
	old = cpush(x, "refs");
	json_array_foreach(refs, i, e) {
		old2 = cpush_index(x, i);
		off = ref_add(x, e);
		cpop(x, old2);
		if (off == LX_NONE)
			return -1;
		if (list_add(x->s, off) == -1 || list_add(x->s, LX_NONE) == -1)
			return nomem(x);
	}
	cpop(x, old);
	if ((id = node_new(x->s, LX_UNION)) == LX_NONE)
		return nomem(x);
	x->s->nodes[id].a = first;
	x->s->nodes[id].n = (uint32_t)json_array_size(refs);
	x->s->nodes[id].flags = closed ? LXN_CLOSED : 0;
	*out = id;
	return 0;
}

/* A schema contained in an object, array or body (lex-builder
 * compileContainedSchema), of a type in set. */
static int
c_contained(struct cctx *x, const json_t *def, const char *const *set,
    uint32_t *out)
{
	const char	*t;
	int		 rc;

	if ((t = def_type(x, def, set)) == NULL)
		return -1;
	if (check_description(x, def) == -1)
		return -1;
	if (++x->nest > LIM_LEXICON_NEST)
		return cfail(x, "Schema nested deeper than %d",
		    LIM_LEXICON_NEST);
	if (strcmp(t, "boolean") == 0)
		rc = c_boolean(x, def, out);
	else if (strcmp(t, "integer") == 0)
		rc = c_integer(x, def, out);
	else if (strcmp(t, "string") == 0)
		rc = c_string(x, def, out);
	else if (strcmp(t, "bytes") == 0)
		rc = c_bytes(x, def, out);
	else if (strcmp(t, "cid-link") == 0)
		rc = (*out = node_new(x->s, LX_CID)) == LX_NONE ? nomem(x) : 0;
	else if (strcmp(t, "blob") == 0)
		rc = c_blob(x, def, out);
	else if (strcmp(t, "unknown") == 0)
		rc = (*out = node_new(x->s, LX_UNKNOWN)) == LX_NONE ?
		    nomem(x) : 0;
	else if (strcmp(t, "ref") == 0)
		rc = c_ref(x, def, out);
	else if (strcmp(t, "union") == 0)
		rc = c_union(x, def, out);
	else if (strcmp(t, "array") == 0)
		rc = c_array(x, def, set == PARAM_TYPES ? PARAM_ITEM_TYPES :
		    ITEM_TYPES, out);
	else
		rc = c_object(x, def, LX_NONE, out);
	x->nest--;
	return rc;
}

/* ==== objects ============================================================ */

/* required/nullable: arrays of names, each a defined property. */
static int
check_names(struct cctx *x, const json_t *def, const char *list,
    const json_t *props)
{
	const json_t	*v = field(def, list), *e;
	size_t		 i, old;

	if (opt_array_of(x, def, list, JSON_STRING, "string") == -1)
		return -1;
	json_array_foreach(v, i, e)
		if (json_object_get(props, json_string_value(e)) == NULL) {
			old = cpush(x, list);
			(void)cfail(x, "All %s properties must be defined in "
			    "properties (not \"%.*s\")", list, 200,
			    json_string_value(e));
			cpop(x, old);
			return -1;
		}
	return 0;
}

static int
in_names(const json_t *def, const char *list, const char *key)
{
	const json_t	*e;
	size_t		 i;

	json_array_foreach(field(def, list), i, e)
		if (strcmp(json_string_value(e), key) == 0)
			return 1;
	return 0;
}

/* Is key a canonical array index ("0", "17"), which JS orders first? */
static int
index_like(const char *key)
{
	size_t	i, n = strlen(key);

	if (n == 0 || n > 9 || (key[0] == '0' && n > 1))
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned)(key[i] - '0') >= 10u)
			return 0;
	return 1;
}

/* Compiles one property into the prop slot at index slot. */
static int
c_prop(struct cctx *x, const json_t *def, const char *key, const json_t *pd,
    size_t slot)
{
	uint32_t	child, name;
	size_t		old;

	old = cpush(x, "properties");
	(void)cpush(x, key);
	if (c_contained(x, pd, PROP_TYPES, &child) == -1)
		return -1;
	cpop(x, old);
	if ((name = pool_add(x->s, key, strlen(key))) == LX_NONE)
		return nomem(x);
	x->s->props[slot].name = name;
	x->s->props[slot].nlen = (uint32_t)strlen(key);
	x->s->props[slot].node = child;
	x->s->props[slot].required = (uint8_t)in_names(def, "required", key);
	x->s->props[slot].nullable = (uint8_t)in_names(def, "nullable", key);
	return 0;
}

/* An object (lex-builder compileObjectSchema); typestr is its $type for a
 * named object definition (typedObject), LX_NONE inline.  Properties keep
 * the document's order, canonical index keys first (JS key order). */
static int
c_object(struct cctx *x, const json_t *def, uint32_t typestr, uint32_t *out)
{
	const json_t	*props = field(def, "properties"), *pd;
	const char	*key;
	size_t		 first, n, slot, pass;
	uint32_t	 id;

	if (props == NULL)
		return cfail(x, "Missing required key \"properties\"");
	if (opt_type(x, def, "properties", JSON_OBJECT, "dict") == -1 ||
	    check_names(x, def, "required", props) == -1 ||
	    check_names(x, def, "nullable", props) == -1)
		return -1;
	n = json_object_size(props);
	/* reserve the slots first: children add their own props */
	first = x->s->nprops;
	for (slot = 0; slot < n; slot++) {
		if (grow(x->s, (void **)&x->s->props, x->s->nprops,
		    &x->s->capprops, sizeof(*x->s->props)) == -1)
			return nomem(x);
		x->s->nprops++;
	}
	slot = first;
	for (pass = 0; pass < 2; pass++)
		json_object_foreach((json_t *)props, key, pd) {
			if ((size_t)index_like(key) != 1 - pass)
				continue;
			if (c_prop(x, def, key, pd, slot++) == -1)
				return -1;
		}
	if ((id = node_new(x->s, LX_OBJECT)) == LX_NONE)
		return nomem(x);
	x->s->nodes[id].a = (uint32_t)first;
	x->s->nodes[id].n = (uint32_t)n;
	if (typestr != LX_NONE) {
		x->s->nodes[id].str = typestr;
		x->s->nodes[id].flags = LXN_TYPED;
	}
	*out = id;
	return 0;
}

/* ==== primary types ====================================================== */

static int
c_record(struct cctx *x, const json_t *def, uint32_t *out)
{
	const json_t	*rec = field(def, "record");
	const char	*key;
	enum lx_key	 kt;
	uint32_t	 id, obj, lit = LX_NONE;
	size_t		 old;

	if ((key = req_string(x, def, "key")) == NULL)
		return -1;
	if (strcmp(key, "any") == 0)
		kt = LXK_ANY;
	else if (strcmp(key, "tid") == 0)
		kt = LXK_TID;
	else if (strcmp(key, "nsid") == 0)
		kt = LXK_NSID;
	else if (strncmp(key, "literal:", 8) == 0 &&
	    syntax_rkey_validate(key + 8, strlen(key + 8), NULL) == 0) {
		kt = LXK_LITERAL;
		if ((lit = pool_add(x->s, key + 8, strlen(key + 8))) ==
		    LX_NONE)
			return nomem(x);
	} else {
		old = cpush(x, "key");
		(void)cfail(x, "Invalid record key definition (must be "
		    "\"any\", \"nsid\", \"tid\", or \"literal:<string>\")");
		cpop(x, old);
		return -1;
	}
	if (rec == NULL)
		return cfail(x, "Missing required key \"record\"");
	old = cpush(x, "record");
	if (def_type(x, rec, (const char *const[]){ "object", NULL }) ==
	    NULL || check_description(x, rec) == -1 ||
	    c_object(x, rec, LX_NONE, &obj) == -1)
		return -1;
	cpop(x, old);
	if ((id = node_new(x->s, LX_RECORD)) == LX_NONE)
		return nomem(x);
	x->s->nodes[id].a = obj;
	x->s->nodes[id].vtype = (uint8_t)kt;
	x->s->nodes[id].key = lit;
	x->s->nodes[id].str = x->docid_off;
	*out = id;
	return 0;
}

/* XRPC parameters: properties of boolean, integer, string or arrays of
 * those (lex-document lexiconParameters). */
static int
c_params(struct cctx *x, const json_t *def)
{
	const json_t	*props, *pd;
	const char	*key;
	uint32_t	 child;
	size_t		 old, old2;

	if (def == NULL)
		return 0;
	old = cpush(x, "parameters");
	if (def_type(x, def, (const char *const[]){ "params", NULL }) ==
	    NULL || check_description(x, def) == -1)
		return -1;
	if ((props = field(def, "properties")) == NULL)
		return cfail(x, "Missing required key \"properties\"");
	if (opt_type(x, def, "properties", JSON_OBJECT, "dict") == -1 ||
	    check_names(x, def, "required", props) == -1)
		return -1;
	old2 = cpush(x, "properties");
	json_object_foreach((json_t *)props, key, pd) {
		size_t	old3 = cpush(x, key);

		if (c_contained(x, pd, PARAM_TYPES, &child) == -1)
			return -1;
		cpop(x, old3);
	}
	cpop(x, old2);
	cpop(x, old);
	return 0;
}

/* An input/output body (lex-document lexiconPayload). */
static int
c_payload(struct cctx *x, const json_t *p, const char *name)
{
	const char	*enc;
	const json_t	*schema;
	uint32_t	 child;
	size_t		 old, old2;

	if (p == NULL)
		return 0;
	old = cpush(x, name);
	if (!json_is_object(p))
		return cfail_type(x, "object", p);
	if ((enc = req_string(x, p, "encoding")) == NULL ||
	    check_description(x, p) == -1)
		return -1;
	if (strpbrk(enc, ",; ") != NULL) {
		old2 = cpush(x, "encoding");
		(void)cfail(x, "Invalid encoding string (must be a single "
		    "MIME type without parameters)");
		cpop(x, old2);
		return -1;
	}
	if ((schema = field(p, "schema")) != NULL) {
		old2 = cpush(x, "schema");
		if (c_contained(x, schema, BODY_TYPES, &child) == -1)
			return -1;
		cpop(x, old2);
	}
	cpop(x, old);
	return 0;
}

static int
c_errors(struct cctx *x, const json_t *def)
{
	const json_t	*errs = field(def, "errors"), *e, *name;
	size_t		 i, old, old2;

	if (opt_type(x, def, "errors", JSON_ARRAY, "array") == -1)
		return -1;
	old = cpush(x, "errors");
	json_array_foreach(errs, i, e) {
		old2 = cpush_index(x, i);
		if (!json_is_object(e))
			return cfail_type(x, "object", e);
		if ((name = field(e, "name")) == NULL ||
		    !json_is_string(name) || json_string_length(name) == 0)
			return cfail(x, "Expected a non-empty string name");
		if (check_description(x, e) == -1)
			return -1;
		cpop(x, old2);
	}
	cpop(x, old);
	return 0;
}

/* query, procedure, subscription. */
static int
c_method(struct cctx *x, const json_t *def, const char *t, uint32_t *out)
{
	const json_t	*msg;
	uint32_t	 child;
	size_t		 old, old2;

	if (c_params(x, field(def, "parameters")) == -1 ||
	    c_errors(x, def) == -1)
		return -1;
	if (strcmp(t, "subscription") == 0) {
		if ((msg = field(def, "message")) == NULL)
			return cfail(x, "Missing required key \"message\"");
		old = cpush(x, "message");
		if (!json_is_object(msg))
			return cfail_type(x, "object", msg);
		if (field(msg, "schema") == NULL)
			return cfail(x, "Missing required key \"schema\"");
		old2 = cpush(x, "schema");
		if (c_contained(x, field(msg, "schema"),
		    (const char *const[]){ "union", NULL }, &child) == -1)
			return -1;
		cpop(x, old2);
		cpop(x, old);
	} else if ((strcmp(t, "procedure") == 0 &&
	    c_payload(x, field(def, "input"), "input") == -1) ||
	    c_payload(x, field(def, "output"), "output") == -1)
		return -1;
	return (*out = node_new(x->s, LX_METHOD)) == LX_NONE ? nomem(x) : 0;
}

/* A permission's extra fields: boolean, integer, string or arrays of
 * those (lex-schema paramSchema). */
static int
c_permission(struct cctx *x, const json_t *p)
{
	const json_t	*v, *e;
	const char	*key;
	size_t		 i, old;

	if (!json_is_object(p))
		return cfail_type(x, "object", p);
	if (def_type(x, p, (const char *const[]){ "permission", NULL }) ==
	    NULL || req_string(x, p, "resource") == NULL)
		return -1;
	if (json_string_length(field(p, "resource")) == 0)
		return cfail(x, "Expected a non-empty resource");
	json_object_foreach((json_t *)p, key, v) {
		int	ok = json_is_boolean(v) || json_is_integer(v) ||
			    json_is_string(v);

		if (json_is_array(v)) {
			ok = 1;
			json_array_foreach(v, i, e)
				ok &= json_is_boolean(e) ||
				    json_is_integer(e) || json_is_string(e);
		}
		if (!ok) {
			old = cpush(x, key);
			(void)cfail_type(x, "boolean, integer, string or "
			    "array", v);
			cpop(x, old);
			return -1;
		}
	}
	return 0;
}

/* "title:lang", "detail:lang": language tag -> string. */
static int
c_lang_dict(struct cctx *x, const json_t *def, const char *name)
{
	const json_t	*d = field(def, name), *v;
	const char	*key;
	size_t		 old, old2;

	if (opt_type(x, def, name, JSON_OBJECT, "dict") == -1 || d == NULL)
		return 0 - (d != NULL && !json_is_object(d));
	old = cpush(x, name);
	json_object_foreach((json_t *)d, key, v) {
		old2 = cpush(x, key);
		if (syntax_language_validate_strict(key, strlen(key), NULL) ==
		    -1)
			return cfail(x, "Invalid language (got \"%.*s\")", 100,
			    key);
		if (!json_is_string(v))
			return cfail_type(x, "string", v);
		cpop(x, old2);
	}
	cpop(x, old);
	return 0;
}

static int
c_permission_set(struct cctx *x, const json_t *def, uint32_t *out)
{
	const json_t	*perms = field(def, "permissions"), *p;
	size_t		 i, old, old2;

	if (perms == NULL)
		return cfail(x, "Missing required key \"permissions\"");
	if (opt_type(x, def, "permissions", JSON_ARRAY, "array") == -1 ||
	    opt_type(x, def, "title", JSON_STRING, "string") == -1 ||
	    opt_type(x, def, "detail", JSON_STRING, "string") == -1 ||
	    c_lang_dict(x, def, "title:lang") == -1 ||
	    c_lang_dict(x, def, "detail:lang") == -1)
		return -1;
	old = cpush(x, "permissions");
	json_array_foreach(perms, i, p) {
		old2 = cpush_index(x, i);
		if (c_permission(x, p) == -1)
			return -1;
		cpop(x, old2);
	}
	cpop(x, old);
	return (*out = node_new(x->s, LX_METHOD)) == LX_NONE ? nomem(x) : 0;
}

/* One top-level definition (lex-builder compileDef, lex-document's
 * MAIN/NAMED choice). */
static int
c_def(struct cctx *x, const char *name, const json_t *def)
{
	const char	*t;
	char		 full[LX_ID_MAX];
	uint32_t	 node = LX_NONE, typestr, nm;
	struct lx_def	*d;
	int		 n;

	if ((t = def_type(x, def, strcmp(name, "main") == 0 ? MAIN_TYPES :
	    NAMED_TYPES)) == NULL || check_description(x, def) == -1)
		return -1;
	n = strcmp(name, "main") == 0 ?
	    snprintf(full, sizeof(full), "%s", x->docid) :
	    snprintf(full, sizeof(full), "%s#%s", x->docid, name);
	if (n < 0 || (size_t)n >= sizeof(full))
		return cfail(x, "Definition name too long");
	if (strcmp(t, "record") == 0) {
		if (c_record(x, def, &node) == -1)
			return -1;
	} else if (strcmp(t, "object") == 0) {
		if ((typestr = pool_add(x->s, full, (size_t)n)) == LX_NONE)
			return nomem(x);
		if (c_object(x, def, typestr, &node) == -1)
			return -1;
	} else if (strcmp(t, "token") == 0) {
		if ((typestr = pool_add(x->s, full, (size_t)n)) == LX_NONE ||
		    (node = node_new(x->s, LX_TOKEN)) == LX_NONE)
			return nomem(x);
		x->s->nodes[node].str = typestr;
	} else if (strcmp(t, "permission-set") == 0) {
		if (c_permission_set(x, def, &node) == -1)
			return -1;
	} else if (strcmp(t, "query") == 0 || strcmp(t, "procedure") == 0 ||
	    strcmp(t, "subscription") == 0) {
		if (c_method(x, def, t, &node) == -1)
			return -1;
	} else if (c_contained(x, def, NAMED_TYPES, &node) == -1)
		return -1;
	if ((nm = pool_add(x->s, name, strlen(name))) == LX_NONE ||
	    grow(x->s, (void **)&x->s->defs, x->s->ndefs, &x->s->capdefs,
	    sizeof(*x->s->defs)) == -1)
		return nomem(x);
	d = &x->s->defs[x->s->ndefs++];
	d->id = x->docid_off;
	d->name = nm;
	d->node = node;
	return 0;
}

/* ==== documents ========================================================== */

static int
doc_has(const struct lexicon_set *s, const char *id)
{
	size_t	i;

	for (i = 0; i < s->ndefs; i++)
		if (strcmp(lx_str(s, s->defs[i].id), id) == 0)
			return 1;
	return 0;
}

/* The document's header fields; sets x->docid. */
static int
c_header(struct cctx *x, const json_t *doc)
{
	const json_t	*lx = field(doc, "lexicon"), *id = field(doc, "id");
	size_t		 old;
	char		 got[96];

	if (!json_is_object(doc))
		return cfail_type(x, "object", doc);
	if (lx == NULL)
		return cfail(x, "Missing required key \"lexicon\"");
	if (!json_is_integer(lx) || json_integer_value(lx) != 1) {
		old = cpush(x, "lexicon");
		jpreview(lx, got, sizeof(got));
		(void)cfail(x, "Expected 1 (got %s)", got);
		cpop(x, old);
		return -1;
	}
	if (req_string(x, doc, "id") == NULL)
		return -1;
	if (syntax_nsid_validate(json_string_value(id),
	    json_string_length(id), NULL) == -1) {
		old = cpush(x, "id");
		(void)cfail(x, "Invalid NSID (got \"%.*s\")", 300,
		    json_string_value(id));
		cpop(x, old);
		return -1;
	}
	if (opt_type(x, doc, "revision", JSON_INTEGER, "integer") == -1 ||
	    check_description(x, doc) == -1)
		return -1;
	if (field(doc, "defs") == NULL)
		return cfail(x, "Missing required key \"defs\"");
	if (opt_type(x, doc, "defs", JSON_OBJECT, "object") == -1)
		return -1;
	x->docid = json_string_value(id);
	return 0;
}

int
lx_doc_compile(struct lexicon_set *s, const json_t *doc, char *why,
    size_t whysz)
{
	struct cctx	 x;
	const json_t	*def;
	const char	*name;
	size_t		 ndefs = s->ndefs, old;

	memset(&x, 0, sizeof(x));
	x.s = s;
	x.why = why;
	x.whysz = whysz;
	if (c_header(&x, doc) == -1)
		return -1;
	if (doc_has(s, x.docid))
		return cfail(&x, "Duplicate lexicon document %s", x.docid);
	if ((x.docid_off = pool_add(s, x.docid, strlen(x.docid))) == LX_NONE)
		return nomem(&x);
	json_object_foreach((json_t *)field(doc, "defs"), name, def) {
		old = cpush(&x, "defs");
		(void)cpush(&x, name);
		if (*name == '\0' || c_def(&x, name, def) == -1) {
			if (*name == '\0')
				(void)cfail(&x, "Empty definition name");
			s->ndefs = ndefs;
			return -1;
		}
		cpop(&x, old);
	}
	return 0;
}

