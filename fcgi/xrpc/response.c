/*
 * response.c: building and writing responses over the FastCGI stream.
 *
 * A handler fills status, headers and a buffered body (JSON or bytes),
 * and xrpc_res_finish() writes it with a Content-Length; or it streams
 * with xrpc_res_begin()/xrpc_res_write(); or it hands a file to the web
 * server (X-Accel-Redirect / X-Sendfile).  Header names and values are
 * checked here so no handler can split a response.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <fcgiapp.h>

#include "log.h"
#include "xrpc.h"
#include "xrpc_int.h"

void
xrpc_res_init(struct xrpc_res *res, const struct pds_config *cfg,
    struct arena *a, struct buf *body, struct FCGX_Stream *out,
    int head_only)
{
	struct buf	b = *body;	/* body may be &res->body */

	memset(res, 0, sizeof(*res));
	res->cfg = cfg;
	res->a = a;
	res->status = 200;
	res->body = b;	/* the worker's buffer, handed back later */
	buf_reset(&res->body);
	res->out = out;
	res->head_only = head_only;
}

const char *
xrpc_res_reason(int status)
{
	static const struct {
		int		 code;
		const char	*text;
	} reasons[] = {
		{ 200, "OK" }, { 201, "Created" }, { 204, "No Content" },
		{ 206, "Partial Content" }, { 301, "Moved Permanently" },
		{ 302, "Found" }, { 304, "Not Modified" },
		{ 400, "Bad Request" }, { 401, "Unauthorized" },
		{ 403, "Forbidden" }, { 404, "Not Found" },
		{ 405, "Method Not Allowed" }, { 406, "Not Acceptable" },
		{ 413, "Payload Too Large" },
		{ 415, "Unsupported Media Type" },
		{ 429, "Too Many Requests" },
		{ 500, "Internal Server Error" },
		{ 501, "Not Implemented" }, { 502, "Bad Gateway" },
		{ 503, "Service Unavailable" }, { 504, "Gateway Timeout" },
	};
	size_t	i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].code == status)
			return reasons[i].text;
	return status < 400 ? "OK" : "Error";
}

/* ---- headers ------------------------------------------------------------ */

static int
header_name_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr("!#$%&'*+-.^_`|~",
		    *s) == NULL)
			return 0;
	return 1;
}

static int
header_value_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s == '\r' || *s == '\n')
			return 0;
	return 1;
}

static int
header_put(struct xrpc_res *res, const char *name, const char *value,
    int replace)
{
	char	*v;
	size_t	 i;

	if (!header_name_ok(name) || !header_value_ok(value)) {
		log_error("%s: refused header %s", __func__, name);
		return -1;
	}
	if ((v = arena_strdup(res->a, value)) == NULL)
		return -1;
	if (replace)
		for (i = 0; i < res->nhdr; i++)
			if (strcasecmp(res->hdr[i].name, name) == 0) {
				res->hdr[i].value = v;
				return 0;
			}
	if (res->nhdr == LIM_RES_HEADERS) {
		log_error("%s: more than %d headers", __func__,
		    LIM_RES_HEADERS);
		return -1;
	}
	if ((res->hdr[res->nhdr].name = arena_strdup(res->a, name)) == NULL)
		return -1;
	res->hdr[res->nhdr++].value = v;
	return 0;
}

int
xrpc_res_header(struct xrpc_res *res, const char *name, const char *value)
{
	return header_put(res, name, value, 1);
}

int
xrpc_res_header_add(struct xrpc_res *res, const char *name,
    const char *value)
{
	return header_put(res, name, value, 0);
}

/* ---- buffered bodies ------------------------------------------------------ */

static int
res_dump_cb(const char *p, size_t n, void *arg)
{
	return buf_append(arg, p, n);
}

int
xrpc_res_dump(struct xrpc_res *res, const json_t *j)
{
	/* JSON_COMPACT gives JSON.stringify's separators; insertion order
	 * is kept; '/' and non-ASCII are written as is, as JS does. */
	return json_dump_callback(j, res_dump_cb, &res->body,
	    JSON_COMPACT | JSON_PRESERVE_ORDER);
}

enum xrpc_status
xrpc_res_json(struct xrpc_res *res, int status, const json_t *j)
{
	buf_reset(&res->body);
	if (j == NULL || xrpc_res_dump(res, j) == -1) {
		log_error("%s: cannot serialise the response", __func__);
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	}
	res->status = status;
	res->content_type = XRPC_JSON_TYPE;
	return XRPC_OK;
}

enum xrpc_status
xrpc_reply(struct xrpc_res *res, json_t *j)
{
	enum xrpc_status	st;

	st = xrpc_res_json(res, 200, j);
	json_decref(j);
	return st;
}

enum xrpc_status
xrpc_res_bytes(struct xrpc_res *res, int status, const char *content_type,
    const void *p, size_t len)
{
	buf_reset(&res->body);
	if (buf_append(&res->body, p, len) == -1) {
		log_error("%s: %zu bytes over the response limit", __func__,
		    len);
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	}
	res->status = status;
	if ((res->content_type = arena_strdup(res->a, content_type)) == NULL)
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	return XRPC_OK;
}

/* ---- writing -------------------------------------------------------------- */

static int
res_put(struct xrpc_res *res, const char *p, size_t n)
{
	if (res->io_error)
		return -1;
	while (n > 0) {
		size_t	step = n > LIM_IO_CHUNK ? LIM_IO_CHUNK : n;

		if (FCGX_PutStr(p, (int)step, res->out) != (int)step) {
			res->io_error = 1;
			return -1;
		}
		p += step;
		n -= step;
	}
	return 0;
}

static int
res_put_line(struct xrpc_res *res, const char *name, const char *value)
{
	return res_put(res, name, strlen(name)) == -1 ||
	    res_put(res, ": ", 2) == -1 ||
	    res_put(res, value, strlen(value)) == -1 ||
	    res_put(res, "\r\n", 2) == -1 ? -1 : 0;
}

/* Status line and headers; content_length < 0 adds none. */
static int
res_put_head(struct xrpc_res *res, long long content_length)
{
	char	line[64];
	size_t	i;
	int	n;

	n = snprintf(line, sizeof(line), "Status: %d %s\r\n", res->status,
	    xrpc_res_reason(res->status));
	if (n < 0 || (size_t)n >= sizeof(line) ||
	    res_put(res, line, (size_t)n) == -1)
		return -1;
	if (res->content_type != NULL &&
	    res_put_line(res, "Content-Type", res->content_type) == -1)
		return -1;
	for (i = 0; i < res->nhdr; i++)
		if (res_put_line(res, res->hdr[i].name, res->hdr[i].value) == -1)
			return -1;
	if (content_length >= 0) {
		(void)snprintf(line, sizeof(line), "%lld", content_length);
		if (res_put_line(res, "Content-Length", line) == -1)
			return -1;
	}
	res->started = 1;
	return res_put(res, "\r\n", 2);
}

int
xrpc_res_begin(struct xrpc_res *res)
{
	if (res->started)
		return res->io_error ? -1 : 0;
	return res_put_head(res, -1);
}

int
xrpc_res_write(struct xrpc_res *res, const void *p, size_t len)
{
	if (!res->started && xrpc_res_begin(res) == -1)
		return -1;
	if (res->head_only)
		return 0;
	if (res_put(res, p, len) == -1)
		return -1;
	res->bytes += len;
	return 0;
}

void
xrpc_res_finish(struct xrpc_res *res)
{
	if (res->started)
		return;
	if (res_put_head(res, (long long)res->body.len) == -1)
		return;
	if (!res->head_only && res->body.len > 0 &&
	    res_put(res, (const char *)res->body.data, res->body.len) == 0)
		res->bytes += res->body.len;
}

/* ---- files sent by the web server ----------------------------------------- */

/* A stored-file path: no "..", no control characters, no '%', '?', '#'
 * or '\\', as it is pasted into a header and a URI. */
static int
sendfile_path_ok(const char *p)
{
	if (*p == '\0' || strstr(p, "..") != NULL)
		return 0;
	for (; *p != '\0'; p++)
		if ((unsigned char)*p < 0x21 || (unsigned char)*p >= 0x7f ||
		    strchr("%?#\\\"", *p) != NULL)
			return 0;
	return 1;
}

int
xrpc_res_sendfile(struct xrpc_res *res, const char *rel, const char *abs)
{
	const struct pds_config	*cfg = res->cfg;
	const char		*mode;
	char			*v;

	mode = cfg != NULL ? cfg->blob_sendfile : "none";
	if (strcmp(mode, "none") == 0)
		return 1;
	if (strcmp(mode, "lighttpd") == 0) {
		if (abs == NULL || abs[0] != '/' || !sendfile_path_ok(abs))
			return -1;
		return xrpc_res_header(res, "X-Sendfile", abs);
	}
	if (rel == NULL || !sendfile_path_ok(rel))
		return -1;
	while (*rel == '/')
		rel++;
	if ((v = arena_printf(res->a, "%s%s", cfg->blob_sendfile_prefix,
	    rel)) == NULL)
		return -1;
	return xrpc_res_header(res, "X-Accel-Redirect", v);
}
