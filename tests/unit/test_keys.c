/*
 * test_keys.c: keys.c against the atproto interop crypto vectors
 * (../shared/interop/crypto: signature-fixtures.json, w3c_didkey_K256.json,
 * w3c_didkey_P256.json), plus round trips and malformed input.
 */
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "t.h"
#include "enc.h"
#include "keys.h"
#include "util.h"

static json_t *
load_json(const char *name)
{
	char		 path[1024];
	json_error_t	 je;
	json_t		*j;

	if (snprintf(path, sizeof(path), "%s/crypto/%s", t_interop_path(),
	    name) >= (int)sizeof(path))
		return NULL;
	if ((j = json_load_file(path, 0, &je)) == NULL)
		fprintf(stderr, "FAIL %s: %s\n", path, je.text);
	T_OK(j != NULL && json_is_array(j), "cannot load %s", path);
	return j;
}

static const char *
jstr(const json_t *o, const char *k)
{
	const char	*s = json_string_value(json_object_get(o, k));

	return s != NULL ? s : "";
}

/* Standard base64, unpadded (interop README). */
static ssize_t
b64(const char *s, uint8_t *out, size_t outsz)
{
	return enc_b64_decode(ENC_B64_STD, s, strlen(s), out, outsz);
}

static int
has_tag(const json_t *v, const char *tag)
{
	json_t	*t;
	size_t	 i;

	json_array_foreach(json_object_get(v, "tags"), i, t)
		if (json_is_string(t) && strcmp(json_string_value(t), tag) == 0)
			return 1;
	return 0;
}

static void
test_sig_fixture(const json_t *v)
{
	uint8_t		 msg[256], sig[256];
	ssize_t		 mlen, slen;
	struct key	*k = NULL, *k2 = NULL;
	char		 did[KEY_DID_LEN], mb[KEY_MULTIKEY_LEN];
	const char	*d = jstr(v, "publicKeyDid");
	enum key_type	 want;
	enum key_err	 e, expect;
	int		 valid = json_is_true(json_object_get(v, "validSignature"));

	want = strcmp(jstr(v, "algorithm"), "ES256") == 0 ? KEY_TYPE_P256 :
	    KEY_TYPE_K256;
	mlen = b64(jstr(v, "messageBase64"), msg, sizeof(msg));
	slen = b64(jstr(v, "signatureBase64"), sig, sizeof(sig));
	T_OK(mlen > 0 && slen > 0, "base64 in %s", jstr(v, "comment"));
	if (mlen <= 0 || slen <= 0)
		return;
	T_EQ_INT(key_parse_did(d, strlen(d), &k), KEY_OK);
	if (k == NULL)
		return;
	T_EQ_INT(key_get_type(k), want);
	T_EQ_STR(key_type_alg(key_get_type(k)), jstr(v, "algorithm"));
	key_did(k, did);
	T_EQ_STR(did, d);
	/* publicKeyMultibase: "z" + base58btc(compressed key), no prefix. */
	key_multibase(k, mb);
	T_EQ_STR(mb, jstr(v, "publicKeyMultibase"));
	T_EQ_INT(key_parse_vm(jstr(v, "didDocSuite"),
	    strlen(jstr(v, "didDocSuite")), mb, strlen(mb), &k2), KEY_OK);
	T_OK(k2 != NULL && key_pub_equal(k, k2), "vm key differs");
	key_free(k2);

	expect = valid ? KEY_OK : has_tag(v, "high-s") ? KEY_ERR_SIG_HIGH_S :
	    has_tag(v, "der-encoded") ? KEY_ERR_SIG_FORMAT : KEY_ERR_SIG_BAD;
	e = key_verify(k, msg, (size_t)mlen, sig, (size_t)slen, 0);
	T_OK(e == expect, "%s: got %s", jstr(v, "comment"), key_err_str(e));
	e = key_verify_did(d, strlen(d), msg, (size_t)mlen, sig, (size_t)slen);
	T_EQ_INT(e, expect);
	/* The refused ones are mathematically valid: the lenient mode
	 * (xrpc-server allowMalleableSig) must accept them. */
	T_EQ_INT(key_verify(k, msg, (size_t)mlen, sig, (size_t)slen,
	    KEY_VERIFY_MALLEABLE), KEY_OK);
	/* A different message must fail in both modes. */
	msg[0] ^= 1;
	T_EQ_INT(key_verify(k, msg, (size_t)mlen, sig, (size_t)slen,
	    KEY_VERIFY_MALLEABLE), KEY_ERR_SIG_BAD);
	key_free(k);
}

static void
test_sig_fixtures(void)
{
	json_t	*a, *v;
	size_t	 i, n = 0;

	if ((a = load_json("signature-fixtures.json")) == NULL)
		return;
	json_array_foreach(a, i, v) {
		test_sig_fixture(v);
		n++;
	}
	T_EQ_INT(n, 6);
	printf("signature-fixtures.json: %zu vectors\n", n);
	json_decref(a);
}

static void
test_didkey_file(const char *name, enum key_type t, const char *field)
{
	json_t		*a, *v;
	struct key	*k = NULL, *p = NULL;
	uint8_t		 priv[64], pub1[KEY_PUB_LEN], pub2[KEY_PUB_LEN];
	char		 did[KEY_DID_LEN];
	const char	*s, *d;
	ssize_t		 n;
	size_t		 i, cnt = 0;

	if ((a = load_json(name)) == NULL)
		return;
	json_array_foreach(a, i, v) {
		s = jstr(v, field);
		d = jstr(v, "publicDidKey");
		n = t == KEY_TYPE_K256 ?
		    enc_hex_decode(s, strlen(s), priv, sizeof(priv)) :
		    enc_b58_decode(s, strlen(s), priv, sizeof(priv));
		T_EQ_INT(n, KEY_PRIV_LEN);
		T_EQ_INT(key_load_raw(t, priv, (size_t)n, &k), KEY_OK);
		if (k == NULL)
			continue;
		key_did(k, did);
		T_EQ_STR(did, d);
		/* Reverse: the did:key decodes to the derived key. */
		T_EQ_INT(key_parse_did(d, strlen(d), &p), KEY_OK);
		if (p != NULL) {
			T_EQ_INT(key_get_type(p), t);
			T_EQ_INT(key_has_priv(p), 0);
			key_pub_get(k, pub1);
			key_pub_get(p, pub2);
			T_EQ_MEM(pub1, sizeof(pub1), pub2, sizeof(pub2));
		}
		if (t == KEY_TYPE_K256) {
			key_free(p);
			p = NULL;
			T_EQ_INT(key_load_hex(t, s, strlen(s), &p), KEY_OK);
			T_OK(p != NULL && key_pub_equal(k, p), "hex load");
		}
		key_free(p);
		key_free(k);
		p = k = NULL;
		cnt++;
	}
	T_OK(cnt > 0, "%s empty", name);
	printf("%s: %zu vectors\n", name, cnt);
	util_wipe(priv, sizeof(priv));
	json_decref(a);
}

static void
test_roundtrip(enum key_type t)
{
	struct key	*k = NULL, *p = NULL, *h = NULL;
	uint8_t		 sig[KEY_SIG_LEN], sig2[KEY_SIG_LEN], bad[KEY_SIG_LEN];
	uint8_t		 pub[KEY_PUB_LEN], full[KEY_PUB_FULL_LEN];
	uint8_t		 priv[KEY_PRIV_LEN];
	char		 hex[KEY_PRIV_HEX_LEN], did[KEY_DID_LEN];
	char		 mk[KEY_MULTIKEY_LEN], mb[KEY_MULTIKEY_LEN];
	static const char msg[] = "hello atproto";
	int		 i;

	T_EQ_INT(key_new(t, &k), KEY_OK);
	if (k == NULL)
		return;
	for (i = 0; i < 32; i++) {
		T_EQ_INT(key_sign(k, msg, sizeof(msg) - 1, sig), KEY_OK);
		T_EQ_INT(key_verify(k, msg, sizeof(msg) - 1, sig, sizeof(sig),
		    0), KEY_OK);
	}
	/* Export and reload (raw and hex) give the same public key. */
	T_EQ_INT(key_priv_get(k, priv), KEY_OK);
	T_EQ_INT(key_priv_hex(k, hex), KEY_OK);
	T_EQ_INT(strlen(hex), 64);
	T_EQ_INT(key_load_hex(t, hex, 64, &h), KEY_OK);
	T_OK(h != NULL && key_pub_equal(k, h), "hex reload");
	key_free(h);
	h = NULL;
	T_EQ_INT(key_load_raw(t, priv, sizeof(priv), &h), KEY_OK);
	T_OK(h != NULL && key_pub_equal(k, h), "raw reload");
	key_free(h);
	h = NULL;
	util_wipe(priv, sizeof(priv));
	util_wipe(hex, sizeof(hex));
	/* Public forms: did:key, multikey, legacy multibase, SEC1 bytes. */
	key_did(k, did);
	T_EQ_INT(strncmp(did, t == KEY_TYPE_K256 ? "did:key:zQ3s" :
	    "did:key:zDna", 12), 0);
	key_multikey(k, mk);
	T_EQ_STR(did + 8, mk);
	T_EQ_INT(key_parse_multikey(mk, strlen(mk), &p), KEY_OK);
	T_OK(p != NULL && key_pub_equal(k, p), "multikey");
	T_EQ_INT(key_verify(p, msg, sizeof(msg) - 1, sig, sizeof(sig), 0),
	    KEY_OK);
	T_EQ_INT(key_sign(p, msg, 1, sig2), KEY_ERR_NO_PRIV);
	T_EQ_INT(key_priv_get(p, priv), KEY_ERR_NO_PRIV);
	key_free(p);
	p = NULL;
	key_multibase(k, mb);
	T_EQ_INT(key_parse_multibase(t, mb, strlen(mb), &p), KEY_OK);
	T_OK(p != NULL && key_pub_equal(k, p), "multibase");
	key_free(p);
	p = NULL;
	key_pub_get(k, pub);
	key_pub_full(k, full);
	T_EQ_INT(full[0], 4);
	T_EQ_INT(key_load_pub(t, full, sizeof(full), &p), KEY_OK);
	T_OK(p != NULL && key_pub_equal(k, p), "uncompressed load");
	key_free(p);
	p = NULL;
	T_EQ_INT(key_verify_did(did, strlen(did), msg, sizeof(msg) - 1, sig,
	    sizeof(sig)), KEY_OK);
	/* Tampering. */
	T_EQ_INT(key_verify(k, msg, sizeof(msg) - 2, sig, sizeof(sig), 0),
	    KEY_ERR_SIG_BAD);
	memcpy(bad, sig, sizeof(bad));
	bad[5] ^= 0x40;
	T_OK(key_verify(k, msg, sizeof(msg) - 1, bad, sizeof(bad), 0) !=
	    KEY_OK, "flipped r bit accepted");
	T_EQ_INT(key_verify(k, msg, sizeof(msg) - 1, sig, 63, 0),
	    KEY_ERR_SIG_FORMAT);
	T_EQ_INT(key_verify(k, msg, sizeof(msg) - 1, NULL, 0, 0),
	    KEY_ERR_SIG_FORMAT);
	/* r = 0, s = 0 and r = n are out of range. */
	memset(bad, 0, 32);
	memcpy(bad + 32, sig + 32, 32);
	T_EQ_INT(key_verify(k, msg, sizeof(msg) - 1, bad, 64, 0),
	    KEY_ERR_SIG_RANGE);
	memcpy(bad, sig, 32);
	memset(bad + 32, 0, 32);
	T_EQ_INT(key_verify(k, msg, sizeof(msg) - 1, bad, 64, 0),
	    KEY_ERR_SIG_RANGE);
	memset(bad, 0xff, 64);
	T_EQ_INT(key_verify(k, msg, sizeof(msg) - 1, bad, 64, 0),
	    KEY_ERR_SIG_RANGE);
	/* Cross-key: another key's valid signature is refused. */
	T_EQ_INT(key_new(t, &h), KEY_OK);
	if (h != NULL)
		T_EQ_INT(key_verify(h, msg, sizeof(msg) - 1, sig, sizeof(sig),
		    0), KEY_ERR_SIG_BAD);
	key_free(h);
	key_free(k);
}

/* key_sign always produces low-S, and n - s (high-S) of a valid
 * signature is refused strictly but accepted leniently. */
static void
test_low_s(enum key_type t, const uint8_t *n)
{
	struct key	*k = NULL;
	uint8_t		 sig[KEY_SIG_LEN], hi[KEY_SIG_LEN];
	char		 msg[32];
	int		 i, j, borrow, d, highs = 0;

	T_EQ_INT(key_new(t, &k), KEY_OK);
	if (k == NULL)
		return;
	for (i = 0; i < 64; i++) {
		(void)snprintf(msg, sizeof(msg), "message %d", i);
		T_EQ_INT(key_sign(k, msg, strlen(msg), sig), KEY_OK);
		/* s <= n/2 means the top bit of s is clear or s is just
		 * under; checking via n - s > s is exact. */
		memcpy(hi, sig, 32);
		for (j = 31, borrow = 0; j >= 0; j--) {
			d = (int)n[j] - (int)sig[32 + j] - borrow;
			borrow = d < 0;
			hi[32 + j] = (uint8_t)(d + (borrow ? 256 : 0));
		}
		if (memcmp(hi + 32, sig + 32, 32) > 0)
			highs++;
		T_EQ_INT(key_verify(k, msg, strlen(msg), hi, 64, 0),
		    KEY_ERR_SIG_HIGH_S);
		T_EQ_INT(key_verify(k, msg, strlen(msg), hi, 64,
		    KEY_VERIFY_MALLEABLE), KEY_OK);
	}
	T_EQ_INT(highs, 64);
	key_free(k);
}

static void
test_k256_deterministic(void)
{
	static const uint8_t	priv[32] = { [31] = 1 };
	struct key		*k = NULL;
	uint8_t			 s1[64], s2[64];

	T_EQ_INT(key_load_k256_raw(priv, sizeof(priv), &k), KEY_OK);
	if (k == NULL)
		return;
	T_EQ_INT(key_sign(k, "x", 1, s1), KEY_OK);
	T_EQ_INT(key_sign(k, "x", 1, s2), KEY_OK);
	T_EQ_MEM(s1, 64, s2, 64);	/* RFC 6979 */
	key_free(k);
}

static void
test_bad_priv(void)
{
	static const uint8_t	zero[32];
	static const uint8_t	ones[32] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	/* The group orders themselves. */
	static const char *const orders[KEY_TYPE__MAX] = {
	    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141",
	    "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551",
	};
	static const char *const below[KEY_TYPE__MAX] = {
	    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364140",
	    "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632550",
	};
	struct key	*k = NULL;
	int		 t;

	for (t = 0; t < KEY_TYPE__MAX; t++) {
		T_EQ_INT(key_load_raw(t, zero, 32, &k), KEY_ERR_PRIV);
		T_EQ_INT(key_load_raw(t, ones, 32, &k), KEY_ERR_PRIV);
		T_EQ_INT(key_load_raw(t, ones, 31, &k), KEY_ERR_PRIV);
		T_EQ_INT(key_load_raw(t, ones, 33, &k), KEY_ERR_PRIV);
		T_EQ_INT(key_load_hex(t, orders[t], 64, &k), KEY_ERR_PRIV);
		T_EQ_INT(key_load_hex(t, below[t], 64, &k), KEY_OK);
		key_free(k);
		k = NULL;
		T_EQ_INT(key_load_hex(t, below[t], 63, &k), KEY_ERR_PRIV);
		T_EQ_INT(key_load_hex(t, "zz", 2, &k), KEY_ERR_PRIV);
		T_EQ_INT(key_load_hex(t,
		    "g085d2bef69286a6cbb51623c8fa258629945cd55ca705cc4e66700396894e0c",
		    64, &k), KEY_ERR_PRIV);
		T_OK(k == NULL, "out set on error");
	}
	T_EQ_INT(key_load_raw(KEY_TYPE__MAX, ones, 32, &k), KEY_ERR_CODEC);
	key_free(NULL);
}

/* Encodes "did:key:z" + base58(prefix || body). */
static void
mkdid(char *out, size_t outsz, const uint8_t *b, size_t n)
{
	memcpy(out, "did:key:z", 9);
	if (enc_b58_encode(b, n, out + 9, outsz - 9) == 0)
		out[0] = '\0';
}

static void
test_bad_did(void)
{
	static const char *const bad[] = {
		"", "did:key:", "did:key:z", "did:key:zQ3sh",
		"did:plc:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme",
		"did:key:Q3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme",
		"did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBm",
		"did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBmee",
		"did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYB0e",
		"did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBOe",
		"did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme ",
		" did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme",
		"DID:KEY:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme",
		/* ed25519 (0xed 0x01) is not an atproto key type */
		"did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
	};
	char		 did[600];
	uint8_t		 b[80];
	struct key	*k = NULL;
	size_t		 i;
	enum key_err	 e;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		e = key_parse_did(bad[i], strlen(bad[i]), &k);
		T_OK(e != KEY_OK && k == NULL, "accepted \"%s\"", bad[i]);
	}
	/* Embedded NUL. */
	T_OK(key_parse_did("did:key:z\0Q3sh", 14, &k) != KEY_OK, "NUL");
	/* Over LIM_DIDKEY_LEN. */
	memset(did, 'z', sizeof(did));
	memcpy(did, "did:key:", 8);
	T_EQ_INT(key_parse_did(did, sizeof(did), &k), KEY_ERR_ENCODING);

	/* Valid prefix, wrong lengths and invalid points. */
	memset(b, 0x11, sizeof(b));
	b[0] = 0xe7;
	b[1] = 0x01;
	b[2] = 0x02;
	memset(b + 3, 0xff, 32);	/* x >= p: not a field element */
	mkdid(did, sizeof(did), b, 35);
	T_EQ_INT(key_parse_did(did, strlen(did), &k), KEY_ERR_PUB);
	b[2] = 0x04;			/* uncompressed tag, 33 bytes */
	memset(b + 3, 0x11, 32);
	mkdid(did, sizeof(did), b, 35);
	T_EQ_INT(key_parse_did(did, strlen(did), &k), KEY_ERR_PUB);
	b[2] = 0x05;
	mkdid(did, sizeof(did), b, 35);
	T_EQ_INT(key_parse_did(did, strlen(did), &k), KEY_ERR_PUB);
	mkdid(did, sizeof(did), b, 34);
	T_EQ_INT(key_parse_did(did, strlen(did), &k), KEY_ERR_ENCODING);
	mkdid(did, sizeof(did), b, 36);
	T_EQ_INT(key_parse_did(did, strlen(did), &k), KEY_ERR_ENCODING);
	b[0] = 0x80;
	b[1] = 0x24;
	b[2] = 0x03;
	memset(b + 3, 0xff, 32);
	mkdid(did, sizeof(did), b, 35);
	T_EQ_INT(key_parse_did(did, strlen(did), &k), KEY_ERR_PUB);
	/* P-256 uncompressed inside a multikey: atproto wants 33 bytes. */
	b[2] = 0x04;
	mkdid(did, sizeof(did), b, 67);
	T_EQ_INT(key_parse_did(did, strlen(did), &k), KEY_ERR_ENCODING);
	b[0] = 0x12;			/* unknown codec */
	b[1] = 0x00;
	mkdid(did, sizeof(did), b, 35);
	T_EQ_INT(key_parse_did(did, strlen(did), &k), KEY_ERR_CODEC);
	/* Hybrid (0x06/0x07) SEC1 points are refused. */
	memset(b, 0x07, 65);
	T_EQ_INT(key_load_pub(KEY_TYPE_K256, b, 65, &k), KEY_ERR_PUB);
	T_EQ_INT(key_parse_vm("JsonWebKey2020", 14, "z", 1, &k),
	    KEY_ERR_CODEC);
	T_EQ_INT(key_parse_multibase(KEY_TYPE_K256, "f00", 3, &k),
	    KEY_ERR_ENCODING);
	T_OK(k == NULL, "out set on error");
}

int
main(void)
{
	static const uint8_t k256_n[32] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
		0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b,
		0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41 };
	static const uint8_t p256_n[32] = {
		0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84,
		0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51 };

	test_sig_fixtures();
	test_didkey_file("w3c_didkey_K256.json", KEY_TYPE_K256,
	    "privateKeyBytesHex");
	test_didkey_file("w3c_didkey_P256.json", KEY_TYPE_P256,
	    "privateKeyBytesBase58");
	test_roundtrip(KEY_TYPE_K256);
	test_roundtrip(KEY_TYPE_P256);
	test_low_s(KEY_TYPE_K256, k256_n);
	test_low_s(KEY_TYPE_P256, p256_n);
	test_k256_deterministic();
	test_bad_priv();
	test_bad_did();
	T_EQ_STR(key_err_str(KEY_ERR__MAX), "unknown key error");
	T_OK(key_type_alg(KEY_TYPE__MAX) == NULL, "alg of bad type");
	return t_done("keys");
}
