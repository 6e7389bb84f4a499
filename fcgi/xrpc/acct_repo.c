/*
 * acct_repo.c: what account creation, activation and deletion need from
 * the account's actor store (fcgi/store/actorstore.h, storectx.h,
 * blobstore.h), and the #identity / #account events they sequence.
 *
 * Events follow sequencer/events.ts (reference-pds.md d): bodies are the
 * DAG-CBOR maps without seq, time or $type.  #commit and #sync bodies
 * come from the store's encoders (seqevt.h).
 */
#include <string.h>

#include "accounts.h"
#include "cbor.h"
#include "db.h"
#include "log.h"
#include "seqdb.h"
#include "seqevt.h"
#include "storectx.h"
#include "util.h"

int
acct_store_create(struct acct_ctx *ctx, const char *did, const struct key *k,
    struct actorstore_genesis *out)
{
	const struct pds_config	*cfg = ctx->store->cfg;

	return actorstore_create(cfg->actor_store_dir, did, k,
	    cfg->wal_autockpt_off ? ACTORSTORE_WAL_NOAUTO : 0, out);
}

int
acct_store_destroy(struct acct_ctx *ctx, const char *did)
{
	int	rc = 0;

	/* actorStore.destroy(): the blobs first, then the directory */
	if (ctx->store->have_blobs &&
	    blobstore_destroy(&ctx->store->blobs, did) == -1)
		rc = -1;
	if (actorstore_destroy(ctx->store->cfg->actor_store_dir, did) == -1)
		rc = -1;
	return rc;
}

int
acct_delete(struct acct_ctx *ctx, const char *did)
{
	struct buf	b;
	int64_t		seq;
	int		rc;

	if (acct_store_destroy(ctx, did) == -1 ||
	    accountdb_account_delete(ctx->account, did) == -1)
		return -1;
	buf_init(&b, 0);
	rc = acct_evt_account(&b, did, 0, "deleted") == -1 ||
	    acct_seq(ctx, did, SEQDB_ACCOUNT, &b, &seq) == -1 ||
	    seqdb_delete_before(ctx->store->seq, did, seq) == -1 ? -1 : 0;
	buf_free(&b);
	return rc;
}

int
acct_store_key_did(struct acct_ctx *ctx, const char *did,
    char out[KEY_DID_LEN])
{
	struct actorstore	*s;
	const struct key	*k;
	int			 rc;

	out[0] = '\0';
	if ((rc = actorstore_get(ctx->store->actors, did, &s)) != 1)
		return rc;
	if (actorstore_key(s, &k) == -1)
		return -1;
	key_did(k, out);
	return 1;
}

int
acct_store_head(struct acct_ctx *ctx, struct arena *a, const char *did,
    struct actorstore_root *root, uint8_t **block, size_t *blocklen)
{
	struct actorstore	*s;
	struct buf		 b;
	int			 rc;

	*block = NULL;
	*blocklen = 0;
	if ((rc = actorstore_get(ctx->store->actors, did, &s)) != 1 ||
	    (rc = actorstore_root_get(s, root)) != 1)
		return rc;
	buf_init(&b, LIM_CAR_BLOCK);
	if ((rc = actorstore_block_get(s, &root->cid, &b)) == 1 &&
	    (*block = arena_memdup(a, b.data, b.len)) == NULL)
		rc = -1;
	*blocklen = b.len;
	buf_free(&b);
	return rc == 0 ? -1 : rc;	/* a root without its block is broken */
}

static int
store_count(struct db *db, const char *sql, int64_t *out)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_stmt_get(db, sql)) == NULL)
		return -1;
	if ((rc = db_step(db, st)) == 1)
		*out = sqlite3_column_int64(st, 0);
	db_stmt_done(st);
	return rc == 1 ? 0 : -1;
}

int
acct_store_counts(struct acct_ctx *ctx, const char *did, int64_t *blocks,
    int64_t *records, int64_t *blobs, int64_t *expected)
{
	struct actorstore	*s;
	struct db		*db;
	int			 rc;

	*blocks = *records = *blobs = *expected = 0;
	if ((rc = actorstore_get(ctx->store->actors, did, &s)) != 1)
		return rc;
	db = actorstore_db(s);
	/* countBlocks, recordCount, blobCount, recordBlobCount */
	rc = store_count(db, "SELECT count(*) FROM repo_block", blocks) |
	    store_count(db, "SELECT count(*) FROM record", records) |
	    store_count(db, "SELECT count(*) FROM blob", blobs) |
	    store_count(db, "SELECT count(DISTINCT blobCid) FROM record_blob",
	    expected);
	return rc == 0 ? 1 : -1;
}

/* ---- events ----------------------------------------------------------------- */

int
acct_evt_identity(struct buf *b, const char *did, const char *handle)
{
	/* {did, handle?}: canonical order did, handle */
	if (cbor_put_map(b, handle != NULL ? 2 : 1) == -1 ||
	    cbor_put_cstr(b, "did") == -1 || cbor_put_cstr(b, did) == -1)
		return -1;
	if (handle != NULL && (cbor_put_cstr(b, "handle") == -1 ||
	    cbor_put_cstr(b, handle) == -1))
		return -1;
	return 0;
}

int
acct_evt_account(struct buf *b, const char *did, int active,
    const char *status)
{
	/* {did, active, status?}: did, active, status */
	if (cbor_put_map(b, status != NULL ? 3 : 2) == -1 ||
	    cbor_put_cstr(b, "did") == -1 || cbor_put_cstr(b, did) == -1 ||
	    cbor_put_cstr(b, "active") == -1 || cbor_put_bool(b, active) == -1)
		return -1;
	if (status != NULL && (cbor_put_cstr(b, "status") == -1 ||
	    cbor_put_cstr(b, status) == -1))
		return -1;
	return 0;
}

int
acct_evt_sync(struct buf *b, const char *did, const char *rev,
    const struct cid *commit, const uint8_t *block, size_t blocklen)
{
	return seqevt_sync_encode(did, rev, commit, block, blocklen, b);
}

int
acct_seq(struct acct_ctx *ctx, const char *did, int type,
    const struct buf *body, int64_t *seq)
{
	return seqdb_append(ctx->store->seq, did, (enum seqdb_type)type,
	    body->data, body->len, util_now_ms(), seq);
}

int
acct_seq_many(struct acct_ctx *ctx, const char *did, const int *types,
    const struct buf *const *bodies, size_t n)
{
	struct seqdb	*seq = ctx->store->seq;
	size_t		 i;

	if (seqdb_begin(seq) == -1)
		return -1;
	for (i = 0; i < n; i++)
		if (acct_seq(ctx, did, types[i], bodies[i], NULL) == -1) {
			seqdb_rollback(seq);
			return -1;
		}
	return seqdb_commit(seq);
}
