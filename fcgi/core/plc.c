/*
 * plc.c: did:plc operations and the PLC directory client (see plc.h;
 * did-method-plc packages/lib/src/operations.ts and client.ts).
 *
 * Owns building, signing, parsing, validating and verifying operations,
 * DID derivation, and the three directory requests the PDS makes.  Does
 * not own which keys an operation should carry (the account handlers) nor
 * DID documents (resolve.c).
 */
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "cbor_json.h"
#include "enc.h"
#include "fetch.h"
#include "pds_limits.h"
#include "plc.h"
#include "util.h"

static const char *const plc_errs[PLC_ERR__MAX] = {
	"ok",					/* PLC_OK */
	"malformed operation",			/* PLC_ERR_FORMAT */
	"unsupported key",			/* PLC_ERR_KEY */
	"invalid signature",			/* PLC_ERR_SIG */
	"DID is tombstoned",			/* PLC_ERR_TOMBSTONE */
	"DID not registered",			/* PLC_ERR_NOTFOUND */
	"PLC directory refused the request",	/* PLC_ERR_REFUSED */
	"PLC directory unavailable",		/* PLC_ERR_UPSTREAM */
	"out of memory",			/* PLC_ERR_NOMEM */
};

const char *
plc_err_str(enum plc_err e)
{
	return (unsigned)e < PLC_ERR__MAX ? plc_errs[e] : "unknown error";
}

/* ---- tree helpers -------------------------------------------------------- */

static struct cbor_val *
plc_text(struct arena *a, const char *s)
{
	return cbor_new_cstr(a, s);
}

static int
plc_is_text(const struct cbor_val *v)
{
	return v != NULL && v->type == CBOR_TEXT;
}

/* (v) as a NUL-terminated copy in a, or NULL. */
static char *
plc_cstr(struct arena *a, const struct cbor_val *v)
{
	if (!plc_is_text(v))
		return NULL;
	return arena_strndup(a, (const char *)v->u.s.p, v->u.s.len);
}

static int
plc_text_eq(const struct cbor_val *v, const char *s)
{
	size_t	n = strlen(s);

	return plc_is_text(v) && v->u.s.len == n && memcmp(v->u.s.p, s, n) ==
	    0;
}

/* A shallow copy of map without the key skip (NULL: a plain copy). */
static struct cbor_val *
plc_map_copy(struct arena *a, const struct cbor_val *map, const char *skip)
{
	struct cbor_val	*out;
	size_t		 i, sl = skip != NULL ? strlen(skip) : 0;

	if (map == NULL || map->type != CBOR_MAP ||
	    (out = cbor_new_map(a, map->u.m.n)) == NULL)
		return NULL;
	for (i = 0; i < map->u.m.n; i++) {
		const struct cbor_pair *p = &map->u.m.pairs[i];

		if (skip != NULL && p->klen == sl && memcmp(p->key, skip, sl) ==
		    0)
			continue;
		if (cbor_map_setn(a, out, p->key, p->klen, p->val) == -1)
			return NULL;
	}
	return out;
}

/* "https://" is added to an endpoint without a scheme (ensureHttpPrefix). */
static const char *
plc_http_prefix(struct arena *a, const char *s)
{
	if (strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0)
		return s;
	return arena_printf(a, "https://%s", s);
}

/* "at://" + handle (ensureAtprotoPrefix: an http(s):// is dropped). */
static const char *
plc_at_prefix(struct arena *a, const char *s)
{
	if (strncmp(s, "at://", 5) == 0)
		return s;
	if (strncmp(s, "http://", 7) == 0)
		s += 7;
	else if (strncmp(s, "https://", 8) == 0)
		s += 8;
	return arena_printf(a, "at://%s", s);
}

/* ---- building and signing ------------------------------------------------- */

static struct cbor_val *
plc_services(struct arena *a, const char *endpoint)
{
	struct cbor_val	*svc, *pds;

	if ((svc = cbor_new_map(a, 1)) == NULL ||
	    (pds = cbor_new_map(a, 2)) == NULL ||
	    cbor_map_set(a, pds, "type",
	    plc_text(a, "AtprotoPersonalDataServer")) == -1 ||
	    cbor_map_set(a, pds, "endpoint", plc_text(a, endpoint)) == -1 ||
	    cbor_map_set(a, svc, "atproto_pds", pds) == -1)
		return NULL;
	return svc;
}

enum plc_err
plc_op_genesis(struct arena *a, const struct plc_genesis *g,
    struct cbor_val **out)
{
	struct cbor_val	*op, *rot, *vm, *aka, *svc;
	const char	*ep, *at;
	size_t		 i;

	*out = NULL;
	if (g->nrotation < 1 || g->nrotation > LIM_PLC_ROTATION_KEYS)
		return PLC_ERR_FORMAT;
	if ((op = cbor_new_map(a, 7)) == NULL ||
	    (rot = cbor_new_array(a, g->nrotation)) == NULL ||
	    (vm = cbor_new_map(a, 1)) == NULL ||
	    (aka = cbor_new_array(a, 1)) == NULL ||
	    (ep = plc_http_prefix(a, g->endpoint)) == NULL ||
	    (at = plc_at_prefix(a, g->handle)) == NULL ||
	    (svc = plc_services(a, ep)) == NULL)
		return PLC_ERR_NOMEM;
	for (i = 0; i < g->nrotation; i++)
		if (cbor_array_push(a, rot, plc_text(a, g->rotation_keys[i])) ==
		    -1)
			return PLC_ERR_NOMEM;
	if (cbor_map_set(a, vm, "atproto", plc_text(a, g->signing_key)) == -1 ||
	    cbor_array_push(a, aka, plc_text(a, at)) == -1 ||
	    cbor_map_set(a, op, "type", plc_text(a, "plc_operation")) == -1 ||
	    cbor_map_set(a, op, "verificationMethods", vm) == -1 ||
	    cbor_map_set(a, op, "rotationKeys", rot) == -1 ||
	    cbor_map_set(a, op, "alsoKnownAs", aka) == -1 ||
	    cbor_map_set(a, op, "services", svc) == -1 ||
	    cbor_map_set(a, op, "prev", cbor_new_null(a)) == -1)
		return PLC_ERR_NOMEM;
	*out = op;
	return PLC_OK;
}

/* DAG-CBOR of op without its sig into b. */
static enum plc_err
plc_encode_unsigned(struct arena *a, const struct cbor_val *op, struct buf *b)
{
	struct cbor_val	*u;

	if ((u = plc_map_copy(a, op, "sig")) == NULL)
		return op == NULL || op->type != CBOR_MAP ? PLC_ERR_FORMAT :
		    PLC_ERR_NOMEM;
	return cbor_encode(b, u) == -1 ? PLC_ERR_NOMEM : PLC_OK;
}

enum plc_err
plc_op_sign(struct arena *a, struct cbor_val *op, const struct key *k)
{
	uint8_t		sig[KEY_SIG_LEN];
	char		b64[PLC_SIG_B64_LEN];
	struct buf	b;
	enum plc_err	e;

	buf_init(&b, LIM_PLC_OP_BYTES);
	if ((e = plc_encode_unsigned(a, op, &b)) != PLC_OK)
		goto out;
	if (key_sign(k, b.data, b.len, sig) != KEY_OK) {
		e = PLC_ERR_KEY;
		goto out;
	}
	(void)enc_b64_encode(ENC_B64_URL, 0, sig, sizeof(sig), b64);
	if (cbor_map_set(a, op, "sig", plc_text(a, b64)) == -1)
		e = PLC_ERR_NOMEM;
out:
	buf_free(&b);
	return e;
}

enum plc_err
plc_op_did(const struct cbor_val *op, char out[PLC_DID_LEN])
{
	uint8_t		dg[32];
	char		b32[ENC_B32_LEN(32)];
	struct buf	b;
	int		rc;

	out[0] = '\0';
	buf_init(&b, LIM_PLC_OP_BYTES);
	rc = cbor_encode(&b, op) == -1 || cid_sha256(b.data, b.len, dg) == -1;
	buf_free(&b);
	if (rc)
		return PLC_ERR_NOMEM;
	(void)enc_b32_encode(dg, sizeof(dg), b32);
	(void)snprintf(out, PLC_DID_LEN, "did:plc:%.24s", b32);
	return PLC_OK;
}

enum plc_err
plc_op_cid(const struct cbor_val *op, struct cid *out)
{
	return cbor_cid(op, out) == -1 ? PLC_ERR_NOMEM : PLC_OK;
}

/* ---- parsing and validation ---------------------------------------------- */

static int
plc_is_str_array(const struct cbor_val *v, size_t min, size_t max)
{
	size_t	i;

	if (v == NULL || v->type != CBOR_ARRAY || v->u.a.n < min ||
	    v->u.a.n > max)
		return 0;
	for (i = 0; i < v->u.a.n; i++)
		if (!plc_is_text(v->u.a.items[i]))
			return 0;
	return 1;
}

static int
plc_didkey_ok(const struct cbor_val *v)
{
	struct key	*k = NULL;
	int		 ok;

	if (!plc_is_text(v) || v->u.s.len > LIM_DIDKEY_LEN)
		return 0;
	ok = key_parse_did((const char *)v->u.s.p, v->u.s.len, &k) == KEY_OK;
	key_free(k);
	return ok;
}

/* Exactly the keys in names (NULL-terminated), except that "sig" is
 * present only when has_sig. */
static int
plc_keys_present(const struct cbor_val *m, const char *const *names,
    int has_sig)
{
	size_t	i, n = 0;

	for (i = 0; names[i] != NULL; i++) {
		if (strcmp(names[i], "sig") == 0)
			continue;
		if (cbor_map_get(m, names[i]) == NULL)
			return 0;
		n++;
	}
	return m->u.m.n == n + (has_sig ? 1 : 0);
}

static int
plc_sig_ok(const struct cbor_val *v)
{
	uint8_t	sig[KEY_SIG_LEN + 4];

	return plc_is_text(v) && v->u.s.len < PLC_SIG_B64_LEN &&
	    enc_b64_decode(ENC_B64_URL, (const char *)v->u.s.p, v->u.s.len, sig,
	    sizeof(sig)) == KEY_SIG_LEN;
}

static int
plc_prev_ok(const struct cbor_val *v, int allow_null)
{
	struct cid	c;

	if (v != NULL && v->type == CBOR_NULL)
		return allow_null;
	return plc_is_text(v) && cid_parse_str(&c, (const char *)v->u.s.p,
	    v->u.s.len) == 0;
}

static enum plc_err
plc_check_services(const struct cbor_val *svc, const char **why)
{
	static const char *const names[] = { "type", "endpoint", NULL };
	size_t			 i;

	if (svc == NULL || svc->type != CBOR_MAP) {
		*why = "services must be an object";
		return PLC_ERR_FORMAT;
	}
	for (i = 0; i < svc->u.m.n; i++) {
		const struct cbor_val *s = svc->u.m.pairs[i].val;

		if (s->type != CBOR_MAP || !plc_keys_present(s, names, 0) ||
		    !plc_is_text(cbor_map_get(s, "type")) ||
		    !plc_is_text(cbor_map_get(s, "endpoint"))) {
			*why = "each service must be {type, endpoint} strings";
			return PLC_ERR_FORMAT;
		}
	}
	return PLC_OK;
}

static enum plc_err
plc_check_operation(const struct cbor_val *op, const char **why)
{
	const struct cbor_val	*rot, *vm;
	size_t			 i;

	rot = cbor_map_get(op, "rotationKeys");
	vm = cbor_map_get(op, "verificationMethods");
	if (!plc_is_str_array(rot, 1, LIM_PLC_ROTATION_KEYS)) {
		*why = "rotationKeys must hold 1 to 5 strings";
		return PLC_ERR_FORMAT;
	}
	if (!plc_is_str_array(cbor_map_get(op, "alsoKnownAs"), 0,
	    LIM_CBOR_ITEMS)) {
		*why = "alsoKnownAs must be an array of strings";
		return PLC_ERR_FORMAT;
	}
	if (vm == NULL || vm->type != CBOR_MAP) {
		*why = "verificationMethods must be an object";
		return PLC_ERR_FORMAT;
	}
	for (i = 0; i < rot->u.a.n; i++)
		if (!plc_didkey_ok(rot->u.a.items[i])) {
			*why = "unsupported rotation key";
			return PLC_ERR_KEY;
		}
	for (i = 0; i < vm->u.m.n; i++)
		if (!plc_didkey_ok(vm->u.m.pairs[i].val)) {
			*why = "unsupported verification method key";
			return PLC_ERR_KEY;
		}
	if (!plc_prev_ok(cbor_map_get(op, "prev"), 1)) {
		*why = "prev must be null or a CID string";
		return PLC_ERR_FORMAT;
	}
	return plc_check_services(cbor_map_get(op, "services"), why);
}

enum plc_err
plc_op_validate(const struct cbor_val *op, int need_sig, const char **why)
{
	static const char *const k_op[] = { "type", "rotationKeys",
	    "verificationMethods", "alsoKnownAs", "services", "prev", "sig",
	    NULL };
	static const char *const k_tomb[] = { "type", "prev", "sig", NULL };
	static const char *const k_create[] = { "type", "signingKey",
	    "recoveryKey", "handle", "service", "prev", "sig", NULL };
	const struct cbor_val	*type, *sig;
	const char *const	*names;
	int			 has_sig;

	*why = "operation must be an object";
	if (op == NULL || op->type != CBOR_MAP)
		return PLC_ERR_FORMAT;
	type = cbor_map_get(op, "type");
	sig = cbor_map_get(op, "sig");
	has_sig = sig != NULL;
	names = plc_text_eq(type, "plc_operation") ? k_op :
	    plc_text_eq(type, "plc_tombstone") ? k_tomb :
	    plc_text_eq(type, "create") ? k_create : NULL;
	*why = "unknown operation type";
	if (names == NULL)
		return PLC_ERR_FORMAT;
	*why = need_sig ? "missing or malformed sig" : "malformed sig";
	if ((need_sig && !has_sig) || (has_sig && !plc_sig_ok(sig)))
		return PLC_ERR_FORMAT;
	*why = "unexpected or missing fields";
	if (!plc_keys_present(op, names, has_sig))
		return PLC_ERR_FORMAT;
	if (names == k_tomb) {
		*why = "prev must be a CID string";
		return plc_prev_ok(cbor_map_get(op, "prev"), 0) ? PLC_OK :
		    PLC_ERR_FORMAT;
	}
	if (names == k_create) {
		*why = "malformed legacy create operation";
		if (!plc_didkey_ok(cbor_map_get(op, "signingKey")) ||
		    !plc_didkey_ok(cbor_map_get(op, "recoveryKey")) ||
		    !plc_is_text(cbor_map_get(op, "handle")) ||
		    !plc_is_text(cbor_map_get(op, "service")) ||
		    !plc_prev_ok(cbor_map_get(op, "prev"), 1) ||
		    cbor_map_get(op, "prev")->type != CBOR_NULL)
			return PLC_ERR_FORMAT;
		return PLC_OK;
	}
	return plc_check_operation(op, why);
}

enum plc_err
plc_op_parse(struct arena *a, const char *p, size_t len, int need_sig,
    struct cbor_val **out, const char **why)
{
	struct cbor_val	*v;
	enum plc_err	 e;

	*out = NULL;
	*why = "operation is not valid JSON";
	if (len > LIM_PLC_OP_BYTES) {
		*why = "operation too large";
		return PLC_ERR_FORMAT;
	}
	if (cbor_json_parse(a, p, len, &v) != CJ_OK)
		return PLC_ERR_FORMAT;
	if ((e = plc_op_validate(v, need_sig, why)) == PLC_OK)
		*out = v;
	return e;
}

enum plc_err
plc_op_verify(const struct cbor_val *op, const char *const *keys, size_t n,
    size_t *which)
{
	const struct cbor_val	*sigv = cbor_map_get(op, "sig");
	uint8_t			 sig[KEY_SIG_LEN + 4];
	struct arena		 a;
	struct buf		 b;
	enum plc_err		 e;
	ssize_t			 sl;
	size_t			 i;

	if (!plc_is_text(sigv) || (sl = enc_b64_decode(ENC_B64_URL,
	    (const char *)sigv->u.s.p, sigv->u.s.len, sig, sizeof(sig))) !=
	    KEY_SIG_LEN)
		return PLC_ERR_FORMAT;
	arena_init(&a);
	buf_init(&b, LIM_PLC_OP_BYTES);
	if ((e = plc_encode_unsigned(&a, op, &b)) != PLC_OK)
		goto out;
	e = PLC_ERR_SIG;
	for (i = 0; i < n; i++)
		if (key_verify_did(keys[i], strlen(keys[i]), b.data, b.len,
		    sig, (size_t)sl) == KEY_OK) {
			*which = i;
			e = PLC_OK;
			break;
		}
out:
	buf_free(&b);
	arena_free(&a);
	return e;
}

const char *
plc_op_type(const struct cbor_val *op)
{
	const struct cbor_val	*t = cbor_map_get(op, "type");
	static const char *const types[] = { "plc_operation", "plc_tombstone",
	    "create", NULL };
	size_t			 i;

	for (i = 0; types[i] != NULL; i++)
		if (plc_text_eq(t, types[i]))
			return types[i];
	return NULL;
}

/* ---- updates ------------------------------------------------------------- */

struct cbor_val *
plc_op_normalize(struct arena *a, const struct cbor_val *op)
{
	const char		*type = plc_op_type(op), *sk, *rk, *h, *svc;
	const char		*ep, *at;
	struct cbor_val		*out, *rot, *vm, *aka, *services;

	if (type == NULL || strcmp(type, "plc_tombstone") == 0)
		return NULL;
	if (strcmp(type, "plc_operation") == 0)
		return plc_map_copy(a, op, "sig");
	if ((sk = plc_cstr(a, cbor_map_get(op, "signingKey"))) == NULL ||
	    (rk = plc_cstr(a, cbor_map_get(op, "recoveryKey"))) == NULL ||
	    (h = plc_cstr(a, cbor_map_get(op, "handle"))) == NULL ||
	    (svc = plc_cstr(a, cbor_map_get(op, "service"))) == NULL ||
	    (ep = plc_http_prefix(a, svc)) == NULL ||
	    (at = plc_at_prefix(a, h)) == NULL ||
	    (out = cbor_new_map(a, 6)) == NULL ||
	    (rot = cbor_new_array(a, 2)) == NULL ||
	    (vm = cbor_new_map(a, 1)) == NULL ||
	    (aka = cbor_new_array(a, 1)) == NULL ||
	    (services = plc_services(a, ep)) == NULL ||
	    cbor_array_push(a, rot, plc_text(a, rk)) == -1 ||
	    cbor_array_push(a, rot, plc_text(a, sk)) == -1 ||
	    cbor_map_set(a, vm, "atproto", plc_text(a, sk)) == -1 ||
	    cbor_array_push(a, aka, plc_text(a, at)) == -1 ||
	    cbor_map_set(a, out, "type", plc_text(a, "plc_operation")) == -1 ||
	    cbor_map_set(a, out, "verificationMethods", vm) == -1 ||
	    cbor_map_set(a, out, "rotationKeys", rot) == -1 ||
	    cbor_map_set(a, out, "alsoKnownAs", aka) == -1 ||
	    cbor_map_set(a, out, "services", services) == -1 ||
	    cbor_map_set(a, out, "prev", cbor_map_get(op, "prev")) == -1)
		return NULL;
	return out;
}

/* alsoKnownAs of norm with the first at:// entry replaced by handle's. */
static struct cbor_val *
plc_aka_replace(struct arena *a, const struct cbor_val *aka,
    const char *handle)
{
	struct cbor_val	*out, *h;
	const char	*at;
	size_t		 i;
	int		 done = 0;

	if (aka == NULL || aka->type != CBOR_ARRAY ||
	    (at = plc_at_prefix(a, handle)) == NULL ||
	    (h = plc_text(a, at)) == NULL ||
	    (out = cbor_new_array(a, aka->u.a.n + 1)) == NULL)
		return NULL;
	for (i = 0; i < aka->u.a.n; i++) {
		const struct cbor_val *v = aka->u.a.items[i];

		if (!done && plc_is_text(v) && v->u.s.len >= 5 &&
		    memcmp(v->u.s.p, "at://", 5) == 0) {
			v = h;
			done = 1;
		}
		if (cbor_array_push(a, out, (struct cbor_val *)v) == -1)
			return NULL;
	}
	if (!done) {	/* [formatted, ...alsoKnownAs] */
		if (cbor_array_push(a, out, h) == -1)
			return NULL;
		memmove(&out->u.a.items[1], &out->u.a.items[0],
		    (out->u.a.n - 1) * sizeof(out->u.a.items[0]));
		out->u.a.items[0] = h;
	}
	return out;
}

enum plc_err
plc_op_update(struct arena *a, const struct cbor_val *last,
    const char *handle, struct cbor_val **out)
{
	struct cbor_val	*norm, *aka;
	struct cid	 prev;
	char		 cs[CID_STR_LEN];
	const char	*type = plc_op_type(last);

	*out = NULL;
	if (type == NULL)
		return PLC_ERR_FORMAT;
	if (strcmp(type, "plc_tombstone") == 0)
		return PLC_ERR_TOMBSTONE;
	if ((norm = plc_op_normalize(a, last)) == NULL ||
	    cbor_cid(last, &prev) == -1)
		return PLC_ERR_NOMEM;
	if (handle != NULL) {
		if ((aka = plc_aka_replace(a, cbor_map_get(norm,
		    "alsoKnownAs"), handle)) == NULL)
			return PLC_ERR_NOMEM;
		if (cbor_map_set(a, norm, "alsoKnownAs", aka) == -1)
			return PLC_ERR_NOMEM;
	}
	cid_format(&prev, cs);
	if (cbor_map_set(a, norm, "prev", plc_text(a, cs)) == -1)
		return PLC_ERR_NOMEM;
	*out = norm;
	return PLC_OK;
}

/* ---- the directory --------------------------------------------------------- */

/* <url>/<encodeURIComponent(did)><suffix> in a. */
static char *
plc_url(struct arena *a, const char *url, const char *did, const char *suffix)
{
	struct buf	b;
	const char	*p;
	char		*s = NULL;
	size_t		 ul = strlen(url);

	while (ul > 0 && url[ul - 1] == '/')
		ul--;
	buf_init(&b, LIM_URI_LEN);
	if (buf_append(&b, url, ul) == -1 || buf_putc(&b, '/') == -1)
		goto out;
	for (p = did; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("-_.!~*'()", c) != NULL) {
			if (buf_putc(&b, c) == -1)
				goto out;
		} else if (buf_printf(&b, "%%%02X", c) == -1)
			goto out;
	}
	if (buf_puts(&b, suffix) == 0)
		s = arena_strndup(a, (const char *)b.data, b.len);
out:
	buf_free(&b);
	return s;
}

/* The "message" of a JSON error body, else a generic text. */
static void
plc_reason(const struct buf *body, long status, char *why, size_t whysz)
{
	json_t		*j;
	json_error_t	 je;
	const char	*m;

	j = json_loadb((const char *)body->data, body->len, 0, &je);
	m = json_string_value(json_object_get(j, "message"));
	if (m != NULL)
		(void)snprintf(why, whysz, "%.200s", m);
	else
		(void)snprintf(why, whysz, "PLC directory answered %ld",
		    status);
	json_decref(j);
}

static enum plc_err
plc_get(struct arena *a, const char *url, const char *did,
    const char *suffix, int64_t timeout_ms, struct buf *body, char *why,
    size_t whysz)
{
	struct fetch_req	 r;
	long			 status;
	char			*u;

	if ((u = plc_url(a, url, did, suffix)) == NULL)
		return PLC_ERR_NOMEM;
	memset(&r, 0, sizeof(r));
	r.method = "GET";
	r.url = u;
	r.accept = "application/json";
	r.timeout_ms = timeout_ms;
	r.max_bytes = LIM_PLC_RESPONSE;
	r.allow_http = 1;	/* the directory URL is the operator's */
	if (fetch_do(&r, body, &status, why, whysz) == -1)
		return PLC_ERR_UPSTREAM;
	if (status == 404) {
		(void)snprintf(why, whysz, "DID not registered: %s", did);
		return PLC_ERR_NOTFOUND;
	}
	if (status == 410) {
		(void)snprintf(why, whysz, "DID not available: %s", did);
		return PLC_ERR_TOMBSTONE;
	}
	if (status != 200) {
		plc_reason(body, status, why, whysz);
		return status >= 500 ? PLC_ERR_UPSTREAM : PLC_ERR_REFUSED;
	}
	return PLC_OK;
}

enum plc_err
plc_submit(const char *url, const char *did, const struct cbor_val *op,
    int64_t timeout_ms, char *why, size_t whysz)
{
	struct fetch_req	 r;
	struct arena		 a;
	struct buf		 json, body;
	enum plc_err		 e = PLC_ERR_NOMEM;
	long			 status;

	arena_init(&a);
	buf_init(&json, LIM_PLC_OP_BYTES);
	buf_init(&body, LIM_PLC_RESPONSE);
	memset(&r, 0, sizeof(r));
	if ((r.url = plc_url(&a, url, did, "")) == NULL ||
	    cbor_json_write(&json, op) == -1)
		goto out;
	r.method = "POST";
	r.content_type = "application/json";
	r.body = json.data;
	r.bodylen = json.len;
	r.timeout_ms = timeout_ms;
	r.max_bytes = LIM_PLC_RESPONSE;
	r.allow_http = 1;
	if (fetch_do(&r, &body, &status, why, whysz) == -1)
		e = PLC_ERR_UPSTREAM;
	else if (status >= 200 && status < 300)
		e = PLC_OK;
	else {
		plc_reason(&body, status, why, whysz);
		e = status >= 500 ? PLC_ERR_UPSTREAM : PLC_ERR_REFUSED;
	}
out:
	buf_free(&body);
	buf_free(&json);
	arena_free(&a);
	return e;
}

enum plc_err
plc_last_op(struct arena *a, const char *url, const char *did,
    int64_t timeout_ms, struct cbor_val **out, char *why, size_t whysz)
{
	struct buf	 body;
	const char	*w;
	enum plc_err	 e;

	*out = NULL;
	buf_init(&body, LIM_PLC_RESPONSE);
	if ((e = plc_get(a, url, did, "/log/last", timeout_ms, &body, why,
	    whysz)) == PLC_OK &&
	    (e = plc_op_parse(a, (const char *)body.data, body.len, 1, out,
	    &w)) != PLC_OK)
		(void)snprintf(why, whysz, "last operation: %s", w);
	buf_free(&body);
	return e;
}

enum plc_err
plc_doc_data(struct arena *a, const char *url, const char *did,
    int64_t timeout_ms, struct cbor_val **out, char *why, size_t whysz)
{
	struct buf	 body;
	struct cbor_val	*v;
	enum plc_err	 e;

	*out = NULL;
	buf_init(&body, LIM_PLC_RESPONSE);
	if ((e = plc_get(a, url, did, "/data", timeout_ms, &body, why,
	    whysz)) != PLC_OK)
		goto out;
	e = PLC_ERR_FORMAT;
	(void)snprintf(why, whysz, "malformed DID data from the directory");
	if (cbor_json_parse(a, (const char *)body.data, body.len, &v) != CJ_OK ||
	    v->type != CBOR_MAP ||
	    !plc_is_str_array(cbor_map_get(v, "rotationKeys"), 0,
	    LIM_CBOR_ITEMS) ||
	    cbor_map_get(v, "verificationMethods") == NULL ||
	    cbor_map_get(v, "verificationMethods")->type != CBOR_MAP ||
	    cbor_map_get(v, "services") == NULL ||
	    cbor_map_get(v, "services")->type != CBOR_MAP)
		goto out;
	*out = v;
	e = PLC_OK;
out:
	buf_free(&body);
	return e;
}
