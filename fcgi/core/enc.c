/*
 * enc.c: hex, base32, base58btc, base64 and varints.  See enc.h.
 */
#include <string.h>

#include "enc.h"

static const char hexdig[] = "0123456789abcdef";
static const char b32alpha[] = "abcdefghijklmnopqrstuvwxyz234567";
static const char b58alpha[] =
    "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
static const char b64std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t
enc_hex_encode(const uint8_t *p, size_t len, char *out)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		out[2 * i] = hexdig[p[i] >> 4];
		out[2 * i + 1] = hexdig[p[i] & 15];
	}
	out[2 * len] = '\0';
	return 2 * len;
}

int
enc_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

ssize_t
enc_hex_decode(const char *s, size_t len, uint8_t *out, size_t outsz)
{
	size_t	i;
	int	hi, lo;

	if (len % 2 != 0 || len / 2 > outsz)
		return -1;
	for (i = 0; i < len / 2; i++) {
		if ((hi = enc_hex_digit(s[2 * i])) < 0 ||
		    (lo = enc_hex_digit(s[2 * i + 1])) < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (ssize_t)(len / 2);
}

size_t
enc_b32_encode(const uint8_t *p, size_t len, char *out)
{
	size_t		i, o = 0;
	uint32_t	acc = 0;
	int		bits = 0;

	for (i = 0; i < len; i++) {
		acc = (acc << 8) | p[i];
		bits += 8;
		while (bits >= 5) {
			out[o++] = b32alpha[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits > 0)
		out[o++] = b32alpha[(acc << (5 - bits)) & 31];
	out[o] = '\0';
	return o;
}

ssize_t
enc_b32_decode(const char *s, size_t len, uint8_t *out, size_t outsz)
{
	size_t		i, o = 0;
	uint32_t	acc = 0;
	int		bits = 0, v;
	const char	*q;

	for (i = 0; i < len; i++) {
		if (s[i] == '\0' || (q = strchr(b32alpha, s[i])) == NULL)
			return -1;
		v = (int)(q - b32alpha);
		acc = (acc << 5) | (uint32_t)v;
		bits += 5;
		if (bits >= 8) {
			if (o >= outsz)
				return -1;
			out[o++] = (uint8_t)(acc >> (bits - 8));
			bits -= 8;
		}
	}
	/* Leftover bits must be fewer than 5 and zero (canonical). */
	if (bits >= 5 || (acc & ((1u << bits) - 1)) != 0)
		return -1;
	return (ssize_t)o;
}

size_t
enc_b58_encode(const uint8_t *p, size_t len, char *out, size_t outsz)
{
	uint8_t	 tmp[256 * 138 / 100 + 2];
	size_t	 zeros = 0, i, j, size, high, o = 0;
	int	 carry;

	if (len > 256)
		return 0;
	while (zeros < len && p[zeros] == 0)
		zeros++;
	size = (len - zeros) * 138 / 100 + 1;
	memset(tmp, 0, size);
	high = size - 1;
	for (i = zeros; i < len; i++) {
		carry = p[i];
		for (j = size - 1; ; j--) {
			carry += 256 * tmp[j];
			tmp[j] = (uint8_t)(carry % 58);
			carry /= 58;
			if (j <= high && carry == 0)
				break;
			if (j == 0)
				break;
		}
		high = j;
	}
	for (j = 0; j < size && tmp[j] == 0; j++)
		;
	if (zeros + (size - j) + 1 > outsz)
		return 0;
	for (i = 0; i < zeros; i++)
		out[o++] = '1';
	for (; j < size; j++)
		out[o++] = b58alpha[tmp[j]];
	out[o] = '\0';
	return o;
}

ssize_t
enc_b58_decode(const char *s, size_t len, uint8_t *out, size_t outsz)
{
	uint8_t		 tmp[512];
	size_t		 zeros = 0, i, j, size, n;
	uint32_t	 carry;
	const char	*q;

	if (len > 512)
		return -1;
	while (zeros < len && s[zeros] == '1')
		zeros++;
	size = (len - zeros) * 733 / 1000 + 1;
	memset(tmp, 0, size);
	for (i = zeros; i < len; i++) {
		if (s[i] == '\0' || (q = strchr(b58alpha, s[i])) == NULL)
			return -1;
		carry = (uint32_t)(q - b58alpha);
		for (j = size; j-- > 0; ) {
			carry += 58u * tmp[j];
			tmp[j] = (uint8_t)(carry & 0xff);
			carry >>= 8;
		}
		if (carry != 0)
			return -1;
	}
	for (j = 0; j < size && tmp[j] == 0; j++)
		;
	n = zeros + (size - j);
	if (n > outsz)
		return -1;
	memset(out, 0, zeros);
	memcpy(out + zeros, tmp + j, size - j);
	return (ssize_t)n;
}

size_t
enc_b64_encode(enum enc_b64 alpha, int pad, const uint8_t *p, size_t len,
    char *out)
{
	const char	*a = alpha == ENC_B64_URL ? b64url : b64std;
	size_t		 i, o = 0;
	uint32_t	 v;

	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		out[o++] = a[v >> 18];
		out[o++] = a[(v >> 12) & 63];
		out[o++] = a[(v >> 6) & 63];
		out[o++] = a[v & 63];
	}
	if (len - i == 1) {
		v = (uint32_t)p[i] << 16;
		out[o++] = a[v >> 18];
		out[o++] = a[(v >> 12) & 63];
		if (pad) {
			out[o++] = '=';
			out[o++] = '=';
		}
	} else if (len - i == 2) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		out[o++] = a[v >> 18];
		out[o++] = a[(v >> 12) & 63];
		out[o++] = a[(v >> 6) & 63];
		if (pad)
			out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

static int
b64val(enum enc_b64 alpha, char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (alpha == ENC_B64_STD)
		return c == '+' ? 62 : c == '/' ? 63 : -1;
	return c == '-' ? 62 : c == '_' ? 63 : -1;
}

ssize_t
enc_b64_decode(enum enc_b64 alpha, const char *s, size_t len, uint8_t *out,
    size_t outsz)
{
	size_t		i, o = 0, npad = 0;
	uint32_t	acc = 0;
	int		bits = 0, v;

	/* Padding, if any, must make the length a multiple of 4. */
	while (npad < 2 && len > 0 && s[len - 1] == '=') {
		len--;
		npad++;
	}
	if (npad > 0 && (len + npad) % 4 != 0)
		return -1;
	if (len % 4 == 1)
		return -1;
	for (i = 0; i < len; i++) {
		if ((v = b64val(alpha, s[i])) < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			if (o >= outsz)
				return -1;
			out[o++] = (uint8_t)(acc >> (bits - 8));
			bits -= 8;
		}
	}
	if ((acc & ((1u << bits) - 1)) != 0)
		return -1;
	return (ssize_t)o;
}

ssize_t
enc_b64_decode_lenient(const char *s, size_t len, uint8_t *out, size_t outsz)
{
	size_t		i, o = 0, npad = 0;
	uint32_t	acc = 0;
	int		bits = 0, v;

	while (npad < 2 && len > 0 && s[len - 1] == '=') {
		len--;
		npad++;
	}
	/* "SQ=" is accepted (partial padding), "SGVs=" is not (excess). */
	if (len % 4 == 1 || npad > (4 - len % 4) % 4)
		return -1;
	for (i = 0; i < len; i++) {
		if ((v = b64val(ENC_B64_STD, s[i])) < 0 &&
		    (v = b64val(ENC_B64_URL, s[i])) < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			if (o >= outsz)
				return -1;
			out[o++] = (uint8_t)(acc >> (bits - 8));
			bits -= 8;
		}
	}
	return (ssize_t)o;
}

size_t
enc_varint_encode(uint64_t v, uint8_t *out)
{
	size_t	n = 0;

	do {
		out[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v != 0)
			out[n] |= 0x80;
		n++;
	} while (v != 0 && n < ENC_VARINT_MAX);
	return n;
}

ssize_t
enc_varint_decode(const uint8_t *p, size_t len, uint64_t *v)
{
	uint64_t	acc = 0;
	size_t		i;

	for (i = 0; i < len && i < ENC_VARINT_MAX; i++) {
		acc |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if ((p[i] & 0x80) == 0) {
			if (i > 0 && p[i] == 0)
				return -1;	/* non-minimal */
			if (acc >= (uint64_t)1 << 63)
				return -1;
			*v = acc;
			return (ssize_t)(i + 1);
		}
	}
	return -1;
}
