// email.test.mjs: the email-token flows through real nginx (tests/lib/
// stack.mjs) with the official @atproto/api client, mailed over SMTP to
// a real SMTP server on loopback (tests/lib/smtp-server.mjs: STARTTLS with
// a self-signed certificate and AUTH with a percent-encoded password;
// the moderation mailer over smtps://), and again with no mailer, the
// token then read from account.sqlite as the reference's operators do:
// confirm email, email update (tokenRequired), password reset, account
// deletion, PLC operation signature, admin.sendEmail; subjects and wording
// as the reference's templates; expired, wrong and reused tokens; bad
// input refused with the XRPC error JSON and nothing written.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { AtpAgent } from '@atproto/api';
import { startSmtp } from '../lib/smtp-server.mjs';
import { newAccount, xrpcError } from '../lib/repoutil.mjs';
import { bins, isExecutable, startStack } from '../lib/stack.mjs';

const built = isExecutable(bins.fcgi);
const TOKEN_RE = /\b[A-Z2-7]{5}-[A-Z2-7]{5}\b/;

function db(stack, fn) {
  const d = new DatabaseSync(path.join(stack.dataDir, 'account.sqlite'));
  try {
    d.exec('PRAGMA busy_timeout = 5000');
    return fn(d);
  } finally {
    d.close();
  }
}

const tokenRow = (stack, did, purpose) => db(stack, (d) => d.prepare(
  'SELECT token, requestedAt FROM email_token WHERE did = ? AND purpose = ?')
  .get(did, purpose));

async function xrpc(stack, method, nsid, { body, query, auth } = {}) {
  const qs = query ? `?${new URLSearchParams(query)}` : '';
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (auth) headers.authorization = auth;
  const res = await fetch(`${stack.url}/xrpc/${nsid}${qs}`, { method, headers,
    body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* empty */ }
  return { status: res.status, body: json, text };
}

const bearer = (agent) => `Bearer ${agent.session.accessJwt}`;

describe('email flows over SMTP (STARTTLS + AUTH)', { skip: !built && 'pds-fcgi not built' }, () => {
  let stack, smtp, modSmtp, admin;

  before(async () => {
    // a password every URL-encoding mistake would break
    smtp = await startSmtp({ user: 'pds-mailer', pass: 'p@ss:w/rd%20?#' });
    modSmtp = await startSmtp({ secure: true, user: 'mod', pass: 'm0d' });
    stack = await startStack({ workers: 2, env: {
      PDS_EMAIL_SMTP_URL: smtp.url(),
      PDS_EMAIL_FROM_ADDRESS: 'Test PDS <noreply@pds.test>',
      PDS_MODERATION_EMAIL_SMTP_URL: modSmtp.url(),
      PDS_MODERATION_EMAIL_ADDRESS: 'moderation@pds.test',
      PDS_SERVICE_NAME: 'Test PDS',
    } });
    admin = `Basic ${Buffer.from(`admin:${stack.env.PDS_ADMIN_PASSWORD}`).toString('base64')}`;
  });

  after(async () => {
    const st = await stack?.stop();
    await smtp?.close();
    await modSmtp?.close();
    assert.deepEqual(st?.sanitizer ?? [], [], 'sanitizer reports in the server logs');
  });

  test('the URL carries a password with reserved characters', () => {
    assert.match(smtp.url(), /^smtp:\/\/pds-mailer:p%40ss%3Aw%2Frd%2520%3F%23@127\.0\.0\.1:\d+\?/);
  });

  test('requestEmailConfirmation -> confirmEmail', async () => {
    const a = await newAccount(stack, 'conf');
    const email = (await a.agent.com.atproto.server.getSession()).data.email;
    await a.agent.com.atproto.server.requestEmailConfirmation();
    const m = await smtp.next();
    assert.equal(m.secure, true, 'STARTTLS before the message');
    assert.equal(m.user, 'pds-mailer', 'authenticated');
    assert.equal(m.mailFrom, 'noreply@pds.test');
    assert.deepEqual(m.rcptTo, [email]);
    assert.equal(m.subject, 'Email Confirmation');
    assert.equal(m.headers.from, 'Test PDS <noreply@pds.test>');
    assert.equal(m.headers.to, email);
    assert.match(m.headers.date, /^\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d \+0000$/);
    assert.match(m.headers['message-id'], /^<[0-9a-f]{32}@pds\.test>$/);
    assert.match(m.text, /To confirm this email for your account, please enter the code below in the app or open https:\/\/bsky\.app\/intent\/verify-email\?code=/);
    assert.match(m.html, /If you didn&#x27;t request an email confirmation/);
    const token = TOKEN_RE.exec(m.text)[0];
    assert.equal(tokenRow(stack, a.did, 'confirm_email').token, token);

    // wrong address, wrong token: refused, nothing changes
    let r = await xrpc(stack, 'POST', 'com.atproto.server.confirmEmail', {
      auth: bearer(a.agent), body: { email: 'other@example.com', token } });
    assert.deepEqual(r.body, { error: 'InvalidEmail', message: 'invalid email' });
    r = await xrpc(stack, 'POST', 'com.atproto.server.confirmEmail', {
      auth: bearer(a.agent), body: { email, token: 'AAAAA-BBBBB' } });
    assert.deepEqual(r.body, { error: 'InvalidToken', message: 'Token is invalid' });
    // all of each string: a NUL makes another address or token
    r = await xrpc(stack, 'POST', 'com.atproto.server.confirmEmail', {
      auth: bearer(a.agent), body: { email: `${email}\u0000x`, token } });
    assert.deepEqual(r.body, { error: 'InvalidEmail', message: 'invalid email' });
    r = await xrpc(stack, 'POST', 'com.atproto.server.confirmEmail', {
      auth: bearer(a.agent), body: { email, token: `${token}\u0000` } });
    assert.deepEqual(r.body, { error: 'InvalidToken', message: 'Token is invalid' });
    r = await xrpc(stack, 'POST', 'com.atproto.server.confirmEmail', {
      auth: bearer(a.agent), body: { email } });
    assert.equal(r.status, 400);
    assert.deepEqual(r.body, { error: 'InvalidRequest',
      message: 'Missing required key "token" at $' });
    assert.equal((await a.agent.com.atproto.server.getSession()).data.emailConfirmed, false);

    // the token is case-insensitive and the address too
    await a.agent.com.atproto.server.confirmEmail({ email: email.toUpperCase(),
      token: token.toLowerCase() });
    assert.equal((await a.agent.com.atproto.server.getSession()).data.emailConfirmed, true);
    assert.equal(tokenRow(stack, a.did, 'confirm_email'), undefined, 'used up');
    r = await xrpc(stack, 'POST', 'com.atproto.server.confirmEmail', {
      auth: bearer(a.agent), body: { email, token } });
    assert.equal(r.body.error, 'InvalidToken', 'no second use');
  });

  test('requestEmailUpdate -> updateEmail (token required once confirmed)', async () => {
    const a = await newAccount(stack, 'upd');
    // unconfirmed: no token, no mail, the address changes directly
    let r = await a.agent.com.atproto.server.requestEmailUpdate();
    assert.deepEqual(r.data, { tokenRequired: false });
    await a.agent.com.atproto.server.updateEmail({ email: `new-${a.handle}@example.com` });
    assert.equal((await a.agent.com.atproto.server.getSession()).data.email,
      `new-${a.handle}@example.com`);
    // confirm it, then an update needs the emailed token
    await a.agent.com.atproto.server.requestEmailConfirmation();
    const c = await smtp.next();
    await a.agent.com.atproto.server.confirmEmail({ email: `new-${a.handle}@example.com`,
      token: TOKEN_RE.exec(c.text)[0] });
    r = await a.agent.com.atproto.server.requestEmailUpdate();
    assert.deepEqual(r.data, { tokenRequired: true });
    const m = await smtp.next();
    assert.equal(m.subject, 'Email Update Requested');
    assert.deepEqual(m.rcptTo, [`new-${a.handle}@example.com`]);
    assert.match(m.text, /To update the email for your account, enter the code below in the app along with your new email\./);
    const token = TOKEN_RE.exec(m.text)[0];
    let e = await xrpc(stack, 'POST', 'com.atproto.server.updateEmail', {
      auth: bearer(a.agent), body: { email: 'third@example.com' } });
    assert.deepEqual(e.body, { error: 'TokenRequired', message: 'confirmation token required' });
    e = await xrpc(stack, 'POST', 'com.atproto.server.updateEmail', {
      auth: bearer(a.agent), body: { email: 'not an email', token } });
    assert.deepEqual(e.body, { error: 'InvalidRequest',
      message: 'This email address is not supported, please use a different email.' });
    e = await xrpc(stack, 'POST', 'com.atproto.server.updateEmail', {
      auth: bearer(a.agent), body: { email: 'third@example.com\u0000x', token } });
    assert.deepEqual(e.body, { error: 'InvalidRequest',
      message: 'This email address is not supported, please use a different email.' });
    e = await xrpc(stack, 'POST', 'com.atproto.server.updateEmail', {
      auth: bearer(a.agent), body: { email: 'third@example.com', token: `${token}\u0000` } });
    assert.deepEqual(e.body, { error: 'InvalidToken', message: 'Token is invalid' });
    // taken by another account
    const other = await newAccount(stack, 'oth');
    const otherEmail = (await other.agent.com.atproto.server.getSession()).data.email;
    e = await xrpc(stack, 'POST', 'com.atproto.server.updateEmail', {
      auth: bearer(a.agent), body: { email: otherEmail, token } });
    assert.deepEqual(e.body, { error: 'InvalidRequest',
      message: 'This email address is already in use, please use a different email.' });
    assert.equal(tokenRow(stack, a.did, 'update_email').token, token, 'still usable');
    await a.agent.com.atproto.server.updateEmail({ email: 'Third@Example.com', token });
    const s = (await a.agent.com.atproto.server.getSession()).data;
    assert.equal(s.email, 'third@example.com');
    assert.equal(s.emailConfirmed, false);
    assert.equal(db(stack, (d) => d.prepare('SELECT count(*) AS n FROM email_token WHERE did = ?')
      .get(a.did)).n, 0, 'every token deleted');
    // app passwords may not update the email
    const ap = await a.agent.com.atproto.server.createAppPassword({ name: 'app' });
    const appAgent = new AtpAgent({ service: stack.url });
    await appAgent.login({ identifier: a.handle, password: ap.data.password });
    e = await xrpc(stack, 'POST', 'com.atproto.server.requestEmailUpdate', {
      auth: bearer(appAgent) });
    assert.deepEqual(e.body, { error: 'InvalidToken', message: 'Bad token scope' });
  });

  test('requestPasswordReset -> resetPassword', async () => {
    const a = await newAccount(stack, 'rst');
    const email = (await a.agent.com.atproto.server.getSession()).data.email;
    const oldRefresh = a.agent.session.refreshJwt;
    await a.agent.com.atproto.server.requestPasswordReset({ email: email.toUpperCase() });
    const m = await smtp.next();
    assert.equal(m.subject, 'Password Reset Requested');
    assert.match(m.text, new RegExp(`We received a request to reset the password for the account @${a.handle.replace(/\./g, '\\.')}\\.`));
    assert.match(m.text, /To choose a new password, please enter the code above in the app along with your new password\./);
    const token = TOKEN_RE.exec(m.text)[0];
    let r = await xrpc(stack, 'POST', 'com.atproto.server.resetPassword', {
      body: { token, password: 'x'.repeat(257) } });
    assert.deepEqual(r.body, { error: 'InvalidRequest', message: 'Invalid password length.' });
    r = await xrpc(stack, 'POST', 'com.atproto.server.resetPassword', {
      body: { token: 'ZZZZZ-ZZZZZ', password: 'new password' } });
    assert.deepEqual(r.body, { error: 'InvalidToken', message: 'Token is invalid' });
    r = await xrpc(stack, 'POST', 'com.atproto.server.resetPassword', {
      body: { token: `${token}\u0000`, password: 'new password' } });
    assert.deepEqual(r.body, { error: 'InvalidToken', message: 'Token is invalid' });
    for (const who of ['nobody@nowhere.example', `${email}\u0000`]) {
      r = await xrpc(stack, 'POST', 'com.atproto.server.requestPasswordReset', {
        body: { email: who } });
      assert.deepEqual(r.body, { error: 'InvalidRequest',
        message: 'account does not have an email address' }, who);
    }
    r = await xrpc(stack, 'POST', 'com.atproto.server.requestPasswordReset', { body: {} });
    assert.deepEqual(r.body, { error: 'InvalidRequest', message: 'Missing required key "email" at $' });
    // the old password still works until the reset
    await new AtpAgent({ service: stack.url }).login({ identifier: a.handle, password: a.password });
    await new AtpAgent({ service: stack.url }).com.atproto.server.resetPassword({
      token: token.toLowerCase(), password: 'brand new password' });
    const bad = await xrpcError(new AtpAgent({ service: stack.url }).login({
      identifier: a.handle, password: a.password }));
    assert.equal(bad.ok, false);
    await new AtpAgent({ service: stack.url }).login({ identifier: a.handle,
      password: 'brand new password' });
    // refresh tokens were revoked
    r = await xrpc(stack, 'POST', 'com.atproto.server.refreshSession', {
      auth: `Bearer ${oldRefresh}` });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.body.error, 'ExpiredToken');
    assert.equal(tokenRow(stack, a.did, 'reset_password'), undefined);
  });

  test('expired tokens: 15 minutes', async () => {
    const a = await newAccount(stack, 'exp');
    const email = (await a.agent.com.atproto.server.getSession()).data.email;
    await a.agent.com.atproto.server.requestPasswordReset({ email });
    const token = TOKEN_RE.exec((await smtp.next()).text)[0];
    const old = new Date(Date.now() - 15 * 60 * 1000 - 1000).toISOString();
    db(stack, (d) => d.prepare('UPDATE email_token SET requestedAt = ? WHERE did = ?')
      .run(old, a.did));
    const r = await xrpc(stack, 'POST', 'com.atproto.server.resetPassword', {
      body: { token, password: 'whatever pw' } });
    assert.deepEqual(r.body, { error: 'ExpiredToken', message: 'Token is expired' });
    // a new request replaces the token and its time
    await a.agent.com.atproto.server.requestPasswordReset({ email });
    const t2 = TOKEN_RE.exec((await smtp.next()).text)[0];
    assert.notEqual(t2, token);
    assert.equal(db(stack, (d) => d.prepare('SELECT count(*) AS n FROM email_token WHERE did = ?')
      .get(a.did)).n, 1, 'one token per (purpose, did)');
  });

  test('requestAccountDelete -> deleteAccount', async () => {
    const a = await newAccount(stack, 'del');
    await a.agent.com.atproto.server.requestAccountDelete();
    const m = await smtp.next();
    assert.equal(m.subject, 'Account Deletion Requested');
    assert.match(m.text, /To permanently delete your account, please enter the code below in the app along with your password\./);
    const token = TOKEN_RE.exec(m.text)[0];
    let r = await xrpc(stack, 'POST', 'com.atproto.server.deleteAccount', {
      body: { did: a.did, password: a.password, token: 'AAAAA-AAAAA' } });
    assert.equal(r.body.error, 'InvalidToken');
    await new AtpAgent({ service: stack.url }).com.atproto.server.deleteAccount({
      did: a.did, password: a.password, token });
    r = await xrpc(stack, 'GET', 'com.atproto.sync.getRepoStatus', { query: { did: a.did } });
    assert.equal(r.body.error, 'RepoNotFound');
  });

  test('requestPlcOperationSignature -> signPlcOperation', async () => {
    const a = await newAccount(stack, 'plc');
    let r = await xrpc(stack, 'POST', 'com.atproto.identity.signPlcOperation', {
      auth: bearer(a.agent), body: { token: 'AAAAA-AAAAA' } });
    assert.deepEqual(r.body, { error: 'InvalidToken', message: 'Token is invalid' });
    await a.agent.com.atproto.identity.requestPlcOperationSignature();
    const m = await smtp.next();
    assert.equal(m.subject, 'PLC Update Operation Requested');
    assert.match(m.html, /We received a request to update your PLC/);
    const token = TOKEN_RE.exec(m.text)[0];
    const op = await a.agent.com.atproto.identity.signPlcOperation({ token });
    assert.equal(op.data.operation.type, 'plc_operation');
    assert.ok(op.data.operation.sig);
  });

  test('admin.sendEmail through the moderation mailer (smtps)', async () => {
    const a = await newAccount(stack, 'mod');
    const email = (await a.agent.com.atproto.server.getSession()).data.email;
    let r = await xrpc(stack, 'POST', 'com.atproto.admin.sendEmail', { auth: admin,
      body: { recipientDid: a.did, senderDid: 'did:plc:moderator', content: 'Hello\nfrom the moderators. Caf\u00e9 = ok' } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body, { sent: true });
    const m = await modSmtp.next();
    assert.equal(m.secure, true);
    assert.equal(m.user, 'mod');
    assert.equal(m.mailFrom, 'moderation@pds.test');
    assert.deepEqual(m.rcptTo, [email]);
    assert.equal(m.subject, 'Message via your PDS');
    assert.equal(m.text, 'Hello\r\nfrom the moderators. Caf\u00e9 = ok\r\n');
    assert.equal(m.html, null);
    r = await xrpc(stack, 'POST', 'com.atproto.admin.sendEmail', { auth: admin,
      body: { recipientDid: a.did, senderDid: 'did:plc:moderator', content: 'x',
        subject: 'Your account' } });
    assert.equal((await modSmtp.next()).subject, 'Your account');
    r = await xrpc(stack, 'POST', 'com.atproto.admin.sendEmail', { auth: admin,
      body: { recipientDid: 'did:plc:unknown', senderDid: 'did:plc:moderator', content: 'x' } });
    assert.deepEqual(r.body, { error: 'InvalidRequest', message: 'Recipient not found' });
    r = await xrpc(stack, 'POST', 'com.atproto.admin.sendEmail', { auth: admin,
      body: { recipientDid: a.did, senderDid: 'did:plc:moderator', content: 'x',
        subject: 'Hi\r\nBcc: victim@example.com' } });
    assert.equal(r.status, 400);
    // mailed text keeps no NUL; the comment (ignored) may hold one
    r = await xrpc(stack, 'POST', 'com.atproto.admin.sendEmail', { auth: admin,
      body: { recipientDid: a.did, senderDid: 'did:plc:moderator', content: 'a\u0000b' } });
    assert.deepEqual(r.body, { error: 'InvalidRequest',
      message: 'Invalid string (NUL character) at $.content' });
    r = await xrpc(stack, 'POST', 'com.atproto.admin.sendEmail', {
      body: { recipientDid: a.did, senderDid: 'did:plc:moderator', content: 'x' } });
    assert.equal(r.status, 401);
    assert.equal(modSmtp.messages.length, 2, 'refused requests send nothing');
  });

  test('authentication and takedown checks', async () => {
    const a = await newAccount(stack, 'tdn');
    let r = await xrpc(stack, 'POST', 'com.atproto.server.requestEmailConfirmation');
    assert.equal(r.status, 401);
    assert.equal(r.body.error, 'AuthMissing');
    r = await xrpc(stack, 'POST', 'com.atproto.admin.updateSubjectStatus', { auth: admin,
      body: { subject: { $type: 'com.atproto.admin.defs#repoRef', did: a.did },
        takedown: { applied: true } } });
    assert.equal(r.status, 200, r.text);
    const before = smtp.messages.length;
    r = await xrpc(stack, 'POST', 'com.atproto.server.requestEmailConfirmation', {
      auth: bearer(a.agent) });
    assert.deepEqual(r.body, { error: 'AccountTakedown', message: 'Account has been taken down' });
    assert.equal(smtp.messages.length, before);
  });
});

describe('email flows without a mailer', { skip: !built && 'pds-fcgi not built' }, () => {
  let stack, smtp, admin;

  before(async () => {
    // only the moderation mailer, with a wrong password
    smtp = await startSmtp({ user: 'mod', pass: 'right' });
    stack = await startStack({ workers: 1, env: {
      PDS_MODERATION_EMAIL_SMTP_URL: smtp.url({ pass: 'wrong' }),
      PDS_MODERATION_EMAIL_ADDRESS: 'moderation@pds.test',
    } });
    admin = `Basic ${Buffer.from(`admin:${stack.env.PDS_ADMIN_PASSWORD}`).toString('base64')}`;
  });

  after(async () => {
    const st = await stack?.stop();
    await smtp?.close();
    assert.deepEqual(st?.sanitizer ?? [], [], 'sanitizer reports in the server logs');
  });

  test('tokens are logged and readable in account.sqlite', async () => {
    const a = await newAccount(stack, 'nomail');
    const email = (await a.agent.com.atproto.server.getSession()).data.email;
    await a.agent.com.atproto.server.requestEmailConfirmation();
    const row = tokenRow(stack, a.did, 'confirm_email');
    assert.match(row.token, /^[A-Z2-7]{5}-[A-Z2-7]{5}$/);
    assert.ok(Date.now() - Date.parse(row.requestedAt) < 60000);
    const log = stack.log('fcgi');
    assert.match(log, new RegExp(`mailer: no SMTP URL has been configured; intended to send "Email Confirmation" to ${email.replace(/\./g, '\\.')}: token ${row.token}`));
    assert.doesNotMatch(log, new RegExp(stack.env.PDS_ADMIN_PASSWORD), 'no secrets in the log');
    await a.agent.com.atproto.server.confirmEmail({ email, token: row.token });
    assert.equal((await a.agent.com.atproto.server.getSession()).data.emailConfirmed, true);
    // the other flows too
    await a.agent.com.atproto.server.requestPasswordReset({ email });
    const t = tokenRow(stack, a.did, 'reset_password').token;
    await new AtpAgent({ service: stack.url }).com.atproto.server.resetPassword({
      token: t, password: 'another password' });
    await new AtpAgent({ service: stack.url }).login({ identifier: email, password: 'another password' });
  });

  test('an SMTP failure is a 500, its reason logged without the password', async () => {
    const a = await newAccount(stack, 'smtpfail');
    const r = await xrpc(stack, 'POST', 'com.atproto.admin.sendEmail', { auth: admin,
      body: { recipientDid: a.did, senderDid: 'did:plc:moderator', content: 'x' } });
    assert.equal(r.status, 500);
    assert.deepEqual(r.body, { error: 'InternalServerError', message: 'Internal Server Error' });
    assert.equal(smtp.messages.length, 0);
    assert.match(stack.log('fcgi'), /moderation email to did:plc:\w+ failed: /);
    assert.doesNotMatch(stack.log('fcgi'), /wrong/, 'the SMTP password is not logged');
  });
});
