'use strict'
// jwtgate/express: bearer-token middleware for Express (and plain node:http handlers).
//
// Conventions of express-oauth2-jwt-bearer / express-jwt: `req.auth = { payload, header, token }`
// on success; on failure `next(err)` with an error that carries `status` and the RFC 6750
// `WWW-Authenticate` header in `headers` (Express's default error handler sends both).
//
// What reaches the client (CWE-209): the message of a token fault is about the token and is
// safe to return; the message of a provider, config or internal error names the provider's URL,
// the OS error or a credentials hint, so the challenge and `expose` use the kind's fixed
// `clientDescription` instead. The error passed to `next` keeps its full message for your logs.

const jwtgate = require('./index.js')

const { Validator, JwtGateError, MissingTokenError } = jwtgate
const { kEntry, kEntryAsync, headerOf, scopesOf, errorOfKind, KEYS_NOT_LOADED } = jwtgate[Symbol.for('jwtgate.internal')]

// RFC 6750 §2.1 (b64token) after RFC 7235 §2.1 (case-insensitive scheme, 1*SP).
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i
const BEARER_SCHEME = /^Bearer(?: |$)/i

// RFC 6750 §3: error_description and scope values are limited to %x20-21 / %x23-5B / %x5D-7E
// (no quote, no backslash, no control characters: nothing can break out of the header).
function quotable(text, max) {
  const clean = String(text).replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, '?')
  return clean.length > max ? clean.slice(0, max - 3) + '...' : clean
}

/**
 * Sets `status`, `statusCode` and `headers` on a jwtgate error so that any Express error handler
 * can answer RFC 6750-style.
 */
function asHttpError(err, token, requiredScopes) {
  if (!(err instanceof JwtGateError)) return err
  let challenge
  if (err instanceof MissingTokenError) {
    // RFC 6750 §3.1: a request without credentials gets no error code.
    challenge = 'Bearer'
  } else if (err.status === 400 || err.status === 401 || err.status === 403) {
    // RFC 6750 §3.1 error codes, as the FastAPI and Go faces answer them.
    const code = { 400: 'invalid_request', 401: 'invalid_token', 403: 'insufficient_scope' }[err.status]
    // Core messages never contain the token; checked anyway, because this goes to the client.
    // Kinds whose message is for operators only answer with their fixed description.
    const description = err.clientDescription ?? (token && err.message.includes(token) ? err.kind : err.message)
    challenge = `Bearer error="${code}", error_description="${quotable(description, 200)}"`
    if (code === 'insufficient_scope' && requiredScopes) {
      challenge += `, scope="${quotable(requiredScopes.join(' '), 1000)}"`
    }
  }
  err.statusCode = err.status
  // http-errors convention: whether the message is safe to show. Never for a kind with a
  // clientDescription (show that instead), nor for a 5xx.
  err.expose = err.clientDescription === null && err.status < 500
  err.headers = challenge ? { 'WWW-Authenticate': challenge } : {}
  return err
}

function missingToken() {
  return errorOfKind('missing_token', 'no bearer token in the Authorization header')
}

/**
 * Validates `Authorization: Bearer <token>`.
 * @param {{ validator: Validator, authRequired?: boolean } | object} options a Validator, or the
 *   options to build one (camelCase, as `new Validator(options)`), plus `authRequired`
 */
function jwtAuth(options) {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('jwtAuth() takes { validator } or the options of a Validator')
  }
  const { validator: given, authRequired = true, ...rest } = options
  if (typeof authRequired !== 'boolean') throw new TypeError('authRequired must be a boolean')
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
    if (header === undefined || header === '') {
      if (authRequired) return next(asHttpError(missingToken()))
      return next()
    }
    const match = BEARER.exec(header)
    if (match === null) {
      // Another scheme (Basic, ...) is no bearer credential at all; "Bearer" with something
      // that is not a b64token is a malformed one.
      if (!BEARER_SCHEME.test(header)) {
        if (authRequired) return next(asHttpError(missingToken()))
        return next()
      }
      // RFC 6750 §3.1: a malformed request is 400 invalid_request (the token was never read).
      const malformed = errorOfKind('malformed', 'the Authorization header must be "Bearer <token>"')
      malformed.status = 400
      return next(asHttpError(malformed))
    }
    const token = match[1]
    // The fast path: no promise, no thread hop.
    const entry = validator[kEntry](token)
    if (!(entry instanceof JwtGateError)) {
      req.auth = { payload: entry.payload, header: headerOf(entry), token }
      return next()
    }
    if (entry.code !== KEYS_NOT_LOADED) return next(asHttpError(entry, token))
    validator[kEntryAsync](token).then(
      (e) => {
        req.auth = { payload: e.payload, header: headerOf(e), token }
        next()
      },
      (err) => next(asHttpError(err, token)),
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

  return function jwtgateRequiredScopes(req, res, next) {
    const auth = req.auth
    if (!auth || !auth.payload) return next(asHttpError(missingToken()))
    // Scopes are read by the core when the claims were validated; a payload jwtAuth did not
    // produce has none (fail closed).
    const granted = scopesOf(auth.payload)
    const missing = required.filter((s) => !granted.includes(s))
    if (missing.length === 0) return next()
    const err = errorOfKind('insufficient_scope', `missing scope: ${missing.join(' ')}`)
    return next(asHttpError(err, auth.token, required))
  }
}

/**
 * Runs `check(payload, req)` (sync or async) after jwtAuth; a falsy result answers 401
 * invalid_token with `description`.
 */
function claimCheck(check, description = 'the token does not meet the claim requirements') {
  if (typeof check !== 'function') throw new TypeError('claimCheck() takes a function')
  if (typeof description !== 'string') throw new TypeError('description must be a string')

  const refuse = (auth, next) => next(asHttpError(errorOfKind('invalid_claim', description), auth.token))

  return function jwtgateClaimCheck(req, res, next) {
    const auth = req.auth
    if (!auth || !auth.payload) return next(asHttpError(missingToken()))
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

module.exports = { jwtAuth, requiredScopes, claimCheck }
