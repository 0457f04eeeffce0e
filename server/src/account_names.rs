//! Who an authorizer appid is on the message plane: its original id (`user_name`, `gh_…`)
//! from `api_get_authorizer_info`, which a message's `ToUserName` — inside the signed,
//! encrypted body, unlike the `{authorizer}` of the path — must match before the message is
//! relayed as that account's. Cached per component: bounded ([`MAX_ACCOUNTS`]), a day for a
//! known name and a minute for a failed lookup, one lookup in flight per account. Only
//! messages going to the webhook are checked; the 全网发布 test accounts (fixed `ToUserName`s)
//! are answered by the release check before that and never looked up.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::watch;
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
/// The most a message waits for the lookup; less when the webhook's timeout leaves less of
/// the 4.5 s a message may take (WeChat gives it 5 s): see [`lookup_budget`]. The lookup
/// itself runs on in the background, so the next message finds its result.
pub const LOOKUP_BUDGET: Duration = Duration::from_millis(1000);

/// How long a message waits for the lookup when the webhook may take `webhook_timeout`.
pub fn lookup_budget(webhook_timeout: Duration) -> Duration {
    Duration::from_millis(4_500)
        .saturating_sub(webhook_timeout)
        .min(LOOKUP_BUDGET)
}

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

/// A lookup's result as its slot holds it: `None` while in flight, then the original id if
/// one was found.
type Lookup = watch::Receiver<Option<Option<String>>>;

/// A remembered lookup: shared while in flight, then its result.
struct Slot {
    name: Lookup,
    created: u64,
}

impl Slot {
    /// Whether the slot still answers at `now` (a lookup in flight does, unless its task is
    /// gone).
    fn fresh(&self, now: u64) -> bool {
        let ttl = match &*self.name.borrow() {
            None => return self.name.has_changed().is_ok(),
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
    /// `client`, cached), waiting at most `budget` for a lookup in flight.
    pub(crate) async fn check(
        &self,
        client: &ComponentClient,
        appid: &str,
        to_user_name: &str,
        budget: Duration,
    ) -> Binding {
        let now = client.clock().unix_seconds();
        let (mut name, start) = self.slot(appid, now);
        if let Some(tx) = start {
            // One lookup per slot, in its own task: it runs to its end even when this message
            // stops waiting, so the next message finds the result.
            let (client, appid) = (client.clone(), appid.to_owned());
            tokio::spawn(async move {
                let found = look_up(&client, &appid).await;
                let _ = tx.send(Some(found));
            });
        }
        let found = match tokio::time::timeout(budget, name.wait_for(Option::is_some)).await {
            Ok(Ok(v)) => v.clone().flatten(),
            Ok(Err(_)) | Err(_) => None,
        };
        match found {
            Some(n) if n == to_user_name => Binding::Verified,
            Some(n) => Binding::Mismatch { expected: n },
            None => Binding::Unverified,
        }
    }

    /// The slot of `appid` at `now`: the fresh one, or a new one in its place (then with the
    /// sender its lookup reports to).
    fn slot(
        &self,
        appid: &str,
        now: u64,
    ) -> (Lookup, Option<watch::Sender<Option<Option<String>>>>) {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = slots.get(appid) {
            if s.fresh(now) {
                return (s.name.clone(), None);
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
        let (tx, name) = watch::channel(None);
        slots.insert(
            appid.to_owned(),
            Slot {
                name: name.clone(),
                created: now,
            },
        );
        (name, Some(tx))
    }

    /// How many accounts are remembered.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.slots.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// The original id of `appid` from `api_get_authorizer_info`; `None` when it cannot be had.
async fn look_up(client: &ComponentClient, appid: &str) -> Option<String> {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_expire_by_their_result_and_stay_bounded() {
        let names = AccountNames::default();
        let (a, tx) = names.slot("wxa", 1000);
        let tx = tx.unwrap();
        let same = |x: &Lookup, y: &Lookup| x.same_channel(y);
        // In flight: the same slot, however late; no second lookup.
        let (again, start) = names.slot("wxa", 1000 + 10 * 24 * 3600);
        assert!(same(&a, &again) && start.is_none());
        tx.send(Some(None)).unwrap();
        assert!(same(&a, &names.slot("wxa", 1059).0));
        assert!(
            !same(&a, &names.slot("wxa", 1060).0),
            "a failure is retried after a minute"
        );
        let (b, tx) = names.slot("wxb", 1000);
        tx.unwrap().send(Some(Some("gh_b".into()))).unwrap();
        assert!(same(&b, &names.slot("wxb", 1000 + 24 * 3600 - 1).0));
        assert!(!same(&b, &names.slot("wxb", 1000 + 24 * 3600).0));
        // A lookup whose task is gone (its sender dropped) is started again.
        let (c, tx) = names.slot("wxc", 1000);
        drop(tx);
        assert!(!same(&c, &names.slot("wxc", 1000).0));
        // Lookups in flight (senders kept) for more appids than the bound.
        let _senders: Vec<_> = (0..(MAX_ACCOUNTS + 50))
            .map(|i| names.slot(&format!("wx{i}"), 2000).1)
            .collect();
        assert_eq!(names.len(), MAX_ACCOUNTS);
        // The budget leaves the webhook its time inside the 4.5 s.
        assert_eq!(lookup_budget(Duration::from_secs(3)), LOOKUP_BUDGET);
        assert_eq!(
            lookup_budget(Duration::from_secs(4)),
            Duration::from_millis(500)
        );
    }
}
