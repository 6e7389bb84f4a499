/*
 * accountdb.c: account.sqlite (see accountdb.h).  The schema is the
 * reference's migrations 001..007 (account-manager/db/migrations/) in the
 * DDL text Kysely generates for SQLite, so a database written here and
 * one written by the reference look the same to either.  Queries follow
 * the account-manager helpers; every value is a bound parameter.
 */
#include <ctype.h>
#include <string.h>

#include "accountdb.h"
#include "db.h"
#include "pds_limits.h"
#include "util.h"

/* ---- migrations ------------------------------------------------------------ */

static const char mig001[] =
    "create table \"app_password\" (\"did\" varchar not null, \"name\" "
    "varchar not null, \"passwordScrypt\" varchar not null, \"createdAt\" "
    "varchar not null, constraint \"app_password_pkey\" primary key "
    "(\"did\", \"name\"));"
    "create table \"invite_code\" (\"code\" varchar primary key, "
    "\"availableUses\" integer not null, \"disabled\" int2 default 0, "
    "\"forAccount\" varchar not null, \"createdBy\" varchar not null, "
    "\"createdAt\" varchar not null);"
    "create index \"invite_code_for_account_idx\" on \"invite_code\" "
    "(\"forAccount\");"
    "create table \"invite_code_use\" (\"code\" varchar not null, "
    "\"usedBy\" varchar not null, \"usedAt\" varchar not null, constraint "
    "\"invite_code_use_pkey\" primary key (\"code\", \"usedBy\"));"
    "create table \"refresh_token\" (\"id\" varchar primary key, \"did\" "
    "varchar not null, \"expiresAt\" varchar not null, \"nextId\" varchar, "
    "\"appPasswordName\" varchar);"
    "create index \"refresh_token_did_idx\" on \"refresh_token\" (\"did\");"
    "create table \"repo_root\" (\"did\" varchar primary key, \"cid\" "
    "varchar not null, \"rev\" varchar not null, \"indexedAt\" varchar "
    "not null);"
    "create table \"actor\" (\"did\" varchar primary key, \"handle\" "
    "varchar, \"createdAt\" varchar not null, \"takedownRef\" varchar);"
    "create unique index \"actor_handle_lower_idx\" on \"actor\" "
    "(lower(\"handle\"));"
    "create index \"actor_cursor_idx\" on \"actor\" (\"createdAt\", "
    "\"did\");"
    "create table \"account\" (\"did\" varchar primary key, \"email\" "
    "varchar not null, \"passwordScrypt\" varchar not null, "
    "\"emailConfirmedAt\" varchar, \"invitesDisabled\" int2 default 0 not "
    "null);"
    "create unique index \"account_email_lower_idx\" on \"account\" "
    "(lower(\"email\"));"
    "create table \"email_token\" (\"purpose\" varchar not null, \"did\" "
    "varchar not null, \"token\" varchar not null, \"requestedAt\" varchar "
    "not null, constraint \"email_token_pkey\" primary key (\"purpose\", "
    "\"did\"), constraint \"email_token_purpose_token_unique\" unique "
    "(\"purpose\", \"token\"));";

static const char mig002[] =
    "alter table \"actor\" add column \"deactivatedAt\" varchar;"
    "alter table \"actor\" add column \"deleteAfter\" varchar;";

static const char mig003[] =
    "alter table \"app_password\" add column \"privileged\" integer "
    "default 0 not null;";

static const char mig004[] =
    "create table \"authorization_request\" (\"id\" varchar primary key, "
    "\"did\" varchar, \"deviceId\" varchar, \"clientId\" varchar not null, "
    "\"clientAuth\" varchar not null, \"parameters\" varchar not null, "
    "\"expiresAt\" varchar not null, \"code\" varchar);"
    "create unique index \"authorization_request_code_idx\" on "
    "\"authorization_request\" (code DESC) WHERE (code IS NOT NULL);"
    "create index \"authorization_request_expires_at_idx\" on "
    "\"authorization_request\" (\"expiresAt\");"
    "create table \"device\" (\"id\" varchar primary key, \"sessionId\" "
    "varchar not null, \"userAgent\" varchar, \"ipAddress\" varchar not "
    "null, \"lastSeenAt\" varchar not null, constraint "
    "\"device_session_id_idx\" unique (\"sessionId\"));"
    "create table \"device_account\" (\"did\" varchar not null, "
    "\"deviceId\" varchar not null, \"authenticatedAt\" varchar not null, "
    "\"remember\" boolean not null, \"authorizedClients\" varchar not null, "
    "constraint \"device_account_pk\" primary key (\"deviceId\", \"did\"), "
    "constraint \"device_account_device_id_fk\" foreign key (\"deviceId\") "
    "references \"device\" (\"id\") on delete cascade on update cascade);"
    "create table \"token\" (\"id\" integer primary key autoincrement, "
    "\"did\" varchar not null, \"tokenId\" varchar not null, \"createdAt\" "
    "varchar not null, \"updatedAt\" varchar not null, \"expiresAt\" "
    "varchar not null, \"clientId\" varchar not null, \"clientAuth\" "
    "varchar not null, \"deviceId\" varchar, \"parameters\" varchar not "
    "null, \"details\" varchar, \"code\" varchar, \"currentRefreshToken\" "
    "varchar, constraint \"token_current_refresh_token_unique_idx\" unique "
    "(\"currentRefreshToken\"), constraint \"token_id_unique_idx\" unique "
    "(\"tokenId\"));"
    "create index \"token_did_idx\" on \"token\" (\"did\");"
    "create unique index \"token_code_idx\" on \"token\" (code DESC) WHERE "
    "(code IS NOT NULL);"
    "create table \"used_refresh_token\" (\"refreshToken\" varchar primary "
    "key, \"tokenId\" integer not null, constraint \"used_refresh_token_fk\" "
    "foreign key (\"tokenId\") references \"token\" (\"id\") on delete "
    "cascade on update cascade);"
    "create index \"used_refresh_token_id_idx\" on \"used_refresh_token\" "
    "(\"tokenId\");";

/* 005 also moves remembered device_account rows (none in a new file)
 * into account_device, as the reference's idempotent version does. */
static const char mig005[] =
    "delete from \"device_account\" where \"remember\" = 0 and "
    "\"authenticatedAt\" < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', "
    "'-1 hour');"
    "create table if not exists \"account_device\" (\"did\" varchar not "
    "null, \"deviceId\" varchar not null, \"createdAt\" varchar not null, "
    "\"updatedAt\" varchar not null, constraint \"account_device_pk\" "
    "primary key (\"deviceId\", \"did\"), constraint "
    "\"account_device_did_fk\" foreign key (\"did\") references "
    "\"account\" (\"did\") on delete cascade on update cascade, constraint "
    "\"account_device_device_id_fk\" foreign key (\"deviceId\") references "
    "\"device\" (\"id\") on delete cascade on update cascade);"
    "insert into \"account_device\" (\"did\", \"deviceId\", \"createdAt\", "
    "\"updatedAt\") select \"did\", \"deviceId\", \"authenticatedAt\" as "
    "\"createdAt\", \"authenticatedAt\" as \"updatedAt\" from "
    "\"device_account\" where \"remember\" = 1 and exists (select * from "
    "\"account\" where \"account\".\"did\" = \"device_account\".\"did\") "
    "on conflict do nothing;"
    "create index \"account_device_did_idx\" on \"account_device\" "
    "(\"did\");"
    "create table \"authorized_client\" (\"did\" varchar not null, "
    "\"clientId\" varchar not null, \"createdAt\" varchar not null, "
    "\"updatedAt\" varchar not null, \"data\" varchar not null, constraint "
    "\"authorized_client_pk\" primary key (\"did\", \"clientId\"), "
    "constraint \"authorized_client_did_fk\" foreign key (\"did\") "
    "references \"account\" (\"did\") on delete cascade on update "
    "cascade);";

static const char mig006[] =
    "alter table \"token\" add column \"scope\" varchar;"
    "create table \"lexicon\" (\"nsid\" varchar primary key, \"createdAt\" "
    "varchar not null, \"updatedAt\" varchar not null, \"lastSucceededAt\" "
    "varchar, \"uri\" varchar, \"lexicon\" varchar);";

static const char mig007[] =
    "create index \"lexicon_failures_idx\" on \"lexicon\" (\"updatedAt\" "
    "DESC) WHERE (\"lexicon\" is NULL);";

static const struct db_migration accountdb_migrations[] = {
	{ "001", mig001, NULL },
	{ "002", mig002, NULL },
	{ "003", mig003, NULL },
	{ "004", mig004, NULL },
	{ "005", mig005, NULL },
	{ "006", mig006, NULL },
	{ "007", mig007, NULL },
};

int
accountdb_migrate(struct db *db)
{
	return db_migrate(db, accountdb_migrations,
	    sizeof(accountdb_migrations) / sizeof(accountdb_migrations[0]));
}

/* ---- statement helpers ----------------------------------------------------- */

static char *
ad_lower(struct arena *a, const char *s)
{
	char	*l;
	size_t	 i;

	if ((l = arena_strdup(a, s)) == NULL)
		return NULL;
	for (i = 0; l[i] != '\0'; i++)
		l[i] = (char)tolower((unsigned char)l[i]);
	return l;
}

/* The result of db_exec_strs() for an insert/update that may change no
 * row: ad_unchanged() gives 1 when no row changed (ON CONFLICT DO NOTHING
 * hit, or OR IGNORE), ad_changed() 1 when some row did; both 0 otherwise
 * and -1 for -1. */
static int
ad_unchanged(int rc)
{
	return rc == -1 ? -1 : rc == 0 ? 1 : 0;
}

static int
ad_changed(int rc)
{
	return rc == -1 ? -1 : rc > 0 ? 1 : 0;
}

/* ---- actors and accounts ---------------------------------------------------- */

#define AD_SELECT_ACCOUNT						\
    "SELECT actor.did, actor.handle, actor.createdAt, actor.takedownRef,"	\
    " actor.deactivatedAt, actor.deleteAfter, account.email,"		\
    " account.emailConfirmedAt, account.invitesDisabled"			\
    " FROM actor LEFT JOIN account ON actor.did = account.did"		\
    " WHERE (?2 OR actor.takedownRef IS NULL)"				\
    " AND (?3 OR actor.deactivatedAt IS NULL) AND "

static const char ad_by_did[] = AD_SELECT_ACCOUNT "actor.did = ?1";
static const char ad_by_handle[] = AD_SELECT_ACCOUNT "actor.handle = ?1";
static const char ad_by_email[] = AD_SELECT_ACCOUNT "account.email = ?1";

static int
ad_account_query(struct db *db, struct arena *a, const char *sql,
    const char *key, int flags, struct accountdb_account *out)
{
	sqlite3_stmt	*st;
	int		 rc, bad = 0;

	memset(out, 0, sizeof(*out));
	if ((st = db_prepare_strs(db, sql, &key, 1)) == NULL ||
	    db_bind_i64(db, st, 2, (flags & ACCOUNTDB_TAKENDOWN) != 0) == -1 ||
	    db_bind_i64(db, st, 3, (flags & ACCOUNTDB_DEACTIVATED) != 0) == -1)
		return -1;
	if ((rc = db_step(db, st)) == 1) {
		out->did = db_col_dup(a, st, 0, &bad);
		out->handle = db_col_dup(a, st, 1, &bad);
		out->created_at = db_col_dup(a, st, 2, &bad);
		out->takedown_ref = db_col_dup(a, st, 3, &bad);
		out->deactivated_at = db_col_dup(a, st, 4, &bad);
		out->delete_after = db_col_dup(a, st, 5, &bad);
		out->email = db_col_dup(a, st, 6, &bad);
		out->email_confirmed_at = db_col_dup(a, st, 7, &bad);
		out->invites_disabled = sqlite3_column_int(st, 8);
		if (bad || out->did == NULL)
			rc = -1;
	}
	db_stmt_done(st);
	return rc;
}

int
accountdb_account_get(struct db *db, struct arena *a,
    const char *handle_or_did, int flags, struct accountdb_account *out)
{
	return ad_account_query(db, a, strncmp(handle_or_did, "did:", 4) ==
	    0 ? ad_by_did : ad_by_handle, handle_or_did, flags, out);
}

int
accountdb_account_by_email(struct db *db, struct arena *a, const char *email,
    int flags, struct accountdb_account *out)
{
	const char	*l;

	if ((l = ad_lower(a, email)) == NULL)
		return -1;
	return ad_account_query(db, a, ad_by_email, l, flags, out);
}

int
accountdb_actor_insert(struct db *db, const char *did, const char *handle,
    int deactivated, int64_t now_ms)
{
	static const char sql[] = "INSERT INTO actor (did, handle, createdAt,"
	    " deactivatedAt, deleteAfter) VALUES (?1, ?2, ?3, ?4, ?5)"
	    " ON CONFLICT DO NOTHING";
	char		now[UTIL_ISO_LEN], del[UTIL_ISO_LEN];
	const char	*v[5];

	util_iso_time(now_ms, now);
	util_iso_time(now_ms + LIM_DELETE_AFTER_MS, del);
	v[0] = did;
	v[1] = handle;
	v[2] = now;
	v[3] = deactivated ? now : NULL;
	v[4] = deactivated ? del : NULL;
	return ad_unchanged(db_exec_strs(db, sql, v, 5));
}

int
accountdb_account_insert(struct db *db, const char *did, const char *email,
    const char *password_scrypt)
{
	static const char sql[] = "INSERT INTO account (did, email,"
	    " passwordScrypt) VALUES (?1, lower(?2), ?3) ON CONFLICT DO NOTHING";
	const char	*v[3] = { did, email, password_scrypt };

	return ad_unchanged(db_exec_strs(db, sql, v, 3));
}

int
accountdb_handle_update(struct db *db, const char *did, const char *handle)
{
	/* OR IGNORE: a case variant held by another actor trips the lower()
	 * index; that is "taken" too, not an error. */
	static const char sql[] = "UPDATE OR IGNORE actor SET handle = ?2"
	    " WHERE did = ?1 AND NOT EXISTS (SELECT 1 FROM actor"
	    " WHERE handle = ?2 AND did <> ?1)";
	const char	*v[2] = { did, handle };

	return ad_unchanged(db_exec_strs(db, sql, v, 2));
}

int
accountdb_takedown_set(struct db *db, const char *did, const char *ref)
{
	static const char sql[] = "UPDATE actor SET takedownRef = ?2"
	    " WHERE did = ?1";
	const char	*v[2] = { did, ref };

	return db_exec_strs(db, sql, v, 2) == -1 ? -1 : 0;
}

int
accountdb_deactivate(struct db *db, const char *did, const char *delete_after,
    int64_t now_ms)
{
	static const char sql[] = "UPDATE actor SET deactivatedAt = ?2,"
	    " deleteAfter = ?3 WHERE did = ?1";
	char		now[UTIL_ISO_LEN];
	const char	*v[3] = { did, now, delete_after };

	util_iso_time(now_ms, now);
	return ad_changed(db_exec_strs(db, sql, v, 3));
}

int
accountdb_activate(struct db *db, const char *did)
{
	static const char sql[] = "UPDATE actor SET deactivatedAt = NULL,"
	    " deleteAfter = NULL WHERE did = ?1 AND takedownRef IS NULL";

	return ad_changed(db_exec_strs(db, sql, &did, 1));
}

int
accountdb_account_delete(struct db *db, const char *did)
{
	static const char *const sqls[] = {
		"DELETE FROM repo_root WHERE did = ?1",
		"DELETE FROM email_token WHERE did = ?1",
		"DELETE FROM refresh_token WHERE did = ?1",
		"DELETE FROM account WHERE did = ?1",
		"DELETE FROM actor WHERE did = ?1",
	};

	return db_exec_strs_tx(db, sqls, sizeof(sqls) / sizeof(sqls[0]), &did,
	    1);
}

int
accountdb_password_get(struct db *db, struct arena *a, const char *did,
    const char **out)
{
	static const char sql[] = "SELECT passwordScrypt FROM account"
	    " WHERE did = ?1";
	sqlite3_stmt	*st;
	int		 rc, bad = 0;

	*out = NULL;
	if ((rc = db_query_strs(db, sql, &did, 1, &st)) != 1)
		return rc;
	if ((*out = db_col_dup(a, st, 0, &bad)) == NULL || bad)
		rc = -1;
	db_stmt_done(st);
	return rc;
}

int
accountdb_password_set(struct db *db, const char *did,
    const char *password_scrypt)
{
	static const char sql[] = "UPDATE account SET passwordScrypt = ?2"
	    " WHERE did = ?1";
	const char	*v[2] = { did, password_scrypt };

	return db_exec_strs(db, sql, v, 2) == -1 ? -1 : 0;
}

int
accountdb_email_set(struct db *db, const char *did, const char *email)
{
	static const char sql[] = "UPDATE OR IGNORE account SET email ="
	    " lower(?2), emailConfirmedAt = NULL WHERE did = ?1";
	static const char has[] = "SELECT 1 FROM account WHERE did = ?1";
	const char	*v[2] = { did, email };
	sqlite3_stmt	*st;
	int		 rc;

	if ((rc = db_exec_strs(db, sql, v, 2)) == -1)
		return -1;
	if (rc > 0)
		return 0;
	/* nothing changed: either no such account, or the email is taken */
	rc = db_query_strs(db, has, &did, 1, &st);
	db_stmt_done(st);
	return rc;
}

int
accountdb_email_confirmed_set(struct db *db, const char *did, const char *at)
{
	static const char sql[] = "UPDATE account SET emailConfirmedAt = ?2"
	    " WHERE did = ?1";
	const char	*v[2] = { did, at };

	return db_exec_strs(db, sql, v, 2) == -1 ? -1 : 0;
}

/* ---- app passwords ----------------------------------------------------------- */

int
accountdb_app_password_insert(struct db *db, const char *did,
    const char *name, const char *password_scrypt, int privileged,
    const char *created_at)
{
	static const char sql[] = "INSERT INTO app_password (did, name,"
	    " passwordScrypt, createdAt, privileged) VALUES (?1, ?2, ?3, ?4, ?5)"
	    " ON CONFLICT DO NOTHING";
	const char	*v[4] = { did, name, password_scrypt, created_at };
	sqlite3_stmt	*st;

	st = db_prepare_strs(db, sql, v, 4);
	return ad_unchanged(db_bind_i64(db, st, 5, privileged ? 1 : 0) == -1 ?
	    -1 : db_exec_stmt(db, st));
}

int
accountdb_app_password_find(struct db *db, struct arena *a, const char *did,
    const char *password_scrypt, struct accountdb_app_password *out)
{
	static const char sql[] = "SELECT name, createdAt, privileged"
	    " FROM app_password WHERE did = ?1 AND passwordScrypt = ?2";
	const char	*v[2] = { did, password_scrypt };
	sqlite3_stmt	*st;
	int		 rc, bad = 0;

	memset(out, 0, sizeof(*out));
	if ((rc = db_query_strs(db, sql, v, 2, &st)) != 1)
		return rc;
	out->name = db_col_dup(a, st, 0, &bad);
	out->created_at = db_col_dup(a, st, 1, &bad);
	out->privileged = sqlite3_column_int(st, 2) == 1;
	if (bad || out->name == NULL)
		rc = -1;
	db_stmt_done(st);
	return rc;
}

int
accountdb_app_password_list(struct db *db, struct arena *a, const char *did,
    struct accountdb_app_password **out, size_t *n)
{
	static const char sql[] = "SELECT name, createdAt, privileged"
	    " FROM app_password WHERE did = ?1 ORDER BY createdAt DESC";
	struct accountdb_app_password	*v = NULL, *nv;
	sqlite3_stmt			*st;
	size_t				 cap = 0;
	int				 rc, bad = 0;

	*out = NULL;
	*n = 0;
	if ((st = db_prepare_strs(db, sql, &did, 1)) == NULL)
		return -1;
	while ((rc = db_step(db, st)) == 1) {
		if (*n == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			if ((nv = arena_calloc(a, cap, sizeof(*nv))) == NULL) {
				rc = -1;
				break;
			}
			if (*n > 0)
				memcpy(nv, v, *n * sizeof(*nv));
			v = nv;
		}
		v[*n].name = db_col_dup(a, st, 0, &bad);
		v[*n].created_at = db_col_dup(a, st, 1, &bad);
		v[*n].privileged = sqlite3_column_int(st, 2) == 1;
		if (bad) {
			rc = -1;
			break;
		}
		(*n)++;
	}
	db_stmt_done(st);
	*out = v;
	return rc == -1 ? -1 : 0;
}

int
accountdb_app_password_delete(struct db *db, const char *did,
    const char *name)
{
	static const char del_pw[] = "DELETE FROM app_password"
	    " WHERE did = ?1 AND name = ?2";
	static const char del_rt[] = "DELETE FROM refresh_token"
	    " WHERE did = ?1 AND appPasswordName = ?2";
	static const char *const sqls[] = { del_pw, del_rt };
	const char	*v[2] = { did, name };

	return db_exec_strs_tx(db, sqls, 2, v, 2);
}

/* ---- refresh tokens ------------------------------------------------------------ */

int
accountdb_refresh_insert(struct db *db, const char *id, const char *did,
    const char *expires_at, const char *app_password_name)
{
	static const char sql[] = "INSERT INTO refresh_token (id, did,"
	    " expiresAt, appPasswordName) VALUES (?1, ?2, ?3, ?4)"
	    " ON CONFLICT DO NOTHING";
	const char	*v[4] = { id, did, expires_at, app_password_name };

	return db_exec_strs(db, sql, v, 4) == -1 ? -1 : 0;
}

int
accountdb_refresh_get(struct db *db, struct arena *a, const char *id,
    struct accountdb_refresh *out)
{
	static const char sql[] = "SELECT refresh_token.id, refresh_token.did,"
	    " refresh_token.expiresAt, refresh_token.nextId,"
	    " refresh_token.appPasswordName, app_password.privileged"
	    " FROM refresh_token LEFT JOIN app_password"
	    " ON app_password.did = refresh_token.did"
	    " AND app_password.name = refresh_token.appPasswordName"
	    " WHERE refresh_token.id = ?1";
	sqlite3_stmt	*st;
	int		 rc, bad = 0;

	memset(out, 0, sizeof(*out));
	if ((rc = db_query_strs(db, sql, &id, 1, &st)) != 1)
		return rc;
	out->id = db_col_dup(a, st, 0, &bad);
	out->did = db_col_dup(a, st, 1, &bad);
	out->expires_at = db_col_dup(a, st, 2, &bad);
	out->next_id = db_col_dup(a, st, 3, &bad);
	out->app_password_name = db_col_dup(a, st, 4, &bad);
	out->privileged = sqlite3_column_int(st, 5) == 1;
	if (bad || out->did == NULL || out->expires_at == NULL)
		rc = -1;
	db_stmt_done(st);
	return rc;
}

int
accountdb_refresh_delete_expired(struct db *db, const char *did,
    const char *now_iso)
{
	static const char sql[] = "DELETE FROM refresh_token WHERE did = ?1"
	    " AND expiresAt <= ?2";
	const char	*v[2] = { did, now_iso };

	return db_exec_strs(db, sql, v, 2) == -1 ? -1 : 0;
}

int
accountdb_refresh_grace(struct db *db, const char *id, const char *expires_at,
    const char *next_id)
{
	static const char sql[] = "UPDATE refresh_token SET expiresAt = ?2,"
	    " nextId = ?3 WHERE id = ?1 AND (nextId IS NULL OR nextId = ?3)";
	const char	*v[3] = { id, expires_at, next_id };

	return ad_changed(db_exec_strs(db, sql, v, 3));
}

int
accountdb_refresh_delete(struct db *db, const char *id)
{
	static const char sql[] = "DELETE FROM refresh_token WHERE id = ?1";

	return ad_changed(db_exec_strs(db, sql, &id, 1));
}

int
accountdb_refresh_delete_did(struct db *db, const char *did)
{
	static const char sql[] = "DELETE FROM refresh_token WHERE did = ?1";

	return db_exec_strs(db, sql, &did, 1) == -1 ? -1 : 0;
}

/* ---- invite codes ------------------------------------------------------------- */

int
accountdb_invite_available(struct db *db, const char *code)
{
	static const char sql[] = "SELECT invite_code.availableUses >"
	    " (SELECT count(*) FROM invite_code_use WHERE code = ?1)"
	    " FROM invite_code LEFT JOIN actor"
	    " ON actor.did = invite_code.forAccount"
	    " WHERE invite_code.code = ?1 AND actor.takedownRef IS NULL"
	    " AND NOT coalesce(invite_code.disabled, 0)";
	sqlite3_stmt	*st;
	int		 rc;

	if ((rc = db_query_strs(db, sql, &code, 1, &st)) == 1)
		rc = sqlite3_column_int(st, 0) ? 1 : 0;
	db_stmt_done(st);
	return rc;
}

int
accountdb_invite_use(struct db *db, const char *code, const char *did,
    const char *now)
{
	static const char sql[] = "INSERT INTO invite_code_use (code, usedBy,"
	    " usedAt) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING";
	const char	*v[3] = { code, did, now };

	return ad_unchanged(db_exec_strs(db, sql, v, 3));
}

int
accountdb_invite_insert(struct db *db, const char *code,
    int64_t available_uses, const char *for_account, const char *created_by,
    const char *now)
{
	static const char sql[] = "INSERT INTO invite_code (code, availableUses,"
	    " disabled, forAccount, createdBy, createdAt)"
	    " VALUES (?1, ?5, 0, ?2, ?3, ?4) ON CONFLICT DO NOTHING";
	const char	*v[4] = { code, for_account, created_by, now };
	sqlite3_stmt	*st;

	st = db_prepare_strs(db, sql, v, 4);
	return ad_unchanged(db_bind_i64(db, st, 5, available_uses) == -1 ? -1 :
	    db_exec_stmt(db, st));
}

/* ---- email tokens ---------------------------------------------------------------- */

int
accountdb_email_token_set(struct db *db, const char *did, const char *purpose,
    const char *token, const char *now)
{
	static const char sql[] = "INSERT INTO email_token (purpose, did,"
	    " token, requestedAt) VALUES (?1, ?2, ?3, ?4)"
	    " ON CONFLICT (purpose, did) DO UPDATE SET token = ?3,"
	    " requestedAt = ?4";
	const char	*v[4] = { purpose, did, token, now };

	return db_exec_strs(db, sql, v, 4) == -1 ? -1 : 0;
}

int
accountdb_email_token_check(struct db *db, const char *did,
    const char *purpose, const char *token, int64_t now_ms,
    enum accountdb_token *res)
{
	static const char sql[] = "SELECT requestedAt FROM email_token"
	    " WHERE purpose = ?1 AND did = ?2 AND token = upper(?3)";
	const char	*v[3] = { purpose, did, token };
	const char	*at;
	sqlite3_stmt	*st;
	int64_t		 ms;
	int		 rc;

	*res = ACCOUNTDB_TOKEN_INVALID;
	if ((rc = db_query_strs(db, sql, v, 3, &st)) != 1)
		return rc;
	at = (const char *)sqlite3_column_text(st, 0);
	/* lessThanAgoMs(requestedAt, 15 min) */
	if (at != NULL && util_iso_parse(at, strlen(at), &ms) == 0 &&
	    now_ms < ms + LIM_EMAIL_TOKEN_MS)
		*res = ACCOUNTDB_TOKEN_VALID;
	else
		*res = ACCOUNTDB_TOKEN_EXPIRED;
	db_stmt_done(st);
	return 0;
}

int
accountdb_email_token_delete(struct db *db, const char *did,
    const char *purpose)
{
	static const char one[] = "DELETE FROM email_token WHERE did = ?1"
	    " AND purpose = ?2";
	static const char all[] = "DELETE FROM email_token WHERE did = ?1";
	const char	*v[2] = { did, purpose };

	return db_exec_strs(db, purpose != NULL ? one : all, v, purpose != NULL ?
	    2 : 1) == -1 ? -1 : 0;
}

/* ---- repo_root ------------------------------------------------------------------ */

int
accountdb_repo_root_set(struct db *db, const char *did, const char *cid,
    const char *rev, const char *now)
{
	static const char sql[] = "INSERT INTO repo_root (did, cid, rev,"
	    " indexedAt) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (did) DO UPDATE"
	    " SET cid = ?2, rev = ?3, indexedAt = ?4";
	const char	*v[4] = { did, cid, rev, now };

	return db_exec_strs(db, sql, v, 4) == -1 ? -1 : 0;
}
