/*
 * syntax.h: atproto identifier and Lexicon string-format validators.
 *
 * Handles, DIDs, NSIDs, AT-URIs, record keys, datetimes, CID strings,
 * language tags, at-identifiers and generic URIs, as atproto.com/specs
 * (handle, did, nsid, at-uri-scheme, record-key, lexicon#string-formats)
 * and the reference's @atproto/syntax define them; the interop vectors
 * (../shared/interop/syntax/) are the acceptance test.  TIDs live in
 * tid.h, MST keys in mstkey.h.
 *
 * Conventions for every function here: input is untrusted (p, len), not
 * NUL-terminated, may hold NUL and non-ASCII bytes (always refused: every
 * format is ASCII); p may be NULL only when len is 0.  Validators are pure,
 * never allocate, return 0 when valid and -1 when not, and on -1 set *why
 * (when why is not NULL) to a static English reason.  *why is untouched on
 * success.
 */
#ifndef PDS_SYNTAX_H
#define PDS_SYNTAX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- handles (atproto.com/specs/handle) ------------------------------ */

/* Handle syntax: <= 253 chars, >= 2 dot-separated labels of 1-63
 * [A-Za-z0-9-] with no leading/trailing '-', last label starts with a
 * letter.  Case-insensitive: upper case is valid syntax. */
int	syntax_handle_validate(const char *p, size_t len, const char **why);
/* Policy for new account handles (reference-pds.md g, @atproto/syntax
 * DISALLOWED_TLDS): refuses a handle whose TLD is .local .arpa .invalid
 * .localhost .internal .example .alt or .onion (any case).  Does not check
 * syntax: call syntax_handle_validate() first. */
int	syntax_handle_tld_validate(const char *p, size_t len,
	    const char **why);
/* Writes the normalised (ASCII-lowercased) handle and a NUL into out
 * (outsz bytes, caller's storage).  Returns the length, or -1 when out is
 * too small.  Does not validate. */
ssize_t	syntax_handle_normalize(const char *p, size_t len, char *out,
	    size_t outsz);

/* ---- DIDs, at-identifiers (atproto.com/specs/did) ------------------ */

/* "did:" method(lowercase letters) ":" identifier of [A-Za-z0-9._:%-],
 * not ending in ':' or '%', <= 2048 chars.  Any method is syntax-valid. */
int	syntax_did_validate(const char *p, size_t len, const char **why);
/* A DID when it starts with "did:", otherwise a handle. */
int	syntax_atid_validate(const char *p, size_t len, const char **why);

/* ---- NSIDs (atproto.com/specs/nsid) --------------------------------- */

/* >= 3 segments, <= 317 chars; domain segments 1-63 [A-Za-z0-9-] without
 * leading/trailing '-', the first starting with a letter; the name (last)
 * segment 1-63 [A-Za-z0-9] starting with a letter. */
int	syntax_nsid_validate(const char *p, size_t len, const char **why);

/* ---- record keys (atproto.com/specs/record-key) ------------------- */

/* 1-512 chars of [A-Za-z0-9._~:-], and not "." or "..". */
int	syntax_rkey_validate(const char *p, size_t len, const char **why);

/* ---- AT-URIs (atproto.com/specs/at-uri-scheme) --------------------- */

/* The parts of a valid AT-URI; pointers into the caller's input, valid as
 * long as it is.  Absent parts are NULL with length 0. */
struct syntax_aturi {
	const char	*authority;	/* DID or handle, never NULL */
	size_t		 authority_len;
	const char	*collection;	/* NSID */
	size_t		 collection_len;
	const char	*rkey;		/* record key */
	size_t		 rkey_len;
	const char	*fragment;	/* after '#': a JSON pointer */
	size_t		 fragment_len;
};

/* Parses a Lexicon "at-uri" the way @atproto/syntax isAtUriString() does
 * in its default strict mode: "at://" authority ["/" nsid ["/" rkey]]
 * ["#" json-pointer], <= 8192 chars, no trailing slash, no query, valid
 * percent-encoding (decoding to UTF-8) in the fragment.  Fills *out (may
 * be NULL) and returns 0, or returns -1 with *why. */
int	syntax_aturi_parse(const char *p, size_t len,
	    struct syntax_aturi *out, const char **why);
/* As syntax_aturi_parse() without the parts. */
int	syntax_aturi_validate(const char *p, size_t len, const char **why);

/* ---- datetimes (atproto.com/specs/lexicon#datetime) -------------- */

/* Syntax tier: RFC 3339 and ISO 8601 shape "YYYY-MM-DDTHH:MM:SS[.f+]"
 * then "Z" or "+HH:MM"/"-HH:MM" (not "-00:00"), digits where digits go,
 * upper-case T and Z, <= 64 chars.  Field ranges are NOT checked: values
 * like month 00 pass (datetime_parse_invalid.txt). */
int	syntax_datetime_validate(const char *p, size_t len,
	    const char **why);
/* Strict tier (what record validation uses): the syntax tier plus month
 * 1-12, a day that exists in that month (leap years per Gregorian rules),
 * hour 0-23, minute and second 0-59 (no leap second, as V8 and Go refuse
 * it), offset hour 0-23 and minute 0-59, and a UTC instant whose year is
 * 0..9999 (toISOString() would not print a negative or 6-digit year).
 * Note: the reference (V8 Date) accepts day 31 in every month; we follow
 * RFC 3339 section 5.7 and refuse e.g. 02-30. */
int	syntax_datetime_validate_strict(const char *p, size_t len,
	    const char **why);
/* As syntax_datetime_validate_strict(), and sets *ms to the instant in
 * milliseconds since the epoch (fraction truncated to ms, as JS does). */
int	syntax_datetime_parse(const char *p, size_t len, int64_t *ms,
	    const char **why);

/* ---- CID strings (atproto.com/specs/data-model#link-and-cid-formats) */

/* Syntax tier (the interop vectors, indigo syntax.ParseCID): 8-256 chars
 * of [A-Za-z0-9+=], not starting with "Qmb" (CIDv0).  Any multibase. */
int	syntax_cid_validate(const char *p, size_t len, const char **why);
/* Strict tier (record validation): the syntax tier plus what the
 * reference's lex-data validateCidString() demands of a CIDv1: <= 128
 * chars, the canonical string form ("b" + lowercase unpadded base32 that
 * re-encodes identically) of a well-formed CIDv1 (version 1, codec varint,
 * multihash code varint, digest-length varint, exactly that many digest
 * bytes).  Any codec and hash function; CIDv0 is refused. */
int	syntax_cid_validate_strict(const char *p, size_t len,
	    const char **why);

/* ---- language tags (BCP 47 / RFC 5646) ---------------------------- */

/* Syntax tier: RFC 5646 section 2.1 well-formed langtag, privateuse or
 * grandfathered tag, with the primary language subtag lowercase 2-3
 * letters (as the interop vectors and @atproto/syntax's strict path
 * demand: "JA" and "jaja" are refused), <= LIM_LANGUAGE_LEN chars. */
int	syntax_language_validate(const char *p, size_t len,
	    const char **why);
/* Strict tier (record validation): also refuses a repeated variant subtag
 * or extension singleton, compared case-insensitively (RFC 5646 section
 * 2.2.5 and 2.2.6; language_parse_invalid.txt). */
int	syntax_language_validate_strict(const char *p, size_t len,
	    const char **why);

/* ---- generic URIs (lexicon "uri" format) ---------------------------- */

/* 1-8192 bytes of valid UTF-8, accepted when either reference accepts it:
 * @atproto/syntax isValidUri() (/^\w+:(?:\/\/)?[^\s/][^\s]*$/, JS \s) or
 * the interop rule (indigo: /^[a-z][a-z.-]{0,80}:[[:graph:]]+$/).  Unlike
 * the JS rule, C0 control characters and DEL are always refused. */
int	syntax_uri_validate(const char *p, size_t len, const char **why);

/* ---- Lexicon string formats by name --------------------------------- */

enum syntax_format {
	SYNTAX_FMT_AT_IDENTIFIER,	/* "at-identifier" */
	SYNTAX_FMT_AT_URI,		/* "at-uri" */
	SYNTAX_FMT_CID,			/* "cid" */
	SYNTAX_FMT_DATETIME,		/* "datetime" */
	SYNTAX_FMT_DID,			/* "did" */
	SYNTAX_FMT_HANDLE,		/* "handle" */
	SYNTAX_FMT_LANGUAGE,		/* "language" */
	SYNTAX_FMT_NSID,		/* "nsid" */
	SYNTAX_FMT_RECORD_KEY,		/* "record-key" */
	SYNTAX_FMT_TID,			/* "tid" */
	SYNTAX_FMT_URI,			/* "uri" */
	SYNTAX_FMT__MAX
};

/* Maps a Lexicon format name (atproto.com/specs/lexicon#string-formats)
 * to its enum.  Returns 0 and sets *fmt, or -1 for an unknown name. */
int	syntax_format_find(const char *name, size_t len,
	    enum syntax_format *fmt);
/* Validates (p, len) as format fmt with the strict tier of each format
 * (what the PDS applies to records).  Returns 0 or -1 with *why; an
 * out-of-range fmt is refused. */
int	syntax_format_validate(enum syntax_format fmt, const char *p,
	    size_t len, const char **why);

#endif /* PDS_SYNTAX_H */
