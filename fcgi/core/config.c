/*
 * config.c: the PDS configuration from the reference's environment
 * variables (../shared/spec/reference-pds.md section b), an optional
 * pds.env file, and our own additions (config.h).
 *
 * Owns: the table of every known variable, the env-file parser, the
 * reference's value parsing (packages/common/src/env.ts), defaults,
 * derived values and the startup assertions (config/config.ts,
 * config/secrets.ts).  Does not own: what the values mean to each module,
 * or listening sockets (fcgi/server).  Error convention: 0 / -1 with a
 * one-line message in the caller's err buffer; warnings via log_warn().
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "pds_limits.h"
#include "syntax.h"
#include "util.h"

extern char	**environ;

/* ---- the variable table -------------------------------------------- */

enum cfg_type {
	CT_STR,		/* str: empty is unset */
	CT_INT,		/* int: parseInt(); no digits is unset */
	CT_BOOL,	/* bool: true/1, false/0; anything else unset */
	CT_LIST,	/* list: split on ',' untrimmed */
	CT_KNOWN,	/* recognised (reference or branding), not used here */
	CT__MAX
};

enum cfg_var {
	/* service */
	V_PORT, V_HOSTNAME, V_SERVICE_DID, V_SERVICE_NAME, V_VERSION,
	V_HOME_URL, V_LOGO_URL, V_PRIVACY_URL, V_SUPPORT_URL, V_TOS_URL,
	V_CONTACT_EMAIL, V_ACCEPT_IMPORTS, V_MAX_IMPORT, V_BLOB_LIMIT,
	V_DEV_MODE,
	/* storage */
	V_DATA_DIR, V_WAL_OFF, V_ACCOUNT_DB, V_SEQUENCER_DB, V_DID_CACHE_DB,
	V_ACTOR_DIR, V_ACTOR_CACHE, V_S3_BUCKET, V_DISK_LOC, V_DISK_TMP,
	/* identity */
	V_PLC_URL, V_CACHE_STALE, V_CACHE_MAX, V_RESOLVER_TIMEOUT,
	V_RECOVERY_KEY, V_HANDLE_DOMAINS, V_BACKUP_NS, V_DIDDOC_SESSION,
	/* entryway */
	V_ENTRYWAY_URL, V_ENTRYWAY_DID, V_ENTRYWAY_JWT_KEY,
	V_ENTRYWAY_PLC_KEY,
	/* invites */
	V_INVITE_REQUIRED, V_INVITE_INTERVAL, V_INVITE_EPOCH,
	/* email */
	V_SMTP_URL, V_EMAIL_FROM, V_EMAIL_NO_LINK, V_MOD_SMTP_URL,
	V_MOD_EMAIL,
	/* firehose */
	V_SUB_BUFFER, V_BACKFILL_MS, V_CRAWLERS,
	/* upstream services */
	V_APPVIEW_URL, V_APPVIEW_DID, V_APPVIEW_CDN, V_MOD_URL, V_MOD_DID,
	V_REPORT_URL, V_REPORT_DID,
	/* rate limits */
	V_RATE_LIMITS, V_RATE_BYPASS_KEY, V_RATE_BYPASS_IPS,
	/* secrets */
	V_JWT_SECRET, V_ADMIN_PASSWORD, V_DPOP_SECRET, V_PLC_KEY_HEX,
	V_PLC_KEY_KMS,
	/* fetch and proxy */
	V_SSRF_OFF, V_FETCH_MAX, V_PROXY_HTTP2, V_PROXY_HDR_TIMEOUT,
	V_PROXY_BODY_TIMEOUT, V_PROXY_MAX_RESPONSE, V_PROXY_RETRIES,
	V_PROXY_COMPRESSED, V_LEXICON_DID,
	/* ours */
	V_WORKERS, V_FCGI_LISTEN, V_FCGI_SOCKET_MODE, V_FIREHOSE_LISTEN,
	V_SENDFILE, V_SENDFILE_PREFIX, V_AGE_LOCAL, V_TRUST_PROXY,
	V_SEQ_RETENTION, V_ENV_FILE, V_LOG_ENABLED, V_LOG_LEVEL,
	/* recognised, not used: OAuth UI, branding, S3, Redis, firehose */
	V_K_HCAPTCHA_SITE, V_K_HCAPTCHA_SECRET, V_K_HCAPTCHA_SALT,
	V_K_OAUTH_CLIENTS, V_K_PRIMARY, V_K_ERROR, V_K_WARNING, V_K_INFO,
	V_K_SUCCESS, V_K_BG_LIGHT, V_K_BG_DARK, V_K_LIGHT, V_K_DARK,
	V_K_CONTRAST_SAT, V_K_PRIMARY_CONTRAST, V_K_PRIMARY_HUE,
	V_K_ERROR_CONTRAST, V_K_ERROR_HUE, V_K_WARNING_CONTRAST,
	V_K_WARNING_HUE, V_K_INFO_CONTRAST, V_K_INFO_HUE,
	V_K_SUCCESS_CONTRAST, V_K_SUCCESS_HUE, V_K_S3_REGION,
	V_K_S3_ENDPOINT, V_K_S3_PATH_STYLE, V_K_S3_KEY_ID, V_K_S3_SECRET,
	V_K_S3_UPLOAD_TIMEOUT, V_K_S3_REQUEST_TIMEOUT, V_K_ENTRYWAY_ADMIN,
	V_K_REDIS_ADDR, V_K_REDIS_PASSWORD, V_K_FH_MAX_CONNS,
	V__MAX
};

struct cfg_def {
	const char	*name;
	enum cfg_type	 type;
	size_t		 off;	/* offsetof(struct pds_config, field) */
	int64_t		 dflt;	/* CT_INT / CT_BOOL default */
	int		 secret; /* wipe; never echo */
};

#define OFF(f)	offsetof(struct pds_config, f)
#define STR(n, f)		{ n, CT_STR, OFF(f), 0, 0 }
#define SEC(n, f)		{ n, CT_STR, OFF(f), 0, 1 }
#define INT(n, f, d)		{ n, CT_INT, OFF(f), d, 0 }
#define BOOL(n, f, d)		{ n, CT_BOOL, OFF(f), d, 0 }
#define LIST(n, f)		{ n, CT_LIST, OFF(f), 0, 0 }
#define KNOWN(n)		{ n, CT_KNOWN, 0, 0, 0 }
#define KNOWN_SECRET(n)		{ n, CT_KNOWN, 0, 0, 1 }

static const struct cfg_def cfg_defs[V__MAX] = {
	[V_PORT] = INT("PDS_PORT", port, 2583),
	[V_HOSTNAME] = STR("PDS_HOSTNAME", hostname),
	[V_SERVICE_DID] = STR("PDS_SERVICE_DID", service_did),
	[V_SERVICE_NAME] = STR("PDS_SERVICE_NAME", service_name),
	[V_VERSION] = STR("PDS_VERSION", version),
	[V_HOME_URL] = STR("PDS_HOME_URL", home_url),
	[V_LOGO_URL] = STR("PDS_LOGO_URL", logo_url),
	[V_PRIVACY_URL] = STR("PDS_PRIVACY_POLICY_URL", privacy_policy_url),
	[V_SUPPORT_URL] = STR("PDS_SUPPORT_URL", support_url),
	[V_TOS_URL] = STR("PDS_TERMS_OF_SERVICE_URL", terms_of_service_url),
	[V_CONTACT_EMAIL] = STR("PDS_CONTACT_EMAIL_ADDRESS", contact_email),
	[V_ACCEPT_IMPORTS] = BOOL("PDS_ACCEPTING_REPO_IMPORTS",
	    accepting_imports, 1),
	[V_MAX_IMPORT] = INT("PDS_MAX_REPO_IMPORT_SIZE", max_import_size, 0),
	[V_BLOB_LIMIT] = INT("PDS_BLOB_UPLOAD_LIMIT", blob_upload_limit,
	    LIM_BLOB_DEFAULT),
	[V_DEV_MODE] = BOOL("PDS_DEV_MODE", dev_mode, 0),
	[V_DATA_DIR] = STR("PDS_DATA_DIRECTORY", data_dir),
	[V_WAL_OFF] = BOOL("PDS_SQLITE_DISABLE_WAL_AUTO_CHECKPOINT",
	    wal_autockpt_off, 0),
	[V_ACCOUNT_DB] = STR("PDS_ACCOUNT_DB_LOCATION", account_db),
	[V_SEQUENCER_DB] = STR("PDS_SEQUENCER_DB_LOCATION", sequencer_db),
	[V_DID_CACHE_DB] = STR("PDS_DID_CACHE_DB_LOCATION", did_cache_db),
	[V_ACTOR_DIR] = STR("PDS_ACTOR_STORE_DIRECTORY", actor_store_dir),
	[V_ACTOR_CACHE] = INT("PDS_ACTOR_STORE_CACHE_SIZE",
	    actor_store_cache, 100),
	[V_S3_BUCKET] = STR("PDS_BLOBSTORE_S3_BUCKET", blob_s3_bucket),
	[V_DISK_LOC] = STR("PDS_BLOBSTORE_DISK_LOCATION", blobstore_dir),
	[V_DISK_TMP] = STR("PDS_BLOBSTORE_DISK_TMP_LOCATION", blobstore_tmp),
	[V_PLC_URL] = STR("PDS_DID_PLC_URL", plc_url),
	[V_CACHE_STALE] = INT("PDS_DID_CACHE_STALE_TTL", did_cache_stale_ttl,
	    3600000),
	[V_CACHE_MAX] = INT("PDS_DID_CACHE_MAX_TTL", did_cache_max_ttl,
	    86400000),
	[V_RESOLVER_TIMEOUT] = INT("PDS_ID_RESOLVER_TIMEOUT",
	    id_resolver_timeout, 3000),
	[V_RECOVERY_KEY] = STR("PDS_RECOVERY_DID_KEY", recovery_did_key),
	[V_HANDLE_DOMAINS] = LIST("PDS_SERVICE_HANDLE_DOMAINS",
	    handle_domains),
	[V_BACKUP_NS] = LIST("PDS_HANDLE_BACKUP_NAMESERVERS",
	    handle_backup_ns),
	[V_DIDDOC_SESSION] = BOOL("PDS_ENABLE_DID_DOC_WITH_SESSION",
	    did_doc_with_session, 0),
	[V_ENTRYWAY_URL] = STR("PDS_ENTRYWAY_URL", entryway_url),
	[V_ENTRYWAY_DID] = STR("PDS_ENTRYWAY_DID", entryway_did),
	[V_ENTRYWAY_JWT_KEY] = STR(
	    "PDS_ENTRYWAY_JWT_VERIFY_KEY_K256_PUBLIC_KEY_HEX",
	    entryway_jwt_key_hex),
	[V_ENTRYWAY_PLC_KEY] = STR("PDS_ENTRYWAY_PLC_ROTATION_KEY",
	    entryway_plc_rotation_key),
	[V_INVITE_REQUIRED] = BOOL("PDS_INVITE_REQUIRED", invite_required, 1),
	[V_INVITE_INTERVAL] = INT("PDS_INVITE_INTERVAL", invite_interval, 0),
	[V_INVITE_EPOCH] = INT("PDS_INVITE_EPOCH", invite_epoch, 0),
	[V_SMTP_URL] = SEC("PDS_EMAIL_SMTP_URL", smtp_url),
	[V_EMAIL_FROM] = STR("PDS_EMAIL_FROM_ADDRESS", email_from),
	[V_EMAIL_NO_LINK] = BOOL("PDS_EMAIL_DISABLE_CONFIRMATION_LINK",
	    email_no_confirm_link, 0),
	[V_MOD_SMTP_URL] = SEC("PDS_MODERATION_EMAIL_SMTP_URL", mod_smtp_url),
	[V_MOD_EMAIL] = STR("PDS_MODERATION_EMAIL_ADDRESS", mod_email),
	[V_SUB_BUFFER] = INT("PDS_MAX_SUBSCRIPTION_BUFFER", max_sub_buffer,
	    LIM_FH_BUFFER_DEFAULT),
	[V_BACKFILL_MS] = INT("PDS_REPO_BACKFILL_LIMIT_MS", backfill_limit_ms,
	    86400000),
	[V_CRAWLERS] = LIST("PDS_CRAWLERS", crawlers),
	[V_APPVIEW_URL] = STR("PDS_BSKY_APP_VIEW_URL", appview_url),
	[V_APPVIEW_DID] = STR("PDS_BSKY_APP_VIEW_DID", appview_did),
	[V_APPVIEW_CDN] = STR("PDS_BSKY_APP_VIEW_CDN_URL_PATTERN",
	    appview_cdn_pattern),
	[V_MOD_URL] = STR("PDS_MOD_SERVICE_URL", mod_url),
	[V_MOD_DID] = STR("PDS_MOD_SERVICE_DID", mod_did),
	[V_REPORT_URL] = STR("PDS_REPORT_SERVICE_URL", report_url),
	[V_REPORT_DID] = STR("PDS_REPORT_SERVICE_DID", report_did),
	[V_RATE_LIMITS] = BOOL("PDS_RATE_LIMITS_ENABLED", rate_limits, 0),
	[V_RATE_BYPASS_KEY] = SEC("PDS_RATE_LIMIT_BYPASS_KEY",
	    rate_bypass_key),
	[V_RATE_BYPASS_IPS] = LIST("PDS_RATE_LIMIT_BYPASS_IPS",
	    rate_bypass_ips),
	[V_JWT_SECRET] = SEC("PDS_JWT_SECRET", jwt_secret),
	[V_ADMIN_PASSWORD] = SEC("PDS_ADMIN_PASSWORD", admin_password),
	[V_DPOP_SECRET] = SEC("PDS_DPOP_SECRET", dpop_secret),
	[V_PLC_KEY_HEX] = SEC("PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX",
	    plc_rotation_key_hex),
	[V_PLC_KEY_KMS] = STR("PDS_PLC_ROTATION_KEY_KMS_KEY_ID",
	    plc_rotation_kms),
	[V_SSRF_OFF] = BOOL("PDS_DISABLE_SSRF_PROTECTION", ssrf_off, 0),
	[V_FETCH_MAX] = INT("PDS_FETCH_MAX_RESPONSE_SIZE", fetch_max_response,
	    524288),
	[V_PROXY_HTTP2] = BOOL("PDS_PROXY_ALLOW_HTTP2", proxy_allow_http2, 0),
	[V_PROXY_HDR_TIMEOUT] = INT("PDS_PROXY_HEADERS_TIMEOUT",
	    proxy_headers_timeout, 10000),
	[V_PROXY_BODY_TIMEOUT] = INT("PDS_PROXY_BODY_TIMEOUT",
	    proxy_body_timeout, 30000),
	[V_PROXY_MAX_RESPONSE] = INT("PDS_PROXY_MAX_RESPONSE_SIZE",
	    proxy_max_response, 10485760),
	[V_PROXY_RETRIES] = INT("PDS_PROXY_MAX_RETRIES", proxy_max_retries, 0),
	[V_PROXY_COMPRESSED] = BOOL("PDS_PROXY_PREFER_COMPRESSED",
	    proxy_prefer_compressed, 0),
	[V_LEXICON_DID] = STR("PDS_LEXICON_AUTHORITY_DID",
	    lexicon_authority_did),
	[V_WORKERS] = INT("PDS_WORKERS", workers, 0),
	[V_FCGI_LISTEN] = STR("PDS_FCGI_LISTEN", fcgi_listen),
	[V_FCGI_SOCKET_MODE] = STR("PDS_FCGI_SOCKET_MODE", fcgi_socket_mode_s),
	[V_FIREHOSE_LISTEN] = STR("PDS_FIREHOSE_LISTEN", firehose_listen),
	[V_SENDFILE] = STR("PDS_BLOB_SENDFILE", blob_sendfile),
	[V_SENDFILE_PREFIX] = STR("PDS_BLOB_SENDFILE_PREFIX",
	    blob_sendfile_prefix),
	[V_AGE_LOCAL] = BOOL("PDS_AGE_ASSURANCE_LOCAL", age_assurance_local, 0),
	[V_TRUST_PROXY] = STR("PDS_TRUST_PROXY_HEADER", trust_proxy_header),
	[V_SEQ_RETENTION] = INT("PDS_SEQ_RETENTION_DAYS", seq_retention_days,
	    0),
	[V_ENV_FILE] = KNOWN("PDS_ENV_FILE"),
	[V_LOG_ENABLED] = KNOWN("LOG_ENABLED"),
	[V_LOG_LEVEL] = KNOWN("LOG_LEVEL"),
	[V_K_HCAPTCHA_SITE] = KNOWN("PDS_HCAPTCHA_SITE_KEY"),
	[V_K_HCAPTCHA_SECRET] = KNOWN_SECRET("PDS_HCAPTCHA_SECRET_KEY"),
	[V_K_HCAPTCHA_SALT] = KNOWN_SECRET("PDS_HCAPTCHA_TOKEN_SALT"),
	[V_K_OAUTH_CLIENTS] = KNOWN("PDS_OAUTH_TRUSTED_CLIENTS"),
	[V_K_PRIMARY] = KNOWN("PDS_PRIMARY_COLOR"),
	[V_K_ERROR] = KNOWN("PDS_ERROR_COLOR"),
	[V_K_WARNING] = KNOWN("PDS_WARNING_COLOR"),
	[V_K_INFO] = KNOWN("PDS_INFO_COLOR"),
	[V_K_SUCCESS] = KNOWN("PDS_SUCCESS_COLOR"),
	[V_K_BG_LIGHT] = KNOWN("PDS_BACKGROUND_LIGHT_URL"),
	[V_K_BG_DARK] = KNOWN("PDS_BACKGROUND_DARK_URL"),
	[V_K_LIGHT] = KNOWN("PDS_LIGHT_COLOR"),
	[V_K_DARK] = KNOWN("PDS_DARK_COLOR"),
	[V_K_CONTRAST_SAT] = KNOWN("PDS_CONTRAST_SATURATION"),
	[V_K_PRIMARY_CONTRAST] = KNOWN("PDS_PRIMARY_COLOR_CONTRAST"),
	[V_K_PRIMARY_HUE] = KNOWN("PDS_PRIMARY_COLOR_HUE"),
	[V_K_ERROR_CONTRAST] = KNOWN("PDS_ERROR_COLOR_CONTRAST"),
	[V_K_ERROR_HUE] = KNOWN("PDS_ERROR_COLOR_HUE"),
	[V_K_WARNING_CONTRAST] = KNOWN("PDS_WARNING_COLOR_CONTRAST"),
	[V_K_WARNING_HUE] = KNOWN("PDS_WARNING_COLOR_HUE"),
	[V_K_INFO_CONTRAST] = KNOWN("PDS_INFO_COLOR_CONTRAST"),
	[V_K_INFO_HUE] = KNOWN("PDS_INFO_COLOR_HUE"),
	[V_K_SUCCESS_CONTRAST] = KNOWN("PDS_SUCCESS_COLOR_CONTRAST"),
	[V_K_SUCCESS_HUE] = KNOWN("PDS_SUCCESS_COLOR_HUE"),
	[V_K_S3_REGION] = KNOWN("PDS_BLOBSTORE_S3_REGION"),
	[V_K_S3_ENDPOINT] = KNOWN("PDS_BLOBSTORE_S3_ENDPOINT"),
	[V_K_S3_PATH_STYLE] = KNOWN("PDS_BLOBSTORE_S3_FORCE_PATH_STYLE"),
	[V_K_S3_KEY_ID] = KNOWN("PDS_BLOBSTORE_S3_ACCESS_KEY_ID"),
	[V_K_S3_SECRET] = KNOWN_SECRET("PDS_BLOBSTORE_S3_SECRET_ACCESS_KEY"),
	[V_K_S3_UPLOAD_TIMEOUT] = KNOWN("PDS_BLOBSTORE_S3_UPLOAD_TIMEOUT_MS"),
	[V_K_S3_REQUEST_TIMEOUT] = KNOWN("PDS_BLOBSTORE_S3_REQUEST_TIMEOUT_MS"),
	[V_K_ENTRYWAY_ADMIN] = KNOWN_SECRET("PDS_ENTRYWAY_ADMIN_TOKEN"),
	[V_K_REDIS_ADDR] = KNOWN("PDS_REDIS_SCRATCH_ADDRESS"),
	[V_K_REDIS_PASSWORD] = KNOWN_SECRET("PDS_REDIS_SCRATCH_PASSWORD"),
	[V_K_FH_MAX_CONNS] = KNOWN("PDS_FIREHOSE_MAX_CONNECTIONS"),
};

/* ---- load state ---------------------------------------------------- */

struct cfg_load {
	char		*raw[V__MAX];	/* heap copies of the winning values */
	unsigned char	 set[V__MAX];	/* parsed to a value */
	const char	*file;		/* env file path, for messages */
	char		*err;
	size_t		 errsz;
};

static enum cfg_var
cfg_find(const char *name, size_t len)
{
	size_t	i;

	for (i = 0; i < V__MAX; i++)
		if (strlen(cfg_defs[i].name) == len &&
		    memcmp(cfg_defs[i].name, name, len) == 0)
			return (enum cfg_var)i;
	return V__MAX;
}

static int __attribute__((format(printf, 2, 3)))
cfg_fail(struct cfg_load *ld, const char *fmt, ...)
{
	va_list	ap;

	if (ld->err != NULL && ld->errsz > 0) {
		va_start(ap, fmt);
		(void)vsnprintf(ld->err, ld->errsz, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static void
cfg_raw_free(struct cfg_load *ld)
{
	size_t	i;

	for (i = 0; i < V__MAX; i++) {
		if (ld->raw[i] != NULL)
			util_wipe(ld->raw[i], strlen(ld->raw[i]));
		free(ld->raw[i]);
		ld->raw[i] = NULL;
	}
}

/* Keeps (val, len) as the value of v, replacing an earlier one. */
static int
cfg_raw_set(struct cfg_load *ld, enum cfg_var v, const char *val,
    size_t len)
{
	char	*s;

	if ((s = malloc(len + 1)) == NULL)
		return cfg_fail(ld, "out of memory");
	memcpy(s, val, len);
	s[len] = '\0';
	if (ld->raw[v] != NULL)
		util_wipe(ld->raw[v], strlen(ld->raw[v]));
	free(ld->raw[v]);
	ld->raw[v] = s;
	return 0;
}

/* A PDS_* name no table row knows: warned about, unless it belongs to
 * one of our other programs (the cron helpers read their settings from
 * the same pds.env) or to the test tooling. */
static int
cfg_is_pds_name(const char *name, size_t len)
{
	static const char *const others[] = { "PDS_BACKUP_", "PDS_DDNS_",
	    "PDS_MAINTAIN_", "PDS_TEST_", "PDS_INTEROP_DIR", NULL };
	size_t	i, n;

	if (len <= 4 || memcmp(name, "PDS_", 4) != 0)
		return 0;
	for (i = 0; others[i] != NULL; i++) {
		n = strlen(others[i]);
		if (len >= n && memcmp(name, others[i], n) == 0)
			return 0;
	}
	return 1;
}

static void
cfg_warn_unknown(const char *name, size_t len, const char *where)
{
	char	esc[128];

	log_escape(esc, sizeof(esc), name, len);
	log_warn("config: unknown setting %s (%s), ignored", esc, where);
}

/* ---- env file parsing ------------------------------------------------ */

static int __attribute__((format(printf, 4, 5)))
env_fail(char *err, size_t errsz, size_t lineno, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	if (err == NULL || errsz == 0)
		return -1;
	n = snprintf(err, errsz, "line %zu: ", lineno);
	if (n < 0 || (size_t)n >= errsz)
		return -1;
	va_start(ap, fmt);
	(void)vsnprintf(err + n, errsz - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static int
env_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Unescapes a double-quoted value in place.  *pp points after the opening
 * quote, end is the end of the line.  On success sets *vlen, leaves *pp
 * after the closing quote and returns 0; -1 when unterminated. */
static int
env_dquote(char **pp, char *end, size_t *vlen, const char **why)
{
	char	*r = *pp, *w = *pp;

	while (r < end && *r != '"') {
		if (*r != '\\') {
			*w++ = *r++;
			continue;
		}
		if (++r == end) {
			*why = "backslash at the end of the line";
			return -1;
		}
		switch (*r) {
		case 'n': *w++ = '\n'; break;
		case 't': *w++ = '\t'; break;
		case 'r': *w++ = '\r'; break;
		case '\\': case '"': case '$': case '\'': case '`':
			*w++ = *r;
			break;
		default:
			/* Unknown escapes keep the backslash (shell rule). */
			*w++ = '\\';
			*w++ = *r;
			break;
		}
		r++;
	}
	if (r == end) {
		*why = "unterminated double quote";
		return -1;
	}
	*vlen = (size_t)(w - *pp);
	*pp = r + 1;
	return 0;
}

/* After a closing quote only blanks and a '#' comment may follow. */
static int
env_tail_ok(const char *p, const char *end)
{
	while (p < end && env_blank(*p))
		p++;
	return p == end || *p == '#';
}

/* Parses one line [p, end) (no newline, CR stripped). */
static int
env_line(char *p, char *end, size_t lineno, config_env_cb cb, void *arg,
    char *err, size_t errsz)
{
	char		*key, *val, *q;
	size_t		 keylen, vlen;
	const char	*why = NULL;

	while (p < end && env_blank(*p))
		p++;
	if (p == end || *p == '#')
		return 0;
	if ((size_t)(end - p) > 7 && memcmp(p, "export", 6) == 0 &&
	    env_blank(p[6])) {
		p += 7;
		while (p < end && env_blank(*p))
			p++;
	}
	key = p;
	if (p == end || !(isalpha((unsigned char)*p) || *p == '_'))
		return env_fail(err, errsz, lineno,
		    "expected NAME=value (a name starts with a letter or _)");
	while (p < end && (isalnum((unsigned char)*p) || *p == '_'))
		p++;
	keylen = (size_t)(p - key);
	if (p == end || *p != '=')
		return env_fail(err, errsz, lineno,
		    "expected '=' right after the name");
	p++;
	if (p < end && *p == '\'') {
		val = ++p;
		if ((q = memchr(p, '\'', (size_t)(end - p))) == NULL)
			return env_fail(err, errsz, lineno,
			    "unterminated single quote");
		vlen = (size_t)(q - val);
		p = q + 1;
		if (!env_tail_ok(p, end))
			return env_fail(err, errsz, lineno,
			    "text after the closing quote");
	} else if (p < end && *p == '"') {
		val = ++p;
		if (env_dquote(&p, end, &vlen, &why) == -1)
			return env_fail(err, errsz, lineno, "%s", why);
		if (!env_tail_ok(p, end))
			return env_fail(err, errsz, lineno,
			    "text after the closing quote");
	} else {
		/* Bare value: a '#' after a blank starts a comment. */
		val = p;
		for (q = p; q < end; q++)
			if (*q == '#' && q > val && env_blank(q[-1]))
				break;
		while (q > val && env_blank(q[-1]))
			q--;
		vlen = (size_t)(q - val);
	}
	return cb(arg, key, keylen, val, vlen, lineno);
}

int
config_env_parse(char *p, size_t len, config_env_cb cb, void *arg,
    char *err, size_t errsz)
{
	char	*end = p + len, *nl, *eol;
	size_t	 lineno = 0;

	if (len > LIM_ENV_FILE_BYTES)
		return env_fail(err, errsz, 0, "file larger than %u bytes",
		    (unsigned)LIM_ENV_FILE_BYTES);
	if (len > 0 && memchr(p, '\0', len) != NULL)
		return env_fail(err, errsz, 0, "NUL byte in the file");
	while (p < end) {
		lineno++;
		nl = memchr(p, '\n', (size_t)(end - p));
		eol = nl != NULL ? nl : end;
		if ((size_t)(eol - p) > LIM_ENV_LINE)
			return env_fail(err, errsz, lineno,
			    "line longer than %u bytes",
			    (unsigned)LIM_ENV_LINE);
		if (eol > p && eol[-1] == '\r')
			eol--;
		if (env_line(p, eol, lineno, cb, arg, err, errsz) == -1)
			return -1;
		p = nl != NULL ? nl + 1 : end;
	}
	return 0;
}

/* ---- sources: file, then environment ---------------------------------- */

static int
cfg_file_cb(void *arg, const char *key, size_t keylen, const char *val,
    size_t vlen, size_t lineno)
{
	struct cfg_load	*ld = arg;
	enum cfg_var	 v;
	char		 where[300];

	if ((v = cfg_find(key, keylen)) != V__MAX)
		return cfg_raw_set(ld, v, val, vlen);
	if (cfg_is_pds_name(key, keylen)) {
		(void)snprintf(where, sizeof(where), "%s line %zu", ld->file,
		    lineno);
		cfg_warn_unknown(key, keylen, where);
	}
	return 0;
}

static int
cfg_read_file(struct cfg_load *ld, const char *path)
{
	struct stat	 st;
	char		*p = NULL;
	char		 perr[160];
	ssize_t		 n;
	size_t		 got = 0;
	int		 fd, rc = -1;

	ld->file = path;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return cfg_fail(ld, "PDS_ENV_FILE: cannot open %s: %s", path,
		    strerror(errno));
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		cfg_fail(ld, "PDS_ENV_FILE: %s is not a regular file", path);
		goto out;
	}
	if (st.st_size > (off_t)LIM_ENV_FILE_BYTES) {
		cfg_fail(ld, "PDS_ENV_FILE: %s is larger than %u bytes", path,
		    (unsigned)LIM_ENV_FILE_BYTES);
		goto out;
	}
	if ((p = malloc((size_t)st.st_size + 1)) == NULL) {
		cfg_fail(ld, "out of memory");
		goto out;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, p + got, (size_t)st.st_size - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			cfg_fail(ld, "PDS_ENV_FILE: cannot read %s", path);
			goto out;
		}
		got += (size_t)n;
	}
	perr[0] = '\0';
	if (config_env_parse(p, got, cfg_file_cb, ld, perr,
	    sizeof(perr)) == -1) {
		/* A callback failure already wrote ld->err. */
		if (perr[0] != '\0')
			cfg_fail(ld, "PDS_ENV_FILE: %s: %s", path, perr);
		goto out;
	}
	rc = 0;
out:
	if (p != NULL)
		util_wipe(p, got);
	free(p);
	close(fd);
	return rc;
}

static const char *
cfg_envp_get(char *const *envp, const char *name)
{
	size_t	len = strlen(name);

	for (; envp != NULL && *envp != NULL; envp++)
		if (strncmp(*envp, name, len) == 0 && (*envp)[len] == '=')
			return *envp + len + 1;
	return NULL;
}

static int
cfg_read_env(struct cfg_load *ld, char *const *envp)
{
	const char	*e, *eq;
	enum cfg_var	 v;

	for (; envp != NULL && *envp != NULL; envp++) {
		e = *envp;
		if ((eq = strchr(e, '=')) == NULL)
			continue;
		if ((v = cfg_find(e, (size_t)(eq - e))) != V__MAX) {
			if (cfg_raw_set(ld, v, eq + 1, strlen(eq + 1)) == -1)
				return -1;
		} else if (cfg_is_pds_name(e, (size_t)(eq - e)))
			cfg_warn_unknown(e, (size_t)(eq - e), "environment");
	}
	return 0;
}

/* ---- typed values (packages/common/src/env.ts) ------------------------ */

/* parseInt(s, 10): leading blanks, a sign, a run of digits; the rest is
 * ignored.  Returns 0 and *out, or -1 when no number (unset). */
static int
cfg_parse_int(const char *name, const char *s, int64_t *out)
{
	const char	*d, *start;
	char		 num[32];
	size_t		 n = 0;
	int		 neg = 0;

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' ||
	    *s == '\f' || *s == '\v')
		s++;
	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	start = s;
	while (*s == '0' && s[1] >= '0' && s[1] <= '9')
		s++;	/* parseInt accepts leading zeros */
	for (d = s; *d >= '0' && *d <= '9'; d++)
		n++;
	if (d == start) {
		log_warn("config: %s is not an integer, ignored", name);
		return -1;
	}
	if (n + 1 >= sizeof(num)) {
		log_warn("config: %s is out of range, ignored", name);
		return -1;
	}
	num[0] = '-';
	memcpy(num + 1, s, n);
	num[n + 1] = '\0';
	if (util_int_parse_str(neg && !(n == 1 && *s == '0') ? num : num + 1,
	    INT64_MIN, INT64_MAX, out) == -1) {
		log_warn("config: %s is out of range, ignored", name);
		return -1;
	}
	if (*d != '\0')
		log_warn("config: %s: text after the number ignored", name);
	return 0;
}

static int
cfg_parse_bool(const char *name, const char *s, int *out)
{
	if (strcmp(s, "true") == 0 || strcmp(s, "1") == 0)
		*out = 1;
	else if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0)
		*out = 0;
	else {
		log_warn("config: %s is not true/1/false/0, ignored", name);
		return -1;
	}
	return 0;
}

static int
cfg_parse_list(struct cfg_load *ld, const char *name, const char *s,
    struct config_list *l)
{
	const char	*p, *c;
	size_t		 n = 1, i;

	for (p = s; *p != '\0'; p++)
		if (*p == ',')
			n++;
	if (n > LIM_CONFIG_LIST)
		return cfg_fail(ld, "%s: more than %d items", name,
		    LIM_CONFIG_LIST);
	if ((l->v = calloc(n, sizeof(*l->v))) == NULL)
		return cfg_fail(ld, "out of memory");
	for (p = s, i = 0; i < n; i++) {
		c = strchr(p, ',');
		if (c == NULL)
			c = p + strlen(p);
		if ((l->v[i] = strndup(p, (size_t)(c - p))) == NULL)
			return cfg_fail(ld, "out of memory");
		l->n = i + 1;
		p = *c == ',' ? c + 1 : c;
	}
	return 0;
}

/* Applies every raw value to its field; unset fields keep defaults. */
static int
cfg_apply(struct cfg_load *ld, struct pds_config *c)
{
	const struct cfg_def	*d;
	char			*base = (char *)c;
	size_t			 i;
	int			 b;

	for (i = 0; i < V__MAX; i++) {
		d = &cfg_defs[i];
		if (d->type == CT_INT)
			*(int64_t *)(base + d->off) = d->dflt;
		else if (d->type == CT_BOOL)
			*(int *)(base + d->off) = (int)d->dflt;
		if (ld->raw[i] == NULL || ld->raw[i][0] == '\0')
			continue;	/* env.ts: empty is unset */
		switch (d->type) {
		case CT_STR:
			if ((*(char **)(base + d->off) =
			    strdup(ld->raw[i])) == NULL)
				return cfg_fail(ld, "out of memory");
			ld->set[i] = 1;
			break;
		case CT_INT:
			if (cfg_parse_int(d->name, ld->raw[i],
			    (int64_t *)(base + d->off)) == 0)
				ld->set[i] = 1;
			break;
		case CT_BOOL:
			if (cfg_parse_bool(d->name, ld->raw[i], &b) == 0) {
				*(int *)(base + d->off) = b;
				ld->set[i] = 1;
			}
			break;
		case CT_LIST:
			if (cfg_parse_list(ld, d->name, ld->raw[i],
			    (struct config_list *)(base + d->off)) == -1)
				return -1;
			ld->set[i] = 1;
			break;
		default:
			break;
		}
	}
	return 0;
}

/* ---- defaults and derived values (config/config.ts) ------------------ */

static int
cfg_dup(struct cfg_load *ld, char **field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
cfg_dup(struct cfg_load *ld, char **field, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	if (*field != NULL)
		return 0;
	va_start(ap, fmt);
	n = vasprintf(field, fmt, ap);
	va_end(ap);
	if (n < 0) {
		*field = NULL;
		return cfg_fail(ld, "out of memory");
	}
	return 0;
}

/* path.join(dataDirectory, name), or name alone without a data dir. */
static int
cfg_data_path(struct cfg_load *ld, struct pds_config *c, char **field,
    const char *name)
{
	size_t	len;

	if (c->data_dir == NULL)
		return cfg_dup(ld, field, "%s", name);
	len = strlen(c->data_dir);
	return cfg_dup(ld, field, "%s%s%s", c->data_dir,
	    len > 0 && c->data_dir[len - 1] == '/' ? "" : "/", name);
}

static int
cfg_defaults_service(struct cfg_load *ld, struct pds_config *c)
{
	long	cores;

	if (cfg_dup(ld, &c->hostname, "localhost") == -1)
		return -1;
	if (strcmp(c->hostname, "localhost") == 0) {
		if (cfg_dup(ld, &c->public_url, "http://localhost:%lld",
		    (long long)c->port) == -1)
			return -1;
	} else if (cfg_dup(ld, &c->public_url, "https://%s", c->hostname) == -1)
		return -1;
	if (cfg_dup(ld, &c->service_did, "did:web:%s", c->hostname) == -1 ||
	    cfg_dup(ld, &c->service_name, "%s PDS", c->hostname) == -1 ||
	    cfg_dup(ld, &c->version, "%s", CONFIG_VERSION_DEFAULT) == -1 ||
	    cfg_dup(ld, &c->plc_url, "https://plc.directory") == -1)
		return -1;
	if (!ld->set[V_SSRF_OFF])
		c->ssrf_off = c->dev_mode;
	if (c->proxy_max_retries < 0)
		c->proxy_max_retries = 0;
	if (!ld->set[V_WORKERS]) {
		cores = sysconf(_SC_NPROCESSORS_ONLN);
		c->workers = cores > 0 ? 2 * cores : 2;
		if (c->workers > LIM_WORKERS_MAX)
			c->workers = LIM_WORKERS_MAX;
	}
	return 0;
}

static int
cfg_defaults_storage(struct cfg_load *ld, struct pds_config *c)
{
	if (cfg_data_path(ld, c, &c->account_db, "account.sqlite") == -1 ||
	    cfg_data_path(ld, c, &c->sequencer_db, "sequencer.sqlite") == -1 ||
	    cfg_data_path(ld, c, &c->did_cache_db, "did_cache.sqlite") == -1 ||
	    cfg_data_path(ld, c, &c->actor_store_dir, "actors") == -1)
		return -1;
	if (c->blobstore_dir != NULL &&
	    cfg_dup(ld, &c->blobstore_tmp, "%s/tempt", c->blobstore_dir) == -1)
		return -1;
	if (cfg_dup(ld, &c->firehose_listen, "127.0.0.1:2584") == -1 ||
	    cfg_dup(ld, &c->blob_sendfile, "none") == -1 ||
	    cfg_dup(ld, &c->blob_sendfile_prefix, "/_pds_blobs/") == -1)
		return -1;
	return 0;
}

static int
cfg_defaults_identity(struct cfg_load *ld, struct pds_config *c)
{
	struct config_list	*l = &c->handle_domains;

	if (l->n > 0)
		return 0;
	if ((l->v = calloc(1, sizeof(*l->v))) == NULL)
		return cfg_fail(ld, "out of memory");
	l->n = 1;
	if (strcmp(c->hostname, "localhost") == 0)
		return cfg_dup(ld, &l->v[0], ".test");
	return cfg_dup(ld, &l->v[0], ".%s", c->hostname);
}

/* ---- startup assertions (config.ts, secrets.ts, ours) --------------- */

static int
cfg_check_did(struct cfg_load *ld, const char *var, const char *did)
{
	const char	*why = "invalid";
	char		 esc[128];

	if (did == NULL || syntax_did_validate(did, strlen(did), &why) == 0)
		return 0;
	log_escape(esc, sizeof(esc), did, strlen(did));
	return cfg_fail(ld, "%s: not a valid DID (%s): %s", var, why, esc);
}

static int
cfg_check_hex(const char *s, size_t want)
{
	size_t	i;

	if (strlen(s) != want)
		return -1;
	for (i = 0; i < want; i++)
		if (!isxdigit((unsigned char)s[i]))
			return -1;
	return 0;
}

static int
cfg_assert_blobstore(struct cfg_load *ld, const struct pds_config *c)
{
	if (c->blob_s3_bucket != NULL && c->blobstore_dir != NULL)
		return cfg_fail(ld, "PDS_BLOBSTORE_S3_BUCKET and "
		    "PDS_BLOBSTORE_DISK_LOCATION: Cannot set both S3 and disk "
		    "blobstore env vars");
	if (c->blob_s3_bucket != NULL)
		return cfg_fail(ld, "PDS_BLOBSTORE_S3_BUCKET: the S3 blobstore "
		    "is not supported by this PDS; set "
		    "PDS_BLOBSTORE_DISK_LOCATION instead");
	if (c->blobstore_dir == NULL)
		return cfg_fail(ld, "PDS_BLOBSTORE_DISK_LOCATION: Must "
		    "configure either S3 or disk blobstore");
	return 0;
}

static int
cfg_assert_pairs(struct cfg_load *ld, const struct pds_config *c)
{
	if (c->entryway_url != NULL) {
		if (c->entryway_jwt_key_hex == NULL ||
		    c->entryway_plc_rotation_key == NULL ||
		    c->entryway_did == NULL)
			return cfg_fail(ld, "PDS_ENTRYWAY_URL: if entryway url "
			    "is configured, must include all required entryway "
			    "configuration (PDS_ENTRYWAY_DID, "
			    "PDS_ENTRYWAY_JWT_VERIFY_KEY_K256_PUBLIC_KEY_HEX, "
			    "PDS_ENTRYWAY_PLC_ROTATION_KEY)");
		return cfg_fail(ld, "PDS_ENTRYWAY_URL: entryway deployments "
		    "are not supported by this PDS");
	}
	if ((c->smtp_url == NULL) != (c->email_from == NULL))
		return cfg_fail(ld, "%s: Partial email config, must set both "
		    "emailFromAddress and emailSmtpUrl", c->smtp_url == NULL ?
		    "PDS_EMAIL_SMTP_URL" : "PDS_EMAIL_FROM_ADDRESS");
	if ((c->mod_smtp_url == NULL) != (c->mod_email == NULL))
		return cfg_fail(ld, "%s: Partial moderation email config, must "
		    "set both emailFromAddress and emailSmtpUrl",
		    c->mod_smtp_url == NULL ? "PDS_MODERATION_EMAIL_SMTP_URL" :
		    "PDS_MODERATION_EMAIL_ADDRESS");
	if (c->appview_url != NULL && c->appview_did == NULL)
		return cfg_fail(ld, "PDS_BSKY_APP_VIEW_DID: if bsky appview "
		    "service url is configured, must configure its did as "
		    "well.");
	if (c->mod_url != NULL && c->mod_did == NULL)
		return cfg_fail(ld, "PDS_MOD_SERVICE_DID: if mod service url is "
		    "configured, must configure its did as well.");
	if (c->report_url != NULL && c->report_did == NULL)
		return cfg_fail(ld, "PDS_REPORT_SERVICE_DID: if report service "
		    "url is configured, must configure its did as well.");
	return 0;
}

static int
cfg_assert_identity(struct cfg_load *ld, const struct pds_config *c)
{
	const struct config_list	*l = &c->handle_domains;
	char				 esc[128];
	size_t				 i;

	for (i = 0; i < l->n; i++)
		if (l->v[i][0] != '.') {
			log_escape(esc, sizeof(esc), l->v[i], strlen(l->v[i]));
			return cfg_fail(ld, "PDS_SERVICE_HANDLE_DOMAINS: Invalid "
			    "handle domain: %s", esc);
		}
	if (cfg_check_did(ld, "PDS_SERVICE_DID", c->service_did) == -1 ||
	    cfg_check_did(ld, "PDS_LEXICON_AUTHORITY_DID",
	    c->lexicon_authority_did) == -1)
		return -1;
	return 0;
}

static int
cfg_assert_secrets(struct cfg_load *ld, const struct pds_config *c)
{
	if (c->plc_rotation_kms != NULL && c->plc_rotation_key_hex != NULL)
		return cfg_fail(ld, "PDS_PLC_ROTATION_KEY_KMS_KEY_ID: Cannot set "
		    "both kms & memory keys for plc rotation key");
	if (c->plc_rotation_kms != NULL)
		return cfg_fail(ld, "PDS_PLC_ROTATION_KEY_KMS_KEY_ID: AWS KMS "
		    "keys are not supported by this PDS; set "
		    "PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX instead");
	if (c->plc_rotation_key_hex == NULL)
		return cfg_fail(ld, "PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX: "
		    "Must configure plc rotation key");
	if (cfg_check_hex(c->plc_rotation_key_hex, 64) == -1)
		return cfg_fail(ld, "PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX: "
		    "must be a 32-byte key as 64 hex characters");
	if (c->jwt_secret == NULL)
		return cfg_fail(ld, "PDS_JWT_SECRET: Must provide a JWT secret");
	if (c->admin_password == NULL)
		return cfg_fail(ld, "PDS_ADMIN_PASSWORD: Must provide an admin "
		    "password");
	if (c->dpop_secret != NULL && cfg_check_hex(c->dpop_secret, 64) == -1)
		return cfg_fail(ld, "PDS_DPOP_SECRET: must be 32 bytes as 64 "
		    "hex characters");
	return 0;
}

/* Our own settings: ranges and enumerations. */
static int
cfg_assert_ours(struct cfg_load *ld, struct pds_config *c)
{
	static const char *const sendfile[] = { "nginx", "lighttpd", "caddy",
	    "none" };
	const char	*s;
	size_t		 i;
	int64_t		 mode;

	if (c->workers < 1 || c->workers > LIM_WORKERS_MAX)
		return cfg_fail(ld, "PDS_WORKERS: must be between 1 and %d",
		    LIM_WORKERS_MAX);
	for (i = 0; i < sizeof(sendfile) / sizeof(sendfile[0]); i++)
		if (strcmp(c->blob_sendfile, sendfile[i]) == 0)
			break;
	if (i == sizeof(sendfile) / sizeof(sendfile[0]))
		return cfg_fail(ld, "PDS_BLOB_SENDFILE: must be one of nginx, "
		    "lighttpd, caddy, none");
	if (c->blob_sendfile_prefix[0] != '/')
		return cfg_fail(ld, "PDS_BLOB_SENDFILE_PREFIX: must start with "
		    "'/'");
	if ((s = c->trust_proxy_header) != NULL)
		for (; *s != '\0'; s++)
			if (!isupper((unsigned char)*s) &&
			    !isdigit((unsigned char)*s) && *s != '_')
				return cfg_fail(ld, "PDS_TRUST_PROXY_HEADER: must "
				    "be a FastCGI parameter name such as "
				    "HTTP_X_REAL_IP");
	c->fcgi_socket_mode = 0660;
	if ((s = c->fcgi_socket_mode_s) != NULL) {
		for (mode = 0; *s >= '0' && *s <= '7' && mode <= 0777; s++)
			mode = mode * 8 + (*s - '0');
		if (*s != '\0' || mode > 0777)
			return cfg_fail(ld, "PDS_FCGI_SOCKET_MODE: must be an "
			    "octal mode such as 0660");
		c->fcgi_socket_mode = (int)mode;
	}
	if (c->seq_retention_days < 0)
		return cfg_fail(ld, "PDS_SEQ_RETENTION_DAYS: must not be "
		    "negative");
	return 0;
}

/* LOG_ENABLED and LOG_LEVEL: the file may set them too. */
static void
cfg_logging(struct cfg_load *ld, struct pds_config *c)
{
	static const char *const names[LOG_LVL__MAX] = { "debug", "info",
	    "warn", "error" };
	const char	*s;
	size_t		 i;

	c->log_enabled = 1;
	if ((s = ld->raw[V_LOG_ENABLED]) != NULL &&
	    (strcasecmp(s, "false") == 0 || strcasecmp(s, "f") == 0 ||
	    strcmp(s, "0") == 0))
		c->log_enabled = 0;
	if ((s = ld->raw[V_LOG_LEVEL]) != NULL)
		for (i = 0; i < LOG_LVL__MAX; i++)
			if (strcmp(s, names[i]) == 0)
				log_set_level((enum log_level)i);
}

static int
cfg_finish(struct cfg_load *ld, struct pds_config *c, int flags)
{
	if (cfg_apply(ld, c) == -1 ||
	    cfg_defaults_service(ld, c) == -1 ||
	    cfg_defaults_storage(ld, c) == -1 ||
	    cfg_defaults_identity(ld, c) == -1)
		return -1;
	cfg_logging(ld, c);
	if (cfg_assert_blobstore(ld, c) == -1 ||
	    cfg_assert_identity(ld, c) == -1 ||
	    cfg_assert_pairs(ld, c) == -1 ||
	    cfg_assert_ours(ld, c) == -1)
		return -1;
	if (!(flags & CONFIG_NO_SECRETS) && cfg_assert_secrets(ld, c) == -1)
		return -1;
	return 0;
}

int
config_load_env(char *const *envp, const char *env_file, int flags,
    struct pds_config **out, char *err, size_t errsz)
{
	struct cfg_load		 ld;
	struct pds_config	*c;
	int			 rc = -1;

	memset(&ld, 0, sizeof(ld));
	ld.err = err;
	ld.errsz = errsz;
	if (err != NULL && errsz > 0)
		err[0] = '\0';
	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return cfg_fail(&ld, "out of memory");
	if (env_file == NULL)
		env_file = cfg_envp_get(envp, "PDS_ENV_FILE");
	if (env_file != NULL && env_file[0] != '\0' &&
	    cfg_read_file(&ld, env_file) == -1)
		goto out;
	if (cfg_read_env(&ld, envp) == -1 || cfg_finish(&ld, c, flags) == -1)
		goto out;
	*out = c;
	c = NULL;
	rc = 0;
out:
	cfg_raw_free(&ld);
	config_free(c);
	return rc;
}

int
config_load(const char *env_file, int flags, struct pds_config **out,
    char *err, size_t errsz)
{
	return config_load_env(environ, env_file, flags, out, err, errsz);
}

static void
cfg_list_free(struct config_list *l)
{
	size_t	i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void
config_free(struct pds_config *c)
{
	const struct cfg_def	*d;
	char			**s, *base;
	size_t			 i;

	if (c == NULL)
		return;
	base = (char *)c;
	for (i = 0; i < V__MAX; i++) {
		d = &cfg_defs[i];
		if (d->type == CT_LIST)
			cfg_list_free((struct config_list *)(base + d->off));
		if (d->type != CT_STR)
			continue;
		s = (char **)(base + d->off);
		if (*s != NULL && d->secret)
			util_wipe(*s, strlen(*s));
		free(*s);
		*s = NULL;
	}
	/* Derived strings that no variable owns. */
	free(c->public_url);
	util_wipe(c, sizeof(*c));
	free(c);
}
