/*
 * tool_cbor.c: a line-oriented driver of the DAG-CBOR core, for the Node
 * differential test (tests/integration/cbor-diff.test.mjs), plus the
 * micro-benchmark (tests/bench/bench_cbor.c, compiled in here because the
 * Makefile's tool rule builds one source per program).
 *
 *   tool_cbor json     stdin: one JSON text per line
 *   tool_cbor cbor     stdin: one hex-encoded CBOR item per line
 *   tool_cbor record   stdin: JSON lines, also checked as records
 *   tool_cbor bench [records [milliseconds per operation]]
 *
 * For each input line one output line:
 *   OK <TAB> canonical CBOR hex <TAB> CID <TAB> JSON text
 *   ERR <TAB> error text
 * The JSON text is cbor_json_write()'s (JSON.stringify-compatible), which
 * never holds a raw TAB or newline.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "buf.h"
#include "cbor.h"
#include "cbor_json.h"
#include "cid.h"
#include "enc.h"
#include "pds_limits.h"

#include "../bench/bench_cbor.c"

#define TOOL_LINE_MAX	(2 * (size_t)LIM_CBOR_TOTAL + 2)  /* hex of the largest item */

enum tool_mode { MODE_JSON, MODE_CBOR, MODE_RECORD };

static int
put_err(const char *what)
{
	return printf("ERR\t%s\n", what) < 0 ? -1 : 0;
}

/* Writes the OK line for v: canonical bytes, CID, JSON text. */
static int
put_ok(const struct cbor_val *v, struct buf *b, char **hex, size_t *hexcap)
{
	struct cid	c;
	char		cs[CID_STR_LEN];
	size_t		start;

	buf_reset(b);
	if (cbor_encode_cid(b, v, &c) == -1)
		return put_err("encode failed");
	cid_format(&c, cs);
	if (ENC_HEX_LEN(b->len) > *hexcap) {
		free(*hex);
		*hexcap = ENC_HEX_LEN(b->len);
		if ((*hex = malloc(*hexcap)) == NULL)
			return -1;
	}
	enc_hex_encode(b->data, b->len, *hex);
	start = b->len;
	if (cbor_json_write(b, v) == -1)
		return put_err("JSON write failed");
	return printf("OK\t%s\t%s\t%.*s\n", *hex, cs, (int)(b->len - start),
	    (const char *)b->data + start) < 0 ? -1 : 0;
}

static int
one_line(enum tool_mode mode, struct arena *a, const char *line, size_t len,
    struct buf *b, char **hex, size_t *hexcap)
{
	struct cbor_val		*v;
	uint8_t			*bin;
	enum cbor_json_err	 je;
	enum cbor_err		 ce;
	ssize_t			 n;

	if (mode == MODE_CBOR) {
		if ((bin = arena_alloc(a, len / 2 + 1)) == NULL)
			return -1;
		if ((n = enc_hex_decode(line, len, bin, len / 2 + 1)) < 0)
			return put_err("bad hex");
		if ((ce = cbor_decode(a, bin, (size_t)n, &v)) != CBOR_OK)
			return put_err(cbor_err_str(ce));
		if (cbor_check(bin, (size_t)n) != CBOR_OK)
			return put_err("check and decode disagree");
		return put_ok(v, b, hex, hexcap);
	}
	if ((je = cbor_json_parse(a, line, len, &v)) != CJ_OK)
		return put_err(cbor_json_err_str(je));
	if (mode == MODE_RECORD &&
	    (je = cbor_json_record_validate(v)) != CJ_OK)
		return put_err(cbor_json_err_str(je));
	return put_ok(v, b, hex, hexcap);
}

static int
run_lines(enum tool_mode mode)
{
	struct arena	 a;
	struct buf	 b;
	char		*line = NULL, *hex = NULL;
	size_t		 cap = 0, hexcap = 0, len;
	ssize_t		 n;
	int		 rc = 0;

	arena_init(&a);
	buf_init(&b, 0);
	while ((n = getline(&line, &cap, stdin)) != -1) {
		len = (size_t)n;
		if (len > 0 && line[len - 1] == '\n')
			len--;
		if (len > TOOL_LINE_MAX)
			rc = put_err("line too long");
		else
			rc = one_line(mode, &a, line, len, &b, &hex, &hexcap);
		arena_reset(&a);
		if (rc == -1)
			break;
	}
	if (fflush(stdout) != 0)
		rc = -1;
	free(line);
	free(hex);
	buf_free(&b);
	arena_free(&a);
	return rc == -1 ? 1 : 0;
}

int
main(int argc, char *argv[])
{
	if (argc >= 2 && strcmp(argv[1], "json") == 0)
		return run_lines(MODE_JSON);
	if (argc >= 2 && strcmp(argv[1], "cbor") == 0)
		return run_lines(MODE_CBOR);
	if (argc >= 2 && strcmp(argv[1], "record") == 0)
		return run_lines(MODE_RECORD);
	if (argc >= 2 && strcmp(argv[1], "bench") == 0)
		return bench_cbor_main(argc - 1, argv + 1);
	fprintf(stderr, "usage: tool_cbor json|cbor|record|bench "
	    "[records [ms]]\n");
	return 2;
}
