//! The bearer check of the internal API as an extractor: [`Authed`] is the client whose key
//! the request carries (compared in constant time with every configured key) and the component
//! of the path, which that client may use. 401 (with `WWW-Authenticate: Bearer`) without a key
//! or with an unknown one, 403 for a component the client may not use, 404 for a component not
//! served. A client's scope ([`crate::scope`]) is checked too: every `GET` but the proxy's
//! needs `tokens`; the handlers that refresh, import, delete, replay or proxy check theirs.

use std::sync::Arc;

use axum::extract::{FromRequestParts, MatchedPath, RawPathParams};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use subtle::ConstantTimeEq;
use utoipa::IntoParams;

use crate::config::ApiClient;
use crate::error::ApiError;
use crate::scope::{ClientScope, Permission};
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
    /// `Ok` if the client's scope holds `permission`; else the 403 it gets, naming what is
    /// missing.
    // The error is the finished HTTP answer.
    #[allow(clippy::result_large_err)]
    pub(crate) fn require(&self, permission: Permission) -> Result<(), Response> {
        if self.client.scope.allows(permission) {
            return Ok(());
        }
        let (what, fix) = match permission {
            Permission::Tokens => (
                "this client may not read tokens or accounts (no `tokens` in its scope)",
                "add \"tokens\" to the client's scope",
            ),
            Permission::Refresh => (
                "this client may not refresh tokens (no `refresh` in its scope)",
                "use a client whose scope holds \"refresh\", or report the rejected token with {\"stale\": …} from such a client",
            ),
            Permission::Proxy => (
                "this client may not call WeChat through the proxy (no `proxy` in its scope)",
                "add \"proxy\" to the client's scope",
            ),
            _ => (
                "this client may not import, delete or replay (no `admin` in its scope)",
                "use a client whose scope holds \"admin\" for this",
            ),
        };
        let what = if self.client.scope == ClientScope::READ {
            format!("this client is read-only (scope = \"read\"): {what}")
        } else {
            what.to_owned()
        };
        Err(ApiError::new(StatusCode::FORBIDDEN, what, fix).into_response())
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
        let authed = authenticate(app, &parts.headers, component)?;
        // Every GET outside the proxy reads tokens, accounts or events: `tokens` in the scope.
        let proxied = parts
            .extensions
            .get::<MatchedPath>()
            .is_some_and(|m| m.as_str().contains("/proxy/"));
        if parts.method == Method::GET && !proxied {
            authed.require(Permission::Tokens)?;
        }
        Ok(authed)
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
