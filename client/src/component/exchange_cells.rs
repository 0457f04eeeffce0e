//! The in-process half of the code exchange ([`Exchanges`]): one running exchange per code,
//! shared by every caller of this process; bounded, and never evicting one in flight.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use crate::api::AuthorizationInfo;
use crate::error::Result;

/// Codes remembered in process at most (entries of settled codes go after
/// [`EXCHANGE_KEEP_SECS`](crate::code_exchange::EXCHANGE_KEEP_SECS); running ones never).
const IN_PROCESS_MAX: usize = 10_000;

pub(super) type Shared<T = AuthorizationInfo> = Arc<OnceCell<Result<T>>>;

/// The in-process half: one running exchange per code, shared by every caller (`T` is what an
/// exchange yields: an authorization, or a user code's outcome).
#[derive(Debug)]
pub(crate) struct Exchanges<T = AuthorizationInfo> {
    cells: Mutex<HashMap<String, (u64, Shared<T>)>>,
}

impl<T> Default for Exchanges<T> {
    fn default() -> Self {
        Self {
            cells: Mutex::new(HashMap::new()),
        }
    }
}

impl<T> Exchanges<T> {
    pub(super) fn cell(&self, id: &str, now: u64) -> Shared<T> {
        let mut cells = self.cells.lock().unwrap_or_else(|p| p.into_inner());
        if cells.len() >= IN_PROCESS_MAX {
            // Settled or old entries go; an exchange in flight is never evicted.
            cells.retain(|_, (at, cell)| {
                !cell.initialized()
                    || now.saturating_sub(*at) < crate::code_exchange::EXCHANGE_KEEP_SECS
            });
        }
        cells
            .entry(id.to_owned())
            .or_insert_with(|| (now, Arc::new(OnceCell::new())))
            .1
            .clone()
    }

    pub(super) fn forget(&self, id: &str, cell: &Shared<T>) {
        let mut cells = self.cells.lock().unwrap_or_else(|p| p.into_inner());
        if cells.get(id).is_some_and(|(_, c)| Arc::ptr_eq(c, cell)) {
            cells.remove(id);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::code_exchange::EXCHANGE_KEEP_SECS;
    use crate::error::Error;

    #[test]
    fn a_full_map_drops_old_settled_codes_but_never_one_in_flight() {
        let x: Exchanges = Exchanges::default();
        let running = x.cell("running", 0);
        for i in 0..IN_PROCESS_MAX - 1 {
            let settled = x.cell(&format!("settled-{i}"), 0);
            settled
                .set(Err(Error::invalid("authorization_code", "refused")))
                .unwrap();
        }
        let recent = x.cell("recent", EXCHANGE_KEEP_SECS);
        recent
            .set(Err(Error::invalid("authorization_code", "refused")))
            .unwrap();
        // Full, and long after: the next code makes room by dropping the old settled ones.
        let now = EXCHANGE_KEEP_SECS + 1;
        let _ = x.cell("next", now);
        let cells = x.cells.lock().unwrap();
        assert_eq!(cells.len(), 3, "running, recent, next");
        drop(cells);
        // The exchange in flight is the same cell: its callers still share one exchange.
        assert!(Arc::ptr_eq(&x.cell("running", now), &running));
        assert!(Arc::ptr_eq(&x.cell("recent", now), &recent));
    }
}
