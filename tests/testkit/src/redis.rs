//! Real Redis servers for the fleet tests: `redis-server` (Debian package, installed by
//! `make test` when missing) on free loopback ports, in a temporary directory, stopped by
//! PID when dropped. A single node, or a Redis Cluster of masters.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One `redis-server` process.
#[derive(Debug)]
pub struct RedisServer {
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
    cluster: bool,
    /// TLS only (`tests/keys/redis-tls`), on `port`.
    tls: bool,
}

fn free_port() -> u16 {
    // Cluster nodes also listen on port + 10000: keep both in range.
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        if port < 55000 && TcpListener::bind(("127.0.0.1", port + 10000)).is_ok() {
            return port;
        }
    }
}

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "jwtgate-redis-{}-{name}-{}",
        std::process::id(),
        crate::unix_now()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

impl RedisServer {
    /// A single node on a free port.
    pub fn start() -> RedisServer {
        let port = free_port();
        let mut server = RedisServer {
            port,
            dir: scratch_dir(&port.to_string()),
            child: None,
            cluster: false,
            tls: false,
        };
        server.spawn();
        server
    }

    /// A single node that speaks TLS only, with the committed test certificate for
    /// `localhost` (`tests/keys/redis-tls`, signed by a test CA no system trusts).
    pub fn start_tls() -> RedisServer {
        let port = free_port();
        let mut server = RedisServer {
            port,
            dir: scratch_dir(&format!("tls-{port}")),
            child: None,
            cluster: false,
            tls: true,
        };
        server.spawn();
        server
    }

    fn tls_dir() -> PathBuf {
        crate::keys_dir().join("redis-tls")
    }

    fn spawn(&mut self) {
        let mut cmd = Command::new("redis-server");
        if self.tls {
            let tls = RedisServer::tls_dir();
            cmd.args(["--port", "0", "--tls-port", &self.port.to_string()])
                .arg("--tls-cert-file")
                .arg(tls.join("server.crt"))
                .arg("--tls-key-file")
                .arg(tls.join("server.key"))
                .arg("--tls-ca-cert-file")
                .arg(tls.join("ca.crt"))
                .args(["--tls-auth-clients", "no"]);
        } else {
            cmd.arg("--port").arg(self.port.to_string());
        }
        cmd.args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if self.cluster {
            cmd.args(["--cluster-enabled", "yes", "--cluster-node-timeout", "2000"])
                // The surviving masters keep serving their slots when one is lost.
                .args(["--cluster-require-full-coverage", "no"])
                // A replica takes over however long it was out of sync (the test kills a
                // master seconds after the cluster formed; the default refuses to fail over
                // when the replica's link is judged too old).
                .args(["--cluster-replica-validity-factor", "0"])
                .arg("--cluster-config-file")
                .arg(format!("nodes-{}.conf", self.port));
        }
        let child = cmd.spawn().expect(
            "redis-server is not installed (make test installs it: apt-get install redis-server)",
        );
        self.child = Some(child);
        self.wait_up();
    }

    fn wait_up(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.cli(&["PING"]).trim() == "PONG" {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server on port {} did not start", self.port);
    }

    pub fn url(&self) -> String {
        if self.tls {
            format!("rediss://localhost:{}", self.port)
        } else {
            format!("redis://127.0.0.1:{}", self.port)
        }
    }

    /// Kills the server (SIGKILL: no goodbye to the clients).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port (the data is gone: nothing is persisted).
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Runs `redis-cli` against this server and returns its output.
    pub fn cli(&self, args: &[&str]) -> String {
        let mut cmd = Command::new("redis-cli");
        if self.tls {
            cmd.arg("--tls")
                .arg("--cacert")
                .arg(RedisServer::tls_dir().join("ca.crt"));
        }
        let out = cmd
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(args)
            .stderr(Stdio::null())
            .output();
        out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A Redis Cluster of `masters` nodes (no replicas), slots spread evenly.
#[derive(Debug)]
pub struct RedisCluster {
    pub nodes: Vec<RedisServer>,
}

impl RedisCluster {
    pub fn start(masters: usize) -> RedisCluster {
        RedisCluster::start_with_replicas(masters, 0)
    }

    /// `masters` masters with `replicas` replicas each: a killed master fails over to its
    /// replica after the node timeout (2 s).
    pub fn start_with_replicas(masters: usize, replicas: usize) -> RedisCluster {
        let dir = scratch_dir("cluster");
        let nodes: Vec<RedisServer> = (0..masters * (1 + replicas))
            .map(|_| {
                let port = free_port();
                let mut node = RedisServer {
                    port,
                    dir: dir.join(port.to_string()),
                    child: None,
                    cluster: true,
                    tls: false,
                };
                std::fs::create_dir_all(&node.dir).expect("node dir");
                node.spawn();
                node
            })
            .collect();
        let addrs: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let out = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addrs)
            .args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"])
            .output()
            .expect("redis-cli --cluster create");
        assert!(
            out.status.success(),
            "redis-cli --cluster create failed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let cluster = RedisCluster { nodes };
        cluster.wait_ok(|_| true);
        cluster
    }

    /// Waits until every node still running (`alive`) reports `cluster_state:ok`.
    pub fn wait_ok(&self, alive: impl Fn(usize) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self
            .nodes
            .iter()
            .enumerate()
            .filter(|(i, _)| alive(*i))
            .all(|(_, n)| n.cli(&["CLUSTER", "INFO"]).contains("cluster_state:ok"))
        {
            assert!(
                Instant::now() < deadline,
                "the cluster did not reach state ok"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Whether node `i` is a master now.
    pub fn is_master(&self, i: usize) -> bool {
        self.nodes[i].cli(&["ROLE"]).starts_with("master")
    }

    /// The index of a node that is a master now.
    pub fn a_master(&self) -> usize {
        self.nodes
            .iter()
            .position(|n| n.cli(&["ROLE"]).starts_with("master"))
            .expect("a master")
    }

    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }

    /// Moves `slots` hash slots (with their keys) from node `from` to node `to`, as an
    /// operator's resharding does: clients meet `MOVED`/`ASK` redirections meanwhile.
    pub fn move_slots(&self, from: usize, to: usize, slots: usize) {
        let id = |n: &RedisServer| n.cli(&["CLUSTER", "MYID"]).trim().to_string();
        let out = Command::new("redis-cli")
            .arg("--cluster")
            .arg("reshard")
            .arg(format!("127.0.0.1:{}", self.nodes[from].port))
            .args(["--cluster-from", &id(&self.nodes[from])])
            .args(["--cluster-to", &id(&self.nodes[to])])
            .args(["--cluster-slots", &slots.to_string(), "--cluster-yes"])
            .output()
            .expect("redis-cli --cluster reshard");
        assert!(
            out.status.success(),
            "resharding failed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }

    /// Keys held by each node (`DBSIZE`), to show that keys spread over the masters.
    pub fn key_counts(&self) -> Vec<usize> {
        self.nodes
            .iter()
            .map(|n| n.cli(&["DBSIZE"]).trim().parse().unwrap_or(0))
            .collect()
    }
}
