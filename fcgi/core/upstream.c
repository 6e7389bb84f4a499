/*
 * upstream.c: pure parsing and policy for the services a PDS forwards
 * calls to (see upstream.h): the atproto-proxy header, service endpoints
 * and URL origins, Accept-Encoding negotiation, upstream error bodies and
 * the SSRF address policy.  No I/O, no clock.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pds_limits.h"
#include "upstream.h"

/* ==== the atproto-proxy header =========================================== */

static const char *const hdr_errs[UPSTREAM_HDR__MAX] = {
	[UPSTREAM_HDR_OK] = "ok",
	[UPSTREAM_HDR_NO_DID] = "no did specified in proxy header",
	[UPSTREAM_HDR_NO_SERVICE] = "no service id specified in proxy header",
	[UPSTREAM_HDR_FORMAT] = "invalid proxy header format",
	[UPSTREAM_HDR_SPACE] = "proxy header cannot contain spaces",
};

const char *
upstream_hdr_err_str(enum upstream_hdr_err e)
{
	return (unsigned)e < UPSTREAM_HDR__MAX ? hdr_errs[e] :
	    "invalid proxy header format";
}

enum upstream_hdr_err
upstream_proxy_parse(const char *p, size_t len, size_t *didlen)
{
	const char	*hash = memchr(p, '#', len);

	*didlen = 0;
	if (hash == p)
		return UPSTREAM_HDR_NO_DID;
	if (hash == NULL || hash == p + len - 1)
		return UPSTREAM_HDR_NO_SERVICE;
	if (memchr(hash + 1, '#', (size_t)(p + len - hash - 1)) != NULL)
		return UPSTREAM_HDR_FORMAT;
	if (memchr(p, ' ', len) != NULL)
		return UPSTREAM_HDR_SPACE;
	*didlen = (size_t)(hash - p);
	return UPSTREAM_HDR_OK;
}

/* ==== URL origins and service endpoints ================================== */

/* A reg-name host: letters, digits, '-', '.', '_' (what DNS names and
 * dotted IPv4 literals need), at most LIM_HANDLE_LEN bytes. */
static int
host_name_ok(const char *p, size_t len)
{
	size_t	i;

	if (len == 0 || len > LIM_HANDLE_LEN)
		return 0;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)p[i]) && p[i] != '-' &&
		    p[i] != '.' && p[i] != '_')
			return 0;
	return 1;
}

/* "[v6]": a bracketed IPv6 literal (no zone id). */
static int
host_v6_ok(const char *p, size_t len)
{
	char		tmp[INET6_ADDRSTRLEN + 1];
	struct in6_addr	a;

	if (len < 3 || len - 2 >= sizeof(tmp) || p[len - 1] != ']')
		return 0;
	memcpy(tmp, p + 1, len - 2);
	tmp[len - 2] = '\0';
	return inet_pton(AF_INET6, tmp, &a) == 1;
}

/* Parses ":port" (p, len without the colon) into *port; empty = none. */
static int
port_parse(const char *p, size_t len, long *port)
{
	size_t	i;
	long	v = 0;

	*port = -1;
	if (len == 0)
		return 0;
	if (len > 5)
		return -1;
	for (i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	if (v < 1 || v > 65535)
		return -1;
	*port = v;
	return 0;
}

int
upstream_origin_parse(const char *p, size_t len, char *out, size_t outsz,
    int *https)
{
	const char	*auth, *end, *colon = NULL, *host;
	size_t		 i, hlen, skip;
	long		 port;
	int		 n;

	*https = 0;
	for (i = 0; i < len; i++)	/* no controls, spaces or non-ASCII */
		if ((unsigned char)p[i] <= 0x20 || (unsigned char)p[i] >= 0x7f ||
		    p[i] == '\\')
			return -1;
	if (len > 8 && strncasecmp(p, "https://", 8) == 0) {
		*https = 1;
		skip = 8;
	} else if (len > 7 && strncasecmp(p, "http://", 7) == 0)
		skip = 7;
	else
		return -1;
	auth = p + skip;
	for (end = auth; end < p + len && *end != '/' && *end != '?' &&
	    *end != '#'; end++)
		if (*end == '@')
			return -1;	/* userinfo */
	host = auth;
	if (*host == '[') {
		const char *rb = memchr(host, ']', (size_t)(end - host));

		if (rb == NULL || !host_v6_ok(host, (size_t)(rb - host + 1)))
			return -1;
		hlen = (size_t)(rb - host + 1);
		if (rb + 1 < end && rb[1] != ':')
			return -1;
		if (rb + 1 < end)
			colon = rb + 1;
	} else {
		colon = memchr(host, ':', (size_t)(end - host));
		hlen = colon != NULL ? (size_t)(colon - host) :
		    (size_t)(end - host);
		if (!host_name_ok(host, hlen))
			return -1;
	}
	if (port_parse(colon != NULL ? colon + 1 : NULL, colon != NULL ?
	    (size_t)(end - colon - 1) : 0, &port) == -1)
		return -1;
	if ((*https && port == 443) || (!*https && port == 80))
		port = -1;
	if (outsz < UPSTREAM_ORIGIN_LEN)
		return -1;
	n = snprintf(out, outsz, "%s://%.*s", *https ? "https" : "http",
	    (int)hlen, host);
	if (n < 0 || (size_t)n >= outsz)
		return -1;
	for (i = (size_t)n - hlen; i < (size_t)n; i++)
		out[i] = (char)tolower((unsigned char)out[i]);
	if (port > 0 && snprintf(out + n, outsz - (size_t)n, ":%ld", port) >=
	    (int)(outsz - (size_t)n))
		return -1;
	return 0;
}

const char *
upstream_service_endpoint(const json_t *doc, const char *id,
    const char *type)
{
	const json_t	*svcs, *s;
	const char	*did, *sid, *ep;
	char		 origin[UPSTREAM_ORIGIN_LEN];
	size_t		 i, n, dl;
	int		 https;

	if (!json_is_object(doc) || id == NULL || id[0] != '#')
		return NULL;
	did = json_string_value(json_object_get(doc, "id"));
	dl = did != NULL ? strlen(did) : 0;
	svcs = json_object_get(doc, "service");
	if (json_is_object(svcs))	/* a lone service object */
		n = 1;
	else if (json_is_array(svcs))
		n = json_array_size(svcs);
	else
		return NULL;
	for (i = 0; i < n; i++) {
		s = json_is_array(svcs) ? json_array_get(svcs, i) : svcs;
		sid = json_string_value(json_object_get(s, "id"));
		if (sid == NULL || !(strcmp(sid, id) == 0 || (did != NULL &&
		    strncmp(sid, did, dl) == 0 && strcmp(sid + dl, id) == 0)))
			continue;
		if (type != NULL && (json_string_value(json_object_get(s,
		    "type")) == NULL || strcmp(json_string_value(
		    json_object_get(s, "type")), type) != 0))
			return NULL;
		ep = json_string_value(json_object_get(s, "serviceEndpoint"));
		if (ep == NULL || upstream_origin_parse(ep, strlen(ep), origin,
		    sizeof(origin), &https) == -1)
			return NULL;
		return ep;
	}
	return NULL;
}

/* ==== Accept-Encoding ==================================================== */

/* The encodings we know and their preference weights, in our order. */
struct ae_pref {
	const char	*name;
	double		 q;
};
static const struct ae_pref ae_uncompressed[] = {
	{ "identity", 1.0 }, { "gzip", 0.3 }, { "deflate", 0.2 },
	{ "br", 0.1 }, { NULL, 0 }
};
static const struct ae_pref ae_compressed[] = {
	{ "gzip", 1.0 }, { "deflate", 0.9 }, { "br", 0.8 },
	{ "identity", 0.1 }, { NULL, 0 }
};

/* What the client said about the names our preferences use, and '*'. */
#define AE_NAMES	5	/* identity, gzip, deflate, br, '*' */
static const char *const ae_names[AE_NAMES] = { "identity", "gzip",
    "deflate", "br", "*" };

struct ae_seen {
	int	set[AE_NAMES];
	double	q[AE_NAMES];
};

/* JS parseFloat(): leading white space, then the longest prefix that is a
 * decimal number (or [+-]Infinity).  Returns 0 and *v, -1 for NaN. */
static int
js_parse_float(const char *p, size_t len, double *v)
{
	char	 tmp[128];
	size_t	 i = 0, j, digits = 0;

	while (i < len && strchr(" \t\n\v\f\r", p[i]) != NULL)
		i++;
	j = i;
	if (j < len && (p[j] == '+' || p[j] == '-'))
		j++;
	if (len - j >= 8 && memcmp(p + j, "Infinity", 8) == 0) {
		*v = p[i] == '-' ? -INFINITY : INFINITY;
		return 0;
	}
	for (; j < len && isdigit((unsigned char)p[j]); j++)
		digits++;
	if (j < len && p[j] == '.')
		for (j++; j < len && isdigit((unsigned char)p[j]); j++)
			digits++;
	if (digits == 0)
		return -1;
	if (j < len && (p[j] == 'e' || p[j] == 'E')) {
		size_t k = j + 1;

		if (k < len && (p[k] == '+' || p[k] == '-'))
			k++;
		if (k < len && isdigit((unsigned char)p[k])) {
			while (k < len && isdigit((unsigned char)p[k]))
				k++;
			j = k;
		}
	}
	if (j - i >= sizeof(tmp))
		return -1;	/* absurdly long numbers are refused */
	memcpy(tmp, p + i, j - i);
	tmp[j - i] = '\0';
	*v = strtod(tmp, NULL);
	return 0;
}

/* parseAcceptEncodingDefinition() on one comma-separated piece. */
static int
ae_def(const char *p, size_t len, struct ae_seen *seen)
{
	const char	*semi, *eq, *enc = p;
	size_t		 elen, k;
	double		 q = 1.0;

	while (len > 0 && strchr(" \t\n\v\f\r", *p) != NULL) {
		p++;
		len--;
	}
	while (len > 0 && strchr(" \t\n\v\f\r", p[len - 1]) != NULL)
		len--;
	enc = p;
	semi = memchr(p, ';', len);
	elen = semi != NULL ? (size_t)(semi - p) : len;
	if (semi != NULL && memchr(semi + 1, ';',
	    (size_t)(p + len - semi - 1)) != NULL)
		return -1;		/* three parts */
	if (elen == 0 || memchr(enc, '=', elen) != NULL)
		return -1;
	if (semi != NULL) {
		const char	*par = semi + 1;
		size_t		 plen = (size_t)(p + len - par);

		eq = memchr(par, '=', plen);
		if (eq == NULL || memchr(eq + 1, '=',
		    (size_t)(par + plen - eq - 1)) != NULL)
			return -1;	/* split('=') must give two parts */
		if (eq - par != 1 || (par[0] != 'q' && par[0] != 'Q'))
			return -1;
		if (js_parse_float(eq + 1, (size_t)(par + plen - eq - 1),
		    &q) == -1)
			return -1;
		if (!(q == 0 || (isfinite(q) && q <= 1 && q >= 0.001)))
			return -1;
	}
	for (k = 0; k < AE_NAMES; k++)
		if (strlen(ae_names[k]) == elen &&
		    strncasecmp(ae_names[k], enc, elen) == 0) {
			seen->set[k] = 1;	/* the last one wins */
			seen->q[k] = q;
		}
	return 0;
}

static int
ae_lookup(const struct ae_seen *seen, const char *name, double *q)
{
	size_t	k;

	for (k = 0; k < AE_NAMES - 1; k++)
		if (strcmp(ae_names[k], name) == 0 && seen->set[k]) {
			*q = seen->q[k];
			return 1;
		}
	if (seen->set[AE_NAMES - 1]) {
		*q = seen->q[AE_NAMES - 1];
		return 1;
	}
	return 0;
}

enum upstream_ae_res
upstream_accept_encoding(const char *hdr, int prefer_compressed, char *out,
    size_t outsz, const char **bad, size_t *badlen)
{
	const struct ae_pref	*pr = prefer_compressed ? ae_compressed :
				    ae_uncompressed;
	struct ae_seen		 seen;
	const char		*p, *c;
	size_t			 n, o = 0;
	double			 q;
	int			 any = 0, identity = 0, w;

	memset(&seen, 0, sizeof(seen));
	*bad = NULL;
	*badlen = 0;
	for (p = hdr; p != NULL && *p != '\0'; p = c + 1) {
		c = strchr(p, ',');
		n = c != NULL ? (size_t)(c - p) : strlen(p);
		if (ae_def(p, n, &seen) == -1) {
			*bad = p;
			*badlen = n;
			return UPSTREAM_AE_INVALID;
		}
		if (c == NULL)
			break;
	}
	if (outsz < UPSTREAM_AE_LEN)
		return UPSTREAM_AE_NOT_ACCEPTABLE;
	out[0] = '\0';
	for (; pr->name != NULL; pr++) {
		int have = ae_lookup(&seen, pr->name, &q);

		if (strcmp(pr->name, "identity") == 0 ? have && q <= 0 :
		    !have || q <= 0)
			continue;
		w = snprintf(out + o, outsz - o, "%s%s;q=%g", o > 0 ? "," : "",
		    pr->name, pr->q);
		if (w < 0 || (size_t)w >= outsz - o)
			return UPSTREAM_AE_NOT_ACCEPTABLE;
		o += (size_t)w;
		any |= pr->q > 0;
		identity |= strcmp(pr->name, "identity") == 0;
	}
	if (!identity) {
		w = snprintf(out + o, outsz - o, "%s*;q=0", o > 0 ? "," : "");
		if (w < 0 || (size_t)w >= outsz - o)
			return UPSTREAM_AE_NOT_ACCEPTABLE;
	}
	return any ? UPSTREAM_AE_OK : UPSTREAM_AE_NOT_ACCEPTABLE;
}

/* ==== upstream error bodies ============================================== */

int
upstream_is_json_type(const char *ctype)
{
	const char	*p;

	if (ctype == NULL || ctype[0] == '\0')
		return -1;
	/* /application\/(?:\w+\+)?json/i anywhere in the value */
	for (p = ctype; (p = strcasestr(p, "application/")) != NULL; p++) {
		const char *s = p + 12, *w = s;

		if (strncasecmp(s, "json", 4) == 0)
			return 1;
		while (isalnum((unsigned char)*w) || *w == '_')
			w++;
		if (w > s && *w == '+' && strncasecmp(w + 1, "json", 4) == 0)
			return 1;
	}
	return 0;
}

void
upstream_error_parse(const char *ctype, const uint8_t *p, size_t len,
    struct arena *a, const char **error, const char **message)
{
	json_t		*j;
	json_error_t	 jerr;
	const char	*s;

	*error = NULL;
	*message = NULL;
	if (upstream_is_json_type(ctype) == 0 || p == NULL || len == 0)
		return;
	/* JSON.parse(): any value; NUL escapes are allowed in JS. */
	j = json_loadb((const char *)p, len, JSON_DECODE_ANY | JSON_ALLOW_NUL,
	    &jerr);
	if (j == NULL)
		return;
	if (json_is_object(j)) {
		if ((s = json_string_value(json_object_get(j, "error"))) != NULL)
			*error = arena_strdup(a, s);
		if ((s = json_string_value(json_object_get(j, "message"))) !=
		    NULL)
			*message = arena_strdup(a, s);
	}
	json_decref(j);
}

/* ==== SSRF address policy ================================================ */

/* ipaddr.js IPv4 ranges other than "unicast" (host byte order). */
static int
v4_public(uint32_t a)
{
	static const struct {
		uint32_t	net;
		int		bits;
	} special[] = {
		{ 0x00000000, 8 },	/* unspecified */
		{ 0x0a000000, 8 },	/* private */
		{ 0x64400000, 10 },	/* carrierGradeNat */
		{ 0x7f000000, 8 },	/* loopback */
		{ 0xa9fe0000, 16 },	/* linkLocal */
		{ 0xac100000, 12 },	/* private */
		{ 0xc0000000, 24 },	/* reserved (IETF protocol assignments) */
		{ 0xc0000200, 24 },	/* reserved (TEST-NET-1) */
		{ 0xc01fc400, 24 },	/* as112 */
		{ 0xc034c100, 24 },	/* amt */
		{ 0xc0586300, 24 },	/* reserved (6to4 relay) */
		{ 0xc0a80000, 16 },	/* private */
		{ 0xc0af3000, 24 },	/* as112 */
		{ 0xc6120000, 15 },	/* reserved (benchmarking) */
		{ 0xc6336400, 24 },	/* reserved (TEST-NET-2) */
		{ 0xcb007100, 24 },	/* reserved (TEST-NET-3) */
		{ 0xe0000000, 4 },	/* multicast */
		{ 0xf0000000, 4 },	/* reserved, broadcast */
	};
	size_t	i;

	for (i = 0; i < sizeof(special) / sizeof(special[0]); i++)
		if ((a >> (32 - special[i].bits)) ==
		    (special[i].net >> (32 - special[i].bits)))
			return 0;
	return 1;
}

/* Global unicast (2000::/3) minus ipaddr.js's special ranges inside it;
 * IPv4-mapped addresses are judged as IPv4. */
static int
v6_public(const uint8_t *b)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };

	if (memcmp(b, mapped, sizeof(mapped)) == 0)
		return v4_public((uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 |
		    (uint32_t)b[14] << 8 | b[15]);
	if ((b[0] & 0xe0) != 0x20)
		return 0;		/* not 2000::/3 */
	if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x00 && b[3] < 0x02)
		return 0;		/* 2001::/23: teredo, benchmarking, amt,
					 * as112v6, orchid2, reserved */
	if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8)
		return 0;		/* 2001:db8::/32 documentation */
	if (b[0] == 0x20 && b[1] == 0x02)
		return 0;		/* 2002::/16 6to4 */
	if (b[0] == 0x26 && b[1] == 0x20 && b[2] == 0x00 && b[3] == 0x4f &&
	    b[4] == 0x80 && b[5] == 0x00)
		return 0;		/* 2620:4f:8000::/48 as112v6 */
	return 1;
}

int
upstream_addr_public(const struct sockaddr *sa, size_t salen)
{
	if (sa == NULL)
		return 0;
	if (sa->sa_family == AF_INET && salen >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)
		    (const void *)sa;

		return v4_public(ntohl(s4->sin_addr.s_addr));
	}
	if (sa->sa_family == AF_INET6 &&
	    salen >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)
		    (const void *)sa;

		return v6_public(s6->sin6_addr.s6_addr);
	}
	return 0;
}

int
upstream_ip_public(const char *s)
{
	struct in_addr	a4;
	struct in6_addr	a6;

	if (inet_pton(AF_INET, s, &a4) == 1)
		return v4_public(ntohl(a4.s_addr));
	if (inet_pton(AF_INET6, s, &a6) == 1)
		return v6_public(a6.s6_addr);
	return -1;
}
