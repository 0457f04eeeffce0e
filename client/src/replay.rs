//! An optional replay cache for pushes: a push whose signature was already seen inside the
//! timestamp window is answered `success` without being applied again.
//!
//! The timestamp window (on by default) already refuses old captures; inside the window a
//! replayed ticket or authorization event is harmless (tickets keep the newest `CreateTime`,
//! authorization events are ordered by theirs), so the cache is an extra for hosts that want
//! every push applied once. Plug a shared implementation (e.g. Redis `SET NX EX`) for several
//! instances; [`MemoryReplayCache`] serves one process.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::Mutex;

/// Remembers push signatures until they leave the timestamp window.
pub trait ReplayCache: Send + Sync + fmt::Debug {
    /// Records `signature` until `expires_at` (unix seconds); `true` if it was already there
    /// (a replay). Called only after the signature verified, so junk cannot fill it.
    fn check_and_insert(&self, signature: &str, now: u64, expires_at: u64) -> bool;
}

/// An in-process [`ReplayCache`] holding at most `capacity` signatures (the oldest go first).
#[derive(Debug)]
pub struct MemoryReplayCache {
    capacity: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    seen: HashMap<String, u64>,
    order: VecDeque<(String, u64)>,
}

impl MemoryReplayCache {
    /// A cache of at most `capacity` signatures (at least 1).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            state: Mutex::new(State::default()),
        }
    }
}

impl Default for MemoryReplayCache {
    /// 100,000 signatures: a day of pushes for a large platform.
    fn default() -> Self {
        Self::new(100_000)
    }
}

impl ReplayCache for MemoryReplayCache {
    fn check_and_insert(&self, signature: &str, now: u64, expires_at: u64) -> bool {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        while let Some((sig, exp)) = st.order.front().cloned() {
            if exp > now && st.order.len() < self.capacity {
                break;
            }
            st.order.pop_front();
            if st.seen.get(&sig) == Some(&exp) {
                st.seen.remove(&sig);
            }
        }
        if st.seen.get(signature).is_some_and(|exp| *exp > now) {
            return true;
        }
        st.seen.insert(signature.to_owned(), expires_at);
        st.order.push_back((signature.to_owned(), expires_at));
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_until_expiry_and_stays_bounded() {
        let c = MemoryReplayCache::new(3);
        assert!(!c.check_and_insert("a", 10, 20));
        assert!(c.check_and_insert("a", 11, 20));
        assert!(!c.check_and_insert("a", 20, 30), "expired: seen anew");
        for s in ["b", "c", "d", "e"] {
            assert!(!c.check_and_insert(s, 21, 40));
        }
        let st = c.state.lock().unwrap_or_else(|p| p.into_inner());
        assert!(st.order.len() <= 3 && st.seen.len() <= 3);
    }
}
