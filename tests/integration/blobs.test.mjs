// blobs.test.mjs: uploadBlob, getBlob, listBlobs, listMissingBlobs and
// the blob rules of record writes, through real nginx (X-Accel-Redirect,
// the shipped conf/nginx/pds-locations.conf) and without it
// (PDS_BLOB_SENDFILE=none: pds-fcgi streams the file), with the official
// @atproto/api client: MIME sniffed from the content, the CID and size of
// the bytes, temp -> permanent when a record references the blob, the
// reference's InvalidMimeType / BlobTooLarge / BlobNotFound refusals
// (writing nothing), deletion once no record references a blob, the
// getBlob headers, and uploads over PDS_BLOB_UPLOAD_LIMIT refused.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CID } from 'multiformats/cid';
import { sha256 } from 'multiformats/hashes/sha2';
import { startStack, isExecutable, bins } from '../lib/stack.mjs';
import { newAccount, xrpcError } from '../lib/repoutil.mjs';

const built = isExecutable(bins.fcgi);
const PROFILE = 'app.bsky.actor.profile';

/** A valid PNG of n extra random bytes after the signature and IHDR. */
function png(n = 100) {
  const sig = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex');
  return Buffer.concat([sig, crypto.randomBytes(n)]);
}

async function rawCid(bytes) {
  return CID.createV1(0x55, await sha256.digest(bytes)).toString();
}

async function upload(acct, bytes, type) {
  return (await acct.agent.com.atproto.repo.uploadBlob(bytes,
    { encoding: type })).data.blob;
}

function blobJson(b) {
  return { $type: 'blob', ref: { $link: b.ref.toString() }, mimeType: b.mimeType,
    size: b.size };
}

async function getBlob(stack, did, cid) {
  const res = await fetch(`${stack.url}/xrpc/com.atproto.sync.getBlob?did=${did}&cid=${cid}`);
  const body = Buffer.from(await res.arrayBuffer());
  let json = null;
  try { json = JSON.parse(body.toString()); } catch { /* bytes */ }
  return { status: res.status, headers: res.headers, body, json };
}

function filesUnder(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true })
    .filter((f) => fs.statSync(path.join(dir, f)).isFile());
}

for (const mode of ['nginx', 'none']) {
  describe(`blobs (PDS_BLOB_SENDFILE=${mode})`, { skip: !built && 'pds-fcgi not built' }, () => {
    let stack, alice, blocks;

    before(async () => {
      stack = await startStack({ workers: 2, env: { PDS_BLOB_SENDFILE: mode,
        PDS_BLOB_UPLOAD_LIMIT: '2000000' } });
      alice = await newAccount(stack, `blob${mode}`);
      blocks = stack.env.PDS_BLOBSTORE_DISK_LOCATION;
    });

    after(async () => {
      const st = await stack?.stop();
      assert.deepEqual(st?.sanitizer ?? [], []);
    });

    test('uploadBlob sniffs the type, names the bytes, keeps them as temp', async () => {
      const bytes = png(300);
      const b = await upload(alice, bytes, 'image/jpeg');
      assert.equal(b.mimeType, 'image/png');
      assert.equal(b.size, bytes.length);
      assert.equal(b.ref.toString(), await rawCid(bytes));
      const text = Buffer.from('just some text\n');
      const t = await upload(alice, text, 'text/plain');
      assert.equal(t.mimeType, 'text/plain');
      const odd = await upload(alice, Buffer.from([1, 2, 3]), 'application/x-odd');
      assert.equal(odd.mimeType, 'application/x-odd');
      // not referenced yet: only in tempt/, and not served
      assert.ok(filesUnder(path.join(blocks, 'tempt', alice.did)).length >= 3);
      assert.equal(fs.existsSync(path.join(blocks, alice.did, b.ref.toString())), false);
      const g = await getBlob(stack, alice.did, b.ref.toString());
      assert.equal(g.status, 400);
      assert.equal(g.json.error, 'BlobNotFound');
      // uploading the same bytes again is fine
      const again = await upload(alice, bytes, 'image/png');
      assert.equal(again.ref.toString(), b.ref.toString());
    });

    test('a record makes its blob permanent; getBlob sends it with its headers', async () => {
      const bytes = png(5000);
      const b = await upload(alice, bytes, 'image/png');
      const cid = b.ref.toString();
      await alice.agent.com.atproto.repo.putRecord({ repo: alice.did,
        collection: PROFILE, rkey: 'self',
        record: { displayName: 'A', avatar: blobJson(b) } });
      assert.ok(fs.existsSync(path.join(blocks, alice.did, cid)));
      const g = await getBlob(stack, alice.did, cid);
      assert.equal(g.status, 200);
      assert.deepEqual(g.body, bytes);
      assert.equal(g.headers.get('content-type'), 'image/png');
      assert.equal(g.headers.get('content-length'), String(bytes.length));
      assert.equal(g.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(g.headers.get('content-security-policy'),
        "default-src 'none'; sandbox");
      assert.equal(g.headers.get('content-disposition'),
        `attachment; filename="${cid}"`);
      const lb = await alice.agent.com.atproto.sync.listBlobs({ did: alice.did });
      assert.ok(lb.data.cids.includes(cid));
      const missing = await alice.agent.com.atproto.repo.listMissingBlobs({});
      assert.deepEqual(missing.data.blobs, []);
    });

    test('references that do not match the stored blob write nothing', async () => {
      const before = (await alice.agent.com.atproto.sync.getLatestCommit(
        { did: alice.did })).data;
      const bytes = png(200);
      const b = await upload(alice, bytes, 'image/png');
      const cases = [
        [{ ...blobJson(b), mimeType: 'image/jpeg' }, 'InvalidMimeType',
          'Referenced Mimetype does not match stored blob. Expected: image/png, Got: image/jpeg'],
        // a NUL inside the type does not make it the stored one
        [{ ...blobJson(b), mimeType: 'image/png\u0000x' }, 'InvalidMimeType',
          /^Referenced Mimetype does not match stored blob\. Expected: image\/png, Got: image\/png/],
        [{ ...blobJson(b), size: b.size + 1 }, 'InvalidBlob', undefined],
        [{ ...blobJson(b), ref: { $link: await rawCid(Buffer.from('never uploaded')) } },
          'BlobNotFound', `Could not find blob: ${await rawCid(Buffer.from('never uploaded'))}`],
      ];
      for (const [avatar, error, message] of cases) {
        const r = await xrpcError(alice.agent.com.atproto.repo.createRecord({
          repo: alice.did, collection: 'com.example.withblob',
          record: { avatar } }));
        assert.equal(r.error, error);
        if (message instanceof RegExp) assert.match(r.message, message);
        else if (message) assert.equal(r.message, message);
      }
      const t = await upload(alice, Buffer.from('plain text, not an image'), 'text/plain');
      const wrong = await xrpcError(alice.agent.com.atproto.repo.putRecord({
        repo: alice.did, collection: PROFILE, rkey: 'self',
        record: { avatar: blobJson(t) } }));
      // the schema's accept and maxSize (lex-schema strict mode)
      assert.equal(wrong.error, 'InvalidRequest');
      assert.equal(wrong.message, `Invalid ${PROFILE} record: Expected one of `
        + '"image/png" or "image/jpeg" (got "text/plain") at $.record.avatar.mimeType');
      const big = await upload(alice, png(1100000), 'image/png');
      const tooBig = await xrpcError(alice.agent.com.atproto.repo.putRecord({
        repo: alice.did, collection: PROFILE, rkey: 'self',
        record: { avatar: blobJson(big) } }));
      assert.equal(tooBig.error, 'InvalidRequest');
      assert.equal(tooBig.message, `Invalid ${PROFILE} record: blob too big `
        + `(maximum 1000000, got ${big.size}) at $.record.avatar`);
      assert.deepEqual((await alice.agent.com.atproto.sync.getLatestCommit(
        { did: alice.did })).data, before);
      // the refused blobs stayed temporary
      assert.equal(fs.existsSync(path.join(blocks, alice.did, b.ref.toString())), false);
    });

    test('a blob goes when no record references it any more', async () => {
      const bytes = png(700);
      const b = await upload(alice, bytes, 'image/png');
      const cid = b.ref.toString();
      const r1 = await alice.agent.com.atproto.repo.createRecord({ repo: alice.did,
        collection: 'com.example.withblob', record: { img: blobJson(b) } });
      const r2 = await alice.agent.com.atproto.repo.createRecord({ repo: alice.did,
        collection: 'com.example.withblob', record: { img: blobJson(b), n: 2 } });
      await alice.agent.com.atproto.repo.deleteRecord({ repo: alice.did,
        collection: 'com.example.withblob', rkey: r1.data.uri.split('/').pop() });
      assert.equal((await getBlob(stack, alice.did, cid)).status, 200);
      // an update that drops the reference
      await alice.agent.com.atproto.repo.putRecord({ repo: alice.did,
        collection: 'com.example.withblob', rkey: r2.data.uri.split('/').pop(),
        record: { n: 3 } });
      const g = await getBlob(stack, alice.did, cid);
      assert.equal(g.status, 400);
      assert.deepEqual(g.json, { error: 'BlobNotFound', message: 'Blob not found' });
      for (let i = 0; i < 50 && fs.existsSync(path.join(blocks, alice.did, cid)); i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(fs.existsSync(path.join(blocks, alice.did, cid)), false);
      const lb = await alice.agent.com.atproto.sync.listBlobs({ did: alice.did });
      assert.ok(!lb.data.cids.includes(cid));
    });

    test('uploads over PDS_BLOB_UPLOAD_LIMIT and bad requests are refused', async () => {
      const tempBefore = filesUnder(path.join(blocks, 'tempt', alice.did)).length;
      const res = await fetch(`${stack.url}/xrpc/com.atproto.repo.uploadBlob`, {
        method: 'POST', body: crypto.randomBytes(2000001),
        headers: { 'content-type': 'application/octet-stream',
          authorization: `Bearer ${alice.agent.session.accessJwt}` } });
      assert.equal(res.status, 413);
      assert.equal((await res.json()).error, 'PayloadTooLarge');
      assert.equal(filesUnder(path.join(blocks, 'tempt', alice.did)).length, tempBefore);
      const anon = await fetch(`${stack.url}/xrpc/com.atproto.repo.uploadBlob`, {
        method: 'POST', body: Buffer.from('x'),
        headers: { 'content-type': 'text/plain' } });
      assert.equal(anon.status, 401);
      const badCid = await getBlob(stack, alice.did, 'not-a-cid');
      assert.equal(badCid.status, 400);
      assert.equal(badCid.json.error, 'InvalidRequest');
      const nobody = await getBlob(stack, 'did:plc:cccccccccccccccccccccccc',
        await rawCid(Buffer.from('x')));
      assert.equal(nobody.json.error, 'RepoNotFound');
    });
  });
}
