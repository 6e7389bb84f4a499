/*
 * test_ws.c: the RFC 6455 server pieces in firehose/ws.c: the upgrade
 * request parser and checks (RFC 7230 3, RFC 6455 4.2.1), the accept key
 * (the RFC's own example), query parsing as URLSearchParams does it, the
 * inbound frame reader (RFC 6455 5, 7.4) fed whole and byte by byte, and
 * the outbound frame header.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "t.h"
#include "cbor.h"
#include "util.h"
#include "../../firehose/ws.h"

#define REQ_OK	"GET /xrpc/com.atproto.sync.subscribeRepos?cursor=5 HTTP/1.1\r\n" \
		"Host: pds.example\r\n" \
		"Upgrade: websocket\r\n" \
		"Connection: Upgrade\r\n" \
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" \
		"Sec-WebSocket-Version: 13\r\n" \
		"X-Forwarded-For: 203.0.113.7, 10.0.0.1\r\n" \
		"\r\n"

static enum ws_hs
parse(const char *s, struct ws_req *req)
{
	return ws_req_parse((const uint8_t *)s, strlen(s), req);
}

/* A request with the given extra header lines in place of the defaults. */
static enum ws_up
check_with(const char *head, enum ws_hs want_hs)
{
	struct ws_req	req;
	enum ws_hs	hs;

	hs = parse(head, &req);
	T_EQ_INT(hs, want_hs);
	if (hs != WS_HS_OK)
		return WS_UP__MAX;
	return ws_upgrade_check(&req);
}

static void
test_request(void)
{
	struct ws_req	req;
	char		accept[WS_ACCEPT_LEN + 1];
	size_t		i, n = strlen(REQ_OK);

	T_EQ_INT(parse(REQ_OK, &req), WS_HS_OK);
	T_EQ_INT(req.hdr_len, n);
	T_EQ_MEM(req.method.p, req.method.len, "GET", 3);
	T_EQ_MEM(req.path.p, req.path.len,
	    "/xrpc/com.atproto.sync.subscribeRepos", 37);
	T_EQ_MEM(req.query.p, req.query.len, "cursor=5", 8);
	T_EQ_MEM(req.host.p, req.host.len, "pds.example", 11);
	T_EQ_MEM(req.forwarded.p, req.forwarded.len, "203.0.113.7, 10.0.0.1",
	    21);
	T_EQ_INT(ws_upgrade_check(&req), WS_UP_OK);
	/* RFC 6455 1.3's example. */
	T_EQ_INT(ws_accept_key(req.key.p, req.key.len, accept), 0);
	T_EQ_STR(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	T_EQ_INT(ws_accept_key("short", 5, accept), -1);

	/* Every strict prefix is incomplete, never an error. */
	for (i = 0; i < n; i++)
		T_OK(ws_req_parse((const uint8_t *)REQ_OK, i, &req) ==
		    WS_HS_PARTIAL, "prefix %zu", i);
	/* Bytes after the head (a pipelined frame) are not consumed. */
	{
		char	buf[512];

		snprintf(buf, sizeof(buf), "%s\x81\x80", REQ_OK);
		T_EQ_INT(parse(buf, &req), WS_HS_OK);
		T_EQ_INT(req.hdr_len, n);
	}
}

static void
test_request_bad(void)
{
	static const char *const bad[] = {
		"GET / HTTP/1.1\nHost: a\r\n\r\n",		/* bare LF */
		"GET / HTTP/1.1\r\nHost: a\n\r\n",
		"GET / HTTP/1.0\r\nHost: a\r\n\r\n",		/* version */
		"GET / HTTP/2\r\n\r\n",
		"GET  / HTTP/1.1\r\n\r\n",			/* two SP */
		"GET /\x01 HTTP/1.1\r\n\r\n",
		"GET x HTTP/1.1\r\n\r\n",			/* not origin */
		" GET / HTTP/1.1\r\n\r\n",
		"\r\n\r\n",
		"GET / HTTP/1.1\r\nHost : a\r\n\r\n",		/* SP before : */
		"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",	/* obs-fold */
		"GET / HTTP/1.1\r\nBad Name: a\r\n\r\n",
		"GET / HTTP/1.1\r\nNoColon\r\n\r\n",
		"GET / HTTP/1.1\r\n: empty-name\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",	/* duplicates */
		"GET / HTTP/1.1\r\nSec-WebSocket-Key: a\r\n"
		    "sec-websocket-key: b\r\n\r\n",
		"GET / HTTP/1.1\r\nSec-WebSocket-Version: 13\r\n"
		    "Sec-WebSocket-Version: 13\r\n\r\n",
		"GET / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n",
		"GET / HTTP/1.1\r\nContent-Length: 0\r\n"
		    "Content-Length: 0\r\n\r\n",
		"GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n",		/* DEL */
		"GET / HTTP/1.1\r\nX: a\rb\r\n\r\n",		/* lone CR */
	};
	struct ws_req	req;
	size_t		i;
	uint8_t		nul[] = "GET / HTTP/1.1\r\nX: a\0b\r\n\r\n";
	uint8_t		tls[] = { 0x16, 0x03, 0x01, 0x02, 0x00, 0x01 };

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		T_OK(parse(bad[i], &req) == WS_HS_BAD, "bad[%zu]", i);
	T_EQ_INT(ws_req_parse(nul, sizeof(nul) - 1, &req), WS_HS_BAD);
	/* Garbage is refused at once, not when the limit is reached. */
	T_EQ_INT(ws_req_parse(tls, sizeof(tls), &req), WS_HS_BAD);
	T_EQ_INT(parse("GET / HTTP/1.1\r\nX: \x01", &req), WS_HS_BAD);
	T_EQ_INT(parse("GET / HTTP/1.1\r\nX: ok\r", &req), WS_HS_PARTIAL);
}

static void
test_request_limits(void)
{
	struct ws_req	req;
	char		*big;
	size_t		i, n;

	/* LIM_WS_HANDSHAKE bytes with no blank line. */
	big = malloc(LIM_WS_HANDSHAKE + 64);
	T_OK(big != NULL, "malloc");
	if (big == NULL)
		return;
	n = (size_t)snprintf(big, 64, "GET / HTTP/1.1\r\nX-Long: ");
	memset(big + n, 'a', LIM_WS_HANDSHAKE + 32 - n);
	T_EQ_INT(ws_req_parse((uint8_t *)big, LIM_WS_HANDSHAKE - 1, &req),
	    WS_HS_PARTIAL);
	T_EQ_INT(ws_req_parse((uint8_t *)big, LIM_WS_HANDSHAKE, &req),
	    WS_HS_TOO_LARGE);
	T_EQ_INT(ws_req_parse((uint8_t *)big, LIM_WS_HANDSHAKE + 32, &req),
	    WS_HS_TOO_LARGE);
	/* Too many header lines. */
	n = (size_t)snprintf(big, 64, "GET / HTTP/1.1\r\n");
	for (i = 0; i < LIM_WS_HEADERS + 1; i++) {
		memcpy(big + n, "A: b\r\n", 6);
		n += 6;
	}
	memcpy(big + n, "\r\n", 2);
	n += 2;
	T_EQ_INT(ws_req_parse((uint8_t *)big, n, &req), WS_HS_TOO_LARGE);
	free(big);
}

#define H_START	"GET /x HTTP/1.1\r\n"
#define H_HOST	"Host: h\r\n"
#define H_UPG	"Upgrade: websocket\r\n"
#define H_CONN	"Connection: Upgrade\r\n"
#define H_KEY	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
#define H_VER	"Sec-WebSocket-Version: 13\r\n"

static void
test_upgrade_check(void)
{
	T_EQ_INT(check_with(H_START H_HOST H_UPG H_CONN H_KEY H_VER "\r\n",
	    WS_HS_OK), WS_UP_OK);
	/* Case-insensitive names and tokens, lists. */
	T_EQ_INT(check_with(H_START "host: h\r\nUPGRADE: WebSocket\r\n"
	    "connection: keep-alive, upgrade\r\n"
	    "sec-websocket-key:dGhlIHNhbXBsZSBub25jZQ==  \r\n"
	    "SEC-WEBSOCKET-VERSION: 13\r\n\r\n", WS_HS_OK), WS_UP_OK);
	T_EQ_INT(check_with("POST /x HTTP/1.1\r\n" H_HOST H_UPG H_CONN H_KEY
	    H_VER "\r\n", WS_HS_OK), WS_UP_NOT_GET);
	T_EQ_INT(check_with("get /x HTTP/1.1\r\n" H_HOST H_UPG H_CONN H_KEY
	    H_VER "\r\n", WS_HS_OK), WS_UP_NOT_GET);
	T_EQ_INT(check_with(H_START H_HOST "\r\n", WS_HS_OK),
	    WS_UP_NO_UPGRADE);
	T_EQ_INT(check_with(H_START H_HOST "Upgrade: h2c\r\n" H_CONN H_KEY
	    H_VER "\r\n", WS_HS_OK), WS_UP_NO_UPGRADE);
	T_EQ_INT(check_with(H_START H_HOST H_UPG "Connection: keep-alive\r\n"
	    H_KEY H_VER "\r\n", WS_HS_OK), WS_UP_BAD_CONNECTION);
	T_EQ_INT(check_with(H_START H_UPG H_CONN H_KEY H_VER "\r\n",
	    WS_HS_OK), WS_UP_NO_HOST);
	T_EQ_INT(check_with(H_START H_HOST H_UPG H_CONN H_KEY H_VER
	    "Content-Length: 5\r\n\r\n", WS_HS_OK), WS_UP_BODY);
	T_EQ_INT(check_with(H_START H_HOST H_UPG H_CONN H_KEY H_VER
	    "Content-Length: 000\r\n\r\n", WS_HS_OK), WS_UP_OK);
	T_EQ_INT(check_with(H_START H_HOST H_UPG H_CONN H_KEY H_VER
	    "Transfer-Encoding: chunked\r\n\r\n", WS_HS_OK), WS_UP_BODY);
	T_EQ_INT(check_with(H_START H_HOST H_UPG H_CONN H_KEY "\r\n",
	    WS_HS_OK), WS_UP_BAD_VERSION);
	T_EQ_INT(check_with(H_START H_HOST H_UPG H_CONN H_KEY
	    "Sec-WebSocket-Version: 8\r\n\r\n", WS_HS_OK), WS_UP_BAD_VERSION);
	T_EQ_INT(check_with(H_START H_HOST H_UPG H_CONN H_KEY
	    "Sec-WebSocket-Version: 013\r\n\r\n", WS_HS_OK),
	    WS_UP_BAD_VERSION);
	T_EQ_INT(check_with(H_START H_HOST H_UPG H_CONN H_VER "\r\n",
	    WS_HS_OK), WS_UP_BAD_KEY);
	T_EQ_INT(check_with(H_START H_HOST H_UPG H_CONN H_VER
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ\r\n\r\n", WS_HS_OK),
	    WS_UP_BAD_KEY);			/* unpadded: 22 chars */
	T_EQ_INT(check_with(H_START H_HOST H_UPG H_CONN H_VER
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ!=\r\n\r\n", WS_HS_OK),
	    WS_UP_BAD_KEY);
	T_EQ_INT(check_with(H_START H_HOST H_UPG H_CONN H_VER
	    "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAAA\r\n\r\n", WS_HS_OK),
	    WS_UP_BAD_KEY);			/* 18 bytes */
	T_OK(strcmp(ws_up_str(WS_UP_BAD_KEY), "invalid Sec-WebSocket-Key") == 0,
	    "ws_up_str");
}

static void
test_query(void)
{
	struct ws_str	v;
	char		out[16];

	T_EQ_INT(ws_query_get("cursor=5", 8, "cursor", &v), 1);
	T_EQ_MEM(v.p, v.len, "5", 1);
	T_EQ_INT(ws_query_get("a=1&cursor=7&cursor=8", 21, "cursor", &v), 2);
	T_EQ_MEM(v.p, v.len, "7", 1);
	T_EQ_INT(ws_query_get("cursor", 6, "cursor", &v), 1);
	T_EQ_INT(v.len, 0);
	T_EQ_INT(ws_query_get("%63ursor=3&&", 12, "cursor", &v), 1);
	T_EQ_MEM(v.p, v.len, "3", 1);
	T_EQ_INT(ws_query_get("", 0, "cursor", &v), 0);
	T_OK(v.p == NULL, "absent");
	T_EQ_INT(ws_query_get("cursors=1&xcursor=2", 19, "cursor", &v), 0);
	T_EQ_INT(ws_form_decode("%2B5", 4, out, sizeof(out)), 2);
	T_EQ_MEM(out, 2, "+5", 2);
	T_EQ_INT(ws_form_decode("+5", 2, out, sizeof(out)), 2);
	T_EQ_MEM(out, 2, " 5", 2);
	T_EQ_INT(ws_form_decode("%zz%4", 5, out, sizeof(out)), 5);
	T_EQ_MEM(out, 5, "%zz%4", 5);
	T_EQ_INT(ws_form_decode("0123456789abcdefg", 17, out, sizeof(out)),
	    -1);
}

/* ---- frames ---------------------------------------------------------- */

/* Builds a masked client frame; returns its length. */
static size_t
mkframe(uint8_t *out, int fin, int op, const void *payload, size_t len)
{
	static const uint8_t	mask[4] = { 0x12, 0x34, 0x56, 0x78 };
	size_t			hl, i;

	hl = ws_frame_header(out, (enum ws_opcode)op, len);
	if (!fin)
		out[0] &= 0x7f;
	out[1] |= 0x80;
	memcpy(out + hl, mask, 4);
	for (i = 0; i < len; i++)
		out[hl + 4 + i] = ((const uint8_t *)payload)[i] ^ mask[i & 3];
	return hl + 4 + len;
}

/* Feeds (p, len) in chunks of step bytes, keeping unconsumed bytes like
 * a connection would, and records the events. */
struct evlog {
	int		types[16];
	uint16_t	codes[16];
	char		data[16][8];
	int		n;
};

static void
feed(uint8_t *p, size_t len, size_t step, struct evlog *log)
{
	struct ws_rx	rx;
	struct ws_event	ev;
	uint8_t		buf[256 << 10];
	size_t		have = 0, off = 0, used, c;

	memset(log, 0, sizeof(*log));
	ws_rx_init(&rx);
	while (off < len || have > 0) {
		c = len - off < step ? len - off : step;
		if (have + c > sizeof(buf))
			c = sizeof(buf) - have;
		memcpy(buf + have, p + off, c);
		have += c;
		off += c;
		for (;;) {
			used = ws_rx_feed(&rx, buf, have, &ev);
			memmove(buf, buf + used, have - used);
			have -= used;
			if (ev.type == WS_EV_NONE) {
				if (used == 0)
					break;
				continue;
			}
			if (log->n < 16) {
				log->types[log->n] = ev.type;
				log->codes[log->n] = ev.code;
				if (ev.payload != NULL)
					snprintf(log->data[log->n], 8, "%.*s",
					    (int)ev.len,
					    (const char *)ev.payload);
				log->n++;
			}
			if (ev.type == WS_EV_ERROR)
				return;
		}
		if (c == 0)
			break;
	}
}

static void
expect(uint8_t *p, size_t len, int type, uint16_t code, const char *what)
{
	struct evlog	whole, bytes;

	feed(p, len, len ? len : 1, &whole);
	feed(p, len, 1, &bytes);
	T_OK(whole.n >= 1 && whole.types[whole.n - 1] == type &&
	    whole.codes[whole.n - 1] == code, "%s: whole: n=%d type=%d code=%d",
	    what, whole.n, whole.n ? whole.types[whole.n - 1] : -1,
	    whole.n ? whole.codes[whole.n - 1] : -1);
	T_OK(bytes.n == whole.n && bytes.types[bytes.n - 1] == type &&
	    bytes.codes[bytes.n - 1] == code, "%s: bytewise", what);
}

static void
test_frames_good(void)
{
	static uint8_t	f[1 << 18];
	struct evlog	log;
	size_t		n;
	uint8_t		big[LIM_WS_FRAME_IN];

	n = mkframe(f, 1, WS_OP_BINARY, "hello", 5);
	expect(f, n, WS_EV_MESSAGE, 0, "binary");
	n = mkframe(f, 1, WS_OP_PING, "abc", 3);
	feed(f, n, 1, &log);
	T_EQ_INT(log.n, 1);
	T_EQ_INT(log.types[0], WS_EV_PING);
	T_EQ_STR(log.data[0], "abc");
	n = mkframe(f, 1, WS_OP_PONG, "", 0);
	expect(f, n, WS_EV_PONG, 0, "pong");
	n = mkframe(f, 1, WS_OP_CLOSE, "", 0);
	expect(f, n, WS_EV_CLOSE, WS_CLOSE_NO_STATUS, "close empty");
	n = mkframe(f, 1, WS_OP_CLOSE, "\x03\xe8" "bye", 5);
	feed(f, n, 2, &log);
	T_EQ_INT(log.types[0], WS_EV_CLOSE);
	T_EQ_INT(log.codes[0], 1000);
	T_EQ_STR(log.data[0], "bye");
	n = mkframe(f, 1, WS_OP_CLOSE, "\x0b\xb8", 2);
	expect(f, n, WS_EV_CLOSE, 3000, "close 3000");
	/* A text message in three fragments, a 4-byte character split
	 * across them, a ping in the middle (RFC 6455 5.4). */
	n = mkframe(f, 0, WS_OP_TEXT, "a\xf0\x9f", 3);
	n += mkframe(f + n, 1, WS_OP_PING, "p", 1);
	n += mkframe(f + n, 0, WS_OP_CONT, "\x98", 1);
	n += mkframe(f + n, 1, WS_OP_CONT, "\x80z", 2);
	feed(f, n, 1, &log);
	T_EQ_INT(log.n, 2);
	T_EQ_INT(log.types[0], WS_EV_PING);
	T_EQ_INT(log.types[1], WS_EV_MESSAGE);
	/* Empty frames, 16-bit length, exactly the frame limit. */
	n = mkframe(f, 1, WS_OP_TEXT, "", 0);
	expect(f, n, WS_EV_MESSAGE, 0, "empty text");
	memset(big, 'x', sizeof(big));
	n = mkframe(f, 1, WS_OP_BINARY, big, 300);
	expect(f, n, WS_EV_MESSAGE, 0, "16-bit length");
	n = mkframe(f, 1, WS_OP_BINARY, big, LIM_WS_FRAME_IN);
	expect(f, n, WS_EV_MESSAGE, 0, "frame at the limit");
}

static void
test_frames_bad(void)
{
	static uint8_t	f[1 << 18];
	uint8_t		g[16], big[LIM_WS_FRAME_IN];
	struct ws_rx	rx;
	struct ws_event	ev;
	size_t		n;

	n = mkframe(f, 1, WS_OP_TEXT, "\xc0\x80", 2);
	expect(f, n, WS_EV_ERROR, WS_CLOSE_BAD_DATA, "overlong UTF-8");
	n = mkframe(f, 1, WS_OP_TEXT, "\xe2\x82", 2);
	expect(f, n, WS_EV_ERROR, WS_CLOSE_BAD_DATA, "truncated UTF-8");
	/* Unmasked. */
	memcpy(g, "\x82\x05hello", 7);
	expect(g, 7, WS_EV_ERROR, WS_CLOSE_PROTOCOL, "unmasked");
	n = mkframe(f, 1, WS_OP_BINARY, "x", 1);
	f[0] |= 0x40;
	expect(f, n, WS_EV_ERROR, WS_CLOSE_PROTOCOL, "RSV1");
	n = mkframe(f, 1, 0x3, "x", 1);
	expect(f, n, WS_EV_ERROR, WS_CLOSE_PROTOCOL, "opcode 3");
	n = mkframe(f, 1, 0xb, "x", 1);
	expect(f, n, WS_EV_ERROR, WS_CLOSE_PROTOCOL, "opcode 0xb");
	memset(big, 'p', 200);
	n = mkframe(f, 1, WS_OP_PING, big, 126);
	expect(f, n, WS_EV_ERROR, WS_CLOSE_PROTOCOL, "ping of 126");
	n = mkframe(f, 0, WS_OP_PING, "x", 1);
	expect(f, n, WS_EV_ERROR, WS_CLOSE_PROTOCOL, "fragmented ping");
	n = mkframe(f, 1, WS_OP_CLOSE, "\x03", 1);
	expect(f, n, WS_EV_ERROR, WS_CLOSE_PROTOCOL, "close of 1 byte");
	n = mkframe(f, 1, WS_OP_CLOSE, "\x03\xed", 2);
	expect(f, n, WS_EV_ERROR, WS_CLOSE_PROTOCOL, "close 1005");
	n = mkframe(f, 1, WS_OP_CLOSE, "\x03\xe7", 2);
	expect(f, n, WS_EV_ERROR, WS_CLOSE_PROTOCOL, "close 999");
	n = mkframe(f, 1, WS_OP_CLOSE, "\x13\x88", 2);
	expect(f, n, WS_EV_ERROR, WS_CLOSE_PROTOCOL, "close 5000");
	n = mkframe(f, 1, WS_OP_CLOSE, "\x03\xe8\xff", 3);
	expect(f, n, WS_EV_ERROR, WS_CLOSE_BAD_DATA, "close reason UTF-8");
	n = mkframe(f, 1, WS_OP_CONT, "x", 1);
	expect(f, n, WS_EV_ERROR, WS_CLOSE_PROTOCOL, "stray continuation");
	n = mkframe(f, 0, WS_OP_TEXT, "a", 1);
	n += mkframe(f + n, 1, WS_OP_BINARY, "b", 1);
	expect(f, n, WS_EV_ERROR, WS_CLOSE_PROTOCOL, "message in message");
	/* Non-minimal lengths. */
	memcpy(g, "\x82\xfe\x00\x05\0\0\0\0hello", 13);
	expect(g, 13, WS_EV_ERROR, WS_CLOSE_PROTOCOL, "16-bit for 5");
	memcpy(g, "\x82\xff\0\0\0\0\0\0\0\xc8\0\0\0\0", 14);
	expect(g, 14, WS_EV_ERROR, WS_CLOSE_PROTOCOL, "64-bit for 200");
	memcpy(g, "\x82\xff\x80\0\0\0\0\0\0\0\0\0\0\0", 14);
	expect(g, 14, WS_EV_ERROR, WS_CLOSE_PROTOCOL, "2^63");
	/* A 1 GB header is refused with only its 10 header bytes. */
	memcpy(g, "\x82\xff\0\0\0\0\x40\0\0\0", 10);
	ws_rx_init(&rx);
	T_EQ_INT(ws_rx_feed(&rx, g, 9, &ev), 0);
	T_EQ_INT(ev.type, WS_EV_NONE);
	T_EQ_INT(ws_rx_feed(&rx, g, 10, &ev), 0);
	T_EQ_INT(ev.type, WS_EV_ERROR);
	T_EQ_INT(ev.code, WS_CLOSE_TOO_BIG);
	/* The reader stays failed. */
	n = mkframe(f, 1, WS_OP_PING, "", 0);
	T_EQ_INT(ws_rx_feed(&rx, f, n, &ev), 0);
	T_EQ_INT(ev.type, WS_EV_ERROR);
	/* One byte over the frame limit; a message over LIM_WS_MSG_IN in
	 * two frames that are each within the frame limit. */
	memset(big, 'x', sizeof(big));
	n = mkframe(f, 1, WS_OP_BINARY, big, 0);
	n = ws_frame_header(f, WS_OP_BINARY, LIM_WS_FRAME_IN + 1);
	f[1] |= 0x80;
	expect(f, n, WS_EV_ERROR, WS_CLOSE_TOO_BIG, "frame limit + 1");
	n = mkframe(f, 0, WS_OP_BINARY, big, LIM_WS_MSG_IN / 2 + 1);
	n += mkframe(f + n, 1, WS_OP_CONT, big, LIM_WS_MSG_IN / 2);
	expect(f, n, WS_EV_ERROR, WS_CLOSE_TOO_BIG, "message limit + 1");
}

static void
test_frames_out(void)
{
	uint8_t	h[WS_HDR_MAX], p[WS_CTRL_MAX];
	char	r[200];

	T_EQ_INT(ws_frame_header(h, WS_OP_BINARY, 0), 2);
	T_EQ_MEM(h, 2, "\x82\x00", 2);
	T_EQ_INT(ws_frame_header(h, WS_OP_BINARY, 125), 2);
	T_EQ_INT(h[1], 125);
	T_EQ_INT(ws_frame_header(h, WS_OP_BINARY, 126), 4);
	T_EQ_MEM(h, 4, "\x82\x7e\x00\x7e", 4);
	T_EQ_INT(ws_frame_header(h, WS_OP_CLOSE, 65535), 4);
	T_EQ_MEM(h, 4, "\x88\x7e\xff\xff", 4);
	T_EQ_INT(ws_frame_header(h, WS_OP_BINARY, 65536), 10);
	T_EQ_MEM(h, 10, "\x82\x7f\0\0\0\0\0\x01\0\0", 10);
	T_EQ_INT(ws_close_payload(p, 1008, "FutureCursor", 12), 14);
	T_EQ_MEM(p, 14, "\x03\xf0" "FutureCursor", 14);
	memset(r, 'r', sizeof(r));
	T_EQ_INT(ws_close_payload(p, 1000, r, sizeof(r)), WS_CTRL_MAX);
}

static void
test_utf8(void)
{
	static const struct {
		const char	*s;
		int		 ok;
	} v[] = {
		{ "plain", 1 }, { "\xc3\xa9", 1 }, { "\xe2\x82\xac", 1 },
		{ "\xf0\x9f\x98\x80", 1 }, { "\xf4\x8f\xbf\xbf", 1 },
		{ "\xc0\x80", 0 }, { "\xc1\xbf", 0 }, { "\xe0\x80\x80", 0 },
		{ "\xed\xa0\x80", 0 }, { "\xf4\x90\x80\x80", 0 },
		{ "\xf5\x80\x80\x80", 0 }, { "\x80", 0 }, { "\xe2\x82", 0 },
		{ "\xff", 0 },
	};
	uint8_t		r[8];
	size_t		i, j;
	int		agree = 1;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		T_OK(ws_utf8_valid((const uint8_t *)v[i].s, strlen(v[i].s)) ==
		    v[i].ok, "utf8 vector %zu", i);
	/* The streaming checker agrees with the CBOR module's on random
	 * short strings. */
	for (i = 0; i < 200000 && agree; i++) {
		if (util_random(r, sizeof(r)) == -1)
			break;
		for (j = 0; j < sizeof(r); j++)
			if (r[j] < 0x80 && (r[j] & 1))
				r[j] |= 0x80;
		agree = ws_utf8_valid(r, r[0] & 7) ==
		    cbor_utf8_validate(r, r[0] & 7);
	}
	T_OK(agree, "ws_utf8_valid and cbor_utf8_validate disagree");
}

int
main(void)
{
	test_request();
	test_request_bad();
	test_request_limits();
	test_upgrade_check();
	test_query();
	test_frames_good();
	test_frames_bad();
	test_frames_out();
	test_utf8();
	return t_done("ws");
}
