//! The test's hand on the fake's mini programs: settings, templates, the reviewer (approve,
//! reject, delay — each returning the audit event WeChat pushes to the message URL), permission
//! withdrawal and per-call counters.

use wxopen_proto::wxa::{AuditState, WxaApi};

use crate::counters::Outcome;
use crate::error::FakeError;
use crate::fake::FakeWeChat;
use crate::push::Push;
use crate::wxa_settings::WxaSettings;

/// The sender of review events (WeChat's system account, as the message's `FromUserName`).
pub const AUDIT_EVENT_SENDER: &str = "o_wechat_audit_system";

/// What the fake's reviewer decides about a mini program's running review.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuditVerdict {
    /// Approved: `weapp_audit_success` (`SuccTime`).
    Approve,
    /// Rejected: `weapp_audit_fail` (`Reason`, `FailTime`, `ScreenShot` = ids joined by `|`).
    Reject {
        /// Why.
        reason: String,
        /// Screenshot media ids.
        screenshots: Vec<String>,
    },
    /// Delayed: `weapp_audit_delay` (`Reason`, `DelayTime`); the review stays open.
    Delay {
        /// Why.
        reason: String,
    },
}

/// A mini program's code as the fake sees it (for assertions).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WxaCodeView {
    /// The committed (experience) template id and `user_version`.
    pub committed: Option<(u64, String)>,
    /// The committed `ext_json` string as received.
    pub ext_json: Option<String>,
    /// The latest review: id and status.
    pub audit: Option<(u64, AuditState)>,
    /// The released `user_version`.
    pub released: Option<String>,
    /// The gray-release percentage.
    pub gray: Option<u8>,
}

impl FakeWeChat {
    /// Replaces the mini-program limits and timings (quota, privacy detection, …).
    pub fn set_wxa_settings(&self, settings: WxaSettings) {
        self.shared().lock().wxa.settings = settings;
    }

    /// Puts a template into the library (a draft made a template); returns its `template_id`.
    pub fn add_template(&self, user_version: &str) -> u64 {
        let now = self.now_unix();
        self.shared().lock().wxa.add_template(user_version, now)
    }

    /// Adds a draft (as uploaded from the developer tools); returns its `draft_id`.
    pub fn add_template_draft(&self, user_version: &str, user_desc: &str) -> u64 {
        let now = self.now_unix();
        self.shared()
            .lock()
            .wxa
            .add_draft(user_version, user_desc, now)
    }

    /// Makes every mini-program call of `authorizer_appid` answer 61007 and drops set 18 from
    /// its `func_info`, as if it had not granted permission set 18.
    pub fn deny_mini_program_permission(&self, authorizer_appid: &str) {
        let mut inner = self.shared().lock();
        inner.wxa.account(authorizer_appid).permission_denied = true;
        inner.platform.revoke_permission_set(authorizer_appid, 18);
    }

    /// The reviewer decides `authorizer_appid`'s running review and returns the event WeChat
    /// pushes to the message URL (deliver it, or drop it to simulate a lost event: the state
    /// has changed either way, as `get_latest_auditstatus` shows).
    pub fn review(&self, authorizer_appid: &str, verdict: AuditVerdict) -> Result<Push, FakeError> {
        let now = self.now_unix();
        {
            let mut inner = self.shared().lock();
            let acc = inner.wxa.account(authorizer_appid);
            let audit = acc
                .audits
                .last_mut()
                .filter(|a| matches!(a.status, AuditState::InReview | AuditState::Delayed))
                .ok_or_else(|| FakeError::NoRunningAudit(authorizer_appid.to_owned()))?;
            match &verdict {
                AuditVerdict::Approve => audit.status = AuditState::Approved,
                AuditVerdict::Reject {
                    reason,
                    screenshots,
                } => {
                    audit.status = AuditState::Rejected;
                    audit.reason = Some(reason.clone());
                    audit.screenshot = Some(screenshots.join("|"));
                }
                AuditVerdict::Delay { reason } => {
                    audit.status = AuditState::Delayed;
                    audit.reason = Some(reason.clone());
                }
            }
        }
        let now_s = now.to_string();
        match verdict {
            AuditVerdict::Approve => self.push_message_event(
                authorizer_appid,
                AUDIT_EVENT_SENDER,
                "weapp_audit_success",
                &[("SuccTime", &now_s)],
            ),
            AuditVerdict::Reject {
                reason,
                screenshots,
            } => self.push_message_event(
                authorizer_appid,
                AUDIT_EVENT_SENDER,
                "weapp_audit_fail",
                &[
                    ("Reason", &reason),
                    ("FailTime", &now_s),
                    ("ScreenShot", &screenshots.join("|")),
                ],
            ),
            AuditVerdict::Delay { reason } => self.push_message_event(
                authorizer_appid,
                AUDIT_EVENT_SENDER,
                "weapp_audit_delay",
                &[("Reason", &reason), ("DelayTime", &now_s)],
            ),
        }
    }

    /// `authorizer_appid`'s code as the fake sees it.
    pub fn wxa_code(&self, authorizer_appid: &str) -> WxaCodeView {
        let mut inner = self.shared().lock();
        let acc = inner.wxa.account(authorizer_appid);
        WxaCodeView {
            committed: acc
                .commit
                .as_ref()
                .map(|c| (c.template_id, c.user_version.clone())),
            ext_json: acc.commit.as_ref().map(|c| c.ext_json.clone()),
            audit: acc.current_audit().map(|a| (a.auditid, a.status)),
            released: acc.released.as_ref().map(|c| c.user_version.clone()),
            gray: acc.gray,
        }
    }

    /// Reviews submitted this month (the platform's quota used).
    pub fn audit_quota_used(&self) -> u64 {
        let now = self.now_unix();
        self.shared().lock().wxa.quota_used(now)
    }

    /// Calls received for `api`.
    pub fn wxa_calls(&self, api: WxaApi) -> usize {
        self.shared()
            .lock()
            .counters
            .count(|r| r.path == api.path())
    }

    /// Calls for `api` answered successfully.
    pub fn wxa_successes(&self, api: WxaApi) -> usize {
        self.shared()
            .lock()
            .counters
            .count(|r| r.path == api.path() && r.outcome == Outcome::Ok)
    }
}
