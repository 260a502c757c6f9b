'use strict'
// Shared helpers for the node:test suites: repository paths, token minting with node:crypto and
// the committed test keys, a tiny JWKS server on loopback.

const { execFileSync } = require('node:child_process')
const crypto = require('node:crypto')
const fs = require('node:fs')
const http = require('node:http')
const path = require('node:path')

const ROOT = path.resolve(__dirname, '..', '..')
const KEYS = path.join(ROOT, 'tests', 'keys')
const VECTORS = path.join(ROOT, 'tests', 'vectors')
const EXAMPLE = path.join(ROOT, 'examples', 'express_app')

const ISSUER = 'https://issuer.test'
const AUDIENCE = 'https://api.test'

function privateKey(name) {
  return crypto.createPrivateKey(fs.readFileSync(path.join(KEYS, `${name}.pem`)))
}

/** The public JWK of a committed test key, with `kid` (and `alg` when given). */
function publicJwk(name, extra = {}) {
  const jwk = crypto.createPublicKey(privateKey(name)).export({ format: 'jwk' })
  return { ...jwk, kid: name, use: 'sig', ...extra }
}

const b64url = (buf) => Buffer.from(buf).toString('base64url')

/** Signs an RS256 compact JWS with tests/keys/<key>.pem. */
function mintRs256(claims, { key = 'rsa-a', kid = key, typ = 'at+jwt', header = {} } = {}) {
  const h = { alg: 'RS256', kid, typ, ...header }
  const input = `${b64url(JSON.stringify(h))}.${b64url(JSON.stringify(claims))}`
  const sig = crypto.sign('sha256', Buffer.from(input), privateKey(key))
  return `${input}.${b64url(sig)}`
}

const now = () => Math.floor(Date.now() / 1000)

/** Typical access-token claims, valid for an hour; `extra` overrides. */
function claims(extra = {}) {
  const t = now()
  return {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'user-1',
    client_id: 'web',
    iat: t,
    nbf: t,
    exp: t + 3600,
    jti: crypto.randomUUID(),
    scope: 'openid read:items',
    ...extra,
  }
}

/** Options of a validator with a static JWKS of rsa-a (camelCase, as a user writes them). */
function staticOptions(extra = {}) {
  return {
    issuer: ISSUER,
    audience: AUDIENCE,
    tokenType: 'at+jwt',
    jwks: { keys: [publicJwk('rsa-a')] },
    ...extra,
  }
}

/**
 * A JWKS endpoint on 127.0.0.1:0. `server.jwks` is served at /jwks; `server.requests` counts
 * them; `server.fail = true` answers 500; `server.delayMs` delays every answer.
 */
async function jwksServer(jwks = { keys: [publicJwk('rsa-a')] }) {
  const server = http.createServer(async (req, res) => {
    server.requests += 1
    if (server.delayMs) await new Promise((resolve) => setTimeout(resolve, server.delayMs))
    if (server.fail) {
      res.writeHead(500).end()
      return
    }
    if (req.url !== '/jwks') {
      res.writeHead(404).end()
      return
    }
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=600' })
    res.end(JSON.stringify(server.jwks))
  })
  server.jwks = jwks
  server.requests = 0
  server.fail = false
  server.delayMs = 0
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  server.url = `http://127.0.0.1:${server.address().port}/jwks`
  return server
}

/** A loopback URL where nothing listens (a port we bound and released). */
async function deadUrl() {
  const s = http.createServer()
  await new Promise((resolve) => s.listen(0, '127.0.0.1', resolve))
  const port = s.address().port
  await new Promise((resolve) => s.close(resolve))
  return `http://127.0.0.1:${port}/jwks`
}

/**
 * snake_case -> camelCase for option names (the inverse of the face's mapping), in nested
 * objects too (the entries of `issuers`); a `jwks` document keeps its RFC 7517 names.
 */
function camelOptions(config) {
  if (Array.isArray(config)) return config.map(camelOptions)
  if (config === null || typeof config !== 'object') return config
  const out = {}
  for (const [key, value] of Object.entries(config)) {
    out[key.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase())] = key === 'jwks' ? value : camelOptions(value)
  }
  return out
}

/**
 * examples/express_app's dependencies, installed as the Makefile does when they are missing (a
 * test that skipped itself instead would never run on a fresh clone). Throws if npm fails.
 * --no-save: the committed lock stays as it is.
 */
function ensureExampleInstalled() {
  if (fs.existsSync(path.join(EXAMPLE, 'node_modules', 'express'))) return
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
  execFileSync(npm, ['install', '--no-save', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: EXAMPLE, stdio: 'inherit' })
}

module.exports = {
  ROOT,
  EXAMPLE,
  ensureExampleInstalled,
  VECTORS,
  ISSUER,
  AUDIENCE,
  publicJwk,
  privateKey,
  mintRs256,
  claims,
  now,
  staticOptions,
  jwksServer,
  deadUrl,
  camelOptions,
}
