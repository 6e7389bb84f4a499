// bench_proxy.mjs: what the PDS adds to a proxied call.  The same
// app.bsky.feed.getTimeline is sent, one at a time over keep-alive
// connections, (a) straight to the fake app view (tests/lib/
// fake-appview.mjs) with a service JWT from getServiceAuth, and (b)
// through nginx and pds-fcgi with the account's access token, which the
// worker turns into a fresh service JWT and forwards.  Printed: p50/p99 of
// both, the difference (the time the PDS adds per proxied request), and
// the worker's own time per request from its access log.  Both paths pay
// the fake's official verifyJwt(); the difference is ours.
//
// Loopback only; BENCH_PROXY_REQUESTS (default 1000) per path.

import http from 'node:http';
import { startPlc } from '../lib/plc-server.mjs';
import { startStack } from '../lib/stack.mjs';
import { newAccount } from '../lib/repoutil.mjs';
import { startFakeService } from '../lib/fake-appview.mjs';

const N = Number(process.env.BENCH_PROXY_REQUESTS || 1000);
const NSID = 'app.bsky.feed.getTimeline';

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function get(port, path, token) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const req = http.request({ host: '127.0.0.1', port, path, agent,
      headers: { authorization: `Bearer ${token}`, host: 'localhost' } }, (res) => {
      res.on('data', () => {});
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
        else resolve(Number(process.hrtime.bigint() - t0) / 1000);
      });
    });
    req.on('error', reject);
    req.end();
  });
}

function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

async function series(port, path, token) {
  for (let i = 0; i < 50; i++) await get(port, path, token);	// warm-up
  const out = [];
  for (let i = 0; i < N; i++) out.push(await get(port, path, token));
  return out.sort((a, b) => a - b);
}

/** The worker's own microseconds per proxied request (access log). */
function workerTimes(stack) {
  const re = new RegExp(`GET /xrpc/${NSID.replace(/\./g, '\\.')} 200 \\d+ (\\d+)us`);
  return stack.log('fcgi').split('\n').map((l) => re.exec(l)).filter(Boolean)
    .map((m) => Number(m[1])).sort((a, b) => a - b);
}

const fmt = (us) => `${(us / 1000).toFixed(3)} ms`;

const plc = await startPlc();
const appview = await startFakeService({ plcUrl: plc.url, name: 'appview' });
let stack;
try {
  stack = await startStack({ plcUrl: plc.url, workers: 1, env: {
    PDS_BSKY_APP_VIEW_URL: appview.url, PDS_BSKY_APP_VIEW_DID: appview.did } });
  const acct = await newAccount(stack, 'bench');
  const svcTok = (await acct.agent.com.atproto.server.getServiceAuth({ aud: appview.did,
    lxm: NSID, exp: Math.floor(Date.now() / 1000) + 3000 })).data.token;
  const path = `/xrpc/${NSID}?limit=30`;
  const direct = await series(appview.port, path, svcTok);
  const viaPds = await series(stack.port, path, acct.agent.session.accessJwt);
  const worker = workerTimes(stack).slice(-N);
  if (appview.rejected !== 0) throw new Error(`fake refused ${appview.rejected} tokens`);
  console.log(`proxied ${NSID}, ${N} sequential requests per path (keep-alive):`);
  console.log(`  straight to the fake app view   p50 ${fmt(pct(direct, 0.5))}  p99 ${fmt(pct(direct, 0.99))}`);
  console.log(`  through nginx + pds-fcgi        p50 ${fmt(pct(viaPds, 0.5))}  p99 ${fmt(pct(viaPds, 0.99))}`);
  console.log(`  added by the PDS                p50 ${fmt(pct(viaPds, 0.5) - pct(direct, 0.5))}  p99 ${
    fmt(pct(viaPds, 0.99) - pct(direct, 0.99))}`);
  if (worker.length > 0) {
    console.log(`  worker time per request (log)   p50 ${fmt(pct(worker, 0.5))}  p99 ${
      fmt(pct(worker, 0.99))}  (includes the upstream's own time)`);
  }
  console.log(`  upstream connections opened: ${appview.connections} (keep-alive reuse)`);
} finally {
  agent.destroy();
  await stack?.stop();
  await appview.close();
  await plc.close();
}
