// gen-xrpc-fixtures.mjs: writes xrpc-fixtures.json, the expected results
// of XRPC parameter coercion and path parsing as the official libraries
// compute them, for tests/unit/test_xrpc.c.
//
//   PATH=tests/node_modules/node/bin:$PATH node tests/data/gen-xrpc-fixtures.mjs
//
// Sources: @atproto/lex-schema ParamsSchema.fromURLSearchParams() (the
// reference PDS's query parameter check, xrpc-server util.ts
// createSchemaParamsVerifier), @atproto/xrpc-server extractUrlNsid(), and
// the WHATWG URLSearchParams decoder.  Re-run after upgrading them.
import { writeFileSync } from 'node:fs'
import { l } from '@atproto/lex-schema'
import { extractUrlNsid } from '@atproto/xrpc-server'

const long = (c, n) => c.repeat(n)

const types = {
  int: (c) => l.integer({ minimum: c.min, maximum: c.max }),
  bool: () => l.boolean(),
  str: () => l.string(),
  enum: (c) => l.enum(c.values),
}

const paramCases = [
  ['limit=abc', 'limit', 'int', { min: 1, max: 100 }],
  ['limit=1.5', 'limit', 'int', { min: 1, max: 100 }],
  ['limit=1e3', 'limit', 'int', { min: 1, max: 100 }],
  ['limit=%2B5', 'limit', 'int', { min: 1, max: 100 }],
  ['limit=-', 'limit', 'int', { min: 1, max: 100 }],
  ['limit=007', 'limit', 'int', { min: 1, max: 100 }],
  ['limit=-0', 'limit', 'int', { min: 1, max: 100 }],
  ['limit=0', 'limit', 'int', { min: 1, max: 100 }],
  ['limit=100', 'limit', 'int', { min: 1, max: 100 }],
  ['limit=101', 'limit', 'int', { min: 1, max: 100 }],
  ['limit=-7', 'limit', 'int', { min: -10, max: 100 }],
  ['limit=9007199254740991', 'limit', 'int', { min: 0, max: 9007199254740991 }],
  ['limit=', 'limit', 'int', { min: 1, max: 100 }],
  ['other=1', 'limit', 'int', { min: 1, max: 100 }],
  ['limit=1&limit=2', 'limit', 'int', { min: 1, max: 100 }],
  ['limit=1&limit=2&limit=3', 'limit', 'int', { min: 1, max: 100 }],
  ['limit=1&limit=x', 'limit', 'int', { min: 1, max: 100 }],
  ['limit=1&limit=', 'limit', 'int', { min: 1, max: 100 }],
  ['limit=' + encodeURIComponent('é"\\\n\u0001'), 'limit', 'int', { min: 1, max: 100 }],
  ['limit=' + long('"', 300), 'limit', 'int', { min: 1, max: 100 }],
  ['limit=' + long('a', 255), 'limit', 'int', { min: 1, max: 100 }],
  ['limit=' + long('a', 256), 'limit', 'int', { min: 1, max: 100 }],
  ['limit=' + encodeURIComponent(long('😀', 130)), 'limit', 'int', { min: 1, max: 100 }],
  ['flag=true', 'flag', 'bool', {}],
  ['flag=false', 'flag', 'bool', {}],
  ['flag=yes', 'flag', 'bool', {}],
  ['flag=TRUE', 'flag', 'bool', {}],
  ['flag=true&flag=false', 'flag', 'bool', {}],
  ['did=x', 'did', 'str', {}],
  ['did=x&did=y', 'did', 'str', {}],
  ['did=a+b%20c', 'did', 'str', {}],
  ['sort=usage', 'sort', 'enum', { values: ['recent', 'usage'] }],
  ['sort=x', 'sort', 'enum', { values: ['recent', 'usage'] }],
  ['sort=x', 'sort', 'enum', { values: ['a', 'b', 'c'] }],
  ['sort=x', 'sort', 'enum', { values: ['only'] }],
  ['sort=recent&sort=usage', 'sort', 'enum', { values: ['recent', 'usage'] }],
]

const params = []
for (const [query, name, type, c] of paramCases) {
  const schema = l.params({ [name]: l.optional(types[type](c)) })
  const row = { query, name, type, ...c }
  try {
    const out = schema.fromURLSearchParams(new URLSearchParams(query))
    if (out[name] === undefined) row.absent = true
    else row.value = out[name]
  } catch (e) {
    row.error = e.issues.map((i) => i.message).join(', ')
  }
  params.push(row)
}
// A required parameter that is missing.
{
  const schema = l.params({ did: l.string() })
  try {
    schema.fromURLSearchParams(new URLSearchParams('other=1'))
  } catch (e) {
    params.push({ query: 'other=1', name: 'did', type: 'str', required: true,
      error: e.issues.map((i) => i.message).join(', ') })
  }
}

const pathCases = [
  '/xrpc/com.atproto.server.describeServer', '/xrpc/', '/xrpc', '/xrpc/a',
  '/xrpc/ab', '/xrpc/a.b/', '/xrpc/a.b//', '/xrpc/a..b', '/xrpc/.a',
  '/xrpc/a.', '/xrpc/a-b.c', '/xrpc/a-.b', '/xrpc/a_b', '/xrpc/_health',
  '/xrpc/a.b/c', '/xrpcx/a.b', '/XRPC/a.b', '/xrpc/a%2Eb', '/xrpc/1.2',
  '/xrpc/app.bsky.feed.getTimeline', '/xrpc/a.b-',
]
const paths = pathCases.map((path) => ({ path, nsid: extractUrlNsid(path) ?? null }))

const queryCases = [
  'a=1&b=2', 'a', 'a=', '=x', '&&a=1&', 'a=%41%42', 'a=+b+', 'a=%C3%A9',
  'a=1&a=2', 'x=%2B%26%3D', 'a==b', 'a%20b=c%3Dd',
]
const queries = queryCases.map((qs) => ({ qs, pairs: [...new URLSearchParams(qs)] }))

writeFileSync(new URL('./xrpc-fixtures.json', import.meta.url),
  JSON.stringify({ params, paths, queries }, null, 1) + '\n')
