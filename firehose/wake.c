/*
 * wake.c: how pds-firehose learns that repo_seq has new rows, without
 * polling fast (near-zero CPU when idle):
 *
 *  1. A unix datagram socket next to the database
 *     (seqdb_wake_path(): "/pds/.sequencer.sqlite.wake").  Writers call
 *     seqdb_notify() after each commit (seqdb_append() and seqdb_commit()
 *     do it for them); the datagram carries nothing, it only wakes us.
 *     Sent after the commit, so the new rows are always visible.
 *  2. inotify on the database's directory, for writers that do not
 *     notify (the reference PDS itself, the sqlite3 shell): a write to
 *     "<db>-wal" or "<db>" wakes us.  The WAL is written just before the
 *     commit becomes visible, so an empty read is retried once after
 *     LIM_FH_RECHECK_MS.
 *  3. A poll every LIM_FH_POLL_MS (main.c), in case both are unavailable
 *     (no permission, inotify limits, a network file system).
 *
 * Each wake costs one indexed query (seq > last) however many signals
 * arrived: the sources are drained first.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fh.h"
#include "log.h"

static void
wake_socket(struct fh *fh)
{
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (seqdb_wake_path(fh->db_path, sun.sun_path,
	    sizeof(sun.sun_path)) == -1) {
		log_warn("%s: %s: path too long for a wake-up socket",
		    __func__, fh->db_path);
		return;
	}
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		log_warn("%s: socket: %s", __func__, strerror(errno));
		return;
	}
	(void)unlink(sun.sun_path);	/* a previous run's */
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    chmod(sun.sun_path, 0660) == -1 ||
	    fh_watch_add(fh, fd, EPOLLIN, &fh->wake_w) == -1) {
		log_warn("%s: %s: %s", __func__, sun.sun_path,
		    strerror(errno));
		close(fd);
		return;
	}
	memcpy(fh->wake_path, sun.sun_path, sizeof(fh->wake_path));
	fh->wake_fd = fd;
}

static void
wake_inotify(struct fh *fh)
{
	int	fd;

	if ((fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1) {
		log_warn("%s: inotify_init1: %s", __func__, strerror(errno));
		return;
	}
	if (inotify_add_watch(fd, fh->db_dir, IN_MODIFY | IN_CREATE |
	    IN_MOVED_TO | IN_CLOSE_WRITE) == -1 ||
	    fh_watch_add(fh, fd, EPOLLIN, &fh->ino_w) == -1) {
		log_warn("%s: %s: %s", __func__, fh->db_dir, strerror(errno));
		close(fd);
		return;
	}
	fh->ino_fd = fd;
}

void
wake_init(struct fh *fh)
{
	fh->wake_w.kind = FH_WAKE;
	fh->ino_w.kind = FH_INOTIFY;
	fh->wake_fd = fh->ino_fd = -1;
	wake_socket(fh);
	wake_inotify(fh);
}

void
wake_fini(struct fh *fh)
{
	if (fh->wake_fd != -1) {
		close(fh->wake_fd);
		(void)unlink(fh->wake_path);
		fh->wake_fd = -1;
	}
	if (fh->ino_fd != -1) {
		close(fh->ino_fd);
		fh->ino_fd = -1;
	}
}

/* Does an inotify event name the database or its WAL? */
static int
wake_name_match(const struct fh *fh, const char *name)
{
	size_t	n = strlen(fh->db_name);

	return strncmp(name, fh->db_name, n) == 0 &&
	    (name[n] == '\0' || strcmp(name + n, "-wal") == 0);
}

int
wake_drain(struct fh *fh, enum fh_kind kind)
{
	char				 b[4096]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event	*ev;
	ssize_t				 n, off;
	int				 hit = 0;

	if (kind == FH_WAKE) {
		while (recv(fh->wake_fd, b, sizeof(b), 0) >= 0)
			hit = 1;
		return hit;
	}
	while ((n = read(fh->ino_fd, b, sizeof(b))) > 0)
		for (off = 0; off < n; off += (ssize_t)(sizeof(*ev) +
		    ev->len)) {
			ev = (const struct inotify_event *)(b + off);
			if (ev->mask & IN_Q_OVERFLOW)
				hit = 1;
			else if (ev->len > 0 && wake_name_match(fh, ev->name))
				hit = 1;
		}
	return hit;
}
