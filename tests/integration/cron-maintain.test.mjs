// cron-maintain.test.mjs: pds-maintain on a data directory in the
// reference's layout (tests/lib/fake-pds-data.mjs) while a writer keeps
// committing.  The fixture plants old and recent firehose events, orphaned
// and referenced blobs, taken-down blobs, stale and fresh temp uploads;
// the run must delete exactly the stale ones and keep every referenced
// blob and every event inside the retention and the backfill window.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { actorDir, addBlob, addTempBlob, createDataDir, openDb, setMtime, startWriter } from '../lib/fake-pds-data.mjs';

const BIN = path.join(process.env.PDS_BIN_DIR || path.resolve('..'), 'cron/pds-maintain');
const A = 'did:plc:aaaaaaaaaaaaaaaaaaaaaaaa';
const B = 'did:plc:bbbbbbbbbbbbbbbbbbbbbbbb';
const GHOST = 'did:plc:gggggggggggggggggggggggg';   // temp dir, no account
const DAY = 86400000;
const HOUR = 3600000;

function run(args, env) {
  return new Promise((resolve, reject) => {
    const p = spawn(BIN, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { out += d; });
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, out }));
  });
}

const ago = (ms) => new Date(Date.now() - ms).toISOString();
let tmp, data, env, store;
const f = {};   // planted things, by name

function rows(file, sql, ...args) {
  const db = openDb(file);
  try { return db.prepare(sql).all(...args); } finally { db.close(); }
}
const exists = (p) => fs.existsSync(p);
const blobFile = (did, cid) => path.join(data.blocks, did, cid);
const tempFile = (did, key) => path.join(data.tmp, did, key);
const blobRow = (did, cid) => rows(path.join(actorDir(data.root, did), 'store.sqlite'),
  'SELECT * FROM blob WHERE cid = ?', cid).length === 1;

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cron-maintain-'));
  data = createDataDir(path.join(tmp, 'data'), [A, B]);
  store = (did) => path.join(actorDir(data.root, did), 'store.sqlite');

  // Firehose events: 5 at 40 days, 5 at 10 days, 5 at 2 hours.
  const seq = openDb(data.sequencer);
  const ins = seq.prepare("INSERT INTO repo_seq (did, eventType, event, sequencedAt) VALUES (?, 'append', x'a0', ?)");
  for (const age of [40 * DAY, 10 * DAY, 2 * HOUR])
    for (let i = 0; i < 5; i++) ins.run(A, ago(age));
  seq.close();

  const old = ago(3 * DAY);
  // Account A: every kind of blob.
  f.referenced = addBlob(data.root, A, Buffer.from('referenced'), { record: `at://${A}/app.bsky.feed.post/1`, createdAt: old });
  f.orphanRow = addBlob(data.root, A, Buffer.from('orphan row'), { createdAt: old });
  f.youngRow = addBlob(data.root, A, Buffer.from('young orphan row'));
  f.orphanFile = addBlob(data.root, A, Buffer.from('orphan file'), { row: false });
  setMtime(blobFile(A, f.orphanFile), 3 * DAY);
  f.youngFile = addBlob(data.root, A, Buffer.from('young orphan file'), { row: false });
  f.takedown = addBlob(data.root, A, Buffer.from('taken down'), { createdAt: old, takedown: 'mod-1' });
  fs.writeFileSync(path.join(data.blocks, A, 'README'), 'not a blob');
  setMtime(path.join(data.blocks, A, 'README'), 3 * DAY);
  f.staleTemp = addTempBlob(data.root, A, Buffer.from('stale temp'), { createdAt: ago(2 * DAY) });
  setMtime(tempFile(A, f.staleTemp.key), 2 * DAY);
  f.freshTemp = addTempBlob(data.root, A, Buffer.from('fresh temp'));
  f.reuploaded = addTempBlob(data.root, A, Buffer.from('old row, fresh file'), { createdAt: ago(2 * DAY) });
  f.fileOnlyTemp = addTempBlob(data.root, A, Buffer.from('temp file without row'), { row: false });
  setMtime(tempFile(A, f.fileOnlyTemp.key), 2 * DAY);
  f.danglingTemp = addTempBlob(data.root, A, Buffer.from('temp row without file'), { file: false, createdAt: ago(2 * DAY) });
  f.refTemp = addTempBlob(data.root, A, Buffer.from('temp but referenced'), { createdAt: ago(2 * DAY) });
  setMtime(tempFile(A, f.refTemp.key), 2 * DAY);
  const db = openDb(store(A));
  db.prepare('INSERT INTO record_blob VALUES (?, ?)').run(f.refTemp.cid, `at://${A}/app.bsky.feed.post/2`);
  db.close();
  // Account B: only referenced blobs.
  f.bRefs = [0, 1, 2].map((i) => addBlob(data.root, B, crypto.randomBytes(100), { record: `at://${B}/app.bsky.feed.post/${i}`, createdAt: old }));
  // A temp directory of a DID without an account.
  fs.mkdirSync(path.join(data.tmp, GHOST), { recursive: true });
  fs.writeFileSync(path.join(data.tmp, GHOST, 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'), 'old');
  setMtime(path.join(data.tmp, GHOST, 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'), 2 * DAY);
  fs.writeFileSync(path.join(data.tmp, GHOST, 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'), 'young');

  fs.writeFileSync(path.join(tmp, 'pds.env'), [
    'PDS_HOSTNAME=pds.example.com',
    `PDS_DATA_DIRECTORY=${data.root}`,
    `PDS_BLOBSTORE_DISK_LOCATION=${data.blocks}`,
    'PDS_SEQ_RETENTION_DAYS=1',
    `PDS_REPO_BACKFILL_LIMIT_MS=${30 * DAY}`,
    '',
  ].join('\n'));
  env = { PATH: process.env.PATH, HOME: tmp, PDS_ENV_FILE: path.join(tmp, 'pds.env') };
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function everythingPlanted() {
  for (const c of [f.referenced, f.orphanRow, f.youngRow, f.takedown])
    assert.ok(blobRow(A, c) && exists(blobFile(A, c)) !== undefined);
  assert.ok(exists(blobFile(A, f.orphanFile)));
  assert.ok(exists(tempFile(A, f.staleTemp.key)));
  assert.equal(rows(data.sequencer, 'SELECT count(*) n FROM repo_seq')[0].n, 15);
}

describe('pds-maintain', () => {
  test('--dry-run counts and changes nothing', async () => {
    const r = await run(['-n'], env);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /seq: would delete 5 events/);
    assert.match(r.out, /blobs: 2 accounts: would delete 1 unreferenced blob rows and 1 orphaned files/);
    everythingPlanted();
  });

  test('under load, deletes only what it may', async () => {
    const w = startWriter(data, [store(A), store(B)]);
    await w.ready;
    const r = await run([], env);
    await new Promise((res) => setTimeout(res, 100));
    const rounds = await w.stop();
    assert.equal(r.code, 0, r.out);
    const lines = r.out.trim().split('\n');
    assert.equal(lines.length, 4, 'one line per step: ' + r.out);

    // seq: retention 1 day, but the backfill window is 30 days: only the
    // 40-day-old events go; everything the writer added stays.
    assert.match(r.out, /seq: deleted 5 events sequenced before .* \(retention 1 days, backfill window 720 h\)/);
    const left = rows(data.sequencer, "SELECT count(*) n FROM repo_seq WHERE did = 'did:plc:writer'")[0].n;
    assert.equal(left, rounds * 3, 'every event the writer committed survives');
    assert.equal(rows(data.sequencer, `SELECT count(*) n FROM repo_seq WHERE did = '${A}'`)[0].n, 10);

    // blobs: the old orphan row and its file, the old orphan file.
    assert.match(r.out, /blobs: 2 accounts: deleted 1 unreferenced blob rows and 2 orphaned files; 1 orphans younger than the limits kept; 0 accounts failed/);
    assert.ok(!blobRow(A, f.orphanRow) && !exists(blobFile(A, f.orphanRow)));
    assert.ok(!exists(blobFile(A, f.orphanFile)));
    for (const c of [f.referenced, f.youngRow, f.takedown]) assert.ok(blobRow(A, c), c);
    for (const c of [f.referenced, f.youngRow, f.youngFile, f.takedown]) assert.ok(exists(blobFile(A, c)), c);
    assert.ok(exists(path.join(data.blocks, A, 'README')));
    for (const c of f.bRefs) assert.ok(blobRow(B, c) && exists(blobFile(B, c)));

    // temp: stale uploads with their rows, stale files without rows,
    // dangling rows, the ghost's old file; fresh and referenced ones stay.
    assert.match(r.out, /temp: 2 temp directories: deleted 3 uploads older than 24 h and 2 of their blob rows; 0 accounts failed/);
    assert.ok(!exists(tempFile(A, f.staleTemp.key)) && !blobRow(A, f.staleTemp.cid));
    assert.ok(!exists(tempFile(A, f.fileOnlyTemp.key)));
    assert.ok(!blobRow(A, f.danglingTemp.cid));
    assert.ok(exists(tempFile(A, f.freshTemp.key)) && blobRow(A, f.freshTemp.cid));
    assert.ok(exists(tempFile(A, f.reuploaded.key)) && blobRow(A, f.reuploaded.cid));
    assert.ok(exists(tempFile(A, f.refTemp.key)) && blobRow(A, f.refTemp.cid));
    assert.ok(!exists(path.join(data.tmp, GHOST, 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa')));
    assert.ok(exists(path.join(data.tmp, GHOST, 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb')));

    assert.match(r.out, /checkpoint \(passive\): 5 databases, \d+ of \d+ WAL frames written back, 0 busy, 0 failed/);
    // The writer's transactions are all there and the stores are whole.
    for (const s of [store(A), store(B), data.sequencer, data.account])
      assert.equal(rows(s, 'PRAGMA integrity_check')[0].integrity_check, 'ok');
    assert.equal(rows(store(A), 'SELECT count(*) n FROM record')[0].n, rounds);
  });

  test('never the newest event; seq numbering goes on', async () => {
    const db = openDb(data.sequencer);
    db.prepare('UPDATE repo_seq SET sequencedAt = ?').run(ago(100 * DAY));
    const max = db.prepare('SELECT max(seq) m FROM repo_seq').get().m;
    db.close();
    const r = await run(['seq', '--seq-retention-days', '7'], { ...env, PDS_REPO_BACKFILL_LIMIT_MS: String(DAY) });
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /events left, newest seq \d+/);
    assert.equal(r.out.trim().split('\n').length, 1);
    const left = rows(data.sequencer, 'SELECT seq FROM repo_seq');
    assert.deepEqual(left.map((x) => x.seq), [max]);
    const db2 = openDb(data.sequencer);
    db2.prepare("INSERT INTO repo_seq (did, eventType, event, sequencedAt) VALUES ('x', 'append', x'a0', ?)").run(ago(0));
    assert.equal(db2.prepare('SELECT max(seq) m FROM repo_seq').get().m, max + 1);
    db2.close();
  });

  test('no retention keeps every event; TRUNCATE empties the WAL', async () => {
    const n = rows(data.sequencer, 'SELECT count(*) n FROM repo_seq')[0].n;
    let r = await run(['seq'], { ...env, PDS_ENV_FILE: '', PDS_BLOBSTORE_DISK_LOCATION: data.blocks,
      PDS_DATA_DIRECTORY: data.root });
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /seq: no retention set/);
    assert.equal(rows(data.sequencer, 'SELECT count(*) n FROM repo_seq')[0].n, n);
    // An open connection keeps the WAL file; TRUNCATE empties it.
    const held = [data.sequencer, data.account, store(A)].map((file) => {
      const db = openDb(file);
      db.exec('CREATE TABLE IF NOT EXISTS t_ckpt (x); INSERT INTO t_ckpt VALUES (1);');
      assert.ok(fs.statSync(file + '-wal').size > 0, file);
      return [file, db];
    });
    try {
      r = await run(['--checkpoint', 'truncate', 'checkpoint'], env);
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /checkpoint \(truncate\): 5 databases, (\d+) of \1 WAL frames written back, 0 busy, 0 failed/);
      for (const [file] of held)
        assert.equal(fs.statSync(file + '-wal').size, 0, file);
    } finally {
      for (const [, db] of held) db.close();
    }
  });

  test('bad flags and settings exit 2; a held lock exits 5', async () => {
    for (const args of [['--seq-retention-days', '-1'], ['--checkpoint', 'full'], ['vacuum'],
      ['--temp-max-age', '0'], ['--bogus']]) {
      const r = await run(args, env);
      assert.equal(r.code, 2, `${args}: ${r.out}`);
    }
    const lock = path.join(tmp, 'maintain.lock');
    const holder = spawn('flock', ['-F', '-n', lock, 'sleep', '30'], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 50 && !fs.existsSync(lock); i++) await new Promise((res) => setTimeout(res, 20));
      await new Promise((res) => setTimeout(res, 100));
      const r = await run(['--lock', lock], env);
      assert.equal(r.code, 5, r.out);
    } finally {
      holder.kill();
    }
  });
});
