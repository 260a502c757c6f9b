'use strict'
// The API: one public route, one that needs any valid token, scoped routes, a claim check.
// Built by createApp() so a test (or another server) can mount it with any Validator.

const express = require('express')
const { JwtGateError } = require('jwtgate')
const { jwtAuth, requiredScopes, claimCheck, adminRouter } = require('jwtgate/express')

const items = [{ id: 1, name: 'first item' }]

function createApp({ validator, adminScope = process.env.JWTGATE_ADMIN_SCOPE || 'jwtgate:admin' }) {
  const app = express()
  // The admin routes (stats, health, metrics, jwks/refresh, cache/clear, revoke) and the live
  // dashboard under /admin, for tokens with the admin scope only. Mounted before express.json():
  // the engine reads and checks the admin bodies itself. Open /admin/dashboard and paste a token
  // (node mint-demo-token.js jwtgate:admin).
  app.use('/admin', adminRouter(validator, { scope: adminScope }))
  app.use(express.json())

  // Public: no token needed.
  app.get('/', (req, res) => res.json({ service: 'jwtgate example', docs: '/public, /api/me, /api/items' }))
  app.get('/public', (req, res) => res.json({ message: 'anyone can read this' }))

  // Everything under /api needs a valid bearer token. Hits (the same token again) are answered
  // from jwtgate's cache without a thread hop or a promise.
  app.use('/api', jwtAuth({ validator }))

  app.get('/api/me', (req, res) => {
    const { payload, header } = req.auth
    res.json({ sub: payload.sub, scope: payload.scope ?? payload.scp ?? null, alg: header.alg, kid: header.kid })
  })

  // Scoped: `scope` (space-separated) or `scp` (array) must grant every listed scope.
  app.get('/api/items', requiredScopes('read:items'), (req, res) => res.json(items))
  app.post('/api/items', requiredScopes('write:items'), (req, res) => {
    const item = { id: items.length + 1, name: String(req.body?.name ?? 'unnamed'), owner: req.auth.payload.sub }
    items.push(item)
    res.status(201).json(item)
  })

  // A claim check: any rule over the verified claims.
  const adminOnly = claimCheck((claims) => Array.isArray(claims.roles) && claims.roles.includes('admin'), 'the admin role is required')
  app.get('/api/admin', adminOnly, (req, res) => res.json({ validator: validator.stats() }))

  // Keys and cache by hand, for admins. After the provider adds or withdraws a key, fetch the key
  // sets now rather than at the next scheduled refresh (a withdrawn key's cached results go with
  // it); `?issuer=` names one issuer of the validator. Clearing the cache makes every token be
  // validated afresh on its next use.
  app.post('/api/admin/refresh-keys', adminOnly, async (req, res) => {
    const { issuer } = req.query
    if (issuer !== undefined && !validator.health().issuers.some((i) => i.issuer === issuer)) {
      res.status(404).json({ error: 'unknown_issuer', error_description: 'the validator has no such issuer' })
      return
    }
    await validator.refreshKeys(issuer) // rejects with a JwtGateError (503 or 500) for the handler below
    res.json({ refreshed: issuer === undefined ? validator.health().issuers.map((i) => i.issuer) : [issuer] })
  })
  app.post('/api/admin/clear-cache', adminOnly, (req, res) => res.json({ removed: validator.clearCache() }))

  // Operations: health and Prometheus metrics of the validator. /healthz is public here, so it
  // leaves out what only operators may see (CWE-209): the `lastError` fields name the
  // provider's URL and the OS error, `introspection.endpoint` is the provider's URL. Serve the
  // full validator.health() only behind authentication.
  app.get('/healthz', (req, res) => res.json(withoutOperatorDetails(validator.health())))
  app.get('/metrics', (req, res) => res.type('text/plain; version=0.0.4').send(validator.metricsText()))

  // Errors as RFC 6750 answers: jwtgate errors carry the one every jwtgate face gives (the
  // core's): status, the WWW-Authenticate header and the JSON body. A provider, config or internal
  // error's message names the provider's URL, the OS error or a credentials hint (CWE-209): it goes
  // to the log; the body carries the kind's fixed clientDescription instead. (Express's default
  // handler would also send the right status and header, with an HTML body: in production mode
  // only the status text, otherwise the error's stack, message included.)
  app.use((err, req, res, next) => {
    if (!(err instanceof JwtGateError)) return next(err)
    if (err.clientDescription !== null) console.error(`jwtgate: answering ${err.status} (${err.kind}): ${err.message}`)
    res.status(err.status).set(err.headers).json(err.body)
  })
  return app
}

/** `health()` without the fields that name the provider or its errors. */
function withoutOperatorDetails(value) {
  if (Array.isArray(value)) return value.map(withoutOperatorDetails)
  if (value === null || typeof value !== 'object') return value
  const out = {}
  for (const [key, item] of Object.entries(value)) {
    if (key === 'lastError' || (key === 'endpoint' && typeof item === 'string' && item.includes('://'))) continue
    out[key] = withoutOperatorDetails(item)
  }
  return out
}

module.exports = { createApp }
