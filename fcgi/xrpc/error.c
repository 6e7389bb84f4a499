/*
 * error.c: XRPC statuses and the one writer of error responses.
 *
 * Names and default messages are @atproto/xrpc's ResponseType and
 * ResponseTypeStrings; the body is {"error": name, "message": text} as
 * @atproto/xrpc-server's XRPCError.payload (500s never show details).
 * Nothing else in pds-fcgi writes an error body.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "xrpc.h"
#include "xrpc_int.h"

static const struct {
	int		 http;
	const char	*name;
	const char	*message;
} xrpc_statuses[XRPC_STATUS__MAX] = {
	[XRPC_OK] = { 200, "", "" },
	[XRPC_ERR_INVALID_REQUEST] = { 400, "InvalidRequest",
	    "Invalid Request" },
	[XRPC_ERR_AUTH_REQUIRED] = { 401, "AuthenticationRequired",
	    "Authentication Required" },
	[XRPC_ERR_FORBIDDEN] = { 403, "Forbidden", "Forbidden" },
	[XRPC_ERR_NOT_SUPPORTED] = { 404, "XRPCNotSupported",
	    "XRPC Not Supported" },
	[XRPC_ERR_NOT_ACCEPTABLE] = { 406, "NotAcceptable",
	    "Not Acceptable" },
	[XRPC_ERR_PAYLOAD_TOO_LARGE] = { 413, "PayloadTooLarge",
	    "Payload Too Large" },
	[XRPC_ERR_UNSUPPORTED_MEDIA] = { 415, "UnsupportedMediaType",
	    "Unsupported Media Type" },
	[XRPC_ERR_RATE_LIMITED] = { 429, "RateLimitExceeded",
	    "Rate Limit Exceeded" },
	[XRPC_ERR_INTERNAL] = { 500, "InternalServerError",
	    "Internal Server Error" },
	[XRPC_ERR_NOT_IMPLEMENTED] = { 501, "MethodNotImplemented",
	    "Method Not Implemented" },
	[XRPC_ERR_UPSTREAM_FAILURE] = { 502, "UpstreamFailure",
	    "Upstream Failure" },
	[XRPC_ERR_NOT_ENOUGH_RESOURCES] = { 503, "NotEnoughResources",
	    "Not Enough Resources" },
	[XRPC_ERR_UPSTREAM_TIMEOUT] = { 504, "UpstreamTimeout",
	    "Upstream Timeout" },
};

static enum xrpc_status
xrpc_status_clamp(enum xrpc_status st)
{
	return (unsigned)st < XRPC_STATUS__MAX ? st : XRPC_ERR_INTERNAL;
}

int
xrpc_status_http(enum xrpc_status st)
{
	return xrpc_statuses[xrpc_status_clamp(st)].http;
}

const char *
xrpc_status_name(enum xrpc_status st)
{
	return xrpc_statuses[xrpc_status_clamp(st)].name;
}

const char *
xrpc_status_message(enum xrpc_status st)
{
	return xrpc_statuses[xrpc_status_clamp(st)].message;
}

enum xrpc_status
xrpc_fail(struct xrpc_res *res, enum xrpc_status st, const char *name,
    const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;
	int	 n;

	res->err_name = name;
	res->err_msg = NULL;
	if (fmt == NULL)
		return st;
	if ((msg = arena_alloc(res->a, LIM_ERR_MSG)) == NULL)
		return st;	/* the default message will do */
	va_start(ap, fmt);
	n = vsnprintf(msg, LIM_ERR_MSG, fmt, ap);
	va_end(ap);
	if (n >= 0)
		res->err_msg = msg;
	return st;
}

void
xrpc_error_write(struct xrpc_res *res, enum xrpc_status st)
{
	json_t		*j;
	const char	*name, *msg;

	st = xrpc_status_clamp(st);
	if (st == XRPC_OK)
		st = XRPC_ERR_INTERNAL;	/* an error path without an error */
	name = res->err_name != NULL ? res->err_name : xrpc_status_name(st);
	msg = st == XRPC_ERR_INTERNAL || res->err_msg == NULL ?
	    xrpc_status_message(st) : res->err_msg;
	buf_reset(&res->body);
	res->status = xrpc_status_http(st);
	res->content_type = XRPC_JSON_TYPE;
	/* Names and messages may hold any bytes a handler put there;
	 * jansson refuses invalid UTF-8, so fall back to the defaults. */
	j = json_pack("{s:s, s:s}", "error", name, "message", msg);
	if (j == NULL)
		j = json_pack("{s:s, s:s}", "error", xrpc_status_name(st),
		    "message", xrpc_status_message(st));
	if (j == NULL || xrpc_res_dump(res, j) == -1) {
		buf_reset(&res->body);
		(void)buf_puts(&res->body,
		    "{\"error\":\"InternalServerError\","
		    "\"message\":\"Internal Server Error\"}");
		res->status = 500;
	}
	json_decref(j);
	res->err_name = name;	/* for the access log */
}
