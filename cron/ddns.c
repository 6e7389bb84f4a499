/*
 * ddns.c: pds-ddns, the dynamic-DNS helper for a PDS on a home line.
 *
 * One run: find the public IPv4 (and IPv6 with -6) from a list of echo
 * endpoints, read the apex, "*.<apex>" and any extra names from the DNS
 * provider (Route53 or Cloudflare, dns_*.c), and change only the records
 * that differ, in one batch where the provider allows.  An unusable
 * answer from every endpoint of a family leaves DNS untouched.  Runs
 * under a lock so overlapping cron runs never race; logs one summary
 * line.  Exit statuses: enum cron_exit (cron/README.md).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "cron.h"
#include "log.h"

static const char *const ddns_default_v4[] = {
	"https://ifconfig.me/ip", "https://api.ipify.org",
	"https://ipv4.icanhazip.com", NULL,
};
static const char *const ddns_default_v6[] = {
	"https://ifconfig.me/ip", "https://api64.ipify.org",
	"https://ipv6.icanhazip.com", NULL,
};

struct ddns_args {
	const char		*provider;
	const char		*hostname;
	const char		*zone_id, *zone, *endpoint;
	const char		*lock, *env_file;
	const char		*ttl;
	struct cron_list	 names, urls4, urls6;
	int			 ipv6, no_wildcard, dry_run;
};

static void
ddns_usage(void)
{
	fprintf(stderr,
	    "usage: pds-ddns [-6dh] [-p route53|cloudflare] [-H hostname] "
	    "[-n name]...\n"
	    "                [-z zone-id] [--zone name] [-t ttl] "
	    "[--no-wildcard]\n"
	    "                [--ip-url url]... [--ip6-url url]... "
	    "[--endpoint url]\n"
	    "                [-l lockfile] [-e env-file]\n");
}

static int
ddns_bool(const char *v)
{
	return v != NULL && (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

/* Flags win over PDS_DDNS_* settings, which win over defaults. */
static int
ddns_settings(struct ddns_args *a)
{
	const char	*v;

	if (a->provider == NULL)
		a->provider = cron_env_get("PDS_DDNS_PROVIDER");
	if (a->zone_id == NULL)
		a->zone_id = cron_env_get("PDS_DDNS_ZONE_ID");
	if (a->zone == NULL)
		a->zone = cron_env_get("PDS_DDNS_ZONE");
	if (a->ttl == NULL)
		a->ttl = cron_env_get("PDS_DDNS_TTL");
	if (a->lock == NULL)
		a->lock = cron_env_get("PDS_DDNS_LOCK");
	if (a->hostname == NULL)
		a->hostname = cron_env_get("PDS_DDNS_HOSTNAME");
	if (!a->ipv6)
		a->ipv6 = ddns_bool(cron_env_get("PDS_DDNS_IPV6"));
	if (!a->no_wildcard && (v = cron_env_get("PDS_DDNS_WILDCARD")) != NULL)
		a->no_wildcard = strcasecmp(v, "false") == 0 ||
		    strcmp(v, "0") == 0;
	if (a->names.n == 0 && (v = cron_env_get("PDS_DDNS_NAMES")) != NULL &&
	    cron_list_add(&a->names, v, 1, LIM_DDNS_NAMES) == -1)
		return -1;
	if (a->urls4.n == 0 && (v = cron_env_get("PDS_DDNS_IP_URLS")) != NULL &&
	    cron_list_add(&a->urls4, v, 1, LIM_DDNS_URLS) == -1)
		return -1;
	if (a->urls6.n == 0 &&
	    (v = cron_env_get("PDS_DDNS_IP6_URLS")) != NULL &&
	    cron_list_add(&a->urls6, v, 1, LIM_DDNS_URLS) == -1)
		return -1;
	return 0;
}

/* Asks each endpoint in turn; the first well-formed public address
 * wins.  Returns 0, or -1 when every endpoint failed (each logged). */
static int
ddns_lookup(const struct cron_list *urls, int family, struct ddns_addr *out)
{
	struct chttp_req	 req;
	struct chttp_resp	 resp;
	const char		*why;
	char			 eurl[256], ebody[80];
	size_t			 i;

	for (i = 0; i < urls->n; i++) {
		memset(&req, 0, sizeof(req));
		req.method = "GET";
		req.url = urls->v[i];
		req.family = family;
		req.max = LIM_DDNS_IP_BODY;
		log_escape(eurl, sizeof(eurl), urls->v[i], strlen(urls->v[i]));
		if (chttp_do(&req, &resp) == -1) {
			log_warn("ip lookup: %s: %s", eurl, resp.err);
		} else if (resp.status != 200) {
			log_warn("ip lookup: %s: HTTP %ld", eurl, resp.status);
		} else if (ddns_ip_parse((const char *)resp.body.data,
		    resp.body.len, family, out, &why) == -1 ||
		    !ddns_ip_public(out, &why)) {
			log_escape(ebody, sizeof(ebody), resp.body.data,
			    resp.body.len < 60 ? resp.body.len : 60);
			log_warn("ip lookup: %s: refused answer \"%s\": %s",
			    eurl, ebody, why);
		} else {
			chttp_resp_free(&resp);
			return 0;
		}
		chttp_resp_free(&resp);
	}
	log_error("ip lookup: no endpoint gave a usable IPv%c address; DNS "
	    "left untouched", family == AF_INET ? '4' : '6');
	return -1;
}

/* Adds name (checked, lowercased, deduplicated) to the wanted names. */
static int
ddns_name_add(char names[][LIM_DDNS_NAME_LEN + 1], size_t *n,
    const char *s)
{
	char	norm[LIM_DDNS_NAME_LEN + 1], esc[80];
	size_t	i;

	if (ddns_name_norm(s, strlen(s), norm) == -1) {
		log_escape(esc, sizeof(esc), s, strlen(s));
		log_error("bad DNS name \"%s\"", esc);
		return -1;
	}
	for (i = 0; i < *n; i++)
		if (strcmp(names[i], norm) == 0)
			return 0;
	if (*n >= LIM_DDNS_NAMES) {
		log_error("more than %d names", LIM_DDNS_NAMES);
		return -1;
	}
	memcpy(names[(*n)++], norm, sizeof(norm));
	return 0;
}

/* Builds the name list: apex, "*.apex" unless disabled, extras. */
static int
ddns_names(const struct ddns_args *a, const struct pds_config *cfg,
    char names[][LIM_DDNS_NAME_LEN + 1], size_t *n)
{
	const char	*apex = a->hostname != NULL ? a->hostname :
			    cfg->hostname;
	char		 wild[LIM_DDNS_NAME_LEN + 3];
	size_t		 i;

	*n = 0;
	if (apex == NULL || strcmp(apex, "localhost") == 0) {
		log_error("no hostname: set PDS_HOSTNAME or give -H");
		return -1;
	}
	if (ddns_name_add(names, n, apex) == -1)
		return -1;
	if (!a->no_wildcard) {
		i = (size_t)snprintf(wild, sizeof(wild), "*.%s", names[0]);
		if (i >= sizeof(wild) || ddns_name_add(names, n, wild) == -1) {
			log_error("hostname too long for a wildcard");
			return -1;
		}
	}
	for (i = 0; i < a->names.n; i++)
		if (ddns_name_add(names, n, a->names.v[i]) == -1)
			return -1;
	return 0;
}

/* Appends "TYPE name old -> new" items to the summary line. */
static void
ddns_summary(struct buf *b, const struct ddns_want *w,
    const struct ddns_have *h, size_t n, int changed)
{
	size_t	i, k = 0;

	for (i = 0; i < n; i++) {
		if (h[i].same == changed)
			continue;
		if (changed) {
			(void)buf_printf(b, "%s%s %s %s -> %s", k++ ? ", " : "",
			    w[i].type, w[i].name, h[i].nvalues > 0 ?
			    h[i].values[0] : "(none)", w[i].addr->text);
			if (h[i].nvalues > 1)
				(void)buf_printf(b, " (had %zu values)",
				    h[i].nvalues);
			else if (h[i].exists && h[i].ttl != w[i].ttl)
				(void)buf_printf(b, " (ttl %lld -> %lld)",
				    (long long)h[i].ttl, (long long)w[i].ttl);
		} else
			(void)buf_printf(b, "%s%s %s %s", k++ ? ", " : "",
			    w[i].type, w[i].name, w[i].addr->text);
	}
}

/* Reads, compares and applies.  Returns a cron_exit status. */
static int
ddns_sync(const struct ddns_args *a, struct ddns_provider *pv,
    const struct ddns_opts *o, struct ddns_want *w, size_t n)
{
	struct ddns_have	*h = NULL;
	struct buf		 line;
	size_t			 i, ndiff = 0;
	int			 rc = CRON_EXIT_DNS, orc;

	buf_init(&line, 1800);
	if ((h = calloc(n, sizeof(*h))) == NULL) {
		rc = CRON_EXIT_FAIL;
		goto out;
	}
	if ((orc = pv->ops->open(pv, o)) != 0) {
		if (orc == -2)
			rc = CRON_EXIT_USAGE;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (pv->ops->get(pv, &w[i], &h[i]) == -1)
			goto out;
		ndiff += !h[i].same;
	}
	(void)buf_printf(&line, "%s zone %s: ", pv->ops->name, pv->zone_id);
	if (ndiff == 0) {
		(void)buf_puts(&line, "unchanged: ");
		ddns_summary(&line, w, h, n, 0);
	} else if (a->dry_run) {
		(void)buf_puts(&line, "dry run, would update: ");
		ddns_summary(&line, w, h, n, 1);
	} else {
		if (pv->ops->apply(pv, w, h, n) == -1)
			goto out;
		(void)buf_puts(&line, "updated: ");
		ddns_summary(&line, w, h, n, 1);
	}
	(void)buf_cstr(&line);
	log_info("%s", line.data != NULL ? (char *)line.data : "");
	rc = CRON_EXIT_OK;
out:
	pv->ops->close(pv);
	free(h);
	buf_free(&line);
	return rc;
}

static int
ddns_parse_args(int argc, char *argv[], struct ddns_args *a)
{
	enum { O_ZONE = 256, O_NOWILD, O_IPURL, O_IP6URL, O_ENDPOINT };
	static const struct option longopts[] = {
		{ "provider", required_argument, NULL, 'p' },
		{ "hostname", required_argument, NULL, 'H' },
		{ "name", required_argument, NULL, 'n' },
		{ "zone-id", required_argument, NULL, 'z' },
		{ "zone", required_argument, NULL, O_ZONE },
		{ "ttl", required_argument, NULL, 't' },
		{ "ipv6", no_argument, NULL, '6' },
		{ "no-wildcard", no_argument, NULL, O_NOWILD },
		{ "ip-url", required_argument, NULL, O_IPURL },
		{ "ip6-url", required_argument, NULL, O_IP6URL },
		{ "endpoint", required_argument, NULL, O_ENDPOINT },
		{ "dry-run", no_argument, NULL, 'd' },
		{ "lock", required_argument, NULL, 'l' },
		{ "env-file", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int	c;

	while ((c = getopt_long(argc, argv, "6de:hH:l:n:p:t:z:", longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'p': a->provider = optarg; break;
		case 'H': a->hostname = optarg; break;
		case 'n':
			if (cron_list_add(&a->names, optarg, 0,
			    LIM_DDNS_NAMES) == -1)
				return -1;
			break;
		case 'z': a->zone_id = optarg; break;
		case O_ZONE: a->zone = optarg; break;
		case 't': a->ttl = optarg; break;
		case '6': a->ipv6 = 1; break;
		case O_NOWILD: a->no_wildcard = 1; break;
		case O_IPURL:
			if (cron_list_add(&a->urls4, optarg, 0,
			    LIM_DDNS_URLS) == -1)
				return -1;
			break;
		case O_IP6URL:
			if (cron_list_add(&a->urls6, optarg, 0,
			    LIM_DDNS_URLS) == -1)
				return -1;
			break;
		case O_ENDPOINT: a->endpoint = optarg; break;
		case 'd': a->dry_run = 1; break;
		case 'l': a->lock = optarg; break;
		case 'e': a->env_file = optarg; break;
		default:
			return -1;
		}
	}
	if (optind != argc)
		return -1;
	return 0;
}

static int
ddns_defaults(struct cron_list *l, const char *const *def)
{
	for (; l->n == 0 && *def != NULL; def++)
		if (cron_list_add(l, *def, 0, LIM_DDNS_URLS) == -1)
			return -1;
	return 0;
}

/* Validates the settings that need no network.  Returns 0 or -1. */
static int
ddns_prepare(struct ddns_args *a, const struct pds_config *cfg,
    struct ddns_provider *pv, char names[][LIM_DDNS_NAME_LEN + 1],
    size_t *nnames, int64_t *ttl)
{
	size_t	i;

	memset(pv, 0, sizeof(*pv));
	if (a->provider == NULL || strcmp(a->provider, "route53") == 0)
		pv->ops = &ddns_route53_ops;
	else if (strcmp(a->provider, "cloudflare") == 0)
		pv->ops = &ddns_cloudflare_ops;
	else {
		log_error("unknown provider (route53 or cloudflare)");
		return -1;
	}
	*ttl = LIM_DDNS_TTL_DEFAULT;
	if (a->ttl != NULL && cron_flag_int("ttl", a->ttl, LIM_DDNS_TTL_MIN,
	    LIM_DDNS_TTL_MAX, ttl) == -1)
		return -1;
	if (ddns_settings(a) == -1 || ddns_names(a, cfg, names, nnames) == -1)
		return -1;
	if (a->zone != NULL) {
		if (ddns_name_norm(a->zone, strlen(a->zone), pv->zone) == -1 ||
		    pv->zone[0] == '*') {
			log_error("bad zone name");
			return -1;
		}
		for (i = 0; i < *nnames; i++)
			if (!ddns_name_in_zone(names[i], pv->zone)) {
				log_error("%s is not in zone %s", names[i],
				    pv->zone);
				return -1;
			}
	}
	if (ddns_defaults(&a->urls4, ddns_default_v4) == -1 ||
	    ddns_defaults(&a->urls6, ddns_default_v6) == -1)
		return -1;
	return 0;
}

/* Looks up the addresses, then keeps the records.  A cron_exit. */
static int
ddns_run(struct ddns_args *a, struct ddns_provider *pv,
    char names[][LIM_DDNS_NAME_LEN + 1], size_t nnames, int64_t ttl)
{
	struct ddns_addr	 addr[2];
	struct ddns_want	*w = NULL;
	struct ddns_opts	 o;
	size_t			 i, f, n = 0;
	int			 have[2] = { 0, 0 }, fam[2] = { AF_INET,
				    AF_INET6 };
	int			 rc;

	have[0] = ddns_lookup(&a->urls4, AF_INET, &addr[0]) == 0;
	if (a->ipv6)
		have[1] = ddns_lookup(&a->urls6, AF_INET6, &addr[1]) == 0;
	if (!have[0] && !have[1])
		return CRON_EXIT_IP;
	if ((w = calloc(2 * nnames, sizeof(*w))) == NULL)
		return CRON_EXIT_FAIL;
	for (f = 0; f < 2; f++)
		for (i = 0; have[f] && i < nnames; i++, n++) {
			memcpy(w[n].name, names[i], sizeof(w[n].name));
			w[n].type = fam[f] == AF_INET ? "A" : "AAAA";
			w[n].addr = &addr[f];
			w[n].ttl = ttl;
		}
	memset(&o, 0, sizeof(o));
	o.zone_id = a->zone_id;
	o.zone = a->zone;
	o.endpoint = a->endpoint;
	o.apex = names[0];
	rc = ddns_sync(a, pv, &o, w, n);
	free(w);
	/* A family that found no address is still a failure to report. */
	if (rc == CRON_EXIT_OK && (!have[0] || (a->ipv6 && !have[1])))
		rc = CRON_EXIT_IP;
	return rc;
}

int
main(int argc, char *argv[])
{
	struct ddns_args	 a;
	struct ddns_provider	 pv;
	struct pds_config	*cfg = NULL;
	char			 names[LIM_DDNS_NAMES][LIM_DDNS_NAME_LEN + 1];
	char			 lockpath[LIM_CRON_PATH];
	size_t			 nnames = 0;
	int64_t			 ttl = LIM_DDNS_TTL_DEFAULT;
	int			 rc = CRON_EXIT_USAGE, lockfd = -1, curl = 0;

	log_init("pds-ddns", LOG_LVL_INFO);
	memset(&a, 0, sizeof(a));
	if (ddns_parse_args(argc, argv, &a) == -1) {
		ddns_usage();
		goto out;
	}
	if (cron_config_load(a.env_file, &cfg) == -1 ||
	    ddns_prepare(&a, cfg, &pv, names, &nnames, &ttl) == -1 ||
	    cron_lock_path("pds-ddns", a.lock, cfg, lockpath) == -1)
		goto out;
	if ((lockfd = cron_lock(lockpath)) == -2) {
		log_warn("another run holds %s; nothing done", lockpath);
		rc = CRON_EXIT_LOCKED;
		goto out;
	}
	if (lockfd == -1 || chttp_init() == -1) {
		rc = CRON_EXIT_FAIL;
		goto out;
	}
	curl = 1;
	rc = ddns_run(&a, &pv, names, nnames, ttl);
out:
	if (curl)
		chttp_fini();
	if (lockfd >= 0)
		(void)close(lockfd);
	cron_list_free(&a.names);
	cron_list_free(&a.urls4);
	cron_list_free(&a.urls6);
	cron_env_fini();
	config_free(cfg);
	return rc;
}
