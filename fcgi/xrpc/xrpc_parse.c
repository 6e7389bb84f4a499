/*
 * xrpc_parse.c: query strings, XRPC paths, media types and Authorization
 * headers, as pure functions.  See xrpc_parse.h.
 *
 * Owns the decoding and the wording of parameter issues; does not own
 * what a handler does with a missing or invalid parameter (fcgi/xrpc).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cbor.h"
#include "enc.h"
#include "pds_limits.h"
#include "util.h"
#include "xrpc_parse.h"

/* ---- query strings ---------------------------------------------------- */

/* Decodes one form-urlencoded component into a new arena string. */
static int
query_decode(struct arena *a, const char *p, size_t len, const char **out,
    size_t *outlen, const char **why)
{
	char	*s;
	size_t	 i, n = 0;
	int	 hi, lo;

	if ((s = arena_alloc(a, len + 1)) == NULL) {
		*why = "out of memory";
		return -1;
	}
	for (i = 0; i < len; i++) {
		if (p[i] == '+') {
			s[n++] = ' ';
		} else if (p[i] == '%') {
			if (len - i < 3 || (hi = enc_hex_digit(p[i + 1])) < 0 ||
			    (lo = enc_hex_digit(p[i + 2])) < 0) {
				*why = "malformed percent-encoding";
				return -1;
			}
			s[n++] = (char)(hi << 4 | lo);
			i += 2;
		} else
			s[n++] = p[i];
	}
	s[n] = '\0';
	if (memchr(s, '\0', n) != NULL) {
		*why = "NUL byte in a parameter";
		return -1;
	}
	if (!cbor_utf8_validate((const uint8_t *)s, n)) {
		*why = "parameter is not valid UTF-8";
		return -1;
	}
	*out = s;
	*outlen = n;
	return 0;
}

int
xrpc_query_parse(struct arena *a, const char *qs, size_t len,
    struct xrpc_query *out, const char **why)
{
	const char	*p, *end, *amp, *eq;
	size_t		 count = 0;
	struct xrpc_param *v;

	out->v = NULL;
	out->n = 0;
	if (len > LIM_QUERY_LEN) {
		*why = "query string too long";
		return -1;
	}
	end = qs + len;
	/* Count pieces first so the array is sized once. */
	for (p = qs; p < end; p = amp + 1) {
		if ((amp = memchr(p, '&', (size_t)(end - p))) == NULL)
			amp = end;
		if (amp > p)
			count++;
	}
	if (count == 0)
		return 0;
	if (count > LIM_QUERY_PARAMS) {
		*why = "too many query parameters";
		return -1;
	}
	if ((v = arena_calloc(a, count, sizeof(*v))) == NULL) {
		*why = "out of memory";
		return -1;
	}
	for (p = qs; p < end; p = amp + 1) {
		if ((amp = memchr(p, '&', (size_t)(end - p))) == NULL)
			amp = end;
		if (amp == p)
			continue;
		if ((eq = memchr(p, '=', (size_t)(amp - p))) == NULL)
			eq = amp;
		if (query_decode(a, p, (size_t)(eq - p), &v[out->n].name,
		    &v[out->n].namelen, why) == -1 ||
		    query_decode(a, eq < amp ? eq + 1 : amp,
		    eq < amp ? (size_t)(amp - eq - 1) : 0, &v[out->n].value,
		    &v[out->n].len, why) == -1)
			return -1;
		out->n++;
		if (amp == end)
			break;
	}
	out->v = v;
	return 0;
}

const char *
xrpc_query_get(const struct xrpc_query *q, const char *name)
{
	size_t	i;

	for (i = 0; i < q->n; i++)
		if (q->v[i].len > 0 && strcmp(q->v[i].name, name) == 0)
			return q->v[i].value;
	return NULL;
}

int
xrpc_query_all(struct arena *a, const struct xrpc_query *q,
    const char *name, const char ***out, size_t *n)
{
	const char	**v;
	size_t		  i, k = 0;

	*out = NULL;
	*n = 0;
	for (i = 0; i < q->n; i++)
		if (q->v[i].len > 0 && strcmp(q->v[i].name, name) == 0)
			k++;
	if (k == 0)
		return 0;
	if ((v = arena_calloc(a, k, sizeof(*v))) == NULL)
		return -1;
	for (i = 0, k = 0; i < q->n; i++)
		if (q->v[i].len > 0 && strcmp(q->v[i].name, name) == 0)
			v[k++] = q->v[i].value;
	*out = v;
	*n = k;
	return 0;
}

/* ---- typed getters (lex-schema params.ts coerceParam + integer.ts) --- */

/* Appends one UTF-8 sequence or escape to the preview; returns the JS
 * string length (UTF-16 units) it stands for. */
static size_t
preview_char(const unsigned char *p, size_t left, size_t *used, char *esc,
    size_t escsz)
{
	unsigned char	c = p[0];
	size_t		n = 1;

	if (c < 0x80) {
		*used = 1;
		if (c == '"' || c == '\\')
			(void)snprintf(esc, escsz, "\\%c", c);
		else if (c == '\n')
			(void)snprintf(esc, escsz, "\\n");
		else if (c == '\r')
			(void)snprintf(esc, escsz, "\\r");
		else if (c == '\t')
			(void)snprintf(esc, escsz, "\\t");
		else if (c == '\b')
			(void)snprintf(esc, escsz, "\\b");
		else if (c == '\f')
			(void)snprintf(esc, escsz, "\\f");
		else if (c < 0x20)
			(void)snprintf(esc, escsz, "\\u%04x", c);
		else
			(void)snprintf(esc, escsz, "%c", c);
		return 1;
	}
	if (c >= 0xf0)
		n = 4;
	else if (c >= 0xe0)
		n = 3;
	else
		n = 2;
	if (n > left)
		n = left;	/* the input was validated; be safe anyway */
	*used = n;
	memcpy(esc, p, n);
	esc[n] = '\0';
	return n == 4 ? 2 : 1;
}

void
xrpc_json_preview(char *out, size_t outsz, const char *p, size_t len)
{
	const unsigned char	*s = (const unsigned char *)p;
	size_t			 i, o = 0, units = 0, total = 0, used, u, el;
	char			 esc[8];
	int			 cut;

	if (outsz == 0)
		return;
	/* JS length first: cut only when it is LIM_PARAM_PREVIEW or more. */
	for (i = 0; i < len; i += used)
		total += preview_char(s + i, len - i, &used, esc, sizeof(esc));
	cut = total >= LIM_PARAM_PREVIEW;
	out[o++] = '"';
	for (i = 0; i < len && o < outsz; i += used) {
		u = preview_char(s + i, len - i, &used, esc, sizeof(esc));
		/* "…" takes one unit of the LIM_PARAM_PREVIEW. */
		if (cut && units + u > LIM_PARAM_PREVIEW - 1) {
			/* JS slices UTF-16: a pair cut in half leaves its
			 * high surrogate, which JSON.stringify escapes. */
			if (u == 2 && used == 4 &&
			    units + 1 == LIM_PARAM_PREVIEW - 1 && o + 6 < outsz)
				o += (size_t)snprintf(out + o, outsz - o,
				    "\\u%04x", 0xd800 + ((((unsigned)(s[i] & 7)
				    << 18 | (unsigned)(s[i + 1] & 0x3f) << 12 |
				    (unsigned)(s[i + 2] & 0x3f) << 6 |
				    (unsigned)(s[i + 3] & 0x3f)) - 0x10000) >>
				    10));
			break;
		}
		units += u;
		el = strlen(esc);
		if (o + el >= outsz)
			break;
		memcpy(out + o, esc, el);
		o += el;
	}
	if (cut && o + 3 < outsz) {
		memcpy(out + o, "\xe2\x80\xa6", 3);
		o += 3;
	}
	if (o + 1 < outsz)
		out[o++] = '"';
	out[o < outsz ? o : outsz - 1] = '\0';
}

/* /^-?\d+$/ */
static int
query_is_int(const char *s)
{
	if (*s == '-')
		s++;
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* Number(s) for an s matching /^-?\d+$/: 0 and *v when it is a JS safe
 * integer, -1 when not (leading zeros are dropped: "007" is 7). */
static int
query_number(const char *s, int64_t *v)
{
	const char	*d;
	int		 neg = s[0] == '-';

	for (d = s + neg; d[0] == '0' && d[1] != '\0'; d++)
		;
	if (strlen(d) > 16 || util_int_parse_str(d, 0, LIM_JSON_SAFE_INT,
	    v) == -1)
		return -1;
	if (neg)
		*v = -*v;
	return 0;
}

/* How lex-schema prints a value it could not accept. */
enum query_kind { QK_STRING, QK_INTEGER, QK_BOOLEAN, QK_ENUM };

static void
query_show(enum query_kind k, const char *s, char *out, size_t outsz)
{
	int64_t	v;

	if (k == QK_INTEGER && query_number(s, &v) == 0)
		(void)snprintf(out, outsz, "%lld", (long long)v);
	else if (k == QK_INTEGER)	/* beyond 2^53: the digits */
		(void)snprintf(out, outsz, "%.64s", s);
	else if (k == QK_BOOLEAN)
		(void)snprintf(out, outsz, "%s", s);
	else
		xrpc_json_preview(out, outsz, s, strlen(s));
}

/* "Expected <what> (got <shown>)" for one value; shown is the JSON
 * preview of the raw parameter. */
static enum xrpc_qres
query_refuse(const char *what, const char *s, char *msg, size_t msgsz)
{
	char	prev[LIM_PARAM_PREVIEW * 6 + 16];

	xrpc_json_preview(prev, sizeof(prev), s, strlen(s));
	(void)snprintf(msg, msgsz, "Expected %s (got %s)", what, prev);
	return XQ_INVALID;
}

/* A repeated scalar: lex-schema sees an array and shows its first two
 * items (stringifyArray), then ", ..." when there are more. */
static enum xrpc_qres
query_refuse_array(const struct xrpc_query *q, const char *name,
    enum query_kind k, const char *what, char *msg, size_t msgsz)
{
	char	item[LIM_PARAM_PREVIEW * 6 + 16];
	size_t	i, shown = 0, total = 0, o;
	int	w;

	w = snprintf(msg, msgsz, "Expected %s (got [", what);
	o = w > 0 ? (size_t)w : 0;
	for (i = 0; i < q->n; i++) {
		if (q->v[i].len == 0 || strcmp(q->v[i].name, name) != 0)
			continue;
		if (total++ >= 2 || o >= msgsz)
			continue;
		query_show(k, q->v[i].value, item, sizeof(item));
		w = snprintf(msg + o, msgsz - o, "%s%s", shown++ ? ", " : "",
		    item);
		o += w > 0 ? (size_t)w : 0;
	}
	if (o < msgsz)
		(void)snprintf(msg + o, msgsz - o, "%s])", total > 2 ?
		    ", ..." : "");
	return XQ_INVALID;
}

/* Counts the non-empty values of name; sets *first to the first. */
static size_t
query_count(const struct xrpc_query *q, const char *name,
    const char **first)
{
	size_t	i, n = 0;

	*first = NULL;
	for (i = 0; i < q->n; i++)
		if (q->v[i].len > 0 && strcmp(q->v[i].name, name) == 0 &&
		    n++ == 0)
			*first = q->v[i].value;
	return n;
}

enum xrpc_qres
xrpc_query_str(const struct xrpc_query *q, const char *name,
    const char **out, char *msg, size_t msgsz)
{
	const char	*s;
	size_t		 n = query_count(q, name, &s);

	if (n == 0)
		return XQ_ABSENT;
	if (n > 1)
		return query_refuse_array(q, name, QK_STRING,
		    "string value type", msg, msgsz);
	*out = s;
	return XQ_OK;
}

enum xrpc_qres
xrpc_query_int(const struct xrpc_query *q, const char *name, int64_t min,
    int64_t max, int64_t *out, char *msg, size_t msgsz)
{
	const char	*s;
	size_t		 i, n = query_count(q, name, &s);
	int64_t		 v;

	if (n == 0)
		return XQ_ABSENT;
	/* coerceParam() runs on every value first, in order. */
	for (i = 0; i < q->n; i++)
		if (q->v[i].len > 0 && strcmp(q->v[i].name, name) == 0 &&
		    !query_is_int(q->v[i].value))
			return query_refuse("integer value type", q->v[i].value,
			    msg, msgsz);
	if (n > 1)
		return query_refuse_array(q, name, QK_INTEGER,
		    "integer value type", msg, msgsz);
	if (query_number(s, &v) == -1) {
		/* Not a JS safe integer: lex-schema reports the Number. */
		(void)snprintf(msg, msgsz, "Expected integer value type "
		    "(got %.64s)", s);
		return XQ_INVALID;
	}
	if (v < min) {
		(void)snprintf(msg, msgsz, "integer too small (minimum %lld, "
		    "got %lld)", (long long)min, (long long)v);
		return XQ_INVALID;
	}
	if (v > max) {
		(void)snprintf(msg, msgsz, "integer too big (maximum %lld, "
		    "got %lld)", (long long)max, (long long)v);
		return XQ_INVALID;
	}
	*out = v;
	return XQ_OK;
}

enum xrpc_qres
xrpc_query_bool(const struct xrpc_query *q, const char *name, int *out,
    char *msg, size_t msgsz)
{
	const char	*s;
	size_t		 i, n = query_count(q, name, &s);

	if (n == 0)
		return XQ_ABSENT;
	for (i = 0; i < q->n; i++)
		if (q->v[i].len > 0 && strcmp(q->v[i].name, name) == 0 &&
		    strcmp(q->v[i].value, "true") != 0 &&
		    strcmp(q->v[i].value, "false") != 0)
			return query_refuse("boolean value type", q->v[i].value,
			    msg, msgsz);
	if (n > 1)
		return query_refuse_array(q, name, QK_BOOLEAN,
		    "boolean value type", msg, msgsz);
	*out = strcmp(s, "true") == 0;
	return XQ_OK;
}

/* "one of "a", "b" or "c"" as lex-schema's oneOf() words it. */
static void
query_one_of(const char *const *values, char *out, size_t outsz)
{
	size_t	i, n, o = 0;
	int	w;

	for (n = 0; values[n] != NULL; n++)
		;
	w = snprintf(out, outsz, "%s", n > 1 ? "one of " : "");
	for (i = 0; w >= 0 && (o += (size_t)w) < outsz && i < n; i++)
		w = snprintf(out + o, outsz - o, "%s\"%s\"", i == 0 ? "" :
		    i + 1 == n ? " or " : ", ", values[i]);
}

enum xrpc_qres
xrpc_query_enum(const struct xrpc_query *q, const char *name,
    const char *const *values, const char **out, char *msg, size_t msgsz)
{
	const char	*s;
	char		 what[512];
	size_t		 i, k, n = query_count(q, name, &s);

	if (n == 0)
		return XQ_ABSENT;
	query_one_of(values, what, sizeof(what));
	for (i = 0; i < q->n; i++) {
		if (q->v[i].len == 0 || strcmp(q->v[i].name, name) != 0)
			continue;
		for (k = 0; values[k] != NULL; k++)
			if (strcmp(q->v[i].value, values[k]) == 0)
				break;
		if (values[k] == NULL)
			return query_refuse(what, q->v[i].value, msg, msgsz);
	}
	if (n > 1)
		return query_refuse_array(q, name, QK_ENUM, what, msg, msgsz);
	for (k = 0; strcmp(s, values[k]) != 0; k++)
		;
	*out = values[k];
	return XQ_OK;
}

/* ---- /xrpc/<nsid> (xrpc-server util.ts extractUrlNsid) ---------------- */

int
xrpc_path_nsid(const char *path, size_t len, const char **nsid,
    size_t *nsidlen)
{
	size_t	i, start = 6;
	int	need_alnum = 1;
	char	c;

	if (len <= 6 || memcmp(path, "/xrpc/", 6) != 0)
		return -1;
	for (i = start; i < len; i++) {
		c = path[i];
		if (isalnum((unsigned char)c))
			need_alnum = 0;
		else if (c == '-' || c == '.') {
			if (need_alnum)
				return -1;
			need_alnum = 1;
		} else if (c == '/' && i == len - 1)
			break;	/* one trailing slash */
		else
			return -1;
	}
	if (need_alnum || i - start < 2)
		return -1;
	*nsid = path + start;
	*nsidlen = i - start;
	return 0;
}

/* ---- Content-Type ------------------------------------------------------ */

static int
mime_token(int c)
{
	return isalnum(c) || (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

int
xrpc_mime_parse(const char *p, size_t len, char *out, size_t outsz)
{
	const char	*semi, *end;
	size_t		 i, n, slash = 0;

	if ((semi = memchr(p, ';', len)) != NULL)
		len = (size_t)(semi - p);
	end = p + len;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	n = (size_t)(end - p);
	if (n == 0 || n >= outsz)
		return -1;
	for (i = 0; i < n; i++) {
		if (p[i] == '/') {
			if (slash != 0 || i == 0 || i == n - 1)
				return -1;
			slash = i;
		} else if (!mime_token((unsigned char)p[i]))
			return -1;
		out[i] = (char)tolower((unsigned char)p[i]);
	}
	out[n] = '\0';
	return slash != 0 ? 0 : -1;
}

/* ---- Authorization (pds auth-verifier.ts parseAuthorizationHeader) --- */

int
xrpc_authz_parse(const char *h, size_t len, enum xrpc_authz *type,
    const char **tok, size_t *toklen, const char **why)
{
	static const struct {
		const char	*name;
		enum xrpc_authz	 type;
	} schemes[] = {
		{ "basic", XRPC_AUTHZ_BASIC },
		{ "bearer", XRPC_AUTHZ_BEARER },
		{ "dpop", XRPC_AUTHZ_DPOP },
	};
	const char	*sp;
	size_t		 i, slen;

	*type = XRPC_AUTHZ_NONE;
	*tok = NULL;
	*toklen = 0;
	if (h == NULL || len == 0)
		return 0;
	/* split(' ') must give exactly two parts. */
	if ((sp = memchr(h, ' ', len)) == NULL ||
	    memchr(sp + 1, ' ', len - (size_t)(sp + 1 - h)) != NULL) {
		*why = "Malformed authorization header";
		return -1;
	}
	slen = (size_t)(sp - h);
	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (slen == strlen(schemes[i].name) &&
		    strncasecmp(h, schemes[i].name, slen) == 0) {
			*type = schemes[i].type;
			*tok = sp + 1;
			*toklen = len - slen - 1;
			return 0;
		}
	*why = "Unsupported authorization type";
	return -1;
}
