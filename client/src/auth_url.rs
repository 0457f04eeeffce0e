//! Authorization page URLs (pure): PC scan page (`componentloginpage`) and mobile H5 page
//! (`bindcomponent`).

use crate::error::Error;
use crate::secret::PreAuthCode;

/// Which authorization page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthPage {
    /// `https://mp.weixin.qq.com/cgi-bin/componentloginpage` (the admin scans a QR code).
    Pc,
    /// `https://mp.weixin.qq.com/safe/bindcomponent` (opened inside WeChat on a phone).
    H5,
}

/// Which accounts the page offers (`auth_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthType {
    /// 1: official accounts only.
    OfficialAccounts,
    /// 2: mini programs only.
    MiniPrograms,
    /// 3: both (the default).
    #[default]
    Both,
}

impl AuthType {
    /// The numeric `auth_type` value.
    pub fn value(self) -> u8 {
        match self {
            AuthType::OfficialAccounts => 1,
            AuthType::MiniPrograms => 2,
            AuthType::Both => 3,
        }
    }
}

/// Options of an authorization URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthUrlOptions {
    /// Where WeChat redirects with `auth_code` and `expires_in`; an absolute http(s) URL on the
    /// component's configured authorization domain.
    pub redirect_uri: String,
    /// Which accounts are offered.
    pub auth_type: AuthType,
    /// Restrict the page to one account (wins over a conflicting `auth_type`).
    pub biz_appid: Option<String>,
    /// Restrict the permission sets shown. Passed through verbatim (URL-encoded); the official
    /// format was not verifiable when this was written.
    pub category_list: Option<String>,
}

impl AuthUrlOptions {
    /// Options with a redirect URI, `auth_type` 3 and no restriction.
    pub fn new(redirect_uri: impl Into<String>) -> Self {
        Self {
            redirect_uri: redirect_uri.into(),
            auth_type: AuthType::Both,
            biz_appid: None,
            category_list: None,
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

    /// Sets `category_list`.
    pub fn category_list(mut self, list: impl Into<String>) -> Self {
        self.category_list = Some(list.into());
        self
    }
}

/// Percent-encodes everything except RFC 3986 unreserved characters (`A-Za-z0-9-._~`).
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
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

fn valid_appid(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Builds an authorization page URL. Validates every input and percent-encodes every value.
pub fn authorization_url(
    page: AuthPage,
    component_appid: &str,
    pre_auth_code: &PreAuthCode,
    opts: &AuthUrlOptions,
) -> Result<String, Error> {
    if !valid_appid(component_appid) {
        return Err(Error::invalid(
            "component_appid",
            "must be a non-empty alphanumeric appid",
        ));
    }
    let code = pre_auth_code.expose_secret();
    if code.is_empty() || code.chars().any(char::is_control) {
        return Err(Error::invalid(
            "pre_auth_code",
            "empty or contains control characters",
        ));
    }
    let redirect = url::Url::parse(&opts.redirect_uri)
        .map_err(|e| Error::invalid("redirect_uri", e.to_string()))?;
    if !matches!(redirect.scheme(), "http" | "https") || redirect.host_str().is_none() {
        return Err(Error::invalid(
            "redirect_uri",
            "must be an absolute http(s) URL",
        ));
    }
    if let Some(b) = &opts.biz_appid {
        if !valid_appid(b) {
            return Err(Error::invalid(
                "biz_appid",
                "must be a non-empty alphanumeric appid",
            ));
        }
    }
    if let Some(c) = &opts.category_list {
        if c.is_empty() || c.chars().any(char::is_control) {
            return Err(Error::invalid(
                "category_list",
                "empty or contains control characters",
            ));
        }
    }

    let mut url = String::from(match page {
        AuthPage::Pc => "https://mp.weixin.qq.com/cgi-bin/componentloginpage?",
        AuthPage::H5 => {
            "https://mp.weixin.qq.com/safe/bindcomponent?action=bindcomponent&no_scan=1&"
        }
    });
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
    if let Some(c) = &opts.category_list {
        url.push_str("&category_list=");
        url.push_str(&encode_component(c));
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
    fn h5_url_exact_with_options() {
        let u = authorization_url(
            AuthPage::H5,
            "wxcomp",
            &PreAuthCode::new("p"),
            &AuthUrlOptions::new("https://example.com/cb")
                .auth_type(AuthType::MiniPrograms)
                .biz_appid("wxbiz")
                .category_list("1|2"),
        )
        .unwrap();
        assert_eq!(
            u,
            "https://mp.weixin.qq.com/safe/bindcomponent?action=bindcomponent&no_scan=1&component_appid=wxcomp&pre_auth_code=p&redirect_uri=https%3A%2F%2Fexample.com%2Fcb&auth_type=2&biz_appid=wxbiz&category_list=1%7C2#wechat_redirect"
        );
    }

    #[test]
    fn inputs_are_validated() {
        let p = PreAuthCode::new("p");
        let ok = AuthUrlOptions::new("https://example.com/cb");
        assert!(authorization_url(AuthPage::Pc, "", &p, &ok).is_err());
        assert!(authorization_url(AuthPage::Pc, "wx&x=1", &p, &ok).is_err());
        assert!(authorization_url(AuthPage::Pc, "wx", &PreAuthCode::new(""), &ok).is_err());
        for bad in ["", "/relative", "ftp://example.com/", "javascript:alert(1)"] {
            assert!(
                authorization_url(AuthPage::Pc, "wx", &p, &AuthUrlOptions::new(bad)).is_err(),
                "{bad}"
            );
        }
        assert!(authorization_url(AuthPage::Pc, "wx", &p, &ok.clone().biz_appid("a b")).is_err());
        assert!(authorization_url(AuthPage::Pc, "wx", &p, &ok.clone().category_list("")).is_err());
        assert_eq!(AuthType::OfficialAccounts.value(), 1);
        assert_eq!(AuthType::default().value(), 3);
    }
}
