// cron-backup.test.mjs: pds-backup on a data directory in the reference's
// layout (tests/lib/fake-pds-data.mjs) while a writer keeps committing:
// the snapshot restores into a fresh directory with databases that pass
// integrity_check and hold whole transactions only, identical keys and
// blobs; verify catches damage; rclone copies to a local-directory remote
// and to an S3 remote served by s3rver on loopback, and a second run
// sends only what changed.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import S3rver from 's3rver';
import { actorDir, addBlob, addTempBlob, createDataDir, startWriter } from '../lib/fake-pds-data.mjs';

const BIN = path.join(process.env.PDS_BIN_DIR || path.resolve('..'), 'cron/pds-backup');
const DIDS = ['did:plc:aaaaaaaaaaaaaaaaaaaaaaaa', 'did:plc:bbbbbbbbbbbbbbbbbbbbbbbb'];

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

function q(file, sql) {
  const db = new DatabaseSync(file, { readOnly: true });
  try { return db.prepare(sql).all(); } finally { db.close(); }
}
const one = (file, sql) => Object.values(q(file, sql)[0])[0];

function snapshots(dest) {
  const d = path.join(dest, 'snapshots');
  return fs.existsSync(d) ? fs.readdirSync(d).filter((n) => /^\d{8}T\d{6}\.\d{3}Z$/.test(n)).sort() : [];
}

function files(dir) {
  const out = [];
  (function walk(d, rel) {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path.join(d, e.name), r);
      else out.push(r);
    }
  })(dir, '');
  return out.sort();
}

let tmp, data, dest, env;
const blobs = {};

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cron-backup-'));
  data = createDataDir(path.join(tmp, 'data'), DIDS);
  dest = path.join(tmp, 'backups');
  for (const did of DIDS)
    blobs[did] = [0, 1, 2].map((i) => addBlob(data.root, did, crypto.randomBytes(1000 + i), { record: `at://${did}/app.bsky.feed.post/${i}` }));
  addTempBlob(data.root, DIDS[0], Buffer.from('temp upload, not backed up'));
  fs.writeFileSync(path.join(tmp, 'pds.env'), [
    'PDS_HOSTNAME=pds.example.com',
    `PDS_DATA_DIRECTORY=${data.root}`,
    `PDS_BLOBSTORE_DISK_LOCATION=${data.blocks}`,
    `PDS_BACKUP_DIRECTORY=${dest}`,
    '',
  ].join('\n'));
  env = { PATH: process.env.PATH, HOME: tmp, PDS_ENV_FILE: path.join(tmp, 'pds.env'),
    RCLONE_CONFIG: path.join(tmp, 'rclone.conf') };
  fs.writeFileSync(env.RCLONE_CONFIG, '');
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('pds-backup', () => {
  let first;

  test('a snapshot taken under write load restores consistently', async () => {
    const stores = DIDS.map((d) => path.join(actorDir(data.root, d), 'store.sqlite'));
    const w = startWriter(data, stores);
    await w.ready;
    await new Promise((r) => setTimeout(r, 300));
    const r = await run(['--no-upload'], env);
    await new Promise((res) => setTimeout(res, 200));
    const rounds = await w.stop();
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /snapshot \d{8}T\d{6}\.\d{3}Z: 5 databases \(integrity ok\), 3 keys, 0 files, 6 new blobs, 0 blobs already kept/);
    assert.ok(!/ (warn|error) pds-backup/.test(r.out), r.out);
    [first] = snapshots(dest);
    const snap = path.join(dest, 'snapshots', first);

    const v = await run(['verify', snap], env);
    assert.equal(v.code, 0, v.out);
    assert.match(v.out, /verify .*: ok/);

    const out = path.join(tmp, 'restored');
    const rs = await run(['restore', snap, out], env);
    assert.equal(rs.code, 0, rs.out);
    assert.match(rs.out, /PDS_DATA_DIRECTORY=.*restored and PDS_BLOBSTORE_DISK_LOCATION=.*restored\/blocks/);

    // Every database is whole and holds whole transactions only.
    const dbs = ['account.sqlite', 'sequencer.sqlite', 'did_cache.sqlite',
      ...DIDS.map((d) => path.relative(data.root, path.join(actorDir(data.root, d), 'store.sqlite')))];
    for (const f of dbs) {
      assert.equal(one(path.join(out, f), 'PRAGMA integrity_check'), 'ok', f);
      assert.equal(one(path.join(out, f), 'PRAGMA journal_mode'), 'wal', f);
    }
    const nseq = one(path.join(out, 'sequencer.sqlite'), 'SELECT count(*) FROM repo_seq');
    assert.ok(nseq > 0 && nseq % 3 === 0, `repo_seq ${nseq} rows: whole transactions of 3`);
    assert.equal(one(path.join(out, 'sequencer.sqlite'), 'SELECT max(seq) FROM repo_seq'), nseq);
    const acc = path.join(out, 'account.sqlite');
    const actors = one(acc, "SELECT count(*) FROM actor WHERE did LIKE 'did:plc:w%'");
    assert.ok(actors > 0);
    assert.equal(one(acc, 'SELECT count(*) FROM account'), actors);
    assert.equal(one(acc, 'SELECT count(*) FROM repo_root'), actors);
    for (const d of DIDS) {
      const s = path.join(out, path.relative(data.root, path.join(actorDir(data.root, d), 'store.sqlite')));
      assert.equal(one(s, 'SELECT count(*) FROM repo_block'), one(s, 'SELECT count(*) FROM record'));
      assert.equal(one(s, 'SELECT count(*) FROM blob WHERE tempKey IS NULL'), 3);
    }
    // A point in time, not the end: the writer went on after the copy.
    assert.ok(rounds > actors, `writer rounds ${rounds} > copied ${actors}`);
    assert.ok(nseq < one(data.sequencer, 'SELECT count(*) FROM repo_seq'));

    // Keys and blobs are byte-identical; temp uploads stay out.
    for (const d of DIDS) {
      const k = path.join(actorDir(data.root, d), 'key');
      assert.deepEqual(fs.readFileSync(path.join(out, path.relative(data.root, k))), fs.readFileSync(k));
      assert.equal(fs.statSync(path.join(out, path.relative(data.root, k))).mode & 0o777, 0o600);
      for (const c of blobs[d])
        assert.deepEqual(fs.readFileSync(path.join(out, 'blocks', d, c)), fs.readFileSync(path.join(data.blocks, d, c)));
    }
    assert.deepEqual(fs.readFileSync(path.join(out, 'actors/reserved_keys/did:key:zQ3shreserved')),
      fs.readFileSync(path.join(data.actors, 'reserved_keys/did:key:zQ3shreserved')));
    assert.ok(!fs.existsSync(path.join(out, 'blocks', 'tempt')));
    assert.ok(files(out).every((f) => !/-wal$|-shm$|\.partial$/.test(f) || /sqlite-(wal|shm)$/.test(f)));
  });

  test('restore refuses a non-empty directory unless --force', async () => {
    const snap = path.join(dest, 'snapshots', first);
    const out = path.join(tmp, 'restored');
    let r = await run(['restore', snap, out], env);
    assert.equal(r.code, 2, r.out);
    assert.match(r.out, /is not empty; give --force/);
    // A stale WAL beside a database must not be replayed into it.
    fs.writeFileSync(path.join(out, 'sequencer.sqlite-wal'), crypto.randomBytes(4096));
    r = await run(['restore', '--force', snap, out], env);
    assert.equal(r.code, 0, r.out);
    assert.equal(one(path.join(out, 'sequencer.sqlite'), 'PRAGMA integrity_check'), 'ok');
  });

  test('verify catches damage; restore then refuses', async () => {
    const copy = path.join(tmp, 'damaged', 'snapshots', first);
    fs.cpSync(path.join(dest, 'snapshots', first), copy, { recursive: true });
    fs.cpSync(path.join(dest, 'blocks'), path.join(tmp, 'damaged', 'blocks'), { recursive: true });
    let r = await run(['verify', copy], env);
    assert.equal(r.code, 0, r.out);

    // One flipped byte in a database page.
    const f = path.join(copy, 'account.sqlite');
    const b = fs.readFileSync(f);
    b[b.length - 100] ^= 0xff;
    fs.writeFileSync(f, b);
    r = await run(['verify', copy], env);
    assert.equal(r.code, 7, r.out);
    assert.match(r.out, /verify: account.sqlite: SHA-256 differs from the MANIFEST/);
    r = await run(['restore', copy, path.join(tmp, 'never')], env);
    assert.equal(r.code, 7, r.out);
    assert.ok(!fs.existsSync(path.join(tmp, 'never', 'account.sqlite')));

    // A missing blob and a truncated blob.
    fs.rmSync(path.join(tmp, 'damaged', 'blocks', DIDS[0], blobs[DIDS[0]][0]));
    fs.truncateSync(path.join(tmp, 'damaged', 'blocks', DIDS[1], blobs[DIDS[1]][0]), 10);
    r = await run(['verify', copy], env);
    assert.equal(r.code, 7, r.out);
    assert.match(r.out, /3 damaged entries/);
    assert.match(r.out, /10 bytes, the MANIFEST says 1000/);

    // A MANIFEST cut short, or one naming a path outside the snapshot.
    const m = fs.readFileSync(path.join(copy, 'MANIFEST'), 'utf8');
    fs.writeFileSync(path.join(copy, 'MANIFEST'), m.split('\n').slice(0, 4).join('\n') + '\n');
    r = await run(['verify', copy], env);
    assert.equal(r.code, 7, r.out);
    assert.match(r.out, /truncated: no end line/);
    fs.writeFileSync(path.join(copy, 'MANIFEST'), m.replace(/ db account\.sqlite/, ' db ../../../etc/passwd'));
    r = await run(['verify', copy], env);
    assert.equal(r.code, 7, r.out);
    assert.match(r.out, /refused path/);
  });

  test('rclone to a local-directory remote and to s3rver; a second run sends only what changed', async () => {
    const s3dir = path.join(tmp, 's3rver');
    fs.mkdirSync(s3dir);
    const s3 = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: s3dir,
      configureBuckets: [{ name: 'pds-backup' }] });
    const { port } = await s3.run();
    const localRemote = path.join(tmp, 'remote-local');
    const renv = {
      ...env,
      RCLONE_CONFIG_S3T_TYPE: 's3', RCLONE_CONFIG_S3T_PROVIDER: 'Other',
      RCLONE_CONFIG_S3T_ENDPOINT: `http://127.0.0.1:${port}`,
      RCLONE_CONFIG_S3T_ACCESS_KEY_ID: 'S3RVER', RCLONE_CONFIG_S3T_SECRET_ACCESS_KEY: 'S3RVER',
      RCLONE_CONFIG_S3T_FORCE_PATH_STYLE: 'true', RCLONE_CONFIG_S3T_REGION: 'us-east-1',
      RCLONE_CONFIG_LOC_TYPE: 'local',
      PDS_BACKUP_REMOTES: `loc:${localRemote}, s3t:pds-backup/host1`,
    };
    try {
      let r = await run([], renv);
      assert.equal(r.code, 0, r.out);
      const names = snapshots(dest);
      const last = names[names.length - 1];
      const snapFiles = files(path.join(dest, 'snapshots', last)).length;
      // The first upload sends every kept snapshot and every blob.
      for (const rm of [`loc:${localRemote}`, 's3t:pds-backup/host1']) {
        const m = new RegExp(`remote ${rm.replace(/[/.]/g, '\\$&')}: sent (\\d+) snapshots, (\\d+) files`).exec(r.out);
        assert.ok(m, r.out);
        assert.equal(Number(m[2]), Number(m[1]) * snapFiles + 6, r.out);
      }
      assert.deepEqual(files(path.join(localRemote, 'snapshots', last)), files(path.join(dest, 'snapshots', last)));
      assert.deepEqual(files(path.join(localRemote, 'blocks')), files(path.join(dest, 'blocks')));
      const oldBlob = path.join(localRemote, 'blocks', DIDS[0], blobs[DIDS[0]][1]);
      const before = fs.statSync(oldBlob);

      // One new blob and new rows; the second run sends one snapshot and
      // one blob, nothing else.
      const added = addBlob(data.root, DIDS[1], crypto.randomBytes(777), { record: `at://${DIDS[1]}/app.bsky.feed.post/new` });
      await new Promise((res) => setTimeout(res, 20));
      r = await run([], renv);
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /1 new blobs, 6 blobs already kept/);
      const now = snapshots(dest);
      const snap2 = now[now.length - 1];
      const n2 = files(path.join(dest, 'snapshots', snap2)).length;
      for (const rm of ['loc:', 's3t:']) {
        const m = new RegExp(`remote ${rm}\\S*: sent 1 snapshots, (\\d+) files`).exec(r.out);
        assert.ok(m, r.out);
        assert.equal(Number(m[1]), n2 + 1, `${rm} sent the new snapshot and one blob: ${r.out}`);
      }
      assert.deepEqual(fs.statSync(oldBlob).mtimeMs, before.mtimeMs);
      assert.deepEqual(fs.statSync(oldBlob).ino, before.ino, 'old blob not rewritten');
      assert.ok(fs.existsSync(path.join(localRemote, 'blocks', DIDS[1], added)));
      // The remote keeps what the retention keeps here.
      assert.deepEqual(fs.readdirSync(path.join(localRemote, 'snapshots')).sort(), snapshots(dest));

      // What is on S3 restores: fetch it back with rclone, verify, restore.
      const back = path.join(tmp, 's3-back');
      const dl = await new Promise((res) => {
        // --fast-list: s3rver 3.7 drops common prefixes of "directories"
        // holding only directories from delimited listings.
        const p = spawn('rclone', ['copy', '--fast-list', 's3t:pds-backup/host1', back], { env: renv, stdio: 'inherit' });
        p.on('close', res);
      });
      assert.equal(dl, 0);
      r = await run(['verify', path.join(back, 'snapshots', snap2)], env);
      assert.equal(r.code, 0, r.out);
      r = await run(['restore', path.join(back, 'snapshots', snap2), path.join(tmp, 'from-s3')], env);
      assert.equal(r.code, 0, r.out);
      assert.deepEqual(fs.readFileSync(path.join(tmp, 'from-s3', 'blocks', DIDS[1], added)),
        fs.readFileSync(path.join(data.blocks, DIDS[1], added)));

      // A remote that fails: exit 6, the local snapshot stays.
      r = await run(['--remote', 'nosuchremote:x'], env);
      assert.equal(r.code, 6, r.out);
      assert.match(r.out, /remote nosuchremote:x: failed/);
    } finally {
      await s3.close();
    }
  });

  test('retention prunes snapshots and blobs nothing lists any more', async () => {
    const gone = blobs[DIDS[0]][2];
    // The PDS deleting the record: its rows, then the blob file.
    const db = new DatabaseSync(path.join(actorDir(data.root, DIDS[0]), 'store.sqlite'));
    db.prepare('DELETE FROM record_blob WHERE blobCid = ?').run(gone);
    db.prepare('DELETE FROM blob WHERE cid = ?').run(gone);
    db.close();
    fs.rmSync(path.join(data.blocks, DIDS[0], gone));
    let r = await run(['--no-upload', '--keep-hourly', '1', '--keep-daily', '0'], env);
    assert.equal(r.code, 0, r.out);
    assert.equal(snapshots(dest).length, 1, r.out);
    assert.match(r.out, /pruned \d+ snapshots and 1 blobs/);
    assert.ok(!fs.existsSync(path.join(dest, 'blocks', DIDS[0], gone)));
    assert.ok(fs.existsSync(path.join(dest, 'blocks', DIDS[0], blobs[DIDS[0]][1])));
    r = await run(['verify', path.join(dest, 'snapshots', snapshots(dest)[0])], env);
    assert.equal(r.code, 0, r.out);
  });

  test('a blob a record references but the source lacks: exit 8, verify fails', async () => {
    const lost = blobs[DIDS[1]][2];
    const file = path.join(data.blocks, DIDS[1], lost);
    const bytes = fs.readFileSync(file);
    fs.rmSync(path.join(dest, 'blocks', DIDS[1], lost), { force: true });
    fs.rmSync(file);
    try {
      await new Promise((res) => setTimeout(res, 5));	// a new snapshot name
      let r = await run(['--no-upload'], env);
      assert.equal(r.code, 8, r.out);
      assert.match(r.out, new RegExp(`blob ${lost}, referenced by a record of the snapshot, is missing`));
      assert.match(r.out, / error pds-backup.*1 referenced blobs missing, 0 stores copied again/);
      const snap = path.join(dest, 'snapshots', snapshots(dest).at(-1));
      r = await run(['verify', snap], env);
      assert.equal(r.code, 7, r.out);
      assert.match(r.out, new RegExp(`referenced blob ${lost} is not in the snapshot`));
    } finally {
      fs.writeFileSync(file, bytes);
    }
    const r = await run(['--no-upload'], env);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /0 referenced blobs missing/);
  });

  test('usage, configuration and lock errors', async () => {
    let r = await run(['--no-upload'], { ...env, PDS_ENV_FILE: '', PDS_BLOBSTORE_DISK_LOCATION: data.blocks });
    assert.equal(r.code, 2, r.out);
    assert.match(r.out, /PDS_BACKUP_DIRECTORY/);
    r = await run(['--remote', '--delete-all'], env);
    assert.equal(r.code, 2, r.out);
    r = await run(['frobnicate'], env);
    assert.equal(r.code, 2, r.out);
    r = await run(['--keep-daily', '-1'], env);
    assert.equal(r.code, 2, r.out);
    const lock = path.join(tmp, 'backup.lock');
    const holder = spawn('flock', ['-F', '-n', lock, 'sleep', '30'], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 50 && !fs.existsSync(lock); i++) await new Promise((res) => setTimeout(res, 20));
      await new Promise((res) => setTimeout(res, 100));
      const n = snapshots(dest).length;
      r = await run(['--no-upload', '--lock', lock], env);
      assert.equal(r.code, 5, r.out);
      assert.equal(snapshots(dest).length, n);
    } finally {
      holder.kill();
    }
  });
});
