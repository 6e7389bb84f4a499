/*
 * fuzz_json_cbor.c: libFuzzer target for the atproto JSON -> DAG-CBOR ->
 * JSON mapping.
 *
 * Input is JSON text.  When cbor_json_parse() accepts it: the CBOR bytes
 * decode strictly and re-encode identically; the JSON text written back
 * (cbor_json_write) and the jansson form (cbor_to_json) both convert again
 * to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "arena.h"
#include "buf.h"
#include "cbor.h"
#include "cbor_json.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Encodes v and compares with want. */
static void
same_bytes(const struct cbor_val *v, const struct buf *want)
{
	struct buf	b;

	buf_init(&b, 0);
	if (cbor_encode(&b, v) == -1 || b.len != want->len ||
	    memcmp(b.data, want->data, b.len) != 0)
		abort();
	buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t len)
{
	static struct arena	 a;
	static int		 ready;
	struct cbor_val		*v, *d, *w;
	struct buf		 b, t;
	json_t			*j;

	if (!ready) {
		arena_init(&a);
		ready = 1;
	}
	if (cbor_json_parse(&a, (const char *)p, len, &v) != CJ_OK)
		goto out;
	buf_init(&b, 0);
	buf_init(&t, 0);
	if (cbor_encode(&b, v) == -1)
		abort();
	/* strict decode of our own output, and exact re-encoding */
	if (cbor_decode(&a, b.data, b.len, &d) != CBOR_OK)
		abort();
	same_bytes(d, &b);
	/* JSON text back and forth */
	if (cbor_json_write(&t, d) == -1 ||
	    cbor_json_parse(&a, (const char *)t.data, t.len, &w) != CJ_OK)
		abort();
	same_bytes(w, &b);
	/* the jansson form too */
	if ((j = cbor_to_json(d)) == NULL || cbor_from_json(&a, j, &w) != CJ_OK)
		abort();
	json_decref(j);
	same_bytes(w, &b);
	(void)cbor_json_record_validate(v);
	buf_free(&b);
	buf_free(&t);
out:
	arena_reset(&a);
	return 0;
}
