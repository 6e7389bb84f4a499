// syntax-diff.test.mjs: differential test of the C syntax validators
// (fcgi/core/syntax.c, tid.c, mstkey.c) against the reference's own code:
// @atproto/syntax (handles, DIDs, NSIDs, AT-URIs, record keys, TIDs,
// datetimes, language tags, URIs), @atproto/lex-data (CID strings) and
// @atproto/repo's mstUtil (MST key rules and heights).
//
// Inputs are the interop vectors plus seeded mutations of them (insert,
// replace, delete, duplicate, truncate, splice), sent through
// tests/lib/tool_syntax in one batch per run.  Verdicts must be equal,
// except where syntax.h documents a deliberate difference, which is
// checked for exactly that shape:
//   datetime: V8 rolls 02-30 over to 03-02; we refuse days the month lacks
//   uri:      we also accept the interop (indigo) rule; we refuse controls
//   cid:      CIDv0 and non-base32 forms are refused; syntax tier first
// Binaries: $PDS_BIN_DIR/tests/lib/tool_syntax (default: repository root).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as S from '@atproto/syntax'
import { validateCidString } from '@atproto/lex-data'
import { mstUtil } from '@atproto/repo'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const binDir = process.env.PDS_BIN_DIR || root
const tool = join(binDir, 'tests', 'lib', 'tool_syntax')
const interop = process.env.PDS_INTEROP_DIR ||
  resolve(root, '..', 'shared', 'interop')
const MUTANTS = 2500

// ---- seeded generator --------------------------------------------------
let seed = 0x2545f491
function rnd () {
  seed ^= seed << 13
  seed >>>= 0
  seed ^= seed >>> 17
  seed ^= seed << 5
  seed >>>= 0
  return seed
}
const pick = (n) => rnd() % n
const ATOMS = ['a', 'Z', 'z', '0', '9', '1', '-', '.', '_', ':', '/', '%',
  '#', '?', '~', '@', ' ', 'é', '\u0000', 'x', 'X', 'T', '+', '=', 'b',
  'Q', '%41', '%C3%A9', '%FF', '\t', '😀', 'did:', 'at://', '-00:00',
  '2', '7', 'j', 'k', '\u2028', '\u00a0', '\u007f', '//', '..', 'u', 'en',
  '1901', 'Latn', 'US', '419', '3', '60', '00', '31', '29', '02', '24']

function mutate (s, pool) {
  const n = 1 + pick(3)
  for (let k = 0; k < n; k++) {
    const i = s.length ? pick(s.length + 1) : 0
    const a = ATOMS[pick(ATOMS.length)]
    switch (pick(8)) {
      case 6: case 7: {
        // same-class substitution: keeps the shape, moves the values
        const c = s[i] || ''
        const from = /[0-9]/.test(c) ? '0123456789'
          : /[a-z]/.test(c) ? '234567abcdefghijklmnopqrstuvwxyz'
            : /[A-Z]/.test(c) ? 'ABCDEFGHIJKLMNOPQRSTUVWXYZ' : ''
        if (from) s = s.slice(0, i) + from[pick(from.length)] + s.slice(i + 1)
        break
      }
      case 0: s = s.slice(0, i) + a + s.slice(i); break
      case 1: s = s.slice(0, i) + a + s.slice(i + 1); break
      case 2: s = s.slice(0, i) + s.slice(i + 1 + pick(3)); break
      case 3: { const j = pick(s.length + 1); s = s.slice(0, i) + s.slice(Math.min(i, j), Math.max(i, j)) + s.slice(i); break }
      case 4: s = s.slice(0, i); break
      default: { const o = pool[pick(pool.length)]; s = s.slice(0, i) + o.slice(pick(o.length + 1)) }
    }
  }
  // keep valid UTF-16 (a split surrogate pair would not survive UTF-8)
  return s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '')
}

function vectors (type) {
  const out = []
  for (const f of readdirSync(join(interop, 'syntax'))) {
    if (!f.startsWith(type + '_')) continue
    for (const l of readFileSync(join(interop, 'syntax', f), 'utf8').split('\n')) {
      if (l !== '' && !l.startsWith('#')) out.push(l)
    }
  }
  return out
}

function inputs (types, extra = []) {
  const pool = types.flatMap(vectors).concat(extra)
  const out = [...pool]
  for (let i = 0; i < MUTANTS; i++) out.push(mutate(pool[pick(pool.length)], pool))
  return out
}

// ---- the C side ----------------------------------------------------------
function runTool (check, list) {
  const input = list.map((s) => check + '\t' + Buffer.from(s, 'utf8').toString('hex') + '\n').join('')
  const r = spawnSync(tool, [], { input, maxBuffer: 64 << 20 })
  assert.equal(r.status, 0, `tool_syntax failed: ${r.stderr}`)
  const lines = r.stdout.toString().split('\n')
  lines.pop()
  assert.equal(lines.length, list.length)
  assert.ok(!lines.some((l) => l.startsWith('ERR')), 'tool refused a line')
  return lines
}

function compare (check, list, ref, allowed = () => false) {
  const got = runTool(check, list)
  let diffs = 0
  const bad = []
  list.forEach((s, i) => {
    const c = got[i] === '1'
    const j = ref(s)
    if (c === j) return
    diffs++
    if (!allowed(s, c, j)) bad.push(`${JSON.stringify(s)}: C ${got[i]}, reference ${j}`)
  })
  assert.deepEqual(bad.slice(0, 20), [], `${check}: ${bad.length} unexplained differences`)
  const valid = got.filter((l) => l === '1').length
  console.log(`${check}: ${list.length} inputs, ${valid} valid, ${diffs} documented differences`)
  return { n: list.length, diffs }
}

const safe = (fn) => (s) => { try { return fn(s) === true } catch { return false } }

// ---- the suites ------------------------------------------------------------
test('identifiers agree with @atproto/syntax exactly', () => {
  const ids = ['handle', 'did', 'atidentifier']
  for (const [check, fn] of [
    ['handle', S.isValidHandle], ['did', S.isValidDid],
    ['at-identifier', S.isAtIdentifierString]]) {
    const r = compare(check, inputs(ids), safe(fn))
    assert.equal(r.diffs, 0)
  }
  let r = compare('nsid', inputs(['nsid']), safe(S.isValidNsid))
  assert.equal(r.diffs, 0)
  r = compare('record-key', inputs(['recordkey', 'tid']), safe(S.isValidRecordKey))
  assert.equal(r.diffs, 0)
  const s32 = '234567abcdefghijklmnopqrstuvwxyz'
  const tids = Array.from({ length: 500 }, () =>
    Array.from({ length: 13 }, () => s32[pick(32)]).join(''))
  r = compare('tid', inputs(['tid', 'recordkey'], tids), safe(S.isValidTid))
  assert.equal(r.diffs, 0)
  r = compare('at-uri', inputs(['aturi', 'nsid', 'recordkey'], [
    'at://did:plc:a/a.b.c/x#/p%C3%A9', 'at://did:plc:a#/%E2%82%AC']),
  safe((s) => S.isAtUriString(s)))
  assert.equal(r.diffs, 0)
})

test('language tags agree with parseLanguageString (strict)', () => {
  const list = inputs(['language'], ['zh-cmn-Hans-CN', 'en-a-foo-b-bar-x-y',
    'de-1901-1996', 'ar-aaa-bbb-ccc', 'sl-rozaj-biske-1994'])
  const r = compare('language', list, safe((s) => S.parseLanguageString(s) !== null))
  assert.equal(r.diffs, 0)
})

// the day of y-m-d does not exist (V8 rolls it over, we refuse it)
function impossibleDay (s) {
  const m = /^(\d{4})-(\d\d)-(\d\d)T/.exec(s)
  if (!m) return false
  const [y, mo, d] = [+m[1], +m[2], +m[3]]
  return d > new Date(Date.UTC(2000, mo, 0)).getUTCDate() ||
    (mo === 2 && d === 29 && !((y % 4 === 0 && y % 100 !== 0) || y % 400 === 0))
}

test('datetimes agree with isDatetimeString (strict)', () => {
  const list = inputs(['datetime'], ['2023-02-29T00:00:00Z',
    '2024-02-30T00:00:00Z', '2023-04-31T12:00:00+01:00', '1900-02-29T00:00:00Z'])
  const r = compare('datetime', list, safe(S.isDatetimeString),
    (s, c, j) => j && !c && impossibleDay(s))
  assert.ok(r.diffs >= 4, 'the calendar cases differ as documented')
})

test('URIs: everything isValidUri accepts, plus the interop rule', () => {
  const indigo = /^[a-z][a-z.-]{0,80}:[\x21-\x7e]+$/
  const list = inputs(['uri'], ['HTTPS://X', 'a_b:c', 'a:///x', 'go://?x'])
    .filter((s) => Buffer.byteLength(s) <= 8192)
  compare('uri', list, safe(S.isValidUri), (s, c, j) =>
    (c && !j && indigo.test(s)) ||
    (!c && j && /[\x00-\x1f\x7f]/.test(s)))
})

test('CID strings: a subset of lex-data validateCidString', () => {
  const list = inputs(['cid'], [
    'bafyreie5cvv4h45feadgeuwhbcutmh6t7ceseocckahdoe6uat64zmz454',
    'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku',
    'QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n'])
  const r = compare('cid', list, safe(validateCidString), (s, c, j) =>
    !c && j && !s.startsWith('b'))
  const syn = runTool('cid-syntax', list)
  const strict = runTool('cid', list)
  strict.forEach((v, i) => {
    if (v === '1') assert.equal(syn[i], '1', `strict but not syntax: ${list[i]}`)
  })
  assert.ok(r.n > MUTANTS)
})

test('MST keys and heights agree with @atproto/repo mstUtil', async () => {
  const keys = readFileSync(join(interop, 'mst', 'example_keys.txt'), 'utf8')
    .split('\n').filter((l) => l !== '')
  const list = inputs(['recordkey', 'nsid'], keys.concat([
    'app.bsky.feed.post/3jzfcijpj2z2a', 'a/b', 'a'.repeat(1000) + '/' + 'b'.repeat(24)]))
  const r = compare('mst-key', list, safe(mstUtil.isValidMstKey))
  assert.equal(r.diffs, 0)
  const hk = list.slice(0, 1500)
  const got = runTool('mst-height', hk)
  for (let i = 0; i < hk.length; i++) {
    const want = await mstUtil.leadingZerosOnHash(hk[i])
    assert.equal(+got[i], want, `height of ${JSON.stringify(hk[i])}`)
  }
})
