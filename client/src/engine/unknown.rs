//! Appids the authorizer list does not know, remembered in memory until the next scan may
//! run: asked for again, they fail at once — no lease, no scan, no tombstone — as long as the
//! store still holds no record for them (an authorization writes one, so it wins at once on
//! every instance). Bounded ([`MAX_UNKNOWN`]), so asking for random appids
//! costs neither memory nor store writes beyond one scan per interval.

use std::collections::HashMap;
use std::sync::Mutex;

/// Most unknown appids remembered; past it, the expired ones are dropped, then the one that
/// expires first.
pub const MAX_UNKNOWN: usize = 10_000;

/// Unknown appids and until when (unix seconds) they are known to be unknown.
#[derive(Debug, Default)]
pub(crate) struct UnknownAppids {
    until: Mutex<HashMap<String, u64>>,
}

impl UnknownAppids {
    /// Remembers `appid` as unknown until `until` (now is `now`).
    pub(crate) fn remember(&self, appid: &str, until: u64, now: u64) {
        if until <= now {
            return;
        }
        let mut map = self.until.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_UNKNOWN && !map.contains_key(appid) {
            map.retain(|_, u| *u > now);
            if map.len() >= MAX_UNKNOWN {
                let first = map.iter().min_by_key(|(_, u)| **u).map(|(k, _)| k.clone());
                if let Some(k) = first {
                    map.remove(&k);
                }
            }
        }
        map.insert(appid.to_owned(), until);
    }

    /// Until when `appid` is known to be unknown at `now`, if it is.
    pub(crate) fn until(&self, appid: &str, now: u64) -> Option<u64> {
        let map = self.until.lock().unwrap_or_else(|p| p.into_inner());
        map.get(appid).copied().filter(|u| *u > now)
    }

    /// How many appids are remembered.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.until.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_appids_expire_and_stay_bounded() {
        let u = UnknownAppids::default();
        u.remember("wxa", 1600, 1000);
        assert_eq!(u.until("wxa", 1599), Some(1600));
        assert_eq!(u.until("wxa", 1600), None);
        u.remember("wxb", 1000, 1000);
        assert_eq!(
            u.until("wxb", 999),
            None,
            "an interval already over is not kept"
        );
        for i in 0..(MAX_UNKNOWN + 100) {
            u.remember(&format!("wx{i}"), 2000 + i as u64, 1000);
        }
        assert_eq!(u.len(), MAX_UNKNOWN);
        // The ones expiring first went.
        assert_eq!(u.until("wx0", 1000), None);
        assert!(u.until(&format!("wx{}", MAX_UNKNOWN + 99), 1000).is_some());
    }
}
