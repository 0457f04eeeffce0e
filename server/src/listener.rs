//! The accept loop of each listener, instead of `axum::serve` (which runs hyper without a
//! timer, so without a header-read timeout — tokio-rs/axum#2741 — and holds any number of
//! connections): hyper's HTTP/1 with tokio's timer and `[connections]`' header-read timeout,
//! which also bounds the idle wait between requests of a kept-alive connection; at most
//! `max_per_listener` connections (past it the loop stops accepting until one closes, which
//! the timeout guarantees); the peer address for the rate limits; graceful shutdown.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tower::ServiceExt;

use crate::config::ConnectionsConfig;
use crate::log_gate::LogGate;
use crate::metrics::Metrics;

/// "Listener full" lines: one per 10 s (every time is counted).
static FULL_LINES: LogGate = LogGate::new(Duration::from_secs(10));
/// Failed-accept lines: one per 10 s (every failure is counted).
static ACCEPT_LINES: LogGate = LogGate::new(Duration::from_secs(10));
/// How long the loop waits after an accept failed for want of resources (descriptors,
/// memory) before it tries again, instead of spinning.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// What one listener serves and how.
pub(crate) struct Listen {
    /// `public` or `internal` (the metrics' and logs' `listener`).
    pub name: &'static str,
    pub router: Router,
    pub connections: ConnectionsConfig,
    pub metrics: Arc<Metrics>,
}

/// Serves `listener` until `stop` turns `true`: then stops accepting (new connections are
/// refused), lets each connection finish its request in flight and waits for them all.
pub(crate) async fn serve(
    listener: TcpListener,
    listen: Listen,
    mut stop: watch::Receiver<bool>,
) -> io::Result<()> {
    let Listen {
        name,
        router,
        connections,
        metrics,
    } = listen;
    let max = fitting_cap(connections.max_per_listener, nofile_limit());
    if max < connections.max_per_listener {
        tracing::warn!(target: "wxopen_server::http", listener = name, configured = connections.max_per_listener, max, open_file_limit = nofile_limit().unwrap_or(0), "the open-file limit (ulimit -n) is below twice connections.max_per_listener plus 64: holding at most {max} connections so accepts do not fail for want of descriptors; raise the limit to hold more");
    }
    let slots = Arc::new(Semaphore::new(max));
    let mut open = JoinSet::new();
    loop {
        while open.try_join_next().is_some() {}
        let slot = match slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                metrics.connection_cap_reached(name);
                if let Some(held) = FULL_LINES.pass() {
                    tracing::warn!(target: "wxopen_server::http", listener = name, max, held_back = held, "listener full: not accepting until a connection closes (slow or idle ones close after connections.header_read_timeout_ms)");
                }
                tokio::select! {
                    slot = slots.clone().acquire_owned() => match slot {
                        Ok(slot) => slot,
                        Err(_) => break,
                    },
                    () = stopped(&mut stop) => break,
                }
            }
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    accept_failed(name, &metrics, &e);
                    if !per_connection(&e) {
                        tokio::select! {
                            () = tokio::time::sleep(ACCEPT_BACKOFF) => {},
                            () = stopped(&mut stop) => break,
                        }
                    }
                    continue;
                }
            },
            () = stopped(&mut stop) => break,
        };
        let open_conn = Open::new(name, metrics.clone(), slot);
        open.spawn(connection(
            stream,
            peer,
            router.clone(),
            connections.header_read_timeout,
            open_conn,
            stop.clone(),
        ));
    }
    // From here new connections are refused.
    drop(listener);
    while open.join_next().await.is_some() {}
    Ok(())
}

/// A connection held: its slot, and its count in `wxopen_open_connections` (both given back
/// when it closes, however its task ends).
struct Open {
    name: &'static str,
    metrics: Arc<Metrics>,
    _slot: OwnedSemaphorePermit,
}

impl Open {
    fn new(name: &'static str, metrics: Arc<Metrics>, slot: OwnedSemaphorePermit) -> Self {
        metrics.connections(name, 1);
        Self {
            name,
            metrics,
            _slot: slot,
        }
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.metrics.connections(self.name, -1);
    }
}

/// Serves one connection: HTTP/1 with keep-alive and the header-read timeout; each request
/// carries the peer address (`ConnectInfo`). On shutdown the request in flight finishes and
/// the connection closes.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    header_read_timeout: Duration,
    open: Open,
    mut stop: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        router.clone().oneshot(req)
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .keep_alive(true);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        // Closed, timed out or failed: nothing to tell the client any more.
        _ = conn.as_mut() => {}
        () = stopped(&mut stop) => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
    drop(open);
}

/// Descriptors kept for everything but the two listeners' connections (the store, WeChat,
/// webhooks, logs).
const SPARE_DESCRIPTORS: u64 = 64;

/// The connection cap that fits the open-file limit `nofile`: both listeners full leave
/// [`SPARE_DESCRIPTORS`] free, so a full listener waits for a slot instead of failing accepts
/// (EMFILE) with nothing logged. At least 1; `configured` when the limit is unknown or ample.
fn fitting_cap(configured: usize, nofile: Option<u64>) -> usize {
    let Some(nofile) = nofile else {
        return configured;
    };
    let fits = nofile.saturating_sub(SPARE_DESCRIPTORS) / 2;
    configured
        .min(usize::try_from(fits).unwrap_or(usize::MAX))
        .max(1)
}

/// The soft open-file limit of this process, if known.
#[cfg(unix)]
fn nofile_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
}

/// The soft open-file limit of this process, if known.
#[cfg(not(unix))]
fn nofile_limit() -> Option<u64> {
    None
}

/// Completes once `stop` is `true` (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Whether an accept error concerns only the connection being accepted (it went away): try
/// the next one at once. Anything else (out of descriptors or memory) waits a little.
fn per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
    )
}

/// Counts a failed accept and logs it (at most once per 10 s).
fn accept_failed(name: &'static str, metrics: &Metrics, e: &io::Error) {
    metrics.accept_error(name);
    if per_connection(e) {
        return;
    }
    if let Some(held) = ACCEPT_LINES.pass() {
        tracing::error!(target: "wxopen_server::http", listener = name, error = %e, held_back = held, "cannot accept connections (out of file descriptors? raise `ulimit -n` above twice connections.max_per_listener plus 64); retrying");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_fits_under_the_open_file_limit() {
        // (configured, ulimit -n, cap)
        for (configured, nofile, cap) in [
            (512, None, 512),
            (512, Some(1_048_576), 512),
            (512, Some(1024), 480),
            (512, Some(256), 96),
            (512, Some(64), 1),
            (512, Some(0), 1),
            (100, Some(256), 96),
            (10, Some(256), 10),
        ] {
            assert_eq!(
                fitting_cap(configured, nofile),
                cap,
                "{configured} {nofile:?}"
            );
        }
    }
}
