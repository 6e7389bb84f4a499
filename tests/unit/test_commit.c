/*
 * test_commit.c: v3 commits (encode, sign, parse, verify, revs) and
 * whole commits over the MST (repo_create, repo_apply_writes): ops with
 * prev CIDs, the block lists, and the sync v1.1 property that the #commit
 * event's blocks alone let a consumer invert the ops back to prevData.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "t.h"
#include "blockmap.h"
#include "car.h"
#include "cbor.h"
#include "commit.h"
#include "repo.h"

static const char	DID[] = "did:plc:w4xbfzo7kqfes5zb7r6qv3rw";

static struct key *
test_key(void)
{
	struct key	*k = NULL;
	uint8_t		 priv[KEY_PRIV_LEN];

	memset(priv, 0x42, sizeof(priv));
	T_EQ_INT(key_load_k256_raw(priv, sizeof(priv), &k), KEY_OK);
	return k;
}

/* ==== commits ========================================================== */

static void
test_commit_roundtrip(void)
{
	struct commit	 c, p;
	struct key	*k = test_key(), *other = NULL;
	struct buf	 b, u;
	struct cid	 data, cid1, cid2;
	char		 didkey[KEY_DID_LEN];

	buf_init(&b, 0);
	buf_init(&u, 0);
	cid_compute(&data, CID_CODEC_DAG_CBOR, "\xa0", 1);
	T_EQ_INT(commit_init(&c, DID, strlen(DID), &data, "3jzfcijpj2z2a",
	    13), COMMIT_OK);
	T_EQ_INT(commit_encode(&c, &b), COMMIT_ERR_UNSIGNED);
	T_EQ_INT(commit_verify(&c, k), COMMIT_ERR_UNSIGNED);
	T_EQ_INT(commit_sign(&c, k), COMMIT_OK);
	T_EQ_INT(c.siglen, KEY_SIG_LEN);
	T_EQ_INT(commit_encode(&c, &b), COMMIT_OK);
	/* canonical key order: did rev sig data prev version */
	T_EQ_INT(b.data[0], 0xa6);
	T_EQ_MEM(b.data + 1, 4, "\x63" "did", 4);
	T_EQ_INT(commit_parse(&p, b.data, b.len), COMMIT_OK);
	T_EQ_STR(p.did, DID);
	T_EQ_STR(p.rev, "3jzfcijpj2z2a");
	T_EQ_INT(p.version, 3);
	T_EQ_INT(p.has_prev, 0);
	T_OK(cid_equal(&p.data, &data), "data");
	key_did(k, didkey);
	T_EQ_INT(commit_verify_did(&p, didkey, strlen(didkey)), COMMIT_OK);
	T_EQ_INT(commit_verify_did(&p, "did:key:zbad", 12), COMMIT_ERR_KEY);
	T_EQ_INT(key_new_k256(&other), KEY_OK);
	T_EQ_INT(commit_verify(&p, other), COMMIT_ERR_SIG);
	/* re-encoding a parsed commit gives the same bytes */
	T_EQ_INT(commit_encode(&p, &u), COMMIT_OK);
	T_EQ_MEM(u.data, u.len, b.data, b.len);
	T_EQ_INT(commit_cid(&c, &cid1), COMMIT_OK);
	cid_compute(&cid2, CID_CODEC_DAG_CBOR, b.data, b.len);
	T_OK(cid_equal(&cid1, &cid2), "commit_cid");
	/* any changed field breaks the signature */
	p.rev[12] = 'b';
	T_EQ_INT(commit_verify(&p, k), COMMIT_ERR_SIG);
	T_EQ_INT(commit_parse(&p, b.data, b.len), COMMIT_OK);
	p.sig[5] ^= 1;
	T_EQ_INT(commit_verify(&p, k), COMMIT_ERR_SIG);
	key_free(other);
	key_free(k);
	buf_free(&b);
	buf_free(&u);
}

/* A commit map built field by field, for the malformed table. */
static void
raw_commit(struct buf *b, const char *did, const char *rev, size_t siglen,
    int version, int prev_kind, int extra)
{
	struct cid	c;
	uint8_t		sig[80];

	memset(sig, 1, sizeof(sig));
	cid_compute(&c, CID_CODEC_DAG_CBOR, "\xa0", 1);
	cbor_put_map(b, 5 + (prev_kind != 2) + (extra != 0));
	cbor_put_cstr(b, "did");
	cbor_put_cstr(b, did);
	cbor_put_cstr(b, "rev");
	cbor_put_cstr(b, rev);
	cbor_put_cstr(b, "sig");
	cbor_put_bytes(b, sig, siglen);
	cbor_put_cstr(b, "data");
	cbor_put_link(b, &c);
	if (prev_kind == 0) {
		cbor_put_cstr(b, "prev");
		cbor_put_null(b);
	} else if (prev_kind == 1) {
		cbor_put_cstr(b, "prev");
		cbor_put_link(b, &c);
	}
	cbor_put_cstr(b, "version");
	cbor_put_int(b, version);
	if (extra) {
		cbor_put_cstr(b, "zzzzzzzz");
		cbor_put_null(b);
	}
}

static void
test_commit_malformed(void)
{
	static const struct {
		const char	*did, *rev;
		size_t		 siglen;
		int		 version, prev_kind, extra;
		enum commit_err	 want;
	} rows[] = {
		{ DID, "3jzfcijpj2z2a", 64, 3, 0, 0, COMMIT_OK },
		{ DID, "3jzfcijpj2z2a", 64, 3, 1, 0, COMMIT_OK },
		{ DID, "3jzfcijpj2z2a", 64, 3, 2, 0, COMMIT_ERR_FORMAT },
		{ DID, "3jzfcijpj2z2a", 64, 3, 0, 1, COMMIT_ERR_FORMAT },
		{ DID, "3jzfcijpj2z2a", 64, 2, 0, 0, COMMIT_ERR_VERSION },
		{ DID, "3jzfcijpj2z2a", 64, 4, 0, 0, COMMIT_ERR_VERSION },
		{ "did:plc:", "3jzfcijpj2z2a", 64, 3, 0, 0, COMMIT_ERR_DID },
		{ "alice.test", "3jzfcijpj2z2a", 64, 3, 0, 0, COMMIT_ERR_DID },
		{ DID, "3jzfcijpj2z2", 64, 3, 0, 0, COMMIT_ERR_REV },
		{ DID, "zzzzzzzzzzzzz", 64, 3, 0, 0, COMMIT_ERR_REV },
		{ DID, "3jzfcijpj2z2a", 63, 3, 0, 0, COMMIT_ERR_SIG },
		{ DID, "3jzfcijpj2z2a", 71, 3, 0, 0, COMMIT_ERR_SIG },
		{ DID, "3jzfcijpj2z2a", 0, 3, 0, 0, COMMIT_ERR_SIG },
	};
	struct commit	c;
	struct buf	b;
	size_t		i;

	buf_init(&b, 0);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		buf_reset(&b);
		raw_commit(&b, rows[i].did, rows[i].rev, rows[i].siglen,
		    rows[i].version, rows[i].prev_kind, rows[i].extra);
		T_OK(commit_parse(&c, b.data, b.len) == rows[i].want,
		    "row %zu: %s", i, commit_err_str(commit_parse(&c, b.data,
		    b.len)));
	}
	T_EQ_INT(commit_parse(&c, (const uint8_t *)"\xa0", 1),
	    COMMIT_ERR_FORMAT);
	T_EQ_INT(commit_parse(&c, (const uint8_t *)"\xff", 1), COMMIT_ERR_CBOR);
	T_EQ_INT(commit_parse(&c, (const uint8_t *)"", 0), COMMIT_ERR_CBOR);
	/* non-canonical: a good commit with one trailing byte */
	buf_reset(&b);
	raw_commit(&b, DID, "3jzfcijpj2z2a", 64, 3, 0, 0);
	buf_putc(&b, 0);
	T_EQ_INT(commit_parse(&c, b.data, b.len), COMMIT_ERR_CBOR);
	buf_free(&b);
}

static void
test_revs(void)
{
	char		r1[TID_STR_LEN], r2[TID_STR_LEN], far[] = "7zzzzzzzzzzzz";
	struct cid	d;
	struct commit	c;
	int		i;

	T_EQ_INT(commit_next_rev(NULL, 0, r1), COMMIT_OK);
	for (i = 0; i < 100; i++) {
		T_EQ_INT(commit_next_rev(r1, strlen(r1), r2), COMMIT_OK);
		T_OK(strcmp(r2, r1) > 0, "%s !> %s", r2, r1);
		memcpy(r1, r2, sizeof(r1));
	}
	/* a rev far in the future is still exceeded */
	T_EQ_INT(commit_next_rev(far, strlen(far), r2), COMMIT_OK);
	T_OK(strcmp(r2, far) > 0, "%s !> %s", r2, far);
	T_EQ_INT(commit_next_rev("nope", 4, r2), COMMIT_ERR_REV);
	cid_compute(&d, CID_CODEC_DAG_CBOR, "\xa0", 1);
	T_EQ_INT(commit_init(&c, DID, strlen(DID), &d, "nope", 4),
	    COMMIT_ERR_REV);
	T_EQ_INT(commit_init(&c, "x", 1, &d, r1, strlen(r1)), COMMIT_ERR_DID);
}

/* ==== whole commits ===================================================== */

/* Stores a commit's new blocks and drops its removed ones, as the actor
 * store does. */
static void
store_apply(struct blockmap *store, const struct repo_commit *rc)
{
	const struct cid	*c;
	const uint8_t		*p;
	size_t			 i = 0, len;

	while (blockmap_next(&rc->new_blocks, &i, &c, &p, &len))
		T_OK(blockmap_put(store, c, p, len) != -1, "store");
	for (i = 0; i < rc->nremoved; i++)
		blockmap_remove(store, &rc->removed[i]);
}

/* A record block: {"$type": "com.example.x", "n": n}. */
static void
make_record(struct buf *b, int n)
{
	buf_reset(b);
	cbor_put_map(b, 2);
	cbor_put_cstr(b, "n");
	cbor_put_int(b, n);
	cbor_put_cstr(b, "$type");
	cbor_put_cstr(b, "com.example.x");
}

/*
 * The sync v1.1 check a relay makes: from the event CAR alone, load the
 * new tree, undo every op (in reverse order) and reach prevData.
 */
static void
check_inversion(const struct repo_commit *rc)
{
	struct buf		 car;
	struct car_writer	 w;
	struct car_reader	 r;
	struct blockmap		 ev;
	struct mst_source	 src = { blockmap_source_get, &ev };
	struct mst		*t = NULL;
	struct cid		 c, root;
	const uint8_t		*p;
	size_t			 len, i;
	enum car_err		 e;

	buf_init(&car, 0);
	blockmap_init(&ev, 0);
	car_writer_init(&w, car_buf_write, &car);
	T_EQ_INT(repo_commit_car(rc, &w), CAR_OK);
	T_OK(car.len <= LIM_COMMIT_EVENT_BYTES, "event size");
	T_EQ_INT(car_reader_init_mem(&r, car.data, car.len), CAR_OK);
	T_EQ_INT(r.nroots, 1);
	T_OK(cid_equal(&r.roots[0], &rc->cid), "event root");
	while ((e = car_reader_next(&r, &c, &p, &len)) == CAR_OK)
		blockmap_put(&ev, &c, p, len);
	T_EQ_INT(e, CAR_END);
	car_reader_fini(&r);
	T_EQ_INT(mst_load(&src, &rc->data, &t), MST_OK);
	for (i = rc->nops; i-- > 0;) {
		const struct repo_op	*op = &rc->ops[i];
		enum mst_err		 me;

		if (op->action == REPO_CREATE)
			me = mst_delete(t, op->key, op->klen, NULL);
		else if (op->action == REPO_UPDATE)
			me = mst_update(t, op->key, op->klen, &op->prev, NULL);
		else
			me = mst_add(t, op->key, op->klen, &op->prev);
		T_OK(me == MST_OK, "invert op %zu: %s", i, mst_err_str(me));
		/* created and updated records travel in the event */
		if (op->action != REPO_DELETE)
			T_OK(blockmap_has(&ev, &op->cid), "record block");
	}
	T_EQ_INT(mst_root(t, &root), MST_OK);
	T_OK(cid_equal(&root, &rc->prev_data), "inversion reaches prevData");
	mst_free(t);
	blockmap_fini(&ev);
	buf_free(&car);
}

static void
test_repo_writes(void)
{
	struct blockmap		 store;
	struct mst_source	 src = { blockmap_source_get, &store };
	struct repo_commit	 rc;
	struct repo_write	 w[LIM_WRITES_PER_COMMIT + 1];
	struct buf		 recs[LIM_WRITES_PER_COMMIT + 1];
	char			 keys[LIM_WRITES_PER_COMMIT + 1][64];
	struct key		*k = test_key();
	struct cid		 head, rec0;
	char			 since[TID_STR_LEN];
	int			 live[400] = { 0 }, round, i, n, x;
	unsigned		 seed = 5;

	blockmap_init(&store, 0);
	for (i = 0; i <= LIM_WRITES_PER_COMMIT; i++)
		buf_init(&recs[i], 0);
	/* genesis: empty */
	repo_commit_init(&rc);
	T_EQ_INT(repo_create(&src, DID, strlen(DID), k, NULL, 0, &rc),
	    REPO_OK);
	T_EQ_STR(rc.since, "");
	T_EQ_INT(rc.has_prev_data, 0);
	T_EQ_INT(blockmap_count(&rc.new_blocks), 2);	/* node + commit */
	T_EQ_INT(rc.nremoved, 0);
	store_apply(&store, &rc);
	head = rc.cid;
	memcpy(since, rc.rev, sizeof(since));
	repo_commit_fini(&rc);
	for (round = 0; round < 30; round++) {
		n = 1 + rand_r(&seed) % (round % 5 == 4 ? 200 : 8);
		for (i = 0; i < n; i++) {
			/* distinct keys per batch: key index i*? + round */
			x = (rand_r(&seed) % 2 == 0 ? i : 200 + i) % 400;
			snprintf(keys[i], sizeof(keys[i]),
			    "com.example.x/k%03d", x);
			make_record(&recs[i], round * 1000 + i);
			w[i] = (struct repo_write){ live[x] ? (rand_r(&seed) % 2 ?
			    REPO_UPDATE : REPO_DELETE) : REPO_CREATE, keys[i],
			    strlen(keys[i]), recs[i].data, recs[i].len };
			live[x] = w[i].action != REPO_DELETE;
		}
		repo_commit_init(&rc);
		T_EQ_INT(repo_apply_writes(&src, &head, DID, strlen(DID), k,
		    w, (size_t)n, &rc), REPO_OK);
		T_EQ_STR(rc.since, since);
		T_OK(strcmp(rc.rev, since) > 0, "rev grows");
		T_EQ_INT(rc.nops, n);
		T_EQ_INT(rc.has_prev_data, 1);
		for (i = 0; i < n; i++) {
			T_EQ_INT(rc.ops[i].has_prev,
			    w[i].action != REPO_CREATE);
		}
		/* the previous commit is among the removed blocks */
		T_OK(rc.nremoved > 0 &&
		    cid_equal(&rc.removed[rc.nremoved - 1], &head),
		    "old commit removed");
		T_OK(blockmap_has(&rc.new_blocks, &rc.cid) &&
		    blockmap_has(&rc.relevant, &rc.cid), "commit block");
		check_inversion(&rc);
		store_apply(&store, &rc);
		head = rc.cid;
		memcpy(since, rc.rev, sizeof(since));
		repo_commit_fini(&rc);
	}
	/* refusals leave nothing to store */
	snprintf(keys[0], sizeof(keys[0]), "com.example.x/k%03d", 999);
	make_record(&recs[0], 1);
	cid_compute(&rec0, CID_CODEC_DAG_CBOR, recs[0].data, recs[0].len);
	w[0] = (struct repo_write){ REPO_UPDATE, keys[0], strlen(keys[0]),
	    recs[0].data, recs[0].len };
	repo_commit_init(&rc);
	T_EQ_INT(repo_apply_writes(&src, &head, DID, strlen(DID), k, w, 1,
	    &rc), REPO_ERR_NOTFOUND);
	repo_commit_fini(&rc);
	w[0].action = REPO_DELETE;
	T_EQ_INT(repo_apply_writes(&src, &head, DID, strlen(DID), k, w, 1,
	    &rc), REPO_ERR_NOTFOUND);
	repo_commit_fini(&rc);
	w[0].action = REPO_CREATE;
	w[1] = w[0];
	T_EQ_INT(repo_apply_writes(&src, &head, DID, strlen(DID), k, w, 2,
	    &rc), REPO_ERR_EXISTS);
	repo_commit_fini(&rc);
	w[0].key = "com.example.x/a/b";
	w[0].klen = strlen(w[0].key);
	T_EQ_INT(repo_apply_writes(&src, &head, DID, strlen(DID), k, w, 1,
	    &rc), REPO_ERR_KEY);
	repo_commit_fini(&rc);
	T_EQ_INT(repo_apply_writes(&src, &head, DID, strlen(DID), k, w,
	    LIM_WRITES_PER_COMMIT + 1, &rc), REPO_ERR_TOO_MANY);
	repo_commit_fini(&rc);
	T_EQ_INT(repo_apply_writes(&src, &head, "did:plc:other", 13, k, w, 1,
	    &rc), REPO_ERR_COMMIT);
	repo_commit_fini(&rc);
	T_EQ_INT(repo_apply_writes(&src, &rec0, DID, strlen(DID), k, w, 1,
	    &rc), REPO_ERR_COMMIT);
	repo_commit_fini(&rc);
	w[0].action = REPO_UPDATE;
	T_EQ_INT(repo_create(&src, DID, strlen(DID), k, w, 1, &rc),
	    REPO_ERR_RECORD);
	repo_commit_fini(&rc);
	T_EQ_STR(repo_err_str(REPO_ERR_TOO_MANY), "Too many writes. Max: 200");
	for (i = 0; i <= LIM_WRITES_PER_COMMIT; i++)
		buf_free(&recs[i]);
	blockmap_fini(&store);
	key_free(k);
}

/* A repository CAR exported from the store verifies; a tampered one
 * does not. */
static void
test_verify_car(void)
{
	struct blockmap		 store, got;
	struct mst_source	 src = { blockmap_source_get, &store };
	struct repo_commit	 rc;
	struct repo_write	 w[50];
	struct buf		 recs[50], car;
	struct repo_verified	 v;
	struct car_writer	 cw;
	struct key		*k = test_key();
	char			 keys[50][64], didkey[KEY_DID_LEN];
	const struct cid	*c;
	const uint8_t		*p;
	size_t			 i, len;
	enum car_err		 ce;

	blockmap_init(&store, 0);
	buf_init(&car, 0);
	for (i = 0; i < 50; i++) {
		buf_init(&recs[i], 0);
		make_record(&recs[i], (int)i);
		snprintf(keys[i], sizeof(keys[i]), "app.bsky.feed.post/3k%05zu",
		    i);
		w[i] = (struct repo_write){ REPO_CREATE, keys[i],
		    strlen(keys[i]), recs[i].data, recs[i].len };
	}
	repo_commit_init(&rc);
	T_EQ_INT(repo_create(&src, DID, strlen(DID), k, w, 50, &rc), REPO_OK);
	store_apply(&store, &rc);
	car_writer_init(&cw, car_buf_write, &car);
	T_EQ_INT(car_write_header(&cw, &rc.cid, 1), CAR_OK);
	for (i = 0; blockmap_next(&store, &i, &c, &p, &len);)
		T_EQ_INT(car_write_block(&cw, c, p, len), CAR_OK);
	key_did(k, didkey);
	blockmap_init(&got, 0);
	T_EQ_INT(repo_verify_car(car.data, car.len, DID, didkey, &got, &v,
	    &ce), REPO_OK);
	T_EQ_INT(v.records, 50);
	T_OK(v.nodes >= 1, "nodes");
	T_EQ_INT(v.blocks, blockmap_count(&store));
	blockmap_fini(&got);
	/* wrong DID, wrong key, a missing record, a bad CAR */
	blockmap_init(&got, 0);
	T_EQ_INT(repo_verify_car(car.data, car.len, "did:plc:x", didkey, &got,
	    &v, &ce), REPO_ERR_COMMIT);
	blockmap_fini(&got);
	blockmap_init(&got, 0);
	T_EQ_INT(repo_verify_car(car.data, car.len, DID,
	    "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme", &got,
	    &v, &ce), REPO_ERR_SIG);
	blockmap_fini(&got);
	buf_reset(&car);
	car_writer_init(&cw, car_buf_write, &car);
	T_EQ_INT(car_write_header(&cw, &rc.cid, 1), CAR_OK);
	for (i = 0; blockmap_next(&store, &i, &c, &p, &len);) {
		if (cid_codec(c) == CID_CODEC_DAG_CBOR && len == recs[7].len &&
		    memcmp(p, recs[7].data, len) == 0)
			continue;
		T_EQ_INT(car_write_block(&cw, c, p, len), CAR_OK);
	}
	blockmap_init(&got, 0);
	T_EQ_INT(repo_verify_car(car.data, car.len, DID, didkey, &got, &v,
	    &ce), REPO_ERR_RECORD);
	blockmap_fini(&got);
	blockmap_init(&got, 0);
	T_EQ_INT(repo_verify_car(car.data, car.len - 1, DID, didkey, &got, &v,
	    &ce), REPO_ERR_CAR);
	T_EQ_INT(ce, CAR_ERR_TRUNCATED);
	blockmap_fini(&got);
	repo_commit_fini(&rc);
	for (i = 0; i < 50; i++)
		buf_free(&recs[i]);
	buf_free(&car);
	blockmap_fini(&store);
	key_free(k);
}

int
main(void)
{
	test_commit_roundtrip();
	test_commit_malformed();
	test_revs();
	test_repo_writes();
	test_verify_car();
	return t_done("commit");
}
