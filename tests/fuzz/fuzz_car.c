/*
 * fuzz_car.c: libFuzzer target for the CAR reader (memory and stream
 * modes must agree block for block) and, through repo_verify_car(), the
 * MST node and commit parsers that read what a CAR carries.
 */
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "blockmap.h"
#include "car.h"
#include "repo.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct feed {
	const uint8_t	*p;
	size_t		 len;
	size_t		 pos;
};

/* Hands out the input in chunks of 1..7 bytes chosen by its own bytes. */
static ssize_t
feed_read(void *arg, void *out, size_t n)
{
	struct feed	*f = arg;
	size_t		 k;

	if (f->pos >= f->len)
		return 0;
	k = 1 + f->p[f->pos] % 7;
	if (k > n)
		k = n;
	if (k > f->len - f->pos)
		k = f->len - f->pos;
	memcpy(out, f->p + f->pos, k);
	f->pos += k;
	return (ssize_t)k;
}

static void
compare_modes(const uint8_t *data, size_t size)
{
	struct car_reader	 a, b;
	struct feed		 f = { data, size, 0 };
	struct cid		 ca, cb;
	const uint8_t		*pa, *pb;
	size_t			 la, lb;
	enum car_err		 ea, eb;

	ea = car_reader_init_mem(&a, data, size);
	eb = car_reader_init_fn(&b, feed_read, &f);
	if (ea != eb)
		__builtin_trap();
	while (ea == CAR_OK) {
		ea = car_reader_next(&a, &ca, &pa, &la);
		eb = car_reader_next(&b, &cb, &pb, &lb);
		if (ea != eb)
			__builtin_trap();
		if (ea == CAR_OK && (!cid_equal(&ca, &cb) || la != lb ||
		    memcmp(pa, pb, la) != 0))
			__builtin_trap();
	}
	car_reader_fini(&a);
	car_reader_fini(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct blockmap		bm;
	struct repo_verified	v;
	enum car_err		ce;

	compare_modes(data, size);
	blockmap_init(&bm, 1u << 24);
	(void)repo_verify_car(data, size, NULL, NULL, &bm, &v, &ce);
	blockmap_fini(&bm);
	return 0;
}
