// fcgi.mjs: a small FastCGI (1.0) client and responder for the tests.
//
// The client talks to pds-fcgi's socket directly, below nginx, so a test can
// hold a request open inside a worker (trickle its body) or look at exactly
// what a worker wrote.  The responder stands in for pds-fcgi where a test
// checks only the web server configuration (conf/), so those tests do not
// depend on the PDS itself.  Spec: the FastCGI Specification 1.0 (Open
// Market, 1996), sections 3 (records, name-value pairs) and 5-6 (roles).

import net from 'node:net';

const VERSION = 1;
export const T = {
  BEGIN_REQUEST: 1, ABORT_REQUEST: 2, END_REQUEST: 3, PARAMS: 4, STDIN: 5,
  STDOUT: 6, STDERR: 7, DATA: 8, GET_VALUES: 9, GET_VALUES_RESULT: 10,
  UNKNOWN_TYPE: 11,
};
const ROLE_RESPONDER = 1;
const MAX_CONTENT = 65535;

function record(type, id, content = Buffer.alloc(0)) {
  const pad = (8 - (content.length % 8)) % 8;
  const h = Buffer.alloc(8);
  h.writeUInt8(VERSION, 0);
  h.writeUInt8(type, 1);
  h.writeUInt16BE(id, 2);
  h.writeUInt16BE(content.length, 4);
  h.writeUInt8(pad, 6);
  return Buffer.concat([h, content, Buffer.alloc(pad)]);
}

// Splits a stream's bytes into records of at most 64 KiB - 1 each.
function streamRecords(type, id, data) {
  const out = [];
  for (let off = 0; off < data.length; off += MAX_CONTENT)
    out.push(record(type, id, data.subarray(off, off + MAX_CONTENT)));
  return out;
}

function nvLen(n) {
  if (n < 128) return Buffer.from([n]);
  const b = Buffer.alloc(4);
  b.writeUInt32BE((n | 0x80000000) >>> 0, 0);
  return b;
}

/** Encodes name-value pairs (spec 3.4). */
export function encodeParams(params) {
  const parts = [];
  for (const [k, v] of Object.entries(params)) {
    const kb = Buffer.from(String(k)), vb = Buffer.from(String(v));
    parts.push(nvLen(kb.length), nvLen(vb.length), kb, vb);
  }
  return Buffer.concat(parts);
}

/** Decodes name-value pairs; throws on truncated input. */
export function decodeParams(buf) {
  const out = {};
  let i = 0;
  const len = () => {
    if (i >= buf.length) throw new Error('fcgi: truncated name-value length');
    if (buf[i] < 128) return buf[i++];
    if (i + 4 > buf.length) throw new Error('fcgi: truncated name-value length');
    const n = buf.readUInt32BE(i) & 0x7fffffff;
    i += 4;
    return n;
  };
  while (i < buf.length) {
    const kl = len(), vl = len();
    if (i + kl + vl > buf.length) throw new Error('fcgi: truncated name-value');
    out[buf.toString('latin1', i, i + kl)] = buf.toString('latin1', i + kl, i + kl + vl);
    i += kl + vl;
  }
  return out;
}

// Incremental record reader: feed(chunk) calls onRecord(type, id, content).
function recordReader(onRecord) {
  let acc = Buffer.alloc(0);
  return (chunk) => {
    acc = acc.length ? Buffer.concat([acc, chunk]) : chunk;
    while (acc.length >= 8) {
      if (acc[0] !== VERSION) throw new Error(`fcgi: bad record version ${acc[0]}`);
      const clen = acc.readUInt16BE(4), plen = acc[6];
      if (acc.length < 8 + clen + plen) break;
      onRecord(acc[1], acc.readUInt16BE(2), acc.subarray(8, 8 + clen));
      acc = acc.subarray(8 + clen + plen);
    }
  };
}

/** Parses a CGI-style response (headers, blank line, body) from STDOUT bytes.
 * Returns {status, headers (lower-case names; arrays for repeats), body}. */
export function parseCgiResponse(stdout) {
  let sep = stdout.indexOf('\r\n\r\n'), skip = 4;
  const lf = stdout.indexOf('\n\n');
  if (sep < 0 || (lf >= 0 && lf < sep)) { sep = lf; skip = 2; }
  if (sep < 0) return { status: 0, headers: {}, body: stdout, malformed: true };
  const headers = {};
  for (const line of stdout.toString('latin1', 0, sep).split(/\r?\n/)) {
    const c = line.indexOf(':');
    if (c <= 0) return { status: 0, headers, body: stdout, malformed: true };
    const k = line.slice(0, c).trim().toLowerCase(), v = line.slice(c + 1).trim();
    if (k in headers) headers[k] = [].concat(headers[k], v);
    else headers[k] = v;
  }
  const status = headers.status ? parseInt(headers.status, 10) : 200;
  return { status, headers, body: stdout.subarray(sep + skip) };
}

/**
 * Opens one FastCGI request on `socketPath` (a unix socket path, or
 * {host, port}).  Sends BEGIN_REQUEST and the params at once; the body is
 * written by the caller through write()/end(), so a test can trickle it.
 * Returns {write(buf), end(), abort(), destroy(), head, done}: `head`
 * resolves to {status, headers, body} as soon as the response head (and
 * the Content-Length bytes of body, when given) arrived on STDOUT, even if
 * the application has not ended the request; `done` resolves to
 * {complete, status, headers, body, stderr, appStatus, protocolStatus,
 * closedEarly} once END_REQUEST arrives or the connection closes.
 */
export function fcgiOpen(socketPath, params, { id = 1, timeoutMs = 30000 } = {}) {
  const sock = typeof socketPath === 'string'
    ? net.createConnection({ path: socketPath })
    : net.createConnection(socketPath);
  const stdout = [], stderr = [];
  let end = null, headResolve;
  const head = new Promise((resolve) => { headResolve = resolve; });
  const checkHead = () => {
    const r = parseCgiResponse(Buffer.concat(stdout));
    if (r.malformed) return;
    const cl = r.headers['content-length'];
    if (cl === undefined || r.body.length >= Number(cl)) headResolve(r);
  };
  const done = new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`fcgi: no END_REQUEST within ${timeoutMs} ms`));
    }, timeoutMs);
    const feed = recordReader((type, rid, content) => {
      if (rid !== id) return;
      if (type === T.STDOUT) { stdout.push(Buffer.from(content)); checkHead(); }
      else if (type === T.STDERR) stderr.push(Buffer.from(content));
      else if (type === T.END_REQUEST)
        end = { appStatus: content.readUInt32BE(0), protocolStatus: content[4] };
    });
    sock.on('data', (c) => { try { feed(c); } catch (e) { sock.destroy(e); } });
    sock.on('error', () => {});
    sock.on('close', () => {
      clearTimeout(timer);
      const out = Buffer.concat(stdout);
      const r = end ? parseCgiResponse(out) : { status: 0, headers: {}, body: out };
      headResolve(r);
      resolve({
        ...r, complete: !!end && !r.malformed, closedEarly: !end,
        stderr: Buffer.concat(stderr).toString(), ...(end || {}),
      });
    });
  });
  const begin = Buffer.alloc(8);
  begin.writeUInt16BE(ROLE_RESPONDER, 0);
  sock.write(Buffer.concat([
    record(T.BEGIN_REQUEST, id, begin),
    ...streamRecords(T.PARAMS, id, encodeParams(params)),
    record(T.PARAMS, id),
  ]));
  return {
    write(buf) {
      for (const r of streamRecords(T.STDIN, id, Buffer.from(buf))) sock.write(r);
    },
    end() { sock.write(record(T.STDIN, id)); },
    abort() { sock.write(record(T.ABORT_REQUEST, id)); },
    destroy() { sock.destroy(); },
    head,
    done,
  };
}

/** One whole request: params, then the body (Buffer or string), then waits. */
export async function fcgiRequest(socketPath, params, body = '', opts = {}) {
  const b = Buffer.from(body);
  const p = { CONTENT_LENGTH: String(b.length), ...params };
  if (!b.length && !params.CONTENT_LENGTH) delete p.CONTENT_LENGTH;
  const req = fcgiOpen(socketPath, p, opts);
  if (b.length) req.write(b);
  req.end();
  return req.done;
}

/** The params nginx's shipped pds-locations.conf sends, for a path. */
export function cgiParams(method, uri, extra = {}) {
  const q = uri.indexOf('?');
  const path = q < 0 ? uri : uri.slice(0, q);
  return {
    QUERY_STRING: q < 0 ? '' : uri.slice(q + 1),
    REQUEST_METHOD: method,
    CONTENT_TYPE: '',
    CONTENT_LENGTH: '',
    SCRIPT_NAME: path,
    REQUEST_URI: uri,
    DOCUMENT_URI: path,
    SERVER_PROTOCOL: 'HTTP/1.1',
    REQUEST_SCHEME: 'http',
    GATEWAY_INTERFACE: 'CGI/1.1',
    SERVER_SOFTWARE: 'fcgi.mjs',
    REMOTE_ADDR: '127.0.0.1',
    REMOTE_PORT: '40000',
    SERVER_ADDR: '127.0.0.1',
    SERVER_PORT: '80',
    SERVER_NAME: 'localhost',
    HTTP_HOST: 'localhost',
    ...extra,
  };
}

/**
 * A FastCGI responder on a unix socket: handler({params, body}) returns
 * {status, headers, body} (or a promise of it).  Records every request in
 * `requests`.  close() stops it.  For testing web-server configuration only.
 */
export async function startFcgiResponder(socketPath, handler) {
  const requests = [];
  const server = net.createServer((sock) => {
    const reqs = new Map();
    sock.on('error', () => {});
    const feed = recordReader((type, id, content) => {
      if (type === T.BEGIN_REQUEST) {
        reqs.set(id, { params: [], stdin: [], keep: !!(content[2] & 1) });
        return;
      }
      const r = reqs.get(id);
      if (!r) return;
      if (type === T.PARAMS) {
        if (content.length) r.params.push(Buffer.from(content));
        else r.paramsDone = true;
      } else if (type === T.STDIN) {
        if (content.length) r.stdin.push(Buffer.from(content));
        else respond(id, r);
      }
    });
    async function respond(id, r) {
      const req = { params: decodeParams(Buffer.concat(r.params)),
        body: Buffer.concat(r.stdin) };
      requests.push(req);
      let res;
      try { res = await handler(req); } catch (e) {
        res = { status: 500, headers: {}, body: String(e) };
      }
      const head = [`Status: ${res.status || 200}`];
      for (const [k, v] of Object.entries(res.headers || {}))
        for (const one of [].concat(v)) head.push(`${k}: ${one}`);
      const out = Buffer.concat([Buffer.from(head.join('\r\n') + '\r\n\r\n'),
        Buffer.from(res.body || '')]);
      const endBody = Buffer.alloc(8);
      if (sock.destroyed) return;
      sock.write(Buffer.concat([...streamRecords(T.STDOUT, id, out),
        record(T.STDOUT, id), record(T.END_REQUEST, id, endBody)]));
      reqs.delete(id);
      if (!r.keep) sock.end();
    }
    sock.on('data', (c) => { try { feed(c); } catch { sock.destroy(); } });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, resolve);
  });
  return {
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
