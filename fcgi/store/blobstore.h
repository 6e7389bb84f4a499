/*
 * blobstore.h: the disk blob store, with the reference's layout
 * (packages/pds/src/disk-blobstore.ts; reference-pds.md c):
 *
 *   <PDS_BLOBSTORE_DISK_LOCATION>/<did>/<cid>            permanent
 *   <PDS_BLOBSTORE_DISK_TMP_LOCATION>/<did>/<key>        uploads not yet
 *       (default <location>/tempt)                       referenced
 *   <location>/quarantine/<did>/<cid>                    taken down
 *
 * <key> is 32 random bytes in lowercase unpadded base32.  Uploads are
 * streamed into a temp file while SHA-256 and the size are computed and
 * the first bytes are kept for MIME sniffing; a temp file becomes
 * permanent (renamed, or copied across file systems) when a committed
 * record references the blob.  Files are 0644 and directories 0755 so
 * that the web server can send them (X-Accel-Redirect / X-Sendfile).
 *
 * Paths are built only from a validated DID, a CID we format and a key we
 * generated or that passed blobstore_key_validate(): never from other
 * input.  Error convention: 0 on success, -1 on failure (logged once
 * here); lookups 1 / 0 / -1.
 */
#ifndef PDS_BLOBSTORE_H
#define PDS_BLOBSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "cid.h"
#include "pds_limits.h"

struct pds_config;

/* base32 of LIM_BLOB_TEMPKEY_BYTES (52 chars) + NUL, rounded up */
#define BLOBSTORE_KEY_LEN	64

struct blobstore {
	char	*root;		/* PDS_BLOBSTORE_DISK_LOCATION */
	char	*tmp;		/* PDS_BLOBSTORE_DISK_TMP_LOCATION */
	char	*quarantine;	/* <root>/quarantine */
};

/* Sets up bs from the configuration (strings copied).  Returns 0, or -1
 * when no disk location is configured or on ENOMEM. */
int	blobstore_init(struct blobstore *bs, const struct pds_config *cfg);
/* Releases the strings; accepts NULL. */
void	blobstore_fini(struct blobstore *bs);

/* ---- uploads --------------------------------------------------------------- */

struct blobstore_upload {
	int		 fd;
	char		 key[BLOBSTORE_KEY_LEN];
	char		 path[LIM_STORE_PATH];
	void		*md;			/* EVP_MD_CTX */
	uint64_t	 size;
	uint8_t		 head[LIM_BLOB_SNIFF];	/* first bytes, for sniffing */
	size_t		 headlen;
};

/* Creates a fresh temp file for did (mkdir -p <tmp>/<did>).  Returns 0
 * and sets u up, or -1 (u needs no cleanup then). */
int	blobstore_upload_open(const struct blobstore *bs, const char *did,
	    struct blobstore_upload *u);
/* Appends bytes, hashing them.  Returns 0 or -1. */
int	blobstore_upload_write(struct blobstore_upload *u, const void *p,
	    size_t len);
/* Flushes and closes the file and sets *cid (raw codec, sha2-256) and
 * *size.  The file stays as <tmp>/<did>/<u->key>.  Returns 0 or -1 (the
 * file is then removed). */
int	blobstore_upload_finish(struct blobstore_upload *u, struct cid *cid,
	    uint64_t *size);
/* Closes and removes an unfinished upload; accepts a finished or failed
 * one (then only frees).  Safe to call twice. */
void	blobstore_upload_abort(struct blobstore_upload *u);

/* ---- stored blobs ------------------------------------------------------------ */

/* Checks a temp key read back from the database: lowercase base32 only,
 * 1 .. BLOBSTORE_KEY_LEN - 1 chars.  Returns 0 or -1. */
int	blobstore_key_validate(const char *key);
/* Moves <tmp>/<did>/<key> to <root>/<did>/<cid> (makePermanent): when
 * the permanent file exists already the temp file is just removed; when
 * the temp file is gone but the permanent one exists (a retried commit)
 * that is fine too.  Returns 0, 1 when neither file exists, or -1. */
int	blobstore_make_permanent(const struct blobstore *bs, const char *did,
	    const char *key, const struct cid *cid);
/* Deletes <root>/<did>/<cid> (missing is fine).  Returns 0 or -1. */
int	blobstore_delete(const struct blobstore *bs, const char *did,
	    const struct cid *cid);
/* Deletes a temp upload (missing is fine).  Returns 0 or -1. */
int	blobstore_delete_temp(const struct blobstore *bs, const char *did,
	    const char *key);
/* Moves a permanent blob to quarantine/<did>/<cid> (takedown) or back.
 * Returns 0, 1 when the source file does not exist, or -1. */
int	blobstore_quarantine(const struct blobstore *bs, const char *did,
	    const struct cid *cid);
int	blobstore_unquarantine(const struct blobstore *bs, const char *did,
	    const struct cid *cid);
/* Removes every file of did: permanent, temp and quarantined
 * (deleteAll, on account deletion).  Returns 0 or -1. */
int	blobstore_destroy(const struct blobstore *bs, const char *did);

/* The permanent path of a blob: abs "<root>/<did>/<cid>" and rel
 * "<did>/<cid>" (for X-Accel-Redirect).  Either may be NULL.  Returns 0,
 * or -1 (invalid DID, too long). */
int	blobstore_path(const struct blobstore *bs, const char *did,
	    const struct cid *cid, char *abs, size_t abssz, char *rel,
	    size_t relsz);
/* Opens the permanent file for reading.  Returns 1 and *fd (caller
 * closes) with *size, 0 when the file does not exist, or -1. */
int	blobstore_open(const struct blobstore *bs, const char *did,
	    const struct cid *cid, int *fd, uint64_t *size);

#endif /* PDS_BLOBSTORE_H */
