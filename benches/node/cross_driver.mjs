// The Node driver of the cross-language micro benchmark (benches/cross/README.md): jwtgate's Node
// face and fast-jwt, jose and jsonwebtoken on the spec's five algorithms, the same tokens and the
// same policy, answering timing orders in JSON lines.
//
//   python3 benches/cross/spec.py /tmp/spec.json
//   node benches/node/cross_driver.mjs /tmp/spec.json     (then commands on stdin, one per line)
//
// Started by benches/cross/run.py; it lives here to use this package's node_modules.

import fs from 'node:fs'
import path from 'node:path'
import crypto from 'node:crypto'
import readline from 'node:readline'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

import { createVerifier } from 'fast-jwt'
import * as jose from 'jose'
import jsonwebtoken from 'jsonwebtoken'

const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.resolve(here, '..', '..')
const require = createRequire(import.meta.url)
const jwtgate = require(path.join(root, 'bindings-node'))
const internal = jwtgate[Symbol.for('jwtgate.internal')]

if (process.argv.length !== 3) {
  console.error('usage: node cross_driver.mjs SPEC.json')
  process.exit(2)
}
if (internal.buildProfile !== 'release') {
  console.error('jwtgate: the addon is a debug build; run `make -C bindings-node release` first')
  process.exit(2)
}

const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'))
const { issuer, audience, leeway } = spec
const typ = spec.token_type

const versions = {
  node: process.version,
  jwtgate: jwtgate.version,
  'fast-jwt': pkgVersion('fast-jwt'),
  jose: pkgVersion('jose'),
  jsonwebtoken: pkgVersion('jsonwebtoken'),
}
const FAST = `fast-jwt ${versions['fast-jwt']}`
const JOSE = `jose ${versions.jose}`
const JWT = `jsonwebtoken ${versions.jsonwebtoken}`

// ---------------------------------------------------------------------------------------------
// The subjects. Each `fn(token)` returns the claims (a promise of them when `async`) or throws.

const subjects = []
const skipped = []
const add = (impl, alg, mode, fn, async = false) =>
  subjects.push({ id: `node/${impl}/${alg}/${mode}`, impl, alg, mode, fn, async })

for (const [alg, a] of Object.entries(spec.algs)) {
  const hmac = alg.startsWith('HS')

  // jwtgate: the spec's canonical config, top-level keys in camelCase (the JWKS stays as is).
  const options = Object.fromEntries(
    Object.entries(a.config).map(([k, v]) => [k.replace(/_([a-z])/g, (_, c) => c.toUpperCase()), v]),
  )
  const hit = new jwtgate.Validator(options)
  const cold = new jwtgate.Validator({ ...options, cacheMaxEntries: 0 })
  add('jwtgate', alg, 'hit', (t) => hit.validateSync(t))
  add('jwtgate', alg, 'cold', (t) => cold.validateSync(t))

  // fast-jwt: times in milliseconds; no typ check. A string key is the PEM or the HMAC secret.
  const fastOptions = {
    key: hmac ? a.secret : a.public_pem,
    algorithms: [alg],
    allowedIss: issuer,
    allowedAud: audience,
    clockTolerance: leeway * 1000,
  }
  add(FAST, alg, 'hit', createVerifier({ ...fastOptions, cache: true }))
  add(FAST, alg, 'cold', createVerifier({ ...fastOptions, cache: false }))

  // jose: a CryptoKey made once. For HMAC a CryptoKey too, not a Uint8Array or a secret KeyObject:
  // jose 6 would import those with crypto.subtle.importKey again on every call.
  const joseKey = hmac
    ? await crypto.subtle.importKey('raw', Buffer.from(a.secret, 'utf8'), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify'])
    : await jose.importJWK(a.jwk, alg)
  const joseOptions = { issuer, audience, algorithms: [alg], typ, clockTolerance: leeway }
  add(JOSE, alg, 'cold', async (t) => (await jose.jwtVerify(t, joseKey, joseOptions)).payload, true)

  // jsonwebtoken: a KeyObject; clockTolerance in seconds; no typ check; no EdDSA at all.
  if (alg === 'EdDSA') {
    skipped.push(`${JWT}: no EdDSA (jsonwebtoken 9 supports only HS*, RS*, PS*, ES*)`)
  } else {
    const key = hmac ? crypto.createSecretKey(Buffer.from(a.secret, 'utf8')) : crypto.createPublicKey(a.public_pem)
    const jwtOptions = { algorithms: [alg], issuer, audience, clockTolerance: leeway }
    add(JWT, alg, 'cold', (t) => jsonwebtoken.verify(t, key, jwtOptions))
  }
}

// Every subject accepts the good token with the spec's `sub` and refuses the damaged one.
const byId = new Map()
for (const s of subjects) {
  const a = spec.algs[s.alg]
  s.token = a.token
  s.sub = a.sub
  let claims
  try {
    claims = await s.fn(a.token)
  } catch (e) {
    fail(`${s.id}: refused the good token: ${e?.message ?? e}`)
  }
  if (claims?.sub !== a.sub) fail(`${s.id}: sub ${JSON.stringify(claims?.sub)}, expected ${JSON.stringify(a.sub)}`)
  let refused = false
  try {
    await s.fn(a.bad_token)
  } catch {
    refused = true
  }
  if (!refused) fail(`${s.id}: accepted bad_token`)
  byId.set(s.id, s)
}

send({
  lang: 'node',
  versions,
  subjects: subjects.map(({ id, impl, alg, mode }) => ({ id, impl, alg, mode })),
  ...(skipped.length ? { skipped } : {}),
})

// ---------------------------------------------------------------------------------------------
// Timing. Nothing but the calls between the two clock reads: every result is tested for being
// there (one compare), the last one's `sub` after the loop; a failing call throws anyway.

function timeSync(fn, token, n) {
  let last
  const start = process.hrtime.bigint()
  for (let i = 0; i < n; i++) {
    last = fn(token)
    if (!last) break
  }
  const ns = process.hrtime.bigint() - start
  return [ns, last]
}

// jose is async: each call awaited, one after the other, as a request handler would.
async function timeAsync(fn, token, n) {
  let last
  const start = process.hrtime.bigint()
  for (let i = 0; i < n; i++) {
    last = await fn(token)
    if (!last) break
  }
  const ns = process.hrtime.bigint() - start
  return [ns, last]
}

const rl = readline.createInterface({ input: process.stdin, terminal: false })
for await (const line of rl) {
  if (!line.trim()) continue
  let cmd
  try {
    cmd = JSON.parse(line)
  } catch {
    fail(`not a JSON command: ${line}`)
  }
  if (cmd.quit) break
  const s = byId.get(cmd.run)
  if (!s) fail(`unknown subject: ${cmd.run}`)
  const n = cmd.iters
  if (!Number.isSafeInteger(n) || n < 1) fail(`bad iters: ${JSON.stringify(n)}`)
  let result
  try {
    result = s.async ? await timeAsync(s.fn, s.token, n) : timeSync(s.fn, s.token, n)
  } catch (e) {
    fail(`${s.id}: threw during the run: ${e?.message ?? e}`)
  }
  const [ns, last] = result
  if (last?.sub !== s.sub) fail(`${s.id}: returned ${JSON.stringify(last)} during the run`)
  send({ ns: Number(ns) })
}
process.exit(0)

// ---------------------------------------------------------------------------------------------

function send(obj) {
  // stdout to a pipe is synchronous on Linux: the line is out before any exit.
  process.stdout.write(JSON.stringify(obj) + '\n')
}

function fail(message) {
  console.error(`cross_driver.mjs: ${message}`)
  process.exit(1)
}

function pkgVersion(name) {
  return JSON.parse(fs.readFileSync(path.join(here, 'node_modules', name, 'package.json'), 'utf8')).version
}
