'use strict'
// jwtgate for Node.js: the public API over the native addon (src/lib.rs).
//
// Written by hand rather than generated: it maps camelCase options to the canonical
// configuration, turns error data from the addon into JwtGateError subclasses (napi-rs cannot
// throw subclasses), and keeps one frozen claims object per validated token so that a cache
// hit costs one native call and one Map lookup (see README.md, "Performance").

const native = loadNative()

// ---------------------------------------------------------------------------------------------
// Errors

const kAnswerFor = Symbol('jwtgate.answerFor')

class JwtGateError extends Error {
  #realm = undefined
  #scopes = undefined
  #answer = undefined
  #headers = undefined
  #body = undefined

  /**
   * @param {string} message never contains the token or key material
   * @param {string} kind stable snake_case name, e.g. "expired"
   * @param {number} code stable numeric code, e.g. 1200
   * @param {number} status the HTTP status a resource server should answer with
   */
  constructor(message, kind, code, status) {
    super(message)
    this.name = new.target.name
    this.kind = kind
    this.code = code
    this.status = status
    // The http-errors conventions, which Express's error handling and many loggers read.
    this.statusCode = status
    // Whether `message` may be shown to a client: never for a 5xx, whose message names the
    // provider's URL or the OS error (CWE-209; those kinds have a `clientDescription`).
    this.expose = status < 500 && this.clientDescription === null
  }

  /**
   * What an HTTP answer may tell the client in place of `message`, or `null` when the message is
   * about the token and safe to return. Provider, configuration and internal errors have one:
   * their messages name the provider's URLs, OS errors or credentials hints (CWE-209), which
   * belong in your logs, not in a response.
   * @returns {string | null}
   */
  get clientDescription() {
    const row = KIND_BY_NAME.get(this.kind)
    return row === undefined ? INTERNAL.clientDescription : row.clientDescription
  }

  /**
   * The headers of the HTTP answer to this error (the core's, as every face answers):
   * `WWW-Authenticate` (RFC 6750 §3) for 400, 401 and 403, none for 503 and 500. Express's
   * default error handler sends them; jwtgate/express adds its `realm` and the route's scopes.
   * @returns {Record<string, string>}
   */
  get headers() {
    if (this.#headers === undefined) {
      const { challenge } = this.#http()
      this.#headers = challenge === null || challenge === undefined ? {} : { 'WWW-Authenticate': challenge }
    }
    return this.#headers
  }

  set headers(value) {
    this.#headers = value
  }

  /**
   * The JSON body of the HTTP answer: `{ error, error_description?, kind }`, `error` being the
   * RFC 6750 §3.1 code (`unauthorized` for a request without credentials). The description is
   * the message for token faults and the `clientDescription` otherwise.
   * @returns {{ error: string, error_description?: string, kind: string }}
   */
  get body() {
    if (this.#body === undefined) this.#body = JSON.parse(this.#http().body)
    return this.#body
  }

  set body(value) {
    this.#body = value
  }

  #http() {
    if (this.#answer === undefined) this.#answer = native.httpAnswer(this.code, this.message, this.#realm, this.#scopes)
    return this.#answer
  }

  // Internal (jwtgate/express): the realm and the scopes the route requires, for the answer.
  [kAnswerFor](realm, scopes) {
    this.#realm = realm
    this.#scopes = scopes
    this.#answer = this.#headers = this.#body = undefined
    return this
  }
}
/** The token is bad (RFC 6750 `invalid_token`); also a request without a token (`missing_token`). */
class InvalidTokenError extends JwtGateError {}
/** Not a well-formed token (or `Authorization` header: `invalid_request`, 400), too large, or with a header we refuse. */
class MalformedTokenError extends InvalidTokenError {}
/** The signature does not verify, no key matches, or the algorithm is not allowed. */
class SignatureError extends InvalidTokenError {}
/** `exp` has passed (RFC 7519 §4.1.4). */
class ExpiredTokenError extends InvalidTokenError {}
/** A registered claim or the `typ` header fails the policy (issuer, audience, ...). */
class InvalidClaimsError extends InvalidTokenError {}
/** Revoked by `jti` or subject, or reported inactive by introspection. */
class RevokedTokenError extends InvalidTokenError {}
/** The token is valid but lacks a required scope (RFC 6750 `insufficient_scope`, 403). */
class InsufficientScopeError extends JwtGateError {}
/** The provider or its keys cannot be reached (503); retrying later may succeed. */
class ProviderUnavailableError extends JwtGateError {}
/** A network-free call (`validateSync`) needed keys that are not loaded yet. */
class KeysNotLoadedError extends ProviderUnavailableError {}
/** The options are invalid; the message names the option. */
class ConfigError extends JwtGateError {}
/** A bug in jwtgate. Please report it. */
class InternalError extends JwtGateError {}

// The core's error classes (ErrorKind::class) and ours. Which kind is in which class is the
// core's table, read below: a face cannot put a kind in another family than the others do.
const CLASS_BY_NAME = new Map([
  ['invalid_token', InvalidTokenError],
  ['malformed', MalformedTokenError],
  ['signature', SignatureError],
  ['expired', ExpiredTokenError],
  ['invalid_claims', InvalidClaimsError],
  ['revoked', RevokedTokenError],
  ['insufficient_scope', InsufficientScopeError],
  ['provider_unavailable', ProviderUnavailableError],
  ['keys_not_loaded', KeysNotLoadedError],
  ['config', ConfigError],
  ['internal', InternalError],
])

const KINDS = new Map() // code -> { kind, code, status, class, clientDescription, Class }
const KIND_BY_NAME = new Map()
for (const info of native.errorKinds()) {
  const row = Object.freeze({
    kind: info.kind,
    code: info.code,
    status: info.status,
    class: info.class,
    clientDescription: info.clientDescription ?? null,
    // A class this file does not know yet (a newer core) is still a JwtGateError; a test
    // checks that every class of the core has its own.
    Class: CLASS_BY_NAME.get(info.class) ?? JwtGateError,
  })
  KINDS.set(info.code, row)
  KIND_BY_NAME.set(info.kind, row)
}
const KEYS_NOT_LOADED = KIND_BY_NAME.get('keys_not_loaded').code
const MISSING_TOKEN = KIND_BY_NAME.get('missing_token').code
const INTERNAL = KIND_BY_NAME.get('internal')

function errorFromCode(code, message) {
  const row = KINDS.get(code) || INTERNAL
  return new row.Class(message, row.kind, row.code, row.status)
}

// The addon's slow-path promises resolve with an outcome, errors included; they reject only when
// the engine dropped a validation without a result (a bug), which becomes kind `internal`.
function asInternal(e) {
  throw errorOfKind('internal', String(e && e.message))
}

// The outcome of `ready` and `refreshKeys`: nothing, or the error.
function settledWithoutClaims(outcome) {
  if (outcome.code !== undefined && outcome.code !== null) throw errorFromCode(outcome.code, outcome.message)
}

/** Builds the error for a kind by name (used by jwtgate/express for policy failures). */
function errorOfKind(kind, message) {
  const row = KIND_BY_NAME.get(kind) || INTERNAL
  return new row.Class(message, row.kind, row.code, row.status)
}

/** Every error kind: `{ kind, code, status, class, clientDescription }`, in code order. */
const errorKinds = Object.freeze(
  [...KINDS.values()].map((r) =>
    Object.freeze({ kind: r.kind, code: r.code, status: r.status, class: r.class, clientDescription: r.clientDescription }),
  ),
)

/**
 * The error the addon threw from a call that is not hot (construction, revocation): it carries
 * the kind name as `code`. Config messages name options the JS way.
 */
function fromNativeThrow(e) {
  const row = KIND_BY_NAME.get(e && e.code) || INTERNAL
  const message = String(e && e.message)
  return new row.Class(row.kind === 'config' ? optionNamesInCamelCase(message) : message, row.kind, row.code, row.status)
}

// ---------------------------------------------------------------------------------------------
// Options: camelCase in JS, snake_case in the core. The mapping is generic so that options the
// core adds later work without a change here.

const IDENTIFIER = /^[a-z][A-Za-z0-9]*$/

function snakeCase(key) {
  return IDENTIFIER.test(key) ? key.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase()) : key
}

function isPlainObject(value) {
  if (value === null || typeof value !== 'object') return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

// Keys of nested plain objects are mapped too, inside arrays as well: each entry of `issuers` is
// mapped exactly like the top level, so its unknown or doubled names are refused the same way.
// Keys that are not identifiers (URLs, claim names with ':' or '-') are data and stay as they
// are. `jwks` is a JWKS document in its own RFC 7517 names and passes through untouched.
// `path` names where an object sits ("issuers[1]."), as the core's messages do.
function toCanonical(options, path = '') {
  const out = {}
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue // as JSON would: an option left out
    const name = snakeCase(key)
    if (Object.hasOwn(out, name)) {
      throw errorOfKind('config', `${path}${name}: given twice (as ${key} and in another spelling)`)
    }
    out[name] = name === 'jwks' ? value : mapValue(value, path + name)
  }
  return out
}

function mapValue(value, path) {
  if (Array.isArray(value)) return value.map((item, i) => mapValue(item, `${path}[${i}]`))
  if (isPlainObject(value)) return toCanonical(value, path + '.')
  return value
}

function camelCase(key) {
  return key.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase())
}

// Config messages name options the core's way ("jwks_uri: must use https", "issuers[1].token_type:
// ...", "unknown field `audiance`, expected one of `issuer`, ..."): name them as the user wrote
// them. Only the leading field path and back-quoted names: other words (JWK members like
// key_ops) keep their spelling, and so do the values listed after "unknown variant" (`clientAuth`
// takes 'client_secret_post', not 'clientSecretPost').
function optionNamesInCamelCase(message) {
  const named = message.replace(/^([a-z][a-z0-9_]*(?:\[\d+\])?(?:\.[a-z][a-z0-9_]*)*):/, (_, path) => camelCase(path) + ':')
  if (/unknown variant/.test(named)) return named
  return named.replace(/`([a-z][a-z0-9_]*)`/g, (_, name) => '`' + camelCase(name) + '`')
}

// Stats and health come from the core's serde structs: their field names become camelCase.
// Map keys inside stats (error kinds, refresh reasons) are data and keep their spelling; health
// is structs all the way down, lists of structs included (`issuers`).
function camelFields(object, deep) {
  const out = {}
  for (const [key, value] of Object.entries(object)) {
    out[camelCase(key)] = deep ? camelDeep(value) : value
  }
  return out
}

function camelDeep(value) {
  if (Array.isArray(value)) return value.map(camelDeep)
  if (isPlainObject(value)) return camelFields(value, true)
  return value
}

// ---------------------------------------------------------------------------------------------
// Claims: one deep-frozen object per claims id. The core hands out the same claims (same id)
// for every cache hit, so only the first call for a token parses JSON; the object is frozen
// because every request that presents the token shares it.

// Entries kept per validator. FIFO: a hot token that is pushed out is parsed again once.
// 4096 objects of a typical 1 KB token are about 8 MB of heap.
const MEMO_MAX = 4096

/** @type {WeakMap<object, Entry>} payload -> its entry (jwtgate/express: the core's claims) */
const entryByPayload = new WeakMap()

// For fresh JSON.parse output only (plain objects and arrays, no cycles). for-in with hasOwn
// measured 0.7 µs cheaper per 17-claim payload than Object.keys, which allocates an array.
function deepFreeze(value) {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item = value[i]
      if (typeof item === 'object' && item !== null) deepFreeze(item)
    }
  } else {
    for (const key in value) {
      if (!Object.hasOwn(value, key)) continue
      const item = value[key]
      if (typeof item === 'object' && item !== null) deepFreeze(item)
    }
  }
  return Object.freeze(value)
}

/**
 * An entry holds the parsed payload; the header stays text until jwtgate/express asks, and then
 * the entry also keeps a handle on the core's claims, for requiredScopes().
 * @typedef {{ payload: object, headerText: string, header?: object, claims?: object }} Entry
 */

// `text` is the addon's claims_text: header JSON, NUL, payload JSON, NUL, scopes JSON array
// (the scopes are the core's business: requiredScopes() asks it through the claims handle).
function makeEntry(text) {
  const a = text.indexOf('\0')
  const b = text.indexOf('\0', a + 1)
  if (a < 0 || b < 0) throw errorOfKind('internal', 'the addon returned claims in an unexpected form')
  const payload = deepFreeze(JSON.parse(text.slice(a + 1, b))) // always an object (core-checked)
  return { payload, headerText: text.slice(0, a), header: undefined, claims: undefined }
}

/**
 * For jwtgate/express, once per entry: parses the header, keeps the core's claims (`handle()`)
 * and links the payload to its entry, so that requiredScopes() finds them from
 * `req.auth.payload`. (Not in makeEntry: validateSync users do not pay for it.)
 */
function forHttp(entry, handle) {
  if (entry.claims === undefined) {
    entry.header = deepFreeze(JSON.parse(entry.headerText))
    entry.claims = handle()
    entryByPayload.set(entry.payload, entry)
  }
  return entry
}

/**
 * The core's verdict on the claims of `payload` (Claims::require_scopes): `null` when every scope
 * in `required` is granted, else the message of its insufficient_scope error; `undefined` for an
 * object that is not claims jwtgate/express handed out.
 */
function missingScopes(payload, required) {
  const entry = entryByPayload.get(payload)
  if (entry === undefined) return undefined
  return native.requireScopes(entry.claims, required) ?? null
}

function checkToken(token) {
  if (typeof token !== 'string') {
    throw new TypeError(`token must be a string, got ${token === null ? 'null' : typeof token}`)
  }
}

// The type is checked here; the value (NaN, an invalid Date, a time in the past...) by the core,
// which refuses meaningless times with a ConfigError rather than revoking nothing.
function seconds(name, value) {
  if (value === undefined || value === null) return undefined
  if (value instanceof Date) return value.getTime() / 1000
  if (typeof value === 'number') return value
  throw new TypeError(`${name} must be a Date or a number of Unix seconds`)
}

const kEntry = Symbol('jwtgate.entry')
const kEntryAsync = Symbol('jwtgate.entryAsync')
const kAuthorize = Symbol('jwtgate.authorize')
const kTakeError = Symbol('jwtgate.takeError')
const kAdmin = Symbol('jwtgate.admin')

class Validator {
  #native
  /** @type {Map<number, Entry> | null} claims id -> entry (FIFO, MEMO_MAX) */
  #memo

  /**
   * @param {object} options the canonical configuration in camelCase (docs/config.md)
   */
  constructor(options) {
    if (!isPlainObject(options)) throw new TypeError('options must be a plain object')
    const { logger, ...config } = options
    if (logger !== undefined) checkLogger(logger)
    const canonical = toCanonical(config)
    let json
    try {
      json = JSON.stringify(canonical)
    } catch (e) {
      throw new TypeError(`options must be JSON-serialisable: ${e.message}`)
    }
    try {
      this.#native = new native.NativeValidator(json)
    } catch (e) {
      throw fromNativeThrow(e)
    }
    // Events go to the logger only once the validator exists (a refused configuration adds none).
    if (logger !== undefined) addLogger(logger)
    // Without the core's result cache every call is a fresh validation with a fresh id: a memo
    // would only ever miss.
    this.#memo = canonical.cache_max_entries === 0 ? null : new Map()
  }

  /**
   * Validates without network I/O: from the result cache or with keys already loaded.
   * Throws a JwtGateError (kind `keys_not_loaded` when keys must be fetched first: use
   * `validate` or `ready`).
   */
  validateSync(token) {
    // The hit path, kept short: one native call, one Map lookup.
    if (typeof token === 'string' && this.#memo !== null) {
      const id = this.#native.check(token)
      if (id > 0) {
        const entry = this.#memo.get(id)
        if (entry !== undefined) return entry.payload
      }
      const entry = this.#settle(id)
      if (entry instanceof JwtGateError) throw entry
      return entry.payload
    }
    const entry = this[kEntry](token)
    if (entry instanceof JwtGateError) throw entry
    return entry.payload
  }

  /** Validates, fetching keys when needed. Never blocks the event loop. */
  validate(token) {
    let entry
    try {
      entry = this[kEntry](token)
    } catch (e) {
      return Promise.reject(e)
    }
    if (!(entry instanceof JwtGateError)) return Promise.resolve(entry.payload)
    if (entry.code !== KEYS_NOT_LOADED) return Promise.reject(entry)
    return this[kEntryAsync](token).then((e) => e.payload)
  }

  /** Loads remote keys now (call at start-up); resolves when they are usable. */
  ready() {
    return this.#native.readyAsync().then(settledWithoutClaims, asInternal)
  }

  /**
   * Fetches the key sets now: every issuer's, or only `issuer`'s (its `issuer` option, exactly),
   * unless a fetch of that set started in the last second. For operators: after a key is
   * withdrawn or added at the provider, this applies it at once instead of at the next scheduled
   * refresh. Settles like `ready()`; an `issuer` that is not configured rejects with a
   * ConfigError. Never blocks the event loop.
   * @param {string} [issuer]
   * @returns {Promise<void>}
   */
  refreshKeys(issuer) {
    if (issuer !== undefined && typeof issuer !== 'string') {
      return Promise.reject(new TypeError(`issuer must be a string, got ${issuer === null ? 'null' : typeof issuer}`))
    }
    return this.#native.refreshKeysAsync(issuer).then(settledWithoutClaims, asInternal)
  }

  /**
   * Drops every cached result (validated tokens and introspection answers): each token is
   * validated afresh on its next use.
   * @returns {number} how many cached results were dropped
   */
  clearCache() {
    const removed = this.#native.clearCache()
    // The claims objects of dropped results: a new validation hands out a new claims id, so
    // these would never be looked up again; let them go now rather than by FIFO.
    if (this.#memo !== null) this.#memo.clear()
    return removed
  }

  /**
   * Revokes tokens: by `jti` (until `until`, default for the life of the validator) and/or
   * every token of `sub` issued at or before `issuedBefore` (default now).
   *
   * A revocation never fails open: an empty id, a time that is not finite (NaN, an invalid
   * Date), an `until` already past, an `issuedBefore` that is negative or in the future throw a
   * ConfigError instead of returning as if something was revoked. With both `jti` and `sub`,
   * the `jti` revocation is applied first and stays applied if the `sub` one is refused.
   * @returns {number} how many cached results were dropped
   */
  revoke(spec) {
    if (!isPlainObject(spec)) throw new TypeError('revoke() takes { jti?, sub?, issuedBefore?, until? }')
    const { jti, sub, issuedBefore, until } = spec
    if (jti === undefined && sub === undefined) throw new TypeError('revoke() needs jti or sub')
    if (jti !== undefined && typeof jti !== 'string') throw new TypeError('jti must be a string')
    if (sub !== undefined && typeof sub !== 'string') throw new TypeError('sub must be a string')
    if (until !== undefined && jti === undefined) throw new TypeError('until applies to jti')
    if (issuedBefore !== undefined && sub === undefined) throw new TypeError('issuedBefore applies to sub')
    const untilSecs = seconds('until', until)
    const beforeSecs = seconds('issuedBefore', issuedBefore)
    let removed = 0
    try {
      if (jti !== undefined) removed += this.#native.revokeJti(jti, untilSecs)
      if (sub !== undefined) removed += this.#native.revokeSubject(sub, beforeSecs)
    } catch (e) {
      throw fromNativeThrow(e)
    }
    return removed
  }

  /** Counters: validations, failures by kind, cache and JWKS activity. */
  stats() {
    return camelFields(JSON.parse(this.#native.statsJson()), false)
  }

  /** The counters in Prometheus text format. */
  metricsText() {
    return this.#native.metricsText()
  }

  /** Issuer, key source, JWKS freshness and cache size. */
  health() {
    return camelFields(JSON.parse(this.#native.healthJson()), true)
  }

  // Internal (used by jwtgate/express): the claims entry or the error, without throwing it.
  [kEntry](token) {
    checkToken(token)
    return this.#settle(this.#native.check(token))
  }

  // The answer of `check`: an error (id < 0), the memoised entry, or a new one.
  #settle(id) {
    if (id < 0) return errorFromCode(-id, this.#native.takeError())
    return this.#remember(id, () => this.#native.takeClaims())
  }

  #remember(id, claimsText) {
    const memo = this.#memo
    if (memo === null) return makeEntry(claimsText())
    let entry = memo.get(id)
    if (entry === undefined) {
      entry = makeEntry(claimsText())
      if (memo.size >= MEMO_MAX) memo.delete(memo.keys().next().value)
      memo.set(id, entry)
    }
    return entry
  }

  // Internal: the slow path (keys must be fetched, or the token introspected) on the core's
  // runtime; no libuv pool thread waits for it. Rejects with the error. The entry is ready for
  // jwtgate/express (forHttp): a round trip to the provider dwarfs that.
  [kEntryAsync](token) {
    return this.#native.validateAsync(token).then((outcome) => {
      if (outcome.claims === undefined || outcome.claims === null) throw errorFromCode(outcome.code, outcome.message)
      return forHttp(this.#remember(outcome.id, () => outcome.claims), () => outcome.handle)
    }, asInternal)
  }

  // Internal (jwtgate/express): the entry of the bearer token in an `Authorization` header value
  // (`undefined`: none), which the core reads (RFC 6750 §2.1), or the negated error code, whose
  // error [kTakeError] builds. A hit is one native call and one Map lookup, as in validateSync.
  [kAuthorize](header) {
    const id = this.#native.checkAuthorization(header)
    if (id < 0) return id
    if (this.#memo !== null) {
      const entry = this.#memo.get(id)
      if (entry !== undefined && entry.claims !== undefined) return entry
    }
    // The handle first: takeClaims moves the claims out.
    const claims = this.#native.claimsHandle()
    return forHttp(this.#remember(id, () => this.#native.takeClaims()), () => claims)
  }

  // Internal (jwtgate/express adminRouter, jwtgate/prometheus): an admin route's reply
  // (a Promise) or null; the metric families.
  [kAdmin](method, path, body) {
    return this.#native.admin(method, path, body)
  }

  /** The Prometheus text's families as data (what `jwtgate/prometheus` collects). */
  metricFamilies() {
    return JSON.parse(this.#native.metricFamiliesJson())
  }

  [kTakeError](code) {
    return errorFromCode(code, this.#native.takeError())
  }
}

// ---------------------------------------------------------------------------------------------
// Events: the engine's audit and key-set events (targets `jwtgate::audit`, `jwtgate::jwks`) to
// the loggers given with the `logger` option (none by default: nothing is logged). A logger is
// pino-compatible: `logger.info(fields, message)` (`error`, `warn`, `info`, `debug`, `trace`);
// console works too. The fields are Python's `jwtgate_fields` plus `target`. Events are the
// process's (the engine's queue is one), so every logger gets every validator's events.
//
// The engine never calls JS where an event happens (that may be one of its I/O threads): it
// queues the event and schedules one call of a weak threadsafe function, which drains the queue
// here on the JS thread. Background key refreshes are logged when they happen.

const SEVERITY = { trace: 5, debug: 10, info: 20, warn: 30, warning: 30, error: 40, fatal: 50, silent: 255 }
const loggers = new Set()

function checkLogger(logger) {
  if (logger === null || typeof logger !== 'object' || typeof logger.info !== 'function') {
    throw new TypeError('logger must have pino-style methods (info, warn, error, debug)')
  }
}

function addLogger(logger) {
  checkLogger(logger)
  loggers.add(logger)
  native.eventsSubscribe(drainEvents, minSeverity())
}

// The lowest level any logger wants (pino's `logger.level` name; `info` when it has none).
function minSeverity() {
  let min = 255
  for (const l of loggers) min = Math.min(min, SEVERITY[typeof l.level === 'string' ? l.level : 'info'] ?? 20)
  return min
}

/** Stops sending the engine's events to `logger` (given as a Validator's `logger` option). */
function removeLogger(logger) {
  loggers.delete(logger)
  if (loggers.size === 0) native.eventsUnsubscribe()
  else native.eventsSubscribe(drainEvents, minSeverity())
}

function drainEvents() {
  const { dropped, events } = JSON.parse(native.eventsDrain())
  if (dropped > 0) {
    dispatch('warn', { target: 'jwtgate', dropped }, `${dropped} jwtgate events were dropped (queue full)`)
  }
  for (const e of events) dispatch(e.level, { target: e.target, ...e.fields }, e.message)
}

function dispatch(level, fields, message) {
  for (const logger of loggers) {
    const method = typeof logger[level] === 'function' ? level : 'info'
    try {
      logger[method](fields, message)
    } catch {
      // A failing logger must not turn an event into an uncaught exception.
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The addon. Installed from npm it is the platform package `jwtgate-<platform>` (an
// optionalDependency: npm installs only the one whose os/cpu/libc match, as napi-rs packages
// do). In the repository it is built from source (napi build --platform) next to this file,
// and that copy wins, so a local build is never shadowed by an installed package.

function loadNative() {
  const path = require('node:path')
  const suffix = platformSuffix()
  const file = path.join(__dirname, `jwtgate.${suffix}.node`)
  const notFound = (e, what) => e && e.code === 'MODULE_NOT_FOUND' && String(e.message).includes(what)
  try {
    return require(file)
  } catch (e) {
    if (!notFound(e, file)) throw e
  }
  const pkg = `jwtgate-${suffix}`
  try {
    return require(pkg)
  } catch (e) {
    if (!notFound(e, pkg)) throw e
  }
  const err = new Error(
    `jwtgate: no native addon for ${suffix}: the package ${pkg} is not installed (npm skips ` +
      'optional dependencies with --no-optional or --omit=optional, and none is published for ' +
      `every platform), and ${path.basename(file)} is not built in ${__dirname} ` +
      '(`npm run build` there, needs cargo).',
  )
  err.code = 'ERR_JWTGATE_NOT_BUILT'
  throw err
}

function platformSuffix() {
  const { platform, arch } = process
  if (platform === 'linux') return `linux-${arch}-${isMusl() ? 'musl' : 'gnu'}`
  if (platform === 'win32') return `win32-${arch}-msvc`
  return `${platform}-${arch}`
}

function isMusl() {
  const report = typeof process.report?.getReport === 'function' ? process.report.getReport() : null
  return !(report && report.header && report.header.glibcVersionRuntime)
}

module.exports = {
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
  removeLogger,
  version: native.version(),
}

// For jwtgate/express only; not part of the public API.
Object.defineProperty(module.exports, Symbol.for('jwtgate.internal'), {
  value: Object.freeze({
    kEntry,
    kEntryAsync,
    kAuthorize,
    kTakeError,
    kAnswerFor,
    missingScopes,
    errorOfKind,
    CLASS_BY_NAME,
    KEYS_NOT_LOADED,
    MISSING_TOKEN,
    buildProfile: native.buildProfile(),
    kAdmin,
    fromNativeThrow,
    native,
  }),
})
