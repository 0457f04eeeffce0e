//! Bounded retry and domain failover, as a pure step function.
//!
//! For each retryable failure the driver asks [`next_step`] what to do; the answer only depends
//! on the policy and the counters, so the whole schedule is testable without a network. The
//! total number of attempts is at most `max_attempts_per_host × number of base URLs`.

use std::time::Duration;

/// Retry schedule for retryable failures (-1, HTTP 5xx, timeouts, connection errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts on one base URL before moving to the next (at least 1 is always made).
    pub max_attempts_per_host: u32,
    /// Delay before the first retry on a host; doubles on each further retry.
    pub base_delay: Duration,
    /// Upper bound of one delay.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts_per_host: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// A policy with no waiting between attempts (tests).
    pub fn immediate(max_attempts_per_host: u32) -> Self {
        Self {
            max_attempts_per_host,
            base_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
        }
    }

    /// Delay before retry number `retry` (0-based) on the same host: `base × 2^retry`, capped.
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX);
        self.base_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }
}

/// What the driver does after a retryable failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Wait, then try the same host again.
    RetryAfter(Duration),
    /// Move to the next base URL (no wait).
    Failover,
    /// Stop and report the last error.
    GiveUp,
}

/// Decides the next step after a retryable failure of attempt `attempt_on_host` (1-based) on
/// host number `host_index` (0-based) of `host_count`.
pub fn next_step(
    policy: &RetryPolicy,
    attempt_on_host: u32,
    host_index: usize,
    host_count: usize,
) -> Step {
    if attempt_on_host < policy.max_attempts_per_host.max(1) {
        Step::RetryAfter(policy.backoff(attempt_on_host.saturating_sub(1)))
    } else if host_index + 1 < host_count {
        Step::Failover
    } else {
        Step::GiveUp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff(0), Duration::from_millis(200));
        assert_eq!(p.backoff(1), Duration::from_millis(400));
        assert_eq!(p.backoff(2), Duration::from_millis(800));
        assert_eq!(p.backoff(3), Duration::from_millis(1600));
        assert_eq!(p.backoff(4), Duration::from_secs(2));
        assert_eq!(p.backoff(u32::MAX), Duration::from_secs(2));
    }

    #[test]
    fn schedule_is_bounded_then_fails_over() {
        let p = RetryPolicy::default();
        assert_eq!(
            next_step(&p, 1, 0, 2),
            Step::RetryAfter(Duration::from_millis(200))
        );
        assert_eq!(
            next_step(&p, 2, 0, 2),
            Step::RetryAfter(Duration::from_millis(400))
        );
        assert_eq!(next_step(&p, 3, 0, 2), Step::Failover);
        assert_eq!(next_step(&p, 3, 1, 2), Step::GiveUp);
        assert_eq!(next_step(&p, 3, 0, 1), Step::GiveUp);
    }

    #[test]
    fn simulated_schedule_counts_attempts() {
        // Drive the step function the way the client does, with every attempt failing.
        for (per_host, hosts) in [(1u32, 1usize), (3, 2), (5, 3), (0, 2)] {
            let p = RetryPolicy::immediate(per_host);
            let (mut host, mut attempt, mut total) = (0usize, 1u32, 1u32);
            loop {
                match next_step(&p, attempt, host, hosts) {
                    Step::RetryAfter(_) => attempt += 1,
                    Step::Failover => {
                        host += 1;
                        attempt = 1;
                    }
                    Step::GiveUp => break,
                }
                total += 1;
                assert!(total < 1000, "unbounded");
            }
            let hosts_u32 = u32::try_from(hosts).unwrap_or(u32::MAX);
            assert_eq!(total, per_host.max(1) * hosts_u32, "{per_host}x{hosts}");
        }
    }
}
