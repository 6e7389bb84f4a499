// proxy.test.mjs: the app view proxy, service auth and the app.bsky
// methods the PDS answers itself, through real nginx (tests/lib/
// stack.mjs), against fake app view / chat / report services on loopback
// (tests/lib/fake-appview.mjs) that check EVERY service JWT with the
// official @atproto/xrpc-server verifyJwt() and the DID document from the
// local PLC, and count what reaches them.
//
// Covered: @atproto/api reading a timeline, a profile, a thread and
// notifications; chat.bsky through atproto-proxy did:web:...#bsky_chat;
// createReport to the report service; preferences stored locally (full
// access, app passwords, declaredAgePref); getServiceAuth's rules and its
// tokens checked by the official verifier; forged, expired and
// wrong-audience tokens refused before any upstream work; forwarded
// headers both ways and a streamed request body; upstream errors kept;
// a 50 MB answer streamed with flat worker memory; size limit; a hanging
// and a stalling upstream cut at the configured timeouts; getFeed with
// the feed generator as audience; push registration; age assurance (ours);
// SSRF protection refusing private addresses and http.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { AtpAgent } from '@atproto/api';
import { IdResolver } from '@atproto/identity';
import { verifyJwt } from '@atproto/xrpc-server';
import { startStack, workerPids, isExecutable, bins, binDir } from '../lib/stack.mjs';
import { startPlc } from '../lib/plc-server.mjs';
import { newAccount, sleep, xrpcError } from '../lib/repoutil.mjs';
import { startFakeService, startConnectionCounter, startDidWeb, patternDigest,
  FEEDGEN_DID, REPO_REV } from '../lib/fake-appview.mjs';

const built = isExecutable(bins.fcgi);
const TOOL = path.join(binDir, 'tests/lib/tool_svcauth');
const MB = 1 << 20;

function tool(...args) {
  try {
    return execFileSync(TOOL, args, { encoding: 'utf8' }).trim();
  } catch (e) {
    return String(e.stdout ?? '').trim();
  }
}

/** A raw XRPC call: {status, headers, json, text}. */
async function call(stack, nsid, { token, method = 'GET', query = '', headers = {},
  body } = {}) {
  const h = { ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  const res = await fetch(`${stack.url}/xrpc/${nsid}${query ? `?${query}` : ''}`,
    { method, headers: h, body });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, headers: res.headers, json, text };
}

function vmKiB(pid, field) {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(
    fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

/** An HS256 access token signed with a secret that is not the PDS's. */
function forgedAccess(did) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const head = `${b64({ typ: 'at+jwt', alg: 'HS256' })}.${b64({
    scope: 'com.atproto.access', aud: 'did:web:localhost', sub: did,
    iat: now, exp: now + 3600 })}`;
  const sig = crypto.createHmac('sha256', 'not-the-secret').update(head).digest('base64url');
  return `${head}.${sig}`;
}

describe('app view proxy', { skip: !built && 'pds-fcgi not built' }, () => {
  let plc, appview, chat, report, stack, alice, idResolver;

  before(async () => {
    plc = await startPlc();
    idResolver = new IdResolver({ plcUrl: plc.url, fetch: globalThis.fetch });
    appview = await startFakeService({ plcUrl: plc.url, name: 'appview' });
    chat = await startFakeService({ plcUrl: plc.url, name: 'chat' });
    report = await startFakeService({ plcUrl: plc.url, name: 'report' });
    stack = await startStack({ plcUrl: plc.url, workers: 2, env: {
      PDS_BSKY_APP_VIEW_URL: appview.url,
      PDS_BSKY_APP_VIEW_DID: appview.did,
      PDS_REPORT_SERVICE_URL: report.url,
      PDS_REPORT_SERVICE_DID: report.did,
      PDS_PROXY_HEADERS_TIMEOUT: '1500',
      PDS_PROXY_BODY_TIMEOUT: '1500',
      PDS_PROXY_MAX_RESPONSE_SIZE: String(60 * MB),
      PDS_AGE_ASSURANCE_LOCAL: 'true',
    } });
    alice = await newAccount(stack, 'alice');
  });

  after(async () => {
    const st = await stack?.stop();
    await Promise.all([appview?.close(), chat?.close(), report?.close()]);
    await plc?.close();
    assert.deepEqual(st?.sanitizer ?? [], []);
  });

  const lastPayload = (svc, nsid) => svc.last[nsid]?.payload;

  test('@atproto/api: timeline, profile, thread, notifications', async () => {
    appview.reset();
    const a = alice.agent;
    const tl = await a.getTimeline({ limit: 10 });
    assert.equal(tl.data.feed[0].post.record.text, `timeline of ${alice.did}`);
    assert.equal(tl.headers['atproto-repo-rev'], REPO_REV);
    assert.equal(tl.headers['content-language'], 'en');
    const prof = await a.getProfile({ actor: alice.did });
    assert.equal(prof.data.displayName, `p:${alice.did.slice(-6)}:${alice.did.slice(-6)}`);
    const uri = `at://${alice.did}/app.bsky.feed.post/3l2aaaaaaaa2a`;
    const th = await a.getPostThread({ uri });
    assert.equal(th.data.thread.uri, uri);
    const notifs = await a.listNotifications();
    assert.equal(notifs.data.notifications[0].reason, 'like');
    for (const nsid of ['app.bsky.feed.getTimeline', 'app.bsky.actor.getProfile',
      'app.bsky.feed.getPostThread', 'app.bsky.notification.listNotifications']) {
      assert.equal(appview.hits[nsid], 1, nsid);
      const p = lastPayload(appview, nsid);
      assert.equal(p.iss, alice.did);
      assert.equal(p.aud, appview.did);
      assert.equal(p.lxm, nsid);
      assert.match(p.jti, /^[0-9a-f]{32}$/);
      assert.equal(p.exp - p.iat, 60);
    }
    assert.equal(appview.rejected, 0, appview.errors.join('\n'));
    // the other read-after-write routes are proxied too
    await a.app.bsky.feed.getAuthorFeed({ actor: alice.did });
    await a.app.bsky.feed.getActorLikes({ actor: alice.did });
    const ps = await a.getProfiles({ actors: [alice.did, 'did:plc:other'] });
    assert.equal(ps.data.profiles.length, 2);
    assert.equal(appview.hits['app.bsky.actor.getProfiles'], 1);
  });

  test('read-after-write: the newer local profile is merged in', async () => {
    appview.reset();
    const a = alice.agent;
    // no local record newer than the app view's rev: passed on as it came
    let p = await a.getProfile({ actor: alice.did });
    assert.equal(p.headers['atproto-repo-rev'], REPO_REV);
    assert.equal(p.headers['atproto-upstream-lag'], undefined);
    const post = await a.com.atproto.repo.createRecord({ repo: alice.did,
      collection: 'app.bsky.feed.post', record: { $type: 'app.bsky.feed.post',
        text: 'before', createdAt: new Date().toISOString() } });
    appview.repoRev = post.data.commit.rev;
    await a.com.atproto.repo.putRecord({ repo: alice.did,
      collection: 'app.bsky.actor.profile', rkey: 'self', record: {
        $type: 'app.bsky.actor.profile', displayName: 'Alice Local',
        description: 'written a moment ago' } });
    try {
      p = await a.getProfile({ actor: alice.did });
      assert.equal(p.data.displayName, 'Alice Local');
      assert.equal(p.data.description, 'written a moment ago');
      assert.equal(p.data.avatar, undefined, 'no avatar in the local record');
      assert.equal(p.data.followersCount, 3);
      assert.match(p.headers['atproto-upstream-lag'], /^\d+$/);
      assert.equal(p.headers['atproto-repo-rev'], undefined);
      const ps = await a.getProfiles({ actors: ['did:plc:other', alice.did] });
      assert.equal(ps.data.profiles[0].displayName, 'upstream');
      assert.equal(ps.data.profiles[1].displayName, 'Alice Local');
      // someone else's profile is not touched
      const other = await a.getProfile({ actor: 'did:plc:other' });
      assert.match(other.data.displayName, /^p:/);
    } finally {
      appview.repoRev = REPO_REV;
    }
  });

  test('read-after-write: newer local posts in timeline, author feed, thread', async () => {
    appview.reset();
    const a = alice.agent;
    const mk = (text, extra = {}) => a.com.atproto.repo.createRecord({ repo: alice.did,
      collection: 'app.bsky.feed.post', record: { $type: 'app.bsky.feed.post',
        text, createdAt: new Date().toISOString(), ...extra } });
    const root = await mk('root post');
    const rootView = { uri: root.data.uri, cid: root.data.cid,
      author: { did: alice.did, handle: 'upstream.test' },
      record: { $type: 'app.bsky.feed.post', text: 'root post',
        createdAt: '2024-01-01T00:00:00.000Z' },
      indexedAt: '2024-01-01T00:00:00.000Z' };
    const current = async () => (await a.com.atproto.sync.getLatestCommit(
      { did: alice.did })).data.rev;
    appview.repoRev = await current();
    appview.threadPost = rootView;
    appview.authorFeed = [{ post: rootView }];
    try {
      // the app view is current: streamed as it came, nothing merged
      let tl = await a.getTimeline();
      assert.equal(tl.data.feed.length, 1);
      assert.equal(tl.headers['atproto-repo-rev'], appview.repoRev);
      assert.equal(tl.headers['atproto-upstream-lag'], undefined);
      const ref = { uri: root.data.uri, cid: root.data.cid };
      const reply = await mk('a local reply', { reply: { root: ref, parent: ref } });
      const top = await mk('newest local post');
      tl = await a.getTimeline();
      assert.match(tl.headers['atproto-upstream-lag'], /^\d+$/);
      assert.equal(tl.headers['atproto-repo-rev'], undefined);
      assert.deepEqual(tl.data.feed.map((i) => i.post.record.text),
        ['newest local post', 'a local reply', `timeline of ${alice.did}`]);
      const pv = tl.data.feed[0].post;
      assert.deepEqual(Object.keys(pv), ['uri', 'cid', 'likeCount', 'replyCount',
        'repostCount', 'quoteCount', 'author', 'record', 'indexedAt']);
      assert.equal(pv.uri, top.data.uri);
      assert.equal(pv.cid, top.data.cid);
      assert.equal(pv.likeCount, 0);
      assert.equal(pv.author.did, alice.did);
      assert.equal(pv.author.handle, alice.handle);
      assert.equal(pv.author.displayName, 'Alice Local');
      assert.equal(pv.record.$type, 'app.bsky.feed.post');
      const af = await a.getAuthorFeed({ actor: alice.did });
      assert.deepEqual(af.data.feed.map((i) => i.post.record.text),
        ['newest local post', 'a local reply', 'root post']);
      assert.equal(af.data.feed[2].post.author.handle, 'upstream.test');
      const th = await a.getPostThread({ uri: root.data.uri });
      assert.equal(th.data.thread.replies.length, 1);
      assert.equal(th.data.thread.replies[0].$type, 'app.bsky.feed.defs#threadViewPost');
      assert.equal(th.data.thread.replies[0].post.uri, reply.data.uri);
      assert.equal(th.data.thread.replies[0].post.record.reply.parent.uri, root.data.uri);
      // caught up again: nothing merged
      appview.repoRev = await current();
      tl = await a.getTimeline();
      assert.equal(tl.data.feed.length, 1);
      assert.equal(tl.headers['atproto-upstream-lag'], undefined);
    } finally {
      appview.repoRev = REPO_REV;
      appview.threadPost = undefined;
      appview.authorFeed = undefined;
    }
  });

  test('chat.bsky through atproto-proxy did:web#bsky_chat', async () => {
    appview.reset();
    chat.reset();
    const r = await alice.agent.withProxy('bsky_chat', chat.did)
      .chat.bsky.convo.listConvos();
    assert.equal(r.data.cursor, 'chat-convos');
    assert.equal(chat.hits['chat.bsky.convo.listConvos'], 1);
    assert.equal(lastPayload(chat, 'chat.bsky.convo.listConvos').aud, chat.did);
    assert.equal(appview.count(), 0);
    assert.equal(chat.rejected, 0, chat.errors.join('\n'));
    // <app view DID>#bsky_appview goes to the configured URL unresolved
    const r2 = await call(stack, 'app.bsky.feed.getTimeline', {
      token: alice.agent.session.accessJwt,
      headers: { 'atproto-proxy': `${appview.did}#bsky_appview` } });
    assert.equal(r2.status, 200);
  });

  test('getRecord for a repository hosted elsewhere: pipethrough, no JWT', async () => {
    appview.reset();
    const r = await call(stack, 'com.atproto.repo.getRecord',
      { query: 'repo=did:plc:elsewhere&collection=app.bsky.feed.post&rkey=3l2aaaaaaaa2a' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.value.text, 'from the app view');
    assert.equal(appview.hits['com.atproto.repo.getRecord'], 1);
    assert.equal(appview.last['com.atproto.repo.getRecord'].headers.authorization, undefined);
  });

  test('createReport goes to the report service', async () => {
    report.reset();
    appview.reset();
    const r = await alice.agent.com.atproto.moderation.createReport({
      reasonType: 'com.atproto.moderation.defs#reasonSpam', reason: 'spam',
      subject: { $type: 'com.atproto.admin.defs#repoRef', did: 'did:plc:spammer' } });
    assert.equal(r.data.reportedBy, alice.did);
    assert.equal(r.data.reason, 'spam');
    assert.equal(report.hits['com.atproto.moderation.createReport'], 1);
    assert.equal(lastPayload(report, 'com.atproto.moderation.createReport').aud, report.did);
    assert.equal(appview.count(), 0);
  });

  test('catch-all refusals', async () => {
    appview.reset();
    const tok = alice.agent.session.accessJwt;
    let r = await call(stack, 'app.bsky.feed.getTimeline');
    assert.equal(r.status, 401);
    assert.equal(r.json.error, 'AuthMissing');
    r = await call(stack, 'app.bsky.feed.getTimeline', { token: forgedAccess(alice.did) });
    assert.equal(r.status, 400);
    assert.equal(r.json.error, 'InvalidToken');
    r = await call(stack, 'test.fake.echo', { token: tok, method: 'PUT', body: 'x' });
    assert.equal(r.status, 400);
    assert.equal(r.json.message, 'XRPC requests only supports GET and POST');
    r = await call(stack, 'tools.ozone.team.listMembers', { token: tok });
    assert.equal(r.status, 400);
    assert.equal(r.json.message, 'No service configured for tools.ozone.team.listMembers');
    const bad = [
      ['did:web:x', 'no service id specified in proxy header'],
      ['#bsky_chat', 'no did specified in proxy header'],
      ['did:web:x#a#b', 'invalid proxy header format'],
      [`${chat.did} #bsky_chat`, 'proxy header cannot contain spaces'],
      ['did:plc:aaaaaaaaaaaaaaaaaaaaaaaa#bsky_chat', 'could not resolve proxy did'],
      [`${chat.did}#nope`, 'could not resolve proxy did service url'],
    ];
    for (const [h, msg] of bad) {
      r = await call(stack, 'chat.bsky.convo.getUnreadCounts', { token: tok,
        headers: { 'atproto-proxy': h } });
      assert.equal(r.status, 400, h);
      assert.equal(r.json.message, msg, h);
    }
    // protected methods are never forwarded, whatever the route table holds
    for (const nsid of ['com.atproto.admin.sendEmail', 'com.atproto.server.confirmEmail',
      'com.atproto.server.requestEmailUpdate', 'com.atproto.identity.signPlcOperation',
      'com.atproto.server.getAccountInviteCodes']) {
      await call(stack, nsid, { token: tok, method: 'POST',
        headers: { 'content-type': 'application/json' }, body: '{}' });
    }
    assert.equal(appview.count(), 0);
    assert.equal(appview.rejected, 0);
  });

  test('privileged methods need a privileged token', async () => {
    chat.reset();
    const mk = async (privileged) => {
      const name = `p${privileged}${Date.now()}`;
      const pw = (await alice.agent.com.atproto.server.createAppPassword({ name,
        privileged })).data.password;
      const ag = new AtpAgent({ service: stack.url });
      await ag.login({ identifier: alice.handle, password: pw });
      return ag;
    };
    const plain = await mk(false);
    const priv = await mk(true);
    const e = await xrpcError(plain.withProxy('bsky_chat', chat.did)
      .chat.bsky.convo.listConvos());
    assert.equal(e.status, 400);
    assert.equal(e.error, 'InvalidToken');
    assert.equal(e.message, 'Bad token method');
    assert.equal(chat.count(), 0);
    const ok = await priv.withProxy('bsky_chat', chat.did).chat.bsky.convo.listConvos();
    assert.equal(ok.data.cursor, 'chat-convos');
    // a non-privileged method works with the plain app password
    const ok2 = await plain.withProxy('bsky_chat', chat.did)
      .chat.bsky.convo.getUnreadCounts().catch((x) => x);
    assert.equal(chat.hits['chat.bsky.convo.getUnreadCounts'], 1, String(ok2));
    // getServiceAuth applies the same rule
    const g = await xrpcError(plain.com.atproto.server.getServiceAuth({ aud: chat.did,
      lxm: 'chat.bsky.convo.listConvos' }));
    assert.equal(g.status, 400);
    assert.equal(g.message, 'insufficient access to request a service auth token for '
      + 'the following method: chat.bsky.convo.listConvos');
    // preferences: personalDetailsPref needs full access
    await alice.agent.app.bsky.actor.putPreferences({ preferences: [
      { $type: 'app.bsky.actor.defs#adultContentPref', enabled: false },
      { $type: 'app.bsky.actor.defs#personalDetailsPref', birthDate: '1990-05-05T00:00:00.000Z' }] });
    const seen = (await plain.app.bsky.actor.getPreferences()).data.preferences;
    assert.deepEqual(seen.map((p) => p.$type), ['app.bsky.actor.defs#adultContentPref',
      'app.bsky.actor.defs#declaredAgePref']);
    const pe = await xrpcError(plain.app.bsky.actor.putPreferences({ preferences: [
      { $type: 'app.bsky.actor.defs#personalDetailsPref', birthDate: '2000-01-01T00:00:00.000Z' }] }));
    assert.equal(pe.status, 400);
    assert.equal(pe.message, 'Do not have authorization to set preferences: '
      + 'app.bsky.actor.defs#personalDetailsPref');
    // all of $type: "...#personalDetailsPref\u0000x" is another preference,
    // which an app password may set and see
    const nul = 'app.bsky.actor.defs#personalDetailsPref\u0000x';
    const json = { 'content-type': 'application/json' };
    let pr = await call(stack, 'app.bsky.actor.putPreferences', { token: plain.session.accessJwt,
      method: 'POST', headers: json, body: JSON.stringify({ preferences: [
        { $type: 'app.bsky.actor.defs#adultContentPref', enabled: false },
        { $type: nul, birthDate: '2000-01-01T00:00:00.000Z' }] }) });
    assert.equal(pr.status, 200, pr.text);
    pr = await call(stack, 'app.bsky.actor.getPreferences', { token: plain.session.accessJwt });
    assert.deepEqual(pr.json.preferences.map((p) => p.$type), [
      'app.bsky.actor.defs#adultContentPref', nul, 'app.bsky.actor.defs#declaredAgePref']);
    // an app password replaces what it may see, and keeps the rest
    await plain.app.bsky.actor.putPreferences({ preferences: [
      { $type: 'app.bsky.actor.defs#adultContentPref', enabled: true }] });
    const full = (await alice.agent.app.bsky.actor.getPreferences()).data.preferences;
    assert.deepEqual(full.map((p) => p.$type), ['app.bsky.actor.defs#personalDetailsPref',
      'app.bsky.actor.defs#adultContentPref', 'app.bsky.actor.defs#declaredAgePref']);
  });

  test('preferences round-trip locally', async () => {
    appview.reset();
    chat.reset();
    const a = alice.agent;
    const prefs = [
      { $type: 'app.bsky.actor.defs#adultContentPref', enabled: true },
      { $type: 'app.bsky.actor.defs#savedFeedsPrefV2', items: [{ id: '3l2', type: 'timeline',
        value: 'following', pinned: true }] },
      { $type: 'app.bsky.actor.defs#personalDetailsPref', birthDate: '2010-01-01T00:00:00.000Z' },
      { $type: 'app.bsky.actor.defs#declaredAgePref', isOverAge13: false },
      { $type: 'app.bsky.actor.defs#contentLabelPref', label: 'nsfw', visibility: 'warn',
        labelerDid: 'did:plc:labeler' },
    ];
    await a.app.bsky.actor.putPreferences({ preferences: prefs });
    const got = (await a.app.bsky.actor.getPreferences()).data.preferences;
    const age = new Date().getFullYear() - 2010;
    assert.deepEqual(got, [prefs[0], prefs[1], prefs[2], prefs[4],
      { $type: 'app.bsky.actor.defs#declaredAgePref', isOverAge13: age >= 13,
        isOverAge16: age >= 16, isOverAge18: age >= 18 }]);
    // the bsky client's own helpers read them back
    const bp = await a.getPreferences();
    assert.equal(bp.moderationPrefs.adultContentEnabled, true);
    // an RFC 3339 offset is honoured (new Date())
    await a.app.bsky.actor.putPreferences({ preferences: [
      { $type: 'app.bsky.actor.defs#personalDetailsPref',
        birthDate: '1990-06-30T12:00:00+02:00' }] });
    assert.deepEqual((await a.app.bsky.actor.getPreferences()).data.preferences[1],
      { $type: 'app.bsky.actor.defs#declaredAgePref', isOverAge13: true,
        isOverAge16: true, isOverAge18: true });
    // all of $type: "...#declaredAgePref\u0000x" is not the derived
    // preference, so it is kept like any other; "app.bsky\u0000.x" is
    // outside the namespace
    const odd = { $type: 'app.bsky.actor.defs#declaredAgePref\u0000x', isOverAge13: true };
    const put = (preferences) => call(stack, 'app.bsky.actor.putPreferences', {
      token: a.session.accessJwt, method: 'POST',
      headers: { 'content-type': 'application/json' }, body: JSON.stringify({ preferences }) });
    let pr = await put([odd]);
    assert.equal(pr.status, 200, pr.text);
    pr = await call(stack, 'app.bsky.actor.getPreferences', { token: a.session.accessJwt });
    assert.deepEqual(pr.json.preferences, [odd]);
    pr = await put([{ $type: 'app.bsky\u0000.x' }]);
    assert.deepEqual(pr.json, { error: 'InvalidRequest',
      message: 'Some preferences are not in the app.bsky namespace' });
    // a birthDate with a NUL is an Invalid Date (new Date()): no age
    pr = await put([{ $type: 'app.bsky.actor.defs#personalDetailsPref',
      birthDate: '1990-06-30\u0000' }]);
    assert.equal(pr.status, 200, pr.text);
    pr = await call(stack, 'app.bsky.actor.getPreferences', { token: a.session.accessJwt });
    assert.deepEqual(pr.json.preferences[1], { $type: 'app.bsky.actor.defs#declaredAgePref',
      isOverAge13: false, isOverAge16: false, isOverAge18: false });
    // replace all
    await a.app.bsky.actor.putPreferences({ preferences: [] });
    assert.deepEqual((await a.app.bsky.actor.getPreferences()).data.preferences, []);
    // refusals
    let e = await xrpcError(a.app.bsky.actor.putPreferences({ preferences: [
      { $type: 'com.example.pref', x: 1 }] }));
    assert.equal(e.message, 'Some preferences are not in the app.bsky namespace');
    const tok = a.session.accessJwt;
    let r = await call(stack, 'app.bsky.actor.putPreferences', { token: tok, method: 'POST',
      headers: { 'content-type': 'application/json' }, body: '{"preferences":[{"x":1}]}' });
    assert.equal(r.status, 400);
    r = await call(stack, 'app.bsky.actor.putPreferences', { token: tok, method: 'POST',
      headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(r.status, 400);
    assert.match(r.json.message, /preferences/);
    r = await call(stack, 'app.bsky.actor.putPreferences', { token: tok, method: 'POST',
      headers: { 'content-type': 'application/json' }, body: '{"preferences":5}' });
    assert.equal(r.status, 400);
    r = await call(stack, 'app.bsky.actor.getPreferences', { token: tok, method: 'POST' });
    assert.equal(r.status, 400);
    assert.equal(appview.count(), 0, 'stored locally, never proxied');
    // atproto-proxy naming another app view: proxied there
    e = await a.withProxy('bsky_appview', chat.did).app.bsky.actor.putPreferences({
      preferences: [{ $type: 'app.bsky.actor.defs#adultContentPref', enabled: false }] });
    const other = await a.withProxy('bsky_appview', chat.did).app.bsky.actor.getPreferences();
    assert.equal(other.data.preferences[0].enabled, false);
    assert.equal(chat.hits['app.bsky.actor.getPreferences'], 1);
    assert.equal(lastPayload(chat, 'app.bsky.actor.getPreferences').aud, chat.did);
    assert.deepEqual((await a.app.bsky.actor.getPreferences()).data.preferences, []);
  });

  test('getServiceAuth: rules, and tokens the official verifier accepts', async () => {
    const a = alice.agent;
    const now = Math.floor(Date.now() / 1000);
    const key = (iss, force) => idResolver.did.resolveAtprotoKey(iss, force);
    let t = (await a.com.atproto.server.getServiceAuth({ aud: chat.did,
      lxm: 'chat.bsky.convo.listConvos' })).data.token;
    let p = await verifyJwt(t, chat.did, 'chat.bsky.convo.listConvos', key);
    assert.equal(p.iss, alice.did);
    assert.deepEqual(JSON.parse(Buffer.from(t.split('.')[0], 'base64url')),
      { typ: 'JWT', alg: 'ES256K' });
    assert.deepEqual(Object.keys(p), ['iat', 'iss', 'aud', 'exp', 'lxm', 'jti']);
    t = (await a.com.atproto.server.getServiceAuth({ aud: `${chat.did}#bsky_chat`,
      exp: now + 3000, lxm: 'chat.bsky.convo.getLog' })).data.token;
    p = await verifyJwt(t, `${chat.did}#bsky_chat`, 'chat.bsky.convo.getLog', key);
    assert.equal(p.exp, now + 3000);
    t = (await a.com.atproto.server.getServiceAuth({ aud: chat.did })).data.token;
    p = await verifyJwt(t, chat.did, null, key);
    assert.equal(p.lxm, undefined);
    const cases = [
      [{ aud: chat.did, exp: now - 10 }, 'BadExpiration', 'expiration is in past'],
      [{ aud: chat.did, exp: now + 7200, lxm: 'app.bsky.feed.getTimeline' }, 'BadExpiration',
        'cannot request a token with an expiration more than an hour in the future'],
      [{ aud: chat.did, exp: now + 120 }, 'BadExpiration',
        'cannot request a method-less token with an expiration more than a minute in the future'],
      [{ aud: chat.did, lxm: 'com.atproto.server.createAppPassword' }, 'InvalidRequest',
        'cannot request a service auth token for the following protected method: '
        + 'com.atproto.server.createAppPassword'],
    ];
    for (const [params, error, message] of cases) {
      const e = await xrpcError(a.com.atproto.server.getServiceAuth(params));
      assert.equal(e.status, 400, JSON.stringify(params));
      assert.equal(e.error, error);
      assert.equal(e.message, message);
    }
    let r = await call(stack, 'com.atproto.server.getServiceAuth',
      { token: a.session.accessJwt, query: 'aud=not-a-did' });
    assert.equal(r.status, 400);
    r = await call(stack, 'com.atproto.server.getServiceAuth', { query: `aud=${chat.did}` });
    assert.equal(r.status, 401);
    // the C verifier agrees with the official one on the same tokens
    const didkey = (await idResolver.did.resolveAtprotoData(alice.did)).signingKey;
    t = (await a.com.atproto.server.getServiceAuth({ aud: chat.did,
      lxm: 'chat.bsky.convo.listConvos' })).data.token;
    assert.ok(tool('verify', didkey, chat.did, 'chat.bsky.convo.listConvos', t)
      .startsWith(`ok ${alice.did} ${chat.did} chat.bsky.convo.listConvos `));
    assert.match(tool('verify', didkey, 'did:web:other', '-', t), /^err BadJwtAudience/);
    assert.match(tool('verify', didkey, chat.did, 'chat.bsky.convo.getLog', t),
      /^err BadJwtLexiconMethod/);
  });

  test('forged, expired or wrong-audience tokens never reach upstream work', async () => {
    appview.reset();
    const a = alice.agent;
    const direct = (token, nsid = 'app.bsky.feed.getTimeline') =>
      fetch(`${appview.url}/xrpc/${nsid}`, { headers: { authorization: `Bearer ${token}` } })
        .then(async (r) => ({ status: r.status, json: await r.json() }));
    // forged: signed by a key that is not the account's
    const [hex] = tool('keygen').split(' ');
    const forged = tool('sign', 'k256', hex, alice.did, appview.did, 'app.bsky.feed.getTimeline');
    let r = await direct(forged);
    assert.equal(r.status, 401);
    assert.equal(r.json.error, 'BadJwtSignature');
    // wrong audience and wrong method, minted by the PDS itself
    const wrongAud = (await a.com.atproto.server.getServiceAuth({ aud: 'did:web:elsewhere',
      lxm: 'app.bsky.feed.getTimeline' })).data.token;
    r = await direct(wrongAud);
    assert.equal(r.json.error, 'BadJwtAudience');
    const wrongLxm = (await a.com.atproto.server.getServiceAuth({ aud: appview.did,
      lxm: 'app.bsky.feed.getFeed' })).data.token;
    r = await direct(wrongLxm);
    assert.equal(r.json.error, 'BadJwtLexiconMethod');
    // expired
    const soon = (await a.com.atproto.server.getServiceAuth({ aud: appview.did,
      lxm: 'app.bsky.feed.getTimeline', exp: Math.floor(Date.now() / 1000) + 1 })).data.token;
    await sleep(2100);
    r = await direct(soon);
    assert.equal(r.json.error, 'JwtExpired');
    r = await direct('not.a.jwt');
    assert.equal(r.status, 401);
    assert.equal(appview.rejected, 5);
    assert.equal(appview.count(), 0, 'no refused token got an answer');
    // through the PDS: bad client credentials never cause an upstream call
    for (const token of [forgedAccess(alice.did), 'garbage', forged,
      a.session.refreshJwt]) {
      r = await call(stack, 'app.bsky.feed.getTimeline', { token });
      assert.ok(r.status === 400 || r.status === 401, `${r.status} ${r.text}`);
    }
    assert.equal(appview.count(), 0);
    assert.equal(appview.rejected, 5, 'the PDS sent no token the app view refused');
  });

  test('headers are forwarded both ways; the body is streamed', async () => {
    appview.reset();
    const body = crypto.randomBytes(200000);
    const r = await call(stack, 'test.fake.echo', {
      token: alice.agent.session.accessJwt, method: 'POST', query: 'a=1&b=%2F',
      headers: { 'content-type': 'application/octet-stream', 'accept-language': 'fr',
        'atproto-accept-labelers': 'did:plc:lab;redact', 'x-bsky-topics': 'art',
        'x-custom': 'no', 'accept-encoding': 'br' }, body });
    assert.equal(r.status, 200, r.text);
    const e = r.json;
    assert.equal(e.method, 'POST');
    assert.equal(e.url, '/xrpc/test.fake.echo?a=1&b=%2F');
    assert.equal(e.length, body.length);
    assert.equal(e.sha256, crypto.createHash('sha256').update(body).digest('hex'));
    assert.equal(e.headers['content-type'], 'application/octet-stream');
    assert.equal(e.headers['accept-language'], 'fr');
    assert.equal(e.headers['atproto-accept-labelers'], 'did:plc:lab;redact');
    assert.equal(e.headers['x-bsky-topics'], 'art');
    assert.equal(e.headers['accept-encoding'], 'br');
    assert.equal(e.headers['x-custom'], undefined);
    assert.notEqual(e.headers.authorization, `Bearer ${alice.agent.session.accessJwt}`);
    assert.equal(r.headers.get('atproto-content-labelers'), 'did:plc:labeler');
    assert.equal(r.headers.get('x-not-forwarded'), null);
    assert.equal(r.headers.get('cache-control'), 'private');
    const g = await call(stack, 'test.fake.echo', { token: alice.agent.session.accessJwt,
      headers: { 'accept-encoding': '' } });
    assert.equal(g.json.headers['accept-encoding'], 'identity');
    assert.equal(g.json.length, 0);
  });

  test('upstream errors keep their error and message', async () => {
    const tok = alice.agent.session.accessJwt;
    const err = async (q) => call(stack, 'test.fake.error', { token: tok, query: q });
    let r = await err(`status=404&body=${encodeURIComponent('{"error":"NotFound","message":"nope"}')}`);
    assert.deepEqual([r.status, r.json], [404, { error: 'NotFound', message: 'nope' }]);
    assert.equal(r.headers.get('retry-after'), null);
    r = await err(`status=500&body=${encodeURIComponent('{"error":"Boom","message":"down"}')}`);
    assert.deepEqual([r.status, r.json], [502, { error: 'Boom', message: 'down' }]);
    r = await err('status=409&type=text/plain&body=conflict');
    assert.deepEqual([r.status, r.json], [400, { error: 'InvalidRequest',
      message: 'InvalidRequest' }]);
    r = await err('status=503&type=text/html&body=<html>');
    assert.deepEqual([r.status, r.json], [503, { error: 'NotEnoughResources',
      message: 'NotEnoughResources' }]);
    r = await err(`status=429&body=${encodeURIComponent('{"error":"RateLimitExceeded"}')}`);
    assert.deepEqual([r.status, r.json], [429, { error: 'RateLimitExceeded',
      message: 'RateLimitExceeded' }]);
  });

  test('a 50 MB answer streams through with flat worker memory', async (t) => {
    const tok = alice.agent.session.accessJwt;
    // warm every worker up (TLS/curl state, buffers) with small proxied calls
    for (let i = 0; i < 8; i++) {
      await call(stack, 'test.fake.big', { token: tok, query: 'bytes=200000' });
    }
    const pids = workerPids(stack);
    assert.ok(pids.length >= 1);
    const before = pids.map((p) => vmKiB(p, 'VmHWM'));
    const n = 50 * MB;
    const res = await fetch(`${stack.url}/xrpc/test.fake.big?bytes=${n}`,
      { headers: { authorization: `Bearer ${tok}` } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-length'), String(n));
    const h = crypto.createHash('sha256');
    let got = 0;
    for await (const chunk of res.body) {
      h.update(chunk);
      got += chunk.length;
    }
    assert.equal(got, n);
    assert.equal(h.digest('hex'), patternDigest(n));
    const grown = pids.map((p, i) => vmKiB(p, 'VmHWM') - before[i]);
    t.diagnostic(`worker VmHWM growth (KiB): ${grown.join(', ')}; VmRSS now: ${
      pids.map((p) => vmKiB(p, 'VmRSS')).join(', ')}`);
    for (const g of grown) assert.ok(g < 1024, `worker peak RSS grew ${g} KiB`);
    // chunked (no length) works as well
    const c = await call(stack, 'test.fake.big', { token: tok, query: 'bytes=3000000&chunked=1' });
    assert.equal(c.status, 200);
    assert.equal(c.text.length > 0, true);
  });

  test('PDS_PROXY_MAX_RESPONSE_SIZE applies', async () => {
    const tok = alice.agent.session.accessJwt;
    const r = await call(stack, 'test.fake.big', { token: tok, query: `bytes=${61 * MB}` });
    assert.equal(r.status, 502);
    assert.deepEqual(r.json, { error: 'UpstreamFailure', message: 'Upstream service unreachable' });
    // without a length the answer is cut when it passes the limit, and
    // the client sees the cut (not a clean end of a chunked body)
    let got = 0, failed = false;
    try {
      const res = await fetch(`${stack.url}/xrpc/test.fake.big?bytes=${61 * MB}&chunked=1`,
        { headers: { authorization: `Bearer ${tok}` } });
      for await (const chunk of res.body) got += chunk.length;
    } catch { failed = true; }
    assert.ok(failed, `got ${got} bytes and a clean end`);
    assert.ok(got <= 60 * MB + 65536, `got ${got}`);
  });

  test('a hanging upstream is cut at the configured timeout', async (t) => {
    const tok = alice.agent.session.accessJwt;
    let t0 = Date.now();
    const r = await call(stack, 'test.fake.hang', { token: tok });
    let dt = Date.now() - t0;
    assert.equal(r.status, 502);
    assert.deepEqual(r.json, { error: 'UpstreamFailure', message: 'Upstream service unreachable' });
    assert.ok(dt >= 1400 && dt < 3500, `took ${dt} ms`);
    t.diagnostic(`hang cut after ${dt} ms (PDS_PROXY_HEADERS_TIMEOUT=1500)`);
    // headers, then silence: the body timeout cuts the connection (the
    // client must not see a complete answer)
    t0 = Date.now();
    let got = 0, failed = false;
    try {
      const res = await fetch(`${stack.url}/xrpc/test.fake.stall`,
        { headers: { authorization: `Bearer ${tok}` } });
      for await (const chunk of res.body) got += chunk.length;
    } catch { failed = true; }
    dt = Date.now() - t0;
    assert.ok(failed, `the answer looked complete (${got} bytes)`);
    assert.ok(dt >= 1400 && dt < 3500, `took ${dt} ms`);
    t.diagnostic(`stall cut after ${dt} ms (PDS_PROXY_BODY_TIMEOUT=1500), ${got} bytes`);
    // the worker serves the next call normally
    const ok = await call(stack, 'test.fake.echo', { token: tok });
    assert.equal(ok.status, 200);
  });

  test('getFeed: the feed generator is the audience', async () => {
    appview.reset();
    const feed = 'at://did:plc:creator/app.bsky.feed.generator/fake';
    const r = await alice.agent.app.bsky.feed.getFeed({ feed, limit: 5 });
    assert.equal(r.data.cursor, `feed:${feed}`);
    const gen = lastPayload(appview, 'app.bsky.feed.getFeedGenerator');
    assert.equal(gen.aud, appview.did);
    assert.equal(gen.lxm, 'app.bsky.feed.getFeedGenerator');
    const f = lastPayload(appview, 'app.bsky.feed.getFeed');
    assert.equal(f.aud, FEEDGEN_DID);
    assert.equal(f.lxm, 'app.bsky.feed.getFeedSkeleton');
    assert.equal(appview.rejected, 0, appview.errors.join('\n'));
    const e = await xrpcError(alice.agent.app.bsky.feed.getFeed({
      feed: 'at://did:plc:creator/app.bsky.feed.generator/unknown' }));
    assert.equal(e.status, 400);
    assert.equal(e.error, 'UnknownFeed');
  });

  test('push registration', async () => {
    appview.reset();
    chat.reset();
    const input = { serviceDid: appview.did, token: 'tok', platform: 'ios',
      appId: 'xyz.blueskyweb.app' };
    await alice.agent.app.bsky.notification.registerPush(input);
    assert.deepEqual(appview.last['app.bsky.notification.registerPush'].body, input);
    assert.equal(lastPayload(appview, 'app.bsky.notification.registerPush').aud, appview.did);
    // another service: its #bsky_notif endpoint
    await alice.agent.app.bsky.notification.unregisterPush({ ...input, serviceDid: chat.did });
    assert.equal(chat.hits['app.bsky.notification.unregisterPush'], 1);
    assert.equal(lastPayload(chat, 'app.bsky.notification.unregisterPush').aud, chat.did);
    const e = await xrpcError(alice.agent.app.bsky.notification.registerPush({ ...input,
      serviceDid: 'did:plc:aaaaaaaaaaaaaaaaaaaaaaaa' }));
    assert.equal(e.status, 400);
    assert.equal(e.message, 'could not resolve did document: did:plc:aaaaaaaaaaaaaaaaaaaaaaaa');
  });

  test('age assurance answered locally (PDS_AGE_ASSURANCE_LOCAL)', async () => {
    appview.reset();
    const a = alice.agent;
    const s = await a.app.bsky.unspecced.getAgeAssuranceState();
    assert.equal(s.data.status, 'assured');
    assert.ok(!Number.isNaN(Date.parse(s.data.lastInitiatedAt)));
    const g = await a.app.bsky.ageassurance.getState({ countryCode: 'GB' });
    assert.equal(g.data.state.status, 'assured');
    assert.equal(g.data.state.access, 'full');
    assert.equal(g.data.metadata.accountCreatedAt, s.data.lastInitiatedAt);
    const c = await a.app.bsky.ageassurance.getConfig();
    assert.deepEqual(c.data.regions, []);
    assert.equal(appview.count(), 0);
  });
});

describe('SSRF protection', { skip: !built && 'pds-fcgi not built' }, () => {
  let plc, appview, counter, privDoc, stackOn, stackOff, aOn, aOff;

  before(async () => {
    plc = await startPlc();
    appview = await startFakeService({ plcUrl: plc.url, name: 'appview' });
    counter = await startConnectionCounter();
    privDoc = await startDidWeb([{ id: '#svc', type: 'X',
      serviceEndpoint: `https://127.0.0.1:${counter.port}` }]);
    const env = { PDS_BSKY_APP_VIEW_URL: appview.url, PDS_BSKY_APP_VIEW_DID: appview.did };
    stackOn = await startStack({ plcUrl: plc.url, workers: 1,
      env: { ...env, PDS_DISABLE_SSRF_PROTECTION: 'false' } });
    stackOff = await startStack({ plcUrl: plc.url, workers: 1, env });
    aOn = await newAccount(stackOn, 'on');
    aOff = await newAccount(stackOff, 'off');
  });

  after(async () => {
    const s1 = await stackOn?.stop();
    const s2 = await stackOff?.stop();
    await Promise.all([appview?.close(), counter?.close(), privDoc?.close()]);
    await plc?.close();
    assert.deepEqual([...(s1?.sanitizer ?? []), ...(s2?.sanitizer ?? [])], []);
  });

  test('a private address is refused before connecting, unless protection is off', async () => {
    const h = { 'atproto-proxy': `${privDoc.did}#svc` };
    let r = await call(stackOn, 'test.fake.echo', { token: aOn.agent.session.accessJwt, headers: h });
    assert.equal(r.status, 502);
    assert.deepEqual(r.json, { error: 'UpstreamFailure', message: 'Upstream service unreachable' });
    assert.equal(counter.connections, 0, 'never connected');
    assert.match(stackOn.log('fcgi'), /refused address 127\.0\.0\.1 \(SSRF protection\)/);
    r = await call(stackOff, 'test.fake.echo', { token: aOff.agent.session.accessJwt, headers: h });
    assert.equal(r.status, 502);	/* not TLS: the handshake fails */
    assert.ok(counter.connections >= 1, 'protection off: connected');
  });

  test('plain http is refused with protection on', async () => {
    appview.reset();
    const r = await call(stackOn, 'test.fake.echo', { token: aOn.agent.session.accessJwt });
    assert.equal(r.status, 502);
    assert.equal(appview.count(), 0);
    const ok = await call(stackOff, 'test.fake.echo', { token: aOff.agent.session.accessJwt });
    assert.equal(ok.status, 200);
    assert.equal(appview.count(), 1);
  });
});
