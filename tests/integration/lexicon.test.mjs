// lexicon.test.mjs: differential test of the C record validator
// (fcgi/core/lexicon.c, lexvalid.c) and grapheme counter (grapheme.c)
// against the reference's own code.
//
// The reference PDS 0.5.x validates records with @atproto/lex-schema
// validators generated from the Lexicon documents (dist/repo/prepare.js
// validateRecord): here the same documents (fcgi/core/lexicons/*.json)
// are built into lex-schema validators by the official
// @atproto/lex-document LexiconSchemaBuilder, and the verdict and message
// are formed exactly as prepare.js forms them:
//   "Unknown lexicon type: <nsid>" (validate=true only; not sent here),
//   "Invalid record key for <nsid>: <issue>",
//   "Invalid <nsid> record: <issue>".
// Records are valid examples of every built-in type and seeded mutations
// of them (values replaced by others of every data-model kind, required
// keys removed, long and odd strings, bad formats, blobs of every shape),
// sent through tests/lib/tool_lexicon in one batch.  Maps are sent in
// canonical key order, because the C side sees DAG-CBOR (lexicon.h
// documents that a preview lists two keys in that order).
// Graphemes: random strings of hard code points against Intl.Segmenter.
// Binaries: $PDS_BIN_DIR/tests/lib/tool_lexicon (default: repository root).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  LexiconIterableIndexer,
  LexiconSchemaBuilder,
} from '@atproto/lex-document'
import { jsonToLex } from '@atproto/lex-json'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const binDir = process.env.PDS_BIN_DIR || root
const tool = join(binDir, 'tests', 'lib', 'tool_lexicon')
const lexDir = join(root, 'fcgi', 'core', 'lexicons')
const MUTANTS_PER_RECORD = 150

// ---- the reference's validators ---------------------------------------
function fullRefs (v, id) {
  if (Array.isArray(v)) return v.map((x) => fullRefs(x, id))
  if (v === null || typeof v !== 'object') return v
  const fix = (r) => (r.startsWith('#') || r.includes('#') ? r : `${r}#main`)
  const out = {}
  for (const [k, x] of Object.entries(v)) {
    if (k === 'ref' && v.type === 'ref') out[k] = fix(x)
    else if (k === 'refs' && v.type === 'union') out[k] = x.map(fix)
    else out[k] = fullRefs(x, id)
  }
  return out
}

const docs = readdirSync(lexDir).filter((f) => f.endsWith('.json'))
  .map((f) => JSON.parse(readFileSync(join(lexDir, f), 'utf8')))
  .map((d) => fullRefs(d, d.id))
const RECORD_TYPES = docs.filter((d) => d.defs.main?.type === 'record')
  .map((d) => d.id)

async function buildSchemas () {
  const schemas = new Map()
  for (const nsid of RECORD_TYPES) {
    const indexer = new LexiconIterableIndexer(docs)
    schemas.set(nsid, await LexiconSchemaBuilder.build(indexer,
      `${nsid}#main`))
  }
  return schemas
}

// prepare.js validateRecord(), validate omitted.
function reference (schemas, nsid, record, rkey, path) {
  const schema = schemas.get(nsid)
  if (!schema) return { status: 'unknown', message: '' }
  if (rkey != null) {
    const r = schema.keySchema.safeValidate(rkey)
    if (!r.success) {
      return { status: 'invalid',
        message: `Invalid record key for ${nsid}: ${r.reason.message}` }
    }
  }
  const r = schema.safeValidate(jsonToLex(record), { path })
  if (!r.success) {
    return { status: 'invalid',
      message: `Invalid ${nsid} record: ${r.reason.message}` }
  }
  return { status: 'valid', message: '' }
}

// ---- records --------------------------------------------------------------
const TID = '3kznmn7xqxl22'
const NOW = '2024-05-01T12:00:00.000Z'
const RAW = 'bafkreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm'
const CBOR = 'bafyreiclp443lavogvhj3d2ob2cxbfuscni2k5jk7bebjzg7khl3esabwq'
const blob = (mimeType, size, link = RAW) =>
  ({ $type: 'blob', ref: { $link: link }, mimeType, size })
const strongRef = { uri: `at://did:plc:abc/app.bsky.feed.post/${TID}`,
  cid: CBOR }

const BASE = [
  ['app.bsky.feed.post', TID, { text: 'hello @al.test #tag 🇯🇵👨‍👩‍👧',
    createdAt: NOW, langs: ['en', 'pt-BR'], tags: ['t'],
    facets: [{ index: { byteStart: 6, byteEnd: 14 }, features: [
      { $type: 'app.bsky.richtext.facet#mention', did: 'did:plc:abc' },
      { $type: 'app.bsky.richtext.facet#link', uri: 'https://x.test/' },
      { $type: 'app.bsky.richtext.facet#tag', tag: 'tag' }] }],
    reply: { root: strongRef, parent: strongRef },
    embed: { $type: 'app.bsky.embed.images', images: [{ alt: 'a',
      image: blob('image/png', 1234), aspectRatio: { width: 1, height: 2 } }] },
    labels: { $type: 'com.atproto.label.defs#selfLabels',
      values: [{ val: 'nudity' }] } }],
  ['app.bsky.feed.post', TID, { text: '', createdAt: NOW,
    embed: { $type: 'app.bsky.embed.recordWithMedia',
      record: { $type: 'app.bsky.embed.record', record: strongRef },
      media: { $type: 'app.bsky.embed.external', external: {
        uri: 'https://x.test/a', title: 't', description: 'd',
        thumb: blob('image/jpeg', 99) } } } }],
  ['app.bsky.feed.post', TID, { text: 'v', createdAt: NOW,
    embed: { $type: 'app.bsky.embed.video', video: blob('video/mp4', 5000),
      alt: 'x', captions: [{ lang: 'en', file: blob('text/vtt', 10) }],
      aspectRatio: { width: 16, height: 9 } } }],
  ['app.bsky.actor.profile', 'self', { displayName: 'Alice',
    description: 'hi', avatar: blob('image/png', 10),
    banner: blob('image/jpeg', 20), pinnedPost: strongRef,
    createdAt: NOW, website: 'https://alice.test' }],
  ['app.bsky.actor.status', 'self', { status: 'app.bsky.actor.status#live',
    durationMinutes: 30, createdAt: NOW, embed: {
      $type: 'app.bsky.embed.external', external: { uri: 'https://a.test',
        title: 't', description: 'd' } } }],
  ['app.bsky.feed.like', TID, { subject: strongRef, createdAt: NOW }],
  ['app.bsky.feed.repost', TID, { subject: strongRef, createdAt: NOW,
    via: strongRef }],
  ['app.bsky.feed.generator', 'my-feed', { did: 'did:web:feed.test',
    displayName: 'Feed', avatar: blob('image/png', 10), createdAt: NOW,
    acceptsInteractions: true, contentMode:
      'app.bsky.feed.defs#contentModeUnspecified' }],
  ['app.bsky.feed.threadgate', TID, { post: strongRef.uri, createdAt: NOW,
    allow: [{ $type: 'app.bsky.feed.threadgate#mentionRule' },
      { $type: 'app.bsky.feed.threadgate#listRule', list: strongRef.uri }],
    hiddenReplies: [strongRef.uri] }],
  ['app.bsky.feed.postgate', TID, { post: strongRef.uri, createdAt: NOW,
    detachedEmbeddingUris: [strongRef.uri],
    embeddingRules: [{ $type: 'app.bsky.feed.postgate#disableRule' }] }],
  ['app.bsky.graph.follow', TID, { subject: 'did:plc:abc', createdAt: NOW }],
  ['app.bsky.graph.block', TID, { subject: 'did:plc:abc', createdAt: NOW }],
  ['app.bsky.graph.list', TID, { name: 'L', purpose:
    'app.bsky.graph.defs#curatelist', createdAt: NOW, description: 'd',
  avatar: blob('image/png', 5) }],
  ['app.bsky.graph.listitem', TID, { subject: 'did:plc:abc',
    list: strongRef.uri, createdAt: NOW }],
  ['app.bsky.graph.listblock', TID, { subject: strongRef.uri,
    createdAt: NOW }],
  ['app.bsky.graph.starterpack', TID, { name: 'S', list: strongRef.uri,
    createdAt: NOW, feeds: [{ uri: strongRef.uri }] }],
  ['app.bsky.graph.verification', TID, { subject: 'did:plc:abc',
    handle: 'al.test', displayName: 'Al', createdAt: NOW }],
  ['app.bsky.labeler.service', 'self', { createdAt: NOW,
    policies: { labelValues: ['spam'], labelValueDefinitions: [{
      identifier: 'spam', severity: 'alert', blurs: 'none',
      locales: [{ lang: 'en', name: 'Spam', description: 'd' }] }] },
    reasonTypes: ['com.atproto.moderation.defs#reasonSpam'],
    subjectTypes: ['account'] }],
  ['app.bsky.notification.declaration', 'self', { allowSubscriptions:
    'followers' }],
  ['chat.bsky.actor.declaration', 'self', { allowIncoming: 'all' }],
  ['com.atproto.lexicon.schema', 'com.example.thing', { lexicon: 1 }],
  ['com.germnetwork.declaration', 'self', { version: '1.0.0',
    currentKey: { $bytes: 'AAECAw' }, messageMe: {
      messageMeUrl: 'https://g.test/x', showButtonTo: 'everyone' } }],
]

// ---- seeded mutations ------------------------------------------------------
let seed = 0x1d872b41
function rnd () {
  seed ^= seed << 13
  seed >>>= 0
  seed ^= seed >>> 17
  seed ^= seed << 5
  seed >>>= 0
  return seed
}
const pick = (a) => a[rnd() % a.length]

const VALUES = [
  null, true, false, 0, 1, -1, 7, 300, 3001, 1e6, 2 ** 31,
  '', 'x', 'hello', 'x'.repeat(64), 'x'.repeat(65), 'é'.repeat(1500),
  'x'.repeat(3001), '👍'.repeat(301), '👍'.repeat(300), '🇯🇵'.repeat(70),
  'e\u0301'.repeat(40), 'a"b\\c\n\t\u0001', 'y'.repeat(400),
  'did:plc:abc', 'did:web:x.test', 'not-a-did', 'al.test', 'at://x',
  strongRef.uri, 'https://x.test/', 'mailto:a@b.test', 'en', 'pt-BR',
  'xx_YY', NOW, '2024-13-01T00:00:00Z', '2024-01-01', TID, 'com.a.b',
  CBOR, RAW, 'self', 'app.bsky.graph.defs#curatelist',
  'app.bsky.feed.threadgate#mentionRule',
  [], [1, 2], ['a', 'b', 'c', 'd'], [null], [{}], [[1, 2, 3], { a: 1 }],
  {}, { a: 1 }, { a: 1, b: 2, c: 3 }, { $type: 'com.example.x' },
  { $type: 'app.bsky.embed.images', images: [] },
  { $type: 'app.bsky.richtext.facet#tag', tag: 'x' },
  { $type: 7 }, { $bytes: 'AAECAw' }, { $link: CBOR }, { $link: RAW },
  blob('image/png', 10), blob('image/png', 10, CBOR), blob('text/plain', 10),
  blob('image/png', 5000000), blob('video/mp4', 10), blob('nomime', 10),
  { $type: 'blob', ref: { $link: RAW }, mimeType: 'image/png' },
  strongRef, { uri: 'nope', cid: CBOR }, { uri: strongRef.uri, cid: 'bafy' },
]

function paths (v, p = []) {
  const out = [p]
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...p, i])))
  else if (v && typeof v === 'object' && !('$link' in v) && !('$bytes' in v)) {
    for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...p, k]))
  }
  return out
}

function setAt (rec, p, value, del) {
  const copy = structuredClone(rec)
  if (p.length === 0) return value
  let o = copy
  for (const k of p.slice(0, -1)) {
    o = o[k]
    if (o === null || typeof o !== 'object') return copy // moved away
  }
  const last = p[p.length - 1]
  if (del && !Array.isArray(o)) delete o[last]
  else o[last] = structuredClone(value)
  return copy
}

// DAG-CBOR map key order, at every level.
function canonical (v) {
  if (Array.isArray(v)) return v.map(canonical)
  if (v === null || typeof v !== 'object') return v
  const keys = Object.keys(v).sort((a, b) => {
    const ba = Buffer.from(a)
    const bb = Buffer.from(b)
    return ba.length - bb.length || Buffer.compare(ba, bb)
  })
  const out = {}
  for (const k of keys) out[k] = canonical(v[k])
  return out
}

function corpus () {
  const cases = []
  for (const [nsid, rkey, rec0] of BASE) {
    const rec = { $type: nsid, ...rec0 }
    cases.push({ nsid, rkey, record: rec })
    cases.push({ nsid, rkey: pick(['nope', 'self', TID, 'com.example.x',
      'a:b', 'x'.repeat(20)]), record: rec })
    const ps = paths(rec).filter((p) => p.length > 0 && p[0] !== '$type')
    for (let i = 0; i < MUTANTS_PER_RECORD; i++) {
      const p = pick(ps)
      const del = rnd() % 5 === 0
      let m = setAt(rec, p, pick(VALUES), del)
      if (rnd() % 4 === 0) m = setAt(m, pick(ps.filter((q) => q.length < 3)),
        pick(VALUES), false)
      cases.push({ nsid, rkey: null, record: m,
        path: rnd() % 3 === 0 ? '$.writes[3].record' : null })
    }
  }
  return cases
}

function runTool (lines) {
  const r = spawnSync(tool, [], { input: lines.join('\n') + '\n',
    maxBuffer: 1 << 28 })
  assert.equal(r.status, 0, `tool_lexicon: ${r.stderr}`)
  return r.stdout.toString().trimEnd().split('\n').map((l) => JSON.parse(l))
}

const toPath = (s) => (s == null ? ['record'] : ['writes', 3, 'record'])

test('records: the C validator agrees with the reference validators',
  async () => {
    const schemas = await buildSchemas()
    assert.equal(schemas.size, 20)
    const cases = corpus().map((c) => ({ ...c, record: canonical(c.record) }))
    const got = runTool(cases.map((c) => JSON.stringify({ nsid: c.nsid,
      rkey: c.rkey, path: c.path ?? null, record: c.record })))
    assert.equal(got.length, cases.length)
    let compared = 0
    let invalid = 0
    const diffs = []
    for (let i = 0; i < cases.length; i++) {
      if (got[i].status === 'bad-record') continue // refused before
      const c = cases[i]
      const want = reference(schemas, c.nsid, c.record, c.rkey,
        toPath(c.path))
      compared++
      invalid += want.status === 'invalid'
      if (got[i].status !== want.status || got[i].message !== want.message) {
        diffs.push({ case: c, want, got: got[i] })
      }
    }
    console.log(`lexicon: ${compared} records compared (${invalid} invalid)` +
      `, ${diffs.length} differ`)
    assert.deepEqual(diffs.slice(0, 5), [])
    assert.ok(compared > 2000 && invalid > 1000, `${compared} ${invalid}`)
  })

test('graphemes: the C counter agrees with Intl.Segmenter', () => {
  const seg = new Intl.Segmenter()
  const POINTS = ['a', 'Z', ' ', '\r', '\n', '\u0000', '\u0301', '\u0308',
    '\u200d', '\u200c', '\ufe0f', '\ufe0e', '👍', '🏽', '👨', '👩', '👧', '❤',
    '🇯', '🇵', '🇫', '🇷', '한', 'ᄀ', 'ᅡ', 'ᆨ', '가', 'क', '्', 'ष', 'ि',
    'ா', 'ক', '\u0d4e', '\u0600', 'ก', 'ำ', '\u1f3fb', '🏳', '🌈', '⃣', '1',
    '\u00ad', '\u2028', '\u{e0061}', '\u{e007f}', '🏴', '😀', 'ﾞ', '\u0e33']
  const strs = []
  for (let i = 0; i < 3000; i++) {
    let s = ''
    const n = 1 + rnd() % 12
    for (let k = 0; k < n; k++) s += pick(POINTS)
    strs.push(s)
  }
  const got = runTool(strs.map((s) => JSON.stringify({ graphemes: s })))
  const diffs = []
  strs.forEach((s, i) => {
    const want = [...seg.segment(s)].length
    if (got[i].graphemes !== want) diffs.push({ s, want, got: got[i] })
  })
  console.log(`lexicon: ${strs.length} grapheme counts compared, ` +
    `${diffs.length} differ`)
  assert.deepEqual(diffs.slice(0, 5), [])
})
