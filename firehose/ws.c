/*
 * ws.c: the server side of RFC 6455 as pure functions (see ws.h): the
 * upgrade request parser, the accept key, the inbound frame reader and
 * the outbound frame header.  No I/O, no allocation.
 *
 * Why a hand-written framer and not wslay (libwslay-dev is installed):
 *  - The firehose sends one message to many clients.  We encode each
 *    event once, frame it once (header + payload in one refcounted
 *    buffer) and hand the same bytes to every client's socket.  wslay's
 *    event API copies each queued message per connection (or pulls it
 *    through a per-connection callback), which is the cost we avoid.
 *  - The server only ever sends unfragmented binary, close and pong
 *    frames and reads almost nothing, so the sending side is 20 lines.
 *  - The reading side is where the risk is, and we want it strict and
 *    visible: lengths checked against our limits as soon as the length
 *    field is read (a header announcing 1 GB is refused before any
 *    payload), minimal lengths, masks, control-frame rules, UTF-8 across
 *    fragments, and a pure (pointer, length) entry point for libFuzzer.
 *  - wslay does not parse the HTTP upgrade request, which is the other
 *    half of the attack surface; this file does both with one set of
 *    conventions and one fuzz target.
 */
#include <string.h>

#include <openssl/sha.h>

#include "enc.h"
#include "ws.h"

static const char	 ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/* ---- characters --------------------------------------------------------- */

/* RFC 7230 3.2.6 tchar. */
static int
ws_is_tchar(uint8_t c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static uint8_t
ws_lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

/* Case-insensitive compare of (p, len) with a lowercase C string. */
static int
ws_ieq(const char *p, size_t len, const char *lc)
{
	size_t	i;

	if (strlen(lc) != len)
		return 0;
	for (i = 0; i < len; i++)
		if (ws_lower((uint8_t)p[i]) != (uint8_t)lc[i])
			return 0;
	return 1;
}

static struct ws_str
ws_trim(const char *p, size_t len)
{
	struct ws_str	s;

	while (len > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		len--;
	}
	while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	s.p = p;
	s.len = len;
	return s;
}

/* Does the comma-separated list (p, len) hold the token lc (lowercase),
 * compared case-insensitively after trimming each element? */
static int
ws_list_has(const char *p, size_t len, const char *lc)
{
	struct ws_str	e;
	size_t		i, start = 0;

	for (i = 0; i <= len; i++) {
		if (i < len && p[i] != ',')
			continue;
		e = ws_trim(p + start, i - start);
		if (ws_ieq(e.p, e.len, lc))
			return 1;
		start = i + 1;
	}
	return 0;
}

/* ---- the request head ---------------------------------------------------- */

/* Request line: method SP origin-form SP "HTTP/1.1" (RFC 7230 3.1.1). */
static int
ws_req_line(const char *p, size_t len, struct ws_req *req)
{
	size_t	i = 0, t;

	while (i < len && ws_is_tchar((uint8_t)p[i]))
		i++;
	if (i == 0 || i >= len || p[i] != ' ')
		return -1;
	req->method.p = p;
	req->method.len = i;
	t = ++i;
	while (i < len && (uint8_t)p[i] > 0x20 && (uint8_t)p[i] < 0x7f)
		i++;
	if (i == t || i >= len || p[i] != ' ' || p[t] != '/')
		return -1;
	req->path.p = p + t;
	req->path.len = i - t;
	if (len - i - 1 != 8 || memcmp(p + i + 1, "HTTP/1.1", 8) != 0)
		return -1;
	for (t = 0; t < req->path.len; t++)
		if (req->path.p[t] == '?') {
			req->query.p = req->path.p + t + 1;
			req->query.len = req->path.len - t - 1;
			req->path.len = t;
			break;
		}
	return 0;
}

/* Stores a header that may appear once; -1 on a duplicate. */
static int
ws_once(struct ws_str *dst, struct ws_str v)
{
	if (dst->p != NULL)
		return -1;
	dst->p = v.p;
	dst->len = v.len;
	return 0;
}

/* Content-Length: digits only; any value but 0 means a body. */
static int
ws_content_length(struct ws_str v, struct ws_req *req)
{
	size_t	i;
	int	nonzero = 0;

	if (v.len == 0)
		return -1;
	for (i = 0; i < v.len; i++) {
		if (v.p[i] < '0' || v.p[i] > '9')
			return -1;
		if (v.p[i] != '0')
			nonzero = 1;
	}
	if (nonzero)
		req->has_body = 1;
	return 0;
}

/* One header field line "name: value" (RFC 7230 3.2), no CRLF. */
static int
ws_req_header(const char *p, size_t len, struct ws_req *req,
    struct ws_str *clen)
{
	struct ws_str	v;
	size_t		i = 0;

	while (i < len && ws_is_tchar((uint8_t)p[i]))
		i++;
	if (i == 0 || i >= len || p[i] != ':')
		return -1;
	v = ws_trim(p + i + 1, len - i - 1);
	if (ws_ieq(p, i, "host"))
		return ws_once(&req->host, v);
	if (ws_ieq(p, i, "sec-websocket-key"))
		return ws_once(&req->key, v);
	if (ws_ieq(p, i, "sec-websocket-version"))
		return ws_once(&req->version, v);
	if (ws_ieq(p, i, "content-length")) {
		if (ws_once(clen, v) == -1)
			return -1;
		return ws_content_length(v, req);
	}
	if (ws_ieq(p, i, "transfer-encoding"))
		req->has_body = 1;
	else if (ws_ieq(p, i, "upgrade")) {
		req->upgrade_any = 1;
		if (ws_list_has(v.p, v.len, "websocket"))
			req->upgrade_ws = 1;
	} else if (ws_ieq(p, i, "connection")) {
		if (ws_list_has(v.p, v.len, "upgrade"))
			req->conn_upgrade = 1;
	} else if (ws_ieq(p, i, "x-forwarded-for"))
		(void)ws_once(&req->forwarded, v);
	else if (ws_ieq(p, i, "x-real-ip"))
		(void)ws_once(&req->real_ip, v);
	return 0;
}

/* Bytes allowed in a request head line: visible ASCII, SP, HTAB and
 * obs-text; CR only as part of CRLF (checked by the caller). */
static int
ws_line_bytes_ok(const uint8_t *p, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++)
		if ((p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f)
			return 0;
	return 1;
}

enum ws_hs
ws_req_parse(const uint8_t *p, size_t len, struct ws_req *req)
{
	struct ws_str	clen = { NULL, 0 };
	size_t		pos = 0, lf, nlines = 0, tail;
	const uint8_t	*nl;

	memset(req, 0, sizeof(*req));
	if (len > LIM_WS_HANDSHAKE)
		len = LIM_WS_HANDSHAKE;
	for (;;) {
		nl = memchr(p + pos, '\n', len - pos);
		if (nl == NULL) {
			/* Refuse garbage now rather than at the limit; the
			 * tail may end with the CR of a CRLF to come. */
			tail = len - pos;
			if (tail > 0 && p[len - 1] == '\r')
				tail--;
			if (!ws_line_bytes_ok(p + pos, tail))
				return WS_HS_BAD;
			return len >= LIM_WS_HANDSHAKE ? WS_HS_TOO_LARGE :
			    WS_HS_PARTIAL;
		}
		lf = (size_t)(nl - p);
		if (lf == pos || p[lf - 1] != '\r')
			return WS_HS_BAD;		/* bare LF */
		if (!ws_line_bytes_ok(p + pos, lf - 1 - pos))
			return WS_HS_BAD;
		if (lf - 1 == pos) {			/* the blank line */
			if (nlines == 0)
				return WS_HS_BAD;
			req->hdr_len = lf + 1;
			return WS_HS_OK;
		}
		if (nlines == 0) {
			if (ws_req_line((const char *)p + pos, lf - 1 - pos,
			    req) == -1)
				return WS_HS_BAD;
		} else {
			if (p[pos] == ' ' || p[pos] == '\t')
				return WS_HS_BAD;	/* obs-fold */
			if (ws_req_header((const char *)p + pos, lf - 1 - pos,
			    req, &clen) == -1)
				return WS_HS_BAD;
		}
		if (++nlines > LIM_WS_HEADERS)
			return WS_HS_TOO_LARGE;
		pos = lf + 1;
	}
}

enum ws_up
ws_upgrade_check(const struct ws_req *req)
{
	uint8_t	raw[32];

	if (req->method.len != 3 || memcmp(req->method.p, "GET", 3) != 0)
		return WS_UP_NOT_GET;
	if (!req->upgrade_ws)
		return WS_UP_NO_UPGRADE;
	if (!req->conn_upgrade)
		return WS_UP_BAD_CONNECTION;
	if (req->host.p == NULL)
		return WS_UP_NO_HOST;
	if (req->has_body)
		return WS_UP_BODY;
	if (req->version.p == NULL || req->version.len != 2 ||
	    memcmp(req->version.p, "13", 2) != 0)
		return WS_UP_BAD_VERSION;
	if (req->key.p == NULL || req->key.len != WS_KEY_LEN ||
	    enc_b64_decode(ENC_B64_STD, req->key.p, req->key.len, raw,
	    sizeof(raw)) != 16)
		return WS_UP_BAD_KEY;
	return WS_UP_OK;
}

const char *
ws_up_str(enum ws_up e)
{
	static const char *const s[WS_UP__MAX] = {
		"ok",					/* WS_UP_OK */
		"method must be GET",			/* WS_UP_NOT_GET */
		"not a WebSocket upgrade",		/* WS_UP_NO_UPGRADE */
		"Connection does not list upgrade",	/* WS_UP_BAD_CONNECTION */
		"missing Host",				/* WS_UP_NO_HOST */
		"request has a body",			/* WS_UP_BODY */
		"Sec-WebSocket-Version must be 13",	/* WS_UP_BAD_VERSION */
		"invalid Sec-WebSocket-Key",		/* WS_UP_BAD_KEY */
	};

	return (unsigned)e < WS_UP__MAX ? s[e] : "?";
}

int
ws_accept_key(const char *key, size_t keylen, char out[WS_ACCEPT_LEN + 1])
{
	uint8_t	in[WS_KEY_LEN + sizeof(ws_guid) - 1];
	uint8_t	md[SHA_DIGEST_LENGTH];

	if (keylen != WS_KEY_LEN)
		return -1;
	memcpy(in, key, WS_KEY_LEN);
	memcpy(in + WS_KEY_LEN, ws_guid, sizeof(ws_guid) - 1);
	if (SHA1(in, sizeof(in), md) == NULL)
		return -1;
	if (enc_b64_encode(ENC_B64_STD, 1, md, sizeof(md), out) !=
	    WS_ACCEPT_LEN)
		return -1;
	return 0;
}

/* ---- query strings (WHATWG URLSearchParams, as the reference parses) ---- */

static int
ws_hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = ws_lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
ws_form_decode(const char *s, size_t len, char *out, size_t outsz)
{
	size_t	i, n = 0;
	int	hi, lo;

	for (i = 0; i < len; i++) {
		if (n >= outsz)
			return -1;
		if (s[i] == '+')
			out[n++] = ' ';
		else if (s[i] == '%' && i + 2 < len &&
		    (hi = ws_hexval((uint8_t)s[i + 1])) >= 0 &&
		    (lo = ws_hexval((uint8_t)s[i + 2])) >= 0) {
			out[n++] = (char)(hi << 4 | lo);
			i += 2;
		} else
			out[n++] = s[i];	/* lenient, as URLSearchParams */
	}
	return (int)n;
}

int
ws_query_get(const char *q, size_t qlen, const char *name, struct ws_str *val)
{
	char	dec[64];
	size_t	i, start = 0, eq;
	int	n, count = 0;

	val->p = NULL;
	val->len = 0;
	if (q == NULL)
		return 0;
	for (i = 0; i <= qlen; i++) {
		if (i < qlen && q[i] != '&')
			continue;
		for (eq = start; eq < i && q[eq] != '='; eq++)
			;
		n = ws_form_decode(q + start, eq - start, dec, sizeof(dec));
		if (i > start && n >= 0 && strlen(name) == (size_t)n &&
		    memcmp(dec, name, (size_t)n) == 0) {
			if (count++ == 0) {
				val->p = eq < i ? q + eq + 1 : q + i;
				val->len = eq < i ? i - eq - 1 : 0;
			}
		}
		start = i + 1;
	}
	return count;
}

/* ---- UTF-8 (Unicode 15, table 3-7), streaming --------------------------- */

/*
 * State: 0 when between characters; otherwise bits 16.. hold the number
 * of continuation bytes still needed and bits 0..15 the range (lo, hi)
 * allowed for the next one.
 */
#define WS_U8_REJECT	0xffffffffu
#define WS_U8_ST(n, lo, hi)	((uint32_t)(n) << 16 | (uint32_t)(lo) << 8 | (hi))

static uint32_t
ws_utf8_step(uint32_t st, uint8_t c)
{
	uint32_t	need;

	if (st != 0) {
		if (c < ((st >> 8) & 0xff) || c > (st & 0xff))
			return WS_U8_REJECT;
		need = (st >> 16) - 1;
		return need == 0 ? 0 : WS_U8_ST(need, 0x80, 0xbf);
	}
	if (c < 0x80)
		return 0;
	if (c >= 0xc2 && c <= 0xdf)
		return WS_U8_ST(1, 0x80, 0xbf);
	if (c == 0xe0)
		return WS_U8_ST(2, 0xa0, 0xbf);
	if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef)
		return WS_U8_ST(2, 0x80, 0xbf);
	if (c == 0xed)
		return WS_U8_ST(2, 0x80, 0x9f);
	if (c == 0xf0)
		return WS_U8_ST(3, 0x90, 0xbf);
	if (c >= 0xf1 && c <= 0xf3)
		return WS_U8_ST(3, 0x80, 0xbf);
	if (c == 0xf4)
		return WS_U8_ST(3, 0x80, 0x8f);
	return WS_U8_REJECT;
}

int
ws_utf8_valid(const uint8_t *p, size_t len)
{
	uint32_t	st = 0;
	size_t		i;

	for (i = 0; i < len; i++)
		if ((st = ws_utf8_step(st, p[i])) == WS_U8_REJECT)
			return 0;
	return st == 0;
}

/* ---- inbound frames ------------------------------------------------------ */

void
ws_rx_init(struct ws_rx *rx)
{
	memset(rx, 0, sizeof(*rx));
}

int
ws_close_code_valid(uint32_t code)
{
	/* RFC 6455 7.4.1/7.4.2 and the IANA registry (1012-1014). */
	if (code >= 1000 && code <= 1014)
		return code != 1004 && code != 1005 && code != 1006;
	return code >= 3000 && code <= 4999;
}

static size_t
ws_rx_fail(struct ws_rx *rx, struct ws_event *ev, uint16_t code,
    const char *why)
{
	rx->failed = 1;
	ev->type = WS_EV_ERROR;
	ev->code = code;
	ev->why = why;
	return 0;
}

static void
ws_unmask(uint8_t *p, size_t len, const uint8_t mask[4], uint8_t *off)
{
	size_t	i;
	uint8_t	o = *off;

	for (i = 0; i < len; i++, o = (o + 1) & 3)
		p[i] ^= mask[o];
	*off = o;
}

/* Consumes payload bytes of the current data frame. */
static size_t
ws_rx_payload(struct ws_rx *rx, uint8_t *p, size_t len, struct ws_event *ev)
{
	size_t	n, i;

	n = rx->left < len ? (size_t)rx->left : len;
	ws_unmask(p, n, rx->mask, &rx->mask_off);
	if (rx->msg_text)
		for (i = 0; i < n; i++)
			if ((rx->utf8 = ws_utf8_step(rx->utf8, p[i])) ==
			    WS_U8_REJECT)
				return ws_rx_fail(rx, ev, WS_CLOSE_BAD_DATA,
				    "invalid UTF-8 in a text message");
	rx->left -= n;
	if (rx->left > 0)
		return n;
	rx->in_frame = 0;
	if (rx->fin) {
		if (rx->msg_text && rx->utf8 != 0)
			return ws_rx_fail(rx, ev, WS_CLOSE_BAD_DATA,
			    "truncated UTF-8 in a text message");
		rx->in_msg = 0;
		ev->type = WS_EV_MESSAGE;
	}
	return n;
}

/* A whole control frame is in p: unmask it and report it. */
static size_t
ws_rx_control(struct ws_rx *rx, uint8_t op, uint8_t *p, size_t plen,
    struct ws_event *ev)
{
	uint8_t	off = 0;

	ws_unmask(p, plen, rx->mask, &off);
	ev->payload = p;
	ev->len = plen;
	if (op == WS_OP_PING) {
		ev->type = WS_EV_PING;
		return 0;
	}
	if (op == WS_OP_PONG) {
		ev->type = WS_EV_PONG;
		return 0;
	}
	if (plen == 0) {
		ev->type = WS_EV_CLOSE;
		ev->code = WS_CLOSE_NO_STATUS;
		return 0;
	}
	if (plen == 1)
		return ws_rx_fail(rx, ev, WS_CLOSE_PROTOCOL,
		    "close payload of one byte");
	ev->code = (uint16_t)(p[0] << 8 | p[1]);
	if (!ws_close_code_valid(ev->code))
		return ws_rx_fail(rx, ev, WS_CLOSE_PROTOCOL,
		    "invalid close code");
	if (!ws_utf8_valid(p + 2, plen - 2))
		return ws_rx_fail(rx, ev, WS_CLOSE_BAD_DATA,
		    "invalid UTF-8 in a close reason");
	ev->type = WS_EV_CLOSE;
	ev->payload = p + 2;
	ev->len = plen - 2;
	return 0;
}

/* Length field: returns 0 and sets *plen / *hl, 1 when more bytes are
 * needed, -1 on a non-minimal or 2^63+ length. */
static int
ws_rx_length(const uint8_t *p, size_t len, uint64_t *plen, size_t *hl)
{
	uint64_t	v;
	int		i;

	v = p[1] & 0x7f;
	*hl = 2;
	if (v == 126) {
		if (len < 4)
			return 1;
		v = (uint64_t)p[2] << 8 | p[3];
		*hl = 4;
		if (v < 126)
			return -1;
	} else if (v == 127) {
		if (len < 10)
			return 1;
		for (v = 0, i = 2; i < 10; i++)
			v = v << 8 | p[i];
		*hl = 10;
		if ((v >> 63) != 0 || v <= 0xffff)
			return -1;
	}
	*plen = v;
	return 0;
}

/*
 * The frame header state machine.  Checks run in header order, and the
 * length is judged as soon as its field is complete, before the mask key
 * and long before any payload.
 */
size_t
ws_rx_feed(struct ws_rx *rx, uint8_t *p, size_t len, struct ws_event *ev)
{
	uint64_t	plen;
	size_t		hl;
	uint8_t		op;
	int		r;

	memset(ev, 0, sizeof(*ev));
	if (rx->failed)
		return ws_rx_fail(rx, ev, WS_CLOSE_PROTOCOL, "reader failed");
	if (rx->in_frame)
		return len == 0 ? 0 : ws_rx_payload(rx, p, len, ev);
	if (len < 2)
		return 0;
	op = p[0] & 0x0f;
	if ((p[0] & 0x70) != 0)
		return ws_rx_fail(rx, ev, WS_CLOSE_PROTOCOL, "RSV bits set");
	if (op != WS_OP_CONT && op != WS_OP_TEXT && op != WS_OP_BINARY &&
	    op != WS_OP_CLOSE && op != WS_OP_PING && op != WS_OP_PONG)
		return ws_rx_fail(rx, ev, WS_CLOSE_PROTOCOL, "unknown opcode");
	if ((p[1] & 0x80) == 0)
		return ws_rx_fail(rx, ev, WS_CLOSE_PROTOCOL,
		    "unmasked client frame");
	if ((r = ws_rx_length(p, len, &plen, &hl)) == 1)
		return 0;
	if (r == -1)
		return ws_rx_fail(rx, ev, WS_CLOSE_PROTOCOL,
		    "non-minimal or oversized length");
	if (op >= WS_OP_CLOSE) {
		if ((p[0] & 0x80) == 0)
			return ws_rx_fail(rx, ev, WS_CLOSE_PROTOCOL,
			    "fragmented control frame");
		if (plen > WS_CTRL_MAX)
			return ws_rx_fail(rx, ev, WS_CLOSE_PROTOCOL,
			    "control frame over 125 bytes");
		if (len < hl + 4 + plen)
			return 0;
		memcpy(rx->mask, p + hl, 4);
		(void)ws_rx_control(rx, op, p + hl + 4, (size_t)plen, ev);
		return ev->type == WS_EV_ERROR ? 0 : hl + 4 + (size_t)plen;
	}
	if (plen > LIM_WS_FRAME_IN)
		return ws_rx_fail(rx, ev, WS_CLOSE_TOO_BIG, "frame too big");
	if (op == WS_OP_CONT && !rx->in_msg)
		return ws_rx_fail(rx, ev, WS_CLOSE_PROTOCOL,
		    "continuation without a message");
	if (op != WS_OP_CONT && rx->in_msg)
		return ws_rx_fail(rx, ev, WS_CLOSE_PROTOCOL,
		    "new message inside a fragmented one");
	if ((op == WS_OP_CONT ? rx->msg_len : 0) + plen > LIM_WS_MSG_IN)
		return ws_rx_fail(rx, ev, WS_CLOSE_TOO_BIG, "message too big");
	if (len < hl + 4)
		return 0;		/* nothing changes until it is whole */
	if (op != WS_OP_CONT) {
		rx->in_msg = 1;
		rx->msg_text = op == WS_OP_TEXT;
		rx->msg_len = 0;
		rx->utf8 = 0;
	}
	rx->msg_len += plen;
	memcpy(rx->mask, p + hl, 4);
	rx->mask_off = 0;
	rx->left = plen;
	rx->fin = (p[0] & 0x80) != 0;
	rx->in_frame = 1;
	if (plen == 0)
		(void)ws_rx_payload(rx, p, 0, ev);
	return hl + 4;
}

/* ---- outbound frames ----------------------------------------------------- */

size_t
ws_frame_header(uint8_t out[WS_HDR_MAX], enum ws_opcode op, uint64_t len)
{
	int	i;

	out[0] = (uint8_t)(0x80 | op);
	if (len < 126) {
		out[1] = (uint8_t)len;
		return 2;
	}
	if (len <= 0xffff) {
		out[1] = 126;
		out[2] = (uint8_t)(len >> 8);
		out[3] = (uint8_t)len;
		return 4;
	}
	out[1] = 127;
	for (i = 0; i < 8; i++)
		out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
	return 10;
}

size_t
ws_close_payload(uint8_t out[WS_CTRL_MAX], uint16_t code, const char *reason,
    size_t rlen)
{
	if (rlen > WS_CTRL_MAX - 2)
		rlen = WS_CTRL_MAX - 2;
	out[0] = (uint8_t)(code >> 8);
	out[1] = (uint8_t)code;
	if (rlen > 0)
		memcpy(out + 2, reason, rlen);
	return 2 + rlen;
}
