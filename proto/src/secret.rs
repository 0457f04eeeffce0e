//! Newtypes for secrets, credentials and one-time codes.
//!
//! Every type here redacts itself in `Debug` and has no `Display` at all, so a stray `{:?}` in a
//! log line or a panic message never prints a credential, and putting one in a URL or a message
//! takes an explicit [`expose_secret`](ComponentAccessToken::expose_secret) call, which is easy
//! to grep for. The buffer is zeroized when the value is dropped (copies the caller made with
//! `expose_secret().to_owned()` or [`into_secret`](ComponentAccessToken::into_secret) are the
//! caller's to wipe).
//!
//! **Persistence is the one explicit path out.** The types implement `serde::Serialize` and
//! `Deserialize` transparently (as the bare string) so that the
//! `wxopen_client::TokenStore` records can be written by a shared backend (Redis, SQL):
//! `serde_json::to_string(&record)` is how a store persists them, and nothing else in the
//! client serializes a secret. Never serialize one into a log or an error.
//!
//! ```compile_fail
//! // No `Display`: a token cannot slip into a formatted string.
//! let token = wxopen_proto::ComponentAccessToken::new("x");
//! let _ = format!("{token}");
//! ```
//!
//! ```
//! let token = wxopen_proto::AuthorizerRefreshToken::new("refreshtoken@@@x");
//! assert_eq!(format!("{token:?}"), "AuthorizerRefreshToken([redacted; 16 bytes])");
//! // The explicit persistence path (what a TokenStore backend writes):
//! assert_eq!(serde_json::to_string(&token).unwrap(), "\"refreshtoken@@@x\"");
//! ```

use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

macro_rules! secret_newtype {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps a value.
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The wrapped value. Every call site that needs the raw credential goes through here.
            pub fn expose_secret(&self) -> &str {
                &self.0
            }

            /// Consumes the wrapper and returns the raw value (no longer wiped on drop).
            pub fn into_secret(mut self) -> String {
                std::mem::take(&mut self.0)
            }

            /// `true` when the wrapped value is the empty string.
            pub fn is_empty(&self) -> bool {
                self.0.is_empty()
            }
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                write!(f, concat!(stringify!($name), "([redacted; {} bytes])"), self.0.len())
            }
        }

        impl $name {
            /// Overwrites the buffer with zeros and empties it (what `Drop` does).
            fn wipe(&mut self) {
                self.0.zeroize();
            }
        }

        impl Drop for $name {
            fn drop(&mut self) {
                self.wipe();
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self(value)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.to_owned())
            }
        }
    };
}

secret_newtype!(
    /// The component's AppSecret (`component_appsecret`).
    ComponentAppSecret
);
secret_newtype!(
    /// Any other secret text — a webhook signing key, an internal API bearer key, a message
    /// token or EncodingAESKey given on a command line — with the same redaction and zeroizing
    /// as the typed ones.
    SecretString
);
secret_newtype!(
    /// The message-verification Token configured for the component's push URLs.
    MessageToken
);
secret_newtype!(
    /// The 43-character EncodingAESKey configured for the component.
    EncodingAesKey
);
secret_newtype!(
    /// A `component_verify_ticket` pushed by WeChat (value starts `ticket@@@`); valid about 12 h.
    ComponentVerifyTicket
);
secret_newtype!(
    /// A `component_access_token` (valid 2 h).
    ComponentAccessToken
);
secret_newtype!(
    /// An `authorizer_access_token` for one authorized account (valid 2 h).
    AuthorizerAccessToken
);
secret_newtype!(
    /// An `authorizer_refresh_token` (value starts `refreshtoken@@@`): the only way back to an
    /// authorizer's access token. Losing it means error 61023.
    AuthorizerRefreshToken
);
secret_newtype!(
    /// A JS-SDK ticket of one authorized account (`jsapi_ticket`, or the `wx_card` ticket),
    /// valid 2 h: whoever holds it can sign `wx.config` for that account.
    JsTicket
);
secret_newtype!(
    /// A `pre_auth_code` used to build an authorization URL (single use, short-lived).
    PreAuthCode
);
secret_newtype!(
    /// An authorization code (`auth_code` from the redirect, or `AuthorizationCode` from the
    /// `authorized` push; value starts `queryauthcode@@@`), exchanged by
    /// `wxopen_client::ComponentClient::query_auth`.
    AuthorizationCode
);

secret_newtype!(
    /// A web-authorization `code` from the redirect of an account's OAuth link (single use,
    /// 5 minutes), exchanged with the component token (see [`crate::user_oauth`]).
    OAuthCode
);
secret_newtype!(
    /// A mini-program `js_code` from `wx.login` (single use, 5 minutes), exchanged by
    /// `jscode2session` with the component token (see [`crate::user_oauth`]).
    JsCode
);
secret_newtype!(
    /// A user's web-authorization `access_token` (valid 2 h): reads that user's profile.
    UserAccessToken
);
secret_newtype!(
    /// A user's web-authorization `refresh_token` (valid 30 days).
    UserRefreshToken
);
secret_newtype!(
    /// A mini-program user's `session_key`: the key of that user's encrypted data. Never sent
    /// to the mini program, never logged.
    SessionKey
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts() {
        let t = ComponentAccessToken::new("super-secret-token");
        let dbg = format!("{t:?}");
        assert!(!dbg.contains("super-secret"), "{dbg}");
        assert!(dbg.starts_with("ComponentAccessToken("));
        assert_eq!(t.expose_secret(), "super-secret-token");
    }

    #[test]
    fn every_type_redacts_in_nested_debug() {
        let all = (
            ComponentAppSecret::new("s1-secret"),
            MessageToken::new("s2-secret"),
            EncodingAesKey::new("s3-secret"),
            ComponentVerifyTicket::new("ticket@@@s4-secret"),
            AuthorizerAccessToken::new("s5-secret"),
            AuthorizerRefreshToken::new("refreshtoken@@@s6-secret"),
            PreAuthCode::new("s7-secret"),
            AuthorizationCode::new("queryauthcode@@@s8-secret"),
        );
        let dbg = format!("{all:?}");
        assert!(!dbg.contains("secret"), "{dbg}");
        assert!(dbg.contains("[redacted; 9 bytes]"));
    }

    #[test]
    fn into_secret_moves_the_value_out() {
        let t = AuthorizerAccessToken::new("value");
        let c = t.clone();
        assert_eq!(t.into_secret(), "value");
        assert_eq!(c.expose_secret(), "value", "clones are independent");
    }

    #[test]
    fn drop_wipes_the_buffer() {
        // Drop runs `wipe`; what safe code can see of it is the emptied value.
        let mut t = ComponentAccessToken::new("wipe-me-please");
        t.wipe();
        assert!(t.is_empty() && t.expose_secret().is_empty());
        assert!(std::mem::needs_drop::<ComponentAccessToken>());
    }

    #[test]
    fn serde_is_transparent_for_persistence() -> Result<(), serde_json::Error> {
        let t = AuthorizerRefreshToken::new("refreshtoken@@@x");
        let json = serde_json::to_string(&t)?;
        assert_eq!(json, "\"refreshtoken@@@x\"");
        let back: AuthorizerRefreshToken = serde_json::from_str(&json)?;
        assert_eq!(back, t);
        Ok(())
    }
}
