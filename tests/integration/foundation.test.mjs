// foundation.test.mjs: the PDS's process and HTTP foundation, through real
// nginx with the shipped location rules: health and describeServer (with
// the official AtpAgent), body limits (refused before anything reads the
// body), XRPC errors compared with the reference's own XRPC framework
// (tests/lib/oracle.mjs), worker crash recovery under load, and a draining
// SIGTERM.  One stack for the whole file; the SIGTERM test ends it.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AtpAgent } from '@atproto/api';
import { Secp256k1Keypair } from '@atproto/crypto';
import * as plcLib from '@did-plc/lib';
import { cgiParams, fcgiOpen } from '../lib/fcgi.mjs';
import { load, request, requestTrickle } from '../lib/http.mjs';
import { startOracle } from '../lib/oracle.mjs';
import { bins, childPids, freePort, groupPids, isExecutable, repoRoot, rssKiB, startStack,
  workerPids } from '../lib/stack.mjs';

const WORKERS = 3;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// For races: a timer that does not keep the test process alive.
const later = (ms, v) => new Promise((r) => setTimeout(r, ms, v).unref());
const JSON_CT = 'application/json; charset=utf-8';
// JSON bodies over the limit, worded as the reference's body-parser does.
const TOO_LARGE_JSON = '{"error":"PayloadTooLargeError","message":"request entity too large"}';
const AUTH_MISSING = '{"error":"AuthMissing","message":"Authentication Required"}';
const NGINX_502 = '{"error":"UpstreamFailure","message":"Upstream Failure"}';

async function waitUntil(what, fn, timeoutMs = 5000) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await fn()) return;
    await sleep(20);
  }
  assert.fail(`timed out: ${what}`);
}

// Allowed worker growth around a 10 MB body: far below the body, above
// allocator noise (sanitizer builds move by about a MiB).
const RSS_SLACK_KIB = 4096;
const sumRss = (pids) => pids.reduce((s, p) => s + rssKiB(p), 0);

describe('foundation', { skip: !isExecutable(bins.fcgi) && `pds-fcgi not built: ${bins.fcgi}` }, () => {
  let stack, oracle, agent;
  before(async () => {
    stack = await startStack({ workers: WORKERS, env: {
      PDS_CONTACT_EMAIL_ADDRESS: 'admin@example.com',
      PDS_TERMS_OF_SERVICE_URL: 'https://example.com/tos',
    } });
    oracle = await startOracle(['com.atproto.server.describeServer',
      'com.atproto.server.createSession', 'com.atproto.sync.listRepos']);
    agent = new AtpAgent({ service: stack.url });
  });
  after(async () => {
    await oracle?.close();
    const st = await stack?.stop();
    assert.deepEqual(st?.sanitizer ?? [], [], 'sanitizer reports in the server logs');
  });

  // Whether this build serves a method locally: a well-formed, unauthenticated
  // call answered by anything but the catch-all's AuthMissing.
  async function registered(method, path, body) {
    const r = await request(`${stack.url}${path}`, { method, body: body ?? undefined,
      headers: body ? { 'Content-Type': 'application/json' } : {} });
    return !(r.status === 401 && r.text === AUTH_MISSING);
  }

  test('the stack starts in under 2 s and forks the configured workers', async () => {
    console.log(`# stack started in ${stack.startMs} ms`);
    assert.ok(stack.startMs < (process.env.CI ? 10000 : 2000), `${stack.startMs} ms`);
    await waitUntil(`${WORKERS} workers`, () => workerPids(stack).length === WORKERS);
  });

  test('GET /xrpc/_health answers {"version": ...}', async () => {
    const r = await request(`${stack.url}/xrpc/_health`);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], JSON_CT);
    const body = r.json();
    assert.deepEqual(Object.keys(body), ['version']);
    assert.equal(typeof body.version, 'string');
    assert.ok(body.version.length > 0);
  });

  test('describeServer through the official AtpAgent, byte for byte', async () => {
    const res = await agent.com.atproto.server.describeServer();
    assert.equal(res.success, true);
    assert.deepEqual(res.data, {
      did: 'did:web:localhost',
      availableUserDomains: ['.test'],
      inviteCodeRequired: false,
      blobUploadLimit: 5242880,
      links: { termsOfService: 'https://example.com/tos' },
      contact: { email: 'admin@example.com' },
    });
    // The reference serialises with JSON.stringify in this key order.
    const raw = await request(`${stack.url}/xrpc/com.atproto.server.describeServer`);
    assert.equal(raw.text, '{"did":"did:web:localhost","availableUserDomains":[".test"],' +
      '"inviteCodeRequired":false,"blobUploadLimit":5242880,' +
      '"links":{"termsOfService":"https://example.com/tos"},"contact":{"email":"admin@example.com"}}');
  });

  test('a 10 MB body to a JSON endpoint: 413 XRPC JSON before it is sent, no worker grows', async () => {
    const pids = workerPids(stack);
    const rssBefore = sumRss(pids);
    const r = await requestTrickle({ port: stack.port, path: '/xrpc/com.atproto.server.createSession',
      headers: { 'Content-Type': 'application/json' }, totalBytes: 10 * 1024 * 1024 });
    assert.equal(r.status, 413);
    assert.equal(r.headers['content-type'], JSON_CT);
    assert.equal(r.body, TOO_LARGE_JSON);
    assert.equal(r.sentBeforeResponse, 0, 'answered from the request head alone');
    const grown = sumRss(pids) - rssBefore;
    assert.ok(grown < RSS_SLACK_KIB, `workers grew by ${grown} KiB`);
  });

  // Straight to the FastCGI socket: announce a 10 MB body and send none of
  // it.  The worker must answer from the request head alone, in the
  // reference's order: the catch-all authenticates before it looks at a
  // body; a JSON procedure refuses by Content-Length before reading.
  async function answerFromHead(path, rssPids) {
    const rssBefore = sumRss(rssPids);
    const req = fcgiOpen(stack.socket, cgiParams('POST', path, {
      CONTENT_TYPE: 'application/json', CONTENT_LENGTH: String(10 * 1024 * 1024) }),
    { timeoutMs: 20000 });
    const head = await Promise.race([req.head, later(3000, null)]);
    req.destroy();
    await req.done.catch(() => {});
    assert.ok(head, `${path}: no answer within 3 s without the body`);
    const grown = sumRss(rssPids) - rssBefore;
    assert.ok(grown < RSS_SLACK_KIB, `workers grew by ${grown} KiB`);
    return head;
  }

  test('the catch-all answers a huge POST from its head alone (401 before the body)', async () => {
    const head = await answerFromHead('/xrpc/com.example.nothing.here', workerPids(stack));
    assert.equal(head.status, 401);
    assert.equal(head.body.toString(), AUTH_MISSING);
    const h = await request(`${stack.url}/xrpc/_health`);
    assert.equal(h.status, 200, 'workers still serve');
  });

  test('a JSON procedure refuses an over-limit body by Content-Length, as the reference', async (t) => {
    if (!await registered('POST', '/xrpc/com.atproto.server.createSession', '{}')) {
      t.skip('com.atproto.server.createSession is not served locally yet');
      return;
    }
    const head = await answerFromHead('/xrpc/com.atproto.server.createSession', workerPids(stack));
    assert.equal(head.status, 413);
    assert.equal(head.body.toString(), TOO_LARGE_JSON);
    // Over the reference's 150 KiB JSON limit but under nginx's: the
    // worker's own answer, compared with the reference framework's.
    const body = Buffer.alloc(200 * 1024, 0x20);
    const opts = { method: 'POST', headers: { 'Content-Type': 'application/json' }, body };
    const ours = await request(`${stack.url}/xrpc/com.atproto.server.createSession`, opts);
    const ref = await request(`${oracle.url}/xrpc/com.atproto.server.createSession`, opts);
    assert.equal(ref.status, 413);
    assert.equal(ours.status, ref.status);
    assert.equal(ours.text, ref.text);
  });

  test('XRPC errors before the handler match the reference framework', async (t) => {
    const cases = [
      // [method, path, body, probe: a well-formed call of the same method]
      ['POST', '/xrpc/com.atproto.server.describeServer', '{}', ['GET', '/xrpc/com.atproto.server.describeServer']],
      ['GET', '/xrpc/com.atproto.server.createSession', null, ['POST', '/xrpc/com.atproto.server.createSession', '{}']],
      // The message here is V8's JSON.parse text, which changes between Node
      // versions: compared by status and error name only (see below).
      ['POST', '/xrpc/com.atproto.server.createSession', 'notjson', ['POST', '/xrpc/com.atproto.server.createSession', '{}']],
      ['POST', '/xrpc/com.atproto.server.createSession', '{"identifier":1,"password":"x"}', ['POST', '/xrpc/com.atproto.server.createSession', '{}']],
      ['GET', '/xrpc/com.atproto.sync.listRepos?limit=abc', null, ['GET', '/xrpc/com.atproto.sync.listRepos']],
      ['GET', '/xrpc/com.atproto.sync.listRepos?limit=5000', null, ['GET', '/xrpc/com.atproto.sync.listRepos']],
    ];
    let ran = 0;
    for (const [method, path, body, probe] of cases) {
      if (!await registered(...probe)) {
        t.diagnostic(`not served locally yet: ${probe[1]}`);
        continue;
      }
      const opts = { method, body: body ?? undefined,
        headers: body ? { 'Content-Type': 'application/json' } : {} };
      const ours = await request(`${stack.url}${path}`, opts);
      const ref = await request(`${oracle.url}${path}`, opts);
      assert.equal(ref.status, 400, `oracle ${method} ${path}`);
      assert.equal(ours.status, ref.status, `${method} ${path}: ${ours.text}`);
      assert.equal(ours.headers['content-type'], JSON_CT, `${method} ${path}`);
      if (body === 'notjson') assert.equal(ours.json().error, ref.json().error, ours.text);
      else assert.equal(ours.text, ref.text, `${method} ${path}`);
      ran++;
    }
    assert.ok(ran >= 1, 'describeServer is always served');
  });

  test('an unknown method gets the reference catch-all answer (401 AuthMissing)', async () => {
    // packages/pds/src/pipethrough.ts proxyHandler: authentication comes
    // before any proxying decision.
    const r = await request(`${stack.url}/xrpc/com.example.nothing.here`);
    assert.equal(r.status, 401);
    assert.equal(r.headers['content-type'], JSON_CT);
    assert.equal(r.text, AUTH_MISSING);
  });

  test('SIGKILL of a worker under load: only its in-flight request fails, a new worker replaces it', async () => {
    const master = stack.pids.fcgi;
    const before = workerPids(stack);
    assert.equal(before.length, WORKERS);
    const victim = before[1];
    let killedAt = -1;
    const res = await load({ port: stack.port, total: 2000, concurrency: 8,
      make: () => ({ path: '/xrpc/_health' }),
      onProgress: (n) => {
        if (n === 500) { process.kill(victim, 'SIGKILL'); killedAt = n; }
      } });
    assert.equal(killedAt, 500);
    const failures = res.results.filter((r) => r.status !== 200);
    assert.ok(failures.length <= 1, `failures: ${JSON.stringify(failures.slice(0, 5))}`);
    for (const f of failures) {
      assert.equal(f.status, 502);
      assert.equal(f.body, NGINX_502);
    }
    await waitUntil('the killed worker replaced', () => {
      const now = childPids(master);
      return now.length === WORKERS && !now.includes(victim);
    });
  });

  test('SIGTERM drains: in-flight requests complete, the master exits 0', async () => {
    const master = stack.pids.fcgi;
    // A request held open inside a worker: half its body now, half later.
    const body = Buffer.from(JSON.stringify({ identifier: 'nobody.test', password: 'not-the-password' }));
    const held = fcgiOpen(stack.socket, cgiParams('POST', '/xrpc/com.atproto.server.createSession', {
      CONTENT_TYPE: 'application/json', CONTENT_LENGTH: String(body.length) }), { timeoutMs: 15000 });
    held.write(body.subarray(0, 10));
    await sleep(200);
    let signalled = false;
    const loading = load({ port: stack.port, total: 400, concurrency: 8,
      make: () => ({ path: '/xrpc/_health' }),
      onProgress: (n) => {
        if (n === 50) { process.kill(master, 'SIGTERM'); signalled = true; }
      } });
    await waitUntil('SIGTERM sent', () => signalled);
    await sleep(300);
    held.write(body.subarray(10));
    held.end();
    const r = await held.done;
    assert.equal(r.complete, true, 'the held request got a whole response');
    assert.ok(r.status >= 400 && r.status < 500, `status ${r.status}`);
    assert.equal(typeof JSON.parse(r.body.toString()).error, 'string');
    const res = await loading;
    for (const x of res.results) {
      if (x.status === 200) assert.deepEqual(Object.keys(JSON.parse(x.body)), ['version']);
      else {
        assert.equal(x.status, 502, JSON.stringify(x));
        assert.equal(x.body, NGINX_502);
      }
    }
    const exit = await Promise.race([stack.procs.fcgi.exited, later(15000, 'timeout')]);
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.deepEqual(groupPids(master), [], 'no worker outlives the master');
  });
});

// ---- make run (tests/lib/devstack.sh run) --------------------------------

describe('make run', { skip: !isExecutable(bins.fcgi) && `pds-fcgi not built: ${bins.fcgi}` }, () => {
  let dir;
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pds-makerun-')); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  // Starts devstack.sh run; resolves once its banner is printed.
  async function devstack(env) {
    const child = spawn(path.join(repoRoot, 'tests/lib/devstack.sh'), ['run'], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME ?? dir,
        PDS_BIN_DIR: process.env.PDS_BIN_DIR ?? repoRoot, ...env },
      detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c) => { out += c; });
    child.stderr.on('data', (c) => { out += c; });
    const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
    await waitUntil('the make run banner', () => /Ctrl-C stops everything/.test(out) ||
      child.exitCode !== null, 20000);
    assert.match(out, /Ctrl-C stops everything/, out);
    return { child, exited, out: () => out,
      field: (name) => new RegExp(`^  ${name}\\s+(\\S+)`, 'm').exec(out)?.[1] };
  }

  async function stop(run) {
    process.kill(run.child.pid, 'SIGTERM');
    const st = await Promise.race([run.exited, later(15000, 'timeout')]);
    assert.deepEqual(st, { code: 0, signal: null }, run.out());
    assert.deepEqual(groupPids(run.child.pid), [], 'make run leaves no process behind');
  }

  test('honours PDS_ENV_FILE and the environment, keeps secrets and PLC state across runs', async () => {
    const port = await freePort();
    const envFile = path.join(dir, 'pds.env');
    fs.writeFileSync(envFile, '# test\nPDS_CONTACT_EMAIL_ADDRESS=file@example.com\n' +
      'PDS_TERMS_OF_SERVICE_URL="https://file.example/tos"\n');
    const env = { PDS_PORT: String(port), PDS_DATA_DIRECTORY: path.join(dir, 'data'),
      PDS_ENV_FILE: envFile, PDS_TERMS_OF_SERVICE_URL: 'https://env.example/tos' };
    let run = await devstack(env);
    let did, password;
    try {
      assert.equal(run.field('PDS'), `http://localhost:${port}`);
      password = /admin\s+admin \/ (\S+)/.exec(run.out())?.[1];
      assert.match(password, /^[0-9a-f]{32}$/);
      const d = await request(`http://localhost:${port}/xrpc/com.atproto.server.describeServer`);
      assert.equal(d.status, 200);
      assert.deepEqual(d.json().contact, { email: 'file@example.com' });
      assert.deepEqual(d.json().links, { termsOfService: 'https://env.example/tos' });
      // An operation on the local PLC directory...
      const plcUrl = run.field('PLC');
      const signer = await Secp256k1Keypair.create();
      const created = await plcLib.createOp({ signingKey: signer.did(), handle: 'alice.test',
        pds: `http://localhost:${port}`, rotationKeys: [signer.did()], signer });
      did = created.did;
      await new plcLib.Client(plcUrl).sendOperation(did, created.op);
    } finally {
      await stop(run);
    }
    // ...is still there after a restart, and so are the secrets.
    run = await devstack(env);
    try {
      assert.equal(/admin\s+admin \/ (\S+)/.exec(run.out())?.[1], password);
      const doc = await new plcLib.Client(run.field('PLC')).getDocumentData(did);
      assert.deepEqual(doc.alsoKnownAs, ['at://alice.test']);
    } finally {
      await stop(run);
    }
  });
});
