//! The process's Redis connections: one per Redis (or cluster) for every validator that names
//! it, re-created after `fork()` like the HTTP client (`runtime.rs`).
//!
//! Commands never wait for a connection to be made: the single-node client is the `redis`
//! crate's `ConnectionManager` (it connects lazily and reconnects by itself); the cluster
//! client is connected in the background and a command issued before that finishes is a
//! miss, bounded by `redis_timeout` like any other command.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use tokio::sync::watch;

use crate::config::RedisTarget;
use crate::runtime;

/// A connection attempt gives up after this long (the next command starts another).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// At most one cluster connection attempt this often while the cluster is unreachable.
const RECONNECT_EVERY: Duration = Duration::from_millis(500);

/// A connected client, cheap to clone (both kinds multiplex one connection per node).
#[derive(Clone)]
pub(crate) enum Handle {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl Handle {
    pub(crate) async fn query<T: redis::FromRedisValue>(
        &mut self,
        cmd: &redis::Cmd,
    ) -> redis::RedisResult<T> {
        match self {
            Handle::Single(c) => cmd.query_async(c).await,
            Handle::Cluster(c) => cmd.query_async(c).await,
        }
    }
}

pub(crate) struct Connection {
    pid: u32,
    pub(crate) target: RedisTarget,
    single: Option<ConnectionManager>,
    cluster: Option<Cluster>,
}

struct Cluster {
    client: ClusterClient,
    connected: watch::Sender<Option<ClusterConnection>>,
    /// When the last connection attempt started (`None`: none in flight or ever).
    attempt: Mutex<Option<Instant>>,
    connecting: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("target", &self.target.redacted())
            .finish_non_exhaustive()
    }
}

static POOL: Mutex<Vec<Arc<Connection>>> = Mutex::new(Vec::new());

/// The connection of this process to `target` (created on first use, re-created after fork:
/// a parent's sockets must not be shared with its children).
pub(crate) fn shared(target: &RedisTarget) -> Result<Arc<Connection>, String> {
    let pid = std::process::id();
    let mut pool = POOL.lock();
    if pool.iter().any(|c| c.pid != pid) {
        // A forked child: forget the parent's connections without closing them (they belong
        // to the parent's runtime, whose threads do not exist here).
        for parent in pool.drain(..) {
            std::mem::forget(parent);
        }
    }
    if let Some(c) = pool.iter().find(|c| c.target == *target) {
        return Ok(c.clone());
    }
    let connection = Arc::new(Connection::new(pid, target.clone())?);
    pool.push(connection.clone());
    Ok(connection)
}

impl Connection {
    fn new(pid: u32, target: RedisTarget) -> Result<Connection, String> {
        // `redis` errors may quote the URL (and its password): only their category is kept.
        let describe = |e: redis::RedisError| format!("invalid Redis URL ({:?})", e.kind());
        match &target {
            RedisTarget::Single(url) => {
                let client = redis::Client::open(url.as_str()).map_err(describe)?;
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(CONNECT_TIMEOUT))
                    // Reconnects are tried by the next commands, not by a retry loop that would
                    // hold them: one attempt each.
                    .set_number_of_retries(1)
                    .set_max_delay(Duration::from_millis(100));
                // Lazy creation needs the runtime's context (it spawns nothing yet).
                let _guard = runtime::shared().runtime.enter();
                let manager =
                    ConnectionManager::new_lazy_with_config(client, config).map_err(describe)?;
                Ok(Connection {
                    pid,
                    target,
                    single: Some(manager),
                    cluster: None,
                })
            }
            RedisTarget::Cluster(urls) => {
                let client = ClusterClient::builder(urls.iter().map(String::as_str))
                    .connection_timeout(CONNECT_TIMEOUT)
                    // Redirections (MOVED/ASK) and topology refreshes after a failover are
                    // retries: allow a few, a few milliseconds apart. The crate's default waits
                    // at least 1.28 s between retries, far beyond `redis_timeout`, so a command
                    // met by a slot move or a failover would never finish in time.
                    .retries(6)
                    .min_retry_wait(2)
                    .max_retry_wait(50)
                    .retry_wait_formula(2, 2)
                    .build()
                    .map_err(describe)?;
                Ok(Connection {
                    pid,
                    target,
                    single: None,
                    cluster: Some(Cluster {
                        client,
                        connected: watch::channel(None).0,
                        attempt: Mutex::new(None),
                        connecting: std::sync::atomic::AtomicBool::new(false),
                    }),
                })
            }
        }
    }

    /// Made by this process (not inherited through fork).
    pub(crate) fn is_current(&self) -> bool {
        self.pid == std::process::id()
    }

    /// A client to send commands with, waiting at most `wait` for a cluster connection that
    /// is being made. `None`: not connected (the caller goes on alone).
    pub(crate) async fn handle(self: &Arc<Self>, wait: Duration) -> Option<Handle> {
        if let Some(single) = &self.single {
            return Some(Handle::Single(single.clone()));
        }
        let cluster = self.cluster.as_ref()?;
        let mut rx = cluster.connected.subscribe();
        if let Some(c) = rx.borrow().clone() {
            return Some(Handle::Cluster(c));
        }
        self.connect_cluster();
        let connected = tokio::time::timeout(wait, rx.wait_for(Option::is_some)).await;
        match connected {
            Ok(Ok(c)) => c.clone().map(Handle::Cluster),
            _ => None,
        }
    }

    /// Starts connecting to the cluster in the background, at most once per
    /// [`RECONNECT_EVERY`].
    fn connect_cluster(self: &Arc<Self>) {
        use std::sync::atomic::Ordering;
        let Some(cluster) = &self.cluster else { return };
        {
            let mut attempt = cluster.attempt.lock();
            if attempt.is_some_and(|t| t.elapsed() < RECONNECT_EVERY)
                || cluster.connecting.swap(true, Ordering::AcqRel)
            {
                return;
            }
            *attempt = Some(Instant::now());
        }
        let this = self.clone();
        runtime::shared().runtime.spawn(async move {
            let Some(cluster) = &this.cluster else { return };
            let result =
                tokio::time::timeout(CONNECT_TIMEOUT, cluster.client.get_async_connection()).await;
            if let Ok(Ok(connection)) = result {
                cluster.connected.send_replace(Some(connection));
            }
            cluster.connecting.store(false, Ordering::Release);
        });
    }

    /// The URLs to try, in turn, for the subscription (any node of a cluster delivers every
    /// message published on any other).
    pub(crate) fn subscription_urls(&self) -> Vec<String> {
        match &self.target {
            RedisTarget::Single(u) => vec![u.clone()],
            RedisTarget::Cluster(urls) => urls.clone(),
        }
    }
}
