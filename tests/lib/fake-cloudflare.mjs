// fake-cloudflare.mjs: a loopback stand-in for the Cloudflare v4 API
// endpoints pds-ddns uses, for tests only: GET /zones?name=,
// GET/POST /zones/:zone/dns_records, PUT/DELETE
// /zones/:zone/dns_records/:id.  Every request must carry
// "Authorization: Bearer <token>" with the configured token, else 403 with
// Cloudflare's error envelope (code 10000 "Authentication error").
import http from 'node:http';
import crypto from 'node:crypto';

const MAX_BODY = 64 * 1024;

function envelope(result, extra = {}) {
  return JSON.stringify({ success: true, errors: [], messages: [], result,
    ...extra });
}

function failure(code, message) {
  return JSON.stringify({ success: false, errors: [{ code, message }],
    messages: [], result: null });
}

export class FakeCloudflare {
  // opts: { token, zones: [{ id, name }] }
  constructor(opts) {
    this.token = opts.token;
    this.zones = opts.zones.map((z) => ({ id: z.id, name: z.name,
      records: new Map() }));
    this.log = [];      // { method, path, status }
    this.writes = 0;    // accepted POST/PUT/DELETE calls
  }

  async start() {
    this.server = http.createServer((req, res) => this.#handle(req, res));
    await new Promise((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${this.server.address().port}/client/v4`;
    return this;
  }

  async close() {
    if (this.server) await new Promise((r) => this.server.close(r));
  }

  zone(id) { return this.zones.find((z) => z.id === id); }

  // Test helpers.
  records(zoneId, name, type) {
    return [...this.zone(zoneId).records.values()].filter((r) =>
      r.name === name && r.type === type);
  }

  addRecord(zoneId, rec) {
    const id = crypto.randomBytes(16).toString('hex');
    const r = { id, proxied: false, ttl: 1, ...rec };
    this.zone(zoneId).records.set(id, r);
    return r;
  }

  #send(res, status, body, entry) {
    entry.status = status;
    this.log.push(entry);
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(body);
  }

  #handle(req, res) {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => { size += c.length; if (size <= MAX_BODY) chunks.push(c); });
    req.on('end', () => {
      const entry = { method: req.method, path: req.url };
      if (req.headers.authorization !== `Bearer ${this.token}`)
        return this.#send(res, 403, failure(10000, 'Authentication error'), entry);
      if (size > MAX_BODY)
        return this.#send(res, 413, failure(1001, 'body too large'), entry);
      let body = null;
      if (chunks.length) {
        if (!/^application\/json/.test(req.headers['content-type'] || ''))
          return this.#send(res, 400, failure(6003, 'Invalid request headers'), entry);
        try { body = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch {
          return this.#send(res, 400, failure(9207, 'Request body is invalid.'), entry);
        }
      }
      this.#route(req, body, res, entry);
    });
  }

  #check(z, b) {
    if (!b || typeof b !== 'object') return 'Request body is invalid.';
    if (!['A', 'AAAA'].includes(b.type)) return 'Invalid type';
    if (typeof b.name !== 'string' || !(b.name === z.name || b.name.endsWith('.' + z.name)))
      return 'Name is not in the zone';
    if (b.type === 'A' && !/^\d{1,3}(\.\d{1,3}){3}$/.test(b.content)) return 'Content for A record must be a valid IPv4 address.';
    if (b.type === 'AAAA' && !/^[0-9a-f:]+$/i.test(b.content)) return 'Content for AAAA record must be a valid IPv6 address.';
    if (!Number.isInteger(b.ttl) || !(b.ttl === 1 || (b.ttl >= 60 && b.ttl <= 86400)))
      return 'TTL must be between 60 and 86400 seconds, or 1 for Automatic.';
    if (b.proxied !== undefined && typeof b.proxied !== 'boolean') return 'proxied must be a boolean';
    return null;
  }

  #route(req, body, res, entry) {
    const u = new URL(req.url, 'http://x');
    const q = u.searchParams;
    let m;
    if (req.method === 'GET' && u.pathname === '/client/v4/zones') {
      const zs = this.zones.filter((z) => !q.get('name') || z.name === q.get('name'))
        .map((z) => ({ id: z.id, name: z.name, status: 'active' }));
      return this.#send(res, 200, envelope(zs, { result_info: { page: 1,
        per_page: 20, count: zs.length, total_count: zs.length } }), entry);
    }
    if ((m = /^\/client\/v4\/zones\/([0-9a-f]{32})\/dns_records(?:\/([0-9a-f]{32}))?$/.exec(u.pathname))) {
      const z = this.zone(m[1]);
      if (!z) return this.#send(res, 404, failure(7003, 'Could not route to /zones, perhaps your object identifier is invalid?'), entry);
      const id = m[2];
      if (req.method === 'GET' && !id) {
        const rs = [...z.records.values()].filter((r) =>
          (!q.get('name') || r.name === q.get('name')) &&
          (!q.get('type') || r.type === q.get('type')));
        return this.#send(res, 200, envelope(rs.map((r) => ({ ...r,
          zone_id: z.id, zone_name: z.name })), { result_info: { page: 1,
          per_page: 100, count: rs.length, total_count: rs.length } }), entry);
      }
      if (req.method === 'POST' && !id) {
        const bad = this.#check(z, body);
        if (bad) return this.#send(res, 400, failure(9000, bad), entry);
        const r = this.addRecord(z.id, { name: body.name, type: body.type,
          content: body.content, ttl: body.ttl, proxied: !!body.proxied });
        this.writes++;
        return this.#send(res, 200, envelope(r), entry);
      }
      if (id && !z.records.has(id))
        return this.#send(res, 404, failure(81044, 'Record does not exist.'), entry);
      if (req.method === 'PUT' && id) {
        const bad = this.#check(z, body);
        if (bad) return this.#send(res, 400, failure(9000, bad), entry);
        const r = { id, name: body.name, type: body.type, content: body.content,
          ttl: body.ttl, proxied: !!body.proxied };
        z.records.set(id, r);
        this.writes++;
        return this.#send(res, 200, envelope(r), entry);
      }
      if (req.method === 'DELETE' && id) {
        z.records.delete(id);
        this.writes++;
        return this.#send(res, 200, envelope({ id }), entry);
      }
    }
    this.#send(res, 404, failure(7000, 'No route for that URI'), entry);
  }
}
