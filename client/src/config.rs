//! Client configuration.

use std::time::Duration;

use url::Url;

use crate::api::{DEFAULT_BASE_URL, FALLBACK_BASE_URL};
use crate::error::Error;
use crate::retry::{FailoverPolicy, RetryPolicy};
use crate::secret::{ComponentAppSecret, EncodingAesKey, MessageToken};
use crate::tokens::Jitter;

/// Default cap of a response body: 4 MiB.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;
/// Smallest cap [`ComponentConfig::with_max_response_bytes`] sets.
pub const MIN_MAX_RESPONSE_BYTES: usize = 1024;

/// Everything the client needs to know about one component (third-party platform).
///
/// `Debug` redacts the secret, the token and the key.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ComponentConfig {
    /// Component appid (also the receiver id inside every encrypted push).
    pub component_appid: String,
    /// Component appsecret.
    pub component_appsecret: ComponentAppSecret,
    /// Message-verification Token.
    pub message_token: MessageToken,
    /// EncodingAESKey (43 characters).
    pub encoding_aes_key: EncodingAesKey,
    /// API base URLs in order of preference; the client fails over along this list.
    /// Default: `https://api.weixin.qq.com`, then `https://api2.weixin.qq.com`.
    pub base_urls: Vec<Url>,
    /// Whole-request timeout (default 10 s).
    pub request_timeout: Duration,
    /// Connect timeout (default 5 s).
    pub connect_timeout: Duration,
    /// Refresh tokens this long before expiry (default 10 min).
    pub refresh_margin: Duration,
    /// Extra random spread of the refresh deadline (default up to 2 min).
    pub refresh_jitter: Jitter,
    /// Retry schedule for transient failures.
    pub retry: RetryPolicy,
    /// When calls start on the fallback base URL after the primary kept failing (sticky
    /// failover; default: after 3 failed calls, for 5 min, probing the primary every 30 s).
    pub failover: FailoverPolicy,
    /// Largest response body read, in bytes (default [`DEFAULT_MAX_RESPONSE_BYTES`], 4 MiB);
    /// a larger one is [`Error::ResponseTooLarge`].
    pub max_response_bytes: usize,
    /// Time-to-live of a cross-instance refresh lease (default 30 s).
    pub lease_ttl: Duration,
    /// How long to wait for another instance's refresh before refreshing anyway (default 5 s).
    pub lease_wait: Duration,
    /// If set, pushes whose `timestamp` is further than this from the clock are refused
    /// (replay protection). Default: off.
    pub push_timestamp_window: Option<Duration>,
}

impl ComponentConfig {
    /// A configuration with the defaults above.
    pub fn new(
        component_appid: impl Into<String>,
        component_appsecret: impl Into<ComponentAppSecret>,
        message_token: impl Into<MessageToken>,
        encoding_aes_key: impl Into<EncodingAesKey>,
    ) -> Self {
        Self {
            component_appid: component_appid.into(),
            component_appsecret: component_appsecret.into(),
            message_token: message_token.into(),
            encoding_aes_key: encoding_aes_key.into(),
            base_urls: default_base_urls(),
            request_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            refresh_margin: Duration::from_secs(600),
            refresh_jitter: Jitter::default(),
            retry: RetryPolicy::default(),
            failover: FailoverPolicy::default(),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            lease_ttl: Duration::from_secs(30),
            lease_wait: Duration::from_secs(5),
            push_timestamp_window: None,
        }
    }

    /// Replaces the API base URLs (e.g. a local fake, or a proxy). Each must be http(s).
    pub fn with_base_urls<I, S>(mut self, urls: I) -> Result<Self, Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut parsed = Vec::new();
        for u in urls {
            let url =
                Url::parse(u.as_ref()).map_err(|e| Error::invalid("base URL", e.to_string()))?;
            if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                return Err(Error::invalid(
                    "base URL",
                    "must be an absolute http(s) URL",
                ));
            }
            parsed.push(url);
        }
        if parsed.is_empty() {
            return Err(Error::invalid("base URL", "at least one is required"));
        }
        self.base_urls = parsed;
        Ok(self)
    }

    /// Sets the request and connect timeouts.
    pub fn with_timeouts(mut self, request: Duration, connect: Duration) -> Self {
        self.request_timeout = request;
        self.connect_timeout = connect;
        self
    }

    /// Sets the refresh margin and jitter.
    pub fn with_refresh(mut self, margin: Duration, jitter: Jitter) -> Self {
        self.refresh_margin = margin;
        self.refresh_jitter = jitter;
        self
    }

    /// Sets the retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sets the sticky-failover policy.
    pub fn with_failover(mut self, failover: FailoverPolicy) -> Self {
        self.failover = failover;
        self
    }

    /// Sets the response body cap in bytes (at least 1 KiB is kept, so error bodies fit).
    pub fn with_max_response_bytes(mut self, max: usize) -> Self {
        self.max_response_bytes = max.max(MIN_MAX_RESPONSE_BYTES);
        self
    }

    /// Sets the cross-instance lease time-to-live and wait.
    pub fn with_lease(mut self, ttl: Duration, wait: Duration) -> Self {
        self.lease_ttl = ttl;
        self.lease_wait = wait;
        self
    }

    /// Enables push timestamp checking.
    pub fn with_push_timestamp_window(mut self, window: Option<Duration>) -> Self {
        self.push_timestamp_window = window;
        self
    }

    pub(crate) fn validate(&self) -> Result<(), Error> {
        if self.component_appid.is_empty() {
            return Err(Error::invalid("component_appid", "empty"));
        }
        if self.component_appsecret.is_empty() {
            return Err(Error::invalid("component_appsecret", "empty"));
        }
        if self.base_urls.is_empty() {
            return Err(Error::invalid("base URL", "at least one is required"));
        }
        Ok(())
    }
}

/// The official base URLs: primary, then the disaster-recovery domain.
pub fn default_base_urls() -> Vec<Url> {
    [DEFAULT_BASE_URL, FALLBACK_BASE_URL]
        .iter()
        .filter_map(|u| Url::parse(u).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn cfg() -> ComponentConfig {
        ComponentConfig::new(
            "wxc",
            "app-secret-value",
            "msg-token-value",
            "aes-key-value",
        )
    }

    #[test]
    fn defaults() {
        let c = cfg();
        assert_eq!(c.base_urls.len(), 2);
        assert_eq!(c.base_urls[0].as_str(), "https://api.weixin.qq.com/");
        assert_eq!(c.base_urls[1].as_str(), "https://api2.weixin.qq.com/");
        assert_eq!(c.refresh_margin, Duration::from_secs(600));
        assert_eq!(c.max_response_bytes, 4 * 1024 * 1024);
        assert_eq!(c.failover, FailoverPolicy::default());
        assert!(c.validate().is_ok());
        assert_eq!(cfg().with_max_response_bytes(10).max_response_bytes, 1024);
        assert_eq!(
            cfg().with_max_response_bytes(1 << 20).max_response_bytes,
            1 << 20
        );
    }

    #[test]
    fn debug_redacts() {
        let d = format!("{:?}", cfg());
        assert!(
            !d.contains("app-secret-value")
                && !d.contains("msg-token-value")
                && !d.contains("aes-key-value"),
            "{d}"
        );
        assert!(d.contains("wxc"));
    }

    #[test]
    fn base_urls_validated() {
        assert!(cfg()
            .with_base_urls(["http://127.0.0.1:1", "http://127.0.0.1:2/p"])
            .is_ok());
        assert!(cfg().with_base_urls(Vec::<String>::new()).is_err());
        assert!(cfg().with_base_urls(["ftp://x"]).is_err());
        assert!(cfg().with_base_urls(["not a url"]).is_err());
        assert!(ComponentConfig::new("", "s", "t", "k").validate().is_err());
        assert!(ComponentConfig::new("wx", "", "t", "k").validate().is_err());
    }
}
