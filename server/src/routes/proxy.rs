//! The token-injecting proxy on the internal listener:
//! `ANY /v1/{component}/authorizers/{appid}/proxy/{*path}` (the account's access token) and
//! `ANY /v1/{component}/component/proxy/{*path}` (the component token) forward `GET` and
//! `POST` requests to the component's WeChat API base with the right token added (a caller's
//! `access_token`, `component_access_token` or `authorizer_access_token` is dropped), the
//! query, body and content type passed through (JSON, binary, multipart), and WeChat's answer
//! returned as it is: its status, content type and bytes (capped by the client's response
//! cap; over it, 502).
//!
//! On 40001/40014/42001 the token is compare-and-expired (N rejections of one token, one
//! refresh) and the request sent once more with the new one — only when it is idempotent
//! (`X-Wxopen-Idempotent: true`, or a known read: [`KNOWN_READS`]); anything else returns
//! WeChat's answer (`X-Wxopen-Idempotent: false` turns the built-in list off for a request).
//! The client needs `proxy` in its scope; its path rules (`proxy_allow`, `proxy_deny`) and the
//! built-in denials of credential calls are checked first: a refused path is a 403 and no
//! call. A body over `proxy.max_request_bytes` is a 413 and no call.
//!
//! [`KNOWN_READS`]: wxopen_client::wxopen_proto::proxy_rules::KNOWN_READS

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method as HttpMethod, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use wxopen_client::api::{ApiCall, Method};
use wxopen_client::wxopen_proto::proxy_rules::{family, is_known_read, ProxyToken, Refusal};
use wxopen_client::{ForwardOutcome, ForwardRequest};

use crate::auth::Authed;
use crate::error::ApiError;
use crate::scope::Permission;
use crate::state::AppState;

/// The request header that marks a proxied request idempotent (`true`) or not (`false`).
pub const IDEMPOTENT_HEADER: &str = "x-wxopen-idempotent";
/// The answer header set when the request was sent a second time after a rejected token.
pub const RETRIED_HEADER: &str = "x-wxopen-retried";

/// The proxy's two routes (their bodies are capped by `proxy.max_request_bytes`, not by the
/// internal API's body limit).
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/v1/{component}/authorizers/{appid}/proxy/{*path}",
            any(authorizer_proxy),
        )
        .route(
            "/v1/{component}/component/proxy/{*path}",
            any(component_proxy),
        )
        .layer(DefaultBodyLimit::disable())
}

/// The path parameters of a proxy route (`component`, `appid`, `path`).
type Params = Path<std::collections::HashMap<String, String>>;

async fn authorizer_proxy(
    State(app): State<Arc<AppState>>,
    Path(p): Params,
    authed: Authed,
    request: Request,
) -> Response {
    let (Some(appid), Some(path)) = (p.get("appid"), p.get("path")) else {
        return ApiError::bad_request("path: /v1/{component}/authorizers/{appid}/proxy/{api path}")
            .into_response();
    };
    let token = ProxyToken::Authorizer;
    proxy(&app, authed, token, Some(appid), path, request).await
}

async fn component_proxy(
    State(app): State<Arc<AppState>>,
    Path(p): Params,
    authed: Authed,
    request: Request,
) -> Response {
    let Some(path) = p.get("path") else {
        return ApiError::bad_request("path: /v1/{component}/component/proxy/{api path}")
            .into_response();
    };
    proxy(&app, authed, ProxyToken::Component, None, path, request).await
}

/// Whether the request says it is idempotent: the header if present (`true`/`false`), else
/// the built-in list of known reads.
// The error is the finished HTTP answer.
#[allow(clippy::result_large_err)]
fn idempotent(headers: &HeaderMap, path: &str) -> Result<bool, Response> {
    match headers.get(IDEMPOTENT_HEADER).map(HeaderValue::to_str) {
        None => Ok(is_known_read(path)),
        Some(Ok(v)) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(Ok(v)) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(_) => Err(
            ApiError::bad_request(format!("{IDEMPOTENT_HEADER} must be true or false"))
                .into_response(),
        ),
    }
}

async fn proxy(
    app: &AppState,
    authed: Authed,
    token: ProxyToken,
    appid: Option<&str>,
    path: &str,
    request: Request,
) -> Response {
    let comp = authed.component.clone();
    let component = comp.section.appid.as_str();
    let fam = family(path);
    let count = |result: &'static str, errcode: i64| {
        app.metrics
            .proxy_request(component, token.as_str(), fam, result, errcode);
    };
    if let Err(r) = authed.require(Permission::Proxy) {
        return r;
    }
    let method = match *request.method() {
        HttpMethod::GET => Method::Get,
        HttpMethod::POST => Method::Post,
        _ => {
            let mut r = ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "WeChat APIs take GET or POST",
                "send the request as WeChat's documentation says (GET or POST)",
            )
            .into_response();
            r.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
            return r;
        }
    };
    let call = match ApiCall::new(method, path) {
        Ok(c) => c,
        Err(e) => return ApiError::bad_request(e.to_string()).into_response(),
    };
    if let Err(refusal) = authed.client.proxy_rules.check(token, path) {
        count("denied", 0);
        let why = match refusal {
            Refusal::BuiltIn => {
                "this path is never proxied: it mints or replaces credentials the service owns"
            }
            Refusal::Denied => "this client's proxy_deny lists this path",
            _ => "this client's proxy_allow does not list this path",
        };
        return ApiError::new(
            StatusCode::FORBIDDEN,
            why,
            "use the token API for credentials, or change the client's proxy_allow / proxy_deny",
        )
        .into_response();
    }
    let idempotent = match idempotent(request.headers(), path) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let cap = app.config.proxy.max_request_bytes;
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > cap as u64) {
        count("too_large", 0);
        return too_large(cap);
    }
    let bytes: Bytes = match axum::body::to_bytes(body, cap).await {
        Ok(b) => b,
        Err(e) => {
            if over_limit(e.into_inner().as_ref()) {
                count("too_large", 0);
                return too_large(cap);
            }
            return ApiError::bad_request("the request body could not be read; nothing was sent")
                .into_response();
        }
    };
    if method == Method::Get && !bytes.is_empty() {
        return ApiError::bad_request("a GET carries no body").into_response();
    }
    let mut forward = ForwardRequest::new(call.idempotent(idempotent))
        .query(parts.uri.query().unwrap_or("").to_owned());
    if method == Method::Post {
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        forward = forward.body(content_type, bytes);
    }
    let outcome = match appid {
        Some(a) => comp.client.forward_authorizer(a, &forward).await,
        None => comp.client.forward_component(&forward).await,
    };
    match outcome {
        Ok(o) => {
            let errcode = o.answer.errcode.unwrap_or(0);
            count(if o.retried { "retried" } else { "forwarded" }, errcode);
            answer(o)
        }
        Err(e) => {
            count("failed", e.code().unwrap_or(0));
            ApiError::from(e).into_response()
        }
    }
}

/// Whether reading a body failed because it passed the cap (not because the caller went away).
fn over_limit(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(e);
    while let Some(e) = next {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        next = e.source();
    }
    false
}

/// 413 with the cap.
fn too_large(cap: usize) -> Response {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("the request body is larger than proxy.max_request_bytes ({cap} bytes); nothing was sent to WeChat"),
        "send a smaller file, or raise proxy.max_request_bytes",
    )
    .into_response()
}

/// WeChat's answer as it is: status, content type, bytes; `x-wxopen-retried: true` when it
/// is the second attempt's.
fn answer(o: ForwardOutcome) -> Response {
    let status = StatusCode::from_u16(o.answer.status).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut r = Response::new(Body::from(o.answer.body));
    *r.status_mut() = status;
    if let Some(ct) = o
        .answer
        .content_type
        .as_deref()
        .and_then(|c| HeaderValue::from_str(c).ok())
    {
        r.headers_mut().insert(header::CONTENT_TYPE, ct);
    }
    if o.retried {
        r.headers_mut().insert(
            HeaderName::from_static(RETRIED_HEADER),
            HeaderValue::from_static("true"),
        );
    }
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}
