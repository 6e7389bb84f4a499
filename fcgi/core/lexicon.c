/*
 * lexicon.c: Lexicon schema sets: their life (new, add, free), linking
 * refs, lookups, and the process's built-in set.  See lexicon.h; checking
 * and compiling a document is lexcompile.c, record validation lexvalid.c.
 *
 * Documents are untrusted only in the sense of being checked; they come
 * from our tree or from tests (the PDS never compiles user documents).
 * Limits: LIM_LEXICON_DOC bytes per document; linking walks each node
 * once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lexicon.h"
#include "lexicon_int.h"
#include "log.h"
#include "pds_limits.h"

static json_t *
doc_load(const char *json, size_t len, char *why, size_t whysz)
{
	json_error_t	 jerr;
	json_t		*doc;

	if (len > LIM_LEXICON_DOC) {
		(void)snprintf(why, whysz, "Lexicon document over %u bytes",
		    (unsigned)LIM_LEXICON_DOC);
		return NULL;
	}
	if ((doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL)
		(void)snprintf(why, whysz, "Invalid JSON: %s (line %d)",
		    jerr.text, jerr.line);
	return doc;
}

/* ==== API ================================================================ */

int
lexicon_set_new(struct lexicon_set **out)
{
	*out = calloc(1, sizeof(**out));
	return *out == NULL ? -1 : 0;
}

void
lexicon_set_free(struct lexicon_set *s)
{
	if (s == NULL)
		return;
	free(s->nodes);
	free(s->props);
	free(s->list);
	free(s->ints);
	free(s->pool);
	free(s->defs);
	free(s);
}

int
lexicon_set_add(struct lexicon_set *s, const char *json, size_t len,
    char *why, size_t whysz)
{
	json_t	*doc;
	int	 rc;

	if (whysz > 0)
		why[0] = '\0';
	if (s->linked) {
		(void)snprintf(why, whysz, "Schema set already linked");
		return -1;
	}
	if ((doc = doc_load(json, len, why, whysz)) == NULL)
		return -1;
	rc = lx_doc_compile(s, doc, why, whysz);
	json_decref(doc);
	return rc;
}

int
lexicon_doc_validate(const char *json, size_t len, char *why, size_t whysz)
{
	struct lexicon_set	*s;
	int			 rc;

	if (lexicon_set_new(&s) == -1) {
		(void)snprintf(why, whysz, "Out of memory");
		return -1;
	}
	rc = lexicon_set_add(s, json, len, why, whysz);
	lexicon_set_free(s);
	return rc;
}

/* ==== linking ============================================================ */

struct lctx {
	struct lexicon_set	*s;
	uint8_t			*seen;		/* per node */
	char			*why;
	size_t			 whysz;
};

static int
def_cmp(const struct lexicon_set *s, const struct lx_def *d, const char *id,
    size_t idlen, const char *name)
{
	const char	*did = lx_str(s, d->id);
	int		 c = strncmp(did, id, idlen);

	if (c == 0 && did[idlen] != '\0')
		c = 1;
	return c != 0 ? c : strcmp(lx_str(s, d->name), name);
}

/* The definition "<id>#<name>" of a linked (sorted) set, or NULL. */
static const struct lx_def *
def_find(const struct lexicon_set *s, const char *id, size_t idlen,
    const char *name)
{
	size_t	lo = 0, hi = s->ndefs, mid;
	int	c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = def_cmp(s, &s->defs[mid], id, idlen, name);
		if (c == 0)
			return &s->defs[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static const struct lexicon_set	*sort_set;

static int
def_sort_cmp(const void *a, const void *b)
{
	const struct lx_def	*da = a, *db = b;
	int			 c;

	c = strcmp(lx_str(sort_set, da->id), lx_str(sort_set, db->id));
	return c != 0 ? c : strcmp(lx_str(sort_set, da->name),
	    lx_str(sort_set, db->name));
}

/* The node a full ref names, or LX_NONE with why. */
static uint32_t
l_resolve(struct lctx *x, uint32_t refstr, int typed)
{
	const char		*ref = lx_str(x->s, refstr);
	const char		*hash = strchr(ref, '#');
	const struct lx_def	*d;
	enum lx_kind		 k;

	d = def_find(x->s, ref, (size_t)(hash - ref), hash + 1);
	if (d == NULL) {
		(void)snprintf(x->why, x->whysz, "Unresolved ref %s", ref);
		return LX_NONE;
	}
	k = (enum lx_kind)x->s->nodes[d->node].kind;
	if (typed && !(k == LX_RECORD || (k == LX_OBJECT &&
	    (x->s->nodes[d->node].flags & LXN_TYPED)))) {
		(void)snprintf(x->why, x->whysz, "Only refs to records and "
		    "object definitions are allowed (%s)", ref);
		return LX_NONE;
	}
	if (k == LX_METHOD) {
		(void)snprintf(x->why, x->whysz, "Only refs to schema types "
		    "are allowed (%s)", ref);
		return LX_NONE;
	}
	return d->node;
}

/* Resolves everything reachable from node id (depth-first, each node
 * once; the recursion depth is bounded by the number of nodes, which
 * LIM_LEXICON_POOL bounds, and by nesting in practice). */
static int
l_walk(struct lctx *x, uint32_t id)
{
	struct lx_node	*nd = &x->s->nodes[id];
	uint32_t	 i, t;

	if (x->seen[id])
		return 0;
	x->seen[id] = 1;
	switch (nd->kind) {
	case LX_ARRAY:
	case LX_RECORD:
		return l_walk(x, nd->a);
	case LX_OBJECT:
		for (i = 0; i < nd->n; i++)
			if (l_walk(x, x->s->props[nd->a + i].node) == -1)
				return -1;
		return 0;
	case LX_REF:
		if ((t = l_resolve(x, nd->str, 0)) == LX_NONE)
			return -1;
		nd->a = t;
		nd->flags |= LXN_LINKED;
		return l_walk(x, t);
	case LX_UNION:
		for (i = 0; i < nd->n; i++) {
			if ((t = l_resolve(x, x->s->list[nd->a + 2 * i], 1)) ==
			    LX_NONE)
				return -1;
			x->s->list[nd->a + 2 * i + 1] = t;
		}
		nd->flags |= LXN_LINKED;
		for (i = 0; i < nd->n; i++)
			if (l_walk(x, x->s->list[nd->a + 2 * i + 1]) == -1)
				return -1;
		return 0;
	default:
		return 0;
	}
}

/* Gives back unused capacity once the set is final. */
static void
shrink(void **p, size_t n, size_t elsz)
{
	void	*np;

	if (n > 0 && (np = reallocarray(*p, n, elsz)) != NULL)
		*p = np;
}

int
lexicon_set_link(struct lexicon_set *s, char *why, size_t whysz)
{
	struct lctx	x;
	size_t		i;
	int		rc = 0;

	if (whysz > 0)
		why[0] = '\0';
	if (s->linked)
		return 0;
	sort_set = s;
	if (s->ndefs > 0)	/* qsort(NULL, 0, ...) is undefined */
		qsort(s->defs, s->ndefs, sizeof(*s->defs), def_sort_cmp);
	sort_set = NULL;
	memset(&x, 0, sizeof(x));
	x.s = s;
	x.why = why;
	x.whysz = whysz;
	if (s->nnodes > 0 && (x.seen = calloc(s->nnodes, 1)) == NULL) {
		(void)snprintf(why, whysz, "Out of memory");
		return -1;
	}
	for (i = 0; i < s->ndefs && rc == 0; i++)
		if (s->nodes[s->defs[i].node].kind == LX_RECORD)
			rc = l_walk(&x, s->defs[i].node);
	free(x.seen);
	if (rc == -1)
		return -1;
	shrink((void **)&s->nodes, s->nnodes, sizeof(*s->nodes));
	shrink((void **)&s->props, s->nprops, sizeof(*s->props));
	shrink((void **)&s->list, s->nlist, sizeof(*s->list));
	shrink((void **)&s->ints, s->nints, sizeof(*s->ints));
	shrink((void **)&s->pool, s->npool, 1);
	shrink((void **)&s->defs, s->ndefs, sizeof(*s->defs));
	s->linked = 1;
	return 0;
}

const struct lx_node *
lx_record_find(const struct lexicon_set *s, const char *nsid)
{
	const struct lx_def	*d;

	if (s == NULL || !s->linked ||
	    (d = def_find(s, nsid, strlen(nsid), "main")) == NULL ||
	    s->nodes[d->node].kind != LX_RECORD)
		return NULL;
	return &s->nodes[d->node];
}

int
lexicon_set_has_record(const struct lexicon_set *s, const char *nsid)
{
	return lx_record_find(s, nsid) != NULL;
}

/* ==== built-in set ======================================================= */

const struct lexicon_set *
lexicon_builtin(void)
{
	static struct lexicon_set	*set;
	static int			 failed;
	char				 why[LIM_ERR_MSG];
	size_t				 i;

	if (set != NULL || failed)
		return set;
	if (lexicon_set_new(&set) == -1)
		goto fail;
	for (i = 0; i < lx_builtin_ndocs; i++)
		if (lexicon_set_add(set, lx_builtin_docs[i].json,
		    lx_builtin_docs[i].len, why, sizeof(why)) == -1) {
			log_error("%s: built-in lexicon %s: %s", __func__,
			    lx_builtin_docs[i].id, why);
			goto fail;
		}
	if (lexicon_set_link(set, why, sizeof(why)) == -1) {
		log_error("%s: built-in lexicons: %s", __func__, why);
		goto fail;
	}
	return set;
fail:
	lexicon_set_free(set);
	set = NULL;
	failed = 1;
	return NULL;
}
