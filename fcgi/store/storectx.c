/*
 * storectx.c: the per-process repository storage context.  See
 * storectx.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "db.h"
#include "log.h"
#include "repowrite.h"
#include "seqdb.h"
#include "storectx.h"
#include "tid.h"

static int
ensure_dir(const char *p)
{
	if (mkdir(p, 0700) == 0 || errno == EEXIST)
		return 0;
	log_error("%s: mkdir %s: %s", __func__, p, strerror(errno));
	return -1;
}

/* A connection of ours to an existing WAL database. */
static int
open_existing(const char *path, const struct pds_config *cfg,
    struct db **out)
{
	return db_open(path, DB_NOCREATE | (cfg->wal_autockpt_off ?
	    DB_WAL_NOAUTO : 0), out);
}

int
storectx_init(struct storectx *ctx, const struct pds_config *cfg,
    struct db *account)
{
	int	seqflags = SEQDB_CREATE, aflags = 0;

	memset(ctx, 0, sizeof(*ctx));
	ctx->cfg = cfg;
	ctx->account = account;
	ctx->pid = getpid();
	if (cfg->wal_autockpt_off) {
		seqflags |= SEQDB_WAL_NOAUTO;
		aflags |= ACTORSTORE_WAL_NOAUTO;
	}
	if (cfg->actor_store_dir == NULL || cfg->sequencer_db == NULL) {
		log_error("%s: no actor store directory or sequencer database",
		    __func__);
		return -1;
	}
	if (ensure_dir(cfg->actor_store_dir) == -1 ||
	    asprintf(&ctx->pending_dir, "%s/seq_pending",
	    cfg->actor_store_dir) == -1 || ensure_dir(ctx->pending_dir) == -1)
		goto fail;
	if (actorstore_cache_new(cfg->actor_store_dir,
	    (size_t)(cfg->actor_store_cache > 0 ? cfg->actor_store_cache : 1),
	    aflags, &ctx->actors) == -1 ||
	    seqdb_open(cfg->sequencer_db, seqflags, &ctx->seq) == -1)
		goto fail;
	if (cfg->account_db != NULL && access(cfg->account_db, F_OK) == 0 &&
	    open_existing(cfg->account_db, cfg, &ctx->acctw) == -1)
		ctx->acctw = NULL;	/* the copy is best effort */
	ctx->have_blobs = cfg->blobstore_dir != NULL &&
	    blobstore_init(&ctx->blobs, cfg) == 0;
	return 0;
fail:
	storectx_fini(ctx);
	return -1;
}

void
storectx_fini(struct storectx *ctx)
{
	if (ctx == NULL)
		return;
	actorstore_cache_free(ctx->actors);
	seqdb_close(ctx->seq);
	db_close(ctx->acctw);
	if (ctx->have_blobs)
		blobstore_fini(&ctx->blobs);
	free(ctx->pending_dir);
	memset(ctx, 0, sizeof(*ctx));
}

int
storectx_tid_init(const struct pds_config *cfg)
{
	char	path[LIM_STORE_PATH];
	int	n;

	if (cfg->data_dir == NULL)
		return tid_init(NULL);
	n = snprintf(path, sizeof(path), "%s/tid.state", cfg->data_dir);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		log_warn("%s: data directory path too long", __func__);
		return tid_init(NULL);
	}
	return tid_init(path);
}

struct storectx *
storectx_get(const struct pds_config *cfg, struct db *account)
{
	static struct storectx	 ctx;
	static int		 ready;

	if (ready && ctx.pid != getpid())
		ready = 0;	/* a child: never touch the parent's handles */
	if (!ready) {
		if (storectx_init(&ctx, cfg, account) == -1)
			return NULL;
		ready = 1;
		/* A worker forked by the pre-fork master inherits the
		 * master's mapping of the TID state (tid.h); a process on
		 * its own (--no-master, tools) sets it up here. */
		if (!tid_is_shared())
			(void)storectx_tid_init(cfg);
		(void)repowrite_recover(&ctx);
	}
	ctx.account = account;
	return &ctx;
}
