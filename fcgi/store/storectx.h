/*
 * storectx.h: the storage a pds-fcgi worker uses for repositories, set up
 * once per process on first use: the cache of open actor stores, the
 * sequencer (seqdb.h, plus a connection of our own for repowrite.c's
 * appends), the disk blob store, and the account database (the
 * framework's handle, borrowed, and one of ours for the repo_root copy).
 *
 * Our connections run with synchronous = NORMAL, as the reference's
 * better-sqlite3 build does in WAL mode (SQLITE_DEFAULT_WAL_SYNCHRONOUS=1):
 * a commit survives the death of the process, and costs no fsync.
 *
 * Also runs, once per process, the recovery of #commit events left
 * unsequenced by a worker that died (repowrite_recover()).
 *
 * Error convention: 0 / -1, logged once here.
 */
#ifndef PDS_STORECTX_H
#define PDS_STORECTX_H

#include <sys/types.h>

#include "actorstore.h"
#include "blobstore.h"

struct db;
struct seqdb;
struct pds_config;

struct storectx {
	const struct pds_config	*cfg;
	struct db		*account;	/* borrowed; may be NULL */
	struct actorstore_cache	*actors;
	struct seqdb		*seq;		/* sequencer.sqlite: schema,
						 * daemon wake-ups */
	struct db		*seqw;		/* same file, synchronous =
						 * NORMAL: repowrite's #commit
						 * appends (see repowrite.h) */
	struct db		*acctw;		/* account.sqlite, synchronous =
						 * NORMAL: the repo_root copy;
						 * NULL when absent */
	struct blobstore	 blobs;
	int			 have_blobs;	/* a disk location is set */
	char			*pending_dir;	/* <actors>/seq_pending */
	pid_t			 pid;		/* the process it belongs to */
};

/*
 * The process's context for cfg, opened on the first call in each
 * process (a fork()ed child gets its own; the parent's handles are left
 * alone, never used or closed in the child).  account is the caller's
 * account.sqlite handle, refreshed on every call.  Returns NULL when the
 * sequencer or the actor store directory cannot be opened (logged).
 */
struct storectx	*storectx_get(const struct pds_config *cfg,
		    struct db *account);
/* Sets ctx up without the process cache (tests and tools).  Returns 0 or
 * -1; release with storectx_fini(). */
int		 storectx_init(struct storectx *ctx,
		    const struct pds_config *cfg, struct db *account);
/* Releases what storectx_init() opened; accepts NULL. */
void		 storectx_fini(struct storectx *ctx);

#endif /* PDS_STORECTX_H */
