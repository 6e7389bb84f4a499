// ops-e2e.test.mjs: the home-hosting operations end to end, on the real
// stack (tests/lib/stack.mjs: PLC, pds-fcgi, pds-firehose, nginx) with the
// official @atproto/api client, while four clients keep posting images
// (uploadBlob + app.bsky.feed.post with an images embed):
//
//  1. pds-backup takes a snapshot under that load; it verifies and
//     restores into a fresh directory whose sequencer is a prefix of the
//     live one (sqlite_sequence included) and whose repositories are each
//     at a commit the live firehose emitted, holding exactly the records
//     the live #commit ops had created up to it.
//  2. pds-maintain runs against the live data directory under the same
//     load, with real uploads made stale, planted orphans and backdated
//     events: it deletes exactly those, and every referenced blob and
//     every event inside the window survives.
//  3. A second stack serves the restored directory (same PLC directory,
//     same secrets, same port so the DID documents still point at it):
//     identical repo roots, getRepo verifies with @atproto/repo, every
//     password logs in, blobs are served byte for byte, and the firehose
//     replays the old frames byte for byte and continues at the next seq.
//  4. A corrupted snapshot file makes verify (and restore) exit 7.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import WebSocket from 'ws';
import { AtpAgent } from '@atproto/api';
import { verifyRepoCar } from '@atproto/repo';
import { Frame } from '@atproto/xrpc-server';
import { CID } from 'multiformats/cid';
import { sha256 } from 'multiformats/hashes/sha2';
import { SANITIZER_RE, binDir, bins, isExecutable, startStack } from '../lib/stack.mjs';
import { startPlc } from '../lib/plc-server.mjs';
import { didKeyOf, newAccount, sleep } from '../lib/repoutil.mjs';

const BACKUP = path.join(binDir, 'cron/pds-backup');
const MAINTAIN = path.join(binDir, 'cron/pds-maintain');
const built = [bins.fcgi, bins.firehose, BACKUP, MAINTAIN].every(isExecutable);
const POST = 'app.bsky.feed.post';
const DAY = 86400000;
const HOUR = 3600000;
const NCLIENTS = 4;

// ---- helpers ---------------------------------------------------------------

function run(bin, args, env) {
  return new Promise((resolve, reject) => {
    const p = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { out += d; });
    p.on('error', reject);
    p.on('close', (code) => {
      // A sanitizer build (make SANITIZE=...) reports on stderr.
      if (SANITIZER_RE.test(out)) reject(new Error(`${path.basename(bin)}: sanitizer:\n${out}`));
      else resolve({ code, out });
    });
  });
}

/** Opens a database of a data directory, read-only or for a planted
 * change next to a live writer (WAL, busy timeout). */
function openDb(file, { write = false } = {}) {
  const db = new DatabaseSync(file, { readOnly: !write });
  db.exec('PRAGMA busy_timeout = 10000');
  return db;
}
function q(file, sql, ...args) {
  const db = openDb(file);
  try { return db.prepare(sql).all(...args); } finally { db.close(); }
}
function exec(file, sql, ...args) {
  const db = openDb(file, { write: true });
  try { return db.prepare(sql).run(...args); } finally { db.close(); }
}

const hh = (did) => crypto.createHash('sha256').update(did).digest('hex').slice(0, 2);
const storeOf = (dir, did) => path.join(dir, 'actors', hh(did), did, 'store.sqlite');
const iso = (msAgo) => new Date(Date.now() - msAgo).toISOString();

function setMtime(file, msAgo) {
  const t = new Date(Date.now() - msAgo);
  fs.utimesSync(file, t, t);
}

/** A valid PNG (signature and IHDR) followed by n random bytes. */
function png(n) {
  const head = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex');
  return Buffer.concat([head, crypto.randomBytes(n)]);
}

async function rawCid(bytes) {
  return CID.createV1(0x55, await sha256.digest(bytes)).toString();
}

/** One image post: uploadBlob, then createRecord referencing it. */
async function postImage(acct, blobs, text) {
  const bytes = png(200 + crypto.randomInt(1800));
  const b = (await acct.agent.com.atproto.repo.uploadBlob(bytes,
    { encoding: 'image/png' })).data.blob;
  blobs.set(b.ref.toString(), bytes);
  const r = await acct.agent.com.atproto.repo.createRecord({
    repo: acct.did, collection: POST,
    record: { $type: POST, text, createdAt: new Date().toISOString(),
      embed: { $type: 'app.bsky.embed.images', images: [{ alt: text, image: b }] } },
  });
  return { ...r.data, blob: b.ref.toString() };
}

/** Four clients posting images as fast as the stack answers, until stop(). */
function startLoad(accts, blobs) {
  let stopping = false;
  const errors = [];
  const posted = accts.map(() => []);
  const loops = accts.map(async (a, i) => {
    for (let n = 0; !stopping; n++) {
      try {
        posted[i].push(await postImage(a, blobs, `client ${i} post ${n}`));
      } catch (e) {
        errors.push(`${a.handle}: ${e.status ?? ''} ${e.error ?? ''} ${e.message}`);
        if (errors.length > 20) return;
      }
    }
  });
  return {
    errors, posted,
    count: () => {
      if (errors.length) assert.fail(`a client failed: ${errors.join('; ')}`);
      return posted.reduce((s, p) => s + p.length, 0);
    },
    stop: async () => { stopping = true; await Promise.all(loops); },
  };
}

/** A firehose subscriber (the `ws` package, through nginx) keeping every
 * frame by seq: {raw, body, type}. */
function subscribe(url, cursor) {
  const q = cursor === undefined ? '' : `?cursor=${cursor}`;
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/xrpc/com.atproto.sync.subscribeRepos${q}`,
    { perMessageDeflate: false });
  const c = { ws, bySeq: new Map(), order: [], other: [], last: 0 };
  c.opened = new Promise((res, rej) => { ws.once('open', res); ws.once('error', rej); });
  ws.on('message', (d) => {
    const raw = Buffer.from(d);
    const f = Frame.fromBytes(raw);
    if (!f.isMessage() || typeof f.body?.seq !== 'number') {
      c.other.push(f);
      return;
    }
    c.bySeq.set(f.body.seq, { raw, body: f.body, type: f.type });
    c.order.push(f.body.seq);
    c.last = Math.max(c.last, f.body.seq);
  });
  ws.on('error', () => {});
  c.close = () => new Promise((res) => {
    if (ws.readyState === WebSocket.CLOSED) return res();
    ws.once('close', res);
    ws.close();
  });
  return c;
}

async function until(what, fn, timeoutMs = 15000) {
  const end = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > end) assert.fail(`timed out: ${what}`);
    await sleep(20);
  }
}

/** The records a repository holds after replaying, in seq order, the
 * #commit ops of did that the live firehose emitted up to and including
 * rev: Map "collection/rkey" -> cid. */
function replay(live, did, rev) {
  const recs = new Map();
  let found = null;
  for (const seq of [...live.bySeq.keys()].sort((a, b) => a - b)) {
    const { type, body } = live.bySeq.get(seq);
    if (type !== '#commit' || body.repo !== did) continue;
    for (const op of body.ops) {
      if (op.action === 'delete') recs.delete(op.path);
      else recs.set(op.path, op.cid.toString());
    }
    if (body.rev === rev) { found = body; break; }
  }
  return { recs, commit: found };
}

function storeRecords(store) {
  return new Map(q(store, 'SELECT uri, cid FROM record').map((r) =>
    [r.uri.split('/').slice(3).join('/'), r.cid]));
}

// ---- the suite ---------------------------------------------------------------

describe('home-hosting operations end to end', { skip: !built && 'binaries not built' }, () => {
  let tmp, plc, stackA, stackB, accts, idle, live, envFile, restored, snapDir;
  const blobs = new Map();	// cid -> bytes of every upload
  const didkeys = {};
  let snap = null;		// what the restored directory holds, per DID

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ops-e2e-'));
    // One PLC directory outlives both stacks: it is in memory.
    plc = await startPlc();
    stackA = await startStack({ runDir: path.join(tmp, 'a'), plcUrl: plc.url, workers: 2 });
    accts = [];
    for (let i = 0; i < NCLIENTS; i++) accts.push(await newAccount(stackA, `ops${i}`));
    for (const a of accts) didkeys[a.did] = await didKeyOf(stackA, a.did);
    // An account that posted once and is idle since: its temp directory
    // exists and is empty.
    idle = await newAccount(stackA, 'idle');
    await postImage(idle, blobs, 'one post');
    envFile = path.join(tmp, 'pds.env');
    fs.writeFileSync(envFile, [
      'PDS_HOSTNAME=localhost',
      `PDS_DATA_DIRECTORY=${stackA.dataDir}`,
      `PDS_BLOBSTORE_DISK_LOCATION=${stackA.env.PDS_BLOBSTORE_DISK_LOCATION}`,
      `PDS_BACKUP_DIRECTORY=${path.join(tmp, 'backups')}`,
      'PDS_SEQ_RETENTION_DAYS=1',
      `PDS_REPO_BACKFILL_LIMIT_MS=${30 * DAY}`,
      '',
    ].join('\n'));
    // Every event from seq 1 on, for the whole suite.
    live = subscribe(stackA.url, 0);
    await live.opened;
  });

  after(async () => {
    await live?.close();
    for (const s of [stackA, stackB]) {
      const st = await s?.stop();
      if (st) assert.deepEqual(st.sanitizer, []);
    }
    await plc?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const cronEnv = () => ({ PATH: process.env.PATH, HOME: tmp, PDS_ENV_FILE: envFile,
    RCLONE_CONFIG: path.join(tmp, 'rclone.conf') });

  test('a backup taken while 4 clients post restores a prefix of the live history', async () => {
    const load = startLoad(accts, blobs);
    await until('posts before the backup', () => load.count() >= 20 * NCLIENTS);
    const r = await run(BACKUP, ['--no-upload'], cronEnv());
    const atBackupEnd = load.count();
    await until('posts after the backup', () => load.count() >= atBackupEnd + 2 * NCLIENTS);
    await load.stop();
    assert.deepEqual(load.errors, []);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /snapshot \d{8}T\d{6}\.\d{3}Z: \d+ databases \(integrity ok\), \d+ keys/);
    assert.ok(!/ (warn|error) pds-backup/.test(r.out), r.out);

    const snaps = fs.readdirSync(path.join(tmp, 'backups', 'snapshots'));
    assert.equal(snaps.length, 1, snaps.join());
    snapDir = path.join(tmp, 'backups', 'snapshots', snaps[0]);
    const v = await run(BACKUP, ['verify', snapDir], cronEnv());
    assert.equal(v.code, 0, v.out);
    restored = path.join(tmp, 'restored');
    const rs = await run(BACKUP, ['restore', snapDir, restored], cronEnv());
    assert.equal(rs.code, 0, rs.out);

    // The live firehose has caught up with everything the clients did.
    const liveSeq = path.join(stackA.dataDir, 'sequencer.sqlite');
    const liveMax = q(liveSeq, 'SELECT max(seq) m FROM repo_seq')[0].m;
    await until('the live subscriber catches up', () => live.last >= liveMax);
    assert.equal(live.bySeq.size, liveMax, 'the live subscriber saw every event');

    // The restored sequencer is a prefix of the live one, row for row,
    // and its AUTOINCREMENT counter came along.
    const rSeq = path.join(restored, 'sequencer.sqlite');
    const rows = q(rSeq, 'SELECT seq, did, eventType, event, sequencedAt FROM repo_seq ORDER BY seq');
    const max = rows.at(-1).seq;
    assert.equal(q(rSeq, "SELECT seq FROM sqlite_sequence WHERE name = 'repo_seq'")[0].seq, max);
    assert.ok(max < liveMax, `snapshot seq ${max} < live ${liveMax}: taken mid-load`);
    const liveRows = q(liveSeq, 'SELECT seq, did, eventType, event, sequencedAt FROM repo_seq WHERE seq <= ? ORDER BY seq', max);
    assert.equal(rows.length, liveRows.length);
    for (let i = 0; i < rows.length; i++) assert.deepEqual(rows[i], liveRows[i], `seq ${rows[i].seq}`);

    snap = { max, byDid: {} };
    let behind = 0;
    for (const a of accts) {
      const store = storeOf(restored, a.did);
      assert.equal(q(store, 'PRAGMA integrity_check')[0].integrity_check, 'ok');
      const [root] = q(store, 'SELECT cid, rev FROM repo_root');
      // The restored head is a commit the live firehose emitted ...
      const { recs, commit } = replay(live, a.did, root.rev);
      assert.ok(commit, `${a.handle}: restored rev ${root.rev} was emitted live`);
      assert.equal(commit.commit.toString(), root.cid);
      // ... and the repository holds exactly what the ops had made of it.
      const held = storeRecords(store);
      assert.deepEqual(held, recs, `${a.handle}: records at rev ${root.rev}`);
      assert.ok(held.size > 0);
      // The restored sequencer never announces a commit the restored
      // repository lacks (it is copied before the actor stores).
      const lastEv = q(rSeq, "SELECT max(seq) s FROM repo_seq WHERE did = ? AND eventType = 'append'", a.did)[0].s;
      const evRev = live.bySeq.get(lastEv).body.rev;
      assert.ok(evRev <= root.rev, `${a.handle}: last restored event rev ${evRev} <= head ${root.rev}`);
      // Every blob a restored record references is in the restored blob store.
      const refs = q(store, 'SELECT DISTINCT blobCid FROM record_blob').map((x) => x.blobCid);
      assert.equal(refs.length, held.size, 'one image per post');
      for (const c of refs) {
        assert.deepEqual(fs.readFileSync(path.join(restored, 'blocks', a.did, c)), blobs.get(c), c);
      }
      const liveRev = q(storeOf(stackA.dataDir, a.did), 'SELECT rev FROM repo_root')[0].rev;
      if (liveRev > root.rev) behind++;
      snap.byDid[a.did] = { cid: root.cid, rev: root.rev, recs, refs, evRev };
    }
    assert.ok(behind > 0, 'the clients went on committing after the snapshot');
    // Temp uploads are not in the backup.
    assert.ok(!fs.existsSync(path.join(restored, 'blocks', 'tempt')));
  });

  test('a maintenance run under load deletes only what it may', async () => {
    const data = stackA.dataDir;
    const blocks = stackA.env.PDS_BLOBSTORE_DISK_LOCATION;
    const tempt = path.join(blocks, 'tempt');
    const seqDb = path.join(data, 'sequencer.sqlite');
    const [A, B] = accts;
    const uploadOnly = async (acct) => {
      const bytes = png(300);
      const b = (await acct.agent.com.atproto.repo.uploadBlob(bytes, { encoding: 'image/png' })).data.blob;
      const cid = b.ref.toString();
      const [row] = q(storeOf(data, acct.did), 'SELECT tempKey FROM blob WHERE cid = ?', cid);
      assert.ok(row?.tempKey, 'uploadBlob keeps a temp row');
      return { cid, key: row.tempKey, file: path.join(tempt, acct.did, row.tempKey), bytes };
    };
    const blobRow = (did, cid) => q(storeOf(data, did), 'SELECT * FROM blob WHERE cid = ?', cid)[0];

    // Real uploads never referenced: one made stale (file and row 2 days
    // old), one stale whose file is already gone, one fresh.
    const stale = await uploadOnly(A);
    setMtime(stale.file, 2 * DAY);
    exec(storeOf(data, A.did), 'UPDATE blob SET createdAt = ? WHERE cid = ?', iso(2 * DAY), stale.cid);
    const dangling = await uploadOnly(B);
    fs.rmSync(dangling.file);
    exec(storeOf(data, B.did), 'UPDATE blob SET createdAt = ? WHERE cid = ?', iso(2 * DAY), dangling.cid);
    const fresh = await uploadOnly(A);
    // A temp directory of a DID without an account.
    const ghost = path.join(tempt, 'did:plc:gggggggggggggggggggggggg');
    fs.mkdirSync(ghost, { recursive: true });
    const ghostFile = path.join(ghost, 'a'.repeat(52));
    fs.writeFileSync(ghostFile, 'left over');
    setMtime(ghostFile, 2 * DAY);

    // A referenced blob that is old: must stay however old it is.
    const oldRef = snap.byDid[A.did].refs[0];
    exec(storeOf(data, A.did), 'UPDATE blob SET createdAt = ? WHERE cid = ?', iso(3 * DAY), oldRef);
    setMtime(path.join(blocks, A.did, oldRef), 3 * DAY);
    // Leftovers of a crash: a permanent row no record references (with
    // its file), a file no row names; each old and young.
    const plantRow = async (acct, ageMs) => {
      const bytes = png(100);
      const cid = await rawCid(bytes);
      exec(storeOf(data, acct.did), 'INSERT INTO blob (cid, mimeType, size, tempKey, createdAt) VALUES (?, ?, ?, NULL, ?)',
        cid, 'image/png', bytes.length, iso(ageMs));
      fs.writeFileSync(path.join(blocks, acct.did, cid), bytes);
      setMtime(path.join(blocks, acct.did, cid), ageMs);
      return cid;
    };
    const plantFile = async (acct, ageMs) => {
      const bytes = png(100);
      const cid = await rawCid(bytes);
      fs.writeFileSync(path.join(blocks, acct.did, cid), bytes);
      setMtime(path.join(blocks, acct.did, cid), ageMs);
      return cid;
    };
    const orphanRow = await plantRow(A, 3 * DAY);
    const youngRow = await plantRow(B, 0);
    const orphanFile = await plantFile(B, 3 * DAY);
    const youngFile = await plantFile(A, 0);

    // Old events: the first rows 40 days old (outside the 30-day window),
    // the next ones 10 days (past the 1-day retention, inside the window).
    const before = q(seqDb, 'SELECT seq FROM repo_seq ORDER BY seq').map((r) => r.seq);
    const gone = before.slice(0, 5);
    const windowed = before.slice(5, 12);
    exec(seqDb, 'UPDATE repo_seq SET sequencedAt = ? WHERE seq <= ?', iso(40 * DAY), gone.at(-1));
    exec(seqDb, 'UPDATE repo_seq SET sequencedAt = ? WHERE seq > ? AND seq <= ?', iso(10 * DAY),
      gone.at(-1), windowed.at(-1));

    const load = startLoad(accts, blobs);
    await until('posts before maintenance', () => load.count() >= 2 * NCLIENTS);
    const r = await run(MAINTAIN, [], cronEnv());
    const atEnd = load.count();
    await until('posts after maintenance', () => load.count() >= atEnd + NCLIENTS);
    await load.stop();
    assert.deepEqual(load.errors, []);
    assert.equal(r.code, 0, r.out);
    assert.equal(r.out.trim().split('\n').length, 4, `one line per step:\n${r.out}`);
    assert.match(r.out, /seq: deleted 5 events sequenced before .* \(retention 1 days, backfill window 720 h\)/);
    assert.match(r.out, /blobs: 5 accounts: deleted 1 unreferenced blob rows and 2 orphaned files; 1 orphans younger than the limits kept; 0 accounts failed/);
    assert.match(r.out, /temp: 6 temp directories: deleted 2 uploads older than 24 h and 2 of their blob rows; 0 accounts failed/);
    assert.match(r.out, /checkpoint \(passive\): \d+ databases, .* 0 failed/);

    // Events: only the 40-day-old ones went; every other one, and every
    // one appended during the run, is there, in an unbroken run of seqs.
    const after = q(seqDb, 'SELECT seq FROM repo_seq ORDER BY seq').map((x) => x.seq);
    assert.deepEqual(after.slice(0, before.length - gone.length), before.slice(gone.length));
    for (let i = 1; i < after.length; i++) assert.equal(after[i], after[i - 1] + 1);
    assert.ok(after.length > before.length - gone.length, 'events appended during the run');

    // Blobs: exactly the planted stale things went.
    assert.ok(!blobRow(A.did, stale.cid) && !fs.existsSync(stale.file));
    assert.ok(!blobRow(B.did, dangling.cid));
    assert.ok(!fs.existsSync(ghostFile) && !fs.existsSync(ghost), 'the ghost directory goes');
    // An account's temp directory stays even when empty: the PDS makes it
    // and then creates the upload in it, and an rmdir in between made
    // that upload fail (500, ENOENT).
    assert.deepEqual(fs.readdirSync(path.join(tempt, idle.did)), []);
    assert.ok(!blobRow(A.did, orphanRow) && !fs.existsSync(path.join(blocks, A.did, orphanRow)));
    assert.ok(!fs.existsSync(path.join(blocks, B.did, orphanFile)));
    assert.ok(blobRow(A.did, fresh.cid)?.tempKey === fresh.key && fs.existsSync(fresh.file));
    assert.ok(blobRow(B.did, youngRow) && fs.existsSync(path.join(blocks, B.did, youngRow)));
    assert.ok(fs.existsSync(path.join(blocks, A.did, youngFile)));
    // Every referenced blob survives, row, file and bytes served.
    let served = 0;
    for (const a of accts) {
      const store = storeOf(data, a.did);
      const refs = q(store, 'SELECT DISTINCT blobCid FROM record_blob').map((x) => x.blobCid);
      const posts = q(store, 'SELECT count(*) n FROM record WHERE collection = ?', POST)[0].n;
      assert.equal(refs.length, posts, `${a.handle}: one image per post`);
      for (const c of refs) {
        const row = blobRow(a.did, c);
        assert.ok(row && row.tempKey === null, c);
        assert.deepEqual(fs.readFileSync(path.join(blocks, a.did, c)), blobs.get(c), c);
      }
      for (const c of refs.slice(-3).concat(a === A ? [oldRef] : [])) {
        const res = await fetch(`${stackA.url}/xrpc/com.atproto.sync.getBlob?did=${a.did}&cid=${c}`);
        assert.equal(res.status, 200);
        assert.deepEqual(Buffer.from(await res.arrayBuffer()), blobs.get(c));
        served++;
      }
    }
    assert.ok(served >= 4 * 3);
    // The live firehose went on without a gap.
    const liveMax = q(seqDb, 'SELECT max(seq) m FROM repo_seq')[0].m;
    await until('the live subscriber catches up', () => live.last >= liveMax);
    const seen = [...live.bySeq.keys()].sort((x, y) => x - y);
    assert.deepEqual(seen, Array.from({ length: liveMax }, (_, i) => i + 1));
  });

  test('the restored directory serves identical roots, logins, blobs and the firehose', async () => {
    assert.ok(snap, 'the backup test ran');
    await live.close();
    const port = stackA.port;
    const secrets = Object.fromEntries(['PDS_JWT_SECRET', 'PDS_ADMIN_PASSWORD',
      'PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX'].map((k) => [k, stackA.env[k]]));
    const stA = await stackA.stop();
    assert.deepEqual(stA.sanitizer, []);
    stackA = null;
    // Same port: the DID documents in the PLC directory name it.
    stackB = await startStack({ runDir: path.join(tmp, 'b'), dataDir: restored,
      plcUrl: plc.url, secrets, port, workers: 2 });
    const url = stackB.url;

    // Old frames replay byte for byte, and nothing after the snapshot.
    const { max } = snap;
    const sub = subscribe(url, max - 3);
    await sub.opened;
    await until('the replayed frames', () => sub.last >= max);
    await sleep(300);
    assert.deepEqual(sub.order, [max - 2, max - 1, max]);
    for (const s of sub.order) assert.deepEqual(sub.bySeq.get(s).raw, live.bySeq.get(s).raw, `seq ${s}`);

    for (const a of accts) {
      const want = snap.byDid[a.did];
      const lc = await (await fetch(`${url}/xrpc/com.atproto.sync.getLatestCommit?did=${a.did}`)).json();
      assert.deepEqual(lc, { cid: want.cid, rev: want.rev });
      const car = new Uint8Array(await (await fetch(`${url}/xrpc/com.atproto.sync.getRepo?did=${a.did}`)).arrayBuffer());
      const v = await verifyRepoCar(car, a.did, didkeys[a.did]);
      assert.equal(v.commit.cid.toString(), want.cid);
      assert.equal(v.commit.rev, want.rev);
      assert.deepEqual(new Map(v.creates.map((c) => [`${c.collection}/${c.rkey}`, c.cid.toString()])), want.recs);

      const agent = new AtpAgent({ service: url });
      await agent.login({ identifier: a.handle, password: a.password });
      assert.equal(agent.session.did, a.did);
      await assert.rejects(new AtpAgent({ service: url }).login({ identifier: a.handle,
        password: `${a.password}x` }), /Invalid identifier or password/);
      a.agentB = agent;

      for (const c of want.refs) {
        const res = await fetch(`${url}/xrpc/com.atproto.sync.getBlob?did=${a.did}&cid=${c}`);
        assert.equal(res.status, 200, c);
        assert.deepEqual(Buffer.from(await res.arrayBuffer()), blobs.get(c), c);
      }
    }

    await new AtpAgent({ service: url }).login({ identifier: idle.handle, password: idle.password });

    // A new post continues the firehose at the next seq and the repo's
    // chain at the restored head.  A #commit the snapshot caught between
    // its store commit and its append (seq_pending) is appended first.
    const a = accts[1];
    const pending = q(storeOf(restored, a.did), 'SELECT count(*) n FROM seq_pending WHERE rev > ?',
      snap.byDid[a.did].evRev)[0].n;
    const p = await postImage({ ...a, agent: a.agentB }, blobs, 'after the restore');
    const want = max + 1 + pending;
    await until('the new commit on the firehose', () => sub.last >= want);
    await sleep(200);
    assert.deepEqual(sub.order.slice(3), Array.from({ length: pending + 1 }, (_, i) => max + 1 + i));
    const ev = sub.bySeq.get(want);
    assert.equal(ev.type, '#commit');
    assert.equal(ev.body.repo, a.did);
    assert.equal(ev.body.rev, p.commit.rev);
    assert.equal(ev.body.commit.toString(), p.commit.cid);
    assert.equal(ev.body.since, snap.byDid[a.did].rev);
    assert.equal(q(path.join(restored, 'sequencer.sqlite'), 'SELECT max(seq) m FROM repo_seq')[0].m, want);
    const res = await fetch(`${url}/xrpc/com.atproto.sync.getBlob?did=${a.did}&cid=${p.blob}`);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), blobs.get(p.blob));
    await sub.close();
  });

  test('a corrupted snapshot file makes verify fail', async () => {
    const a = accts[2];
    const f = path.join(snapDir, path.relative(restored, storeOf(restored, a.did)));
    const b = fs.readFileSync(f);
    b[Math.floor(b.length / 2)] ^= 0x01;
    fs.writeFileSync(f, b);
    const v = await run(BACKUP, ['verify', snapDir], cronEnv());
    assert.equal(v.code, 7, v.out);
    assert.match(v.out, new RegExp(`verify: actors/${hh(a.did)}/${a.did}/store.sqlite: SHA-256 differs from the MANIFEST`));
    const rs = await run(BACKUP, ['restore', snapDir, path.join(tmp, 'never')], cronEnv());
    assert.equal(rs.code, 7, rs.out);
    assert.ok(!fs.existsSync(path.join(tmp, 'never', 'account.sqlite')));
  });
});
