'use strict'
// The Validator API: results, the error hierarchy, option mapping, revocation, stats, health.

const { test } = require('node:test')
const assert = require('node:assert/strict')

const jwtgate = require('..')
const {
  Validator,
  JwtGateError,
  InvalidTokenError,
  MalformedTokenError,
  SignatureError,
  ExpiredTokenError,
  InvalidClaimsError,
  RevokedTokenError,
  InsufficientScopeError,
  ProviderUnavailableError,
  KeysNotLoadedError,
  ConfigError,
  InternalError,
  errorKinds,
} = jwtgate
const { mintRs256, claims, now, staticOptions, publicJwk, ISSUER, AUDIENCE } = require('./helpers')

test('validateSync and validate return the verified claims', async () => {
  const v = new Validator(staticOptions())
  const token = mintRs256(claims({ sub: 'alice', roles: ['a', 'b'] }))
  const sync = v.validateSync(token)
  assert.equal(sync.sub, 'alice')
  assert.deepEqual(sync.roles, ['a', 'b'])
  const promised = await v.validate(token)
  assert.equal(promised.sub, 'alice')
})

test('a cache hit returns the same deep-frozen object; a changed token does not share it', () => {
  const v = new Validator(staticOptions())
  const token = mintRs256(claims({ nested: { list: [1, { x: 1 }] } }))
  const first = v.validateSync(token)
  const second = v.validateSync(token)
  assert.equal(first, second)
  assert.ok(Object.isFrozen(first) && Object.isFrozen(first.nested.list[1]))
  assert.throws(() => {
    'use strict'
    first.sub = 'mallory'
  }, TypeError)
  const other = v.validateSync(mintRs256(claims({ sub: 'bob' })))
  assert.notEqual(other, first)
  assert.equal(other.sub, 'bob')
  assert.equal(v.stats().cacheHits, 1)
})

test('without the result cache every call validates afresh (and still answers correctly)', () => {
  const v = new Validator(staticOptions({ cacheMaxEntries: 0 }))
  const token = mintRs256(claims({ sub: 'carol' }))
  assert.equal(v.validateSync(token).sub, 'carol')
  assert.equal(v.validateSync(token).sub, 'carol')
  const s = v.stats()
  assert.equal(s.cacheHits, 0)
  assert.equal(s.validationsOk, 2)
})

test('errors are JwtGateError subclasses with kind, code and status', async () => {
  const v = new Validator(staticOptions({ leeway: 0 }))
  const expired = mintRs256(claims({ exp: now() - 10, iat: now() - 100, nbf: now() - 100 }))
  const e = (() => {
    try {
      v.validateSync(expired)
    } catch (err) {
      return err
    }
  })()
  assert.ok(e instanceof ExpiredTokenError)
  assert.ok(e instanceof InvalidTokenError)
  assert.ok(e instanceof JwtGateError)
  assert.ok(e instanceof Error)
  assert.equal(e.name, 'ExpiredTokenError')
  assert.deepEqual([e.kind, e.code, e.status], ['expired', 1200, 401])
  assert.match(e.stack, /validator\.test\.js/, 'the stack points at the caller')
  await assert.rejects(v.validate(expired), ExpiredTokenError)

  const forged = mintRs256(claims(), { key: 'rsa-b', kid: 'rsa-a' })
  assert.throws(() => v.validateSync(forged), { name: 'SignatureError', kind: 'signature_invalid', code: 1102, status: 401 })
  assert.throws(() => v.validateSync(forged), InvalidTokenError)
  const wrongAud = mintRs256(claims({ aud: 'https://elsewhere.test' }))
  assert.throws(() => v.validateSync(wrongAud), { kind: 'audience_mismatch', status: 401 })
})

test('errorKinds is the core table: unique codes, statuses by family', () => {
  const codes = new Set(errorKinds.map((k) => k.code))
  assert.equal(codes.size, errorKinds.length)
  const byKind = Object.fromEntries(errorKinds.map((k) => [k.kind, k]))
  assert.deepEqual(byKind.expired, { kind: 'expired', code: 1200, status: 401, class: 'expired', clientDescription: null })
  assert.equal(byKind.jwks_unavailable.clientDescription, 'the authorization server is unavailable; retry later')
  assert.equal(byKind.insufficient_scope.status, 403)
  assert.equal(byKind.keys_not_loaded.status, 503)
  assert.equal(byKind.config.status, 500)
  assert.match(jwtgate.version, /^\d+\.\d+\.\d+/)
})

test('error classes come from the core: every class it names has one, the families are its own', () => {
  const { CLASS_BY_NAME, errorOfKind } = jwtgate[Symbol.for('jwtgate.internal')]
  const exported = new Set(Object.values(jwtgate))
  for (const row of errorKinds) {
    const Class = CLASS_BY_NAME.get(row.class)
    assert.ok(Class, `${row.kind}: the core's class "${row.class}" has no JS class`)
    assert.ok(exported.has(Class), `${Class.name} is not exported`)
    const err = errorOfKind(row.kind, 'x')
    assert.equal(err.constructor, Class, row.kind)
    assert.deepEqual([err.kind, err.code, err.status, err.statusCode], [row.kind, row.code, row.status, row.status])
  }
  const used = new Set(errorKinds.map((k) => k.class))
  for (const name of CLASS_BY_NAME.keys()) assert.ok(used.has(name), `the core has no class "${name}" any more`)

  // The hierarchy under the core's table (ErrorKind::class): the same families as every face.
  for (const Class of [MalformedTokenError, SignatureError, ExpiredTokenError, InvalidClaimsError, RevokedTokenError]) {
    assert.equal(Object.getPrototypeOf(Class), InvalidTokenError, Class.name)
  }
  assert.equal(Object.getPrototypeOf(KeysNotLoadedError), ProviderUnavailableError)
  for (const Class of [InvalidTokenError, InsufficientScopeError, ProviderUnavailableError, ConfigError, InternalError]) {
    assert.equal(Object.getPrototypeOf(Class), JwtGateError, Class.name)
  }
  // A request without a token is an invalid-token error, as in Python and Go.
  const missing = errorOfKind('missing_token', 'x')
  assert.equal(missing.constructor, InvalidTokenError)
  assert.deepEqual([missing.code, missing.status], [1004, 401])
  // A malformed Authorization header is a malformed request: 400 (RFC 6750 §3.1 invalid_request).
  const invalidRequest = errorOfKind('invalid_request', 'x')
  assert.ok(invalidRequest instanceof MalformedTokenError)
  assert.deepEqual([invalidRequest.code, invalidRequest.status, invalidRequest.expose], [1005, 400, true])
})

test('every error carries its HTTP answer, from the core', () => {
  const { errorOfKind } = jwtgate[Symbol.for('jwtgate.internal')]
  const expired = errorOfKind('expired', 'token has expired')
  assert.deepEqual(expired.headers, { 'WWW-Authenticate': 'Bearer error="invalid_token", error_description="token has expired"' })
  assert.deepEqual(expired.body, { error: 'invalid_token', error_description: 'token has expired', kind: 'expired' })
  const down = errorOfKind('jwks_unavailable', 'http://10.0.0.7/jwks: connection refused')
  assert.deepEqual(down.headers, {})
  assert.deepEqual(down.body, { error: 'temporarily_unavailable', error_description: 'the authorization server is unavailable; retry later', kind: 'jwks_unavailable' })
  assert.deepEqual([down.expose, down.statusCode], [false, 503])
  // http-errors style code may set them; the values set are kept.
  down.headers = { 'Retry-After': '5' }
  assert.deepEqual(down.headers, { 'Retry-After': '5' })
})

test('options: camelCase maps to the canonical names; mistakes are ConfigErrors naming the option', () => {
  // The same option in both spellings is accepted once and refused twice.
  assert.ok(new Validator({ ...staticOptions(), tokenType: undefined, token_type: 'at+jwt' }))
  assert.throws(() => new Validator({ ...staticOptions(), token_type: 'at+jwt' }), { name: 'ConfigError', message: /token_type: given twice/ })
  assert.throws(() => new Validator({ ...staticOptions(), audiance: 'x' }), (e) => {
    assert.ok(e instanceof ConfigError)
    assert.deepEqual([e.kind, e.code, e.status], ['config', 3000, 500])
    assert.match(e.message, /unknown field `audiance`/)
    assert.match(e.message, /`jwksUri`/, 'the expected names are the camelCase ones')
    return true
  })
  assert.throws(() => new Validator(staticOptions({ maxTokenBytes: 1 })), { name: 'ConfigError', message: /^maxTokenBytes:/ })
  assert.throws(() => new Validator({ issuer: ISSUER, audience: AUDIENCE, jwksUri: 'http://example.com/jwks' }), { message: /^jwksUri: must use https/ })
  assert.throws(() => new Validator(staticOptions({ leeway: 301 })), { name: 'ConfigError', message: /^leeway/ })
  assert.throws(() => new Validator(staticOptions({ algorithms: ['none'] })), { name: 'ConfigError', message: /^algorithms/ })
  // A JWKS as JSON text works like an object.
  const v = new Validator(staticOptions({ jwks: JSON.stringify({ keys: [publicJwk('rsa-a')] }) }))
  assert.equal(v.validateSync(mintRs256(claims())).iss, ISSUER)
  // Wrong argument types are TypeErrors, not ConfigErrors.
  for (const bad of [undefined, null, 'issuer', 42, [staticOptions()]]) {
    assert.throws(() => new Validator(bad), TypeError)
  }
  assert.throws(() => new Validator(staticOptions({ leeway: 10n })), TypeError)
})

test('requiredClaims values are claim names, not option names: they are not re-cased', () => {
  const v = new Validator(staticOptions({ requiredClaims: ['client_id', 'https://example.com/tenant'] }))
  const ok = mintRs256(claims({ 'https://example.com/tenant': 't1' }))
  assert.equal(v.validateSync(ok).client_id, 'web')
  const missing = mintRs256(claims())
  assert.throws(() => v.validateSync(missing), { kind: 'missing_claim' })
})

test('revoke by jti and by subject drops cached results at once', () => {
  const v = new Validator(staticOptions())
  const a = mintRs256(claims({ jti: 'jti-a', sub: 'alice' }))
  const b = mintRs256(claims({ jti: 'jti-b', sub: 'bob' }))
  const b2 = mintRs256(claims({ jti: 'jti-b2', sub: 'bob' }))
  v.validateSync(a)
  v.validateSync(b)
  assert.equal(v.revoke({ jti: 'jti-a' }), 1)
  assert.throws(() => v.validateSync(a), { kind: 'revoked', status: 401 })
  v.validateSync(b2)
  assert.equal(v.revoke({ sub: 'bob', issuedBefore: new Date(Date.now() + 1000) }), 2)
  assert.throws(() => v.validateSync(b), { kind: 'revoked' })
  assert.throws(() => v.validateSync(b2), { kind: 'revoked' })
  // Later tokens of the subject are fine.
  const later = mintRs256(claims({ sub: 'bob', iat: now() + 5 }))
  assert.equal(v.validateSync(later).sub, 'bob')
  for (const bad of [undefined, {}, { jti: 5 }, { sub: 'x', issuedBefore: 'yesterday' }, { jti: 'x', issuedBefore: 1 }]) {
    assert.throws(() => v.revoke(bad), TypeError)
  }
})

test('stats, metricsText and health', () => {
  const v = new Validator(staticOptions())
  const token = mintRs256(claims())
  v.validateSync(token)
  v.validateSync(token)
  assert.throws(() => v.validateSync('a.b.c'))
  const s = v.stats()
  assert.equal(s.validationsOk, 2)
  assert.equal(s.validationsFailed, 1)
  assert.equal(s.cacheHits, 1)
  assert.equal(s.cacheEntries, 1)
  assert.equal(Object.values(s.failuresByKind).reduce((x, y) => x + y, 0), 1)
  assert.match(v.metricsText(), /^jwtgate_validations_total\{outcome="ok"\} 2$/m)
  const h = v.health()
  assert.equal(h.issuer, ISSUER)
  assert.equal(h.keySource, 'static')
  assert.equal(h.cacheEntries, 1)
})

test('ready() resolves at once for static keys; an HMAC-only validator works', async () => {
  await new Validator(staticOptions()).ready()
  const secret = 'k'.repeat(32)
  const v = new Validator({ issuer: ISSUER, audience: AUDIENCE, sharedSecret: secret })
  await v.ready()
  const crypto = require('node:crypto')
  const input = `${Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify(claims())).toString('base64url')}`
  const token = `${input}.${crypto.createHmac('sha256', secret).update(input).digest('base64url')}`
  assert.equal(v.validateSync(token).sub, 'user-1')
  assert.equal(v.health().keySource, 'shared_secret')
})

test('ESM entry exports the same classes as CommonJS', async () => {
  const esm = await import('../index.mjs')
  assert.equal(esm.Validator, Validator)
  assert.equal(esm.ExpiredTokenError, ExpiredTokenError)
  assert.equal(esm.default, jwtgate)
  const express = await import('../express.mjs')
  assert.equal(express.jwtAuth, require('../express').jwtAuth)
})

test('validators are independent: a revocation in one does not reach another', () => {
  const v1 = new Validator(staticOptions())
  const v2 = new Validator(staticOptions())
  const token = mintRs256(claims({ jti: 'shared' }))
  v1.validateSync(token)
  v2.validateSync(token)
  v1.revoke({ jti: 'shared' })
  assert.throws(() => v1.validateSync(token), { kind: 'revoked' })
  assert.equal(v2.validateSync(token).jti, 'shared')
  assert.ok(new ProviderUnavailableError('m', 'jwks_unavailable', 2000, 503) instanceof JwtGateError)
})

test('works in worker threads (one addon instance per thread), and the workers exit cleanly', async () => {
  const { Worker } = require('node:worker_threads')
  const token = mintRs256(claims({ sub: 'worker' }))
  const source = `
    const { parentPort, workerData } = require('node:worker_threads')
    const { Validator } = require(${JSON.stringify(require.resolve('..'))})
    const v = new Validator(workerData.options)
    v.validate(workerData.token).then((c) => parentPort.postMessage([c.sub, v.validateSync(workerData.token).sub]))
  `
  const results = await Promise.all(
    [1, 2, 3].map(
      () =>
        new Promise((resolve, reject) => {
          const w = new Worker(source, { eval: true, workerData: { options: staticOptions(), token } })
          let got
          w.on('message', (m) => (got = m))
          w.on('error', reject)
          w.on('exit', (code) => (code === 0 ? resolve(got) : reject(new Error(`worker exited with ${code}`))))
        }),
    ),
  )
  assert.deepEqual(results, [['worker', 'worker'], ['worker', 'worker'], ['worker', 'worker']])
})
