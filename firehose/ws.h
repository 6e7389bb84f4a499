/*
 * ws.h: the server side of RFC 6455 (WebSocket) as pure functions:
 * the HTTP/1.1 upgrade request parser and checks, the Sec-WebSocket-Accept
 * computation, the inbound frame reader (a state machine over client
 * bytes) and the outbound frame header writer.
 *
 * No I/O and no allocation: callers pass (pointer, length) and own every
 * buffer, so the fuzzer (tests/fuzz/fuzz_ws.c) drives these directly.
 * One error convention: each parser returns an enum; the close code for
 * a protocol error is in the event it returns.
 */
#ifndef PDS_WS_H
#define PDS_WS_H

#include <stddef.h>
#include <stdint.h>

#include "pds_limits.h"

#define WS_CTRL_MAX		125	/* RFC 6455 5.5: control payload */
#define WS_HDR_MAX		14	/* 2 + 8 length + 4 mask */
#define WS_KEY_LEN		24	/* base64 of 16 bytes, padded */
#define WS_ACCEPT_LEN		28	/* base64 of a SHA-1 digest */

/* Close status codes used here (RFC 6455 7.4.1). */
#define WS_CLOSE_NORMAL		1000
#define WS_CLOSE_GOING_AWAY	1001
#define WS_CLOSE_PROTOCOL	1002
#define WS_CLOSE_NO_STATUS	1005	/* never sent: "no code in the frame" */
#define WS_CLOSE_BAD_DATA	1007
#define WS_CLOSE_POLICY		1008
#define WS_CLOSE_TOO_BIG	1009
#define WS_CLOSE_INTERNAL	1011

enum ws_opcode {
	WS_OP_CONT = 0x0,
	WS_OP_TEXT = 0x1,
	WS_OP_BINARY = 0x2,
	WS_OP_CLOSE = 0x8,
	WS_OP_PING = 0x9,
	WS_OP_PONG = 0xa
};

/* ---- the upgrade request (RFC 7230 3, RFC 6455 4.2.1) ---------------- */

enum ws_hs {
	WS_HS_OK,		/* a complete, well-formed request */
	WS_HS_PARTIAL,		/* no blank line yet: read more */
	WS_HS_TOO_LARGE,	/* over LIM_WS_HANDSHAKE or LIM_WS_HEADERS */
	WS_HS_BAD,		/* malformed HTTP: answer 400 */
	WS_HS__MAX
};

/* A string inside the request buffer (not NUL-terminated). */
struct ws_str {
	const char	*p;
	size_t		 len;
};

struct ws_req {
	size_t		 hdr_len;	/* bytes of the request incl. CRLFCRLF */
	struct ws_str	 method;
	struct ws_str	 path;		/* request target up to '?' */
	struct ws_str	 query;		/* after '?', len 0 when none */
	struct ws_str	 host;
	struct ws_str	 key;		/* Sec-WebSocket-Key, trimmed */
	struct ws_str	 version;	/* Sec-WebSocket-Version */
	struct ws_str	 forwarded;	/* X-Forwarded-For (for logs) */
	struct ws_str	 real_ip;	/* X-Real-IP (for logs) */
	int		 upgrade_ws;	/* an Upgrade header names websocket */
	int		 upgrade_any;	/* an Upgrade header is present */
	int		 conn_upgrade;	/* Connection lists "upgrade" */
	int		 has_body;	/* Content-Length > 0 or chunked */
};

/* Parses an HTTP/1.1 request head from (p, len), strictly: CRLF line ends
 * only, no obs-fold, no space before ':', token header names, visible
 * characters in the target, "HTTP/1.1" only, at most LIM_WS_HEADERS
 * lines and LIM_WS_HANDSHAKE bytes, no duplicate Host, Content-Length,
 * Sec-WebSocket-Key or Sec-WebSocket-Version.  On WS_HS_OK fills *req
 * with pointers into p (valid while p is).  Other results: see enum. */
enum ws_hs	ws_req_parse(const uint8_t *p, size_t len, struct ws_req *req);

/* What an upgrade request lacks, in the order checked (RFC 6455 4.2.1). */
enum ws_up {
	WS_UP_OK,
	WS_UP_NOT_GET,		/* 405 */
	WS_UP_NO_UPGRADE,	/* no Upgrade: websocket (a plain request) */
	WS_UP_BAD_CONNECTION,	/* Connection does not list upgrade: 400 */
	WS_UP_NO_HOST,		/* 400 */
	WS_UP_BODY,		/* a request body: 400 */
	WS_UP_BAD_VERSION,	/* not "13": 426 with Sec-WebSocket-Version */
	WS_UP_BAD_KEY,		/* not base64 of 16 bytes: 400 */
	WS_UP__MAX
};

/* Checks a parsed request as a WebSocket opening handshake. */
enum ws_up	ws_upgrade_check(const struct ws_req *req);
/* A short English reason for an ws_up value, for responses and logs. */
const char	*ws_up_str(enum ws_up);

/* Computes Sec-WebSocket-Accept for a (checked) key: base64 of SHA-1 of
 * key + the RFC 6455 GUID, NUL-terminated into out.  Returns 0 or -1. */
int	ws_accept_key(const char *key, size_t keylen,
	    char out[WS_ACCEPT_LEN + 1]);

/* Finds query parameter name in (q, qlen) (a raw query string).  Sets
 * *val to the first raw (still percent-encoded) value and returns the
 * number of times the name occurs (0 = absent).  Names are compared
 * after percent-decoding. */
int	ws_query_get(const char *q, size_t qlen, const char *name,
	    struct ws_str *val);
/* Percent-decodes (s, len) as application/x-www-form-urlencoded ('+' is
 * a space) into out (outsz bytes).  Returns the length, or -1 when a '%'
 * escape is malformed or out is too small. */
int	ws_form_decode(const char *s, size_t len, char *out, size_t outsz);

/* ---- inbound frames (RFC 6455 5) ----------------------------------- */

enum ws_ev {
	WS_EV_NONE,	/* need more bytes */
	WS_EV_PING,	/* payload = ping data, to be echoed in a pong */
	WS_EV_PONG,
	WS_EV_CLOSE,	/* code (WS_CLOSE_NO_STATUS when none), reason */
	WS_EV_MESSAGE,	/* a data message ended (its bytes were dropped) */
	WS_EV_ERROR,	/* protocol violation: close with code, why */
	WS_EV__MAX
};

struct ws_event {
	enum ws_ev	 type;
	const uint8_t	*payload;	/* inside the caller's buffer */
	size_t		 len;
	uint16_t	 code;		/* close code received / to send */
	const char	*why;		/* static text for WS_EV_ERROR */
};

/* Reader state for one connection; zero it (or ws_rx_init) to start. */
struct ws_rx {
	uint64_t	left;		/* payload bytes left in this frame */
	uint64_t	msg_len;	/* bytes of the current message */
	uint32_t	utf8;		/* streaming UTF-8 check state */
	uint8_t		mask[4];
	uint8_t		mask_off;
	uint8_t		in_frame;	/* inside a data frame's payload */
	uint8_t		in_msg;		/* a fragmented message is open */
	uint8_t		msg_text;	/* ... and it is a text message */
	uint8_t		fin;		/* the current frame is final */
	uint8_t		failed;		/* an error was returned */
};

void	ws_rx_init(struct ws_rx *rx);

/* Reads from (p, len), the bytes received and not yet consumed.  Returns
 * the number of bytes consumed and sets *ev.  Data frame payloads are
 * consumed as they arrive (unmasked in place and dropped; text is checked
 * as UTF-8 across fragments); a control frame is returned only when all
 * of it is in p (its payload, unmasked in place, points into p and is
 * valid until the caller discards those bytes).  Call again with the
 * unconsumed rest until a call consumes nothing and returns WS_EV_NONE
 * (more bytes are needed).  Errors (RFC 6455
 * 5.1-5.5, 7.4): an unmasked frame, RSV bits, unknown opcodes, a control
 * frame over 125 bytes or fragmented, a non-minimal or 2^63+ length, a
 * continuation with no message open or a new message inside one (1002);
 * a frame or message over LIM_WS_FRAME_IN / LIM_WS_MSG_IN, refused as
 * soon as the length field is read (1009); invalid UTF-8 (1007); a close
 * payload of 1 byte or with an invalid code (1002).  After WS_EV_ERROR
 * the reader stays failed. */
size_t	ws_rx_feed(struct ws_rx *rx, uint8_t *p, size_t len,
	    struct ws_event *ev);

/* ---- outbound frames ------------------------------------------------ */

/* Writes the header of an unmasked final frame (a server frame) carrying
 * len payload bytes into out.  Returns the header length (2, 4 or 10). */
size_t	ws_frame_header(uint8_t out[WS_HDR_MAX], enum ws_opcode op,
	    uint64_t len);
/* Writes a close payload (2-byte code, then up to 123 bytes of reason,
 * truncated) into out.  Returns its length. */
size_t	ws_close_payload(uint8_t out[WS_CTRL_MAX], uint16_t code,
	    const char *reason, size_t rlen);
/* 1 when code may appear in a close frame (RFC 6455 7.4), else 0. */
int	ws_close_code_valid(uint32_t code);
/* 1 when (p, len) is valid UTF-8, else 0. */
int	ws_utf8_valid(const uint8_t *p, size_t len);

#endif /* PDS_WS_H */
