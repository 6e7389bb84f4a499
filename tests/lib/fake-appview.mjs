// fake-appview.mjs: a fake app view / chat / report service on loopback
// for the proxy suite (tests/integration/proxy.test.mjs) and its bench.
//
// Each instance is a did:web service, did:web:localhost%3A<port>, whose DID
// document it serves itself at /.well-known/did.json (http is allowed for
// localhost by did:web resolvers, ours and @atproto/identity's alike),
// listing #bsky_appview, #bsky_chat, #atproto_labeler and #bsky_notif on
// http://localhost:<port>.
//
// EVERY /xrpc/ request must carry a service JWT, checked with the official
// @atproto/xrpc-server verifyJwt() against the issuer's DID document from
// the local PLC (@atproto/identity IdResolver, fetch: globalThis.fetch):
// aud must be this service's DID (or, for app.bsky.feed.getFeed, the feed
// generator's DID with lxm app.bsky.feed.getFeedSkeleton), lxm the called
// method.  A bad token gets 401 and is counted in `rejected`; a good one is
// counted in `hits[nsid]` and its payload kept in `last[nsid]`.
//
// Canned answers (getProfile(s) and getTimeline carry Atproto-Repo-Rev:
// `repoRev`, settable by a test, as do getPostThread when a test set
// `threadPost` and getAuthorFeed / getActorLikes when it set `authorFeed`): getTimeline, getProfile(s), getPostThread, getAuthorFeed,
// getActorLikes, listNotifications, listConvos, createReport,
// getFeedGenerator, getFeed, registerPush / unregisterPush,
// getPreferences / putPreferences (so a proxied preferences call is seen).
// Test endpoints (test.fake.*): big (N bytes, streamed), hang (never
// answers), stall (headers, then silence), error (any status and body),
// echo (request headers and body digest).

import crypto from 'node:crypto';
import http from 'node:http';
import { IdResolver, MemoryCache } from '@atproto/identity';
import { verifyJwt } from '@atproto/xrpc-server';

export const FEEDGEN_DID = 'did:web:feedgen.example';
export const REPO_REV = '3lbxxxxxxxx2a';

function json(res, status, body, headers = {}) {
  const b = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8',
    'content-length': b.length, ...headers });
  res.end(b);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Writes n bytes (a repeating pattern) in 64 KiB chunks, honouring
 * back-pressure. */
async function streamBytes(res, n) {
  const chunk = Buffer.alloc(65536);
  for (let i = 0; i < chunk.length; i++) chunk[i] = i & 0xff;
  let left = n;
  while (left > 0) {
    const c = left >= chunk.length ? chunk : chunk.subarray(0, left);
    left -= c.length;
    if (!res.write(c)) await new Promise((r) => res.once('drain', r));
  }
  res.end();
}

/** The digest streamBytes(n) produces (for the client to compare). */
export function patternDigest(n) {
  const h = crypto.createHash('sha256');
  const chunk = Buffer.alloc(65536);
  for (let i = 0; i < chunk.length; i++) chunk[i] = i & 0xff;
  let left = n;
  while (left > 0) {
    const c = left >= chunk.length ? chunk : chunk.subarray(0, left);
    h.update(c);
    left -= c.length;
  }
  return h.digest('hex');
}

/**
 * Starts one fake service.  opts: {plcUrl (required), name ('appview')}.
 * Returns {url, port, did, hits, rejected, last, errors, connections,
 * reset(), close()}.
 */
export async function startFakeService({ plcUrl, name = 'appview' } = {}) {
  // DID documents cached as an app view caches them (a rotated key is
  // still found: verifyJwt() retries with a forced refresh)
  const idResolver = new IdResolver({ plcUrl, fetch: globalThis.fetch,
    didCache: new MemoryCache() });
  const getSigningKey = (iss, force) =>
    idResolver.did.resolveAtprotoKey(iss.split('#')[0], force);
  const svc = { name, hits: {}, rejected: 0, errors: [], last: {},
    connections: 0, hanging: new Set(), repoRev: REPO_REV };
  const prefs = new Map();	// did -> preferences (proxied putPreferences)

  async function authorize(req, nsid) {
    const h = req.headers.authorization ?? '';
    if (!h.startsWith('Bearer ')) throw Object.assign(new Error('missing jwt'),
      { customErrorName: 'AuthMissing' });
    const feed = nsid === 'app.bsky.feed.getFeed';
    return verifyJwt(h.slice(7), feed ? FEEDGEN_DID : svc.did,
      feed ? 'app.bsky.feed.getFeedSkeleton' : nsid, getSigningKey);
  }

  async function route(req, res, nsid, url, payload) {
    const q = url.searchParams;
    const iss = payload.iss;
    switch (nsid) {
    case 'app.bsky.feed.getTimeline':
      return json(res, 200, { cursor: 'c1', feed: [
        { post: { uri: `at://${iss}/app.bsky.feed.post/3l2aaaaaaaa2a`,
          cid: 'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm',
          author: { did: iss, handle: 'someone.test' },
          record: { $type: 'app.bsky.feed.post', text: `timeline of ${iss}`,
            createdAt: '2024-01-01T00:00:00.000Z' },
          indexedAt: '2024-01-01T00:00:00.000Z' } }] },
      { 'atproto-repo-rev': svc.repoRev, 'content-language': 'en' });
    case 'app.bsky.actor.getProfile':
      return json(res, 200, { did: q.get('actor'), handle: 'profile.test',
        displayName: `p:${q.get('actor').slice(-6)}:${iss.slice(-6)}`,
        avatar: 'https://cdn.example/old-avatar', followersCount: 3 },
      { 'atproto-repo-rev': svc.repoRev });
    case 'app.bsky.actor.getProfiles':
      return json(res, 200, { profiles: q.getAll('actors').map((a) =>
        ({ did: a, handle: 'profile.test', displayName: 'upstream' })) },
      { 'atproto-repo-rev': svc.repoRev });
    case 'app.bsky.feed.getPostThread':
      if (svc.threadPost) {	// a thread view of the post a test gave
        return json(res, 200, { thread: { $type: 'app.bsky.feed.defs#threadViewPost',
          post: svc.threadPost, replies: [] } }, { 'atproto-repo-rev': svc.repoRev });
      }
      return json(res, 200, { thread: { $type: 'app.bsky.feed.defs#notFoundPost',
        uri: q.get('uri'), notFound: true } });
    case 'app.bsky.feed.getAuthorFeed':
    case 'app.bsky.feed.getActorLikes':
      return json(res, 200, { feed: svc.authorFeed ?? [] },
        svc.authorFeed ? { 'atproto-repo-rev': svc.repoRev } : {});
    case 'app.bsky.notification.listNotifications':
      return json(res, 200, { notifications: [{
        uri: `at://${iss}/app.bsky.feed.like/3l2bbbbbbbb2b`,
        cid: 'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm',
        author: { did: 'did:plc:friend', handle: 'friend.test' },
        reason: 'like', record: {}, isRead: false,
        indexedAt: '2024-01-01T00:00:00.000Z' }],
      seenAt: '2024-01-01T00:00:00.000Z' });
    case 'chat.bsky.convo.listConvos':
      return json(res, 200, { convos: [], cursor: `${name}-convos` });
    case 'com.atproto.moderation.createReport': {
      const body = JSON.parse((await readBody(req)).toString() || '{}');
      return json(res, 200, { id: 42, reasonType: body.reasonType,
        reason: body.reason, subject: body.subject, reportedBy: iss,
        createdAt: '2024-01-01T00:00:00.000Z' });
    }
    case 'app.bsky.feed.getFeedGenerator':
      if (q.get('feed')?.endsWith('/unknown')) {
        return json(res, 400, { error: 'UnknownFeed', message: 'Unknown feed' });
      }
      return json(res, 200, { view: { uri: q.get('feed'),
        cid: 'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm',
        did: FEEDGEN_DID, creator: { did: 'did:plc:creator', handle: 'c.test' },
        displayName: 'Fake feed', indexedAt: '2024-01-01T00:00:00.000Z' },
      isOnline: true, isValid: true });
    case 'app.bsky.feed.getFeed':
      return json(res, 200, { feed: [], cursor: `feed:${q.get('feed')}` });
    case 'app.bsky.notification.registerPush':
    case 'app.bsky.notification.unregisterPush': {
      svc.last[nsid].body = JSON.parse((await readBody(req)).toString());
      res.writeHead(200);
      return res.end();
    }
    case 'app.bsky.actor.getPreferences':
      return json(res, 200, { preferences: prefs.get(iss) ?? [] });
    case 'app.bsky.actor.putPreferences': {
      const body = JSON.parse((await readBody(req)).toString());
      prefs.set(iss, body.preferences);
      res.writeHead(200);
      return res.end();
    }
    case 'test.fake.big': {
      const n = Number(q.get('bytes') ?? 1024);
      const headers = { 'content-type': 'application/octet-stream' };
      if (q.get('chunked') !== '1') headers['content-length'] = n;
      res.writeHead(200, headers);
      return streamBytes(res, n);
    }
    case 'test.fake.hang':
      svc.hanging.add(res);
      return undefined;		// never answers
    case 'test.fake.stall':
      res.writeHead(200, { 'content-type': 'application/octet-stream',
        'content-length': 1000000 });
      res.write(Buffer.alloc(1000));
      svc.hanging.add(res);
      return undefined;
    case 'test.fake.error': {
      const status = Number(q.get('status') ?? 500);
      const body = q.get('body') ?? '';
      res.writeHead(status, { 'content-type': q.get('type') ?? 'application/json',
        'retry-after': '7', 'atproto-repo-rev': REPO_REV });
      return res.end(body);
    }
    case 'test.fake.echo': {
      const body = await readBody(req);
      return json(res, 200, { method: req.method, url: req.url,
        headers: req.headers, length: body.length,
        sha256: crypto.createHash('sha256').update(body).digest('hex') },
      { 'atproto-content-labelers': 'did:plc:labeler', 'x-not-forwarded': '1' });
    }
    default:
      return json(res, 404, { error: 'MethodNotImplemented',
        message: `fake ${name}: ${nsid}` });
    }
  }

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://localhost');
    try {
      if (url.pathname === '/.well-known/did.json') return json(res, 200, svc.doc);
      if (!url.pathname.startsWith('/xrpc/')) return json(res, 404, { error: 'NotFound' });
      const nsid = url.pathname.slice(6);
      let payload;
      if (nsid === 'com.atproto.repo.getRecord' && !req.headers.authorization) {
        // public, as on the real app view (pipethrough without a JWT)
        svc.hits[nsid] = (svc.hits[nsid] ?? 0) + 1;
        svc.last[nsid] = { headers: req.headers, url: req.url };
        return json(res, 200, { uri: `at://${url.searchParams.get('repo')}/${
          url.searchParams.get('collection')}/${url.searchParams.get('rkey')}`,
        value: { $type: 'app.bsky.feed.post', text: 'from the app view',
          createdAt: '2024-01-01T00:00:00.000Z' } });
      }
      try {
        payload = await authorize(req, nsid);
      } catch (err) {
        svc.rejected++;
        svc.errors.push(`${nsid}: ${err.customErrorName ?? err.name}: ${err.message}`);
        return json(res, 401, { error: err.customErrorName ?? 'AuthenticationRequired',
          message: err.message });
      }
      svc.hits[nsid] = (svc.hits[nsid] ?? 0) + 1;
      svc.last[nsid] = { payload, headers: req.headers, url: req.url, method: req.method };
      return await route(req, res, nsid, url, payload);
    } catch (err) {
      svc.errors.push(String(err));
      if (!res.headersSent) json(res, 500, { error: 'InternalServerError', message: String(err) });
      else res.destroy();
      return undefined;
    }
  });
  server.keepAliveTimeout = 60000;
  server.on('connection', () => { svc.connections++; });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  svc.port = server.address().port;
  svc.url = `http://localhost:${svc.port}`;
  svc.did = `did:web:localhost%3A${svc.port}`;
  svc.doc = {
    '@context': ['https://www.w3.org/ns/did/v1'],
    id: svc.did,
    service: [
      { id: '#bsky_appview', type: 'BskyAppView', serviceEndpoint: svc.url },
      { id: '#bsky_chat', type: 'BskyChatService', serviceEndpoint: svc.url },
      { id: '#atproto_labeler', type: 'AtprotoLabeler', serviceEndpoint: svc.url },
      { id: '#bsky_notif', type: 'BskyNotificationService', serviceEndpoint: svc.url },
    ],
  };
  svc.reset = () => {
    svc.hits = {};
    svc.rejected = 0;
    svc.errors = [];
    svc.last = {};
  };
  svc.count = () => Object.values(svc.hits).reduce((a, b) => a + b, 0);
  svc.close = () => new Promise((resolve) => {
    for (const r of svc.hanging) r.destroy();
    server.closeAllConnections();
    server.close(() => resolve());
  });
  return svc;
}

/**
 * A TLS-less TCP listener that only counts connections and closes them:
 * the "https" target of the SSRF tests (a refused address must never
 * be connected to).  Returns {port, connections, close()}.
 */
export async function startConnectionCounter() {
  const net = await import('node:net');
  const c = { connections: 0 };
  const server = net.createServer((s) => { c.connections++; s.destroy(); });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  c.port = server.address().port;
  c.close = () => new Promise((r) => server.close(() => r()));
  return c;
}

/** A did:web document server (http://localhost:<port>) with any services
 * (the SSRF tests point a service at a private address). */
export async function startDidWeb(services) {
  const server = http.createServer((req, res) => {
    if (req.url === '/.well-known/did.json') return json(res, 200, d.doc);
    return json(res, 404, { error: 'NotFound' });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const d = { port: server.address().port };
  d.did = `did:web:localhost%3A${d.port}`;
  d.doc = { id: d.did, service: services };
  d.close = () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); });
  return d;
}
