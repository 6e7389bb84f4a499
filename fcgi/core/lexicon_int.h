/*
 * lexicon_int.h: the compiled form of a Lexicon set, shared by lexicon.c
 * (sets, linking), lexcompile.c (check, compile) and lexvalid.c (record
 * validation).  Private to those files, lexicons.gen.c and the tests.
 *
 * A set is a few growable arrays indexed by 32-bit numbers (nodes, object
 * properties, lists, integers, a string pool of NUL-terminated strings),
 * so that growing never invalidates a reference and a linked set is one
 * read-only block of tables.  Each node mirrors one lex-schema validator
 * as lex-builder would generate it for the PDS (lex-def-builder.js).
 */
#ifndef PDS_CORE_LEXICON_INT_H
#define PDS_CORE_LEXICON_INT_H

#include <stddef.h>
#include <stdint.h>

#include "syntax.h"

enum lx_kind {
	LX_BOOLEAN,	/* l.boolean() */
	LX_INTEGER,	/* l.integer({minimum, maximum}) */
	LX_STRING,	/* l.string({format, lengths, graphemes}) */
	LX_BYTES,	/* l.bytes({minLength, maxLength}) */
	LX_CID,		/* l.cid() */
	LX_BLOB,	/* l.blob({accept, maxSize}) */
	LX_UNKNOWN,	/* l.lexMap() */
	LX_ARRAY,	/* l.array(items, {minLength, maxLength}) */
	LX_OBJECT,	/* l.object(props), typed: l.typedObject() */
	LX_REF,		/* l.ref(target) */
	LX_UNION,	/* l.typedUnion(members, closed) */
	LX_TOKEN,	/* l.token() */
	LX_RECORD,	/* l.record(key, $type, object) */
	LX_LITERAL,	/* l.literal(value): const, one-value enum */
	LX_ENUM,	/* l.enum(values) */
	LX_NEVER,	/* l.never(): const not in enum, empty enum */
	LX_METHOD,	/* query, procedure, subscription, permission-set:
			 * not a data schema */
	LX__MAX
};

enum lx_vtype {		/* value type of LX_LITERAL and LX_ENUM */
	LXV_STRING,
	LXV_INTEGER,
	LXV_BOOLEAN,
	LXV__MAX
};

enum lx_key {		/* record key types */
	LXK_ANY,
	LXK_TID,
	LXK_NSID,
	LXK_LITERAL,
	LXK__MAX
};

/* node flags */
#define LXN_MIN		0x01	/* min is set */
#define LXN_MAX		0x02	/* max is set */
#define LXN_GMIN	0x04	/* gmin is set */
#define LXN_GMAX	0x08	/* gmax is set */
#define LXN_TYPED	0x10	/* LX_OBJECT: a typedObject ($type in str) */
#define LXN_CLOSED	0x20	/* LX_UNION: closed */
#define LXN_LINKED	0x40	/* LX_REF: a resolved; LX_UNION: members
				 * resolved */

#define LX_NONE		UINT32_MAX	/* no node / no string */

struct lx_node {
	uint8_t		kind;	/* enum lx_kind */
	uint8_t		vtype;	/* LX_LITERAL, LX_ENUM: enum lx_vtype;
				 * LX_RECORD: enum lx_key */
	uint8_t		fmt;	/* LX_STRING: enum syntax_format + 1, or 0 */
	uint8_t		flags;	/* LXN_* */
	uint32_t	a;	/* ARRAY: items node; RECORD: object node; REF:
				 * target node; OBJECT: first prop; UNION,
				 * ENUM, BLOB: first list entry (ENUM of
				 * integers: first ints entry) */
	uint32_t	n;	/* OBJECT: props; UNION: members; ENUM, BLOB:
				 * list entries */
	uint32_t	str;	/* OBJECT (typed), RECORD, TOKEN: $type; REF:
				 * the full ref "<nsid>#<def>"; LITERAL
				 * string: the value; RECORD literal key:
				 * see key */
	uint32_t	key;	/* RECORD literal key: its value (string) */
	int64_t		min;	/* INTEGER minimum, STRING/BYTES/ARRAY
				 * minLength; LITERAL integer or boolean */
	int64_t		max;	/* INTEGER maximum, STRING/BYTES/ARRAY
				 * maxLength, BLOB maxSize */
	int64_t		gmin;	/* STRING minGraphemes */
	int64_t		gmax;	/* STRING maxGraphemes */
};

struct lx_prop {
	uint32_t	name;	/* string pool */
	uint32_t	nlen;	/* bytes of the name */
	uint32_t	node;
	uint8_t		required;
	uint8_t		nullable;
};

struct lx_def {
	uint32_t	id;	/* string pool: document NSID */
	uint32_t	name;	/* string pool: definition name */
	uint32_t	node;
};

struct lexicon_set {
	struct lx_node	*nodes;
	size_t		 nnodes, capnodes;
	struct lx_prop	*props;
	size_t		 nprops, capprops;
	uint32_t	*list;		/* string offsets; UNION: pairs of
					 * (ref string, node) */
	size_t		 nlist, caplist;
	int64_t		*ints;
	size_t		 nints, capints;
	char		*pool;		/* NUL-terminated strings */
	size_t		 npool, cappool;
	struct lx_def	*defs;		/* sorted by (id, name) once linked */
	size_t		 ndefs, capdefs;
	size_t		 bytes;		/* all the above: <= LIM_LEXICON_POOL */
	int		 linked;
};

/* String pool accessor. */
static inline const char *
lx_str(const struct lexicon_set *s, uint32_t off)
{
	return s->pool + off;
}

/* lexcompile.c: checks doc (a parsed Lexicon document) and compiles it
 * into s, which is not linked.  Returns 0, or -1 with why; on failure s
 * keeps no definition of doc (unreachable leftovers at most). */
struct json_t;
int	lx_doc_compile(struct lexicon_set *s, const struct json_t *doc,
	    char *why, size_t whysz);

/* lexicon.c: the record definition named nsid ("<nsid>#main"), or NULL. */
const struct lx_node	*lx_record_find(const struct lexicon_set *s,
			    const char *nsid);

/* lexicons.gen.c: the built-in documents, compact JSON text. */
struct lx_builtin {
	const char	*id;
	const char	*json;
	size_t		 len;
};
extern const struct lx_builtin	lx_builtin_docs[];
extern const size_t		lx_builtin_ndocs;

#endif /* PDS_CORE_LEXICON_INT_H */
