//! What the store holds: keys ([`StoreKey`], one Redis Cluster hash tag per component), the
//! records ([`StoredValue`]: ticket, component token, authorizer tokens, tombstones, scan
//! marks), versioned reads, compare-and-set outcomes and [`StoreError`]. Pure data: the async
//! `TokenStore` port that reads and writes them lives in `wxopen-client`.
//!
//! Values are serde-serializable (JSON is fine; the secrets inside serialize as their plain
//! value, so the backing store must be access-controlled). [`StoredValue::expires_at_hint`]
//! tells a backend when a record may be dropped (never for a refresh token).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::secret::{
    AuthorizerAccessToken, AuthorizerRefreshToken, ComponentAccessToken, ComponentVerifyTicket,
};
use crate::tokens::TICKET_LIFETIME;

pub use crate::js_ticket::JsTicketRecord;

/// Identifies one record. Every key is scoped by the component appid (multi-tenant stores).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum StoreKey {
    /// The newest `component_verify_ticket`.
    Ticket {
        /// Component appid.
        component_appid: String,
    },
    /// The `component_access_token`.
    ComponentToken {
        /// Component appid.
        component_appid: String,
    },
    /// One authorizer's access token and refresh token (stored together, atomically), or its
    /// tombstone.
    Authorizer {
        /// Component appid.
        component_appid: String,
        /// Authorizer appid.
        authorizer_appid: String,
    },
    /// When the authorizer list was last scanned (rate limit shared by every instance).
    AuthorizerScan {
        /// Component appid.
        component_appid: String,
    },
    /// The claim and outcome of exchanging one authorization code (see
    /// [`crate::code_exchange`]); named by the code's SHA-1, never the code itself.
    CodeExchange {
        /// Component appid.
        component_appid: String,
        /// Lowercase hex SHA-1 of the code.
        code_sha1: String,
    },
    /// One authorizer's JS-SDK ticket of one type (see [`crate::js_ticket`]).
    JsTicket {
        /// Component appid.
        component_appid: String,
        /// Authorizer appid.
        authorizer_appid: String,
        /// Which ticket.
        ticket_type: crate::js_ticket::JsTicketType,
    },
}

impl StoreKey {
    /// The ticket key of a component.
    pub fn ticket(component_appid: &str) -> Self {
        StoreKey::Ticket {
            component_appid: component_appid.to_owned(),
        }
    }

    /// The component token key of a component.
    pub fn component_token(component_appid: &str) -> Self {
        StoreKey::ComponentToken {
            component_appid: component_appid.to_owned(),
        }
    }

    /// The key of one authorizer of a component.
    pub fn authorizer(component_appid: &str, authorizer_appid: &str) -> Self {
        StoreKey::Authorizer {
            component_appid: component_appid.to_owned(),
            authorizer_appid: authorizer_appid.to_owned(),
        }
    }

    /// The authorizer-list scan key of a component.
    pub fn authorizer_scan(component_appid: &str) -> Self {
        StoreKey::AuthorizerScan {
            component_appid: component_appid.to_owned(),
        }
    }

    /// The key of `code`'s exchange record.
    pub fn code_exchange(component_appid: &str, code: &crate::secret::AuthorizationCode) -> Self {
        use sha1::{Digest, Sha1};
        let digest = Sha1::digest(code.expose_secret().as_bytes());
        let mut hex = String::with_capacity(40);
        for b in digest.iter() {
            hex.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
            hex.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
        }
        StoreKey::CodeExchange {
            component_appid: component_appid.to_owned(),
            code_sha1: hex,
        }
    }

    /// The key of the exchange record of a user's one-time code (`kind` names the exchange,
    /// e.g. `oauth` or `jscode`) for one account: like [`code_exchange`](Self::code_exchange),
    /// named by a SHA-1 of kind, account and code, never the code itself.
    pub fn user_code_exchange(
        component_appid: &str,
        kind: &str,
        authorizer_appid: &str,
        code: &str,
    ) -> Self {
        let named = format!("{kind}\n{authorizer_appid}\n{code}");
        Self::code_exchange(
            component_appid,
            &crate::secret::AuthorizationCode::new(named),
        )
    }

    /// The key of an authorizer's JS-SDK ticket of `ticket_type`.
    pub fn js_ticket(
        component_appid: &str,
        authorizer_appid: &str,
        ticket_type: crate::js_ticket::JsTicketType,
    ) -> Self {
        StoreKey::JsTicket {
            component_appid: component_appid.to_owned(),
            authorizer_appid: authorizer_appid.to_owned(),
            ticket_type,
        }
    }

    /// The component appid this key belongs to.
    pub fn component_appid(&self) -> &str {
        match self {
            StoreKey::Ticket { component_appid }
            | StoreKey::ComponentToken { component_appid }
            | StoreKey::Authorizer {
                component_appid, ..
            }
            | StoreKey::AuthorizerScan { component_appid }
            | StoreKey::CodeExchange {
                component_appid, ..
            }
            | StoreKey::JsTicket {
                component_appid, ..
            } => component_appid,
        }
    }

    /// The part after the component: `ticket`, `component_token`, `authorizer:<appid>`,
    /// `authorizer_scan`, `code_exchange:<sha1>`, `js_ticket:<jsapi|wx_card>:<appid>` (outside the
    /// `authorizer:` range a listing of authorizers reads).
    pub fn name(&self) -> String {
        match self {
            StoreKey::Ticket { .. } => "ticket".to_owned(),
            StoreKey::ComponentToken { .. } => "component_token".to_owned(),
            StoreKey::Authorizer {
                authorizer_appid, ..
            } => format!("authorizer:{authorizer_appid}"),
            StoreKey::AuthorizerScan { .. } => "authorizer_scan".to_owned(),
            StoreKey::CodeExchange { code_sha1, .. } => format!("code_exchange:{code_sha1}"),
            StoreKey::JsTicket {
                authorizer_appid,
                ticket_type,
                ..
            } => format!("js_ticket:{ticket_type}:{authorizer_appid}"),
        }
    }

    /// The name of this key's lease, distinct from the record's:
    /// `wxopen:{<component_appid>}:lease:<name>`.
    pub fn lease_name(&self) -> String {
        format!(
            "wxopen:{{{}}}:lease:{}",
            self.component_appid(),
            self.name()
        )
    }
}

impl fmt::Display for StoreKey {
    /// `wxopen:{<component_appid>}:ticket`, `wxopen:{<component_appid>}:component_token`,
    /// `wxopen:{<component_appid>}:authorizer:<authorizer_appid>`,
    /// `wxopen:{<component_appid>}:authorizer_scan` (the braces are literal: a Redis Cluster
    /// hash tag, so every key of one component lives in one slot).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "wxopen:{{{}}}:{}", self.component_appid(), self.name())
    }
}

/// How long a ticket is kept past its 12 h lifetime (the stale-ticket path can still read it).
pub const TICKET_GRACE_SECS: u64 = 12 * 3600;

/// How long a tombstone for an appid the authorizer list does not know is kept.
pub const NOT_LISTED_TOMBSTONE_SECS: u64 = 24 * 3600;

/// The newest ticket pushed by WeChat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketRecord {
    /// The ticket.
    pub ticket: ComponentVerifyTicket,
    /// `CreateTime` of the push that carried it (unix seconds).
    pub create_time: u64,
    /// When this process received it (unix seconds, client clock).
    pub received_at: u64,
}

/// A cached `component_access_token`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentTokenRecord {
    /// The token.
    pub token: ComponentAccessToken,
    /// When it was obtained (unix seconds).
    pub obtained_at: u64,
    /// From when it should be refreshed ahead of expiry (unix seconds).
    pub refresh_at: u64,
    /// When it expires (unix seconds); 0 after a compare-and-expire.
    pub expires_at: u64,
}

/// One authorizer's tokens. The refresh token is never dropped when the access token changes.
/// Every change to it is decided by [`crate::record_machine::apply`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizerRecord {
    /// The access token, absent when the account granted no API rights or after it expired.
    pub access_token: Option<AuthorizerAccessToken>,
    /// The refresh token; absent only when WeChat returned none (it is then recovered from the
    /// authorizer list when the access token is needed).
    pub refresh_token: Option<AuthorizerRefreshToken>,
    /// When the access token was obtained (unix seconds).
    pub obtained_at: u64,
    /// From when the access token should be refreshed (unix seconds).
    pub refresh_at: u64,
    /// When the access token expires (unix seconds); 0 after a compare-and-expire.
    pub expires_at: u64,
    /// When this deployment last confirmed the authorization, by its own clock (unix
    /// seconds): `query_auth`, an import, a recovery, or the receipt of an
    /// `authorized`/`updateauthorized` push. Records written by 0.1.0 may hold a push's
    /// `CreateTime` here instead.
    pub authorized_at: u64,
    /// WeChat's `CreateTime` of the newest authorization push applied to this account
    /// (`authorized`, `updateauthorized`), or the list's `auth_time` after a recovery; 0 when
    /// none is known. Pushes are ordered by this, never by a local time.
    #[serde(default)]
    pub event_time: u64,
    /// Bumped each time the record gets tokens from a new source (a grant, an import, a
    /// refresh, a recovered refresh token); unchanged by push metadata and by expiring the
    /// access token. A refresh that started from serial `n` may only write over serial `n`:
    /// token freshness is compared by this, never by clocks.
    #[serde(default)]
    pub token_serial: u64,
    /// The permission-set ids the account granted (`func_info[].funcscope_category.id`),
    /// sorted, as `api_query_auth` (an authorization or an `updateauthorized`) or
    /// `api_get_authorizer_info` last reported them; `None` when no answer reported them yet
    /// (imports, recoveries, records written before 0.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub func_info: Option<Vec<i64>>,
    /// The permission sets the last change of [`func_info`](Self::func_info) took away (an
    /// `updateauthorized` that narrowed the grant), sorted; empty when the last change took
    /// none away.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub func_info_removed: Vec<i64>,
}

/// Why an authorizer needs to authorize the component again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RevokeReason {
    /// An `unauthorized` push.
    Unauthorized,
    /// WeChat rejected the refresh token (61023) and the authorizer list had no other.
    RefreshTokenInvalid,
    /// The account is not in the authorizer list.
    NotListed,
    /// WeChat said the account does not authorize this component (61003).
    NotAuthorized,
}

/// A tombstone: the authorizer must authorize again. Cleared by `query_auth` (or the
/// `authorized` push that leads to it); until then token requests fail at once, with no call
/// to WeChat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokedRecord {
    /// Since when (unix seconds; for an `unauthorized` push, its `CreateTime`).
    pub since: u64,
    /// Why.
    pub reason: RevokeReason,
    /// The WeChat code that led here, if any (61023, 61003).
    pub errcode: Option<i64>,
    /// WeChat's `CreateTime` of the newest authorization push applied to this account (for an
    /// `unauthorized` tombstone, its own `CreateTime`); 0 when none is known.
    #[serde(default)]
    pub event_time: u64,
    /// The [`AuthorizerRecord::token_serial`] of the record this tombstone replaced, so
    /// a later grant continues the sequence (no ABA for a refresh that was in flight).
    #[serde(default)]
    pub token_serial: u64,
}

/// The last full scan of `api_get_authorizer_list` by any instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanRecord {
    /// When it started (unix seconds).
    pub started_at: u64,
    /// How many accounts it listed.
    pub listed: u64,
}

/// A record's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum StoredValue {
    /// See [`TicketRecord`].
    Ticket(TicketRecord),
    /// See [`ComponentTokenRecord`].
    ComponentToken(ComponentTokenRecord),
    /// See [`AuthorizerRecord`].
    Authorizer(AuthorizerRecord),
    /// See [`RevokedRecord`].
    AuthorizerRevoked(RevokedRecord),
    /// See [`ScanRecord`].
    AuthorizerScan(ScanRecord),
    /// See [`ExchangeRecord`](crate::code_exchange::ExchangeRecord).
    CodeExchange(crate::code_exchange::ExchangeRecord),
    /// See [`JsTicketRecord`].
    JsTicket(JsTicketRecord),
}

impl StoredValue {
    /// The instant (unix seconds) after which a backend may drop this record by itself, or
    /// `None` when it must be kept until it is overwritten or deleted. A ticket is kept for its
    /// 12 h from `CreateTime`, an access token until it expires, and a record holding a refresh
    /// token, or a tombstone, forever.
    pub fn expires_at_hint(&self) -> Option<u64> {
        match self {
            // Past its 12 h, a ticket is still tried once WeChat has not pushed a newer one (the
            // client's stale-ticket path): kept TICKET_GRACE longer.
            StoredValue::Ticket(t) => Some(
                t.create_time
                    .saturating_add(TICKET_LIFETIME.as_secs())
                    .saturating_add(TICKET_GRACE_SECS),
            ),
            StoredValue::ComponentToken(c) => Some(c.expires_at),
            StoredValue::Authorizer(a) if a.refresh_token.is_none() => Some(a.expires_at),
            // An appid the authorizer list does not know (never authorized, or asked for by
            // mistake): remembered a day, not forever, so asking for unknown appids cannot fill
            // the store. Other tombstones order later pushes and stay.
            StoredValue::AuthorizerRevoked(r) if r.reason == RevokeReason::NotListed => {
                Some(r.since.saturating_add(NOT_LISTED_TOMBSTONE_SECS))
            }
            StoredValue::Authorizer(_) | StoredValue::AuthorizerRevoked(_) => None,
            StoredValue::AuthorizerScan(s) => Some(s.started_at.saturating_add(24 * 3600)),
            StoredValue::JsTicket(t) => Some(t.expires_at),
            StoredValue::CodeExchange(e) => Some(
                e.started_at
                    .saturating_add(crate::code_exchange::EXCHANGE_KEEP_SECS),
            ),
        }
    }
}

/// A value with the version the store gave it; every successful write changes the version.
/// Versions are never 0 (the client uses 0 as "matches nothing").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    /// The value.
    pub value: StoredValue,
    /// Its version.
    pub version: u64,
}

/// Result of `TokenStore::compare_and_set`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CasOutcome {
    /// Written; the new version.
    Applied {
        /// New version of the record.
        version: u64,
    },
    /// Not written: the record's current state differs from what was expected.
    Conflict {
        /// What is stored now.
        current: Option<Versioned>,
    },
    /// Not written: the write was fenced and the holder no longer holds the key's lease.
    LeaseLost,
}

/// What kind of backend failure a [`StoreError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// The backend cannot be reached or answered too slowly (Redis down, SQLite busy): retry
    /// later.
    Unavailable,
    /// A stored value could not be decoded (corrupt, or written by a newer version).
    Corrupt,
    /// The backend is misconfigured (bad URL, missing directory, read-only file, schema newer
    /// than this code).
    Config,
    /// The backend does not offer this operation.
    Unsupported,
    /// The caller passed something the store refuses (e.g. an over-long claim id).
    InvalidInput,
    /// Anything else.
    Other,
}

/// A backend failure. Its message never contains a stored value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError {
    kind: StoreErrorKind,
    message: String,
}

impl StoreError {
    /// A backend error of kind [`StoreErrorKind::Other`] (the message must not contain secrets).
    pub fn new(message: impl Into<String>) -> Self {
        Self::with_kind(StoreErrorKind::Other, message)
    }

    /// A backend error of the given kind (the message must not contain secrets).
    pub fn with_kind(kind: StoreErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// The backend is unreachable or busy.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::with_kind(StoreErrorKind::Unavailable, message)
    }

    /// A stored value could not be decoded.
    pub fn corrupt(message: impl Into<String>) -> Self {
        Self::with_kind(StoreErrorKind::Corrupt, message)
    }

    /// The backend is misconfigured.
    pub fn config(message: impl Into<String>) -> Self {
        Self::with_kind(StoreErrorKind::Config, message)
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StoreError {}

/// Longest id `TokenStore::claim_once` takes, in bytes.
pub const MAX_CLAIM_ID_LEN: usize = 256;

/// The key a store keeps a `TokenStore::claim_once` record under:
/// `wxopen:{<component_appid>}:claim:<id>`, or an `InvalidInput` error for an id that is
/// empty or longer than [`MAX_CLAIM_ID_LEN`].
pub fn claim_key(component_appid: &str, id: &str) -> Result<String, StoreError> {
    if id.is_empty() || id.len() > MAX_CLAIM_ID_LEN {
        return Err(StoreError::with_kind(
            StoreErrorKind::InvalidInput,
            format!("claim id must be 1 to {MAX_CLAIM_ID_LEN} bytes"),
        ));
    }
    Ok(format!("wxopen:{{{component_appid}}}:claim:{id}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_namespaced_by_component_with_a_hash_tag() {
        assert_eq!(StoreKey::ticket("wxc").to_string(), "wxopen:{wxc}:ticket");
        assert_eq!(
            StoreKey::component_token("wxc").to_string(),
            "wxopen:{wxc}:component_token"
        );
        assert_eq!(
            StoreKey::authorizer("wxc", "wxa").to_string(),
            "wxopen:{wxc}:authorizer:wxa"
        );
        assert_eq!(
            StoreKey::authorizer_scan("wxc").to_string(),
            "wxopen:{wxc}:authorizer_scan"
        );
        assert_eq!(
            StoreKey::authorizer("wxc", "wxa").lease_name(),
            "wxopen:{wxc}:lease:authorizer:wxa"
        );
        assert_ne!(
            StoreKey::component_token("wxc").lease_name(),
            StoreKey::component_token("wxc").to_string()
        );
        assert_ne!(StoreKey::ticket("a"), StoreKey::ticket("b"));
        assert_eq!(StoreKey::authorizer("wxc", "wxa").component_appid(), "wxc");
    }

    #[test]
    fn js_ticket_keys_sit_outside_the_authorizer_range() {
        use crate::js_ticket::JsTicketType;
        let rows = [
            (JsTicketType::Jsapi, "wxopen:{wxc}:js_ticket:jsapi:wxa"),
            (JsTicketType::WxCard, "wxopen:{wxc}:js_ticket:wx_card:wxa"),
        ];
        for (t, want) in rows {
            let key = StoreKey::js_ticket("wxc", "wxa", t);
            assert_eq!(key.to_string(), want);
            assert!(!key.name().starts_with("authorizer:"));
            assert_eq!(key.component_appid(), "wxc");
        }
        let v = StoredValue::JsTicket(JsTicketRecord {
            ticket: crate::secret::JsTicket::new("jt-secret"),
            obtained_at: 1,
            refresh_at: 5,
            expires_at: 7201,
        });
        assert!(!format!("{v:?}").contains("jt-secret"));
        assert_eq!(v.expires_at_hint(), Some(7201));
        let json = serde_json::to_string(&v).unwrap_or_default();
        assert!(json.contains("\"kind\":\"js_ticket\""), "{json}");
        assert_eq!(serde_json::from_str::<StoredValue>(&json).ok(), Some(v));
    }

    #[test]
    fn records_debug_redacts_and_serde_round_trips() -> Result<(), serde_json::Error> {
        let v = StoredValue::Authorizer(AuthorizerRecord {
            access_token: Some(AuthorizerAccessToken::new("at-secret")),
            refresh_token: Some(AuthorizerRefreshToken::new("refreshtoken@@@rt-secret")),
            obtained_at: 1,
            refresh_at: 2,
            expires_at: 3,
            authorized_at: 1,
            event_time: 0,
            token_serial: 0,
            func_info: None,
            func_info_removed: Vec::new(),
        });
        let dbg = format!("{v:?}");
        assert!(!dbg.contains("secret"), "{dbg}");
        let json = serde_json::to_string(&v)?;
        assert!(json.contains("\"kind\":\"authorizer\""));
        let back: StoredValue = serde_json::from_str(&json)?;
        assert_eq!(back, v);
        let t = StoredValue::AuthorizerRevoked(RevokedRecord {
            since: 5,
            reason: RevokeReason::RefreshTokenInvalid,
            errcode: Some(61023),
            event_time: 0,
            token_serial: 0,
        });
        let back: StoredValue = serde_json::from_str(&serde_json::to_string(&t)?)?;
        assert_eq!(back, t);
        Ok(())
    }

    #[test]
    fn refresh_tokens_never_expire_in_a_backend() {
        let rec = |rt: Option<&str>| {
            StoredValue::Authorizer(AuthorizerRecord {
                access_token: None,
                refresh_token: rt.map(AuthorizerRefreshToken::new),
                obtained_at: 1,
                refresh_at: 2,
                expires_at: 3,
                authorized_at: 1,
                event_time: 0,
                token_serial: 0,
                func_info: None,
                func_info_removed: Vec::new(),
            })
        };
        assert_eq!(rec(Some("refreshtoken@@@x")).expires_at_hint(), None);
        assert_eq!(rec(None).expires_at_hint(), Some(3));
        let ticket = StoredValue::Ticket(TicketRecord {
            ticket: ComponentVerifyTicket::new("ticket@@@x"),
            create_time: 100,
            received_at: 100,
        });
        assert_eq!(
            ticket.expires_at_hint(),
            Some(100 + 24 * 3600),
            "12 h + 12 h grace"
        );
        // (tombstone reason, hint): only an appid the list does not know expires.
        for (reason, hint) in [
            (RevokeReason::Unauthorized, None),
            (RevokeReason::RefreshTokenInvalid, None),
            (RevokeReason::NotAuthorized, None),
            (RevokeReason::NotListed, Some(1 + 24 * 3600)),
        ] {
            let revoked = StoredValue::AuthorizerRevoked(RevokedRecord {
                since: 1,
                reason,
                errcode: None,
                event_time: 0,
                token_serial: 0,
            });
            assert_eq!(revoked.expires_at_hint(), hint, "{reason:?}");
        }
    }

    #[test]
    fn store_errors_are_typed() {
        assert_eq!(
            StoreError::unavailable("down").kind(),
            StoreErrorKind::Unavailable
        );
        assert_eq!(StoreError::new("x").kind(), StoreErrorKind::Other);
        assert_eq!(StoreError::corrupt("bad").to_string(), "bad");
    }
}
