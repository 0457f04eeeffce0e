//! The pure rollout machine (`wxopen_proto::rollout_machine`) executed step by step with the
//! real client against the fake's mini programs, by a minimal in-test driver (not the service's
//! driver, which does not exist yet): the pre-check blocks before any commit; a lost review
//! event is made up for by the status poll and a late event then changes nothing; a submission
//! whose answer was lost is reconciled instead of sent again; 85085 parks.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use wxopen_client::wxa::{
    AuditItem, AuditState, DomainAction, ExtJson, ServerDomains, SubmitAuditRequest, WxaApi,
};
use wxopen_client::wxopen_proto::rollout::{
    precheck, AccountFacts, AccountRecord, AccountState, Blocker, Budget, ParkCause, Requirements,
    RolloutOptions,
};
use wxopen_client::wxopen_proto::rollout_machine::{
    apply, decide, AuditEvent, AuditReport, Outcome, Step,
};
use wxopen_client::{ComponentClient, Error};
use wxopen_fake::{wxa_endpoint, AuditVerdict, FakeWeChat, Fault, FaultRule, WxaSettings};

const T0: u64 = 1_796_688_000;
const DOMAIN: &str = "https://api.shop.example";

struct Env {
    fake: FakeWeChat,
    client: ComponentClient,
    template_id: u64,
    options: RolloutOptions,
    needs: Requirements,
}

async fn env(accounts: &[&str]) -> Env {
    let (fake, client) = common::mini_program_platform(T0).await;
    client
        .modify_platform_server_domain(DomainAction::Add, &["api.shop.example"], true)
        .await
        .unwrap();
    common::authorize_mini_programs(&fake, &client, accounts).await;
    let template_id = fake.add_template("2.0.0");
    Env {
        fake,
        client,
        template_id,
        options: RolloutOptions::new("2.0.0"),
        needs: {
            let mut n = Requirements::default();
            n.permission_sets = vec![18];
            n.categories = vec![(287, 612)];
            n.domains = vec![("requestdomain".into(), DOMAIN.into())];
            n
        },
    }
}

fn failed(e: &Error) -> Outcome {
    Outcome::Failed {
        errcode: e.code(),
        transient: e.is_retryable(),
    }
}

fn audit_outcome(r: Result<wxopen_client::wxa::AuditStatus, Error>) -> Outcome {
    match r {
        Ok(s) => {
            let mut rep = AuditReport::new(s.auditid.unwrap_or_default(), s.status);
            rep.user_version = s.user_version;
            rep.reason = s.reason;
            rep.screenshots = s
                .screenshot
                .map(|x| x.split('|').map(str::to_owned).collect())
                .unwrap_or_default();
            Outcome::Audit(rep)
        }
        Err(e) if e.code() == Some(85058) => Outcome::NoAudit,
        Err(e) => failed(&e),
    }
}

impl Env {
    async fn facts(&self, appid: &str) -> AccountFacts {
        let info = self.client.authorizer_info(appid).await.unwrap();
        let mut f = AccountFacts::default();
        f.permission_sets = info
            .authorization_info
            .func_info
            .iter()
            .filter_map(|x| u32::try_from(x.funcscope_category.id).ok())
            .collect();
        if f.permission_sets.contains(&18) {
            let cats = self.client.code_categories(appid).await.unwrap();
            f.categories = cats
                .category_list
                .iter()
                .map(|c| (c.first_id, c.second_id))
                .collect();
            let eff = self.client.effective_domains(appid).await.unwrap();
            f.domains = eff.effective_domain["requestdomain"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|d| d.as_str())
                .map(|d| ("requestdomain".to_owned(), d.to_owned()))
                .collect();
        }
        f
    }

    /// One step of the in-test driver; returns the step taken. `lose_answer` drops the
    /// answer of a call (the record is not updated, as after a crash).
    async fn step(
        &self,
        appid: &str,
        record: &mut AccountRecord,
        budget: &mut Budget,
        lose_answer: bool,
    ) -> Step {
        let now = self.fake.now_unix();
        let d = decide(now, record, budget, &self.options);
        if let Some(s) = d.write_first {
            record.state = s;
        }
        let outcome = match d.step {
            Step::WaitUntil(_) | Step::Idle => return d.step,
            Step::RunPreCheck => Outcome::PreCheck(precheck(&self.facts(appid).await, &self.needs)),
            Step::Commit => {
                let ext = ExtJson {
                    ext_appid: Some(appid.to_owned()),
                    ..ExtJson::default()
                };
                match self
                    .client
                    .commit_code(appid, self.template_id, &ext, "2.0.0", "rollout")
                    .await
                {
                    Ok(()) => Outcome::Committed,
                    Err(e) => failed(&e),
                }
            }
            Step::PollPrivacy => match self.client.code_privacy_info(appid).await {
                Ok(_) => Outcome::PrivacyDone,
                Err(e) => failed(&e),
            },
            Step::ReadQuota => {
                let q = self.client.audit_quota(appid).await.unwrap();
                budget.quota_rest = Some(q.rest);
                budget.quota_read_at = now;
                return d.step;
            }
            Step::Submit => {
                let item = AuditItem {
                    first_class: "工具".into(),
                    second_class: "预约".into(),
                    first_id: 287,
                    second_id: 612,
                    ..AuditItem::default()
                };
                let req = SubmitAuditRequest::new(vec![item]).unwrap();
                match self.client.submit_audit(appid, &req).await {
                    Ok(auditid) => {
                        budget.quota_rest = budget.quota_rest.map(|r| r.saturating_sub(1));
                        Outcome::Submitted { auditid }
                    }
                    Err(e) => {
                        if e.code() == Some(85085) {
                            budget.quota_spent_until =
                                Some(wxopen_client::wxa::calendar::next_month_start(now));
                        }
                        failed(&e)
                    }
                }
            }
            Step::PollAudit | Step::ReconcileSubmit => {
                audit_outcome(self.client.latest_audit_status(appid).await)
            }
            Step::Release => match self.client.release_code(appid).await {
                Ok(()) => Outcome::Released,
                Err(e) => failed(&e),
            },
            Step::ReconcileRelease => {
                let v = self.client.version_info(appid).await.unwrap();
                Outcome::Version {
                    released: v.release_info.map(|r| r.release_version),
                    gray_running: false,
                }
            }
            _ => return d.step,
        };
        if !lose_answer {
            *record = apply(now, record, &outcome, &self.options);
        }
        d.step
    }

    /// Steps until the account waits, idles or is settled.
    async fn run(&self, appid: &str, record: &mut AccountRecord, budget: &mut Budget) {
        for _ in 0..20 {
            match self.step(appid, record, budget, false).await {
                Step::WaitUntil(_) | Step::Idle => return,
                _ => {}
            }
        }
        panic!("no progress: {record:?}");
    }

    async fn add_domain(&self, appid: &str) {
        let d = ServerDomains {
            requestdomain: vec![DOMAIN.into()],
            ..ServerDomains::default()
        };
        self.client
            .modify_domain(appid, DomainAction::Add, &d)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn precheck_blocks_before_any_commit_with_the_reason() {
    let (no18, nodomain) = ("wx0fa00000000000b1", "wx0fa00000000000b2");
    let e = env(&[no18, nodomain]).await;
    e.fake.deny_mini_program_permission(no18);
    let mut budget = Budget::default();
    for (appid, want) in [
        (no18, vec![Blocker::MissingPermissionSet(18)]),
        (
            nodomain,
            vec![Blocker::MissingDomain {
                kind: "requestdomain".into(),
                domain: DOMAIN.into(),
            }],
        ),
    ] {
        let mut r = AccountRecord::new();
        e.run(appid, &mut r, &mut budget).await;
        assert_eq!(r.state, AccountState::Blocked(want), "{appid}");
    }
    assert_eq!(
        e.fake.wxa_calls(WxaApi::Commit),
        0,
        "blocked before any commit"
    );
    // Fixed and retried: the account proceeds to commit.
    e.add_domain(nodomain).await;
    let mut r = AccountRecord::new();
    r.state = AccountState::Blocked(vec![]);
    r = apply(e.fake.now_unix(), &r, &Outcome::Retry, &e.options);
    e.run(nodomain, &mut r, &mut budget).await;
    assert_eq!(r.state.name(), "privacy_wait");
    assert_eq!(e.fake.wxa_successes(WxaApi::Commit), 1);
}

#[tokio::test]
async fn lost_events_are_made_up_by_the_poll_and_a_late_event_changes_nothing() {
    let mp = "wx0fa00000000000b3";
    let e = env(&[mp]).await;
    e.add_domain(mp).await;
    let mut budget = Budget::default();
    let mut r = AccountRecord::new();
    e.run(mp, &mut r, &mut budget).await; // pre-check, commit → privacy wait
    e.fake.advance(Duration::from_secs(61)); // the detection ends
    e.run(mp, &mut r, &mut budget).await; // privacy done, quota read, submitted
    let auditid = match r.state {
        AccountState::UnderReview { auditid, .. } => auditid,
        ref other => panic!("{other:?}"),
    };
    // The approval's event is lost (the message URL was unreachable).
    let lost = e.fake.review(mp, AuditVerdict::Approve).unwrap();
    drop(lost);
    // Before the poll is due nothing happens; when it is, the poll advances and releases.
    assert!(matches!(
        e.step(mp, &mut r, &mut budget, false).await,
        Step::WaitUntil(_)
    ));
    e.fake
        .advance(Duration::from_secs(e.options.audit_poll_secs));
    e.run(mp, &mut r, &mut budget).await;
    assert_eq!(r.state, AccountState::Done { auditid });
    // The event arrives late: it changes nothing, nothing is released twice.
    let late = apply(
        e.fake.now_unix(),
        &r,
        &Outcome::Event(AuditEvent::Success),
        &e.options,
    );
    assert_eq!(late, r);
    assert_eq!(e.fake.wxa_calls(WxaApi::Release), 1);
    assert_eq!(e.fake.wxa_calls(WxaApi::SubmitAudit), 1);
}

#[tokio::test]
async fn a_lost_submit_answer_is_reconciled_not_resent() {
    let mp = "wx0fa00000000000b4";
    let e = env(&[mp]).await;
    e.add_domain(mp).await;
    let mut budget = Budget::default();
    let mut r = AccountRecord::new();
    e.run(mp, &mut r, &mut budget).await;
    e.fake.advance(Duration::from_secs(61));
    // Privacy done, quota read, then submit_audit — whose answer is lost (the process died
    // after WeChat took it).
    assert_eq!(
        e.step(mp, &mut r, &mut budget, false).await,
        Step::PollPrivacy
    );
    assert_eq!(
        e.step(mp, &mut r, &mut budget, false).await,
        Step::ReadQuota
    );
    assert_eq!(e.step(mp, &mut r, &mut budget, true).await, Step::Submit);
    assert_eq!(r.state.name(), "submitting");
    // The next step reconciles and adopts the review; submit_audit is not sent again.
    assert_eq!(
        e.step(mp, &mut r, &mut budget, false).await,
        Step::ReconcileSubmit
    );
    assert_eq!(r.state.name(), "under_review");
    assert_eq!(e.fake.wxa_calls(WxaApi::SubmitAudit), 1);
    // A connection dropped on the way: the reconcile finds no new review and submits once.
    let mp2 = "wx0fa00000000000b5";
    let e2 = env(&[mp2]).await;
    e2.add_domain(mp2).await;
    let (mut r2, mut b2) = (AccountRecord::new(), Budget::default());
    e2.run(mp2, &mut r2, &mut b2).await;
    e2.fake.advance(Duration::from_secs(61));
    e2.fake
        .inject(FaultRule::new(Fault::Drop).on(wxa_endpoint(WxaApi::SubmitAudit)));
    e2.run(mp2, &mut r2, &mut b2).await;
    assert_eq!(r2.state.name(), "under_review");
    assert_eq!(e2.fake.wxa_calls(WxaApi::SubmitAudit), 2);
    assert_eq!(e2.fake.wxa_successes(WxaApi::SubmitAudit), 1);
    assert_eq!(r2.submissions, 1);
    assert_eq!(
        e2.fake.wxa_code(mp2).audit.map(|a| a.1),
        Some(AuditState::InReview)
    );
}

#[tokio::test]
async fn the_platform_quota_parks_visibly() {
    let (a, b) = ("wx0fa00000000000b6", "wx0fa00000000000b7");
    let e = env(&[a, b]).await;
    e.fake
        .set_wxa_settings(WxaSettings::default().audit_quota(1));
    let mut budget = Budget::default();
    let mut records = [AccountRecord::new(), AccountRecord::new()];
    for (appid, r) in [a, b].iter().zip(records.iter_mut()) {
        e.add_domain(appid).await;
        e.run(appid, r, &mut budget).await;
    }
    e.fake.advance(Duration::from_secs(61));
    for (appid, r) in [a, b].iter().zip(records.iter_mut()) {
        e.run(appid, r, &mut budget).await;
    }
    assert_eq!(records[0].state.name(), "under_review");
    assert!(matches!(
        records[1].state,
        AccountState::Parked {
            cause: ParkCause::PlatformQuota,
            ..
        }
    ));
    // The quota read said 0 left: no submit_audit was spent on an 85085.
    assert_eq!(e.fake.wxa_calls(WxaApi::SubmitAudit), 1);
}
