/*
 * cid.h: content identifiers (CIDv1; atproto's blessed form is
 * dag-cbor 0x71 or raw 0x55 with sha2-256).  atproto.com/specs/data-model.
 *
 * A struct cid holds the binary CID (version varint, codec varint, then
 * the multihash: hash-code varint, digest-length varint, digest).  Parsing
 * accepts any well-formed CIDv1 with a sha2-256 (0x12) digest of 32 bytes
 * and codec 0x71 or 0x55 ("blessed"); everything else is refused.
 */
#ifndef PDS_CID_H
#define PDS_CID_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pds_limits.h"

#define CID_CODEC_DAG_CBOR	0x71
#define CID_CODEC_RAW		0x55
#define CID_HASH_SHA256		0x12
#define CID_BIN_LEN		36	/* v1 + codec + 0x12 0x20 + 32 */
#define CID_STR_LEN		60	/* "b" + base32 of 36 bytes + NUL */

struct cid {
	uint8_t	bytes[CID_BIN_LEN];	/* binary CID */
};

/* Fills c with the CIDv1 (codec, sha2-256) of (p, len): one SHA-256 pass
 * through OpenSSL.  codec must be CID_CODEC_DAG_CBOR or CID_CODEC_RAW.
 * Returns 0, or -1 when OpenSSL fails (only on ENOMEM; c is then zeroed,
 * which no parser accepts).  Callers from before the int return may ignore
 * it only where ENOMEM is impossible to act on. */
int	cid_compute(struct cid *c, uint8_t codec, const void *p, size_t len);
/* One-shot SHA-256 of (p, len) into dg.  Returns 0 or -1 (ENOMEM). */
int	cid_sha256(const void *p, size_t len, uint8_t dg[32]);
/* Makes a CID from a codec and a ready sha2-256 digest. */
void	cid_from_digest(struct cid *c, uint8_t codec, const uint8_t dg[32]);
/* Parses a binary CID from the start of (p, len) (untrusted; p need not
 * be aligned or terminated).  Returns the number of bytes consumed (always
 * CID_BIN_LEN), or -1 when truncated, malformed or not a blessed CID. */
ssize_t	cid_parse_bytes(struct cid *c, const uint8_t *p, size_t len);
/* Parses a printed CID: "b" + lowercase unpadded base32 of a blessed
 * binary CID, exactly the whole (s, len), nothing else (no CIDv0, no other
 * multibase, no whitespace).  Returns 0, or -1 and leaves c unspecified. */
int	cid_parse_str(struct cid *c, const char *s, size_t len);
/* Prints c as "b..." into out (CID_STR_LEN bytes, NUL-terminated); the
 * string is always CID_STR_LEN - 1 characters. */
void	cid_format(const struct cid *c, char out[CID_STR_LEN]);
/* Returns 1 when equal, 0 otherwise. */
int	cid_equal(const struct cid *a, const struct cid *b);
/* bytewise order of the binary forms, like memcmp */
int	cid_cmp(const struct cid *a, const struct cid *b);
/* CID_CODEC_DAG_CBOR or CID_CODEC_RAW. */
uint8_t	cid_codec(const struct cid *c);
/* Pointer to the 32-byte sha2-256 digest inside c (valid as long as c). */
const uint8_t *cid_digest(const struct cid *c);

#endif
