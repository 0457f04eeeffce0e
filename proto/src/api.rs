//! The component API as data: endpoints, URL building, typed request and response bodies, and
//! the pure response parser ([`parse_response`]) that every call goes through.
//!
//! Nothing here does I/O. Field names follow the official documentation exactly. Generic calls
//! to any other API path are [`crate::api_call`].

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use url::Url;

use crate::secret::{
    AuthorizerAccessToken, AuthorizerRefreshToken, ComponentAccessToken, PreAuthCode,
};

/// Default primary API base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.weixin.qq.com";
/// Default fallback (disaster-recovery) API base URL.
pub const FALLBACK_BASE_URL: &str = "https://api2.weixin.qq.com";

/// Which credential an endpoint takes in its query string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenParam {
    /// None (credentials are in the body).
    None,
    /// `component_access_token=…`
    ComponentAccessToken,
    /// `access_token=…` (a component or authorizer access token, depending on the endpoint).
    AccessToken,
}

/// A component API endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// `api_component_token`
    ComponentToken,
    /// `api_create_preauthcode`
    CreatePreAuthCode,
    /// `api_query_auth`
    QueryAuth,
    /// `api_authorizer_token`
    AuthorizerToken,
    /// `api_get_authorizer_info`
    GetAuthorizerInfo,
    /// `api_get_authorizer_list`
    GetAuthorizerList,
    /// `api_get_authorizer_option` (first generation, component token)
    GetAuthorizerOptionLegacy,
    /// `api_set_authorizer_option` (first generation, component token)
    SetAuthorizerOptionLegacy,
    /// `get_authorizer_option` (second generation, authorizer token)
    GetAuthorizerOption,
    /// `set_authorizer_option` (second generation, authorizer token)
    SetAuthorizerOption,
    /// `api_start_push_ticket`
    StartPushTicket,
    /// `clear_quota`
    ClearQuota,
    /// `clear_quota/v2`
    ClearQuotaV2,
    /// Any other API path (e.g. an official-account or mini-program API called on behalf of an
    /// authorizer), with the credential it takes.
    Other {
        /// URL path starting with `/`, without query or fragment.
        path: &'static str,
        /// Its query credential.
        token: TokenParam,
    },
}

impl Endpoint {
    /// `true` for calls that consume a one-time input (`api_query_auth` and its
    /// authorization code). The client retries these only when the request cannot have
    /// reached WeChat (a connection that was never made, HTTP 429): after a timeout, a lost
    /// body, a 5xx or errcode -1 (an answer: the request arrived) the code may already be
    /// spent, and a second call could only fail and hide what happened.
    pub fn is_single_use(self) -> bool {
        matches!(self, Endpoint::QueryAuth)
    }

    /// `true` when repeating the call is harmless, so the client retries it after any transient
    /// failure (timeouts, 5xx, -1) and fails over. `false` for single-use calls and for
    /// [`Endpoint::Other`] (a generic call may send a message or change state); those are
    /// retried only when the request cannot have been sent (see `api_call::ApiCall`).
    pub fn is_idempotent(self) -> bool {
        !matches!(self, Endpoint::QueryAuth | Endpoint::Other { .. })
    }

    /// The URL path.
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::ComponentToken => "/cgi-bin/component/api_component_token",
            Endpoint::CreatePreAuthCode => "/cgi-bin/component/api_create_preauthcode",
            Endpoint::QueryAuth => "/cgi-bin/component/api_query_auth",
            Endpoint::AuthorizerToken => "/cgi-bin/component/api_authorizer_token",
            Endpoint::GetAuthorizerInfo => "/cgi-bin/component/api_get_authorizer_info",
            Endpoint::GetAuthorizerList => "/cgi-bin/component/api_get_authorizer_list",
            Endpoint::GetAuthorizerOptionLegacy => "/cgi-bin/component/api_get_authorizer_option",
            Endpoint::SetAuthorizerOptionLegacy => "/cgi-bin/component/api_set_authorizer_option",
            Endpoint::GetAuthorizerOption => "/cgi-bin/component/get_authorizer_option",
            Endpoint::SetAuthorizerOption => "/cgi-bin/component/set_authorizer_option",
            Endpoint::StartPushTicket => "/cgi-bin/component/api_start_push_ticket",
            Endpoint::ClearQuota => "/cgi-bin/clear_quota",
            Endpoint::ClearQuotaV2 => "/cgi-bin/component/clear_quota/v2",
            Endpoint::Other { path, .. } => path,
        }
    }

    /// A short name for logs and errors (never contains a secret).
    pub fn name(self) -> &'static str {
        match self {
            Endpoint::ClearQuotaV2 => "clear_quota/v2",
            Endpoint::Other { path, .. } => path,
            other => other.path().rsplit('/').next().unwrap_or("unknown"),
        }
    }

    /// The query credential this endpoint takes.
    pub fn token_param(self) -> TokenParam {
        match self {
            Endpoint::Other { token, .. } => token,
            Endpoint::ComponentToken | Endpoint::StartPushTicket | Endpoint::ClearQuotaV2 => {
                TokenParam::None
            }
            Endpoint::GetAuthorizerOption
            | Endpoint::SetAuthorizerOption
            | Endpoint::ClearQuota => TokenParam::AccessToken,
            _ => TokenParam::ComponentAccessToken,
        }
    }
}

/// Builds the request URL: `base` (which may carry a path prefix, e.g. a proxy) + the endpoint
/// path + the token query parameter. A token is required exactly when the endpoint takes one.
pub fn build_url(base: &Url, endpoint: Endpoint, token: Option<&str>) -> Result<Url, String> {
    let path = endpoint.path();
    if !path.starts_with('/') || path.contains(['?', '#']) {
        return Err(format!(
            "bad API path `{path}`: must start with / and carry no query"
        ));
    }
    build_url_for(base, path, endpoint.token_param(), endpoint.name(), token)
}

pub(crate) fn build_url_for(
    base: &Url,
    path: &str,
    token_param: TokenParam,
    name: &str,
    token: Option<&str>,
) -> Result<Url, String> {
    let joined = format!("{}{}", base.as_str().trim_end_matches('/'), path);
    let mut url = Url::parse(&joined).map_err(|e| format!("bad base URL: {e}"))?;
    url.set_query(None);
    url.set_fragment(None);
    match (token_param, token) {
        (TokenParam::None, None) => {}
        (TokenParam::None, Some(_)) => return Err(format!("{name} takes no token")),
        (_, None) => return Err(format!("{name} needs a token")),
        (TokenParam::ComponentAccessToken, Some(t)) => {
            url.query_pairs_mut()
                .append_pair("component_access_token", t);
        }
        (TokenParam::AccessToken, Some(t)) => {
            url.query_pairs_mut().append_pair("access_token", t);
        }
    }
    Ok(url)
}

/// Why a response body was not a success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseError {
    /// `errcode` was present and non-zero.
    Api {
        /// WeChat error code.
        errcode: i64,
        /// WeChat error message (empty if absent).
        errmsg: String,
    },
    /// Not JSON, or not the documented success shape.
    Decode(String),
}

#[derive(Deserialize)]
struct ErrProbe {
    #[serde(default)]
    errcode: Option<i64>,
    #[serde(default)]
    errmsg: Option<String>,
}

/// Parses a response body: a non-zero `errcode` wins over everything else; otherwise the body
/// must decode as `T`. Never panics, whatever the input.
pub fn parse_response<T: DeserializeOwned>(body: &[u8]) -> Result<T, ResponseError> {
    // Every WeChat response is a JSON object; serde would also map a JSON array onto a struct
    // positionally, which no WeChat body is.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ResponseError::Decode(
            "response is not a JSON object".into(),
        ));
    }
    let probe: ErrProbe =
        serde_json::from_slice(body).map_err(|e| ResponseError::Decode(e.to_string()))?;
    if let Some(errcode) = probe.errcode {
        if errcode != 0 {
            return Err(ResponseError::Api {
                errcode,
                errmsg: probe.errmsg.unwrap_or_default(),
            });
        }
    }
    serde_json::from_slice(body).map_err(|e| ResponseError::Decode(e.to_string()))
}

/// Parses `body` as the documented response of `endpoint` and discards it (pure; one entry
/// point for the `api_response` fuzz target and for fixture checks). Endpoints without a typed
/// response ([`Endpoint::Other`]) are parsed as any JSON value after the `errcode` check.
pub fn check_response(endpoint: Endpoint, body: &[u8]) -> Result<(), ResponseError> {
    match endpoint {
        Endpoint::ComponentToken => parse_response::<ComponentTokenResponse>(body).map(drop),
        Endpoint::CreatePreAuthCode => parse_response::<PreAuthCodeResponse>(body).map(drop),
        Endpoint::QueryAuth => parse_response::<QueryAuthResponse>(body).map(drop),
        Endpoint::AuthorizerToken => parse_response::<AuthorizerTokenResponse>(body).map(drop),
        Endpoint::GetAuthorizerInfo => parse_response::<AuthorizerInfoResponse>(body).map(drop),
        Endpoint::GetAuthorizerList => parse_response::<AuthorizerListResponse>(body).map(drop),
        Endpoint::GetAuthorizerOptionLegacy | Endpoint::GetAuthorizerOption => {
            parse_response::<AuthorizerOption>(body).map(drop)
        }
        Endpoint::SetAuthorizerOptionLegacy
        | Endpoint::SetAuthorizerOption
        | Endpoint::StartPushTicket
        | Endpoint::ClearQuota
        | Endpoint::ClearQuotaV2 => parse_response::<Ack>(body).map(drop),
        Endpoint::Other { .. } => parse_response::<serde_json::Value>(body).map(drop),
    }
}

/// Every built-in endpoint (not [`Endpoint::Other`]).
pub const ENDPOINTS: [Endpoint; 13] = [
    Endpoint::ComponentToken,
    Endpoint::CreatePreAuthCode,
    Endpoint::QueryAuth,
    Endpoint::AuthorizerToken,
    Endpoint::GetAuthorizerInfo,
    Endpoint::GetAuthorizerList,
    Endpoint::GetAuthorizerOptionLegacy,
    Endpoint::SetAuthorizerOptionLegacy,
    Endpoint::GetAuthorizerOption,
    Endpoint::SetAuthorizerOption,
    Endpoint::StartPushTicket,
    Endpoint::ClearQuota,
    Endpoint::ClearQuotaV2,
];

/// A credential, code or appid that must not be empty: an empty one is a decode error, never a
/// value the client would store (over a good refresh token, say) or send.
fn non_empty<'de, D: Deserializer<'de>, T: From<String>>(d: D) -> Result<T, D::Error> {
    let s = String::deserialize(d)?;
    if s.is_empty() {
        return Err(serde::de::Error::custom("empty credential or appid"));
    }
    Ok(T::from(s))
}

/// [`non_empty`] for optional fields: absent or `null` is `None`, `""` is a decode error.
fn non_empty_opt<'de, D: Deserializer<'de>, T: From<String>>(d: D) -> Result<Option<T>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(s) if s.is_empty() => Err(serde::de::Error::custom("empty credential")),
        Some(s) => Ok(Some(T::from(s))),
    }
}

fn empty_refresh_token() -> AuthorizerRefreshToken {
    AuthorizerRefreshToken::new("")
}

/// A string, with `null` read as the empty string.
fn string_or_null<'de, D: Deserializer<'de>, T: From<String>>(d: D) -> Result<T, D::Error> {
    Ok(T::from(
        Option::<String>::deserialize(d)?.unwrap_or_default(),
    ))
}

/// An optional string where `""` counts as absent.
fn empty_as_none<'de, D: Deserializer<'de>, T: From<String>>(d: D) -> Result<Option<T>, D::Error> {
    Ok(Option::<String>::deserialize(d)?
        .filter(|s| !s.is_empty())
        .map(T::from))
}

/// Shortest token lifetime accepted (`expires_in`, seconds): anything shorter is a decode
/// error, not a token that would be refreshed on every call.
pub const MIN_EXPIRES_IN: u64 = 60;

fn lifetime<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let v = u64::deserialize(d)?;
    if v < MIN_EXPIRES_IN {
        return Err(serde::de::Error::custom(format!(
            "expires_in {v} is shorter than {MIN_EXPIRES_IN} s"
        )));
    }
    Ok(v)
}

fn lifetime_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    match Option::<u64>::deserialize(d)? {
        Some(v) if v < MIN_EXPIRES_IN => Err(serde::de::Error::custom(format!(
            "expires_in {v} is shorter than {MIN_EXPIRES_IN} s"
        ))),
        other => Ok(other),
    }
}

fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum SoN {
        S(String),
        I(i64),
    }
    Ok(match SoN::deserialize(d)? {
        SoN::S(s) => s,
        SoN::I(i) => i.to_string(),
    })
}

// ---------------------------------------------------------------------------------------------
// Requests

/// Body of `api_component_token`.
#[derive(Serialize)]
pub struct ComponentTokenRequest<'a> {
    /// Component appid.
    pub component_appid: &'a str,
    /// Component appsecret.
    pub component_appsecret: &'a str,
    /// Newest ticket.
    pub component_verify_ticket: &'a str,
}

/// Body of `api_create_preauthcode`.
#[derive(Debug, Serialize)]
pub struct PreAuthCodeRequest<'a> {
    /// Component appid.
    pub component_appid: &'a str,
}

/// Body of `api_query_auth`.
#[derive(Serialize)]
pub struct QueryAuthRequest<'a> {
    /// Component appid.
    pub component_appid: &'a str,
    /// Authorization code.
    pub authorization_code: &'a str,
}

/// Body of `api_authorizer_token`.
#[derive(Serialize)]
pub struct AuthorizerTokenRequest<'a> {
    /// Component appid.
    pub component_appid: &'a str,
    /// Authorizer appid.
    pub authorizer_appid: &'a str,
    /// Current refresh token.
    pub authorizer_refresh_token: &'a str,
}

/// Body of `api_get_authorizer_info`.
#[derive(Debug, Serialize)]
pub struct AuthorizerInfoRequest<'a> {
    /// Component appid.
    pub component_appid: &'a str,
    /// Authorizer appid.
    pub authorizer_appid: &'a str,
}

/// Body of `api_get_authorizer_list`.
#[derive(Debug, Serialize)]
pub struct AuthorizerListRequest<'a> {
    /// Component appid.
    pub component_appid: &'a str,
    /// Offset of the first entry.
    pub offset: u32,
    /// Page size.
    pub count: u32,
}

/// Body of `api_get_authorizer_option` / `api_set_authorizer_option` (first generation).
#[derive(Debug, Serialize)]
pub struct LegacyOptionRequest<'a> {
    /// Component appid.
    pub component_appid: &'a str,
    /// Authorizer appid.
    pub authorizer_appid: &'a str,
    /// `location_report`, `voice_recognize` or `customer_service`.
    pub option_name: &'a str,
    /// New value (set only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub option_value: Option<&'a str>,
}

/// Body of `get_authorizer_option` / `set_authorizer_option` (second generation).
#[derive(Debug, Serialize)]
pub struct OptionRequest<'a> {
    /// Option name.
    pub option_name: &'a str,
    /// New value (set only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub option_value: Option<&'a str>,
}

/// Body of `api_start_push_ticket`.
#[derive(Serialize)]
pub struct StartPushTicketRequest<'a> {
    /// Component appid.
    pub component_appid: &'a str,
    /// Component appsecret (this endpoint names it `component_secret`).
    pub component_secret: &'a str,
}

/// Body of `clear_quota`.
#[derive(Debug, Serialize)]
pub struct ClearQuotaRequest<'a> {
    /// The appid whose quota is reset.
    pub appid: &'a str,
}

/// Body of `clear_quota/v2`.
#[derive(Serialize)]
pub struct ClearQuotaV2Request<'a> {
    /// Component appid.
    pub component_appid: &'a str,
    /// Component appsecret.
    pub appsecret: &'a str,
    /// Authorizer appid; absent resets the component's own quota.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub appid: Option<&'a str>,
}

// ---------------------------------------------------------------------------------------------
// Responses

/// `api_component_token` success.
#[derive(Debug, Clone, Deserialize)]
pub struct ComponentTokenResponse {
    /// The token (never empty).
    #[serde(deserialize_with = "non_empty")]
    pub component_access_token: ComponentAccessToken,
    /// Lifetime in seconds (7200; under [`MIN_EXPIRES_IN`] is a decode error).
    #[serde(deserialize_with = "lifetime")]
    pub expires_in: u64,
}

/// `api_create_preauthcode` success.
#[derive(Debug, Clone, Deserialize)]
pub struct PreAuthCodeResponse {
    /// The code (never empty).
    #[serde(deserialize_with = "non_empty")]
    pub pre_auth_code: PreAuthCode,
    /// Lifetime in seconds (docs say 600 or 1800; single use either way).
    #[serde(default)]
    pub expires_in: Option<u64>,
}

/// `funcscope_category` of a permission set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct FuncScopeCategory {
    /// Permission set id.
    pub id: i64,
}

/// One granted permission set.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FuncInfo {
    /// The permission set.
    pub funcscope_category: FuncScopeCategory,
    /// Confirmation state, when WeChat sends it.
    #[serde(default)]
    pub confirm_info: Option<serde_json::Value>,
}

/// `authorization_info` of `api_query_auth` (and, without tokens, of `api_get_authorizer_info`).
#[derive(Debug, Clone, Deserialize)]
pub struct AuthorizationInfo {
    /// Authorizer appid (never empty).
    #[serde(deserialize_with = "non_empty")]
    pub authorizer_appid: String,
    /// Access token (present only if the account granted API rights; `""` counts as absent,
    /// since the code is spent by then).
    #[serde(default, deserialize_with = "empty_as_none")]
    pub authorizer_access_token: Option<AuthorizerAccessToken>,
    /// Access token lifetime in seconds (under [`MIN_EXPIRES_IN`] is a decode error).
    #[serde(default, deserialize_with = "lifetime_opt")]
    pub expires_in: Option<u64>,
    /// Refresh token (present only if the account granted API rights). An empty value is
    /// treated as absent: the code is already spent, so the rest of the answer still counts.
    #[serde(default, deserialize_with = "empty_as_none")]
    pub authorizer_refresh_token: Option<AuthorizerRefreshToken>,
    /// Granted permission sets.
    #[serde(default)]
    pub func_info: Vec<FuncInfo>,
}

/// `api_query_auth` success.
#[derive(Debug, Clone, Deserialize)]
pub struct QueryAuthResponse {
    /// The authorization.
    pub authorization_info: AuthorizationInfo,
}

/// `api_authorizer_token` success.
#[derive(Debug, Clone, Deserialize)]
pub struct AuthorizerTokenResponse {
    /// New access token (never empty).
    #[serde(deserialize_with = "non_empty")]
    pub authorizer_access_token: AuthorizerAccessToken,
    /// Lifetime in seconds (7200; under [`MIN_EXPIRES_IN`] is a decode error).
    #[serde(deserialize_with = "lifetime")]
    pub expires_in: u64,
    /// Refresh token to keep (usually unchanged; stored whatever it is, but never empty).
    #[serde(default, deserialize_with = "non_empty_opt")]
    pub authorizer_refresh_token: Option<AuthorizerRefreshToken>,
}

/// An `{ "id": n }` object (`service_type_info`, `verify_type_info`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct IdInfo {
    /// The id.
    pub id: i64,
}

/// `authorizer_info` of `api_get_authorizer_info`.
#[derive(Debug, Clone, Deserialize)]
pub struct AuthorizerInfo {
    /// Nickname.
    #[serde(default)]
    pub nick_name: String,
    /// Avatar URL.
    #[serde(default)]
    pub head_img: String,
    /// Account type.
    #[serde(default)]
    pub service_type_info: Option<IdInfo>,
    /// Verification type.
    #[serde(default)]
    pub verify_type_info: Option<IdInfo>,
    /// Original id (`gh_…`).
    #[serde(default)]
    pub user_name: String,
    /// WeChat id alias.
    #[serde(default)]
    pub alias: String,
    /// QR code URL.
    #[serde(default)]
    pub qrcode_url: String,
    /// Principal (company) name.
    #[serde(default)]
    pub principal_name: String,
    /// Account signature (bio).
    #[serde(default)]
    pub signature: String,
    /// Feature switches (`open_pay`, `open_shake`, …).
    #[serde(default)]
    pub business_info: Option<serde_json::Value>,
    /// Present for mini programs only.
    #[serde(default, rename = "MiniProgramInfo")]
    pub mini_program_info: Option<serde_json::Value>,
    /// Every other field, kept as sent.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl AuthorizerInfo {
    /// `true` for a mini program (WeChat sends `MiniProgramInfo` only for those).
    pub fn is_mini_program(&self) -> bool {
        self.mini_program_info.is_some()
    }
}

/// `api_get_authorizer_info` success.
#[derive(Debug, Clone, Deserialize)]
pub struct AuthorizerInfoResponse {
    /// Account details.
    pub authorizer_info: AuthorizerInfo,
    /// Granted permission sets.
    pub authorization_info: AuthorizationInfo,
}

/// One entry of `api_get_authorizer_list`.
#[derive(Debug, Clone, Deserialize)]
pub struct AuthorizerListItem {
    /// Authorizer appid (never empty).
    #[serde(deserialize_with = "non_empty")]
    pub authorizer_appid: String,
    /// Current refresh token (this endpoint names it `refresh_token`). An entry without one
    /// is kept with an empty value, so one bad entry does not fail the page; recovery skips it.
    #[serde(default = "empty_refresh_token", deserialize_with = "string_or_null")]
    pub refresh_token: AuthorizerRefreshToken,
    /// Authorization time (unix seconds).
    #[serde(default)]
    pub auth_time: u64,
}

/// `api_get_authorizer_list` success.
#[derive(Debug, Clone, Deserialize)]
pub struct AuthorizerListResponse {
    /// Total number of authorizers.
    pub total_count: u64,
    /// This page.
    #[serde(default)]
    pub list: Vec<AuthorizerListItem>,
}

/// `get_authorizer_option` / `api_get_authorizer_option` success.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AuthorizerOption {
    /// Authorizer appid (first generation only).
    #[serde(default)]
    pub authorizer_appid: Option<String>,
    /// Option name.
    pub option_name: String,
    /// Option value (numbers are returned as their decimal text).
    #[serde(deserialize_with = "string_or_number")]
    pub option_value: String,
}

/// A plain `{errcode: 0, errmsg}` success.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Ack {
    /// The message (`ok`, or e.g. "in a normal state" for `api_start_push_ticket`).
    #[serde(default)]
    pub errmsg: String,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const ALL: [Endpoint; 13] = ENDPOINTS;

    #[test]
    fn urls_carry_the_right_token_parameter() {
        let base = Url::parse("https://api.weixin.qq.com").unwrap();
        let u = build_url(&base, Endpoint::QueryAuth, Some("T&x=1")).unwrap();
        assert_eq!(
            u.as_str(),
            "https://api.weixin.qq.com/cgi-bin/component/api_query_auth?component_access_token=T%26x%3D1"
        );
        let u = build_url(&base, Endpoint::ComponentToken, None).unwrap();
        assert_eq!(
            u.as_str(),
            "https://api.weixin.qq.com/cgi-bin/component/api_component_token"
        );
        let u = build_url(&base, Endpoint::ClearQuota, Some("A")).unwrap();
        assert_eq!(
            u.as_str(),
            "https://api.weixin.qq.com/cgi-bin/clear_quota?access_token=A"
        );
        let u = build_url(&base, Endpoint::SetAuthorizerOption, Some("A")).unwrap();
        assert!(u
            .as_str()
            .ends_with("/cgi-bin/component/set_authorizer_option?access_token=A"));
        assert!(build_url(&base, Endpoint::QueryAuth, None).is_err());
        let other = Endpoint::Other {
            path: "/cgi-bin/message/custom/send",
            token: TokenParam::AccessToken,
        };
        let u = build_url(&base, other, Some("A")).unwrap();
        assert_eq!(
            u.as_str(),
            "https://api.weixin.qq.com/cgi-bin/message/custom/send?access_token=A"
        );
        assert_eq!(other.name(), "/cgi-bin/message/custom/send");
        for bad in ["cgi-bin/x", "/x?access_token=leak", "/x#f"] {
            let e = Endpoint::Other {
                path: bad,
                token: TokenParam::None,
            };
            assert!(build_url(&base, e, None).is_err(), "{bad}");
        }
        assert!(build_url(&base, Endpoint::ComponentToken, Some("t")).is_err());
    }

    #[test]
    fn idempotency_of_built_in_endpoints() {
        assert!(!Endpoint::QueryAuth.is_idempotent());
        assert!(!Endpoint::Other {
            path: "/x",
            token: TokenParam::None
        }
        .is_idempotent());
        for e in ENDPOINTS {
            assert_eq!(e.is_idempotent(), e != Endpoint::QueryAuth, "{e:?}");
        }
    }

    #[test]
    fn base_url_with_prefix_and_trailing_slash() {
        let base = Url::parse("http://127.0.0.1:9/proxy/").unwrap();
        let u = build_url(&base, Endpoint::ClearQuotaV2, None).unwrap();
        assert_eq!(
            u.as_str(),
            "http://127.0.0.1:9/proxy/cgi-bin/component/clear_quota/v2"
        );
    }

    #[test]
    fn check_response_dispatches_per_endpoint() {
        assert!(check_response(
            Endpoint::ComponentToken,
            br#"{"component_access_token":"a","expires_in":7200}"#
        )
        .is_ok());
        // A lifetime under a minute is not a token to cache.
        assert!(check_response(
            Endpoint::ComponentToken,
            br#"{"component_access_token":"a","expires_in":59}"#
        )
        .is_err());
        assert!(check_response(
            Endpoint::AuthorizerToken,
            br#"{"authorizer_access_token":"a","expires_in":0}"#
        )
        .is_err());
        assert!(matches!(
            check_response(Endpoint::ComponentToken, br#"{"errcode":0}"#),
            Err(ResponseError::Decode(_))
        ));
        assert!(check_response(Endpoint::ClearQuota, br#"{"errcode":0,"errmsg":"ok"}"#).is_ok());
        for e in ENDPOINTS {
            assert_eq!(
                check_response(e, br#"{"errcode":-1,"errmsg":"busy"}"#),
                Err(ResponseError::Api {
                    errcode: -1,
                    errmsg: "busy".into()
                }),
                "{e:?}"
            );
        }
        let other = Endpoint::Other {
            path: "/x",
            token: TokenParam::None,
        };
        assert!(check_response(other, br#"{"anything":[1]}"#).is_ok());
    }

    #[test]
    fn names_are_last_segment() {
        for e in ALL {
            assert!(!e.name().is_empty() && !e.name().starts_with('/'), "{e:?}");
        }
        assert_eq!(Endpoint::ComponentToken.name(), "api_component_token");
        assert_eq!(Endpoint::ClearQuotaV2.name(), "clear_quota/v2");
    }

    #[test]
    fn errcode_wins_over_success_shape() {
        let r: Result<ComponentTokenResponse, _> =
            parse_response(br#"{"errcode":61004,"errmsg":"access clientip is not registered"}"#);
        assert_eq!(
            r.unwrap_err(),
            ResponseError::Api {
                errcode: 61004,
                errmsg: "access clientip is not registered".into()
            }
        );
        // errcode 0 with a success body is a success.
        let r: Ack = parse_response(br#"{"errcode":0,"errmsg":"ok"}"#).unwrap();
        assert_eq!(r.errmsg, "ok");
        let r: ComponentTokenResponse =
            parse_response(br#"{"component_access_token":"abc","expires_in":7200}"#).unwrap();
        assert_eq!(r.component_access_token.expose_secret(), "abc");
    }

    #[test]
    fn empty_credentials_and_appids_are_decode_errors() {
        fn decode_err<T: DeserializeOwned + core::fmt::Debug>(body: &str) {
            let r: Result<T, _> = parse_response(body.as_bytes());
            assert!(matches!(r, Err(ResponseError::Decode(_))), "{body}: {r:?}");
        }
        decode_err::<ComponentTokenResponse>(r#"{"component_access_token":"","expires_in":7200}"#);
        decode_err::<PreAuthCodeResponse>(r#"{"pre_auth_code":"","expires_in":600}"#);
        decode_err::<AuthorizerTokenResponse>(
            r#"{"authorizer_access_token":"","expires_in":7200}"#,
        );
        // An empty refresh token must never replace the stored one.
        decode_err::<AuthorizerTokenResponse>(
            r#"{"authorizer_access_token":"at","expires_in":7200,"authorizer_refresh_token":""}"#,
        );
        decode_err::<QueryAuthResponse>(
            r#"{"authorization_info":{"authorizer_appid":"","func_info":[]}}"#,
        );
        // The code behind a query_auth answer is spent: empty tokens count as absent rather
        // than failing the whole answer (the refresh token is then recovered from the list).
        for info in [
            r#"{"authorizer_appid":"wx1","authorizer_access_token":"","expires_in":7200}"#,
            r#"{"authorizer_appid":"wx1","authorizer_access_token":"at","authorizer_refresh_token":""}"#,
        ] {
            let r: QueryAuthResponse =
                parse_response(format!(r#"{{"authorization_info":{info}}}"#).as_bytes()).unwrap();
            assert!(
                r.authorization_info.authorizer_access_token.is_none()
                    || r.authorization_info.authorizer_refresh_token.is_none()
            );
        }
        // An authorizer-list entry with an empty or null refresh token does not fail its page.
        let page: AuthorizerListResponse = parse_response(
            br#"{"total_count":2,"list":[{"authorizer_appid":"wx1","refresh_token":""},{"authorizer_appid":"wx2","refresh_token":null},{"authorizer_appid":"wx3","refresh_token":"refreshtoken@@@x"}]}"#,
        )
        .unwrap();
        assert!(page.list[0].refresh_token.is_empty() && page.list[1].refresh_token.is_empty());
        assert!(!page.list[2].refresh_token.is_empty());
        // Absent or null optional tokens are still fine (no API rights granted).
        let r: QueryAuthResponse = parse_response(
            br#"{"authorization_info":{"authorizer_appid":"wx1","authorizer_refresh_token":null}}"#,
        )
        .unwrap();
        assert!(r.authorization_info.authorizer_access_token.is_none());
        assert!(r.authorization_info.authorizer_refresh_token.is_none());
        let r: AuthorizerTokenResponse =
            parse_response(br#"{"authorizer_access_token":"at","expires_in":7200}"#).unwrap();
        assert!(r.authorizer_refresh_token.is_none());
    }

    #[test]
    fn arrays_are_not_error_objects() {
        let r: Result<Ack, _> = parse_response(br#"[40001,"x"]"#);
        assert!(matches!(r, Err(ResponseError::Decode(_))));
        let r: Result<Ack, _> = parse_response(b" \n {\"errcode\":0}");
        assert!(r.is_ok());
    }

    #[test]
    fn missing_field_or_garbage_is_decode_error() {
        for body in [
            &br#"{"expires_in":7200}"#[..],
            b"",
            b"<html>502</html>",
            br#"{"errcode":"x"}"#,
            br#"{"component_access_token":5,"expires_in":7200}"#,
            br#"[1,2]"#,
            br#"["abc",7200]"#,
        ] {
            let r: Result<ComponentTokenResponse, _> = parse_response(body);
            assert!(matches!(r, Err(ResponseError::Decode(_))), "{body:?}");
        }
    }

    #[test]
    fn documented_shapes_decode() {
        let q: QueryAuthResponse = parse_response(
            br#"{"authorization_info":{"authorizer_appid":"wxf8b4f85f3a794e77","authorizer_access_token":"QXjU","expires_in":7200,"authorizer_refresh_token":"refreshtoken@@@dTo","func_info":[{"funcscope_category":{"id":1}},{"funcscope_category":{"id":2},"confirm_info":{"need_confirm":0,"already_confirm":0,"can_confirm":0}}]}}"#,
        )
        .unwrap();
        assert_eq!(q.authorization_info.func_info.len(), 2);
        assert_eq!(q.authorization_info.expires_in, Some(7200));
        let l: AuthorizerListResponse = parse_response(
            br#"{"total_count":33,"list":[{"authorizer_appid":"wx1","refresh_token":"rt","auth_time":1522293434}]}"#,
        )
        .unwrap();
        assert_eq!(l.list[0].refresh_token.expose_secret(), "rt");
        let o: AuthorizerOption = parse_response(
            br#"{"authorizer_appid":"wx1","option_name":"voice_recognize","option_value":"1"}"#,
        )
        .unwrap();
        assert_eq!(o.option_value, "1");
        let o: AuthorizerOption =
            parse_response(br#"{"option_name":"voice_recognize","option_value":1}"#).unwrap();
        assert_eq!(o.option_value, "1");
        let i: AuthorizerInfoResponse = parse_response(
            br#"{"authorizer_info":{"nick_name":"n","service_type_info":{"id":2},"verify_type_info":{"id":-1},"user_name":"gh_1","MiniProgramInfo":{"network":{}},"register_type":0},"authorization_info":{"authorizer_appid":"wx1","func_info":[]}}"#,
        )
        .unwrap();
        assert!(i.authorizer_info.is_mini_program());
        assert!(i.authorizer_info.extra.contains_key("register_type"));
    }

    #[test]
    fn requests_serialize_with_documented_field_names() {
        let s = serde_json::to_string(&StartPushTicketRequest {
            component_appid: "c",
            component_secret: "s",
        })
        .unwrap();
        assert_eq!(s, r#"{"component_appid":"c","component_secret":"s"}"#);
        let s = serde_json::to_string(&ClearQuotaV2Request {
            component_appid: "c",
            appsecret: "s",
            appid: None,
        })
        .unwrap();
        assert_eq!(s, r#"{"component_appid":"c","appsecret":"s"}"#);
        let s = serde_json::to_string(&OptionRequest {
            option_name: "voice_recognize",
            option_value: Some("1"),
        })
        .unwrap();
        assert_eq!(s, r#"{"option_name":"voice_recognize","option_value":"1"}"#);
    }
}
