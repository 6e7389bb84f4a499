/*
 * didcache.h: did_cache.sqlite, the reference's cache of resolved DID
 * documents (packages/pds/src/did-cache/; ../shared/spec/reference-pds.md
 * c): table did_doc(did PK, doc text JSON, updatedAt bigint epoch ms),
 * migration "001" with Kysely's bookkeeping.
 *
 * Freshness (PDS_DID_CACHE_STALE_TTL / PDS_DID_CACHE_MAX_TTL) is the
 * caller's policy (resolve.c); this module only stores and reads rows.
 *
 * Error convention: 0 on success, -1 on failure (logged once by db.c);
 * lookups return 1 when found and 0 when not.
 */
#ifndef PDS_DIDCACHE_H
#define PDS_DIDCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"

struct db;

/* Opens (creating when missing) the cache at path and runs its
 * migration.  flags are db_open() flags (DB_WAL_NOAUTO).  Returns 0 and
 * *out (db_close() it), or -1. */
int	didcache_open(const char *path, int flags, struct db **out);
/* The cached document of did: its JSON text (arena, NUL-terminated) and
 * updatedAt in ms.  Returns 1, 0 or -1. */
int	didcache_get(struct db *, struct arena *, const char *did,
	    const char **doc, size_t *len, int64_t *updated_ms);
/* Inserts or replaces did's document with updatedAt = now_ms.  Returns 0
 * or -1. */
int	didcache_put(struct db *, const char *did, const char *doc,
	    size_t len, int64_t now_ms);
/* Drops did's row (clearEntry).  Returns 0 or -1. */
int	didcache_delete(struct db *, const char *did);

#endif /* PDS_DIDCACHE_H */
