//! The bearer check of the internal API as an extractor: [`Authed`] is the client whose key
//! the request carries (compared in constant time with every configured key) and the component
//! of the path, which that client may use. 401 (with `WWW-Authenticate: Bearer`) without a key
//! or with an unknown one, 403 for a component the client may not use, 404 for a component not
//! served.

use std::sync::Arc;

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use subtle::ConstantTimeEq;
use utoipa::IntoParams;

use crate::config::ApiClient;
use crate::error::ApiError;
use crate::state::{AppState, Component};

/// The `{component}` of a `/v1/{component}/…` path, as the API document describes it (the
/// [`Authed`] extractor reads it from the raw path parameters).
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Describes the parameter; never built.
pub(crate) struct ComponentPath {
    /// The component appid.
    #[param(pattern = "^[A-Za-z0-9_]{1,32}$")]
    component: String,
}

/// The `{appid}` of a `/v1/{component}/authorizers/{appid}…` path (after [`ComponentPath`]).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct AccountPath {
    /// The authorizer appid.
    #[param(pattern = "^[A-Za-z0-9_]{1,32}$")]
    pub appid: String,
}

/// An authenticated request to a `/v1/{component}/…` route.
pub(crate) struct Authed {
    /// The client whose key the request carries.
    pub client: Arc<ApiClient>,
    /// The path's component, which that client may use.
    pub component: Arc<Component>,
}

impl Authed {
    /// `Ok` if the client may change tokens or records (refresh, import, delete); else the
    /// 403 a read-only client gets.
    // The error is the finished HTTP answer.
    #[allow(clippy::result_large_err)]
    pub(crate) fn may_write(&self) -> Result<(), Response> {
        if self.client.scope.may_write() {
            return Ok(());
        }
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "this client is read-only: it may read tokens and accounts, not refresh, import or delete",
            "use a client with scope = \"full\" for this, or report a rejected token with {\"stale\": …} from such a client",
        )
        .into_response())
    }
}

impl FromRequestParts<Arc<AppState>> for Authed {
    /// The finished HTTP answer.
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        // Malformed (not UTF-8 once decoded): the answer `Path` gives, as before the extractor.
        let params = RawPathParams::from_request_parts(parts, app)
            .await
            .map_err(|e| {
                (
                    StatusCode::BAD_REQUEST,
                    format!("Invalid URL: {}", e.body_text()),
                )
                    .into_response()
            })?;
        let component = params
            .iter()
            .find(|(k, _)| *k == "component")
            .map_or("", |(_, v)| v);
        authenticate(app, &parts.headers, component)
    }
}

/// The client whose key `headers` carry, if it may use `component`, and that component.
// The error is the finished HTTP answer.
#[allow(clippy::result_large_err)]
fn authenticate(app: &AppState, headers: &HeaderMap, component: &str) -> Result<Authed, Response> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(presented) = presented else {
        return Err(unauthorized());
    };
    // Compare against every key (no early exit), so timing tells nothing about which matched.
    let mut found = None;
    for c in &app.clients {
        let eq: bool = c
            .key
            .expose_secret()
            .as_bytes()
            .ct_eq(presented.as_bytes())
            .into();
        if eq && found.is_none() {
            found = Some(c);
        }
    }
    let Some(client) = found else {
        return Err(unauthorized());
    };
    if !client.may_use(component) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "this client may not use that component",
            "add the component to the client's `components` list",
        )
        .into_response());
    }
    let Some(comp) = app.component(component).cloned() else {
        return Err(ApiError::unknown_component().into_response());
    };
    Ok(Authed {
        client: client.clone(),
        component: comp,
    })
}

/// 401 with `WWW-Authenticate: Bearer`.
fn unauthorized() -> Response {
    let mut r = ApiError::new(
        StatusCode::UNAUTHORIZED,
        "missing or unknown bearer key",
        "send Authorization: Bearer <key> with a key from a [[client]] section",
    )
    .into_response();
    r.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    r
}
