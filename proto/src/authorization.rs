//! The typed authorization flow: the [`AuthorizationRequest`] a host sends an admin to, and the
//! [`AuthCallback`] WeChat redirects back with.
//!
//! The `authorized` push carries the [`PreAuthCode`] the authorization was started with, so a
//! host that keeps the request's `pre_auth_code` can tie the push to the browser visit.
//!
//! ```
//! use wxopen_proto::{AuthCallback, AuthPage, AuthUrlOptions, AuthorizationRequest, PreAuthCode};
//!
//! let request = AuthorizationRequest::build(
//!     AuthPage::Pc,
//!     "wxcomponent",
//!     PreAuthCode::new("preauthcode@@@abc"),
//!     1_700_000_600,
//!     &AuthUrlOptions::new("https://example.com/wx/callback"),
//! )?;
//! assert!(request.url.contains("pre_auth_code=preauthcode%40%40%40abc"));
//!
//! // Later, on the redirect:
//! let callback = AuthCallback::from_query(
//!     "https://example.com/wx/callback?auth_code=queryauthcode%40%40%40x&expires_in=600",
//! )?;
//! assert_eq!(callback.auth_code.expose_secret(), "queryauthcode@@@x");
//! assert_eq!(callback.expires_in, 600);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use crate::auth_url::{authorization_url, AuthPage, AuthUrlOptions};
use crate::error::{one_line, Error};
use crate::secret::{AuthorizationCode, PreAuthCode};

/// Longest callback query (or URL) [`AuthCallback::from_query`] reads, in bytes.
pub const MAX_CALLBACK_LEN: usize = 8192;
/// Most `name=value` pairs [`AuthCallback::from_query`] looks at.
pub const MAX_CALLBACK_PARAMS: usize = 64;
/// What every authorization code WeChat hands out starts with (`queryauthcode@@@…`, in the
/// redirect's `auth_code` and the push's `AuthorizationCode`).
pub const AUTH_CODE_PREFIX: &str = "queryauthcode@@@";
/// Longest part of an `auth_code` after [`AUTH_CODE_PREFIX`], in bytes (WeChat's are under a
/// hundred; the bound leaves room without letting junk through to `api_query_auth`).
pub const MAX_AUTH_CODE_BODY: usize = 512;

/// An authorization page URL and the `pre_auth_code` inside it.
///
/// `Debug` redacts the URL (it carries the code).
#[derive(Clone, PartialEq, Eq)]
pub struct AuthorizationRequest {
    /// The page to open (from a page on the registered domain; see the crate docs).
    pub url: String,
    /// The code in the URL; the `authorized` push names it in `PreAuthCode`.
    pub pre_auth_code: PreAuthCode,
    /// When the code expires (unix seconds).
    pub expires_at: u64,
}

impl AuthorizationRequest {
    /// Builds the URL for `pre_auth_code` (see [`authorization_url`]) and keeps the code.
    pub fn build(
        page: AuthPage,
        component_appid: &str,
        pre_auth_code: PreAuthCode,
        expires_at: u64,
        options: &AuthUrlOptions,
    ) -> Result<Self, Error> {
        let url = authorization_url(page, component_appid, &pre_auth_code, options)?;
        Ok(Self {
            url,
            pre_auth_code,
            expires_at,
        })
    }

    /// `true` once `now` (unix seconds) is at or past [`expires_at`](Self::expires_at).
    pub fn is_expired(&self, now: u64) -> bool {
        now >= self.expires_at
    }
}

impl fmt::Debug for AuthorizationRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationRequest")
            .field("url", &"[redacted]")
            .field("pre_auth_code", &self.pre_auth_code)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// The redirect back from the authorization page: `redirect_uri?auth_code=…&expires_in=600`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthCallback {
    /// The code to exchange with `wxopen_client::ComponentClient::query_auth`.
    pub auth_code: AuthorizationCode,
    /// Its validity in seconds (600 as documented).
    pub expires_in: u64,
}

/// Why a redirect could not be read as an [`AuthCallback`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthCallbackError {
    /// Longer than [`MAX_CALLBACK_LEN`] bytes (not read).
    TooLong {
        /// The limit.
        limit: usize,
    },
    /// No `auth_code` parameter.
    MissingAuthCode,
    /// `auth_code` is present but empty.
    EmptyAuthCode,
    /// `auth_code` is not shaped like WeChat's: [`AUTH_CODE_PREFIX`] then 1 to
    /// [`MAX_AUTH_CODE_BODY`] ASCII letters, digits or `-_.=+/*~@` (see [`valid_auth_code`]).
    InvalidAuthCode,
    /// No `expires_in` parameter.
    MissingExpiresIn,
    /// `expires_in` is not a decimal number of seconds.
    InvalidExpiresIn(String),
    /// A parameter appears more than once.
    Duplicate(&'static str),
}

impl fmt::Display for AuthCallbackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthCallbackError::TooLong { limit } => {
                write!(f, "authorization callback longer than {limit} bytes")
            }
            AuthCallbackError::MissingAuthCode => {
                f.write_str("authorization callback lacks auth_code")
            }
            AuthCallbackError::EmptyAuthCode => {
                f.write_str("authorization callback has an empty auth_code")
            }
            AuthCallbackError::InvalidAuthCode => f.write_str(
                "authorization callback auth_code is not shaped like WeChat's (queryauthcode@@@ and up to 512 letters, digits or -_.=+/*~@)",
            ),
            AuthCallbackError::MissingExpiresIn => {
                f.write_str("authorization callback lacks expires_in")
            }
            AuthCallbackError::InvalidExpiresIn(v) => {
                // Show a bounded prefix of what was sent.
                let v: String = v.chars().take(32).collect();
                write!(
                    f,
                    "authorization callback expires_in `{}` is not a number of seconds",
                    one_line(&v)
                )
            }
            AuthCallbackError::Duplicate(name) => {
                write!(f, "authorization callback repeats `{name}`")
            }
        }
    }
}

impl std::error::Error for AuthCallbackError {}

impl From<AuthCallbackError> for Error {
    fn from(e: AuthCallbackError) -> Self {
        Error::invalid("authorization callback", e.to_string())
    }
}

/// Whether `code` is shaped like an authorization code of WeChat's: [`AUTH_CODE_PREFIX`],
/// then 1 to [`MAX_AUTH_CODE_BODY`] ASCII letters, digits or `-_.=+/*~@`. Anything else (a
/// probe's junk, whitespace, markup) is refused before it costs an `api_query_auth` call.
pub fn valid_auth_code(code: &str) -> bool {
    code.strip_prefix(AUTH_CODE_PREFIX).is_some_and(|body| {
        (1..=MAX_AUTH_CODE_BODY).contains(&body.len())
            && body
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.=+/*~@".contains(&b))
    })
}

impl AuthCallback {
    /// Parses the redirect's query: `auth_code=…&expires_in=…` (percent-decoded), with or
    /// without a leading `?`, or the whole redirect URL (the query is taken after the first `?`;
    /// a `#fragment` is ignored). Other parameters (e.g. the host's own state) are ignored.
    /// The work is bounded by [`MAX_CALLBACK_LEN`] and [`MAX_CALLBACK_PARAMS`].
    pub fn from_query(input: &str) -> Result<Self, AuthCallbackError> {
        if input.len() > MAX_CALLBACK_LEN {
            return Err(AuthCallbackError::TooLong {
                limit: MAX_CALLBACK_LEN,
            });
        }
        let without_fragment = input.split_once('#').map_or(input, |(q, _)| q);
        let query = match without_fragment.split_once('?') {
            Some((_, q)) => q,
            None => without_fragment,
        };
        let (mut code, mut expires) = (None, None);
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()).take(MAX_CALLBACK_PARAMS) {
            let (slot, name) = match k.as_ref() {
                "auth_code" => (&mut code, "auth_code"),
                "expires_in" => (&mut expires, "expires_in"),
                _ => continue,
            };
            if slot.is_some() {
                return Err(AuthCallbackError::Duplicate(name));
            }
            *slot = Some(v.into_owned());
        }
        let code = code.ok_or(AuthCallbackError::MissingAuthCode)?;
        if code.is_empty() {
            return Err(AuthCallbackError::EmptyAuthCode);
        }
        if !valid_auth_code(&code) {
            return Err(AuthCallbackError::InvalidAuthCode);
        }
        let expires = expires.ok_or(AuthCallbackError::MissingExpiresIn)?;
        let expires_in = if !expires.is_empty() && expires.bytes().all(|b| b.is_ascii_digit()) {
            expires.parse::<u64>().ok()
        } else {
            None
        }
        .ok_or(AuthCallbackError::InvalidExpiresIn(expires))?;
        Ok(Self {
            auth_code: AuthorizationCode::new(code),
            expires_in,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn request_keeps_code_and_expiry() {
        let r = AuthorizationRequest::build(
            AuthPage::H5,
            "wxcomp",
            PreAuthCode::new("preauthcode@@@secret-part"),
            1_000_600,
            &AuthUrlOptions::new("https://example.com/cb"),
        )
        .unwrap();
        assert!(r.url.starts_with(crate::auth_url::H5_PAGE), "{}", r.url);
        assert!(r
            .url
            .contains("pre_auth_code=preauthcode%40%40%40secret-part"));
        assert_eq!(r.pre_auth_code.expose_secret(), "preauthcode@@@secret-part");
        assert_eq!(r.expires_at, 1_000_600);
        assert!(!r.is_expired(1_000_599) && r.is_expired(1_000_600));
        let dbg = format!("{r:?}");
        assert!(!dbg.contains("secret-part"), "{dbg}");
    }

    #[test]
    fn request_validates_like_the_url_builder() {
        let e = AuthorizationRequest::build(
            AuthPage::Pc,
            "wxcomp",
            PreAuthCode::new("p"),
            0,
            &AuthUrlOptions::new("http://example.com/cb"),
        )
        .unwrap_err();
        assert!(matches!(
            e,
            Error::InvalidInput {
                what: "redirect_uri",
                ..
            }
        ));
    }

    #[test]
    fn callback_forms() {
        for input in [
            "auth_code=queryauthcode%40%40%40abc&expires_in=600",
            "?auth_code=queryauthcode%40%40%40abc&expires_in=600",
            "https://example.com/cb?state=1&auth_code=queryauthcode@@@abc&expires_in=600",
            "https://example.com/cb?auth_code=queryauthcode%40%40%40abc&expires_in=600#frag",
            "/cb?expires_in=600&auth_code=queryauthcode%40%40%40abc&x=%FF",
        ] {
            let c = AuthCallback::from_query(input).unwrap();
            assert_eq!(
                c.auth_code.expose_secret(),
                "queryauthcode@@@abc",
                "{input}"
            );
            assert_eq!(c.expires_in, 600, "{input}");
        }
    }

    #[test]
    fn callback_errors_are_typed() {
        use AuthCallbackError as E;
        let cases: [(&str, E); 11] = [
            ("", E::MissingAuthCode),
            ("expires_in=600", E::MissingAuthCode),
            ("https://example.com/cb", E::MissingAuthCode),
            ("auth_code=&expires_in=600", E::EmptyAuthCode),
            ("auth_code=a%0Ab&expires_in=600", E::InvalidAuthCode),
            ("auth_code=a+b&expires_in=600", E::InvalidAuthCode),
            ("auth_code=queryauthcode%40%40%40a", E::MissingExpiresIn),
            (
                "auth_code=queryauthcode%40%40%40a&expires_in=ten",
                E::InvalidExpiresIn("ten".into()),
            ),
            (
                "auth_code=queryauthcode%40%40%40a&expires_in=-1",
                E::InvalidExpiresIn("-1".into()),
            ),
            (
                "auth_code=queryauthcode%40%40%40a&expires_in=99999999999999999999999",
                E::InvalidExpiresIn("99999999999999999999999".into()),
            ),
            (
                "auth_code=a&auth_code=b&expires_in=1",
                E::Duplicate("auth_code"),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(AuthCallback::from_query(input), Err(want), "{input}");
        }
        assert_eq!(
            AuthCallback::from_query("auth_code=queryauthcode%40%40%40a&expires_in="),
            Err(E::InvalidExpiresIn(String::new()))
        );
    }

    #[test]
    fn auth_codes_are_refused_unless_shaped_like_wechats() {
        let longest = format!("{AUTH_CODE_PREFIX}{}", "a".repeat(MAX_AUTH_CODE_BODY));
        let too_long = format!("{AUTH_CODE_PREFIX}{}", "a".repeat(MAX_AUTH_CODE_BODY + 1));
        for (code, ok) in [
            // As the fake and WeChat's documentation show them.
            ("queryauthcode@@@cvrRt4X3lC8yvYVf0UyHbWL2nQpx1J0A7lq3", true),
            ("queryauthcode@@@Ab9-_.=+/*~@", true),
            (&longest[..], true),
            ("queryauthcode@@@", false),
            (&too_long[..], false),
            ("junk", false),
            ("a", false),
            ("preauthcode@@@abc", false),
            ("QUERYAUTHCODE@@@abc", false),
            ("queryauthcode@@@a b", false),
            ("queryauthcode@@@a\nb", false),
            ("queryauthcode@@@<script>", false),
            ("queryauthcode@@@ü", false),
            ("queryauthcode@@@a%00", false),
        ] {
            assert_eq!(valid_auth_code(code), ok, "{code:?}");
            let query = format!(
                "auth_code={}&expires_in=600",
                url::form_urlencoded::byte_serialize(code.as_bytes()).collect::<String>()
            );
            let parsed = AuthCallback::from_query(&query);
            if ok {
                assert_eq!(parsed.unwrap().auth_code.expose_secret(), code);
            } else {
                assert_eq!(parsed, Err(AuthCallbackError::InvalidAuthCode), "{code:?}");
            }
        }
    }

    #[test]
    fn callback_work_is_bounded() {
        let long = format!(
            "auth_code=queryauthcode%40%40%40{}&expires_in=600",
            "a".repeat(MAX_CALLBACK_LEN)
        );
        assert_eq!(
            AuthCallback::from_query(&long),
            Err(AuthCallbackError::TooLong {
                limit: MAX_CALLBACK_LEN
            })
        );
        // Parameters past the bound are not looked at.
        let mut q = "x=1&".repeat(MAX_CALLBACK_PARAMS);
        q.push_str("auth_code=queryauthcode%40%40%40a&expires_in=600");
        assert_eq!(
            AuthCallback::from_query(&q),
            Err(AuthCallbackError::MissingAuthCode)
        );
        let e = AuthCallbackError::InvalidExpiresIn("9".repeat(1000));
        assert!(e.to_string().len() < 200);
    }

    #[test]
    fn callback_debug_and_error_conversion_redact() {
        let c =
            AuthCallback::from_query("auth_code=queryauthcode%40%40%40topsecret&expires_in=600")
                .unwrap();
        assert!(!format!("{c:?}").contains("topsecret"));
        let e: Error = AuthCallbackError::MissingAuthCode.into();
        assert!(matches!(e, Error::InvalidInput { .. }));
        assert!(e.to_string().contains("auth_code"));
    }
}
