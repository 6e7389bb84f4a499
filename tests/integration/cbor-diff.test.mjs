// cbor-diff.test.mjs: differential test of the C DAG-CBOR core against the
// official libraries (@ipld/dag-cbor, @atproto/lex-cbor, @atproto/lex-json).
//
// Thousands of seeded random values (nested maps and arrays, links, bytes,
// unicode and integer-like keys, large and negative integers, NUL and
// control characters) go through tests/lib/tool_cbor in batches (one line
// per value, see tool_cbor.c) and must give byte-identical CBOR, equal
// CIDs and byte-identical JSON text (JSON.stringify(lexToJson(v))).  The
// official encoder's bytes are fed to the C decoder; hostile variants
// (floats, mutations) must be refused, and any mutant the C decoder
// accepts must re-encode to itself and decode equally in the official
// decoder.  Binaries: $PDS_BIN_DIR/tests/lib/tool_cbor (default: the
// repository root).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as dagCbor from '@ipld/dag-cbor'
import * as lexCbor from '@atproto/lex-cbor'
import { lexToJson } from '@atproto/lex-json'
import { fromBase64 } from '@atproto/lex-data'
import { encode as cborgEncode } from 'cborg'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { create as createDigest } from 'multiformats/hashes/digest'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const binDir = process.env.PDS_BIN_DIR || root
const tool = join(binDir, 'tests', 'lib', 'tool_cbor')
const COUNT = 3000

// ---- seeded generator --------------------------------------------------
let seed = 0x9e3779b9
function rnd() {
  seed ^= seed << 13
  seed >>>= 0
  seed ^= seed >>> 17
  seed ^= seed << 5
  seed >>>= 0
  return seed
}
const pick = (n) => rnd() % n
const chance = (n) => pick(n) === 0

const KEY_ATOMS = ['a', 'b', 'z', 'text', 'createdAt', '$type', 'é', '日本',
  '😀', 'e\u0301', '\u0001', '\n', '"', '\\', ' ', 'A', '_', '-', 'k1',
  'ünï', '\u007f', '\u2028', '/', '<']
const TEXT_ATOMS = ['hello', ' ', 'wörld', '日本語', '😀', '👨‍👩‍👧', '\u0000',
  '\t', '\n', '\r', '"', '\\', '\u001f', '\u007f', '\u2028', '\ud83d\ude00',
  'x'.repeat(30), 'é', '\b', '\f', '</script>', 'a']
const INTS = [0, 1, -1, 23, 24, -24, -25, 255, 256, -256, -257, 65535, 65536,
  -65536, -65537, 4294967295, 4294967296, -4294967296, -4294967297,
  Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 1000, -1000]

function randText(max) {
  let s = ''
  const n = pick(max)
  for (let i = 0; i < n; i++) s += TEXT_ATOMS[pick(TEXT_ATOMS.length)]
  return s
}
function randKey() {
  switch (pick(6)) {
    case 0: return String(pick(20))                       // array-index key
    case 1: return String(pick(5000000000))               // maybe > 2^32-2
    case 2: return '0' + String(pick(100))                // not an index
    case 3: return ''
    default: {
      let s = ''
      const n = 1 + pick(4)
      for (let i = 0; i < n; i++) s += KEY_ATOMS[pick(KEY_ATOMS.length)]
      return s
    }
  }
}
function randInt() {
  if (chance(2)) return INTS[pick(INTS.length)]
  const mag = 2 ** pick(53)
  const v = Math.floor((rnd() / 4294967296) * mag)
  return chance(2) ? -v : v
}
function randCid() {
  const dg = new Uint8Array(32)
  for (let i = 0; i < 32; i++) dg[i] = pick(256)
  return CID.createV1(chance(2) ? 0x55 : 0x71, createDigest(0x12, dg))
}
function randBytes() {
  const n = chance(4) ? pick(300) : pick(40)
  const b = new Uint8Array(n)
  for (let i = 0; i < n; i++) b[i] = pick(256)
  return b
}
function randValue(depth) {
  // containers get rarer with depth, so values stay around a kilobyte
  const leaf = depth >= 6 || pick(10) >= Math.max(1, 4 - depth)
  const k = leaf ? pick(7) : 7 + pick(2)
  switch (k) {
    case 0: return null
    case 1: return chance(2)
    case 2: case 3: return randInt()
    case 4: return randText(12)
    case 5: return randBytes()
    case 6: return randCid()
    case 7: {
      const n = chance(20) ? 33 + pick(30) : pick(6)
      const a = []
      for (let i = 0; i < n; i++) a.push(randValue(depth + 1))
      return a
    }
    default: return randMap(depth)
  }
}
function randMap(depth) {
  const m = {}
  const n = chance(25) ? 33 + pick(30) : pick(8)
  for (let i = 0; i < n; i++) {
    const key = randKey()
    // $type must stay a string, as the data model requires of records
    m[key] = key === '$type' ? randText(3) : randValue(depth + 1)
  }
  return m
}
function deep(n) {
  let v = { leaf: 1 }
  for (let i = 1; i < n; i++) v = chance(2) ? [v] : { d: v }
  return v
}

// Integers beyond the JS safe range decode as BigInt, which lexToJson
// refuses (the reference cannot write them as JSON either).
function hasBigInt(v) {
  if (typeof v === 'bigint') return true
  if (Array.isArray(v)) return v.some(hasBigInt)
  if (v && typeof v === 'object' && !(v instanceof Uint8Array) &&
      !CID.asCID(v)) return Object.values(v).some(hasBigInt)
  return false
}
const hex = (u8) => Buffer.from(u8).toString('hex')
async function cidOf(bytes) {
  return CID.createV1(0x71, await sha256.digest(bytes)).toString()
}
const jsonOf = (bytes) => JSON.stringify(lexToJson(lexCbor.decode(bytes)))

function runTool(mode, lines) {
  const r = spawnSync(tool, [mode], {
    input: lines.join('\n') + '\n',
    maxBuffer: 1 << 30,
    encoding: 'utf8',
  })
  assert.equal(r.status, 0, `tool_cbor ${mode} failed: ${r.stderr}`)
  const out = r.stdout.split('\n')
  assert.equal(out.pop(), '')
  assert.equal(out.length, lines.length)
  return out.map((l) => l.split('\t'))
}

// ---- the corpus ----------------------------------------------------------
const values = []
for (let i = 0; i < COUNT; i++) values.push(i % 500 === 0 ? deep(64) : randMap(0))
values.push({}, { a: [] }, { $type: 'blob' })
const encoded = values.map((v) => dagCbor.encode(v))

test('official encoders agree with each other', () => {
  for (let i = 0; i < values.length; i++) {
    assert.equal(hex(lexCbor.encode(values[i])), hex(encoded[i]), `value ${i}`)
  }
})

test('JSON -> CBOR: same bytes, CID and JSON text as the official libraries',
  async (t) => {
    t.diagnostic(`${values.length} values, ` +
      `${encoded.reduce((n, b) => n + b.length, 0)} bytes of CBOR`)
    const lines = values.map((v) => JSON.stringify(lexToJson(v)))
    const out = runTool('json', lines)
    for (let i = 0; i < values.length; i++) {
      const [st, h, c, j] = out[i]
      assert.equal(st, 'OK', `value ${i}: ${out[i].join(' ')} for ${lines[i]}`)
      assert.equal(h, hex(encoded[i]), `value ${i} bytes for ${lines[i]}`)
      assert.equal(c, await cidOf(encoded[i]), `value ${i} CID`)
      assert.equal(j, jsonOf(encoded[i]), `value ${i} JSON text`)
    }
  })

test('official CBOR -> C decoder: accepted, re-encoded identically', async () => {
  const out = runTool('cbor', encoded.map(hex))
  for (let i = 0; i < encoded.length; i++) {
    const [st, h, c, j] = out[i]
    assert.equal(st, 'OK', `value ${i}: ${out[i].join(' ')}`)
    assert.equal(h, hex(encoded[i]), `value ${i} re-encoding`)
    assert.equal(c, await cidOf(encoded[i]), `value ${i} CID`)
    assert.equal(j, jsonOf(encoded[i]), `value ${i} JSON text`)
  }
})

test('int64 extremes decode and re-encode (beyond the JSON safe range)', () => {
  const big = [2n ** 63n - 1n, -(2n ** 63n), 2n ** 53n, -(2n ** 53n) - 1n]
  const blocks = big.map((b) => dagCbor.encode({ n: b, m: [b] }))
  const out = runTool('cbor', blocks.map(hex))
  out.forEach(([st, h], i) => {
    assert.equal(st, 'OK')
    assert.equal(h, hex(blocks[i]))
  })
  const over = [dagCbor.encode(2n ** 64n - 1n), dagCbor.encode(-(2n ** 64n))]
  runTool('cbor', over.map(hex)).forEach(([st, msg]) => {
    assert.equal(st, 'ERR')
    assert.match(msg, /out of range/)
  })
  // JSON side: the safe range only, as the reference
  const j = runTool('json', ['9007199254740992', '-9007199254740992', '1.5',
    '123.0', '{"a":1e2}'])
  assert.deepEqual(j.map((r) => r[0]), ['ERR', 'ERR', 'ERR', 'OK', 'OK'])
  assert.equal(j[3][1], hex(dagCbor.encode(123)))
  assert.equal(j[4][1], hex(dagCbor.encode({ a: 100 })))
})

test('official non-atproto CBOR is refused (floats, undefined, tags, order)',
  () => {
    const bad = [
      dagCbor.encode({ a: 1.5 }),
      dagCbor.encode([0.1]),
      cborgEncode({ a: undefined }),
      cborgEncode(new Map([['b', 1], ['a', 2]]), { mapSorter: () => 0 }),
      cborgEncode({ a: 1 }, { float64: true }).subarray(0, 2),
      Uint8Array.from([0xc1, 0x01]),                              // tag 1
      Uint8Array.from([0xd8, 0x2a, 0x41, 0x00]),                  // bad link
      Uint8Array.from([0x9f, 0x01, 0xff]),                        // indefinite
      Uint8Array.from([0x18, 0x01]),                              // not minimal
      cborgEncode(2.5),
      cborgEncode(new Map([[1, 2]])),                             // int key
    ]
    runTool('cbor', bad.map(hex)).forEach(([st], i) =>
      assert.equal(st, 'ERR', `bad ${i} accepted`))
  })

test('mutants: whatever the C decoder accepts, the official one reads equally',
  (t) => {
    const mutants = []
    for (let i = 0; mutants.length < 6000; i++) {
      const src = encoded[i % encoded.length]
      if (src.length === 0) continue
      const m = Uint8Array.from(src)
      const edits = 1 + pick(3)
      for (let e = 0; e < edits; e++) {
        const at = pick(m.length)
        m[at] = chance(2) ? pick(256) : m[at] ^ (1 << pick(8))
      }
      mutants.push(chance(8) ? m.subarray(0, pick(m.length)) : m)
    }
    const out = runTool('cbor', mutants.map(hex))
    let accepted = 0
    out.forEach(([st, h, , j], i) => {
      if (st !== 'OK') return
      accepted++
      assert.equal(h, hex(mutants[i]), `mutant ${i} not canonical`)
      const v = lexCbor.decode(mutants[i])
      assert.equal(hex(dagCbor.encode(v)), h, `mutant ${i} differs`)
      if (!hasBigInt(v)) assert.equal(j, JSON.stringify(lexToJson(v)))
    })
    t.diagnostic(`${accepted} of ${mutants.length} mutants accepted`)
    assert.ok(accepted > 0, 'no mutant accepted: the test would be vacuous')
  })

test('$bytes base64: accepted and refused exactly as the reference', (t) => {
  const alpha = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_= .'
  const strs = []
  for (let i = 0; i < 3000; i++) {
    let s = ''
    const n = pick(14)
    for (let k = 0; k < n; k++) {
      // mostly real base64 characters, some padding and junk
      s += chance(6) ? alpha[62 + pick(alpha.length - 62)] : alpha[pick(62)]
    }
    strs.push(s)
  }
  const out = runTool('json', strs.map((s) => JSON.stringify({ $bytes: s })))
  strs.forEach((s, i) => {
    let want = 'ERR'
    try { want = hex(dagCbor.encode(fromBase64(s))) } catch {}
    const got = out[i][0] === 'OK' ? out[i][1] : 'ERR'
    assert.equal(got, want, `"${s}"`)
  })
  const ok = out.filter((r) => r[0] === 'OK').length
  t.diagnostic(`${ok} of ${strs.length} accepted`)
  assert.ok(ok > 100 && ok < strs.length - 100, 'both outcomes exercised')
})
