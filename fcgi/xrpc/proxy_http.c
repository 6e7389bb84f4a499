/*
 * proxy_http.c: the outbound HTTP side of the proxy (see proxy.h): one
 * libcurl easy handle per worker process, reused from request to request
 * so that keep-alive connections to the app view survive; the request
 * body streamed from FastCGI stdin (CURLOPT_READFUNCTION); the response
 * streamed to the client (write callback -> xrpc_res_write) or buffered;
 * the PDS_PROXY_* timeouts and size limit; SSRF protection (https only,
 * and every address checked as the socket is opened, which defeats DNS
 * rebinding); the reference's mapping of upstream failures to XRPC errors
 * (pipethrough.ts pipethroughStream, tryParsingError,
 * handleUpstreamRequestError).
 *
 * Does not own where a call goes or which headers it carries (proxy.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <fcgiapp.h>

#include "jwt.h"
#include "log.h"
#include "proxy.h"
#include "storectx.h"
#include "svcauth.h"
#include "upstream.h"
#include "util.h"
#include "xrpc_int.h"

#define UNREACHABLE	"Upstream service unreachable"

/* The worker's handles (never shared across fork(): pid checked).  The
 * multi handle owns the connection cache, so keep-alive connections live
 * from one request to the next. */
static CURL	*px_curl;
static CURLM	*px_multi;
static pid_t	 px_pid;

void
proxy_http_fini(void)
{
	if (px_pid == getpid()) {
		if (px_multi != NULL && px_curl != NULL)
			(void)curl_multi_remove_handle(px_multi, px_curl);
		curl_easy_cleanup(px_curl);
		(void)curl_multi_cleanup(px_multi);
	}
	px_curl = NULL;
	px_multi = NULL;
	px_pid = 0;
}

static CURL *
px_handle(void)
{
	if (px_curl != NULL && px_multi != NULL && px_pid == getpid()) {
		curl_easy_reset(px_curl);
		return px_curl;
	}
	px_curl = curl_easy_init();
	px_multi = curl_multi_init();
	if (px_curl == NULL || px_multi == NULL) {
		curl_easy_cleanup(px_curl);
		(void)curl_multi_cleanup(px_multi);
		px_curl = NULL;
		px_multi = NULL;
		return NULL;
	}
	px_pid = getpid();
	return px_curl;
}

/* ==== the state of one exchange ========================================== */

/* Response headers the reference forwards (responseHeaders()). */
enum px_hdr {
	PX_H_LENGTH, PX_H_ENCODING, PX_H_TYPE, PX_H_LANGUAGE,
	PX_H_REPO_REV, PX_H_LABELERS, PX_H_RETRY_AFTER, PX_H__MAX
};
static const char *const px_hdr_names[PX_H__MAX] = {
	[PX_H_LENGTH] = "Content-Length",
	[PX_H_ENCODING] = "Content-Encoding",
	[PX_H_TYPE] = "Content-Type",
	[PX_H_LANGUAGE] = "Content-Language",
	[PX_H_REPO_REV] = "atproto-repo-rev",
	[PX_H_LABELERS] = "atproto-content-labelers",
	[PX_H_RETRY_AFTER] = "retry-after",
};

struct px {
	struct xrpc_req		*req;
	struct xrpc_res		*res;
	const struct proxy_call	*call;
	const struct pds_config	*cfg;
	const char		*hv[PX_H__MAX];	/* forwarded values (arena) */
	long			 status;	/* of the final response */
	int			 headers_done;
	int64_t			 length;	/* Content-Length, -1 */
	int64_t			 received;	/* body bytes */
	struct buf		 err;		/* error body (bounded) */
	int64_t			 t_start, t_last; /* monotonic, us */
	int			 timed_out, oversize, client_gone;
	enum xrpc_status	 body_error;	/* reading the client's body */
	int			 raw_decided;	/* PROXY_RAW: kept or streamed */
	int			 raw_keep;	/* ... kept in res->body */
	int			 refused;	/* SSRF: address refused */
	char			 refused_ip[64];
};

/* ---- response headers --------------------------------------------------- */

/* A header value we pass on: printable ASCII and tabs, bounded. */
static int
px_value_ok(const char *v, size_t len)
{
	size_t	i;

	if (len > LIM_HEADER_LEN)
		return 0;
	for (i = 0; i < len; i++)
		if (((unsigned char)v[i] < 0x20 && v[i] != '\t') ||
		    (unsigned char)v[i] == 0x7f)
			return 0;
	return 1;
}

static void
px_header_line(struct px *x, const char *p, size_t len)
{
	const char	*colon, *v;
	size_t		 nlen, vlen, i;

	while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r'))
		len--;
	if (len == 0) {			/* the end of a header block */
		if (x->status == 0)
			(void)curl_easy_getinfo(px_curl, CURLINFO_RESPONSE_CODE,
			    &x->status);
		if (x->status >= 200)	/* not an interim 1xx block */
			x->headers_done = 1;
		x->t_last = util_mono_us();
		return;
	}
	if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {	/* a new status line */
		memset(x->hv, 0, sizeof(x->hv));
		x->status = 0;
		x->length = -1;
		return;
	}
	if ((colon = memchr(p, ':', len)) == NULL)
		return;
	nlen = (size_t)(colon - p);
	v = colon + 1;
	vlen = (size_t)(p + len - v);
	while (vlen > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		vlen--;
	}
	while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
	for (i = 0; i < PX_H__MAX; i++) {
		if (strlen(px_hdr_names[i]) != nlen ||
		    strncasecmp(px_hdr_names[i], p, nlen) != 0)
			continue;
		if (!px_value_ok(v, vlen) || vlen == 0)
			return;
		if (i == PX_H_LENGTH && util_int_parse(v, vlen, 0, INT64_MAX,
		    &x->length) == -1)
			return;
		/* undici joins repeated headers with ", " */
		if (x->hv[i] != NULL && i != PX_H_LENGTH)
			x->hv[i] = arena_printf(x->req->a, "%s, %.*s", x->hv[i],
			    (int)vlen, v);
		else
			x->hv[i] = arena_strndup(x->req->a, v, vlen);
		return;
	}
}

static size_t
px_on_header(char *p, size_t size, size_t n, void *arg)
{
	struct px	*x = arg;
	int64_t		 max = x->cfg->proxy_max_response;

	if (size != 1)
		return 0;
	px_header_line(x, p, n);
	/* undici refuses a declared length over maxResponseSize before
	 * any body byte */
	if (x->headers_done && x->status < 400 && max > 0 && x->length > max) {
		x->oversize = 1;
		return 0;
	}
	return n;
}

/* Puts the forwarded headers and the status on res (streamed modes). */
static int
px_res_headers(struct px *x)
{
	struct xrpc_res	*res = x->res;
	size_t		 i;

	if (x->call->mode == PROXY_STREAM)
		res->status = (int)x->status;
	else
		res->status = 200;
	res->content_type = x->hv[PX_H_TYPE];
	if (res->content_type == NULL && x->call->mode != PROXY_STREAM)
		res->content_type = "application/json";
	for (i = 0; i < PX_H__MAX; i++) {
		if (i == PX_H_TYPE || x->hv[i] == NULL)
			continue;
		if (xrpc_res_header(res, px_hdr_names[i], x->hv[i]) == -1)
			return -1;
	}
	return 0;
}

/* ---- response body ------------------------------------------------------ */

/* PROXY_RAW: keep the answer when it can be merged into (a repo rev
 * older than the account's, a JSON or unknown type, no content coding we
 * would have to undo). */
static void
px_raw_decide(struct px *x)
{
	const char	*enc = x->hv[PX_H_ENCODING];

	if (x->raw_decided)
		return;
	x->raw_decided = 1;
	x->raw_keep = x->hv[PX_H_REPO_REV] != NULL &&
	    (x->call->cur_rev == NULL ||
	    strcmp(x->hv[PX_H_REPO_REV], x->call->cur_rev) < 0) &&
	    upstream_is_json_type(x->hv[PX_H_TYPE]) != 0 &&
	    (enc == NULL || strcasecmp(enc, "identity") == 0) &&
	    x->length <= (int64_t)LIM_RAW_BUFFER;
}

/* Starts the streamed response (headers, then what was kept). */
static int
px_stream_start(struct px *x)
{
	struct buf	*kept = &x->res->body;

	if (px_res_headers(x) == -1 || xrpc_res_begin(x->res) == -1)
		return -1;
	if (x->call->mode == PROXY_RAW && kept->len > 0) {
		if (xrpc_res_write(x->res, kept->data, kept->len) == -1)
			return -1;
		buf_reset(kept);
	}
	return 0;
}

/* PROXY_RAW: keeps a chunk, or gives up keeping past LIM_RAW_BUFFER.
 * Returns 1 when kept, 0 to stream it, -1 on failure. */
static int
px_raw_keep(struct px *x, const char *p, size_t n)
{
	px_raw_decide(x);
	if (!x->raw_keep)
		return 0;
	if (x->res->body.len + n <= LIM_RAW_BUFFER &&
	    buf_append(&x->res->body, p, n) == 0)
		return 1;
	x->raw_keep = 0;	/* too big to merge: stream it after all */
	return 0;
}

static size_t
px_on_body(char *p, size_t size, size_t n, void *arg)
{
	struct px	*x = arg;
	int64_t		 max = x->cfg->proxy_max_response;

	if (size != 1)
		return 0;
	x->t_last = util_mono_us();
	if (x->status >= 400) {	/* kept for tryParsingError(); the rest is
				 * not needed */
		if (buf_append(&x->err, p, n) == -1)
			return 0;
		return n;
	}
	x->received += (int64_t)n;
	if (max > 0 && x->received > max) {
		x->oversize = 1;
		return 0;
	}
	if (x->call->mode == PROXY_BUFFER) {
		if (buf_append(x->call->out, p, n) == -1) {
			x->oversize = 1;
			return 0;
		}
		return n;
	}
	if (x->call->mode == PROXY_RAW && !x->res->started) {
		switch (px_raw_keep(x, p, n)) {
		case 1:
			return n;
		case -1:
			x->client_gone = 1;
			return 0;
		default:
			break;
		}
	}
	if (!x->res->started && px_stream_start(x) == -1) {
		x->client_gone = 1;
		return 0;
	}
	/* pass each chunk on now: a slow upstream's bytes must not wait in
	 * libfcgi's buffer */
	if (xrpc_res_write(x->res, p, n) == -1 ||
	    (!x->res->head_only && FCGX_FFlush(x->res->out) == -1)) {
		x->client_gone = 1;
		return 0;
	}
	return n;
}

/* ---- request body ------------------------------------------------------- */

static size_t
px_on_read(char *p, size_t size, size_t n, void *arg)
{
	struct px	*x = arg;
	size_t		 got = 0;

	if (size != 1)
		return CURL_READFUNC_ABORT;
	if ((x->body_error = xrpc_body_read(x->req, x->res, p, n, &got)) !=
	    XRPC_OK)
		return CURL_READFUNC_ABORT;
	return got;
}

/* ---- timeouts and SSRF -------------------------------------------------- */

/* undici's headersTimeout (until the response headers are in) and
 * bodyTimeout (the longest silence between body chunks): microseconds
 * left before the deadline that applies now, 0 when it passed, -1 when
 * none applies. */
static int64_t
px_time_left(const struct px *x, int64_t now)
{
	int64_t	limit, since;

	if (!x->headers_done) {
		limit = x->cfg->proxy_headers_timeout;
		since = x->t_start;
	} else {
		limit = x->cfg->proxy_body_timeout;
		since = x->t_last;
	}
	if (limit <= 0)
		return -1;
	return since + limit * 1000 > now ? since + limit * 1000 - now : 0;
}

/* The same check from libcurl's progress callback (called while data
 * moves), so a trickling transfer is judged too. */
static int
px_on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
    curl_off_t un)
{
	struct px	*x = arg;

	(void)dt;
	(void)dn;
	(void)ut;
	(void)un;
	if (px_time_left(x, util_mono_us()) == 0) {
		x->timed_out = 1;
		return 1;
	}
	return 0;
}

/* Runs the transfer on the multi handle, waking in time for the
 * deadlines (curl_easy_perform() would only look once a second). */
static CURLcode
px_perform(CURL *h, struct px *x)
{
	CURLcode	 cc = CURLE_OK;
	CURLMcode	 mc;
	CURLMsg		*msg;
	int64_t		 left;
	int		 running = 1, n, wait;

	if (curl_multi_add_handle(px_multi, h) != CURLM_OK)
		return CURLE_FAILED_INIT;
	while (running) {
		if ((mc = curl_multi_perform(px_multi, &running)) != CURLM_OK) {
			cc = CURLE_FAILED_INIT;
			break;
		}
		if (!running)
			break;
		if ((left = px_time_left(x, util_mono_us())) == 0) {
			x->timed_out = 1;
			cc = CURLE_OPERATION_TIMEDOUT;
			break;
		}
		wait = left < 0 || left > 1000000 ? 1000 :
		    (int)((left + 999) / 1000);
		if (curl_multi_poll(px_multi, NULL, 0, wait, NULL) != CURLM_OK) {
			cc = CURLE_FAILED_INIT;
			break;
		}
	}
	while ((msg = curl_multi_info_read(px_multi, &n)) != NULL)
		if (msg->msg == CURLMSG_DONE && msg->easy_handle == h)
			cc = msg->data.result;
	(void)curl_multi_remove_handle(px_multi, h);
	return cc;
}

/* Opens every outbound socket: with SSRF protection the address must be
 * public unicast (unicastLookup), checked on the address actually
 * connected to, after resolution. */
static curl_socket_t
px_on_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct px	*x = arg;
	int		 fd;

	if (purpose != CURLSOCKTYPE_IPCXN)
		return CURL_SOCKET_BAD;
	if (!x->cfg->ssrf_off && !upstream_addr_public(&a->addr,
	    a->addrlen)) {
		x->refused = 1;
		if (a->family == AF_INET)
			(void)inet_ntop(AF_INET, &((struct sockaddr_in *)
			    (void *)&a->addr)->sin_addr, x->refused_ip,
			    sizeof(x->refused_ip));
		else if (a->family == AF_INET6)
			(void)inet_ntop(AF_INET6, &((struct sockaddr_in6 *)
			    (void *)&a->addr)->sin6_addr, x->refused_ip,
			    sizeof(x->refused_ip));
		return CURL_SOCKET_BAD;
	}
	fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
	return fd == -1 ? CURL_SOCKET_BAD : fd;
}

/* ==== setting up the handle ============================================== */

static int
px_add(struct curl_slist **l, const char *name, const char *value)
{
	char			 line[LIM_HEADER_LEN + 64];
	struct curl_slist	*n;
	int			 w;

	if (value == NULL)
		return 0;
	if (!px_value_ok(value, strlen(value)))
		return 0;	/* never forward a header that could split */
	w = snprintf(line, sizeof(line), "%s: %s", name, value);
	if (w < 0 || (size_t)w >= sizeof(line))
		return 0;
	if ((n = curl_slist_append(*l, line)) == NULL)
		return -1;
	*l = n;
	return 0;
}

/* The client's headers we pass on (proxyHandler's list). */
static int
px_client_headers(struct px *x, struct curl_slist **l)
{
	struct xrpc_req	*req = x->req;

	if (px_add(l, "Accept-Language", xrpc_req_param(req,
	    "HTTP_ACCEPT_LANGUAGE")) == -1 ||
	    px_add(l, "atproto-accept-labelers", xrpc_req_param(req,
	    "HTTP_ATPROTO_ACCEPT_LABELERS")) == -1 ||
	    px_add(l, "x-bsky-topics", xrpc_req_param(req,
	    "HTTP_X_BSKY_TOPICS")) == -1)
		return -1;
	return 0;
}

static int
px_headers(struct px *x, const char *auth, struct curl_slist **l)
{
	const struct proxy_call	*c = x->call;
	struct curl_slist	*n;

	/* libcurl's defaults that undici does not send */
	if ((n = curl_slist_append(*l, "Accept:")) == NULL)
		return -1;
	*l = n;
	if ((n = curl_slist_append(*l, "Expect:")) == NULL)
		return -1;
	*l = n;
	if (px_add(l, "Accept-Encoding", c->accept_encoding) == -1 ||
	    (c->client_headers && px_client_headers(x, l) == -1) ||
	    px_add(l, "Authorization", auth) == -1)
		return -1;
	if (c->client_body && (px_add(l, "Content-Type",
	    xrpc_req_param(x->req, "CONTENT_TYPE")) == -1 ||
	    px_add(l, "Content-Encoding", xrpc_req_param(x->req,
	    "HTTP_CONTENT_ENCODING")) == -1))
		return -1;
	if (c->body != NULL && px_add(l, "Content-Type", c->body_type) == -1)
		return -1;
	return 0;
}

static int
px_body_opts(CURL *h, struct px *x)
{
	const struct proxy_call	*c = x->call;
	int			 bad = 0;

	if (strcmp(c->method, "POST") != 0)
		return 0;
	bad |= curl_easy_setopt(h, CURLOPT_POST, 1L) != CURLE_OK;
	if (c->client_body && x->req->content_length > 0) {
		bad |= curl_easy_setopt(h, CURLOPT_READFUNCTION, px_on_read) !=
		    CURLE_OK;
		bad |= curl_easy_setopt(h, CURLOPT_READDATA, x) != CURLE_OK;
		bad |= curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)x->req->content_length) != CURLE_OK;
	} else {
		bad |= curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->body != NULL ?
		    (const char *)c->body : "") != CURLE_OK;
		bad |= curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)(c->body != NULL ? c->bodylen : 0)) != CURLE_OK;
	}
	return bad ? -1 : 0;
}

static int
px_setup(CURL *h, struct px *x, const char *url, struct curl_slist *hdrs)
{
	const struct pds_config	*cfg = x->cfg;
	int			 bad = 0;

	bad |= curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, cfg->ssrf_off ?
	    "http,https" : "https") != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_PROXY, "") != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_HTTP_CONTENT_DECODING, 0L) !=
	    CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_HTTP_VERSION, cfg->proxy_allow_http2 ?
	    (long)CURL_HTTP_VERSION_2TLS : (long)CURL_HTTP_VERSION_1_1) !=
	    CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)(cfg->proxy_headers_timeout > 0 ?
	    cfg->proxy_headers_timeout : 0)) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, px_on_header) !=
	    CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_HEADERDATA, x) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, px_on_body) !=
	    CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_WRITEDATA, x) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, px_on_progress) !=
	    CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_XFERINFODATA, x) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, px_on_socket) !=
	    CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, x) != CURLE_OK;
	if (strcmp(x->call->method, "HEAD") == 0)
		bad |= curl_easy_setopt(h, CURLOPT_NOBODY, 1L) != CURLE_OK;
	return bad || px_body_opts(h, x) == -1 ? -1 : 0;
}

/* ==== outcomes =========================================================== */

/* pipethroughStream() on an upstream status >= 400: XRPCClientError
 * (500 becomes UpstreamFailure; other statuses go through
 * httpResponseCodeToEnum) turned into a server error by
 * XRPCError.fromError(). */
static enum xrpc_status
px_upstream_error(struct px *x)
{
	static const struct {
		long			 http;
		enum xrpc_status	 st;
	} map[] = {
		{ 400, XRPC_ERR_INVALID_REQUEST },
		{ 401, XRPC_ERR_AUTH_REQUIRED },
		{ 403, XRPC_ERR_FORBIDDEN },
		{ 404, XRPC_ERR_NOT_SUPPORTED },
		{ 406, XRPC_ERR_NOT_ACCEPTABLE },
		{ 413, XRPC_ERR_PAYLOAD_TOO_LARGE },
		{ 415, XRPC_ERR_UNSUPPORTED_MEDIA },
		{ 429, XRPC_ERR_RATE_LIMITED },
		{ 500, XRPC_ERR_UPSTREAM_FAILURE },
		{ 501, XRPC_ERR_NOT_IMPLEMENTED },
		{ 502, XRPC_ERR_UPSTREAM_FAILURE },
		{ 503, XRPC_ERR_NOT_ENOUGH_RESOURCES },
		{ 504, XRPC_ERR_UPSTREAM_TIMEOUT },
	};
	enum xrpc_status	 st;
	const char		*error, *message;
	size_t			 i;

	st = x->status < 500 ? XRPC_ERR_INVALID_REQUEST : XRPC_ERR_INTERNAL;
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].http == x->status)
			st = map[i].st;
	upstream_error_parse(x->hv[PX_H_TYPE], x->err.data, x->err.len,
	    x->req->a, &error, &message);
	if (error == NULL)
		error = xrpc_status_name(st);
	/* new Error(message || error || ...) */
	return xrpc_fail(x->res, st, error, "%s", message != NULL &&
	    message[0] != '\0' ? message : error);
}

/*
 * Cuts the client connection: a response that started cannot turn into an
 * error any more, and must not look complete (undici destroys the socket
 * in the same case).  Closing the FastCGI connection early is not enough:
 * nginx takes an end of stream without FCGI_END_REQUEST as a complete
 * response and keeps the client waiting for the missing bytes.  A record
 * with an invalid version is a protocol error to the web server ("upstream
 * sent unsupported FastCGI protocol version"), after which it closes the
 * client connection.  Every chunk was flushed (px_on_body), so the record
 * starts on a record boundary.
 */
static void
px_abort_client(struct px *x)
{
	static const uint8_t	bogus[8];	/* version 0 */

	if (x->req->fcgi != NULL && x->req->fcgi->ipcFd >= 0) {
		(void)FCGX_FFlush(x->res->out);
		(void)!write(x->req->fcgi->ipcFd, bogus, sizeof(bogus));
		(void)shutdown(x->req->fcgi->ipcFd, SHUT_RDWR);
	}
	x->res->io_error = 1;
}

/* Network errors a GET/HEAD is retried on (undici RetryAgent). */
static int
px_retryable(CURLcode cc, const struct px *x)
{
	if (x->headers_done || x->refused || x->timed_out ||
	    x->body_error != XRPC_OK || x->received > 0 || x->err.len > 0)
		return 0;
	return cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
	    cc == CURLE_SEND_ERROR || cc == CURLE_RECV_ERROR ||
	    cc == CURLE_GOT_NOTHING;
}

static void
px_sleep_ms(int64_t ms)
{
	struct timespec	ts;

	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static void
px_log_failure(const struct px *x, const char *origin, CURLcode cc)
{
	char	o[128];

	log_escape(o, sizeof(o), origin, strlen(origin));
	if (x->refused)
		log_warn("%s: %s: %s: refused address %s (SSRF protection)",
		    __func__, x->req->id, o, x->refused_ip);
	else if (x->timed_out)
		log_warn("%s: %s: %s: %s timeout", __func__, x->req->id, o,
		    x->headers_done ? "body" : "headers");
	else if (x->oversize)
		log_warn("%s: %s: %s: response over %lld bytes", __func__,
		    x->req->id, o, (long long)x->cfg->proxy_max_response);
	else
		log_warn("%s: %s: %s: %s", __func__, x->req->id, o,
		    curl_easy_strerror(cc));
}

/* Hands a kept PROXY_RAW answer's headers to the handler. */
static void
px_raw_result(const struct px *x, struct proxy_result *r)
{
	size_t	i;

	r->buffered = 1;
	r->rev = x->hv[PX_H_REPO_REV];
	r->ctype = x->hv[PX_H_TYPE];
	r->nhdr = 0;
	for (i = 0; i < PX_H__MAX && r->nhdr < PROXY_RESULT_HEADERS; i++) {
		if (i == PX_H_TYPE || i == PX_H_LENGTH || i == PX_H_ENCODING ||
		    x->hv[i] == NULL)
			continue;
		r->hdr_name[r->nhdr] = px_hdr_names[i];
		r->hdr_value[r->nhdr++] = x->hv[i];
	}
}

enum xrpc_status
proxy_result_apply(struct xrpc_res *res, const struct proxy_result *r)
{
	size_t	i;

	res->status = 200;
	res->content_type = r->ctype != NULL ? r->ctype : "application/json";
	for (i = 0; i < r->nhdr; i++)
		if (xrpc_res_header(res, r->hdr_name[i], r->hdr_value[i]) == -1)
			return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	return XRPC_OK;
}

/* After the transfer: the XRPC status of the exchange. */
static enum xrpc_status
px_outcome(struct px *x, const char *origin, CURLcode cc)
{
	int	ok = cc == CURLE_OK && !x->oversize && !x->timed_out;

	if (x->body_error != XRPC_OK)
		return x->body_error;	/* recorded by xrpc_body_read() */
	if (x->client_gone)
		return XRPC_OK;		/* the web server went away */
	if (x->headers_done && x->status >= 400)
		return px_upstream_error(x);	/* a truncated error body is
						 * still an error */
	if (!ok)
		px_log_failure(x, origin, cc);
	if (x->res->started) {
		if (!ok)
			px_abort_client(x);
		return XRPC_OK;
	}
	if (!ok || !x->headers_done)
		return xrpc_fail(x->res, XRPC_ERR_UPSTREAM_FAILURE, NULL,
		    UNREACHABLE);
	if (x->call->mode == PROXY_BUFFER) {
		x->res->status = (int)x->status;
		return XRPC_OK;
	}
	if (x->call->mode == PROXY_RAW) {
		px_raw_decide(x);
		if (x->raw_keep && x->call->result != NULL) {
			px_raw_result(x, x->call->result);
			return XRPC_OK;	/* the handler answers */
		}
	}
	/* an empty body: the headers still go out */
	if (px_stream_start(x) == -1)
		return XRPC_OK;		/* the web server went away */
	return XRPC_OK;
}

/* ==== one exchange ======================================================= */

/* The service JWT for the call, as "Bearer <jwt>" (arena), or NULL. */
static enum xrpc_status
px_auth(struct xrpc_req *req, struct xrpc_res *res,
    const struct proxy_call *c, const char **out)
{
	struct storectx		*ctx;
	struct buf		 tok;
	enum svcauth_err	 e;

	*out = NULL;
	if (c->iss == NULL)
		return XRPC_OK;
	if ((ctx = storectx_get(req->srv->cfg, req->srv->account)) == NULL)
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	buf_init(&tok, LIM_JWT_LEN + 1);
	e = svcauth_sign_for(ctx->actors, c->iss, c->aud, c->lxm, 0, &tok);
	if (e == SVCAUTH_OK)
		*out = arena_printf(req->a, "Bearer %s", (const char *)tok.data);
	buf_free(&tok);
	if (e != SVCAUTH_OK || *out == NULL) {
		log_error("%s: %s: cannot sign for %s: %s", __func__, req->id,
		    c->iss, svcauth_err_msg(e));
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	}
	return XRPC_OK;
}

/* One attempt: set up the handle, perform, judge. */
static enum xrpc_status
px_attempt(struct px *x, const char *url, const char *origin,
    const char *auth, int *retry)
{
	struct curl_slist	*hdrs = NULL;
	enum xrpc_status	 st;
	CURLcode		 cc;
	CURL			*h;

	*retry = 0;
	if ((h = px_handle()) == NULL || px_headers(x, auth, &hdrs) == -1 ||
	    px_setup(h, x, url, hdrs) == -1) {
		curl_slist_free_all(hdrs);
		log_error("%s: %s: libcurl setup failed", __func__, x->req->id);
		return xrpc_fail(x->res, XRPC_ERR_INTERNAL, NULL, NULL);
	}
	x->t_start = x->t_last = util_mono_us();
	cc = px_perform(h, x);
	curl_slist_free_all(hdrs);
	if (cc != CURLE_OK && px_retryable(cc, x)) {
		*retry = 1;
		px_log_failure(x, origin, cc);
		return XRPC_ERR_UPSTREAM_FAILURE;
	}
	st = px_outcome(x, origin, cc);
	return st;
}

static void
px_init(struct px *x, struct xrpc_req *req, struct xrpc_res *res,
    const struct proxy_call *call)
{
	memset(x, 0, sizeof(*x));
	x->req = req;
	x->res = res;
	x->call = call;
	x->cfg = req->srv->cfg;
	x->length = -1;
	buf_init(&x->err, LIM_PROXY_ERR_BODY);
}

enum xrpc_status
proxy_run(struct xrpc_req *req, struct xrpc_res *res,
    const struct proxy_target *t, const struct proxy_call *call)
{
	const char		*auth, *url;
	enum xrpc_status	 st;
	struct px		 x;
	int64_t			 wait = LIM_PROXY_RETRY_MIN_MS, tries = 0;
	int			 retry;
	int			 idem;

	if ((st = px_auth(req, res, call, &auth)) != XRPC_OK)
		return st;
	if ((url = arena_printf(req->a, "%s%s", t->origin, call->path)) ==
	    NULL)
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	if (call->client_body) {	/* the proxied body's bound: nginx's */
		req->body_limit = req->srv->cfg->blob_upload_limit;
		if (req->content_length > req->body_limit)
			return xrpc_fail(res, XRPC_ERR_PAYLOAD_TOO_LARGE, NULL,
			    "request entity too large");
	}
	idem = strcmp(call->method, "GET") == 0 ||
	    strcmp(call->method, "HEAD") == 0;
	for (;;) {
		px_init(&x, req, res, call);
		st = px_attempt(&x, url, t->origin, auth, &retry);
		buf_free(&x.err);
		if (!retry)
			return st;
		if (!idem || tries++ >= req->srv->cfg->proxy_max_retries)
			return xrpc_fail(res, XRPC_ERR_UPSTREAM_FAILURE, NULL,
			    UNREACHABLE);
		px_sleep_ms(wait);
		wait = wait * 2 > LIM_PROXY_RETRY_MAX_MS ?
		    LIM_PROXY_RETRY_MAX_MS : wait * 2;
	}
}
