/*
 * listen.c: the FastCGI listening socket of pds-fcgi, from --listen or
 * PDS_FCGI_LISTEN, systemd socket activation, or inherited on fd 0
 * (spawn-fcgi).  See the contract at the top of main.c.
 *
 * A unix: socket is created with the permissions of PDS_FCGI_SOCKET_MODE
 * (0660 by default); a stale socket file is replaced, any other file at
 * the path is refused.  Only the creating process removes it.
 */
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "pds_limits.h"
#include "server.h"
#include "util.h"

#define SD_LISTEN_FDS_START	3	/* sd_listen_fds(3) */

static int __attribute__((format(printf, 3, 4)))
listen_fail(char *err, size_t errsz, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	(void)vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
	return -1;
}

/* Is fd a listening stream socket? */
static int
listen_is_listening(int fd)
{
	int		on = 0, type = 0;
	socklen_t	len = sizeof(on);

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == -1 ||
	    !on)
		return 0;
	len = sizeof(type);
	return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
	    type == SOCK_STREAM;
}

static int
listen_unix(const char *path, int mode, struct listen_sock *out, char *err,
    size_t errsz)
{
	struct sockaddr_un	sun;
	struct stat		st;
	mode_t			old;
	int			fd, rc;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (path[0] == '\0' || strlen(path) >= sizeof(sun.sun_path))
		return listen_fail(err, errsz, "unix socket path too long: %s",
		    path);
	memcpy(sun.sun_path, path, strlen(path));
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return listen_fail(err, errsz, "%s exists and is not a "
			    "socket", path);
		if (unlink(path) == -1)
			return listen_fail(err, errsz, "cannot remove stale "
			    "socket %s: %s", path, strerror(errno));
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return listen_fail(err, errsz, "socket: %s", strerror(errno));
	/* Create it private, then open it up to the configured mode. */
	old = umask(0177);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	(void)umask(old);
	if (rc == -1 || chmod(path, (mode_t)mode) == -1 ||
	    listen(fd, LIM_LISTEN_BACKLOG) == -1) {
		rc = errno;
		close(fd);
		(void)unlink(path);
		return listen_fail(err, errsz, "cannot listen on unix:%s: %s",
		    path, strerror(rc));
	}
	if ((out->unix_path = strdup(path)) == NULL) {
		close(fd);
		(void)unlink(path);
		return listen_fail(err, errsz, "out of memory");
	}
	out->fd = fd;
	return 0;
}

static int
listen_tcp(const char *spec, struct listen_sock *out, char *err,
    size_t errsz)
{
	struct addrinfo	 hints, *res = NULL, *ai;
	char		 host[256];
	const char	*colon, *port, *h = spec;
	size_t		 hl;
	int64_t		 pn;
	int		 fd = -1, on = 1, gai, saved = 0;

	/* HOST:PORT, with [v6]:PORT */
	if ((colon = strrchr(spec, ':')) == NULL)
		return listen_fail(err, errsz, "listen address must be "
		    "unix:PATH or HOST:PORT: %s", spec);
	port = colon + 1;
	hl = (size_t)(colon - spec);
	if (hl >= 2 && spec[0] == '[' && spec[hl - 1] == ']') {
		h = spec + 1;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof(host) ||
	    util_int_parse_str(port, 1, 65535, &pn) == -1)
		return listen_fail(err, errsz, "listen address must be "
		    "unix:PATH or HOST:PORT: %s", spec);
	memcpy(host, h, hl);
	host[hl] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((gai = getaddrinfo(host, port, &hints, &res)) != 0)
		return listen_fail(err, errsz, "cannot resolve %s: %s", host,
		    gai_strerror(gai));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd == -1)
			continue;
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on,
		    sizeof(on)) == 0 &&
		    bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, LIM_LISTEN_BACKLOG) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1)
		return listen_fail(err, errsz, "cannot listen on %s: %s", spec,
		    strerror(saved));
	out->fd = fd;
	return 0;
}

static int
listen_spec(const char *spec, int mode, struct listen_sock *out, char *err,
    size_t errsz)
{
	if (strncmp(spec, "unix:", 5) == 0)
		return listen_unix(spec + 5, mode, out, err, errsz);
	return listen_tcp(spec, out, err, errsz);
}

/* systemd: LISTEN_PID is us and LISTEN_FDS is 1. */
static int
listen_systemd(struct listen_sock *out, char *err, size_t errsz, int *found)
{
	const char	*pid_s = getenv("LISTEN_PID");
	const char	*fds_s = getenv("LISTEN_FDS");
	int64_t		 pid, fds;

	*found = 0;
	if (pid_s == NULL || fds_s == NULL ||
	    util_int_parse_str(pid_s, 1, INT32_MAX, &pid) == -1 ||
	    pid != (int64_t)getpid())
		return 0;
	*found = 1;
	(void)unsetenv("LISTEN_PID");
	(void)unsetenv("LISTEN_FDS");
	(void)unsetenv("LISTEN_FDNAMES");
	if (util_int_parse_str(fds_s, 0, INT32_MAX, &fds) == -1 || fds != 1)
		return listen_fail(err, errsz, "systemd passed LISTEN_FDS=%s; "
		    "pds-fcgi takes exactly one socket", fds_s);
	if (!listen_is_listening(SD_LISTEN_FDS_START))
		return listen_fail(err, errsz, "systemd fd %d is not a "
		    "listening stream socket", SD_LISTEN_FDS_START);
	out->fd = SD_LISTEN_FDS_START;
	out->origin = "systemd";
	return 0;
}

int
listen_open(const struct pds_config *cfg, const char *spec,
    struct listen_sock *out, char *err, size_t errsz)
{
	struct sockaddr_storage	ss;
	socklen_t		len = sizeof(ss);
	int			found;

	memset(out, 0, sizeof(*out));
	out->fd = -1;
	if (spec != NULL || cfg->fcgi_listen != NULL) {
		out->origin = spec != NULL ? "--listen" : "PDS_FCGI_LISTEN";
		return listen_spec(spec != NULL ? spec : cfg->fcgi_listen,
		    cfg->fcgi_socket_mode, out, err, errsz);
	}
	if (listen_systemd(out, err, errsz, &found) == -1)
		return -1;
	if (found)
		return 0;
	/* spawn-fcgi: fd 0 is a listening socket with no peer
	 * (libfcgi's OS_IsFcgi test, plus SO_ACCEPTCONN). */
	if (getpeername(STDIN_FILENO, (struct sockaddr *)&ss, &len) == -1 &&
	    errno == ENOTCONN && listen_is_listening(STDIN_FILENO)) {
		out->fd = STDIN_FILENO;
		out->origin = "inherited";
		return 0;
	}
	return listen_fail(err, errsz, "no FastCGI socket: give --listen "
	    "unix:PATH or HOST:PORT (or PDS_FCGI_LISTEN), use systemd socket "
	    "activation, or start under spawn-fcgi");
}

void
listen_close(struct listen_sock *ls)
{
	if (ls->fd >= 0)
		close(ls->fd);
	ls->fd = -1;
	if (ls->unix_path != NULL && unlink(ls->unix_path) == -1)
		log_warn("%s: cannot remove %s: %s", __func__, ls->unix_path,
		    strerror(errno));
	free(ls->unix_path);
	ls->unix_path = NULL;
}
