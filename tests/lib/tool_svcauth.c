/*
 * tool_svcauth.c: service-auth JWTs from the command line, for the Node
 * suites that check them against the official @atproto/xrpc-server
 * (tests/integration/proxy.test.mjs):
 *
 *   tool_svcauth keygen [k256|p256]          -> "<private hex> <did:key>"
 *   tool_svcauth sign <type> <hex> <iss> <aud> <lxm|-> [exp]   -> token
 *   tool_svcauth verify <did:key> <aud|-> <lxm|-> <token>
 *        -> "ok <iss> <aud> <lxm|-> <exp>" or "err <name|-> <message>"
 *
 * Exit status 0 for ok, 1 for a refused token, 2 for misuse.
 */
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "keys.h"
#include "pds_limits.h"
#include "svcauth.h"
#include "util.h"

static const char *didkey;

static int
key_from_did(void *arg, const char *did, int force, struct key **out)
{
	(void)arg;
	(void)did;
	(void)force;
	return key_parse_did(didkey, strlen(didkey), out) == KEY_OK ? 1 : 0;
}

static enum key_type
type_arg(const char *s)
{
	return strcmp(s, "p256") == 0 ? KEY_TYPE_P256 : KEY_TYPE_K256;
}

static int
keygen(const char *type)
{
	struct key	*k = NULL;
	char		 hex[KEY_PRIV_HEX_LEN], did[KEY_DID_LEN];

	if (key_new(type_arg(type), &k) != KEY_OK ||
	    key_priv_hex(k, hex) != KEY_OK)
		return 2;
	key_did(k, did);
	printf("%s %s\n", hex, did);
	util_wipe(hex, sizeof(hex));
	key_free(k);
	return 0;
}

static int
sign(char **argv, int argc)
{
	struct key	*k = NULL;
	struct buf	 b;
	int64_t		 exp = 0;
	int		 rc = 2;

	if (argc > 7 && util_int_parse_str(argv[7], 0, INT64_MAX, &exp) == -1)
		return 2;
	if (key_load_hex(type_arg(argv[2]), argv[3], strlen(argv[3]), &k) !=
	    KEY_OK)
		return 2;
	buf_init(&b, LIM_JWT_LEN + 1);
	if (svcauth_sign(k, argv[4], argv[5], strcmp(argv[6], "-") == 0 ?
	    NULL : argv[6], exp, &b) == SVCAUTH_OK) {
		printf("%s\n", (const char *)b.data);
		rc = 0;
	}
	buf_free(&b);
	key_free(k);
	return rc;
}

static int
verify(char **argv)
{
	struct svcauth_params	p;
	struct svcauth_claims	c;
	struct arena		a;
	enum svcauth_err	e;

	didkey = argv[2];
	memset(&p, 0, sizeof(p));
	p.aud = strcmp(argv[3], "-") == 0 ? NULL : argv[3];
	p.lxm = strcmp(argv[4], "-") == 0 ? NULL : argv[4];
	p.key_fn = key_from_did;
	arena_init(&a);
	e = svcauth_verify(argv[5], strlen(argv[5]), &p, &a, &c);
	if (e == SVCAUTH_OK)
		printf("ok %s %s %s %lld\n", c.iss, c.aud, c.lxm != NULL ?
		    c.lxm : "-", (long long)c.exp);
	else
		printf("err %s %s\n", svcauth_err_name(e) != NULL ?
		    svcauth_err_name(e) : "-", svcauth_err_msg(e));
	arena_free(&a);
	return e == SVCAUTH_OK ? 0 : 1;
}

int
main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "keygen") == 0)
		return keygen(argc > 2 ? argv[2] : "k256");
	if (argc >= 7 && strcmp(argv[1], "sign") == 0)
		return sign(argv, argc);
	if (argc == 6 && strcmp(argv[1], "verify") == 0)
		return verify(argv);
	fprintf(stderr, "usage: tool_svcauth keygen [k256|p256] | sign <type> "
	    "<hex> <iss> <aud> <lxm|-> [exp] | verify <did:key> <aud|-> "
	    "<lxm|-> <token>\n");
	return 2;
}
