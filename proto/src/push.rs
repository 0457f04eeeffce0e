//! The push request's query string and the handler's answer.

use crate::error::PushError;
use crate::event::ComponentEvent;

/// The body WeChat expects from a component push endpoint.
pub const SUCCESS_REPLY: &str = "success";

/// Query parameters of a push in safe (encrypted) mode.
///
/// Only `msg_signature` authenticates the body; `signature` is over token, timestamp and nonce
/// only and is kept just so callers can log that it was present.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PushQuery {
    /// `timestamp`
    pub timestamp: String,
    /// `nonce`
    pub nonce: String,
    /// `msg_signature` (over token, timestamp, nonce and the `Encrypt` text).
    pub msg_signature: String,
    /// `signature` (plain-mode signature; not used for verification).
    pub signature: Option<String>,
    /// `encrypt_type` (`aes` in safe mode).
    pub encrypt_type: Option<String>,
}

impl PushQuery {
    /// A query from its three required parts.
    pub fn new(
        timestamp: impl Into<String>,
        nonce: impl Into<String>,
        msg_signature: impl Into<String>,
    ) -> Self {
        Self {
            timestamp: timestamp.into(),
            nonce: nonce.into(),
            msg_signature: msg_signature.into(),
            signature: None,
            encrypt_type: None,
        }
    }

    /// Parses a raw query string (with or without a leading `?`), percent-decoding values.
    /// Unknown parameters are ignored; the first occurrence of a repeated one wins.
    pub fn parse(raw: &str) -> Result<Self, PushError> {
        Self::from_pairs(url::form_urlencoded::parse(
            raw.trim_start_matches('?').as_bytes(),
        ))
    }

    /// Builds the query from decoded `(name, value)` pairs (e.g. from a web framework).
    pub fn from_pairs<K, V, I>(pairs: I) -> Result<Self, PushError>
    where
        K: AsRef<str>,
        V: Into<String>,
        I: IntoIterator<Item = (K, V)>,
    {
        let (mut ts, mut nonce, mut ms, mut sig, mut et) = (None, None, None, None, None);
        for (k, v) in pairs {
            let slot = match k.as_ref() {
                "timestamp" => &mut ts,
                "nonce" => &mut nonce,
                "msg_signature" => &mut ms,
                "signature" => &mut sig,
                "encrypt_type" => &mut et,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(v.into());
            }
        }
        Ok(Self {
            msg_signature: ms.ok_or(PushError::MissingQueryParam("msg_signature"))?,
            timestamp: ts.ok_or(PushError::MissingQueryParam("timestamp"))?,
            nonce: nonce.ok_or(PushError::MissingQueryParam("nonce"))?,
            signature: sig,
            encrypt_type: et,
        })
    }
}

/// The outcome of a handled push: the event, and the body to answer WeChat with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushAck {
    /// The decrypted event.
    pub event: ComponentEvent,
    /// For a ticket push: `true` if it replaced the stored ticket, `false` if it was a
    /// duplicate or older than the stored one. `false` for other events.
    pub ticket_stored: bool,
    /// `true` when the replay cache had seen this push: it was answered, not applied again.
    pub replayed: bool,
    /// For an authorization event (`authorized`, `updateauthorized`, `unauthorized`): `true`
    /// if the record machine changed the account's record, `false` if it kept it (a late
    /// `unauthorized` older than the authorization, a repeat, a replay). `false` for tickets.
    pub applied: bool,
    /// For an applied authorization event: the store version of the account's record it wrote.
    /// Versions of one record only grow, so a host orders an account's events by it.
    pub record_version: Option<u64>,
    /// The HTTP response body to send: always `"success"`.
    pub reply: &'static str,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn parses_wechat_push_query() {
        let q = PushQuery::parse(
            "?signature=abc&timestamp=1409304348&nonce=xxxxxx&encrypt_type=aes&msg_signature=5d197aaffba7e9b25a30732f161a50dee96bd5fa",
        )
        .unwrap();
        assert_eq!(q.timestamp, "1409304348");
        assert_eq!(q.nonce, "xxxxxx");
        assert_eq!(q.msg_signature, "5d197aaffba7e9b25a30732f161a50dee96bd5fa");
        assert_eq!(q.signature.as_deref(), Some("abc"));
        assert_eq!(q.encrypt_type.as_deref(), Some("aes"));
    }

    #[test]
    fn percent_decoding_and_first_wins() {
        let q = PushQuery::parse("timestamp=1&nonce=a%20b&msg_signature=s&nonce=second").unwrap();
        assert_eq!(q.nonce, "a b");
    }

    #[test]
    fn signature_alone_is_not_enough() {
        assert_eq!(
            PushQuery::parse("signature=abc&timestamp=1&nonce=n"),
            Err(PushError::MissingQueryParam("msg_signature"))
        );
        assert_eq!(
            PushQuery::parse("msg_signature=s&nonce=n"),
            Err(PushError::MissingQueryParam("timestamp"))
        );
        assert_eq!(
            PushQuery::parse("msg_signature=s&timestamp=1"),
            Err(PushError::MissingQueryParam("nonce"))
        );
    }
}
