/*
 * pds_limits.h: every size, count, depth and timeout the PDS enforces.
 *
 * One home for limits (STYLE.md 6.1.4).  Parsers and handlers take their
 * bounds from here; no magic sizes in .c files.  Units are in the names or
 * the comments.  Values that mirror the reference PDS cite where from
 * (../shared/spec/reference-pds.md).
 */
#ifndef PDS_LIMITS_H
#define PDS_LIMITS_H

/* ---- DAG-CBOR / data model ---------------------------------------- */
#define LIM_CBOR_DEPTH		64		/* nesting of maps/arrays */
#define LIM_CBOR_ITEMS		1000000		/* entries in one map or array */
#define LIM_CBOR_TOTAL		(16u << 20)	/* bytes in one decoded object */
#define LIM_CBOR_STRING		(8u << 20)	/* bytes in one text/byte string */
#define LIM_JSON_DEPTH		64		/* nesting of JSON input */
#define LIM_JSON_SAFE_INT	9007199254740991LL /* 2^53-1, JS safe int */

/* ---- CIDs, CAR --------------------------------------------------- */
#define LIM_CID_BYTES		64		/* binary CID (v1 sha256 is 36) */
#define LIM_CID_STR		128		/* printed CID incl. NUL */
#define LIM_CAR_HEADER		(64u << 10)	/* bytes of the CAR header */
#define LIM_CAR_BLOCK		(2u << 20)	/* bytes of one CAR block */
#define LIM_CAR_ROOTS		16		/* roots in a CAR header */

/* ---- syntax (atproto.com/specs) ---------------------------------- */
#define LIM_HANDLE_LEN		253
#define LIM_DID_LEN		2048		/* 2 KB, did spec */
#define LIM_NSID_LEN		317
#define LIM_ATURI_LEN		8192		/* 8 KB, at-uri spec */
#define LIM_RKEY_LEN		512
#define LIM_URI_LEN		8192
#define LIM_MST_KEY_LEN		1024		/* reference-pds.md e, MST */
#define LIM_HANDLE_LABEL_LEN	63		/* chars in one handle/NSID label */
#define LIM_DATETIME_LEN	64		/* @atproto/syntax datetime.ts */
#define LIM_CID_SYNTAX_MIN	8		/* cid format: 8..256 chars */
#define LIM_CID_SYNTAX_LEN	256		/* (indigo syntax/cid.go) */
#define LIM_CID_STRICT_LEN	128		/* lex-data MAX_CID_STRING_LENGTH */
#define LIM_URI_SCHEME_LEN	81		/* [a-z][a-z.-]{0,80} (interop) */
#define LIM_LANGUAGE_LEN	1024		/* ours: bounds the duplicate-
						 * variant scan; real tags < 100 */
#define LIM_TID_LEN		13		/* chars in a TID */
#define LIM_TID_SKEW_US		(10LL * 1000000)	/* rev ahead of clock: 10 s */

/* ---- keys, JWT ---------------------------------------------------- */
#define LIM_JWT_LEN		(16u << 10)	/* bytes of a compact JWT */
#define LIM_JWT_SEGMENT		(8u << 10)	/* bytes of a decoded header or payload */
#define LIM_DIDKEY_LEN		256
#define LIM_JWT_SIG		512		/* bytes of a decoded JWT signature */
#define LIM_JWT_SKEW_S		60		/* seconds iat/nbf may be ahead */

/* ---- repository (reference-pds.md d, e) --------------------------- */
#define LIM_WRITES_PER_COMMIT	200		/* "Too many writes. Max: 200" */
#define LIM_COMMIT_EVENT_BYTES	2000000		/* relevant blocks, 2 MB */
#define LIM_SYNC_EVENT_BYTES	10000		/* #sync.blocks lexicon limit */
#define LIM_RECORD_BYTES	1000000		/* one record's JSON */

/* ---- HTTP / XRPC request bodies (reference-pds.md e, Blobs) -------- */
#define LIM_BODY_JSON		(150u << 10)	/* default JSON body, 150 KiB */
#define LIM_BODY_WRITE		1000000		/* createRecord/putRecord/applyWrites */
#define LIM_BODY_TEXT		(100u << 10)	/* text bodies, 100 KiB */
#define LIM_BODY_PREAUTH	(64u << 10)	/* unauthenticated JSON bodies */
#define LIM_BLOB_DEFAULT	5242880		/* PDS_BLOB_UPLOAD_LIMIT default */
#define LIM_QUERY_LEN		(16u << 10)	/* bytes of a QUERY_STRING */
#define LIM_QUERY_PARAMS	64		/* parameters in one query */
#define LIM_HEADER_LEN		(16u << 10)	/* one request header value */
#define LIM_RESPONSE_BUF	(64u << 20)	/* a buffered (non-streamed) response */

/* ---- process ------------------------------------------------------ */
#define LIM_WORKERS_MAX		256
#define LIM_ENV_FILE_BYTES	(1u << 20)	/* a pds.env file */
#define LIM_ENV_LINE		(64u << 10)	/* one line of it */
#define LIM_ARENA_BYTES		(256u << 20)	/* one request's arena, in total */

/* ---- firehose (reference-pds.md d) ------------------------------- */
#define LIM_FH_BUFFER_DEFAULT	500		/* PDS_MAX_SUBSCRIPTION_BUFFER */
#define LIM_FH_PAGE_ROWS	500		/* replay page size */
#define LIM_WS_FRAME_IN		(64u << 10)	/* inbound frame payload */
#define LIM_WS_HANDSHAKE	(8u << 10)	/* bytes of an upgrade request */
#define LIM_WS_HEADERS		64		/* header lines in that request */
#define LIM_WS_MSG_IN		(64u << 10)	/* inbound message, all fragments */
#define LIM_FH_CONNS_DEFAULT	1024		/* PDS_FIREHOSE_MAX_CONNECTIONS */
#define LIM_FH_CONNS_MAX	65536		/* ceiling on that setting */
#define LIM_FH_BUFFER_MAX	100000		/* ceiling on the event buffer */
#define LIM_FH_TAIL_ROWS	1000		/* rows per tail read (reference) */
#define LIM_FH_POLL_MS		1000		/* fallback poll when idle, ms */
#define LIM_FH_RECHECK_MS	5		/* re-read after an inotify wake, ms */
#define LIM_FH_DB_BUSY_MS	100		/* daemon's SQLite busy timeout */
#define LIM_FH_HANDSHAKE_MS	10000		/* to send the upgrade request */
#define LIM_FH_CLOSE_MS		5000		/* to answer our close frame */
#define LIM_FH_SHUTDOWN_MS	3000		/* SIGTERM: drain, then exit */
#define LIM_FH_SNDBUF		(256u << 10)	/* SO_SNDBUF of a client socket */
#define LIM_FH_REPLAY_BYTES	(256u << 10)	/* queued replay bytes per client */
#define LIM_FH_CACHE_FRAMES	1024		/* recently encoded frames kept */
#define LIM_FH_CACHE_FRAME_MAX	(64u << 10)	/* larger frames are not kept */
#define LIM_FH_CACHE_BYTES	(16u << 20)	/* all kept frames together */
#define LIM_FH_READ_BUF		(16u << 10)	/* one read() from a client */
#define LIM_FH_READS_PER_WAKE	4		/* reads per client per wake-up */
#define LIM_FH_ACCEPTS_PER_WAKE	64		/* accept()s per wake-up */
#define LIM_FH_TAIL_PAGES	8		/* tail pages per loop turn */
#define LIM_FH_WRITE_IOV	64		/* frames per sendmsg() */
#define LIM_FH_CRAWLERS		16		/* PDS_CRAWLERS entries used */
#define LIM_FH_CRAWL_EVERY_MS	(20 * 60 * 1000) /* per crawler (reference) */
#define LIM_FH_CRAWL_TIMEOUT_MS	10000		/* one requestCrawl POST */

/* ---- pds-fcgi runtime, XRPC framework, SQLite helpers ------------- */
#define LIM_CONFIG_LIST		256		/* items in one list setting */
#define LIM_LISTEN_BACKLOG	1024		/* listen(2) backlog */
#define LIM_RESPAWN_FAST_MS	1000		/* a worker dying sooner failed
						 * to start, ms */
#define LIM_RESPAWN_BACKOFF_MS	1000		/* first respawn delay after a
						 * failed start, ms (doubles) */
#define LIM_RESPAWN_MAX_MS	30000		/* respawn delay ceiling, ms */
#define LIM_DRAIN_MS		60000		/* SIGTERM: in-flight requests
						 * may finish this long, ms */
#define LIM_RESIGNAL_MS		1000		/* re-send SIGTERM to draining
						 * workers this often, ms */
#define LIM_REQUEST_ID_LEN	64		/* accepted HTTP_X_REQUEST_ID */
#define LIM_HOST_LEN		260		/* Host header: name + ":port" */
#define LIM_METHOD_LEN		16		/* REQUEST_METHOD */
#define LIM_RES_HEADERS		32		/* headers on one response */
#define LIM_IO_CHUNK		(64u << 10)	/* body read/write step */
#define LIM_ERR_MSG		1024		/* XRPC error message, bytes */
#define LIM_LOG_PATH		256		/* request path in the access log */
#define LIM_PARAM_PREVIEW	256		/* param echoed in an error (lex-
						 * schema STRING_PREVIEW_MAX) */
#define LIM_DB_BUSY_MS		5000		/* sqlite3_busy_timeout, ms */
#define LIM_DB_BEGIN_TRIES	3		/* BEGIN IMMEDIATE attempts, each
						 * after a full busy timeout */
#define LIM_DB_BEGIN_SLEEP_MS	10		/* first retry sleep (doubles) */
#define LIM_DB_STMTS		64		/* cached statements per handle */
#define LIM_DB_SQL_LEN		4096		/* bytes of one cached statement */

/* ---- cron helpers (cron/: pds-ddns, pds-backup, pds-maintain) ---- */
#define LIM_CRON_PATH		4096		/* bytes of one built path */
#define LIM_DDNS_IP_BODY	256		/* bytes of an IP echo answer */
#define LIM_DDNS_API_BODY	(1u << 20)	/* bytes of one DNS API response */
#define LIM_DDNS_URLS		8		/* IP echo endpoints per family */
#define LIM_DDNS_NAMES		16		/* names kept up to date per run */
#define LIM_DDNS_VALUES		8		/* values read per record set */
#define LIM_DDNS_VALUE_LEN	255		/* bytes of one record value */
#define LIM_DDNS_NAME_LEN	253		/* DNS name, RFC 1035 */
#define LIM_DDNS_TTL_MIN	30		/* seconds */
#define LIM_DDNS_TTL_MAX	86400		/* seconds */
#define LIM_DDNS_TTL_DEFAULT	300		/* seconds */
#define LIM_DDNS_CONNECT_S	5		/* seconds to connect */
#define LIM_DDNS_TIMEOUT_S	20		/* seconds for one HTTP exchange */
#define LIM_XML_DEPTH		32		/* element nesting in an API reply */
#define LIM_XML_TEXT		4096		/* bytes of one decoded text run */
#define LIM_XML_NAME		128		/* bytes of one element name */
#define LIM_AWS_CRED_FILE	(64u << 10)	/* ~/.aws/credentials */
#define LIM_BK_REMOTES		8		/* rclone remotes per run */
#define LIM_BK_KEEP_MAX		100000		/* --keep-hourly / --keep-daily */
#define LIM_BK_MANIFEST		(512u << 20)	/* bytes of a MANIFEST file */
#define LIM_BK_MANIFEST_LINE	1024		/* bytes of one MANIFEST line */
#define LIM_BK_FILES		50000000	/* entries in one MANIFEST */
#define LIM_BK_SNAPSHOTS	100000		/* snapshot dirs considered */
#define LIM_BK_BUSY_MS		10000		/* busy wait per backup step */
#define LIM_BK_RCLONE_OUT	(1u << 20)	/* rclone output kept for stats */
#define LIM_MT_BATCH_ROWS	500		/* rows deleted per transaction */
#define LIM_MT_BUSY_MS		5000		/* SQLite busy timeout, ms */
#define LIM_MT_FILE_GRACE_S	3600		/* orphan blob file minimum age */
#define LIM_MT_TEMP_AGE_S	86400		/* stale temp upload age default */
#define LIM_MT_RETENTION_DAYS	36500		/* --seq-retention-days maximum */

/* ---- accounts, identity, sessions (reference-pds.md f, g) --------- */
#define LIM_PASSWORD_NEW	256		/* UTF-16 units: NEW_PASSWORD_MAX_LENGTH */
#define LIM_PASSWORD_OLD	512		/* UTF-16 units: OLD_PASSWORD_MAX_LENGTH
						 * (login, deleteAccount) */
#define LIM_PASSWORD_BYTES	2048		/* bytes of a password we hash (512
						 * UTF-16 units are at most 1536) */
#define LIM_PASSWORD_STORED	512		/* bytes of a stored passwordScrypt */
#define LIM_LOGIN_FLOOR_MS	350		/* createSession minimum duration */
#define LIM_ACCESS_TTL_S	7200		/* access JWT lifetime, 120 min */
#define LIM_REFRESH_TTL_S	(90LL * 86400)	/* refresh JWT lifetime, 90 days */
#define LIM_REFRESH_GRACE_MS	(2LL * 3600 * 1000) /* rotated token grace, 2 h */
#define LIM_DELETE_AFTER_MS	(3LL * 86400 * 1000) /* migrated accounts: 3 days */
#define LIM_EMAIL_TOKEN_MS	(15LL * 60 * 1000) /* email token validity */
#define LIM_EMAIL_LEN		254		/* bytes of an email address (RFC 5321) */
#define LIM_APP_PASS_NAME	256		/* bytes of an app password name (ours) */
#define LIM_INVITE_COUNT	1000		/* codes / accounts per createInviteCodes
						 * call (ours) */
#define LIM_INVITE_CODE_LEN	512		/* bytes of an invite code we look up */
#define LIM_TOKEN_INPUT		256		/* bytes of an email token we look up */
#define LIM_HANDLE_FRONT_MIN	3		/* service handle first label, chars */
#define LIM_HANDLE_FRONT_MAX	18
#define LIM_PLC_ROTATION_KEYS	5		/* did-method-plc: at most 5 */
#define LIM_PLC_OP_BYTES	(64u << 10)	/* bytes of one PLC operation (JSON) */
#define LIM_PLC_RESPONSE	(1u << 20)	/* bytes of a PLC directory response */
#define LIM_PLC_TIMEOUT_MS	10000		/* ms per PLC directory call (the
						 * reference's client has none) */
#define LIM_DIDDOC_BYTES	(256u << 10)	/* bytes of a fetched DID document */
#define LIM_WELLKNOWN_BYTES	(4u << 10)	/* bytes of /.well-known/atproto-did */
#define LIM_DNS_ANSWER		4096		/* bytes of one DNS TXT answer */
#define LIM_DNS_TXT_RECORDS	16		/* TXT records looked at per name */
#define LIM_BACKUP_NS		4		/* PDS_HANDLE_BACKUP_NAMESERVERS used */
#define LIM_FETCH_REDIRECTS	3		/* redirects when resolving identities */

/* ---- actor stores, blobs, repository XRPC (store) ------------------ */
#define LIM_ACTOR_CACHE_MAX	10000		/* ceiling on PDS_ACTOR_STORE_CACHE_SIZE */
#define LIM_ACTOR_DB_CACHE_KIB	512		/* SQLite page cache per open store, KiB */
#define LIM_STORE_PATH		4096		/* bytes of a built store/blob path */
#define LIM_ACTOR_KEY_FILE	32		/* bytes of an actor key file */
#define LIM_BLOB_TEMPKEY_BYTES	32		/* random bytes of a temp blob key */
#define LIM_BLOB_SNIFF		4100		/* bytes looked at to sniff a MIME type */
#define LIM_MIME_LEN		256		/* bytes of a stored/accepted MIME type */
#define LIM_LIST_RECORDS_DEFAULT 50		/* repo.listRecords limit */
#define LIM_LIST_RECORDS_MAX	100
#define LIM_LIST_BLOBS_DEFAULT	500		/* sync.listBlobs, listMissingBlobs */
#define LIM_LIST_BLOBS_MAX	1000
#define LIM_LIST_REPOS_DEFAULT	500		/* sync.listRepos */
#define LIM_LIST_REPOS_MAX	1000
#define LIM_GET_BLOCKS_MAX	1000		/* cids in one sync.getBlocks */
#define LIM_PENDING_EVENTS	64		/* unsequenced #commit rows flushed
						 * per write transaction */

/* ---- email, invites, admin API, rate limits (admin) ---------------- */
#define LIM_SMTP_URL		2048		/* bytes of PDS_*EMAIL_SMTP_URL */
#define LIM_SMTP_HOST		255		/* bytes of the SMTP host name */
#define LIM_SMTP_CRED		512		/* bytes of a decoded user / password */
#define LIM_SMTP_CONNECT_MS	10000		/* connect + TLS handshake, ms */
#define LIM_SMTP_TIMEOUT_MS	30000		/* one whole SMTP exchange, ms */
#define LIM_MAIL_SUBJECT	998		/* bytes of a Subject (RFC 5322 line) */
#define LIM_MAIL_BODY		(256u << 10)	/* bytes of one body part */
#define LIM_MAIL_MESSAGE	(1u << 20)	/* bytes of an encoded message */
#define LIM_MAIL_LINE		76		/* encoded line length (RFC 2045) */
#define LIM_EMAIL_TOKEN_LEN	11		/* "XXXXX-XXXXX" */
#define LIM_INVITE_PAGE_DEFAULT	100		/* admin.getInviteCodes limit */
#define LIM_INVITE_PAGE_MAX	500
#define LIM_INVITE_OPEN_MAX	5		/* unused routine codes a user may
						 * hold (getAccountInviteCodes) */
#define LIM_ADMIN_DIDS		100		/* dids in one admin.getAccountInfos
						 * (ours; the lexicon sets none) */
#define LIM_ADMIN_CODES		1000		/* codes / accounts in one
						 * disableInviteCodes (ours) */
#define LIM_TAKEDOWN_REF	1024		/* bytes of a takedown ref (ours) */
#define LIM_MOD_CONTENT		(64u << 10)	/* bytes of admin.sendEmail content */
#define LIM_RL_SLOTS		65536		/* counters in the shared table
						 * (32 bytes each: a 2 MiB file) */
#define LIM_RL_PROBE		64		/* slots probed per key */
#define LIM_RL_BUCKETS		4		/* limits applied to one request */

/* ---- Lexicon schemas and record validation (lexicon.h) ------------ */
#define LIM_LEXICON_DOC		(512u << 10)	/* bytes of one Lexicon document
						 * (largest official ~60 KB) */
#define LIM_LEXICON_NEST	32		/* inline object/array nesting in a
						 * schema */
#define LIM_LEXICON_POOL	(64u << 20)	/* bytes of one compiled set */
#define LIM_LEXICON_STEPS	(2 * LIM_CBOR_DEPTH + 16) /* nested schema
						 * steps while validating (a ref
						 * is one; data depth bounds it) */
#define LIM_LEXICON_PREVIEW	256		/* UTF-16 units of a string shown
						 * in a message (lex-schema
						 * STRING_PREVIEW_MAX_LENGTH) */

/* ---- app view proxy, service auth (reference-pds.md b, f) --------- */
#define LIM_PROXY_ERR_BODY	(64u << 10)	/* bytes of an upstream error body
						 * read for its {error, message}
						 * (ours; the rest is dropped) */
#define LIM_PROXY_BUFFERED	(1u << 20)	/* an upstream answer the PDS reads
						 * itself (getFeedGenerator, push
						 * registration) (ours) */
#define LIM_RAW_BUFFER		(10u << 20)	/* a read-after-write answer kept
						 * to merge local records into
						 * (reference: 10 MiB) */
#define LIM_RAW_RECORDS		10		/* local records merged (getRecords-
						 * SinceRev limit) */
#define LIM_PROXY_RETRY_MIN_MS	500		/* first retry delay, ms (undici
						 * RetryHandler minTimeout) */
#define LIM_PROXY_RETRY_MAX_MS	30000		/* retry delay ceiling, ms
						 * (maxTimeout) */

/* ---- worker ------------------------------------------------------ */
#define LIM_DB_REOPEN_US	1000000	/* retry an unopened database, us */

#endif /* PDS_LIMITS_H */
