// bench_firehose.mjs: pds-firehose figures, printed next to the reference
// PDS's (~9k events/s replayed from cursor 0, measured on this kind of
// machine: ../shared/spec/official-libs-notes.md).
//
//  1. Replay: a sequencer.sqlite of REPLAY_EVENTS commit events (blocks of
//     ~BLOCK bytes, written by tests/lib/tool_seq through seqdb); one
//     subscriber with cursor=0; events/s until the last arrives.
//  2. Live fan-out latency, commit to delivery: 1, 100 and 1,000 live
//     subscribers; tool_seq commits LIVE_EVENTS events one transaction each
//     at LIVE_RATE/s and prints the wall clock (us) right after each
//     commit returns; each subscriber notes the wall clock on receipt.
//     p50 / p99 / max over every (event, subscriber) pair, and the
//     daemon's peak RSS (VmHWM) and CPU time for the run.
//
// Subscribers are the raw-socket client of tests/lib/firehose-client.mjs
// (1,000 `ws` clients would measure Node, not the daemon).  Loopback only.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { memKiB, rawSubscribe, seqOf, sleep, startFirehose, toolSeq, toolSeqBg }
  from '../lib/firehose-client.mjs';
import { repoRoot } from '../lib/stack.mjs';

const REPLAY_EVENTS = Number(process.env.BENCH_REPLAY_EVENTS || 50000);
const BLOCK = Number(process.env.BENCH_BLOCK_BYTES || 600);
const LIVE_EVENTS = Number(process.env.BENCH_LIVE_EVENTS || 400);
const LIVE_RATE = Number(process.env.BENCH_LIVE_RATE || 100);
const nowUs = () => Math.round((performance.timeOrigin + performance.now()) * 1000);

function referenceReplay() {
  try {
    const t = fs.readFileSync(path.resolve(repoRoot, '../shared/spec/official-libs-notes.md'), 'utf8');
    return /~?([\d.]+k?) firehose events\/s/.exec(t)?.[1] ?? 'n/a';
  } catch { return 'n/a'; }
}

function cpuMs(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const r = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(r[11]) + Number(r[12])) * 1000 / 100;	// USER_HZ = 100
}

function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

async function replay(dir) {
  const db = path.join(dir, 'sequencer.sqlite');
  await toolSeq(db, ['--count', String(REPLAY_EVENTS), '--batch', '1000', '--type', 'append',
    '--size', String(BLOCK)]);
  const fh = await startFirehose({ dataDir: dir });
  let bytes = 0;
  const t0 = performance.now();
  const c = rawSubscribe({ port: fh.port, query: '?cursor=0', onMessage: (p) => { bytes += p.length; } });
  await c.opened;
  while (c.count < REPLAY_EVENTS) await sleep(5);
  const s = (performance.now() - t0) / 1000;
  const mem = memKiB(fh.pid);
  const cpu = cpuMs(fh.pid);
  c.destroy();
  await fh.stop();
  console.log(`replay from cursor 0: ${REPLAY_EVENTS} #commit events `
    + `(${(bytes / REPLAY_EVENTS).toFixed(0)} B each) in ${s.toFixed(2)} s = `
    + `${Math.round(REPLAY_EVENTS / s)} events/s (reference: ~${referenceReplay()} events/s); `
    + `daemon CPU ${cpu} ms, VmHWM ${(mem.hwm / 1024).toFixed(1)} MiB`);
}

async function live(dir, subs) {
  const db = path.join(dir, 'sequencer.sqlite');
  const fh = await startFirehose({ dataDir: dir,
    env: { PDS_FIREHOSE_MAX_CONNECTIONS: String(subs + 100) } });
  const recv = new Map();			// seq -> [us...]
  const clients = [];
  for (let i = 0; i < subs; i++) {
    clients.push(rawSubscribe({ port: fh.port, onMessage: (p) => {
      const t = nowUs();
      const s = seqOf(p);
      let a = recv.get(s);
      if (!a) recv.set(s, a = []);
      a.push(t);
    } }));
  }
  await Promise.all(clients.map((c) => c.opened));
  const cpu0 = cpuMs(fh.pid);
  const w = toolSeqBg(db, ['--count', String(LIVE_EVENTS), '--rate', String(LIVE_RATE),
    '--type', 'append', '--size', String(BLOCK), '--stamp']);
  const out = await w.done;
  const end = Date.now() + 10000;
  while (clients.some((c) => c.count < LIVE_EVENTS) && Date.now() < end) await sleep(10);
  const cpu = cpuMs(fh.pid) - cpu0;
  const mem = memKiB(fh.pid);
  const lat = [];
  let missing = 0;
  for (const line of out.split('\n')) {
    const m = /^(\d+) (\d+)$/.exec(line);
    if (!m) continue;
    const ts = recv.get(Number(m[1])) ?? [];
    missing += subs - ts.length;
    for (const t of ts) lat.push(Math.max(0, t - Number(m[2])) / 1000);
  }
  lat.sort((a, b) => a - b);
  for (const c of clients) c.destroy();
  await fh.stop();
  console.log(`live fan-out, ${String(subs).padStart(4)} subscriber(s), ${LIVE_EVENTS} events `
    + `at ${LIVE_RATE}/s: commit to delivery p50 ${pct(lat, 0.5).toFixed(2)} ms, `
    + `p99 ${pct(lat, 0.99).toFixed(2)} ms, max ${lat.at(-1).toFixed(2)} ms`
    + `${missing ? `, ${missing} deliveries MISSING` : ''}; daemon CPU ${cpu} ms, `
    + `VmHWM ${(mem.hwm / 1024).toFixed(1)} MiB`);
}

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-fh-'));
try {
  await replay(fs.mkdtempSync(path.join(root, 'r-')));
  for (const n of [1, 100, 1000]) await live(fs.mkdtempSync(path.join(root, 'l-')), n);
} finally {
  fs.rmSync(root, { recursive: true, force: true });
}
