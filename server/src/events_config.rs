//! The `[events]` section of `wxopen.toml` (how long the event log keeps trying and keeps
//! events) and a component's `webhook_delivery` mode. Parsed and validated here; `config.rs`
//! embeds them (this file imports nothing from it).

use std::fmt::Write as _;
use std::time::Duration;

use serde::Deserialize;

use crate::limits_config::{error, SectionError};

/// `[events]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawEvents {
    max_age_secs: Option<u64>,
    retention_secs: Option<u64>,
    backlog_alert_secs: Option<u64>,
}

/// How the event log of every component is run (`[events]`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EventsConfig {
    /// An event not delivered this long after it was received becomes a dead letter (default
    /// 3 days).
    pub max_age: Duration,
    /// Delivered events and dead letters are kept this long, then pruned (default 7 days);
    /// WeChat's retries of a push are recognised as long as it is kept.
    pub retention: Duration,
    /// `/readyz` reports a component whose oldest pending event is older than this (default
    /// 10 min).
    pub backlog_alert: Duration,
}

impl Default for EventsConfig {
    fn default() -> Self {
        Self {
            max_age: Duration::from_secs(3 * 24 * 3600),
            retention: Duration::from_secs(7 * 24 * 3600),
            backlog_alert: Duration::from_secs(600),
        }
    }
}

/// Validates `[events]`.
pub(crate) fn events(raw: RawEvents) -> Result<EventsConfig, SectionError> {
    let d = EventsConfig::default();
    let secs = |key: &str, v: Option<u64>, default: Duration, min: u64, max: u64| match v {
        None => Ok(default),
        Some(s) if (min..=max).contains(&s) => Ok(Duration::from_secs(s)),
        Some(s) => Err(error(
            &format!("events.{key}"),
            format!("{s} is outside {min}..={max}"),
            format!("use a number of seconds from {min} to {max}"),
        )),
    };
    let max_age = secs(
        "max_age_secs",
        raw.max_age_secs,
        d.max_age,
        60,
        30 * 24 * 3600,
    )?;
    let retention = secs(
        "retention_secs",
        raw.retention_secs,
        d.retention,
        3600,
        365 * 24 * 3600,
    )?;
    let backlog_alert = secs(
        "backlog_alert_secs",
        raw.backlog_alert_secs,
        d.backlog_alert,
        10,
        30 * 24 * 3600,
    )?;
    Ok(EventsConfig {
        max_age,
        retention,
        backlog_alert,
    })
}

/// How a component's messages reach its webhook (`webhook_delivery`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DeliveryMode {
    /// Called inline, within WeChat's 5 s, so its answer can be the passive reply; a failed
    /// call leaves the event to the delivery worker (default).
    #[default]
    Reply,
    /// WeChat is answered as soon as the event is durable; the worker delivers it.
    Async,
}

impl DeliveryMode {
    /// The value in `wxopen.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryMode::Reply => "reply",
            DeliveryMode::Async => "async",
        }
    }
}

/// Validates `component[i].webhook_delivery`.
pub(crate) fn delivery_mode(key: &str, v: Option<&str>) -> Result<DeliveryMode, SectionError> {
    match v {
        None | Some("reply") => Ok(DeliveryMode::Reply),
        Some("async") => Ok(DeliveryMode::Async),
        Some(other) => Err(error(
            key,
            format!("unknown delivery mode {other:?}"),
            "use \"reply\" (the webhook's answer may be the passive reply) or \"async\"",
        )),
    }
}

/// `[events]` as the redacted configuration shows it.
pub(crate) fn shown(e: &EventsConfig) -> String {
    let mut out = String::from("\n[events]\n");
    let _ = writeln!(out, "max_age_secs = {}", e.max_age.as_secs());
    let _ = writeln!(out, "retention_secs = {}", e.retention.as_secs());
    let _ = writeln!(out, "backlog_alert_secs = {}", e.backlog_alert.as_secs());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_bounds_and_modes() {
        assert_eq!(
            events(RawEvents::default()).unwrap(),
            EventsConfig::default()
        );
        let e = events(RawEvents {
            max_age_secs: Some(3600),
            retention_secs: Some(7200),
            backlog_alert_secs: Some(30),
        })
        .unwrap();
        assert_eq!(
            (
                e.max_age.as_secs(),
                e.retention.as_secs(),
                e.backlog_alert.as_secs()
            ),
            (3600, 7200, 30)
        );
        let bad = events(RawEvents {
            max_age_secs: Some(5),
            ..RawEvents::default()
        })
        .unwrap_err();
        assert_eq!(bad.key, "events.max_age_secs");
        assert_eq!(delivery_mode("k", None).unwrap(), DeliveryMode::Reply);
        assert_eq!(
            delivery_mode("k", Some("async")).unwrap(),
            DeliveryMode::Async
        );
        assert_eq!(delivery_mode("k", Some("later")).unwrap_err().key, "k");
        assert!(shown(&EventsConfig::default()).contains("retention_secs = 604800"));
    }
}
