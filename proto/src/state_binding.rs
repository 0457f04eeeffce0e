//! The binding of the host's `state` to the pre-auth code of one authorize visit: the
//! authorize page puts `wxopen_bind=<digest>.<mac>` next to `state` in the `redirect_uri`
//! (the digest names the pre-auth code, the MAC ties it and `state` under the `handoff_key`),
//! and the result page checks it ([`check`]) and, when the `authorized` push has named the
//! code's `PreAuthCode`, that the digests agree.
//!
//! ```
//! use wxopen_proto::state_binding::{bind, check, pre_auth_code_digest};
//!
//! let key = b"a key of at least 32 bytes, shared with the host";
//! let digest = pre_auth_code_digest("preauthcode@@@abc");
//! let value = bind(key, "wxcomponent0001", &digest, Some("session-42"));
//! assert_eq!(check(key, "wxcomponent0001", &value, Some("session-42")), Ok(digest));
//! assert!(check(key, "wxcomponent0001", &value, Some("session-43")).is_err());
//! ```

use std::fmt;

use sha2::{Digest, Sha256};

use crate::handoff::{hex, mac_hex, same};

/// The `redirect_uri` parameter carrying the binding.
pub const PARAM_BIND: &str = "wxopen_bind";
/// Length of a [`pre_auth_code_digest`] (hex digits).
pub const DIGEST_LEN: usize = 32;

/// Why a binding was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BindingError {
    /// No `wxopen_bind` parameter (the visit did not start at this service's authorize page).
    Missing,
    /// Not `<32 hex>.<64 hex>`.
    Malformed,
    /// The MAC does not match: the `state` (or the digest) is not the one issued.
    Mismatch,
}

impl fmt::Display for BindingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing => write!(f, "no state binding"),
            Self::Malformed => write!(f, "the state binding is malformed"),
            Self::Mismatch => write!(f, "the state is not the one issued with the pre-auth code"),
        }
    }
}

impl std::error::Error for BindingError {}

/// The first 16 bytes of SHA-256 of a code, as 32 lowercase hex digits: names a pre-auth or
/// authorization code in URLs and store ids without revealing it.
pub fn pre_auth_code_digest(code: &str) -> String {
    let d = Sha256::digest(code.as_bytes());
    hex(&d[..DIGEST_LEN / 2])
}

fn mac(key: &[u8], component_appid: &str, digest: &str, state: Option<&str>) -> String {
    let has_state = if state.is_some() { "1" } else { "0" };
    mac_hex(
        key,
        "wxopen-state-v1\n",
        &[component_appid, digest, has_state, state.unwrap_or("")],
    )
}

/// The `wxopen_bind` value for a visit: `<digest>.<mac>`.
pub fn bind(key: &[u8], component_appid: &str, digest: &str, state: Option<&str>) -> String {
    format!("{digest}.{}", mac(key, component_appid, digest, state))
}

/// Checks a `wxopen_bind` value against the `state` the redirect carries; the pre-auth
/// code's digest when it holds (compared in constant time).
pub fn check(
    key: &[u8],
    component_appid: &str,
    value: &str,
    state: Option<&str>,
) -> Result<String, BindingError> {
    let (digest, got) = value.split_once('.').ok_or(BindingError::Malformed)?;
    let hex = |s: &str, n: usize| {
        s.len() == n && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    if !hex(digest, DIGEST_LEN) || !hex(got, 64) {
        return Err(BindingError::Malformed);
    }
    if !same(&mac(key, component_appid, digest, state), got) {
        return Err(BindingError::Mismatch);
    }
    Ok(digest.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    /// name, component, value, state, expected.
    type Case<'a> = (
        &'a str,
        &'a str,
        &'a str,
        Option<&'a str>,
        Result<String, BindingError>,
    );

    #[test]
    fn binding_table() {
        let d = pre_auth_code_digest("preauthcode@@@abc");
        let other = pre_auth_code_digest("preauthcode@@@abd");
        assert_eq!(d.len(), DIGEST_LEN);
        assert_ne!(d, other);
        let v = bind(KEY, "wxc", &d, Some("s1"));
        let none = bind(KEY, "wxc", &d, None);
        let swapped = format!("{other}{}", &v[DIGEST_LEN..]);
        let cases: Vec<Case<'_>> = vec![
            ("as issued", "wxc", &v, Some("s1"), Ok(d.clone())),
            ("no state, as issued", "wxc", &none, None, Ok(d.clone())),
            (
                "another state",
                "wxc",
                &v,
                Some("s2"),
                Err(BindingError::Mismatch),
            ),
            (
                "state dropped",
                "wxc",
                &v,
                None,
                Err(BindingError::Mismatch),
            ),
            (
                "state added",
                "wxc",
                &none,
                Some(""),
                Err(BindingError::Mismatch),
            ),
            (
                "another component",
                "wxd",
                &v,
                Some("s1"),
                Err(BindingError::Mismatch),
            ),
            (
                "another code's digest",
                "wxc",
                &swapped,
                Some("s1"),
                Err(BindingError::Mismatch),
            ),
            (
                "no dot",
                "wxc",
                "abc",
                Some("s1"),
                Err(BindingError::Malformed),
            ),
            (
                "short",
                "wxc",
                "ab.cd",
                Some("s1"),
                Err(BindingError::Malformed),
            ),
        ];
        for (name, comp, value, state, want) in cases {
            assert_eq!(check(KEY, comp, value, state), want, "{name}");
        }
        let other_key = bind(b"another key, also 32 bytes long!", "wxc", &d, Some("s1"));
        assert_eq!(
            check(KEY, "wxc", &other_key, Some("s1")),
            Err(BindingError::Mismatch)
        );
    }
}
