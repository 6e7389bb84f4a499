/*
 * main.c: pds-firehose, the WebSocket daemon that serves
 * com.atproto.sync.subscribeRepos from sequencer.sqlite, behind nginx,
 * caddy or lighttpd.  Owns start-up (flags, configuration, sockets,
 * limits, signals), the epoll loop and shutdown; conn.c, hub.c, wake.c
 * and crawl.c do the work.
 *
 *	pds-firehose [--env-file FILE] [--listen HOST:PORT | unix:PATH]
 *
 * Configuration comes from config_load() (CONFIG_NO_SECRETS: the daemon
 * holds no secret): PDS_SEQUENCER_DB_LOCATION (or PDS_DATA_DIRECTORY),
 * PDS_FIREHOSE_LISTEN (127.0.0.1:2584), PDS_MAX_SUBSCRIPTION_BUFFER,
 * PDS_REPO_BACKFILL_LIMIT_MS, PDS_CRAWLERS, PDS_HOSTNAME, and
 * PDS_FIREHOSE_MAX_CONNECTIONS (ours; read here, from the environment or
 * the env file).  SIGTERM or SIGINT: close every client with 1001 and
 * exit within LIM_FH_SHUTDOWN_MS.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "fh.h"
#include "log.h"
#include "util.h"

#define FH_EVENTS	256	/* epoll events per wait */
#define FH_PAUSE_MS	100	/* accept() pause after EMFILE */

/* ---- epoll ------------------------------------------------------------ */

int
fh_watch_add(struct fh *fh, int fd, uint32_t events, struct fh_watch *w)
{
	struct epoll_event	ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = w;
	if (epoll_ctl(fh->ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
		log_error("%s: epoll_ctl: %s", __func__, strerror(errno));
		return -1;
	}
	return 0;
}

int
fh_watch_mod(struct fh *fh, int fd, uint32_t events, struct fh_watch *w)
{
	struct epoll_event	ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = w;
	if (epoll_ctl(fh->ep, EPOLL_CTL_MOD, fd, &ev) == -1) {
		log_error("%s: epoll_ctl: %s", __func__, strerror(errno));
		return -1;
	}
	return 0;
}

void
fh_watch_del(struct fh *fh, int fd)
{
	(void)epoll_ctl(fh->ep, EPOLL_CTL_DEL, fd, NULL);
}

void
fh_pause_accept(struct fh *fh)
{
	if (fh->listen_fd == -1 || fh->accept_resume_ms != 0)
		return;
	if (fh_watch_mod(fh, fh->listen_fd, 0, &fh->listen_w) == 0)
		fh->accept_resume_ms = util_now_ms() + FH_PAUSE_MS;
}

/* ---- start-up ------------------------------------------------------------ */

static void
usage(void)
{
	fprintf(stderr, "usage: pds-firehose [--env-file FILE] "
	    "[--listen HOST:PORT | unix:PATH]\n");
	exit(2);
}

/* Binds and listens on spec: "unix:PATH", "HOST:PORT" or "[V6]:PORT". */
static int
fh_listen(const char *spec)
{
	struct addrinfo		 hints, *res = NULL;
	struct sockaddr_un	 sun;
	const char		*colon;
	char			 host[256];
	int			 fd = -1, one = 1, rc;
	int64_t			 port;
	size_t			 hl;

	if (strncmp(spec, "unix:", 5) == 0) {
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		if (strlen(spec + 5) >= sizeof(sun.sun_path))
			log_fatal("listen %s: path too long", spec);
		memcpy(sun.sun_path, spec + 5, strlen(spec + 5));
		(void)unlink(sun.sun_path);
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0)) == -1 ||
		    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
		    chmod(sun.sun_path, 0666) == -1 ||
		    listen(fd, SOMAXCONN) == -1)
			log_fatal("listen %s: %s", spec, strerror(errno));
		return fd;
	}
	if ((colon = strrchr(spec, ':')) == NULL ||
	    util_int_parse_str(colon + 1, 0, 65535, &port) == -1)
		log_fatal("listen %s: expected HOST:PORT or unix:PATH", spec);
	hl = (size_t)(colon - spec);
	if (hl >= 2 && spec[0] == '[' && spec[hl - 1] == ']') {
		spec++;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof(host))
		log_fatal("listen %s: bad host", spec);
	memcpy(host, spec, hl);
	host[hl] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, colon + 1, &hints, &res)) != 0)
		log_fatal("listen %s: %s", spec, gai_strerror(rc));
	if ((fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ==
	    -1 || bind(fd, res->ai_addr, res->ai_addrlen) == -1 ||
	    listen(fd, SOMAXCONN) == -1)
		log_fatal("listen %s: %s", spec, strerror(errno));
	freeaddrinfo(res);
	return fd;
}

struct fh_envq {
	const char	*key;
	char		*val;	/* heap copy of the last assignment */
};

static int
fh_env_cb(void *arg, const char *key, size_t keylen, const char *val,
    size_t vallen, size_t lineno)
{
	struct fh_envq	*q = arg;

	(void)lineno;
	if (keylen == strlen(q->key) && memcmp(key, q->key, keylen) == 0) {
		free(q->val);
		q->val = strndup(val, vallen);
	}
	return 0;
}

/* A setting config.h does not carry: the environment, else the env file
 * (the same precedence as config_load()).  Returns a heap string or
 * NULL when unset. */
static char *
fh_setting(const char *env_file, const char *key)
{
	struct fh_envq	 q = { key, NULL };
	const char	*e;
	char		*p = NULL, err[128];
	long		 n;
	FILE		*f;

	if ((e = getenv(key)) != NULL)
		return *e != '\0' ? strdup(e) : NULL;
	if (env_file == NULL && (env_file = getenv("PDS_ENV_FILE")) == NULL)
		return NULL;
	if ((f = fopen(env_file, "r")) == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    (size_t)n <= LIM_ENV_FILE_BYTES && fseek(f, 0, SEEK_SET) == 0 &&
	    (p = malloc((size_t)n + 1)) != NULL &&
	    fread(p, 1, (size_t)n, f) == (size_t)n)
		(void)config_env_parse(p, (size_t)n, fh_env_cb, &q, err,
		    sizeof(err));
	fclose(f);
	free(p);
	if (q.val != NULL && q.val[0] == '\0') {
		free(q.val);
		q.val = NULL;
	}
	return q.val;
}

/* Splits the database path into directory and file name (inotify). */
static void
fh_db_names(struct fh *fh)
{
	const char	*slash = strrchr(fh->db_path, '/');

	if (slash == NULL) {
		fh->db_dir = strdup(".");
		fh->db_name = strdup(fh->db_path);
	} else {
		fh->db_dir = slash == fh->db_path ? strdup("/") :
		    strndup(fh->db_path, (size_t)(slash - fh->db_path));
		fh->db_name = strdup(slash + 1);
	}
	if (fh->db_dir == NULL || fh->db_name == NULL)
		log_fatal("out of memory");
}

static void
fh_settings(struct fh *fh, const struct pds_config *cfg,
    const char *env_file)
{
	char		*v;
	int64_t		 n;
	struct rlimit	 rl;

	if (cfg->sequencer_db == NULL)
		log_fatal("no sequencer database: set PDS_DATA_DIRECTORY or "
		    "PDS_SEQUENCER_DB_LOCATION");
	if ((fh->db_path = strdup(cfg->sequencer_db)) == NULL)
		log_fatal("out of memory");
	fh_db_names(fh);
	n = cfg->max_sub_buffer;
	fh->max_buffer = (size_t)(n < 1 ? 1 : n > LIM_FH_BUFFER_MAX ?
	    LIM_FH_BUFFER_MAX : n);
	fh->backfill_ms = cfg->backfill_limit_ms < 0 ? 0 :
	    cfg->backfill_limit_ms;
	fh->max_conns = LIM_FH_CONNS_DEFAULT;
	if ((v = fh_setting(env_file, "PDS_FIREHOSE_MAX_CONNECTIONS")) !=
	    NULL) {
		if (util_int_parse_str(v, 1, LIM_FH_CONNS_MAX, &n) == -1)
			log_fatal("PDS_FIREHOSE_MAX_CONNECTIONS: expected an "
			    "integer from 1 to %d", LIM_FH_CONNS_MAX);
		fh->max_conns = (size_t)n;
		free(v);
	}
	/* One descriptor per connection plus our own few. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		if (rl.rlim_cur < fh->max_conns + 64) {
			rl.rlim_cur = rl.rlim_max < fh->max_conns + 64 ?
			    rl.rlim_max : fh->max_conns + 64;
			(void)setrlimit(RLIMIT_NOFILE, &rl);
		}
		if (rl.rlim_cur < fh->max_conns + 64) {
			log_warn("open files limit %llu: at most %llu "
			    "connections", (unsigned long long)rl.rlim_cur,
			    (unsigned long long)rl.rlim_cur - 64);
			fh->max_conns = rl.rlim_cur > 128 ?
			    (size_t)rl.rlim_cur - 64 : 64;
		}
	}
}

static void
fh_signals(struct fh *fh)
{
	sigset_t	set;

	(void)signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1 ||
	    (fh->sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) ==
	    -1)
		log_fatal("signalfd: %s", strerror(errno));
	fh->sig_w.kind = FH_SIGNAL;
	if (fh_watch_add(fh, fh->sig_fd, EPOLLIN, &fh->sig_w) == -1)
		log_fatal("cannot watch signals");
}

/* ---- the loop --------------------------------------------------------------- */

static void
fh_shutdown(struct fh *fh)
{
	if (fh->shutting_down)
		return;
	fh->shutting_down = 1;
	fh->shutdown_ms = util_now_ms() + LIM_FH_SHUTDOWN_MS;
	if (fh->listen_fd != -1) {
		fh_watch_del(fh, fh->listen_fd);
		close(fh->listen_fd);
		fh->listen_fd = -1;
	}
	log_info("shutting down: closing %zu client(s)", fh->nws);
	conn_shutdown(fh);
}

static void
fh_signal(struct fh *fh)
{
	struct signalfd_siginfo	si;

	while (read(fh->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP)
			log_info("SIGHUP: nothing to reload (seq %lld, %zu "
			    "clients)", (long long)fh->live_seq, fh->nws);
		else
			fh_shutdown(fh);
	}
}

/* Milliseconds epoll may sleep: until the earliest timer. */
static int
fh_timeout(struct fh *fh, int64_t now)
{
	int64_t	t = fh->next_poll_ms, x;

	if (fh->pages != NULL || fh->dirty != NULL || fh->more_rows)
		return 0;
	if (fh->recheck_ms != 0 && fh->recheck_ms < t)
		t = fh->recheck_ms;
	if ((x = crawl_next_ms(fh)) < t)
		t = x;
	if (fh->accept_resume_ms != 0 && fh->accept_resume_ms < t)
		t = fh->accept_resume_ms;
	if (fh->shutting_down && fh->shutdown_ms < t)
		t = fh->shutdown_ms;
	if (t <= now)
		return 0;
	return t - now > LIM_FH_POLL_MS ? LIM_FH_POLL_MS : (int)(t - now);
}

/* New rows: read them when told, when the poll is due, or on the
 * re-check after an inotify wake that found nothing yet. */
static void
fh_tail(struct fh *fh, int64_t now, int told, int ino)
{
	int	recheck = fh->recheck_ms != 0 && now >= fh->recheck_ms;
	long	got;

	if (!told && !ino && !recheck && !fh->more_rows &&
	    now < fh->next_poll_ms)
		return;
	got = hub_tail(fh);
	fh->next_poll_ms = now + LIM_FH_POLL_MS;
	if (recheck)
		fh->recheck_ms = 0;
	else if (ino && !told && got == 0)
		fh->recheck_ms = now + LIM_FH_RECHECK_MS;
	if (got > 0)
		crawl_poke(fh);
}

static void
fh_dispatch(struct fh *fh, struct epoll_event *ev, int *told, int *ino)
{
	struct fh_watch	*w = ev->data.ptr;

	switch (w->kind) {
	case FH_LISTEN:
		conn_accept(fh);
		break;
	case FH_CONN:
		conn_event(fh, (struct fh_conn *)(void *)w, ev->events);
		break;
	case FH_WAKE:
		*told |= wake_drain(fh, FH_WAKE);
		break;
	case FH_INOTIFY:
		*ino |= wake_drain(fh, FH_INOTIFY);
		break;
	case FH_SIGNAL:
		fh_signal(fh);
		break;
	case FH_CURL:
		crawl_socket(fh, w, ev->events);
		break;
	default:
		break;
	}
}

static void
fh_loop(struct fh *fh)
{
	struct epoll_event	evs[FH_EVENTS];
	int64_t			now, next_sweep = 0;
	int			n, i, told, ino;

	for (;;) {
		n = epoll_wait(fh->ep, evs, FH_EVENTS,
		    fh_timeout(fh, util_now_ms()));
		if (n == -1 && errno != EINTR)
			log_fatal("epoll_wait: %s", strerror(errno));
		told = ino = 0;
		for (i = 0; i < n; i++)
			fh_dispatch(fh, &evs[i], &told, &ino);
		now = util_now_ms();
		fh_tail(fh, now, told, ino);
		conn_flush_dirty(fh);
		hub_run_pages(fh);
		conn_flush_dirty(fh);
		crawl_timer(fh, now);
		if (now >= next_sweep) {
			conn_sweep(fh, now);
			next_sweep = now + 1000;
		}
		if (fh->accept_resume_ms != 0 && now >= fh->accept_resume_ms &&
		    fh->listen_fd != -1 && fh_watch_mod(fh, fh->listen_fd,
		    EPOLLIN, &fh->listen_w) == 0)
			fh->accept_resume_ms = 0;
		conn_reap(fh);
		if (fh->shutting_down && (fh->nconns == 0 ||
		    now >= fh->shutdown_ms))
			break;
	}
}

int
main(int argc, char *argv[])
{
	static const struct option	 opts[] = {
		{ "env-file", required_argument, NULL, 'e' },
		{ "listen", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	static struct fh		 fh;
	struct pds_config		*cfg = NULL;
	const char			*env_file = NULL, *listen_spec = NULL;
	char				 err[256];
	int				 ch;

	log_init("pds-firehose", LOG_LVL_INFO);
	while ((ch = getopt_long(argc, argv, "e:l:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'e':
			env_file = optarg;
			break;
		case 'l':
			listen_spec = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (config_load(env_file, CONFIG_NO_SECRETS, &cfg, err,
	    sizeof(err)) == -1)
		log_fatal("configuration: %s", err);
	fh_settings(&fh, cfg, env_file);
	if (listen_spec == NULL)
		listen_spec = cfg->firehose_listen;
	if ((fh.ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		log_fatal("epoll_create1: %s", strerror(errno));
	fh_signals(&fh);
	fh.listen_fd = fh_listen(listen_spec);
	fh.listen_w.kind = FH_LISTEN;
	if (fh_watch_add(&fh, fh.listen_fd, EPOLLIN, &fh.listen_w) == -1)
		log_fatal("cannot watch the listener");
	arena_init(&fh.scratch);
	buf_init(&fh.enc, LIM_CBOR_TOTAL + 4096);
	fh.db_was_missing = access(fh.db_path, F_OK) == -1;
	if (hub_open(&fh) == -1)
		log_warn("%s: not readable yet; retrying every %d ms",
		    fh.db_path, LIM_FH_POLL_MS);
	wake_init(&fh);
	if (crawl_init(&fh, cfg) == -1)
		log_warn("crawler notifications are off");
	crawl_poke(&fh);
	log_info("listening on %s: %s, buffer %zu events, backfill %lld ms, "
	    "max %zu connections", listen_spec, fh.db_path, fh.max_buffer,
	    (long long)fh.backfill_ms, fh.max_conns);
	fh_loop(&fh);
	conn_free_all(&fh);
	hub_close(&fh);
	wake_fini(&fh);
	crawl_fini(&fh);
	arena_free(&fh.scratch);
	buf_free(&fh.enc);
	close(fh.sig_fd);
	close(fh.ep);
	log_info("stopped: %llu events broadcast",
	    (unsigned long long)fh.broadcast);
	free(fh.db_path);
	free(fh.db_dir);
	free(fh.db_name);
	config_free(cfg);
	return 0;
}
