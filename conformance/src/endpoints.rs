//! The component API surface the fake serves: paths, token parameter and request schema.
//!
//! This table is the fake's reading of `api-contracts.md`; a request that does not fit it gets the
//! platform's error object, never a success.

use std::fmt;

/// One JSON API endpoint of the WeChat Open Platform component API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Endpoint {
    /// `POST /cgi-bin/component/api_component_token` (no token in the query).
    ComponentToken,
    /// `POST /cgi-bin/component/api_create_preauthcode?component_access_token=…`.
    CreatePreAuthCode,
    /// `POST /cgi-bin/component/api_query_auth?component_access_token=…`.
    QueryAuth,
    /// `POST /cgi-bin/component/api_authorizer_token?component_access_token=…`.
    AuthorizerToken,
    /// `POST /cgi-bin/component/api_get_authorizer_info?component_access_token=…`.
    GetAuthorizerInfo,
    /// `POST /cgi-bin/component/api_get_authorizer_list?component_access_token=…`.
    GetAuthorizerList,
    /// Legacy `POST /cgi-bin/component/api_get_authorizer_option?component_access_token=…`.
    ApiGetAuthorizerOption,
    /// Legacy `POST /cgi-bin/component/api_set_authorizer_option?component_access_token=…`.
    ApiSetAuthorizerOption,
    /// New `POST /cgi-bin/component/get_authorizer_option?access_token=AUTHORIZER_ACCESS_TOKEN`.
    GetAuthorizerOption,
    /// New `POST /cgi-bin/component/set_authorizer_option?access_token=AUTHORIZER_ACCESS_TOKEN`.
    SetAuthorizerOption,
    /// `POST /cgi-bin/component/api_start_push_ticket` (no token in the query).
    StartPushTicket,
    /// `POST /cgi-bin/clear_quota?access_token=…` (component or authorizer access token).
    ClearQuota,
    /// `POST /cgi-bin/component/clear_quota/v2` (no token; authenticated by the appsecret).
    ClearQuotaV2,
}

/// Which access token an endpoint expects in its query string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenParam {
    /// No token: the body authenticates (appsecret, ticket).
    None,
    /// `component_access_token=` (the newer docs' `access_token=` is accepted too).
    Component,
    /// `access_token=` carrying an authorizer access token.
    Authorizer,
    /// `access_token=` carrying either a component or an authorizer access token.
    ComponentOrAuthorizer,
}

/// JSON type of a request field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldType {
    /// A JSON string.
    Str,
    /// A non-negative JSON integer.
    UInt,
}

/// One field of a request body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldSpec {
    /// Exact JSON key.
    pub name: &'static str,
    /// Expected JSON type.
    pub ty: FieldType,
    /// Whether the field must be present.
    pub required: bool,
}

const fn req(name: &'static str) -> FieldSpec {
    FieldSpec {
        name,
        ty: FieldType::Str,
        required: true,
    }
}

const fn req_uint(name: &'static str) -> FieldSpec {
    FieldSpec {
        name,
        ty: FieldType::UInt,
        required: true,
    }
}

const fn opt(name: &'static str) -> FieldSpec {
    FieldSpec {
        name,
        ty: FieldType::Str,
        required: false,
    }
}

macro_rules! fields {
    ($($f:expr),* $(,)?) => {{
        const FIELDS: &[FieldSpec] = &[$($f),*];
        FIELDS
    }};
}

impl Endpoint {
    /// Every endpoint, in declaration order.
    pub const ALL: [Endpoint; 13] = [
        Endpoint::ComponentToken,
        Endpoint::CreatePreAuthCode,
        Endpoint::QueryAuth,
        Endpoint::AuthorizerToken,
        Endpoint::GetAuthorizerInfo,
        Endpoint::GetAuthorizerList,
        Endpoint::ApiGetAuthorizerOption,
        Endpoint::ApiSetAuthorizerOption,
        Endpoint::GetAuthorizerOption,
        Endpoint::SetAuthorizerOption,
        Endpoint::StartPushTicket,
        Endpoint::ClearQuota,
        Endpoint::ClearQuotaV2,
    ];

    /// The exact request path.
    pub const fn path(self) -> &'static str {
        match self {
            Endpoint::ComponentToken => "/cgi-bin/component/api_component_token",
            Endpoint::CreatePreAuthCode => "/cgi-bin/component/api_create_preauthcode",
            Endpoint::QueryAuth => "/cgi-bin/component/api_query_auth",
            Endpoint::AuthorizerToken => "/cgi-bin/component/api_authorizer_token",
            Endpoint::GetAuthorizerInfo => "/cgi-bin/component/api_get_authorizer_info",
            Endpoint::GetAuthorizerList => "/cgi-bin/component/api_get_authorizer_list",
            Endpoint::ApiGetAuthorizerOption => "/cgi-bin/component/api_get_authorizer_option",
            Endpoint::ApiSetAuthorizerOption => "/cgi-bin/component/api_set_authorizer_option",
            Endpoint::GetAuthorizerOption => "/cgi-bin/component/get_authorizer_option",
            Endpoint::SetAuthorizerOption => "/cgi-bin/component/set_authorizer_option",
            Endpoint::StartPushTicket => "/cgi-bin/component/api_start_push_ticket",
            Endpoint::ClearQuota => "/cgi-bin/clear_quota",
            Endpoint::ClearQuotaV2 => "/cgi-bin/component/clear_quota/v2",
        }
    }

    /// The endpoint served at `path`, if any (exact match, no trailing slash tolerance).
    pub fn from_path(path: &str) -> Option<Endpoint> {
        Endpoint::ALL.into_iter().find(|e| e.path() == path)
    }

    /// Which token the query string must carry.
    pub const fn token_param(self) -> TokenParam {
        match self {
            Endpoint::ComponentToken | Endpoint::StartPushTicket | Endpoint::ClearQuotaV2 => {
                TokenParam::None
            }
            Endpoint::GetAuthorizerOption | Endpoint::SetAuthorizerOption => TokenParam::Authorizer,
            Endpoint::ClearQuota => TokenParam::ComponentOrAuthorizer,
            _ => TokenParam::Component,
        }
    }

    /// The request body schema: every allowed key, its type and whether it is required. Keys not
    /// listed are rejected.
    pub const fn fields(self) -> &'static [FieldSpec] {
        match self {
            Endpoint::ComponentToken => fields![
                req("component_appid"),
                req("component_appsecret"),
                req("component_verify_ticket"),
            ],
            Endpoint::CreatePreAuthCode => fields![req("component_appid")],
            Endpoint::QueryAuth => fields![req("component_appid"), req("authorization_code")],
            Endpoint::AuthorizerToken => fields![
                req("component_appid"),
                req("authorizer_appid"),
                req("authorizer_refresh_token"),
            ],
            Endpoint::GetAuthorizerInfo => fields![req("component_appid"), req("authorizer_appid")],
            Endpoint::GetAuthorizerList => fields![
                req("component_appid"),
                req_uint("offset"),
                req_uint("count"),
            ],
            Endpoint::ApiGetAuthorizerOption => fields![
                req("component_appid"),
                req("authorizer_appid"),
                req("option_name"),
            ],
            Endpoint::ApiSetAuthorizerOption => fields![
                req("component_appid"),
                req("authorizer_appid"),
                req("option_name"),
                req("option_value"),
            ],
            Endpoint::GetAuthorizerOption => fields![req("option_name")],
            Endpoint::SetAuthorizerOption => fields![req("option_name"), req("option_value")],
            Endpoint::StartPushTicket => fields![req("component_appid"), req("component_secret")],
            Endpoint::ClearQuota => fields![req("appid")],
            Endpoint::ClearQuotaV2 => {
                fields![req("component_appid"), req("appsecret"), opt("appid")]
            }
        }
    }

    /// The platform error code for a required field that is absent (or, where the platform is
    /// documented to do so, `null`).
    pub(crate) fn missing_code(self, field: &str) -> i64 {
        match field {
            "component_appid" | "authorizer_appid" | "appid" => 41002,
            "component_appsecret" | "component_secret" | "appsecret" => 41004,
            // A missing/null ticket is reported as an invalid ticket (WxJava#2968 log).
            "component_verify_ticket" => 61006,
            "authorizer_refresh_token" => 41003,
            _ => 47001,
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.path())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_round_trip_and_are_unique() {
        for e in Endpoint::ALL {
            assert_eq!(Endpoint::from_path(e.path()), Some(e));
        }
        assert_eq!(
            Endpoint::from_path("/cgi-bin/component/api_component_token/"),
            None
        );
        let mut paths: Vec<_> = Endpoint::ALL.iter().map(|e| e.path()).collect();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), Endpoint::ALL.len());
    }
}
