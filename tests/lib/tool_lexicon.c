/*
 * tool_lexicon.c: a line-oriented driver of the record validator and the
 * grapheme counter, for the Node differential test against the reference
 * PDS's own validators (tests/integration/lexicon.test.mjs).
 *
 *   stdin:  one JSON object per line, either
 *           {"nsid": s, "rkey": s|null, "path": s|null, "record": value}
 *           or {"graphemes": s}
 *   stdout: one JSON object per line: {"status": "valid"|"unknown"|
 *           "invalid"|"error", "message": s} or {"graphemes": n}, or
 *           {"error": s} for a line that is not such an object (the
 *           record's own JSON not being atproto data gives
 *           {"status": "bad-record", "message": <why>}).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "arena.h"
#include "cbor.h"
#include "cbor_json.h"
#include "grapheme.h"
#include "lexicon.h"
#include "pds_limits.h"

#define TOOL_LINE_MAX	(4u << 20)

static const char *const STATUS[LEXICON__MAX] = {
	"valid", "unknown", "invalid", "error",
};

static void
put(json_t *o)
{
	char	*s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);

	puts(s != NULL ? s : "{\"error\":\"out of memory\"}");
	free(s);
	json_decref(o);
}

static void
run(const char *line, size_t len)
{
	json_t		*in, *r, *g;
	struct arena	 a;
	struct cbor_val	*v;
	char		 why[LIM_ERR_MSG * 4];
	const char	*nsid, *rkey, *path;
	int		 st;

	if ((in = json_loadb(line, len, JSON_ALLOW_NUL, NULL)) == NULL) {
		put(json_pack("{s:s}", "error", "bad line"));
		return;
	}
	if (json_is_string(g = json_object_get(in, "graphemes"))) {
		put(json_pack("{s:I}", "graphemes", (json_int_t)grapheme_count(
		    (const uint8_t *)json_string_value(g),
		    json_string_length(g))));
		json_decref(in);
		return;
	}
	nsid = json_string_value(json_object_get(in, "nsid"));
	rkey = json_string_value(json_object_get(in, "rkey"));
	path = json_string_value(json_object_get(in, "path"));
	r = json_object_get(in, "record");
	arena_init(&a);
	if (nsid == NULL || r == NULL)
		put(json_pack("{s:s}", "error", "need nsid and record"));
	else if (cbor_from_json(&a, r, &v) != CJ_OK)
		put(json_pack("{s:s,s:s}", "status", "bad-record", "message",
		    "not atproto data"));
	else {
		st = lexicon_record_validate(nsid, v, rkey, path, why,
		    sizeof(why));
		put(json_pack("{s:s,s:s}", "status", STATUS[st], "message",
		    why));
	}
	arena_free(&a);
	json_decref(in);
}

int
main(void)
{
	char	*line = malloc(TOOL_LINE_MAX);
	size_t	 n;

	if (line == NULL || lexicon_builtin() == NULL)
		return 1;
	while (fgets(line, (int)TOOL_LINE_MAX, stdin) != NULL) {
		n = strlen(line);
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		run(line, n);
		(void)fflush(stdout);
	}
	free(line);
	return 0;
}
