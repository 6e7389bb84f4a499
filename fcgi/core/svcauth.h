/*
 * svcauth.h: inter-service auth JWTs (atproto.com/specs/xrpc "Inter-
 * Service Authentication"; @atproto/xrpc-server auth.ts createServiceJwt
 * and verifyJwt; ../shared/spec/reference-pds.md f "Service auth JWTs").
 *
 * Creation: the PDS signs, with the account's repo key (the actor
 * store's key file), a token {typ: "JWT", alg: "ES256K"} . {iat, iss:
 * the account DID, aud, exp (iat + 60 s by default), lxm?, jti: 16
 * random bytes as hex} for outbound proxying, getServiceAuth and push
 * registration.
 *
 * Verification of an incoming token, in verifyJwt()'s order: three
 * segments, header (typ not at+jwt / refresh+jwt / dpop+jwt), payload
 * shape (iss, aud strings, exp number), expiry, audience, lxm, iss a DID
 * (optionally "#service"), then the signature against the issuer's
 * #atproto key (malleable signatures accepted, as the reference does);
 * when it does not verify, the key is looked up again with a forced
 * refresh (a rotated key) and tried once more.
 *
 * Error convention: enum svcauth_err (SVCAUTH_OK == 0); each refusal has
 * the reference's error name and message.
 */
#ifndef PDS_SVCAUTH_H
#define PDS_SVCAUTH_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "buf.h"
#include "keys.h"

struct actorstore_cache;
struct jwt;
struct resolve_ctx;

enum svcauth_err {
	SVCAUTH_OK,
	SVCAUTH_ERR_BAD_JWT,		/* BadJwt: poorly formatted jwt */
	SVCAUTH_ERR_TYPE,		/* BadJwtType */
	SVCAUTH_ERR_EXPIRED,		/* JwtExpired */
	SVCAUTH_ERR_AUDIENCE,		/* BadJwtAudience */
	SVCAUTH_ERR_LXM_MISSING,	/* BadJwtLexiconMethod (missing) */
	SVCAUTH_ERR_LXM,		/* BadJwtLexiconMethod (mismatch) */
	SVCAUTH_ERR_ISS,		/* BadJwtIss */
	SVCAUTH_ERR_NO_KEY,		/* the issuer's key cannot be found */
	SVCAUTH_ERR_SIGNATURE,		/* BadJwtSignature */
	SVCAUTH_ERR_NO_STORE,		/* signing: the account has no store */
	SVCAUTH_ERR_INTERNAL,		/* memory, crypto, database */
	SVCAUTH_ERR__MAX
};

/* The reference's error name (AuthRequiredError custom name) and message
 * for a refusal (static strings; the lxm messages do not include the
 * method: the caller adds it). */
const char	*svcauth_err_name(enum svcauth_err);
const char	*svcauth_err_msg(enum svcauth_err);

/* ---- creation ----------------------------------------------------------- */

/* Signs a service token for iss with key k: aud, lxm (NULL: no lxm
 * claim), exp in seconds since the epoch (0: now + 60 s).  Appends the
 * compact token and a NUL (not counted) to out.  Returns SVCAUTH_OK or
 * SVCAUTH_ERR_INTERNAL. */
enum svcauth_err svcauth_sign(const struct key *k, const char *iss,
		    const char *aud, const char *lxm, int64_t exp,
		    struct buf *out);
/* As svcauth_sign() with the repo key of account did, read through the
 * actor store cache c.  SVCAUTH_ERR_NO_STORE when did has no store. */
enum svcauth_err svcauth_sign_for(struct actorstore_cache *c,
		    const char *did, const char *aud, const char *lxm,
		    int64_t exp, struct buf *out);

/* ---- verification ------------------------------------------------------- */

/* Looks up the #atproto signing key of did (bare, no fragment); force
 * asks for a fresh document.  Returns 1 and *out (caller key_free()s),
 * 0 when there is none, -1 on failure. */
typedef int	(*svcauth_key_fn)(void *arg, const char *did, int force,
		    struct key **out);

/* The claims of a verified token (strings in the caller's arena). */
struct svcauth_claims {
	const char	*iss;		/* as given, may hold "#service" */
	const char	*iss_did;	/* iss without the fragment */
	const char	*aud;
	const char	*lxm;		/* NULL when absent */
	const char	*jti;		/* NULL when absent */
	int64_t		 exp;		/* seconds since the epoch */
};

/* What svcauth_verify() checks. */
struct svcauth_params {
	const char	*aud;		/* own DID, or NULL to skip */
	const char	*lxm;		/* the called method, or NULL to skip */
	int64_t		 now_ms;	/* 0: the wall clock */
	svcauth_key_fn	 key_fn;
	void		*key_arg;
};

/* The claim checks of svcauth_verify() on a parsed token (jwt.h), before
 * any key is fetched, in verifyJwt()'s order: typ, payload shape, exp,
 * p->aud, p->lxm, iss (p->key_fn is not used).  For verifiers that find
 * the issuer's key their own way (the moderation service's, admin_auth.c).
 * On SVCAUTH_OK *didlen is the length of iss's DID part. */
enum svcauth_err svcauth_claims_check(const struct jwt *,
		    const struct svcauth_params *p, size_t *didlen);
/* Verifies the token (tok, len) with p.  On SVCAUTH_OK fills *out (arena
 * a).  Pure apart from p->key_fn. */
enum svcauth_err svcauth_verify(const char *tok, size_t len,
		    const struct svcauth_params *p, struct arena *a,
		    struct svcauth_claims *out);

/* A svcauth_key_fn over the DID resolver (resolve.h): arg is a
 * const struct resolve_ctx *.  Resolves did (force: past the cache) and
 * parses its #atproto key. */
int		 svcauth_key_resolve(void *arg, const char *did, int force,
		    struct key **out);

#endif /* PDS_SVCAUTH_H */
