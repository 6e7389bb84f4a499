/*
 * h_server_email.c: the email-token flows:
 * com.atproto.server.requestEmailConfirmation / confirmEmail,
 * requestEmailUpdate / updateEmail, requestPasswordReset /
 * resetPassword, requestAccountDelete (deleteAccount consumes its token
 * in h_server_account.c) and com.atproto.identity.
 * requestPlcOperationSignature (signPlcOperation consumes it in
 * h_identity.c).
 *
 * After the reference's api/com/atproto/{server,identity}/ handlers,
 * AccountManager and mailer/ (../shared/spec/reference-pds.md h): one
 * "XXXXX-XXXXX" token per (purpose, did) in account.sqlite email_token,
 * valid 15 minutes, mailed with the reference's subjects and wording in
 * plain text and HTML.  With no SMTP URL the token is logged and stays
 * readable in email_token, as the reference's operators are told.
 */
#include <ctype.h>
#include <string.h>

#include "admin_int.h"
#include "db.h"
#include "handlers.h"
#include "log.h"
#include "password.h"
#include "util.h"
#include "xrpc_int.h"

static enum xrpc_status
internal(struct xrpc_res *res)
{
	return xrpc_fail(res, XRPC_ERR_INTERNAL, NULL, NULL);
}

/* ---- templates (mailer/templates/, mailer/index.ts) --------------------- */

enum tpl_id {
	TPL_CONFIRM,
	TPL_UPDATE,
	TPL_RESET,
	TPL_DELETE,
	TPL_PLC,
	TPL__MAX
};

struct tpl {
	const char	*subject;
	const char	*title;
	const char	*intro;		/* TPL_RESET: the handle and '.'
					 * follow */
	const char	*outro;
};

static const struct tpl tpls[TPL__MAX] = {
	[TPL_CONFIRM] = { "Email Confirmation", "Confirm your email",
	    "To confirm this email for your account, please enter the code "
	    "below in the app",
	    "If you didn't request an email confirmation, you can safely "
	    "ignore this email." },
	[TPL_UPDATE] = { "Email Update Requested", "Update your email",
	    "To update the email for your account, enter the code below in "
	    "the app along with your new email.",
	    "If you didn't request an email update, you can safely ignore "
	    "this email." },
	[TPL_RESET] = { "Password Reset Requested", "Reset password",
	    "We received a request to reset the password for the account "
	    "@",
	    "To choose a new password, please enter the code above in the "
	    "app along with your new password." },
	[TPL_DELETE] = { "Account Deletion Requested", "Delete your account",
	    "To permanently delete your account, please enter the code below "
	    "in the app along with your password.",
	    "If you didn't request an account deletion, you should update "
	    "your password immediately." },
	[TPL_PLC] = { "PLC Update Operation Requested", "PLC update requested",
	    "We received a request to update your PLC identity. Your "
	    "confirmation code is:",
	    "Updating your PLC identity is a very sensitive operation. Please "
	    "only proceed if you are confident in what you are doing." },
};

/* Appends s HTML-escaped. */
static int
html_esc(struct buf *b, const char *s)
{
	int	rc = 0;

	for (; *s != '\0' && rc == 0; s++)
		switch (*s) {
		case '&':
			rc = buf_puts(b, "&amp;");
			break;
		case '<':
			rc = buf_puts(b, "&lt;");
			break;
		case '>':
			rc = buf_puts(b, "&gt;");
			break;
		case '"':
			rc = buf_puts(b, "&quot;");
			break;
		case '\'':
			rc = buf_puts(b, "&#x27;");
			break;
		default:
			rc = buf_putc(b, (uint8_t)*s);
		}
	return rc;
}

/* The plain text and HTML bodies of template id, in text and html. */
static int
tpl_render(const struct pds_config *cfg, enum tpl_id id, const char *token,
    const char *handle, struct buf *text, struct buf *html)
{
	const struct tpl	*t = &tpls[id];
	const char		*name = cfg->service_name != NULL ?
				    cfg->service_name : cfg->hostname;
	char			 link[128];
	int			 with_link;

	with_link = id == TPL_CONFIRM && !cfg->email_no_confirm_link;
	(void)snprintf(link, sizeof(link),
	    "https://bsky.app/intent/verify-email?code=%s", token);
	if (buf_printf(text, "%s\n\n%s", t->title, t->intro) == -1 ||
	    (id == TPL_RESET && buf_printf(text, "%s.", handle) == -1) ||
	    (id == TPL_CONFIRM && buf_printf(text, "%s%s.", with_link ?
	    " or open " : "", with_link ? link : "") == -1) ||
	    buf_printf(text, "\n\n%s\n\n%s\n\n-- \n%s\n", token, t->outro,
	    name) == -1 || buf_cstr(text) == -1)
		return -1;
	if (buf_puts(html, "<!DOCTYPE html><html><head><meta charset=\"utf-8\">"
	    "<title>") == -1 || html_esc(html, t->title) == -1 ||
	    buf_puts(html, "</title></head><body style=\"font-family:"
	    "sans-serif\"><h1>") == -1 || html_esc(html, t->title) == -1 ||
	    buf_puts(html, "</h1><p>") == -1)
		return -1;
	if (html_esc(html, t->intro) == -1 || (id == TPL_RESET &&
	    (html_esc(html, handle) == -1 || buf_putc(html, '.') == -1)))
		return -1;
	if (with_link && (buf_puts(html, " or <a href=\"") == -1 ||
	    html_esc(html, link) == -1 || buf_puts(html, "\">click here</a>") ==
	    -1))
		return -1;
	if ((id == TPL_CONFIRM && buf_putc(html, '.') == -1) ||
	    buf_puts(html, "</p><p><code style=\"font-size:20px\">") == -1 ||
	    html_esc(html, token) == -1 || buf_puts(html, "</code></p><p>") ==
	    -1 || html_esc(html, t->outro) == -1 ||
	    buf_puts(html, "</p><p style=\"color:#888\">") == -1 ||
	    html_esc(html, name) == -1 ||
	    buf_puts(html, "</p></body></html>\n") == -1 || buf_cstr(html) == -1)
		return -1;
	return 0;
}

/* Mails the token of template id to `to` through the account mailer. */
static enum xrpc_status
email_send(struct xrpc_req *req, struct xrpc_res *res, enum tpl_id id,
    const char *to, const char *token, const char *handle)
{
	struct mailer_msg	 msg;
	struct mailer		*m;
	struct buf		 text, html;
	char			 err[512], note[64];
	int			 rc;

	if ((m = adm_mailer(req, res, 0)) == NULL)
		return XRPC_ERR_INTERNAL;
	buf_init(&text, LIM_MAIL_BODY);
	buf_init(&html, LIM_MAIL_BODY);
	memset(&msg, 0, sizeof(msg));
	(void)snprintf(note, sizeof(note), "token %s", token);
	msg.to = to;
	msg.subject = tpls[id].subject;
	msg.log_note = note;
	rc = tpl_render(req->srv->cfg, id, token, handle, &text, &html);
	if (rc == 0) {
		msg.text = (const char *)text.data;
		msg.html = (const char *)html.data;
		if ((rc = mailer_send(m, &msg, err, sizeof(err))) == -1)
			log_error("%s: %s: sending \"%s\" failed: %s", __func__,
			    req->id, msg.subject, err);
	}
	util_wipe(text.data, text.len);
	util_wipe(html.data, html.len);
	buf_free(&text);
	buf_free(&html);
	util_wipe(note, sizeof(note));
	return rc == 0 ? XRPC_OK : internal(res);
}

/* ---- shared steps ------------------------------------------------------- */

/* getAccount(did, includeDeactivated + includeTakenDown) with an email:
 * the reference's 'account not found' / 'account does not have an
 * email address'. */
static enum xrpc_status
account_with_email(struct xrpc_req *req, struct xrpc_res *res,
    struct acct_ctx *ctx, struct accountdb_account *a)
{
	int	rc;

	if ((rc = accountdb_account_get(ctx->account, req->a, req->auth.did,
	    ACCOUNTDB_TAKENDOWN | ACCOUNTDB_DEACTIVATED, a)) == -1)
		return internal(res);
	if (rc == 0)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "account not found");
	if (a->email == NULL)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "account does not have an email address");
	return XRPC_OK;
}

/* The request* flows: a token for purpose, mailed to the account. */
static enum xrpc_status
request_token(struct xrpc_req *req, struct xrpc_res *res, const char *purpose,
    enum tpl_id id)
{
	struct accountdb_account a;
	struct acct_ctx		*ctx;
	enum xrpc_status	 st;
	char			 tok[LIM_EMAIL_TOKEN_LEN + 1];

	if ((ctx = acct_ctx_get(req, res)) == NULL)
		return XRPC_ERR_INTERNAL;
	if ((st = account_with_email(req, res, ctx, &a)) != XRPC_OK ||
	    (st = adm_email_token_new(req, res, ctx, a.did, purpose, tok)) !=
	    XRPC_OK)
		return st;
	st = email_send(req, res, id, a.email, tok, NULL);
	util_wipe(tok, sizeof(tok));
	return st;
}

/* ---- confirm email ------------------------------------------------------ */

enum xrpc_status
com_atproto_server_requestEmailConfirmation(struct xrpc_req *req,
    struct xrpc_res *res)
{
	return request_token(req, res, ADM_PURPOSE_CONFIRM, TPL_CONFIRM);
}

static char *
lower(struct arena *a, const char *s)
{
	char	*l = arena_strdup(a, s);
	size_t	 i;

	for (i = 0; l != NULL && l[i] != '\0'; i++)
		l[i] = (char)tolower((unsigned char)l[i]);
	return l;
}

enum xrpc_status
com_atproto_server_confirmEmail(struct xrpc_req *req, struct xrpc_res *res)
{
	struct accountdb_account a;
	struct acct_ctx		*ctx;
	enum xrpc_status	 st;
	const char		*email = NULL, *token = NULL, *le;
	char			 now[UTIL_ISO_LEN];
	size_t			 emaillen = 0, toklen = 0;
	int			 rc;

	if ((st = acct_in_bytes(req, res, "email", 1, &email, &emaillen)) !=
	    XRPC_OK ||
	    (st = acct_in_bytes(req, res, "token", 1, &token, &toklen)) !=
	    XRPC_OK)
		return st;
	if ((ctx = acct_ctx_get(req, res)) == NULL)
		return XRPC_ERR_INTERNAL;
	if ((rc = accountdb_account_get(ctx->account, req->a, req->auth.did,
	    ACCOUNTDB_DEACTIVATED, &a)) == -1)
		return internal(res);
	if (rc == 0)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, "AccountNotFound",
		    "user not found");
	/* all of it: "a@b.c\u0000x" matches no stored address */
	if (memchr(email, '\0', emaillen) != NULL)
		le = NULL;
	else if ((le = lower(req->a, email)) == NULL)
		return internal(res);
	if (a.email == NULL || le == NULL || strcmp(a.email, le) != 0)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, "InvalidEmail",
		    "invalid email");
	if ((st = acct_token_check(res, ctx, a.did, ADM_PURPOSE_CONFIRM, token,
	    toklen)) != XRPC_OK)
		return st;
	acct_now_iso(now);
	if (db_begin_immediate(ctx->account) == -1)
		return internal(res);
	if (accountdb_email_token_delete(ctx->account, a.did,
	    ADM_PURPOSE_CONFIRM) == -1 ||
	    accountdb_email_confirmed_set(ctx->account, a.did, now) == -1) {
		(void)db_rollback(ctx->account);
		return internal(res);
	}
	return db_commit(ctx->account) == -1 ? internal(res) : XRPC_OK;
}

/* ---- update email ------------------------------------------------------- */

enum xrpc_status
com_atproto_server_requestEmailUpdate(struct xrpc_req *req,
    struct xrpc_res *res)
{
	struct accountdb_account a;
	struct acct_ctx		*ctx;
	enum xrpc_status	 st;
	char			 tok[LIM_EMAIL_TOKEN_LEN + 1];
	json_t			*j;
	int			 required;

	if ((ctx = acct_ctx_get(req, res)) == NULL)
		return XRPC_ERR_INTERNAL;
	if ((st = account_with_email(req, res, ctx, &a)) != XRPC_OK)
		return st;
	/* a token only when the current address is confirmed */
	if ((required = a.email_confirmed_at != NULL)) {
		if ((st = adm_email_token_new(req, res, ctx, a.did,
		    ADM_PURPOSE_UPDATE, tok)) != XRPC_OK)
			return st;
		st = email_send(req, res, TPL_UPDATE, a.email, tok, NULL);
		util_wipe(tok, sizeof(tok));
		if (st != XRPC_OK)
			return st;
	}
	if ((j = json_pack("{s:b}", "tokenRequired", required)) == NULL)
		return internal(res);
	st = xrpc_res_json(res, 200, j);
	json_decref(j);
	return st;
}

enum xrpc_status
com_atproto_server_updateEmail(struct xrpc_req *req, struct xrpc_res *res)
{
	struct accountdb_account a;
	struct acct_ctx		*ctx;
	enum xrpc_status	 st;
	const char		*email = NULL, *token = NULL;
	size_t			 emaillen = 0, toklen = 0;
	int			 rc, factor = 0;

	if ((st = acct_in_bytes(req, res, "email", 1, &email, &emaillen)) !=
	    XRPC_OK ||
	    (st = acct_in_bool(req, res, "emailAuthFactor", 0, &factor)) !=
	    XRPC_OK ||
	    (st = acct_in_bytes(req, res, "token", 0, &token, &toklen)) !=
	    XRPC_OK)
		return st;
	/* every byte: a NUL is not valid, so email is a C string after */
	if (!acct_email_valid(email, emaillen))
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "This email address is not supported, please use a "
		    "different email.");
	if ((ctx = acct_ctx_get(req, res)) == NULL)
		return XRPC_ERR_INTERNAL;
	if ((rc = accountdb_account_get(ctx->account, req->a, req->auth.did,
	    ACCOUNTDB_DEACTIVATED, &a)) == -1)
		return internal(res);
	if (rc == 0)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "account not found");
	if (a.email_confirmed_at != NULL) {
		if (token == NULL || toklen == 0)
			return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST,
			    "TokenRequired", "confirmation token required");
		if ((st = acct_token_check(res, ctx, a.did,
		    ADM_PURPOSE_UPDATE, token, toklen)) != XRPC_OK)
			return st;
	}
	/* updateAccountEmail(): the address and no tokens left, together */
	if (db_begin_immediate(ctx->account) == -1)
		return internal(res);
	if ((rc = accountdb_email_set(ctx->account, a.did, email)) != 0 ||
	    accountdb_email_token_delete(ctx->account, a.did, NULL) == -1) {
		(void)db_rollback(ctx->account);
		return rc == 1 ? xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "This email address is already in use, please use a "
		    "different email.") : internal(res);
	}
	return db_commit(ctx->account) == -1 ? internal(res) : XRPC_OK;
}

/* ---- password reset ----------------------------------------------------- */

enum xrpc_status
com_atproto_server_requestPasswordReset(struct xrpc_req *req,
    struct xrpc_res *res)
{
	struct accountdb_account a;
	struct acct_ctx		*ctx;
	enum xrpc_status	 st;
	const char		*email = NULL;
	char			 tok[LIM_EMAIL_TOKEN_LEN + 1];
	size_t			 len = 0;
	int			 rc;

	if ((st = acct_in_bytes(req, res, "email", 1, &email, &len)) !=
	    XRPC_OK)
		return st;
	if ((ctx = acct_ctx_get(req, res)) == NULL)
		return XRPC_ERR_INTERNAL;
	/* no stored address is longer or holds a NUL */
	rc = len > LIM_EMAIL_LEN || memchr(email, '\0', len) != NULL ? 0 :
	    accountdb_account_by_email(ctx->account, req->a, email,
	    ACCOUNTDB_TAKENDOWN | ACCOUNTDB_DEACTIVATED, &a);
	if (rc == -1)
		return internal(res);
	if (rc == 0 || a.email == NULL)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "account does not have an email address");
	if ((st = adm_email_token_new(req, res, ctx, a.did, ADM_PURPOSE_RESET,
	    tok)) != XRPC_OK)
		return st;
	st = email_send(req, res, TPL_RESET, a.email, tok, a.handle != NULL ?
	    a.handle : a.email);
	util_wipe(tok, sizeof(tok));
	return st;
}

enum xrpc_status
com_atproto_server_resetPassword(struct xrpc_req *req, struct xrpc_res *res)
{
	struct acct_ctx		*ctx;
	enum xrpc_status	 st;
	const char		*token = NULL, *pw = NULL, *did;
	size_t			 pwlen = 0, toklen = 0;
	int			 rc, valid;

	if ((st = acct_in_bytes(req, res, "token", 1, &token, &toklen)) !=
	    XRPC_OK ||
	    (st = acct_in_bytes(req, res, "password", 1, &pw, &pwlen)) !=
	    XRPC_OK)
		return st;
	if (password_js_length(pw, pwlen) > LIM_PASSWORD_NEW)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, NULL,
		    "Invalid password length.");
	if ((ctx = acct_ctx_get(req, res)) == NULL)
		return XRPC_ERR_INTERNAL;
	/* assertValidTokenAndFindDid() */
	rc = toklen > LIM_TOKEN_INPUT || memchr(token, '\0', toklen) !=
	    NULL ? 0 : admindb_token_find(ctx->account, req->a,
	    ADM_PURPOSE_RESET, token, util_now_ms(), &did, &valid);
	if (rc == -1)
		return internal(res);
	if (rc == 0)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, "InvalidToken",
		    "Token is invalid");
	if (!valid)
		return xrpc_fail(res, XRPC_ERR_INVALID_REQUEST, "ExpiredToken",
		    "Token is expired");
	return adm_password_update(res, ctx, did, pw, pwlen);
}

/* ---- account deletion, PLC operations ----------------------------------- */

enum xrpc_status
com_atproto_server_requestAccountDelete(struct xrpc_req *req,
    struct xrpc_res *res)
{
	return request_token(req, res, ADM_PURPOSE_DELETE, TPL_DELETE);
}

enum xrpc_status
com_atproto_identity_requestPlcOperationSignature(struct xrpc_req *req,
    struct xrpc_res *res)
{
	return request_token(req, res, ADM_PURPOSE_PLC, TPL_PLC);
}
