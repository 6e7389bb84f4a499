/*
 * arena.h: a bump allocator for one request (STYLE.md 6.4).
 *
 * Everything a request needs is allocated here and released at once by
 * arena_reset() after the response is written.  Allocations are 16-byte
 * aligned.  The total is capped (LIM_ARENA_BYTES); past it allocations
 * fail with NULL, like any allocator.
 */
#ifndef PDS_ARENA_H
#define PDS_ARENA_H

#include <stddef.h>

struct arena_chunk;

struct arena {
	struct arena_chunk	*head;	/* newest chunk first */
	size_t			 total;	/* bytes held in all chunks */
	size_t			 max;	/* cap on total; 0 = LIM_ARENA_BYTES */
};

/* Sets up an empty arena (no allocation yet). */
void	 arena_init(struct arena *a);
/* Releases every chunk; accepts NULL. */
void	 arena_free(struct arena *a);
/* Releases everything allocated, keeping the first chunk for reuse. */
void	 arena_reset(struct arena *a);
/* Returns n bytes owned by the arena, or NULL (limit or ENOMEM).
 * n == 0 returns a valid unique pointer. */
void	*arena_alloc(struct arena *a, size_t n);
/* As arena_alloc(), zeroed, with an overflow-checked n * size. */
void	*arena_calloc(struct arena *a, size_t n, size_t size);
/* Copies len bytes and a NUL into the arena.  NULL on failure. */
char	*arena_strndup(struct arena *a, const char *s, size_t len);
char	*arena_strdup(struct arena *a, const char *s);
/* Copies len bytes into the arena.  NULL on failure. */
void	*arena_memdup(struct arena *a, const void *p, size_t len);
/* printf into the arena.  NULL on failure. */
char	*arena_printf(struct arena *a, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#endif
