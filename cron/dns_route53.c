/*
 * dns_route53.c: the Route53 provider of pds-ddns, over the REST-XML API
 * version 2013-04-01 (docs.aws.amazon.com/Route53/latest/APIReference):
 * ListHostedZonesByName to find the zone, ListResourceRecordSets to read
 * each record set, one ChangeResourceRecordSets batch of UPSERTs to fix
 * the ones that differ.
 *
 * Requests are signed with AWS SigV4 by libcurl (CURLOPT_AWS_SIGV4
 * "aws:amz:us-east-1:route53").  libcurl 7.88 signs the query string as
 * given, so every query here is written already canonical: keys in sorted
 * order, values RFC 3986 encoded.  A wildcard name goes out with a
 * literal '*' (%2A in a query) and comes back as "\052"; names are
 * compared after ddns_name_unescape().
 *
 * Owns: the answer parsers (pure, fuzzed by tests/fuzz/fuzz_route53.c)
 * and the request XML.  Credentials come from awscred.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cron.h"
#include "log.h"
#include "util.h"

#define R53_NS		"https://route53.amazonaws.com/doc/2013-04-01/"
#define R53_API		"/2013-04-01"
#define R53_SIGV4	"aws:amz:us-east-1:route53"
#define R53_ENDPOINT	"https://route53.amazonaws.com"
#define R53_ZONE_PAGE	"10"	/* zones read per lookup */

/* Copies text into a fixed field; -1 when it does not fit. */
static int
r53_copy(char *dst, size_t dstsz, const char *s, size_t len)
{
	if (len >= dstsz)
		return -1;
	memcpy(dst, s, len);
	dst[len] = '\0';
	return 0;
}

/* ---- ListResourceRecordSets ----------------------------------------- */

struct r53_rr_st {
	struct r53_rrset	*out;
	size_t			 max, n;
	int			 in;	/* inside a ResourceRecordSet */
	int			 root_ok;
	char			*err;
	size_t			 errsz;
};

static int
r53_rr_text(struct r53_rr_st *st, const struct cxml_event *ev)
{
	struct r53_rrset	*r = &st->out[st->n];
	int64_t			 ttl;

	if (ev->depth == 4 && strcmp(ev->name, "Name") == 0) {
		if (ddns_name_unescape(ev->text, ev->textlen, r->name) == -1)
			return cron_fail(st->err, st->errsz, "bad record name");
	} else if (ev->depth == 4 && strcmp(ev->name, "Type") == 0) {
		if (r53_copy(r->type, sizeof(r->type), ev->text,
		    ev->textlen) == -1)
			return cron_fail(st->err, st->errsz, "bad record type");
	} else if (ev->depth == 4 && strcmp(ev->name, "TTL") == 0) {
		if (util_int_parse(ev->text, ev->textlen, 0, INT32_MAX,
		    &ttl) == -1)
			return cron_fail(st->err, st->errsz, "bad TTL");
		r->ttl = ttl;
	} else if (ev->depth == 4 && strcmp(ev->name, "SetIdentifier") == 0) {
		r->set_id = 1;
	} else if (ev->depth == 6 && strcmp(ev->name, "Value") == 0) {
		if (r->nvalues >= LIM_DDNS_VALUES)
			return 0;	/* more than we compare: differs */
		if (r53_copy(r->values[r->nvalues], sizeof(r->values[0]),
		    ev->text, ev->textlen) == -1)
			return cron_fail(st->err, st->errsz, "value too long");
		r->nvalues++;
	}
	return 0;
}

static int
r53_rr_cb(const struct cxml_event *ev, void *arg)
{
	struct r53_rr_st	*st = arg;

	if (ev->depth == 1 && ev->ev == CXML_OPEN) {
		if (strcmp(ev->name, "ListResourceRecordSetsResponse") != 0)
			return cron_fail(st->err, st->errsz, "unexpected root "
			    "element");
		st->root_ok = 1;
		return 0;
	}
	if (ev->depth == 3 && strcmp(ev->name, "ResourceRecordSet") == 0) {
		if (ev->ev == CXML_OPEN) {
			if (st->n >= st->max)
				return 0;
			memset(&st->out[st->n], 0, sizeof(st->out[0]));
			st->out[st->n].ttl = -1;
			st->in = 1;
		} else if (ev->ev == CXML_CLOSE && st->in) {
			if (st->out[st->n].name[0] == '\0' ||
			    st->out[st->n].type[0] == '\0')
				return cron_fail(st->err, st->errsz, "record set "
				    "without Name or Type");
			st->in = 0;
			st->n++;
		}
		return 0;
	}
	if (!st->in)
		return 0;
	if (ev->ev == CXML_OPEN && ev->depth == 4 &&
	    strcmp(ev->name, "AliasTarget") == 0)
		st->out[st->n].alias = 1;
	if (ev->ev == CXML_TEXT)
		return r53_rr_text(st, ev);
	return 0;
}

int
r53_rrsets_parse(const char *p, size_t len, struct r53_rrset *out,
    size_t max, size_t *n, char *err, size_t errsz)
{
	struct r53_rr_st	st;

	memset(&st, 0, sizeof(st));
	st.out = out;
	st.max = max;
	st.err = err;
	st.errsz = errsz;
	*n = 0;
	if (cxml_scan(p, len, r53_rr_cb, &st, err, errsz) == -1)
		return -1;
	if (!st.root_ok)
		return cron_fail(err, errsz, "not a ListResourceRecordSets "
		    "answer");
	*n = st.n;
	return 0;
}

/* ---- ListHostedZonesByName ------------------------------------------- */

struct r53_zone_st {
	const char	*want;
	char		 name[LIM_DDNS_NAME_LEN + 1];
	char		 id[128];
	int		 private_zone;
	int		 in, found, root_ok;
	char		*out;
	size_t		 outsz;
	char		*err;
	size_t		 errsz;
};

static int
r53_zone_text(struct r53_zone_st *st, const struct cxml_event *ev)
{
	const char	*id = ev->text;
	size_t		 len = ev->textlen, i;

	if (ev->depth == 4 && strcmp(ev->name, "Id") == 0) {
		if (len > 12 && memcmp(id, "/hostedzone/", 12) == 0) {
			id += 12;
			len -= 12;
		}
		for (i = 0; i < len; i++)
			if (!((id[i] >= 'A' && id[i] <= 'Z') ||
			    (id[i] >= 'a' && id[i] <= 'z') ||
			    (id[i] >= '0' && id[i] <= '9')))
				return cron_fail(st->err, st->errsz, "bad zone "
				    "id");
		if (len == 0 || r53_copy(st->id, sizeof(st->id), id, len) == -1)
			return cron_fail(st->err, st->errsz, "bad zone id");
	} else if (ev->depth == 4 && strcmp(ev->name, "Name") == 0) {
		if (ddns_name_unescape(ev->text, ev->textlen, st->name) == -1)
			return cron_fail(st->err, st->errsz, "bad zone name");
	} else if (ev->depth == 5 && strcmp(ev->name, "PrivateZone") == 0) {
		st->private_zone = ev->textlen == 4 &&
		    memcmp(ev->text, "true", 4) == 0;
	}
	return 0;
}

static int
r53_zone_cb(const struct cxml_event *ev, void *arg)
{
	struct r53_zone_st	*st = arg;

	if (ev->depth == 1 && ev->ev == CXML_OPEN) {
		if (strcmp(ev->name, "ListHostedZonesByNameResponse") != 0)
			return cron_fail(st->err, st->errsz, "unexpected root "
			    "element");
		st->root_ok = 1;
		return 0;
	}
	if (ev->depth == 3 && strcmp(ev->name, "HostedZone") == 0) {
		if (ev->ev == CXML_OPEN) {
			st->in = 1;
			st->name[0] = st->id[0] = '\0';
			st->private_zone = 0;
		} else if (ev->ev == CXML_CLOSE) {
			st->in = 0;
			if (!st->found && !st->private_zone &&
			    st->id[0] != '\0' &&
			    strcmp(st->name, st->want) == 0) {
				if (r53_copy(st->out, st->outsz, st->id,
				    strlen(st->id)) == -1)
					return cron_fail(st->err, st->errsz,
					    "zone id too long");
				st->found = 1;
			}
		}
		return 0;
	}
	if (st->in && ev->ev == CXML_TEXT)
		return r53_zone_text(st, ev);
	return 0;
}

int
r53_zone_parse(const char *p, size_t len, const char *zone, char *id,
    size_t idsz, char *err, size_t errsz)
{
	struct r53_zone_st	st;

	memset(&st, 0, sizeof(st));
	st.want = zone;
	st.out = id;
	st.outsz = idsz;
	st.err = err;
	st.errsz = errsz;
	if (cxml_scan(p, len, r53_zone_cb, &st, err, errsz) == -1)
		return -1;
	if (!st.root_ok)
		return cron_fail(err, errsz, "not a ListHostedZonesByName "
		    "answer");
	return st.found ? 0 : 1;
}

/* ---- ErrorResponse ---------------------------------------------------- */

struct r53_err_st {
	char	*code, *msg;
	size_t	 codesz, msgsz;
	int	 root_ok;
};

static int
r53_err_cb(const struct cxml_event *ev, void *arg)
{
	struct r53_err_st	*st = arg;
	size_t			 n;

	if (ev->depth == 1 && ev->ev == CXML_OPEN)
		st->root_ok = strcmp(ev->name, "ErrorResponse") == 0;
	if (ev->ev != CXML_TEXT || ev->depth != 3)
		return 0;
	if (strcmp(ev->name, "Code") == 0 && st->codesz > 0) {
		n = ev->textlen < st->codesz ? ev->textlen : st->codesz - 1;
		memcpy(st->code, ev->text, n);
		st->code[n] = '\0';
	} else if (strcmp(ev->name, "Message") == 0 && st->msgsz > 0) {
		n = ev->textlen < st->msgsz ? ev->textlen : st->msgsz - 1;
		memcpy(st->msg, ev->text, n);
		st->msg[n] = '\0';
	}
	return 0;
}

int
r53_error_parse(const char *p, size_t len, char *code, size_t codesz,
    char *msg, size_t msgsz)
{
	struct r53_err_st	st;
	char			err[64];

	if (codesz > 0)
		code[0] = '\0';
	if (msgsz > 0)
		msg[0] = '\0';
	memset(&st, 0, sizeof(st));
	st.code = code;
	st.codesz = codesz;
	st.msg = msg;
	st.msgsz = msgsz;
	if (cxml_scan(p, len, r53_err_cb, &st, err, sizeof(err)) == -1 ||
	    !st.root_ok || code[0] == '\0')
		return -1;
	return 0;
}

/* ---- ChangeResourceRecordSets ----------------------------------------- */

int
r53_change_write(struct buf *b, const struct ddns_want *w,
    const struct ddns_have *h, size_t n)
{
	size_t	i;

	/* Names are checked LDH labels (ddns_name_norm) and values are
	 * printed addresses, so nothing here needs XML escaping. */
	if (buf_printf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<ChangeResourceRecordSetsRequest xmlns=\"%s\"><ChangeBatch>"
	    "<Comment>pds-ddns</Comment><Changes>", R53_NS) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (h[i].same)
			continue;
		if (buf_printf(b, "<Change><Action>UPSERT</Action>"
		    "<ResourceRecordSet><Name>%s.</Name><Type>%s</Type>"
		    "<TTL>%lld</TTL><ResourceRecords><ResourceRecord>"
		    "<Value>%s</Value></ResourceRecord></ResourceRecords>"
		    "</ResourceRecordSet></Change>", w[i].name, w[i].type,
		    (long long)w[i].ttl, w[i].addr->text) == -1)
			return -1;
	}
	return buf_puts(b, "</Changes></ChangeBatch>"
	    "</ChangeResourceRecordSetsRequest>");
}

/* ---- I/O ---------------------------------------------------------------- */

struct r53_priv {
	struct awscred	 cred;
	char		*userpwd;	/* "id:secret", secret */
	char		*tokhdr;	/* "X-Amz-Security-Token: ...", secret */
};

static void
r53_secret_free(char **s)
{
	if (*s != NULL) {
		util_wipe(*s, strlen(*s));
		free(*s);
		*s = NULL;
	}
}

/* Logs a failed call: HTTP status plus AWS's error code and message. */
static void
r53_log_fail(const char *what, const struct chttp_resp *resp)
{
	char	code[64], msg[256], ecode[128], emsg[300];

	if (r53_error_parse((const char *)resp->body.data, resp->body.len,
	    code, sizeof(code), msg, sizeof(msg)) == 0) {
		log_escape(ecode, sizeof(ecode), code, strlen(code));
		log_escape(emsg, sizeof(emsg), msg, strlen(msg));
		log_error("route53: %s: HTTP %ld %s: %s", what, resp->status,
		    ecode, emsg);
	} else {
		log_escape(emsg, sizeof(emsg), resp->body.data,
		    resp->body.len < 200 ? resp->body.len : 200);
		log_error("route53: %s: HTTP %ld: %s", what, resp->status,
		    emsg);
	}
}

/* One signed call; 0 when the answer is 2xx (resp kept for parsing), -1
 * otherwise (logged; resp freed). */
static int
r53_call(struct ddns_provider *pv, const char *method, const char *pathq,
    const struct buf *body, struct chttp_resp *resp, const char *what)
{
	struct r53_priv		*pr = pv->priv;
	struct chttp_req	 req;
	const char		*hdrs[3];
	char			 url[LIM_CRON_PATH];
	size_t			 nh = 0;
	int			 n;

	n = snprintf(url, sizeof(url), "%s%s", pv->endpoint, pathq);
	if (n < 0 || (size_t)n >= sizeof(url)) {
		log_error("route53: %s: URL too long", what);
		return -1;
	}
	if (pr->tokhdr != NULL)
		hdrs[nh++] = pr->tokhdr;
	if (body != NULL)
		hdrs[nh++] = "Content-Type: application/xml";
	hdrs[nh] = NULL;
	memset(&req, 0, sizeof(req));
	req.method = method;
	req.url = url;
	req.headers = hdrs;
	req.body = body != NULL ? body->data : NULL;
	req.bodylen = body != NULL ? body->len : 0;
	req.sigv4 = R53_SIGV4;
	req.userpwd = pr->userpwd;
	req.max = LIM_DDNS_API_BODY;
	if (chttp_do(&req, resp) == -1) {
		log_error("route53: %s: %s: %s", what, pv->endpoint,
		    resp->err);
		chttp_resp_free(resp);
		return -1;
	}
	if (resp->status < 200 || resp->status > 299) {
		r53_log_fail(what, resp);
		chttp_resp_free(resp);
		return -1;
	}
	return 0;
}

/* Tries one zone name with ListHostedZonesByName: 0 found, 1 not, -1. */
static int
r53_zone_try(struct ddns_provider *pv, const char *zone)
{
	struct chttp_resp	 resp;
	struct buf		 q;
	char			 err[128];
	int			 rc = -1;

	buf_init(&q, LIM_CRON_PATH);
	/* Sorted keys: dnsname < maxitems. */
	if (buf_puts(&q, R53_API "/hostedzonesbyname?dnsname=") == -1 ||
	    chttp_urlencode(&q, zone) == -1 ||
	    buf_puts(&q, "&maxitems=" R53_ZONE_PAGE) == -1 ||
	    buf_cstr(&q) == -1) {
		log_error("route53: zone query too long");
		goto out;
	}
	if (r53_call(pv, "GET", (const char *)q.data, NULL, &resp,
	    "ListHostedZonesByName") == -1)
		goto out;
	rc = r53_zone_parse((const char *)resp.body.data, resp.body.len, zone,
	    pv->zone_id, sizeof(pv->zone_id), err, sizeof(err));
	if (rc == -1)
		log_error("route53: ListHostedZonesByName: %s", err);
	chttp_resp_free(&resp);
out:
	buf_free(&q);
	return rc;
}

/* Finds the hosted zone: the given name, else the apex and each parent
 * with at least two labels, most specific first. */
static int
r53_zone_find(struct ddns_provider *pv, const struct ddns_opts *o)
{
	const char	*cand;
	int		 rc;

	if (o->zone != NULL) {
		if ((rc = r53_zone_try(pv, pv->zone)) == 1)
			log_error("route53: no public hosted zone named %s",
			    pv->zone);
		return rc == 0 ? 0 : -1;
	}
	cand = o->apex;
	if (strncmp(cand, "*.", 2) == 0)
		cand += 2;
	while (cand != NULL && strchr(cand, '.') != NULL) {
		if ((rc = r53_zone_try(pv, cand)) == -1)
			return -1;
		if (rc == 0) {
			(void)snprintf(pv->zone, sizeof(pv->zone), "%s", cand);
			return 0;
		}
		cand = strchr(cand, '.') + 1;
	}
	log_error("route53: no public hosted zone holds %s; give --zone-id",
	    o->apex);
	return -1;
}

static int
r53_open(struct ddns_provider *pv, const struct ddns_opts *o)
{
	struct r53_priv	*pr;
	const char	*ep = o->endpoint;
	size_t		 n;

	if ((pr = calloc(1, sizeof(*pr))) == NULL)
		return -1;
	pv->priv = pr;
	if (awscred_load(&pr->cred) == -1)
		return -2;
	if (asprintf(&pr->userpwd, "%s:%s", pr->cred.key_id,
	    pr->cred.secret) == -1 || (pr->cred.token != NULL &&
	    asprintf(&pr->tokhdr, "X-Amz-Security-Token: %s",
	    pr->cred.token) == -1)) {
		pr->userpwd = pr->tokhdr = NULL;
		log_error("route53: out of memory");
		return -1;
	}
	if (ep == NULL && (ep = getenv("AWS_ENDPOINT_URL_ROUTE_53")) != NULL &&
	    *ep == '\0')
		ep = NULL;
	if (ep == NULL && (ep = getenv("AWS_ENDPOINT_URL")) != NULL &&
	    *ep == '\0')
		ep = NULL;
	if (ep == NULL)
		ep = R53_ENDPOINT;
	n = strlen(ep);
	while (n > 0 && ep[n - 1] == '/')
		n--;
	if (n == 0 || n >= sizeof(pv->endpoint) ||
	    (strncmp(ep, "https://", 8) != 0 && strncmp(ep, "http://", 7) != 0)) {
		log_error("route53: the endpoint must be an http(s) URL");
		return -2;
	}
	memcpy(pv->endpoint, ep, n);
	pv->endpoint[n] = '\0';
	if (o->zone_id != NULL) {
		const char *id = o->zone_id;

		if (strncmp(id, "/hostedzone/", 12) == 0)
			id += 12;
		if (*id == '\0' || strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789") != strlen(id) ||
		    strlen(id) >= sizeof(pv->zone_id)) {
			log_error("route53: bad hosted zone id");
			return -2;
		}
		(void)snprintf(pv->zone_id, sizeof(pv->zone_id), "%s", id);
		return 0;
	}
	return r53_zone_find(pv, o);
}

/* Lists the first record set at or after (name, type); name is sent as
 * given ("*" or "\\052" for a wildcard).  Returns 1 and *rr when that set
 * is (want, type), 0 when not, -1 on error. */
static int
r53_list_one(struct ddns_provider *pv, const char *name, const char *want,
    const char *type, struct r53_rrset *rr)
{
	struct chttp_resp	 resp;
	struct buf		 q;
	char			 err[128];
	size_t			 n = 0;
	int			 rc = -1;

	buf_init(&q, LIM_CRON_PATH);
	/* Sorted keys: maxitems < name < type. */
	if (buf_printf(&q, R53_API "/hostedzone/%s/rrset?maxitems=1&name=",
	    pv->zone_id) == -1 || chttp_urlencode(&q, name) == -1 ||
	    buf_printf(&q, "&type=%s", type) == -1 || buf_cstr(&q) == -1) {
		log_error("route53: query too long");
		goto out;
	}
	if (r53_call(pv, "GET", (const char *)q.data, NULL, &resp,
	    "ListResourceRecordSets") == -1)
		goto out;
	rc = r53_rrsets_parse((const char *)resp.body.data, resp.body.len, rr,
	    1, &n, err, sizeof(err));
	chttp_resp_free(&resp);
	if (rc == -1) {
		log_error("route53: ListResourceRecordSets: %s", err);
		goto out;
	}
	/* The listing starts at (name, type): the first set is ours only
	 * when both match. */
	rc = n == 1 && strcmp(rr->name, want) == 0 &&
	    strcmp(rr->type, type) == 0;
out:
	buf_free(&q);
	return rc;
}

static int
r53_get(struct ddns_provider *pv, const struct ddns_want *w,
    struct ddns_have *h)
{
	struct r53_rrset	 rr;
	char			 esc[LIM_DDNS_NAME_LEN + 4];
	size_t			 i;
	int			 r;

	memset(h, 0, sizeof(*h));
	r = r53_list_one(pv, w->name, w->name, w->type, &rr);
	/* A wildcard goes out with a literal '*' (%2A).  Should the listing
	 * not start at it, ask again with Route53's own \052 spelling, so a
	 * record that exists is never taken for a missing one. */
	if (r == 0 && strncmp(w->name, "*.", 2) == 0) {
		(void)snprintf(esc, sizeof(esc), "\\052%s", w->name + 1);
		r = r53_list_one(pv, esc, w->name, w->type, &rr);
	}
	if (r == -1)
		return -1;
	if (r == 1) {
		h->exists = 1;
		h->ttl = rr.ttl;
		h->nvalues = rr.nvalues;
		for (i = 0; i < rr.nvalues; i++)
			memcpy(h->values[i], rr.values[i], sizeof(h->values[i]));
		h->same = !rr.alias && !rr.set_id && rr.nvalues == 1 &&
		    rr.ttl == w->ttl && ddns_ip_equal(w->addr, rr.values[0]);
	}
	return 0;
}

static int
r53_apply(struct ddns_provider *pv, const struct ddns_want *w,
    const struct ddns_have *h, size_t n)
{
	struct chttp_resp	 resp;
	struct buf		 body;
	char			 path[256];
	int			 rc = -1;

	buf_init(&body, LIM_DDNS_API_BODY);
	if (r53_change_write(&body, w, h, n) == -1) {
		log_error("route53: change batch too large");
		goto out;
	}
	(void)snprintf(path, sizeof(path), R53_API "/hostedzone/%s/rrset",
	    pv->zone_id);
	if (r53_call(pv, "POST", path, &body, &resp,
	    "ChangeResourceRecordSets") == -1)
		goto out;
	chttp_resp_free(&resp);
	rc = 0;
out:
	buf_free(&body);
	return rc;
}

static void
r53_close(struct ddns_provider *pv)
{
	struct r53_priv	*pr = pv->priv;

	if (pr == NULL)
		return;
	awscred_free(&pr->cred);
	r53_secret_free(&pr->userpwd);
	r53_secret_free(&pr->tokhdr);
	free(pr);
	pv->priv = NULL;
}

const struct ddns_ops ddns_route53_ops = {
	.name = "route53",
	.open = r53_open,
	.get = r53_get,
	.apply = r53_apply,
	.close = r53_close,
};
