//! The authorization pages: `GET /wechat/{component}/authorize`, the entry page whose link
//! leads the admin to WeChat's consent page, and `GET /wechat/{component}/authorized`, where
//! WeChat sends the admin back with the `auth_code` (exchanged once, shared with the push).

use std::sync::Arc;

use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use wxopen_client::{AuthCallback, AuthPage, AuthType, AuthUrlOptions};

use crate::answer::{html, html_error};
use crate::error::ApiError;
use crate::pages;
use crate::state::AppState;

/// Longest `state` passed through the authorization flow.
pub const MAX_STATE_LEN: usize = 128;

#[derive(Debug, Deserialize)]
pub(crate) struct AuthorizeParams {
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

/// `GET /wechat/{component}/authorize`: the page with the link to WeChat's consent page.
pub(crate) async fn authorize_page(
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
        Ok(req) => html(pages::authorize(&req.url, &component)),
        Err(e) => {
            let api = ApiError::from(e);
            html_error(api.status(), "Cannot start the authorization", &api.error)
        }
    }
}

/// `GET /wechat/{component}/authorized`: exchanges the `auth_code` WeChat sends the admin
/// back with, then shows the result or redirects to `authorized_redirect`.
pub(crate) async fn authorized(
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
            html(pages::authorized(&info.authorizer_appid, &sets))
        }
        Err(e) => {
            let api = ApiError::from(e);
            html_error(api.status(), "Authorization not completed", &api.error)
        }
    }
}
