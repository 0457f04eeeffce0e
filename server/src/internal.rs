//! The internal listener: the token API (the "中控" server other services read tokens from),
//! health and metrics. Every `/v1/{component}/…` route takes `Authorization: Bearer <key>` of
//! a configured client, checked by the [`Authed`] extractor.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use wxopen_client::{
    AuthorizerAccessToken, AuthorizerRefreshToken, AuthorizerSummary, ComponentAccessToken,
    IssuedToken,
};

use crate::app::{AppState, Component};
use crate::auth::Authed;
use crate::error::ApiError;
use crate::metrics::name;
use crate::observe::{self, TokenKind};

/// Most accounts one import request may carry.
pub const MAX_IMPORT: usize = 100;
/// Largest internal request body.
pub const MAX_INTERNAL_BODY: usize = 256 * 1024;

pub(crate) fn router(state: Arc<AppState>) -> Router {
    let timeout = state.config.request_timeout;
    let metrics = state.metrics.clone();
    let routes = Router::new()
        .route("/v1/{component}/component/token", get(component_token))
        .route(
            "/v1/{component}/component/token/refresh",
            post(component_token_refresh),
        )
        .route("/v1/{component}/authorizers", get(list_authorizers))
        .route(
            "/v1/{component}/authorizers/import",
            post(import_authorizers),
        )
        .route("/v1/{component}/authorizers/{appid}", get(get_authorizer))
        .route(
            "/v1/{component}/authorizers/{appid}",
            delete(delete_authorizer),
        )
        .route(
            "/v1/{component}/authorizers/{appid}/token",
            get(authorizer_token),
        )
        .route(
            "/v1/{component}/authorizers/{appid}/token/refresh",
            post(authorizer_token_refresh),
        )
        .route("/v1/openapi.json", get(openapi))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_INTERNAL_BODY))
        .with_state(state);
    crate::http::wrap(routes, timeout, "internal", metrics)
}

fn no_store(mut r: Response) -> Response {
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The answer of every token route: the token with `expires_in` and `expires_at`, or the error.
fn token_answer<T>(
    app: &AppState,
    field: &str,
    comp: &Component,
    issued: Result<IssuedToken<T>, wxopen_client::Error>,
    expose: impl Fn(&T) -> &str,
) -> Response {
    let kind = if field == "component_access_token" {
        TokenKind::Component
    } else {
        TokenKind::Authorizer
    };
    observe::token_request(
        &app.metrics,
        &comp.section.appid,
        kind,
        issued.as_ref().err(),
    );
    match issued {
        Ok(t) => {
            let now = comp.client.clock().unix_seconds();
            no_store(
                Json(json!({
                    field: expose(&t.token),
                    "expires_in": t.expires_at.saturating_sub(now),
                    "expires_at": t.expires_at,
                }))
                .into_response(),
            )
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// `{"stale": "<the token that failed>"}` (optional). Without `stale` (an empty body or `{}`)
/// the refresh is unconditional; `"stale": null` is refused (400), so a service that lost its
/// token does not refresh everyone's by accident.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RefreshBody {
    #[serde(default, deserialize_with = "some_string")]
    stale: Option<String>,
}

/// A present `stale` must be a string (`null` is not "absent").
fn some_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    String::deserialize(d).map(Some)
}

#[allow(clippy::result_large_err)]
fn refresh_body(body: &[u8]) -> Result<RefreshBody, Response> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(RefreshBody::default());
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!("body: expected {{\"stale\": \"<token>\"}}: {e}"))
            .into_response()
    })
}

async fn component_token(
    State(app): State<Arc<AppState>>,
    Authed {
        component: comp, ..
    }: Authed,
) -> Response {
    let issued = comp.client.component_access_token_issued().await;
    token_answer(
        &app,
        "component_access_token",
        &comp,
        issued,
        ComponentAccessToken::expose_secret,
    )
}

async fn component_token_refresh(
    State(app): State<Arc<AppState>>,
    Authed {
        client,
        component: comp,
    }: Authed,
    body: axum::body::Bytes,
) -> Response {
    let body = match refresh_body(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    observe::refresh_requested(&client.name, &comp.section.appid, None);
    let issued = comp
        .client
        .refresh_component_access_token_if(body.stale.as_deref())
        .await;
    token_answer(
        &app,
        "component_access_token",
        &comp,
        issued,
        ComponentAccessToken::expose_secret,
    )
}

async fn authorizer_token(
    State(app): State<Arc<AppState>>,
    Path((_, appid)): Path<(String, String)>,
    Authed {
        component: comp, ..
    }: Authed,
) -> Response {
    let issued = comp.client.authorizer_access_token_issued(&appid).await;
    token_answer(
        &app,
        "authorizer_access_token",
        &comp,
        issued,
        AuthorizerAccessToken::expose_secret,
    )
}

async fn authorizer_token_refresh(
    State(app): State<Arc<AppState>>,
    Path((_, appid)): Path<(String, String)>,
    Authed {
        client,
        component: comp,
    }: Authed,
    body: axum::body::Bytes,
) -> Response {
    let body = match refresh_body(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    observe::refresh_requested(&client.name, &comp.section.appid, Some(&appid));
    let issued = comp
        .client
        .refresh_authorizer_access_token_if(&appid, body.stale.as_deref())
        .await;
    token_answer(
        &app,
        "authorizer_access_token",
        &comp,
        issued,
        AuthorizerAccessToken::expose_secret,
    )
}

/// One authorizer as the API lists it (no secrets).
#[derive(Debug, Serialize)]
struct AuthorizerJson {
    authorizer_appid: String,
    status: &'static str,
    has_refresh_token: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    access_token_expires_at: Option<u64>,
    authorized_at: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    revoked_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    errcode: Option<i64>,
}

impl From<AuthorizerSummary> for AuthorizerJson {
    fn from(s: AuthorizerSummary) -> Self {
        Self {
            status: if s.authorized {
                "authorized"
            } else {
                "revoked"
            },
            has_refresh_token: s.has_refresh_token,
            access_token_expires_at: s.access_token_expires_at,
            authorized_at: s.authorized_at,
            revoked_reason: s.revoked.as_ref().map(|r| {
                serde_json::to_value(r.reason)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            }),
            errcode: s.revoked.and_then(|r| r.errcode),
            authorizer_appid: s.authorizer_appid,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    after: Option<String>,
    limit: Option<usize>,
}

async fn list_authorizers(
    Authed {
        component: comp, ..
    }: Authed,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(p)) = params else {
        return ApiError::bad_request("query: after=<appid>&limit=<1..1000>").into_response();
    };
    let limit = p.limit.unwrap_or(100);
    if !(1..=wxopen_client::MAX_LIST_PAGE).contains(&limit) {
        return ApiError::bad_request("limit must be 1..=1000").into_response();
    }
    match comp
        .client
        .list_authorizers(p.after.as_deref(), limit)
        .await
    {
        Ok(page) => {
            let next = (page.len() == limit)
                .then(|| page.last().map(|s| s.authorizer_appid.clone()))
                .flatten();
            let items: Vec<AuthorizerJson> = page.into_iter().map(Into::into).collect();
            no_store(Json(json!({"authorizers": items, "next": next})).into_response())
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

async fn get_authorizer(
    Path((_, appid)): Path<(String, String)>,
    Authed {
        component: comp, ..
    }: Authed,
) -> Response {
    match comp.client.authorizer_summary(&appid).await {
        Ok(Some(s)) => no_store(Json(AuthorizerJson::from(s)).into_response()),
        Ok(None) => ApiError::new(
            StatusCode::NOT_FOUND,
            "no such authorizer",
            "the account has not authorized this component",
        )
        .into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

async fn delete_authorizer(
    Path((_, appid)): Path<(String, String)>,
    Authed {
        client,
        component: comp,
    }: Authed,
) -> Response {
    observe::authorizer_deleted(&client.name, &comp.section.appid, &appid);
    match comp.client.forget_authorizer(&appid).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportItem {
    authorizer_appid: String,
    refresh_token: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportBody {
    authorizers: Vec<ImportItem>,
}

async fn import_authorizers(
    Authed {
        client,
        component: comp,
    }: Authed,
    body: Result<Json<ImportBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let body = match body {
        Ok(Json(b)) => b,
        Err(e) => return ApiError::bad_request(format!("body: {}", e.body_text())).into_response(),
    };
    if body.authorizers.is_empty() || body.authorizers.len() > MAX_IMPORT {
        return ApiError::bad_request(format!("send 1 to {MAX_IMPORT} authorizers per request"))
            .into_response();
    }
    observe::importing(&client.name, &comp.section.appid, body.authorizers.len());
    let items = body.authorizers.into_iter().map(|i| {
        (
            i.authorizer_appid,
            AuthorizerRefreshToken::new(i.refresh_token),
        )
    });
    let results: Vec<Value> = comp
        .client
        .import_authorizers(items)
        .await
        .into_iter()
        .map(|(appid, r)| match r {
            Ok(expires_at) => json!({"authorizer_appid": appid, "ok": true, "expires_at": expires_at}),
            Err(e) => {
                let api = ApiError::from(e);
                json!({"authorizer_appid": appid, "ok": false, "error": api.error, "errcode": api.errcode})
            }
        })
        .collect();
    no_store(Json(json!({ "results": results })).into_response())
}

async fn openapi() -> Response {
    Json(crate::openapi::document()).into_response()
}

async fn healthz() -> Response {
    Json(json!({"status": "up"})).into_response()
}

async fn readyz(State(app): State<Arc<AppState>>) -> Response {
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

async fn metrics_text(State(app): State<Arc<AppState>>) -> Response {
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
    }
    let mut r = app.metrics.render(&gauges).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}
