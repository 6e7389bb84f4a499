/*
 * cid.c: CIDv1 as atproto blesses them (atproto.com/specs/data-model,
 * "Link and CID Formats"): version 1, codec dag-cbor (0x71) or raw (0x55),
 * multihash sha2-256 (0x12) with a 32-byte digest; printed as multibase
 * "b" + base32 lower.  Owns hashing (OpenSSL) and the binary/text forms;
 * does not handle CIDv0 or other multibases (refused, not converted).
 */
#include <pthread.h>
#include <string.h>

#include <openssl/evp.h>

#include "cid.h"
#include "enc.h"

#define CID_B32_CHARS	(CID_STR_LEN - 2)	/* base32 of 36 bytes: 58 */

/*
 * OpenSSL 3 fetches the algorithm on every EVP_sha256()/SHA256() call; a
 * pre-fetched EVP_MD and a reused context per thread make small hashes
 * (MST nodes, records) several times cheaper.  Both live until exit.
 */
static pthread_once_t		 sha_once = PTHREAD_ONCE_INIT;
static EVP_MD			*sha_md;
static _Thread_local EVP_MD_CTX	*sha_ctx;

static void
sha_fetch(void)
{
	sha_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

int
cid_sha256(const void *p, size_t len, uint8_t dg[32])
{
	unsigned int	n = 0;

	if (pthread_once(&sha_once, sha_fetch) != 0 || sha_md == NULL)
		return -1;
	if (sha_ctx == NULL && (sha_ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	if (EVP_DigestInit_ex2(sha_ctx, sha_md, NULL) != 1 ||
	    EVP_DigestUpdate(sha_ctx, p, len) != 1 ||
	    EVP_DigestFinal_ex(sha_ctx, dg, &n) != 1 || n != 32)
		return -1;
	return 0;
}

void
cid_from_digest(struct cid *c, uint8_t codec, const uint8_t dg[32])
{
	c->bytes[0] = 0x01;		/* CIDv1 */
	c->bytes[1] = codec;		/* 0x71 and 0x55 are 1-byte varints */
	c->bytes[2] = CID_HASH_SHA256;
	c->bytes[3] = 32;		/* digest length */
	memcpy(c->bytes + 4, dg, 32);
}

int
cid_compute(struct cid *c, uint8_t codec, const void *p, size_t len)
{
	uint8_t	dg[32];

	if (cid_sha256(p, len, dg) == -1) {
		memset(c, 0, sizeof(*c));
		return -1;
	}
	cid_from_digest(c, codec, dg);
	return 0;
}

ssize_t
cid_parse_bytes(struct cid *c, const uint8_t *p, size_t len)
{
	/*
	 * Every blessed CID has the same 4-byte prefix shape, and each of
	 * its varints is a single byte, so a byte comparison is also the
	 * minimal-varint check.
	 */
	if (len < CID_BIN_LEN || p[0] != 0x01 ||
	    (p[1] != CID_CODEC_DAG_CBOR && p[1] != CID_CODEC_RAW) ||
	    p[2] != CID_HASH_SHA256 || p[3] != 32)
		return -1;
	memcpy(c->bytes, p, CID_BIN_LEN);
	return CID_BIN_LEN;
}

int
cid_parse_str(struct cid *c, const char *s, size_t len)
{
	uint8_t	raw[CID_BIN_LEN];

	if (len != 1 + CID_B32_CHARS || s[0] != 'b')
		return -1;
	/* enc_b32_decode refuses non-zero trailing bits, so the text form
	 * is canonical: one string per CID. */
	if (enc_b32_decode(s + 1, len - 1, raw, sizeof(raw)) != CID_BIN_LEN)
		return -1;
	return cid_parse_bytes(c, raw, sizeof(raw)) == CID_BIN_LEN ? 0 : -1;
}

void
cid_format(const struct cid *c, char out[CID_STR_LEN])
{
	out[0] = 'b';
	(void)enc_b32_encode(c->bytes, CID_BIN_LEN, out + 1);
}

int
cid_equal(const struct cid *a, const struct cid *b)
{
	return memcmp(a->bytes, b->bytes, CID_BIN_LEN) == 0;
}

int
cid_cmp(const struct cid *a, const struct cid *b)
{
	return memcmp(a->bytes, b->bytes, CID_BIN_LEN);
}

uint8_t
cid_codec(const struct cid *c)
{
	return c->bytes[1];
}

const uint8_t *
cid_digest(const struct cid *c)
{
	return c->bytes + 4;
}
