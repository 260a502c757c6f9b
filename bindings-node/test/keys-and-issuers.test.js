'use strict'
// Issue #9 through the Node face: keys and cache by hand (refreshKeys, clearCache), and several
// issuers in one validator, configured in camelCase, against loopback JWKS servers that count
// their requests.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const { setTimeout: sleep } = require('node:timers/promises')

const { Validator, ConfigError, ProviderUnavailableError, InvalidTokenError } = require('..')
const { mintRs256, claims, jwksServer, deadUrl, publicJwk, staticOptions, ISSUER, AUDIENCE } = require('./helpers')

const remote = (jwksUri, extra = {}) => new Validator({ issuer: ISSUER, audience: AUDIENCE, tokenType: 'at+jwt', jwksUri, fetchRetries: 0, ...extra })

// refreshKeys() skips a key set whose fetch started less than this long ago (the core's rule).
const REFRESH_FLOOR_MS = 1000

test('refreshKeys() applies a rotation at once: the new kid validates, the withdrawn key and its cached results do not', async () => {
  const server = await jwksServer({ keys: [publicJwk('rsa-a')] })
  try {
    const v = remote(server.url)
    await v.ready()
    const old = mintRs256(claims({ sub: 'old-key' }))
    assert.equal(v.validateSync(old).sub, 'old-key') // now in the result cache
    assert.equal(server.requests, 1)

    // Within a second of the last fetch, refreshKeys() resolves without fetching again.
    await v.refreshKeys()
    assert.equal(server.requests, 1, 'a second refresh within a second of a fetch went out')

    await sleep(REFRESH_FLOOR_MS + 100)
    server.jwks = { keys: [publicJwk('rsa-b')] } // the provider rotates to rsa-b, withdrawing rsa-a
    await v.refreshKeys()
    assert.equal(server.requests, 2, 'refreshKeys() makes exactly one fetch')
    assert.equal(v.stats().jwksRefreshes.manual, 1)
    assert.deepEqual(v.health().jwks.kids, ['rsa-b'])

    // The new kid validates on the synchronous path: no keys_not_loaded, no further fetch.
    const rotated = mintRs256(claims({ sub: 'new-key' }), { key: 'rsa-b' })
    assert.equal(v.validateSync(rotated).sub, 'new-key')
    assert.equal(server.requests, 2)

    // The cached result of the withdrawn key went with it.
    await assert.rejects(v.validate(old), (e) => {
      assert.ok(e instanceof InvalidTokenError, `${e.name}: ${e.message}`)
      assert.equal(e.kind, 'key_not_found')
      return true
    })
  } finally {
    server.close()
  }
})

test('refreshKeys(issuer) refreshes that issuer; an issuer that is not configured is a ConfigError with no request', async () => {
  const server = await jwksServer()
  try {
    const v = remote(server.url)
    await assert.rejects(v.refreshKeys('https://not-configured'), (e) => {
      assert.ok(e instanceof ConfigError, `${e.name}: ${e.message}`)
      assert.deepEqual([e.kind, e.status], ['config', 500])
      assert.match(e.message, /not a configured issuer/)
      return true
    })
    // The name is compared exactly, like iss.
    await assert.rejects(v.refreshKeys(ISSUER + '/'), ConfigError)
    assert.equal(server.requests, 0)

    await v.refreshKeys(ISSUER)
    assert.equal(server.requests, 1)
    assert.equal(v.validateSync(mintRs256(claims())).sub, 'user-1', 'the refresh loaded the keys')

    await assert.rejects(v.refreshKeys(42), TypeError)
    await assert.rejects(v.refreshKeys(null), TypeError)
  } finally {
    server.close()
  }
})

test('refreshKeys() rejects like ready(): ProviderUnavailableError when the provider is down', async () => {
  const v = remote(await deadUrl(), { fetchTimeout: 2 })
  await assert.rejects(v.refreshKeys(), (e) => {
    assert.ok(e instanceof ProviderUnavailableError, `${e.name}: ${e.message}`)
    assert.equal(e.kind, 'jwks_unavailable')
    return true
  })
  assert.equal(v.health().jwks.problem, 'outage')
  assert.equal(v.health().jwks.fetchesFailed, 1)
})

test('refreshKeys() on static keys resolves at once', async () => {
  await new Validator(staticOptions()).refreshKeys()
})

test('clearCache() returns how many results it dropped; the next validation misses the cache', () => {
  const v = new Validator(staticOptions())
  const [a, b] = [mintRs256(claims({ sub: 'a' })), mintRs256(claims({ sub: 'b' }))]
  const first = v.validateSync(a)
  v.validateSync(b)
  assert.equal(v.validateSync(a), first, 'a hit hands out the same object')
  assert.equal(v.health().cacheEntries, 2)

  assert.equal(v.clearCache(), 2)
  assert.equal(v.health().cacheEntries, 0)

  const before = v.stats()
  const again = v.validateSync(a)
  const after = v.stats()
  assert.equal(after.cacheMisses, before.cacheMisses + 1)
  assert.equal(after.cacheHits, before.cacheHits)
  assert.deepEqual({ ...again }, { ...first })
  assert.notEqual(again, first, 'validated afresh: a new claims object')
  assert.equal(v.validateSync(a), again, 'and cached again')
  assert.equal(v.stats().cacheHits, after.cacheHits + 1)

  assert.equal(v.clearCache(), 1)
  assert.equal(v.clearCache(), 0)
})

// -------------------------------------------------------------------------------------------
// Several issuers. A serves rsa-a, B serves rsa-b; each entry has its own policy, in camelCase.

const ISS_A = 'https://a.issuer.test'
const ISS_B = 'https://b.issuer.test'
const AUD_B = 'https://api-b.test'

test('two issuers with camelCase options: each validates its own tokens with its own keys and policy', async () => {
  const [a, b] = [await jwksServer({ keys: [publicJwk('rsa-a')] }), await jwksServer({ keys: [publicJwk('rsa-b')] })]
  const requests = () => [a.requests, b.requests]
  try {
    const v = new Validator({
      issuers: [
        { issuer: ISS_A, audience: AUDIENCE, tokenType: 'at+jwt', jwksUri: a.url },
        { issuer: ISS_B, audience: AUD_B, jwksUri: b.url, algorithms: ['RS256'], requiredClaims: ['tenant'], verifyAudience: true },
      ],
      fetchRetries: 0,
      jwksRefreshCooldown: 30,
    })
    const tokenA = (extra = {}, opts = {}) => mintRs256(claims({ iss: ISS_A, ...extra }), opts)
    const tokenB = (extra = {}, opts = {}) => mintRs256(claims({ iss: ISS_B, aud: AUD_B, tenant: 't1', ...extra }), { key: 'rsa-b', typ: 'JWT', ...opts })

    // An iss that names no configured issuer: refused before any key is needed, sync or not.
    const stranger = mintRs256(claims({ iss: 'https://evil.test' }))
    assert.throws(() => v.validateSync(stranger), { kind: 'issuer_mismatch' })
    await assert.rejects(v.validate(stranger), { kind: 'issuer_mismatch', status: 401 })
    assert.deepEqual(requests(), [0, 0], 'an unconfigured issuer caused a request')

    // Each issuer's token loads that issuer's keys only.
    assert.equal((await v.validate(tokenA({ sub: 'from-a' }))).sub, 'from-a')
    assert.deepEqual(requests(), [1, 0])
    assert.equal((await v.validate(tokenB({ sub: 'from-b' }))).sub, 'from-b')
    assert.deepEqual(requests(), [1, 1])

    // Each entry's own policy applies (its camelCase options were mapped): B requires `tenant`
    // and its own audience and takes typ JWT; A requires at+jwt and A's audience.
    assert.throws(() => v.validateSync(tokenB({ tenant: undefined })), { kind: 'missing_claim' })
    assert.throws(() => v.validateSync(tokenB({ aud: AUDIENCE })), { kind: 'audience_mismatch' })
    assert.throws(() => v.validateSync(tokenA({}, { typ: 'JWT' })), { kind: 'token_type_mismatch' })
    assert.throws(() => v.validateSync(tokenA({ aud: AUD_B })), { kind: 'audience_mismatch' })
    assert.equal(v.validateSync(tokenA({ tenant: undefined })).iss, ISS_A, "B's requiredClaims do not apply to A")

    // Keys never cross issuers: a token claiming A, signed with B's key under B's kid, is
    // checked against A's key set only (which may refresh once for the unknown kid); B's
    // server is never asked.
    const crossed = tokenA({ sub: 'crossed' }, { key: 'rsa-b' })
    await assert.rejects(v.validate(crossed), { kind: 'key_not_found' })
    assert.equal(b.requests, 1, "B's keys were fetched for a token claiming A")

    const before = requests()
    await assert.rejects(v.validate(stranger), { kind: 'issuer_mismatch' })
    assert.deepEqual(requests(), before)

    const h = v.health()
    assert.equal(h.issuer, ISS_A, 'the top-level fields describe the first issuer')
    assert.deepEqual(
      h.issuers.map((i) => [i.issuer, i.keySource, i.jwks.kids, i.jwks.problem]),
      [
        [ISS_A, 'remote', ['rsa-a'], null],
        [ISS_B, 'remote', ['rsa-b'], null],
      ],
    )
    assert.equal(h.issuers[1].jwks.fetchesOk, 1, 'per-issuer health fields are camelCase')
    assert.equal(h.issuers[1].jwks.breaker.consecutiveFailures, 0)
    assert.equal(h.issuers[0].discovery, null)
  } finally {
    a.close()
    b.close()
  }
})

test('refreshKeys(issuer) with two issuers fetches that issuer only', async () => {
  const [a, b] = [await jwksServer({ keys: [publicJwk('rsa-a')] }), await jwksServer({ keys: [publicJwk('rsa-b')] })]
  try {
    const v = new Validator({
      issuers: [
        { issuer: ISS_A, audience: AUDIENCE, jwksUri: a.url },
        { issuer: ISS_B, audience: AUDIENCE, jwksUri: b.url },
      ],
    })
    await v.refreshKeys(ISS_B)
    assert.deepEqual([a.requests, b.requests], [0, 1])
    await v.refreshKeys(ISS_A)
    assert.deepEqual([a.requests, b.requests], [1, 1])
    await assert.rejects(v.refreshKeys(ISSUER), ConfigError)
    assert.deepEqual([a.requests, b.requests], [1, 1])
  } finally {
    a.close()
    b.close()
  }
})

test('issuers entries are mapped and refused like the top level, with messages in camelCase', () => {
  const jwks = { keys: [publicJwk('rsa-a')] }
  const entry = (extra = {}) => ({ issuer: ISS_A, audience: AUDIENCE, jwks, ...extra })
  const refused = [
    [{ issuers: [entry({ jwksUrl: 'https://a.issuer.test/jwks' })] }, /unknown field `jwksUrl`, expected one of .*`jwksUri`/],
    [{ issuers: [entry(), { issuer: ISS_B, audience: AUDIENCE, jwksUri: 'http://example.com/jwks' }] }, /^issuers\[1\]\.jwksUri: must use https/],
    [{ issuers: [entry({ tokenType: 'at+jwt', token_type: 'JWT' })] }, /^issuers\[0\]\.token_type: given twice/],
    [{ issuers: [entry({ clientAuth: 'clientSecretPost' })] }, /unknown variant `clientSecretPost`, expected one of `client_secret_basic`, `client_secret_post`, `none`/],
    [{ issuers: [entry({ clientAuth: 'none', clientId: 'api', clientSecret: 'x', introspectionEndpoint: 'http://127.0.0.1:9/introspect' })] }, /^issuers\[0\]\.clientSecret:/],
    [{ issuers: [entry()], audience: AUDIENCE }, /^audience: belongs to one issuer/],
    [{ issuers: [entry()], issuer: ISS_A }, /^issuers: give either issuer or issuers/],
    [{ issuers: [entry(), entry()] }, /^issuers\[1\]\.issuer: names an issuer listed before/],
    [{ issuers: [] }, /^issuers:/],
  ]
  for (const [options, message] of refused) {
    assert.throws(() => new Validator(options), (e) => {
      assert.ok(e instanceof ConfigError, `${JSON.stringify(options)}: ${e.name}: ${e.message}`)
      assert.match(e.message, message)
      return true
    })
  }
  // `clientAuth: 'none'` without a secret, and entry defaults taken from the top level.
  const v = new Validator({
    clientAuth: 'none',
    issuers: [entry({ clientId: 'api', introspectionEndpoint: 'http://127.0.0.1:9/introspect' })],
  })
  const introspection = v.health().issuers[0].introspection
  assert.deepEqual([introspection.requests, introspection.misconfigured], [0, false])
})
