/*
 * server.h: private header of the pds-fcgi program (fcgi/server),
 * prototypes grouped by file.  The contract with the web server and the
 * service manager is documented at the top of main.c.
 */
#ifndef PDS_SERVER_H
#define PDS_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* listen.c */
struct listen_sock {
	int	 fd;		/* the FastCGI listening socket */
	char	*unix_path;	/* a unix socket we created (removed by
				 * listen_close), or NULL */
	const char *origin;	/* "--listen", "PDS_FCGI_LISTEN", "systemd",
				 * "inherited" (static) */
};
/* Finds the listening socket, first match: spec (from --listen) or
 * cfg->fcgi_listen ("unix:PATH" or "HOST:PORT"), systemd socket
 * activation (LISTEN_FDS=1, LISTEN_PID = our pid: fd 3), an inherited
 * FastCGI socket on fd 0 (spawn-fcgi).  Returns 0 and fills *out, or -1
 * with a one-line reason in err. */
int	listen_open(const struct pds_config *cfg, const char *spec,
	    struct listen_sock *out, char *err, size_t errsz);
/* Closes the socket and removes a unix socket file we created.  Only the
 * process that called listen_open() calls this. */
void	listen_close(struct listen_sock *);

/* worker.c */
/* Creates and migrates account.sqlite and sequencer.sqlite before
 * workers are forked.
 * Returns 0, or -1 (logged; the workers open and migrate it later). */
int	worker_prepare(const struct pds_config *cfg);
/* Serves FastCGI requests on listen_fd until SIGTERM/SIGINT, finishing
 * the request in flight first.  from_master: this process was forked by
 * the pre-fork master (dies with it).  Returns the exit status. */
int	worker_run(const struct pds_config *cfg, int listen_fd,
	    int from_master);

/* prefork.c */
struct prefork_opts {
	struct pds_config	*cfg;		/* owned; replaced on SIGHUP */
	const char		*env_file;	/* --env-file, or NULL */
	int64_t			 workers;	/* --workers, or 0 */
	int			 listen_fd;
};
/* The master: forks the workers, respawns the dead with backoff,
 * re-reads the configuration on SIGHUP and replaces workers one by one,
 * drains them on SIGTERM/SIGINT.  Returns the exit status (0 after a
 * clean shutdown).  Frees o->cfg. */
int	prefork_run(struct prefork_opts *o);

#endif /* PDS_SERVER_H */
