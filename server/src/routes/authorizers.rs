//! The authorizer routes: `GET /v1/{component}/authorizers` (a page, no secrets),
//! `POST …/authorizers/import` (accounts with refresh tokens from another system),
//! `GET` and `DELETE …/authorizers/{appid}`.

use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use wxopen_client::{AuthorizerRefreshToken, AuthorizerSummary};

use crate::answer::no_store;
use crate::auth::{AccountPath, Authed, ComponentPath};
use crate::error::{ApiError, ApiErrors};
use crate::observe;

/// Most accounts one import request may carry (the `maxItems` of `Import.authorizers` in the
/// API document, which a test compares).
pub const MAX_IMPORT: usize = 100;

/// Whether an account still authorizes the component.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum AuthorizerStatus {
    /// Authorized.
    Authorized,
    /// Revoked (unauthorized, or its refresh token is dead).
    Revoked,
    /// The stored record cannot be read (corrupt, or written by a newer wxopen); not refreshed.
    Unreadable,
}

/// One authorizer as the API lists it (no secrets).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Authorizer)]
pub(crate) struct AuthorizerJson {
    authorizer_appid: String,
    status: AuthorizerStatus,
    has_refresh_token: bool,
    /// When its access token expires (Unix seconds), if one is stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    access_token_expires_at: Option<u64>,
    /// When the authorization was last confirmed (Unix seconds).
    authorized_at: u64,
    /// Why it was revoked.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    revoked_reason: Option<String>,
    /// WeChat's errcode that revoked it, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    errcode: Option<i64>,
    /// The permission-set ids (`funcscope_category.id`) the account grants, sorted, as the
    /// last `api_query_auth` or `api_get_authorizer_info` reported them; absent when none
    /// has yet (an imported or recovered account).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    func_info: Option<Vec<i64>>,
    /// The permission sets the last change of the grant took away (an `updateauthorized`
    /// that narrowed it); empty when it took none away.
    func_info_removed: Vec<i64>,
}

impl From<AuthorizerSummary> for AuthorizerJson {
    fn from(s: AuthorizerSummary) -> Self {
        Self {
            status: if s.unreadable {
                AuthorizerStatus::Unreadable
            } else if s.authorized {
                AuthorizerStatus::Authorized
            } else {
                AuthorizerStatus::Revoked
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
            func_info: s.func_info,
            func_info_removed: s.func_info_removed,
            authorizer_appid: s.authorizer_appid,
        }
    }
}

/// One page of authorizers, in appid order.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AuthorizerPage {
    authorizers: Vec<AuthorizerJson>,
    /// The `after` of the next page; `null` on the last one.
    #[schema(required = true)]
    next: Option<String>,
}

/// The query of a page.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListParams {
    /// Start after this authorizer appid.
    #[param(pattern = "^[A-Za-z0-9_]{1,32}$", nullable = false)]
    after: Option<String>,
    /// Page size (default 100).
    #[param(minimum = 1, maximum = 1000, nullable = false)]
    limit: Option<usize>,
}

/// `GET /v1/{component}/authorizers?after=&limit=`.
#[utoipa::path(
    get,
    path = "/v1/{component}/authorizers",
    summary = "One page of authorized accounts (no secrets)",
    params(ComponentPath, ListParams),
    security(("bearer" = [])),
    responses((status = 200, description = "ok", body = AuthorizerPage), ApiErrors),
)]
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
            let authorizers = page.into_iter().map(Into::into).collect();
            no_store(Json(AuthorizerPage { authorizers, next }).into_response())
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// `GET /v1/{component}/authorizers/{appid}`.
#[utoipa::path(
    get,
    path = "/v1/{component}/authorizers/{appid}",
    summary = "One authorized account (no secrets)",
    params(ComponentPath, AccountPath),
    security(("bearer" = [])),
    responses((status = 200, description = "ok", body = AuthorizerJson), ApiErrors),
)]
pub(crate) async fn get_one(
    Path(AccountPath { appid }): Path<AccountPath>,
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
#[utoipa::path(
    delete,
    path = "/v1/{component}/authorizers/{appid}",
    summary = "Forget an account",
    params(ComponentPath, AccountPath),
    security(("bearer" = [])),
    responses((status = 204, description = "deleted"), ApiErrors),
)]
pub(crate) async fn delete(
    Path(AccountPath { appid }): Path<AccountPath>,
    authed: Authed,
) -> Response {
    if let Err(r) = authed.require(crate::scope::Permission::Admin) {
        return r;
    }
    let Authed {
        client,
        component: comp,
    } = authed;
    observe::authorizer_deleted(&client.name, &comp.section.appid, &appid);
    match comp.client.forget_authorizer(&appid).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// An account to import.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ImportItem {
    authorizer_appid: String,
    /// Its `authorizer_refresh_token`.
    refresh_token: String,
}

/// Accounts with refresh tokens from another system.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Import)]
pub(crate) struct ImportBody {
    /// 1 to `MAX_IMPORT` (100) accounts.
    #[schema(min_items = 1, max_items = 100)]
    authorizers: Vec<ImportItem>,
}

/// How the import of one account went.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ImportOutcome {
    authorizer_appid: String,
    ok: bool,
    /// When its new access token expires (Unix seconds); imported accounts only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    expires_at: Option<u64>,
    /// What went wrong; failed accounts only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    error: Option<String>,
    /// WeChat's code (`null` when there is none); failed accounts only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<i64>)]
    errcode: Option<Option<i64>>,
}

/// The outcome of each account, in the order sent.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ImportResult {
    results: Vec<ImportOutcome>,
}

/// `POST /v1/{component}/authorizers/import`.
#[utoipa::path(
    post,
    path = "/v1/{component}/authorizers/import",
    summary = "Import accounts with refresh tokens from another system",
    params(ComponentPath),
    request_body = ImportBody,
    security(("bearer" = [])),
    responses((status = 200, description = "ok", body = ImportResult), ApiErrors),
)]
pub(crate) async fn import(
    authed: Authed,
    body: Result<Json<ImportBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    if let Err(r) = authed.require(crate::scope::Permission::Admin) {
        return r;
    }
    let Authed {
        client,
        component: comp,
    } = authed;
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
    let results = comp
        .client
        .import_authorizers(items)
        .await
        .into_iter()
        .map(|(authorizer_appid, r)| match r {
            Ok(expires_at) => ImportOutcome {
                authorizer_appid,
                ok: true,
                expires_at: Some(expires_at),
                error: None,
                errcode: None,
            },
            Err(e) => {
                let api = ApiError::from(e);
                ImportOutcome {
                    authorizer_appid,
                    ok: false,
                    expires_at: None,
                    error: Some(api.error),
                    errcode: Some(api.errcode),
                }
            }
        })
        .collect();
    no_store(Json(ImportResult { results }).into_response())
}
