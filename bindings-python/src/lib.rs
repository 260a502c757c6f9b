//! `jwtgate._native`: the Python face's extension module. A thin translation layer over the
//! core: argument conversion, error mapping, GIL handling, log forwarding. The Python package
//! (`python/jwtgate/`) adds the keyword-argument constructor, `validate_async`, `ready_async`,
//! `refresh_keys_async`, `revoke` and the FastAPI integration on top.
//!
//! GIL policy (measured, see `benches/python/RESULTS.md`):
//! - a result-cache hit (~1 µs) runs with the GIL held: releasing and re-taking it costs more
//!   than the hit, and under contention re-taking it can wait a whole switch interval (5 ms);
//! - everything past the cache (signature verification, 20–60 µs for RSA, and any key fetch)
//!   runs inside `py.detach`, so other Python threads keep running meanwhile.

mod claims;
mod convert;
mod edge;
mod errors;
mod logging;

use std::sync::Arc;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::{PyString, PyTuple};

use crate::claims::Claims;
use crate::errors::{malformed_text, to_pyerr};

/// An admin route's answer for Python: `(status, content_type, headers, body)`.
type AdminReply = (u16, &'static str, Vec<(&'static str, String)>, String);

/// The core validator, shared by every Python thread. `jwtgate.Validator` subclasses it.
#[pyclass(frozen, subclass, module = "jwtgate._native", name = "Validator")]
struct Validator {
    core: Arc<jwtgate::Validator>,
}

/// The token as UTF-8 owned by a Python object. That is one copy, made by Python: the
/// abi3-py39 limited API has no borrowed UTF-8 view of a `str` (`PyUnicode_AsUTF8AndSize`
/// joined it in 3.10; Cargo.toml says why the build targets 3.9). The HTTP edge needs none:
/// ASGI headers are `bytes`, read in place (`edge::header_text`). Not a `str` is a
/// `TypeError`; a `str` that is not valid Unicode (lone surrogates) cannot be a compact JWS,
/// so it is a malformed token.
fn token_text(token: &Bound<'_, PyAny>) -> PyResult<PyBackedStr> {
    let Ok(text) = token.cast::<PyString>() else {
        let type_name = token
            .get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| "object".to_owned());
        return Err(PyTypeError::new_err(format!(
            "token must be str, not {type_name}"
        )));
    };
    text.extract::<PyBackedStr>()
        .map_err(|_| malformed_text(token.py()))
}

impl Validator {
    /// Validation without network I/O: a hit returns without releasing the GIL.
    fn local(&self, py: Python<'_>, token: &str) -> PyResult<jwtgate::Validated> {
        if let Some(hit) = self.core.validate_cached(token) {
            logging::drain_pending(py);
            return Ok(hit);
        }
        let core = &self.core;
        logging::detach_local(py, || core.validate_local(token)).map_err(|e| to_pyerr(py, e))
    }
}

#[pymethods]
impl Validator {
    /// Builds a validator from the canonical JSON configuration (docs/config.md).
    #[new]
    fn new(py: Python<'_>, config_json: &str) -> PyResult<Self> {
        let core = jwtgate::Validator::from_json(config_json).map_err(|e| to_pyerr(py, e))?;
        logging::drain_pending(py);
        Ok(Validator {
            core: Arc::new(core),
        })
    }

    /// Validates a token, fetching keys first when needed (bounded by `fetch_timeout`).
    fn validate(&self, py: Python<'_>, token: &Bound<'_, PyAny>) -> PyResult<Claims> {
        let token = token_text(token)?;
        // The hot path: a hit returns here without releasing the GIL.
        if let Some(hit) = self.core.validate_cached(&token) {
            logging::drain_pending(py);
            return Ok(Claims::new(hit));
        }
        let core = &self.core;
        let result = logging::detach(py, || core.validate_blocking(&token));
        result.map(Claims::new).map_err(|e| to_pyerr(py, e))
    }

    /// Validates without any network I/O: from the result cache or with keys already loaded.
    /// Raises `KeysNotLoadedError` where a fetch is needed (and starts loading the keys in the
    /// background when none are loaded yet).
    fn validate_local(&self, py: Python<'_>, token: &Bound<'_, PyAny>) -> PyResult<Claims> {
        let token = token_text(token)?;
        self.local(py, &token).map(Claims::new)
    }

    /// The HTTP integrations' hot path in one call: the bearer token of an `Authorization`
    /// value (`bytes` from ASGI, `str` or `None`), validated as `validate_local` does, then
    /// checked against the route's required `scopes`. `None` when the request carries no
    /// bearer credentials; raises what those three steps raise (`KeysNotLoadedError`: await
    /// the fetch, through `bearer_token` and `validate`).
    fn _authorize(
        &self,
        py: Python<'_>,
        authorization: Option<&Bound<'_, PyAny>>,
        scopes: Vec<PyBackedStr>,
    ) -> PyResult<Option<Claims>> {
        let header = edge::header_text(authorization)?;
        let Some(token) = edge::token_of(py, header.as_deref())? else {
            return Ok(None);
        };
        let validated = self.local(py, token)?;
        validated
            .claims()
            .require_scopes(&scopes)
            .map_err(|e| to_pyerr(py, e))?;
        Ok(Some(Claims::new(validated)))
    }

    /// Loads remote keys now (blocking, bounded by `fetch_timeout`).
    fn ready(&self, py: Python<'_>) -> PyResult<()> {
        let core = &self.core;
        logging::detach(py, || core.ready_blocking()).map_err(|e| to_pyerr(py, e))
    }

    /// Fetches the key sets now, every issuer's or (with `issuer`) that issuer's, unless a fetch
    /// of that set started in the last second (blocking, bounded by `fetch_timeout`). Fails like
    /// `ready`; an issuer that is not configured raises `ConfigError`.
    #[pyo3(signature = (issuer=None))]
    fn refresh_keys(&self, py: Python<'_>, issuer: Option<&str>) -> PyResult<()> {
        let core = &self.core;
        logging::detach(py, || core.refresh_keys_blocking(issuer)).map_err(|e| to_pyerr(py, e))
    }

    /// Drops every cached result; returns how many.
    fn clear_cache(&self, py: Python<'_>) -> usize {
        // Like a revocation's purge it walks every entry: other threads run meanwhile.
        let core = &self.core;
        logging::detach(py, || core.clear_cache())
    }

    /// Revokes a token by `jti` until `until` (Unix seconds; `None`: for the validator's
    /// lifetime). Returns how many cached results were dropped. An empty `jti`, or an `until`
    /// that is not finite or already past, raises `ConfigError` (a `ValueError`): a
    /// revocation never fails open as a success that changes nothing.
    #[pyo3(signature = (jti, until=None))]
    fn revoke_jti(&self, py: Python<'_>, jti: &str, until: Option<f64>) -> PyResult<usize> {
        // Purging the result cache walks every entry: other threads run meanwhile.
        let core = &self.core;
        logging::detach(py, || core.revoke_jti(jti, until)).map_err(|e| to_pyerr(py, e))
    }

    /// Revokes every token of `sub` issued at or before `issued_before` (Unix seconds;
    /// `None`: now). Returns how many cached results were dropped. An empty `sub`, or an
    /// `issued_before` that is not finite, negative or in the future, raises `ConfigError`.
    #[pyo3(signature = (sub, issued_before=None))]
    fn revoke_subject(
        &self,
        py: Python<'_>,
        sub: &str,
        issued_before: Option<f64>,
    ) -> PyResult<usize> {
        let core = &self.core;
        logging::detach(py, || core.revoke_subject(sub, issued_before)).map_err(|e| to_pyerr(py, e))
    }

    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        logging::drain_pending(py);
        convert::serialize(py, &self.core.stats())
    }

    fn metrics_text(&self) -> String {
        self.core.metrics_text()
    }

    fn health<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::serialize(py, &self.core.health())
    }

    /// The Prometheus text's families as data (`jwtgate.prometheus` builds its metrics from
    /// them): `[{"name", "help", "type", "samples": [{"name", "labels", "value"}]}]`.
    fn metric_families<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::serialize(py, &self.core.metric_families())
    }

    /// Answers an admin route (`jwtgate::admin`): `(status, content_type, headers, body)`;
    /// `None` when no route has this method and path. Blocks for `jwks/refresh` (with the GIL
    /// released): call it from a worker thread.
    fn _admin(&self, py: Python<'_>, method: &str, path: &str, body: &[u8]) -> Option<AdminReply> {
        let route = jwtgate::admin::Route::parse(method, path)?;
        let core = &self.core;
        let reply = logging::detach(py, || jwtgate::admin::handle_blocking(core, route, body));
        Some((reply.status, reply.content_type, reply.headers, reply.body))
    }

    fn __repr__(&self) -> String {
        let health = self.core.health();
        // The top-level fields describe only the first issuer: naming it alone would hide the
        // others.
        if health.issuers.len() > 1 {
            let issuers: Vec<&str> = health.issuers.iter().map(|i| i.issuer.as_str()).collect();
            return format!("Validator(issuers={issuers:?})");
        }
        format!(
            "Validator(issuer={:?}, key_source={:?})",
            health.issuer, health.key_source
        )
    }
}

/// `(kind, code, http_status, is_token_fault, is_unavailable, client_description, class)` for
/// every error kind the core knows: the Python exception table is built from it.
/// `client_description` is the core's fixed text for kinds whose message is for operators
/// only (CWE-209: it may name the provider's URL or an OS error); `None` for token faults.
/// `class` is the core's class name (`ErrorKind::class`), one per exception class.
fn error_kinds<'py>(py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
    let rows = jwtgate::ErrorKind::ALL
        .iter()
        .map(|k| {
            (
                k.as_str(),
                k.code(),
                k.http_status(),
                k.is_token_fault(),
                k.is_unavailable(),
                k.client_description(),
                k.class(),
            )
        })
        .collect::<Vec<_>>();
    PyTuple::new(py, rows)
}

/// Forwards log records that tokio threads (background key fetches) queued while no Python
/// thread could take them. Called after every validator call that may have queued some, and
/// at interpreter exit by the package's `atexit` hook.
#[pyfunction]
fn flush_logs(py: Python<'_>) {
    logging::drain(py);
}

/// The admin routes: `[(method, path, needs_token)]` (`jwtgate::admin::ROUTES`).
#[pyfunction]
fn admin_routes() -> Vec<(&'static str, &'static str, bool)> {
    jwtgate::admin::ROUTES
        .iter()
        .filter_map(|(m, p)| jwtgate::admin::Route::parse(m, p).map(|r| (*m, *p, r.needs_token())))
        .collect()
}

/// Raises `ConfigError` unless `scope` is one scope token (no default, no way to disable).
#[pyfunction]
fn admin_check_scope(py: Python<'_>, scope: &str) -> PyResult<()> {
    jwtgate::admin::check_scope(scope).map_err(|e| to_pyerr(py, e))
}

/// A new socket for the package's event thread (`jwtgate._events`): the descriptor to read;
/// the core writes a byte to the other end when an event is queued.
#[pyfunction]
fn _events_fd() -> PyResult<i32> {
    logging::events_fd().map_err(|e| pyo3::exceptions::PyOSError::new_err(e.to_string()))
}

/// Wakes the event thread (so that it sees it must stop).
#[pyfunction]
fn _wake_events() {
    logging::wake();
}

/// For the benchmark only: `False` keeps the GIL during `validate_local`'s signature checks,
/// to measure what releasing it costs and buys (benches/python/bench.py).
#[pyfunction]
fn _set_release_gil(release: bool) {
    logging::RELEASE_GIL.store(release, std::sync::atomic::Ordering::Relaxed);
}

/// Called in a forked child (`os.register_at_fork`, installed by the package): fleet-mode
/// validators restart their revocation subscription before serving a result the parent cached.
#[pyfunction]
fn _after_fork() {
    jwtgate::after_fork();
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    logging::install(m.py());
    m.add("__version__", jwtgate::VERSION)?;
    m.add("ERROR_KINDS", error_kinds(m.py())?)?;
    // Lets benchmarks refuse to time a debug build (the Node face exposes the same fact).
    m.add(
        "BUILD_PROFILE",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
    )?;
    m.add_class::<Validator>()?;
    m.add_class::<Claims>()?;
    m.add_function(wrap_pyfunction!(edge::bearer_token, m)?)?;
    m.add_function(wrap_pyfunction!(edge::edge_answer, m)?)?;
    m.add_function(wrap_pyfunction!(flush_logs, m)?)?;
    m.add_function(wrap_pyfunction!(_set_release_gil, m)?)?;
    m.add_function(wrap_pyfunction!(_after_fork, m)?)?;
    m.add_function(wrap_pyfunction!(admin_routes, m)?)?;
    m.add_function(wrap_pyfunction!(admin_check_scope, m)?)?;
    m.add_function(wrap_pyfunction!(_events_fd, m)?)?;
    m.add_function(wrap_pyfunction!(_wake_events, m)?)?;
    Ok(())
}
