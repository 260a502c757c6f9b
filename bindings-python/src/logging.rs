//! The core's `tracing` events (targets `jwtgate::audit`, `jwtgate::jwks`, ...) to Python's
//! `logging` logger `jwtgate`.
//!
//! Events are never forwarded from inside the core. They are queued, and the queue is drained
//! into Python by the binding once the core call has returned, on the calling Python thread:
//! - a core lock may be held while an event is emitted; calling Python then could release the
//!   GIL to another thread that waits for that same lock while holding the GIL (deadlock);
//! - events from the core's tokio threads (background key fetches) must not touch the
//!   interpreter at all: attaching a foreign thread while the interpreter finalizes kills or
//!   crashes it on CPython < 3.13 (the same exit crash as pyo3-async-runtimes#40). They wait in
//!   the queue for the next call into jwtgate, or for the `atexit` flush.
//!
//! The level filter is Python's effective level of `jwtgate`, read before each call that goes
//! past the result cache (a hit emits nothing) and cached for the tokio threads.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;
use tracing::field::{Field, Visit};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber, span};

/// Records kept while no Python thread drains them; older ones are dropped and counted.
const QUEUE_LIMIT: usize = 1024;

/// Python's numeric levels (`logging.DEBUG` = 10, ...); `TRACE` maps below `DEBUG`.
fn python_level(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 40,
        Level::WARN => 30,
        Level::INFO => 20,
        Level::DEBUG => 10,
        Level::TRACE => 5,
    }
}

struct Record {
    level: u8,
    target: &'static str,
    message: String,
    fields: Vec<(&'static str, String)>,
}

static QUEUE: Mutex<VecDeque<Record>> = Mutex::new(VecDeque::new());
static PENDING: AtomicBool = AtomicBool::new(false);
static DROPPED: AtomicU64 = AtomicU64::new(0);
/// Python's effective level of the `jwtgate` logger (`logging.WARNING` until first read).
static LEVEL: AtomicU8 = AtomicU8::new(30);
static LOGGER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn logger(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    LOGGER
        .get_or_try_init(py, || {
            py.import("logging")?
                .call_method1("getLogger", ("jwtgate",))
                .map(Bound::unbind)
        })
        .map(|l| l.bind(py))
}

/// Installs the forwarding subscriber (once per process; a second module instance keeps the
/// first one's).
pub(crate) fn install(py: Python<'_>) {
    refresh_level(py);
    let _ = tracing::subscriber::set_global_default(PythonLogging);
}

/// Re-reads the `jwtgate` logger's effective level. Call with no core lock held.
pub(crate) fn refresh_level(py: Python<'_>) {
    let level = logger(py)
        .and_then(|l| l.call_method0("getEffectiveLevel"))
        .and_then(|l| l.extract::<u32>());
    if let Ok(level) = level {
        LEVEL.store(level.min(u8::MAX.into()) as u8, Ordering::Relaxed);
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
    if PENDING.load(Ordering::Relaxed) {
        drain(py);
    }
}

/// Forwards every queued record to `logging.getLogger("jwtgate")`, in order.
pub(crate) fn drain(py: Python<'_>) {
    // Take the records out first: no Rust lock is held while Python runs.
    let records: Vec<Record> = {
        let Some(mut queue) = QUEUE.try_lock() else {
            // Held by a thread that no longer exists (fork) or busy right now: next time.
            return;
        };
        PENDING.store(false, Ordering::Relaxed);
        queue.drain(..).collect()
    };
    let dropped = DROPPED.swap(0, Ordering::Relaxed);
    let Ok(logger) = logger(py) else { return };
    if dropped > 0 {
        let _ = logger.call_method1(
            "warning",
            (format!(
                "{dropped} jwtgate log records were dropped while no Python thread called jwtgate"
            ),),
        );
    }
    for record in records {
        // A failing handler is logging's business (it reports through `handleError`); an
        // exception escaping here must not replace the caller's result.
        if let Err(e) = forward(py, logger, record) {
            e.write_unraisable(py, Some(logger));
        }
    }
}

fn forward(py: Python<'_>, logger: &Bound<'_, PyAny>, record: Record) -> PyResult<()> {
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
    logger.call_method("log", (record.level, "%s", text), Some(&kwargs))?;
    Ok(())
}

fn enqueue(record: Record) {
    // Bounded wait: a lock left held by a thread that does not exist after fork() must not
    // stall an I/O thread (and the key fetch it runs) for good. A record is cheaper to lose.
    let Some(mut queue) = QUEUE.try_lock_for(Duration::from_millis(20)) else {
        DROPPED.fetch_add(1, Ordering::Relaxed);
        PENDING.store(true, Ordering::Relaxed);
        return;
    };
    if queue.len() >= QUEUE_LIMIT {
        queue.pop_front();
        DROPPED.fetch_add(1, Ordering::Relaxed);
    }
    queue.push_back(record);
    PENDING.store(true, Ordering::Relaxed);
}

struct PythonLogging;

fn ours(metadata: &Metadata<'_>) -> bool {
    metadata.target().starts_with("jwtgate")
}

impl Subscriber for PythonLogging {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        // `sometimes`: the Python level can change at run time; `enabled` decides per event.
        if ours(metadata) && metadata.is_event() {
            Interest::sometimes()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        ours(metadata) && python_level(metadata.level()) >= LEVEL.load(Ordering::Relaxed)
    }

    fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
        span::Id::from_u64(1)
    }

    fn record(&self, _: &span::Id, _: &span::Record<'_>) {}

    fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}

    fn event(&self, event: &Event<'_>) {
        let metadata = event.metadata();
        let mut visitor = Fields::default();
        event.record(&mut visitor);
        enqueue(Record {
            level: python_level(metadata.level()),
            target: metadata.target(),
            message: visitor.message,
            fields: visitor.fields,
        });
    }

    fn enter(&self, _: &span::Id) {}

    fn exit(&self, _: &span::Id) {}
}

#[derive(Default)]
struct Fields {
    message: String,
    fields: Vec<(&'static str, String)>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_owned();
        } else {
            self.fields.push((field.name(), value.to_owned()));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.message = text;
        } else {
            self.fields.push((field.name(), text));
        }
    }
}
