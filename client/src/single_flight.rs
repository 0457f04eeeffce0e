//! In-process single flight: one async mutex per store key.
//!
//! Whoever holds a key's mutex is the only task in this process refreshing that record; the
//! others wait on the mutex and then find the refreshed record in the store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::store::StoreKey;

#[derive(Debug, Default)]
pub(crate) struct SingleFlight {
    slots: Mutex<HashMap<StoreKey, Arc<tokio::sync::Mutex<()>>>>,
}

impl SingleFlight {
    pub(crate) fn slot(&self, key: &StoreKey) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(map.entry(key.clone()).or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_key_same_slot() {
        let sf = SingleFlight::default();
        let a = sf.slot(&StoreKey::ticket("x"));
        let b = sf.slot(&StoreKey::ticket("x"));
        let c = sf.slot(&StoreKey::ticket("y"));
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
        let _g = a.try_lock();
        assert!(b.try_lock().is_err());
        assert!(c.try_lock().is_ok());
    }
}
