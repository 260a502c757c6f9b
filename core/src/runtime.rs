//! The one tokio runtime and HTTP client of the process, started lazily.
//!
//! Fork safety (gunicorn `--preload`, multiprocessing): a forked child has the parent's memory
//! but none of its threads, so a runtime created before `fork()` is dead in the child and its
//! pooled connections belong to the parent. We remember the pid that created the runtime; a
//! child sees a different pid and builds its own runtime and client. The parent's copies are
//! leaked on purpose: dropping them would try to join threads that do not exist.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

pub(crate) struct Shared {
    pid: u32,
    pub runtime: tokio::runtime::Runtime,
    pub http: reqwest::Client,
}

static SHARED: Mutex<Option<Arc<Shared>>> = Mutex::new(None);

/// The runtime and client for this process (created on first use, re-created after fork).
pub(crate) fn shared() -> Arc<Shared> {
    let pid = std::process::id();
    let mut slot = SHARED.lock();
    if let Some(shared) = slot.as_ref() {
        if shared.pid == pid {
            return shared.clone();
        }
    }
    if let Some(parent) = slot.take() {
        std::mem::forget(parent);
    }
    let shared = Arc::new(Shared::new(pid));
    *slot = Some(shared.clone());
    shared
}

impl Shared {
    fn new(pid: u32) -> Shared {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            // Background fetches only: validation itself never runs here.
            .worker_threads(2)
            .thread_name("jwtgate-io")
            .enable_all()
            .build()
            .expect("jwtgate: cannot start the I/O runtime");
        let http = reqwest::Client::builder()
            .user_agent(concat!("jwtgate/", env!("CARGO_PKG_VERSION")))
            // Redirects could downgrade https to http or leave the provider's host; key
            // endpoints do not redirect in practice, so a redirect is an error.
            .redirect(reqwest::redirect::Policy::none())
            .pool_idle_timeout(Duration::from_secs(90))
            .tcp_nodelay(true)
            .build()
            .expect("jwtgate: cannot build the HTTP client");
        Shared { pid, runtime, http }
    }
}

/// Runs `future` on the shared runtime and blocks the calling thread until it finishes.
/// Safe from any thread, including a thread that is itself inside another async runtime
/// (we wait on a std channel, never `block_on`, so tokio's nested-runtime panic cannot occur).
pub(crate) fn block_on<F>(future: F) -> F::Output
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    shared().runtime.spawn(async move {
        let _ = tx.send(future.await);
    });
    rx.recv().expect("jwtgate: the I/O runtime dropped a task")
}
