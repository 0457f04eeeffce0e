//! Mini-program code management (issue 25): every typed call of `wxopen-client` against the
//! fake's mini programs, and every errcode the fake models — commit, privacy detection (61039),
//! review (85009, 85085 and the monthly reset, 85086), the reviewer's events, release rules
//! (85019, 85020, 85052, 44002), undo limits (87012), templates (85064, 85065), domains,
//! privacy settings (`\u` escapes), testers, and 61007 naming permission set 18.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use serde_json::json;
use wxopen_client::wxa::{
    AuditItem, AuditState, DomainAction, ExtJson, OwnerSetting, PrivacyItem, ServerDomains,
    SetPrivacySettingRequest, SubmitAuditRequest, UnbindTesterRequest, VisitStatus, WxaApi,
    WxaErrcode,
};
use wxopen_client::wxopen_proto::wxa_event::WxaEvent;
use wxopen_client::{ComponentClient, Error, ErrorClass};
use wxopen_fake::{
    wxa_endpoint, AuditVerdict, Endpoint, FakeWeChat, Fault, FaultRule, WxaSettings,
};

/// 2026-12-08T00:00:00Z.
const T0: u64 = 1_796_688_000;
const MP: &str = "wx0fa00000000000a1";
const MP2: &str = "wx0fa00000000000a2";
const MP3: &str = "wx0fa00000000000a3";

struct Env {
    fake: FakeWeChat,
    client: ComponentClient,
}

async fn env(accounts: &[&str]) -> Env {
    let (fake, client) = common::mini_program_platform(T0).await;
    common::authorize_mini_programs(&fake, &client, accounts).await;
    Env { fake, client }
}

fn item() -> AuditItem {
    AuditItem {
        address: Some("pages/index/index".into()),
        first_class: "工具".into(),
        second_class: "预约".into(),
        first_id: 287,
        second_id: 612,
        ..AuditItem::default()
    }
}

fn ext(appid: &str) -> ExtJson {
    let mut e = ExtJson {
        ext_appid: Some(appid.into()),
        ..ExtJson::default()
    };
    e.ext.insert("shop".into(), json!("七号店"));
    e
}

fn code(e: &Error) -> Option<i64> {
    e.code()
}

impl Env {
    /// Commit and wait out the privacy detection.
    async fn committed(&self, appid: &str, template_id: u64) {
        self.client
            .commit_code(appid, template_id, &ext(appid), "1.0.0", "first")
            .await
            .unwrap();
        self.fake.advance(Duration::from_secs(61));
    }

    async fn submit(&self, appid: &str) -> Result<u64, Error> {
        let r = SubmitAuditRequest::new(vec![item()]).unwrap();
        self.client.submit_audit(appid, &r).await
    }

    /// POSTs `body` raw to a mini-program path with the account's token (what a client that
    /// gets the contract wrong sends).
    async fn raw_post(&self, appid: &str, api: WxaApi, body: &'static [u8]) -> serde_json::Value {
        let token = self.fake.authorizer_access_token(appid).unwrap();
        let url = format!(
            "{}{}?access_token={token}",
            self.fake.primary_url(),
            api.path()
        );
        let r = reqwest::Client::builder()
            .no_proxy()
            .build()
            .unwrap()
            .post(url)
            .body(body)
            .send()
            .await
            .unwrap();
        r.json().await.unwrap()
    }
}

#[tokio::test]
async fn commit_review_release_with_the_audit_events() {
    let e = env(&[MP]).await;
    let tid = e.fake.add_template("1.0.0");
    // Nothing committed yet: 85086 for pages and for a review.
    let err = e.client.code_pages(MP).await.unwrap_err();
    assert_eq!(err.wxa_code(), Some(WxaErrcode::NotCommitted));
    assert_eq!(code(&e.submit(MP).await.unwrap_err()), Some(85086));

    e.client
        .commit_code(MP, tid, &ext(MP), "1.0.0", "first")
        .await
        .unwrap();
    // ext_json reached WeChat as a JSON string holding the typed value.
    let view = e.fake.wxa_code(MP);
    assert_eq!(view.committed, Some((tid, "1.0.0".into())));
    let sent: serde_json::Value = serde_json::from_str(&view.ext_json.unwrap()).unwrap();
    assert_eq!(sent, json!({"extAppid": MP, "ext": {"shop": "七号店"}}));
    assert_eq!(
        e.client.code_pages(MP).await.unwrap().page_list,
        ["pages/index/index", "pages/order/order"]
    );
    assert_eq!(
        e.client.code_categories(MP).await.unwrap().category_list[0].second_id,
        612
    );

    // The privacy detection runs: 61039 from both calls, with a one-minute retry hint.
    let err = e.client.code_privacy_info(MP).await.unwrap_err();
    assert_eq!(err.class(), Some(ErrorClass::Pending));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(60)));
    let err = e.submit(MP).await.unwrap_err();
    assert_eq!(err.wxa_code(), Some(WxaErrcode::PrivacyCheckRunning));
    e.fake.advance(Duration::from_secs(60));
    let privacy = e.client.code_privacy_info(MP).await.unwrap();
    assert!(privacy.without_auth_list.is_empty());

    let auditid = e.submit(MP).await.unwrap();
    assert_eq!(e.fake.audit_quota_used(), 1);
    let latest = e.client.latest_audit_status(MP).await.unwrap();
    assert_eq!(
        (latest.auditid, latest.status),
        (Some(auditid), AuditState::InReview)
    );
    assert_eq!(
        e.client.audit_status(MP, auditid).await.unwrap().status,
        AuditState::InReview
    );
    // A second submission while the review runs: 85009, no quota spent.
    let err = e.submit(MP).await.unwrap_err();
    assert_eq!(err.class(), Some(ErrorClass::WrongState));
    assert_eq!(err.wxa_code(), Some(WxaErrcode::AuditRunning));
    assert_eq!(e.fake.audit_quota_used(), 1);
    // Release before approval: 85020.
    let err = e.client.release_code(MP).await.unwrap_err();
    assert_eq!(err.wxa_code(), Some(WxaErrcode::ReleaseNotAllowed));

    // The reviewer delays, then approves; each decision is an event for the message URL.
    let push = e
        .fake
        .review(
            MP,
            AuditVerdict::Delay {
                reason: "排队".into(),
            },
        )
        .unwrap();
    let msg = e
        .client
        .decrypt_authorizer_message(&push.client_query().unwrap(), push.body.as_bytes())
        .unwrap();
    assert!(matches!(
        WxaEvent::from_message(&msg),
        Some(WxaEvent::AuditDelay { reason, .. }) if reason == "排队"
    ));
    let push = e.fake.review(MP, AuditVerdict::Approve).unwrap();
    let msg = e
        .client
        .decrypt_authorizer_message(&push.client_query().unwrap(), push.body.as_bytes())
        .unwrap();
    assert!(matches!(
        WxaEvent::from_message(&msg),
        Some(WxaEvent::AuditSuccess { succ_time: Some(t) }) if t == e.fake.now_unix()
    ));
    assert_eq!(
        e.client.latest_audit_status(MP).await.unwrap().status,
        AuditState::Approved
    );

    // Release (body `{}`), then 85052 for the same version; getversioninfo shows both.
    e.client.release_code(MP).await.unwrap();
    let err = e.client.release_code(MP).await.unwrap_err();
    assert_eq!(err.wxa_code(), Some(WxaErrcode::AlreadyReleased));
    let v = e.client.version_info(MP).await.unwrap();
    assert_eq!(v.exp_info.unwrap().exp_version, "1.0.0");
    assert_eq!(v.release_info.unwrap().release_version, "1.0.0");
    assert_eq!(e.fake.wxa_code(MP).released.as_deref(), Some("1.0.0"));
    // Exactly one successful submit_audit and one successful release.
    assert_eq!(e.fake.wxa_successes(WxaApi::SubmitAudit), 1);
    assert_eq!(e.fake.wxa_calls(WxaApi::SubmitAudit), 4);
    assert_eq!(e.fake.wxa_successes(WxaApi::Release), 1);
    assert_eq!(e.fake.wxa_calls(WxaApi::Release), 3);
}

#[tokio::test]
async fn rejection_keeps_reason_and_screenshots_and_undo_is_limited() {
    let e = env(&[MP]).await;
    let tid = e.fake.add_template("1.0.0");
    e.committed(MP, tid).await;
    // Nothing to undo yet: 85058; no review: 85058 for the latest status, 85012 for an id.
    assert_eq!(
        code(&e.client.undo_code_audit(MP).await.unwrap_err()),
        Some(85058)
    );
    let err = e.client.latest_audit_status(MP).await.unwrap_err();
    assert_eq!(err.wxa_code(), Some(WxaErrcode::NoAudit));
    let err = e.client.audit_status(MP, 424_242).await.unwrap_err();
    assert_eq!(err.class(), Some(ErrorClass::NotFound));

    e.submit(MP).await.unwrap();
    let push = e
        .fake
        .review(
            MP,
            AuditVerdict::Reject {
                reason: "类目不符".into(),
                screenshots: vec!["m1".into(), "m2".into()],
            },
        )
        .unwrap();
    let msg = e
        .client
        .decrypt_authorizer_message(&push.client_query().unwrap(), push.body.as_bytes())
        .unwrap();
    match WxaEvent::from_message(&msg) {
        Some(WxaEvent::AuditFail {
            reason,
            screenshots,
            ..
        }) => {
            assert_eq!(reason, "类目不符");
            assert_eq!(screenshots, ["m1", "m2"]);
        }
        other => panic!("{other:?}"),
    }
    let latest = e.client.latest_audit_status(MP).await.unwrap();
    assert_eq!(latest.status, AuditState::Rejected);
    assert_eq!(latest.reason.as_deref(), Some("类目不符"));
    assert_eq!(latest.screenshot.as_deref(), Some("m1|m2"));
    // Undo after a rejection: 87012; release: 85020; a new submission is allowed.
    let err = e.client.undo_code_audit(MP).await.unwrap_err();
    assert_eq!(err.wxa_code(), Some(WxaErrcode::AuditAlreadyRejected));
    assert_eq!(
        code(&e.client.release_code(MP).await.unwrap_err()),
        Some(85020)
    );

    // Five undos a day; the sixth is refused (87013).
    for _ in 0..5 {
        e.submit(MP).await.unwrap();
        e.client.undo_code_audit(MP).await.unwrap();
        assert_eq!(
            e.client.latest_audit_status(MP).await.unwrap().status,
            AuditState::Withdrawn
        );
    }
    e.submit(MP).await.unwrap();
    let err = e.client.undo_code_audit(MP).await.unwrap_err();
    assert_eq!(err.wxa_code(), Some(WxaErrcode::UndoQuotaSpent));
    assert!(err.is_quota(), "{err}");
    // Speed-up of the running review spends the speed-up quota.
    let id = e
        .client
        .latest_audit_status(MP)
        .await
        .unwrap()
        .auditid
        .unwrap();
    e.client.speedup_audit(MP, id).await.unwrap();
    let q = e.client.audit_quota(MP).await.unwrap();
    assert_eq!((q.speedup_rest, q.speedup_limit), (4, 5));
}

#[tokio::test]
async fn the_monthly_quota_is_shared_and_resets_with_the_month() {
    let e = env(&[MP, MP2, MP3]).await;
    e.fake
        .set_wxa_settings(WxaSettings::default().audit_quota(2));
    let tid = e.fake.add_template("1.0.0");
    for a in [MP, MP2, MP3] {
        e.committed(a, tid).await;
    }
    e.submit(MP).await.unwrap();
    e.submit(MP2).await.unwrap();
    let q = e.client.audit_quota(MP3).await.unwrap();
    assert_eq!((q.rest, q.limit), (0, 2));
    let err = e.submit(MP3).await.unwrap_err();
    assert!(err.is_quota(), "{err}");
    assert_eq!(err.wxa_code(), Some(WxaErrcode::AuditQuotaSpent));
    assert!(err.to_string().contains("monthly"), "{err}");
    // 2027-01-01 in Beijing: the quota is back.
    let next_month = 1_798_761_600 - 8 * 3600;
    e.fake
        .advance(Duration::from_secs(next_month - e.fake.now_unix()));
    // (Weeks later: WeChat has pushed fresh tickets meanwhile.)
    e.fake
        .push_ticket()
        .unwrap()
        .deliver_to(&e.client)
        .await
        .unwrap();
    assert_eq!(e.client.audit_quota(MP3).await.unwrap().rest, 2);
    e.submit(MP3).await.unwrap();
    assert_eq!(e.fake.audit_quota_used(), 1);
}

#[tokio::test]
async fn release_needs_a_body_and_ext_json_must_be_a_string() {
    let e = env(&[MP]).await;
    let tid = e.fake.add_template("1.0.0");
    // Nothing approved yet: 85019 (through the client, which sends `{}`).
    let err = e.client.release_code(MP).await.unwrap_err();
    assert_eq!(err.wxa_code(), Some(WxaErrcode::NothingApproved));
    // A release without a body: 44002, the error peers keep hitting.
    let v = e.raw_post(MP, WxaApi::Release, b"").await;
    assert_eq!(v["errcode"], json!(44002));
    let typed = Error::from_api("/wxa/release", 44002, "empty post data");
    assert!(
        typed.is_config() && typed.to_string().contains("{}"),
        "{typed}"
    );
    // ext_json as an object instead of a string: refused.
    let body = format!(
        r#"{{"template_id":{tid},"ext_json":{{"extAppid":"{MP}"}},"user_version":"1","user_desc":"d"}}"#
    );
    let v = e
        .raw_post(
            MP,
            WxaApi::Commit,
            Box::leak(body.into_bytes().into_boxed_slice()),
        )
        .await;
    assert_eq!(v["errcode"], json!(47001));
    // Unknown template: 85014.
    let err = e
        .client
        .commit_code(MP, 999_999, &ext(MP), "1", "d")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(85014));
    // item_list is validated before anything is sent.
    let before = e.fake.wxa_calls(WxaApi::SubmitAudit);
    let six = SubmitAuditRequest {
        item_list: vec![item(); 6],
        ..SubmitAuditRequest::default()
    };
    assert!(matches!(
        e.client.submit_audit(MP, &six).await,
        Err(Error::InvalidInput {
            what: "item_list",
            ..
        })
    ));
    assert_eq!(e.fake.wxa_calls(WxaApi::SubmitAudit), before);
}

#[tokio::test]
async fn gray_release_rollback_and_visit_status() {
    let e = env(&[MP]).await;
    let t1 = e.fake.add_template("1.0.0");
    let t2 = e.fake.add_template("2.0.0");
    e.committed(MP, t1).await;
    e.submit(MP).await.unwrap();
    e.fake.review(MP, AuditVerdict::Approve).unwrap();
    e.client.release_code(MP).await.unwrap();
    e.client
        .commit_code(MP, t2, &ext(MP), "2.0.0", "second")
        .await
        .unwrap();
    e.fake.advance(Duration::from_secs(61));
    e.submit(MP).await.unwrap();
    e.fake.review(MP, AuditVerdict::Approve).unwrap();
    assert!(e.client.gray_release(MP, 0).await.is_err());
    e.client.gray_release(MP, 30).await.unwrap();
    let plan = e.client.gray_release_plan(MP).await.unwrap();
    assert_eq!(
        (
            plan.gray_release_plan.status,
            plan.gray_release_plan.gray_percentage
        ),
        (1, 30)
    );
    e.client.revert_gray_release(MP).await.unwrap();
    assert_eq!(e.fake.wxa_code(MP).gray, None);
    e.client.release_code(MP).await.unwrap();
    assert_eq!(e.fake.wxa_code(MP).released.as_deref(), Some("2.0.0"));
    e.client.revert_code_release(MP).await.unwrap();
    assert_eq!(e.fake.wxa_code(MP).released.as_deref(), Some("1.0.0"));
    assert_eq!(
        code(&e.client.revert_code_release(MP).await.unwrap_err()),
        Some(87011)
    );
    e.client
        .change_visit_status(MP, VisitStatus::Close)
        .await
        .unwrap();
}

#[tokio::test]
async fn templates_with_the_component_token() {
    let e = env(&[]).await;
    e.fake
        .set_wxa_settings(WxaSettings::default().template_library_limit(1));
    let d1 = e.fake.add_template_draft("1.0.0", "one");
    let d2 = e.fake.add_template_draft("1.1.0", "two");
    let drafts = e.client.template_drafts().await.unwrap();
    assert_eq!(drafts.draft_list.len(), 2);
    assert_eq!(drafts.draft_list[1].user_desc, "two");
    e.client.add_to_template(d1, 0).await.unwrap();
    let err = e.client.add_to_template(d2, 0).await.unwrap_err();
    assert_eq!(err.wxa_code(), Some(WxaErrcode::TemplateLibraryFull));
    assert!(err.is_quota());
    let list = e.client.templates().await.unwrap();
    assert_eq!(list.template_list.len(), 1);
    let tid = list.template_list[0].template_id;
    assert_eq!(list.template_list[0].draft_id, d1);
    e.client.delete_template(tid).await.unwrap();
    let err = e.client.delete_template(tid).await.unwrap_err();
    assert_eq!(err.wxa_code(), Some(WxaErrcode::TemplateNotFound));
    assert!(e.client.templates().await.unwrap().template_list.is_empty());
}

#[tokio::test]
async fn domains_go_through_the_platform_list() {
    let e = env(&[MP]).await;
    let domains = ServerDomains {
        requestdomain: vec!["https://api.shop.example".into()],
        ..ServerDomains::default()
    };
    // Not on the platform's list yet: refused (85017).
    let err = e
        .client
        .modify_domain(MP, DomainAction::Add, &domains)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(85017));
    let list = e
        .client
        .modify_platform_server_domain(DomainAction::Add, &["api.shop.example"], true)
        .await
        .unwrap();
    assert_eq!(list.published_wxa_server_domain, "api.shop.example");
    let set = e
        .client
        .modify_domain(MP, DomainAction::Add, &domains)
        .await
        .unwrap();
    assert_eq!(set.domains.requestdomain, ["https://api.shop.example"]);
    let direct = ServerDomains {
        downloaddomain: vec!["https://cdn.other.example".into()],
        ..ServerDomains::default()
    };
    e.client
        .modify_domain_directly(MP, DomainAction::Add, &direct)
        .await
        .unwrap();
    let eff = e.client.effective_domains(MP).await.unwrap();
    assert_eq!(
        eff.effective_domain["downloaddomain"],
        json!(["https://cdn.other.example"])
    );
    // An IP address is refused before anything is sent.
    let ip = ServerDomains {
        requestdomain: vec!["https://10.0.0.1".into()],
        ..ServerDomains::default()
    };
    assert!(matches!(
        e.client.modify_domain(MP, DomainAction::Add, &ip).await,
        Err(Error::InvalidInput { .. })
    ));
    // Web-view domains come from the platform's jump list.
    assert_eq!(
        e.client
            .set_webview_domain(MP, DomainAction::Add, &["https://h5.shop.example".into()])
            .await
            .unwrap_err()
            .code(),
        Some(89021)
    );
    e.client
        .modify_platform_jump_domain(DomainAction::Add, &["h5.shop.example"], false)
        .await
        .unwrap();
    e.client
        .set_webview_domain(MP, DomainAction::Add, &["https://h5.shop.example".into()])
        .await
        .unwrap();
    let file = e.client.domain_confirm_file().await.unwrap();
    assert!(!file.file_name.is_empty());
}

#[tokio::test]
async fn privacy_settings_are_sent_with_unicode_escapes() {
    let e = env(&[MP]).await;
    let setting = SetPrivacySettingRequest {
        privacy_ver: Some(2),
        owner_setting: OwnerSetting {
            contact_email: Some("dpo@shop.example".into()),
            notice_method: "弹窗提示".into(),
            ..OwnerSetting::default()
        },
        setting_list: vec![PrivacyItem {
            privacy_key: "Location".into(),
            privacy_text: "门店导航".into(),
        }],
        ..SetPrivacySettingRequest::default()
    };
    // The fake refuses raw non-ASCII, as the doc asks for escapes; the client's call passes.
    e.client.set_privacy_setting(MP, &setting).await.unwrap();
    let got = e.client.privacy_setting(MP, Some(2)).await.unwrap();
    assert_eq!(got.owner_setting["notice_method"], json!("弹窗提示"));
    assert_eq!(got.setting_list[0]["privacy_text"], json!("门店导航"));
    let raw = r#"{"privacy_ver":2,"owner_setting":{"notice_method":"弹窗"}}"#;
    let v = e
        .raw_post(MP, WxaApi::SetPrivacySetting, raw.as_bytes())
        .await;
    assert_eq!(v["errcode"], json!(47001));
}

#[tokio::test]
async fn testers_bind_list_unbind() {
    let e = env(&[MP]).await;
    let u = e.client.bind_tester(MP, "tester_one").await.unwrap();
    assert_eq!(
        code(&e.client.bind_tester(MP, "tester_one").await.unwrap_err()),
        Some(85004)
    );
    let m = e.client.testers(MP).await.unwrap();
    assert_eq!(m.members.len(), 1);
    assert_eq!(m.members[0].userstr, u);
    e.client
        .unbind_tester(MP, &UnbindTesterRequest::Userstr(u))
        .await
        .unwrap();
    assert!(e.client.testers(MP).await.unwrap().members.is_empty());
}

#[tokio::test]
async fn permission_set_18_missing_is_named() {
    let e = env(&[MP]).await;
    let tid = e.fake.add_template("1.0.0");
    e.fake.deny_mini_program_permission(MP);
    let err = e
        .client
        .commit_code(MP, tid, &ext(MP), "1", "d")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(61007));
    assert!(err.is_permission_denied());
    assert_eq!(err.missing_permission_set(), Some(18));
    assert!(err.to_string().contains("permission set 18"), "{err}");
    assert_eq!(e.fake.wxa_code(MP).committed, None);
}

#[tokio::test]
async fn token_errors_refresh_once_and_single_use_steps_are_never_resent() {
    let e = env(&[MP]).await;
    let tid = e.fake.add_template("1.0.0");
    // A rejected authorizer token: expired by compare-and-expire, refreshed once, the commit
    // sent once more.
    let refreshes = e.fake.calls(Endpoint::AuthorizerToken);
    e.fake
        .inject(FaultRule::new(Fault::Errcode(40001)).on(wxa_endpoint(WxaApi::Commit)));
    e.committed(MP, tid).await;
    assert_eq!(e.fake.calls(Endpoint::AuthorizerToken), refreshes + 1);
    assert_eq!(e.fake.wxa_calls(WxaApi::Commit), 2);
    assert_eq!(e.fake.wxa_successes(WxaApi::Commit), 1);

    // submit_audit whose connection drops after it was sent: reported, never sent again
    // (WeChat may have taken it).
    e.fake
        .inject(FaultRule::new(Fault::Drop).on(wxa_endpoint(WxaApi::SubmitAudit)));
    let err = e.submit(MP).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert_eq!(e.fake.wxa_calls(WxaApi::SubmitAudit), 1);
    // release likewise.
    e.fake
        .inject(FaultRule::new(Fault::Drop).on(wxa_endpoint(WxaApi::Release)));
    assert!(e.client.release_code(MP).await.is_err());
    assert_eq!(e.fake.wxa_calls(WxaApi::Release), 1);
    // A read is repeated: get_latest_auditstatus answers after one drop.
    e.submit(MP).await.unwrap();
    e.fake
        .inject(FaultRule::new(Fault::Drop).on(wxa_endpoint(WxaApi::GetLatestAuditStatus)));
    let latest = e.client.latest_audit_status(MP).await.unwrap();
    assert_eq!(latest.status, AuditState::InReview);
    assert_eq!(e.fake.wxa_calls(WxaApi::GetLatestAuditStatus), 2);
}
