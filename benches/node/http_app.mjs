// One Express route, GET /items (scope read:items), for the HTTP benchmark (benches/http/run.py).
// BENCH_AUTH selects the protection; same token and policy as the FastAPI apps:
//   none     no auth at all (the baseline);
//   noop     the shape of jwtgate's pair, two middlewares (one reads the bearer token into
//            req.auth, one looks at req.auth), checking nothing: Express's own cost of an auth
//            step, which any validator written as middleware pays;
//   jwtgate  jwtAuth({ validator }) + requiredScopes('read:items');
//   jose     jose's jwtVerify in the route handler (one async step), as its users write it.
// Express comes from examples/express_app (installed by `make demo`/the runner), jose from this
// folder's locked packages.
import { createRequire } from 'node:module'
import { readFileSync } from 'node:fs'

const requireExample = createRequire(new URL('../../examples/express_app/package.json', import.meta.url))
const express = requireExample('express')
const auth = process.env.BENCH_AUTH ?? 'jwtgate'
const config = JSON.parse(readFileSync(new URL('../../examples/fastapi_app/demo-config.json', import.meta.url), 'utf8'))
const items = [{ id: 1, name: 'teapot' }]
const app = express()

if (auth === 'jwtgate') {
  const { Validator } = requireExample('jwtgate')
  const { jwtAuth, requiredScopes } = requireExample('jwtgate/express')
  app.get('/items', jwtAuth({ validator: new Validator(config) }), requiredScopes('read:items'), (req, res) => res.json(items))
} else if (auth === 'jose') {
  const { jwtVerify, importJWK } = await import('jose')
  const jwk = config.jwks.keys[0]
  const key = await importJWK({ kty: jwk.kty, n: jwk.n, e: jwk.e }, 'RS256')
  app.get('/items', async (req, res) => {
    const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')
    if (!m) return res.status(401).set('WWW-Authenticate', 'Bearer').end()
    try {
      const { payload } = await jwtVerify(m[1], key, {
        algorithms: ['RS256'], issuer: config.issuer, audience: config.audience, typ: 'at+jwt', requiredClaims: ['exp'], clockTolerance: 30,
      })
      if (!String(payload.scope ?? '').split(' ').includes('read:items')) return res.status(403).end()
      res.json(items)
    } catch {
      res.status(401).set('WWW-Authenticate', 'Bearer error="invalid_token"').end()
    }
  })
} else if (auth === 'noop') {
  const readToken = (req, res, next) => {
    const header = req.headers.authorization
    if (header === undefined || !header.startsWith('Bearer ')) return res.status(401).set('WWW-Authenticate', 'Bearer').end()
    req.auth = { token: header.slice(7) }
    next()
  }
  const lookAtAuth = (req, res, next) => (req.auth ? next() : res.status(401).end())
  app.get('/items', readToken, lookAtAuth, (req, res) => res.json(items))
} else if (auth === 'none') {
  app.get('/items', (req, res) => res.json(items))
} else {
  throw new Error(`BENCH_AUTH=${auth}: not a variant`)
}

const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1')
process.on('SIGTERM', () => server.close(() => process.exit(0)))
