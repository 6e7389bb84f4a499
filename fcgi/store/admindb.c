/*
 * admindb.c: account.sqlite and actor-store queries of the email, invite
 * and admin handlers (see admindb.h).  SQL is constant text with bound
 * parameters only.
 */
#include <string.h>

#include <sqlite3.h>

#include "admindb.h"
#include "db.h"
#include "pds_limits.h"
#include "util.h"

/* ---- invite codes ------------------------------------------------------- */

#define ADM_CODE_COLS							\
    "code, availableUses, disabled, forAccount, createdBy, createdAt,"	\
    " (SELECT count(*) FROM invite_code_use"				\
    " WHERE invite_code_use.code = invite_code.code) AS uses"

/* A row of ADM_CODE_COLS into *c (without its uses). */
static int
adm_code_row(struct arena *a, sqlite3_stmt *st, struct admindb_code *c)
{
	int	bad = 0;

	memset(c, 0, sizeof(*c));
	c->code = db_col_dup(a, st, 0, &bad);
	c->available = sqlite3_column_int64(st, 1);
	c->disabled = sqlite3_column_int(st, 2) == 1;
	c->for_account = db_col_dup(a, st, 3, &bad);
	c->created_by = db_col_dup(a, st, 4, &bad);
	c->created_at = db_col_dup(a, st, 5, &bad);
	c->nuses = sqlite3_column_int64(st, 6);
	return bad || c->code == NULL ? -1 : 0;
}

/* The uses of c (getInviteCodesUses: usedAt descending). */
static int
adm_code_uses(struct db *db, struct arena *a, struct admindb_code *c)
{
	static const char sql[] = "SELECT usedBy, usedAt FROM invite_code_use"
	    " WHERE code = ?1 ORDER BY usedAt DESC";
	sqlite3_stmt	*st;
	size_t		 n = 0, cap = 0;
	int		 rc, bad = 0;
	struct admindb_use *u = NULL, *nu;

	if ((st = db_prepare_strs(db, sql, &c->code, 1)) == NULL)
		return -1;
	while ((rc = db_step(db, st)) == 1) {
		if (n == cap) {
			cap = cap == 0 ? 4 : cap * 2;
			if ((nu = arena_calloc(a, cap, sizeof(*nu))) == NULL) {
				rc = -1;
				break;
			}
			if (n > 0)
				memcpy(nu, u, n * sizeof(*u));
			u = nu;
		}
		u[n].used_by = db_col_dup(a, st, 0, &bad);
		u[n].used_at = db_col_dup(a, st, 1, &bad);
		n++;
	}
	db_stmt_done(st);
	if (rc == -1 || bad)
		return -1;
	c->uses = u;
	c->nuses = (int64_t)n;
	return 0;
}

/* Steps a statement of ADM_CODE_COLS rows into an arena array, then
 * loads each code's uses. */
static int
adm_code_list(struct db *db, struct arena *a, sqlite3_stmt *st,
    struct admindb_code **out, size_t *n)
{
	struct admindb_code	*v = NULL, *nv;
	size_t			 cap = 0, i;
	int			 rc;

	*out = NULL;
	*n = 0;
	while ((rc = db_step(db, st)) == 1) {
		if (*n == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			if ((nv = arena_calloc(a, cap, sizeof(*nv))) == NULL) {
				rc = -1;
				break;
			}
			if (*n > 0)
				memcpy(nv, v, *n * sizeof(*v));
			v = nv;
		}
		if (adm_code_row(a, st, &v[*n]) == -1) {
			rc = -1;
			break;
		}
		(*n)++;
	}
	db_stmt_done(st);
	if (rc == -1)
		return -1;
	for (i = 0; i < *n; i++)
		if (adm_code_uses(db, a, &v[i]) == -1)
			return -1;
	*out = v;
	return 0;
}

int
admindb_codes_for_account(struct db *db, struct arena *a, const char *did,
    struct admindb_code **out, size_t *n)
{
	static const char sql[] = "SELECT " ADM_CODE_COLS " FROM invite_code"
	    " WHERE forAccount = ?1 ORDER BY rowid";
	sqlite3_stmt	*st;

	if ((st = db_prepare_strs(db, sql, &did, 1)) == NULL)
		return -1;
	return adm_code_list(db, a, st, out, n);
}

int
admindb_invited_by(struct db *db, struct arena *a, const char *did,
    struct admindb_code *out)
{
	static const char sql[] = "SELECT " ADM_CODE_COLS " FROM invite_code"
	    " WHERE code IN (SELECT code FROM invite_code_use"
	    " WHERE usedBy = ?1) ORDER BY rowid";
	struct admindb_code	*v;
	sqlite3_stmt		*st;
	size_t			 n;

	if ((st = db_prepare_strs(db, sql, &did, 1)) == NULL ||
	    adm_code_list(db, a, st, &v, &n) == -1)
		return -1;
	if (n == 0)
		return 0;
	*out = v[n - 1];
	return 1;
}

int
admindb_codes_page(struct db *db, struct arena *a, enum admindb_sort sort,
    const char *after_primary, const char *after_code, int64_t limit,
    struct admindb_code **out, size_t *n)
{
	/* paginate() with a GenericKeyset, direction desc */
	static const char recent[] = "SELECT * FROM (SELECT " ADM_CODE_COLS
	    " FROM invite_code) WHERE ?1 IS NULL OR createdAt < ?1"
	    " OR (createdAt = ?1 AND code < ?2)"
	    " ORDER BY createdAt DESC, code DESC LIMIT ?3";
	static const char usage[] = "SELECT * FROM (SELECT " ADM_CODE_COLS
	    " FROM invite_code) WHERE ?1 IS NULL OR uses < CAST(?1 AS INTEGER)"
	    " OR (uses = CAST(?1 AS INTEGER) AND code < ?2)"
	    " ORDER BY uses DESC, code DESC LIMIT ?3";
	const char	*v[2] = { after_primary, after_code };
	sqlite3_stmt	*st;

	if ((st = db_prepare_strs(db, sort == ADMINDB_SORT_USAGE ? usage :
	    recent, v, 2)) == NULL || db_bind_i64(db, st, 3, limit) == -1)
		return -1;
	return adm_code_list(db, a, st, out, n);
}

int
admindb_code_disable(struct db *db, const char *code)
{
	static const char sql[] = "UPDATE invite_code SET disabled = 1"
	    " WHERE code = ?1";

	return db_exec_strs(db, sql, &code, 1) == -1 ? -1 : 0;
}

int
admindb_account_codes_disable(struct db *db, const char *did)
{
	static const char sql[] = "UPDATE invite_code SET disabled = 1"
	    " WHERE forAccount = ?1";

	return db_exec_strs(db, sql, &did, 1) == -1 ? -1 : 0;
}

int
admindb_invites_disabled_set(struct db *db, const char *did, int disabled)
{
	static const char on[] = "UPDATE account SET invitesDisabled = 1"
	    " WHERE did = ?1";
	static const char off[] = "UPDATE account SET invitesDisabled = 0"
	    " WHERE did = ?1";

	return db_exec_strs(db, disabled ? on : off, &did, 1) == -1 ? -1 : 0;
}

int
admindb_codes_mint(struct db *db, const char *did, const char **codes,
    size_t n, int disabled, int64_t expected_total, const char *now_iso)
{
	static const char ins[] = "INSERT INTO invite_code (code,"
	    " availableUses, disabled, forAccount, createdBy, createdAt)"
	    " VALUES (?1, 1, ?4, ?2, ?2, ?3)";
	static const char cnt[] = "SELECT count(*) FROM invite_code"
	    " WHERE forAccount = ?1 AND createdBy != 'admin'";
	sqlite3_stmt	*st;
	const char	*v[3];
	size_t		 i;
	int		 rc;
	int64_t		 total = 0;

	if (db_begin_immediate(db) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		v[0] = codes[i];
		v[1] = did;
		v[2] = now_iso;
		st = db_prepare_strs(db, ins, v, 3);
		if (db_bind_i64(db, st, 4, disabled ? 1 : 0) == -1 ||
		    db_exec_stmt(db, st) == -1)
			goto fail;
	}
	if ((rc = db_query_strs(db, cnt, &did, 1, &st)) == 1)
		total = sqlite3_column_int64(st, 0);
	db_stmt_done(st);
	if (rc != 1)
		goto fail;
	if (total > expected_total) {
		(void)db_rollback(db);
		return 1;
	}
	return db_commit(db) == -1 ? -1 : 0;
fail:
	(void)db_rollback(db);
	return -1;
}

/* ---- email tokens ------------------------------------------------------- */

int
admindb_token_find(struct db *db, struct arena *a, const char *purpose,
    const char *token, int64_t now_ms, const char **did, int *valid)
{
	static const char sql[] = "SELECT did, requestedAt FROM email_token"
	    " WHERE purpose = ?1 AND token = upper(?2)";
	const char	*v[2] = { purpose, token };
	const char	*at;
	sqlite3_stmt	*st;
	int64_t		 ms;
	int		 rc, bad = 0;

	*did = NULL;
	*valid = 0;
	if ((rc = db_query_strs(db, sql, v, 2, &st)) != 1)
		return rc;
	*did = db_col_dup(a, st, 0, &bad);
	at = (const char *)sqlite3_column_text(st, 1);
	/* lessThanAgoMs(requestedAt, 15 min) */
	*valid = at != NULL && util_iso_parse(at, strlen(at), &ms) == 0 &&
	    now_ms < ms + LIM_EMAIL_TOKEN_MS;
	if (bad || *did == NULL)
		rc = -1;
	db_stmt_done(st);
	return rc;
}

/* ---- accounts ----------------------------------------------------------- */

int
admindb_admin_status(struct db *db, struct arena *a, const char *did,
    const char **takedown_ref, int *deactivated)
{
	static const char sql[] = "SELECT takedownRef, deactivatedAt IS NOT"
	    " NULL FROM actor WHERE did = ?1";
	sqlite3_stmt	*st;
	int		 rc, bad = 0;

	*takedown_ref = NULL;
	*deactivated = 0;
	if ((rc = db_query_strs(db, sql, &did, 1, &st)) != 1)
		return rc;
	*takedown_ref = db_col_dup(a, st, 0, &bad);
	*deactivated = sqlite3_column_int(st, 1);
	db_stmt_done(st);
	return bad ? -1 : rc;
}

int
admindb_takedown(struct db *db, const char *did, const char *ref)
{
	static const char upd[] = "UPDATE actor SET takedownRef = ?2"
	    " WHERE did = ?1";
	static const char rev[] = "DELETE FROM refresh_token WHERE did = ?1";
	static const char *const sqls[] = { upd, rev };
	const char	*v[2] = { did, ref };

	return db_exec_strs_tx(db, sqls, 2, v, 2);
}

int
admindb_activate(struct db *db, const char *did)
{
	static const char sql[] = "UPDATE actor SET deactivatedAt = NULL,"
	    " deleteAfter = NULL WHERE did = ?1";

	return db_exec_strs(db, sql, &did, 1) == -1 ? -1 : 0;
}

/* ---- actor store -------------------------------------------------------- */

int
admindb_record_status(struct db *store, struct arena *a, const char *uri,
    const char **cid, const char **takedown_ref)
{
	static const char sql[] = "SELECT cid, takedownRef FROM record"
	    " WHERE uri = ?1";
	sqlite3_stmt	*st;
	int		 rc, bad = 0;

	*cid = *takedown_ref = NULL;
	if ((rc = db_query_strs(store, sql, &uri, 1, &st)) != 1)
		return rc;
	*cid = db_col_dup(a, st, 0, &bad);
	*takedown_ref = db_col_dup(a, st, 1, &bad);
	db_stmt_done(st);
	return bad ? -1 : rc;
}

int
admindb_record_takedown(struct db *store, const char *uri, const char *ref)
{
	static const char sql[] = "UPDATE record SET takedownRef = ?2"
	    " WHERE uri = ?1";
	const char	*v[2] = { uri, ref };

	return db_exec_strs(store, sql, v, 2) == -1 ? -1 : 0;
}

int
admindb_blob_status(struct db *store, struct arena *a, const char *cid,
    const char **takedown_ref)
{
	static const char sql[] = "SELECT takedownRef FROM blob WHERE cid = ?1";
	sqlite3_stmt	*st;
	int		 rc, bad = 0;

	*takedown_ref = NULL;
	if ((rc = db_query_strs(store, sql, &cid, 1, &st)) != 1)
		return rc;
	*takedown_ref = db_col_dup(a, st, 0, &bad);
	db_stmt_done(st);
	return bad ? -1 : rc;
}

int
admindb_blob_takedown(struct db *store, const char *cid, const char *ref)
{
	static const char sql[] = "UPDATE blob SET takedownRef = ?2"
	    " WHERE cid = ?1";
	const char	*v[2] = { cid, ref };

	return db_exec_strs(store, sql, v, 2) == -1 ? -1 : 0;
}
