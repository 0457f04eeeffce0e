//! The token routes: `GET /v1/{component}/component/token`,
//! `GET /v1/{component}/authorizers/{appid}/token`, and their compare-and-refresh
//! `POST …/token/refresh` (`{"stale": "<token>"}`: refreshed once however many callers report
//! the same token). Answers carry `expires_in` and `expires_at` and are never cached.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use wxopen_client::{AuthorizerAccessToken, ComponentAccessToken, IssuedToken};

use crate::answer::no_store;
use crate::auth::Authed;
use crate::error::ApiError;
use crate::observe::{self, TokenKind};
use crate::state::{AppState, Component};

/// The answer of every token route: the token with `expires_in` and `expires_at`, or the error
/// (a given-up wait counted).
fn token_answer<T>(
    app: &AppState,
    kind: TokenKind,
    comp: &Component,
    issued: Result<IssuedToken<T>, wxopen_client::Error>,
    expose: impl Fn(&T) -> &str,
) -> Response {
    let field = match kind {
        TokenKind::Component => "component_access_token",
        TokenKind::Authorizer => "authorizer_access_token",
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

/// `GET /v1/{component}/component/token`.
pub(crate) async fn component_token(
    State(app): State<Arc<AppState>>,
    Authed {
        component: comp, ..
    }: Authed,
) -> Response {
    let issued = comp.client.component_access_token_issued().await;
    token_answer(
        &app,
        TokenKind::Component,
        &comp,
        issued,
        ComponentAccessToken::expose_secret,
    )
}

/// `POST /v1/{component}/component/token/refresh`.
///
/// The bearer check is answered after the body is read, as it always was: a body over
/// `MAX_INTERNAL_BODY` is a 413 with or without a key.
pub(crate) async fn component_token_refresh(
    State(app): State<Arc<AppState>>,
    Path(_): Path<String>,
    authed: Result<Authed, Response>,
    body: axum::body::Bytes,
) -> Response {
    let Authed {
        client,
        component: comp,
    } = match authed {
        Ok(a) => a,
        Err(r) => return r,
    };
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
        TokenKind::Component,
        &comp,
        issued,
        ComponentAccessToken::expose_secret,
    )
}

/// `GET /v1/{component}/authorizers/{appid}/token`.
pub(crate) async fn authorizer_token(
    State(app): State<Arc<AppState>>,
    Path((_, appid)): Path<(String, String)>,
    Authed {
        component: comp, ..
    }: Authed,
) -> Response {
    let issued = comp.client.authorizer_access_token_issued(&appid).await;
    token_answer(
        &app,
        TokenKind::Authorizer,
        &comp,
        issued,
        AuthorizerAccessToken::expose_secret,
    )
}

/// `POST /v1/{component}/authorizers/{appid}/token/refresh`.
///
/// Like [`component_token_refresh`], the bearer check is answered after the body is read.
pub(crate) async fn authorizer_token_refresh(
    State(app): State<Arc<AppState>>,
    Path((_, appid)): Path<(String, String)>,
    authed: Result<Authed, Response>,
    body: axum::body::Bytes,
) -> Response {
    let Authed {
        client,
        component: comp,
    } = match authed {
        Ok(a) => a,
        Err(r) => return r,
    };
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
        TokenKind::Authorizer,
        &comp,
        issued,
        AuthorizerAccessToken::expose_secret,
    )
}
