/*
 * config.h: the PDS configuration, by the reference's environment
 * variable names and defaults (../shared/spec/reference-pds.md section b),
 * shared by pds-fcgi, pds-firehose and the cron helpers.
 *
 * Sources, later wins: built-in defaults < the env file (--env-file or
 * PDS_ENV_FILE, an unchanged pds.env: KEY=VALUE lines, '#' comments,
 * optional quotes) < the process environment.  Value parsing follows the
 * reference (packages/common/src/env.ts): an empty string is unset; ints
 * that do not parse are unset; bools are only true/1/false/0; lists split
 * on ',' untrimmed.
 *
 * Names marked (ours) are this project's additions; they are documented in
 * the README and conf/pds.env.example.
 */
#ifndef PDS_CONFIG_H
#define PDS_CONFIG_H

#include <stddef.h>
#include <stdint.h>

struct config_list {
	char	**v;	/* heap strings */
	size_t	  n;
};

struct pds_config {
	/* service */
	int64_t		 port;			/* PDS_PORT, 2583 */
	char		*hostname;		/* PDS_HOSTNAME, "localhost" */
	char		*public_url;		/* derived: http://localhost:<port>
						 * or https://<hostname> */
	char		*service_did;		/* PDS_SERVICE_DID, did:web:<host> */
	char		*service_name;		/* PDS_SERVICE_NAME */
	char		*version;		/* PDS_VERSION */
	char		*home_url, *logo_url, *privacy_policy_url;
	char		*support_url, *terms_of_service_url;
	char		*contact_email;		/* PDS_CONTACT_EMAIL_ADDRESS */
	int		 accepting_imports;	/* PDS_ACCEPTING_REPO_IMPORTS, 1 */
	int64_t		 max_import_size;	/* PDS_MAX_REPO_IMPORT_SIZE, 0=unset */
	int64_t		 blob_upload_limit;	/* PDS_BLOB_UPLOAD_LIMIT, 5 MiB */
	int		 dev_mode;		/* PDS_DEV_MODE */

	/* storage */
	char		*data_dir;		/* PDS_DATA_DIRECTORY */
	int		 wal_autockpt_off;	/* PDS_SQLITE_DISABLE_WAL_AUTO_CHECKPOINT */
	char		*account_db;		/* PDS_ACCOUNT_DB_LOCATION */
	char		*sequencer_db;		/* PDS_SEQUENCER_DB_LOCATION */
	char		*did_cache_db;		/* PDS_DID_CACHE_DB_LOCATION */
	char		*actor_store_dir;	/* PDS_ACTOR_STORE_DIRECTORY */
	int64_t		 actor_store_cache;	/* PDS_ACTOR_STORE_CACHE_SIZE, 100 */
	char		*blobstore_dir;		/* PDS_BLOBSTORE_DISK_LOCATION */
	char		*blobstore_tmp;		/* PDS_BLOBSTORE_DISK_TMP_LOCATION */
	char		*blob_s3_bucket;	/* PDS_BLOBSTORE_S3_BUCKET (refused:
						 * not supported; see README) */

	/* identity */
	char		*plc_url;		/* PDS_DID_PLC_URL */
	int64_t		 did_cache_stale_ttl;	/* ms, 3600000 */
	int64_t		 did_cache_max_ttl;	/* ms, 86400000 */
	int64_t		 id_resolver_timeout;	/* ms, 3000 */
	char		*recovery_did_key;	/* PDS_RECOVERY_DID_KEY */
	struct config_list handle_domains;	/* PDS_SERVICE_HANDLE_DOMAINS */
	struct config_list handle_backup_ns;	/* PDS_HANDLE_BACKUP_NAMESERVERS */
	int		 did_doc_with_session;	/* PDS_ENABLE_DID_DOC_WITH_SESSION */

	/* entryway (unsupported beyond the startup assertions) */
	char		*entryway_url, *entryway_did;
	char		*entryway_jwt_key_hex, *entryway_plc_rotation_key;

	/* invites */
	int		 invite_required;	/* PDS_INVITE_REQUIRED, 1 */
	int64_t		 invite_interval;	/* ms, 0 = unset */
	int64_t		 invite_epoch;		/* ms, 0 */

	/* email */
	char		*smtp_url;		/* PDS_EMAIL_SMTP_URL */
	char		*email_from;		/* PDS_EMAIL_FROM_ADDRESS */
	int		 email_no_confirm_link;	/* PDS_EMAIL_DISABLE_CONFIRMATION_LINK */
	char		*mod_smtp_url;		/* PDS_MODERATION_EMAIL_SMTP_URL */
	char		*mod_email;		/* PDS_MODERATION_EMAIL_ADDRESS */

	/* firehose */
	int64_t		 max_sub_buffer;	/* PDS_MAX_SUBSCRIPTION_BUFFER, 500 */
	int64_t		 backfill_limit_ms;	/* PDS_REPO_BACKFILL_LIMIT_MS, 1 day */
	struct config_list crawlers;		/* PDS_CRAWLERS */

	/* upstream services */
	char		*appview_url, *appview_did;	/* PDS_BSKY_APP_VIEW_* */
	char		*appview_cdn_pattern;	/* PDS_BSKY_APP_VIEW_CDN_URL_PATTERN */
	char		*mod_url, *mod_did;	/* PDS_MOD_SERVICE_* */
	char		*report_url, *report_did; /* PDS_REPORT_SERVICE_* */

	/* rate limits */
	int		 rate_limits;		/* PDS_RATE_LIMITS_ENABLED, 0 */
	char		*rate_bypass_key;	/* PDS_RATE_LIMIT_BYPASS_KEY (secret) */
	struct config_list rate_bypass_ips;	/* PDS_RATE_LIMIT_BYPASS_IPS */

	/* secrets: never logged */
	char		*jwt_secret;		/* PDS_JWT_SECRET, required */
	char		*admin_password;	/* PDS_ADMIN_PASSWORD, required */
	char		*dpop_secret;		/* PDS_DPOP_SECRET, 64 hex */
	char		*plc_rotation_key_hex;	/* PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX */
	char		*plc_rotation_kms;	/* PDS_PLC_ROTATION_KEY_KMS_KEY_ID */

	/* fetch and proxy */
	int		 ssrf_off;		/* PDS_DISABLE_SSRF_PROTECTION, = dev */
	int64_t		 fetch_max_response;	/* PDS_FETCH_MAX_RESPONSE_SIZE, 512 KiB */
	int64_t		 proxy_headers_timeout;	/* ms, 10000 */
	int64_t		 proxy_body_timeout;	/* ms, 30000 */
	int64_t		 proxy_max_response;	/* 10 MiB */
	int64_t		 proxy_max_retries;	/* 0 */
	int		 proxy_allow_http2;	/* 0 */
	int		 proxy_prefer_compressed; /* 0 */
	char		*lexicon_authority_did;	/* PDS_LEXICON_AUTHORITY_DID */

	/* (ours) process and deployment */
	int64_t		 workers;		/* PDS_WORKERS, 2 x cores */
	char		*fcgi_listen;		/* PDS_FCGI_LISTEN, unix:PATH or
						 * HOST:PORT; unset = inherited */
	char		*fcgi_socket_mode_s;	/* PDS_FCGI_SOCKET_MODE, as given */
	int		 fcgi_socket_mode;	/* its value: octal permissions
						 * of a unix: socket we create,
						 * default 0660 */
	char		*firehose_listen;	/* PDS_FIREHOSE_LISTEN,
						 * 127.0.0.1:2584 */
	char		*blob_sendfile;		/* PDS_BLOB_SENDFILE: nginx |
						 * lighttpd | caddy | none */
	char		*blob_sendfile_prefix;	/* PDS_BLOB_SENDFILE_PREFIX,
						 * "/_pds_blobs/" for nginx */
	int		 age_assurance_local;	/* PDS_AGE_ASSURANCE_LOCAL, 0 */
	char		*trust_proxy_header;	/* PDS_TRUST_PROXY_HEADER: take the
						 * client IP from this FastCGI
						 * param (e.g. HTTP_X_REAL_IP) */
	int64_t		 seq_retention_days;	/* PDS_SEQ_RETENTION_DAYS (cron) */
	int		 log_enabled;		/* LOG_ENABLED (true/t/1, any case),
						 * 1 unless false/f/0: (ours)
						 * gates the access log */
};

/* Loads the configuration (flags: CONFIG_*): defaults, then env_file (may be NULL; when
 * NULL, $PDS_ENV_FILE if set), then the environment.  On success returns
 * 0 and *out is a heap object the caller frees with config_free().  On a
 * failed startup assertion returns -1 and writes one line naming the
 * variable into err (errsz bytes).  Unknown PDS_* names are warned about
 * through log_warn().  Secrets are never written to err or the log. */
#define CONFIG_NO_SECRETS	0x01	/* skip the secret assertions (the
					 * firehose and cron helpers) */
int	config_load(const char *env_file, int flags, struct pds_config **out,
	    char *err, size_t errsz);
/* As config_load(), with the environment given as envp ("NAME=value"
 * strings, NULL-terminated; config_load() passes environ).  Lets tests
 * and callers supply an exact environment. */
int	config_load_env(char *const *envp, const char *env_file, int flags,
	    struct pds_config **out, char *err, size_t errsz);
/* Releases a configuration, wiping secrets first; accepts NULL. */
void	config_free(struct pds_config *);

/* Version reported by /xrpc/_health when PDS_VERSION is unset (the
 * reference reports its package version). */
#define CONFIG_VERSION_DEFAULT	"0.4.0"

/* One KEY=value assignment of an env file, handed to the callback with the
 * value unquoted and unescaped (pointers into the parsed buffer, valid
 * during the call; key is [A-Za-z_][A-Za-z0-9_]*).  Return 0 to go on,
 * -1 to stop (config_env_parse then returns -1 with err untouched). */
typedef int	(*config_env_cb)(void *arg, const char *key, size_t keylen,
		    const char *val, size_t vallen, size_t lineno);
/* Parses the text of a pds.env file in place (p is modified: quoted values
 * are unescaped over themselves): lines of KEY=VALUE, blank lines and
 * '#' comments, an optional "export " prefix, CRLF tolerated.  VALUE is
 * 'single quoted' (literal), "double quoted" (\\ \" \n \t \r \$
 * escapes) or bare (up to a " #" comment, trailing blanks trimmed).  At
 * most LIM_ENV_FILE_BYTES in all and LIM_ENV_LINE per line; NUL bytes are
 * refused.  Returns 0, or -1 with "line N: reason" in err (errsz bytes). */
int	config_env_parse(char *p, size_t len, config_env_cb cb, void *arg,
	    char *err, size_t errsz);

#endif
