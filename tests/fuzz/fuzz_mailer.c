/*
 * fuzz_mailer.c: libFuzzer entry point for the mailer's parsers and
 * encoder (fcgi/core/mailer.c): the input is split at NUL bytes into an
 * SMTP URL, an address, a subject, a text body and an HTML body; each
 * goes through mailer_url_parse / mailer_addr_parse, and together they
 * are encoded with mailer_msg_encode, whose output must stay CRLF-framed
 * with header lines under RFC 5322's 998 chars and body lines of at most
 * 76 (quoted-printable).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mailer.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Splits (p, len) at NULs into at most n NUL-terminated heap strings. */
static size_t
split(const uint8_t *p, size_t len, char **out, size_t n)
{
	size_t	i = 0, start = 0, k = 0;

	for (i = 0; i <= len && k < n; i++) {
		if (i < len && p[i] != 0)
			continue;
		if ((out[k] = malloc(i - start + 1)) == NULL)
			break;
		memcpy(out[k], p + start, i - start);
		out[k][i - start] = '\0';
		k++;
		start = i + 1;
	}
	return k;
}

static void
check_framing(const struct buf *b)
{
	size_t	i, col = 0;
	int	body = 0;

	for (i = 0; i < b->len; i++) {
		if (b->data[i] == '\r' && i + 1 < b->len &&
		    b->data[i + 1] == '\n') {
			body |= col == 0;	/* the empty line */
			i++;
			col = 0;
			continue;
		}
		if (b->data[i] == '\r' || b->data[i] == '\n' ||
		    ++col > (body ? 76 : 998))
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mailer_url	 u;
	struct mailer_msg	 m;
	struct buf		 b;
	const char		*why;
	char			*f[5] = { NULL }, addr[LIM_EMAIL_LEN + 1];
	size_t			 n, i;

	(void)mailer_url_parse((const char *)data, size, &u, &why);
	mailer_url_fini(&u);
	(void)mailer_addr_parse((const char *)data, size, addr);
	n = split(data, size, f, 5);
	if (n == 5) {
		memset(&m, 0, sizeof(m));
		m.from = "Fuzz <f@fuzz.example>";
		m.to = f[1];
		m.subject = f[2];
		m.text = f[3];
		m.html = f[4][0] != '\0' ? f[4] : NULL;
		buf_init(&b, LIM_MAIL_MESSAGE);
		if (mailer_msg_encode(&m, 0, &b, &why) == 0)
			check_framing(&b);
		buf_free(&b);
	}
	for (i = 0; i < n; i++)
		free(f[i]);
	return 0;
}
