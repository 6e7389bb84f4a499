// accounts.test.mjs: accounts and identity through real nginx (tests/lib/
// stack.mjs), a real PLC directory (@did-plc/server) and the official
// @atproto/api client: 20 accounts created as an operator's program would
// (admin invite codes, then createAccount), their PLC documents and actor
// stores, /.well-known/atproto-did and resolveHandle, the genesis events
// (#identity, #account, #commit, #sync in that order, checked as a relay
// checks them), handle squatting and every other refusal writing nothing,
// password hashes interchangeable with the reference's scrypt format,
// handle updates (a PLC update operation signed with the PDS rotation key),
// deactivation and reactivation, bring-your-own-DID migration
// (deactivated account, getRecommendedDidCredentials, activateAccount),
// and account deletion with an email token.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { AtpAgent } from '@atproto/api';
import { Secp256k1Keypair, sha256 } from '@atproto/crypto';
import * as plcLib from '@did-plc/lib';
import { DummyDriver, Kysely, SqliteAdapter, SqliteIntrospector, SqliteQueryCompiler, sql }
  from 'kysely';
import { createServiceJwt } from '@atproto/xrpc-server';
import { request } from '../lib/http.mjs';
import { startOracle } from '../lib/oracle.mjs';
import { checkCommitEvent, seqRows } from '../lib/repoutil.mjs';
import { bins, isExecutable, startStack } from '../lib/stack.mjs';

const built = isExecutable(bins.fcgi);
const N_ACCOUNTS = 20;

/** Runs fn(db) on a database of the stack's data directory. */
function withDb(stack, file, fn) {
  const db = new DatabaseSync(path.join(stack.dataDir, file));
  try {
    db.exec('PRAGMA busy_timeout = 5000');
    return fn(db);
  } finally {
    db.close();
  }
}

const rows = (stack, sql, ...args) => withDb(stack, 'account.sqlite',
  (db) => db.prepare(sql).all(...args));

/** The actor directory of did, as the reference lays it out. */
function actorDir(stack, did) {
  const hh = crypto.createHash('sha256').update(did).digest('hex').slice(0, 2);
  return path.join(stack.dataDir, 'actors', hh, did);
}

/** An XRPC call returning {status, body} whatever the status. */
async function xrpc(stack, method, nsid, { body, query, headers = {} } = {}) {
  const qs = query ? `?${new URLSearchParams(query)}` : '';
  const res = await fetch(`${stack.url}/xrpc/${nsid}${qs}`, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body
      : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, body: json, text };
}

/** The reference's scrypt.ts, with Node's crypto.scrypt. */
function refHash(password, salt = crypto.randomBytes(16).toString('hex')) {
  return `${salt}:${crypto.scryptSync(password, salt, 64).toString('hex')}`;
}
function refVerify(password, stored) {
  const [salt, hash] = stored.split(':');
  return crypto.scryptSync(password, salt, 64).toString('hex') === hash;
}
async function refAppHash(did, password) {
  const salt = Buffer.from(await sha256(did)).subarray(0, 16).toString('hex');
  return refHash(password, salt);
}


/**
 * The reference's account-manager migrations 001..007 (packages/pds/src/
 * account-manager/db/migrations/, schema statements only), written with
 * Kysely's schema builder as the reference writes them and compiled by
 * Kysely's own SQLite compiler: the DDL the reference runs.
 */
function referenceAccountDdl() {
  const db = new Kysely({ dialect: { createAdapter: () => new SqliteAdapter(),
    createDriver: () => new DummyDriver(), createIntrospector: (d) => new SqliteIntrospector(d),
    createQueryCompiler: () => new SqliteQueryCompiler() } });
  const s = db.schema;
  const nn = (c) => c.notNull();
  const cascade = (qb) => qb.onDelete('cascade').onUpdate('cascade');
  return [
    // 001
    s.createTable('app_password').addColumn('did', 'varchar', nn).addColumn('name', 'varchar', nn)
      .addColumn('passwordScrypt', 'varchar', nn).addColumn('createdAt', 'varchar', nn)
      .addPrimaryKeyConstraint('app_password_pkey', ['did', 'name']),
    s.createTable('invite_code').addColumn('code', 'varchar', (c) => c.primaryKey())
      .addColumn('availableUses', 'integer', nn).addColumn('disabled', 'int2', (c) => c.defaultTo(0))
      .addColumn('forAccount', 'varchar', nn).addColumn('createdBy', 'varchar', nn)
      .addColumn('createdAt', 'varchar', nn),
    s.createIndex('invite_code_for_account_idx').on('invite_code').column('forAccount'),
    s.createTable('invite_code_use').addColumn('code', 'varchar', nn).addColumn('usedBy', 'varchar', nn)
      .addColumn('usedAt', 'varchar', nn).addPrimaryKeyConstraint('invite_code_use_pkey', ['code', 'usedBy']),
    s.createTable('refresh_token').addColumn('id', 'varchar', (c) => c.primaryKey())
      .addColumn('did', 'varchar', nn).addColumn('expiresAt', 'varchar', nn)
      .addColumn('nextId', 'varchar').addColumn('appPasswordName', 'varchar'),
    s.createIndex('refresh_token_did_idx').on('refresh_token').column('did'),
    s.createTable('repo_root').addColumn('did', 'varchar', (c) => c.primaryKey())
      .addColumn('cid', 'varchar', nn).addColumn('rev', 'varchar', nn).addColumn('indexedAt', 'varchar', nn),
    s.createTable('actor').addColumn('did', 'varchar', (c) => c.primaryKey()).addColumn('handle', 'varchar')
      .addColumn('createdAt', 'varchar', nn).addColumn('takedownRef', 'varchar'),
    s.createIndex('actor_handle_lower_idx').unique().on('actor').expression(sql`lower("handle")`),
    s.createIndex('actor_cursor_idx').on('actor').columns(['createdAt', 'did']),
    s.createTable('account').addColumn('did', 'varchar', (c) => c.primaryKey())
      .addColumn('email', 'varchar', nn).addColumn('passwordScrypt', 'varchar', nn)
      .addColumn('emailConfirmedAt', 'varchar')
      .addColumn('invitesDisabled', 'int2', (c) => c.notNull().defaultTo(0)),
    s.createIndex('account_email_lower_idx').unique().on('account').expression(sql`lower("email")`),
    s.createTable('email_token').addColumn('purpose', 'varchar', nn).addColumn('did', 'varchar', nn)
      .addColumn('token', 'varchar', nn).addColumn('requestedAt', 'varchar', nn)
      .addPrimaryKeyConstraint('email_token_pkey', ['purpose', 'did'])
      .addUniqueConstraint('email_token_purpose_token_unique', ['purpose', 'token']),
    // 002, 003
    s.alterTable('actor').addColumn('deactivatedAt', 'varchar'),
    s.alterTable('actor').addColumn('deleteAfter', 'varchar'),
    s.alterTable('app_password').addColumn('privileged', 'integer', (c) => c.notNull().defaultTo(0)),
    // 004
    s.createTable('authorization_request').addColumn('id', 'varchar', (c) => c.primaryKey())
      .addColumn('did', 'varchar').addColumn('deviceId', 'varchar').addColumn('clientId', 'varchar', nn)
      .addColumn('clientAuth', 'varchar', nn).addColumn('parameters', 'varchar', nn)
      .addColumn('expiresAt', 'varchar', nn).addColumn('code', 'varchar'),
    s.createIndex('authorization_request_code_idx').unique().on('authorization_request')
      .expression(sql`code DESC) WHERE (code IS NOT NULL`),
    s.createIndex('authorization_request_expires_at_idx').on('authorization_request').column('expiresAt'),
    s.createTable('device').addColumn('id', 'varchar', (c) => c.primaryKey())
      .addColumn('sessionId', 'varchar', nn).addColumn('userAgent', 'varchar')
      .addColumn('ipAddress', 'varchar', nn).addColumn('lastSeenAt', 'varchar', nn)
      .addUniqueConstraint('device_session_id_idx', ['sessionId']),
    s.createTable('device_account').addColumn('did', 'varchar', nn).addColumn('deviceId', 'varchar', nn)
      .addColumn('authenticatedAt', 'varchar', nn).addColumn('remember', 'boolean', nn)
      .addColumn('authorizedClients', 'varchar', nn)
      .addPrimaryKeyConstraint('device_account_pk', ['deviceId', 'did'])
      .addForeignKeyConstraint('device_account_device_id_fk', ['deviceId'], 'device', ['id'], cascade),
    s.createTable('token').addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
      .addColumn('did', 'varchar', nn).addColumn('tokenId', 'varchar', nn)
      .addColumn('createdAt', 'varchar', nn).addColumn('updatedAt', 'varchar', nn)
      .addColumn('expiresAt', 'varchar', nn).addColumn('clientId', 'varchar', nn)
      .addColumn('clientAuth', 'varchar', nn).addColumn('deviceId', 'varchar')
      .addColumn('parameters', 'varchar', nn).addColumn('details', 'varchar')
      .addColumn('code', 'varchar').addColumn('currentRefreshToken', 'varchar')
      .addUniqueConstraint('token_current_refresh_token_unique_idx', ['currentRefreshToken'])
      .addUniqueConstraint('token_id_unique_idx', ['tokenId']),
    s.createIndex('token_did_idx').on('token').column('did'),
    s.createIndex('token_code_idx').unique().on('token').expression(sql`code DESC) WHERE (code IS NOT NULL`),
    s.createTable('used_refresh_token').addColumn('refreshToken', 'varchar', (c) => c.primaryKey())
      .addColumn('tokenId', 'integer', nn)
      .addForeignKeyConstraint('used_refresh_token_fk', ['tokenId'], 'token', ['id'], cascade),
    s.createIndex('used_refresh_token_id_idx').on('used_refresh_token').column('tokenId'),
    // 005
    s.createTable('account_device').ifNotExists().addColumn('did', 'varchar', nn)
      .addColumn('deviceId', 'varchar', nn).addColumn('createdAt', 'varchar', nn)
      .addColumn('updatedAt', 'varchar', nn)
      .addPrimaryKeyConstraint('account_device_pk', ['deviceId', 'did'])
      .addForeignKeyConstraint('account_device_did_fk', ['did'], 'account', ['did'], cascade)
      .addForeignKeyConstraint('account_device_device_id_fk', ['deviceId'], 'device', ['id'], cascade),
    s.createIndex('account_device_did_idx').on('account_device').column('did'),
    s.createTable('authorized_client').addColumn('did', 'varchar', nn).addColumn('clientId', 'varchar', nn)
      .addColumn('createdAt', 'varchar', nn).addColumn('updatedAt', 'varchar', nn)
      .addColumn('data', 'varchar', nn)
      .addPrimaryKeyConstraint('authorized_client_pk', ['did', 'clientId'])
      .addForeignKeyConstraint('authorized_client_did_fk', ['did'], 'account', ['did'], cascade),
    // 006, 007
    s.alterTable('token').addColumn('scope', 'varchar'),
    s.createTable('lexicon').addColumn('nsid', 'varchar', (c) => c.primaryKey())
      .addColumn('createdAt', 'varchar', nn).addColumn('updatedAt', 'varchar', nn)
      .addColumn('lastSucceededAt', 'varchar').addColumn('uri', 'varchar').addColumn('lexicon', 'varchar'),
    s.createIndex('lexicon_failures_idx').on('lexicon')
      .expression(sql`"updatedAt" DESC) WHERE ("lexicon" is NULL`),
  ].map((q) => q.compile().sql);
}

const schemaOf = (db) => db.prepare("SELECT type, name, tbl_name, sql FROM sqlite_master "
  + "WHERE name NOT LIKE 'sqlite_%' AND name NOT LIKE 'kysely_%' ORDER BY name").all()
  .map((r) => ({ ...r }));

describe('accounts and identity', { skip: !built && 'pds-fcgi not built' }, () => {
  let stack, oracle, admin, rotationDid;
  const accounts = [];

  before(async () => {
    stack = await startStack({ workers: 2, env: { PDS_INVITE_REQUIRED: 'true' } });
    oracle = await startOracle(['com.atproto.server.createAccount',
      'com.atproto.server.createInviteCodes']);
    admin = `Basic ${Buffer.from(`admin:${stack.env.PDS_ADMIN_PASSWORD}`).toString('base64')}`;
    rotationDid = (await Secp256k1Keypair.import(
      stack.env.PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX)).did();
  });

  after(async () => {
    // pds-fcgi's error lines, to explain a failure after the fact
    for (const l of (stack?.log('fcgi') ?? '').split('\n')) {
      if (/ (error|fatal) /.test(l)) console.log(`pds-fcgi: ${l}`);
    }
    await oracle?.close();
    await stack?.stop();
  });

  test(`${N_ACCOUNTS} accounts: admin invite codes, then createAccount`, async () => {
    const inv = await xrpc(stack, 'POST', 'com.atproto.server.createInviteCodes', {
      headers: { authorization: admin }, body: { codeCount: N_ACCOUNTS, useCount: 1 } });
    assert.equal(inv.status, 200, inv.text);
    const codes = inv.body.codes[0].codes;
    assert.equal(inv.body.codes[0].account, 'admin');
    assert.equal(codes.length, N_ACCOUNTS);
    for (const c of codes) assert.match(c, /^localhost-[a-z2-7]{5}-[a-z2-7]{5}$/);
    for (let i = 0; i < N_ACCOUNTS; i++) {
      const agent = new AtpAgent({ service: stack.url });
      const handle = `user${i}.test`;
      const password = `correct horse ${i}`;
      const r = await agent.createAccount({ handle, email: `User${i}@Example.com`,
        password, inviteCode: codes[i] });
      assert.equal(r.data.handle, handle);
      assert.match(r.data.did, /^did:plc:[a-z2-7]{24}$/);
      assert.equal(r.data.didDoc.id, r.data.did);
      accounts.push({ agent, did: r.data.did, handle, password, email: `user${i}@example.com` });
    }
    // each code was used once and is now exhausted
    const used = rows(stack, 'SELECT code, usedBy FROM invite_code_use');
    assert.equal(used.length, N_ACCOUNTS);
    const again = await xrpc(stack, 'POST', 'com.atproto.server.createAccount', {
      body: { handle: 'late.test', email: 'late@example.com', password: 'xxxxxxxx',
        inviteCode: codes[0] } });
    assert.equal(again.status, 400);
    assert.deepEqual(again.body, { error: 'InvalidInviteCode',
      message: 'Provided invite code not available' });
    const none = await xrpc(stack, 'POST', 'com.atproto.server.createAccount', {
      body: { handle: 'late.test', email: 'late@example.com', password: 'xxxxxxxx' } });
    assert.deepEqual(none.body, { error: 'InvalidInviteCode', message: 'No invite code provided' });
    // createInviteCode (singular), as pdsadmin calls it
    const one = await xrpc(stack, 'POST', 'com.atproto.server.createInviteCode', {
      headers: { authorization: admin }, body: { useCount: 1 } });
    assert.equal(one.status, 200);
    assert.match(one.body.code, /^localhost-[a-z2-7]{5}-[a-z2-7]{5}$/);
    const noauth = await xrpc(stack, 'POST', 'com.atproto.server.createInviteCode', {
      body: { useCount: 1 } });
    assert.equal(noauth.status, 401);
  });

  test('account.sqlite has the reference\'s schema, statement for statement', () => {
    const ref = new DatabaseSync(':memory:');
    for (const stmt of referenceAccountDdl()) ref.exec(stmt);
    const want = schemaOf(ref);
    ref.close();
    const got = withDb(stack, 'account.sqlite', schemaOf);
    assert.deepEqual(got, want);
    const migs = rows(stack, 'SELECT name FROM kysely_migration ORDER BY name').map((r) => r.name);
    assert.deepEqual(migs, ['001', '002', '003', '004', '005', '006', '007']);
  });

  test('the PLC directory holds a genesis operation naming this PDS and the account key', async () => {
    for (const a of accounts) {
      const data = await (await fetch(`${stack.plcUrl}/${a.did}/data`)).json();
      assert.deepEqual(data.alsoKnownAs, [`at://${a.handle}`]);
      assert.deepEqual(data.rotationKeys, [rotationDid]);
      assert.deepEqual(data.services, { atproto_pds: { type: 'AtprotoPersonalDataServer',
        endpoint: stack.url } });
      // the #atproto key is the one in the actor store's key file
      const raw = fs.readFileSync(path.join(actorDir(stack, a.did), 'key'));
      assert.equal(raw.length, 32);
      const k = await Secp256k1Keypair.import(raw);
      assert.equal(data.verificationMethods.atproto, k.did());
      a.signingKey = k.did();
      // one operation: the genesis, whose hash is the DID
      const log = await (await fetch(`${stack.plcUrl}/${a.did}/log`)).json();
      assert.equal(log.length, 1);
      assert.equal(await plcLib.didForCreateOp(log[0]), a.did);
      await plcLib.assureValidSig([rotationDid], log[0]);
    }
  });

  test('/.well-known/atproto-did and resolveHandle answer every handle', async () => {
    for (const a of accounts) {
      const wk = await request(`${stack.url}/.well-known/atproto-did`,
        { headers: { host: a.handle } });
      assert.equal(wk.status, 200);
      assert.equal(wk.text, a.did);
      const upper = await request(`${stack.url}/.well-known/atproto-did`,
        { headers: { host: a.handle.toUpperCase() } });
      assert.equal(upper.text, a.did);
      const r = await a.agent.com.atproto.identity.resolveHandle({ handle: a.handle.toUpperCase() });
      assert.deepEqual(r.data, { did: a.did });
    }
    const missing = await request(`${stack.url}/.well-known/atproto-did`,
      { headers: { host: 'nobody.test' } });
    assert.equal(missing.status, 404);
    assert.equal(missing.text, 'User not found');
    const nf = await xrpc(stack, 'GET', 'com.atproto.identity.resolveHandle',
      { query: { handle: 'nobody.test' } });
    assert.deepEqual(nf.body, { error: 'InvalidRequest', message: 'Unable to resolve handle' });
    const bad = await xrpc(stack, 'GET', 'com.atproto.identity.resolveHandle',
      { query: { handle: 'not a handle' } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error, 'InvalidRequest');
    // a foreign handle nobody serves (no DNS, no HTTPS here)
    const foreign = await xrpc(stack, 'GET', 'com.atproto.identity.resolveHandle',
      { query: { handle: 'alice.invalid-example-domain.com' } });
    assert.deepEqual(foreign.body, { error: 'InvalidRequest', message: 'Unable to resolve handle' });
  });

  test('the genesis events: #identity, #account, #commit, #sync, as a relay checks them', async () => {
    for (const a of accounts) {
      const ev = seqRows(stack, a.did);
      assert.deepEqual(ev.map((e) => e.type), ['identity', 'account', 'append', 'sync']);
      assert.deepEqual(ev[0].body, { did: a.did, handle: a.handle });
      assert.deepEqual(ev[1].body, { did: a.did, active: true });
      assert.equal(ev[1].seq, ev[0].seq + 1);
      const c = await checkCommitEvent(ev[2].body, a.signingKey);
      assert.equal(c.since, null);
      assert.equal(ev[3].body.did, a.did);
      assert.equal(ev[3].body.rev, ev[2].body.rev);
      const root = rows(stack, 'SELECT cid, rev FROM repo_root WHERE did = ?', a.did);
      assert.deepEqual(root.map((r) => ({ ...r })), [{ cid: ev[2].body.commit.toString(),
        rev: ev[2].body.rev }]);
    }
  });

  test('refusals: squatting, bad input, nothing partial written', async () => {
    const inv = await xrpc(stack, 'POST', 'com.atproto.server.createInviteCodes', {
      headers: { authorization: admin }, body: { codeCount: 1, useCount: 100 } });
    const inviteCode = inv.body.codes[0].codes[0];
    const count = () => ({ actors: rows(stack, 'SELECT count(*) n FROM actor')[0].n,
      accounts: rows(stack, 'SELECT count(*) n FROM account')[0].n,
      uses: rows(stack, 'SELECT count(*) n FROM invite_code_use')[0].n,
      seq: withDb(stack, 'sequencer.sqlite', (db) =>
        db.prepare('SELECT count(*) n FROM repo_seq').get().n),
      dirs: fs.readdirSync(path.join(stack.dataDir, 'actors')).flatMap((h) => {
        const d = path.join(stack.dataDir, 'actors', h);
        return fs.statSync(d).isDirectory() ? fs.readdirSync(d) : [];
      }).length });
    const before = count();
    const base = { email: 'fresh@example.com', password: 'xxxxxxxx', inviteCode };
    const cases = [
      [{ handle: 'USER0.test' }, 'InvalidRequest', 'Handle already taken: user0.test'],
      [{ handle: 'admin.test' }, 'HandleNotAvailable', 'Reserved handle'],
      [{ handle: 'bsky.test' }, 'HandleNotAvailable', 'Reserved handle'],
      [{ handle: 'alice.example.com' }, 'UnsupportedDomain', 'Not a supported handle domain'],
      [{ handle: 'ab.test' }, 'InvalidHandle', 'Handle too short'],
      [{ handle: 'abcdefghijklmnopqrs.test' }, 'InvalidHandle', 'Handle too long'],
      [{ handle: 'a.bcd.test' }, 'InvalidHandle', 'Invalid characters in handle'],
      [{ handle: 'alice.local' }, 'InvalidHandle', 'Handle TLD is invalid or disallowed'],
      [{ handle: 'fresh.test', email: 'USER1@example.COM' }, 'InvalidRequest',
        'Email already taken: USER1@example.COM'],
      [{ handle: 'fresh.test', email: 'not-an-email' }, 'InvalidRequest',
        'This email address is not supported, please use a different email.'],
      [{ handle: 'fresh.test', email: undefined }, 'InvalidRequest', 'Email is required'],
      [{ handle: 'fresh.test', password: 'x'.repeat(257) }, 'InvalidRequest',
        'Password too long. Maximum length is 256 characters.'],
      [{ handle: 'fresh.test', inviteCode: 'localhost-aaaaa-aaaaa' }, 'InvalidInviteCode',
        'Provided invite code not available'],
      [{ handle: 'fresh.test', plcOp: {} }, 'InvalidRequest', 'Unsupported input: "plcOp"'],
      [{ handle: 'fresh.test', recoveryKey: 'did:key:zNotAKey' }, 'InvalidRequest',
        'Unsupported recovery key: did:key:zNotAKey'],
    ];
    for (const [over, error, message] of cases) {
      const r = await xrpc(stack, 'POST', 'com.atproto.server.createAccount',
        { body: { ...base, ...over } });
      assert.equal(r.status, 400, `${JSON.stringify(over)}: ${r.text}`);
      assert.deepEqual(r.body, { error, message }, JSON.stringify(over));
    }
    // malformed input is worded as the reference's XRPC framework words it
    const bad = [{ handle: 123, email: 'a@b.co' }, { email: 'a@b.co' },
      { handle: 'not a handle', email: 'a@b.co' }, { handle: 'ok.test', did: 'nope' },
      { handle: 'ok.test', email: ['x'] }, '[]', '{"handle":"x.test","email":{}}'];
    for (const body of bad) {
      const ours = await xrpc(stack, 'POST', 'com.atproto.server.createAccount', { body });
      const ref = await fetch(`${oracle.url}/xrpc/com.atproto.server.createAccount`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: typeof body === 'string' ? body : JSON.stringify(body) });
      assert.equal(ours.status, ref.status, JSON.stringify(body));
      assert.deepEqual(ours.body, await ref.json(), JSON.stringify(body));
    }
    const notJson = await xrpc(stack, 'POST', 'com.atproto.server.createAccount',
      { body: '{"handle":' });
    assert.equal(notJson.status, 400);
    assert.deepEqual(count(), before);
  });

  test('"\\u0000" in strings: identifiers refused, passwords whole, codes unmatched', async () => {
    // JSON.parse keeps a NUL inside a string: nothing may cut at it
    const inv = await xrpc(stack, 'POST', 'com.atproto.server.createInviteCodes', {
      headers: { authorization: admin }, body: { codeCount: 1, useCount: 10 } });
    const inviteCode = inv.body.codes[0].codes[0];
    const base = { handle: 'nul.test', email: 'nul@example.com', password: 'xxxxxxxx',
      inviteCode };
    const accountsBefore = rows(stack, 'SELECT count(*) n FROM actor')[0].n;
    const oracleSays = async (nsid, body) => {
      const r = await fetch(`${oracle.url}/xrpc/${nsid}`, { method: 'POST',
        headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: r.status, body: await r.json() };
    };
    // identifiers: the validator sees every byte, the reference's words
    for (const over of [{ handle: 'nul.test\u0000x' }, { did: 'did:plc:x\u0000y' },
      { handle: 'nul.test', did: `${accounts[0].did}\u0000` }]) {
      const body = { ...base, ...over };
      const ours = await xrpc(stack, 'POST', 'com.atproto.server.createAccount', { body });
      const ref = await oracleSays('com.atproto.server.createAccount', body);
      assert.equal(ref.status, 400, JSON.stringify(ref.body));
      assert.deepEqual({ status: ours.status, body: ours.body }, ref, JSON.stringify(over));
    }
    // an email or invite code with a NUL is none that could exist
    for (const [over, error, message] of [
      [{ email: 'nul\u0000@example.com' }, 'InvalidRequest',
        'This email address is not supported, please use a different email.'],
      [{ email: `${accounts[1].email}\u0000` }, 'InvalidRequest',
        'This email address is not supported, please use a different email.'],
      [{ inviteCode: `${inviteCode}\u0000` }, 'InvalidInviteCode',
        'Provided invite code not available'],
    ]) {
      const r = await xrpc(stack, 'POST', 'com.atproto.server.createAccount',
        { body: { ...base, ...over } });
      assert.deepEqual({ status: r.status, body: r.body }, { status: 400,
        body: { error, message } }, JSON.stringify(over));
    }
    assert.equal(rows(stack, 'SELECT count(*) n FROM actor')[0].n, accountsBefore);
    // forAccounts: "did:plc:x\u0000y" is refused, not taken for did:plc:x
    const fa = { codeCount: 1, useCount: 1, forAccounts: ['did:plc:x\u0000y'] };
    const ours = await xrpc(stack, 'POST', 'com.atproto.server.createInviteCodes', {
      headers: { authorization: admin }, body: fa });
    const ref = await oracleSays('com.atproto.server.createInviteCodes', fa);
    assert.equal(ref.status, 400, JSON.stringify(ref.body));
    assert.deepEqual({ status: ours.status, body: ours.body }, ref);
    assert.equal(rows(stack, "SELECT count(*) n FROM invite_code WHERE forAccount LIKE 'did:plc:x%'")[0].n, 0);
    // a password keeps its NUL: all of it is hashed, as the reference's
    // scrypt of the same string
    const password = 'pass\u0000word';
    const made = await xrpc(stack, 'POST', 'com.atproto.server.createAccount',
      { body: { ...base, password } });
    assert.equal(made.status, 200, made.text);
    const [{ passwordScrypt }] = rows(stack, 'SELECT passwordScrypt FROM account WHERE did = ?',
      made.body.did);
    assert.ok(refVerify(password, passwordScrypt));
    assert.ok(!refVerify('pass', passwordScrypt));
    const login = (pw) => xrpc(stack, 'POST', 'com.atproto.server.createSession',
      { body: { identifier: 'nul.test', password: pw } });
    assert.equal((await login(password)).status, 200);
    for (const pw of ['pass', 'pass\u0000', 'pass\u0000wordx']) {
      const r = await login(pw);
      assert.deepEqual({ status: r.status, body: r.body }, { status: 401, body: {
        error: 'AuthenticationRequired', message: 'Invalid identifier or password' } }, pw);
    }
  });

  test('password hashes: the reference\'s format verifies here, ours verifies there', async () => {
    const a = accounts[3];
    // ours, checked with Node's scrypt the reference's way
    const [{ passwordScrypt }] = rows(stack, 'SELECT passwordScrypt FROM account WHERE did = ?', a.did);
    assert.match(passwordScrypt, /^[0-9a-f]{32}:[0-9a-f]{128}$/);
    assert.ok(refVerify(a.password, passwordScrypt));
    assert.ok(!refVerify(`${a.password}x`, passwordScrypt));
    // the reference's, written into the database, logs in here
    const fresh = 'pässwörd from the reference 🔑';
    withDb(stack, 'account.sqlite', (db) => db.prepare(
      'UPDATE account SET passwordScrypt = ? WHERE did = ?').run(refHash(fresh), a.did));
    const agent = new AtpAgent({ service: stack.url });
    await agent.login({ identifier: a.handle, password: fresh });
    assert.equal(agent.session.did, a.did);
    await assert.rejects(new AtpAgent({ service: stack.url }).login({ identifier: a.handle,
      password: a.password }), { status: 401, error: 'AuthenticationRequired' });
    // app passwords: ours equal the reference's deterministic hash
    const ap = await agent.com.atproto.server.createAppPassword({ name: 'interop' });
    const [{ passwordScrypt: appHash }] = rows(stack,
      'SELECT passwordScrypt FROM app_password WHERE did = ? AND name = ?', a.did, 'interop');
    assert.equal(appHash, await refAppHash(a.did, ap.data.password));
    // and one the reference made logs in here
    const refApp = 'abcd-efgh-ijkl-mnop';
    const refAppStored = await refAppHash(a.did, refApp);
    withDb(stack, 'account.sqlite', (db) => db.prepare(
      'INSERT INTO app_password (did, name, passwordScrypt, createdAt, privileged) '
      + 'VALUES (?, ?, ?, ?, 0)').run(a.did, 'from-ref', refAppStored,
      new Date().toISOString()));
    const viaApp = new AtpAgent({ service: stack.url });
    await viaApp.login({ identifier: a.did, password: refApp });
    a.password = fresh;
  });

  test('updateHandle: a PLC update signed with the PDS key, then #identity', async () => {
    const a = accounts[4];
    const old = a.handle;
    await a.agent.com.atproto.identity.updateHandle({ handle: 'Renamed4.test' });
    a.handle = 'renamed4.test';
    const data = await (await fetch(`${stack.plcUrl}/${a.did}/data`)).json();
    assert.deepEqual(data.alsoKnownAs, ['at://renamed4.test']);
    const log = await (await fetch(`${stack.plcUrl}/${a.did}/log`)).json();
    assert.equal(log.length, 2);
    await plcLib.assureValidSig([rotationDid], log[1]);
    const ev = seqRows(stack, a.did).at(-1);
    assert.equal(ev.type, 'identity');
    assert.deepEqual(ev.body, { did: a.did, handle: 'renamed4.test' });
    const wk = await request(`${stack.url}/.well-known/atproto-did`, { headers: { host: old } });
    assert.equal(wk.status, 404);
    const wk2 = await request(`${stack.url}/.well-known/atproto-did`,
      { headers: { host: 'renamed4.test' } });
    assert.equal(wk2.text, a.did);
    // the old handle is free again; another's is not; reserved, foreign refused
    await assert.rejects(a.agent.com.atproto.identity.updateHandle({ handle: accounts[5].handle }),
      { status: 400, error: 'HandleNotAvailable' });
    await assert.rejects(a.agent.com.atproto.identity.updateHandle({ handle: 'www.test' }),
      { status: 400, error: 'HandleNotAvailable', message: 'Reserved handle' });
    await assert.rejects(a.agent.com.atproto.identity.updateHandle({ handle: 'x.nowhere-example.com' }),
      { status: 400, message: 'External handle did not resolve to DID' });
    // the same handle again re-emits the event without a PLC operation
    await a.agent.com.atproto.identity.updateHandle({ handle: 'renamed4.test' });
    assert.equal((await (await fetch(`${stack.plcUrl}/${a.did}/log`)).json()).length, 2);
    assert.equal(seqRows(stack, a.did).filter((e) => e.type === 'identity').length, 3);
  });

  test('deactivate, then activate: #account events, getSession status', async () => {
    const a = accounts[6];
    await a.agent.com.atproto.server.deactivateAccount({});
    let ev = seqRows(stack, a.did).at(-1);
    assert.deepEqual(ev.body, { did: a.did, active: false, status: 'deactivated' });
    const s = await a.agent.com.atproto.server.getSession();
    assert.equal(s.data.active, false);
    assert.equal(s.data.status, 'deactivated');
    const login = new AtpAgent({ service: stack.url });
    const l = await login.login({ identifier: a.handle, password: a.password });
    assert.equal(l.data.active, false);
    assert.equal(l.data.status, 'deactivated');
    const wk = await request(`${stack.url}/.well-known/atproto-did`, { headers: { host: a.handle } });
    assert.equal(wk.status, 404);
    const st = await a.agent.com.atproto.server.checkAccountStatus();
    assert.equal(st.data.activated, false);
    assert.equal(st.data.validDid, true);
    await a.agent.com.atproto.server.activateAccount();
    ev = seqRows(stack, a.did).slice(-3);
    assert.deepEqual(ev.map((e) => e.type), ['account', 'identity', 'sync']);
    assert.deepEqual(ev[0].body, { did: a.did, active: true });
    assert.deepEqual(ev[1].body, { did: a.did, handle: a.handle });
    const st2 = await a.agent.com.atproto.server.checkAccountStatus();
    assert.equal(st2.data.activated, true);
    assert.ok(st2.data.repoBlocks >= 2);
    assert.equal(st2.data.repoRev, ev[2].body.rev);
  });

  test('bringing a DID: created deactivated, then migrated in with activateAccount', async () => {
    const userKey = await Secp256k1Keypair.create({ exportable: true });
    const elsewhere = 'https://old-pds.example.com';
    const { op, did } = await plcLib.createOp({ signingKey: userKey.did(),
      rotationKeys: [userKey.did()], handle: 'migrant.test', pds: elsewhere, signer: userKey });
    const client = new plcLib.Client(stack.plcUrl);
    await client.sendOperation(did, op);
    const serviceDid = 'did:web:localhost';
    const jwt = await createServiceJwt({ iss: did, aud: serviceDid,
      lxm: 'com.atproto.server.createAccount', keypair: userKey });
    const inv = await xrpc(stack, 'POST', 'com.atproto.server.createInviteCode', {
      headers: { authorization: admin }, body: { useCount: 1 } });
    const seqBefore = seqRows(stack, did).length;
    // without the service JWT: refused
    const noAuth = await xrpc(stack, 'POST', 'com.atproto.server.createAccount', {
      body: { did, handle: 'migrant.test', email: 'm@example.com', password: 'migrate-me',
        inviteCode: inv.body.code } });
    assert.equal(noAuth.status, 401);
    // a JWT for another method: refused
    const wrong = await createServiceJwt({ iss: did, aud: serviceDid,
      lxm: 'com.atproto.repo.createRecord', keypair: userKey });
    const badLxm = await xrpc(stack, 'POST', 'com.atproto.server.createAccount', {
      headers: { authorization: `Bearer ${wrong}` },
      body: { did, handle: 'migrant.test', email: 'm@example.com', password: 'migrate-me',
        inviteCode: inv.body.code } });
    assert.equal(badLxm.status, 401);
    assert.equal(badLxm.body.error, 'BadJwtLexiconMethod');
    const r = await xrpc(stack, 'POST', 'com.atproto.server.createAccount', {
      headers: { authorization: `Bearer ${jwt}` },
      body: { did, handle: 'migrant.test', email: 'm@example.com', password: 'migrate-me',
        inviteCode: inv.body.code } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.did, did);
    assert.equal(seqRows(stack, did).length, seqBefore, 'no events for a migration');
    const [actor] = rows(stack, 'SELECT deactivatedAt, deleteAfter FROM actor WHERE did = ?', did);
    assert.ok(actor.deactivatedAt);
    assert.ok(Date.parse(actor.deleteAfter) - Date.parse(actor.deactivatedAt) === 3 * 86400000);
    const agent = new AtpAgent({ service: stack.url });
    await agent.login({ identifier: did, password: 'migrate-me' });
    // the DID document does not name this PDS yet: activation refused
    await assert.rejects(agent.com.atproto.server.activateAccount(), { status: 400,
      message: 'Server rotation key not included in PLC DID data' });
    const rec = await agent.com.atproto.identity.getRecommendedDidCredentials();
    assert.deepEqual(rec.data.rotationKeys, [rotationDid]);
    assert.deepEqual(rec.data.alsoKnownAs, ['at://migrant.test']);
    assert.deepEqual(rec.data.services.atproto_pds, { type: 'AtprotoPersonalDataServer',
      endpoint: stack.url });
    // the user's own rotation key signs the move (as the old PDS would)
    const last = await client.getLastOp(did);
    const move = await plcLib.createUpdateOp(last, userKey, (prev) => ({ ...prev,
      rotationKeys: [userKey.did(), ...rec.data.rotationKeys],
      verificationMethods: rec.data.verificationMethods,
      services: rec.data.services, alsoKnownAs: rec.data.alsoKnownAs }));
    await client.sendOperation(did, move);
    await agent.com.atproto.server.activateAccount();
    const ev = seqRows(stack, did);
    assert.deepEqual(ev.map((e) => e.type), ['account', 'identity', 'sync']);
    const s = await agent.com.atproto.server.getSession();
    assert.equal(s.data.active, true);
  });

  test('signPlcOperation (email token) and submitPlcOperation', async () => {
    const a = accounts[8];
    const noTok = await xrpc(stack, 'POST', 'com.atproto.identity.signPlcOperation', {
      headers: { authorization: `Bearer ${a.agent.session.accessJwt}` }, body: {} });
    assert.deepEqual(noTok.body, { error: 'InvalidRequest',
      message: 'email confirmation token required to sign PLC operations' });
    const badTok = await xrpc(stack, 'POST', 'com.atproto.identity.signPlcOperation', {
      headers: { authorization: `Bearer ${a.agent.session.accessJwt}` },
      body: { token: 'AAAAA-BBBBB' } });
    assert.deepEqual(badTok.body, { error: 'InvalidToken', message: 'Token is invalid' });
    withDb(stack, 'account.sqlite', (db) => db.prepare('INSERT INTO email_token '
      + '(purpose, did, token, requestedAt) VALUES (?, ?, ?, ?)').run('plc_operation',
      a.did, 'PLCOP-TOKEN', new Date().toISOString()));
    const nulTok = await xrpc(stack, 'POST', 'com.atproto.identity.signPlcOperation', {
      headers: { authorization: `Bearer ${a.agent.session.accessJwt}` },
      body: { token: 'plcop-token\u0000x' } });
    assert.deepEqual(nulTok.body, { error: 'InvalidToken', message: 'Token is invalid' });
    const aka = [`at://${a.handle}`, 'https://alice.example.com/profile'];
    const signed = await a.agent.com.atproto.identity.signPlcOperation({ token: 'plcop-token',
      alsoKnownAs: aka });
    const op = signed.data.operation;
    assert.deepEqual(op.alsoKnownAs, aka);
    assert.equal(op.prev, (await (await fetch(`${stack.plcUrl}/${a.did}/log/audit`)).json())
      .at(-1).cid);
    await plcLib.assureValidSig([rotationDid], op);
    // the token is spent
    await assert.rejects(a.agent.com.atproto.identity.signPlcOperation({ token: 'plcop-token' }),
      { status: 400, error: 'InvalidToken' });
    // a wrong endpoint is refused before anything reaches the directory
    const wrong = await xrpc(stack, 'POST', 'com.atproto.identity.submitPlcOperation', {
      headers: { authorization: `Bearer ${a.agent.session.accessJwt}` },
      body: { operation: { ...op, services: { atproto_pds: { type: 'AtprotoPersonalDataServer',
        endpoint: 'https://elsewhere.example' } } } } });
    assert.deepEqual(wrong.body, { error: 'InvalidRequest',
      message: 'Incorrect endpoint on atproto_pds service' });
    const junk = await xrpc(stack, 'POST', 'com.atproto.identity.submitPlcOperation', {
      headers: { authorization: `Bearer ${a.agent.session.accessJwt}` },
      body: { operation: { type: 'plc_operation' } } });
    assert.deepEqual(junk.body, { error: 'InvalidRequest', message: 'Invalid operation' });
    const before = seqRows(stack, a.did).length;
    await a.agent.com.atproto.identity.submitPlcOperation({ operation: op });
    const data = await (await fetch(`${stack.plcUrl}/${a.did}/data`)).json();
    assert.deepEqual(data.alsoKnownAs, aka);
    const ev = seqRows(stack, a.did);
    assert.equal(ev.length, before + 1);
    assert.deepEqual(ev.at(-1).body, { did: a.did });
  });

  test('deleteAccount: email token, store and rows gone, #account deleted, older events purged', async () => {
    const a = accounts[7];
    const dir = actorDir(stack, a.did);
    assert.ok(fs.existsSync(dir));
    const bad = await xrpc(stack, 'POST', 'com.atproto.server.deleteAccount',
      { body: { did: a.did, password: a.password, token: 'AAAAA-BBBBB' } });
    assert.deepEqual(bad.body, { error: 'InvalidToken', message: 'Token is invalid' });
    withDb(stack, 'account.sqlite', (db) => db.prepare('INSERT INTO email_token '
      + '(purpose, did, token, requestedAt) VALUES (?, ?, ?, ?)').run('delete_account',
      a.did, 'ABCDE-FGHIJ', new Date(Date.now() - 16 * 60000).toISOString()));
    const expired = await xrpc(stack, 'POST', 'com.atproto.server.deleteAccount',
      { body: { did: a.did, password: a.password, token: 'abcde-fghij' } });
    assert.deepEqual(expired.body, { error: 'ExpiredToken', message: 'Token is expired' });
    const wrongPw = await xrpc(stack, 'POST', 'com.atproto.server.deleteAccount',
      { body: { did: a.did, password: 'nope', token: 'abcde-fghij' } });
    assert.equal(wrongPw.status, 401);
    withDb(stack, 'account.sqlite', (db) => db.prepare('UPDATE email_token SET requestedAt = ? '
      + 'WHERE did = ?').run(new Date().toISOString(), a.did));
    const nulTok = await xrpc(stack, 'POST', 'com.atproto.server.deleteAccount',
      { body: { did: a.did, password: a.password, token: 'abcde-fghij\u0000' } });
    assert.deepEqual(nulTok.body, { error: 'InvalidToken', message: 'Token is invalid' });
    const nulDid = await xrpc(stack, 'POST', 'com.atproto.server.deleteAccount',
      { body: { did: `${a.did}\u0000x`, password: a.password, token: 'abcde-fghij' } });
    assert.equal(nulDid.status, 400);
    assert.match(nulDid.body.message, /^Invalid DID \(got .*\) at \$\.did$/);
    assert.ok(fs.existsSync(dir), 'refusals removed nothing');
    const ok = await xrpc(stack, 'POST', 'com.atproto.server.deleteAccount',
      { body: { did: a.did, password: a.password, token: 'abcde-fghij' } });
    assert.equal(ok.status, 200, ok.text);
    assert.ok(!fs.existsSync(dir));
    for (const t of ['actor', 'account', 'repo_root', 'refresh_token', 'email_token']) {
      assert.equal(rows(stack, `SELECT count(*) n FROM ${t} WHERE did = ?`, a.did)[0].n, 0, t);
    }
    const ev = seqRows(stack, a.did);
    assert.equal(ev.length, 1);
    assert.deepEqual(ev[0].body, { did: a.did, active: false, status: 'deleted' });
    await assert.rejects(a.agent.com.atproto.server.getSession(), { status: 400 });
    const again = await xrpc(stack, 'POST', 'com.atproto.server.deleteAccount',
      { body: { did: a.did, password: a.password, token: 'abcde-fghij' } });
    assert.deepEqual(again.body, { error: 'InvalidRequest', message: 'account not found' });
  });
});
