/*
 * xrpc_parse.h: pure parsers for the untrusted parts of an XRPC request
 * line and headers (STYLE.md 6.5.1): the query string, the /xrpc/<nsid>
 * path, the Content-Type media type and the Authorization header.
 *
 * No I/O; input is (pointer, length); output strings are copied into the
 * caller's arena (NUL-terminated, with lengths).  Compiled into the core
 * archive so pds-firehose and the fuzzers use the same code.
 *
 * Error convention: functions return 0 on success and -1 on refusal, with
 * a static English reason in *why; the typed parameter getters return an
 * enum xrpc_qres and write the reference's issue text.
 */
#ifndef PDS_XRPC_PARSE_H
#define PDS_XRPC_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"

/* One decoded name=value pair; both NUL-terminated in the arena.  Names
 * and values hold no NUL byte and are valid UTF-8. */
struct xrpc_param {
	const char	*name;
	size_t		 namelen;
	const char	*value;
	size_t		 len;
};

struct xrpc_query {
	struct xrpc_param	*v;	/* arena array, in query order */
	size_t			 n;
};

/* Parses an application/x-www-form-urlencoded query (the WHATWG
 * URLSearchParams rules: '&'-separated, empty pieces skipped, split at the
 * first '=', '+' is a space, %XX decoded) into *out, in arena a.  Stricter
 * than URLSearchParams on purpose: a malformed %-escape, a decoded NUL or
 * invalid UTF-8 is refused rather than replaced.  At most LIM_QUERY_LEN
 * bytes and LIM_QUERY_PARAMS pairs.  Returns 0, or -1 with *why. */
int	xrpc_query_parse(struct arena *a, const char *qs, size_t len,
	    struct xrpc_query *out, const char **why);

/* The first value of name, skipping empty values as lex-schema's
 * fromURLSearchParams() does ("?limit=" is absent), or NULL.  The pointer
 * is into the query's arena. */
const char	*xrpc_query_get(const struct xrpc_query *, const char *name);
/* Every non-empty value of name, in order: sets *out to an arena array
 * of *n pointers (NULL when none).  Returns 0, or -1 on ENOMEM. */
int	xrpc_query_all(struct arena *a, const struct xrpc_query *,
	    const char *name, const char ***out, size_t *n);

/* Result of a typed getter. */
enum xrpc_qres {
	XQ_OK,		/* *out set */
	XQ_ABSENT,	/* not given (or empty): *out untouched */
	XQ_INVALID,	/* refused: msg holds the lex-schema issue text */
	XQ__MAX
};

/* Typed getters.  On XQ_INVALID they write into msg (msgsz bytes) the
 * issue exactly as @atproto/lex-schema words it, e.g.
 *   Expected integer value type (got "abc")
 *   integer too big (maximum 100, got 500)
 *   integer too small (minimum 1, got 0)
 *   Expected boolean value type (got "yes")
 *   Expected one of "a" or "b" (got "c")
 *   Expected string value type (got ["x", "y"])   (a repeated scalar)
 * The XRPC layer prefixes "Invalid <nsid> params: ".  Integers follow
 * lex-schema's /^-?\d+$/ (so "007" is 7), must be JS-safe, then lie in
 * [min, max]; values go through util_int_parse().  A name given more
 * than once (with non-empty values) is refused, as lex-schema refuses an
 * array where a scalar is expected. */
enum xrpc_qres	xrpc_query_str(const struct xrpc_query *, const char *name,
		    const char **out, char *msg, size_t msgsz);
enum xrpc_qres	xrpc_query_int(const struct xrpc_query *, const char *name,
		    int64_t min, int64_t max, int64_t *out, char *msg,
		    size_t msgsz);
enum xrpc_qres	xrpc_query_bool(const struct xrpc_query *, const char *name,
		    int *out, char *msg, size_t msgsz);
/* values: NULL-terminated list of allowed strings. */
enum xrpc_qres	xrpc_query_enum(const struct xrpc_query *, const char *name,
		    const char *const *values, const char **out, char *msg,
		    size_t msgsz);

/* Writes JSON.stringify(value) of (p, len) as lex-schema previews it (at
 * most LIM_PARAM_PREVIEW UTF-16 units, else cut with "…") into out, always
 * NUL-terminated (truncated if outsz is short). */
void	xrpc_json_preview(char *out, size_t outsz, const char *p, size_t len);

/* Extracts the NSID of an XRPC path as @atproto/xrpc-server's
 * extractUrlNsid() does: "/xrpc/" then [A-Za-z0-9] runs separated by
 * single '.' or '-', at least two characters, one optional trailing '/'.
 * path holds no query string.  Returns 0 with (*nsid, *nsidlen) pointing
 * into path, or -1 (the reference answers "invalid xrpc path"). */
int	xrpc_path_nsid(const char *path, size_t len, const char **nsid,
	    size_t *nsidlen);

/* Normalises a Content-Type value to its media type: the part before ';'
 * with surrounding blanks removed, lowercased, into out (outsz bytes).
 * Returns 0, or -1 when it is not type/subtype of token characters (the
 * reference then reports the encoding as not provided). */
int	xrpc_mime_parse(const char *p, size_t len, char *out, size_t outsz);

/* Authorization schemes the reference accepts (auth-verifier.ts). */
enum xrpc_authz {
	XRPC_AUTHZ_NONE,	/* no header, or an empty one */
	XRPC_AUTHZ_BASIC,
	XRPC_AUTHZ_BEARER,
	XRPC_AUTHZ_DPOP,
	XRPC_AUTHZ__MAX
};

/* Parses an Authorization header as parseAuthorizationHeader() does:
 * exactly two parts separated by one space, the scheme case-insensitive.
 * Returns 0 with *type and the token (*tok, *toklen point into h), or -1
 * with *why: "Malformed authorization header" or "Unsupported
 * authorization type" (the reference appends ": <scheme>"). */
int	xrpc_authz_parse(const char *h, size_t len, enum xrpc_authz *type,
	    const char **tok, size_t *toklen, const char **why);

#endif /* PDS_XRPC_PARSE_H */
