// mst-diff.test.mjs: differential test of the C Merkle Search Tree against
// the official @atproto/repo MST.
//
// A seeded random sequence of 6,000 writes (creates, updates, deletes, and
// a few refused ones: create of a present key, update or delete of an
// absent one) over a pool of keys with long shared prefixes goes through
// tests/lib/tool_repo mst in one process (ops on stdin, one answer line per
// op on stdout, see tool_repo.c); the same sequence goes through the
// official MST.  After EVERY step the MST root CID must be identical, as
// must the number of new and removed MST node blocks of that step's diff
// (DataDiff.of), the covering proof of the written key (getCoveringProof)
// and its path (cidsForPath, what sync.getRecord sends).  The C side reloads its tree from its block store at
// every step, so lazy loading, diff and block bookkeeping are exercised.
// Binaries: $PDS_BIN_DIR/tests/lib/tool_repo (default: the repository
// root).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { MST, MemoryBlockstore, DataDiff } from '@atproto/repo'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const binDir = process.env.PDS_BIN_DIR || root
const tool = join(binDir, 'tests', 'lib', 'tool_repo')
const STEPS = 6000
const RAW = 0x55

let seed = 0x2545f491
function rnd() {
  seed ^= seed << 13
  seed >>>= 0
  seed ^= seed >>> 17
  seed ^= seed << 5
  seed >>>= 0
  return seed
}
const pick = (n) => rnd() % n

const COLLS = ['app.bsky.feed.post', 'app.bsky.feed.like',
  'app.bsky.graph.follow', 'app.bsky.actor.profile', 'com.example.x',
  'a.b.c']
const CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789' +
  '_~-:.'

function randRkey() {
  switch (pick(4)) {
    case 0: { // TID-like, sharing long prefixes
      const alpha = '234567abcdefghijklmnopqrstuvwxyz'
      let s = '3l'
      for (let i = 0; i < 11; i++) s += alpha[i < 6 ? pick(2) : pick(32)]
      return s
    }
    case 1:
      return 'self'
    case 2: {
      let s = ''
      const n = 1 + pick(12)
      for (let i = 0; i < n; i++) s += CHARS[pick(CHARS.length)]
      return s
    }
    default:
      return 'k' + pick(5000).toString().padStart(4, '0')
  }
}

async function randCid(i) {
  const bytes = new TextEncoder().encode(`value ${i} ${rnd()}`)
  return CID.create(1, RAW, await sha256.digest(bytes))
}

test('C MST equals @atproto/repo MST after every write', async () => {
  const pool = []
  for (let i = 0; i < 1500; i++) {
    pool.push(`${COLLS[pick(COLLS.length)]}/${randRkey()}`)
  }
  const keys = [...new Set(pool)]
  const live = new Map()
  const ops = []
  for (let i = 0; i < STEPS; i++) {
    const key = keys[pick(keys.length)]
    const refuse = pick(50) === 0
    if (live.has(key)) {
      if (refuse) {
        ops.push({ op: 'a', key, cid: await randCid(i) })
      } else if (pick(3) === 0) {
        ops.push({ op: 'd', key })
        live.delete(key)
      } else {
        const cid = await randCid(i)
        ops.push({ op: 'u', key, cid })
        live.set(key, cid)
      }
    } else if (refuse) {
      ops.push({ op: pick(2) ? 'u' : 'd', key, cid: await randCid(i) })
    } else {
      const cid = await randCid(i)
      ops.push({ op: 'a', key, cid })
      live.set(key, cid)
    }
  }
  const input = ops.map((o) =>
    o.op === 'd' ? `d ${o.key}\n` : `${o.op} ${o.key} ${o.cid}\n`).join('')
  const t0 = Date.now()
  const res = spawnSync(tool, ['mst'], { input, maxBuffer: 1 << 28 })
  const cMs = Date.now() - t0
  assert.equal(res.status, 0, res.stderr?.toString())
  const lines = res.stdout.toString().split('\n')
  assert.equal(lines.length, STEPS + 1)

  const storage = new MemoryBlockstore()
  let data = await MST.create(storage)
  let refused = 0
  let maxDepthProof = 0
  const t1 = Date.now()
  for (let i = 0; i < STEPS; i++) {
    const o = ops[i]
    const got = lines[i]
    let next
    try {
      if (o.op === 'a') next = await data.add(o.key, o.cid)
      else if (o.op === 'u') next = await data.update(o.key, o.cid)
      else next = await data.delete(o.key)
    } catch (err) {
      refused++
      assert.match(got, /^err /, `step ${i}: ${o.op} ${o.key} refused by ` +
        `the reference (${err.message}) but not by C: ${got}`)
      continue
    }
    const [rootStr, nNew, nRemoved, proofStr, pathStr] = got.split(' ')
    const want = (await next.getPointer()).toString()
    assert.equal(rootStr, want, `step ${i}: ${o.op} ${o.key}`)
    const diff = await DataDiff.of(next, data)
    assert.equal(Number(nNew), diff.newMstBlocks.size, `step ${i}: new nodes`)
    const removedNodes = diff.removedCids.toList()
      .filter((c) => c.code !== RAW).length
    assert.equal(Number(nRemoved), removedNodes, `step ${i}: removed nodes`)
    const proof = (await next.getCoveringProof(o.key)).cids()
      .map((c) => c.toString()).sort()
    assert.equal(proofStr, proof.join(','), `step ${i}: proof of ${o.key}`)
    maxDepthProof = Math.max(maxDepthProof, proof.length)
    const path = (await next.cidsForPath(o.key))
      .filter((c) => c.code !== RAW).map((c) => c.toString()).sort()
    assert.equal(pathStr, path.join(','), `step ${i}: path of ${o.key}`)
    data = next
  }
  const jsMs = Date.now() - t1
  console.log(`mst-diff: ${STEPS} ops (${refused} refused by both), ` +
    `${live.size} keys at the end, identical roots, diffs, proofs, paths ` +
    `(max proof ${maxDepthProof} nodes); C ${cMs} ms, reference ${jsMs} ms`)
  assert.ok(refused > 0)
})
