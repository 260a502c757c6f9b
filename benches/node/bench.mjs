// jwtgate's Node face against fast-jwt, jose and jsonwebtoken: the same ~1 KB RS256 access token
// (tests/vectors/valid.json, 17 claims, typ at+jwt), the same policy (RS256 only, issuer,
// audience, exp), in one process, one after the other.
//
//   make -C bindings-node bench                    (release build of the addon, then this)
//   node bench.mjs [--quick] [--out RESULTS.md]
//
// Each row: warm-up, then ROUNDS rounds of N calls (rounds interleaved across rows); the CPU time
// per call of each round; the median of the rounds is reported (with the spread, min-max), and
// ratios are medians of per-round ratios. Not a test: nothing here can fail.

import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import crypto from 'node:crypto'
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

const args = process.argv.slice(2)
const quick = args.includes('--quick')
const outIndex = args.indexOf('--out')
const out = outIndex >= 0 ? args[outIndex + 1] : null

if (internal.buildProfile !== 'release') {
  console.error('jwtgate: the addon is a debug build; run `make -C bindings-node bench` (release build) first')
  process.exit(2)
}

// ---------------------------------------------------------------------------------------------
// The token and the keys

const vectors = JSON.parse(fs.readFileSync(path.join(root, 'tests', 'vectors', 'valid.json'), 'utf8'))
const testCase = vectors.cases.find((c) => c.name.startsWith('RS256 ') && c.expect.valid)
const config = vectors.configs[testCase.config]
const token = testCase.token
const issuer = config.issuer
const audience = config.audience
const jwk = config.jwks.keys.find((k) => k.kid === 'rsa-a')
const keyObject = crypto.createPublicKey({ key: jwk, format: 'jwk' })
const pem = keyObject.export({ type: 'spki', format: 'pem' })
const cryptoKey = await jose.importJWK({ ...jwk, alg: 'RS256' }, 'RS256')

const jwtgateOptions = {
  issuer,
  audience,
  tokenType: 'at+jwt',
  algorithms: ['RS256'],
  jwks: { keys: [jwk] },
}
const hitValidator = new jwtgate.Validator(jwtgateOptions)
const coldValidator = new jwtgate.Validator({ ...jwtgateOptions, cacheMaxEntries: 0 })

const fastOptions = { key: pem, algorithms: ['RS256'], allowedIss: issuer, allowedAud: audience }
const fastCached = createVerifier({ ...fastOptions, cache: true })
const fastUncached = createVerifier({ ...fastOptions, cache: false })

const joseOptions = { issuer, audience, algorithms: ['RS256'], typ: 'at+jwt' }
const jwtOptions = { algorithms: ['RS256'], issuer, audience }

// Every contender must accept the token and agree on the claims before anything is timed.
const expected = JSON.stringify(testCase.expect.claims)
const agree = (name, claims) => {
  const got = JSON.stringify(Object.fromEntries(Object.entries(claims).sort(([a], [b]) => (a < b ? -1 : 1))))
  if (got !== expected) throw new Error(`${name} returned other claims: ${got}`)
}
agree('jwtgate hit', hitValidator.validateSync(token))
agree('jwtgate cold', coldValidator.validateSync(token))
agree('jwtgate validate()', await hitValidator.validate(token))
agree('fast-jwt cached', fastCached(token))
agree('fast-jwt uncached', fastUncached(token))
agree('jose', (await jose.jwtVerify(token, cryptoKey, joseOptions)).payload)
agree('jsonwebtoken', jsonwebtoken.verify(token, keyObject, jwtOptions))

// ---------------------------------------------------------------------------------------------
// Timing

const ROUNDS = quick ? 3 : 15

// CPU time of the whole process (user + system, every thread), in ns per call. On this shared
// 2-core machine wall time also counts the time other engineers' builds hold the CPU; CPU time
// counts the work done. (jose's WebCrypto work on the libuv pool is included.)
function cpuNs() {
  const { user, system } = process.cpuUsage()
  return (user + system) * 1000
}

function timeSync(fn, n) {
  const start = cpuNs()
  for (let i = 0; i < n; i++) fn(token)
  return (cpuNs() - start) / n
}

async function timeAsync(fn, n) {
  const start = cpuNs()
  for (let i = 0; i < n; i++) await fn(token)
  return (cpuNs() - start) / n
}

// Rounds are interleaved (round 1 of every row, then round 2, ...): on a shared machine the load
// drifts over minutes, and interleaving spreads it over every row alike.
async function measureAll(contenders) {
  for (const c of contenders) await (c.async ? timeAsync : timeSync)(c.fn, Math.max(100, c.n >> 2)) // warm-up
  const perCall = contenders.map(() => [])
  for (let r = 0; r < ROUNDS; r++) {
    for (const [i, c] of contenders.entries()) perCall[i].push(await (c.async ? timeAsync : timeSync)(c.fn, c.n))
  }
  const rows = { perRound: {} }
  for (const [i, c] of contenders.entries()) {
    rows.perRound[c.key] = [...perCall[i]]
    const sorted = perCall[i].sort((a, b) => a - b)
    rows[c.key] = { name: c.name, median: sorted[sorted.length >> 1], min: sorted[0], max: sorted[sorted.length - 1], n: c.n }
    console.error(`${c.name.padEnd(48)} ${fmt(rows[c.key].median).padStart(10)}  (${fmt(sorted[0])} - ${fmt(sorted[sorted.length - 1])})`)
  }
  return rows
}

function fmt(ns) {
  return ns >= 10_000 ? `${(ns / 1000).toFixed(1)} µs` : `${(ns / 1000).toFixed(2)} µs`
}

const HIT = quick ? 20_000 : 100_000
const COLD = quick ? 1_000 : 3_000

const native = internal.native
const floorValidator = new native.NativeValidator(
  JSON.stringify({ issuer, audience, token_type: 'at+jwt', algorithms: ['RS256'], jwks: { keys: [jwk] } }),
)
floorValidator.check(token)
const coldFloorValidator = new native.NativeValidator(
  JSON.stringify({ issuer, audience, token_type: 'at+jwt', algorithms: ['RS256'], jwks: { keys: [jwk] }, cache_max_entries: 0 }),
)
const payloadJson = Buffer.from(token.split('.')[1], 'base64url').toString('utf8')
const textMemo = new Map()

const rows = await measureAll([
  { key: 'hit', name: 'jwtgate validateSync, cache hit', fn: (t) => hitValidator.validateSync(t), n: HIT },
  { key: 'hitAsync', name: 'jwtgate await validate(), cache hit', fn: (t) => hitValidator.validate(t), n: HIT, async: true },
  { key: 'floor', name: '(jwtgate native check only, no claims)', fn: (t) => floorValidator.check(t), n: HIT },
  // The alternatives to the shipped claims memo (keyed by the claims id): the claims handed over
  // as JSON text on every hit, then parsed every time, or used as the key of a memo.
  {
    key: 'parseEach',
    name: '(hit + claims as JSON text, JSON.parse every call)',
    fn: (t) => {
      floorValidator.check(t)
      const text = floorValidator.takeClaims()
      const a = text.indexOf('\0')
      return JSON.parse(text.slice(a + 1, text.indexOf('\0', a + 1)))
    },
    n: HIT,
  },
  {
    key: 'textMemo',
    name: '(hit + claims as JSON text, as the key of a memo)',
    fn: (t) => {
      floorValidator.check(t)
      const text = floorValidator.takeClaims()
      let claims = textMemo.get(text)
      if (claims === undefined) textMemo.set(text, (claims = Object.freeze(JSON.parse(payloadJson))))
      return claims
    },
    n: HIT,
  },
  { key: 'fastCached', name: 'fast-jwt, cache on (hit)', fn: fastCached, n: HIT },
  { key: 'cold', name: 'jwtgate validateSync, cache off (RS256 verify)', fn: (t) => coldValidator.validateSync(t), n: COLD },
  { key: 'coldFloor', name: '(jwtgate native check only, cache off)', fn: (t) => coldFloorValidator.check(t), n: COLD },
  { key: 'fastUncached', name: 'fast-jwt, cache off', fn: fastUncached, n: COLD },
  { key: 'jose', name: 'jose jwtVerify (CryptoKey)', fn: (t) => jose.jwtVerify(t, cryptoKey, joseOptions), n: COLD, async: true },
  { key: 'jsonwebtoken', name: 'jsonwebtoken verify (KeyObject)', fn: (t) => jsonwebtoken.verify(t, keyObject, jwtOptions), n: COLD },
])

// ---------------------------------------------------------------------------------------------
// Report

const perRound = rows.perRound
delete rows.perRound
// Each ratio is taken per round (both rows measured within seconds of each other), then the
// median of the rounds: drifting load cancels out of a ratio better than out of two medians.
const ratio = (slow, fast) => {
  const r = perRound[slow].map((x, i) => x / perRound[fast][i]).sort((a, b) => a - b)
  return `${r[r.length >> 1].toFixed(2)}×`
}
const cpu = os.cpus()[0]?.model ?? 'unknown CPU'
const lines = [
  '| contender | per call (median) | spread (min–max of rounds) | calls per round |',
  '|---|---:|---:|---:|',
  ...Object.values(rows).map((r) => `| ${r.name} | ${fmt(r.median)} | ${fmt(r.min)} – ${fmt(r.max)} | ${r.n.toLocaleString('en')} |`),
]
const summary = [
  `- cache hit: jwtgate \`validateSync\` is **${ratio('fastCached', 'hit')}** faster than fast-jwt's cached hit (target ≥ 2×).`,
  `- cold RS256: jwtgate with its cache off is **${ratio('fastUncached', 'cold')}** faster than fast-jwt uncached (target ≥ 1.5×); ${ratio('jsonwebtoken', 'cold')} faster than jsonwebtoken with a KeyObject, ${ratio('jose', 'cold')} faster than jose.`,
  `- what the JS layer adds to a cold validation (claims JSON handed over, parsed, frozen): ${fmt(rows.cold.median - rows.coldFloor.median)}; the engine's check alone is ${ratio('fastUncached', 'coldFloor')} faster than fast-jwt uncached.`,
  `- claims on a hit, over the bare native call: the shipped memo keyed by claims id ${fmt(rows.hit.median - rows.floor.median)}; JSON text used as a memo key ${fmt(rows.textMemo.median - rows.floor.median)}; JSON text parsed every call ${fmt(rows.parseEach.median - rows.floor.median)}.`,
]
const env = `node ${process.version}, ${cpu}, ${os.cpus().length} logical CPUs, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} at the end, ${new Date().toISOString().slice(0, 16)}Z; jwtgate ${jwtgate.version} (${internal.buildProfile}), fast-jwt ${pkgVersion('fast-jwt')}, jose ${pkgVersion('jose')}, jsonwebtoken ${pkgVersion('jsonwebtoken')}; ${ROUNDS} rounds per row.`

console.log(['', ...lines, '', ...summary, '', env].join('\n'))
if (out) {
  const doc = fs.readFileSync(path.join(here, 'RESULTS.template.md'), 'utf8')
  fs.writeFileSync(path.resolve(out), doc.replace('{{TABLE}}', lines.join('\n')).replace('{{SUMMARY}}', summary.join('\n')).replace('{{ENV}}', env))
  console.error(`wrote ${out}`)
}

function pkgVersion(name) {
  return JSON.parse(fs.readFileSync(path.join(here, 'node_modules', name, 'package.json'), 'utf8')).version
}
