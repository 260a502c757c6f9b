'use strict'
// Regression tests of the security audit (issue 11) for what the Node face itself does: where
// the slow path waits, how revocation refuses meaningless times, what an HTTP client is told
// when the provider is down, how much attacker text a message carries. Each failed before the
// fix named in its title.

const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const fs = require('node:fs')
const http = require('node:http')
const path = require('node:path')
const express = require('express')

const { Validator, JwtGateError, ConfigError, InvalidTokenError } = require('..')
const { jwtAuth } = require('../express')
const { EXAMPLE, ensureExampleInstalled, mintRs256, claims, staticOptions, privateKey, ISSUER, AUDIENCE } = require('./helpers')

/** An opaque (non-JWT) bearer token, distinct per call. */
const opaque = () => crypto.randomBytes(24).toString('base64url')

/** A loopback HTTP server; `handler(req, res)`; `server.requests` counts requests. */
async function server(handler) {
  const s = http.createServer((req, res) => {
    s.requests += 1
    req.resume()
    handler(req, res)
  })
  s.requests = 0
  await new Promise((resolve) => s.listen(0, '127.0.0.1', resolve))
  s.base = `http://127.0.0.1:${s.address().port}`
  s.stop = () => {
    s.closeAllConnections()
    return new Promise((resolve) => s.close(resolve))
  }
  return s
}

// -------------------------------------------------------------------------------------------
// Finding 11: a slow provider stalled the process. The slow path was an AsyncTask running
// validate_blocking on the libuv pool (4 threads): 8 tokens needing a provider round trip held
// every pool thread for the whole round trip, and any fs, dns.lookup or crypto work queued
// behind them (an fs.readFile waited 3-6 s). Now the round trip runs on the core's runtime and
// the promise is settled from there: the pool stays free.

test('finding 11: pending introspections against a slow provider do not hold the libuv pool', async () => {
  const timers = new Set()
  const slow = await server((req, res) => {
    const t = setTimeout(() => {
      timers.delete(t)
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"active":false}')
    }, 3000)
    timers.add(t)
  })
  try {
    const v = new Validator({
      ...staticOptions(),
      clientId: 'resource-server',
      clientSecret: 'resource-server-secret',
      introspectionEndpoint: `${slow.base}/introspect`,
      fetchTimeout: 10,
      fetchDeadline: 20,
      fetchRetries: 0,
      breakerThreshold: 0,
    })
    const settled = Promise.allSettled(Array.from({ length: 8 }, () => v.validate(opaque())))
    // Let the requests go out (with the old pool-bound path only 4 could: one per pool thread).
    const started = performance.now()
    while (slow.requests < 8 && performance.now() - started < 2500) await new Promise((resolve) => setTimeout(resolve, 10))

    const t0 = performance.now()
    const text = await fs.promises.readFile(__filename, 'utf8')
    const waited = performance.now() - t0
    assert.ok(text.includes('finding 11'))
    assert.ok(waited < 1000, `fs.promises.readFile waited ${Math.round(waited)} ms behind the introspections`)
    assert.equal(slow.requests, 8, 'the 8 introspections were in flight together')

    const results = await settled
    for (const r of results) {
      assert.equal(r.status, 'rejected')
      assert.equal(r.reason.kind, 'inactive', r.reason.message)
    }
    const s = v.stats()
    assert.equal(s.introspectionRequests, 8)
    assert.equal(s.introspectionThrottled, 0, 'the new counter is there, and 8 calls are within the default rate')
  } finally {
    for (const t of timers) clearTimeout(t)
    await slow.stop()
  }
})

// -------------------------------------------------------------------------------------------
// Finding 5: revocation failed open. NaN, infinite or past times (and empty ids) returned as if
// something was revoked, and the token kept validating. They are ConfigErrors now.

test('finding 5: meaningless revocations throw ConfigError and revoke nothing', () => {
  const v = new Validator(staticOptions())
  const token = mintRs256(claims({ jti: 'jti-5', sub: 'alice' }))
  assert.equal(v.validateSync(token).jti, 'jti-5')
  const t = Date.now() / 1000
  const refused = [
    [{ jti: 'jti-5', until: NaN }, /^until:/],
    [{ jti: 'jti-5', until: Infinity }, /^until:/],
    [{ jti: 'jti-5', until: -Infinity }, /^until:/],
    [{ jti: 'jti-5', until: t - 60 }, /^until:.*past/],
    [{ jti: 'jti-5', until: new Date(Number.NaN) }, /^until:/],
    [{ jti: 'jti-5', until: new Date(Date.now() - 60_000) }, /^until:.*past/],
    [{ sub: 'alice', issuedBefore: NaN }, /^issuedBefore:/],
    [{ sub: 'alice', issuedBefore: Infinity }, /^issuedBefore:/],
    [{ sub: 'alice', issuedBefore: -1 }, /^issuedBefore:/],
    [{ sub: 'alice', issuedBefore: t + 3600 }, /^issuedBefore:.*future/],
    [{ sub: 'alice', issuedBefore: new Date(Date.now() + 3_600_000) }, /^issuedBefore:.*future/],
    [{ jti: '' }, /^jti:/],
    [{ sub: '' }, /^sub:/],
    [{ jti: '', until: t + 3600 }, /^jti:/],
  ]
  for (const [spec, message] of refused) {
    assert.throws(
      () => v.revoke(spec),
      (e) => {
        assert.ok(e instanceof ConfigError, `${JSON.stringify(spec)}: ${e && e.name}: ${e && e.message}`)
        assert.deepEqual([e.kind, e.code, e.status], ['config', 3000, 500])
        assert.match(e.message, message)
        return true
      },
      JSON.stringify(spec),
    )
    assert.equal(v.validateSync(token).jti, 'jti-5', `${JSON.stringify(spec)} revoked the token`)
  }
  assert.equal(v.stats().cacheEntries, 1, 'no refused revocation touched the cache')

  // Wrong types stay TypeErrors.
  assert.throws(() => v.revoke({ jti: 'jti-5', until: 'tomorrow' }), TypeError)
  assert.throws(() => v.revoke({ jti: 5 }), TypeError)

  // A good revocation works, and says it dropped the cached result.
  assert.equal(v.revoke({ jti: 'jti-5', until: t + 3600 }), 1)
  assert.throws(() => v.validateSync(token), { kind: 'revoked' })
  const bob = mintRs256(claims({ sub: 'bob' }))
  v.validateSync(bob)
  assert.equal(v.revoke({ sub: 'bob', issuedBefore: new Date() }), 1)
  assert.throws(() => v.validateSync(bob), { kind: 'revoked' })
})

// -------------------------------------------------------------------------------------------
// Findings 6 and 7 over HTTP. The app answers errors two ways: `/json/*` with the handler the
// README recommends (`err.headers` and `err.body`, the core's answer), the rest with Express's own default
// handler (production mode: the status text). Before the fix there was no clientDescription,
// so the recommended handler (and the example app, which answered `jwks_unavailable` with its
// message) sent the provider's URL and OS error to anyone; and a duplicate header member's name
// came back whole, 5,000 attacker characters.

let app
let base
let refusesUs
const passedOn = []
const DEAD_JWKS = 'http://127.0.0.1:9/internal/jwks'
const DEAD_INTROSPECTION = 'http://127.0.0.1:9/internal/introspect'
// What no answer to a client may contain (CWE-209).
const PROVIDER_DETAILS = ['http://', '127.0.0.1', '/internal/', 'os error', 'client_id', 'client_secret', 'refused']

before(async () => {
  // An introspection endpoint that refuses our credentials: the message hints at client_id.
  refusesUs = await server((req, res) => res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"invalid_client"}'))
  const introspecting = (endpoint) =>
    new Validator({ ...staticOptions(), clientId: 'api', clientSecret: 'api-secret', introspectionEndpoint: endpoint, fetchRetries: 0 })
  const validators = {
    jwks: new Validator({ issuer: ISSUER, audience: AUDIENCE, tokenType: 'at+jwt', jwksUri: DEAD_JWKS, fetchRetries: 0 }),
    introspection: introspecting(DEAD_INTROSPECTION),
    credentials: introspecting(`${refusesUs.base}/internal/introspect`),
    static: new Validator(staticOptions()),
  }

  const expressApp = express()
  expressApp.set('env', 'production')
  const json = express.Router()
  for (const [name, validator] of Object.entries(validators)) {
    json.get(`/${name}`, jwtAuth({ validator }), (req, res) => res.json({ sub: req.auth.payload.sub }))
    expressApp.get(`/${name}`, jwtAuth({ validator }), (req, res) => res.json({ sub: req.auth.payload.sub }))
  }
  json.use((err, req, res, next) => {
    if (!(err instanceof JwtGateError)) return next(err)
    passedOn.push(err)
    res.status(err.status).set(err.headers).json(err.body)
  })
  expressApp.use('/json', json)
  await new Promise((resolve) => {
    app = expressApp.listen(0, '127.0.0.1', resolve)
  })
  base = `http://127.0.0.1:${app.address().port}`
})

after(async () => {
  app.closeAllConnections()
  await new Promise((resolve) => app.close(resolve))
  await refusesUs.stop()
})

async function get(route, token) {
  const res = await fetch(base + route, { headers: { authorization: `Bearer ${token}` } })
  const body = await res.text()
  return { status: res.status, headers: [...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n'), body }
}

function assertNoProviderDetails(r, what) {
  for (const detail of PROVIDER_DETAILS) {
    assert.ok(!r.body.includes(detail), `${what}: the body tells the client "${detail}": ${r.body}`)
    assert.ok(!r.headers.includes(detail), `${what}: a header tells the client "${detail}": ${r.headers}`)
  }
}

test('finding 6: a 503 never tells the client where the provider is or why it failed', async (t) => {
  t.mock.method(console, 'error', () => {}) // Express's default handler logs 5xx errors
  for (const [route, token, detail] of [
    ['jwks', mintRs256(claims()), '127.0.0.1:9'],
    ['introspection', opaque(), '127.0.0.1:9'],
    ['credentials', opaque(), 'client_id'],
  ]) {
    const recommended = await get(`/json/${route}`, token)
    assert.equal(recommended.status, 503, `${route}: ${recommended.body}`)
    assertNoProviderDetails(recommended, `${route} (recommended handler)`)
    const body = JSON.parse(recommended.body)
    assert.equal(body.error_description, 'the authorization server is unavailable; retry later')
    assert.equal(body.error, 'temporarily_unavailable')
    assert.match(body.kind, /^(jwks_unavailable|provider_unavailable)$/)

    // The error passed on keeps the whole story for the application's log.
    const err = passedOn.at(-1)
    assert.ok(err.message.includes(detail), `${route}: the logged message lost "${detail}": ${err.message}`)
    assert.equal(err.expose, false)
    assert.equal(err.clientDescription, 'the authorization server is unavailable; retry later')

    const plain = await get(`/${route}`, token)
    assert.equal(plain.status, 503)
    assertNoProviderDetails(plain, `${route} (Express's default handler)`)
    assert.ok(!/www-authenticate/i.test(plain.headers), '503 carries no invalid_token challenge')
  }
})

test('finding 6: clientDescription is null for token faults, fixed text for the others', () => {
  const { errorKinds } = require('..')
  const byKind = Object.fromEntries(errorKinds.map((k) => [k.kind, k]))
  assert.equal(byKind.expired.clientDescription, null)
  assert.equal(byKind.jwks_unavailable.clientDescription, 'the authorization server is unavailable; retry later')
  assert.equal(byKind.config.clientDescription, 'the token could not be checked')
  assert.equal(byKind.internal.clientDescription, 'the token could not be checked')
  for (const k of errorKinds) assert.equal(k.clientDescription === null, k.status < 500, k.kind)
})

// -------------------------------------------------------------------------------------------
// Finding 7: messages carried attacker text and secrets.

function duplicateMemberToken() {
  const name = 'x'.repeat(5000)
  const header = `{"alg":"RS256","kid":"rsa-a","typ":"at+jwt","${name}":1,"${name}":2}`
  const input = `${Buffer.from(header).toString('base64url')}.${Buffer.from(JSON.stringify(claims())).toString('base64url')}`
  return `${input}.${crypto.sign('sha256', Buffer.from(input), privateKey('rsa-a')).toString('base64url')}`
}

const LONG_RUN = /x{300}/

test('finding 7: a 5,000-character duplicate member name is not echoed whole', async (t) => {
  t.mock.method(console, 'error', () => {}) // Express's default handler logs errors outside 'test'
  const token = duplicateMemberToken()
  const v = new Validator(staticOptions({ maxTokenBytes: 65536 }))
  for (const attempt of [() => v.validateSync(token), () => v.validate(token)]) {
    let err
    try {
      await attempt()
    } catch (e) {
      err = e
    }
    assert.ok(err instanceof InvalidTokenError, `${err && err.name}`)
    assert.equal(err.kind, 'malformed')
    assert.match(err.message, /duplicate/)
    assert.ok(err.message.length < 300, `${err.message.length} characters`)
    assert.doesNotMatch(err.message, LONG_RUN)
  }

  // Over HTTP, through the recommended handler (body = the message) and Express's default one.
  const big = new Validator(staticOptions({ maxTokenBytes: 65536 }))
  const bigApp = express()
  bigApp.set('env', 'development') // the default handler then sends the error's stack, message included
  bigApp.get('/plain', jwtAuth({ validator: big }), (req, res) => res.end())
  const json = express.Router()
  json.get('/', jwtAuth({ validator: big }), (req, res) => res.end())
  json.use((err, req, res, next) => res.status(err.status).set(err.headers).json(err.body))
  bigApp.use('/json', json)
  const s = await new Promise((resolve) => {
    const listening = bigApp.listen(0, '127.0.0.1', () => resolve(listening))
  })
  try {
    for (const route of ['/json/', '/plain']) {
      const res = await fetch(`http://127.0.0.1:${s.address().port}${route}`, { headers: { authorization: `Bearer ${token}` } })
      const body = await res.text()
      assert.equal(res.status, 401, body)
      const challenge = res.headers.get('www-authenticate')
      assert.match(challenge, /^Bearer error="invalid_token", error_description="[^"]*duplicate/)
      assert.ok(challenge.length < 300, `challenge of ${challenge.length} characters`)
      assert.doesNotMatch(body, LONG_RUN, `${route}: the body carries the attacker's name`)
      if (route === '/json/') assert.ok(body.length < 400, `${body.length} characters`)
    }
  } finally {
    s.closeAllConnections()
    await new Promise((resolve) => s.close(resolve))
  }
})

test('finding 7: a numeric clientSecret or sharedSecret is never echoed', () => {
  for (const [option, extra] of [
    ['clientSecret', { clientId: 'api' }],
    ['sharedSecret', {}],
  ]) {
    assert.throws(
      () => new Validator({ ...staticOptions(), ...extra, [option]: 123456789123 }),
      (e) => {
        assert.ok(e instanceof ConfigError, `${e.name}: ${e.message}`)
        assert.ok(!e.message.includes('123456789123'), `the secret is in the message: ${e.message}`)
        assert.ok(!e.stack.includes('123456789123'))
        assert.match(e.message, new RegExp(`^${option}:`))
        return true
      },
    )
  }
})

// -------------------------------------------------------------------------------------------
// Finding 6 in examples/express_app: its error handler answered jwks_unavailable with the
// message, and its public /healthz returned health() with lastError (URL and OS error).

test(
  'finding 6: the example app answers 503 and /healthz without provider details',
  async (t) => {
    ensureExampleInstalled()
    const { createApp } = require(path.join(EXAMPLE, 'app'))
    const validator = new Validator({ issuer: ISSUER, audience: AUDIENCE, tokenType: 'at+jwt', jwksUri: DEAD_JWKS, fetchRetries: 0 })
    t.mock.method(console, 'error', () => {}) // the example logs the full message for operators
    const s = await new Promise((resolve) => {
      const listening = createApp({ validator }).listen(0, '127.0.0.1', () => resolve(listening))
    })
    try {
      const exampleBase = `http://127.0.0.1:${s.address().port}`
      const res = await fetch(`${exampleBase}/api/me`, { headers: { authorization: `Bearer ${mintRs256(claims())}` } })
      const r = { status: res.status, headers: [...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n'), body: await res.text() }
      assert.equal(r.status, 503, r.body)
      assertNoProviderDetails(r, 'example /api/me')
      assert.deepEqual(JSON.parse(r.body), {
        error: 'temporarily_unavailable',
        error_description: 'the authorization server is unavailable; retry later',
        kind: 'jwks_unavailable',
      })
      assert.ok(console.error.mock.calls.some((c) => String(c.arguments[0]).includes('127.0.0.1:9')), 'the cause is logged')

      assert.ok(validator.health().jwks.lastError.includes('127.0.0.1'), 'health() itself keeps the details')
      const health = await fetch(`${exampleBase}/healthz`)
      const text = await health.text()
      assert.equal(health.status, 200)
      assert.ok(!text.includes('127.0.0.1') && !text.includes('os error'), text)
      assert.equal(JSON.parse(text).keySource, 'remote')
    } finally {
      s.closeAllConnections()
      await new Promise((resolve) => s.close(resolve))
    }
  },
)
