/*
 * t.h: the unit-test assertion set (after Redis's testhelp.h).
 *
 * Each test program includes this once, calls T_OK()/T_EQ_*() freely and
 * ends main() with `return t_done("name");`, which prints
 * "name: N passed, N failed" and returns the exit status.
 * t_interop_path() finds ../shared/interop (or $PDS_INTEROP_DIR).
 */
#ifndef PDS_T_H
#define PDS_T_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int	t_pass, t_fail;

#define T_OK(cond, ...) do {						\
	if (cond) {							\
		t_pass++;						\
	} else {							\
		t_fail++;						\
		fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__,	\
		    #cond);						\
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
	}								\
} while (0)

#define T_EQ_INT(a, b) do {						\
	long long _a = (long long)(a), _b = (long long)(b);		\
	T_OK(_a == _b, "%lld != %lld", _a, _b);				\
} while (0)

#define T_EQ_STR(a, b) do {						\
	const char *_a = (a), *_b = (b);				\
	T_OK(_a != NULL && _b != NULL && strcmp(_a, _b) == 0,		\
	    "\"%s\" != \"%s\"", _a ? _a : "(null)", _b ? _b : "(null)");\
} while (0)

#define T_EQ_MEM(a, alen, b, blen) do {					\
	size_t _al = (alen), _bl = (blen);				\
	T_OK(_al == _bl && memcmp((a), (b), _al) == 0,			\
	    "memory differs (%zu vs %zu bytes)", _al, _bl);		\
} while (0)

static inline int
t_done(const char *name)
{
	printf("%s: %d passed, %d failed\n", name, t_pass, t_fail);
	return t_fail == 0 ? 0 : 1;
}

/* Returns the interop directory path: $PDS_INTEROP_DIR or the default the
 * Makefile compiles in (T_INTEROP_DIR). */
static inline const char *
t_interop_path(void)
{
	const char	*e = getenv("PDS_INTEROP_DIR");

#ifndef T_INTEROP_DIR
#define T_INTEROP_DIR "../shared/interop"
#endif
	return e != NULL && *e != '\0' ? e : T_INTEROP_DIR;
}

/* Reads a whole file into a malloc'd NUL-terminated buffer; *len gets
 * its size.  Returns NULL on error (and counts a failure). */
static inline char *
t_read_file(const char *path, size_t *len)
{
	FILE	*f;
	char	*p = NULL;
	long	 n;

	if ((f = fopen(path, "rb")) == NULL ||
	    fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0 ||
	    (p = malloc((size_t)n + 1)) == NULL ||
	    fread(p, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "FAIL cannot read %s\n", path);
		t_fail++;
		free(p);
		if (f != NULL)
			fclose(f);
		return NULL;
	}
	fclose(f);
	p[n] = '\0';
	if (len != NULL)
		*len = (size_t)n;
	return p;
}

#endif
