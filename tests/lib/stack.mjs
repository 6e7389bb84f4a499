// stack.mjs: the test and dev stack.  startStack() runs, on free loopback
// ports and in a fresh temp directory: a real PLC directory (plc-server.mjs),
// pds-fcgi (its own master and workers, on a unix socket), pds-firehose when
// it is built, and real nginx in front, configured by an nginx.conf written
// here that includes the SHIPPED conf/nginx/pds-locations.conf unchanged.
//
// Binaries come from $PDS_BIN_DIR (the `make O=` directory; default: the
// repository root).  Every child runs in its own process group; stop() ends
// them all (and a process 'exit' hook SIGKILLs any group still alive), so a
// failed test leaves no processes behind.

import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import dns from 'node:dns/promises';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPlc } from './plc-server.mjs';
import { startFcgiResponder } from './fcgi.mjs';

export const repoRoot = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const binDir = process.env.PDS_BIN_DIR || repoRoot;
export const bins = {
  fcgi: path.join(binDir, 'fcgi/pds-fcgi'),
  firehose: path.join(binDir, 'firehose/pds-firehose'),
};
export const NGINX = process.env.NGINX || '/usr/sbin/nginx';
export const LOCATIONS_CONF = path.join(repoRoot, 'conf/nginx/pds-locations.conf');
const BLOB_LIMIT_DEFAULT = 5242880; // reference PDS_BLOB_UPLOAD_LIMIT default
// What AddressSanitizer, LeakSanitizer and UBSan print when they find one.
export const SANITIZER_RE = /ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:/;

export function isExecutable(p) {
  try { fs.accessSync(p, fs.constants.X_OK); return fs.statSync(p).isFile(); } catch { return false; }
}

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Fresh development secrets in the reference installer's formats:
 * 16 random bytes as hex for the JWT secret and admin password, and a
 * secp256k1 private key as 32-byte hex for the PLC rotation key. */
export function devSecrets() {
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
  const d = Buffer.from(privateKey.export({ format: 'jwk' }).d, 'base64url');
  return {
    PDS_JWT_SECRET: crypto.randomBytes(16).toString('hex'),
    PDS_ADMIN_PASSWORD: crypto.randomBytes(16).toString('hex'),
    PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX: d.toString('hex').padStart(64, '0'),
  };
}

/** Parses a pds.env file the way config.h says pds-fcgi does: KEY=VALUE
 * lines, '#' comments, optional matching single or double quotes. */
export function parseEnvFile(text) {
  const out = {};
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '').trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    let v = m[2];
    if (v.length >= 2 && (v[0] === '"' || v[0] === "'") && v.at(-1) === v[0]) v = v.slice(1, -1);
    out[m[1]] = v;
  }
  return out;
}

/**
 * The harness's nginx.conf: non-root friendly (everything under `prefix`),
 * upstreams to the test socket and firehose port, and the shipped location
 * rules included verbatim.
 */
export function nginxConf({ prefix, listen, fcgiSocket, firehoseAddr, blobDir,
  blobLimit = BLOB_LIMIT_DEFAULT, workers = 1, locations = LOCATIONS_CONF,
  accessLog = true }) {
  const user = process.getuid?.() === 0 ? 'user root root;\n' : '';
  const listens = [].concat(listen).map((l) => `        listen ${l};`).join('\n');
  return `# written by tests/lib/stack.mjs
${user}daemon off;
master_process on;
worker_processes ${workers};
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log info;
events { worker_connections 1024; }
http {
    access_log ${accessLog ? `${prefix}/access.log` : 'off'};
    client_body_temp_path ${prefix}/tmp/body;
    fastcgi_temp_path ${prefix}/tmp/fastcgi;
    proxy_temp_path ${prefix}/tmp/proxy;
    uwsgi_temp_path ${prefix}/tmp/uwsgi;
    scgi_temp_path ${prefix}/tmp/scgi;
    upstream pds_fcgi { server unix:${fcgiSocket}; }
    upstream pds_firehose { server ${firehoseAddr}; }
    server {
${listens}
        server_name localhost;
        set $pds_blob_dir ${blobDir};
        client_max_body_size ${blobLimit};
        include ${locations};
    }
}
`;
}

// ---- process bookkeeping -------------------------------------------------

const liveGroups = new Set();
process.on('exit', () => {
  for (const pgid of liveGroups) {
    try { process.kill(-pgid, 'SIGKILL'); } catch { /* gone */ }
  }
});

function startProc(name, file, args, { env, logFile, stdio }) {
  let out = 'ignore';
  if (stdio === 'inherit') out = 'inherit';
  else if (logFile) out = fs.openSync(logFile, 'a');
  const child = spawn(file, args, { env, detached: true,
    stdio: ['ignore', out, out] });
  if (typeof out === 'number') fs.closeSync(out);
  const p = { name, child, pid: child.pid, exit: null };
  p.exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      p.exit = { code, signal };
      resolve(p.exit);
    });
    child.once('error', (err) => {
      p.exit = { code: null, signal: null, error: err };
      resolve(p.exit);
    });
  });
  if (child.pid) liveGroups.add(child.pid);
  return p;
}

function killGroup(pgid, sig) {
  try { process.kill(-pgid, sig); return true; } catch { return false; }
}

async function stopProc(p, sig = 'SIGTERM', timeoutMs = 10000) {
  if (!p || !p.pid) return null;
  if (!p.exit) {
    try { process.kill(p.pid, sig); } catch { /* already gone */ }
    const t = setTimeout(() => killGroup(p.pid, 'SIGKILL'), timeoutMs);
    await p.exited;
    clearTimeout(t);
  }
  // Anything left in the group (workers of a master that died) goes too.
  killGroup(p.pid, 'SIGKILL');
  liveGroups.delete(p.pid);
  return p.exit;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function tail(file, n = 40) {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-n).join('\n');
  } catch { return ''; }
}

async function waitFor(what, fn, { timeoutMs = 15000, procs = [] } = {}) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    for (const p of procs) {
      if (p.exit) {
        throw new Error(`${p.name} exited (${JSON.stringify(p.exit)}) while waiting for ${what}`);
      }
    }
    try { if (await fn()) return; } catch { /* not yet */ }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function connects(opts) {
  return new Promise((resolve) => {
    const s = net.createConnection(opts);
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

// ---- /proc helpers ------------------------------------------------------

/** PIDs whose parent is `ppid` (scans /proc; works without
 * CONFIG_PROC_CHILDREN). */
export function childPids(ppid) {
  const out = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let stat;
    try { stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8'); } catch { continue; }
    // The comm field may hold spaces and parens: split after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(rest[1]) === ppid && rest[0] !== 'Z') out.push(Number(d));
  }
  return out.sort((a, b) => a - b);
}

/** PIDs in process group `pgid` (scans /proc). */
export function groupPids(pgid) {
  const out = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let stat;
    try { stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8'); } catch { continue; }
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(rest[2]) === pgid && rest[0] !== 'Z') out.push(Number(d));
  }
  return out;
}

/** Resident set size of a process in KiB (VmRSS), or 0 when gone. */
export function rssKiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch { return 0; }
}

// ---- the stack --------------------------------------------------------------

async function localhostAddrs() {
  try {
    const all = await dns.lookup('localhost', { all: true });
    return [...new Set(all.map((a) => a.address))];
  } catch { return ['127.0.0.1']; }
}

/**
 * Starts the stack.  opts (all optional):
 *   env          extra/overriding environment for pds-fcgi and pds-firehose
 *   baseEnv      environment to start from (default: PATH, HOME, LANG only)
 *   secrets      {PDS_JWT_SECRET, ...}; default devSecrets()
 *   workers      PDS_WORKERS (default 2)
 *   port         nginx port (default: a free one)
 *   runDir       directory for sockets, configs and logs (default: temp)
 *   dataDir      PDS_DATA_DIRECTORY (default: <runDir>/data)
 *   plcUrl       use this PLC directory instead of starting one
 *   plcPersist   file for plc-server.mjs's operation log
 *   firehose     false: do not start pds-firehose even if built
 *   fcgiResponder  handler for a Node FastCGI responder that stands in for
 *                pds-fcgi (web server configuration tests)
 *   nginxWorkers nginx worker_processes (default 1)
 *   stdio        'inherit': children write to this process's stdout/stderr
 *   keep         keep runDir after stop()
 *   healthTimeoutMs  (default 15000)
 * Returns {url, plcUrl, port, runDir, dataDir, env, socket, firehoseAddr,
 * pids: {fcgi, firehose, nginx}, logs: {fcgi, firehose, nginx, access},
 * procs, log(name), stop()}.  stop() resolves to the exit statuses and
 * `sanitizer`: the sanitizer report lines found in the logs.
 */
export async function startStack(opts = {}) {
  const t0 = Date.now();
  const runDir = opts.runDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'pds-stack-'));
  fs.mkdirSync(runDir, { recursive: true });
  const dataDir = path.resolve(opts.dataDir ?? path.join(runDir, 'data'));
  const ngxDir = path.join(runDir, 'nginx');
  for (const d of [dataDir, path.join(ngxDir, 'tmp')]) fs.mkdirSync(d, { recursive: true });
  const logs = {
    fcgi: path.join(runDir, 'pds-fcgi.log'),
    firehose: path.join(runDir, 'pds-firehose.log'),
    nginx: path.join(ngxDir, 'error.log'),
    access: path.join(ngxDir, 'access.log'),
  };
  const socket = path.join(runDir, 'fcgi.sock');
  const procs = {};
  let plc = null, responder = null, stopped = null;

  const stack = { runDir, dataDir, socket, logs, procs, pids: {},
    log: (name) => { try { return fs.readFileSync(logs[name], 'utf8'); } catch { return ''; } } };

  stack.stop = () => {
    stopped ??= (async () => {
      const st = {};
      st.nginx = await stopProc(procs.nginx, 'SIGTERM');
      st.firehose = await stopProc(procs.firehose, 'SIGTERM');
      st.fcgi = await stopProc(procs.fcgi, 'SIGTERM', opts.stopTimeoutMs ?? 15000);
      if (responder) await responder.close();
      if (plc) await plc.close();
      // Sanitizer builds (make SANITIZE=...) report on stderr, in the logs.
      st.sanitizer = ['fcgi', 'firehose'].flatMap((n) => stack.log(n).split('\n')
        .filter((l) => SANITIZER_RE.test(l)).map((l) => `${n}: ${l}`));
      if (!opts.keep && !opts.runDir) fs.rmSync(runDir, { recursive: true, force: true });
      return st;
    })();
    return stopped;
  };

  try {
    const port = opts.port ?? await freePort();
    // The firehose address: the caller's PDS_FIREHOSE_LISTEN, else a free port.
    const firehoseAddr = opts.env?.PDS_FIREHOSE_LISTEN || `127.0.0.1:${await freePort()}`;
    const fhColon = firehoseAddr.lastIndexOf(':');
    const fhHost = firehoseAddr.slice(0, fhColon).replace(/^\[|\]$/g, '');
    const fhPort = Number(firehoseAddr.slice(fhColon + 1));
    if (opts.plcUrl) stack.plcUrl = opts.plcUrl;
    else {
      plc = await startPlc({ persistFile: opts.plcPersist });
      stack.plcUrl = plc.url;
    }
    const base = opts.baseEnv ?? Object.fromEntries(['PATH', 'HOME', 'LANG', 'TZ']
      .filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k]]));
    const env = {
      ...base,
      PDS_HOSTNAME: 'localhost',
      PDS_PORT: String(port),
      PDS_DATA_DIRECTORY: dataDir,
      PDS_BLOBSTORE_DISK_LOCATION: path.join(dataDir, 'blocks'),
      PDS_DID_PLC_URL: stack.plcUrl,
      PDS_DEV_MODE: 'true',
      PDS_INVITE_REQUIRED: 'false',
      PDS_BLOB_SENDFILE: 'nginx',
      PDS_BLOB_SENDFILE_PREFIX: '/_pds_blobs/',
      PDS_FIREHOSE_LISTEN: firehoseAddr,
      PDS_WORKERS: String(opts.workers ?? 2),
      LOG_ENABLED: 'true',
      ...(opts.secrets ?? devSecrets()),
      ...(opts.env ?? {}),
    };
    stack.env = env;
    stack.port = port;
    stack.url = `http://localhost:${port}`;
    fs.mkdirSync(env.PDS_BLOBSTORE_DISK_LOCATION, { recursive: true });

    // pds-fcgi (or the stand-in responder)
    if (opts.fcgiResponder) {
      responder = await startFcgiResponder(socket, opts.fcgiResponder);
      stack.responder = responder;
    } else {
      if (!isExecutable(bins.fcgi)) {
        throw new Error(`${bins.fcgi} is not built (make O=... ; PDS_BIN_DIR)`);
      }
      procs.fcgi = startProc('pds-fcgi', bins.fcgi, ['--listen', `unix:${socket}`],
        { env, logFile: logs.fcgi, stdio: opts.stdio });
      stack.pids.fcgi = procs.fcgi.pid;
    }

    // pds-firehose, once it exists
    if (opts.firehose !== false && !opts.fcgiResponder && isExecutable(bins.firehose)) {
      procs.firehose = startProc('pds-firehose', bins.firehose, [],
        { env, logFile: logs.firehose, stdio: opts.stdio });
      stack.pids.firehose = procs.firehose.pid;
    }
    stack.firehoseAddr = firehoseAddr;
    // Restart of pds-firehose alone (restart-under-load tests): stops it with
    // sig (SIGTERM: graceful; SIGKILL: a crash), starts it again with the
    // same environment and log file, waits until it accepts connections, and
    // resolves to the old process's exit status.
    stack.restartFirehose = async (sig = 'SIGTERM') => {
      if (!procs.firehose) throw new Error('pds-firehose is not running in this stack');
      const exit = await stopProc(procs.firehose, sig);
      procs.firehose = startProc('pds-firehose', bins.firehose, [],
        { env, logFile: logs.firehose, stdio: opts.stdio });
      stack.pids.firehose = procs.firehose.pid;
      await waitFor('pds-firehose', () => connects({ host: fhHost, port: fhPort }),
        { timeoutMs: opts.healthTimeoutMs ?? 15000, procs: [procs.firehose] });
      return exit;
    };

    // nginx
    const listen = (await localhostAddrs()).map((a) =>
      (a.includes(':') ? `[${a}]:${port}` : `${a}:${port}`));
    if (!listen.includes(`127.0.0.1:${port}`)) listen.unshift(`127.0.0.1:${port}`);
    const conf = nginxConf({ prefix: ngxDir, listen, fcgiSocket: socket,
      firehoseAddr, blobDir: env.PDS_BLOBSTORE_DISK_LOCATION,
      blobLimit: Number(env.PDS_BLOB_UPLOAD_LIMIT) || BLOB_LIMIT_DEFAULT,
      workers: opts.nginxWorkers ?? 1, accessLog: opts.accessLog ?? true });
    fs.writeFileSync(path.join(ngxDir, 'nginx.conf'), conf);
    procs.nginx = startProc('nginx', NGINX, ['-p', `${ngxDir}/`, '-c',
      path.join(ngxDir, 'nginx.conf'), '-e', logs.nginx],
    { env: { PATH: process.env.PATH }, logFile: path.join(ngxDir, 'stderr.log') });
    stack.pids.nginx = procs.nginx.pid;

    const waitProcs = Object.values(procs);
    const timeoutMs = opts.healthTimeoutMs ?? 15000;
    await waitFor('the pds-fcgi socket', () => connects({ path: socket }),
      { timeoutMs, procs: waitProcs });
    await waitFor('nginx', () => connects({ host: '127.0.0.1', port }),
      { timeoutMs, procs: waitProcs });
    if (procs.firehose) {
      await waitFor('pds-firehose', () => connects({ host: fhHost, port: fhPort }),
        { timeoutMs, procs: waitProcs });
    }
    if (!opts.fcgiResponder) {
      await waitFor('/xrpc/_health', async () =>
        (await fetch(`${stack.url}/xrpc/_health`)).status === 200,
      { timeoutMs, procs: waitProcs });
    }
    stack.startMs = Date.now() - t0;
    return stack;
  } catch (err) {
    const detail = ['fcgi', 'firehose', 'nginx']
      .map((n) => { const t = tail(logs[n], 20); return t ? `--- ${n} log:\n${t}` : ''; })
      .filter(Boolean).join('\n');
    await stack.stop();
    err.message += detail ? `\n${detail}` : '';
    throw err;
  }
}

/** Worker PIDs of a running pds-fcgi master. */
export function workerPids(stack) {
  return stack.pids.fcgi ? childPids(stack.pids.fcgi) : [];
}
