//! A rollout's data: what it ships and how ([`RolloutOptions`]), each account's state
//! ([`AccountState`]), what blocks an account ([`Blocker`]) and the shared submission budget
//! ([`Budget`]) — plain data and the pre-check rule; the transitions are in
//! [`crate::rollout_machine`].

use crate::wxa::calendar::{month_key, next_day_start, next_month_start};

/// How a rollout ships one template to its accounts.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RolloutOptions {
    /// The `user_version` committed to every account (how a reconcile recognises its own
    /// release in `getversioninfo`).
    pub user_version: String,
    /// Release automatically when approved (else approved accounts wait in
    /// [`AccountState::Approved`]).
    pub auto_release: bool,
    /// Release to this share of users (`grayrelease`) instead of everyone.
    pub gray_percentage: Option<u8>,
    /// How long to wait between privacy-detection polls after 61039 (about a minute).
    pub privacy_poll_secs: u64,
    /// How long to wait between audit-status polls (the fallback when events are lost).
    pub audit_poll_secs: u64,
    /// How long to wait after a transient failure.
    pub retry_secs: u64,
}

impl RolloutOptions {
    /// Options for `user_version`: automatic full release, privacy polled every 60 s, audit
    /// status every 30 minutes, transient failures retried after 60 s.
    pub fn new(user_version: impl Into<String>) -> Self {
        Self {
            user_version: user_version.into(),
            auto_release: true,
            gray_percentage: None,
            privacy_poll_secs: 60,
            audit_poll_secs: 1800,
            retry_secs: 60,
        }
    }
}

/// Why an account cannot proceed until someone acts (found before any commit, or a refusal
/// that retrying will not fix).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Blocker {
    /// The account did not grant this permission set (18 for code management).
    MissingPermissionSet(u32),
    /// A domain the rollout needs is not among the account's effective domains.
    MissingDomain {
        /// `requestdomain`, `uploaddomain`, …
        kind: String,
        /// The domain.
        domain: String,
    },
    /// The audit items name a category the account has not configured.
    CategoryNotConfigured {
        /// First-level id.
        first_id: u64,
        /// Second-level id.
        second_id: u64,
    },
    /// The privacy settings the rollout needs are not set.
    PrivacySettingsMissing,
    /// WeChat refused a step with a code retrying does not fix.
    Refused {
        /// The step (`commit`, `submit_audit`, `release`).
        step: &'static str,
        /// WeChat's errcode.
        errcode: i64,
    },
}

/// Why an account ready to submit waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParkCause {
    /// The platform's monthly review quota is spent (85085, or `queryquota` `rest` 0).
    PlatformQuota,
    /// The rollout's own per-day budget is spent.
    DailyBudget,
    /// The rollout's own per-month budget is spent.
    MonthlyBudget,
}

/// One account's place in a rollout. Stored; every change is a fenced write.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AccountState {
    /// Permission sets, categories, domains and privacy settings are checked before commit.
    PreCheck,
    /// Stopped until someone fixes the causes and retries the account.
    Blocked(Vec<Blocker>),
    /// The template is to be committed (repeatable).
    Commit,
    /// Committed; WeChat's privacy detection runs (61039) until it answers.
    PrivacyWait {
        /// When to ask again.
        poll_at: u64,
    },
    /// Ready to submit when the quota and the budget allow.
    ReadyToSubmit,
    /// Ready, but waiting for the quota or the budget, visibly.
    Parked {
        /// What is spent.
        cause: ParkCause,
        /// When it is expected back (the next Beijing day or month).
        until: u64,
    },
    /// The intent to submit is recorded; `submit_audit` may have been sent. After a crash,
    /// reconciled with `get_latest_auditstatus`, never sent blindly again.
    Submitting {
        /// When the intent was recorded.
        since: u64,
    },
    /// Under review.
    UnderReview {
        /// The review.
        auditid: u64,
        /// When to poll `get_latest_auditstatus` if no event came.
        poll_at: u64,
    },
    /// Rejected; waits for a resubmission.
    Rejected {
        /// The review.
        auditid: u64,
        /// WeChat's reason.
        reason: String,
        /// Screenshot media ids.
        screenshots: Vec<String>,
    },
    /// Approved; released next (or held, without automatic release).
    Approved {
        /// The review.
        auditid: u64,
    },
    /// The intent to release is recorded; `release` may have been sent. After a crash,
    /// reconciled with `getversioninfo`.
    Releasing {
        /// The review.
        auditid: u64,
        /// When the intent was recorded.
        since: u64,
    },
    /// Released (or gray-released): done.
    Done {
        /// The review.
        auditid: u64,
    },
    /// Taken out of the rollout.
    Cancelled,
}

impl AccountState {
    /// A short stable name for counts and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            AccountState::PreCheck => "pre_check",
            AccountState::Blocked(_) => "blocked",
            AccountState::Commit => "commit",
            AccountState::PrivacyWait { .. } => "privacy_wait",
            AccountState::ReadyToSubmit => "ready_to_submit",
            AccountState::Parked { .. } => "parked",
            AccountState::Submitting { .. } => "submitting",
            AccountState::UnderReview { .. } => "under_review",
            AccountState::Rejected { .. } => "rejected",
            AccountState::Approved { .. } => "approved",
            AccountState::Releasing { .. } => "releasing",
            AccountState::Done { .. } => "done",
            AccountState::Cancelled => "cancelled",
        }
    }

    /// Whether the account needs nothing more from the rollout (done, cancelled) or waits for
    /// a person (blocked, rejected).
    pub fn is_settled(&self) -> bool {
        matches!(
            self,
            AccountState::Done { .. }
                | AccountState::Cancelled
                | AccountState::Blocked(_)
                | AccountState::Rejected { .. }
        )
    }
}

/// One account's stored record in a rollout: its state and what a reconcile needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AccountRecord {
    /// Where it is.
    pub state: AccountState,
    /// The latest `auditid` known for the account (before a submission: the review that is
    /// *not* this attempt's, which tells a reconcile whether the latest review is new).
    pub last_auditid: Option<u64>,
    /// `submit_audit` calls that created a review for this account in this rollout.
    pub submissions: u32,
}

impl AccountRecord {
    /// A new account, at the pre-check.
    pub fn new() -> Self {
        Self {
            state: AccountState::PreCheck,
            last_auditid: None,
            submissions: 0,
        }
    }
}

impl Default for AccountRecord {
    fn default() -> Self {
        Self::new()
    }
}

/// What the rollout may still submit: the platform's quota as last read and the rollout's own
/// budget, with what it has used. The driver keeps the counts; the rule is here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Budget {
    /// `queryquota` `rest` as last read, less the submissions since (`None`: not read yet).
    /// Only good in the Beijing month it was read ([`Budget::quota_read_at`]).
    pub quota_rest: Option<u64>,
    /// When `quota_rest` was read (Unix seconds).
    pub quota_read_at: u64,
    /// After 85085: the quota is spent until this time (the next Beijing month).
    pub quota_spent_until: Option<u64>,
    /// The rollout's per-day submission budget.
    pub per_day: Option<u32>,
    /// The rollout's per-month submission budget.
    pub per_month: Option<u32>,
    /// Submissions by this rollout today (Beijing day).
    pub submitted_today: u32,
    /// Submissions by this rollout this month (Beijing month).
    pub submitted_this_month: u32,
}

impl Budget {
    /// The platform's remaining quota as known at `now`: `None` when never read or read in an
    /// earlier Beijing month (read `queryquota` again).
    pub fn quota_rest_at(&self, now: u64) -> Option<u64> {
        self.quota_rest
            .filter(|_| month_key(self.quota_read_at) == month_key(now))
    }

    /// May one more account be submitted at `now`? `Err` names what is spent and until when.
    pub fn check(&self, now: u64) -> Result<(), (ParkCause, u64)> {
        if let Some(until) = self.quota_spent_until {
            if now < until {
                return Err((ParkCause::PlatformQuota, until));
            }
        }
        if self.quota_rest_at(now) == Some(0) {
            return Err((ParkCause::PlatformQuota, next_month_start(now)));
        }
        if self
            .per_month
            .is_some_and(|m| self.submitted_this_month >= m)
        {
            return Err((ParkCause::MonthlyBudget, next_month_start(now)));
        }
        if self.per_day.is_some_and(|d| self.submitted_today >= d) {
            return Err((ParkCause::DailyBudget, next_day_start(now)));
        }
        Ok(())
    }
}

/// What the pre-check found about an account (from `api_get_authorizer_info`,
/// `get_category`, `get_effective_domain` and `getprivacysetting`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AccountFacts {
    /// Permission sets the account granted (`func_info`).
    pub permission_sets: Vec<u32>,
    /// Configured categories as (first_id, second_id).
    pub categories: Vec<(u64, u64)>,
    /// Effective domains as (kind, host), e.g. (`requestdomain`, `api.example.com`).
    pub domains: Vec<(String, String)>,
    /// Whether privacy settings are set.
    pub privacy_set: bool,
}

/// What the rollout needs of every account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Requirements {
    /// Permission sets (18 for code management).
    pub permission_sets: Vec<u32>,
    /// Categories the audit items name, as (first_id, second_id).
    pub categories: Vec<(u64, u64)>,
    /// Domains as (kind, host).
    pub domains: Vec<(String, String)>,
    /// Whether privacy settings must be set.
    pub privacy: bool,
}

fn host(d: &str) -> String {
    let h = d.split_once("://").map_or(d, |(_, h)| h);
    h.split(['/', ':'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// The pre-check: every requirement the account's facts do not meet, as a [`Blocker`], in a
/// stable order (permission sets, categories, domains, privacy). Empty: commit may start.
/// A missing permission set is reported alone: without it the other facts cannot be read.
pub fn precheck(facts: &AccountFacts, needs: &Requirements) -> Vec<Blocker> {
    let mut out = Vec::new();
    for set in &needs.permission_sets {
        if !facts.permission_sets.contains(set) {
            out.push(Blocker::MissingPermissionSet(*set));
        }
    }
    if !out.is_empty() {
        return out;
    }
    for &(first_id, second_id) in &needs.categories {
        if !facts.categories.contains(&(first_id, second_id)) {
            out.push(Blocker::CategoryNotConfigured {
                first_id,
                second_id,
            });
        }
    }
    for (kind, domain) in &needs.domains {
        let want = host(domain);
        if !facts
            .domains
            .iter()
            .any(|(k, d)| k == kind && host(d) == want)
        {
            out.push(Blocker::MissingDomain {
                kind: kind.clone(),
                domain: domain.clone(),
            });
        }
    }
    if needs.privacy && !facts.privacy_set {
        out.push(Blocker::PrivacySettingsMissing);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn needs() -> Requirements {
        Requirements {
            permission_sets: vec![18],
            categories: vec![(287, 612)],
            domains: vec![("requestdomain".into(), "https://api.shop.example".into())],
            privacy: true,
        }
    }

    fn good() -> AccountFacts {
        AccountFacts {
            permission_sets: vec![17, 18, 19],
            categories: vec![(287, 612)],
            domains: vec![("requestdomain".into(), "https://API.shop.example/".into())],
            privacy_set: true,
        }
    }

    #[test]
    fn precheck_blocks_with_the_reason() {
        assert_eq!(precheck(&good(), &needs()), vec![]);
        let table: Vec<(AccountFacts, Vec<Blocker>)> = vec![
            (
                AccountFacts {
                    permission_sets: vec![1, 2],
                    ..good()
                },
                vec![Blocker::MissingPermissionSet(18)],
            ),
            // Without set 18 nothing else could be read: only the permission is named.
            (
                AccountFacts {
                    permission_sets: vec![],
                    categories: vec![],
                    domains: vec![],
                    privacy_set: false,
                },
                vec![Blocker::MissingPermissionSet(18)],
            ),
            (
                AccountFacts {
                    domains: vec![("uploaddomain".into(), "api.shop.example".into())],
                    ..good()
                },
                vec![Blocker::MissingDomain {
                    kind: "requestdomain".into(),
                    domain: "https://api.shop.example".into(),
                }],
            ),
            (
                AccountFacts {
                    categories: vec![],
                    privacy_set: false,
                    ..good()
                },
                vec![
                    Blocker::CategoryNotConfigured {
                        first_id: 287,
                        second_id: 612,
                    },
                    Blocker::PrivacySettingsMissing,
                ],
            ),
        ];
        for (facts, want) in table {
            assert_eq!(precheck(&facts, &needs()), want, "{facts:?}");
        }
    }

    #[test]
    fn budget_parks_with_the_cause_and_when() {
        // 2027-01-15T12:00:00+08:00.
        let now = 1_798_761_600 - 8 * 3600 + 14 * 86_400 + 12 * 3600;
        let feb = 1_798_761_600 - 8 * 3600 + 31 * 86_400;
        let tomorrow = 1_798_761_600 - 8 * 3600 + 15 * 86_400;
        let read = Budget {
            quota_rest: Some(5),
            quota_read_at: now,
            ..Budget::default()
        };
        let table = [
            (read.clone(), Ok(())),
            (
                Budget {
                    quota_rest: Some(0),
                    quota_read_at: now - 3600,
                    ..Budget::default()
                },
                Err((ParkCause::PlatformQuota, feb)),
            ),
            // A zero read last month says nothing about this one.
            (
                Budget {
                    quota_rest: Some(0),
                    quota_read_at: now - 20 * 86_400,
                    ..Budget::default()
                },
                Ok(()),
            ),
            (
                Budget {
                    quota_spent_until: Some(feb),
                    ..read.clone()
                },
                Err((ParkCause::PlatformQuota, feb)),
            ),
            (
                Budget {
                    quota_spent_until: Some(now),
                    ..read.clone()
                },
                Ok(()),
            ),
            (
                Budget {
                    per_day: Some(3),
                    submitted_today: 3,
                    ..read.clone()
                },
                Err((ParkCause::DailyBudget, tomorrow)),
            ),
            (
                Budget {
                    per_month: Some(10),
                    submitted_this_month: 10,
                    per_day: Some(3),
                    submitted_today: 3,
                    ..read.clone()
                },
                Err((ParkCause::MonthlyBudget, feb)),
            ),
            (
                Budget {
                    per_day: Some(3),
                    submitted_today: 2,
                    ..read
                },
                Ok(()),
            ),
        ];
        for (b, want) in table {
            assert_eq!(b.check(now), want, "{b:?}");
        }
    }

    #[test]
    fn state_names_are_distinct() {
        let states = [
            AccountState::PreCheck,
            AccountState::Blocked(vec![]),
            AccountState::Commit,
            AccountState::PrivacyWait { poll_at: 0 },
            AccountState::ReadyToSubmit,
            AccountState::Parked {
                cause: ParkCause::PlatformQuota,
                until: 0,
            },
            AccountState::Submitting { since: 0 },
            AccountState::UnderReview {
                auditid: 1,
                poll_at: 0,
            },
            AccountState::Rejected {
                auditid: 1,
                reason: String::new(),
                screenshots: vec![],
            },
            AccountState::Approved { auditid: 1 },
            AccountState::Releasing {
                auditid: 1,
                since: 0,
            },
            AccountState::Done { auditid: 1 },
            AccountState::Cancelled,
        ];
        let mut names: Vec<_> = states.iter().map(AccountState::name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), states.len());
    }
}
