//! What wraps both routers: request ids, a request timeout, and the request's count and log
//! line (written by [`crate::observe::http_request`]: path only, a push's query string carries
//! its signature).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;

use crate::metrics::Metrics;

static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// What the one middleware of a listener needs.
struct Layer {
    listener: &'static str,
    timeout: Duration,
    metrics: Arc<Metrics>,
    /// Request ids: `<prefix>-<counter>`, both hex; the prefix is random per listener.
    prefix: u32,
    next: AtomicU64,
}

/// Wraps `router` with one middleware that does what a stack of layers did: the request id
/// (kept when the caller sent one, else made; echoed on the answer), the request timeout
/// (`408`), the request count and the log line — timed-out requests included. One layer
/// instead of four: each layer polled, boxed or allocated on every request.
pub(crate) fn wrap(
    router: Router,
    timeout: Duration,
    listener: &'static str,
    metrics: Arc<Metrics>,
) -> Router {
    let layer = Arc::new(Layer {
        listener,
        timeout,
        metrics,
        prefix: rand::random(),
        next: AtomicU64::new(1),
    });
    router.layer(axum::middleware::from_fn(
        move |req: Request, next: Next| {
            let layer = layer.clone();
            async move { layer.handle(req, next).await }
        },
    ))
}

impl Layer {
    fn make_id(&self) -> HeaderValue {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let mut buf = [0u8; 8 + 1 + 16];
        let len = hex_id(&mut buf, self.prefix, n);
        HeaderValue::from_bytes(&buf[..len]).unwrap_or(HeaderValue::from_static("0"))
    }

    async fn handle(&self, mut req: Request, next: Next) -> Response {
        // Cheap clones (shared strings and bytes): nothing is allocated here per request.
        let matched = req.extensions().get::<MatchedPath>().cloned();
        let route = matched.as_ref().map_or("unmatched", MatchedPath::as_str);
        let method = req.method().clone();
        let id = match req.headers().get(&X_REQUEST_ID) {
            Some(v) if acceptable_id(v.as_bytes()) => v.clone(),
            // Absent, or not an id we pass on to logs and answers: a new one.
            _ => {
                let v = self.make_id();
                req.headers_mut().insert(X_REQUEST_ID.clone(), v.clone());
                v
            }
        };
        let started = std::time::Instant::now();
        let mut response = match tokio::time::timeout(self.timeout, next.run(req)).await {
            Ok(r) => r,
            Err(_) => StatusCode::REQUEST_TIMEOUT.into_response(),
        };
        if !response.headers().contains_key(&X_REQUEST_ID) {
            response
                .headers_mut()
                .insert(X_REQUEST_ID.clone(), id.clone());
        }
        let status = response.status();
        crate::observe::http_request(
            &self.metrics,
            &crate::observe::HttpRequest {
                listener: self.listener,
                route,
                method: &method,
                status,
                request_id: id.to_str().unwrap_or(""),
                latency: started.elapsed(),
            },
        );
        response
    }
}

/// An incoming `x-request-id` is used only when it is 1 to 64 ASCII letters, digits or `-`:
/// anything else (log-line injection, a megabyte of header, markup) is replaced by our own.
fn acceptable_id(id: &[u8]) -> bool {
    (1..=64).contains(&id.len()) && id.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-')
}

/// Writes `<prefix as 8 hex digits>-<n in hex, no leading zeros>` into `buf`; its length.
fn hex_id(buf: &mut [u8; 25], prefix: u32, n: u64) -> usize {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, b) in buf[..8].iter_mut().enumerate() {
        *b = HEX[((prefix >> (28 - 4 * i)) & 15) as usize];
    }
    buf[8] = b'-';
    let digits = (64 - n.leading_zeros()).div_ceil(4).max(1) as usize;
    for i in 0..digits {
        buf[9 + i] = HEX[((n >> (4 * (digits - 1 - i))) & 15) as usize];
    }
    9 + digits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_plain_incoming_ids_are_kept() {
        let long = "a".repeat(65);
        for (id, kept) in [
            ("caller-chosen-42", true),
            ("A1", true),
            (&"b".repeat(64)[..], true),
            ("", false),
            (&long[..], false),
            ("a b", false),
            ("id\nlevel=ERROR", false),
            ("<script>", false),
            ("a_b", false),
            ("ünicode", false),
        ] {
            assert_eq!(acceptable_id(id.as_bytes()), kept, "{id:?}");
        }
    }

    #[test]
    fn request_ids_are_the_prefix_and_the_counter_in_hex() {
        let mut buf = [0u8; 25];
        for (prefix, n) in [
            (0u32, 0u64),
            (0xdead_beef, 1),
            (7, 0xabc),
            (u32::MAX, u64::MAX),
        ] {
            let len = hex_id(&mut buf, prefix, n);
            assert_eq!(
                std::str::from_utf8(&buf[..len]).unwrap(),
                format!("{prefix:08x}-{n:x}")
            );
        }
    }
}
