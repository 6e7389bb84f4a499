/*
 * fuzz_ws.c: libFuzzer entry point for firehose/ws.c, the WebSocket
 * server's parsers of hostile bytes: the HTTP upgrade request (with the
 * upgrade checks, the query parameter lookup and the accept key), then
 * the inbound frame reader over whatever follows the request head, fed
 * in chunks whose size the first input byte chooses (so the fuzzer
 * explores partial headers and payloads split anywhere).
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../firehose/ws.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fuzz_request(const uint8_t *p, size_t len, size_t *body)
{
	struct ws_req	req;
	struct ws_str	v;
	char		accept[WS_ACCEPT_LEN + 1], dec[64];
	enum ws_hs	hs;

	*body = 0;
	hs = ws_req_parse(p, len, &req);
	assert(hs < WS_HS__MAX);
	if (hs != WS_HS_OK)
		return;
	assert(req.hdr_len <= len && req.hdr_len <= LIM_WS_HANDSHAKE);
	*body = req.hdr_len;
	if (ws_upgrade_check(&req) == WS_UP_OK) {
		assert(req.key.len == WS_KEY_LEN);
		assert(ws_accept_key(req.key.p, req.key.len, accept) == 0);
		assert(strlen(accept) == WS_ACCEPT_LEN);
	}
	if (ws_query_get(req.query.p, req.query.len, "cursor", &v) > 0) {
		assert(v.p >= req.query.p &&
		    v.p + v.len <= req.query.p + req.query.len);
		(void)ws_form_decode(v.p, v.len, dec, sizeof(dec));
	}
}

static void
fuzz_frames(const uint8_t *p, size_t len, size_t step)
{
	struct ws_rx	rx;
	struct ws_event	ev;
	uint8_t		*buf;
	size_t		have = 0, off = 0, used, c;

	if ((buf = malloc(len + 1)) == NULL)
		return;
	ws_rx_init(&rx);
	while (off < len) {
		c = len - off < step ? len - off : step;
		memcpy(buf + have, p + off, c);
		have += c;
		off += c;
		for (;;) {
			used = ws_rx_feed(&rx, buf, have, &ev);
			assert(used <= have);
			assert(ev.type < WS_EV__MAX);
			if (ev.payload != NULL)
				assert(ev.payload >= buf &&
				    ev.payload + ev.len <= buf + have);
			if (ev.type == WS_EV_PING || ev.type == WS_EV_PONG)
				assert(ev.len <= WS_CTRL_MAX);
			if (ev.type == WS_EV_CLOSE && ev.code !=
			    WS_CLOSE_NO_STATUS) {
				assert(ws_close_code_valid(ev.code));
				assert(ws_utf8_valid(ev.payload, ev.len));
			}
			memmove(buf, buf + used, have - used);
			have -= used;
			if (ev.type == WS_EV_ERROR) {
				assert(ev.code >= 1000 && ev.why != NULL);
				free(buf);
				return;
			}
			if (ev.type == WS_EV_NONE && used == 0)
				break;
		}
	}
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t	body, step;

	if (size < 1)
		return 0;
	step = (size_t)data[0] + 1;
	data++;
	size--;
	fuzz_request(data, size, &body);
	fuzz_frames(data + body, size - body, step);
	return 0;
}
