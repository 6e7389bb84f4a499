/*
 * keys.h: atproto signing keys and ECDSA signatures.
 * atproto.com/specs/cryptography.
 *
 * Two curves: secp256k1 ("k256", JWT alg ES256K, through libsecp256k1)
 * and NIST P-256 ("p256", JWT alg ES256, through OpenSSL 3).  Signatures
 * are over SHA-256 of the message and travel as 64-byte compact r||s in
 * low-S form; verification refuses high-S and DER unless the caller asks
 * for KEY_VERIFY_MALLEABLE (the reference does so for service-auth JWTs,
 * @atproto/xrpc-server auth.ts: allowMalleableSig).
 *
 * Public keys are written as:
 *   did:key     "did:key:" + multikey
 *   multikey    "z" + base58btc(multicodec prefix + 33-byte compressed key)
 *               prefix 0xe7 0x01 (secp256k1-pub) or 0x80 0x24 (p256-pub);
 *               the publicKeyMultibase of a "Multikey" DID-doc entry
 *   legacy      "z" + base58btc(compressed or uncompressed key bytes), no
 *               prefix; the publicKeyMultibase of the older
 *               EcdsaSecp256k1VerificationKey2019 / ...r1... entries
 *
 * struct key is opaque: a public key and, for signing keys, the private
 * scalar, which key_free() wipes.  A key is immutable once made and may be
 * shared read-only.
 *
 * Error convention: every function that can fail returns enum key_err
 * (KEY_OK == 0) and hands results back through out-parameters.
 */
#ifndef PDS_KEYS_H
#define PDS_KEYS_H

#include <stddef.h>
#include <stdint.h>

#define KEY_PRIV_LEN		32	/* private scalar, big-endian */
#define KEY_PUB_LEN		33	/* SEC1 compressed point */
#define KEY_PUB_FULL_LEN	65	/* SEC1 uncompressed point */
#define KEY_SIG_LEN		64	/* compact r||s */
#define KEY_DIGEST_LEN		32	/* SHA-256 */
#define KEY_PRIV_HEX_LEN	(KEY_PRIV_LEN * 2 + 1)	/* incl. NUL */
/* "z" + base58 of 35 bytes is at most 50 chars; +NUL; rounded up. */
#define KEY_MULTIKEY_LEN	56
#define KEY_DID_LEN		(8 + KEY_MULTIKEY_LEN)	/* "did:key:" */

enum key_type {
	KEY_TYPE_K256,		/* secp256k1, ES256K */
	KEY_TYPE_P256,		/* NIST P-256, ES256 */
	KEY_TYPE__MAX
};

enum key_err {
	KEY_OK,
	KEY_ERR_PRIV,		/* private key malformed or out of range */
	KEY_ERR_PUB,		/* public key bytes are not a valid point */
	KEY_ERR_ENCODING,	/* did:key / multibase syntax or length */
	KEY_ERR_CODEC,		/* unknown multicodec or key type name */
	KEY_ERR_TYPE,		/* key type differs from the one required */
	KEY_ERR_NO_PRIV,	/* operation needs a private key */
	KEY_ERR_SIG_FORMAT,	/* not 64 bytes (e.g. DER) */
	KEY_ERR_SIG_RANGE,	/* r or s is zero or not below the order */
	KEY_ERR_SIG_HIGH_S,	/* s above order/2 (malleable form) */
	KEY_ERR_SIG_BAD,	/* well formed but does not verify */
	KEY_ERR_NOMEM,
	KEY_ERR_CRYPTO,		/* the crypto library failed internally */
	KEY_ERR__MAX
};

/* Verification flags. */
#define KEY_VERIFY_MALLEABLE	0x1	/* also accept high-S and strict DER */

struct key;

/* Static English text for an error; never NULL. */
const char	*key_err_str(enum key_err);
/* "ES256K" / "ES256" (static), or NULL for an invalid type. */
const char	*key_type_alg(enum key_type);

/* Makes a new random signing key (util_random).  Caller frees *out with
 * key_free(). */
enum key_err	 key_new(enum key_type, struct key **out);
/* key_new(KEY_TYPE_K256, out): the repo and rotation key kind. */
enum key_err	 key_new_k256(struct key **out);
/* Loads a signing key from its 32 raw big-endian bytes (len must be 32;
 * the scalar must be in [1, n-1]).  Does not keep priv.  Caller frees
 * *out with key_free(). */
enum key_err	 key_load_raw(enum key_type, const uint8_t *priv, size_t len,
		    struct key **out);
enum key_err	 key_load_k256_raw(const uint8_t *priv, size_t len,
		    struct key **out);
/* As key_load_raw from exactly 64 hex digits (either case), e.g.
 * PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX.  Wipes its scratch copy. */
enum key_err	 key_load_hex(enum key_type, const char *hex, size_t len,
		    struct key **out);
/* Public-only key from SEC1 bytes: 33 (compressed, 0x02/0x03) or 65
 * (uncompressed, 0x04) bytes; the point must be on the curve.  Caller
 * frees *out with key_free(). */
enum key_err	 key_load_pub(enum key_type, const uint8_t *pub, size_t len,
		    struct key **out);
/* Public-only key from "did:key:z..." (the whole of (s, len)), curve from
 * the multicodec prefix.  Caller frees *out with key_free(). */
enum key_err	 key_parse_did(const char *s, size_t len, struct key **out);
/* Public-only key from a multikey "z..." (with multicodec prefix). */
enum key_err	 key_parse_multikey(const char *s, size_t len,
		    struct key **out);
/* Public-only key from legacy multibase "z..." of the bare 33- or 65-byte
 * key, whose curve the caller names. */
enum key_err	 key_parse_multibase(enum key_type, const char *s, size_t len,
		    struct key **out);
/* Public-only key from a DID-document verification method: vmtype is
 * "Multikey", "EcdsaSecp256k1VerificationKey2019" or
 * "EcdsaSecp256r1VerificationKey2019" and mb its publicKeyMultibase
 * (@atproto/identity getDidKeyFromMultibase; only base58btc 'z').
 * Unknown vmtype gives KEY_ERR_CODEC. */
enum key_err	 key_parse_vm(const char *vmtype, size_t typelen,
		    const char *mb, size_t mblen, struct key **out);
/* Wipes and releases a key.  Accepts NULL. */
void		 key_free(struct key *);

enum key_type	 key_get_type(const struct key *);
/* 1 when k holds a private key, else 0. */
int		 key_has_priv(const struct key *);
/* Copies the compressed public key into out. */
void		 key_pub_get(const struct key *, uint8_t out[KEY_PUB_LEN]);
/* Writes the uncompressed public key (0x04 || X || Y) into out. */
void		 key_pub_full(const struct key *,
		    uint8_t out[KEY_PUB_FULL_LEN]);
/* Exports the private scalar; the caller wipes out after use. */
enum key_err	 key_priv_get(const struct key *, uint8_t out[KEY_PRIV_LEN]);
/* As key_priv_get in lowercase hex, NUL-terminated. */
enum key_err	 key_priv_hex(const struct key *, char out[KEY_PRIV_HEX_LEN]);
/* Writes "did:key:z..." (NUL-terminated) into out. */
void		 key_did(const struct key *, char out[KEY_DID_LEN]);
/* Writes the multikey "z..." (with multicodec prefix) into out. */
void		 key_multikey(const struct key *, char out[KEY_MULTIKEY_LEN]);
/* Writes legacy "z" + base58btc(compressed key), no prefix. */
void		 key_multibase(const struct key *, char out[KEY_MULTIKEY_LEN]);
/* 1 when both keys have the same type and public key. */
int		 key_pub_equal(const struct key *, const struct key *);

/* Signs a 32-byte digest: compact low-S r||s into sig.  k256 nonces are
 * RFC 6979 (libsecp256k1); p256 nonces come from OpenSSL's RNG. */
enum key_err	 key_sign_digest(const struct key *,
		    const uint8_t digest[KEY_DIGEST_LEN],
		    uint8_t sig[KEY_SIG_LEN]);
/* Signs SHA-256(msg, len), as @atproto/crypto Keypair.sign(). */
enum key_err	 key_sign(const struct key *, const void *msg, size_t len,
		    uint8_t sig[KEY_SIG_LEN]);
/* Verifies (sig, siglen) over a digest.  KEY_OK only for a valid
 * signature; otherwise the reason (SIG_FORMAT, SIG_RANGE, SIG_HIGH_S,
 * SIG_BAD).  flags: 0 for atproto's strict rules or KEY_VERIFY_MALLEABLE. */
enum key_err	 key_verify_digest(const struct key *,
		    const uint8_t digest[KEY_DIGEST_LEN], const uint8_t *sig,
		    size_t siglen, int flags);
/* Verifies (sig, siglen) over SHA-256(msg, len). */
enum key_err	 key_verify(const struct key *, const void *msg, size_t len,
		    const uint8_t *sig, size_t siglen, int flags);
/* Parses the did:key (didkey, didlen) and verifies strictly, as
 * @atproto/crypto verifySignature() without options. */
enum key_err	 key_verify_did(const char *didkey, size_t didlen,
		    const void *msg, size_t len, const uint8_t *sig,
		    size_t siglen);

/* SHA-256 of (p, len) into out. */
void		 key_sha256(const void *p, size_t len,
		    uint8_t out[KEY_DIGEST_LEN]);

#endif /* PDS_KEYS_H */
