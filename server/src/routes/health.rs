//! The probes: `GET /healthz` (the process is up) and `GET /readyz` (per component: the store
//! answers, the ticket is fresh, the component token is obtainable).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use crate::answer::no_store;
use crate::state::AppState;

/// The process is up.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Health {
    /// `up`.
    status: &'static str,
}

/// Whether every component is ready, and why not.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Readiness {
    /// Every component is ready.
    ready: bool,
    /// Each component by appid.
    components: BTreeMap<String, ComponentReadiness>,
}

/// One component's readiness.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ComponentReadiness {
    /// `ok` or `unreachable`.
    store: &'static str,
    /// `ok`, `stale (…)`, `missing (…)` or `unknown`.
    ticket: &'static str,
    /// `ok` or `unavailable: <why>`.
    component_token: String,
    /// With a webhook: `ok`, `backlog (oldest pending event N s old)` when the oldest
    /// undelivered event is older than `[events] backlog_alert_secs`, or `unknown`. A backlog
    /// is reported, not counted against readiness: it is the webhook's trouble, and taking
    /// this instance out of service would not deliver anything sooner.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    events: Option<String>,
    /// Store, ticket and component token are `ok`.
    ready: bool,
}

/// `GET /healthz`: `{"status": "up"}`.
#[utoipa::path(
    get,
    path = "/healthz",
    summary = "Up",
    responses((status = 200, description = "up", body = Health)),
)]
pub(crate) async fn healthz() -> Response {
    Json(Health { status: "up" }).into_response()
}

/// `GET /readyz`: 200 when every component is ready, else 503, with the reasons.
#[utoipa::path(
    get,
    path = "/readyz",
    summary = "Store reachable, ticket fresh, component token obtainable",
    responses(
        (status = 200, description = "ready", body = Readiness),
        (status = 503, description = "not ready", body = Readiness),
    ),
)]
pub(crate) async fn readyz(State(app): State<Arc<AppState>>) -> Response {
    let mut ready = true;
    let mut components = BTreeMap::new();
    for (appid, comp) in &app.components {
        let now = comp.client.clock().unix_seconds();
        let ticket = comp.client.stored_ticket().await;
        let store_ok = ticket.is_ok();
        let ticket_state = match &ticket {
            Ok(Some(t)) if !wxopen_client::tokens::ticket_is_stale(now, t.create_time) => "ok",
            Ok(Some(_)) => "stale (older than 12 h)",
            Ok(None) => "missing (WeChat pushes one every 10 minutes)",
            Err(_) => "unknown",
        };
        let token = tokio::time::timeout(
            std::time::Duration::from_secs(2),
            comp.client.component_access_token(),
        )
        .await;
        let token_state = match token {
            Ok(Ok(_)) => "ok".to_owned(),
            Ok(Err(e)) => format!("unavailable: {e}"),
            Err(_) => "unavailable: still refreshing".to_owned(),
        };
        let ok = store_ok && ticket_state == "ok" && token_state == "ok";
        let events = match &comp.outbox {
            None => None,
            Some(o) => Some(match o.log.heads(appid, 1).await {
                Ok(heads) => {
                    let now_ms = comp.client.clock().unix_millis();
                    let age = heads
                        .first()
                        .map_or(0, |e| now_ms.saturating_sub(e.event.received_at_ms) / 1000);
                    if age > app.config.events.backlog_alert.as_secs() {
                        format!("backlog (oldest pending event {age} s old)")
                    } else {
                        "ok".to_owned()
                    }
                }
                Err(_) => "unknown".to_owned(),
            }),
        };
        ready &= ok;
        components.insert(
            appid.clone(),
            ComponentReadiness {
                store: if store_ok { "ok" } else { "unreachable" },
                ticket: ticket_state,
                component_token: token_state,
                events,
                ready: ok,
            },
        );
    }
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    no_store((status, Json(Readiness { ready, components })).into_response())
}
