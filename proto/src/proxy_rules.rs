//! The rules of the token-injecting proxy, as pure functions: which paths a client may call
//! ([`PathPattern`], [`ProxyRules`], the built-in denials), which paths are known reads that
//! may be repeated after a rejected token ([`is_known_read`]), the bounded metric family of a
//! path ([`family`]), and the query parameters that carry credentials
//! ([`is_credential_param`]). Paths are written without the leading `/`.

/// Longest path pattern accepted, in bytes.
pub const MAX_PATTERN_LEN: usize = 256;

/// Query parameters that carry a credential: a caller's are dropped, the proxy adds its own.
pub const CREDENTIAL_PARAMS: &[&str] = &[
    "access_token",
    "component_access_token",
    "authorizer_access_token",
];

/// Whether the query parameter `name` carries a credential (see [`CREDENTIAL_PARAMS`]).
pub fn is_credential_param(name: &str) -> bool {
    CREDENTIAL_PARAMS
        .iter()
        .any(|p| p.eq_ignore_ascii_case(name))
}

/// Paths never proxied with an authorizer token: the component's own APIs, which would mint,
/// leak or replace credentials outside the token engine.
pub const AUTHORIZER_DENY: &[&str] = &["cgi-bin/component/*"];

/// Paths never proxied with the component token: the credential calls (they fetch or replace
/// the component token, authorizer tokens and refresh tokens, which the engine owns) and the
/// appsecret-based quota reset.
pub const COMPONENT_DENY: &[&str] = &[
    "cgi-bin/component/api_component_token",
    "cgi-bin/component/api_authorizer_token",
    "cgi-bin/component/api_query_auth",
    "cgi-bin/component/api_create_preauthcode",
    "cgi-bin/component/api_get_authorizer_list",
    "cgi-bin/component/clear_quota/v2",
];

/// Paths known to only read (or to give the same answer when repeated): after a rejected
/// token the proxy refreshes it and repeats these once without being told.
pub const KNOWN_READS: &[&str] = &[
    "cgi-bin/user/info",
    "cgi-bin/user/info/batchget",
    "cgi-bin/user/get",
    "cgi-bin/user/tag/get",
    "cgi-bin/get_current_selfmenu_info",
    "cgi-bin/menu/get",
    "cgi-bin/media/get",
    "cgi-bin/material/get_materialcount",
    "cgi-bin/account/getaccountbasicinfo",
    "cgi-bin/get_api_domain_ip",
    "wxa/get_qrcode",
    "wxa/getwxacode",
    "wxa/getwxacodeunlimit",
    "wxa/get_category",
    "wxa/get_page",
    "wxa/get_auditstatus",
    "wxa/get_latest_auditstatus",
    "wxa/gettemplatelist",
];

/// Whether `path` (with or without the leading `/`) is one of [`KNOWN_READS`].
pub fn is_known_read(path: &str) -> bool {
    let path = path.trim_start_matches('/');
    KNOWN_READS.iter().any(|r| r.eq_ignore_ascii_case(path))
}

/// A path pattern: an exact path (`cgi-bin/user/info`) or a prefix ending in `*`
/// (`cgi-bin/component/*`, `wxa*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathPattern {
    text: String,
    prefix: bool,
}

impl PathPattern {
    /// Parses `s`: ASCII letters, digits, `/`, `-`, `_`, `.`, `~`, at most one `*` at the end,
    /// at most [`MAX_PATTERN_LEN`] bytes; a leading `/` is dropped.
    pub fn parse(s: &str) -> Result<Self, crate::Error> {
        let bad = |reason: &str| crate::Error::invalid("proxy path pattern", reason.to_owned());
        let s = s.strip_prefix('/').unwrap_or(s);
        if s.is_empty() {
            return Err(bad("empty"));
        }
        if s.len() > MAX_PATTERN_LEN {
            return Err(bad("too long"));
        }
        let (text, prefix) = match s.strip_suffix('*') {
            Some(head) => (head, true),
            None => (s, false),
        };
        if !text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.' | '~'))
        {
            return Err(bad(
                "only letters, digits, / - _ . ~ and one trailing * are allowed",
            ));
        }
        Ok(Self {
            text: text.to_owned(),
            prefix,
        })
    }

    /// Whether `path` (with or without the leading `/`) matches, ignoring ASCII case (so a
    /// denial cannot be dodged by spelling a path in capitals).
    pub fn matches(&self, path: &str) -> bool {
        let path = path.trim_start_matches('/').as_bytes();
        let text = self.text.as_bytes();
        if self.prefix {
            path.len() >= text.len() && path[..text.len()].eq_ignore_ascii_case(text)
        } else {
            path.eq_ignore_ascii_case(text)
        }
    }
}

impl std::fmt::Display for PathPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)?;
        if self.prefix {
            f.write_str("*")?;
        }
        Ok(())
    }
}

/// Which token a proxied call carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProxyToken {
    /// An authorized account's access token (`access_token=`).
    Authorizer,
    /// The component access token (`component_access_token=`).
    Component,
}

impl ProxyToken {
    /// `authorizer` or `component` (metric labels).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Authorizer => "authorizer",
            Self::Component => "component",
        }
    }
}

/// Why a path is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// A built-in denial ([`AUTHORIZER_DENY`], [`COMPONENT_DENY`]).
    BuiltIn,
    /// The client's `proxy_deny` lists it.
    Denied,
    /// The client has a `proxy_allow` list and it is not on it.
    NotAllowed,
}

/// A client's path rules: the built-in denials, then its `deny` list, then its `allow` list
/// (empty: every other path is allowed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyRules {
    /// Paths allowed (empty: all that are not denied).
    pub allow: Vec<PathPattern>,
    /// Paths denied, on top of the built-in ones.
    pub deny: Vec<PathPattern>,
}

impl ProxyRules {
    /// `Ok` if a client with these rules may call `path` with `token`, else why not.
    pub fn check(&self, token: ProxyToken, path: &str) -> Result<(), Refusal> {
        let built_in = match token {
            ProxyToken::Authorizer => AUTHORIZER_DENY,
            ProxyToken::Component => COMPONENT_DENY,
        };
        let denied_by = |p: &&str| PathPattern::parse(p).is_ok_and(|p| p.matches(path));
        if built_in.iter().any(denied_by) {
            return Err(Refusal::BuiltIn);
        }
        if self.deny.iter().any(|p| p.matches(path)) {
            return Err(Refusal::Denied);
        }
        if !self.allow.is_empty() && !self.allow.iter().any(|p| p.matches(path)) {
            return Err(Refusal::NotAllowed);
        }
        Ok(())
    }
}

/// The metric family of `path`: a fixed set of API groups, `other` for the rest (so a
/// client's paths cannot grow the label set).
pub fn family(path: &str) -> &'static str {
    const FAMILIES: &[&str] = &[
        "cgi-bin/message",
        "cgi-bin/user",
        "cgi-bin/media",
        "cgi-bin/material",
        "cgi-bin/menu",
        "cgi-bin/tags",
        "cgi-bin/qrcode",
        "cgi-bin/account",
        "cgi-bin/component",
        "cgi-bin/template",
        "cgi-bin/wxopen",
        "wxa/sec",
        "wxaapi",
        "wxa",
        "sns",
        "datacube",
        "card",
        "merchant",
        "shop",
        "product",
        "cgi-bin",
    ];
    let path = path.trim_start_matches('/');
    FAMILIES
        .iter()
        .find(|f| {
            path.strip_prefix(**f)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
        .copied()
        .unwrap_or("other")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn rules(allow: &[&str], deny: &[&str]) -> ProxyRules {
        ProxyRules {
            allow: allow
                .iter()
                .map(|p| PathPattern::parse(p).unwrap())
                .collect(),
            deny: deny
                .iter()
                .map(|p| PathPattern::parse(p).unwrap())
                .collect(),
        }
    }

    #[test]
    fn patterns() {
        for (pattern, path, hit) in [
            ("cgi-bin/user/info", "/cgi-bin/user/info", true),
            ("/cgi-bin/user/info", "cgi-bin/user/info", true),
            ("cgi-bin/user/info", "cgi-bin/user/info/batchget", false),
            ("cgi-bin/user/*", "cgi-bin/user/info/batchget", true),
            ("cgi-bin/user/*", "cgi-bin/users", false),
            ("wxa*", "wxaapi/x", true),
            (
                "cgi-bin/component/*",
                "CGI-BIN/Component/api_query_auth",
                true,
            ),
            ("cgi-bin/user/info", "cgi-bin/USER/info", true),
        ] {
            assert_eq!(
                PathPattern::parse(pattern).unwrap().matches(path),
                hit,
                "{pattern} {path}"
            );
        }
        for bad in ["", "/", "a*b", "a b", "a?x", "**", "中文"] {
            assert!(PathPattern::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(PathPattern::parse("/wxa/*").unwrap().to_string(), "wxa/*");
    }

    #[test]
    fn rule_order() {
        use ProxyToken::{Authorizer as A, Component as C};
        let open = ProxyRules::default();
        for (r, token, path, want) in [
            (&open, A, "cgi-bin/user/info", Ok(())),
            (
                &open,
                A,
                "cgi-bin/component/api_authorizer_token",
                Err(Refusal::BuiltIn),
            ),
            (
                &open,
                A,
                "/cgi-bin/component/api_query_auth",
                Err(Refusal::BuiltIn),
            ),
            (
                &open,
                C,
                "cgi-bin/component/api_query_auth",
                Err(Refusal::BuiltIn),
            ),
            (
                &open,
                C,
                "cgi-bin/component/api_get_authorizer_info",
                Ok(()),
            ),
            (
                &open,
                C,
                "cgi-bin/component/api_component_token",
                Err(Refusal::BuiltIn),
            ),
        ] {
            assert_eq!(r.check(token, path), want, "{token:?} {path}");
        }
        let r = rules(&["wxa/*", "cgi-bin/user/info"], &["wxa/commit"]);
        assert_eq!(r.check(A, "wxa/get_qrcode"), Ok(()));
        assert_eq!(r.check(A, "wxa/commit"), Err(Refusal::Denied));
        assert_eq!(
            r.check(A, "cgi-bin/message/custom/send"),
            Err(Refusal::NotAllowed)
        );
        // An allow list does not lift a built-in denial.
        let r = rules(&["cgi-bin/*"], &[]);
        assert_eq!(
            r.check(A, "cgi-bin/component/api_component_token"),
            Err(Refusal::BuiltIn)
        );
    }

    #[test]
    fn reads_families_and_credentials() {
        assert!(is_known_read("/wxa/get_qrcode"));
        assert!(is_known_read("cgi-bin/user/info"));
        assert!(!is_known_read("cgi-bin/message/custom/send"));
        assert!(!is_known_read("cgi-bin/ticket/getticket"));
        assert_eq!(family("/cgi-bin/message/custom/send"), "cgi-bin/message");
        assert_eq!(family("cgi-bin/user/info"), "cgi-bin/user");
        assert_eq!(family("cgi-bin/userx"), "cgi-bin");
        assert_eq!(family("wxa/get_qrcode"), "wxa");
        assert_eq!(family("wxaapi/newtmpl/x"), "wxaapi");
        assert_eq!(family("anything/else"), "other");
        assert!(is_credential_param("ACCESS_TOKEN"));
        assert!(is_credential_param("component_access_token"));
        assert!(!is_credential_param("openid"));
    }
}
