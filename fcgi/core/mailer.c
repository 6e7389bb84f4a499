/*
 * mailer.c: SMTP URL parsing, message encoding and delivery with libcurl
 * (see mailer.h).  Owns nothing but the bytes of one message at a time;
 * the handlers decide what to say.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "enc.h"
#include "log.h"
#include "mailer.h"
#include "util.h"

/* ---- small helpers ------------------------------------------------------ */

/* Percent-decodes (p, n) into out (outsz bytes, NUL-terminated); plus
 * turns '+' into a space (query strings).  Refuses bad escapes, NUL and
 * control bytes, and overflow.  Returns 0 or -1. */
static int
pct_decode(const char *p, size_t n, int plus, char *out, size_t outsz)
{
	size_t	i, o = 0;
	int	c, h, l;

	for (i = 0; i < n; i++) {
		c = (unsigned char)p[i];
		if (c == '%') {
			if (n - i < 3)
				return -1;
			if ((h = enc_hex_digit(p[i + 1])) < 0 ||
			    (l = enc_hex_digit(p[i + 2])) < 0)
				return -1;
			c = h * 16 + l;
			i += 2;
		} else if (c == '+' && plus)
			c = ' ';
		if (c < 0x20 || c == 0x7f || o + 1 >= outsz)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

static int
ieq(const char *p, size_t n, const char *lit)
{
	return strlen(lit) == n && strncasecmp(p, lit, n) == 0;
}

/* nodemailer's query values: "true"/"1" and "false"/"0". */
static int
query_bool(const char *v, int *out)
{
	if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
		*out = 1;
	else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
		*out = 0;
	else
		return -1;
	return 0;
}

/* ---- the SMTP URL ------------------------------------------------------- */

/* A DNS name or IPv4 literal: letters, digits, '.', '-', '_'. */
static int
host_ok(const char *p, size_t n)
{
	size_t	i;

	if (n == 0 || n > LIM_SMTP_HOST)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)p[i]) && p[i] != '.' &&
		    p[i] != '-' && p[i] != '_')
			return 0;
	return 1;
}

static int
url_host(const char *p, size_t n, struct mailer_url *u, const char **why)
{
	const char	*colon = NULL, *end = p + n, *close;
	unsigned char	 tmp[16];
	int64_t		 port;

	if (n > 0 && p[0] == '[') {
		if ((close = memchr(p, ']', n)) == NULL ||
		    (size_t)(close - p - 1) > LIM_SMTP_HOST) {
			*why = "bad IPv6 literal";
			return -1;
		}
		memcpy(u->host, p + 1, (size_t)(close - p - 1));
		u->host[close - p - 1] = '\0';
		if (inet_pton(AF_INET6, u->host, tmp) != 1) {
			*why = "bad IPv6 literal";
			return -1;
		}
		u->ipv6 = 1;
		if (close + 1 < end && close[1] != ':') {
			*why = "bad host";
			return -1;
		}
		colon = close + 1 < end ? close + 1 : NULL;
	} else {
		colon = memchr(p, ':', n);
		if (!host_ok(p, colon != NULL ? (size_t)(colon - p) : n)) {
			*why = "bad host";
			return -1;
		}
		memcpy(u->host, p, colon != NULL ? (size_t)(colon - p) : n);
		u->host[colon != NULL ? colon - p : (ptrdiff_t)n] = '\0';
	}
	if (colon != NULL) {
		if (util_int_parse(colon + 1, (size_t)(end - colon - 1), 1,
		    65535, &port) == -1) {
			*why = "bad port";
			return -1;
		}
		u->port = (int)port;
	}
	return 0;
}

static int
url_userinfo(const char *p, size_t n, struct mailer_url *u, const char **why)
{
	const char	*colon = memchr(p, ':', n);
	size_t		 ulen = colon != NULL ? (size_t)(colon - p) : n;

	if (pct_decode(p, ulen, 0, u->user, sizeof(u->user)) == -1 ||
	    (colon != NULL && pct_decode(colon + 1, n - ulen - 1, 0, u->pass,
	    sizeof(u->pass)) == -1)) {
		*why = "bad user or password (percent-encoding, length or "
		    "control characters)";
		return -1;
	}
	u->has_auth = 1;
	return 0;
}

/* One key=value of the query.  Unknown keys are ignored (nodemailer
 * ignores them too); known ones must carry a recognised value. */
static int
url_option(const char *p, size_t n, int *secure, int *require, int *ignore,
    struct mailer_url *u, const char **why)
{
	const char	*eq = memchr(p, '=', n);
	char		 key[64], val[LIM_SMTP_HOST + 1];
	int		 b;

	if (n == 0)
		return 0;
	if (pct_decode(p, eq != NULL ? (size_t)(eq - p) : n, 1, key,
	    sizeof(key)) == -1) {
		*why = "bad query";
		return -1;
	}
	if (pct_decode(eq != NULL ? eq + 1 : p + n, eq != NULL ?
	    n - (size_t)(eq - p) - 1 : 0, 1, val, sizeof(val)) == -1) {
		*why = "bad query value";
		return -1;
	}
	if (strcmp(key, "name") == 0) {
		if (!host_ok(val, strlen(val))) {
			*why = "bad name option";
			return -1;
		}
		memcpy(u->name, val, strlen(val) + 1);
		return 0;
	}
	if (strcmp(key, "secure") != 0 && strcmp(key, "requireTLS") != 0 &&
	    strcmp(key, "ignoreTLS") != 0 &&
	    strcmp(key, "tls.rejectUnauthorized") != 0)
		return 0;
	if (query_bool(val, &b) == -1) {
		*why = "option value is not true, false, 1 or 0";
		return -1;
	}
	if (strcmp(key, "secure") == 0)
		*secure = b;
	else if (strcmp(key, "requireTLS") == 0)
		*require = b;
	else if (strcmp(key, "ignoreTLS") == 0)
		*ignore = b;
	else
		u->verify = b;
	return 0;
}

static int
url_query(const char *p, size_t n, struct mailer_url *u, int implicit,
    const char **why)
{
	const char	*amp, *end = p + n;
	int		 secure = -1, require = 0, ignore = 0;

	while (p < end) {
		amp = memchr(p, '&', (size_t)(end - p));
		if (amp == NULL)
			amp = end;
		if (url_option(p, (size_t)(amp - p), &secure, &require,
		    &ignore, u, why) == -1)
			return -1;
		p = amp + 1;
	}
	/* nodemailer: secure unset and port 465 means implicit TLS */
	if (secure == -1)
		secure = implicit || u->port == 465;
	if (u->port == 0)
		u->port = secure ? 465 : 587;
	u->tls = secure ? MAILER_TLS_IMPLICIT : ignore ? MAILER_TLS_NONE :
	    require ? MAILER_TLS_REQUIRE : MAILER_TLS_TRY;
	return 0;
}

int
mailer_url_parse(const char *s, size_t len, struct mailer_url *out,
    const char **why)
{
	const char	*sep, *auth, *aend, *at, *q, *end = s + len;
	int		 implicit;
	size_t		 i;

	memset(out, 0, sizeof(*out));
	out->verify = 1;
	*why = "bad URL";
	if (len == 0 || len > LIM_SMTP_URL)
		goto fail;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 ||
		    (unsigned char)s[i] >= 0x7f || s[i] == '#')
			goto fail;	/* spaces, controls, fragments */
	if ((sep = memmem(s, len, "://", 3)) == NULL) {
		*why = "no scheme";
		goto fail;
	}
	if (ieq(s, (size_t)(sep - s), "smtps"))
		implicit = 1;
	else if (ieq(s, (size_t)(sep - s), "smtp"))
		implicit = 0;
	else {
		*why = "scheme is not smtp or smtps";
		goto fail;
	}
	auth = sep + 3;
	for (aend = auth; aend < end && *aend != '/' && *aend != '?'; aend++)
		;
	for (at = NULL, q = auth; q < aend; q++)
		if (*q == '@')
			at = q;
	if (at != NULL && url_userinfo(auth, (size_t)(at - auth), out,
	    why) == -1)
		goto fail;
	if (url_host(at != NULL ? at + 1 : auth, (size_t)(aend - (at != NULL ?
	    at + 1 : auth)), out, why) == -1)
		goto fail;
	q = aend;
	if (q < end && *q == '/')
		q++;
	if (q < end && *q != '?') {
		*why = "the URL has a path";
		goto fail;
	}
	if (url_query(q < end ? q + 1 : end, q < end ? (size_t)(end - q - 1) :
	    0, out, implicit, why) == -1)
		goto fail;
	return 0;
fail:
	mailer_url_fini(out);
	memset(out, 0, sizeof(*out));
	return -1;
}

void
mailer_url_fini(struct mailer_url *u)
{
	if (u == NULL)
		return;
	util_wipe(u->user, sizeof(u->user));
	util_wipe(u->pass, sizeof(u->pass));
}

/* ---- addresses ---------------------------------------------------------- */

/* An addr-spec as we accept it: printable ASCII (no SMTPUTF8), one '@'
 * with non-empty sides, no space, quote, bracket, comma or semicolon. */
static int
addr_ok(const char *p, size_t n)
{
	const char	*at = NULL;
	size_t		 i;

	if (n == 0 || n > LIM_EMAIL_LEN)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c <= 0x20 || c >= 0x7f || strchr("<>()[],;:\\\"", c) !=
		    NULL)
			return 0;
		if (c == '@') {
			if (at != NULL)
				return 0;
			at = p + i;
		}
	}
	return at != NULL && at > p && at < p + n - 1;
}

int
mailer_addr_parse(const char *s, size_t len, char *out)
{
	const char	*lt, *gt;
	size_t		 i, n;

	for (i = 0; i < len; i++)
		if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0')
			return -1;
	if ((lt = memchr(s, '<', len)) != NULL) {
		gt = memchr(lt, '>', len - (size_t)(lt - s));
		/* "Name <addr>": nothing may follow the '>' but blanks */
		if (gt == NULL)
			return -1;
		for (i = (size_t)(gt - s) + 1; i < len; i++)
			if (s[i] != ' ' && s[i] != '\t')
				return -1;
		s = lt + 1;
		n = (size_t)(gt - lt - 1);
	} else {
		while (len > 0 && (*s == ' ' || *s == '\t')) {
			s++;
			len--;
		}
		while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
			len--;
		n = len;
	}
	if (!addr_ok(s, n))
		return -1;
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

/* ---- message encoding --------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p (n bytes left), or 0. */
static size_t
utf8_seq(const unsigned char *p, size_t n)
{
	size_t		len, i;
	uint32_t	cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

static int
utf8_valid(const char *s, size_t n)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i = 0, l;

	while (i < n) {
		if ((l = utf8_seq(p + i, n - i)) == 0 || p[i] == 0)
			return 0;
		i += l;
	}
	return 1;
}

/* Subject: as is when short printable ASCII, else RFC 2047 "B" words of
 * whole UTF-8 characters, each at most 75 chars, folded. */
static int
enc_subject(struct buf *b, const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n = strlen(s), i, take, l;
	char			 b64[64];
	int			 plain = n <= LIM_MAIL_LINE, first = 1;

	for (i = 0; i < n && plain; i++)
		plain = p[i] >= 0x20 && p[i] < 0x7f;
	if (plain)
		return buf_printf(b, "Subject: %s\r\n", s);
	if (buf_puts(b, "Subject:") == -1)
		return -1;
	for (i = 0; i < n; i += take) {
		/* 36 bytes give 48 base64 chars: "=?UTF-8?B?" + 48 + "?="
		 * is 60, which fits after "Subject: " within 76 */
		for (take = 0; i + take < n; take += l) {
			l = utf8_seq(p + i + take, n - i - take);
			if (take + l > 36)
				break;
		}
		(void)enc_b64_encode(ENC_B64_STD, 1, p + i, take, b64);
		if (buf_printf(b, "%s=?UTF-8?B?%s?=", first ? " " : "\r\n ",
		    b64) == -1)
			return -1;
		first = 0;
	}
	return buf_puts(b, "\r\n");
}

/* Quoted-printable (RFC 2045 6.7) with CRLF line ends; LF or CRLF in
 * the input end lines. */
static int
enc_qp(struct buf *b, const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n = strlen(s), i, col = 0;
	char			 tok[4];
	int			 eol;

	for (i = 0; i < n; i++) {
		if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n')
			continue;
		if (p[i] == '\n') {
			if (buf_puts(b, "\r\n") == -1)
				return -1;
			col = 0;
			continue;
		}
		eol = i + 1 == n || p[i + 1] == '\n' || p[i + 1] == '\r';
		if ((p[i] >= 33 && p[i] <= 126 && p[i] != '=') ||
		    ((p[i] == ' ' || p[i] == '\t') && !eol))
			(void)snprintf(tok, sizeof(tok), "%c", p[i]);
		else
			(void)snprintf(tok, sizeof(tok), "=%02X", p[i]);
		if (col + strlen(tok) > LIM_MAIL_LINE - 1) {
			if (buf_puts(b, "=\r\n") == -1)
				return -1;
			col = 0;
		}
		if (buf_puts(b, tok) == -1)
			return -1;
		col += strlen(tok);
	}
	return buf_puts(b, "\r\n");
}

/* "Sat, 21 Nov 2026 15:58:19 +0000" without the locale. */
static int
enc_date(struct buf *b, int64_t ms)
{
	static const char *const wd[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat" };
	static const char *const mo[] = { "Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t		t = (time_t)(ms / 1000);
	struct tm	tm;

	if (gmtime_r(&t, &tm) == NULL || tm.tm_wday < 0 || tm.tm_wday > 6 ||
	    tm.tm_mon < 0 || tm.tm_mon > 11)
		return -1;
	return buf_printf(b, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n",
	    wd[tm.tm_wday], tm.tm_mday, mo[tm.tm_mon], tm.tm_year + 1900,
	    tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static int
enc_part(struct buf *b, const char *type, const char *body)
{
	return buf_printf(b, "Content-Type: %s; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n", type) ||
	    enc_qp(b, body) ? -1 : 0;
}

/* Checks the parts of msg before anything is written. */
static int
msg_check(const struct mailer_msg *msg, char *from_addr, char *to_addr,
    const char **why)
{
	size_t	i;

	*why = "bad From address";
	if (msg->from == NULL || strlen(msg->from) > LIM_MAIL_SUBJECT ||
	    mailer_addr_parse(msg->from, strlen(msg->from), from_addr) == -1)
		return -1;
	for (i = 0; msg->from[i] != '\0'; i++)
		if ((unsigned char)msg->from[i] >= 0x7f)
			return -1;
	*why = "bad recipient address";
	if (msg->to == NULL || strchr(msg->to, '<') != NULL ||
	    mailer_addr_parse(msg->to, strlen(msg->to), to_addr) == -1)
		return -1;
	*why = "bad subject";
	if (msg->subject == NULL || strlen(msg->subject) > LIM_MAIL_SUBJECT ||
	    strpbrk(msg->subject, "\r\n") != NULL ||
	    !utf8_valid(msg->subject, strlen(msg->subject)))
		return -1;
	*why = "bad body";
	if (msg->text == NULL || strlen(msg->text) > LIM_MAIL_BODY ||
	    !utf8_valid(msg->text, strlen(msg->text)) ||
	    (msg->html != NULL && (strlen(msg->html) > LIM_MAIL_BODY ||
	    !utf8_valid(msg->html, strlen(msg->html)))))
		return -1;
	return 0;
}

int
mailer_msg_encode(const struct mailer_msg *msg, int64_t now_ms,
    struct buf *out, const char **why)
{
	char		 from[LIM_EMAIL_LEN + 1], to[LIM_EMAIL_LEN + 1];
	char		 id[33], bnd[40];
	uint8_t		 rnd[16];
	const char	*domain;

	if (msg_check(msg, from, to, why) == -1)
		return -1;
	*why = "out of memory or message too large";
	if (util_random(rnd, sizeof(rnd)) == -1)
		return -1;
	(void)enc_hex_encode(rnd, sizeof(rnd), id);
	domain = strchr(from, '@') + 1;
	if (buf_printf(out, "From: %s\r\nTo: %s\r\n", msg->from, to) == -1 ||
	    enc_subject(out, msg->subject) == -1 || enc_date(out, now_ms) ==
	    -1 || buf_printf(out, "Message-ID: <%s@%s>\r\n"
	    "MIME-Version: 1.0\r\n", id, domain) == -1)
		return -1;
	if (msg->html == NULL)
		return enc_part(out, "text/plain", msg->text);
	(void)snprintf(bnd, sizeof(bnd), "=_pds_%.16s", id + 16);
	if (buf_printf(out, "Content-Type: multipart/alternative;"
	    " boundary=\"%s\"\r\n\r\n--%s\r\n", bnd, bnd) == -1 ||
	    enc_part(out, "text/plain", msg->text) == -1 ||
	    buf_printf(out, "--%s\r\n", bnd) == -1 ||
	    enc_part(out, "text/html", msg->html) == -1 ||
	    buf_printf(out, "--%s--\r\n", bnd) == -1)
		return -1;
	return 0;
}

/* ---- the mailer --------------------------------------------------------- */

int
mailer_init(struct mailer *m, const char *smtp_url, const char *from,
    const char *label, char *err, size_t errsz)
{
	const char	*why;

	memset(m, 0, sizeof(*m));
	m->label = label;
	if (smtp_url == NULL && from == NULL)
		return 0;
	if (smtp_url == NULL || from == NULL) {
		(void)snprintf(err, errsz, "%s: the SMTP URL and the From "
		    "address must be set together", label);
		return -1;
	}
	if (mailer_url_parse(smtp_url, strlen(smtp_url), &m->url, &why) ==
	    -1) {
		(void)snprintf(err, errsz, "%s: SMTP URL: %s", label, why);
		return -1;
	}
	if (mailer_addr_parse(from, strlen(from), m->from_addr) == -1 ||
	    (m->from = strdup(from)) == NULL) {
		mailer_url_fini(&m->url);
		(void)snprintf(err, errsz, "%s: bad From address", label);
		return -1;
	}
	m->enabled = 1;
	return 0;
}

void
mailer_fini(struct mailer *m)
{
	if (m == NULL)
		return;
	mailer_url_fini(&m->url);
	free(m->from);
	memset(m, 0, sizeof(*m));
}

struct mailer_src {
	const struct buf	*b;
	size_t			 off;
};

static size_t
mailer_read(char *p, size_t size, size_t nmemb, void *arg)
{
	struct mailer_src	*src = arg;
	size_t			 n = size * nmemb, left;

	left = src->b->len - src->off;
	if (n > left)
		n = left;
	memcpy(p, src->b->data + src->off, n);
	src->off += n;
	return n;
}

static int
mailer_setup(CURL *c, const struct mailer *m, const char *to,
    struct mailer_src *src, struct curl_slist **rcpt, char *ebuf)
{
	const struct mailer_url	*u = &m->url;
	char			 url[LIM_SMTP_HOST * 2 + 64];
	char			 addr[LIM_EMAIL_LEN + 3];
	long			 ssl;
	int			 bad = 0;

	if (snprintf(url, sizeof(url), "%s://%s%s%s:%d/%s",
	    u->tls == MAILER_TLS_IMPLICIT ? "smtps" : "smtp",
	    u->ipv6 ? "[" : "", u->host, u->ipv6 ? "]" : "", u->port,
	    u->name) >= (int)sizeof(url))
		return -1;
	(void)snprintf(addr, sizeof(addr), "<%s>", to);
	if ((*rcpt = curl_slist_append(NULL, addr)) == NULL)
		return -1;
	ssl = u->tls == MAILER_TLS_TRY ? CURLUSESSL_TRY : u->tls ==
	    MAILER_TLS_NONE ? CURLUSESSL_NONE : CURLUSESSL_ALL;
	(void)snprintf(addr, sizeof(addr), "<%s>", m->from_addr);
	bad |= curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK;
#if LIBCURL_VERSION_NUM >= 0x075500
	bad |= curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps") !=
	    CURLE_OK;
#else
	bad |= curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_SMTP |
	    CURLPROTO_SMTPS)) != CURLE_OK;
#endif
	bad |= curl_easy_setopt(c, CURLOPT_USE_SSL, ssl) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, (long)u->verify) !=
	    CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, u->verify ? 2L :
	    0L) != CURLE_OK;
	if (u->has_auth) {
		bad |= curl_easy_setopt(c, CURLOPT_USERNAME, u->user) !=
		    CURLE_OK;
		bad |= curl_easy_setopt(c, CURLOPT_PASSWORD, u->pass) !=
		    CURLE_OK;
	}
	bad |= curl_easy_setopt(c, CURLOPT_MAIL_FROM, addr) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_MAIL_RCPT, *rcpt) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_UPLOAD, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_READFUNCTION, mailer_read) !=
	    CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_READDATA, src) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
	    (curl_off_t)src->b->len) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)LIM_SMTP_CONNECT_MS) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
	    (long)LIM_SMTP_TIMEOUT_MS) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf) != CURLE_OK;
	return bad ? -1 : 0;
}

/* Delivers the encoded message b to one recipient. */
static int
mailer_deliver(const struct mailer *m, const char *to, const struct buf *b,
    char *err, size_t errsz)
{
	struct mailer_src	 src = { b, 0 };
	struct curl_slist	*rcpt = NULL;
	char			 ebuf[CURL_ERROR_SIZE];
	long			 code = 0;
	CURL			*c;
	CURLcode		 cc;
	int			 rc = -1;

	ebuf[0] = '\0';
	if ((c = curl_easy_init()) == NULL) {
		(void)snprintf(err, errsz, "curl_easy_init failed");
		return -1;
	}
	if (mailer_setup(c, m, to, &src, &rcpt, ebuf) == -1) {
		(void)snprintf(err, errsz, "curl setup failed");
		goto out;
	}
	if ((cc = curl_easy_perform(c)) != CURLE_OK) {
		(void)curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		if (ebuf[0] == '\0' || strcmp(ebuf, curl_easy_strerror(cc)) == 0)
			(void)snprintf(err, errsz, "%s (SMTP reply %ld)",
			    curl_easy_strerror(cc), code);
		else
			(void)snprintf(err, errsz, "%s (%s; SMTP reply %ld)",
			    ebuf, curl_easy_strerror(cc), code);
		goto out;
	}
	rc = 0;
out:
	curl_slist_free_all(rcpt);
	curl_easy_cleanup(c);
	return rc;
}

int
mailer_send(struct mailer *m, const struct mailer_msg *msg, char *err,
    size_t errsz)
{
	struct mailer_msg	 mm = *msg;
	struct buf		 b;
	const char		*why;
	char			 to[LIM_EMAIL_LEN + 1], esc[LIM_EMAIL_LEN * 4];
	char			 subj[256];
	int			 rc;

	if (mm.from == NULL)
		mm.from = m->from;
	if (!m->enabled) {
		/* the reference logs the message it would have sent */
		if (mm.to == NULL || mailer_addr_parse(mm.to, strlen(mm.to),
		    to) == -1) {
			(void)snprintf(err, errsz, "bad recipient address");
			return -1;
		}
		log_escape(esc, sizeof(esc), to, strlen(to));
		log_escape(subj, sizeof(subj), mm.subject != NULL ? mm.subject :
		    "", mm.subject != NULL ? strlen(mm.subject) : 0);
		log_info("%s: no SMTP URL has been configured; intended to send "
		    "\"%s\" to %s%s%s", m->label, subj, esc,
		    mm.log_note != NULL ? ": " : "",
		    mm.log_note != NULL ? mm.log_note : "");
		return 0;
	}
	buf_init(&b, LIM_MAIL_MESSAGE);
	if (mailer_msg_encode(&mm, util_now_ms(), &b, &why) == -1) {
		(void)snprintf(err, errsz, "%s", why);
		buf_free(&b);
		return -1;
	}
	(void)mailer_addr_parse(mm.to, strlen(mm.to), to);
	rc = mailer_deliver(m, to, &b, err, errsz);
	buf_free(&b);
	return rc;
}
