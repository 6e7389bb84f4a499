/*
 * test_actorstore.c: the actor store, the write pipeline, blobs, record
 * preparation, Lexicon validation and MIME sniffing, on real SQLite files
 * in a scratch directory:
 *   - paths (<root>/<hh>/<did>) and refused DIDs;
 *   - actorstore_create(): key file, schema ('001'), genesis commit signed
 *     with the key over the empty MST, and its #commit / #sync bodies;
 *   - the cache (eviction, a destroyed store noticed);
 *   - repowrite_apply(): creates, updates, deletes, swaps, put no-ops,
 *     backlinks and their deduplication, 200 writes, the 2 MB event
 *     limit, blobs from temp to permanent to deleted, #commit rows in
 *     repo_seq (one per commit), pending events recovered once;
 *   - prepare_write(): $type rules, validation statuses (through
 *     fcgi/core/lexicon.h), legacy blobs;
 *   - mime_sniff() and mime_validate().
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "actorread.h"
#include "actorstore.h"
#include "blobstore.h"
#include "car.h"
#include "cbor.h"
#include "cbor_json.h"
#include "config.h"
#include "db.h"
#include "enc.h"
#include "log.h"
#include "mimesniff.h"
#include "prepare.h"
#include "repowrite.h"
#include "storectx.h"
#include "t.h"

static char	tmpdir[256];

static void
rm_rf(const char *p)
{
	char	cmd[512];

	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", p);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", p);
}

/* did's #commit rows in sequencer.sqlite, read on a connection of our
 * own (so only committed rows count). */
static int64_t
seq_count(struct storectx *ctx, const char *did)
{
	const char	*v[1] = { did };
	struct db	*db = NULL;
	sqlite3_stmt	*st;
	int64_t		 n = -1;

	if (db_open(ctx->cfg->sequencer_db, DB_READONLY | DB_NOCREATE,
	    &db) == -1)
		return -1;
	if (db_query_strs(db, "SELECT count(*) FROM repo_seq WHERE did = ?1 "
	    "AND eventType = 'append'", v, 1, &st) == 1)
		n = sqlite3_column_int64(st, 0);
	db_stmt_done(st);
	db_close(db);
	return n;
}

/* ==== paths ============================================================== */

static void
test_paths(void)
{
	char	out[512], want[512], hh[3];
	uint8_t	dg[32];

	T_EQ_INT(actorstore_dir_path("/r", "did:plc:abc", out, sizeof(out)), 0);
	T_EQ_INT(cid_sha256("did:plc:abc", 11, dg), 0);
	(void)enc_hex_encode(dg, 1, hh);
	hh[2] = '\0';
	(void)snprintf(want, sizeof(want), "/r/%s/did:plc:abc", hh);
	T_EQ_STR(out, want);
	T_EQ_INT(actorstore_dir_path("/r", "did:plc:a/b", out, sizeof(out)), -1);
	T_EQ_INT(actorstore_dir_path("/r", "../etc", out, sizeof(out)), -1);
	T_EQ_INT(actorstore_dir_path("/r", "", out, sizeof(out)), -1);
	T_EQ_INT(actorstore_dir_path("/r", "did:plc:abc", out, 10), -1);
}

/* ==== creation ============================================================ */

/* The #commit and #sync bodies of a genesis commit. */
static void
check_genesis_events(const char *did, const struct actorstore_genesis *g)
{
	struct arena		 a;
	struct cbor_val		*ev, *v;
	struct car_reader	 r;
	struct cid		 c;
	const uint8_t		*p;
	size_t			 len;

	arena_init(&a);
	T_EQ_INT(cbor_decode(&a, g->commit_evt.data, g->commit_evt.len, &ev),
	    CBOR_OK);
	T_EQ_INT(ev->u.m.n, 9);
	T_OK((v = cbor_map_get(ev, "since")) != NULL && v->type == CBOR_NULL,
	    "since null");
	T_OK(cbor_map_get(ev, "prevData") == NULL, "no prevData");
	T_OK((v = cbor_map_get(ev, "ops")) != NULL && v->type == CBOR_ARRAY &&
	    v->u.a.n == 0, "ops []");
	T_OK((v = cbor_map_get(ev, "repo")) != NULL && v->u.s.len ==
	    strlen(did), "repo");
	T_OK((v = cbor_map_get(ev, "commit")) != NULL && v->type == CBOR_LINK &&
	    cid_equal(&v->u.link, &g->cid), "commit link");
	T_OK((v = cbor_map_get(ev, "blocks")) != NULL && v->type == CBOR_BYTES,
	    "blocks");
	T_EQ_INT(car_reader_init_mem(&r, v->u.s.p, v->u.s.len), CAR_OK);
	T_OK(r.nroots == 1 && cid_equal(&r.roots[0], &g->cid), "CAR root");
	T_EQ_INT(car_reader_next(&r, &c, &p, &len), CAR_OK);
	car_reader_fini(&r);
	T_EQ_INT(cbor_decode(&a, g->sync_evt.data, g->sync_evt.len, &ev),
	    CBOR_OK);
	T_EQ_INT(ev->u.m.n, 3);
	T_OK((v = cbor_map_get(ev, "rev")) != NULL && v->u.s.len == 13 &&
	    memcmp(v->u.s.p, g->rev, 13) == 0, "sync rev");
	v = cbor_map_get(ev, "blocks");
	T_OK(v != NULL && v->type == CBOR_BYTES, "sync blocks");
	if (v != NULL) {
		T_EQ_INT(car_reader_init_mem(&r, v->u.s.p, v->u.s.len), CAR_OK);
		T_EQ_INT(car_reader_next(&r, &c, &p, &len), CAR_OK);
		T_OK(cid_equal(&c, &g->cid), "the one block is the commit");
		T_EQ_INT(car_reader_next(&r, &c, &p, &len), CAR_END);
		car_reader_fini(&r);
	}
	arena_free(&a);
}

/* The stored genesis commit: signed by k over the empty MST. */
static void
check_genesis_store(struct actorstore *s, const struct key *k,
    const struct actorstore_genesis *g)
{
	struct actorstore_root	 root;
	struct commit		 c;
	struct buf		 b, node;
	struct cid		 empty;

	buf_init(&b, 0);
	buf_init(&node, 0);
	T_EQ_INT(actorstore_root_get(s, &root), 1);
	T_OK(cid_equal(&root.cid, &g->cid), "repo_root is the genesis");
	T_EQ_STR(root.rev, g->rev);
	T_EQ_INT(actorstore_block_get(s, &root.cid, &b), 1);
	T_EQ_INT(commit_parse(&c, b.data, b.len), COMMIT_OK);
	T_EQ_INT(commit_verify(&c, k), COMMIT_OK);
	T_EQ_STR(c.did, actorstore_did(s));
	/* {e: [], l: null} */
	T_EQ_INT(cbor_put_map(&node, 2), 0);
	T_EQ_INT(cbor_put_cstr(&node, "e"), 0);
	T_EQ_INT(cbor_put_array(&node, 0), 0);
	T_EQ_INT(cbor_put_cstr(&node, "l"), 0);
	T_EQ_INT(cbor_put_null(&node), 0);
	T_EQ_INT(cid_compute(&empty, CID_CODEC_DAG_CBOR, node.data, node.len), 0);
	T_OK(cid_equal(&c.data, &empty), "data is the empty MST");
	T_EQ_INT(actorstore_block_get(s, &empty, &b), 1);
	T_EQ_MEM(b.data, b.len, node.data, node.len);
	buf_free(&b);
	buf_free(&node);
}

static void
check_key_file(const char *root, const char *did, const struct key *k)
{
	char		dir[512], path[600];
	uint8_t		want[KEY_PRIV_LEN], got[64];
	struct stat	sb;
	int		fd;
	ssize_t		n = -1;

	T_EQ_INT(actorstore_dir_path(root, did, dir, sizeof(dir)), 0);
	(void)snprintf(path, sizeof(path), "%s/key", dir);
	T_EQ_INT(stat(path, &sb), 0);
	T_EQ_INT(sb.st_mode & 0777, 0600);
	if ((fd = open(path, O_RDONLY)) != -1) {
		n = read(fd, got, sizeof(got));
		close(fd);
	}
	T_EQ_INT(key_priv_get(k, want), KEY_OK);
	T_EQ_MEM(got, n > 0 ? (size_t)n : 0, want, sizeof(want));
}

static void
test_create(const char *root)
{
	struct actorstore_genesis	 g;
	struct actorstore_cache		*c = NULL;
	struct actorstore		*s = NULL;
	struct key			*k = NULL;
	const struct key		*sk;
	const char			*did = "did:plc:createtest000000000000";
	sqlite3_stmt			*st;

	T_EQ_INT(key_new_k256(&k), KEY_OK);
	actorstore_genesis_init(&g);
	T_EQ_INT(actorstore_create(root, did, k, 0, &g), 0);
	check_genesis_events(did, &g);
	T_EQ_INT(actorstore_create(root, did, k, 0, &g), 1);
	T_EQ_INT(actorstore_create(root, "not a did", k, 0, &g), -1);
	check_key_file(root, did, k);
	T_EQ_INT(actorstore_cache_new(root, 4, 0, &c), 0);
	T_EQ_INT(actorstore_get(c, did, &s), 1);
	if (s != NULL) {
		check_genesis_store(s, k, &g);
		T_EQ_INT(actorstore_key(s, &sk), 0);
		T_OK(key_pub_equal(sk, k), "key file loads as the same key");
		st = db_stmt_get(actorstore_db(s), "SELECT group_concat(name) "
		    "FROM kysely_migration");
		T_OK(st != NULL && db_step(actorstore_db(s), st) == 1 &&
		    strcmp((const char *)sqlite3_column_text(st, 0), "001") == 0,
		    "migration 001");
		db_stmt_done(st);
		T_EQ_INT(db_table_exists(actorstore_db(s), "account_pref"), 1);
		T_EQ_INT(db_table_exists(actorstore_db(s), "seq_pending"), 1);
	}
	actorstore_cache_free(c);
	actorstore_genesis_fini(&g);
	key_free(k);
}

static void
test_cache(const char *root)
{
	static const char *const dids[] = { "did:plc:cache1", "did:plc:cache2",
	    "did:plc:cache3" };
	struct actorstore_genesis	 g;
	struct actorstore_cache		*c = NULL;
	struct actorstore		*s;
	struct key			*k = NULL;
	size_t				 i, round;

	T_EQ_INT(key_new_k256(&k), KEY_OK);
	for (i = 0; i < 3; i++) {
		actorstore_genesis_init(&g);
		T_EQ_INT(actorstore_create(root, dids[i], k, 0, &g), 0);
		actorstore_genesis_fini(&g);
	}
	T_EQ_INT(actorstore_cache_new(root, 2, 0, &c), 0);
	for (round = 0; round < 3; round++)
		for (i = 0; i < 3; i++) {
			T_EQ_INT(actorstore_get(c, dids[i], &s), 1);
			T_EQ_STR(actorstore_did(s), dids[i]);
		}
	T_EQ_INT(actorstore_get(c, "did:plc:nothere", &s), 0);
	T_EQ_INT(actorstore_get(c, "garbage", &s), 0);
	T_EQ_INT(actorstore_destroy(root, dids[2]), 0);
	T_EQ_INT(actorstore_get(c, dids[2], &s), 0);
	T_EQ_INT(actorstore_destroy(root, dids[2]), 0);
	actorstore_cache_free(c);
	key_free(k);
}

/* ==== writes ============================================================== */

struct wctx {
	struct storectx		 ctx;
	struct pds_config	*cfg;
	struct arena		 a;
	struct actorstore	*s;
	const char		*did;
};

/* A create or update of collection/rkey with the record JSON. */
static int
wprep(struct wctx *w, enum repo_action action, const char *coll,
    const char *rkey, const char *json, struct rw_write *out)
{
	struct prep_in	 in;
	json_error_t	 jerr;
	json_t		*j = json_loads(json, 0, &jerr);
	char		 msg[LIM_ERR_MSG];
	int		 rc;

	memset(&in, 0, sizeof(in));
	in.did = w->did;
	in.collection = coll;
	in.rkey = rkey;
	in.record = j;
	in.action = action;
	rc = prepare_write(&w->a, &in, out, msg, sizeof(msg));
	if (rc == -1)
		fprintf(stderr, "prepare: %s\n", msg);
	json_decref(j);
	return rc;
}

static int
wapply(struct wctx *w, struct rw_write *wr, size_t n,
    const struct cid *swap, unsigned flags, struct rw_result *r,
    struct rw_error *e)
{
	return repowrite_apply(&w->ctx, w->s, &w->a, wr, n, swap, flags, r, e);
}

static int
record_cid(struct wctx *w, const char *uri, char *cs)
{
	sqlite3_stmt	*st;
	int		 rc;

	st = db_stmt_get(actorstore_db(w->s), "SELECT cid FROM record WHERE "
	    "uri = ?1");
	if (st == NULL || sqlite3_bind_text(st, 1, uri, -1, SQLITE_STATIC) !=
	    SQLITE_OK) {
		db_stmt_done(st);
		return -1;
	}
	if ((rc = db_step(actorstore_db(w->s), st)) == 1)
		(void)snprintf(cs, CID_STR_LEN, "%s", sqlite3_column_text(st, 0));
	db_stmt_done(st);
	return rc;
}

static int64_t
count_rows(struct wctx *w, const char *sql)
{
	sqlite3_stmt	*st = db_stmt_get(actorstore_db(w->s), sql);
	int64_t		 n = -1;

	if (st != NULL && db_step(actorstore_db(w->s), st) == 1)
		n = sqlite3_column_int64(st, 0);
	db_stmt_done(st);
	return n;
}

static void
test_writes_basic(struct wctx *w)
{
	struct actorstore_root	 r0, r1;
	struct rw_write		 wr[3];
	struct rw_result	 res;
	struct rw_error		 err;
	struct cid		 bogus;
	char			 cs[CID_STR_LEN];
	int64_t			 events;

	T_EQ_INT(actorstore_root_get(w->s, &r0), 1);
	events = seq_count(&w->ctx, w->did);
	T_EQ_INT(wprep(w, REPO_CREATE, "app.bsky.feed.post", "3jzfcijpj2z2a",
	    "{\"text\":\"one\",\"createdAt\":\"2024-01-01T00:00:00Z\"}",
	    &wr[0]), 0);
	T_EQ_STR(wr[0].validation, "valid");
	T_EQ_INT(wprep(w, REPO_CREATE, "com.example.thing", "k1", "{\"a\":1}",
	    &wr[1]), 0);
	T_EQ_STR(wr[1].validation, "unknown");
	T_EQ_INT(wprep(w, REPO_CREATE, "app.bsky.graph.follow", "3jzfcijpj2z2b",
	    "{\"subject\":\"did:plc:friend\",\"createdAt\":"
	    "\"2024-01-01T00:00:00Z\"}", &wr[2]), 0);
	T_EQ_STR(wr[2].bl_path, "subject");
	T_EQ_INT(wapply(w, wr, 3, NULL, 0, &res, &err), 0);
	T_EQ_INT(actorstore_root_get(w->s, &r1), 1);
	T_OK(strcmp(r1.rev, r0.rev) > 0, "rev grows");
	T_OK(cid_equal(&r1.cid, &res.cid), "root is the new commit");
	T_EQ_INT(seq_count(&w->ctx, w->did), events + 1);
	T_EQ_INT(count_rows(w, "SELECT count(*) FROM seq_pending"), 0);
	T_EQ_INT(record_cid(w, wr[1].uri, cs), 1);
	T_EQ_INT(count_rows(w, "SELECT count(*) FROM backlink WHERE path = "
	    "'subject' AND linkTo = 'did:plc:friend'"), 1);
	/* swapCommit mismatch: nothing changes */
	T_EQ_INT(wprep(w, REPO_UPDATE, "com.example.thing", "k1", "{\"a\":2}",
	    &wr[0]), 0);
	bogus = r0.cid;
	T_EQ_INT(wapply(w, wr, 1, &bogus, 0, &res, &err), -1);
	T_EQ_INT(err.status, 400);
	T_EQ_STR(err.name, "InvalidSwap");
	T_EQ_INT(actorstore_root_get(w->s, &r0), 1);
	T_OK(cid_equal(&r0.cid, &r1.cid), "unchanged after a bad swap");
	/* swapRecord null on an existing record */
	wr[0].swap = RW_SWAP_NULL;
	T_EQ_INT(wapply(w, wr, 1, NULL, 0, &res, &err), -1);
	T_EQ_STR(err.name, "InvalidSwap");
	T_OK(strncmp(err.msg, "Record was at b", 15) == 0, "%s", err.msg);
	/* the update, then a put of the same record is a no-op */
	wr[0].swap = RW_SWAP_NONE;
	T_EQ_INT(wapply(w, wr, 1, &r1.cid, 0, &res, &err), 0);
	T_EQ_INT(res.noop, 0);
	T_EQ_INT(wprep(w, REPO_CREATE, "com.example.thing", "k1", "{\"a\":2}",
	    &wr[0]), 0);
	T_EQ_INT(wapply(w, wr, 1, NULL, RW_F_PUT, &res, &err), 0);
	T_EQ_INT(res.noop, 1);
	T_EQ_INT(wr[0].action, REPO_UPDATE);
	/* deletes: present, then absent (no commit) */
	T_EQ_INT(prepare_delete(&w->a, w->did, "com.example.thing", "k1",
	    RW_SWAP_NONE, NULL, &wr[0]), 0);
	T_EQ_INT(wapply(w, wr, 1, NULL, RW_F_DELETE_PRESENT, &res, &err), 0);
	T_EQ_INT(res.noop, 0);
	T_EQ_INT(record_cid(w, wr[0].uri, cs), 0);
	T_EQ_INT(wapply(w, wr, 1, NULL, RW_F_DELETE_PRESENT, &res, &err), 0);
	T_EQ_INT(res.noop, 1);
	/* an update of a missing record is the reference's 500 */
	T_EQ_INT(wprep(w, REPO_UPDATE, "com.example.thing", "gone", "{}",
	    &wr[0]), 0);
	T_EQ_INT(wapply(w, wr, 1, NULL, 0, &res, &err), -1);
	T_EQ_INT(err.status, 500);
}

static void
test_writes_limits(struct wctx *w)
{
	struct actorstore_root	 r0, r1;
	struct rw_write		*wr;
	struct rw_result	 res;
	struct rw_error		 err;
	char			 rkey[32], *big;
	size_t			 i;

	T_EQ_INT(actorstore_root_get(w->s, &r0), 1);
	wr = calloc(201, sizeof(*wr));
	big = malloc(11000 + 64);
	T_OK(wr != NULL && big != NULL, "alloc");
	if (wr == NULL || big == NULL)
		goto out;
	memcpy(big, "{\"s\":\"", 6);
	memset(big + 6, 'x', 11000);
	memcpy(big + 6 + 11000, "\"}", 3);
	for (i = 0; i < 201; i++) {
		(void)snprintf(rkey, sizeof(rkey), "big%zu", i);
		memcpy(big + 6, rkey, strlen(rkey));	/* distinct records */
		T_EQ_INT(wprep(w, REPO_CREATE, "com.example.big", rkey, big,
		    &wr[i]), 0);
	}
	T_EQ_INT(wapply(w, wr, 201, NULL, 0, &res, &err), -1);
	T_EQ_STR(err.msg, "Too many writes. Max: 200");
	T_EQ_INT(wapply(w, wr, 200, NULL, 0, &res, &err), -1);
	T_EQ_INT(err.status, 400);
	T_EQ_STR(err.msg, "Too many writes. Max event size: 2MB");
	T_EQ_INT(actorstore_root_get(w->s, &r1), 1);
	T_OK(cid_equal(&r0.cid, &r1.cid), "nothing written");
	T_EQ_INT(count_rows(w, "SELECT count(*) FROM record WHERE collection "
	    "= 'com.example.big'"), 0);
	/* 150 of them fit */
	T_EQ_INT(wapply(w, wr, 150, NULL, 0, &res, &err), 0);
	T_EQ_INT(count_rows(w, "SELECT count(*) FROM record WHERE collection "
	    "= 'com.example.big'"), 150);
out:
	free(wr);
	free(big);
}

static void
test_backlink_dedup(struct wctx *w)
{
	struct rw_write		wr;
	struct rw_result	res;
	struct rw_error		err;
	const char		*rec = "{\"subject\":\"did:plc:dup\",\"createdAt\":"
				    "\"2024-01-01T00:00:00Z\"}";

	T_EQ_INT(wprep(w, REPO_CREATE, "app.bsky.graph.follow", NULL, rec,
	    &wr), 0);
	T_EQ_INT(wapply(w, &wr, 1, NULL, RW_F_BACKLINK_DEDUP, &res, &err), 0);
	T_EQ_INT(wprep(w, REPO_CREATE, "app.bsky.graph.follow", NULL, rec,
	    &wr), 0);
	T_EQ_INT(wapply(w, &wr, 1, NULL, RW_F_BACKLINK_DEDUP, &res, &err), 0);
	T_EQ_INT(count_rows(w, "SELECT count(*) FROM backlink WHERE linkTo = "
	    "'did:plc:dup'"), 1);
	T_EQ_INT(wprep(w, REPO_CREATE, "app.bsky.graph.follow", NULL, rec,
	    &wr), 0);
	T_EQ_INT(wapply(w, &wr, 1, NULL, 0, &res, &err), 0);
	T_EQ_INT(count_rows(w, "SELECT count(*) FROM backlink WHERE linkTo = "
	    "'did:plc:dup'"), 2);
}

static int
blob_temp_cb(void *arg, const struct ar_blob *b)
{
	*(int *)arg = b->temp;
	return 1;
}

static void
test_blobs(struct wctx *w)
{
	static const uint8_t	 pngsig[] = { 0x89, 'P', 'N', 'G', '\r', '\n',
				    0x1a, '\n', 0, 0, 0, 0 };
	struct blobstore_upload	 u;
	struct rw_write		 wr;
	struct rw_result	 res;
	struct rw_error		 err;
	struct cid		 cid;
	uint64_t		 size = 0;
	char			 cs[CID_STR_LEN], json[512], abs[600];
	const char		*mime;
	int			 temp = -1;

	T_OK(w->ctx.have_blobs, "blob store configured");
	T_EQ_INT(blobstore_upload_open(&w->ctx.blobs, w->did, &u), 0);
	T_EQ_INT(blobstore_upload_write(&u, pngsig, sizeof(pngsig)), 0);
	T_EQ_INT(blobstore_upload_write(&u, "rest", 4), 0);
	T_EQ_INT(blobstore_upload_finish(&u, &cid, &size), 0);
	T_EQ_INT(size, sizeof(pngsig) + 4);
	T_EQ_INT(cid_codec(&cid), CID_CODEC_RAW);
	mime = mime_sniff(u.head, u.headlen);
	T_EQ_STR(mime, "image/png");
	T_EQ_INT(ar_blob_track(w->s, &cid, mime, size, u.key), 0);
	cid_format(&cid, cs);
	T_EQ_INT(ar_blob_get(w->s, cs, blob_temp_cb, &temp), 1);
	T_EQ_INT(temp, 1);
	/* a record with the wrong MIME type is refused */
	(void)snprintf(json, sizeof(json), "{\"img\":{\"$type\":\"blob\",\"ref\":"
	    "{\"$link\":\"%s\"},\"mimeType\":\"image/jpeg\",\"size\":%llu}}", cs,
	    (unsigned long long)size);
	T_EQ_INT(wprep(w, REPO_CREATE, "com.example.pic", "p1", json, &wr), 0);
	T_EQ_INT(wr.nblobs, 1);
	T_EQ_INT(wapply(w, &wr, 1, NULL, 0, &res, &err), -1);
	T_EQ_STR(err.name, "InvalidMimeType");
	/* the right one makes it permanent */
	(void)snprintf(json, sizeof(json), "{\"img\":{\"$type\":\"blob\",\"ref\":"
	    "{\"$link\":\"%s\"},\"mimeType\":\"image/png\",\"size\":%llu}}", cs,
	    (unsigned long long)size);
	T_EQ_INT(wprep(w, REPO_CREATE, "com.example.pic", "p1", json, &wr), 0);
	T_EQ_INT(wapply(w, &wr, 1, NULL, 0, &res, &err), 0);
	T_EQ_INT(ar_blob_get(w->s, cs, blob_temp_cb, &temp), 1);
	T_EQ_INT(temp, 0);
	T_EQ_INT(blobstore_path(&w->ctx.blobs, w->did, &cid, abs, sizeof(abs),
	    NULL, 0), 0);
	T_EQ_INT(access(abs, F_OK), 0);
	/* deleting the only record deletes the blob, row and file */
	T_EQ_INT(prepare_delete(&w->a, w->did, "com.example.pic", "p1",
	    RW_SWAP_NONE, NULL, &wr), 0);
	T_EQ_INT(wapply(w, &wr, 1, NULL, 0, &res, &err), 0);
	T_EQ_INT(ar_blob_get(w->s, cs, blob_temp_cb, &temp), 0);
	T_EQ_INT(access(abs, F_OK), -1);
	/* an unknown blob */
	T_EQ_INT(wprep(w, REPO_CREATE, "com.example.pic", "p2", json, &wr), 0);
	T_EQ_INT(wapply(w, &wr, 1, NULL, 0, &res, &err), -1);
	T_EQ_STR(err.name, "BlobNotFound");
}

/* A pending row left by a process that died, recovered exactly once. */
static void
test_recovery(struct wctx *w)
{
	struct buf	 ev;
	sqlite3_stmt	*st;
	char		 marker[700];
	int64_t		 n0;
	int		 fd;

	buf_init(&ev, 0);
	n0 = seq_count(&w->ctx, w->did);
	/* an event whose rev is already sequenced is only dropped */
	T_EQ_INT(cbor_put_map(&ev, 1), 0);
	T_EQ_INT(cbor_put_cstr(&ev, "rev"), 0);
	T_EQ_INT(cbor_put_cstr(&ev, "2222222222222"), 0);
	st = db_stmt_get(actorstore_db(w->s), "INSERT INTO seq_pending (rev, "
	    "event) VALUES (?1, ?2)");
	T_OK(st != NULL && sqlite3_bind_text(st, 1, "2222222222222", -1,
	    SQLITE_STATIC) == SQLITE_OK && sqlite3_bind_blob(st, 2, ev.data,
	    (int)ev.len, SQLITE_STATIC) == SQLITE_OK &&
	    db_step(actorstore_db(w->s), st) == 0, "pending insert");
	db_stmt_done(st);
	/* and one after the last */
	buf_reset(&ev);
	T_EQ_INT(cbor_put_map(&ev, 1), 0);
	T_EQ_INT(cbor_put_cstr(&ev, "rev"), 0);
	T_EQ_INT(cbor_put_cstr(&ev, "7777777777777"), 0);
	st = db_stmt_get(actorstore_db(w->s), "INSERT INTO seq_pending (rev, "
	    "event) VALUES (?1, ?2)");
	T_OK(st != NULL && sqlite3_bind_text(st, 1, "7777777777777", -1,
	    SQLITE_STATIC) == SQLITE_OK && sqlite3_bind_blob(st, 2, ev.data,
	    (int)ev.len, SQLITE_STATIC) == SQLITE_OK &&
	    db_step(actorstore_db(w->s), st) == 0, "pending insert");
	db_stmt_done(st);
	(void)snprintf(marker, sizeof(marker), "%s/%s", w->ctx.pending_dir,
	    w->did);
	fd = open(marker, O_WRONLY | O_CREAT, 0600);
	T_OK(fd != -1, "marker");
	if (fd != -1)
		close(fd);
	T_EQ_INT(repowrite_recover(&w->ctx), 1);
	T_EQ_INT(seq_count(&w->ctx, w->did), n0 + 1);
	T_EQ_INT(count_rows(w, "SELECT count(*) FROM seq_pending"), 0);
	T_EQ_INT(access(marker, F_OK), -1);
	T_EQ_INT(repowrite_recover(&w->ctx), 0);
	T_EQ_INT(seq_count(&w->ctx, w->did), n0 + 1);
	buf_free(&ev);
}

static void
test_writes(const char *dir)
{
	struct actorstore_genesis	 g;
	struct wctx			 w;
	struct key			*k = NULL;
	char				 e1[600], e2[600], err[256], data[600];
	char				*envp[4];

	memset(&w, 0, sizeof(w));
	(void)snprintf(e1, sizeof(e1), "PDS_DATA_DIRECTORY=%s/data", dir);
	(void)snprintf(e2, sizeof(e2), "PDS_BLOBSTORE_DISK_LOCATION=%s/blocks",
	    dir);
	envp[0] = e1;
	envp[1] = e2;
	envp[2] = "PDS_HOSTNAME=localhost";
	envp[3] = NULL;
	(void)snprintf(data, sizeof(data), "%s/data", dir);
	(void)mkdir(data, 0700);
	if (config_load_env(envp, NULL, CONFIG_NO_SECRETS, &w.cfg, err,
	    sizeof(err)) == -1) {
		T_OK(0, "config: %s", err);
		return;
	}
	T_EQ_INT(storectx_init(&w.ctx, w.cfg, NULL), 0);
	arena_init(&w.a);
	w.did = "did:plc:writetest0000000000000";
	T_EQ_INT(key_new_k256(&k), KEY_OK);
	actorstore_genesis_init(&g);
	T_EQ_INT(actorstore_create(w.cfg->actor_store_dir, w.did, k, 0, &g), 0);
	actorstore_genesis_fini(&g);
	T_EQ_INT(actorstore_get(w.ctx.actors, w.did, &w.s), 1);
	if (w.s != NULL) {
		test_writes_basic(&w);
		test_writes_limits(&w);
		test_backlink_dedup(&w);
		test_blobs(&w);
		test_recovery(&w);
	}
	key_free(k);
	arena_free(&w.a);
	storectx_fini(&w.ctx);
	config_free(w.cfg);
}

/* ==== prepare ================================================================ */

static void
test_prepare(void)
{
	struct wctx	w;
	struct rw_write	wr;
	struct prep_in	in;
	char		msg[LIM_ERR_MSG];
	json_t		*j;
	int		i;
	static const struct {
		const char	*coll, *rkey, *json;
		int		 validate;	/* enum prep_validate */
		int		 ok;
		const char	*msg;
	} cases[] = {
		{ "com.example.a", NULL, "{\"x\":1}", 0, 1, NULL },
		{ "com.example.a", NULL, "{\"$type\":\"com.example.b\"}", 0, 0,
		  "Invalid $type: expected com.example.a, got com.example.b" },
		{ "com.example.a", NULL, "{\"$type\":\"com.example.b\"}", 2, 1,
		  NULL },
		{ "com.example.a", NULL, "{\"x\":1}", 1, 0,
		  "Unknown lexicon type: com.example.a" },
		{ "com.example.a", NULL, "{\"x\":1.5}", 0, 0, "Bad record" },
		{ "com.example.a", NULL, "{\"x\":{\"$link\":\"bad\"}}", 0, 0,
		  "Bad record" },
		{ "com.example.a", NULL, "{\"a\":[{\"cid\":\"x\",\"mimeType\":"
		  "\"y\"}]}", 2, 0, "Legacy blob ref at 'a/0'" },
		{ "app.bsky.feed.like", NULL, "{\"createdAt\":"
		  "\"2024-01-01T00:00:00Z\"}", 0, 0,
		  "Invalid app.bsky.feed.like record: " },
		{ "app.bsky.actor.profile", "self", "{\"displayName\":\"x\"}", 0,
		  1, NULL },
		{ "app.bsky.actor.profile", "me", "{\"displayName\":\"x\"}", 0, 0,
		  NULL },
		{ "app.bsky.feed.post", NULL, "{\"text\":\"x\",\"createdAt\":"
		  "\"2024-13-01T00:00:00Z\"}", 0, 0, NULL },
	};

	memset(&w, 0, sizeof(w));
	arena_init(&w.a);
	for (i = 0; i < (int)(sizeof(cases) / sizeof(cases[0])); i++) {
		memset(&in, 0, sizeof(in));
		j = json_loads(cases[i].json, 0, NULL);
		in.did = "did:plc:prep";
		in.collection = cases[i].coll;
		in.rkey = cases[i].rkey;
		in.record = j;
		in.validate = (enum prep_validate)cases[i].validate;
		in.action = REPO_CREATE;
		msg[0] = '\0';
		T_OK((prepare_write(&w.a, &in, &wr, msg, sizeof(msg)) == 0) ==
		    cases[i].ok, "case %d: %s", i, msg);
		if (!cases[i].ok && cases[i].msg != NULL)
			T_OK(strncmp(msg, cases[i].msg, strlen(cases[i].msg)) ==
			    0, "case %d: \"%s\"", i, msg);
		if (cases[i].ok && cases[i].rkey == NULL)
			T_EQ_INT(strlen(wr.rkey), 13);
		if (cases[i].ok && cases[i].validate == 2)
			T_OK(wr.validation == NULL, "no status");
		json_decref(j);
	}
	arena_free(&w.a);
}

/* ==== MIME types ================================================================ */

static void
test_mime(void)
{
	static const struct {
		const char	*p;
		size_t		 n;
		const char	*mime;
	} v[] = {
		{ "\xff\xd8\xff\xe0", 4, "image/jpeg" },
		{ "\x89PNG\r\n\x1a\n", 8, "image/png" },
		{ "GIF89a", 6, "image/gif" },
		{ "RIFF\0\0\0\0WEBPVP8 ", 16, "image/webp" },
		{ "\0\0\0\x20" "ftypavif", 12, "image/avif" },
		{ "\0\0\0\x20" "ftypheic", 12, "image/heic" },
		{ "\0\0\0\x20" "ftypisom", 12, "video/mp4" },
		{ "\0\0\0\x14" "ftypqt  ", 12, "video/quicktime" },
		{ "\x1a\x45\xdf\xa3\x9f\x42\x82\x84webm", 12, "video/webm" },
		{ "%PDF-1.7", 8, "application/pdf" },
		{ "ID3\x04", 4, "audio/mpeg" },
		{ "hello world", 11, NULL },
		{ "", 0, NULL },
		{ "RIFF", 4, NULL },
	};
	size_t	i;
	const char *m;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		m = mime_sniff((const uint8_t *)v[i].p, v[i].n);
		T_OK(v[i].mime == NULL ? m == NULL : (m != NULL &&
		    strcmp(m, v[i].mime) == 0), "sniff %zu: %s", i,
		    m ? m : "(null)");
	}
	T_EQ_INT(mime_validate("image/png", 9), 0);
	T_EQ_INT(mime_validate("text/plain; charset=utf-8", 25), 0);
	T_EQ_INT(mime_validate("image", 5), -1);
	T_EQ_INT(mime_validate("/png", 4), -1);
	T_EQ_INT(mime_validate("a/b\r\nX: y", 9), -1);
	T_EQ_INT(mime_validate("", 0), -1);
}

int
main(void)
{
	char	root[300];

	log_init("test_actorstore", LOG_LVL_ERROR);
	(void)snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-actorstore-XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	(void)snprintf(root, sizeof(root), "%s/actors", tmpdir);
	test_paths();
	test_create(root);
	test_cache(root);
	test_writes(tmpdir);
	test_prepare();
	test_mime();
	rm_rf(tmpdir);
	return t_done("actorstore");
}
