// repoutil.mjs: helpers of the repository suites (repo, sync, blobs) and
// of tests/bench/bench_repo.mjs: accounts through the official
// @atproto/api client, the account's signing key from the PLC directory,
// and the #commit rows of sequencer.sqlite checked the way a sync v1.1
// relay checks them: the commit signature, then the ops inverted onto the
// new tree using only the event's blocks, which must give prevData.

import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { AtpAgent } from '@atproto/api';
import { MST, MemoryBlockstore, readCarWithRoot, verifyCommitSig, def }
  from '@atproto/repo';
import { decode as lexDecode } from '@atproto/lex-cbor';
import { CID } from 'multiformats/cid';

// node:sqlite prints an ExperimentalWarning once; keep test output clean.
const emit = process.emitWarning;
process.emitWarning = (w, ...rest) => {
  if (String(w).includes('SQLite')) return;
  emit.call(process, w, ...rest);
};

let seqNo = 0;

/** A new account through createAccount; returns {agent, did, handle,
 * password}.  The agent holds the session. */
export async function newAccount(stack, prefix = 'u') {
  const n = `${prefix}${process.pid % 1000}${++seqNo}${Date.now() % 100000}`;
  const handle = `${n}.test`;
  const agent = new AtpAgent({ service: stack.url });
  const password = `pw-${n}-secret`;
  const r = await agent.createAccount({ handle, email: `${n}@example.com`,
    password });
  return { agent, did: r.data.did, handle, password };
}

/** The account's atproto signing key (did:key) from the PLC directory. */
export async function didKeyOf(stack, did) {
  const res = await fetch(`${stack.plcUrl}/${did}/data`);
  if (!res.ok) throw new Error(`plc ${res.status}`);
  return (await res.json()).verificationMethods.atproto;
}

/** Every repo_seq row of did (all types), decoded, in seq order. */
export function seqRows(stack, did) {
  const db = new DatabaseSync(path.join(stack.dataDir, 'sequencer.sqlite'),
    { readOnly: true });
  try {
    return db.prepare('SELECT seq, eventType, event, sequencedAt FROM repo_seq '
      + 'WHERE did = ? ORDER BY seq').all(did).map((r) => ({
      seq: Number(r.seq), type: r.eventType, time: r.sequencedAt,
      raw: Buffer.from(r.event), body: lexDecode(r.event),
    }));
  } finally {
    db.close();
  }
}

/** The #commit bodies of did, in seq order. */
export function commitEvents(stack, did) {
  return seqRows(stack, did).filter((r) => r.type === 'append').map((r) => r.body);
}

const asCid = (c) => (c == null ? null : CID.parse(c.toString()));

/**
 * Checks one #commit body as a sync v1.1 relay does.  Throws with the
 * reason; returns {rev, since, data, prevData} on success.
 *   - the CAR's root is the commit, whose signature verifies with didkey;
 *   - every op's path and cid are consistent with the new tree (creates
 *     and updates are present with their CID, deletes absent);
 *   - inverting the ops (in reverse order) on the new tree, loaded only
 *     from the event's blocks, gives prevData (absent for a genesis
 *     commit, which has no ops).
 */
export async function checkCommitEvent(ev, didkey) {
  const { root, blocks } = await readCarWithRoot(ev.blocks);
  if (!root.equals(asCid(ev.commit))) throw new Error('CAR root is not the commit');
  const storage = new MemoryBlockstore(blocks);
  const commit = await storage.readObj(root, def.commit);
  if (commit.did !== ev.repo) throw new Error('commit did');
  if (commit.rev !== ev.rev) throw new Error('commit rev');
  if (!(await verifyCommitSig(commit, didkey))) throw new Error('bad signature');
  if (ev.rebase !== false || ev.tooBig !== false || !Array.isArray(ev.blobs)
    || ev.blobs.length !== 0) throw new Error('deprecated fields');
  let mst = MST.load(storage, commit.data);
  for (const op of ev.ops) {
    const got = await mst.get(op.path);
    if (op.action === 'delete') {
      if (got !== null) throw new Error(`deleted ${op.path} still present`);
      if (op.cid !== null) throw new Error('delete with a cid');
    } else if (!got || !got.equals(asCid(op.cid))) {
      throw new Error(`${op.path} not at its op cid`);
    }
    if ((op.action === 'update' || op.action === 'delete') && !op.prev) {
      throw new Error(`${op.action} without prev`);
    }
  }
  if (ev.prevData === undefined) {
    if (ev.since !== null || ev.ops.length !== 0) throw new Error('genesis shape');
    return { rev: ev.rev, since: null, data: commit.data, prevData: null };
  }
  for (const op of [...ev.ops].reverse()) {
    if (op.action === 'create') {
      mst = op.prev ? await mst.update(op.path, asCid(op.prev))
        : await mst.delete(op.path);
    } else if (op.action === 'update') {
      mst = await mst.update(op.path, asCid(op.prev));
    } else {
      mst = await mst.add(op.path, asCid(op.prev));
    }
  }
  const inverted = await mst.getPointer();
  if (!inverted.equals(asCid(ev.prevData))) {
    throw new Error(`inverted root ${inverted} is not prevData ${ev.prevData}`);
  }
  return { rev: ev.rev, since: ev.since, data: commit.data, prevData: ev.prevData };
}

/** Checks the whole #commit chain of did: each event passes
 * checkCommitEvent, each since is the previous rev, revs increase, and the
 * last rev is headRev.  Returns the number of events. */
export async function checkCommitChain(stack, did, didkey, headRev) {
  const evs = commitEvents(stack, did);
  let prev = null;
  for (const ev of evs) {
    const got = await checkCommitEvent(ev, didkey);
    if (prev !== null) {
      if (ev.since !== prev.rev) {
        throw new Error(`since ${ev.since} after rev ${prev.rev}`);
      }
      if (!(ev.rev > prev.rev)) throw new Error('revs not increasing');
      if (!asCid(ev.prevData).equals(prev.data)) throw new Error('prevData chain');
    }
    prev = got;
  }
  if (headRev !== undefined && prev !== null && prev.rev !== headRev) {
    throw new Error(`last event rev ${prev.rev} is not the head ${headRev}`);
  }
  return evs.length;
}

/** An XRPC error's {status, error, message} from a rejected @atproto/api
 * call (or the value when it did not reject). */
export async function xrpcError(promise) {
  try {
    const v = await promise;
    return { ok: true, value: v };
  } catch (e) {
    return { ok: false, status: e.status, error: e.error, message: e.message };
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
