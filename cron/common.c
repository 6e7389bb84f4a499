/*
 * common.c: what the three cron helpers share: loading the configuration
 * without secrets, their own settings (PDS_DDNS_*, PDS_BACKUP_*,
 * PDS_MAINTAIN_*), the run lock, string lists, paths and flag values.
 *
 * Does not own: the PDS configuration itself (fcgi/core/config.c), nor
 * any database access (fcgi/store/db.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "cron.h"
#include "log.h"
#include "util.h"

extern char	**environ;

/* The helpers' own names: the configuration module does not know them,
 * so they are kept away from it (it would warn about each). */
static const char *const cron_own_prefixes[] = {
	"PDS_DDNS_", "PDS_BACKUP_", "PDS_MAINTAIN_",
};

/* The env file's assignments: our own names (cron_file_env) and the
 * others (cron_file_cfg), both as "NAME=value" strings. */
static struct cron_list	cron_file_env;
static struct cron_list	cron_file_cfg;

static int
cron_is_own(const char *name, size_t len)
{
	size_t	i, pl;

	for (i = 0; i < sizeof(cron_own_prefixes) /
	    sizeof(cron_own_prefixes[0]); i++) {
		pl = strlen(cron_own_prefixes[i]);
		if (len >= pl && memcmp(name, cron_own_prefixes[i], pl) == 0)
			return 1;
	}
	return 0;
}

/* Keeps one NAME=value of the env file in the list it belongs to. */
static int
cron_file_cb(void *arg, const char *key, size_t keylen, const char *val,
    size_t vallen, size_t lineno)
{
	struct cron_list	*l;
	char			*s;
	int			 rc;

	(void)arg;
	(void)lineno;
	l = cron_is_own(key, keylen) ? &cron_file_env : &cron_file_cfg;
	if (keylen + vallen + 2 > LIM_ENV_LINE ||
	    (s = malloc(keylen + vallen + 2)) == NULL)
		return -1;
	memcpy(s, key, keylen);
	s[keylen] = '=';
	memcpy(s + keylen + 1, val, vallen);
	s[keylen + 1 + vallen] = '\0';
	rc = cron_list_add(l, s, 0, SIZE_MAX);
	util_wipe(s, keylen + vallen + 2);
	free(s);
	return rc;
}

/* Reads the env file with the configuration module's own parser. */
static int
cron_env_file_read(const char *path)
{
	char		 err[256];
	struct stat	 st;
	char		*p = NULL;
	ssize_t		 r;
	size_t		 off = 0;
	int		 fd, rc = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		log_error("configuration: %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || st.st_size < 0 ||
	    (uint64_t)st.st_size > LIM_ENV_FILE_BYTES) {
		log_error("configuration: %s: unreadable or over %u bytes",
		    path, LIM_ENV_FILE_BYTES);
		goto out;
	}
	if ((p = malloc((size_t)st.st_size + 1)) == NULL)
		goto out;
	while (off < (size_t)st.st_size) {
		r = read(fd, p + off, (size_t)st.st_size - off);
		if (r <= 0) {
			log_error("configuration: %s: short read", path);
			goto out;
		}
		off += (size_t)r;
	}
	p[off] = '\0';
	err[0] = '\0';
	if (config_env_parse(p, off, cron_file_cb, NULL, err,
	    sizeof(err)) == -1) {
		log_error("configuration: %s: %s", path, err[0] ? err :
		    "cannot keep settings");
		goto out;
	}
	rc = 0;
out:
	if (p != NULL) {
		util_wipe(p, off);	/* the file may hold secrets */
		free(p);
	}
	(void)close(fd);
	return rc;
}

/* Appends the entries of src that are not ours (and not PDS_ENV_FILE,
 * already read) to envp. */
static void
cron_envp_fill(char **envp, size_t *n, char *const *src, size_t count)
{
	const char	*eq;
	size_t		 i;

	for (i = 0; i < count && src[i] != NULL; i++) {
		if ((eq = strchr(src[i], '=')) == NULL ||
		    cron_is_own(src[i], (size_t)(eq - src[i])) ||
		    strncmp(src[i], "PDS_ENV_FILE=", 13) == 0)
			continue;
		envp[(*n)++] = src[i];
	}
}

int
cron_config_load(const char *env_file, struct pds_config **out)
{
	char	 err[512], **envp = NULL;
	size_t	 i, n = 0;
	int	 rc = -1;

	*out = NULL;
	cron_env_fini();
	if (env_file == NULL && (env_file = getenv("PDS_ENV_FILE")) != NULL &&
	    *env_file == '\0')
		env_file = NULL;
	/* The file is read here rather than by config_load_env(), so that
	 * our own names never reach that module (it warns about unknown
	 * PDS_* names).  Its assignments go first: the environment wins. */
	if (env_file != NULL && cron_env_file_read(env_file) == -1)
		goto out;
	for (i = 0; environ != NULL && environ[i] != NULL; i++)
		n++;
	if ((envp = calloc(n + cron_file_cfg.n + 1, sizeof(*envp))) == NULL) {
		log_error("%s: out of memory", __func__);
		goto out;
	}
	i = n;
	n = 0;
	cron_envp_fill(envp, &n, cron_file_cfg.v, cron_file_cfg.n);
	cron_envp_fill(envp, &n, environ, i);
	err[0] = '\0';
	if (config_load_env(envp, NULL, CONFIG_NO_SECRETS, out, err,
	    sizeof(err)) == -1) {
		log_error("configuration: %s", err[0] ? err : "cannot load");
		goto out;
	}
	rc = 0;
out:
	free(envp);
	return rc;
}

const char *
cron_env_get(const char *name)
{
	const char	*v;
	size_t		 i, nl = strlen(name);

	if ((v = getenv(name)) != NULL)
		return *v != '\0' ? v : NULL;
	for (i = cron_file_env.n; i > 0; i--) {
		/* Last assignment wins, as in a shell. */
		v = cron_file_env.v[i - 1];
		if (strncmp(v, name, nl) == 0 && v[nl] == '=')
			return v[nl + 1] != '\0' ? v + nl + 1 : NULL;
	}
	return NULL;
}

void
cron_env_fini(void)
{
	size_t	i;

	for (i = 0; i < cron_file_cfg.n; i++)
		util_wipe(cron_file_cfg.v[i], strlen(cron_file_cfg.v[i]));
	cron_list_free(&cron_file_cfg);
	cron_list_free(&cron_file_env);
}

int
cron_lock(const char *path)
{
	int	fd;

	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600)) == -1) {
		log_error("%s: %s: %s", __func__, path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK) {
			(void)close(fd);
			return -2;
		}
		log_error("%s: %s: %s", __func__, path, strerror(errno));
		(void)close(fd);
		return -1;
	}
	return fd;
}

int
cron_lock_path(const char *prog, const char *explicit,
    const struct pds_config *cfg, char *out)
{
	const char	*rt;
	int		 n;

	if (explicit != NULL)
		n = snprintf(out, LIM_CRON_PATH, "%s", explicit);
	else if (cfg != NULL && cfg->data_dir != NULL)
		n = snprintf(out, LIM_CRON_PATH, "%s/.%s.lock", cfg->data_dir,
		    prog);
	else if ((rt = getenv("XDG_RUNTIME_DIR")) != NULL && *rt == '/')
		n = snprintf(out, LIM_CRON_PATH, "%s/%s.lock", rt, prog);
	else
		n = snprintf(out, LIM_CRON_PATH, "/tmp/%s.%lu.lock", prog,
		    (unsigned long)getuid());
	if (n < 0 || n >= LIM_CRON_PATH) {
		log_error("%s: lock path too long", __func__);
		return -1;
	}
	return 0;
}

static int
cron_list_push(struct cron_list *l, const char *s, size_t len, size_t max)
{
	char	**nv, *c;

	if (l->n >= max) {
		log_error("%s: more than %zu items", __func__, max);
		return -1;
	}
	if ((c = strndup(s, len)) == NULL ||
	    (nv = reallocarray(l->v, l->n + 1, sizeof(*nv))) == NULL) {
		free(c);
		log_error("%s: out of memory", __func__);
		return -1;
	}
	l->v = nv;
	l->v[l->n++] = c;
	return 0;
}

int
cron_list_add(struct cron_list *l, const char *s, int split, size_t max)
{
	const char	*p, *e, *end;

	if (!split)
		return cron_list_push(l, s, strlen(s), max);
	for (p = s; *p != '\0'; p = (*end == ',') ? end + 1 : end) {
		if ((end = strchr(p, ',')) == NULL)
			end = p + strlen(p);
		e = end;
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (e > p && cron_list_push(l, p, (size_t)(e - p), max) == -1)
			return -1;
	}
	return 0;
}

void
cron_list_free(struct cron_list *l)
{
	size_t	i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

int
cron_path(char *out, const char *a, const char *b)
{
	size_t	al = strlen(a);
	int	n;

	while (al > 1 && a[al - 1] == '/')
		al--;
	n = snprintf(out, LIM_CRON_PATH, "%.*s/%s", (int)al, a, b);
	return (n < 0 || n >= LIM_CRON_PATH) ? -1 : 0;
}

int
cron_mkdirs(const char *path, mode_t mode)
{
	char	 p[LIM_CRON_PATH], *s;
	size_t	 len = strlen(path);
	int	 last;

	if (len == 0 || len >= sizeof(p)) {
		log_error("%s: bad path", __func__);
		return -1;
	}
	memcpy(p, path, len + 1);
	for (s = p + 1; ; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		last = (*s == '\0');
		*s = '\0';
		if (mkdir(p, mode) == -1 && errno != EEXIST) {
			log_error("%s: %s: %s", __func__, p, strerror(errno));
			return -1;
		}
		if (last)
			break;
		*s = '/';
	}
	return 0;
}

int
cron_flag_int(const char *name, const char *s, int64_t min, int64_t max,
    int64_t *out)
{
	if (s == NULL || util_int_parse_str(s, min, max, out) == -1) {
		log_error("%s: expected an integer in [%lld, %lld]", name,
		    (long long)min, (long long)max);
		return -1;
	}
	return 0;
}

int
cron_name_ok(const char *name, size_t len)
{
	size_t	i;

	if (len == 0 || len > 255 || (len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.'))
		return 0;
	for (i = 0; i < len; i++)
		if (name[i] == '/' || (unsigned char)name[i] < 0x20 ||
		    name[i] == 0x7f)
			return 0;
	return 1;
}

int
cron_fail(char *err, size_t errsz, const char *fmt, ...)
{
	va_list	ap;

	if (errsz > 0) {
		va_start(ap, fmt);
		(void)vsnprintf(err, errsz, fmt, ap);
		va_end(ap);
	}
	return -1;
}
