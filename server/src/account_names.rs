//! Who an authorizer appid is on the message plane: its original id (`user_name`, `gh_…`)
//! from `api_get_authorizer_info`, which a message's `ToUserName` — inside the signed,
//! encrypted body, unlike the `{authorizer}` of the path — must match before the message is
//! relayed as that account's. Cached per component: bounded ([`MAX_ACCOUNTS`]), a day for a
//! known name and a minute for a failed lookup, one lookup in flight per account. Only
//! messages going to the webhook are checked; the 全网发布 test accounts (fixed `ToUserName`s)
//! are answered by the release check before that and never looked up.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::OnceCell;
use wxopen_client::ComponentClient;

/// Most accounts whose name one component remembers; past it, expired entries are dropped,
/// then the oldest.
pub const MAX_ACCOUNTS: usize = 10_000;
/// How long a looked-up name is trusted (an account's original id never changes; the bound
/// only refreshes memory).
pub const KNOWN_TTL: Duration = Duration::from_secs(24 * 3600);
/// How long a failed lookup is remembered before the next message tries again, so an upstream
/// outage costs one call per account per minute, not one per message.
pub const UNKNOWN_TTL: Duration = Duration::from_secs(60);
/// The most a message waits for the lookup (WeChat gives a message 5 s).
pub const LOOKUP_BUDGET: Duration = Duration::from_millis(1500);

/// Whether a message's `ToUserName` is the account of its path.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Binding {
    /// `ToUserName` is the account's original id.
    Verified,
    /// `ToUserName` is another account's: the message was not sent to this account.
    Mismatch {
        /// The account's original id.
        expected: String,
    },
    /// The account's original id cannot be known now (the lookup failed or took too long).
    Unverified,
}

/// A remembered lookup: shared while in flight, then its result.
struct Slot {
    name: Arc<OnceCell<Option<String>>>,
    created: u64,
}

impl Slot {
    /// Whether the slot still answers at `now` (a lookup in flight always does).
    fn fresh(&self, now: u64) -> bool {
        let ttl = match self.name.get() {
            None => return true,
            Some(Some(_)) => KNOWN_TTL,
            Some(None) => UNKNOWN_TTL,
        };
        now < self.created.saturating_add(ttl.as_secs())
    }
}

/// The original ids of one component's accounts.
#[derive(Default)]
pub(crate) struct AccountNames {
    slots: Mutex<HashMap<String, Slot>>,
}

impl AccountNames {
    /// Whether `to_user_name` is the account `appid`'s original id (looked up through
    /// `client`, cached).
    pub(crate) async fn check(
        &self,
        client: &ComponentClient,
        appid: &str,
        to_user_name: &str,
    ) -> Binding {
        let now = client.clock().unix_seconds();
        let cell = self.slot(appid, now);
        let lookup = cell.get_or_init(|| async {
            match client.authorizer_info(appid).await {
                Ok(info) if !info.authorizer_info.user_name.is_empty() => {
                    Some(info.authorizer_info.user_name)
                }
                Ok(_) => None,
                Err(e) => {
                    tracing::warn!(authorizer_appid = appid, error = %e, "cannot look up the account's original id; its messages are relayed unverified for a minute");
                    None
                }
            }
        });
        match tokio::time::timeout(LOOKUP_BUDGET, lookup).await {
            Ok(Some(name)) if name == to_user_name => Binding::Verified,
            Ok(Some(name)) => Binding::Mismatch {
                expected: name.clone(),
            },
            Ok(None) | Err(_) => Binding::Unverified,
        }
    }

    /// The slot of `appid` at `now`: the fresh one, or a new one in its place.
    fn slot(&self, appid: &str, now: u64) -> Arc<OnceCell<Option<String>>> {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = slots.get(appid) {
            if s.fresh(now) {
                return s.name.clone();
            }
        }
        if slots.len() >= MAX_ACCOUNTS && !slots.contains_key(appid) {
            slots.retain(|_, s| s.fresh(now));
            if slots.len() >= MAX_ACCOUNTS {
                let oldest = slots
                    .iter()
                    .min_by_key(|(_, s)| s.created)
                    .map(|(k, _)| k.clone());
                if let Some(k) = oldest {
                    slots.remove(&k);
                }
            }
        }
        let name = Arc::new(OnceCell::new());
        slots.insert(
            appid.to_owned(),
            Slot {
                name: name.clone(),
                created: now,
            },
        );
        name
    }

    /// How many accounts are remembered.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.slots.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_expire_by_their_result_and_stay_bounded() {
        let names = AccountNames::default();
        let a = names.slot("wxa", 1000);
        // In flight: the same slot, however late.
        assert!(Arc::ptr_eq(&a, &names.slot("wxa", 1000 + 10 * 24 * 3600)));
        a.set(None).unwrap();
        assert!(Arc::ptr_eq(&a, &names.slot("wxa", 1059)));
        assert!(
            !Arc::ptr_eq(&a, &names.slot("wxa", 1060)),
            "a failure is retried after a minute"
        );
        let b = names.slot("wxb", 1000);
        b.set(Some("gh_b".into())).unwrap();
        assert!(Arc::ptr_eq(&b, &names.slot("wxb", 1000 + 24 * 3600 - 1)));
        assert!(!Arc::ptr_eq(&b, &names.slot("wxb", 1000 + 24 * 3600)));
        for i in 0..(MAX_ACCOUNTS + 50) {
            names.slot(&format!("wx{i}"), 2000);
        }
        assert_eq!(names.len(), MAX_ACCOUNTS);
    }
}
