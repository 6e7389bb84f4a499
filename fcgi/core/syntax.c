/*
 * syntax.c: validators for atproto identifiers and Lexicon string formats
 * (atproto.com/specs: handle, did, nsid, at-uri-scheme, record-key,
 * lexicon#string-formats), written from @atproto/syntax 0.7.x and checked
 * against the interop vectors.  Pure functions over (pointer, length): no
 * allocation, no I/O, no locale.  TIDs are tid.c's, MST keys mstkey.c's.
 */
#include <string.h>

#include "enc.h"
#include "pds_limits.h"
#include "syntax.h"
#include "tid.h"

/* Sets *why (when asked for) and returns -1: the one failure exit. */
static int
fail(const char **why, const char *reason)
{
	if (why != NULL)
		*why = reason;
	return -1;
}

static int
is_lower(unsigned char c)
{
	return c >= 'a' && c <= 'z';
}

static int
is_alpha(unsigned char c)
{
	return is_lower(c) || (c >= 'A' && c <= 'Z');
}

static int
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int
is_alnum(unsigned char c)
{
	return is_alpha(c) || is_digit(c);
}

static int
is_hex(unsigned char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static unsigned
hex_val(unsigned char c)
{
	if (is_digit(c))
		return c - '0';
	return (unsigned)((c | 0x20) - 'a' + 10);
}

static unsigned char
to_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
}

/* Case-insensitive (ASCII) comparison of two equal-length runs. */
static int
eq_nocase(const char *a, const char *b, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (to_lower((unsigned char)a[i]) !=
		    to_lower((unsigned char)b[i]))
			return 0;
	return 1;
}

static int
has_prefix(const char *p, size_t len, const char *pre)
{
	size_t	n = strlen(pre);

	return len >= n && memcmp(p, pre, n) == 0;
}

/*
 * Decodes one UTF-8 sequence at p (avail bytes).  Returns its length and
 * sets *cp, or -1 for an invalid, overlong, surrogate, > U+10FFFF or
 * truncated sequence (RFC 3629).
 */
static int
utf8_decode(const unsigned char *p, size_t avail, uint32_t *cp)
{
	uint32_t	c, min;
	int		n, i;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if ((p[0] & 0xe0) == 0xc0) {
		n = 2, c = p[0] & 0x1f, min = 0x80;
	} else if ((p[0] & 0xf0) == 0xe0) {
		n = 3, c = p[0] & 0x0f, min = 0x800;
	} else if ((p[0] & 0xf8) == 0xf0) {
		n = 4, c = p[0] & 0x07, min = 0x10000;
	} else
		return -1;
	if (avail < (size_t)n)
		return -1;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return -1;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return -1;
	*cp = c;
	return n;
}

/* ==== handles ========================================================== */

/* One handle/NSID domain label: 1-63 of [A-Za-z0-9-], no '-' at an end. */
static int
label_check(const char *p, size_t len, const char **why)
{
	if (len == 0)
		return fail(why, "empty label (parts can not be empty)");
	if (len > LIM_HANDLE_LABEL_LEN)
		return fail(why, "label too long (63 chars max)");
	if (p[0] == '-' || p[len - 1] == '-')
		return fail(why, "label can not start or end with a hyphen");
	return 0;
}

int
syntax_handle_validate(const char *p, size_t len, const char **why)
{
	size_t		i, start = 0, labels = 0;
	unsigned char	c;

	if (len == 0)
		return fail(why, "handle is empty");
	if (len > LIM_HANDLE_LEN)
		return fail(why, "handle is too long (253 chars max)");
	for (i = 0; i < len; i++) {
		c = (unsigned char)p[i];
		if (!is_alnum(c) && c != '-' && c != '.')
			return fail(why, "disallowed characters in handle "
			    "(ASCII letters, digits, dashes, periods only)");
	}
	for (i = 0; i <= len; i++) {
		if (i < len && p[i] != '.')
			continue;
		if (label_check(p + start, i - start, why) == -1)
			return -1;
		labels++;
		if (i == len && !is_alpha((unsigned char)p[start]))
			return fail(why, "handle final component (TLD) must "
			    "start with an ASCII letter");
		start = i + 1;
	}
	if (labels < 2)
		return fail(why, "handle domain needs at least two parts");
	return 0;
}

int
syntax_handle_tld_validate(const char *p, size_t len, const char **why)
{
	/* @atproto/syntax DISALLOWED_TLDS; ".test" is deliberately allowed */
	static const char *const bad[] = { ".local", ".arpa", ".invalid",
	    ".localhost", ".internal", ".example", ".alt", ".onion" };
	size_t	i, n;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = strlen(bad[i]);
		if (len >= n && eq_nocase(p + len - n, bad[i], n))
			return fail(why, "handle TLD is not allowed");
	}
	return 0;
}

ssize_t
syntax_handle_normalize(const char *p, size_t len, char *out, size_t outsz)
{
	size_t	i;

	if (outsz == 0 || len > outsz - 1)
		return -1;
	for (i = 0; i < len; i++)
		out[i] = (char)to_lower((unsigned char)p[i]);
	out[len] = '\0';
	return (ssize_t)len;
}

/* ==== DIDs, at-identifiers ========================================== */

static int
did_char(unsigned char c)
{
	return is_alnum(c) || c == '.' || c == '_' || c == ':' || c == '%' ||
	    c == '-';
}

int
syntax_did_validate(const char *p, size_t len, const char **why)
{
	size_t	i;

	if (len > LIM_DID_LEN)
		return fail(why, "DID is too long (2048 chars max)");
	if (!has_prefix(p, len, "did:"))
		return fail(why, "DID requires \"did:\" prefix");
	for (i = 4; i < len && is_lower((unsigned char)p[i]); i++)
		;
	if (i == 4 || i == len || p[i] != ':')
		return fail(why, "DID method must be lower-case letters "
		    "followed by ':'");
	if (++i == len)
		return fail(why, "DID requires method-specific content");
	for (; i < len; i++)
		if (!did_char((unsigned char)p[i]))
			return fail(why, "disallowed characters in DID");
	if (p[len - 1] == ':' || p[len - 1] == '%')
		return fail(why, "DID can not end with \":\" or \"%\"");
	return 0;
}

int
syntax_atid_validate(const char *p, size_t len, const char **why)
{
	if (len == 0)
		return fail(why, "identifier is empty");
	if (has_prefix(p, len, "did:"))
		return syntax_did_validate(p, len, why);
	return syntax_handle_validate(p, len, why);
}

/* ==== NSIDs ========================================================= */

int
syntax_nsid_validate(const char *p, size_t len, const char **why)
{
	size_t		i, j, start = 0, segs = 0;
	unsigned char	c;

	if (len > LIM_NSID_LEN)
		return fail(why, "NSID is too long (317 chars max)");
	for (i = 0; i < len; i++) {
		c = (unsigned char)p[i];
		if (!is_alnum(c) && c != '-' && c != '.')
			return fail(why, "disallowed characters in NSID "
			    "(ASCII letters, digits, dashes, periods only)");
	}
	for (i = 0; i <= len; i++) {
		if (i < len && p[i] != '.')
			continue;
		if (label_check(p + start, i - start, why) == -1)
			return -1;
		if (segs == 0 && !is_alpha((unsigned char)p[0]))
			return fail(why, "NSID first part must start with a "
			    "letter");
		segs++;
		if (i < len) {
			start = i + 1;
			continue;
		}
		/* the name segment: a letter, then letters and digits */
		if (!is_alpha((unsigned char)p[start]))
			return fail(why, "NSID name part must start with a "
			    "letter");
		for (j = start; j < len; j++)
			if (p[j] == '-')
				return fail(why, "NSID name part must be only "
				    "letters and digits");
	}
	if (segs < 3)
		return fail(why, "NSID needs at least three parts");
	return 0;
}

/* ==== record keys ==================================================== */

static int
rkey_char(unsigned char c)
{
	return is_alnum(c) || c == '_' || c == '~' || c == '.' || c == ':' ||
	    c == '-';
}

int
syntax_rkey_validate(const char *p, size_t len, const char **why)
{
	size_t	i;

	if (len < 1 || len > LIM_RKEY_LEN)
		return fail(why, "record key must be 1 to 512 characters");
	for (i = 0; i < len; i++)
		if (!rkey_char((unsigned char)p[i]))
			return fail(why, "record key syntax not valid "
			    "(A-Za-z0-9 . - _ : ~ only)");
	if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' &&
	    p[1] == '.'))
		return fail(why, "record key can not be \".\" or \"..\"");
	return 0;
}

/* ==== AT-URIs ========================================================== */

/* Characters @atproto/syntax allows anywhere in an AT-URI. */
static int
aturi_char(unsigned char c)
{
	return is_alnum(c) || (c != 0 && strchr("._~:@!$&'()*+,;=%/\\[]#?-",
	    c) != NULL);
}

/* Characters of the fragment's JSON pointer after its leading '/'. */
static int
jsonptr_char(unsigned char c)
{
	return is_alnum(c) || (c != 0 && strchr("._~:@!$&')(*+,;=%[]/-", c)
	    != NULL);
}

/* Reads the escape "%XX" at p[i].  Returns 0 and sets *b, or -1. */
static int
pct_byte(const char *p, size_t len, size_t i, unsigned char *b)
{
	if (i + 2 >= len || p[i] != '%' || !is_hex((unsigned char)p[i + 1]) ||
	    !is_hex((unsigned char)p[i + 2]))
		return -1;
	*b = (unsigned char)(hex_val((unsigned char)p[i + 1]) << 4 |
	    hex_val((unsigned char)p[i + 2]));
	return 0;
}

/*
 * The fragment must be a JSON pointer ("/" then jsonptr_char) whose
 * percent-escapes decodeURIComponent() accepts: "%" and two hex digits,
 * and escaped bytes >= 0x80 forming valid UTF-8 (ECMA-262 Decode).
 */
static int
aturi_fragment_check(const char *p, size_t len, const char **why)
{
	static const char	*bad_pct = "ATURI fragment has invalid "
	    "percent-encoding";
	unsigned char		 u[4];
	uint32_t		 cp;
	size_t			 i, k, n;

	if (len == 0 || p[0] != '/')
		return fail(why, "ATURI fragment must be a JSON pointer "
		    "starting with '/'");
	for (i = 1; i < len; i++)
		if (!jsonptr_char((unsigned char)p[i]))
			return fail(why, "ATURI fragment has a disallowed "
			    "character");
	for (i = 0; i < len; ) {
		if (p[i] != '%') {
			i++;
			continue;
		}
		if (pct_byte(p, len, i, &u[0]) == -1)
			return fail(why, bad_pct);
		i += 3;
		if (u[0] < 0x80)
			continue;
		n = (u[0] & 0xe0) == 0xc0 ? 2 : (u[0] & 0xf0) == 0xe0 ? 3 :
		    (u[0] & 0xf8) == 0xf0 ? 4 : 0;
		if (n == 0)
			return fail(why, bad_pct);
		for (k = 1; k < n; k++, i += 3)
			if (pct_byte(p, len, i, &u[k]) == -1)
				return fail(why, bad_pct);
		if (utf8_decode(u, n, &cp) != (int)n)
			return fail(why, bad_pct);
	}
	return 0;
}

/*
 * Splits an AT-URI path (empty, or starting with '/') into collection and
 * record key.  Sets *trailing when it ends with one more '/'.  Returns -1
 * for an empty segment ("//") or a third segment.
 */
static int
aturi_path_split(const char *p, size_t len, struct syntax_aturi *u,
    int *trailing)
{
	size_t	i = 1, s;
	int	seg;

	*trailing = 0;
	if (len == 0)
		return 0;
	for (seg = 0; seg < 2; seg++) {
		if (i == len) {
			*trailing = 1;
			return 0;
		}
		for (s = i; i < len && p[i] != '/'; i++)
			;
		if (i == s)
			return -1;
		if (seg == 0) {
			u->collection = p + s;
			u->collection_len = i - s;
		} else {
			u->rkey = p + s;
			u->rkey_len = i - s;
		}
		if (i == len)
			return 0;
		i++;			/* the '/' after the segment */
	}
	if (i == len) {
		*trailing = 1;
		return 0;
	}
	return -1;
}

int
syntax_aturi_parse(const char *p, size_t len, struct syntax_aturi *out,
    const char **why)
{
	struct syntax_aturi	u;
	size_t			i, pend;
	int			trailing, query = 0, frag = 0;

	memset(&u, 0, sizeof(u));
	if (len > LIM_ATURI_LEN)
		return fail(why, "ATURI exceeds maximum length (8192)");
	for (i = 0; i < len; i++)
		if (!aturi_char((unsigned char)p[i]))
			return fail(why, "disallowed characters in ATURI");
	if (!has_prefix(p, len, "at://"))
		return fail(why, "ATURI must start with \"at://\"");
	for (i = 5; i < len && p[i] != '/' && p[i] != '?' && p[i] != '#'; i++)
		;
	if (i == 5)
		return fail(why, "ATURI authority is empty");
	u.authority = p + 5;
	u.authority_len = i - 5;
	for (pend = i; pend < len && p[pend] != '?' && p[pend] != '#'; pend++)
		;
	if (aturi_path_split(p + i, pend - i, &u, &trailing) == -1)
		return fail(why, "ATURI path has an empty segment or more than "
		    "two segments");
	i = pend;
	if (i < len && p[i] == '?') {
		query = 1;
		while (i < len && p[i] != '#')
			i++;
	}
	if (i < len) {
		frag = 1;
		u.fragment = p + i + 1;
		u.fragment_len = len - i - 1;
	}
	/* the order of @atproto/syntax parseAtUriString() */
	if (syntax_atid_validate(u.authority, u.authority_len, NULL) == -1)
		return fail(why, "ATURI has invalid authority");
	if (u.collection != NULL &&
	    syntax_nsid_validate(u.collection, u.collection_len, NULL) == -1)
		return fail(why, "ATURI has invalid collection");
	if (frag && aturi_fragment_check(u.fragment, u.fragment_len, why) == -1)
		return -1;
	if (trailing)
		return fail(why, "ATURI can not have a trailing slash");
	if (query)
		return fail(why, "ATURI query part is not allowed");
	if (u.rkey != NULL &&
	    syntax_rkey_validate(u.rkey, u.rkey_len, NULL) == -1)
		return fail(why, "ATURI has invalid record key");
	if (out != NULL)
		*out = u;
	return 0;
}

int
syntax_aturi_validate(const char *p, size_t len, const char **why)
{
	return syntax_aturi_parse(p, len, NULL, why);
}

/* ==== datetimes ======================================================= */

/* Fields of "YYYY-MM-DDTHH:MM:SS[.f+](Z|+HH:MM|-HH:MM)". */
struct dt {
	int	year, mon, day, hour, min, sec;
	int	ms;		/* first three fraction digits */
	int	off_min;	/* signed offset east of UTC, minutes */
	int	off_hour_raw, off_min_raw;
};

/* n digits at p as an int, or -1 if any is not a digit. */
static int
dt_num(const char *p, int n)
{
	int	v = 0, i;

	for (i = 0; i < n; i++) {
		if (!is_digit((unsigned char)p[i]))
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

/*
 * The syntax tier: shape, separators and digits, <= 64 chars, no
 * "-00:00".  Fills *d without range checks.
 */
static int
dt_shape(const char *p, size_t len, struct dt *d, const char **why)
{
	static const char	*bad = "datetime is not in a valid format "
	    "(must match RFC 3339 & ISO 8601 with 'Z' or +hh:mm timezone)";
	size_t			 i, f, nd;
	int			 sign;

	if (len > LIM_DATETIME_LEN)
		return fail(why, "datetime is too long (64 chars max)");
	if (len >= 6 && memcmp(p + len - 6, "-00:00", 6) == 0)
		return fail(why, "datetime can not use \"-00:00\" for UTC "
		    "timezone");
	if (len < 20 || p[4] != '-' || p[7] != '-' || p[10] != 'T' ||
	    p[13] != ':' || p[16] != ':' ||
	    (d->year = dt_num(p, 4)) < 0 || (d->mon = dt_num(p + 5, 2)) < 0 ||
	    (d->day = dt_num(p + 8, 2)) < 0 ||
	    (d->hour = dt_num(p + 11, 2)) < 0 ||
	    (d->min = dt_num(p + 14, 2)) < 0 ||
	    (d->sec = dt_num(p + 17, 2)) < 0)
		return fail(why, bad);
	i = 19;
	d->ms = 0;
	if (p[i] == '.') {
		for (f = ++i; i < len && is_digit((unsigned char)p[i]); i++)
			if (i - f < 3)
				d->ms = d->ms * 10 + (p[i] - '0');
		if (i == f)
			return fail(why, bad);
		for (nd = i - f; nd < 3; nd++)	/* ".5" is 500 ms */
			d->ms *= 10;
	}
	if (i + 1 == len && p[i] == 'Z') {
		d->off_min = d->off_hour_raw = d->off_min_raw = 0;
		return 0;
	}
	if (i + 6 != len || (p[i] != '+' && p[i] != '-') || p[i + 3] != ':' ||
	    (d->off_hour_raw = dt_num(p + i + 1, 2)) < 0 ||
	    (d->off_min_raw = dt_num(p + i + 4, 2)) < 0)
		return fail(why, bad);
	sign = p[i] == '-' ? -1 : 1;
	d->off_min = sign * (d->off_hour_raw * 60 + d->off_min_raw);
	return 0;
}

static int
dt_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
dt_mdays(int y, int m)
{
	static const int	days[12] = { 31, 28, 31, 30, 31, 30, 31, 31,
	    30, 31, 30, 31 };

	return m == 2 && dt_leap(y) ? 29 : days[m - 1];
}

/* Days from 1970-01-01 to y-m-d, proleptic Gregorian (H. Hinnant's
 * days_from_civil); valid for any y >= -1. */
static int64_t
dt_days(int64_t y, int m, int d)
{
	int64_t		era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int
syntax_datetime_validate(const char *p, size_t len, const char **why)
{
	struct dt	d;

	return dt_shape(p, len, &d, why);
}

int
syntax_datetime_parse(const char *p, size_t len, int64_t *ms,
    const char **why)
{
	struct dt	d;
	int64_t		s;

	if (dt_shape(p, len, &d, why) == -1)
		return -1;
	if (d.mon < 1 || d.mon > 12 || d.day < 1 ||
	    d.day > dt_mdays(d.year, d.mon) || d.hour > 23 || d.min > 59 ||
	    d.sec > 59 || d.off_hour_raw > 23 || d.off_min_raw > 59)
		return fail(why, "datetime did not parse as ISO 8601 (a field "
		    "is out of range)");
	s = dt_days(d.year, d.mon, d.day) * 86400 + d.hour * 3600 +
	    d.min * 60 + d.sec - (int64_t)d.off_min * 60;
	/* toISOString() must print a 4-digit year: 0000 to 9999 in UTC */
	if (s < dt_days(0, 1, 1) * 86400)
		return fail(why, "datetime normalized to a negative time");
	if (s >= dt_days(10000, 1, 1) * 86400)
		return fail(why, "datetime year is too far in the future");
	if (ms != NULL)
		*ms = s * 1000 + d.ms;
	return 0;
}

int
syntax_datetime_validate_strict(const char *p, size_t len, const char **why)
{
	return syntax_datetime_parse(p, len, NULL, why);
}

/* ==== CID strings ===================================================== */

int
syntax_cid_validate(const char *p, size_t len, const char **why)
{
	size_t		i;
	unsigned char	c;

	if (len < LIM_CID_SYNTAX_MIN)
		return fail(why, "CID is too short (8 chars min)");
	if (len > LIM_CID_SYNTAX_LEN)
		return fail(why, "CID is too long (256 chars max)");
	for (i = 0; i < len; i++) {
		c = (unsigned char)p[i];
		if (!is_alnum(c) && c != '+' && c != '=')
			return fail(why, "CID syntax not valid (A-Za-z0-9+= "
			    "only)");
	}
	if (has_prefix(p, len, "Qmb"))
		return fail(why, "CIDv0 is not allowed");
	return 0;
}

/* A binary CIDv1: version, codec, hash code, digest length, digest. */
static int
cid_bin_check(const uint8_t *b, size_t n)
{
	uint64_t	v[4];
	ssize_t		r;
	size_t		i, off = 0;

	for (i = 0; i < 4; i++) {
		if ((r = enc_varint_decode(b + off, n - off, &v[i])) < 0)
			return -1;
		off += (size_t)r;
	}
	return v[0] == 1 && v[3] == n - off ? 0 : -1;
}

int
syntax_cid_validate_strict(const char *p, size_t len, const char **why)
{
	uint8_t		bin[LIM_CID_STRICT_LEN];
	char		again[ENC_B32_LEN(LIM_CID_STRICT_LEN)];
	ssize_t		n;

	if (syntax_cid_validate(p, len, why) == -1)
		return -1;
	if (len > LIM_CID_STRICT_LEN)
		return fail(why, "CID string is too long (128 chars max)");
	if (p[0] != 'b')
		return fail(why, "CID must be CIDv1 in base32 (multibase 'b')");
	if ((n = enc_b32_decode(p + 1, len - 1, bin, sizeof(bin))) < 0)
		return fail(why, "CID is not valid lowercase base32");
	/* canonical: the decoded bytes print back to the same text */
	if (enc_b32_encode(bin, (size_t)n, again) != len - 1 ||
	    memcmp(again, p + 1, len - 1) != 0)
		return fail(why, "CID base32 is not canonical");
	if (cid_bin_check(bin, (size_t)n) == -1)
		return fail(why, "CID is not a well-formed CIDv1");
	return 0;
}

/* ==== language tags (RFC 5646 section 2.1) ============================ */

/* One subtag: [start, start + len) of the tag. */
struct subtag {
	const char	*p;
	size_t		 len;
	int		 alpha, digit, alnum;	/* all chars in that class */
};

/* Reads the subtag starting at *pos; advances *pos past it and its '-'.
 * Returns -1 for an empty subtag (a leading, trailing or double '-'). */
static int
lang_next(const char *p, size_t len, size_t *pos, struct subtag *t)
{
	size_t		i = *pos;
	unsigned char	c;

	t->p = p + i;
	t->alpha = t->digit = t->alnum = 1;
	for (; i < len && p[i] != '-'; i++) {
		c = (unsigned char)p[i];
		t->alpha &= is_alpha(c);
		t->digit &= is_digit(c);
		t->alnum &= is_alnum(c);
	}
	t->len = (size_t)(p + i - t->p);
	if (t->len == 0 || (i < len && i + 1 == len))
		return -1;
	*pos = i < len ? i + 1 : i;
	return 0;
}

static int
lang_is_grandfathered(const char *p, size_t len)
{
	/* RFC 5646 section 2.1 "grandfathered", exact case as the reference's
	 * regular expression writes them */
	static const char *const gf[] = { "en-GB-oed", "i-ami", "i-bnn",
	    "i-default", "i-enochian", "i-hak", "i-klingon", "i-lux",
	    "i-mingo", "i-navajo", "i-pwn", "i-tao", "i-tay", "i-tsu",
	    "sgn-BE-FR", "sgn-BE-NL", "sgn-CH-DE", "art-lojban",
	    "cel-gaulish", "no-bok", "no-nyn", "zh-guoyu", "zh-hakka",
	    "zh-min", "zh-min-nan", "zh-xiang" };
	size_t	i;

	for (i = 0; i < sizeof(gf) / sizeof(gf[0]); i++)
		if (strlen(gf[i]) == len && memcmp(gf[i], p, len) == 0)
			return 1;
	return 0;
}

/* privateuse tail: one or more subtags of 1-8 alphanumerics. */
static int
lang_privateuse(const char *p, size_t len, size_t pos)
{
	struct subtag	t;

	if (pos >= len)
		return -1;
	while (pos < len)
		if (lang_next(p, len, &pos, &t) == -1 || !t.alnum || t.len > 8)
			return -1;
	return 0;
}

static int
lang_is_variant(const struct subtag *t)
{
	return t->alnum && ((t->len >= 5 && t->len <= 8) ||
	    (t->len == 4 && is_digit((unsigned char)t->p[0])));
}

/* Has a variant equal (ignoring case) to t appeared in [from, t)? */
static int
lang_variant_seen(const char *from, const struct subtag *t)
{
	struct subtag	u;
	size_t		pos = 0, n;

	n = (size_t)(t->p - from) - 1;		/* up to t's '-' */
	while (pos < n && lang_next(from, n, &pos, &u) == 0)
		if (u.len == t->len && eq_nocase(u.p, t->p, t->len))
			return 1;
	return 0;
}

/* Where a langtag parse is: the next subtag may be any of this slot or
 * a later one (RFC 5646 section 2.1 order). */
enum lang_slot {
	LANG_EXTLANG,		/* after the primary language subtag */
	LANG_SCRIPT,
	LANG_REGION,
	LANG_VARIANT,
	LANG_EXT_NEED,		/* after a singleton: needs a subtag */
	LANG_EXT,		/* inside an extension */
	LANG__MAX
};

/* The bit of an extension singleton [0-9A-WY-Za-wy-z], case-folded. */
static uint64_t
lang_singleton_bit(unsigned char c)
{
	return (uint64_t)1 << (is_digit(c) ? c - '0' : 10 + to_lower(c) - 'a');
}

/*
 * A langtag after its primary subtag (at pos): extlang{0,3}, script,
 * region, variants, extensions, privateuse, in that order.  A subtag's
 * slot follows from its length and kind, so one left-to-right pass
 * accepts exactly what the reference's regular expression does.  With
 * strict, a repeated variant or singleton (any case) is refused.
 */
static int
lang_langtag(const char *p, size_t len, size_t pos, int strict,
    const char **why)
{
	static const char	*bad = "language tag is not well-formed";
	struct subtag		 t;
	const char		*vfrom = NULL;
	uint64_t		 seen = 0, bit;
	enum lang_slot		 st = LANG_EXTLANG;
	int			 nextlang = 0;

	while (pos < len) {
		if (lang_next(p, len, &pos, &t) == -1 || !t.alnum)
			return fail(why, bad);
		if (st >= LANG_EXT_NEED) {
			if (t.len >= 2 && t.len <= 8) {
				st = LANG_EXT;
				continue;
			}
			if (st == LANG_EXT_NEED)
				return fail(why, bad);
		} else if (st == LANG_EXTLANG && t.len == 3 && t.alpha &&
		    nextlang < 3) {
			nextlang++;
			continue;
		} else if (st <= LANG_SCRIPT && t.len == 4 && t.alpha) {
			st = LANG_REGION;
			continue;
		} else if (st <= LANG_REGION && ((t.len == 2 && t.alpha) ||
		    (t.len == 3 && t.digit))) {
			st = LANG_VARIANT;
			continue;
		} else if (lang_is_variant(&t)) {
			if (vfrom == NULL)
				vfrom = t.p;
			else if (strict && lang_variant_seen(vfrom, &t))
				return fail(why, "language tag repeats a "
				    "variant subtag");
			st = LANG_VARIANT;
			continue;
		}
		if (t.len != 1)
			return fail(why, bad);
		if (t.p[0] == 'x' || t.p[0] == 'X')
			return lang_privateuse(p, len, pos) == -1 ?
			    fail(why, bad) : 0;
		bit = lang_singleton_bit((unsigned char)t.p[0]);
		if (strict && (seen & bit))
			return fail(why, "language tag repeats an extension "
			    "singleton");
		seen |= bit;
		st = LANG_EXT_NEED;
	}
	return st == LANG_EXT_NEED ? fail(why, bad) : 0;
}

static int
lang_check(const char *p, size_t len, int strict, const char **why)
{
	struct subtag	t;
	size_t		pos = 0, i;

	if (len == 0)
		return fail(why, "language tag is empty");
	if (len > LIM_LANGUAGE_LEN)
		return fail(why, "language tag is too long");
	if (lang_is_grandfathered(p, len))
		return 0;
	if (lang_next(p, len, &pos, &t) == -1)
		return fail(why, "language tag is not well-formed BCP 47");
	if (t.len == 1 && (t.p[0] == 'x' || t.p[0] == 'X'))
		return lang_privateuse(p, len, pos) == -1 ? fail(why,
		    "language tag is not well-formed BCP 47") : 0;
	/* primary language: lowercase 2-3 letters (RFC 5646 2.1.1) */
	if (t.len < 2 || t.len > 3)
		return fail(why, "language tag primary subtag must be 2-3 "
		    "lowercase letters");
	for (i = 0; i < t.len; i++)
		if (!is_lower((unsigned char)t.p[i]))
			return fail(why, "language tag primary subtag must be "
			    "2-3 lowercase letters");
	return lang_langtag(p, len, pos, strict, why);
}

int
syntax_language_validate(const char *p, size_t len, const char **why)
{
	return lang_check(p, len, 0, why);
}

int
syntax_language_validate_strict(const char *p, size_t len, const char **why)
{
	return lang_check(p, len, 1, why);
}

/* ==== generic URIs ==================================================== */

/* JavaScript's \s (ECMA-262 WhiteSpace and LineTerminator). */
static int
js_space(uint32_t c)
{
	return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0xa0 ||
	    c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 ||
	    c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000 ||
	    c == 0xfeff;
}

static int
word_char(unsigned char c)
{
	return is_alnum(c) || c == '_';
}

/* @atproto/syntax isValidUri(): /^\w+:(?:\/\/)?[^\s/][^\s]*$/, except
 * that we also refuse the C0 controls and DEL, which RFC 3986 never
 * allows and JS \s lets through (NUL, ESC).  The input is already known
 * to be valid UTF-8. */
static int
uri_js(const char *p, size_t len)
{
	const unsigned char	*u = (const unsigned char *)p;
	uint32_t		 cp;
	size_t			 i, r;
	int			 n;

	for (i = 0; i < len && word_char(u[i]); i++)
		;
	if (i == 0 || i == len || p[i] != ':')
		return -1;
	r = ++i;
	if (len - r >= 2 && p[r] == '/' && p[r + 1] == '/')
		r += 2;
	if (r == len || p[r] == '/')
		return -1;
	for (; i < len; i += (size_t)n)
		if ((n = utf8_decode(u + i, len - i, &cp)) < 0 ||
		    js_space(cp) || cp < 0x20 || cp == 0x7f)
			return -1;
	return 0;
}

/* The interop rule (indigo): /^[a-z][a-z.-]{0,80}:[[:graph:]]+$/. */
static int
uri_interop(const char *p, size_t len)
{
	size_t	i;

	if (len == 0 || !is_lower((unsigned char)p[0]))
		return -1;
	for (i = 1; i < len && (is_lower((unsigned char)p[i]) ||
	    p[i] == '.' || p[i] == '-'); i++)
		;
	if (i > LIM_URI_SCHEME_LEN || i == len || p[i] != ':' || ++i == len)
		return -1;
	for (; i < len; i++)
		if ((unsigned char)p[i] < 0x21 || (unsigned char)p[i] > 0x7e)
			return -1;
	return 0;
}

int
syntax_uri_validate(const char *p, size_t len, const char **why)
{
	uint32_t	cp;
	size_t		i;
	int		n;

	if (len == 0)
		return fail(why, "URI is empty");
	if (len > LIM_URI_LEN)
		return fail(why, "URI is too long (8192 chars max)");
	for (i = 0; i < len; i += (size_t)n)
		if ((n = utf8_decode((const unsigned char *)p + i, len - i,
		    &cp)) < 0)
			return fail(why, "URI is not valid UTF-8");
	if (uri_js(p, len) == -1 && uri_interop(p, len) == -1)
		return fail(why, "URI syntax not valid (scheme \":\" then no "
		    "whitespace)");
	return 0;
}

/* ==== Lexicon string formats by name ================================= */

typedef int	(*syntax_fn)(const char *, size_t, const char **);

static const struct {
	const char	*name;
	syntax_fn	 fn;
} formats[SYNTAX_FMT__MAX] = {
	{ "at-identifier", syntax_atid_validate },	/* AT_IDENTIFIER */
	{ "at-uri", syntax_aturi_validate },		/* AT_URI */
	{ "cid", syntax_cid_validate_strict },		/* CID */
	{ "datetime", syntax_datetime_validate_strict },/* DATETIME */
	{ "did", syntax_did_validate },			/* DID */
	{ "handle", syntax_handle_validate },		/* HANDLE */
	{ "language", syntax_language_validate_strict },/* LANGUAGE */
	{ "nsid", syntax_nsid_validate },		/* NSID */
	{ "record-key", syntax_rkey_validate },		/* RECORD_KEY */
	{ "tid", tid_validate },			/* TID */
	{ "uri", syntax_uri_validate },			/* URI */
};

int
syntax_format_find(const char *name, size_t len, enum syntax_format *fmt)
{
	size_t	i;

	for (i = 0; i < SYNTAX_FMT__MAX; i++) {
		if (strlen(formats[i].name) == len &&
		    memcmp(formats[i].name, name, len) == 0) {
			*fmt = (enum syntax_format)i;
			return 0;
		}
	}
	return -1;
}

int
syntax_format_validate(enum syntax_format fmt, const char *p, size_t len,
    const char **why)
{
	if ((unsigned)fmt >= SYNTAX_FMT__MAX)
		return fail(why, "unknown string format");
	return formats[fmt].fn(p, len, why);
}
