/*
 * dns_cloudflare.c: the Cloudflare provider of pds-ddns, over the v4 API
 * (developers.cloudflare.com/api, "DNS Records for a Zone"): GET
 * /zones?name= to find the zone, GET /zones/{id}/dns_records?name=&type=
 * to read, PUT to change the first record of a name, POST to create one,
 * DELETE for surplus records of the same name and type (an UPSERT leaves
 * exactly one, as Route53's does).
 *
 * The API token (CLOUDFLARE_API_TOKEN) goes out as a Bearer header; it is
 * wiped when freed and never logged.  A record's proxied flag is kept as
 * found; the TTL of a proxied record is Cloudflare's ("auto") and not
 * compared.  Owns the answer parsers (pure, over jansson; fuzzed by
 * tests/fuzz/fuzz_cloudflare.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cron.h"
#include "log.h"
#include "util.h"

#define CF_ENDPOINT	"https://api.cloudflare.com/client/v4"

/* Copies a JSON string member into a fixed field.  -1 if missing or too
 * long. */
static int
cf_str(json_t *o, const char *key, char *dst, size_t dstsz)
{
	json_t		*v = json_object_get(o, key);
	size_t		 len;

	if (!json_is_string(v) || (len = json_string_length(v)) >= dstsz ||
	    memchr(json_string_value(v), '\0', len) != NULL)
		return -1;
	memcpy(dst, json_string_value(v), len);
	dst[len] = '\0';
	return 0;
}

static int
cf_id_ok(const char *id)
{
	size_t	n = strlen(id);

	return n > 0 && strspn(id, "0123456789abcdefABCDEF") == n;
}

/* Fills err with the first API error ("code N: message"). */
static void
cf_api_error(json_t *root, char *err, size_t errsz)
{
	json_t		*e = json_array_get(json_object_get(root, "errors"), 0);
	const char	*m = json_string_value(json_object_get(e, "message"));
	char		 esc[200];

	if (m == NULL) {
		(void)snprintf(err, errsz, "API reported failure");
		return;
	}
	log_escape(esc, sizeof(esc), m, strlen(m));
	(void)snprintf(err, errsz, "code %lld: %s",
	    (long long)json_integer_value(json_object_get(e, "code")), esc);
}

static int
cf_record_parse(json_t *o, struct cf_record *r, char *err, size_t errsz)
{
	json_t		*ttl, *px;
	char		 name[LIM_DDNS_NAME_LEN + 2];

	memset(r, 0, sizeof(*r));
	if (!json_is_object(o) || cf_str(o, "id", r->id, sizeof(r->id)) == -1 ||
	    !cf_id_ok(r->id))
		return cron_fail(err, errsz, "record without a valid id");
	if (cf_str(o, "name", name, sizeof(name)) == -1 ||
	    ddns_name_norm(name, strlen(name), r->name) == -1)
		return cron_fail(err, errsz, "record with a bad name");
	if (cf_str(o, "type", r->type, sizeof(r->type)) == -1)
		return cron_fail(err, errsz, "record with a bad type");
	if (cf_str(o, "content", r->content, sizeof(r->content)) == -1)
		return cron_fail(err, errsz, "record with bad content");
	ttl = json_object_get(o, "ttl");
	if (!json_is_integer(ttl) || json_integer_value(ttl) < 1 ||
	    json_integer_value(ttl) > INT32_MAX)
		return cron_fail(err, errsz, "record with a bad ttl");
	r->ttl = json_integer_value(ttl);
	px = json_object_get(o, "proxied");
	if (px != NULL && !json_is_boolean(px))
		return cron_fail(err, errsz, "record with a bad proxied flag");
	r->proxied = json_is_true(px);
	return 0;
}

/* Loads the envelope; returns the root (caller decrefs) or NULL. */
static json_t *
cf_load(const char *p, size_t len, int *ok, char *err, size_t errsz)
{
	json_error_t	 je;
	json_t		*root, *s;

	if (len > LIM_DDNS_API_BODY) {
		(void)cron_fail(err, errsz, "answer over %u bytes",
		    LIM_DDNS_API_BODY);
		return NULL;
	}
	if ((root = json_loadb(p, len, JSON_REJECT_DUPLICATES, &je)) == NULL) {
		(void)cron_fail(err, errsz, "not JSON: line %d: %.80s", je.line,
		    je.text);
		return NULL;
	}
	s = json_object_get(root, "success");
	if (!json_is_object(root) || !json_is_boolean(s)) {
		(void)cron_fail(err, errsz, "not a Cloudflare API answer");
		json_decref(root);
		return NULL;
	}
	*ok = json_is_true(s);
	if (!*ok)
		cf_api_error(root, err, errsz);
	return root;
}

int
cf_answer_parse(const char *p, size_t len, struct cf_record *out,
    size_t max, size_t *n, char *err, size_t errsz)
{
	json_t	*root, *res, *v;
	size_t	 i;
	int	 ok = 0, rc = -1;

	if (n != NULL)
		*n = 0;
	if ((root = cf_load(p, len, &ok, err, errsz)) == NULL)
		return -1;
	if (!ok) {
		rc = 1;
		goto out;
	}
	if (out != NULL) {
		res = json_object_get(root, "result");
		if (!json_is_array(res)) {
			(void)cron_fail(err, errsz, "result is not a list");
			goto out;
		}
		json_array_foreach(res, i, v) {
			if (i >= max)
				break;
			if (cf_record_parse(v, &out[i], err, errsz) == -1)
				goto out;
			*n = i + 1;
		}
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}

int
cf_zone_parse(const char *p, size_t len, const char *zone, char *id,
    size_t idsz, char *err, size_t errsz)
{
	json_t	*root, *res, *v;
	char	 name[LIM_DDNS_NAME_LEN + 2], norm[LIM_DDNS_NAME_LEN + 1];
	size_t	 i;
	int	 ok = 0, rc = -1;

	if ((root = cf_load(p, len, &ok, err, errsz)) == NULL)
		return -1;
	if (!ok) {
		rc = 1;
		goto out;
	}
	if (!json_is_array(res = json_object_get(root, "result"))) {
		(void)cron_fail(err, errsz, "result is not a list");
		goto out;
	}
	rc = 1;
	(void)cron_fail(err, errsz, "no zone named %s", zone);
	json_array_foreach(res, i, v) {
		if (cf_str(v, "name", name, sizeof(name)) == -1 ||
		    ddns_name_norm(name, strlen(name), norm) == -1 ||
		    strcmp(norm, zone) != 0)
			continue;
		if (cf_str(v, "id", id, idsz) == -1 || !cf_id_ok(id)) {
			(void)cron_fail(err, errsz, "zone without a valid id");
			rc = -1;
			goto out;
		}
		rc = 0;
		break;
	}
out:
	json_decref(root);
	return rc;
}

/* ---- I/O ---------------------------------------------------------------- */

struct cf_priv {
	char	*authhdr;	/* "Authorization: Bearer ...", secret */
};

/* One call; 0 when the API answered success (resp kept), -1 otherwise
 * (logged, resp freed). */
static int
cf_call(struct ddns_provider *pv, const char *method, const char *pathq,
    const char *body, struct chttp_resp *resp, const char *what)
{
	struct cf_priv		*pr = pv->priv;
	struct chttp_req	 req;
	const char		*hdrs[3];
	char			 url[LIM_CRON_PATH], err[256];
	int			 n, rc;

	n = snprintf(url, sizeof(url), "%s%s", pv->endpoint, pathq);
	if (n < 0 || (size_t)n >= sizeof(url)) {
		log_error("cloudflare: %s: URL too long", what);
		return -1;
	}
	hdrs[0] = pr->authhdr;
	hdrs[1] = body != NULL ? "Content-Type: application/json" : NULL;
	hdrs[2] = NULL;
	memset(&req, 0, sizeof(req));
	req.method = method;
	req.url = url;
	req.headers = hdrs;
	req.body = body;
	req.bodylen = body != NULL ? strlen(body) : 0;
	req.max = LIM_DDNS_API_BODY;
	if (chttp_do(&req, resp) == -1) {
		log_error("cloudflare: %s: %s: %s", what, pv->endpoint,
		    resp->err);
		chttp_resp_free(resp);
		return -1;
	}
	rc = cf_answer_parse((const char *)resp->body.data, resp->body.len,
	    NULL, 0, NULL, err, sizeof(err));
	if (rc != 0 || resp->status < 200 || resp->status > 299) {
		log_error("cloudflare: %s: HTTP %ld: %s", what, resp->status,
		    rc != 0 ? err : "unexpected status");
		chttp_resp_free(resp);
		return -1;
	}
	return 0;
}

static int
cf_zone_find(struct ddns_provider *pv, const struct ddns_opts *o)
{
	struct chttp_resp	 resp;
	struct buf		 q;
	const char		*cand;
	char			 err[256];
	int			 rc = 1;

	cand = o->zone != NULL ? pv->zone : o->apex;
	if (strncmp(cand, "*.", 2) == 0)
		cand += 2;
	buf_init(&q, LIM_CRON_PATH);
	while (rc == 1 && cand != NULL && strchr(cand, '.') != NULL) {
		buf_reset(&q);
		if (buf_puts(&q, "/zones?name=") == -1 ||
		    chttp_urlencode(&q, cand) == -1 || buf_cstr(&q) == -1 ||
		    cf_call(pv, "GET", (const char *)q.data, NULL, &resp,
		    "list zones") == -1) {
			rc = -1;
			break;
		}
		rc = cf_zone_parse((const char *)resp.body.data, resp.body.len,
		    cand, pv->zone_id, sizeof(pv->zone_id), err, sizeof(err));
		chttp_resp_free(&resp);
		if (rc == -1)
			log_error("cloudflare: list zones: %s", err);
		if (rc == 0)
			(void)snprintf(pv->zone, sizeof(pv->zone), "%s", cand);
		cand = o->zone != NULL ? NULL : strchr(cand, '.') + 1;
	}
	buf_free(&q);
	if (rc == 1)
		log_error("cloudflare: no zone holds %s; give --zone-id",
		    o->zone != NULL ? pv->zone : o->apex);
	return rc == 0 ? 0 : -1;
}

static int
cf_open(struct ddns_provider *pv, const struct ddns_opts *o)
{
	struct cf_priv	*pr;
	const char	*tok, *ep = o->endpoint;
	size_t		 n;

	if ((pr = calloc(1, sizeof(*pr))) == NULL)
		return -1;
	pv->priv = pr;
	if ((tok = getenv("CLOUDFLARE_API_TOKEN")) == NULL || *tok == '\0') {
		log_error("cloudflare: CLOUDFLARE_API_TOKEN is not set");
		return -2;
	}
	if (strpbrk(tok, "\r\n") != NULL ||
	    asprintf(&pr->authhdr, "Authorization: Bearer %s", tok) == -1) {
		pr->authhdr = NULL;
		log_error("cloudflare: unusable CLOUDFLARE_API_TOKEN");
		return -2;
	}
	if (ep == NULL && (ep = getenv("CLOUDFLARE_API_BASE_URL")) != NULL &&
	    *ep == '\0')
		ep = NULL;
	if (ep == NULL)
		ep = CF_ENDPOINT;
	n = strlen(ep);
	while (n > 0 && ep[n - 1] == '/')
		n--;
	if (n == 0 || n >= sizeof(pv->endpoint) ||
	    (strncmp(ep, "https://", 8) != 0 && strncmp(ep, "http://", 7) != 0)) {
		log_error("cloudflare: the endpoint must be an http(s) URL");
		return -2;
	}
	memcpy(pv->endpoint, ep, n);
	pv->endpoint[n] = '\0';
	if (o->zone_id != NULL) {
		if (!cf_id_ok(o->zone_id) ||
		    strlen(o->zone_id) >= sizeof(pv->zone_id)) {
			log_error("cloudflare: bad zone id");
			return -2;
		}
		(void)snprintf(pv->zone_id, sizeof(pv->zone_id), "%s",
		    o->zone_id);
		return 0;
	}
	return cf_zone_find(pv, o);
}

static int
cf_get(struct ddns_provider *pv, const struct ddns_want *w,
    struct ddns_have *h)
{
	struct cf_record	 recs[LIM_DDNS_VALUES];
	struct chttp_resp	 resp;
	struct buf		 q;
	char			 err[256];
	size_t			 n = 0, i;
	int			 rc = -1;

	memset(h, 0, sizeof(*h));
	buf_init(&q, LIM_CRON_PATH);
	if (buf_printf(&q, "/zones/%s/dns_records?name=", pv->zone_id) == -1 ||
	    chttp_urlencode(&q, w->name) == -1 ||
	    buf_printf(&q, "&type=%s&per_page=%d", w->type,
	    LIM_DDNS_VALUES) == -1 || buf_cstr(&q) == -1) {
		log_error("cloudflare: query too long");
		goto out;
	}
	if (cf_call(pv, "GET", (const char *)q.data, NULL, &resp,
	    "list dns_records") == -1)
		goto out;
	if (cf_answer_parse((const char *)resp.body.data, resp.body.len, recs,
	    LIM_DDNS_VALUES, &n, err, sizeof(err)) != 0) {
		log_error("cloudflare: list dns_records: %s", err);
		chttp_resp_free(&resp);
		goto out;
	}
	chttp_resp_free(&resp);
	for (i = 0; i < n; i++) {
		/* The API filters by name and type; check anyway. */
		if (strcmp(recs[i].name, w->name) != 0 ||
		    strcmp(recs[i].type, w->type) != 0)
			continue;
		memcpy(h->ids[h->nids], recs[i].id, sizeof(h->ids[0]));
		memcpy(h->values[h->nvalues++], recs[i].content,
		    sizeof(h->values[0]));
		if (h->nids++ == 0) {
			h->ttl = recs[i].ttl;
			h->proxied = recs[i].proxied;
		}
	}
	h->exists = h->nids > 0;
	h->same = h->nids == 1 && ddns_ip_equal(w->addr, h->values[0]) &&
	    (h->proxied || h->ttl == w->ttl);
	rc = 0;
out:
	buf_free(&q);
	return rc;
}

static int
cf_apply_one(struct ddns_provider *pv, const struct ddns_want *w,
    const struct ddns_have *h)
{
	struct chttp_resp	 resp;
	char			 path[256], body[LIM_DDNS_NAME_LEN + 256];
	size_t			 i;
	int			 n;

	n = snprintf(body, sizeof(body), "{\"type\":\"%s\",\"name\":\"%s\","
	    "\"content\":\"%s\",\"ttl\":%lld,\"proxied\":%s}", w->type,
	    w->name, w->addr->text, (long long)(h->proxied ? 1 : w->ttl),
	    h->proxied ? "true" : "false");
	if (n < 0 || (size_t)n >= sizeof(body))
		return -1;
	if (h->nids > 0)
		(void)snprintf(path, sizeof(path), "/zones/%s/dns_records/%s",
		    pv->zone_id, h->ids[0]);
	else
		(void)snprintf(path, sizeof(path), "/zones/%s/dns_records",
		    pv->zone_id);
	if (cf_call(pv, h->nids > 0 ? "PUT" : "POST", path, body, &resp,
	    h->nids > 0 ? "update dns_record" : "create dns_record") == -1)
		return -1;
	chttp_resp_free(&resp);
	for (i = 1; i < h->nids; i++) {
		(void)snprintf(path, sizeof(path), "/zones/%s/dns_records/%s",
		    pv->zone_id, h->ids[i]);
		if (cf_call(pv, "DELETE", path, NULL, &resp,
		    "delete surplus dns_record") == -1)
			return -1;
		chttp_resp_free(&resp);
	}
	return 0;
}

static int
cf_apply(struct ddns_provider *pv, const struct ddns_want *w,
    const struct ddns_have *h, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (!h[i].same && cf_apply_one(pv, &w[i], &h[i]) == -1)
			return -1;
	return 0;
}

static void
cf_close(struct ddns_provider *pv)
{
	struct cf_priv	*pr = pv->priv;

	if (pr == NULL)
		return;
	if (pr->authhdr != NULL) {
		util_wipe(pr->authhdr, strlen(pr->authhdr));
		free(pr->authhdr);
	}
	free(pr);
	pv->priv = NULL;
}

const struct ddns_ops ddns_cloudflare_ops = {
	.name = "cloudflare",
	.open = cf_open,
	.get = cf_get,
	.apply = cf_apply,
	.close = cf_close,
};
