/*
 * main.c: pds-fcgi, the PDS as pre-forked FastCGI workers behind nginx,
 * caddy or lighttpd.
 *
 * Contract with the web server, the service manager and the harness:
 *
 *   pds-fcgi [--env-file FILE] [--listen unix:PATH | --listen HOST:PORT]
 *            [--workers N] [--no-master]
 *
 * Configuration: the reference's PDS_* environment (config.h), read from
 *   --env-file FILE or $PDS_ENV_FILE (an unchanged pds.env) first, the
 *   process environment winning.  An invalid configuration exits 1 with
 *   one line naming the variable.
 * Listening socket, first match:
 *   1. --listen, else PDS_FCGI_LISTEN: "unix:PATH" (created with mode
 *      PDS_FCGI_SOCKET_MODE, octal, default 0660; a stale socket file is
 *      replaced, any other file refused; removed on exit) or "HOST:PORT"
 *      ("[::1]:PORT" for IPv6);
 *   2. systemd socket activation: LISTEN_FDS=1 and LISTEN_PID = our pid,
 *      the socket on fd 3;
 *   3. a listening socket inherited on fd 0 (spawn-fcgi);
 *   otherwise exit 1 with a one-line error.
 * Processes: a master forks PDS_WORKERS (or --workers N; default 2 x
 *   online cores, at most LIM_WORKERS_MAX) workers that share the socket,
 *   each running the libfcgi accept loop, one request at a time.  A dead
 *   worker is replaced; one that dies within 1 s of starting counts as a
 *   failed start and starts back off exponentially (1 s doubling to 30 s,
 *   logged).  --no-master runs a single worker loop in this process (for
 *   `spawn-fcgi -F N -- pds-fcgi --no-master`).
 * Signals (master): SIGTERM/SIGINT stop accepting, let every worker
 *   finish its request in flight (re-signalled each second, killed after
 *   60 s), remove the unix socket, exit 0.  SIGHUP re-reads the
 *   configuration; if it is invalid the error is logged and the old
 *   workers keep running, else workers are replaced one by one (start a
 *   new one, then TERM an old one and wait for it).  A changed
 *   PDS_FCGI_LISTEN needs a restart.  Workers (and --no-master) drain on
 *   SIGTERM/SIGINT the same way and ignore SIGHUP.
 * Per request: an id (the web server's X-Request-Id when sane, else 16
 *   hex chars) is sent back as X-Request-Id, and one access line goes to
 *   stderr: time, id, client address (REMOTE_ADDR, or the FastCGI param
 *   named by PDS_TRUST_PROXY_HEADER, e.g. HTTP_X_REAL_IP), method, path
 *   (no query string), status, body bytes, microseconds, error name.
 *   LOG_ENABLED=false turns these lines off.  No header value, token or
 *   password is ever logged.
 * FastCGI params read: REQUEST_METHOD, REQUEST_URI (else DOCUMENT_URI),
 *   QUERY_STRING, CONTENT_LENGTH, CONTENT_TYPE, HTTP_HOST, REMOTE_ADDR,
 *   HTTP_AUTHORIZATION, HTTP_ATPROTO_PROXY, HTTP_CONTENT_ENCODING,
 *   HTTP_ACCESS_CONTROL_REQUEST_HEADERS, HTTP_X_REQUEST_ID (the standard
 *   fastcgi_params pass them all).
 * Request bodies: a CONTENT_LENGTH over the route's limit is answered 413
 *   before a byte is read, and a body a request did not need is never
 *   read: the answer ends the FastCGI request (nginx then stops sending
 *   it, with fastcgi_request_buffering on or off).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "pds_limits.h"
#include "server.h"
#include "util.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: pds-fcgi [--env-file FILE] "
	    "[--listen unix:PATH | --listen HOST:PORT]\n"
	    "                [--workers N] [--no-master]\n");
}

struct main_args {
	const char	*env_file;
	const char	*listen;
	int64_t		 workers;	/* 0: from the configuration */
	int		 no_master;
};

/* Returns 0, 1 after --help, -1 on a usage error (reported). */
static int
main_args(int argc, char *argv[], struct main_args *a)
{
	static const struct option opts[] = {
		{ "env-file", required_argument, NULL, 'e' },
		{ "listen", required_argument, NULL, 'l' },
		{ "workers", required_argument, NULL, 'w' },
		{ "no-master", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int	c;

	memset(a, 0, sizeof(*a));
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'e':
			a->env_file = optarg;
			break;
		case 'l':
			a->listen = optarg;
			break;
		case 'w':
			if (util_int_parse_str(optarg, 1, LIM_WORKERS_MAX,
			    &a->workers) == -1) {
				fprintf(stderr, "pds-fcgi: --workers must be "
				    "between 1 and %d\n", LIM_WORKERS_MAX);
				return -1;
			}
			break;
		case 'n':
			a->no_master = 1;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return -1;
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	struct main_args	 args;
	struct prefork_opts	 o;
	struct listen_sock	 ls;
	struct pds_config	*cfg = NULL;
	char			 err[512];
	int			 rc;

	if ((rc = main_args(argc, argv, &args)) != 0)
		return rc < 0 ? 1 : 0;
	log_init("pds-fcgi", LOG_LVL_INFO);
	if (config_load(args.env_file, 0, &cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "pds-fcgi: %s\n", err);
		return 1;
	}
	if (listen_open(cfg, args.listen, &ls, err, sizeof(err)) == -1) {
		fprintf(stderr, "pds-fcgi: %s\n", err);
		config_free(cfg);
		return 1;
	}
	log_info("listening (%s)%s%s", ls.origin,
	    ls.unix_path != NULL ? " on unix:" : "",
	    ls.unix_path != NULL ? ls.unix_path : "");
	if (args.no_master) {
		rc = worker_run(cfg, ls.fd, 0);
		config_free(cfg);
	} else {
		memset(&o, 0, sizeof(o));
		o.cfg = cfg;
		o.env_file = args.env_file;
		o.workers = args.workers;
		o.listen_fd = ls.fd;
		rc = prefork_run(&o);
	}
	listen_close(&ls);
	return rc;
}
