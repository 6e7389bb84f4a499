/*
 * mst_walk.c: read-only walks over a Merkle Search Tree: ranged listing,
 * node export, covering proofs and the diff of two trees.  See mst.h.
 *
 * Walks recurse once per layer, so their depth is bounded by
 * MST_MAX_LAYER; they load only the nodes they need.  Nothing here
 * changes a tree (mst_root() may encode pending changes first).
 */
#include <stdlib.h>
#include <string.h>

#include "mst_int.h"

/* ==== listing ========================================================== */

struct list_ctx {
	struct mst		*t;
	const struct mst_range	*r;
	mst_list_fn		 fn;
	void			*arg;
	int			 stop;
};

static int
has_prefix(const char *k, size_t klen, const char *p, size_t plen)
{
	return plen == 0 || (klen >= plen && memcmp(k, p, plen) == 0);
}

static int
key_in_range(const struct mst_range *r, const struct mst_ent *e)
{
	if (!has_prefix(e->key, e->klen, r->prefix, r->prefixlen))
		return 0;
	if (r->after != NULL &&
	    mst_keycmp(e->key, e->klen, r->after, r->afterlen) <= 0)
		return 0;
	if (r->before != NULL &&
	    mst_keycmp(e->key, e->klen, r->before, r->beforelen) >= 0)
		return 0;
	return 1;
}

/*
 * Whether a gap holding keys strictly between lo and hi (NULL: no bound)
 * may hold a key of the range.  Conservative: 1 unless surely not.
 */
static int
gap_may_meet(const struct mst_range *r, const struct mst_ent *lo,
    const struct mst_ent *hi)
{
	if (r->before != NULL && lo != NULL &&
	    mst_keycmp(lo->key, lo->klen, r->before, r->beforelen) >= 0)
		return 0;
	if (r->after != NULL && hi != NULL &&
	    mst_keycmp(hi->key, hi->klen, r->after, r->afterlen) <= 0)
		return 0;
	if (r->prefixlen == 0)
		return 1;
	if (hi != NULL &&
	    mst_keycmp(hi->key, hi->klen, r->prefix, r->prefixlen) <= 0)
		return 0;
	/* lo above the prefix without starting with it: so is all after */
	if (lo != NULL &&
	    mst_keycmp(lo->key, lo->klen, r->prefix, r->prefixlen) > 0 &&
	    !has_prefix(lo->key, lo->klen, r->prefix, r->prefixlen))
		return 0;
	return 1;
}

static enum mst_err	list_rec(struct list_ctx *, struct mst_node *,
			    const struct mst_ent *, const struct mst_ent *);

/* Lists gap i of nd, whose outer bounds are lo and hi. */
static enum mst_err
list_gap(struct list_ctx *c, struct mst_node *nd, size_t i,
    const struct mst_ent *lo, const struct mst_ent *hi)
{
	struct mst_node		*g = *mst_node_gap(nd, i);
	const struct mst_ent	*glo = i > 0 ? &nd->e[i - 1] : lo;
	const struct mst_ent	*ghi = i < nd->n ? &nd->e[i] : hi;

	if (g == NULL || !gap_may_meet(c->r, glo, ghi))
		return MST_OK;
	return list_rec(c, g, glo, ghi);
}

static enum mst_err
list_leaf(struct list_ctx *c, const struct mst_ent *e)
{
	int	rc;

	if (!key_in_range(c->r, e))
		return MST_OK;
	if ((rc = c->fn(c->arg, e->key, e->klen, &e->val)) == 0)
		return MST_OK;
	c->stop = 1;
	return rc == 1 ? MST_OK : MST_ERR_SOURCE;
}

static enum mst_err
list_rec(struct list_ctx *c, struct mst_node *nd, const struct mst_ent *lo,
    const struct mst_ent *hi)
{
	enum mst_err	r;
	size_t		i;

	if ((r = mst_node_ensure(c->t, nd, 0)) != MST_OK)
		return r;
	for (i = 0; i <= nd->n && !c->stop; i++) {
		/* descending: gap n, key n-1, gap n-1, ..., key 0, gap 0 */
		size_t	j = c->r->reverse ? nd->n - i : i;

		if (c->r->reverse && j < nd->n &&
		    (r = list_leaf(c, &nd->e[j])) != MST_OK)
			return r;
		if (!c->stop && (r = list_gap(c, nd, j, lo, hi)) != MST_OK)
			return r;
		if (!c->r->reverse && j < nd->n && !c->stop &&
		    (r = list_leaf(c, &nd->e[j])) != MST_OK)
			return r;
	}
	return MST_OK;
}

enum mst_err
mst_list(struct mst *t, const struct mst_range *r, mst_list_fn fn,
    void *arg)
{
	static const struct mst_range	all;
	struct list_ctx			c = { t, r != NULL ? r : &all, fn,
					    arg, 0 };
	enum mst_err			e;

	if ((e = mst_root_ensure(t)) != MST_OK)
		return e;
	return list_rec(&c, t->root, NULL, NULL);
}

/* ==== export =========================================================== */

static enum mst_err
walk_rec(struct mst *t, struct mst_node *nd, mst_block_fn fn, void *arg)
{
	const uint8_t	*p;
	enum mst_err	 r;
	size_t		 i, len;

	if ((r = mst_node_ensure(t, nd, 0)) != MST_OK ||
	    (r = mst_node_bytes(t, nd, &p, &len)) != MST_OK)
		return r;
	if (fn(arg, &nd->cid, p, len) != 0)
		return MST_ERR_SOURCE;
	if (nd->left != NULL && (r = walk_rec(t, nd->left, fn, arg)) != MST_OK)
		return r;
	for (i = 0; i < nd->n; i++)
		if (nd->e[i].right != NULL &&
		    (r = walk_rec(t, nd->e[i].right, fn, arg)) != MST_OK)
			return r;
	return MST_OK;
}

enum mst_err
mst_walk_blocks(struct mst *t, mst_block_fn fn, void *arg)
{
	struct cid	root;
	enum mst_err	r;

	if ((r = mst_root(t, &root)) != MST_OK ||
	    (r = mst_root_ensure(t)) != MST_OK)
		return r;
	return walk_rec(t, t->root, fn, arg);
}

/* ==== covering proofs ================================================== */

static enum mst_err
proof_put(struct mst *t, struct mst_node *nd, struct blockmap *out)
{
	const uint8_t	*p;
	size_t		 len;
	enum mst_err	 r;

	if ((r = mst_node_bytes(t, nd, &p, &len)) != MST_OK)
		return r;
	return blockmap_put(out, &nd->cid, p, len) == -1 ? MST_ERR_LIMIT :
	    MST_OK;
}

/* The path to key; a node where the key's position has no subtree and
 * no entry is left out, as proofForKey does. */
static enum mst_err
proof_key(struct mst *t, struct mst_node *nd, const char *key, size_t klen,
    struct blockmap *out)
{
	struct mst_node	*g;
	enum mst_err	 r;
	size_t		 i;

	if ((r = mst_node_ensure(t, nd, 0)) != MST_OK)
		return r;
	i = mst_node_lb(nd, key, klen);
	if (!(i < nd->n && mst_keycmp(nd->e[i].key, nd->e[i].klen, key,
	    klen) == 0)) {
		if ((g = *mst_node_gap(nd, i)) == NULL)
			return MST_OK;
		if ((r = proof_key(t, g, key, klen, out)) != MST_OK)
			return r;
	}
	return proof_put(t, nd, out);
}

/* The path to the left neighbour: down the subtree just before key. */
static enum mst_err
proof_left(struct mst *t, struct mst_node *nd, const char *key, size_t klen,
    struct blockmap *out)
{
	struct mst_node	*g;
	enum mst_err	 r;

	if ((r = mst_node_ensure(t, nd, 0)) != MST_OK)
		return r;
	g = *mst_node_gap(nd, mst_node_lb(nd, key, klen));
	if (g != NULL && (r = proof_left(t, g, key, klen, out)) != MST_OK)
		return r;
	return proof_put(t, nd, out);
}

/* The path to the right neighbour: down the subtree just after key
 * (right of the key's entry when present, else the gap it falls in). */
static enum mst_err
proof_right(struct mst *t, struct mst_node *nd, const char *key,
    size_t klen, struct blockmap *out)
{
	struct mst_node	*g;
	enum mst_err	 r;
	size_t		 i;

	if ((r = mst_node_ensure(t, nd, 0)) != MST_OK)
		return r;
	i = mst_node_lb(nd, key, klen);
	if (i < nd->n &&
	    mst_keycmp(nd->e[i].key, nd->e[i].klen, key, klen) == 0)
		g = nd->e[i].right;
	else
		g = *mst_node_gap(nd, i);
	if (g != NULL && (r = proof_right(t, g, key, klen, out)) != MST_OK)
		return r;
	return proof_put(t, nd, out);
}

enum mst_err
mst_proof(struct mst *t, const char *key, size_t klen, struct blockmap *out)
{
	struct cid	root;
	enum mst_err	r;

	if ((r = mst_root(t, &root)) != MST_OK ||
	    (r = mst_root_ensure(t)) != MST_OK ||
	    (r = proof_key(t, t->root, key, klen, out)) != MST_OK ||
	    (r = proof_left(t, t->root, key, klen, out)) != MST_OK)
		return r;
	return proof_right(t, t->root, key, klen, out);
}

enum mst_err
mst_path(struct mst *t, const char *key, size_t klen, struct blockmap *out,
    struct cid *val)
{
	struct mst_node	*nd;
	struct cid	 root;
	enum mst_err	 r;
	size_t		 i;

	if ((r = mst_root(t, &root)) != MST_OK ||
	    (r = mst_root_ensure(t)) != MST_OK)
		return r;
	for (nd = t->root;;) {
		if ((r = mst_node_ensure(t, nd, nd == t->root)) != MST_OK ||
		    (r = proof_put(t, nd, out)) != MST_OK)
			return r;
		i = mst_node_lb(nd, key, klen);
		if (i < nd->n &&
		    mst_keycmp(nd->e[i].key, nd->e[i].klen, key, klen) == 0) {
			if (val != NULL)
				*val = nd->e[i].val;
			return MST_OK;
		}
		if ((nd = *mst_node_gap(nd, i)) == NULL)
			return MST_ERR_NOTFOUND;
	}
}

/* ==== diff ============================================================= */

/*
 * A cursor over one tree in key order.  Items are leaves (entries) and
 * subtrees; a subtree is either stepped over whole or stepped into.  The
 * first item is the root.  Positions in a node: 0 its left subtree, 2k+1
 * entry k, 2k+2 the subtree right of entry k.
 */
struct walker {
	struct mst	*t;
	struct {
		struct mst_node	*nd;
		size_t		 next;	/* next position to look at */
	}		 fr[MST_MAX_LAYER + 2];
	int		 depth;
	int		 done;
	struct mst_node	*sub;		/* current subtree, or NULL */
	struct mst_ent	*leaf;		/* current leaf, or NULL */
};

static void
w_init(struct walker *w, struct mst *t)
{
	w->t = t;
	w->depth = 0;
	w->done = t == NULL;
	w->sub = t != NULL ? t->root : NULL;
	w->leaf = NULL;
}

/* Moves to the item after the current one in the innermost node,
 * climbing out of finished nodes. */
static void
w_next(struct walker *w)
{
	struct mst_node	*nd, *g;
	size_t		 pos;

	while (w->depth > 0) {
		nd = w->fr[w->depth - 1].nd;
		while ((pos = w->fr[w->depth - 1].next) <= 2 * nd->n) {
			w->fr[w->depth - 1].next++;
			if (pos % 2 == 1) {
				w->leaf = &nd->e[pos / 2];
				w->sub = NULL;
				return;
			}
			g = pos == 0 ? nd->left : nd->e[pos / 2 - 1].right;
			if (g != NULL) {
				w->sub = g;
				w->leaf = NULL;
				return;
			}
		}
		w->depth--;
	}
	w->done = 1;
	w->sub = NULL;
	w->leaf = NULL;
}

static void
w_over(struct walker *w)
{
	if (w->depth == 0) {
		w->done = 1;
		w->sub = NULL;
		w->leaf = NULL;
		return;
	}
	w_next(w);
}

static enum mst_err
w_into(struct walker *w)
{
	enum mst_err	r;

	if ((r = mst_node_ensure(w->t, w->sub, w->depth == 0)) != MST_OK)
		return r;
	if (w->depth == (int)(sizeof(w->fr) / sizeof(w->fr[0])))
		return MST_ERR_CORRUPT;
	w->fr[w->depth].nd = w->sub;
	w->fr[w->depth].next = 0;
	w->depth++;
	w_next(w);
	return MST_OK;
}

static enum mst_err
cid_push(struct cid **arr, size_t *n, size_t *cap, const struct cid *c)
{
	struct cid	*p;
	size_t		 ncap;

	if (*n == *cap) {
		ncap = *cap ? *cap * 2 : 16;
		if (ncap > SIZE_MAX / sizeof(*p) ||
		    (p = realloc(*arr, ncap * sizeof(*p))) == NULL)
			return MST_ERR_NOMEM;
		*arr = p;
		*cap = ncap;
	}
	(*arr)[(*n)++] = *c;
	return MST_OK;
}

void
mst_diff_init(struct mst_diff *d)
{
	memset(d, 0, sizeof(*d));
	blockmap_init(&d->new_nodes, 0);
	arena_init(&d->keys);
}

void
mst_diff_fini(struct mst_diff *d)
{
	if (d == NULL)
		return;
	free(d->ops);
	free(d->removed);
	free(d->new_leaves);
	blockmap_fini(&d->new_nodes);
	arena_free(&d->keys);
	mst_diff_init(d);
}

/* Scratch lists kept while walking. */
struct diff_ctx {
	struct mst_diff	*d;
	struct cid	*rm_nodes;
	size_t		 nrm_nodes, rm_nodes_cap;
	struct cid	*rm_leaves;
	size_t		 nrm_leaves, rm_leaves_cap;
};

static enum mst_err
diff_op(struct diff_ctx *c, const struct mst_ent *old,
    const struct mst_ent *new)
{
	struct mst_diff		*d = c->d;
	struct mst_diff_op	*op, *p;
	const struct mst_ent	*e = new != NULL ? new : old;
	size_t			 ncap;

	if (d->nops == d->opcap) {
		ncap = d->opcap ? d->opcap * 2 : 16;
		if (ncap > SIZE_MAX / sizeof(*p) ||
		    (p = realloc(d->ops, ncap * sizeof(*p))) == NULL)
			return MST_ERR_NOMEM;
		d->ops = p;
		d->opcap = ncap;
	}
	op = &d->ops[d->nops];
	memset(op, 0, sizeof(*op));
	if ((op->key = arena_strndup(&d->keys, e->key, e->klen)) == NULL)
		return MST_ERR_NOMEM;
	op->klen = e->klen;
	if (old != NULL) {
		op->has_old = 1;
		op->old = old->val;
		if (cid_push(&c->rm_leaves, &c->nrm_leaves,
		    &c->rm_leaves_cap, &old->val) != MST_OK)
			return MST_ERR_NOMEM;
	}
	if (new != NULL) {
		op->has_new = 1;
		op->new = new->val;
		if (cid_push(&d->new_leaves, &d->nnew_leaves, &d->leafcap,
		    &new->val) != MST_OK)
			return MST_ERR_NOMEM;
	}
	d->nops++;
	return MST_OK;
}

/* Steps into the new tree's current subtree, noting it as a new node. */
static enum mst_err
diff_into_new(struct diff_ctx *c, struct walker *w)
{
	struct mst_node	*nd = w->sub;
	const uint8_t	*p;
	size_t		 len;
	enum mst_err	 r;

	if ((r = w_into(w)) != MST_OK ||
	    (r = mst_node_bytes(w->t, nd, &p, &len)) != MST_OK)
		return r;
	return blockmap_put(&c->d->new_nodes, &nd->cid, p, len) == -1 ?
	    MST_ERR_LIMIT : MST_OK;
}

/* Steps into the old tree's current subtree, noting it as removed. */
static enum mst_err
diff_into_old(struct diff_ctx *c, struct walker *w)
{
	if (cid_push(&c->rm_nodes, &c->nrm_nodes, &c->rm_nodes_cap,
	    &w->sub->cid) != MST_OK)
		return MST_ERR_NOMEM;
	return w_into(w);
}

/* Both walkers on leaves: equal keys are an update (or nothing), else
 * the smaller key was deleted (old) or created (new). */
static enum mst_err
diff_leaves(struct diff_ctx *c, struct walker *a, struct walker *b)
{
	const struct mst_ent	*x = a->leaf, *y = b->leaf;
	enum mst_err		 r = MST_OK;
	int			 cmp;

	cmp = mst_keycmp(x->key, x->klen, y->key, y->klen);
	if (cmp == 0) {
		if (!cid_equal(&x->val, &y->val))
			r = diff_op(c, x, y);
		w_over(a);
		w_over(b);
	} else if (cmp < 0) {
		r = diff_op(c, x, NULL);
		w_over(a);
	} else {
		r = diff_op(c, NULL, y);
		w_over(b);
	}
	return r;
}

/* Both walkers on subtrees: equal CIDs are skipped unread; otherwise
 * descend on the higher layer, or on both. */
static enum mst_err
diff_subs(struct diff_ctx *c, struct walker *a, struct walker *b)
{
	enum mst_err	r;

	if (cid_equal(&a->sub->cid, &b->sub->cid)) {
		w_over(a);
		w_over(b);
		return MST_OK;
	}
	if (a->sub->layer > b->sub->layer)
		return diff_into_old(c, a);
	if (b->sub->layer > a->sub->layer)
		return diff_into_new(c, b);
	if ((r = diff_into_old(c, a)) != MST_OK)
		return r;
	return diff_into_new(c, b);
}

/* Only one tree left: its leaves are creates (or deletes), its nodes new
 * (or removed). */
static enum mst_err
diff_rest(struct diff_ctx *c, struct walker *w, int is_new)
{
	enum mst_err	r;

	if (w->leaf == NULL)
		return is_new ? diff_into_new(c, w) : diff_into_old(c, w);
	r = is_new ? diff_op(c, NULL, w->leaf) : diff_op(c, w->leaf, NULL);
	w_over(w);
	return r;
}

static enum mst_err
diff_step(struct diff_ctx *c, struct walker *a, struct walker *b)
{
	if (a->done)
		return diff_rest(c, b, 1);
	if (b->done)
		return diff_rest(c, a, 0);
	if (a->leaf != NULL && b->leaf != NULL)
		return diff_leaves(c, a, b);
	if (a->sub != NULL && b->sub != NULL)
		return diff_subs(c, a, b);
	if (b->sub != NULL)
		return diff_into_new(c, b);
	return diff_into_old(c, a);
}

static int
cid_sort_cmp(const void *a, const void *b)
{
	return cid_cmp(a, b);
}

/* Sorts and de-duplicates a CID list in place; returns the new count. */
static size_t
cid_uniq(struct cid *v, size_t n)
{
	size_t	i, o = 0;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cid_sort_cmp);
	for (i = 1; i < n; i++)
		if (!cid_equal(&v[o], &v[i]))
			v[++o] = v[i];
	return o + 1;
}

/* Drops from both sorted lists the CIDs they share. */
static void
cid_cancel(struct cid *a, size_t *na, struct cid *b, size_t *nb)
{
	size_t	i = 0, j = 0, oa = 0, ob = 0;
	int	cmp;

	while (i < *na || j < *nb) {
		cmp = i == *na ? 1 : j == *nb ? -1 : cid_cmp(&a[i], &b[j]);
		if (cmp == 0) {
			i++;
			j++;
		} else if (cmp < 0)
			a[oa++] = a[i++];
		else
			b[ob++] = b[j++];
	}
	*na = oa;
	*nb = ob;
}

/* Set arithmetic at the end: a node or record both left and entered
 * (moved) is neither new nor removed. */
static enum mst_err
diff_settle(struct diff_ctx *c)
{
	struct mst_diff	*d = c->d;
	size_t		 i;

	for (i = 0; i < c->nrm_nodes; i++)
		if (!blockmap_remove(&d->new_nodes, &c->rm_nodes[i]) &&
		    cid_push(&d->removed, &d->nremoved, &d->remcap,
		    &c->rm_nodes[i]) != MST_OK)
			return MST_ERR_NOMEM;
	d->nnew_leaves = cid_uniq(d->new_leaves, d->nnew_leaves);
	c->nrm_leaves = cid_uniq(c->rm_leaves, c->nrm_leaves);
	cid_cancel(d->new_leaves, &d->nnew_leaves, c->rm_leaves,
	    &c->nrm_leaves);
	for (i = 0; i < c->nrm_leaves; i++)
		if (cid_push(&d->removed, &d->nremoved, &d->remcap,
		    &c->rm_leaves[i]) != MST_OK)
			return MST_ERR_NOMEM;
	return MST_OK;
}

enum mst_err
mst_diff(struct mst *cur, struct mst *old, struct mst_diff *d)
{
	struct diff_ctx	 c;
	struct walker	*a = NULL, *b = NULL;
	struct cid	 rc, ro;
	enum mst_err	 r;

	memset(&c, 0, sizeof(c));
	c.d = d;
	if ((r = mst_root(cur, &rc)) != MST_OK ||
	    (old != NULL && (r = mst_root(old, &ro)) != MST_OK))
		return r;
	if (old != NULL && cid_equal(&rc, &ro))
		return MST_OK;
	if ((r = mst_root_ensure(cur)) != MST_OK ||
	    (old != NULL && (r = mst_root_ensure(old)) != MST_OK))
		return r;
	/* the walkers hold MST_MAX_LAYER frames each: keep them off the
	 * stack */
	if ((a = malloc(sizeof(*a))) == NULL ||
	    (b = malloc(sizeof(*b))) == NULL) {
		r = MST_ERR_NOMEM;
		goto out;
	}
	w_init(a, old);
	w_init(b, cur);
	while (!a->done || !b->done)
		if ((r = diff_step(&c, a, b)) != MST_OK)
			goto out;
	r = diff_settle(&c);
out:
	free(a);
	free(b);
	free(c.rm_nodes);
	free(c.rm_leaves);
	return r;
}
