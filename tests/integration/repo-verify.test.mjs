// repo-verify.test.mjs: whole repositories across the C core and the
// official @atproto/repo.
//
// 1. tool_repo mkrepo builds a signed repository from random records in
//    many commits (creates, updates, deletes) and writes its full CAR and
//    the last commit's #commit event CAR.  @atproto/repo's verifyRepoCar
//    must accept the repository (signature, every record CID) and list the
//    same records; the event CAR must carry a commit that verifies and
//    enough MST nodes to invert its ops with the official MST back to
//    prevData (sync v1.1).
// 2. @atproto/repo builds a repository (Repo.create + applyWrites) and
//    exports it with getFullRepo; tool_repo readcar must verify it (every
//    block hash, commit signature, MST, records) and list the same
//    records.  A CAR with one flipped byte must be refused.
// Binaries: $PDS_BIN_DIR/tests/lib/tool_repo (default: repository root).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  MST, MemoryBlockstore, Repo, WriteOpAction, getFullRepo, readCarWithRoot,
  verifyRepoCar, verifyCommitSig, def,
} from '@atproto/repo'
import { Secp256k1Keypair } from '@atproto/crypto'
import { CID } from 'multiformats/cid'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const binDir = process.env.PDS_BIN_DIR || root
const tool = join(binDir, 'tests', 'lib', 'tool_repo')

function run(args) {
  const res = spawnSync(tool, args, { maxBuffer: 1 << 28 })
  return { status: res.status, out: res.stdout.toString(),
    err: res.stderr.toString() }
}

test('a repository written by C verifies with @atproto/repo', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'repo-verify-'))
  try {
    for (const [n, seed] of [[40, 1], [800, 2]]) {
      const car = join(dir, `repo-${seed}.car`)
      const ev = join(dir, `event-${seed}.car`)
      const r = run(['mkrepo', String(n), String(seed), car, ev])
      assert.equal(r.status, 0, r.err)
      const info = JSON.parse(r.out)
      const bytes = readFileSync(car)
      const verified = await verifyRepoCar(bytes, info.did, info.didkey)
      assert.equal(verified.commit.cid.toString(), info.root)
      assert.equal(verified.commit.rev, info.rev)
      const got = verified.creates
        .map((c) => [`${c.collection}/${c.rkey}`, c.cid.toString()])
        .sort((a, b) => (a[0] < b[0] ? -1 : 1))
      assert.deepEqual(got, info.records)
      // a wrong signing key is refused
      const other = await Secp256k1Keypair.create()
      await assert.rejects(verifyRepoCar(bytes, info.did, other.did()))

      // the #commit event: signed commit + covering proofs (sync v1.1)
      const evCar = await readCarWithRoot(readFileSync(ev))
      assert.equal(evCar.root.toString(), info.root)
      const store = new MemoryBlockstore(evCar.blocks)
      const commit = await store.readObj(evCar.root, def.commit)
      assert.equal(commit.data.toString(), info.data)
      assert.equal(commit.rev, info.rev)
      assert.ok(await verifyCommitSig(commit, info.didkey))
      let mst = MST.load(store, commit.data)
      for (const op of [...info.ops].reverse()) {
        if (op.action === 'create') mst = await mst.delete(op.path)
        else if (op.action === 'update') {
          assert.ok(evCar.blocks.has(CID.parse(op.cid)))
          mst = await mst.update(op.path, CID.parse(op.prev))
        } else mst = await mst.add(op.path, CID.parse(op.prev))
      }
      assert.equal((await mst.getPointer()).toString(), info.prevData)
      console.log(`repo-verify: C repo of ${info.records.length} records ` +
        `(${bytes.length} bytes) verified; event of ${info.ops.length} ops ` +
        `inverted to prevData`)
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a repository written by @atproto/repo verifies in C', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'repo-verify-'))
  try {
    const keypair = await Secp256k1Keypair.create()
    const did = 'did:plc:jsrepojsrepojsrepo234567'
    const storage = new MemoryBlockstore()
    const mk = (i) => ({ $type: 'app.bsky.feed.post', text: `post ${i}`,
      createdAt: new Date(1700000000000 + i).toISOString() })
    const creates = []
    for (let i = 0; i < 300; i++) {
      creates.push({ action: WriteOpAction.Create,
        collection: i % 3 ? 'app.bsky.feed.post' : 'app.bsky.feed.like',
        rkey: `3l${(1e9 + i * 7919).toString(32)}`, record: mk(i) })
    }
    let repo = await Repo.create(storage, did, keypair, creates.slice(0, 100))
    for (let b = 100; b < 300; b += 50) {
      repo = await repo.applyWrites(creates.slice(b, b + 50), keypair)
    }
    const changes = []
    for (let i = 0; i < 300; i += 7) {
      const c = creates[i]
      changes.push(i % 2
        ? { action: WriteOpAction.Delete, collection: c.collection,
            rkey: c.rkey }
        : { action: WriteOpAction.Update, collection: c.collection,
            rkey: c.rkey, record: mk(i + 10000) })
    }
    repo = await repo.applyWrites(changes, keypair)
    const chunks = []
    for await (const chunk of getFullRepo(storage, repo.cid)) chunks.push(chunk)
    const car = Buffer.concat(chunks)
    const path = join(dir, 'js.car')
    writeFileSync(path, car)

    const want = []
    for (const leaf of await repo.data.leaves()) {
      want.push([leaf.key, leaf.value.toString()])
    }
    const r = run(['readcar', path, did, keypair.did()])
    assert.equal(r.status, 0, r.out + r.err)
    const info = JSON.parse(r.out)
    assert.equal(info.root, repo.cid.toString())
    assert.equal(info.did, did)
    assert.equal(info.rev, repo.commit.rev)
    assert.deepEqual(info.records, want)
    const blocks = (await readCarWithRoot(car)).blocks.size
    assert.equal(info.blocks, blocks)

    // wrong key, wrong did, a flipped byte, a cut file
    const other = await Secp256k1Keypair.create()
    let bad = run(['readcar', path, did, other.did()])
    assert.equal(bad.status, 2)
    assert.match(bad.out, /invalid commit signature/)
    bad = run(['readcar', path, 'did:plc:someoneelse', keypair.did()])
    assert.equal(bad.status, 2)
    const flipped = Buffer.from(car)
    flipped[car.length - 5] ^= 0x40
    writeFileSync(path, flipped)
    bad = run(['readcar', path])
    assert.equal(bad.status, 2)
    assert.match(bad.out, /does not match its CID/)
    writeFileSync(path, car.subarray(0, car.length - 3))
    bad = run(['readcar', path])
    assert.equal(bad.status, 2)
    assert.match(bad.out, /CAR truncated/)
    console.log(`repo-verify: @atproto/repo repo of ${want.length} records, ` +
      `${blocks} blocks read and verified in C`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
