//! Web authorization (代公众号网页授权) and mini-program login (代小程序登录) on behalf of an
//! authorized account, as pure data and rules: the OAuth link, the typed redirect, the answers
//! of the exchanges, and which errcodes settle a user's one-time code.
//!
//! Facts, and how they were checked (searched 2026-12-08): the `jscode2session` path, its
//! parameters (`appid`, `js_code`, `grant_type=authorization_code`, `component_appid`,
//! `component_access_token`), its answer (`openid`, `session_key`, `unionid?`) and the
//! errcodes 40029, 45011 and 61003 are on the official pages (developers.weixin.qq.com
//! `thirdpartyCode2Session` and the Third-party Platform 2.0 "小程序登录" page). The OAuth link,
//! the `/sns/oauth2/component/access_token` exchange and the component token it takes (not the
//! account's: the account's own token is answered 40001) are confirmed by the official
//! community's answers linking the Third-party Platform 2.0 page
//! `official_account_website_authorization.html`, whose text was not itself retrievable; the
//! refresh and `/sns/userinfo` calls, 40163 (code used), 41008 (code missing) and 40226
//! (high-risk user) come from `api-contracts.md` §19: the search found no official page stating
//! them, so they are unconfirmed (an unknown errcode stays a plain WeChat error either way).

use serde::{Deserialize, Serialize};

use crate::auth_url::{encode_component, AuthUrlOptions};
use crate::error::Error;
use crate::secret::OAuthCode;
pub use crate::user_answers::{JsSession, UserInfo, UserToken};

/// The page an account's user opens to authorize (the link ends `#wechat_redirect`).
pub const OAUTH_AUTHORIZE_PAGE: &str = "https://open.weixin.qq.com/connect/oauth2/authorize";
/// `GET`: exchange a web-authorization code with the component token.
pub const OAUTH_EXCHANGE_PATH: &str = "/sns/oauth2/component/access_token";
/// `GET`: refresh a user's web-authorization token with the component token.
pub const OAUTH_REFRESH_PATH: &str = "/sns/oauth2/component/refresh_token";
/// `GET`: a user's profile, with that user's token (`snsapi_userinfo` only).
pub const USERINFO_PATH: &str = "/sns/userinfo";
/// `GET`: exchange a mini program's `js_code` with the component token.
pub const JSCODE2SESSION_PATH: &str = "/sns/component/jscode2session";
/// Longest `state` WeChat carries back (bytes).
pub const MAX_STATE_LEN: usize = 128;
/// Longest code, token or openid accepted as input (bytes); WeChat's are far shorter.
pub const MAX_USER_CODE_LEN: usize = 512;

/// What the user is asked to grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum OAuthScope {
    /// `snsapi_base`: the openid only, without a consent page.
    #[serde(rename = "snsapi_base")]
    Base,
    /// `snsapi_userinfo`: the openid and the profile, after the user consents.
    #[serde(rename = "snsapi_userinfo")]
    UserInfo,
}

impl OAuthScope {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            OAuthScope::Base => "snsapi_base",
            OAuthScope::UserInfo => "snsapi_userinfo",
        }
    }

    /// The scope a wire name names.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "snsapi_base" => Some(OAuthScope::Base),
            "snsapi_userinfo" => Some(OAuthScope::UserInfo),
            _ => None,
        }
    }
}

/// `true` for a `state` WeChat carries back unchanged: at most [`MAX_STATE_LEN`] bytes of
/// `A-Z a-z 0-9` (what the official page allows), plus `-` and `_`.
pub fn valid_state(state: &str) -> bool {
    state.len() <= MAX_STATE_LEN
        && state
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `true` for a plausible appid (1 to 64 ASCII letters, digits or `_`).
fn valid_appid(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `true` for a one-time code, token or openid worth sending: 1 to [`MAX_USER_CODE_LEN`]
/// printable ASCII bytes.
pub fn valid_user_code(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_USER_CODE_LEN && s.bytes().all(|b| b.is_ascii_graphic())
}

/// Builds the web-authorization link of `authorizer_appid` on behalf of `component_appid`:
/// `…/connect/oauth2/authorize?appid=…&redirect_uri=…&response_type=code&scope=…&state=…
/// &component_appid=…#wechat_redirect`. `redirect_uri` must be an absolute http(s) URL (on the
/// component's web domain, which WeChat checks), `state` see [`valid_state`].
///
/// ```
/// use wxopen_proto::user_oauth::{oauth_url, OAuthScope};
/// let link = oauth_url("wxaccount", "wxcomponent", "https://h.example/cb?x=1", OAuthScope::Base, "s1")?;
/// assert_eq!(link, "https://open.weixin.qq.com/connect/oauth2/authorize?appid=wxaccount\
///     &redirect_uri=https%3A%2F%2Fh.example%2Fcb%3Fx%3D1&response_type=code&scope=snsapi_base\
///     &state=s1&component_appid=wxcomponent#wechat_redirect");
/// # Ok::<(), wxopen_proto::Error>(())
/// ```
pub fn oauth_url(
    authorizer_appid: &str,
    component_appid: &str,
    redirect_uri: &str,
    scope: OAuthScope,
    state: &str,
) -> Result<String, Error> {
    if !valid_appid(authorizer_appid) {
        return Err(Error::invalid(
            "appid",
            "must be 1 to 64 ASCII letters, digits or `_`",
        ));
    }
    if !valid_appid(component_appid) {
        return Err(Error::invalid(
            "component_appid",
            "must be 1 to 64 ASCII letters, digits or `_`",
        ));
    }
    AuthUrlOptions::new(redirect_uri)
        .allow_http(true)
        .validate()?;
    if !valid_state(state) {
        return Err(Error::invalid(
            "state",
            format!("must be at most {MAX_STATE_LEN} bytes of A-Z, a-z, 0-9, `-` or `_`"),
        ));
    }
    let mut url = String::from(OAUTH_AUTHORIZE_PAGE);
    for (i, (k, v)) in [
        ("appid", authorizer_appid),
        ("redirect_uri", redirect_uri),
        ("response_type", "code"),
        ("scope", scope.as_str()),
        ("state", state),
        ("component_appid", component_appid),
    ]
    .into_iter()
    .enumerate()
    {
        url.push(if i == 0 { '?' } else { '&' });
        url.push_str(k);
        url.push('=');
        url.push_str(&encode_component(v));
    }
    url.push_str("#wechat_redirect");
    Ok(url)
}

/// What the browser brought back to `redirect_uri`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OAuthCallback {
    /// The user agreed (or `snsapi_base` asked nothing): exchange `code`.
    Granted {
        /// The one-time code (5 minutes).
        code: OAuthCode,
        /// The `state` of the link.
        state: String,
        /// The account (`appid`), when WeChat added it.
        appid: Option<String>,
    },
    /// No `code`: the user refused (WeChat redirects with `state` only).
    Refused {
        /// The `state` of the link.
        state: String,
        /// The account, when WeChat added it.
        appid: Option<String>,
    },
}

/// Longest callback query accepted (bytes).
pub const MAX_CALLBACK_QUERY_LEN: usize = 4096;

/// Parses the callback's query string (without `?`): `code`, `state`, `appid`. A missing or
/// empty `code` is [`OAuthCallback::Refused`]; a malformed one, a bad `state` or a repeated
/// parameter is an error.
pub fn parse_oauth_callback(query: &str) -> Result<OAuthCallback, Error> {
    if query.len() > MAX_CALLBACK_QUERY_LEN {
        return Err(Error::invalid("callback query", "too long"));
    }
    let (mut code, mut state, mut appid) = (None, None, None);
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        let slot = match k.as_ref() {
            "code" => &mut code,
            "state" => &mut state,
            "appid" => &mut appid,
            _ => continue,
        };
        if slot.replace(v.into_owned()).is_some() {
            return Err(Error::invalid(
                "callback query",
                format!("`{k}` given twice"),
            ));
        }
    }
    let state = state.unwrap_or_default();
    if !valid_state(&state) {
        return Err(Error::invalid("state", "not a state this library issues"));
    }
    if let Some(a) = &appid {
        if !valid_appid(a) {
            return Err(Error::invalid("appid", "not an appid"));
        }
    }
    match code.filter(|c| !c.is_empty()) {
        None => Ok(OAuthCallback::Refused { state, appid }),
        Some(c) if valid_user_code(&c) => Ok(OAuthCallback::Granted {
            code: OAuthCode::new(c),
            state,
            appid,
        }),
        Some(_) => Err(Error::invalid("code", "not a code WeChat issues")),
    }
}

/// Why WeChat refused a user's one-time code (or its user): the typed form of the errcodes of
/// the exchanges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CodeRefusal {
    /// 40029: unknown, expired, or issued for another account.
    InvalidCode,
    /// 40163: already exchanged.
    CodeUsed,
    /// 41008: no code sent.
    CodeMissing,
    /// 45011: too many calls this minute; try again later with a new code.
    RateLimited,
    /// 40226: WeChat flagged the user as high-risk and refuses the login.
    HighRiskUser,
}

impl CodeRefusal {
    /// The refusal an errcode names, if it is one.
    pub fn from_errcode(errcode: i64) -> Option<Self> {
        match errcode {
            40029 => Some(CodeRefusal::InvalidCode),
            40163 => Some(CodeRefusal::CodeUsed),
            41008 => Some(CodeRefusal::CodeMissing),
            45011 => Some(CodeRefusal::RateLimited),
            40226 => Some(CodeRefusal::HighRiskUser),
            _ => None,
        }
    }

    /// WeChat's errcode.
    pub fn errcode(self) -> i64 {
        match self {
            CodeRefusal::InvalidCode => 40029,
            CodeRefusal::CodeUsed => 40163,
            CodeRefusal::CodeMissing => 41008,
            CodeRefusal::RateLimited => 45011,
            CodeRefusal::HighRiskUser => 40226,
        }
    }

    /// `true` when the code is spent whatever one tries next, so its outcome is kept and
    /// shared (every refusal but [`RateLimited`](Self::RateLimited), after which the code may
    /// still be good: WeChat refused the call, not the code).
    pub fn settles_the_code(self) -> bool {
        !matches!(self, CodeRefusal::RateLimited)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn link_is_exact_and_inputs_are_checked() {
        let link = oauth_url(
            "wxacc",
            "wxcomp",
            "http://127.0.0.1:8080/cb",
            OAuthScope::UserInfo,
            "",
        )
        .unwrap();
        assert_eq!(
            link,
            "https://open.weixin.qq.com/connect/oauth2/authorize?appid=wxacc&redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Fcb&response_type=code&scope=snsapi_userinfo&state=&component_appid=wxcomp#wechat_redirect"
        );
        let long = "a".repeat(MAX_STATE_LEN + 1);
        // (authorizer, redirect, state, field refused)
        let bad = [
            ("", "https://h/cb", "s", "appid"),
            ("wx-a", "https://h/cb", "s", "appid"),
            ("wxa", "/cb", "s", "redirect_uri"),
            ("wxa", "ftp://h/cb", "s", "redirect_uri"),
            ("wxa", "https://h/cb", "a b", "state"),
            ("wxa", "https://h/cb", "a&b=c", "state"),
            ("wxa", "https://h/cb", &long, "state"),
        ];
        for (appid, redirect, state, field) in bad {
            let e = oauth_url(appid, "wxcomp", redirect, OAuthScope::Base, state).unwrap_err();
            assert!(
                matches!(e, Error::InvalidInput { what, .. } if what == field),
                "{appid} {redirect} {state}: {e:?}"
            );
        }
        assert!(oauth_url(
            "wxa",
            "wxcomp",
            "https://h/cb",
            OAuthScope::Base,
            &long[1..]
        )
        .is_ok());
        assert_eq!(OAuthScope::parse("snsapi_base"), Some(OAuthScope::Base));
        assert_eq!(OAuthScope::parse("snsapi_login"), None);
    }

    #[test]
    fn callbacks() {
        let granted = parse_oauth_callback("code=c0de&state=s1&appid=wxacc").unwrap();
        assert_eq!(
            granted,
            OAuthCallback::Granted {
                code: OAuthCode::new("c0de"),
                state: "s1".into(),
                appid: Some("wxacc".into())
            }
        );
        assert_eq!(
            parse_oauth_callback("state=s1").unwrap(),
            OAuthCallback::Refused {
                state: "s1".into(),
                appid: None
            }
        );
        assert!(matches!(
            parse_oauth_callback("code=&state=s1&appid=wxacc").unwrap(),
            OAuthCallback::Refused { .. }
        ));
        for bad in [
            "code=a&code=b",
            "code=a&state=x%20y",
            "code=a%00b",
            "code=a&appid=wx%2F",
        ] {
            assert!(parse_oauth_callback(bad).is_err(), "{bad}");
        }
        assert!(parse_oauth_callback(&"x".repeat(MAX_CALLBACK_QUERY_LEN + 1)).is_err());
    }

    #[test]
    fn refusals() {
        for code in [40029, 40163, 41008, 45011, 40226] {
            let r = CodeRefusal::from_errcode(code).unwrap();
            assert_eq!(r.errcode(), code);
            assert_eq!(r.settles_the_code(), code != 45011, "{code}");
        }
        assert_eq!(CodeRefusal::from_errcode(40001), None);
        assert_eq!(CodeRefusal::from_errcode(-1), None);
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let s: JsSession =
            serde_json::from_str(r#"{"openid":"o1","session_key":"SeSsIoNkEy=="}"#).unwrap();
        let shown = format!("{s:?}");
        assert!(!shown.contains("SeSsIoNkEy"), "{shown}");
        let t: UserToken = serde_json::from_str(
            r#"{"access_token":"UsErToKeN","expires_in":7200,"refresh_token":"ReFrEsH","openid":"o","scope":"snsapi_base"}"#,
        )
        .unwrap();
        let shown = format!("{t:?}");
        assert!(
            !shown.contains("UsErToKeN") && !shown.contains("ReFrEsH"),
            "{shown}"
        );
    }
}
