/*
 * tool_seq.c: writes synthetic events into a sequencer.sqlite through
 * seqdb (the same code the workers use), for the firehose tests and
 * benchmark.  Bodies have the reference's fields per type
 * (reference-pds.md d): #commit {repo, commit, rev, since, blocks, ops,
 * prevData, rebase, tooBig, blobs}, #sync {did, rev, blocks}, #identity
 * {did, handle}, #account {did, active[, status]}.
 *
 *	tool_seq DB [--count N] [--batch B] [--rate R] [--type T]
 *	    [--size BYTES] [--age-ms MS] [--did DID] [--stamp]
 *	tool_seq DB --invalidate SEQ | --bogus | --max
 *
 * --type: append|sync|identity|account|mix (default mix).  --batch: events
 * per transaction.  --rate: events per second (0: as fast as possible).
 * --size: bytes of the "blocks" field of commits.  --age-ms: sequencedAt
 * this far in the past.  --stamp: after each commit print
 * "<last seq> <wall clock us>" (for latency measurements).  Prints
 * "first <seq> last <seq>" at the end.  Exit 0, or 1 on failure.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "arena.h"
#include "buf.h"
#include "cbor.h"
#include "cid.h"
#include "log.h"
#include "seqdb.h"
#include "tid.h"
#include "util.h"

struct opts {
	const char	*db;
	int64_t		 count, batch, rate, size, age_ms;
	const char	*type, *did;
	int		 stamp;
};

static struct cbor_val *
text(struct arena *a, const char *s)
{
	return cbor_new_cstr(a, s);
}

static struct cbor_val *
link_of(struct arena *a, const char *what, int64_t n)
{
	struct cid	c;
	char		s[64];

	snprintf(s, sizeof(s), "%s-%lld", what, (long long)n);
	cid_compute(&c, CID_CODEC_DAG_CBOR, s, strlen(s));
	return cbor_new_link(a, &c);
}

/* Builds the body of one event of type t into out. */
static int
body(struct arena *a, struct buf *out, enum seqdb_type t, const char *did,
    int64_t n, int64_t size)
{
	struct cbor_val	*m, *ops, *op, *blk = NULL;
	char		 rev[TID_STR_LEN], prev[TID_STR_LEN], s[64];
	uint8_t		*bytes;
	uint64_t	 us = (uint64_t)util_now_us();

	tid_format(tid_make(us, 1), rev);
	tid_format(tid_make(us - 1000, 1), prev);
	m = cbor_new_map(a, 10);
	if (m == NULL)
		return -1;
	if (t == SEQDB_APPEND || t == SEQDB_SYNC) {
		if ((bytes = arena_alloc(a, (size_t)size)) == NULL)
			return -1;
		memset(bytes, (int)(n & 0xff), (size_t)size);
		blk = cbor_new_bytes(a, bytes, (size_t)size);
	}
	switch (t) {
	case SEQDB_APPEND:
		ops = cbor_new_array(a, 1);
		op = cbor_new_map(a, 3);
		snprintf(s, sizeof(s), "app.bsky.feed.post/%s", rev);
		if (ops == NULL || op == NULL ||
		    cbor_map_set(a, op, "action", text(a, "create")) == -1 ||
		    cbor_map_set(a, op, "path", text(a, s)) == -1 ||
		    cbor_map_set(a, op, "cid", link_of(a, "rec", n)) == -1 ||
		    cbor_array_push(a, ops, op) == -1 ||
		    cbor_map_set(a, m, "repo", text(a, did)) == -1 ||
		    cbor_map_set(a, m, "commit", link_of(a, "commit", n)) ==
		    -1 || cbor_map_set(a, m, "rev", text(a, rev)) == -1 ||
		    cbor_map_set(a, m, "since", text(a, prev)) == -1 ||
		    cbor_map_set(a, m, "blocks", blk) == -1 ||
		    cbor_map_set(a, m, "ops", ops) == -1 ||
		    cbor_map_set(a, m, "prevData", link_of(a, "data", n)) ==
		    -1 || cbor_map_set(a, m, "rebase", cbor_new_bool(a, 0)) ==
		    -1 || cbor_map_set(a, m, "tooBig", cbor_new_bool(a, 0)) ==
		    -1 || cbor_map_set(a, m, "blobs", cbor_new_array(a, 0)) ==
		    -1)
			return -1;
		break;
	case SEQDB_SYNC:
		if (cbor_map_set(a, m, "did", text(a, did)) == -1 ||
		    cbor_map_set(a, m, "rev", text(a, rev)) == -1 ||
		    cbor_map_set(a, m, "blocks", blk) == -1)
			return -1;
		break;
	case SEQDB_IDENTITY:
		snprintf(s, sizeof(s), "user%lld.test", (long long)n);
		if (cbor_map_set(a, m, "did", text(a, did)) == -1 ||
		    cbor_map_set(a, m, "handle", text(a, s)) == -1)
			return -1;
		break;
	default:
		if (cbor_map_set(a, m, "did", text(a, did)) == -1 ||
		    cbor_map_set(a, m, "active", cbor_new_bool(a, n % 2)) == -1
		    || (n % 2 == 0 && cbor_map_set(a, m, "status",
		    text(a, "deactivated")) == -1))
			return -1;
		break;
	}
	buf_reset(out);
	return cbor_encode(out, m);
}

static enum seqdb_type
pick(const char *type, int64_t n)
{
	enum seqdb_type	t;

	if (strcmp(type, "mix") == 0)
		return n % 10 == 3 ? SEQDB_IDENTITY : n % 10 == 7 ?
		    SEQDB_ACCOUNT : n % 10 == 9 ? SEQDB_SYNC : SEQDB_APPEND;
	if (seqdb_type_parse(type, strlen(type), &t) == -1) {
		fprintf(stderr, "tool_seq: unknown type %s\n", type);
		exit(2);
	}
	return t;
}

static void
pace(int64_t start_us, int64_t done, int64_t rate)
{
	struct timespec	ts;
	int64_t		due, now;

	if (rate <= 0)
		return;
	due = start_us + done * 1000000 / rate;
	now = util_mono_us();
	if (due <= now)
		return;
	ts.tv_sec = (due - now) / 1000000;
	ts.tv_nsec = ((due - now) % 1000000) * 1000;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static int
write_events(struct seqdb *s, const struct opts *o)
{
	struct arena	a;
	struct buf	b;
	int64_t		i, seq = 0, first = 0, start = util_mono_us();
	int		rc = -1, in_tx = 0;

	arena_init(&a);
	buf_init(&b, 0);
	for (i = 0; i < o->count; i++) {
		if (!in_tx && o->batch > 1) {
			if (seqdb_begin(s) == -1)
				goto out;
			in_tx = 1;
		}
		arena_reset(&a);
		if (body(&a, &b, pick(o->type, i), o->did, i, o->size) == -1 ||
		    seqdb_append(s, o->did, pick(o->type, i), b.data, b.len,
		    util_now_ms() - o->age_ms, &seq) == -1)
			goto out;
		if (first == 0)
			first = seq;
		if (in_tx && ((i + 1) % o->batch == 0 || i + 1 == o->count)) {
			if (seqdb_commit(s) == -1)
				goto out;
			in_tx = 0;
		}
		if (!in_tx && o->stamp) {
			printf("%lld %lld\n", (long long)seq,
			    (long long)util_now_us());
			fflush(stdout);
		}
		if (!in_tx)
			pace(start, i + 1, o->rate);
	}
	printf("first %lld last %lld\n", (long long)first, (long long)seq);
	rc = 0;
out:
	if (in_tx)
		seqdb_rollback(s);
	arena_free(&a);
	buf_free(&b);
	return rc;
}

/* Raw SQL for what seqdb deliberately cannot do. */
static int
raw(const char *db, const char *sql, int64_t arg)
{
	sqlite3		*h = NULL;
	sqlite3_stmt	*st = NULL;
	char		 iso[UTIL_ISO_LEN];
	int		 rc = -1;

	util_iso_time(util_now_ms(), iso);
	if (sqlite3_open(db, &h) == SQLITE_OK &&
	    sqlite3_busy_timeout(h, 5000) == SQLITE_OK &&
	    sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_bind_int64(st, 1, arg) == SQLITE_OK &&
	    (sqlite3_bind_parameter_count(st) < 2 ||
	    sqlite3_bind_text(st, 2, iso, -1, SQLITE_STATIC) == SQLITE_OK) &&
	    sqlite3_step(st) == SQLITE_DONE)
		rc = 0;
	else
		fprintf(stderr, "tool_seq: %s\n", sqlite3_errmsg(h));
	sqlite3_finalize(st);
	sqlite3_close(h);
	return rc;
}

static void
usage(void)
{
	fprintf(stderr, "usage: tool_seq DB [--count N] [--batch B] "
	    "[--rate R] [--type T] [--size BYTES] [--age-ms MS] [--did DID] "
	    "[--stamp] | --invalidate SEQ | --bogus | --max\n");
	exit(2);
}

static int64_t
num(const char *s)
{
	int64_t	v;

	if (util_int_parse_str(s, 0, INT64_MAX / 1000000, &v) == -1)
		usage();
	return v;
}

int
main(int argc, char *argv[])
{
	static const struct option	 lo[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "batch", required_argument, NULL, 'b' },
		{ "rate", required_argument, NULL, 'r' },
		{ "type", required_argument, NULL, 't' },
		{ "size", required_argument, NULL, 's' },
		{ "age-ms", required_argument, NULL, 'a' },
		{ "did", required_argument, NULL, 'd' },
		{ "stamp", no_argument, NULL, 'S' },
		{ "invalidate", required_argument, NULL, 'i' },
		{ "bogus", no_argument, NULL, 'B' },
		{ "max", no_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 }
	};
	struct opts	 o = { NULL, 1, 1, 0, 256, 0, "mix", "did:plc:"
			    "ewvi7nxzyoun6zhxrhs64oiz", 0 };
	struct seqdb	*s = NULL;
	int64_t		 inval = -1, max;
	int		 ch, bogus = 0, want_max = 0, rc;

	log_init("tool_seq", LOG_LVL_WARN);
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'n': o.count = num(optarg); break;
		case 'b': o.batch = num(optarg); break;
		case 'r': o.rate = num(optarg); break;
		case 't': o.type = optarg; break;
		case 's': o.size = num(optarg); break;
		case 'a': o.age_ms = num(optarg); break;
		case 'd': o.did = optarg; break;
		case 'S': o.stamp = 1; break;
		case 'i': inval = num(optarg); break;
		case 'B': bogus = 1; break;
		case 'm': want_max = 1; break;
		default: usage();
		}
	}
	if (optind + 1 != argc || o.batch < 1)
		usage();
	o.db = argv[optind];
	if (seqdb_open(o.db, SEQDB_CREATE, &s) == -1)
		return 1;
	if (want_max) {
		rc = seqdb_max_seq(s, &max);
		printf("%lld\n", (long long)max);
	} else if (inval >= 0) {
		seqdb_close(s);
		s = NULL;
		rc = raw(o.db, "UPDATE repo_seq SET invalidated = 1 "
		    "WHERE seq = ?1", inval);
	} else if (bogus) {
		/* A row whose event is a CBOR array, not a map. */
		seqdb_close(s);
		s = NULL;
		rc = raw(o.db, "INSERT INTO repo_seq (did, eventType, event, "
		    "sequencedAt) VALUES ('did:plc:bogus', 'identity', "
		    "x'8101', ?2)", 0);
	} else
		rc = write_events(s, &o);
	seqdb_close(s);
	return rc == 0 ? 0 : 1;
}
