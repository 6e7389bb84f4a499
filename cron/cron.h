/*
 * cron.h: the private header of the cron helpers pds-ddns, pds-backup
 * and pds-maintain (STYLE.md 6.1.3), prototypes grouped by source file.
 *
 * The helpers link the core archive (config, logging, buffers, db_) and
 * share the code below.  Error convention of every module here: 0 on
 * success, -1 on failure logged once where detected (parsers: -1 with a
 * reason in the caller's err buffer and nothing logged).  Process exit
 * codes are enum cron_exit, documented in cron/README.md.
 */
#ifndef PDS_CRON_H
#define PDS_CRON_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "pds_limits.h"

struct pds_config;

/* Exit statuses for cron and monitoring (cron/README.md). */
enum cron_exit {
	CRON_EXIT_OK = 0,	/* done: updated, unchanged, snapshot taken */
	CRON_EXIT_FAIL = 1,	/* I/O, database or internal failure */
	CRON_EXIT_USAGE = 2,	/* bad flags or configuration */
	CRON_EXIT_IP = 3,	/* pds-ddns: no endpoint gave an address */
	CRON_EXIT_DNS = 4,	/* pds-ddns: the DNS provider's API failed */
	CRON_EXIT_LOCKED = 5,	/* another run holds the lock; nothing done */
	CRON_EXIT_REMOTE = 6,	/* pds-backup: an rclone remote failed */
	CRON_EXIT_VERIFY = 7,	/* pds-backup: verify found damage */
	CRON_EXIT_BLOBS = 8,	/* pds-backup: the snapshot lacks blobs its
				 * records reference (missing at the source) */
	CRON_EXIT__MAX
};

/* A list of heap strings. */
struct cron_list {
	char	**v;
	size_t	  n;
};

/* ---- common.c ------------------------------------------------------ */

/* Writes a message into err (errsz bytes; nothing when 0) and returns -1:
 * the parsers' one way to fail with a reason. */
int	cron_fail(char *err, size_t errsz, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* Loads the PDS configuration for a helper: reads env_file (NULL:
 * $PDS_ENV_FILE, may be unset) with config_env_parse(), keeps the
 * helpers' own PDS_DDNS_ / PDS_BACKUP_ / PDS_MAINTAIN_ names for
 * cron_env_get(), and hands everything else, file first, then the
 * environment, to config_load_env() with CONFIG_NO_SECRETS (so the
 * configuration module never sees, nor warns about, our names; the
 * environment wins over the file as in config_load()).  Returns 0 and
 * *out (caller frees with config_free()), or -1 after logging. */
int	cron_config_load(const char *env_file, struct pds_config **out);
/* Returns the value of one of the helpers' own settings: the process
 * environment first, then the env file given to cron_config_load().  An
 * empty value is unset (reference env.ts).  The pointer stays valid until
 * cron_env_fini(); NULL when unset. */
const char *cron_env_get(const char *name);
/* Releases what cron_config_load() kept of the env file.  Idempotent. */
void	cron_env_fini(void);
/* Takes an exclusive, non-blocking flock(2) on path (created 0600).
 * Returns the open descriptor (keep it open until exit), -2 when another
 * process holds the lock, or -1 on error (logged). */
int	cron_lock(const char *path);
/* Picks the lock file for prog: explicit when given, else
 * <data_dir>/.<prog>.lock, else $XDG_RUNTIME_DIR/<prog>.lock, else
 * /tmp/<prog>.<uid>.lock.  Writes into out (LIM_CRON_PATH bytes).
 * Returns 0 or -1 (too long). */
int	cron_lock_path(const char *prog, const char *explicit,
	    const struct pds_config *cfg, char *out);
/* Appends a heap copy of s (or of each ','-separated, blank-trimmed,
 * non-empty item of s when split is set) to l, at most max items in all.
 * Returns 0, or -1 (too many, out of memory: logged). */
int	cron_list_add(struct cron_list *l, const char *s, int split,
	    size_t max);
/* Frees the strings and the vector; accepts NULL; leaves l empty. */
void	cron_list_free(struct cron_list *l);
/* Joins a and b with one '/' into out (LIM_CRON_PATH bytes).  Returns 0,
 * or -1 when the result would not fit. */
int	cron_path(char *out, const char *a, const char *b);
/* mkdir -p with mode for the directories created.  Returns 0 or -1
 * (logged). */
int	cron_mkdirs(const char *path, mode_t mode);
/* Parses a non-negative integer flag value in [min, max] for flag name;
 * logs and returns -1 when it is not one. */
int	cron_flag_int(const char *name, const char *s, int64_t min,
	    int64_t max, int64_t *out);
/* Returns 1 when name is a single safe path component: 1..255 bytes, no
 * '/', NUL or control bytes, not "." or "..". */
int	cron_name_ok(const char *name, size_t len);

/* ---- xml.c: a bounded scanner for the XML of an API reply ---------- */

enum cxml_ev {
	CXML_OPEN,		/* start tag; name set */
	CXML_TEXT,		/* decoded character data; text set */
	CXML_CLOSE,		/* end tag (also after <empty/>); name set */
	CXML__MAX
};

struct cxml_event {
	enum cxml_ev	 ev;
	const char	*name;	/* local name (prefix dropped), NUL-ended */
	const char	*text;	/* decoded, NUL-ended, valid in the call */
	size_t		 textlen;
	int		 depth;	/* 1 for the root element */
};

/* Return 0 to go on, -1 to stop the scan (cxml_scan then returns -1). */
typedef int	(*cxml_cb)(const struct cxml_event *, void *arg);

/* Scans the XML document (p, len) and calls cb for each start tag, text
 * run and end tag.  Accepts an XML declaration, comments, attributes
 * (skipped) and the five predefined entities plus &#N; / &#xN;; refuses
 * DOCTYPE, CDATA, processing instructions after the declaration,
 * mismatched or unclosed tags, text outside the root, nesting beyond
 * LIM_XML_DEPTH, names beyond LIM_XML_NAME and text runs beyond
 * LIM_XML_TEXT.  Pure; no allocation.  Returns 0, or -1 with the reason
 * and byte offset in err (errsz bytes). */
int	cxml_scan(const char *p, size_t len, cxml_cb cb, void *arg,
	    char *err, size_t errsz);

/* ---- ipaddr.c: the answer of an IP echo service --------------------- */

#define DDNS_ADDR_TEXT	46	/* INET6_ADDRSTRLEN */

struct ddns_addr {
	int	 family;		/* AF_INET or AF_INET6 */
	uint8_t	 b[16];			/* 4 or 16 bytes used */
	char	 text[DDNS_ADDR_TEXT];	/* canonical text form */
};

/* Parses the body of an IP echo answer (p, len) as one address of family
 * (AF_INET or AF_INET6): the address alone, optionally followed by one
 * "\n" or "\r\n".  IPv4 is strict dotted-quad (no leading zeros, no
 * shorthand); IPv6 is RFC 4291 text.  An HTML page, blanks, two
 * addresses or anything else are refused.  Pure.  Returns 0 and *out, or
 * -1 with a static reason in *why. */
int	ddns_ip_parse(const char *p, size_t len, int family,
	    struct ddns_addr *out, const char **why);
/* Returns 1 when a is a public unicast address (not private, loopback,
 * link-local, CGNAT, multicast, unspecified, reserved, v4-mapped...),
 * else 0 with a static reason in *why. */
int	ddns_ip_public(const struct ddns_addr *a, const char **why);
/* Returns 1 when the record value text v is the address a. */
int	ddns_ip_equal(const struct ddns_addr *a, const char *v);

/* ---- http.c: libcurl with bounded answers --------------------------- */

struct chttp_req {
	const char	*method;	/* "GET", "POST", "PUT", "DELETE" */
	const char	*url;
	const char	*const *headers; /* "Name: value", NULL-ended; may
					  * hold secrets: not logged */
	const void	*body;		/* may be NULL */
	size_t		 bodylen;
	const char	*sigv4;		/* CURLOPT_AWS_SIGV4 provider string */
	const char	*userpwd;	/* "key:secret" for sigv4 (secret) */
	int		 family;	/* 0, AF_INET or AF_INET6 */
	size_t		 max;		/* answer byte limit */
};

struct chttp_resp {
	long		 status;	/* HTTP status, 0 if none */
	struct buf	 body;		/* the answer, NUL-ended */
	char		 err[256];	/* transport error text */
};

/* Initialises libcurl once per process.  Returns 0 or -1 (logged). */
int	chttp_init(void);
void	chttp_fini(void);
/* Performs one exchange: http and https only, no redirects, connect and
 * total timeouts from pds_limits.h, a "curl/<version> pds-cron" user
 * agent.  Returns 0 when an HTTP answer arrived (any status; resp->body
 * holds at most req->max bytes), or -1 with resp->err set on a transport
 * failure or an over-limit answer (not logged: the caller decides).
 * resp is initialised here; the caller frees it with chttp_resp_free(). */
int	chttp_do(const struct chttp_req *req, struct chttp_resp *resp);
void	chttp_resp_free(struct chttp_resp *resp);
/* Appends s percent-encoded as RFC 3986 (unreserved kept, the rest %XX
 * upper case), the form SigV4 canonical queries use.  Returns 0 or -1. */
int	chttp_urlencode(struct buf *b, const char *s);

/* ---- awscred.c: AWS credentials -------------------------------------- */

struct awscred {
	char	*key_id;	/* heap */
	char	*secret;	/* heap, secret */
	char	*token;		/* heap, secret; NULL when none */
};

/* Loads credentials as the AWS CLI does for static keys:
 * AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN), else
 * the [AWS_PROFILE or default] section of AWS_SHARED_CREDENTIALS_FILE or
 * ~/.aws/credentials.  Returns 0, or -1 (logged, without secrets).
 * Release with awscred_free(). */
int	awscred_load(struct awscred *out);
/* Parses the INI text of a credentials file (p, len) and fills out from
 * section profile.  Pure.  Returns 0 when the profile has both keys, 1
 * when it is absent or incomplete, -1 on malformed text (reason and line
 * in err, never a value). */
int	awscred_parse(const char *p, size_t len, const char *profile,
	    struct awscred *out, char *err, size_t errsz);
/* Wipes and frees the strings; accepts NULL. */
void	awscred_free(struct awscred *c);

/* ---- ddns.c: the provider interface -------------------------------- */

/* One record pds-ddns keeps: name (lowercase, no final dot, may start
 * with "*."), type "A" or "AAAA", the address and TTL wanted. */
struct ddns_want {
	char			 name[LIM_DDNS_NAME_LEN + 1];
	const char		*type;
	const struct ddns_addr	*addr;
	int64_t			 ttl;
};

/* What the provider has now for one ddns_want. */
struct ddns_have {
	int	 exists;		/* a record set of that name/type */
	int	 same;			/* exactly the wanted value and TTL */
	size_t	 nvalues;
	char	 values[LIM_DDNS_VALUES][LIM_DDNS_VALUE_LEN + 1];
	int64_t	 ttl;
	/* Cloudflare: the record ids (first is updated, the rest deleted)
	 * and whether the first is proxied. */
	size_t	 nids;
	char	 ids[LIM_DDNS_VALUES][64];
	int	 proxied;
};

struct ddns_opts {
	const char	*zone_id;	/* --zone-id / PDS_DDNS_ZONE_ID */
	const char	*zone;		/* --zone / PDS_DDNS_ZONE */
	const char	*endpoint;	/* --endpoint / provider env */
	const char	*apex;		/* first wanted name */
};

struct ddns_provider;

struct ddns_ops {
	const char	*name;
	/* Reads credentials and finds the zone.  0, -1 when the API failed,
	 * -2 for a configuration error (both logged). */
	int	(*open)(struct ddns_provider *, const struct ddns_opts *);
	/* Reads the current record set for w into *h.  0, or -1. */
	int	(*get)(struct ddns_provider *, const struct ddns_want *w,
		    struct ddns_have *h);
	/* Makes the n records w[i] whose h[i].same is 0 equal to what is
	 * wanted.  0, or -1. */
	int	(*apply)(struct ddns_provider *, const struct ddns_want *w,
		    const struct ddns_have *h, size_t n);
	void	(*close)(struct ddns_provider *);
};

struct ddns_provider {
	const struct ddns_ops	*ops;
	char			 zone_id[128];
	char			 zone[LIM_DDNS_NAME_LEN + 1];
	char			 endpoint[512];
	void			*priv;	/* the provider's own state */
};

/* Checks a DNS name for pds-ddns: 1..253 bytes of LDH labels (1..63
 * bytes, no leading or trailing '-'), optionally a leading "*." label,
 * optionally a final dot, which is dropped.  Writes the lowercase form
 * to out (LIM_DDNS_NAME_LEN + 1 bytes).  Returns 0 or -1. */
int	ddns_name_norm(const char *s, size_t len, char *out);
/* Decodes Route53's \ooo octal escapes (\052 is '*') and drops a final
 * dot, lowercasing, into out (LIM_DDNS_NAME_LEN + 1 bytes).  Returns 0,
 * or -1 on a malformed escape or overlong name. */
int	ddns_name_unescape(const char *s, size_t len, char *out);
/* Returns 1 when name is zone or below it. */
int	ddns_name_in_zone(const char *name, const char *zone);

/* ---- dns_route53.c --------------------------------------------------- */

extern const struct ddns_ops ddns_route53_ops;

/* One resource record set of a ListResourceRecordSets answer. */
struct r53_rrset {
	char	 name[LIM_DDNS_NAME_LEN + 1];	/* unescaped, no final dot */
	char	 type[16];
	int64_t	 ttl;				/* -1 when absent (alias) */
	int	 alias;				/* AliasTarget present */
	int	 set_id;			/* SetIdentifier present */
	size_t	 nvalues;
	char	 values[LIM_DDNS_VALUES][LIM_DDNS_VALUE_LEN + 1];
};

/* Parses a ListResourceRecordSets answer: up to max record sets into
 * out, their count in *n.  Pure.  Returns 0, or -1 with a reason. */
int	r53_rrsets_parse(const char *p, size_t len, struct r53_rrset *out,
	    size_t max, size_t *n, char *err, size_t errsz);
/* Parses a ListHostedZonesByName answer and writes into id (idsz bytes)
 * the bare id ("Z123", without "/hostedzone/") of the public zone named
 * exactly zone.  Pure.  Returns 0 when found, 1 when not, -1 with a
 * reason when malformed. */
int	r53_zone_parse(const char *p, size_t len, const char *zone, char *id,
	    size_t idsz, char *err, size_t errsz);
/* Parses an ErrorResponse into code and message (NUL-ended, truncated to
 * their sizes).  Pure.  Returns 0, or -1 when it is not one. */
int	r53_error_parse(const char *p, size_t len, char *code, size_t codesz,
	    char *msg, size_t msgsz);
/* Writes the ChangeResourceRecordSetsRequest XML that UPSERTs every w[i]
 * whose h[i].same is 0.  Returns 0 or -1. */
int	r53_change_write(struct buf *b, const struct ddns_want *w,
	    const struct ddns_have *h, size_t n);

/* ---- dns_cloudflare.c ------------------------------------------------ */

extern const struct ddns_ops ddns_cloudflare_ops;

/* One DNS record of a Cloudflare list answer. */
struct cf_record {
	char	 id[64];
	char	 name[LIM_DDNS_NAME_LEN + 1];
	char	 type[16];
	char	 content[LIM_DDNS_VALUE_LEN + 1];
	int64_t	 ttl;
	int	 proxied;
};

/* Parses a Cloudflare v4 envelope ({"success":..,"errors":[..],
 * "result":..}).  For a list answer fills up to max records into out and
 * their count into *n (out may be NULL for other answers).  Pure.
 * Returns 0 when success is true, 1 when the API reported failure (the
 * first error's code and message in err), -1 when malformed. */
int	cf_answer_parse(const char *p, size_t len, struct cf_record *out,
	    size_t max, size_t *n, char *err, size_t errsz);
/* Parses a GET /zones?name= answer and writes into id the id of the zone
 * named exactly zone.  Returns 0 found, 1 not found or API failure (err
 * set), -1 malformed. */
int	cf_zone_parse(const char *p, size_t len, const char *zone, char *id,
	    size_t idsz, char *err, size_t errsz);

/* ---- files.c: files and directories of the data layout --------------- */

/* Copies src to dst through "<dst>.partial" (fsync, then rename), with
 * mode; sets *size and the SHA-256 of the bytes copied; keeps src's
 * modification time when keep_mtime is set.  Returns 0, or -1 (logged;
 * nothing left at dst's partial name).  ENOENT on src is returned as -2
 * without logging (a blob deleted meanwhile). */
int	cron_file_copy(const char *src, const char *dst, mode_t mode,
	    int keep_mtime, uint8_t sha[32], uint64_t *size);
/* Reads path and sets its SHA-256 and size.  Returns 0 or -1 (logged). */
int	cron_file_sha256(const char *path, uint8_t sha[32], uint64_t *size);
/* Removes path and everything below it without following symlinks.
 * Returns 0 (also when absent) or -1 (logged). */
int	cron_rmtree(const char *path);
/* fsync(2)s a directory, so renames in it are durable.  0 or -1. */
int	cron_fsync_dir(const char *path);
/* Returns 1 when path is absent or an empty directory, 0 when it holds
 * entries, -1 on error (logged). */
int	cron_dir_empty(const char *path);

/* One account directory actors/<hh>/<did>/ (reference-pds.md c). */
struct cron_actor {
	const char	*did;		/* the directory name */
	const char	*dir;		/* full path of the directory */
	const char	*hh;		/* the parent's name */
	int		 hh_ok;		/* hh is sha256(did)[0] in hex and did
					 * is a syntax-valid DID */
};

/* Calls cb for each actors/<hh>/<did>/ directory below actor_dir, in
 * directory order; reserved_keys/ and other names that are not two hex
 * digits are skipped.  cb returns 0 to go on, -1 to stop.  Returns 0, or
 * -1 (I/O errors logged; a callback's -1 passed on). */
int	cron_actors_walk(const char *actor_dir,
	    int (*cb)(const struct cron_actor *, void *), void *arg);
/* Prints a SHA-256 digest as 64 lowercase hex digits into out (65). */
void	cron_sha_hex(const uint8_t sha[32], char out[65]);

/* ---- manifest.c: a snapshot's MANIFEST ---------------------------------- */

enum bk_kind {
	BK_DB,		/* "db": an SQLite copy, integrity_check on verify */
	BK_KEY,		/* "key": a signing key, restored 0600 */
	BK_BLOB,	/* "blob": blocks/<did>/<cid>, shared blob area */
	BK_FILE,	/* "file": any other file of an account directory */
	BK__MAX
};

struct bk_entry {
	char		*path;		/* heap; relative, checked */
	uint64_t	 size;		/* bytes */
	uint8_t		 sha[32];	/* SHA-256 of the content */
	enum bk_kind	 kind;
};

struct bk_manifest {
	struct bk_entry	*v;		/* heap, sorted by path once done */
	size_t		 n, cap;
};

/* Returns 1 when path is an acceptable MANIFEST path for kind: 1..5
 * '/'-separated components of [A-Za-z0-9._:%-] (no "." or ".."), under
 * "blocks/" exactly for BK_BLOB. */
int	bk_path_ok(const char *path, size_t len, enum bk_kind kind);
/* Appends an entry (path copied).  Returns 0 or -1 (logged). */
int	bk_manifest_add(struct bk_manifest *m, const char *path,
	    enum bk_kind kind, uint64_t size, const uint8_t sha[32]);
/* Sorts by path and refuses duplicates.  Returns 0 or -1 (logged). */
int	bk_manifest_sort(struct bk_manifest *m);
/* Finds an entry by path in a sorted manifest; NULL when absent. */
const struct bk_entry *bk_manifest_find(const struct bk_manifest *m,
	    const char *path);
/* Releases the entries; accepts NULL; leaves m empty. */
void	bk_manifest_free(struct bk_manifest *m);
/* Writes the text form: "# pds-backup manifest 1", comment lines, one
 * "<sha256 hex> <size> <kind> <path>" line per entry, "# end <count>".
 * Returns 0 or -1. */
int	bk_manifest_write(struct buf *b, const struct bk_manifest *m,
	    const char *created, const char *source);
/* Parses the text form (p, len) into m (sorted, duplicates refused).
 * Pure.  Returns 0, or -1 with the line and reason in err. */
int	bk_manifest_parse(const char *p, size_t len, struct bk_manifest *m,
	    char *err, size_t errsz);
/* Reads and parses <snapdir>/MANIFEST.  Returns 0 or -1 (logged). */
int	bk_manifest_load(const char *snapdir, struct bk_manifest *m);
/* Resolves an entry's path to the file: <snapdir>/<path>, or
 * <snapdir>/../../<path> for blocks/ (the shared blob area).  Writes into
 * out (LIM_CRON_PATH).  Returns 0 or -1. */
int	bk_entry_file(const char *snapdir, const struct bk_entry *e,
	    char *out);

/* ---- retention.c: which snapshots to keep ------------------------------ */

/* Returns 1 when name is a snapshot name, "YYYYMMDDTHHMMSS.mmmZ". */
int	bk_snapshot_name_ok(const char *name);
/* Writes the snapshot name for ms since the epoch into out (24 bytes). */
void	bk_snapshot_name(int64_t ms, char out[24]);
/* Given n snapshot names sorted ascending, sets keep[i] to 1 for each
 * one to keep: the newest in each of the `hourly` most recent hours that
 * have one, the newest in each of the `daily` most recent days, and
 * always the newest of all.  Pure. */
void	bk_keep_select(char *const *names, size_t n, int64_t hourly,
	    int64_t daily, int *keep);
/* Lists the complete snapshot names under <dest>/snapshots, sorted
 * ascending (heap list).  Returns 0 or -1 (logged). */
int	bk_snapshots_list(const char *dest, struct cron_list *out);

/* ---- rclone.c: copies to remotes ----------------------------------------- */

struct bk_rclone_stats {
	int64_t	 transfers;	/* files copied */
	int64_t	 bytes;		/* bytes copied */
	int64_t	 deletes;	/* files deleted */
	int64_t	 errors;
	int64_t	 sent;		/* snapshots sent (bk_rclone_push) */
	int64_t	 purged;	/* remote snapshots purged */
};

/* Parses rclone's --use-json-log output (p, len): adds the last "stats"
 * object's transfers/bytes/deletes/errors into *st and copies the first
 * error-level message, escaped, into err (errsz bytes; "" if none).
 * Lines that are not JSON are ignored.  Pure.  Returns 0. */
int	bk_rclone_parse(const char *p, size_t len, struct bk_rclone_stats *st,
	    char *err, size_t errsz);
/* Returns 1 when s can be given to rclone as a remote ("name:path" or
 * an absolute local path; no leading '-', no control bytes). */
int	bk_remote_ok(const char *s);
/* Uploads to one remote: new blobs of <dest>/blocks, every complete
 * snapshot the remote lacks (oldest first), then applies the retention
 * to the remote's snapshots and, when every snapshot the remote keeps is
 * also kept here, deletes remote blobs no kept snapshot lists.  Returns 0,
 * or -1 (logged).  *st gets the totals. */
int	bk_rclone_push(const char *rclone, const char *dest,
	    const char *remote, int64_t hourly, int64_t daily,
	    struct bk_rclone_stats *st);

/* ---- snapshot.c: taking, verifying and restoring a snapshot --------------- */

struct bk_sources {
	const char	*account_db, *sequencer_db, *did_cache_db;
	const char	*actor_dir;	/* actors/ */
	const char	*blob_dir;	/* blocks/ (disk blobstore) */
	const char	*blob_tmp;	/* temp uploads: not backed up */
	const char	*data_dir;	/* for the MANIFEST comment; may be NULL */
};

struct bk_snap_stats {
	size_t		 dbs, keys, files, blobs_new, blobs_kept;
	uint64_t	 bytes_copied;
	size_t		 warnings;	/* blobs vanished or not matching CIDs */
	size_t		 blobs_missing;	/* referenced by a copied store, on
					 * disk in neither blob pass */
	size_t		 retakes;	/* stores copied again (second pass) */
};

/* Takes one snapshot of src into <dest>/snapshots/<name> (written as
 * .tmp-<name>, renamed when complete): first every blob on disk into the
 * shared area <dest>/blocks (blobs already there are not copied again),
 * then every database through SQLite's online backup API (consistent
 * while the PDS writes), integrity_check on each copy, keys and account
 * files, then a second blob pass for the blobs the copied stores
 * reference that the first did not see (a store whose referenced blob
 * vanished because the PDS deleted its record since is copied again), and
 * a MANIFEST.  Referenced blobs on disk in neither pass are logged and
 * counted in st->blobs_missing; the snapshot is kept.  Writes the name
 * into name (24 bytes).  Returns 0, or -1 (logged; the partial snapshot
 * removed). */
int	bk_snapshot_take(const struct bk_sources *src, const char *dest,
	    char name[24], struct bk_snap_stats *st);
/* Checks every MANIFEST entry: size, SHA-256, a blob's CID, and
 * integrity_check of each database, and that every blob an account store
 * references (a permanent blob row named by record_blob) is listed.
 * Returns the number of damaged or missing entries and blobs (each
 * logged), or -1 when the MANIFEST itself is unusable (logged). */
long	bk_snapshot_verify(const char *snapdir);
/* Restores snapdir into dir (created; refused when it holds anything
 * unless force) in the reference's layout: account.sqlite,
 * sequencer.sqlite, did_cache.sqlite, actors/, blocks/.  Verifies first.
 * Returns a cron_exit status (logged). */
int	bk_snapshot_restore(const char *snapdir, const char *dir, int force);
/* Removes snapshots the retention does not keep and blobs of the shared
 * area that no remaining MANIFEST lists.  Returns 0 or -1 (logged);
 * *pruned and *blobs_removed get the counts. */
int	bk_prune(const char *dest, int64_t hourly, int64_t daily,
	    size_t *pruned, size_t *blobs_removed);

/* ---- maintain_blobs.c: orphaned blobs and stale temp uploads ------------- */

struct mt_blob_opts {
	const char	*actor_dir;	/* actors/ */
	const char	*blob_dir;	/* blocks/ */
	const char	*blob_tmp;	/* blocks/tempt */
	int64_t		 now_ms;
	int64_t		 orphan_age_ms;	/* rows and files younger: kept */
	int64_t		 temp_age_ms;	/* temp uploads younger: kept */
	int		 dry_run;
};

struct mt_blob_stats {
	size_t	accounts;
	size_t	rows;		/* blob rows deleted (or would be) */
	size_t	files;		/* blob files deleted */
	size_t	young;		/* orphans kept for being too recent */
	size_t	temp_files;	/* stale temp uploads deleted */
	size_t	temp_rows;	/* their blob rows deleted */
	size_t	errors;		/* accounts that failed (logged) */
};

/* Deletes, for every account whose directory name checks out, blob rows
 * no record references (tempKey and takedownRef NULL, no record_blob row,
 * older than orphan_age_ms: what the reference's deleteDereferencedBlobs
 * would have deleted) with their files, and files under blocks/<did>/
 * that no blob row names (older than max(orphan_age_ms, 1 hour), since
 * the reference writes a permanent file inside the transaction that makes
 * its row permanent).  Rows are deleted in short immediate transactions
 * that re-check the condition; files after the commit.  Returns 0, or -1
 * when the actor directory cannot be walked (per-account failures are
 * counted in st->errors and logged). */
int	mt_blobs_orphans(const struct mt_blob_opts *o, struct mt_blob_stats *st);
/* Deletes temp uploads (blocks/tempt/<did>/<key>) last modified before
 * temp_age_ms ago, with the blob row holding that tempKey when no record
 * references it, and blob rows whose temp file is gone and that are as
 * old.  Temp directories of DIDs without an account are cleaned the same
 * way.  Returns 0 or -1 as mt_blobs_orphans(). */
int	mt_blobs_temp(const struct mt_blob_opts *o, struct mt_blob_stats *st);
/* Returns the path of an account's store.sqlite for did (actors/<hh>/
 * <did>/store.sqlite) into out (LIM_CRON_PATH).  Returns 0 or -1. */
int	mt_store_path(const char *actor_dir, const char *did, char *out);

#endif /* PDS_CRON_H */
