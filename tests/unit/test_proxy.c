/*
 * test_proxy.c: the pure parts of the app view proxy (fcgi/core/
 * upstream.c) and service-auth JWTs (fcgi/core/svcauth.c), table-driven:
 * the atproto-proxy header (parseProxyHeader's refusals), URL origins and
 * DID-document service endpoints (getServiceEndpoint), Accept-Encoding
 * negotiation (negotiateContentEncoding), upstream error bodies
 * (tryParsingError), the SSRF address policy (isUnicastIp), and
 * verifyJwt()'s checks in order, with a key rotation.  The same tokens
 * are checked against the official @atproto/xrpc-server by
 * tests/integration/proxy.test.mjs (tool_svcauth).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "buf.h"
#include "jwt.h"
#include "keys.h"
#include "svcauth.h"
#include "t.h"
#include "upstream.h"
#include "util.h"

/* ---- atproto-proxy ------------------------------------------------------ */

static void
test_proxy_header(void)
{
	static const struct {
		const char		*in;
		enum upstream_hdr_err	 want;
		size_t			 didlen;
	} rows[] = {
		{ "did:web:api.bsky.chat#bsky_chat", UPSTREAM_HDR_OK, 21 },
		{ "did:plc:abc#atproto_labeler", UPSTREAM_HDR_OK, 11 },
		{ "#bsky_chat", UPSTREAM_HDR_NO_DID, 0 },
		{ "#", UPSTREAM_HDR_NO_DID, 0 },
		{ "did:web:x", UPSTREAM_HDR_NO_SERVICE, 0 },
		{ "did:web:x#", UPSTREAM_HDR_NO_SERVICE, 0 },
		{ "did:web:x#a#b", UPSTREAM_HDR_FORMAT, 0 },
		{ "did:web:x##", UPSTREAM_HDR_FORMAT, 0 },
		{ "did:web:x #svc", UPSTREAM_HDR_SPACE, 0 },
		{ "did:web:x#svc ", UPSTREAM_HDR_SPACE, 0 },
	};
	size_t	i, dl;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		enum upstream_hdr_err e = upstream_proxy_parse(rows[i].in,
		    strlen(rows[i].in), &dl);

		T_OK(e == rows[i].want, "%s: %d", rows[i].in, (int)e);
		if (e == UPSTREAM_HDR_OK)
			T_EQ_INT(dl, rows[i].didlen);
	}
	T_EQ_STR(upstream_hdr_err_str(UPSTREAM_HDR_SPACE),
	    "proxy header cannot contain spaces");
	T_EQ_STR(upstream_hdr_err_str(UPSTREAM_HDR_NO_SERVICE),
	    "no service id specified in proxy header");
}

/* ---- origins and service endpoints -------------------------------------- */

static void
test_origin(void)
{
	static const struct {
		const char	*in, *want;	/* want NULL: refused */
		int		 https;
	} rows[] = {
		{ "https://api.bsky.app", "https://api.bsky.app", 1 },
		{ "https://API.Bsky.app:443/xrpc/x?y#z", "https://api.bsky.app", 1 },
		{ "http://localhost:2583/", "http://localhost:2583", 0 },
		{ "HTTP://localhost:80", "http://localhost", 0 },
		{ "http://127.0.0.1:8080", "http://127.0.0.1:8080", 0 },
		{ "https://[::1]:8443/p", "https://[::1]:8443", 1 },
		{ "https://host:/", "https://host", 1 },
		{ "https://mod.bsky.app?x", "https://mod.bsky.app", 1 },
		{ "ftp://host", NULL, 0 },
		{ "https://", NULL, 0 },
		{ "https:///path", NULL, 0 },
		{ "https://user:pw@host", NULL, 0 },
		{ "https://host:0", NULL, 0 },
		{ "https://host:65536", NULL, 0 },
		{ "https://host:12ab", NULL, 0 },
		{ "https://ho st", NULL, 0 },
		{ "https://host\\@evil", NULL, 0 },
		{ "https:/host", NULL, 0 },
		{ "https://[zz]:1", NULL, 0 },
		{ "https://[::1]x", NULL, 0 },
		{ "https://h%41st", NULL, 0 },
		{ "did:web:x", NULL, 0 },
	};
	char	out[UPSTREAM_ORIGIN_LEN];
	size_t	i;
	int	https, rc;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		rc = upstream_origin_parse(rows[i].in, strlen(rows[i].in), out,
		    sizeof(out), &https);
		if (rows[i].want == NULL) {
			T_OK(rc == -1, "%s accepted as %s", rows[i].in, out);
			continue;
		}
		T_OK(rc == 0, "%s refused", rows[i].in);
		if (rc == 0) {
			T_EQ_STR(out, rows[i].want);
			T_EQ_INT(https, rows[i].https);
		}
	}
}

static void
test_service_endpoint(void)
{
	const char	*doc_txt =
	    "{\"id\":\"did:web:chat.example\",\"service\":["
	    "{\"id\":\"#atproto_pds\",\"type\":\"AtprotoPersonalDataServer\","
	    "\"serviceEndpoint\":\"https://pds.example\"},"
	    "{\"id\":\"did:web:chat.example#bsky_chat\",\"type\":"
	    "\"BskyChatService\",\"serviceEndpoint\":\"https://chat.example/x\"},"
	    "{\"id\":\"#bsky_notif\",\"type\":\"BskyNotificationService\","
	    "\"serviceEndpoint\":{\"uri\":\"https://n\"}},"
	    "{\"id\":\"#bad\",\"type\":\"X\",\"serviceEndpoint\":\"ftp://x\"},"
	    "{\"id\":\"did:web:other#other\",\"type\":\"X\","
	    "\"serviceEndpoint\":\"https://o\"}]}";
	json_t		*doc = json_loads(doc_txt, 0, NULL), *lone;

	T_OK(doc != NULL, "doc parses");
	T_EQ_STR(upstream_service_endpoint(doc, "#atproto_pds", NULL),
	    "https://pds.example");
	T_EQ_STR(upstream_service_endpoint(doc, "#bsky_chat", NULL),
	    "https://chat.example/x");
	T_EQ_STR(upstream_service_endpoint(doc, "#bsky_chat",
	    "BskyChatService"), "https://chat.example/x");
	T_OK(upstream_service_endpoint(doc, "#bsky_chat", "Other") == NULL,
	    "type mismatch");
	T_OK(upstream_service_endpoint(doc, "#bsky_notif", NULL) == NULL,
	    "object endpoint");
	T_OK(upstream_service_endpoint(doc, "#bad", NULL) == NULL, "ftp");
	T_OK(upstream_service_endpoint(doc, "#other", NULL) == NULL,
	    "another DID's fragment");
	T_OK(upstream_service_endpoint(doc, "#missing", NULL) == NULL,
	    "missing");
	T_OK(upstream_service_endpoint(doc, "bsky_chat", NULL) == NULL,
	    "id without #");
	json_decref(doc);
	lone = json_loads("{\"id\":\"did:web:a\",\"service\":{\"id\":\"#s\","
	    "\"type\":\"T\",\"serviceEndpoint\":\"http://a:1\"}}", 0, NULL);
	T_EQ_STR(upstream_service_endpoint(lone, "#s", "T"), "http://a:1");
	json_decref(lone);
}

/* ---- Accept-Encoding ---------------------------------------------------- */

#define AE_PLAIN	"identity;q=1,gzip;q=0.3,deflate;q=0.2,br;q=0.1"

static void
test_accept_encoding(void)
{
	static const struct {
		const char		*in;
		int			 compressed;
		enum upstream_ae_res	 want;
		const char		*out;
	} rows[] = {
		{ NULL, 0, UPSTREAM_AE_OK, "identity;q=1" },
		{ "", 0, UPSTREAM_AE_OK, "identity;q=1" },
		{ "gzip, deflate, br", 0, UPSTREAM_AE_OK, AE_PLAIN },
		{ "gzip, deflate, br, zstd", 0, UPSTREAM_AE_OK, AE_PLAIN },
		{ "*", 0, UPSTREAM_AE_OK, AE_PLAIN },
		{ "GZIP", 0, UPSTREAM_AE_OK, "identity;q=1,gzip;q=0.3" },
		{ "gzip;q=0.5,identity;q=0", 0, UPSTREAM_AE_OK,
		    "gzip;q=0.3,*;q=0" },
		{ "identity;q=0", 0, UPSTREAM_AE_NOT_ACCEPTABLE, NULL },
		{ "*;q=0", 0, UPSTREAM_AE_NOT_ACCEPTABLE, NULL },
		{ "br;q=0.001", 0, UPSTREAM_AE_OK, "identity;q=1,br;q=0.1" },
		{ "gzip, deflate", 1, UPSTREAM_AE_OK,
		    "gzip;q=1,deflate;q=0.9,identity;q=0.1" },
		{ NULL, 1, UPSTREAM_AE_OK, "identity;q=0.1" },
		{ "gzip;q=1.5", 0, UPSTREAM_AE_INVALID, NULL },
		{ "gzip;q=0.0001", 0, UPSTREAM_AE_INVALID, NULL },
		{ "gzip; q=0.5", 0, UPSTREAM_AE_INVALID, NULL },
		{ "gzip;x=1", 0, UPSTREAM_AE_INVALID, NULL },
		{ "gzip;q", 0, UPSTREAM_AE_INVALID, NULL },
		{ "gzip;q=1=2", 0, UPSTREAM_AE_INVALID, NULL },
		{ "gzip;q=1;x", 0, UPSTREAM_AE_INVALID, NULL },
		{ "a=b", 0, UPSTREAM_AE_INVALID, NULL },
		{ " ", 0, UPSTREAM_AE_INVALID, NULL },
		{ "gzip,,br", 0, UPSTREAM_AE_INVALID, NULL },
		{ "gzip;q=abc", 0, UPSTREAM_AE_INVALID, NULL },
		{ "gzip;q=0.5abc", 0, UPSTREAM_AE_OK,
		    "identity;q=1,gzip;q=0.3" },
		{ "gzip;q=0", 0, UPSTREAM_AE_OK, "identity;q=1" },
	};
	char		 out[UPSTREAM_AE_LEN];
	const char	*bad;
	size_t		 i, badlen;
	enum upstream_ae_res r;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		r = upstream_accept_encoding(rows[i].in, rows[i].compressed,
		    out, sizeof(out), &bad, &badlen);
		T_OK(r == rows[i].want, "%s: %d", rows[i].in ? rows[i].in :
		    "(null)", (int)r);
		if (r == UPSTREAM_AE_OK && rows[i].out != NULL)
			T_EQ_STR(out, rows[i].out);
	}
	r = upstream_accept_encoding("gzip, br;q=7", 0, out, sizeof(out), &bad,
	    &badlen);
	T_OK(r == UPSTREAM_AE_INVALID && badlen == 7 &&
	    memcmp(bad, " br;q=7", 7) == 0, "the bad definition is named");
}

/* ---- error bodies ------------------------------------------------------- */

static void
test_error_parse(void)
{
	static const struct {
		const char	*ctype, *body, *error, *message;
	} rows[] = {
		{ "application/json", "{\"error\":\"NotFound\",\"message\":"
		    "\"no such thing\"}", "NotFound", "no such thing" },
		{ NULL, "{\"error\":\"X\"}", "X", NULL },
		{ "application/problem+json; charset=utf-8",
		    "{\"message\":\"m\"}", NULL, "m" },
		{ "text/html", "{\"error\":\"X\"}", NULL, NULL },
		{ "application/json", "{\"error\":1,\"message\":null}", NULL,
		    NULL },
		{ "application/json", "not json", NULL, NULL },
		{ "application/json", "[1,2]", NULL, NULL },
		{ "application/json", "null", NULL, NULL },
		{ "application/json", "{\"error\":\"A\"} x", NULL, NULL },
	};
	struct arena	 a;
	const char	*e, *m;
	size_t		 i;

	arena_init(&a);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		upstream_error_parse(rows[i].ctype, (const uint8_t *)rows[i].body,
		    strlen(rows[i].body), &a, &e, &m);
		T_OK((e == NULL) == (rows[i].error == NULL) && (e == NULL ||
		    strcmp(e, rows[i].error) == 0), "row %zu error", i);
		T_OK((m == NULL) == (rows[i].message == NULL) && (m == NULL ||
		    strcmp(m, rows[i].message) == 0), "row %zu message", i);
	}
	arena_free(&a);
	T_EQ_INT(upstream_is_json_type("APPLICATION/JSON"), 1);
	T_EQ_INT(upstream_is_json_type("application/vnd_x+json"), 1);
	/* \w+ stops at '.': the reference's regex does not match */
	T_EQ_INT(upstream_is_json_type("application/vnd.x+json"), 0);
	T_EQ_INT(upstream_is_json_type("application/x-ndjson"), 0);
	T_EQ_INT(upstream_is_json_type("text/plain"), 0);
	T_EQ_INT(upstream_is_json_type(""), -1);
	T_EQ_INT(upstream_is_json_type(NULL), -1);
}

/* ---- SSRF --------------------------------------------------------------- */

static void
test_ssrf(void)
{
	static const struct {
		const char	*ip;
		int		 want;
	} rows[] = {
		{ "8.8.8.8", 1 }, { "1.1.1.1", 1 }, { "172.32.0.1", 1 },
		{ "100.128.0.1", 1 }, { "127.0.0.1", 0 }, { "127.8.9.10", 0 },
		{ "10.1.2.3", 0 }, { "172.16.0.1", 0 }, { "172.31.255.255", 0 },
		{ "192.168.1.1", 0 }, { "100.64.0.1", 0 }, { "169.254.169.254", 0 },
		{ "0.0.0.0", 0 }, { "224.0.0.1", 0 }, { "255.255.255.255", 0 },
		{ "240.0.0.1", 0 }, { "198.18.0.1", 0 }, { "192.0.2.1", 0 },
		{ "203.0.113.9", 0 }, { "::1", 0 }, { "::", 0 }, { "fe80::1", 0 },
		{ "fc00::1", 0 }, { "fd12:3456::1", 0 }, { "ff02::1", 0 },
		{ "2606:4700:4700::1111", 1 }, { "2a00:1450::1", 1 },
		{ "::ffff:127.0.0.1", 0 }, { "::ffff:8.8.8.8", 1 },
		{ "::ffff:10.0.0.1", 0 }, { "2001:db8::1", 0 }, { "2002::1", 0 },
		{ "2001::1", 0 }, { "64:ff9b::8.8.8.8", 0 }, { "not an ip", -1 },
		{ "localhost", -1 },
	};
	struct sockaddr_in	s4;
	struct sockaddr_in6	s6;
	size_t			i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		T_OK(upstream_ip_public(rows[i].ip) == rows[i].want, "%s",
		    rows[i].ip);
	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	(void)inet_pton(AF_INET, "127.0.0.1", &s4.sin_addr);
	T_EQ_INT(upstream_addr_public((struct sockaddr *)&s4, sizeof(s4)), 0);
	(void)inet_pton(AF_INET, "9.9.9.9", &s4.sin_addr);
	T_EQ_INT(upstream_addr_public((struct sockaddr *)&s4, sizeof(s4)), 1);
	T_EQ_INT(upstream_addr_public((struct sockaddr *)&s4, 4), 0);
	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	(void)inet_pton(AF_INET6, "2606:4700::1", &s6.sin6_addr);
	T_EQ_INT(upstream_addr_public((struct sockaddr *)&s6, sizeof(s6)), 1);
	T_EQ_INT(upstream_addr_public(NULL, 0), 0);
}

/* ---- service auth ------------------------------------------------------- */

struct keys {
	struct key	*first;		/* handed out without force */
	struct key	*fresh;		/* handed out with force */
	int		 calls, forced;
};

static int
key_copy(const struct key *k, struct key **out)
{
	char	did[KEY_DID_LEN];

	key_did(k, did);
	return key_parse_did(did, strlen(did), out) == KEY_OK ? 1 : -1;
}

static int
test_key_fn(void *arg, const char *did, int force, struct key **out)
{
	struct keys	*ks = arg;

	(void)did;
	ks->calls++;
	ks->forced += force;
	if (force && ks->fresh != NULL)
		return key_copy(ks->fresh, out);
	if (ks->first == NULL)
		return 0;
	return key_copy(ks->first, out);
}

static enum svcauth_err
verify(const char *tok, const char *aud, const char *lxm, int64_t now_ms,
    struct keys *ks, struct svcauth_claims *c, struct arena *a)
{
	struct svcauth_params	p;

	memset(&p, 0, sizeof(p));
	p.aud = aud;
	p.lxm = lxm;
	p.now_ms = now_ms;
	p.key_fn = test_key_fn;
	p.key_arg = ks;
	return svcauth_verify(tok, strlen(tok), &p, a, c);
}

static char *
sign(const struct key *k, const char *iss, const char *aud, const char *lxm,
    int64_t exp)
{
	struct buf	b;
	char		*s;

	buf_init(&b, LIM_JWT_LEN + 1);
	if (svcauth_sign(k, iss, aud, lxm, exp, &b) != SVCAUTH_OK) {
		buf_free(&b);
		return NULL;
	}
	s = strdup((const char *)b.data);
	buf_free(&b);
	return s;
}

/* A token with our own header (typ) and payload, signed with k. */
static char *
sign_raw(const struct key *k, const char *typ, json_t *payload)
{
	struct jwt_key	jk = { k, NULL, 0 };
	struct buf	b;
	json_t		*h;
	char		*s = NULL;

	h = typ != NULL ? json_pack("{s:s, s:s}", "typ", typ, "alg", "ES256K") :
	    json_pack("{s:s}", "alg", "ES256K");
	buf_init(&b, LIM_JWT_LEN + 1);
	if (jwt_encode(JWT_ALG_ES256K, h, payload, &jk, &b) == JWT_OK)
		s = strdup((const char *)b.data);
	buf_free(&b);
	json_decref(h);
	json_decref(payload);
	return s;
}

static void
test_svcauth_sign_verify(struct key *k, struct key *k2)
{
	const char		*iss = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";
	const char		*aud = "did:web:api.bsky.app";
	const char		*lxm = "app.bsky.feed.getTimeline";
	struct keys		 ks = { k, NULL, 0, 0 };
	struct svcauth_claims	 c;
	struct arena		 a;
	int64_t			 now = util_now_ms();
	char			*tok, *t2;
	size_t			 i;

	arena_init(&a);
	tok = sign(k, iss, aud, lxm, 0);
	T_OK(tok != NULL, "signs");
	T_OK(verify(tok, aud, lxm, 0, &ks, &c, &a) == SVCAUTH_OK, "verifies");
	T_EQ_STR(c.iss, iss);
	T_EQ_STR(c.iss_did, iss);
	T_EQ_STR(c.aud, aud);
	T_EQ_STR(c.lxm, lxm);
	T_OK(c.jti != NULL && strlen(c.jti) == 32, "jti is 16 bytes hex");
	for (i = 0; c.jti != NULL && c.jti[i] != '\0'; i++)
		T_OK(strchr("0123456789abcdef", c.jti[i]) != NULL, "hex jti");
	T_OK(c.exp >= now / 1000 + 59 && c.exp <= now / 1000 + 61,
	    "exp = iat + 60");
	/* the checks, in verifyJwt()'s order */
	T_OK(verify(tok, "did:web:other", lxm, 0, &ks, &c, &a) ==
	    SVCAUTH_ERR_AUDIENCE, "audience");
	T_OK(verify(tok, NULL, lxm, 0, &ks, &c, &a) == SVCAUTH_OK,
	    "aud check skipped");
	T_OK(verify(tok, aud, "app.bsky.feed.getFeed", 0, &ks, &c, &a) ==
	    SVCAUTH_ERR_LXM, "lxm mismatch");
	T_OK(verify(tok, aud, NULL, 0, &ks, &c, &a) == SVCAUTH_OK,
	    "lxm check skipped");
	T_OK(verify(tok, aud, lxm, now + 62000, &ks, &c, &a) ==
	    SVCAUTH_ERR_EXPIRED, "expired");
	T_OK(verify(tok, "did:web:other", lxm, now + 62000, &ks, &c, &a) ==
	    SVCAUTH_ERR_EXPIRED, "expiry before audience");
	t2 = sign(k, iss, aud, NULL, 0);
	T_OK(verify(t2, aud, lxm, 0, &ks, &c, &a) == SVCAUTH_ERR_LXM_MISSING,
	    "missing lxm");
	T_OK(verify(t2, aud, NULL, 0, &ks, &c, &a) == SVCAUTH_OK && c.lxm ==
	    NULL, "no lxm");
	free(t2);
	/* another key signed it; a forced refresh finds the rotated key */
	ks.first = k2;
	ks.forced = 0;
	T_OK(verify(tok, aud, lxm, 0, &ks, &c, &a) == SVCAUTH_ERR_SIGNATURE,
	    "wrong key");
	T_EQ_INT(ks.forced, 1);
	ks.fresh = k;
	T_OK(verify(tok, aud, lxm, 0, &ks, &c, &a) == SVCAUTH_OK,
	    "rotated key");
	ks.first = NULL;
	ks.fresh = NULL;
	T_OK(verify(tok, aud, lxm, 0, &ks, &c, &a) == SVCAUTH_ERR_NO_KEY,
	    "no key");
	ks.first = k;
	/* a flipped signature byte */
	t2 = strdup(tok);
	t2[strlen(t2) - 5] = t2[strlen(t2) - 5] == 'A' ? 'B' : 'A';
	T_OK(verify(t2, aud, lxm, 0, &ks, &c, &a) == SVCAUTH_ERR_SIGNATURE ||
	    verify(t2, aud, lxm, 0, &ks, &c, &a) == SVCAUTH_ERR_BAD_JWT,
	    "tampered signature");
	free(t2);
	free(tok);
	arena_free(&a);
}

static void
test_svcauth_refusals(struct key *k)
{
	struct keys		 ks = { k, NULL, 0, 0 };
	struct svcauth_claims	 c;
	struct arena		 a;
	int64_t			 exp = util_now_ms() / 1000 + 60;
	char			*t;

	arena_init(&a);
	t = sign_raw(k, "at+jwt", json_pack("{s:s, s:s, s:I}", "iss",
	    "did:plc:abc", "aud", "did:web:a", "exp", (json_int_t)exp));
	T_OK(t != NULL && verify(t, "did:web:a", NULL, 0, &ks, &c, &a) ==
	    SVCAUTH_ERR_TYPE, "at+jwt typ");
	free(t);
	t = sign_raw(k, "dpop+jwt", json_pack("{s:s, s:s, s:I}", "iss",
	    "did:plc:abc", "aud", "did:web:a", "exp", (json_int_t)exp));
	T_OK(verify(t, "did:web:a", NULL, 0, &ks, &c, &a) == SVCAUTH_ERR_TYPE,
	    "dpop+jwt typ");
	free(t);
	t = sign_raw(k, NULL, json_pack("{s:s, s:s}", "iss", "did:plc:abc",
	    "aud", "did:web:a"));
	T_OK(verify(t, "did:web:a", NULL, 0, &ks, &c, &a) ==
	    SVCAUTH_ERR_BAD_JWT, "no exp");
	free(t);
	t = sign_raw(k, NULL, json_pack("{s:s, s:s, s:I, s:i}", "iss",
	    "did:plc:abc", "aud", "did:web:a", "exp", (json_int_t)exp, "lxm",
	    5));
	T_OK(verify(t, "did:web:a", NULL, 0, &ks, &c, &a) ==
	    SVCAUTH_ERR_BAD_JWT, "lxm not a string");
	free(t);
	t = sign_raw(k, "JWT", json_pack("{s:s, s:s, s:I}", "iss",
	    "not-a-did", "aud", "did:web:a", "exp", (json_int_t)exp));
	T_OK(verify(t, "did:web:a", NULL, 0, &ks, &c, &a) == SVCAUTH_ERR_ISS,
	    "iss not a DID");
	free(t);
	t = sign_raw(k, "JWT", json_pack("{s:s, s:s, s:I}", "iss",
	    "did:plc:abc#atproto_labeler", "aud", "did:web:a", "exp",
	    (json_int_t)exp));
	T_OK(verify(t, "did:web:a", NULL, 0, &ks, &c, &a) == SVCAUTH_OK &&
	    strcmp(c.iss_did, "did:plc:abc") == 0, "iss with a service id");
	free(t);
	t = sign_raw(k, "JWT", json_pack("{s:s, s:s, s:I}", "iss",
	    "did:plc:abc#", "aud", "did:web:a", "exp", (json_int_t)exp));
	T_OK(verify(t, "did:web:a", NULL, 0, &ks, &c, &a) == SVCAUTH_ERR_ISS,
	    "empty service id");
	free(t);
	T_OK(verify("a.b", NULL, NULL, 0, &ks, &c, &a) == SVCAUTH_ERR_BAD_JWT,
	    "two segments");
	T_OK(verify("", NULL, NULL, 0, &ks, &c, &a) == SVCAUTH_ERR_BAD_JWT,
	    "empty");
	T_EQ_STR(svcauth_err_name(SVCAUTH_ERR_EXPIRED), "JwtExpired");
	T_EQ_STR(svcauth_err_name(SVCAUTH_ERR_AUDIENCE), "BadJwtAudience");
	T_EQ_STR(svcauth_err_name(SVCAUTH_ERR_LXM), "BadJwtLexiconMethod");
	arena_free(&a);
}

int
main(void)
{
	struct key	*k = NULL, *k2 = NULL, *p = NULL;

	test_proxy_header();
	test_origin();
	test_service_endpoint();
	test_accept_encoding();
	test_error_parse();
	test_ssrf();
	T_OK(key_new_k256(&k) == KEY_OK && key_new_k256(&k2) == KEY_OK &&
	    key_new(KEY_TYPE_P256, &p) == KEY_OK, "keys");
	if (k != NULL && k2 != NULL && p != NULL) {
		test_svcauth_sign_verify(k, k2);
		test_svcauth_sign_verify(p, k);	/* ES256 */
		test_svcauth_refusals(k);
	}
	key_free(k);
	key_free(k2);
	key_free(p);
	return t_done("proxy");
}
