//! Operating it: metric families as JSON, the admin routes, and the engine's events (a pull
//! function for hosts with their own threads, Go's goroutine; a callback on a thread this
//! library owns, for C).

use std::ffi::{CString, c_char, c_int, c_void};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use jwtgate::admin::{self, Route};
use jwtgate::events;

use crate::error::{bytes, call, jwtgate_error, out_ptr, owned_c_string, text_arg};
use crate::result::jwtgate_result;
use crate::validator::{jwtgate_validator, validator};

fn owned_out(text: String, out: *mut *mut c_char) -> Result<(), jwtgate_error> {
    out_ptr(out, "out")?;
    // SAFETY: not NULL and writable (API contract).
    unsafe { *out = owned_c_string(text) };
    Ok(())
}

fn internal(e: serde_json::Error) -> jwtgate_error {
    jwtgate_error::new(jwtgate_result::JWTGATE_INTERNAL, e.to_string())
}

/// The families of `jwtgate_metrics_text` as a JSON array: `[{"name", "help", "type",
/// "samples": [{"name", "labels": [[name, value], ...], "value"}]}]` (what the Go collector
/// registers). `*out` is owned by the caller: release it with `jwtgate_string_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_metric_families_json(
    v: *const jwtgate_validator,
    out: *mut *mut c_char,
) -> jwtgate_result {
    call(std::ptr::null_mut(), || {
        // SAFETY: API contract on `v`.
        let v = unsafe { validator(v) }?;
        owned_out(
            serde_json::to_string(&v.metric_families()).map_err(internal)?,
            out,
        )
    })
}

/// The admin routes as a JSON array of `{"method", "path", "needs_token"}`; `*out` owned by
/// the caller (`jwtgate_string_free`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_admin_routes_json(out: *mut *mut c_char) -> jwtgate_result {
    call(std::ptr::null_mut(), || {
        let routes: Vec<serde_json::Value> = admin::ROUTES
            .iter()
            .filter_map(|(m, p)| {
                Route::parse(m, p).map(|r| {
                    serde_json::json!({ "method": m, "path": p, "needs_token": r.needs_token() })
                })
            })
            .collect();
        owned_out(serde_json::Value::Array(routes).to_string(), out)
    })
}

/// `JWTGATE_CONFIG` unless `scope` (UTF-8, `len` bytes) is one RFC 6749 scope token: the
/// admin routes have no default scope and no way to turn the check off.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_admin_check_scope(
    scope: *const u8,
    len: usize,
    err: *mut *mut jwtgate_error,
) -> jwtgate_result {
    call(err, || {
        // SAFETY: readable bytes are the caller's contract.
        let scope = unsafe { text_arg(scope, len, "scope", jwtgate_result::JWTGATE_CONFIG) }?;
        admin::check_scope(scope)?;
        Ok(())
    })
}

/// Answers the admin route `method` `path` (relative to the prefix; UTF-8) with the request
/// body `body` (`body_len` bytes; NULL with 0 for none). `*out` receives the reply as JSON,
/// `{"status", "content_type", "headers": [[name, value], ...], "body"}`, owned by the caller
/// (`jwtgate_string_free`). Blocks for `jwks/refresh` (bounded by the fetch timeouts).
/// `JWTGATE_INVALID_ARGUMENT` when no route has this method and path. The caller checks the
/// admin token first (every route but `dashboard`): `jwtgate_validate_authorization` with the
/// admin scope.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_admin_handle(
    v: *const jwtgate_validator,
    method: *const u8,
    method_len: usize,
    path: *const u8,
    path_len: usize,
    body: *const u8,
    body_len: usize,
    out: *mut *mut c_char,
    err: *mut *mut jwtgate_error,
) -> jwtgate_result {
    call(err, || {
        // SAFETY: API contract on `v`.
        let v = unsafe { validator(v) }?;
        let invalid = jwtgate_result::JWTGATE_INVALID_ARGUMENT;
        // SAFETY: readable bytes are the caller's contract.
        let method = unsafe { text_arg(method, method_len, "method", invalid) }?;
        // SAFETY: as above.
        let path = unsafe { text_arg(path, path_len, "path", invalid) }?;
        let body: &[u8] = if body_len == 0 {
            &[]
        } else {
            // SAFETY: as above.
            unsafe { bytes(body, body_len) }.map_err(|e| e.error("body", body_len, invalid))?
        };
        let route = Route::parse(method, path).ok_or_else(|| {
            jwtgate_error::new(invalid, "no admin route has this method and path")
        })?;
        let reply = admin::handle_blocking(v, route, body);
        let doc = serde_json::json!({
            "status": reply.status,
            "content_type": reply.content_type,
            "headers": reply.headers.iter().map(|(k, v)| [*k, v.as_str()]).collect::<Vec<_>>(),
            "body": reply.body,
        });
        owned_out(doc.to_string(), out)
    })
}

// ---- events ----

/// One event of the engine, as the callback of `jwtgate_events_set_callback` sees it. Every
/// string is NUL-terminated UTF-8 borrowed for the duration of the call only.
#[repr(C)]
#[derive(Debug)]
pub struct jwtgate_event {
    /// Python's numeric levels: 40 error, 30 warn, 20 info, 10 debug, 5 trace.
    pub severity: c_int,
    /// "error", "warn", "info", "debug" or "trace".
    pub level: *const c_char,
    /// "jwtgate::audit", "jwtgate::jwks", ...
    pub target: *const c_char,
    pub message: *const c_char,
    /// The event's fields as a JSON object of strings (`event`, `kind`, `issuer`, ...).
    pub fields_json: *const c_char,
    /// Unix time in seconds.
    pub time: f64,
}

/// The type of an event callback: `ctx` is the pointer given with it.
pub type jwtgate_event_callback =
    Option<unsafe extern "C" fn(ctx: *mut c_void, event: *const jwtgate_event)>;

struct Delivery {
    stop: std::sync::Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

static DELIVERY: Mutex<Option<Delivery>> = Mutex::new(None);

/// The `ctx` pointer crosses to the delivery thread; the caller promised it may
/// (`jwtgate_events_set_callback`'s contract).
struct Ctx(*mut c_void);
// SAFETY: the API contract makes `ctx` usable from the library's delivery thread.
unsafe impl Send for Ctx {}

fn stop_delivery() {
    let old = DELIVERY.lock().ok().and_then(|mut d| d.take());
    if let Some(d) = old {
        d.stop.store(true, Ordering::SeqCst);
        events::notify_all();
        let _ = d.thread.join();
    }
}

/// Sends the engine's events (audit, key sets) to `callback`, on one thread this library owns
/// (named "jwtgate-events"), never on the engine's I/O threads: background key refreshes are
/// delivered when they happen. Events below `min_severity` (10 debug, 20 info, 30 warn,
/// 40 error) are not recorded. A NULL `callback` stops the delivery and waits for the thread
/// (call it before unloading the library or freeing `ctx`). Replaces any earlier callback.
/// `ctx` is passed back as is; it must be usable from that thread. Process-wide: every
/// validator's events.
#[unsafe(no_mangle)]
pub extern "C" fn jwtgate_events_set_callback(
    callback: jwtgate_event_callback,
    ctx: *mut c_void,
    min_severity: c_int,
) -> jwtgate_result {
    let ctx = Ctx(ctx);
    call(std::ptr::null_mut(), move || {
        stop_delivery();
        let Some(callback) = callback else {
            return Ok(());
        };
        events::install();
        events::set_min_severity(min_severity.clamp(0, 255) as u8);
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::Builder::new()
            .name("jwtgate-events".to_string())
            .spawn(move || {
                let ctx = ctx;
                while !stopping.load(Ordering::SeqCst) {
                    let drained = events::wait(Duration::from_millis(500));
                    for e in drained.events {
                        deliver(callback, ctx.0, &e);
                    }
                }
            })
            .map_err(|e| jwtgate_error::new(jwtgate_result::JWTGATE_INTERNAL, e.to_string()))?;
        if let Ok(mut d) = DELIVERY.lock() {
            *d = Some(Delivery { stop, thread });
        }
        Ok(())
    })
}

fn deliver(
    callback: unsafe extern "C" fn(*mut c_void, *const jwtgate_event),
    ctx: *mut c_void,
    e: &events::Event,
) {
    let fields: serde_json::Map<String, serde_json::Value> = e
        .fields
        .iter()
        .map(|(k, v)| ((*k).to_string(), v.clone().into()))
        .collect();
    let c = |s: &str| CString::new(s.replace('\0', "?")).unwrap_or_default();
    let (level, target, message) = (c(e.level), c(e.target), c(&e.message));
    let fields = c(&serde_json::Value::Object(fields).to_string());
    let event = jwtgate_event {
        severity: c_int::from(e.severity),
        level: level.as_ptr(),
        target: target.as_ptr(),
        message: message.as_ptr(),
        fields_json: fields.as_ptr(),
        time: e.time,
    };
    // A panic unwinding out of C is not ours to catch; a C callback cannot unwind into Rust.
    // SAFETY: the callback's contract; `event` and its strings live until it returns.
    unsafe { callback(ctx, &event) };
}

/// Waits up to `timeout_ms` for engine events and takes them: `*out` receives
/// `{"dropped": n, "events": [{"level", "severity", "target", "message", "fields", "time"}]}`
/// (owned by the caller, `jwtgate_string_free`), possibly with no event. For hosts that
/// deliver from a thread of their own (the Go package's goroutine). Records events of
/// `min_severity` and above from the first call on.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_events_wait(
    timeout_ms: u32,
    min_severity: c_int,
    out: *mut *mut c_char,
) -> jwtgate_result {
    call(std::ptr::null_mut(), || {
        out_ptr(out, "out")?;
        events::install();
        let severity = min_severity.clamp(0, 255) as u8;
        if events::min_severity() != severity {
            events::set_min_severity(severity);
        }
        let drained = events::wait(Duration::from_millis(u64::from(timeout_ms)));
        let list: Vec<serde_json::Value> = drained.events.iter().map(|e| e.to_json()).collect();
        let doc = serde_json::json!({ "dropped": drained.dropped, "events": list });
        owned_out(doc.to_string(), out)
    })
}

/// Wakes every `jwtgate_events_wait` now (a host stopping its delivery).
#[unsafe(no_mangle)]
pub extern "C" fn jwtgate_events_wake() {
    events::notify_all();
}
