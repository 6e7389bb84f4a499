/*
 * commit.c: build, sign, encode, parse and verify v3 commits.  See
 * commit.h.  Owns the commit block only; which MST root and which rev go
 * into it is repo.c's business.
 */
#include <string.h>

#include "arena.h"
#include "cbor.h"
#include "commit.h"
#include "syntax.h"

static const char *const commit_errs[COMMIT_ERR__MAX] = {
	"ok",						/* COMMIT_OK */
	"commit is not canonical DAG-CBOR",		/* COMMIT_ERR_CBOR */
	"malformed commit object",			/* COMMIT_ERR_FORMAT */
	"unsupported commit version",			/* COMMIT_ERR_VERSION */
	"invalid DID in commit",			/* COMMIT_ERR_DID */
	"invalid commit rev",				/* COMMIT_ERR_REV */
	"commit is not signed",				/* COMMIT_ERR_UNSIGNED */
	"invalid commit signature",			/* COMMIT_ERR_SIG */
	"signing key error",				/* COMMIT_ERR_KEY */
	"output limit reached",				/* COMMIT_ERR_LIMIT */
	"out of memory",				/* COMMIT_ERR_NOMEM */
};

const char *
commit_err_str(enum commit_err e)
{
	if ((unsigned)e >= COMMIT_ERR__MAX)
		return "unknown commit error";
	return commit_errs[e];
}

static enum commit_err
set_did(struct commit *c, const char *did, size_t len)
{
	if (len > LIM_DID_LEN || syntax_did_validate(did, len, NULL) == -1)
		return COMMIT_ERR_DID;
	memcpy(c->did, did, len);
	c->did[len] = '\0';
	c->didlen = len;
	return COMMIT_OK;
}

static enum commit_err
set_rev(struct commit *c, const char *rev, size_t len)
{
	if (tid_validate(rev, len, NULL) == -1)
		return COMMIT_ERR_REV;
	memcpy(c->rev, rev, len);
	c->rev[len] = '\0';
	return COMMIT_OK;
}

enum commit_err
commit_init(struct commit *c, const char *did, size_t didlen,
    const struct cid *data, const char *rev, size_t revlen)
{
	enum commit_err	e;

	memset(c, 0, sizeof(*c));
	c->version = COMMIT_VERSION;
	c->data = *data;
	if ((e = set_did(c, did, didlen)) != COMMIT_OK)
		return e;
	return set_rev(c, rev, revlen);
}

enum commit_err
commit_next_rev(const char *prev, size_t prevlen, char rev[TID_STR_LEN])
{
	uint64_t	pv = 0, v;

	if (prev != NULL && prevlen > 0 && tid_parse(prev, prevlen, &pv) == -1)
		return COMMIT_ERR_REV;
	if (tid_next_after(pv, &v) == -1)
		return COMMIT_ERR_REV;
	tid_format(v, rev);
	return COMMIT_OK;
}

/*
 * Canonical order of the keys: by length, then bytewise: did, rev, sig
 * (3 bytes), data, prev (4), version (7).  The unsigned form leaves sig
 * out.
 */
static enum commit_err
encode(const struct commit *c, struct buf *b, int with_sig)
{
	if (cbor_put_map(b, with_sig ? 6 : 5) == -1 ||
	    cbor_put_cstr(b, "did") == -1 ||
	    cbor_put_text(b, c->did, c->didlen) == -1 ||
	    cbor_put_cstr(b, "rev") == -1 ||
	    cbor_put_cstr(b, c->rev) == -1)
		return COMMIT_ERR_LIMIT;
	if (with_sig && (cbor_put_cstr(b, "sig") == -1 ||
	    cbor_put_bytes(b, c->sig, c->siglen) == -1))
		return COMMIT_ERR_LIMIT;
	if (cbor_put_cstr(b, "data") == -1 ||
	    cbor_put_link(b, &c->data) == -1 ||
	    cbor_put_cstr(b, "prev") == -1 ||
	    (c->has_prev ? cbor_put_link(b, &c->prev) :
	    cbor_put_null(b)) == -1 ||
	    cbor_put_cstr(b, "version") == -1 ||
	    cbor_put_int(b, c->version) == -1)
		return COMMIT_ERR_LIMIT;
	return COMMIT_OK;
}

enum commit_err
commit_encode_unsigned(const struct commit *c, struct buf *out)
{
	return encode(c, out, 0);
}

enum commit_err
commit_encode(const struct commit *c, struct buf *out)
{
	if (c->siglen == 0)
		return COMMIT_ERR_UNSIGNED;
	return encode(c, out, 1);
}

enum commit_err
commit_cid(const struct commit *c, struct cid *out)
{
	struct buf	b;
	enum commit_err	e;

	buf_init(&b, LIM_CAR_BLOCK);
	if ((e = commit_encode(c, &b)) == COMMIT_OK)
		cid_compute(out, CID_CODEC_DAG_CBOR, b.data, b.len);
	buf_free(&b);
	return e;
}

enum commit_err
commit_sign(struct commit *c, const struct key *k)
{
	struct buf	b;
	enum commit_err	e;

	buf_init(&b, LIM_CAR_BLOCK);
	if ((e = commit_encode_unsigned(c, &b)) == COMMIT_OK) {
		if (key_sign(k, b.data, b.len, c->sig) == KEY_OK)
			c->siglen = KEY_SIG_LEN;
		else
			e = COMMIT_ERR_KEY;
	}
	buf_free(&b);
	return e;
}

/* Pulls the six fields out of the decoded map v. */
static enum commit_err
parse_fields(struct commit *c, const struct cbor_val *v)
{
	const struct cbor_val	*did, *rev, *sig, *data, *prev, *ver;

	if (v->type != CBOR_MAP || v->u.m.n != 6 ||
	    (did = cbor_map_get(v, "did")) == NULL ||
	    (rev = cbor_map_get(v, "rev")) == NULL ||
	    (sig = cbor_map_get(v, "sig")) == NULL ||
	    (data = cbor_map_get(v, "data")) == NULL ||
	    (prev = cbor_map_get(v, "prev")) == NULL ||
	    (ver = cbor_map_get(v, "version")) == NULL)
		return COMMIT_ERR_FORMAT;
	if (did->type != CBOR_TEXT || rev->type != CBOR_TEXT ||
	    sig->type != CBOR_BYTES || data->type != CBOR_LINK ||
	    (prev->type != CBOR_LINK && prev->type != CBOR_NULL) ||
	    ver->type != CBOR_INT)
		return COMMIT_ERR_FORMAT;
	if (ver->u.i != COMMIT_VERSION)
		return COMMIT_ERR_VERSION;
	c->version = ver->u.i;
	if (set_did(c, (const char *)did->u.s.p, did->u.s.len) != COMMIT_OK)
		return COMMIT_ERR_DID;
	if (set_rev(c, (const char *)rev->u.s.p, rev->u.s.len) != COMMIT_OK)
		return COMMIT_ERR_REV;
	if (sig->u.s.len != KEY_SIG_LEN)
		return COMMIT_ERR_SIG;
	memcpy(c->sig, sig->u.s.p, KEY_SIG_LEN);
	c->siglen = KEY_SIG_LEN;
	c->data = data->u.link;
	if (prev->type == CBOR_LINK) {
		c->has_prev = 1;
		c->prev = prev->u.link;
	}
	return COMMIT_OK;
}

enum commit_err
commit_parse(struct commit *c, const uint8_t *p, size_t len)
{
	struct arena	 a;
	struct cbor_val	*v = NULL;
	enum cbor_err	 ce;
	enum commit_err	 e;

	memset(c, 0, sizeof(*c));
	arena_init(&a);
	ce = cbor_decode(&a, p, len, &v);
	if (ce == CBOR_ERR_NOMEM)
		e = COMMIT_ERR_NOMEM;
	else if (ce != CBOR_OK)
		e = COMMIT_ERR_CBOR;
	else
		e = parse_fields(c, v);
	arena_free(&a);
	return e;
}

enum commit_err
commit_verify(const struct commit *c, const struct key *k)
{
	struct buf	b;
	enum commit_err	e;

	if (c->siglen == 0)
		return COMMIT_ERR_UNSIGNED;
	buf_init(&b, LIM_CAR_BLOCK);
	if ((e = commit_encode_unsigned(c, &b)) == COMMIT_OK &&
	    key_verify(k, b.data, b.len, c->sig, c->siglen, 0) != KEY_OK)
		e = COMMIT_ERR_SIG;
	buf_free(&b);
	return e;
}

enum commit_err
commit_verify_did(const struct commit *c, const char *didkey, size_t len)
{
	struct key	*k = NULL;
	enum commit_err	 e;

	if (key_parse_did(didkey, len, &k) != KEY_OK)
		return COMMIT_ERR_KEY;
	e = commit_verify(c, k);
	key_free(k);
	return e;
}
