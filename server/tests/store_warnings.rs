//! A Redis store whose server runs with `appendonly no` is warned about when the service
//! starts (asked with `INFO persistence` of a real `redis-server`, started here on a free
//! loopback port and stopped by PID). `#[ignore = "needs redis-server …"]` like the store's
//! Redis tests; CI runs it with `--include-ignored`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use wiremock::MockServer;
use wxopen_server::warnings::ConfigWarning;
use wxopen_server::{Server, ServerOptions};

/// A `redis-server` child with `--appendonly <aof>`, killed on drop.
struct Redis {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Redis {
    fn start(aof: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(dir.path())
            .args(["--appendonly", aof, "--save", "", "--daemonize", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "redis-server on PATH (apt-get install redis-server), or leave this test ignored",
            );
        let deadline = Instant::now() + Duration::from_secs(15);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not listen");
            std::thread::sleep(Duration::from_millis(10));
        }
        Self {
            child,
            port,
            _dir: dir,
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn warnings_at_start(upstream: &MockServer, store: &str) -> Vec<ConfigWarning> {
    let text = config_text(&upstream.uri(), "")
        .replace("store = \"memory:\"", &format!("store = \"{store}\""));
    let cfg = wxopen_server::config::parse(&text, std::path::Path::new("/")).unwrap();
    let s = Server::in_process(cfg, ServerOptions::default())
        .await
        .unwrap();
    s.warnings()
        .iter()
        .filter(|w| !matches!(w, ConfigWarning::HttpApiBase { .. }))
        .cloned()
        .collect()
}

#[ignore = "needs redis-server: cargo test -p wxopen-server --test store_warnings -- --include-ignored (CI runs it)"]
#[tokio::test]
async fn a_redis_store_without_appendonly_is_warned_about_at_start() {
    let upstream = MockServer::start().await;
    let without = Redis::start("no");
    let url = format!("redis://127.0.0.1:{}/?prefix=warn", without.port);
    let w = warnings_at_start(&upstream, &url).await;
    assert_eq!(
        w,
        [ConfigWarning::RedisWithoutAppendOnly { store: url.clone() }]
    );
    assert!(w[0].to_string().contains("appendonly yes"), "{}", w[0]);
    let with = Redis::start("yes");
    let url = format!("redis://127.0.0.1:{}/", with.port);
    assert_eq!(warnings_at_start(&upstream, &url).await, []);
}
