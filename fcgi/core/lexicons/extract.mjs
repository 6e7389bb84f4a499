// extract.mjs: writes fcgi/core/lexicons/<nsid>.json, the Lexicon documents
// of the record types the reference PDS validates itself (@atproto/pds
// 0.5.29 dist/repo/prepare.js "knownSchemas"; reference-pds.md e
// "Records") and of every document their definitions reach through ref and
// union, whole (all defs, descriptions kept).
//
// Source: the official npm package @atproto/api (tests/package.json pins
// the version) ships the documents in dist/client/lexicons.js with refs
// normalised to "lex:<nsid>[#<def>]"; this script writes them back in the
// form of the atproto repository's lexicons/ folder ("#def" for a def of
// the same document, "<nsid>" for a main def, "<nsid>#<def>" otherwise).
//
// Run by hand when the schemas should follow a newer @atproto/api, then
// regenerate fcgi/core/lexicons.gen.c (make lexicons):
//   PATH=tests/node_modules/node/bin:$PATH node fcgi/core/lexicons/extract.mjs
import fs from 'node:fs'
import path from 'node:path'
import { createRequire } from 'node:module'

const here = path.dirname(new URL(import.meta.url).pathname)
const req = createRequire(path.join(here, '../../../tests/package.json'))
const apiDir = path.join(here, '../../../tests/node_modules/@atproto/api')
const { schemas } = req(path.join(apiDir, 'dist/client/lexicons.js'))
const apiVersion = req(path.join(apiDir, 'package.json')).version
const byId = new Map(schemas.map((s) => [s.id, s]))

export const RECORDS = [
  'app.bsky.actor.profile', 'app.bsky.actor.status',
  'app.bsky.feed.generator', 'app.bsky.feed.like', 'app.bsky.feed.post',
  'app.bsky.feed.postgate', 'app.bsky.feed.repost',
  'app.bsky.feed.threadgate', 'app.bsky.graph.block',
  'app.bsky.graph.follow', 'app.bsky.graph.list',
  'app.bsky.graph.listblock', 'app.bsky.graph.listitem',
  'app.bsky.graph.starterpack', 'app.bsky.graph.verification',
  'app.bsky.labeler.service', 'app.bsky.notification.declaration',
  'chat.bsky.actor.declaration', 'com.atproto.lexicon.schema',
  'com.germnetwork.declaration',
]

function split(ref, docid) {
  const r = ref.replace(/^lex:/, '')
  const i = r.indexOf('#')
  const id = i < 0 ? r : r.slice(0, i) || docid
  return [id, i < 0 ? 'main' : r.slice(i + 1)]
}

function denormalise(ref, docid) {
  const [id, name] = split(ref, docid)
  if (id === docid) return `#${name}`
  return name === 'main' ? id : `${id}#${name}`
}

const docs = new Set()
const seen = new Set()
function walk(v, docid) {
  if (Array.isArray(v)) return v.forEach((x) => walk(x, docid))
  if (v === null || typeof v !== 'object') return
  if (v.type === 'ref') visit(v.ref, docid)
  if (v.type === 'union') v.refs.forEach((r) => visit(r, docid))
  for (const [k, x] of Object.entries(v)) if (k !== 'refs') walk(x, docid)
}
function visit(ref, docid) {
  const [id, name] = split(ref, docid)
  if (seen.has(`${id}#${name}`)) return
  seen.add(`${id}#${name}`)
  docs.add(id)
  const def = byId.get(id)?.defs[name]
  if (def === undefined) throw new Error(`unresolved ref ${id}#${name}`)
  walk(def, id)
}
RECORDS.forEach((r) => visit(r, r))

function rewrite(v, docid) {
  if (Array.isArray(v)) return v.map((x) => rewrite(x, docid))
  if (v === null || typeof v !== 'object') return v
  const out = {}
  for (const [k, x] of Object.entries(v)) {
    if (k === 'ref' && v.type === 'ref') out[k] = denormalise(x, docid)
    else if (k === 'refs' && v.type === 'union')
      out[k] = x.map((r) => denormalise(r, docid))
    else out[k] = rewrite(x, docid)
  }
  return out
}

for (const id of [...docs].sort()) {
  const doc = rewrite(byId.get(id), id)
  fs.writeFileSync(path.join(here, `${id}.json`),
    JSON.stringify(doc, null, 2) + '\n')
}
console.log(`${docs.size} documents from @atproto/api ${apiVersion} written to ${here}`)
