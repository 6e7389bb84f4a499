/*
 * dispatch.c: one request, one linear pipeline (STYLE.md 6.6):
 * parameters -> CORS / method and path -> route -> auth -> input ->
 * handler -> response (or the one error writer) -> access log -> reset.
 *
 * The order follows the reference's Express app (index.ts): CORS
 * (cors({maxAge: 86400})) before everything, then the plain routes, then
 * the XRPC router whose per-method checks come from xrpc-server's
 * server.ts (wrong HTTP method, catch-all for unknown NSIDs).
 */
#include <string.h>

#include <fcgiapp.h>

#include "admin_int.h"
#include "db.h"
#include "log.h"
#include "util.h"
#include "xrpc.h"
#include "xrpc_int.h"

/* A body buffer that grew past this is released after the request, so
 * one big response does not pin a worker's memory. */
#define DISPATCH_KEEP_BODY	(1u << 20)

/* cors: preflight answers 204 to any OPTIONS request. */
static enum xrpc_status
dispatch_preflight(struct xrpc_req *req, struct xrpc_res *res)
{
	const char	*h = xrpc_req_param(req, "HTTP_ACCESS_CONTROL_REQUEST_HEADERS");

	res->status = 204;
	if (xrpc_res_header(res, "Access-Control-Allow-Methods",
	    "GET,HEAD,PUT,PATCH,POST,DELETE") == -1 ||
	    xrpc_res_header(res, "Vary", "Access-Control-Request-Headers") ==
	    -1 || (h != NULL && h[0] != '\0' && strlen(h) <= LIM_HEADER_LEN &&
	    xrpc_res_header(res, "Access-Control-Allow-Headers", h) == -1) ||
	    xrpc_res_header(res, "Access-Control-Max-Age", "86400") == -1)
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	return XRPC_OK;
}

enum xrpc_status
xrpc_method_check(const struct xrpc_req *req, struct xrpc_res *res,
    const struct xrpc_route *r)
{
	int	get = req->method == XRPC_M_GET || req->method == XRPC_M_HEAD;

	if (r->kind == XRPC_QUERY ? !get : req->method != XRPC_M_POST)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Incorrect HTTP method (%s) expected %s", req->method_str,
		    r->kind == XRPC_QUERY ? "GET" : "POST");
	return XRPC_OK;
}

/* A routed XRPC method: HTTP method, auth, input, handler. */
static enum xrpc_status
dispatch_route(struct xrpc_req *req, struct xrpc_res *res)
{
	const struct xrpc_route	*r = req->route;
	enum xrpc_status	 st;

	if ((st = xrpc_method_check(req, res, r)) != XRPC_OK ||
	    (st = xrpc_auth_check(req, res, r->auth, r->flags)) != XRPC_OK ||
	    (st = xrpc_input(req, res)) != XRPC_OK ||
	    (st = xrpc_ratelimit_route(req, res)) != XRPC_OK)	/* ratelimits.c */
		return st;
	return r->fn(req, res);
}

static enum xrpc_status
dispatch_xrpc(struct xrpc_req *req, struct xrpc_res *res)
{
	const char		*nsid;
	size_t			 len;
	enum xrpc_status	 st;

	if (xrpc_path_nsid(req->path, strlen(req->path), &nsid, &len) == -1)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "invalid xrpc path");
	if ((req->nsid = arena_strndup(req->a, nsid, len)) == NULL)
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	if ((req->route = xrpc_route_find(nsid, len)) != NULL)
		return dispatch_route(req, res);
	/* xrpc-server's catchall: the global rate limit comes first */
	if ((st = xrpc_ratelimit_global(req, res)) != XRPC_OK)
		return st;
	return xrpc_catchall(req, res);
}

static enum xrpc_status
dispatch_path(struct xrpc_req *req, struct xrpc_res *res)
{
	xrpc_handler	fn;

	if (req->method == XRPC_M_OPTIONS)
		return dispatch_preflight(req, res);
	if ((req->method == XRPC_M_GET || req->method == XRPC_M_HEAD) &&
	    (fn = xrpc_plain_find(req->path)) != NULL)
		return fn(req, res);
	if (strncmp(req->path, "/xrpc/", 6) == 0)
		return dispatch_xrpc(req, res);
	return xrpc_fail(res, XRPC_ERR_NOT_SUPPORTED, "NotFound", "Not Found");
}

/* One line per request: id, client, method, path, status, body bytes,
 * microseconds (and the error name).  Never a header or a token. */
static void
dispatch_log(const struct xrpc_req *req, const struct xrpc_res *res)
{
	char	path[LIM_LOG_PATH], ip[64];

	if (!req->srv->cfg->log_enabled)
		return;
	log_escape(path, sizeof(path), req->path, strlen(req->path));
	log_escape(ip, sizeof(ip), req->client_ip, strlen(req->client_ip));
	log_info("%s %s %s %s %d %llu %lldus%s%s", req->id, ip,
	    req->method_str, path, res->status,
	    (unsigned long long)res->bytes,
	    (long long)(util_mono_us() - req->start_us),
	    res->err_name != NULL ? " " : "",
	    res->err_name != NULL ? res->err_name : "");
}

void
xrpc_dispatch(struct xrpc_server *srv, FCGX_Request *fcgi, struct arena *a,
    struct buf *body)
{
	struct xrpc_req		req;
	struct xrpc_res		res;
	enum xrpc_status	st;

	xrpc_res_init(&res, srv->cfg, a, body, fcgi->out, 0);
	st = xrpc_req_init(&req, &res, srv, fcgi, a);
	res.head_only = req.method == XRPC_M_HEAD;
	/* cors() runs first in the reference, so even a malformed request
	 * gets Access-Control-Allow-Origin. */
	if ((xrpc_res_header(&res, "X-Request-Id", req.id) == -1 ||
	    xrpc_res_header(&res, "Access-Control-Allow-Origin", "*") == -1) &&
	    st == XRPC_OK)
		st = xrpc_fail(&res, XRPC_ERR_INTERNAL, NULL, NULL);
	if (st == XRPC_OK)
		st = dispatch_path(&req, &res);
	if (st != XRPC_OK) {
		if (res.started)
			log_error("%s: %s: %s failed after its response "
			    "started", __func__, req.id, req.path);
		else
			xrpc_error_write(&res, st);
	}
	/* An unread body is left unread: FCGX_Finish_r() ends the request
	 * (FCGI_END_REQUEST) and the web server stops sending it (nginx
	 * answers at once, buffered or not; draining it would deadlock
	 * nginx, which stops sending once the response is complete). */
	xrpc_res_finish(&res);
	dispatch_log(&req, &res);
	srv->requests++;
	json_decref(req.input);
	req.input = NULL;
	if (res.body.cap > DISPATCH_KEEP_BODY)
		buf_free(&res.body);
	*body = res.body;
	db_reset_all(srv->account);
	arena_reset(a);
}
