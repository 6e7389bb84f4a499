/*
 * enc.h: byte-to-text encodings and unsigned varints.
 *
 * Pure functions on (pointer, length); no allocation.  Each encoder writes
 * into a caller buffer of the size the matching *_LEN macro gives and
 * NUL-terminates it; each decoder writes at most outsz bytes and returns
 * the number written, or -1 on any malformed input or short buffer.
 *
 * base32: RFC 4648 lowercase alphabet, no padding (multibase 'b', did:plc).
 * base58btc: Bitcoin alphabet (multibase 'z', did:key).
 * base64: standard (+/) or URL (-_) alphabet; encoders never pad unless
 *   asked; decoders accept input with or without '=' padding but refuse
 *   misplaced padding and non-zero trailing bits.
 * varint: unsigned LEB128 as multiformats defines it (minimal, <= 9 bytes).
 */
#ifndef PDS_ENC_H
#define PDS_ENC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ENC_HEX_LEN(n)		((n) * 2 + 1)
#define ENC_B32_LEN(n)		(((n) * 8 + 4) / 5 + 1)
#define ENC_B58_LEN(n)		((n) * 138 / 100 + 2)
#define ENC_B64_LEN(n)		((((n) + 2) / 3) * 4 + 1)
#define ENC_VARINT_MAX		9

enum enc_b64 { ENC_B64_STD, ENC_B64_URL };

size_t	enc_hex_encode(const uint8_t *p, size_t len, char *out);
/* The value (0..15) of the hex digit c (either case), or -1. */
int	enc_hex_digit(int c);
/* Accepts upper- or lowercase; len must be even. */
ssize_t	enc_hex_decode(const char *s, size_t len, uint8_t *out, size_t outsz);

size_t	enc_b32_encode(const uint8_t *p, size_t len, char *out);
/* Lowercase only, no padding. */
ssize_t	enc_b32_decode(const char *s, size_t len, uint8_t *out, size_t outsz);

/* Returns the text length, or 0 if outsz is too small. */
size_t	enc_b58_encode(const uint8_t *p, size_t len, char *out, size_t outsz);
ssize_t	enc_b58_decode(const char *s, size_t len, uint8_t *out, size_t outsz);

size_t	enc_b64_encode(enum enc_b64 alpha, int pad, const uint8_t *p,
	    size_t len, char *out);
ssize_t	enc_b64_decode(enum enc_b64 alpha, const char *s, size_t len,
	    uint8_t *out, size_t outsz);
/* Lenient base64 as the reference reads atproto "$bytes" (Node's Buffer
 * plus lex-data's length checks): either alphabet, padding optional and
 * possibly partial but never excessive, non-zero trailing bits ignored;
 * refuses other characters and a length of 4k+1.  Writes at most outsz
 * bytes; returns the count or -1. */
ssize_t	enc_b64_decode_lenient(const char *s, size_t len, uint8_t *out,
	    size_t outsz);

/* Writes v (< 2^63) as a varint into out (ENC_VARINT_MAX bytes); returns
 * the byte count. */
size_t	enc_varint_encode(uint64_t v, uint8_t *out);
/* Reads a minimal varint from (p, len).  Returns bytes consumed, or -1
 * when truncated, over 9 bytes, non-minimal, or >= 2^63. */
ssize_t	enc_varint_decode(const uint8_t *p, size_t len, uint64_t *v);

#endif
