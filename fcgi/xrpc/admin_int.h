/*
 * admin_int.h: private header of the email, invite, admin and rate-limit
 * parts of pds-fcgi (admin_util.c, admin_auth.c, ratelimits.c,
 * h_admin.c, h_server_email.c, h_server_invite.c), grouped by file.
 * Builds on the account handlers' helpers (accounts.h).
 *
 * Error convention: as accounts.h: helpers that answer for a request
 * return an enum xrpc_status with the error recorded through
 * xrpc_fail(); others return 0 / -1.
 */
#ifndef PDS_ADMIN_INT_H
#define PDS_ADMIN_INT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "accounts.h"
#include "admindb.h"
#include "mailer.h"
#include "xrpc.h"

/* Email token purposes (account-manager/db/schema/email-token.ts). */
#define ADM_PURPOSE_CONFIRM	"confirm_email"
#define ADM_PURPOSE_UPDATE	"update_email"
#define ADM_PURPOSE_RESET	"reset_password"
#define ADM_PURPOSE_DELETE	"delete_account"
#define ADM_PURPOSE_PLC		"plc_operation"

/* admin_util.c */
/* The worker's account mailer (PDS_EMAIL_*) or moderation mailer
 * (PDS_MODERATION_EMAIL_*), set up on first use in each process.  NULL
 * with XRPC_ERR_INTERNAL recorded when its configuration is refused. */
struct mailer	*adm_mailer(struct xrpc_req *, struct xrpc_res *,
		    int moderation);
/* getRandomToken(): 8 random bytes, lowercase base32, the first ten
 * chars as "xxxxx-xxxxx" (out holds LIM_EMAIL_TOKEN_LEN + 1).  upper
 * gives the email-token form.  Returns 0 or -1. */
int		 adm_random_token(char *out, int upper);
/* createEmailToken(): a fresh token for (did, purpose), replacing any
 * earlier one, into out (LIM_EMAIL_TOKEN_LEN + 1 bytes). */
enum xrpc_status adm_email_token_new(struct xrpc_req *, struct xrpc_res *,
		    struct acct_ctx *, const char *did, const char *purpose,
		    char *out);
/* genInvCode(): "<hostname with '.' as '-'>-xxxxx-xxxxx" in the arena,
 * or NULL. */
const char	*adm_invite_code(struct xrpc_req *);
/* A CodeDetail as the reference returns it (fresh codes carry the
 * extra "availableUses" key, as createAccountInviteCodes' rows do), or
 * NULL on ENOMEM. */
json_t		*adm_code_json(const struct admindb_code *);
/* formatAccountInfo() for a (handle_or_did) account, taken-down and
 * deactivated ones included: 1 with *out (caller json_decref()s), 0 when
 * there is no such account. */
enum xrpc_status adm_account_info(struct xrpc_req *, struct xrpc_res *,
		    struct acct_ctx *, const char *did, json_t **out,
		    int *found);
/* updateAccountPassword(): a new hash of (pw, len), then in one
 * transaction the password, the deletion of the reset_password token
 * and of every refresh token.  The caller checked the length. */
enum xrpc_status adm_password_update(struct xrpc_res *, struct acct_ctx *,
		    const char *did, const char *pw, size_t len);
/* The status of did for an #account event (getAccountStatus) sequenced
 * now.  Returns XRPC_OK or a recorded 500. */
enum xrpc_status adm_sequence_account(struct xrpc_req *, struct xrpc_res *,
		    struct acct_ctx *, const char *did);

/* Nested input fields: as acct_in_* but on an object of the body at a
 * path such as "$.subject" (key is appended to it in messages).  Absent
 * optional fields leave *out alone.  adm_obj_bytes() gives all the
 * bytes, NULs included; adm_obj_str() refuses a NUL (text kept as a C
 * string); adm_obj_format() validates every byte (see accounts.h). */
enum xrpc_status adm_obj_bytes(struct xrpc_req *, struct xrpc_res *,
		    json_t *obj, const char *path, const char *key,
		    int required, const char **out, size_t *len);
enum xrpc_status adm_obj_str(struct xrpc_req *, struct xrpc_res *,
		    json_t *obj, const char *path, const char *key,
		    int required, const char **out);
enum xrpc_status adm_obj_bool(struct xrpc_req *, struct xrpc_res *,
		    json_t *obj, const char *path, const char *key,
		    int required, int *out);
/* A string with a lexicon format ("did", "at-uri", "cid", "handle"). */
enum xrpc_status adm_obj_format(struct xrpc_req *, struct xrpc_res *,
		    json_t *obj, const char *path, const char *key,
		    const char *format, int required, const char **out);
/* An optional array of strings (each at most LIM_INVITE_CODE_LEN bytes,
 * at most max items; NULs kept); *out NULL when absent. */
enum xrpc_status adm_obj_strings(struct xrpc_req *, struct xrpc_res *,
		    json_t *obj, const char *path, const char *key,
		    size_t max, json_t **out);

/* admin_auth.c */
/* The moderator verifier's Bearer branch (auth-verifier.ts modService):
 * a service JWT whose iss is PDS_MOD_SERVICE_DID or
 * <that>#atproto_labeler, lxm the called method, aud this PDS, signed by
 * the issuer's #atproto (or #atproto_label) key.  Sets req->auth
 * (XRPC_CRED_MOD_SERVICE, did = iss). */
enum xrpc_status xrpc_auth_mod_service(struct xrpc_req *, struct xrpc_res *,
		    const char *tok, size_t toklen);

/* ratelimits.c */
/* The reference's rate limits (rate-limits.ts, the routes' rateLimit
 * options) when PDS_RATE_LIMITS_ENABLED: the route's own limits plus the
 * global per-IP one, counted in the shared file (ratelimit.h), after
 * auth and input as xrpc-server does.  Sets RateLimit-* headers, or
 * refuses with 429 RateLimitExceeded and Retry-After. */
enum xrpc_status xrpc_ratelimit_route(struct xrpc_req *, struct xrpc_res *);
/* The global limit alone, for /xrpc/ methods without a route (the
 * catch-all proxy), before anything else as xrpc-server's catchall. */
enum xrpc_status xrpc_ratelimit_global(struct xrpc_req *, struct xrpc_res *);

#endif /* PDS_ADMIN_INT_H */
