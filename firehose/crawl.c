/*
 * crawl.c: asking relays to crawl us.  POST {crawler}/xrpc/
 * com.atproto.sync.requestCrawl {"hostname": PDS_HOSTNAME} to each of
 * PDS_CRAWLERS at start-up and after new events, at most once per
 * LIM_FH_CRAWL_EVERY_MS per crawler (the reference's crawlers.ts; unlike
 * it, events inside the quiet period are not forgotten: the crawler is
 * asked when the period ends).
 *
 * libcurl's multi interface runs inside the daemon's epoll loop
 * (CURLMOPT_SOCKETFUNCTION / TIMERFUNCTION), so a slow or unreachable
 * relay never blocks the firehose.  Each request has a total timeout.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include <curl/curl.h>
#include <jansson.h>

#include "config.h"
#include "fh.h"
#include "log.h"
#include "util.h"

struct crawl_sock {
	struct fh_watch	 w;		/* FH_CURL; first member */
	curl_socket_t	 s;
};

struct crawl_target {
	char		*url;
	CURL		*easy;		/* in flight, or NULL */
	int64_t		 next_ok_ms;	/* not asked again before */
	int		 pending;	/* events came while quiet */
};

struct fh_crawl {
	CURLM			*m;
	struct curl_slist	*hdrs;
	char			*body;
	struct crawl_target	 t[LIM_FH_CRAWLERS];
	size_t			 n;
	int64_t			 timer_ms;	/* libcurl's, or INT64_MAX */
};

static int
crawl_sockcb(CURL *e, curl_socket_t s, int what, void *userp, void *sockp)
{
	struct fh		*fh = userp;
	struct crawl_sock	*cs = sockp;
	uint32_t		 ev;

	(void)e;
	if (what == CURL_POLL_REMOVE) {
		if (cs != NULL) {
			fh_watch_del(fh, s);
			(void)curl_multi_assign(fh->crawl->m, s, NULL);
			free(cs);
		}
		return 0;
	}
	ev = ((what & CURL_POLL_IN) ? EPOLLIN : 0) |
	    ((what & CURL_POLL_OUT) ? EPOLLOUT : 0);
	if (cs == NULL) {
		if ((cs = calloc(1, sizeof(*cs))) == NULL)
			return -1;
		cs->w.kind = FH_CURL;
		cs->s = s;
		if (fh_watch_add(fh, s, ev, &cs->w) == -1) {
			free(cs);
			return -1;
		}
		(void)curl_multi_assign(fh->crawl->m, s, cs);
		return 0;
	}
	return fh_watch_mod(fh, s, ev, &cs->w) == -1 ? -1 : 0;
}

static int
crawl_timercb(CURLM *m, long timeout_ms, void *userp)
{
	struct fh	*fh = userp;

	(void)m;
	fh->crawl->timer_ms = timeout_ms < 0 ? INT64_MAX :
	    util_now_ms() + timeout_ms;
	return 0;
}

static size_t
crawl_discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

static void
crawl_start(struct fh_crawl *cr, struct crawl_target *t, int64_t now)
{
	CURL	*e;

	t->pending = 0;
	t->next_ok_ms = now + LIM_FH_CRAWL_EVERY_MS;
	if ((e = curl_easy_init()) == NULL) {
		log_error("%s: curl_easy_init failed", __func__);
		return;
	}
	if (curl_easy_setopt(e, CURLOPT_URL, t->url) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_POSTFIELDS, cr->body) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_HTTPHEADER, cr->hdrs) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
	    (long)LIM_FH_CRAWL_TIMEOUT_MS) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_USERAGENT, "pds-firehose") !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, crawl_discard) !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PRIVATE, t) != CURLE_OK ||
	    curl_multi_add_handle(cr->m, e) != CURLM_OK) {
		log_error("%s: %s: cannot start the request", __func__,
		    t->url);
		curl_easy_cleanup(e);
		return;
	}
	t->easy = e;
}

/* Collects finished requests and logs each outcome once. */
static void
crawl_done(struct fh_crawl *cr)
{
	struct crawl_target	*t;
	CURLMsg			*msg;
	char			*priv;
	long			 code = 0;
	int			 left;

	while ((msg = curl_multi_info_read(cr->m, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		priv = NULL;
		(void)curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
		    &priv);
		t = (struct crawl_target *)(void *)priv;
		(void)curl_easy_getinfo(msg->easy_handle,
		    CURLINFO_RESPONSE_CODE, &code);
		if (msg->data.result != CURLE_OK)
			log_warn("requestCrawl %s: %s", t ? t->url : "?",
			    curl_easy_strerror(msg->data.result));
		else if (code < 200 || code > 299)
			log_warn("requestCrawl %s: HTTP %ld", t ? t->url :
			    "?", code);
		else
			log_info("requestCrawl %s: HTTP %ld", t->url, code);
		(void)curl_multi_remove_handle(cr->m, msg->easy_handle);
		curl_easy_cleanup(msg->easy_handle);
		if (t != NULL)
			t->easy = NULL;
	}
}

/* {"hostname": host} and the crawler URLs. */
static int
crawl_setup(struct fh_crawl *cr, const struct pds_config *cfg)
{
	json_t	*o;
	size_t	 i, len;

	if ((o = json_pack("{s:s}", "hostname", cfg->hostname)) == NULL)
		return -1;
	cr->body = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (cr->body == NULL)
		return -1;
	for (i = 0; i < cfg->crawlers.n && cr->n < LIM_FH_CRAWLERS; i++) {
		len = strlen(cfg->crawlers.v[i]);
		while (len > 0 && cfg->crawlers.v[i][len - 1] == '/')
			len--;
		if (len == 0)
			continue;
		if (asprintf(&cr->t[cr->n].url,
		    "%.*s/xrpc/com.atproto.sync.requestCrawl", (int)len,
		    cfg->crawlers.v[i]) == -1)
			return -1;
		cr->n++;
	}
	if (cfg->crawlers.n > LIM_FH_CRAWLERS)
		log_warn("%s: only the first %d crawlers are used", __func__,
		    LIM_FH_CRAWLERS);
	return 0;
}

int
crawl_init(struct fh *fh, const struct pds_config *cfg)
{
	struct fh_crawl	*cr;

	fh->crawl = NULL;
	if (cfg->crawlers.n == 0 || cfg->hostname == NULL)
		return 0;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    (cr = calloc(1, sizeof(*cr))) == NULL)
		return -1;
	fh->crawl = cr;
	cr->timer_ms = INT64_MAX;
	if (crawl_setup(cr, cfg) == -1 ||
	    (cr->hdrs = curl_slist_append(NULL,
	    "Content-Type: application/json")) == NULL ||
	    (cr->m = curl_multi_init()) == NULL ||
	    curl_multi_setopt(cr->m, CURLMOPT_SOCKETFUNCTION, crawl_sockcb) !=
	    CURLM_OK ||
	    curl_multi_setopt(cr->m, CURLMOPT_SOCKETDATA, fh) != CURLM_OK ||
	    curl_multi_setopt(cr->m, CURLMOPT_TIMERFUNCTION, crawl_timercb) !=
	    CURLM_OK ||
	    curl_multi_setopt(cr->m, CURLMOPT_TIMERDATA, fh) != CURLM_OK) {
		log_error("%s: cannot set up libcurl", __func__);
		crawl_fini(fh);
		return -1;
	}
	log_info("%s: %zu crawler(s), hostname %s", __func__, cr->n,
	    cfg->hostname);
	return 0;
}

void
crawl_fini(struct fh *fh)
{
	struct fh_crawl	*cr = fh->crawl;
	size_t		 i;

	if (cr == NULL)
		return;
	for (i = 0; i < cr->n; i++) {
		if (cr->t[i].easy != NULL) {
			(void)curl_multi_remove_handle(cr->m, cr->t[i].easy);
			curl_easy_cleanup(cr->t[i].easy);
		}
		free(cr->t[i].url);
	}
	if (cr->m != NULL)
		(void)curl_multi_cleanup(cr->m);
	curl_slist_free_all(cr->hdrs);
	free(cr->body);
	free(cr);
	fh->crawl = NULL;
	curl_global_cleanup();
}

void
crawl_poke(struct fh *fh)
{
	struct fh_crawl	*cr = fh->crawl;
	int64_t		 now = util_now_ms();
	size_t		 i;

	if (cr == NULL)
		return;
	for (i = 0; i < cr->n; i++) {
		if (cr->t[i].easy == NULL && now >= cr->t[i].next_ok_ms)
			crawl_start(cr, &cr->t[i], now);
		else
			cr->t[i].pending = 1;
	}
}

void
crawl_socket(struct fh *fh, struct fh_watch *w, uint32_t events)
{
	struct crawl_sock	*cs = (struct crawl_sock *)(void *)w;
	int			 flags = 0, running;

	if (fh->crawl == NULL)
		return;
	if (events & EPOLLIN)
		flags |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		flags |= CURL_CSELECT_OUT;
	if (events & (EPOLLERR | EPOLLHUP))
		flags |= CURL_CSELECT_ERR;
	(void)curl_multi_socket_action(fh->crawl->m, cs->s, flags, &running);
	crawl_done(fh->crawl);
}

void
crawl_timer(struct fh *fh, int64_t now_ms)
{
	struct fh_crawl	*cr = fh->crawl;
	size_t		 i;
	int		 running;

	if (cr == NULL)
		return;
	if (now_ms >= cr->timer_ms) {
		cr->timer_ms = INT64_MAX;
		(void)curl_multi_socket_action(cr->m, CURL_SOCKET_TIMEOUT, 0,
		    &running);
		crawl_done(cr);
	}
	for (i = 0; i < cr->n; i++)
		if (cr->t[i].pending && cr->t[i].easy == NULL &&
		    now_ms >= cr->t[i].next_ok_ms)
			crawl_start(cr, &cr->t[i], now_ms);
}

int64_t
crawl_next_ms(struct fh *fh)
{
	struct fh_crawl	*cr = fh->crawl;
	int64_t		 next;
	size_t		 i;

	if (cr == NULL)
		return INT64_MAX;
	next = cr->timer_ms;
	for (i = 0; i < cr->n; i++)
		if (cr->t[i].pending && cr->t[i].easy == NULL &&
		    cr->t[i].next_ok_ms < next)
			next = cr->t[i].next_ok_ms;
	return next;
}
