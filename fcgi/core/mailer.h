/*
 * mailer.h: outgoing email over SMTP (libcurl), as the reference PDS sends
 * it through nodemailer (packages/pds/src/mailer/; ../shared/spec/
 * reference-pds.md b "Email", h).
 *
 * Owns: parsing the SMTP URL of PDS_EMAIL_SMTP_URL /
 * PDS_MODERATION_EMAIL_SMTP_URL in nodemailer's form, building an
 * RFC 5322 / MIME message (plain text, optionally with an HTML
 * alternative), and delivering it: smtps:// is TLS from the first byte,
 * smtp:// upgrades with STARTTLS when the server offers it (nodemailer's
 * default), ?requireTLS=true insists on it and ?ignoreTLS=true never
 * tries; ?secure=true turns smtp:// into implicit TLS, and
 * ?tls.rejectUnauthorized=false accepts an unverified certificate.
 * Credentials in the URL are percent-decoded and handed to libcurl apart
 * from the URL.  Does not own: what the messages say (the handlers), the
 * tokens they carry (account.sqlite).
 *
 * A mailer with no URL is "disabled": nothing is sent and the caller's
 * one-line summary (recipient, subject, token) is logged instead, as the
 * reference logs the message it would have sent when no SMTP URL is set.
 *
 * Parsers are pure functions of (pointer, length); tests/fuzz/fuzz_mailer.c
 * drives them.  Error convention for the whole module: 0 on success, -1
 * on failure with a static or caller-buffer reason; secrets (the password)
 * never reach a reason or the log.
 */
#ifndef PDS_MAILER_H
#define PDS_MAILER_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "pds_limits.h"

enum mailer_tls {
	MAILER_TLS_TRY,		/* smtp://: STARTTLS when offered */
	MAILER_TLS_REQUIRE,	/* ?requireTLS=true: STARTTLS or fail */
	MAILER_TLS_NONE,	/* ?ignoreTLS=true: never TLS */
	MAILER_TLS_IMPLICIT,	/* smtps:// or ?secure=true */
	MAILER_TLS__MAX
};

/* A parsed SMTP URL.  Strings are NUL-terminated copies inside the
 * struct; pass is wiped by mailer_url_fini(). */
struct mailer_url {
	char		 host[LIM_SMTP_HOST + 1];	/* IPv6 without [] */
	int		 ipv6;
	int		 port;			/* 465 implicit TLS, else 587 */
	enum mailer_tls	 tls;
	int		 verify;		/* tls.rejectUnauthorized, 1 */
	int		 has_auth;
	char		 user[LIM_SMTP_CRED + 1];
	char		 pass[LIM_SMTP_CRED + 1];
	char		 name[LIM_SMTP_HOST + 1];	/* ?name= (EHLO) or "" */
};

/* Parses an SMTP URL (s, len): scheme smtp or smtps (any case), optional
 * user[:password]@ (percent-decoded; the password may hold ':'), a host
 * name, IPv4 or [IPv6] literal, optional :port (1..65535), an empty or
 * "/" path, and an optional query of nodemailer options: secure,
 * requireTLS, ignoreTLS, tls.rejectUnauthorized (true/false/1/0) and
 * name; other keys are ignored as nodemailer ignores them.  Returns 0 and
 * fills *out, or -1 with a static reason in *why (out is wiped). */
int	mailer_url_parse(const char *s, size_t len, struct mailer_url *out,
	    const char **why);
/* Wipes the credentials.  Accepts NULL. */
void	mailer_url_fini(struct mailer_url *);

/* The address part of a From/To value: "a@b" or "Name <a@b>" (one
 * address; no CR, LF or NUL anywhere; at most LIM_EMAIL_LEN bytes of
 * printable ASCII address with one '@' and non-empty local and domain
 * parts).  Writes it
 * NUL-terminated into out (LIM_EMAIL_LEN + 1 bytes).  Returns 0 or -1. */
int	mailer_addr_parse(const char *s, size_t len, char *out);

/* One message.  text is required; html may be NULL. */
struct mailer_msg {
	const char	*from;		/* header From (may carry a name) */
	const char	*to;		/* one address */
	const char	*subject;	/* UTF-8, at most LIM_MAIL_SUBJECT */
	const char	*text;		/* UTF-8 plain text */
	const char	*html;		/* UTF-8 HTML alternative, or NULL */
	const char	*log_note;	/* what a disabled mailer logs besides
					 * the recipient and subject (e.g.
					 * "token ABCDE-FGHIJ"), or NULL */
};

/* Encodes msg as RFC 5322 text with CRLF line ends into out (appended):
 * From, To, Subject (RFC 2047 base64 words when not plain ASCII), Date
 * (now_ms, UTC), Message-ID (<random hex@domain of From>), MIME-Version,
 * then text/plain (or multipart/alternative with text/html) parts in
 * quoted-printable UTF-8 (lines of at most 76 chars; header lines stay
 * under RFC 5322's 998).  Header values with CR, LF or NUL, invalid
 * addresses, invalid UTF-8 and over-limit parts are refused.  Returns 0,
 * or -1 with a static reason in *why (out may hold a partial message). */
int	mailer_msg_encode(const struct mailer_msg *msg, int64_t now_ms,
	    struct buf *out, const char **why);

/* A configured mailer (one per process; not shared across fork()). */
struct mailer {
	int		  enabled;	/* an SMTP URL is set */
	struct mailer_url url;
	char		 *from;		/* header From (heap) */
	char		  from_addr[LIM_EMAIL_LEN + 1];	/* envelope sender */
	const char	 *label;	/* "mailer", "moderation mailer" */
};

/* Sets m up from an SMTP URL and a From value (both may be NULL: a
 * disabled mailer; the configuration asserts that both or neither are
 * set).  label names the mailer in logs (static).  Returns 0, or -1 with
 * a reason (no secrets) in err (errsz bytes). */
int	mailer_init(struct mailer *m, const char *smtp_url, const char *from,
	    const char *label, char *err, size_t errsz);
/* Wipes and releases; accepts NULL. */
void	mailer_fini(struct mailer *m);
/* Sends msg (msg->from NULL: the mailer's From).  A disabled mailer logs
 * one info line (label, recipient, subject, msg->log_note) and returns 0.
 * Blocks for at most LIM_SMTP_TIMEOUT_MS.  Returns 0, or -1 with the
 * reason (the server's reply or libcurl's error; never the password) in
 * err (errsz bytes). */
int	mailer_send(struct mailer *m, const struct mailer_msg *msg, char *err,
	    size_t errsz);

#endif /* PDS_MAILER_H */
