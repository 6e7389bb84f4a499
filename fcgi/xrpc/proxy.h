/*
 * proxy.h: forwarding XRPC calls to other services (pipethrough.ts:
 * proxyHandler, pipethrough(); ../shared/spec/reference-pds.md f "The
 * atproto-proxy header and default proxying"), grouped by file.
 *
 * A call goes to a target (an origin URL and the service's DID), made
 * by proxy_target_for() from the atproto-proxy header or the default
 * service of the method, and is run by proxy_run() over the worker's one
 * libcurl handle (kept between requests, so keep-alive connections to
 * the app view survive).  The answer is streamed straight to the client
 * (a large answer never sits whole in the worker) or, for the few calls
 * whose answer the PDS reads itself, buffered up to a bound.
 *
 * Error convention: every function answers for a request and returns an
 * enum xrpc_status, with any error recorded through xrpc_fail().
 */
#ifndef PDS_PROXY_H
#define PDS_PROXY_H

#include <stddef.h>

#include "buf.h"
#include "xrpc.h"

/* Where a call goes. */
struct proxy_target {
	const char	*origin;	/* "scheme://host[:port]" (arena) */
	const char	*did;		/* the service's DID, bare (arena or cfg) */
	const char	*service_id;	/* "#bsky_appview", ... (arena or static) */
};

/* How the answer comes back. */
enum proxy_mode {
	PROXY_STREAM,		/* proxyHandler: status and headers copied */
	PROXY_STREAM_200,	/* a handler returning pipethrough(): 200 and
				 * the content headers */
	PROXY_BUFFER,		/* kept in proxy_call.out (bounded) */
	PROXY_RAW,		/* read-after-write: as PROXY_STREAM_200, but
				 * a JSON answer carrying Atproto-Repo-Rev is
				 * kept in res->body (at most LIM_RAW_BUFFER;
				 * a larger one is streamed after all) for the
				 * handler to merge local records into */
	PROXY_MODE__MAX
};

/* What a PROXY_RAW call left for its handler. */
#define PROXY_RESULT_HEADERS	8
struct proxy_result {
	int		 buffered;	/* the answer is in res->body and the
					 * response not started: the handler
					 * answers (proxy_result_apply() to pass
					 * it on as it came) */
	const char	*rev;		/* its Atproto-Repo-Rev (arena) */
	const char	*ctype;		/* its content type, or NULL */
	const char	*hdr_name[PROXY_RESULT_HEADERS];	/* static */
	const char	*hdr_value[PROXY_RESULT_HEADERS];	/* arena */
	size_t		 nhdr;		/* forwarded headers, without
					 * Content-Length/-Encoding */
};

/* One outbound call. */
struct proxy_call {
	enum proxy_mode	 mode;
	const char	*method;	/* "GET", "HEAD" or "POST" */
	const char	*path;		/* "/xrpc/<nsid>[?query]" */
	const char	*iss;		/* service JWT issuer (the account), or
					 * NULL: no Authorization header */
	const char	*aud;		/* its aud (bare DID) */
	const char	*lxm;		/* its lxm, or NULL */
	const char	*accept_encoding; /* sent as is, or NULL */
	int		 client_headers; /* forward accept-language,
					 * atproto-accept-labelers, x-bsky-topics */
	int		 client_body;	/* POST: stream the client's body with its
					 * content-type/-encoding/-length */
	const void	*body;		/* POST: a body of ours, or NULL */
	size_t		 bodylen;
	const char	*body_type;	/* its content type */
	struct buf	*out;		/* PROXY_BUFFER: the 2xx answer's body (its
					 * own max applies, at most
					 * PDS_PROXY_MAX_RESPONSE_SIZE) */
	struct proxy_result *result;	/* PROXY_RAW: filled in */
	const char	*cur_rev;	/* PROXY_RAW: the account's current rev;
					 * an answer whose Atproto-Repo-Rev is
					 * not older is streamed (NULL: any rev
					 * is kept) */
};

/* proxy.c */
/* 1 when nsid is in PROTECTED_METHODS (never proxied, no service auth) /
 * PRIVILEGED_METHODS (main password or privileged app password only). */
int		 proxy_method_protected(const char *nsid);
int		 proxy_method_privileged(const char *nsid);
/* parseProxyInfo(): the atproto-proxy header when present (strictly
 * parsed; <app view DID>#bsky_appview is the configured app view, any
 * other DID is resolved and its service endpoint taken), else the default
 * service of lxm (tools.ozone moderation methods: the mod service;
 * createReport: the report service; everything else: the app view);
 * "No service configured for <lxm>" when there is none. */
enum xrpc_status proxy_target_for(struct xrpc_req *, struct xrpc_res *,
		    const char *lxm, struct proxy_target *out);
/* The configured app view, or "No service configured for <lxm>". */
enum xrpc_status proxy_target_appview(struct xrpc_req *, struct xrpc_res *,
		    const char *lxm, struct proxy_target *out);
/* The endpoint of service `id` ("#bsky_notif") of type `type` (NULL: any)
 * in did's document.  Refusals: InvalidRequest nodoc_msg (no document) /
 * nosvc_msg (no such service, or not an http(s) URL). */
enum xrpc_status proxy_target_did(struct xrpc_req *, struct xrpc_res *,
		    const char *did, const char *id, const char *type,
		    const char *nodoc_msg, const char *nosvc_msg,
		    struct proxy_target *out);
/* The raw "/xrpc/<nsid>?query" the client asked for. */
const char	*proxy_req_path(struct xrpc_req *);
/* The catch-all (proxyHandler): GET/HEAD/POST only, protected methods
 * refused, access auth, privileged methods need a privileged token, then
 * the call is streamed with a service JWT (iss = the account, aud = the
 * target's bare DID, lxm = the NSID). */
enum xrpc_status proxy_catchall(struct xrpc_req *, struct xrpc_res *);
/* pipethrough(ctx, req, {iss, aud, lxm}) for a routed handler: GET/HEAD
 * only, the target from proxy_target_for(), Accept-Encoding negotiated,
 * the answer streamed as 200 with its content headers.  iss NULL: no
 * Authorization; aud NULL: the target's DID; lxm NULL: the NSID. */
enum xrpc_status proxy_pipethrough(struct xrpc_req *, struct xrpc_res *,
		    const char *iss, const char *aud, const char *lxm);
/* pipethroughReadAfterWrite()'s first half: proxy_pipethrough() in
 * PROXY_RAW mode for the account iss, whose repository is at cur_rev
 * (NULL: unknown); an answer at cur_rev or later is streamed. */
enum xrpc_status proxy_pipethrough_raw(struct xrpc_req *, struct xrpc_res *,
		    const char *iss, const char *cur_rev,
		    struct proxy_result *result);

/* proxy_http.c */
/* Runs call against t.  Streamed modes write the response (or return an
 * error before anything was written); an upstream status >= 400 becomes
 * the XRPC error the reference makes of it; a transport failure,
 * timeout (PDS_PROXY_HEADERS_TIMEOUT / _BODY_TIMEOUT), oversize answer
 * (PDS_PROXY_MAX_RESPONSE_SIZE) or an address refused by SSRF protection
 * is 502 UpstreamFailure "Upstream service unreachable".  A failure after
 * the response started cuts the connection to the client. */
enum xrpc_status proxy_run(struct xrpc_req *, struct xrpc_res *,
		    const struct proxy_target *t, const struct proxy_call *call);
/* Answers with a kept PROXY_RAW answer as it came: 200, its content type
 * (application/json when it had none) and forwarded headers, the body
 * already in res->body (asPipeThroughBuffer()'s response). */
enum xrpc_status proxy_result_apply(struct xrpc_res *,
		    const struct proxy_result *);
/* Releases the worker's libcurl handle (tests; workers simply exit). */
void		 proxy_http_fini(void);

/* h_appbsky.c */
/* The route of an app.bsky method this PDS answers itself (and of
 * getServiceAuth), or NULL: the rows needing the app view exist only with
 * PDS_BSKY_APP_VIEW_URL, the age-assurance ones with
 * PDS_AGE_ASSURANCE_LOCAL.  Static rows. */
const struct xrpc_route *appbsky_route_find(const struct pds_config *,
		    const char *nsid);
/* Runs one of those routes as dispatch.c runs the main table: HTTP
 * method, auth, input, handler. */
enum xrpc_status appbsky_dispatch(struct xrpc_req *, struct xrpc_res *,
		    const struct xrpc_route *);
/* Sends the parsed JSON input on to the call's target (atproto-proxy or
 * default) with a service JWT for aud; the answer is streamed with its
 * status and headers. */
enum xrpc_status appbsky_forward_input(struct xrpc_req *, struct xrpc_res *,
		    const char *aud);
enum xrpc_status app_bsky_actor_getPreferences(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status app_bsky_actor_putPreferences(struct xrpc_req *,
		    struct xrpc_res *);
/* encodeURIComponent() of s (NUL-terminated, at most LIM_URI_LEN) into
 * the arena, or NULL. */
char		*appbsky_uri_component(struct arena *, const char *s);

/* raw.c */
/* getProfile / getProfiles: read-after-write with the profile merge. */
enum xrpc_status app_bsky_actor_raw_profile(struct xrpc_req *,
		    struct xrpc_res *);
/* getTimeline, getAuthorFeed, getPostThread, getActorLikes:
 * pipethroughReadAfterWrite() with the reference's munge of each (the
 * account's newer posts and profile merged in). */
enum xrpc_status app_bsky_raw_pipethrough(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status app_bsky_feed_getFeed(struct xrpc_req *, struct xrpc_res *);
enum xrpc_status app_bsky_notification_registerPush(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status app_bsky_notification_unregisterPush(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status app_bsky_unspecced_getAgeAssuranceState(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status app_bsky_unspecced_initAgeAssurance(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status app_bsky_ageassurance_getState(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status app_bsky_ageassurance_getConfig(struct xrpc_req *,
		    struct xrpc_res *);
enum xrpc_status app_bsky_ageassurance_begin(struct xrpc_req *,
		    struct xrpc_res *);

/* h_svcauth.c */
enum xrpc_status com_atproto_server_getServiceAuth(struct xrpc_req *,
		    struct xrpc_res *);

#endif /* PDS_PROXY_H */
