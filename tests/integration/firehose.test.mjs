// firehose.test.mjs: pds-firehose against real things: sequencer.sqlite
// files written by seqdb (tests/lib/tool_seq) and by Kysely (the
// reference's migration, run here on node:sqlite), frames checked byte for
// byte against @atproto/xrpc-server's own MessageFrame/ErrorFrame
// encoding, the `ws` package as a standard client, raw sockets for
// protocol abuse, 1,000 concurrent subscribers, a restart under load, and
// real nginx with the shipped conf/nginx/pds-locations.conf.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import WebSocket from 'ws';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import { decode as lexDecode, encode as lexEncode } from '@atproto/lex-cbor';
import { ErrorFrame, Frame, MessageFrame } from '@atproto/xrpc-server';
import { FH_BIN, TOOL_SEQ, clientFrame, isSanitized, memKiB, parseServerFrames,
  rawExchange, rawSubscribe, seqOf, sleep, startFirehose, toolSeq, toolSeqBg }
  from '../lib/firehose-client.mjs';
import { NGINX, freePort, isExecutable, nginxConf } from '../lib/stack.mjs';

const NSID = 'com.atproto.sync.subscribeRepos';
const WIRE = { append: '#commit', sync: '#sync', identity: '#identity', account: '#account' };
const DAY = 86400000;
const built = isExecutable(FH_BIN) && isExecutable(TOOL_SEQ);

function tmpDir(tag) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `fh-${tag}-`));
}

async function until(what, fn, timeoutMs = 10000) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await fn()) return;
    await sleep(10);
  }
  assert.fail(`timed out: ${what}`);
}

/** The bytes the reference sends for each stored row (its handler yields
 * {$type, seq, time, ...cborDecode(event)}; xrpc-server frames it). */
function referenceFrames(db) {
  const h = new DatabaseSync(db, { readOnly: true });
  const rows = h.prepare('SELECT seq, eventType, event, sequencedAt FROM repo_seq '
    + 'WHERE invalidated = 0 ORDER BY seq').all();
  h.close();
  const out = new Map();
  for (const r of rows) {
    let body;
    try { body = lexDecode(r.event); } catch { continue; }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) continue;
    out.set(Number(r.seq), Buffer.from(MessageFrame.fromLexValue(
      { $type: WIRE[r.eventType], seq: Number(r.seq), time: r.sequencedAt, ...body }, NSID).toBytes()));
  }
  return out;
}

/** A `ws` subscriber collecting decoded frames. */
function wsSubscribe(url, { onFrame } = {}) {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  const c = { ws, frames: [], raw: [] };
  c.opened = new Promise((res, rej) => { ws.once('open', res); ws.once('error', rej); });
  c.closed = new Promise((res) => ws.once('close', (code, reason) =>
    res({ code, reason: reason.toString() })));
  ws.on('message', (d) => {
    const buf = Buffer.from(d);
    const f = Frame.fromBytes(buf);
    c.frames.push(f);
    c.raw.push(buf);
    onFrame?.(f, c);
  });
  ws.on('error', () => {});
  return c;
}

const seqs = (c) => c.frames.filter((f) => f.isMessage() && f.type !== '#info').map((f) => f.body.seq);
const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

describe('pds-firehose', { skip: !built && `not built: ${FH_BIN} / ${TOOL_SEQ}` }, () => {
  const dirs = [];
  const daemons = [];
  const mkdir = (tag) => { const d = tmpDir(tag); dirs.push(d); return d; };
  const start = async (opts) => { const f = await startFirehose(opts); daemons.push(f); return f; };
  after(async () => {
    for (const f of daemons) await f.stop('SIGKILL');
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  test('creates sequencer.sqlite exactly as the reference migration does', async () => {
    const dir = mkdir('schema');
    const ours = path.join(dir, 'ours.sqlite');
    const theirs = path.join(dir, 'theirs.sqlite');
    await toolSeq(ours, ['--count', '0']);
    // The reference's migration 001 (sequencer/db/migrations/001-init.ts),
    // run by Kysely's Migrator on node:sqlite.
    const raw = new DatabaseSync(theirs);
    const database = {
      prepare(sql) {
        const st = raw.prepare(sql);
        return {
          reader: /^\s*(select|pragma|with)\b/i.test(sql),
          all: (p) => st.all(...p),
          run: (p) => st.run(...p),
        };
      },
      close: () => raw.close(),
    };
    const db = new Kysely({ dialect: new SqliteDialect({ database }) });
    const migrator = new Migrator({ db, provider: { getMigrations: async () => ({
      '001': { up: async (k) => {
        await k.schema.createTable('repo_seq')
          .addColumn('seq', 'integer', (col) => col.autoIncrement().primaryKey())
          .addColumn('did', 'varchar', (col) => col.notNull())
          .addColumn('eventType', 'varchar', (col) => col.notNull())
          .addColumn('event', 'blob', (col) => col.notNull())
          .addColumn('invalidated', 'int2', (col) => col.notNull().defaultTo(0))
          .addColumn('sequencedAt', 'varchar', (col) => col.notNull())
          .execute();
        await k.schema.createIndex('repo_seq_did_idx').on('repo_seq').column('did').execute();
        await k.schema.createIndex('repo_seq_event_type_idx').on('repo_seq')
          .column('eventType').execute();
        await k.schema.createIndex('repo_seq_sequenced_at_index').on('repo_seq')
          .column('sequencedAt').execute();
      } },
    }) } });
    const { error } = await migrator.migrateToLatest();
    assert.equal(error, undefined);
    await db.destroy();
    const schema = (f) => {
      const h = new DatabaseSync(f, { readOnly: true });
      const rows = h.prepare("SELECT type, name, tbl_name, sql FROM sqlite_master "
        + "WHERE name NOT LIKE 'sqlite_%' ORDER BY name").all();
      const mig = h.prepare('SELECT name FROM kysely_migration').all();
      const lock = h.prepare('SELECT id, is_locked FROM kysely_migration_lock').all();
      h.close();
      return { rows: rows.map((r) => ({ ...r })), mig: mig.map((r) => r.name),
        lock: lock.map((r) => ({ ...r })) };
    };
    assert.deepEqual(schema(ours), schema(theirs));
  });

  describe('one database, one daemon', () => {
    let dir, db, fh;
    before(async () => {
      dir = mkdir('main');
      db = path.join(dir, 'sequencer.sqlite');
      await toolSeq(db, ['--count', '1200', '--batch', '100']);
      fh = await start({ dataDir: dir, env: { PDS_MAX_SUBSCRIPTION_BUFFER: '500' } });
    });

    test('cursor 0: replay then live, no gap, no duplicate, reference bytes', async () => {
      // Writes go on while the subscriber replays: the switch to live
      // happens under load.
      const writer = toolSeqBg(db, ['--count', '1500', '--rate', '1500', '--batch', '10']);
      await sleep(100);
      const c = wsSubscribe(`${fh.url}?cursor=0`);
      await c.opened;
      await writer.done;
      await until('2700 events', () => c.frames.length >= 2700);
      await sleep(100);
      c.ws.close();
      assert.deepEqual(seqs(c), range(1, 2700));
      const ref = referenceFrames(db);
      let same = 0;
      c.raw.forEach((b, i) => { if (ref.get(c.frames[i].body.seq)?.equals(b)) same++; });
      assert.equal(same, 2700, 'every frame equals the reference framework\'s bytes');
      assert.equal(c.frames[0].type, '#commit');
      assert.ok(c.frames.some((f) => f.type === '#identity'));
      assert.ok(c.frames.some((f) => f.type === '#account'));
      assert.ok(c.frames.some((f) => f.type === '#sync'));
    });

    test('cursor rules as the reference parses them', async () => {
      const { stdout } = await toolSeq(db, ['--max']);
      const max = Number(stdout);
      const firstOf = async (q) => {
        const c = rawSubscribe({ port: fh.port, query: q, keep: true });
        await c.opened;
        await until(`a message for ${q}`, () => c.count > 0, 3000).catch(() => {});
        c.destroy();
        return c.messages[0];
      };
      // parseInt(v, 10) || 0: junk is cursor 0 (full replay), a numeric
      // prefix counts, negatives replay everything.
      assert.equal(seqOf(await firstOf('?cursor=abc')), 1);
      assert.equal(seqOf(await firstOf('?cursor=-5')), 1);
      assert.equal(seqOf(await firstOf('?cursor=2x')), 3);
      assert.equal(seqOf(await firstOf('?cursor=%2B7')), 8);
      assert.equal(seqOf(await firstOf('?cursor=+9')), 10);	// '+' is a space
      assert.equal(seqOf(await firstOf('?cursor=4&cursor=1')), 5);
      // A cursor at the head replays nothing; live follows.
      const head = rawSubscribe({ port: fh.port, query: `?cursor=${max}`, keep: true });
      const live = rawSubscribe({ port: fh.port, query: '?cursor=', keep: true });
      await Promise.all([head.opened, live.opened]);
      await sleep(50);
      assert.equal(head.count + live.count, 0);
      await toolSeq(db, ['--count', '2']);
      await until('two live events', () => head.count === 2 && live.count === 2);
      assert.deepEqual(head.messages.map(seqOf), [max + 1, max + 2]);
      assert.deepEqual(live.messages.map(seqOf), [max + 1, max + 2]);
      head.destroy();
      live.destroy();
    });

    test('FutureCursor: error frame, then close 1008', async () => {
      const { stdout } = await toolSeq(db, ['--max']);
      for (const cur of [Number(stdout) + 1, '99999999999999999999']) {
        const c = wsSubscribe(`${fh.url}?cursor=${cur}`);
        const { code, reason } = await c.closed;
        assert.equal(code, 1008);
        assert.equal(reason, 'FutureCursor');
        assert.equal(c.raw.length, 1);
        assert.ok(c.raw[0].equals(Buffer.from(new ErrorFrame(
          { error: 'FutureCursor', message: 'Cursor in the future.' }).toBytes())));
      }
      const p = wsSubscribe(`${fh.url}?__proto__=1&cursor=1`);
      const pc = await p.closed;
      assert.equal(pc.code, 1008);
      assert.equal(pc.reason, 'InvalidQueryParameter');
      assert.equal(p.frames[0].body.message, 'Invalid query parameter: __proto__');
    });

    test('invalidated and malformed rows are skipped', async () => {
      const { last } = await toolSeq(db, ['--count', '3']);
      await toolSeq(db, ['--invalidate', String(last - 1)]);
      await toolSeq(db, ['--bogus']);
      const c = rawSubscribe({ port: fh.port, query: `?cursor=${last - 3}`, keep: true });
      await c.opened;
      const next = await toolSeq(db, ['--count', '1']);
      await until('the next event', () => c.messages.some((m) => seqOf(m) === next.last));
      assert.deepEqual(c.messages.map(seqOf), [last - 2, last, next.last]);
      c.destroy();
      assert.match(fh.log(), /is not a DAG-CBOR map/);
    });

    test('live delivery: woken by the datagram, and by inotify for other writers', async () => {
      const c = rawSubscribe({ port: fh.port, keep: true });
      await c.opened;
      let t0 = Date.now();
      await toolSeq(db, ['--count', '1', '--type', 'identity']);
      await until('event via seqdb', () => c.count === 1);
      const viaNotify = Date.now() - t0;
      // A writer that knows nothing of the daemon (no datagram).
      const h = new DatabaseSync(db);
      t0 = Date.now();
      h.prepare("INSERT INTO repo_seq (did, eventType, event, sequencedAt) VALUES "
        + "('did:plc:x', 'identity', ?, ?)").run(
        Buffer.from(lexEncode({ did: 'did:plc:x' })), new Date().toISOString());
      h.close();
      await until('event via inotify', () => c.count === 2);
      const viaInotify = Date.now() - t0;
      c.destroy();
      // Both well under the 1 s fallback poll.
      assert.ok(viaNotify < 300, `datagram wake took ${viaNotify} ms`);
      assert.ok(viaInotify < 300, `inotify wake took ${viaInotify} ms`);
    });

    test('hostile clients are refused without disturbing a subscriber', async () => {
      const { stdout } = await toolSeq(db, ['--max']);
      const base = Number(stdout);
      const good = rawSubscribe({ port: fh.port, keep: true });
      await good.opened;
      const writer = toolSeqBg(db, ['--count', '300', '--rate', '1000', '--batch', '5']);
      const up = (extra, method = 'GET', path = '/xrpc/com.atproto.sync.subscribeRepos') =>
        `${method} ${path} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;
      const okHead = 'Upgrade: websocket\r\nConnection: Upgrade\r\n'
        + 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n';
      const status = async (bytes) => {
        const r = await rawExchange(fh.port, bytes);
        return { line: r.data.toString('latin1').split('\r\n')[0], text: r.data.toString('latin1'), closed: r.closed };
      };
      // Handshakes
      let r = await status(up(okHead.replace('dGhlIHNhbXBsZSBub25jZQ==', 'short')));
      assert.equal(r.line, 'HTTP/1.1 400 Bad Request');
      assert.ok(r.closed);
      r = await status(up(okHead.replace('Version: 13', 'Version: 8')));
      assert.equal(r.line, 'HTTP/1.1 426 Upgrade Required');
      assert.match(r.text, /\r\nSec-WebSocket-Version: 13\r\n/);
      r = await status(up(okHead, 'POST'));
      assert.equal(r.line, 'HTTP/1.1 405 Method Not Allowed');
      r = await status(up(''));
      assert.equal(r.line, 'HTTP/1.1 426 Upgrade Required');
      r = await status(up(okHead, 'GET', '/xrpc/com.atproto.sync.subscribeLabels'));
      assert.equal(r.line, 'HTTP/1.1 404 Not Found');
      r = await status(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(9000)}\r\n\r\n`);
      assert.equal(r.line, 'HTTP/1.1 431 Request Header Fields Too Large');
      r = await status(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03]));
      assert.equal(r.line, 'HTTP/1.1 400 Bad Request');
      r = await status(`GET /xrpc/com.atproto.sync.subscribeRepos HTTP/1.1\nHost: x\n\n`);
      assert.equal(r.line, 'HTTP/1.1 400 Bad Request');
      // Frames after a good handshake
      const frames = async (...after) => {
        const res = await rawExchange(fh.port, [up(okHead), ...after]);
        return { frames: parseServerFrames(res.data), closed: res.closed };
      };
      const closeOf = (fs_) => {
        const f = fs_.find((x) => x.op === 8);
        return f && { code: f.payload.readUInt16BE(0), reason: f.payload.subarray(2).toString() };
      };
      let f = await frames(clientFrame(2, Buffer.from('hi'), { mask: false }));
      assert.equal(closeOf(f.frames)?.code, 1002, 'unmasked frame: close 1002');
      assert.ok(f.closed);
      const gb = Buffer.from([0x82, 0xff, 0, 0, 0, 0, 0x40, 0, 0, 0]);
      f = await frames(gb);
      assert.equal(closeOf(f.frames)?.code, 1009, '1 GB frame header: close 1009');
      assert.ok(f.closed);
      f = await frames(clientFrame(9, Buffer.from('ping!')), clientFrame(1, Buffer.from('ignored')),
        clientFrame(8, Buffer.from([0x03, 0xe8])));
      const pong = f.frames.find((x) => x.op === 10);
      assert.equal(pong?.payload.toString(), 'ping!');
      assert.equal(closeOf(f.frames)?.code, 1000, 'close echoed');
      f = await frames(clientFrame(1, Buffer.from([0xc0, 0x80])));
      assert.equal(closeOf(f.frames)?.code, 1007, 'invalid UTF-8: close 1007');
      f = await frames(clientFrame(9, Buffer.alloc(126)));
      assert.equal(closeOf(f.frames)?.code, 1002, 'oversized ping: close 1002');
      const junk = crypto.getRandomValues(Buffer.alloc(4096));
      junk[0] |= 0x70;		// whatever follows, RSV bits make it invalid
      f = await frames(junk);
      assert.ok(f.closed, 'random bytes after the handshake end the connection');
      // Health
      const h = await status('GET /_health HTTP/1.1\r\nHost: x\r\n\r\n');
      assert.equal(h.line, 'HTTP/1.1 200 OK');
      const health = JSON.parse(h.text.slice(h.text.indexOf('\r\n\r\n') + 4));
      assert.ok(health.clients >= 1 && health.seq >= base);
      await writer.done;
      await until('300 events for the good client', () => good.count === 300);
      assert.deepEqual(good.messages.map(seqOf), range(base + 1, base + 300));
      assert.deepEqual(good.errors, []);
      good.destroy();
    });
  });

  test('started before the database exists: everything in it is live', async () => {
    const dir = mkdir('late');
    const fh = await start({ dataDir: dir });
    const c = rawSubscribe({ port: fh.port, keep: true });
    const f = wsSubscribe(`${fh.url}?cursor=0`);
    await Promise.all([c.opened, f.opened]);
    await toolSeq(path.join(dir, 'sequencer.sqlite'), ['--count', '3']);
    await until('3 events', () => c.count === 3 && f.frames.length === 3);
    assert.deepEqual(c.messages.map(seqOf), [1, 2, 3]);
    assert.deepEqual(seqs(f), [1, 2, 3]);
    c.destroy();
    f.ws.close();
  });

  test('OutdatedCursor: #info, then the oldest event inside the window', async () => {
    const dir = mkdir('old');
    const db = path.join(dir, 'sequencer.sqlite');
    await toolSeq(db, ['--count', '5', '--age-ms', String(2 * DAY)]);
    await toolSeq(db, ['--count', '3']);
    const fh = await start({ dataDir: dir });
    const info = Buffer.from(MessageFrame.fromLexValue({ $type: '#info', name: 'OutdatedCursor',
      message: 'Requested cursor exceeded limit. Possibly missing events' }, NSID).toBytes());
    for (const [cur, wantInfo] of [[0, true], [2, true], [5, false]]) {
      const c = rawSubscribe({ port: fh.port, query: `?cursor=${cur}`, keep: true });
      await c.opened;
      await until('messages', () => c.count === (wantInfo ? 4 : 3));
      await sleep(30);
      c.destroy();
      assert.equal(c.messages[0].equals(info), wantInfo, `cursor ${cur}`);
      assert.deepEqual(c.messages.slice(wantInfo ? 1 : 0).map(seqOf), [6, 7, 8]);
    }
    // Nothing inside the window: #info, then live only.
    const dir2 = mkdir('allold');
    const db2 = path.join(dir2, 'sequencer.sqlite');
    await toolSeq(db2, ['--count', '4', '--age-ms', String(3 * DAY)]);
    const fh2 = await start({ dataDir: dir2 });
    const c = rawSubscribe({ port: fh2.port, query: '?cursor=1', keep: true });
    await c.opened;
    await until('#info', () => c.count === 1);
    await toolSeq(db2, ['--count', '1']);
    await until('the live event', () => c.count === 2);
    assert.ok(c.messages[0].equals(info));
    assert.equal(seqOf(c.messages[1]), 5);
    c.destroy();
  });

  test('restart in the middle of a write load loses nothing', async () => {
    const dir = mkdir('restart');
    const db = path.join(dir, 'sequencer.sqlite');
    await toolSeq(db, ['--count', '0']);
    let fh = await start({ dataDir: dir });
    const port = fh.port;
    const got = [];
    const onMessage = (p) => got.push(seqOf(p));
    const writer = toolSeqBg(db, ['--count', '3000', '--rate', '1500', '--batch', '10']);
    let c = rawSubscribe({ port, query: '?cursor=0', onMessage });
    await c.opened;
    await until('some events', () => got.length > 300);
    const closing = c.closed;
    const exit = await fh.stop('SIGTERM');
    assert.equal(exit.code, 0);
    const { code } = await closing;
    assert.equal(code, 1001, 'SIGTERM closes subscribers with 1001');
    assert.match(fh.log(), /end="server shutting down"/);
    await sleep(200);			// writes go on with no daemon
    fh = await start({ dataDir: dir, port });
    c = rawSubscribe({ port, query: `?cursor=${got.at(-1)}`, onMessage });
    await c.opened;
    await writer.done;
    await until('all 3000', () => got.length >= 3000);
    await sleep(50);
    c.destroy();
    assert.deepEqual(got, range(1, 3000));
  });

  test('1,000 subscribers get 10,000 events in order; a stalled one is cut', async () => {
    const dir = mkdir('load');
    const db = path.join(dir, 'sequencer.sqlite');
    await toolSeq(db, ['--count', '0']);
    const fh = await start({ dataDir: dir, env: { PDS_FIREHOSE_MAX_CONNECTIONS: '1100' } });
    const N = 1000, E = 10000;
    let bad = 0, done = 0;
    const subs = [];
    for (let i = 0; i < N; i++) {
      subs.push(rawSubscribe({ port: fh.port, onMessage: (p, c) => {
        const s = seqOf(p);
        if (s !== c.last + 1 && c.last !== -1) bad++;
        c.last = s;
        if (c.count === E) done++;
      } }));
    }
    const stalled = rawSubscribe({ port: fh.port, keep: false });
    await Promise.all([...subs, stalled].map((c) => c.opened));
    stalled.pause();
    const writer = toolSeqBg(db, ['--count', String(E), '--rate', '1000', '--batch', '10',
      '--type', 'identity']);
    let resumed = false;
    await until('all subscribers done', () => {
      // Let the stalled one read again once it must have been cut, so it
      // can see how it ended.
      if (!resumed && subs[0].count > 7000) { resumed = true; stalled.resume(); }
      return done === N;
    }, 60000);
    await writer.done;
    const mem = memKiB(fh.pid);
    assert.equal(bad, 0, 'every subscriber saw consecutive seqs');
    assert.ok(subs.every((c) => c.count === E && c.errors.length === 0));
    const end = await stalled.closed;
    assert.ok(stalled.count < E, `stalled subscriber got ${stalled.count}`);
    await until('the ConsumerTooSlow log line', () => /end="ConsumerTooSlow"/.test(fh.log()));
    assert.ok(end.code === 1008 || end.code === 1006, `stalled close ${end.code}`);
    if (end.clean) assert.equal(end.reason, 'ConsumerTooSlow');
    for (const c of subs) c.destroy();
    // Memory: the daemon shares each frame among all queues.
    console.log(`# 1000 subscribers x 10000 events: VmHWM ${mem.hwm} KiB, `
      + `stalled got ${stalled.count}, ended ${end.code} ${stalled.errors}`
      + (process.env.FH_DEBUG ? fh.log().split('\n').filter((l) => /TooSlow/.test(l)).join('\n') : ''));
    if (!isSanitized(fh.pid)) assert.ok(mem.hwm < 32 * 1024, `VmHWM ${mem.hwm} KiB`);
  });

  test('requestCrawl: at start, at most once per 20 minutes, never blocking', async () => {
    const hits = [];
    const relay = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => { body += d; });
      req.on('end', () => {
        hits.push({ method: req.method, url: req.url, type: req.headers['content-type'], body });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    // A relay that accepts and never answers.
    const stuck = http.createServer(() => {});
    await new Promise((r) => relay.listen(0, '127.0.0.1', r));
    await new Promise((r) => stuck.listen(0, '127.0.0.1', r));
    try {
      const dir = mkdir('crawl');
      const db = path.join(dir, 'sequencer.sqlite');
      await toolSeq(db, ['--count', '0']);
      const fh = await start({ dataDir: dir, env: { PDS_HOSTNAME: 'pds.example.com',
        PDS_CRAWLERS: `http://127.0.0.1:${stuck.address().port},http://127.0.0.1:${relay.address().port}/` } });
      await until('the start-up requestCrawl', () => hits.length === 1);
      assert.deepEqual(hits[0], { method: 'POST', url: '/xrpc/com.atproto.sync.requestCrawl',
        type: 'application/json', body: '{"hostname":"pds.example.com"}' });
      const c = rawSubscribe({ port: fh.port, keep: true });
      await c.opened;
      const t0 = Date.now();
      await toolSeq(db, ['--count', '5']);
      await until('events while a crawler hangs', () => c.count === 5);
      assert.ok(Date.now() - t0 < 1000);
      await sleep(200);
      assert.equal(hits.length, 1, 'not again within 20 minutes');
      c.destroy();
    } finally {
      stuck.closeAllConnections();
      relay.close();
      stuck.close();
    }
  });

  test('idle: no CPU to speak of', async () => {
    const dir = mkdir('idle');
    const db = path.join(dir, 'sequencer.sqlite');
    await toolSeq(db, ['--count', '10']);
    const fh = await start({ dataDir: dir });
    const subs = Array.from({ length: 20 }, () => rawSubscribe({ port: fh.port }));
    await Promise.all(subs.map((c) => c.opened));
    const ticks = () => {
      const f = fs.readFileSync(`/proc/${fh.pid}/stat`, 'utf8');
      const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
      return Number(rest[11]) + Number(rest[12]);	// utime + stime
    };
    const before_ = ticks();
    await sleep(2000);
    const used = ticks() - before_;
    for (const c of subs) c.destroy();
    assert.ok(used <= 2, `${used} clock ticks in 2 s idle`);
  });

  test('behind caddy and lighttpd (the shipped firehose stanzas)', async (t) => {
    const dir = mkdir('proxies');
    const db = path.join(dir, 'sequencer.sqlite');
    await toolSeq(db, ['--count', '5']);
    const fh = await start({ dataDir: dir });
    const proxies = [];
    if (isExecutable('/usr/bin/caddy')) {
      const port = await freePort();
      const conf = path.join(dir, 'Caddyfile');
      fs.writeFileSync(conf, `{\n\tadmin off\n\tauto_https off\n}\nhttp://127.0.0.1:${port} {\n`
        + '\t@firehose path /xrpc/com.atproto.sync.subscribeRepos\n\thandle @firehose {\n'
        + `\t\treverse_proxy 127.0.0.1:${fh.port} {\n\t\t\tflush_interval -1\n\t\t}\n\t}\n}\n`);
      proxies.push({ name: 'caddy', port, proc: spawn('/usr/bin/caddy', ['run', '--config', conf,
        '--adapter', 'caddyfile'], { stdio: 'ignore', detached: true,
        env: { PATH: process.env.PATH, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir } }) });
    }
    if (isExecutable('/usr/sbin/lighttpd')) {
      const port = await freePort();
      const conf = path.join(dir, 'lighttpd.conf');
      fs.writeFileSync(conf, 'server.modules = ( "mod_proxy" )\n'
        + `server.port = ${port}\nserver.bind = "127.0.0.1"\nserver.document-root = "${dir}"\n`
        + '$HTTP["url"] == "/xrpc/com.atproto.sync.subscribeRepos" {\n'
        + `\tproxy.server = ( "" => (( "host" => "127.0.0.1", "port" => ${fh.port} )))\n`
        + '\tproxy.header = ( "upgrade" => "enable" )\n'
        + '\tproxy.forwarded = ( "for" => 1, "proto" => 1 )\n}\n');
      proxies.push({ name: 'lighttpd', port, proc: spawn('/usr/sbin/lighttpd', ['-D', '-f', conf],
        { stdio: 'ignore', detached: true }) });
    }
    if (proxies.length === 0) return t.skip('neither caddy nor lighttpd');
    try {
      let n = 5;
      for (const p of proxies) {
        await until(p.name, async () => (await rawExchange(p.port, 'GET / HTTP/1.0\r\n\r\n',
          { timeoutMs: 200 })).data.length > 0);
        const c = wsSubscribe(`ws://127.0.0.1:${p.port}/xrpc/com.atproto.sync.subscribeRepos?cursor=0`);
        await c.opened;
        await toolSeq(db, ['--count', '2']);
        n += 2;
        await until(`${n} events through ${p.name}`, () => c.frames.length === n);
        assert.deepEqual(seqs(c), range(1, n), p.name);
        c.ws.close();
        const { code } = await c.closed;
        assert.equal(code, 1005, `${p.name}: clean close`);
      }
      await until('log lines', () => (fh.log().match(/client=127\.0\.0\.1 cursor=0/g) ?? []).length
        === proxies.length);
    } finally {
      for (const p of proxies) { try { process.kill(-p.proc.pid, 'SIGTERM'); } catch { /* gone */ } }
    }
  });

  test('connection limit: one over PDS_FIREHOSE_MAX_CONNECTIONS gets a 503', async () => {
    const dir = mkdir('limit');
    await toolSeq(path.join(dir, 'sequencer.sqlite'), ['--count', '1']);
    const fh = await start({ dataDir: dir, env: { PDS_FIREHOSE_MAX_CONNECTIONS: '5' } });
    await sleep(100);		// start()'s readiness probe counts until it is seen gone
    const subs = Array.from({ length: 5 }, () => rawSubscribe({ port: fh.port }));
    await Promise.all(subs.map((c) => c.opened));
    const r = await rawExchange(fh.port, 'GET /_health HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.match(r.data.toString(), /^HTTP\/1\.1 503 Service Unavailable\r\n/);
    subs[0].close();
    await subs[0].closed;
    await sleep(50);
    const again = rawSubscribe({ port: fh.port });
    await again.opened;
    for (const c of [...subs, again]) c.destroy();
  });

  test('behind nginx with the shipped location rules', { skip: !isExecutable(NGINX) && 'no nginx' }, async () => {
    const dir = mkdir('nginx');
    const db = path.join(dir, 'sequencer.sqlite');
    await toolSeq(db, ['--count', '20']);
    const fh = await start({ dataDir: dir });
    const port = await freePort();
    const prefix = path.join(dir, 'ngx');
    fs.mkdirSync(path.join(prefix, 'tmp'), { recursive: true });
    fs.writeFileSync(path.join(prefix, 'nginx.conf'), nginxConf({ prefix,
      listen: `127.0.0.1:${port}`, fcgiSocket: path.join(dir, 'none.sock'),
      firehoseAddr: `127.0.0.1:${fh.port}`, blobDir: path.join(dir, 'blocks') }));
    const ngx = spawn(NGINX, ['-p', `${prefix}/`, '-c', path.join(prefix, 'nginx.conf'),
      '-e', path.join(prefix, 'error.log')], { stdio: 'ignore', detached: true });
    try {
      await until('nginx', async () => {
        try { return (await rawExchange(port, 'GET /robots.txt HTTP/1.0\r\n\r\n', { timeoutMs: 200 })).data.length > 0; } catch { return false; }
      });
      const c = wsSubscribe(`ws://127.0.0.1:${port}/xrpc/com.atproto.sync.subscribeRepos?cursor=10`);
      await c.opened;
      await toolSeq(db, ['--count', '5']);
      await until('15 events through nginx', () => c.frames.length === 15);
      assert.deepEqual(seqs(c), range(11, 25));
      const ref = referenceFrames(db);
      assert.ok(c.raw.every((b, i) => ref.get(c.frames[i].body.seq).equals(b)));
      c.ws.close();
      await c.closed;
      await until('the log line', () => /client=127\.0\.0\.1 cursor=10 events=15/.test(fh.log()));
    } finally {
      try { process.kill(-ngx.pid, 'SIGTERM'); } catch { /* gone */ }
    }
  });
});
