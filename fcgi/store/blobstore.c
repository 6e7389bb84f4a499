/*
 * blobstore.c: blob files on disk.  See blobstore.h.
 *
 * Owns file paths, temp uploads (streamed SHA-256), the temp to
 * permanent move, deletion and quarantine.  Does not own the blob table
 * (actorread.c, repowrite.c) or MIME sniffing (mimesniff.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "blobstore.h"
#include "config.h"
#include "enc.h"
#include "log.h"
#include "syntax.h"
#include "util.h"

#define BLOB_FILE_MODE	0644
#define BLOB_DIR_MODE	0755
#define COPY_CHUNK	(64u << 10)

int
blobstore_init(struct blobstore *bs, const struct pds_config *cfg)
{
	memset(bs, 0, sizeof(*bs));
	if (cfg->blobstore_dir == NULL) {
		log_error("%s: PDS_BLOBSTORE_DISK_LOCATION is not set",
		    __func__);
		return -1;
	}
	bs->root = strdup(cfg->blobstore_dir);
	if (cfg->blobstore_tmp != NULL)
		bs->tmp = strdup(cfg->blobstore_tmp);
	else if (bs->root != NULL && asprintf(&bs->tmp, "%s/tempt",
	    bs->root) == -1)
		bs->tmp = NULL;
	if (bs->root != NULL && asprintf(&bs->quarantine, "%s/quarantine",
	    bs->root) == -1)
		bs->quarantine = NULL;
	if (bs->root == NULL || bs->tmp == NULL || bs->quarantine == NULL) {
		blobstore_fini(bs);
		log_error("%s: out of memory", __func__);
		return -1;
	}
	return 0;
}

void
blobstore_fini(struct blobstore *bs)
{
	if (bs == NULL)
		return;
	free(bs->root);
	free(bs->tmp);
	free(bs->quarantine);
	memset(bs, 0, sizeof(*bs));
}

/* ==== paths ============================================================== */

/* "<base>/<did>" or "<base>/<did>/<name>" (name NULL). */
static int
bpath(const char *base, const char *did, const char *name, char *out,
    size_t outsz)
{
	int	n;

	if (base == NULL || syntax_did_validate(did, strlen(did), NULL) == -1)
		return -1;
	n = name != NULL ? snprintf(out, outsz, "%s/%s/%s", base, did, name) :
	    snprintf(out, outsz, "%s/%s", base, did);
	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

static int
bpath_cid(const char *base, const char *did, const struct cid *cid,
    char *out, size_t outsz)
{
	char	cs[CID_STR_LEN];

	cid_format(cid, cs);
	return bpath(base, did, cs, out, outsz);
}

/* mkdir -p dir (every component). */
static int
mkdirs(const char *dir)
{
	char	p[LIM_STORE_PATH];
	size_t	i, len = strlen(dir);

	if (len == 0 || len >= sizeof(p))
		return -1;
	memcpy(p, dir, len + 1);
	for (i = 1; i <= len; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		p[i] = '\0';
		if (mkdir(p, BLOB_DIR_MODE) == -1 && errno != EEXIST) {
			log_error("%s: mkdir %s: %s", __func__, p,
			    strerror(errno));
			return -1;
		}
		if (i < len)
			p[i] = '/';
	}
	return 0;
}

int
blobstore_path(const struct blobstore *bs, const char *did,
    const struct cid *cid, char *abs, size_t abssz, char *rel, size_t relsz)
{
	char	cs[CID_STR_LEN];
	int	n;

	if (abs != NULL && bpath_cid(bs->root, did, cid, abs, abssz) == -1)
		return -1;
	if (rel != NULL) {
		cid_format(cid, cs);
		n = snprintf(rel, relsz, "%s/%s", did, cs);
		if (n < 0 || (size_t)n >= relsz)
			return -1;
	}
	return 0;
}

int
blobstore_key_validate(const char *key)
{
	size_t	i, len = strlen(key);

	if (len == 0 || len >= BLOBSTORE_KEY_LEN)
		return -1;
	for (i = 0; i < len; i++)
		if (!((key[i] >= 'a' && key[i] <= 'z') ||
		    (key[i] >= '2' && key[i] <= '7')))
			return -1;
	return 0;
}

/* ==== uploads ============================================================== */

int
blobstore_upload_open(const struct blobstore *bs, const char *did,
    struct blobstore_upload *u)
{
	uint8_t	rnd[LIM_BLOB_TEMPKEY_BYTES];
	char	dir[LIM_STORE_PATH];
	size_t	n;

	memset(u, 0, sizeof(*u));
	u->fd = -1;
	if (util_random(rnd, sizeof(rnd)) == -1)
		return -1;
	n = enc_b32_encode(rnd, sizeof(rnd), u->key);
	u->key[n] = '\0';
	if (bpath(bs->tmp, did, NULL, dir, sizeof(dir)) == -1 ||
	    bpath(bs->tmp, did, u->key, u->path, sizeof(u->path)) == -1 ||
	    mkdirs(dir) == -1)
		return -1;
	if ((u->md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(u->md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(u->md);
		u->md = NULL;
		return -1;
	}
	u->fd = open(u->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    BLOB_FILE_MODE);
	if (u->fd == -1) {
		log_error("%s: %s: %s", __func__, u->path, strerror(errno));
		EVP_MD_CTX_free(u->md);
		u->md = NULL;
		return -1;
	}
	return 0;
}

static int
write_all(int fd, const void *p, size_t len)
{
	const uint8_t	*b = p;
	ssize_t		 n;

	while (len > 0) {
		if ((n = write(fd, b, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

int
blobstore_upload_write(struct blobstore_upload *u, const void *p, size_t len)
{
	size_t	take;

	if (u->fd == -1 || u->md == NULL)
		return -1;
	if (u->headlen < sizeof(u->head)) {
		take = sizeof(u->head) - u->headlen;
		if (take > len)
			take = len;
		memcpy(u->head + u->headlen, p, take);
		u->headlen += take;
	}
	if (EVP_DigestUpdate(u->md, p, len) != 1 ||
	    write_all(u->fd, p, len) == -1) {
		log_error("%s: %s: %s", __func__, u->path, strerror(errno));
		return -1;
	}
	u->size += len;
	return 0;
}

int
blobstore_upload_finish(struct blobstore_upload *u, struct cid *cid,
    uint64_t *size)
{
	uint8_t		dg[32];
	unsigned	dlen = 0;
	int		ok;

	if (u->fd == -1 || u->md == NULL)
		return -1;
	ok = EVP_DigestFinal_ex(u->md, dg, &dlen) == 1 && dlen == 32;
	EVP_MD_CTX_free(u->md);
	u->md = NULL;
	if (fsync(u->fd) == -1)
		ok = 0;
	if (close(u->fd) == -1)
		ok = 0;
	u->fd = -1;
	if (!ok) {
		log_error("%s: %s: could not finish", __func__, u->path);
		(void)unlink(u->path);
		u->path[0] = '\0';
		return -1;
	}
	cid_from_digest(cid, CID_CODEC_RAW, dg);
	*size = u->size;
	u->path[0] = '\0';	/* kept: no longer ours to remove */
	return 0;
}

void
blobstore_upload_abort(struct blobstore_upload *u)
{
	if (u->fd != -1) {
		(void)close(u->fd);
		u->fd = -1;
	}
	if (u->path[0] != '\0') {
		(void)unlink(u->path);
		u->path[0] = '\0';
	}
	EVP_MD_CTX_free(u->md);
	u->md = NULL;
}

/* ==== moving and deleting ==================================================== */

/* Copies src to dst through a temp name next to dst (EXDEV fallback). */
static int
copy_file(const char *src, const char *dst)
{
	char	tmp[LIM_STORE_PATH], buf[COPY_CHUNK];
	ssize_t	n;
	int	in, out, rc = -1;

	if (snprintf(tmp, sizeof(tmp), "%s.copy", dst) >= (int)sizeof(tmp))
		return -1;
	if ((in = open(src, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    BLOB_FILE_MODE);
	if (out != -1) {
		while ((n = read(in, buf, sizeof(buf))) > 0)
			if (write_all(out, buf, (size_t)n) == -1)
				break;
		if (n == 0 && fsync(out) == 0)
			rc = 0;
		if (close(out) == -1)
			rc = -1;
		if (rc == 0 && rename(tmp, dst) == -1)
			rc = -1;
		if (rc == -1)
			(void)unlink(tmp);
	}
	(void)close(in);
	return rc;
}

int
blobstore_make_permanent(const struct blobstore *bs, const char *did,
    const char *key, const struct cid *cid)
{
	char	tmp[LIM_STORE_PATH], dst[LIM_STORE_PATH], dir[LIM_STORE_PATH];
	int	have_dst;

	if (blobstore_key_validate(key) == -1 ||
	    bpath(bs->tmp, did, key, tmp, sizeof(tmp)) == -1 ||
	    bpath_cid(bs->root, did, cid, dst, sizeof(dst)) == -1 ||
	    bpath(bs->root, did, NULL, dir, sizeof(dir)) == -1)
		return -1;
	have_dst = access(dst, F_OK) == 0;
	if (access(tmp, F_OK) == -1)
		return have_dst ? 0 : 1;
	if (have_dst) {
		(void)unlink(tmp);
		return 0;
	}
	if (mkdirs(dir) == -1)
		return -1;
	if (rename(tmp, dst) == 0)
		return 0;
	if (errno == EXDEV && copy_file(tmp, dst) == 0) {
		(void)unlink(tmp);
		return 0;
	}
	log_error("%s: %s -> %s: %s", __func__, tmp, dst, strerror(errno));
	return -1;
}

static int
unlink_ok(const char *p)
{
	if (unlink(p) == 0 || errno == ENOENT)
		return 0;
	log_error("%s: unlink %s: %s", __func__, p, strerror(errno));
	return -1;
}

int
blobstore_delete(const struct blobstore *bs, const char *did,
    const struct cid *cid)
{
	char	p[LIM_STORE_PATH];

	if (bpath_cid(bs->root, did, cid, p, sizeof(p)) == -1)
		return -1;
	return unlink_ok(p);
}

int
blobstore_delete_temp(const struct blobstore *bs, const char *did,
    const char *key)
{
	char	p[LIM_STORE_PATH];

	if (blobstore_key_validate(key) == -1 ||
	    bpath(bs->tmp, did, key, p, sizeof(p)) == -1)
		return -1;
	return unlink_ok(p);
}

/* rename(from/<did>/<cid>, to/<did>/<cid>). */
static int
move_between(const char *from, const char *to, const char *did,
    const struct cid *cid)
{
	char	src[LIM_STORE_PATH], dst[LIM_STORE_PATH], dir[LIM_STORE_PATH];

	if (bpath_cid(from, did, cid, src, sizeof(src)) == -1 ||
	    bpath_cid(to, did, cid, dst, sizeof(dst)) == -1 ||
	    bpath(to, did, NULL, dir, sizeof(dir)) == -1 || mkdirs(dir) == -1)
		return -1;
	if (rename(src, dst) == 0)
		return 0;
	if (errno == ENOENT)
		return 1;
	log_error("%s: %s -> %s: %s", __func__, src, dst, strerror(errno));
	return -1;
}

int
blobstore_quarantine(const struct blobstore *bs, const char *did,
    const struct cid *cid)
{
	return move_between(bs->root, bs->quarantine, did, cid);
}

int
blobstore_unquarantine(const struct blobstore *bs, const char *did,
    const struct cid *cid)
{
	return move_between(bs->quarantine, bs->root, did, cid);
}

/* Removes the files of one flat directory, then the directory. */
static int
rm_flat_dir(const char *dir)
{
	char		 p[LIM_STORE_PATH];
	struct dirent	*de;
	DIR		*d;
	int		 rc = 0;

	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (snprintf(p, sizeof(p), "%s/%s", dir, de->d_name) >=
		    (int)sizeof(p) || unlink_ok(p) == -1)
			rc = -1;
	}
	(void)closedir(d);
	if (rmdir(dir) == -1 && errno != ENOENT)
		rc = -1;
	return rc;
}

int
blobstore_destroy(const struct blobstore *bs, const char *did)
{
	const char	*bases[3] = { bs->root, bs->tmp, bs->quarantine };
	char		 dir[LIM_STORE_PATH];
	size_t		 i;
	int		 rc = 0;

	for (i = 0; i < 3; i++)
		if (bpath(bases[i], did, NULL, dir, sizeof(dir)) == -1 ||
		    rm_flat_dir(dir) == -1)
			rc = -1;
	return rc;
}

int
blobstore_open(const struct blobstore *bs, const char *did,
    const struct cid *cid, int *fd, uint64_t *size)
{
	struct stat	sb;
	char		p[LIM_STORE_PATH];

	*fd = -1;
	if (bpath_cid(bs->root, did, cid, p, sizeof(p)) == -1)
		return -1;
	if ((*fd = open(p, O_RDONLY | O_CLOEXEC)) == -1)
		return errno == ENOENT ? 0 : -1;
	if (fstat(*fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		(void)close(*fd);
		*fd = -1;
		return -1;
	}
	*size = (uint64_t)sb.st_size;
	return 1;
}
