/*
 * test_mailer.c: fcgi/core/mailer.c: SMTP URLs in nodemailer's form
 * (schemes, percent-encoded credentials, ports, IPv6, query options,
 * malformed and over-limit URLs), addresses, and the encoded message
 * (headers, RFC 2047 subjects, quoted-printable bodies, CRLF, line
 * lengths, refusals of header injection and invalid UTF-8).  Delivery
 * over a real SMTP server is tests/integration/email.test.mjs's.
 */
#include <stdio.h>
#include <string.h>

#include "mailer.h"
#include "t.h"

struct url_case {
	const char	*url;
	int		 ok;
	const char	*host;
	int		 port;
	enum mailer_tls	 tls;
	int		 verify;
	const char	*user;		/* NULL: no auth */
	const char	*pass;
	int		 ipv6;
};

static const struct url_case url_cases[] = {
	{ "smtp://localhost", 1, "localhost", 587, MAILER_TLS_TRY, 1, NULL,
	    NULL, 0 },
	{ "smtp://mail.example.com/", 1, "mail.example.com", 587,
	    MAILER_TLS_TRY, 1, NULL, NULL, 0 },
	{ "smtps://user:p%40ss%3Aword@mail.example.com", 1, "mail.example.com",
	    465, MAILER_TLS_IMPLICIT, 1, "user", "p@ss:word", 0 },
	{ "SMTPS://u%2Bx:pw@127.0.0.1:2465", 1, "127.0.0.1", 2465,
	    MAILER_TLS_IMPLICIT, 1, "u+x", "pw", 0 },
	{ "smtp://u:a:b:c@h:25", 1, "h", 25, MAILER_TLS_TRY, 1, "u", "a:b:c",
	    0 },
	{ "smtp://u@[::1]:2525/?requireTLS=true", 1, "::1", 2525,
	    MAILER_TLS_REQUIRE, 1, "u", "", 1 },
	{ "smtp://h:25?ignoreTLS=true", 1, "h", 25, MAILER_TLS_NONE, 1, NULL,
	    NULL, 0 },
	{ "smtp://h?secure=true", 1, "h", 465, MAILER_TLS_IMPLICIT, 1, NULL,
	    NULL, 0 },
	{ "smtp://h:465", 1, "h", 465, MAILER_TLS_IMPLICIT, 1, NULL, NULL, 0 },
	{ "smtp://h:465?secure=false", 1, "h", 465, MAILER_TLS_TRY, 1, NULL,
	    NULL, 0 },
	{ "smtps://h:587?secure=0", 1, "h", 587, MAILER_TLS_TRY, 1, NULL, NULL,
	    0 },
	{ "smtp://h?tls.rejectUnauthorized=false&pool=true&x", 1, "h", 587,
	    MAILER_TLS_TRY, 0, NULL, NULL, 0 },
	{ "smtp://user:pass@smtp.sendgrid.net:587", 1, "smtp.sendgrid.net",
	    587, MAILER_TLS_TRY, 1, "user", "pass", 0 },
	/* refused */
	{ .url = "http://h" }, { .url = "smtp:/h" }, { .url = "smtp://" },
	{ .url = "smtp://h:0" }, { .url = "smtp://h:99999" },
	{ .url = "smtp://h:" }, { .url = "smtp://h:25x" },
	{ .url = "smtp://h/path" }, { .url = "smtp://h#frag" },
	{ .url = "smtp://u:%zz@h" }, { .url = "smtp://u:%0@h" },
	{ .url = "smtp://u:%00@h" }, { .url = "smtp://u:%0d%0a@h" },
	{ .url = "smtp://[::1" }, { .url = "smtp://[zz]:25" },
	{ .url = "smtp://[::1]x" }, { .url = "smtp://h?secure=maybe" },
	{ .url = "smtp://h h" }, { .url = " smtp://h" },
	{ .url = "smtp://h\xc3\xa9" }, { .url = "smtp://h?name=a%20b" },
	{ .url = "" },
};

static void
test_urls(void)
{
	struct mailer_url	u;
	const char		*why;
	size_t			 i;
	int			 rc;

	for (i = 0; i < sizeof(url_cases) / sizeof(url_cases[0]); i++) {
		const struct url_case *c = &url_cases[i];

		rc = mailer_url_parse(c->url, strlen(c->url), &u, &why);
		T_OK((rc == 0) == c->ok, "%s: rc %d (%s)", c->url, rc,
		    rc == -1 ? why : "ok");
		if (rc != 0 || !c->ok)
			continue;
		T_EQ_STR(u.host, c->host);
		T_EQ_INT(u.port, c->port);
		T_EQ_INT(u.tls, c->tls);
		T_EQ_INT(u.verify, c->verify);
		T_EQ_INT(u.ipv6, c->ipv6);
		T_EQ_INT(u.has_auth, c->user != NULL);
		if (c->user != NULL) {
			T_EQ_STR(u.user, c->user);
			T_EQ_STR(u.pass, c->pass);
		}
		mailer_url_fini(&u);
		T_OK(u.pass[0] == '\0', "password wiped");
	}
}

static void
test_url_limits(void)
{
	struct mailer_url	 u;
	const char		*why;
	char			 big[LIM_SMTP_URL + 64];

	/* a password longer than LIM_SMTP_CRED, and a URL over the limit */
	memset(big, 'a', sizeof(big));
	memcpy(big, "smtp://u:", 9);
	memcpy(big + 9 + LIM_SMTP_CRED + 1, "@h", 3);
	T_EQ_INT(mailer_url_parse(big, strlen(big), &u, &why), -1);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "smtp://", 7);
	T_EQ_INT(mailer_url_parse(big, strlen(big), &u, &why), -1);
	/* (pointer, length): bytes past len are not read */
	T_EQ_INT(mailer_url_parse("smtp://hostXXX", 11, &u, &why), 0);
	T_EQ_STR(u.host, "host");
}

static void
test_addrs(void)
{
	static const struct { const char *in, *out; } ok[] = {
		{ "a@b.c", "a@b.c" }, { "  a@b.c ", "a@b.c" },
		{ "PDS <noreply@pds.example>", "noreply@pds.example" },
		{ "<x.y+z@h>", "x.y+z@h" }, { "\"Quoted Name\" <q@h>", "q@h" },
	};
	static const char *const bad[] = { "a", "a@", "@b", "a@b@c", "a b@c",
	    "x\r\n@y", "N <a@b> trailing", "N <a@b", "<>", "a@b\nBcc: c@d",
	    "", "a,b@c", "a@b;c" };
	char	out[LIM_EMAIL_LEN + 1];
	size_t	i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		T_OK(mailer_addr_parse(ok[i].in, strlen(ok[i].in), out) == 0,
		    "%s", ok[i].in);
		T_EQ_STR(out, ok[i].out);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		T_OK(mailer_addr_parse(bad[i], strlen(bad[i]), out) == -1,
		    "%s accepted", bad[i]);
}

/* Every line ends in CRLF, none is longer than 78 chars + CRLF, no bare
 * CR or LF. */
static int
lines_ok(const struct buf *b)
{
	size_t	i, col = 0;

	for (i = 0; i < b->len; i++) {
		if (b->data[i] == '\n')
			return 0;
		if (b->data[i] == '\r') {
			if (i + 1 >= b->len || b->data[i + 1] != '\n')
				return 0;
			i++;
			col = 0;
			continue;
		}
		if (++col > 78)
			return 0;
	}
	return 1;
}

static const char *
find(const struct buf *b, const char *s)
{
	return memmem(b->data, b->len, s, strlen(s));
}

static void
test_encode(void)
{
	struct mailer_msg	 m;
	struct buf		 b;
	const char		*why;
	char			 longline[400];

	memset(&m, 0, sizeof(m));
	m.from = "My PDS <noreply@pds.example>";
	m.to = "alice@example.com";
	m.subject = "Email Confirmation";
	memset(longline, 'x', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = '\0';
	m.text = longline;
	m.html = "<p>a=b caf\xc3\xa9 </p>";
	buf_init(&b, LIM_MAIL_MESSAGE);
	T_EQ_INT(mailer_msg_encode(&m, 1700000000000LL, &b, &why), 0);
	T_OK(lines_ok(&b), "line lengths / CRLF");
	T_OK(find(&b, "From: My PDS <noreply@pds.example>\r\n") != NULL, "from");
	T_OK(find(&b, "To: alice@example.com\r\n") != NULL, "to");
	T_OK(find(&b, "Subject: Email Confirmation\r\n") != NULL, "subject");
	T_OK(find(&b, "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n") != NULL,
	    "date");
	T_OK(find(&b, "@pds.example>\r\nMIME-Version: 1.0\r\n") != NULL, "id");
	T_OK(find(&b, "multipart/alternative") != NULL, "multipart");
	T_OK(find(&b, "a=3Db caf=C3=A9 </p>") != NULL || find(&b,
	    "a=3Db caf=C3=A9=20") != NULL, "quoted-printable");
	T_OK(find(&b, "x=\r\nx") != NULL, "soft line break");
	buf_free(&b);

	/* non-ASCII subject: encoded words; a text-only message */
	buf_init(&b, LIM_MAIL_MESSAGE);
	m.subject = "R\xc3\xa9initialisation du mot de passe \xe2\x80\x94 "
	    "demande re\xc3\xa7ue pour votre compte sur ce serveur";
	m.text = "Line 1\nLine 2 \n.dot\n";
	m.html = NULL;
	T_EQ_INT(mailer_msg_encode(&m, 0, &b, &why), 0);
	T_OK(lines_ok(&b), "line lengths / CRLF");
	T_OK(find(&b, "Subject: =?UTF-8?B?") != NULL, "encoded word");
	T_OK(find(&b, "?=\r\n =?UTF-8?B?") != NULL, "folded words");
	T_OK(find(&b, "Content-Type: text/plain; charset=utf-8\r\n") != NULL,
	    "single part");
	T_OK(find(&b, "Line 2=20\r\n.dot\r\n") != NULL, "trailing space");
	buf_free(&b);

	/* refusals: injection, bad addresses, invalid UTF-8, sizes */
	buf_init(&b, LIM_MAIL_MESSAGE);
	m.subject = "Hi\r\nBcc: victim@example.com";
	T_EQ_INT(mailer_msg_encode(&m, 0, &b, &why), -1);
	m.subject = "ok";
	m.to = "a@b.c\r\nBcc: x@y";
	T_EQ_INT(mailer_msg_encode(&m, 0, &b, &why), -1);
	m.to = "Name <a@b.c>";
	T_EQ_INT(mailer_msg_encode(&m, 0, &b, &why), -1);
	m.to = "a@b.c";
	m.from = "nobody";
	T_EQ_INT(mailer_msg_encode(&m, 0, &b, &why), -1);
	m.from = "n@h";
	m.text = "bad \xff utf-8";
	T_EQ_INT(mailer_msg_encode(&m, 0, &b, &why), -1);
	m.text = "overlong \xc0\xaf";
	T_EQ_INT(mailer_msg_encode(&m, 0, &b, &why), -1);
	m.text = "surrogate \xed\xa0\x80";
	T_EQ_INT(mailer_msg_encode(&m, 0, &b, &why), -1);
	m.text = NULL;
	T_EQ_INT(mailer_msg_encode(&m, 0, &b, &why), -1);
	buf_free(&b);
}

static void
test_mailer_obj(void)
{
	struct mailer		 m;
	struct mailer_msg	 msg;
	char			 err[256];

	/* both or neither */
	T_EQ_INT(mailer_init(&m, "smtp://h", NULL, "mailer", err, sizeof(err)),
	    -1);
	T_EQ_INT(mailer_init(&m, NULL, "a@b.c", "mailer", err, sizeof(err)),
	    -1);
	T_EQ_INT(mailer_init(&m, "ftp://h", "a@b.c", "mailer", err,
	    sizeof(err)), -1);
	T_OK(strstr(err, "scheme") != NULL, "%s", err);
	T_EQ_INT(mailer_init(&m, "smtp://u:secretpw@h", "bad", "mailer", err,
	    sizeof(err)), -1);
	T_OK(strstr(err, "secretpw") == NULL, "no secret in errors");
	/* a disabled mailer logs and succeeds; a bad recipient fails */
	T_EQ_INT(mailer_init(&m, NULL, NULL, "mailer", err, sizeof(err)), 0);
	T_EQ_INT(m.enabled, 0);
	memset(&msg, 0, sizeof(msg));
	msg.to = "a@b.c";
	msg.subject = "s";
	msg.text = "t";
	msg.log_note = "token ABCDE-FGHIJ";
	T_EQ_INT(mailer_send(&m, &msg, err, sizeof(err)), 0);
	msg.to = "nobody";
	T_EQ_INT(mailer_send(&m, &msg, err, sizeof(err)), -1);
	mailer_fini(&m);
	/* an enabled mailer and an unreachable server: a clear error */
	T_EQ_INT(mailer_init(&m, "smtp://127.0.0.1:1", "n@h", "mailer", err,
	    sizeof(err)), 0);
	msg.to = "a@b.c";
	T_EQ_INT(mailer_send(&m, &msg, err, sizeof(err)), -1);
	T_OK(strstr(err, "onnect") != NULL, "%s", err);
	mailer_fini(&m);
	mailer_fini(NULL);
}

int
main(void)
{
	test_urls();
	test_url_limits();
	test_addrs();
	test_encode();
	test_mailer_obj();
	return t_done("mailer");
}
