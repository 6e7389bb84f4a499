// ratelimit.test.mjs: the reference's rate limits (PDS_RATE_LIMITS_ENABLED)
// through real nginx and several pds-fcgi workers (tests/lib/stack.mjs),
// counted in the file the workers share: createSession's 30 per 5 minutes
// per identifier and IP tripping exactly at the 31st request although
// many concurrent connections spread them over the workers, and still
// tripped after every worker was killed and respawned; the global 3000
// per 5 minutes per IP (not for sync.getRepo), the per-DID email limits,
// the repo write points (create 3, update 2, delete 1 per applyWrites op);
// the RateLimit-* headers, 429 RateLimitExceeded with Retry-After; the
// x-ratelimit-bypass key and PDS_RATE_LIMIT_BYPASS_IPS; nothing limited
// when the setting is off.  Client IPs come from X-Real-IP
// (PDS_TRUST_PROXY_HEADER=HTTP_X_REAL_IP).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { newAccount, sleep } from '../lib/repoutil.mjs';
import { bins, isExecutable, startStack, workerPids } from '../lib/stack.mjs';

const built = isExecutable(bins.fcgi);
const BYPASS = crypto.randomBytes(12).toString('hex');

/** One request; resolves to {status, headers, body}. */
function call(stack, agent, { method = 'GET', nsid, query, body, ip, headers = {} }) {
  const qs = query ? `?${new URLSearchParams(query)}` : '';
  const data = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: stack.port, method, agent,
      path: `/xrpc/${nsid}${qs}`, headers: { ...(ip ? { 'x-real-ip': ip } : {}),
        ...(data ? { 'content-type': 'application/json' } : {}), ...headers } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let json = null;
        try { json = JSON.parse(text); } catch { /* empty */ }
        resolve({ status: res.statusCode, headers: res.headers, body: json, text });
      });
    });
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

const LIMITED = { error: 'RateLimitExceeded', message: 'Rate Limit Exceeded' };

describe('rate limits', { skip: !built && 'pds-fcgi not built' }, () => {
  let stack, agent;

  before(async () => {
    stack = await startStack({ workers: 4, env: {
      PDS_RATE_LIMITS_ENABLED: 'true',
      PDS_RATE_LIMIT_BYPASS_KEY: BYPASS,
      PDS_RATE_LIMIT_BYPASS_IPS: '10.9.9.9/32,10.9.9.10',
      PDS_TRUST_PROXY_HEADER: 'HTTP_X_REAL_IP',
    } });
    agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  });

  after(async () => {
    agent?.destroy();
    const st = await stack?.stop();
    assert.deepEqual(st?.sanitizer ?? [], [], 'sanitizer reports in the server logs');
  });

  test('RateLimit-* headers on every XRPC answer', async () => {
    const t0 = Math.floor(Date.now() / 1000);
    const r = await call(stack, agent, { nsid: 'com.atproto.server.describeServer', ip: '10.0.0.1' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers['ratelimit-limit'], '3000');
    assert.equal(r.headers['ratelimit-remaining'], '2999');
    assert.equal(r.headers['ratelimit-policy'], '3000;w=300');
    const reset = Number(r.headers['ratelimit-reset']);
    assert.ok(reset >= t0 + 299 && reset <= t0 + 301, `${reset} vs ${t0}`);
    assert.match(r.headers['access-control-expose-headers'],
      /RateLimit-Limit, RateLimit-Reset, RateLimit-Remaining, RateLimit-Policy/);
    const r2 = await call(stack, agent, { nsid: 'com.atproto.server.describeServer', ip: '10.0.0.1' });
    assert.equal(r2.headers['ratelimit-remaining'], '2998');
    // plain routes are not XRPC methods
    const h = await fetch(`${stack.url}/xrpc/_health`);
    assert.equal(h.headers.get('ratelimit-limit'), null);
  });

  test('createSession: 30 per 5 minutes per identifier and IP, across all workers', async () => {
    const ip = '10.0.0.2';
    const body = { identifier: 'victim.test', password: 'wrong password' };
    const res = await Promise.all(Array.from({ length: 40 }, () => call(stack, agent,
      { method: 'POST', nsid: 'com.atproto.server.createSession', body, ip })));
    const refused = res.filter((r) => r.status === 401);
    const limited = res.filter((r) => r.status === 429);
    assert.equal(refused.length, 30, res.map((r) => r.status).join(','));
    assert.equal(limited.length, 10);
    for (const r of limited) {
      assert.deepEqual(r.body, LIMITED);
      assert.equal(r.headers['ratelimit-limit'], '30');
      assert.equal(r.headers['ratelimit-remaining'], '0');
      assert.equal(r.headers['ratelimit-policy'], '30;w=300');
      const after = Number(r.headers['retry-after']);
      assert.ok(after > 290 && after <= 300, `Retry-After ${after}`);
      assert.match(r.headers['access-control-expose-headers'], /Retry-After/);
    }
    for (const r of refused) assert.equal(r.body.error, 'AuthenticationRequired');
    // the tightest limit is reported: the 5-minute one
    assert.deepEqual(refused.map((r) => Number(r.headers['ratelimit-remaining'])).sort((a, b) => a - b),
      Array.from({ length: 30 }, (_, i) => i));
    // several workers served them
    const pids = new Set(stack.log('fcgi').split('\n')
      .filter((l) => l.includes('/xrpc/com.atproto.server.createSession') && l.includes(` ${ip} `))
      .map((l) => /pds-fcgi\[(\d+)\]|pds\[(\d+)\]/.exec(l)).filter(Boolean).map((m) => m[1] ?? m[2]));
    assert.ok(pids.size >= 2, `served by ${pids.size} worker(s)`);

    // another IP, another identifier: their own counters
    let r = await call(stack, agent, { method: 'POST', nsid: 'com.atproto.server.createSession',
      body, ip: '10.0.0.3' });
    assert.equal(r.status, 401);
    r = await call(stack, agent, { method: 'POST', nsid: 'com.atproto.server.createSession',
      body: { ...body, identifier: 'other.test' }, ip });
    assert.equal(r.status, 401);
    // `${identifier}-${ip}` keeps all of the identifier: one with a NUL
    // after it is another identifier, with its own counter
    r = await call(stack, agent, { method: 'POST', nsid: 'com.atproto.server.createSession',
      body: { ...body, identifier: 'victim.test\u0000x' }, ip });
    assert.equal(r.status, 401, r.text);
    assert.equal(r.headers['ratelimit-remaining'], '29');
    // the bypass key and the bypass IPs
    r = await call(stack, agent, { method: 'POST', nsid: 'com.atproto.server.createSession',
      body, ip, headers: { 'x-ratelimit-bypass': BYPASS } });
    assert.equal(r.status, 401, r.text);
    assert.equal(r.headers['ratelimit-limit'], undefined);
    r = await call(stack, agent, { method: 'POST', nsid: 'com.atproto.server.createSession',
      body, ip, headers: { 'x-ratelimit-bypass': `${BYPASS}x` } });
    assert.equal(r.status, 429);
    const free = await Promise.all(Array.from({ length: 32 }, () => call(stack, agent,
      { method: 'POST', nsid: 'com.atproto.server.createSession', body, ip: '10.9.9.9' })));
    assert.deepEqual([...new Set(free.map((x) => x.status))], [401]);
    assert.equal(free[0].headers['ratelimit-limit'], undefined);
    r = await call(stack, agent, { nsid: 'com.atproto.server.describeServer', ip: '10.9.9.10' });
    assert.equal(r.status, 200);
    assert.equal(r.headers['ratelimit-limit'], undefined, 'the /32 suffix is cut off');
  });

  test('the counts survive the death of every worker', async () => {
    const before = workerPids(stack);
    assert.ok(before.length >= 2);
    for (const pid of before) process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 100; i++) {
      const now = workerPids(stack);
      if (now.length === before.length && now.every((p) => !before.includes(p))) break;
      await sleep(50);
    }
    let r;
    for (let i = 0; i < 50; i++) {
      r = await call(stack, agent, { method: 'POST', nsid: 'com.atproto.server.createSession',
        body: { identifier: 'victim.test', password: 'wrong password' }, ip: '10.0.0.2' })
        .catch(() => null);
      if (r && r.status !== 502) break;
      await sleep(100);
    }
    assert.equal(r.status, 429, r.text);
    assert.deepEqual(r.body, LIMITED);
  });

  test('global: 3000 per 5 minutes per IP, sync.getRepo apart', async () => {
    const ip = '10.0.1.1';
    let n429 = 0, n200 = 0, i = 0;
    const worker = async () => {
      while (i < 3000) {
        i++;
        const r = await call(stack, agent, { nsid: 'com.atproto.server.describeServer', ip });
        if (r.status === 200) n200++;
        else if (r.status === 429) n429++;
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    assert.equal(n200, 3000);
    assert.equal(n429, 0);
    let r = await call(stack, agent, { nsid: 'com.atproto.server.describeServer', ip });
    assert.equal(r.status, 429);
    assert.deepEqual(r.body, LIMITED);
    assert.equal(r.headers['ratelimit-policy'], '3000;w=300');
    // every method, proxied ones too, but not sync.getRepo
    r = await call(stack, agent, { nsid: 'com.atproto.repo.describeRepo', query: { repo: 'x.test' }, ip });
    assert.equal(r.status, 429);
    r = await call(stack, agent, { nsid: 'app.bsky.feed.getTimeline', ip });
    assert.equal(r.status, 429);
    r = await call(stack, agent, { nsid: 'com.atproto.sync.getRepo', query: { did: 'did:plc:nobody' }, ip });
    assert.notEqual(r.status, 429);
    assert.equal(r.headers['ratelimit-policy'], '6000;w=300');
    // other clients are unaffected
    r = await call(stack, agent, { nsid: 'com.atproto.server.describeServer', ip: '10.0.1.2' });
    assert.equal(r.status, 200);
  });

  test('requestEmailConfirmation: 5 per hour per DID', async () => {
    const a = await newAccount(stack, 'rl');
    const auth = { authorization: `Bearer ${a.agent.session.accessJwt}` };
    const statuses = [];
    let last;
    for (let i = 0; i < 6; i++) {
      // a new IP each time: the key is the DID
      last = await call(stack, agent, { method: 'POST', ip: `10.0.2.${i + 1}`,
        nsid: 'com.atproto.server.requestEmailConfirmation', headers: auth });
      statuses.push(last.status);
    }
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429]);
    assert.equal(last.headers['ratelimit-limit'], '5');
    assert.equal(last.headers['ratelimit-policy'], '5;w=3600');
  });

  test('repo writes: 5000 points per hour per DID, 3 per create', async () => {
    const a = await newAccount(stack, 'rw');
    const auth = { authorization: `Bearer ${a.agent.session.accessJwt}` };
    const creates = (n, tag) => Array.from({ length: n }, (_, k) => ({
      $type: 'com.atproto.repo.applyWrites#create', collection: 'app.bsky.feed.post',
      value: { $type: 'app.bsky.feed.post', text: `${tag} ${k}`, createdAt: new Date().toISOString() } }));
    // 8 x 200 creates = 4800 points
    for (let i = 0; i < 8; i++) {
      const r = await call(stack, agent, { method: 'POST', nsid: 'com.atproto.repo.applyWrites',
        ip: `10.0.3.${i + 1}`, headers: auth, body: { repo: a.did, writes: creates(200, `b${i}`) } });
      assert.equal(r.status, 200, r.text);
    }
    // 66 creates = 198 points: 4998
    let r = await call(stack, agent, { method: 'POST', nsid: 'com.atproto.repo.applyWrites',
      ip: '10.0.3.20', headers: auth, body: { repo: a.did, writes: creates(66, 'c') } });
    assert.equal(r.status, 200, r.text);
    const list = await a.agent.com.atproto.repo.listRecords({ repo: a.did,
      collection: 'app.bsky.feed.post', limit: 2 });
    const rkey = list.data.records[0].uri.split('/').pop();
    // a delete (1 point) still fits: 4999; then an update (2): over
    r = await call(stack, agent, { method: 'POST', nsid: 'com.atproto.repo.applyWrites',
      ip: '10.0.3.21', headers: auth, body: { repo: a.did, writes: [{
        $type: 'com.atproto.repo.applyWrites#delete', collection: 'app.bsky.feed.post', rkey }] } });
    assert.equal(r.status, 200, r.text);
    const before = (await a.agent.com.atproto.repo.describeRepo({ repo: a.did })).data;
    const rkey2 = list.data.records[1].uri.split('/').pop();
    r = await call(stack, agent, { method: 'POST', nsid: 'com.atproto.repo.putRecord',
      ip: '10.0.3.22', headers: auth, body: { repo: a.did, collection: 'app.bsky.feed.post',
        rkey: rkey2, record: { $type: 'app.bsky.feed.post', text: 'edit', createdAt: new Date().toISOString() } } });
    assert.equal(r.status, 429, r.text);
    assert.deepEqual(r.body, LIMITED);
    assert.equal(r.headers['ratelimit-limit'], '5000');
    assert.equal(r.headers['ratelimit-policy'], '5000;w=3600');
    const got = await a.agent.com.atproto.repo.getRecord({ repo: a.did,
      collection: 'app.bsky.feed.post', rkey: rkey2 });
    assert.notEqual(got.data.value.text, 'edit', 'nothing written');
    assert.deepEqual((await a.agent.com.atproto.repo.describeRepo({ repo: a.did })).data, before);
  });
});

describe('rate limits off (the default)', { skip: !built && 'pds-fcgi not built' }, () => {
  let stack;

  before(async () => { stack = await startStack({ workers: 1 }); });
  after(async () => {
    const st = await stack?.stop();
    assert.deepEqual(st?.sanitizer ?? [], [], 'sanitizer reports in the server logs');
  });

  test('no headers, no limits', async () => {
    const a = await newAccount(stack, 'off');
    for (let i = 0; i < 7; i++) {
      const r = await fetch(`${stack.url}/xrpc/com.atproto.server.requestEmailConfirmation`, {
        method: 'POST', headers: { authorization: `Bearer ${a.agent.session.accessJwt}` } });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('ratelimit-limit'), null);
    }
  });
});
