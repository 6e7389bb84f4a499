/*
 * actor.c: the read-only actor lookup the framework needs before the
 * account module exists: /.well-known/atproto-did, /tls-check and the
 * takedown/deactivation checks of the auth stage.
 *
 * Reads table actor of account.sqlite (reference-pds.md section c:
 * did, handle, createdAt, takedownRef, deactivatedAt, deleteAfter), by
 * DID or by handle as account-manager/helpers/account.ts getAccount()
 * selects it.  A database without the table (not migrated yet) has no
 * actors.
 */
#include <string.h>

#include "db.h"
#include "log.h"
#include "xrpc.h"
#include "xrpc_int.h"

static const char actor_by_did[] =
    "SELECT did, handle, takedownRef IS NOT NULL, deactivatedAt IS NOT NULL"
    " FROM actor WHERE did = ?1";
static const char actor_by_handle[] =
    "SELECT did, handle, takedownRef IS NOT NULL, deactivatedAt IS NOT NULL"
    " FROM actor WHERE handle = ?1";

int
xrpc_actor_find(struct xrpc_server *srv, struct arena *a,
    const char *handle_or_did, struct xrpc_actor *out)
{
	sqlite3_stmt	*st;
	const char	*s;
	int		 rc;

	memset(out, 0, sizeof(*out));
	if (srv->account == NULL)
		return -1;
	if ((rc = db_table_exists(srv->account, "actor")) != 1)
		return rc;
	st = db_stmt_get(srv->account, strncmp(handle_or_did, "did:", 4) ==
	    0 ? actor_by_did : actor_by_handle);
	if (st == NULL)
		return -1;
	if (sqlite3_bind_text(st, 1, handle_or_did, -1, SQLITE_STATIC) !=
	    SQLITE_OK) {
		log_error("%s: bind failed", __func__);
		db_stmt_done(st);
		return -1;
	}
	if ((rc = db_step(srv->account, st)) == 1) {
		s = (const char *)sqlite3_column_text(st, 0);
		out->did = s != NULL ? arena_strdup(a, s) : NULL;
		s = (const char *)sqlite3_column_text(st, 1);
		out->handle = s != NULL ? arena_strdup(a, s) : NULL;
		out->takendown = sqlite3_column_int(st, 2);
		out->deactivated = sqlite3_column_int(st, 3);
		if (out->did == NULL)
			rc = -1;
	}
	db_stmt_done(st);
	return rc;
}
