// bench_cbor.mjs: the JavaScript side of the DAG-CBOR micro-benchmark.
//
// Builds the same record corpus as tests/bench/bench_cbor.c (same
// xorshift32 generator, same call order; the printed corpus size and last
// CID must equal `tool_cbor bench`'s) and times the official libraries on
// it: @ipld/dag-cbor and @atproto/lex-cbor (what the reference PDS uses),
// plus the JSON mapping of @atproto/lex-json.
//
//   node tests/bench/bench_cbor.mjs [records [milliseconds per operation]]
//
// Rates are per CPU second of the process (process.cpuUsage()), which on
// a shared machine is fairer than wall time; note that V8's garbage
// collector threads count too.
import * as dagCbor from '@ipld/dag-cbor'
import * as lexCbor from '@atproto/lex-cbor'
import { jsonToLex, lexToJson } from '@atproto/lex-json'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { create as createDigest } from 'multiformats/hashes/digest'

const records = Number(process.argv[2] ?? 2000)
const ms = Number(process.argv[3] ?? 1000)
const RAW = 0x55
const DAG_CBOR = 0x71

let x = 0x2545f491
function rnd() {
  x ^= x << 13
  x >>>= 0
  x ^= x >>> 17
  x ^= x << 5
  x >>>= 0
  return x
}
const pick = (n) => rnd() % n

const words = [
  'the', 'quick', 'brown', 'fox', 'jumps', 'over', 'lazy', 'dog',
  'atproto', 'bluesky', 'records', 'are', 'signed', 'and', 'stored',
  'in', 'a', 'merkle', 'search', 'tree', 'café', 'naïve', '日本語',
  'テスト', '😀', '👍🏽', 'über', 'straße', 'hello', 'world', '#tag',
  '@alice.test',
]

function cid(codec) {
  const dg = new Uint8Array(32)
  for (let i = 0; i < 8; i++) {
    const w = rnd()
    dg[4 * i] = w >>> 24
    dg[4 * i + 1] = (w >>> 16) & 255
    dg[4 * i + 2] = (w >>> 8) & 255
    dg[4 * i + 3] = w & 255
  }
  return CID.createV1(codec, createDigest(0x12, dg))
}
function text(nw) {
  const out = []
  for (let i = 0; i < nw; i++) out.push(words[pick(words.length)])
  return out.join(' ')
}
const p2 = (n) => String(n).padStart(2, '0')
const time = (i) =>
  `2024-${p2(1 + (i % 12))}-${p2(1 + (i % 28))}T${p2(i % 24)}:` +
  `${p2(i % 60)}:${p2((i * 7) % 60)}.${String(i % 1000).padStart(3, '0')}Z`
function b32(n) {
  const alpha = '234567abcdefghijklmnopqrstuvwxyz'
  let s = ''
  for (let i = 0; i < n; i++) s += alpha[pick(32)]
  return s
}
function uri(coll) {
  const did = b32(24)
  const rkey = b32(13)
  return `at://did:plc:${did}/${coll}/${rkey}`
}
function strongref() {
  const u = uri('app.bsky.feed.post')
  return { uri: u, cid: cid(DAG_CBOR).toString() }
}
function images() {
  const imgs = []
  const n = 1 + pick(4)
  for (let i = 0; i < n; i++) {
    const alt = text(pick(8))
    const ref = cid(RAW)
    const size = pick(1000000)
    const width = 1 + pick(4000)
    const height = 1 + pick(4000)
    imgs.push({
      alt,
      image: { $type: 'blob', ref, mimeType: 'image/jpeg', size },
      aspectRatio: { width, height },
    })
  }
  return { $type: 'app.bsky.embed.images', images: imgs }
}
function facets() {
  const byteStart = pick(100)
  const byteEnd = 100 + pick(100)
  const u = 'https://example.com/' + text(1)
  return [{
    index: { byteStart, byteEnd },
    features: [{ $type: 'app.bsky.richtext.facet#link', uri: u }],
  }]
}
function post(i) {
  const m = { $type: 'app.bsky.feed.post' }
  m.text = text(3 + pick(40))
  m.createdAt = time(i)
  m.langs = ['en']
  if (pick(2) === 0) m.langs.push('ja')
  if (pick(3) === 0) m.facets = facets()
  if (pick(4) === 0) m.embed = images()
  if (pick(5) === 0) {
    const root = strongref()
    const parent = strongref()
    m.reply = { root, parent }
  }
  return m
}
function mst() {
  const n = 4 + pick(13)
  const e = []
  const enc = new TextEncoder()
  for (let i = 0; i < n; i++) {
    const p = pick(40)
    const k = enc.encode('app.bsky.feed.post/' + b32(13))
    const v = cid(DAG_CBOR)
    const t = pick(3) === 0 ? cid(DAG_CBOR) : null
    e.push({ p, k, v, t })
  }
  const l = pick(2) !== 0 ? cid(DAG_CBOR) : null
  return { l, e }
}
function record(i) {
  const k = pick(10)
  if (k < 5) return post(i)
  if (k < 8) {
    const subject = strongref()
    return { $type: 'app.bsky.feed.like', subject, createdAt: time(i) }
  }
  if (k === 8) {
    return {
      $type: 'app.bsky.graph.follow',
      subject: 'did:plc:' + b32(24),
      createdAt: time(i),
    }
  }
  return mst()
}

const objs = []
for (let i = 0; i < records; i++) objs.push(record(i))
const blocks = objs.map((o) => dagCbor.encode(o))
const jsons = objs.map((o) => JSON.stringify(lexToJson(o)))
const cborBytes = blocks.reduce((n, b) => n + b.length, 0)
const jsonBytes = jsons.reduce((n, s) => n + Buffer.byteLength(s), 0)
const last = CID.createV1(DAG_CBOR, await sha256.digest(blocks.at(-1)))
console.log(`corpus: ${records} records, ${cborBytes} bytes CBOR, ` +
  `${jsonBytes} bytes JSON, last CID ${last}`)

async function bench(name, fn, sizes) {
  const total = sizes.reduce((n, s) => n + s, 0)
  let passes = 0
  // CPU time (user + system, microseconds), as the C side measures
  const cpu = () => { const u = process.cpuUsage(); return u.user + u.system }
  const t0 = cpu()
  let dt
  do {
    for (let i = 0; i < objs.length; i++) await fn(i)
    passes++
    dt = cpu() - t0
  } while (dt < ms * 1000)
  const mbs = (total * passes) / dt
  const rps = (passes * objs.length * 1e6) / dt
  console.log(`JS ${name.padEnd(30)} ${mbs.toFixed(1).padStart(8)} MB/s ` +
    `${rps.toFixed(0).padStart(10)} records/s`)
}

const csz = blocks.map((b) => b.length)
const jsz = jsons.map((s) => Buffer.byteLength(s))
await bench('@ipld/dag-cbor decode', (i) => dagCbor.decode(blocks[i]), csz)
await bench('@atproto/lex-cbor decode', (i) => lexCbor.decode(blocks[i]), csz)
await bench('@ipld/dag-cbor encode', (i) => dagCbor.encode(objs[i]), csz)
await bench('@atproto/lex-cbor encode', (i) => lexCbor.encode(objs[i]), csz)
await bench('lex-cbor encode + CID',
  (i) => lexCbor.cidForLex(objs[i]), csz)
await bench('JSON text -> CBOR (lex)',
  (i) => lexCbor.encode(jsonToLex(JSON.parse(jsons[i]))), jsz)
await bench('CBOR -> JSON text (lex)',
  (i) => JSON.stringify(lexToJson(lexCbor.decode(blocks[i]))), csz)
