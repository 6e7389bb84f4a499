/*
 * fuzz_record.c: libFuzzer target for record preparation (prepare.c, which
 * validates through fcgi/core/lexicon.h) of untrusted record JSON, and for
 * the MIME sniffer (mimesniff.c) over the same bytes.
 *
 * Input: one selector byte, then JSON text.  The selector picks the
 * collection (a built-in record type, or an unknown one), the validate
 * mode and whether an rkey is given.  Invariants: an accepted write has a
 * DAG-CBOR block that decodes strictly, re-encodes identically and hashes
 * to its CID; a known type that is accepted is "valid" and validates
 * again (strictly or not) as valid; a refusal always has a message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "arena.h"
#include "cbor.h"
#include "mimesniff.h"
#include "prepare.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The record types the reference validates itself (prepare.js). */
static const char *const types[] = {
	"app.bsky.actor.profile", "app.bsky.actor.status",
	"app.bsky.feed.generator", "app.bsky.feed.like", "app.bsky.feed.post",
	"app.bsky.feed.postgate", "app.bsky.feed.repost",
	"app.bsky.feed.threadgate", "app.bsky.graph.block",
	"app.bsky.graph.follow", "app.bsky.graph.list",
	"app.bsky.graph.listblock", "app.bsky.graph.listitem",
	"app.bsky.graph.starterpack", "app.bsky.graph.verification",
	"app.bsky.labeler.service", "app.bsky.notification.declaration",
	"chat.bsky.actor.declaration", "com.atproto.lexicon.schema",
	"com.germnetwork.declaration",
};
#define NTYPES	(sizeof(types) / sizeof(types[0]))

static void
check_block(struct arena *a, const struct rw_write *w)
{
	struct cbor_val	*v;
	struct buf	 b;
	struct cid	 c;

	if (cbor_decode(a, w->rec, w->reclen, &v) != CBOR_OK)
		abort();
	buf_init(&b, 0);
	if (cbor_encode(&b, v) == -1 || b.len != w->reclen ||
	    memcmp(b.data, w->rec, b.len) != 0)
		abort();
	buf_free(&b);
	if (cid_compute(&c, CID_CODEC_DAG_CBOR, w->rec, w->reclen) == -1 ||
	    !cid_equal(&c, &w->cid))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t len)
{
	static struct arena		 a;
	static int			 ready;
	struct prep_in			 in;
	struct rw_write			 w;
	char				 msg[1024];
	json_t				*j;
	uint8_t				 sel;

	if (!ready) {
		arena_init(&a);
		ready = 1;
	}
	(void)mime_sniff(p, len);
	(void)mime_validate((const char *)p, len);
	if (len < 1)
		return 0;
	sel = p[0];
	if ((j = json_loadb((const char *)p + 1, len - 1, 0, NULL)) == NULL)
		return 0;
	memset(&in, 0, sizeof(in));
	in.did = "did:plc:fuzz";
	in.collection = (size_t)(sel & 0x1f) < NTYPES ? types[sel & 0x1f] :
	    "com.example.fuzz";
	in.validate = (enum prep_validate)((sel >> 5) % 3);
	in.rkey = (sel & 0x80) ? "self" : NULL;
	in.action = REPO_CREATE;
	in.record = j;
	msg[0] = '\0';
	if (prepare_write(&a, &in, &w, msg, sizeof(msg)) == 0) {
		check_block(&a, &w);
		if (in.validate != PREP_VALIDATE_FALSE &&
		    strcmp(in.collection, "com.example.fuzz") != 0 &&
		    (w.validation == NULL || strcmp(w.validation, "valid") != 0))
			abort();
	} else if (msg[0] == '\0') {
		abort();
	}
	json_decref(j);
	arena_reset(&a);
	return 0;
}
