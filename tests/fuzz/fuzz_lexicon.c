/*
 * fuzz_lexicon.c: libFuzzer target for the Lexicon document checker and
 * compiler (lexicon_doc_validate, lexicon_set_add + link) and the record
 * validator over the built-in schemas (lexicon_set_record_validate), and
 * the grapheme counter.
 *
 * The first byte picks the mode: even, the rest is a Lexicon document
 * (also linked and, when it defines a record, used to validate itself as
 * a record); odd, the rest is a record in atproto JSON validated as the
 * built-in record type (byte >> 1) % 20, strict and interop readings,
 * with an rkey taken from the record's "k" field when it is a string.
 */
#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "cbor.h"
#include "cbor_json.h"
#include "grapheme.h"
#include "lexicon.h"
#include "pds_limits.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *const TYPES[20] = {
	"app.bsky.actor.profile", "app.bsky.actor.status",
	"app.bsky.feed.generator", "app.bsky.feed.like", "app.bsky.feed.post",
	"app.bsky.feed.postgate", "app.bsky.feed.repost",
	"app.bsky.feed.threadgate", "app.bsky.graph.block",
	"app.bsky.graph.follow", "app.bsky.graph.list",
	"app.bsky.graph.listblock", "app.bsky.graph.listitem",
	"app.bsky.graph.starterpack", "app.bsky.graph.verification",
	"app.bsky.labeler.service", "app.bsky.notification.declaration",
	"chat.bsky.actor.declaration", "com.atproto.lexicon.schema",
	"com.germnetwork.declaration",
};

static void
doc_mode(const char *p, size_t n)
{
	struct lexicon_set	*s = NULL;
	struct arena		 a;
	struct cbor_val		*v;
	char			 why[LIM_ERR_MSG], id[LIM_NSID_LEN + 1];
	const char		*q, *e;

	(void)lexicon_doc_validate(p, n, why, sizeof(why));
	if (lexicon_set_new(&s) == -1)
		return;
	if (lexicon_set_add(s, p, n, why, sizeof(why)) == 0 &&
	    lexicon_set_link(s, why, sizeof(why)) == 0 &&
	    (q = memmem(p, n, "\"id\":\"", 6)) != NULL &&
	    (e = memchr(q + 6, '"', n - (size_t)(q + 6 - p))) != NULL &&
	    (size_t)(e - q - 6) < sizeof(id)) {
		memcpy(id, q + 6, (size_t)(e - q - 6));
		id[e - q - 6] = '\0';
		arena_init(&a);
		if (cbor_json_parse(&a, p, n, &v) == CJ_OK) {
			(void)lexicon_set_record_validate(s, id, v, "self",
			    NULL, 0, why, sizeof(why));
			(void)lexicon_set_record_validate(s, id, v, NULL,
			    "$.x", LEXICON_F_INTEROP, why, sizeof(why));
		}
		arena_free(&a);
	}
	lexicon_set_free(s);
}

static void
record_mode(unsigned sel, const char *p, size_t n)
{
	const struct lexicon_set	*s = lexicon_builtin();
	struct arena			 a;
	struct cbor_val			*v, *k;
	char				 why[LIM_ERR_MSG], rkey[64];
	const char			*rk = NULL;

	if (s == NULL)
		__builtin_trap();
	arena_init(&a);
	if (cbor_json_parse(&a, p, n, &v) == CJ_OK) {
		if ((k = cbor_map_get(v, "k")) != NULL &&
		    k->type == CBOR_TEXT && k->u.s.len < sizeof(rkey) &&
		    memchr(k->u.s.p, '\0', k->u.s.len) == NULL) {
			memcpy(rkey, k->u.s.p, k->u.s.len);
			rkey[k->u.s.len] = '\0';
			rk = rkey;
		}
		(void)lexicon_set_record_validate(s, TYPES[sel % 20], v, rk,
		    NULL, 0, why, sizeof(why));
		(void)lexicon_set_record_validate(s, TYPES[sel % 20], v, NULL,
		    "$.writes[0].record", LEXICON_F_INTEROP, why, 40);
	}
	arena_free(&a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0 || size > LIM_LEXICON_DOC)
		return 0;
	(void)grapheme_count(data + 1, size - 1);
	if ((data[0] & 1) == 0)
		doc_mode((const char *)data + 1, size - 1);
	else
		record_mode(data[0] >> 1, (const char *)data + 1, size - 1);
	return 0;
}
