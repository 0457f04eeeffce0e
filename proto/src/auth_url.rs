//! Authorization page URLs (pure): the PC scan page (`componentloginpage`) and the mobile H5
//! page (`bindcomponent` on `open.weixin.qq.com/wxaopen`).
//!
//! ```
//! use wxopen_proto::{AuthPage, AuthType, AuthUrlOptions, PreAuthCode};
//! use wxopen_proto::auth_url::authorization_url;
//!
//! let options = AuthUrlOptions::new("https://example.com/wx/callback")
//!     .auth_type(AuthType::MiniPrograms)
//!     .category_ids([1, 17]);
//! let url = authorization_url(AuthPage::H5, "wxcomponent", &PreAuthCode::new("p"), &options)?;
//! assert!(url.starts_with("https://open.weixin.qq.com/wxaopen/safe/bindcomponent?"));
//! assert!(url.ends_with("&category_id_list=1%7C17#wechat_redirect"));
//! # Ok::<(), wxopen_proto::Error>(())
//! ```

use crate::error::Error;
use crate::secret::PreAuthCode;

/// The PC (QR-code scan) authorization page.
pub const PC_PAGE: &str = "https://mp.weixin.qq.com/cgi-bin/componentloginpage";
/// The mobile (H5, opened inside WeChat) authorization page.
pub const H5_PAGE: &str = "https://open.weixin.qq.com/wxaopen/safe/bindcomponent";
/// Longest `redirect_uri` accepted, in bytes.
pub const MAX_REDIRECT_URI_LEN: usize = 2048;
/// Most permission-set ids accepted in `category_id_list`.
pub const MAX_CATEGORY_IDS: usize = 256;
/// Longest appid accepted for `biz_appid`, in bytes.
pub const MAX_BIZ_APPID_LEN: usize = 32;
/// Longest component appid accepted, in bytes.
const MAX_COMPONENT_APPID_LEN: usize = 64;
/// Longest `pre_auth_code` accepted, in bytes.
const MAX_PRE_AUTH_CODE_LEN: usize = 1024;

/// Which authorization page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthPage {
    /// [`PC_PAGE`] (the admin scans a QR code).
    Pc,
    /// [`H5_PAGE`] (opened inside WeChat on a phone). The legacy `mp.weixin.qq.com` H5 form is
    /// not used.
    H5,
}

/// Which accounts the page offers (`auth_type`).
///
/// The official page lists 1, 2, 3, 4, 5, 6 and 8. Values whose labels could not be
/// confirmed (4 and 8, listed in connection with 推客/带货 accounts) and any value WeChat adds
/// later are passed as [`AuthType::Other`]; [`AuthType::from_code`] maps a number to the named
/// variant where there is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum AuthType {
    /// 1: official accounts only.
    OfficialAccounts,
    /// 2: mini programs only.
    MiniPrograms,
    /// 3: official accounts and mini programs (the default).
    #[default]
    Both,
    /// 5: channels (视频号) only.
    Channels,
    /// 6: every kind, channels included.
    All,
    /// Any other documented or future value (e.g. 4 or 8), sent as is. Must not be 0.
    Other(u8),
}

impl AuthType {
    /// The numeric `auth_type` value.
    pub fn value(self) -> u8 {
        match self {
            AuthType::OfficialAccounts => 1,
            AuthType::MiniPrograms => 2,
            AuthType::Both => 3,
            AuthType::Channels => 5,
            AuthType::All => 6,
            AuthType::Other(n) => n,
        }
    }

    /// The variant for a numeric value: the named one where there is one, else
    /// [`AuthType::Other`]; `None` for 0.
    pub fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => return None,
            1 => AuthType::OfficialAccounts,
            2 => AuthType::MiniPrograms,
            3 => AuthType::Both,
            5 => AuthType::Channels,
            6 => AuthType::All,
            n => AuthType::Other(n),
        })
    }
}

/// Options of an authorization URL.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthUrlOptions {
    /// Where WeChat redirects with `auth_code` and `expires_in`: an absolute https URL on the
    /// component's configured authorization domain (http only with
    /// [`allow_http`](Self::allow_http)).
    pub redirect_uri: String,
    /// Which accounts are offered.
    pub auth_type: AuthType,
    /// Restrict the page to one account (wins over a conflicting `auth_type`).
    pub biz_appid: Option<String>,
    /// Restrict the permission sets shown (`category_id_list`, ids joined with `|`).
    /// Empty means no restriction.
    pub category_ids: Vec<u32>,
    /// Accept an `http://` redirect URI (local development only; WeChat documents https).
    pub allow_http: bool,
}

impl AuthUrlOptions {
    /// Options with a redirect URI, `auth_type` 3, no restriction, https only.
    pub fn new(redirect_uri: impl Into<String>) -> Self {
        Self {
            redirect_uri: redirect_uri.into(),
            auth_type: AuthType::Both,
            biz_appid: None,
            category_ids: Vec::new(),
            allow_http: false,
        }
    }

    /// Sets `auth_type`.
    pub fn auth_type(mut self, auth_type: AuthType) -> Self {
        self.auth_type = auth_type;
        self
    }

    /// Sets `biz_appid`.
    pub fn biz_appid(mut self, appid: impl Into<String>) -> Self {
        self.biz_appid = Some(appid.into());
        self
    }

    /// Sets the permission-set ids of `category_id_list` (e.g. `[1, 17]` → `1|17`). At most
    /// [`MAX_CATEGORY_IDS`]; more is an error when the URL is built.
    pub fn category_ids(mut self, ids: impl IntoIterator<Item = u32>) -> Self {
        // Bounded: one more than the limit is enough to report the error.
        self.category_ids = ids.into_iter().take(MAX_CATEGORY_IDS + 1).collect();
        self
    }

    /// Accepts (`true`) or refuses (`false`, the default) an `http://` redirect URI.
    pub fn allow_http(mut self, allow: bool) -> Self {
        self.allow_http = allow;
        self
    }

    /// Checks every option (the URL builders call this).
    pub fn validate(&self) -> Result<(), Error> {
        if self.redirect_uri.len() > MAX_REDIRECT_URI_LEN {
            return Err(Error::invalid(
                "redirect_uri",
                format!("longer than {MAX_REDIRECT_URI_LEN} bytes"),
            ));
        }
        if self.redirect_uri.chars().any(char::is_control) {
            return Err(Error::invalid(
                "redirect_uri",
                "contains control characters",
            ));
        }
        let redirect = url::Url::parse(&self.redirect_uri)
            .map_err(|e| Error::invalid("redirect_uri", e.to_string()))?;
        match redirect.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            "http" => {
                return Err(Error::invalid(
                    "redirect_uri",
                    "must be https (allow_http(true) accepts http for local development)",
                ))
            }
            _ => {
                return Err(Error::invalid(
                    "redirect_uri",
                    "must be an absolute https URL",
                ))
            }
        }
        if redirect.host_str().is_none_or(str::is_empty) {
            return Err(Error::invalid("redirect_uri", "must name a host"));
        }
        if self.auth_type.value() == 0 {
            return Err(Error::invalid("auth_type", "0 is not an auth_type"));
        }
        if let Some(b) = &self.biz_appid {
            if !valid_appid(b, MAX_BIZ_APPID_LEN) {
                return Err(Error::invalid(
                    "biz_appid",
                    format!("must be 1 to {MAX_BIZ_APPID_LEN} ASCII letters, digits or `_`"),
                ));
            }
        }
        if self.category_ids.len() > MAX_CATEGORY_IDS {
            return Err(Error::invalid(
                "category_id_list",
                format!("more than {MAX_CATEGORY_IDS} ids"),
            ));
        }
        if self.category_ids.contains(&0) {
            return Err(Error::invalid(
                "category_id_list",
                "0 is not a permission-set id",
            ));
        }
        Ok(())
    }
}

/// Percent-encodes everything except RFC 3986 unreserved characters (`A-Za-z0-9-._~`).
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len().saturating_mul(3));
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
    out
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

fn valid_appid(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Builds an authorization page URL. Validates every input and percent-encodes every value.
///
/// PC: `componentloginpage?component_appid=…&pre_auth_code=…&redirect_uri=…&auth_type=…
/// [&biz_appid=…][&category_id_list=…]`; H5: the same parameters after
/// `bindcomponent?action=bindcomponent&no_scan=1&`, then `#wechat_redirect`.
pub fn authorization_url(
    page: AuthPage,
    component_appid: &str,
    pre_auth_code: &PreAuthCode,
    opts: &AuthUrlOptions,
) -> Result<String, Error> {
    if !valid_appid(component_appid, MAX_COMPONENT_APPID_LEN) {
        return Err(Error::invalid(
            "component_appid",
            "must be a non-empty alphanumeric appid",
        ));
    }
    let code = pre_auth_code.expose_secret();
    if code.is_empty() || code.len() > MAX_PRE_AUTH_CODE_LEN || code.chars().any(char::is_control) {
        return Err(Error::invalid(
            "pre_auth_code",
            "empty, too long or contains control characters",
        ));
    }
    opts.validate()?;

    let mut url = String::from(match page {
        AuthPage::Pc => PC_PAGE,
        AuthPage::H5 => H5_PAGE,
    });
    url.push('?');
    if page == AuthPage::H5 {
        url.push_str("action=bindcomponent&no_scan=1&");
    }
    url.push_str("component_appid=");
    url.push_str(&encode_component(component_appid));
    url.push_str("&pre_auth_code=");
    url.push_str(&encode_component(code));
    url.push_str("&redirect_uri=");
    // Encode what the caller wrote (not the parser's normalized form), so the redirect comes
    // back exactly as configured.
    url.push_str(&encode_component(&opts.redirect_uri));
    url.push_str("&auth_type=");
    url.push_str(&opts.auth_type.value().to_string());
    if let Some(b) = &opts.biz_appid {
        url.push_str("&biz_appid=");
        url.push_str(&encode_component(b));
    }
    if !opts.category_ids.is_empty() {
        let joined = opts
            .category_ids
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join("|");
        url.push_str("&category_id_list=");
        url.push_str(&encode_component(&joined));
    }
    if page == AuthPage::H5 {
        url.push_str("#wechat_redirect");
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn encoding_is_rfc3986_unreserved() {
        assert_eq!(encode_component("aZ09-._~"), "aZ09-._~");
        assert_eq!(
            encode_component("a b+c/d?e=f&g#h"),
            "a%20b%2Bc%2Fd%3Fe%3Df%26g%23h"
        );
        assert_eq!(encode_component("中"), "%E4%B8%AD");
        assert_eq!(encode_component("preauthcode@@@x"), "preauthcode%40%40%40x");
    }

    #[test]
    fn pc_url_exact() {
        let u = authorization_url(
            AuthPage::Pc,
            "wxcomp",
            &PreAuthCode::new("preauthcode@@@abc"),
            &AuthUrlOptions::new("https://example.com/cb?x=1&y=a b"),
        )
        .unwrap();
        assert_eq!(
            u,
            "https://mp.weixin.qq.com/cgi-bin/componentloginpage?component_appid=wxcomp&pre_auth_code=preauthcode%40%40%40abc&redirect_uri=https%3A%2F%2Fexample.com%2Fcb%3Fx%3D1%26y%3Da%20b&auth_type=3"
        );
    }

    #[test]
    fn pc_url_with_category_id_list() {
        let u = authorization_url(
            AuthPage::Pc,
            "wxcomp",
            &PreAuthCode::new("p"),
            &AuthUrlOptions::new("https://example.com/cb").category_ids([99]),
        )
        .unwrap();
        assert!(u.ends_with("&auth_type=3&category_id_list=99"), "{u}");
        assert!(!u.contains("category_list"), "{u}");
    }

    #[test]
    fn h5_url_exact_with_options() {
        let u = authorization_url(
            AuthPage::H5,
            "wxcomp",
            &PreAuthCode::new("p"),
            &AuthUrlOptions::new("https://example.com/cb")
                .auth_type(AuthType::MiniPrograms)
                .biz_appid("wxbiz")
                .category_ids([1, 2]),
        )
        .unwrap();
        assert_eq!(
            u,
            "https://open.weixin.qq.com/wxaopen/safe/bindcomponent?action=bindcomponent&no_scan=1&component_appid=wxcomp&pre_auth_code=p&redirect_uri=https%3A%2F%2Fexample.com%2Fcb&auth_type=2&biz_appid=wxbiz&category_id_list=1%7C2#wechat_redirect"
        );
    }

    #[test]
    fn auth_type_values() {
        let named = [
            (AuthType::OfficialAccounts, 1),
            (AuthType::MiniPrograms, 2),
            (AuthType::Both, 3),
            (AuthType::Channels, 5),
            (AuthType::All, 6),
        ];
        for (t, v) in named {
            assert_eq!(t.value(), v);
            assert_eq!(AuthType::from_code(v), Some(t));
        }
        for v in [4u8, 8, 7, 255] {
            assert_eq!(AuthType::from_code(v), Some(AuthType::Other(v)));
            assert_eq!(AuthType::Other(v).value(), v);
        }
        assert_eq!(AuthType::from_code(0), None);
        assert_eq!(AuthType::default().value(), 3);
        let u = authorization_url(
            AuthPage::Pc,
            "wx",
            &PreAuthCode::new("p"),
            &AuthUrlOptions::new("https://e.com/").auth_type(AuthType::Other(8)),
        )
        .unwrap();
        assert!(u.ends_with("&auth_type=8"), "{u}");
    }

    #[test]
    fn http_redirect_needs_explicit_opt_in() {
        let p = PreAuthCode::new("p");
        let http = AuthUrlOptions::new("http://localhost:8080/cb");
        let e = authorization_url(AuthPage::Pc, "wx", &p, &http).unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidInput {
                    what: "redirect_uri",
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(e.to_string().contains("allow_http"), "{e}");
        let u = authorization_url(AuthPage::Pc, "wx", &p, &http.allow_http(true)).unwrap();
        assert!(
            u.contains("redirect_uri=http%3A%2F%2Flocalhost%3A8080%2Fcb"),
            "{u}"
        );
        // allow_http does not admit other schemes.
        let ftp = AuthUrlOptions::new("ftp://example.com/").allow_http(true);
        assert!(authorization_url(AuthPage::Pc, "wx", &p, &ftp).is_err());
    }

    #[test]
    fn inputs_are_validated() {
        let p = PreAuthCode::new("p");
        let ok = AuthUrlOptions::new("https://example.com/cb");
        assert!(authorization_url(AuthPage::Pc, "", &p, &ok).is_err());
        assert!(authorization_url(AuthPage::Pc, "wx&x=1", &p, &ok).is_err());
        assert!(authorization_url(AuthPage::Pc, "wx", &PreAuthCode::new(""), &ok).is_err());
        assert!(authorization_url(AuthPage::Pc, "wx", &PreAuthCode::new("a\nb"), &ok).is_err());
        for bad in [
            "",
            "/relative",
            "ftp://example.com/",
            "javascript:alert(1)",
            "https://example.com/\n",
            "https://",
        ] {
            assert!(
                authorization_url(AuthPage::Pc, "wx", &p, &AuthUrlOptions::new(bad)).is_err(),
                "{bad:?}"
            );
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_REDIRECT_URI_LEN));
        assert!(authorization_url(AuthPage::Pc, "wx", &p, &AuthUrlOptions::new(long)).is_err());
        for bad in ["a b", "", "wx-1", "中文", &"a".repeat(33)] {
            assert!(
                authorization_url(AuthPage::Pc, "wx", &p, &ok.clone().biz_appid(bad)).is_err(),
                "{bad}"
            );
        }
        assert!(
            authorization_url(AuthPage::Pc, "wx", &p, &ok.clone().biz_appid("wx_AB12")).is_ok()
        );
        assert!(authorization_url(
            AuthPage::Pc,
            "wx",
            &p,
            &ok.clone().biz_appid("a".repeat(32))
        )
        .is_ok());
        assert!(
            authorization_url(AuthPage::Pc, "wx", &p, &ok.clone().category_ids([1, 0])).is_err()
        );
        let many = ok.clone().category_ids(1..=u32::MAX);
        assert_eq!(many.category_ids.len(), MAX_CATEGORY_IDS + 1);
        assert!(authorization_url(AuthPage::Pc, "wx", &p, &many).is_err());
        assert!(authorization_url(
            AuthPage::Pc,
            "wx",
            &p,
            &ok.clone()
                .category_ids(1..=u32::try_from(MAX_CATEGORY_IDS).unwrap())
        )
        .is_ok());
        assert!(authorization_url(
            AuthPage::Pc,
            "wx",
            &p,
            &ok.clone().auth_type(AuthType::Other(0))
        )
        .is_err());
        // No ids: no parameter at all.
        let u = authorization_url(AuthPage::Pc, "wx", &p, &ok.clone().category_ids([])).unwrap();
        assert!(!u.contains("category"), "{u}");
    }
}
