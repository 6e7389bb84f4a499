/*
 * frame.c: building the bytes pds-firehose sends, once per frame, in a
 * refcounted buffer every client's queue points at (never copied per
 * client).  A frame holds the WebSocket header and the payload together,
 * ready for sendmsg().
 *
 * Message framing (xrpc-server stream/frames.ts, reference-pds.md d):
 * the payload is two DAG-CBOR items, a header map then a body map.
 */
#include <stdlib.h>
#include <string.h>

#include "cbor.h"
#include "fh.h"
#include "log.h"

static size_t	frame_alive;	/* bytes held by frames */

/* Allocates a frame for a payload of len bytes with its binary (or op)
 * frame header written; the caller fills data + *off. */
static struct fh_frame *
frame_alloc(enum ws_opcode op, size_t len, size_t *off)
{
	struct fh_frame	*f;
	uint8_t		 hdr[WS_HDR_MAX];
	size_t		 hl;

	hl = ws_frame_header(hdr, op, len);
	if (len > SIZE_MAX - sizeof(*f) - hl ||
	    (f = malloc(sizeof(*f) + hl + len)) == NULL) {
		log_error("%s: out of memory (%zu bytes)", __func__, len);
		return NULL;
	}
	f->refs = 1;
	f->event = 0;
	f->seq = 0;
	f->len = hl + len;
	memcpy(f->data, hdr, hl);
	*off = hl;
	frame_alive += f->len;
	return f;
}

/* Frames a payload already encoded in b. */
static struct fh_frame *
frame_from_buf(const struct buf *b)
{
	struct fh_frame	*f;
	size_t		 off;

	if ((f = frame_alloc(WS_OP_BINARY, b->len, &off)) == NULL)
		return NULL;
	memcpy(f->data + off, b->data, b->len);
	return f;
}

/* The message header {t, op: 1} in canonical key order ("t" < "op"). */
static int
frame_msg_header(struct buf *b, const char *t)
{
	return cbor_put_map(b, 2) == -1 || cbor_put_cstr(b, "t") == -1 ||
	    cbor_put_cstr(b, t) == -1 || cbor_put_cstr(b, "op") == -1 ||
	    cbor_put_int(b, 1) == -1 ? -1 : 0;
}

struct fh_frame *
frame_event_new(const struct seqdb_row *row, struct arena *scratch,
    struct buf *enc)
{
	struct cbor_val	*body = NULL, *seq, *time;
	struct fh_frame	*f = NULL;
	enum cbor_err	 e;

	arena_reset(scratch);
	buf_reset(enc);
	e = cbor_decode(scratch, row->event, row->event_len, &body);
	if (e != CBOR_OK || body->type != CBOR_MAP) {
		log_error("%s: seq %lld: stored event is not a DAG-CBOR map "
		    "(%s); skipped", __func__, (long long)row->seq,
		    e != CBOR_OK ? cbor_err_str(e) : "not a map");
		return NULL;
	}
	/* The reference yields {$type, seq, time, ...evt}: seq and time
	 * join the stored map, and cbor_encode() sorts the keys. */
	if ((seq = cbor_new_int(scratch, row->seq)) == NULL ||
	    (time = cbor_new_text(scratch, row->time, row->time_len)) ==
	    NULL || cbor_map_set(scratch, body, "seq", seq) == -1 ||
	    cbor_map_set(scratch, body, "time", time) == -1 ||
	    frame_msg_header(enc, seqdb_type_wire(row->type)) == -1 ||
	    cbor_encode(enc, body) == -1) {
		log_error("%s: seq %lld: cannot encode the event; skipped",
		    __func__, (long long)row->seq);
		goto out;
	}
	if ((f = frame_from_buf(enc)) != NULL) {
		f->event = 1;
		f->seq = row->seq;
	}
out:
	arena_reset(scratch);
	return f;
}

struct fh_frame *
frame_info_new(const char *name, const char *message)
{
	struct fh_frame	*f = NULL;
	struct buf	 b;

	buf_init(&b, 0);
	if (frame_msg_header(&b, "#info") == 0 &&
	    cbor_put_map(&b, 2) == 0 && cbor_put_cstr(&b, "name") == 0 &&
	    cbor_put_cstr(&b, name) == 0 &&
	    cbor_put_cstr(&b, "message") == 0 &&
	    cbor_put_cstr(&b, message) == 0)
		f = frame_from_buf(&b);
	buf_free(&b);
	return f;
}

struct fh_frame *
frame_error_new(const char *error, const char *message)
{
	struct fh_frame	*f = NULL;
	struct buf	 b;

	buf_init(&b, 0);
	if (cbor_put_map(&b, 1) == 0 && cbor_put_cstr(&b, "op") == 0 &&
	    cbor_put_int(&b, -1) == 0 &&
	    cbor_put_map(&b, message != NULL ? 2 : 1) == 0 &&
	    cbor_put_cstr(&b, "error") == 0 &&
	    cbor_put_cstr(&b, error) == 0 &&
	    (message == NULL || (cbor_put_cstr(&b, "message") == 0 &&
	    cbor_put_cstr(&b, message) == 0)))
		f = frame_from_buf(&b);
	buf_free(&b);
	return f;
}

struct fh_frame *
frame_close_new(uint16_t code, const char *reason)
{
	struct fh_frame	*f;
	uint8_t		 p[WS_CTRL_MAX];
	size_t		 n, off;

	n = code == WS_CLOSE_NO_STATUS ? 0 :
	    ws_close_payload(p, code, reason, reason ? strlen(reason) : 0);
	if ((f = frame_alloc(WS_OP_CLOSE, n, &off)) != NULL)
		memcpy(f->data + off, p, n);
	return f;
}

struct fh_frame *
frame_pong_new(const uint8_t *payload, size_t len)
{
	struct fh_frame	*f;
	size_t		 off;

	if (len > WS_CTRL_MAX)
		return NULL;
	if ((f = frame_alloc(WS_OP_PONG, len, &off)) != NULL && len > 0)
		memcpy(f->data + off, payload, len);
	return f;
}

struct fh_frame *
frame_raw_new(const void *p, size_t len)
{
	struct fh_frame	*f;

	if (len > SIZE_MAX - sizeof(*f) || (f = malloc(sizeof(*f) + len)) ==
	    NULL) {
		log_error("%s: out of memory", __func__);
		return NULL;
	}
	f->refs = 1;
	f->event = 0;
	f->seq = 0;
	f->len = len;
	memcpy(f->data, p, len);
	frame_alive += len;
	return f;
}

struct fh_frame *
frame_ref(struct fh_frame *f)
{
	f->refs++;
	return f;
}

void
frame_unref(struct fh_frame *f)
{
	if (f == NULL || --f->refs > 0)
		return;
	frame_alive -= f->len;
	free(f);
}

size_t
frame_bytes(void)
{
	return frame_alive;
}
