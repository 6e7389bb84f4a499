/*
 * bench_cbor.c: DAG-CBOR micro-benchmark over a realistic record mix
 * (posts with facets, images and replies; likes; follows; MST nodes).
 * Compiled into tests/lib/tool_cbor:
 *   tool_cbor bench [records [milliseconds per operation]]
 * (default 2000 records, 1000 ms).  tests/bench/bench_cbor.mjs builds the
 * same corpus with the same generator (xorshift32, identical call order)
 * and times @ipld/dag-cbor on it; both print the corpus size and the last
 * record's CID, which must agree.  Rates are per CPU second of the process
 * (CLOCK_PROCESS_CPUTIME_ID), not wall time.
 *
 * Not a unit of the core: included by tool_cbor.c, so everything is
 * static.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "buf.h"
#include "cbor.h"
#include "cbor_json.h"
#include "cid.h"
#include "util.h"

#define BENCH_SEED	0x2545f491u
#define BENCH_RECORDS	2000
#define BENCH_MS	1000	/* default time per operation */

static uint32_t	bench_x = BENCH_SEED;

static const char *const bench_words[] = {
	"the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog",
	"atproto", "bluesky", "records", "are", "signed", "and", "stored",
	"in", "a", "merkle", "search", "tree", "café", "naïve", "日本語",
	"テスト", "😀", "👍🏽", "über", "straße", "hello", "world", "#tag",
	"@alice.test",
};
#define BENCH_NWORDS	(sizeof(bench_words) / sizeof(bench_words[0]))

static int	bench_bad;	/* set when building the corpus failed */

static void
bset(struct arena *a, struct cbor_val *m, const char *k, struct cbor_val *v)
{
	if (cbor_map_set(a, m, k, v) == -1)
		bench_bad = 1;
}

static void
bpush(struct arena *a, struct cbor_val *arr, struct cbor_val *v)
{
	if (cbor_array_push(a, arr, v) == -1)
		bench_bad = 1;
}

static uint32_t
bench_rnd(void)
{
	bench_x ^= bench_x << 13;
	bench_x ^= bench_x >> 17;
	bench_x ^= bench_x << 5;
	return bench_x;
}

/* CPU time of this process in microseconds: on a shared machine wall time
 * measures the neighbours too. */
static int64_t
bench_cpu_us(void)
{
	struct timespec	ts;

	if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) == -1)
		return util_mono_us();
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static uint32_t
bench_pick(uint32_t n)
{
	return bench_rnd() % n;
}

static struct cbor_val *
bench_cid(struct arena *a, uint8_t codec, int as_text)
{
	uint8_t		dg[32];
	struct cid	c;
	char		s[CID_STR_LEN];
	uint32_t	w;
	int		i;

	for (i = 0; i < 8; i++) {
		w = bench_rnd();
		dg[4 * i] = (uint8_t)(w >> 24);
		dg[4 * i + 1] = (uint8_t)(w >> 16);
		dg[4 * i + 2] = (uint8_t)(w >> 8);
		dg[4 * i + 3] = (uint8_t)w;
	}
	cid_from_digest(&c, codec, dg);
	if (!as_text)
		return cbor_new_link(a, &c);
	cid_format(&c, s);
	return cbor_new_cstr(a, s);
}

static struct cbor_val *
bench_text(struct arena *a, uint32_t nw)
{
	struct buf	 b;
	struct cbor_val	*v;
	uint32_t	 i;

	buf_init(&b, 0);
	for (i = 0; i < nw; i++) {
		if (i > 0)
			(void)buf_putc(&b, ' ');
		(void)buf_puts(&b, bench_words[bench_pick(BENCH_NWORDS)]);
	}
	v = cbor_new_text(a, b.len > 0 ? (const char *)b.data : "", b.len);
	buf_free(&b);
	return v;
}

static struct cbor_val *
bench_time(struct arena *a, uint32_t i)
{
	char	t[32];

	snprintf(t, sizeof(t), "2024-%02u-%02uT%02u:%02u:%02u.%03uZ",
	    1 + i % 12, 1 + i % 28, i % 24, i % 60, (i * 7) % 60, i % 1000);
	return cbor_new_cstr(a, t);
}

static void
bench_b32(char *o, size_t n)
{
	static const char	alpha[] = "234567abcdefghijklmnopqrstuvwxyz";
	size_t			i;

	for (i = 0; i < n; i++)
		o[i] = alpha[bench_pick(32)];
	o[n] = '\0';
}

static struct cbor_val *
bench_did(struct arena *a)
{
	char	s[40] = "did:plc:";

	bench_b32(s + 8, 24);
	return cbor_new_cstr(a, s);
}

static struct cbor_val *
bench_uri(struct arena *a, const char *coll)
{
	char	did[32], rkey[16], s[160];

	bench_b32(did, 24);
	bench_b32(rkey, 13);
	snprintf(s, sizeof(s), "at://did:plc:%s/%s/%s", did, coll, rkey);
	return cbor_new_cstr(a, s);
}

static struct cbor_val *
bench_strongref(struct arena *a)
{
	struct cbor_val	*m = cbor_new_map(a, 2);

	bset(a, m, "uri", bench_uri(a, "app.bsky.feed.post"));
	bset(a, m, "cid", bench_cid(a, CID_CODEC_DAG_CBOR, 1));
	return m;
}

static struct cbor_val *
bench_images(struct arena *a)
{
	struct cbor_val	*emb = cbor_new_map(a, 2), *imgs, *img, *blob, *ar;
	uint32_t	 i, n;

	bset(a, emb, "$type", cbor_new_cstr(a,
	    "app.bsky.embed.images"));
	imgs = cbor_new_array(a, 4);
	n = 1 + bench_pick(4);
	for (i = 0; i < n; i++) {
		img = cbor_new_map(a, 3);
		bset(a, img, "alt", bench_text(a, bench_pick(8)));
		blob = cbor_new_map(a, 4);
		bset(a, blob, "$type", cbor_new_cstr(a, "blob"));
		bset(a, blob, "ref", bench_cid(a, CID_CODEC_RAW, 0));
		bset(a, blob, "mimeType", cbor_new_cstr(a,
		    "image/jpeg"));
		bset(a, blob, "size", cbor_new_int(a,
		    bench_pick(1000000)));
		bset(a, img, "image", blob);
		ar = cbor_new_map(a, 2);
		bset(a, ar, "width", cbor_new_int(a,
		    1 + bench_pick(4000)));
		bset(a, ar, "height", cbor_new_int(a,
		    1 + bench_pick(4000)));
		bset(a, img, "aspectRatio", ar);
		bpush(a, imgs, img);
	}
	bset(a, emb, "images", imgs);
	return emb;
}

static struct cbor_val *
bench_facets(struct arena *a)
{
	struct cbor_val	*fs = cbor_new_array(a, 1), *f, *idx, *feats, *ft;
	struct cbor_val	*w;
	char		 uri[256];

	f = cbor_new_map(a, 2);
	idx = cbor_new_map(a, 2);
	bset(a, idx, "byteStart", cbor_new_int(a, bench_pick(100)));
	bset(a, idx, "byteEnd", cbor_new_int(a,
	    100 + bench_pick(100)));
	bset(a, f, "index", idx);
	feats = cbor_new_array(a, 1);
	ft = cbor_new_map(a, 2);
	bset(a, ft, "$type", cbor_new_cstr(a,
	    "app.bsky.richtext.facet#link"));
	w = bench_text(a, 1);
	snprintf(uri, sizeof(uri), "https://example.com/%.*s",
	    (int)w->u.s.len, (const char *)w->u.s.p);
	bset(a, ft, "uri", cbor_new_cstr(a, uri));
	bpush(a, feats, ft);
	bset(a, f, "features", feats);
	bpush(a, fs, f);
	return fs;
}

static struct cbor_val *
bench_post(struct arena *a, uint32_t i)
{
	struct cbor_val	*m = cbor_new_map(a, 8), *langs, *reply;

	bset(a, m, "$type", cbor_new_cstr(a, "app.bsky.feed.post"));
	bset(a, m, "text", bench_text(a, 3 + bench_pick(40)));
	bset(a, m, "createdAt", bench_time(a, i));
	langs = cbor_new_array(a, 2);
	bpush(a, langs, cbor_new_cstr(a, "en"));
	if (bench_pick(2) == 0)
		bpush(a, langs, cbor_new_cstr(a, "ja"));
	bset(a, m, "langs", langs);
	if (bench_pick(3) == 0)
		bset(a, m, "facets", bench_facets(a));
	if (bench_pick(4) == 0)
		bset(a, m, "embed", bench_images(a));
	if (bench_pick(5) == 0) {
		reply = cbor_new_map(a, 2);
		bset(a, reply, "root", bench_strongref(a));
		bset(a, reply, "parent", bench_strongref(a));
		bset(a, m, "reply", reply);
	}
	return m;
}

static struct cbor_val *
bench_mst(struct arena *a)
{
	struct cbor_val	*m = cbor_new_map(a, 2), *es, *e;
	char		 key[64], rkey[16];
	uint32_t	 i, n = 4 + bench_pick(13);

	es = cbor_new_array(a, n);
	for (i = 0; i < n; i++) {
		e = cbor_new_map(a, 4);
		bset(a, e, "p", cbor_new_int(a, bench_pick(40)));
		bench_b32(rkey, 13);
		snprintf(key, sizeof(key), "app.bsky.feed.post/%s", rkey);
		bset(a, e, "k", cbor_new_bytes(a, key, strlen(key)));
		bset(a, e, "v", bench_cid(a, CID_CODEC_DAG_CBOR, 0));
		bset(a, e, "t", bench_pick(3) == 0 ?
		    bench_cid(a, CID_CODEC_DAG_CBOR, 0) : cbor_new_null(a));
		bpush(a, es, e);
	}
	bset(a, m, "l", bench_pick(2) != 0 ?
	    bench_cid(a, CID_CODEC_DAG_CBOR, 0) : cbor_new_null(a));
	bset(a, m, "e", es);
	return m;
}

static struct cbor_val *
bench_record(struct arena *a, uint32_t i)
{
	struct cbor_val	*m;
	uint32_t	 k = bench_pick(10);

	if (k < 5)
		return bench_post(a, i);
	if (k < 8) {
		m = cbor_new_map(a, 3);
		bset(a, m, "$type", cbor_new_cstr(a,
		    "app.bsky.feed.like"));
		bset(a, m, "subject", bench_strongref(a));
		bset(a, m, "createdAt", bench_time(a, i));
		return m;
	}
	if (k == 8) {
		m = cbor_new_map(a, 3);
		bset(a, m, "$type", cbor_new_cstr(a,
		    "app.bsky.graph.follow"));
		bset(a, m, "subject", bench_did(a));
		bset(a, m, "createdAt", bench_time(a, i));
		return m;
	}
	return bench_mst(a);
}

struct bench_corpus {
	size_t		  n;
	struct buf	  cbor;		/* all records back to back */
	size_t		 *off;		/* n + 1 offsets into cbor */
	struct buf	  json;
	size_t		 *joff;		/* n + 1 offsets into json */
	struct cbor_val	**trees;	/* decoded, in the corpus arena */
};

static int
bench_build(struct bench_corpus *bc, struct arena *a, size_t n)
{
	struct cbor_val	*v;
	size_t		 i;

	bc->n = n;
	buf_init(&bc->cbor, 0);
	buf_init(&bc->json, 0);
	bc->off = calloc(n + 1, sizeof(*bc->off));
	bc->joff = calloc(n + 1, sizeof(*bc->joff));
	bc->trees = calloc(n, sizeof(*bc->trees));
	if (bc->off == NULL || bc->joff == NULL || bc->trees == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if ((v = bench_record(a, (uint32_t)i)) == NULL || bench_bad ||
		    cbor_encode(&bc->cbor, v) == -1 ||
		    cbor_json_write(&bc->json, v) == -1)
			return -1;
		bc->off[i + 1] = bc->cbor.len;
		bc->joff[i + 1] = bc->json.len;
	}
	for (i = 0; i < n; i++)
		if (cbor_decode(a, bc->cbor.data + bc->off[i],
		    bc->off[i + 1] - bc->off[i], &bc->trees[i]) != CBOR_OK)
			return -1;
	return 0;
}

static void
bench_corpus_free(struct bench_corpus *bc)
{
	buf_free(&bc->cbor);
	buf_free(&bc->json);
	free(bc->off);
	free(bc->joff);
	free(bc->trees);
}

enum bench_op { OP_DECODE, OP_CHECK, OP_ENCODE, OP_ENCODE_CID,
    OP_JSON_TO_CBOR, OP_CBOR_TO_JSON, OP__MAX };

static const char *const bench_op_names[OP__MAX] = {
	"decode",			/* OP_DECODE */
	"check (no tree)",		/* OP_CHECK */
	"encode",			/* OP_ENCODE */
	"encode + CID",			/* OP_ENCODE_CID */
	"JSON text -> CBOR",		/* OP_JSON_TO_CBOR */
	"CBOR -> JSON text",		/* OP_CBOR_TO_JSON */
};

/* One pass of op over the corpus; returns the input bytes or 0 on error. */
static size_t
bench_pass(const struct bench_corpus *bc, enum bench_op op, struct arena *a,
    struct buf *b)
{
	struct cbor_val	*v;
	struct cid	 c;
	size_t		 i, bytes = 0, len;
	const uint8_t	*p;

	for (i = 0; i < bc->n; i++) {
		p = bc->cbor.data + bc->off[i];
		len = bc->off[i + 1] - bc->off[i];
		buf_reset(b);
		switch (op) {
		case OP_DECODE:
			if (cbor_decode(a, p, len, &v) != CBOR_OK)
				return 0;
			break;
		case OP_CHECK:
			if (cbor_check(p, len) != CBOR_OK)
				return 0;
			break;
		case OP_ENCODE:
			if (cbor_encode(b, bc->trees[i]) == -1)
				return 0;
			break;
		case OP_ENCODE_CID:
			if (cbor_encode_cid(b, bc->trees[i], &c) == -1)
				return 0;
			break;
		case OP_JSON_TO_CBOR:
			len = bc->joff[i + 1] - bc->joff[i];
			if (cbor_json_parse(a, (const char *)bc->json.data +
			    bc->joff[i], len, &v) != CJ_OK ||
			    cbor_encode(b, v) == -1)
				return 0;
			break;
		default:
			if (cbor_decode(a, p, len, &v) != CBOR_OK ||
			    cbor_json_write(b, v) == -1)
				return 0;
			break;
		}
		bytes += len;
		arena_reset(a);
	}
	return bytes;
}

static int
bench_cbor_main(int argc, char *argv[])
{
	struct bench_corpus	 bc;
	struct arena		 corpus_a, a;
	struct buf		 b;
	struct cid		 last;
	char			 cs[CID_STR_LEN];
	int64_t			 n = BENCH_RECORDS, ms = BENCH_MS, t0, dt;
	size_t			 bytes, total, passes;
	int			 op, rc = 1;

	if ((argc > 1 && util_int_parse_str(argv[1], 1, 1000000, &n) == -1) ||
	    (argc > 2 &&
	    util_int_parse_str(argv[2], 1, 600000, &ms) == -1)) {
		fprintf(stderr, "bench: records 1..1000000, milliseconds "
		    "1..600000\n");
		return 2;
	}
	arena_init(&corpus_a);
	arena_init(&a);
	buf_init(&b, 0);
	memset(&bc, 0, sizeof(bc));
	bench_x = BENCH_SEED;
	if (bench_build(&bc, &corpus_a, (size_t)n) == -1) {
		fprintf(stderr, "bench: corpus build failed\n");
		goto out;
	}
	(void)cid_compute(&last, CID_CODEC_DAG_CBOR,
	    bc.cbor.data + bc.off[bc.n - 1], bc.off[bc.n] - bc.off[bc.n - 1]);
	cid_format(&last, cs);
	printf("corpus: %zu records, %zu bytes CBOR, %zu bytes JSON, "
	    "last CID %s\n", bc.n, bc.cbor.len, bc.json.len, cs);
	for (op = 0; op < OP__MAX; op++) {
		total = passes = 0;
		t0 = bench_cpu_us();
		do {
			if ((bytes = bench_pass(&bc, (enum bench_op)op, &a,
			    &b)) == 0) {
				fprintf(stderr, "bench: %s failed\n",
				    bench_op_names[op]);
				goto out;
			}
			total += bytes;
			passes++;
			dt = bench_cpu_us() - t0;
		} while (dt < ms * 1000);
		printf("C %-18s %8.1f MB/s %10.0f records/s\n",
		    bench_op_names[op], (double)total / (double)dt,
		    (double)(passes * bc.n) * 1e6 / (double)dt);
	}
	rc = 0;
out:
	bench_corpus_free(&bc);
	buf_free(&b);
	arena_free(&a);
	arena_free(&corpus_a);
	return rc;
}
