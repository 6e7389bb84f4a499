/*
 * resolve.c: handle and DID resolution with the did_cache (see
 * resolve.h).  Owns the DNS TXT lookup (res_nquery with our own answer
 * parser), the well-known and DID-document fetches (fetch.c) and their
 * parsing; does not own what callers do with a resolved identity.
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <string.h>
#include <sys/socket.h>

#include "buf.h"
#include "didcache.h"
#include "fetch.h"
#include "keys.h"
#include "log.h"
#include "resolve.h"
#include "syntax.h"
#include "util.h"

#define RESOLVE_TXT_PREFIX	"_atproto."
#define RESOLVE_DNS_TYPE_TXT	16
#define RESOLVE_DNS_CLASS_IN	1

/* ---- DNS answers ------------------------------------------------------------ */

/* Skips a (possibly compressed) name at *off.  Returns 0 or -1. */
static int
dns_skip_name(const uint8_t *p, size_t len, size_t *off)
{
	size_t	o = *off, labels = 0;

	for (;;) {
		if (o >= len || ++labels > 128)
			return -1;
		if (p[o] == 0) {
			*off = o + 1;
			return 0;
		}
		if ((p[o] & 0xc0) == 0xc0) {	/* pointer: ends the name */
			if (o + 1 >= len)
				return -1;
			*off = o + 2;
			return 0;
		}
		if ((p[o] & 0xc0) != 0)
			return -1;		/* reserved label types */
		o += 1 + (size_t)p[o];
	}
}

static uint16_t
dns_u16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

/* Joins the character-strings of one TXT rdata into out (outsz bytes,
 * NUL-terminated; longer records are truncated and cannot match a DID,
 * which is checked after).  Returns 0 or -1 (malformed rdata). */
static int
dns_txt_join(const uint8_t *rd, size_t rdlen, char *out, size_t outsz,
    size_t *outlen)
{
	size_t	i = 0, o = 0, n;

	while (i < rdlen) {
		n = rd[i++];
		if (n > rdlen - i)
			return -1;
		if (o < outsz - 1) {
			size_t c = n < outsz - 1 - o ? n : outsz - 1 - o;

			memcpy(out + o, rd + i, c);
			o += c;
		}
		i += n;
	}
	out[o] = '\0';
	*outlen = o;
	return 0;
}

int
resolve_dns_txt_did(const uint8_t *p, size_t len, char *did, size_t didsz)
{
	char	txt[LIM_DID_LEN + 8];
	size_t	off = 12, i, qd, an, tl, found = 0, rdlen;
	uint16_t type, cls;

	if (len < 12 || len > LIM_DNS_ANSWER || didsz == 0)
		return -1;
	did[0] = '\0';
	if ((p[3] & 0x0f) != 0)	/* RCODE: NXDOMAIN and friends */
		return 0;
	qd = dns_u16(p + 4);
	an = dns_u16(p + 6);
	for (i = 0; i < qd; i++)
		if (dns_skip_name(p, len, &off) == -1 || (off += 4) > len)
			return -1;
	for (i = 0; i < an; i++) {
		if (dns_skip_name(p, len, &off) == -1 || off + 10 > len)
			return -1;
		type = dns_u16(p + off);
		cls = dns_u16(p + off + 2);
		rdlen = dns_u16(p + off + 8);
		off += 10;
		if (rdlen > len - off)
			return -1;
		if (type == RESOLVE_DNS_TYPE_TXT && cls == RESOLVE_DNS_CLASS_IN &&
		    i < LIM_DNS_TXT_RECORDS) {
			if (dns_txt_join(p + off, rdlen, txt, sizeof(txt), &tl) ==
			    -1)
				return -1;
			if (tl >= 4 && memcmp(txt, "did=", 4) == 0) {
				if (++found == 1 && tl - 4 < didsz)
					memcpy(did, txt + 4, tl - 3);
			}
		}
		off += rdlen;
	}
	/* parseDnsResult(): exactly one "did=" record */
	if (found != 1 || did[0] == '\0' ||
	    syntax_did_validate(did, strlen(did), NULL) == -1) {
		did[0] = '\0';
		return 0;
	}
	return 1;
}

/* ---- /.well-known/atproto-did --------------------------------------------- */

int
resolve_wellknown_did(const char *p, size_t len, char *did, size_t didsz)
{
	const char	*nl = memchr(p, '\n', len);
	size_t		 n = nl != NULL ? (size_t)(nl - p) : len;
	size_t		 s = 0;

	if (didsz == 0)
		return 0;
	did[0] = '\0';
	/* String.prototype.trim(): ASCII blanks are all a DID line has */
	while (s < n && strchr(" \t\r\f\v", p[s]) != NULL && p[s] != '\0')
		s++;
	while (n > s && strchr(" \t\r\f\v", p[n - 1]) != NULL &&
	    p[n - 1] != '\0')
		n--;
	if (n - s < 4 || n - s >= didsz || memcmp(p + s, "did:", 4) != 0 ||
	    syntax_did_validate(p + s, n - s, NULL) == -1)
		return 0;
	memcpy(did, p + s, n - s);
	did[n - s] = '\0';
	return 1;
}

/* ---- DID documents ----------------------------------------------------------- */

static int
str_is(const json_t *j, const char *s)
{
	return json_is_string(j) && strcmp(json_string_value(j), s) == 0;
}

/* id is "#frag" or "<did>#frag". */
static int
diddoc_id_is(const json_t *id, const char *did, const char *frag)
{
	const char	*s = json_string_value(id);
	size_t		 dl = strlen(did);

	if (s == NULL)
		return 0;
	if (s[0] == '#')
		return strcmp(s + 1, frag) == 0;
	return strncmp(s, did, dl) == 0 && s[dl] == '#' &&
	    strcmp(s + dl + 1, frag) == 0;
}

/* The zod shape of @atproto/identity's didDocument. */
static int
diddoc_shape(const json_t *doc, const char **why)
{
	const json_t	*v, *e;
	size_t		 i;

	*why = "document must be an object with a string id";
	if (!json_is_object(doc) || !json_is_string(json_object_get(doc, "id")))
		return -1;
	*why = "alsoKnownAs must be an array of strings";
	if ((v = json_object_get(doc, "alsoKnownAs")) != NULL) {
		if (!json_is_array(v))
			return -1;
		json_array_foreach(v, i, e)
			if (!json_is_string(e))
				return -1;
	}
	*why = "malformed verificationMethod";
	if ((v = json_object_get(doc, "verificationMethod")) != NULL) {
		if (!json_is_array(v))
			return -1;
		json_array_foreach(v, i, e)
			if (!json_is_object(e) ||
			    !json_is_string(json_object_get(e, "id")) ||
			    !json_is_string(json_object_get(e, "type")) ||
			    !json_is_string(json_object_get(e, "controller")) ||
			    (json_object_get(e, "publicKeyMultibase") != NULL &&
			    !json_is_string(json_object_get(e,
			    "publicKeyMultibase"))))
				return -1;
	}
	*why = "malformed service";
	if ((v = json_object_get(doc, "service")) != NULL) {
		if (!json_is_array(v))
			return -1;
		json_array_foreach(v, i, e) {
			const json_t *ep = json_object_get(e, "serviceEndpoint");

			if (!json_is_object(e) ||
			    !json_is_string(json_object_get(e, "id")) ||
			    !json_is_string(json_object_get(e, "type")) ||
			    (!json_is_string(ep) && !json_is_object(ep)))
				return -1;
		}
	}
	return 0;
}

/* The #atproto key as a did:key, or NULL. */
static const char *
diddoc_signing_key(struct arena *a, const json_t *doc, const char *did)
{
	const json_t	*vm = json_object_get(doc, "verificationMethod"), *e;
	const char	*type, *mb;
	struct key	*k = NULL;
	char		 out[KEY_DID_LEN];
	size_t		 i;

	json_array_foreach(vm, i, e) {
		if (!diddoc_id_is(json_object_get(e, "id"), did, "atproto"))
			continue;
		type = json_string_value(json_object_get(e, "type"));
		mb = json_string_value(json_object_get(e,
		    "publicKeyMultibase"));
		if (type == NULL || mb == NULL || key_parse_vm(type,
		    strlen(type), mb, strlen(mb), &k) != KEY_OK)
			return NULL;
		key_did(k, out);
		key_free(k);
		return arena_strdup(a, out);
	}
	return NULL;
}

/* The #atproto_pds endpoint when it is an http(s) URL, or NULL. */
static const char *
diddoc_pds(struct arena *a, const json_t *doc, const char *did)
{
	const json_t	*svc = json_object_get(doc, "service"), *e;
	const char	*ep;
	size_t		 i;

	json_array_foreach(svc, i, e) {
		if (!diddoc_id_is(json_object_get(e, "id"), did, "atproto_pds"))
			continue;
		if (!str_is(json_object_get(e, "type"),
		    "AtprotoPersonalDataServer"))
			return NULL;
		ep = json_string_value(json_object_get(e, "serviceEndpoint"));
		if (ep == NULL || (strncmp(ep, "https://", 8) != 0 &&
		    strncmp(ep, "http://", 7) != 0) ||
		    syntax_uri_validate(ep, strlen(ep), NULL) == -1)
			return NULL;
		return arena_strdup(a, ep);
	}
	return NULL;
}

static const char *
diddoc_handle(struct arena *a, const json_t *doc)
{
	const json_t	*aka = json_object_get(doc, "alsoKnownAs"), *e;
	const char	*s;
	size_t		 i;

	json_array_foreach(aka, i, e) {
		s = json_string_value(e);
		if (strncmp(s, "at://", 5) == 0)
			return arena_strdup(a, s + 5);
	}
	return NULL;
}

int
resolve_diddoc_parse(struct arena *a, const char *p, size_t len,
    const char *did, json_t **doc, struct resolve_atproto *out,
    const char **why)
{
	json_error_t	 je;
	json_t		*j;

	memset(out, 0, sizeof(*out));
	if (doc != NULL)
		*doc = NULL;
	*why = "document too large";
	if (len > LIM_DIDDOC_BYTES)
		return -1;
	*why = "document is not JSON";
	if ((j = json_loadb(p, len, JSON_REJECT_DUPLICATES, &je)) == NULL)
		return -1;
	if (diddoc_shape(j, why) == -1)
		goto bad;
	*why = "document id does not match the DID";
	if (!str_is(json_object_get(j, "id"), did))
		goto bad;
	*why = "out of memory";
	if ((out->did = arena_strdup(a, did)) == NULL)
		goto bad;
	out->handle = diddoc_handle(a, j);
	out->signing_key = diddoc_signing_key(a, j, did);
	out->pds = diddoc_pds(a, j, did);
	if (doc != NULL)
		*doc = j;
	else
		json_decref(j);
	return 0;
bad:
	json_decref(j);
	memset(out, 0, sizeof(*out));
	return -1;
}

/* ---- DNS lookups ----------------------------------------------------------- */

/* Points st at the backup nameservers (IPv4 addresses or names resolved
 * to IPv4).  Returns how many were set. */
static int
dns_backup_servers(const struct pds_config *cfg, struct __res_state *st)
{
	struct addrinfo	 hints, *ai;
	struct in_addr	 in;
	size_t		 i;
	int		 n = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_DGRAM;
	for (i = 0; i < cfg->handle_backup_ns.n && n < MAXNS &&
	    n < LIM_BACKUP_NS; i++) {
		const char *s = cfg->handle_backup_ns.v[i];

		if (inet_pton(AF_INET, s, &in) != 1) {
			if (getaddrinfo(s, NULL, &hints, &ai) != 0)
				continue;
			in = ((struct sockaddr_in *)(void *)ai->ai_addr)->
			    sin_addr;
			freeaddrinfo(ai);
		}
		memset(&st->nsaddr_list[n], 0, sizeof(st->nsaddr_list[n]));
		st->nsaddr_list[n].sin_family = AF_INET;
		st->nsaddr_list[n].sin_port = htons(NS_DEFAULTPORT);
		st->nsaddr_list[n].sin_addr = in;
		n++;
	}
	st->nscount = n;
	return n;
}

/* One TXT query for _atproto.<handle>.  Returns 1, 0 or -1. */
static int
dns_lookup(const struct pds_config *cfg, const char *handle, int backup,
    char *did, size_t didsz)
{
	struct __res_state	st;
	uint8_t			ans[LIM_DNS_ANSWER];
	char			name[LIM_HANDLE_LEN + sizeof(RESOLVE_TXT_PREFIX)];
	int			n, secs, rc = 0;

	if (snprintf(name, sizeof(name), RESOLVE_TXT_PREFIX "%s", handle) >=
	    (int)sizeof(name))
		return 0;
	memset(&st, 0, sizeof(st));
	if (res_ninit(&st) != 0)
		return -1;
	secs = (int)((cfg->id_resolver_timeout + 999) / 1000);
	st.retrans = secs > 0 ? secs : 1;
	st.retry = 1;
	if (backup && dns_backup_servers(cfg, &st) == 0)
		goto out;
	if ((n = res_nquery(&st, name, RESOLVE_DNS_CLASS_IN,
	    RESOLVE_DNS_TYPE_TXT, ans, sizeof(ans))) > 0)
		rc = resolve_dns_txt_did(ans, (size_t)n, did, didsz) == 1;
out:
	res_nclose(&st);
	return rc;
}

/* ---- HTTP lookups --------------------------------------------------------------- */

static int
http_get(const struct pds_config *cfg, const char *url, int allow_http,
    size_t max, const char *accept, struct buf *body)
{
	struct fetch_req	r;
	char			err[128];
	long			status;

	memset(&r, 0, sizeof(r));
	r.method = "GET";
	r.url = url;
	r.accept = accept;
	r.timeout_ms = cfg->id_resolver_timeout;
	r.max_bytes = max;
	r.allow_http = allow_http;
	r.redirects = 1;
	if (fetch_do(&r, body, &status, err, sizeof(err)) == -1) {
		log_info("%s: %s", __func__, err);
		return -1;
	}
	return (int)status;
}

int
resolve_handle(const struct resolve_ctx *ctx, const char *handle, char *did,
    size_t didsz)
{
	struct buf	 body;
	char		*url;
	int		 rc;

	if ((rc = dns_lookup(ctx->cfg, handle, 0, did, didsz)) != 0)
		return rc;
	buf_init(&body, LIM_WELLKNOWN_BYTES);
	url = NULL;
	if (strlen(handle) <= LIM_HANDLE_LEN) {
		struct arena a;

		arena_init(&a);
		url = arena_printf(&a, "https://%s/.well-known/atproto-did",
		    handle);
		if (url != NULL && http_get(ctx->cfg, url, 0,
		    LIM_WELLKNOWN_BYTES, NULL, &body) >= 0 &&
		    resolve_wellknown_did((const char *)body.data, body.len,
		    did, didsz) == 1)
			rc = 1;
		arena_free(&a);
	}
	buf_free(&body);
	if (rc == 1)
		return 1;
	return dns_lookup(ctx->cfg, handle, 1, did, didsz);
}

/* The did:web document URL (DidWebResolver): host only, percent-decoded,
 * http for localhost.  NULL when unsupported. */
static char *
did_web_url(struct arena *a, const char *did, int *allow_http)
{
	const char	*id = did + 8;	/* after "did:web:" */
	char		 host[LIM_HOST_LEN];
	size_t		 i, o = 0;
	unsigned	 hv;

	if (strchr(id, ':') != NULL || *id == '\0')
		return NULL;	/* a path: UnsupportedDidWebPathError */
	for (i = 0; id[i] != '\0'; i++) {
		char c = id[i];

		if (c == '%') {
			if (sscanf(id + i + 1, "%2x", &hv) != 1 ||
			    id[i + 1] == '\0' || id[i + 2] == '\0')
				return NULL;
			c = (char)hv;
			i += 2;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '-' ||
		    c == ':') || o + 1 >= sizeof(host))
			return NULL;
		host[o++] = c;
	}
	host[o] = '\0';
	*allow_http = strcmp(host, "localhost") == 0 ||
	    strncmp(host, "localhost:", 10) == 0;
	return arena_printf(a, "%s://%s/.well-known/did.json",
	    *allow_http ? "http" : "https", host);
}

/* Fetches did's document text into body.  Returns 1, 0 or -1. */
static int
did_fetch(const struct resolve_ctx *ctx, struct arena *a, const char *did,
    struct buf *body)
{
	const char	*base = ctx->cfg->plc_url;
	char		*url = NULL;
	int		 allow_http = 0, status;
	size_t		 bl;

	if (strncmp(did, "did:plc:", 8) == 0) {
		bl = strlen(base);
		while (bl > 0 && base[bl - 1] == '/')
			bl--;
		/* a did:plc holds only [a-z2-7] after the prefix */
		if (strspn(did + 8, "abcdefghijklmnopqrstuvwxyz234567") !=
		    strlen(did + 8))
			return 0;
		url = arena_printf(a, "%.*s/did%%3Aplc%%3A%s", (int)bl, base,
		    did + 8);
		allow_http = 1;	/* the operator's directory */
	} else if (strncmp(did, "did:web:", 8) == 0)
		url = did_web_url(a, did, &allow_http);
	else
		return 0;	/* unsupported method */
	if (url == NULL)
		return 0;
	status = http_get(ctx->cfg, url, allow_http, LIM_DIDDOC_BYTES,
	    "application/did+ld+json,application/json", body);
	if (status == -1)
		return -1;
	return status == 200 ? 1 : 0;
}

int
resolve_did(const struct resolve_ctx *ctx, struct arena *a, const char *did,
    int force, json_t **doc, struct resolve_atproto *out)
{
	const struct pds_config	*cfg = ctx->cfg;
	const char		*cached = NULL, *why;
	struct buf		 body;
	size_t			 clen = 0;
	int64_t			 updated = 0, now = util_now_ms();
	int			 rc, have = 0;

	memset(out, 0, sizeof(*out));
	if (doc != NULL)
		*doc = NULL;
	if (syntax_did_validate(did, strlen(did), NULL) == -1)
		return 0;
	if (ctx->cache != NULL && (have = didcache_get(ctx->cache, a, did,
	    &cached, &clen, &updated)) == -1)
		have = 0;
	if (have && now > updated + cfg->did_cache_max_ttl)
		have = 0;		/* expired: not even a fallback */
	if (have && !force && now < updated + cfg->did_cache_stale_ttl &&
	    resolve_diddoc_parse(a, cached, clen, did, doc, out, &why) == 0)
		return 1;
	buf_init(&body, LIM_DIDDOC_BYTES);
	rc = did_fetch(ctx, a, did, &body);
	if (rc == 1 && resolve_diddoc_parse(a, (const char *)body.data,
	    body.len, did, doc, out, &why) == 0) {
		if (ctx->cache != NULL && didcache_put(ctx->cache, did,
		    (const char *)body.data, body.len, now) == -1)
			log_warn("%s: could not cache the document", __func__);
	} else if (rc == 1) {
		log_info("%s: refused document: %s", __func__, why);
		rc = 0;
	} else if (rc == -1 && have &&
	    resolve_diddoc_parse(a, cached, clen, did, doc, out, &why) == 0)
		rc = 1;		/* stale but within the maximum TTL */
	else if (rc == 0 && ctx->cache != NULL)
		(void)didcache_delete(ctx->cache, did);
	buf_free(&body);
	return rc;
}
