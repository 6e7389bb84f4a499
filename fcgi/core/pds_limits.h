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

/* ---- keys, JWT ---------------------------------------------------- */
#define LIM_JWT_LEN		(16u << 10)	/* bytes of a compact JWT */
#define LIM_JWT_SEGMENT		(8u << 10)	/* bytes of a decoded header or payload */
#define LIM_DIDKEY_LEN		256

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

#endif /* PDS_LIMITS_H */
