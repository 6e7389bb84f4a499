/*
 * jwt.h: compact JWS tokens (RFC 7515 / RFC 7519) as atproto uses them.
 *
 *   HS256   legacy session access/refresh tokens and OAuth access tokens,
 *           keyed with the UTF-8 bytes of PDS_JWT_SECRET
 *           (../shared/spec/reference-pds.md section f)
 *   ES256K  service auth (@atproto/xrpc-server auth.ts), and
 *   ES256   signatures through keys.h (SHA-256, 64-byte r||s, base64url)
 *
 * The caller always pins the algorithm: the header's "alg" must equal it,
 * so "none" and algorithm confusion (an HS256 token checked against a
 * public key, or an ES token against the secret) are refused.
 *
 * Parsing is a pure function of (token, length): exactly three non-empty
 * base64url segments (RFC 4648 section 5, no '=' padding, canonical
 * trailing bits), header and payload JSON objects with no duplicate keys,
 * nesting under LIM_JSON_DEPTH, sizes under LIM_JWT_LEN / LIM_JWT_SEGMENT
 * / LIM_JWT_SIG (pds_limits.h).
 *
 * Time claims (seconds since the epoch, JSON numbers):
 *   exp   expired when now > exp (xrpc-server: Date.now()/1000 > exp); no
 *         allowance is given on expiry.
 *   iat, nbf   refused when more than skew_s seconds in the future
 *         (default LIM_JWT_SKEW_S), which tolerates a small clock skew
 *         between issuer and us but not tokens minted for later use.
 *
 * Service auth in the reference's order (xrpc-server verifyJwt): jwt_parse;
 * jwt_check_claims with typ_forbidden {at+jwt, refresh+jwt, dpop+jwt},
 * aud, lxm, need ISS|AUD|EXP; check iss is a DID (syntax module); resolve
 * its #atproto key; pin alg = jwt_alg_for_key(type) with malleable = 1;
 * jwt_verify_sig.  Name refusals with jwt_err_service_name().
 * Session tokens: jwt_verify with alg HS256, the secret, typ and aud;
 * name refusals with jwt_err_session_name().
 *
 * Error convention: every function that can fail returns enum jwt_err
 * (JWT_OK == 0).
 */
#ifndef PDS_JWT_H
#define PDS_JWT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "buf.h"
#include "keys.h"
#include "pds_limits.h"

enum jwt_alg {
	JWT_ALG_HS256,
	JWT_ALG_ES256K,
	JWT_ALG_ES256,
	JWT_ALG__MAX
};

enum jwt_err {
	JWT_OK,
	JWT_ERR_FORMAT,		/* not three base64url segments; padding */
	JWT_ERR_SIZE,		/* over LIM_JWT_LEN / _SEGMENT / _SIG */
	JWT_ERR_JSON,		/* header/payload not a JSON object, no alg */
	JWT_ERR_ALG,		/* header alg is not the pinned one */
	JWT_ERR_TYPE,		/* header typ missing, different, forbidden */
	JWT_ERR_CLAIMS,		/* claim missing or of the wrong JSON type */
	JWT_ERR_EXPIRED,	/* exp is past */
	JWT_ERR_NOT_YET,	/* iat or nbf too far in the future */
	JWT_ERR_AUDIENCE,	/* aud is not the expected one */
	JWT_ERR_LXM,		/* lxm missing or not the called method */
	JWT_ERR_SIGNATURE,	/* signature does not verify */
	JWT_ERR_KEY,		/* key material does not fit the alg */
	JWT_ERR_NOMEM,
	JWT_ERR_CRYPTO,		/* internal crypto failure */
	JWT_ERR__MAX
};

/* Claims that must be present (jwt_params.need). */
#define JWT_NEED_EXP	0x01
#define JWT_NEED_IAT	0x02
#define JWT_NEED_ISS	0x04
#define JWT_NEED_AUD	0x08
#define JWT_NEED_SUB	0x10
#define JWT_NEED_JTI	0x20

/* Key material: key for ES256K/ES256, secret bytes for HS256.  Borrowed,
 * never copied. */
struct jwt_key {
	const struct key	*key;
	const uint8_t		*secret;
	size_t			 secret_len;
};

/* What jwt_verify() checks.  Set up with jwt_params_init(). */
struct jwt_params {
	enum jwt_alg		 alg;		/* pinned algorithm */
	struct jwt_key		 key;
	const char		*typ;		/* header typ must equal this
						 * (case-insensitive, optional
						 * "application/"), or NULL */
	const char *const	*typ_forbidden;	/* NULL-terminated list of typ
						 * values refused, or NULL */
	const char		*aud;		/* expected aud, or NULL */
	const char		*lxm;		/* expected lxm, or NULL */
	unsigned		 need;		/* JWT_NEED_* */
	int64_t			 now_ms;	/* 0: the wall clock */
	int64_t			 skew_s;	/* iat/nbf allowance, seconds */
	int			 malleable;	/* accept high-S/DER ES sigs,
						 * as xrpc-server does */
};

/* A parsed token.  header and payload are owned (jwt_fini releases them);
 * alg and signed_part point into header and into the token text, valid as
 * long as both live. */
struct jwt {
	json_t		*header;
	json_t		*payload;
	const char	*alg;
	const char	*signed_part;	/* "<header>.<payload>" */
	size_t		 signed_len;
	uint8_t		 sig[LIM_JWT_SIG];
	size_t		 sig_len;
};

/* Static text for an error; never NULL. */
const char	*jwt_err_str(enum jwt_err);
/* The reference's error name for a refused service-auth token
 * (xrpc-server auth.ts: BadJwt, BadJwtType, JwtExpired, BadJwtAudience,
 * BadJwtLexiconMethod, BadJwtSignature), or NULL for internal errors. */
const char	*jwt_err_service_name(enum jwt_err);
/* The reference's error name for a refused session token
 * (pds auth-verifier: ExpiredToken or InvalidToken), or NULL for
 * internal errors. */
const char	*jwt_err_session_name(enum jwt_err);
/* "HS256" / "ES256K" / "ES256" (static), or NULL. */
const char	*jwt_alg_name(enum jwt_alg);
/* The alg that signs with a key of this type. */
enum jwt_alg	 jwt_alg_for_key(enum key_type);

/* Defaults: pins alg, need = JWT_NEED_EXP, skew_s = LIM_JWT_SKEW_S,
 * everything else empty. */
void		 jwt_params_init(struct jwt_params *, enum jwt_alg);

/* Splits and decodes (tok, len) into *out (see the file comment for the
 * rules).  On JWT_OK the caller calls jwt_fini(out); on error *out is
 * left empty and needs no jwt_fini (calling it is harmless).  Pure: no
 * I/O, no clock. */
enum jwt_err	 jwt_parse(const char *tok, size_t len, struct jwt *out);
/* Releases what jwt_parse() stored.  Accepts NULL. */
void		 jwt_fini(struct jwt *);
/* Checks the header alg against p->alg and the signature with p->key. */
enum jwt_err	 jwt_verify_sig(const struct jwt *, const struct jwt_params *);
/* Checks typ, the time claims, aud, lxm and p->need. */
enum jwt_err	 jwt_check_claims(const struct jwt *,
		    const struct jwt_params *);
/* jwt_parse, then jwt_verify_sig, then jwt_check_claims (signature
 * first, as jose does).  On JWT_OK the caller owns *out (jwt_fini); on
 * error *out is empty. */
enum jwt_err	 jwt_verify(const char *tok, size_t len,
		    const struct jwt_params *, struct jwt *out);
/* The payload claim name as a string (pointer into the payload, valid
 * until jwt_fini), or NULL when absent or not a string. */
const char	*jwt_get_str(const struct jwt *, const char *name);

/* Signs header and payload (JSON objects; header must hold "alg" equal
 * to alg's name; key order is kept) and appends the compact token, then
 * a NUL not counted in out->len.  JSON is written compact (jansson
 * JSON_COMPACT), which equals JSON.stringify for the objects, integers and
 * strings tokens carry; it differs only for control characters (jansson
 * writes \u001F, JS \u001f) and reals, which tokens do not use.  The
 * token obeys the jwt_parse limits; on error out is unchanged. */
enum jwt_err	 jwt_encode(enum jwt_alg, const json_t *header,
		    const json_t *payload, const struct jwt_key *,
		    struct buf *out);
/* A service-auth token exactly as xrpc-server createServiceJwt() makes
 * it: header {"typ":"JWT","alg":<key's alg>}, payload {iat, iss, aud,
 * exp, lxm (omitted when NULL), jti (16 random bytes as hex)}.  iat 0
 * means now; exp 0 means iat + 60.  Appends to out as jwt_encode(). */
enum jwt_err	 jwt_service_encode(const struct key *, const char *iss,
		    const char *aud, const char *lxm, int64_t iat,
		    int64_t exp, struct buf *out);

#endif /* PDS_JWT_H */
