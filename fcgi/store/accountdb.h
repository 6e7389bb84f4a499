/*
 * accountdb.h: account.sqlite, the reference PDS's account database
 * (packages/pds/src/account-manager/; ../shared/spec/reference-pds.md c):
 * migrations 001..007 with Kysely's bookkeeping, and the queries on the
 * tables this PDS uses for accounts and sessions: actor, account,
 * app_password, refresh_token, invite_code, invite_code_use, email_token,
 * repo_root.  The OAuth tables are created (so the file is the
 * reference's) but not used here.
 *
 * Conventions: every function takes the struct db the worker opened;
 * strings coming back are copied into the caller's arena; timestamps are
 * ISO-8601 with milliseconds and Z (util_iso_time).  Emails are stored
 * lowercased; handles as given (callers normalise them).
 *
 * Error convention: 0 on success and -1 on a database failure (logged
 * once by db.c); lookups return 1 when found and 0 when not; inserts that
 * can collide return 1 on a uniqueness conflict (nothing written).
 */
#ifndef PDS_ACCOUNTDB_H
#define PDS_ACCOUNTDB_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"

struct db;

/* Runs the pending account migrations (001..007).  Returns the number
 * run (0 when current) or -1. */
int	accountdb_migrate(struct db *);

/* ---- actors and accounts (helpers/account.ts) -------------------------- */

/* Availability flags of getAccount(): without them, taken-down and
 * deactivated actors are not found. */
#define ACCOUNTDB_TAKENDOWN	0x01	/* includeTakenDown */
#define ACCOUNTDB_DEACTIVATED	0x02	/* includeDeactivated */

/* actor left join account (arena strings; NULL when the column is). */
struct accountdb_account {
	const char	*did;
	const char	*handle;
	const char	*created_at;
	const char	*takedown_ref;
	const char	*deactivated_at;
	const char	*delete_after;
	const char	*email;			/* NULL: actor without account */
	const char	*email_confirmed_at;
	int		 invites_disabled;
};

/* By DID (handle_or_did starts with "did:") or exact handle.  Returns 1
 * with *out, 0, or -1. */
int	accountdb_account_get(struct db *, struct arena *,
	    const char *handle_or_did, int flags,
	    struct accountdb_account *out);
/* By email (lowercased here).  Returns 1, 0 or -1. */
int	accountdb_account_by_email(struct db *, struct arena *,
	    const char *email, int flags, struct accountdb_account *out);
/* registerActor(): createdAt = now; deactivated sets deactivatedAt = now
 * and deleteAfter = now + LIM_DELETE_AFTER_MS.  Returns 0, 1 when the DID
 * or (case-insensitively) the handle exists, -1. */
int	accountdb_actor_insert(struct db *, const char *did,
	    const char *handle, int deactivated, int64_t now_ms);
/* registerAccount(): email lowercased.  Returns 0, 1 (DID or email
 * exists), -1. */
int	accountdb_account_insert(struct db *, const char *did,
	    const char *email, const char *password_scrypt);
/* updateHandle(): only when no actor has that exact handle and the lower
 * index allows it.  Returns 0, 1 (taken), -1. */
int	accountdb_handle_update(struct db *, const char *did,
	    const char *handle);
/* takedownRef = ref, or NULL to lift it.  Returns 0 or -1. */
int	accountdb_takedown_set(struct db *, const char *did, const char *ref);
/* deactivatedAt = now, deleteAfter = delete_after (NULL allowed).
 * Returns 1 when a row changed, 0 when the DID is unknown, -1. */
int	accountdb_deactivate(struct db *, const char *did,
	    const char *delete_after, int64_t now_ms);
/* Clears deactivatedAt and deleteAfter unless the actor is taken down.
 * Returns 1 when a row changed, 0 when none, -1. */
int	accountdb_activate(struct db *, const char *did);
/* deleteAccount(): repo_root, email_token, refresh_token, account, actor
 * rows of did (the OAuth rows follow through foreign keys), in one
 * transaction.  Returns 0 or -1. */
int	accountdb_account_delete(struct db *, const char *did);
/* The account's passwordScrypt (arena).  Returns 1, 0 (no account), -1. */
int	accountdb_password_get(struct db *, struct arena *, const char *did,
	    const char **out);
/* Sets passwordScrypt.  Returns 0 or -1. */
int	accountdb_password_set(struct db *, const char *did,
	    const char *password_scrypt);
/* Sets email (lowercased) and clears emailConfirmedAt.  Returns 0, 1
 * (email taken), -1. */
int	accountdb_email_set(struct db *, const char *did, const char *email);
/* Sets emailConfirmedAt.  Returns 0 or -1. */
int	accountdb_email_confirmed_set(struct db *, const char *did,
	    const char *at);

/* ---- app passwords (helpers/password.ts) ------------------------------ */

struct accountdb_app_password {
	const char	*name;
	const char	*created_at;
	int		 privileged;
};

/* Returns 0, 1 when the name exists for did, -1. */
int	accountdb_app_password_insert(struct db *, const char *did,
	    const char *name, const char *password_scrypt, int privileged,
	    const char *created_at);
/* Finds the row whose hash equals password_scrypt.  Returns 1 with *out,
 * 0, -1. */
int	accountdb_app_password_find(struct db *, struct arena *,
	    const char *did, const char *password_scrypt,
	    struct accountdb_app_password *out);
/* Every app password of did, newest first (arena array, *n may be 0).
 * Returns 0 or -1. */
int	accountdb_app_password_list(struct db *, struct arena *,
	    const char *did, struct accountdb_app_password **out, size_t *n);
/* Deletes the app password and the refresh tokens issued for it, in one
 * transaction.  Returns 0 or -1. */
int	accountdb_app_password_delete(struct db *, const char *did,
	    const char *name);

/* ---- refresh tokens (helpers/auth.ts) --------------------------------- */

struct accountdb_refresh {
	const char	*id;
	const char	*did;
	const char	*expires_at;
	const char	*next_id;		/* NULL until rotated */
	const char	*app_password_name;	/* NULL: main password */
	int		 privileged;		/* of that app password */
};

/* Stores a token row; an existing id is left alone (re-grant inside the
 * grace period).  Returns 0 or -1. */
int	accountdb_refresh_insert(struct db *, const char *id, const char *did,
	    const char *expires_at, const char *app_password_name);
/* Returns 1 with *out, 0, -1. */
int	accountdb_refresh_get(struct db *, struct arena *, const char *id,
	    struct accountdb_refresh *out);
/* Deletes did's tokens with expiresAt <= now_iso.  Returns 0 or -1. */
int	accountdb_refresh_delete_expired(struct db *, const char *did,
	    const char *now_iso);
/* addRefreshGracePeriod(): sets expiresAt and nextId when nextId is null
 * or already next_id.  Returns 1 when updated, 0 on a concurrent
 * rotation, -1. */
int	accountdb_refresh_grace(struct db *, const char *id,
	    const char *expires_at, const char *next_id);
/* Returns 1 when a row was deleted, 0 when none, -1. */
int	accountdb_refresh_delete(struct db *, const char *id);
/* Deletes every refresh token of did.  Returns 0 or -1. */
int	accountdb_refresh_delete_did(struct db *, const char *did);

/* ---- invite codes (helpers/invite.ts) ---------------------------------- */

/* ensureInviteIsAvailable(): exists, not disabled, its owner not taken
 * down, fewer uses than availableUses.  Returns 1 available, 0 not, -1. */
int	accountdb_invite_available(struct db *, const char *code);
/* recordInviteUse().  Returns 0, 1 when did already used it, -1. */
int	accountdb_invite_use(struct db *, const char *code, const char *did,
	    const char *now);
/* One invite_code row (disabled 0).  Returns 0, 1 (code exists), -1. */
int	accountdb_invite_insert(struct db *, const char *code,
	    int64_t available_uses, const char *for_account,
	    const char *created_by, const char *now);

/* ---- email tokens (helpers/email-token.ts) ---------------------------- */

enum accountdb_token {
	ACCOUNTDB_TOKEN_VALID,
	ACCOUNTDB_TOKEN_INVALID,	/* "Token is invalid" */
	ACCOUNTDB_TOKEN_EXPIRED,	/* "Token is expired" (15 min) */
	ACCOUNTDB_TOKEN__MAX
};

/* Creates or replaces the (purpose, did) token.  Returns 0 or -1. */
int	accountdb_email_token_set(struct db *, const char *did,
	    const char *purpose, const char *token, const char *now);
/* assertValidToken(): token compared uppercased.  Returns 0 with *res,
 * or -1. */
int	accountdb_email_token_check(struct db *, const char *did,
	    const char *purpose, const char *token, int64_t now_ms,
	    enum accountdb_token *res);
/* Deletes (did, purpose) (purpose NULL: every token of did).  Returns 0
 * or -1. */
int	accountdb_email_token_delete(struct db *, const char *did,
	    const char *purpose);

/* ---- repo_root (helpers/repo.ts) --------------------------------------- */

/* Upserts did's head commit CID and rev with indexedAt = now.  Returns 0
 * or -1. */
int	accountdb_repo_root_set(struct db *, const char *did, const char *cid,
	    const char *rev, const char *now);

#endif /* PDS_ACCOUNTDB_H */
