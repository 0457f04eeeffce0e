//! The public listener: what WeChat and admins' browsers reach.
//!
//! | route | what |
//! |---|---|
//! | `POST /wechat/{component}/component` | the authorization event URL (tickets, authorization events) |
//! | `GET /wechat/{component}/authorize` | the authorization entry page |
//! | `GET /wechat/{component}/authorized` | where WeChat sends the admin back (`auth_code`) |
//! | `POST /wechat/{component}/callback/{authorizer}` | the message and event URL (`$APPID$`) |

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use wxopen_client::{
    AuthCallback, AuthPage, AuthType, AuthUrlOptions, ComponentEvent, Error, PushQuery,
};

use crate::app::{AppState, Component};
use crate::error::ApiError;
use crate::observe::{self, MessageRefusal, PushOutcome};
use crate::pages;

/// Largest push or message body accepted (WeChat's are a few KiB).
pub const MAX_PUSH_BODY: usize = 64 * 1024;
/// Longest `state` passed through the authorization flow.
pub const MAX_STATE_LEN: usize = 128;

pub(crate) fn router(state: Arc<AppState>) -> Router {
    let timeout = state.config.request_timeout;
    let metrics = state.metrics.clone();
    let routes = Router::new()
        .route("/wechat/{component}/component", post(component_push))
        .route("/wechat/{component}/authorize", get(authorize_page))
        .route("/wechat/{component}/authorized", get(authorized))
        .route("/wechat/{component}/callback/{authorizer}", post(callback))
        .layer(DefaultBodyLimit::max(MAX_PUSH_BODY))
        .with_state(state);
    crate::http::wrap(routes, timeout, "public", metrics)
}

fn text(status: StatusCode, body: &'static str) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

async fn component_push(
    State(app): State<Arc<AppState>>,
    Path(component): Path<String>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let outcome = match app.component(&component).cloned() {
        None => PushOutcome::UnknownComponent,
        Some(comp) => push(&app, &comp, query.as_deref(), &body).await,
    };
    observe::push(&app.metrics, &component, &outcome);
    push_answer(outcome)
}

/// Verifies, decrypts and stores a push within the push budget, and starts its follow-ups.
async fn push(
    app: &Arc<AppState>,
    comp: &Arc<Component>,
    query: Option<&str>,
    body: &[u8],
) -> PushOutcome {
    let query = match PushQuery::parse(query.unwrap_or("")) {
        Ok(q) => q,
        Err(e) => return PushOutcome::BadQuery(e),
    };
    let budget = app.config.push_budget;
    match tokio::time::timeout(budget, comp.client.handle_component_push(&query, body)).await {
        Err(_) => PushOutcome::TimedOut { budget },
        Ok(Err(e)) => PushOutcome::Refused(e),
        Ok(Ok(ack)) => {
            let info_type = ack.event.info_type().to_owned();
            follow_up(app, comp, &ack.event, &info_type);
            PushOutcome::Accepted {
                info_type,
                replayed: ack.replayed,
            }
        }
    }
}

/// What a stored authorization event starts: the relay of `unauthorized` to the webhook; for
/// `authorized` and `updateauthorized`, the code's exchange in the background (the redirect
/// path shares it), then the relay, so the host finds the account's tokens stored.
fn follow_up(app: &Arc<AppState>, comp: &Arc<Component>, event: &ComponentEvent, info_type: &str) {
    if let ComponentEvent::Unauthorized {
        authorizer_appid,
        create_time,
        ..
    } = event
    {
        crate::messages::relay_authorization(app, comp, info_type, authorizer_appid, *create_time);
    }
    if let ComponentEvent::Authorized(g) | ComponentEvent::UpdateAuthorized(g) = event {
        let (a, c, code, appid, created, info_type) = (
            app.clone(),
            comp.clone(),
            g.authorization_code.clone(),
            g.authorizer_appid.clone(),
            g.create_time,
            info_type.to_owned(),
        );
        let spawned = app.background.spawn(async move {
            let exchanged = c.exchange(&code).await;
            observe::push_exchange(
                &appid,
                exchanged
                    .as_ref()
                    .map(|info| info.authorizer_appid.as_str()),
            );
            crate::messages::relay_authorization(&a, &c, &info_type, &appid, created);
        });
        if !spawned {
            observe::push_exchange_dropped(&comp.section.appid);
        }
    }
}

/// The answer to a push: `success`, or the error WeChat sees (503 on a timeout, so it pushes
/// again).
fn push_answer(outcome: PushOutcome) -> Response {
    match outcome {
        PushOutcome::UnknownComponent => ApiError::unknown_component().into_response(),
        PushOutcome::BadQuery(e) => ApiError::from(Error::Push(e)).into_response(),
        PushOutcome::TimedOut { .. } => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the push could not be stored in time",
            "the token store is slow or down; WeChat pushes again",
        )
        .into_response(),
        PushOutcome::Refused(e) => ApiError::from(e).into_response(),
        PushOutcome::Accepted { .. } => text(StatusCode::OK, "success"),
    }
}

#[derive(Debug, Deserialize)]
struct AuthorizeParams {
    auth_type: Option<u8>,
    biz_appid: Option<String>,
    category_id_list: Option<String>,
    state: Option<String>,
}

fn valid_state(s: &str) -> bool {
    s.len() <= MAX_STATE_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b))
}

fn html_error(status: StatusCode, title: &str, message: &str) -> Response {
    let mut r = (status, Html(pages::error(title, message))).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn is_mobile(headers: &HeaderMap) -> bool {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ua| {
            ["Mobile", "Android", "iPhone", "iPad", "MicroMessenger"]
                .iter()
                .any(|m| ua.contains(m))
        })
}

async fn authorize_page(
    State(app): State<Arc<AppState>>,
    Path(component): Path<String>,
    headers: HeaderMap,
    params: Result<Query<AuthorizeParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Some(comp) = app.component(&component) else {
        return html_error(
            StatusCode::NOT_FOUND,
            "Unknown component",
            "this service is not configured for that component",
        );
    };
    let Ok(Query(p)) = params else {
        return html_error(
            StatusCode::BAD_REQUEST,
            "Bad request",
            "auth_type must be a number; see the README",
        );
    };
    let Some(base) = &app.config.public_base_url else {
        return html_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Not configured",
            "set server.public_base_url so WeChat can send the admin back",
        );
    };
    let mut redirect = match base.join(&format!("wechat/{component}/authorized")) {
        Ok(u) => u,
        Err(_) => {
            return html_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Not configured",
                "server.public_base_url is not a base URL",
            )
        }
    };
    if let Some(state) = &p.state {
        if !valid_state(state) {
            return html_error(
                StatusCode::BAD_REQUEST,
                "Bad request",
                "state must be at most 128 letters, digits or -_.~",
            );
        }
        redirect.query_pairs_mut().append_pair("state", state);
    }
    let mut opts =
        AuthUrlOptions::new(redirect.as_str()).allow_http(app.config.allow_http_redirect);
    if let Some(code) = p.auth_type {
        let Some(t) = AuthType::from_code(code) else {
            return html_error(StatusCode::BAD_REQUEST, "Bad request", "unknown auth_type");
        };
        opts = opts.auth_type(t);
    }
    if let Some(b) = &p.biz_appid {
        opts = opts.biz_appid(b.clone());
    }
    if let Some(list) = &p.category_id_list {
        let ids: Result<Vec<u32>, _> = list
            .split('|')
            .filter(|s| !s.is_empty())
            .map(str::parse)
            .collect();
        match ids {
            Ok(ids) if ids.len() <= 256 => opts = opts.category_ids(ids),
            _ => {
                return html_error(
                    StatusCode::BAD_REQUEST,
                    "Bad request",
                    "category_id_list is ids joined with |",
                )
            }
        }
    }
    if let Err(e) = opts.validate() {
        return html_error(StatusCode::BAD_REQUEST, "Bad request", &e.to_string());
    }
    let page = if is_mobile(&headers) {
        AuthPage::H5
    } else {
        AuthPage::Pc
    };
    match comp.client.authorization_url(page, &opts).await {
        Ok(req) => {
            let mut r = Html(pages::authorize(&req.url, &component)).into_response();
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(e) => {
            let api = ApiError::from(e);
            html_error(api.status(), "Cannot start the authorization", &api.error)
        }
    }
}

async fn authorized(
    State(app): State<Arc<AppState>>,
    Path(component): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(comp) = app.component(&component).cloned() else {
        return html_error(
            StatusCode::NOT_FOUND,
            "Unknown component",
            "this service is not configured for that component",
        );
    };
    let raw = query.unwrap_or_default();
    let callback = match AuthCallback::from_query(&raw) {
        Ok(c) => c,
        Err(e) => return html_error(StatusCode::BAD_REQUEST, "Bad redirect", &e.to_string()),
    };
    let state = url::form_urlencoded::parse(raw.as_bytes())
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .filter(|s| valid_state(s));
    match comp.exchange(&callback.auth_code).await {
        Ok(info) => {
            if let Some(target) = &comp.section.authorized_redirect {
                let mut target = target.clone();
                target
                    .query_pairs_mut()
                    .append_pair("authorizer_appid", &info.authorizer_appid);
                if let Some(s) = &state {
                    target.query_pairs_mut().append_pair("state", s);
                }
                return Redirect::to(target.as_str()).into_response();
            }
            let sets: Vec<i64> = info
                .func_info
                .iter()
                .map(|f| f.funcscope_category.id)
                .collect();
            let mut r = Html(pages::authorized(&info.authorizer_appid, &sets)).into_response();
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(e) => {
            let api = ApiError::from(e);
            html_error(api.status(), "Authorization not completed", &api.error)
        }
    }
}

async fn callback(
    State(app): State<Arc<AppState>>,
    Path((component, authorizer)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let refusal = match message(&app, &component, &authorizer, query.as_deref(), &body).await {
        Ok(answer) => return answer,
        Err(refusal) => refusal,
    };
    observe::message_refused(&app.metrics, &component, &refusal);
    match refusal {
        MessageRefusal::UnknownComponent => ApiError::unknown_component().into_response(),
        MessageRefusal::BadAuthorizer => {
            ApiError::bad_request("the path's authorizer appid is malformed").into_response()
        }
        MessageRefusal::BadQuery(e) => ApiError::from(Error::Push(e)).into_response(),
        MessageRefusal::Refused(e) => ApiError::from(e).into_response(),
    }
}

/// Checks the path and the query, then hands the message to [`crate::messages::handle`].
async fn message(
    app: &Arc<AppState>,
    component: &str,
    authorizer: &str,
    query: Option<&str>,
    body: &[u8],
) -> Result<Response, MessageRefusal> {
    let comp = app
        .component(component)
        .cloned()
        .ok_or(MessageRefusal::UnknownComponent)?;
    if !wxopen_client::valid_appid(authorizer) {
        return Err(MessageRefusal::BadAuthorizer);
    }
    let query = PushQuery::parse(query.unwrap_or("")).map_err(MessageRefusal::BadQuery)?;
    crate::messages::handle(app, &comp, authorizer, &query, body)
        .await
        .map_err(MessageRefusal::Refused)
}
