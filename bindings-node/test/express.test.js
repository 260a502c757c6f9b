'use strict'
// jwtgate/express in a real Express app on a loopback port, driven by real HTTP requests
// (node's fetch). Errors go through Express's own default error handler: status and
// WWW-Authenticate must come out right without any application code.

const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const express = require('express')

const { Validator } = require('..')
const { jwtAuth, requiredScopes, claimCheck } = require('../express')
const { mintRs256, claims, now, staticOptions, jwksServer, deadUrl, ISSUER, AUDIENCE } = require('./helpers')

let server
let base
let jwks
const validator = new Validator(staticOptions())

before(async () => {
  jwks = await jwksServer()
  const remote = new Validator({ issuer: ISSUER, audience: AUDIENCE, tokenType: 'at+jwt', jwksUri: jwks.url })
  const down = new Validator({ issuer: ISSUER, audience: AUDIENCE, jwksUri: await deadUrl(), fetchRetries: 0 })
  const remoteScoped = new Validator({ issuer: ISSUER, audience: AUDIENCE, tokenType: 'at+jwt', jwksUri: jwks.url })

  const app = express()
  app.set('env', 'test') // Express's default error handler: no console logging in tests
  const auth = jwtAuth({ validator })
  app.get('/public', (req, res) => res.json({ public: true }))
  app.get('/me', auth, (req, res) => {
    res.json({ sub: req.auth.payload.sub, alg: req.auth.header.alg, sameToken: req.auth.token === req.get('authorization').slice(7) })
  })
  app.get('/items', auth, requiredScopes('read:items'), (req, res) => res.json({ items: [] }))
  app.post('/items', auth, requiredScopes('read:items', 'write:items'), (req, res) => res.status(201).json({ created: true }))
  app.get('/admin', auth, claimCheck((p) => Array.isArray(p.roles) && p.roles.includes('admin'), 'the admin role is required'), (req, res) => res.json({ admin: true }))
  app.get('/async-check', auth, claimCheck(async (p) => p.sub === 'alice'), (req, res) => res.json({ ok: true }))
  app.get('/optional', jwtAuth({ validator, authRequired: false }), (req, res) => res.json({ user: req.auth ? req.auth.payload.sub : null }))
  app.get('/from-options', jwtAuth(staticOptions()), (req, res) => res.json({ sub: req.auth.payload.sub }))
  app.get('/remote', jwtAuth({ validator: remote }), (req, res) => res.json({ sub: req.auth.payload.sub }))
  app.get('/down', jwtAuth({ validator: down }), (req, res) => res.json({ unreachable: true }))
  // The Promise path, then the core's scope check on the claims it handed over.
  app.get('/remote-items', jwtAuth({ validator: remoteScoped }), requiredScopes('read:items'), (req, res) => res.json({ sub: req.auth.payload.sub }))
  // req.auth replaced by a copy: requiredScopes cannot trust its scopes.
  const copy = (req, res, next) => {
    req.auth = { ...req.auth, payload: { ...req.auth.payload } }
    next()
  }
  app.get('/copied', auth, copy, requiredScopes('read:items'), (req, res) => res.json({ copied: true }))
  app.get('/no-auth', requiredScopes('read:items'), (req, res) => res.json({ reached: true }))
  const realm = jwtAuth({ validator, realm: 'api' })
  app.get('/realm/items', realm, requiredScopes('write:items'), (req, res) => res.json({ ok: true }))
  app.get('/realm/admin', realm, claimCheck(() => false, 'no'), (req, res) => res.json({ ok: true }))
  app.get('/realm/me', realm, (req, res) => res.json({ ok: true }))
  app.get('/passed-on', auth, requiredScopes('write:items'), (req, res) => res.json({}))
  app.use('/passed-on', (err, req, res, next) => {
    res.status(err.status).json({ fields: [err.status, err.statusCode, err.expose, err.headers, err.body] })
  })

  await new Promise((resolve) => {
    server = app.listen(0, '127.0.0.1', resolve)
  })
  base = `http://127.0.0.1:${server.address().port}`
})

after(() => {
  server.close()
  jwks.close()
})

async function get(path, token, init = {}) {
  const headers = { ...(init.headers || {}) }
  if (token !== undefined) headers.authorization = `Bearer ${token}`
  const res = await fetch(base + path, { ...init, headers })
  const body = await res.text()
  return { status: res.status, challenge: res.headers.get('www-authenticate'), body, json: () => JSON.parse(body) }
}

test('a public route needs nothing', async () => {
  const r = await get('/public')
  assert.equal(r.status, 200)
})

test('a valid token reaches the route with req.auth = { payload, header, token }', async () => {
  const r = await get('/me', mintRs256(claims({ sub: 'alice' })))
  assert.equal(r.status, 200)
  assert.deepEqual(r.json(), { sub: 'alice', alg: 'RS256', sameToken: true })
})

test('no Authorization header: 401 with a bare Bearer challenge (RFC 6750 §3.1)', async () => {
  const r = await get('/me')
  assert.equal(r.status, 401)
  assert.equal(r.challenge, 'Bearer')
  const basic = await get('/me', undefined, { headers: { authorization: 'Basic dXNlcjpwYXNz' } })
  assert.equal(basic.status, 401)
  assert.equal(basic.challenge, 'Bearer')
})

test('a bad token: 401 invalid_token with a description that never echoes the token', async () => {
  const forged = mintRs256(claims(), { key: 'rsa-b', kid: 'rsa-a' })
  for (const [token, description] of [
    [forged, /signature/],
    [mintRs256(claims({ exp: now() - 3600, iat: now() - 7200, nbf: now() - 7200 })), /expired/],
    ['not-a-jwt', /./],
    [mintRs256(claims({ aud: 'https://other.test' })), /aud/],
  ]) {
    const r = await get('/me', token)
    assert.equal(r.status, 401, r.body)
    assert.match(r.challenge, /^Bearer error="invalid_token", error_description="[^"]+"$/)
    assert.match(r.challenge, description)
    assert.ok(!r.challenge.includes(token) && !r.body.includes(token), 'the token is never echoed')
  }
})

test('a malformed Authorization header is 400 invalid_request (RFC 6750 §3.1)', async () => {
  for (const header of ['Bearer', 'Bearer ', 'Bearer a b', `Bearer ${'"'.repeat(3)}`]) {
    const r = await get('/me', undefined, { headers: { authorization: header } })
    assert.equal(r.status, 400, header)
    assert.match(r.challenge, /error="invalid_request"/, header)
  }
  // The scheme is case-insensitive (RFC 7235 §2.1).
  const r = await get('/me', undefined, { headers: { authorization: `bearer ${mintRs256(claims())}` } })
  assert.equal(r.status, 200)
})

test('scopes: 403 insufficient_scope naming the required scopes; scope or scp', async () => {
  const reader = mintRs256(claims({ scope: 'openid read:items' }))
  assert.equal((await get('/items', reader)).status, 200)
  const r = await get('/items', reader, { method: 'POST' })
  assert.equal(r.status, 403)
  assert.equal(
    r.challenge,
    'Bearer error="insufficient_scope", error_description="missing scope: write:items", scope="read:items write:items"',
  )
  const writer = mintRs256(claims({ scope: undefined, scp: ['read:items', 'write:items'] }))
  assert.equal((await get('/items', writer, { method: 'POST' })).status, 201)
  const nothing = mintRs256(claims({ scope: undefined }))
  assert.equal((await get('/items', nothing)).status, 403)
})

test('claimCheck: a falsy result is 401 invalid_token with the given description', async () => {
  assert.equal((await get('/admin', mintRs256(claims({ roles: ['admin'] })))).status, 200)
  const r = await get('/admin', mintRs256(claims({ roles: ['reader'] })))
  assert.equal(r.status, 401)
  assert.equal(r.challenge, 'Bearer error="invalid_token", error_description="the admin role is required"')
  assert.equal((await get('/async-check', mintRs256(claims({ sub: 'alice' })))).status, 200)
  assert.equal((await get('/async-check', mintRs256(claims({ sub: 'bob' })))).status, 401)
})

test('authRequired: false lets requests without a token through, but not bad tokens', async () => {
  assert.deepEqual((await get('/optional')).json(), { user: null })
  assert.deepEqual((await get('/optional', mintRs256(claims({ sub: 'erin' })))).json(), { user: 'erin' })
  assert.equal((await get('/optional', 'garbage')).status, 401)
})

test('jwtAuth(options) builds its own validator', async () => {
  assert.deepEqual((await get('/from-options', mintRs256(claims({ sub: 'frank' })))).json(), { sub: 'frank' })
})

test('remote keys not loaded yet: the middleware takes the Promise path and succeeds', async () => {
  const r = await get('/remote', mintRs256(claims({ sub: 'grace' })))
  assert.equal(r.status, 200, r.body)
  assert.deepEqual(r.json(), { sub: 'grace' })
  assert.equal((await get('/remote', mintRs256(claims({ sub: 'heidi' })))).status, 200)
})

test('an unreachable provider: 503 without an invalid_token challenge', async () => {
  const token = mintRs256(claims())
  const r = await get('/down', token)
  assert.equal(r.status, 503)
  assert.equal(r.challenge, null)
  assert.ok(!r.body.includes(token))
})

test('realm: in every challenge of the middlewares after jwtAuth({ realm })', async () => {
  assert.equal((await get('/realm/me')).challenge, 'Bearer realm="api"')
  assert.equal(
    (await get('/realm/me', 'not-a-jwt')).challenge,
    'Bearer realm="api", error="invalid_token", error_description="not a JWT, and no introspection is configured (client_id)"',
  )
  const reader = mintRs256(claims({ scope: 'read:items' }))
  const scoped = await get('/realm/items', reader)
  assert.equal(scoped.status, 403)
  assert.equal(scoped.challenge, 'Bearer realm="api", error="insufficient_scope", error_description="missing scope: write:items", scope="write:items"')
  assert.equal((await get('/realm/admin', reader)).challenge, 'Bearer realm="api", error="invalid_token", error_description="no"')
})

test('the error passed on carries the answer: status, statusCode, expose, headers, body', async () => {
  const r = await get('/passed-on', mintRs256(claims({ scope: 'read:items' })))
  assert.equal(r.status, 403)
  assert.deepEqual(r.json().fields, [
    403,
    403,
    true,
    { 'WWW-Authenticate': 'Bearer error="insufficient_scope", error_description="missing scope: write:items", scope="write:items"' },
    { error: 'insufficient_scope', error_description: 'missing scope: write:items', kind: 'insufficient_scope' },
  ])
})

test('requiredScopes: after the Promise path too; fails closed without claims jwtAuth handed out', async () => {
  const r = await get('/remote-items', mintRs256(claims({ sub: 'ivan', scope: 'read:items' })))
  assert.equal(r.status, 200, r.body)
  assert.deepEqual(r.json(), { sub: 'ivan' })
  assert.equal((await get('/remote-items', mintRs256(claims({ scope: 'openid' })))).status, 403)

  const copied = await get('/copied', mintRs256(claims({ scope: 'read:items' })))
  assert.equal(copied.status, 403)
  assert.match(copied.challenge, /error="insufficient_scope", error_description="the claims were not validated by jwtgate"/)
  const none = await get('/no-auth', mintRs256(claims({ scope: 'read:items' })))
  assert.deepEqual([none.status, none.challenge], [401, 'Bearer'])
})

test('authRequired: false also lets another scheme through (no bearer credentials at all)', async () => {
  const r = await get('/optional', undefined, { headers: { authorization: 'Basic dXNlcjpwYXNz' } })
  assert.deepEqual(r.json(), { user: null })
  assert.equal((await get('/optional', undefined, { headers: { authorization: 'Bearer a b' } })).status, 400)
})

test('jwtAuth and requiredScopes refuse wrong arguments at setup', () => {
  assert.throws(() => jwtAuth({ validator, realm: 5 }), { name: 'TypeError', message: /realm/ })
  assert.throws(() => jwtAuth(), TypeError)
  assert.throws(() => jwtAuth({ validator: {} }), TypeError)
  assert.throws(() => jwtAuth({ validator, issuer: 'x' }), TypeError)
  assert.throws(() => jwtAuth({ issuer: ISSUER, audiance: 'x' }), { name: 'ConfigError' })
  assert.throws(() => requiredScopes(), TypeError)
  assert.throws(() => requiredScopes(5), TypeError)
  assert.throws(() => claimCheck('x'), TypeError)
})
