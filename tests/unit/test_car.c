/*
 * test_car.c: CAR v1 writer and reader: round trips in memory and
 * through a read callback fed in awkward chunk sizes, then a table of
 * malformed and over-limit inputs, each refused with its precise error.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "t.h"
#include "buf.h"
#include "car.h"
#include "cbor.h"
#include "enc.h"

struct feed {
	const uint8_t	*p;
	size_t		 len;
	size_t		 pos;
	unsigned	 seed;		/* 0: one byte at a time */
	int		 fail_at;	/* fail once pos reaches it (-1 never) */
};

static ssize_t
feed_read(void *arg, void *out, size_t n)
{
	struct feed	*f = arg;
	size_t		 k;

	if (f->fail_at >= 0 && f->pos >= (size_t)f->fail_at)
		return -1;
	k = f->seed == 0 ? 1 : 1 + (size_t)rand_r(&f->seed) % 70000;
	if (k > n)
		k = n;
	if (k > f->len - f->pos)
		k = f->len - f->pos;
	if (k > 0)
		memcpy(out, f->p + f->pos, k);
	f->pos += k;
	return (ssize_t)k;
}

/* A CAR of nblocks blocks of growing sizes (the last one big). */
static void
make_car(struct buf *out, size_t nroots, size_t nblocks, struct cid *cids)
{
	struct car_writer	 w;
	struct cid		 roots[LIM_CAR_ROOTS];
	uint8_t			*data;
	size_t			 i, len;

	data = malloc(LIM_CAR_BLOCK);
	for (i = 0; i < LIM_CAR_BLOCK; i++)
		data[i] = (uint8_t)(i * 7 + 3);
	car_writer_init(&w, car_buf_write, out);
	for (i = 0; i < nroots; i++)
		cid_compute(&roots[i], CID_CODEC_DAG_CBOR, &i, sizeof(i));
	T_EQ_INT(car_write_header(&w, roots, nroots), CAR_OK);
	for (i = 0; i < nblocks; i++) {
		len = i + 1 == nblocks ? LIM_CAR_BLOCK : i * 37;
		cid_compute(&cids[i], i % 2 ? CID_CODEC_RAW :
		    CID_CODEC_DAG_CBOR, data, len);
		T_EQ_INT(car_write_block(&w, &cids[i], data, len), CAR_OK);
	}
	T_EQ_INT(w.nblocks, nblocks);
	T_EQ_INT(w.bytes, out->len);
	free(data);
}

static void
check_blocks(struct car_reader *r, const struct cid *cids, size_t n)
{
	struct cid	 c;
	const uint8_t	*p;
	size_t		 len, i;

	for (i = 0; i < n; i++) {
		T_EQ_INT(car_reader_next(r, &c, &p, &len), CAR_OK);
		T_OK(cid_equal(&c, &cids[i]), "block %zu cid", i);
		T_EQ_INT(len, i + 1 == n ? LIM_CAR_BLOCK : i * 37);
		if (len > 0)
			T_EQ_INT(p[len - 1], (uint8_t)((len - 1) * 7 + 3));
	}
	T_EQ_INT(car_reader_next(r, &c, &p, &len), CAR_END);
	T_EQ_INT(car_reader_next(r, &c, &p, &len), CAR_END);
	T_EQ_INT(r->nblocks, n);
}

static void
test_roundtrip(void)
{
	struct buf		 b;
	struct car_reader	 r;
	struct cid		 cids[40];
	struct feed		 f;
	unsigned		 seeds[] = { 0, 1, 2, 3 };
	size_t			 i;

	buf_init(&b, 0);
	make_car(&b, 2, 40, cids);
	T_EQ_INT(car_reader_init_mem(&r, b.data, b.len), CAR_OK);
	T_EQ_INT(r.nroots, 2);
	check_blocks(&r, cids, 40);
	T_EQ_INT(r.offset, b.len);
	car_reader_fini(&r);
	for (i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		f = (struct feed){ b.data, b.len, 0, seeds[i], -1 };
		T_EQ_INT(car_reader_init_fn(&r, feed_read, &f), CAR_OK);
		T_EQ_INT(r.nroots, 2);
		check_blocks(&r, cids, 40);
		/* the window never holds much more than one block */
		T_OK(r.win.cap <= LIM_CAR_BLOCK + (200u << 10),
		    "window %zu", r.win.cap);
		car_reader_fini(&r);
	}
	/* a read error surfaces as CAR_ERR_IO, and sticks */
	f = (struct feed){ b.data, b.len, 0, 9, 5000 };
	T_EQ_INT(car_reader_init_fn(&r, feed_read, &f), CAR_OK);
	{
		struct cid	 c;
		const uint8_t	*p;
		size_t		 len;
		enum car_err	 e;

		while ((e = car_reader_next(&r, &c, &p, &len)) == CAR_OK)
			;
		T_EQ_INT(e, CAR_ERR_IO);
		T_EQ_INT(car_reader_next(&r, &c, &p, &len), CAR_ERR_IO);
	}
	car_reader_fini(&r);
	buf_free(&b);
}

static void
test_writer_limits(void)
{
	struct buf		 b;
	struct car_writer	 w;
	struct cid		 roots[LIM_CAR_ROOTS + 1], c;
	struct car_reader	 r;
	size_t			 i;

	buf_init(&b, 0);
	car_writer_init(&w, car_buf_write, &b);
	for (i = 0; i <= LIM_CAR_ROOTS; i++)
		cid_compute(&roots[i], CID_CODEC_DAG_CBOR, &i, sizeof(i));
	T_EQ_INT(car_write_header(&w, roots, LIM_CAR_ROOTS + 1),
	    CAR_ERR_ROOTS);
	T_EQ_INT(b.len, 0);
	T_EQ_INT(car_write_header(&w, roots, LIM_CAR_ROOTS), CAR_OK);
	cid_compute(&c, CID_CODEC_RAW, "", 0);
	T_EQ_INT(car_write_block(&w, &c, "", LIM_CAR_BLOCK + 1),
	    CAR_ERR_BLOCK_SIZE);
	T_EQ_INT(car_reader_init_mem(&r, b.data, b.len), CAR_OK);
	T_EQ_INT(r.nroots, LIM_CAR_ROOTS);
	car_reader_fini(&r);
	/* no roots (getBlocks) */
	buf_reset(&b);
	car_writer_init(&w, car_buf_write, &b);
	T_EQ_INT(car_write_header(&w, NULL, 0), CAR_OK);
	T_EQ_INT(car_reader_init_mem(&r, b.data, b.len), CAR_OK);
	T_EQ_INT(r.nroots, 0);
	car_reader_fini(&r);
	/* a buffer that refuses */
	buf_free(&b);
	buf_init(&b, 10);
	car_writer_init(&w, car_buf_write, &b);
	T_EQ_INT(car_write_header(&w, roots, 1), CAR_ERR_IO);
	buf_free(&b);
}

/* ---- malformed input -------------------------------------------------- */

/* Appends varint(len(hdr)) + hdr. */
static void
put_header(struct buf *b, const struct buf *hdr)
{
	uint8_t	v[ENC_VARINT_MAX];

	buf_append(b, v, enc_varint_encode(hdr->len, v));
	buf_append(b, hdr->data, hdr->len);
}

/* Builds a header map by hand: nroots links, version, optionally the keys
 * in the wrong order or an extra key. */
static void
hdr_map(struct buf *h, size_t nroots, int64_t version, int wrong_order,
    int extra)
{
	struct cid	c;
	size_t		i;

	cid_compute(&c, CID_CODEC_DAG_CBOR, "r", 1);
	cbor_put_map(h, extra ? 3 : 2);
	if (wrong_order) {
		cbor_put_cstr(h, "version");
		cbor_put_int(h, version);
	}
	cbor_put_cstr(h, "roots");
	cbor_put_array(h, nroots);
	for (i = 0; i < nroots; i++)
		cbor_put_link(h, &c);
	if (!wrong_order) {
		cbor_put_cstr(h, "version");
		cbor_put_int(h, version);
	}
	if (extra) {
		cbor_put_cstr(h, "zzzzzzzz");
		cbor_put_null(h);
	}
}

static enum car_err
read_all(const uint8_t *p, size_t len)
{
	struct car_reader	 r;
	struct cid		 c;
	const uint8_t		*bp;
	size_t			 blen;
	enum car_err		 e;

	if ((e = car_reader_init_mem(&r, p, len)) == CAR_OK)
		while ((e = car_reader_next(&r, &c, &bp, &blen)) == CAR_OK)
			;
	car_reader_fini(&r);
	return e == CAR_END ? CAR_OK : e;
}

static enum car_err
read_all_stream(const uint8_t *p, size_t len)
{
	struct car_reader	 r;
	struct feed		 f = { p, len, 0, 0, -1 };
	struct cid		 c;
	const uint8_t		*bp;
	size_t			 blen;
	enum car_err		 e;

	if ((e = car_reader_init_fn(&r, feed_read, &f)) == CAR_OK)
		while ((e = car_reader_next(&r, &c, &bp, &blen)) == CAR_OK)
			;
	car_reader_fini(&r);
	return e == CAR_END ? CAR_OK : e;
}

static void
expect(const struct buf *b, enum car_err want, const char *what)
{
	enum car_err	m = read_all(b->data, b->len);
	enum car_err	s = read_all_stream(b->data, b->len);

	T_OK(m == want, "%s: memory reader: %s, want %s", what,
	    car_err_str(m), car_err_str(want));
	T_OK(s == want, "%s: stream reader: %s, want %s", what,
	    car_err_str(s), car_err_str(want));
}

/* A valid header with one root, then the bytes of tail. */
static void
car_with(struct buf *b, const void *tail, size_t n)
{
	struct buf	h;

	buf_reset(b);
	buf_init(&h, 0);
	hdr_map(&h, 1, 1, 0, 0);
	put_header(b, &h);
	buf_append(b, tail, n);
	buf_free(&h);
}

static void
test_malformed_header(void)
{
	struct buf	b, h;
	uint8_t		big[ENC_VARINT_MAX];

	buf_init(&b, 0);
	buf_init(&h, 0);
	expect(&b, CAR_ERR_TRUNCATED, "empty");
	buf_append(&b, "\x80", 1);
	expect(&b, CAR_ERR_TRUNCATED, "cut varint");
	buf_reset(&b);
	buf_append(&b, "\x81\x00", 2);
	expect(&b, CAR_ERR_VARINT, "non-minimal varint");
	buf_reset(&b);
	buf_append(&b, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10);
	expect(&b, CAR_ERR_VARINT, "10-byte varint");
	buf_reset(&b);
	buf_append(&b, "\x00", 1);
	expect(&b, CAR_ERR_HEADER_SIZE, "zero header");
	buf_reset(&b);
	buf_append(&b, big, enc_varint_encode(LIM_CAR_HEADER + 1, big));
	expect(&b, CAR_ERR_HEADER_SIZE, "oversize header");
	buf_reset(&b);
	buf_append(&b, "\x0a\xa2", 2);
	expect(&b, CAR_ERR_TRUNCATED, "cut header");
	buf_reset(&b);
	buf_append(&b, "\x01\xf6", 2);
	expect(&b, CAR_ERR_HEADER, "header null");
	buf_reset(&b);
	buf_append(&b, "\x01\xff", 2);
	expect(&b, CAR_ERR_HEADER, "header not CBOR");

	hdr_map(&h, 1, 1, 1, 0);
	buf_reset(&b);
	put_header(&b, &h);
	expect(&b, CAR_ERR_HEADER, "keys out of order");
	buf_reset(&h);
	hdr_map(&h, 1, 1, 0, 1);
	buf_reset(&b);
	put_header(&b, &h);
	expect(&b, CAR_ERR_HEADER, "extra key");
	buf_reset(&h);
	hdr_map(&h, 1, 2, 0, 0);
	buf_reset(&b);
	put_header(&b, &h);
	expect(&b, CAR_ERR_VERSION, "version 2");
	buf_reset(&h);
	hdr_map(&h, LIM_CAR_ROOTS + 1, 1, 0, 0);
	buf_reset(&b);
	put_header(&b, &h);
	expect(&b, CAR_ERR_ROOTS, "too many roots");
	buf_reset(&h);
	hdr_map(&h, LIM_CAR_ROOTS, 1, 0, 0);
	buf_reset(&b);
	put_header(&b, &h);
	expect(&b, CAR_OK, "max roots");
	/* roots holding a non-link; version as text */
	buf_reset(&h);
	cbor_put_map(&h, 2);
	cbor_put_cstr(&h, "roots");
	cbor_put_array(&h, 1);
	cbor_put_uint(&h, 1);
	cbor_put_cstr(&h, "version");
	cbor_put_uint(&h, 1);
	buf_reset(&b);
	put_header(&b, &h);
	expect(&b, CAR_ERR_HEADER, "root not a link");
	buf_reset(&h);
	cbor_put_map(&h, 2);
	cbor_put_cstr(&h, "roots");
	cbor_put_array(&h, 0);
	cbor_put_cstr(&h, "version");
	cbor_put_cstr(&h, "1");
	buf_reset(&b);
	put_header(&b, &h);
	expect(&b, CAR_ERR_HEADER, "version text");
	/* header followed by garbage inside the declared length */
	buf_reset(&h);
	hdr_map(&h, 0, 1, 0, 0);
	buf_putc(&h, 0);
	buf_reset(&b);
	put_header(&b, &h);
	expect(&b, CAR_ERR_HEADER, "trailing byte in header");
	buf_free(&h);
	buf_free(&b);
}

static void
test_malformed_blocks(void)
{
	struct buf	b, f;
	struct cid	c;
	uint8_t		v[ENC_VARINT_MAX], frame[64];
	size_t		n;

	buf_init(&b, 0);
	buf_init(&f, 0);
	cid_compute(&c, CID_CODEC_DAG_CBOR, "\xa0", 1);
	/* the good frame */
	n = enc_varint_encode(CID_BIN_LEN + 1, v);
	buf_append(&f, v, n);
	buf_append(&f, c.bytes, CID_BIN_LEN);
	buf_append(&f, "\xa0", 1);
	car_with(&b, f.data, f.len);
	expect(&b, CAR_OK, "good block");
	/* every cut of the frame is truncated */
	for (n = 1; n < f.len; n++) {
		car_with(&b, f.data, n);
		expect(&b, CAR_ERR_TRUNCATED, "cut frame");
	}
	/* bytes that do not hash to the CID */
	memcpy(frame, f.data, f.len);
	frame[f.len - 1] = 0xa1;
	car_with(&b, frame, f.len);
	expect(&b, CAR_ERR_HASH, "hash mismatch");
	/* a CID with another hash function (sha1 0x11) or version 0 */
	memcpy(frame, f.data, f.len);
	frame[1 + 2] = 0x11;
	car_with(&b, frame, f.len);
	expect(&b, CAR_ERR_CID, "sha1 CID");
	memcpy(frame, f.data, f.len);
	frame[1] = 0x00;
	car_with(&b, frame, f.len);
	expect(&b, CAR_ERR_CID, "CIDv0 byte");
	/* a frame shorter than a CID; zero-length frame */
	car_with(&b, "\x05\x01\x71\x12\x20\x00", 6);
	expect(&b, CAR_ERR_CID, "short frame");
	car_with(&b, "\x00", 1);
	expect(&b, CAR_ERR_CID, "empty frame");
	/* a declared frame over the block limit, before any data */
	n = enc_varint_encode((uint64_t)LIM_CAR_BLOCK + LIM_CID_BYTES + 1, v);
	car_with(&b, v, n);
	expect(&b, CAR_ERR_BLOCK_SIZE, "oversize frame");
	n = enc_varint_encode(UINT64_C(1) << 62, v);
	car_with(&b, v, n);
	expect(&b, CAR_ERR_BLOCK_SIZE, "huge frame");
	car_with(&b, "\x80\x00", 2);
	expect(&b, CAR_ERR_VARINT, "non-minimal block varint");
	/* a good block, then a bad one: the first is still returned */
	buf_reset(&f);
	buf_append(&f, b.data, 0);
	{
		struct car_reader	 r;
		const uint8_t		*p;
		size_t			 len;
		uint8_t			 two[128];

		n = enc_varint_encode(CID_BIN_LEN + 1, v);
		memcpy(two, v, n);
		memcpy(two + n, c.bytes, CID_BIN_LEN);
		two[n + CID_BIN_LEN] = 0xa0;
		memcpy(two + n + CID_BIN_LEN + 1, two, n + CID_BIN_LEN + 1);
		two[2 * (n + CID_BIN_LEN + 1) - 1] = 0xa1;
		car_with(&b, two, 2 * (n + CID_BIN_LEN + 1));
		T_EQ_INT(car_reader_init_mem(&r, b.data, b.len), CAR_OK);
		T_EQ_INT(car_reader_next(&r, &c, &p, &len), CAR_OK);
		T_EQ_INT(car_reader_next(&r, &c, &p, &len), CAR_ERR_HASH);
		T_EQ_INT(car_reader_next(&r, &c, &p, &len), CAR_ERR_HASH);
		car_reader_fini(&r);
		/* the check can be turned off for trusted input */
		T_EQ_INT(car_reader_init_mem(&r, b.data, b.len), CAR_OK);
		r.verify = 0;
		T_EQ_INT(car_reader_next(&r, &c, &p, &len), CAR_OK);
		T_EQ_INT(car_reader_next(&r, &c, &p, &len), CAR_OK);
		car_reader_fini(&r);
	}
	T_EQ_INT(strcmp(car_err_str(CAR_ERR__MAX), "unknown CAR error"), 0);
	buf_free(&f);
	buf_free(&b);
}

int
main(void)
{
	test_roundtrip();
	test_writer_limits();
	test_malformed_header();
	test_malformed_blocks();
	car_reader_fini(NULL);
	return t_done("car");
}
