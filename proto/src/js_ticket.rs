//! JS-SDK tickets of authorized accounts — the third token kind: which ticket
//! ([`JsTicketType`]), its record ([`JsTicketRecord`]) and the rules the engine executes for
//! it (who wins a write conflict, what a fetch error means).
//!
//! `GET /cgi-bin/ticket/getticket?access_token=<authorizer token>&type=jsapi|wx_card` answers
//! `{ticket, expires_in: 7200}`; each fetch replaces the account's previous ticket of that
//! type, so one fetch per ticket across instances matters as much as for access tokens.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::errcode::{classify, ErrorClass};
use crate::secret::JsTicket;

/// Which JS-SDK ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum JsTicketType {
    /// `type=jsapi`: signs `wx.config`.
    Jsapi,
    /// `type=wx_card`: the card (卡券) `api_ticket`.
    WxCard,
}

impl JsTicketType {
    /// The `type=` query value of `getticket`.
    pub fn query_value(self) -> &'static str {
        match self {
            JsTicketType::Jsapi => "jsapi",
            JsTicketType::WxCard => "wx_card",
        }
    }
}

impl fmt::Display for JsTicketType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.query_value())
    }
}

/// The URL path of `getticket`.
pub const GETTICKET_PATH: &str = "/cgi-bin/ticket/getticket";

/// A cached JS-SDK ticket of one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsTicketRecord {
    /// The ticket.
    pub ticket: JsTicket,
    /// When it was obtained (unix seconds).
    pub obtained_at: u64,
    /// From when it should be refreshed ahead of expiry (unix seconds).
    pub refresh_at: u64,
    /// When it expires (unix seconds); 0 after a compare-and-expire.
    pub expires_at: u64,
}

impl JsTicketRecord {
    /// The record with its ticket marked expired (compare-and-expire: the next read fetches).
    pub fn expired(&self) -> Self {
        Self {
            refresh_at: 0,
            expires_at: 0,
            ..self.clone()
        }
    }
}

/// On a write conflict: `true` when the stored record must be kept over a fetch that started
/// at `started_at` — another instance fetched at the same time or later and its ticket is
/// live (each fetch invalidates the previous ticket, so the later one is the valid one). An
/// expired record (compare-and-expire) or an older ticket is overwritten.
pub fn keep_stored(stored: Option<&JsTicketRecord>, started_at: u64) -> bool {
    stored.is_some_and(|r| r.obtained_at >= started_at && r.expires_at > 0)
}

/// What the fetch of a ticket does after `getticket` failed with `errcode` on attempt
/// `attempt` (0 for the first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TicketFetchStep {
    /// The authorizer access token it was fetched with was rejected (40001, 40014, 42001):
    /// compare-and-expire that token, get the account's current one, and try once more.
    ExpireAccessTokenAndRetry,
    /// Give up with the error (its class decides the cool-down).
    Fail,
}

/// The rule for a failed ticket fetch: an access-token problem is the authorizer token's, so
/// it is expired and the fetch retried — once.
pub fn after_fetch_error(errcode: Option<i64>, attempt: u32) -> TicketFetchStep {
    match errcode.map(classify) {
        Some(ErrorClass::TokenInvalid) if attempt == 0 => {
            TicketFetchStep::ExpireAccessTokenAndRetry
        }
        _ => TicketFetchStep::Fail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(obtained_at: u64, expires_at: u64) -> JsTicketRecord {
        JsTicketRecord {
            ticket: JsTicket::from("t"),
            obtained_at,
            refresh_at: expires_at.saturating_sub(10),
            expires_at,
        }
    }

    #[test]
    fn a_later_live_ticket_wins_a_conflict() {
        let rows = [
            (None, 100, false),
            (Some(rec(100, 7300)), 100, true),
            (Some(rec(150, 7350)), 100, true),
            (Some(rec(99, 7299)), 100, false),
            (Some(rec(150, 7350).expired()), 100, false),
        ];
        for (i, (stored, started, keep)) in rows.iter().enumerate() {
            assert_eq!(keep_stored(stored.as_ref(), *started), *keep, "row {i}");
        }
    }

    #[test]
    fn only_a_first_token_error_expires_the_access_token_and_retries() {
        use TicketFetchStep::*;
        let rows = [
            (Some(40001), 0, ExpireAccessTokenAndRetry),
            (Some(42001), 0, ExpireAccessTokenAndRetry),
            (Some(40014), 0, ExpireAccessTokenAndRetry),
            (Some(40001), 1, Fail),
            (Some(45009), 0, Fail),
            (Some(61003), 0, Fail),
            (Some(-1), 0, Fail),
            (None, 0, Fail),
        ];
        for (errcode, attempt, step) in rows {
            assert_eq!(
                after_fetch_error(errcode, attempt),
                step,
                "{errcode:?} #{attempt}"
            );
        }
    }

    #[test]
    fn query_values_are_wechats() {
        assert_eq!(JsTicketType::Jsapi.query_value(), "jsapi");
        assert_eq!(JsTicketType::WxCard.to_string(), "wx_card");
    }

    #[test]
    fn a_record_never_shows_its_ticket() {
        let r = JsTicketRecord {
            ticket: JsTicket::from("kgt8ON7yVITDhtdwci0qeSECRET"),
            obtained_at: 1,
            refresh_at: 2,
            expires_at: 3,
        };
        assert!(!format!("{r:?}").contains("SECRET"));
    }
}
