/*
 * hub.c: what each subscriber receives.  Reads new repo_seq rows and
 * broadcasts them to live clients; replays from a cursor in pages; the
 * cursor rules of the reference (api/com/atproto/sync/subscribeRepos.ts,
 * sequencer/outbox.ts; reference-pds.md d).
 *
 * Replay to live with no gap and no duplicate: live_seq is the last seq
 * broadcast.  A replaying client reads rows after its own position up to
 * live_seq; when a page comes back short it has every row <= live_seq and
 * becomes live, and every later broadcast has seq > live_seq.  All of it
 * runs on the one loop thread, so nothing moves in between.  Frames
 * skip seq <= the client's last (the reference's lastSeen check).
 *
 * Each row is encoded once: frames are kept in a small cache by seq, so
 * clients replaying the same stretch, and the broadcast, share bytes.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fh.h"
#include "log.h"
#include "util.h"

/* ---- the frame cache ---------------------------------------------------- */

static struct fh_frame *
hub_cache_get(struct fh *fh, int64_t seq)
{
	struct fh_frame	*f = fh->cache[(uint64_t)seq % LIM_FH_CACHE_FRAMES];

	return f != NULL && f->seq == seq ? frame_ref(f) : NULL;
}

static void
hub_cache_put(struct fh *fh, struct fh_frame *f)
{
	struct fh_frame	**slot;

	slot = &fh->cache[(uint64_t)f->seq % LIM_FH_CACHE_FRAMES];
	if (*slot != NULL) {
		fh->cache_bytes -= (*slot)->len;
		frame_unref(*slot);
		*slot = NULL;
	}
	if (f->len > LIM_FH_CACHE_FRAME_MAX ||
	    fh->cache_bytes + f->len > LIM_FH_CACHE_BYTES)
		return;
	*slot = frame_ref(f);
	fh->cache_bytes += f->len;
}

void
hub_cache_clear(struct fh *fh)
{
	size_t	i;

	for (i = 0; i < LIM_FH_CACHE_FRAMES; i++) {
		frame_unref(fh->cache[i]);
		fh->cache[i] = NULL;
	}
	fh->cache_bytes = 0;
}

/* The frame for a row: from the cache, or encoded now and cached.
 * NULL when the stored event is malformed (logged; the row is skipped). */
static struct fh_frame *
hub_frame(struct fh *fh, const struct seqdb_row *row)
{
	struct fh_frame	*f;

	if ((f = hub_cache_get(fh, row->seq)) != NULL)
		return f;
	if (row->type >= SEQDB__MAX) {
		log_warn("%s: seq %lld: unknown eventType; skipped", __func__,
		    (long long)row->seq);
		return NULL;
	}
	if ((f = frame_event_new(row, &fh->scratch, &fh->enc)) != NULL)
		hub_cache_put(fh, f);
	return f;
}

/* ---- the database ------------------------------------------------------- */

int
hub_open(struct fh *fh)
{
	int64_t	max = 0;

	if (fh->db != NULL)
		return 0;
	if (access(fh->db_path, F_OK) == -1)
		return 0;	/* not created yet: the next poll retries */
	if (seqdb_open(fh->db_path, SEQDB_RDONLY, &fh->db) == -1)
		return -1;
	if (seqdb_max_seq(fh->db, &max) == -1) {
		seqdb_close(fh->db);
		fh->db = NULL;
		return -1;
	}
	/* A database that appeared after we started is all new: broadcast
	 * it from the start.  Otherwise live starts at its end, as the
	 * reference's sequencer does (lastSeen = curr()); a reopen after a
	 * read error goes on from where it was. */
	if (!fh->db_was_missing && !fh->live_init)
		fh->live_seq = max;
	fh->live_init = 1;
	log_info("%s: %s: seq %lld, live from %lld", __func__, fh->db_path,
	    (long long)max, (long long)fh->live_seq);
	return 0;
}

void
hub_close(struct fh *fh)
{
	seqdb_close(fh->db);
	fh->db = NULL;
	hub_cache_clear(fh);
}

/* ---- live --------------------------------------------------------------- */

static int
hub_tail_row(const struct seqdb_row *row, void *arg)
{
	struct fh	*fh = arg;
	struct fh_frame	*f;
	struct fh_conn	*c, *next;

	fh->live_seq = row->seq;
	if ((f = hub_frame(fh, row)) == NULL)
		return 0;
	for (c = fh->conns; c != NULL; c = next) {
		next = c->next;
		if (c->state == CS_LIVE)
			conn_push(fh, c, f);
	}
	frame_unref(f);
	fh->broadcast++;
	return 0;
}

long
hub_tail(struct fh *fh)
{
	long	n, total = 0;
	int64_t	before;
	int	pages;

	if (fh->db == NULL && (hub_open(fh) == -1 || fh->db == NULL))
		return 0;
	before = fh->live_seq;
	for (pages = 0; pages < LIM_FH_TAIL_PAGES; pages++) {
		n = seqdb_read(fh->db, fh->live_seq, INT64_MAX,
		    LIM_FH_TAIL_ROWS, hub_tail_row, fh);
		if (n == -1) {
			/* Reopened on the next poll (a file replaced under
			 * us, a transient I/O error). */
			log_warn("%s: read failed; reopening", __func__);
			seqdb_close(fh->db);
			fh->db = NULL;
			return -1;
		}
		total += n;
		if (n < LIM_FH_TAIL_ROWS)
			break;
	}
	if (pages == LIM_FH_TAIL_PAGES)
		fh->more_rows = 1;	/* let clients drain; read on */
	else
		fh->more_rows = 0;
	return fh->live_seq != before ? total : 0;
}

/* ---- replay ------------------------------------------------------------- */

struct hub_page {
	struct fh	*fh;
	struct fh_conn	*c;
	int		 stopped;
};

static int
hub_page_row(const struct seqdb_row *row, void *arg)
{
	struct hub_page	*pg = arg;
	struct fh_conn	*c = pg->c;
	struct fh_frame	*f;

	if ((f = hub_frame(pg->fh, row)) == NULL) {
		if (row->seq > c->last_seq)
			c->last_seq = row->seq;
		return 0;
	}
	conn_push(pg->fh, c, f);
	frame_unref(f);
	if (c->state != CS_REPLAY) {
		pg->stopped = 1;
		return 1;
	}
	if (c->qbytes >= LIM_FH_REPLAY_BYTES ||
	    c->qevents >= pg->fh->max_buffer) {
		pg->stopped = 1;
		return 1;
	}
	return 0;
}

void
hub_replay_page(struct fh *fh, struct fh_conn *c)
{
	struct hub_page	pg = { fh, c, 0 };
	size_t		room, limit;
	long		n;

	if (c->state != CS_REPLAY)
		return;
	if (fh->db == NULL && hub_open(fh) == -1) {
		/* The file is there but unreadable: never skip events. */
		conn_fail(fh, c, "InternalServerError",
		    "Internal Server Error");
		return;
	}
	if (fh->db == NULL) {
		/* No database yet: nothing to replay. */
		conn_set_state(fh, c, CS_LIVE);
		return;
	}
	if (c->qevents >= fh->max_buffer)
		return;
	room = fh->max_buffer - c->qevents;
	limit = room < LIM_FH_PAGE_ROWS ? room : LIM_FH_PAGE_ROWS;
	n = seqdb_read(fh->db, c->last_seq, fh->live_seq, limit,
	    hub_page_row, &pg);
	if (n == -1) {
		conn_fail(fh, c, "InternalServerError",
		    "Internal Server Error");
		return;
	}
	if (!pg.stopped && (size_t)n < limit && c->state == CS_REPLAY) {
		/* Every row <= live_seq is queued: from now on the
		 * broadcast carries the rest. */
		conn_set_state(fh, c, CS_LIVE);
	} else if (c->state == CS_REPLAY && c->qlen == 0) {
		/* A page of rows that were all skipped queues nothing, so
		 * no write will ask for the next one: ask now. */
		hub_want_page(fh, c);
	}
}

void
hub_want_page(struct fh *fh, struct fh_conn *c)
{
	if (c->in_replay_list || c->state != CS_REPLAY)
		return;
	c->in_replay_list = 1;
	c->rnext = fh->pages;
	fh->pages = c;
}

void
hub_run_pages(struct fh *fh)
{
	struct fh_conn	*c, *next;

	c = fh->pages;
	fh->pages = NULL;
	/* One page per client per loop turn: a client replaying a long
	 * history never holds up the others. */
	for (; c != NULL; c = next) {
		next = c->rnext;
		c->rnext = NULL;
		c->in_replay_list = 0;
		if (c->state == CS_REPLAY)
			hub_replay_page(fh, c);
	}
}

/* ---- cursors ------------------------------------------------------------ */

/* Length of the JS white space or line terminator at p (ECMA-262
 * StrWhiteSpaceChar, as parseInt skips it), or 0. */
static size_t
hub_js_space(const uint8_t *p, size_t len)
{
	static const char *const u[] = {
		"\xc2\xa0", "\xef\xbb\xbf", "\xe1\x9a\x80", "\xe2\x80\xaf",
		"\xe2\x81\x9f", "\xe3\x80\x80", "\xe2\x80\xa8", "\xe2\x80\xa9",
	};
	size_t	i, n;

	if (len == 0)
		return 0;
	if (p[0] == ' ' || (p[0] >= '\t' && p[0] <= '\r'))
		return 1;
	/* U+2000..U+200A */
	if (len >= 3 && p[0] == 0xe2 && p[1] == 0x80 && p[2] >= 0x80 &&
	    p[2] <= 0x8a)
		return 3;
	for (i = 0; i < sizeof(u) / sizeof(u[0]); i++) {
		n = strlen(u[i]);
		if (len >= n && memcmp(p, u[i], n) == 0)
			return n;
	}
	return 0;
}

/* parseInt(s, 10) || 0, saturating at the int64 range. */
static int64_t
hub_js_parseint(const uint8_t *p, size_t len)
{
	uint64_t	v = 0;
	size_t		i = 0, n;
	int		neg = 0, digits = 0, over = 0;

	while ((n = hub_js_space(p + i, len - i)) > 0)
		i += n;
	if (i < len && (p[i] == '+' || p[i] == '-'))
		neg = p[i++] == '-';
	for (; i < len && p[i] >= '0' && p[i] <= '9'; i++) {
		digits = 1;
		if (v > ((uint64_t)INT64_MAX - (uint64_t)(p[i] - '0')) / 10)
			over = 1;
		else
			v = v * 10 + (uint64_t)(p[i] - '0');
	}
	if (!digits)
		return 0;		/* NaN || 0 */
	if (over)
		return neg ? INT64_MIN : INT64_MAX;
	return neg ? -(int64_t)v : (int64_t)v;
}

int
hub_cursor_parse(const char *q, size_t qlen, int *has, int64_t *cursor)
{
	struct ws_str	v;
	char		dec[256];
	int		n, dn;

	*has = 0;
	*cursor = 0;
	if (q == NULL)
		return 0;
	if (ws_query_get(q, qlen, "__proto__", &v) > 0)
		return -1;
	if ((n = ws_query_get(q, qlen, "cursor", &v)) == 0)
		return 0;
	/* Only a prefix matters to parseInt; a longer value is cut. */
	dn = ws_form_decode(v.p, v.len < sizeof(dec) / 3 ? v.len :
	    sizeof(dec) / 3, dec, sizeof(dec));
	if (dn < 0)
		dn = 0;
	/* A single empty value is "no cursor" (decodeQueryParam's !value);
	 * repeated values make an array, always truthy, parsed as
	 * "a,b": the first value's digits or 0. */
	if (n == 1 && dn == 0)
		return 0;
	*has = 1;
	*cursor = hub_js_parseint((const uint8_t *)dec, (size_t)dn);
	return 0;
}

/* The first event after the cursor is older than the backfill window:
 * #info OutdatedCursor, then replay from the oldest event inside it, or
 * go live when there is none. */
static void
hub_outdated(struct fh *fh, struct fh_conn *c, const char *since)
{
	struct fh_frame	*f;
	int64_t		 start = 0;
	int		 r;

	if ((f = frame_info_new("OutdatedCursor",
	    "Requested cursor exceeded limit. Possibly missing events")) ==
	    NULL) {
		conn_free(fh, c, "out of memory");
		return;
	}
	conn_push(fh, c, f);
	frame_unref(f);
	if ((r = seqdb_first_since(fh->db, since, &start)) == -1) {
		conn_fail(fh, c, "InternalServerError",
		    "Internal Server Error");
		return;
	}
	if (r == 0 || start == 0) {
		c->last_seq = fh->live_seq;
		return;			/* live */
	}
	c->last_seq = start - 1;
	conn_set_state(fh, c, CS_REPLAY);
	hub_want_page(fh, c);
}

void
hub_subscribe(struct fh *fh, struct fh_conn *c)
{
	char	since[UTIL_ISO_LEN], next_time[64];
	int64_t	curr = 0, next = 0;
	int	r = 0;

	if (!c->has_cursor) {
		c->last_seq = fh->live_seq;	/* live only */
		return;
	}
	if (fh->db == NULL)
		(void)hub_open(fh);
	if (fh->db != NULL && seqdb_max_seq(fh->db, &curr) == -1)
		goto fail;
	if (c->cursor > curr) {
		conn_fail(fh, c, "FutureCursor", "Cursor in the future.");
		return;
	}
	util_iso_time(util_now_ms() - fh->backfill_ms, since);
	if (fh->db != NULL && (r = seqdb_next(fh->db, c->cursor, &next,
	    next_time, sizeof(next_time))) == -1)
		goto fail;
	/* The reference compares the ISO strings. */
	if (r == 1 && strcmp(next_time, since) < 0) {
		hub_outdated(fh, c, since);
		return;
	}
	c->last_seq = c->cursor;
	conn_set_state(fh, c, CS_REPLAY);
	hub_want_page(fh, c);
	return;
fail:
	conn_fail(fh, c, "InternalServerError", "Internal Server Error");
}
