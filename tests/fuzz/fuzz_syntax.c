/*
 * fuzz_syntax.c: libFuzzer entry point for every validator in syntax.h,
 * tid.h and mstkey.h.  The first byte selects the validator, the rest is
 * the input, passed exactly sized so reads past its end trip ASan.  Also
 * checks invariants that must hold for any input: a strict tier accepts
 * only what its syntax tier accepts, parsed AT-URI parts lie inside the
 * input, a parsed TID prints back to the same text, and so on.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mstkey.h"
#include "syntax.h"
#include "tid.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Aborts (a finding) when cond is false. */
#define INVARIANT(cond)	do { if (!(cond)) abort(); } while (0)

static int
inside(const char *p, size_t len, const char *q, size_t qlen)
{
	return q == NULL ? qlen == 0 : q >= p && qlen <= len &&
	    (size_t)(q - p) <= len - qlen;
}

static void
fuzz_aturi(const char *p, size_t len)
{
	struct syntax_aturi	u;
	const char		*why = NULL;

	if (syntax_aturi_parse(p, len, &u, &why) == 0) {
		INVARIANT(inside(p, len, u.authority, u.authority_len));
		INVARIANT(inside(p, len, u.collection, u.collection_len));
		INVARIANT(inside(p, len, u.rkey, u.rkey_len));
		INVARIANT(inside(p, len, u.fragment, u.fragment_len));
		INVARIANT(syntax_atid_validate(u.authority, u.authority_len,
		    NULL) == 0);
	} else
		INVARIANT(why != NULL);
}

static void
fuzz_tid(const char *p, size_t len)
{
	char		out[TID_STR_LEN];
	uint64_t	v;

	if (tid_parse(p, len, &v) == 0) {
		tid_format(v, out);
		INVARIANT(len == 13 && memcmp(out, p, 13) == 0);
		INVARIANT(tid_make(tid_us(v), tid_clock_id(v)) ==
		    (v & (UINT64_MAX >> 1)));
	} else
		INVARIANT(tid_validate(p, len, NULL) == -1);
}

static void
fuzz_handle(const char *p, size_t len)
{
	char	out[300];
	ssize_t	n;

	if (syntax_handle_validate(p, len, NULL) == 0) {
		n = syntax_handle_normalize(p, len, out, sizeof(out));
		INVARIANT(n == (ssize_t)len);
		INVARIANT(syntax_handle_validate(out, len, NULL) == 0);
		(void)syntax_handle_tld_validate(out, len, NULL);
	}
}

static void
fuzz_tiers(int sel, const char *p, size_t len)
{
	int64_t	ms;
	int	s, st;

	switch (sel) {
	case 0:
		s = syntax_datetime_validate(p, len, NULL);
		st = syntax_datetime_parse(p, len, &ms, NULL);
		break;
	case 1:
		s = syntax_language_validate(p, len, NULL);
		st = syntax_language_validate_strict(p, len, NULL);
		break;
	default:
		s = syntax_cid_validate(p, len, NULL);
		st = syntax_cid_validate_strict(p, len, NULL);
		break;
	}
	INVARIANT(st == -1 || s == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*p = (const char *)data + 1;
	size_t		 len, half;
	int		 h;

	if (size == 0)
		return 0;
	len = size - 1;
	switch (data[0] % 16) {
	case 0:
		fuzz_handle(p, len);
		break;
	case 1:
		(void)syntax_did_validate(p, len, NULL);
		break;
	case 2:
		(void)syntax_nsid_validate(p, len, NULL);
		break;
	case 3:
		fuzz_aturi(p, len);
		break;
	case 4:
		(void)syntax_rkey_validate(p, len, NULL);
		break;
	case 5:
		fuzz_tiers(0, p, len);
		break;
	case 6:
		fuzz_tiers(2, p, len);
		break;
	case 7:
		fuzz_tiers(1, p, len);
		break;
	case 8:
		(void)syntax_atid_validate(p, len, NULL);
		break;
	case 9:
		(void)syntax_uri_validate(p, len, NULL);
		break;
	case 10:
		fuzz_tid(p, len);
		break;
	case 11:
		(void)mst_key_validate(p, len, NULL);
		break;
	case 12:
		h = mst_key_height(p, len);
		INVARIANT(h >= -1 && h <= 128);
		break;
	case 13:
		half = len / 2;
		INVARIANT(mst_common_prefix(p, half, p + half, len - half) <=
		    half);
		break;
	default:
		/* a format by number, through the dispatch table */
		if (len > 0)
			(void)syntax_format_validate((enum syntax_format)
			    ((unsigned char)p[0] % (SYNTAX_FMT__MAX + 1)),
			    p + 1, len - 1, NULL);
		break;
	}
	return 0;
}
