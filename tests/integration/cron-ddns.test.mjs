// cron-ddns.test.mjs: pds-ddns against a fake Route53 that checks every
// SigV4 signature with the independent `aws4` package, a fake Cloudflare
// that checks the bearer token, and fake IP echo services, all on loopback.
//
// Route53 flow: the first run creates the apex and wildcard A records, the
// second changes nothing, a new address updates both, and an HTML or
// garbage answer from the echo services leaves DNS untouched (exit 3).
// The same flow for Cloudflare, plus credentials, zone lookup, IPv6, the
// lock and the documented exit codes.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FakeRoute53 } from '../lib/fake-route53.mjs';
import { FakeCloudflare } from '../lib/fake-cloudflare.mjs';
import { FakeIpEcho } from '../lib/fake-ipecho.mjs';

const BIN = path.join(process.env.PDS_BIN_DIR || path.resolve('..'), 'cron/pds-ddns');
const APEX = 'pds.example.com';
const KEY = 'AKIDEXAMPLE12345';
const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
const ZONE = 'Z0123456789ABCDEFGHIJ';
const CF_TOKEN = 'cf-token-0123456789abcdef';
const CF_ZONE = '023e105f4ecef8ad9ca31a8372d0c353';

// Runs pds-ddns without blocking the event loop (the fakes live in this
// process).  Returns { code, out } with stderr, where the log goes.
function ddns(args, env) {
  return new Promise((resolve, reject) => {
    const p = spawn(BIN, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { out += d; });
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, out }));
  });
}

let tmp;
function baseEnv(extra = {}) {
  return {
    PATH: process.env.PATH,
    HOME: tmp,                       // no real ~/.aws
    PDS_ENV_FILE: path.join(tmp, 'pds.env'),
    ...extra,
  };
}

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cron-ddns-'));
  fs.writeFileSync(path.join(tmp, 'pds.env'), [
    `PDS_HOSTNAME=${APEX}`,
    `PDS_DATA_DIRECTORY=${tmp}`,
    `PDS_BLOBSTORE_DISK_LOCATION=${tmp}/blocks`,
    '',
  ].join('\n'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('pds-ddns with Route53', () => {
  let r53, echo, echo2;
  const env = () => baseEnv({ AWS_ACCESS_KEY_ID: KEY, AWS_SECRET_ACCESS_KEY: SECRET });
  const args = () => ['--endpoint', r53.url, '--zone-id', ZONE,
    '--ip-url', echo.url, '--ip-url', echo2.url];

  before(async () => {
    r53 = await new FakeRoute53({ accessKeyId: KEY, secretAccessKey: SECRET,
      zones: [{ id: ZONE, name: 'example.com' }] }).start();
    echo = await new FakeIpEcho().start();
    echo2 = await new FakeIpEcho().start();
  });
  after(async () => { await r53.close(); await echo.close(); await echo2.close(); });

  test('first run creates the apex and the wildcard', async () => {
    const r = await ddns(args(), env());
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /updated: A pds\.example\.com \(none\) -> 203\.0\.113\.7, A \*\.pds\.example\.com \(none\) -> 203\.0\.113\.7/);
    assert.equal(r.out.trim().split('\n').length, 1, 'one log line per run');
    assert.equal(r53.changes, 1, 'one ChangeResourceRecordSets batch');
    // The request carries a literal '*'; Route53 stores the wildcard.
    assert.match(r53.changeBodies[0], /<Name>\*\.pds\.example\.com\.<\/Name>/);
    assert.match(r53.changeBodies[0], /<Action>UPSERT<\/Action>/);
    assert.deepEqual(r53.record(ZONE, APEX, 'A'), { name: 'pds.example.com.', type: 'A', ttl: 300, values: ['203.0.113.7'] });
    assert.deepEqual(r53.record(ZONE, '*.' + APEX, 'A').values, ['203.0.113.7']);
    assert.ok(echo.agents.every((a) => a.startsWith('curl/')), 'curl user agent');
    assert.equal(echo2.hits, 0, 'second endpoint not needed');
  });

  test('second run changes nothing (the \\052 wildcard compares equal)', async () => {
    const before = r53.log.length;
    const r = await ddns(args(), env());
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /unchanged: A pds\.example\.com 203\.0\.113\.7, A \*\.pds\.example\.com 203\.0\.113\.7/);
    assert.equal(r53.changes, 1);
    const calls = r53.log.slice(before);
    assert.ok(calls.every((c) => c.method === 'GET' && c.status === 200), JSON.stringify(calls));
  });

  test('a new address updates both records in one batch', async () => {
    echo.ip = '203.0.113.8';
    const r = await ddns(args(), env());
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /updated: A pds\.example\.com 203\.0\.113\.7 -> 203\.0\.113\.8, A \*\.pds\.example\.com 203\.0\.113\.7 -> 203\.0\.113\.8/);
    assert.equal(r53.changes, 2);
    assert.deepEqual(r53.record(ZONE, '*.' + APEX, 'A').values, ['203.0.113.8']);
    assert.deepEqual(r53.record(ZONE, APEX, 'A').values, ['203.0.113.8']);
  });

  test('an HTML page or garbage from every endpoint leaves DNS untouched', async () => {
    echo.mode = 'html';
    echo2.mode = 'garbage';
    const before = r53.log.length;
    const r = await ddns(args(), env());
    assert.equal(r.code, 3, r.out);
    assert.match(r.out, /an HTML page, not an address/);
    assert.match(r.out, /refused answer "not an address\\x0a": not an IPv4 address/);
    assert.match(r.out, /no endpoint gave a usable IPv4 address; DNS left untouched/);
    assert.equal(r53.log.length, before, 'no DNS API call at all');
    assert.deepEqual(r53.record(ZONE, APEX, 'A').values, ['203.0.113.8']);
  });

  test('private addresses and HTTP errors are refused too', async () => {
    echo.mode = 'error';
    echo2.mode = 'ip';
    echo2.ip = '192.168.1.20';
    const before = r53.log.length;
    const r = await ddns(args(), env());
    assert.equal(r.code, 3, r.out);
    assert.match(r.out, /HTTP 503/);
    assert.match(r.out, /private \(192\.168\/16\)/);
    assert.equal(r53.log.length, before);
  });

  test('the next endpoint is used when the first fails', async () => {
    echo.mode = 'error';
    echo2.mode = 'ip';
    echo2.ip = '198.51.100.4';
    const r = await ddns(args(), env());
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /ip lookup: .*HTTP 503/);
    assert.match(r.out, /-> 198\.51\.100\.4/);
    assert.deepEqual(r53.record(ZONE, APEX, 'A').values, ['198.51.100.4']);
    echo.mode = 'ip';
    echo.ip = '198.51.100.4';
  });

  test('a record with another TTL or several values is replaced', async () => {
    r53.setRecord(ZONE, '*.' + APEX, 'A', 3600, ['198.51.100.4']);
    r53.setRecord(ZONE, APEX, 'A', 300, ['198.51.100.4', '198.51.100.5']);
    const r = await ddns(args(), env());
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(r53.record(ZONE, '*.' + APEX, 'A'), { name: '*.pds.example.com.', type: 'A', ttl: 300, values: ['198.51.100.4'] });
    assert.deepEqual(r53.record(ZONE, APEX, 'A').values, ['198.51.100.4']);
  });

  test('--dry-run reports without changing; --ttl and --name are honoured', async () => {
    const n = r53.changes;
    let r = await ddns([...args(), '--dry-run', '--ttl', '120', '--name', 'extra.example.com'], env());
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /dry run, would update: .*A extra\.example\.com \(none\) -> 198\.51\.100\.4/);
    assert.equal(r53.changes, n);
    r = await ddns([...args(), '--ttl', '120', '--name', 'extra.example.com'], env());
    assert.equal(r.code, 0, r.out);
    assert.equal(r53.record(ZONE, 'extra.example.com', 'A').ttl, 120);
    assert.equal(r53.record(ZONE, APEX, 'A').ttl, 120);
    assert.match(r.out, /A pds\.example\.com 198\.51\.100\.4 -> 198\.51\.100\.4 \(ttl 300 -> 120\)/);
  });

  test('a wrong secret is refused by the signature check (exit 4)', async () => {
    const r = await ddns(args(), baseEnv({ AWS_ACCESS_KEY_ID: KEY, AWS_SECRET_ACCESS_KEY: SECRET + 'x' }));
    assert.equal(r.code, 4, r.out);
    assert.match(r.out, /route53: ListResourceRecordSets: HTTP 403 SignatureDoesNotMatch/);
    assert.ok(!r.out.includes(SECRET), 'secret never logged');
  });

  test('credentials file, profile and session token; zone found by name', async () => {
    const r53b = await new FakeRoute53({ accessKeyId: 'AKIDPROFILE', secretAccessKey: 'prof/secret+1',
      sessionToken: 'FwoGZXIvYXdzEXAMPLETOKEN//+=', zones: [{ id: 'ZPRIV', name: 'example.com', private: true },
        { id: 'ZPUB', name: 'example.com' }, { id: 'ZOTHER', name: 'example.net' }] }).start();
    const cred = path.join(tmp, 'credentials');
    fs.writeFileSync(cred, '# test\n[default]\naws_access_key_id = WRONG\naws_secret_access_key = WRONG\n\n' +
      '[pds]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = prof/secret+1\n' +
      'aws_session_token = FwoGZXIvYXdzEXAMPLETOKEN//+=\n', { mode: 0o600 });
    try {
      const r = await ddns(['--endpoint', r53b.url, '--ip-url', echo.url],
        baseEnv({ AWS_SHARED_CREDENTIALS_FILE: cred, AWS_PROFILE: 'pds' }));
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /route53 zone ZPUB: updated/);
      // pds.example.com was tried first, then example.com matched.
      assert.deepEqual(r53b.log.filter((c) => c.path.includes('hostedzonesbyname')).map((c) => c.path), [
        '/2013-04-01/hostedzonesbyname?dnsname=pds.example.com&maxitems=10',
        '/2013-04-01/hostedzonesbyname?dnsname=example.com&maxitems=10']);
      assert.deepEqual(r53b.record('ZPUB', APEX, 'A').values, ['198.51.100.4']);
      assert.equal(r53b.zone('ZPRIV').records.size, 0, 'private zone untouched');
    } finally {
      await r53b.close();
    }
  });

  test('AWS_ENDPOINT_URL_ROUTE_53 selects the endpoint', async () => {
    const r = await ddns(['--zone-id', ZONE, '--ip-url', echo.url, '--ttl', '120',
      '--name', 'extra.example.com'], { ...env(), AWS_ENDPOINT_URL_ROUTE_53: r53.url });
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /unchanged/);
  });

  test('-6 keeps AAAA records from an IPv6 echo service', async () => {
    const e6 = await new FakeIpEcho('::1').start();
    e6.ip = '2001:DB8:0:0::12';
    try {
      const r = await ddns([...args(), '-6', '--ip6-url', e6.url], env());
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /AAAA pds\.example\.com \(none\) -> 2001:db8::12/);
      assert.deepEqual(r53.record(ZONE, '*.' + APEX, 'AAAA').values, ['2001:db8::12']);
      const again = await ddns([...args(), '-6', '--ip6-url', e6.url], env());
      assert.equal(again.code, 0, again.out);
      assert.match(again.out, /unchanged: .*AAAA \*\.pds\.example\.com 2001:db8::12/);
      // An IPv4 answer from the IPv6 endpoint is refused: exit 3, but the
      // IPv4 records are still kept.
      e6.ip = '198.51.100.9';
      const bad = await ddns([...args(), '-6', '--ip6-url', e6.url], env());
      assert.equal(bad.code, 3, bad.out);
      assert.match(bad.out, /not an IPv6 address/);
    } finally {
      await e6.close();
    }
  });

  test('configuration errors exit 2; a held lock exits 5', async () => {
    let r = await ddns(args(), baseEnv());
    assert.equal(r.code, 2, r.out);
    assert.match(r.out, /no credentials/);
    r = await ddns([...args(), '--ttl', '5'], env());
    assert.equal(r.code, 2, r.out);
    r = await ddns([...args(), '--name', 'bad_name!.example.com'], env());
    assert.equal(r.code, 2, r.out);
    r = await ddns([...args(), '--zone', 'example.org'], env());
    assert.equal(r.code, 2, r.out);
    assert.match(r.out, /not in zone example\.org/);
    r = await ddns([...args(), '--bogus'], env());
    assert.equal(r.code, 2, r.out);

    const lock = path.join(tmp, 'ddns.lock');
    const holder = spawn('flock', ['-F', '-n', lock, 'sleep', '30'], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 50 && !fs.existsSync(lock); i++) await new Promise((res) => setTimeout(res, 20));
      await new Promise((res) => setTimeout(res, 100));
      const before = r53.log.length;
      r = await ddns([...args(), '--lock', lock], env());
      assert.equal(r.code, 5, r.out);
      assert.match(r.out, /another run holds/);
      assert.equal(r53.log.length, before);
    } finally {
      holder.kill();
    }
  });
});

describe('pds-ddns with Cloudflare', () => {
  let cf, echo;
  const env = (tok = CF_TOKEN) => baseEnv({ CLOUDFLARE_API_TOKEN: tok });
  const args = () => ['--provider', 'cloudflare', '--endpoint', cf.url, '--ip-url', echo.url];

  before(async () => {
    cf = await new FakeCloudflare({ token: CF_TOKEN, zones: [{ id: CF_ZONE, name: 'example.com' }] }).start();
    echo = await new FakeIpEcho().start();
  });
  after(async () => { await cf.close(); await echo.close(); });

  test('first run finds the zone and creates both records', async () => {
    const r = await ddns(args(), env());
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, new RegExp(`cloudflare zone ${CF_ZONE}: updated: A pds\\.example\\.com \\(none\\) -> 203\\.0\\.113\\.7, A \\*\\.pds\\.example\\.com`));
    assert.equal(cf.writes, 2);
    const w = cf.records(CF_ZONE, '*.pds.example.com', 'A');
    assert.equal(w.length, 1);
    assert.equal(w[0].content, '203.0.113.7');
    assert.equal(w[0].ttl, 300);
  });

  test('second run changes nothing', async () => {
    const r = await ddns([...args(), '--zone-id', CF_ZONE], env());
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /unchanged/);
    assert.equal(cf.writes, 2);
  });

  test('a new address is PUT; surplus records go; proxied is kept', async () => {
    echo.ip = '203.0.113.99';
    const extra = cf.addRecord(CF_ZONE, { name: 'pds.example.com', type: 'A', content: '203.0.113.50', ttl: 300 });
    const wild = cf.records(CF_ZONE, '*.pds.example.com', 'A')[0];
    wild.proxied = true;
    wild.ttl = 1;
    const r = await ddns(args(), env());
    assert.equal(r.code, 0, r.out);
    const apex = cf.records(CF_ZONE, 'pds.example.com', 'A');
    assert.equal(apex.length, 1);
    assert.equal(apex[0].content, '203.0.113.99');
    assert.ok(!cf.zone(CF_ZONE).records.has(extra.id) || apex[0].id === extra.id);
    const w = cf.records(CF_ZONE, '*.pds.example.com', 'A');
    assert.deepEqual([w[0].id, w[0].content, w[0].proxied, w[0].ttl], [wild.id, '203.0.113.99', true, 1]);
    const again = await ddns(args(), env());
    assert.match(again.out, /unchanged/, 'a proxied record with TTL auto compares equal');
  });

  test('garbage from the echo service leaves DNS untouched', async () => {
    echo.mode = 'garbage';
    echo.garbage = '203.0.113.5 203.0.113.6\n';
    const before = cf.log.length;
    const r = await ddns(args(), env());
    assert.equal(r.code, 3, r.out);
    assert.equal(cf.log.length, before);
    echo.mode = 'ip';
  });

  test('a wrong token gets 403 (exit 4); no token is a configuration error', async () => {
    let r = await ddns(args(), env('wrong-token'));
    assert.equal(r.code, 4, r.out);
    assert.match(r.out, /cloudflare: list zones: HTTP 403: code 10000: Authentication error/);
    assert.ok(!r.out.includes('wrong-token'));
    r = await ddns(args(), baseEnv());
    assert.equal(r.code, 2, r.out);
    assert.match(r.out, /CLOUDFLARE_API_TOKEN is not set/);
  });
});
