/*
 * fetch.c: bounded outbound HTTP requests with libcurl (see fetch.h).
 * Owns the curl easy handle setup and the size-capped write callback;
 * does not own what the responses mean (plc.c, resolve.c).
 */
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "fetch.h"
#include "pds_limits.h"

struct fetch_sink {
	struct buf	*out;
	size_t		 max;
	int		 over;		/* the cap was hit */
};

static size_t
fetch_write(char *p, size_t size, size_t n, void *arg)
{
	struct fetch_sink	*s = arg;
	size_t			 len;

	if (size != 0 && n > SIZE_MAX / size)
		return 0;
	len = size * n;
	if (len > s->max || s->out->len > s->max - len) {
		s->over = 1;
		return 0;	/* aborts the transfer */
	}
	if (buf_append(s->out, p, len) == -1) {
		s->over = 1;
		return 0;
	}
	return len;
}

static int
fetch_setup(CURL *c, const struct fetch_req *r, struct fetch_sink *sink,
    struct curl_slist **hdrs)
{
	const char	*protos = r->allow_http ? "http,https" : "https";
	char		 line[256];
	int		 bad = 0;

	if (r->content_type != NULL) {
		(void)snprintf(line, sizeof(line), "Content-Type: %s",
		    r->content_type);
		*hdrs = curl_slist_append(*hdrs, line);
		bad |= *hdrs == NULL;
	}
	if (r->accept != NULL) {
		(void)snprintf(line, sizeof(line), "Accept: %s", r->accept);
		*hdrs = curl_slist_append(*hdrs, line);
		bad |= *hdrs == NULL;
	}
	/* A POST body of any size is sent in full, without 100-continue. */
	*hdrs = curl_slist_append(*hdrs, "Expect:");
	bad |= *hdrs == NULL;
	bad |= curl_easy_setopt(c, CURLOPT_URL, r->url) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, protos) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, protos) !=
	    CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION,
	    r->redirects ? 1L : 0L) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_MAXREDIRS,
	    (long)LIM_FETCH_REDIRECTS) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)r->timeout_ms) !=
	    CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_PROXY, "") != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_USERAGENT, "pds-fcgi") != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_HTTPHEADER, *hdrs) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fetch_write) !=
	    CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_WRITEDATA, sink) != CURLE_OK;
	if (r->method != NULL && strcmp(r->method, "POST") == 0) {
		bad |= curl_easy_setopt(c, CURLOPT_POST, 1L) != CURLE_OK;
		bad |= curl_easy_setopt(c, CURLOPT_POSTFIELDS,
		    r->body != NULL ? r->body : "") != CURLE_OK;
		bad |= curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)r->bodylen) != CURLE_OK;
	}
	return bad ? -1 : 0;
}

int
fetch_do(const struct fetch_req *r, struct buf *out, long *status,
    char *err, size_t errsz)
{
	struct fetch_sink	 sink = { out, r->max_bytes, 0 };
	struct curl_slist	*hdrs = NULL;
	CURL			*c;
	CURLcode		 cc;
	int			 rc = -1;

	*status = 0;
	buf_reset(out);
	if ((c = curl_easy_init()) == NULL) {
		(void)snprintf(err, errsz, "curl_easy_init failed");
		return -1;
	}
	if (fetch_setup(c, r, &sink, &hdrs) == -1) {
		(void)snprintf(err, errsz, "curl setup failed");
		goto out;
	}
	cc = curl_easy_perform(c);
	if (sink.over) {
		(void)snprintf(err, errsz, "response over %zu bytes",
		    r->max_bytes);
		goto out;
	}
	if (cc != CURLE_OK) {
		(void)snprintf(err, errsz, "%s", curl_easy_strerror(cc));
		goto out;
	}
	if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status) != CURLE_OK) {
		(void)snprintf(err, errsz, "no response code");
		goto out;
	}
	rc = 0;
out:
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	return rc;
}
