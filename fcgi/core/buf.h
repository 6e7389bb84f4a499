/*
 * buf.h: the one growable byte buffer (pointer, length, capacity, maximum).
 *
 * Used for JSON output, CBOR encoding, CAR writing and WebSocket frames
 * (STYLE.md 6.4).  Appends check len + n for overflow and refuse to grow
 * past b->max.  Memory is from the heap; buf_free() releases it.
 */
#ifndef PDS_BUF_H
#define PDS_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t	*data;	/* heap; NULL when empty */
	size_t	 len;	/* bytes used */
	size_t	 cap;	/* bytes allocated */
	size_t	 max;	/* hard limit on len; 0 = LIM_RESPONSE_BUF */
};

/* Sets up an empty buffer that may grow to max bytes (0 = default limit). */
void	buf_init(struct buf *b, size_t max);
/* Releases the storage; accepts NULL; leaves b empty and reusable. */
void	buf_free(struct buf *b);
/* Empties b but keeps its storage. */
void	buf_reset(struct buf *b);
/* Makes room for n more bytes.  Returns 0, or -1 on overflow/limit/ENOMEM. */
int	buf_reserve(struct buf *b, size_t n);
/* Appends bytes.  Return 0 or -1 as buf_reserve(); b is unchanged on -1. */
int	buf_append(struct buf *b, const void *p, size_t n);
int	buf_putc(struct buf *b, uint8_t c);
int	buf_puts(struct buf *b, const char *s);
/* printf-style append.  Returns 0 or -1 (limit, ENOMEM, format error). */
int	buf_printf(struct buf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Appends a NUL without counting it in len, so data may be used as a C
 * string.  Returns 0 or -1. */
int	buf_cstr(struct buf *b);

#endif
