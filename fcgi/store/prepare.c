/*
 * prepare.c: JSON record writes to prepared writes.  See prepare.h.
 *
 * Owns the reference's prepare.ts rules ($type, validation status,
 * legacy blob refs, blob refs, backlinks).  The data model mapping is
 * cbor_json.c's, the schemas and their validation fcgi/core/lexicon.c's.
 */
#include <stdio.h>
#include <string.h>

#include "cbor_json.h"
#include "log.h"
#include "prepare.h"
#include "syntax.h"
#include "tid.h"

#define PREP_PATH_MAX	512	/* bytes of a blob ref path in a message */

/* Blob refs found in a record. */
struct prep_blobs {
	struct arena		*a;
	struct rw_blob		*v;
	const struct cbor_val	**maps;	/* the {$type: blob} map of each */
	size_t			 n;
	size_t			 cap;
	int			 lenient;	/* imported records: skip legacy
						 * and malformed refs */
};

static int
blobs_push(struct prep_blobs *b, const struct cbor_val *m)
{
	const struct cbor_val	*ref = cbor_map_get(m, "ref");
	const struct cbor_val	*mt = cbor_map_get(m, "mimeType");
	const struct cbor_val	*sz = cbor_map_get(m, "size");
	struct rw_blob		*v;
	const struct cbor_val	**maps;
	size_t			 cap;

	if (ref == NULL || ref->type != CBOR_LINK || mt == NULL ||
	    mt->type != CBOR_TEXT || sz == NULL || sz->type != CBOR_INT)
		return -1;
	if (b->n == b->cap) {
		cap = b->cap == 0 ? 4 : b->cap * 2;
		if ((v = arena_calloc(b->a, cap, sizeof(*v))) == NULL ||
		    (maps = arena_calloc(b->a, cap, sizeof(*maps))) == NULL)
			return -1;
		if (b->n > 0) {
			memcpy(v, b->v, b->n * sizeof(*v));
			memcpy(maps, b->maps, b->n * sizeof(*maps));
		}
		b->v = v;
		b->maps = maps;
		b->cap = cap;
	}
	v = &b->v[b->n];
	memset(v, 0, sizeof(*v));
	v->cid = ref->u.link;
	v->size = sz->u.i;
	/* mimelen: a NUL inside must not make it equal to the stored
	 * type (blob_verify compares all of it). */
	if ((v->mime = arena_strndup(b->a, (const char *)mt->u.s.p,
	    mt->u.s.len)) == NULL)
		return -1;
	v->mimelen = mt->u.s.len;
	b->maps[b->n++] = m;
	return 0;
}

/* A map holding exactly {cid: string, mimeType: string}: the legacy blob
 * ref jsonToLex() still recognises. */
static int
is_legacy_blob(const struct cbor_val *m)
{
	const struct cbor_val	*c = cbor_map_get(m, "cid");
	const struct cbor_val	*t = cbor_map_get(m, "mimeType");

	return m->u.m.n == 2 && c != NULL && c->type == CBOR_TEXT &&
	    t != NULL && t->type == CBOR_TEXT;
}

static int	walk_blobs(struct prep_blobs *, const struct cbor_val *,
		    char *, size_t, int, char *, size_t);


/* Appends "<sep><seg>" to path (truncating) and walks v. */
static int
walk_child(struct prep_blobs *b, const struct cbor_val *v, char *path,
    size_t plen, const char *seg, size_t seglen, int depth, char *msg,
    size_t msgsz)
{
	size_t	n = plen;

	if (n > 0 && n + 1 < PREP_PATH_MAX)
		path[n++] = '/';
	if (seglen > PREP_PATH_MAX - 1 - n)
		seglen = PREP_PATH_MAX - 1 - n;
	memcpy(path + n, seg, seglen);
	path[n + seglen] = '\0';
	return walk_blobs(b, v, path, n + seglen, depth + 1, msg, msgsz);
}

/* findBlobRefs(): every blob ref, and no legacy one. */
static int
walk_blobs(struct prep_blobs *b, const struct cbor_val *v, char *path,
    size_t plen, int depth, char *msg, size_t msgsz)
{
	const struct cbor_val	*t;
	char			 idx[24];
	size_t			 i;
	int			 n;

	if (depth > LIM_CBOR_DEPTH)
		return -1;
	if (v->type == CBOR_ARRAY) {
		for (i = 0; i < v->u.a.n; i++) {
			n = snprintf(idx, sizeof(idx), "%zu", i);
			if (walk_child(b, v->u.a.items[i], path, plen, idx,
			    (size_t)n, depth, msg, msgsz) == -1)
				return -1;
		}
		return 0;
	}
	if (v->type != CBOR_MAP)
		return 0;
	t = cbor_map_get(v, "$type");
	if (t != NULL && t->type == CBOR_TEXT && t->u.s.len == 4 &&
	    memcmp(t->u.s.p, "blob", 4) == 0) {
		if (blobs_push(b, v) == -1) {
			if (b->lenient)
				return 0;
			(void)snprintf(msg, msgsz, "Bad record");
			return -1;
		}
		return 0;
	}
	if (is_legacy_blob(v)) {
		if (b->lenient)
			return 0;
		(void)snprintf(msg, msgsz, "Legacy blob ref at '%s'", path);
		return -1;
	}
	for (i = 0; i < v->u.m.n; i++)
		if (walk_child(b, v->u.m.pairs[i].val, path, plen,
		    v->u.m.pairs[i].key, v->u.m.pairs[i].klen, depth, msg,
		    msgsz) == -1)
			return -1;
	return 0;
}

/* ---- $type -------------------------------------------------------------------- */

/* setCollectionName(): $type defaults to the collection (also when it is
 * ""); with validation, any other $type is refused. */
static int
set_type(struct arena *a, struct cbor_val *rec, const char *collection,
    int validate, char *msg, size_t msgsz)
{
	struct cbor_val	*t = cbor_map_get(rec, "$type"), *c;

	if (t == NULL || (t->type == CBOR_TEXT && t->u.s.len == 0) ||
	    t->type == CBOR_NULL || (t->type == CBOR_BOOL && !t->u.b)) {
		if ((c = cbor_new_cstr(a, collection)) == NULL ||
		    cbor_map_set(a, rec, "$type", c) == -1 ||
		    cbor_map_sort(rec) == -1)
			return -1;
		return 0;
	}
	if (!validate)
		return 0;
	if (t->type != CBOR_TEXT) {
		(void)snprintf(msg, msgsz, "Invalid $type: expected %s, got "
		    "a non-string", collection);
		return -1;
	}
	if (t->u.s.len != strlen(collection) ||
	    memcmp(t->u.s.p, collection, t->u.s.len) != 0) {
		(void)snprintf(msg, msgsz, "Invalid $type: expected %s, got "
		    "%.*s", collection, (int)(t->u.s.len > 300 ? 300 :
		    t->u.s.len), (const char *)t->u.s.p);
		return -1;
	}
	return 0;
}

/* ---- backlinks (record/util.ts getBacklinks) -------------------------------------- */

static void
set_backlink(struct arena *a, const struct cbor_val *rec,
    struct rw_write *out)
{
	const struct cbor_val	*s = cbor_map_get(rec, "subject"), *u;
	const struct cbor_val	*t = cbor_map_get(rec, "$type");
	char			 type[64];

	if (t == NULL || t->type != CBOR_TEXT || t->u.s.len >= sizeof(type))
		return;
	memcpy(type, t->u.s.p, t->u.s.len);
	type[t->u.s.len] = '\0';

	if (strcmp(type, "app.bsky.graph.follow") == 0 ||
	    strcmp(type, "app.bsky.graph.block") == 0) {
		if (s == NULL || s->type != CBOR_TEXT ||
		    syntax_did_validate((const char *)s->u.s.p, s->u.s.len,
		    NULL) == -1)
			return;
		out->bl_path = "subject";
		out->bl_link = arena_strndup(a, (const char *)s->u.s.p,
		    s->u.s.len);
	} else if (strcmp(type, "app.bsky.feed.like") == 0 ||
	    strcmp(type, "app.bsky.feed.repost") == 0) {
		u = cbor_map_get(s, "uri");
		if (u == NULL || u->type != CBOR_TEXT ||
		    syntax_aturi_validate((const char *)u->u.s.p, u->u.s.len,
		    NULL) == -1)
			return;
		out->bl_path = "subject.uri";
		out->bl_link = arena_strndup(a, (const char *)u->u.s.p,
		    u->u.s.len);
	}
	if (out->bl_link == NULL)
		out->bl_path = NULL;
}

/* ---- validation ----------------------------------------------------------------- */

/* validateRecord(): the validation status of a known type, or the
 * reference's InvalidRequest message. */
static int
validate_record(const struct prep_in *in, const char *rkey,
    const struct cbor_val *rec, struct rw_write *out, char *msg,
    size_t msgsz)
{
	switch (lexicon_record_validate(in->collection, rec, rkey, in->path,
	    msg, msgsz)) {
	case LEXICON_UNKNOWN:
		if (in->validate == PREP_VALIDATE_TRUE) {
			lexicon_unknown_msg(in->collection, msg, msgsz);
			return -1;
		}
		out->validation = "unknown";
		return 0;
	case LEXICON_VALID:
		out->validation = "valid";
		return 0;
	case LEXICON_INVALID:
		return -1;
	default:
		log_error("%s: %s: the built-in schemas are unavailable",
		    __func__, in->collection);
		(void)snprintf(msg, msgsz, "Internal Server Error");
		return -1;
	}
}

/* The DAG-CBOR block and CID of the record (cidForSafeRecord). */
static int
encode_record(struct arena *a, const struct cbor_val *rec,
    struct rw_write *out)
{
	struct buf	b;
	int		rc = -1;

	buf_init(&b, LIM_CAR_BLOCK);
	if (cbor_encode_cid(&b, rec, &out->cid) == 0 &&
	    (out->rec = arena_memdup(a, b.data, b.len)) != NULL) {
		out->reclen = b.len;
		rc = 0;
	}
	buf_free(&b);
	return rc;
}

static int
set_names(struct arena *a, const char *did, const char *collection,
    const char *rkey, struct rw_write *out)
{
	out->collection = arena_strdup(a, collection);
	out->rkey = arena_strdup(a, rkey);
	out->key = arena_printf(a, "%s/%s", collection, rkey);
	out->uri = arena_printf(a, "at://%s/%s/%s", did, collection, rkey);
	return out->collection == NULL || out->rkey == NULL ||
	    out->key == NULL || out->uri == NULL ? -1 : 0;
}

int
prepare_write(struct arena *a, const struct prep_in *in,
    struct rw_write *out, char *msg, size_t msgsz)
{
	struct prep_blobs	 b;
	struct cbor_val		*rec;
	char			 tid[TID_STR_LEN], path[PREP_PATH_MAX] = "";
	const char		*rkey = in->rkey;
	int			 validate = in->validate != PREP_VALIDATE_FALSE;

	memset(out, 0, sizeof(*out));
	memset(&b, 0, sizeof(b));
	b.a = a;
	out->action = in->action;
	out->swap = in->swap;
	out->swap_cid = in->swap_cid;
	if (!json_is_object(in->record) ||
	    cbor_from_json(a, in->record, &rec) != CJ_OK) {
		(void)snprintf(msg, msgsz, "Bad record");
		return -1;
	}
	if (set_type(a, rec, in->collection, validate, msg, msgsz) == -1)
		return -1;
	if (cbor_json_record_validate(rec) != CJ_OK) {
		(void)snprintf(msg, msgsz, "Bad record");
		return -1;
	}
	if (rkey == NULL) {
		if (tid_next_str(tid) == -1)
			return -1;
		rkey = tid;
	}
	if (set_names(a, in->did, in->collection, rkey, out) == -1)
		return -1;
	/* the reference validates before it looks for blob refs */
	if (validate && validate_record(in, rkey, rec, out, msg, msgsz) == -1)
		return -1;
	if (walk_blobs(&b, rec, path, 0, 0, msg, msgsz) == -1)
		return -1;
	out->blobs = b.v;
	out->nblobs = b.n;
	set_backlink(a, rec, out);
	if (encode_record(a, rec, out) == -1) {
		(void)snprintf(msg, msgsz, "Bad record");
		return -1;
	}
	return 0;
}

int
prepare_block(struct arena *a, const char *did, const char *key,
    const uint8_t *blk, size_t len, struct rw_write *out)
{
	struct prep_blobs	 b;
	struct cbor_val		*rec;
	const char		*slash = strchr(key, '/');
	char			*coll, path[PREP_PATH_MAX] = "", msg[8];

	memset(out, 0, sizeof(*out));
	memset(&b, 0, sizeof(b));
	b.a = a;
	b.lenient = 1;
	out->action = REPO_CREATE;
	if (slash == NULL ||
	    (coll = arena_strndup(a, key, (size_t)(slash - key))) == NULL ||
	    set_names(a, did, coll, slash + 1, out) == -1)
		return -1;
	if (blk == NULL || cbor_decode(a, blk, len, &rec) != CBOR_OK ||
	    rec->type != CBOR_MAP)
		return 0;	/* indexed without blobs or backlinks */
	if (walk_blobs(&b, rec, path, 0, 0, msg, sizeof(msg)) == -1)
		return -1;
	out->blobs = b.v;
	out->nblobs = b.n;
	set_backlink(a, rec, out);
	return 0;
}

int
prepare_delete(struct arena *a, const char *did, const char *collection,
    const char *rkey, enum rw_swap swap, const struct cid *swap_cid,
    struct rw_write *out)
{
	memset(out, 0, sizeof(*out));
	out->action = REPO_DELETE;
	out->swap = swap;
	if (swap_cid != NULL)
		out->swap_cid = *swap_cid;
	return set_names(a, did, collection, rkey, out);
}
