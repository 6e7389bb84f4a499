/*
 * catchall.c: an /xrpc/<nsid> with no row in the main route table
 * (routes.c), the hook the XRPC framework calls (xrpc_int.h).
 *
 * In order: a routed handler that calls it (com.atproto.repo.getRecord
 * for a repository not hosted here) gets the reference's pipethrough(ctx,
 * req): no service auth, GET only; the app.bsky methods this PDS answers
 * itself and getServiceAuth run from their own table (h_appbsky.c);
 * everything else is the reference's authenticated catch-all proxy
 * (pipethrough.ts proxyHandler; ../shared/spec/reference-pds.md f).  The
 * forwarding is proxy.c's.
 */
#include "proxy.h"
#include "xrpc.h"
#include "xrpc_int.h"

enum xrpc_status
xrpc_catchall(struct xrpc_req *req, struct xrpc_res *res)
{
	const struct xrpc_route	*r;

	if (req->route != NULL)
		return proxy_pipethrough(req, res, NULL, NULL, NULL);
	if ((r = appbsky_route_find(req->srv->cfg, req->nsid)) != NULL)
		return appbsky_dispatch(req, res, r);
	return proxy_catchall(req, res);
}
