/*
 * fuzz_didkey.c: libFuzzer entry point for the public-key parsers of
 * keys.c: did:key, multikey, legacy multibase, SEC1 bytes and DID-doc
 * verification methods; each key that parses must re-encode to a form
 * that parses to the same key, and is used once to verify.
 * Seeds: tests/fuzz/corpus/didkey/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check(struct key *k, const uint8_t *data, size_t size)
{
	struct key	*k2 = NULL;
	char		 did[KEY_DID_LEN];

	if (k == NULL)
		return;
	key_did(k, did);
	if (key_parse_did(did, strlen(did), &k2) != KEY_OK ||
	    !key_pub_equal(k, k2))
		abort();
	/* The input doubles as a signature (mostly refused early). */
	(void)key_verify(k, "m", 1, data, size, 0);
	(void)key_verify(k, "m", 1, data, size, KEY_VERIFY_MALLEABLE);
	key_free(k2);
	key_free(k);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*s = (const char *)data;
	struct key	*k = NULL;
	size_t		 cut;
	int		 t;

	if (key_parse_did(s, size, &k) == KEY_OK)
		check(k, data, size);
	if (key_parse_multikey(s, size, &k) == KEY_OK)
		check(k, data, size);
	for (t = 0; t < KEY_TYPE__MAX; t++) {
		if (key_parse_multibase((enum key_type)t, s, size, &k) ==
		    KEY_OK)
			check(k, data, size);
		if (key_load_pub((enum key_type)t, data, size, &k) == KEY_OK)
			check(k, data, size);
	}
	/* "<type>\n<multibase>" drives the DID-doc form. */
	for (cut = 0; cut < size && data[cut] != '\n'; cut++)
		;
	if (cut < size && key_parse_vm(s, cut, s + cut + 1, size - cut - 1,
	    &k) == KEY_OK)
		check(k, data, size);
	return 0;
}
