/*
 * upstream.h: pure functions about the services a PDS forwards calls to
 * (the app view, chat, moderation and report services, feed generators),
 * after the reference's pipethrough.ts and @atproto/common-web's
 * getServiceEndpoint (../shared/spec/reference-pds.md f, "The
 * atproto-proxy header and default proxying"):
 *
 *   the atproto-proxy header ("<did>#<service id>", strictly parsed),
 *   service endpoints in a DID document and the origin of a URL,
 *   Accept-Encoding negotiation for pipethrough() calls,
 *   the {error, message} of an upstream error body (tryParsingError),
 *   the SSRF address policy (fetch-node isUnicastIp / unicastLookup).
 *
 * Every input here is hostile (client headers, fetched documents,
 * upstream bodies) and is taken as (pointer, length) or a NUL-terminated
 * string the caller bounded.  No I/O; the fuzz target
 * tests/fuzz/fuzz_upstream.c drives every parser.
 *
 * Error convention: parsers return 0 on success and -1 (or an enum
 * naming the reference's refusal) on bad input.
 */
#ifndef PDS_UPSTREAM_H
#define PDS_UPSTREAM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <jansson.h>

#include "arena.h"

/* ---- the atproto-proxy header ------------------------------------------- */

/* parseProxyHeader()'s refusals, in its order of checks. */
enum upstream_hdr_err {
	UPSTREAM_HDR_OK,
	UPSTREAM_HDR_NO_DID,		/* '#' first */
	UPSTREAM_HDR_NO_SERVICE,	/* no '#', or '#' last */
	UPSTREAM_HDR_FORMAT,		/* a second '#' */
	UPSTREAM_HDR_SPACE,		/* a space anywhere */
	UPSTREAM_HDR__MAX
};

/* The reference's InvalidRequest message for a refusal (static). */
const char	*upstream_hdr_err_str(enum upstream_hdr_err);
/* Splits an atproto-proxy value (p, len): on UPSTREAM_HDR_OK *didlen is
 * the length of the DID part and the service id ("#..." with its '#')
 * starts at p + *didlen.  The DID part is not validated here (the
 * resolver refuses a bad one: "could not resolve proxy did"). */
enum upstream_hdr_err upstream_proxy_parse(const char *p, size_t len,
		    size_t *didlen);

/* ---- service endpoints -------------------------------------------------- */

/* getServiceEndpoint(doc, {id, type}): the serviceEndpoint string of the
 * first service whose id is `id` ("#frag") or "<doc.id>#frag", when type
 * is NULL or equals the service's type, and the endpoint is a URL with
 * scheme http or https and a host.  Returns a pointer into doc (valid
 * while doc lives), or NULL. */
const char	*upstream_service_endpoint(const json_t *doc, const char *id,
		    const char *type);

#define UPSTREAM_ORIGIN_LEN	300	/* "https://" + host (253) + ":65535" */

/* The origin of an http(s) URL (p, len), as new URL(u).origin: scheme and
 * host lowercased, the port kept unless it is the scheme's default, path,
 * query and fragment dropped.  Refuses other schemes, an empty or
 * malformed host, a bad port and userinfo (credentials never travel).
 * Writes "scheme://host[:port]" (NUL-terminated) into out (outsz >=
 * UPSTREAM_ORIGIN_LEN) and sets *https.  Returns 0 or -1. */
int		 upstream_origin_parse(const char *p, size_t len, char *out,
		    size_t outsz, int *https);

/* ---- Accept-Encoding (pipethrough() negotiateContentEncoding) ----------- */

#define UPSTREAM_AE_LEN		128	/* the longest value we write */

enum upstream_ae_res {
	UPSTREAM_AE_OK,
	UPSTREAM_AE_INVALID,		/* InvalidRequest 'Invalid
					 * accept-encoding: "<def>"' */
	UPSTREAM_AE_NOT_ACCEPTABLE,	/* 406: no common encoding */
	UPSTREAM_AE__MAX
};

/* Negotiates the Accept-Encoding sent upstream from the client's header
 * (hdr, NULL when absent) and our preferences (identity first, or gzip
 * first with PDS_PROXY_PREFER_COMPRESSED).  On OK writes the value into
 * out (outsz >= UPSTREAM_AE_LEN).  On INVALID, *bad and *badlen name the
 * offending definition (a pointer into hdr). */
enum upstream_ae_res upstream_accept_encoding(const char *hdr,
		    int prefer_compressed, char *out, size_t outsz,
		    const char **bad, size_t *badlen);

/* ---- upstream error bodies ---------------------------------------------- */

/* isJsonContentType(): 1 for application/json and application/<x>+json
 * (case-insensitive, anywhere in the value), 0 for another type, -1 when
 * ctype is NULL or empty (unknown). */
int		 upstream_is_json_type(const char *ctype);
/* tryParsingError(): the "error" and "message" strings of a JSON error
 * body (p, len) when the content type is JSON or unknown, copied into a;
 * each NULL when absent, not a string, or the body does not parse. */
void		 upstream_error_parse(const char *ctype, const uint8_t *p,
		    size_t len, struct arena *a, const char **error,
		    const char **message);

/* ---- SSRF address policy ------------------------------------------------ */

/* 1 when the socket address is a public unicast IPv4 or IPv6 address
 * (ipaddr.js range "unicast"; an IPv4-mapped IPv6 address is judged as
 * its IPv4 address), 0 otherwise (loopback, private, link-local, CGNAT,
 * multicast, documentation, reserved, unspecified, ...). */
int		 upstream_addr_public(const struct sockaddr *sa, size_t salen);
/* The same for a textual IPv4 or IPv6 address; -1 when s is not one. */
int		 upstream_ip_public(const char *s);

#endif /* PDS_UPSTREAM_H */
