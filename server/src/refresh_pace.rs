//! The minimum interval between unconditional refreshes (`POST …/token/refresh` without
//! `stale`) of one token, per instance: each one invalidates the token every other service
//! holds, so one client cannot make the token churn. Within the interval the current token is
//! answered, not refetched. Bounded: at most [`MAX_PACED`] tokens are remembered.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// Most tokens whose last unconditional refresh is remembered; past it, the entries whose
/// interval has passed are dropped, then the oldest.
pub const MAX_PACED: usize = 4096;

/// When each token was last refreshed unconditionally (Unix seconds), keyed by component and
/// authorizer appid (`None`: the component token).
#[derive(Debug)]
pub(crate) struct RefreshPace {
    interval: Duration,
    last: Mutex<HashMap<(String, Option<String>), u64>>,
}

impl RefreshPace {
    /// Unconditional refreshes of one token at most once per `interval` (zero: no limit).
    pub(crate) fn new(interval: Duration) -> Self {
        Self {
            interval,
            last: Mutex::new(HashMap::new()),
        }
    }

    /// `true` if an unconditional refresh of the token may go ahead at `now` (and it is
    /// remembered as the last one); `false` if the last one was within the interval.
    pub(crate) fn allow(&self, component: &str, authorizer: Option<&str>, now: u64) -> bool {
        let interval = self.interval.as_secs();
        if interval == 0 {
            return true;
        }
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        let key = (component.to_owned(), authorizer.map(str::to_owned));
        if let Some(at) = last.get(&key) {
            if now < at.saturating_add(interval) {
                return false;
            }
        }
        if last.len() >= MAX_PACED && !last.contains_key(&key) {
            last.retain(|_, at| now < at.saturating_add(interval));
            if last.len() >= MAX_PACED {
                if let Some(oldest) = last
                    .iter()
                    .min_by_key(|(_, at)| **at)
                    .map(|(k, _)| k.clone())
                {
                    last.remove(&oldest);
                }
            }
        }
        last.insert(key, now);
        true
    }

    /// How many tokens are remembered.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.last.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_unconditional_refresh_per_token_per_interval() {
        let p = RefreshPace::new(Duration::from_secs(60));
        assert!(p.allow("wxc", None, 1000));
        assert!(!p.allow("wxc", None, 1059));
        // Another token is its own.
        assert!(p.allow("wxc", Some("wxa"), 1059));
        assert!(!p.allow("wxc", Some("wxa"), 1060));
        assert!(p.allow("wxc", None, 1060));
        // Zero: no limit.
        let off = RefreshPace::new(Duration::ZERO);
        assert!(off.allow("wxc", None, 1) && off.allow("wxc", None, 1));
    }

    #[test]
    fn memory_stays_bounded_whatever_appids_are_asked_for() {
        let p = RefreshPace::new(Duration::from_secs(60));
        for i in 0..(MAX_PACED + 100) {
            assert!(p.allow("wxc", Some(&format!("wx{i}")), 1000 + i as u64 / 1000));
        }
        assert_eq!(p.len(), MAX_PACED);
    }
}
