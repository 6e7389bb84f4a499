// fake-route53.mjs: a loopback stand-in for the Route53 REST/XML API
// (2013-04-01) that pds-ddns talks to, for tests only.
//
// Every request's AWS SigV4 signature is recomputed with the independent
// npm package `aws4` over exactly the headers the client listed in
// SignedHeaders; a bad or missing signature, a wrong key id, a wrong
// scope (region us-east-1, service route53) or a stale X-Amz-Date gets
// 403 with AWS's ErrorResponse XML.  Implemented: ListHostedZonesByName,
// ListResourceRecordSets (sorted as Route53 sorts: labels reversed, then
// type; a wildcard printed back as \052), ChangeResourceRecordSets
// (CREATE / DELETE / UPSERT, atomic per batch).
import http from 'node:http';
import crypto from 'node:crypto';
import aws4 from 'aws4';

const NS = 'https://route53.amazonaws.com/doc/2013-04-01/';
const MAX_BODY = 64 * 1024;

function xmlEsc(s) {
  return String(s).replace(/[<>&"']/g, (c) => ({
    '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;',
  })[c]);
}

function xmlUnesc(s) {
  return s.replace(/&(lt|gt|amp|quot|apos);/g, (_, e) => ({
    lt: '<', gt: '>', amp: '&', quot: '"', apos: "'",
  })[e]);
}

// Route53 accepts a name with or without the final dot, a literal '*' or
// its \052 escape; it stores the canonical lowercase dotted form.
function canonName(n) {
  let s = n.replace(/\\052/g, '*').toLowerCase();
  if (!s.endsWith('.')) s += '.';
  return s;
}

// As Route53 prints a name in a response: '*' escaped as \052.
function printName(n) {
  return n.replace(/\*/g, '\\052');
}

function sortKey(name, type) {
  return name.replace(/\.$/, '').split('.').reverse().join('.') + '.' +
    '\u0000' + type;
}

function errorXml(code, message, type = 'Sender') {
  return `<?xml version="1.0"?>\n<ErrorResponse xmlns="${NS}"><Error>` +
    `<Type>${type}</Type><Code>${code}</Code>` +
    `<Message>${xmlEsc(message)}</Message></Error>` +
    `<RequestId>${crypto.randomUUID()}</RequestId></ErrorResponse>`;
}

function tagAll(xml, tag) {
  const re = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g');
  const out = [];
  let m;
  while ((m = re.exec(xml)) !== null) out.push(m[1]);
  return out;
}

function tag1(xml, tag) {
  const a = tagAll(xml, tag);
  return a.length ? xmlUnesc(a[0].trim()) : undefined;
}

// Parses "AWS4-HMAC-SHA256 Credential=K/D/R/S/aws4_request,
// SignedHeaders=a;b, Signature=hex".
function parseAuth(h) {
  const m = /^AWS4-HMAC-SHA256 Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/.exec(h || '');
  if (!m) return null;
  const cred = m[1].split('/');
  if (cred.length !== 5) return null;
  return {
    keyId: cred[0], date: cred[1], region: cred[2], service: cred[3],
    term: cred[4], signed: m[2].split(';'), signature: m[3],
  };
}

export class FakeRoute53 {
  // opts: { accessKeyId, secretAccessKey, sessionToken?, zones: [{ id,
  // name, private? }] }
  constructor(opts) {
    this.creds = {
      accessKeyId: opts.accessKeyId,
      secretAccessKey: opts.secretAccessKey,
      sessionToken: opts.sessionToken,
    };
    this.zones = (opts.zones || []).map((z) => ({
      id: z.id, name: canonName(z.name), private: !!z.private,
      records: new Map(),
    }));
    this.log = [];          // { method, path, status, code? }
    this.changes = 0;       // accepted ChangeResourceRecordSets calls
    this.changeBodies = []; // raw bodies of those calls
    this.failNext = null;   // { status, code, message } for the next call
  }

  async start() {
    this.server = http.createServer((req, res) => this.#handle(req, res));
    await new Promise((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${this.server.address().port}`;
    return this;
  }

  async close() {
    if (this.server) await new Promise((r) => this.server.close(r));
  }

  zone(id) { return this.zones.find((z) => z.id === id); }

  // Test helper: the record set (name, type) as stored, or undefined.
  record(zoneId, name, type) {
    return this.zone(zoneId).records.get(canonName(name) + '|' + type);
  }

  setRecord(zoneId, name, type, ttl, values) {
    const n = canonName(name);
    this.zone(zoneId).records.set(n + '|' + type, { name: n, type, ttl,
      values: [...values] });
  }

  #send(res, status, body, entry) {
    entry.status = status;
    this.log.push(entry);
    res.writeHead(status, { 'content-type': 'text/xml',
      'x-amzn-requestid': crypto.randomUUID() });
    res.end(body);
  }

  #verify(req, body) {
    const a = parseAuth(req.headers.authorization);
    if (!a) return ['MissingAuthenticationToken', 'Missing or malformed Authorization header'];
    if (a.keyId !== this.creds.accessKeyId)
      return ['InvalidClientTokenId', 'The security token included in the request is invalid.'];
    if (a.region !== 'us-east-1' || a.service !== 'route53' || a.term !== 'aws4_request')
      return ['SignatureDoesNotMatch', `Credential should be scoped to a valid region/service, not ${a.region}/${a.service}`];
    if (!a.signed.includes('host') || !a.signed.includes('x-amz-date'))
      return ['SignatureDoesNotMatch', 'host and x-amz-date must be signed'];
    const amzDate = req.headers['x-amz-date'] || '';
    const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
    if (!m || amzDate.slice(0, 8) !== a.date)
      return ['IncompleteSignature', 'Bad X-Amz-Date'];
    const t = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
    if (Math.abs(Date.now() - t) > 15 * 60 * 1000)
      return ['SignatureDoesNotMatch', 'Signature expired'];
    if (this.creds.sessionToken !== undefined &&
        (req.headers['x-amz-security-token'] !== this.creds.sessionToken ||
         !a.signed.includes('x-amz-security-token')))
      return ['InvalidClientTokenId', 'The security token included in the request is invalid.'];
    const headers = {};
    for (const h of a.signed) {
      if (req.headers[h] === undefined)
        return ['SignatureDoesNotMatch', `signed header ${h} is missing`];
      headers[h] = req.headers[h];
    }
    // aws4 takes the signing time from a Date header or the clock, never
    // from X-Amz-Date: give it the request's own time, or a request that
    // crosses a second boundary on its way here would not verify.
    const signer = new aws4.RequestSigner({
      host: req.headers.host, method: req.method, path: req.url, headers,
      body, service: 'route53', region: 'us-east-1',
      doNotModifyHeaders: true,
    }, this.creds);
    signer.datetime = amzDate;
    const signed = signer.sign();
    const want = parseAuth(signed.headers.Authorization);
    if (!want || want.signature !== a.signature)
      return ['SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.'];
    return null;
  }

  #handle(req, res) {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const entry = { method: req.method, path: req.url };
      if (size > MAX_BODY)
        return this.#send(res, 400, errorXml('InvalidInput', 'body too large'), entry);
      const bad = this.#verify(req, body);
      if (bad) {
        entry.code = bad[0];
        return this.#send(res, 403, errorXml(bad[0], bad[1]), entry);
      }
      if (this.failNext) {
        const f = this.failNext;
        this.failNext = null;
        entry.code = f.code;
        return this.#send(res, f.status, errorXml(f.code, f.message,
          f.status >= 500 ? 'Receiver' : 'Sender'), entry);
      }
      try {
        this.#route(req, body, res, entry);
      } catch (e) {
        this.#send(res, 500, errorXml('InternalFailure', String(e), 'Receiver'), entry);
      }
    });
  }

  #route(req, body, res, entry) {
    const u = new URL(req.url, 'http://x');
    const q = u.searchParams;
    let m;
    if (req.method === 'GET' && u.pathname === '/2013-04-01/hostedzonesbyname')
      return this.#send(res, 200, this.#listZones(q), entry);
    if ((m = /^\/2013-04-01\/hostedzone\/([A-Z0-9]+)\/rrset\/?$/.exec(u.pathname))) {
      const z = this.zone(m[1]);
      if (!z)
        return this.#send(res, 404, errorXml('NoSuchHostedZone', `No hosted zone found with ID: ${m[1]}`), entry);
      if (req.method === 'GET')
        return this.#send(res, 200, this.#listRecords(z, q), entry);
      if (req.method === 'POST') {
        const r = this.#change(z, body);
        if (r.error) {
          entry.code = r.error[0];
          return this.#send(res, 400, errorXml(r.error[0], r.error[1]), entry);
        }
        this.changes++;
        this.changeBodies.push(body);
        return this.#send(res, 200, r.xml, entry);
      }
    }
    this.#send(res, 404, errorXml('UnknownOperationException', 'unknown operation'), entry);
  }

  #listZones(q) {
    const dns = q.get('dnsname') ? canonName(q.get('dnsname')) : '';
    const max = Math.min(parseInt(q.get('maxitems') || '100', 10) || 100, 100);
    const sorted = [...this.zones].sort((a, b) =>
      sortKey(a.name, '') < sortKey(b.name, '') ? -1 : 1);
    const from = sorted.filter((z) => !dns || sortKey(z.name, '') >= sortKey(dns, ''));
    const page = from.slice(0, max);
    const zs = page.map((z) => `<HostedZone><Id>/hostedzone/${z.id}</Id>` +
      `<Name>${z.name}</Name><CallerReference>fake-${z.id}</CallerReference>` +
      `<Config><Comment>fake</Comment><PrivateZone>${z.private}</PrivateZone>` +
      `</Config><ResourceRecordSetCount>${z.records.size + 2}` +
      `</ResourceRecordSetCount></HostedZone>`).join('');
    return `<?xml version="1.0" encoding="UTF-8"?>\n<ListHostedZonesByNameResponse xmlns="${NS}">` +
      `<HostedZones>${zs}</HostedZones>` +
      (dns ? `<DNSName>${dns}</DNSName>` : '') +
      `<IsTruncated>${from.length > max}</IsTruncated><MaxItems>${max}</MaxItems>` +
      `</ListHostedZonesByNameResponse>`;
  }

  #listRecords(z, q) {
    const name = q.get('name') ? canonName(q.get('name')) : '';
    const type = q.get('type') || '';
    const max = Math.min(parseInt(q.get('maxitems') || '300', 10) || 300, 300);
    const all = [...z.records.values()].sort((a, b) =>
      sortKey(a.name, a.type) < sortKey(b.name, b.type) ? -1 : 1);
    const start = name ? sortKey(name, type) : '';
    const from = all.filter((r) => sortKey(r.name, r.type) >= start);
    const page = from.slice(0, max);
    const rs = page.map((r) => `<ResourceRecordSet><Name>${printName(r.name)}</Name>` +
      `<Type>${r.type}</Type><TTL>${r.ttl}</TTL><ResourceRecords>` +
      r.values.map((v) => `<ResourceRecord><Value>${xmlEsc(v)}</Value></ResourceRecord>`).join('') +
      `</ResourceRecords></ResourceRecordSet>`).join('');
    let next = '';
    if (from.length > max)
      next = `<NextRecordName>${printName(from[max].name)}</NextRecordName>` +
        `<NextRecordType>${from[max].type}</NextRecordType>`;
    return `<?xml version="1.0" encoding="UTF-8"?>\n<ListResourceRecordSetsResponse xmlns="${NS}">` +
      `<ResourceRecordSets>${rs}</ResourceRecordSets>` +
      `<IsTruncated>${from.length > max}</IsTruncated>${next}<MaxItems>${max}</MaxItems>` +
      `</ListResourceRecordSetsResponse>`;
  }

  // Applies a ChangeBatch atomically, as Route53 does: every change is
  // checked first, then all are applied.
  #change(z, body) {
    if (!/^<\?xml[^>]*\?>\s*<ChangeResourceRecordSetsRequest xmlns="https:\/\/route53\.amazonaws\.com\/doc\/2013-04-01\/">/.test(body))
      return { error: ['InvalidInput', 'not a ChangeResourceRecordSetsRequest'] };
    const changes = tagAll(body, 'Change');
    if (changes.length === 0)
      return { error: ['InvalidChangeBatch', 'no changes'] };
    const next = new Map(z.records);
    for (const c of changes) {
      const action = tag1(c, 'Action');
      const rawName = tag1(c, 'Name');
      const type = tag1(c, 'Type');
      const ttl = tag1(c, 'TTL');
      const values = tagAll(c, 'Value').map((v) => xmlUnesc(v.trim()));
      if (!rawName || !type || ttl === undefined || !/^\d+$/.test(ttl) || values.length === 0)
        return { error: ['InvalidInput', 'incomplete ResourceRecordSet'] };
      const name = canonName(rawName);
      if (name !== z.name && !name.endsWith('.' + z.name))
        return { error: ['InvalidChangeBatch', `RRSet with DNS name ${rawName} is not permitted in zone ${z.name}`] };
      if (type === 'A' && !values.every((v) => /^\d{1,3}(\.\d{1,3}){3}$/.test(v)))
        return { error: ['InvalidChangeBatch', 'ARRDATAIllegalIPv4Address'] };
      if (type === 'AAAA' && !values.every((v) => /^[0-9a-fA-F:]+$/.test(v)))
        return { error: ['InvalidChangeBatch', 'AAAARRDATAIllegalIPv6Address'] };
      const key = name + '|' + type;
      if (action === 'CREATE' && next.has(key))
        return { error: ['InvalidChangeBatch', `Tried to create resource record set [name='${rawName}', type='${type}'] but it already exists`] };
      if (action === 'DELETE') {
        if (!next.has(key))
          return { error: ['InvalidChangeBatch', 'Tried to delete resource record set that does not exist'] };
        next.delete(key);
      } else if (action === 'CREATE' || action === 'UPSERT') {
        next.set(key, { name, type, ttl: +ttl, values });
      } else {
        return { error: ['InvalidInput', `bad Action ${action}`] };
      }
    }
    z.records = next;
    const id = crypto.randomBytes(8).toString('hex').toUpperCase();
    return {
      xml: `<?xml version="1.0" encoding="UTF-8"?>\n<ChangeResourceRecordSetsResponse xmlns="${NS}">` +
        `<ChangeInfo><Id>/change/C${id}</Id><Status>PENDING</Status>` +
        `<SubmittedAt>${new Date().toISOString()}</SubmittedAt></ChangeInfo>` +
        `</ChangeResourceRecordSetsResponse>`,
    };
  }
}
