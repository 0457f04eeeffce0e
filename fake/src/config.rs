//! [`FakeConfig`]: the fake component's credentials and the platform's timings.

use rand::distr::{Alphanumeric, SampleString};

/// The component's credentials and the platform's timings.
///
/// [`FakeConfig::default`] has fixed, obviously fake credentials; [`FakeConfig::random`] draws
/// new ones. Every duration is in seconds of the fake clock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeConfig {
    /// The component (third-party platform) appid.
    pub component_appid: String,
    /// The component appsecret.
    pub component_appsecret: String,
    /// The message-verification token configured on the platform.
    pub token: String,
    /// The 43-character EncodingAESKey configured on the platform.
    pub encoding_aes_key: String,
    /// Where the fake's own `ManualClock` starts (Unix seconds); `None` starts at the current
    /// wall-clock time. Ignored when a clock is given to [`FakeBuilder::clock`](crate::FakeBuilder::clock) or
    /// [`FakeBuilder::shared_clock`](crate::FakeBuilder::shared_clock).
    pub start_unix: Option<u64>,
    /// `component_verify_ticket` validity (12 h).
    pub ticket_ttl: u64,
    /// `component_access_token` validity (`expires_in`, 7200).
    pub component_token_ttl: u64,
    /// `authorizer_access_token` validity (`expires_in`, 7200).
    pub authorizer_token_ttl: u64,
    /// How long a superseded access token keeps working after a refresh (about 5 minutes).
    pub superseded_grace: u64,
    /// `pre_auth_code` validity (`expires_in`; the docs say 600 in one place, 1800 in another).
    pub pre_auth_code_ttl: u64,
    /// Authorization code validity in seconds: `expires_in` on the consent redirect (documented
    /// as `expires_in=600`) and `AuthorizationCodeExpiredTime` − `CreateTime` in the push.
    pub auth_code_ttl: u64,
    /// Whether `api_authorizer_token` hands out a new refresh token each time (the real platform
    /// returns the same one in practice; turning this on checks that the client stores whatever
    /// comes back).
    pub rotate_refresh_tokens: bool,
    /// `clear_quota` resets allowed per appid (10 a month); the 11th answers 48006.
    pub clear_quota_monthly_limit: u32,
    /// How long after a user's last message an account may send them customer-service
    /// messages (`custom/send`; 48 h, then 45015).
    pub customer_service_window: u64,
}

impl Default for FakeConfig {
    fn default() -> Self {
        Self {
            component_appid: "wxfa4e0000c0ffee01".to_owned(),
            component_appsecret: "fakesecret0123456789abcdefabcdef".to_owned(),
            token: "fakemessagetoken".to_owned(),
            encoding_aes_key: "FakeEncodingAesKey0123456789abcdefghijklmno".to_owned(),
            start_unix: None,
            ticket_ttl: 12 * 3600,
            component_token_ttl: 7200,
            authorizer_token_ttl: 7200,
            superseded_grace: 300,
            pre_auth_code_ttl: 1800,
            auth_code_ttl: 600,
            rotate_refresh_tokens: false,
            clear_quota_monthly_limit: 10,
            customer_service_window: 48 * 3600,
        }
    }
}

impl FakeConfig {
    /// Default timings with freshly drawn credentials.
    pub fn random() -> Self {
        let mut rng = rand::rng();
        let hex = Alphanumeric
            .sample_string(&mut rng, 64)
            .to_ascii_lowercase()
            .chars()
            .filter(char::is_ascii_hexdigit)
            .chain(std::iter::repeat('0'))
            .take(16)
            .collect::<String>();
        Self {
            component_appid: format!("wx{hex}"),
            component_appsecret: Alphanumeric.sample_string(&mut rng, 32),
            token: Alphanumeric.sample_string(&mut rng, 24),
            encoding_aes_key: Alphanumeric.sample_string(&mut rng, 43),
            ..Self::default()
        }
    }
}
