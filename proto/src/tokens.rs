//! Pure token-lifetime decisions: no I/O, no clock, no randomness.
//!
//! The async driver asks [`token_state`] what to do with a cached record at a given `now`, and
//! computes a record's refresh deadline once, when it is stored, with [`refresh_deadline`].

use std::time::Duration;

/// Validity of a `component_verify_ticket` after its push (`CreateTime`), per the official page.
pub const TICKET_LIFETIME: Duration = Duration::from_secs(12 * 60 * 60);

/// What to do with a cached token at some instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenState {
    /// Use it.
    Fresh,
    /// Still valid, but past its refresh deadline: refresh now if nobody else is, and fall back
    /// to this token if the refresh fails.
    RefreshAhead,
    /// Unusable: the caller must wait for a refresh.
    Expired,
}

/// Classifies a token with refresh deadline `refresh_at` and expiry `expires_at` (unix seconds).
pub fn token_state(now: u64, refresh_at: u64, expires_at: u64) -> TokenState {
    if now >= expires_at {
        TokenState::Expired
    } else if now >= refresh_at {
        TokenState::RefreshAhead
    } else {
        TokenState::Fresh
    }
}

/// Absolute expiry of a token obtained at `obtained_at` with lifetime `expires_in` seconds.
pub fn expiry(obtained_at: u64, expires_in: u64) -> u64 {
    obtained_at.saturating_add(expires_in)
}

/// The instant from which a token should be refreshed ahead of expiry.
///
/// `expires_at - margin - jitter`, but never earlier than half the token's lifetime, so a short
/// lifetime (or a margin misconfigured larger than the lifetime) cannot cause a refresh on every
/// call.
pub fn refresh_deadline(
    obtained_at: u64,
    expires_in: u64,
    margin: Duration,
    jitter: Duration,
) -> u64 {
    let expires_at = expiry(obtained_at, expires_in);
    let ahead = margin.as_secs().saturating_add(jitter.as_secs());
    let floor = obtained_at.saturating_add(expires_in / 2);
    expires_at.saturating_sub(ahead).max(floor)
}

/// `true` when a ticket pushed at `create_time` is older than [`TICKET_LIFETIME`] at `now`.
///
/// The client still tries a stale ticket (WeChat says the lifetime "may change"); this feeds
/// logs and the error message when WeChat answers 61005/61006.
pub fn ticket_is_stale(now: u64, create_time: u64) -> bool {
    now > create_time.saturating_add(TICKET_LIFETIME.as_secs())
}

/// How a refresh deadline is spread so that many instances do not refresh at the same second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Jitter {
    /// No spread: refresh exactly `margin` before expiry.
    None,
    /// Always this much extra (deterministic; for tests and demos).
    Fixed(Duration),
    /// Uniformly random in `0..=max` (the default, `max` = 2 minutes).
    Random {
        /// Upper bound of the spread.
        max: Duration,
    },
}

impl Default for Jitter {
    fn default() -> Self {
        Jitter::Random {
            max: Duration::from_secs(120),
        }
    }
}

impl Jitter {
    /// The spread for one draw `unit` in `0.0..=1.0` (the caller's jitter source supplies
    /// it; nothing here is random): `Random { max }` gives `unit × max`, rounded down to whole
    /// seconds. Values outside the range are clamped.
    pub fn spread(&self, unit: f64) -> Duration {
        match *self {
            Jitter::None => Duration::ZERO,
            Jitter::Fixed(d) => d,
            Jitter::Random { max } => {
                let unit = if unit.is_nan() {
                    0.0
                } else {
                    unit.clamp(0.0, 1.0)
                };
                // `(secs + 1) × unit` rounded down, capped at `secs`: every whole second of
                // 0..=secs is equally likely for a uniform draw.
                let secs = max.as_secs();
                let drawn = ((secs as f64 + 1.0) * unit) as u64;
                Duration::from_secs(drawn.min(secs))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const M10: Duration = Duration::from_secs(600);

    #[test]
    fn state_boundaries() {
        assert_eq!(token_state(99, 100, 200), TokenState::Fresh);
        assert_eq!(token_state(100, 100, 200), TokenState::RefreshAhead);
        assert_eq!(token_state(199, 100, 200), TokenState::RefreshAhead);
        assert_eq!(token_state(200, 100, 200), TokenState::Expired);
        assert_eq!(token_state(10_000, 100, 200), TokenState::Expired);
        // An expired-on-purpose record (compare-and-expire writes expires_at = 0).
        assert_eq!(token_state(1, 0, 0), TokenState::Expired);
    }

    #[test]
    fn deadline_is_margin_plus_jitter_before_expiry() {
        assert_eq!(
            refresh_deadline(1000, 7200, M10, Duration::ZERO),
            1000 + 6600
        );
        assert_eq!(
            refresh_deadline(1000, 7200, M10, Duration::from_secs(30)),
            1000 + 6570
        );
    }

    #[test]
    fn deadline_never_before_half_lifetime() {
        // pre_auth_code-like lifetime shorter than the margin.
        assert_eq!(refresh_deadline(1000, 600, M10, Duration::ZERO), 1300);
        assert_eq!(refresh_deadline(1000, 0, M10, Duration::ZERO), 1000);
        // Saturation at the top of the range: no overflow, never past expiry.
        assert_eq!(
            refresh_deadline(u64::MAX - 1, 7200, M10, Duration::ZERO),
            u64::MAX
        );
        assert_eq!(expiry(u64::MAX - 1, 7200), u64::MAX);
    }

    #[test]
    fn ticket_staleness() {
        assert!(!ticket_is_stale(1000 + 12 * 3600, 1000));
        assert!(ticket_is_stale(1001 + 12 * 3600, 1000));
        assert!(!ticket_is_stale(0, u64::MAX));
    }

    #[test]
    fn jitter_spread_is_the_draw_scaled_to_whole_seconds() {
        let max = Duration::from_secs(5);
        let random = Jitter::Random { max };
        // (draw, spread): table of the pure rule.
        for (unit, secs) in [
            (0.0, 0),
            (0.16, 0),
            (0.17, 1),
            (0.5, 3),
            (0.99, 5),
            (1.0, 5),
            (-3.0, 0),
            (7.0, 5),
            (f64::NAN, 0),
        ] {
            assert_eq!(
                random.spread(unit),
                Duration::from_secs(secs),
                "draw {unit}"
            );
        }
        assert_eq!(Jitter::None.spread(0.7), Duration::ZERO);
        assert_eq!(
            Jitter::Fixed(Duration::from_secs(7)).spread(0.1),
            Duration::from_secs(7)
        );
        assert_eq!(
            Jitter::Random {
                max: Duration::ZERO
            }
            .spread(1.0),
            Duration::ZERO
        );
    }
}
