/*
 * xml.c: a small bounded scanner for the XML that Route53 answers with
 * (REST-XML, https://route53.amazonaws.com/doc/2013-04-01/).
 *
 * Owns only tokenising: start/end tags, character data with the
 * predefined and numeric entities, comments and one XML declaration.  No
 * DTDs (so no entity expansion), no CDATA, no namespaces beyond dropping
 * a prefix.  Pure: no I/O, no allocation; every size is bounded by
 * pds_limits.h.  Meaning is given by the caller's callback
 * (dns_route53.c).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cron.h"

struct cxml_st {
	const char	*p;
	size_t		 len, off;
	cxml_cb		 cb;
	void		*arg;
	char		*err;
	size_t		 errsz;
	int		 depth;
	int		 seen_root;
	char		 stack[LIM_XML_DEPTH][LIM_XML_NAME + 1];
	char		 text[LIM_XML_TEXT + 1];
	size_t		 textlen;
	int		 text_blank;	/* only whitespace so far */
};

static int __attribute__((format(printf, 2, 3)))
cxml_fail(struct cxml_st *st, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	if (st->errsz == 0)
		return -1;
	va_start(ap, fmt);
	n = vsnprintf(st->err, st->errsz, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < st->errsz)
		(void)snprintf(st->err + n, st->errsz - (size_t)n,
		    " at byte %zu", st->off);
	return -1;
}

static int
cxml_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int
cxml_is_name(char c, int first)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	    c == ':')
		return 1;
	return !first && ((c >= '0' && c <= '9') || c == '-' || c == '.');
}

static int
cxml_starts(const struct cxml_st *st, const char *s)
{
	size_t	n = strlen(s);

	return st->len - st->off >= n && memcmp(st->p + st->off, s, n) == 0;
}

/* Appends one code point as UTF-8 to the text run. */
static int
cxml_put_cp(struct cxml_st *st, unsigned long cp)
{
	char	u[4];
	size_t	n;

	if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return cxml_fail(st, "bad character reference");
	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	if (st->textlen + n > LIM_XML_TEXT)
		return cxml_fail(st, "text longer than %d bytes",
		    LIM_XML_TEXT);
	memcpy(st->text + st->textlen, u, n);
	st->textlen += n;
	if (!cxml_is_space((char)cp))
		st->text_blank = 0;
	return 0;
}

/* Decodes one entity reference starting at '&'. */
static int
cxml_entity(struct cxml_st *st)
{
	static const struct { const char *name; char c; } named[] = {
		{ "lt;", '<' }, { "gt;", '>' }, { "amp;", '&' },
		{ "quot;", '"' }, { "apos;", '\'' },
	};
	unsigned long	 cp = 0;
	size_t		 i, digits = 0;
	int		 hex;

	st->off++;
	for (i = 0; i < sizeof(named) / sizeof(named[0]); i++)
		if (cxml_starts(st, named[i].name)) {
			st->off += strlen(named[i].name);
			return cxml_put_cp(st, (unsigned char)named[i].c);
		}
	if (!cxml_starts(st, "#"))
		return cxml_fail(st, "unknown entity");
	st->off++;
	hex = cxml_starts(st, "x");
	st->off += (size_t)hex;
	for (; st->off < st->len && st->p[st->off] != ';'; st->off++) {
		char c = st->p[st->off];
		int d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (hex && c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (hex && c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return cxml_fail(st, "bad character reference");
		if (++digits > 8)
			return cxml_fail(st, "character reference too long");
		cp = cp * (hex ? 16 : 10) + (unsigned long)d;
	}
	if (st->off >= st->len || digits == 0)
		return cxml_fail(st, "bad character reference");
	st->off++;
	return cxml_put_cp(st, cp);
}

/* The local part of a possibly prefixed name. */
static const char *
cxml_local(const char *name)
{
	const char	*c = strrchr(name, ':');

	return c != NULL ? c + 1 : name;
}

/* Hands a non-blank text run to the callback. */
static int
cxml_flush_text(struct cxml_st *st)
{
	struct cxml_event	ev;

	if (st->textlen == 0 || st->text_blank) {
		st->textlen = 0;
		st->text_blank = 1;
		return 0;
	}
	if (st->depth == 0)
		return cxml_fail(st, "text outside the root element");
	st->text[st->textlen] = '\0';
	memset(&ev, 0, sizeof(ev));
	ev.ev = CXML_TEXT;
	ev.name = cxml_local(st->stack[st->depth - 1]);
	ev.text = st->text;
	ev.textlen = st->textlen;
	ev.depth = st->depth;
	st->textlen = 0;
	st->text_blank = 1;
	return st->cb(&ev, st->arg);
}

/* Reads a name at off into out; returns its length or -1. */
static int
cxml_name(struct cxml_st *st, char *out)
{
	size_t	n = 0;

	if (st->off >= st->len || !cxml_is_name(st->p[st->off], 1))
		return cxml_fail(st, "expected a name");
	while (st->off < st->len && cxml_is_name(st->p[st->off], 0)) {
		if (n >= LIM_XML_NAME)
			return cxml_fail(st, "name longer than %d bytes",
			    LIM_XML_NAME);
		out[n++] = st->p[st->off++];
	}
	out[n] = '\0';
	return (int)n;
}

static void
cxml_skip_space(struct cxml_st *st)
{
	while (st->off < st->len && cxml_is_space(st->p[st->off]))
		st->off++;
}

/* Skips attributes up to '>' or "/>"; sets *empty for the latter. */
static int
cxml_attrs(struct cxml_st *st, int *empty)
{
	char	name[LIM_XML_NAME + 1], q;

	*empty = 0;
	for (;;) {
		size_t before = st->off;

		cxml_skip_space(st);
		if (st->off >= st->len)
			return cxml_fail(st, "unterminated tag");
		if (st->p[st->off] == '>') {
			st->off++;
			return 0;
		}
		if (cxml_starts(st, "/>")) {
			st->off += 2;
			*empty = 1;
			return 0;
		}
		if (st->off == before)
			return cxml_fail(st, "expected space before attribute");
		if (cxml_name(st, name) == -1)
			return -1;
		cxml_skip_space(st);
		if (!cxml_starts(st, "="))
			return cxml_fail(st, "expected '='");
		st->off++;
		cxml_skip_space(st);
		if (st->off >= st->len || (st->p[st->off] != '"' &&
		    st->p[st->off] != '\''))
			return cxml_fail(st, "expected a quoted value");
		q = st->p[st->off++];
		while (st->off < st->len && st->p[st->off] != q) {
			if (st->p[st->off] == '<')
				return cxml_fail(st, "'<' in attribute");
			st->off++;
		}
		if (st->off >= st->len)
			return cxml_fail(st, "unterminated attribute");
		st->off++;
	}
}

static int
cxml_emit(struct cxml_st *st, enum cxml_ev type, const char *name)
{
	struct cxml_event	ev;

	memset(&ev, 0, sizeof(ev));
	ev.ev = type;
	ev.name = name;
	ev.depth = st->depth;
	return st->cb(&ev, st->arg);
}

static int
cxml_open_tag(struct cxml_st *st)
{
	char	name[LIM_XML_NAME + 1];
	int	empty;

	st->off++;
	if (cxml_name(st, name) == -1 || cxml_attrs(st, &empty) == -1)
		return -1;
	if (st->depth == 0 && st->seen_root)
		return cxml_fail(st, "second root element");
	if (st->depth >= LIM_XML_DEPTH)
		return cxml_fail(st, "nested deeper than %d", LIM_XML_DEPTH);
	memcpy(st->stack[st->depth], name, sizeof(name));
	st->depth++;
	st->seen_root = 1;
	if (cxml_emit(st, CXML_OPEN, cxml_local(st->stack[st->depth - 1]))
	    == -1)
		return -1;
	if (empty) {
		if (cxml_emit(st, CXML_CLOSE,
		    cxml_local(st->stack[st->depth - 1])) == -1)
			return -1;
		st->depth--;
	}
	return 0;
}

static int
cxml_close_tag(struct cxml_st *st)
{
	char	name[LIM_XML_NAME + 1];

	st->off += 2;
	if (cxml_name(st, name) == -1)
		return -1;
	cxml_skip_space(st);
	if (!cxml_starts(st, ">"))
		return cxml_fail(st, "expected '>'");
	st->off++;
	if (st->depth == 0 || strcmp(st->stack[st->depth - 1], name) != 0)
		return cxml_fail(st, "mismatched end tag");
	if (cxml_emit(st, CXML_CLOSE, cxml_local(st->stack[st->depth - 1]))
	    == -1)
		return -1;
	st->depth--;
	return 0;
}

/* Skips "<!-- ... -->"; "--" inside is refused as XML 1.0 says. */
static int
cxml_comment(struct cxml_st *st)
{
	st->off += 4;
	for (; st->off + 1 < st->len; st->off++)
		if (st->p[st->off] == '-' && st->p[st->off + 1] == '-') {
			if (st->off + 2 < st->len && st->p[st->off + 2] == '>') {
				st->off += 3;
				return 0;
			}
			return cxml_fail(st, "'--' in comment");
		}
	return cxml_fail(st, "unterminated comment");
}

/* Skips the XML declaration, allowed only at the very start. */
static int
cxml_decl(struct cxml_st *st)
{
	if (st->off != 0 || !cxml_starts(st, "<?xml") || st->len < 6 ||
	    !cxml_is_space(st->p[5]))
		return cxml_fail(st, "processing instruction");
	for (st->off = 5; st->off + 1 < st->len; st->off++)
		if (st->p[st->off] == '?' && st->p[st->off + 1] == '>') {
			st->off += 2;
			return 0;
		}
	return cxml_fail(st, "unterminated declaration");
}

static int
cxml_markup(struct cxml_st *st)
{
	if (cxml_flush_text(st) == -1)
		return -1;
	if (cxml_starts(st, "<?"))
		return cxml_decl(st);
	if (cxml_starts(st, "<!--"))
		return cxml_comment(st);
	if (cxml_starts(st, "<!"))
		return cxml_fail(st, "DOCTYPE or CDATA not accepted");
	if (cxml_starts(st, "</"))
		return cxml_close_tag(st);
	return cxml_open_tag(st);
}

int
cxml_scan(const char *p, size_t len, cxml_cb cb, void *arg, char *err,
    size_t errsz)
{
	struct cxml_st	st;
	unsigned char	c;

	memset(&st, 0, sizeof(st));
	st.p = p;
	st.len = len;
	st.cb = cb;
	st.arg = arg;
	st.err = err;
	st.errsz = errsz;
	st.text_blank = 1;
	if (errsz > 0)
		err[0] = '\0';
	while (st.off < st.len) {
		c = (unsigned char)p[st.off];
		if (c == '<') {
			if (cxml_markup(&st) == -1)
				return -1;
		} else if (c == '&') {
			if (cxml_entity(&st) == -1)
				return -1;
		} else if (c == 0 || (c < 0x20 && !cxml_is_space((char)c))) {
			return cxml_fail(&st, "control byte");
		} else if (c == '>' && st.depth == 0) {
			return cxml_fail(&st, "stray '>'");
		} else {
			if (st.textlen >= LIM_XML_TEXT)
				return cxml_fail(&st, "text longer than %d "
				    "bytes", LIM_XML_TEXT);
			st.text[st.textlen++] = (char)c;
			if (!cxml_is_space((char)c))
				st.text_blank = 0;
			st.off++;
		}
	}
	if (cxml_flush_text(&st) == -1)
		return -1;
	if (!st.seen_root)
		return cxml_fail(&st, "no root element");
	if (st.depth != 0)
		return cxml_fail(&st, "unclosed element");
	return 0;
}
