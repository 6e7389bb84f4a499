/*
 * repo_int.h: private header of the repository handlers (h_repo.c:
 * com.atproto.repo.*, h_sync.c: com.atproto.sync.*), grouped by file.
 *
 * Error convention: helpers that answer for a request return an enum
 * xrpc_status with the error recorded through xrpc_fail().
 */
#ifndef PDS_REPO_INT_H
#define PDS_REPO_INT_H

#include "accountdb.h"
#include "actorstore.h"
#include "storectx.h"
#include "xrpc.h"

/* h_repo.c */
/* The worker's storage context (storectx_get), or XRPC_ERR_INTERNAL. */
enum xrpc_status repo_ctx(struct xrpc_req *, struct xrpc_res *,
		    struct storectx **out);
/* The actor store of did; a missing store is a 500 (the account exists:
 * the caller looked it up first). */
enum xrpc_status repo_store(struct xrpc_req *, struct xrpc_res *,
		    struct storectx *, const char *did,
		    struct actorstore **out);
/* A query parameter with a Lexicon string format ("did", "nsid",
 * "record-key", "cid", "tid", "at-identifier"). */
enum xrpc_status repo_param_fmt(struct xrpc_req *, struct xrpc_res *,
		    const char *name, const char *format, int required,
		    const char **out);
/* getAccount(handle_or_did, flags) through account.sqlite (migrated by
 * the account module).  Returns XRPC_OK with *found 1 / 0. */
enum xrpc_status repo_account(struct xrpc_req *, struct xrpc_res *,
		    const char *handle_or_did, int flags,
		    struct accountdb_account *out, int *found);

#endif /* PDS_REPO_INT_H */
