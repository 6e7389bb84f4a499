/*
 * fuzz_cbor.c: libFuzzer target for the strict DAG-CBOR decoder.
 *
 * Checks, on every input: cbor_check() agrees with cbor_decode(); an
 * accepted input re-encodes to exactly itself (the decoder accepts only
 * canonical bytes); its JSON text parses back to the same bytes unless the
 * JSON form cannot hold it (integers beyond 2^53-1, "__proto__", NUL in a
 * key, maps with a "$link" or "$bytes" key); the CID, jansson and record-check paths run without faults.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "arena.h"
#include "buf.h"
#include "cbor.h"
#include "cbor_json.h"
#include "cid.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* 1 when some map has a "$link" or "$bytes" key: its JSON form reads
 * back as a link or bytes (or is refused), the mapping's one ambiguity. */
static int
has_special(const struct cbor_val *v)
{
	size_t	i;

	if (v->type == CBOR_ARRAY) {
		for (i = 0; i < v->u.a.n; i++)
			if (has_special(v->u.a.items[i]))
				return 1;
	} else if (v->type == CBOR_MAP) {
		if (cbor_map_get(v, "$link") != NULL ||
		    cbor_map_get(v, "$bytes") != NULL)
			return 1;
		for (i = 0; i < v->u.m.n; i++)
			if (has_special(v->u.m.pairs[i].val))
				return 1;
	}
	return 0;
}

static void
json_roundtrip(struct arena *a, const struct cbor_val *v, const uint8_t *p,
    size_t len)
{
	struct cbor_val		*w;
	struct buf		 t, b;
	enum cbor_json_err	 e;

	buf_init(&t, 0);
	buf_init(&b, 0);
	if (cbor_json_write(&t, v) == -1)
		abort();
	if (has_special(v))
		goto out;
	e = cbor_json_parse(a, (const char *)t.data, t.len, &w);
	if (e == CJ_OK) {
		if (cbor_encode(&b, w) == -1 || b.len != len ||
		    memcmp(b.data, p, len) != 0)
			abort();
	} else if (e != CJ_ERR_RANGE && e != CJ_ERR_KEY &&
	    e != CJ_ERR_SYNTAX) {
		abort();
	}
out:
	buf_free(&t);
	buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t len)
{
	static struct arena	 a;
	static int		 ready;
	struct cbor_val		*v;
	struct buf		 b;
	struct cid		 c;
	enum cbor_err		 e;
	json_t			*j;

	if (!ready) {
		arena_init(&a);
		ready = 1;
	}
	e = cbor_decode(&a, p, len, &v);
	if (e != CBOR_ERR_NOMEM && cbor_check(p, len) != e)
		abort();
	if (e == CBOR_OK) {
		buf_init(&b, 0);
		if (cbor_encode(&b, v) == -1 || b.len != len ||
		    memcmp(b.data, p, len) != 0)
			abort();
		buf_free(&b);
		if (cbor_cid(v, &c) == -1)
			abort();
		if ((j = cbor_to_json(v)) == NULL)
			abort();
		json_decref(j);
		(void)cbor_json_record_validate(v);
		json_roundtrip(&a, v, p, len);
	}
	arena_reset(&a);
	return 0;
}
