/*
 * xrpc_int.h: private prototypes of the XRPC framework (fcgi/xrpc),
 * grouped by file.  Handler authors use xrpc.h; handler prototypes are in
 * handlers.h.
 */
#ifndef PDS_XRPC_INT_H
#define PDS_XRPC_INT_H

#include "xrpc.h"

#define XRPC_JSON_TYPE	"application/json; charset=utf-8"
#define XRPC_TEXT_TYPE	"text/plain; charset=utf-8"

/* request.c */
/* Fills req from the FastCGI parameters (method, path, query, host,
 * client address, content type and length, request id).  Returns XRPC_OK
 * or an error recorded in res. */
enum xrpc_status xrpc_req_init(struct xrpc_req *, struct xrpc_res *,
		    struct xrpc_server *, struct FCGX_Request *,
		    struct arena *);
/* The input stage for req->route: body presence, media type, size limit
 * (before reading), and for JSON bodies the parse into req->input. */
enum xrpc_status xrpc_input(struct xrpc_req *, struct xrpc_res *);
/* Refuses a body on a route that takes none (assertEmptyBody). */
enum xrpc_status xrpc_input_none(struct xrpc_req *, struct xrpc_res *);

/* response.c */
/* Starts an empty 200 response over the worker's reusable body buffer. */
void		 xrpc_res_init(struct xrpc_res *, const struct pds_config *,
		    struct arena *, struct buf *body, struct FCGX_Stream *out,
		    int head_only);
/* Dumps j into res->body as compact JSON.  Returns 0 or -1. */
int		 xrpc_res_dump(struct xrpc_res *, const json_t *);
/* Writes a buffered response (status, headers, Content-Length, body);
 * nothing when xrpc_res_begin() already sent the headers. */
void		 xrpc_res_finish(struct xrpc_res *);
/* The reason phrase of an HTTP status ("OK", "Not Found", ...). */
const char	*xrpc_res_reason(int status);

/* auth.c */
/* Authenticates req for a route's auth kind and flags, filling
 * req->auth.  Sets Cache-Control: private and Vary: Authorization as the
 * reference does for every authenticated route.  Returns XRPC_OK or a
 * recorded error. */
enum xrpc_status xrpc_auth_check(struct xrpc_req *, struct xrpc_res *,
		    enum xrpc_auth_kind, unsigned flags);

/* actor.c */
/* An account as the actor table of account.sqlite has it. */
struct xrpc_actor {
	const char	*did;		/* arena */
	const char	*handle;	/* arena, or NULL */
	int		 takendown;	/* takedownRef set */
	int		 deactivated;	/* deactivatedAt set */
};
/* Looks up handle_or_did (a DID when it starts with "did:", else a
 * handle, compared exactly as getAccount() does).  Returns 1 and *out,
 * 0 when there is no such actor (or no actor table yet), -1 on a
 * database error. */
int		 xrpc_actor_find(struct xrpc_server *, struct arena *,
		    const char *handle_or_did, struct xrpc_actor *out);

/* dispatch.c */
/* Refuses an HTTP method the route's kind does not take (GET or HEAD
 * for queries, POST for procedures), in xrpc-server's words. */
enum xrpc_status xrpc_method_check(const struct xrpc_req *,
		    struct xrpc_res *, const struct xrpc_route *);

/* catchall.c */
/* An /xrpc/<nsid> with no route: the reference's authenticated proxy
 * catch-all (pipethrough.ts proxyHandler). */
enum xrpc_status xrpc_catchall(struct xrpc_req *, struct xrpc_res *);

/* basic.c */
/* The handler of a plain (non-XRPC) GET route such as "/" or
 * "/xrpc/_health", or NULL. */
xrpc_handler	 xrpc_plain_find(const char *path);

#endif /* PDS_XRPC_INT_H */
