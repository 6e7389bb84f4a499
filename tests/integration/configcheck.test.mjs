// configcheck.test.mjs: the shipped deployment files (conf/) are valid for
// the real programs and do what they say.  Each web server runs for real on
// loopback ports with the shipped file (only listen addresses, paths and
// certificates replaced, every replacement asserted), in front of a Node
// FastCGI responder (tests/lib/fcgi.mjs) that stands in for pds-fcgi, so
// these tests check the configuration alone.  The systemd units go through
// `systemd-analyze verify`.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket, { WebSocketServer } from 'ws';
import { startFcgiResponder } from '../lib/fcgi.mjs';
import { dummyCert, request, requestTrickle } from '../lib/http.mjs';
import { freePort, LOCATIONS_CONF, NGINX, repoRoot, startStack } from '../lib/stack.mjs';

const conf = (p) => path.join(repoRoot, 'conf', p);
const isRoot = process.getuid() === 0;
const have = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const APEX = 'pds.example.com';
const DID = 'did:plc:abcdefghijklmnopqrstuvwx';
const BLOB = 'bafkreibme22gw2h7y2h7tg2fhqotaqjucnbc24deqo72b6mkl2egezxhvy';
const BLOB_BYTES = Buffer.from('\x89PNG\r\n\x1a\n not really a png');
// The reference's two 413 answers: JSON bodies (body-parser) and binary
// bodies (xrpc-server's stream limit).
const TOO_LARGE_JSON = '{"error":"PayloadTooLargeError","message":"request entity too large"}';
const TOO_LARGE_BLOB = '{"error":"PayloadTooLarge","message":"request entity too large"}';

function replaceOnce(text, from, to, what) {
  const n = text.split(from).length - 1;
  assert.equal(n, 1, `${what}: expected "${from}" exactly once in the shipped file, found ${n}`);
  return text.replace(from, to);
}

/** The stand-in for pds-fcgi.  `sendfile` picks the blob header style. */
function responderFor({ sendfile, blobDir }) {
  return ({ params, body }) => {
    const uri = params.REQUEST_URI || '';
    const p = uri.split('?')[0];
    const q = new URLSearchParams(uri.split('?')[1] || '');
    const json = (status, obj) => ({ status, headers: { 'Content-Type': 'application/json; charset=utf-8' },
      body: JSON.stringify(obj) });
    if (p === '/xrpc/_health') return json(200, { version: 'responder' });
    if (p === '/tls-check') {
      const d = q.get('domain') || '';
      return d === APEX || d.endsWith(`.${APEX}`) ? json(200, { success: true })
        : json(404, { error: 'NotFound', message: 'handle not found' });
    }
    if (p.startsWith('/blob/')) {
      const name = p.slice(6);
      const headers = { 'Content-Type': 'image/png', 'Cache-Control': 'private',
        'Content-Disposition': `attachment; filename="${name}"` };
      if (sendfile === 'lighttpd') headers['X-Sendfile'] = path.join(blobDir, DID, name);
      else headers['X-Accel-Redirect'] = `/_pds_blobs/${DID}/${name}`;
      return { status: 200, headers, body: '' };
    }
    return json(200, { params, bodyLength: body.length });
  };
}

function writeBlob(blobDir) {
  fs.mkdirSync(path.join(blobDir, DID), { recursive: true });
  fs.writeFileSync(path.join(blobDir, DID, BLOB), BLOB_BYTES);
}

async function startWsEcho(port) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port });
  wss.on('connection', (ws, req) => {
    ws.send(JSON.stringify({ path: req.url, xff: req.headers['x-forwarded-for'] ?? null }));
  });
  await new Promise((r) => wss.once('listening', r));
  return wss;
}

function wsFirstMessage(url, opts = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { rejectUnauthorized: false, ...opts });
    const t = setTimeout(() => { ws.terminate(); reject(new Error('ws: no message')); }, 10000);
    ws.once('message', (m) => { clearTimeout(t); ws.close(); resolve(JSON.parse(m.toString())); });
    ws.once('error', (e) => { clearTimeout(t); reject(e); });
  });
}

async function waitPort(port, child, what) {
  const net = await import('node:net');
  const end = Date.now() + 10000;
  while (Date.now() < end) {
    if (child.exitCode !== null) throw new Error(`${what} exited: ${child.exitCode}`);
    const ok = await new Promise((r) => {
      const s = net.createConnection({ host: '127.0.0.1', port });
      s.once('connect', () => { s.destroy(); r(true); });
      s.once('error', () => r(false));
    });
    if (ok) return;
    await sleep(25);
  }
  throw new Error(`${what}: port ${port} never opened`);
}

async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 5000);
  await done;
  clearTimeout(t);
}

// ---- nginx: the shipped location rules, through the test harness ---------

describe('nginx: pds-locations.conf (harness)', () => {
  let stack, wss;
  before(async () => {
    const fh = await freePort();
    stack = await startStack({ env: { PDS_FIREHOSE_LISTEN: `127.0.0.1:${fh}` },
      fcgiResponder: (req) => responderFor({ sendfile: 'nginx' })(req) });
    wss = await startWsEcho(fh);
    writeBlob(stack.env.PDS_BLOBSTORE_DISK_LOCATION);
  });
  after(async () => { wss?.close(); await stack?.stop(); });

  test('passes the request to FastCGI with the CGI parameters', async () => {
    const r = await request(`${stack.url}/xrpc/com.atproto.repo.describeRepo?repo=a%20b&x=1`,
      { headers: { Proxy: 'http://evil.example', 'X-Test': 'yes' } });
    assert.equal(r.status, 200);
    const { params } = r.json();
    assert.equal(params.REQUEST_METHOD, 'GET');
    assert.equal(params.REQUEST_URI, '/xrpc/com.atproto.repo.describeRepo?repo=a%20b&x=1');
    assert.equal(params.DOCUMENT_URI, '/xrpc/com.atproto.repo.describeRepo');
    assert.equal(params.QUERY_STRING, 'repo=a%20b&x=1');
    assert.equal(params.HTTP_HOST, 'localhost');
    assert.equal(params.REMOTE_ADDR, '127.0.0.1');
    assert.equal(params.HTTP_X_TEST, 'yes');
    assert.ok(!params.HTTP_PROXY, 'httpoxy: the Proxy header must not reach the worker');
  });

  test('sends blobs from disk on X-Accel-Redirect, with the getBlob headers', async () => {
    const r = await request(`${stack.url}/blob/${BLOB}`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, BLOB_BYTES);
    assert.equal(r.headers['content-type'], 'image/png');
    assert.equal(r.headers['content-length'], String(BLOB_BYTES.length));
    assert.equal(r.headers['content-disposition'], `attachment; filename="${BLOB}"`);
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    assert.equal(r.headers['content-security-policy'], "default-src 'none'; sandbox");
    assert.equal(r.headers['cache-control'], 'private');
  });

  test('a missing blob file is the reference getBlob error, and the blob location is internal', async () => {
    const r = await request(`${stack.url}/blob/bafkreinotthere`);
    assert.equal(r.status, 400);
    assert.equal(r.text, '{"error":"BlobNotFound","message":"Blob not found"}');
    const direct = await request(`${stack.url}/_pds_blobs/${DID}/${BLOB}`);
    assert.notEqual(direct.status, 200);
    assert.notDeepEqual(direct.body, BLOB_BYTES);
  });

  test('a JSON endpoint refuses a 10 MB body with XRPC JSON before reading it', async () => {
    const before = stack.responder.requests.length;
    const r = await requestTrickle({ port: stack.port, path: '/xrpc/com.atproto.server.createSession',
      headers: { 'Content-Type': 'application/json' }, totalBytes: 10 * 1024 * 1024 });
    assert.equal(r.status, 413);
    assert.equal(r.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(r.body, TOO_LARGE_JSON);
    assert.equal(r.sentBeforeResponse, 0, 'answered from the request head alone');
    assert.equal(stack.responder.requests.length, before, 'the worker never saw it');
  });

  test('a chunked body over the JSON limit is refused too', async () => {
    const r = await request(`${stack.url}/xrpc/com.atproto.repo.createRecord`, {
      method: 'POST', headers: { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' },
      body: Buffer.alloc(1000001, 0x20) });
    assert.equal(r.status, 413);
    assert.equal(r.text, TOO_LARGE_JSON);
  });

  test('uploadBlob takes bodies up to the blob limit and no more', async () => {
    const ok = await request(`${stack.url}/xrpc/com.atproto.repo.uploadBlob`, {
      method: 'POST', headers: { 'Content-Type': 'image/png' }, body: Buffer.alloc(2 << 20, 1) });
    assert.equal(ok.status, 200);
    assert.equal(ok.json().bodyLength, 2 << 20);
    const big = await requestTrickle({ port: stack.port, path: '/xrpc/com.atproto.repo.uploadBlob',
      headers: { 'Content-Type': 'image/png' }, totalBytes: 5242881 });
    assert.equal(big.status, 413);
    assert.equal(big.body, TOO_LARGE_BLOB);
  });

  test('proxies the firehose WebSocket to pds_firehose', async () => {
    const m = await wsFirstMessage(`ws://localhost:${stack.port}/xrpc/com.atproto.sync.subscribeRepos?cursor=5`);
    assert.equal(m.path, '/xrpc/com.atproto.sync.subscribeRepos?cursor=5');
    assert.equal(m.xff, '127.0.0.1');
  });

  test('nginx answers 502 as XRPC JSON when pds-fcgi is down', async () => {
    await stack.responder.close();
    const r = await request(`${stack.url}/xrpc/_health`);
    assert.equal(r.status, 502);
    assert.equal(r.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(r.text, '{"error":"UpstreamFailure","message":"Upstream Failure"}');
  });

  test('nginx answers malformed HTTP with XRPC JSON', async () => {
    const net = await import('node:net');
    const raw = await new Promise((resolve) => {
      const s = net.createConnection({ host: '127.0.0.1', port: stack.port });
      let out = '';
      s.on('data', (c) => { out += c; });
      s.on('close', () => resolve(out));
      s.on('error', () => resolve(out));
      s.write('GET /xrpc/_health HTTP/1.1\r\nHost: localhost\r\nContent-Length: x\r\n\r\n');
    });
    assert.match(raw, /^HTTP\/1\.1 400 /);
    assert.match(raw, /\{"error":"InvalidRequest","message":"Invalid Request"\}/);
  });
});

// ---- nginx: the shipped server block -------------------------------------

describe('nginx: pds.conf', () => {
  let dir, child, ports, responder;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pds-ngx-'));
    ports = { http: await freePort(), https: await freePort(), fh: await freePort() };
    const { cert, key } = dummyCert(path.join(dir, 'tls'), [APEX, `*.${APEX}`]);
    fs.mkdirSync(path.join(dir, 'blocks'));
    let t = fs.readFileSync(conf('nginx/pds.conf'), 'utf8');
    t = replaceOnce(t, 'server unix:/run/pds/fcgi.sock;', `server unix:${dir}/fcgi.sock;`, 'socket');
    t = replaceOnce(t, 'server 127.0.0.1:2584;', `server 127.0.0.1:${ports.fh};`, 'firehose');
    t = replaceOnce(t, '    listen 80;\n', `    listen 127.0.0.1:${ports.http};\n`, 'listen 80');
    t = replaceOnce(t, '    listen [::]:80;\n', '', 'listen [::]:80');
    t = replaceOnce(t, '    listen 443 ssl http2;\n', `    listen 127.0.0.1:${ports.https} ssl http2;\n`, 'listen 443');
    t = replaceOnce(t, '    listen [::]:443 ssl http2;\n', '', 'listen [::]:443');
    t = replaceOnce(t, `/etc/letsencrypt/live/${APEX}/fullchain.pem`, cert, 'cert');
    t = replaceOnce(t, `/etc/letsencrypt/live/${APEX}/privkey.pem`, key, 'key');
    t = replaceOnce(t, '/var/log/nginx/pds.access.log', `${dir}/access.log`, 'access log');
    t = replaceOnce(t, '/var/log/nginx/pds.error.log', `${dir}/error.log`, 'error log');
    t = replaceOnce(t, 'set $pds_blob_dir /pds/blocks;', `set $pds_blob_dir ${dir}/blocks;`, 'blob dir');
    t = replaceOnce(t, 'include snippets/pds-locations.conf;', `include ${LOCATIONS_CONF};`, 'include');
    fs.writeFileSync(path.join(dir, 'pds.conf'), t);
    fs.writeFileSync(path.join(dir, 'nginx.conf'), `${isRoot ? 'user root root;\n' : ''}daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events {}
http {
    client_body_temp_path ${dir}/body;
    fastcgi_temp_path ${dir}/fastcgi;
    proxy_temp_path ${dir}/proxy;
    uwsgi_temp_path ${dir}/uwsgi;
    scgi_temp_path ${dir}/scgi;
    include ${dir}/pds.conf;
}
`);
    writeBlob(path.join(dir, 'blocks'));
    responder = await startFcgiResponder(path.join(dir, 'fcgi.sock'),
      responderFor({ sendfile: 'nginx' }));
  });
  after(async () => {
    if (child) await stopChild(child);
    await responder?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('nginx -t accepts it', () => {
    const r = spawnSync(NGINX, ['-t', '-p', `${dir}/`, '-c', `${dir}/nginx.conf`, '-e', `${dir}/error.log`],
      { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /syntax is ok/);
  });

  test('serves the apex and handle subdomains over TLS, redirects plain HTTP', async () => {
    const { spawn } = await import('node:child_process');
    child = spawn(NGINX, ['-p', `${dir}/`, '-c', `${dir}/nginx.conf`, '-e', `${dir}/error.log`],
      { stdio: 'ignore' });
    await waitPort(ports.https, child, 'nginx');
    const redirect = await request(`http://127.0.0.1:${ports.http}/xrpc/_health?x=1`,
      { headers: { Host: `alice.${APEX}` } });
    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers.location, `https://alice.${APEX}/xrpc/_health?x=1`);
    const acme = await request(`http://127.0.0.1:${ports.http}/.well-known/acme-challenge/none`,
      { headers: { Host: APEX } });
    assert.equal(acme.status, 404, 'ACME HTTP-01 challenges are not redirected');
    for (const host of [APEX, `alice.${APEX}`]) {
      const r = await request(`https://127.0.0.1:${ports.https}/.well-known/atproto-did`,
        { servername: host, headers: { Host: host } });
      assert.equal(r.status, 200);
      const { params } = r.json();
      assert.equal(params.HTTP_HOST, host);
      assert.equal(params.HTTPS, 'on');
      assert.equal(params.REQUEST_SCHEME, 'https');
      assert.match(r.headers['strict-transport-security'], /max-age=/);
    }
    const blob = await request(`https://127.0.0.1:${ports.https}/blob/${BLOB}`,
      { servername: APEX, headers: { Host: APEX } });
    assert.equal(blob.status, 200);
    assert.deepEqual(blob.body, BLOB_BYTES);
  });
});

// ---- Caddy -------------------------------------------------------------

describe('caddy: Caddyfile', { skip: !have('caddy') && 'caddy not installed' }, () => {
  let dir, child, ports, responder, wss, env;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pds-caddy-'));
    ports = { http: await freePort(), https: await freePort(), ask: await freePort(),
      fh: await freePort() };
    env = { PATH: process.env.PATH, HOME: dir, XDG_DATA_HOME: `${dir}/data`,
      XDG_CONFIG_HOME: `${dir}/config`, PDS_HOSTNAME: APEX, PDS_ADMIN_EMAIL: 'admin@example.com',
      PDS_FCGI_SOCKET: `${dir}/fcgi.sock`, PDS_FIREHOSE_LISTEN: `127.0.0.1:${ports.fh}`,
      PDS_BLOBSTORE_DISK_LOCATION: `${dir}/blocks`, PDS_CADDY_TLS_CHECK_PORT: String(ports.ask) };
    writeBlob(`${dir}/blocks`);
    responder = await startFcgiResponder(env.PDS_FCGI_SOCKET, responderFor({ sendfile: 'caddy' }));
    wss = await startWsEcho(ports.fh);
  });
  after(async () => {
    if (child) await stopChild(child);
    wss?.close();
    await responder?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('caddy validate accepts it', () => {
    const r = spawnSync('caddy', ['validate', '--config', conf('caddy/Caddyfile'), '--adapter', 'caddyfile'],
      { env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout + r.stderr, /Valid configuration/);
  });

  test('serves over on-demand TLS after asking /tls-check, FastCGI, blobs, WebSocket, JSON errors', async () => {
    // Test-only global options: loopback ports, Caddy's local CA instead of
    // ACME, no admin endpoint.  The rest of the file runs as shipped.
    let t = fs.readFileSync(conf('caddy/Caddyfile'), 'utf8');
    t = replaceOnce(t, '\n{\n', `\n{\n\tadmin off\n\thttp_port ${ports.http}\n\thttps_port ${ports.https}\n` +
      '\tlocal_certs\n\tskip_install_trust\n\tdefault_bind 127.0.0.1\n', 'global options');
    fs.writeFileSync(`${dir}/Caddyfile`, t);
    const { spawn } = await import('node:child_process');
    child = spawn('caddy', ['run', '--config', `${dir}/Caddyfile`, '--adapter', 'caddyfile'],
      { env, stdio: ['ignore', 'ignore', fs.openSync(`${dir}/caddy.log`, 'w')] });
    await waitPort(ports.https, child, 'caddy');
    const base = `https://127.0.0.1:${ports.https}`;
    const host = `alice.${APEX}`;
    const r = await request(`${base}/xrpc/com.atproto.repo.describeRepo?repo=x`, { servername: host,
      headers: { Host: host } });
    assert.equal(r.status, 200);
    const { params } = r.json();
    assert.equal(params.REQUEST_URI, '/xrpc/com.atproto.repo.describeRepo?repo=x');
    assert.equal(params.QUERY_STRING, 'repo=x');
    assert.equal(params.REQUEST_METHOD, 'GET');
    assert.ok(responder.requests.some((q) => q.params.REQUEST_URI === `/tls-check?domain=${host}`),
      'Caddy asked /tls-check before issuing the certificate');
    const blob = await request(`${base}/blob/${BLOB}`, { servername: host, headers: { Host: host } });
    assert.equal(blob.status, 200);
    assert.deepEqual(blob.body, BLOB_BYTES);
    assert.equal(blob.headers['content-type'], 'image/png');
    assert.equal(blob.headers['x-content-type-options'], 'nosniff');
    assert.equal(blob.headers['content-disposition'], `attachment; filename="${BLOB}"`);
    const gone = await request(`${base}/blob/bafkreinotthere`, { servername: host, headers: { Host: host } });
    assert.equal(gone.status, 400);
    assert.equal(gone.text, '{"error":"BlobNotFound","message":"Blob not found"}');
    const m = await wsFirstMessage(`wss://127.0.0.1:${ports.https}/xrpc/com.atproto.sync.subscribeRepos`,
      { servername: host, headers: { Host: host } });
    assert.equal(m.path, '/xrpc/com.atproto.sync.subscribeRepos');
    const big = await request(`${base}/xrpc/com.atproto.server.createSession`, { method: 'POST',
      servername: host, headers: { Host: host, 'Content-Type': 'application/json' },
      body: Buffer.alloc(1000001, 0x20) });
    assert.equal(big.status, 413);
    assert.equal(big.text, TOO_LARGE_JSON);
    await responder.close();
    responder = null;
    const down = await request(`${base}/xrpc/_health`, { servername: host, headers: { Host: host } });
    assert.equal(down.status, 502);
    assert.equal(down.text, '{"error":"UpstreamFailure","message":"Upstream Failure"}');
  });
});

// ---- lighttpd ----------------------------------------------------------

describe('lighttpd: lighttpd.conf', { skip: !have('lighttpd') && 'lighttpd not installed' }, () => {
  let dir, child, ports, responder, wss, env, confFile;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pds-lighttpd-'));
    ports = { http: await freePort(), https: await freePort(), fh: await freePort() };
    const { cert, key } = dummyCert(`${dir}/tls`, [APEX, `*.${APEX}`]);
    for (const d of ['empty', 'uploads']) fs.mkdirSync(`${dir}/${d}`);
    fs.cpSync(conf('lighttpd/errors'), `${dir}/errors`, { recursive: true });
    env = { PATH: process.env.PATH, PDS_HOSTNAME: APEX, PDS_FCGI_SOCKET: `${dir}/fcgi.sock`,
      PDS_FIREHOSE_HOST: '127.0.0.1', PDS_FIREHOSE_PORT: String(ports.fh),
      PDS_BLOBSTORE_DISK_LOCATION: `${dir}/blocks`, PDS_LIGHTTPD_DIR: dir, PDS_TLS_CERT: cert,
      PDS_TLS_KEY: key, PDS_HTTP_PORT: String(ports.http), PDS_HTTPS_PORT: String(ports.https) };
    writeBlob(`${dir}/blocks`);
    // Loopback only, and no switch to www-data (the temp dir is private).
    let t = fs.readFileSync(conf('lighttpd/lighttpd.conf'), 'utf8');
    t = replaceOnce(t, 'server.bind           = "0.0.0.0"', 'server.bind           = "127.0.0.1"', 'bind');
    t = replaceOnce(t, '$SERVER["socket"] == "[::]:" + env.PDS_HTTP_PORT { }\n', '', 'v6 http');
    t = replaceOnce(t, '$SERVER["socket"] == ":" + env.PDS_HTTPS_PORT {',
      '$SERVER["socket"] == "127.0.0.1:" + env.PDS_HTTPS_PORT {', 'https socket');
    t = t.replace(/\$SERVER\["socket"\] == "\[::\]:" \+ env\.PDS_HTTPS_PORT \{[^}]*\}\n/, '');
    t = replaceOnce(t, 'server.username       = "www-data"\n', '', 'username');
    t = replaceOnce(t, 'server.groupname      = "www-data"\n', '', 'groupname');
    confFile = `${dir}/lighttpd.conf`;
    fs.writeFileSync(confFile, t);
    responder = await startFcgiResponder(env.PDS_FCGI_SOCKET,
      responderFor({ sendfile: 'lighttpd', blobDir: env.PDS_BLOBSTORE_DISK_LOCATION }));
    wss = await startWsEcho(ports.fh);
  });
  after(async () => {
    if (child) await stopChild(child);
    wss?.close();
    await responder?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('lighttpd -tt accepts the shipped file as it is', () => {
    const r = spawnSync('lighttpd', ['-tt', '-f', conf('lighttpd/lighttpd.conf')], { env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /WARNING|unknown config-key/);
  });

  test('serves FastCGI, X-Sendfile blobs, the WebSocket, JSON errors, and redirects to HTTPS', async () => {
    const { spawn } = await import('node:child_process');
    child = spawn('lighttpd', ['-D', '-f', confFile], { env, stdio: 'ignore' });
    await waitPort(ports.https, child, 'lighttpd');
    const host = `alice.${APEX}`;
    const base = `https://127.0.0.1:${ports.https}`;
    const redirect = await request(`http://127.0.0.1:${ports.http}/xrpc/_health?x=1`, { headers: { Host: host } });
    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers.location, `https://${host}/xrpc/_health?x=1`);
    const r = await request(`${base}/xrpc/com.atproto.repo.describeRepo?repo=x`, { servername: host,
      headers: { Host: host } });
    assert.equal(r.status, 200);
    const { params } = r.json();
    assert.equal(params.REQUEST_URI, '/xrpc/com.atproto.repo.describeRepo?repo=x');
    assert.equal(params.QUERY_STRING, 'repo=x');
    assert.equal(params.HTTP_HOST, host);
    const blob = await request(`${base}/blob/${BLOB}`, { servername: host, headers: { Host: host } });
    assert.equal(blob.status, 200);
    assert.deepEqual(blob.body, BLOB_BYTES);
    assert.equal(blob.headers['content-type'], 'image/png');
    const m = await wsFirstMessage(`wss://127.0.0.1:${ports.https}/xrpc/com.atproto.sync.subscribeRepos`,
      { servername: host, headers: { Host: host } });
    assert.equal(m.path, '/xrpc/com.atproto.sync.subscribeRepos');
    const big = await request(`${base}/xrpc/com.atproto.server.createSession`, { method: 'POST',
      servername: host, headers: { Host: host, 'Content-Type': 'application/json' },
      body: Buffer.alloc(1100000, 0x20) });
    assert.equal(big.status, 413);
    assert.equal(big.text, TOO_LARGE_JSON);
    assert.match(big.headers['content-type'], /^application\/json/);
    await responder.close();
    responder = null;
    const down = await request(`${base}/xrpc/_health`, { servername: host, headers: { Host: host } });
    assert.ok([502, 503].includes(down.status), `status ${down.status}`);
    assert.match(down.text, /^\{"error":"(UpstreamFailure|NotEnoughResources)","message":/);
  });
});

// ---- systemd, cron, spawn-fcgi, pds.env ------------------------------------

test('systemd units pass systemd-analyze verify', { skip: !have('systemd-analyze') && 'no systemd-analyze' }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pds-units-'));
  try {
    const units = ['pds-fcgi.socket', 'pds-fcgi.service', 'pds-firehose.service'];
    for (const u of units) {
      // verify also checks that ExecStart exists: point it at a real program.
      const t = fs.readFileSync(conf(`systemd/${u}`), 'utf8')
        .replace(/\/usr\/local\/sbin\/pds-(fcgi|firehose)/g, '/bin/true');
      fs.writeFileSync(path.join(dir, u), t);
    }
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', ...units.map((u) => path.join(dir, u))],
      { encoding: 'utf8', cwd: dir });
    // Containers without a running systemd still parse the units; only
    // parse and sandbox-directive complaints about our files fail the test.
    const ours = (r.stderr || '').split('\n').filter((l) => /pds-(fcgi|firehose)/.test(l));
    assert.deepEqual(ours, [], r.stderr);
    for (const u of ['pds-fcgi.service', 'pds-firehose.service']) {
      const t = fs.readFileSync(conf(`systemd/${u}`), 'utf8');
      for (const d of ['NoNewPrivileges=yes', 'ProtectSystem=strict', 'ReadWritePaths=/pds',
        'PrivateTmp=yes', 'ProtectHome=yes', 'RestrictAddressFamilies=', 'SystemCallArchitectures=native',
        'MemoryDenyWriteExecute=yes']) assert.ok(t.includes(d), `${u}: ${d}`);
    }
  } finally { fs.rmSync(dir, { recursive: true, force: true }); }
});

test('crontab lines have five time fields, a user and a helper', () => {
  const lines = fs.readFileSync(conf('crontab'), 'utf8').split('\n')
    .filter((l) => l.trim() && !l.startsWith('#') && !/^[A-Z]+=/.test(l));
  assert.equal(lines.length, 3);
  for (const [i, name] of ['pds-ddns', 'pds-backup', 'pds-maintain'].entries()) {
    const f = lines[i].split(/\s+/);
    assert.ok(f.length >= 7, lines[i]);
    for (const tf of f.slice(0, 5)) assert.match(tf, /^[0-9*/,-]+$/, lines[i]);
    assert.equal(f[5], 'pds');
    // The command, after any NAME=value assignments.
    const cmd = f.slice(6).find((w) => !/^[A-Z_][A-Z0-9_]*=/.test(w));
    assert.equal(cmd, name, lines[i]);
    assert.match(lines[i], /--env-file \/pds\/pds\.env/);
  }
});

test('spawn-fcgi example is valid sh and uses real spawn-fcgi options', () => {
  const file = conf('spawn-fcgi.example');
  assert.equal(spawnSync('sh', ['-n', file]).status, 0);
  const text = fs.readFileSync(file, 'utf8');
  assert.match(text, /spawn-fcgi -s "\$SOCK".* -- \/usr\/local\/sbin\/pds-fcgi --env-file/s);
  assert.match(text, /spawn-fcgi -F 4 .*pds-fcgi --no-master/s);
  if (have('spawn-fcgi')) {
    const help = spawnSync('spawn-fcgi', ['-h'], { encoding: 'utf8' });
    for (const opt of ['-s', '-M', '-U', '-G', '-u', '-g', '-P', '-F'])
      assert.ok((help.stdout + help.stderr).includes(` ${opt} `), `spawn-fcgi has ${opt}`);
  }
});

test('every variable in pds.env.example is one the programs read', () => {
  // config.c (all programs), and the settings pds-firehose and the cron
  // helpers read themselves.
  const sources = ['fcgi/core/config.c', ...['firehose', 'cron'].flatMap((d) =>
    fs.readdirSync(path.join(repoRoot, d)).filter((f) => f.endsWith('.c')).map((f) => `${d}/${f}`))];
  const known = new Set(sources.flatMap((f) => fs.readFileSync(path.join(repoRoot, f), 'utf8')
    .match(/"((?:PDS|LOG)_[A-Z0-9_]+)"/g) ?? []).map((s) => s.slice(1, -1)));
  const names = fs.readFileSync(conf('pds.env.example'), 'utf8').split('\n')
    .map((l) => /^#?((?:PDS|LOG)_[A-Z0-9_]+)=/.exec(l)?.[1]).filter(Boolean);
  assert.ok(names.length > 80, `only ${names.length} variables documented`);
  assert.deepEqual(names.filter((n) => !known.has(n)), []);
});
