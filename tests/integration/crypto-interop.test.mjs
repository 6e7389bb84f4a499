// crypto-interop.test.mjs: keys.c and jwt.c against the official
// libraries.  The C side is tests/lib/tool_crypto (from $PDS_BIN_DIR, the
// `make O=` directory); the Node side is @atproto/crypto (keys, did:key,
// signatures) and @atproto/xrpc-server (service-auth JWTs).
//
//  - did:keys: the same private keys give the same did:key both ways.
//  - signatures made by @atproto/crypto verify in C; their high-S twins
//    and tampered messages are refused in C.
//  - signatures made in C verify with @atproto/crypto verifySignature
//    (strict: compact, low-S).
//  - service JWTs made in C pass xrpc-server verifyJwt (ES256K and ES256,
//    with lxm); xrpc-server's createServiceJwt tokens pass the C verifier;
//    refusals carry the same error names on both sides.
//  - HS256 session tokens from C are byte-identical to the same token
//    built with node:crypto.

import { test } from 'node:test';
import assert from 'node:assert/strict';
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

const ORDER = {
  ES256K: 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n,
  ES256: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
};
const KINDS = [
  { name: 'k256', alg: 'ES256K', Keypair: acrypto.Secp256k1Keypair },
  { name: 'p256', alg: 'ES256', Keypair: acrypto.P256Keypair },
];
const N = 25; // keys per curve

function tool(args, input) {
  assert.ok(fs.existsSync(TOOL), `${TOOL} missing: run make O=... integration`);
  const r = spawnSync(TOOL, args, { input, encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.error, undefined);
  return { code: r.status, out: r.stdout.trim(), lines: r.stdout.split('\n').filter(Boolean) };
}

function batch(lines) {
  const r = tool(['batch'], lines.join('\n') + '\n');
  assert.equal(r.code, 0);
  assert.equal(r.lines.length, lines.length);
  return r.lines;
}

const b64 = (u8) => (u8.length ? Buffer.from(u8).toString('base64') : '-');
const hex = (u8) => Buffer.from(u8).toString('hex');

function highS(sig, alg) {
  const s = BigInt('0x' + hex(sig.slice(32)));
  const hs = (ORDER[alg] - s).toString(16).padStart(64, '0');
  return Buffer.concat([Buffer.from(sig.slice(0, 32)), Buffer.from(hs, 'hex')]);
}

async function makeKeys(kind) {
  const keys = [];
  for (let i = 0; i < N; i++) {
    const kp = await kind.Keypair.create({ exportable: true });
    keys.push({ kp, hex: hex(await kp.export()), did: kp.did() });
  }
  return keys;
}

for (const kind of KINDS) {
  test(`${kind.alg}: did:key from the same private key agrees`, async () => {
    const keys = await makeKeys(kind);
    const out = batch(keys.map((k) => `did ${kind.name} ${k.hex}`));
    keys.forEach((k, i) => assert.equal(out[i], k.did));
    // And the C tool's own fresh keys parse in Node to the same did.
    for (let i = 0; i < 5; i++) {
      const [privHex, did] = tool(['gen', kind.name]).out.split(' ');
      const kp = await kind.Keypair.import(privHex);
      assert.equal(kp.did(), did);
      assert.equal(acrypto.parseDidKey(did).jwtAlg, kind.alg);
    }
  });

  test(`${kind.alg}: @atproto/crypto signatures verify in C, high-S refused`, async () => {
    const keys = await makeKeys(kind);
    const lines = [];
    const want = [];
    for (const [i, k] of keys.entries()) {
      const msg = crypto.randomBytes(i * 7); // includes the empty message
      const sig = await k.kp.sign(msg);
      assert.equal(sig.length, 64);
      lines.push(`verify ${k.did} ${b64(msg)} ${b64(sig)}`);
      want.push('ok');
      lines.push(`verify ${k.did} ${b64(msg)} ${b64(highS(sig, kind.alg))}`);
      want.push('signature is not low-S');
      const other = Buffer.concat([msg, Buffer.from('x')]);
      lines.push(`verify ${k.did} ${b64(other)} ${b64(sig)}`);
      want.push('signature does not verify');
      // Node agrees that the high-S twin is refused in strict mode.
      assert.equal(await acrypto.verifySignature(k.did, msg, highS(sig, kind.alg)), false);
    }
    assert.deepEqual(batch(lines), want);
  });

  test(`${kind.alg}: C signatures verify with @atproto/crypto`, async () => {
    const keys = await makeKeys(kind);
    const msgs = keys.map((_, i) => crypto.randomBytes(1 + i * 13));
    const sigs = batch(keys.map((k, i) => `sign ${kind.name} ${k.hex} ${b64(msgs[i])}`));
    for (const [i, k] of keys.entries()) {
      const sig = Buffer.from(sigs[i], 'base64');
      assert.equal(sig.length, 64);
      assert.equal(await acrypto.verifySignature(k.did, msgs[i], sig), true, `key ${i}`);
      assert.equal(await acrypto.verifySignature(k.did, Buffer.concat([msgs[i], Buffer.from('!')]), sig), false);
    }
  });

  test(`${kind.alg}: service JWTs from C pass xrpc-server verifyJwt`, async () => {
    const kp = await kind.Keypair.create({ exportable: true });
    const privHex = hex(await kp.export());
    const did = kp.did();
    const iss = 'did:plc:c7issuerissuerissuer00';
    const aud = 'did:web:pds.example.test';
    const lxm = 'com.atproto.repo.uploadBlob';
    const getKey = async (d) => {
      assert.equal(d, iss);
      return did;
    };
    const r = tool(['service-jwt', kind.name, privHex, iss, aud, lxm]);
    assert.equal(r.code, 0, r.out);
    const tok = r.out;
    const payload = await verifyJwt(tok, aud, lxm, getKey);
    assert.equal(payload.iss, iss);
    assert.equal(payload.aud, aud);
    assert.equal(payload.lxm, lxm);
    assert.equal(payload.exp - payload.iat, 60);
    assert.match(payload.jti, /^[0-9a-f]{32}$/);
    const [h] = tok.split('.');
    assert.deepEqual(JSON.parse(Buffer.from(h, 'base64url')), { typ: 'JWT', alg: kind.alg });
    await assert.rejects(verifyJwt(tok, aud, 'com.atproto.server.createAccount', getKey),
      (e) => e.customErrorName === 'BadJwtLexiconMethod');
    await assert.rejects(verifyJwt(tok, 'did:web:other.test', lxm, getKey),
      (e) => e.customErrorName === 'BadJwtAudience');
    // Expired (explicit iat/exp in the past).
    const old = tool(['service-jwt', kind.name, privHex, iss, aud, lxm, '1000000000', '1000000060']).out;
    await assert.rejects(verifyJwt(old, aud, lxm, getKey), (e) => e.customErrorName === 'JwtExpired');
    // Signed by another key.
    const other = await kind.Keypair.create();
    await assert.rejects(verifyJwt(tok, aud, lxm, async () => other.did()),
      (e) => e.customErrorName === 'BadJwtSignature');
  });

  test(`${kind.alg}: xrpc-server createServiceJwt tokens pass the C verifier`, async () => {
    const kp = await kind.Keypair.create();
    const iss = 'did:plc:nodeissuernodeissuer000';
    const aud = 'did:web:pds.example.test';
    const lxm = 'com.atproto.repo.uploadBlob';
    const tok = await createServiceJwt({ iss, aud, lxm, keypair: kp });
    const ok = tool(['jwt-verify', kind.alg, kp.did(), tok, aud, lxm]);
    assert.equal(ok.code, 0, ok.out);
    const payload = JSON.parse(ok.out);
    assert.equal(payload.iss, iss);
    assert.equal(payload.lxm, lxm);
    // Same refusals, same names as xrpc-server.
    const cases = [
      [['jwt-verify', kind.alg, kp.did(), tok, aud, 'com.atproto.sync.getBlob'], 'BadJwtLexiconMethod'],
      [['jwt-verify', kind.alg, kp.did(), tok, 'did:web:x.test', lxm], 'BadJwtAudience'],
      [['jwt-verify', kind.alg, (await kind.Keypair.create()).did(), tok, aud, lxm], 'BadJwtSignature'],
      [['jwt-verify', 'HS256', 'secret', tok, aud, lxm], 'BadJwtSignature'],
    ];
    for (const [args, name] of cases) {
      const r = tool(args);
      assert.equal(r.code, 1);
      assert.equal(r.out.split(' ')[1], name, r.out);
    }
    const expired = await createServiceJwt({ iss, aud, lxm, keypair: kp, iat: 1000000000, exp: 1000000060 });
    assert.equal(tool(['jwt-verify', kind.alg, kp.did(), expired, aud, lxm]).out.split(' ')[1], 'JwtExpired');
    await assert.rejects(verifyJwt(expired, aud, lxm, async () => kp.did()),
      (e) => e.customErrorName === 'JwtExpired');
  });
}

test('HS256 session token is byte-identical to node:crypto', () => {
  const secret = 'a-jwt-secret-' + crypto.randomBytes(8).toString('hex');
  const now = Math.floor(Date.now() / 1000);
  const header = { typ: 'at+jwt', alg: 'HS256' };
  const payload = {
    scope: 'com.atproto.access', aud: 'did:web:pds.example.test',
    sub: 'did:plc:ewvi7nxzyoun6zhxrhs64oiz', iat: now, exp: now + 7200,
  };
  const r = tool(['hs256-jwt', secret, JSON.stringify(header), JSON.stringify(payload)]);
  assert.equal(r.code, 0, r.out);
  const enc = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const signing = `${enc(header)}.${enc(payload)}`;
  const mac = crypto.createHmac('sha256', Buffer.from(secret, 'utf8')).update(signing).digest('base64url');
  assert.equal(r.out, `${signing}.${mac}`);
  // And a node:crypto token verifies in C; a wrong secret does not.
  const v = tool(['jwt-verify', 'HS256', secret, `${signing}.${mac}`, payload.aud]);
  assert.equal(v.code, 0, v.out);
  assert.deepEqual(JSON.parse(v.out), payload);
  assert.equal(tool(['jwt-verify', 'HS256', secret + 'x', `${signing}.${mac}`]).out.split(' ')[1], 'BadJwtSignature');
});

test('interop signature fixtures: C and @atproto/crypto agree', async () => {
  const fixtures = JSON.parse(fs.readFileSync(
    path.join(process.env.PDS_INTEROP_DIR || path.join(repoRoot, '../shared/interop'),
      'crypto/signature-fixtures.json'), 'utf8'));
  const lines = fixtures.map((f) => `verify ${f.publicKeyDid} ${f.messageBase64} ${f.signatureBase64}`);
  const out = batch(lines);
  for (const [i, f] of fixtures.entries()) {
    const msg = Buffer.from(f.messageBase64, 'base64');
    const sig = Buffer.from(f.signatureBase64, 'base64');
    // @atproto/crypto throws on DER (wrong length) and returns false on
    // high-S; both mean refused.
    const node = await acrypto.verifySignature(f.publicKeyDid, msg, sig).catch(() => false);
    assert.equal(node, f.validSignature);
    assert.equal(out[i] === 'ok', f.validSignature, `${f.comment}: ${out[i]}`);
  }
});
