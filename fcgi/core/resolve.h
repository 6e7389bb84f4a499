/*
 * resolve.h: handle and DID resolution (atproto.com/specs/handle
 * "Handle Resolution", specs/did; the reference's @atproto/identity
 * HandleResolver and DidResolver; ../shared/spec/reference-pds.md b
 * "Identity").
 *
 * Handles: DNS TXT "_atproto.<handle>" (exactly one "did=" record among
 * the TXT records, each the concatenation of its strings), else HTTPS GET
 * https://<handle>/.well-known/atproto-did (first line, trimmed), else
 * the TXT lookup again through PDS_HANDLE_BACKUP_NAMESERVERS.  Each step
 * is bounded by PDS_ID_RESOLVER_TIMEOUT.
 * DIDs: did:plc from PDS_DID_PLC_URL/<did>; did:web from
 * https://<host>/.well-known/did.json (http for localhost, as the
 * reference allows; did:web with a path is unsupported).  Documents are
 * cached in did_cache.sqlite: fresh below PDS_DID_CACHE_STALE_TTL, used
 * as a fallback up to PDS_DID_CACHE_MAX_TTL when a refresh fails.
 *
 * The parsers of untrusted bytes (DNS answers, well-known bodies, DID
 * documents) are pure functions of (pointer, length); the fuzz target
 * tests/fuzz/fuzz_identity.c drives them.
 *
 * Error convention: lookups return 1 (found), 0 (not found / not
 * resolvable) or -1 (malformed input or an internal failure).
 */
#ifndef PDS_RESOLVE_H
#define PDS_RESOLVE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "arena.h"
#include "config.h"
#include "pds_limits.h"

struct db;

/* What a resolver needs: the configuration and, optionally, the cache. */
struct resolve_ctx {
	const struct pds_config	*cfg;
	struct db		*cache;		/* did_cache.sqlite, or NULL */
};

/* The atproto data of a DID document (ensureAtpDocument); strings in the
 * caller's arena, NULL when the document has none. */
struct resolve_atproto {
	const char	*did;
	const char	*handle;	/* first at:// alias, "at://" removed */
	const char	*signing_key;	/* #atproto key as did:key */
	const char	*pds;		/* #atproto_pds endpoint URL */
};

/* ---- pure parsers -------------------------------------------------------- */

/* Finds the DID in a DNS response message (p, len) to a TXT query: the
 * one TXT answer starting with "did=" (none or several: not found).
 * Writes it (NUL-terminated) into did (didsz bytes) when it is a valid
 * DID.  Returns 1, 0, or -1 for a malformed message. */
int	resolve_dns_txt_did(const uint8_t *p, size_t len, char *did,
	    size_t didsz);
/* The DID of a /.well-known/atproto-did body: its first line, trimmed,
 * when that is a valid DID.  Returns 1 or 0. */
int	resolve_wellknown_did(const char *p, size_t len, char *did,
	    size_t didsz);
/* Parses a DID document (p, len) for did: a JSON object whose "id" is
 * did, whose alsoKnownAs / verificationMethod / service are arrays of the
 * right shapes when present.  Fills *out (strings in a) and, when doc is
 * not NULL, *doc (caller json_decref()s).  Returns 0, or -1 with *why. */
int	resolve_diddoc_parse(struct arena *a, const char *p, size_t len,
	    const char *did, json_t **doc, struct resolve_atproto *out,
	    const char **why);

/* ---- resolution ---------------------------------------------------------- */

/* Resolves a (normalised) handle to a DID into did (didsz bytes).
 * Returns 1, 0, or -1 (internal failure). */
int	resolve_handle(const struct resolve_ctx *, const char *handle,
	    char *did, size_t didsz);
/* Resolves did to its document (cache first unless force).  On 1 fills
 * *out (arena strings) and, when doc is not NULL, *doc (owned).  Returns
 * 1, 0 (not found, unsupported method, malformed document), -1. */
int	resolve_did(const struct resolve_ctx *, struct arena *,
	    const char *did, int force, json_t **doc,
	    struct resolve_atproto *out);

#endif /* PDS_RESOLVE_H */
