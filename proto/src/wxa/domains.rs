//! Domains: an account's server and web-view domains, and the platform's own lists.
//!
//! Confirmed on the official `modify_domain` page (via the search tool): POST, the six lists
//! and `action` add/delete/set/get, at most 200 per type, 50 changes a month, no IP addresses,
//! ports allowed, `api.weixin.qq.com` refused, and the domains must first be on the platform's
//! server-domain list; `modify_domain_directly` skips that list (api-contracts §21).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::code::Extra;
use crate::Error;

/// Most domains of one type.
pub const MAX_DOMAINS_PER_TYPE: usize = 200;

/// What a domain call does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum DomainAction {
    /// Add these.
    Add,
    /// Remove these.
    Delete,
    /// Replace with these.
    Set,
    /// Read.
    Get,
}

/// The server domains of a mini program, by type (body of `modify_domain` and
/// `modify_domain_directly`, and their answer).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerDomains {
    /// `request` domains.
    #[serde(default)]
    pub requestdomain: Vec<String>,
    /// `socket` domains.
    #[serde(default)]
    pub wsrequestdomain: Vec<String>,
    /// `uploadFile` domains.
    #[serde(default)]
    pub uploaddomain: Vec<String>,
    /// `downloadFile` domains.
    #[serde(default)]
    pub downloaddomain: Vec<String>,
    /// UDP domains.
    #[serde(default)]
    pub udpdomain: Vec<String>,
    /// TCP domains.
    #[serde(default)]
    pub tcpdomain: Vec<String>,
}

impl ServerDomains {
    /// Each type's list, named.
    pub fn lists(&self) -> [(&'static str, &[String]); 6] {
        [
            ("requestdomain", &self.requestdomain),
            ("wsrequestdomain", &self.wsrequestdomain),
            ("uploaddomain", &self.uploaddomain),
            ("downloaddomain", &self.downloaddomain),
            ("udpdomain", &self.udpdomain),
            ("tcpdomain", &self.tcpdomain),
        ]
    }

    /// Checks the documented limits: at most 200 per type, each a non-empty host name (an
    /// optional `https://`/`wss://`/`udp://`/`tcp://` scheme allowed), not an IP address.
    pub fn validate(&self) -> Result<(), Error> {
        for (name, list) in self.lists() {
            if list.len() > MAX_DOMAINS_PER_TYPE {
                return Err(Error::invalid(
                    "domains",
                    format!("{name}: more than {MAX_DOMAINS_PER_TYPE}"),
                ));
            }
            for d in list {
                check_domain(d)?;
            }
        }
        Ok(())
    }
}

fn check_domain(d: &str) -> Result<(), Error> {
    let host = d.split_once("://").map_or(d, |(_, h)| h);
    let host = host.split(['/', ':']).next().unwrap_or("");
    if host.is_empty() || host.len() > 253 {
        return Err(Error::invalid("domains", "an empty or over-long domain"));
    }
    if host.parse::<std::net::Ipv4Addr>().is_ok() || host.starts_with('[') {
        return Err(Error::invalid(
            "domains",
            "IP addresses are not accepted, only domains",
        ));
    }
    if !host
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    {
        return Err(Error::invalid(
            "domains",
            "a domain may only hold letters, digits, - and .",
        ));
    }
    Ok(())
}

/// `POST /wxa/modify_domain` / `modify_domain_directly`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModifyDomainRequest {
    /// What to do.
    pub action: DomainAction,
    /// The domains (ignored for `get`).
    #[serde(flatten)]
    pub domains: ServerDomains,
}

/// The answer of `modify_domain`: the domains now set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DomainsResponse {
    /// The domains.
    #[serde(flatten)]
    pub domains: ServerDomains,
    /// Fields not modelled here (`invalid_requestdomain`, `no_icp_domain`, …).
    #[serde(flatten)]
    pub extra: Extra,
}

/// `get_effective_domain`: where each domain comes from and what is in effect.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EffectiveDomains {
    /// Set through `modify_domain` (the platform's list).
    #[serde(default)]
    pub mp_domain: Value,
    /// The platform's own list.
    #[serde(default)]
    pub third_domain: Value,
    /// Set through `modify_domain_directly`.
    #[serde(default)]
    pub direct_domain: Value,
    /// What is in effect.
    #[serde(default)]
    pub effective_domain: Value,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `POST /wxa/setwebviewdomain`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebviewDomainRequest {
    /// What to do.
    pub action: DomainAction,
    /// The web-view domains (ignored for `get`).
    #[serde(default)]
    pub webviewdomain: Vec<String>,
}

/// `POST /cgi-bin/component/modify_wxa_server_domain`: the platform's server-domain list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformServerDomainRequest {
    /// What to do.
    pub action: DomainAction,
    /// Domains joined by `;`.
    #[serde(default)]
    pub wxa_server_domain: String,
    /// Whether the published list changes too (else only the testing list).
    #[serde(default)]
    pub is_modify_published_together: bool,
}

/// `POST /cgi-bin/component/modify_wxa_jump_domain`: the platform's web-view domain list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformJumpDomainRequest {
    /// What to do.
    pub action: DomainAction,
    /// Domains joined by `;`.
    #[serde(default)]
    pub wxa_jump_h5_domain: String,
    /// Whether the published list changes too.
    #[serde(default)]
    pub is_modify_published_together: bool,
}

/// The answer of the platform-list calls.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlatformDomains {
    /// Published domains, joined by `;` (server list: `published_wxa_server_domain`; jump list:
    /// `published_wxa_jump_h5_domain`, kept in `extra`).
    #[serde(default)]
    pub published_wxa_server_domain: String,
    /// Testing domains, joined by `;`.
    #[serde(default)]
    pub testing_wxa_server_domain: String,
    /// Domains WeChat refused.
    #[serde(default)]
    pub invalid_wxa_server_domain: String,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `get_domain_confirmfile`: the file to serve at the web-view domain's root.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DomainConfirmFile {
    /// Its name.
    #[serde(default)]
    pub file_name: String,
    /// Its content.
    #[serde(default)]
    pub file_content: String,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn modify_domain_body_is_flat() {
        let r = ModifyDomainRequest {
            action: DomainAction::Add,
            domains: ServerDomains {
                requestdomain: vec!["https://a.example".into()],
                ..ServerDomains::default()
            },
        };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["action"], json!("add"));
        assert_eq!(v["requestdomain"], json!(["https://a.example"]));
        assert_eq!(v["tcpdomain"], json!([]));
    }

    #[test]
    fn domain_limits() {
        let ok = ServerDomains {
            requestdomain: vec!["https://a.example".into(), "b-c.example".into()],
            wsrequestdomain: vec!["wss://a.example:443/x".into()],
            ..ServerDomains::default()
        };
        assert!(ok.validate().is_ok());
        for bad in [
            "https://1.2.3.4",
            "",
            "https://[::1]",
            "https://a b",
            "https://",
        ] {
            let d = ServerDomains {
                requestdomain: vec![bad.into()],
                ..ServerDomains::default()
            };
            assert!(d.validate().is_err(), "{bad:?}");
        }
        let many = ServerDomains {
            uploaddomain: vec!["a.example".into(); 201],
            ..ServerDomains::default()
        };
        assert!(many.validate().is_err());
    }
}
