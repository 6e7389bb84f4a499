/*
 * files.c: file and directory work for pds-backup and pds-maintain:
 * durable copies with a SHA-256 taken on the way, tree removal that never
 * follows symlinks, and the walk over the actor store directories
 * (actors/<hh>/<did>/, ../shared/spec/reference-pds.md section c, where
 * <hh> is the first two hex digits of SHA-256 over the DID).
 *
 * Does not open databases (fcgi/store/db.c does).
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

#include "cron.h"
#include "log.h"
#include "syntax.h"

#define FILES_CHUNK	(64u << 10)	/* bytes per read */

void
cron_sha_hex(const uint8_t sha[32], char out[65])
{
	static const char	hex[] = "0123456789abcdef";
	size_t			i;

	for (i = 0; i < 32; i++) {
		out[2 * i] = hex[sha[i] >> 4];
		out[2 * i + 1] = hex[sha[i] & 15];
	}
	out[64] = '\0';
}

static int
files_write_all(int fd, const uint8_t *p, size_t n)
{
	ssize_t	w;

	while (n > 0) {
		if ((w = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Streams fd into out (when >= 0) while hashing.  0 or -1 (errno). */
static int
files_pump(int in, int out, uint8_t sha[32], uint64_t *size)
{
	EVP_MD_CTX	*ctx;
	uint8_t		*chunk;
	ssize_t		 r;
	unsigned	 dl = 0;
	int		 rc = -1;

	*size = 0;
	if ((chunk = malloc(FILES_CHUNK)) == NULL)
		return -1;
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto out;
	for (;;) {
		if ((r = read(in, chunk, FILES_CHUNK)) == -1) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		if (r == 0)
			break;
		if (EVP_DigestUpdate(ctx, chunk, (size_t)r) != 1 ||
		    (out >= 0 && files_write_all(out, chunk, (size_t)r) == -1))
			goto out;
		*size += (uint64_t)r;
	}
	if (EVP_DigestFinal_ex(ctx, sha, &dl) != 1 || dl != 32)
		goto out;
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	free(chunk);
	return rc;
}

int
cron_file_sha256(const char *path, uint8_t sha[32], uint64_t *size)
{
	int	fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		log_error("%s: %s: %s", __func__, path, strerror(errno));
		return -1;
	}
	if ((rc = files_pump(fd, -1, sha, size)) == -1)
		log_error("%s: %s: %s", __func__, path, strerror(errno));
	(void)close(fd);
	return rc;
}

int
cron_file_copy(const char *src, const char *dst, mode_t mode, int keep_mtime,
    uint8_t sha[32], uint64_t *size)
{
	char		 part[LIM_CRON_PATH];
	struct stat	 st;
	struct timespec	 ts[2];
	int		 in, out = -1, rc = -1, n;

	n = snprintf(part, sizeof(part), "%s.partial", dst);
	if (n < 0 || (size_t)n >= sizeof(part)) {
		log_error("%s: %s: path too long", __func__, dst);
		return -1;
	}
	if ((in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		if (errno == ENOENT)
			return -2;
		log_error("%s: %s: %s", __func__, src, strerror(errno));
		return -1;
	}
	if (fstat(in, &st) == -1 || !S_ISREG(st.st_mode)) {
		log_error("%s: %s: not a regular file", __func__, src);
		goto out;
	}
	if ((out = open(part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, mode)) == -1 || fchmod(out, mode) == -1) {
		log_error("%s: %s: %s", __func__, part, strerror(errno));
		goto out;
	}
	if (files_pump(in, out, sha, size) == -1) {
		log_error("%s: %s -> %s: %s", __func__, src, part,
		    strerror(errno));
		goto out;
	}
	if (keep_mtime) {
		ts[0] = st.st_atim;
		ts[1] = st.st_mtim;
		(void)futimens(out, ts);
	}
	if (fsync(out) == -1 || close(out) == -1) {
		out = -1;
		log_error("%s: %s: %s", __func__, part, strerror(errno));
		goto out;
	}
	out = -1;
	if (rename(part, dst) == -1) {
		log_error("%s: %s: %s", __func__, dst, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (out >= 0)
		(void)close(out);
	if (rc != 0)
		(void)unlink(part);
	(void)close(in);
	return rc;
}

/* Removes the contents of the open directory fd (then the caller
 * removes the directory itself).  Depth is bounded by the layout. */
static int
files_rm_at(int dfd, int depth)
{
	DIR		*d;
	struct dirent	*de;
	int		 fd, rc = 0;

	if (depth > 16 || (d = fdopendir(dfd)) == NULL) {
		(void)close(dfd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			continue;
		if (errno != EISDIR && errno != EPERM) {
			rc = -1;
			continue;
		}
		if ((fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC)) == -1 ||
		    files_rm_at(fd, depth + 1) == -1 ||
		    unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) == -1)
			rc = -1;
	}
	(void)closedir(d);
	return rc;
}

int
cron_rmtree(const char *path)
{
	int	fd;

	if (unlink(path) == 0 || errno == ENOENT)
		return 0;
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1 || files_rm_at(fd, 0) == -1 ||
	    rmdir(path) == -1) {
		log_error("%s: %s: %s", __func__, path, strerror(errno));
		return -1;
	}
	return 0;
}

int
cron_fsync_dir(const char *path)
{
	int	fd, rc;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		log_error("%s: %s: %s", __func__, path, strerror(errno));
		return -1;
	}
	rc = fsync(fd);
	if (rc == -1)
		log_error("%s: %s: %s", __func__, path, strerror(errno));
	(void)close(fd);
	return rc;
}

int
cron_dir_empty(const char *path)
{
	DIR		*d;
	struct dirent	*de;
	int		 rc = 1;

	if ((d = opendir(path)) == NULL) {
		if (errno == ENOENT)
			return 1;
		log_error("%s: %s: %s", __func__, path, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
			rc = 0;
			break;
		}
	(void)closedir(d);
	return rc;
}

static int
files_is_hh(const char *s)
{
	return strlen(s) == 2 && strspn(s, "0123456789abcdef") == 2;
}

/* Is hh the first byte of sha256(did), and did a DID? */
static int
files_hh_ok(const char *hh, const char *did)
{
	static const char	 hex[] = "0123456789abcdef";
	uint8_t			 dg[32];
	unsigned		 dl = 0;
	const char		*why;

	if (syntax_did_validate(did, strlen(did), &why) != 0)
		return 0;
	if (EVP_Digest(did, strlen(did), dg, &dl, EVP_sha256(), NULL) != 1)
		return 0;
	return hh[0] == hex[dg[0] >> 4] && hh[1] == hex[dg[0] & 15];
}

static int
files_walk_hh(const char *hhdir, const char *hh,
    int (*cb)(const struct cron_actor *, void *), void *arg)
{
	struct cron_actor	 a;
	struct dirent		*de;
	struct stat		 st;
	char			 dir[LIM_CRON_PATH];
	DIR			*d;
	int			 rc = 0;

	if ((d = opendir(hhdir)) == NULL) {
		log_error("%s: %s: %s", __func__, hhdir, strerror(errno));
		return -1;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (cron_path(dir, hhdir, de->d_name) == -1 ||
		    lstat(dir, &st) == -1 || !S_ISDIR(st.st_mode))
			continue;
		a.did = de->d_name;
		a.dir = dir;
		a.hh = hh;
		a.hh_ok = files_hh_ok(hh, de->d_name);
		rc = cb(&a, arg);
	}
	(void)closedir(d);
	return rc;
}

int
cron_actors_walk(const char *actor_dir,
    int (*cb)(const struct cron_actor *, void *), void *arg)
{
	struct dirent	*de;
	char		 hhdir[LIM_CRON_PATH];
	DIR		*d;
	int		 rc = 0;

	if ((d = opendir(actor_dir)) == NULL) {
		if (errno == ENOENT)
			return 0;
		log_error("%s: %s: %s", __func__, actor_dir, strerror(errno));
		return -1;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (!files_is_hh(de->d_name))
			continue;
		if (cron_path(hhdir, actor_dir, de->d_name) == -1) {
			rc = -1;
			break;
		}
		rc = files_walk_hh(hhdir, de->d_name, cb, arg);
	}
	(void)closedir(d);
	return rc;
}
