// bench_repo.mjs: repository throughput through nginx with the official
// @atproto/api client: createRecord/s (1 and 8 concurrent writers on one
// repository), getRecord/s (16 concurrent readers) and getRepo MB/s (a
// repository of BENCH_REPO_RECORDS records), printed next to the
// reference PDS's figures measured on the same kind of machine
// (../shared/spec/official-libs-notes.md: ~80-110 createRecord/s,
// ~700-800 getRecord/s).  The accounts and the big repository are made
// with @atproto/api; the rates are measured with wrk when installed (as
// bench_http.mjs does), else with the keep-alive load generator of
// tests/lib/http.mjs, so that the client is not what is measured.
// Loopback only; bounded by BENCH_SECONDS (default 5) per figure.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { load } from '../lib/http.mjs';
import { repoRoot, startStack } from '../lib/stack.mjs';
import { newAccount } from '../lib/repoutil.mjs';

const SECONDS = Number(process.env.BENCH_SECONDS || 5);
const RECORDS = Number(process.env.BENCH_REPO_RECORDS || 20000);
const POST = 'app.bsky.feed.post';

function reference() {
  const file = path.resolve(repoRoot, '../shared/spec/official-libs-notes.md');
  let t = '';
  try { t = fs.readFileSync(file, 'utf8'); } catch { /* absent */ }
  return {
    create: /~?([\d–-]+) createRecord\/s/.exec(t)?.[1] ?? 'n/a',
    get: /~?([\d–-]+) getRecord\/s/.exec(t)?.[1] ?? 'n/a',
  };
}

function haveWrk() {
  return spawnSync('sh', ['-c', 'command -v wrk']).status === 0;
}

/** Requests per second of one request template {path, method, headers,
 * body} with `conc` connections for SECONDS. */
async function rate(stack, conc, req) {
  if (haveWrk()) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-repo-'));
    const lua = path.join(dir, 'req.lua');
    fs.writeFileSync(lua, `wrk.method = ${JSON.stringify(req.method ?? 'GET')}
wrk.body = ${JSON.stringify(req.body ?? '')}
${Object.entries(req.headers ?? {}).map(([k, v]) =>
    `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`).join('\n')}
`);
    const r = spawnSync('wrk', ['-t1', `-c${conc}`, `-d${SECONDS}s`, '-s', lua,
      `${stack.url.replace('localhost', '127.0.0.1')}${req.path}`], { encoding: 'utf8' });
    fs.rmSync(dir, { recursive: true, force: true });
    const m = /Requests\/sec:\s+([\d.]+)/.exec(r.stdout);
    if (/Non-2xx/.test(r.stdout)) throw new Error(`non-2xx answers:\n${r.stdout}`);
    return m ? Number(m[1]) : NaN;
  }
  const t0 = Date.now();
  let n = 0;
  while (Date.now() - t0 < SECONDS * 1000) {
    const r = await load({ port: stack.port, total: conc * 50, concurrency: conc,
      make: () => req });
    if (r.failed > 0) throw new Error(`${r.failed} failed requests`);
    n += r.ok;
  }
  return n / ((Date.now() - t0) / 1000);
}

const stack = await startStack({ workers: Number(process.env.BENCH_WORKERS || 4),
  accessLog: false, env: { LOG_ENABLED: 'false' } });
try {
  const ref = reference();
  const acct = await newAccount(stack, 'bench');
  const auth = { authorization: `Bearer ${acct.agent.session.accessJwt}` };
  const create = { path: '/xrpc/com.atproto.repo.createRecord', method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ repo: acct.did, collection: POST, record: {
      text: 'benchmark post '.repeat(4), createdAt: new Date().toISOString() } }) };
  const c1 = await rate(stack, 1, create);
  const c8 = await rate(stack, 8, create);
  console.log(`createRecord/s   1 writer ${c1.toFixed(0)}, 8 writers ${c8.toFixed(0)}`
    + `   (reference ${ref.create})`);

  const list = await acct.agent.com.atproto.repo.listRecords({ repo: acct.did,
    collection: POST, limit: 1 });
  const rkey = list.data.records[0].uri.split('/').pop();
  const g = await rate(stack, 16, { path: '/xrpc/com.atproto.repo.getRecord?'
    + `repo=${acct.did}&collection=${POST}&rkey=${rkey}` });
  console.log(`getRecord/s      16 readers ${g.toFixed(0)}   (reference ${ref.get})`);

  const big = await newAccount(stack, 'bigrepo');
  const T = 'com.atproto.repo.applyWrites';
  for (let done = 0; done < RECORDS; done += 200) {
    await big.agent.com.atproto.repo.applyWrites({ repo: big.did,
      writes: Array.from({ length: 200 }, (_, i) => ({ $type: `${T}#create`,
        collection: POST, value: { text: `record ${done + i} ${'x'.repeat(200)}`,
          createdAt: new Date().toISOString() } })) });
  }
  let bytes = 0;
  const t0 = Date.now();
  let runs = 0;
  while (Date.now() - t0 < SECONDS * 1000 || runs === 0) {
    const res = await fetch(`${stack.url}/xrpc/com.atproto.sync.getRepo?did=${big.did}`);
    bytes += (await res.arrayBuffer()).byteLength;
    runs++;
  }
  const mbps = bytes / 1e6 / ((Date.now() - t0) / 1000);
  console.log(`getRepo MB/s     ${mbps.toFixed(1)}  (${RECORDS} records, `
    + `${(bytes / runs / 1e6).toFixed(1)} MB CAR, ${runs} runs)`);
} finally {
  await stack.stop();
}
