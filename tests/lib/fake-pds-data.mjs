// fake-pds-data.mjs: a PDS data directory in the reference's on-disk
// layout (../shared/spec/reference-pds.md section c), written directly with
// SQLite (node:sqlite) for the cron helper tests: account.sqlite,
// sequencer.sqlite, did_cache.sqlite, actors/<hh>/<did>/{store.sqlite,key},
// actors/reserved_keys/, blocks/<did>/<cid>, blocks/tempt/<did>/<key>.
// Tables follow the reference's Kysely migrations (account-manager 001..,
// sequencer 001-init, actor-store 001-init with takedownRef), reduced to
// the columns the helpers and the checks read.  Also: a child process that
// keeps writing in multi-row transactions, to back up under load.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { DatabaseSync } from 'node:sqlite';
import { CID } from 'multiformats/cid';

export const ACCOUNT_SQL = `
CREATE TABLE actor (did varchar PRIMARY KEY, handle varchar, createdAt varchar NOT NULL,
  takedownRef varchar, deactivatedAt varchar, deleteAfter varchar);
CREATE UNIQUE INDEX actor_handle_lower_idx ON actor (lower(handle));
CREATE TABLE account (did varchar PRIMARY KEY, email varchar NOT NULL,
  passwordScrypt varchar NOT NULL, emailConfirmedAt varchar, invitesDisabled int2 NOT NULL DEFAULT 0);
CREATE TABLE repo_root (did varchar PRIMARY KEY, cid varchar NOT NULL, rev varchar NOT NULL,
  indexedAt varchar NOT NULL);`;

export const SEQUENCER_SQL = `
CREATE TABLE repo_seq (seq integer PRIMARY KEY AUTOINCREMENT, did varchar NOT NULL,
  eventType varchar NOT NULL, event blob NOT NULL, invalidated int2 NOT NULL DEFAULT 0,
  sequencedAt varchar NOT NULL);
CREATE INDEX repo_seq_did_idx ON repo_seq (did);
CREATE INDEX repo_seq_event_type_idx ON repo_seq (eventType);
CREATE INDEX repo_seq_sequenced_at_index ON repo_seq (sequencedAt);`;

export const DID_CACHE_SQL = `
CREATE TABLE did_doc (did varchar PRIMARY KEY, doc text NOT NULL, updatedAt bigint NOT NULL);`;

export const ACTOR_SQL = `
CREATE TABLE repo_root (did varchar PRIMARY KEY, cid varchar NOT NULL, rev varchar NOT NULL,
  indexedAt varchar NOT NULL);
CREATE TABLE repo_block (cid varchar PRIMARY KEY, repoRev varchar NOT NULL, size integer NOT NULL,
  content blob NOT NULL);
CREATE INDEX repo_block_repo_rev_idx ON repo_block (repoRev, cid);
CREATE TABLE record (uri varchar PRIMARY KEY, cid varchar NOT NULL, collection varchar NOT NULL,
  rkey varchar NOT NULL, repoRev varchar NOT NULL, indexedAt varchar NOT NULL, takedownRef varchar);
CREATE TABLE blob (cid varchar PRIMARY KEY, mimeType varchar NOT NULL, size integer NOT NULL,
  tempKey varchar, width integer, height integer, createdAt varchar NOT NULL, takedownRef varchar);
CREATE INDEX blob_tempkey_idx ON blob (tempKey);
CREATE TABLE record_blob (blobCid varchar NOT NULL, recordUri varchar NOT NULL,
  CONSTRAINT record_blob_pkey PRIMARY KEY (blobCid, recordUri));
CREATE TABLE backlink (uri varchar NOT NULL, path varchar NOT NULL, linkTo varchar NOT NULL,
  CONSTRAINT backlinks_pkey PRIMARY KEY (uri, path));
CREATE TABLE account_pref (id integer PRIMARY KEY AUTOINCREMENT, name varchar NOT NULL,
  valueJson text NOT NULL);`;

export function hh(did) {
  return crypto.createHash('sha256').update(did).digest('hex').slice(0, 2);
}

export function rawCid(bytes) {
  const dg = crypto.createHash('sha256').update(bytes).digest();
  return CID.decode(Uint8Array.from([0x01, 0x55, 0x12, 0x20, ...dg])).toString();
}

export function openDb(file) {
  const db = new DatabaseSync(file);
  db.exec('PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000;');
  return db;
}

// Creates the layout under root for the given DIDs.  Returns paths.
export function createDataDir(root, dids) {
  const p = {
    root,
    account: path.join(root, 'account.sqlite'),
    sequencer: path.join(root, 'sequencer.sqlite'),
    didCache: path.join(root, 'did_cache.sqlite'),
    actors: path.join(root, 'actors'),
    blocks: path.join(root, 'blocks'),
    tmp: path.join(root, 'blocks', 'tempt'),
  };
  fs.mkdirSync(p.tmp, { recursive: true });
  for (const [file, sql] of [[p.account, ACCOUNT_SQL], [p.sequencer, SEQUENCER_SQL],
    [p.didCache, DID_CACHE_SQL]]) {
    const db = openDb(file);
    db.exec(sql);
    db.close();
  }
  for (const did of dids) createActor(root, did);
  fs.mkdirSync(path.join(p.actors, 'reserved_keys'), { recursive: true });
  fs.writeFileSync(path.join(p.actors, 'reserved_keys', 'did:key:zQ3shreserved'),
    crypto.randomBytes(32), { mode: 0o600 });
  return p;
}

export function actorDir(root, did) {
  return path.join(root, 'actors', hh(did), did);
}

export function createActor(root, did) {
  const dir = actorDir(root, did);
  fs.mkdirSync(dir, { recursive: true });
  const db = openDb(path.join(dir, 'store.sqlite'));
  db.exec(ACTOR_SQL);
  db.prepare('INSERT INTO repo_root VALUES (?, ?, ?, ?)').run(did,
    'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm', '3kaaaaaaaaaaa',
    new Date().toISOString());
  db.close();
  fs.writeFileSync(path.join(dir, 'key'), crypto.randomBytes(32), { mode: 0o600 });
  const acc = openDb(path.join(root, 'account.sqlite'));
  acc.prepare('INSERT INTO actor (did, handle, createdAt) VALUES (?, ?, ?)').run(did,
    `${did.slice(8, 14)}.test`, new Date().toISOString());
  acc.close();
}

// Writes a permanent blob: file blocks/<did>/<cid>, a blob row, and (when
// record is given) a record_blob row.  Returns the CID.
export function addBlob(root, did, bytes, { record, createdAt, row = true, takedown } = {}) {
  const cid = rawCid(bytes);
  const dir = path.join(root, 'blocks', did);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, cid), bytes);
  if (row) {
    const db = openDb(path.join(actorDir(root, did), 'store.sqlite'));
    db.prepare('INSERT INTO blob (cid, mimeType, size, tempKey, createdAt, takedownRef) VALUES (?, ?, ?, NULL, ?, ?)')
      .run(cid, 'application/octet-stream', bytes.length, createdAt || new Date().toISOString(), takedown || null);
    if (record) db.prepare('INSERT INTO record_blob (blobCid, recordUri) VALUES (?, ?)').run(cid, record);
    db.close();
  }
  return cid;
}

// An upload not yet referenced: blocks/tempt/<did>/<key> and a row with tempKey.
export function addTempBlob(root, did, bytes, { createdAt, row = true, file = true } = {}) {
  const key = crypto.randomBytes(32).toString('hex').replace(/[0-9]/g, (d) => 'abcdefghij'[d]).slice(0, 52);
  const cid = rawCid(bytes);
  if (file) {
    const dir = path.join(root, 'blocks', 'tempt', did);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, key), bytes);
  }
  if (row) {
    const db = openDb(path.join(actorDir(root, did), 'store.sqlite'));
    db.prepare('INSERT INTO blob (cid, mimeType, size, tempKey, createdAt) VALUES (?, ?, ?, ?, ?)')
      .run(cid, 'image/png', bytes.length, key, createdAt || new Date().toISOString());
    db.close();
  }
  return { key, cid };
}

export function setMtime(file, msAgo) {
  const t = new Date(Date.now() - msAgo);
  fs.utimesSync(file, t, t);
}

// The writer: a child process that keeps committing multi-row
// transactions until it gets SIGTERM, so a consistent copy always holds
// whole transactions.  Per round it inserts, each in one transaction:
// 3 repo_seq rows; an actor + account + repo_root row in account.sqlite;
// a repo_block + record row in each actor store.  It prints "ready" after
// the first round and "rounds N" when it stops.
const WRITER = `
import { DatabaseSync } from 'node:sqlite';
const [seqFile, accFile, ...stores] = process.argv.slice(1);
const open = (f) => { const d = new DatabaseSync(f); d.exec('PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000;'); return d; };
const seq = open(seqFile), acc = open(accFile), st = stores.map(open);
let stop = false, n = 0;
process.on('SIGTERM', () => { stop = true; });
const seqIns = seq.prepare("INSERT INTO repo_seq (did, eventType, event, sequencedAt) VALUES ('did:plc:writer', 'append', ?, ?)");
function round() {
  const now = new Date().toISOString();
  seq.exec('BEGIN IMMEDIATE');
  for (let i = 0; i < 3; i++) seqIns.run(Buffer.alloc(200, n % 256), now);
  seq.exec('COMMIT');
  const did = 'did:plc:w' + String(n).padStart(23, '0');
  acc.exec('BEGIN IMMEDIATE');
  acc.prepare('INSERT INTO actor (did, handle, createdAt) VALUES (?, ?, ?)').run(did, 'w' + n + '.test', now);
  acc.prepare("INSERT INTO account (did, email, passwordScrypt) VALUES (?, ?, 'x')").run(did, 'w' + n + '@x.test');
  acc.prepare("INSERT INTO repo_root (did, cid, rev, indexedAt) VALUES (?, 'bafy', 'r', ?)").run(did, now);
  acc.exec('COMMIT');
  for (const s of st) {
    s.exec('BEGIN IMMEDIATE');
    s.prepare("INSERT INTO repo_block (cid, repoRev, size, content) VALUES (?, 'r', 300, ?)").run('b' + n, Buffer.alloc(300, 7));
    s.prepare("INSERT INTO record (uri, cid, collection, rkey, repoRev, indexedAt) VALUES (?, ?, 'app.bsky.feed.post', ?, 'r', ?)").run('at://x/app.bsky.feed.post/' + n, 'b' + n, String(n), now);
    s.exec('COMMIT');
  }
  n++;
}
round();
console.log('ready');
(function loop() {
  if (stop) { console.log('rounds ' + n); process.exit(0); }
  for (let i = 0; i < 5; i++) round();
  setImmediate(loop);
})();
`;

export function startWriter(p, stores) {
  const child = spawn(process.execPath, ['--no-warnings', '--input-type=module', '-e', WRITER,
    p.sequencer, p.account, ...stores], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const ready = new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('ready')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`writer exited ${code}`)));
  });
  return {
    ready,
    async stop() {
      const done = new Promise((r) => child.on('exit', r));
      child.kill('SIGTERM');
      await done;
      const m = /rounds (\d+)/.exec(out);
      return m ? Number(m[1]) : -1;
    },
  };
}
