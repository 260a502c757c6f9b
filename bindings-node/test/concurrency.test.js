'use strict'
// 10,000 concurrent validate() promises: on the fast path (keys loaded), and all at once before
// remote keys are loaded (the slow path on the core's runtime, one JWKS fetch).

const { test } = require('node:test')
const assert = require('node:assert/strict')

const { Validator } = require('..')
const { mintRs256, claims, staticOptions, jwksServer, ISSUER, AUDIENCE } = require('./helpers')

const N = 10_000

// 100 distinct tokens (each validated cold once, then hits) plus some bad ones in the mix.
const tokens = Array.from({ length: 100 }, (_, i) => mintRs256(claims({ sub: `user-${i}` })))
const forged = mintRs256(claims({ sub: 'forged' }), { key: 'rsa-b', kid: 'rsa-a' })

function mix(i) {
  return i % 50 === 49 ? forged : tokens[i % tokens.length]
}

async function settleAll(v) {
  const results = await Promise.allSettled(Array.from({ length: N }, (_, i) => v.validate(mix(i))))
  results.forEach((r, i) => {
    if (mix(i) === forged) {
      assert.equal(r.status, 'rejected', `#${i}`)
      assert.equal(r.reason.kind, 'signature_invalid')
    } else {
      assert.equal(r.status, 'fulfilled', `#${i}: ${r.reason && r.reason.message}`)
      assert.equal(r.value.sub, `user-${i % tokens.length}`)
    }
  })
}

test(`${N} concurrent validate() with static keys`, async () => {
  const v = new Validator(staticOptions())
  await settleAll(v)
  const s = v.stats()
  assert.equal(s.validationsOk, N - N / 50)
  assert.equal(s.validationsFailed, N / 50)
})

test(`${N} concurrent validate() before remote keys are loaded: one fetch, all answered`, async () => {
  const server = await jwksServer()
  try {
    const v = new Validator({ issuer: ISSUER, audience: AUDIENCE, tokenType: 'at+jwt', jwksUri: server.url })
    await settleAll(v)
    assert.equal(server.requests, 1, 'single flight: one JWKS request')
    const s = v.stats()
    assert.equal(s.jwksFetchesOk, 1)
    assert.equal(s.validationsOk, N - N / 50)
  } finally {
    server.close()
  }
})
