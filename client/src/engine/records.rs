//! The one writer of authorizer records: [`apply_to_store`] reads the record, asks the pure
//! [`record_machine`](crate::record_machine) what the event makes of it, and writes the answer
//! with a compare-and-set (or compare-and-delete) on the version it read, asking again after a
//! conflict. Pushes, `query_auth`, imports, refreshes, recovery scans, tombstones and forgets
//! all go through it, so the rules live in one pure function and the loop in one place.

use crate::record_machine::{apply, Kept, RecordEvent, Update};
use crate::store::{CasOutcome, StoreError, StoreKey, StoredValue, TokenStore, Versioned};

/// Bound on compare-and-set rounds of one write (a record that keeps changing under it).
pub(crate) const CAS_ATTEMPTS: usize = 8;

/// What [`apply_to_store`] did.
#[derive(Debug, Clone)]
pub(crate) enum Applied {
    /// The machine's value is stored at `version`.
    Written { version: u64, value: StoredValue },
    /// The record was deleted.
    Deleted,
    /// The machine left the record as it is (`current`, as read).
    Kept {
        why: Kept,
        current: Option<Versioned>,
    },
    /// The write was fenced and the lease is held by someone else now.
    LeaseLost,
}

/// Applies `event` to the record at `key` (local time `now`), fenced by `fence` when given.
pub(crate) async fn apply_to_store(
    store: &dyn TokenStore,
    key: &StoreKey,
    event: &RecordEvent,
    now: u64,
    fence: Option<&str>,
) -> Result<Applied, StoreError> {
    for _ in 0..CAS_ATTEMPTS {
        let current = store.get(key).await?;
        match apply(current.as_ref().map(|v| &v.value), event, now) {
            Update::Keep(why) => return Ok(Applied::Kept { why, current }),
            Update::Delete => {
                let Some(current) = current else {
                    return Ok(Applied::Deleted);
                };
                if store.compare_and_delete(key, current.version).await? {
                    return Ok(Applied::Deleted);
                }
            }
            Update::Write(value) => {
                let expected = current.as_ref().map(|v| v.version);
                match store
                    .compare_and_set(key, expected, value.clone(), fence)
                    .await?
                {
                    CasOutcome::Applied { version } => {
                        return Ok(Applied::Written { version, value })
                    }
                    CasOutcome::LeaseLost => return Ok(Applied::LeaseLost),
                    // A conflict (or an outcome this version does not know): read again.
                    _ => {}
                }
            }
        }
    }
    Err(StoreError::unavailable(format!(
        "{key}: the record changed under each of {CAS_ATTEMPTS} compare-and-set attempts"
    )))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::record_machine::Grant;
    use crate::secret::{AuthorizerAccessToken, AuthorizerRefreshToken};
    use crate::MemoryStore;

    fn grant(access: &str) -> Grant {
        Grant {
            access_token: Some(AuthorizerAccessToken::from(access)),
            refresh_token: Some(AuthorizerRefreshToken::from("r")),
            refresh_at: 10,
            expires_at: 20,
            func_info: None,
        }
    }

    #[tokio::test]
    async fn every_update_kind_reaches_the_store() {
        let store = MemoryStore::new();
        let key = StoreKey::authorizer("wxc", "wxa");
        let w = apply_to_store(&store, &key, &RecordEvent::Granted(grant("a")), 5, None)
            .await
            .unwrap();
        let Applied::Written { version, .. } = w else {
            panic!("{w:?}")
        };
        assert_eq!(store.get(&key).await.unwrap().unwrap().version, version);
        let k = apply_to_store(
            &store,
            &key,
            &RecordEvent::Rejected {
                access_token: AuthorizerAccessToken::from("other"),
            },
            6,
            None,
        )
        .await
        .unwrap();
        assert!(matches!(
            k,
            Applied::Kept {
                why: Kept::NotCurrent,
                current: Some(_)
            }
        ));
        let d = apply_to_store(&store, &key, &RecordEvent::Forgotten, 7, None)
            .await
            .unwrap();
        assert!(matches!(d, Applied::Deleted));
        assert!(store.get(&key).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_fenced_write_without_the_lease_is_lease_lost() {
        let store = MemoryStore::new();
        let key = StoreKey::authorizer("wxc", "wxa");
        let w = apply_to_store(
            &store,
            &key,
            &RecordEvent::Granted(grant("a")),
            5,
            Some("holder-without-a-lease"),
        )
        .await
        .unwrap();
        assert!(matches!(w, Applied::LeaseLost), "{w:?}");
        assert!(store.get(&key).await.unwrap().is_none());
    }
}
