/*
 * test_cid.c: CIDv1 compute, parse (binary and text), print.
 * Known answers come from the interop data-model fixtures and from
 * multiformats (the CID of empty input); the syntax vectors' invalid CIDs
 * must all be refused.
 */
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "t.h"
#include "cid.h"
#include "enc.h"

#define EMPTY_RAW "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
#define EMPTY_CBOR "bafyreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"

static void
test_compute(void)
{
	struct cid	c, d;
	char		s[CID_STR_LEN];
	uint8_t		dg[32];

	T_EQ_INT(cid_compute(&c, CID_CODEC_RAW, "", 0), 0);
	cid_format(&c, s);
	T_EQ_STR(s, EMPTY_RAW);
	T_EQ_INT(strlen(s), CID_STR_LEN - 1);
	T_EQ_INT(cid_codec(&c), CID_CODEC_RAW);
	/* sha256("") = e3b0c442... */
	T_EQ_INT(cid_digest(&c)[0], 0xe3);
	T_EQ_INT(cid_digest(&c)[31], 0x55);

	T_EQ_INT(cid_compute(&d, CID_CODEC_DAG_CBOR, "", 0), 0);
	cid_format(&d, s);
	T_EQ_STR(s, EMPTY_CBOR);
	T_EQ_INT(cid_equal(&c, &d), 0);
	T_OK(cid_cmp(&c, &d) < 0, "raw (0x55) sorts before dag-cbor (0x71)");
	T_EQ_INT(cid_equal(&c, &c), 1);
	T_EQ_INT(cid_cmp(&d, &d), 0);

	T_EQ_INT(cid_sha256("abc", 3, dg), 0);
	T_EQ_INT(dg[0], 0xba);
	T_EQ_INT(dg[31], 0xad);
	cid_from_digest(&d, CID_CODEC_RAW, cid_digest(&c));
	T_EQ_INT(cid_equal(&c, &d), 1);
}

/* The fixtures' CBOR bytes hash to the fixtures' CIDs. */
static void
test_fixtures(void)
{
	char		 path[1024], s[CID_STR_LEN];
	uint8_t		 bin[4096];
	json_error_t	 err;
	json_t		*root, *e;
	struct cid	 c, p;
	const char	*b64, *want;
	ssize_t		 n;
	size_t		 i;

	snprintf(path, sizeof(path), "%s/data-model/data-model-fixtures.json",
	    t_interop_path());
	if ((root = json_load_file(path, 0, &err)) == NULL) {
		T_OK(0, "cannot load %s: %s", path, err.text);
		return;
	}
	json_array_foreach(root, i, e) {
		b64 = json_string_value(json_object_get(e, "cbor_base64"));
		want = json_string_value(json_object_get(e, "cid"));
		T_OK(b64 != NULL && want != NULL, "fixture %zu shape", i);
		if (b64 == NULL || want == NULL)
			continue;
		n = enc_b64_decode(ENC_B64_STD, b64, strlen(b64), bin,
		    sizeof(bin));
		T_OK(n > 0, "fixture %zu base64", i);
		if (n <= 0)
			continue;
		T_EQ_INT(cid_compute(&c, CID_CODEC_DAG_CBOR, bin, (size_t)n), 0);
		cid_format(&c, s);
		T_EQ_STR(s, want);
		T_EQ_INT(cid_parse_str(&p, want, strlen(want)), 0);
		T_EQ_INT(cid_equal(&c, &p), 1);
	}
	json_decref(root);
}

static void
test_parse_str(void)
{
	static const struct {
		const char	*s;
		int		 ok;
	} rows[] = {
		{ EMPTY_RAW, 1 },
		{ EMPTY_CBOR, 1 },
		{ "bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2a",
		    1 },
		/* dag-pb codec (0x70): a valid CID, not blessed */
		{ "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",
		    0 },
		/* CIDv0 */
		{ "QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR", 0 },
		/* other multibases of blessed CIDs */
		{ "BAFKREIHDWDCEFGH4DQKJV67UZCMW7OJEE6XEDZDETOJUZJEVTENXQUVYKU",
		    0 },
		{ "zb2rhmy65F3REf8SZp7De11gxtECBGgUKaLdiDj7MCGCHxbDW", 0 },
		/* upper case inside */
		{ "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyKu",
		    0 },
		/* last char carries non-zero padding bits (u -> v) */
		{ "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvykv",
		    0 },
		/* one char short, one too many */
		{ "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyk", 0 },
		{ "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvykua",
		    0 },
		{ " bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku",
		    0 },
		{ "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku ",
		    0 },
		/* sha2-512 multihash */
		{ "bafkrgqgpqpqtk7xpxc67cvbikdlg3aah2yqoibilk4k5za7uveq5g3hjzzd5b"
		  "uj4lwc7fmh7qmmnfb365qxwhojrxvduc6ubuu4de6xze7nd4", 0 },
		{ "b", 0 },
		{ "", 0 },
		{ ".", 0 },
	};
	struct cid	c;
	char		s[CID_STR_LEN];
	size_t		i;
	int		ok;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		ok = cid_parse_str(&c, rows[i].s, strlen(rows[i].s)) == 0;
		T_OK(ok == rows[i].ok, "row %zu \"%s\": got %d", i, rows[i].s,
		    ok);
		if (ok) {
			cid_format(&c, s);
			T_EQ_STR(s, rows[i].s);
		}
	}
	/* An embedded NUL is just a bad character. */
	T_EQ_INT(cid_parse_str(&c, EMPTY_RAW "\0", sizeof(EMPTY_RAW)), -1);
}

static void
test_parse_bytes(void)
{
	uint8_t		b[CID_BIN_LEN + 4];
	struct cid	c, d;

	T_EQ_INT(cid_compute(&c, CID_CODEC_DAG_CBOR, "x", 1), 0);
	memcpy(b, c.bytes, CID_BIN_LEN);
	memset(b + CID_BIN_LEN, 0xee, 4);
	T_EQ_INT(cid_parse_bytes(&d, b, sizeof(b)), CID_BIN_LEN);
	T_EQ_INT(cid_equal(&c, &d), 1);
	T_EQ_INT(cid_parse_bytes(&d, b, CID_BIN_LEN), CID_BIN_LEN);
	T_EQ_INT(cid_parse_bytes(&d, b, CID_BIN_LEN - 1), -1);
	T_EQ_INT(cid_parse_bytes(&d, b, 0), -1);
	b[0] = 0x00;					/* version 0 */
	T_EQ_INT(cid_parse_bytes(&d, b, sizeof(b)), -1);
	b[0] = 0x02;					/* version 2 */
	T_EQ_INT(cid_parse_bytes(&d, b, sizeof(b)), -1);
	b[0] = 0x01;
	b[1] = 0x70;					/* dag-pb */
	T_EQ_INT(cid_parse_bytes(&d, b, sizeof(b)), -1);
	b[1] = 0xf1;					/* non-minimal 0x71 */
	T_EQ_INT(cid_parse_bytes(&d, b, sizeof(b)), -1);
	b[1] = CID_CODEC_RAW;
	T_EQ_INT(cid_parse_bytes(&d, b, sizeof(b)), CID_BIN_LEN);
	T_EQ_INT(cid_codec(&d), CID_CODEC_RAW);
	b[2] = 0x13;					/* sha2-512 */
	T_EQ_INT(cid_parse_bytes(&d, b, sizeof(b)), -1);
	b[2] = CID_HASH_SHA256;
	b[3] = 0x1f;					/* short digest */
	T_EQ_INT(cid_parse_bytes(&d, b, sizeof(b)), -1);
	/* CIDv0: a bare sha2-256 multihash */
	b[0] = 0x12;
	b[1] = 0x20;
	T_EQ_INT(cid_parse_bytes(&d, b, sizeof(b)), -1);
}

/* Every line of the interop cid_syntax_invalid.txt is refused. */
static void
test_syntax_invalid(void)
{
	char	 path[1024], *text, *line, *nl;
	struct cid c;
	size_t	 len, n = 0;

	snprintf(path, sizeof(path), "%s/syntax/cid_syntax_invalid.txt",
	    t_interop_path());
	if ((text = t_read_file(path, &len)) == NULL)
		return;
	for (line = text; line < text + len; line = nl + 1) {
		if ((nl = memchr(line, '\n', (size_t)(text + len - line))) ==
		    NULL)
			nl = text + len;
		if (nl == line || line[0] == '#')
			continue;
		T_OK(cid_parse_str(&c, line, (size_t)(nl - line)) == -1,
		    "accepted invalid \"%.*s\"", (int)(nl - line), line);
		n++;
	}
	printf("cid_syntax_invalid.txt: %zu vectors\n", n);
	T_OK(n > 0, "no vectors read");
	free(text);
}

int
main(void)
{
	test_compute();
	test_fixtures();
	test_parse_str();
	test_parse_bytes();
	test_syntax_invalid();
	return t_done("cid");
}
