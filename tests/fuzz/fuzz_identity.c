/*
 * fuzz_identity.c: libFuzzer entry point for the parsers of untrusted
 * identity data: DNS TXT answers (resolve_dns_txt_did), bodies of
 * /.well-known/atproto-did (resolve_wellknown_did), DID documents
 * (resolve_diddoc_parse) and PLC operations (plc_op_parse, then
 * plc_op_validate / plc_op_normalize / plc_op_update / plc_op_verify on
 * what parsed).
 * The first byte picks the parser; the rest is its input.
 * Seeds: tests/fuzz/corpus/identity/.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "cbor.h"
#include "plc.h"
#include "resolve.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fuzz_plc(const char *p, size_t len)
{
	static const char *const keys[] = {
	    "did:key:zQ3shjyJXUaRJC2GC43mX8aPrUhoTdoiongXhZjsdTzPKYZUM" };
	struct arena	 a;
	struct cbor_val	*op, *up;
	struct cid	 c;
	const char	*why;
	char		 did[PLC_DID_LEN];
	size_t		 which;

	arena_init(&a);
	if (plc_op_parse(&a, p, len, 0, &op, &why) == PLC_OK) {
		(void)plc_op_validate(op, 1, &why);
		(void)plc_op_type(op);
		(void)plc_op_normalize(&a, op);
		(void)plc_op_update(&a, op, "fuzz.test", &up);
		(void)plc_op_verify(op, keys, 1, &which);
		(void)plc_op_did(op, did);
		(void)plc_op_cid(op, &c);
	}
	arena_free(&a);
}

static void
fuzz_diddoc(const char *p, size_t len)
{
	struct resolve_atproto	 at;
	struct arena		 a;
	const char		*why;
	json_t			*doc = NULL;

	arena_init(&a);
	if (resolve_diddoc_parse(&a, p, len, "did:plc:fuzz", &doc, &at,
	    &why) == 0)
		json_decref(doc);
	(void)resolve_diddoc_parse(&a, p, len, "did:web:fuzz.test", NULL, &at,
	    &why);
	arena_free(&a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	did[LIM_DID_LEN + 1];

	if (size < 1)
		return 0;
	switch (data[0] % 4) {
	case 0:
		(void)resolve_dns_txt_did(data + 1, size - 1, did, sizeof(did));
		break;
	case 1:
		(void)resolve_wellknown_did((const char *)data + 1, size - 1, did,
		    sizeof(did));
		break;
	case 2:
		fuzz_diddoc((const char *)data + 1, size - 1);
		break;
	default:
		fuzz_plc((const char *)data + 1, size - 1);
		break;
	}
	return 0;
}
