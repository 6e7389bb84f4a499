/*
 * ratelimits.c: the reference's rate limits as a framework feature of the
 * XRPC pipeline (packages/pds/src/rate-limits.ts, the rateLimit options of
 * the api/ routes, @atproto/xrpc-server's HttpRateLimiter;
 * ../shared/spec/reference-pds.md j).
 *
 * One table keyed by NSID says which limits a method has beyond the
 * global per-IP one; dispatch.c calls xrpc_ratelimit_route() after auth
 * and input (xrpc-server's order) and xrpc_ratelimit_global() for methods
 * without a route.  Counters live in the file every worker shares
 * (fcgi/store/ratelimit.h).  Only with PDS_RATE_LIMITS_ENABLED; the
 * x-ratelimit-bypass header (PDS_RATE_LIMIT_BYPASS_KEY) and
 * PDS_RATE_LIMIT_BYPASS_IPS skip them.  A limiter failure lets the
 * request through (the reference logs and fails open).
 *
 * Difference kept on purpose: our handlers validate their input after
 * this stage, so a malformed body to a limited route counts where the
 * reference's lexicon validation would have refused it first.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "admin_int.h"
#include "log.h"
#include "ratelimit.h"
#include "util.h"
#include "xrpc_int.h"

#define MINUTE_MS	(60LL * 1000)
#define HOUR_MS		(60 * MINUTE_MS)
#define DAY_MS		(24 * HOUR_MS)

#define NSID_GET_REPO	"com.atproto.sync.getRepo"

/* What a limit is keyed by (calcKey). */
enum rl_key {
	RL_KEY_IP,		/* req.ip */
	RL_KEY_DID,		/* auth.credentials.did */
	RL_KEY_IDENT_IP,	/* `${input.body.identifier}-${req.ip}` */
	RL_KEY__MAX
};

/* What a hit costs (calcPoints). */
enum rl_cost {
	RL_COST_ONE,
	RL_COST_CREATE,		/* 3 */
	RL_COST_PUT,		/* 2 */
	RL_COST_DELETE,		/* 1 */
	RL_COST_WRITES,		/* applyWrites: 3 per create, 2 per update,
				 * 1 per delete */
	RL_COST__MAX
};

struct rl_limit {
	const char	*bucket;	/* shared "rl-<name>", or NULL: the
					 * route's own ("<nsid>-<i>") */
	int64_t		 duration_ms;
	int64_t		 points;
	enum rl_key	 key;
	enum rl_cost	 cost;
};

struct rl_route {
	const char	*nsid;
	struct rl_limit	 lim[LIM_RL_BUCKETS - 1];	/* then the global */
};

#define RL_WRITE(c)							\
	{ { "rl-repo-write-hour", HOUR_MS, 5000, RL_KEY_DID, c },	\
	  { "rl-repo-write-day", DAY_MS, 35000, RL_KEY_DID, c } }
#define RL_EMAIL							\
	{ { NULL, DAY_MS, 15, RL_KEY_DID, RL_COST_ONE },		\
	  { NULL, HOUR_MS, 5, RL_KEY_DID, RL_COST_ONE } }

/* Each row in the order of the reference's rateLimit array. */
static const struct rl_route rl_routes[] = {
	{ "com.atproto.identity.updateHandle",
	    { { NULL, 5 * MINUTE_MS, 10, RL_KEY_DID, RL_COST_ONE },
	      { NULL, DAY_MS, 50, RL_KEY_DID, RL_COST_ONE } } },
	{ "com.atproto.repo.applyWrites", RL_WRITE(RL_COST_WRITES) },
	{ "com.atproto.repo.createRecord", RL_WRITE(RL_COST_CREATE) },
	{ "com.atproto.repo.deleteRecord", RL_WRITE(RL_COST_DELETE) },
	{ "com.atproto.repo.putRecord", RL_WRITE(RL_COST_PUT) },
	{ "com.atproto.repo.uploadBlob",
	    { { NULL, DAY_MS, 1000, RL_KEY_IP, RL_COST_ONE } } },
	{ "com.atproto.server.createAccount",
	    { { NULL, 5 * MINUTE_MS, 100, RL_KEY_IP, RL_COST_ONE } } },
	{ "com.atproto.server.createSession",
	    { { NULL, DAY_MS, 300, RL_KEY_IDENT_IP, RL_COST_ONE },
	      { NULL, 5 * MINUTE_MS, 30, RL_KEY_IDENT_IP, RL_COST_ONE } } },
	{ "com.atproto.server.deleteAccount",
	    { { NULL, 5 * MINUTE_MS, 50, RL_KEY_IP, RL_COST_ONE } } },
	{ "com.atproto.server.requestAccountDelete", RL_EMAIL },
	{ "com.atproto.server.requestEmailConfirmation", RL_EMAIL },
	{ "com.atproto.server.requestEmailUpdate", RL_EMAIL },
	{ "com.atproto.server.requestPasswordReset",
	    { { NULL, DAY_MS, 50, RL_KEY_IP, RL_COST_ONE },
	      { NULL, HOUR_MS, 15, RL_KEY_IP, RL_COST_ONE } } },
	{ "com.atproto.server.resetPassword",
	    { { NULL, 5 * MINUTE_MS, 50, RL_KEY_IP, RL_COST_ONE } } },
	{ NSID_GET_REPO,
	    { { "rl-sync-get-repo-ip", 5 * MINUTE_MS, 6000, RL_KEY_IP,
	      RL_COST_ONE } } },
};

static const struct rl_limit rl_global = { "rl-global-ip", 5 * MINUTE_MS,
    3000, RL_KEY_IP, RL_COST_ONE };

static struct ratelimit	*rl_file;
static pid_t		 rl_pid;
static int		 rl_broken;	/* open failed in this process */

static const struct rl_route *
rl_route_find(const char *nsid)
{
	size_t	i;

	for (i = 0; i < sizeof(rl_routes) / sizeof(rl_routes[0]); i++)
		if (strcmp(rl_routes[i].nsid, nsid) == 0)
			return &rl_routes[i];
	return NULL;
}

/* The process's counter file, opened on first use after fork(). */
static struct ratelimit *
rl_get(const struct pds_config *cfg)
{
	char	path[LIM_STORE_PATH];

	if (rl_pid == getpid())
		return rl_broken ? NULL : rl_file;
	rl_file = NULL;		/* the parent's mapping is not ours */
	rl_pid = getpid();
	rl_broken = 0;
	if (snprintf(path, sizeof(path), "%s%sratelimit.dat",
	    cfg->data_dir != NULL ? cfg->data_dir : "",
	    cfg->data_dir != NULL ? "/" : "") >= (int)sizeof(path) ||
	    ratelimit_open(path, &rl_file) == -1) {
		log_error("%s: rate limits are not enforced in this worker",
		    __func__);
		rl_broken = 1;
		return NULL;
	}
	return rl_file;
}

/* bypass(): the header equals PDS_RATE_LIMIT_BYPASS_KEY, or the client IP
 * is one of PDS_RATE_LIMIT_BYPASS_IPS (any "/cidr" suffix cut off). */
static int
rl_bypass(struct xrpc_req *req)
{
	const struct pds_config	*cfg = req->srv->cfg;
	const char		*h, *ip, *slash;
	size_t			 i, n;

	h = xrpc_req_param(req, "HTTP_X_RATELIMIT_BYPASS");
	if (cfg->rate_bypass_key != NULL && h != NULL &&
	    util_ct_equal(h, strlen(h), cfg->rate_bypass_key,
	    strlen(cfg->rate_bypass_key)))
		return 1;
	for (i = 0; i < cfg->rate_bypass_ips.n; i++) {
		ip = cfg->rate_bypass_ips.v[i];
		slash = strchr(ip, '/');
		n = slash != NULL ? (size_t)(slash - ip) : strlen(ip);
		if (n > 0 && strlen(req->client_ip) == n &&
		    strncmp(req->client_ip, ip, n) == 0)
			return 1;
	}
	return 0;
}

/* calculateWriteCost(): the ops of applyWrites' "writes". */
static int64_t
rl_writes_cost(const json_t *input)
{
	json_t		*w, *op, *t;
	size_t		 i;
	int64_t		 cost = 0;

	w = json_object_get(input, "writes");
	json_array_foreach(w, i, op) {
		t = json_object_get(op, "$type");
		if (xrpc_json_str_is(t, "com.atproto.repo.applyWrites#create"))
			cost += 3;
		else if (xrpc_json_str_is(t,
		    "com.atproto.repo.applyWrites#update"))
			cost += 2;
		else
			cost += 1;
	}
	return cost;
}

static int64_t
rl_cost(const struct xrpc_req *req, enum rl_cost c)
{
	switch (c) {
	case RL_COST_CREATE:
		return 3;
	case RL_COST_PUT:
		return 2;
	case RL_COST_WRITES:
		return rl_writes_cost(req->input);
	default:
		return 1;
	}
}

/* `${identifier}-${ip}` into the arena, all of the identifier (a NUL
 * in it is a byte of the key); NULL without a string identifier. */
static const char *
rl_key_ident(struct xrpc_req *req, size_t *len)
{
	const json_t	*v = json_object_get(req->input, "identifier");
	size_t		 il = json_string_length(v);
	size_t		 ipl = strlen(req->client_ip);
	char		*k;

	/* il is bounded by the body limit */
	if (!json_is_string(v) ||
	    (k = arena_alloc(req->a, il + 1 + ipl + 1)) == NULL)
		return NULL;
	memcpy(k, json_string_value(v), il);
	k[il] = '-';
	memcpy(k + il + 1, req->client_ip, ipl + 1);
	*len = il + 1 + ipl;
	return k;
}

/* The key of a limit for req (arena or request-owned) and its length;
 * NULL: the limit does not apply (calcKey returned null, or the request
 * lacks the value). */
static const char *
rl_key(struct xrpc_req *req, enum rl_key k, size_t *len)
{
	const char	*key;

	switch (k) {
	case RL_KEY_DID:
		key = req->auth.did;
		break;
	case RL_KEY_IDENT_IP:
		return rl_key_ident(req, len);
	default:
		key = req->client_ip[0] != '\0' ? req->client_ip : NULL;
		break;
	}
	if (key != NULL)
		*len = strlen(key);
	return key;
}

/* Fills hits from the limits that apply; returns their number. */
static size_t
rl_hits(struct xrpc_req *req, const struct rl_route *r, int global,
    struct ratelimit_hit *hits)
{
	const struct rl_limit	*l;
	const char		*key;
	size_t			 i, n = 0, keylen = 0;
	int64_t			 cost;

	for (i = 0; r != NULL && i < LIM_RL_BUCKETS - 1; i++) {
		l = &r->lim[i];
		if (l->duration_ms == 0)
			break;
		if ((key = rl_key(req, l->key, &keylen)) == NULL ||
		    (cost = rl_cost(req, l->cost)) < 1)
			continue;
		hits[n].bucket = l->bucket != NULL ? l->bucket :
		    arena_printf(req->a, "%s-%zu", r->nsid, i);
		if (hits[n].bucket == NULL)
			continue;
		hits[n].key = key;
		hits[n].keylen = keylen;
		hits[n].limit = l->points;
		hits[n].duration_ms = l->duration_ms;
		hits[n].cost = cost;
		n++;
	}
	/* global-ip: every method but sync.getRepo */
	if (global && strcmp(req->nsid, NSID_GET_REPO) != 0 &&
	    (key = rl_key(req, RL_KEY_IP, &keylen)) != NULL) {
		hits[n].bucket = rl_global.bucket;
		hits[n].key = key;
		hits[n].keylen = keylen;
		hits[n].limit = rl_global.points;
		hits[n].duration_ms = rl_global.duration_ms;
		hits[n].cost = 1;
		n++;
	}
	return n;
}

/* setStatusHeaders() */
static int
rl_headers(struct xrpc_res *res, const struct ratelimit_status *st,
    int64_t now_ms)
{
	char	v[4][64];

	(void)snprintf(v[0], sizeof(v[0]), "%lld", (long long)st->limit);
	(void)snprintf(v[1], sizeof(v[1]), "%lld",
	    (long long)((now_ms + st->ms_before_next) / 1000));
	(void)snprintf(v[2], sizeof(v[2]), "%lld", (long long)st->remaining);
	(void)snprintf(v[3], sizeof(v[3]), "%lld;w=%lld",
	    (long long)st->limit, (long long)st->duration_s);
	return xrpc_res_header(res, "RateLimit-Limit", v[0]) == -1 ||
	    xrpc_res_header(res, "RateLimit-Reset", v[1]) == -1 ||
	    xrpc_res_header(res, "RateLimit-Remaining", v[2]) == -1 ||
	    xrpc_res_header(res, "RateLimit-Policy", v[3]) == -1 ||
	    xrpc_res_header_add(res, "Access-Control-Expose-Headers",
	    "RateLimit-Limit, RateLimit-Reset, RateLimit-Remaining, "
	    "RateLimit-Policy") == -1 ? -1 : 0;
}

static enum xrpc_status
rl_apply(struct xrpc_req *req, struct xrpc_res *res, const struct rl_route *r,
    int global)
{
	struct ratelimit_hit	 hits[LIM_RL_BUCKETS];
	const struct ratelimit_status *tight = NULL, *over = NULL;
	struct ratelimit	*rl;
	char			 retry[32];
	int64_t			 now = util_now_ms();
	size_t			 i, n;

	if (!req->srv->cfg->rate_limits || rl_bypass(req))
		return XRPC_OK;
	memset(hits, 0, sizeof(hits));
	if ((n = rl_hits(req, r, global, hits)) == 0 ||
	    (rl = rl_get(req->srv->cfg)) == NULL ||
	    ratelimit_consume(rl, hits, n, now) == -1)
		return XRPC_OK;		/* fail open */
	for (i = 0; i < n; i++) {
		if (hits[i].st.exceeded && over == NULL)
			over = &hits[i].st;
		if (tight == NULL || hits[i].st.remaining < tight->remaining)
			tight = &hits[i].st;
	}
	if (over == NULL)
		return rl_headers(res, tight, now) == -1 ?
		    xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL) : XRPC_OK;
	(void)snprintf(retry, sizeof(retry), "%lld",
	    (long long)((over->ms_before_next + 999) / 1000));
	if (rl_headers(res, over, now) == -1 ||
	    xrpc_res_header(res, "Retry-After", retry) == -1 ||
	    xrpc_res_header_add(res, "Access-Control-Expose-Headers",
	    "Retry-After") == -1)
		return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
	return xrpc_fail(res, XRPC_ERR_RATE_LIMITED, NULL, NULL);
}

enum xrpc_status
xrpc_ratelimit_route(struct xrpc_req *req, struct xrpc_res *res)
{
	return rl_apply(req, res, rl_route_find(req->nsid), 1);
}

enum xrpc_status
xrpc_ratelimit_global(struct xrpc_req *req, struct xrpc_res *res)
{
	return rl_apply(req, res, NULL, 1);
}
