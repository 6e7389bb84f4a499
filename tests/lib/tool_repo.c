/*
 * tool_repo.c: drives the repository core for the Node suites
 * (tests/integration/mst-diff.test.mjs, repo-verify.test.mjs).
 *
 *   tool_repo mst
 *	Reads ops from stdin, one per line: "a KEY CID", "u KEY CID",
 *	"d KEY".  Keeps the tree in an in-memory block store the way the
 *	actor store does (load at the current root, write, diff, store the
 *	new nodes, drop the removed ones) and answers each op with one line:
 *	"ROOT NEW_NODES REMOVED_NODES PROOF PATH" (PROOF: the covering proof
 *	CIDs of KEY in the new tree, PATH: the nodes on the path to KEY, each
 *	sorted and comma-separated) or "err MESSAGE".
 *   tool_repo mkrepo N SEED CARFILE EVENTFILE
 *	Builds a signed repository of N random records in several commits
 *	(creates, updates, deletes), writes its full CAR to CARFILE and the
 *	last commit's #commit blocks CAR to EVENTFILE, and prints JSON: did,
 *	didkey, root, rev, data, prevData, ops and records.
 *   tool_repo readcar CARFILE [DID DIDKEY]
 *	Verifies a repository CAR (hashes, commit, signature when DIDKEY is
 *	given, every MST node and record) and prints JSON: root, did, rev,
 *	blocks, nodes and records in key order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blockmap.h"
#include "car.h"
#include "cbor.h"
#include "keys.h"
#include "mst.h"
#include "repo.h"
#include "util.h"

#define LINE_MAX_BYTES	4096

static void
print_cid(FILE *f, const struct cid *c)
{
	char	s[CID_STR_LEN];

	cid_format(c, s);
	fputs(s, f);
}

/* ==== mst ================================================================ */

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Prints the covering proof (path 0) or the path (1) of key. */
static void
print_proof(struct mst *t, const char *key, int path)
{
	struct blockmap		 bm;
	const struct cid	*c;
	const uint8_t		*p;
	size_t			 i = 0, n = 0, len;
	char			**v;
	enum mst_err		 r;

	blockmap_init(&bm, 0);
	r = path ? mst_path(t, key, strlen(key), &bm, NULL) :
	    mst_proof(t, key, strlen(key), &bm);
	if (r != MST_OK && !(path && r == MST_ERR_NOTFOUND)) {
		fputs("?", stdout);
		blockmap_fini(&bm);
		return;
	}
	v = calloc(blockmap_count(&bm) + 1, sizeof(*v));
	while (blockmap_next(&bm, &i, &c, &p, &len)) {
		v[n] = malloc(CID_STR_LEN);
		cid_format(c, v[n++]);
	}
	qsort(v, n, sizeof(*v), str_cmp);
	for (i = 0; i < n; i++) {
		printf("%s%s", i ? "," : "", v[i]);
		free(v[i]);
	}
	free(v);
	blockmap_fini(&bm);
}

/* Applies one op line; prints the answer. */
static void
mst_step(struct blockmap *store, struct cid *root, char *line)
{
	struct mst_source	 src = { blockmap_source_get, store };
	struct mst		*t = NULL, *old = NULL;
	struct mst_diff		 d;
	struct cid		 v;
	const struct cid	*c;
	const uint8_t		*p;
	char			*op, *key, *val, *save;
	size_t			 i, len, nrm = 0;
	enum mst_err		 r;

	mst_diff_init(&d);
	op = strtok_r(line, " \n", &save);
	key = strtok_r(NULL, " \n", &save);
	val = strtok_r(NULL, " \n", &save);
	if (op == NULL || key == NULL || (*op != 'd' && (val == NULL ||
	    cid_parse_str(&v, val, strlen(val)) == -1))) {
		printf("err bad line\n");
		return;
	}
	mst_load(&src, root, &t);
	mst_load(&src, root, &old);
	if (*op == 'a')
		r = mst_add(t, key, strlen(key), &v);
	else if (*op == 'u')
		r = mst_update(t, key, strlen(key), &v, NULL);
	else
		r = mst_delete(t, key, strlen(key), NULL);
	if (r == MST_OK)
		r = mst_root(t, root);
	if (r == MST_OK)
		r = mst_diff(t, old, &d);
	if (r != MST_OK) {
		printf("err %s\n", mst_err_str(r));
		goto out;
	}
	for (i = 0; blockmap_next(&d.new_nodes, &i, &c, &p, &len);)
		blockmap_put(store, c, p, len);
	for (i = 0; i < d.nremoved; i++)
		if (blockmap_remove(store, &d.removed[i]))
			nrm++;
	print_cid(stdout, root);
	printf(" %zu %zu ", blockmap_count(&d.new_nodes), nrm);
	print_proof(t, key, 0);
	putchar(' ');
	print_proof(t, key, 1);
	putchar('\n');
out:
	fflush(stdout);
	mst_diff_fini(&d);
	mst_free(t);
	mst_free(old);
}

static int
save_block(void *arg, const struct cid *c, const uint8_t *p, size_t len)
{
	return blockmap_put(arg, c, p, len) == -1 ? -1 : 0;
}

static int
cmd_mst(void)
{
	struct blockmap		 store;
	struct mst_source	 src = { blockmap_source_get, &store };
	struct mst		*t;
	struct cid		 root;
	char			 line[LINE_MAX_BYTES];

	blockmap_init(&store, 1u << 30);
	/* the empty tree's node goes into the store first */
	if (mst_new(&src, &t) != MST_OK ||
	    mst_walk_blocks(t, save_block, &store) != MST_OK ||
	    mst_root(t, &root) != MST_OK)
		return 1;
	mst_free(t);
	while (fgets(line, sizeof(line), stdin) != NULL)
		mst_step(&store, &root, line);
	blockmap_fini(&store);
	return 0;
}

/* ==== mkrepo ============================================================= */

static void
make_record(struct buf *b, unsigned n, unsigned *seed)
{
	char	text[64];

	snprintf(text, sizeof(text), "post %u %d", n, rand_r(seed));
	buf_reset(b);
	cbor_put_map(b, 3);
	cbor_put_cstr(b, "text");
	cbor_put_cstr(b, text);
	cbor_put_cstr(b, "$type");
	cbor_put_cstr(b, "app.bsky.feed.post");
	cbor_put_cstr(b, "createdAt");
	cbor_put_cstr(b, "2024-01-02T03:04:05.678Z");
}

static void
store_commit(struct blockmap *store, const struct repo_commit *rc)
{
	const struct cid	*c;
	const uint8_t		*p;
	size_t			 i = 0, len;

	while (blockmap_next(&rc->new_blocks, &i, &c, &p, &len))
		blockmap_put(store, c, p, len);
	for (i = 0; i < rc->nremoved; i++)
		blockmap_remove(store, &rc->removed[i]);
}

static int
write_file(const char *path, const struct buf *b)
{
	FILE	*f;

	if ((f = fopen(path, "wb")) == NULL ||
	    fwrite(b->data, 1, b->len, f) != b->len) {
		if (f != NULL)
			fclose(f);
		return -1;
	}
	return fclose(f);
}

static int
list_json(void *arg, const char *key, size_t klen, const struct cid *val)
{
	int	*first = arg;

	printf("%s[\"%.*s\",\"", *first ? "" : ",", (int)klen, key);
	print_cid(stdout, val);
	printf("\"]");
	*first = 0;
	return 0;
}

static void
print_ops(const struct repo_commit *rc)
{
	static const char *const act[] = { "create", "update", "delete" };
	size_t	i;

	printf("\"ops\":[");
	for (i = 0; i < rc->nops; i++) {
		const struct repo_op	*op = &rc->ops[i];

		printf("%s{\"action\":\"%s\",\"path\":\"%.*s\",\"cid\":",
		    i ? "," : "", act[op->action], (int)op->klen, op->key);
		if (op->action == REPO_DELETE)
			printf("null");
		else {
			putchar('"');
			print_cid(stdout, &op->cid);
			putchar('"');
		}
		if (op->has_prev) {
			printf(",\"prev\":\"");
			print_cid(stdout, &op->prev);
			putchar('"');
		}
		putchar('}');
	}
	printf("]");
}

/* One batch of random writes over the live keys. */
static int
batch(struct blockmap *store, const struct key *k, const char *did,
    struct cid *head, char (*keys)[64], int *live, unsigned nkeys,
    unsigned *seed, unsigned round, struct repo_commit *rc)
{
	struct mst_source	 src = { blockmap_source_get, store };
	struct repo_write	 w[LIM_WRITES_PER_COMMIT];
	struct buf		 recs[LIM_WRITES_PER_COMMIT];
	int			 used[1 << 12] = { 0 };
	unsigned		 n, i, x;
	enum repo_err		 e;

	/* distinct keys per batch: at most half the pool */
	n = 1 + (unsigned)rand_r(seed) % (nkeys / 2 < 50 ? nkeys / 2 : 50);
	for (i = 0; i < n; i++) {
		buf_init(&recs[i], 0);
		do
			x = (unsigned)rand_r(seed) % nkeys;
		while (used[x]);
		used[x] = 1;
		make_record(&recs[i], round * 1000 + i, seed);
		w[i] = (struct repo_write){ !live[x] ? REPO_CREATE :
		    rand_r(seed) % 3 ? REPO_UPDATE : REPO_DELETE, keys[x],
		    strlen(keys[x]), recs[i].data, recs[i].len };
		live[x] = w[i].action != REPO_DELETE;
	}
	repo_commit_fini(rc);
	e = repo_apply_writes(&src, head, did, strlen(did), k, w, n, rc);
	for (i = 0; i < n; i++)
		buf_free(&recs[i]);
	if (e != REPO_OK) {
		fprintf(stderr, "apply: %s\n", repo_err_str(e));
		return -1;
	}
	store_commit(store, rc);
	*head = rc->cid;
	return 0;
}

static int
cmd_mkrepo(unsigned n, unsigned seed, const char *carpath,
    const char *evpath)
{
	static const char *const colls[] = { "app.bsky.feed.post",
	    "app.bsky.feed.like", "app.bsky.graph.follow" };
	static char		 keys[4096][64];
	static int		 live[4096];
	const char		*did = "did:plc:tooltoolrepo2345abcdefgh";
	struct blockmap		 store;
	struct mst_source	 src = { blockmap_source_get, &store };
	struct repo_commit	 rc;
	struct key		*k = NULL;
	struct buf		 car, ev;
	struct car_writer	 cw;
	struct mst		*t = NULL;
	struct cid		 head;
	const struct cid	*c;
	const uint8_t		*p;
	char			 didkey[KEY_DID_LEN];
	size_t			 i, len;
	unsigned		 round, nkeys = n < 4096 ? n : 4096;
	int			 first = 1;

	if (n < 4 || key_new_k256(&k) != KEY_OK)
		return 1;
	key_did(k, didkey);
	for (i = 0; i < nkeys; i++)
		snprintf(keys[i], sizeof(keys[i]), "%s/3l%011x",
		    colls[i % 3], (unsigned)i * 2654435761u + seed);
	blockmap_init(&store, 1u << 30);
	repo_commit_init(&rc);
	if (repo_create(&src, did, strlen(did), k, NULL, 0, &rc) != REPO_OK)
		return 1;
	store_commit(&store, &rc);
	head = rc.cid;
	for (round = 0; round < n / 10 + 2; round++)
		if (batch(&store, k, did, &head, keys, live, nkeys, &seed,
		    round, &rc) == -1)
			return 1;
	buf_init(&car, 1u << 30);
	car_writer_init(&cw, car_buf_write, &car);
	car_write_header(&cw, &head, 1);
	for (i = 0; blockmap_next(&store, &i, &c, &p, &len);)
		car_write_block(&cw, c, p, len);
	buf_init(&ev, 1u << 30);
	car_writer_init(&cw, car_buf_write, &ev);
	if (repo_commit_car(&rc, &cw) != CAR_OK ||
	    write_file(carpath, &car) == -1 || write_file(evpath, &ev) == -1)
		return 1;
	printf("{\"did\":\"%s\",\"didkey\":\"%s\",\"root\":\"", did, didkey);
	print_cid(stdout, &head);
	printf("\",\"rev\":\"%s\",\"since\":\"%s\",\"data\":\"", rc.rev,
	    rc.since);
	print_cid(stdout, &rc.data);
	printf("\",\"prevData\":\"");
	print_cid(stdout, &rc.prev_data);
	printf("\",");
	print_ops(&rc);
	printf(",\"records\":[");
	mst_load(&src, &rc.data, &t);
	mst_list(t, NULL, list_json, &first);
	printf("]}\n");
	mst_free(t);
	repo_commit_fini(&rc);
	buf_free(&car);
	buf_free(&ev);
	blockmap_fini(&store);
	key_free(k);
	return 0;
}

/* ==== readcar ============================================================ */

static int
cmd_readcar(const char *path, const char *did, const char *didkey)
{
	struct blockmap		 bm;
	struct mst_source	 src = { blockmap_source_get, &bm };
	struct repo_verified	 v;
	struct buf		 b;
	struct mst		*t = NULL;
	FILE			*f;
	uint8_t			 chunk[65536];
	size_t			 n;
	enum car_err		 ce;
	enum repo_err		 e;
	int			 first = 1;

	buf_init(&b, 1u << 30);
	if ((f = fopen(path, "rb")) == NULL)
		return 1;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	fclose(f);
	blockmap_init(&bm, 1u << 30);
	e = repo_verify_car(b.data, b.len, did, didkey, &bm, &v, &ce);
	if (e != REPO_OK) {
		printf("{\"error\":\"%s\",\"car\":\"%s\"}\n", repo_err_str(e),
		    car_err_str(ce));
		blockmap_fini(&bm);
		buf_free(&b);
		return 2;
	}
	printf("{\"root\":\"");
	print_cid(stdout, &v.root);
	printf("\",\"did\":\"%s\",\"rev\":\"%s\",\"blocks\":%llu,"
	    "\"nodes\":%llu,\"records\":[", v.commit.did, v.commit.rev,
	    (unsigned long long)v.blocks, (unsigned long long)v.nodes);
	mst_load(&src, &v.commit.data, &t);
	mst_list(t, NULL, list_json, &first);
	printf("]}\n");
	mst_free(t);
	blockmap_fini(&bm);
	buf_free(&b);
	return 0;
}

int
main(int argc, char *argv[])
{
	int64_t	n, seed;

	if (argc >= 2 && strcmp(argv[1], "mst") == 0)
		return cmd_mst();

	if (argc == 6 && strcmp(argv[1], "mkrepo") == 0 &&
	    util_int_parse_str(argv[2], 1, 4096, &n) == 0 &&
	    util_int_parse_str(argv[3], 0, UINT32_MAX, &seed) == 0)
		return cmd_mkrepo((unsigned)n, (unsigned)seed, argv[4],
		    argv[5]);
	if ((argc == 3 || argc == 5) && strcmp(argv[1], "readcar") == 0)
		return cmd_readcar(argv[2], argc == 5 ? argv[3] : NULL,
		    argc == 5 ? argv[4] : NULL);
	fprintf(stderr, "usage: tool_repo mst | mkrepo N SEED CAR EVENT | "
	    "readcar CAR [DID DIDKEY]\n");
	return 1;
}
