/*
 * test_password.c: password.c against fixed vectors: RFC 7914's scrypt
 * vector (N=16384, r=8, p=1, 64 bytes), and vectors produced by Node's
 * crypto.scrypt exactly as the reference's scrypt.ts calls it (a string
 * salt, keylen 64, default cost), including a non-ASCII password and the
 * app-password salt (hex of SHA-256(did)[0..16]).  Also: the stored-form
 * split rules, refusals of malformed stored values, random salts, the
 * app-password format and the JS (UTF-16) length count.
 */
#include <ctype.h>
#include <string.h>

#include "t.h"
#include "password.h"
#include "pds_limits.h"

/* Node: crypto.scryptSync('pleaseletmein', 'SodiumChloride', 64) (RFC 7914
 * section 12, third vector). */
static const char rfc7914[] = "SodiumChloride:"
    "7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2"
    "d5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf017b45575887";

/* Node: crypto.scryptSync('pässwörd 🔑', '0123...cdef', 64). */
static const char utf8_pw[] = "p\xc3\xa4ssw\xc3\xb6rd \xf0\x9f\x94\x91";
static const char utf8_stored[] = "0123456789abcdef0123456789abcdef:"
    "1cf61d6d73a0260c7df911ec9dfb8b00a4da5c29bd5e64ea12aee3ef51ade7a3"
    "4c9fa065ee141fe533edb6261cd46c7b0b019487508187637ae0f36afff7066f";

/* Node: salt = sha256(did).subarray(0, 16).toString('hex'), then
 * scryptSync('abcd-efgh-ijkl-mnop', salt, 64). */
static const char app_did[] = "did:plc:abcdefghijklmnopqrstuvwx";
static const char app_stored[] = "e253131024780eb99e0d600853180dac:"
    "4d57b17fa65b9c1561e5c4c56864fc7610f79b7984335ea36be39716bbd469aa"
    "3b220e34c764ca025ac867f0727365a05561db772b3be2d55105e839df71bd1a";

static void
test_vectors(void)
{
	char	out[PASSWORD_STORED_LEN];

	T_EQ_INT(password_hash_salt("pleaseletmein", 13, "SodiumChloride", 14,
	    out, sizeof(out)), 0);
	T_EQ_STR(out, rfc7914);
	T_EQ_INT(password_verify("pleaseletmein", 13, rfc7914,
	    strlen(rfc7914)), 1);
	T_EQ_INT(password_verify("pleaseletmeiN", 13, rfc7914,
	    strlen(rfc7914)), 0);
	T_EQ_INT(password_verify(utf8_pw, strlen(utf8_pw), utf8_stored,
	    strlen(utf8_stored)), 1);
	T_EQ_INT(password_app_hash(app_did, "abcd-efgh-ijkl-mnop", 19, out), 0);
	T_EQ_STR(out, app_stored);
	/* the salt is a string: the same bytes decoded from hex differ */
	T_EQ_INT(password_hash_salt("abcd-efgh-ijkl-mnop", 19,
	    "\xe2\x53\x13\x10\x24\x78\x0e\xb9\x9e\x0d\x60\x08\x53\x18\x0d\xac",
	    16, out, sizeof(out)), 0);
	T_OK(strcmp(out + 17, app_stored + 33) != 0, "hex salt is text");
}

static void
test_stored_forms(void)
{
	char	stored[PASSWORD_STORED_LEN * 2];
	char	big[LIM_PASSWORD_STORED + 16];

	/* split(':'): a third part is ignored */
	(void)snprintf(stored, sizeof(stored), "%s:extra", rfc7914);
	T_EQ_INT(password_verify("pleaseletmein", 13, stored, strlen(stored)),
	    1);
	/* no colon, empty, truncated or uppercase hash: never a match */
	T_EQ_INT(password_verify("x", 1, "nocolon", 7), 0);
	T_EQ_INT(password_verify("", 0, "", 0), 0);
	T_EQ_INT(password_verify("pleaseletmein", 13, rfc7914,
	    strlen(rfc7914) - 1), 0);
	(void)snprintf(stored, sizeof(stored), "%s", rfc7914);
	stored[20] = (char)toupper((unsigned char)stored[20]);
	stored[21] = (char)toupper((unsigned char)stored[21]);
	stored[22] = (char)toupper((unsigned char)stored[22]);
	T_EQ_INT(password_verify("pleaseletmein", 13, stored, strlen(stored)),
	    strcmp(stored, rfc7914) == 0 ? 1 : 0);
	/* over-long stored value: refused before any work */
	memset(big, 'a', sizeof(big));
	big[10] = ':';
	T_EQ_INT(password_verify("x", 1, big, sizeof(big)), 0);
	/* empty salt and empty password are still hashed like Node */
	T_EQ_INT(password_hash_salt("", 0, "", 0, stored, sizeof(stored)), 0);
	T_EQ_INT(stored[0], ':');
	T_EQ_INT(password_verify("", 0, stored, strlen(stored)), 1);
	/* output too small */
	T_EQ_INT(password_hash_salt("x", 1, "salt", 4, stored, 40), -1);
}

static void
test_random(void)
{
	char	a[PASSWORD_STORED_LEN], b[PASSWORD_STORED_LEN];
	size_t	i;

	T_EQ_INT(password_hash("hunter22", 8, a), 0);
	T_EQ_INT(password_hash("hunter22", 8, b), 0);
	T_EQ_INT(strlen(a), PASSWORD_STORED_LEN - 1);
	T_EQ_INT(a[PASSWORD_SALT_HEX], ':');
	T_OK(strcmp(a, b) != 0, "salts differ");
	for (i = 0; i < PASSWORD_STORED_LEN - 1; i++)
		T_OK(a[i] == ':' || isdigit((unsigned char)a[i]) ||
		    (a[i] >= 'a' && a[i] <= 'f'), "lower hex at %zu", i);
	T_EQ_INT(password_verify("hunter22", 8, a, strlen(a)), 1);
	T_EQ_INT(password_verify("hunter23", 8, a, strlen(a)), 0);
	T_EQ_INT(password_verify("hunter22", 8, b, strlen(b)), 1);
}

static void
test_app_format(void)
{
	char	p[PASSWORD_APP_LEN], q[PASSWORD_APP_LEN];
	size_t	i;

	T_EQ_INT(password_app_generate(p), 0);
	T_EQ_INT(password_app_generate(q), 0);
	T_EQ_INT(strlen(p), 19);
	T_OK(strcmp(p, q) != 0, "two app passwords differ");
	for (i = 0; i < 19; i++) {
		if (i % 5 == 4)
			T_EQ_INT(p[i], '-');
		else
			T_OK((p[i] >= 'a' && p[i] <= 'z') ||
			    (p[i] >= '2' && p[i] <= '7'), "base32 at %zu", i);
	}
}

static void
test_js_length(void)
{
	T_EQ_INT(password_js_length("", 0), 0);
	T_EQ_INT(password_js_length("abc", 3), 3);
	/* Node: 'pässwörd 🔑'.length === 11 */
	T_EQ_INT(password_js_length(utf8_pw, strlen(utf8_pw)), 11);
	T_EQ_INT(password_js_length("\xe2\x82\xac", 3), 1);	/* euro */
	T_EQ_INT(password_js_length("\xff\xfe", 2), 2);	/* not UTF-8 */
	T_EQ_INT(password_js_length("\xf0\x9f\x94", 3), 3);	/* truncated */
}

int
main(void)
{
	test_vectors();
	test_stored_forms();
	test_random();
	test_app_format();
	test_js_length();
	return t_done("password");
}
