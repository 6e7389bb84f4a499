/*
 * blockmap.c: CID-keyed block set in insertion order.  See blockmap.h.
 *
 * Owns only storage and lookup; it never decodes a block.  Removal marks
 * the entry dead (its bytes stay until reset) so the index needs no
 * deletion protocol: a dead entry keeps its slot and may be revived.
 */
#include <stdlib.h>
#include <string.h>

#include "blockmap.h"

#define BM_MIN_SLOTS	16	/* first index size (power of two) */

void
blockmap_init(struct blockmap *bm, size_t max)
{
	memset(bm, 0, sizeof(*bm));
	buf_init(&bm->data, max);
}

void
blockmap_fini(struct blockmap *bm)
{
	size_t	max;

	if (bm == NULL)
		return;
	max = bm->data.max;
	free(bm->ents);
	free(bm->slots);
	buf_free(&bm->data);
	blockmap_init(bm, max);
}

void
blockmap_reset(struct blockmap *bm)
{
	bm->n = bm->live = 0;
	bm->bytes = 0;
	if (bm->slots != NULL)
		memset(bm->slots, 0, bm->nslots * sizeof(*bm->slots));
	buf_reset(&bm->data);
}

/* Hash of a CID: its digest is already uniform, take 8 bytes of it. */
static size_t
bm_hash(const struct cid *c)
{
	const uint8_t	*d = cid_digest(c);
	uint64_t	 h;

	memcpy(&h, d, sizeof(h));
	return (size_t)(h ^ (h >> 29) ^ cid_codec(c));
}

/* Returns the slot holding c, or the free slot where it would go. */
static size_t
bm_slot(const struct blockmap *bm, const struct cid *c)
{
	size_t	mask = bm->nslots - 1, i = bm_hash(c) & mask;

	while (bm->slots[i] != 0 &&
	    !cid_equal(&bm->ents[bm->slots[i] - 1].cid, c))
		i = (i + 1) & mask;
	return i;
}

static int
bm_grow_index(struct blockmap *bm)
{
	uint32_t	*old = bm->slots;
	size_t		 oldn = bm->nslots, n, i;

	n = oldn ? oldn * 2 : BM_MIN_SLOTS;
	if (n > SIZE_MAX / sizeof(*old) || n - 1 > UINT32_MAX)
		return -1;
	if ((bm->slots = calloc(n, sizeof(*old))) == NULL) {
		bm->slots = old;
		return -1;
	}
	bm->nslots = n;
	for (i = 0; i < bm->n; i++)
		bm->slots[bm_slot(bm, &bm->ents[i].cid)] = (uint32_t)(i + 1);
	free(old);
	return 0;
}

static int
bm_grow_ents(struct blockmap *bm)
{
	struct blockmap_ent	*p;
	size_t			 n;

	if (bm->n < bm->cap)
		return 0;
	n = bm->cap ? bm->cap * 2 : BM_MIN_SLOTS;
	if (n > SIZE_MAX / sizeof(*p) || n > UINT32_MAX - 1)
		return -1;
	if ((p = realloc(bm->ents, n * sizeof(*p))) == NULL)
		return -1;
	bm->ents = p;
	bm->cap = n;
	return 0;
}

int
blockmap_put(struct blockmap *bm, const struct cid *c, const void *p,
    size_t len)
{
	struct blockmap_ent	*e;
	size_t			 s, off;

	/* keep the index at most half full */
	if ((bm->n + 1) * 2 > bm->nslots && bm_grow_index(bm) == -1)
		return -1;
	s = bm_slot(bm, c);
	if (bm->slots[s] != 0) {
		e = &bm->ents[bm->slots[s] - 1];
		if (!e->dead)
			return 0;
		off = bm->data.len;
		if (buf_append(&bm->data, p, len) == -1)
			return -1;
		e->off = off;
		e->len = len;
		e->dead = 0;
		bm->live++;
		bm->bytes += len;
		return 1;
	}
	if (bm_grow_ents(bm) == -1)
		return -1;
	off = bm->data.len;
	if (buf_append(&bm->data, p, len) == -1)
		return -1;
	e = &bm->ents[bm->n];
	e->cid = *c;
	e->off = off;
	e->len = len;
	e->dead = 0;
	bm->slots[s] = (uint32_t)(++bm->n);
	bm->live++;
	bm->bytes += len;
	return 1;
}

int
blockmap_put_data(struct blockmap *bm, uint8_t codec, const void *p,
    size_t len, struct cid *out)
{
	struct cid	c;

	cid_compute(&c, codec, p, len);
	if (out != NULL)
		*out = c;
	return blockmap_put(bm, &c, p, len);
}

int
blockmap_put_all(struct blockmap *bm, const struct blockmap *src)
{
	const struct cid	*c;
	const uint8_t		*p;
	size_t			 i = 0, len;

	while (blockmap_next(src, &i, &c, &p, &len))
		if (blockmap_put(bm, c, p, len) == -1)
			return -1;
	return 0;
}

static const struct blockmap_ent *
bm_find(const struct blockmap *bm, const struct cid *c)
{
	const struct blockmap_ent	*e;
	size_t				 s;

	if (bm->nslots == 0)
		return NULL;
	s = bm_slot(bm, c);
	if (bm->slots[s] == 0)
		return NULL;
	e = &bm->ents[bm->slots[s] - 1];
	return e->dead ? NULL : e;
}

const uint8_t *
blockmap_get(const struct blockmap *bm, const struct cid *c, size_t *len)
{
	const struct blockmap_ent	*e;

	if ((e = bm_find(bm, c)) == NULL)
		return NULL;
	*len = e->len;
	/* a zero-length block at offset 0 of an empty buffer: any pointer */
	return bm->data.data != NULL ? bm->data.data + e->off :
	    (const uint8_t *)"";
}

int
blockmap_has(const struct blockmap *bm, const struct cid *c)
{
	return bm_find(bm, c) != NULL;
}

int
blockmap_remove(struct blockmap *bm, const struct cid *c)
{
	struct blockmap_ent	*e;

	if ((e = (struct blockmap_ent *)bm_find(bm, c)) == NULL)
		return 0;
	e->dead = 1;
	bm->live--;
	bm->bytes -= e->len;
	return 1;
}

size_t
blockmap_count(const struct blockmap *bm)
{
	return bm->live;
}

int
blockmap_next(const struct blockmap *bm, size_t *i, const struct cid **c,
    const uint8_t **p, size_t *len)
{
	const struct blockmap_ent	*e;

	while (*i < bm->n) {
		e = &bm->ents[(*i)++];
		if (e->dead)
			continue;
		*c = &e->cid;
		*p = bm->data.data != NULL ? bm->data.data + e->off :
		    (const uint8_t *)"";
		*len = e->len;
		return 1;
	}
	return 0;
}

int
blockmap_source_get(void *arg, const struct cid *c, struct buf *out)
{
	const uint8_t	*p;
	size_t		 len;

	if ((p = blockmap_get(arg, c, &len)) == NULL)
		return 1;
	buf_reset(out);
	return buf_append(out, p, len);
}
