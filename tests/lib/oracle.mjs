// oracle.mjs: the reference's XRPC framework as an oracle.  Runs the
// official @atproto/xrpc-server (the library the reference PDS is built on)
// on a loopback port, with the given methods registered the way the
// reference 0.5.x registers them: server.add() with lex-schema definitions,
// built here from the official lexicon documents in @atproto/api by
// @atproto/lex-document.  Its handlers are never reached in the cases it is
// meant for: answers produced before a handler runs (parameter and input
// validation, wrong HTTP method, body limits).  A test sends the same
// request to our PDS and to the oracle and compares status and body.

import express from 'express';
import { schemas } from '@atproto/api';
import { LexiconIterableIndexer, LexiconSchemaBuilder } from '@atproto/lex-document';
import { createServer } from '@atproto/xrpc-server';

// @atproto/api writes refs as "lex:<nsid>#def"; lexicon documents proper
// (and the schema builder) use "<nsid>#def".
const docs = JSON.parse(JSON.stringify(schemas).replaceAll('"lex:', '"'));

/** nsids: lexicon ids.  Returns {url, close()}. */
export async function startOracle(nsids) {
  const missing = nsids.filter((id) => !docs.some((d) => d.id === id));
  if (missing.length) throw new Error(`oracle: no lexicon for ${missing.join(', ')}`);
  const server = createServer([], {
    // The reference PDS's body limits (reference-pds.md, Blobs).
    payload: { jsonLimit: 150 * 1024, textLimit: 100 * 1024, blobLimit: 5 * 1024 * 1024 },
  });
  const builder = new LexiconSchemaBuilder(new LexiconIterableIndexer(docs));
  try {
    for (const id of nsids) {
      const method = await builder.buildFullRef(`${id}#main`);
      server.add(method, () => ({ status: 501, message: 'oracle: handler reached' }));
    }
  } finally {
    await builder.done();
  }
  const app = express();
  app.use(server.router);
  const http = await new Promise((resolve) => {
    const h = app.listen(0, '127.0.0.1', () => resolve(h));
  });
  return {
    url: `http://127.0.0.1:${http.address().port}`,
    close: () => new Promise((resolve) => { http.closeAllConnections(); http.close(() => resolve()); }),
  };
}
