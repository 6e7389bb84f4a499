// http.mjs: small HTTP helpers for the integration suites: raw requests
// (with control over how the body is sent), HTTPS with a test certificate,
// a bounded load generator, and a dummy certificate maker.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';

/**
 * One request with node:http(s).  opts: {url, method, headers, body,
 * servername (TLS SNI), timeoutMs}.  Resolves {status, headers, body
 * (Buffer), text, json()} ; rejects on network errors.
 */
export function request(url, opts = {}) {
  const u = new URL(url);
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request({
      host: opts.host ?? u.hostname, port: u.port, path: u.pathname + u.search,
      method: opts.method ?? 'GET', headers: opts.headers ?? {},
      servername: opts.servername, rejectUnauthorized: false, agent: false,
      timeout: opts.timeoutMs ?? 20000,
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode, headers: res.headers, body,
          text: body.toString(), json: () => JSON.parse(body.toString()) });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', reject);
    if (opts.body) req.write(opts.body);
    req.end();
  });
}

/**
 * Sends a request whose body is announced (Content-Length) but held back:
 * after the head, it waits up to `earlyMs` for a response, then writes the
 * body in chunks.  Reports how much of the body had been written when the
 * response head arrived (0: the server answered from the head alone).
 * Resolves {status, headers, body, sentBeforeResponse, totalBytes}.  Write
 * errors after the response are expected (the server may close) and
 * ignored.
 */
export function requestTrickle({ host = '127.0.0.1', port, path: p, method = 'POST',
  headers = {}, totalBytes, chunkBytes = 65536, pauseMs = 0, earlyMs = 1000,
  timeoutMs = 20000 }) {
  return new Promise((resolve, reject) => {
    const sock = net.createConnection({ host, port });
    let sent = 0, sentAtHead = -1, raw = Buffer.alloc(0), done = false;
    const timer = setTimeout(() => finish(new Error('requestTrickle: timeout')), timeoutMs);
    function finish(err) {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) return reject(err);
      const sep = raw.indexOf('\r\n\r\n');
      const head = raw.toString('latin1', 0, sep).split('\r\n');
      const status = Number(head[0].split(' ')[1]);
      const hdrs = {};
      for (const l of head.slice(1)) {
        const c = l.indexOf(':');
        hdrs[l.slice(0, c).toLowerCase()] = l.slice(c + 1).trim();
      }
      let body = raw.subarray(sep + 4);
      if (hdrs['content-length']) body = body.subarray(0, Number(hdrs['content-length']));
      resolve({ status, headers: hdrs, body: body.toString(), sentBeforeResponse: sentAtHead,
        totalBytes });
    }
    sock.on('data', (c) => {
      raw = Buffer.concat([raw, c]);
      const sep = raw.indexOf('\r\n\r\n');
      if (sep >= 0 && sentAtHead < 0) sentAtHead = sent;
      if (sep >= 0) {
        const m = /content-length:\s*(\d+)/i.exec(raw.toString('latin1', 0, sep));
        if (m && raw.length >= sep + 4 + Number(m[1])) finish();
      }
    });
    sock.on('error', () => { if (sentAtHead >= 0) finish(); });
    sock.on('close', () => { if (sentAtHead >= 0) finish(); else finish(new Error('closed before a response')); });
    sock.on('connect', async () => {
      const h = { Host: 'localhost', 'Content-Length': String(totalBytes), ...headers };
      sock.write(`${method} ${p} HTTP/1.1\r\n` +
        Object.entries(h).map(([k, v]) => `${k}: ${v}\r\n`).join('') + '\r\n');
      const early = Date.now() + earlyMs;
      while (!done && sentAtHead < 0 && Date.now() < early) {
        await new Promise((r) => setTimeout(r, 10));
      }
      const chunk = Buffer.alloc(chunkBytes, 0x20);
      while (!done && sent < totalBytes && sentAtHead < 0) {
        const n = Math.min(chunkBytes, totalBytes - sent);
        const ok = sock.write(chunk.subarray(0, n));
        sent += n;
        if (!ok) await new Promise((r) => { sock.once('drain', r); sock.once('close', r); });
        if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
      }
    });
  });
}

/**
 * Bounded load: `total` requests over `concurrency` keep-alive clients.
 * `make(i)` returns {path, method?, headers?, body?}.  Returns
 * {ok, failed, statuses: Map, elapsedMs, results: [{i, status, error,
 * startMs, endMs}]}.  Stops by itself.
 */
export async function load({ port, host = '127.0.0.1', total, concurrency, make,
  onProgress, timeoutMs = 20000 }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const results = [];
  let next = 0;
  const t0 = Date.now();
  async function client() {
    while (next < total) {
      const i = next++;
      const r = make(i);
      const startMs = Date.now() - t0;
      const res = await new Promise((resolve) => {
        const req = http.request({ host, port, path: r.path, method: r.method ?? 'GET',
          headers: r.headers ?? {}, agent, timeout: timeoutMs }, (resp) => {
          const chunks = [];
          resp.on('data', (c) => chunks.push(c));
          resp.on('end', () => resolve({ status: resp.statusCode,
            body: Buffer.concat(chunks).toString() }));
          resp.on('error', (e) => resolve({ status: 0, error: String(e) }));
        });
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', (e) => resolve({ status: 0, error: String(e) }));
        if (r.body) req.write(r.body);
        req.end();
      });
      results.push({ i, ...res, startMs, endMs: Date.now() - t0 });
      if (onProgress) onProgress(results.length, res);
    }
  }
  await Promise.all(Array.from({ length: concurrency }, client));
  agent.destroy();
  const statuses = new Map();
  for (const r of results) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
  const ok = results.filter((r) => r.status === 200).length;
  return { ok, failed: results.length - ok, statuses, elapsedMs: Date.now() - t0, results };
}

/** A self-signed certificate for `names` (first is the CN) in `dir`;
 * returns {cert, key} paths.  Uses the openssl command. */
export function dummyCert(dir, names) {
  const cert = path.join(dir, 'cert.pem'), key = path.join(dir, 'key.pem');
  fs.mkdirSync(dir, { recursive: true });
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt',
    'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '2',
    '-subj', `/CN=${names[0]}`, '-addext',
    `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`], { stdio: 'ignore' });
  return { cert, key };
}
