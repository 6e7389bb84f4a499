/*
 * conn.c: one client connection of pds-firehose, as a state machine:
 * reading the HTTP request head, answering it (101 Switching Protocols,
 * /_health, or an error), then the WebSocket: reading client frames
 * (ws.c), and writing the queue of shared frames without ever blocking.
 *
 * Back-pressure: each connection queues references to frames; event
 * frames count against PDS_MAX_SUBSCRIPTION_BUFFER, and one more than
 * that ends the stream with ConsumerTooSlow (reference outbox.ts).  The
 * socket's send buffer is fixed (LIM_FH_SNDBUF) so that a client that
 * stops reading is noticed at our queue, not hidden in the kernel.
 * Does not own: which events a client gets (hub.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fh.h"
#include "log.h"
#include "util.h"

#define CONN_PATH_HEALTH	"/_health"
#define CONN_PATH_REPOS		"/xrpc/com.atproto.sync.subscribeRepos"

static uint8_t	conn_rbuf[LIM_FH_READ_BUF + sizeof(((struct fh_conn *)0)->rxbuf)];

/* ---- the queue -------------------------------------------------------- */

static void
conn_want_out(struct fh *fh, struct fh_conn *c, int on)
{
	if (c->want_out == on || c->state == CS_DEAD)
		return;
	if (fh_watch_mod(fh, c->fd, EPOLLIN | (on ? EPOLLOUT : 0), &c->w) == 0)
		c->want_out = (uint8_t)on;
}

static void
conn_mark_dirty(struct fh *fh, struct fh_conn *c)
{
	if (c->dirty || c->state == CS_DEAD)
		return;
	c->dirty = 1;
	c->dnext = fh->dirty;
	fh->dirty = c;
}

/* Accounts for n queued bytes leaving the queue. */
static void
conn_qbytes_sub(struct fh *fh, struct fh_conn *c, size_t n)
{
	c->qbytes -= n;
	if (c->state == CS_REPLAY)
		fh->replay_bytes -= n;
}

static int
conn_qgrow(struct fh_conn *c, size_t limit)
{
	struct fh_frame	**nq;
	size_t		  ncap, i;

	if (c->qlen < c->qcap)
		return 0;
	ncap = c->qcap ? c->qcap * 2 : 16;
	if (ncap > limit)
		ncap = limit;
	if (ncap <= c->qcap ||
	    (nq = calloc(ncap, sizeof(*nq))) == NULL)
		return -1;
	for (i = 0; i < c->qlen; i++)
		nq[i] = c->q[(c->qhead + i) % c->qcap];
	free(c->q);
	c->q = nq;
	c->qcap = ncap;
	c->qhead = 0;
	return 0;
}

/* Appends f (taking a new reference) at the tail.  Returns 0 or -1. */
static int
conn_enqueue(struct fh *fh, struct fh_conn *c, struct fh_frame *f)
{
	if (conn_qgrow(c, fh->max_buffer + 8) == -1) {
		log_error("%s: %s: queue full or out of memory", __func__,
		    c->peer);
		return -1;
	}
	c->q[(c->qhead + c->qlen) % c->qcap] = frame_ref(f);
	c->qlen++;
	c->qevents += f->event;
	c->qbytes += f->len;
	if (c->state == CS_REPLAY)
		fh->replay_bytes += f->len;
	conn_mark_dirty(fh, c);
	return 0;
}

/* Removes the head frame (sent or dropped). */
static void
conn_pop(struct fh *fh, struct fh_conn *c, int sent)
{
	struct fh_frame	*f = c->q[c->qhead];

	c->qhead = (c->qhead + 1) % c->qcap;
	c->qlen--;
	c->qoff = 0;
	c->qevents -= f->event;
	if (sent && f->event)
		c->sent++;
	if (f == c->pong)
		c->pong = NULL;
	conn_qbytes_sub(fh, c, f->len);
	frame_unref(f);
}

/* Drops the event frames not yet started; a half-sent frame is finished
 * (the stream stays well framed) and control frames stay (a pong owed
 * for a ping received before a close, RFC 6455 5.5.2). */
static void
conn_drop_unsent(struct fh *fh, struct fh_conn *c)
{
	struct fh_frame	*f;
	size_t		 i, n = c->qlen, kept = 0;

	for (i = 0; i < n; i++) {
		f = c->q[(c->qhead + i) % c->qcap];
		if ((i == 0 && c->qoff > 0) || !f->event) {
			c->q[(c->qhead + kept++) % c->qcap] = f;
			continue;
		}
		c->qevents--;
		conn_qbytes_sub(fh, c, f->len);
		frame_unref(f);
	}
	c->qlen = kept;
}

void
conn_set_state(struct fh *fh, struct fh_conn *c, enum conn_state st)
{
	if (c->state == CS_REPLAY && st != CS_REPLAY)
		fh->replay_bytes -= c->qbytes;
	else if (c->state != CS_REPLAY && st == CS_REPLAY)
		fh->replay_bytes += c->qbytes;
	c->state = st;
}

void
conn_push(struct fh *fh, struct fh_conn *c, struct fh_frame *f)
{
	if (c->state == CS_CLOSING || c->state == CS_DEAD)
		return;
	if (f->event) {
		if (f->seq <= c->last_seq)
			return;		/* replay and live overlap */
		c->last_seq = f->seq;
		if (c->qevents >= fh->max_buffer) {
			conn_drop_unsent(fh, c);
			conn_fail(fh, c, "ConsumerTooSlow",
			    "Stream consumer too slow");
			return;
		}
	}
	if (conn_enqueue(fh, c, f) == -1)
		conn_free(fh, c, "out of memory");
}

void
conn_close_ws(struct fh *fh, struct fh_conn *c, uint16_t code,
    const char *reason, const char *why)
{
	struct fh_frame	*f;

	if (c->close_queued || c->state == CS_DEAD)
		return;
	c->why = why;
	conn_set_state(fh, c, CS_CLOSING);
	c->deadline_ms = util_now_ms() + LIM_FH_CLOSE_MS;
	if ((f = frame_close_new(code, reason)) == NULL ||
	    conn_enqueue(fh, c, f) == -1) {
		frame_unref(f);
		conn_free(fh, c, "out of memory");
		return;
	}
	frame_unref(f);
	c->close_queued = 1;
}

void
conn_fail(struct fh *fh, struct fh_conn *c, const char *error,
    const char *message)
{
	struct fh_frame	*f;

	if (c->close_queued || c->state == CS_DEAD)
		return;
	/* xrpc-server stream/server.ts: the error frame, then close 1008
	 * with the error name as the reason. */
	if ((f = frame_error_new(error, message)) == NULL ||
	    conn_enqueue(fh, c, f) == -1) {
		frame_unref(f);
		conn_free(fh, c, "out of memory");
		return;
	}
	frame_unref(f);
	conn_close_ws(fh, c, WS_CLOSE_POLICY, error, error);
}

/* ---- writing ------------------------------------------------------------ */

/* The queue is empty: whatever the state waits for, it happens now.
 * Returns -1 when c ended. */
static int
conn_drained(struct fh *fh, struct fh_conn *c)
{
	if (c->state == CS_REPLY) {
		conn_free(fh, c, c->why);
		return -1;
	}
	/* The closing handshake is done, or the client broke the protocol:
	 * then we fail the connection (RFC 6455 7.1.7) once our close frame
	 * is out, without waiting for an answer. */
	if (c->state == CS_CLOSING && c->close_queued &&
	    (c->peer_closed || c->rx.failed)) {
		conn_free(fh, c, c->why);
		return -1;
	}
	return 0;
}

/* Writes as much of the queue as the socket takes.  Returns -1 when c
 * ended (write error, or the closing handshake completed). */
static int
conn_flush(struct fh *fh, struct fh_conn *c)
{
	struct iovec	 iov[LIM_FH_WRITE_IOV];
	struct msghdr	 msg;
	struct fh_frame	*f;
	size_t		 i, n, rem;
	ssize_t		 w;

	while (c->qlen > 0) {
		for (n = 0, i = 0; i < c->qlen && n < LIM_FH_WRITE_IOV; i++) {
			f = c->q[(c->qhead + i) % c->qcap];
			iov[n].iov_base = f->data + (i == 0 ? c->qoff : 0);
			iov[n].iov_len = f->len - (i == 0 ? c->qoff : 0);
			n++;
		}
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = iov;
		msg.msg_iovlen = n;
		w = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				conn_want_out(fh, c, 1);
				return 0;
			}
			conn_free(fh, c, errno == EPIPE || errno ==
			    ECONNRESET ? "connection reset" : "write error");
			return -1;
		}
		while (w > 0) {
			f = c->q[c->qhead];
			rem = f->len - c->qoff;
			if ((size_t)w < rem) {
				c->qoff += (size_t)w;
				break;
			}
			w -= (ssize_t)rem;
			conn_pop(fh, c, 1);
		}
	}
	conn_want_out(fh, c, 0);
	if (c->state == CS_REPLAY && c->qevents <= fh->max_buffer / 2 &&
	    c->qbytes <= LIM_FH_REPLAY_BYTES / 2)
		hub_want_page(fh, c);
	return conn_drained(fh, c);
}

void
conn_flush_dirty(struct fh *fh)
{
	struct fh_conn	*c, *next;

	c = fh->dirty;
	fh->dirty = NULL;
	for (; c != NULL; c = next) {
		next = c->dnext;
		c->dirty = 0;
		c->dnext = NULL;
		/* When the socket is full, EPOLLOUT resumes the flush. */
		if (c->state != CS_DEAD && !c->want_out)
			(void)conn_flush(fh, c);
	}
}

/* ---- plain HTTP answers ------------------------------------------------- */

static void
conn_reply(struct fh *fh, struct fh_conn *c, int status, const char *text,
    const char *headers, const char *body, const char *why)
{
	struct fh_frame	*f;
	char		 r[768];
	int		 n;

	n = snprintf(r, sizeof(r), "HTTP/1.1 %d %s\r\n"
	    "Content-Type: application/json; charset=utf-8\r\n"
	    "Content-Length: %zu\r\nCache-Control: no-store\r\n"
	    "Connection: close\r\n%s\r\n%s", status, text, strlen(body),
	    headers, body);
	c->why = why;
	conn_set_state(fh, c, CS_REPLY);
	if (n < 0 || (size_t)n >= sizeof(r) ||
	    (f = frame_raw_new(r, (size_t)n)) == NULL) {
		conn_free(fh, c, "cannot build a response");
		return;
	}
	if (conn_enqueue(fh, c, f) == -1)
		conn_free(fh, c, "out of memory");
	frame_unref(f);
}

static void
conn_reply_error(struct fh *fh, struct fh_conn *c, int status,
    const char *text, const char *headers, const char *error,
    const char *message)
{
	char	body[256];

	(void)snprintf(body, sizeof(body),
	    "{\"error\":\"%s\",\"message\":\"%s\"}", error, message);
	conn_reply(fh, c, status, text, headers, body, message);
}

static void
conn_health(struct fh *fh, struct fh_conn *c)
{
	char	body[256];

	c->is_health = 1;
	(void)snprintf(body, sizeof(body), "{\"seq\":%lld,\"clients\":%zu,"
	    "\"frameBytes\":%zu,\"replayBytes\":%zu,\"db\":%s}",
	    (long long)fh->live_seq, fh->nws, frame_bytes(), fh->replay_bytes,
	    fh->db != NULL ? "true" : "false");
	conn_reply(fh, c, 200, "OK", "", body, "health");
}

/* ---- the upgrade ---------------------------------------------------------- */

/* Keeps the client address the proxy saw, for the log line only. */
static void
conn_client_ip(struct fh_conn *c, const struct ws_req *req)
{
	const struct ws_str	*v = req->real_ip.p ? &req->real_ip :
				    &req->forwarded;
	size_t			 n;

	if (v->p == NULL)
		return;
	for (n = 0; n < v->len && v->p[n] != ','; n++)
		;
	log_escape(c->client, sizeof(c->client), v->p, n);
}

static void
conn_upgrade(struct fh *fh, struct fh_conn *c, const struct ws_req *req)
{
	struct fh_frame	*f;
	char		 accept[WS_ACCEPT_LEN + 1], r[160];
	int		 has = 0, n, proto;
	int64_t		 cursor = 0;

	if (ws_accept_key(req->key.p, req->key.len, accept) == -1) {
		conn_reply_error(fh, c, 400, "Bad Request", "",
		    "InvalidRequest", "invalid Sec-WebSocket-Key");
		return;
	}
	proto = hub_cursor_parse(req->query.p, req->query.len, &has, &cursor);
	n = snprintf(r, sizeof(r), "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: %s\r\n\r\n", accept);
	if (n < 0 || (size_t)n >= sizeof(r) ||
	    (f = frame_raw_new(r, (size_t)n)) == NULL) {
		conn_free(fh, c, "cannot build a response");
		return;
	}
	c->upgraded = 1;
	fh->nws++;
	c->deadline_ms = 0;
	c->has_cursor = (uint8_t)has;
	c->cursor = cursor;
	conn_set_state(fh, c, CS_LIVE);
	ws_rx_init(&c->rx);
	if (conn_enqueue(fh, c, f) == -1) {
		frame_unref(f);
		conn_free(fh, c, "out of memory");
		return;
	}
	frame_unref(f);
	if (proto == -1) {
		/* xrpc-server util.ts getQueryParams() */
		conn_fail(fh, c, "InvalidQueryParameter",
		    "Invalid query parameter: __proto__");
		return;
	}
	hub_subscribe(fh, c);
}

/* Answers a complete request head. */
static void
conn_route(struct fh *fh, struct fh_conn *c, const struct ws_req *req)
{
	enum ws_up	up;

	conn_client_ip(c, req);
	if (req->path.len == strlen(CONN_PATH_HEALTH) &&
	    memcmp(req->path.p, CONN_PATH_HEALTH, req->path.len) == 0) {
		if (req->method.len == 3 && memcmp(req->method.p, "GET", 3) == 0)
			conn_health(fh, c);
		else
			conn_reply_error(fh, c, 405, "Method Not Allowed",
			    "Allow: GET\r\n", "InvalidRequest",
			    "method not allowed");
		return;
	}
	if (req->path.len != strlen(CONN_PATH_REPOS) ||
	    memcmp(req->path.p, CONN_PATH_REPOS, req->path.len) != 0) {
		conn_reply_error(fh, c, 404, "Not Found", "", "NotFound",
		    "not found");
		return;
	}
	if (fh->shutting_down) {
		conn_reply_error(fh, c, 503, "Service Unavailable", "",
		    "ServiceUnavailable", "shutting down");
		return;
	}
	switch ((up = ws_upgrade_check(req))) {
	case WS_UP_OK:
		conn_upgrade(fh, c, req);
		return;
	case WS_UP_NOT_GET:
		conn_reply_error(fh, c, 405, "Method Not Allowed",
		    "Allow: GET\r\n", "InvalidRequest", ws_up_str(up));
		return;
	case WS_UP_NO_UPGRADE:
		conn_reply_error(fh, c, 426, "Upgrade Required",
		    "Upgrade: websocket\r\nConnection: Upgrade\r\n",
		    "InvalidRequest", ws_up_str(up));
		return;
	case WS_UP_BAD_VERSION:
		conn_reply_error(fh, c, 426, "Upgrade Required",
		    "Sec-WebSocket-Version: 13\r\n", "InvalidRequest",
		    ws_up_str(up));
		return;
	default:
		conn_reply_error(fh, c, 400, "Bad Request", "",
		    "InvalidRequest", ws_up_str(up));
		return;
	}
}

/* ---- reading ---------------------------------------------------------------- */

static int	conn_ws_input(struct fh *, struct fh_conn *, uint8_t *,
		    size_t *);

/* Takes what follows the request head in the same read (a client may
 * send frames before it sees the 101) into the WebSocket reader. */
static int
conn_leftover(struct fh *fh, struct fh_conn *c, const uint8_t *p, size_t n)
{
	size_t	have = n;

	if (n == 0)
		return 0;
	memcpy(conn_rbuf, p, n);
	if (conn_ws_input(fh, c, conn_rbuf, &have) == -1)
		return -1;
	if (have > sizeof(c->rxbuf))
		have = 0;	/* the reader failed; input is ignored */
	memcpy(c->rxbuf, conn_rbuf, have);
	c->rxlen = have;
	return 0;
}

static int
conn_read_http(struct fh *fh, struct fh_conn *c)
{
	struct ws_req	 req;
	ssize_t		 n;
	uint8_t		*hs;
	int		 r = 0;

	if (c->hs == NULL && (c->hs = malloc(LIM_WS_HANDSHAKE)) == NULL) {
		conn_free(fh, c, "out of memory");
		return -1;
	}
	n = read(c->fd, c->hs + c->hslen, LIM_WS_HANDSHAKE - c->hslen);
	if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
		conn_free(fh, c, n == 0 ? "closed before a request" :
		    "read error");
		return -1;
	}
	if (n == -1)
		return 0;
	c->hslen += (size_t)n;
	switch (ws_req_parse(c->hs, c->hslen, &req)) {
	case WS_HS_PARTIAL:
		return 0;
	case WS_HS_TOO_LARGE:
		conn_reply_error(fh, c, 431, "Request Header Fields Too Large",
		    "", "InvalidRequest", "request head too large");
		break;
	case WS_HS_BAD:
		conn_reply_error(fh, c, 400, "Bad Request", "",
		    "InvalidRequest", "malformed request");
		break;
	default:
		conn_route(fh, c, &req);
		if (c->state != CS_DEAD && c->upgraded)
			r = conn_leftover(fh, c, c->hs + req.hdr_len,
			    c->hslen - req.hdr_len);
		break;
	}
	if (r == 0 && c->state != CS_DEAD) {
		hs = c->hs;
		c->hs = NULL;
		c->hslen = 0;
		free(hs);
	}
	return r;
}

/* One pong at a time: a newer ping's payload replaces a pong not yet
 * started (RFC 6455 5.5.3 allows answering only the latest ping).
 * Returns -1 when c ended. */
static int
conn_pong(struct fh *fh, struct fh_conn *c, const uint8_t *p, size_t len)
{
	struct fh_frame	*f;
	size_t		 i, idx;

	if (c->close_queued)
		return 0;
	if ((f = frame_pong_new(p, len)) == NULL) {
		conn_free(fh, c, "out of memory");
		return -1;
	}
	for (i = 0; c->pong != NULL && i < c->qlen; i++) {
		idx = (c->qhead + i) % c->qcap;
		if (c->q[idx] != c->pong)
			continue;
		if (i == 0 && c->qoff > 0)
			break;		/* being sent: queue another */
		conn_qbytes_sub(fh, c, c->pong->len);
		c->qbytes += f->len;
		if (c->state == CS_REPLAY)
			fh->replay_bytes += f->len;
		frame_unref(c->pong);
		c->q[idx] = f;
		c->pong = f;
		return 0;
	}
	if (conn_enqueue(fh, c, f) == -1) {
		frame_unref(f);
		conn_free(fh, c, "out of memory");
		return -1;
	}
	c->pong = f;
	frame_unref(f);
	return 0;
}

/* The client's close frame (RFC 6455 5.5.1, 7.1.5).  Returns -1 when c
 * ended. */
static int
conn_peer_close(struct fh *fh, struct fh_conn *c, uint16_t code)
{
	c->peer_closed = 1;
	if (c->close_queued) {
		/* Nothing is queued after our close frame: an empty queue
		 * means it is out, and the closing handshake is done. */
		if (c->qlen == 0) {
			conn_free(fh, c, c->why);
			return -1;
		}
		return 0;
	}
	conn_drop_unsent(fh, c);
	conn_close_ws(fh, c, code, NULL, "client closed");
	return 0;
}

/* Runs the reader over (p, *have); leaves the unconsumed bytes at p and
 * their count in *have.  Returns -1 when c ended. */
static int
conn_ws_input(struct fh *fh, struct fh_conn *c, uint8_t *p, size_t *have)
{
	struct ws_event	ev;
	size_t		used, off = 0;
	int		r = 0;

	while (r == 0 && !c->peer_closed && !c->rx.failed) {
		used = ws_rx_feed(&c->rx, p + off, *have - off, &ev);
		off += used;
		switch (ev.type) {
		case WS_EV_NONE:
		case WS_EV_PONG:
		case WS_EV_MESSAGE:	/* the reference ignores them too */
			break;
		case WS_EV_PING:
			r = conn_pong(fh, c, ev.payload, ev.len);
			break;
		case WS_EV_CLOSE:
			r = conn_peer_close(fh, c, ev.code);
			break;
		case WS_EV_ERROR:
			conn_drop_unsent(fh, c);
			conn_close_ws(fh, c, ev.code, ev.why, ev.why);
			break;
		default:
			break;
		}
		if (ev.type == WS_EV_NONE && used == 0)
			break;
	}
	if (r == -1)
		return -1;
	if (c->peer_closed || c->rx.failed)
		off = *have;		/* nothing more is read */
	memmove(p, p + off, *have - off);
	*have -= off;
	return 0;
}

static int
conn_read_ws(struct fh *fh, struct fh_conn *c)
{
	size_t	have = c->rxlen, room;
	ssize_t	n;
	int	i;

	memcpy(conn_rbuf, c->rxbuf, have);
	for (i = 0; i < LIM_FH_READS_PER_WAKE; i++) {
		room = sizeof(conn_rbuf) - have;
		n = read(c->fd, conn_rbuf + have, room);
		if (n == 0) {
			conn_free(fh, c, c->peer_closed ? c->why :
			    c->close_queued ? c->why :
			    "client went away without a close frame");
			return -1;
		}
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			conn_free(fh, c, "read error");
			return -1;
		}
		have += (size_t)n;
		if (conn_ws_input(fh, c, conn_rbuf, &have) == -1)
			return -1;
		if ((size_t)n < room)
			break;
	}
	if (have > sizeof(c->rxbuf)) {
		/* Cannot happen: the reader keeps at most one partial
		 * header or control frame. */
		conn_free(fh, c, "reader overflow");
		return -1;
	}
	memcpy(c->rxbuf, conn_rbuf, have);
	c->rxlen = have;
	return 0;
}

/* A plain HTTP answer is being written: input is read and dropped. */
static int
conn_read_discard(struct fh *fh, struct fh_conn *c)
{
	ssize_t	n;

	n = read(c->fd, conn_rbuf, sizeof(conn_rbuf));
	if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
		conn_free(fh, c, c->why != NULL ? c->why : "closed");
		return -1;
	}
	return 0;
}

void
conn_event(struct fh *fh, struct fh_conn *c, uint32_t events)
{
	int	r = 0;

	if (c->state == CS_DEAD)
		return;
	if (events & EPOLLERR) {
		conn_free(fh, c, "socket error");
		return;
	}
	if (events & (EPOLLIN | EPOLLHUP)) {
		if (c->state == CS_HTTP)
			r = conn_read_http(fh, c);
		else if (c->state == CS_REPLY)
			r = conn_read_discard(fh, c);
		else
			r = conn_read_ws(fh, c);
	}
	if (r == 0 && c->state != CS_DEAD && (events & EPOLLOUT))
		(void)conn_flush(fh, c);
}

/* ---- accepting, ending ---------------------------------------------------- */

static void
conn_peer_name(struct fh_conn *c, const struct sockaddr_storage *ss)
{
	const struct sockaddr_in	*s4 = (const void *)ss;
	const struct sockaddr_in6	*s6 = (const void *)ss;
	char				 a[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET &&
	    inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a)) != NULL)
		(void)snprintf(c->peer, sizeof(c->peer), "%s:%u", a,
		    ntohs(s4->sin_port));
	else if (ss->ss_family == AF_INET6 &&
	    inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a)) != NULL)
		(void)snprintf(c->peer, sizeof(c->peer), "[%s]:%u", a,
		    ntohs(s6->sin6_port));
	else
		(void)snprintf(c->peer, sizeof(c->peer), "unix");
}

/* Over the connection limit: a short 503, best effort, and close. */
static void
conn_refuse(int fd)
{
	static const char	body[] = "{\"error\":\"ServiceUnavailable\","
	    "\"message\":\"too many connections\"}";
	char			r[256];
	int			n;

	n = snprintf(r, sizeof(r), "HTTP/1.1 503 Service Unavailable\r\n"
	    "Content-Type: application/json; charset=utf-8\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
	    sizeof(body) - 1, body);
	if (n > 0 && (size_t)n < sizeof(r))
		(void)send(fd, r, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

static void
conn_new(struct fh *fh, int fd, const struct sockaddr_storage *ss)
{
	struct fh_conn	*c;
	int		 one = 1, sndbuf = LIM_FH_SNDBUF;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_error("%s: out of memory", __func__);
		close(fd);
		return;
	}
	c->w.kind = FH_CONN;
	c->fd = fd;
	c->state = CS_HTTP;
	c->started_ms = util_now_ms();
	c->deadline_ms = c->started_ms + LIM_FH_HANDSHAKE_MS;
	conn_peer_name(c, ss);
	if (ss->ss_family != AF_UNIX) {
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf,
		    sizeof(sndbuf));
	}
	if (fh_watch_add(fh, fd, EPOLLIN, &c->w) == -1) {
		close(fd);
		free(c);
		return;
	}
	c->next = fh->conns;
	if (fh->conns != NULL)
		fh->conns->prev = c;
	fh->conns = c;
	fh->nconns++;
}

void
conn_accept(struct fh *fh)
{
	struct sockaddr_storage	ss;
	socklen_t		sl;
	int			fd, i;

	for (i = 0; i < LIM_FH_ACCEPTS_PER_WAKE; i++) {
		sl = sizeof(ss);
		memset(&ss, 0, sizeof(ss));
		fd = accept4(fh->listen_fd, (struct sockaddr *)&ss, &sl,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EAGAIN || errno == EINTR ||
			    errno == ECONNABORTED)
				return;
			/* EMFILE and friends: pause accepting a little
			 * rather than spin on a readable listener. */
			log_warn("%s: accept: %s", __func__, strerror(errno));
			fh_pause_accept(fh);
			return;
		}
		if (fh->nconns >= fh->max_conns || fh->shutting_down) {
			/* One line a second at most, however hard the
			 * listener is hammered. */
			if (util_now_ms() - fh->refused_log_ms >= 1000) {
				log_warn("%s: refusing connections: %zu open "
				    "(max %zu)", __func__, fh->nconns,
				    fh->max_conns);
				fh->refused_log_ms = util_now_ms();
			}
			conn_refuse(fd);
			continue;
		}
		conn_new(fh, fd, &ss);
	}
}

void
conn_free(struct fh *fh, struct fh_conn *c, const char *why)
{
	char	cur[32];
	int64_t	dur;

	if (c == NULL || c->state == CS_DEAD)
		return;
	dur = util_now_ms() - c->started_ms;
	if (c->has_cursor)
		(void)snprintf(cur, sizeof(cur), "%lld", (long long)c->cursor);
	else
		(void)snprintf(cur, sizeof(cur), "none");
	if (c->upgraded)
		log_info("conn peer=%s client=%s cursor=%s events=%llu "
		    "last_seq=%lld ms=%lld end=\"%s\"", c->peer,
		    c->client[0] ? c->client : "-", cur,
		    (unsigned long long)c->sent, (long long)c->last_seq,
		    (long long)dur, why ? why : "?");
	else
		log_msg(c->is_health ? LOG_LVL_DEBUG : LOG_LVL_INFO,
		    "conn peer=%s client=%s http ms=%lld end=\"%s\"", c->peer,
		    c->client[0] ? c->client : "-", (long long)dur,
		    why ? why : "?");
	fh_watch_del(fh, c->fd);
	close(c->fd);
	c->fd = -1;
	conn_set_state(fh, c, CS_DEAD);
	while (c->qlen > 0)
		conn_pop(fh, c, 0);
	free(c->hs);
	c->hs = NULL;
	if (c->upgraded)
		fh->nws--;
	/* Unlink from the list of live connections; freed by conn_reap(). */
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		fh->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	fh->nconns--;
	c->prev = NULL;
	c->next = fh->dead;
	fh->dead = c;
}

void
conn_reap(struct fh *fh)
{
	struct fh_conn	*c, *next, *keep = NULL;

	for (c = fh->dead; c != NULL; c = next) {
		next = c->next;
		if (c->dirty || c->in_replay_list) {
			/* Still on a work list: next turn. */
			c->next = keep;
			keep = c;
			continue;
		}
		free(c->q);
		free(c);
	}
	fh->dead = keep;
}

void
conn_sweep(struct fh *fh, int64_t now_ms)
{
	struct fh_conn	*c, *next;

	for (c = fh->conns; c != NULL; c = next) {
		next = c->next;
		if (c->deadline_ms != 0 && now_ms >= c->deadline_ms)
			conn_free(fh, c, c->state == CS_HTTP ?
			    "request timeout" : c->state == CS_CLOSING ?
			    c->why : "timeout");
	}
}

void
conn_shutdown(struct fh *fh)
{
	struct fh_conn	*c, *next;

	for (c = fh->conns; c != NULL; c = next) {
		next = c->next;
		if (c->upgraded)
			conn_close_ws(fh, c, WS_CLOSE_GOING_AWAY,
			    "server shutting down", "server shutting down");
		else if (c->state == CS_HTTP)
			conn_free(fh, c, "server shutting down");
	}
}

void
conn_free_all(struct fh *fh)
{
	struct fh_conn	*c;

	while (fh->conns != NULL)
		conn_free(fh, fh->conns, "server exit");
	fh->dirty = NULL;
	fh->pages = NULL;
	for (c = fh->dead; c != NULL; c = c->next)
		c->dirty = c->in_replay_list = 0;
	conn_reap(fh);
}
