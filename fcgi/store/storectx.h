/*
 * storectx.h: the storage a pds-fcgi worker uses for repositories, set up
 * once per process on first use: the cache of open actor stores, the
 * sequencer (seqdb.h: every append to repo_seq goes through it), the
 * disk blob store, and the account database (the framework's handle,
 * borrowed, and one of ours for the repo_root copy).  Like every WAL
 * database opened through db_open(), these run with synchronous =
 * NORMAL (db.c).
 *
 * Also runs, once per process, the recovery of #commit events left
 * unsequenced by a worker that died (repowrite_recover()), and owns where
 * the TID state of a data directory lives (storectx_tid_init()).
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
	struct seqdb		*seq;		/* sequencer.sqlite: every
						 * append, daemon wake-ups */
	struct db		*acctw;		/* account.sqlite: the
						 * repo_root copy; NULL when
						 * absent */
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
/* Sets up TID generation (tid_init()) with the state file
 * <PDS_DATA_DIRECTORY>/tid.state, shared by every process of the data
 * directory.  The pre-fork master calls it before forking (its workers
 * inherit the mapping); storectx_get() calls it in a process that has no
 * shared TID state yet (--no-master, spawn-fcgi -F).  Returns 0 when
 * shared, -1 in tid.h's fallback mode (no data directory, or the file
 * could not be mapped: logged). */
int		 storectx_tid_init(const struct pds_config *cfg);
/* Sets ctx up without the process cache (tests and tools).  Returns 0 or
 * -1; release with storectx_fini(). */
int		 storectx_init(struct storectx *ctx,
		    const struct pds_config *cfg, struct db *account);
/* Releases what storectx_init() opened; accepts NULL. */
void		 storectx_fini(struct storectx *ctx);

#endif /* PDS_STORECTX_H */
