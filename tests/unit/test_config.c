/*
 * test_config.c: configuration defaults, value parsing, the env file,
 * precedence, every startup assertion and the unknown-name warning
 * (fcgi/core/config.c; ../shared/spec/reference-pds.md section b).
 */
#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>

#include "t.h"
#include "config.h"
#include "log.h"
#include "pds_limits.h"

/* The secrets and blobstore every full load needs. */
#define BASE_ENV \
	"PDS_JWT_SECRET=jwtsecret0123", \
	"PDS_ADMIN_PASSWORD=adminpass0123", \
	"PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX=" \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", \
	"PDS_BLOBSTORE_DISK_LOCATION=/pds/blocks"

static char	errbuf[512];

static struct pds_config *
load(char *const *envp, const char *file, int flags)
{
	struct pds_config	*c = NULL;

	errbuf[0] = '\0';
	if (config_load_env(envp, file, flags, &c, errbuf,
	    sizeof(errbuf)) == -1)
		return NULL;
	return c;
}

/* Writes text to a fresh temporary file; returns its malloc'd path. */
static char *
tmpfile_with(const char *text, size_t len)
{
	char	*path = strdup("/tmp/test_config_XXXXXX");
	int	 fd;

	if (path == NULL || (fd = mkstemp(path)) == -1) {
		T_OK(0, "mkstemp");
		free(path);
		return NULL;
	}
	T_OK(write(fd, text, len) == (ssize_t)len, "write");
	close(fd);
	return path;
}

static void
test_defaults(void)
{
	char *const		 env[] = { BASE_ENV, NULL };
	struct pds_config	*c = load(env, NULL, 0);

	T_OK(c != NULL, "load: %s", errbuf);
	if (c == NULL)
		return;
	T_EQ_INT(c->port, 2583);
	T_EQ_STR(c->hostname, "localhost");
	T_EQ_STR(c->public_url, "http://localhost:2583");
	T_EQ_STR(c->service_did, "did:web:localhost");
	T_EQ_STR(c->service_name, "localhost PDS");
	T_EQ_STR(c->version, CONFIG_VERSION_DEFAULT);
	T_EQ_INT(c->handle_domains.n, 1);
	T_EQ_STR(c->handle_domains.v[0], ".test");
	T_EQ_INT(c->invite_required, 1);
	T_EQ_INT(c->accepting_imports, 1);
	T_EQ_INT(c->blob_upload_limit, 5242880);
	T_EQ_INT(c->max_import_size, 0);
	T_EQ_STR(c->account_db, "account.sqlite");
	T_EQ_STR(c->sequencer_db, "sequencer.sqlite");
	T_EQ_STR(c->did_cache_db, "did_cache.sqlite");
	T_EQ_STR(c->actor_store_dir, "actors");
	T_EQ_STR(c->blobstore_tmp, "/pds/blocks/tempt");
	T_EQ_STR(c->plc_url, "https://plc.directory");
	T_EQ_INT(c->did_cache_stale_ttl, 3600000);
	T_EQ_INT(c->did_cache_max_ttl, 86400000);
	T_EQ_INT(c->id_resolver_timeout, 3000);
	T_EQ_INT(c->max_sub_buffer, 500);
	T_EQ_INT(c->backfill_limit_ms, 86400000);
	T_EQ_INT(c->fetch_max_response, 524288);
	T_EQ_INT(c->proxy_headers_timeout, 10000);
	T_EQ_INT(c->proxy_body_timeout, 30000);
	T_EQ_INT(c->proxy_max_response, 10485760);
	T_EQ_INT(c->actor_store_cache, 100);
	T_EQ_INT(c->rate_limits, 0);
	T_EQ_INT(c->dev_mode, 0);
	T_EQ_INT(c->ssrf_off, 0);
	T_EQ_INT(c->crawlers.n, 0);
	T_OK(c->workers >= 1 && c->workers <= 256, "workers %lld",
	    (long long)c->workers);
	T_EQ_STR(c->blob_sendfile, "none");
	T_EQ_STR(c->blob_sendfile_prefix, "/_pds_blobs/");
	T_EQ_STR(c->firehose_listen, "127.0.0.1:2584");
	T_EQ_INT(c->fcgi_socket_mode, 0660);
	T_EQ_INT(c->log_enabled, 1);
	T_OK(c->appview_url == NULL && c->report_url == NULL, "unset urls");
	config_free(c);
	config_free(NULL);
}

static void
test_hostname(void)
{
	char *const		 env[] = { BASE_ENV, "PDS_HOSTNAME=pds.example.com",
	    "PDS_DATA_DIRECTORY=/pds/", "PDS_DEV_MODE=true",
	    "PDS_SERVICE_HANDLE_DOMAINS=.a.example,.b.example", NULL };
	struct pds_config	*c = load(env, NULL, 0);

	T_OK(c != NULL, "load: %s", errbuf);
	if (c == NULL)
		return;
	T_EQ_STR(c->public_url, "https://pds.example.com");
	T_EQ_STR(c->service_did, "did:web:pds.example.com");
	T_EQ_STR(c->service_name, "pds.example.com PDS");
	T_EQ_STR(c->account_db, "/pds/account.sqlite");
	T_EQ_STR(c->actor_store_dir, "/pds/actors");
	T_EQ_INT(c->handle_domains.n, 2);
	T_EQ_STR(c->handle_domains.v[1], ".b.example");
	T_EQ_INT(c->ssrf_off, 1);	/* defaults to dev mode */
	config_free(c);

	{
		char *const	 env2[] = { BASE_ENV,
		    "PDS_HOSTNAME=pds.example.com", NULL };

		c = load(env2, NULL, 0);
		T_OK(c != NULL && c->handle_domains.n == 1 &&
		    strcmp(c->handle_domains.v[0], ".pds.example.com") == 0,
		    "default handle domain");
		config_free(c);
	}
}

/* env.ts: int is parseInt, bool only true/1/false/0, empty is unset,
 * lists split on ',' untrimmed. */
static void
test_values(void)
{
	char *const		 env[] = { BASE_ENV, "PDS_PORT=12abc",
	    "PDS_BLOB_UPLOAD_LIMIT=abc", "PDS_MAX_REPO_IMPORT_SIZE= 007",
	    "PDS_INVITE_EPOCH=-5", "PDS_INVITE_REQUIRED=FALSE",
	    "PDS_ACCEPTING_REPO_IMPORTS=0", "PDS_DEV_MODE=yes",
	    "PDS_CRAWLERS=https://a, https://b,", "PDS_HOSTNAME=",
	    "PDS_RATE_LIMITS_ENABLED=1", "LOG_ENABLED=False",
	    "PDS_PROXY_MAX_RETRIES=-3", "PDS_WORKERS=3",
	    "PDS_FCGI_SOCKET_MODE=0600", NULL };
	struct pds_config	*c = load(env, NULL, 0);

	T_OK(c != NULL, "load: %s", errbuf);
	if (c == NULL)
		return;
	T_EQ_INT(c->port, 12);
	T_EQ_INT(c->blob_upload_limit, 5242880);
	T_EQ_INT(c->max_import_size, 7);
	T_EQ_INT(c->invite_epoch, -5);
	T_EQ_INT(c->invite_required, 1);	/* "FALSE" is not false */
	T_EQ_INT(c->accepting_imports, 0);
	T_EQ_INT(c->dev_mode, 0);
	T_EQ_INT(c->crawlers.n, 3);
	T_EQ_STR(c->crawlers.v[1], " https://b");
	T_EQ_STR(c->crawlers.v[2], "");
	T_EQ_STR(c->hostname, "localhost");	/* empty is unset */
	T_EQ_INT(c->rate_limits, 1);
	T_EQ_INT(c->log_enabled, 0);
	T_EQ_INT(c->proxy_max_retries, 0);
	T_EQ_INT(c->workers, 3);
	T_EQ_INT(c->fcgi_socket_mode, 0600);
	config_free(c);
}

static void
test_env_file(void)
{
	static const char text[] =
	    "# pds.env as the installer writes it\r\n"
	    "PDS_HOSTNAME=file.example\r\n"
	    "\n"
	    "   # indented comment\n"
	    "export PDS_JWT_SECRET='single # quoted'\n"
	    "PDS_ADMIN_PASSWORD=\"dq \\\"esc\\\" \\\\ \\n end\"  # note\n"
	    "PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX="
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
	    "PDS_BLOBSTORE_DISK_LOCATION=/file/blocks # trailing comment\n"
	    "PDS_CONTACT_EMAIL_ADDRESS=a#b@example.com\n"
	    "PDS_PORT=1111\n"
	    "PDS_PORT=2222\n"
	    "PDS_VERSION=\n"
	    "PDS_SERVICE_NAME=from file";
	char			*path = tmpfile_with(text, sizeof(text) - 1);
	char			 envfile[300];
	char *const		 env[] = { "PDS_SERVICE_NAME=from env", NULL };
	struct pds_config	*c;

	if (path == NULL)
		return;
	c = load(env, path, 0);
	T_OK(c != NULL, "load: %s", errbuf);
	if (c != NULL) {
		T_EQ_STR(c->hostname, "file.example");
		T_EQ_STR(c->jwt_secret, "single # quoted");
		T_EQ_STR(c->admin_password, "dq \"esc\" \\ \n end");
		T_EQ_STR(c->blobstore_dir, "/file/blocks");
		T_EQ_STR(c->contact_email, "a#b@example.com");
		T_EQ_INT(c->port, 2222);		/* later line wins */
		T_EQ_STR(c->version, CONFIG_VERSION_DEFAULT);
		T_EQ_STR(c->service_name, "from env");	/* env wins */
	}
	config_free(c);

	/* PDS_ENV_FILE names the file when no argument does. */
	(void)snprintf(envfile, sizeof(envfile), "PDS_ENV_FILE=%s", path);
	{
		char *const	env2[] = { envfile, NULL };

		c = load(env2, NULL, 0);
		T_OK(c != NULL && strcmp(c->hostname, "file.example") == 0,
		    "PDS_ENV_FILE: %s", errbuf);
		config_free(c);
	}
	unlink(path);
	free(path);

	{
		char *const	env3[] = { BASE_ENV, NULL };

		c = load(env3, "/nonexistent/pds.env", 0);
		T_OK(c == NULL && strstr(errbuf, "PDS_ENV_FILE") != NULL,
		    "missing file: %s", errbuf);
	}
}

struct bad_line {
	const char	*text;
	const char	*why;	/* expected in the message */
};

static int
count_cb(void *arg, const char *key, size_t keylen, const char *val,
    size_t vallen, size_t lineno)
{
	(void)key; (void)keylen; (void)val; (void)vallen; (void)lineno;
	(*(int *)arg)++;
	return 0;
}

static void
test_env_bad_lines(void)
{
	static const struct bad_line rows[] = {
		{ "PDS_X Y\n", "line 1: expected '='" },
		{ "OK=1\n=x\n", "line 2: expected NAME=value" },
		{ "9X=1\n", "line 1: expected NAME=value" },
		{ "PDS_X='open\n", "unterminated single quote" },
		{ "PDS_X=\"open\n", "unterminated double quote" },
		{ "PDS_X=\"a\" junk\n", "text after the closing quote" },
		{ "PDS_X='a'b\n", "text after the closing quote" },
		{ "PDS_X = 1\n", "expected '='" },
		{ "PDS_X=\"a\\", "backslash at the end" },
	};
	char	 buf[128], err[160];
	size_t	 i, n;
	int	 count;
	char	*big;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		n = strlen(rows[i].text);
		memcpy(buf, rows[i].text, n);
		count = 0;
		err[0] = '\0';
		T_EQ_INT(config_env_parse(buf, n, count_cb, &count, err,
		    sizeof(err)), -1);
		T_OK(strstr(err, rows[i].why) != NULL, "row %zu: \"%s\"", i,
		    err);
	}
	/* NUL byte, overlong line, overlong file. */
	memcpy(buf, "A=1\0\n", 5);
	T_EQ_INT(config_env_parse(buf, 5, count_cb, &count, err,
	    sizeof(err)), -1);
	T_OK(strstr(err, "NUL") != NULL, "%s", err);
	if ((big = malloc(LIM_ENV_FILE_BYTES + 2)) == NULL)
		return;
	memset(big, 'A', LIM_ENV_LINE + 10);
	big[0] = 'X';
	big[1] = '=';
	T_EQ_INT(config_env_parse(big, LIM_ENV_LINE + 10, count_cb, &count,
	    err, sizeof(err)), -1);
	T_OK(strstr(err, "line 1: line longer") != NULL, "%s", err);
	memset(big, '\n', LIM_ENV_FILE_BYTES + 1);
	T_EQ_INT(config_env_parse(big, LIM_ENV_FILE_BYTES + 1, count_cb,
	    &count, err, sizeof(err)), -1);
	T_OK(strstr(err, "larger than") != NULL, "%s", err);
	/* A file of blank lines up to the limit is fine. */
	count = 0;
	T_EQ_INT(config_env_parse(big, LIM_ENV_FILE_BYTES, count_cb, &count,
	    err, sizeof(err)), 0);
	T_EQ_INT(count, 0);
	free(big);

	/* Through config_load: the file name and line are reported. */
	{
		static const char text[] = "PDS_HOSTNAME=x\nbroken line\n";
		char		*path = tmpfile_with(text, sizeof(text) - 1);
		char *const	 env[] = { BASE_ENV, NULL };

		if (path == NULL)
			return;
		T_OK(load(env, path, 0) == NULL, "bad file loads");
		T_OK(strstr(errbuf, "PDS_ENV_FILE") != NULL &&
		    strstr(errbuf, "line 2") != NULL, "%s", errbuf);
		unlink(path);
		free(path);
	}
}

struct assertion {
	const char	*set[4];	/* extra NAME=value, NULL-terminated */
	const char	*var;		/* the variable the message names */
	const char	*text;		/* and a part of the message */
};

/* Every startup assertion, each refusing with one line naming the
 * variable (config.ts, secrets.ts, and ours). */
static void
test_assertions(void)
{
	static const struct assertion rows[] = {
		{ { "PDS_BLOBSTORE_S3_BUCKET=b", NULL }, "PDS_BLOBSTORE_S3_BUCKET",
		    "Cannot set both S3 and disk" },
		{ { "PDS_REPORT_SERVICE_URL=https://mod.example", NULL },
		    "PDS_REPORT_SERVICE_DID", "if report service url is "
		    "configured, must configure its did as well" },
		{ { "PDS_BSKY_APP_VIEW_URL=https://api.example", NULL },
		    "PDS_BSKY_APP_VIEW_DID", "if bsky appview service url" },
		{ { "PDS_MOD_SERVICE_URL=https://mod.example", NULL },
		    "PDS_MOD_SERVICE_DID", "if mod service url" },
		{ { "PDS_EMAIL_SMTP_URL=smtp://x", NULL },
		    "PDS_EMAIL_FROM_ADDRESS", "Partial email config" },
		{ { "PDS_EMAIL_FROM_ADDRESS=a@b.c", NULL },
		    "PDS_EMAIL_SMTP_URL", "Partial email config" },
		{ { "PDS_MODERATION_EMAIL_ADDRESS=a@b.c", NULL },
		    "PDS_MODERATION_EMAIL_SMTP_URL", "Partial moderation email" },
		{ { "PDS_ENTRYWAY_URL=https://e.example", NULL },
		    "PDS_ENTRYWAY_URL", "must include all required entryway" },
		{ { "PDS_ENTRYWAY_URL=https://e.example",
		    "PDS_ENTRYWAY_DID=did:web:e.example",
		    "PDS_ENTRYWAY_JWT_VERIFY_KEY_K256_PUBLIC_KEY_HEX=02ab",
		    "PDS_ENTRYWAY_PLC_ROTATION_KEY=did:key:zQ3sh" },
		    "PDS_ENTRYWAY_URL", "not supported" },
		{ { "PDS_SERVICE_HANDLE_DOMAINS=.ok.example,bad.example", NULL },
		    "PDS_SERVICE_HANDLE_DOMAINS", "Invalid handle domain: "
		    "bad.example" },
		{ { "PDS_SERVICE_HANDLE_DOMAINS=.ok,", NULL },
		    "PDS_SERVICE_HANDLE_DOMAINS", "Invalid handle domain" },
		{ { "PDS_SERVICE_DID=not-a-did", NULL }, "PDS_SERVICE_DID",
		    "not a valid DID" },
		{ { "PDS_LEXICON_AUTHORITY_DID=did:bad", NULL },
		    "PDS_LEXICON_AUTHORITY_DID", "not a valid DID" },
		{ { "PDS_PLC_ROTATION_KEY_KMS_KEY_ID=arn:kms", NULL },
		    "PDS_PLC_ROTATION_KEY_KMS_KEY_ID", "Cannot set both kms" },
		{ { "PDS_DPOP_SECRET=zzzzsecretzzzz", NULL }, "PDS_DPOP_SECRET",
		    "64 hex" },
		{ { "PDS_WORKERS=0", NULL }, "PDS_WORKERS", "between 1 and" },
		{ { "PDS_WORKERS=257", NULL }, "PDS_WORKERS", "between 1 and" },
		{ { "PDS_BLOB_SENDFILE=apache", NULL }, "PDS_BLOB_SENDFILE",
		    "one of nginx" },
		{ { "PDS_BLOB_SENDFILE_PREFIX=blobs/", NULL },
		    "PDS_BLOB_SENDFILE_PREFIX", "start with" },
		{ { "PDS_TRUST_PROXY_HEADER=X-Real-IP", NULL },
		    "PDS_TRUST_PROXY_HEADER", "FastCGI parameter" },
		{ { "PDS_FCGI_SOCKET_MODE=0999", NULL }, "PDS_FCGI_SOCKET_MODE",
		    "octal" },
		{ { "PDS_SEQ_RETENTION_DAYS=-1", NULL }, "PDS_SEQ_RETENTION_DAYS",
		    "negative" },
		{ { "PDS_CRAWLERS=" 
		    ",,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,"
		    ",,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,"
		    ",,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,"
		    ",,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,",
		    NULL }, "PDS_CRAWLERS", "more than" },
	};
	char		*env[16];
	size_t		 i, j, n;
	static char	 base[][128] = { BASE_ENV };

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		n = 0;
		for (j = 0; j < sizeof(base) / sizeof(base[0]); j++)
			env[n++] = base[j];
		for (j = 0; j < 4 && rows[i].set[j] != NULL; j++)
			env[n++] = (char *)rows[i].set[j];
		env[n] = NULL;
		T_OK(load(env, NULL, 0) == NULL, "row %zu loaded", i);
		T_OK(strncmp(errbuf, rows[i].var, strlen(rows[i].var)) == 0 &&
		    strstr(errbuf, rows[i].text) != NULL && strchr(errbuf,
		    '\n') == NULL, "row %zu: \"%s\"", i, errbuf);
		T_OK(strstr(errbuf, "zzzzsecret") == NULL, "secret echoed");
	}
}

static void
test_secret_assertions(void)
{
	char *const	no_blob[] = { "PDS_JWT_SECRET=a", NULL };
	char *const	kms[] = { "PDS_BLOBSTORE_DISK_LOCATION=/b",
	    "PDS_PLC_ROTATION_KEY_KMS_KEY_ID=arn", NULL };
	char *const	no_key[] = { "PDS_BLOBSTORE_DISK_LOCATION=/b", NULL };
	char *const	short_key[] = { "PDS_BLOBSTORE_DISK_LOCATION=/b",
	    "PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX=abcdefsecret", NULL };
	char *const	no_jwt[] = { "PDS_BLOBSTORE_DISK_LOCATION=/b",
	    "PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX="
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	    NULL };
	char *const	no_admin[] = { "PDS_BLOBSTORE_DISK_LOCATION=/b",
	    "PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX="
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	    "PDS_JWT_SECRET=x", NULL };
	struct pds_config	*c;

	T_OK(load(no_blob, NULL, 0) == NULL && strncmp(errbuf,
	    "PDS_BLOBSTORE_DISK_LOCATION: Must configure either S3 or disk",
	    60) == 0, "%s", errbuf);
	T_OK(load(kms, NULL, 0) == NULL && strstr(errbuf,
	    "PDS_PLC_ROTATION_KEY_KMS_KEY_ID: AWS KMS keys are not "
	    "supported") != NULL, "%s", errbuf);
	T_OK(load(no_key, NULL, 0) == NULL && strstr(errbuf,
	    "PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX: Must configure plc "
	    "rotation key") != NULL, "%s", errbuf);
	T_OK(load(short_key, NULL, 0) == NULL && strstr(errbuf,
	    "64 hex") != NULL && strstr(errbuf, "abcdefsecret") == NULL,
	    "%s", errbuf);
	T_OK(load(no_jwt, NULL, 0) == NULL && strcmp(errbuf,
	    "PDS_JWT_SECRET: Must provide a JWT secret") == 0, "%s", errbuf);
	T_OK(load(no_admin, NULL, 0) == NULL && strcmp(errbuf,
	    "PDS_ADMIN_PASSWORD: Must provide an admin password") == 0, "%s",
	    errbuf);
	/* The firehose and cron helpers load without secrets. */
	c = load(no_key, NULL, CONFIG_NO_SECRETS);
	T_OK(c != NULL, "no secrets: %s", errbuf);
	config_free(c);
}

/* Unknown PDS_* names are warned about once each; others are not. */
static void
test_unknown_warning(void)
{
	static const char text[] = "PDS_FROM_FILE_TYPO=1\nOTHER_THING=2\n";
	char		*path = tmpfile_with(text, sizeof(text) - 1);
	char		 logpath[] = "/tmp/test_config_log_XXXXXX";
	char *const	 env[] = { BASE_ENV, "PDS_HOSTNAM=typo", "HOME=/root",
	    "PDS_BACKUP_KEEP_DAILY=7", "PDS_DDNS_ZONE=example.com", NULL };
	struct pds_config *c;
	char		*log;
	int		 fd, saved;
	size_t		 len;

	if (path == NULL || (fd = mkstemp(logpath)) == -1) {
		free(path);
		return;
	}
	saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	c = load(env, path, 0);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fd);
	T_OK(c != NULL, "load: %s", errbuf);
	config_free(c);
	if ((log = t_read_file(logpath, &len)) != NULL) {
		T_OK(strstr(log, "unknown setting PDS_HOSTNAM (environment)") !=
		    NULL, "env warning: %s", log);
		T_OK(strstr(log, "unknown setting PDS_FROM_FILE_TYPO") != NULL &&
		    strstr(log, "line 1") != NULL, "file warning: %s", log);
		T_OK(strstr(log, "OTHER_THING") == NULL &&
		    strstr(log, "HOME") == NULL, "non-PDS names warned");
		T_OK(strstr(log, "PDS_BACKUP") == NULL &&
		    strstr(log, "PDS_DDNS") == NULL, "cron settings warned");
		T_OK(strstr(log, " warn ") != NULL, "level: %s", log);
		free(log);
	}
	unlink(logpath);
	unlink(path);
	free(path);
}

int
main(void)
{
	log_init("test_config", LOG_LVL_INFO);
	test_defaults();
	test_hostname();
	test_values();
	test_env_file();
	test_env_bad_lines();
	test_assertions();
	test_secret_assertions();
	test_unknown_warning();
	return t_done("config");
}
