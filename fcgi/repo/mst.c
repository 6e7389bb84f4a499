/*
 * mst.c: Merkle Search Tree nodes, lazy loading, canonical encoding and
 * the write operations (add, update, delete).  See mst.h for the format
 * and the rules; listing, proofs and diff are in mst_walk.c.
 *
 * Writes change the tree in place and mark the nodes they touch dirty;
 * mst_root() encodes the dirty nodes bottom-up, once each.  The shapes
 * follow the reference's mst.ts (add: split the gap subtree around a new
 * key on its own layer, or raise the root through single-child parents;
 * delete: merge the two subtrees around a removed key, then trim a root
 * left with only a left subtree), so the tree stays canonical: the same
 * keys always give the same nodes.
 *
 * After an error other than MST_ERR_KEY, MST_ERR_EXISTS or
 * MST_ERR_NOTFOUND from a write, the tree may be half changed: free it.
 */
#include <stdlib.h>
#include <string.h>

#include "cbor.h"
#include "mst_int.h"
#include "mstkey.h"

static const char *const mst_errs[MST_ERR__MAX] = {
	"ok",					/* MST_OK */
	"invalid MST key",			/* MST_ERR_KEY */
	"key already present",			/* MST_ERR_EXISTS */
	"key not found",			/* MST_ERR_NOTFOUND */
	"MST node block missing",		/* MST_ERR_MISSING */
	"corrupt MST node",			/* MST_ERR_CORRUPT */
	"block source failed",			/* MST_ERR_SOURCE */
	"output limit reached",			/* MST_ERR_LIMIT */
	"out of memory",			/* MST_ERR_NOMEM */
};

const char *
mst_err_str(enum mst_err e)
{
	if ((unsigned)e >= MST_ERR__MAX)
		return "unknown MST error";
	return mst_errs[e];
}

/* ==== nodes ============================================================ */

int
mst_keycmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int	c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/* A new, empty, loaded, dirty node on a layer. */
static struct mst_node *
node_new(int layer)
{
	struct mst_node	*nd;

	if ((nd = calloc(1, sizeof(*nd))) == NULL)
		return NULL;
	nd->layer = layer;
	nd->loaded = 1;
	nd->dirty = 1;
	return nd;
}

/* A stub for a node known only by its CID. */
static struct mst_node *
node_stub(const struct cid *c, int layer)
{
	struct mst_node	*nd;

	if ((nd = calloc(1, sizeof(*nd))) == NULL)
		return NULL;
	nd->cid = *c;
	nd->layer = layer;
	return nd;
}

/* Frees nd and everything under it.  Accepts NULL. */
static void
node_free(struct mst_node *nd)
{
	size_t	i;

	if (nd == NULL)
		return;
	node_free(nd->left);
	for (i = 0; i < nd->n; i++) {
		free(nd->e[i].key);
		node_free(nd->e[i].right);
	}
	free(nd->e);
	free(nd->enc);
	free(nd);
}

/* Frees only the node itself (its entries and subtrees moved away). */
static void
node_free_shell(struct mst_node *nd)
{
	if (nd == NULL)
		return;
	free(nd->e);
	free(nd->enc);
	free(nd);
}

/* Marks nd changed: its CID and cached encoding are stale. */
static void
node_touch(struct mst_node *nd)
{
	nd->dirty = 1;
	free(nd->enc);
	nd->enc = NULL;
	nd->enclen = 0;
}

static int
node_reserve(struct mst_node *nd, size_t more)
{
	struct mst_ent	*p;
	size_t		 need, cap;

	if (more > SIZE_MAX / sizeof(*p) - nd->n)
		return -1;
	need = nd->n + more;
	if (need <= nd->cap)
		return 0;
	cap = nd->cap ? nd->cap : 4;
	while (cap < need)
		cap *= 2;
	if ((p = realloc(nd->e, cap * sizeof(*p))) == NULL)
		return -1;
	nd->e = p;
	nd->cap = cap;
	return 0;
}

struct mst_node **
mst_node_gap(struct mst_node *nd, size_t i)
{
	return i == 0 ? &nd->left : &nd->e[i - 1].right;
}

size_t
mst_node_lb(const struct mst_node *nd, const char *key, size_t klen)
{
	size_t	lo = 0, hi = nd->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (mst_keycmp(nd->e[mid].key, nd->e[mid].klen, key, klen) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int
ent_is(const struct mst_node *nd, size_t i, const char *key, size_t klen)
{
	return i < nd->n && nd->e[i].klen == klen &&
	    memcmp(nd->e[i].key, key, klen) == 0;
}

/* Inserts a new entry (key copied) at index i.  Returns 0 or -1. */
static int
node_insert(struct mst_node *nd, size_t i, const char *key, size_t klen,
    const struct cid *val, struct mst_node *right)
{
	char	*k;

	if (node_reserve(nd, 1) == -1 || (k = malloc(klen + 1)) == NULL)
		return -1;
	memcpy(k, key, klen);
	k[klen] = '\0';
	memmove(&nd->e[i + 1], &nd->e[i], (nd->n - i) * sizeof(*nd->e));
	nd->e[i].key = k;
	nd->e[i].klen = klen;
	nd->e[i].val = *val;
	nd->e[i].right = right;
	nd->n++;
	return 0;
}

/* ==== encoding ========================================================= */

static int
put_link_or_null(struct buf *b, const struct mst_node *nd)
{
	return nd == NULL ? cbor_put_null(b) : cbor_put_link(b, &nd->cid);
}

/*
 * Appends the node's DAG-CBOR form: map keys "e" before "l", entry keys
 * "k" "p" "t" "v" (one byte each, so bytewise order), p maximal.  Every
 * subtree must have a valid CID (clean or already encoded).
 */
static int
node_encode(const struct mst_node *nd, struct buf *b)
{
	const struct mst_ent	*e, *prev = NULL;
	size_t			 i, p;

	if (cbor_put_map(b, 2) == -1 || cbor_put_text(b, "e", 1) == -1 ||
	    cbor_put_array(b, nd->n) == -1)
		return -1;
	for (i = 0; i < nd->n; i++, prev = e) {
		e = &nd->e[i];
		p = prev == NULL ? 0 :
		    mst_common_prefix(prev->key, prev->klen, e->key, e->klen);
		if (cbor_put_map(b, 4) == -1 ||
		    cbor_put_text(b, "k", 1) == -1 ||
		    cbor_put_bytes(b, e->key + p, e->klen - p) == -1 ||
		    cbor_put_text(b, "p", 1) == -1 ||
		    cbor_put_uint(b, p) == -1 ||
		    cbor_put_text(b, "t", 1) == -1 ||
		    put_link_or_null(b, e->right) == -1 ||
		    cbor_put_text(b, "v", 1) == -1 ||
		    cbor_put_link(b, &e->val) == -1)
			return -1;
	}
	if (cbor_put_text(b, "l", 1) == -1 ||
	    put_link_or_null(b, nd->left) == -1)
		return -1;
	return 0;
}

enum mst_err
mst_node_bytes(struct mst *t, struct mst_node *nd, const uint8_t **p,
    size_t *len)
{
	if (nd->enc != NULL) {
		*p = nd->enc;
		*len = nd->enclen;
		return MST_OK;
	}
	buf_reset(&t->enc);
	if (node_encode(nd, &t->enc) == -1)
		return MST_ERR_LIMIT;
	*p = t->enc.data;
	*len = t->enc.len;
	return MST_OK;
}

/* Encodes every dirty node under and including nd, children first. */
static enum mst_err
node_flush(struct mst *t, struct mst_node *nd)
{
	enum mst_err	r;
	size_t		i;

	if (!nd->dirty)
		return MST_OK;
	if (nd->left != NULL && (r = node_flush(t, nd->left)) != MST_OK)
		return r;
	for (i = 0; i < nd->n; i++)
		if (nd->e[i].right != NULL &&
		    (r = node_flush(t, nd->e[i].right)) != MST_OK)
			return r;
	buf_reset(&t->enc);
	if (node_encode(nd, &t->enc) == -1)
		return MST_ERR_LIMIT;
	cid_compute(&nd->cid, CID_CODEC_DAG_CBOR, t->enc.data, t->enc.len);
	free(nd->enc);
	if ((nd->enc = malloc(t->enc.len)) == NULL)
		return MST_ERR_NOMEM;
	memcpy(nd->enc, t->enc.data, t->enc.len);
	nd->enclen = t->enc.len;
	nd->dirty = 0;
	t->st.encoded++;
	return MST_OK;
}

/* ==== decoding ========================================================= */

/* A subtree link: null, or a dag-cbor CID made into a stub. */
static enum mst_err
decode_sub(const struct cbor_val *v, int layer, struct mst_node **out)
{
	*out = NULL;
	if (v->type == CBOR_NULL)
		return MST_OK;
	if (v->type != CBOR_LINK ||
	    cid_codec(&v->u.link) != CID_CODEC_DAG_CBOR)
		return MST_ERR_CORRUPT;
	if ((*out = node_stub(&v->u.link, layer)) == NULL)
		return MST_ERR_NOMEM;
	return MST_OK;
}

/* Rebuilds entry i's key from the previous key and (p, k). */
static enum mst_err
decode_key(struct mst_node *nd, size_t i, const struct cbor_val *p,
    const struct cbor_val *k)
{
	const struct mst_ent	*prev = i > 0 ? &nd->e[i - 1] : NULL;
	size_t			 plen, klen;
	char			*key;

	if (p->type != CBOR_INT || k->type != CBOR_BYTES || p->u.i < 0)
		return MST_ERR_CORRUPT;
	plen = (size_t)p->u.i;
	if ((uint64_t)p->u.i > (prev != NULL ? prev->klen : 0) ||
	    k->u.s.len > LIM_MST_KEY_LEN - plen)
		return MST_ERR_CORRUPT;
	klen = plen + k->u.s.len;
	if ((key = malloc(klen + 1)) == NULL)
		return MST_ERR_NOMEM;
	if (plen > 0)
		memcpy(key, prev->key, plen);
	if (k->u.s.len > 0)
		memcpy(key + plen, k->u.s.p, k->u.s.len);
	key[klen] = '\0';
	nd->e[i].key = key;
	nd->e[i].klen = klen;
	if (mst_key_validate(key, klen, NULL) == -1 ||
	    (prev != NULL &&
	    mst_keycmp(prev->key, prev->klen, key, klen) >= 0))
		return MST_ERR_CORRUPT;
	return MST_OK;
}

/* Decodes the entry map ev into nd->e[i] (nd->n already counts it). */
static enum mst_err
decode_ent(struct mst_node *nd, size_t i, const struct cbor_val *ev,
    int sublayer)
{
	const struct cbor_val	*k, *p, *tv, *v;
	enum mst_err		 r;

	if (ev->type != CBOR_MAP || ev->u.m.n != 4 ||
	    (k = cbor_map_get(ev, "k")) == NULL ||
	    (p = cbor_map_get(ev, "p")) == NULL ||
	    (tv = cbor_map_get(ev, "t")) == NULL ||
	    (v = cbor_map_get(ev, "v")) == NULL || v->type != CBOR_LINK)
		return MST_ERR_CORRUPT;
	nd->e[i].val = v->u.link;
	if ((r = decode_key(nd, i, p, k)) != MST_OK)
		return r;
	return decode_sub(tv, sublayer, &nd->e[i].right);
}

/*
 * Fills the stub nd from the decoded map v.  The layer is checked when
 * known and otherwise taken from the first key; a node without keys has
 * an unknown layer (only a root may; mst_root_ensure settles it).
 */
static enum mst_err
decode_node(struct mst_node *nd, const struct cbor_val *v, int is_root)
{
	const struct cbor_val	*ev, *lv;
	enum mst_err		 r;
	size_t			 i, n;
	int			 h, sub;

	if (v->type != CBOR_MAP || v->u.m.n != 2 ||
	    (ev = cbor_map_get(v, "e")) == NULL ||
	    (lv = cbor_map_get(v, "l")) == NULL || ev->type != CBOR_ARRAY)
		return MST_ERR_CORRUPT;
	n = ev->u.a.n;
	if (n == 0 && lv->type == CBOR_NULL && !is_root)
		return MST_ERR_CORRUPT;		/* empty non-root node */
	if (node_reserve(nd, n) == -1)
		return MST_ERR_NOMEM;
	sub = nd->layer > 0 ? nd->layer - 1 : -1;
	if ((r = decode_sub(lv, sub, &nd->left)) != MST_OK)
		return r;
	for (i = 0; i < n; i++) {
		memset(&nd->e[i], 0, sizeof(nd->e[i]));
		nd->n = i + 1;
		if ((r = decode_ent(nd, i, ev->u.a.items[i], sub)) != MST_OK)
			return r;
		if ((h = mst_key_height(nd->e[i].key, nd->e[i].klen)) < 0)
			return MST_ERR_NOMEM;
		if (nd->layer < 0) {
			/* first key of a root: fix the layer, then the stubs */
			nd->layer = h;
			sub = h - 1;
			if (nd->left != NULL)
				nd->left->layer = sub;
			if (nd->e[i].right != NULL)
				nd->e[i].right->layer = sub;
		}
		if (h != nd->layer)
			return MST_ERR_CORRUPT;
	}
	if (nd->layer == 0 && nd->left != NULL)
		return MST_ERR_CORRUPT;
	for (i = 0; nd->layer == 0 && i < n; i++)
		if (nd->e[i].right != NULL)
			return MST_ERR_CORRUPT;
	return MST_OK;
}

/* Drops whatever a failed decode left in the stub. */
static void
node_unload(struct mst_node *nd)
{
	size_t	i;

	node_free(nd->left);
	nd->left = NULL;
	for (i = 0; i < nd->n; i++) {
		free(nd->e[i].key);
		node_free(nd->e[i].right);
	}
	nd->n = 0;
}

/* Reads block nd->cid into t->blk and checks it hashes to the CID. */
static enum mst_err
node_read(struct mst *t, const struct mst_node *nd)
{
	struct cid	chk;
	int		rc;

	if (cid_codec(&nd->cid) != CID_CODEC_DAG_CBOR)
		return MST_ERR_CORRUPT;
	rc = t->src.get(t->src.arg, &nd->cid, &t->blk);
	if (rc == 1)
		return MST_ERR_MISSING;
	if (rc != 0)
		return MST_ERR_SOURCE;
	cid_compute(&chk, CID_CODEC_DAG_CBOR, t->blk.data, t->blk.len);
	if (!cid_equal(&chk, &nd->cid))
		return MST_ERR_CORRUPT;
	return MST_OK;
}

enum mst_err
mst_node_ensure(struct mst *t, struct mst_node *nd, int is_root)
{
	struct cbor_val	*v = NULL;
	enum cbor_err	 ce;
	enum mst_err	 r;

	if (nd->loaded)
		return MST_OK;
	if ((r = node_read(t, nd)) != MST_OK)
		return r;
	arena_reset(&t->ar);
	ce = cbor_decode(&t->ar, t->blk.data, t->blk.len, &v);
	if (ce != CBOR_OK)
		return ce == CBOR_ERR_NOMEM ? MST_ERR_NOMEM : MST_ERR_CORRUPT;
	if ((r = decode_node(nd, v, is_root)) != MST_OK)
		goto fail;
	/* canonical form: re-encoding must give the very same bytes */
	buf_reset(&t->enc);
	if (node_encode(nd, &t->enc) == -1) {
		r = MST_ERR_LIMIT;
		goto fail;
	}
	if (t->enc.len != t->blk.len ||
	    memcmp(t->enc.data, t->blk.data, t->blk.len) != 0) {
		r = MST_ERR_CORRUPT;
		goto fail;
	}
	nd->loaded = 1;
	t->st.loaded++;
	return MST_OK;
fail:
	node_unload(nd);
	return r;
}

/* Sets the layer of a keyless chain node and of its left stub. */
static void
chain_set_layer(struct mst_node *nd, int layer)
{
	nd->layer = layer;
	if (nd->left != NULL && nd->left->layer < 0)
		nd->left->layer = layer - 1;
}

/*
 * Loads the root.  A root without keys but with a left subtree (not what
 * the reference writes, but what it reads) takes its layer from the
 * first node down the left spine that has keys.
 */
enum mst_err
mst_root_ensure(struct mst *t)
{
	struct mst_node	*chain[MST_MAX_LAYER + 1], *nd = t->root;
	enum mst_err	 r;
	int		 depth = 0, i;

	if (nd == NULL)
		return MST_ERR_NOMEM;	/* lost by an earlier failed write */
	if ((r = mst_node_ensure(t, nd, 1)) != MST_OK)
		return r;
	if (nd->layer >= 0)
		return MST_OK;
	if (nd->left == NULL) {
		nd->layer = 0;		/* the empty tree */
		return MST_OK;
	}
	while (nd->layer < 0) {
		if (depth == MST_MAX_LAYER)
			return MST_ERR_CORRUPT;
		chain[depth++] = nd;
		nd = nd->left;
		if ((r = mst_node_ensure(t, nd, 0)) != MST_OK)
			return r;
	}
	if (nd->layer + depth > MST_MAX_LAYER)
		return MST_ERR_CORRUPT;
	for (i = 0; i < depth; i++)
		chain_set_layer(chain[i], nd->layer + depth - i);
	return MST_OK;
}

/* ==== tree ============================================================= */

static enum mst_err
mst_alloc(const struct mst_source *src, struct mst **out)
{
	struct mst	*t;

	*out = NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return MST_ERR_NOMEM;
	t->src = *src;
	buf_init(&t->blk, LIM_CAR_BLOCK);
	buf_init(&t->enc, LIM_CAR_BLOCK);
	arena_init(&t->ar);
	*out = t;
	return MST_OK;
}

enum mst_err
mst_new(const struct mst_source *src, struct mst **out)
{
	enum mst_err	r;

	if ((r = mst_alloc(src, out)) != MST_OK)
		return r;
	if (((*out)->root = node_new(0)) == NULL) {
		mst_free(*out);
		*out = NULL;
		return MST_ERR_NOMEM;
	}
	return MST_OK;
}

enum mst_err
mst_load(const struct mst_source *src, const struct cid *root,
    struct mst **out)
{
	enum mst_err	r;

	if ((r = mst_alloc(src, out)) != MST_OK)
		return r;
	if (((*out)->root = node_stub(root, -1)) == NULL) {
		mst_free(*out);
		*out = NULL;
		return MST_ERR_NOMEM;
	}
	return MST_OK;
}

void
mst_free(struct mst *t)
{
	if (t == NULL)
		return;
	node_free(t->root);
	buf_free(&t->blk);
	buf_free(&t->enc);
	arena_free(&t->ar);
	free(t);
}

void
mst_stats_get(const struct mst *t, struct mst_stats *st)
{
	*st = t->st;
}

enum mst_err
mst_root(struct mst *t, struct cid *root)
{
	enum mst_err	r;

	if (t->root == NULL)
		return MST_ERR_NOMEM;
	if ((r = node_flush(t, t->root)) != MST_OK)
		return r;
	*root = t->root->cid;
	return MST_OK;
}

/* ==== lookup and update ================================================ */

enum mst_err
mst_get(struct mst *t, const char *key, size_t klen, struct cid *val)
{
	struct mst_node	*nd = t->root;
	enum mst_err	 r;
	size_t		 i;

	if ((r = mst_root_ensure(t)) != MST_OK)
		return r;
	for (;;) {
		i = mst_node_lb(nd, key, klen);
		if (ent_is(nd, i, key, klen)) {
			*val = nd->e[i].val;
			return MST_OK;
		}
		if ((nd = *mst_node_gap(nd, i)) == NULL)
			return MST_ERR_NOTFOUND;
		if ((r = mst_node_ensure(t, nd, 0)) != MST_OK)
			return r;
	}
}

static enum mst_err
update_rec(struct mst *t, struct mst_node *nd, const char *key, size_t klen,
    const struct cid *val, struct cid *prev)
{
	struct mst_node	*g;
	enum mst_err	 r;
	size_t		 i;

	i = mst_node_lb(nd, key, klen);
	if (ent_is(nd, i, key, klen)) {
		if (prev != NULL)
			*prev = nd->e[i].val;
		nd->e[i].val = *val;
		node_touch(nd);
		return MST_OK;
	}
	if ((g = *mst_node_gap(nd, i)) == NULL)
		return MST_ERR_NOTFOUND;
	if ((r = mst_node_ensure(t, g, 0)) != MST_OK ||
	    (r = update_rec(t, g, key, klen, val, prev)) != MST_OK)
		return r;
	node_touch(nd);
	return MST_OK;
}

enum mst_err
mst_update(struct mst *t, const char *key, size_t klen,
    const struct cid *val, struct cid *prev)
{
	enum mst_err	r;

	if (mst_key_validate(key, klen, NULL) == -1)
		return MST_ERR_KEY;
	if ((r = mst_root_ensure(t)) != MST_OK)
		return r;
	return update_rec(t, t->root, key, klen, val, prev);
}

/* ==== add ============================================================== */

/*
 * Splits the subtree nd around key (absent from it) into the part below
 * and the part above, either of which may come back NULL when empty.  nd
 * is reused as the lower part; a node the split leaves unchanged keeps
 * its CID.
 */
static enum mst_err
split(struct mst *t, struct mst_node *nd, const char *key, size_t klen,
    struct mst_node **lo, struct mst_node **hi)
{
	struct mst_node	*g, *ga = NULL, *gb = NULL, *right;
	enum mst_err	 r;
	size_t		 i;

	*lo = *hi = NULL;
	if ((r = mst_node_ensure(t, nd, 0)) != MST_OK)
		return r;
	i = mst_node_lb(nd, key, klen);
	g = *mst_node_gap(nd, i);
	if (g == NULL && i == 0) {
		*hi = nd;
		return MST_OK;
	}
	if (g == NULL && i == nd->n) {
		*lo = nd;
		return MST_OK;
	}
	if (g != NULL && (r = split(t, g, key, klen, &ga, &gb)) != MST_OK)
		return r;
	if ((right = node_new(nd->layer)) == NULL ||
	    node_reserve(right, nd->n - i) == -1) {
		node_free_shell(right);
		return MST_ERR_NOMEM;
	}
	if (nd->n > i)
		memcpy(right->e, &nd->e[i], (nd->n - i) * sizeof(*nd->e));
	right->n = nd->n - i;
	right->left = gb;
	nd->n = i;
	*mst_node_gap(nd, i) = ga;
	node_touch(nd);
	if (nd->n == 0 && nd->left == NULL)
		node_free_shell(nd);
	else
		*lo = nd;
	if (right->n == 0 && right->left == NULL)
		node_free_shell(right);
	else
		*hi = right;
	return MST_OK;
}

/* A new chain of nodes from layer down to the key's own layer h. */
static enum mst_err
make_chain(int layer, const char *key, size_t klen, int h,
    const struct cid *val, struct mst_node **out)
{
	struct mst_node	*nd, *top = NULL, **slot = &top;

	for (; layer >= h; layer--) {
		if ((nd = node_new(layer)) == NULL)
			goto nomem;
		*slot = nd;
		slot = &nd->left;
	}
	/* the deepest node holds the key */
	for (nd = top; nd->left != NULL; nd = nd->left)
		;
	if (node_insert(nd, 0, key, klen, val, NULL) == -1)
		goto nomem;
	*out = top;
	return MST_OK;
nomem:
	node_free(top);
	return MST_ERR_NOMEM;
}

/* Adds key (height h <= nd's layer) under the loaded node nd. */
static enum mst_err
add_rec(struct mst *t, struct mst_node *nd, const char *key, size_t klen,
    int h, const struct cid *val)
{
	struct mst_node	**gap, *lo = NULL, *hi = NULL;
	enum mst_err	  r;
	size_t		  i;

	i = mst_node_lb(nd, key, klen);
	if (ent_is(nd, i, key, klen))
		return MST_ERR_EXISTS;
	gap = mst_node_gap(nd, i);
	if (h == nd->layer) {
		if (*gap != NULL &&
		    (r = split(t, *gap, key, klen, &lo, &hi)) != MST_OK)
			return r;
		*gap = NULL;
		if (node_insert(nd, i, key, klen, val, hi) == -1) {
			node_free(lo);
			node_free(hi);
			return MST_ERR_NOMEM;
		}
		*mst_node_gap(nd, i) = lo;
	} else if (*gap != NULL) {
		if ((r = mst_node_ensure(t, *gap, 0)) != MST_OK ||
		    (r = add_rec(t, *gap, key, klen, h, val)) != MST_OK)
			return r;
	} else if ((r = make_chain(nd->layer - 1, key, klen, h, val, gap)) !=
	    MST_OK)
		return r;
	node_touch(nd);
	return MST_OK;
}

/* Wraps nd in a new keyless parent on layer. */
static struct mst_node *
wrap(struct mst_node *nd, int layer)
{
	struct mst_node	*p;

	if ((p = node_new(layer)) == NULL)
		return NULL;
	p->left = nd;
	return p;
}

/* Adds a key above the root's layer: split the whole tree around it. */
static enum mst_err
add_above(struct mst *t, const char *key, size_t klen, int h,
    const struct cid *val)
{
	struct mst_node	*root = t->root, *lo = NULL, *hi = NULL, *nr, *w;
	enum mst_err	 r;
	int		 l, root_layer = root->layer;

	if (root->n == 0 && root->left == NULL) {
		/* the empty tree: its single node takes the key's layer */
		if (node_insert(root, 0, key, klen, val, NULL) == -1)
			return MST_ERR_NOMEM;
		root->layer = h;
		node_touch(root);
		return MST_OK;
	}
	if ((r = split(t, root, key, klen, &lo, &hi)) != MST_OK)
		return r;
	t->root = NULL;		/* root is now lo, or freed */
	for (l = root_layer + 1; l < h; l++) {
		if (lo != NULL) {
			if ((w = wrap(lo, l)) == NULL)
				goto nomem;
			lo = w;
		}
		if (hi != NULL) {
			if ((w = wrap(hi, l)) == NULL)
				goto nomem;
			hi = w;
		}
	}
	if ((nr = node_new(h)) == NULL)
		goto nomem;
	if (node_insert(nr, 0, key, klen, val, hi) == -1) {
		node_free_shell(nr);
		goto nomem;
	}
	nr->left = lo;
	t->root = nr;
	return MST_OK;
nomem:
	/* the tree is lost; later calls fail (t->root is NULL) */
	node_free(lo);
	node_free(hi);
	return MST_ERR_NOMEM;
}

enum mst_err
mst_add(struct mst *t, const char *key, size_t klen, const struct cid *val)
{
	enum mst_err	r;
	int		h;

	if (mst_key_validate(key, klen, NULL) == -1)
		return MST_ERR_KEY;
	if ((h = mst_key_height(key, klen)) < 0)
		return MST_ERR_NOMEM;
	if ((r = mst_root_ensure(t)) != MST_OK)
		return r;
	if (h > t->root->layer)
		return add_above(t, key, klen, h, val);
	return add_rec(t, t->root, key, klen, h, val);
}

/* ==== delete =========================================================== */

/* Joins two neighbouring subtrees of one layer (all of a's keys below
 * b's); either may be NULL.  a is reused; b's shell is freed. */
static enum mst_err
merge(struct mst *t, struct mst_node *a, struct mst_node *b,
    struct mst_node **out)
{
	struct mst_node	**ra, *m;
	enum mst_err	  r;

	*out = a != NULL ? a : b;
	if (a == NULL || b == NULL)
		return MST_OK;
	if ((r = mst_node_ensure(t, a, 0)) != MST_OK ||
	    (r = mst_node_ensure(t, b, 0)) != MST_OK)
		return r;
	if (node_reserve(a, b->n) == -1)
		return MST_ERR_NOMEM;
	ra = a->n > 0 ? &a->e[a->n - 1].right : &a->left;
	if (*ra != NULL && b->left != NULL) {
		if ((r = merge(t, *ra, b->left, &m)) != MST_OK)
			return r;
		*ra = m;
	} else if (b->left != NULL)
		*ra = b->left;
	b->left = NULL;
	if (b->n > 0)
		memcpy(&a->e[a->n], b->e, b->n * sizeof(*b->e));
	a->n += b->n;
	b->n = 0;
	node_free_shell(b);
	node_touch(a);
	*out = a;
	return MST_OK;
}

static enum mst_err
delete_rec(struct mst *t, struct mst_node *nd, const char *key, size_t klen,
    struct cid *prev)
{
	struct mst_node	**gap, *g, *m;
	enum mst_err	  r;
	size_t		  i;

	i = mst_node_lb(nd, key, klen);
	gap = mst_node_gap(nd, i);
	if (ent_is(nd, i, key, klen)) {
		if (prev != NULL)
			*prev = nd->e[i].val;
		if ((r = merge(t, *gap, nd->e[i].right, &m)) != MST_OK)
			return r;
		free(nd->e[i].key);
		memmove(&nd->e[i], &nd->e[i + 1],
		    (nd->n - i - 1) * sizeof(*nd->e));
		nd->n--;
		*mst_node_gap(nd, i) = m;
		node_touch(nd);
		return MST_OK;
	}
	if ((g = *gap) == NULL)
		return MST_ERR_NOTFOUND;
	if ((r = mst_node_ensure(t, g, 0)) != MST_OK ||
	    (r = delete_rec(t, g, key, klen, prev)) != MST_OK)
		return r;
	if (g->n == 0 && g->left == NULL) {
		node_free(g);
		*gap = NULL;
	}
	node_touch(nd);
	return MST_OK;
}

enum mst_err
mst_delete(struct mst *t, const char *key, size_t klen, struct cid *prev)
{
	struct mst_node	*nd;
	enum mst_err	 r;

	if (mst_key_validate(key, klen, NULL) == -1)
		return MST_ERR_KEY;
	if ((r = mst_root_ensure(t)) != MST_OK ||
	    (r = delete_rec(t, t->root, key, klen, prev)) != MST_OK)
		return r;
	/* the root is the node of the highest layer that has keys */
	while ((nd = t->root)->n == 0 && nd->left != NULL) {
		t->root = nd->left;
		nd->left = NULL;
		node_free(nd);
		if ((r = mst_node_ensure(t, t->root, 0)) != MST_OK)
			return r;
	}
	if (t->root->n == 0)
		t->root->layer = 0;
	return MST_OK;
}
