/*
 * accounts.h: private header of the account, session and identity
 * handlers (h_server_account.c, h_server_session.c, h_identity.c) and
 * their helpers, grouped by file.  The reference is packages/pds/src/
 * api/com/atproto/{server,identity}/ and account-manager/
 * (../shared/spec/reference-pds.md b, c, d, f, g).
 *
 * Error convention: helpers that answer for a request return an enum
 * xrpc_status, with any error recorded through xrpc_fail(); the others
 * return 0 / -1 (or 1 / 0 / -1 for lookups).
 */
#ifndef PDS_ACCOUNTS_H
#define PDS_ACCOUNTS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "accountdb.h"
#include "cid.h"
#include "actorstore.h"
#include "keys.h"
#include "plc.h"
#include "resolve.h"
#include "tid.h"
#include "xrpc.h"

struct seqdb;
struct storectx;

#define ACCT_INVALID_HANDLE	"handle.invalid"	/* INVALID_HANDLE */

/* AuthScope values (auth-scope.ts). */
#define ACCT_SCOPE_ACCESS	"com.atproto.access"
#define ACCT_SCOPE_REFRESH	"com.atproto.refresh"
#define ACCT_SCOPE_APP_PASS	"com.atproto.appPass"
#define ACCT_SCOPE_APP_PRIV	"com.atproto.appPassPrivileged"
#define ACCT_SCOPE_TAKENDOWN	"com.atproto.takendown"

/* acct_util.c */
/* The per-worker state of the account handlers, set up on first use in
 * the worker process: account.sqlite migrated, the storage context
 * (storectx_get), did_cache.sqlite opened, the PLC rotation key
 * loaded. */
struct acct_ctx {
	struct db		*account;	/* = srv->account (borrowed) */
	struct storectx		*store;		/* actor stores, sequencer,
						 * blobs (storectx.h; borrowed) */
	struct db		*didcache;
	struct key		*rotation;	/* PDS_PLC_ROTATION_KEY_... */
	char			 rotation_did[KEY_DID_LEN];
	struct resolve_ctx	 resolver;
};
/* The context for req, or NULL with XRPC_ERR_INTERNAL recorded in res. */
struct acct_ctx	*acct_ctx_get(struct xrpc_req *, struct xrpc_res *);
/* Releases a worker's context (tests; the worker simply exits). */
void		 acct_ctx_fini(void);

/* Input fields (lex-schema's wording: 'Missing required key "k" at $',
 * 'Expected string value type (got 1) at $.k').  Absent optional fields
 * leave *out alone.  The body must be an object (checked by
 * acct_in_object()). */
enum xrpc_status acct_in_object(struct xrpc_req *, struct xrpc_res *);
/* String fields.  JSON bodies keep "\u0000" inside strings, as
 * JSON.parse does, so each field decides:
 *   acct_in_bytes()   all the bytes in (*out, *len), NULs included: for
 *                     passwords (hashed whole) and for values compared
 *                     with stored ones, where a NUL can only mismatch
 *                     (tokens, codes, login identifiers; see
 *                     acct_token_check()) or that are ignored;
 *   acct_in_format()  identifiers: the validator sees every byte, so a
 *                     NUL is refused with the reference's message;
 *   acct_in_str()     text kept or mailed as a C string: a NUL is refused
 *                     ('Invalid string (NUL character) at $.k'). */
enum xrpc_status acct_in_bytes(struct xrpc_req *, struct xrpc_res *,
		    const char *key, int required, const char **out,
		    size_t *len);
enum xrpc_status acct_in_str(struct xrpc_req *, struct xrpc_res *,
		    const char *key, int required, const char **out);
enum xrpc_status acct_in_bool(struct xrpc_req *, struct xrpc_res *,
		    const char *key, int required, int *out);
enum xrpc_status acct_in_int(struct xrpc_req *, struct xrpc_res *,
		    const char *key, int required, int64_t min, int64_t max,
		    int64_t *out);
/* A string field with a lexicon format ("handle", "did", "datetime",
 * "at-identifier"): 'Invalid handle (got "x") at $.handle'.  *out holds
 * no NUL. */
enum xrpc_status acct_in_format(struct xrpc_req *, struct xrpc_res *,
		    const char *key, const char *format, int required,
		    const char **out);
/* lex-schema's stringifyValue() of j into the arena ("null", "1",
 * "\"abc\"", "[1, 2, ...]", "{\"a\": ...}"). */
const char	*acct_preview(struct arena *, const json_t *j);

/* ensureValidHandle() + lowercase (baseNormalizeAndValidate): the
 * reference's messages as InvalidHandle.  out holds LIM_HANDLE_LEN + 1. */
enum xrpc_status acct_handle_normalize(struct xrpc_res *, const char *in,
		    char *out);
/* normalizeAndValidateHandle(): normalise, TLD policy, service-domain
 * constraints (3..18 char first label, reserved names) or, for other
 * domains, UnsupportedDomain when did is NULL (account creation) and a
 * resolution to did otherwise. */
enum xrpc_status acct_handle_check(struct xrpc_req *, struct xrpc_res *,
		    struct acct_ctx *, const char *in, const char *did,
		    char *out);
/* 1 when handle ends with one of PDS_SERVICE_HANDLE_DOMAINS. */
int		 acct_handle_is_service(const struct pds_config *,
		    const char *handle);
/* isEmailValid() for new addresses: 1 or 0. */
int		 acct_email_valid(const char *email, size_t len);

/* formatAccountStatus(): *active and *status ("takendown",
 * "deactivated", "deleted" for a==NULL; NULL when active). */
void		 acct_status(const struct accountdb_account *a, int *active,
		    const char **status);

/* Session tokens (account-manager/helpers/auth.ts). */
struct acct_tokens {
	const char	*access;	/* arena */
	const char	*refresh;	/* arena */
	const char	*jti;		/* arena */
	int64_t		 refresh_exp;	/* seconds since the epoch */
};
/* Signs an access token with scope and a refresh token with jti (NULL:
 * a fresh 32-byte id) for did.  Returns 0 or -1. */
int		 acct_tokens_make(struct xrpc_req *, const char *did,
		    const char *scope, const char *jti,
		    struct acct_tokens *out);
/* Stores the refresh token row (expiresAt from refresh_exp).  Returns
 * 0 or -1. */
int		 acct_tokens_store(struct acct_ctx *, const char *did,
		    const struct acct_tokens *t, const char *app_password);
/* The didDoc for session responses when PDS_ENABLE_DID_DOC_WITH_SESSION
 * is set (didDocForSession), else NULL.  Caller json_decref()s. */
json_t		*acct_diddoc_for_session(struct xrpc_req *, struct acct_ctx *,
		    const char *did, int force);
/* Current ISO time into out (UTIL_ISO_LEN bytes). */
void		 acct_now_iso(char *out);
/* assertValidToken(): the email token (token, len) of purpose for did,
 * as acct_in_bytes() read it (a NUL or an over-long token is simply
 * invalid).  XRPC_OK, or InvalidToken "Token is invalid" / ExpiredToken
 * "Token is expired" recorded in res. */
enum xrpc_status acct_token_check(struct xrpc_res *, struct acct_ctx *,
		    const char *did, const char *purpose, const char *token,
		    size_t len);
/* A PLC client error as the reference reports it: 502 UpstreamFailure
 * with the directory's message when it failed, 500 on no memory, else
 * 400 with why. */
enum xrpc_status acct_plc_fail(struct xrpc_res *, enum plc_err e,
		    const char *why);
/* plcClient.updateHandle(): the PLC operation that points did's
 * alsoKnownAs at handle, signed with the PDS rotation key and submitted
 * (LIM_PLC_TIMEOUT_MS per call).  XRPC_OK or the recorded refusal. */
enum xrpc_status acct_plc_handle(struct xrpc_req *, struct xrpc_res *,
		    struct acct_ctx *, const char *did, const char *handle);

/* acct_repo.c: the actor store (actorstore.h) and events */
/* actorstore_create() under PDS_ACTOR_STORE_DIRECTORY: the directory,
 * key file, store and genesis commit with its #commit and #sync bodies.
 * Returns 0, 1 when a store exists already (untouched), -1. */
int		 acct_store_create(struct acct_ctx *, const char *did,
		    const struct key *k, struct actorstore_genesis *out);
/* actorStore.destroy(): every blob file of did, then the store.  Returns
 * 0 or -1. */
int		 acct_store_destroy(struct acct_ctx *, const char *did);
/* The end of an account (deleteAccount, admin.deleteAccount): its store
 * (acct_store_destroy), its account.sqlite rows, an #account "deleted"
 * event, then every earlier event of did purged.  Returns 0 or -1. */
int		 acct_delete(struct acct_ctx *, const char *did);
/* The did:key of the account's signing key.  Returns 1, 0 (no store),
 * -1. */
int		 acct_store_key_did(struct acct_ctx *, const char *did,
		    char out[KEY_DID_LEN]);
/* The head (repo_root) and its commit block, copied into the arena.
 * Returns 1, 0 (no store), -1. */
int		 acct_store_head(struct acct_ctx *, struct arena *,
		    const char *did, struct actorstore_root *root,
		    uint8_t **block, size_t *blocklen);
/* Counts for checkAccountStatus: blocks, records, blobs and blobs that
 * records reference.  Returns 1, 0 (no store), -1. */
int		 acct_store_counts(struct acct_ctx *, const char *did,
		    int64_t *blocks, int64_t *records, int64_t *blobs,
		    int64_t *expected);

/* Sequencer event bodies (sequencer/events.ts), DAG-CBOR appended to b.
 * Return 0 or -1. */
int		 acct_evt_identity(struct buf *b, const char *did,
		    const char *handle);
int		 acct_evt_account(struct buf *b, const char *did, int active,
		    const char *status);
int		 acct_evt_sync(struct buf *b, const char *did, const char *rev,
		    const struct cid *commit, const uint8_t *block,
		    size_t blocklen);
/* Appends one event (type: enum seqdb_type) now.  Returns 0 (and *seq
 * when not NULL) or -1. */
int		 acct_seq(struct acct_ctx *, const char *did, int type,
		    const struct buf *body, int64_t *seq);
/* Appends n events atomically, in order.  Returns 0 or -1. */
int		 acct_seq_many(struct acct_ctx *, const char *did,
		    const int *types, const struct buf *const *bodies,
		    size_t n);

/* acct_reserved.c */
/* 1 when the first handle label (label, len) is reserved. */
int		 acct_handle_reserved(const char *label, size_t len);

#endif /* PDS_ACCOUNTS_H */
