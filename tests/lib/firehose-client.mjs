// firehose-client.mjs: helpers for the pds-firehose tests and benchmark.
//
//  - startFirehose(): runs pds-firehose on a free loopback port against a
//    data directory (its own process group; stop() sends SIGTERM).
//  - toolSeq(): runs tests/lib/tool_seq (writes events through seqdb).
//  - rawSubscribe(): a deliberately small WebSocket client over a plain
//    TCP socket.  It checks the server side strictly (101 and the accept
//    key, FIN set, no RSV bits, unmasked, minimal lengths, binary/close
//    frames only) and is cheap enough to run 1,000 of in one Node process.
//    The `ws` package is used for the scenarios where an independent,
//    standard client matters (tests/integration/firehose.test.mjs).
//  - seqOf(): the seq of a message payload without a full decode.

import { execFile, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { binDir, freePort } from './stack.mjs';

export const FH_BIN = path.join(binDir, 'firehose/pds-firehose');
export const TOOL_SEQ = path.join(binDir, 'tests/lib/tool_seq');
export const REPOS_PATH = '/xrpc/com.atproto.sync.subscribeRepos';
const execFileP = promisify(execFile);
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Runs tool_seq; returns {first, last} (or the printed text). */
export async function toolSeq(db, args = []) {
  const { stdout } = await execFileP(TOOL_SEQ, [db, ...args], { maxBuffer: 64 << 20 });
  const m = /first (\d+) last (\d+)/.exec(stdout);
  return m ? { first: Number(m[1]), last: Number(m[2]), stdout } : { stdout };
}

/** Spawns tool_seq without waiting (for write loads); resolves .done. */
export function toolSeqBg(db, args = []) {
  const child = spawn(TOOL_SEQ, [db, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.done = new Promise((resolve, reject) => {
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`tool_seq exit ${code}`))));
  });
  return child;
}

function connects(port) {
  return new Promise((resolve) => {
    const s = net.createConnection({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

/**
 * Starts pds-firehose.  opts: dataDir (required), port (default: free),
 * env (extra variables).  Returns {port, pid, url, log(), stop(sig),
 * exited}.
 */
export async function startFirehose({ dataDir, port, env = {} }) {
  port ??= await freePort();
  const logFile = path.join(dataDir, `firehose-${port}.log`);
  const out = fs.openSync(logFile, 'a');
  const child = spawn(FH_BIN, ['--listen', `127.0.0.1:${port}`], {
    detached: true,
    stdio: ['ignore', out, out],
    env: {
      PATH: process.env.PATH,
      PDS_DATA_DIRECTORY: dataDir,
      PDS_BLOBSTORE_DISK_LOCATION: path.join(dataDir, 'blocks'),
      PDS_HOSTNAME: 'localhost',
      LOG_LEVEL: 'info',
      ...env,
    },
  });
  fs.closeSync(out);
  const fh = { port, pid: child.pid, child, logFile,
    url: `ws://127.0.0.1:${port}${REPOS_PATH}`,
    log: () => { try { return fs.readFileSync(logFile, 'utf8'); } catch { return ''; } } };
  fh.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const kill = () => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } };
  process.once('exit', kill);
  fh.stop = async (sig = 'SIGTERM') => {
    try { process.kill(child.pid, sig); } catch { /* gone */ }
    const t = setTimeout(kill, 10000);
    const st = await fh.exited;
    clearTimeout(t);
    process.off('exit', kill);
    return st;
  };
  const end = Date.now() + 10000;
  while (!(await connects(port))) {
    if (child.exitCode !== null || Date.now() > end) {
      throw new Error(`pds-firehose did not start:\n${fh.log()}`);
    }
    await sleep(20);
  }
  return fh;
}

/** Peak resident set (VmHWM) and current (VmRSS) of pid, in KiB. */
export function memKiB(pid) {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return { hwm: Number(/VmHWM:\s+(\d+)/.exec(s)[1]), rss: Number(/VmRSS:\s+(\d+)/.exec(s)[1]) };
}

/** Whether pid runs with AddressSanitizer (its memory figures differ). */
export function isSanitized(pid) {
  try { return /libasan|libubsan/.test(fs.readFileSync(`/proc/${pid}/maps`, 'utf8')); } catch { return false; }
}

const SEQ_KEY = Buffer.from([0x63, 0x73, 0x65, 0x71]); // text(3) "seq"

/** The seq of a message payload (header + body), read at the "seq" key of
 * the canonical body; -1 when absent. */
export function seqOf(p) {
  const i = p.indexOf(SEQ_KEY);
  if (i < 0) return -1;
  const b = p[i + 4];
  if (b < 0x18) return b;
  if (b === 0x18) return p[i + 5];
  if (b === 0x19) return p.readUInt16BE(i + 5);
  if (b === 0x1a) return p.readUInt32BE(i + 5);
  if (b === 0x1b) return Number(p.readBigUInt64BE(i + 5));
  return -1;
}

/** Builds a masked client frame. */
export function clientFrame(opcode, payload = Buffer.alloc(0), { fin = true, mask = true } = {}) {
  const len = payload.length;
  const head = [(fin ? 0x80 : 0) | opcode];
  const m = mask ? 0x80 : 0;
  if (len < 126) head.push(m | len);
  else if (len < 65536) head.push(m | 126, len >> 8, len & 0xff);
  else {
    head.push(m | 127);
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(len));
    head.push(...b);
  }
  if (!mask) return Buffer.concat([Buffer.from(head), payload]);
  const key = crypto.randomBytes(4);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i] ^= key[i & 3];
  return Buffer.concat([Buffer.from(head), key, body]);
}

/**
 * A raw WebSocket subscriber.  opts: port, query ('' or '?cursor=..'),
 * onMessage(payload, client) for binary messages (payload is a Buffer view,
 * valid during the call), keep (store payload copies in .messages),
 * headers (extra request lines).  The returned client has .opened (a
 * promise), .closed (resolves {code, reason, clean}), .count, .last,
 * .errors (protocol violations seen), pause(), resume(), close(code),
 * send(buf), destroy().
 */
export function rawSubscribe({ port, query = '', onMessage, keep = false, headers = '' }) {
  const key = crypto.randomBytes(16).toString('base64');
  const want = crypto.createHash('sha1')
    .update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
  const s = net.connect(port, '127.0.0.1');
  const c = { socket: s, count: 0, last: -1, errors: [], messages: [], pongs: [], open: false };
  let buf = null, openRes, openRej, closeRes, closeInfo = null;
  c.opened = new Promise((res, rej) => { openRes = res; openRej = rej; });
  c.closed = new Promise((res) => { closeRes = res; });
  c.opened.catch(() => {});
  s.setNoDelay(true);
  s.on('connect', () => s.write(`GET ${REPOS_PATH}${query} HTTP/1.1\r\nHost: 127.0.0.1\r\n`
    + `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\n`
    + `Sec-WebSocket-Version: 13\r\n${headers}\r\n`));
  const violation = (why) => { c.errors.push(why); s.destroy(); };
  s.on('data', (d) => {
    let b = buf ? Buffer.concat([buf, d]) : d;
    let p = 0;
    if (!c.open) {
      const i = b.indexOf('\r\n\r\n');
      if (i < 0) { buf = b; return; }
      const head = b.subarray(0, i).toString('latin1');
      const acc = /\r\nSec-WebSocket-Accept: (\S+)/i.exec(head);
      if (!head.startsWith('HTTP/1.1 101 ') || !acc || acc[1] !== want) {
        c.response = head;
        openRej(new Error(`no upgrade: ${head.split('\r\n')[0]}`));
        s.destroy();
        return;
      }
      c.open = true;
      openRes(c);
      p = i + 4;
    }
    while (b.length - p >= 2) {
      const b0 = b[p], b1 = b[p + 1];
      let len = b1 & 0x7f, hl = 2;
      if (b1 & 0x80) return violation('masked server frame');
      if (len === 126) {
        if (b.length - p < 4) break;
        len = b.readUInt16BE(p + 2); hl = 4;
        if (len < 126) return violation('non-minimal length');
      } else if (len === 127) {
        if (b.length - p < 10) break;
        len = Number(b.readBigUInt64BE(p + 2)); hl = 10;
        if (len < 65536) return violation('non-minimal length');
      }
      if (b.length - p < hl + len) break;
      if ((b0 & 0x70) !== 0 || (b0 & 0x80) === 0) return violation('RSV or fragmented');
      const op = b0 & 0x0f, pl = b.subarray(p + hl, p + hl + len);
      p += hl + len;
      if (op === 2) {
        c.count++;
        if (keep) c.messages.push(Buffer.from(pl));
        onMessage?.(pl, c);
      } else if (op === 8) {
        closeInfo = { code: len >= 2 ? pl.readUInt16BE(0) : 1005,
          reason: len > 2 ? pl.subarray(2).toString('utf8') : '' };
        if (!c.closeSent) s.write(clientFrame(8, pl.subarray(0, 2)));
        c.closeSent = true;
      } else if (op === 10) {
        c.pongs.push(Buffer.from(pl));
      } else return violation(`opcode ${op}`);
    }
    buf = p < b.length ? b.subarray(p) : null;
  });
  s.on('error', () => {});
  s.on('close', () => {
    if (!c.open) openRej(new Error(`closed before upgrade: ${c.response ?? ''}`));
    closeRes({ ...(closeInfo ?? { code: 1006, reason: '' }), clean: closeInfo !== null });
  });
  c.pause = () => s.pause();
  c.resume = () => s.resume();
  c.send = (frame) => s.write(frame);
  c.close = (code = 1000) => {
    const pl = Buffer.alloc(2);
    pl.writeUInt16BE(code);
    c.closeSent = true;
    s.write(clientFrame(8, pl));
  };
  c.destroy = () => s.destroy();
  return c;
}

/** Sends raw bytes on a fresh connection and collects everything until the
 * server closes (or timeoutMs).  Returns {data: Buffer, closed: bool}. */
export function rawExchange(port, bytes, { timeoutMs = 3000, after } = {}) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const parts = [];
    let done = false;
    const finish = (closed) => {
      if (done) return;
      done = true;
      clearTimeout(t);
      s.destroy();
      resolve({ data: Buffer.concat(parts), closed });
    };
    const t = setTimeout(() => finish(false), timeoutMs);
    s.on('connect', () => { for (const b of [].concat(bytes)) s.write(b); after?.(s); });
    s.on('data', (d) => parts.push(d));
    s.on('close', () => finish(true));
    s.on('error', () => {});
  });
}

/** Splits server frames out of raw bytes (after an HTTP head if present). */
export function parseServerFrames(data) {
  let p = 0;
  const i = data.indexOf('\r\n\r\n');
  if (data.subarray(0, 5).toString() === 'HTTP/') p = i + 4;
  const out = [];
  while (data.length - p >= 2) {
    let len = data[p + 1] & 0x7f, hl = 2;
    if (len === 126) { len = data.readUInt16BE(p + 2); hl = 4; }
    else if (len === 127) { len = Number(data.readBigUInt64BE(p + 2)); hl = 10; }
    if (data.length - p < hl + len) break;
    out.push({ fin: !!(data[p] & 0x80), op: data[p] & 0x0f, payload: data.subarray(p + hl, p + hl + len) });
    p += hl + len;
  }
  return out;
}
