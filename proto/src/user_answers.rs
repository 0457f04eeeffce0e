//! What WeChat answers to the calls on behalf of an account's users (see
//! [`crate::user_oauth`]): a user's web-authorization token, a mini-program login, a profile.
//! Plain data; the secrets in them are redacting newtypes.

use serde::{Deserialize, Serialize};

use crate::secret::{SessionKey, UserAccessToken, UserRefreshToken};

/// A user's web-authorization token, from the exchange or a refresh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UserToken {
    /// The user's token (reads the profile with [`USERINFO_PATH`](crate::user_oauth::USERINFO_PATH)).
    pub access_token: UserAccessToken,
    /// Seconds it lives (7200).
    pub expires_in: u64,
    /// Refreshes `access_token` (30 days).
    pub refresh_token: UserRefreshToken,
    /// The user, for this account.
    pub openid: String,
    /// The granted scope(s), comma-separated.
    pub scope: String,
    /// The user across the Open Platform account's apps, when WeChat gives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unionid: Option<String>,
}

/// A mini-program login (`jscode2session`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct JsSession {
    /// The user, for this mini program.
    pub openid: String,
    /// The key of the user's encrypted data (a secret: redacted in `Debug`).
    pub session_key: SessionKey,
    /// The user across the Open Platform account's apps, when WeChat gives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unionid: Option<String>,
}

/// A user's profile (`/sns/userinfo`); fields WeChat leaves out are empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UserInfo {
    /// The user.
    pub openid: String,
    /// Nickname.
    #[serde(default)]
    pub nickname: String,
    /// 1 male, 2 female, 0 unknown (WeChat now answers 0).
    #[serde(default)]
    pub sex: i64,
    /// Province.
    #[serde(default)]
    pub province: String,
    /// City.
    #[serde(default)]
    pub city: String,
    /// Country.
    #[serde(default)]
    pub country: String,
    /// Avatar URL.
    #[serde(default)]
    pub headimgurl: String,
    /// Privileges (e.g. `chinaunicom`).
    #[serde(default)]
    pub privilege: Vec<String>,
    /// The user across the Open Platform account's apps, when WeChat gives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unionid: Option<String>,
}
