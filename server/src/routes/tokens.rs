//! The token routes: `GET /v1/{component}/component/token`,
//! `GET /v1/{component}/authorizers/{appid}/token`, and their compare-and-refresh
//! `POST …/token/refresh` (`{"stale": "<token>"}`: refreshed once however many callers report
//! the same token). Answers carry `expires_in` and `expires_at` and are never cached.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wxopen_client::{AuthorizerAccessToken, ComponentAccessToken, IssuedToken};

use crate::answer::no_store;
use crate::auth::{AccountPath, Authed, ComponentPath};
use crate::error::{ApiError, ApiErrors};
use crate::observe::{self, TokenKind};
use crate::state::{AppState, Component};

/// The component access token.
// No `Debug`: it holds the token.
#[derive(Serialize, ToSchema)]
pub(crate) struct ComponentToken {
    component_access_token: String,
    /// Seconds left.
    expires_in: u64,
    /// When it expires (Unix seconds).
    expires_at: u64,
}

/// An authorizer access token.
// No `Debug`: it holds the token.
#[derive(Serialize, ToSchema)]
pub(crate) struct AuthorizerToken {
    authorizer_access_token: String,
    /// Seconds left.
    expires_in: u64,
    /// When it expires (Unix seconds).
    expires_at: u64,
}

/// The JSON of a component token answer.
fn component_json(t: &ComponentAccessToken, expires_in: u64, expires_at: u64) -> ComponentToken {
    ComponentToken {
        component_access_token: t.expose_secret().to_owned(),
        expires_in,
        expires_at,
    }
}

/// The JSON of an authorizer token answer.
fn authorizer_json(t: &AuthorizerAccessToken, expires_in: u64, expires_at: u64) -> AuthorizerToken {
    AuthorizerToken {
        authorizer_access_token: t.expose_secret().to_owned(),
        expires_in,
        expires_at,
    }
}

/// The answer of every token route: the token with `expires_in` and `expires_at` (`answer`
/// builds it from the token, `expires_in`, `expires_at`), or the error (a given-up wait
/// counted).
fn token_answer<T, A: Serialize>(
    app: &AppState,
    kind: TokenKind,
    comp: &Component,
    issued: Result<IssuedToken<T>, wxopen_client::Error>,
    answer: impl Fn(&T, u64, u64) -> A,
) -> Response {
    observe::token_request(
        &app.metrics,
        &comp.section.appid,
        kind,
        issued.as_ref().err(),
    );
    match issued {
        Ok(t) => {
            let now = comp.client.clock().unix_seconds();
            let expires_in = t.expires_at.saturating_sub(now);
            no_store(Json(answer(&t.token, expires_in, t.expires_at)).into_response())
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// What a compare-and-refresh does, as the API document says it.
const REFRESH: &str = "Refreshes only if `stale` is still the current token, so however many callers report the same token, it is refreshed once; either way the current token comes back. Without `stale` (no body, or `{}`) the refresh is unconditional, at most once per `server.min_refresh_interval_secs` (60 s) per token on one instance: within it the current token comes back, not refetched. `\"stale\": null` is refused. A read-only client (`scope = \"read\"`) gets 403.";

/// `true` when an unconditional refresh (no `stale`) of the token comes within the minimum
/// interval of the last one: the current token is answered instead.
fn paced(app: &AppState, comp: &Component, authorizer: Option<&str>, body: &RefreshBody) -> bool {
    if body.stale.is_some() {
        return false;
    }
    let now = comp.client.clock().unix_seconds();
    let paced = !app.refresh_pace.allow(&comp.section.appid, authorizer, now);
    if paced {
        tracing::info!(
            component = %comp.section.appid,
            authorizer_appid = authorizer.unwrap_or(""),
            "unconditional refresh within the minimum interval: the current token is answered"
        );
    }
    paced
}

/// `{"stale": "<the token that failed>"}` (optional). Without `stale` (an empty body or `{}`)
/// the refresh is unconditional; `"stale": null` is refused (400), so a service that lost its
/// token does not refresh everyone's by accident.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Refresh)]
pub(crate) struct RefreshBody {
    /// The token a service saw rejected; refreshed only if it is still the current one (omit
    /// it, or send no body, to refresh unconditionally).
    #[serde(default, deserialize_with = "some_string")]
    #[schema(nullable = false)]
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

/// `GET /v1/{component}/component/token`.
#[utoipa::path(
    get,
    path = "/v1/{component}/component/token",
    summary = "The component access token",
    params(ComponentPath),
    security(("bearer" = [])),
    responses((status = 200, description = "ok", body = ComponentToken), ApiErrors),
)]
pub(crate) async fn component_token(
    State(app): State<Arc<AppState>>,
    Authed {
        component: comp, ..
    }: Authed,
) -> Response {
    let issued = comp.client.component_access_token_issued().await;
    token_answer(&app, TokenKind::Component, &comp, issued, component_json)
}

/// `POST /v1/{component}/component/token/refresh`.
///
/// The bearer check is answered after the body is read, as it always was: a body over
/// `MAX_INTERNAL_BODY` is a 413 with or without a key.
#[utoipa::path(
    post,
    path = "/v1/{component}/component/token/refresh",
    summary = "Compare-and-refresh the component access token",
    description = REFRESH,
    params(ComponentPath),
    request_body = Option<RefreshBody>,
    security(("bearer" = [])),
    responses((status = 200, description = "ok", body = ComponentToken), ApiErrors),
)]
pub(crate) async fn component_token_refresh(
    State(app): State<Arc<AppState>>,
    Path(_): Path<String>,
    authed: Result<Authed, Response>,
    body: axum::body::Bytes,
) -> Response {
    let authed = match authed {
        Ok(a) => a,
        Err(r) => return r,
    };
    if let Err(r) = authed.require(crate::scope::Permission::Refresh) {
        return r;
    }
    let Authed {
        client,
        component: comp,
    } = authed;
    let body = match refresh_body(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    observe::refresh_requested(&client.name, &comp.section.appid, None);
    let issued = if paced(&app, &comp, None, &body) {
        comp.client.component_access_token_issued().await
    } else {
        comp.client
            .refresh_component_access_token_if(body.stale.as_deref())
            .await
    };
    token_answer(&app, TokenKind::Component, &comp, issued, component_json)
}

/// `GET /v1/{component}/authorizers/{appid}/token`.
#[utoipa::path(
    get,
    path = "/v1/{component}/authorizers/{appid}/token",
    summary = "An account's access token",
    params(ComponentPath, AccountPath),
    security(("bearer" = [])),
    responses((status = 200, description = "ok", body = AuthorizerToken), ApiErrors),
)]
pub(crate) async fn authorizer_token(
    State(app): State<Arc<AppState>>,
    Path(AccountPath { appid }): Path<AccountPath>,
    Authed {
        component: comp, ..
    }: Authed,
) -> Response {
    let issued = comp.client.authorizer_access_token_issued(&appid).await;
    token_answer(&app, TokenKind::Authorizer, &comp, issued, authorizer_json)
}

/// `POST /v1/{component}/authorizers/{appid}/token/refresh`.
///
/// Like [`component_token_refresh`], the bearer check is answered after the body is read.
#[utoipa::path(
    post,
    path = "/v1/{component}/authorizers/{appid}/token/refresh",
    summary = "Compare-and-refresh an account's access token",
    description = REFRESH,
    params(ComponentPath, AccountPath),
    request_body = Option<RefreshBody>,
    security(("bearer" = [])),
    responses((status = 200, description = "ok", body = AuthorizerToken), ApiErrors),
)]
pub(crate) async fn authorizer_token_refresh(
    State(app): State<Arc<AppState>>,
    Path(AccountPath { appid }): Path<AccountPath>,
    authed: Result<Authed, Response>,
    body: axum::body::Bytes,
) -> Response {
    let authed = match authed {
        Ok(a) => a,
        Err(r) => return r,
    };
    if let Err(r) = authed.require(crate::scope::Permission::Refresh) {
        return r;
    }
    let Authed {
        client,
        component: comp,
    } = authed;
    let body = match refresh_body(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    observe::refresh_requested(&client.name, &comp.section.appid, Some(&appid));
    let issued = if paced(&app, &comp, Some(&appid), &body) {
        comp.client.authorizer_access_token_issued(&appid).await
    } else {
        comp.client
            .refresh_authorizer_access_token_if(&appid, body.stale.as_deref())
            .await
    };
    token_answer(&app, TokenKind::Authorizer, &comp, issued, authorizer_json)
}
