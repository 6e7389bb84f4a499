/*
 * password.c: scrypt password hashes in the reference PDS's stored form
 * (account-manager/helpers/scrypt.ts, password.ts), through OpenSSL's
 * EVP_PBE_scrypt.  Owns hashing, verification, app-password salts and
 * app-password generation; does not own where hashes are stored
 * (accountdb.c) nor the login policy (the session handlers).
 */
#include <string.h>

#include <openssl/evp.h>

#include "enc.h"
#include "keys.h"
#include "password.h"
#include "pds_limits.h"
#include "util.h"

/* scrypt's memory use is 128 * N * r bytes (16 MiB here); OpenSSL's
 * default cap (32 MiB) covers it, and so does Node's. */
#define PASSWORD_SCRYPT_MAXMEM	(64u << 20)

/* Derives the 64-byte key of (pw, len) with (salt, saltlen) as hex. */
static int
password_derive(const char *pw, size_t len, const char *salt, size_t saltlen,
    char hex[PASSWORD_KEY_LEN * 2 + 1])
{
	uint8_t	key[PASSWORD_KEY_LEN];
	int	rc = -1;

	if (len > LIM_PASSWORD_BYTES || saltlen > LIM_PASSWORD_STORED)
		return -1;
	/* OpenSSL wants non-NULL pointers even for empty inputs. */
	if (EVP_PBE_scrypt(len > 0 ? pw : "", len,
	    (const unsigned char *)(saltlen > 0 ? salt : ""), saltlen,
	    PASSWORD_SCRYPT_N, PASSWORD_SCRYPT_R, PASSWORD_SCRYPT_P,
	    PASSWORD_SCRYPT_MAXMEM, key, sizeof(key)) == 1) {
		(void)enc_hex_encode(key, sizeof(key), hex);
		rc = 0;
	}
	util_wipe(key, sizeof(key));
	return rc;
}

int
password_hash_salt(const char *pw, size_t len, const char *salt,
    size_t saltlen, char *out, size_t outsz)
{
	char	hex[PASSWORD_KEY_LEN * 2 + 1];

	if (outsz > 0)
		out[0] = '\0';
	if (saltlen + 1 + PASSWORD_KEY_LEN * 2 + 1 > outsz ||
	    password_derive(pw, len, salt, saltlen, hex) == -1)
		return -1;
	memcpy(out, salt, saltlen);
	out[saltlen] = ':';
	memcpy(out + saltlen + 1, hex, sizeof(hex));	/* with the NUL */
	util_wipe(hex, sizeof(hex));
	return 0;
}

int
password_hash(const char *pw, size_t len, char out[PASSWORD_STORED_LEN])
{
	uint8_t	raw[PASSWORD_SALT_BYTES];
	char	salt[PASSWORD_SALT_HEX + 1];

	out[0] = '\0';
	if (util_random(raw, sizeof(raw)) == -1)
		return -1;
	(void)enc_hex_encode(raw, sizeof(raw), salt);
	return password_hash_salt(pw, len, salt, PASSWORD_SALT_HEX, out,
	    PASSWORD_STORED_LEN);
}

int
password_verify(const char *pw, size_t len, const char *stored, size_t slen)
{
	const char	*colon, *hash, *end;
	char		 hex[PASSWORD_KEY_LEN * 2 + 1];
	int		 ok;

	if (slen > LIM_PASSWORD_STORED ||
	    (colon = memchr(stored, ':', slen)) == NULL)
		return 0;	/* split(':')[1] is undefined: never equal */
	hash = colon + 1;
	if ((end = memchr(hash, ':', (size_t)(stored + slen - hash))) == NULL)
		end = stored + slen;
	if (password_derive(pw, len, stored, (size_t)(colon - stored), hex) ==
	    -1)
		return -1;
	ok = util_ct_equal(hex, PASSWORD_KEY_LEN * 2, hash,
	    (size_t)(end - hash));
	util_wipe(hex, sizeof(hex));
	return ok;
}

int
password_app_hash(const char *did, const char *pw, size_t len,
    char out[PASSWORD_STORED_LEN])
{
	uint8_t	dg[KEY_DIGEST_LEN];
	char	salt[PASSWORD_SALT_HEX + 1];

	key_sha256(did, strlen(did), dg);
	(void)enc_hex_encode(dg, PASSWORD_SALT_BYTES, salt);
	return password_hash_salt(pw, len, salt, PASSWORD_SALT_HEX, out,
	    PASSWORD_STORED_LEN);
}

int
password_app_generate(char out[PASSWORD_APP_LEN])
{
	uint8_t	raw[16];
	char	b32[ENC_B32_LEN(16)];
	size_t	i, o = 0;

	out[0] = '\0';
	if (util_random(raw, sizeof(raw)) == -1)
		return -1;
	(void)enc_b32_encode(raw, sizeof(raw), b32);
	for (i = 0; i < 16; i++) {
		if (i > 0 && i % 4 == 0)
			out[o++] = '-';
		out[o++] = b32[i];
	}
	out[o] = '\0';
	util_wipe(raw, sizeof(raw));
	util_wipe(b32, sizeof(b32));
	return 0;
}

size_t
password_js_length(const char *p, size_t len)
{
	const uint8_t	*s = (const uint8_t *)p;
	size_t		 i = 0, n = 0;

	while (i < len) {
		if (s[i] >= 0xf0 && s[i] <= 0xf4 && i + 3 < len &&
		    (s[i + 1] & 0xc0) == 0x80 && (s[i + 2] & 0xc0) == 0x80 &&
		    (s[i + 3] & 0xc0) == 0x80) {
			n += 2;		/* a surrogate pair in UTF-16 */
			i += 4;
		} else if (s[i] >= 0xe0 && s[i] <= 0xef && i + 2 < len &&
		    (s[i + 1] & 0xc0) == 0x80 && (s[i + 2] & 0xc0) == 0x80) {
			n++;
			i += 3;
		} else if (s[i] >= 0xc2 && s[i] <= 0xdf && i + 1 < len &&
		    (s[i + 1] & 0xc0) == 0x80) {
			n++;
			i += 2;
		} else {
			n++;
			i++;
		}
	}
	return n;
}
