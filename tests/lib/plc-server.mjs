// plc-server.mjs: a real did:plc directory on loopback for tests and
// `make run`: the official @did-plc/server with its in-memory database
// (Database.mock()), bound to 127.0.0.1 and addressed as
// http://localhost:PORT (the official libraries refuse IP-literal hosts;
// ../shared/spec/official-libs-notes.md).
//
// With `persistFile`, every accepted operation is appended to a JSON-lines
// file and replayed (re-validated) at start, so the DIDs of a long-lived
// dev data directory survive restarts of `make run`.
//
// Standalone: node tests/lib/plc-server.mjs [--port N] [--persist FILE]

import fs from 'node:fs';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import plc from '@did-plc/server';

const { PlcServer, Database } = plc;

function loadOps(db, file) {
  if (!fs.existsSync(file)) return Promise.resolve(0);
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
  return lines.reduce(async (prev, line, i) => {
    const n = await prev;
    let rec;
    try { rec = JSON.parse(line); } catch {
      throw new Error(`${file}:${i + 1}: not JSON`);
    }
    await db.validateAndAddOp(rec.did, rec.operation);
    return n + 1;
  }, Promise.resolve(0));
}

/**
 * Starts the directory.  opts: {port (0 = any free), host ('127.0.0.1'),
 * persistFile}.  Returns {url, port, server, close()}.
 */
export async function startPlc({ port = 0, host = '127.0.0.1', persistFile } = {}) {
  const db = Database.mock();
  if (persistFile) {
    await loadOps(db, persistFile);
    const add = db.validateAndAddOp.bind(db);
    db.validateAndAddOp = async (did, op) => {
      await add(did, op);
      fs.appendFileSync(persistFile, JSON.stringify({ did, operation: op }) + '\n');
    };
  }
  const server = PlcServer.create({ db, port });
  // PlcServer.start() listens on all interfaces; bind to loopback instead.
  const listen = server.app.listen.bind(server.app);
  server.app.listen = (p) => listen(p, host);
  const http = await server.start();
  const actual = http.address().port;
  return {
    url: `http://localhost:${actual}`,
    port: actual,
    server,
    close: async () => {
      http.closeAllConnections?.();
      await server.destroy();
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const p = await startPlc({ port: Number(arg('--port') || 2582),
    persistFile: arg('--persist') });
  console.log(`plc: ${p.url}`);
  await Promise.race([once(process, 'SIGINT'), once(process, 'SIGTERM')]);
  await p.close();
}
