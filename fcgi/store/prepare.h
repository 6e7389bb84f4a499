/*
 * prepare.h: a record write as the client sent it (JSON) to a prepared
 * write for repowrite.h, as the reference's repo/prepare.ts does
 * (prepareCreate, prepareUpdate, prepareDelete; reference-pds.md e
 * "Records" and "Blobs"):
 *   - $type defaults to the collection; another $type is refused when
 *     validating ("Invalid $type: expected <collection>, got <type>");
 *   - the JSON becomes DAG-CBOR (atproto data model: no floats, valid
 *     $link/$bytes/blob objects) or is refused ("Bad record");
 *   - validate: false skips validation (no validationStatus); true needs
 *     a known schema ("Unknown lexicon type: <type>"); omitted validates
 *     known types ("valid") and lets others through ("unknown"); the
 *     schemas, rules and messages are fcgi/core/lexicon.h's (strict mode:
 *     a blob ref's mimeType and size must fit the field's accept and
 *     maxSize there, repowrite.c then checks them against the stored
 *     blob);
 *   - legacy blob refs {cid, mimeType} are refused ("Legacy blob ref at
 *     '<path>'"); blob refs are collected;
 *   - the backlink of follow/block (subject) and like/repost
 *     (subject.uri) is noted for createRecord's duplicate check;
 *   - the rkey defaults to a fresh TID.
 *
 * Error convention: 0, or -1 with an InvalidRequest message in msg.
 * Everything is allocated from the caller's arena.
 */
#ifndef PDS_PREPARE_H
#define PDS_PREPARE_H

#include <stddef.h>

#include <jansson.h>

#include "arena.h"
#include "lexicon.h"
#include "repowrite.h"

/* validate parameter */
enum prep_validate {
	PREP_VALIDATE_DEFAULT,	/* omitted */
	PREP_VALIDATE_TRUE,
	PREP_VALIDATE_FALSE,
};

struct prep_in {
	const char		*did;
	const char		*collection;	/* a valid NSID */
	const char		*rkey;		/* a valid record key, or NULL
						 * (create: a new TID) */
	const json_t		*record;	/* the record object */
	enum prep_validate	 validate;
	enum repo_action	 action;	/* REPO_CREATE or REPO_UPDATE */
	const char		*path;		/* JSON path of the record in the
						 * request, for messages: NULL
						 * ("$.record") or
						 * "$.writes[<i>].record" */
	enum rw_swap		 swap;
	struct cid		 swap_cid;
};

/* Prepares a create or update from in, validating against the built-in
 * schemas (lexicon_builtin()).  Returns 0 and *out, or -1 with msg
 * (msgsz bytes). */
int	prepare_write(struct arena *a, const struct prep_in *in,
	    struct rw_write *out, char *msg, size_t msgsz);
/* What indexing needs of a record read from a CAR (importRepo): the
 * names of key "<collection>/<rkey>", its blob refs and backlink, from its
 * DAG-CBOR block (blk, len; NULL when the CAR lacks it).  No validation;
 * legacy blob refs are skipped.  Returns 0 or -1 (ENOMEM). */
int	prepare_block(struct arena *a, const char *did, const char *key,
	    const uint8_t *blk, size_t len, struct rw_write *out);
/* Prepares a delete of <collection>/<rkey>.  Returns 0 or -1 (ENOMEM). */
int	prepare_delete(struct arena *a, const char *did,
	    const char *collection, const char *rkey, enum rw_swap swap,
	    const struct cid *swap_cid, struct rw_write *out);

#endif /* PDS_PREPARE_H */
