//! A private `redis-server` for the real-process tests: started on a free loopback port in the
//! test's own directory (never a system service), spoken to in RESP over a plain socket, and
//! killed by PID on drop. A test that needs it is `#[ignore = "needs redis-server …"]` and
//! fails, not passes, when it is asked to run and `redis-server` is missing.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use wxopen_fake::harness;

/// A running `redis-server` child.
pub struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    /// Starts `redis-server` in `dir` on a free port (no snapshots, AOF as given) and waits
    /// (at most 10 s) for `PING` to answer.
    pub fn start(dir: &Path, appendonly: bool) -> Self {
        let port = harness::free_port().unwrap();
        let aof: &[&str] = if appendonly {
            &["--appendonly", "yes"]
        } else {
            &["--appendonly", "no"]
        };
        Self::start_on(dir, port, aof)
    }

    /// Starts `redis-server` in `dir` on `port` with `extra` arguments (e.g. `--appendonly
    /// yes --appendfsync always`); what it finds in `dir` (an AOF) is loaded.
    pub fn start_on(dir: &Path, port: u16, extra: &[&str]) -> Self {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(extra)
            .arg("--dir")
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "redis-server could not be started ({e}): install it (Debian: apt-get \
                     install redis-server) or leave the Redis tests ignored"
                )
            });
        let redis = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(reply) = redis.try_command(&["PING"]) {
                assert_eq!(reply, "+PONG");
                return redis;
            }
            assert!(
                Instant::now() < deadline,
                "redis-server never answered PING"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The store URL of this server.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn try_command(&self, args: &[&str]) -> std::io::Result<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        let mut req = format!("*{}\r\n", args.len());
        for a in args {
            req.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        stream.write_all(req.as_bytes())?;
        let mut line = String::new();
        BufReader::new(stream).read_line(&mut line)?;
        Ok(line.trim_end().to_owned())
    }

    /// Sends one command and returns the first line of the reply (`+OK`, `-OOM …`, `:1`…).
    pub fn command(&self, args: &[&str]) -> String {
        self.try_command(args).unwrap()
    }
}

impl Redis {
    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills it with SIGKILL (no shutdown save) and waits for it to exit.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
