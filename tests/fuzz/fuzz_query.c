/*
 * fuzz_query.c: libFuzzer entry point for the XRPC request parsers
 * (fcgi/xrpc/xrpc_parse.c): the query string and the typed parameter
 * getters, the /xrpc/<nsid> path, Content-Type and Authorization.
 * Every parser gets the whole input.
 */
#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "xrpc_parse.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fuzz_getters(struct arena *a, const struct xrpc_query *q)
{
	static const char *const values[] = { "recent", "usage", NULL };
	const char	**all, *s;
	char		 msg[2048];
	int64_t		 i;
	size_t		 k, n;
	int		 b;

	for (k = 0; k < q->n && k < 4; k++) {
		(void)xrpc_query_int(q, q->v[k].name, 1, 100, &i, msg,
		    sizeof(msg));
		(void)xrpc_query_bool(q, q->v[k].name, &b, msg, sizeof(msg));
		(void)xrpc_query_str(q, q->v[k].name, &s, msg, sizeof(msg));
		(void)xrpc_query_enum(q, q->v[k].name, values, &s, msg,
		    sizeof(msg));
		(void)xrpc_query_all(a, q, q->v[k].name, &all, &n);
		(void)xrpc_query_get(q, q->v[k].name);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena		 a;
	struct xrpc_query	 q;
	enum xrpc_authz		 t;
	const char		*p = (const char *)data, *why, *tok;
	char			 out[600];
	size_t			 len;

	arena_init(&a);
	if (xrpc_query_parse(&a, p, size, &q, &why) == 0)
		fuzz_getters(&a, &q);
	(void)xrpc_path_nsid(p, size, &tok, &len);
	(void)xrpc_mime_parse(p, size, out, sizeof(out));
	(void)xrpc_authz_parse(p, size, &t, &tok, &len, &why);
	xrpc_json_preview(out, sizeof(out), p, size);
	arena_free(&a);
	return 0;
}
