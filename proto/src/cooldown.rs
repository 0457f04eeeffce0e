//! How long the token engine remembers a failed refresh, by class ([`CooldownPolicy`]): the
//! numbers the pure [`token_machine`](crate::token_machine) reads when it settles a failure.

use std::time::Duration;

/// How long the token engine remembers a failed refresh, by class. During a cool-down a
/// caller gets the remembered error at once (or the still-valid token, for a failed refresh
/// ahead of expiry), so a broken upstream costs one call per cool-down, not one per request.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct CooldownPolicy {
    /// Transient failures (-1, HTTP 5xx/429, timeouts, connection errors, undecodable
    /// answers): this long after the first failure, doubling with each further consecutive
    /// failure up to [`transient_max`](Self::transient_max) (default 5 s).
    pub transient: Duration,
    /// Upper bound of the transient cool-down (default 60 s).
    pub transient_max: Duration,
    /// Daily quota exhausted (45009) (default 10 min).
    pub daily_quota: Duration,
    /// Minute quota exhausted (45011) (default 60 s).
    pub minute_quota: Duration,
    /// Configuration errors (61004, 40164, 40125, 41004, 40013) (default 5 min).
    pub config: Duration,
    /// Ticket missing or rejected (61005, 61006): until a newer ticket is stored by this
    /// process, or at most this long (a ticket stored by another instance) (default 60 s).
    pub ticket: Duration,
    /// The account must re-authorize but no tombstone could be stored (default 5 min).
    pub reauthorize: Duration,
    /// Spread of every cool-down, as a fraction of it (default 0.2: ±20 %).
    pub jitter: f64,
}

impl Default for CooldownPolicy {
    fn default() -> Self {
        Self {
            transient: Duration::from_secs(5),
            transient_max: Duration::from_secs(60),
            daily_quota: Duration::from_secs(600),
            minute_quota: Duration::from_secs(60),
            config: Duration::from_secs(300),
            ticket: Duration::from_secs(60),
            reauthorize: Duration::from_secs(300),
            jitter: 0.2,
        }
    }
}

impl CooldownPolicy {
    /// No cool-down at all (every call may reach WeChat again; tests of retry paths).
    pub fn none() -> Self {
        Self {
            transient: Duration::ZERO,
            transient_max: Duration::ZERO,
            daily_quota: Duration::ZERO,
            minute_quota: Duration::ZERO,
            config: Duration::ZERO,
            ticket: Duration::ZERO,
            reauthorize: Duration::ZERO,
            jitter: 0.0,
        }
    }
}
