/*
 * worker.c: one pds-fcgi worker: per-process setup, then the libfcgi
 * accept loop, one request at a time, each through xrpc_dispatch().
 *
 * Shutdown (SIGTERM/SIGINT): the handler only sets a flag and writes a
 * byte to a self-pipe.  While idle the worker sits in poll() on the
 * listening socket and the pipe, so it notices at once; the accept itself
 * is made with FCGI_FAIL_ACCEPT_ON_INTR and a handler without SA_RESTART,
 * so a worker that lost the race for a connection and blocks in accept()
 * is interrupted too (the master repeats SIGTERM during a drain to cover
 * the instant between poll() and accept()).  While a request is in
 * flight both signals are blocked, so no read or write of that request
 * is interrupted: it finishes, then the worker exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <fcgiapp.h>

#include "arena.h"
#include "buf.h"
#include "accountdb.h"
#include "db.h"
#include "log.h"
#include "seqdb.h"
#include "server.h"
#include "util.h"
#include "xrpc.h"

static volatile sig_atomic_t	worker_stop;
static int			worker_pipe[2] = { -1, -1 };

static void
worker_on_signal(int sig)
{
	int	saved = errno;

	(void)sig;
	worker_stop = 1;
	if (worker_pipe[1] >= 0)
		(void)!write(worker_pipe[1], "x", 1);
	errno = saved;
}

static int
worker_signals(int from_master)
{
	struct sigaction	sa;

	if (pipe2(worker_pipe, O_CLOEXEC | O_NONBLOCK) == -1) {
		log_error("%s: pipe: %s", __func__, strerror(errno));
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = worker_on_signal;	/* no SA_RESTART: see above */
	if (sigaction(SIGTERM, &sa, NULL) == -1 ||
	    sigaction(SIGINT, &sa, NULL) == -1)
		return -1;
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) == -1 ||
	    sigaction(SIGHUP, &sa, NULL) == -1 ||
	    sigaction(SIGUSR1, &sa, NULL) == -1)
		return -1;
	sa.sa_handler = SIG_DFL;
	(void)sigaction(SIGCHLD, &sa, NULL);
#ifdef __linux__
	/* Orphaned workers drain and go when the master dies. */
	if (from_master && prctl(PR_SET_PDEATHSIG, SIGTERM) == -1)
		log_warn("%s: PR_SET_PDEATHSIG: %s", __func__, strerror(errno));
#endif
	if (from_master && getppid() == 1)
		worker_stop = 1;	/* the master died before the prctl */
	return 0;
}

static void
worker_block(int how)
{
	sigset_t	set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	(void)sigprocmask(how, &set, NULL);
}

/* Waits until fd (the listening socket, or a kept-alive web server
 * connection) is readable.  Returns 1 when it is, 0 on a wake-up or
 * signal (check worker_stop), -1 on error. */
static int
worker_wait(int fd)
{
	struct pollfd	pfd[2];
	char		drain[64];

	pfd[0].fd = fd;
	pfd[0].events = POLLIN;
	pfd[1].fd = worker_pipe[0];
	pfd[1].events = POLLIN;
	if (worker_stop)
		return 0;
	if (poll(pfd, 2, -1) == -1)
		return errno == EINTR ? 0 : -1;
	if (pfd[1].revents & POLLIN)
		while (read(worker_pipe[0], drain, sizeof(drain)) > 0)
			;
	return (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) ? 1 : 0;
}

static void
worker_pause_ms(long ms)
{
	struct timespec	ts = { 0, ms * 1000000L };

	(void)nanosleep(&ts, NULL);
}

static void
worker_open_dbs(struct xrpc_server *srv, const struct pds_config *cfg)
{
	int	flags = DB_FOREIGN_KEYS;

	if (cfg->wal_autockpt_off)
		flags |= DB_WAL_NOAUTO;
	/* Without it /xrpc/_health answers 503 and account routes fail;
	 * the worker keeps serving what it can. */
	if (db_open(cfg->account_db, flags, &srv->account) == -1)
		log_error("%s: account database unavailable", __func__);
}

int
worker_prepare(const struct pds_config *cfg)
{
	struct db	*db = NULL;
	struct seqdb	*seq = NULL;
	int		 rc = 0, flags = DB_FOREIGN_KEYS;

	if (cfg->wal_autockpt_off)
		flags |= DB_WAL_NOAUTO;
	/* Creating the file, switching it to WAL and running the migrations
	 * once here means freshly forked workers never race each other for
	 * a brand-new database. */
	if (db_open(cfg->account_db, flags, &db) == -1 ||
	    accountdb_migrate(db) == -1) {
		log_error("%s: cannot prepare %s; the workers will retry",
		    __func__, cfg->account_db);
		rc = -1;
	}
	db_close(db);
	/* sequencer.sqlite likewise: every worker's first write would
	 * otherwise create it at the same moment. */
	if (cfg->sequencer_db != NULL &&
	    seqdb_open(cfg->sequencer_db, SEQDB_CREATE |
	    (cfg->wal_autockpt_off ? SEQDB_WAL_NOAUTO : 0), &seq) == -1) {
		log_error("%s: cannot prepare %s; the workers will retry",
		    __func__, cfg->sequencer_db);
		rc = -1;
	}
	seqdb_close(seq);
	return rc;
}

/* The accept loop proper. */
static int
worker_loop(struct xrpc_server *srv, int listen_fd)
{
	FCGX_Request	 req;
	struct arena	 a;
	struct buf	 body;
	int		 rc, fd;
	int64_t		 last_open = util_mono_us();

	if (FCGX_InitRequest(&req, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
		log_error("%s: FCGX_InitRequest failed", __func__);
		return 1;
	}
	arena_init(&a);
	buf_init(&body, LIM_RESPONSE_BUF);
	while (!worker_stop) {
		/* A connection kept open by the web server (fastcgi_keep_conn)
		 * carries the next request; libfcgi exposes its fd. */
		fd = req.ipcFd >= 0 ? req.ipcFd : listen_fd;
		if ((rc = worker_wait(fd)) == -1) {
			log_error("%s: poll: %s", __func__, strerror(errno));
			break;
		}
		if (rc == 0 || worker_stop)
			continue;
		if ((rc = FCGX_Accept_r(&req)) < 0) {
			if (worker_stop || rc == -EINTR)
				continue;
			log_error("%s: accept failed (%d)", __func__, rc);
			worker_pause_ms(100);	/* EMFILE and friends */
			continue;
		}
		worker_block(SIG_BLOCK);
		/* A database that could not be opened at start (locked, not
		 * yet created, disk full) is tried again, at most once a
		 * second, instead of failing this worker's requests for good. */
		if (srv->account == NULL && util_mono_us() - last_open >=
		    LIM_DB_REOPEN_US) {
			last_open = util_mono_us();
			worker_open_dbs(srv, srv->cfg);
		}
		xrpc_dispatch(srv, &req, &a, &body);
		FCGX_Finish_r(&req);
		worker_block(SIG_UNBLOCK);
	}
	FCGX_Free(&req, 1);
	buf_free(&body);
	arena_free(&a);
	return 0;
}

int
worker_run(const struct pds_config *cfg, int listen_fd, int from_master)
{
	struct xrpc_server	srv;
	int			rc;

	memset(&srv, 0, sizeof(srv));
	srv.cfg = cfg;
	if (worker_signals(from_master) == -1) {
		log_error("%s: cannot set up signals", __func__);
		return 1;
	}
	if (FCGX_Init() != 0) {
		log_error("%s: FCGX_Init failed", __func__);
		return 1;
	}
	if (xrpc_routes_check() == -1)
		return 1;
	worker_open_dbs(&srv, cfg);
	log_info("worker ready");
	rc = worker_loop(&srv, listen_fd);
	log_info("worker exiting after %llu requests",
	    (unsigned long long)srv.requests);
	db_close(srv.account);
	close(worker_pipe[0]);
	close(worker_pipe[1]);
	worker_pipe[0] = worker_pipe[1] = -1;
	return rc;
}
