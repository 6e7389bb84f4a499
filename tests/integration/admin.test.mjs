// admin.test.mjs: the admin API, invites and pdsadmin through real nginx
// (tests/lib/stack.mjs), a real PLC directory and the official clients:
// contrib/pdsadmin/pdsadmin run against the stack (PDS_ENV_FILE = a test
// pds.env, PDS_ADMIN_URL = the test URL) for every subcommand and its
// exact output; account takedown and its reversal (login and writes
// refused with the reference's errors, #account events, refresh tokens
// revoked), record and blob takedowns (quarantine), deactivation;
// getAccountInfo(s), updateAccountHandle / Email / Password, deleteAccount;
// invite listings with keyset cursors, disabling, interval minting; Basic
// admin auth and the moderation service's JWT (iss PDS_MOD_SERVICE_DID or
// #atproto_labeler, checked against its DID document); bad input refused
// with the XRPC error JSON and nothing written.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { AtpAgent } from '@atproto/api';
import { Secp256k1Keypair } from '@atproto/crypto';
import * as plcLib from '@did-plc/lib';
import { createServiceJwt } from '@atproto/xrpc-server';
import { startPlc } from '../lib/plc-server.mjs';
import { newAccount, seqRows, sleep, xrpcError } from '../lib/repoutil.mjs';
import { bins, isExecutable, repoRoot, startStack } from '../lib/stack.mjs';

const built = isExecutable(bins.fcgi);
const PDSADMIN = path.join(repoRoot, 'contrib/pdsadmin/pdsadmin');
const SERVICE_DID = 'did:web:localhost';
const REPO_REF = 'com.atproto.admin.defs#repoRef';

function rows(stack, sql, ...args) {
  const d = new DatabaseSync(path.join(stack.dataDir, 'account.sqlite'));
  try {
    d.exec('PRAGMA busy_timeout = 5000');
    return d.prepare(sql).all(...args).map((r) => ({ ...r }));
  } finally {
    d.close();
  }
}

async function xrpc(stack, method, nsid, { body, query, auth, raw } = {}) {
  const qs = query ? `?${new URLSearchParams(query)}` : '';
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (auth) headers.authorization = auth;
  const res = await fetch(`${stack.url}/xrpc/${nsid}${qs}`, { method, headers,
    body: raw ?? (body === undefined ? undefined : JSON.stringify(body)) });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* empty */ }
  return { status: res.status, body: json, text, headers: res.headers };
}

/** A did:plc for the moderation service: #atproto and #atproto_label keys. */
async function modService(plcUrl) {
  const atproto = await Secp256k1Keypair.create();
  const label = await Secp256k1Keypair.create();
  const rotation = await Secp256k1Keypair.create();
  const op = await plcLib.signOperation({ type: 'plc_operation',
    verificationMethods: { atproto: atproto.did(), atproto_label: label.did() },
    rotationKeys: [rotation.did()], alsoKnownAs: ['at://mod.test'],
    services: { atproto_labeler: { type: 'AtprotoLabeler',
      endpoint: 'https://mod.example.com' } }, prev: null }, rotation);
  const did = await plcLib.didForCreateOp(op);
  await new plcLib.Client(plcUrl).sendOperation(did, op);
  return { did, atproto, label };
}

/** Runs pdsadmin with the test env file; resolves to {status, stdout,
 * stderr}.  Asynchronous, so that servers in this process can answer it. */
function pdsadmin(ctx, args, { input = '', env = {} } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [PDSADMIN, ...args], { env: { PATH: process.env.PATH,
      HOME: process.env.HOME ?? '/tmp', PDS_ENV_FILE: ctx.envFile,
      PDS_ADMIN_URL: ctx.stack.url, ...env } });
    let stdout = '', stderr = '';
    const t = setTimeout(() => child.kill('SIGKILL'), 60000);
    child.stdout.on('data', (c) => { stdout += c; });
    child.stderr.on('data', (c) => { stderr += c; });
    child.on('error', reject);
    child.on('close', (status) => { clearTimeout(t); resolve({ status, stdout, stderr }); });
    child.stdin.on('error', () => { /* exited before reading */ });
    child.stdin.end(input);
  });
}

/** A relay stand-in that records requestCrawl POSTs. */
async function fakeRelay() {
  const hits = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      hits.push({ method: req.method, url: req.url, type: req.headers['content-type'], body });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}`, hits,
    close: () => new Promise((r) => server.close(r)) };
}

const lastAccountEvent = (stack, did) => seqRows(stack, did).filter((e) => e.type === 'account').at(-1);

describe('admin API, invites and pdsadmin', { skip: !built && 'pds-fcgi not built' }, () => {
  const ctx = {};
  let stack, plc, mod, admin;

  before(async () => {
    plc = await startPlc();
    mod = await modService(plc.url);
    stack = await startStack({ workers: 2, plcUrl: plc.url, env: {
      PDS_INVITE_REQUIRED: 'true',
      PDS_INVITE_INTERVAL: '1000',
      PDS_MOD_SERVICE_DID: mod.did,
      PDS_MOD_SERVICE_URL: 'https://mod.example.com',
    } });
    ctx.stack = stack;
    admin = `Basic ${Buffer.from(`admin:${stack.env.PDS_ADMIN_PASSWORD}`).toString('base64')}`;
    // the env file an operator's pdsadmin reads (the installer's keys)
    ctx.envFile = path.join(stack.runDir, 'pds.env');
    fs.writeFileSync(ctx.envFile, [
      'PDS_HOSTNAME=localhost',
      `PDS_JWT_SECRET=${stack.env.PDS_JWT_SECRET}`,
      `PDS_ADMIN_PASSWORD=${stack.env.PDS_ADMIN_PASSWORD}`,
      `PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX=${stack.env.PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX}`,
      `PDS_DATA_DIRECTORY=${stack.dataDir}`,
      'PDS_BLOB_UPLOAD_LIMIT=104857600',
      'PDS_CRAWLERS=',
      'LOG_ENABLED=true',
      '',
    ].join('\n'), { mode: 0o600 });
  });

  after(async () => {
    const st = await stack?.stop();
    await plc?.close();
    assert.deepEqual(st?.sanitizer ?? [], [], 'sanitizer reports in the server logs');
  });

  /** An admin-created account (invites are required here). */
  async function account(prefix) {
    const inv = await xrpc(stack, 'POST', 'com.atproto.server.createInviteCode', {
      auth: admin, body: { useCount: 1 } });
    const n = `${prefix}${crypto.randomBytes(3).toString('hex')}`;
    const agent = new AtpAgent({ service: stack.url });
    const password = `pw-${n}`;
    const r = await agent.createAccount({ handle: `${n}.test`, email: `${n}@example.com`,
      password, inviteCode: inv.body.code });
    return { agent, did: r.data.did, handle: `${n}.test`, password, email: `${n}@example.com`,
      invite: inv.body.code };
  }

  describe('pdsadmin', () => {
    let alice;

    test('help', async () => {
      const r = await pdsadmin(ctx, ['help']);
      assert.equal(r.status, 0);
      assert.match(r.stdout, /^pdsadmin help\n--\nupdate\n  Update to the latest PDS version\.\n/);
      assert.match(r.stdout, /  reset-password <DID>\n    Reset a password for an account specified by DID\.\n/);
      assert.equal((await pdsadmin(ctx, [])).stdout, r.stdout, 'help is the default');
      const u = await pdsadmin(ctx, ['update']);
      assert.equal(u.status, 1);
      assert.match(u.stderr, /^ERROR: /);
    });

    test('create-invite-code', async () => {
      const r = await pdsadmin(ctx, ['create-invite-code']);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^localhost-[a-z2-7]{5}-[a-z2-7]{5}\n$/);
      const code = r.stdout.trim();
      assert.deepEqual(rows(stack, 'SELECT availableUses, forAccount, createdBy FROM invite_code WHERE code = ?', code),
        [{ availableUses: 1, forAccount: 'admin', createdBy: 'admin' }]);
    });

    test('account create', async () => {
      const r = await pdsadmin(ctx, ['account', 'create', 'alice@example.com', 'alice.test']);
      assert.equal(r.status, 0, r.stderr);
      const m = /^\nAccount created successfully!\n-{29}\nHandle   : alice\.test\nDID      : (did:plc:[a-z2-7]{24})\nPassword : ([A-Za-z0-9]{24})\n-{29}\nSave this password, it will not be displayed again\.\n\n$/.exec(r.stdout);
      assert.ok(m, r.stdout);
      alice = { did: m[1], password: m[2], handle: 'alice.test' };
      const agent = new AtpAgent({ service: stack.url });
      await agent.login({ identifier: 'alice.test', password: alice.password });
      assert.equal(agent.session.did, alice.did);
      alice.agent = agent;
      // the handle is taken now
      const again = await pdsadmin(ctx, ['account', 'create', 'other@example.com', 'alice.test']);
      assert.equal(again.status, 1);
      assert.equal(again.stderr, `ERROR: Handle already taken: alice.test\nUsage: ${PDSADMIN} account create <EMAIL> <HANDLE>\n`);
      // arguments read from stdin when missing
      const prompted = await pdsadmin(ctx, ['account', 'create'], { input: 'bob@example.com\nbob.test\n' });
      assert.equal(prompted.status, 0, prompted.stderr);
      assert.match(prompted.stdout, /Handle   : bob\.test\n/);
    });

    test('account list', async () => {
      const r = await pdsadmin(ctx, ['account', 'list']);
      assert.equal(r.status, 0, r.stderr);
      const lines = r.stdout.trimEnd().split('\n').map((l) => l.split(/\s+/));
      assert.deepEqual(lines[0], ['Handle', 'Email', 'DID']);
      assert.ok(lines.some((l) => l[0] === 'alice.test' && l[1] === 'alice@example.com'
        && l[2] === alice.did), r.stdout);
      assert.ok(lines.some((l) => l[0] === 'bob.test'), r.stdout);
    });

    test('account takedown: login and writes refused, #account takendown', async () => {
      const refresh = alice.agent.session.refreshJwt;
      const r = await pdsadmin(ctx, ['account', 'takedown', alice.did]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, `${alice.did} taken down\n`);
      const login = await xrpc(stack, 'POST', 'com.atproto.server.createSession', {
        body: { identifier: 'alice.test', password: alice.password } });
      assert.equal(login.status, 401, login.text);
      assert.deepEqual(login.body, { error: 'AccountTakedown', message: 'Account has been taken down' });
      const write = await xrpc(stack, 'POST', 'com.atproto.repo.createRecord', {
        auth: `Bearer ${alice.agent.session.accessJwt}`,
        body: { repo: alice.did, collection: 'app.bsky.feed.post',
          record: { $type: 'app.bsky.feed.post', text: 'hi', createdAt: new Date().toISOString() } } });
      assert.equal(write.status, 401, write.text);
      assert.deepEqual(write.body, { error: 'AccountTakedown', message: 'Account has been taken down' });
      const ref = await xrpc(stack, 'POST', 'com.atproto.server.refreshSession', {
        auth: `Bearer ${refresh}` });
      assert.deepEqual(ref.body, { error: 'AccountTakedown', message: 'Account has been taken down' });
      assert.equal(rows(stack, 'SELECT count(*) AS n FROM refresh_token WHERE did = ?',
        alice.did)[0].n, 0, 'refresh tokens revoked');
      const st = await xrpc(stack, 'GET', 'com.atproto.admin.getSubjectStatus', {
        auth: admin, query: { did: alice.did } });
      assert.equal(st.status, 200, st.text);
      assert.deepEqual(Object.keys(st.body), ['subject', 'takedown', 'deactivated']);
      assert.deepEqual(st.body.subject, { $type: REPO_REF, did: alice.did });
      assert.equal(st.body.takedown.applied, true);
      assert.match(st.body.takedown.ref, /^\d{10}$/, 'pdsadmin sends the unix time');
      assert.deepEqual(st.body.deactivated, { applied: false });
      const ev = lastAccountEvent(stack, alice.did);
      assert.deepEqual(ev.body, { did: alice.did, active: false, status: 'takendown' });
      const rs = await xrpc(stack, 'GET', 'com.atproto.sync.getRepoStatus', { query: { did: alice.did } });
      assert.equal(rs.body.active, false);
      assert.equal(rs.body.status, 'takendown');
    });

    test('account untakedown restores login and writes', async () => {
      const r = await pdsadmin(ctx, ['account', 'untakedown', alice.did]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, `${alice.did} untaken down\n`);
      const agent = new AtpAgent({ service: stack.url });
      await agent.login({ identifier: 'alice.test', password: alice.password });
      await agent.com.atproto.repo.createRecord({ repo: alice.did, collection: 'app.bsky.feed.post',
        record: { $type: 'app.bsky.feed.post', text: 'back', createdAt: new Date().toISOString() } });
      alice.agent = agent;
      const ev = lastAccountEvent(stack, alice.did);
      assert.deepEqual(ev.body, { did: alice.did, active: true });
      const st = await xrpc(stack, 'GET', 'com.atproto.admin.getSubjectStatus', {
        auth: admin, query: { did: alice.did } });
      assert.deepEqual(st.body.takedown, { applied: false });
    });

    test('account reset-password', async () => {
      const refresh = alice.agent.session.refreshJwt;
      const r = await pdsadmin(ctx, ['account', 'reset-password', alice.did]);
      assert.equal(r.status, 0, r.stderr);
      const m = new RegExp(`^\\nPassword reset for ${alice.did}\\nNew password: ([A-Za-z0-9]{24})\\n\\n$`).exec(r.stdout);
      assert.ok(m, r.stdout);
      const old = await xrpcError(new AtpAgent({ service: stack.url }).login({
        identifier: 'alice.test', password: alice.password }));
      assert.equal(old.ok, false);
      await new AtpAgent({ service: stack.url }).login({ identifier: 'alice.test', password: m[1] });
      const ref = await xrpc(stack, 'POST', 'com.atproto.server.refreshSession', {
        auth: `Bearer ${refresh}` });
      assert.equal(ref.status, 400, 'refresh tokens revoked');
    });

    test('bad DIDs are refused before any request', async () => {
      for (const sub of ['delete', 'takedown', 'untakedown', 'reset-password']) {
        let r = await pdsadmin(ctx, ['account', sub]);
        assert.equal(r.status, 1);
        assert.match(r.stderr, /^ERROR: missing DID parameter\.\n/);
        r = await pdsadmin(ctx, ['account', sub, 'alice.test']);
        assert.equal(r.status, 1);
        assert.match(r.stderr, /^ERROR: DID parameter must start with "did:"\.\n/);
      }
      const r = await pdsadmin(ctx, ['account', 'frobnicate']);
      assert.equal(r.status, 1);
      assert.equal(r.stderr, 'Unknown subcommand: frobnicate\n');
    });

    test('account delete asks first', async () => {
      let r = await pdsadmin(ctx, ['account', 'delete', alice.did], { input: 'n\n' });
      assert.equal(r.status, 0);
      assert.equal(r.stdout, 'This action is permanent.\n');
      assert.equal(rows(stack, 'SELECT did FROM actor WHERE did = ?', alice.did).length, 1);
      r = await pdsadmin(ctx, ['account', 'delete', alice.did], { input: 'y\n' });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, `This action is permanent.\n${alice.did} deleted\n`);
      assert.equal(rows(stack, 'SELECT did FROM actor WHERE did = ?', alice.did).length, 0);
      const evs = seqRows(stack, alice.did);
      assert.equal(evs.length, 1, 'earlier events purged');
      assert.deepEqual(evs[0].body, { did: alice.did, active: false, status: 'deleted' });
    });

    test('request-crawl', async () => {
      const a = await fakeRelay();
      const b = await fakeRelay();
      try {
        let r = await pdsadmin(ctx, ['request-crawl', `${a.url},${b.url}`]);
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout, `Requesting crawl from ${a.url}\nRequesting crawl from ${b.url}\ndone\n`);
        for (const relay of [a, b]) {
          assert.deepEqual(relay.hits, [{ method: 'POST', url: '/xrpc/com.atproto.sync.requestCrawl',
            type: 'application/json', body: '{"hostname":"localhost"}' }]);
        }
        r = await pdsadmin(ctx, ['request-crawl']);
        assert.equal(r.status, 1);
        assert.match(r.stderr, /^ERROR: missing RELAY HOST parameter\.\n/);
        // PDS_CRAWLERS from the env file
        const env2 = path.join(stack.runDir, 'pds2.env');
        fs.writeFileSync(env2, fs.readFileSync(ctx.envFile, 'utf8')
          .replace('PDS_CRAWLERS=', `PDS_CRAWLERS=${a.url}`));
        r = await pdsadmin(ctx, ['request-crawl'], { env: { PDS_ENV_FILE: env2 } });
        assert.equal(r.status, 0, r.stderr);
        assert.equal(a.hits.length, 2);
      } finally {
        await a.close();
        await b.close();
      }
    });

    test('an unreadable env file, a wrong admin password', async () => {
      let r = await pdsadmin(ctx, ['create-invite-code'], { env: { PDS_ENV_FILE: '/nonexistent/pds.env' } });
      assert.equal(r.status, 1);
      assert.match(r.stderr, /^ERROR: cannot read \/nonexistent\/pds\.env/);
      const bad = path.join(stack.runDir, 'bad.env');
      fs.writeFileSync(bad, 'PDS_HOSTNAME=localhost\nPDS_ADMIN_PASSWORD=wrong\n');
      r = await pdsadmin(ctx, ['create-invite-code'], { env: { PDS_ENV_FILE: bad } });
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /401/);
    });
  });

  describe('admin auth', () => {
    let a;
    before(async () => { a = await account('auth'); });

    const jwt = (o) => createServiceJwt({ iss: `${mod.did}#atproto_labeler`, aud: SERVICE_DID,
      lxm: 'com.atproto.admin.getAccountInfo', keypair: mod.label, ...o });
    const info = (auth) => xrpc(stack, 'GET', 'com.atproto.admin.getAccountInfo', {
      auth, query: { did: a.did } });

    test('Basic admin', async () => {
      let r = await info();
      assert.equal(r.status, 401);
      assert.deepEqual(r.body, { error: 'AuthenticationRequired', message: 'Authentication Required' });
      assert.equal(r.headers.get('cache-control'), 'private');
      r = await info(`Basic ${Buffer.from('admin:nope').toString('base64')}`);
      assert.equal(r.status, 401);
      r = await info(`Basic ${Buffer.from(`root:${stack.env.PDS_ADMIN_PASSWORD}`).toString('base64')}`);
      assert.equal(r.status, 401);
      r = await info(admin);
      assert.equal(r.status, 200, r.text);
      r = await info('Basic');
      assert.equal(r.status, 400);
      assert.equal(r.body.error, 'InvalidToken');
    });

    test('the moderation service JWT', async () => {
      let r = await info(`Bearer ${await jwt()}`);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.did, a.did);
      r = await info(`Bearer ${await jwt({ iss: mod.did, keypair: mod.atproto })}`);
      assert.equal(r.status, 200, r.text);
      const cases = [
        [{ lxm: 'com.atproto.admin.getAccountInfos' }, 'BadJwtLexiconMethod',
          'bad jwt lexicon method ("lxm"). must match: com.atproto.admin.getAccountInfo'],
        [{ lxm: undefined }, 'BadJwtLexiconMethod',
          'missing jwt lexicon method ("lxm"). must match: com.atproto.admin.getAccountInfo'],
        [{ iss: a.did, keypair: mod.label }, 'UntrustedIss', 'Untrusted issuer'],
        [{ aud: 'did:web:elsewhere.example' }, 'BadJwtAudience', 'jwt audience does not match service did'],
        [{ exp: Math.floor(Date.now() / 1000) - 10 }, 'JwtExpired', 'jwt expired'],
        [{ keypair: mod.atproto }, 'BadJwtSignature', 'jwt signature does not match jwt issuer'],
        [{ iss: mod.did, keypair: mod.label }, 'BadJwtSignature', 'jwt signature does not match jwt issuer'],
      ];
      for (const [o, error, message] of cases) {
        r = await info(`Bearer ${await jwt(o)}`);
        assert.equal(r.status, 401, `${error}: ${r.text}`);
        assert.deepEqual(r.body, { error, message });
      }
      // a user's access token is not a service JWT
      r = await info(`Bearer ${a.agent.session.accessJwt}`);
      assert.deepEqual(r.body, { error: 'BadJwtType', message: 'Invalid jwt type "at+jwt"' });
      r = await info('Bearer not.a.jwt');
      assert.deepEqual(r.body, { error: 'BadJwt', message: 'poorly formatted jwt' });
      // admin-token-only methods refuse the moderation service
      r = await xrpc(stack, 'POST', 'com.atproto.admin.updateAccountPassword', {
        auth: `Bearer ${await jwt({ lxm: 'com.atproto.admin.updateAccountPassword' })}`,
        body: { did: a.did, password: 'hijacked password' } });
      assert.equal(r.status, 401);
      const old = await xrpcError(new AtpAgent({ service: stack.url }).login({
        identifier: a.handle, password: a.password }));
      assert.equal(old.ok, true, 'password unchanged');
    });
  });

  describe('accounts', () => {
    test('getAccountInfo(s)', async () => {
      const a = await account('info');
      const b = await account('info');
      let r = await xrpc(stack, 'GET', 'com.atproto.admin.getAccountInfo', {
        auth: admin, query: { did: a.did } });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(Object.keys(r.body), ['did', 'handle', 'email', 'indexedAt',
        'invitedBy', 'invites', 'invitesDisabled']);
      assert.equal(r.body.handle, a.handle);
      assert.equal(r.body.email, a.email);
      assert.equal(r.body.invitedBy.code, a.invite);
      assert.deepEqual(Object.keys(r.body.invitedBy), ['code', 'available', 'disabled',
        'forAccount', 'createdBy', 'createdAt', 'uses']);
      assert.deepEqual(r.body.invitedBy.uses.map((u) => u.usedBy), [a.did]);
      assert.equal(r.body.invitesDisabled, false);
      r = await xrpc(stack, 'GET', 'com.atproto.admin.getAccountInfos', {
        auth: admin, query: new URLSearchParams([['dids', a.did], ['dids', 'did:plc:nobody'],
          ['dids', b.did]]) });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.body.infos.map((i) => i.did), [a.did, b.did]);
      r = await xrpc(stack, 'GET', 'com.atproto.admin.getAccountInfo', {
        auth: admin, query: { did: 'did:plc:nobody' } });
      assert.deepEqual(r.body, { error: 'NotFound', message: 'Account not found' });
      r = await xrpc(stack, 'GET', 'com.atproto.admin.getAccountInfo', { auth: admin });
      assert.equal(r.status, 400);
      r = await xrpc(stack, 'GET', 'com.atproto.admin.getAccountInfo', {
        auth: admin, query: { did: 'not-a-did' } });
      assert.equal(r.status, 400);
      assert.equal(r.body.error, 'InvalidRequest');
    });

    test('updateAccountHandle (reserved names allowed), updateAccountEmail', async () => {
      const a = await account('hdl');
      const b = await account('hdl');
      let r = await xrpc(stack, 'POST', 'com.atproto.admin.updateAccountHandle', {
        auth: admin, body: { did: a.did, handle: 'admin.test' } });
      assert.equal(r.status, 200, r.text);
      const data = await (await fetch(`${plc.url}/${a.did}/data`)).json();
      assert.deepEqual(data.alsoKnownAs, ['at://admin.test']);
      assert.deepEqual(seqRows(stack, a.did).filter((e) => e.type === 'identity').at(-1).body,
        { did: a.did, handle: 'admin.test' });
      r = await xrpc(stack, 'POST', 'com.atproto.admin.updateAccountHandle', {
        auth: admin, body: { did: b.did, handle: 'admin.test' } });
      assert.deepEqual(r.body, { error: 'InvalidRequest', message: 'Handle already taken: admin.test' });
      r = await xrpc(stack, 'POST', 'com.atproto.admin.updateAccountHandle', {
        auth: admin, body: { did: b.did, handle: 'ab.test' } });
      assert.deepEqual(r.body, { error: 'InvalidHandle', message: 'Handle too short' });
      // users cannot take reserved names themselves
      r = await xrpc(stack, 'POST', 'com.atproto.identity.updateHandle', {
        auth: `Bearer ${b.agent.session.accessJwt}`, body: { handle: 'support.test' } });
      assert.equal(r.body.error, 'HandleNotAvailable');

      r = await xrpc(stack, 'POST', 'com.atproto.admin.updateAccountEmail', {
        auth: admin, body: { account: b.handle, email: 'Changed@Example.com' } });
      assert.equal(r.status, 200, r.text);
      assert.equal(rows(stack, 'SELECT email FROM account WHERE did = ?', b.did)[0].email,
        'changed@example.com');
      r = await xrpc(stack, 'POST', 'com.atproto.admin.updateAccountEmail', {
        auth: admin, body: { account: 'nobody.test', email: 'x@example.com' } });
      assert.deepEqual(r.body, { error: 'InvalidRequest', message: 'Account does not exist: nobody.test' });
      r = await xrpc(stack, 'POST', 'com.atproto.admin.updateAccountPassword', {
        auth: admin, body: { did: b.did, password: 'p'.repeat(257) } });
      assert.deepEqual(r.body, { error: 'InvalidRequest', message: 'Invalid password length.' });
      // "\u0000" (JSON.parse keeps it): identifiers refused whole by their
      // validators, a password hashed whole, an email to store refused
      r = await xrpc(stack, 'POST', 'com.atproto.admin.updateAccountHandle', {
        auth: admin, body: { did: b.did, handle: 'nul.test\u0000x' } });
      assert.deepEqual(r.body, { error: 'InvalidRequest',
        message: 'Invalid handle (got "nul.test\\u0000x") at $.handle' });
      r = await xrpc(stack, 'POST', 'com.atproto.admin.updateAccountHandle', {
        auth: admin, body: { did: `${b.did}\u0000`, handle: 'nul.test' } });
      assert.deepEqual(r.body, { error: 'InvalidRequest',
        message: `Invalid DID (got "${b.did}\\u0000") at $.did` });
      assert.equal(rows(stack, 'SELECT count(*) AS n FROM actor WHERE handle = ?', 'nul.test')[0].n, 0);
      r = await xrpc(stack, 'POST', 'com.atproto.admin.updateAccountEmail', {
        auth: admin, body: { account: b.handle, email: 'nul\u0000@example.com' } });
      assert.deepEqual(r.body, { error: 'InvalidRequest',
        message: 'Invalid string (NUL character) at $.email' });
      assert.equal(rows(stack, 'SELECT email FROM account WHERE did = ?', b.did)[0].email,
        'changed@example.com');
      r = await xrpc(stack, 'POST', 'com.atproto.admin.updateAccountPassword', {
        auth: admin, body: { did: b.did, password: 'new\u0000password' } });
      assert.equal(r.status, 200, r.text);
      for (const [password, status] of [['new\u0000password', 200], ['new', 401],
        [b.password, 401]]) {
        r = await xrpc(stack, 'POST', 'com.atproto.server.createSession', {
          body: { identifier: b.handle, password } });
        assert.equal(r.status, status, password);
      }
    });

    test('deactivation through updateSubjectStatus', async () => {
      const a = await account('deact');
      let r = await xrpc(stack, 'POST', 'com.atproto.admin.updateSubjectStatus', {
        auth: admin, body: { subject: { $type: REPO_REF, did: a.did }, deactivated: { applied: true } } });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.body, { subject: { $type: REPO_REF, did: a.did } });
      assert.deepEqual(lastAccountEvent(stack, a.did).body, { did: a.did, active: false, status: 'deactivated' });
      r = await xrpc(stack, 'GET', 'com.atproto.admin.getSubjectStatus', { auth: admin, query: { did: a.did } });
      assert.deepEqual(r.body.deactivated, { applied: true });
      r = await xrpc(stack, 'POST', 'com.atproto.admin.updateSubjectStatus', {
        auth: admin, body: { subject: { $type: REPO_REF, did: a.did }, deactivated: { applied: false } } });
      assert.deepEqual(lastAccountEvent(stack, a.did).body, { did: a.did, active: true });
    });

    test('admin.deleteAccount', async () => {
      const a = await account('gone');
      const r = await xrpc(stack, 'POST', 'com.atproto.admin.deleteAccount', {
        auth: admin, body: { did: a.did } });
      assert.equal(r.status, 200, r.text);
      assert.equal(rows(stack, 'SELECT did FROM actor WHERE did = ?', a.did).length, 0);
      const hh = crypto.createHash('sha256').update(a.did).digest('hex').slice(0, 2);
      assert.equal(fs.existsSync(path.join(stack.dataDir, 'actors', hh, a.did)), false);
      assert.deepEqual(seqRows(stack, a.did).map((e) => e.body.status), ['deleted']);
    });
  });

  describe('record and blob takedowns', () => {
    test('a record: hidden, then restored', async () => {
      const a = await account('rec');
      const rec = await a.agent.com.atproto.repo.createRecord({ repo: a.did,
        collection: 'app.bsky.feed.post',
        record: { $type: 'app.bsky.feed.post', text: 'bad post', createdAt: new Date().toISOString() } });
      const { uri, cid } = rec.data;
      const subject = { $type: 'com.atproto.repo.strongRef', uri, cid };
      let r = await xrpc(stack, 'POST', 'com.atproto.admin.updateSubjectStatus', {
        auth: admin, body: { subject, takedown: { applied: true, ref: 'mod-123' } } });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.body, { subject, takedown: { applied: true, ref: 'mod-123' } });
      const rkey = uri.split('/').pop();
      r = await xrpc(stack, 'GET', 'com.atproto.repo.getRecord', {
        query: { repo: a.did, collection: 'app.bsky.feed.post', rkey } });
      assert.equal(r.status, 400);
      assert.equal(r.body.error, 'RecordNotFound');
      r = await xrpc(stack, 'GET', 'com.atproto.admin.getSubjectStatus', { auth: admin, query: { uri } });
      assert.deepEqual(r.body, { subject: { $type: 'com.atproto.repo.strongRef', uri, cid },
        takedown: { applied: true, ref: 'mod-123' } });
      r = await xrpc(stack, 'POST', 'com.atproto.admin.updateSubjectStatus', {
        auth: admin, body: { subject, takedown: { applied: false } } });
      assert.equal(r.status, 200, r.text);
      r = await xrpc(stack, 'GET', 'com.atproto.repo.getRecord', {
        query: { repo: a.did, collection: 'app.bsky.feed.post', rkey } });
      assert.equal(r.status, 200, r.text);
      r = await xrpc(stack, 'GET', 'com.atproto.admin.getSubjectStatus', { auth: admin, query: { uri } });
      assert.deepEqual(r.body.takedown, { applied: false });
    });

    test('a blob: quarantined, then restored', async () => {
      const a = await account('blob');
      const bytes = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), crypto.randomBytes(500)]);
      const b = (await a.agent.com.atproto.repo.uploadBlob(bytes, { encoding: 'image/png' })).data.blob;
      const cid = b.ref.toString();
      await a.agent.com.atproto.repo.createRecord({ repo: a.did, collection: 'app.bsky.feed.post',
        record: { $type: 'app.bsky.feed.post', text: 'pic', createdAt: new Date().toISOString(),
          embed: { $type: 'app.bsky.embed.images', images: [{ alt: '', image: {
            $type: 'blob', ref: { $link: cid }, mimeType: 'image/png', size: bytes.length } }] } } });
      const blocks = stack.env.PDS_BLOBSTORE_DISK_LOCATION;
      const live = path.join(blocks, a.did, cid);
      const quarantined = path.join(blocks, 'quarantine', a.did, cid);
      assert.ok(fs.existsSync(live));
      const subject = { $type: 'com.atproto.admin.defs#repoBlobRef', did: a.did, cid };
      let r = await xrpc(stack, 'POST', 'com.atproto.admin.updateSubjectStatus', {
        auth: admin, body: { subject, takedown: { applied: true } } });
      assert.equal(r.status, 200, r.text);
      assert.equal(fs.existsSync(live), false);
      assert.deepEqual(fs.readFileSync(quarantined), bytes);
      r = await xrpc(stack, 'GET', 'com.atproto.sync.getBlob', { query: { did: a.did, cid } });
      assert.notEqual(r.status, 200);
      r = await xrpc(stack, 'GET', 'com.atproto.admin.getSubjectStatus', {
        auth: admin, query: { did: a.did, blob: cid } });
      assert.equal(r.body.takedown.applied, true);
      assert.match(r.body.takedown.ref, /^\d{4}-\d\d-\d\dT/, 'the time when no ref is given');
      r = await xrpc(stack, 'POST', 'com.atproto.admin.updateSubjectStatus', {
        auth: admin, body: { subject, takedown: { applied: false } } });
      assert.equal(r.status, 200, r.text);
      assert.ok(fs.existsSync(live));
      r = await xrpc(stack, 'GET', 'com.atproto.sync.getBlob', { query: { did: a.did, cid } });
      assert.equal(r.status, 200);
    });

    test('bad subjects and parameters', async () => {
      const a = await account('bad');
      const cases = [
        [{}, 'Missing required key "subject" at $'],
        [{ subject: 'x' }, 'Expected object value type (got "x") at $.subject'],
        [{ subject: { did: a.did } }, 'Missing required key "$type" at $.subject'],
        [{ subject: { $type: REPO_REF, did: 'nope' } }, 'Invalid DID (got "nope") at $.subject.did'],
        [{ subject: { $type: REPO_REF, did: a.did }, takedown: {} },
          'Missing required key "applied" at $.takedown'],
        [{ subject: { $type: REPO_REF, did: a.did }, takedown: { applied: 'yes' } },
          'Expected boolean value type (got "yes") at $.takedown.applied'],
        [{ subject: { $type: 'com.example.other', did: a.did }, takedown: { applied: true } },
          'Invalid subject'],
        // all of $type: a NUL makes it a type we do not know
        [{ subject: { $type: `${REPO_REF}\u0000x`, did: a.did }, takedown: { applied: true } },
          'Invalid subject'],
        [{ subject: { $type: REPO_REF, did: `${a.did}\u0000` }, takedown: { applied: true } },
          `Invalid DID (got "${a.did}\\u0000") at $.subject.did`],
        [{ subject: { $type: REPO_REF, did: a.did }, takedown: { applied: true, ref: 'x\u0000' } },
          'Invalid string (NUL character) at $.takedown.ref'],
      ];
      for (const [body, message] of cases) {
        const r = await xrpc(stack, 'POST', 'com.atproto.admin.updateSubjectStatus', { auth: admin, body });
        assert.equal(r.status, 400, JSON.stringify(body));
        assert.deepEqual(r.body, { error: 'InvalidRequest', message });
      }
      let r = await xrpc(stack, 'POST', 'com.atproto.admin.updateSubjectStatus', {
        auth: admin, raw: '{"subject":', body: undefined });
      assert.equal(r.status, 400);
      assert.equal(rows(stack, 'SELECT takedownRef FROM actor WHERE did = ?', a.did)[0].takedownRef, null);
      r = await xrpc(stack, 'GET', 'com.atproto.admin.getSubjectStatus', { auth: admin });
      assert.deepEqual(r.body, { error: 'InvalidRequest', message: 'No provided subject' });
      r = await xrpc(stack, 'GET', 'com.atproto.admin.getSubjectStatus', {
        auth: admin, query: { blob: 'bafkreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm' } });
      assert.deepEqual(r.body, { error: 'InvalidRequest', message: 'Must provide a did to request blob state' });
      r = await xrpc(stack, 'GET', 'com.atproto.admin.getSubjectStatus', {
        auth: admin, query: { did: 'did:plc:nobody' } });
      assert.deepEqual(r.body, { error: 'NotFound', message: 'Subject not found' });
      r = await xrpc(stack, 'GET', 'com.atproto.admin.getSubjectStatus', {
        auth: admin, query: { uri: `at://${a.did}/app.bsky.feed.post/3kaaaaaaaaaaa` } });
      assert.deepEqual(r.body, { error: 'NotFound', message: 'Subject not found' });
    });
  });

  describe('invites', () => {
    test('getInviteCodes: recent and usage order, keyset cursors', async () => {
      const made = await xrpc(stack, 'POST', 'com.atproto.server.createInviteCodes', {
        auth: admin, body: { codeCount: 5, useCount: 3 } });
      const mine = new Set(made.body.codes[0].codes);
      const all = [];
      let cursor;
      for (let page = 0; page < 100; page++) {
        const r = await xrpc(stack, 'GET', 'com.atproto.admin.getInviteCodes', {
          auth: admin, query: { sort: 'recent', limit: '3', ...(cursor ? { cursor } : {}) } });
        assert.equal(r.status, 200, r.text);
        all.push(...r.body.codes);
        if (!r.body.cursor) break;
        assert.deepEqual(Object.keys(r.body), ['cursor', 'codes']);
        assert.match(r.body.cursor, /^\d+::localhost-/);
        cursor = r.body.cursor;
      }
      const total = rows(stack, 'SELECT count(*) AS n FROM invite_code')[0].n;
      assert.equal(all.length, total, 'each code once');
      assert.equal(new Set(all.map((c) => c.code)).size, total);
      for (let i = 1; i < all.length; i++) {
        const p = all[i - 1], c = all[i];
        assert.ok(p.createdAt > c.createdAt || (p.createdAt === c.createdAt && p.code > c.code));
      }
      assert.ok(all.filter((c) => mine.has(c.code)).every((c) => c.available === 3 && c.uses.length === 0));
      // by usage: the used ones first
      const u = await xrpc(stack, 'GET', 'com.atproto.admin.getInviteCodes', {
        auth: admin, query: { sort: 'usage', limit: '500' } });
      const uses = u.body.codes.map((c) => c.uses.length);
      assert.deepEqual(uses, [...uses].sort((x, y) => y - x));
      assert.ok(uses[0] >= 1);
      for (const [query, message] of [
        [{ sort: 'bogus' }, 'unknown sort method: bogus'],
        [{ cursor: 'abc' }, 'Malformed cursor'],
        [{ cursor: '123' }, 'Malformed cursor'],
        [{ cursor: 'x::y' }, 'Malformed cursor'],
      ]) {
        const r = await xrpc(stack, 'GET', 'com.atproto.admin.getInviteCodes', { auth: admin, query });
        assert.deepEqual(r.body, { error: 'InvalidRequest', message });
      }
      const r = await xrpc(stack, 'GET', 'com.atproto.admin.getInviteCodes', {
        auth: admin, query: { limit: '501' } });
      assert.equal(r.status, 400);
    });

    test('disableInviteCodes, enable/disableAccountInvites', async () => {
      const a = await account('inv');
      const made = await xrpc(stack, 'POST', 'com.atproto.server.createInviteCodes', {
        auth: admin, body: { codeCount: 2, useCount: 1, forAccounts: [a.did] } });
      const [c1, c2] = made.body.codes[0].codes;
      let r = await xrpc(stack, 'POST', 'com.atproto.admin.disableInviteCodes', {
        auth: admin, body: { codes: [c1] } });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(rows(stack, 'SELECT code, disabled FROM invite_code WHERE forAccount = ? ORDER BY code', a.did)
        .map((x) => [x.code, x.disabled]), [[c1, 1], [c2, 0]].sort());
      // a NUL makes another code or account: nothing matches, nothing is
      // disabled (and "admin\u0000" is not "admin")
      r = await xrpc(stack, 'POST', 'com.atproto.admin.disableInviteCodes', {
        auth: admin, body: { codes: [`${c2}\u0000`], accounts: [`${a.did}\u0000x`, 'admin\u0000'] } });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(rows(stack, 'SELECT code, disabled FROM invite_code WHERE forAccount = ? ORDER BY code', a.did)
        .map((x) => [x.code, x.disabled]), [[c1, 1], [c2, 0]].sort());
      r = await xrpc(stack, 'POST', 'com.atproto.admin.disableInviteCodes', {
        auth: admin, body: { accounts: ['admin'] } });
      assert.deepEqual(r.body, { error: 'InvalidRequest', message: 'cannot disable admin invite codes' });
      r = await xrpc(stack, 'POST', 'com.atproto.admin.disableInviteCodes', {
        auth: admin, body: { codes: 'x' } });
      assert.deepEqual(r.body, { error: 'InvalidRequest', message: 'Expected array value type (got "x") at $.codes' });
      r = await xrpc(stack, 'POST', 'com.atproto.admin.disableInviteCodes', {
        auth: admin, body: { accounts: [a.did] } });
      assert.equal(rows(stack, 'SELECT count(*) AS n FROM invite_code WHERE forAccount = ? AND disabled = 0', a.did)[0].n, 0);
      // a disabled code cannot be used
      r = await xrpc(stack, 'POST', 'com.atproto.server.createAccount', {
        body: { handle: 'nope1.test', email: 'nope1@example.com', password: 'pw', inviteCode: c2 } });
      assert.equal(r.body.error, 'InvalidInviteCode');

      r = await xrpc(stack, 'POST', 'com.atproto.admin.disableAccountInvites', {
        auth: admin, body: { account: a.did, note: 'spam' } });
      assert.equal(r.status, 200, r.text);
      r = await xrpc(stack, 'GET', 'com.atproto.admin.getAccountInfo', { auth: admin, query: { did: a.did } });
      assert.equal(r.body.invitesDisabled, true);
      r = await xrpc(stack, 'POST', 'com.atproto.admin.enableAccountInvites', {
        auth: admin, body: { account: a.did } });
      r = await xrpc(stack, 'GET', 'com.atproto.admin.getAccountInfo', { auth: admin, query: { did: a.did } });
      assert.equal(r.body.invitesDisabled, false);
      r = await xrpc(stack, 'POST', 'com.atproto.admin.enableAccountInvites', {
        auth: admin, body: { account: 'x' } });
      assert.deepEqual(r.body, { error: 'InvalidRequest', message: 'Invalid DID (got "x") at $.account' });
    });

    test('getAccountInviteCodes mints one code per PDS_INVITE_INTERVAL, at most 5 open', async () => {
      const a = await account('mint');
      await sleep(2300);
      let r = await a.agent.com.atproto.server.getAccountInviteCodes();
      assert.equal(r.data.codes.length, 2, JSON.stringify(r.data));
      for (const c of r.data.codes) {
        assert.match(c.code, /^localhost-[a-z2-7]{5}-[a-z2-7]{5}$/);
        assert.equal(c.forAccount, a.did);
        assert.equal(c.createdBy, a.did);
        assert.equal(c.available, 1);
        assert.deepEqual(c.uses, []);
      }
      const raw = await xrpc(stack, 'GET', 'com.atproto.server.getAccountInviteCodes', {
        auth: `Bearer ${a.agent.session.accessJwt}` });
      assert.equal(raw.body.codes.length, 2, 'nothing new within the interval');
      assert.deepEqual(Object.keys(raw.body.codes[0]), ['code', 'available', 'disabled',
        'forAccount', 'createdBy', 'createdAt', 'uses']);
      await sleep(5000);
      r = await a.agent.com.atproto.server.getAccountInviteCodes({ createAvailable: false });
      assert.equal(r.data.codes.length, 2);
      r = await a.agent.com.atproto.server.getAccountInviteCodes();
      assert.equal(r.data.codes.length, 5, 'at most 5 unused routine codes');
      // using one hides it without includeUsed
      const used = r.data.codes[0].code;
      await new AtpAgent({ service: stack.url }).createAccount({ handle: `inv${crypto.randomBytes(3).toString('hex')}.test`,
        email: `${crypto.randomBytes(4).toString('hex')}@example.com`, password: 'pw', inviteCode: used });
      r = await a.agent.com.atproto.server.getAccountInviteCodes({ includeUsed: false, createAvailable: false });
      assert.equal(r.data.codes.some((c) => c.code === used), false);
      r = await a.agent.com.atproto.server.getAccountInviteCodes({ createAvailable: false });
      assert.equal(r.data.codes.find((c) => c.code === used).uses.length, 1);
      // app passwords and OAuth may not
      const ap = await a.agent.com.atproto.server.createAppPassword({ name: 'x' });
      const appAgent = new AtpAgent({ service: stack.url });
      await appAgent.login({ identifier: a.handle, password: ap.data.password });
      const e = await xrpc(stack, 'GET', 'com.atproto.server.getAccountInviteCodes', {
        auth: `Bearer ${appAgent.session.accessJwt}` });
      assert.deepEqual(e.body, { error: 'InvalidToken', message: 'Bad token scope' });
    });
  });
});
