/*
 * request.c: an XRPC request from its FastCGI parameters, the bounded
 * body reader, typed query parameters and the input stage.
 *
 * Owns the checks the reference's xrpc-server does before a handler runs
 * (util.ts: getBodyPresence, parseReqEncoding, assertEmptyBody, the
 * json/text body parsers' limits).  FastCGI parameters are hostile: each
 * is length-checked and validated here, once.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <fcgiapp.h>

#include "enc.h"
#include "log.h"
#include "util.h"
#include "xrpc.h"
#include "xrpc_int.h"

const char *
xrpc_req_param(const struct xrpc_req *req, const char *name)
{
	return FCGX_GetParam(name, req->fcgi->envp);
}

/* ---- request line --------------------------------------------------------- */

static enum xrpc_method
req_method(const char *m)
{
	static const char *const names[XRPC_M__MAX] = {
		"GET", "HEAD", "POST", "OPTIONS", NULL,
	};
	int	i;

	for (i = 0; i < XRPC_M_OTHER; i++)
		if (strcmp(m, names[i]) == 0)
			return (enum xrpc_method)i;
	return XRPC_M_OTHER;
}

static int
req_method_ok(const char *m)
{
	size_t	n = strlen(m);

	if (n == 0 || n > LIM_METHOD_LEN)
		return 0;
	for (; *m != '\0'; m++)
		if (!isupper((unsigned char)*m) && *m != '-' && *m != '_')
			return 0;
	return 1;
}

/* The path of REQUEST_URI (up to '?'): printable ASCII, starts '/'. */
static int
req_path(struct xrpc_req *req, const char *uri, const char **qs)
{
	const char	*q;
	size_t		 n, i;

	*qs = NULL;
	n = strlen(uri);
	if (n == 0 || uri[0] != '/' || n > LIM_URI_LEN)
		return -1;
	if ((q = memchr(uri, '?', n)) != NULL) {
		*qs = q + 1;
		n = (size_t)(q - uri);
	}
	for (i = 0; i < n; i++)
		if ((unsigned char)uri[i] <= 0x20 ||
		    (unsigned char)uri[i] >= 0x7f)
			return -1;
	req->path = arena_strndup(req->a, uri, n);
	return req->path != NULL ? 0 : -1;
}

/* Host without the port, lowercased; "" when absent or odd. */
static const char *
req_host(struct xrpc_req *req)
{
	const char	*h = xrpc_req_param(req, "HTTP_HOST");
	char		*out;
	size_t		 n, i;

	if (h == NULL || (n = strlen(h)) == 0 || n > LIM_HOST_LEN)
		return "";
	if (h[0] != '[') {
		const char *colon = memchr(h, ':', n);

		if (colon != NULL)
			n = (size_t)(colon - h);
	} else {
		const char *rb = memchr(h, ']', n);

		if (rb == NULL)
			return "";
		n = (size_t)(rb - h) + 1;
	}
	if ((out = arena_strndup(req->a, h, n)) == NULL)
		return "";
	for (i = 0; i < n; i++) {
		out[i] = (char)tolower((unsigned char)out[i]);
		if (!isalnum((unsigned char)out[i]) &&
		    strchr(".-_[]:", out[i]) == NULL)
			return "";
	}
	return out;
}

static int
req_ip_ok(const char *s, size_t n)
{
	size_t	i;

	if (n == 0 || n > 45)	/* INET6_ADDRSTRLEN - 1 */
		return 0;
	for (i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]) && s[i] != '.' &&
		    s[i] != ':')
			return 0;
	return 1;
}

/* REMOTE_ADDR, or the first address of the trusted header. */
static const char *
req_client_ip(struct xrpc_req *req)
{
	const char	*name = req->srv->cfg->trust_proxy_header;
	const char	*v, *end;

	if (name != NULL && (v = xrpc_req_param(req, name)) != NULL) {
		while (*v == ' ' || *v == '\t')
			v++;
		end = strchr(v, ',');
		if (end == NULL)
			end = v + strlen(v);
		while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if (req_ip_ok(v, (size_t)(end - v)))
			return arena_strndup(req->a, v, (size_t)(end - v));
	}
	v = xrpc_req_param(req, "REMOTE_ADDR");
	return v != NULL && req_ip_ok(v, strlen(v)) ? v : "-";
}

/* The web server's X-Request-Id when sane, else 16 random hex chars. */
static const char *
req_id(struct xrpc_req *req)
{
	const char	*v = xrpc_req_param(req, "HTTP_X_REQUEST_ID");
	uint8_t		 rnd[8];
	char		*hex;
	size_t		 n, i;

	if (v != NULL && (n = strlen(v)) > 0 && n <= LIM_REQUEST_ID_LEN) {
		for (i = 0; i < n; i++)
			if (!isalnum((unsigned char)v[i]) &&
			    strchr("-_.", v[i]) == NULL)
				break;
		if (i == n)
			return v;
	}
	if ((hex = arena_alloc(req->a, ENC_HEX_LEN(sizeof(rnd)))) == NULL)
		return "-";
	if (util_random(rnd, sizeof(rnd)) == -1)
		memset(rnd, 0, sizeof(rnd));
	enc_hex_encode(rnd, sizeof(rnd), hex);
	return hex;
}

static int
req_body_meta(struct xrpc_req *req)
{
	const char	*cl = xrpc_req_param(req, "CONTENT_LENGTH");
	const char	*ct = xrpc_req_param(req, "CONTENT_TYPE");
	char		*mime;

	req->content_length = -1;
	if (cl != NULL && cl[0] != '\0' &&
	    util_int_parse_str(cl, 0, INT64_MAX, &req->content_length) == -1)
		return -1;
	req->content_type = NULL;
	if (ct != NULL && ct[0] != '\0' &&
	    (mime = arena_alloc(req->a, strlen(ct) + 1)) != NULL &&
	    xrpc_mime_parse(ct, strlen(ct), mime, strlen(ct) + 1) == 0)
		req->content_type = mime;
	return 0;
}

enum xrpc_status
xrpc_req_init(struct xrpc_req *req, struct xrpc_res *res,
    struct xrpc_server *srv, FCGX_Request *fcgi, struct arena *a)
{
	const char	*m, *uri, *qs, *why = NULL;

	memset(req, 0, sizeof(*req));
	req->a = a;
	req->srv = srv;
	req->fcgi = fcgi;
	req->start_us = util_mono_us();
	req->content_length = -1;
	req->body_limit = -1;
	req->id = req_id(req);
	req->client_ip = req_client_ip(req);
	req->host = req_host(req);
	m = xrpc_req_param(req, "REQUEST_METHOD");
	req->method_str = m != NULL && req_method_ok(m) ? m : "-";
	req->method = req_method(req->method_str);
	req->path = "-";
	if ((uri = xrpc_req_param(req, "REQUEST_URI")) == NULL)
		uri = xrpc_req_param(req, "DOCUMENT_URI");
	if (m == NULL || !req_method_ok(m) || uri == NULL ||
	    req_path(req, uri, &qs) == -1)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Malformed request line");
	if ((m = xrpc_req_param(req, "QUERY_STRING")) != NULL)
		qs = m;
	if (qs != NULL && xrpc_query_parse(a, qs, strlen(qs), &req->query,
	    &why) == -1)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Invalid query string: %s", why);
	if (req_body_meta(req) == -1)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "invalid content-length");
	return XRPC_OK;
}

/* ---- body ------------------------------------------------------------------ */

/* body-parser's errors carry http-errors names; the stream limiter's
 * carry the XRPC name (xrpc-server util.ts decodeBodyStream). */
static enum xrpc_status
body_too_large(struct xrpc_req *req, struct xrpc_res *res)
{
	int	parsed = req->route != NULL &&
	    (req->route->body == XRPC_BODY_JSON ||
	    req->route->body == XRPC_BODY_WRITE);

	return xrpc_fail(res, XRPC_ERR_PAYLOAD_TOO_LARGE,
	    parsed ? "PayloadTooLargeError" : NULL,
	    "request entity too large");
}

enum xrpc_status
xrpc_body_read(struct xrpc_req *req, struct xrpc_res *res, void *p,
    size_t n, size_t *got)
{
	int64_t	want = (int64_t)(n > LIM_IO_CHUNK ? LIM_IO_CHUNK : n);
	int	r;

	*got = 0;
	if (req->body_eof || n == 0)
		return XRPC_OK;
	if (req->content_length >= 0) {
		if (req->content_length - req->body_read < want)
			want = req->content_length - req->body_read;
		if (want == 0) {
			req->body_eof = 1;
			return XRPC_OK;
		}
	}
	r = FCGX_GetStr(p, (int)want, req->fcgi->in);
	if (r < 0 || FCGX_GetError(req->fcgi->in) != 0)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "request aborted");
	req->body_read += r;
	if (r < want)
		req->body_eof = 1;
	if (req->body_eof && req->content_length >= 0 &&
	    req->body_read < req->content_length)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "request aborted");
	if (req->body_limit >= 0 && req->body_read > req->body_limit)
		return body_too_large(req, res);
	*got = (size_t)r;
	return XRPC_OK;
}

int
xrpc_json_str_is(const json_t *v, const char *want)
{
	size_t	len = strlen(want);

	return json_is_string(v) && json_string_length(v) == len &&
	    memcmp(json_string_value(v), want, len) == 0;
}

/* ---- typed parameters -------------------------------------------------------- */

static enum xrpc_status
param_fail(struct xrpc_req *req, struct xrpc_res *res, const char *issue)
{
	return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
	    "Invalid %s params: %s", req->nsid != NULL ? req->nsid :
	    req->path, issue);
}

static enum xrpc_status
param_missing(struct xrpc_req *req, struct xrpc_res *res, const char *name)
{
	char	issue[160];

	(void)snprintf(issue, sizeof(issue), "Missing required key \"%.100s\"",
	    name);
	return param_fail(req, res, issue);
}

/* The reply for q, the result of an xrpc_query_* getter that wrote its
 * issue text into issue. */
static enum xrpc_status
param_result(struct xrpc_req *req, struct xrpc_res *res, const char *name,
    int required, enum xrpc_qres q, const char *issue)
{
	switch (q) {
	case XQ_OK:
		return XRPC_OK;
	case XQ_ABSENT:
		return required ? param_missing(req, res, name) : XRPC_OK;
	default:
		return param_fail(req, res, issue);
	}
}

enum xrpc_status
xrpc_param_str(struct xrpc_req *req, struct xrpc_res *res,
    const char *name, int required, const char **out)
{
	char	issue[LIM_ERR_MSG];

	return param_result(req, res, name, required, xrpc_query_str(&req->query, name, out, issue,
	    sizeof(issue)), issue);
}

enum xrpc_status
xrpc_param_int(struct xrpc_req *req, struct xrpc_res *res,
    const char *name, int required, int64_t min, int64_t max, int64_t *out)
{
	char	issue[LIM_ERR_MSG];

	return param_result(req, res, name, required, xrpc_query_int(&req->query, name, min, max, out, issue,
	    sizeof(issue)), issue);
}

enum xrpc_status
xrpc_param_bool(struct xrpc_req *req, struct xrpc_res *res,
    const char *name, int required, int *out)
{
	char	issue[LIM_ERR_MSG];

	return param_result(req, res, name, required, xrpc_query_bool(&req->query, name, out, issue,
	    sizeof(issue)), issue);
}

enum xrpc_status
xrpc_param_list(struct xrpc_req *req, struct xrpc_res *res,
    const char *name, int required, const char ***out, size_t *n)
{
	if (xrpc_query_all(req->a, &req->query, name, out, n) == -1)
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	if (*n == 0 && required)
		return param_missing(req, res, name);
	return XRPC_OK;
}

/* ---- the input stage ------------------------------------------------------------ */

static int64_t
body_limit(const struct xrpc_req *req)
{
	const struct pds_config	*c = req->srv->cfg;

	switch (req->route->body) {
	case XRPC_BODY_JSON:
		return LIM_BODY_JSON;
	case XRPC_BODY_WRITE:
		return LIM_BODY_WRITE;
	case XRPC_BODY_BLOB:
		return c->blob_upload_limit;
	case XRPC_BODY_IMPORT:
		return c->max_import_size > 0 ? c->max_import_size :
		    c->blob_upload_limit;
	default:
		return 0;
	}
}

/* Is type in the route's comma-separated accept list? */
static int
accept_ok(const char *accept, const char *type)
{
	const char	*p = accept, *c;
	size_t		 n, tlen = strlen(type);

	while (*p != '\0') {
		while (*p == ' ')
			p++;
		c = strchr(p, ',');
		n = c != NULL ? (size_t)(c - p) : strlen(p);
		while (n > 0 && p[n - 1] == ' ')
			n--;
		if ((n == 3 && memcmp(p, "*/*", 3) == 0) ||
		    (n == tlen && strncmp(p, type, n) == 0) ||
		    (n > 2 && p[n - 1] == '*' && p[n - 2] == '/' &&
		    strncmp(p, type, n - 1) == 0))
			return 1;
		if (c == NULL)
			break;
		p = c + 1;
	}
	return 0;
}

static enum xrpc_status
input_json(struct xrpc_req *req, struct xrpc_res *res)
{
	struct buf		 b;
	json_error_t		 jerr;
	size_t			 got;
	enum xrpc_status	 st = XRPC_OK;
	char			 chunk[LIM_IO_CHUNK / 4];

	buf_init(&b, (size_t)req->body_limit + 1);
	do {
		if ((st = xrpc_body_read(req, res, chunk, sizeof(chunk),
		    &got)) != XRPC_OK)
			goto out;
		if (buf_append(&b, chunk, got) == -1) {
			st = body_too_large(req, res);
			goto out;
		}
	} while (got > 0);
	if (b.len == 0) {
		/* body-parser: an empty body is {} */
		req->input = json_object();
		goto out;
	}
	/* JSON.parse accepts "\u0000" in strings: readers of req->input
	 * take json_string_length(), and identifiers with a NUL fail their
	 * validators. */
	req->input = json_loadb((const char *)b.data, b.len, JSON_ALLOW_NUL,
	    &jerr);
	if (req->input == NULL) {
		/* body-parser hands JSON.parse's SyntaxError through
		 * http-errors, keeping its name; the wording is V8's. */
		if (json_error_code(&jerr) == json_error_premature_end_of_input)
			st = xrpc_fail(res, XRPC_ERR_INVALID_REQUEST,
			    "SyntaxError", "Unexpected end of JSON input");
		else if (json_error_code(&jerr) ==
		    json_error_end_of_input_expected)
			st = xrpc_fail(res, XRPC_ERR_INVALID_REQUEST,
			    "SyntaxError", "Unexpected non-whitespace "
			    "character after JSON at position %d",
			    jerr.position > 0 ? jerr.position - 1 : 0);
		else
			st = xrpc_fail(res, XRPC_ERR_INVALID_REQUEST,
			    "SyntaxError", "Unexpected token in JSON at "
			    "position %d", jerr.position > 0 ?
			    jerr.position - 1 : 0);
	}
out:
	if (b.data != NULL)
		util_wipe(b.data, b.len);	/* may hold passwords */
	buf_free(&b);
	return st;
}

enum xrpc_status
xrpc_input_none(struct xrpc_req *req, struct xrpc_res *res)
{
	if (req->content_length > 0)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "A request body was provided when none was expected");
	return XRPC_OK;
}

enum xrpc_status
xrpc_input(struct xrpc_req *req, struct xrpc_res *res)
{
	const struct xrpc_route	*r = req->route;
	const char		*enc;

	if (r->body == XRPC_BODY_NONE)
		return xrpc_input_none(req, res);
	req->body_limit = body_limit(req);
	/* getBodyPresence(): no length is no body (nginx always sends
	 * CONTENT_LENGTH for a body; it buffers chunked FastCGI bodies). */
	if (req->content_length == -1)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "A request body is expected but none was provided");
	if (req->content_type == NULL)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Request encoding (Content-Type) required but not "
		    "provided");
	if (!accept_ok(r->accept != NULL ? r->accept : "", req->content_type))
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Wrong request encoding (Content-Type): %s",
		    req->content_type);
	enc = xrpc_req_param(req, "HTTP_CONTENT_ENCODING");
	if (enc != NULL && enc[0] != '\0' && strcasecmp(enc, "identity") != 0)
		return xrpc_fail(res, XRPC_ERR_UNSUPPORTED_MEDIA,
		    "UnsupportedMediaTypeError",
		    "unsupported content encoding \"%.40s\"", enc);
	if (req->content_length > req->body_limit)
		return body_too_large(req, res);
	if (r->body == XRPC_BODY_JSON || r->body == XRPC_BODY_WRITE)
		return input_json(req, res);
	return XRPC_OK;
}
