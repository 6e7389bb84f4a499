// bench_crypto.mjs: signature and JWT throughput, C (keys.c / jwt.c via
// tests/lib/tool_crypto bench) next to the reference's libraries doing the
// same work in Node 22 (@atproto/crypto, @atproto/xrpc-server).
//
//   node tests/bench/bench_crypto.mjs [--seconds N] [--json]
//   (C tool from $PDS_BIN_DIR/tests/lib/tool_crypto; build it with
//    make O=DIR DIR/tests/lib/tool_crypto)
//
// Operations, per algorithm:
//   sign        Keypair.sign(msg)                 key_sign
//   verify      verifySignature(didKey, msg, sig) key_verify_did
//   jwt sign    createServiceJwt(...)             jwt_service_encode
//   jwt verify  verifyJwt(tok, aud, lxm, ->did)   key_parse_did + jwt_verify
// HS256 (session tokens): the reference signs and checks them with `jose`,
// which is not installed here; the Node column uses node:crypto HMAC with
// the same JSON/base64url work, a lower bound on the reference's cost.
// The message is a typical service-auth signing input.  Each operation runs
// single-threaded for N seconds (default 2) on each side.

import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as acrypto from '@atproto/crypto';
import { createServiceJwt, verifyJwt } from '@atproto/xrpc-server';

const repoRoot = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));
const binDir = process.env.PDS_BIN_DIR || repoRoot;
const TOOL = path.join(binDir, 'tests/lib/tool_crypto');

const args = process.argv.slice(2);
const secIdx = args.indexOf('--seconds');
const SECONDS = secIdx >= 0 ? Number(args[secIdx + 1]) : 2;
const JSON_OUT = args.includes('--json');
if (!(SECONDS >= 1 && SECONDS <= 600)) {
  console.error('--seconds must be 1..600');
  process.exit(2);
}

const MSG = Buffer.from(
  'eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NksifQ.eyJpYXQiOjE3MDAwMDAwMDAsImlzcyI' +
  '6ImRpZDpwbGM6YWJjIiwiYXVkIjoiZGlkOndlYjpwZHMudGVzdCJ9');
const AUD = 'did:web:pds.test';
const LXM = 'com.atproto.repo.uploadBlob';
const ISS = 'did:plc:abc';

async function run(fn) {
  const end = performance.now() + SECONDS * 1000;
  let n = 0;
  const start = performance.now();
  while (performance.now() < end) {
    for (let i = 0; i < 16; i++) await fn();
    n += 16;
  }
  const secs = (performance.now() - start) / 1000;
  return { ops: n, seconds: secs, ops_per_sec: n / secs };
}

async function nodeSide() {
  const out = [];
  const push = (alg, op, r) => out.push({ impl: 'node', alg, op, ...r });
  for (const [alg, Keypair] of [['ES256K', acrypto.Secp256k1Keypair], ['ES256', acrypto.P256Keypair]]) {
    const kp = await Keypair.create();
    const did = kp.did();
    const sig = await kp.sign(MSG);
    const tok = await createServiceJwt({ iss: ISS, aud: AUD, lxm: LXM, keypair: kp });
    push(alg, 'sign', await run(() => kp.sign(MSG)));
    push(alg, 'verify', await run(async () => {
      if (!(await acrypto.verifySignature(did, MSG, sig))) throw new Error('verify');
    }));
    push(alg, 'jwt sign', await run(() => createServiceJwt({ iss: ISS, aud: AUD, lxm: LXM, keypair: kp })));
    push(alg, 'jwt verify', await run(() => verifyJwt(tok, AUD, LXM, async () => did)));
  }
  // HS256 session token, node:crypto stand-in for jose (see above).
  const secret = Buffer.from('bench-jwt-secret-bench-jwt-secret', 'utf8');
  const b64j = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const hsSign = () => {
    const now = Math.floor(Date.now() / 1000);
    const s = `${b64j({ typ: 'at+jwt', alg: 'HS256' })}.${b64j({
      scope: 'com.atproto.access', aud: AUD, sub: ISS, iat: now, exp: now + 7200 })}`;
    return `${s}.${crypto.createHmac('sha256', secret).update(s).digest('base64url')}`;
  };
  const hsTok = hsSign();
  const hsVerify = () => {
    const parts = hsTok.split('.');
    if (parts.length !== 3) throw new Error('format');
    const header = JSON.parse(Buffer.from(parts[0], 'base64url'));
    if (header.alg !== 'HS256' || header.typ !== 'at+jwt') throw new Error('alg');
    const mac = crypto.createHmac('sha256', secret).update(`${parts[0]}.${parts[1]}`).digest();
    if (!crypto.timingSafeEqual(mac, Buffer.from(parts[2], 'base64url'))) throw new Error('sig');
    const p = JSON.parse(Buffer.from(parts[1], 'base64url'));
    if (p.exp <= Date.now() / 1000 || p.aud !== AUD) throw new Error('claims');
    return p;
  };
  push('HS256', 'jwt sign', await run(hsSign));
  push('HS256', 'jwt verify', await run(hsVerify));
  return out;
}

function cSide() {
  if (!fs.existsSync(TOOL)) {
    console.error(`${TOOL} missing: make O=DIR DIR/tests/lib/tool_crypto, then PDS_BIN_DIR=DIR`);
    process.exit(1);
  }
  const r = spawnSync(TOOL, ['bench', String(SECONDS)], { encoding: 'utf8' });
  if (r.status !== 0) {
    console.error(r.stderr);
    process.exit(1);
  }
  return r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

const node = await nodeSide();
const c = cSide();
if (JSON_OUT) {
  for (const r of [...c, ...node]) console.log(JSON.stringify(r));
} else {
  const key = (r) => `${r.alg} ${r.op}`;
  const nodeBy = new Map(node.map((r) => [key(r), r]));
  const fmt = (x) => (x === undefined ? '-' : Math.round(x).toString());
  console.log(`crypto ops/s, ${SECONDS}s each, single thread (${process.version})`);
  console.log('alg     op                    C ops/s   Node ops/s   C/Node');
  for (const r of c) {
    const n = nodeBy.get(key(r));
    const ratio = n ? (r.ops_per_sec / n.ops_per_sec).toFixed(1) + 'x' : '-';
    console.log(`${r.alg.padEnd(7)} ${r.op.padEnd(21)} ${fmt(r.ops_per_sec).padStart(7)} ` +
      `${fmt(n?.ops_per_sec).padStart(12)} ${ratio.padStart(8)}`);
  }
}
