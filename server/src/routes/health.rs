//! The probes: `GET /healthz` (the process is up) and `GET /readyz` (per component: the store
//! answers, the ticket is fresh, the component token is obtainable).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::answer::no_store;
use crate::state::AppState;

/// `GET /healthz`: `{"status": "up"}`.
pub(crate) async fn healthz() -> Response {
    Json(json!({"status": "up"})).into_response()
}

/// `GET /readyz`: 200 when every component is ready, else 503, with the reasons.
pub(crate) async fn readyz(State(app): State<Arc<AppState>>) -> Response {
    let mut ready = true;
    let mut comps = serde_json::Map::new();
    for (appid, comp) in &app.components {
        let now = comp.client.clock().unix_seconds();
        let mut reasons = serde_json::Map::new();
        let ticket = comp.client.stored_ticket().await;
        let store_ok = ticket.is_ok();
        reasons.insert(
            "store".into(),
            json!(if store_ok {
                "ok".to_owned()
            } else {
                "unreachable".to_owned()
            }),
        );
        let ticket_state = match &ticket {
            Ok(Some(t)) if !wxopen_client::tokens::ticket_is_stale(now, t.create_time) => "ok",
            Ok(Some(_)) => "stale (older than 12 h)",
            Ok(None) => "missing (WeChat pushes one every 10 minutes)",
            Err(_) => "unknown",
        };
        reasons.insert("ticket".into(), json!(ticket_state));
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
        ready &= ok;
        reasons.insert("component_token".into(), json!(token_state));
        reasons.insert("ready".into(), json!(ok));
        comps.insert(appid.clone(), Value::Object(reasons));
    }
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    no_store((status, Json(json!({"ready": ready, "components": comps}))).into_response())
}
