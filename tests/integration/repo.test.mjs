// repo.test.mjs: com.atproto.repo.* through real nginx (tests/lib/
// stack.mjs) with the official @atproto/api client: records written read
// back identical (value and CID, computed by @atproto/lex-cbor), put /
// delete semantics, applyWrites, listRecords paging, describeRepo,
// validation statuses and the reference's refusals (which must write
// nothing), "\u0000" in record strings and in identifiers, swaps,
// backlink deduplication, 8 concurrent writers through several
// workers, and SIGKILL of the workers in the middle of
// applyWrites (all of a batch or none of it, and no #commit lost).
// Every #commit row of sequencer.sqlite is checked as a sync v1.1 relay
// checks it (tests/lib/repoutil.mjs).  The pre-fork master maps the TID
// state that its workers share.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { AtpAgent } from '@atproto/api';
import { MemoryBlockstore, Repo, WriteOpAction, def, getFullRepo,
  verifyRepoCar } from '@atproto/repo';
import { Secp256k1Keypair } from '@atproto/crypto';
import { cidForLex } from '@atproto/lex-cbor';
import { jsonToLex } from '@atproto/lex-json';
import { startStack, workerPids, isExecutable, bins } from '../lib/stack.mjs';
import { checkCommitChain, didKeyOf, newAccount, sleep, xrpcError }
  from '../lib/repoutil.mjs';

const POST = 'app.bsky.feed.post';
const built = isExecutable(bins.fcgi);

async function head(agent, did) {
  return (await agent.com.atproto.sync.getLatestCommit({ did })).data;
}

async function listAll(agent, repo, collection) {
  const out = [];
  let cursor;
  for (;;) {
    const r = await agent.com.atproto.repo.listRecords({ repo, collection,
      limit: 100, cursor });
    out.push(...r.data.records);
    if (!r.data.cursor || r.data.records.length === 0) return out;
    cursor = r.data.cursor;
  }
}

/** POSTs raw JSON text (what @atproto/api would not send). */
async function rawPost(stack, acct, nsid, body) {
  const res = await fetch(`${stack.url}/xrpc/${nsid}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json',
      authorization: `Bearer ${acct.agent.session.accessJwt}` },
    body,
  });
  return { status: res.status, json: await res.json().catch(() => null) };
}

describe('com.atproto.repo', { skip: !built && 'pds-fcgi not built' }, () => {
  let stack, alice, bob, aliceKey;

  before(async () => {
    stack = await startStack({ workers: 4 });
    alice = await newAccount(stack, 'alice');
    bob = await newAccount(stack, 'bob');
    aliceKey = await didKeyOf(stack, alice.did);
  });

  after(async () => {
    const st = await stack?.stop();
    assert.deepEqual(st?.sanitizer ?? [], []);
  });

  test('the master maps the TID state before forking; workers inherit it', async () => {
    // one <data>/tid.state for every worker (fcgi/core/tid.h): the master,
    // which serves no request, has it mapped, and so has each worker
    const state = fs.realpathSync(path.join(stack.dataDir, 'tid.state'));
    const maps = (pid) => fs.readFileSync(`/proc/${pid}/maps`, 'utf8');
    assert.ok(maps(stack.pids.fcgi).includes(state), 'the master maps it');
    const workers = workerPids(stack);
    assert.equal(workers.length, 4);
    for (const pid of workers) assert.ok(maps(pid).includes(state), `worker ${pid}`);
  });

  test('records written with @atproto/api read back identical', async () => {
    const a = alice.agent;
    const records = [
      [POST, { text: 'hello ✨ wörld', createdAt: new Date().toISOString(),
        langs: ['en', 'de'] }, 'valid'],
      ['com.example.thing', { $type: 'com.example.thing', n: 42,
        neg: -7, nested: { list: [1, 'two', null, true, { deep: 'x' }] },
        bytes: { $bytes: 'aGVsbG8' },
        link: { $link: 'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm' },
        unicode: '日本語 "quoted" \\ back' }, 'unknown'],
    ];
    for (const [collection, record, status] of records) {
      const c = await a.com.atproto.repo.createRecord({ repo: alice.did,
        collection, record });
      assert.equal(c.data.validationStatus, status);
      assert.match(c.data.commit.rev, /^[2-7a-z]{13}$/);
      const rkey = c.data.uri.split('/').pop();
      assert.equal(c.data.uri, `at://${alice.did}/${collection}/${rkey}`);
      const want = { $type: collection, ...record };
      assert.equal(c.data.cid, (await cidForLex(jsonToLex(want))).toString());
      // the wire JSON is the record as written
      const raw = await fetch(`${stack.url}/xrpc/com.atproto.repo.getRecord?`
        + `repo=${alice.did}&collection=${collection}&rkey=${rkey}`);
      assert.deepEqual(await raw.json(), { uri: c.data.uri, cid: c.data.cid,
        value: want });
      // and the client's decoded value is the same data model value
      const g = await a.com.atproto.repo.getRecord({ repo: alice.did,
        collection, rkey });
      assert.deepEqual(g.data.value, jsonToLex(want));
      // by handle too, and with the right / wrong cid
      const h = await a.com.atproto.repo.getRecord({ repo: alice.handle,
        collection, rkey, cid: c.data.cid });
      assert.equal(h.data.cid, c.data.cid);
      const wrong = await xrpcError(a.com.atproto.repo.getRecord({
        repo: alice.did, collection, rkey, cid: records.length > 0 ?
          'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm' : '' }));
      assert.equal(wrong.error, 'RecordNotFound');
    }
  });

  test('putRecord creates, updates and is a no-op on the same record', async () => {
    const a = alice.agent;
    const base = { $type: 'app.bsky.actor.profile', displayName: 'Alice' };
    const p1 = await a.com.atproto.repo.putRecord({ repo: alice.did,
      collection: 'app.bsky.actor.profile', rkey: 'self', record: base });
    assert.equal(p1.data.validationStatus, 'valid');
    assert.ok(p1.data.commit);
    const p2 = await a.com.atproto.repo.putRecord({ repo: alice.did,
      collection: 'app.bsky.actor.profile', rkey: 'self',
      record: { ...base, description: 'hi' }, swapRecord: p1.data.cid });
    assert.ok(p2.data.commit.rev > p1.data.commit.rev);
    const before = await head(a, alice.did);
    const p3 = await a.com.atproto.repo.putRecord({ repo: alice.did,
      collection: 'app.bsky.actor.profile', rkey: 'self',
      record: { ...base, description: 'hi' } });
    assert.equal(p3.data.cid, p2.data.cid);
    assert.equal(p3.data.commit, undefined);
    assert.deepEqual(await head(a, alice.did), before);
    // the profile's key type is literal:self
    const bad = await xrpcError(a.com.atproto.repo.putRecord({
      repo: alice.did, collection: 'app.bsky.actor.profile', rkey: 'other',
      record: base }));
    assert.equal(bad.error, 'InvalidRequest');
  });

  test('deleteRecord, with and without a record', async () => {
    const a = alice.agent;
    const c = await a.com.atproto.repo.createRecord({ repo: alice.did,
      collection: POST, record: { text: 'bye', createdAt: new Date().toISOString() } });
    const rkey = c.data.uri.split('/').pop();
    const d = await a.com.atproto.repo.deleteRecord({ repo: alice.did,
      collection: POST, rkey });
    assert.ok(d.data.commit.rev > c.data.commit.rev);
    const gone = await xrpcError(a.com.atproto.repo.getRecord({
      repo: alice.did, collection: POST, rkey }));
    assert.equal(gone.error, 'RecordNotFound');
    const again = await a.com.atproto.repo.deleteRecord({ repo: alice.did,
      collection: POST, rkey });
    assert.equal(again.data.commit, undefined);
  });

  test('applyWrites: creates, updates, deletes in one commit', async () => {
    const a = alice.agent;
    const T = 'com.atproto.repo.applyWrites';
    const now = new Date().toISOString();
    const r = await a.com.atproto.repo.applyWrites({ repo: alice.did, writes: [
      { $type: `${T}#create`, collection: POST, rkey: '3jzfcijpj2z2a',
        value: { text: 'one', createdAt: now } },
      { $type: `${T}#create`, collection: POST, value: { text: 'two', createdAt: now } },
      { $type: `${T}#create`, collection: 'com.example.x', rkey: 'k1',
        value: { v: 1 } },
    ] });
    assert.deepEqual(r.data.results.map((x) => x.$type),
      [`${T}#createResult`, `${T}#createResult`, `${T}#createResult`]);
    assert.deepEqual(r.data.results.map((x) => x.validationStatus),
      ['valid', 'valid', 'unknown']);
    const r2 = await a.com.atproto.repo.applyWrites({ repo: alice.did,
      swapCommit: r.data.commit.cid, writes: [
        { $type: `${T}#update`, collection: 'com.example.x', rkey: 'k1',
          value: { v: 2 } },
        { $type: `${T}#delete`, collection: POST, rkey: '3jzfcijpj2z2a' },
      ] });
    assert.deepEqual(r2.data.results, [
      { $type: `${T}#updateResult`, uri: `at://${alice.did}/com.example.x/k1`,
        cid: (await cidForLex(jsonToLex({ $type: 'com.example.x', v: 2 }))).toString(),
        validationStatus: 'unknown' },
      { $type: `${T}#deleteResult` },
    ]);
    const g = await a.com.atproto.repo.getRecord({ repo: alice.did,
      collection: 'com.example.x', rkey: 'k1' });
    assert.deepEqual(g.data.value, { $type: 'com.example.x', v: 2 });
  });

  test('listRecords pages with cursor, newest first or reversed', async () => {
    const a = bob.agent;
    const rkeys = [];
    for (let i = 0; i < 7; i++) {
      const rkey = `rk${String(i).padStart(2, '0')}`;
      await a.com.atproto.repo.createRecord({ repo: bob.did,
        collection: 'com.example.list', rkey, record: { i } });
      rkeys.push(rkey);
    }
    const seen = [];
    let cursor;
    for (;;) {
      const r = await a.com.atproto.repo.listRecords({ repo: bob.did,
        collection: 'com.example.list', limit: 3, cursor });
      seen.push(...r.data.records.map((x) => x.uri.split('/').pop()));
      if (r.data.records.length < 3) break;
      cursor = r.data.cursor;
    }
    assert.deepEqual(seen, [...rkeys].reverse());
    const rev = await a.com.atproto.repo.listRecords({ repo: bob.handle,
      collection: 'com.example.list', reverse: true, limit: 4 });
    assert.deepEqual(rev.data.records.map((x) => x.uri.split('/').pop()),
      rkeys.slice(0, 4));
    assert.equal(rev.data.cursor, 'rk03');
    const bad = await xrpcError(a.com.atproto.repo.listRecords({
      repo: bob.did, collection: 'com.example.list', limit: 101 }));
    assert.equal(bad.error, 'InvalidRequest');
    const none = await xrpcError(a.com.atproto.repo.listRecords({
      repo: 'did:plc:aaaaaaaaaaaaaaaaaaaaaaaa', collection: 'com.example.list' }));
    assert.equal(none.message, 'Could not find repo: did:plc:aaaaaaaaaaaaaaaaaaaaaaaa');
  });

  test('describeRepo', async () => {
    const r = await bob.agent.com.atproto.repo.describeRepo({ repo: bob.handle });
    assert.equal(r.data.did, bob.did);
    assert.equal(r.data.handle, bob.handle);
    assert.equal(r.data.handleIsCorrect, true);
    assert.equal(r.data.didDoc.id, bob.did);
    assert.deepEqual(r.data.collections, ['com.example.list']);
    const none = await xrpcError(bob.agent.com.atproto.repo.describeRepo({
      repo: 'nobody.test' }));
    assert.equal(none.message, 'Could not find user: nobody.test');
  });

  test('validation statuses and refusals write nothing', async () => {
    const a = alice.agent;
    const before = await head(a, alice.did);
    const now = new Date().toISOString();
    const cases = [
      [{ collection: 'com.example.thing', record: { a: 1 }, validate: true },
        'Unknown lexicon type: com.example.thing'],
      [{ collection: POST, record: { $type: 'app.bsky.feed.like', text: 'x',
        createdAt: now } }, `Invalid $type: expected ${POST}, got app.bsky.feed.like`],
      [{ collection: POST, record: { text: 'no date' } },
        `Invalid ${POST} record: Missing required key "createdAt" at $.record`],
      [{ collection: POST, record: { text: 'x'.repeat(3001), createdAt: now } },
        `Invalid ${POST} record: string too big (maximum 3000, got 3001) at $.record.text`],
      [{ collection: POST, record: { text: '👍'.repeat(301), createdAt: now } },
        `Invalid ${POST} record: grapheme too big (maximum 300, got 301) at $.record.text`],
      [{ collection: POST, record: { text: 1, createdAt: now } },
        `Invalid ${POST} record: Expected string value type (got 1) at $.record.text`],
      [{ collection: POST, record: { text: 'x', createdAt: 'yesterday' } },
        `Invalid ${POST} record: Invalid datetime (got "yesterday") at $.record.createdAt`],
      [{ collection: 'app.bsky.feed.like', record: { subject: { uri: 'nope',
        cid: 'bafy' }, createdAt: now } },
      'Invalid app.bsky.feed.like record: Invalid at-uri (got "nope") at $.record.subject.uri'],
      [{ collection: 'app.bsky.graph.follow', record: { subject: 'not-a-did',
        createdAt: now } },
      'Invalid app.bsky.graph.follow record: Invalid DID (got "not-a-did") at $.record.subject'],
      [{ collection: 'app.bsky.actor.profile', rkey: 'self', record: {
        avatar: { cid: 'bafkreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm',
          mimeType: 'image/png' } } }, undefined],
      [{ collection: 'com.example.thing', record: { avatar: { cid: 'x',
        mimeType: 'image/png' } }, validate: false }, "Legacy blob ref at 'avatar'"],
      [{ collection: POST, rkey: 'not-a-tid', record: { text: 'x', createdAt: now } },
        `Invalid record key for ${POST}: Invalid TID string (got "not-a-tid") at $`],
    ];
    for (const [input, msg] of cases) {
      const r = await xrpcError(a.com.atproto.repo.createRecord({
        repo: alice.did, ...input }));
      assert.equal(r.ok, false, JSON.stringify(input));
      assert.equal(r.status, 400, JSON.stringify(r));
      assert.equal(r.error, 'InvalidRequest');
      if (msg !== undefined) assert.equal(r.message, msg);
    }
    // floats, bad links and bad bytes never reach the data model
    for (const body of [
      `{"repo":"${alice.did}","collection":"com.example.f","record":{"x":1.5}}`,
      `{"repo":"${alice.did}","collection":"com.example.f","record":{"x":{"$link":"nope"}}}`,
      `{"repo":"${alice.did}","collection":"com.example.f","record":{"x":{"$bytes":"!!"}}}`,
      `{"repo":"${alice.did}","collection":"com.example.f","record":{"x":{"$link":"bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm","y":1}}}`,
    ]) {
      const r = await rawPost(stack, alice, 'com.atproto.repo.createRecord', body);
      assert.equal(r.status, 400);
      assert.deepEqual(r.json, { error: 'InvalidRequest', message: 'Bad record' });
    }
    // malformed inputs
    for (const [body, status] of [
      [`{"repo":"${alice.did}","collection":"com.example.f","rkey":"a/b","record":{}}`, 400],
      [`{"repo":"${alice.did}","collection":"com.example.f","rkey":"..","record":{}}`, 400],
      [`{"repo":"${alice.did}","collection":"not an nsid","record":{}}`, 400],
      [`{"repo":"${alice.did}","collection":"com.example.f","record":[]}`, 400],
      [`{"repo":"${alice.did}","collection":"com.example.f"}`, 400],
      [`{"repo":"${alice.did}","collection":"com.example.f","rkey":"${'a'.repeat(513)}","record":{}}`, 400],
      [`{"repo":"${alice.did}","collection":"com.example.f","record":{"x":"${'y'.repeat(1000001)}"}}`, 413],
    ]) {
      const r = await rawPost(stack, alice, 'com.atproto.repo.createRecord', body);
      assert.equal(r.status, status, body.slice(0, 120));
    }
    // 201 writes
    const T = 'com.atproto.repo.applyWrites';
    const many = await xrpcError(a.com.atproto.repo.applyWrites({ repo: alice.did,
      writes: Array.from({ length: 201 }, (_, i) => ({ $type: `${T}#create`,
        collection: 'com.example.m', rkey: `m${i}`, value: { i } })) }));
    assert.equal(many.message, 'Too many writes. Max: 200');
    // a batch with one bad record writes none of it
    const mixed = await xrpcError(a.com.atproto.repo.applyWrites({ repo: alice.did,
      writes: [
        { $type: `${T}#create`, collection: 'com.example.m', rkey: 'ok1', value: { i: 1 } },
        { $type: `${T}#create`, collection: POST, rkey: 'ok2', value: { text: 5 } },
      ] }));
    assert.equal(mixed.error, 'InvalidRequest');
    assert.deepEqual(await head(a, alice.did), before);
    assert.deepEqual(await listAll(a, alice.did, 'com.example.m'), []);
    // validate: false keeps any record and reports no status
    const nv = await a.com.atproto.repo.createRecord({ repo: alice.did,
      collection: POST, record: { anything: true }, validate: false });
    assert.equal(nv.data.validationStatus, undefined);
  });

  test('"\\u0000" in strings: kept in records, refused in identifiers', async () => {
    const a = alice.agent;
    const now = new Date().toISOString();
    // JSON.parse takes it: a record string may hold a NUL like any other
    // character, and the record's CID covers all of it
    for (const [collection, record, status] of [
      ['com.example.nul', { $type: 'com.example.nul', s: 'a\u0000b', l: ['\u0000'] },
        'unknown'],
      [POST, { $type: POST, text: 'before \u0000 after', createdAt: now }, 'valid'],
    ]) {
      const r = await rawPost(stack, alice, 'com.atproto.repo.createRecord',
        JSON.stringify({ repo: alice.did, collection, record }));
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assert.equal(r.json.validationStatus, status);
      assert.equal(r.json.cid, (await cidForLex(jsonToLex(record))).toString());
      const rkey = r.json.uri.split('/').pop();
      const g = await fetch(`${stack.url}/xrpc/com.atproto.repo.getRecord?`
        + `repo=${alice.did}&collection=${collection}&rkey=${rkey}`);
      assert.deepEqual(await g.json(), { uri: r.json.uri, cid: r.json.cid, value: record });
    }
    // an identifier with a NUL is refused, never cut short at the NUL
    // (which would name another collection, record key, repo or write)
    const before = await head(a, alice.did);
    const T = 'com.atproto.repo.applyWrites';
    const C = 'com.atproto.repo.createRecord';
    for (const [nsid, body, message] of [
      [C, { repo: alice.did, collection: 'com.example.f\u0000x', record: {} }],
      [C, { repo: alice.did, collection: 'com.example.f', rkey: 'k\u0000', record: {} }],
      [C, { repo: `${alice.did}\u0000`, collection: 'com.example.f', record: {} }],
      ['com.atproto.repo.putRecord', { repo: alice.did, collection: 'com.example.f',
        rkey: 'k\u0000x', record: {} }],
      ['com.atproto.repo.deleteRecord', { repo: alice.did,
        collection: 'com.example.f\u0000', rkey: 'k' }],
      [T, { repo: alice.did, writes: [{ $type: `${T}#create\u0000x`,
        collection: 'com.example.f', value: {} }] },
      `Expected one of "${T}#create", "${T}#update" or "${T}#delete" at $.writes[0].$type`],
      [T, { repo: alice.did, writes: [{ $type: `${T}#create`,
        collection: 'com.example.f\u0000x', value: {} }] }, /^Invalid nsid \(got /],
      [T, { repo: alice.did, writes: [{ $type: `${T}#delete`,
        collection: 'com.example.f', rkey: 'k\u0000x' }] }, /^Invalid record-key \(got /],
    ]) {
      const r = await rawPost(stack, alice, nsid, JSON.stringify(body));
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.json.error, 'InvalidRequest');
      if (typeof message === 'string') assert.equal(r.json.message, message);
      else if (message) assert.match(r.json.message, message);
    }
    assert.deepEqual(await head(a, alice.did), before);
    assert.deepEqual(await listAll(a, alice.did, 'com.example.f'), []);
  });

  test('swaps and someone else\'s repository', async () => {
    const a = alice.agent;
    const h = await head(a, alice.did);
    const wrongCommit = 'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm';
    const r1 = await xrpcError(a.com.atproto.repo.createRecord({ repo: alice.did,
      collection: 'com.example.s', record: { a: 1 }, swapCommit: wrongCommit }));
    assert.equal(r1.error, 'InvalidSwap');
    assert.equal(r1.message, `Commit was at ${h.cid}`);
    const ok = await a.com.atproto.repo.createRecord({ repo: alice.did,
      collection: 'com.example.s', rkey: 's1', record: { a: 1 }, swapCommit: h.cid });
    const r2 = await xrpcError(a.com.atproto.repo.putRecord({ repo: alice.did,
      collection: 'com.example.s', rkey: 's1', record: { a: 2 },
      swapRecord: wrongCommit }));
    assert.equal(r2.error, 'InvalidSwap');
    assert.equal(r2.message, `Record was at ${ok.data.cid}`);
    const r3 = await xrpcError(a.com.atproto.repo.putRecord({ repo: alice.did,
      collection: 'com.example.s', rkey: 's1', record: { a: 2 }, swapRecord: null }));
    assert.equal(r3.error, 'InvalidSwap');
    const r4 = await xrpcError(a.com.atproto.repo.deleteRecord({ repo: alice.did,
      collection: 'com.example.s', rkey: 's1', swapRecord: wrongCommit }));
    assert.equal(r4.error, 'InvalidSwap');
    const r5 = await xrpcError(a.com.atproto.repo.putRecord({ repo: alice.did,
      collection: 'com.example.s', rkey: 's2', record: { a: 1 },
      swapRecord: ok.data.cid }));
    assert.equal(r5.message, 'Record was at null');
    const other = await xrpcError(a.com.atproto.repo.createRecord({
      repo: bob.did, collection: 'com.example.s', record: { a: 1 } }));
    assert.equal(other.status, 401);
    const anon = new AtpAgent({ service: stack.url });
    const noauth = await xrpcError(anon.com.atproto.repo.createRecord({
      repo: alice.did, collection: 'com.example.s', record: { a: 1 } }));
    assert.equal(noauth.status, 401);
    const missing = await xrpcError(a.com.atproto.repo.createRecord({
      repo: 'ghost.test', collection: 'com.example.s', record: { a: 1 } }));
    assert.equal(missing.message, 'Could not find repo: ghost.test');
  });

  test('createRecord replaces a duplicate follow or like in the same commit', async () => {
    const a = alice.agent;
    const now = new Date().toISOString();
    const f1 = await a.com.atproto.repo.createRecord({ repo: alice.did,
      collection: 'app.bsky.graph.follow', record: { subject: bob.did, createdAt: now } });
    const f2 = await a.com.atproto.repo.createRecord({ repo: alice.did,
      collection: 'app.bsky.graph.follow', record: { subject: bob.did, createdAt: now } });
    const follows = await listAll(a, alice.did, 'app.bsky.graph.follow');
    assert.deepEqual(follows.map((r) => r.uri), [f2.data.uri]);
    assert.notEqual(f1.data.uri, f2.data.uri);
    const subject = { uri: f2.data.uri, cid: f2.data.cid };
    await a.com.atproto.repo.createRecord({ repo: alice.did,
      collection: 'app.bsky.feed.like', record: { subject, createdAt: now } });
    const l2 = await a.com.atproto.repo.createRecord({ repo: alice.did,
      collection: 'app.bsky.feed.like', record: { subject, createdAt: now } });
    const likes = await listAll(a, alice.did, 'app.bsky.feed.like');
    assert.deepEqual(likes.map((r) => r.uri), [l2.data.uri]);
    // without validation, no deduplication
    await a.com.atproto.repo.createRecord({ repo: alice.did,
      collection: 'app.bsky.graph.follow', validate: false,
      record: { subject: bob.did, createdAt: now } });
    assert.equal((await listAll(a, alice.did, 'app.bsky.graph.follow')).length, 2);
  });

  test('8 concurrent clients x 200 records through several workers', async () => {
    const acct = await newAccount(stack, 'busy');
    const clients = [];
    for (let i = 0; i < 8; i++) {
      const ag = new AtpAgent({ service: stack.url });
      await ag.login({ identifier: acct.handle, password: acct.password });
      clients.push(ag);
    }
    const created = [];
    await Promise.all(clients.map(async (ag, c) => {
      for (let i = 0; i < 200; i++) {
        const r = await ag.com.atproto.repo.createRecord({ repo: acct.did,
          collection: 'com.example.load', record: { c, i } });
        created.push(r.data);
      }
    }));
    assert.equal(created.length, 1600);
    const revs = created.map((r) => r.commit.rev);
    assert.equal(new Set(revs).size, 1600, 'every commit has its own rev');
    const listed = await listAll(acct.agent, acct.did, 'com.example.load');
    assert.equal(listed.length, 1600);
    assert.deepEqual(new Set(listed.map((r) => r.uri)),
      new Set(created.map((r) => r.uri)));
    const seen = new Set(listed.map((r) => `${r.value.c}/${r.value.i}`));
    assert.equal(seen.size, 1600);
    const car = await acct.agent.com.atproto.sync.getRepo({ did: acct.did });
    const key = await didKeyOf(stack, acct.did);
    const v = await verifyRepoCar(car.data, acct.did, key);
    assert.equal(v.creates.length, 1600);
    const h = await head(acct.agent, acct.did);
    assert.equal(v.commit.rev, h.rev);
    // 1 genesis + 1600 commits, a strictly increasing chain
    assert.equal(await checkCommitChain(stack, acct.did, key, h.rev), 1601);
  });

  test('SIGKILL of the workers in the middle of applyWrites: all or nothing', async () => {
    const acct = await newAccount(stack, 'kill');
    const key = await didKeyOf(stack, acct.did);
    const T = 'com.atproto.repo.applyWrites';
    const outcomes = [];
    for (let round = 0; round < 5; round++) {
      const writes = Array.from({ length: 200 }, (_, i) => ({ $type: `${T}#create`,
        collection: 'com.example.kill', rkey: `r${round}-${i}`,
        value: { round, i, pad: 'p'.repeat(2000) } }));
      const pending = acct.agent.com.atproto.repo.applyWrites({ repo: acct.did,
        writes }).then(() => 'ok', (e) => `failed ${e.status}`);
      await sleep(5 + round * 15);
      for (const pid of workerPids(stack)) {
        try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
      }
      const result = await pending;
      // wait for the master to replace the workers
      for (let i = 0; i < 200; i++) {
        try {
          if ((await fetch(`${stack.url}/xrpc/_health`)).status === 200) break;
        } catch { /* not yet */ }
        await sleep(50);
      }
      const got = (await listAll(acct.agent, acct.did, 'com.example.kill'))
        .filter((r) => r.value.round === round);
      assert.ok(got.length === 0 || got.length === 200,
        `round ${round}: ${got.length} of 200 records (${result})`);
      if (result === 'ok') assert.equal(got.length, 200);
      outcomes.push(`${result}:${got.length}`);
    }
    // one more write flushes any #commit left pending by a killed worker
    await acct.agent.com.atproto.repo.createRecord({ repo: acct.did,
      collection: 'com.example.kill', record: { after: true } });
    const h = await head(acct.agent, acct.did);
    const car = await acct.agent.com.atproto.sync.getRepo({ did: acct.did });
    await verifyRepoCar(car.data, acct.did, key);
    await checkCommitChain(stack, acct.did, key, h.rev);
    console.log(`  kill rounds: ${outcomes.join(' ')}`);
  });

  test('importRepo replaces the repository with a CAR, re-signed', async () => {
    const acct = await newAccount(stack, 'imp');
    await acct.agent.com.atproto.repo.createRecord({ repo: acct.did,
      collection: 'com.example.old', rkey: 'gone', record: { old: true } });
    const before = await head(acct.agent, acct.did);
    // a repository built by @atproto/repo, signed by another key
    const storage = new MemoryBlockstore();
    const keypair = await Secp256k1Keypair.create();
    const blob = 'bafkreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm';
    const writes = Array.from({ length: 30 }, (_, i) => ({
      action: WriteOpAction.Create, collection: 'com.example.imp',
      rkey: `r${String(i).padStart(2, '0')}`,
      record: jsonToLex({ i, ...(i === 3 ? { pic: { $type: 'blob',
        ref: { $link: blob }, mimeType: 'image/png', size: 10 } } : {}) }) }));
    const repo = await Repo.create(storage, acct.did, keypair, writes);
    const chunks = [];
    for await (const c of getFullRepo(storage, repo.cid)) chunks.push(c);
    const car = Buffer.concat(chunks);
    const post = (body, did = acct) => fetch(`${stack.url}/xrpc/com.atproto.repo.importRepo`, {
      method: 'POST', body, headers: { 'content-type': 'application/vnd.ipld.car',
        authorization: `Bearer ${did.agent.session.accessJwt}` } });
    const res = await post(car);
    assert.equal(res.status, 200, await res.text());
    const listed = await listAll(acct.agent, acct.did, 'com.example.imp');
    assert.equal(listed.length, 30);
    assert.deepEqual(await listAll(acct.agent, acct.did, 'com.example.old'), []);
    const after = await head(acct.agent, acct.did);
    assert.ok(after.rev > before.rev);
    const key = await didKeyOf(stack, acct.did);
    const full = await acct.agent.com.atproto.sync.getRepo({ did: acct.did });
    const v = await verifyRepoCar(full.data, acct.did, key);
    assert.equal(v.creates.length, 30);
    // the same tree, under a new commit signed with the account's key
    assert.equal(v.commit.rev, after.rev);
    const mine = await new MemoryBlockstore(v.commit.newBlocks)
      .readObj(v.commit.cid, def.commit);
    assert.equal(mine.data.toString(), repo.commit.data.toString());
    const missing = await acct.agent.com.atproto.repo.listMissingBlobs({});
    assert.deepEqual(missing.data.blobs, [{ cid: blob,
      recordUri: `at://${acct.did}/com.example.imp/r03` }]);
    // refused: a CAR of another DID, garbage, no root
    const other = await Repo.create(new MemoryBlockstore(), 'did:plc:someoneelse', keypair, []);
    const oc = [];
    for await (const c of getFullRepo(other.storage, other.cid)) oc.push(c);
    assert.equal((await post(Buffer.concat(oc))).status, 400);
    assert.equal((await post(Buffer.from('not a car'))).status, 400);
    assert.equal((await post(car.subarray(0, car.length - 10))).status, 400);
    // and the repository is still the imported one
    assert.deepEqual(await head(acct.agent, acct.did), after);
  });

  test('every #commit of the suite passes the relay checks', async () => {
    for (const who of [alice, bob]) {
      const key = await didKeyOf(stack, who.did);
      const h = await head(who.agent, who.did);
      const n = await checkCommitChain(stack, who.did, key, h.rev);
      assert.ok(n > 1);
    }
    assert.ok(aliceKey.startsWith('did:key:'));
  });
});
