/*
 * test_syntax.c: syntax validators (syntax.c) and MST keys (mstkey.c).
 *
 * Runs every file of the interop vectors' syntax/ folder (each line one
 * vector; empty and '#' lines skipped, nothing trimmed) and mst/
 * key_heights.json, common_prefix.json, printing how many vectors each
 * file held; then table rows for the strict tiers and hostile input (NUL
 * bytes, huge inputs, non-UTF-8, every length limit at and past its edge).
 */
#include <dirent.h>
#include <stdint.h>

#include <jansson.h>

#include "mstkey.h"
#include "pds_limits.h"
#include "syntax.h"
#include "t.h"
#include "tid.h"
#include "util.h"

typedef int	(*vfn)(const char *, size_t, const char **);

/* What a vector file's type is checked with. */
static const struct vtype {
	const char	*name;		/* file prefix */
	vfn		 syntax;	/* syntax tier */
	vfn		 strict;	/* strict tier */
	int		 strict_valid;	/* strict accepts *_syntax_valid too */
} vtypes[] = {
	{ "atidentifier", syntax_atid_validate, syntax_atid_validate, 1 },
	{ "aturi", syntax_aturi_validate, syntax_aturi_validate, 1 },
	/* the valid CIDs include base16/base58/base64 ones: syntax only */
	{ "cid", syntax_cid_validate, syntax_cid_validate_strict, 0 },
	{ "datetime", syntax_datetime_validate,
	    syntax_datetime_validate_strict, 1 },
	{ "did", syntax_did_validate, syntax_did_validate, 1 },
	{ "handle", syntax_handle_validate, syntax_handle_validate, 1 },
	{ "language", syntax_language_validate,
	    syntax_language_validate_strict, 1 },
	{ "nsid", syntax_nsid_validate, syntax_nsid_validate, 1 },
	{ "recordkey", syntax_rkey_validate, syntax_rkey_validate, 1 },
	{ "tid", tid_validate, tid_validate, 1 },
	{ "uri", syntax_uri_validate, syntax_uri_validate, 1 },
};

enum vkind { V_SYNTAX_VALID, V_SYNTAX_INVALID, V_PARSE_INVALID };

static void
check_line(const char *file, const struct vtype *vt, enum vkind kind,
    const char *p, size_t len)
{
	const char	*why = NULL;
	int		 s, st;

	s = vt->syntax(p, len, &why);
	st = vt->strict(p, len, &why);
	switch (kind) {
	case V_SYNTAX_VALID:
		T_OK(s == 0, "%s: refused \"%.*s\" (%s)", file, (int)len, p,
		    why ? why : "");
		if (vt->strict_valid)
			T_OK(st == 0, "%s: strict refused \"%.*s\" (%s)", file,
			    (int)len, p, why ? why : "");
		break;
	case V_SYNTAX_INVALID:
		T_OK(s == -1, "%s: accepted \"%.*s\"", file, (int)len, p);
		T_OK(st == -1, "%s: strict accepted \"%.*s\"", file, (int)len,
		    p);
		break;
	case V_PARSE_INVALID:
		/* second tier: syntactically fine, semantically not */
		T_OK(s == 0, "%s: syntax refused \"%.*s\"", file, (int)len, p);
		T_OK(st == -1, "%s: strict accepted \"%.*s\"", file, (int)len,
		    p);
		break;
	}
}

static void
run_vector_file(const char *dir, const char *file)
{
	const struct vtype	*vt = NULL;
	enum vkind		 kind;
	char			 path[4096];
	char			*buf, *p, *end, *nl;
	size_t			 i, n, len, plen;
	int			 count = 0;

	for (i = 0; i < sizeof(vtypes) / sizeof(vtypes[0]); i++) {
		plen = strlen(vtypes[i].name);
		if (strncmp(file, vtypes[i].name, plen) == 0 &&
		    file[plen] == '_')
			vt = &vtypes[i];
	}
	plen = vt != NULL ? strlen(vt->name) : 0;
	if (vt != NULL && strcmp(file + plen, "_syntax_valid.txt") == 0)
		kind = V_SYNTAX_VALID;
	else if (vt != NULL && strcmp(file + plen, "_syntax_invalid.txt") == 0)
		kind = V_SYNTAX_INVALID;
	else if (vt != NULL && strcmp(file + plen, "_parse_invalid.txt") == 0)
		kind = V_PARSE_INVALID;
	else {
		T_OK(0, "unexpected vector file %s", file);
		return;
	}
	T_OK(snprintf(path, sizeof(path), "%s/%s", dir, file) <
	    (int)sizeof(path), "path too long");
	if ((buf = t_read_file(path, &len)) == NULL)
		return;
	for (p = buf, end = buf + len; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		n = (size_t)(nl - p);
		if (n == 0 || p[0] == '#')
			continue;
		check_line(file, vt, kind, p, n);
		count++;
	}
	T_OK(count > 0, "%s: no vectors", file);
	printf("syntax: %-32s %3d vectors\n", file, count);
	free(buf);
}

static void
test_vector_files(void)
{
	char		 dir[4096];
	struct dirent	*de;
	DIR		*d;
	int		 files = 0;

	T_OK(snprintf(dir, sizeof(dir), "%s/syntax", t_interop_path()) <
	    (int)sizeof(dir), "path too long");
	if ((d = opendir(dir)) == NULL) {
		T_OK(0, "cannot open %s", dir);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		run_vector_file(dir, de->d_name);
		files++;
	}
	closedir(d);
	T_EQ_INT(files, 24);
}

/* ---- MST vectors --------------------------------------------------- */

static json_t *
load_json(const char *name)
{
	json_error_t	 err;
	json_t		*j;
	char		 path[4096];

	T_OK(snprintf(path, sizeof(path), "%s/mst/%s", t_interop_path(),
	    name) < (int)sizeof(path), "path too long");
	/* keys hold \u0000: JSON_ALLOW_NUL keeps them */
	if ((j = json_load_file(path, JSON_ALLOW_NUL, &err)) == NULL ||
	    !json_is_array(j)) {
		T_OK(0, "%s: %s", name, err.text);
		json_decref(j);
		return NULL;
	}
	return j;
}

static void
test_mst_vectors(void)
{
	json_t	*j, *e, *k, *l, *r;
	size_t	 i;
	int	 n = 0;

	if ((j = load_json("key_heights.json")) != NULL) {
		json_array_foreach(j, i, e) {
			k = json_object_get(e, "key");
			T_OK(json_is_string(k), "key_heights[%zu]", i);
			if (!json_is_string(k))
				continue;
			T_EQ_INT(mst_key_height(json_string_value(k),
			    json_string_length(k)),
			    json_integer_value(json_object_get(e, "height")));
			n++;
		}
		printf("syntax: %-32s %3d vectors\n", "mst/key_heights.json", n);
		T_OK(n > 0, "no key height vectors");
		json_decref(j);
	}
	n = 0;
	if ((j = load_json("common_prefix.json")) != NULL) {
		json_array_foreach(j, i, e) {
			l = json_object_get(e, "left");
			r = json_object_get(e, "right");
			T_OK(json_is_string(l) && json_is_string(r),
			    "common_prefix[%zu]", i);
			if (!json_is_string(l) || !json_is_string(r))
				continue;
			T_EQ_INT(mst_common_prefix(json_string_value(l),
			    json_string_length(l), json_string_value(r),
			    json_string_length(r)),
			    json_integer_value(json_object_get(e, "len")));
			n++;
		}
		printf("syntax: %-32s %3d vectors\n", "mst/common_prefix.json",
		    n);
		T_OK(n > 0, "no common prefix vectors");
		json_decref(j);
	}
}

/* ---- table rows ------------------------------------------------------ */

/* A row: validator, input (len 0 = strlen), expected 0 or -1. */
struct row {
	vfn		 fn;
	const char	*in;
	size_t		 len;
	int		 want;
};

#define ROW(f, s, w)	{ f, s, sizeof(s) - 1, w }

static const struct row rows[] = {
	/* NUL bytes inside otherwise valid values */
	ROW(syntax_handle_validate, "alice.test\0", -1),
	ROW(syntax_handle_validate, "ali\0ce.test", -1),
	ROW(syntax_did_validate, "did:plc:abc\0def", -1),
	ROW(syntax_did_validate, "did:plc:abc\0", -1),
	ROW(syntax_nsid_validate, "app.bsky.feed\0.post", -1),
	ROW(syntax_rkey_validate, "self\0", -1),
	ROW(syntax_aturi_validate, "at://did:plc:abc\0/app.bsky.feed.post", -1),
	ROW(syntax_datetime_validate, "1985-04-12T23:20:50.123Z\0", -1),
	ROW(syntax_datetime_validate, "1985-04-12T23:20:50\0123Z", -1),
	ROW(syntax_cid_validate, "bafyreie5cvv4h45fea\0", -1),
	ROW(syntax_language_validate, "en\0", -1),
	ROW(syntax_language_validate, "en-\0S", -1),
	ROW(syntax_uri_validate, "https://example.com/\0", -1),
	ROW(syntax_uri_validate, "https://example.com/\x7f", -1),
	ROW(syntax_uri_validate, "https://example.com/\x1b[0m", -1),
	ROW(syntax_atid_validate, "did:\0", -1),
	ROW(tid_validate, "3jzfcijpj2z2\0", -1),
	ROW(mst_key_validate, "app.bsky.feed.post/a\0", -1),
	/* non-UTF-8 and non-ASCII */
	ROW(syntax_handle_validate, "al\xffice.test", -1),
	ROW(syntax_handle_validate, "\xc3\xa9t\xc3\xa9.test", -1),
	ROW(syntax_did_validate, "did:plc:\xc0\x80", -1),
	ROW(syntax_rkey_validate, "\xe2\x80\x94", -1),
	ROW(syntax_uri_validate, "https://ex\xc3\xa4mple.com/", 0),
	ROW(syntax_uri_validate, "https://example.com/\xff", -1),
	ROW(syntax_uri_validate, "https://example.com/\xc0\xaf", -1),
	ROW(syntax_uri_validate, "https://example.com/\xed\xa0\x80", -1),
	ROW(syntax_uri_validate, "https://example.com/\xe2\x82", -1),
	ROW(syntax_uri_validate, "https://a\xc2\xa0" "b", -1),	/* NBSP */
	ROW(syntax_uri_validate, "https://a\xe3\x80\x80" "b", -1),	/* U+3000 */
	ROW(syntax_uri_validate, "https://a\xef\xbb\xbf" "b", -1),	/* BOM */
	ROW(syntax_language_validate, "\xc3\xa9n", -1),
	ROW(syntax_aturi_validate, "at://did:plc:abc/app.bsky.feed.post/\xc3\xa9",
	    -1),
	/* empty input everywhere */
	ROW(syntax_handle_validate, "", -1),
	ROW(syntax_did_validate, "", -1),
	ROW(syntax_nsid_validate, "", -1),
	ROW(syntax_rkey_validate, "", -1),
	ROW(syntax_aturi_validate, "", -1),
	ROW(syntax_datetime_validate, "", -1),
	ROW(syntax_cid_validate, "", -1),
	ROW(syntax_cid_validate_strict, "", -1),
	ROW(syntax_language_validate, "", -1),
	ROW(syntax_uri_validate, "", -1),
	ROW(syntax_atid_validate, "", -1),
	ROW(tid_validate, "", -1),
	ROW(mst_key_validate, "", -1),
	/* handles */
	ROW(syntax_handle_validate, "a.co", 0),
	ROW(syntax_handle_validate, "A.CO", 0),
	ROW(syntax_handle_validate, "4chan.org", 0),
	ROW(syntax_handle_validate, "a.4chan", -1),
	ROW(syntax_handle_validate, "a.b-", -1),
	ROW(syntax_handle_validate, "-a.bc", -1),
	ROW(syntax_handle_validate, "a..bc", -1),
	ROW(syntax_handle_validate, ".a.bc", -1),
	ROW(syntax_handle_validate, "a.bc.", -1),
	ROW(syntax_handle_validate, "com", -1),
	ROW(syntax_handle_tld_validate, "alice.test", 0),
	ROW(syntax_handle_tld_validate, "alice.bsky.social", 0),
	ROW(syntax_handle_tld_validate, "alice.local", -1),
	ROW(syntax_handle_tld_validate, "alice.LOCAL", -1),
	ROW(syntax_handle_tld_validate, "alice.onion", -1),
	ROW(syntax_handle_tld_validate, "alice.alt", -1),
	ROW(syntax_handle_tld_validate, "alice.xalt", 0),
	ROW(syntax_handle_tld_validate, "localhost.com", 0),
	ROW(syntax_handle_tld_validate, "a.localhost", -1),
	/* DIDs */
	ROW(syntax_did_validate, "did:a:b", 0),
	ROW(syntax_did_validate, "did:a::b", 0),
	ROW(syntax_did_validate, "did:a:%20", 0),
	ROW(syntax_did_validate, "did:a:b%", -1),
	ROW(syntax_did_validate, "did:a:", -1),
	ROW(syntax_did_validate, "did::b", -1),
	ROW(syntax_did_validate, "did:A:b", -1),
	ROW(syntax_did_validate, "did:a1:b", -1),
	ROW(syntax_did_validate, "did:a", -1),
	ROW(syntax_did_validate, "did:", -1),
	ROW(syntax_did_validate, "did:a:b/c", -1),
	/* NSIDs */
	ROW(syntax_nsid_validate, "a.b.c", 0),
	ROW(syntax_nsid_validate, "a.b.c2", 0),
	ROW(syntax_nsid_validate, "a.b.2c", -1),
	ROW(syntax_nsid_validate, "a.b.c-d", -1),
	ROW(syntax_nsid_validate, "1a.b.c", -1),
	ROW(syntax_nsid_validate, "a.1b.c", 0),
	ROW(syntax_nsid_validate, "a.-b.c", -1),
	ROW(syntax_nsid_validate, "a.b", -1),
	ROW(syntax_nsid_validate, "a..c", -1),
	ROW(syntax_nsid_validate, "a.b.c.", -1),
	/* record keys */
	ROW(syntax_rkey_validate, "self", 0),
	ROW(syntax_rkey_validate, "...", 0),
	ROW(syntax_rkey_validate, ".", -1),
	ROW(syntax_rkey_validate, "..", -1),
	ROW(syntax_rkey_validate, "a/b", -1),
	ROW(syntax_rkey_validate, "a b", -1),
	ROW(syntax_rkey_validate, "a#b", -1),
	/* AT-URI fragments and percent-encoding */
	ROW(syntax_aturi_validate, "at://did:plc:a/a.b.c/x#/p", 0),
	ROW(syntax_aturi_validate, "at://did:plc:a#/p/q", 0),
	ROW(syntax_aturi_validate, "at://did:plc:a#/%41", 0),
	ROW(syntax_aturi_validate, "at://did:plc:a#/%c3%a9", 0),
	ROW(syntax_aturi_validate, "at://did:plc:a#/%F0%9F%98%80", 0),
	ROW(syntax_aturi_validate, "at://did:plc:a#/%4", -1),
	ROW(syntax_aturi_validate, "at://did:plc:a#/%", -1),
	ROW(syntax_aturi_validate, "at://did:plc:a#/%zz", -1),
	ROW(syntax_aturi_validate, "at://did:plc:a#/%FF", -1),
	ROW(syntax_aturi_validate, "at://did:plc:a#/%C3", -1),
	ROW(syntax_aturi_validate, "at://did:plc:a#/%C3%41", -1),
	ROW(syntax_aturi_validate, "at://did:plc:a#/%C0%80", -1),
	ROW(syntax_aturi_validate, "at://did:plc:a#/%ED%A0%80", -1),
	ROW(syntax_aturi_validate, "at://did:plc:a#/%F4%90%80%80", -1),
	ROW(syntax_aturi_validate, "at://did:plc:a#/a?b", -1),
	ROW(syntax_aturi_validate, "at://did:plc:a#/a\\b", -1),
	ROW(syntax_aturi_validate, "at://did:plc:a?x=1", -1),
	ROW(syntax_aturi_validate, "at://did:plc:a/a.b.c?x=1#/p", -1),
	ROW(syntax_aturi_validate, "at://alice.test/a.b.c/x/", -1),
	ROW(syntax_aturi_validate, "at://alice.test/", -1),
	ROW(syntax_aturi_validate, "at://", -1),
	ROW(syntax_aturi_validate, "at://a\\b.test", -1),
	/* datetimes: strict-only checks */
	ROW(syntax_datetime_validate_strict, "2024-02-29T00:00:00Z", 0),
	ROW(syntax_datetime_validate_strict, "2000-02-29T00:00:00Z", 0),
	ROW(syntax_datetime_validate_strict, "1900-02-29T00:00:00Z", -1),
	ROW(syntax_datetime_validate_strict, "2023-02-29T00:00:00Z", -1),
	ROW(syntax_datetime_validate_strict, "2023-04-31T00:00:00Z", -1),
	ROW(syntax_datetime_validate_strict, "2023-12-31T23:59:59Z", 0),
	ROW(syntax_datetime_validate_strict, "2023-12-31T23:59:60Z", -1),
	ROW(syntax_datetime_validate_strict, "2023-12-31T24:00:00Z", -1),
	ROW(syntax_datetime_validate_strict, "2023-12-31T23:00:00+24:00", -1),
	ROW(syntax_datetime_validate_strict, "2023-12-31T23:00:00+23:60", -1),
	ROW(syntax_datetime_validate_strict, "2023-12-31T23:00:00+23:59", 0),
	ROW(syntax_datetime_validate_strict, "0000-01-01T00:00:00-01:00", 0),
	ROW(syntax_datetime_validate_strict, "9999-12-31T23:59:59+01:00", 0),
	ROW(syntax_datetime_validate_strict, "9999-12-31T23:59:59-01:00", -1),
	ROW(syntax_datetime_validate_strict, "2023-01-01T00:00:00.Z", -1),
	ROW(syntax_datetime_validate, "2023-01-01T00:00:00-00:00", -1),
	ROW(syntax_datetime_validate, "2023-01-01T00:00:00+00:00", 0),
	ROW(syntax_datetime_validate, "2023-01-01T00:00:00+0000", -1),
	ROW(syntax_datetime_validate, "2023-01-01T00:00:00", -1),
	ROW(syntax_datetime_validate, "2023-01-01T00:00:00ZZ", -1),
	ROW(syntax_datetime_validate, "2023-01-01T00:00:00Z+01:00", -1),
	/* CID strings, strict tier */
	ROW(syntax_cid_validate_strict,
	    "bafyreie5cvv4h45feadgeuwhbcutmh6t7ceseocckahdoe6uat64zmz454", 0),
	ROW(syntax_cid_validate_strict,
	    "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku", 0),
	ROW(syntax_cid_validate_strict,		/* dag-pb, sha2-256 */
	    "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi", 0),
	ROW(syntax_cid_validate_strict,		/* upper-case base32 */
	    "BAFYREIE5CVV4H45FEADGEUWHBCUTMH6T7CESEOCCKAHDOE6UAT64ZMZ454", -1),
	ROW(syntax_cid_validate_strict,		/* truncated digest */
	    "bafyreie5cvv4h45feadgeuwhbcutmh6t7ceseocckahdoe6uat64zmz4", -1),
	ROW(syntax_cid_validate_strict,		/* non-zero trailing bits */
	    "bafyreie5cvv4h45feadgeuwhbcutmh6t7ceseocckahdoe6uat64zmz455", -1),
	ROW(syntax_cid_validate_strict,		/* CIDv0 */
	    "QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n", -1),
	ROW(syntax_cid_validate_strict,		/* base58 CIDv1 */
	    "zdj7WWeQ43G6JJvLWQWZpyHuAMq6uYWRjkBXFad11vE2LHhQ7", -1),
	ROW(syntax_cid_validate_strict, "bafyreie", -1),
	ROW(syntax_cid_validate, "Qmb12345678", -1),
	ROW(syntax_cid_validate, "Qma12345678", 0),
	ROW(syntax_cid_validate, "1234567", -1),
	ROW(syntax_cid_validate, "12345678", 0),
	/* language tags */
	ROW(syntax_language_validate_strict, "zh-cmn-Hans-CN", 0),
	ROW(syntax_language_validate_strict, "ar-aaa-bbb-ccc", 0),
	ROW(syntax_language_validate_strict, "ar-aaa-bbb-ccc-ddd", -1),
	ROW(syntax_language_validate_strict, "en-US-u-islamcal", 0),
	ROW(syntax_language_validate_strict, "de-1901-1996", 0),
	ROW(syntax_language_validate_strict, "de-1901-1996-1901", -1),
	ROW(syntax_language_validate_strict, "sl-IT-nedis", 0),
	ROW(syntax_language_validate_strict, "zh-min-nan", 0),
	ROW(syntax_language_validate_strict, "en-a-foo-b-bar", 0),
	ROW(syntax_language_validate_strict, "en-a-foo-A-bar", -1),
	ROW(syntax_language_validate_strict, "en-1-foo-1-bar", -1),
	ROW(syntax_language_validate, "en-a-foo-A-bar", 0),
	ROW(syntax_language_validate_strict, "en-a", -1),
	ROW(syntax_language_validate_strict, "en-a-x-foo", -1),
	ROW(syntax_language_validate_strict, "en-a-b-foo", -1),
	ROW(syntax_language_validate_strict, "en-x-a-b", 0),
	ROW(syntax_language_validate_strict, "en-x-toolongxx", -1),
	ROW(syntax_language_validate_strict, "x-a", 0),
	ROW(syntax_language_validate_strict, "x", -1),
	ROW(syntax_language_validate_strict, "x-", -1),
	ROW(syntax_language_validate_strict, "en-US-GB", -1),
	ROW(syntax_language_validate_strict, "en-Latn-Latn", -1),
	ROW(syntax_language_validate_strict, "en-u-latn-Latn", 0),
	ROW(syntax_language_validate_strict, "en--US", -1),
	ROW(syntax_language_validate_strict, "-en", -1),
	ROW(syntax_language_validate_strict, "en_US", -1),
	ROW(syntax_language_validate_strict, "I-DEFAULT", -1),
	ROW(syntax_language_validate_strict, "enx", 0),
	ROW(syntax_language_validate_strict, "eN", -1),
	/* URIs: either reference's rule */
	ROW(syntax_uri_validate, "HTTPS://example.com", 0),
	ROW(syntax_uri_validate, "a_b:c", 0),
	ROW(syntax_uri_validate, "a:///x", 0),
	ROW(syntax_uri_validate, "A:///x", -1),
	ROW(syntax_uri_validate, "A:/x", -1),
	ROW(syntax_uri_validate, "A://", -1),
	ROW(syntax_uri_validate, "a:b c", -1),
	ROW(syntax_uri_validate, "a:\tb", -1),
	/* MST keys */
	ROW(mst_key_validate, "app.bsky.feed.post/3jzfcijpj2z2a", 0),
	ROW(mst_key_validate, "a/b", 0),
	ROW(mst_key_validate, "a/b/c", -1),
	ROW(mst_key_validate, "/b", -1),
	ROW(mst_key_validate, "a/", -1),
	ROW(mst_key_validate, "ab", -1),
	ROW(mst_key_validate, "a b/c", -1),
	ROW(mst_key_validate, "a/b#", -1),
};

static void
test_rows(void)
{
	const char	*why;
	size_t		 i;
	int		 r;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		why = NULL;
		r = rows[i].fn(rows[i].in, rows[i].len, &why);
		T_OK(r == rows[i].want, "row %zu \"%.*s\": got %d (%s)", i,
		    (int)rows[i].len, rows[i].in, r, why ? why : "-");
		T_OK(r == 0 || why != NULL, "row %zu: no reason", i);
	}
	printf("syntax: %-32s %3zu rows\n", "table rows", i);
}

/* ---- length limits at and past each edge ---------------------------- */

/* Fills b with a value of exactly n bytes of the given shape. */
static void
fill(char *b, size_t n, const char *head, char pad, const char *tail)
{
	size_t	h = strlen(head), t = strlen(tail);

	memcpy(b, head, h);
	memset(b + h, pad, n - h - t);
	memcpy(b + n - t, tail, t);
}

static void
test_limits(void)
{
	static char	 b[LIM_ATURI_LEN + 2];
	char		*big;
	size_t		 n, bign = 4u << 20;
	const char	*why;

	/* handle: 253 ok, 254 too long (labels of <= 63) */
	memset(b, 'a', 253);
	for (n = 63; n < 253; n += 64)
		b[n] = '.';
	T_EQ_INT(syntax_handle_validate(b, 253, NULL), 0);
	b[253] = 'a';
	T_EQ_INT(syntax_handle_validate(b, 254, NULL), -1);
	fill(b, 67, "", 'a', ".com");
	T_EQ_INT(syntax_handle_validate(b, 67, NULL), 0);	/* 63-char label */
	fill(b, 68, "", 'a', ".com");
	T_EQ_INT(syntax_handle_validate(b, 68, NULL), -1);	/* 64-char label */
	fill(b, 2048, "did:plc:", 'a', "");
	T_EQ_INT(syntax_did_validate(b, 2048, NULL), 0);
	fill(b, 2049, "did:plc:", 'a', "");
	T_EQ_INT(syntax_did_validate(b, 2049, NULL), -1);
	fill(b, 317, "a.", 'b', ".c");
	for (n = 2 + 63; n < 317 - 3; n += 64)
		b[n] = '.';
	T_EQ_INT(syntax_nsid_validate(b, 317, &why), 0);
	fill(b, 318, "a.", 'b', ".c");
	T_EQ_INT(syntax_nsid_validate(b, 318, NULL), -1);
	memset(b, 'k', 513);
	T_EQ_INT(syntax_rkey_validate(b, 512, NULL), 0);
	T_EQ_INT(syntax_rkey_validate(b, 513, NULL), -1);
	fill(b, 8192, "at://did:plc:a/a.b.c/x#/", 'p', "");
	T_EQ_INT(syntax_aturi_validate(b, 8192, NULL), 0);
	fill(b, 8193, "at://did:plc:a/a.b.c/x#/", 'p', "");
	T_EQ_INT(syntax_aturi_validate(b, 8193, NULL), -1);
	fill(b, 64, "1985-04-12T23:20:50.", '1', "Z");
	T_EQ_INT(syntax_datetime_validate_strict(b, 64, NULL), 0);
	fill(b, 65, "1985-04-12T23:20:50.", '1', "Z");
	T_EQ_INT(syntax_datetime_validate(b, 65, NULL), -1);
	fill(b, 256, "b", 'a', "");
	T_EQ_INT(syntax_cid_validate(b, 256, NULL), 0);
	T_EQ_INT(syntax_cid_validate(b, 257, NULL), -1);
	T_EQ_INT(syntax_cid_validate_strict(b, 129, NULL), -1);
	fill(b, 8192, "https://e.com/", 'x', "");
	T_EQ_INT(syntax_uri_validate(b, 8192, NULL), 0);
	T_EQ_INT(syntax_uri_validate(b, 8193, NULL), -1);
	fill(b, 81 + 6, "", 'a', ":x//yz");
	T_EQ_INT(syntax_uri_validate(b, 87, NULL), 0);	/* JS rule */
	b[40] = '-';
	T_EQ_INT(syntax_uri_validate(b, 87, NULL), 0);	/* 81-char scheme */
	fill(b, 82 + 6, "", 'a', ":x//yz");
	b[40] = '-';
	T_EQ_INT(syntax_uri_validate(b, 88, NULL), -1);	/* 82 chars */
	/* language: many distinct variants, then the limit */
	memcpy(b, "en", 2);
	for (n = 2; n + 5 <= LIM_LANGUAGE_LEN; n += 5)
		snprintf(b + n, 6, "-%04zu", n);
	T_EQ_INT(syntax_language_validate_strict(b, n, &why), 0);
	memcpy(b + n - 5, b + 2, 5);			/* repeat the first */
	T_EQ_INT(syntax_language_validate_strict(b, n, NULL), -1);
	T_EQ_INT(syntax_language_validate(b, n, NULL), 0);
	fill(b, LIM_LANGUAGE_LEN + 1, "x-", 'a', "");
	for (n = 2 + 8; n < LIM_LANGUAGE_LEN; n += 9)
		b[n] = '-';
	T_EQ_INT(syntax_language_validate(b, LIM_LANGUAGE_LEN, NULL), 0);
	T_EQ_INT(syntax_language_validate(b, LIM_LANGUAGE_LEN + 1, NULL), -1);
	fill(b, 1024, "a.b/", 'c', "");
	T_EQ_INT(mst_key_validate(b, 1024, NULL), 0);
	T_EQ_INT(mst_key_validate(b, 1025, NULL), -1);

	/* huge inputs: refused, fast, without reading past the end */
	if ((big = malloc(bign)) == NULL) {
		T_OK(0, "malloc");
		return;
	}
	memset(big, 'a', bign);
	T_EQ_INT(syntax_handle_validate(big, bign, NULL), -1);
	T_EQ_INT(syntax_did_validate(big, bign, NULL), -1);
	T_EQ_INT(syntax_nsid_validate(big, bign, NULL), -1);
	T_EQ_INT(syntax_rkey_validate(big, bign, NULL), -1);
	T_EQ_INT(syntax_aturi_validate(big, bign, NULL), -1);
	T_EQ_INT(syntax_datetime_validate_strict(big, bign, NULL), -1);
	T_EQ_INT(syntax_cid_validate_strict(big, bign, NULL), -1);
	T_EQ_INT(syntax_language_validate_strict(big, bign, NULL), -1);
	T_EQ_INT(syntax_uri_validate(big, bign, NULL), -1);
	T_EQ_INT(syntax_atid_validate(big, bign, NULL), -1);
	T_EQ_INT(tid_validate(big, bign, NULL), -1);
	T_EQ_INT(mst_key_validate(big, bign, NULL), -1);
	T_OK(mst_key_height(big, bign) >= 0, "height of 4 MB");
	free(big);
}

/* ---- parts and values ---------------------------------------------- */

static void
test_aturi_parts(void)
{
	static const char	 u[] = "at://did:plc:abc/app.bsky.feed.post/3k2#/t";
	struct syntax_aturi	 a;

	T_EQ_INT(syntax_aturi_parse(u, sizeof(u) - 1, &a, NULL), 0);
	T_EQ_MEM(a.authority, a.authority_len, "did:plc:abc", 11);
	T_EQ_MEM(a.collection, a.collection_len, "app.bsky.feed.post", 18);
	T_EQ_MEM(a.rkey, a.rkey_len, "3k2", 3);
	T_EQ_MEM(a.fragment, a.fragment_len, "/t", 2);
	T_EQ_INT(syntax_aturi_parse("at://alice.test", 15, &a, NULL), 0);
	T_EQ_MEM(a.authority, a.authority_len, "alice.test", 10);
	T_OK(a.collection == NULL && a.rkey == NULL && a.fragment == NULL,
	    "absent parts are NULL");
	T_EQ_INT(syntax_aturi_parse(NULL, 0, NULL, NULL), -1);
}

static void
test_datetime_values(void)
{
	static const struct {
		const char	*in;
		int64_t		 ms;	/* JS Date.parse() */
	} v[] = {
		{ "1985-04-12T23:20:50.123Z", 482196050123LL },
		{ "1985-04-12T23:20:50.1235678912345Z", 482196050123LL },
		{ "0985-04-12T23:20:50.123-07:00", -31074687549877LL },
		{ "0000-01-01T00:00:00.000Z", -62167219200000LL },
		{ "9999-12-31T23:59:59.999Z", 253402300799999LL },
		{ "1985-04-12T23:20:50.5+01:45", 482189750500LL },
		{ "2024-02-29T12:00:00Z", 1709208000000LL },
		{ "0000-01-01T00:00:00-01:00", -62167215600000LL },
		{ "9999-12-31T23:59:59+23:59", 253402214459000LL },
	};
	char		iso[UTIL_ISO_LEN];
	int64_t		ms, x;
	size_t		i;
	uint32_t	s = 12345;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		ms = 0;
		T_EQ_INT(syntax_datetime_parse(v[i].in, strlen(v[i].in), &ms,
		    NULL), 0);
		T_EQ_INT(ms, v[i].ms);
	}
	/* round trip through util_iso_time() at pseudo-random instants */
	for (i = 0; i < 20000; i++) {
		s = s * 1103515245u + 12345u;
		/* years 0000..9999 in UTC, both sides of the epoch */
		x = (int64_t)(((uint64_t)s << 20 ^ i * 7919) %
		    (253402300800000ULL + 62167219200000ULL)) -
		    62167219200000LL;
		util_iso_time(x, iso);
		ms = -1;
		if (syntax_datetime_parse(iso, strlen(iso), &ms, NULL) != 0 ||
		    ms != x) {
			T_OK(0, "round trip %s: %lld", iso, (long long)ms);
			break;
		}
	}
	T_OK(i == 20000, "datetime round trips");
}

static void
test_normalize_format(void)
{
	char			out[16];
	enum syntax_format	f;
	const char		*why = NULL;

	T_EQ_INT(syntax_handle_normalize("Alice.TEST", 10, out, sizeof(out)),
	    10);
	T_EQ_STR(out, "alice.test");
	T_EQ_INT(syntax_handle_normalize("Alice.TEST", 10, out, 10), -1);
	T_EQ_INT(syntax_handle_normalize("", 0, out, 1), 0);
	T_EQ_INT(syntax_format_find("record-key", 10, &f), 0);
	T_EQ_INT(f, SYNTAX_FMT_RECORD_KEY);
	T_EQ_INT(syntax_format_find("datetime", 8, &f), 0);
	T_EQ_INT(syntax_format_validate(f, "1985-00-12T23:20:50.123Z", 24,
	    &why), -1);
	T_EQ_INT(syntax_format_find("tid", 3, &f), 0);
	T_EQ_INT(syntax_format_validate(f, "3jzfcijpj2z2a", 13, NULL), 0);
	T_EQ_INT(syntax_format_find("language", 8, &f), 0);
	T_EQ_INT(syntax_format_validate(f, "en-a-x-a-y", 10, NULL), -1);
	T_EQ_INT(syntax_format_find("datetim", 7, &f), -1);
	T_EQ_INT(syntax_format_find("uri\0", 4, &f), -1);
	T_EQ_INT(syntax_format_validate(SYNTAX_FMT__MAX, "x", 1, &why), -1);
}

int
main(void)
{
	test_vector_files();
	test_mst_vectors();
	test_rows();
	test_limits();
	test_aturi_parts();
	test_datetime_values();
	test_normalize_format();
	return t_done("syntax");
}
