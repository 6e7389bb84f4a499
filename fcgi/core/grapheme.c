/*
 * grapheme.c: UAX #29 extended grapheme cluster boundaries over UTF-8.
 * See grapheme.h; the property table is grapheme_tab.c.
 *
 * A small state machine walks the code points once: the class of the
 * previous one, how many regional indicators end the text so far (GB12,
 * GB13), whether an Extended_Pictographic Extend* ZWJ sequence just ended
 * (GB11), and whether an Indic conjunct Consonant [Extend|Linker]* with a
 * Linker precedes (GB9c).
 */
#include <stddef.h>
#include <stdint.h>

#include "grapheme.h"

/* Grapheme_Cluster_Break values, as grapheme_gen.mjs numbers them. */
enum gcb {
	GCB_OTHER, GCB_CR, GCB_LF, GCB_CONTROL, GCB_EXTEND, GCB_ZWJ, GCB_RI,
	GCB_PREPEND, GCB_SPACINGMARK, GCB_L, GCB_V, GCB_T, GCB_LV, GCB_LVT,
	GCB__MAX
};

#define CLS_GCB(c)	((enum gcb)((c) & 0x0f))
#define CLS_EXTPICT	0x10
#define CLS_INCB(c)	(((c) >> 5) & 0x03)
#define INCB_CONSONANT	1
#define INCB_EXTEND	2
#define INCB_LINKER	3

struct gstate {
	unsigned	prev;		/* class of the previous code point */
	size_t		ri;	/* regional indicators ending the text */
	int		emoji;	/* 1: ExtPict Extend*, 2: then ZWJ */
	int		incb;	/* 1: Consonant [Ext|Lnk]*, 2: and Lnk */
	int		started;
};

static unsigned
class_of(int32_t cp)
{
	size_t		lo = 0, hi = grapheme_nruns, mid;
	uint32_t	key;

	if (cp < 0)
		return GCB_CONTROL;	/* a stray byte stands alone */
	key = (uint32_t)cp << 8 | 0xff;
	while (hi - lo > 1) {	/* last run starting at or before cp */
		mid = lo + (hi - lo) / 2;
		if (grapheme_runs[mid] <= key)
			lo = mid;
		else
			hi = mid;
	}
	return grapheme_runs[lo] & 0xff;
}

size_t
grapheme_utf8_next(const uint8_t *p, size_t len, int32_t *cp)
{
	uint32_t	c = p[0], min;
	size_t		n, i;

	if (c < 0x80) {
		*cp = (int32_t)c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		min = 0x80;
		c &= 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		min = 0x800;
		c &= 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		min = 0x10000;
		c &= 0x07;
	} else
		goto bad;
	if (n > len)
		goto bad;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			goto bad;
		c = c << 6 | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		goto bad;
	*cp = (int32_t)c;
	return n;
bad:
	*cp = -1;
	return 1;
}

static int
is_ctl(enum gcb g)
{
	return g == GCB_CONTROL || g == GCB_CR || g == GCB_LF;
}

/* Hangul syllable sequences (GB6, GB7, GB8). */
static int
hangul_joins(enum gcb b, enum gcb a)
{
	if (b == GCB_L)
		return a == GCB_L || a == GCB_V || a == GCB_LV || a == GCB_LVT;
	if (b == GCB_LV || b == GCB_V)
		return a == GCB_V || a == GCB_T;
	if (b == GCB_LVT || b == GCB_T)
		return a == GCB_T;
	return 0;
}

/* Is there a boundary before a code point of class cur?  GB3 to GB999. */
static int
boundary(const struct gstate *s, unsigned cur)
{
	enum gcb	b = CLS_GCB(s->prev), a = CLS_GCB(cur);

	if (b == GCB_CR && a == GCB_LF)
		return 0;				/* GB3 */
	if (is_ctl(b) || is_ctl(a))
		return 1;				/* GB4, GB5 */
	if (hangul_joins(b, a))
		return 0;				/* GB6-GB8 */
	if (a == GCB_EXTEND || a == GCB_ZWJ || a == GCB_SPACINGMARK ||
	    b == GCB_PREPEND)
		return 0;				/* GB9-GB9b */
	if (CLS_INCB(cur) == INCB_CONSONANT && s->incb == 2)
		return 0;				/* GB9c */
	if (b == GCB_ZWJ && (cur & CLS_EXTPICT) && s->emoji == 2)
		return 0;				/* GB11 */
	if (b == GCB_RI && a == GCB_RI && s->ri % 2 == 1)
		return 0;				/* GB12, GB13 */
	return 1;				/* GB999 */
}

static void
advance(struct gstate *s, unsigned cur)
{
	enum gcb	a = CLS_GCB(cur);
	unsigned	incb = CLS_INCB(cur);

	if (cur & CLS_EXTPICT)
		s->emoji = 1;
	else if (s->emoji == 1 && a == GCB_EXTEND)
		s->emoji = 1;
	else if (s->emoji == 1 && a == GCB_ZWJ)
		s->emoji = 2;
	else
		s->emoji = 0;
	if (incb == INCB_CONSONANT)
		s->incb = 1;
	else if (s->incb != 0 && incb == INCB_LINKER)
		s->incb = 2;
	else if (s->incb == 0 || incb != INCB_EXTEND)
		s->incb = 0;
	s->ri = a == GCB_RI ? s->ri + 1 : 0;
	s->prev = cur;
	s->started = 1;
}

size_t
grapheme_count(const uint8_t *p, size_t len)
{
	struct gstate	s = { 0, 0, 0, 0, 0 };
	size_t		i = 0, n = 0;
	int32_t		cp;
	unsigned	cur;

	while (i < len) {
		i += grapheme_utf8_next(p + i, len - i, &cp);
		cur = class_of(cp);
		if (!s.started || boundary(&s, cur))
			n++;
		advance(&s, cur);
	}
	return n;
}

int
grapheme_is_break(const uint8_t *p, size_t len, size_t off)
{
	struct gstate	s = { 0, 0, 0, 0, 0 };
	size_t		i = 0;
	int32_t		cp;
	unsigned	cur;

	while (i < len) {
		size_t	at = i;

		i += grapheme_utf8_next(p + i, len - i, &cp);
		cur = class_of(cp);
		if (at == off)
			return s.started ? boundary(&s, cur) : 1;
		advance(&s, cur);
	}
	return 1;
}
