//! What wraps both routers: request ids, a request timeout, one log line per request (path
//! only: a push's query string carries its signature), and request counts.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::timeout::TimeoutLayer;

use crate::metrics::Metrics;

#[derive(Clone)]
struct Ids {
    prefix: u32,
    next: Arc<AtomicU64>,
}

impl MakeRequestId for Ids {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        HeaderValue::from_str(&format!("{:08x}-{n:x}", self.prefix))
            .ok()
            .map(RequestId::new)
    }
}

/// Wraps `router` with the shared layers.
pub(crate) fn wrap(
    router: Router,
    timeout: Duration,
    listener: &'static str,
    metrics: Arc<Metrics>,
) -> Router {
    let ids = Ids {
        prefix: rand::random(),
        next: Arc::new(AtomicU64::new(1)),
    };
    router
        .layer(axum::middleware::from_fn(
            move |req: Request, next: Next| {
                let metrics = metrics.clone();
                async move { observe(req, next, listener, &metrics).await }
            },
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(ids))
}

async fn observe(req: Request, next: Next, listener: &'static str, metrics: &Metrics) -> Response {
    // Cheap clones (shared strings and bytes), so nothing is allocated here per request.
    let matched = req.extensions().get::<MatchedPath>().cloned();
    let route = matched.as_ref().map_or("unmatched", MatchedPath::as_str);
    let method = req.method().clone();
    let id_header = req.headers().get("x-request-id").cloned();
    let id = id_header
        .as_ref()
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let started = std::time::Instant::now();
    let response = next.run(req).await;
    let status = response.status();
    let status = status.as_str();
    metrics.inc(
        "wxopen_http_requests_total",
        &[("listener", listener), ("route", route), ("status", status)],
    );
    tracing::info!(
        request_id = %id,
        listener,
        method = %method,
        route = %route,
        status = %status,
        latency_ms = started.elapsed().as_millis() as u64,
        "http request"
    );
    response
}
