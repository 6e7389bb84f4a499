/*
 * admindb.h: the queries of the email, invite and admin handlers that
 * accountdb.h does not have: invite code listings with their uses
 * (account-manager/helpers/invite.ts), per-account invite minting, email
 * tokens found by value (helpers/email-token.ts
 * assertValidTokenAndFindDid), the account takedown status
 * (helpers/account.ts), and the takedown columns of an actor store's
 * record and blob tables (actor-store/record, actor-store/blob)
 * (../shared/spec/reference-pds.md c, h).
 *
 * Conventions as accountdb.h: the caller's struct db, strings copied
 * into the caller's arena, ISO-8601 times.  Error convention: 0 on
 * success, -1 on a database failure (logged once by db.c); lookups
 * return 1 found / 0 absent / -1.
 */
#ifndef PDS_ADMINDB_H
#define PDS_ADMINDB_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"

struct db;

/* ---- invite codes ------------------------------------------------------- */

struct admindb_use {
	const char	*used_by;
	const char	*used_at;
};

/* CodeDetail: one invite_code row, its use count and uses (newest
 * first). */
struct admindb_code {
	const char		*code;
	int64_t			 available;	/* availableUses */
	int			 disabled;
	const char		*for_account;
	const char		*created_by;
	const char		*created_at;
	int64_t			 nuses;		/* count of invite_code_use */
	struct admindb_use	*uses;		/* arena array of nuses */
	int			 fresh;		/* minted by this request
						 * (getAccountInviteCodes) */
};

/* Every code whose forAccount is did (selectInviteCodesQb; no order is
 * promised by the reference: ours is rowid order).  Returns 0 with an
 * arena array (*n may be 0), or -1. */
int	admindb_codes_for_account(struct db *, struct arena *,
	    const char *did, struct admindb_code **out, size_t *n);
/* The code did was invited with (getInvitedByForAccounts; the last use
 * row wins).  Returns 1 with *out, 0 (none), -1. */
int	admindb_invited_by(struct db *, struct arena *, const char *did,
	    struct admindb_code *out);

/* Keyset page of admin.getInviteCodes. */
enum admindb_sort {
	ADMINDB_SORT_RECENT,		/* (createdAt, code) descending */
	ADMINDB_SORT_USAGE,		/* (uses, code) descending */
	ADMINDB_SORT__MAX
};
/* At most limit codes after the cursor (after NULL: from the start);
 * for RECENT after_primary is an ISO time, for USAGE a use count as
 * decimal text.  Returns 0 with an arena array, or -1. */
int	admindb_codes_page(struct db *, struct arena *, enum admindb_sort,
	    const char *after_primary, const char *after_code, int64_t limit,
	    struct admindb_code **out, size_t *n);

/* disableInviteCodes(): disabled = 1 for the code / for every code of
 * the account.  Returns 0 or -1. */
int	admindb_code_disable(struct db *, const char *code);
int	admindb_account_codes_disable(struct db *, const char *did);
/* setAccountInvitesDisabled().  Returns 0 or -1 (an unknown DID is not
 * an error, as in the reference). */
int	admindb_invites_disabled_set(struct db *, const char *did,
	    int disabled);
/* createAccountInviteCodes(): inserts codes[0..n) (availableUses 1,
 * forAccount = createdBy = did, createdAt now_iso) and checks that did
 * then holds at most expected_total routine codes (createdBy not
 * "admin"), all in one transaction.  Returns 0, 1 when another request
 * minted concurrently (nothing written: DuplicateCreate), -1. */
int	admindb_codes_mint(struct db *, const char *did, const char **codes,
	    size_t n, int disabled, int64_t expected_total,
	    const char *now_iso);

/* ---- email tokens ------------------------------------------------------- */

/* assertValidTokenAndFindDid(): the DID holding token (compared
 * uppercased) for purpose, and whether it was requested less than
 * LIM_EMAIL_TOKEN_MS before now_ms.  Returns 1 with *did (arena) and
 * *valid, 0 (no such token), -1. */
int	admindb_token_find(struct db *, struct arena *, const char *purpose,
	    const char *token, int64_t now_ms, const char **did, int *valid);

/* ---- accounts ----------------------------------------------------------- */

/* getAccountAdminStatus(): actor.takedownRef (arena; NULL when none) and
 * whether deactivatedAt is set.  Returns 1, 0 (no actor), -1. */
int	admindb_admin_status(struct db *, struct arena *, const char *did,
	    const char **takedown_ref, int *deactivated);
/* takedownAccount(): sets (ref) or clears (ref NULL) actor.takedownRef
 * and deletes the account's refresh tokens, in one transaction.
 * Returns 0 or -1. */
int	admindb_takedown(struct db *, const char *did, const char *ref);
/* activateAccount() as the admin API does it: clears deactivatedAt and
 * deleteAfter whatever the takedown state.  Returns 0 or -1. */
int	admindb_activate(struct db *, const char *did);

/* ---- actor store: record and blob takedowns ----------------------------- */

/* The record at uri: its cid and takedownRef (arena; NULL when none).
 * Returns 1, 0 (no record), -1. */
int	admindb_record_status(struct db *store, struct arena *,
	    const char *uri, const char **cid, const char **takedown_ref);
/* Sets or clears (ref NULL) record.takedownRef.  Returns 0 or -1. */
int	admindb_record_takedown(struct db *store, const char *uri,
	    const char *ref);
/* The blob's takedownRef (arena; NULL when none).  Returns 1, 0 (no
 * blob row), -1. */
int	admindb_blob_status(struct db *store, struct arena *, const char *cid,
	    const char **takedown_ref);
/* Sets or clears (ref NULL) blob.takedownRef.  Returns 0 or -1. */
int	admindb_blob_takedown(struct db *store, const char *cid,
	    const char *ref);

#endif /* PDS_ADMINDB_H */
