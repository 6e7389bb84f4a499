/*
 * arena.c: per-request bump allocator.  See arena.h.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "pds_limits.h"

#define ARENA_CHUNK	(64u << 10)	/* default chunk, bytes */
#define ARENA_ALIGN	16

struct arena_chunk {
	struct arena_chunk	*next;
	size_t			 size;	/* usable bytes in mem[] */
	size_t			 used;
	_Alignas(16) unsigned char mem[];
};

void
arena_init(struct arena *a)
{
	a->head = NULL;
	a->total = 0;
	a->max = LIM_ARENA_BYTES;
}

void
arena_free(struct arena *a)
{
	struct arena_chunk	*c, *n;

	if (a == NULL)
		return;
	for (c = a->head; c != NULL; c = n) {
		n = c->next;
		free(c);
	}
	a->head = NULL;
	a->total = 0;
}

void
arena_reset(struct arena *a)
{
	struct arena_chunk	*c, *n, *last = NULL;

	/* Keep the oldest (first allocated, default-sized) chunk. */
	for (c = a->head; c != NULL; c = n) {
		n = c->next;
		if (n == NULL)
			last = c;
		else
			free(c);
	}
	a->head = last;
	a->total = 0;
	if (last != NULL) {
		last->used = 0;
		a->total = last->size;
	}
}

void *
arena_alloc(struct arena *a, size_t n)
{
	struct arena_chunk	*c = a->head;
	size_t			 sz;
	void			*p;

	if (a->max == 0)
		a->max = LIM_ARENA_BYTES;
	if (n > a->max)
		return NULL;
	n = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (n == 0)
		n = ARENA_ALIGN;
	if (c == NULL || c->size - c->used < n) {
		sz = n > ARENA_CHUNK ? n : ARENA_CHUNK;
		if (a->total + sz > a->max)
			return NULL;
		if ((c = malloc(sizeof(*c) + sz)) == NULL)
			return NULL;
		c->size = sz;
		c->used = 0;
		if (a->head != NULL && n > ARENA_CHUNK) {
			/* A large one-off goes behind the current chunk so
			 * the current chunk's free space is not lost. */
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = a->head;
			a->head = c;
		}
		a->total += sz;
	}
	p = c->mem + c->used;
	c->used += n;
	return p;
}

void *
arena_calloc(struct arena *a, size_t n, size_t size)
{
	void	*p;

	if (size != 0 && n > SIZE_MAX / size)
		return NULL;
	if ((p = arena_alloc(a, n * size)) != NULL)
		memset(p, 0, n * size);
	return p;
}

void *
arena_memdup(struct arena *a, const void *src, size_t len)
{
	void	*p;

	if ((p = arena_alloc(a, len)) != NULL && len > 0)
		memcpy(p, src, len);
	return p;
}

char *
arena_strndup(struct arena *a, const char *s, size_t len)
{
	char	*p;

	if (len == SIZE_MAX || (p = arena_alloc(a, len + 1)) == NULL)
		return NULL;
	if (len > 0)
		memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *
arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

char *
arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;
	char	*p;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || (p = arena_alloc(a, (size_t)n + 1)) == NULL)
		return NULL;
	va_start(ap, fmt);
	n = vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : p;
}
