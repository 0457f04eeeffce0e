//! The authorizer routes: `GET /v1/{component}/authorizers` (a page, no secrets),
//! `POST …/authorizers/import` (accounts with refresh tokens from another system),
//! `GET` and `DELETE …/authorizers/{appid}`.

use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use wxopen_client::{AuthorizerRefreshToken, AuthorizerSummary};

use crate::answer::no_store;
use crate::auth::Authed;
use crate::error::ApiError;
use crate::observe;

/// Most accounts one import request may carry.
pub const MAX_IMPORT: usize = 100;

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
pub(crate) struct ListParams {
    after: Option<String>,
    limit: Option<usize>,
}

/// `GET /v1/{component}/authorizers?after=&limit=`.
pub(crate) async fn list(
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

/// `GET /v1/{component}/authorizers/{appid}`.
pub(crate) async fn get_one(
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

/// `DELETE /v1/{component}/authorizers/{appid}`.
pub(crate) async fn delete(
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
pub(crate) struct ImportItem {
    authorizer_appid: String,
    refresh_token: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ImportBody {
    authorizers: Vec<ImportItem>,
}

/// `POST /v1/{component}/authorizers/import`.
pub(crate) async fn import(
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
