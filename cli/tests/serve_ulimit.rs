//! The probe of issue 22, item 3, against the real binary: `wxopen serve` started under
//! `ulimit -n 256`, 300 connections each sending half a request line to the public listener.
//! Before, accepts failed for want of descriptors and a genuine ticket push timed out with
//! nothing in the log; now the connection cap is lowered to fit the limit (and says so), the
//! slow connections are closed after `header_read_timeout_ms`, and the push is answered.
#![cfg(all(feature = "serve", unix))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use common::*;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_ulimit_256_a_flood_of_half_requests_does_not_lose_a_push() {
    let fake = fake().await;
    let dir = temp_dir();
    let config = write_config(dir.path(), &fake, &random_key());
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&config)
        .unwrap();
    writeln!(f, "\n[connections]\nheader_read_timeout_ms = 1000").unwrap();
    drop(f);
    // `sh` lowers the limit and becomes `wxopen serve` (exec): the child is the server.
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("ulimit -n 256 && exec \"$0\" serve --config \"$1\"")
        .arg(env!("CARGO_BIN_EXE_wxopen"))
        .arg(&config)
        .env_remove("WXOPEN_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Both streams, line by line: the addresses come on stderr, the log on stdout.
    let output = Arc::new(Mutex::new(Vec::<String>::new()));
    let (tx, rx) = mpsc::channel();
    let read = |stream: Box<dyn std::io::Read + Send>| {
        let (lines, tx) = (output.clone(), tx.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line.clone());
                lines.lock().unwrap().push(line);
            }
        })
    };
    let readers = [
        read(Box::new(child.stdout.take().unwrap())),
        read(Box::new(child.stderr.take().unwrap())),
    ];
    let (public, internal) = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("not started: {:?}", output.lock().unwrap()));
        if let Some(rest) = line.strip_prefix("wxopen serve: public ") {
            let (p, i) = rest.split_once(" internal ").unwrap();
            break (p.trim().to_owned(), i.trim().to_owned());
        }
    };
    let addr: std::net::SocketAddr = public.trim_start_matches("http://").parse().unwrap();
    let mut flood = Vec::new();
    for _ in 0..300 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /wechat/x/autho").await.unwrap();
        flood.push(s);
    }
    let http = http();
    let routes = Routes::new(&public, &internal, fake.component_appid());
    let (_, _, answer) = push_ticket(&http, &routes, &fake).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, "success"));
    drop(flood);
    let _ = child.kill();
    let _ = child.wait();
    for r in readers {
        let _ = r.join();
    }
    let log = output.lock().unwrap().join("\n");
    assert!(
        log.contains("the open-file limit (ulimit -n) is below"),
        "{log}"
    );
    assert!(!log.contains("cannot accept connections"), "{log}");
}
