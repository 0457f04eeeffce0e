//! The signed hand-off to the host: after an authorization, `wxopen serve` redirects the admin
//! to the component's `authorized_redirect` with [`Handoff`]'s parameters, signed with
//! HMAC-SHA256 under the component's `handoff_key`; the host checks them with
//! [`Handoff::verify`] (a pure function: the caller passes the time in).
//!
//! ```
//! use wxopen_proto::handoff::{Handoff, HandoffError};
//!
//! let key = b"a key of at least 32 bytes, shared with the host";
//! let sent = Handoff {
//!     component_appid: "wxcomponent0001".into(),
//!     authorizer_appid: "wxauthorizer01".into(),
//!     state: Some("session-42".into()),
//!     issued_at: 1_700_000_000,
//!     nonce: "00112233445566778899aabbccddeeff".into(),
//! };
//! let query = sent.to_query(key);
//!
//! // The host, on its authorized_redirect page:
//! let got = Handoff::verify(&query, "wxcomponent0001", key, 1_700_000_005, 300)?;
//! assert_eq!(got.authorizer_appid, "wxauthorizer01");
//! // …then remembers got.nonce until got.issued_at + 300 and refuses it a second time.
//!
//! let forged = query.replace("wxauthorizer01", "wxauthorizer02");
//! assert_eq!(
//!     Handoff::verify(&forged, "wxcomponent0001", key, 1_700_000_005, 300),
//!     Err(HandoffError::BadSignature)
//! );
//! # Ok::<(), HandoffError>(())
//! ```

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The query parameter carrying the authorized account's appid.
pub const PARAM_AUTHORIZER_APPID: &str = "authorizer_appid";
/// The query parameter carrying the host's `state` (absent when the visit had none).
pub const PARAM_STATE: &str = "state";
/// The query parameter carrying when the hand-off was issued (unix seconds).
pub const PARAM_TS: &str = "wxopen_ts";
/// The query parameter carrying the one-time id (32 lowercase hex digits).
pub const PARAM_NONCE: &str = "wxopen_nonce";
/// The query parameter carrying the signature (64 lowercase hex digits).
pub const PARAM_SIG: &str = "wxopen_sig";
/// Longest query [`Handoff::verify`] reads, in bytes.
pub const MAX_QUERY_LEN: usize = 4096;
/// Most `name=value` pairs [`Handoff::verify`] looks at.
pub const MAX_QUERY_PARAMS: usize = 64;
/// Longest field (appid, state) accepted, in bytes.
pub const MAX_FIELD_LEN: usize = 256;
/// How far in the future `wxopen_ts` may lie (clock skew between the service and the host).
pub const MAX_SKEW_SECS: u64 = 60;
/// The default maximum age a host should accept (the redirect follows within seconds).
pub const DEFAULT_MAX_AGE_SECS: u64 = 300;
/// The shortest key accepted, in bytes.
pub const MIN_KEY_LEN: usize = 32;

/// What the service hands the host after an authorization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handoff {
    /// The component (third-party platform) the account authorized.
    pub component_appid: String,
    /// The account that authorized.
    pub authorizer_appid: String,
    /// The host's `state` from the authorize link (checked against the pre-auth code).
    pub state: Option<String>,
    /// When the service issued the hand-off (unix seconds).
    pub issued_at: u64,
    /// A one-time id (32 lowercase hex digits): the host accepts each one once.
    pub nonce: String,
}

/// Why [`Handoff::verify`] refused a hand-off.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandoffError {
    /// The key is shorter than [`MIN_KEY_LEN`] bytes.
    WeakKey,
    /// The query is longer than [`MAX_QUERY_LEN`] bytes or has more than
    /// [`MAX_QUERY_PARAMS`] pairs (not read).
    TooLong,
    /// A required parameter is absent.
    Missing(&'static str),
    /// A parameter appears twice (a host reading the first and a check reading the last
    /// would disagree).
    Duplicate(&'static str),
    /// A parameter is not in its form (digits, hex, length).
    Malformed(&'static str),
    /// The signature does not match: forged, modified, another component's or another key's.
    BadSignature,
    /// Older than the allowed age.
    Expired {
        /// Its age in seconds.
        age: u64,
        /// The allowed age.
        max_age: u64,
    },
    /// Issued more than [`MAX_SKEW_SECS`] in the future.
    FromTheFuture,
}

impl fmt::Display for HandoffError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WeakKey => write!(f, "the hand-off key is shorter than {MIN_KEY_LEN} bytes"),
            Self::TooLong => write!(f, "the hand-off query is too long"),
            Self::Missing(p) => write!(f, "the hand-off has no {p}"),
            Self::Duplicate(p) => write!(f, "the hand-off has {p} twice"),
            Self::Malformed(p) => write!(f, "the hand-off's {p} is malformed"),
            Self::BadSignature => write!(f, "the hand-off's signature does not match"),
            Self::Expired { age, max_age } => {
                write!(f, "the hand-off is {age} s old (at most {max_age} s)")
            }
            Self::FromTheFuture => write!(f, "the hand-off is issued in the future"),
        }
    }
}

impl std::error::Error for HandoffError {}

/// HMAC-SHA256 over length-prefixed fields (no field can spill into the next), lowercase hex.
pub(crate) fn mac_hex(key: &[u8], domain: &str, fields: &[&str]) -> String {
    // HMAC takes keys of any length; new_from_slice cannot fail for it.
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(domain.as_bytes());
    for f in fields {
        mac.update(f.len().to_string().as_bytes());
        mac.update(b":");
        mac.update(f.as_bytes());
        mac.update(b"\n");
    }
    hex(&mac.finalize().into_bytes())
}

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
    out
}

/// Constant-time equality of two strings (lengths may differ).
pub(crate) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl Handoff {
    /// The signature (64 lowercase hex digits) of this hand-off under `key`.
    pub fn signature(&self, key: &[u8]) -> String {
        let ts = self.issued_at.to_string();
        let state = self.state.as_deref().unwrap_or("");
        let has_state = if self.state.is_some() { "1" } else { "0" };
        mac_hex(
            key,
            "wxopen-handoff-v1\n",
            &[
                &self.component_appid,
                &self.authorizer_appid,
                has_state,
                state,
                &ts,
                &self.nonce,
            ],
        )
    }

    /// The parameters to append to `authorized_redirect`, signature last.
    pub fn query_pairs(&self, key: &[u8]) -> Vec<(&'static str, String)> {
        let mut pairs = vec![(PARAM_AUTHORIZER_APPID, self.authorizer_appid.clone())];
        if let Some(s) = &self.state {
            pairs.push((PARAM_STATE, s.clone()));
        }
        pairs.push((PARAM_TS, self.issued_at.to_string()));
        pairs.push((PARAM_NONCE, self.nonce.clone()));
        pairs.push((PARAM_SIG, self.signature(key)));
        pairs
    }

    /// The parameters as a URL-encoded query (without `?`).
    pub fn to_query(&self, key: &[u8]) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(self.query_pairs(key))
            .finish()
    }

    /// Checks a hand-off the way a host should: `query` is the raw query string of the
    /// request to `authorized_redirect` (other parameters of the host's own are ignored),
    /// `component_appid` the component the host expects, `key` the `handoff_key`, `now` the
    /// host's clock (unix seconds), `max_age` the oldest accepted (e.g.
    /// [`DEFAULT_MAX_AGE_SECS`]). The signature is compared in constant time. Take the
    /// appid and state from the returned value, never from the query again, and accept each
    /// [`nonce`](Self::nonce) once: remember it until `issued_at + max_age`.
    pub fn verify(
        query: &str,
        component_appid: &str,
        key: &[u8],
        now: u64,
        max_age: u64,
    ) -> Result<Self, HandoffError> {
        if key.len() < MIN_KEY_LEN {
            return Err(HandoffError::WeakKey);
        }
        let query = query.strip_prefix('?').unwrap_or(query);
        if query.len() > MAX_QUERY_LEN {
            return Err(HandoffError::TooLong);
        }
        const NAMES: [&str; 5] = [
            PARAM_AUTHORIZER_APPID,
            PARAM_STATE,
            PARAM_TS,
            PARAM_NONCE,
            PARAM_SIG,
        ];
        let mut found: [Option<String>; 5] = Default::default();
        for (i, (k, v)) in url::form_urlencoded::parse(query.as_bytes()).enumerate() {
            if i >= MAX_QUERY_PARAMS {
                return Err(HandoffError::TooLong);
            }
            if let Some(at) = NAMES.iter().position(|n| *n == k) {
                if found[at].is_some() {
                    return Err(HandoffError::Duplicate(NAMES[at]));
                }
                if v.len() > MAX_FIELD_LEN {
                    return Err(HandoffError::Malformed(NAMES[at]));
                }
                found[at] = Some(v.into_owned());
            }
        }
        let [appid, state, ts, nonce, sig] = found;
        let appid = appid.ok_or(HandoffError::Missing(PARAM_AUTHORIZER_APPID))?;
        let ts = ts.ok_or(HandoffError::Missing(PARAM_TS))?;
        let nonce = nonce.ok_or(HandoffError::Missing(PARAM_NONCE))?;
        let sig = sig.ok_or(HandoffError::Missing(PARAM_SIG))?;
        if appid.is_empty() {
            return Err(HandoffError::Malformed(PARAM_AUTHORIZER_APPID));
        }
        if ts.is_empty() || ts.len() > 20 || !ts.bytes().all(|b| b.is_ascii_digit()) {
            return Err(HandoffError::Malformed(PARAM_TS));
        }
        let issued_at: u64 = ts.parse().map_err(|_| HandoffError::Malformed(PARAM_TS))?;
        if !is_hex(&nonce, 32) {
            return Err(HandoffError::Malformed(PARAM_NONCE));
        }
        if !is_hex(&sig, 64) {
            return Err(HandoffError::Malformed(PARAM_SIG));
        }
        let handoff = Self {
            component_appid: component_appid.to_owned(),
            authorizer_appid: appid,
            state,
            issued_at,
            nonce,
        };
        // The signature first: nothing about an unsigned hand-off's time is worth saying.
        if !same(&handoff.signature(key), &sig) {
            return Err(HandoffError::BadSignature);
        }
        if issued_at > now.saturating_add(MAX_SKEW_SECS) {
            return Err(HandoffError::FromTheFuture);
        }
        let age = now.saturating_sub(issued_at);
        if age > max_age {
            return Err(HandoffError::Expired { age, max_age });
        }
        Ok(handoff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";
    const NOW: u64 = 1_700_000_000;

    fn sample() -> Handoff {
        Handoff {
            component_appid: "wxcomponent0001".into(),
            authorizer_appid: "wxauthorizer01".into(),
            state: Some("s-1".into()),
            issued_at: NOW,
            nonce: "0123456789abcdef0123456789abcdef".into(),
        }
    }

    #[test]
    fn the_signature_is_hmac_sha256_of_the_length_prefixed_fields() {
        // Expected value from Python's hmac module: hmac.new(KEY, b"wxopen-handoff-v1\n" +
        // b"".join(f"{len(f)}:{f}\n" for f in fields), sha256).hexdigest(), the fields being
        // component, appid, "1" (a state), state, issued_at and nonce.
        assert_eq!(
            sample().signature(KEY),
            "ad0934d0ce1a5f3ba5d2839c899eb2a1bf994f110da524bcac95904c345c79df"
        );
    }

    #[test]
    fn verify_table() {
        let good = sample().to_query(KEY);
        let no_state = Handoff {
            state: None,
            ..sample()
        }
        .to_query(KEY);
        let sig = sample().signature(KEY);
        let other_key = sample().to_query(b"another key, also 32 bytes long!");
        let mut bumped_ts = sample();
        bumped_ts.issued_at += 1;
        let ts_swapped = format!(
            "authorizer_appid=wxauthorizer01&state=s-1&wxopen_ts={}&wxopen_nonce={}&wxopen_sig={sig}",
            NOW + 1,
            sample().nonce
        );
        let cases: Vec<(&str, String, u64, Result<(), HandoffError>)> = vec![
            ("good", good.clone(), NOW + 5, Ok(())),
            ("good, with a leading ?", format!("?{good}"), NOW, Ok(())),
            ("good, no state", no_state.clone(), NOW, Ok(())),
            (
                "host parameters around it",
                format!("page=2&{good}&x=y"),
                NOW,
                Ok(()),
            ),
            (
                "appid changed",
                good.replace("wxauthorizer01", "wxauthorizer02"),
                NOW,
                Err(HandoffError::BadSignature),
            ),
            (
                "state changed",
                good.replace("state=s-1", "state=s-2"),
                NOW,
                Err(HandoffError::BadSignature),
            ),
            (
                "state dropped",
                good.replace("state=s-1&", ""),
                NOW,
                Err(HandoffError::BadSignature),
            ),
            (
                "state added",
                format!("{no_state}&state=x"),
                NOW,
                Err(HandoffError::BadSignature),
            ),
            (
                "empty state added",
                format!("{no_state}&state="),
                NOW,
                Err(HandoffError::BadSignature),
            ),
            (
                "timestamp changed",
                ts_swapped,
                NOW + 1,
                Err(HandoffError::BadSignature),
            ),
            (
                "nonce changed",
                good.replace("wxopen_nonce=0", "wxopen_nonce=1"),
                NOW,
                Err(HandoffError::BadSignature),
            ),
            (
                "another key",
                other_key,
                NOW,
                Err(HandoffError::BadSignature),
            ),
            (
                "signature flipped",
                good.replace(
                    &sig,
                    &format!(
                        "{}{}",
                        &sig[..63],
                        if sig.ends_with('0') { "1" } else { "0" }
                    ),
                ),
                NOW,
                Err(HandoffError::BadSignature),
            ),
            (
                "signature in capitals",
                good.replace(&sig, &sig.to_uppercase()),
                NOW,
                Err(HandoffError::Malformed(PARAM_SIG)),
            ),
            (
                "no signature",
                good.replace(&format!("&wxopen_sig={sig}"), ""),
                NOW,
                Err(HandoffError::Missing(PARAM_SIG)),
            ),
            (
                "appid twice",
                format!("authorizer_appid=wxother&{good}"),
                NOW,
                Err(HandoffError::Duplicate(PARAM_AUTHORIZER_APPID)),
            ),
            (
                "too old",
                good.clone(),
                NOW + 301,
                Err(HandoffError::Expired {
                    age: 301,
                    max_age: 300,
                }),
            ),
            ("just in age", good.clone(), NOW + 300, Ok(())),
            (
                "from the future",
                good.clone(),
                NOW - MAX_SKEW_SECS - 1,
                Err(HandoffError::FromTheFuture),
            ),
            (
                "huge",
                format!("{good}&pad={}", "a".repeat(MAX_QUERY_LEN)),
                NOW,
                Err(HandoffError::TooLong),
            ),
            (
                "many pairs",
                format!("{}{good}", "a=1&".repeat(MAX_QUERY_PARAMS)),
                NOW,
                Err(HandoffError::TooLong),
            ),
            (
                "timestamp not digits",
                good.replace(&format!("wxopen_ts={NOW}"), "wxopen_ts=-1"),
                NOW,
                Err(HandoffError::Malformed(PARAM_TS)),
            ),
            (
                "timestamp overflowing",
                good.replace(
                    &format!("wxopen_ts={NOW}"),
                    "wxopen_ts=99999999999999999999",
                ),
                NOW,
                Err(HandoffError::Malformed(PARAM_TS)),
            ),
        ];
        for (name, query, now, want) in cases {
            let got = Handoff::verify(&query, "wxcomponent0001", KEY, now, 300).map(|_| ());
            assert_eq!(got, want, "{name}: {query}");
        }
        assert_eq!(
            Handoff::verify(&good, "wxcomponent0002", KEY, NOW, 300),
            Err(HandoffError::BadSignature),
            "another component"
        );
        assert_eq!(
            Handoff::verify(&good, "wxcomponent0001", b"short", NOW, 300),
            Err(HandoffError::WeakKey)
        );
        assert_eq!(
            Handoff::verify(&good, "wxcomponent0001", KEY, NOW, 300),
            Ok(sample())
        );
    }
}
