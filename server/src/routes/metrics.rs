//! `GET /metrics`: the Prometheus text of [`crate::metrics`], with the gauges computed at
//! scrape time (the ticket's age, the component token's time to live, the event backlog).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

use crate::metrics::name;
use crate::state::AppState;

/// Most accounts' heads a scrape reads for the backlog gauges.
const BACKLOG_SCAN: usize = 1_000;

/// `GET /metrics`.
#[utoipa::path(
    get,
    path = "/metrics",
    summary = "Prometheus text",
    responses((status = 200, description = "ok", body = String, content_type = "text/plain")),
)]
pub(crate) async fn scrape(State(app): State<Arc<AppState>>) -> Response {
    let mut gauges = Vec::new();
    for (appid, comp) in &app.components {
        let now = comp.client.clock().unix_seconds();
        if let Ok(Some(t)) = comp.client.stored_ticket().await {
            gauges.push((
                name::TICKET_AGE,
                vec![("component", appid.clone())],
                now.saturating_sub(t.create_time) as f64,
            ));
        }
        if let Ok(Some(r)) = comp.client.component_token_record().await {
            let ttl = r.expires_at.saturating_sub(now) as f64;
            gauges.push((
                name::COMPONENT_TOKEN_TTL,
                vec![("component", appid.clone())],
                ttl,
            ));
        }
        // The event log's backlog: accounts with an open event, and the oldest one's age.
        if let Some(outbox) = &comp.outbox {
            if let Ok(heads) = outbox.log.heads(appid, BACKLOG_SCAN).await {
                let now_ms = comp.client.clock().unix_millis();
                let oldest = heads
                    .iter()
                    .map(|e| now_ms.saturating_sub(e.event.received_at_ms))
                    .max()
                    .unwrap_or(0);
                gauges.push((
                    name::EVENTS_BACKLOG_ACCOUNTS,
                    vec![("component", appid.clone())],
                    heads.len() as f64,
                ));
                gauges.push((
                    name::EVENTS_OLDEST_PENDING,
                    vec![("component", appid.clone())],
                    oldest as f64 / 1000.0,
                ));
            }
        }
    }
    let mut r = app.metrics.render(&gauges).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}
