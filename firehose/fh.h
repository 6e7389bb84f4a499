/*
 * fh.h: pds-firehose's private header: the daemon's state and the
 * prototypes of its files, grouped by file.  Prefix fh_ for the daemon,
 * frame_ for shared frames, conn_ for connections, hub_ for the tail and
 * replay, crawl_ for crawler notifications.
 *
 * One process, one thread, one epoll loop (main.c).  Every socket is
 * non-blocking; no call in the loop waits on a client.
 */
#ifndef PDS_FH_H
#define PDS_FH_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "buf.h"
#include "pds_limits.h"
#include "seqdb.h"
#include "ws.h"

struct fh;

/* What an epoll registration points at (the first member of each). */
enum fh_kind {
	FH_LISTEN,
	FH_CONN,
	FH_WAKE,	/* the wake-up datagram socket */
	FH_INOTIFY,
	FH_SIGNAL,	/* signalfd */
	FH_CURL,	/* a socket of a crawler request */
	FH__MAX
};

struct fh_watch {
	enum fh_kind	kind;
};

/* ---- frame.c: encoded frames, shared by every client that sends them -- */

struct fh_frame {
	uint32_t	refs;
	uint8_t		event;		/* counts against the event buffer */
	int64_t		seq;		/* event seq, 0 for other frames */
	size_t		len;
	uint8_t		data[];		/* complete frame bytes on the wire */
};

/* One subscribeRepos message from a repo_seq row: a binary frame holding
 * the header {op: 1, t: "#commit"...} and the stored body with seq and
 * time added, in canonical DAG-CBOR (reference-pds.md d).  scratch and
 * enc are reused working memory.  Returns a frame with one reference, or
 * NULL (logged) when the stored body is not a DAG-CBOR map. */
struct fh_frame	*frame_event_new(const struct seqdb_row *row,
		    struct arena *scratch, struct buf *enc);
/* "#info" message frame {name, message}. */
struct fh_frame	*frame_info_new(const char *name, const char *message);
/* Error frame: header {op: -1}, body {error, message} (message may be
 * NULL: left out, as the reference leaves undefined out). */
struct fh_frame	*frame_error_new(const char *error, const char *message);
/* A close frame (code, reason) or a pong (payload <= 125 bytes). */
struct fh_frame	*frame_close_new(uint16_t code, const char *reason);
struct fh_frame	*frame_pong_new(const uint8_t *payload, size_t len);
/* Raw bytes (an HTTP response). */
struct fh_frame	*frame_raw_new(const void *p, size_t len);
/* Adds a reference and returns f. */
struct fh_frame	*frame_ref(struct fh_frame *f);
/* Drops a reference, freeing at zero; accepts NULL. */
void		 frame_unref(struct fh_frame *f);
/* Bytes held by live frames (for /_health and the tests' bound). */
size_t		 frame_bytes(void);

/* ---- conn.c: one client connection ------------------------------------- */

enum conn_state {
	CS_HTTP,	/* reading the request head */
	CS_REPLY,	/* writing a plain HTTP response, then closing */
	CS_REPLAY,	/* upgraded: catching up from the database */
	CS_LIVE,	/* upgraded: receiving broadcast frames */
	CS_CLOSING,	/* our close frame is queued or sent */
	CS_DEAD,	/* closed; freed by conn_reap() */
	CS__MAX
};

struct fh_conn {
	struct fh_watch	 w;		/* FH_CONN; first member */
	int		 fd;
	enum conn_state	 state;
	struct fh_conn	*prev, *next;	/* every connection */
	struct fh_conn	*dnext;		/* dirty list: flush pending */
	struct fh_conn	*rnext;		/* replay list: page wanted */
	uint8_t		 dirty, in_replay_list, want_out, peer_closed;
	uint8_t		 close_queued, upgraded, is_health;

	uint8_t		*hs;		/* request head (heap) until upgrade */
	size_t		 hslen;
	struct ws_rx	 rx;
	uint8_t		 rxbuf[2 * (WS_HDR_MAX + WS_CTRL_MAX)];
	size_t		 rxlen;		/* unconsumed bytes in rxbuf */

	struct fh_frame	**q;		/* ring of queued frames */
	size_t		 qcap, qhead, qlen;
	size_t		 qoff;		/* bytes of q[qhead] already sent */
	size_t		 qevents;	/* event frames queued */
	size_t		 qbytes;	/* bytes queued */
	struct fh_frame	*pong;		/* pending pong, not yet queued */

	int64_t		 cursor;	/* requested cursor, if has_cursor */
	uint8_t		 has_cursor;
	int64_t		 last_seq;	/* highest event seq queued */
	uint64_t	 sent;		/* event frames fully written */
	int64_t		 started_ms;
	int64_t		 deadline_ms;	/* handshake or close deadline */
	char		 peer[64];	/* address:port or "unix" */
	char		 client[64];	/* X-Real-IP / X-Forwarded-For */
	const char	*why;		/* why it ended (static text) */
};

/* Accepts every pending connection on the listener. */
void	conn_accept(struct fh *fh);
/* Handles epoll events on c (may free c). */
void	conn_event(struct fh *fh, struct fh_conn *c, uint32_t events);
/* Queues frame f (taking a reference) for c; event frames are counted
 * against the buffer, and one past it ends the connection with
 * ConsumerTooSlow.  Event frames with seq <= last_seq are skipped.
 * Marks c dirty; the caller flushes with conn_flush_dirty(). */
void	conn_push(struct fh *fh, struct fh_conn *c, struct fh_frame *f);
/* Sends an error frame, then close 1008 with the error as reason. */
void	conn_fail(struct fh *fh, struct fh_conn *c, const char *error,
	    const char *message);
/* Queues a close frame after what is queued and stops events. */
void	conn_close_ws(struct fh *fh, struct fh_conn *c, uint16_t code,
	    const char *reason, const char *why);
/* Writes what each dirty connection has queued. */
void	conn_flush_dirty(struct fh *fh);
/* Moves c to state st, keeping fh->replay_bytes right. */
void	conn_set_state(struct fh *fh, struct fh_conn *c, enum conn_state st);
/* Ends c now: logs its line, closes the socket, frees it. */
void	conn_free(struct fh *fh, struct fh_conn *c, const char *why);
/* Closes connections whose deadline has passed. */
void	conn_sweep(struct fh *fh, int64_t now_ms);
/* Frees the connections ended in this loop turn. */
void	conn_reap(struct fh *fh);
/* Ends every connection now (at exit). */
void	conn_free_all(struct fh *fh);
/* SIGTERM: closes each WebSocket with 1001 after what it has queued, and
 * each plain HTTP connection at once. */
void	conn_shutdown(struct fh *fh);

/* ---- hub.c: the tail of repo_seq, replay, cursors ----------------------- */

/* Opens the sequencer read-only if it exists yet (retried on each poll
 * tick until it does) and records the current max seq as the live
 * position.  Returns 0 (also when the file is not there yet) or -1. */
int	hub_open(struct fh *fh);
void	hub_close(struct fh *fh);
/* Reads rows past the live position and broadcasts each to every live
 * client.  Returns the number of events broadcast, or -1. */
long	hub_tail(struct fh *fh);
/* The cursor parameter of a raw query string as the reference reads it
 * (xrpc-server: parseInt(String(value), 10) || 0 over URLSearchParams):
 * absent or a single empty value = no cursor; otherwise leading
 * whitespace, a sign and digits, anything else = 0; saturates at the
 * int64 range.  Returns 0 and sets *has and *cursor, or -1 when the
 * query has a "__proto__" parameter (InvalidQueryParameter). */
int	hub_cursor_parse(const char *q, size_t qlen, int *has,
	    int64_t *cursor);
/* Starts a new subscriber per the reference's cursor rules. */
void	hub_subscribe(struct fh *fh, struct fh_conn *c);
/* Queues the next replay page for c (or switches it to live). */
void	hub_replay_page(struct fh *fh, struct fh_conn *c);
/* Asks for a replay page for c at the end of this loop turn. */
void	hub_want_page(struct fh *fh, struct fh_conn *c);
/* Runs the replay pages asked for. */
void	hub_run_pages(struct fh *fh);
/* Releases every cached frame. */
void	hub_cache_clear(struct fh *fh);

/* ---- wake.c: being told about new rows ------------------------------------ */

/* Binds the wake-up socket and watches the database's directory.
 * Either may fail (logged): the 1 s poll still finds new rows. */
void	wake_init(struct fh *fh);
void	wake_fini(struct fh *fh);
/* Drains the wake-up socket / inotify; returns 1 when the database may
 * have new rows. */
int	wake_drain(struct fh *fh, enum fh_kind kind);

/* ---- crawl.c: com.atproto.sync.requestCrawl --------------------------- */

struct pds_config;

/* Sets up libcurl for the configured crawlers (none: a no-op).  Returns
 * 0 or -1. */
int	crawl_init(struct fh *fh, const struct pds_config *cfg);
void	crawl_fini(struct fh *fh);
/* New events (or start-up): notify each crawler not notified in the last
 * LIM_FH_CRAWL_EVERY_MS; others are notified when their time comes. */
void	crawl_poke(struct fh *fh);
/* Socket activity / timer expiry for libcurl. */
void	crawl_socket(struct fh *fh, struct fh_watch *w, uint32_t events);
void	crawl_timer(struct fh *fh, int64_t now_ms);
/* The next time crawl_timer() wants to run (ms epoch), or INT64_MAX. */
int64_t	crawl_next_ms(struct fh *fh);

/* ---- main.c: the daemon ---------------------------------------------------- */

struct fh_crawl;

struct fh {
	int		 ep;		/* epoll */
	struct fh_watch	 listen_w;
	int		 listen_fd;
	struct fh_watch	 wake_w, ino_w, sig_w;
	int		 wake_fd, ino_fd, sig_fd;
	char		 wake_path[108];
	int		 shutting_down;
	int64_t		 accept_resume_ms;	/* 0 = accepting */
	int64_t		 refused_log_ms;	/* last "refusing" line */
	int64_t		 shutdown_ms;

	/* settings */
	char		*db_path;
	char		*db_dir, *db_name;	/* for inotify */
	size_t		 max_conns;
	size_t		 max_buffer;		/* events per client */
	int64_t		 backfill_ms;

	/* connections */
	struct fh_conn	*conns;
	size_t		 nconns, nws;
	struct fh_conn	*dirty;
	struct fh_conn	*dead;
	struct fh_conn	*pages;
	size_t		 replay_bytes;		/* queued by replaying clients */

	/* hub */
	struct seqdb	*db;
	int64_t		 live_seq;		/* highest seq broadcast */
	int		 db_was_missing;	/* no file at start-up */
	int		 live_init;		/* live_seq was set once */
	int		 more_rows;		/* the tail stopped early */
	int64_t		 next_poll_ms;
	int64_t		 recheck_ms;		/* 0 = none */
	struct arena	 scratch;
	struct buf	 enc;
	struct fh_frame	*cache[LIM_FH_CACHE_FRAMES];
	size_t		 cache_bytes;
	uint64_t	 broadcast;		/* events broadcast */

	struct fh_crawl	*crawl;
};

/* Registers / changes / removes fd in the loop.  Return 0 or -1. */
int	fh_watch_add(struct fh *fh, int fd, uint32_t events,
	    struct fh_watch *w);
int	fh_watch_mod(struct fh *fh, int fd, uint32_t events,
	    struct fh_watch *w);
void	fh_watch_del(struct fh *fh, int fd);
/* Stops accepting for a moment (accept() failed for want of resources). */
void	fh_pause_accept(struct fh *fh);

#endif /* PDS_FH_H */
