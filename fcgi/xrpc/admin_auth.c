/*
 * admin_auth.c: the moderation service's credentials on "moderator"
 * routes (auth-verifier.ts moderator / modService, and @atproto/
 * xrpc-server verifyJwt; ../shared/spec/reference-pds.md f "Admin auth"):
 * a Bearer service JWT whose iss is PDS_MOD_SERVICE_DID or
 * <that>#atproto_labeler, checked in the reference's order so that each
 * refusal carries its error name and message.  Basic admin auth stays in
 * auth.c, which calls here for Bearer tokens on XRPC_AUTH_MODERATOR
 * routes.
 */
#include <string.h>

#include "admin_int.h"
#include "jwt.h"
#include "keys.h"
#include "log.h"
#include "resolve.h"
#include "svcauth.h"
#include "util.h"
#include "xrpc_int.h"

static enum xrpc_status
refuse(struct xrpc_res *res, const char *name, const char *msg)
{
	return xrpc_fail(res, XRPC_ERR_AUTH_REQUIRED, name, "%s", msg);
}

/* The checks of verifyJwt() before any key is fetched (svcauth.h), with
 * the audience left for after the signature, as modService() does. */
static enum xrpc_status
claims_check(struct xrpc_req *req, struct xrpc_res *res, const struct jwt *j)
{
	struct svcauth_params	 p;
	enum svcauth_err	 e;
	size_t			 didlen;

	memset(&p, 0, sizeof(p));
	p.lxm = req->nsid;
	if ((e = svcauth_claims_check(j, &p, &didlen)) == SVCAUTH_OK)
		return XRPC_OK;
	if (e == SVCAUTH_ERR_TYPE)
		return xrpc_fail(res, XRPC_ERR_AUTH_REQUIRED,
		    svcauth_err_name(e), "%s \"%s\"", svcauth_err_msg(e),
		    json_string_value(json_object_get(j->header, "typ")));
	if (e == SVCAUTH_ERR_LXM || e == SVCAUTH_ERR_LXM_MISSING)
		return xrpc_fail(res, XRPC_ERR_AUTH_REQUIRED,
		    svcauth_err_name(e), "%s %s", svcauth_err_msg(e),
		    req->nsid);
	return refuse(res, svcauth_err_name(e), svcauth_err_msg(e));
}

/* getVerificationMaterial(doc, key_id) + getDidKeyFromMultibase(). */
static struct key *
doc_key(const json_t *doc, const char *did, const char *key_id)
{
	const char	*id, *type, *mb;
	json_t		*vms, *vm;
	struct key	*k = NULL;
	size_t		 i, dl = strlen(did), kl = strlen(key_id);

	vms = json_object_get(doc, "verificationMethod");
	json_array_foreach(vms, i, vm) {
		if ((id = json_string_value(json_object_get(vm, "id"))) ==
		    NULL)
			continue;
		if (!((id[0] == '#' && strcmp(id + 1, key_id) == 0) ||
		    (strncmp(id, did, dl) == 0 && id[dl] == '#' &&
		    strlen(id + dl + 1) == kl && strcmp(id + dl + 1,
		    key_id) == 0)))
			continue;
		type = json_string_value(json_object_get(vm, "type"));
		mb = json_string_value(json_object_get(vm,
		    "publicKeyMultibase"));
		if (type == NULL || mb == NULL || key_parse_vm(type,
		    strlen(type), mb, strlen(mb), &k) != KEY_OK)
			return NULL;
		return k;
	}
	return NULL;
}

/* getSigningKey(iss, force): the issuer check, then its key. */
static enum xrpc_status
signing_key(struct xrpc_req *req, struct xrpc_res *res, const char *iss,
    int force, struct key **out)
{
	const char		*mod = req->srv->cfg->mod_did, *hash, *did;
	struct resolve_atproto	 at;
	struct acct_ctx		*ctx;
	json_t			*doc = NULL;
	size_t			 ml = strlen(mod);
	int			 labeler;

	*out = NULL;
	labeler = strncmp(iss, mod, ml) == 0 &&
	    strcmp(iss + ml, "#atproto_labeler") == 0;
	if (strcmp(iss, mod) != 0 && !labeler)
		return refuse(res, "UntrustedIss", "Untrusted issuer");
	hash = strchr(iss, '#');
	did = hash != NULL ? arena_strndup(req->a, iss, (size_t)(hash - iss)) :
	    iss;
	if (did == NULL || (ctx = acct_ctx_get(req, res)) == NULL)
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	if (resolve_did(&ctx->resolver, req->a, did, force, &doc, &at) != 1)
		return xrpc_fail(res, XRPC_ERR_AUTH_REQUIRED, NULL,
		    "could not resolve iss did");
	*out = doc_key(doc, did, labeler ? "atproto_label" : "atproto");
	json_decref(doc);
	if (*out == NULL)
		return xrpc_fail(res, XRPC_ERR_AUTH_REQUIRED, NULL,
		    "missing or bad key in did doc");
	return XRPC_OK;
}

/* Verifies j's signature with k, pinning the alg to k's type. */
static enum jwt_err
sig_check(const struct jwt *j, const struct key *k)
{
	struct jwt_params	p;

	jwt_params_init(&p, jwt_alg_for_key(key_get_type(k)));
	p.key.key = k;
	p.malleable = 1;	/* allowMalleableSig */
	return jwt_verify_sig(j, &p);
}

static enum xrpc_status
signature(struct xrpc_req *req, struct xrpc_res *res, const struct jwt *j,
    const char *iss)
{
	enum xrpc_status	 st;
	struct key		*k = NULL;
	enum jwt_err		 e;
	int			 attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		if ((st = signing_key(req, res, iss, attempt, &k)) != XRPC_OK)
			return st;
		e = sig_check(j, k);
		key_free(k);
		if (e == JWT_OK)
			return XRPC_OK;
		if (e == JWT_ERR_NOMEM || e == JWT_ERR_CRYPTO)
			return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
		if (e != JWT_ERR_SIGNATURE)
			return refuse(res, "BadJwtSignature",
			    "could not verify jwt signature");
	}
	return refuse(res, "BadJwtSignature",
	    "jwt signature does not match jwt issuer");
}

enum xrpc_status
xrpc_auth_mod_service(struct xrpc_req *req, struct xrpc_res *res,
    const char *tok, size_t toklen)
{
	const struct pds_config	*cfg = req->srv->cfg;
	enum xrpc_status	 st;
	struct jwt		 j;
	const char		*iss, *aud;

	memset(&j, 0, sizeof(j));
	if (cfg->mod_did == NULL)
		return refuse(res, "UntrustedIss", "Untrusted issuer");
	if (toklen == 0)
		return refuse(res, "MissingJwt", "missing jwt");
	if (jwt_parse(tok, toklen, &j) != JWT_OK)
		return refuse(res, "BadJwt", "poorly formatted jwt");
	if ((st = claims_check(req, res, &j)) != XRPC_OK)
		goto out;
	iss = jwt_get_str(&j, "iss");
	if ((st = signature(req, res, &j, iss)) != XRPC_OK)
		goto out;
	aud = jwt_get_str(&j, "aud");
	if (strcmp(aud, cfg->service_did) != 0 && (cfg->entryway_did == NULL ||
	    strcmp(aud, cfg->entryway_did) != 0)) {
		st = refuse(res, "BadJwtAudience",
		    "jwt audience does not match service did");
		goto out;
	}
	req->auth.type = XRPC_CRED_MOD_SERVICE;
	if ((req->auth.did = arena_strdup(req->a, iss)) == NULL)
		st = xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
out:
	jwt_fini(&j);
	return st;
}
