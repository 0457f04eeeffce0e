//! Exchanging an authorization code once across instances: the record a claim leaves in the
//! store ([`ExchangeRecord`]) and the pure step ([`step`]) every instance takes on it.
//!
//! WeChat delivers one authorization code twice — in the `authorized` push (to whichever
//! instance the push reaches) and in the admin's browser redirect (to whichever instance the
//! browser reaches) — and `api_query_auth` accepts it once: a second exchange answers 61009.
//! So the first instance to see the code claims it in the store, exchanges it, and writes the
//! outcome; any other reads the outcome (or waits for it) instead of calling WeChat. Only
//! outcomes that settle the code are kept: a grant, or an error WeChat gives for the code
//! itself (invalid, expired); a transient failure releases the claim.

use serde::{Deserialize, Serialize};

/// What the store holds for one code (under `StoreKey::code_exchange`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExchangeRecord {
    /// When the claim was taken (unix seconds, the claiming instance's clock).
    pub started_at: u64,
    /// The outcome; `None` while the exchange runs.
    pub outcome: Option<ExchangeOutcome>,
}

/// How an exchange settled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ExchangeOutcome {
    /// `api_query_auth` granted the account; its tokens are in its authorizer record.
    Granted {
        /// The account.
        authorizer_appid: String,
        /// The permission-set ids it granted (`func_info`).
        func_info: Vec<i64>,
    },
    /// A user's web-authorization code was exchanged (see [`crate::user_oauth`]); kept
    /// [`EXCHANGE_KEEP_SECS`], longer than the code's 5 minutes, tokens included.
    UserToken(crate::user_answers::UserToken),
    /// A mini program's `js_code` was exchanged (`jscode2session`).
    Session(crate::user_answers::JsSession),
    /// WeChat refused the code itself (see [`settles_the_code`]).
    Refused {
        /// WeChat's errcode.
        errcode: i64,
        /// WeChat's errmsg.
        errmsg: String,
    },
}

/// How long an outcome is kept (the code's own lifetime is 10 minutes).
pub const EXCHANGE_KEEP_SECS: u64 = 600;

/// What an instance does with a code, given what the store holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExchangeStep {
    /// Nobody holds it (or the holder stopped answering): claim it and exchange.
    Claim,
    /// Another instance is exchanging it: wait for the outcome.
    Wait,
    /// It is settled: use this.
    Done(ExchangeOutcome),
}

/// The step for a code whose record is `current`, at `now`; a claim older than
/// `claim_ttl_secs` without an outcome is taken over (its holder died mid-exchange).
pub fn step(current: Option<&ExchangeRecord>, now: u64, claim_ttl_secs: u64) -> ExchangeStep {
    match current {
        None => ExchangeStep::Claim,
        Some(ExchangeRecord {
            outcome: Some(o), ..
        }) => ExchangeStep::Done(o.clone()),
        Some(r) if now >= r.started_at.saturating_add(claim_ttl_secs) => ExchangeStep::Claim,
        Some(_) => ExchangeStep::Wait,
    }
}

/// `true` for errcodes WeChat gives for the code itself, so another try cannot succeed:
/// 61009 (invalid code, also a code already exchanged) and 61010 (expired code).
pub fn settles_the_code(errcode: i64) -> bool {
    matches!(errcode, 61009 | 61010)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps() {
        let granted = ExchangeOutcome::Granted {
            authorizer_appid: "wxa".into(),
            func_info: vec![1, 18],
        };
        let running = ExchangeRecord {
            started_at: 100,
            outcome: None,
        };
        let done = ExchangeRecord {
            started_at: 100,
            outcome: Some(granted.clone()),
        };
        // (current, now, step)
        let table = [
            (None, 100, ExchangeStep::Claim),
            (Some(&running), 100, ExchangeStep::Wait),
            (Some(&running), 189, ExchangeStep::Wait),
            (Some(&running), 190, ExchangeStep::Claim),
            (Some(&done), 100, ExchangeStep::Done(granted.clone())),
            (Some(&done), 10_000, ExchangeStep::Done(granted)),
        ];
        for (i, (current, now, want)) in table.into_iter().enumerate() {
            assert_eq!(step(current, now, 90), want, "row {i}");
        }
        assert!(settles_the_code(61009) && settles_the_code(61010));
        assert!(!settles_the_code(-1) && !settles_the_code(45009) && !settles_the_code(61004));
    }
}
