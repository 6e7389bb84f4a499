/*
 * test_xrpc.c: the XRPC framework of pds-fcgi.
 *
 *  - query strings, parameter coercion and /xrpc/<nsid> paths against
 *    tests/data/xrpc-fixtures.json (computed by the official
 *    @atproto/lex-schema and @atproto/xrpc-server, gen-xrpc-fixtures.mjs);
 *  - media types and Authorization headers;
 *  - the status table and the one error writer;
 *  - the route table;
 *  - request parsing, auth (HS256 tokens minted with jwt_encode, admin
 *    Basic, takedown checks on a real account.sqlite), the catch-all and
 *    the plain handlers, on requests built from FastCGI parameters;
 *  - the whole pipeline in a real worker process (worker_run) over a unix
 *    socket, driven by a small FastCGI client: answers, 413 before the
 *    body is read, and SIGTERM draining a request in flight.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcgiapp.h>
#include <jansson.h>

#include "t.h"
#include "arena.h"
#include "buf.h"
#include "config.h"
#include "db.h"
#include "handlers.h"
#include "jwt.h"
#include "log.h"
#include "server.h"
#include "util.h"
#include "xrpc.h"
#include "xrpc_int.h"
#include "xrpc_parse.h"

#define SECRET		"test-jwt-secret"
#define ADMIN_PW	"adm:in-pw"
#define SERVICE_DID	"did:web:localhost"

static char	tmpdir[] = "/tmp/test_xrpc_XXXXXX";
static struct pds_config	*big_cfg;

/* ---- fixtures from the official libraries -------------------------------- */

static json_t *
fixtures(void)
{
	const char	*dir = getenv("PDS_TEST_DATA");
	char		 path[512];
	json_error_t	 e;
	json_t		*j;

	(void)snprintf(path, sizeof(path), "%s/xrpc-fixtures.json",
	    dir != NULL ? dir : "tests/data");
	j = json_load_file(path, 0, &e);
	T_OK(j != NULL, "cannot load %s: %s", path, e.text);
	return j;
}

static void
test_fixture_params(json_t *fx)
{
	struct arena		 a;
	struct xrpc_query	 q;
	const char		*why, *type, *name, *qs, *s = NULL;
	const char		*values[8];
	char			 msg[4096];
	json_t			*row, *v;
	size_t			 i, k;
	enum xrpc_qres		 r = XQ__MAX;
	int64_t			 iv = 0;
	int			 b = 0;

	arena_init(&a);
	json_array_foreach(json_object_get(fx, "params"), i, row) {
		qs = json_string_value(json_object_get(row, "query"));
		name = json_string_value(json_object_get(row, "name"));
		type = json_string_value(json_object_get(row, "type"));
		T_OK(xrpc_query_parse(&a, qs, strlen(qs), &q, &why) == 0,
		    "%s: %s", qs, why);
		msg[0] = '\0';
		if (strcmp(type, "int") == 0)
			r = xrpc_query_int(&q, name, json_integer_value(
			    json_object_get(row, "min")), json_integer_value(
			    json_object_get(row, "max")), &iv, msg, sizeof(msg));
		else if (strcmp(type, "bool") == 0)
			r = xrpc_query_bool(&q, name, &b, msg, sizeof(msg));
		else if (strcmp(type, "str") == 0)
			r = xrpc_query_str(&q, name, &s, msg, sizeof(msg));
		else {
			json_array_foreach(json_object_get(row, "values"), k, v)
				values[k] = json_string_value(v);
			values[k] = NULL;
			r = xrpc_query_enum(&q, name, values, &s, msg,
			    sizeof(msg));
		}
		if ((v = json_object_get(row, "error")) != NULL) {
			if (json_is_true(json_object_get(row, "required")) &&
			    r == XQ_ABSENT) {
				(void)snprintf(msg, sizeof(msg),
				    "Missing required key \"%s\"", name);
				r = XQ_INVALID;
			}
			T_EQ_INT(r, XQ_INVALID);
			T_OK(strcmp(msg, json_string_value(v)) == 0,
			    "%s:\n  got  %s\n  want %s", qs, msg,
			    json_string_value(v));
		} else if (json_is_true(json_object_get(row, "absent")))
			T_OK(r == XQ_ABSENT, "%s: not absent (%d)", qs, r);
		else {
			v = json_object_get(row, "value");
			T_OK(r == XQ_OK, "%s: %d %s", qs, r, msg);
			if (json_is_integer(v))
				T_EQ_INT(iv, json_integer_value(v));
			else if (json_is_boolean(v))
				T_EQ_INT(b, json_is_true(v));
			else
				T_EQ_STR(s, json_string_value(v));
		}
		arena_reset(&a);
	}
	arena_free(&a);
}

static void
test_fixture_paths(json_t *fx)
{
	const char	*path, *nsid;
	size_t		 i, len;
	json_t		*row, *want;
	int		 rc;

	json_array_foreach(json_object_get(fx, "paths"), i, row) {
		path = json_string_value(json_object_get(row, "path"));
		want = json_object_get(row, "nsid");
		rc = xrpc_path_nsid(path, strlen(path), &nsid, &len);
		if (json_is_null(want))
			T_OK(rc == -1, "%s accepted", path);
		else
			T_OK(rc == 0 && len == strlen(json_string_value(want)) &&
			    memcmp(nsid, json_string_value(want), len) == 0,
			    "%s", path);
	}
}

static void
test_fixture_queries(json_t *fx)
{
	struct arena		 a;
	struct xrpc_query	 q;
	const char		*why, *qs;
	json_t			*row, *pairs;
	size_t			 i, k;

	arena_init(&a);
	json_array_foreach(json_object_get(fx, "queries"), i, row) {
		qs = json_string_value(json_object_get(row, "qs"));
		pairs = json_object_get(row, "pairs");
		T_OK(xrpc_query_parse(&a, qs, strlen(qs), &q, &why) == 0, "%s",
		    qs);
		T_EQ_INT(q.n, json_array_size(pairs));
		for (k = 0; k < q.n && k < json_array_size(pairs); k++) {
			T_EQ_STR(q.v[k].name, json_string_value(
			    json_array_get(json_array_get(pairs, k), 0)));
			T_EQ_STR(q.v[k].value, json_string_value(
			    json_array_get(json_array_get(pairs, k), 1)));
		}
		arena_reset(&a);
	}
	arena_free(&a);
}

/* Stricter than URLSearchParams on purpose, and bounded. */
static void
test_query_refused(void)
{
	static const struct {
		const char	*qs;
		const char	*why;
	} rows[] = {
		{ "a=%zz", "malformed percent-encoding" },
		{ "a=%4", "malformed percent-encoding" },
		{ "a=%", "malformed percent-encoding" },
		{ "%g0=1", "malformed percent-encoding" },
		{ "a=%00", "NUL byte in a parameter" },
		{ "a=%ff", "parameter is not valid UTF-8" },
		{ "a=%C3", "parameter is not valid UTF-8" },
		{ "a=%ED%A0%80", "parameter is not valid UTF-8" },
	};
	struct arena		 a;
	struct xrpc_query	 q;
	const char		*why;
	char			*big;
	size_t			 i, n;

	arena_init(&a);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		why = NULL;
		T_OK(xrpc_query_parse(&a, rows[i].qs, strlen(rows[i].qs), &q,
		    &why) == -1 && why != NULL && strcmp(why, rows[i].why) == 0,
		    "%s: %s", rows[i].qs, why != NULL ? why : "accepted");
	}
	if ((big = malloc(LIM_QUERY_LEN + 2)) != NULL) {
		memset(big, 'a', LIM_QUERY_LEN + 1);
		T_OK(xrpc_query_parse(&a, big, LIM_QUERY_LEN, &q, &why) == 0,
		    "limit-sized query refused");
		T_OK(xrpc_query_parse(&a, big, LIM_QUERY_LEN + 1, &q,
		    &why) == -1 && strcmp(why, "query string too long") == 0,
		    "overlong query accepted");
		/* LIM_QUERY_PARAMS pairs pass, one more does not. */
		for (n = 0, i = 0; i < LIM_QUERY_PARAMS; i++) {
			memcpy(big + n, "a=1&", 4);
			n += 4;
		}
		T_OK(xrpc_query_parse(&a, big, n, &q, &why) == 0 &&
		    q.n == LIM_QUERY_PARAMS, "%d params", LIM_QUERY_PARAMS);
		memcpy(big + n, "b=2", 3);
		T_OK(xrpc_query_parse(&a, big, n + 3, &q, &why) == -1 &&
		    strcmp(why, "too many query parameters") == 0,
		    "too many params accepted");
		free(big);
	}
	/* Empty values are absent to the getters, but kept in order. */
	T_OK(xrpc_query_parse(&a, "x=&x=2&y", 8, &q, &why) == 0, "parse");
	T_EQ_STR(xrpc_query_get(&q, "x"), "2");
	T_OK(xrpc_query_get(&q, "y") == NULL, "empty y");
	arena_free(&a);
}

static void
test_mime(void)
{
	static const struct {
		const char	*in;
		const char	*out;	/* NULL: refused */
	} rows[] = {
		{ "application/json", "application/json" },
		{ "application/json; charset=utf-8", "application/json" },
		{ " Application/JSON ;x", "application/json" },
		{ "text/plain;", "text/plain" },
		{ "*/*", "*/*" },
		{ "image/svg+xml", "image/svg+xml" },
		{ "json", NULL },
		{ "", NULL },
		{ "a/b/c", NULL },
		{ "/json", NULL },
		{ "application/", NULL },
		{ "appli cation/json", NULL },
		{ "application/j\"son", NULL },
	};
	char	out[64];
	size_t	i;
	int	rc;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		rc = xrpc_mime_parse(rows[i].in, strlen(rows[i].in), out,
		    sizeof(out));
		if (rows[i].out == NULL)
			T_OK(rc == -1, "\"%s\" accepted", rows[i].in);
		else
			T_OK(rc == 0 && strcmp(out, rows[i].out) == 0,
			    "\"%s\"", rows[i].in);
	}
	/* Output space is bounded. */
	T_EQ_INT(xrpc_mime_parse("application/json", 16, out, 16), -1);
}

/* auth-verifier.ts parseAuthorizationHeader() */
static void
test_authz(void)
{
	static const struct {
		const char	*in;
		int		 rc;
		enum xrpc_authz	 type;
		const char	*tok;
		const char	*why;
	} rows[] = {
		{ "", 0, XRPC_AUTHZ_NONE, NULL, NULL },
		{ "Bearer abc", 0, XRPC_AUTHZ_BEARER, "abc", NULL },
		{ "bearer abc", 0, XRPC_AUTHZ_BEARER, "abc", NULL },
		{ "BEARER abc", 0, XRPC_AUTHZ_BEARER, "abc", NULL },
		{ "DPoP t", 0, XRPC_AUTHZ_DPOP, "t", NULL },
		{ "Basic YWJj", 0, XRPC_AUTHZ_BASIC, "YWJj", NULL },
		{ "Bearer ", 0, XRPC_AUTHZ_BEARER, "", NULL },
		{ "Bearer", -1, 0, NULL, "Malformed authorization header" },
		{ "Bearer a b", -1, 0, NULL, "Malformed authorization header" },
		{ "Bearer  a", -1, 0, NULL, "Malformed authorization header" },
		{ " Bearer a", -1, 0, NULL, "Malformed authorization header" },
		{ "Token a", -1, 0, NULL, "Unsupported authorization type" },
		{ "Bearerx a", -1, 0, NULL, "Unsupported authorization type" },
	};
	enum xrpc_authz	 t;
	const char	*tok, *why;
	size_t		 i, len;
	int		 rc;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		why = NULL;
		rc = xrpc_authz_parse(rows[i].in, strlen(rows[i].in), &t, &tok,
		    &len, &why);
		T_OK(rc == rows[i].rc, "\"%s\": %d", rows[i].in, rc);
		if (rc == 0) {
			T_EQ_INT(t, rows[i].type);
			if (rows[i].tok != NULL)
				T_OK(len == strlen(rows[i].tok) &&
				    memcmp(tok, rows[i].tok, len) == 0, "token");
		} else
			T_OK(why != NULL && strcmp(why, rows[i].why) == 0,
			    "\"%s\": %s", rows[i].in, why);
	}
	T_OK(xrpc_authz_parse(NULL, 0, &t, &tok, &len, &why) == 0 &&
	    t == XRPC_AUTHZ_NONE, "NULL header");
}

/* ---- statuses, the error writer, routes ---------------------------------- */

static void
test_statuses(void)
{
	static const struct {
		enum xrpc_status	 st;
		int			 http;
		const char		*name, *msg;
	} rows[] = {
		{ XRPC_ERR_INVALID_REQUEST, 400, "InvalidRequest",
		    "Invalid Request" },
		{ XRPC_ERR_AUTH_REQUIRED, 401, "AuthenticationRequired",
		    "Authentication Required" },
		{ XRPC_ERR_FORBIDDEN, 403, "Forbidden", "Forbidden" },
		{ XRPC_ERR_NOT_SUPPORTED, 404, "XRPCNotSupported",
		    "XRPC Not Supported" },
		{ XRPC_ERR_NOT_ACCEPTABLE, 406, "NotAcceptable",
		    "Not Acceptable" },
		{ XRPC_ERR_PAYLOAD_TOO_LARGE, 413, "PayloadTooLarge",
		    "Payload Too Large" },
		{ XRPC_ERR_UNSUPPORTED_MEDIA, 415, "UnsupportedMediaType",
		    "Unsupported Media Type" },
		{ XRPC_ERR_RATE_LIMITED, 429, "RateLimitExceeded",
		    "Rate Limit Exceeded" },
		{ XRPC_ERR_INTERNAL, 500, "InternalServerError",
		    "Internal Server Error" },
		{ XRPC_ERR_NOT_IMPLEMENTED, 501, "MethodNotImplemented",
		    "Method Not Implemented" },
		{ XRPC_ERR_UPSTREAM_FAILURE, 502, "UpstreamFailure",
		    "Upstream Failure" },
		{ XRPC_ERR_NOT_ENOUGH_RESOURCES, 503, "NotEnoughResources",
		    "Not Enough Resources" },
		{ XRPC_ERR_UPSTREAM_TIMEOUT, 504, "UpstreamTimeout",
		    "Upstream Timeout" },
	};
	size_t	i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		T_EQ_INT(xrpc_status_http(rows[i].st), rows[i].http);
		T_EQ_STR(xrpc_status_name(rows[i].st), rows[i].name);
		T_EQ_STR(xrpc_status_message(rows[i].st), rows[i].msg);
	}
	T_EQ_INT(xrpc_status_http((enum xrpc_status)99), 500);
}

static const char *
body_str(struct xrpc_res *res)
{
	(void)buf_cstr(&res->body);
	return res->body.data != NULL ? (const char *)res->body.data : "";
}

static void
test_error_writer(void)
{
	struct arena	a;
	struct buf	body;
	struct xrpc_res	res;

	arena_init(&a);
	buf_init(&body, 0);
	xrpc_res_init(&res, NULL, &a, &body, NULL, 0);
	xrpc_error_write(&res, xrpc_fail(&res, XRPC_ERR_INVALID_REQUEST,
	    "RecordNotFound", "Could not locate record: %s", "at://x/\"y\""));
	T_EQ_INT(res.status, 400);
	T_EQ_STR(res.content_type, "application/json; charset=utf-8");
	T_EQ_STR(body_str(&res), "{\"error\":\"RecordNotFound\","
	    "\"message\":\"Could not locate record: at://x/\\\"y\\\"\"}");
	/* 500s never show their details */
	xrpc_res_init(&res, NULL, &a, &res.body, NULL, 0);
	xrpc_error_write(&res, xrpc_fail(&res, XRPC_ERR_INTERNAL, NULL,
	    "sqlite said %s", "disk I/O error"));
	T_EQ_INT(res.status, 500);
	T_EQ_STR(body_str(&res), "{\"error\":\"InternalServerError\","
	    "\"message\":\"Internal Server Error\"}");
	/* defaults, and a message that is not UTF-8 */
	xrpc_res_init(&res, NULL, &a, &res.body, NULL, 0);
	xrpc_error_write(&res, XRPC_ERR_AUTH_REQUIRED);
	T_EQ_STR(body_str(&res), "{\"error\":\"AuthenticationRequired\","
	    "\"message\":\"Authentication Required\"}");
	xrpc_res_init(&res, NULL, &a, &res.body, NULL, 0);
	xrpc_error_write(&res, xrpc_fail(&res, XRPC_ERR_FORBIDDEN, NULL,
	    "bad \xff byte"));
	T_EQ_INT(res.status, 403);
	T_EQ_STR(body_str(&res), "{\"error\":\"Forbidden\","
	    "\"message\":\"Forbidden\"}");
	/* XRPC_OK on the error path is a bug, reported as a 500 */
	xrpc_res_init(&res, NULL, &a, &res.body, NULL, 0);
	xrpc_error_write(&res, XRPC_OK);
	T_EQ_INT(res.status, 500);
	/* Header values cannot split the response. */
	T_EQ_INT(xrpc_res_header(&res, "X-A", "a\r\nSet-Cookie: x"), -1);
	T_EQ_INT(xrpc_res_header(&res, "X A", "a"), -1);
	T_EQ_INT(xrpc_res_header(&res, "X-A", "1"), 0);
	T_EQ_INT(xrpc_res_header(&res, "x-a", "2"), 0);	/* replaces */
	T_EQ_INT(res.nhdr, 1);
	T_EQ_STR(res.hdr[0].value, "2");
	buf_free(&res.body);
	arena_free(&a);
}

static void
test_routes(void)
{
	static const char	nsid[] = "com.atproto.server.describeServer";
	const struct xrpc_route	*r;

	T_EQ_INT(xrpc_routes_check(), 0);
	r = xrpc_route_find(nsid, strlen(nsid));
	T_OK(r != NULL && r->kind == XRPC_QUERY && r->fn ==
	    com_atproto_server_describeServer, "describeServer row");
	T_OK(xrpc_route_find(nsid, strlen(nsid) - 1) == NULL, "prefix");
	T_OK(xrpc_route_find("com.atproto.server.describeServerX", 34) ==
	    NULL, "suffix");
	T_OK(xrpc_route_find("a", 1) == NULL && xrpc_route_find("zzz", 3) ==
	    NULL, "outside the table");
	T_OK(xrpc_plain_find("/xrpc/_health") != NULL &&
	    xrpc_plain_find("/xrpc/_healthz") == NULL, "plain routes");
}

/* ---- requests from FastCGI parameters -------------------------------------- */

static struct pds_config	*cfg;
static struct xrpc_server	 srv;

struct treq {
	FCGX_Request	 f;
	struct xrpc_req	 req;
	struct xrpc_res	 res;
	struct arena	 a;
	struct buf	 body;
	enum xrpc_status st;	/* of xrpc_req_init */
};

static void
treq_init(struct treq *t, char **envp)
{
	memset(t, 0, sizeof(*t));
	t->f.envp = envp;
	arena_init(&t->a);
	buf_init(&t->body, 0);
	xrpc_res_init(&t->res, cfg, &t->a, &t->body, NULL, 0);
	t->st = xrpc_req_init(&t->req, &t->res, &srv, &t->f, &t->a);
	if (t->st == XRPC_OK && strncmp(t->req.path, "/xrpc/", 6) == 0) {
		const char	*n;
		size_t		 len;

		if (xrpc_path_nsid(t->req.path, strlen(t->req.path), &n,
		    &len) == 0)
			t->req.nsid = arena_strndup(&t->a, n, len);
	}
}

static void
treq_fini(struct treq *t)
{
	json_decref(t->req.input);
	buf_free(&t->res.body);
	arena_free(&t->a);
}

/* The error body a status would be written as. */
static const char *
treq_error(struct treq *t, enum xrpc_status st)
{
	xrpc_error_write(&t->res, st);
	return body_str(&t->res);
}

static const char *
res_header(const struct xrpc_res *res, const char *name)
{
	size_t	i;

	for (i = 0; i < res->nhdr; i++)
		if (strcasecmp(res->hdr[i].name, name) == 0)
			return res->hdr[i].value;
	return NULL;
}

static void
test_request_init(void)
{
	char *ok[] = { "REQUEST_METHOD=GET",
	    "REQUEST_URI=/xrpc/a.b.c?x=1&y=%C3%A9", "QUERY_STRING=x=1&y=%C3%A9",
	    "HTTP_HOST=Alice.Test:8443", "REMOTE_ADDR=127.0.0.1",
	    "CONTENT_TYPE=Application/JSON; charset=utf-8",
	    "CONTENT_LENGTH=12", "HTTP_X_REQUEST_ID=abc-123", NULL };
	char *bad_len[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/x",
	    "CONTENT_LENGTH=12a", NULL };
	char *bad_method[] = { "REQUEST_METHOD=get me", "REQUEST_URI=/x",
	    NULL };
	char *bad_uri[] = { "REQUEST_METHOD=GET", "REQUEST_URI=x/y", NULL };
	char *ctl_uri[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/a\x01", NULL };
	char *bad_qs[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/x?a=%zz",
	    NULL };
	char *bad_id[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/",
	    "HTTP_X_REQUEST_ID=a b\"c", NULL };
	struct treq	t;

	treq_init(&t, ok);
	T_EQ_INT(t.st, XRPC_OK);
	T_EQ_INT(t.req.method, XRPC_M_GET);
	T_EQ_STR(t.req.path, "/xrpc/a.b.c");
	T_EQ_STR(t.req.nsid, "a.b.c");
	T_EQ_STR(xrpc_query_get(&t.req.query, "y"), "\xc3\xa9");
	T_EQ_STR(t.req.host, "alice.test");
	T_EQ_STR(t.req.client_ip, "127.0.0.1");
	T_EQ_STR(t.req.content_type, "application/json");
	T_EQ_INT(t.req.content_length, 12);
	T_EQ_STR(t.req.id, "abc-123");
	treq_fini(&t);

	treq_init(&t, bad_len);
	T_EQ_STR(treq_error(&t, t.st), "{\"error\":\"InvalidRequest\","
	    "\"message\":\"invalid content-length\"}");
	treq_fini(&t);
	treq_init(&t, bad_method);
	T_EQ_INT(t.st, XRPC_ERR_INVALID_REQUEST);
	treq_fini(&t);
	treq_init(&t, bad_uri);
	T_EQ_INT(t.st, XRPC_ERR_INVALID_REQUEST);
	treq_fini(&t);
	treq_init(&t, ctl_uri);
	T_EQ_INT(t.st, XRPC_ERR_INVALID_REQUEST);
	treq_fini(&t);
	/* Without QUERY_STRING the query comes from REQUEST_URI. */
	treq_init(&t, bad_qs);
	T_EQ_STR(treq_error(&t, t.st), "{\"error\":\"InvalidRequest\","
	    "\"message\":\"Invalid query string: malformed percent-encoding\"}");
	treq_fini(&t);
	treq_init(&t, bad_id);
	T_OK(t.st == XRPC_OK && strlen(t.req.id) == 16, "own id: %s",
	    t.req.id);
	T_EQ_STR(t.req.client_ip, "-");
	treq_fini(&t);
}

static void
test_typed_params(void)
{
	char *env[] = { "REQUEST_METHOD=GET",
	    "REQUEST_URI=/xrpc/com.atproto.sync.listRepos?limit=1000&cursor=a&cursor=b",
	    NULL };
	struct treq	 t;
	int64_t		 limit = 500;
	const char	*cursor = NULL, *did = NULL;

	treq_init(&t, env);
	T_EQ_INT(xrpc_param_int(&t.req, &t.res, "limit", 0, 1, 1000, &limit),
	    XRPC_OK);
	T_EQ_INT(limit, 1000);
	T_EQ_STR(treq_error(&t, xrpc_param_int(&t.req, &t.res, "limit", 0, 1,
	    100, &limit)), "{\"error\":\"InvalidRequest\",\"message\":"
	    "\"Invalid com.atproto.sync.listRepos params: integer too big "
	    "(maximum 100, got 1000)\"}");
	T_EQ_STR(treq_error(&t, xrpc_param_str(&t.req, &t.res, "did", 1,
	    &did)), "{\"error\":\"InvalidRequest\",\"message\":\"Invalid "
	    "com.atproto.sync.listRepos params: Missing required key "
	    "\\\"did\\\"\"}");
	T_EQ_INT(xrpc_param_str(&t.req, &t.res, "cursor", 0, &cursor),
	    XRPC_ERR_INVALID_REQUEST);
	T_OK(cursor == NULL, "cursor set");
	treq_fini(&t);
}

/* ---- auth ---------------------------------------------------------------------- */

/* An HS256 token as the reference's createAccessToken() makes them;
 * NULL typ/scope/... leave the claim out. */
static char *
mint(struct arena *a, const char *typ, const char *scope, const char *sub,
    const char *aud, int64_t exp_in, const char *secret, const char *jti,
    int cnf)
{
	struct jwt_key	 k = { NULL, (const uint8_t *)secret, strlen(secret) };
	struct buf	 b;
	json_t		*h, *p;
	int64_t		 now = util_now_ms() / 1000;
	int64_t		 iat = exp_in < 0 ? now + exp_in - 3600 : now;
	char		*out = NULL;

	h = typ != NULL ? json_pack("{s:s, s:s}", "typ", typ, "alg", "HS256") :
	    json_pack("{s:s}", "alg", "HS256");
	p = json_pack("{s:I, s:I}", "iat", (json_int_t)iat, "exp",
	    (json_int_t)(now + exp_in));
	if (scope != NULL)
		json_object_set_new(p, "scope", json_string(scope));
	if (sub != NULL)
		json_object_set_new(p, "sub", json_string(sub));
	if (aud != NULL)
		json_object_set_new(p, "aud", json_string(aud));
	if (jti != NULL)
		json_object_set_new(p, "jti", json_string(jti));
	if (cnf)
		json_object_set_new(p, "cnf", json_pack("{s:s}", "jkt", "x"));
	buf_init(&b, 0);
	if (jwt_encode(JWT_ALG_HS256, h, p, &k, &b) == JWT_OK &&
	    buf_cstr(&b) == 0)
		out = arena_printf(a, "HTTP_AUTHORIZATION=Bearer %s",
		    (const char *)b.data);
	T_OK(out != NULL, "mint");
	buf_free(&b);
	json_decref(h);
	json_decref(p);
	return out;
}

struct auth_case {
	const char		*authz;		/* full param, or NULL */
	enum xrpc_auth_kind	 kind;
	unsigned		 flags;
	enum xrpc_status	 st;
	const char		*body;		/* expected error body */
};

static void
auth_run(const struct auth_case *c, size_t i)
{
	char		*env[] = { "REQUEST_METHOD=GET",
	    "REQUEST_URI=/xrpc/a.b.c", (char *)c->authz, NULL };
	struct treq	 t;
	enum xrpc_status st;

	treq_init(&t, env);
	st = xrpc_auth_check(&t.req, &t.res, c->kind, c->flags);
	T_OK(st == c->st, "case %zu: status %d, want %d (%s)", i, st, c->st,
	    st != XRPC_OK ? treq_error(&t, st) : "ok");
	if (st != XRPC_OK && c->body != NULL)
		T_OK(strcmp(treq_error(&t, st), c->body) == 0,
		    "case %zu: %s", i, body_str(&t.res));
	if (c->kind != XRPC_AUTH_NONE) {
		T_EQ_STR(res_header(&t.res, "Cache-Control"), "private");
		T_EQ_STR(res_header(&t.res, "Vary"), "Authorization");
	} else
		T_OK(res_header(&t.res, "Cache-Control") == NULL, "no auth");
	treq_fini(&t);
}

#define E_MISSING "{\"error\":\"AuthMissing\",\"message\":\"Authentication Required\"}"
#define E_AUTHREQ "{\"error\":\"AuthenticationRequired\",\"message\":\"Authentication Required\"}"
#define E_TOKEN(m) "{\"error\":\"InvalidToken\",\"message\":\"" m "\"}"

static void
test_auth(void)
{
	struct arena	 a;
	const char	*acc, *app, *priv, *expired, *badsig, *badaud, *notyp;
	const char	*reftyp, *badsub, *cnf, *down, *takendown, *deact;
	const char	*refresh, *refresh_nojti, *refresh_exp, *gone;
	char		 basic_ok[128], basic_bad[128], basic_user[128];

	arena_init(&a);
	acc = mint(&a, "at+jwt", "com.atproto.access", "did:plc:alice",
	    SERVICE_DID, 3600, SECRET, NULL, 0);
	app = mint(&a, "at+jwt", "com.atproto.appPass", "did:plc:alice",
	    SERVICE_DID, 3600, SECRET, NULL, 0);
	priv = mint(&a, "at+jwt", "com.atproto.appPassPrivileged",
	    "did:plc:alice", SERVICE_DID, 3600, SECRET, NULL, 0);
	expired = mint(&a, "at+jwt", "com.atproto.access", "did:plc:alice",
	    SERVICE_DID, -10, SECRET, NULL, 0);
	badsig = mint(&a, "at+jwt", "com.atproto.access", "did:plc:alice",
	    SERVICE_DID, 3600, "other secret", NULL, 0);
	badaud = mint(&a, "at+jwt", "com.atproto.access", "did:plc:alice",
	    "did:web:elsewhere", 3600, SECRET, NULL, 0);
	notyp = mint(&a, NULL, "com.atproto.access", "did:plc:alice",
	    SERVICE_DID, 3600, SECRET, NULL, 0);
	reftyp = mint(&a, "refresh+jwt", "com.atproto.access",
	    "did:plc:alice", SERVICE_DID, 3600, SECRET, NULL, 0);
	badsub = mint(&a, "at+jwt", "com.atproto.access", "alice",
	    SERVICE_DID, 3600, SECRET, NULL, 0);
	cnf = mint(&a, "at+jwt", "com.atproto.access", "did:plc:alice",
	    SERVICE_DID, 3600, SECRET, NULL, 1);
	down = mint(&a, "at+jwt", "com.atproto.takendown", "did:plc:down",
	    SERVICE_DID, 3600, SECRET, NULL, 0);
	takendown = mint(&a, "at+jwt", "com.atproto.access", "did:plc:down",
	    SERVICE_DID, 3600, SECRET, NULL, 0);
	deact = mint(&a, "at+jwt", "com.atproto.access", "did:plc:deact",
	    SERVICE_DID, 3600, SECRET, NULL, 0);
	gone = mint(&a, "at+jwt", "com.atproto.access", "did:plc:nobody",
	    SERVICE_DID, 3600, SECRET, NULL, 0);
	refresh = mint(&a, "refresh+jwt", "com.atproto.refresh",
	    "did:plc:alice", SERVICE_DID, 3600, SECRET, "jti-1", 0);
	refresh_nojti = mint(&a, "refresh+jwt", "com.atproto.refresh",
	    "did:plc:alice", SERVICE_DID, 3600, SECRET, NULL, 0);
	refresh_exp = mint(&a, "refresh+jwt", "com.atproto.refresh",
	    "did:plc:alice", SERVICE_DID, -100, SECRET, "jti-2", 0);
	(void)snprintf(basic_ok, sizeof(basic_ok), "HTTP_AUTHORIZATION=Basic %s",
	    "YWRtaW46YWRtOmluLXB3");		/* admin:adm:in-pw */
	(void)snprintf(basic_bad, sizeof(basic_bad),
	    "HTTP_AUTHORIZATION=Basic %s", "YWRtaW46YWRtOmluLXB4"); /* ...px */
	(void)snprintf(basic_user, sizeof(basic_user),
	    "HTTP_AUTHORIZATION=Basic %s", "Ym9iOmFkbTppbi1wdw=="); /* bob: */
	{
		const struct auth_case cases[] = {
			{ NULL, XRPC_AUTH_NONE, 0, XRPC_OK, NULL },
			{ NULL, XRPC_AUTH_ACCESS, 0, XRPC_ERR_AUTH_REQUIRED,
			    E_MISSING },
			{ "HTTP_AUTHORIZATION=Bearer ", XRPC_AUTH_ACCESS, 0,
			    XRPC_ERR_AUTH_REQUIRED, E_MISSING },
			{ acc, XRPC_AUTH_ACCESS, 0, XRPC_OK, NULL },
			{ acc, XRPC_AUTH_ACCESS_FULL, 0, XRPC_OK, NULL },
			{ app, XRPC_AUTH_ACCESS, 0, XRPC_OK, NULL },
			{ app, XRPC_AUTH_ACCESS_PRIVILEGED, 0,
			    XRPC_ERR_INVALID_REQUEST, E_TOKEN("Bad token scope") },
			{ app, XRPC_AUTH_ACCESS_FULL, 0, XRPC_ERR_INVALID_REQUEST,
			    E_TOKEN("Bad token scope") },
			{ priv, XRPC_AUTH_ACCESS_PRIVILEGED, 0, XRPC_OK, NULL },
			{ expired, XRPC_AUTH_ACCESS, 0, XRPC_ERR_INVALID_REQUEST,
			    "{\"error\":\"ExpiredToken\",\"message\":"
			    "\"Token has expired\"}" },
			{ badsig, XRPC_AUTH_ACCESS, 0, XRPC_ERR_INVALID_REQUEST,
			    E_TOKEN("Token could not be verified") },
			{ badaud, XRPC_AUTH_ACCESS, 0, XRPC_ERR_INVALID_REQUEST,
			    E_TOKEN("Token could not be verified") },
			{ "HTTP_AUTHORIZATION=Bearer not.a.jwt",
			    XRPC_AUTH_ACCESS, 0, XRPC_ERR_INVALID_REQUEST,
			    E_TOKEN("Token could not be verified") },
			{ notyp, XRPC_AUTH_ACCESS, 0, XRPC_OK, NULL },
			{ reftyp, XRPC_AUTH_ACCESS, 0, XRPC_ERR_INVALID_REQUEST,
			    E_TOKEN("Invalid token type") },
			{ badsub, XRPC_AUTH_ACCESS, 0, XRPC_ERR_INVALID_REQUEST,
			    E_TOKEN("Malformed token") },
			{ cnf, XRPC_AUTH_ACCESS, 0, XRPC_ERR_INVALID_REQUEST,
			    E_TOKEN("Malformed token") },
			{ down, XRPC_AUTH_ACCESS, 0, XRPC_ERR_INVALID_REQUEST,
			    E_TOKEN("Bad token scope") },
			{ down, XRPC_AUTH_ACCESS, XRPC_F_TAKENDOWN_OK, XRPC_OK,
			    NULL },
			{ takendown, XRPC_AUTH_ACCESS, XRPC_F_CHECK_TAKEDOWN,
			    XRPC_ERR_AUTH_REQUIRED, "{\"error\":\"AccountTakedown\","
			    "\"message\":\"Account has been taken down\"}" },
			{ takendown, XRPC_AUTH_ACCESS, XRPC_F_CHECK_DEACTIVATED,
			    XRPC_OK, NULL },
			{ deact, XRPC_AUTH_ACCESS, XRPC_F_CHECK_DEACTIVATED,
			    XRPC_ERR_AUTH_REQUIRED, "{\"error\":"
			    "\"AccountDeactivated\",\"message\":\"Account is "
			    "deactivated\"}" },
			{ gone, XRPC_AUTH_ACCESS, XRPC_F_CHECK_TAKEDOWN,
			    XRPC_ERR_FORBIDDEN, "{\"error\":\"AccountNotFound\","
			    "\"message\":\"Account not found\"}" },
			{ "HTTP_AUTHORIZATION=Token x", XRPC_AUTH_ACCESS, 0,
			    XRPC_ERR_INVALID_REQUEST,
			    E_TOKEN("Unsupported authorization type: Token") },
			{ "HTTP_AUTHORIZATION=Bearer a b", XRPC_AUTH_ACCESS, 0,
			    XRPC_ERR_INVALID_REQUEST,
			    E_TOKEN("Malformed authorization header") },
			{ basic_ok, XRPC_AUTH_ACCESS, 0, XRPC_ERR_INVALID_REQUEST,
			    E_TOKEN("Unexpected authorization type") },
			{ "HTTP_AUTHORIZATION=DPoP x", XRPC_AUTH_ACCESS, 0,
			    XRPC_ERR_INVALID_REQUEST, NULL },
			{ refresh, XRPC_AUTH_REFRESH, 0, XRPC_OK, NULL },
			{ refresh, XRPC_AUTH_ACCESS, 0, XRPC_ERR_INVALID_REQUEST,
			    E_TOKEN("Invalid token type") },
			{ acc, XRPC_AUTH_REFRESH, 0, XRPC_ERR_INVALID_REQUEST,
			    E_TOKEN("Invalid token type") },
			{ refresh_nojti, XRPC_AUTH_REFRESH, 0,
			    XRPC_ERR_AUTH_REQUIRED, "{\"error\":\"MissingTokenId\","
			    "\"message\":\"Unexpected missing refresh token id\"}" },
			{ refresh_exp, XRPC_AUTH_REFRESH, 0,
			    XRPC_ERR_INVALID_REQUEST, "{\"error\":\"ExpiredToken\","
			    "\"message\":\"Token has expired\"}" },
			{ refresh_exp, XRPC_AUTH_REFRESH_EXPIRED, 0, XRPC_OK,
			    NULL },
			{ basic_ok, XRPC_AUTH_REFRESH, 0, XRPC_ERR_AUTH_REQUIRED,
			    E_MISSING },
			{ basic_ok, XRPC_AUTH_ADMIN, 0, XRPC_OK, NULL },
			{ basic_bad, XRPC_AUTH_ADMIN, 0, XRPC_ERR_AUTH_REQUIRED,
			    E_AUTHREQ },
			{ basic_user, XRPC_AUTH_ADMIN, 0, XRPC_ERR_AUTH_REQUIRED,
			    E_AUTHREQ },
			{ acc, XRPC_AUTH_ADMIN, 0, XRPC_ERR_AUTH_REQUIRED,
			    E_AUTHREQ },
			{ "HTTP_AUTHORIZATION=Basic", XRPC_AUTH_ADMIN, 0,
			    XRPC_ERR_AUTH_REQUIRED, E_AUTHREQ },
			{ "HTTP_AUTHORIZATION=Basic !!!!", XRPC_AUTH_ADMIN, 0,
			    XRPC_ERR_AUTH_REQUIRED, E_AUTHREQ },
			{ NULL, XRPC_AUTH_ADMIN, 0, XRPC_ERR_AUTH_REQUIRED,
			    E_AUTHREQ },
			{ NULL, XRPC_AUTH_OPTIONAL, 0, XRPC_OK, NULL },
			{ basic_ok, XRPC_AUTH_OPTIONAL, 0, XRPC_OK, NULL },
			{ basic_bad, XRPC_AUTH_OPTIONAL, 0,
			    XRPC_ERR_AUTH_REQUIRED, E_AUTHREQ },
			{ acc, XRPC_AUTH_OPTIONAL, 0, XRPC_OK, NULL },
			{ "HTTP_AUTHORIZATION=Bearer x y", XRPC_AUTH_OPTIONAL, 0,
			    XRPC_ERR_INVALID_REQUEST, NULL },
		};
		size_t	i;

		for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
			auth_run(&cases[i], i);
	}
	/* What a good token leaves in req->auth. */
	{
		char		*env[] = { "REQUEST_METHOD=GET",
		    "REQUEST_URI=/xrpc/a.b.c", (char *)app, NULL };
		struct treq	 t;

		treq_init(&t, env);
		T_EQ_INT(xrpc_auth_check(&t.req, &t.res, XRPC_AUTH_ACCESS, 0),
		    XRPC_OK);
		T_EQ_INT(t.req.auth.type, XRPC_CRED_ACCESS);
		T_EQ_STR(t.req.auth.did, "did:plc:alice");
		T_EQ_STR(t.req.auth.scope, "com.atproto.appPass");
		T_EQ_STR(t.req.auth.audience, SERVICE_DID);
		T_EQ_INT(t.req.auth.privileged, 0);
		treq_fini(&t);
	}
	arena_free(&a);
}

/* ---- the catch-all and the plain handlers ----------------------------------- */

static const char *
run_catchall(char **env, struct treq *t)
{
	treq_init(t, env);
	return treq_error(t, xrpc_catchall(&t->req, &t->res));
}

static void
test_catchall(void)
{
	struct arena	 a;
	struct treq	 t;
	char		*acc, *app;

	arena_init(&a);
	acc = mint(&a, "at+jwt", "com.atproto.access", "did:plc:alice",
	    SERVICE_DID, 3600, SECRET, NULL, 0);
	app = mint(&a, "at+jwt", "com.atproto.appPass", "did:plc:alice",
	    SERVICE_DID, 3600, SECRET, NULL, 0);
	{
		char *put[] = { "REQUEST_METHOD=PUT",
		    "REQUEST_URI=/xrpc/app.bsky.feed.getTimeline", NULL };
		char *prot[] = { "REQUEST_METHOD=POST",
		    "REQUEST_URI=/xrpc/com.atproto.server.updateEmail", NULL };
		char *anon[] = { "REQUEST_METHOD=GET",
		    "REQUEST_URI=/xrpc/app.bsky.feed.getTimeline", NULL };
		char *priv[] = { "REQUEST_METHOD=GET",
		    "REQUEST_URI=/xrpc/chat.bsky.convo.getLog", app, NULL };
		char *nosvc[] = { "REQUEST_METHOD=GET",
		    "REQUEST_URI=/xrpc/app.bsky.feed.getTimeline", acc, NULL };
		char *h1[] = { "REQUEST_METHOD=GET",
		    "REQUEST_URI=/xrpc/a.b.c", acc,
		    "HTTP_ATPROTO_PROXY=#atproto_labeler", NULL };
		char *h2[] = { "REQUEST_METHOD=GET",
		    "REQUEST_URI=/xrpc/a.b.c", acc,
		    "HTTP_ATPROTO_PROXY=did:web:x#", NULL };
		char *h3[] = { "REQUEST_METHOD=GET",
		    "REQUEST_URI=/xrpc/a.b.c", acc,
		    "HTTP_ATPROTO_PROXY=did:web:x#a#b", NULL };
		char *h4[] = { "REQUEST_METHOD=GET",
		    "REQUEST_URI=/xrpc/a.b.c", acc,
		    "HTTP_ATPROTO_PROXY=did:web:x #a", NULL };

		T_EQ_STR(run_catchall(put, &t), "{\"error\":\"InvalidRequest\","
		    "\"message\":\"XRPC requests only supports GET and POST\"}");
		treq_fini(&t);
		T_EQ_STR(run_catchall(prot, &t), E_TOKEN("Bad token method"));
		treq_fini(&t);
		T_EQ_STR(run_catchall(anon, &t), E_MISSING);
		T_EQ_INT(t.res.status, 401);
		treq_fini(&t);
		T_EQ_STR(run_catchall(priv, &t), E_TOKEN("Bad token method"));
		treq_fini(&t);
		T_EQ_STR(run_catchall(nosvc, &t), "{\"error\":\"InvalidRequest\","
		    "\"message\":\"No service configured for "
		    "app.bsky.feed.getTimeline\"}");
		treq_fini(&t);
		T_EQ_STR(run_catchall(h1, &t), "{\"error\":\"InvalidRequest\","
		    "\"message\":\"no did specified in proxy header\"}");
		treq_fini(&t);
		T_EQ_STR(run_catchall(h2, &t), "{\"error\":\"InvalidRequest\","
		    "\"message\":\"no service id specified in proxy header\"}");
		treq_fini(&t);
		T_EQ_STR(run_catchall(h3, &t), "{\"error\":\"InvalidRequest\","
		    "\"message\":\"invalid proxy header format\"}");
		treq_fini(&t);
		T_EQ_STR(run_catchall(h4, &t), "{\"error\":\"InvalidRequest\","
		    "\"message\":\"proxy header cannot contain spaces\"}");
		treq_fini(&t);
		/* A well-formed header goes on to DID resolution, which needs
		 * the network: covered by tests/integration/proxy.test.mjs. */
	}
	arena_free(&a);
}

static const char *
run_plain(char **env, struct treq *t)
{
	xrpc_handler	fn;

	treq_init(t, env);
	T_OK((fn = xrpc_plain_find(t->req.path)) != NULL, "no plain route %s",
	    t->req.path);
	if (fn != NULL)
		T_EQ_INT(fn(&t->req, &t->res), XRPC_OK);
	return body_str(&t->res);
}

static void
test_plain(void)
{
	char *health[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/xrpc/_health",
	    NULL };
	char *robots[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/robots.txt",
	    NULL };
	char *root[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/", NULL };
	char *wk_alice[] = { "REQUEST_METHOD=GET",
	    "REQUEST_URI=/.well-known/atproto-did", "HTTP_HOST=ALICE.test",
	    NULL };
	char *wk_down[] = { "REQUEST_METHOD=GET",
	    "REQUEST_URI=/.well-known/atproto-did", "HTTP_HOST=down.test",
	    NULL };
	char *wk_other[] = { "REQUEST_METHOD=GET",
	    "REQUEST_URI=/.well-known/atproto-did", "HTTP_HOST=alice.example",
	    NULL };
	char *wk_apex[] = { "REQUEST_METHOD=GET",
	    "REQUEST_URI=/.well-known/atproto-did", "HTTP_HOST=test", NULL };
	char *tls_host[] = { "REQUEST_METHOD=GET",
	    "REQUEST_URI=/tls-check?domain=localhost", NULL };
	char *tls_alice[] = { "REQUEST_METHOD=GET",
	    "REQUEST_URI=/tls-check?domain=alice.test", NULL };
	char *tls_bob[] = { "REQUEST_METHOD=GET",
	    "REQUEST_URI=/tls-check?domain=bob.test", NULL };
	char *tls_out[] = { "REQUEST_METHOD=GET",
	    "REQUEST_URI=/tls-check?domain=alice.test.evil", NULL };
	char *tls_none[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/tls-check",
	    NULL };
	char *tls_two[] = { "REQUEST_METHOD=GET",
	    "REQUEST_URI=/tls-check?domain=a.test&domain=b.test", NULL };
	struct treq	 t;
	struct db	*saved;

	T_EQ_STR(run_plain(health, &t), "{\"version\":\"" CONFIG_VERSION_DEFAULT
	    "\"}");
	T_EQ_INT(t.res.status, 200);
	treq_fini(&t);
	saved = srv.account;
	srv.account = NULL;
	T_EQ_STR(run_plain(health, &t), "{\"version\":\"" CONFIG_VERSION_DEFAULT
	    "\",\"error\":\"Service Unavailable\"}");
	T_EQ_INT(t.res.status, 503);
	treq_fini(&t);
	srv.account = saved;
	T_EQ_STR(run_plain(robots, &t), "# Hello!\n\n# Crawling the public API "
	    "is allowed\nUser-agent: *\nAllow: /");
	T_EQ_STR(t.res.content_type, "text/plain; charset=utf-8");
	treq_fini(&t);
	T_OK(strstr(run_plain(root, &t), "This is an AT Protocol Personal "
	    "Data Server (aka, an atproto PDS)\n\nMost API routes are under "
	    "/xrpc/\n") != NULL, "banner");
	T_EQ_INT(t.res.body.len, 626);	/* basic-routes.ts, byte count */
	treq_fini(&t);
	T_EQ_STR(run_plain(wk_alice, &t), "did:plc:alice");
	treq_fini(&t);
	T_EQ_STR(run_plain(wk_down, &t), "User not found");
	T_EQ_INT(t.res.status, 404);
	treq_fini(&t);
	T_EQ_STR(run_plain(wk_other, &t), "User not found");
	treq_fini(&t);
	T_EQ_STR(run_plain(wk_apex, &t), "User not found");
	treq_fini(&t);
	T_EQ_STR(run_plain(tls_host, &t), "{\"success\":true}");
	treq_fini(&t);
	T_EQ_STR(run_plain(tls_alice, &t), "{\"success\":true}");
	treq_fini(&t);
	T_EQ_STR(run_plain(tls_bob, &t), "{\"error\":\"NotFound\","
	    "\"message\":\"handle not found for this domain\"}");
	T_EQ_INT(t.res.status, 404);
	treq_fini(&t);
	T_EQ_STR(run_plain(tls_out, &t), "{\"error\":\"InvalidRequest\","
	    "\"message\":\"handles are not provided on this domain\"}");
	treq_fini(&t);
	T_EQ_STR(run_plain(tls_none, &t), "{\"error\":\"InvalidRequest\","
	    "\"message\":\"bad or missing domain query param\"}");
	treq_fini(&t);
	T_EQ_STR(run_plain(tls_two, &t), "{\"error\":\"InvalidRequest\","
	    "\"message\":\"bad or missing domain query param\"}");
	T_EQ_INT(t.res.status, 400);
	treq_fini(&t);
}

static void
test_describe_server(void)
{
	char *env[] = { "REQUEST_METHOD=GET",
	    "REQUEST_URI=/xrpc/com.atproto.server.describeServer", NULL };
	struct treq	t;

	treq_init(&t, env);
	T_EQ_INT(com_atproto_server_describeServer(&t.req, &t.res), XRPC_OK);
	T_EQ_STR(body_str(&t.res), "{\"did\":\"did:web:localhost\","
	    "\"availableUserDomains\":[\".test\"],\"inviteCodeRequired\":true,"
	    "\"blobUploadLimit\":5242880,\"links\":{\"privacyPolicy\":"
	    "\"https://example.com/privacy\"},\"contact\":{\"email\":"
	    "\"admin@example.com\"}}");
	treq_fini(&t);
}

/* The input stage refuses by CONTENT_LENGTH without touching the body
 * stream (there is none here: a read would crash). */
static void
test_input_limits(void)
{
	static const struct xrpc_route json_route = { "x.y.json",
	    XRPC_PROCEDURE, XRPC_AUTH_NONE, 0, XRPC_BODY_JSON,
	    "application/json", NULL };
	static const struct xrpc_route blob_route = { "x.y.blob",
	    XRPC_PROCEDURE, XRPC_AUTH_NONE, 0, XRPC_BODY_BLOB, "*/*", NULL };
	static const struct xrpc_route none_route = { "x.y.none",
	    XRPC_PROCEDURE, XRPC_AUTH_NONE, 0, XRPC_BODY_NONE, NULL, NULL };
	char *big[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/xrpc/x.y.json",
	    "CONTENT_TYPE=application/json", "CONTENT_LENGTH=10485760", NULL };
	char *bigblob[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/xrpc/x.y.blob",
	    "CONTENT_TYPE=image/png", "CONTENT_LENGTH=5242881", NULL };
	char *notype[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/xrpc/x.y.json",
	    "CONTENT_LENGTH=2", NULL };
	char *wrong[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/xrpc/x.y.json",
	    "CONTENT_TYPE=text/plain", "CONTENT_LENGTH=2", NULL };
	char *gzip[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/xrpc/x.y.json",
	    "CONTENT_TYPE=application/json", "CONTENT_LENGTH=2",
	    "HTTP_CONTENT_ENCODING=gzip", NULL };
	char *nobody[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/xrpc/x.y.json",
	    "CONTENT_TYPE=application/json", NULL };
	char *extra[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/xrpc/x.y.none",
	    "CONTENT_TYPE=application/json", "CONTENT_LENGTH=3", NULL };
	struct treq	 t;

#define INPUT(env, rt) (treq_init(&t, env), t.req.route = &rt, \
	    treq_error(&t, xrpc_input(&t.req, &t.res)))
	T_EQ_STR(INPUT(big, json_route), "{\"error\":\"PayloadTooLargeError\","
	    "\"message\":\"request entity too large\"}");
	T_EQ_INT(t.res.status, 413);
	treq_fini(&t);
	T_EQ_STR(INPUT(bigblob, blob_route), "{\"error\":\"PayloadTooLarge\","
	    "\"message\":\"request entity too large\"}");
	treq_fini(&t);
	T_EQ_STR(INPUT(notype, json_route), "{\"error\":\"InvalidRequest\","
	    "\"message\":\"Request encoding (Content-Type) required but not "
	    "provided\"}");
	treq_fini(&t);
	T_EQ_STR(INPUT(wrong, json_route), "{\"error\":\"InvalidRequest\","
	    "\"message\":\"Wrong request encoding (Content-Type): "
	    "text/plain\"}");
	treq_fini(&t);
	T_EQ_STR(INPUT(gzip, json_route), "{\"error\":"
	    "\"UnsupportedMediaTypeError\",\"message\":\"unsupported content "
	    "encoding \\\"gzip\\\"\"}");
	T_EQ_INT(t.res.status, 415);
	treq_fini(&t);
	T_EQ_STR(INPUT(nobody, json_route), "{\"error\":\"InvalidRequest\","
	    "\"message\":\"A request body is expected but none was "
	    "provided\"}");
	treq_fini(&t);
	T_EQ_STR(INPUT(extra, none_route), "{\"error\":\"InvalidRequest\","
	    "\"message\":\"A request body was provided when none was "
	    "expected\"}");
	treq_fini(&t);
#undef INPUT
}

/* ---- the whole pipeline in a real worker -------------------------------------- */

/* FastCGI 1.0 record types (the FastCGI specification, section 8). */
#define FCGI_BEGIN_REQUEST	1
#define FCGI_END_REQUEST	3
#define FCGI_PARAMS		4
#define FCGI_STDIN		5
#define FCGI_STDOUT		6
#define FCGI_STDERR		7

static int
fc_send(int fd, int type, const void *p, size_t n)
{
	unsigned char	h[8] = { 1, (unsigned char)type, 0, 1,
	    (unsigned char)(n >> 8), (unsigned char)n, 0, 0 };

	return write(fd, h, 8) == 8 && (n == 0 ||
	    write(fd, p, n) == (ssize_t)n) ? 0 : -1;
}

/* Connects, sends BEGIN_REQUEST and the params (NAME=value strings). */
static int
fc_start(const char *sock, char **params)
{
	static const unsigned char begin[8] = { 0, 1, 0, 0, 0, 0, 0, 0 };
	struct sockaddr_un	 sun;
	unsigned char		 kv[8192];
	size_t			 n = 0, nl, vl;
	const char		*eq;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	(void)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		T_OK(0, "connect %s: %s", sock, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	for (; *params != NULL; params++) {
		eq = strchr(*params, '=');
		nl = (size_t)(eq - *params);
		vl = strlen(eq + 1);
		if (n + 2 + nl + vl > sizeof(kv) || nl > 127 || vl > 127)
			break;
		kv[n++] = (unsigned char)nl;
		kv[n++] = (unsigned char)vl;
		memcpy(kv + n, *params, nl);
		memcpy(kv + n + nl, eq + 1, vl);
		n += nl + vl;
	}
	if (fc_send(fd, FCGI_BEGIN_REQUEST, begin, 8) == -1 ||
	    fc_send(fd, FCGI_PARAMS, kv, n) == -1 ||
	    fc_send(fd, FCGI_PARAMS, NULL, 0) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
fc_read_full(int fd, unsigned char *p, size_t n, int timeout_ms)
{
	struct pollfd	pfd = { fd, POLLIN, 0 };
	ssize_t		r;

	while (n > 0) {
		if (poll(&pfd, 1, timeout_ms) != 1)
			return -1;
		if ((r = read(fd, p, n)) <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Reads STDOUT into out until END_REQUEST.  Returns 0 then; 1 when the
 * wait timed out after some STDOUT came (the worker answered and is
 * still taking in the body); -1 on nothing or a closed connection. */
static int
fc_response(int fd, struct buf *out, int timeout_ms)
{
	unsigned char	h[8], body[65536 + 256];
	size_t		n;

	buf_reset(out);
	for (;;) {
		if (fc_read_full(fd, h, 8, timeout_ms) == -1)
			return out->len > 0 && buf_cstr(out) == 0 ? 1 : -1;
		n = (size_t)h[4] << 8 | h[5];
		if (fc_read_full(fd, body, n + h[6], timeout_ms) == -1)
			return -1;
		if (h[1] == FCGI_STDOUT)
			(void)buf_append(out, body, n);
		else if (h[1] == FCGI_END_REQUEST)
			return buf_cstr(out);
	}
}

/* One request with an empty body; returns the raw response or "". */
static const char *
fc_request(const char *sock, char **params, struct buf *out)
{
	int	fd = fc_start(sock, params);
	int	rc;

	if (fd == -1)
		return "";
	rc = fc_send(fd, FCGI_STDIN, NULL, 0) == 0 &&
	    fc_response(fd, out, 5000) == 0;
	close(fd);
	return rc && out->data != NULL ? (const char *)out->data : "";
}

static pid_t
worker_start(struct listen_sock *ls, const struct pds_config *c)
{
	pid_t	pid;
	char	err[256];

	T_OK(listen_open(c, NULL, ls, err, sizeof(err)) == 0, "%s", err);
	if ((pid = fork()) == 0)
		_exit(worker_run(c, ls->fd, 0));
	close(ls->fd);
	ls->fd = -1;
	return pid;
}

static void
test_pipeline(void)
{
	char *health[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/xrpc/_health",
	    "REMOTE_ADDR=127.0.0.1", NULL };
	char *head[] = { "REQUEST_METHOD=HEAD", "REQUEST_URI=/xrpc/_health",
	    NULL };
	char *pre[] = { "REQUEST_METHOD=OPTIONS", "REQUEST_URI=/xrpc/a.b.c",
	    "HTTP_ACCESS_CONTROL_REQUEST_HEADERS=authorization", NULL };
	char *post[] = { "REQUEST_METHOD=POST",
	    "REQUEST_URI=/xrpc/com.atproto.server.describeServer",
	    "CONTENT_TYPE=application/json", "CONTENT_LENGTH=0", NULL };
	char *big[] = { "REQUEST_METHOD=POST",
	    "REQUEST_URI=/xrpc/com.atproto.repo.createRecord",
	    "CONTENT_TYPE=application/json", "CONTENT_LENGTH=10485760", NULL };
	char *slow[] = { "REQUEST_METHOD=GET",
	    "REQUEST_URI=/xrpc/com.atproto.server.describeServer", NULL };
	struct listen_sock	 ls;
	struct buf		 out;
	const char		*r;
	pid_t			 pid;
	int			 fd, status = -1;

	buf_init(&out, 0);
	pid = worker_start(&ls, cfg);
	r = fc_request(ls.unix_path, health, &out);
	T_OK(strncmp(r, "Status: 200 OK\r\nContent-Type: application/json; "
	    "charset=utf-8\r\nX-Request-Id: ", 70) == 0 && strstr(r,
	    "Access-Control-Allow-Origin: *\r\nContent-Length: 19\r\n\r\n"
	    "{\"version\":\"" CONFIG_VERSION_DEFAULT "\"}") != NULL, "%s", r);
	r = fc_request(ls.unix_path, head, &out);
	T_OK(strstr(r, "Content-Length: 19\r\n\r\n") != NULL &&
	    strstr(r, "version") == NULL, "HEAD: %s", r);
	r = fc_request(ls.unix_path, pre, &out);
	T_OK(strncmp(r, "Status: 204 No Content\r\n", 24) == 0 &&
	    strstr(r, "Access-Control-Allow-Headers: authorization\r\n") &&
	    strstr(r, "Access-Control-Max-Age: 86400\r\n") &&
	    strstr(r, "Content-Length: 0\r\n\r\n") != NULL, "%s", r);
	r = fc_request(ls.unix_path, post, &out);
	T_OK(strstr(r, "Status: 400 Bad Request") != NULL && strstr(r,
	    "Incorrect HTTP method (POST) expected GET") != NULL, "%s", r);

	/* A 10 MB body the worker answers without reading: the answer
	 * comes while not one body byte was sent. */
	if ((fd = fc_start(ls.unix_path, big)) != -1) {
		T_OK(fc_response(fd, &out, 5000) == 0 &&
		    strstr((char *)out.data, "Status: 401") != NULL, "%s",
		    out.data != NULL ? (char *)out.data : "no answer");
		close(fd);
	}

	T_EQ_INT(kill(pid, SIGTERM), 0);
	T_EQ_INT(waitpid(pid, &status, 0), pid);
	T_OK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "worker status "
	    "%d", status);
	listen_close(&ls);

	/* SIGTERM while a request is in flight: a describeServer answer of
	 * ~300 KB (a long handle-domain list) that the client does not read
	 * yet, so the worker blocks writing it.  It finishes, then exits. */
	pid = worker_start(&ls, big_cfg);
	if ((fd = fc_start(ls.unix_path, slow)) != -1) {
		T_OK(fc_send(fd, FCGI_STDIN, NULL, 0) == 0, "send stdin");
		usleep(300000);
		kill(pid, SIGTERM);
		usleep(300000);
		T_EQ_INT(waitpid(pid, &status, WNOHANG), 0);	/* still busy */
		T_EQ_INT(fc_response(fd, &out, 5000), 0);	/* completed */
		T_OK(out.len > 300000 && strstr((char *)out.data,
		    "\"inviteCodeRequired\":true") != NULL, "drained answer "
		    "of %zu bytes", out.len);
		close(fd);
	} else
		kill(pid, SIGTERM);
	T_EQ_INT(waitpid(pid, &status, 0), pid);
	T_OK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "worker status "
	    "%d", status);
	listen_close(&ls);

	/* An idle worker blocked in poll()/accept() leaves at once. */
	pid = worker_start(&ls, cfg);
	usleep(100000);
	kill(pid, SIGTERM);
	T_EQ_INT(waitpid(pid, &status, 0), pid);
	T_OK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "idle exit");
	listen_close(&ls);
	buf_free(&out);
}

/* ---- setup ---------------------------------------------------------------- */

/* The same configuration with 200 handle domains of 1500 characters,
 * for a describeServer answer larger than a socket buffer. */
static int
big_setup(char **env)
{
	char	*domains, *big[16], err[256];
	size_t	 i, n = 0;

	if ((domains = malloc(200 * 1501 + 64)) == NULL)
		return -1;
	memcpy(domains, "PDS_SERVICE_HANDLE_DOMAINS=", 27);
	n = 27;
	for (i = 0; i < 200; i++) {
		domains[n++] = i > 0 ? ',' : '.';
		if (i > 0)
			domains[n++] = '.';
		memset(domains + n, 'a' + (int)(i % 26), 1499);
		n += 1499;
	}
	domains[n] = '\0';
	for (i = 0; env[i] != NULL && i < 14; i++)
		big[i] = env[i];
	big[i++] = domains;
	big[i] = NULL;
	i = config_load_env(big, NULL, 0, &big_cfg, err, sizeof(err)) == 0;
	T_OK(i, "big config: %s", err);
	free(domains);
	return i ? 0 : -1;
}

static int
setup(void)
{
	char		 dir[600], sock[600], acct[600];
	char		*env[] = { "PDS_JWT_SECRET=" SECRET,
	    "PDS_ADMIN_PASSWORD=" ADMIN_PW,
	    "PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX="
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	    dir, "PDS_BLOBSTORE_DISK_LOCATION=/nonexistent/blocks", sock,
	    "PDS_PRIVACY_POLICY_URL=https://example.com/privacy",
	    "PDS_CONTACT_EMAIL_ADDRESS=admin@example.com", NULL };
	char		 err[256];
	struct db	*db;

	if (mkdtemp(tmpdir) == NULL)
		return -1;
	(void)snprintf(dir, sizeof(dir), "PDS_DATA_DIRECTORY=%s", tmpdir);
	(void)snprintf(sock, sizeof(sock), "PDS_FCGI_LISTEN=unix:%s/fcgi.sock",
	    tmpdir);
	(void)snprintf(acct, sizeof(acct), "%s/account.sqlite", tmpdir);
	if (config_load_env(env, NULL, 0, &cfg, err, sizeof(err)) == -1) {
		T_OK(0, "config: %s", err);
		return -1;
	}
	/* account.sqlite with the reference's actor table. */
	if (db_open(acct, 0, &db) == -1 || db_exec(db,
	    "CREATE TABLE actor (did varchar PRIMARY KEY, handle varchar, "
	    "createdAt varchar NOT NULL, takedownRef varchar, deactivatedAt "
	    "varchar, deleteAfter varchar);"
	    "INSERT INTO actor VALUES ('did:plc:alice', 'alice.test', "
	    "'2024-01-01T00:00:00.000Z', NULL, NULL, NULL);"
	    "INSERT INTO actor VALUES ('did:plc:down', 'down.test', "
	    "'2024-01-01T00:00:00.000Z', 'ref-1', NULL, NULL);"
	    "INSERT INTO actor VALUES ('did:plc:deact', 'deact.test', "
	    "'2024-01-01T00:00:00.000Z', NULL, '2024-02-01T00:00:00.000Z', "
	    "NULL);") == -1)
		return -1;
	srv.cfg = cfg;
	srv.account = db;
	return big_setup(env);
}

static void
teardown(void)
{
	char	path[600];

	db_close(srv.account);
	config_free(cfg);
	config_free(big_cfg);
	(void)snprintf(path, sizeof(path), "%s/account.sqlite", tmpdir);
	unlink(path);
	(void)snprintf(path, sizeof(path), "%s/account.sqlite-wal", tmpdir);
	unlink(path);
	(void)snprintf(path, sizeof(path), "%s/account.sqlite-shm", tmpdir);
	unlink(path);
	rmdir(tmpdir);
}

int
main(void)
{
	json_t	*fx;

	log_init("test_xrpc", LOG_LVL_WARN);
	alarm(120);	/* a worker that never exits fails the test, not CI */
	if ((fx = fixtures()) != NULL) {
		test_fixture_params(fx);
		test_fixture_paths(fx);
		test_fixture_queries(fx);
		json_decref(fx);
	}
	test_query_refused();
	test_mime();
	test_authz();
	test_statuses();
	test_error_writer();
	test_routes();
	if (setup() == 0) {
		test_request_init();
		test_typed_params();
		test_auth();
		test_catchall();
		test_plain();
		test_describe_server();
		test_input_limits();
		test_pipeline();
	}
	teardown();
	return t_done("xrpc");
}
