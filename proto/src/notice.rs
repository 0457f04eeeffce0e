//! Registration, verification and filing notices on the authorization-event URL
//! ([`PlatformNotice`], inside [`ComponentEvent::Notice`](crate::event::ComponentEvent::Notice)):
//! the documented `InfoType`s beyond tickets, authorizations and
//! `notify_third_fasteregister`, each kept with every field as sent, in document order (repeated
//! siblings too), and typed accessors for the fields peers document.
//!
//! The names and fields come from `api-contracts.md` §17 (WxJava `WxOpenXmlMessage`, Senparc
//! `RequestInfoType`); the official pages of these notices were not all found, so the fields
//! are read when present and never required: a notice with other fields is still a notice.

use std::fmt;

/// Which notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NoticeKind {
    /// `notify_third_fastregisterbetaapp`: a trial mini program was created (`info{unique_id, name}`).
    FastRegisterBetaApp,
    /// `notify_third_fastverifybetaapp`: a trial mini program's verification result.
    FastVerifyBetaApp,
    /// `notify_icpfiling_verify_result`: an ICP filing pre-check result (`task_id`,
    /// `verify_appid`, `result` 2 fail / 3 pass, `along_with_auth_result`).
    IcpFilingVerifyResult,
    /// `notify_apply_icpfiling_result`: an ICP filing result (`authorizer_appid`, `beian_status`).
    ApplyIcpFilingResult,
    /// `notify_3rd_wxa_auth`: a mini program verification task (`taskid`, `task_status`,
    /// `apply_status`, `message`, `dispatch_info`).
    WxaAuth,
    /// `notify_3rd_wxa_wxverify`: a WeChat verification expiry (`expired`, `message`).
    WxaWxverify,
    /// `notify_3rd_wxa_auth_and_icp`: verification and filing together (`procedure_id`,
    /// `procedure_status`).
    WxaAuthAndIcp,
}

impl NoticeKind {
    /// Every kind, with its `InfoType`.
    pub const ALL: [(NoticeKind, &'static str); 7] = [
        (
            NoticeKind::FastRegisterBetaApp,
            "notify_third_fastregisterbetaapp",
        ),
        (
            NoticeKind::FastVerifyBetaApp,
            "notify_third_fastverifybetaapp",
        ),
        (
            NoticeKind::IcpFilingVerifyResult,
            "notify_icpfiling_verify_result",
        ),
        (
            NoticeKind::ApplyIcpFilingResult,
            "notify_apply_icpfiling_result",
        ),
        (NoticeKind::WxaAuth, "notify_3rd_wxa_auth"),
        (NoticeKind::WxaWxverify, "notify_3rd_wxa_wxverify"),
        (NoticeKind::WxaAuthAndIcp, "notify_3rd_wxa_auth_and_icp"),
    ];

    /// The kind of an `InfoType`.
    pub fn from_info_type(s: &str) -> Option<Self> {
        Self::ALL.iter().find(|(_, n)| *n == s).map(|(k, _)| *k)
    }

    /// The `InfoType`.
    pub fn info_type(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(k, _)| *k == self)
            .map_or("", |(_, n)| n)
    }
}

/// Fields whose values `Debug` shows (ids and statuses); every other value is redacted (names,
/// messages and the `info` of a registration may identify people).
pub const NOTICE_PUBLIC_FIELDS: [&str; 14] = [
    "AppId",
    "CreateTime",
    "InfoType",
    "appid",
    "status",
    "task_id",
    "taskid",
    "verify_appid",
    "result",
    "authorizer_appid",
    "beian_status",
    "task_status",
    "apply_status",
    "procedure_status",
];

/// A notice: its kind, the component, WeChat's time and every field.
#[derive(Clone, PartialEq, Eq)]
pub struct PlatformNotice {
    /// Which notice.
    pub kind: NoticeKind,
    /// `AppId`: the component.
    pub app_id: String,
    /// `CreateTime` (Unix seconds; 0 when absent).
    pub create_time: u64,
    /// Every field as sent, in document order (nested ones as `info/name`).
    pub fields: Vec<(String, String)>,
}

impl PlatformNotice {
    /// The first field named `name`.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    fn number(&self, name: &str) -> Option<i64> {
        self.field(name)?.parse().ok()
    }

    /// `status` (registration notices; 0 is success).
    pub fn status(&self) -> Option<i64> {
        self.number("status")
    }

    /// The account the notice is about: `authorizer_appid`, `verify_appid` or `appid`.
    pub fn account(&self) -> Option<&str> {
        self.field("authorizer_appid")
            .or_else(|| self.field("verify_appid"))
            .or_else(|| self.field("appid"))
    }

    /// `result` of an ICP pre-check (2 fail, 3 pass).
    pub fn result(&self) -> Option<i64> {
        self.number("result")
    }

    /// The task id: `task_id`, `taskid` or `procedure_id`.
    pub fn task_id(&self) -> Option<&str> {
        self.field("task_id")
            .or_else(|| self.field("taskid"))
            .or_else(|| self.field("procedure_id"))
    }
}

impl fmt::Debug for PlatformNotice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Fields<'a>(&'a [(String, String)]);
        impl fmt::Debug for Fields<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut l = f.debug_list();
                for (k, v) in self.0 {
                    if NOTICE_PUBLIC_FIELDS.contains(&k.as_str()) {
                        l.entry(&(k, v));
                    } else {
                        l.entry(&(k, format!("[redacted; {} bytes]", v.len())));
                    }
                }
                l.finish()
            }
        }
        f.debug_struct("PlatformNotice")
            .field("kind", &self.kind)
            .field("app_id", &self.app_id)
            .field("create_time", &self.create_time)
            .field("fields", &Fields(&self.fields))
            .finish()
    }
}
