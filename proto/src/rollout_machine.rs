//! The rollout machine: for one account of a rollout, `decide(now, record, budget, options)`
//! says what to do next and what to record *before* doing it, and `apply(now, record,
//! outcome, options)` says what the answer does to the record. Pure: the async driver holds
//! the lease, writes each record with a fenced write and makes the calls.
//!
//! The rules that make many instances and crashes safe:
//! - `commit` and the reads are repeatable; `submit_audit` and `release` are not. Before either
//!   the driver writes the intent ([`AccountState::Submitting`], [`AccountState::Releasing`])
//!   and only then calls.
//! - An intent found in the store (the writer crashed, or the call's answer was lost) is never
//!   acted on blindly: it is reconciled — `get_latest_auditstatus` for a submission
//!   ([`reconcile_submit`]), `getversioninfo` for a release — and only a call WeChat provably
//!   did not take is made again.
//! - Review events carry no `auditid`: they advance only an account under review, so an event
//!   arriving after a poll already advanced it changes nothing.
//! - 85085 (the platform's monthly quota) parks the account until the next Beijing month,
//!   visibly; the driver also records it in the [`Budget`] so the other accounts park without
//!   calling.

use crate::rollout::{AccountRecord, AccountState, Blocker, Budget, ParkCause, RolloutOptions};
use crate::wxa::calendar::next_month_start;
use crate::wxa::AuditState;

/// What the driver does next for one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    /// Nothing until this time (or an event).
    WaitUntil(u64),
    /// Nothing: the account is settled or waits for a person.
    Idle,
    /// Gather the account's facts and run [`crate::rollout::precheck`].
    RunPreCheck,
    /// Call `commit`.
    Commit,
    /// Call `get_code_privacy_info`.
    PollPrivacy,
    /// Call `queryquota` and put `rest` into the [`Budget`].
    ReadQuota,
    /// Call `submit_audit` (the intent is recorded first).
    Submit,
    /// Call `get_latest_auditstatus` for an account under review.
    PollAudit,
    /// Call `get_latest_auditstatus` to learn whether a recorded submission reached WeChat.
    ReconcileSubmit,
    /// Call `release`, or `grayrelease` with the rollout's percentage (the intent is recorded
    /// first).
    Release,
    /// Call `getversioninfo` to learn whether a recorded release happened.
    ReconcileRelease,
}

/// [`decide`]'s answer: what to write first (if anything), then what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Decision {
    /// Write this state (fenced) before taking the step; if the write loses, take nothing.
    pub write_first: Option<AccountState>,
    /// The step.
    pub step: Step,
}

impl Decision {
    fn just(step: Step) -> Self {
        Self {
            write_first: None,
            step,
        }
    }
}

/// A review's status as `get_latest_auditstatus` / `get_auditstatus` report it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditReport {
    /// The review.
    pub auditid: u64,
    /// Its status.
    pub status: AuditState,
    /// The `user_version` it reviews, when WeChat says.
    pub user_version: Option<String>,
    /// The reason (rejected or delayed).
    pub reason: Option<String>,
    /// Screenshot media ids.
    pub screenshots: Vec<String>,
}

impl AuditReport {
    /// A report with only an id and a status.
    pub fn new(auditid: u64, status: AuditState) -> Self {
        Self {
            auditid,
            status,
            user_version: None,
            reason: None,
            screenshots: Vec::new(),
        }
    }
}

/// A review event from the event plane (`weapp_audit_*`; they carry no `auditid`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuditEvent {
    /// `weapp_audit_success`.
    Success,
    /// `weapp_audit_fail`.
    Fail {
        /// `Reason`.
        reason: String,
        /// `ScreenShot` split at `|`.
        screenshots: Vec<String>,
    },
    /// `weapp_audit_delay`.
    Delay,
}

/// What happened when the driver took a step (or what arrived meanwhile).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The pre-check's blockers (empty: passed).
    PreCheck(Vec<Blocker>),
    /// `commit` succeeded.
    Committed,
    /// `get_code_privacy_info` answered (the detection is over).
    PrivacyDone,
    /// `submit_audit` answered this `auditid`.
    Submitted {
        /// The new review.
        auditid: u64,
    },
    /// `get_latest_auditstatus` answered (a poll, or a reconcile).
    Audit(AuditReport),
    /// `get_latest_auditstatus` answered 85058: the account has no review at all.
    NoAudit,
    /// A review event.
    Event(AuditEvent),
    /// `release` / `grayrelease` succeeded.
    Released,
    /// `getversioninfo` answered: the released `user_version`, if any, and whether a gray
    /// release is running (`getgrayreleaseplan`, for gray rollouts).
    Version {
        /// `release_info.release_version`.
        released: Option<String>,
        /// A gray release of the approved version runs.
        gray_running: bool,
    },
    /// The step failed. `errcode` is WeChat's, if it answered one; `transient` when the
    /// client classes it retryable (timeouts, lost answers, -1, 5xx) — for `submit_audit` and
    /// `release` that means it may have been taken.
    Failed {
        /// WeChat's errcode.
        errcode: Option<i64>,
        /// Whether it may be tried again.
        transient: bool,
    },
    /// A person asks to try the account again (after a blocker is fixed or a rejection).
    Retry,
    /// A person takes the account out of the rollout.
    Cancel,
}

/// Whether a recorded submission reached WeChat, from its `get_latest_auditstatus` answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SubmitReconcile {
    /// No review newer than the record's last one: `submit_audit` did not arrive; send it.
    NotSent,
    /// The latest review is this attempt's.
    Sent(AuditReport),
    /// The latest review is someone else's (another `user_version`).
    Foreign(AuditReport),
}

/// The reconcile rule for a recorded submission: the latest review (`None` for 85058) is
/// this attempt's when it is newer than `last_auditid` and reviews `user_version` (when
/// WeChat names it).
pub fn reconcile_submit(
    last_auditid: Option<u64>,
    latest: Option<&AuditReport>,
    user_version: &str,
) -> SubmitReconcile {
    match latest {
        None => SubmitReconcile::NotSent,
        Some(r) if Some(r.auditid) == last_auditid => SubmitReconcile::NotSent,
        Some(r) if r.user_version.as_deref().is_some_and(|v| v != user_version) => {
            SubmitReconcile::Foreign(r.clone())
        }
        Some(r) => SubmitReconcile::Sent(r.clone()),
    }
}

/// What to do next for `record` at `now`.
pub fn decide(
    now: u64,
    record: &AccountRecord,
    budget: &Budget,
    options: &RolloutOptions,
) -> Decision {
    match &record.state {
        AccountState::PreCheck => Decision::just(Step::RunPreCheck),
        AccountState::Blocked(_)
        | AccountState::Rejected { .. }
        | AccountState::Done { .. }
        | AccountState::Cancelled => Decision::just(Step::Idle),
        AccountState::Commit => Decision::just(Step::Commit),
        AccountState::PrivacyWait { poll_at } if now < *poll_at => {
            Decision::just(Step::WaitUntil(*poll_at))
        }
        AccountState::PrivacyWait { .. } => Decision::just(Step::PollPrivacy),
        AccountState::Parked { until, .. } if now < *until => {
            Decision::just(Step::WaitUntil(*until))
        }
        AccountState::ReadyToSubmit | AccountState::Parked { .. } => match budget.check(now) {
            Err((cause, until)) => {
                let parked = AccountState::Parked { cause, until };
                Decision {
                    write_first: (record.state != parked).then_some(parked),
                    step: Step::WaitUntil(until),
                }
            }
            Ok(()) if budget.quota_rest_at(now).is_none() => Decision::just(Step::ReadQuota),
            Ok(()) => Decision {
                write_first: Some(AccountState::Submitting { since: now }),
                step: Step::Submit,
            },
        },
        AccountState::Submitting { .. } => Decision::just(Step::ReconcileSubmit),
        AccountState::UnderReview { poll_at, .. } if now < *poll_at => {
            Decision::just(Step::WaitUntil(*poll_at))
        }
        AccountState::UnderReview { .. } => Decision::just(Step::PollAudit),
        AccountState::Approved { auditid } if options.auto_release => Decision {
            write_first: Some(AccountState::Releasing {
                auditid: *auditid,
                since: now,
            }),
            step: Step::Release,
        },
        AccountState::Approved { .. } => Decision::just(Step::Idle),
        AccountState::Releasing { .. } => Decision::just(Step::ReconcileRelease),
    }
}

fn with(record: &AccountRecord, state: AccountState) -> AccountRecord {
    AccountRecord {
        state,
        ..record.clone()
    }
}

fn refused(step: &'static str, errcode: Option<i64>) -> AccountState {
    match errcode {
        Some(48001 | 61007) => AccountState::Blocked(vec![Blocker::MissingPermissionSet(
            crate::wxa::MINI_PROGRAM_DEVELOPMENT,
        )]),
        _ => AccountState::Blocked(vec![Blocker::Refused {
            step,
            errcode: errcode.unwrap_or_default(),
        }]),
    }
}

/// The state a review report puts an account in (its own review).
fn from_report(now: u64, r: &AuditReport, options: &RolloutOptions) -> AccountState {
    match r.status {
        AuditState::Approved => AccountState::Approved { auditid: r.auditid },
        AuditState::Rejected => AccountState::Rejected {
            auditid: r.auditid,
            reason: r.reason.clone().unwrap_or_default(),
            screenshots: r.screenshots.clone(),
        },
        AuditState::Withdrawn => AccountState::ReadyToSubmit,
        _ => AccountState::UnderReview {
            auditid: r.auditid,
            poll_at: now.saturating_add(options.audit_poll_secs),
        },
    }
}

/// What `outcome` does to `record` at `now`. Outcomes that do not fit the state (a late
/// event, an answer to a step another instance already took) leave it as it is.
pub fn apply(
    now: u64,
    record: &AccountRecord,
    outcome: &Outcome,
    options: &RolloutOptions,
) -> AccountRecord {
    use AccountState as S;
    let retry_at = now.saturating_add(options.retry_secs);
    match (&record.state, outcome) {
        (S::Done { .. } | S::Cancelled, _) => record.clone(),
        (_, Outcome::Cancel) => with(record, S::Cancelled),
        (S::Blocked(_) | S::Rejected { .. }, Outcome::Retry) => with(record, S::PreCheck),

        (S::PreCheck, Outcome::PreCheck(b)) if b.is_empty() => with(record, S::Commit),
        (S::PreCheck, Outcome::PreCheck(b)) => with(record, S::Blocked(b.clone())),

        (S::Commit, Outcome::Committed) => with(
            record,
            S::PrivacyWait {
                poll_at: now.saturating_add(options.privacy_poll_secs),
            },
        ),
        (
            S::Commit,
            Outcome::Failed {
                transient: true, ..
            },
        ) => record.clone(),
        (S::Commit, Outcome::Failed { errcode, .. }) => with(record, refused("commit", *errcode)),

        (S::PrivacyWait { .. }, Outcome::PrivacyDone) => with(record, S::ReadyToSubmit),
        (
            S::PrivacyWait { .. },
            Outcome::Failed {
                errcode: Some(61039),
                ..
            },
        ) => with(
            record,
            S::PrivacyWait {
                poll_at: now.saturating_add(options.privacy_poll_secs),
            },
        ),
        (
            S::PrivacyWait { .. },
            Outcome::Failed {
                transient: true, ..
            },
        ) => with(record, S::PrivacyWait { poll_at: retry_at }),
        (S::PrivacyWait { .. }, Outcome::Failed { errcode, .. }) => {
            with(record, refused("get_code_privacy_info", *errcode))
        }

        (S::Submitting { .. }, Outcome::Submitted { auditid }) => AccountRecord {
            state: S::UnderReview {
                auditid: *auditid,
                poll_at: now.saturating_add(options.audit_poll_secs),
            },
            last_auditid: Some(*auditid),
            submissions: record.submissions.saturating_add(1),
        },
        (S::Submitting { .. }, Outcome::Failed { errcode, transient }) => match errcode {
            Some(85085) => with(
                record,
                S::Parked {
                    cause: ParkCause::PlatformQuota,
                    until: next_month_start(now),
                },
            ),
            Some(61039) => with(
                record,
                S::PrivacyWait {
                    poll_at: now.saturating_add(options.privacy_poll_secs),
                },
            ),
            Some(85086) => with(record, S::Commit),
            // A review is running: maybe this attempt's, whose answer was lost. Reconcile.
            Some(85009) => record.clone(),
            // May have been taken: stay, so the next step is a reconcile.
            _ if *transient => record.clone(),
            _ => with(record, refused("submit_audit", *errcode)),
        },
        (S::Submitting { .. }, Outcome::NoAudit) => with(record, S::ReadyToSubmit),
        (S::Submitting { .. }, Outcome::Audit(r)) => {
            match reconcile_submit(record.last_auditid, Some(r), &options.user_version) {
                SubmitReconcile::NotSent => with(record, S::ReadyToSubmit),
                SubmitReconcile::Foreign(r)
                    if matches!(r.status, AuditState::InReview | AuditState::Delayed) =>
                {
                    with(
                        record,
                        S::Blocked(vec![Blocker::Refused {
                            step: "submit_audit",
                            errcode: 85009,
                        }]),
                    )
                }
                SubmitReconcile::Foreign(r) => AccountRecord {
                    state: S::ReadyToSubmit,
                    last_auditid: Some(r.auditid),
                    submissions: record.submissions,
                },
                SubmitReconcile::Sent(r) => AccountRecord {
                    state: from_report(now, &r, options),
                    last_auditid: Some(r.auditid),
                    submissions: record.submissions.saturating_add(1),
                },
            }
        }

        (S::UnderReview { auditid, .. }, Outcome::Audit(r)) if r.auditid == *auditid => {
            with(record, from_report(now, r, options))
        }
        (S::UnderReview { auditid, .. }, Outcome::Event(AuditEvent::Success)) => {
            with(record, S::Approved { auditid: *auditid })
        }
        (
            S::UnderReview { auditid, .. },
            Outcome::Event(AuditEvent::Fail {
                reason,
                screenshots,
            }),
        ) => with(
            record,
            S::Rejected {
                auditid: *auditid,
                reason: reason.clone(),
                screenshots: screenshots.clone(),
            },
        ),
        (S::UnderReview { auditid, .. }, Outcome::Failed { .. }) => with(
            record,
            S::UnderReview {
                auditid: *auditid,
                poll_at: retry_at,
            },
        ),

        (S::Releasing { auditid, .. }, Outcome::Released) => {
            with(record, S::Done { auditid: *auditid })
        }
        (S::Releasing { auditid, .. }, Outcome::Failed { errcode, transient }) => match errcode {
            Some(85052) => with(record, S::Done { auditid: *auditid }),
            Some(85019 | 85020) => with(
                record,
                S::UnderReview {
                    auditid: *auditid,
                    poll_at: now,
                },
            ),
            _ if *transient => record.clone(),
            _ => with(record, refused("release", *errcode)),
        },
        (
            S::Releasing { auditid, .. },
            Outcome::Version {
                released,
                gray_running,
            },
        ) => {
            let done = if options.gray_percentage.is_some() {
                *gray_running || released.as_deref() == Some(options.user_version.as_str())
            } else {
                released.as_deref() == Some(options.user_version.as_str())
            };
            if done {
                with(record, S::Done { auditid: *auditid })
            } else {
                with(record, S::Approved { auditid: *auditid })
            }
        }

        _ => record.clone(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const NOW: u64 = 1_800_000_000;

    fn opts() -> RolloutOptions {
        RolloutOptions::new("2.0.0")
    }

    fn rec(state: AccountState) -> AccountRecord {
        AccountRecord {
            state,
            last_auditid: Some(7),
            submissions: 0,
        }
    }

    fn read() -> Budget {
        Budget {
            quota_rest: Some(10),
            quota_read_at: NOW,
            ..Budget::default()
        }
    }

    fn report(auditid: u64, status: AuditState, v: Option<&str>) -> AuditReport {
        AuditReport {
            user_version: v.map(str::to_owned),
            ..AuditReport::new(auditid, status)
        }
    }

    #[test]
    fn decide_table() {
        use AccountState as S;
        let later = NOW + 100;
        let table: Vec<(S, Budget, Option<S>, Step)> = vec![
            (S::PreCheck, read(), None, Step::RunPreCheck),
            (S::Commit, read(), None, Step::Commit),
            (
                S::PrivacyWait { poll_at: later },
                read(),
                None,
                Step::WaitUntil(later),
            ),
            (
                S::PrivacyWait { poll_at: NOW },
                read(),
                None,
                Step::PollPrivacy,
            ),
            (S::ReadyToSubmit, Budget::default(), None, Step::ReadQuota),
            (
                S::ReadyToSubmit,
                read(),
                Some(S::Submitting { since: NOW }),
                Step::Submit,
            ),
            (
                S::ReadyToSubmit,
                Budget {
                    quota_rest: Some(0),
                    quota_read_at: NOW,
                    ..Budget::default()
                },
                Some(S::Parked {
                    cause: ParkCause::PlatformQuota,
                    until: next_month_start(NOW),
                }),
                Step::WaitUntil(next_month_start(NOW)),
            ),
            (
                S::Parked {
                    cause: ParkCause::PlatformQuota,
                    until: later,
                },
                read(),
                None,
                Step::WaitUntil(later),
            ),
            (
                S::Parked {
                    cause: ParkCause::PlatformQuota,
                    until: NOW,
                },
                read(),
                Some(S::Submitting { since: NOW }),
                Step::Submit,
            ),
            (
                S::Submitting { since: 1 },
                read(),
                None,
                Step::ReconcileSubmit,
            ),
            (
                S::UnderReview {
                    auditid: 8,
                    poll_at: later,
                },
                read(),
                None,
                Step::WaitUntil(later),
            ),
            (
                S::UnderReview {
                    auditid: 8,
                    poll_at: NOW,
                },
                read(),
                None,
                Step::PollAudit,
            ),
            (
                S::Approved { auditid: 8 },
                read(),
                Some(S::Releasing {
                    auditid: 8,
                    since: NOW,
                }),
                Step::Release,
            ),
            (
                S::Releasing {
                    auditid: 8,
                    since: 1,
                },
                read(),
                None,
                Step::ReconcileRelease,
            ),
            (S::Done { auditid: 8 }, read(), None, Step::Idle),
            (S::Blocked(vec![]), read(), None, Step::Idle),
            (S::Cancelled, read(), None, Step::Idle),
        ];
        for (state, budget, write, step) in table {
            let d = decide(NOW, &rec(state.clone()), &budget, &opts());
            assert_eq!((d.write_first, d.step), (write, step), "{state:?}");
        }
        // Without automatic release an approved account waits.
        let manual = RolloutOptions {
            auto_release: false,
            ..opts()
        };
        let d = decide(NOW, &rec(S::Approved { auditid: 8 }), &read(), &manual);
        assert_eq!((d.write_first, d.step), (None, Step::Idle));
    }

    #[test]
    fn apply_table() {
        use AccountState as S;
        let o = opts();
        let review = |id| S::UnderReview {
            auditid: id,
            poll_at: NOW + o.audit_poll_secs,
        };
        let submitting = S::Submitting { since: NOW - 5 };
        let fail = |c: i64, t: bool| Outcome::Failed {
            errcode: Some(c),
            transient: t,
        };
        let lost = Outcome::Failed {
            errcode: None,
            transient: true,
        };
        let table: Vec<(S, Outcome, S)> = vec![
            (S::PreCheck, Outcome::PreCheck(vec![]), S::Commit),
            (
                S::PreCheck,
                Outcome::PreCheck(vec![Blocker::MissingPermissionSet(18)]),
                S::Blocked(vec![Blocker::MissingPermissionSet(18)]),
            ),
            (
                S::Commit,
                Outcome::Committed,
                S::PrivacyWait {
                    poll_at: NOW + o.privacy_poll_secs,
                },
            ),
            (S::Commit, lost.clone(), S::Commit),
            (
                S::Commit,
                fail(61007, false),
                S::Blocked(vec![Blocker::MissingPermissionSet(18)]),
            ),
            (
                S::PrivacyWait { poll_at: 0 },
                fail(61039, false),
                S::PrivacyWait {
                    poll_at: NOW + o.privacy_poll_secs,
                },
            ),
            (
                S::PrivacyWait { poll_at: 0 },
                Outcome::PrivacyDone,
                S::ReadyToSubmit,
            ),
            (
                submitting.clone(),
                Outcome::Submitted { auditid: 9 },
                review(9),
            ),
            (
                submitting.clone(),
                fail(85085, false),
                S::Parked {
                    cause: ParkCause::PlatformQuota,
                    until: next_month_start(NOW),
                },
            ),
            (
                submitting.clone(),
                fail(61039, false),
                S::PrivacyWait {
                    poll_at: NOW + o.privacy_poll_secs,
                },
            ),
            (submitting.clone(), fail(85086, false), S::Commit),
            // Maybe taken: stays an intent, reconciled next.
            (submitting.clone(), fail(85009, false), submitting.clone()),
            (submitting.clone(), fail(-1, true), submitting.clone()),
            (submitting.clone(), lost.clone(), submitting.clone()),
            (
                submitting.clone(),
                fail(86002, false),
                S::Blocked(vec![Blocker::Refused {
                    step: "submit_audit",
                    errcode: 86002,
                }]),
            ),
            // Reconcile: nothing newer than the last review → submit again.
            (submitting.clone(), Outcome::NoAudit, S::ReadyToSubmit),
            (
                submitting.clone(),
                Outcome::Audit(report(7, AuditState::Rejected, Some("1.0.0"))),
                S::ReadyToSubmit,
            ),
            // Reconcile: a newer review of this version → it was sent.
            (
                submitting.clone(),
                Outcome::Audit(report(9, AuditState::InReview, Some("2.0.0"))),
                review(9),
            ),
            (
                submitting.clone(),
                Outcome::Audit(report(9, AuditState::Approved, None)),
                S::Approved { auditid: 9 },
            ),
            // Someone else's review is running: blocked with 85009.
            (
                submitting.clone(),
                Outcome::Audit(report(9, AuditState::InReview, Some("other"))),
                S::Blocked(vec![Blocker::Refused {
                    step: "submit_audit",
                    errcode: 85009,
                }]),
            ),
            // Events and polls under review.
            (
                review(9),
                Outcome::Event(AuditEvent::Success),
                S::Approved { auditid: 9 },
            ),
            (
                review(9),
                Outcome::Event(AuditEvent::Fail {
                    reason: "r".into(),
                    screenshots: vec!["m".into()],
                }),
                S::Rejected {
                    auditid: 9,
                    reason: "r".into(),
                    screenshots: vec!["m".into()],
                },
            ),
            (review(9), Outcome::Event(AuditEvent::Delay), review(9)),
            (
                review(9),
                Outcome::Audit(AuditReport {
                    reason: Some("r".into()),
                    screenshots: vec!["a".into(), "b".into()],
                    ..report(9, AuditState::Rejected, None)
                }),
                S::Rejected {
                    auditid: 9,
                    reason: "r".into(),
                    screenshots: vec!["a".into(), "b".into()],
                },
            ),
            (
                review(9),
                Outcome::Audit(report(9, AuditState::Withdrawn, None)),
                S::ReadyToSubmit,
            ),
            // Another review's report does not move this one.
            (
                review(9),
                Outcome::Audit(report(8, AuditState::Approved, None)),
                review(9),
            ),
            // An event after a poll already advanced the account changes nothing.
            (
                S::Approved { auditid: 9 },
                Outcome::Event(AuditEvent::Success),
                S::Approved { auditid: 9 },
            ),
            (
                S::Releasing {
                    auditid: 9,
                    since: 1,
                },
                Outcome::Event(AuditEvent::Success),
                S::Releasing {
                    auditid: 9,
                    since: 1,
                },
            ),
            // Release and its reconcile.
            (
                S::Releasing {
                    auditid: 9,
                    since: 1,
                },
                Outcome::Released,
                S::Done { auditid: 9 },
            ),
            (
                S::Releasing {
                    auditid: 9,
                    since: 1,
                },
                fail(85052, false),
                S::Done { auditid: 9 },
            ),
            (
                S::Releasing {
                    auditid: 9,
                    since: 1,
                },
                lost.clone(),
                S::Releasing {
                    auditid: 9,
                    since: 1,
                },
            ),
            (
                S::Releasing {
                    auditid: 9,
                    since: 1,
                },
                Outcome::Version {
                    released: Some("2.0.0".into()),
                    gray_running: false,
                },
                S::Done { auditid: 9 },
            ),
            (
                S::Releasing {
                    auditid: 9,
                    since: 1,
                },
                Outcome::Version {
                    released: Some("1.0.0".into()),
                    gray_running: false,
                },
                S::Approved { auditid: 9 },
            ),
            // People.
            (S::Blocked(vec![]), Outcome::Retry, S::PreCheck),
            (
                S::Rejected {
                    auditid: 9,
                    reason: String::new(),
                    screenshots: vec![],
                },
                Outcome::Retry,
                S::PreCheck,
            ),
            (review(9), Outcome::Cancel, S::Cancelled),
            (
                S::Done { auditid: 9 },
                Outcome::Cancel,
                S::Done { auditid: 9 },
            ),
            (
                S::Done { auditid: 9 },
                Outcome::Retry,
                S::Done { auditid: 9 },
            ),
        ];
        for (state, outcome, want) in table {
            let got = apply(NOW, &rec(state.clone()), &outcome, &o);
            assert_eq!(got.state, want, "{state:?} + {outcome:?}");
        }
        // A submission counts and becomes the last known review.
        let r = apply(
            NOW,
            &rec(submitting),
            &Outcome::Submitted { auditid: 9 },
            &o,
        );
        assert_eq!((r.last_auditid, r.submissions), (Some(9), 1));
    }

    #[test]
    fn reconcile_rule() {
        let mine = report(9, AuditState::InReview, Some("2.0.0"));
        assert_eq!(
            reconcile_submit(Some(7), None, "2.0.0"),
            SubmitReconcile::NotSent
        );
        assert_eq!(
            reconcile_submit(Some(9), Some(&mine), "2.0.0"),
            SubmitReconcile::NotSent
        );
        assert_eq!(
            reconcile_submit(Some(7), Some(&mine), "2.0.0"),
            SubmitReconcile::Sent(mine.clone())
        );
        assert_eq!(
            reconcile_submit(None, Some(&mine), "3.0.0"),
            SubmitReconcile::Foreign(mine)
        );
    }

    /// WeChat for one account, as the machine's driver sees it.
    #[derive(Default)]
    struct Wechat {
        audits: Vec<(u64, AuditState)>,
        released: Option<String>,
        submits: u32,
        releases: u32,
    }

    /// Drives one account to done, crashing (losing everything not written) before the
    /// `crash_at`-th write or right after the `crash_at`-th call; returns WeChat's counts.
    fn drive_with_crash(crash_at: usize) -> (u32, u32, AccountState) {
        let o = opts();
        let mut store = AccountRecord::new();
        let mut wx = Wechat::default();
        let mut budget = read();
        let mut now = NOW;
        let mut ticks = 0;
        let mut writes = 0;
        let mut calls = 0;
        'outer: while !store.state.is_settled() && ticks < 200 {
            ticks += 1;
            now += 61;
            let d = decide(now, &store, &budget, &o);
            // The record the driver works from (the store, plus its own intent write).
            let mut local = store.clone();
            if let Some(s) = d.write_first {
                writes += 1;
                if writes == crash_at {
                    continue 'outer; // crashed before the write
                }
                local.state = s;
                store = local.clone();
            }
            calls += 1;
            let outcome = match d.step {
                Step::WaitUntil(_) | Step::Idle => continue,
                Step::RunPreCheck => Outcome::PreCheck(vec![]),
                Step::Commit => Outcome::Committed,
                Step::PollPrivacy => Outcome::PrivacyDone,
                Step::ReadQuota => {
                    budget.quota_rest = Some(10);
                    budget.quota_read_at = now;
                    continue;
                }
                Step::Submit => {
                    wx.submits += 1;
                    let id = 100 + u64::from(wx.submits);
                    wx.audits.push((id, AuditState::InReview));
                    Outcome::Submitted { auditid: id }
                }
                Step::PollAudit | Step::ReconcileSubmit => match wx.audits.last_mut() {
                    None => Outcome::NoAudit,
                    Some((id, st)) => {
                        // The reviewer approves at the first look.
                        *st = AuditState::Approved;
                        Outcome::Audit(report(*id, *st, Some("2.0.0")))
                    }
                },
                Step::Release => {
                    wx.releases += 1;
                    wx.released = Some("2.0.0".into());
                    Outcome::Released
                }
                Step::ReconcileRelease => Outcome::Version {
                    released: wx.released.clone(),
                    gray_running: false,
                },
            };
            if calls == crash_at {
                continue; // crashed after the call, before recording its answer
            }
            let next = apply(now, &local, &outcome, &o);
            writes += 1;
            if writes == crash_at {
                continue;
            }
            store = next;
        }
        (wx.submits, wx.releases, store.state)
    }

    #[test]
    fn a_crash_anywhere_repeats_no_submission_or_release() {
        for crash_at in 0..40 {
            let (submits, releases, end) = drive_with_crash(crash_at);
            assert_eq!(submits, 1, "crash at {crash_at}");
            assert_eq!(releases, 1, "crash at {crash_at}");
            assert!(
                matches!(end, AccountState::Done { .. }),
                "crash at {crash_at}: {end:?}"
            );
        }
    }
}
