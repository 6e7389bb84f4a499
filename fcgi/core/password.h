/*
 * password.h: account and app passwords, stored as the reference PDS
 * stores them (packages/pds/src/account-manager/helpers/scrypt.ts;
 * ../shared/spec/reference-pds.md f "Password hashing").
 *
 *   stored   "<salt>:<hash>"  salt = 16 random bytes as 32 lowercase hex
 *            chars, used as the scrypt salt AS THAT ASCII STRING; hash =
 *            scrypt(password UTF-8, salt, N=16384, r=8, p=1, keylen 64)
 *            as 128 lowercase hex chars (Node crypto.scrypt defaults)
 *   app      the same, with salt = hex of the first 16 bytes of
 *            SHA-256(did): deterministic, so an app password is found by
 *            hashing it and looking the hash up
 *   format   app passwords are "xxxx-xxxx-xxxx-xxxx": 16 chars of
 *            lowercase base32 of random bytes
 *
 * The reference limits passwords in UTF-16 code units (JS .length):
 * password_js_length() counts them the same way.
 *
 * Error convention: functions return 0 (or 1 for "matches") and -1 on
 * failure; no function logs secrets.  Callers wipe plaintexts.
 */
#ifndef PDS_PASSWORD_H
#define PDS_PASSWORD_H

#include <stddef.h>
#include <stdint.h>

#define PASSWORD_SCRYPT_N	16384		/* Node crypto.scrypt default cost */
#define PASSWORD_SCRYPT_R	8
#define PASSWORD_SCRYPT_P	1
#define PASSWORD_KEY_LEN	64		/* derived bytes */
#define PASSWORD_SALT_BYTES	16
#define PASSWORD_SALT_HEX	(PASSWORD_SALT_BYTES * 2)
/* "<32 hex>:<128 hex>" and a NUL */
#define PASSWORD_STORED_LEN	(PASSWORD_SALT_HEX + 1 + PASSWORD_KEY_LEN * 2 + 1)
#define PASSWORD_APP_LEN	20		/* "xxxx-xxxx-xxxx-xxxx" + NUL */

/* Hashes (pw, len) with a fresh random salt into out (NUL-terminated).
 * Returns 0, or -1 (randomness or scrypt failed; out is then empty). */
int	password_hash(const char *pw, size_t len,
	    char out[PASSWORD_STORED_LEN]);
/* Hashes (pw, len) with the given salt string (taken as bytes, as Node
 * takes a string salt) into out.  salt may be any text up to
 * LIM_PASSWORD_STORED bytes; the result is "<salt>:<hash>" when it fits
 * outsz (else -1).  Returns 0 or -1. */
int	password_hash_salt(const char *pw, size_t len, const char *salt,
	    size_t saltlen, char *out, size_t outsz);
/* Checks (pw, len) against a stored value (stored, slen) as the
 * reference's verify() does: split at ':' (salt before the first, hash
 * up to the next), scrypt with that salt, compare the hex strings (in
 * constant time).  Returns 1 on a match, 0 on a mismatch or a stored
 * value without ':' or over LIM_PASSWORD_STORED bytes, -1 when scrypt
 * fails. */
int	password_verify(const char *pw, size_t len, const char *stored,
	    size_t slen);
/* The app-password hash of (pw, len) for did (hashAppPassword): salt =
 * hex(SHA-256(did)[0..16]).  Returns 0 or -1. */
int	password_app_hash(const char *did, const char *pw, size_t len,
	    char out[PASSWORD_STORED_LEN]);
/* A new app password "xxxx-xxxx-xxxx-xxxx" (createAppPassword: 16 random
 * bytes, lowercase base32, first 16 chars).  Returns 0 or -1. */
int	password_app_generate(char out[PASSWORD_APP_LEN]);
/* Length of the UTF-8 string (p, len) in UTF-16 code units, as JS
 * String.length counts it (4-byte sequences count 2).  Bytes that are not
 * valid UTF-8 count 1 each (JSON input is valid UTF-8 already). */
size_t	password_js_length(const char *p, size_t len);

#endif /* PDS_PASSWORD_H */
