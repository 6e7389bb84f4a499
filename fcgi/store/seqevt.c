/*
 * seqevt.c: #commit and #sync event bodies.  See seqevt.h.
 *
 * Maps are written with the low-level encoder, keys already in canonical
 * DAG-CBOR order (shorter first, then bytewise), so no tree is built.
 */
#include <string.h>

#include "car.h"
#include "cbor.h"
#include "seqevt.h"

static const char *const seqevt_actions[REPO_ACTION__MAX] = {
	"create",	/* REPO_CREATE */
	"update",	/* REPO_UPDATE */
	"delete",	/* REPO_DELETE */
};

int
seqevt_commit_car(const struct repo_commit *c, struct buf *car)
{
	struct car_writer	w;

	car_writer_init(&w, car_buf_write, car);
	return repo_commit_car(c, &w) == CAR_OK ? 0 : -1;
}

/* {cid, path, prev?, action}: the CommitOp of the reference. */
static int
seqevt_op(const struct repo_op *op, struct buf *out)
{
	if ((unsigned)op->action >= REPO_ACTION__MAX)
		return -1;
	if (cbor_put_map(out, op->has_prev ? 4 : 3) == -1 ||
	    cbor_put_cstr(out, "cid") == -1 ||
	    (op->action == REPO_DELETE ? cbor_put_null(out) :
	    cbor_put_link(out, &op->cid)) == -1 ||
	    cbor_put_cstr(out, "path") == -1 ||
	    cbor_put_text(out, op->key, op->klen) == -1)
		return -1;
	if (op->has_prev && (cbor_put_cstr(out, "prev") == -1 ||
	    cbor_put_link(out, &op->prev) == -1))
		return -1;
	return cbor_put_cstr(out, "action") == -1 ||
	    cbor_put_cstr(out, seqevt_actions[op->action]) == -1 ? -1 : 0;
}

int
seqevt_commit_encode(const char *did, const struct repo_commit *c,
    const void *car, size_t carlen, struct buf *out)
{
	size_t	i;

	if (cbor_put_map(out, c->has_prev_data ? 10 : 9) == -1 ||
	    cbor_put_cstr(out, "ops") == -1 ||
	    cbor_put_array(out, c->nops) == -1)
		return -1;
	for (i = 0; i < c->nops; i++)
		if (seqevt_op(&c->ops[i], out) == -1)
			return -1;
	if (cbor_put_cstr(out, "rev") == -1 ||
	    cbor_put_cstr(out, c->rev) == -1 ||
	    cbor_put_cstr(out, "repo") == -1 ||
	    cbor_put_cstr(out, did) == -1 ||
	    cbor_put_cstr(out, "blobs") == -1 ||
	    cbor_put_array(out, 0) == -1 ||
	    cbor_put_cstr(out, "since") == -1 ||
	    (c->since[0] != '\0' ? cbor_put_cstr(out, c->since) :
	    cbor_put_null(out)) == -1 ||
	    cbor_put_cstr(out, "blocks") == -1 ||
	    cbor_put_bytes(out, car, carlen) == -1 ||
	    cbor_put_cstr(out, "commit") == -1 ||
	    cbor_put_link(out, &c->cid) == -1 ||
	    cbor_put_cstr(out, "rebase") == -1 ||
	    cbor_put_bool(out, 0) == -1 ||
	    cbor_put_cstr(out, "tooBig") == -1 ||
	    cbor_put_bool(out, 0) == -1)
		return -1;
	if (c->has_prev_data && (cbor_put_cstr(out, "prevData") == -1 ||
	    cbor_put_link(out, &c->prev_data) == -1))
		return -1;
	return 0;
}

int
seqevt_sync_encode(const char *did, const char *rev,
    const struct cid *commit, const void *blk, size_t blklen,
    struct buf *out)
{
	struct car_writer	w;
	struct buf		car;
	int			rc = -1;

	buf_init(&car, LIM_SYNC_EVENT_BYTES);
	car_writer_init(&w, car_buf_write, &car);
	if (car_write_header(&w, commit, 1) != CAR_OK ||
	    car_write_block(&w, commit, blk, blklen) != CAR_OK)
		goto out;
	if (cbor_put_map(out, 3) == -1 ||
	    cbor_put_cstr(out, "did") == -1 ||
	    cbor_put_cstr(out, did) == -1 ||
	    cbor_put_cstr(out, "rev") == -1 ||
	    cbor_put_cstr(out, rev) == -1 ||
	    cbor_put_cstr(out, "blocks") == -1 ||
	    cbor_put_bytes(out, car.data, car.len) == -1)
		goto out;
	rc = 0;
out:
	buf_free(&car);
	return rc;
}
