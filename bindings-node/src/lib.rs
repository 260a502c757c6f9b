//! The Node.js face of jwtgate: a thin translation layer over [`jwtgate::Validator`].
//!
//! Everything users see is the hand-written `index.js`; this module is its private native half.
//! Four rules shape it:
//!
//! - **Errors cross as data, not as thrown errors.** The hot calls [`NativeValidator::check`]
//!   and [`NativeValidator::check_authorization`] return a number: a claims id (> 0) or a
//!   negated stable error code (< 0), with the message kept for
//!   [`NativeValidator::take_error`]. `index.js` builds exactly one `JwtGateError` subclass
//!   from it (napi-rs cannot throw subclasses, and throwing here only to catch and re-wrap in
//!   JS would build two errors and two stack traces per rejected token).
//! - **Claims are converted once per claims, not once per call.** A result-cache hit returns the
//!   same `Arc<Claims>`, whose [`jwtgate::Claims::id`] the JS side uses to find the frozen object
//!   it built the first time, so a hit hands over one number. The first time, the claims cross as
//!   JSON text for `JSON.parse`, which is 2x cheaper than building the object through napi
//!   (measurements in `bindings-node/README.md`).
//! - **No thread of Node's waits for the network.** [`NativeValidator::check`] is the core's
//!   network-free `validate_local`; only when it answers `keys_not_loaded` does `index.js` call
//!   [`NativeValidator::validate_async`], which returns a Promise and hands the work to the
//!   core's `validate_with`: the fetch or introspection runs on the core's tokio runtime and its
//!   callback settles the Promise through a [`napi::JsDeferred`] (a threadsafe function back to
//!   the JS thread, which napi aborts when the environment, e.g. a worker, tears down first).
//!   Audit finding 11: this path used to be an `AsyncTask` running `validate_blocking` on the
//!   libuv pool, which parked one of its four threads for a whole provider round trip, so eight
//!   garbage tokens against a provider answering in 3 s delayed an unrelated `fs.readFile` by
//!   6 s. We deliberately do not use napi's `tokio_rt` either: it would start a second tokio
//!   runtime next to the core's (STYLE.md: one runtime per process).
//! - **The HTTP edge is the core's.** jwtgate/express reads the `Authorization` header, checks
//!   scopes and words its answers through [`jwtgate::edge`] and [`Claims::require_scopes`], as
//!   every face's framework glue does, so a request gets the same answer in every language.

use std::cell::RefCell;
use std::sync::Arc;

use jwtgate::{Claims, Error as CoreError, ErrorKind, Validator, edge};
use napi::JsDeferred;
use napi::bindgen_prelude::{Buffer, Env, Error, External, Function, Object, Result, Status};
use napi::{JsString, JsValue};
use napi_derive::napi;

/// Tokens (and `Authorization` values: room for the scheme and blanks) up to this many UTF-8
/// bytes are read in one pass into a reused buffer; longer ones (refused by size anyway unless
/// `maxTokenBytes` is raised) take napi-rs's two-pass path.
const TOKEN_BUFFER: usize = 16 * 1024 + 64 + 1;

/// The status string of a construction failure becomes the thrown error's `.code`: the kind
/// name, which `index.js` maps to its class.
#[derive(Debug)]
pub struct KindStatus(&'static str);

impl AsRef<str> for KindStatus {
    fn as_ref(&self) -> &str {
        self.0
    }
}

/// One row of the error table (built from [`ErrorKind::ALL`] so numbers live in the core only).
#[napi(object)]
#[derive(Debug)]
pub struct KindInfo {
    pub kind: String,
    pub code: u32,
    pub status: u32,
    pub token_fault: bool,
    pub unavailable: bool,
    /// The error class of the kind ([`ErrorKind::class`]): `index.js` builds its kind -> class
    /// table from it, so the families are the core's in every face.
    pub class: String,
    /// What an HTTP answer says in place of the message (provider, config and internal kinds:
    /// their messages name URLs, OS errors or credentials hints; CWE-209). `None` for token
    /// faults, whose messages are about the token and safe to return.
    pub client_description: Option<String>,
}

/// Every error kind with its stable code and HTTP status.
#[napi]
pub fn error_kinds() -> Vec<KindInfo> {
    ErrorKind::ALL
        .iter()
        .map(|k| KindInfo {
            kind: k.as_str().to_string(),
            code: k.code(),
            status: u32::from(k.http_status()),
            token_fault: k.is_token_fault(),
            unavailable: k.is_unavailable(),
            class: k.class().to_string(),
            client_description: k.client_description().map(str::to_string),
        })
        .collect()
}

#[napi]
pub fn version() -> &'static str {
    jwtgate::VERSION
}

/// `release` or `debug`: benchmarks refuse to measure a debug build.
#[napi]
pub fn build_profile() -> &'static str {
    if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    }
}

/// What the JS side needs to build its claims object, once per claims id, as one string:
/// `header JSON` NUL `payload JSON` NUL `granted scopes as a JSON array`.
///
/// One string because every extra napi value costs: measured here, a `{ payload, header, scopes }`
/// object costs 2.1 µs to hand over, this string 0.4 µs. NUL is an unambiguous separator: the
/// header and payload texts passed the core's strict JSON parser (RFC 8259 §7: control characters
/// never appear raw in JSON text) and serde_json escapes them in the scopes array.
fn claims_text(claims: &Claims) -> String {
    let (header, payload) = (claims.header_json(), claims.json());
    let scopes = serde_json::to_string(&claims.scopes()).unwrap_or_else(|_| "[]".to_string());
    let mut text = String::with_capacity(header.len() + payload.len() + scopes.len() + 2);
    text.push_str(header);
    text.push('\0');
    text.push_str(payload);
    text.push('\0');
    text.push_str(&scopes);
    text
}

/// The core's claims, held by the JS side for the scope checks of jwtgate/express
/// ([`require_scopes`]). An external: cheaper to make than a class instance.
type ClaimsHandle = External<Arc<Claims>>;

/// The answer to a refused request ([`edge::answer`]).
#[napi(object)]
#[derive(Debug)]
pub struct HttpAnswer {
    pub status: u32,
    /// The `WWW-Authenticate` value; `None` for statuses without a challenge (503, 500).
    pub challenge: Option<String>,
    /// The JSON body as text.
    pub body: String,
}

/// The answer to the error of kind `code` with `message`: status, `WWW-Authenticate` and JSON
/// body, as every face sends it. An unknown code answers as `internal`.
#[napi]
pub fn http_answer(
    code: u32,
    message: String,
    realm: Option<String>,
    scopes: Option<Vec<String>>,
) -> HttpAnswer {
    let kind = ErrorKind::ALL
        .iter()
        .copied()
        .find(|k| k.code() == code)
        .unwrap_or(ErrorKind::Internal);
    let scopes: Vec<&str> = scopes.iter().flatten().map(String::as_str).collect();
    let answer = edge::answer(&CoreError::new(kind, message), realm.as_deref(), &scopes);
    HttpAnswer {
        status: u32::from(answer.status),
        challenge: answer.challenge,
        body: answer.body,
    }
}

/// `None` when `claims` grant every scope in `required`, else the message of the core's
/// `insufficient_scope` error ([`Claims::require_scopes`]: `scope` or `scp`, one wording).
#[napi(ts_args_type = "claims: ClaimsHandle, required: string[]")]
pub fn require_scopes(claims: &ClaimsHandle, required: Vec<String>) -> Option<String> {
    claims
        .require_scopes(&required)
        .err()
        .map(|e| e.message().to_string())
}

/// The outcome of the slow path: claims, or an error as data.
#[napi(object, object_from_js = false)]
pub struct Outcome {
    /// The claims id (see [`NativeValidator::check`]).
    pub id: Option<f64>,
    /// The claims as [`claims_text`].
    pub claims: Option<String>,
    /// The claims themselves, for [`require_scopes`].
    pub handle: Option<ClaimsHandle>,
    /// The stable numeric error code.
    pub code: Option<u32>,
    pub message: Option<String>,
}

impl std::fmt::Debug for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outcome")
            .field("id", &self.id)
            .field("code", &self.code)
            .field("message", &self.message)
            .finish_non_exhaustive()
    }
}

impl Outcome {
    fn of(result: jwtgate::Result<jwtgate::Validated>) -> Outcome {
        match result {
            Ok(v) => Outcome {
                id: Some(id_number(v.claims())),
                claims: Some(claims_text(v.claims())),
                handle: Some(External::new(v.claims().clone())),
                code: None,
                message: None,
            },
            Err(e) => Outcome::error(&e),
        }
    }

    /// The outcome of a call without claims (`ready`, `refresh_keys`).
    fn of_unit(result: jwtgate::Result<()>) -> Outcome {
        match result {
            Ok(()) => Outcome {
                id: None,
                claims: None,
                handle: None,
                code: None,
                message: None,
            },
            Err(e) => Outcome::error(&e),
        }
    }

    fn error(e: &CoreError) -> Outcome {
        Outcome {
            id: None,
            claims: None,
            handle: None,
            code: Some(e.code()),
            message: Some(e.message().to_string()),
        }
    }
}

/// The promise of a slow-path call, settled exactly once. If the core drops its callback
/// without calling it (a panic in its task), `Drop` rejects the promise: a `JsDeferred` left
/// unsettled would never settle, and its threadsafe function would keep the event loop (and the
/// process) alive for good.
struct Settle<R: FnOnce(Env) -> Result<Outcome>>(Option<JsDeferred<Outcome, R>>);

impl<R: FnOnce(Env) -> Result<Outcome>> Settle<R> {
    fn resolve(mut self, resolver: R) {
        if let Some(deferred) = self.0.take() {
            deferred.resolve(resolver);
        }
    }
}

impl<R: FnOnce(Env) -> Result<Outcome>> Drop for Settle<R> {
    fn drop(&mut self) {
        if let Some(deferred) = self.0.take() {
            deferred.reject(Error::from_reason(
                "the engine ended a call without a result (a bug in jwtgate: please report it)",
            ));
        }
    }
}

/// Ids start at 1 and grow by one per validation that is not a cache hit: they stay far below
/// 2^53, so the f64 a JS number holds is exact.
fn id_number(claims: &Claims) -> f64 {
    claims.id() as f64
}

#[napi]
#[derive(Debug)]
pub struct NativeValidator {
    validator: Validator,
    /// The claims of the last successful `check` on this (JS) thread, for `take_claims`.
    last_claims: RefCell<Option<Arc<Claims>>>,
    /// The error of the last failed `check`, for `take_error`.
    last_error: RefCell<Option<CoreError>>,
    /// Where `check` reads the token (allocated once per validator).
    token_buffer: RefCell<Vec<u8>>,
}

#[napi]
impl NativeValidator {
    /// `config_json` is the canonical snake_case configuration (index.js maps camelCase).
    #[napi(constructor)]
    pub fn new(config_json: String) -> std::result::Result<Self, Error<KindStatus>> {
        let validator = Validator::from_json(&config_json).map_err(|e| kind_error(&e))?;
        Ok(NativeValidator {
            validator,
            last_claims: RefCell::new(None),
            last_error: RefCell::new(None),
            token_buffer: RefCell::new(vec![0; TOKEN_BUFFER]),
        })
    }

    /// The hot path: never does I/O, never waits. Returns the claims id (> 0) or the negated
    /// error code (< 0; `-2002` = `keys_not_loaded`: call `validate_async`).
    #[napi(ts_args_type = "token: string")]
    pub fn check(&self, token: JsString) -> Result<f64> {
        let mut buffer = self.token_buffer.borrow_mut();
        Ok(match read_utf8(&token, &mut buffer)? {
            Some(text) => self.check_str(text),
            None => self.check_str(token.into_utf8()?.as_str()?),
        })
    }

    fn check_str(&self, token: &str) -> f64 {
        match self.validator.validate_local(token) {
            Ok(v) => {
                let id = id_number(v.claims());
                *self.last_claims.borrow_mut() = Some(v.claims().clone());
                id
            }
            Err(e) => self.refused(e),
        }
    }

    fn refused(&self, e: CoreError) -> f64 {
        let code = -f64::from(e.code());
        *self.last_error.borrow_mut() = Some(e);
        code
    }

    /// The hot path of jwtgate/express: [`NativeValidator::check`] of the bearer token in an
    /// `Authorization` header value (absent: `undefined`), read by the core's
    /// [`edge::bearer_token`] (RFC 6750 §2.1). Errors add `missing_token` and `invalid_request`.
    #[napi(ts_args_type = "header: string | undefined")]
    pub fn check_authorization(&self, header: Option<JsString>) -> Result<f64> {
        let Some(header) = header else {
            return Ok(self.check_header(None));
        };
        let mut buffer = self.token_buffer.borrow_mut();
        Ok(match read_utf8(&header, &mut buffer)? {
            Some(text) => self.check_header(Some(text)),
            None => self.check_header(Some(header.into_utf8()?.as_str()?)),
        })
    }

    fn check_header(&self, header: Option<&str>) -> f64 {
        match edge::bearer_token(header) {
            Ok(token) => self.check_str(token),
            Err(e) => self.refused(e),
        }
    }

    /// The claims of the last successful check as [`claims_text`] (called only when the JS
    /// side has no object for that id yet).
    #[napi]
    pub fn take_claims(&self) -> Option<String> {
        self.last_claims
            .borrow_mut()
            .take()
            .map(|c| claims_text(&c))
    }

    /// The claims of the last successful check themselves, for [`require_scopes`] (called once
    /// per claims object that jwtgate/express hands out, before [`NativeValidator::take_claims`]).
    #[napi(ts_return_type = "ClaimsHandle | undefined")]
    pub fn claims_handle(&self) -> Option<ClaimsHandle> {
        self.last_claims.borrow().clone().map(External::new)
    }

    /// The message of the last failed `check`.
    #[napi]
    pub fn take_error(&self) -> String {
        self.last_error
            .borrow_mut()
            .take()
            .map(|e| e.message().to_string())
            .unwrap_or_default()
    }

    /// The slow path: may fetch keys or introspect. Resolves to an [`Outcome`] (never
    /// rejects: errors are data) from the core's runtime; no libuv pool thread is used.
    #[napi(ts_return_type = "Promise<Outcome>")]
    pub fn validate_async<'env>(&self, env: &'env Env, token: String) -> Result<Object<'env>> {
        let (deferred, promise) = env.create_deferred()?;
        let settle = Settle(Some(deferred));
        self.validator.validate_with(&token, move |result| {
            // Built here, on whichever thread finishes: only the resolver runs on the JS thread.
            let outcome = Outcome::of(result);
            settle.resolve(move |_| Ok(outcome));
        });
        Ok(promise)
    }

    /// Loads remote keys (start-up); resolves to an [`Outcome`] without claims, settled from
    /// the core's runtime like [`NativeValidator::validate_async`].
    #[napi(ts_return_type = "Promise<Outcome>")]
    pub fn ready_async<'env>(&self, env: &'env Env) -> Result<Object<'env>> {
        let (deferred, promise) = env.create_deferred()?;
        let settle = Settle(Some(deferred));
        self.validator.ready_with(move |result| {
            let outcome = Outcome::of_unit(result);
            settle.resolve(move |_| Ok(outcome));
        });
        Ok(promise)
    }

    /// Fetches the key sets now (every issuer's, or `issuer`'s) unless a fetch started in the
    /// last second; resolves to an [`Outcome`] without claims (an issuer that is not configured
    /// is `config`), settled from the core's runtime like [`NativeValidator::ready_async`].
    #[napi(ts_return_type = "Promise<Outcome>")]
    pub fn refresh_keys_async<'env>(
        &self,
        env: &'env Env,
        issuer: Option<String>,
    ) -> Result<Object<'env>> {
        let (deferred, promise) = env.create_deferred()?;
        let settle = Settle(Some(deferred));
        self.validator
            .refresh_keys_with(issuer.as_deref(), move |result| {
                let outcome = Outcome::of_unit(result);
                settle.resolve(move |_| Ok(outcome));
            });
        Ok(promise)
    }

    /// Drops every cached result; returns how many.
    #[napi]
    pub fn clear_cache(&self) -> u32 {
        saturate(self.validator.clear_cache())
    }

    /// Returns how many cached results were dropped. An empty `jti` or an `until` that is not
    /// finite or already past throws with `code` = `config` (a revocation never fails open).
    #[napi]
    pub fn revoke_jti(
        &self,
        jti: String,
        until: Option<f64>,
    ) -> std::result::Result<u32, Error<KindStatus>> {
        self.validator
            .revoke_jti(&jti, until)
            .map(saturate)
            .map_err(|e| kind_error(&e))
    }

    /// Returns how many cached results were dropped. An empty `sub` or an `issued_before` that
    /// is not finite, negative or in the future throws with `code` = `config`.
    #[napi]
    pub fn revoke_subject(
        &self,
        sub: String,
        issued_before: Option<f64>,
    ) -> std::result::Result<u32, Error<KindStatus>> {
        self.validator
            .revoke_subject(&sub, issued_before)
            .map(saturate)
            .map_err(|e| kind_error(&e))
    }

    #[napi]
    pub fn stats_json(&self) -> Result<String> {
        to_json(&self.validator.stats())
    }

    #[napi]
    pub fn health_json(&self) -> Result<String> {
        to_json(&self.validator.health())
    }

    #[napi]
    pub fn metrics_text(&self) -> String {
        self.validator.metrics_text()
    }

    /// The Prometheus text's families as JSON (`jwtgate/prometheus` builds its metrics from
    /// them): `[{"name", "help", "type", "samples": [{"name", "labels", "value"}]}]`.
    #[napi]
    pub fn metric_families_json(&self) -> Result<String> {
        to_json(&self.validator.metric_families())
    }

    /// Answers an admin route (`jwtgate::admin`): resolves to an [`AdminReply`], from the
    /// core's runtime for `jwks/refresh` (no libuv pool thread waits), at once otherwise.
    /// `null` when no route has this method and path.
    #[napi(ts_return_type = "Promise<AdminReply> | null")]
    pub fn admin<'env>(
        &self,
        env: &'env Env,
        method: String,
        path: String,
        body: Buffer,
    ) -> Result<Option<Object<'env>>> {
        let Some(route) = jwtgate::admin::Route::parse(&method, &path) else {
            return Ok(None);
        };
        let (deferred, promise) = env.create_deferred()?;
        let settle = AdminSettle(Some(deferred));
        jwtgate::admin::handle_with(&self.validator, route, &body, move |reply| {
            let reply = AdminReply {
                status: u32::from(reply.status),
                content_type: reply.content_type.to_string(),
                headers: reply
                    .headers
                    .into_iter()
                    .map(|(k, v)| vec![k.to_string(), v])
                    .collect(),
                body: reply.body,
            };
            settle.resolve(move |_| Ok(reply));
        });
        Ok(Some(promise))
    }
}

/// An admin route's answer.
#[napi(object)]
#[derive(Debug)]
pub struct AdminReply {
    pub status: u32,
    pub content_type: String,
    /// `[name, value]` pairs besides `Content-Type`.
    pub headers: Vec<Vec<String>>,
    pub body: String,
}

/// [`Settle`] for admin replies.
struct AdminSettle<R: FnOnce(Env) -> Result<AdminReply>>(Option<JsDeferred<AdminReply, R>>);

impl<R: FnOnce(Env) -> Result<AdminReply>> AdminSettle<R> {
    fn resolve(mut self, resolver: R) {
        if let Some(deferred) = self.0.take() {
            deferred.resolve(resolver);
        }
    }
}

impl<R: FnOnce(Env) -> Result<AdminReply>> Drop for AdminSettle<R> {
    fn drop(&mut self) {
        if let Some(deferred) = self.0.take() {
            deferred.reject(Error::from_reason(
                "the engine ended an admin call without a result (a bug in jwtgate: please report it)",
            ));
        }
    }
}

/// One admin route.
#[napi(object)]
#[derive(Debug)]
pub struct AdminRoute {
    pub method: String,
    pub path: String,
    pub needs_token: bool,
}

/// The admin routes (`jwtgate::admin::ROUTES`).
#[napi]
pub fn admin_routes() -> Vec<AdminRoute> {
    jwtgate::admin::ROUTES
        .iter()
        .filter_map(|(m, p)| {
            jwtgate::admin::Route::parse(m, p).map(|r| AdminRoute {
                method: (*m).to_string(),
                path: (*p).to_string(),
                needs_token: r.needs_token(),
            })
        })
        .collect()
}

/// Throws (code `config`) unless `scope` is one scope token: the admin routes have no default
/// scope and no way to turn the check off.
#[napi]
pub fn admin_check_scope(scope: String) -> std::result::Result<(), Error<KindStatus>> {
    jwtgate::admin::check_scope(&scope).map_err(|e| kind_error(&e))
}

// ---- events -------------------------------------------------------------------------------
//
// The core queues its events (jwtgate::events); its waker, which runs on whatever thread
// emitted the event, only schedules one call of a threadsafe function (non-blocking, and only
// when none is scheduled yet). That call runs on the JS thread and drains the queue into the
// loggers (index.js). The function is weak (unref'd): it never keeps the process alive, and
// once the environment is torn down the call is refused, not run.

type EventsTsfn = napi::threadsafe_function::ThreadsafeFunction<(), (), (), Status, false, true, 0>;

static EVENTS_SCHEDULED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Routes the core's events to `callback` (called with no argument on the JS thread when
/// events are waiting: it calls [`events_drain`]). `min_severity`: Python's numeric levels
/// (10 debug, 20 info, 30 warning, 40 error).
#[napi(ts_args_type = "callback: () => void, minSeverity: number")]
pub fn events_subscribe(callback: Function<(), ()>, min_severity: u32) -> Result<()> {
    let tsfn: EventsTsfn = callback
        .build_threadsafe_function::<()>()
        .callee_handled::<false>()
        .weak::<true>()
        .build()?;
    let tsfn = Arc::new(tsfn);
    jwtgate::events::install();
    jwtgate::events::set_min_severity(min_severity.min(255) as u8);
    EVENTS_SCHEDULED.store(false, std::sync::atomic::Ordering::SeqCst);
    jwtgate::events::set_waker(Some(Arc::new(move || {
        if !EVENTS_SCHEDULED.swap(true, std::sync::atomic::Ordering::AcqRel) {
            let _ = tsfn.call(
                (),
                napi::threadsafe_function::ThreadsafeFunctionCallMode::NonBlocking,
            );
        }
    })));
    Ok(())
}

/// Stops routing events (the queue keeps filling up to its bound; nothing is called).
#[napi]
pub fn events_unsubscribe() {
    jwtgate::events::set_waker(None);
    jwtgate::events::set_min_severity(255);
}

/// The waiting events as JSON: `{"dropped": n, "events": [{"level", "severity", "target",
/// "message", "fields", "time"}]}`.
#[napi]
pub fn events_drain() -> String {
    EVENTS_SCHEDULED.store(false, std::sync::atomic::Ordering::Release);
    let drained = jwtgate::events::drain();
    let events: Vec<serde_json::Value> = drained.events.iter().map(|e| e.to_json()).collect();
    serde_json::json!({ "dropped": drained.dropped, "events": events }).to_string()
}

/// Reads a JS string as UTF-8 into `buffer` in one pass; `None` when it may not have fit.
///
/// napi-rs's `String` argument asks V8 for the UTF-8 length, allocates, then copies: two walks
/// over a 1 KB token and a malloc/free per call, 0.2 µs of a 2.3 µs cache hit (perf, this
/// machine). Lone surrogates come out as U+FFFD (V8's replacement), never as bytes that could
/// spell a different token.
#[allow(unsafe_code)]
fn read_utf8<'b>(token: &JsString<'_>, buffer: &'b mut [u8]) -> Result<Option<&'b str>> {
    let value = token.value();
    let mut written = 0usize;
    // SAFETY: `buffer` is initialised memory of `buffer.len()` bytes that we borrow mutably for
    // the call; napi writes at most `len - 1` bytes and a NUL there and stores the count in
    // `written`. `value.env`/`value.value` are the live arguments of the current napi call.
    let status = unsafe {
        napi::sys::napi_get_value_string_utf8(
            value.env,
            value.value,
            buffer.as_mut_ptr().cast(),
            buffer.len(),
            &mut written,
        )
    };
    if status != napi::sys::Status::napi_ok {
        return Err(Error::new(Status::StringExpected, "token must be a string"));
    }
    if written + 1 >= buffer.len() {
        return Ok(None);
    }
    std::str::from_utf8(&buffer[..written])
        .map(Some)
        .map_err(|_| Error::new(Status::GenericFailure, "V8 returned invalid UTF-8"))
}

/// A core error thrown with the kind name as `.code`, which `index.js` maps to its class (only
/// for calls that are not hot: construction and revocation).
fn kind_error(e: &CoreError) -> Error<KindStatus> {
    Error::new(KindStatus(e.kind().as_str()), e.message().to_string())
}

fn saturate(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::from_reason(e.to_string()))
}
