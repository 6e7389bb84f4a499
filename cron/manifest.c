/*
 * manifest.c: the MANIFEST of a pds-backup snapshot: one line per file
 * with its SHA-256, size, kind and path, between a version line and an
 * "# end <count>" line that makes truncation visible:
 *
 *	# pds-backup manifest 1
 *	# created 2026-11-21T15:00:00.000Z
 *	# source /pds
 *	<64 hex> <size> db account.sqlite
 *	<64 hex> <size> blob blocks/did:plc:.../bafkrei...
 *	# end 2
 *
 * Owns the format: writing, the strict parser (pure; a MANIFEST read back
 * from a remote is untrusted, so every path is checked before anything
 * is built from it: no absolute paths, no "..", no odd bytes), and the
 * mapping of a path to its file.  Fuzzed by tests/fuzz/fuzz_backup.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>
#include <errno.h>

#include "cron.h"
#include "log.h"
#include "util.h"

#define BK_MAGIC	"# pds-backup manifest 1"
#define BK_MAX_DEPTH	5	/* components: blocks/quarantine/<did>/<cid> */

static const char *const bk_kind_names[BK__MAX] = {
	"db",		/* BK_DB */
	"key",		/* BK_KEY */
	"blob",		/* BK_BLOB */
	"file",		/* BK_FILE */
};

static int
bk_comp_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' ||
	    c == '%' || c == '-';
}

int
bk_path_ok(const char *path, size_t len, enum bk_kind kind)
{
	size_t	i, start = 0, comps = 0;
	int	blocks;

	if (len == 0 || len >= LIM_CRON_PATH / 2)
		return 0;
	for (i = 0; i <= len; i++) {
		if (i < len && path[i] != '/') {
			if (!bk_comp_char(path[i]))
				return 0;
			continue;
		}
		if (i == start || i - start > 255 ||
		    (i - start == 1 && path[start] == '.') ||
		    (i - start == 2 && path[start] == '.' &&
		    path[start + 1] == '.'))
			return 0;
		if (++comps > BK_MAX_DEPTH)
			return 0;
		start = i + 1;
	}
	blocks = len > 7 && memcmp(path, "blocks/", 7) == 0;
	if (kind == BK_BLOB)
		return blocks && comps >= 3;
	return !blocks && !(comps == 1 && strncmp(path, "MANIFEST", len) == 0 &&
	    len == 8);
}

int
bk_manifest_add(struct bk_manifest *m, const char *path, enum bk_kind kind,
    uint64_t size, const uint8_t sha[32])
{
	struct bk_entry	*nv;
	size_t		 ncap;

	if (m->n >= LIM_BK_FILES) {
		log_error("%s: more than %d files", __func__, LIM_BK_FILES);
		return -1;
	}
	if (m->n == m->cap) {
		ncap = m->cap ? m->cap * 2 : 64;
		if ((nv = reallocarray(m->v, ncap, sizeof(*nv))) == NULL) {
			log_error("%s: out of memory", __func__);
			return -1;
		}
		m->v = nv;
		m->cap = ncap;
	}
	if ((m->v[m->n].path = strdup(path)) == NULL) {
		log_error("%s: out of memory", __func__);
		return -1;
	}
	m->v[m->n].size = size;
	memcpy(m->v[m->n].sha, sha, 32);
	m->v[m->n].kind = kind;
	m->n++;
	return 0;
}

static int
bk_entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct bk_entry *)a)->path,
	    ((const struct bk_entry *)b)->path);
}

int
bk_manifest_sort(struct bk_manifest *m)
{
	size_t	i;

	if (m->n > 1)
		qsort(m->v, m->n, sizeof(m->v[0]), bk_entry_cmp);
	for (i = 1; i < m->n; i++)
		if (strcmp(m->v[i - 1].path, m->v[i].path) == 0)
			return -1;
	return 0;
}

const struct bk_entry *
bk_manifest_find(const struct bk_manifest *m, const char *path)
{
	struct bk_entry	key;

	if (m->n == 0)
		return NULL;
	key.path = (char *)(uintptr_t)path;
	return bsearch(&key, m->v, m->n, sizeof(m->v[0]), bk_entry_cmp);
}

void
bk_manifest_free(struct bk_manifest *m)
{
	size_t	i;

	if (m == NULL)
		return;
	for (i = 0; i < m->n; i++)
		free(m->v[i].path);
	free(m->v);
	memset(m, 0, sizeof(*m));
}

int
bk_manifest_write(struct buf *b, const struct bk_manifest *m,
    const char *created, const char *source)
{
	char	hex[65];
	size_t	i;

	if (buf_printf(b, "%s\n# created %s\n", BK_MAGIC, created) == -1 ||
	    (source != NULL && buf_printf(b, "# source %s\n", source) == -1))
		return -1;
	for (i = 0; i < m->n; i++) {
		cron_sha_hex(m->v[i].sha, hex);
		if (buf_printf(b, "%s %llu %s %s\n", hex,
		    (unsigned long long)m->v[i].size,
		    bk_kind_names[m->v[i].kind], m->v[i].path) == -1)
			return -1;
	}
	return buf_printf(b, "# end %zu\n", m->n);
}

static int
bk_hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* One "<sha> <size> <kind> <path>" line (b..e, no newline). */
static int
bk_line_parse(const char *b, const char *e, struct bk_manifest *m,
    size_t line, char *err, size_t errsz)
{
	uint8_t		 sha[32];
	char		 path[LIM_CRON_PATH];
	const char	*sp;
	int64_t		 size;
	size_t		 i, kl;
	int		 hi, lo, k;

	if (e - b < 64 + 1 || b[64] != ' ')
		return cron_fail(err, errsz, "line %zu: expected a SHA-256", line);
	for (i = 0; i < 32; i++) {
		if ((hi = bk_hex_nibble(b[2 * i])) < 0 ||
		    (lo = bk_hex_nibble(b[2 * i + 1])) < 0)
			return cron_fail(err, errsz, "line %zu: bad SHA-256", line);
		sha[i] = (uint8_t)(hi << 4 | lo);
	}
	b += 65;
	if ((sp = memchr(b, ' ', (size_t)(e - b))) == NULL ||
	    util_int_parse(b, (size_t)(sp - b), 0, INT64_MAX, &size) == -1)
		return cron_fail(err, errsz, "line %zu: bad size", line);
	b = sp + 1;
	if ((sp = memchr(b, ' ', (size_t)(e - b))) == NULL)
		return cron_fail(err, errsz, "line %zu: no path", line);
	kl = (size_t)(sp - b);
	for (k = 0; k < BK__MAX; k++)
		if (strlen(bk_kind_names[k]) == kl &&
		    memcmp(b, bk_kind_names[k], kl) == 0)
			break;
	if (k == BK__MAX)
		return cron_fail(err, errsz, "line %zu: unknown kind", line);
	b = sp + 1;
	if (!bk_path_ok(b, (size_t)(e - b), (enum bk_kind)k))
		return cron_fail(err, errsz, "line %zu: refused path", line);
	memcpy(path, b, (size_t)(e - b));
	path[e - b] = '\0';
	if (bk_manifest_add(m, path, (enum bk_kind)k, (uint64_t)size, sha)
	    == -1)
		return cron_fail(err, errsz, "line %zu: cannot keep", line);
	return 0;
}

/* "# end <count>": returns 0 when it matches the entries read. */
static int
bk_end_parse(const char *b, const char *e, size_t n)
{
	int64_t	count;

	if (e - b < 6 || memcmp(b, "# end ", 6) != 0 ||
	    util_int_parse(b + 6, (size_t)(e - b - 6), 0, LIM_BK_FILES,
	    &count) == -1)
		return -1;
	return (size_t)count == n ? 0 : -1;
}

int
bk_manifest_parse(const char *p, size_t len, struct bk_manifest *m,
    char *err, size_t errsz)
{
	const char	*b, *e, *end = p + len;
	size_t		 line = 0;
	int		 ended = 0;

	memset(m, 0, sizeof(*m));
	if (len > LIM_BK_MANIFEST)
		return cron_fail(err, errsz, "over %u bytes", LIM_BK_MANIFEST);
	for (b = p; b < end; b = e + 1) {
		line++;
		if ((e = memchr(b, '\n', (size_t)(end - b))) == NULL) {
			bk_manifest_free(m);
			return cron_fail(err, errsz, "line %zu: no newline", line);
		}
		if (e - b >= LIM_BK_MANIFEST_LINE || memchr(b, '\0',
		    (size_t)(e - b)) != NULL || ended) {
			bk_manifest_free(m);
			return cron_fail(err, errsz, "line %zu: %s", line, ended ?
			    "after the end line" : "too long or NUL byte");
		}
		if (line == 1) {
			if ((size_t)(e - b) != strlen(BK_MAGIC) ||
			    memcmp(b, BK_MAGIC, strlen(BK_MAGIC)) != 0) {
				bk_manifest_free(m);
				return cron_fail(err, errsz, "not a pds-backup "
				    "manifest version 1");
			}
			continue;
		}
		if (e - b >= 6 && memcmp(b, "# end ", 6) == 0) {
			if (bk_end_parse(b, e, m->n) == -1) {
				bk_manifest_free(m);
				return cron_fail(err, errsz, "line %zu: the end "
				    "line does not match %zu entries", line,
				    m->n);
			}
			ended = 1;
			continue;
		}
		if (e > b && *b == '#')
			continue;
		if (bk_line_parse(b, e, m, line, err, errsz) == -1) {
			bk_manifest_free(m);
			return -1;
		}
	}
	if (!ended) {
		bk_manifest_free(m);
		return cron_fail(err, errsz, "truncated: no end line");
	}
	if (bk_manifest_sort(m) == -1) {
		bk_manifest_free(m);
		return cron_fail(err, errsz, "duplicate path");
	}
	return 0;
}

int
bk_manifest_load(const char *snapdir, struct bk_manifest *m)
{
	char		 path[LIM_CRON_PATH], err[160];
	struct stat	 st;
	char		*p = NULL;
	ssize_t		 r;
	size_t		 off = 0;
	int		 fd, rc = -1;

	memset(m, 0, sizeof(*m));
	if (cron_path(path, snapdir, "MANIFEST") == -1)
		return -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		log_error("%s: %s: %s", __func__, path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > LIM_BK_MANIFEST) {
		log_error("%s: %s: not a file, or over %u bytes", __func__,
		    path, LIM_BK_MANIFEST);
		goto out;
	}
	if ((p = malloc((size_t)st.st_size + 1)) == NULL)
		goto out;
	while (off < (size_t)st.st_size) {
		if ((r = read(fd, p + off, (size_t)st.st_size - off)) <= 0) {
			log_error("%s: %s: short read", __func__, path);
			goto out;
		}
		off += (size_t)r;
	}
	if (bk_manifest_parse(p, off, m, err, sizeof(err)) == -1) {
		log_error("%s: %s", path, err);
		goto out;
	}
	rc = 0;
out:
	free(p);
	(void)close(fd);
	return rc;
}

int
bk_entry_file(const char *snapdir, const struct bk_entry *e, char *out)
{
	int	n;

	if (e->kind == BK_BLOB)
		n = snprintf(out, LIM_CRON_PATH, "%s/../../%s", snapdir, e->path);
	else
		n = snprintf(out, LIM_CRON_PATH, "%s/%s", snapdir, e->path);
	return (n < 0 || n >= LIM_CRON_PATH) ? -1 : 0;
}
