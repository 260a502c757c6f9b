//! The engine's audit and key-set events (`tracing` targets `jwtgate::audit`,
//! `jwtgate::jwks`, ...) for the faces: one bounded queue that every face drains into its own
//! logging (Python `logging`, a Node logger, Go `log/slog`, a C callback).
//!
//! An event is never handed to host code where it is emitted: that may be one of the engine's
//! I/O threads (a background key refresh) holding a lock, and host code there can deadlock
//! (Python's GIL against that lock) or crash at exit (attaching a dying interpreter, a
//! finalized Node environment). So [`Forwarder`] only queues the event and signals:
//! - a condition variable, for a face that owns a thread waiting in [`wait`] (the C callback
//!   thread, a Go goroutine);
//! - a waker the face registers ([`set_waker`]), which must only signal and never block (a
//!   byte on Python's socket, a napi threadsafe-function call that schedules a drain on Node's
//!   JS thread).
//!
//! The face then drains the queue on a thread it owns, so background refreshes are delivered
//! when they happen, not at the next call. The queue keeps [`QUEUE_LIMIT`] events; older
//! ones are dropped and counted ([`Drained::dropped`]).

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::{Condvar, Mutex, RwLock};
use serde::Serialize;
use tracing::field::{Field, Visit};
use tracing::subscriber::Interest;
use tracing::{Level, Metadata, Subscriber, span};

/// Events kept while no face drains them.
pub const QUEUE_LIMIT: usize = 1024;

/// One event, with the same fields in every face.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Event {
    /// `error`, `warn`, `info`, `debug` or `trace`.
    pub level: &'static str,
    /// Python's numeric level (`logging.INFO` = 20, ...; trace 5): the faces' common scale.
    pub severity: u8,
    /// `jwtgate::audit`, `jwtgate::jwks`, ...
    pub target: &'static str,
    pub message: String,
    /// The event's fields in order (`event`, `kind`, `endpoint`, `removed`, ...), as text.
    pub fields: Vec<(&'static str, String)>,
    /// Unix time in seconds when it happened.
    pub time: f64,
}

impl Event {
    /// `{"level", "severity", "target", "message", "fields": {...}, "time"}`.
    pub fn to_json(&self) -> serde_json::Value {
        let fields: serde_json::Map<String, serde_json::Value> = self
            .fields
            .iter()
            .map(|(k, v)| ((*k).to_string(), serde_json::Value::String(v.clone())))
            .collect();
        serde_json::json!({
            "level": self.level,
            "severity": self.severity,
            "target": self.target,
            "message": self.message,
            "fields": fields,
            "time": self.time,
        })
    }
}

/// What a drain returns.
#[derive(Debug, Default)]
pub struct Drained {
    pub events: Vec<Event>,
    /// Events lost since the last drain (queue full, or its lock unavailable).
    pub dropped: u64,
}

type Waker = Arc<dyn Fn() + Send + Sync>;

static QUEUE: Mutex<VecDeque<Event>> = Mutex::new(VecDeque::new());
static READY: Condvar = Condvar::new();
static PENDING: AtomicBool = AtomicBool::new(false);
static DROPPED: AtomicU64 = AtomicU64::new(0);
/// The lowest severity recorded (`logging.WARNING` until a face says otherwise).
static MIN_SEVERITY: AtomicU8 = AtomicU8::new(30);
static WAKER: RwLock<Option<Waker>> = RwLock::new(None);

fn severity(level: &Level) -> (u8, &'static str) {
    match *level {
        Level::ERROR => (40, "error"),
        Level::WARN => (30, "warn"),
        Level::INFO => (20, "info"),
        Level::DEBUG => (10, "debug"),
        Level::TRACE => (5, "trace"),
    }
}

/// Installs [`Forwarder`] as the process's `tracing` subscriber. `false` when another one is
/// installed already (a Rust host with its own: it gets the events through that one).
pub fn install() -> bool {
    tracing::subscriber::set_global_default(Forwarder).is_ok()
}

/// Events below `severity` (Python's numeric levels: 10 debug, 20 info, 30 warning, 40 error)
/// are not recorded at all.
pub fn set_min_severity(severity: u8) {
    MIN_SEVERITY.store(severity, Ordering::Relaxed);
    tracing::callsite::rebuild_interest_cache();
}

pub fn min_severity() -> u8 {
    MIN_SEVERITY.load(Ordering::Relaxed)
}

/// Registers (or, with `None`, removes) the function called after an event is queued. It runs
/// on whatever thread emitted the event, possibly with an engine lock held: it must only
/// signal (write a byte, schedule a task), never block or call host code.
pub fn set_waker(waker: Option<Waker>) {
    *WAKER.write() = waker;
}

/// Whether events are waiting (one atomic load).
#[inline]
pub fn pending() -> bool {
    PENDING.load(Ordering::Relaxed)
}

/// Takes every queued event, in order. Never blocks for long: a lock held by a thread that
/// does not exist after `fork()` leaves the events for later.
pub fn drain() -> Drained {
    let Some(mut queue) = QUEUE.try_lock_for(Duration::from_millis(20)) else {
        return Drained::default();
    };
    PENDING.store(false, Ordering::Relaxed);
    Drained {
        events: queue.drain(..).collect(),
        dropped: DROPPED.swap(0, Ordering::Relaxed),
    }
}

/// Waits up to `timeout` for events, then takes them (possibly none). For a face's own
/// delivery thread.
pub fn wait(timeout: Duration) -> Drained {
    {
        let Some(mut queue) = QUEUE.try_lock_for(Duration::from_millis(20)) else {
            std::thread::sleep(timeout.min(Duration::from_millis(100)));
            return Drained::default();
        };
        if queue.is_empty() {
            let _ = READY.wait_for(&mut queue, timeout);
        }
    }
    drain()
}

/// Wakes every [`wait`] (a face stopping its thread).
pub fn notify_all() {
    READY.notify_all();
}

fn enqueue(event: Event) {
    {
        // Bounded wait: an I/O thread must not stall on a lock left held across fork().
        let Some(mut queue) = QUEUE.try_lock_for(Duration::from_millis(20)) else {
            DROPPED.fetch_add(1, Ordering::Relaxed);
            return;
        };
        if queue.len() >= QUEUE_LIMIT {
            queue.pop_front();
            DROPPED.fetch_add(1, Ordering::Relaxed);
        }
        queue.push_back(event);
        PENDING.store(true, Ordering::Relaxed);
    }
    READY.notify_all();
    let waker = WAKER.try_read().and_then(|w| w.clone());
    if let Some(waker) = waker {
        waker();
    }
}

/// The `tracing` subscriber that queues the engine's events (targets `jwtgate*`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Forwarder;

fn ours(metadata: &Metadata<'_>) -> bool {
    metadata.target().starts_with("jwtgate")
}

impl Subscriber for Forwarder {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        // `sometimes`: the level can change at run time; `enabled` decides per event.
        if ours(metadata) && metadata.is_event() {
            Interest::sometimes()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        ours(metadata) && severity(metadata.level()).0 >= MIN_SEVERITY.load(Ordering::Relaxed)
    }

    fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
        span::Id::from_u64(1)
    }

    fn record(&self, _: &span::Id, _: &span::Record<'_>) {}

    fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}

    fn event(&self, event: &tracing::Event<'_>) {
        let metadata = event.metadata();
        let mut visitor = Fields::default();
        event.record(&mut visitor);
        let (severity, level) = severity(metadata.level());
        enqueue(Event {
            level,
            severity,
            target: metadata.target(),
            message: visitor.message,
            fields: visitor.fields,
            time: crate::validator::now(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_queued_woken_and_drained_in_order() {
        let woken = Arc::new(AtomicU64::new(0));
        let w = woken.clone();
        set_waker(Some(Arc::new(move || {
            w.fetch_add(1, Ordering::Relaxed);
        })));
        set_min_severity(20);
        tracing::subscriber::with_default(Forwarder, || {
            tracing::info!(target: "jwtgate::audit", event = "one", removed = 3, "first");
            tracing::debug!(target: "jwtgate::audit", event = "skipped", "below the level");
            tracing::info!(target: "other", "not ours");
            tracing::warn!(target: "jwtgate::jwks", event = "two", "second");
        });
        let waiter = std::thread::spawn(|| wait(Duration::from_secs(2)));
        let drained = waiter.join().expect("waiter");
        set_waker(None);
        let names: Vec<&str> = drained.events.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(names, ["first", "second"]);
        assert_eq!(drained.events[0].fields[1], ("removed", "3".to_string()));
        assert_eq!(drained.events[1].level, "warn");
        assert_eq!(drained.events[0].to_json()["fields"]["event"], "one");
        assert!(woken.load(Ordering::Relaxed) >= 2);
        assert!(!pending());
    }
}
