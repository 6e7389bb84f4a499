/*
 * mstkey.c: MST key rules, key height and common-prefix length
 * (atproto.com/specs/repository#mst-structure; @atproto/repo
 * src/mst/util.ts isValidMstKey, leadingZerosOnHash, countPrefixLen).
 * Owns only these three pure functions; the tree itself is repo/'s.
 */
#include <stdint.h>

#include "cid.h"
#include "mstkey.h"
#include "pds_limits.h"

/* [A-Za-z0-9_~:.-]: the characters of either side of an MST key. */
static int
mst_key_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '~' || c == ':' ||
	    c == '.' || c == '-';
}

int
mst_key_validate(const char *p, size_t len, const char **why)
{
	const char	*err = NULL;
	size_t		 i, slash = 0, nslash = 0;

	if (len == 0)
		err = "MST key is empty";
	else if (len > LIM_MST_KEY_LEN)
		err = "MST key is too long (1024 chars max)";
	for (i = 0; err == NULL && i < len; i++) {
		if (p[i] == '/') {
			slash = i;
			nslash++;
		} else if (!mst_key_char((unsigned char)p[i]))
			err = "MST key has a disallowed character";
	}
	if (err == NULL && nslash != 1)
		err = "MST key needs exactly one '/'";
	else if (err == NULL && (slash == 0 || slash == len - 1))
		err = "MST key collection and record key must be non-empty";
	if (err != NULL) {
		if (why != NULL)
			*why = err;
		return -1;
	}
	return 0;
}

int
mst_key_height(const void *p, size_t len)
{
	uint8_t		dg[32];
	int		h = 0;
	size_t		i;

	if (cid_sha256(p, len, dg) == -1)
		return -1;
	/* Two bits per layer: each byte gives up to 4 layers, and counting
	 * stops at the first non-zero byte (leadingZerosOnHash). */
	for (i = 0; i < sizeof(dg); i++) {
		if (dg[i] == 0) {
			h += 4;
			continue;
		}
		if (dg[i] < 4)
			h += 3;
		else if (dg[i] < 16)
			h += 2;
		else if (dg[i] < 64)
			h += 1;
		break;
	}
	return h;
}

size_t
mst_common_prefix(const void *a, size_t alen, const void *b, size_t blen)
{
	const unsigned char	*x = a, *y = b;
	size_t			 i, n = alen < blen ? alen : blen;

	for (i = 0; i < n && x[i] == y[i]; i++)
		;
	return i;
}
