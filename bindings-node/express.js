'use strict'
// jwtgate/express: bearer-token middleware for Express (and plain node:http handlers).
//
// Conventions of express-oauth2-jwt-bearer / express-jwt: `req.auth = { payload, header, token }`
// on success; on failure `next(err)` with a JwtGateError that carries the http-errors fields
// (`status`, `statusCode`, `expose`, `headers`: Express's default error handler sends the status
// and the RFC 6750 `WWW-Authenticate` header) and `body`, the JSON answer.
//
// Nothing here parses a header, checks a scope or words an answer: the core's HTTP edge does
// (`edge::bearer_token`, `Claims::require_scopes`, `edge::answer`), as for every face, so a
// request gets the same status, challenge and body from Express, FastAPI and Go
// (tests/vectors/http.json). What reaches the client is the core's choice too (CWE-209): the
// message of a token fault, the kind's fixed `clientDescription` for the others; the error
// passed to `next` keeps its full message for your logs.

const jwtgate = require('./index.js')

const { Validator, JwtGateError } = jwtgate
const { kAuthorize, kTakeError, kEntryAsync, kAnswerFor, kAdmin, missingScopes, errorOfKind, fromNativeThrow, native, KEYS_NOT_LOADED, MISSING_TOKEN } =
  jwtgate[Symbol.for('jwtgate.internal')]

// The realm of the jwtAuth that authenticated the request, for the answers of the middlewares
// after it (a symbol: it is not part of req.auth's documented shape).
const kRealm = Symbol('jwtgate.realm')

/** The error with its answer's realm and scopes (the answer itself is made when read). */
function asHttpError(err, realm, scopes) {
  return err instanceof JwtGateError ? err[kAnswerFor](realm, scopes) : err
}

// The token of a header value the core accepted: blanks, the 6 letters of "Bearer" in any case,
// blanks, one b64token and blanks (edge::bearer_token), so only blanks surround it.
function tokenOf(header) {
  const value = header.trim()
  let start = 6
  while (value.charCodeAt(start) === 32 || value.charCodeAt(start) === 9) start++
  return value.slice(start)
}

function authResult(entry, token, realm) {
  return { payload: entry.payload, header: entry.header, token, [kRealm]: realm }
}

function noAuth() {
  return asHttpError(errorOfKind('missing_token', 'no req.auth: jwtAuth must run before this middleware'))
}

/**
 * Validates `Authorization: Bearer <token>`.
 * @param {{ validator: Validator, authRequired?: boolean, realm?: string } | object} options a
 *   Validator, or the options to build one (camelCase, as `new Validator(options)`), plus
 *   `authRequired` and `realm` (the `realm` of the WWW-Authenticate challenges, RFC 6750 §3)
 */
function jwtAuth(options) {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('jwtAuth() takes { validator } or the options of a Validator')
  }
  const { validator: given, authRequired = true, realm, ...rest } = options
  if (typeof authRequired !== 'boolean') throw new TypeError('authRequired must be a boolean')
  if (realm !== undefined && typeof realm !== 'string') throw new TypeError('realm must be a string')
  let validator
  if (given !== undefined) {
    if (!(given instanceof Validator)) throw new TypeError('validator must be a jwtgate Validator')
    if (Object.keys(rest).length > 0) {
      throw new TypeError(`give either a validator or its options, not both (${Object.keys(rest).join(', ')})`)
    }
    validator = given
  } else {
    validator = new Validator(rest)
  }

  return function jwtgateAuth(req, res, next) {
    const header = req.headers.authorization
    // The fast path: one native call (the core reads the header and validates), no promise.
    const entry = validator[kAuthorize](header)
    if (typeof entry !== 'number') {
      req.auth = authResult(entry, tokenOf(header), realm)
      return next()
    }
    const code = -entry
    // RFC 6750 §3.1: no credentials (no header, or another scheme) is no error when auth is optional.
    if (code === MISSING_TOKEN && !authRequired) return next()
    if (code !== KEYS_NOT_LOADED) return next(asHttpError(validator[kTakeError](code), realm))
    const token = tokenOf(header)
    validator[kEntryAsync](token).then(
      (e) => {
        req.auth = authResult(e, token, realm)
        next()
      },
      (err) => next(asHttpError(err, realm)),
    )
  }
}

/**
 * Requires every listed scope (from `scope` or `scp`, as the core reads them). Use after jwtAuth.
 * `requiredScopes('read:items', 'write:items')`, `requiredScopes(['a', 'b'])` or
 * `requiredScopes('a b')`.
 */
function requiredScopes(...scopes) {
  const required = scopes.flat().flatMap((s) => {
    if (typeof s !== 'string') throw new TypeError('scopes must be strings')
    return s.split(' ').filter(Boolean)
  })
  if (required.length === 0) throw new TypeError('requiredScopes() needs at least one scope')
  // payload -> the core's verdict (null: granted, else its message). The claims of a token are
  // one frozen object for all its requests, so the core is asked once per token, not per request.
  const verdicts = new WeakMap()

  return function jwtgateRequiredScopes(req, res, next) {
    const auth = req.auth
    if (!auth || typeof auth.payload !== 'object' || auth.payload === null) return next(noAuth())
    let verdict = verdicts.get(auth.payload)
    if (verdict === undefined) {
      verdict = missingScopes(auth.payload, required)
      // Claims jwtAuth did not hand out (a copy, another library's) have no scopes we can trust:
      // fail closed.
      if (verdict === undefined) verdict = 'the claims were not validated by jwtgate'
      verdicts.set(auth.payload, verdict)
    }
    if (verdict === null) return next()
    return next(asHttpError(errorOfKind('insufficient_scope', verdict), auth[kRealm], required))
  }
}

/**
 * Runs `check(payload, req)` (sync or async) after jwtAuth; a falsy result answers 401
 * invalid_token with `description`.
 */
function claimCheck(check, description = 'the token does not meet the claim requirements') {
  if (typeof check !== 'function') throw new TypeError('claimCheck() takes a function')
  if (typeof description !== 'string') throw new TypeError('description must be a string')

  const refuse = (auth, next) => next(asHttpError(errorOfKind('invalid_claim', description), auth[kRealm]))

  return function jwtgateClaimCheck(req, res, next) {
    const auth = req.auth
    if (!auth || !auth.payload) return next(noAuth())
    let result
    try {
      result = check(auth.payload, req)
    } catch (err) {
      return next(err)
    }
    if (result && typeof result.then === 'function') {
      return result.then(
        (ok) => (ok ? next() : refuse(auth, next)),
        (err) => next(err),
      )
    }
    return result ? next() : refuse(auth, next)
  }
}

// The engine refuses larger admin bodies (a typed 400); reading stops one byte past it.
const ADMIN_MAX_BODY = 16 * 1024

/** The request body as a Buffer (what a body parser left, or read here, bounded). */
function readBody(req) {
  const parsed = req.body
  if (Buffer.isBuffer(parsed)) return Promise.resolve(parsed)
  if (typeof parsed === 'string') return Promise.resolve(Buffer.from(parsed))
  if (parsed !== undefined && parsed !== null && typeof parsed === 'object' && req.readableEnded) {
    // express.json() ran first: its object, as JSON again (the engine checks its shape).
    return Promise.resolve(Buffer.from(Object.keys(parsed).length ? JSON.stringify(parsed) : ''))
  }
  return new Promise((resolve, reject) => {
    const chunks = []
    let size = 0
    const done = () => {
      req.off('data', onData)
      req.off('end', done)
      req.off('error', reject)
      resolve(Buffer.concat(chunks))
    }
    const onData = (chunk) => {
      chunks.push(chunk)
      size += chunk.length
      if (size > ADMIN_MAX_BODY) {
        done()
        req.resume()
      }
    }
    req.on('data', onData)
    req.on('end', done)
    req.on('error', reject)
  })
}

function sendReply(res, reply) {
  res.statusCode = reply.status
  res.setHeader('Content-Type', reply.contentType)
  for (const [name, value] of reply.headers) res.setHeader(name, value)
  res.end(reply.body)
}

/** The refusal of an admin request (the HTTP edge's answer), sent as is. */
function sendRefusal(res, err) {
  res.statusCode = err.status
  res.setHeader('Cache-Control', 'no-store')
  res.setHeader('Content-Type', 'application/json')
  for (const [name, value] of Object.entries(err.headers || {})) res.setHeader(name, value)
  res.end(JSON.stringify(err.body))
}

/**
 * The admin routes (stats, health, metrics, jwks/refresh, cache/clear, revoke, dashboard) as one
 * middleware; mount it under a prefix of your choice: `app.use('/admin', adminRouter(validator,
 * { scope: 'jwtgate:admin' }))`. Every route but the dashboard page needs a bearer token the
 * validator accepts that carries `scope`: none → 401, another scope → 403. `scope` has no
 * default and cannot be empty: the routes are never open. The route rules and answers are the
 * engine's (jwtgate::admin); `metrics` is the engine's Prometheus text (jwtgate/prometheus puts
 * the same families in a prom-client registry).
 * @param {Validator} validator
 * @param {{ scope: string, realm?: string }} options
 */
function adminRouter(validator, options) {
  if (!(validator instanceof Validator)) throw new TypeError('adminRouter() takes a jwtgate Validator')
  if (options === null || typeof options !== 'object') {
    throw new TypeError('adminRouter(validator, { scope }) needs the admin scope')
  }
  const { scope, realm } = options
  if (typeof scope !== 'string') throw new TypeError('scope must be a string (e.g. "jwtgate:admin")')
  try {
    native.adminCheckScope(scope)
  } catch (e) {
    throw fromNativeThrow(e)
  }
  const auth = jwtAuth({ validator, realm })
  const scoped = requiredScopes(scope)
  const routes = new Map(native.adminRoutes().map((r) => [`${r.method} ${r.path}`, r]))

  return function jwtgateAdmin(req, res, next) {
    const url = req.path ?? new URL(req.url, 'http://localhost').pathname
    const route = routes.get(`${req.method} ${url.replace(/^\/+/, '')}`)
    if (route === undefined) return next()
    const run = () =>
      (route.method === 'POST' ? readBody(req) : Promise.resolve(Buffer.alloc(0)))
        .then((body) => validator[kAdmin](route.method, route.path, body))
        .then((reply) => sendReply(res, reply))
        .catch(next)
    if (!route.needsToken) return run()
    const refuse = (err) => (err instanceof JwtGateError && err.status ? sendRefusal(res, err) : next(err))
    auth(req, res, (err) => {
      if (err) return refuse(err)
      scoped(req, res, (err2) => (err2 ? refuse(err2) : run()))
    })
  }
}

module.exports = { jwtAuth, requiredScopes, claimCheck, adminRouter }
