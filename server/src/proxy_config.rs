//! The proxy's configuration: the `[proxy]` section (request size cap) and, per `[[client]]`,
//! its `scope` (a name or a list, see [`ClientScope`]) and path rules (`proxy_allow`,
//! `proxy_deny`). Parsed and validated here; `config.rs` embeds them (this file imports nothing
//! from it).

use std::fmt::Write as _;

use serde::Deserialize;
use wxopen_client::wxopen_proto::proxy_rules::{PathPattern, ProxyRules};

use crate::limits_config::{error, SectionError};
use crate::scope::ClientScope;

/// Most path patterns in one client's `proxy_allow` or `proxy_deny`.
pub const MAX_PATTERNS: usize = 256;

/// Default cap of a proxied request body (10 MiB, WeChat's limit for images and videos).
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 10 * 1024 * 1024;
/// Largest `proxy.max_request_bytes` accepted (64 MiB).
pub const MAX_REQUEST_BYTES_LIMIT: usize = 64 * 1024 * 1024;

/// `[proxy]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawProxy {
    max_request_bytes: Option<usize>,
}

/// The token-injecting proxy (`[proxy]`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProxyConfig {
    /// A proxied request body larger than this is refused with 413 before any call to WeChat
    /// (default 10 MiB). Answers are capped by the client's response cap (4 MiB).
    pub max_request_bytes: usize,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        Self {
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
        }
    }
}

/// Validates `[proxy]`.
pub(crate) fn proxy(raw: RawProxy) -> Result<ProxyConfig, SectionError> {
    let max_request_bytes = match raw.max_request_bytes {
        None => DEFAULT_MAX_REQUEST_BYTES,
        Some(n) if (1..=MAX_REQUEST_BYTES_LIMIT).contains(&n) => n,
        Some(n) => {
            return Err(error(
                "proxy.max_request_bytes",
                format!("{n} is outside 1..={MAX_REQUEST_BYTES_LIMIT}"),
                format!("use a number of bytes from 1 to {MAX_REQUEST_BYTES_LIMIT}"),
            ))
        }
    };
    Ok(ProxyConfig { max_request_bytes })
}

/// `[proxy]` as `config check` shows it.
pub(crate) fn shown(p: &ProxyConfig) -> String {
    let mut out = String::from("\n[proxy]\n");
    let _ = writeln!(out, "max_request_bytes = {}", p.max_request_bytes);
    out
}

/// A client's `scope` as written: one name or a list.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawScope {
    One(String),
    List(Vec<String>),
}

/// `client[i].scope` (`key`): `"full"` when absent.
pub(crate) fn scope(key: &str, raw: Option<RawScope>) -> Result<ClientScope, SectionError> {
    let fix = "use \"full\" (the default), \"read\", or a list of \"tokens\", \"refresh\", \"proxy\", \"admin\"";
    match raw {
        None => Ok(ClientScope::FULL),
        Some(RawScope::One(v)) => {
            ClientScope::parse(&v).ok_or_else(|| error(key, format!("{v} is not a scope"), fix))
        }
        Some(RawScope::List(list)) => {
            if list.len() > 8 {
                return Err(error(key, "more than 8 names", fix));
            }
            ClientScope::parse_list(list.iter().map(String::as_str))
                .map_err(|v| error(key, format!("{v} is not a scope"), fix))
        }
    }
}

/// `client[i].proxy_allow` and `proxy_deny` (`key_prefix` is `client[i]`).
pub(crate) fn rules(
    key_prefix: &str,
    allow: Option<Vec<String>>,
    deny: Option<Vec<String>>,
) -> Result<ProxyRules, SectionError> {
    let list = |name: &str, v: Option<Vec<String>>| -> Result<Vec<PathPattern>, SectionError> {
        let key = format!("{key_prefix}.{name}");
        let v = v.unwrap_or_default();
        if v.len() > MAX_PATTERNS {
            return Err(error(
                &key,
                format!("more than {MAX_PATTERNS} patterns"),
                "use prefixes ending in * to group paths",
            ));
        }
        v.iter()
            .map(|p| {
                PathPattern::parse(p).map_err(|e| {
                    error(
                        &key,
                        format!("{p:?}: {e}"),
                        "write API paths like \"cgi-bin/user/info\" or prefixes like \"wxa/*\"",
                    )
                })
            })
            .collect()
    };
    Ok(ProxyRules {
        allow: list("proxy_allow", allow)?,
        deny: list("proxy_deny", deny)?,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::scope::Permission;

    #[test]
    fn scopes_rules_and_the_section() {
        assert_eq!(scope("k", None).unwrap(), ClientScope::FULL);
        let s = scope(
            "k",
            Some(RawScope::List(vec!["tokens".into(), "proxy".into()])),
        )
        .unwrap();
        assert!(s.allows(Permission::Proxy) && !s.allows(Permission::Admin));
        let e = scope("client[0].scope", Some(RawScope::One("root".into()))).unwrap_err();
        assert_eq!(e.key, "client[0].scope");
        let r = rules("client[0]", Some(vec!["wxa/*".into()]), None).unwrap();
        assert_eq!(r.allow.len(), 1);
        let e = rules("client[0]", None, Some(vec!["a b".into()])).unwrap_err();
        assert_eq!(e.key, "client[0].proxy_deny");
        assert_eq!(proxy(RawProxy::default()).unwrap(), ProxyConfig::default());
        assert!(proxy(RawProxy {
            max_request_bytes: Some(0)
        })
        .is_err());
        assert!(shown(&ProxyConfig::default()).contains("max_request_bytes = 10485760"));
    }
}
