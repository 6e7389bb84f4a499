/*
 * basic.c: the plain routes and com.atproto.server.describeServer.
 *
 * After the reference's basic-routes.ts (GET /, /robots.txt,
 * /xrpc/_health), well-known.ts (/.well-known/atproto-did on handle
 * hosts), the deployment wrapper's /tls-check (bluesky-social/pds
 * service/index.js) and api/com/atproto/server/describeServer.ts.
 * Texts and JSON shapes are the reference's; error pages are plain text
 * or JSON, never HTML.
 */
#include <string.h>

#include "db.h"
#include "handlers.h"
#include "log.h"
#include "xrpc.h"
#include "xrpc_int.h"

/* basic-routes.ts, byte for byte. */
static const char banner[] =
    "\n"
    "         __                         __\n"
    "        /\\ \\__                     /\\ \\__\n"
    "    __  \\ \\ ,_\\  _____   _ __   ___\\ \\ ,_\\   ___\n"
    "  /'__'\\ \\ \\ \\/ /\\ '__'\\/\\''__\\/ __'\\ \\ \\/  / __'\\\n"
    " /\\ \\L\\.\\_\\ \\ \\_\\ \\ \\L\\ \\ \\ \\//\\ \\L\\ \\ \\ \\_/\\ \\L\\ \\\n"
    " \\ \\__/.\\_\\\\ \\__\\\\ \\ ,__/\\ \\_\\\\ \\____/\\ \\__\\ \\____/\n"
    "  \\/__/\\/_/ \\/__/ \\ \\ \\/  \\/_/ \\/___/  \\/__/\\/___/\n"
    "                   \\ \\_\\\n"
    "                    \\/_/\n"
    "\n"
    "\n"
    "This is an AT Protocol Personal Data Server (aka, an atproto PDS)\n"
    "\n"
    "Most API routes are under /xrpc/\n"
    "\n"
    "      Code: https://github.com/bluesky-social/atproto\n"
    " Self-Host: https://github.com/bluesky-social/pds\n"
    "  Protocol: https://atproto.com\n";

static const char robots[] =
    "# Hello!\n\n# Crawling the public API is allowed\nUser-agent: *\n"
    "Allow: /";

static enum xrpc_status
plain_text(struct xrpc_res *res, int status, const char *text)
{
	return xrpc_res_bytes(res, status, XRPC_TEXT_TYPE, text, strlen(text));
}

static enum xrpc_status
basic_root(struct xrpc_req *req, struct xrpc_res *res)
{
	(void)req;
	return plain_text(res, 200, banner);
}

static enum xrpc_status
basic_robots(struct xrpc_req *req, struct xrpc_res *res)
{
	(void)req;
	return plain_text(res, 200, robots);
}

/* GET /xrpc/_health: `select 1` on the account database. */
static enum xrpc_status
basic_health(struct xrpc_req *req, struct xrpc_res *res)
{
	const char		*version = req->srv->cfg->version;
	enum xrpc_status	 st;
	json_t			*j;
	int			 ok = 0;

	if (req->srv->account != NULL &&
	    db_exec(req->srv->account, "select 1") == 0)
		ok = 1;
	if (ok)
		j = json_pack("{s:s}", "version", version);
	else {
		log_error("%s: failed health check", __func__);
		j = json_pack("{s:s, s:s}", "version", version, "error",
		    "Service Unavailable");
	}
	st = xrpc_res_json(res, ok ? 200 : 503, j);
	json_decref(j);
	return st;
}

/* Is host one of the service handle domains, or under one? */
static int
basic_handle_host(const struct pds_config *cfg, const char *host)
{
	size_t	i, hl = strlen(host), dl;

	for (i = 0; i < cfg->handle_domains.n; i++) {
		const char *d = cfg->handle_domains.v[i];

		dl = strlen(d);
		if ((hl >= dl && strcmp(host + hl - dl, d) == 0) ||
		    (dl > 1 && strcmp(host, d + 1) == 0))
			return 1;
	}
	return 0;
}

/* Looks up an active account by handle: 1 found, 0 not, -1 error. */
static int
basic_active_handle(struct xrpc_req *req, const char *handle,
    struct xrpc_actor *a)
{
	int	rc;

	rc = xrpc_actor_find(req->srv, req->a, handle, a);
	if (rc == 1 && (a->takendown || a->deactivated))
		rc = 0;	/* getAccount() without include flags */
	return rc;
}

/* GET /.well-known/atproto-did (well-known.ts) */
static enum xrpc_status
basic_atproto_did(struct xrpc_req *req, struct xrpc_res *res)
{
	struct xrpc_actor	a;
	int			rc;

	if (req->host[0] == '\0' ||
	    !basic_handle_host(req->srv->cfg, req->host))
		return plain_text(res, 404, "User not found");
	if ((rc = basic_active_handle(req, req->host, &a)) == -1)
		return plain_text(res, 500, "Internal Server Error");
	if (rc == 0)
		return plain_text(res, 404, "User not found");
	return plain_text(res, 200, a.did);
}

static enum xrpc_status
json_error(struct xrpc_res *res, int status, const char *error,
    const char *message)
{
	enum xrpc_status	 st;
	json_t			*j;

	j = json_pack("{s:s, s:s}", "error", error, "message", message);
	st = xrpc_res_json(res, status, j);
	json_decref(j);
	return st;
}

/* GET /tls-check?domain= (bluesky-social/pds service/index.js) */
static enum xrpc_status
basic_tls_check(struct xrpc_req *req, struct xrpc_res *res)
{
	const struct pds_config	*cfg = req->srv->cfg;
	const char		**all;
	const char		*domain;
	struct xrpc_actor	 a;
	enum xrpc_status	 st;
	json_t			*j;
	size_t			 n, i, dl;
	int			 rc, hosted = 0;

	if (xrpc_query_all(req->a, &req->query, "domain", &all, &n) == -1)
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	if (n != 1)	/* absent, or an array: not a string */
		return json_error(res, 400, "InvalidRequest",
		    "bad or missing domain query param");
	domain = all[0];
	if (strcmp(domain, cfg->hostname) != 0) {
		for (i = 0; i < cfg->handle_domains.n; i++) {
			dl = strlen(cfg->handle_domains.v[i]);
			if (strlen(domain) >= dl && strcmp(domain +
			    strlen(domain) - dl, cfg->handle_domains.v[i]) == 0)
				hosted = 1;
		}
		if (!hosted)
			return json_error(res, 400, "InvalidRequest",
			    "handles are not provided on this domain");
		if ((rc = basic_active_handle(req, domain, &a)) == -1)
			return json_error(res, 500, "InternalServerError",
			    "Internal Server Error");
		if (rc == 0)
			return json_error(res, 404, "NotFound",
			    "handle not found for this domain");
	}
	j = json_pack("{s:b}", "success", 1);
	st = xrpc_res_json(res, 200, j);
	json_decref(j);
	return st;
}

static const struct {
	const char	*path;
	xrpc_handler	 fn;
} plain_routes[] = {
	{ "/", basic_root },
	{ "/.well-known/atproto-did", basic_atproto_did },
	{ "/robots.txt", basic_robots },
	{ "/tls-check", basic_tls_check },
	{ "/xrpc/_health", basic_health },
};

xrpc_handler
xrpc_plain_find(const char *path)
{
	size_t	i;

	for (i = 0; i < sizeof(plain_routes) / sizeof(plain_routes[0]); i++)
		if (strcmp(plain_routes[i].path, path) == 0)
			return plain_routes[i].fn;
	return NULL;
}

/* com.atproto.server.describeServer (describeServer.ts): undefined
 * fields are left out, as lexToJson / JSON.stringify do. */
enum xrpc_status
com_atproto_server_describeServer(struct xrpc_req *req, struct xrpc_res *res)
{
	const struct pds_config	*cfg = req->srv->cfg;
	json_t			*j, *domains, *links, *contact;
	enum xrpc_status	 st;
	size_t			 i;

	j = json_object();
	domains = json_array();
	links = json_object();
	contact = json_object();
	for (i = 0; domains != NULL && i < cfg->handle_domains.n; i++)
		json_array_append_new(domains,
		    json_string(cfg->handle_domains.v[i]));
	if (links != NULL && cfg->privacy_policy_url != NULL)
		json_object_set_new(links, "privacyPolicy",
		    json_string(cfg->privacy_policy_url));
	if (links != NULL && cfg->terms_of_service_url != NULL)
		json_object_set_new(links, "termsOfService",
		    json_string(cfg->terms_of_service_url));
	if (contact != NULL && cfg->contact_email != NULL)
		json_object_set_new(contact, "email",
		    json_string(cfg->contact_email));
	if (j == NULL || domains == NULL || links == NULL || contact == NULL ||
	    json_object_set_new(j, "did", json_string(cfg->service_did)) ||
	    json_object_set(j, "availableUserDomains", domains) ||
	    json_object_set_new(j, "inviteCodeRequired",
	    json_boolean(cfg->invite_required)) ||
	    json_object_set_new(j, "blobUploadLimit",
	    json_integer(cfg->blob_upload_limit)) ||
	    json_object_set(j, "links", links) ||
	    json_object_set(j, "contact", contact))
		st = xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	else
		st = xrpc_res_json(res, 200, j);
	json_decref(domains);
	json_decref(links);
	json_decref(contact);
	json_decref(j);
	return st;
}
