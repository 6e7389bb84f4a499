/*
 * test_mst.c: the Merkle Search Tree against the interop vectors
 * (mst/key_heights.json, mst/common_prefix.json, mst/example_keys.txt,
 * firehose/commit-proof-fixtures.json) and against a brute-force model
 * (random writes, listing, diff, canonical shape, hostile node blocks).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "t.h"
#include "blockmap.h"
#include "cbor.h"
#include "mst.h"
#include "mstkey.h"

#define EMPTY_ROOT "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"

static struct mst_source
src_of(struct blockmap *bm)
{
	struct mst_source	s = { blockmap_source_get, bm };

	return s;
}

static json_t *
load_json(const char *rel)
{
	char		 path[1024];
	json_error_t	 err;
	json_t		*j;

	snprintf(path, sizeof(path), "%s/%s", t_interop_path(), rel);
	if ((j = json_load_file(path, JSON_ALLOW_NUL, &err)) == NULL)
		T_OK(0, "cannot load %s: %s", path, err.text);
	return j;
}

static int
cid_of_str(const char *s, struct cid *c)
{
	return cid_parse_str(c, s, strlen(s));
}

static void
cid_str_eq(const struct cid *c, const char *want, const char *what)
{
	char	got[CID_STR_LEN];

	cid_format(c, got);
	T_OK(strcmp(got, want) == 0, "%s: %s != %s", what, got, want);
}

/* Saves every node block of t into store. */
static int
save_block(void *arg, const struct cid *c, const uint8_t *p, size_t len)
{
	return blockmap_put(arg, c, p, len) == -1 ? -1 : 0;
}

static void
save_tree(struct mst *t, struct blockmap *store)
{
	T_EQ_INT(mst_walk_blocks(t, save_block, store), MST_OK);
}

/* ==== interop vectors ================================================== */

static void
test_key_heights(void)
{
	json_t	*j = load_json("mst/key_heights.json"), *row;
	size_t	 i, n = 0;

	json_array_foreach(j, i, row) {
		const char	*k = json_string_value(json_object_get(row, "key"));
		json_int_t	 h = json_integer_value(json_object_get(row,
				    "height"));

		T_EQ_INT(mst_key_height(k, strlen(k)), h);
		n++;
	}
	printf("mst/key_heights.json: %zu vectors\n", n);
	json_decref(j);
}

static void
test_common_prefix(void)
{
	json_t	*j = load_json("mst/common_prefix.json"), *row;
	size_t	 i, n = 0;

	json_array_foreach(j, i, row) {
		json_t	*l = json_object_get(row, "left");
		json_t	*r = json_object_get(row, "right");

		T_EQ_INT(mst_common_prefix(json_string_value(l),
		    json_string_length(l), json_string_value(r),
		    json_string_length(r)),
		    json_integer_value(json_object_get(row, "len")));
		n++;
	}
	printf("mst/common_prefix.json: %zu vectors\n", n);
	json_decref(j);
}

struct keyset {
	char	**k;
	size_t	  n;
};

static void
keyset_load(struct keyset *ks)
{
	char	 path[1024], *txt, *p, *nl;
	size_t	 len;

	ks->k = NULL;
	ks->n = 0;
	snprintf(path, sizeof(path), "%s/mst/example_keys.txt",
	    t_interop_path());
	if ((txt = t_read_file(path, &len)) == NULL)
		return;
	for (p = txt; *p != '\0'; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			break;
		*nl = '\0';
		if (*p == '\0')
			continue;
		ks->k = realloc(ks->k, (ks->n + 1) * sizeof(*ks->k));
		ks->k[ks->n++] = strdup(p);
	}
	free(txt);
}

static void
keyset_free(struct keyset *ks)
{
	size_t	i;

	for (i = 0; i < ks->n; i++)
		free(ks->k[i]);
	free(ks->k);
}

static void
shuffle(char **v, size_t n, unsigned *seed)
{
	size_t	i, j;
	char	*x;

	for (i = n; i > 1; i--) {
		j = (size_t)rand_r(seed) % i;
		x = v[i - 1];
		v[i - 1] = v[j];
		v[j] = x;
	}
}

static void
val_for(const char *key, struct cid *c)
{
	cid_compute(c, CID_CODEC_DAG_CBOR, key, strlen(key));
}

/* example_keys.txt: heights as the key names say; any insertion order
 * gives the same root; deleting everything gives the empty root. */
static void
test_example_keys(void)
{
	struct keyset	 ks;
	struct blockmap	 store;
	struct mst_source src;
	struct mst	*t;
	struct cid	 v, root, first;
	unsigned	 seed = 7;
	size_t		 i;
	int		 round;

	keyset_load(&ks);
	blockmap_init(&store, 0);
	src = src_of(&store);
	for (i = 0; i < ks.n; i++)
		T_EQ_INT(mst_key_height(ks.k[i], strlen(ks.k[i])),
		    ks.k[i][1] - '0');
	for (round = 0; round < 4; round++) {
		shuffle(ks.k, ks.n, &seed);
		T_EQ_INT(mst_new(&src, &t), MST_OK);
		for (i = 0; i < ks.n; i++) {
			val_for(ks.k[i], &v);
			T_EQ_INT(mst_add(t, ks.k[i], strlen(ks.k[i]), &v),
			    MST_OK);
		}
		T_EQ_INT(mst_root(t, &root), MST_OK);
		if (round == 0)
			first = root;
		T_OK(cid_equal(&root, &first), "order changed the root");
		save_tree(t, &store);
		mst_free(t);
		/* reload lazily and delete all in another order */
		T_EQ_INT(mst_load(&src, &root, &t), MST_OK);
		shuffle(ks.k, ks.n, &seed);
		for (i = 0; i < ks.n; i++)
			T_EQ_INT(mst_delete(t, ks.k[i], strlen(ks.k[i]), NULL),
			    MST_OK);
		T_EQ_INT(mst_root(t, &root), MST_OK);
		cid_str_eq(&root, EMPTY_ROOT, "all deleted");
		mst_free(t);
	}
	printf("mst/example_keys.txt: %zu keys\n", ks.n);
	blockmap_fini(&store);
	keyset_free(&ks);
}

/* ---- commit-proof fixtures ------------------------------------------- */

struct fixture_op {
	const char	*key;
	int		 is_add;	/* in the commit: add (else delete) */
};

/* Applies the inverse of ops[perm[i]] in order to a tree over src. */
static int
invert(const struct mst_source *src, const struct cid *after,
    const struct fixture_op *ops, const size_t *perm, size_t n,
    const struct cid *leaf, struct cid *out)
{
	struct mst	*t;
	enum mst_err	 r = MST_OK;
	size_t		 i;

	if (mst_load(src, after, &t) != MST_OK)
		return -1;
	for (i = 0; i < n && r == MST_OK; i++) {
		const struct fixture_op	*op = &ops[perm[i]];

		r = op->is_add ? mst_delete(t, op->key, strlen(op->key), NULL) :
		    mst_add(t, op->key, strlen(op->key), leaf);
		if (r != MST_OK)
			fprintf(stderr, "invert %s %s: %s\n",
			    op->is_add ? "delete" : "add", op->key,
			    mst_err_str(r));
	}
	if (r == MST_OK)
		r = mst_root(t, out);
	mst_free(t);
	return r == MST_OK ? 0 : -1;
}

/* Calls invert() for every permutation of n (<= 8) ops. */
static void
invert_all(const struct mst_source *src, const struct cid *after,
    const struct fixture_op *ops, size_t n, const struct cid *leaf,
    const struct cid *before, size_t *orders)
{
	size_t	perm[8], c[8], i = 1, x;
	struct cid got;

	for (x = 0; x < n; x++) {
		perm[x] = x;
		c[x] = 0;
	}
	/* Heap's algorithm */
	T_OK(invert(src, after, ops, perm, n, leaf, &got) == 0 &&
	    cid_equal(&got, before), "inversion order 0");
	(*orders)++;
	while (i < n) {
		if (c[i] < i) {
			x = i % 2 == 0 ? 0 : c[i];
			size_t tmp = perm[x];
			perm[x] = perm[i];
			perm[i] = tmp;
			T_OK(invert(src, after, ops, perm, n, leaf, &got) == 0
			    && cid_equal(&got, before), "inversion order");
			(*orders)++;
			c[i]++;
			i = 1;
		} else
			c[i++] = 0;
	}
}

static void
run_fixture(json_t *fx, size_t *orders)
{
	struct blockmap		 store, proof;
	struct mst_source	 src;
	struct mst		*t;
	struct fixture_op	 ops[8];
	struct cid		 leaf, before, after, root, c;
	json_t			*a, *v;
	size_t			 i, nops = 0;
	const char		*name = json_string_value(json_object_get(fx,
				    "comment"));

	blockmap_init(&store, 0);
	blockmap_init(&proof, 0);
	src = src_of(&store);
	T_EQ_INT(cid_of_str(json_string_value(json_object_get(fx,
	    "leafValue")), &leaf), 0);
	T_EQ_INT(mst_new(&src, &t), MST_OK);
	json_array_foreach(json_object_get(fx, "keys"), i, v)
		T_EQ_INT(mst_add(t, json_string_value(v),
		    json_string_length(v), &leaf), MST_OK);
	T_EQ_INT(mst_root(t, &before), MST_OK);
	cid_str_eq(&before, json_string_value(json_object_get(fx,
	    "rootBeforeCommit")), name);
	/* the commit goes to a tree reloaded from storage, as in the PDS */
	save_tree(t, &store);
	mst_free(t);
	T_EQ_INT(mst_load(&src, &before, &t), MST_OK);
	json_array_foreach((a = json_object_get(fx, "adds")), i, v) {
		T_EQ_INT(mst_add(t, json_string_value(v),
		    json_string_length(v), &leaf), MST_OK);
		if (nops < 8)
			ops[nops++] = (struct fixture_op){ json_string_value(v),
			    1 };
	}
	json_array_foreach((a = json_object_get(fx, "dels")), i, v) {
		T_EQ_INT(mst_delete(t, json_string_value(v),
		    json_string_length(v), NULL), MST_OK);
		if (nops < 8)
			ops[nops++] = (struct fixture_op){ json_string_value(v),
			    0 };
	}
	T_EQ_INT(mst_root(t, &after), MST_OK);
	cid_str_eq(&after, json_string_value(json_object_get(fx,
	    "rootAfterCommit")), name);
	for (i = 0; i < nops; i++)
		T_EQ_INT(mst_proof(t, ops[i].key, strlen(ops[i].key), &proof),
		    MST_OK);
	json_array_foreach(json_object_get(fx, "blocksInProof"), i, v) {
		T_EQ_INT(cid_of_str(json_string_value(v), &c), 0);
		T_OK(blockmap_has(&proof, &c), "%s: proof lacks %s", name,
		    json_string_value(v));
	}
	mst_free(t);
	/* only the proof blocks: every order of inverse ops goes back */
	src = src_of(&proof);
	invert_all(&src, &after, ops, nops, &leaf, &before, orders);
	(void)root;
	blockmap_fini(&store);
	blockmap_fini(&proof);
}

static void
test_commit_proofs(void)
{
	json_t	*j = load_json("firehose/commit-proof-fixtures.json"), *fx;
	size_t	 i, n = 0, orders = 0;

	json_array_foreach(j, i, fx) {
		run_fixture(fx, &orders);
		n++;
	}
	printf("firehose/commit-proof-fixtures.json: %zu fixtures, "
	    "%zu inversion orders\n", n, orders);
	json_decref(j);
}

/* ==== model-based tests ================================================ */

struct model {
	char		(*k)[48];
	struct cid	*v;
	int		*live;
	size_t		 n;
};

static void
model_key(char out[48], unsigned i)
{
	static const char *const coll[] = { "app.bsky.feed.post",
	    "app.bsky.feed.like", "app.bsky.graph.follow", "com.example.x" };

	snprintf(out, 48, "%s/3k%07ux", coll[i % 4], i * 2654435761u % 9999991);
}

struct list_acc {
	char	 keys[2048][48];
	size_t	 n;
	size_t	 limit;
};

static int
list_cb(void *arg, const char *key, size_t klen, const struct cid *val)
{
	struct list_acc	*a = arg;

	(void)val;
	if (a->n < 2048 && klen < 48) {
		memcpy(a->keys[a->n], key, klen);
		a->keys[a->n][klen] = '\0';
	}
	a->n++;
	return a->limit != 0 && a->n >= a->limit ? 1 : 0;
}

static int
strp_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Listing with prefix, cursor and direction equals a filtered sort. */
static void
check_list(struct mst *t, const struct model *m, const char *prefix,
    const char *after, const char *before, int reverse)
{
	static struct list_acc	got;
	static char		want[2048][48];
	struct mst_range	r = { prefix, strlen(prefix), after,
				    after ? strlen(after) : 0, before,
				    before ? strlen(before) : 0, reverse };
	size_t			i, nw = 0;

	for (i = 0; i < m->n; i++) {
		if (!m->live[i] || strncmp(m->k[i], prefix, strlen(prefix)) ||
		    (after && strcmp(m->k[i], after) <= 0) ||
		    (before && strcmp(m->k[i], before) >= 0))
			continue;
		memcpy(want[nw++], m->k[i], 48);
	}
	qsort(want, nw, 48, strp_cmp);
	got.n = 0;
	got.limit = 0;
	T_EQ_INT(mst_list(t, &r, list_cb, &got), MST_OK);
	T_EQ_INT(got.n, nw);
	for (i = 0; i < nw && i < got.n; i++)
		T_EQ_STR(got.keys[i], want[reverse ? nw - 1 - i : i]);
	/* a limit stops early */
	got.n = 0;
	got.limit = 3;
	T_EQ_INT(mst_list(t, &r, list_cb, &got), MST_OK);
	T_EQ_INT(got.n, nw < 3 ? nw : 3);
}

/* Random writes against the model; every 50 steps: reload from the
 * store, check diff, list, lookups and that a fresh build matches. */
static void
test_random(void)
{
	struct blockmap		 store;
	struct mst_source	 src;
	struct mst		*t, *old, *fresh;
	struct mst_diff		 d;
	struct model		 m;
	struct cid		 v, prev, root, oldroot, r2;
	unsigned		 seed = 42, step, i;
	size_t			 nlive = 0, j, nchanged;
	int			*was_live;
	struct cid		*was_val;

	m.n = 600;
	m.k = calloc(m.n, 48);
	m.v = calloc(m.n, sizeof(*m.v));
	m.live = calloc(m.n, sizeof(int));
	was_live = calloc(m.n, sizeof(int));
	was_val = calloc(m.n, sizeof(*was_val));
	for (i = 0; i < m.n; i++)
		model_key(m.k[i], i);
	blockmap_init(&store, 0);
	src = src_of(&store);
	T_EQ_INT(mst_new(&src, &t), MST_OK);
	T_EQ_INT(mst_root(t, &oldroot), MST_OK);
	cid_str_eq(&oldroot, EMPTY_ROOT, "empty tree");
	save_tree(t, &store);
	memcpy(was_live, m.live, m.n * sizeof(int));
	for (step = 1; step <= 3000; step++) {
		i = (unsigned)rand_r(&seed) % (unsigned)m.n;
		cid_compute(&v, CID_CODEC_DAG_CBOR, &step, sizeof(step));
		if (!m.live[i]) {
			T_EQ_INT(mst_add(t, m.k[i], strlen(m.k[i]), &v), MST_OK);
			T_EQ_INT(mst_update(t, m.k[i], strlen(m.k[i]), &v,
			    NULL), MST_OK);
			m.live[i] = 1;
			m.v[i] = v;
			nlive++;
		} else if (rand_r(&seed) % 3 == 0) {
			T_EQ_INT(mst_add(t, m.k[i], strlen(m.k[i]), &v),
			    MST_ERR_EXISTS);
			T_EQ_INT(mst_update(t, m.k[i], strlen(m.k[i]), &v,
			    &prev), MST_OK);
			T_OK(cid_equal(&prev, &m.v[i]), "update prev");
			m.v[i] = v;
		} else {
			T_EQ_INT(mst_delete(t, m.k[i], strlen(m.k[i]), &prev),
			    MST_OK);
			T_OK(cid_equal(&prev, &m.v[i]), "delete prev");
			T_EQ_INT(mst_delete(t, m.k[i], strlen(m.k[i]), NULL),
			    MST_ERR_NOTFOUND);
			m.live[i] = 0;
			nlive--;
		}
		if (step % 50 != 0)
			continue;
		/* diff against the tree of 50 steps ago */
		T_EQ_INT(mst_root(t, &root), MST_OK);
		T_EQ_INT(mst_load(&src, &oldroot, &old), MST_OK);
		mst_diff_init(&d);
		T_EQ_INT(mst_diff(t, old, &d), MST_OK);
		for (j = 0, nchanged = 0; j < m.n; j++)
			if (m.live[j] != was_live[j] || (m.live[j] &&
			    !cid_equal(&m.v[j], &was_val[j])))
				nchanged++;
		T_EQ_INT(d.nops, nchanged);
		for (j = 0; j + 1 < d.nops; j++)
			T_OK(strcmp(d.ops[j].key, d.ops[j + 1].key) < 0,
			    "diff order");
		/* the store follows the diff, as the actor store does */
		{
			size_t		 k = 0, len;
			const struct cid *c;
			const uint8_t	*p;

			while (blockmap_next(&d.new_nodes, &k, &c, &p, &len))
				blockmap_put(&store, c, p, len);
			for (k = 0; k < d.nremoved; k++)
				if (cid_codec(&d.removed[k]) ==
				    CID_CODEC_DAG_CBOR)
					blockmap_remove(&store, &d.removed[k]);
		}
		mst_diff_fini(&d);
		mst_free(old);
		mst_free(t);
		/* reload from the store, which must hold the whole tree */
		T_EQ_INT(mst_load(&src, &root, &t), MST_OK);
		T_EQ_INT(mst_root(t, &r2), MST_OK);
		for (j = 0; j < m.n; j++) {
			enum mst_err	e = mst_get(t, m.k[j], strlen(m.k[j]), &v);

			T_EQ_INT(e, m.live[j] ? MST_OK : MST_ERR_NOTFOUND);
			if (m.live[j])
				T_OK(cid_equal(&v, &m.v[j]), "get value");
		}
		/* a fresh build of the same content has the same root */
		T_EQ_INT(mst_new(&src, &fresh), MST_OK);
		for (j = m.n; j-- > 0;)
			if (m.live[j])
				T_EQ_INT(mst_add(fresh, m.k[j], strlen(m.k[j]),
				    &m.v[j]), MST_OK);
		T_EQ_INT(mst_root(fresh, &r2), MST_OK);
		T_OK(cid_equal(&r2, &root), "fresh build root differs");
		mst_free(fresh);
		if (step % 500 == 0) {
			struct blockmap	pb;
			struct cid	pv;

			/* the path proves presence (with the value) or
			 * absence; it never holds more than a proof */
			blockmap_init(&pb, 0);
			for (j = 0; j < m.n; j += 37) {
				blockmap_reset(&pb);
				T_EQ_INT(mst_path(t, m.k[j], strlen(m.k[j]), &pb,
				    &pv), m.live[j] ? MST_OK :
				    MST_ERR_NOTFOUND);
				if (m.live[j])
					T_OK(cid_equal(&pv, &m.v[j]), "path val");
				T_OK(blockmap_has(&pb, &root), "path root");
				T_OK(blockmap_count(&pb) >= 1 &&
				    blockmap_count(&pb) <= 12, "path length");
			}
			blockmap_fini(&pb);
			check_list(t, &m, "", NULL, NULL, 0);
			check_list(t, &m, "app.bsky.feed.", NULL, NULL, 1);
			check_list(t, &m, "app.bsky.feed.like/", "app.bsky.feed"
			    ".like/3k4", NULL, 0);
			check_list(t, &m, "com.example.x/", NULL,
			    "com.example.x/3k5", 1);
			check_list(t, &m, "zzz/", NULL, NULL, 0);
		}
		oldroot = root;
		memcpy(was_live, m.live, m.n * sizeof(int));
		memcpy(was_val, m.v, m.n * sizeof(*m.v));
	}
	printf("random: 3000 writes, %zu keys live at the end\n", nlive);
	mst_free(t);
	blockmap_fini(&store);
	free(m.k);
	free(m.v);
	free(m.live);
	free(was_live);
	free(was_val);
}

/* A single write on a 5000-key tree re-encodes only its path. */
static void
test_path_only(void)
{
	struct blockmap		 store;
	struct mst_source	 src;
	struct mst		*t;
	struct mst_stats	 st;
	struct cid		 v, root;
	char			 k[48];
	unsigned		 i;

	blockmap_init(&store, 0);
	src = src_of(&store);
	T_EQ_INT(mst_new(&src, &t), MST_OK);
	for (i = 0; i < 5000; i++) {
		model_key(k, i);
		val_for(k, &v);
		T_EQ_INT(mst_add(t, k, strlen(k), &v), MST_OK);
	}
	T_EQ_INT(mst_root(t, &root), MST_OK);
	save_tree(t, &store);
	mst_free(t);
	T_EQ_INT(mst_load(&src, &root, &t), MST_OK);
	model_key(k, 5000);
	val_for(k, &v);
	T_EQ_INT(mst_add(t, k, strlen(k), &v), MST_OK);
	T_EQ_INT(mst_root(t, &root), MST_OK);
	mst_stats_get(t, &st);
	/* an add may split nodes along the path: at most two per layer */
	T_OK(st.loaded <= 12 && st.encoded <= 2 * st.loaded + 2,
	    "loaded %llu encoded %llu", (unsigned long long)st.loaded,
	    (unsigned long long)st.encoded);
	printf("path-only: one add to 5000 keys loaded %llu, encoded %llu "
	    "nodes\n", (unsigned long long)st.loaded,
	    (unsigned long long)st.encoded);
	save_tree(t, &store);
	mst_free(t);
	/* an update re-encodes exactly the nodes on its path */
	T_EQ_INT(mst_load(&src, &root, &t), MST_OK);
	model_key(k, 1234);
	val_for("other", &v);
	T_EQ_INT(mst_update(t, k, strlen(k), &v, NULL), MST_OK);
	T_EQ_INT(mst_root(t, &root), MST_OK);
	mst_stats_get(t, &st);
	T_OK(st.loaded >= 3 && st.encoded == st.loaded,
	    "update: loaded %llu encoded %llu", (unsigned long long)st.loaded,
	    (unsigned long long)st.encoded);
	printf("path-only: one update loaded %llu, encoded %llu nodes\n",
	    (unsigned long long)st.loaded, (unsigned long long)st.encoded);
	mst_free(t);
	blockmap_fini(&store);
}

/* ==== hostile and malformed input ====================================== */

/* Encodes a node map by hand: entries of (p, k, has_t, layer key). */
struct raw_ent {
	unsigned	 p;
	const char	*k;
};

static void
raw_node(struct buf *b, const struct raw_ent *e, size_t n, int extra)
{
	struct cid	v;
	size_t		i;

	val_for("x", &v);
	cbor_put_map(b, extra ? 3 : 2);
	cbor_put_text(b, "e", 1);
	cbor_put_array(b, n);
	for (i = 0; i < n; i++) {
		cbor_put_map(b, 4);
		cbor_put_text(b, "k", 1);
		cbor_put_bytes(b, e[i].k, strlen(e[i].k));
		cbor_put_text(b, "p", 1);
		cbor_put_uint(b, e[i].p);
		cbor_put_text(b, "t", 1);
		cbor_put_null(b);
		cbor_put_text(b, "v", 1);
		cbor_put_link(b, &v);
	}
	cbor_put_text(b, "l", 1);
	cbor_put_null(b);
	if (extra) {
		cbor_put_text(b, "zz", 2);
		cbor_put_null(b);
	}
}

static enum mst_err
try_node(const struct raw_ent *e, size_t n, int extra)
{
	struct blockmap		 store;
	struct mst_source	 src;
	struct mst		*t;
	struct buf		 b;
	struct cid		 c, v;
	enum mst_err		 r;

	blockmap_init(&store, 0);
	buf_init(&b, 0);
	raw_node(&b, e, n, extra);
	blockmap_put_data(&store, CID_CODEC_DAG_CBOR, b.data, b.len, &c);
	src = src_of(&store);
	mst_load(&src, &c, &t);
	/* any lookup loads the root: absent is fine, the node was read */
	if ((r = mst_get(t, "a/b", 3, &v)) == MST_ERR_NOTFOUND)
		r = MST_OK;
	mst_free(t);
	buf_free(&b);
	blockmap_fini(&store);
	return r;
}

static void
test_malformed(void)
{
	/* "a/bc" and "a/bd" are both on layer 0 */
	static const struct raw_ent good[] = { { 0, "a/bc" }, { 3, "d" } };
	static const struct raw_ent nonmax_p[] = { { 0, "a/bc" },
	    { 0, "a/bd" } };
	static const struct raw_ent unsorted[] = { { 0, "a/bd" }, { 3, "c" } };
	static const struct raw_ent dup[] = { { 0, "a/bc" }, { 4, "" } };
	static const struct raw_ent badp[] = { { 0, "a/bc" }, { 9, "d" } };
	static const struct raw_ent badkey[] = { { 0, "a/b/c" } };
	static const struct raw_ent first_p[] = { { 1, "a/bc" } };
	static const struct raw_ent layer1[] = { { 0, "a/c" } };
	struct blockmap		 store;
	struct mst_source	 src;
	struct mst		*t;
	struct cid		 c, v;
	char			 key[1100];

	T_EQ_INT(mst_key_height("a/bc", 4), 0);
	T_EQ_INT(mst_key_height("a/bd", 4), 0);
	T_EQ_INT(mst_key_height("a/c", 3), 1);
	T_EQ_INT(try_node(good, 2, 0), MST_OK);
	T_EQ_INT(try_node(good, 2, 1), MST_ERR_CORRUPT);
	T_EQ_INT(try_node(nonmax_p, 2, 0), MST_ERR_CORRUPT);
	T_EQ_INT(try_node(unsorted, 2, 0), MST_ERR_CORRUPT);
	T_EQ_INT(try_node(dup, 2, 0), MST_ERR_CORRUPT);
	T_EQ_INT(try_node(badp, 2, 0), MST_ERR_CORRUPT);
	T_EQ_INT(try_node(badkey, 1, 0), MST_ERR_CORRUPT);
	T_EQ_INT(try_node(first_p, 1, 0), MST_ERR_CORRUPT);
	/* a layer-1 key alone at the root is fine; keys of two layers in
	 * one node are not */
	T_EQ_INT(try_node(layer1, 1, 0), MST_OK);
	{
		static const struct raw_ent mixed[] = { { 0, "a/bc" },
		    { 2, "c" } };

		T_EQ_INT(try_node(mixed, 2, 0), MST_ERR_CORRUPT);
	}

	blockmap_init(&store, 0);
	src = src_of(&store);
	/* a root that is not in the store */
	val_for("nothing", &c);
	T_EQ_INT(mst_load(&src, &c, &t), MST_OK);
	T_EQ_INT(mst_get(t, "a/b", 3, &v), MST_ERR_MISSING);
	mst_free(t);
	/* bytes that do not hash to the CID they are stored under */
	blockmap_put(&store, &c, "\xa0", 1);
	T_EQ_INT(mst_load(&src, &c, &t), MST_OK);
	T_EQ_INT(mst_get(t, "a/b", 3, &v), MST_ERR_CORRUPT);
	mst_free(t);
	/* not CBOR; CBOR but not a node; a raw-codec root */
	blockmap_put_data(&store, CID_CODEC_DAG_CBOR, "\xff", 1, &c);
	T_EQ_INT(mst_load(&src, &c, &t), MST_OK);
	T_EQ_INT(mst_get(t, "a/b", 3, &v), MST_ERR_CORRUPT);
	mst_free(t);
	blockmap_put_data(&store, CID_CODEC_DAG_CBOR, "\xa0", 1, &c);
	T_EQ_INT(mst_load(&src, &c, &t), MST_OK);
	T_EQ_INT(mst_get(t, "a/b", 3, &v), MST_ERR_CORRUPT);
	mst_free(t);
	blockmap_put_data(&store, CID_CODEC_RAW, "\xa0", 1, &c);
	T_EQ_INT(mst_load(&src, &c, &t), MST_OK);
	T_EQ_INT(mst_get(t, "a/b", 3, &v), MST_ERR_CORRUPT);
	mst_free(t);
	/* invalid keys are refused before anything changes */
	T_EQ_INT(mst_new(&src, &t), MST_OK);
	val_for("x", &v);
	T_EQ_INT(mst_add(t, "nokey", 5, &v), MST_ERR_KEY);
	T_EQ_INT(mst_add(t, "a/b/c", 5, &v), MST_ERR_KEY);
	T_EQ_INT(mst_add(t, "/b", 2, &v), MST_ERR_KEY);
	T_EQ_INT(mst_add(t, "a/", 2, &v), MST_ERR_KEY);
	T_EQ_INT(mst_add(t, "a/b c", 5, &v), MST_ERR_KEY);
	T_EQ_INT(mst_add(t, "a/b\0", 4, &v), MST_ERR_KEY);
	memset(key, 'a', sizeof(key));
	key[1] = '/';
	T_EQ_INT(mst_add(t, key, LIM_MST_KEY_LEN + 1, &v), MST_ERR_KEY);
	T_EQ_INT(mst_add(t, key, LIM_MST_KEY_LEN, &v), MST_OK);
	T_EQ_INT(mst_delete(t, "a/b", 3, NULL), MST_ERR_NOTFOUND);
	T_EQ_INT(mst_update(t, "a/b", 3, &v, NULL), MST_ERR_NOTFOUND);
	T_EQ_INT(mst_get(t, "a/b", 3, &v), MST_ERR_NOTFOUND);
	mst_free(t);
	blockmap_fini(&store);
}

int
main(void)
{
	test_key_heights();
	test_common_prefix();
	test_example_keys();
	test_commit_proofs();
	test_random();
	test_path_only();
	test_malformed();
	return t_done("mst");
}
