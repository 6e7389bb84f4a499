// bench_http.mjs: requests per second through nginx for /xrpc/_health and
// describeServer, time to healthy, and idle memory of pds-fcgi (master and
// workers), printed next to the reference PDS's figures measured on the
// same kind of machine (../shared/spec/official-libs-notes.md).
//
// Load: wrk when installed (tests/deps.sh installs it), else the Node
// load generator in tests/lib/http.mjs.  Loopback only; each run is bounded
// (BENCH_SECONDS, default 5).

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { load } from '../lib/http.mjs';
import { repoRoot, rssKiB, startStack, workerPids } from '../lib/stack.mjs';

const SECONDS = Number(process.env.BENCH_SECONDS || 5);
const CONNS = Number(process.env.BENCH_CONNECTIONS || 16);

// The reference's figures, read from the notes so they stay in one place.
function referenceFigures() {
  const file = path.resolve(repoRoot, '../shared/spec/official-libs-notes.md');
  let t = '';
  try { t = fs.readFileSync(file, 'utf8'); } catch { /* no shared/ beside the repo */ }
  const pick = (re) => (re.exec(t)?.[1] ?? 'n/a');
  return {
    health: pick(/~?([\d.]+k?) `_health`\/s/),
    rss: pick(/([\d.]+ MiB) idle RSS/),
    start: pick(/~?([\d.]+ s) to healthy/),
    source: fs.existsSync(file) ? file : 'not found',
  };
}

function haveWrk() {
  return spawnSync('sh', ['-c', 'command -v wrk']).status === 0;
}

async function rps(stack, p) {
  if (haveWrk()) {
    const r = spawnSync('wrk', ['-t2', `-c${CONNS}`, `-d${SECONDS}s`, '--latency',
      `http://127.0.0.1:${stack.port}${p}`], { encoding: 'utf8' });
    const m = /Requests\/sec:\s+([\d.]+)/.exec(r.stdout);
    const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(r.stdout);
    const p99 = /99%\s+(\S+)/.exec(r.stdout);
    if (!m) throw new Error(`wrk: ${r.stdout}${r.stderr}`);
    return { rps: Number(m[1]), errors: non2xx ? Number(non2xx[1]) : 0, p99: p99?.[1] ?? '', tool: 'wrk' };
  }
  // Node fallback: as many requests as fit in the time, in batches.
  const t0 = Date.now();
  let n = 0, errors = 0;
  while (Date.now() - t0 < SECONDS * 1000) {
    const r = await load({ port: stack.port, total: 2000, concurrency: CONNS,
      make: () => ({ path: p }) });
    n += r.results.length;
    errors += r.failed;
  }
  return { rps: n / ((Date.now() - t0) / 1000), errors, p99: '', tool: 'node' };
}

const ref = referenceFigures();
const stack = await startStack({ workers: Number(process.env.PDS_WORKERS || os.cpus().length * 2),
  nginxWorkers: os.cpus().length, accessLog: false,
  env: { LOG_ENABLED: process.env.LOG_ENABLED || 'false' } });
try {
  await new Promise((r) => setTimeout(r, 500));
  const pids = [stack.pids.fcgi, ...workerPids(stack)];
  const idleKiB = pids.reduce((s, p) => s + rssKiB(p), 0);
  const health = await rps(stack, '/xrpc/_health');
  const describe = await rps(stack, '/xrpc/com.atproto.server.describeServer');
  const row = (what, ours, theirs) => console.log(`  ${what.padEnd(34)} ${String(ours).padStart(14)}   ${theirs}`);
  console.log(`  load: ${health.tool}, ${CONNS} connections, ${SECONDS} s per endpoint, ` +
    `${pids.length - 1} workers; reference figures from ${ref.source}`);
  console.log(`  ${'measure'.padEnd(34)} ${'ours'.padStart(14)}   reference`);
  row('time to healthy', `${stack.startMs} ms`, ref.start);
  row('idle RSS, master + workers', `${(idleKiB / 1024).toFixed(1)} MiB`, ref.rss);
  row('_health req/s', `${Math.round(health.rps)}`, ref.health);
  row('describeServer req/s', `${Math.round(describe.rps)}`, 'n/a');
  if (health.p99) row('_health p99 latency', health.p99, 'n/a');
  if (health.errors || describe.errors) {
    console.log(`  errors: _health ${health.errors}, describeServer ${describe.errors}`);
    process.exitCode = 1;
  }
} finally {
  await stack.stop();
}
