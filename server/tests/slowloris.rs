//! The public listener against slowloris (issue 22, item 3), on real sockets — the point is
//! the connections: 300 clients each sending half a request line are closed once
//! `connections.header_read_timeout_ms` passes, a kept-alive connection left idle too, and a
//! genuine ticket push gets through during the flood; past `max_per_listener` the listener
//! waits for slots, which the timeout frees.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wiremock::MockServer;

const SLOW: usize = 300;
/// Far above the configured 1 s timeout: only a connection the server never closes hits it.
const BOUND: Duration = Duration::from_secs(20);

fn addr(url: &str) -> SocketAddr {
    url.trim_start_matches("http://").parse().unwrap()
}

/// A connection that sent half a request line and nothing more.
async fn half_sent(a: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(a).await.unwrap();
    s.write_all(b"GET /wechat/wxcomponent0001/autho")
        .await
        .unwrap();
    s
}

/// Reads until the server closes `s` (EOF or reset); `false` if it is still open at `BOUND`.
async fn closed_by_server(mut s: TcpStream) -> bool {
    let mut buf = [0u8; 4096];
    tokio::time::timeout(BOUND, async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .is_ok()
}

fn open_connections(s: &Running) -> u64 {
    s.metrics
        .counter("wxopen_open_connections", &[("listener", "public")])
}

/// Reads the gauge until it is `want` (at most `BOUND`).
async fn open_connections_become(s: &Running, want: u64) -> u64 {
    let started = Instant::now();
    loop {
        let n = open_connections(s);
        if n == want || started.elapsed() > BOUND {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Closes each connection of `flood` as the server closes it; how many it closed.
async fn closed(flood: Vec<TcpStream>) -> usize {
    let reads: Vec<_> = flood
        .into_iter()
        .map(|c| tokio::spawn(closed_by_server(c)))
        .collect();
    let mut n = 0;
    for r in reads {
        n += usize::from(r.await.unwrap());
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_requests_are_closed_after_the_header_timeout_while_a_push_gets_through() {
    let upstream = MockServer::start().await;
    let s = start_with(&upstream, "[connections]\nheader_read_timeout_ms = 1000").await;
    let public = addr(&s.public);
    let started = Instant::now();
    let mut flood = Vec::with_capacity(SLOW);
    for _ in 0..SLOW {
        flood.push(half_sent(public).await);
    }
    assert_eq!(open_connections_become(&s, SLOW as u64).await, SLOW as u64);
    // A genuine push, while all 300 are held open.
    assert_eq!(
        s.push_ticket("ticket@@@during-the-flood", T0).await,
        (200, "success".into())
    );
    // A kept-alive connection that sent one whole request and then nothing.
    let mut idle = TcpStream::connect(public).await.unwrap();
    idle.write_all(b"GET /wechat/unknown/authorize HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut head = [0u8; 12];
    idle.read_exact(&mut head).await.unwrap();
    assert_eq!(&head, b"HTTP/1.1 404");
    flood.push(idle);

    // Each is closed by the server: not at once, after the timeout.
    assert_eq!(closed(flood).await, SLOW + 1);
    assert!(started.elapsed() >= Duration::from_millis(1000));
    assert_eq!(open_connections_become(&s, 0).await, 0);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_cap_the_listener_waits_for_slots_the_timeout_frees() {
    let upstream = MockServer::start().await;
    let s = start_with(
        &upstream,
        "[connections]\nheader_read_timeout_ms = 1000\nmax_per_listener = 100",
    )
    .await;
    let public = addr(&s.public);
    let mut flood = Vec::with_capacity(SLOW);
    for _ in 0..SLOW {
        flood.push(half_sent(public).await);
    }
    assert_eq!(open_connections_become(&s, 100).await, 100);
    // The push waits in the backlog behind the flood while slow connections time out, a
    // hundred a second, and is then served.
    assert_eq!(
        s.push_ticket("ticket@@@after-the-flood", T0).await,
        (200, "success".into())
    );
    assert!(open_connections(&s) <= 100);
    assert!(
        s.metrics.counter(
            "wxopen_connection_cap_reached_total",
            &[("listener", "public")]
        ) >= 1
    );
    assert_eq!(closed(flood).await, SLOW);
    assert_eq!(open_connections_become(&s, 0).await, 0);
    s.stop().await;
}
