/*
 * test_accountdb.c: accountdb.c on a real account.sqlite in a temporary
 * directory: the migrations (001..007 recorded as Kysely records them,
 * every reference table and index present, idempotent), and the queries
 * the handlers rely on: uniqueness of DIDs, handles (case-insensitive)
 * and emails, the availability flags of getAccount, refresh-token
 * rotation bookkeeping (grace and concurrent rotation), app passwords
 * (duplicates, order, revocation with their tokens), invite codes (uses,
 * disabled, taken-down owner), email tokens (case, expiry) and account
 * deletion.  Also the pure parsers of resolve.c: DNS TXT answers,
 * /.well-known/atproto-did bodies and DID documents.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "t.h"
#include "accountdb.h"
#include "db.h"
#include "resolve.h"
#include "util.h"

static int64_t
count(struct db *db, const char *sql)
{
	sqlite3_stmt	*st = db_stmt_get(db, sql);
	int64_t		 n = -1;

	if (st != NULL && db_step(db, st) == 1)
		n = sqlite3_column_int64(st, 0);
	db_stmt_done(st);
	return n;
}

static void
test_migrations(struct db *db)
{
	static const char *const tables[] = { "actor", "account",
	    "app_password", "refresh_token", "invite_code", "invite_code_use",
	    "email_token", "repo_root", "authorization_request", "device",
	    "device_account", "token", "used_refresh_token", "account_device",
	    "authorized_client", "lexicon", "kysely_migration",
	    "kysely_migration_lock", NULL };
	size_t	i;

	T_EQ_INT(accountdb_migrate(db), 7);
	T_EQ_INT(accountdb_migrate(db), 0);
	for (i = 0; tables[i] != NULL; i++)
		T_EQ_INT(db_table_exists(db, tables[i]), 1);
	T_EQ_INT(count(db, "SELECT count(*) FROM kysely_migration"), 7);
	T_EQ_INT(count(db, "SELECT count(*) FROM sqlite_master WHERE type ="
	    " 'index' AND name IN ('actor_handle_lower_idx',"
	    " 'account_email_lower_idx', 'refresh_token_did_idx',"
	    " 'lexicon_failures_idx', 'token_code_idx',"
	    " 'account_device_did_idx', 'used_refresh_token_id_idx')"), 7);
	T_EQ_INT(count(db, "SELECT count(*) FROM pragma_table_info('actor')"
	    " WHERE name IN ('deactivatedAt', 'deleteAfter')"), 2);
	T_EQ_INT(count(db, "SELECT dflt_value = '0' AND \"notnull\" FROM"
	    " pragma_table_info('app_password') WHERE name = 'privileged'"), 1);
}

static void
test_accounts(struct db *db, struct arena *a)
{
	struct accountdb_account u;
	int64_t			 now = util_now_ms();

	T_EQ_INT(accountdb_actor_insert(db, "did:plc:a", "alice.test", 0, now),
	    0);
	T_EQ_INT(accountdb_actor_insert(db, "did:plc:a", "other.test", 0, now),
	    1);
	T_EQ_INT(accountdb_actor_insert(db, "did:plc:b", "ALICE.test", 0, now),
	    1);
	T_EQ_INT(accountdb_account_insert(db, "did:plc:a", "Alice@Example.COM",
	    "salt:hash"), 0);
	T_EQ_INT(accountdb_actor_insert(db, "did:plc:b", "bob.test", 1, now), 0);
	T_EQ_INT(accountdb_account_insert(db, "did:plc:b", "alice@example.com",
	    "s:h"), 1);
	T_EQ_INT(accountdb_account_insert(db, "did:plc:b", "bob@example.com",
	    "s:h"), 0);
	T_EQ_INT(accountdb_account_get(db, a, "alice.test", 0, &u), 1);
	T_EQ_STR(u.did, "did:plc:a");
	T_EQ_STR(u.email, "alice@example.com");
	T_OK(u.email_confirmed_at == NULL && u.takedown_ref == NULL, "fresh");
	T_EQ_INT(accountdb_account_by_email(db, a, "ALICE@example.com", 0, &u),
	    1);
	/* a deactivated account is found only when asked for */
	T_EQ_INT(accountdb_account_get(db, a, "did:plc:b", 0, &u), 0);
	T_EQ_INT(accountdb_account_get(db, a, "did:plc:b",
	    ACCOUNTDB_DEACTIVATED, &u), 1);
	T_OK(u.deactivated_at != NULL && u.delete_after != NULL, "dates");
	T_EQ_INT(accountdb_activate(db, "did:plc:b"), 1);
	T_EQ_INT(accountdb_account_get(db, a, "bob.test", 0, &u), 1);
	/* takedown */
	T_EQ_INT(accountdb_takedown_set(db, "did:plc:b", "ref1"), 0);
	T_EQ_INT(accountdb_account_get(db, a, "bob.test", ACCOUNTDB_DEACTIVATED,
	    &u), 0);
	T_EQ_INT(accountdb_account_get(db, a, "bob.test", ACCOUNTDB_TAKENDOWN,
	    &u), 1);
	T_EQ_STR(u.takedown_ref, "ref1");
	T_EQ_INT(accountdb_activate(db, "did:plc:b"), 0);
	T_EQ_INT(accountdb_takedown_set(db, "did:plc:b", NULL), 0);
	T_EQ_INT(accountdb_deactivate(db, "did:plc:zzz", NULL, now), 0);
	/* handles: taken (any case), free, own */
	T_EQ_INT(accountdb_handle_update(db, "did:plc:b", "Alice.TEST"), 1);
	T_EQ_INT(accountdb_handle_update(db, "did:plc:b", "bobby.test"), 0);
	T_EQ_INT(accountdb_handle_update(db, "did:plc:b", "bobby.test"), 0);
	T_EQ_INT(accountdb_email_set(db, "did:plc:b", "ALICE@example.com"), 1);
	T_EQ_INT(accountdb_email_set(db, "did:plc:b", "new@example.com"), 0);
	T_EQ_INT(accountdb_email_set(db, "did:plc:nobody", "x@example.com"), 0);
}

static void
test_refresh(struct db *db, struct arena *a)
{
	struct accountdb_refresh r;

	T_EQ_INT(accountdb_app_password_insert(db, "did:plc:a", "phone", "s:1",
	    1, "2024-01-01T00:00:00.000Z"), 0);
	T_EQ_INT(accountdb_refresh_insert(db, "t1", "did:plc:a",
	    "2099-01-01T00:00:00.000Z", NULL), 0);
	T_EQ_INT(accountdb_refresh_insert(db, "t1", "did:plc:a",
	    "2000-01-01T00:00:00.000Z", NULL), 0);	/* left alone */
	T_EQ_INT(accountdb_refresh_insert(db, "t2", "did:plc:a",
	    "2099-01-01T00:00:00.000Z", "phone"), 0);
	T_EQ_INT(accountdb_refresh_get(db, a, "t1", &r), 1);
	T_EQ_STR(r.expires_at, "2099-01-01T00:00:00.000Z");
	T_OK(r.next_id == NULL && r.app_password_name == NULL, "main");
	T_EQ_INT(accountdb_refresh_get(db, a, "t2", &r), 1);
	T_EQ_STR(r.app_password_name, "phone");
	T_EQ_INT(r.privileged, 1);
	T_EQ_INT(accountdb_refresh_get(db, a, "nope", &r), 0);
	/* rotation: a second rotation must name the same next id */
	T_EQ_INT(accountdb_refresh_grace(db, "t1", "2098-01-01T00:00:00.000Z",
	    "n1"), 1);
	T_EQ_INT(accountdb_refresh_grace(db, "t1", "2098-01-01T00:00:00.000Z",
	    "n1"), 1);
	T_EQ_INT(accountdb_refresh_grace(db, "t1", "2098-01-01T00:00:00.000Z",
	    "n2"), 0);
	T_EQ_INT(accountdb_refresh_insert(db, "old", "did:plc:a",
	    "2001-01-01T00:00:00.000Z", NULL), 0);
	T_EQ_INT(accountdb_refresh_delete_expired(db, "did:plc:a",
	    "2024-01-01T00:00:00.000Z"), 0);
	T_EQ_INT(accountdb_refresh_get(db, a, "old", &r), 0);
	T_EQ_INT(accountdb_refresh_delete(db, "t1"), 1);
	T_EQ_INT(accountdb_refresh_delete(db, "t1"), 0);
}

static void
test_app_passwords(struct db *db, struct arena *a)
{
	struct accountdb_app_password	 p, *v;
	struct accountdb_refresh	 r;
	size_t				 n;

	T_EQ_INT(accountdb_app_password_insert(db, "did:plc:a", "phone", "s:x",
	    0, "2025-01-01T00:00:00.000Z"), 1);
	T_EQ_INT(accountdb_app_password_insert(db, "did:plc:a", "laptop", "s:2",
	    0, "2025-01-01T00:00:00.000Z"), 0);
	T_EQ_INT(accountdb_app_password_find(db, a, "did:plc:a", "s:2", &p), 1);
	T_EQ_STR(p.name, "laptop");
	T_EQ_INT(p.privileged, 0);
	T_EQ_INT(accountdb_app_password_find(db, a, "did:plc:b", "s:2", &p), 0);
	T_EQ_INT(accountdb_app_password_list(db, a, "did:plc:a", &v, &n), 0);
	T_EQ_INT(n, 2);
	T_EQ_STR(v[0].name, "laptop");	/* newest first */
	T_EQ_INT(accountdb_app_password_delete(db, "did:plc:a", "phone"), 0);
	T_EQ_INT(accountdb_refresh_get(db, a, "t2", &r), 0);	/* revoked */
	T_EQ_INT(accountdb_app_password_list(db, a, "did:plc:nobody", &v, &n),
	    0);
	T_EQ_INT(n, 0);
}

static void
test_invites_tokens(struct db *db)
{
	enum accountdb_token	tok;
	int64_t			now = util_now_ms();
	char			iso[UTIL_ISO_LEN];

	T_EQ_INT(accountdb_invite_insert(db, "c1", 2, "admin", "admin", "now"),
	    0);
	T_EQ_INT(accountdb_invite_insert(db, "c1", 2, "admin", "admin", "now"),
	    1);
	T_EQ_INT(accountdb_invite_available(db, "c1"), 1);
	T_EQ_INT(accountdb_invite_use(db, "c1", "did:plc:a", "now"), 0);
	T_EQ_INT(accountdb_invite_use(db, "c1", "did:plc:a", "now"), 1);
	T_EQ_INT(accountdb_invite_available(db, "c1"), 1);
	T_EQ_INT(accountdb_invite_use(db, "c1", "did:plc:b", "now"), 0);
	T_EQ_INT(accountdb_invite_available(db, "c1"), 0);
	T_EQ_INT(accountdb_invite_available(db, "nope"), 0);
	/* codes of a taken-down owner are not available */
	T_EQ_INT(accountdb_invite_insert(db, "c2", 5, "did:plc:b", "did:plc:b",
	    "now"), 0);
	T_EQ_INT(accountdb_invite_available(db, "c2"), 1);
	T_EQ_INT(accountdb_takedown_set(db, "did:plc:b", "x"), 0);
	T_EQ_INT(accountdb_invite_available(db, "c2"), 0);
	T_EQ_INT(accountdb_takedown_set(db, "did:plc:b", NULL), 0);
	/* email tokens: uppercased compare, 15 minutes */
	util_iso_time(now, iso);
	T_EQ_INT(accountdb_email_token_set(db, "did:plc:a", "delete_account",
	    "ABCDE-FGHIJ", iso), 0);
	T_EQ_INT(accountdb_email_token_check(db, "did:plc:a", "delete_account",
	    "abcde-fghij", now, &tok), 0);
	T_EQ_INT(tok, ACCOUNTDB_TOKEN_VALID);
	T_EQ_INT(accountdb_email_token_check(db, "did:plc:a", "delete_account",
	    "abcde-fghij", now + 15 * 60000, &tok), 0);
	T_EQ_INT(tok, ACCOUNTDB_TOKEN_EXPIRED);
	T_EQ_INT(accountdb_email_token_check(db, "did:plc:a", "confirm_email",
	    "abcde-fghij", now, &tok), 0);
	T_EQ_INT(tok, ACCOUNTDB_TOKEN_INVALID);
	T_EQ_INT(accountdb_email_token_set(db, "did:plc:a", "delete_account",
	    "KLMNO-PQRST", iso), 0);
	T_EQ_INT(accountdb_email_token_check(db, "did:plc:a", "delete_account",
	    "ABCDE-FGHIJ", now, &tok), 0);
	T_EQ_INT(tok, ACCOUNTDB_TOKEN_INVALID);
	T_EQ_INT(accountdb_repo_root_set(db, "did:plc:a", "bafy1", "rev1", iso),
	    0);
	T_EQ_INT(accountdb_repo_root_set(db, "did:plc:a", "bafy2", "rev2", iso),
	    0);
	T_EQ_INT(count(db, "SELECT count(*) FROM repo_root WHERE cid = 'bafy2'"),
	    1);
	T_EQ_INT(accountdb_account_delete(db, "did:plc:a"), 0);
	T_EQ_INT(count(db, "SELECT (SELECT count(*) FROM actor WHERE did ="
	    " 'did:plc:a') + (SELECT count(*) FROM account WHERE did ="
	    " 'did:plc:a') + (SELECT count(*) FROM repo_root) + (SELECT"
	    " count(*) FROM email_token)"), 0);
}

static void
test_resolve_parsers(struct arena *a)
{
	/* hand-built DNS answers: header, the question, TXT records */
	static const uint8_t one[] = { 0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0,
	    0, 0, 8, '_', 'a', 't', 'p', 'r', 'o', 't', 'o', 1, 'x', 4, 't',
	    'e', 's', 't', 0, 0, 16, 0, 1,
	    0xc0, 0x0c, 0, 16, 0, 1, 0, 0, 1, 0, 0, 6, 5, 'v', '=', 'x', 'y',
	    'z',
	    0xc0, 0x0c, 0, 16, 0, 1, 0, 0, 1, 0, 0, 15, 8, 'd', 'i', 'd', '=',
	    'd', 'i', 'd', ':', 5, 'w', 'e', 'b', ':', 'x' };
	uint8_t		 two[sizeof(one) + 27];
	char		 did[64];
	const char	*why;
	struct resolve_atproto at;
	static const char doc[] = "{\"id\":\"did:plc:x\",\"alsoKnownAs\":["
	    "\"https://x\",\"at://alice.test\"],\"verificationMethod\":[{\"id\":"
	    "\"did:plc:x#atproto\",\"type\":\"EcdsaSecp256k1VerificationKey2019\""
	    ",\"controller\":\"did:plc:x\",\"publicKeyMultibase\":\"zMeVUPMG5X"
	    "2y4j9MQ4V5UAjguzLpSu1BYAofNQsnuazpFMyHmbzuB4zLKGxteGJ7qwJkVV43WZwc"
	    "aFyiTkycpVsgx\"}],\"service\":[{\"id\":\"#atproto_pds\",\"type\":"
	    "\"AtprotoPersonalDataServer\",\"serviceEndpoint\":"
	    "\"https://pds.example.com\"}]}";

	T_EQ_INT(resolve_dns_txt_did(one, sizeof(one), did, sizeof(did)), 1);
	T_EQ_STR(did, "did:web:x");	/* strings of one record joined */
	/* a second did= record makes it ambiguous */
	memcpy(two, one, sizeof(one));
	two[7] = 3;
	memcpy(two + sizeof(one), one + sizeof(one) - 27, 27);
	T_EQ_INT(resolve_dns_txt_did(two, sizeof(two), did, sizeof(did)), 0);
	T_EQ_INT(resolve_dns_txt_did(one, sizeof(one) - 1, did, sizeof(did)),
	    -1);
	T_EQ_INT(resolve_dns_txt_did(one, 5, did, sizeof(did)), -1);
	T_EQ_INT(resolve_wellknown_did(" did:plc:abc \nx", 15, did,
	    sizeof(did)), 1);
	T_EQ_STR(did, "did:plc:abc");
	T_EQ_INT(resolve_wellknown_did("<html>", 6, did, sizeof(did)), 0);
	T_EQ_INT(resolve_wellknown_did("did:plc:a b", 11, did, sizeof(did)), 0);
	T_EQ_INT(resolve_diddoc_parse(a, doc, strlen(doc), "did:plc:x", NULL,
	    &at, &why), 0);
	T_EQ_STR(at.handle, "alice.test");
	T_EQ_STR(at.pds, "https://pds.example.com");
	T_OK(at.signing_key != NULL && strncmp(at.signing_key, "did:key:zQ3s",
	    12) == 0, "legacy key as did:key (%s)", at.signing_key ?
	    at.signing_key : "null");
	T_EQ_INT(resolve_diddoc_parse(a, doc, strlen(doc), "did:plc:y", NULL,
	    &at, &why), -1);
	T_EQ_INT(resolve_diddoc_parse(a, "{\"id\":\"did:plc:x\","
	    "\"service\":{}}", 31, "did:plc:x", NULL, &at, &why), -1);
	T_EQ_INT(resolve_diddoc_parse(a, "{\"id\":\"did:plc:x\"}", 18,
	    "did:plc:x", NULL, &at, &why), 0);
	T_OK(at.handle == NULL && at.pds == NULL && at.signing_key == NULL,
	    "empty document");
}

int
main(void)
{
	char		 dir[] = "/tmp/test_accountdb_XXXXXX", path[64];
	struct db	*db = NULL;
	struct arena	 a;

	if (mkdtemp(dir) == NULL)
		return 1;
	(void)snprintf(path, sizeof(path), "%s/account.sqlite", dir);
	arena_init(&a);
	T_EQ_INT(db_open(path, DB_FOREIGN_KEYS, &db), 0);
	if (db != NULL) {
		test_migrations(db);
		test_accounts(db, &a);
		test_refresh(db, &a);
		test_app_passwords(db, &a);
		test_invites_tokens(db);
	}
	test_resolve_parsers(&a);
	db_close(db);
	arena_free(&a);
	(void)snprintf(path, sizeof(path), "rm -rf %s", dir);
	(void)!system(path);
	return t_done("accountdb");
}
