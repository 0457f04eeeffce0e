//! [`SentMessage`]: a customer-service message the fake accepted, as tests read it back.

use std::time::Instant;

/// A customer-service message the fake accepted on `custom/send`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentMessage {
    /// The account whose authorizer access token sent it.
    pub authorizer_appid: String,
    /// `touser`: the recipient's openid.
    pub touser: String,
    /// `msgtype` (always `text`: the only type the fake accepts).
    pub msgtype: String,
    /// `text.content`.
    pub content: String,
    /// `customservice.kf_account`, when given.
    pub kf_account: Option<String>,
    /// Arrival on the fake clock (Unix seconds).
    pub at_unix: u64,
    /// Arrival in real time (for latencies: the fake clock may stand still).
    pub at: Instant,
}
