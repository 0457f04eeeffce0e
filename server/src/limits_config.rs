//! The `[connections]` and `[rate_limit]` sections of `wxopen.toml`: how the listeners hold
//! connections, and how often anonymous callers may reach the authorization routes. Parsed
//! and validated here; `config.rs` embeds them (this file imports nothing from it).

use std::fmt::Write as _;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use ipnet::IpNet;
use serde::Deserialize;

/// A problem in one of these sections: the key, what is wrong, what to do (`config.rs` turns
/// it into its `ConfigError`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SectionError {
    pub key: String,
    pub problem: String,
    pub fix: String,
}

pub(crate) fn error(key: &str, problem: impl Into<String>, fix: impl Into<String>) -> SectionError {
    SectionError {
        key: key.into(),
        problem: problem.into(),
        fix: fix.into(),
    }
}

/// `[connections]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConnections {
    header_read_timeout_ms: Option<u64>,
    max_per_listener: Option<usize>,
}

/// `[rate_limit]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRateLimit {
    per_client_per_minute: Option<u32>,
    per_client_burst: Option<u32>,
    per_component_per_minute: Option<u32>,
    per_component_burst: Option<u32>,
    trusted_proxies: Option<Vec<String>>,
}

/// How each listener holds connections (`[connections]`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectionsConfig {
    /// How long a connection may take to send a request's head, and how long a kept-alive
    /// connection may wait idle for its next request (default 10 s): a connection that
    /// trickles half a request line is closed after it.
    pub header_read_timeout: Duration,
    /// Connections each listener holds at most (default 512); past it the listener stops
    /// accepting until one closes. Keep `ulimit -n` above twice this plus 64; below that the
    /// listeners hold fewer (warned at start).
    pub max_per_listener: usize,
}

impl Default for ConnectionsConfig {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            max_per_listener: 512,
        }
    }
}

/// Token buckets on `GET /wechat/{component}/authorize` and `/authorized`, whose every
/// request costs a WeChat API call (`[rate_limit]`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimitConfig {
    /// Requests per minute one client address may make (default 20; IPv6 by `/64`).
    pub per_client_per_minute: NonZeroU32,
    /// Requests one client address may make at once (default 10).
    pub per_client_burst: NonZeroU32,
    /// Requests per minute to one component, all clients together (default 300).
    pub per_component_per_minute: NonZeroU32,
    /// Requests to one component at once, all clients together (default 60).
    pub per_component_burst: NonZeroU32,
    /// Peers whose `X-Forwarded-For` names the client (CIDRs or addresses; default none:
    /// the peer address is the client).
    pub trusted_proxies: Vec<IpNet>,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        let n = |v: u32| NonZeroU32::new(v).unwrap_or(NonZeroU32::MIN);
        Self {
            per_client_per_minute: n(20),
            per_client_burst: n(10),
            per_component_per_minute: n(300),
            per_component_burst: n(60),
            trusted_proxies: Vec::new(),
        }
    }
}

/// Most `trusted_proxies` entries.
const MAX_TRUSTED_PROXIES: usize = 256;

/// Validates `[connections]`.
pub(crate) fn connections(raw: RawConnections) -> Result<ConnectionsConfig, SectionError> {
    let d = ConnectionsConfig::default();
    let header_read_timeout = match raw.header_read_timeout_ms {
        None => d.header_read_timeout,
        Some(ms) if (100..=300_000).contains(&ms) => Duration::from_millis(ms),
        Some(ms) => {
            return Err(error(
                "connections.header_read_timeout_ms",
                format!("{ms} is outside 100..=300000"),
                "use 10000 (10 s)",
            ))
        }
    };
    let max_per_listener = match raw.max_per_listener {
        None => d.max_per_listener,
        Some(n) if (1..=1_000_000).contains(&n) => n,
        Some(n) => {
            return Err(error(
                "connections.max_per_listener",
                format!("{n} is outside 1..=1000000"),
                "use 512, and keep `ulimit -n` above twice it",
            ))
        }
    };
    Ok(ConnectionsConfig {
        header_read_timeout,
        max_per_listener,
    })
}

/// Validates `[rate_limit]`.
pub(crate) fn rate_limit(raw: RawRateLimit) -> Result<RateLimitConfig, SectionError> {
    let d = RateLimitConfig::default();
    let positive = |key: &str, v: Option<u32>, default: NonZeroU32| match v {
        None => Ok(default),
        Some(v) => NonZeroU32::new(v).ok_or_else(|| {
            error(
                &format!("rate_limit.{key}"),
                "0",
                format!("use at least 1 (default {default})"),
            )
        }),
    };
    let proxies = raw.trusted_proxies.unwrap_or_default();
    if proxies.len() > MAX_TRUSTED_PROXIES {
        return Err(error(
            "rate_limit.trusted_proxies",
            format!("more than {MAX_TRUSTED_PROXIES} entries"),
            "name your proxies' networks as CIDRs",
        ));
    }
    let mut trusted_proxies = Vec::with_capacity(proxies.len());
    for (i, p) in proxies.iter().enumerate() {
        let net = p
            .parse::<IpNet>()
            .or_else(|_| p.parse::<IpAddr>().map(IpNet::from))
            .map_err(|_| {
                error(
                    &format!("rate_limit.trusted_proxies[{i}]"),
                    "not an IP address or CIDR",
                    "write it as \"10.0.0.0/8\" or \"192.0.2.7\"",
                )
            })?;
        trusted_proxies.push(net);
    }
    Ok(RateLimitConfig {
        per_client_per_minute: positive(
            "per_client_per_minute",
            raw.per_client_per_minute,
            d.per_client_per_minute,
        )?,
        per_client_burst: positive("per_client_burst", raw.per_client_burst, d.per_client_burst)?,
        per_component_per_minute: positive(
            "per_component_per_minute",
            raw.per_component_per_minute,
            d.per_component_per_minute,
        )?,
        per_component_burst: positive(
            "per_component_burst",
            raw.per_component_burst,
            d.per_component_burst,
        )?,
        trusted_proxies,
    })
}

/// The two sections as `wxopen config check` prints them.
pub(crate) fn shown(c: &ConnectionsConfig, r: &RateLimitConfig) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "\n[connections]\nheader_read_timeout_ms = {}\nmax_per_listener = {}\n",
        c.header_read_timeout.as_millis(),
        c.max_per_listener
    );
    let proxies: Vec<String> = r.trusted_proxies.iter().map(ToString::to_string).collect();
    let _ = write!(
        out,
        "\n[rate_limit]\nper_client_per_minute = {}\nper_client_burst = {}\nper_component_per_minute = {}\nper_component_burst = {}\ntrusted_proxies = {proxies:?}\n",
        r.per_client_per_minute, r.per_client_burst, r.per_component_per_minute, r.per_component_burst
    );
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn defaults_and_bounds() {
        assert_eq!(
            connections(RawConnections::default()).unwrap(),
            ConnectionsConfig::default()
        );
        assert_eq!(
            rate_limit(RawRateLimit::default()).unwrap(),
            RateLimitConfig::default()
        );
        for (raw, key) in [
            (
                RawConnections {
                    header_read_timeout_ms: Some(99),
                    ..Default::default()
                },
                "connections.header_read_timeout_ms",
            ),
            (
                RawConnections {
                    max_per_listener: Some(0),
                    ..Default::default()
                },
                "connections.max_per_listener",
            ),
        ] {
            assert_eq!(connections(raw).unwrap_err().key, key);
        }
        let e = rate_limit(RawRateLimit {
            per_client_burst: Some(0),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(e.key, "rate_limit.per_client_burst");
        let e = rate_limit(RawRateLimit {
            trusted_proxies: Some(vec!["10.0.0.0/8".into(), "proxy.local".into()]),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(e.key, "rate_limit.trusted_proxies[1]");
    }

    #[test]
    fn trusted_proxies_take_cidrs_and_addresses() {
        let r = rate_limit(RawRateLimit {
            trusted_proxies: Some(vec![
                "10.0.0.0/8".into(),
                "192.0.2.7".into(),
                "2001:db8::/32".into(),
            ]),
            ..Default::default()
        })
        .unwrap();
        let shown = shown(&ConnectionsConfig::default(), &r);
        assert!(
            shown.contains(r#"trusted_proxies = ["10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32"]"#),
            "{shown}"
        );
        assert!(
            shown.contains("header_read_timeout_ms = 10000\n"),
            "{shown}"
        );
    }
}
