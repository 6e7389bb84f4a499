/*
 * awscred.c: static AWS credentials for pds-ddns's Route53 provider, found
 * as the AWS CLI finds them (docs.aws.amazon.com/cli, "Configuration and
 * credential file settings"): the environment, then the shared
 * credentials file.
 *
 * Owns: the INI parser of the credentials file (pure) and the secret
 * strings, which are wiped when freed and never logged.  Does not do
 * SSO, assume-role or instance metadata: pass keys for those.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cron.h"
#include "log.h"
#include "util.h"

static void
awscred_trim(const char **b, const char **e)
{
	while (*b < *e && (**b == ' ' || **b == '\t'))
		(*b)++;
	while (*e > *b && ((*e)[-1] == ' ' || (*e)[-1] == '\t' ||
	    (*e)[-1] == '\r'))
		(*e)--;
}

static int
awscred_set(char **dst, const char *b, const char *e)
{
	char	*s;

	if ((s = strndup(b, (size_t)(e - b))) == NULL)
		return -1;
	if (*dst != NULL) {
		util_wipe(*dst, strlen(*dst));
		free(*dst);
	}
	*dst = s;
	return 0;
}

/* One "key = value" line inside the wanted section. */
static int
awscred_line(const char *b, const char *e, struct awscred *out, size_t line,
    char *err, size_t errsz)
{
	const char	*eq, *kb = b, *ke, *vb, *ve = e;
	char		**dst = NULL;

	if ((eq = memchr(b, '=', (size_t)(e - b))) == NULL)
		return cron_fail(err, errsz, "line %zu: expected "
		    "key = value", line);
	ke = eq;
	vb = eq + 1;
	awscred_trim(&kb, &ke);
	awscred_trim(&vb, &ve);
	if ((size_t)(ke - kb) == 17 && memcmp(kb, "aws_access_key_id", 17)
	    == 0)
		dst = &out->key_id;
	else if ((size_t)(ke - kb) == 21 &&
	    memcmp(kb, "aws_secret_access_key", 21) == 0)
		dst = &out->secret;
	else if ((size_t)(ke - kb) == 17 &&
	    memcmp(kb, "aws_session_token", 17) == 0)
		dst = &out->token;
	if (dst == NULL || vb == ve)
		return 0;
	if (awscred_set(dst, vb, ve) == -1)
		return cron_fail(err, errsz, "out of memory");
	return 0;
}

int
awscred_parse(const char *p, size_t len, const char *profile,
    struct awscred *out, char *err, size_t errsz)
{
	const char	*b, *e, *nl, *end = p + len, *sb, *se;
	size_t		 line = 0, pl = strlen(profile);
	int		 in = 0;

	memset(out, 0, sizeof(*out));
	if (len > LIM_AWS_CRED_FILE)
		return cron_fail(err, errsz, "file over %u bytes",
		    LIM_AWS_CRED_FILE);
	if (memchr(p, '\0', len) != NULL)
		return cron_fail(err, errsz, "NUL byte in file");
	for (b = p; b < end; b = nl + 1) {
		line++;
		if ((nl = memchr(b, '\n', (size_t)(end - b))) == NULL)
			nl = end;
		e = nl;
		awscred_trim(&b, &e);
		if (b == e || *b == '#' || *b == ';')
			continue;
		if (*b == '[') {
			if (e[-1] != ']' || e - b < 3) {
				awscred_free(out);
				return cron_fail(err, errsz, "line %zu: bad "
				    "section header", line);
			}
			sb = b + 1;
			se = e - 1;
			awscred_trim(&sb, &se);
			in = (size_t)(se - sb) == pl &&
			    memcmp(sb, profile, pl) == 0;
			continue;
		}
		if (in && awscred_line(b, e, out, line, err, errsz) == -1) {
			awscred_free(out);
			return -1;
		}
	}
	if (out->key_id == NULL || out->secret == NULL) {
		awscred_free(out);
		return 1;
	}
	return 0;
}

/* Reads the credentials file into a heap buffer (wiped by the caller). */
static char *
awscred_read(const char *path, size_t *len)
{
	struct stat	 st;
	char		*p = NULL;
	ssize_t		 r;
	size_t		 off = 0;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > LIM_AWS_CRED_FILE ||
	    (p = malloc((size_t)st.st_size + 1)) == NULL)
		goto fail;
	while (off < (size_t)st.st_size) {
		if ((r = read(fd, p + off, (size_t)st.st_size - off)) <= 0)
			goto fail;
		off += (size_t)r;
	}
	(void)close(fd);
	*len = off;
	return p;
fail:
	if (p != NULL) {
		util_wipe(p, off);
		free(p);
	}
	(void)close(fd);
	return NULL;
}

static int
awscred_from_file(struct awscred *out)
{
	char		 path[LIM_CRON_PATH], err[128];
	const char	*f, *home, *profile;
	char		*p;
	size_t		 len = 0;
	int		 rc, n;

	if ((profile = getenv("AWS_PROFILE")) == NULL || *profile == '\0')
		profile = "default";
	if ((f = getenv("AWS_SHARED_CREDENTIALS_FILE")) != NULL && *f != '\0')
		n = snprintf(path, sizeof(path), "%s", f);
	else if ((home = getenv("HOME")) != NULL && *home != '\0')
		n = snprintf(path, sizeof(path), "%s/.aws/credentials", home);
	else {
		log_error("route53: no credentials: set AWS_ACCESS_KEY_ID and "
		    "AWS_SECRET_ACCESS_KEY, or AWS_SHARED_CREDENTIALS_FILE");
		return -1;
	}
	if (n < 0 || (size_t)n >= sizeof(path))
		return -1;
	if ((p = awscred_read(path, &len)) == NULL) {
		log_error("route53: no credentials: AWS_ACCESS_KEY_ID is unset "
		    "and %s cannot be read: %s", path, strerror(errno));
		return -1;
	}
	rc = awscred_parse(p, len, profile, out, err, sizeof(err));
	util_wipe(p, len);
	free(p);
	if (rc == -1)
		log_error("route53: %s: %s", path, err);
	else if (rc == 1)
		log_error("route53: %s: profile [%s] lacks aws_access_key_id "
		    "or aws_secret_access_key", path, profile);
	return rc == 0 ? 0 : -1;
}

int
awscred_load(struct awscred *out)
{
	const char	*id, *sec, *tok;

	memset(out, 0, sizeof(*out));
	id = getenv("AWS_ACCESS_KEY_ID");
	sec = getenv("AWS_SECRET_ACCESS_KEY");
	tok = getenv("AWS_SESSION_TOKEN");
	if (id == NULL || *id == '\0' || sec == NULL || *sec == '\0')
		return awscred_from_file(out);
	if ((out->key_id = strdup(id)) == NULL ||
	    (out->secret = strdup(sec)) == NULL ||
	    (tok != NULL && *tok != '\0' && (out->token = strdup(tok)) ==
	    NULL)) {
		awscred_free(out);
		log_error("%s: out of memory", __func__);
		return -1;
	}
	return 0;
}

void
awscred_free(struct awscred *c)
{
	if (c == NULL)
		return;
	if (c->key_id != NULL)
		free(c->key_id);
	if (c->secret != NULL) {
		util_wipe(c->secret, strlen(c->secret));
		free(c->secret);
	}
	if (c->token != NULL) {
		util_wipe(c->token, strlen(c->token));
		free(c->token);
	}
	memset(c, 0, sizeof(*c));
}
