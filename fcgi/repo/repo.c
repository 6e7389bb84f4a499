/*
 * repo.c: whole commits over the MST (apply a batch of writes, create a
 * repository) and whole-repository CAR checks.  See repo.h.
 *
 * Owns the sequence "load head commit -> write the tree -> diff -> sign ->
 * collect blocks"; storage (SQL), record validation and sequencing are the
 * callers'.
 */
#include <stdlib.h>
#include <string.h>

#include "repo.h"

static const char *const repo_errs[REPO_ERR__MAX] = {
	"ok",						/* REPO_OK */
	"Too many writes. Max: 200",			/* REPO_ERR_TOO_MANY */
	"invalid record path",				/* REPO_ERR_KEY */
	"record already exists",			/* REPO_ERR_EXISTS */
	"record not found",				/* REPO_ERR_NOTFOUND */
	"record block missing or too large",		/* REPO_ERR_RECORD */
	"repository commit missing or invalid",		/* REPO_ERR_COMMIT */
	"invalid commit signature",			/* REPO_ERR_SIG */
	"repository tree missing or corrupt",		/* REPO_ERR_MST */
	"malformed CAR",				/* REPO_ERR_CAR */
	"signing failed",				/* REPO_ERR_SIGN */
	"block storage failed",				/* REPO_ERR_SOURCE */
	"size limit reached",				/* REPO_ERR_LIMIT */
	"out of memory",				/* REPO_ERR_NOMEM */
};

const char *
repo_err_str(enum repo_err e)
{
	if ((unsigned)e >= REPO_ERR__MAX)
		return "unknown repository error";
	return repo_errs[e];
}

static enum repo_err
from_mst(enum mst_err e)
{
	switch (e) {
	case MST_OK:
		return REPO_OK;
	case MST_ERR_KEY:
		return REPO_ERR_KEY;
	case MST_ERR_EXISTS:
		return REPO_ERR_EXISTS;
	case MST_ERR_NOTFOUND:
		return REPO_ERR_NOTFOUND;
	case MST_ERR_SOURCE:
		return REPO_ERR_SOURCE;
	case MST_ERR_LIMIT:
		return REPO_ERR_LIMIT;
	case MST_ERR_NOMEM:
		return REPO_ERR_NOMEM;
	default:
		return REPO_ERR_MST;
	}
}

void
repo_commit_init(struct repo_commit *c)
{
	memset(c, 0, sizeof(*c));
	blockmap_init(&c->new_blocks, 0);
	blockmap_init(&c->relevant, 0);
}

void
repo_commit_fini(struct repo_commit *c)
{
	if (c == NULL)
		return;
	free(c->ops);
	free(c->removed);
	blockmap_fini(&c->new_blocks);
	blockmap_fini(&c->relevant);
	repo_commit_init(c);
}

/* ==== writing ========================================================== */

/* Reads and checks the head commit block. */
static enum repo_err
read_head(const struct mst_source *src, const struct cid *head,
    const char *did, size_t didlen, struct commit *c)
{
	struct buf	b;
	struct cid	chk;
	enum repo_err	e = REPO_OK;
	int		rc;

	buf_init(&b, LIM_CAR_BLOCK);
	if ((rc = src->get(src->arg, head, &b)) != 0)
		e = rc == 1 ? REPO_ERR_COMMIT : REPO_ERR_SOURCE;
	else {
		cid_compute(&chk, cid_codec(head), b.data, b.len);
		if (!cid_equal(&chk, head) ||
		    commit_parse(c, b.data, b.len) != COMMIT_OK ||
		    c->didlen != didlen || memcmp(c->did, did, didlen) != 0)
			e = REPO_ERR_COMMIT;
	}
	buf_free(&b);
	return e;
}

/* Applies one write to t, filling op. */
static enum repo_err
apply_one(struct mst *t, const struct repo_write *w, struct repo_op *op)
{
	enum mst_err	r;

	memset(op, 0, sizeof(*op));
	op->action = w->action;
	op->key = w->key;
	op->klen = w->klen;
	if (w->action == REPO_DELETE) {
		r = mst_delete(t, w->key, w->klen, &op->prev);
		op->has_prev = 1;
		return from_mst(r);
	}
	if ((w->action != REPO_CREATE && w->action != REPO_UPDATE) ||
	    (w->rec == NULL && w->reclen > 0) || w->reclen > LIM_CAR_BLOCK)
		return REPO_ERR_RECORD;
	cid_compute(&op->cid, CID_CODEC_DAG_CBOR, w->rec, w->reclen);
	if (w->action == REPO_CREATE)
		return from_mst(mst_add(t, w->key, w->klen, &op->cid));
	op->has_prev = 1;
	return from_mst(mst_update(t, w->key, w->klen, &op->cid, &op->prev));
}

static enum repo_err
apply_all(struct mst *t, const struct repo_write *w, size_t n,
    struct repo_commit *out)
{
	enum repo_err	e;
	size_t		i;

	if (n > LIM_WRITES_PER_COMMIT)
		return REPO_ERR_TOO_MANY;
	if (n > 0 && (out->ops = calloc(n, sizeof(*out->ops))) == NULL)
		return REPO_ERR_NOMEM;
	for (i = 0; i < n; i++) {
		if ((e = apply_one(t, &w[i], &out->ops[i])) != REPO_OK)
			return e;
		out->nops = i + 1;
	}
	return REPO_OK;
}

static enum repo_err
put(struct blockmap *bm, const struct cid *c, const void *p, size_t len)
{
	return blockmap_put(bm, c, p, len) == -1 ? REPO_ERR_LIMIT : REPO_OK;
}

/* Every written record block (creates and updates), into bm. */
static enum repo_err
put_records(struct blockmap *bm, const struct repo_write *w,
    const struct repo_op *ops, size_t n)
{
	enum repo_err	e;
	size_t		i;

	for (i = 0; i < n; i++)
		if (w[i].action != REPO_DELETE &&
		    (e = put(bm, &ops[i].cid, w[i].rec, w[i].reclen)) !=
		    REPO_OK)
			return e;
	return REPO_OK;
}

static enum repo_err
push_removed(struct repo_commit *out, const struct cid *v, size_t n)
{
	struct cid	*p;

	if (n == 0)
		return REPO_OK;
	if (n > SIZE_MAX / sizeof(*p) - out->nremoved ||
	    (p = realloc(out->removed, (out->nremoved + n) * sizeof(*p))) ==
	    NULL)
		return REPO_ERR_NOMEM;
	memcpy(p + out->nremoved, v, n * sizeof(*p));
	out->removed = p;
	out->nremoved += n;
	return REPO_OK;
}

/* Signs the commit over out->data and adds its block to both maps. */
static enum repo_err
sign_commit(struct repo_commit *out, const char *did, size_t didlen,
    const struct key *k)
{
	struct buf	b;
	enum repo_err	e;

	if (commit_next_rev(out->since, strlen(out->since), out->rev) !=
	    COMMIT_OK || commit_init(&out->commit, did, didlen, &out->data,
	    out->rev, strlen(out->rev)) != COMMIT_OK)
		return REPO_ERR_COMMIT;
	if (commit_sign(&out->commit, k) != COMMIT_OK)
		return REPO_ERR_SIGN;
	buf_init(&b, LIM_CAR_BLOCK);
	if (commit_encode(&out->commit, &b) != COMMIT_OK)
		e = REPO_ERR_LIMIT;
	else {
		cid_compute(&out->cid, CID_CODEC_DAG_CBOR, b.data, b.len);
		if ((e = put(&out->new_blocks, &out->cid, b.data, b.len)) ==
		    REPO_OK)
			e = put(&out->relevant, &out->cid, b.data, b.len);
	}
	buf_free(&b);
	return e;
}

/* The part common to both kinds of commit, after the writes. */
static enum repo_err
finish(struct mst *t, struct mst *old, const char *did, size_t didlen,
    const struct key *k, const struct repo_write *w, size_t n,
    struct repo_commit *out)
{
	struct mst_diff	d;
	enum repo_err	e;
	size_t		i;

	mst_diff_init(&d);
	if ((e = from_mst(mst_root(t, &out->data))) != REPO_OK ||
	    (e = from_mst(mst_diff(t, old, &d))) != REPO_OK)
		goto out;
	if (blockmap_put_all(&out->new_blocks, &d.new_nodes) == -1) {
		e = REPO_ERR_LIMIT;
		goto out;
	}
	if ((e = put_records(&out->new_blocks, w, out->ops, n)) != REPO_OK ||
	    (e = push_removed(out, d.removed, d.nremoved)) != REPO_OK)
		goto out;
	for (i = 0; old != NULL && i < n; i++)
		if ((e = from_mst(mst_proof(t, w[i].key, w[i].klen,
		    &out->relevant))) != REPO_OK)
			goto out;
	if ((e = put_records(&out->relevant, w, out->ops, n)) != REPO_OK)
		goto out;
	e = sign_commit(out, did, didlen, k);
out:
	mst_diff_fini(&d);
	return e;
}

enum repo_err
repo_apply_writes(const struct mst_source *src, const struct cid *head,
    const char *did, size_t didlen, const struct key *k,
    const struct repo_write *w, size_t n, struct repo_commit *out)
{
	struct mst	*t = NULL, *old = NULL;
	enum repo_err	 e;

	if (n > LIM_WRITES_PER_COMMIT)
		return REPO_ERR_TOO_MANY;
	if ((e = read_head(src, head, did, didlen, &out->commit)) != REPO_OK)
		return e;
	memcpy(out->since, out->commit.rev, sizeof(out->since));
	out->prev_data = out->commit.data;
	out->has_prev_data = 1;
	out->prev_commit = *head;
	out->has_prev_commit = 1;
	if ((e = from_mst(mst_load(src, &out->prev_data, &t))) != REPO_OK ||
	    (e = from_mst(mst_load(src, &out->prev_data, &old))) != REPO_OK)
		goto out;
	if ((e = apply_all(t, w, n, out)) != REPO_OK ||
	    (e = finish(t, old, did, didlen, k, w, n, out)) != REPO_OK)
		goto out;
	e = push_removed(out, head, 1);
out:
	mst_free(t);
	mst_free(old);
	return e;
}

enum repo_err
repo_create(const struct mst_source *src, const char *did, size_t didlen,
    const struct key *k, const struct repo_write *w, size_t n,
    struct repo_commit *out)
{
	struct mst	*t = NULL;
	enum repo_err	 e;
	size_t		 i;

	for (i = 0; i < n; i++)
		if (w[i].action != REPO_CREATE)
			return REPO_ERR_RECORD;
	if ((e = from_mst(mst_new(src, &t))) != REPO_OK)
		return e;
	if ((e = apply_all(t, w, n, out)) == REPO_OK &&
	    (e = finish(t, NULL, did, didlen, k, w, n, out)) == REPO_OK &&
	    blockmap_put_all(&out->relevant, &out->new_blocks) == -1)
		e = REPO_ERR_LIMIT;
	mst_free(t);
	return e;
}

enum car_err
repo_commit_car(const struct repo_commit *c, struct car_writer *w)
{
	const struct cid	*cid;
	const uint8_t		*p;
	size_t			 i, len;
	enum car_err		 e;

	if ((e = car_write_header(w, &c->cid, 1)) != CAR_OK)
		return e;
	for (i = 0; blockmap_next(&c->new_blocks, &i, &cid, &p, &len);)
		if ((e = car_write_block(w, cid, p, len)) != CAR_OK)
			return e;
	for (i = 0; blockmap_next(&c->relevant, &i, &cid, &p, &len);)
		if (!blockmap_has(&c->new_blocks, cid) &&
		    (e = car_write_block(w, cid, p, len)) != CAR_OK)
			return e;
	return CAR_OK;
}

/* ==== verifying a repository CAR ====================================== */

static int
count_node(void *arg, const struct cid *c, const uint8_t *p, size_t len)
{
	struct repo_verified	*v = arg;

	(void)c;
	(void)p;
	(void)len;
	v->nodes++;
	return 0;
}

struct leaf_check {
	const struct blockmap	*blocks;
	struct repo_verified	*v;
	int			 missing;
};

static int
check_leaf(void *arg, const char *key, size_t klen, const struct cid *val)
{
	struct leaf_check	*lc = arg;

	(void)key;
	(void)klen;
	if (!blockmap_has(lc->blocks, val)) {
		lc->missing = 1;
		return 1;
	}
	lc->v->records++;
	return 0;
}

/* Reads every block of the CAR into blocks. */
static enum repo_err
read_car(const uint8_t *p, size_t len, struct blockmap *blocks,
    struct repo_verified *out, enum car_err *carerr)
{
	struct car_reader	 r;
	struct cid		 c;
	const uint8_t		*bp;
	size_t			 blen;
	enum car_err		 ce;
	enum repo_err		 e = REPO_OK;

	if ((ce = car_reader_init_mem(&r, p, len)) == CAR_OK &&
	    r.nroots != 1)
		ce = CAR_ERR_ROOTS;
	if (ce == CAR_OK)
		out->root = r.roots[0];
	while (ce == CAR_OK &&
	    (ce = car_reader_next(&r, &c, &bp, &blen)) == CAR_OK) {
		out->blocks++;
		if (blockmap_put(blocks, &c, bp, blen) == -1) {
			e = REPO_ERR_LIMIT;
			break;
		}
	}
	car_reader_fini(&r);
	if (e == REPO_OK && ce != CAR_END) {
		*carerr = ce;
		e = ce == CAR_ERR_NOMEM ? REPO_ERR_NOMEM : REPO_ERR_CAR;
	}
	return e;
}

enum repo_err
repo_verify_car(const uint8_t *p, size_t len, const char *did,
    const char *didkey, struct blockmap *blocks, struct repo_verified *out,
    enum car_err *carerr)
{
	struct mst_source	 src = { blockmap_source_get, blocks };
	struct leaf_check	 lc = { blocks, out, 0 };
	struct mst		*t = NULL;
	const uint8_t		*cp;
	size_t			 clen;
	enum repo_err		 e;

	memset(out, 0, sizeof(*out));
	*carerr = CAR_OK;
	if ((e = read_car(p, len, blocks, out, carerr)) != REPO_OK)
		return e;
	if ((cp = blockmap_get(blocks, &out->root, &clen)) == NULL ||
	    commit_parse(&out->commit, cp, clen) != COMMIT_OK ||
	    (did != NULL && strcmp(out->commit.did, did) != 0))
		return REPO_ERR_COMMIT;
	if (didkey != NULL && commit_verify_did(&out->commit, didkey,
	    strlen(didkey)) != COMMIT_OK)
		return REPO_ERR_SIG;
	if ((e = from_mst(mst_load(&src, &out->commit.data, &t))) != REPO_OK)
		return e;
	if ((e = from_mst(mst_walk_blocks(t, count_node, out))) == REPO_OK &&
	    (e = from_mst(mst_list(t, NULL, check_leaf, &lc))) == REPO_OK &&
	    lc.missing)
		e = REPO_ERR_RECORD;
	mst_free(t);
	return e;
}
