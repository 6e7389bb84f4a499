/*
 * test_plc.c: plc.c against operations made by the official library.
 * The vectors were produced with @did-plc/lib 0.0.x (createOp,
 * updateHandleOp) and @atproto/crypto Secp256k1Keypair.import() of the
 * fixed keys 0x11.., 0x22.., 0x33.. (both sides sign with RFC 6979
 * deterministic nonces, so signatures match byte for byte): the genesis
 * operation, its DID, and a handle update.  Then: signature checks with
 * the right and wrong keys, a tampered operation, parse refusals
 * (missing/extra fields, bad keys, too many rotation keys, bad prev,
 * bad sig, $link smuggling), legacy "create" normalisation and
 * tombstones.
 */
#include <string.h>

#include "t.h"
#include "arena.h"
#include "buf.h"
#include "cbor.h"
#include "cbor_json.h"
#include "keys.h"
#include "plc.h"

#define ROT_HEX	"1111111111111111111111111111111111111111111111111111111111111111"
#define SK_HEX	"2222222222222222222222222222222222222222222222222222222222222222"
#define REC_HEX	"3333333333333333333333333333333333333333333333333333333333333333"

static const char rot_did[] =
    "did:key:zQ3shjyJXUaRJC2GC43mX8aPrUhoTdoiongXhZjsdTzPKYZUM";
static const char sk_did[] =
    "did:key:zQ3shS9i8ufXsDMmNUWAzJDryVeJeQjh2cQNVA6Sc3r9W8wnv";
static const char rec_did[] =
    "did:key:zQ3shRUke9kEV715U9eWXBSYLw8TGmg2qm87uQidBGexviaFA";
static const char want_did[] = "did:plc:k2a7aowduhervtu5xybsee3o";
static const char want_sig[] = "0jy-nWzMvmb0-3VKi6OFGHGmaPtA7ZpFXejPYMQGFy4"
    "ZLnNZqHnUA7lZRZlT6sMCJ9Tn4cHJ6h_4deCRyKODag";
static const char genesis_json[] = "{\"type\":\"plc_operation\","
    "\"verificationMethods\":{\"atproto\":\"did:key:zQ3shS9i8ufXsDMmNUWAzJDr"
    "yVeJeQjh2cQNVA6Sc3r9W8wnv\"},\"rotationKeys\":[\"did:key:zQ3shRUke9kEV7"
    "15U9eWXBSYLw8TGmg2qm87uQidBGexviaFA\",\"did:key:zQ3shjyJXUaRJC2GC43mX8a"
    "PrUhoTdoiongXhZjsdTzPKYZUM\"],\"alsoKnownAs\":[\"at://alice.test\"],"
    "\"services\":{\"atproto_pds\":{\"type\":\"AtprotoPersonalDataServer\","
    "\"endpoint\":\"https://pds.example.com\"}},\"prev\":null,\"sig\":\"0jy-"
    "nWzMvmb0-3VKi6OFGHGmaPtA7ZpFXejPYMQGFy4ZLnNZqHnUA7lZRZlT6sMCJ9Tn4cHJ6h_"
    "4deCRyKODag\"}";
static const char update_prev[] =
    "bafyreicwqhydvq5bzenm5hn6amrbg3xuiopoxs7ovbhee5jtkfdyn2sula";
static const char update_sig[] = "1FHBCabT5BKqKpdZVHoWm31169pnTyFqeaOW5CpOxcJ"
    "3Lz5gnRMjivNeTUCPpFpqgR2VI2zDZ538y6T1V_vjow";

static struct key *
load(const char *hex)
{
	struct key	*k = NULL;

	if (key_load_hex(KEY_TYPE_K256, hex, 64, &k) != KEY_OK)
		abort();
	return k;
}

static const char *
text(const struct cbor_val *v, const char *k)
{
	static char	 s[256];
	struct cbor_val	*f = cbor_map_get(v, k);

	if (f == NULL || f->type != CBOR_TEXT || f->u.s.len >= sizeof(s))
		return "";
	memcpy(s, f->u.s.p, f->u.s.len);
	s[f->u.s.len] = '\0';
	return s;
}

static void
test_genesis(struct arena *a, struct key *rot)
{
	const char *const	 rk[] = { rec_did, rot_did };
	struct plc_genesis	 g = { rk, 2, sk_did, "alice.test",
	    "https://pds.example.com" };
	struct cbor_val		*op, *ref;
	struct buf		 x, y;
	char			 did[PLC_DID_LEN];
	const char		*why;
	size_t			 which = 9;

	T_EQ_INT(plc_op_genesis(a, &g, &op), PLC_OK);
	T_EQ_INT(plc_op_sign(a, op, rot), PLC_OK);
	T_EQ_STR(text(op, "sig"), want_sig);
	T_EQ_INT(plc_op_did(op, did), PLC_OK);
	T_EQ_STR(did, want_did);
	/* byte-identical to the library's operation */
	T_EQ_INT(plc_op_parse(a, genesis_json, strlen(genesis_json), 1, &ref,
	    &why), PLC_OK);
	buf_init(&x, 0);
	buf_init(&y, 0);
	T_EQ_INT(cbor_encode(&x, op), 0);
	T_EQ_INT(cbor_encode(&y, ref), 0);
	T_EQ_MEM(x.data, x.len, y.data, y.len);
	buf_free(&x);
	buf_free(&y);
	/* signed by the rotation key, not by the others */
	T_EQ_INT(plc_op_verify(ref, rk, 2, &which), PLC_OK);
	T_EQ_INT(which, 1);
	T_EQ_INT(plc_op_verify(ref, rk, 1, &which), PLC_ERR_SIG);
	/* a scheme-less endpoint gets https:// (ensureHttpPrefix) */
	g.endpoint = "pds.example.com";
	T_EQ_INT(plc_op_genesis(a, &g, &op), PLC_OK);
	T_EQ_INT(plc_op_sign(a, op, rot), PLC_OK);
	T_EQ_INT(plc_op_did(op, did), PLC_OK);
	T_EQ_STR(did, want_did);
	/* key count limits */
	g.nrotation = 0;
	T_EQ_INT(plc_op_genesis(a, &g, &op), PLC_ERR_FORMAT);
	g.nrotation = 6;
	T_EQ_INT(plc_op_genesis(a, &g, &op), PLC_ERR_FORMAT);
}

static void
test_update(struct arena *a, struct key *rot)
{
	const char *const	 rk[] = { rot_did };
	struct cbor_val		*last, *up, *aka;
	const char		*why;
	size_t			 which;

	T_EQ_INT(plc_op_parse(a, genesis_json, strlen(genesis_json), 1, &last,
	    &why), PLC_OK);
	T_EQ_INT(plc_op_update(a, last, "bob.example.org", &up), PLC_OK);
	T_EQ_STR(text(up, "prev"), update_prev);
	T_OK(cbor_map_get(up, "sig") == NULL, "update is unsigned");
	T_EQ_INT(plc_op_sign(a, up, rot), PLC_OK);
	T_EQ_STR(text(up, "sig"), update_sig);
	aka = cbor_map_get(up, "alsoKnownAs");
	T_OK(aka != NULL && aka->u.a.n == 1, "one alias");
	T_EQ_INT(plc_op_verify(up, rk, 1, &which), PLC_OK);
	T_EQ_INT(plc_op_validate(up, 1, &why), PLC_OK);
	/* the original is untouched */
	T_EQ_STR(text(last, "sig"), want_sig);
	/* tampering breaks the signature */
	T_EQ_INT(cbor_map_set(a, up, "prev", cbor_new_cstr(a, update_prev)), 0);
	T_EQ_INT(cbor_map_set(a, up, "type", cbor_new_cstr(a, "plc_operation")),
	    0);
	T_EQ_INT(plc_op_verify(up, rk, 1, &which), PLC_OK);
	T_EQ_INT(cbor_map_set(a, aka, "x", NULL), -1);
	T_EQ_INT(cbor_map_set(a, up, "prev", cbor_new_null(a)), 0);
	T_EQ_INT(plc_op_verify(up, rk, 1, &which), PLC_ERR_SIG);
}

static void
test_aliases(struct arena *a)
{
	static const char j[] = "{\"type\":\"plc_operation\","
	    "\"verificationMethods\":{},\"rotationKeys\":[\"did:key:zQ3shjyJ"
	    "XUaRJC2GC43mX8aPrUhoTdoiongXhZjsdTzPKYZUM\"],\"alsoKnownAs\":["
	    "\"https://x.example\",\"at://old.test\",\"at://other.test\"],"
	    "\"services\":{},\"prev\":null}";
	static const char none[] = "{\"type\":\"plc_operation\","
	    "\"verificationMethods\":{},\"rotationKeys\":[\"did:key:zQ3shjyJ"
	    "XUaRJC2GC43mX8aPrUhoTdoiongXhZjsdTzPKYZUM\"],\"alsoKnownAs\":["
	    "\"https://x.example\"],\"services\":{},\"prev\":null}";
	struct cbor_val	*op, *up, *aka;
	const char	*why;

	T_EQ_INT(plc_op_parse(a, j, strlen(j), 0, &op, &why), PLC_OK);
	T_EQ_INT(plc_op_update(a, op, "new.test", &up), PLC_OK);
	aka = cbor_map_get(up, "alsoKnownAs");
	T_EQ_INT(aka->u.a.n, 3);
	T_EQ_MEM(aka->u.a.items[1]->u.s.p, aka->u.a.items[1]->u.s.len,
	    "at://new.test", 13);
	T_EQ_MEM(aka->u.a.items[2]->u.s.p, aka->u.a.items[2]->u.s.len,
	    "at://other.test", 15);
	T_EQ_INT(plc_op_parse(a, none, strlen(none), 0, &op, &why), PLC_OK);
	T_EQ_INT(plc_op_update(a, op, "new.test", &up), PLC_OK);
	aka = cbor_map_get(up, "alsoKnownAs");
	T_EQ_INT(aka->u.a.n, 2);
	T_EQ_MEM(aka->u.a.items[0]->u.s.p, aka->u.a.items[0]->u.s.len,
	    "at://new.test", 13);
}

static void
test_legacy_and_tombstone(struct arena *a)
{
	static const char create[] = "{\"type\":\"create\",\"signingKey\":"
	    "\"did:key:zQ3shS9i8ufXsDMmNUWAzJDryVeJeQjh2cQNVA6Sc3r9W8wnv\","
	    "\"recoveryKey\":\"did:key:zQ3shRUke9kEV715U9eWXBSYLw8TGmg2qm87uQi"
	    "dBGexviaFA\",\"handle\":\"old.test\",\"service\":\"pds.example\","
	    "\"prev\":null,\"sig\":\"0jy-nWzMvmb0-3VKi6OFGHGmaPtA7ZpFXejPYMQGF"
	    "y4ZLnNZqHnUA7lZRZlT6sMCJ9Tn4cHJ6h_4deCRyKODag\"}";
	static const char tomb[] = "{\"type\":\"plc_tombstone\",\"prev\":"
	    "\"bafyreicwqhydvq5bzenm5hn6amrbg3xuiopoxs7ovbhee5jtkfdyn2sula\","
	    "\"sig\":\"0jy-nWzMvmb0-3VKi6OFGHGmaPtA7ZpFXejPYMQGFy4ZLnNZqHnUA7l"
	    "ZRZlT6sMCJ9Tn4cHJ6h_4deCRyKODag\"}";
	struct cbor_val	*op, *n, *up;
	const char	*why;

	T_EQ_INT(plc_op_parse(a, create, strlen(create), 1, &op, &why),
	    PLC_OK);
	T_EQ_STR(plc_op_type(op), "create");
	n = plc_op_normalize(a, op);
	T_OK(n != NULL, "normalised");
	T_EQ_STR(text(n, "type"), "plc_operation");
	T_EQ_STR(text(cbor_map_get(n, "services"), "x"), "");
	T_EQ_STR(text(cbor_map_get(cbor_map_get(n, "services"),
	    "atproto_pds"), "endpoint"), "https://pds.example");
	T_EQ_INT(cbor_map_get(n, "rotationKeys")->u.a.n, 2);
	T_OK(cbor_map_get(n, "sig") == NULL, "no sig");
	T_EQ_INT(plc_op_update(a, op, "h.test", &up), PLC_OK);
	T_EQ_INT(plc_op_validate(up, 0, &why), PLC_OK);
	T_EQ_INT(plc_op_parse(a, tomb, strlen(tomb), 1, &op, &why), PLC_OK);
	T_OK(plc_op_normalize(a, op) == NULL, "tombstone has no state");
	T_EQ_INT(plc_op_update(a, op, "h.test", &up), PLC_ERR_TOMBSTONE);
}

static void
test_refusals(struct arena *a)
{
	static const struct {
		const char	*json;
		int		 need_sig;
		enum plc_err	 want;
	} rows[] = {
		{ "", 1, PLC_ERR_FORMAT },
		{ "[]", 1, PLC_ERR_FORMAT },
		{ "{\"type\":\"plc_operation\"}", 0, PLC_ERR_FORMAT },
		{ "{\"type\":\"nope\",\"prev\":null}", 0, PLC_ERR_FORMAT },
		/* unsigned where a signature is needed */
		{ "{\"type\":\"plc_operation\",\"verificationMethods\":{},"
		  "\"rotationKeys\":[\"did:key:zQ3shjyJXUaRJC2GC43mX8aPrUhoTdoi"
		  "ongXhZjsdTzPKYZUM\"],\"alsoKnownAs\":[],\"services\":{},"
		  "\"prev\":null}", 1, PLC_ERR_FORMAT },
		/* an extra field */
		{ "{\"type\":\"plc_operation\",\"verificationMethods\":{},"
		  "\"rotationKeys\":[\"did:key:zQ3shjyJXUaRJC2GC43mX8aPrUhoTdoi"
		  "ongXhZjsdTzPKYZUM\"],\"alsoKnownAs\":[],\"services\":{},"
		  "\"prev\":null,\"x\":1}", 0, PLC_ERR_FORMAT },
		/* no rotation keys */
		{ "{\"type\":\"plc_operation\",\"verificationMethods\":{},"
		  "\"rotationKeys\":[],\"alsoKnownAs\":[],\"services\":{},"
		  "\"prev\":null}", 0, PLC_ERR_FORMAT },
		/* not a did:key */
		{ "{\"type\":\"plc_operation\",\"verificationMethods\":{},"
		  "\"rotationKeys\":[\"did:web:x\"],\"alsoKnownAs\":[],"
		  "\"services\":{},\"prev\":null}", 0, PLC_ERR_KEY },
		{ "{\"type\":\"plc_operation\",\"verificationMethods\":{\"a\":"
		  "\"zzz\"},\"rotationKeys\":[\"did:key:zQ3shjyJXUaRJC2GC43mX8aP"
		  "rUhoTdoiongXhZjsdTzPKYZUM\"],\"alsoKnownAs\":[],\"services\":"
		  "{},\"prev\":null}", 0, PLC_ERR_KEY },
		/* prev neither null nor a CID; a $link object smuggled in */
		{ "{\"type\":\"plc_operation\",\"verificationMethods\":{},"
		  "\"rotationKeys\":[\"did:key:zQ3shjyJXUaRJC2GC43mX8aPrUhoTdoi"
		  "ongXhZjsdTzPKYZUM\"],\"alsoKnownAs\":[],\"services\":{},"
		  "\"prev\":\"abc\"}", 0, PLC_ERR_FORMAT },
		{ "{\"type\":\"plc_operation\",\"verificationMethods\":{},"
		  "\"rotationKeys\":[\"did:key:zQ3shjyJXUaRJC2GC43mX8aPrUhoTdoi"
		  "ongXhZjsdTzPKYZUM\"],\"alsoKnownAs\":[],\"services\":{},"
		  "\"prev\":{\"$link\":\"bafyreicwqhydvq5bzenm5hn6amrbg3xuiopox"
		  "s7ovbhee5jtkfdyn2sula\"}}", 0, PLC_ERR_FORMAT },
		/* a service missing its endpoint; aliases not strings */
		{ "{\"type\":\"plc_operation\",\"verificationMethods\":{},"
		  "\"rotationKeys\":[\"did:key:zQ3shjyJXUaRJC2GC43mX8aPrUhoTdoi"
		  "ongXhZjsdTzPKYZUM\"],\"alsoKnownAs\":[],\"services\":{\"a\":"
		  "{\"type\":\"x\"}},\"prev\":null}", 0, PLC_ERR_FORMAT },
		{ "{\"type\":\"plc_operation\",\"verificationMethods\":{},"
		  "\"rotationKeys\":[\"did:key:zQ3shjyJXUaRJC2GC43mX8aPrUhoTdoi"
		  "ongXhZjsdTzPKYZUM\"],\"alsoKnownAs\":[1],\"services\":{},"
		  "\"prev\":null}", 0, PLC_ERR_FORMAT },
		/* six rotation keys */
		{ "{\"type\":\"plc_operation\",\"verificationMethods\":{},"
		  "\"rotationKeys\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\"],"
		  "\"alsoKnownAs\":[],\"services\":{},\"prev\":null}", 0,
		  PLC_ERR_FORMAT },
		/* sig of the wrong length / alphabet */
		{ "{\"type\":\"plc_tombstone\",\"prev\":\"bafyreicwqhydvq5bzenm"
		  "5hn6amrbg3xuiopoxs7ovbhee5jtkfdyn2sula\",\"sig\":\"abcd\"}", 1,
		  PLC_ERR_FORMAT },
		{ "{\"type\":\"plc_tombstone\",\"prev\":null,\"sig\":\"0jy-nWzM"
		  "vmb0-3VKi6OFGHGmaPtA7ZpFXejPYMQGFy4ZLnNZqHnUA7lZRZlT6sMCJ9Tn4"
		  "cHJ6h_4deCRyKODag\"}", 1, PLC_ERR_FORMAT },
	};
	struct cbor_val	*op;
	const char	*why;
	size_t		 i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		why = NULL;
		T_OK(plc_op_parse(a, rows[i].json, strlen(rows[i].json),
		    rows[i].need_sig, &op, &why) == rows[i].want,
		    "row %zu (%s)", i, why != NULL ? why : "-");
		T_OK(why != NULL, "row %zu has a reason", i);
	}
}

int
main(void)
{
	struct arena	 a;
	struct key	*rot = load(ROT_HEX), *sk = load(SK_HEX),
			*rec = load(REC_HEX);
	char		 did[KEY_DID_LEN];

	key_did(rot, did);
	T_EQ_STR(did, rot_did);
	key_did(sk, did);
	T_EQ_STR(did, sk_did);
	key_did(rec, did);
	T_EQ_STR(did, rec_did);
	arena_init(&a);
	test_genesis(&a, rot);
	test_update(&a, rot);
	test_aliases(&a);
	test_legacy_and_tombstone(&a);
	test_refusals(&a);
	arena_free(&a);
	key_free(rot);
	key_free(sk);
	key_free(rec);
	return t_done("plc");
}
