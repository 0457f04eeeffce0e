//! The component API surface the fake serves: for each of the client's endpoints, the token it
//! accepts and the request schema.
//!
//! This table is the fake's reading of `api-contracts.md`; a request that does not fit it gets the
//! platform's error object, never a success.

pub use wxopen_proto::api::Endpoint;
use wxopen_proto::api::TokenParam;

/// `POST /cgi-bin/message/custom/send?access_token=…` (send a customer-service message on
/// behalf of an authorized account, with its authorizer access token): not a component API,
/// so the client names it [`Endpoint::Other`]. The fake serves it for the release check
/// (see [`crate::release_check`]) and for hosts that answer their users; it models
/// `msgtype` `text` only.
///
/// Its checks, in order: `access_token` present (41001) and a live authorizer access token
/// (40001/42001; a component token is 40001); a non-empty body (44002) that is a JSON object
/// (47001) with only `touser`, `msgtype`, `text` and `customservice` (47001); `touser` a
/// non-empty string (40003); `msgtype` a non-empty string (40008), `text` (40008 otherwise);
/// `text` exactly `{"content": <non-empty string>}` (47001; 44004 empty content);
/// `customservice`, if present, exactly `{"kf_account": <string>}` (47001); the account still
/// authorized (61003); `touser` a user who wrote to this account (40003) within
/// [`FakeConfig::customer_service_window`](crate::FakeConfig::customer_service_window)
/// (45015). Accepted: `{"errcode":0,"errmsg":"ok"}`, recorded as a
/// [`SentMessage`](crate::SentMessage).
pub const CUSTOM_SEND: Endpoint = Endpoint::Other {
    path: "/cgi-bin/message/custom/send",
    token: TokenParam::AccessToken,
};

/// `GET /sns/oauth2/component/access_token?appid&code&grant_type=authorization_code
/// &component_appid&component_access_token`: a user's web-authorization code exchanged with the
/// **component** token (see [`crate::FakeWeChat::oauth_consent`] for the model).
pub const OAUTH_EXCHANGE: Endpoint = Endpoint::Other {
    path: "/sns/oauth2/component/access_token",
    token: TokenParam::ComponentAccessToken,
};
/// `GET /sns/oauth2/component/refresh_token?appid&grant_type=refresh_token&component_appid
/// &component_access_token&refresh_token`.
pub const OAUTH_REFRESH: Endpoint = Endpoint::Other {
    path: "/sns/oauth2/component/refresh_token",
    token: TokenParam::ComponentAccessToken,
};
/// `GET /sns/userinfo?access_token=<user token>&openid&lang`.
pub const USERINFO: Endpoint = Endpoint::Other {
    path: "/sns/userinfo",
    token: TokenParam::AccessToken,
};
/// `GET /sns/component/jscode2session?appid&js_code&grant_type=authorization_code
/// &component_appid&component_access_token`.
pub const JSCODE2SESSION: Endpoint = Endpoint::Other {
    path: "/sns/component/jscode2session",
    token: TokenParam::ComponentAccessToken,
};
/// `GET /connect/oauth2/authorize?…` (on `open.weixin.qq.com` in WeChat): the fake's consent
/// page, which consents at once and answers 302 to `redirect_uri` with `code`, `state`, `appid`.
pub const OAUTH_AUTHORIZE: Endpoint = Endpoint::Other {
    path: "/connect/oauth2/authorize",
    token: TokenParam::None,
};
/// The web-authorization and mini-program-login paths the fake serves (all `GET`).
pub const USER_AUTH_SERVED: [Endpoint; 5] = [
    OAUTH_EXCHANGE,
    OAUTH_REFRESH,
    USERINFO,
    JSCODE2SESSION,
    OAUTH_AUTHORIZE,
];

/// `GET /wxa/get_qrcode?access_token=…&path=…` (a mini program's trial code, authorizer
/// token): image bytes (`image/jpeg`) on success, JSON `{errcode, errmsg}` with status 200 on a
/// bad token, as WeChat answers it.
pub const GET_QRCODE: Endpoint = Endpoint::Other {
    path: "/wxa/get_qrcode",
    token: TokenParam::AccessToken,
};

/// `POST /wxa/getwxacodeunlimit?access_token=…` `{"scene": …, "page"?: …}`: `image/png`
/// bytes on success, JSON errors with status 200.
pub const WXACODE_UNLIMIT: Endpoint = Endpoint::Other {
    path: "/wxa/getwxacodeunlimit",
    token: TokenParam::AccessToken,
};

/// `POST /cgi-bin/media/upload?access_token=…&type=image|voice|video|thumb`: a
/// `multipart/form-data` body with a `media` file part (41005 without one); answers
/// `{"type", "media_id", "created_at"}`. Uploads are kept ([`crate::FakeWeChat::uploads`]).
pub const MEDIA_UPLOAD: Endpoint = Endpoint::Other {
    path: "/cgi-bin/media/upload",
    token: TokenParam::AccessToken,
};

/// `GET /cgi-bin/ticket/getticket?access_token=…&type=jsapi|wx_card`: an authorized account's
/// JS-SDK ticket, with **its** access token (a component token, or any other, is 40001;
/// missing token 41001; a `type` other than `jsapi`/`wx_card` 40097; the account no longer
/// authorized 61003). Each call issues a new ticket, valid 7200 s, and the previous one of
/// that account and type stops verifying (see `FakeWeChat::verify_jssdk_signature`).
pub const GETTICKET: Endpoint = Endpoint::Other {
    path: "/cgi-bin/ticket/getticket",
    token: TokenParam::AccessToken,
};

/// Which access token the fake accepts in an endpoint's query string (finer than the client's
/// [`wxopen_proto::api::TokenParam`], which names only the query parameter).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AcceptedToken {
    /// No token: the body authenticates (appsecret, ticket).
    None,
    /// `component_access_token=` (the newer docs' `access_token=` is accepted too).
    Component,
    /// `access_token=` carrying an authorizer access token.
    Authorizer,
    /// `access_token=` carrying either a component or an authorizer access token.
    ComponentOrAuthorizer,
}

/// The fake's request contract for one endpoint it serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Contract {
    /// The endpoint.
    pub endpoint: Endpoint,
    /// Which token the query string must carry.
    pub accepted_token: AcceptedToken,
    /// The request body schema: every allowed key, its type and whether it is required. Keys
    /// not listed are rejected.
    pub fields: &'static [FieldSpec],
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

/// The paths the fake serves, written from the platform's documentation — the fake's own list,
/// not the client's table: a wrong path in the client's table is then a test failure (the
/// request reaches no endpoint here), not a copy.
pub const SERVED: [(&str, Endpoint); 13] = [
    (
        "/cgi-bin/component/api_component_token",
        Endpoint::ComponentToken,
    ),
    (
        "/cgi-bin/component/api_create_preauthcode",
        Endpoint::CreatePreAuthCode,
    ),
    ("/cgi-bin/component/api_query_auth", Endpoint::QueryAuth),
    (
        "/cgi-bin/component/api_authorizer_token",
        Endpoint::AuthorizerToken,
    ),
    (
        "/cgi-bin/component/api_get_authorizer_info",
        Endpoint::GetAuthorizerInfo,
    ),
    (
        "/cgi-bin/component/api_get_authorizer_list",
        Endpoint::GetAuthorizerList,
    ),
    (
        "/cgi-bin/component/api_get_authorizer_option",
        Endpoint::GetAuthorizerOptionLegacy,
    ),
    (
        "/cgi-bin/component/api_set_authorizer_option",
        Endpoint::SetAuthorizerOptionLegacy,
    ),
    (
        "/cgi-bin/component/get_authorizer_option",
        Endpoint::GetAuthorizerOption,
    ),
    (
        "/cgi-bin/component/set_authorizer_option",
        Endpoint::SetAuthorizerOption,
    ),
    (
        "/cgi-bin/component/api_start_push_ticket",
        Endpoint::StartPushTicket,
    ),
    ("/cgi-bin/clear_quota", Endpoint::ClearQuota),
    ("/cgi-bin/component/clear_quota/v2", Endpoint::ClearQuotaV2),
];

/// The endpoint the fake serves at `path` (exact match, no trailing slash tolerance): one of
/// [`SERVED`], [`CUSTOM_SEND`], [`GETTICKET`], [`GET_QRCODE`], [`WXACODE_UNLIMIT`],
/// [`MEDIA_UPLOAD`], [`USER_AUTH_SERVED`], or a mini-program call ([`wxa_endpoint`]).
pub fn endpoint_at(path: &str) -> Option<Endpoint> {
    SERVED
        .into_iter()
        .chain([
            ("/cgi-bin/message/custom/send", CUSTOM_SEND),
            ("/wxa/get_qrcode", GET_QRCODE),
            ("/wxa/getwxacodeunlimit", WXACODE_UNLIMIT),
            ("/cgi-bin/media/upload", MEDIA_UPLOAD),
            ("/cgi-bin/ticket/getticket", GETTICKET),
        ])
        .chain(USER_AUTH_SERVED.into_iter().map(|e| (e.path(), e)))
        .find(|(p, _)| *p == path)
        .map(|(_, e)| e)
        .or_else(|| wxopen_proto::wxa::WxaApi::from_path(path).map(wxa_endpoint))
}

/// The [`Endpoint`] under which the fake records, counts and injects faults into a
/// mini-program call ([`wxopen_proto::wxa::WxaApi`]): [`Endpoint::Other`] with its path.
pub fn wxa_endpoint(api: wxopen_proto::wxa::WxaApi) -> Endpoint {
    Endpoint::Other {
        path: api.path(),
        token: TokenParam::AccessToken,
    }
}

/// The fake's contract for a component-API `endpoint`; `None` for [`Endpoint::Other`] paths:
/// [`CUSTOM_SEND`] is served with its own checks (its body is nested; see its docs), any other
/// path is not served (404).
pub fn contract(endpoint: Endpoint) -> Option<Contract> {
    let accepted_token = match endpoint {
        Endpoint::ComponentToken | Endpoint::StartPushTicket | Endpoint::ClearQuotaV2 => {
            AcceptedToken::None
        }
        Endpoint::GetAuthorizerOption | Endpoint::SetAuthorizerOption => AcceptedToken::Authorizer,
        Endpoint::ClearQuota => AcceptedToken::ComponentOrAuthorizer,
        Endpoint::CreatePreAuthCode
        | Endpoint::QueryAuth
        | Endpoint::AuthorizerToken
        | Endpoint::GetAuthorizerInfo
        | Endpoint::GetAuthorizerList
        | Endpoint::GetAuthorizerOptionLegacy
        | Endpoint::SetAuthorizerOptionLegacy => AcceptedToken::Component,
        _ => return None,
    };
    let fields = match endpoint {
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
        Endpoint::GetAuthorizerOptionLegacy => fields![
            req("component_appid"),
            req("authorizer_appid"),
            req("option_name"),
        ],
        Endpoint::SetAuthorizerOptionLegacy => fields![
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
        _ => return None,
    };
    Some(Contract {
        endpoint,
        accepted_token,
        fields,
    })
}

/// The platform error code for a required field that is absent (or, where the platform is
/// documented to do so, `null`).
pub(crate) fn missing_code(field: &str) -> i64 {
    match field {
        "component_appid" | "authorizer_appid" | "appid" => 41002,
        "component_appsecret" | "component_secret" | "appsecret" => 41004,
        // A missing/null ticket is reported as an invalid ticket (WxJava#2968 log).
        "component_verify_ticket" => 61006,
        "authorizer_refresh_token" => 41003,
        _ => 47001,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clients_table_matches_the_fakes_own_paths() {
        use wxopen_proto::api::ENDPOINTS;
        assert_eq!(
            ENDPOINTS.len(),
            SERVED.len(),
            "an endpoint the fake does not serve"
        );
        for (path, e) in SERVED {
            assert_eq!(e.path(), path, "the client's path for {e:?}");
        }
        assert_eq!(CUSTOM_SEND.path(), "/cgi-bin/message/custom/send");
    }

    #[test]
    fn every_client_endpoint_is_served_once() {
        use wxopen_proto::api::ENDPOINTS;
        for e in ENDPOINTS {
            assert_eq!(endpoint_at(e.path()), Some(e));
            assert_eq!(contract(e).map(|c| c.endpoint), Some(e));
        }
        assert_eq!(endpoint_at("/cgi-bin/component/api_component_token/"), None);
        let other = Endpoint::Other {
            path: "/cgi-bin/message/mass/send",
            token: TokenParam::AccessToken,
        };
        assert_eq!(contract(other), None);
        assert_eq!(endpoint_at(other.path()), None);
        assert_eq!(endpoint_at(CUSTOM_SEND.path()), Some(CUSTOM_SEND));
        assert_eq!(contract(CUSTOM_SEND), None);
        let mut paths: Vec<_> = ENDPOINTS.iter().map(|e| e.path()).collect();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), ENDPOINTS.len());
    }
}
