/*
 * test_cbor.c: DAG-CBOR encoder/decoder and the atproto JSON mapping.
 *
 * Runs every interop data-model vector (fixtures: JSON -> exact CBOR
 * bytes, CBOR -> equal JSON, CID; valid/invalid records), then tables of
 * hostile CBOR (every kind of non-canonical or unsupported encoding,
 * truncation, limits), encoder heads, JSON mapping rows (numbers, $link,
 * $bytes, keys, depth), JSON text output and record validation.
 */
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "t.h"
#include "arena.h"
#include "buf.h"
#include "cbor.h"
#include "cbor_json.h"
#include "cid.h"
#include "enc.h"
#include "pds_limits.h"

#define HEXMAX	4096

/* Decodes a hex string (spaces ignored) into out; returns the length. */
static size_t
unhex(const char *h, uint8_t *out, size_t outsz)
{
	char	 t[2 * HEXMAX];
	size_t	 n = 0;
	ssize_t	 r;

	for (; *h != '\0' && n < sizeof(t); h++)
		if (*h != ' ')
			t[n++] = *h;
	r = enc_hex_decode(t, n, out, outsz);
	T_OK(r >= 0, "bad test hex \"%s\"", h);
	return r < 0 ? 0 : (size_t)r;
}

static char *
tohex(const uint8_t *p, size_t len, char *out)
{
	enc_hex_encode(p, len, out);
	return out;
}

static json_t *
load_vectors(const char *name)
{
	char		 path[1024];
	json_error_t	 err;
	json_t		*j;

	snprintf(path, sizeof(path), "%s/data-model/%s", t_interop_path(),
	    name);
	/* Default flags: 123.0 arrives as a real, as the vectors intend. */
	if ((j = json_load_file(path, 0, &err)) == NULL || !json_is_array(j))
		T_OK(0, "cannot load %s: %s", path, err.text);
	return j;
}

/* ---- interop vectors --------------------------------------------------- */

static void
fixture_one(struct arena *a, json_t *e, size_t idx)
{
	uint8_t			 want[HEXMAX];
	char			 cidstr[CID_STR_LEN];
	const char		*b64, *cidwant;
	struct cbor_val		*v = NULL, *d = NULL;
	struct buf		 b, jb;
	struct cid		 c;
	json_t			*back = NULL, *re = NULL;
	ssize_t			 n;

	buf_init(&b, 0);
	buf_init(&jb, 0);
	b64 = json_string_value(json_object_get(e, "cbor_base64"));
	cidwant = json_string_value(json_object_get(e, "cid"));
	if (b64 == NULL || cidwant == NULL) {
		T_OK(0, "fixture %zu shape", idx);
		goto out;
	}
	n = enc_b64_decode(ENC_B64_STD, b64, strlen(b64), want, sizeof(want));
	T_OK(n > 0, "fixture %zu base64", idx);
	/* JSON -> CBOR: exact bytes and CID */
	T_EQ_INT(cbor_from_json(a, json_object_get(e, "json"), &v), CJ_OK);
	if (v == NULL || n <= 0)
		goto out;
	T_EQ_INT(cbor_encode_cid(&b, v, &c), 0);
	T_EQ_MEM(b.data, b.len, want, (size_t)n);
	cid_format(&c, cidstr);
	T_EQ_STR(cidstr, cidwant);
	/* CBOR -> JSON: equal values (jansson and our text writer) */
	T_EQ_INT(cbor_decode(a, want, (size_t)n, &d), CBOR_OK);
	T_EQ_INT(cbor_check(want, (size_t)n), CBOR_OK);
	if (d == NULL)
		goto out;
	back = cbor_to_json(d);
	T_OK(back != NULL && json_equal(back, json_object_get(e, "json")),
	    "fixture %zu: CBOR -> JSON differs", idx);
	T_EQ_INT(cbor_json_write(&jb, d), 0);
	re = json_loadb((const char *)jb.data, jb.len, 0, NULL);
	T_OK(re != NULL && json_equal(re, json_object_get(e, "json")),
	    "fixture %zu: JSON text differs", idx);
	T_EQ_INT(cbor_cid(d, &c), 0);
	cid_format(&c, cidstr);
	T_EQ_STR(cidstr, cidwant);
	T_EQ_INT(cbor_json_record_validate(d), CJ_OK);
out:
	json_decref(back);
	json_decref(re);
	buf_free(&b);
	buf_free(&jb);
}

static void
test_fixtures(struct arena *a)
{
	json_t	*root, *e;
	size_t	 i, n = 0;

	if ((root = load_vectors("data-model-fixtures.json")) == NULL)
		return;
	json_array_foreach(root, i, e) {
		fixture_one(a, e, i);
		n++;
	}
	printf("data-model-fixtures.json: %zu vectors\n", n);
	T_OK(n >= 3, "only %zu fixtures", n);
	json_decref(root);
}

static enum cbor_json_err
record_check(struct arena *a, const json_t *j)
{
	struct cbor_val		*v;
	enum cbor_json_err	 e;

	if ((e = cbor_from_json(a, j, &v)) != CJ_OK)
		return e;
	return cbor_json_record_validate(v);
}

/* The reason each invalid vector must be refused for, by its note; a
 * vector added upstream with a new note only has to be refused. */
static enum cbor_json_err
invalid_reason(const char *note)
{
	static const struct {
		const char		*note;
		enum cbor_json_err	 want;
	} rows[] = {
		{ "top-level not an object", CJ_ERR_NOTMAP },
		{ "float", CJ_ERR_FLOAT },
		{ "record with $type null", CJ_ERR_DOLLARTYPE },
		{ "record with $type wrong type", CJ_ERR_DOLLARTYPE },
		{ "record with empty $type string", CJ_ERR_DOLLARTYPE },
		{ "blob with string size", CJ_ERR_BLOB },
		{ "blob with missing key", CJ_ERR_BLOB },
		{ "bytes with wrong field type", CJ_ERR_BYTES },
		{ "bytes with extra fields", CJ_ERR_BYTES },
		{ "link with wrong field type", CJ_ERR_LINK },
		{ "link with bogus CID", CJ_ERR_LINK },
		{ "link with extra fields", CJ_ERR_LINK },
	};
	size_t	i;

	for (i = 0; note != NULL && i < sizeof(rows) / sizeof(rows[0]); i++)
		if (strcmp(note, rows[i].note) == 0)
			return rows[i].want;
	return CJ_ERR__MAX;
}

static void
test_valid_invalid(struct arena *a)
{
	json_t			*root, *e;
	size_t			 i, n;
	enum cbor_json_err	 r;

	if ((root = load_vectors("data-model-valid.json")) != NULL) {
		n = 0;
		json_array_foreach(root, i, e) {
			r = record_check(a, json_object_get(e, "json"));
			T_OK(r == CJ_OK, "valid \"%s\" refused: %s",
			    json_string_value(json_object_get(e, "note")),
			    cbor_json_err_str(r));
			n++;
		}
		printf("data-model-valid.json: %zu vectors\n", n);
		T_OK(n >= 5, "only %zu valid vectors", n);
		json_decref(root);
	}
	if ((root = load_vectors("data-model-invalid.json")) != NULL) {
		n = 0;
		json_array_foreach(root, i, e) {
			const char	*note;
			enum cbor_json_err want;

			note = json_string_value(json_object_get(e, "note"));
			want = invalid_reason(note);
			r = record_check(a, json_object_get(e, "json"));
			T_OK(r != CJ_OK && (want == CJ_ERR__MAX || r == want),
			    "invalid \"%s\": got \"%s\"", note,
			    cbor_json_err_str(r));
			n++;
		}
		printf("data-model-invalid.json: %zu vectors\n", n);
		T_OK(n >= 12, "only %zu invalid vectors", n);
		json_decref(root);
	}
}

/* ---- decoder: canonical inputs round-trip exactly -------------------- */

static void
test_roundtrip(struct arena *a)
{
	static const char *const rows[] = {
		"00", "17", "1818", "18ff", "190100", "19ffff", "1a00010000",
		"1affffffff", "1b0000000100000000", "1b7fffffffffffffff",
		"20", "37", "3818", "38ff", "390100", "3b7fffffffffffffff",
		"40", "4100", "57" "0102030405060708090a0b0c0d0e0f10111213141516"
		    "17",
		"5818" "0102030405060708090a0b0c0d0e0f101112131415161718",
		"60", "6161", "63e282ac", "64f09f9880", "62c3b6",
		"80", "820102", "8180", "a0", "a1616100",
		"a261610161620a", "a3616101616202626161f6",
		"a2617a00626161f5", "f4", "f5", "f6",
		/* tag 42: dag-cbor and raw CIDs */
		"d82a582500017112206506" "2a5a5a00fc16d73c6944237ccbc15b1c4a72"
		    "344893368" "91d091741a239d0",
		"d82a58250001551220" "4258cfff78f6136976975" "63f926c91e5d3574d"
		    "2ea25ae7ed92d6ebfc23a3889e",
		/* map keys: length first, then bytewise (incl. non-ASCII) */
		"a46161016162026261610362c3b604",
		"a1" "60" "00",
	};
	uint8_t			 in[HEXMAX];
	char			 hx[2 * HEXMAX + 1];
	struct cbor_val		*v;
	struct buf		 b;
	size_t			 i, n;
	enum cbor_err		 e;

	buf_init(&b, 0);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		n = unhex(rows[i], in, sizeof(in));
		e = cbor_decode(a, in, n, &v);
		T_OK(e == CBOR_OK, "row %zu %s: %s", i, rows[i],
		    cbor_err_str(e));
		T_EQ_INT(cbor_check(in, n), CBOR_OK);
		if (e != CBOR_OK)
			continue;
		buf_reset(&b);
		T_EQ_INT(cbor_encode(&b, v), 0);
		T_OK(b.len == n && memcmp(b.data, in, n) == 0,
		    "row %zu re-encodes as %s", i, tohex(b.data, b.len, hx));
	}
	buf_free(&b);
}

/* ---- decoder: hostile inputs ----------------------------------------- */

#define CIDHEX(codec) "01" codec "1220" \
	"65062a5a5a00fc16d73c6944237ccbc15b1c4a72344893368" "91d091741a239d0"

static void
test_hostile(struct arena *a)
{
	static const struct {
		const char	*hex;
		enum cbor_err	 want;
	} rows[] = {
		{ "", CBOR_ERR_TRUNCATED },
		/* non-minimal integer heads */
		{ "1817", CBOR_ERR_NONCANONICAL },
		{ "190017", CBOR_ERR_NONCANONICAL },
		{ "1900ff", CBOR_ERR_NONCANONICAL },
		{ "1a0000ffff", CBOR_ERR_NONCANONICAL },
		{ "1b00000000ffffffff", CBOR_ERR_NONCANONICAL },
		{ "3817", CBOR_ERR_NONCANONICAL },
		{ "3b00000000ffffffff", CBOR_ERR_NONCANONICAL },
		/* non-minimal lengths */
		{ "580100", CBOR_ERR_NONCANONICAL },
		{ "780161", CBOR_ERR_NONCANONICAL },
		{ "79000161", CBOR_ERR_NONCANONICAL },
		{ "980100", CBOR_ERR_NONCANONICAL },
		{ "b801616100", CBOR_ERR_NONCANONICAL },
		{ "d9002a" "5825" "00" CIDHEX("71"), CBOR_ERR_NONCANONICAL },
		{ "d82a" "590025" "00" CIDHEX("71"), CBOR_ERR_NONCANONICAL },
		/* integers outside int64 */
		{ "1b8000000000000000", CBOR_ERR_RANGE },
		{ "1bffffffffffffffff", CBOR_ERR_RANGE },
		{ "3b8000000000000000", CBOR_ERR_RANGE },
		/* map keys: order, duplicates, type */
		{ "a2616201616102", CBOR_ERR_NONCANONICAL },
		{ "a2626161016162 02", CBOR_ERR_NONCANONICAL },
		{ "a2616101616102", CBOR_ERR_DUPKEY },
		{ "a3616101616202616103", CBOR_ERR_NONCANONICAL },
		{ "a10102", CBOR_ERR_KEYTYPE },
		{ "a1416101", CBOR_ERR_KEYTYPE },
		{ "a1f601", CBOR_ERR_KEYTYPE },
		{ "a1800001", CBOR_ERR_KEYTYPE },
		/* indefinite lengths */
		{ "5f4161ff", CBOR_ERR_NONCANONICAL },
		{ "7f6161ff", CBOR_ERR_NONCANONICAL },
		{ "9fff", CBOR_ERR_NONCANONICAL },
		{ "bfff", CBOR_ERR_NONCANONICAL },
		{ "1f", CBOR_ERR_NONCANONICAL },
		/* floats, undefined, other simple values, break */
		{ "f93c00", CBOR_ERR_TYPE },
		{ "fa3f800000", CBOR_ERR_TYPE },
		{ "fb3ff0000000000000", CBOR_ERR_TYPE },
		{ "fb", CBOR_ERR_TYPE },
		{ "f7", CBOR_ERR_TYPE },
		{ "f0", CBOR_ERR_TYPE },
		{ "f820", CBOR_ERR_TYPE },
		{ "ff", CBOR_ERR_TYPE },
		{ "fc", CBOR_ERR_TYPE },
		{ "81f7", CBOR_ERR_TYPE },
		/* reserved additional information */
		{ "1c", CBOR_ERR_TYPE },
		{ "5d", CBOR_ERR_TYPE },
		/* tags other than 42, and bad tag-42 content */
		{ "c06161", CBOR_ERR_TYPE },
		{ "c11a5f000000", CBOR_ERR_TYPE },
		{ "d82b4100", CBOR_ERR_TYPE },
		{ "d82a4100", CBOR_ERR_LINK },
		{ "d82a6161", CBOR_ERR_LINK },
		{ "d82ad82a4100", CBOR_ERR_LINK },
		{ "d82a" "5824" CIDHEX("71"), CBOR_ERR_LINK },
		{ "d82a" "5825" "01" CIDHEX("71"), CBOR_ERR_LINK },
		{ "d82a" "5825" "00" CIDHEX("70"), CBOR_ERR_LINK },
		{ "d82a" "5826" "00" CIDHEX("71") "00", CBOR_ERR_LINK },
		{ "d82a" "5825" "00" "0171" "1320"
		    "65062a5a5a00fc16d73c6944237ccbc15b1c4a72344893368"
		    "91d091741a239d0", CBOR_ERR_LINK },
		/* UTF-8 */
		{ "62c328", CBOR_ERR_UTF8 },
		{ "6180", CBOR_ERR_UTF8 },
		{ "62c080", CBOR_ERR_UTF8 },
		{ "63e08080", CBOR_ERR_UTF8 },
		{ "63eda080", CBOR_ERR_UTF8 },
		{ "64f0808080", CBOR_ERR_UTF8 },
		{ "64f4908080", CBOR_ERR_UTF8 },
		{ "61ff", CBOR_ERR_UTF8 },
		{ "62e282", CBOR_ERR_UTF8 },
		{ "69616161616161616180", CBOR_ERR_UTF8 },
		{ "a161ff00", CBOR_ERR_UTF8 },
		/* trailing bytes */
		{ "0000", CBOR_ERR_TRAILING },
		{ "f6f6", CBOR_ERR_TRAILING },
		{ "a0ff", CBOR_ERR_TRAILING },
		/* truncated */
		{ "18", CBOR_ERR_TRUNCATED },
		{ "1901", CBOR_ERR_TRUNCATED },
		{ "1b00000001000000", CBOR_ERR_TRUNCATED },
		{ "6261", CBOR_ERR_TRUNCATED },
		{ "8201", CBOR_ERR_TRUNCATED },
		{ "a16161", CBOR_ERR_TRUNCATED },
		{ "a161", CBOR_ERR_TRUNCATED },
		{ "d8", CBOR_ERR_TRUNCATED },
		{ "d82a", CBOR_ERR_TRUNCATED },
		{ "d82a58", CBOR_ERR_TRUNCATED },
		{ "d82a582500", CBOR_ERR_TRUNCATED },
		/* huge declared lengths and counts */
		{ "5b0000000100000000", CBOR_ERR_LIMIT },
		{ "7b7fffffffffffffff", CBOR_ERR_LIMIT },
		{ "5a00100000", CBOR_ERR_TRUNCATED },
		{ "9a000f4241", CBOR_ERR_LIMIT },
		{ "9b00000000000f4241", CBOR_ERR_NONCANONICAL },
		{ "9a000f4240", CBOR_ERR_TRUNCATED },
		{ "9bffffffffffffffff", CBOR_ERR_LIMIT },
		{ "bbffffffffffffffff", CBOR_ERR_LIMIT },
		{ "ba000f4240", CBOR_ERR_TRUNCATED },
		{ "a2616100", CBOR_ERR_TRUNCATED },
		{ "8361616162", CBOR_ERR_TRUNCATED },
	};
	uint8_t			 in[HEXMAX];
	struct cbor_val		*v;
	size_t			 i, n;
	enum cbor_err		 e, c;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		n = unhex(rows[i].hex, in, sizeof(in));
		e = cbor_decode(a, in, n, &v);
		c = cbor_check(in, n);
		T_OK(e == rows[i].want, "row %zu %s: got \"%s\", want \"%s\"",
		    i, rows[i].hex, cbor_err_str(e),
		    cbor_err_str(rows[i].want));
		T_EQ_INT(c, e);
		T_OK(v == NULL, "row %zu: out set on error", i);
	}
	printf("hostile CBOR: %zu rows\n", i);
}

/* Nesting: LIM_CBOR_DEPTH containers are fine, one more is refused. */
static void
test_depth(struct arena *a)
{
	uint8_t		 in[3 * LIM_CBOR_DEPTH + 8];
	struct cbor_val	*v, *inner, *outer;
	struct buf	 b;
	size_t		 i, n;

	for (n = 0; n < LIM_CBOR_DEPTH; n++)
		in[n] = 0x81;
	in[n++] = 0x00;
	T_EQ_INT(cbor_decode(a, in, n, &v), CBOR_OK);
	T_EQ_INT(cbor_check(in, n), CBOR_OK);
	memmove(in + 1, in, n);
	in[0] = 0x81;
	T_EQ_INT(cbor_decode(a, in, n + 1, &v), CBOR_ERR_LIMIT);
	T_EQ_INT(cbor_check(in, n + 1), CBOR_ERR_LIMIT);

	/* maps: a1 61 61 repeated */
	for (n = 0, i = 0; i <= LIM_CBOR_DEPTH; i++) {
		in[n++] = 0xa1;
		in[n++] = 0x61;
		in[n++] = 0x61;
		if (n + 3 >= sizeof(in))
			break;
	}
	in[n++] = 0xf6;
	T_EQ_INT(cbor_check(in, n), CBOR_ERR_LIMIT);

	/* The encoder refuses what the decoder would. */
	buf_init(&b, 0);
	inner = cbor_new_null(a);
	for (i = 0; i < LIM_CBOR_DEPTH; i++) {
		outer = cbor_new_array(a, 1);
		T_EQ_INT(cbor_array_push(a, outer, inner), 0);
		inner = outer;
	}
	T_EQ_INT(cbor_encode(&b, inner), 0);
	outer = cbor_new_array(a, 0);
	T_EQ_INT(cbor_array_push(a, outer, inner), 0);
	buf_reset(&b);
	T_EQ_INT(cbor_encode(&b, outer), -1);
	T_OK(cbor_to_json(outer) == NULL, "deep tree to JSON");
	buf_reset(&b);
	T_EQ_INT(cbor_json_write(&b, outer), -1);
	buf_free(&b);
}

/* Whole-input and arena limits. */
static void
test_limits(void)
{
	struct arena	 a;
	struct cbor_val	*v;
	uint8_t		*big;
	size_t		 n = LIM_CBOR_TOTAL + 1;

	arena_init(&a);
	if ((big = calloc(1, n)) == NULL) {
		T_OK(0, "calloc");
		return;
	}
	big[0] = 0x5b;		/* byte string, 8-byte length */
	T_EQ_INT(cbor_decode(&a, big, n, &v), CBOR_ERR_LIMIT);
	T_EQ_INT(cbor_check(big, n), CBOR_ERR_LIMIT);
	/* 100000 nulls in an array, with a tiny arena: ENOMEM, no crash */
	n = 100005;
	big[0] = 0x9a;
	big[1] = 0x00;
	big[2] = 0x01;
	big[3] = 0x86;
	big[4] = 0xa0;
	memset(big + 5, 0xf6, 100000);
	T_EQ_INT(cbor_check(big, n), CBOR_OK);
	a.max = 64 << 10;
	T_EQ_INT(cbor_decode(&a, big, n, &v), CBOR_ERR_NOMEM);
	a.max = 0;
	arena_reset(&a);
	T_EQ_INT(cbor_decode(&a, big, n, &v), CBOR_OK);
	T_EQ_INT(v != NULL ? v->u.a.n : 0, 100000);
	free(big);
	arena_free(&a);
}

/* ---- encoder ------------------------------------------------------------ */

static void
test_put(struct arena *a)
{
	static const struct {
		int64_t		 v;
		const char	*hex;
	} ints[] = {
		{ 0, "00" }, { 23, "17" }, { 24, "1818" }, { 255, "18ff" },
		{ 256, "190100" }, { 65535, "19ffff" }, { 65536, "1a00010000" },
		{ 4294967295LL, "1affffffff" },
		{ 4294967296LL, "1b0000000100000000" },
		{ INT64_MAX, "1b7fffffffffffffff" },
		{ -1, "20" }, { -24, "37" }, { -25, "3818" }, { -256, "38ff" },
		{ -257, "390100" }, { -4294967296LL, "3affffffff" },
		{ -4294967297LL, "3b0000000100000000" },
		{ INT64_MIN, "3b7fffffffffffffff" },
	};
	uint8_t		 want[64];
	char		 hx[256];
	struct buf	 b, small;
	struct cid	 c;
	size_t		 i, n;

	buf_init(&b, 0);
	for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		buf_reset(&b);
		T_EQ_INT(cbor_put_int(&b, ints[i].v), 0);
		n = unhex(ints[i].hex, want, sizeof(want));
		T_OK(b.len == n && memcmp(b.data, want, n) == 0,
		    "int %lld -> %s", (long long)ints[i].v,
		    tohex(b.data, b.len, hx));
	}
	buf_reset(&b);
	T_EQ_INT(cbor_put_uint(&b, UINT64_MAX), 0);
	T_EQ_STR(tohex(b.data, b.len, hx), "1bffffffffffffffff");

	/* {"a": [h'01', "x", true, false, null, link], "bb": ""} by hand,
	 * decoded and re-encoded through the tree */
	buf_reset(&b);
	T_EQ_INT(cid_compute(&c, CID_CODEC_RAW, "", 0), 0);
	T_OK(cbor_put_map(&b, 2) == 0 && cbor_put_cstr(&b, "a") == 0 &&
	    cbor_put_array(&b, 6) == 0 && cbor_put_bytes(&b, "\1", 1) == 0 &&
	    cbor_put_text(&b, "xyz", 1) == 0 && cbor_put_bool(&b, 1) == 0 &&
	    cbor_put_bool(&b, 0) == 0 && cbor_put_null(&b) == 0 &&
	    cbor_put_link(&b, &c) == 0 && cbor_put_cstr(&b, "bb") == 0 &&
	    cbor_put_text(&b, "", 0) == 0, "put sequence");
	T_EQ_STR(tohex(b.data, b.len, hx),
	    "a261618641016178f5f4f6d82a582500015512"
	    "20e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	    "626262" "60");
	{
		struct cbor_val	*v, *l;
		struct buf	 r;

		buf_init(&r, 0);
		T_EQ_INT(cbor_decode(a, b.data, b.len, &v), CBOR_OK);
		T_EQ_INT(cbor_encode(&r, v), 0);
		T_EQ_MEM(r.data, r.len, b.data, b.len);
		l = cbor_map_get(v, "a");
		T_OK(l != NULL && l->type == CBOR_ARRAY && l->u.a.n == 6 &&
		    l->u.a.items[5]->type == CBOR_LINK &&
		    cid_equal(&l->u.a.items[5]->u.link, &c), "decoded link");
		T_OK(cbor_map_get(v, "b") == NULL, "absent key");
		T_OK(cbor_map_get(l, "a") == NULL, "get on an array");
		buf_free(&r);
	}

	/* A buffer at its limit refuses and reports -1. */
	buf_init(&small, 3);
	T_EQ_INT(cbor_put_cstr(&small, "ab"), 0);
	T_EQ_INT(cbor_put_null(&small), -1);
	T_EQ_INT(cbor_put_link(&small, &c), -1);
	T_EQ_INT(cbor_put_uint(&small, 1000), -1);
	T_EQ_INT(small.len, 3);
	buf_free(&small);
	buf_free(&b);
}

/* Trees built with constructors: keys sorted on encode, duplicates and
 * bad UTF-8 refused. */
static void
test_build(struct arena *a)
{
	struct cbor_val	*m, *arr, *v;
	struct buf	 b;
	char		 hx[512];
	int		 i;

	buf_init(&b, 0);
	m = cbor_new_map(a, 0);
	T_OK(m != NULL, "new map");
	T_EQ_INT(cbor_map_set(a, m, "bb", cbor_new_int(a, 1)), 0);
	T_EQ_INT(cbor_map_set(a, m, "a", cbor_new_int(a, -2)), 0);
	T_EQ_INT(cbor_map_set(a, m, "c", cbor_new_cstr(a, "x")), 0);
	T_EQ_INT(cbor_map_set(a, m, "a", cbor_new_int(a, 2)), 0);
	T_EQ_INT(m->u.m.n, 3);
	T_EQ_INT(cbor_encode(&b, m), 0);
	T_EQ_STR(tohex(b.data, b.len, hx), "a36161026163617862626201");
	/* the tree is unchanged by encoding; cbor_map_sort() sorts it */
	T_OK(m->u.m.pairs[0].klen == 2, "pairs reordered by encode");
	T_EQ_INT(cbor_map_sort(m), 0);
	T_OK(m->u.m.pairs[0].klen == 1 && m->u.m.pairs[0].key[0] == 'a',
	    "sorted");
	T_EQ_INT(cbor_json_write(&b, m), 0);

	/* many keys: the heap sort path, in both encode and map_sort */
	m = cbor_new_map(a, 2);
	for (i = 99; i >= 0; i--) {
		char	k[16];

		snprintf(k, sizeof(k), "k%d", i);
		T_EQ_INT(cbor_map_set(a, m, k, cbor_new_int(a, i)), 0);
	}
	buf_reset(&b);
	T_EQ_INT(cbor_encode(&b, m), 0);
	T_EQ_INT(cbor_check(b.data, b.len), CBOR_OK);
	T_EQ_INT(cbor_map_sort(m), 0);
	{
		struct buf	r;

		buf_init(&r, 0);
		T_EQ_INT(cbor_encode(&r, m), 0);
		T_EQ_MEM(r.data, r.len, b.data, b.len);
		buf_free(&r);
	}

	/* duplicate keys planted by hand are refused */
	m->u.m.pairs[1] = m->u.m.pairs[0];
	buf_reset(&b);
	T_EQ_INT(cbor_encode(&b, m), -1);
	T_EQ_INT(cbor_map_sort(m), -1);
	m = cbor_new_map(a, 2);
	T_EQ_INT(cbor_map_set(a, m, "x", cbor_new_null(a)), 0);
	T_EQ_INT(cbor_map_set(a, m, "y", cbor_new_null(a)), 0);
	m->u.m.pairs[1].key = "x";
	buf_reset(&b);
	T_EQ_INT(cbor_encode(&b, m), -1);

	/* arrays grow past their capacity */
	arr = cbor_new_array(a, 1);
	for (i = 0; i < 40; i++)
		T_EQ_INT(cbor_array_push(a, arr, cbor_new_bool(a, i & 1)), 0);
	T_EQ_INT(arr->u.a.n, 40);
	T_EQ_INT(cbor_array_push(a, m, cbor_new_null(a)), -1);
	T_EQ_INT(cbor_array_push(a, arr, NULL), -1);
	T_EQ_INT(cbor_map_set(a, arr, "k", cbor_new_null(a)), -1);

	/* text must be UTF-8, keys too */
	T_OK(cbor_new_text(a, "\xff", 1) == NULL, "bad UTF-8 text");
	T_OK(cbor_new_text(a, "\xc3\xb6", 2) != NULL, "good UTF-8 text");
	T_EQ_INT(cbor_map_setn(a, m, "\xc0\x80", 2, cbor_new_null(a)), -1);
	v = cbor_new_bytes(a, "\0\1", 2);
	T_OK(v != NULL && v->u.s.len == 2, "bytes");
	buf_free(&b);
}

static void
test_utf8(void)
{
	static const struct {
		const char	*s;
		int		 ok;
	} rows[] = {
		{ "", 1 }, { "plain ascii, longer than eight bytes", 1 },
		{ "\xc2\x80", 1 }, { "\xdf\xbf", 1 }, { "\xe0\xa0\x80", 1 },
		{ "\xef\xbf\xbf", 1 }, { "\xf0\x90\x80\x80", 1 },
		{ "\xf4\x8f\xbf\xbf", 1 }, { "\xed\x9f\xbf", 1 },
		{ "\xee\x80\x80", 1 },
		{ "\xc1\xbf", 0 }, { "\xe0\x9f\xbf", 0 }, { "\xed\xa0\x80", 0 },
		{ "\xed\xbf\xbf", 0 }, { "\xf0\x8f\xbf\xbf", 0 },
		{ "\xf4\x90\x80\x80", 0 }, { "\xf5\x80\x80\x80", 0 },
		{ "\x80", 0 }, { "\xc2", 0 }, { "\xe2\x82", 0 },
		{ "\xf0\x9f\x98", 0 }, { "abcdefgh\xc2", 0 },
		{ "abcdefg\xc2\x41", 0 }, { "\xe2\x28\xa1", 0 },
	};
	size_t	i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		T_OK(cbor_utf8_validate((const uint8_t *)rows[i].s,
		    strlen(rows[i].s)) == rows[i].ok, "utf8 row %zu", i);
	T_EQ_INT(cbor_utf8_validate((const uint8_t *)"a\0b", 3), 1);
}

/* ---- JSON mapping ------------------------------------------------------- */

static void
test_json_rows(struct arena *a)
{
	static const struct {
		const char		*json;
		enum cbor_json_err	 want;
		const char		*hex;	/* expected CBOR when CJ_OK */
	} rows[] = {
		{ "123", CJ_OK, "187b" },
		{ "123.0", CJ_OK, "187b" },
		{ "1e2", CJ_OK, "1864" },
		{ "-0", CJ_OK, "00" },
		{ "-0.0", CJ_OK, "00" },
		{ "1.5", CJ_ERR_FLOAT, NULL },
		{ "123.456", CJ_ERR_FLOAT, NULL },
		{ "1e-7", CJ_ERR_FLOAT, NULL },
		{ "9007199254740991", CJ_OK, "1b001fffffffffffff" },
		{ "-9007199254740991", CJ_OK, "3b001ffffffffffffe" },
		{ "9007199254740992", CJ_ERR_RANGE, NULL },
		{ "-9007199254740992", CJ_ERR_RANGE, NULL },
		{ "9007199254740992.0", CJ_ERR_RANGE, NULL },
		{ "1e300", CJ_ERR_RANGE, NULL },
		{ "99999999999999999999999", CJ_ERR_SYNTAX, NULL },
		{ "true", CJ_OK, "f5" },
		{ "null", CJ_OK, "f6" },
		{ "\"a\\u0000b\"", CJ_OK, "63610062" },
		{ "\"\\ud83d\\ude00\"", CJ_OK, "64f09f9880" },
		{ "\"\\ud83d\"", CJ_ERR_SYNTAX, NULL },
		{ "{\"a\\u0000\":1}", CJ_ERR_SYNTAX, NULL },
		{ "[1,", CJ_ERR_SYNTAX, NULL },
		{ "", CJ_ERR_SYNTAX, NULL },
		/* keys sorted canonically */
		{ "{\"bb\":1,\"a\":2,\"c\":3}", CJ_OK,
		    "a3616102616303626262 01" },
		{ "{\"b\":1,\"b\":2}", CJ_OK, "a1616202" },
		{ "{\"__proto__\":1}", CJ_ERR_KEY, NULL },
		{ "{\"a\":{\"__proto__\":{}}}", CJ_ERR_KEY, NULL },
		{ "{\"__proto_\":1}", CJ_OK, "a1685f5f70726f746f5f01" },
		/* $link */
		{ "{\"$link\":\"bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku\"}",
		    CJ_OK, "d82a582500015512"
		    "20e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
		{ "{\"$link\":\"bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi\"}",
		    CJ_ERR_LINK, NULL },
		{ "{\"$link\":\".\"}", CJ_ERR_LINK, NULL },
		{ "{\"$link\":null}", CJ_ERR_LINK, NULL },
		{ "{\"$link\":1234}", CJ_ERR_LINK, NULL },
		{ "{\"$link\":\"bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku\",\"x\":1}",
		    CJ_ERR_LINK, NULL },
		{ "{\"$link\":\"bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku\",\"$bytes\":\"\"}",
		    CJ_ERR_LINK, NULL },
		/* $bytes: lenient as the reference */
		{ "{\"$bytes\":\"\"}", CJ_OK, "40" },
		{ "{\"$bytes\":\"SGVsbG8\"}", CJ_OK, "4548656c6c6f" },
		{ "{\"$bytes\":\"SGVsbG8=\"}", CJ_OK, "4548656c6c6f" },
		{ "{\"$bytes\":\"SQ\"}", CJ_OK, "4149" },
		{ "{\"$bytes\":\"SQ=\"}", CJ_OK, "4149" },
		{ "{\"$bytes\":\"SQ==\"}", CJ_OK, "4149" },
		{ "{\"$bytes\":\"123\"}", CJ_OK, "42d76d" },
		{ "{\"$bytes\":\"ab-_\"}", CJ_OK, "4369bfbf" },
		{ "{\"$bytes\":\"ab+/\"}", CJ_OK, "4369bfbf" },
		{ "{\"$bytes\":\"SGVsbG8==\"}", CJ_ERR_BYTES, NULL },
		{ "{\"$bytes\":\"SGVs=\"}", CJ_ERR_BYTES, NULL },
		{ "{\"$bytes\":\"SGVsb\"}", CJ_ERR_BYTES, NULL },
		{ "{\"$bytes\":\"SG Vs\"}", CJ_ERR_BYTES, NULL },
		{ "{\"$bytes\":\"SG=s\"}", CJ_ERR_BYTES, NULL },
		{ "{\"$bytes\":\"===\"}", CJ_ERR_BYTES, NULL },
		{ "{\"$bytes\":[1,2,3]}", CJ_ERR_BYTES, NULL },
		{ "{\"$bytes\":\"AA\",\"other\":\"x\"}", CJ_ERR_BYTES, NULL },
		/* other $-keys are ordinary keys; blobs are ordinary maps */
		{ "{\"$type\":\"x\"}", CJ_OK, "a165247479706561 78" },
		{ "{\"$linkx\":1}", CJ_OK, "a166246c696e6b7801" },
	};
	uint8_t			 want[HEXMAX];
	char			 hx[2 * HEXMAX + 1];
	struct cbor_val		*v;
	struct buf		 b;
	size_t			 i, n;
	enum cbor_json_err	 e;

	buf_init(&b, 0);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		e = cbor_json_parse(a, rows[i].json, strlen(rows[i].json), &v);
		T_OK(e == rows[i].want, "json row %zu %s: got \"%s\"", i,
		    rows[i].json, cbor_json_err_str(e));
		if (e != CJ_OK || rows[i].hex == NULL)
			continue;
		buf_reset(&b);
		T_EQ_INT(cbor_encode(&b, v), 0);
		n = unhex(rows[i].hex, want, sizeof(want));
		T_OK(b.len == n && memcmp(b.data, want, n) == 0,
		    "json row %zu %s -> %s", i, rows[i].json,
		    tohex(b.data, b.len, hx));
	}
	buf_free(&b);
	T_OK(cbor_from_json(a, NULL, &v) == CJ_ERR_TYPE, "NULL json");
}

static void
test_json_depth(struct arena *a)
{
	char			 t[8 * LIM_JSON_DEPTH + 64];
	struct cbor_val		*v;
	size_t			 n = 0, i;

	for (i = 0; i < LIM_JSON_DEPTH; i++)
		t[n++] = '[';
	/* a $link/$bytes object is a leaf, not a level */
	n += (size_t)snprintf(t + n, sizeof(t) - n, "{\"$bytes\":\"\"}");
	for (i = 0; i < LIM_JSON_DEPTH; i++)
		t[n++] = ']';
	T_EQ_INT(cbor_json_parse(a, t, n, &v), CJ_OK);
	memmove(t + 1, t, n);
	t[0] = '[';
	t[n + 1] = ']';
	T_EQ_INT(cbor_json_parse(a, t, n + 2, &v), CJ_ERR_DEPTH);
	for (n = 0, i = 0; i <= LIM_JSON_DEPTH; i++)
		n += (size_t)snprintf(t + n, sizeof(t) - n, "{\"a\":");
	t[n++] = '1';
	for (i = 0; i <= LIM_JSON_DEPTH; i++)
		t[n++] = '}';
	T_EQ_INT(cbor_json_parse(a, t, n, &v), CJ_ERR_DEPTH);
}

/* Text output: JSON.stringify's escapes and key order. */
static void
test_json_write(struct arena *a)
{
	static const struct {
		const char	*cbor;
		const char	*json;
	} rows[] = {
		{ "6a" "22" "5c" "08" "0c" "0a" "0d" "09" "00" "1f" "7f",
		    "\"\\\"\\\\\\b\\f\\n\\r\\t\\u0000\\u001f\x7f\"" },
		{ "62" "2f" "3c", "\"/<\"" },
		{ "63e280a8", "\"\xe2\x80\xa8\"" },
		{ "3b7fffffffffffffff", "-9223372036854775808" },
		{ "1b7fffffffffffffff", "9223372036854775807" },
		{ "20", "-1" },
		{ "4100", "{\"$bytes\":\"AA\"}" },
		{ "40", "{\"$bytes\":\"\"}" },
		{ "8080", NULL },
		{ "a0", "{}" },
		{ "80", "[]" },
		{ "83f4f5f6", "[false,true,null]" },
		/* array-index keys first, in numeric order, then the rest
		 * in canonical order: "01" and "4294967295" are not indices */
		{ "a8" "6132" "01" "6161" "02" "6162" "03" "623031" "04"
		    "623130" "05" "6a34323934393637323934" "06"
		    "6a34323934393637323935" "07" "6b3130303030303030303030"
		    "08",
		    "{\"2\":1,\"10\":5,\"4294967294\":6,\"a\":2,\"b\":3,"
		    "\"01\":4,\"4294967295\":7,\"10000000000\":8}" },
	};
	uint8_t		 in[HEXMAX];
	struct cbor_val	*v;
	struct buf	 b;
	json_t		*j;
	char		*s;
	size_t		 i, n;

	buf_init(&b, 0);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		n = unhex(rows[i].cbor, in, sizeof(in));
		if (rows[i].json == NULL) {
			T_EQ_INT(cbor_decode(a, in, n, &v),
			    CBOR_ERR_TRAILING);
			continue;
		}
		T_EQ_INT(cbor_decode(a, in, n, &v), CBOR_OK);
		if (v == NULL)
			continue;
		buf_reset(&b);
		T_EQ_INT(cbor_json_write(&b, v), 0);
		T_OK(b.len == strlen(rows[i].json) &&
		    memcmp(b.data, rows[i].json, b.len) == 0,
		    "write row %zu: %.*s", i, (int)b.len, (char *)b.data);
		/* cbor_to_json keeps the same key order */
		j = cbor_to_json(v);
		s = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) :
		    NULL;
		T_OK(s != NULL && (rows[i].json[0] != '{' ||
		    strcmp(s, rows[i].json) == 0), "to_json row %zu: %s", i,
		    s != NULL ? s : "(null)");
		free(s);
		json_decref(j);
	}
	buf_free(&b);
}

static void
test_record_validate(struct arena *a)
{
#define RAWCID "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
#define CBORCID "bafyreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
#define BLOB(ref, mime, size, extra) "{\"b\":{\"$type\":\"blob\",\"ref\":" \
	ref ",\"mimeType\":" mime ",\"size\":" size extra "}}"
	static const struct {
		const char		*json;
		enum cbor_json_err	 want;
	} rows[] = {
		{ "{}", CJ_OK },
		{ "[]", CJ_ERR_NOTMAP },
		{ "\"blah\"", CJ_ERR_NOTMAP },
		{ "{\"$type\":\"app.bsky.feed.post\"}", CJ_OK },
		{ "{\"$type\":\"\"}", CJ_ERR_DOLLARTYPE },
		{ "{\"a\":[{\"$type\":1}]}", CJ_ERR_DOLLARTYPE },
		{ "{\"a\":[{\"$type\":{\"$bytes\":\"\"}}]}", CJ_ERR_DOLLARTYPE },
		{ BLOB("{\"$link\":\"" RAWCID "\"}", "\"image/png\"", "0", ""),
		    CJ_OK },
		{ BLOB("{\"$link\":\"" RAWCID "\"}", "\"image/png\"",
		    "9007199254740991", ""), CJ_OK },
		{ BLOB("{\"$link\":\"" CBORCID "\"}", "\"image/png\"", "1", ""),
		    CJ_ERR_BLOB },
		{ BLOB("\"" RAWCID "\"", "\"image/png\"", "1", ""),
		    CJ_ERR_BLOB },
		{ BLOB("{\"$link\":\"" RAWCID "\"}", "\"png\"", "1", ""),
		    CJ_ERR_BLOB },
		{ BLOB("{\"$link\":\"" RAWCID "\"}", "1", "1", ""),
		    CJ_ERR_BLOB },
		{ BLOB("{\"$link\":\"" RAWCID "\"}", "\"image/png\"", "-1", ""),
		    CJ_ERR_BLOB },
		{ BLOB("{\"$link\":\"" RAWCID "\"}", "\"image/png\"", "\"1\"",
		    ""), CJ_ERR_BLOB },
		{ BLOB("{\"$link\":\"" RAWCID "\"}", "\"image/png\"", "1",
		    ",\"x\":1"), CJ_ERR_BLOB },
		{ "{\"b\":{\"$type\":\"blob\",\"mimeType\":\"a/b\",\"size\":1}}",
		    CJ_ERR_BLOB },
		{ "{\"b\":{\"$type\":\"blob\",\"ref\":{\"$link\":\"" RAWCID
		    "\"},\"size\":1}}", CJ_ERR_BLOB },
		/* a legacy blob is just a map here */
		{ "{\"b\":{\"cid\":\"" RAWCID "\",\"mimeType\":\"a/b\"}}", CJ_OK },
	};
	struct cbor_val		*v;
	size_t			 i;
	enum cbor_json_err	 e;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		e = cbor_json_parse(a, rows[i].json, strlen(rows[i].json), &v);
		if (e == CJ_OK)
			e = cbor_json_record_validate(v);
		T_OK(e == rows[i].want, "record row %zu %s: got \"%s\"", i,
		    rows[i].json, cbor_json_err_str(e));
	}
	T_EQ_INT(cbor_json_record_validate(NULL), CJ_ERR_NOTMAP);
}

static void
test_err_str(void)
{
	int	i;

	for (i = 0; i < CBOR_ERR__MAX; i++)
		T_OK(cbor_err_str((enum cbor_err)i) != NULL, "cbor err %d", i);
	for (i = 0; i < CJ_ERR__MAX; i++)
		T_OK(cbor_json_err_str((enum cbor_json_err)i) != NULL,
		    "cj err %d", i);
	T_EQ_STR(cbor_err_str(CBOR_ERR__MAX), "unknown error");
	T_EQ_STR(cbor_json_err_str(CJ_ERR__MAX), "unknown error");
}

int
main(void)
{
	struct arena	a;

	arena_init(&a);
	test_fixtures(&a);
	test_valid_invalid(&a);
	test_roundtrip(&a);
	test_hostile(&a);
	test_depth(&a);
	test_limits();
	test_put(&a);
	test_build(&a);
	test_utf8();
	test_json_rows(&a);
	test_json_depth(&a);
	test_json_write(&a);
	test_record_validate(&a);
	test_err_str();
	arena_free(&a);
	return t_done("cbor");
}
