/*
 * http.c: the HTTP client of pds-ddns, over libcurl.
 *
 * Owns: one request/answer exchange with hard limits (answer bytes,
 * connect and total time, http/https only, no redirects), the optional
 * AWS SigV4 signing that libcurl does itself (CURLOPT_AWS_SIGV4), and the
 * RFC 3986 percent-encoding SigV4 canonical queries need.  Does not log:
 * callers decide how a failure is reported.
 */
#include <string.h>
#include <sys/socket.h>

#include <curl/curl.h>

#include "cron.h"
#include "log.h"
#include "util.h"

static char	chttp_ua[64];

int
chttp_init(void)
{
	const curl_version_info_data	*vi;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_error("%s: curl_global_init failed", __func__);
		return -1;
	}
	vi = curl_version_info(CURLVERSION_NOW);
	/* ifconfig.me answers a browser-like agent with an HTML page; a
	 * curl agent gets the bare address. */
	(void)snprintf(chttp_ua, sizeof(chttp_ua), "curl/%s pds-cron",
	    vi != NULL && vi->version != NULL ? vi->version : "8");
	return 0;
}

void
chttp_fini(void)
{
	curl_global_cleanup();
}

struct chttp_sink {
	struct chttp_resp	*resp;
	int			 over;
};

static size_t
chttp_write(char *p, size_t size, size_t nmemb, void *arg)
{
	struct chttp_sink	*sk = arg;
	size_t			 n = size * nmemb;

	if (buf_append(&sk->resp->body, p, n) == -1) {
		sk->over = 1;
		return 0;	/* makes curl fail with CURLE_WRITE_ERROR */
	}
	return n;
}

static int
chttp_setup(CURL *c, const struct chttp_req *req, struct curl_slist **hl,
    struct chttp_sink *sk, char *errbuf)
{
	const char *const	*h;
	struct curl_slist	*n;
	CURLcode		 rc = CURLE_OK;

	for (h = req->headers; h != NULL && *h != NULL; h++) {
		if ((n = curl_slist_append(*hl, *h)) == NULL)
			return -1;
		*hl = n;
	}
	/* No "Expect:" override here: libcurl 7.88 would put the removed
	 * header into the SigV4 SignedHeaders list.  Bodies are far below
	 * libcurl's 100-continue threshold anyway. */
#define SET(o, v) do { if (rc == CURLE_OK) rc = curl_easy_setopt(c, o, v); } while (0)
	SET(CURLOPT_URL, req->url);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_CONNECTTIMEOUT, (long)LIM_DDNS_CONNECT_S);
	SET(CURLOPT_TIMEOUT, (long)LIM_DDNS_TIMEOUT_S);
	SET(CURLOPT_USERAGENT, chttp_ua);
	SET(CURLOPT_ERRORBUFFER, errbuf);
	SET(CURLOPT_WRITEFUNCTION, chttp_write);
	SET(CURLOPT_WRITEDATA, sk);
	SET(CURLOPT_HTTPHEADER, *hl);
	SET(CURLOPT_CUSTOMREQUEST, req->method);
	if (req->family == AF_INET)
		SET(CURLOPT_IPRESOLVE, (long)CURL_IPRESOLVE_V4);
	else if (req->family == AF_INET6)
		SET(CURLOPT_IPRESOLVE, (long)CURL_IPRESOLVE_V6);
	if (req->body != NULL) {
		SET(CURLOPT_POSTFIELDS, req->body);
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->bodylen);
	} else if (strcmp(req->method, "GET") == 0) {
		SET(CURLOPT_HTTPGET, 1L);
	}
	if (req->sigv4 != NULL) {
		SET(CURLOPT_AWS_SIGV4, req->sigv4);
		SET(CURLOPT_USERPWD, req->userpwd);
	}
#undef SET
	return rc == CURLE_OK ? 0 : -1;
}

int
chttp_do(const struct chttp_req *req, struct chttp_resp *resp)
{
	struct chttp_sink	 sk;
	struct curl_slist	*hl = NULL;
	char			 errbuf[CURL_ERROR_SIZE];
	CURL			*c = NULL;
	CURLcode		 rc;
	int			 ret = -1;

	memset(resp, 0, sizeof(*resp));
	buf_init(&resp->body, req->max);
	sk.resp = resp;
	sk.over = 0;
	errbuf[0] = '\0';
	if ((c = curl_easy_init()) == NULL ||
	    chttp_setup(c, req, &hl, &sk, errbuf) == -1) {
		(void)snprintf(resp->err, sizeof(resp->err),
		    "cannot set up the request");
		goto out;
	}
	rc = curl_easy_perform(c);
	if (sk.over) {
		(void)snprintf(resp->err, sizeof(resp->err),
		    "answer longer than %zu bytes", req->max);
		goto out;
	}
	if (rc != CURLE_OK) {
		(void)snprintf(resp->err, sizeof(resp->err), "%s",
		    errbuf[0] ? errbuf : curl_easy_strerror(rc));
		goto out;
	}
	(void)curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	if (buf_cstr(&resp->body) == -1) {
		(void)snprintf(resp->err, sizeof(resp->err),
		    "answer longer than %zu bytes", req->max);
		goto out;
	}
	ret = 0;
out:
	curl_slist_free_all(hl);
	if (c != NULL) {
		/* The secret was copied into the handle; it cannot be wiped
		 * there, but at least no further use keeps it. */
		(void)curl_easy_setopt(c, CURLOPT_USERPWD, "");
		curl_easy_cleanup(c);
	}
	return ret;
}

void
chttp_resp_free(struct chttp_resp *resp)
{
	if (resp == NULL)
		return;
	buf_free(&resp->body);
}

int
chttp_urlencode(struct buf *b, const char *s)
{
	static const char	hex[] = "0123456789ABCDEF";
	unsigned char		c;

	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		    c == '.' || c == '~') {
			if (buf_putc(b, c) == -1)
				return -1;
		} else if (buf_putc(b, '%') == -1 ||
		    buf_putc(b, (uint8_t)hex[c >> 4]) == -1 ||
		    buf_putc(b, (uint8_t)hex[c & 15]) == -1)
			return -1;
	}
	return 0;
}
