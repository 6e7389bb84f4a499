/*
 * xrpc.h: the XRPC framework of pds-fcgi, for handler authors.
 *
 * One request is one linear pipeline (STYLE.md 6.6), run by
 * xrpc_dispatch(): FastCGI params -> method and path -> route -> auth ->
 * input -> handler -> response -> access log, then the request's arena is
 * reset.  Handlers are named after their NSID (com_atproto_server_
 * describeServer), registered by one row in the table in routes.c, take
 * (request, response) and return an enum xrpc_status.  Every error
 * response is written by one function, xrpc_error_write(), as the
 * reference's {"error": Name, "message": text} JSON
 * (@atproto/xrpc-server errors.ts; ../shared/spec/reference-pds.md i).
 *
 * Memory: everything per request comes from req->a / res->a (the same
 * arena), reset after the response; the response body buffer is reused
 * from request to request.  Long-lived state (configuration, database
 * handles) lives in struct xrpc_server, set up once per worker.
 */
#ifndef PDS_XRPC_H
#define PDS_XRPC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "arena.h"
#include "buf.h"
#include "config.h"
#include "pds_limits.h"
#include "xrpc_parse.h"

struct db;
struct FCGX_Request;
struct FCGX_Stream;

/* ---- statuses (@atproto/xrpc ResponseType) ---------------------------- */

enum xrpc_status {
	XRPC_OK,			/* the handler filled the response */
	XRPC_ERR_INVALID_REQUEST,	/* 400 InvalidRequest */
	XRPC_ERR_AUTH_REQUIRED,		/* 401 AuthenticationRequired */
	XRPC_ERR_FORBIDDEN,		/* 403 Forbidden */
	XRPC_ERR_NOT_SUPPORTED,		/* 404 XRPCNotSupported */
	XRPC_ERR_NOT_ACCEPTABLE,	/* 406 NotAcceptable */
	XRPC_ERR_PAYLOAD_TOO_LARGE,	/* 413 PayloadTooLarge */
	XRPC_ERR_UNSUPPORTED_MEDIA,	/* 415 UnsupportedMediaType */
	XRPC_ERR_RATE_LIMITED,		/* 429 RateLimitExceeded */
	XRPC_ERR_INTERNAL,		/* 500 InternalServerError */
	XRPC_ERR_NOT_IMPLEMENTED,	/* 501 MethodNotImplemented */
	XRPC_ERR_UPSTREAM_FAILURE,	/* 502 UpstreamFailure */
	XRPC_ERR_NOT_ENOUGH_RESOURCES,	/* 503 NotEnoughResources */
	XRPC_ERR_UPSTREAM_TIMEOUT,	/* 504 UpstreamTimeout */
	XRPC_STATUS__MAX
};

/* error.c */
/* HTTP status, default error name and default message of a status
 * (static strings); XRPC_OK gives 200, "", "". */
int		 xrpc_status_http(enum xrpc_status);
const char	*xrpc_status_name(enum xrpc_status);
const char	*xrpc_status_message(enum xrpc_status);

/* ---- routes ------------------------------------------------------------ */

enum xrpc_kind {
	XRPC_QUERY,		/* GET (and HEAD) */
	XRPC_PROCEDURE,		/* POST */
	XRPC_KIND__MAX
};

/* Who may call (pds auth-verifier.ts; pds-endpoints.tsv "auth"). */
enum xrpc_auth_kind {
	XRPC_AUTH_NONE,			/* no credentials looked at */
	XRPC_AUTH_OPTIONAL,		/* optionalAccessOrAdminToken */
	XRPC_AUTH_ACCESS,		/* accessStandard: access, app pass
					 * (privileged or not) */
	XRPC_AUTH_ACCESS_PRIVILEGED,	/* accessPrivileged */
	XRPC_AUTH_ACCESS_FULL,		/* accessFull: main password only */
	XRPC_AUTH_REFRESH,		/* refresh token */
	XRPC_AUTH_REFRESH_EXPIRED,	/* refresh token, expiry ignored
					 * (deleteSession) */
	XRPC_AUTH_ADMIN,		/* Basic admin:PDS_ADMIN_PASSWORD */
	XRPC_AUTH_MODERATOR,		/* Basic admin, or a Bearer service
					 * JWT from PDS_MOD_SERVICE_DID
					 * (admin_auth.c) */
	XRPC_AUTH__MAX
};

/* Route flags (AccessOpts and additional scopes). */
#define XRPC_F_CHECK_TAKEDOWN	0x01	/* refuse taken-down accounts */
#define XRPC_F_CHECK_DEACTIVATED 0x02	/* refuse deactivated accounts */
#define XRPC_F_TAKENDOWN_OK	0x04	/* also accept com.atproto.takendown */
#define XRPC_F_SIGNUP_QUEUED_OK	0x08	/* also accept com.atproto.signupQueued */

/* Request body classes; the limit is checked against CONTENT_LENGTH
 * before a byte is read, and again while reading. */
enum xrpc_body {
	XRPC_BODY_NONE,		/* no input: a body is refused */
	XRPC_BODY_JSON,		/* JSON, LIM_BODY_JSON, parsed into req->input */
	XRPC_BODY_WRITE,	/* JSON, LIM_BODY_WRITE (record writes) */
	XRPC_BODY_BLOB,		/* streamed, PDS_BLOB_UPLOAD_LIMIT */
	XRPC_BODY_IMPORT,	/* streamed, PDS_MAX_REPO_IMPORT_SIZE or the
				 * blob limit */
	XRPC_BODY__MAX
};

struct xrpc_req;
struct xrpc_res;

typedef enum xrpc_status (*xrpc_handler)(struct xrpc_req *,
    struct xrpc_res *);

/* One row of the route table (routes.c), sorted by nsid. */
struct xrpc_route {
	const char		*nsid;
	enum xrpc_kind		 kind;
	enum xrpc_auth_kind	 auth;
	unsigned		 flags;		/* XRPC_F_* */
	enum xrpc_body		 body;
	const char		*accept;	/* input media types, ","-separated
						 * ("*" + "/" + "*" = any); NULL
						 * when body is NONE */
	xrpc_handler		 fn;
};

/* routes.c */
/* The route for nsid (nsidlen bytes), or NULL (catch-all proxy). */
const struct xrpc_route	*xrpc_route_find(const char *nsid, size_t nsidlen);
/* Checks the table (sorted, unique, consistent rows).  Returns 0, or -1
 * with the offending NSID logged. */
int			 xrpc_routes_check(void);

/* ---- the worker-wide context ----------------------------------------- */

struct xrpc_server {
	const struct pds_config	*cfg;
	struct db		*account;	/* account.sqlite, or NULL when
						 * it could not be opened */
	uint64_t		 requests;	/* served by this worker */
};

/* ---- credentials (auth.c) -------------------------------------------- */

enum xrpc_cred {
	XRPC_CRED_NONE,		/* optional auth, no header */
	XRPC_CRED_ACCESS,	/* session access token */
	XRPC_CRED_REFRESH,	/* session refresh token */
	XRPC_CRED_ADMIN,	/* Basic admin */
	XRPC_CRED_MOD_SERVICE,	/* service JWT of the moderation service
				 * (did = its iss) */
	XRPC_CRED__MAX
};

struct xrpc_auth {
	enum xrpc_cred	 type;
	const char	*did;		/* token sub (arena), or NULL */
	const char	*scope;		/* token scope (arena), or NULL */
	const char	*audience;	/* token aud (arena), or NULL */
	const char	*token_id;	/* refresh jti (arena), or NULL */
	int		 privileged;	/* access or appPassPrivileged */
};

/* ---- the request -------------------------------------------------------- */

enum xrpc_method {
	XRPC_M_GET,
	XRPC_M_HEAD,
	XRPC_M_POST,
	XRPC_M_OPTIONS,
	XRPC_M_OTHER,
	XRPC_M__MAX
};

struct xrpc_req {
	struct arena		*a;		/* this request's arena */
	struct xrpc_server	*srv;
	const char		*id;		/* request id (X-Request-Id) */
	enum xrpc_method	 method;
	const char		*method_str;	/* REQUEST_METHOD (a token) */
	const char		*path;		/* path, no query, NUL-terminated */
	const char		*nsid;		/* for /xrpc/<nsid>, else NULL */
	const struct xrpc_route	*route;		/* NULL: plain route/catch-all */
	struct xrpc_query	 query;		/* decoded QUERY_STRING */
	const char		*host;		/* Host, lowercased, no port; "" */
	const char		*client_ip;	/* REMOTE_ADDR or the trusted
						 * header (PDS_TRUST_PROXY_HEADER) */
	const char		*content_type;	/* media type (xrpc_mime_parse),
						 * NULL when absent */
	int64_t			 content_length; /* -1 when not given */
	struct xrpc_auth	 auth;		/* set by the auth stage */
	json_t			*input;		/* JSON body (BODY_JSON/WRITE),
						 * released after the response */
	/* private to the framework */
	struct FCGX_Request	*fcgi;
	int64_t			 body_limit;	/* bytes the route accepts */
	int64_t			 body_read;	/* bytes consumed from stdin */
	int			 body_eof;
	int64_t			 start_us;	/* monotonic, for the access log */
};

/* request.c */
/* A FastCGI parameter (e.g. "HTTP_ATPROTO_PROXY", "HTTP_USER_AGENT"),
 * pointer owned by libfcgi until the request ends, or NULL. */
const char	*xrpc_req_param(const struct xrpc_req *, const char *name);
/* Reads up to n body bytes into p: on XRPC_OK *got is the count (0 at the
 * end of the body).  Refuses with XRPC_ERR_PAYLOAD_TOO_LARGE ("request
 * entity too large") past the route's limit and XRPC_ERR_INVALID_REQUEST
 * when the body is shorter than CONTENT_LENGTH; the error is recorded in
 * res as by xrpc_fail(). */
enum xrpc_status xrpc_body_read(struct xrpc_req *, struct xrpc_res *,
		    void *p, size_t n, size_t *got);
/* 1 when v is a JSON string of exactly the bytes of want, else 0.  JSON
 * bodies keep "\u0000" inside strings (JSON.parse does): a NUL in v does
 * not end the comparison, so "x\u0000y" is not "x". */
int		 xrpc_json_str_is(const json_t *v, const char *want);

/* Typed query parameters (lex-schema coercion): on a bad value they
 * record InvalidRequest "Invalid <nsid> params: <issue>" and return it;
 * a missing required one gives the issue 'Missing required key "<name>"'.
 * Absent optional values leave *out at the caller's default. */
enum xrpc_status xrpc_param_str(struct xrpc_req *, struct xrpc_res *,
		    const char *name, int required, const char **out);
enum xrpc_status xrpc_param_int(struct xrpc_req *, struct xrpc_res *,
		    const char *name, int required, int64_t min, int64_t max,
		    int64_t *out);
enum xrpc_status xrpc_param_bool(struct xrpc_req *, struct xrpc_res *,
		    const char *name, int required, int *out);
/* Every value of a repeated parameter (arena array, *n may be 0). */
enum xrpc_status xrpc_param_list(struct xrpc_req *, struct xrpc_res *,
		    const char *name, int required, const char ***out,
		    size_t *n);

/* ---- the response ------------------------------------------------------- */

struct xrpc_header {
	const char	*name;		/* arena or static */
	const char	*value;
};

struct xrpc_res {
	struct arena		*a;		/* = req->a */
	int			 status;	/* HTTP status, 200 at start */
	const char		*content_type;	/* NULL: no Content-Type */
	struct xrpc_header	 hdr[LIM_RES_HEADERS];
	size_t			 nhdr;
	struct buf		 body;		/* buffered body (reused) */
	const char		*err_name;	/* set by xrpc_fail(), or NULL */
	const char		*err_msg;
	/* private to the framework */
	const struct pds_config	*cfg;
	struct FCGX_Stream	*out;
	int			 head_only;	/* HEAD: no body bytes */
	int			 started;	/* headers are on the wire */
	int			 io_error;	/* the web server went away */
	uint64_t		 bytes;		/* body bytes sent */
};

/* error.c */
/* Records an error for the single error writer and returns st, so that
 * handlers write `return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST,
 * "RecordNotFound", "Could not locate record: %s", uri);`.  name NULL
 * keeps the status's name; fmt NULL keeps its default message.  The
 * message is formatted into the arena (at most LIM_ERR_MSG bytes). */
enum xrpc_status xrpc_fail(struct xrpc_res *, enum xrpc_status st,
		    const char *name, const char *fmt, ...)
		    __attribute__((format(printf, 4, 5)));
/* THE error writer: turns st (and what xrpc_fail recorded) into the HTTP
 * status and the JSON body {"error","message"}; 500s always carry the
 * message "Internal Server Error" (the reference hides details).  Any
 * buffered body is discarded; headers already set (CORS, auth) stay. */
void		 xrpc_error_write(struct xrpc_res *, enum xrpc_status st);

/* response.c */
/* Sets a header, replacing one of the same name (case-insensitive);
 * value is copied into the arena.  Returns 0, or -1 when the header is
 * not a token / the value holds CR or LF / the table is full. */
int		 xrpc_res_header(struct xrpc_res *, const char *name,
		    const char *value);
/* Adds a header line even when one of that name exists. */
int		 xrpc_res_header_add(struct xrpc_res *, const char *name,
		    const char *value);
/* Buffers j (borrowed) as compact JSON (key order kept, as
 * JSON.stringify) with Content-Type application/json; charset=utf-8.
 * Returns XRPC_OK, or XRPC_ERR_INTERNAL recorded via xrpc_fail. */
enum xrpc_status xrpc_res_json(struct xrpc_res *, int status,
		    const json_t *j);
/* The usual handler ending: xrpc_res_json(res, 200, j), then j (stolen;
 * NULL, as from a failed json_pack(), records a 500) is released. */
enum xrpc_status xrpc_reply(struct xrpc_res *, json_t *j);
/* Buffers (p, len) with the given Content-Type. */
enum xrpc_status xrpc_res_bytes(struct xrpc_res *, int status,
		    const char *content_type, const void *p, size_t len);
/* Streaming: sends the status line and headers now (no Content-Length
 * unless set with xrpc_res_header), after which the framework writes no
 * body; then xrpc_res_write() sends chunks.  Both return 0, or -1 when
 * the web server went away (stop producing, return XRPC_OK). */
int		 xrpc_res_begin(struct xrpc_res *);
int		 xrpc_res_write(struct xrpc_res *, const void *p, size_t len);
/* Lets the web server send a stored file (blobs): with PDS_BLOB_SENDFILE
 * nginx or caddy sets X-Accel-Redirect: <PDS_BLOB_SENDFILE_PREFIX><rel>,
 * with lighttpd X-Sendfile: <abs>.  Returns 0 when a header was set
 * (the handler sends no body), 1 when sendfile is off (the handler
 * streams the file itself), -1 on a refused path. */
int		 xrpc_res_sendfile(struct xrpc_res *, const char *rel,
		    const char *abs);

/* ---- the pipeline (dispatch.c) ------------------------------------------ */

/* Serves one accepted FastCGI request start to end: parses it, routes,
 * authenticates, reads input, runs the handler, writes the response or
 * the error, logs one access line, and resets a.  body is the worker's
 * reusable response buffer.  Never exits the process. */
void		 xrpc_dispatch(struct xrpc_server *, struct FCGX_Request *,
		    struct arena *a, struct buf *body);

#endif /* PDS_XRPC_H */
