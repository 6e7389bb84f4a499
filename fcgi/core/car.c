/*
 * car.c: CAR v1 writer and bounded streaming reader.  See car.h.
 *
 * Owns the CAR framing only: varints, the {roots, version} header and the
 * CID + bytes block frames.  It does not interpret block contents (MST
 * nodes, commits and records are the repo modules' business).
 */
#include <string.h>

#include "arena.h"
#include "car.h"
#include "cbor.h"
#include "enc.h"

#define CAR_READ_CHUNK	(64u << 10)	/* bytes asked of a read callback */
/* largest frame the reader accepts: a CID plus LIM_CAR_BLOCK of data */
#define CAR_FRAME_MAX	((uint64_t)LIM_CAR_BLOCK + LIM_CID_BYTES)

static const char *const car_errs[CAR_ERR__MAX] = {
	"ok",						/* CAR_OK */
	"end of CAR",					/* CAR_END */
	"CAR truncated",				/* CAR_ERR_TRUNCATED */
	"bad varint in CAR",				/* CAR_ERR_VARINT */
	"CAR header size out of range",			/* CAR_ERR_HEADER_SIZE */
	"malformed CAR header",				/* CAR_ERR_HEADER */
	"unsupported CAR version",			/* CAR_ERR_VERSION */
	"too many CAR roots",				/* CAR_ERR_ROOTS */
	"CAR block too large",				/* CAR_ERR_BLOCK_SIZE */
	"bad CID in CAR block",				/* CAR_ERR_CID */
	"CAR block does not match its CID",		/* CAR_ERR_HASH */
	"CAR I/O error",				/* CAR_ERR_IO */
	"out of memory",				/* CAR_ERR_NOMEM */
};

const char *
car_err_str(enum car_err e)
{
	if ((unsigned)e >= CAR_ERR__MAX)
		return "unknown CAR error";
	return car_errs[e];
}

/* ==== writer ========================================================== */

void
car_writer_init(struct car_writer *w, car_write_fn fn, void *arg)
{
	w->fn = fn;
	w->arg = arg;
	w->bytes = 0;
	w->nblocks = 0;
}

static enum car_err
car_emit(struct car_writer *w, const void *p, size_t len)
{
	if (len == 0)
		return CAR_OK;
	if (w->fn(w->arg, p, len) == -1)
		return CAR_ERR_IO;
	w->bytes += len;
	return CAR_OK;
}

static enum car_err
car_emit_varint(struct car_writer *w, uint64_t v)
{
	uint8_t	vb[ENC_VARINT_MAX];

	return car_emit(w, vb, enc_varint_encode(v, vb));
}

/*
 * The header map's keys in canonical DAG-CBOR order: "roots" (5 bytes)
 * sorts before "version" (7 bytes).
 */
enum car_err
car_write_header(struct car_writer *w, const struct cid *roots,
    size_t nroots)
{
	struct buf	 h;
	enum car_err	 e = CAR_ERR_NOMEM;
	size_t		 i;

	if (nroots > LIM_CAR_ROOTS)
		return CAR_ERR_ROOTS;
	buf_init(&h, LIM_CAR_HEADER);
	if (cbor_put_map(&h, 2) == -1 || cbor_put_cstr(&h, "roots") == -1 ||
	    cbor_put_array(&h, nroots) == -1)
		goto out;
	for (i = 0; i < nroots; i++)
		if (cbor_put_link(&h, &roots[i]) == -1)
			goto out;
	if (cbor_put_cstr(&h, "version") == -1 || cbor_put_uint(&h, 1) == -1)
		goto out;
	if ((e = car_emit_varint(w, h.len)) == CAR_OK)
		e = car_emit(w, h.data, h.len);
out:
	buf_free(&h);
	return e;
}

enum car_err
car_write_block(struct car_writer *w, const struct cid *c, const void *p,
    size_t len)
{
	enum car_err	e;

	if (len > LIM_CAR_BLOCK)
		return CAR_ERR_BLOCK_SIZE;
	if ((e = car_emit_varint(w, (uint64_t)CID_BIN_LEN + len)) != CAR_OK ||
	    (e = car_emit(w, c->bytes, CID_BIN_LEN)) != CAR_OK ||
	    (e = car_emit(w, p, len)) != CAR_OK)
		return e;
	w->nblocks++;
	return CAR_OK;
}

int
car_buf_write(void *arg, const void *p, size_t len)
{
	return buf_append(arg, p, len);
}

/* ==== reader ========================================================== */

/* Bytes available at the read position. */
static size_t
car_avail(const struct car_reader *r)
{
	if (r->fn == NULL)
		return r->memlen - r->pos;
	return r->win.len - r->pos;
}

static const uint8_t *
car_cur(const struct car_reader *r)
{
	return (r->fn == NULL ? r->mem : r->win.data) + r->pos;
}

/*
 * Makes at least n bytes available (n is bounded by CAR_FRAME_MAX by the
 * callers), fewer only at end of input.  In stream mode, consumed bytes
 * are dropped from the window first so it never grows past one frame plus
 * one read chunk.
 */
static enum car_err
car_fill(struct car_reader *r, size_t n)
{
	ssize_t	got;

	if (r->fn == NULL)
		return CAR_OK;
	if (r->pos > 0 && r->win.len - r->pos < n) {
		memmove(r->win.data, r->win.data + r->pos, r->win.len - r->pos);
		r->win.len -= r->pos;
		r->pos = 0;
	}
	while (!r->eof && r->win.len - r->pos < n) {
		if (buf_reserve(&r->win, CAR_READ_CHUNK) == -1)
			return CAR_ERR_NOMEM;
		got = r->fn(r->arg, r->win.data + r->win.len, CAR_READ_CHUNK);
		if (got < 0 || (size_t)got > CAR_READ_CHUNK)
			return CAR_ERR_IO;
		if (got == 0)
			r->eof = 1;
		r->win.len += (size_t)got;
	}
	return CAR_OK;
}

static void
car_consume(struct car_reader *r, size_t n)
{
	r->pos += n;
	r->offset += n;
}

/*
 * Reads a frame-length varint.  *end is set when the input ends cleanly
 * before its first byte.  A varint cut off by the end of input is
 * CAR_ERR_TRUNCATED; one with a continuation bit on its ninth byte, a
 * non-minimal encoding or a value >= 2^63 is CAR_ERR_VARINT.
 */
static enum car_err
car_read_varint(struct car_reader *r, uint64_t *v, int *end)
{
	const uint8_t	*p;
	size_t		 avail, i;
	ssize_t		 n;
	enum car_err	 e;

	*end = 0;
	if ((e = car_fill(r, ENC_VARINT_MAX)) != CAR_OK)
		return e;
	if ((avail = car_avail(r)) == 0) {
		*end = 1;
		return CAR_OK;
	}
	p = car_cur(r);
	if ((n = enc_varint_decode(p, avail, v)) < 0) {
		for (i = 0; i < avail && i < ENC_VARINT_MAX; i++)
			if ((p[i] & 0x80) == 0)
				return CAR_ERR_VARINT;
		return avail < ENC_VARINT_MAX ? CAR_ERR_TRUNCATED :
		    CAR_ERR_VARINT;
	}
	car_consume(r, (size_t)n);
	return CAR_OK;
}

/* Checks the decoded header value: exactly {roots: [links], version: 1}. */
static enum car_err
car_header_check(struct car_reader *r, const struct cbor_val *v)
{
	const struct cbor_val	*roots, *ver;
	size_t			 i;

	if (v->type != CBOR_MAP || v->u.m.n != 2)
		return CAR_ERR_HEADER;
	roots = cbor_map_get(v, "roots");
	ver = cbor_map_get(v, "version");
	if (roots == NULL || ver == NULL || roots->type != CBOR_ARRAY ||
	    ver->type != CBOR_INT)
		return CAR_ERR_HEADER;
	if (ver->u.i != 1)
		return CAR_ERR_VERSION;
	if (roots->u.a.n > LIM_CAR_ROOTS)
		return CAR_ERR_ROOTS;
	for (i = 0; i < roots->u.a.n; i++) {
		if (roots->u.a.items[i]->type != CBOR_LINK)
			return CAR_ERR_HEADER;
		r->roots[i] = roots->u.a.items[i]->u.link;
	}
	r->nroots = roots->u.a.n;
	return CAR_OK;
}

static enum car_err
car_read_header(struct car_reader *r)
{
	struct arena	 a;
	struct cbor_val	*v = NULL;
	uint64_t	 hlen;
	int		 end;
	enum car_err	 e;
	enum cbor_err	 ce;

	if ((e = car_read_varint(r, &hlen, &end)) != CAR_OK)
		return e;
	if (end)
		return CAR_ERR_TRUNCATED;
	if (hlen == 0 || hlen > LIM_CAR_HEADER)
		return CAR_ERR_HEADER_SIZE;
	if ((e = car_fill(r, (size_t)hlen)) != CAR_OK)
		return e;
	if (car_avail(r) < hlen)
		return CAR_ERR_TRUNCATED;
	arena_init(&a);
	ce = cbor_decode(&a, car_cur(r), (size_t)hlen, &v);
	if (ce == CBOR_ERR_NOMEM)
		e = CAR_ERR_NOMEM;
	else if (ce != CBOR_OK)
		e = CAR_ERR_HEADER;
	else
		e = car_header_check(r, v);
	arena_free(&a);
	if (e == CAR_OK)
		car_consume(r, (size_t)hlen);
	return e;
}

static void
car_reader_zero(struct car_reader *r)
{
	memset(r, 0, sizeof(*r));
	r->verify = 1;
	buf_init(&r->win, CAR_FRAME_MAX + CAR_READ_CHUNK);
}

enum car_err
car_reader_init_mem(struct car_reader *r, const uint8_t *p, size_t len)
{
	car_reader_zero(r);
	r->mem = p;
	r->memlen = len;
	return r->err = car_read_header(r);
}

enum car_err
car_reader_init_fn(struct car_reader *r, car_read_fn fn, void *arg)
{
	car_reader_zero(r);
	r->fn = fn;
	r->arg = arg;
	return r->err = car_read_header(r);
}

/* Parses one frame of flen bytes at the read position. */
static enum car_err
car_frame(struct car_reader *r, size_t flen, struct cid *c,
    const uint8_t **p, size_t *len)
{
	struct cid	 chk;
	const uint8_t	*f = car_cur(r);
	ssize_t		 clen;

	if ((clen = cid_parse_bytes(c, f, flen)) < 0)
		return CAR_ERR_CID;
	if (flen - (size_t)clen > LIM_CAR_BLOCK)
		return CAR_ERR_BLOCK_SIZE;
	*p = f + clen;
	*len = flen - (size_t)clen;
	if (r->verify) {
		cid_compute(&chk, cid_codec(c), *p, *len);
		if (!cid_equal(&chk, c))
			return CAR_ERR_HASH;
	}
	return CAR_OK;
}

enum car_err
car_reader_next(struct car_reader *r, struct cid *c, const uint8_t **p,
    size_t *len)
{
	uint64_t	flen;
	int		end;
	enum car_err	e;

	if (r->err != CAR_OK)
		return r->err;
	if ((e = car_read_varint(r, &flen, &end)) != CAR_OK)
		goto fail;
	if (end)
		return r->err = CAR_END;
	if (flen > CAR_FRAME_MAX) {
		e = CAR_ERR_BLOCK_SIZE;
		goto fail;
	}
	if ((e = car_fill(r, (size_t)flen)) != CAR_OK)
		goto fail;
	if (car_avail(r) < flen) {
		e = CAR_ERR_TRUNCATED;
		goto fail;
	}
	if ((e = car_frame(r, (size_t)flen, c, p, len)) != CAR_OK)
		goto fail;
	car_consume(r, (size_t)flen);
	r->nblocks++;
	return CAR_OK;
fail:
	return r->err = e;
}

void
car_reader_fini(struct car_reader *r)
{
	if (r == NULL)
		return;
	buf_free(&r->win);
	r->mem = NULL;
	r->memlen = r->pos = 0;
}
