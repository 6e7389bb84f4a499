/*
 * tool_syntax.c: a line-oriented driver of the syntax validators, TIDs
 * and MST key functions, for the Node differential test against the
 * reference's @atproto/syntax and @atproto/repo
 * (tests/integration/syntax-diff.test.mjs).
 *
 *   stdin:  one "<check> TAB <hex of the input bytes>" per line
 *   stdout: one line per input: "1" (valid), "0 TAB <reason>" (invalid),
 *           or for mst-height the height; "ERR TAB <what>" on a bad line
 *
 * Checks: the Lexicon format names of syntax_format_find() (strict tiers),
 * plus datetime-syntax, language-syntax, cid-syntax, handle-tld, mst-key,
 * mst-height.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enc.h"
#include "mstkey.h"
#include "pds_limits.h"
#include "syntax.h"

#define TOOL_LINE_MAX	(4 * (size_t)LIM_ATURI_LEN + 64)  /* hex + name */

typedef int	(*vfn)(const char *, size_t, const char **);

static const struct {
	const char	*name;
	vfn		 fn;
} extra[] = {
	{ "datetime-syntax", syntax_datetime_validate },
	{ "language-syntax", syntax_language_validate },
	{ "cid-syntax", syntax_cid_validate },
	{ "handle-tld", syntax_handle_tld_validate },
	{ "mst-key", mst_key_validate },
};

/* Runs one check on (p, n) and prints its line. */
static int
run(const char *name, size_t nlen, const char *p, size_t n)
{
	enum syntax_format	 f;
	const char		*why = "?";
	size_t			 i;
	int			 r = -2;

	if (nlen == 10 && memcmp(name, "mst-height", 10) == 0)
		return printf("%d\n", mst_key_height(p, n)) < 0 ? -1 : 0;
	if (syntax_format_find(name, nlen, &f) == 0)
		r = syntax_format_validate(f, p, n, &why);
	for (i = 0; r == -2 && i < sizeof(extra) / sizeof(extra[0]); i++)
		if (strlen(extra[i].name) == nlen &&
		    memcmp(extra[i].name, name, nlen) == 0)
			r = extra[i].fn(p, n, &why);
	if (r == -2)
		return printf("ERR\tunknown check\n") < 0 ? -1 : 0;
	if (r == 0)
		return printf("1\n") < 0 ? -1 : 0;
	return printf("0\t%s\n", why) < 0 ? -1 : 0;
}

int
main(void)
{
	char	*line = NULL, *tab, *bin = NULL;
	size_t	 cap = 0, len;
	ssize_t	 got, n;
	int	 rc = 1;

	if ((bin = malloc(TOOL_LINE_MAX / 2)) == NULL)
		goto out;
	while ((got = getline(&line, &cap, stdin)) != -1) {
		len = (size_t)got;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len > TOOL_LINE_MAX || (tab = memchr(line, '\t', len)) ==
		    NULL) {
			if (printf("ERR\tbad line\n") < 0)
				goto out;
			continue;
		}
		n = enc_hex_decode(tab + 1, len - (size_t)(tab + 1 - line),
		    (uint8_t *)bin, TOOL_LINE_MAX / 2);
		if (n < 0) {
			if (printf("ERR\tbad hex\n") < 0)
				goto out;
			continue;
		}
		if (run(line, (size_t)(tab - line), bin, (size_t)n) == -1)
			goto out;
	}
	rc = fflush(stdout) == 0 ? 0 : 1;
out:
	free(line);
	free(bin);
	return rc;
}
