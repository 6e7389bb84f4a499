// firehose-e2e.test.mjs: the end-to-end acceptance test of pds-firehose
// (issue "pds-firehose", Done-when).  The real stack (tests/lib/stack.mjs:
// a local PLC directory, pds-fcgi, pds-firehose, nginx with the shipped
// conf/nginx/pds-locations.conf), accounts created with @atproto/api, a
// write load from several clients (creates, updates, deletes, applyWrites
// batches, handle updates, a deactivation and reactivation), and two
// consumers reading ws://localhost:PORT/xrpc/com.atproto.sync.subscribeRepos
// through nginx from cursor 0, first replaying, then live:
//
//  - the official @atproto/sync Firehose (authenticated commits: each op
//    proven against the commit signed by the #atproto key of the DID
//    document fetched from the PLC; identities resolved; reconnecting by
//    itself with the cursor its runner gives);
//  - a relay-style consumer on `ws` that checks every #commit with
//    @atproto/repo as a sync v1.1 relay does (signature against the PLC
//    document's key, ops inverted on the new tree using only the event's
//    blocks to arrive at prevData, since/prevData chained to the previous
//    commit or #sync of the repo), verifies every #sync commit, and
//    reconnects itself with its last seq; a second one starts from cursor 0
//    in the middle of the load (replay, then live, under writes).
//
// pds-firehose is restarted twice in the middle of the load (SIGTERM, then
// SIGKILL).  At the end each consumer's seq list must be the repo_seq rows
// of sequencer.sqlite exactly: every row once, in order, no gap.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import WebSocket from 'ws';
import { IdResolver, getKey } from '@atproto/identity';
import { Firehose, parseCommitAuthenticated } from '@atproto/sync';
import { BlockMap, MemoryBlockstore, blocksToCarFile, def, readCarWithRoot,
  verifyCommitSig } from '@atproto/repo';
import { decode as lexDecode } from '@atproto/lex-cbor';
import { Frame } from '@atproto/xrpc-server';
import { checkCommitEvent, didKeyOf, newAccount, sleep } from '../lib/repoutil.mjs';
import { bins, isExecutable, startStack } from '../lib/stack.mjs';

const built = isExecutable(bins.fcgi) && isExecutable(bins.firehose);
const NSID = 'com.atproto.sync.subscribeRepos';
const TYPES = { append: 'commit', identity: 'identity', account: 'account', sync: 'sync' };
const N_ACCOUNTS = 6;
const T = 'com.atproto.repo.applyWrites';
const COLL = 'com.example.fhe2e';

// ---- the database's view -------------------------------------------------

/** Every repo_seq row, decoded, in seq order. */
function dbRows(stack) {
  const db = new DatabaseSync(path.join(stack.dataDir, 'sequencer.sqlite'), { readOnly: true });
  try {
    db.exec('PRAGMA busy_timeout = 5000');
    return db.prepare('SELECT seq, did, eventType, event, invalidated FROM repo_seq ORDER BY seq')
      .all().map((r) => ({ seq: Number(r.seq), did: r.did, type: TYPES[r.eventType],
        invalidated: Number(r.invalidated), body: lexDecode(r.event) }));
  } finally {
    db.close();
  }
}

/** The events the official consumer hands to handleEvent for a row: one
 * per op of a #commit, one for each other event. */
function expectedOfficial(row) {
  return row.type === 'commit' ? row.body.ops.map((op) => op.action) : [row.type];
}

// ---- identity ----------------------------------------------------------------

/** The #atproto signing key (did:key) of did, from its DID document on the
 * PLC directory, checked against the key of the PLC operation data
 * (fetched once: keys do not rotate in this test). */
function plcKeys(stack) {
  const cache = new Map();
  return (did) => {
    if (!cache.has(did)) {
      cache.set(did, (async () => {
        const res = await fetch(`${stack.plcUrl}/${encodeURIComponent(did)}`);
        if (!res.ok) throw new Error(`PLC ${did}: ${res.status}`);
        const key = getKey(await res.json());
        if (!key) throw new Error(`${did}: no #atproto key in the DID document`);
        const opKey = await didKeyOf(stack, did);
        if (key !== opKey) throw new Error(`${did}: DID document key ${key} is not ${opKey}`);
        return key;
      })());
    }
    return cache.get(did);
  };
}

// ---- the official consumer -------------------------------------------------

/**
 * @atproto/sync's Firehose with authenticated commits and handles.  Its
 * runner records every event it is given (seq, in arrival order) and runs
 * the handlers one after another; getCursor() is the last seq received, so
 * a reconnection asks for exactly what follows.
 */
function officialConsumer(stack) {
  const o = { seen: [], handled: new Map(), identities: new Map(), errors: [],
    keyLookups: 0, lastSeq: undefined, chain: Promise.resolve() };
  const idResolver = new IdResolver({ plcUrl: stack.plcUrl, fetch: globalThis.fetch,
    timeout: 10000 });
  // Handles resolve through the PDS (its resolveHandle), not DNS or HTTPS
  // to the handle's host, which do not exist here; the Firehose's own
  // bidirectional check (DID document handle -> DID) still runs.
  idResolver.handle.resolve = async (handle) => {
    const res = await fetch(`${stack.url}/xrpc/com.atproto.identity.resolveHandle?handle=${
      encodeURIComponent(handle)}`);
    return res.ok ? (await res.json()).did : undefined;
  };
  const resolveKey = idResolver.did.resolveAtprotoKey.bind(idResolver.did);
  idResolver.did.resolveAtprotoKey = (...args) => { o.keyLookups++; return resolveKey(...args); };
  const runner = {
    getCursor: () => o.lastSeq ?? 0,
    trackEvent: (did, seq, handler) => {
      o.seen.push(seq);
      if (o.lastSeq === undefined || seq > o.lastSeq) o.lastSeq = seq;
      o.chain = o.chain.then(handler).catch((err) => o.errors.push(err));
      return o.chain;
    },
  };
  o.firehose = new Firehose({
    idResolver,
    runner,
    service: `ws://localhost:${stack.port}`,
    headers: { 'user-agent': 'fh-e2e-official' },
    maxReconnectSeconds: 2,
    subscriptionReconnectDelay: 500,
    handleEvent: (evt) => {
      const list = o.handled.get(evt.seq) ?? [];
      list.push(evt.event);
      o.handled.set(evt.seq, list);
      if (evt.event === 'identity') {
        if (!evt.didDocument) throw new Error(`#identity ${evt.seq}: DID not resolved`);
        o.identities.set(evt.did, evt.handle);
      }
    },
    onError: (err) => o.errors.push(err),
  });
  assert.ok(!o.firehose.opts.unauthenticatedCommits && !o.firehose.opts.unauthenticatedHandles);
  o.started = o.firehose.start();
  let stopped = null;
  o.stop = () => (stopped ??= o.firehose.destroy());
  o.idResolver = idResolver;
  return o;
}

// ---- the relay-style consumer ----------------------------------------------

/** Checks one received #sync body: its CAR's root is a commit of the repo
 * at the event's rev, signed by didkey.  Returns {rev, data}. */
async function checkSyncEvent(ev, didkey) {
  const { root, blocks } = await readCarWithRoot(ev.blocks);
  const commit = await new MemoryBlockstore(blocks).readObj(root, def.commit);
  if (commit.did !== ev.did) throw new Error('sync commit did');
  if (commit.rev !== ev.rev) throw new Error('sync commit rev');
  if (!(await verifyCommitSig(commit, didkey))) throw new Error('sync: bad signature');
  return { rev: commit.rev, data: commit.data };
}

/**
 * A `ws` subscriber doing what a relay does with each frame.  Reconnects
 * by itself (every 200 ms while the daemon is away) with ?cursor=<last seq
 * received>.  Frames are checked in arrival order.
 */
function relayConsumer(stack, keyOf, agent) {
  const r = { seen: [], types: new Map(), errors: [], infos: [], connects: 0,
    lastSeq: undefined, stopped: false, repos: new Map(), checked: 0 };
  let queue = Promise.resolve();
  let ws = null;

  const verify = async (type, body) => {
    if (type === 'commit') {
      const got = await checkCommitEvent(body, await keyOf(body.repo));
      const prev = r.repos.get(body.repo);
      if (prev) {
        if (body.since !== prev.rev) throw new Error(`since ${body.since} after rev ${prev.rev}`);
        if (!(body.rev > prev.rev)) throw new Error(`rev ${body.rev} not after ${prev.rev}`);
        if (!body.prevData || body.prevData.toString() !== prev.data.toString()) {
          throw new Error(`prevData ${body.prevData} is not the last data ${prev.data}`);
        }
      } else if (body.prevData !== undefined || body.since !== null) {
        throw new Error('first commit of a repo is not a genesis commit');
      }
      r.repos.set(body.repo, { rev: got.rev, data: got.data });
      r.checked++;
    } else if (type === 'sync') {
      const got = await checkSyncEvent(body, await keyOf(body.did));
      const prev = r.repos.get(body.did);
      if (prev && got.rev < prev.rev) throw new Error('#sync rev goes back');
      r.repos.set(body.did, got);
      r.checked++;
    } else if (type === 'identity') {
      if (!body.did.startsWith('did:plc:') || typeof body.handle !== 'string') {
        throw new Error('#identity shape');
      }
    } else if (type === 'account') {
      if (typeof body.active !== 'boolean') throw new Error('#account shape');
    }
  };

  const onMessage = (data) => {
    let f;
    try { f = Frame.fromBytes(Buffer.from(data)); } catch (e) {
      r.errors.push(`undecodable frame: ${e.message}`);
      return;
    }
    if (f.isError()) { r.errors.push(`error frame ${f.code}: ${f.message}`); return; }
    if (f.type === '#info') { r.infos.push(f.body); return; }
    const type = f.type?.slice(1);
    const { seq } = f.body;
    r.seen.push(seq);
    r.types.set(seq, type);
    if (r.lastSeq === undefined || seq > r.lastSeq) r.lastSeq = seq;
    queue = queue.then(() => verify(type, f.body))
      .catch((e) => r.errors.push(`seq ${seq} ${f.type}: ${e.message}`));
  };

  const connect = () => {
    if (r.stopped) return;
    r.connects++;
    ws = new WebSocket(`ws://localhost:${stack.port}/xrpc/${NSID}?cursor=${r.lastSeq ?? 0}`,
      { perMessageDeflate: false, headers: { 'user-agent': agent } });
    ws.on('message', onMessage);
    ws.on('error', () => {});
    ws.once('close', () => { if (!r.stopped) setTimeout(connect, 200); });
  };
  connect();
  r.drain = () => queue;
  r.stop = async () => {
    if (r.stopped) return;
    r.stopped = true;
    if (ws && ws.readyState !== WebSocket.CLOSED) {
      const closed = new Promise((res) => ws.once('close', res));
      ws.close();
      await Promise.race([closed, sleep(2000)]);
    }
    await queue;
  };
  return r;
}

// ---- the write load --------------------------------------------------------

const post = (text) => ({ $type: 'app.bsky.feed.post', text, createdAt: new Date().toISOString() });

/** One write of account a, the kind chosen by k. */
async function oneWrite(a, k) {
  const repo = a.did;
  const api = a.agent.com.atproto.repo;
  switch (k % 5) {
    case 0: { // create
      const r = await api.createRecord({ repo, collection: 'app.bsky.feed.post', record: post(`p${k}`) });
      a.posts.push(r.data.uri.split('/').pop());
      break;
    }
    case 1: { // an applyWrites batch: creates, an update, a delete
      const writes = [0, 1, 2].map((j) => ({ $type: `${T}#create`, collection: COLL,
        rkey: `b${k}x${j}`, value: { $type: COLL, k, j } }));
      const upd = a.custom[0];
      const del = a.custom.length > 1 ? a.custom.splice(1, 1)[0] : null;
      if (upd) writes.push({ $type: `${T}#update`, collection: COLL, rkey: upd, value: { $type: COLL, k, upd: true } });
      if (del) writes.push({ $type: `${T}#delete`, collection: COLL, rkey: del });
      await api.applyWrites({ repo, writes });
      a.custom.push(...writes.filter((w) => w.$type.endsWith('#create')).map((w) => w.rkey));
      break;
    }
    case 2: // the profile: created once, then updated
      await api.putRecord({ repo, collection: 'app.bsky.actor.profile', rkey: 'self',
        record: { $type: 'app.bsky.actor.profile', displayName: `n${k}` } });
      break;
    case 3: { // delete
      const rkey = a.posts.shift();
      if (rkey) await api.deleteRecord({ repo, collection: 'app.bsky.feed.post', rkey });
      break;
    }
    default: { // update of an existing post
      const rkey = a.posts.at(-1);
      if (rkey) {
        await api.putRecord({ repo, collection: 'app.bsky.feed.post', rkey, record: post(`u${k}`) });
      }
    }
  }
}

/** A client writing for a until stop.done; runs a.special() between writes
 * when it is set (deactivation, which must not race its own writes). */
async function writer(a, stop) {
  let k = a.k ?? 0;
  while (!stop.done) {
    if (a.special) {
      const s = a.special;
      a.special = null;
      await s();
    }
    await oneWrite(a, k++);
    a.writes = (a.writes ?? 0) + 1;
  }
  a.k = k;
}

/** Runs fn between two writes of a's writer; resolves when it ran. */
function between(a, fn) {
  return new Promise((resolve, reject) => {
    a.special = () => fn().then(resolve, (e) => { reject(e); });
  });
}

/** Lines of nginx's access log for upgraded (101) subscribeRepos requests
 * of the given user agent. */
function subscribeLines(stack, agent) {
  return stack.log('access').split('\n')
    .filter((l) => l.includes(`/xrpc/${NSID}`) && / 101 \d+ /.test(l) && l.includes(`"${agent}"`));
}

async function until(what, fn, timeoutMs) {
  const end = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > end) assert.fail(`timed out: ${what}`);
    await sleep(50);
  }
}

describe('pds-firehose end to end (official consumer, nginx, restarts under load)',
  { skip: !built && `not built: ${bins.fcgi} / ${bins.firehose}` }, () => {
    let stack = null;
    const consumers = [];
    after(async () => {
      for (const c of consumers) await c.stop();
      await stack?.stop();
    });
    // A failure carries the ends of the daemons' logs (the run directory goes
    // with the stack).
    const withLogs = (fn) => async (t) => {
      try {
        await fn(t);
      } catch (err) {
        if (stack) {
          const tails = ['fcgi', 'firehose', 'nginx'].map((n) => `--- ${n} log:\n${
            stack.log(n).split('\n').filter((l) => !/ 200 \d+ \d+us$/.test(l)).slice(-25).join('\n')}`);
          err.message += `\n${tails.join('\n')}`;
        }
        throw err;
      }
    };

    test('every event exactly once, every commit valid, across two daemon restarts',
      { timeout: 180000 }, withLogs(async (t) => {
        const t0 = Date.now();
        stack = await startStack({ workers: 2 });
        const keyOf = plcKeys(stack);

        // Accounts (genesis events: #identity, #account, #commit, #sync
        // each) and a first round of writes: the consumers replay these.
        const accounts = [];
        for (let i = 0; i < N_ACCOUNTS; i++) {
          const a = await newAccount(stack, 'fhe');
          Object.assign(a, { posts: [], custom: [], k: 0 });
          accounts.push(a);
        }
        for (const a of accounts) for (let k = 0; k < 3; k++) await oneWrite(a, a.k++);
        const replayedUpTo = dbRows(stack).at(-1).seq;

        const official = officialConsumer(stack);
        const relay = relayConsumer(stack, keyOf, 'fh-e2e-relay');
        consumers.push(official, relay);
        let late = null; // a second relay, from cursor 0 in the middle of the load

        // The load, from N_ACCOUNTS clients at once.
        const loadT0 = Date.now();
        const stop = { done: false };
        const writers = accounts.map((a) => writer(a, stop));
        const [renamed, deact] = accounts;
        const restarts = [];
        const script = (async () => {
          await sleep(800);
          renamed.handle = `fhr${Date.now() % 1000000}.test`;
          await renamed.agent.com.atproto.identity.updateHandle({ handle: renamed.handle });
          await sleep(1200);
          restarts.push(await stack.restartFirehose('SIGTERM'));
          await sleep(600);
          await between(deact, async () => {
            await deact.agent.com.atproto.server.deactivateAccount({});
            await sleep(300);
            await deact.agent.com.atproto.server.activateAccount();
          });
          await sleep(600);
          late = relayConsumer(stack, keyOf, 'fh-e2e-late');
          consumers.push(late);
          await sleep(900);
          restarts.push(await stack.restartFirehose('SIGKILL'));
          await sleep(800);
          renamed.handle = `fhs${Date.now() % 1000000}.test`;
          await renamed.agent.com.atproto.identity.updateHandle({ handle: renamed.handle });
          await sleep(1500);
        })();
        script.catch(() => {});
        try {
          // (a write that fails ends the wait at once)
          await Promise.race([script, Promise.all(writers)]);
        } finally {
          stop.done = true;
          await Promise.allSettled(writers);
        }
        for (const w of writers) await w; // a failed write fails the test
        const loadMs = Date.now() - loadT0;
        const catchT0 = Date.now();

        // Both consumers catch up with the last row, then finish their checks.
        const rows = dbRows(stack);
        const last = rows.at(-1).seq;
        const relays = [relay, late];
        await until(`consumers reach seq ${last} (official ${official.lastSeq}, `
          + `relays ${relays.map((r) => r.lastSeq)})`,
        () => official.lastSeq >= last && relays.every((r) => r.lastSeq >= last), 45000);
        await official.chain;
        for (const r of relays) await r.drain();
        const catchMs = Date.now() - catchT0;

        // Validation is really on: a commit whose signature was altered is
        // refused by the official parser and by the relay check.
        const sample = rows.find((r) => r.type === 'commit' && r.body.ops.length > 0).body;
        const { root, blocks } = await readCarWithRoot(sample.blocks);
        const commit = lexDecode(blocks.get(root));
        commit.sig = Uint8Array.from(commit.sig);
        commit.sig[10] ^= 1;
        const forged = new BlockMap();
        for (const [cid, bytes] of blocks) if (!cid.equals(root)) forged.set(cid, bytes);
        const forgedRoot = await forged.add(commit);
        const forgedEv = { ...sample, commit: forgedRoot, blocks: await blocksToCarFile(forgedRoot, forged) };
        await assert.rejects(parseCommitAuthenticated(official.idResolver, forgedEv),
          /Invalid signature/);
        await assert.rejects(checkCommitEvent(forgedEv, await keyOf(sample.repo)), /bad signature/);

        await official.stop();
        for (const r of relays) await r.stop();

        // ---- the comparison with sequencer.sqlite ----
        const live = rows.filter((r) => !r.invalidated);
        const want = live.map((r) => r.seq);
        assert.equal(rows.length - live.length, 0, 'no invalidated rows expected');
        assert.deepEqual(want, Array.from({ length: want.length }, (_, i) => i + 1),
          'repo_seq is gapless from 1');
        assert.ok(replayedUpTo > 0 && replayedUpTo < last, 'replayed, then live');

        for (const [name, r] of [['relay', relay], ['late relay', late]]) {
          assert.deepEqual(r.errors, [], `${name}: relay-style checks`);
          assert.deepEqual(r.infos, [], `${name}: no #info (no outdated cursor)`);
          assert.deepEqual(r.seen, want, `${name}: every row exactly once, in order`);
          assert.deepEqual([...r.types.entries()], live.map((x) => [x.seq, x.type]));
          assert.equal(r.checked, live.filter((x) => x.type === 'commit' || x.type === 'sync').length);
        }

        assert.deepEqual(official.errors.map((e) => `${e.message}: ${e.cause?.message ?? ''}`), [],
          'official consumer: no validation, parse or handler error');
        assert.deepEqual(official.seen, want, 'official consumer: every row exactly once, in order');
        const handled = Object.fromEntries(live.map((r) => [r.seq, official.handled.get(r.seq) ?? []]));
        const expected = Object.fromEntries(live.map((r) => [r.seq, expectedOfficial(r)]));
        assert.deepEqual(handled, expected, 'official consumer: every op of every commit verified');
        const withOps = live.filter((r) => r.type === 'commit' && r.body.ops.length > 0).length;
        assert.ok(official.keyLookups >= withOps, `signing key looked up for each commit (${official.keyLookups})`);
        for (const a of accounts) {
          assert.equal(official.identities.get(a.did), a.handle, `${a.did}: handle verified both ways`);
        }

        // The load held what the Done-when names.
        const ops = live.filter((r) => r.type === 'commit').flatMap((r) => r.body.ops);
        const count = (fn) => live.filter(fn).length;
        for (const action of ['create', 'update', 'delete']) {
          assert.ok(ops.some((op) => op.action === action), `a ${action} op`);
        }
        assert.ok(count((r) => r.type === 'commit' && r.body.ops.length >= 4), 'applyWrites batches');
        assert.ok(count((r) => r.type === 'identity' && r.did === renamed.did) >= 3, 'handle updates');
        assert.ok(count((r) => r.type === 'account' && r.body.active === false), 'deactivation');
        assert.ok(count((r) => r.type === 'sync' && r.did === deact.did) >= 2, '#sync on activation');

        // The restarts: SIGTERM is a clean exit; each consumer came back with
        // its cursor after each restart (nginx's access log).
        assert.deepEqual(restarts[0], { code: 0, signal: null }, 'SIGTERM: clean exit');
        assert.deepEqual(restarts[1], { code: null, signal: 'SIGKILL' });
        // (nginx logs an upgraded request when it ends: both have ended.)
        const cursorsOf = (agent) => subscribeLines(stack, agent)
          .map((l) => Number(/[?&]cursor=(\d+)/.exec(l)?.[1]));
        const agents = { 'fh-e2e-official': 2, 'fh-e2e-relay': 2, 'fh-e2e-late': 1 };
        await until('access log lines of the last subscriptions', () => Object.entries(agents)
          .every(([agent, n]) => cursorsOf(agent).length >= n + 1), 5000);
        for (const [agent, n] of Object.entries(agents)) {
          const cursors = cursorsOf(agent);
          assert.equal(cursors[0], 0, `${agent}: from cursor 0`);
          assert.ok(cursors.slice(1).filter((c) => c > 0).length >= n,
            `${agent}: reconnected with its cursor after the restart(s): ${cursors}`);
        }
        const st = await stack.stop();
        assert.deepEqual(st.sanitizer, [], 'no sanitizer report');
        assert.equal(st.firehose?.code, 0, 'pds-firehose exits cleanly at the end');

        const writes = accounts.reduce((n, a) => n + (a.writes ?? 0), 0);
        t.diagnostic(`${live.length} events (${withOps} commits with ops, ${ops.length} ops), `
          + `${writes} client writes, replay up to seq ${replayedUpTo}, `
          + `relay reconnects ${relay.connects - 1}/${late.connects - 1}, load ${loadMs} ms, `
          + `catch-up ${catchMs} ms, total ${Date.now() - t0} ms`);
      }));
  });
