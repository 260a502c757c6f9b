// Typed usage of the ESM entries, checked by `tsc --strict` (make test). Never run.
import express from 'express'
import {
  Validator,
  JwtGateError,
  InvalidTokenError,
  ExpiredTokenError,
  SignatureError,
  InsufficientScopeError,
  ProviderUnavailableError,
  KeysNotLoadedError,
  ConfigError,
  errorKinds,
  version,
  type Claims,
  type ValidatorOptions,
  type Stats,
  type Health,
  type IssuerHealth,
  type IssuerOptions,
  type ErrorKind,
  type ErrorClass,
  type ErrorBody,
} from 'jwtgate'
import { jwtAuth, requiredScopes, claimCheck, type AuthResult } from 'jwtgate/express'

const options: ValidatorOptions = {
  issuer: 'https://id.example.com',
  audience: ['https://api.example.com'],
  tokenType: 'at+jwt',
  jwksUri: 'https://id.example.com/jwks',
  leeway: 30,
  requiredClaims: ['sub'],
  cacheMaxEntries: 10_000,
  mode: 'auto',
}
const validator = new Validator(options)
new Validator({ issuer: 'x', jwks: '{"keys":[]}' })
new Validator({ issuer: 'x', jwks: { keys: [{ kty: 'RSA', n: '...', e: 'AQAB' }] } })
// @ts-expect-error: options are camelCase
new Validator({ issuer: 'x', jwks_uri: 'https://x' })
// @ts-expect-error: issuer is required
new Validator({ audience: 'x' })

const partner: IssuerOptions = {
  issuer: 'https://partner.example.net/',
  audience: 'api://example',
  jwksUri: 'https://partner.example.net/keys',
  algorithms: ['ES256'],
  clientId: 'api',
  clientAuth: 'none',
  introspectionEndpoint: 'https://partner.example.net/introspect',
}
const many = new Validator({
  issuers: [{ issuer: 'https://id.example.com', audience: 'api', tokenType: 'at+jwt' }, partner],
  leeway: 30,
  clientAuth: 'client_secret_post',
  requireExp: true,
})
// @ts-expect-error: issuer or issuers, not both
new Validator({ issuer: 'x', issuers: [partner] })
// @ts-expect-error: an issuer's own option belongs in its entry
new Validator({ audience: 'api', issuers: [partner] })
// @ts-expect-error: entries are camelCase too
new Validator({ issuers: [{ issuer: 'x', jwks_uri: 'https://x' }] })
// @ts-expect-error: not a clientAuth
new Validator({ issuers: [{ issuer: 'x', clientAuth: 'clientSecretBasic' }] })

interface MyClaims extends Claims {
  readonly tenant: string
  readonly roles: readonly string[]
}

async function main(): Promise<void> {
  await validator.ready()
  const claims = await validator.validate('eyJ...')
  const sub: string | undefined = claims.sub
  const other: unknown = claims['https://example.com/tenant']
  // @ts-expect-error: claims are read-only
  claims.sub = "x"
  const mine = validator.validateSync<MyClaims>('eyJ...')
  const tenant: string = mine.tenant
  const firstRole: string | undefined = mine.roles[0]
  try {
    validator.validateSync('eyJ...')
  } catch (e) {
    if (e instanceof ExpiredTokenError) {
      const kind: ErrorKind = e.kind
      const code: number = e.code
      const status: number = e.status
      console.log(kind, code, status)
    } else if (e instanceof InvalidTokenError || e instanceof InsufficientScopeError) {
      console.log(e.message)
    } else if (e instanceof KeysNotLoadedError) {
      await validator.validate('eyJ...')
    } else if (e instanceof ProviderUnavailableError || e instanceof SignatureError) {
      const body: ErrorBody = e.body
      const challenge: string | undefined = e.headers['WWW-Authenticate']
      console.log(body.error, body.error_description, challenge)
    } else if (e instanceof ConfigError || e instanceof JwtGateError) {
      throw e
    }
  }
  const removed: number = validator.revoke({ jti: 'abc' }) + validator.revoke({ sub: 'user', issuedBefore: new Date() })
  const stats: Stats = validator.stats()
  const hits: number = stats.cacheHits
  const health: Health = validator.health()
  const fresh: string | undefined = health.jwks?.freshness
  const text: string = validator.metricsText()
  await many.refreshKeys()
  await many.refreshKeys('https://partner.example.net/')
  const dropped: number = many.clearCache()
  const issuers: IssuerHealth[] = many.health().issuers
  const problem: 'misconfiguration' | 'outage' | null | undefined = issuers[0]?.jwks?.problem
  const fetches: number | undefined = issuers[0]?.jwks?.fetchesOk
  const refusedCredentials: boolean | undefined = issuers[1]?.introspection?.misconfigured
  const manual: number | undefined = many.stats().jwksRefreshes['manual']
  console.log(dropped, problem, fetches, refusedCredentials, manual)
  const firstKind = errorKinds[0]
  const firstClass: ErrorClass | undefined = firstKind?.class
  console.log(firstClass)
  console.log(sub, other, tenant, firstRole, removed, hits, fresh, text, firstKind?.code, version)
}

const app = express()
app.use(jwtAuth({ validator }))
app.use(jwtAuth({ issuer: 'https://id.example.com', audience: 'api', authRequired: false, realm: 'api' }))
app.use(jwtAuth({ validator, realm: 'api' }))
app.get('/items', requiredScopes('read:items'), (req, res) => {
  const auth: AuthResult | undefined = req.auth
  res.json({ sub: auth?.payload.sub, alg: auth?.header.alg, token: auth?.token.length })
})
app.post('/items', jwtAuth({ validator }), requiredScopes('read:items', ['write:items']), (_req, res) => {
  res.sendStatus(201)
})
app.get('/admin', jwtAuth({ validator }), claimCheck<MyClaims>((p) => p.roles.includes('admin'), 'admin only'))
app.get('/async', claimCheck(async (p, req) => p.sub === req.headers['x-user']))
app.use((err: unknown, _req: express.Request, res: express.Response, next: express.NextFunction) => {
  if (err instanceof JwtGateError) {
    res.status(err.status).set(err.headers).json(err.body)
    return
  }
  next(err)
})
// @ts-expect-error: jwtAuth needs options
jwtAuth()

void main()

// Operating it, from ESM.
import { JwtGateCollector } from 'jwtgate/prometheus'
import { adminRouter } from 'jwtgate/express'
const adminMiddleware = adminRouter(validator, { scope: 'jwtgate:admin' })
express().use('/admin', adminMiddleware)
void adminMiddleware
void JwtGateCollector
