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

/// Spreads a backoff `delay` with a random `fraction` in `[0, 1]` ("equal jitter"): the result
/// lies between half the delay (`fraction` 0) and the whole delay (`fraction` 1), so many
/// clients that failed together do not retry in lockstep. Out-of-range and NaN fractions are
/// clamped (NaN counts as 1).
pub fn jittered(delay: Duration, fraction: f64) -> Duration {
    let f = if fraction.is_nan() {
        1.0
    } else {
        fraction.clamp(0.0, 1.0)
    };
    let half = delay / 2;
    half.checked_add((delay - half).mul_f64(f))
        .unwrap_or(delay)
        .min(delay)
}

/// When to stop preferring the primary base URL.
///
/// After [`failures_to_switch`](Self::failures_to_switch) consecutive calls failed on the
/// primary (transport errors or HTTP 5xx there), calls start on the next base URL for
/// [`prefer_fallback_for`](Self::prefer_fallback_for); meanwhile one call every
/// [`probe_every`](Self::probe_every) tries the primary first, and one success there ends the
/// switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailoverPolicy {
    /// Consecutive failed calls on the primary before preferring the fallback (default 3; 0
    /// disables sticky failover).
    pub failures_to_switch: u32,
    /// How long the fallback stays preferred (default 5 min), renewed while probes fail.
    pub prefer_fallback_for: Duration,
    /// How often a call probes the primary while the fallback is preferred (default 30 s).
    pub probe_every: Duration,
}

impl Default for FailoverPolicy {
    fn default() -> Self {
        Self {
            failures_to_switch: 3,
            prefer_fallback_for: Duration::from_secs(300),
            probe_every: Duration::from_secs(30),
        }
    }
}

/// The sticky-failover state (pure): which base URL a call starts on.
///
/// Host 0 is the primary; while the fallback is preferred, calls start on host 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPreference {
    policy: FailoverPolicy,
    consecutive_failures: u32,
    /// Unix seconds until which the fallback is preferred.
    fallback_until: Option<u64>,
    /// Unix seconds of the last probe of the primary.
    last_probe: u64,
}

impl HostPreference {
    /// Starts on the primary.
    pub fn new(policy: FailoverPolicy) -> Self {
        Self {
            policy,
            consecutive_failures: 0,
            fallback_until: None,
            last_probe: 0,
        }
    }

    fn fallback_preferred(&self, now: u64) -> bool {
        self.fallback_until.is_some_and(|until| now < until)
    }

    /// The host a call that must not probe starts on (no state change).
    pub fn preferred_host(&self, now: u64) -> usize {
        usize::from(self.fallback_preferred(now))
    }

    /// The host a call starts on at `now` (unix seconds): the primary, or while the fallback
    /// is preferred the fallback — except one call per `probe_every`, which probes the primary.
    pub fn pick_host(&mut self, now: u64) -> usize {
        if !self.fallback_preferred(now) {
            return 0;
        }
        if now
            >= self
                .last_probe
                .saturating_add(self.policy.probe_every.as_secs())
        {
            self.last_probe = now;
            return 0;
        }
        1
    }

    /// Records how a call went on `host`: `ok` means the host answered (any WeChat answer,
    /// errcodes included); not `ok` means it could not be reached or answered 5xx.
    pub fn record(&mut self, host: usize, ok: bool, now: u64) {
        if host != 0 {
            return;
        }
        if ok {
            self.consecutive_failures = 0;
            self.fallback_until = None;
            return;
        }
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        if self.policy.failures_to_switch > 0
            && self.consecutive_failures >= self.policy.failures_to_switch
        {
            if !self.fallback_preferred(now) {
                self.last_probe = now;
            }
            self.fallback_until =
                Some(now.saturating_add(self.policy.prefer_fallback_for.as_secs()));
        }
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
    fn jitter_stays_between_half_and_whole() {
        let d = Duration::from_millis(800);
        assert_eq!(jittered(d, 0.0), Duration::from_millis(400));
        assert_eq!(jittered(d, 1.0), d);
        let mid = jittered(d, 0.5);
        assert!(
            mid.abs_diff(Duration::from_millis(600)) < Duration::from_micros(1),
            "{mid:?}"
        );
        assert_eq!(jittered(d, -3.0), Duration::from_millis(400));
        assert_eq!(jittered(d, 7.0), d);
        assert_eq!(jittered(d, f64::NAN), d);
        assert_eq!(jittered(Duration::ZERO, 0.3), Duration::ZERO);
        let mut last = Duration::ZERO;
        for i in 0..=100u32 {
            let j = jittered(d, f64::from(i) / 100.0);
            assert!(j >= last && j >= d / 2 && j <= d, "{i}: {j:?}");
            last = j;
        }
        let big = Duration::from_secs(u64::MAX / 4);
        assert!(jittered(big, 0.9) <= big);
    }

    #[test]
    fn sticky_failover_switches_after_three_failures_and_probes() {
        let mut h = HostPreference::new(FailoverPolicy::default());
        let t = 1_000u64;
        assert_eq!(h.pick_host(t), 0);
        h.record(0, false, t);
        h.record(0, false, t + 1);
        assert_eq!(h.pick_host(t + 2), 0, "two failures do not switch");
        // A success in between resets the count.
        h.record(0, true, t + 2);
        h.record(0, false, t + 3);
        h.record(0, false, t + 4);
        assert_eq!(h.pick_host(t + 5), 0);
        h.record(0, false, t + 5);
        // Third consecutive failure: the fallback is preferred.
        assert_eq!(h.pick_host(t + 6), 1);
        assert_eq!(h.preferred_host(t + 6), 1);
        assert_eq!(h.pick_host(t + 34), 1);
        // 30 s after the switch one call probes the primary, the next ones do not.
        assert_eq!(h.pick_host(t + 35), 0);
        assert_eq!(h.pick_host(t + 35), 1);
        assert_eq!(h.pick_host(t + 64), 1);
        assert_eq!(h.pick_host(t + 65), 0);
        // The probe failed: the preference is renewed for 5 min from now.
        h.record(0, false, t + 65);
        assert_eq!(h.preferred_host(t + 65 + 299), 1);
        assert_eq!(h.preferred_host(t + 65 + 300), 0);
        // A probe that succeeds ends the switch at once.
        assert_eq!(h.pick_host(t + 95), 0);
        h.record(0, true, t + 95);
        assert_eq!(h.pick_host(t + 96), 0);
        assert_eq!(h.pick_host(t + 97), 0);
    }

    #[test]
    fn sticky_failover_expires_and_ignores_other_hosts() {
        let mut h = HostPreference::new(FailoverPolicy::default());
        for i in 0..3 {
            h.record(0, false, 100 + i);
        }
        assert_eq!(h.preferred_host(102), 1);
        // Fallback results do not move the preference.
        h.record(1, false, 110);
        h.record(1, true, 111);
        assert_eq!(h.preferred_host(111), 1);
        // Without probes or failures the preference lapses after 5 min.
        assert_eq!(h.pick_host(402), 0);
        // Disabled policy never switches.
        let mut off = HostPreference::new(FailoverPolicy {
            failures_to_switch: 0,
            ..FailoverPolicy::default()
        });
        for i in 0..10 {
            off.record(0, false, i);
        }
        assert_eq!(off.pick_host(10), 0);
        // Clocks far in the future do not overflow.
        let mut h = HostPreference::new(FailoverPolicy::default());
        for _ in 0..3 {
            h.record(0, false, u64::MAX - 1);
        }
        assert_eq!(h.pick_host(u64::MAX - 1), 1);
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
