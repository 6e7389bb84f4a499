/*
 * prefork.c: the pds-fcgi master process.
 *
 * Forks the workers on the shared listening socket and then only reacts:
 * a dead worker is replaced (a worker that lived less than
 * LIM_RESPAWN_FAST_MS failed to start: starts back off exponentially from
 * LIM_RESPAWN_BACKOFF_MS to LIM_RESPAWN_MAX_MS, so a broken setup never
 * becomes a fork storm); SIGHUP re-reads the configuration and, when it
 * is valid, replaces the workers one by one (start a new one, then TERM
 * an old one and wait for it); SIGTERM/SIGINT drain: every worker
 * finishes its request and exits, stragglers are re-signalled every
 * LIM_RESIGNAL_MS and killed after LIM_DRAIN_MS.
 *
 * Before the first fork (and again after a reload) the master maps the
 * data directory's TID state, so that every worker inherits it
 * (storectx_tid_init(), tid.h).
 *
 * Signal handlers only set flags and poke a self-pipe; all the work is
 * done in the loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "pds_limits.h"
#include "server.h"
#include "storectx.h"
#include "util.h"

#define PF_SLOTS	(2 * LIM_WORKERS_MAX)	/* old + new during a reload */

struct pf_slot {
	pid_t		pid;		/* 0: free */
	int64_t		started_ms;
	unsigned	gen;		/* configuration generation */
	int		term_sent;	/* we asked it to go */
};

struct pf_state {
	struct prefork_opts	*o;
	struct pf_slot		 slot[PF_SLOTS];
	unsigned		 gen;
	int64_t			 target;	/* workers wanted */
	int			 fail_streak;	/* failed starts in a row */
	int64_t			 next_spawn_ms;	/* no start before this */
	int			 rolling;	/* replacing old workers */
	int64_t			 replaced;	/* old workers gone so far */
	pid_t			 awaited;	/* old worker we TERMed */
	int			 stopping;
	int64_t			 stop_ms;	/* when the drain began */
	int64_t			 resignal_ms;	/* next SIGTERM repeat */
};

static volatile sig_atomic_t	pf_stop, pf_reload, pf_child;
static int			pf_pipe[2] = { -1, -1 };

static void
pf_on_signal(int sig)
{
	int	saved = errno;

	if (sig == SIGHUP)
		pf_reload = 1;
	else if (sig == SIGCHLD)
		pf_child = 1;
	else
		pf_stop = 1;
	if (pf_pipe[1] >= 0)
		(void)!write(pf_pipe[1], "x", 1);
	errno = saved;
}

static int
pf_signals(void)
{
	struct sigaction	sa;

	if (pipe2(pf_pipe, O_CLOEXEC | O_NONBLOCK) == -1)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = pf_on_signal;
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	if (sigaction(SIGTERM, &sa, NULL) == -1 ||
	    sigaction(SIGINT, &sa, NULL) == -1 ||
	    sigaction(SIGHUP, &sa, NULL) == -1 ||
	    sigaction(SIGCHLD, &sa, NULL) == -1)
		return -1;
	sa.sa_handler = SIG_IGN;
	sa.sa_flags = 0;
	return sigaction(SIGPIPE, &sa, NULL);
}

/* ---- workers ------------------------------------------------------------ */

static size_t
pf_count(const struct pf_state *s, int current)
{
	size_t	i, n = 0;

	for (i = 0; i < PF_SLOTS; i++)
		if (s->slot[i].pid != 0 && !s->slot[i].term_sent &&
		    (s->slot[i].gen == s->gen) == current)
			n++;
	return n;
}

static size_t
pf_live(const struct pf_state *s)
{
	size_t	i, n = 0;

	for (i = 0; i < PF_SLOTS; i++)
		if (s->slot[i].pid != 0)
			n++;
	return n;
}

/* A worker of the current generation died young.  Deaths inside the
 * same back-off window count once (a crash that takes every worker down
 * at the same moment is one failure). */
static void
pf_failed_start(struct pf_state *s, int64_t now)
{
	int64_t	delay = LIM_RESPAWN_BACKOFF_MS;
	int	i;

	if (s->fail_streak > 0 && now < s->next_spawn_ms)
		return;
	s->fail_streak++;
	for (i = 1; i < s->fail_streak && delay < LIM_RESPAWN_MAX_MS; i++)
		delay *= 2;
	if (delay > LIM_RESPAWN_MAX_MS)
		delay = LIM_RESPAWN_MAX_MS;
	s->next_spawn_ms = now + delay;
	log_warn("master: worker failed to start (%d in a row); next start "
	    "in %lld ms", s->fail_streak, (long long)delay);
}

/* A current worker younger than LIM_RESPAWN_FAST_MS, or NULL. */
static const struct pf_slot *
pf_young(const struct pf_state *s, int64_t now)
{
	size_t	i;

	for (i = 0; i < PF_SLOTS; i++)
		if (s->slot[i].pid != 0 && s->slot[i].gen == s->gen &&
		    !s->slot[i].term_sent &&
		    now - s->slot[i].started_ms < LIM_RESPAWN_FAST_MS)
			return &s->slot[i];
	return NULL;
}

static void
pf_spawn(struct pf_state *s)
{
	struct pf_slot	*sl = NULL;
	pid_t		 pid;
	size_t		 i;
	int		 rc;

	for (i = 0; i < PF_SLOTS && sl == NULL; i++)
		if (s->slot[i].pid == 0)
			sl = &s->slot[i];
	if (sl == NULL)
		return;
	if ((pid = fork()) == -1) {
		log_error("master: fork: %s", strerror(errno));
		pf_failed_start(s, util_now_ms());
		return;
	}
	if (pid == 0) {
		close(pf_pipe[0]);
		close(pf_pipe[1]);
		pf_pipe[0] = pf_pipe[1] = -1;
		rc = worker_run(s->o->cfg, s->o->listen_fd, 1);
		_exit(rc);
	}
	sl->pid = pid;
	sl->started_ms = util_now_ms();
	sl->gen = s->gen;
	sl->term_sent = 0;
}

static void
pf_term(struct pf_slot *sl)
{
	if (kill(sl->pid, SIGTERM) == -1 && errno != ESRCH)
		log_warn("master: kill %d: %s", (int)sl->pid, strerror(errno));
	sl->term_sent = 1;
}

static void
pf_log_exit(pid_t pid, int status, int64_t lived)
{
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		log_info("master: worker %d exited after %lld ms", (int)pid,
		    (long long)lived);
	else if (WIFEXITED(status))
		log_warn("master: worker %d exited with status %d after %lld "
		    "ms", (int)pid, WEXITSTATUS(status), (long long)lived);
	else if (WIFSIGNALED(status))
		log_warn("master: worker %d killed by signal %d after %lld ms",
		    (int)pid, WTERMSIG(status), (long long)lived);
}

static void
pf_reap(struct pf_state *s)
{
	struct pf_slot	*sl;
	int64_t		 now, lived;
	pid_t		 pid;
	size_t		 i;
	int		 status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		now = util_now_ms();
		for (i = 0, sl = NULL; i < PF_SLOTS; i++)
			if (s->slot[i].pid == pid)
				sl = &s->slot[i];
		if (sl == NULL)
			continue;
		lived = now - sl->started_ms;
		pf_log_exit(pid, status, lived);
		if (!s->stopping && !sl->term_sent && sl->gen == s->gen) {
			if (lived < LIM_RESPAWN_FAST_MS)
				pf_failed_start(s, now);
			else
				s->fail_streak = 0;
		}
		if (pid == s->awaited) {
			s->awaited = 0;
			s->replaced++;
		}
		memset(sl, 0, sizeof(*sl));
	}
}

/* ---- reload -------------------------------------------------------------- */

static void
pf_reload_config(struct pf_state *s)
{
	struct pds_config	*c = NULL;
	char			 err[512];

	if (config_load(s->o->env_file, 0, &c, err, sizeof(err)) == -1) {
		log_error("master: reload refused, keeping the running "
		    "workers: %s", err);
		return;
	}
	if ((c->fcgi_listen == NULL) != (s->o->cfg->fcgi_listen == NULL) ||
	    (c->fcgi_listen != NULL &&
	    strcmp(c->fcgi_listen, s->o->cfg->fcgi_listen) != 0))
		log_warn("master: PDS_FCGI_LISTEN changed; the socket changes "
		    "only on restart");
	config_free(s->o->cfg);
	s->o->cfg = c;
	(void)storectx_tid_init(c);	/* for the workers forked from now */
	s->gen++;
	s->target = s->o->workers > 0 ? s->o->workers : c->workers;
	s->rolling = 1;
	s->replaced = 0;
	s->fail_streak = 0;
	s->next_spawn_ms = 0;
	log_info("master: configuration reloaded; replacing workers one by "
	    "one (%lld wanted)", (long long)s->target);
}

/* One step of the rolling replacement: start a new worker, then TERM an
 * old one and wait for it before the next. */
static void
pf_roll(struct pf_state *s, int64_t now)
{
	struct pf_slot	*old = NULL;
	int64_t		 allowed;
	size_t		 i;

	if (pf_count(s, 0) == 0 && s->awaited == 0) {
		s->rolling = 0;
		log_info("master: all workers replaced");
		return;
	}
	allowed = s->replaced + 1 < s->target ? s->replaced + 1 : s->target;
	if ((int64_t)pf_count(s, 1) < allowed) {
		if (now >= s->next_spawn_ms)
			pf_spawn(s);
		return;
	}
	if (s->awaited != 0)
		return;
	for (i = 0; i < PF_SLOTS && old == NULL; i++)
		if (s->slot[i].pid != 0 && !s->slot[i].term_sent &&
		    s->slot[i].gen != s->gen)
			old = &s->slot[i];
	if (old != NULL) {
		pf_term(old);
		s->awaited = old->pid;
	}
}

/* ---- the loop -------------------------------------------------------------- */

static void
pf_begin_stop(struct pf_state *s, int64_t now)
{
	size_t	i;

	s->stopping = 1;
	s->stop_ms = now;
	s->resignal_ms = now + LIM_RESIGNAL_MS;
	log_info("master: shutting down, draining %zu worker(s)", pf_live(s));
	for (i = 0; i < PF_SLOTS; i++)
		if (s->slot[i].pid != 0)
			pf_term(&s->slot[i]);
}

static void
pf_drain_step(struct pf_state *s, int64_t now)
{
	size_t	i;
	int	sig = 0;

	if (now - s->stop_ms >= LIM_DRAIN_MS)
		sig = SIGKILL;
	else if (now >= s->resignal_ms) {
		/* Covers a worker caught between poll() and accept(). */
		sig = SIGTERM;
		s->resignal_ms = now + LIM_RESIGNAL_MS;
	}
	if (sig == 0)
		return;
	for (i = 0; i < PF_SLOTS; i++)
		if (s->slot[i].pid != 0) {
			if (sig == SIGKILL)
				log_warn("master: worker %d did not finish in "
				    "%d ms, killing it", (int)s->slot[i].pid,
				    LIM_DRAIN_MS);
			(void)kill(s->slot[i].pid, sig);
		}
}

/* Keeps target workers running.  After failed starts, one worker at a
 * time is started as a probe; once it has lived LIM_RESPAWN_FAST_MS the
 * streak is over and the rest follow. */
static void
pf_maintain(struct pf_state *s, int64_t now)
{
	size_t	i;

	if (s->fail_streak > 0)
		for (i = 0; i < PF_SLOTS; i++)
			if (s->slot[i].pid != 0 && s->slot[i].gen == s->gen &&
			    now - s->slot[i].started_ms >= LIM_RESPAWN_FAST_MS) {
				log_info("master: workers start again");
				s->fail_streak = 0;
				break;
			}
	while ((int64_t)pf_count(s, 1) < s->target &&
	    now >= s->next_spawn_ms && pf_live(s) < PF_SLOTS) {
		if (s->fail_streak > 0 && pf_young(s, now) != NULL)
			break;
		pf_spawn(s);
		if (s->fail_streak > 0)
			break;
	}
}

/* How long poll() may sleep. */
static int
pf_timeout(const struct pf_state *s, int64_t now)
{
	const struct pf_slot	*y;
	int64_t			 t = 1000;

	if (s->stopping)
		t = s->resignal_ms - now;
	else if (s->fail_streak > 0 && (y = pf_young(s, now)) != NULL)
		t = y->started_ms + LIM_RESPAWN_FAST_MS - now;
	else if ((int64_t)pf_count(s, 1) < s->target || s->rolling)
		t = s->next_spawn_ms > now ? s->next_spawn_ms - now : 50;
	if (t < 1)
		t = 1;
	return t > 1000 ? 1000 : (int)t;
}

static void
pf_step(struct pf_state *s, int64_t now)
{
	if (pf_stop && !s->stopping)
		pf_begin_stop(s, now);
	if (s->stopping) {
		pf_drain_step(s, now);
		return;
	}
	if (pf_reload) {
		pf_reload = 0;
		pf_reload_config(s);
	}
	if (s->rolling)
		pf_roll(s, now);
	else
		pf_maintain(s, now);
}

int
prefork_run(struct prefork_opts *o)
{
	struct pf_state	*s;
	struct pollfd	 pfd;
	char		 drain[64];
	int64_t		 now;

	if ((s = calloc(1, sizeof(*s))) == NULL || pf_signals() == -1) {
		log_error("master: cannot set up: %s", strerror(errno));
		free(s);
		return 1;
	}
	s->o = o;
	s->gen = 1;
	s->target = o->workers > 0 ? o->workers : o->cfg->workers;
	(void)storectx_tid_init(o->cfg);	/* inherited by every worker */
	(void)worker_prepare(o->cfg);
	log_info("master: starting %lld worker(s)", (long long)s->target);
	for (;;) {
		now = util_now_ms();
		pf_child = 0;
		pf_reap(s);
		pf_step(s, now);
		if (s->stopping && pf_live(s) == 0)
			break;
		pfd.fd = pf_pipe[0];
		pfd.events = POLLIN;
		if (poll(&pfd, 1, pf_timeout(s, util_now_ms())) > 0)
			while (read(pf_pipe[0], drain, sizeof(drain)) > 0)
				;
	}
	log_info("master: all workers gone, exiting");
	close(pf_pipe[0]);
	close(pf_pipe[1]);
	config_free(o->cfg);
	o->cfg = NULL;
	free(s);
	return 0;
}
