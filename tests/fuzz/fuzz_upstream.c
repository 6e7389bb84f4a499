/*
 * fuzz_upstream.c: libFuzzer entry point for the parsers of
 * fcgi/core/upstream.c and the claim checks of fcgi/core/svcauth.c.
 * The first byte picks the parser; the rest is its input: the
 * atproto-proxy header, a URL origin, Accept-Encoding, a DID document's
 * service endpoints, an upstream error body, a textual IP address, a
 * service JWT (verified against a fixed key).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "keys.h"
#include "svcauth.h"
#include "upstream.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* A key that never verifies anything the fuzzer makes (the claim checks
 * run first; the signature check then fails). */
static int
fuzz_key(void *arg, const char *did, int force, struct key **out)
{
	(void)arg;
	(void)did;
	(void)force;
	return key_new_k256(out) == KEY_OK ? 1 : -1;
}

static void
fuzz_doc(const char *s, size_t len)
{
	json_t	*doc = json_loadb(s, len, 0, NULL);

	(void)upstream_service_endpoint(doc, "#bsky_chat", NULL);
	(void)upstream_service_endpoint(doc, "#bsky_notif",
	    "BskyNotificationService");
	json_decref(doc);
}

static void
fuzz_jwt(const char *s, size_t len, struct arena *a)
{
	struct svcauth_params	p;
	struct svcauth_claims	c;

	memset(&p, 0, sizeof(p));
	p.aud = "did:web:api.bsky.app";
	p.lxm = "app.bsky.feed.getTimeline";
	p.key_fn = fuzz_key;
	(void)svcauth_verify(s, len, &p, a, &c);
	p.aud = NULL;
	p.lxm = NULL;
	(void)svcauth_verify(s, len, &p, a, &c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena	 a;
	char		*s, out[UPSTREAM_ORIGIN_LEN];
	const char	*e, *m, *bad;
	size_t		 dl, badlen, len;
	int		 https;

	if (size < 1)
		return 0;
	len = size - 1;
	if ((s = malloc(len + 1)) == NULL)
		return 0;
	memcpy(s, data + 1, len);
	s[len] = '\0';
	arena_init(&a);
	switch (data[0] % 7) {
	case 0:
		(void)upstream_proxy_parse(s, len, &dl);
		break;
	case 1:
		(void)upstream_origin_parse(s, len, out, sizeof(out), &https);
		break;
	case 2:
		if (strlen(s) == len) {
			char ae[UPSTREAM_AE_LEN];

			(void)upstream_accept_encoding(s, 0, ae, sizeof(ae),
			    &bad, &badlen);
			(void)upstream_accept_encoding(s, 1, ae, sizeof(ae),
			    &bad, &badlen);
		}
		break;
	case 3:
		fuzz_doc(s, len);
		break;
	case 4:
		upstream_error_parse(NULL, (const uint8_t *)s, len, &a, &e, &m);
		(void)upstream_is_json_type(s);
		break;
	case 5:
		(void)upstream_ip_public(s);
		break;
	default:
		fuzz_jwt(s, len, &a);
		break;
	}
	arena_free(&a);
	free(s);
	return 0;
}
