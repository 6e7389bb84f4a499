// smtp-server.mjs: a real SMTP server on loopback for the email tests,
// built on the npm package smtp-server (nodemailer's server half).  It
// offers STARTTLS with a fresh self-signed certificate (or TLS from the
// first byte with {secure: true}), requires AUTH PLAIN/LOGIN when
// {user, pass} are given (and then refuses AUTH before TLS, as a careful
// server does), and captures every message: the envelope, whether the
// session was encrypted and who authenticated, the raw text and its
// decoded MIME parts (RFC 2047 subjects, quoted-printable and base64
// bodies).
//
//   const smtp = await startSmtp({ user: 'pds', pass: 'p@ss:w/rd' });
//   smtp.url()            smtp://pds:p%40ss%3Aw%2Frd@127.0.0.1:PORT?tls...
//   await smtp.next()     the next captured message (waits)
//   smtp.messages         every message so far
//   await smtp.close()

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';

/** A throwaway self-signed certificate for CN=localhost (openssl). */
export function selfSignedCert() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smtp-cert-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt',
      'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj',
      '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')],
    { stdio: 'ignore' });
    return {
      key: fs.readFileSync(path.join(dir, 'key.pem')),
      cert: fs.readFileSync(path.join(dir, 'cert.pem')),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function decodeQP(s) {
  const bytes = [];
  const soft = s.replace(/=\r?\n/g, '');
  for (let i = 0; i < soft.length; i++) {
    if (soft[i] === '=' && /^[0-9A-F]{2}$/i.test(soft.slice(i + 1, i + 3))) {
      bytes.push(parseInt(soft.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(soft[i], 'latin1'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

function decodeWords(v) {
  return v.replace(/\r?\n[ \t]/g, ' ')
    .replace(/\?= =\?/g, '?==?')
    .replace(/=\?UTF-8\?([BQ])\?([^?]*)\?=/gi, (_, enc, data) =>
      (enc.toUpperCase() === 'B' ? Buffer.from(data, 'base64').toString('utf8')
        : decodeQP(data.replace(/_/g, ' '))));
}

/** Splits "headers CRLF CRLF body" and unfolds the headers (lowercased
 * names, last one wins, all kept in `list`). */
export function parseHeaders(raw) {
  const i = raw.indexOf('\r\n\r\n');
  const head = i < 0 ? raw : raw.slice(0, i);
  const body = i < 0 ? '' : raw.slice(i + 4);
  const headers = {};
  const list = [];
  for (const line of head.replace(/\r\n[ \t]/g, '\r\n\t').split(/\r\n(?![ \t])/)) {
    const c = line.indexOf(':');
    if (c < 0) continue;
    const name = line.slice(0, c).toLowerCase();
    const value = line.slice(c + 1).replace(/^[ \t]+/, '');
    headers[name] = value;
    list.push([name, value]);
  }
  return { headers, list, body };
}

function decodeBody(headers, body) {
  const cte = (headers['content-transfer-encoding'] || '7bit').toLowerCase();
  if (cte === 'quoted-printable') return decodeQP(body);
  if (cte === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  return body;
}

/** The decoded parts of a captured message. */
export function parseMessage(raw) {
  const { headers, list, body } = parseHeaders(raw);
  const out = { headers, headerList: list, subject: decodeWords(headers.subject || ''),
    text: null, html: null, parts: [] };
  const ct = headers['content-type'] || 'text/plain';
  const m = /boundary="?([^";]+)"?/i.exec(ct);
  const parts = [];
  if (/^multipart\//i.test(ct) && m) {
    const sections = body.split(`--${m[1]}`);
    for (const sec of sections.slice(1)) {
      if (sec.startsWith('--')) break;
      parts.push(parseHeaders(sec.replace(/^\r\n/, '')));
    }
  } else {
    parts.push({ headers, body });
  }
  for (const p of parts) {
    const type = (p.headers['content-type'] || 'text/plain').split(';')[0].trim();
    const text = decodeBody(p.headers, p.body);
    out.parts.push({ type, text, headers: p.headers });
    if (type === 'text/plain' && out.text === null) out.text = text;
    if (type === 'text/html' && out.html === null) out.html = text;
  }
  return out;
}

/**
 * Starts the server on 127.0.0.1.  opts: {secure (TLS from the first
 * byte), user, pass (AUTH required when set), tls (false: no STARTTLS
 * offered), port}.
 */
export async function startSmtp(opts = {}) {
  const { key, cert } = selfSignedCert();
  const messages = [];
  const waiters = [];
  const sessions = [];
  const auth = opts.user !== undefined;
  const server = new SMTPServer({
    secure: !!opts.secure,
    key,
    cert,
    name: 'smtp.test',
    hideSTARTTLS: opts.tls === false,
    authOptional: !auth,
    allowInsecureAuth: false,
    disabledCommands: auth ? [] : ['AUTH'],
    logger: false,
    onConnect(session, cb) { sessions.push(session); cb(); },
    onAuth(a, session, cb) {
      if (a.username === opts.user && a.password === opts.pass) {
        return cb(null, { user: a.username });
      }
      return cb(new Error('Invalid username or password'));
    },
    onData(stream, session, cb) {
      const chunks = [];
      stream.on('data', (c) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const msg = {
          raw,
          ...parseMessage(raw),
          mailFrom: session.envelope.mailFrom && session.envelope.mailFrom.address,
          rcptTo: session.envelope.rcptTo.map((r) => r.address),
          secure: !!session.secure,
          user: session.user || null,
        };
        messages.push(msg);
        const w = waiters.shift();
        if (w) w.resolve(msg);
        cb();
      });
    },
  });
  server.on('error', () => { /* client errors are the tests' business */ });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port || 0, '127.0.0.1', resolve);
  });
  const port = server.server.address().port;
  let taken = 0;
  return {
    port,
    messages,
    sessions,
    /** The SMTP URL for PDS_EMAIL_SMTP_URL (credentials percent-encoded;
     * the test certificate is self-signed). */
    url({ user = opts.user, pass = opts.pass, scheme, query } = {}) {
      const cred = user !== undefined
        ? `${encodeURIComponent(user)}:${encodeURIComponent(pass)}@` : '';
      const s = scheme || (opts.secure ? 'smtps' : 'smtp');
      const q = query ?? 'tls.rejectUnauthorized=false';
      return `${s}://${cred}127.0.0.1:${port}${q ? `?${q}` : ''}`;
    },
    /** The next message not yet returned by next() (waits up to ms). */
    next(ms = 10000) {
      if (taken < messages.length) return Promise.resolve(messages[taken++]);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('no email arrived')), ms);
        waiters.push({ resolve: (m) => { clearTimeout(t); taken++; resolve(m); } });
      });
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
