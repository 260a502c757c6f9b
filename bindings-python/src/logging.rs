//! The core's `tracing` events (targets `jwtgate::audit`, `jwtgate::jwks`, ...) to Python's
//! `logging` logger `jwtgate`.
//!
//! Events are never forwarded from inside the core: the core's `events` module queues them
//! (`jwtgate::events`), and this module forwards them into Python on a Python thread:
//! - after each core call, on the calling thread (what that call logged, in order);
//! - from the package's event thread (`jwtgate._events`), for events of the core's tokio
//!   threads (background key refreshes), delivered when they happen. That thread blocks in
//!   `os.read` on a socket (plain CPython code, no Rust frame: a daemon thread parked there at
//!   exit is what CPython handles), and the core's waker only writes a byte to the other end;
//!   no tokio thread ever touches the interpreter (attaching a foreign thread while the
//!   interpreter finalizes kills or crashes it on CPython < 3.13, pyo3-async-runtimes#40).
//! - a core lock may be held while an event is emitted; calling Python then could release the
//!   GIL to another thread that waits for that same lock while holding the GIL (deadlock):
//!   queueing first avoids it.
//!
//! The level filter is Python's effective level of `jwtgate`, read before each call that goes
//! past the result cache (a hit emits nothing) and handed to the core.

use std::fmt::Write as _;
use std::io::Write as _;
use std::os::fd::{IntoRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use jwtgate::events::{self, Event};
use parking_lot::Mutex;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;

static LOGGER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
/// The write end of the event thread's socket (replaced after fork by a new pair).
static WAKE: Mutex<Option<Arc<UnixStream>>> = Mutex::new(None);

fn logger(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    LOGGER
        .get_or_try_init(py, || {
            py.import("logging")?
                .call_method1("getLogger", ("jwtgate",))
                .map(Bound::unbind)
        })
        .map(|l| l.bind(py))
}

/// Installs the core's forwarding subscriber (once per process; a second module instance
/// keeps the first one's).
pub(crate) fn install(py: Python<'_>) {
    refresh_level(py);
    let _ = events::install();
}

/// A new socket pair for the event thread: the core's waker writes one byte to one end when
/// an event is queued (never blocking: a full socket already means "wake up"); the other end's
/// descriptor is returned for the thread to read. Called once per process, and again in a
/// forked child (the parent's thread keeps its own pair).
pub(crate) fn events_fd() -> std::io::Result<RawFd> {
    let (writer, reader) = UnixStream::pair()?;
    writer.set_nonblocking(true)?;
    let writer = Arc::new(writer);
    *WAKE.lock() = Some(writer.clone());
    events::set_waker(Some(Arc::new(move || {
        let _ = (&*writer).write(b"!");
    })));
    Ok(reader.into_raw_fd())
}

/// Wakes the event thread (to make it see that it must stop).
pub(crate) fn wake() {
    if let Some(w) = WAKE.lock().as_ref() {
        let _ = (&**w).write(b"!");
    }
}

/// Re-reads the `jwtgate` logger's effective level. Call with no core lock held.
pub(crate) fn refresh_level(py: Python<'_>) {
    let level = logger(py)
        .and_then(|l| l.call_method0("getEffectiveLevel"))
        .and_then(|l| l.extract::<u32>());
    if let Ok(level) = level {
        let level = level.min(u8::MAX.into()) as u8;
        if level != events::min_severity() {
            events::set_min_severity(level);
        }
    }
}

/// Runs `f` (core work past the result cache) with the GIL released, then forwards what it
/// logged.
pub(crate) fn detach<T, F>(py: Python<'_>, f: F) -> T
where
    F: Send + FnOnce() -> T,
    T: Send,
{
    refresh_level(py);
    let out = py.detach(f);
    drain_pending(py);
    out
}

/// [`detach`] for network-free work, unless the benchmark turned releasing the GIL off to
/// measure what it costs and buys (`_native._set_release_gil`).
pub(crate) fn detach_local<T, F>(py: Python<'_>, f: F) -> T
where
    F: Send + FnOnce() -> T,
    T: Send,
{
    if RELEASE_GIL.load(Ordering::Relaxed) {
        return detach(py, f);
    }
    refresh_level(py);
    let out = f();
    drain_pending(py);
    out
}

pub(crate) static RELEASE_GIL: AtomicBool = AtomicBool::new(true);

/// Forwards queued records if there are any; one atomic load otherwise (the hit path).
#[inline]
pub(crate) fn drain_pending(py: Python<'_>) {
    if events::pending() {
        drain(py);
    }
}

/// Forwards every queued record to `logging.getLogger("jwtgate")`, in order.
pub(crate) fn drain(py: Python<'_>) {
    // The queue hands the records out first: no Rust lock is held while Python runs.
    let drained = events::drain();
    let Ok(logger) = logger(py) else { return };
    if drained.dropped > 0 {
        let _ = logger.call_method1(
            "warning",
            (format!(
                "{} jwtgate log records were dropped while no Python thread called jwtgate",
                drained.dropped
            ),),
        );
    }
    for record in drained.events {
        // A failing handler is logging's business (it reports through `handleError`); an
        // exception escaping here must not replace the caller's result.
        if let Err(e) = forward(py, logger, record) {
            e.write_unraisable(py, Some(logger));
        }
    }
}

fn forward(py: Python<'_>, logger: &Bound<'_, PyAny>, record: Event) -> PyResult<()> {
    let fields = PyDict::new(py);
    let mut text = record.message;
    if !record.fields.is_empty() {
        text.push_str(" (");
        for (i, (name, value)) in record.fields.iter().enumerate() {
            if i > 0 {
                text.push_str(", ");
            }
            let _ = write!(text, "{name}={value}");
            fields.set_item(*name, value)?;
        }
        text.push(')');
    }
    let extra = PyDict::new(py);
    extra.set_item("jwtgate_target", record.target)?;
    extra.set_item("jwtgate_fields", fields)?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("extra", extra)?;
    // `%s` with the text as an argument: a `%` in a message must not be read as a format.
    logger.call_method("log", (record.severity, "%s", text), Some(&kwargs))?;
    Ok(())
}
