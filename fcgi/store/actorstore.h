/*
 * actorstore.h: the per-account actor store, laid out as the reference
 * PDS lays it out (../shared/spec/reference-pds.md c;
 * packages/pds/src/actor-store/):
 *
 *   <PDS_ACTOR_STORE_DIRECTORY>/<hh>/<did>/store.sqlite   (WAL)
 *   <PDS_ACTOR_STORE_DIRECTORY>/<hh>/<did>/key            raw 32 bytes
 *
 * where <hh> is the first two hex digits of SHA-256(did).  store.sqlite
 * holds migration '001' of actor-store/db/migrations (repo_root,
 * repo_block, record, blob, record_blob, backlink, account_pref) plus
 * Kysely's bookkeeping, and one table of ours, seq_pending (see
 * repowrite.h: #commit events not yet copied to sequencer.sqlite).
 *
 * Owns: creating a store with its genesis commit, opening stores through a
 * bounded per-process cache (PDS_ACTOR_STORE_CACHE_SIZE), the signing
 * key file, the repo_root row, and repo_block as a block source for the
 * MST.  Does not own: the write pipeline (repowrite.h), the record /
 * blob reads of the XRPC handlers (actorread.h), blob files (blobstore.h).
 *
 * Concurrency: several pre-forked workers open the same store.sqlite;
 * writers serialise on BEGIN IMMEDIATE (db_begin_immediate()).
 *
 * Error convention for the whole module: 0 on success, -1 on failure
 * (logged once here); lookups return 1 when found, 0 when absent, -1.
 */
#ifndef PDS_ACTORSTORE_H
#define PDS_ACTORSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "cid.h"
#include "keys.h"
#include "mst.h"
#include "tid.h"

struct db;
struct repo_commit;
struct actorstore;
struct actorstore_cache;

/* db flags for stores (actorstore_create, actorstore_cache_new) */
#define ACTORSTORE_WAL_NOAUTO	0x01	/* PRAGMA wal_autocheckpoint = 0
					 * (PDS_SQLITE_DISABLE_WAL_AUTO_...) */

/* The head of a repository (repo_root). */
struct actorstore_root {
	struct cid	cid;			/* current commit */
	char		rev[TID_STR_LEN];	/* its rev */
};

/* Writes "<root>/<hh>/<did>" into out (outsz bytes).  did must be a
 * syntactically valid DID (syntax_did_validate); nothing else can name a
 * directory.  Returns 0, or -1 (invalid DID, path too long). */
int	actorstore_dir_path(const char *root, const char *did, char *out,
	    size_t outsz);

/* ---- creation (createAccount) ----------------------------------------- */

/* What account creation sequences after actorstore_create(): the genesis
 * commit and the bodies of its #commit and #sync events, ready for
 * seqdb_append(SEQDB_APPEND / SEQDB_SYNC) (reference-pds.md d: #commit
 * with since null, ops [], no prevData; #sync with a CAR holding only the
 * commit block). */
struct actorstore_genesis {
	struct cid	cid;			/* genesis commit */
	char		rev[TID_STR_LEN];
	struct buf	commit_evt;		/* #commit body (DAG-CBOR) */
	struct buf	sync_evt;		/* #sync body (DAG-CBOR) */
};

void	actorstore_genesis_init(struct actorstore_genesis *g);
/* Releases the event buffers; accepts NULL. */
void	actorstore_genesis_fini(struct actorstore_genesis *g);

/* Creates the store of did under root (the actor store directory):
 * makes <root>/<hh>/<did>/ (0700), writes the key file (k's raw private
 * scalar, 0600), creates store.sqlite with the schema, and writes the
 * genesis commit (empty MST {l: null, e: []}, signed v3 commit, rev a
 * fresh TID) into repo_block and repo_root (actor-store.ts create() +
 * RepoTransactor.createRepo([])).  out (initialised by the caller) gets
 * the commit and the event bodies; the caller sequences them (#identity,
 * #account, #commit, #sync) and writes account.sqlite's repo_root.
 * Returns 0, 1 when a store for did already exists (nothing changed), or
 * -1 (anything half made is removed). */
int	actorstore_create(const char *root, const char *did,
	    const struct key *k, int flags, struct actorstore_genesis *out);
/* Deletes the store of did (account deletion; deleteAccount after the
 * reference's actorStore.destroy()): the database files, the key file
 * and the directory.  Stores cached by other processes notice on their
 * next open (actorstore_get checks the file).  Returns 0 (also when
 * there was nothing) or -1. */
int	actorstore_destroy(const char *root, const char *did);

/* ---- the cache of open stores -------------------------------------------- */

/* Makes a cache of at most cap open stores (clamped to 1 ..
 * LIM_ACTOR_CACHE_MAX) under root; flags are ACTORSTORE_*.  One per
 * process: never share it across fork().  Returns 0 and *out (caller
 * frees with actorstore_cache_free), or -1. */
int	actorstore_cache_new(const char *root, size_t cap, int flags,
	    struct actorstore_cache **out);
/* Closes every store and frees; accepts NULL. */
void	actorstore_cache_free(struct actorstore_cache *c);
/* Opens (or finds open) the store of did.  Returns 1 and *out (borrowed:
 * valid until the next actorstore_get on c or actorstore_cache_free),
 * 0 when did has no store (or is not a valid DID), -1 on error.  A
 * cached store whose file was deleted or replaced since is reopened. */
int	actorstore_get(struct actorstore_cache *c, const char *did,
	    struct actorstore **out);

/* ---- one store --------------------------------------------------------------- */

/* The store's database (borrowed) and DID (NUL-terminated). */
struct db	*actorstore_db(struct actorstore *s);
const char	*actorstore_did(const struct actorstore *s);
/* The signing key, read from the key file on first use and kept (wiped
 * when the store leaves the cache).  Returns 0 and *out (borrowed), or
 * -1 when the file is missing or malformed. */
int	actorstore_key(struct actorstore *s, const struct key **out);
/* Reads repo_root.  Returns 1 and *out, 0 when the row is missing, -1. */
int	actorstore_root_get(struct actorstore *s, struct actorstore_root *out);
/* Sets repo_root to (cid, rev) now (inside the caller's transaction).
 * Returns 0 or -1. */
int	actorstore_root_set(struct actorstore *s, const struct cid *cid,
	    const char *rev);
/* A struct mst_source reading repo_block of s (mst.h): the MST, commit
 * reads and proofs all go through it. */
void	actorstore_source(struct actorstore *s, struct mst_source *out);
/* Reads block c from repo_block into out (reset first).  Returns 1,
 * 0 when absent, -1 (database error, or out refused the bytes). */
int	actorstore_block_get(struct actorstore *s, const struct cid *c,
	    struct buf *out);
/* Inserts a block under repoRev rev (nothing when c is present).
 * Returns 0 or -1. */
int	actorstore_block_put(struct actorstore *s, const struct cid *c,
	    const void *p, size_t len, const char *rev);
/* Inserts every new block of commit rc (rc->new_blocks) under repoRev
 * rc->rev.  Returns 0 or -1. */
int	actorstore_blocks_put(struct actorstore *s,
	    const struct repo_commit *rc);
/* Deletes block c.  Returns 0 or -1. */
int	actorstore_block_delete(struct actorstore *s, const struct cid *c);
/* Takes (blocking) / releases the store's write lock: an flock(2) on its
 * directory, held by repowrite.c from before BEGIN IMMEDIATE until the
 * commit's event is sequenced, so that the events of one repository are
 * sequenced in rev order across worker processes.  The kernel drops it
 * when a process dies.  Return 0 or -1. */
int	actorstore_lock(struct actorstore *s);
int	actorstore_unlock(struct actorstore *s);

#endif /* PDS_ACTORSTORE_H */
