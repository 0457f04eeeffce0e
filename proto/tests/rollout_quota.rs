//! The rollout machine over 200 accounts and a platform quota of 150 (pure, no network): 150
//! submitted, 50 parked naming the quota; after the Beijing month rolls over the rest proceed;
//! 10 rejections keep their reasons; approvals release automatically; one `submit_audit` per
//! account and one `release` per approval.

use wxopen_proto::rollout::{AccountRecord, AccountState, Budget, ParkCause, RolloutOptions};
use wxopen_proto::rollout_machine::{apply, decide, AuditReport, Outcome, Step};
use wxopen_proto::wxa::calendar::{month_key, next_month_start};
use wxopen_proto::wxa::AuditState;

const ACCOUNTS: usize = 200;
const QUOTA: u64 = 150;
const REJECTED: usize = 10;
/// 2027-01-10T00:00:00+08:00.
const T0: u64 = 1_798_761_600 - 8 * 3600 + 9 * 86_400;

struct Platform {
    month: u64,
    used: u64,
    submits: usize,
    releases: usize,
    /// Per account: its latest review (id, status).
    audits: Vec<Option<(u64, AuditState)>>,
}

impl Platform {
    fn roll(&mut self, now: u64) {
        if month_key(now) != self.month {
            self.month = month_key(now);
            self.used = 0;
        }
    }
}

/// Takes every step due at `now` for every account, once.
fn tick(now: u64, accounts: &mut [AccountRecord], budget: &mut Budget, wx: &mut Platform) {
    let o = RolloutOptions::new("2.0.0");
    wx.roll(now);
    for (i, record) in accounts.iter_mut().enumerate() {
        let d = decide(now, record, budget, &o);
        if let Some(s) = d.write_first {
            record.state = s;
        }
        let outcome = match d.step {
            Step::WaitUntil(_) | Step::Idle => continue,
            Step::RunPreCheck => Outcome::PreCheck(vec![]),
            Step::Commit => Outcome::Committed,
            Step::PollPrivacy => Outcome::PrivacyDone,
            Step::ReadQuota => {
                budget.quota_rest = Some(QUOTA - wx.used);
                budget.quota_read_at = now;
                continue;
            }
            Step::Submit => {
                wx.submits += 1;
                if wx.used >= QUOTA {
                    // 85085: the driver records it for every account, not just this one.
                    budget.quota_spent_until = Some(next_month_start(now));
                    Outcome::Failed {
                        errcode: Some(85085),
                        transient: false,
                    }
                } else {
                    wx.used += 1;
                    // The driver counts its own submissions against what it read.
                    budget.quota_rest = budget.quota_rest.map(|r| r.saturating_sub(1));
                    let id = 1000 + i as u64;
                    wx.audits[i] = Some((id, AuditState::InReview));
                    Outcome::Submitted { auditid: id }
                }
            }
            Step::PollAudit | Step::ReconcileSubmit => match wx.audits[i] {
                None => Outcome::NoAudit,
                Some((id, _)) => {
                    let status = if i < REJECTED {
                        AuditState::Rejected
                    } else {
                        AuditState::Approved
                    };
                    wx.audits[i] = Some((id, status));
                    let mut r = AuditReport::new(id, status);
                    if status == AuditState::Rejected {
                        r.reason = Some(format!("reason {i}"));
                        r.screenshots = vec![format!("shot{i}")];
                    }
                    Outcome::Audit(r)
                }
            },
            Step::Release => {
                wx.releases += 1;
                Outcome::Released
            }
            Step::ReconcileRelease => Outcome::Version {
                released: None,
                gray_running: false,
            },
            _ => continue,
        };
        *record = apply(now, record, &outcome, &o);
    }
}

fn count(accounts: &[AccountRecord], name: &str) -> usize {
    accounts.iter().filter(|a| a.state.name() == name).count()
}

#[test]
fn two_hundred_accounts_share_a_quota_of_150() {
    let mut accounts = vec![AccountRecord::new(); ACCOUNTS];
    let mut budget = Budget::default();
    let mut wx = Platform {
        month: month_key(T0),
        used: 0,
        submits: 0,
        releases: 0,
        audits: vec![None; ACCOUNTS],
    };
    // Two days of ticks every 15 minutes: everything the quota allows happens.
    let mut now = T0;
    for _ in 0..(2 * 96) {
        tick(now, &mut accounts, &mut budget, &mut wx);
        now += 900;
    }
    let feb = next_month_start(T0);
    assert_eq!(wx.used, QUOTA);
    assert_eq!(count(&accounts, "parked"), ACCOUNTS - QUOTA as usize);
    for a in accounts.iter().filter(|a| a.state.name() == "parked") {
        assert_eq!(
            a.state,
            AccountState::Parked {
                cause: ParkCause::PlatformQuota,
                until: feb
            }
        );
    }
    // The quota read told the rollout when to stop: no submission was wasted on 85085.
    assert_eq!(wx.submits, QUOTA as usize);

    // The month rolls over: the parked accounts proceed.
    now = feb;
    for _ in 0..(2 * 96) {
        tick(now, &mut accounts, &mut budget, &mut wx);
        now += 900;
    }
    assert_eq!(count(&accounts, "done"), ACCOUNTS - REJECTED);
    assert_eq!(count(&accounts, "rejected"), REJECTED);
    for (i, a) in accounts.iter().enumerate().take(REJECTED) {
        assert_eq!(
            a.state,
            AccountState::Rejected {
                auditid: 1000 + i as u64,
                reason: format!("reason {i}"),
                screenshots: vec![format!("shot{i}")],
            }
        );
    }
    assert!(accounts.iter().all(|a| a.submissions == 1));
    assert_eq!(wx.submits, ACCOUNTS, "one submit_audit per account");
    assert_eq!(wx.releases, ACCOUNTS - REJECTED, "one release per approval");
}

#[test]
fn an_85085_parks_every_remaining_account_with_one_call() {
    let mut accounts = vec![AccountRecord::new(); ACCOUNTS];
    // The rollout read 150 left, but other work spent 40 of them since.
    let mut budget = Budget::default();
    budget.quota_rest = Some(QUOTA);
    budget.quota_read_at = T0;
    let mut wx = Platform {
        month: month_key(T0),
        used: 40,
        submits: 0,
        releases: 0,
        audits: vec![None; ACCOUNTS],
    };
    let mut now = T0;
    for _ in 0..96 {
        tick(now, &mut accounts, &mut budget, &mut wx);
        now += 900;
    }
    assert_eq!(wx.used, QUOTA);
    // 110 accepted, one 85085, and the other 89 parked without calling.
    assert_eq!(wx.submits, 111);
    assert_eq!(count(&accounts, "parked"), 90);
    assert!(accounts.iter().all(|a| a.state.name() != "submitting"));
}
