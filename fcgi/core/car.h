/*
 * car.h: CAR v1 files (Content Addressable aRchives), the byte form of
 * repository exports, #commit event blocks and importRepo bodies.
 * ipld.io/specs/transport/car/carv1; atproto.com/specs/repository
 * ("CAR File Serialization"); reference-pds.md e, "CAR files".
 *
 * Layout: varint(len) + header, then blocks, each varint(len) + CID bytes
 * + block bytes.  The header is the canonical DAG-CBOR map
 * {roots: [CID links...], version: 1}.
 *
 * The writer streams through a callback (car_buf_write appends to a
 * struct buf), so a large repository never has to sit in memory.  The
 * reader is a bounded pull parser over (pointer, length) or over a read
 * callback: it checks every block's bytes against its CID and refuses
 * oversize headers and blocks, truncated input, bad varints, headers that
 * are not canonical DAG-CBOR {roots, version: 1}, and more than
 * LIM_CAR_ROOTS roots.  One error convention: enum car_err.
 */
#ifndef PDS_CAR_H
#define PDS_CAR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "cid.h"
#include "pds_limits.h"

enum car_err {
	CAR_OK,
	CAR_END,		/* clean end of input between blocks */
	CAR_ERR_TRUNCATED,	/* input ends inside a varint, header or block */
	CAR_ERR_VARINT,		/* non-minimal, over 9 bytes or >= 2^63 */
	CAR_ERR_HEADER_SIZE,	/* header length 0 or over LIM_CAR_HEADER */
	CAR_ERR_HEADER,		/* header not canonical {roots, version} */
	CAR_ERR_VERSION,	/* version is not 1 */
	CAR_ERR_ROOTS,		/* more than LIM_CAR_ROOTS roots */
	CAR_ERR_BLOCK_SIZE,	/* block data over LIM_CAR_BLOCK */
	CAR_ERR_CID,		/* block CID malformed or not blessed */
	CAR_ERR_HASH,		/* block bytes do not hash to its CID */
	CAR_ERR_IO,		/* the read or write callback failed */
	CAR_ERR_NOMEM,
	CAR_ERR__MAX
};

/* Short English text for an error (static storage). */
const char	*car_err_str(enum car_err);

/* ---- writer ---------------------------------------------------------- */

/* Output callback: writes all of (p, len); returns 0 or -1. */
typedef int	(*car_write_fn)(void *arg, const void *p, size_t len);

struct car_writer {
	car_write_fn	 fn;
	void		*arg;
	uint64_t	 bytes;		/* bytes written so far */
	uint64_t	 nblocks;	/* blocks written so far */
};

/* Sets up w to write through fn(arg, ...).  Nothing is written yet. */
void		car_writer_init(struct car_writer *w, car_write_fn fn,
		    void *arg);
/* Writes the header with nroots roots (0 .. LIM_CAR_ROOTS; getBlocks
 * writes none).  Returns CAR_OK, CAR_ERR_ROOTS, CAR_ERR_NOMEM or
 * CAR_ERR_IO. */
enum car_err	car_write_header(struct car_writer *w, const struct cid *roots,
		    size_t nroots);
/* Writes one block; the caller vouches that (p, len) hashes to c.
 * Returns CAR_OK, CAR_ERR_BLOCK_SIZE (len > LIM_CAR_BLOCK) or
 * CAR_ERR_IO. */
enum car_err	car_write_block(struct car_writer *w, const struct cid *c,
		    const void *p, size_t len);
/* A car_write_fn appending to the struct buf given as arg (its max
 * applies).  Returns 0 or -1. */
int		car_buf_write(void *arg, const void *p, size_t len);

/* ---- reader ---------------------------------------------------------- */

/* Input callback: reads up to len bytes into p; returns the count, 0 at
 * end of input, or -1 on error. */
typedef ssize_t	(*car_read_fn)(void *arg, void *p, size_t len);

struct car_reader {
	/* memory mode: the whole input; stream mode: the window in win */
	const uint8_t	*mem;
	size_t		 memlen;
	size_t		 pos;		/* next unread byte in mem or win */
	car_read_fn	 fn;		/* NULL in memory mode */
	void		*arg;
	struct buf	 win;		/* stream mode read-ahead window */
	int		 eof;		/* fn returned 0 */
	int		 verify;	/* check block hashes (default 1) */
	struct cid	 roots[LIM_CAR_ROOTS];
	size_t		 nroots;
	uint64_t	 offset;	/* input bytes consumed */
	uint64_t	 nblocks;	/* blocks returned */
	enum car_err	 err;		/* sticky error, CAR_OK if none */
};

/* Opens a CAR held in (p, len) and parses its header.  p must outlive the
 * reader; blocks point into it.  Returns CAR_OK or an error; in every
 * case call car_reader_fini(). */
enum car_err	car_reader_init_mem(struct car_reader *r, const uint8_t *p,
		    size_t len);
/* Opens a CAR read through fn(arg, ...) and parses its header.  Memory is
 * bounded by LIM_CAR_BLOCK plus a read chunk.  Returns as above. */
enum car_err	car_reader_init_fn(struct car_reader *r, car_read_fn fn,
		    void *arg);
/* Returns the next block: CAR_OK and sets *c and (*p, *len), valid until
 * the next call or car_reader_fini(); CAR_END at a clean end; or an
 * error (sticky: later calls return it again). */
enum car_err	car_reader_next(struct car_reader *r, struct cid *c,
		    const uint8_t **p, size_t *len);
/* Releases the reader's window; accepts NULL. */
void		car_reader_fini(struct car_reader *r);

#endif
