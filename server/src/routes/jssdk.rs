//! The JS-SDK routes of an authorized account: `POST /v1/{component}/authorizers/{appid}/jssdk/config`
//! (`{"url": …}` → `wx.config`'s `appId`, `timestamp`, `nonceStr`, `signature`, signed with the
//! account's jsapi ticket and its own appid), and `GET …/jssdk/ticket` / `GET …/jssdk/card_ticket`
//! for hosts that sign themselves. Tickets are fetched once across instances and cached like
//! access tokens; answers are never cached.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wxopen_client::jssdk_sign::{page_url, MAX_PAGE_URL_LEN};
use wxopen_client::{IssuedToken, JsTicket, JsTicketType};

use crate::answer::no_store;
use crate::auth::{AccountPath, Authed, ComponentPath};
use crate::error::{ApiError, ApiErrors};
use crate::state::AppState;

/// `{"url": "<the page's full URL>"}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = JsSdkConfigRequest)]
pub(crate) struct ConfigBody {
    /// The full URL of the page that calls `wx.config` (absolute http or https, at most 2048
    /// bytes); its `#…` part is not signed.
    #[schema(
        max_length = 2048,
        min_length = 1,
        pattern = r"^[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[^\s]*)?$"
    )]
    url: String,
}

/// What the page passes to `wx.config` (with its own `jsApiList`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = JsSdkConfig)]
pub(crate) struct ConfigAnswer {
    /// The authorized account's appid (not the component's).
    app_id: String,
    /// The signed timestamp (Unix seconds).
    timestamp: u64,
    /// The signed nonce.
    nonce_str: String,
    /// The signature (lowercase hex SHA-1).
    signature: String,
}

/// A JS-SDK ticket.
// No `Debug`: it holds the ticket.
#[derive(Serialize, ToSchema)]
#[schema(as = JsTicket)]
pub(crate) struct TicketAnswer {
    /// The ticket.
    ticket: String,
    /// Seconds left.
    expires_in: u64,
    /// When it expires (Unix seconds).
    expires_at: u64,
}

/// `POST /v1/{component}/authorizers/{appid}/jssdk/config`.
#[utoipa::path(
    post,
    path = "/v1/{component}/authorizers/{appid}/jssdk/config",
    summary = "wx.config for a page of an account (signed with its jsapi ticket)",
    description = "Signs `wx.config` for the page at `url` with the account's jsapi_ticket (fetched once across instances, cached 2 h, refreshed ahead), a random nonce and the current time; `appId` is the account's appid. A `url` that is not an absolute http(s) URL of at most 2048 bytes is a 400.",
    params(ComponentPath, AccountPath),
    request_body = ConfigBody,
    security(("bearer" = [])),
    responses((status = 200, description = "ok", body = ConfigAnswer), ApiErrors),
)]
pub(crate) async fn config(
    Path(AccountPath { appid }): Path<AccountPath>,
    authed: Authed,
    body: Result<Json<ConfigBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    // A signature is as good as the ticket: the same permission as reading it.
    if let Err(r) = authed.require(crate::scope::Permission::Tokens) {
        return r;
    }
    let body = match body {
        Ok(Json(b)) => b,
        Err(e) => {
            return ApiError::bad_request(format!(
                "body: expected {{\"url\": \"<page URL>\"}}: {}",
                e.body_text()
            ))
            .into_response()
        }
    };
    if let Err(e) = page_url(&body.url) {
        return ApiError::bad_request(format!(
            "url: {e} (at most {MAX_PAGE_URL_LEN} bytes, absolute http:// or https://)"
        ))
        .into_response();
    }
    match authed
        .component
        .client
        .jssdk_config(&appid, &body.url)
        .await
    {
        Ok(c) => no_store(
            Json(ConfigAnswer {
                app_id: c.app_id,
                timestamp: c.timestamp,
                nonce_str: c.nonce_str,
                signature: c.signature,
            })
            .into_response(),
        ),
        Err(e) => ApiError::from(e).into_response(),
    }
}

fn ticket_answer(
    authed: &Authed,
    issued: Result<IssuedToken<JsTicket>, wxopen_client::Error>,
) -> Response {
    match issued {
        Ok(t) => {
            let now = authed.component.client.clock().unix_seconds();
            no_store(
                Json(TicketAnswer {
                    ticket: t.token.expose_secret().to_owned(),
                    expires_in: t.expires_at.saturating_sub(now),
                    expires_at: t.expires_at,
                })
                .into_response(),
            )
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

async fn ticket_of(appid: &str, authed: Authed, ticket_type: JsTicketType) -> Response {
    let issued = authed.component.client.js_ticket(appid, ticket_type).await;
    ticket_answer(&authed, issued)
}

/// `GET /v1/{component}/authorizers/{appid}/jssdk/ticket`.
#[utoipa::path(
    get,
    path = "/v1/{component}/authorizers/{appid}/jssdk/ticket",
    summary = "An account's jsapi_ticket (for hosts that sign wx.config themselves)",
    params(ComponentPath, AccountPath),
    security(("bearer" = [])),
    responses((status = 200, description = "ok", body = TicketAnswer), ApiErrors),
)]
pub(crate) async fn ticket(
    State(_): State<Arc<AppState>>,
    Path(AccountPath { appid }): Path<AccountPath>,
    authed: Authed,
) -> Response {
    ticket_of(&appid, authed, JsTicketType::Jsapi).await
}

/// `GET /v1/{component}/authorizers/{appid}/jssdk/card_ticket`.
#[utoipa::path(
    get,
    path = "/v1/{component}/authorizers/{appid}/jssdk/card_ticket",
    summary = "An account's card api_ticket (getticket type=wx_card)",
    params(ComponentPath, AccountPath),
    security(("bearer" = [])),
    responses((status = 200, description = "ok", body = TicketAnswer), ApiErrors),
)]
pub(crate) async fn card_ticket(
    State(_): State<Arc<AppState>>,
    Path(AccountPath { appid }): Path<AccountPath>,
    authed: Authed,
) -> Response {
    ticket_of(&appid, authed, JsTicketType::WxCard).await
}
