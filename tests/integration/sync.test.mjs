// sync.test.mjs: com.atproto.sync.* reads through real nginx with the
// official clients: every getRepo CAR verified by @atproto/repo
// (signature, structure, each record's CID), getRepo since=<rev> holding
// exactly the newer blocks, sync.getRecord proofs checked by
// verifyRecords/verifyProofs (present and absent records), getBlocks,
// getLatestCommit/getHead/getRepoStatus, listRepos paging with its cursor,
// the reference's errors for unknown, deactivated and malformed input, and
// every #commit and #sync row of sequencer.sqlite checked as a relay
// checks it.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AtpAgent } from '@atproto/api';
import { readCarWithRoot, verifyProofs, verifyRecords, verifyRepoCar }
  from '@atproto/repo';
import { cidForLex } from '@atproto/lex-cbor';
import { jsonToLex } from '@atproto/lex-json';
import { CID } from 'multiformats/cid';
import { startStack, isExecutable, bins } from '../lib/stack.mjs';
import { checkCommitChain, didKeyOf, newAccount, seqRows, xrpcError }
  from '../lib/repoutil.mjs';

const built = isExecutable(bins.fcgi);
const COLL = 'com.example.sync';

async function get(stack, nsid, params, headers = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    for (const x of [].concat(v)) q.append(k, x);
  }
  const res = await fetch(`${stack.url}/xrpc/${nsid}?${q}`, { headers });
  const body = Buffer.from(await res.arrayBuffer());
  let json = null;
  try { json = JSON.parse(body.toString()); } catch { /* a CAR */ }
  return { status: res.status, type: res.headers.get('content-type'), body, json };
}

describe('com.atproto.sync', { skip: !built && 'pds-fcgi not built' }, () => {
  let stack, alice, key, records, revs;

  before(async () => {
    stack = await startStack({ workers: 2 });
    alice = await newAccount(stack, 'sync');
    key = await didKeyOf(stack, alice.did);
    records = new Map();
    revs = [];
    const T = 'com.atproto.repo.applyWrites';
    for (let b = 0; b < 3; b++) {
      const writes = Array.from({ length: 60 }, (_, i) => ({ $type: `${T}#create`,
        collection: COLL, rkey: `k${b}-${String(i).padStart(3, '0')}`,
        value: { b, i, s: 'x'.repeat(i) } }));
      const r = await alice.agent.com.atproto.repo.applyWrites({ repo: alice.did,
        writes });
      revs.push(r.data.commit.rev);
      for (const w of writes) records.set(`${COLL}/${w.rkey}`, { $type: COLL, ...w.value });
    }
    // some updates and deletes on top
    await alice.agent.com.atproto.repo.putRecord({ repo: alice.did, collection: COLL,
      rkey: 'k0-000', record: { updated: true } });
    records.set(`${COLL}/k0-000`, { $type: COLL, updated: true });
    await alice.agent.com.atproto.repo.deleteRecord({ repo: alice.did,
      collection: COLL, rkey: 'k1-001' });
    records.delete(`${COLL}/k1-001`);
  });

  after(async () => {
    const st = await stack?.stop();
    assert.deepEqual(st?.sanitizer ?? [], []);
  });

  test('getRepo: a CAR that @atproto/repo verifies, with every record', async () => {
    const r = await get(stack, 'com.atproto.sync.getRepo', { did: alice.did });
    assert.equal(r.status, 200);
    assert.equal(r.type, 'application/vnd.ipld.car');
    const v = await verifyRepoCar(r.body, alice.did, key);
    assert.equal(v.creates.length, records.size);
    for (const c of v.creates) {
      const want = records.get(`${c.collection}/${c.rkey}`);
      assert.ok(want, `${c.collection}/${c.rkey}`);
      assert.equal(c.cid.toString(), (await cidForLex(jsonToLex(want))).toString());
    }
    const latest = await alice.agent.com.atproto.sync.getLatestCommit({ did: alice.did });
    assert.equal(v.commit.rev, latest.data.rev);
    assert.equal(v.commit.cid.toString(), latest.data.cid);
    // getCheckout is the same repository
    const co = await get(stack, 'com.atproto.sync.getCheckout', { did: alice.did });
    assert.deepEqual(co.body, r.body);
    // HEAD gets headers only
    const h = await fetch(`${stack.url}/xrpc/com.atproto.sync.getRepo?did=${alice.did}`,
      { method: 'HEAD' });
    assert.equal(h.status, 200);
    assert.equal((await h.arrayBuffer()).byteLength, 0);
  });

  test('getRepo since=<rev> holds exactly the blocks of later commits', async () => {
    const full = await readCarWithRoot((await get(stack, 'com.atproto.sync.getRepo',
      { did: alice.did })).body);
    const part = await get(stack, 'com.atproto.sync.getRepo', { did: alice.did,
      since: revs[1] });
    const { root, blocks } = await readCarWithRoot(part.body);
    assert.ok(root.equals(full.root));
    assert.ok(blocks.size > 0 && blocks.size < full.blocks.size);
    for (const { cid } of blocks.entries()) assert.ok(full.blocks.has(cid));
    // the records of the third batch are in it, those of the first are not
    const v = await verifyRepoCar((await get(stack, 'com.atproto.sync.getRepo',
      { did: alice.did })).body, alice.did, key);
    const byKey = new Map(v.creates.map((c) => [`${c.collection}/${c.rkey}`, c.cid]));
    assert.ok(blocks.has(byKey.get(`${COLL}/k2-030`)));
    assert.ok(!blocks.has(byKey.get(`${COLL}/k0-030`)));
    const bad = await get(stack, 'com.atproto.sync.getRepo', { did: alice.did,
      since: 'not-a-tid' });
    assert.equal(bad.status, 400);
  });

  test('sync.getRecord: proofs of present and absent records verify', async () => {
    for (const rkey of ['k0-000', 'k2-059', 'k1-030']) {
      const r = await get(stack, 'com.atproto.sync.getRecord', { did: alice.did,
        collection: COLL, rkey });
      assert.equal(r.status, 200);
      assert.equal(r.type, 'application/vnd.ipld.car');
      const got = await verifyRecords(r.body, alice.did, key);
      assert.equal(got.length, 1);
      assert.equal(got[0].rkey, rkey);
      assert.deepEqual(jsonToLex(records.get(`${COLL}/${rkey}`)), got[0].record);
      const cid = await cidForLex(jsonToLex(records.get(`${COLL}/${rkey}`)));
      const p = await verifyProofs(r.body, [{ collection: COLL, rkey,
        cid: CID.parse(cid.toString()) }], alice.did, key);
      assert.equal(p.verified.length, 1);
    }
    // a deleted record: the proof shows it is absent
    const gone = await get(stack, 'com.atproto.sync.getRecord', { did: alice.did,
      collection: COLL, rkey: 'k1-001' });
    assert.equal(gone.status, 200);
    assert.deepEqual(await verifyRecords(gone.body, alice.did, key), []);
    const p = await verifyProofs(gone.body, [{ collection: COLL, rkey: 'k1-001',
      cid: null }], alice.did, key);
    assert.equal(p.verified.length, 1);
    // a wrong key does not verify
    const other = await newAccount(stack, 'other');
    const r = await get(stack, 'com.atproto.sync.getRecord', { did: alice.did,
      collection: COLL, rkey: 'k0-001' });
    await assert.rejects(verifyRecords(r.body, alice.did,
      await didKeyOf(stack, other.did)));
  });

  test('getBlocks, getLatestCommit, getHead, getRepoStatus', async () => {
    const latest = await alice.agent.com.atproto.sync.getLatestCommit({ did: alice.did });
    const headr = await get(stack, 'com.atproto.sync.getHead', { did: alice.did });
    assert.deepEqual(headr.json, { root: latest.data.cid });
    const recCid = (await cidForLex(jsonToLex(records.get(`${COLL}/k0-005`)))).toString();
    const r = await get(stack, 'com.atproto.sync.getBlocks', { did: alice.did,
      cids: [latest.data.cid, recCid] });
    assert.equal(r.status, 200);
    const car = await readCarWithRoot(r.body).catch(() => null);
    assert.equal(car, null, 'getBlocks CAR has no root');
    const missing = 'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm';
    const m = await get(stack, 'com.atproto.sync.getBlocks', { did: alice.did,
      cids: [recCid, missing] });
    assert.equal(m.status, 400);
    assert.deepEqual(m.json, { error: 'InvalidRequest',
      message: `Could not find cids: ${missing}` });
    const badcid = await get(stack, 'com.atproto.sync.getBlocks', { did: alice.did,
      cids: ['nope'] });
    assert.equal(badcid.status, 400);
    const st = await alice.agent.com.atproto.sync.getRepoStatus({ did: alice.did });
    assert.deepEqual(st.data, { did: alice.did, active: true, rev: latest.data.rev });
    const nobody = 'did:plc:aaaaaaaaaaaaaaaaaaaaaaaa';
    for (const nsid of ['getRepo', 'getLatestCommit', 'getRepoStatus', 'getHead',
      'listBlobs']) {
      const x = await get(stack, `com.atproto.sync.${nsid}`, { did: nobody });
      assert.equal(x.status, 400, nsid);
      assert.deepEqual(x.json, { error: 'RepoNotFound',
        message: `Could not find repo for DID: ${nobody}` }, nsid);
    }
    const bad = await get(stack, 'com.atproto.sync.getRepo', { did: 'not a did' });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error, 'InvalidRequest');
    const none = await get(stack, 'com.atproto.sync.getRepo', {});
    assert.equal(none.status, 400);
  });

  test('a deactivated repository: RepoDeactivated, except for its owner', async () => {
    const u = await newAccount(stack, 'deact');
    await u.agent.com.atproto.server.deactivateAccount({});
    const anon = await get(stack, 'com.atproto.sync.getRepo', { did: u.did });
    assert.deepEqual(anon.json, { error: 'RepoDeactivated',
      message: `Repo has been deactivated: ${u.did}` });
    const own = await get(stack, 'com.atproto.sync.getRepo', { did: u.did },
      { authorization: `Bearer ${u.agent.session.accessJwt}` });
    assert.equal(own.status, 200);
    await verifyRepoCar(own.body, u.did, await didKeyOf(stack, u.did));
    const st = await get(stack, 'com.atproto.sync.getRepoStatus', { did: u.did });
    assert.deepEqual(st.json, { did: u.did, active: false, status: 'deactivated' });
    await u.agent.com.atproto.server.activateAccount();
  });

  test('listRepos pages every account in creation order', async () => {
    const made = [];
    for (let i = 0; i < 5; i++) made.push((await newAccount(stack, 'lr')).did);
    const seen = [];
    let cursor;
    for (;;) {
      const r = await get(stack, 'com.atproto.sync.listRepos',
        cursor ? { limit: 2, cursor } : { limit: 2 });
      assert.equal(r.status, 200);
      seen.push(...r.json.repos);
      if (!r.json.cursor || r.json.repos.length < 2) break;
      assert.match(r.json.cursor, /^\d+::did:plc:/);
      cursor = r.json.cursor;
    }
    const dids = seen.map((x) => x.did);
    assert.equal(new Set(dids).size, dids.length);
    for (const d of [alice.did, ...made]) assert.ok(dids.includes(d));
    assert.deepEqual(dids.slice(-5), made);
    const me = seen.find((x) => x.did === alice.did);
    const latest = await alice.agent.com.atproto.sync.getLatestCommit({ did: alice.did });
    assert.deepEqual(me, { did: alice.did, head: latest.data.cid,
      rev: latest.data.rev, active: true });
    const bad = await get(stack, 'com.atproto.sync.listRepos', { cursor: 'garbage' });
    assert.equal(bad.status, 400);
    const big = await get(stack, 'com.atproto.sync.listRepos', { limit: 1001 });
    assert.equal(big.status, 400);
  });

  test('sequencer rows: #commit chain and #sync, as a relay checks them', async () => {
    const latest = await alice.agent.com.atproto.sync.getLatestCommit({ did: alice.did });
    const n = await checkCommitChain(stack, alice.did, key, latest.data.rev);
    assert.equal(n, 1 + 3 + 2);
    const rows = seqRows(stack, alice.did);
    const sync = rows.find((r) => r.type === 'sync');
    assert.ok(sync, 'account creation sequenced a #sync');
    const { root, blocks } = await readCarWithRoot(sync.body.blocks);
    assert.equal(blocks.size, 1);
    assert.equal(sync.body.did, alice.did);
    const genesis = rows.find((r) => r.type === 'append');
    assert.equal(root.toString(), genesis.body.commit.toString());
    assert.equal(genesis.body.since, null);
    assert.equal(genesis.body.prevData, undefined);
    // the #commit of the putRecord update carries prev
    const upd = rows.filter((r) => r.type === 'append')
      .find((r) => r.body.ops.some((o) => o.action === 'update'));
    assert.ok(upd.body.ops[0].prev);
  });
});

describe('com.atproto.sync without a running account', { skip: !built && 'pds-fcgi not built' }, () => {
  test('AtpAgent can read a repository as a stranger', async () => {
    const stack = await startStack({ workers: 1 });
    try {
      const a = await newAccount(stack, 'solo');
      await a.agent.com.atproto.repo.createRecord({ repo: a.did, collection: COLL,
        record: { x: 1 } });
      const anon = new AtpAgent({ service: stack.url });
      const car = await anon.com.atproto.sync.getRepo({ did: a.did });
      const v = await verifyRepoCar(car.data, a.did, await didKeyOf(stack, a.did));
      assert.equal(v.creates.length, 1);
      const e = await xrpcError(anon.com.atproto.sync.getLatestCommit({
        did: 'did:plc:bbbbbbbbbbbbbbbbbbbbbbbb' }));
      assert.equal(e.error, 'RepoNotFound');
    } finally {
      await stack.stop();
    }
  });
});
