/*
 * keys.c: atproto keys (secp256k1, P-256), did:key / multibase forms and
 * compact low-S ECDSA.  atproto.com/specs/cryptography.
 *
 * secp256k1 goes through libsecp256k1 (RFC 6979 nonces, low-S output,
 * verification that refuses high-S by itself); P-256 goes through
 * OpenSSL 3's EVP interface, which speaks DER, so this file converts to
 * and from 64-byte r||s and enforces low-S itself.  Both curves share one
 * range / low-S check on the compact form before the library is called,
 * so the reason for a refusal is precise and the same for both.
 * Nothing is normalised on input unless the caller passes
 * KEY_VERIFY_MALLEABLE.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/sha.h>
#include <secp256k1.h>

#include "enc.h"
#include "keys.h"
#include "log.h"
#include "pds_limits.h"
#include "util.h"

struct key {
	enum key_type	 type;
	int		 has_priv;
	uint8_t		 priv[KEY_PRIV_LEN];
	uint8_t		 pub[KEY_PUB_LEN];		/* compressed */
	uint8_t		 pubfull[KEY_PUB_FULL_LEN];	/* uncompressed */
	secp256k1_pubkey k1pub;		/* k256: parsed public key */
	EVP_PKEY	*pkey;		/* p256: public (+ private) key */
};

/* Group orders n and floor(n/2), big-endian (SEC 2 v2, 2.4.1 and 2.7.1). */
static const uint8_t k256_n[32] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
	0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b,
	0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41 };
static const uint8_t k256_half[32] = {
	0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d,
	0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0 };
static const uint8_t p256_n[32] = {
	0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84,
	0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51 };
static const uint8_t p256_half[32] = {
	0x7f, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00,
	0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xde, 0x73, 0x7d, 0x56, 0xd3, 0x8b, 0xcf, 0x42,
	0x79, 0xdc, 0xe5, 0x61, 0x7e, 0x31, 0x92, 0xa8 };

/* Per-type table, indexed by enum key_type. */
static const struct {
	const char	*alg;		/* JWT alg */
	const char	*vmtype;	/* legacy DID-doc verification type */
	uint8_t		 codec[2];	/* multicodec varint */
	const uint8_t	*n, *half;
} key_info[KEY_TYPE__MAX] = {
	/* KEY_TYPE_K256 */
	{ "ES256K", "EcdsaSecp256k1VerificationKey2019", { 0xe7, 0x01 },
	  k256_n, k256_half },
	/* KEY_TYPE_P256 */
	{ "ES256", "EcdsaSecp256r1VerificationKey2019", { 0x80, 0x24 },
	  p256_n, p256_half },
};

static const char *const key_errs[KEY_ERR__MAX] = {
	[KEY_OK] = "ok",
	[KEY_ERR_PRIV] = "malformed or out-of-range private key",
	[KEY_ERR_PUB] = "public key is not a valid curve point",
	[KEY_ERR_ENCODING] = "malformed did:key or multibase key",
	[KEY_ERR_CODEC] = "unsupported key type",
	[KEY_ERR_TYPE] = "key type does not match",
	[KEY_ERR_NO_PRIV] = "key has no private part",
	[KEY_ERR_SIG_FORMAT] = "signature is not 64-byte compact r||s",
	[KEY_ERR_SIG_RANGE] = "signature r or s out of range",
	[KEY_ERR_SIG_HIGH_S] = "signature is not low-S",
	[KEY_ERR_SIG_BAD] = "signature does not verify",
	[KEY_ERR_NOMEM] = "out of memory",
	[KEY_ERR_CRYPTO] = "crypto library failure",
};

#define DIDKEY_PREFIX		"did:key:"
#define DIDKEY_PREFIX_LEN	(sizeof(DIDKEY_PREFIX) - 1)
#define DER_SIG_MAX		72	/* SEQUENCE of two 33-byte INTEGERs */
#define KEY_NEW_TRIES		16	/* random scalars tried by key_new */

static pthread_once_t	 keys_once = PTHREAD_ONCE_INIT;
static secp256k1_context *k1ctx;	/* randomised; shared read-only */
static EC_GROUP		*p256grp;
static int		 keys_ok;

static void
keys_init_once(void)
{
	uint8_t	seed[32];

	k1ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
	p256grp = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	if (k1ctx == NULL || p256grp == NULL) {
		log_error("%s: cannot set up secp256k1 / P-256", __func__);
		return;
	}
	/* Side-channel blinding for signing (libsecp256k1 README). */
	if (util_random(seed, sizeof(seed)) == -1 ||
	    !secp256k1_context_randomize(k1ctx, seed)) {
		util_wipe(seed, sizeof(seed));
		log_error("%s: cannot randomise the secp256k1 context",
		    __func__);
		return;
	}
	util_wipe(seed, sizeof(seed));
	keys_ok = 1;
}

static enum key_err
keys_ready(void)
{
	if (pthread_once(&keys_once, keys_init_once) != 0 || !keys_ok)
		return KEY_ERR_CRYPTO;
	return KEY_OK;
}

const char *
key_err_str(enum key_err e)
{
	if ((unsigned)e >= KEY_ERR__MAX)
		return "unknown key error";
	return key_errs[e];
}

const char *
key_type_alg(enum key_type t)
{
	if ((unsigned)t >= KEY_TYPE__MAX)
		return NULL;
	return key_info[t].alg;
}

void
key_sha256(const void *p, size_t len, uint8_t out[KEY_DIGEST_LEN])
{
	(void)SHA256(p, len, out);
}

/* ---- 256-bit big-endian helpers ------------------------------------ */

static int
be32_is_zero(const uint8_t *a)
{
	uint8_t	acc = 0;
	size_t	i;

	for (i = 0; i < 32; i++)
		acc |= a[i];
	return acc == 0;
}

/* out = n - a, for a < n (all 32 bytes big-endian). */
static void
be32_sub(const uint8_t *n, const uint8_t *a, uint8_t *out)
{
	int	borrow = 0, d, i;

	for (i = 31; i >= 0; i--) {
		d = (int)n[i] - (int)a[i] - borrow;
		borrow = d < 0;
		out[i] = (uint8_t)(d + (borrow ? 256 : 0));
	}
}

/* 1 when the scalar is in [1, n-1]. */
static int
scalar_ok(enum key_type t, const uint8_t *a)
{
	return !be32_is_zero(a) && memcmp(a, key_info[t].n, 32) < 0;
}

/* ---- P-256 through OpenSSL ----------------------------------------- */

/* Decodes a SEC1 point (33 or 65 bytes, prefix already checked) and
 * writes both encodings.  The point must be on the curve. */
static enum key_err
p256_point_load(const uint8_t *in, size_t len, uint8_t pub[KEY_PUB_LEN],
    uint8_t full[KEY_PUB_FULL_LEN])
{
	EC_POINT	*pt = NULL;
	enum key_err	 rc = KEY_ERR_PUB;

	if ((pt = EC_POINT_new(p256grp)) == NULL)
		return KEY_ERR_NOMEM;
	if (EC_POINT_oct2point(p256grp, pt, in, len, NULL) != 1 ||
	    EC_POINT_is_at_infinity(p256grp, pt) ||
	    EC_POINT_is_on_curve(p256grp, pt, NULL) != 1)
		goto out;
	rc = KEY_ERR_CRYPTO;
	if (EC_POINT_point2oct(p256grp, pt, POINT_CONVERSION_COMPRESSED, pub,
	    KEY_PUB_LEN, NULL) != KEY_PUB_LEN ||
	    EC_POINT_point2oct(p256grp, pt, POINT_CONVERSION_UNCOMPRESSED,
	    full, KEY_PUB_FULL_LEN, NULL) != KEY_PUB_FULL_LEN)
		goto out;
	rc = KEY_OK;
out:
	EC_POINT_free(pt);
	return rc;
}

/* Computes the public point of a P-256 scalar (already range-checked). */
static enum key_err
p256_pub_derive(const uint8_t *priv, uint8_t pub[KEY_PUB_LEN],
    uint8_t full[KEY_PUB_FULL_LEN])
{
	BIGNUM		*d = NULL;
	EC_POINT	*pt = NULL;
	enum key_err	 rc = KEY_ERR_NOMEM;

	if ((d = BN_secure_new()) == NULL ||
	    (pt = EC_POINT_new(p256grp)) == NULL)
		goto out;
	rc = KEY_ERR_CRYPTO;
	if (BN_bin2bn(priv, KEY_PRIV_LEN, d) == NULL ||
	    EC_POINT_mul(p256grp, pt, d, NULL, NULL, NULL) != 1 ||
	    EC_POINT_point2oct(p256grp, pt, POINT_CONVERSION_COMPRESSED, pub,
	    KEY_PUB_LEN, NULL) != KEY_PUB_LEN ||
	    EC_POINT_point2oct(p256grp, pt, POINT_CONVERSION_UNCOMPRESSED,
	    full, KEY_PUB_FULL_LEN, NULL) != KEY_PUB_FULL_LEN)
		goto out;
	rc = KEY_OK;
out:
	EC_POINT_free(pt);
	BN_clear_free(d);
	return rc;
}

/* Builds k->pkey from k->pubfull and, when k->has_priv, k->priv. */
static enum key_err
p256_pkey_make(struct key *k)
{
	OSSL_PARAM_BLD	*bld = NULL;
	OSSL_PARAM	*params = NULL;
	EVP_PKEY_CTX	*ctx = NULL;
	BIGNUM		*d = NULL;
	enum key_err	 rc = KEY_ERR_CRYPTO;

	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    SN_X9_62_prime256v1, 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
	    k->pubfull, KEY_PUB_FULL_LEN) != 1)
		goto out;
	if (k->has_priv) {
		/* A secure BIGNUM makes the param block cleared on free. */
		if ((d = BN_secure_new()) == NULL ||
		    BN_bin2bn(k->priv, KEY_PRIV_LEN, d) == NULL ||
		    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY,
		    d) != 1)
			goto out;
	}
	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &k->pkey, k->has_priv ? EVP_PKEY_KEYPAIR :
	    EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto out;
	rc = KEY_OK;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_clear_free(d);
	return rc;
}

/* Writes BIGNUMs r and s as 32-byte big-endian halves of sig. */
static int
bn_pair_write(const BIGNUM *r, const BIGNUM *s, uint8_t sig[KEY_SIG_LEN])
{
	if (BN_num_bytes(r) > 32 || BN_num_bytes(s) > 32 ||
	    BN_bn2binpad(r, sig, 32) != 32 ||
	    BN_bn2binpad(s, sig + 32, 32) != 32)
		return -1;
	return 0;
}

static enum key_err
p256_sign(const struct key *k, const uint8_t *digest, uint8_t sig[KEY_SIG_LEN])
{
	EVP_PKEY_CTX		*ctx = NULL;
	ECDSA_SIG		*es = NULL;
	uint8_t			 der[DER_SIG_MAX];
	const unsigned char	*p = der;
	size_t			 derlen = sizeof(der);
	enum key_err		 rc = KEY_ERR_CRYPTO;

	/* Without a signature digest set, EVP signs tbs as the digest. */
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL)) == NULL ||
	    EVP_PKEY_sign_init(ctx) != 1 ||
	    EVP_PKEY_sign(ctx, der, &derlen, digest, KEY_DIGEST_LEN) != 1 ||
	    (es = d2i_ECDSA_SIG(NULL, &p, (long)derlen)) == NULL ||
	    bn_pair_write(ECDSA_SIG_get0_r(es), ECDSA_SIG_get0_s(es),
	    sig) == -1)
		goto out;
	/* Low-S (atproto cryptography spec): s := n - s when s > n/2. */
	if (memcmp(sig + 32, p256_half, 32) > 0)
		be32_sub(p256_n, sig + 32, sig + 32);
	rc = KEY_OK;
out:
	ECDSA_SIG_free(es);
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

/* Verifies a range-checked compact signature. */
static enum key_err
p256_verify(const struct key *k, const uint8_t *digest,
    const uint8_t sig[KEY_SIG_LEN])
{
	EVP_PKEY_CTX	*ctx = NULL;
	ECDSA_SIG	*es = NULL;
	BIGNUM		*r = NULL, *s = NULL;
	uint8_t		 der[DER_SIG_MAX], *p = der;
	int		 derlen, v;
	enum key_err	 rc = KEY_ERR_NOMEM;

	if ((es = ECDSA_SIG_new()) == NULL ||
	    (r = BN_bin2bn(sig, 32, NULL)) == NULL ||
	    (s = BN_bin2bn(sig + 32, 32, NULL)) == NULL)
		goto out;
	if (ECDSA_SIG_set0(es, r, s) != 1)
		goto out;
	r = s = NULL;			/* owned by es now */
	rc = KEY_ERR_CRYPTO;
	if ((derlen = i2d_ECDSA_SIG(es, NULL)) <= 0 ||
	    derlen > (int)sizeof(der) || i2d_ECDSA_SIG(es, &p) != derlen ||
	    (ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL)) == NULL ||
	    EVP_PKEY_verify_init(ctx) != 1)
		goto out;
	v = EVP_PKEY_verify(ctx, der, (size_t)derlen, digest, KEY_DIGEST_LEN);
	rc = v == 1 ? KEY_OK : KEY_ERR_SIG_BAD;
out:
	EVP_PKEY_CTX_free(ctx);
	ECDSA_SIG_free(es);
	BN_free(r);
	BN_free(s);
	return rc;
}

/* ---- secp256k1 through libsecp256k1 -------------------------------- */

/* Writes both encodings of k->k1pub. */
static enum key_err
k256_pub_write(struct key *k)
{
	size_t	n = KEY_PUB_LEN, nf = KEY_PUB_FULL_LEN;

	if (!secp256k1_ec_pubkey_serialize(k1ctx, k->pub, &n, &k->k1pub,
	    SECP256K1_EC_COMPRESSED) || n != KEY_PUB_LEN ||
	    !secp256k1_ec_pubkey_serialize(k1ctx, k->pubfull, &nf, &k->k1pub,
	    SECP256K1_EC_UNCOMPRESSED) || nf != KEY_PUB_FULL_LEN)
		return KEY_ERR_CRYPTO;
	return KEY_OK;
}

static enum key_err
k256_sign(const struct key *k, const uint8_t *digest, uint8_t sig[KEY_SIG_LEN])
{
	secp256k1_ecdsa_signature	s;

	/* NULL noncefp: RFC 6979; the result is always low-S. */
	if (!secp256k1_ecdsa_sign(k1ctx, &s, digest, k->priv, NULL, NULL) ||
	    !secp256k1_ecdsa_signature_serialize_compact(k1ctx, sig, &s))
		return KEY_ERR_CRYPTO;
	return KEY_OK;
}

/* Verifies a range-checked, low-S compact signature.  libsecp256k1 would
 * itself refuse high-S; nothing is normalised here. */
static enum key_err
k256_verify(const struct key *k, const uint8_t *digest,
    const uint8_t sig[KEY_SIG_LEN])
{
	secp256k1_ecdsa_signature	s;

	if (!secp256k1_ecdsa_signature_parse_compact(k1ctx, &s, sig))
		return KEY_ERR_SIG_RANGE;
	if (!secp256k1_ecdsa_verify(k1ctx, &s, digest, &k->k1pub))
		return KEY_ERR_SIG_BAD;
	return KEY_OK;
}

/* ---- key objects ---------------------------------------------------- */

static struct key *
key_alloc(enum key_type t)
{
	struct key	*k;

	if ((k = calloc(1, sizeof(*k))) != NULL)
		k->type = t;
	return k;
}

void
key_free(struct key *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);		/* OpenSSL clears its scalar copy */
	util_wipe(k, sizeof(*k));
	free(k);
}

enum key_err
key_load_raw(enum key_type t, const uint8_t *priv, size_t len,
    struct key **out)
{
	struct key	*k = NULL;
	enum key_err	 rc;

	*out = NULL;
	if ((unsigned)t >= KEY_TYPE__MAX)
		return KEY_ERR_CODEC;
	if ((rc = keys_ready()) != KEY_OK)
		return rc;
	if (priv == NULL || len != KEY_PRIV_LEN || !scalar_ok(t, priv))
		return KEY_ERR_PRIV;
	if ((k = key_alloc(t)) == NULL)
		return KEY_ERR_NOMEM;
	memcpy(k->priv, priv, KEY_PRIV_LEN);
	k->has_priv = 1;
	if (t == KEY_TYPE_P256) {
		if ((rc = p256_pub_derive(k->priv, k->pub, k->pubfull)) !=
		    KEY_OK || (rc = p256_pkey_make(k)) != KEY_OK)
			goto fail;
	} else {
		rc = KEY_ERR_PRIV;
		if (!secp256k1_ec_pubkey_create(k1ctx, &k->k1pub, k->priv) ||
		    (rc = k256_pub_write(k)) != KEY_OK)
			goto fail;
	}
	*out = k;
	return KEY_OK;
fail:
	key_free(k);
	return rc;
}

enum key_err
key_load_k256_raw(const uint8_t *priv, size_t len, struct key **out)
{
	return key_load_raw(KEY_TYPE_K256, priv, len, out);
}

enum key_err
key_load_hex(enum key_type t, const char *hex, size_t len, struct key **out)
{
	uint8_t		priv[KEY_PRIV_LEN];
	enum key_err	rc;

	*out = NULL;
	if (hex == NULL || len != KEY_PRIV_LEN * 2 ||
	    enc_hex_decode(hex, len, priv, sizeof(priv)) != KEY_PRIV_LEN) {
		util_wipe(priv, sizeof(priv));
		return KEY_ERR_PRIV;
	}
	rc = key_load_raw(t, priv, sizeof(priv), out);
	util_wipe(priv, sizeof(priv));
	return rc;
}

enum key_err
key_new(enum key_type t, struct key **out)
{
	uint8_t		priv[KEY_PRIV_LEN];
	enum key_err	rc = KEY_ERR_CRYPTO;
	int		i;

	*out = NULL;
	/* A uniform 256-bit string is out of range with probability
	 * < 2^-32 for both curves; retry a few times, then give up. */
	for (i = 0; i < KEY_NEW_TRIES; i++) {
		if (util_random(priv, sizeof(priv)) == -1) {
			rc = KEY_ERR_CRYPTO;
			break;
		}
		if ((rc = key_load_raw(t, priv, sizeof(priv), out)) !=
		    KEY_ERR_PRIV)
			break;
	}
	util_wipe(priv, sizeof(priv));
	return rc;
}

enum key_err
key_new_k256(struct key **out)
{
	return key_new(KEY_TYPE_K256, out);
}

enum key_err
key_load_pub(enum key_type t, const uint8_t *pub, size_t len,
    struct key **out)
{
	struct key	*k = NULL;
	enum key_err	 rc;

	*out = NULL;
	if ((unsigned)t >= KEY_TYPE__MAX)
		return KEY_ERR_CODEC;
	if ((rc = keys_ready()) != KEY_OK)
		return rc;
	/* Only the plain SEC1 forms; no hybrid (0x06/0x07) encodings. */
	if (pub == NULL ||
	    !((len == KEY_PUB_LEN && (pub[0] == 0x02 || pub[0] == 0x03)) ||
	    (len == KEY_PUB_FULL_LEN && pub[0] == 0x04)))
		return KEY_ERR_PUB;
	if ((k = key_alloc(t)) == NULL)
		return KEY_ERR_NOMEM;
	if (t == KEY_TYPE_P256) {
		if ((rc = p256_point_load(pub, len, k->pub, k->pubfull)) !=
		    KEY_OK || (rc = p256_pkey_make(k)) != KEY_OK)
			goto fail;
	} else {
		rc = KEY_ERR_PUB;
		if (!secp256k1_ec_pubkey_parse(k1ctx, &k->k1pub, pub, len) ||
		    (rc = k256_pub_write(k)) != KEY_OK)
			goto fail;
	}
	*out = k;
	return KEY_OK;
fail:
	key_free(k);
	return rc;
}

/* Decodes "z" + base58btc (the whole of (s, len)) into out; returns the
 * byte count, or -1. */
static ssize_t
mb58_decode(const char *s, size_t len, uint8_t *out, size_t outsz)
{
	if (s == NULL || len < 2 || len > LIM_DIDKEY_LEN || s[0] != 'z')
		return -1;
	return enc_b58_decode(s + 1, len - 1, out, outsz);
}

enum key_err
key_parse_multikey(const char *s, size_t len, struct key **out)
{
	uint8_t	b[2 + KEY_PUB_FULL_LEN];
	ssize_t	n;
	int	t;

	*out = NULL;
	if ((n = mb58_decode(s, len, b, sizeof(b))) == -1)
		return KEY_ERR_ENCODING;
	if (n < 2)
		return KEY_ERR_ENCODING;
	for (t = 0; t < KEY_TYPE__MAX; t++)
		if (memcmp(b, key_info[t].codec, 2) == 0)
			break;
	if (t == KEY_TYPE__MAX)
		return KEY_ERR_CODEC;
	/* atproto: the multikey carries the compressed form only. */
	if (n != 2 + KEY_PUB_LEN)
		return KEY_ERR_ENCODING;
	return key_load_pub((enum key_type)t, b + 2, KEY_PUB_LEN, out);
}

enum key_err
key_parse_did(const char *s, size_t len, struct key **out)
{
	*out = NULL;
	if (s == NULL || len <= DIDKEY_PREFIX_LEN || len > LIM_DIDKEY_LEN ||
	    memcmp(s, DIDKEY_PREFIX, DIDKEY_PREFIX_LEN) != 0)
		return KEY_ERR_ENCODING;
	return key_parse_multikey(s + DIDKEY_PREFIX_LEN,
	    len - DIDKEY_PREFIX_LEN, out);
}

enum key_err
key_parse_multibase(enum key_type t, const char *s, size_t len,
    struct key **out)
{
	uint8_t	b[KEY_PUB_FULL_LEN];
	ssize_t	n;

	*out = NULL;
	if ((n = mb58_decode(s, len, b, sizeof(b))) == -1 ||
	    (n != KEY_PUB_LEN && n != KEY_PUB_FULL_LEN))
		return KEY_ERR_ENCODING;
	return key_load_pub(t, b, (size_t)n, out);
}

static int
str_is(const char *s, size_t len, const char *lit)
{
	return s != NULL && strlen(lit) == len && memcmp(s, lit, len) == 0;
}

enum key_err
key_parse_vm(const char *vmtype, size_t typelen, const char *mb,
    size_t mblen, struct key **out)
{
	int	t;

	*out = NULL;
	if (str_is(vmtype, typelen, "Multikey"))
		return key_parse_multikey(mb, mblen, out);
	for (t = 0; t < KEY_TYPE__MAX; t++)
		if (str_is(vmtype, typelen, key_info[t].vmtype))
			return key_parse_multibase((enum key_type)t, mb, mblen,
			    out);
	return KEY_ERR_CODEC;
}

/* ---- accessors and encoders ---------------------------------------- */

enum key_type
key_get_type(const struct key *k)
{
	return k->type;
}

int
key_has_priv(const struct key *k)
{
	return k->has_priv;
}

void
key_pub_get(const struct key *k, uint8_t out[KEY_PUB_LEN])
{
	memcpy(out, k->pub, KEY_PUB_LEN);
}

void
key_pub_full(const struct key *k, uint8_t out[KEY_PUB_FULL_LEN])
{
	memcpy(out, k->pubfull, KEY_PUB_FULL_LEN);
}

enum key_err
key_priv_get(const struct key *k, uint8_t out[KEY_PRIV_LEN])
{
	if (!k->has_priv)
		return KEY_ERR_NO_PRIV;
	memcpy(out, k->priv, KEY_PRIV_LEN);
	return KEY_OK;
}

enum key_err
key_priv_hex(const struct key *k, char out[KEY_PRIV_HEX_LEN])
{
	if (!k->has_priv)
		return KEY_ERR_NO_PRIV;
	(void)enc_hex_encode(k->priv, KEY_PRIV_LEN, out);
	return KEY_OK;
}

/* "z" + base58btc(p, len) into out (KEY_MULTIKEY_LEN bytes). */
static void
mb58_encode(const uint8_t *p, size_t len, char out[KEY_MULTIKEY_LEN])
{
	out[0] = 'z';
	/* Cannot fail: 35 bytes need at most 48 digits + NUL. */
	if (enc_b58_encode(p, len, out + 1, KEY_MULTIKEY_LEN - 1) == 0)
		out[0] = '\0';
}

void
key_multikey(const struct key *k, char out[KEY_MULTIKEY_LEN])
{
	uint8_t	b[2 + KEY_PUB_LEN];

	memcpy(b, key_info[k->type].codec, 2);
	memcpy(b + 2, k->pub, KEY_PUB_LEN);
	mb58_encode(b, sizeof(b), out);
}

void
key_multibase(const struct key *k, char out[KEY_MULTIKEY_LEN])
{
	mb58_encode(k->pub, KEY_PUB_LEN, out);
}

void
key_did(const struct key *k, char out[KEY_DID_LEN])
{
	memcpy(out, DIDKEY_PREFIX, DIDKEY_PREFIX_LEN);
	key_multikey(k, out + DIDKEY_PREFIX_LEN);
}

int
key_pub_equal(const struct key *a, const struct key *b)
{
	return a->type == b->type &&
	    memcmp(a->pub, b->pub, KEY_PUB_LEN) == 0;
}

/* ---- signatures ------------------------------------------------------ */

enum key_err
key_sign_digest(const struct key *k, const uint8_t digest[KEY_DIGEST_LEN],
    uint8_t sig[KEY_SIG_LEN])
{
	if (!k->has_priv)
		return KEY_ERR_NO_PRIV;
	if (k->type == KEY_TYPE_P256)
		return p256_sign(k, digest, sig);
	return k256_sign(k, digest, sig);
}

enum key_err
key_sign(const struct key *k, const void *msg, size_t len,
    uint8_t sig[KEY_SIG_LEN])
{
	uint8_t	dg[KEY_DIGEST_LEN];

	key_sha256(msg, len, dg);
	return key_sign_digest(k, dg, sig);
}

/* Converts a strict-DER ECDSA signature (re-encoding must give the same
 * bytes) to compact r||s.  Only reached with KEY_VERIFY_MALLEABLE. */
static enum key_err
der_to_compact(const uint8_t *der, size_t len, uint8_t sig[KEY_SIG_LEN])
{
	ECDSA_SIG		*es = NULL;
	const unsigned char	*p = der;
	unsigned char		*re = NULL;
	int			 relen;
	enum key_err		 rc = KEY_ERR_SIG_FORMAT;

	if (len > DER_SIG_MAX ||
	    (es = d2i_ECDSA_SIG(NULL, &p, (long)len)) == NULL ||
	    p != der + len)
		goto out;
	if ((relen = i2d_ECDSA_SIG(es, &re)) <= 0 || (size_t)relen != len ||
	    memcmp(re, der, len) != 0)
		goto out;
	if (BN_is_negative(ECDSA_SIG_get0_r(es)) ||
	    BN_is_negative(ECDSA_SIG_get0_s(es)) ||
	    bn_pair_write(ECDSA_SIG_get0_r(es), ECDSA_SIG_get0_s(es),
	    sig) == -1) {
		rc = KEY_ERR_SIG_RANGE;
		goto out;
	}
	rc = KEY_OK;
out:
	OPENSSL_free(re);
	ECDSA_SIG_free(es);
	return rc;
}

enum key_err
key_verify_digest(const struct key *k, const uint8_t digest[KEY_DIGEST_LEN],
    const uint8_t *sig, size_t siglen, int flags)
{
	uint8_t		 cs[KEY_SIG_LEN];
	const uint8_t	*n = key_info[k->type].n;
	enum key_err	 rc;

	if (sig == NULL)
		return KEY_ERR_SIG_FORMAT;
	if (siglen == KEY_SIG_LEN)
		memcpy(cs, sig, KEY_SIG_LEN);
	else if (!(flags & KEY_VERIFY_MALLEABLE))
		return KEY_ERR_SIG_FORMAT;	/* DER or junk */
	else if ((rc = der_to_compact(sig, siglen, cs)) != KEY_OK)
		return rc;
	/* r, s in [1, n-1] (SEC 1 4.1.4 step 1). */
	if (!scalar_ok(k->type, cs) || !scalar_ok(k->type, cs + 32))
		return KEY_ERR_SIG_RANGE;
	if (memcmp(cs + 32, key_info[k->type].half, 32) > 0) {
		if (!(flags & KEY_VERIFY_MALLEABLE))
			return KEY_ERR_SIG_HIGH_S;
		be32_sub(n, cs + 32, cs + 32);
	}
	if (k->type == KEY_TYPE_P256)
		return p256_verify(k, digest, cs);
	return k256_verify(k, digest, cs);
}

enum key_err
key_verify(const struct key *k, const void *msg, size_t len,
    const uint8_t *sig, size_t siglen, int flags)
{
	uint8_t	dg[KEY_DIGEST_LEN];

	key_sha256(msg, len, dg);
	return key_verify_digest(k, dg, sig, siglen, flags);
}

enum key_err
key_verify_did(const char *didkey, size_t didlen, const void *msg,
    size_t len, const uint8_t *sig, size_t siglen)
{
	struct key	*k = NULL;
	enum key_err	 rc;

	if ((rc = key_parse_did(didkey, didlen, &k)) != KEY_OK)
		return rc;
	rc = key_verify(k, msg, len, sig, siglen, 0);
	key_free(k);
	return rc;
}
