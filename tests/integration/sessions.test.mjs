// sessions.test.mjs: legacy sessions through real nginx (tests/lib/
// stack.mjs) with the official @atproto/api AtpAgent: login by handle,
// email and DID (the 350 ms floor and the 512-char cap), the exact token
// formats (HS256 at+jwt / refresh+jwt, claims in the reference's order,
// lifetimes), refresh rotation with the 2 h grace period and a stable next
// id, deleteSession (expired tokens too), app passwords (privileged or
// not, scopes, revocation), and refusals with the reference's error names:
// wrong passwords, expired, forged, alg none, wrong-audience and
// wrong-type tokens, refresh reuse after the grace period, and accounts
// taken down or deactivated.  Tokens to refuse are minted here with the
// stack's own PDS_JWT_SECRET and Node's HMAC, independently of the PDS.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { AtpAgent } from '@atproto/api';
import { newAccount } from '../lib/repoutil.mjs';
import { bins, isExecutable, startStack } from '../lib/stack.mjs';

const built = isExecutable(bins.fcgi);
const SERVICE_DID = 'did:web:localhost';
const DAY = 86400;

function withDb(stack, fn) {
  const db = new DatabaseSync(path.join(stack.dataDir, 'account.sqlite'));
  try {
    db.exec('PRAGMA busy_timeout = 5000');
    return fn(db);
  } finally {
    db.close();
  }
}

const b64u = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v))
  .toString('base64url');

/** A compact JWS with HS256 over raw header and payload objects. */
function mint(secret, header, payload) {
  const signing = `${b64u(header)}.${b64u(payload)}`;
  const sig = crypto.createHmac('sha256', secret).update(signing).digest('base64url');
  return `${signing}.${sig}`;
}

function decode(jwt) {
  const [h, p] = jwt.split('.');
  return { header: JSON.parse(Buffer.from(h, 'base64url')),
    payload: JSON.parse(Buffer.from(p, 'base64url')),
    rawHeader: Buffer.from(h, 'base64url').toString(),
    rawPayload: Buffer.from(p, 'base64url').toString() };
}

async function call(stack, method, nsid, token, body) {
  const res = await fetch(`${stack.url}/xrpc/${nsid}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* empty */ }
  return { status: res.status, body: json };
}

const login = (stack, identifier, password, extra = {}) =>
  call(stack, 'POST', 'com.atproto.server.createSession', null,
    { identifier, password, ...extra });

describe('sessions', { skip: !built && 'pds-fcgi not built' }, () => {
  let stack, secret, alice, bob, carol;

  before(async () => {
    stack = await startStack({ workers: 2 });
    secret = stack.env.PDS_JWT_SECRET;
    alice = await newAccount(stack, 'alice');
    bob = await newAccount(stack, 'bob');
    carol = await newAccount(stack, 'carol');
  });

  after(async () => {
    // pds-fcgi's error lines, to explain a failure after the fact
    for (const l of (stack?.log('fcgi') ?? '').split('\n')) {
      if (/ (error|fatal) /.test(l)) console.log(`pds-fcgi: ${l}`);
    }
    await stack?.stop();
  });

  test('login by handle, email and DID; the token formats', async () => {
    const email = `${alice.handle.replace('.test', '')}@example.com`;
    for (const id of [alice.handle.toUpperCase(), email.toUpperCase(), alice.did]) {
      const r = await login(stack, id, alice.password);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(Object.keys(r.body), ['accessJwt', 'refreshJwt', 'did', 'handle',
        'email', 'emailConfirmed', 'active']);
      assert.equal(r.body.did, alice.did);
      assert.equal(r.body.handle, alice.handle);
      assert.equal(r.body.email, email);
      assert.equal(r.body.active, true);
      const acc = decode(r.body.accessJwt);
      assert.equal(acc.rawHeader, '{"typ":"at+jwt","alg":"HS256"}');
      assert.deepEqual(Object.keys(acc.payload), ['scope', 'aud', 'sub', 'iat', 'exp']);
      assert.equal(acc.payload.scope, 'com.atproto.access');
      assert.equal(acc.payload.aud, SERVICE_DID);
      assert.equal(acc.payload.sub, alice.did);
      assert.equal(acc.payload.exp - acc.payload.iat, 120 * 60);
      assert.ok(Math.abs(acc.payload.iat - Date.now() / 1000) < 30);
      const ref = decode(r.body.refreshJwt);
      assert.equal(ref.rawHeader, '{"typ":"refresh+jwt","alg":"HS256"}');
      assert.deepEqual(Object.keys(ref.payload), ['scope', 'aud', 'sub', 'jti', 'iat', 'exp']);
      assert.equal(ref.payload.scope, 'com.atproto.refresh');
      assert.equal(ref.payload.exp - ref.payload.iat, 90 * DAY);
      assert.match(ref.payload.jti, /^[A-Za-z0-9+/]{43}$/);
      // the signature is HS256 over the secret's UTF-8 bytes
      const [h, p] = r.body.accessJwt.split('.');
      assert.equal(mint(secret, JSON.parse(acc.rawHeader), acc.payload),
        `${h}.${p}.${r.body.accessJwt.split('.')[2]}`);
      const row = withDb(stack, (db) => db.prepare('SELECT did, expiresAt, nextId, '
        + 'appPasswordName FROM refresh_token WHERE id = ?').get(ref.payload.jti));
      assert.deepEqual({ ...row }, { did: alice.did, nextId: null, appPasswordName: null,
        expiresAt: new Date(ref.payload.exp * 1000).toISOString() });
    }
    // the official client end to end, and a write with the session
    const agent = new AtpAgent({ service: stack.url });
    await agent.login({ identifier: alice.handle, password: alice.password });
    const s = await agent.com.atproto.server.getSession();
    assert.deepEqual(Object.keys(s.data), ['did', 'handle', 'email', 'emailConfirmed', 'active']);
    const rec = await agent.com.atproto.repo.createRecord({ repo: alice.did,
      collection: 'app.bsky.feed.post', record: { text: 'hi', createdAt: new Date().toISOString() } });
    assert.match(rec.data.uri, /^at:\/\//);
  });

  test('wrong passwords and unknown identifiers: 401 after at least 350 ms', async () => {
    // an identifier or password with a NUL is all of it: never cut short
    // into alice's (JSON.parse keeps "\u0000").  Not a trailing NUL on a
    // password: scrypt's HMAC pads keys with zeros, so "pw\u0000" is "pw"
    // for the reference too.
    const email = `${alice.handle.replace('.test', '')}@example.com`;
    for (const [id, pw] of [[alice.handle, 'wrong'], ['nobody.test', 'x'],
      ['nobody@example.com', 'x'], ['did:plc:aaaaaaaaaaaaaaaaaaaaaaaa', 'x'],
      ['not an identifier', 'x'], [alice.handle, ''],
      [`${alice.handle}\u0000x`, alice.password], [`${email}\u0000`, alice.password],
      [`${alice.did}\u0000`, alice.password], [alice.handle, `${alice.password}\u0000x`]]) {
      const t0 = Date.now();
      const r = await login(stack, id, pw);
      const ms = Date.now() - t0;
      assert.equal(r.status, 401, id);
      assert.deepEqual(r.body, { error: 'AuthenticationRequired',
        message: 'Invalid identifier or password' });
      assert.ok(ms >= 345, `${id}: answered after ${ms} ms`);
    }
    const long = await login(stack, alice.handle, 'x'.repeat(513));
    assert.deepEqual(long.body, { error: 'AuthenticationRequired',
      message: 'Password too long. Consider resetting your password.' });
    const missing = await call(stack, 'POST', 'com.atproto.server.createSession', null,
      { identifier: alice.handle });
    assert.deepEqual(missing.body, { error: 'InvalidRequest',
      message: 'Missing required key "password" at $' });
    const typed = await call(stack, 'POST', 'com.atproto.server.createSession', null,
      { identifier: alice.handle, password: alice.password, allowTakendown: 'yes' });
    assert.deepEqual(typed.body, { error: 'InvalidRequest',
      message: 'Expected boolean value type (got "yes") at $.allowTakendown' });
  });

  test('bad tokens are refused with the reference\'s error names', async () => {
    const now = Math.floor(Date.now() / 1000);
    const hdr = { typ: 'at+jwt', alg: 'HS256' };
    const claims = { scope: 'com.atproto.access', aud: SERVICE_DID, sub: alice.did,
      iat: now, exp: now + 600 };
    const get = (t) => call(stack, 'GET', 'com.atproto.server.getSession', t);
    assert.equal((await get(mint(secret, hdr, claims))).status, 200, 'a minted token works');
    const cases = [
      [mint(secret, hdr, { ...claims, iat: now - 9000, exp: now - 60 }), 'ExpiredToken'],
      [mint('not-the-secret', hdr, claims), 'InvalidToken'],
      [`${b64u({ typ: 'at+jwt', alg: 'none' })}.${b64u(claims)}.`, 'InvalidToken'],
      [`${b64u({ typ: 'at+jwt', alg: 'none' })}.${b64u(claims)}.${b64u('x')}`, 'InvalidToken'],
      [mint(secret, hdr, { ...claims, aud: 'did:web:elsewhere.example' }), 'InvalidToken'],
      [mint(secret, { ...hdr, typ: 'refresh+jwt' }, claims), 'InvalidToken'],
      [mint(secret, hdr, { ...claims, scope: 'com.atproto.refresh' }), 'InvalidToken'],
      [mint(secret, hdr, { ...claims, scope: 'com.atproto.everything' }), 'InvalidToken'],
      [mint(secret, hdr, { ...claims, lxm: 'com.atproto.server.getSession' }), 'InvalidToken'],
      [mint(secret, { ...hdr, alg: 'HS512' }, claims), 'InvalidToken'],
      ['garbage', 'InvalidToken'],
    ];
    for (const [tok, error] of cases) {
      const r = await get(tok);
      assert.equal(r.status, 400, `${tok}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error, error, tok);
    }
    const none = await get(null);
    assert.deepEqual({ status: none.status, error: none.body.error },
      { status: 401, error: 'AuthMissing' });
    // an access token is not a refresh token, and the other way round
    const s = (await login(stack, bob.handle, bob.password)).body;
    const r1 = await call(stack, 'POST', 'com.atproto.server.refreshSession', s.accessJwt);
    assert.equal(r1.body.error, 'InvalidToken');
    const r2 = await get(s.refreshJwt);
    assert.equal(r2.body.error, 'InvalidToken');
  });

  test('refresh rotation: 2 h grace with a stable next id, then revoked', async () => {
    const s0 = (await login(stack, bob.handle, bob.password)).body;
    const jti0 = decode(s0.refreshJwt).payload.jti;
    const r1 = await call(stack, 'POST', 'com.atproto.server.refreshSession', s0.refreshJwt);
    assert.equal(r1.status, 200, JSON.stringify(r1.body));
    assert.deepEqual(Object.keys(r1.body), ['accessJwt', 'refreshJwt', 'did', 'handle', 'email',
      'emailConfirmed', 'active']);
    const jti1 = decode(r1.body.refreshJwt).payload.jti;
    assert.notEqual(jti1, jti0);
    const old = withDb(stack, (db) => db.prepare('SELECT expiresAt, nextId FROM refresh_token '
      + 'WHERE id = ?').get(jti0));
    assert.equal(old.nextId, jti1);
    const grace = Date.parse(old.expiresAt) - Date.now();
    assert.ok(grace > 2 * 3600e3 - 60e3 && grace <= 2 * 3600e3, `grace ${grace} ms`);
    // reuse inside the grace period: the same next id
    const again = await call(stack, 'POST', 'com.atproto.server.refreshSession', s0.refreshJwt);
    assert.equal(again.status, 200);
    assert.equal(decode(again.body.refreshJwt).payload.jti, jti1);
    // after the grace period the old token is refused
    withDb(stack, (db) => db.prepare('UPDATE refresh_token SET expiresAt = ? WHERE id = ?')
      .run(new Date(Date.now() - 1000).toISOString(), jti0));
    const late = await call(stack, 'POST', 'com.atproto.server.refreshSession', s0.refreshJwt);
    assert.deepEqual(late.body, { error: 'ExpiredToken', message: 'Token has been revoked' });
    // the rotated one still works, and the agent refreshes on its own
    const r2 = await call(stack, 'POST', 'com.atproto.server.refreshSession', r1.body.refreshJwt);
    assert.equal(r2.status, 200);
    const agent = new AtpAgent({ service: stack.url });
    await agent.login({ identifier: bob.handle, password: bob.password });
    const before = agent.session.refreshJwt;
    await agent.sessionManager.refreshSession();
    assert.notEqual(agent.session.refreshJwt, before);
    await agent.com.atproto.server.getSession();
  });

  test('deleteSession: the refresh token is gone, expired ones are accepted', async () => {
    const s = (await login(stack, bob.handle, bob.password)).body;
    const del = await call(stack, 'POST', 'com.atproto.server.deleteSession', s.refreshJwt);
    assert.equal(del.status, 200);
    const r = await call(stack, 'POST', 'com.atproto.server.refreshSession', s.refreshJwt);
    assert.deepEqual(r.body, { error: 'ExpiredToken', message: 'Token has been revoked' });
    // an expired refresh token still ends its session
    const s2 = (await login(stack, bob.handle, bob.password)).body;
    const jti = decode(s2.refreshJwt).payload.jti;
    const now = Math.floor(Date.now() / 1000);
    const expired = mint(secret, { typ: 'refresh+jwt', alg: 'HS256' }, { scope:
      'com.atproto.refresh', aud: SERVICE_DID, sub: bob.did, jti, iat: now - 100, exp: now - 10 });
    const refreshed = await call(stack, 'POST', 'com.atproto.server.refreshSession', expired);
    assert.equal(refreshed.body.error, 'ExpiredToken');
    const del2 = await call(stack, 'POST', 'com.atproto.server.deleteSession', expired);
    assert.equal(del2.status, 200);
    assert.equal(withDb(stack, (db) => db.prepare('SELECT count(*) n FROM refresh_token '
      + 'WHERE id = ?').get(jti).n), 0);
    const noTok = await call(stack, 'POST', 'com.atproto.server.deleteSession', null);
    assert.equal(noTok.status, 401);
  });

  test('app passwords: scopes, listing, privilege, revocation', async () => {
    const agent = new AtpAgent({ service: stack.url });
    await agent.login({ identifier: carol.handle, password: carol.password });
    const plain = (await agent.com.atproto.server.createAppPassword({ name: 'phone' })).data;
    assert.match(plain.password, /^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$/);
    assert.equal(plain.privileged, false);
    const priv = (await agent.com.atproto.server.createAppPassword({ name: 'desktop',
      privileged: true })).data;
    assert.equal(priv.privileged, true);
    await assert.rejects(agent.com.atproto.server.createAppPassword({ name: 'phone' }),
      { status: 400 });
    const list = (await agent.com.atproto.server.listAppPasswords()).data.passwords;
    assert.deepEqual(list.map((p) => [p.name, p.privileged]), [['desktop', true], ['phone', false]]);
    assert.ok(list.every((p) => !('password' in p)));
    // log in with them
    const a1 = await login(stack, carol.handle, plain.password);
    assert.equal(decode(a1.body.accessJwt).payload.scope, 'com.atproto.appPass');
    const a2 = await login(stack, carol.did, priv.password);
    assert.equal(decode(a2.body.accessJwt).payload.scope, 'com.atproto.appPassPrivileged');
    const row = withDb(stack, (db) => db.prepare('SELECT appPasswordName FROM refresh_token '
      + 'WHERE id = ?').get(decode(a1.body.refreshJwt).payload.jti));
    assert.equal(row.appPasswordName, 'phone');
    // the scope survives a refresh
    const rr = await call(stack, 'POST', 'com.atproto.server.refreshSession', a1.body.refreshJwt);
    assert.equal(decode(rr.body.accessJwt).payload.scope, 'com.atproto.appPass');
    // app-password sessions may write, not manage app passwords
    const appAgent = new AtpAgent({ service: stack.url });
    await appAgent.login({ identifier: carol.handle, password: plain.password });
    await appAgent.com.atproto.repo.createRecord({ repo: carol.did,
      collection: 'app.bsky.feed.post', record: { text: 'via app password',
        createdAt: new Date().toISOString() } });
    const nope = await call(stack, 'POST', 'com.atproto.server.createAppPassword',
      a1.body.accessJwt, { name: 'sneaky' });
    assert.equal(nope.status, 400);
    assert.equal(nope.body.error, 'InvalidToken');
    // an app password and more after a NUL is another password
    const nulPw = await login(stack, carol.handle, `${plain.password}\u0000x`);
    assert.equal(nulPw.status, 401);
    // a name with a NUL: not stored (a C string cannot hold it), and it
    // names no password to revoke
    const nulName = await call(stack, 'POST', 'com.atproto.server.createAppPassword',
      agent.session.accessJwt, { name: 'pho\u0000ne' });
    assert.deepEqual(nulName.body, { error: 'InvalidRequest',
      message: 'Invalid string (NUL character) at $.name' });
    const nulRevoke = await call(stack, 'POST', 'com.atproto.server.revokeAppPassword',
      agent.session.accessJwt, { name: 'desktop\u0000' });
    assert.equal(nulRevoke.status, 200);
    assert.equal((await login(stack, carol.did, priv.password)).status, 200);
    // revoking ends its sessions and its logins
    await agent.com.atproto.server.revokeAppPassword({ name: 'phone' });
    const dead = await call(stack, 'POST', 'com.atproto.server.refreshSession',
      rr.body.refreshJwt);
    assert.deepEqual(dead.body, { error: 'ExpiredToken', message: 'Token has been revoked' });
    const gone = await login(stack, carol.handle, plain.password);
    assert.equal(gone.status, 401);
    const list2 = (await agent.com.atproto.server.listAppPasswords()).data.passwords;
    assert.deepEqual(list2.map((p) => p.name), ['desktop']);
  });

  test('taken-down and deactivated accounts are refused', async () => {
    const agent = new AtpAgent({ service: stack.url });
    await agent.login({ identifier: alice.handle, password: alice.password });
    const app = (await agent.com.atproto.server.createAppPassword({ name: 'td' })).data;
    const s = (await login(stack, alice.handle, alice.password)).body;
    withDb(stack, (db) => db.prepare('UPDATE actor SET takedownRef = ? WHERE did = ?')
      .run('test-takedown', alice.did));
    const write = await call(stack, 'POST', 'com.atproto.repo.createRecord', s.accessJwt,
      { repo: alice.did, collection: 'app.bsky.feed.post',
        record: { text: 'x', createdAt: new Date().toISOString() } });
    assert.deepEqual({ status: write.status, error: write.body.error },
      { status: 401, error: 'AccountTakedown' });
    const cap = await call(stack, 'POST', 'com.atproto.server.createAppPassword', s.accessJwt,
      { name: 'x' });
    assert.equal(cap.body.error, 'AccountTakedown');
    const l = await login(stack, alice.handle, alice.password);
    assert.deepEqual(l.body, { error: 'AccountTakedown', message: 'Account has been taken down' });
    const la = await login(stack, alice.handle, app.password, { allowTakendown: true });
    assert.equal(la.status, 401, 'no app passwords for taken-down accounts');
    const lt = await login(stack, alice.handle, alice.password, { allowTakendown: true });
    assert.equal(lt.status, 200);
    assert.equal(lt.body.active, false);
    assert.equal(lt.body.status, 'takendown');
    assert.equal(decode(lt.body.accessJwt).payload.scope, 'com.atproto.takendown');
    assert.equal(withDb(stack, (db) => db.prepare('SELECT count(*) n FROM refresh_token '
      + 'WHERE id = ?').get(decode(lt.body.refreshJwt).payload.jti).n), 0);
    const rf = await call(stack, 'POST', 'com.atproto.server.refreshSession', s.refreshJwt);
    assert.deepEqual(rf.body, { error: 'AccountTakedown', message: 'Account has been taken down' });
    const gs = await call(stack, 'GET', 'com.atproto.server.getSession', lt.body.accessJwt);
    assert.equal(gs.body.error, 'InvalidToken', 'the takendown scope is not enough');
    withDb(stack, (db) => db.prepare('UPDATE actor SET takedownRef = NULL WHERE did = ?')
      .run(alice.did));
    // deactivation: writes refused with AccountDeactivated, login says so
    await agent.com.atproto.server.deactivateAccount({});
    const w2 = await call(stack, 'POST', 'com.atproto.repo.createRecord', s.accessJwt,
      { repo: alice.did, collection: 'app.bsky.feed.post',
        record: { text: 'x', createdAt: new Date().toISOString() } });
    assert.deepEqual({ status: w2.status, error: w2.body.error },
      { status: 401, error: 'AccountDeactivated' });
    const ld = await login(stack, alice.handle, alice.password);
    assert.equal(ld.body.status, 'deactivated');
    await agent.com.atproto.server.activateAccount();
    const w3 = await call(stack, 'POST', 'com.atproto.repo.createRecord', s.accessJwt,
      { repo: alice.did, collection: 'app.bsky.feed.post',
        record: { text: 'back', createdAt: new Date().toISOString() } });
    assert.equal(w3.status, 200);
  });
});
