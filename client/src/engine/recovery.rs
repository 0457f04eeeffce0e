//! Refresh-token recovery from `api_get_authorizer_list`, and tombstones.
//!
//! A scan is rate-limited per component across instances (a [`ScanRecord`] in the store: at
//! most one full scan per `authorizer_scan_interval`), and one scan restores the refresh token
//! of every listed account that lacks the current one, not only the one asked for. An account
//! that cannot be recovered gets a tombstone, so further requests fail at once.

use std::sync::Arc;

use super::authorizer_calls::Scope;
use super::records::{apply_to_store, Applied};
use crate::api::AuthorizerListItem;
use crate::error::Error;
use crate::hooks::ClientEvent;
use crate::record_machine::{Kept, RecordEvent};
use crate::secret::AuthorizerRefreshToken;
use crate::store::{
    AuthorizerRecord, CasOutcome, RevokedRecord, ScanRecord, StoreKey, StoredValue, Versioned,
};

/// Page size used when scanning `api_get_authorizer_list`.
pub const AUTHORIZER_LIST_PAGE: u32 = 500;
/// At most this many pages are read during one scan (bounded work: 100,000 accounts).
pub const AUTHORIZER_LIST_MAX_PAGES: u32 = 200;

/// What a recovery found for the wanted account.
#[derive(Debug)]
pub(crate) enum Recovered {
    /// A refresh token, stored at `version` of the account's record.
    Token {
        token: AuthorizerRefreshToken,
        version: u64,
        /// The record holding it (its token serial is where a refresh continues from).
        record: AuthorizerRecord,
    },
    /// A full scan did not list the account.
    NotListed,
    /// Another scan ran within the interval (its restorations are in the store) and the
    /// record holds nothing better.
    RateLimited { last: u64 },
    /// The scan itself failed.
    Failed(Error),
}

/// Recovers the refresh token of `wanted` (other than `rejected`, the one WeChat refused).
pub(crate) async fn recover(
    cx: Scope<'_>,
    wanted: &str,
    rejected: Option<&AuthorizerRefreshToken>,
    fence: Option<&str>,
) -> Recovered {
    let scan_key = StoreKey::authorizer_scan(&cx.calls.component_appid);
    let wanted_key = StoreKey::authorizer(&cx.calls.component_appid, wanted);
    let now = cx.ports.now();
    let interval = cx.ports.settings.authorizer_scan_interval.as_secs();
    let last = match cx.ports.store.get(&scan_key).await {
        Ok(v) => v,
        Err(e) => return Recovered::Failed(e.into()),
    };
    if let Some(StoredValue::AuthorizerScan(s)) = last.as_ref().map(|v| &v.value) {
        if now < s.started_at.saturating_add(interval) {
            return after_recent_scan(cx, &wanted_key, rejected, s.started_at).await;
        }
    }
    let claim = StoredValue::AuthorizerScan(ScanRecord {
        started_at: now,
        listed: 0,
    });
    let scan_version = match cx
        .ports
        .store
        .compare_and_set(&scan_key, last.as_ref().map(|v| v.version), claim, None)
        .await
    {
        Ok(CasOutcome::Applied { version }) => version,
        Ok(_) => return after_recent_scan(cx, &wanted_key, rejected, now).await,
        Err(e) => return Recovered::Failed(e.into()),
    };
    tracing::info!(wanted, "scanning the authorizer list");
    let mut found = None;
    let (mut offset, mut listed, mut skipped, mut restored) = (0u32, 0u64, 0u64, 0u64);
    for _ in 0..AUTHORIZER_LIST_MAX_PAGES {
        let page = match cx.calls.authorizer_list(offset, AUTHORIZER_LIST_PAGE).await {
            Ok(p) => p,
            Err(e) => return Recovered::Failed(e),
        };
        for item in &page.list {
            if item.refresh_token.is_empty() || !crate::appid::valid_appid(&item.authorizer_appid) {
                skipped += 1;
                tracing::warn!(authorizer_appid = %crate::error::one_line(&item.authorizer_appid), "authorizer list entry without a usable refresh token or appid; skipped");
                continue;
            }
            listed += 1;
            let is_wanted = item.authorizer_appid == wanted;
            let fence = if is_wanted { fence } else { None };
            match restore(
                cx,
                item,
                now,
                is_wanted.then_some(rejected).flatten(),
                fence,
            )
            .await
            {
                Ok(Some((version, record, wrote))) if is_wanted => {
                    restored += u64::from(wrote);
                    if wrote {
                        cx.ports.emit(ClientEvent::RefreshTokenRecovered {
                            authorizer_appid: wanted.to_owned(),
                        });
                    }
                    found = Some(Recovered::Token {
                        token: item.refresh_token.clone(),
                        version,
                        record,
                    });
                }
                Ok(Some((_, _, wrote))) => restored += u64::from(wrote),
                Ok(None) => {}
                Err(e) if is_wanted => return Recovered::Failed(e),
                Err(e) => tracing::warn!(error = %e, "could not restore a listed refresh token"),
            }
        }
        let got = u32::try_from(page.list.len()).unwrap_or(u32::MAX);
        offset = offset.saturating_add(got);
        if got == 0 || u64::from(offset) >= page.total_count {
            break;
        }
    }
    let done = StoredValue::AuthorizerScan(ScanRecord {
        started_at: now,
        listed,
    });
    let _ = cx
        .ports
        .store
        .compare_and_set(&scan_key, Some(scan_version), done, None)
        .await;
    tracing::info!(listed, restored, skipped, "authorizer list scanned");
    cx.ports.emit(ClientEvent::AuthorizerListScanned {
        listed,
        restored,
        skipped,
    });
    found.unwrap_or(Recovered::NotListed)
}

async fn after_recent_scan(
    cx: Scope<'_>,
    wanted_key: &StoreKey,
    rejected: Option<&AuthorizerRefreshToken>,
    last: u64,
) -> Recovered {
    match cx.ports.store.get(wanted_key).await {
        Ok(Some(v)) => match v.value {
            StoredValue::Authorizer(record) => match record.refresh_token.clone() {
                Some(rt) if Some(&rt) != rejected => Recovered::Token {
                    token: rt,
                    version: v.version,
                    record,
                },
                _ => Recovered::RateLimited { last },
            },
            _ => Recovered::RateLimited { last },
        },
        Ok(None) => Recovered::RateLimited { last },
        Err(e) => Recovered::Failed(e.into()),
    }
}

/// Restores `item`'s refresh token through the record machine. `Some((version, record,
/// wrote))` when the record holds the listed token afterwards.
async fn restore(
    cx: Scope<'_>,
    item: &AuthorizerListItem,
    scan_started: u64,
    rejected: Option<&AuthorizerRefreshToken>,
    fence: Option<&str>,
) -> Result<Option<(u64, AuthorizerRecord, bool)>, Error> {
    let key = StoreKey::authorizer(&cx.calls.component_appid, &item.authorizer_appid);
    let event = RecordEvent::Recovered {
        refresh_token: item.refresh_token.clone(),
        auth_time: item.auth_time,
        scan_started,
        rejected: rejected.cloned(),
    };
    let now = cx.ports.now();
    Ok(
        match apply_to_store(cx.ports.store.as_ref(), &key, &event, now, fence).await? {
            Applied::Written {
                version,
                value: StoredValue::Authorizer(r),
            } => Some((version, r, true)),
            Applied::Kept {
                why: Kept::Unchanged,
                current:
                    Some(Versioned {
                        version,
                        value: StoredValue::Authorizer(r),
                    }),
            } => Some((version, r, false)),
            _ => None,
        },
    )
}

/// Stores `revoked` as the account's tombstone through the record machine (unless the record
/// got tokens from another source since `from_serial`) and returns the must-reauthorize error.
pub(crate) async fn revoke(
    cx: Scope<'_>,
    appid: &str,
    from_serial: Option<u64>,
    revoked: RevokedRecord,
    reason: &str,
    source: Option<Error>,
    fence: Option<&str>,
) -> Error {
    let key = StoreKey::authorizer(&cx.calls.component_appid, appid);
    let event = RecordEvent::Revoked {
        from_serial,
        tombstone: revoked.clone(),
    };
    let now = cx.ports.now();
    match apply_to_store(cx.ports.store.as_ref(), &key, &event, now, fence).await {
        Ok(Applied::Written { .. }) => {
            tracing::warn!(
                authorizer_appid = appid,
                reason,
                "authorizer needs re-authorization; tombstone stored"
            );
            cx.ports.emit(ClientEvent::AuthorizerRevoked {
                authorizer_appid: appid.to_owned(),
                errcode: revoked.errcode,
            });
        }
        Ok(_) => tracing::info!(
            authorizer_appid = appid,
            "record changed meanwhile; no tombstone"
        ),
        Err(e) => {
            tracing::warn!(authorizer_appid = appid, error = %e, "could not store the tombstone")
        }
    }
    Error::MustReauthorize {
        authorizer_appid: appid.to_owned(),
        errcode: revoked.errcode,
        reason: reason.to_owned(),
        source: source.map(Arc::new),
    }
}
