//! The routes of web authorization (代公众号网页授权) and mini-program login (代小程序登录) on
//! behalf of an account, for hosts that do not embed the library:
//! `GET …/authorizers/{appid}/oauth/link`, `POST …/oauth/exchange`, `POST …/oauth/refresh`,
//! `POST …/oauth/userinfo` and `POST …/authorizers/{appid}/wxa/jscode2session`. Each code is
//! exchanged once with the component token however many requests carry it (the client's
//! one-exchange rule). Answers carry users' tokens and session keys (the host needs them) and
//! are never cached; no token, code or key is logged.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use wxopen_client::user_oauth::{CodeRefusal, JsSession, OAuthScope, UserInfo, UserToken};
use wxopen_client::{JsCode, OAuthCode, UserAccessToken, UserRefreshToken};

use crate::answer::no_store;
use crate::auth::{AccountPath, Authed, ComponentPath};
use crate::error::{ApiError, ApiErrors};
use crate::scope::Permission;

/// The query of the link route.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct LinkQuery {
    /// Where WeChat sends the user back (absolute http(s) URL on the platform's web domain).
    #[param(max_length = 2048)]
    redirect_uri: String,
    /// `snsapi_base` (openid only, no consent page) or `snsapi_userinfo`.
    #[param(pattern = "^snsapi_(base|userinfo)$")]
    scope: String,
    /// Carried back unchanged: at most 128 of `A-Z a-z 0-9 - _`.
    #[param(pattern = "^[A-Za-z0-9_-]{0,128}$")]
    state: Option<String>,
}

/// The web-authorization link.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Link {
    /// `https://open.weixin.qq.com/connect/oauth2/authorize?…#wechat_redirect`: open it in
    /// WeChat.
    url: String,
}

/// `{"code": …}`: the code of the redirect.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExchangeBody {
    /// The `code` WeChat added to `redirect_uri` (single use, 5 minutes).
    #[schema(min_length = 1, max_length = 512)]
    code: String,
}

/// `{"refresh_token": …}`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RefreshBody {
    /// The user's `refresh_token` (30 days).
    #[schema(min_length = 1, max_length = 512)]
    refresh_token: String,
}

/// `{"access_token", "openid", "lang"?}`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserinfoBody {
    /// The user's token (scope `snsapi_userinfo`).
    #[schema(min_length = 1, max_length = 512)]
    access_token: String,
    /// The user.
    #[schema(min_length = 1, max_length = 512)]
    openid: String,
    /// `zh_CN` (default), `zh_TW` or `en`.
    #[schema(pattern = "^(zh_CN|zh_TW|en)$")]
    lang: Option<String>,
}

/// `{"js_code": …}`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct JsCodeBody {
    /// The code of `wx.login` (single use, 5 minutes).
    #[schema(min_length = 1, max_length = 512)]
    js_code: String,
}

/// A user's web-authorization token.
// No `Debug`: it holds the tokens.
#[derive(Serialize, ToSchema)]
pub(crate) struct UserTokenAnswer {
    /// The user's token (reads the profile).
    access_token: String,
    /// Seconds it lives.
    expires_in: u64,
    /// Refreshes it (30 days).
    refresh_token: String,
    /// The user, for this account.
    openid: String,
    /// The granted scope.
    scope: String,
    /// The user across the Open Platform account, when WeChat gives it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    unionid: Option<String>,
}

impl From<UserToken> for UserTokenAnswer {
    fn from(t: UserToken) -> Self {
        Self {
            access_token: t.access_token.expose_secret().to_owned(),
            expires_in: t.expires_in,
            refresh_token: t.refresh_token.expose_secret().to_owned(),
            openid: t.openid,
            scope: t.scope,
            unionid: t.unionid,
        }
    }
}

/// A user's profile.
#[derive(Serialize, ToSchema)]
pub(crate) struct UserinfoAnswer {
    openid: String,
    nickname: String,
    sex: i64,
    province: String,
    city: String,
    country: String,
    headimgurl: String,
    privilege: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    unionid: Option<String>,
}

impl From<UserInfo> for UserinfoAnswer {
    fn from(u: UserInfo) -> Self {
        Self {
            openid: u.openid,
            nickname: u.nickname,
            sex: u.sex,
            province: u.province,
            city: u.city,
            country: u.country,
            headimgurl: u.headimgurl,
            privilege: u.privilege,
            unionid: u.unionid,
        }
    }
}

/// A mini-program login.
// No `Debug`: it holds the session key.
#[derive(Serialize, ToSchema)]
pub(crate) struct SessionAnswer {
    /// The user, for this mini program.
    openid: String,
    /// The key of the user's encrypted data: keep it on the server, never send it to the
    /// mini program.
    session_key: String,
    /// The user across the Open Platform account, when WeChat gives it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    unionid: Option<String>,
}

impl From<JsSession> for SessionAnswer {
    fn from(s: JsSession) -> Self {
        Self {
            openid: s.openid,
            session_key: s.session_key.expose_secret().to_owned(),
            unionid: s.unionid,
        }
    }
}

/// The answer of an error: WeChat's refusals of a code or a user are the caller's to fix
/// (400, or 429 for 45011), with WeChat's `errcode`; the rest as every route maps them.
fn error_answer(e: wxopen_client::Error) -> Response {
    let refusal = e.code().and_then(CodeRefusal::from_errcode);
    let mut answer = ApiError::from(e);
    let (status, hint) = match refusal {
        Some(CodeRefusal::InvalidCode) => (StatusCode::BAD_REQUEST, "the code is unknown, expired (5 minutes) or of another account: send the user through the link again"),
        Some(CodeRefusal::CodeUsed) => (StatusCode::BAD_REQUEST, "the code was already exchanged (codes are single use): send the user through the link again"),
        Some(CodeRefusal::CodeMissing) => (StatusCode::BAD_REQUEST, "send the code of the redirect"),
        Some(CodeRefusal::HighRiskUser) => (StatusCode::BAD_REQUEST, "WeChat refuses this user's login (high-risk user); do not retry"),
        Some(CodeRefusal::RateLimited) => (StatusCode::TOO_MANY_REQUESTS, "too many logins this minute: retry shortly with a new code"),
        _ => return answer.into_response(),
    };
    answer.status = status;
    answer.hint = hint.to_owned();
    answer.into_response()
}

/// WeChat's answers that refuse what the caller sent on a route that carries the user's own
/// credential (their refresh token, their access token and openid), with what to do: the
/// caller's mistake (400), never a gateway error.
struct Refused {
    codes: &'static [i64],
    hint: &'static str,
}

/// `…/oauth/refresh`: 40030 invalid refresh token, 42002 expired (30 days).
const USER_REFRESH_REFUSED: Refused = Refused {
    codes: &[40030, 42002],
    hint: "the user's refresh token is invalid or expired (refresh tokens last 30 days): send the user through the link again",
};

/// `…/oauth/userinfo`: the user's token rejected or expired, an openid that is not the token's
/// user, a `snsapi_base` token.
const USER_TOKEN_REFUSED: Refused = Refused {
    codes: &[40001, 40014, 42001, 40003, 48001],
    hint: "the user's access token was rejected, has expired (2 hours), belongs to another openid or has scope snsapi_base: refresh it with …/oauth/refresh, or send the user through the link again with scope snsapi_userinfo",
};

/// [`error_answer`], with `refused`'s codes answered 400 and its hint.
fn user_credential_answer(e: wxopen_client::Error, refused: &Refused) -> Response {
    match e.code() {
        Some(code) if refused.codes.contains(&code) => {
            let mut answer = ApiError::from(e);
            answer.status = StatusCode::BAD_REQUEST;
            answer.hint = refused.hint.to_owned();
            answer.into_response()
        }
        _ => error_answer(e),
    }
}

fn bad_body(e: &JsonRejection, shape: &str) -> Response {
    ApiError::bad_request(format!("body: expected {shape}: {}", e.body_text())).into_response()
}

/// `GET /v1/{component}/authorizers/{appid}/oauth/link`.
#[utoipa::path(
    get,
    path = "/v1/{component}/authorizers/{appid}/oauth/link",
    summary = "An account's web-authorization link (代公众号网页授权)",
    description = "The link a user opens in WeChat; WeChat sends the user back to `redirect_uri` with `code`, `state` and `appid` (no `code`: the user refused). Exchange the code with `…/oauth/exchange`.",
    params(ComponentPath, AccountPath, LinkQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "ok", body = Link), ApiErrors),
)]
pub(crate) async fn link(
    Path(AccountPath { appid }): Path<AccountPath>,
    Authed {
        component: comp, ..
    }: Authed,
    query: Result<Query<LinkQuery>, QueryRejection>,
) -> Response {
    let q = match query {
        Ok(Query(q)) => q,
        Err(e) => {
            return ApiError::bad_request(format!("query: {}", e.body_text())).into_response()
        }
    };
    let Some(scope) = OAuthScope::parse(&q.scope) else {
        return ApiError::bad_request("scope: snsapi_base or snsapi_userinfo").into_response();
    };
    match comp.client.oauth_url(
        &appid,
        &q.redirect_uri,
        scope,
        q.state.as_deref().unwrap_or(""),
    ) {
        Ok(url) => no_store(Json(Link { url }).into_response()),
        Err(e) => error_answer(e),
    }
}

/// `POST /v1/{component}/authorizers/{appid}/oauth/exchange`.
#[utoipa::path(
    post,
    path = "/v1/{component}/authorizers/{appid}/oauth/exchange",
    summary = "Exchange a web-authorization code for the user's token",
    description = "With the component token. Each code is exchanged once: every request with the same code (concurrent or later, on any instance) gets the same answer. 400 with WeChat's errcode for a refused code (40029 invalid or expired, 40163 used, 41008 missing).",
    params(ComponentPath, AccountPath),
    request_body = ExchangeBody,
    security(("bearer" = [])),
    responses((status = 200, description = "ok", body = UserTokenAnswer), ApiErrors),
)]
pub(crate) async fn exchange(
    Path(AccountPath { appid }): Path<AccountPath>,
    authed: Authed,
    body: Result<Json<ExchangeBody>, JsonRejection>,
) -> Response {
    if let Err(r) = authed.require(Permission::Tokens) {
        return r;
    }
    let comp = &authed.component;
    let body = match body {
        Ok(Json(b)) => b,
        Err(e) => return bad_body(&e, "{\"code\": \"<code>\"}"),
    };
    let code = OAuthCode::new(body.code);
    match comp.client.exchange_oauth_code(&appid, &code).await {
        Ok(t) => {
            tracing::info!(component = %comp.section.appid, authorizer_appid = %appid, "web-authorization code exchanged");
            no_store(Json(UserTokenAnswer::from(t)).into_response())
        }
        Err(e) => error_answer(e),
    }
}

/// `POST /v1/{component}/authorizers/{appid}/oauth/refresh`.
#[utoipa::path(
    post,
    path = "/v1/{component}/authorizers/{appid}/oauth/refresh",
    summary = "Refresh a user's web-authorization token",
    params(ComponentPath, AccountPath),
    request_body = RefreshBody,
    security(("bearer" = [])),
    responses((status = 200, description = "ok", body = UserTokenAnswer), ApiErrors),
)]
pub(crate) async fn refresh(
    Path(AccountPath { appid }): Path<AccountPath>,
    authed: Authed,
    body: Result<Json<RefreshBody>, JsonRejection>,
) -> Response {
    if let Err(r) = authed.require(Permission::Tokens) {
        return r;
    }
    let comp = &authed.component;
    let body = match body {
        Ok(Json(b)) => b,
        Err(e) => return bad_body(&e, "{\"refresh_token\": \"<token>\"}"),
    };
    let token = UserRefreshToken::new(body.refresh_token);
    match comp.client.refresh_oauth_token(&appid, &token).await {
        Ok(t) => no_store(Json(UserTokenAnswer::from(t)).into_response()),
        Err(e) => user_credential_answer(e, &USER_REFRESH_REFUSED),
    }
}

/// `POST /v1/{component}/authorizers/{appid}/oauth/userinfo`.
#[utoipa::path(
    post,
    path = "/v1/{component}/authorizers/{appid}/oauth/userinfo",
    summary = "A user's profile, with the user's token",
    description = "A POST so that the user's token stays out of URLs and access logs.",
    params(ComponentPath, AccountPath),
    request_body = UserinfoBody,
    security(("bearer" = [])),
    responses((status = 200, description = "ok", body = UserinfoAnswer), ApiErrors),
)]
pub(crate) async fn userinfo(
    Path(AccountPath { appid: _ }): Path<AccountPath>,
    authed: Authed,
    body: Result<Json<UserinfoBody>, JsonRejection>,
) -> Response {
    if let Err(r) = authed.require(Permission::Tokens) {
        return r;
    }
    let comp = &authed.component;
    let body = match body {
        Ok(Json(b)) => b,
        Err(e) => {
            return bad_body(
                &e,
                "{\"access_token\": \"<user token>\", \"openid\": \"<openid>\"}",
            )
        }
    };
    let token = UserAccessToken::new(body.access_token);
    match comp
        .client
        .oauth_userinfo(&token, &body.openid, body.lang.as_deref())
        .await
    {
        Ok(u) => no_store(Json(UserinfoAnswer::from(u)).into_response()),
        Err(e) => user_credential_answer(e, &USER_TOKEN_REFUSED),
    }
}

/// `POST /v1/{component}/authorizers/{appid}/wxa/jscode2session`.
#[utoipa::path(
    post,
    path = "/v1/{component}/authorizers/{appid}/wxa/jscode2session",
    summary = "Log a mini-program user in (代小程序登录)",
    description = "`jscode2session` with the component token. Each js_code is exchanged once: every request with the same js_code gets the same answer. 400 with WeChat's errcode for 40029 (invalid code) and 40226 (high-risk user); 429 for 45011.",
    params(ComponentPath, AccountPath),
    request_body = JsCodeBody,
    security(("bearer" = [])),
    responses((status = 200, description = "ok", body = SessionAnswer), ApiErrors),
)]
pub(crate) async fn jscode2session(
    Path(AccountPath { appid }): Path<AccountPath>,
    authed: Authed,
    body: Result<Json<JsCodeBody>, JsonRejection>,
) -> Response {
    if let Err(r) = authed.require(Permission::Tokens) {
        return r;
    }
    let comp = &authed.component;
    let body = match body {
        Ok(Json(b)) => b,
        Err(e) => return bad_body(&e, "{\"js_code\": \"<code>\"}"),
    };
    let code = JsCode::new(body.js_code);
    match comp.client.jscode2session(&appid, &code).await {
        Ok(s) => {
            tracing::info!(component = %comp.section.appid, authorizer_appid = %appid, "mini-program login");
            no_store(Json(SessionAnswer::from(s)).into_response())
        }
        Err(e) => error_answer(e),
    }
}
