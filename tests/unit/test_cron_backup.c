/*
 * test_cron_backup.c: the pure parts of pds-backup and pds-maintain: the
 * MANIFEST format (write, strict parse, hostile paths), snapshot names and
 * the hourly/daily retention, rclone's JSON log, remote names, and the
 * account directory path of a DID (actors/<hh>/<did>, hh = first byte of
 * SHA-256 over the DID, reference-pds.md section c), and the two blob
 * passes of a snapshot, driven step by step on real SQLite fixture stores
 * so that the PDS's deletes land exactly between the passes.
 *
 * The cron sources are not in the core archive; they are compiled into
 * this test directly.
 */
#include "t.h"

#include "../../cron/common.c"
#include "../../cron/files.c"
#include "../../cron/maintain_blobs.c"
#include "../../cron/manifest.c"
#include "../../cron/rclone.c"
#include "../../cron/retention.c"
#include "../../cron/snapshot.c"

#include <sys/stat.h>

/* A string literal and its length. */
#define SL(s)	(s), (sizeof(s) - 1)

static void
test_paths(void)
{
	static const struct { const char *p; enum bk_kind k; int ok; } rows[] = {
		{ "account.sqlite", BK_DB, 1 },
		{ "actors/ab/did:plc:abc/store.sqlite", BK_DB, 1 },
		{ "actors/ab/did:web:example.com%3A8080/key", BK_KEY, 1 },
		{ "blocks/did:plc:abc/bafkreiabc", BK_BLOB, 1 },
		{ "blocks/quarantine/did:plc:abc/bafkreiabc", BK_BLOB, 1 },
		{ "blocks/did:plc:abc/bafkreiabc", BK_DB, 0 },
		{ "account.sqlite", BK_BLOB, 0 },
		{ "blocks/x", BK_BLOB, 0 },
		{ "MANIFEST", BK_FILE, 0 },
		{ "../etc/passwd", BK_DB, 0 },
		{ "a/../b", BK_DB, 0 },
		{ "a/./b", BK_DB, 0 },
		{ "/etc/passwd", BK_DB, 0 },
		{ "a//b", BK_DB, 0 },
		{ "a/", BK_DB, 0 },
		{ "", BK_DB, 0 },
		{ "a b", BK_DB, 0 },
		{ "a\nb", BK_DB, 0 },
		{ "a/b/c/d/e/f", BK_FILE, 0 },
		{ "..", BK_FILE, 0 },
		{ "...", BK_FILE, 1 },
	};
	size_t	i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		T_OK(bk_path_ok(rows[i].p, strlen(rows[i].p), rows[i].k) ==
		    rows[i].ok, "path row %zu \"%s\"", i, rows[i].p);
}

static const char manifest_ok[] =
    "# pds-backup manifest 1\n"
    "# created 2026-11-21T15:00:00.000Z\n"
    "# source /pds\n"
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff 12288"
    " db account.sqlite\n"
    "0000000000000000000000000000000000000000000000000000000000000000 32"
    " key actors/ab/did:plc:aaaa/key\n"
    "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100 6"
    " blob blocks/did:plc:aaaa/bafkreiaaaa\n"
    "# end 3\n";

static void
test_manifest(void)
{
	static const struct { const char *doc; const char *why; } bad[] = {
		{ "", "truncated" },
		{ "# pds-backup manifest 2\n# end 0\n", "not a pds-backup" },
		{ "# pds-backup manifest 1\n", "truncated" },
		{ "# pds-backup manifest 1\n# end 0", "no newline" },
		{ "# pds-backup manifest 1\n# end 1\n", "does not match" },
		{ "# pds-backup manifest 1\n# end 0\n# x\n", "after the end" },
		{ "# pds-backup manifest 1\nzz 1 db a\n# end 1\n", "SHA-256" },
		{ "# pds-backup manifest 1\n0000000000000000000000000000000000"
		    "000000000000000000000000000000 -1 db a\n# end 1\n", "size" },
		{ "# pds-backup manifest 1\n0000000000000000000000000000000000"
		    "000000000000000000000000000000 01 db a\n# end 1\n", "size" },
		{ "# pds-backup manifest 1\n0000000000000000000000000000000000"
		    "000000000000000000000000000000 1 exe a\n# end 1\n", "kind" },
		{ "# pds-backup manifest 1\n0000000000000000000000000000000000"
		    "000000000000000000000000000000 1 db ../a\n# end 1\n",
		    "refused path" },
		{ "# pds-backup manifest 1\n0000000000000000000000000000000000"
		    "000000000000000000000000000000 1 db a\n0000000000000000000"
		    "000000000000000000000000000000000000000000000 1 db a\n"
		    "# end 2\n", "duplicate" },
		{ "# pds-backup manifest 1\n0000000000000000000000000000000000"
		    "000000000000000000000000000000 1 db\n# end 1\n", "no path" },
	};
	struct bk_manifest	 m, m2;
	const struct bk_entry	*e;
	struct buf		 b;
	char			 err[160];
	size_t			 i;

	T_OK(bk_manifest_parse(SL(manifest_ok), &m, err, sizeof(err)) == 0,
	    "parse: %s", err);
	T_EQ_INT(m.n, 3);
	T_EQ_STR(m.v[0].path, "account.sqlite");
	T_EQ_INT(m.v[0].kind, BK_DB);
	T_EQ_INT(m.v[0].size, 12288);
	T_EQ_INT(m.v[0].sha[1], 0x11);
	T_EQ_STR(m.v[1].path, "actors/ab/did:plc:aaaa/key");
	e = bk_manifest_find(&m, "blocks/did:plc:aaaa/bafkreiaaaa");
	T_OK(e != NULL && e->kind == BK_BLOB && e->size == 6, "find");
	T_OK(bk_manifest_find(&m, "nope") == NULL, "find absent");
	/* Written back, it parses to the same entries. */
	buf_init(&b, 0);
	T_OK(bk_manifest_write(&b, &m, "2026-11-21T15:00:00.000Z", "/pds") == 0,
	    "write");
	T_OK(bk_manifest_parse((char *)b.data, b.len, &m2, err,
	    sizeof(err)) == 0, "reparse: %s", err);
	T_EQ_INT(m2.n, m.n);
	for (i = 0; i < m.n && i < m2.n; i++) {
		T_EQ_STR(m2.v[i].path, m.v[i].path);
		T_EQ_MEM(m2.v[i].sha, 32, m.v[i].sha, 32);
	}
	T_EQ_MEM(b.data, b.len, manifest_ok, sizeof(manifest_ok) - 1);
	buf_free(&b);
	bk_manifest_free(&m2);
	bk_manifest_free(&m);
	bk_manifest_free(NULL);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		T_OK(bk_manifest_parse(bad[i].doc, strlen(bad[i].doc), &m, err,
		    sizeof(err)) == -1 && strstr(err, bad[i].why) != NULL,
		    "bad row %zu: \"%s\"", i, err);
		T_EQ_INT(m.n, 0);
	}
}

static void
test_entry_file(void)
{
	struct bk_entry	e;
	char		out[LIM_CRON_PATH];

	e.kind = BK_BLOB;
	e.path = "blocks/did:plc:a/bafk";
	T_OK(bk_entry_file("/b/snapshots/X", &e, out) == 0, "blob");
	T_EQ_STR(out, "/b/snapshots/X/../../blocks/did:plc:a/bafk");
	e.kind = BK_DB;
	e.path = "account.sqlite";
	T_OK(bk_entry_file("/b/snapshots/X", &e, out) == 0, "db");
	T_EQ_STR(out, "/b/snapshots/X/account.sqlite");
}

static void
test_retention(void)
{
	/* Sorted ascending, as bk_snapshots_list() gives them. */
	static char *names[] = {
		"20261118T230000.000Z",	/* 0: day 18 */
		"20261119T100000.000Z",	/* 1: day 19 */
		"20261119T230000.000Z",	/* 2: day 19, newest that day */
		"20261120T120000.000Z",	/* 3 */
		"20261121T100000.000Z",	/* 4: hour 10 */
		"20261121T100500.000Z",	/* 5: hour 10, newest */
		"20261121T110000.000Z",	/* 6: hour 11 */
		"20261121T120000.000Z",	/* 7: hour 12, newest of all */
	};
	static const struct { int64_t h, d; int keep[8]; } rows[] = {
		{ 0, 0, { 0, 0, 0, 0, 0, 0, 0, 1 } },
		{ 1, 0, { 0, 0, 0, 0, 0, 0, 0, 1 } },
		{ 3, 0, { 0, 0, 0, 0, 0, 1, 1, 1 } },
		{ 0, 2, { 0, 0, 0, 1, 0, 0, 0, 1 } },
		{ 2, 3, { 0, 0, 1, 1, 0, 0, 1, 1 } },
		{ 100, 100, { 1, 1, 1, 1, 0, 1, 1, 1 } },
	};
	int	keep[8];
	size_t	i, k;
	char	name[24];

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		bk_keep_select(names, 8, rows[i].h, rows[i].d, keep);
		for (k = 0; k < 8; k++)
			T_OK(keep[k] == rows[i].keep[k], "retention row %zu, "
			    "snapshot %zu", i, k);
	}
	bk_keep_select(names, 0, 1, 1, keep);
	for (i = 0; i < 8; i++)
		T_OK(bk_snapshot_name_ok(names[i]), "name %zu", i);
	T_OK(!bk_snapshot_name_ok("20261121T120000Z"), "no ms");
	T_OK(!bk_snapshot_name_ok(".tmp-20261121T120000.000Z"), "tmp");
	T_OK(!bk_snapshot_name_ok("2026112xT120000.000Z"), "digit");
	bk_snapshot_name(1795428000123LL, name);
	T_EQ_STR(name, "20261123T100000.123Z");
	T_OK(bk_snapshot_name_ok(name), "generated name");
}

static void
test_rclone(void)
{
	static const char log[] =
	    "{\"level\":\"warning\",\"msg\":\"Config file not found\"}\n"
	    "not json at all\n"
	    "{\"level\":\"error\",\"msg\":\"Failed to copy: 403\\u0001\","
	    "\"object\":\"blocks/x\"}\n"
	    "{\"level\":\"warning\",\"msg\":\"\\nTransferred: 1\",\"stats\":{"
	    "\"bytes\":6,\"deletes\":2,\"errors\":1,\"transfers\":1}}\n"
	    "{\"level\":\"warning\",\"msg\":\"\\nTransferred: 3\",\"stats\":{"
	    "\"bytes\":600,\"deletes\":0,\"errors\":0,\"transfers\":3}}";
	struct bk_rclone_stats	st;
	char			err[200];

	memset(&st, 0, sizeof(st));
	st.transfers = 10;
	T_EQ_INT(bk_rclone_parse(SL(log), &st, err, sizeof(err)), 0);
	T_EQ_INT(st.transfers, 13);	/* added to what was there */
	T_EQ_INT(st.bytes, 600);
	T_EQ_INT(st.errors, 0);
	T_EQ_STR(err, "blocks/x: Failed to copy: 403\\x01");
	memset(&st, 0, sizeof(st));
	T_EQ_INT(bk_rclone_parse(SL("{\"stats\":{\"transfers\":\"x\"}}\n{{{"),
	    &st, err, sizeof(err)), 0);
	T_EQ_INT(st.transfers, 0);
	T_EQ_STR(err, "");

	T_OK(bk_remote_ok("s3:bucket/pds"), "s3");
	T_OK(bk_remote_ok("/mnt/backup"), "local");
	T_OK(bk_remote_ok("loc:"), "root");
	T_OK(!bk_remote_ok("--delete-all"), "flag");
	T_OK(!bk_remote_ok("relative/path"), "relative");
	T_OK(!bk_remote_ok("s3:a\nb"), "newline");
	T_OK(!bk_remote_ok(""), "empty");
}

static void
test_store_path(void)
{
	char	out[LIM_CRON_PATH];

	/* sha256("did:plc:aaaaaaaaaaaaaaaaaaaaaaaa") starts with 0x69
	 * (computed independently with Python's hashlib). */
	T_OK(mt_store_path("/pds/actors", "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa",
	    out) == 0, "store path");
	T_EQ_STR(out, "/pds/actors/69/did:plc:aaaaaaaaaaaaaaaaaaaaaaaa/"
	    "store.sqlite");
	T_OK(files_hh_ok("69", "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"), "hh ok");
	T_OK(!files_hh_ok("6a", "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"), "hh bad");
	T_OK(!files_hh_ok("69", "not-a-did"), "not a did");
	T_OK(mt_key_ok("abcdefghijklmnopqrstuvwxyz234567"), "temp key");
	T_OK(!mt_key_ok("ABC"), "upper");
	T_OK(!mt_key_ok("../x"), "dots");
	T_OK(mt_cid_ok("bafkreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"),
	    "cid");
	T_OK(!mt_cid_ok("README"), "not a cid");
}

static void
test_lists(void)
{
	struct cron_list	l;
	char			out[LIM_CRON_PATH];

	memset(&l, 0, sizeof(l));
	T_OK(cron_list_add(&l, " a:x , ,b:y,c ", 1, 8) == 0, "split");
	T_EQ_INT(l.n, 3);
	T_EQ_STR(l.v[0], "a:x");
	T_EQ_STR(l.v[2], "c");
	T_OK(cron_list_add(&l, "d,e,f,g,h,i", 1, 8) == -1, "over max");
	cron_list_free(&l);
	cron_list_free(NULL);
	T_OK(cron_path(out, "/a/", "b") == 0, "path");
	T_EQ_STR(out, "/a/b");
	T_OK(cron_name_ok(SL("did:plc:x")), "name");
	T_OK(!cron_name_ok(SL("..")), "dotdot");
	T_OK(!cron_name_ok(SL("a/b")), "slash");
}

/* ---- the two blob passes -------------------------------------------------- */

#define FX_DID	"did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"	/* hh 69, see above */

struct fx {
	char	root[64], dest[256], store[512];
	char	actors[256], blocks[256];
	char	acct[256], seq[256], cache[256];
	struct bk_sources src;
};

static int
fx_sql(const struct fx *f, const char *sql)
{
	sqlite3	*db;
	int	 rc;

	if (sqlite3_open(f->store, &db) != SQLITE_OK) {
		sqlite3_close(db);
		return -1;
	}
	rc = sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
	sqlite3_close(db);
	return rc;
}

/* The PDS making blob cid permanent for a record (file, then rows). */
static void
fx_blob_add(const struct fx *f, const char *cid, int with_file)
{
	char	path[LIM_CRON_PATH], sql[512];
	FILE	*fp;

	if (with_file) {
		(void)snprintf(path, sizeof(path), "%s/" FX_DID "/%s",
		    f->blocks, cid);
		fp = fopen(path, "w");
		T_OK(fp != NULL && fputs(cid, fp) >= 0 && fclose(fp) == 0,
		    "write blob %s", cid);
	}
	(void)snprintf(sql, sizeof(sql), "INSERT INTO blob VALUES('%s', "
	    "NULL); INSERT INTO record_blob VALUES('%s', 'at://" FX_DID
	    "/app.bsky.feed.post/%s')", cid, cid, cid);
	T_OK(fx_sql(f, sql) == 0, "rows of %s", cid);
}

/* The PDS deleting the record: rows in a transaction, then the file. */
static void
fx_blob_del(const struct fx *f, const char *cid)
{
	char	path[LIM_CRON_PATH], sql[512];

	(void)snprintf(sql, sizeof(sql), "DELETE FROM record_blob WHERE "
	    "blobCid = '%s'; DELETE FROM blob WHERE cid = '%s'", cid, cid);
	T_OK(fx_sql(f, sql) == 0, "delete rows of %s", cid);
	(void)snprintf(path, sizeof(path), "%s/" FX_DID "/%s", f->blocks,
	    cid);
	T_OK(unlink(path) == 0, "delete file of %s", cid);
}

static int
fx_init(struct fx *f)
{
	char	dir[512];
	sqlite3	*db;
	int	 i;
	const char *dbs[3];

	memset(f, 0, sizeof(*f));
	(void)snprintf(f->root, sizeof(f->root), "/tmp/test_cron_backup.XXXXXX");
	if (mkdtemp(f->root) == NULL)
		return -1;
	(void)snprintf(f->dest, sizeof(f->dest), "%s/dest", f->root);
	(void)snprintf(f->actors, sizeof(f->actors), "%s/actors", f->root);
	(void)snprintf(f->blocks, sizeof(f->blocks), "%s/blocks", f->root);
	(void)snprintf(f->acct, sizeof(f->acct), "%s/account.sqlite", f->root);
	(void)snprintf(f->seq, sizeof(f->seq), "%s/sequencer.sqlite", f->root);
	(void)snprintf(f->cache, sizeof(f->cache), "%s/did_cache.sqlite",
	    f->root);
	(void)snprintf(dir, sizeof(dir), "%s/69/" FX_DID, f->actors);
	(void)snprintf(f->store, sizeof(f->store), "%s/actors/69/" FX_DID
	    "/store.sqlite", f->root);
	if (cron_mkdirs(dir, 0700) == -1 || cron_mkdirs(f->dest, 0700) == -1)
		return -1;
	(void)snprintf(dir, sizeof(dir), "%s/" FX_DID, f->blocks);
	if (cron_mkdirs(dir, 0700) == -1)
		return -1;
	dbs[0] = f->acct;
	dbs[1] = f->seq;
	dbs[2] = f->cache;
	for (i = 0; i < 3; i++) {
		if (sqlite3_open(dbs[i], &db) != SQLITE_OK ||
		    sqlite3_exec(db, "CREATE TABLE t(x)", NULL, NULL, NULL) !=
		    SQLITE_OK) {
			sqlite3_close(db);
			return -1;
		}
		sqlite3_close(db);
	}
	if (fx_sql(f, "PRAGMA journal_mode = WAL; CREATE TABLE blob(cid "
	    "PRIMARY KEY, tempKey); CREATE TABLE record_blob(blobCid, "
	    "recordUri, PRIMARY KEY (blobCid, recordUri))") == -1)
		return -1;
	f->src.account_db = f->acct;
	f->src.sequencer_db = f->seq;
	f->src.did_cache_db = f->cache;
	f->src.actor_dir = f->actors;
	f->src.blob_dir = f->blocks;
	f->src.data_dir = f->root;
	return 0;
}

/* The passes of bk_take_all() one by one, with the PDS's writes between
 * them: c1 is deleted after the store copy (the old gap), c3 is made
 * permanent after the first pass and deleted after the store copy (the
 * store is copied again), c4 is referenced but never on disk. */
static void
test_blob_passes(void)
{
	struct fx		 f;
	struct bk_take		 t;
	struct bk_snap_stats	 st;
	const struct bk_entry	*e;
	struct bk_manifest	 view;
	char			 snaps[512], path[LIM_CRON_PATH];
	char			 name[24];
	uint8_t			 sha[32];
	uint64_t		 size;

	if (fx_init(&f) == -1) {
		T_OK(0, "fixture in /tmp");
		return;
	}
	fx_blob_add(&f, "bafkreic1", 1);
	fx_blob_add(&f, "bafkreic2", 1);
	fx_blob_add(&f, "bafkreic4", 0);
	/* A temp upload (tempKey set) and a permanent row no record names
	 * need no file. */
	T_OK(fx_sql(&f, "INSERT INTO blob VALUES('bafkreitmp', 'k'); "
	    "INSERT INTO blob VALUES('bafkreiorphan', NULL)") == 0, "rows");

	memset(&t, 0, sizeof(t));
	memset(&st, 0, sizeof(st));
	t.src = &f.src;
	t.dest = f.dest;
	t.st = &st;
	(void)snprintf(snaps, sizeof(snaps), "%s/snapshots", f.dest);
	(void)snprintf(t.tmp, sizeof(t.tmp), "%s/.tmp-x", snaps);
	T_OK(cron_mkdirs(t.tmp, 0700) == 0, "tmp");

	T_OK(bk_take_blobs(&t) == 0, "pass 1");
	T_EQ_INT(st.blobs_new, 2);
	fx_blob_add(&f, "bafkreic3", 1);
	T_OK(bk_take_db(&t, f.acct, "account.sqlite") == 0 &&
	    cron_actors_walk(f.actors, bk_take_actor, &t) == 0, "databases");
	fx_blob_del(&f, "bafkreic1");
	fx_blob_del(&f, "bafkreic3");
	T_OK(bk_take_refs(&t) == 0, "pass 2");

	T_OK(bk_take_has(&t, "blocks/" FX_DID "/bafkreic1"), "c1 from pass 1");
	T_OK(bk_take_has(&t, "blocks/" FX_DID "/bafkreic2"), "c2");
	T_OK(!bk_take_has(&t, "blocks/" FX_DID "/bafkreic3"), "c3 gone");
	T_EQ_INT(st.retakes, 1);
	T_EQ_INT(st.blobs_missing, 1);	/* c4 */
	T_EQ_INT(st.blobs_new, 2);
	/* The MANIFEST entry follows the store copied again, which no
	 * longer references c1 or c3. */
	T_OK(cron_path(path, t.tmp, "actors/69/" FX_DID "/store.sqlite") == 0,
	    "path");
	view.v = t.m.v;
	view.n = view.cap = t.nsorted;
	e = bk_manifest_find(&view, "actors/69/" FX_DID "/store.sqlite");
	T_OK(e != NULL && cron_file_sha256(path, sha, &size) == 0 &&
	    e->size == size && memcmp(e->sha, sha, 32) == 0, "store entry");
	bk_manifest_free(&t.m);
	T_OK(cron_rmtree(t.tmp) == 0, "rm tmp");

	/* Whole runs: c4 missing at the source is counted and fails
	 * verify; once the file is back, both are clean. */
	T_OK(bk_snapshot_take(&f.src, f.dest, name, &st) == 0, "take 1");
	T_EQ_INT(st.blobs_missing, 1);
	T_EQ_INT(st.blobs_kept, 1);
	(void)snprintf(path, sizeof(path), "%s/%s", snaps, name);
	T_EQ_INT(bk_snapshot_verify(path), 1);
	(void)usleep(2000);	/* a new snapshot name */
	(void)snprintf(path, sizeof(path), "%s/" FX_DID "/bafkreic4",
	    f.blocks);
	T_OK(cron_file_copy(f.acct, path, 0600, 0, sha, &size) == 0, "c4");
	T_OK(bk_snapshot_take(&f.src, f.dest, name, &st) == 0, "take 2");
	T_EQ_INT(st.blobs_missing, 0);
	T_EQ_INT(st.retakes, 0);
	(void)snprintf(path, sizeof(path), "%s/%s", snaps, name);
	T_EQ_INT(bk_snapshot_verify(path), 0);
	T_OK(cron_rmtree(f.root) == 0, "cleanup");
}

int
main(void)
{
	log_init("test_cron_backup", LOG_LVL__MAX);
	test_paths();
	test_manifest();
	test_entry_file();
	test_retention();
	test_rclone();
	test_store_path();
	test_lists();
	test_blob_passes();
	return t_done("cron_backup");
}
