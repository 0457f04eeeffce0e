//! The record machine: how every event changes one authorizer's stored record.
//!
//! `apply(current, event, now) → Update` is the only place the rules live; the async driver
//! (`wxopen-client`'s `apply_to_store`) reads the record, asks this function, and writes the
//! answer with a compare-and-set on the version it read, asking again after a conflict. So a
//! push, a `query_auth`, a refresh, a recovery scan, an import and a forget all follow one set
//! of rules, table-tested below.
//!
//! Two kinds of time never mix:
//! - **WeChat's time** — a push's `CreateTime`, the authorizer list's `auth_time` — orders
//!   authorization pushes against each other ([`AuthorizerRecord::event_time`], and a
//!   tombstone's [`RevokedRecord::event_time`]);
//! - **token freshness** is compared by [`AuthorizerRecord::token_serial`], bumped whenever the
//!   record gets tokens from a new source: a refresh that started from serial `n` writes only
//!   over serial `n` (so an `updateauthorized` push during a refresh no longer throws the fresh
//!   token — and a rotated refresh token — away).
//!
//! Local time (`now`) is written as `obtained_at` / `authorized_at` for display and for the
//! recovery scan (whose start is local too). The one remaining cross-clock comparison is
//! documented at [`RecordEvent::UnauthorizedPush`].

use crate::records::{AuthorizerRecord, RevokeReason, RevokedRecord, StoredValue};
use crate::secret::{AuthorizerAccessToken, AuthorizerRefreshToken};

/// Tokens WeChat just issued for an account (from `api_query_auth` or
/// `api_authorizer_token`), with the deadlines the driver computed for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The access token; `None` when the account granted no API rights.
    pub access_token: Option<AuthorizerAccessToken>,
    /// The refresh token to keep (for a refresh: the rotated one, or the one used when WeChat
    /// returned none).
    pub refresh_token: Option<AuthorizerRefreshToken>,
    /// Refresh ahead from here (unix seconds, local clock; 0 without an access token).
    pub refresh_at: u64,
    /// The access token expires here (unix seconds, local clock; 0 without one).
    pub expires_at: u64,
    /// The permission-set ids the answer granted (`api_query_auth`'s `func_info`); `None`
    /// when the answer does not say (a refresh, an import): the stored ones are kept.
    pub func_info: Option<Vec<i64>>,
}

/// Something that happened to an authorizer, as far as its record is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordEvent {
    /// An `authorized` or `updateauthorized` push (its `CreateTime`), before its code is
    /// exchanged. A newer push is noted on the record; tokens are left alone; a tombstone
    /// older than the push is replaced by an empty record (the exchange fills it).
    AuthorizedPush {
        /// The push's `CreateTime`.
        create_time: u64,
    },
    /// An `unauthorized` push. It revokes the account unless the record knows of a newer
    /// authorization push. For a record no push ever confirmed (`event_time` 0, e.g. granted
    /// only through the redirect), the push's `CreateTime` is compared with the local
    /// `authorized_at`: the only time such a record has.
    UnauthorizedPush {
        /// The push's `CreateTime`.
        create_time: u64,
    },
    /// `api_query_auth` answered: the tokens replace whatever is stored, tombstones included.
    Granted(Grant),
    /// Imported from another system with a refresh token that one exchange just verified.
    Imported(Grant),
    /// A refresh of the access token finished. It writes only over the token serial it
    /// started from (`None`: it started from no record); otherwise what is stored is newer.
    Refreshed {
        /// [`AuthorizerRecord::token_serial`] of the record the refresh started from.
        from_serial: Option<u64>,
        /// The new tokens.
        grant: Grant,
    },
    /// WeChat rejected this access token (40001, 40014, 42001): compare-and-expire — only
    /// if it is still the stored one.
    Rejected {
        /// The token that was rejected.
        access_token: AuthorizerAccessToken,
    },
    /// The authorizer list (a recovery scan that started at `scan_started`, local clock)
    /// holds this refresh token for the account.
    Recovered {
        /// The listed refresh token.
        refresh_token: AuthorizerRefreshToken,
        /// The list's `auth_time` (WeChat's time of the authorization).
        auth_time: u64,
        /// When the scan started (local clock).
        scan_started: u64,
        /// A refresh token WeChat just rejected (61023) for this account, if that is why the
        /// scan runs: a record still holding it is overwritten even if it looks newer.
        rejected: Option<AuthorizerRefreshToken>,
    },
    /// A refresh failed for good (61023 with nothing to recover, not listed, not authorized):
    /// a tombstone, unless the record got new tokens since the refresh started.
    Revoked {
        /// The token serial the failed refresh started from (`None`: from no record).
        from_serial: Option<u64>,
        /// The tombstone; its `event_time` and `token_serial` are carried over from the
        /// record it replaces.
        tombstone: RevokedRecord,
    },
    /// The operator deleted the account.
    Forgotten,
    /// `api_get_authorizer_info` reported the permission sets the account grants now. Noted on
    /// a live record (with the sets it took away, if it narrowed); no record is created and a
    /// tombstone stays one.
    PermissionsSeen {
        /// The granted permission-set ids, in any order.
        func_info: Vec<i64>,
    },
}

/// The permission sets after an answer reporting `seen`, given the `stored` ones and the sets
/// the last change took away (`removed`): `(func_info, func_info_removed)`, both sorted
/// without duplicates. A change records what it took away; an answer that changes nothing
/// keeps the last change's record, so a narrowed grant stays visible until the next change.
pub fn permissions(
    stored: Option<&[i64]>,
    removed: &[i64],
    seen: &[i64],
) -> (Option<Vec<i64>>, Vec<i64>) {
    let mut now = seen.to_vec();
    now.sort_unstable();
    now.dedup();
    match stored {
        Some(before) if before == now.as_slice() => (Some(now), removed.to_vec()),
        Some(before) => {
            let gone = before
                .iter()
                .copied()
                .filter(|id| now.binary_search(id).is_err())
                .collect();
            (Some(now), gone)
        }
        None => (Some(now), Vec::new()),
    }
}

/// Why [`apply`] left the record as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kept {
    /// Nothing to do: the record already says this (or there is no record to change).
    Unchanged,
    /// The record knows of a newer (or the same) authorization push.
    NotNewer,
    /// An `unauthorized` push older than the authorization the record holds.
    LateUnauthorized,
    /// The account is revoked; a refresh or recovery never resurrects it.
    Revoked,
    /// The record got tokens from another source since the refresh started (newer truth).
    TokensChanged,
    /// The rejected access token is no longer the stored one.
    NotCurrent,
    /// The record was deleted while the refresh ran; it is not written back.
    Gone,
    /// A recovery scan found the record newer than the list page it read.
    NewerThanScan,
    /// Another kind of record sits at an authorizer key: a corrupt store.
    OtherKind,
}

/// What to do with the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Update {
    /// Write this value (compare-and-set on the version read).
    Write(StoredValue),
    /// Delete the record (compare-and-delete on the version read).
    Delete,
    /// Leave it.
    Keep(Kept),
}

/// The next state of an authorizer's record after `event`, at local time `now` (unix
/// seconds). Pure: the same inputs always give the same answer.
pub fn apply(current: Option<&StoredValue>, event: &RecordEvent, now: u64) -> Update {
    let current = match current {
        None => Current::None,
        Some(StoredValue::Authorizer(r)) => Current::Live(r),
        Some(StoredValue::AuthorizerRevoked(t)) => Current::Tombstone(t),
        Some(_) => return Update::Keep(Kept::OtherKind),
    };
    match event {
        RecordEvent::AuthorizedPush { create_time } => authorized_push(current, *create_time, now),
        RecordEvent::UnauthorizedPush { create_time } => unauthorized_push(current, *create_time),
        RecordEvent::Granted(g) | RecordEvent::Imported(g) => {
            let mut record = granted(g, current.event_time(), current.serial() + 1, now);
            let (stored, removed) = match current {
                Current::Live(r) => (r.func_info.as_deref(), r.func_info_removed.as_slice()),
                _ => (None, &[][..]),
            };
            match &g.func_info {
                Some(seen) => {
                    (record.func_info, record.func_info_removed) =
                        permissions(stored, removed, seen);
                }
                None => {
                    record.func_info = stored.map(<[i64]>::to_vec);
                    record.func_info_removed = removed.to_vec();
                }
            }
            write(record)
        }
        RecordEvent::Refreshed { from_serial, grant } => {
            refreshed(current, *from_serial, grant, now)
        }
        RecordEvent::Rejected { access_token } => match current {
            Current::Live(r) if r.access_token.as_ref() == Some(access_token) => {
                write(AuthorizerRecord {
                    access_token: None,
                    refresh_at: 0,
                    expires_at: 0,
                    ..r.clone()
                })
            }
            _ => Update::Keep(Kept::NotCurrent),
        },
        RecordEvent::Recovered {
            refresh_token,
            auth_time,
            scan_started,
            rejected,
        } => recovered(
            current,
            refresh_token,
            *auth_time,
            *scan_started,
            rejected.as_ref(),
        ),
        RecordEvent::Revoked {
            from_serial,
            tombstone,
        } => revoked(current, *from_serial, tombstone),
        RecordEvent::Forgotten => match current {
            Current::None => Update::Keep(Kept::Unchanged),
            _ => Update::Delete,
        },
        RecordEvent::PermissionsSeen { func_info } => match current {
            Current::Live(r) => {
                let (func_info, func_info_removed) =
                    permissions(r.func_info.as_deref(), &r.func_info_removed, func_info);
                if func_info == r.func_info && func_info_removed == r.func_info_removed {
                    Update::Keep(Kept::Unchanged)
                } else {
                    write(AuthorizerRecord {
                        func_info,
                        func_info_removed,
                        ..r.clone()
                    })
                }
            }
            _ => Update::Keep(Kept::Unchanged),
        },
    }
}

#[derive(Clone, Copy)]
enum Current<'a> {
    None,
    Live(&'a AuthorizerRecord),
    Tombstone(&'a RevokedRecord),
}

impl Current<'_> {
    fn event_time(self) -> u64 {
        match self {
            Current::None => 0,
            Current::Live(r) => r.event_time,
            Current::Tombstone(t) => wechat_time(t),
        }
    }

    fn serial(self) -> u64 {
        match self {
            Current::None => 0,
            Current::Live(r) => r.token_serial,
            Current::Tombstone(t) => t.token_serial,
        }
    }
}

/// A tombstone's WeChat time: an `unauthorized` one is its push's `CreateTime` (`since`; 0.1.0
/// wrote no `event_time`).
fn wechat_time(t: &RevokedRecord) -> u64 {
    if t.reason == RevokeReason::Unauthorized {
        t.event_time.max(t.since)
    } else {
        t.event_time
    }
}

fn write(record: AuthorizerRecord) -> Update {
    Update::Write(StoredValue::Authorizer(record))
}

fn tombstone(t: RevokedRecord) -> Update {
    Update::Write(StoredValue::AuthorizerRevoked(t))
}

fn granted(g: &Grant, event_time: u64, token_serial: u64, now: u64) -> AuthorizerRecord {
    AuthorizerRecord {
        access_token: g.access_token.clone(),
        refresh_token: g.refresh_token.clone(),
        obtained_at: now,
        refresh_at: g.refresh_at,
        expires_at: g.expires_at,
        authorized_at: now,
        event_time,
        token_serial,
        func_info: None,
        func_info_removed: Vec::new(),
    }
}

fn authorized_push(current: Current<'_>, create_time: u64, now: u64) -> Update {
    let empty = |token_serial| AuthorizerRecord {
        authorized_at: now,
        event_time: create_time,
        token_serial,
        ..AuthorizerRecord::default()
    };
    match current {
        Current::None => write(empty(0)),
        Current::Live(r) if r.event_time >= create_time => Update::Keep(Kept::NotNewer),
        Current::Live(r) => write(AuthorizerRecord {
            event_time: create_time,
            authorized_at: r.authorized_at.max(now),
            ..r.clone()
        }),
        // An `unauthorized` of the same second: the order is unknown, the authorization wins
        // (the exchange that follows proves it); any other tombstone yields only to a push
        // newer than the last one it saw.
        Current::Tombstone(t) if t.reason == RevokeReason::Unauthorized => {
            if wechat_time(t) > create_time {
                Update::Keep(Kept::NotNewer)
            } else {
                write(empty(t.token_serial))
            }
        }
        Current::Tombstone(t) if t.event_time >= create_time => Update::Keep(Kept::NotNewer),
        Current::Tombstone(t) => write(empty(t.token_serial)),
    }
}

fn unauthorized_push(current: Current<'_>, create_time: u64) -> Update {
    let revoke = |event_time: u64, token_serial| {
        tombstone(RevokedRecord {
            since: create_time,
            reason: RevokeReason::Unauthorized,
            errcode: None,
            event_time: event_time.max(create_time),
            token_serial,
        })
    };
    match current {
        Current::None => revoke(0, 0),
        Current::Live(r) if r.event_time > create_time => Update::Keep(Kept::LateUnauthorized),
        Current::Live(r) if r.event_time == 0 && r.authorized_at > create_time => {
            Update::Keep(Kept::LateUnauthorized)
        }
        Current::Live(r) => revoke(r.event_time, r.token_serial),
        Current::Tombstone(t) if wechat_time(t) >= create_time => Update::Keep(Kept::NotNewer),
        Current::Tombstone(t) => revoke(wechat_time(t), t.token_serial),
    }
}

fn refreshed(current: Current<'_>, from: Option<u64>, g: &Grant, now: u64) -> Update {
    match current {
        Current::Tombstone(_) => Update::Keep(Kept::Revoked),
        Current::None if from.is_none() => write(granted(g, 0, 1, now)),
        Current::None => Update::Keep(Kept::Gone),
        Current::Live(r) if Some(r.token_serial) == from => write(AuthorizerRecord {
            access_token: g.access_token.clone(),
            refresh_token: g.refresh_token.clone().or_else(|| r.refresh_token.clone()),
            obtained_at: now,
            refresh_at: g.refresh_at,
            expires_at: g.expires_at,
            token_serial: r.token_serial + 1,
            ..r.clone()
        }),
        Current::Live(_) => Update::Keep(Kept::TokensChanged),
    }
}

fn recovered(
    current: Current<'_>,
    refresh_token: &AuthorizerRefreshToken,
    auth_time: u64,
    scan_started: u64,
    rejected: Option<&AuthorizerRefreshToken>,
) -> Update {
    let fresh = |event_time: u64, token_serial: u64| AuthorizerRecord {
        refresh_token: Some(refresh_token.clone()),
        authorized_at: scan_started,
        event_time: event_time.max(auth_time),
        token_serial: token_serial + 1,
        ..AuthorizerRecord::default()
    };
    match current {
        Current::None => write(fresh(0, 0)),
        Current::Live(r) if r.refresh_token.as_ref() == Some(refresh_token) => {
            Update::Keep(Kept::Unchanged)
        }
        Current::Live(r) => {
            // Authorized or refreshed since the scan started (both local times): newer than
            // the list page, unless it still holds the refresh token WeChat just rejected.
            let newer = r.authorized_at > scan_started || r.obtained_at > scan_started;
            if newer && r.refresh_token.as_ref() != rejected {
                return Update::Keep(Kept::NewerThanScan);
            }
            write(AuthorizerRecord {
                refresh_token: Some(refresh_token.clone()),
                access_token: None,
                refresh_at: 0,
                expires_at: 0,
                token_serial: r.token_serial + 1,
                ..r.clone()
            })
        }
        Current::Tombstone(t)
            if matches!(
                t.reason,
                RevokeReason::RefreshTokenInvalid | RevokeReason::NotListed
            ) && t.since <= scan_started =>
        {
            write(fresh(wechat_time(t), t.token_serial))
        }
        // An explicit revocation (`unauthorized`, not authorized), or one newer than the scan.
        Current::Tombstone(_) => Update::Keep(Kept::Revoked),
    }
}

fn revoked(current: Current<'_>, from: Option<u64>, t: &RevokedRecord) -> Update {
    match current {
        Current::None if from.is_none() => tombstone(t.clone()),
        Current::None => Update::Keep(Kept::Gone),
        Current::Live(r)
            if Some(r.token_serial) == from || (from.is_none() && r.token_serial == 0) =>
        {
            tombstone(RevokedRecord {
                event_time: r.event_time.max(t.event_time),
                token_serial: r.token_serial,
                ..t.clone()
            })
        }
        Current::Live(_) => Update::Keep(Kept::TokensChanged),
        Current::Tombstone(_) => Update::Keep(Kept::Revoked),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const NOW: u64 = 1_700_000_000;

    fn at(s: &str) -> AuthorizerAccessToken {
        AuthorizerAccessToken::from(s)
    }
    fn rt(s: &str) -> AuthorizerRefreshToken {
        AuthorizerRefreshToken::from(s)
    }
    fn grant(access: &str, refresh: &str) -> Grant {
        Grant {
            access_token: Some(at(access)),
            refresh_token: Some(rt(refresh)),
            refresh_at: NOW + 6000,
            expires_at: NOW + 7200,
            func_info: None,
        }
    }
    fn live(access: Option<&str>, refresh: &str, event_time: u64, serial: u64) -> StoredValue {
        StoredValue::Authorizer(AuthorizerRecord {
            access_token: access.map(at),
            refresh_token: Some(rt(refresh)),
            obtained_at: NOW - 100,
            refresh_at: NOW + 1000,
            expires_at: if access.is_some() { NOW + 2000 } else { 0 },
            authorized_at: NOW - 500,
            event_time,
            token_serial: serial,
            func_info: None,
            func_info_removed: Vec::new(),
        })
    }
    fn dead(reason: RevokeReason, since: u64, event_time: u64, serial: u64) -> StoredValue {
        StoredValue::AuthorizerRevoked(RevokedRecord {
            since,
            reason,
            errcode: None,
            event_time,
            token_serial: serial,
        })
    }
    fn record(u: &Update) -> &AuthorizerRecord {
        match u {
            Update::Write(StoredValue::Authorizer(r)) => r,
            other => panic!("expected a live record, got {other:?}"),
        }
    }
    fn revoked_record(u: &Update) -> &RevokedRecord {
        match u {
            Update::Write(StoredValue::AuthorizerRevoked(t)) => t,
            other => panic!("expected a tombstone, got {other:?}"),
        }
    }

    #[test]
    fn authorized_pushes_order_by_wechat_time_only() {
        use RevokeReason::*;
        // (current, create_time, expected: Some(event_time written) / None = kept)
        let table: Vec<(Option<StoredValue>, u64, Option<u64>)> = vec![
            (None, 50, Some(50)),
            (Some(live(Some("a"), "r", 40, 3)), 50, Some(50)),
            (Some(live(Some("a"), "r", 50, 3)), 50, None),
            (Some(live(Some("a"), "r", 60, 3)), 50, None),
            // A 0.1.0 record whose authorized_at is a local time far ahead: WeChat time decides.
            (Some(live(Some("a"), "r", 0, 0)), 50, Some(50)),
            (Some(dead(Unauthorized, 40, 40, 2)), 50, Some(50)),
            (Some(dead(Unauthorized, 50, 50, 2)), 50, Some(50)),
            (Some(dead(Unauthorized, 60, 60, 2)), 50, None),
            (Some(dead(RefreshTokenInvalid, NOW, 40, 2)), 50, Some(50)),
            (Some(dead(NotListed, NOW, 50, 2)), 50, None),
        ];
        for (i, (current, create_time, want)) in table.into_iter().enumerate() {
            let u = apply(
                current.as_ref(),
                &RecordEvent::AuthorizedPush { create_time },
                NOW,
            );
            match want {
                Some(event_time) => {
                    let r = record(&u);
                    assert_eq!(r.event_time, event_time, "row {i}");
                    assert_eq!(r.authorized_at, NOW, "row {i}");
                }
                None => assert_eq!(u, Update::Keep(Kept::NotNewer), "row {i}"),
            }
        }
    }

    #[test]
    fn an_authorized_push_keeps_the_tokens_and_their_serial() {
        let current = live(Some("a"), "r", 40, 7);
        let r = record(&apply(
            Some(&current),
            &RecordEvent::AuthorizedPush { create_time: 50 },
            NOW,
        ))
        .clone();
        assert_eq!(r.access_token, Some(at("a")));
        assert_eq!(r.refresh_token, Some(rt("r")));
        assert_eq!(r.token_serial, 7);
        // Re-authorizing after an `unauthorized` keeps counting serials (no ABA).
        let r = record(&apply(
            Some(&dead(RevokeReason::Unauthorized, 40, 40, 9)),
            &RecordEvent::AuthorizedPush { create_time: 50 },
            NOW,
        ))
        .clone();
        assert_eq!(
            (r.access_token, r.refresh_token, r.token_serial),
            (None, None, 9)
        );
    }

    #[test]
    fn unauthorized_pushes() {
        // (current, create_time, expected)
        let late = Update::Keep(Kept::LateUnauthorized);
        let table: Vec<(Option<StoredValue>, u64, Option<Update>)> = vec![
            (None, 50, None),
            (Some(live(Some("a"), "r", 40, 3)), 50, None),
            (Some(live(Some("a"), "r", 50, 3)), 50, None),
            (Some(live(Some("a"), "r", 60, 3)), 50, Some(late.clone())),
            // No push ever confirmed it: the local grant time is all there is.
            (Some(live(Some("a"), "r", 0, 3)), NOW - 600, Some(late)),
            (Some(live(Some("a"), "r", 0, 3)), NOW - 400, None),
            (
                Some(dead(RevokeReason::Unauthorized, 60, 60, 3)),
                50,
                Some(Update::Keep(Kept::NotNewer)),
            ),
            (Some(dead(RevokeReason::NotListed, NOW, 40, 3)), 50, None),
        ];
        for (i, (current, create_time, want)) in table.into_iter().enumerate() {
            let u = apply(
                current.as_ref(),
                &RecordEvent::UnauthorizedPush { create_time },
                NOW,
            );
            match want {
                Some(w) => assert_eq!(u, w, "row {i}"),
                None => {
                    let t = revoked_record(&u);
                    assert_eq!(t.reason, RevokeReason::Unauthorized, "row {i}");
                    assert_eq!(
                        (t.since, t.event_time),
                        (create_time, create_time),
                        "row {i}"
                    );
                }
            }
        }
        // The serial survives in the tombstone.
        let t = revoked_record(&apply(
            Some(&live(None, "r", 1, 12)),
            &RecordEvent::UnauthorizedPush { create_time: 5 },
            NOW,
        ))
        .clone();
        assert_eq!(t.token_serial, 12);
    }

    #[test]
    fn a_grant_replaces_everything_and_bumps_the_serial() {
        for (current, serial, event_time) in [
            (None, 1, 0),
            (Some(live(Some("old"), "old-r", 44, 4)), 5, 44),
            (Some(dead(RevokeReason::Unauthorized, 70, 70, 8)), 9, 70),
            (Some(dead(RevokeReason::NotAuthorized, NOW, 0, 2)), 3, 0),
        ] {
            for event in [
                RecordEvent::Granted(grant("new", "new-r")),
                RecordEvent::Imported(grant("new", "new-r")),
            ] {
                let r = record(&apply(current.as_ref(), &event, NOW)).clone();
                assert_eq!(r.access_token, Some(at("new")));
                assert_eq!(r.refresh_token, Some(rt("new-r")));
                assert_eq!((r.token_serial, r.event_time), (serial, event_time));
                assert_eq!((r.obtained_at, r.authorized_at), (NOW, NOW));
                assert_eq!((r.refresh_at, r.expires_at), (NOW + 6000, NOW + 7200));
            }
        }
    }

    #[test]
    fn a_refresh_writes_only_over_the_serial_it_started_from() {
        let event = |from| RecordEvent::Refreshed {
            from_serial: from,
            grant: grant("fresh", "rotated"),
        };
        // Push metadata changed during the refresh (same serial): the fresh token is kept
        // and so is the push's time.
        let during_push = live(Some("a"), "r", 99, 3);
        let r = record(&apply(Some(&during_push), &event(Some(3)), NOW)).clone();
        assert_eq!(r.access_token, Some(at("fresh")));
        assert_eq!(r.refresh_token, Some(rt("rotated")));
        assert_eq!((r.event_time, r.token_serial, r.obtained_at), (99, 4, NOW));
        // Expired on purpose during the refresh (same serial, no access token): overwritten.
        let expired = live(None, "r", 0, 3);
        assert!(matches!(
            apply(Some(&expired), &event(Some(3)), NOW),
            Update::Write(_)
        ));
        // New tokens from elsewhere (a grant, another refresh, a recovery): kept.
        assert_eq!(
            apply(Some(&live(Some("b"), "r2", 0, 4)), &event(Some(3)), NOW),
            Update::Keep(Kept::TokensChanged)
        );
        // Revoked meanwhile: never resurrected.
        assert_eq!(
            apply(
                Some(&dead(RevokeReason::Unauthorized, 1, 1, 3)),
                &event(Some(3)),
                NOW
            ),
            Update::Keep(Kept::Revoked)
        );
        // Deleted meanwhile: not written back; a refresh from nothing writes serial 1.
        assert_eq!(apply(None, &event(Some(3)), NOW), Update::Keep(Kept::Gone));
        assert_eq!(record(&apply(None, &event(None), NOW)).token_serial, 1);
        // WeChat returned no new refresh token: the stored one stays.
        let keep_rt = RecordEvent::Refreshed {
            from_serial: Some(3),
            grant: Grant {
                refresh_token: None,
                ..grant("fresh", "unused")
            },
        };
        let r = record(&apply(Some(&during_push), &keep_rt, NOW)).clone();
        assert_eq!(r.refresh_token, Some(rt("r")));
    }

    #[test]
    fn compare_and_expire_by_token_value() {
        let current = live(Some("a"), "r", 5, 3);
        let r = record(&apply(
            Some(&current),
            &RecordEvent::Rejected {
                access_token: at("a"),
            },
            NOW,
        ))
        .clone();
        assert_eq!((r.access_token, r.refresh_at, r.expires_at), (None, 0, 0));
        assert_eq!((r.refresh_token, r.token_serial), (Some(rt("r")), 3));
        for current in [
            Some(live(Some("b"), "r", 5, 3)),
            Some(live(None, "r", 5, 3)),
            Some(dead(RevokeReason::Unauthorized, 1, 1, 1)),
            None,
        ] {
            assert_eq!(
                apply(
                    current.as_ref(),
                    &RecordEvent::Rejected {
                        access_token: at("a")
                    },
                    NOW
                ),
                Update::Keep(Kept::NotCurrent)
            );
        }
    }

    #[test]
    fn recovery_from_the_list() {
        let scan = NOW - 10;
        let event = |rejected: Option<&str>| RecordEvent::Recovered {
            refresh_token: rt("listed"),
            auth_time: 30,
            scan_started: scan,
            rejected: rejected.map(rt),
        };
        // Nothing stored: a record with the listed token.
        let r = record(&apply(None, &event(None), NOW)).clone();
        assert_eq!(
            (r.refresh_token, r.token_serial, r.event_time),
            (Some(rt("listed")), 1, 30)
        );
        assert_eq!((r.access_token, r.authorized_at), (None, scan));
        // Already holds it.
        assert_eq!(
            apply(Some(&live(Some("a"), "listed", 0, 2)), &event(None), NOW),
            Update::Keep(Kept::Unchanged)
        );
        // Older than the scan: replaced, the access token dropped (it came from the old chain).
        let old = StoredValue::Authorizer(AuthorizerRecord {
            obtained_at: scan - 1,
            authorized_at: scan - 1,
            ..match live(Some("a"), "stale", 9, 2) {
                StoredValue::Authorizer(r) => r,
                _ => unreachable!(),
            }
        });
        let r = record(&apply(Some(&old), &event(None), NOW)).clone();
        assert_eq!(
            (r.refresh_token, r.access_token, r.token_serial),
            (Some(rt("listed")), None, 3)
        );
        assert_eq!(r.event_time, 9);
        // Newer than the scan: kept, unless it holds the token WeChat just rejected.
        let newer = StoredValue::Authorizer(AuthorizerRecord {
            obtained_at: scan + 1,
            ..match live(Some("a"), "newer", 0, 2) {
                StoredValue::Authorizer(r) => r,
                _ => unreachable!(),
            }
        });
        assert_eq!(
            apply(Some(&newer), &event(None), NOW),
            Update::Keep(Kept::NewerThanScan)
        );
        assert!(matches!(
            apply(Some(&newer), &event(Some("newer")), NOW),
            Update::Write(_)
        ));
        // Tombstones: a failed-refresh one from before the scan is lifted; an explicit
        // revocation or a newer one is not.
        let r = record(&apply(
            Some(&dead(RevokeReason::RefreshTokenInvalid, scan, 12, 6)),
            &event(None),
            NOW,
        ))
        .clone();
        assert_eq!((r.token_serial, r.event_time), (7, 30));
        for t in [
            dead(RevokeReason::NotListed, scan + 1, 0, 1),
            dead(RevokeReason::Unauthorized, 1, 1, 1),
            dead(RevokeReason::NotAuthorized, 1, 0, 1),
        ] {
            assert_eq!(
                apply(Some(&t), &event(None), NOW),
                Update::Keep(Kept::Revoked)
            );
        }
    }

    #[test]
    fn tombstones_from_a_failed_refresh() {
        let t = RevokedRecord {
            since: NOW,
            reason: RevokeReason::RefreshTokenInvalid,
            errcode: Some(61023),
            event_time: 0,
            token_serial: 0,
        };
        let event = |from| RecordEvent::Revoked {
            from_serial: from,
            tombstone: t.clone(),
        };
        let w = revoked_record(&apply(Some(&live(None, "r", 44, 5)), &event(Some(5)), NOW)).clone();
        assert_eq!(
            (w.event_time, w.token_serial, w.errcode),
            (44, 5, Some(61023))
        );
        assert_eq!(
            apply(Some(&live(None, "r2", 44, 6)), &event(Some(5)), NOW),
            Update::Keep(Kept::TokensChanged)
        );
        assert!(matches!(apply(None, &event(None), NOW), Update::Write(_)));
        assert_eq!(apply(None, &event(Some(5)), NOW), Update::Keep(Kept::Gone));
        assert_eq!(
            apply(
                Some(&dead(RevokeReason::Unauthorized, 1, 1, 5)),
                &event(Some(5)),
                NOW
            ),
            Update::Keep(Kept::Revoked)
        );
    }

    #[test]
    fn forget_and_other_kinds() {
        assert_eq!(
            apply(Some(&live(None, "r", 0, 0)), &RecordEvent::Forgotten, NOW),
            Update::Delete
        );
        assert_eq!(
            apply(None, &RecordEvent::Forgotten, NOW),
            Update::Keep(Kept::Unchanged)
        );
        let scan = StoredValue::AuthorizerScan(crate::records::ScanRecord {
            started_at: 1,
            listed: 0,
        });
        assert_eq!(
            apply(Some(&scan), &RecordEvent::Forgotten, NOW),
            Update::Keep(Kept::OtherKind)
        );
    }

    #[test]
    fn records_written_by_0_1_0_read_with_no_push_time_and_serial_0() {
        let old = r#"{"kind":"authorizer","access_token":"a","refresh_token":"r","obtained_at":1,"refresh_at":2,"expires_at":3,"authorized_at":4}"#;
        let v: StoredValue = serde_json::from_str(old).unwrap();
        let StoredValue::Authorizer(r) = v else {
            panic!("not an authorizer record")
        };
        assert_eq!((r.event_time, r.token_serial, r.authorized_at), (0, 0, 4));
        let old =
            r#"{"kind":"authorizer_revoked","since":5,"reason":"unauthorized","errcode":null}"#;
        let v: StoredValue = serde_json::from_str(old).unwrap();
        let StoredValue::AuthorizerRevoked(t) = v else {
            panic!("not a tombstone")
        };
        assert_eq!((t.event_time, t.token_serial, t.since), (0, 0, 5));
    }
    #[test]
    fn permissions_table() {
        // (stored, removed, seen) -> (func_info, func_info_removed)
        type Case<'a> = (
            Option<&'a [i64]>,
            &'a [i64],
            &'a [i64],
            &'a [i64],
            &'a [i64],
        );
        let cases: &[Case<'_>] = &[
            (None, &[], &[18, 1, 18], &[1, 18], &[]),
            (Some(&[1, 18]), &[], &[18, 1], &[1, 18], &[]),
            (Some(&[1, 2, 18]), &[], &[1], &[1], &[2, 18]),
            // An answer that changes nothing keeps the last change visible.
            (Some(&[1]), &[2, 18], &[1], &[1], &[2, 18]),
            // A widening change took nothing away.
            (Some(&[1]), &[2, 18], &[1, 2], &[1, 2], &[]),
            (Some(&[1, 2]), &[], &[3], &[3], &[1, 2]),
            (Some(&[1]), &[], &[], &[], &[1]),
        ];
        for (stored, removed, seen, want, want_removed) in cases {
            let (got, got_removed) = permissions(*stored, removed, seen);
            assert_eq!(got.as_deref(), Some(*want), "{stored:?} {seen:?}");
            assert_eq!(got_removed, *want_removed, "{stored:?} {seen:?}");
        }
    }

    #[test]
    fn grants_and_authorizer_info_keep_the_permission_sets_and_what_a_change_took_away() {
        let with = |func_info: Option<Vec<i64>>| Grant {
            func_info,
            ..grant("a", "r")
        };
        // An authorization records its sets.
        let first = record(&apply(
            None,
            &RecordEvent::Granted(with(Some(vec![18, 1, 2]))),
            NOW,
        ))
        .clone();
        assert_eq!(first.func_info, Some(vec![1, 2, 18]));
        assert!(first.func_info_removed.is_empty());
        // An `updateauthorized` (its `query_auth`) that narrowed the grant shows what went.
        let stored = StoredValue::Authorizer(first);
        let narrowed = record(&apply(
            Some(&stored),
            &RecordEvent::Granted(with(Some(vec![1]))),
            NOW + 1,
        ))
        .clone();
        assert_eq!(narrowed.func_info, Some(vec![1]));
        assert_eq!(narrowed.func_info_removed, vec![2, 18]);
        // A refresh and an import keep both.
        let stored = StoredValue::Authorizer(narrowed);
        let refreshed = record(&apply(
            Some(&stored),
            &RecordEvent::Refreshed {
                from_serial: Some(2),
                grant: with(None),
            },
            NOW + 2,
        ))
        .clone();
        assert_eq!(refreshed.func_info, Some(vec![1]));
        assert_eq!(refreshed.func_info_removed, vec![2, 18]);
        let imported = record(&apply(
            Some(&stored),
            &RecordEvent::Imported(with(None)),
            NOW + 2,
        ))
        .clone();
        assert_eq!(imported.func_info, Some(vec![1]));
        assert_eq!(imported.func_info_removed, vec![2, 18]);
        // `api_get_authorizer_info` widening it again: noted, nothing taken away.
        let seen = record(&apply(
            Some(&stored),
            &RecordEvent::PermissionsSeen {
                func_info: vec![1, 18],
            },
            NOW + 3,
        ))
        .clone();
        assert_eq!(seen.func_info, Some(vec![1, 18]));
        assert!(seen.func_info_removed.is_empty());
        assert_eq!(seen.access_token, Some(at("a")), "tokens untouched");
        // The same answer again writes nothing; no record and tombstones are left alone.
        let stored = StoredValue::Authorizer(seen);
        assert_eq!(
            apply(
                Some(&stored),
                &RecordEvent::PermissionsSeen {
                    func_info: vec![18, 1]
                },
                NOW
            ),
            Update::Keep(Kept::Unchanged)
        );
        assert_eq!(
            apply(
                None,
                &RecordEvent::PermissionsSeen { func_info: vec![1] },
                NOW
            ),
            Update::Keep(Kept::Unchanged)
        );
        let dead = dead(RevokeReason::Unauthorized, NOW, NOW, 3);
        assert_eq!(
            apply(
                Some(&dead),
                &RecordEvent::PermissionsSeen { func_info: vec![1] },
                NOW
            ),
            Update::Keep(Kept::Unchanged)
        );
    }
}
