//! Typed mini-program events on the message-and-event URL (`…/callback/$APPID$`):
//! [`WxaEvent::from_message`] reads an [`AuthorizerMessage`] whose `MsgType` is `event`.
//!
//! Fields confirmed on the official pages (Open Platform docs, read 2026-12): the code review
//! results `weapp_audit_success` (`SuccTime`), `weapp_audit_fail` (`Reason`, `FailTime`,
//! `ScreenShot`: media ids joined by `|`) and `weapp_audit_delay` (`Reason`, `DelayTime`) on
//! "代码审核结果推送"; the name review `wxa_nickname_audit` (`ret` 2 fail / 3 pass,
//! `nickname`, `reason`) on "名称审核结果事件推送". The other event names
//! ([`WXA_EVENTS_BY_NAME`]) come from peers' constants (WxJava) and are recognised by name with
//! their fields kept as sent ([`WxaEvent::Other`]); nothing is dropped.
//!
//! ```
//! use wxopen_proto::{parse_authorizer_message, wxa_event::WxaEvent};
//!
//! let m = parse_authorizer_message(b"<xml><ToUserName>gh_1</ToUserName><FromUserName>o</FromUserName>\
//!     <CreateTime>1488856591</CreateTime><MsgType>event</MsgType><Event>weapp_audit_fail</Event>\
//!     <Reason>r</Reason><FailTime>1488856591</FailTime><ScreenShot>a|b</ScreenShot></xml>").unwrap();
//! let Some(WxaEvent::AuditFail { screenshots, .. }) = WxaEvent::from_message(&m) else { panic!() };
//! assert_eq!(screenshots, ["a", "b"]);
//! ```

use crate::message::{AuthorizerMessage, MsgType};

/// A typed field's value ([`WxaEvent::typed_fields`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TypedValue<'a> {
    /// A number (times in Unix seconds, `ret`).
    Number(i64),
    /// A text.
    Text(&'a str),
    /// A list of texts.
    List(&'a [String]),
}

/// A field reader (a message's, or an event log entry's).
struct Fields<F>(F);

impl<'a, F: Fn(&str) -> Option<&'a str>> Fields<F> {
    fn field(&self, name: &str) -> Option<&'a str> {
        (self.0)(name)
    }
}

/// Mini-program event names recognised by name only (their fields are kept as sent).
pub const WXA_EVENTS_BY_NAME: [&str; 6] = [
    "wxa_category_audit",
    "wxa_privacy_apply",
    "wxa_illegal_record",
    "wxa_appeal_record",
    "wx_verify_pay_succ",
    "wx_verify_dispatch",
];

/// A mini-program event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WxaEvent {
    /// `weapp_audit_success`: the submitted code passed review.
    AuditSuccess {
        /// `SuccTime` (Unix seconds), when sent.
        succ_time: Option<u64>,
    },
    /// `weapp_audit_fail`: the review refused the code.
    AuditFail {
        /// `Reason` (may hold `<br>` line breaks).
        reason: String,
        /// `FailTime` (Unix seconds), when sent.
        fail_time: Option<u64>,
        /// `ScreenShot` split at `|`: media ids of example screenshots.
        screenshots: Vec<String>,
    },
    /// `weapp_audit_delay`: the review is delayed.
    AuditDelay {
        /// `Reason`.
        reason: String,
        /// `DelayTime` (Unix seconds), when sent.
        delay_time: Option<u64>,
    },
    /// `wxa_nickname_audit`: the result of a name change review.
    NicknameAudit {
        /// `ret`: 2 refused, 3 passed.
        ret: Option<i64>,
        /// `nickname`: the requested name.
        nickname: String,
        /// `reason`: why it was refused.
        reason: String,
    },
    /// One of [`WXA_EVENTS_BY_NAME`]: the event name; its fields are the message's.
    Other {
        /// The `Event`.
        event: String,
    },
}

impl WxaEvent {
    /// The typed mini-program event of `m`, or `None` when `m` is not one (a message, an
    /// official-account event, an unknown event: those keep their fields on `m`).
    pub fn from_message(m: &AuthorizerMessage) -> Option<Self> {
        if m.msg_type != MsgType::Event {
            return None;
        }
        Self::from_parts(m.event.as_deref()?, |name| m.field(name))
    }

    /// The typed mini-program event named `event` whose fields `field` reads (e.g. from an
    /// event log entry), or `None` when `event` is not a mini-program event.
    pub fn from_parts<'a>(event: &str, field: impl Fn(&str) -> Option<&'a str>) -> Option<Self> {
        let m = Fields(field);
        let text = |name: &str| m.field(name).map(str::trim).unwrap_or("").to_owned();
        let number = |name: &str| m.field(name).and_then(|v| v.trim().parse().ok());
        Some(match event {
            "weapp_audit_success" => WxaEvent::AuditSuccess {
                succ_time: number("SuccTime"),
            },
            "weapp_audit_fail" => WxaEvent::AuditFail {
                reason: text("Reason"),
                fail_time: number("FailTime"),
                screenshots: m
                    .field("ScreenShot")
                    .unwrap_or("")
                    .split('|')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
            },
            "weapp_audit_delay" => WxaEvent::AuditDelay {
                reason: text("Reason"),
                delay_time: number("DelayTime"),
            },
            "wxa_nickname_audit" => WxaEvent::NicknameAudit {
                ret: m.field("ret").and_then(|v| v.trim().parse().ok()),
                nickname: text("nickname"),
                reason: text("reason"),
            },
            e if WXA_EVENTS_BY_NAME.contains(&e) => WxaEvent::Other {
                event: e.to_owned(),
            },
            _ => return None,
        })
    }

    /// The event's typed fields as `(name, value)` pairs (`None` values left out): the review
    /// times, `reason`, `screenshots` (one pair per media id), `ret`, `nickname`.
    pub fn typed_fields(&self) -> Vec<(&'static str, TypedValue<'_>)> {
        let mut v = Vec::new();
        match self {
            WxaEvent::AuditSuccess { succ_time } => {
                if let Some(t) = succ_time {
                    v.push(("succ_time", TypedValue::Number(*t as i64)));
                }
            }
            WxaEvent::AuditFail {
                reason,
                fail_time,
                screenshots,
            } => {
                v.push(("reason", TypedValue::Text(reason)));
                if let Some(t) = fail_time {
                    v.push(("fail_time", TypedValue::Number(*t as i64)));
                }
                v.push(("screenshots", TypedValue::List(screenshots)));
            }
            WxaEvent::AuditDelay { reason, delay_time } => {
                v.push(("reason", TypedValue::Text(reason)));
                if let Some(t) = delay_time {
                    v.push(("delay_time", TypedValue::Number(*t as i64)));
                }
            }
            WxaEvent::NicknameAudit {
                ret,
                nickname,
                reason,
            } => {
                if let Some(r) = ret {
                    v.push(("ret", TypedValue::Number(*r)));
                }
                v.push(("nickname", TypedValue::Text(nickname)));
                v.push(("reason", TypedValue::Text(reason)));
            }
            WxaEvent::Other { .. } => {}
        }
        v
    }

    /// The event's name as WeChat sends it.
    pub fn name(&self) -> &str {
        match self {
            WxaEvent::AuditSuccess { .. } => "weapp_audit_success",
            WxaEvent::AuditFail { .. } => "weapp_audit_fail",
            WxaEvent::AuditDelay { .. } => "weapp_audit_delay",
            WxaEvent::NicknameAudit { .. } => "wxa_nickname_audit",
            WxaEvent::Other { event } => event,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::message::parse_authorizer_message;

    fn event(body: &str) -> Option<WxaEvent> {
        let xml = format!(
            "<xml><ToUserName>gh_fb9688c2a4b2</ToUserName><FromUserName>od1P50M</FromUserName>\
             <CreateTime>1488856741</CreateTime><MsgType>event</MsgType>{body}</xml>"
        );
        WxaEvent::from_message(&parse_authorizer_message(xml.as_bytes()).unwrap())
    }

    #[test]
    fn documented_events_are_typed() {
        let table = [
            (
                "<Event>weapp_audit_success</Event><SuccTime>1488856741</SuccTime>",
                Some(WxaEvent::AuditSuccess {
                    succ_time: Some(1_488_856_741),
                }),
            ),
            (
                "<Event>weapp_audit_fail</Event><Reason><![CDATA[1:不符合<br>2:x]]></Reason><FailTime>1488856591</FailTime><ScreenShot>xxx|yyy</ScreenShot>",
                Some(WxaEvent::AuditFail {
                    reason: "1:不符合<br>2:x".into(),
                    fail_time: Some(1_488_856_591),
                    screenshots: vec!["xxx".into(), "yyy".into()],
                }),
            ),
            (
                "<Event>weapp_audit_fail</Event><Reason>r</Reason>",
                Some(WxaEvent::AuditFail {
                    reason: "r".into(),
                    fail_time: None,
                    screenshots: vec![],
                }),
            ),
            (
                "<Event>weapp_audit_delay</Event><Reason>busy</Reason><DelayTime>1488866741</DelayTime>",
                Some(WxaEvent::AuditDelay {
                    reason: "busy".into(),
                    delay_time: Some(1_488_866_741),
                }),
            ),
            (
                "<Event>wxa_nickname_audit</Event><ret>2</ret><nickname>昵称</nickname><reason>驳回原因</reason>",
                Some(WxaEvent::NicknameAudit {
                    ret: Some(2),
                    nickname: "昵称".into(),
                    reason: "驳回原因".into(),
                }),
            ),
            (
                "<Event>wxa_privacy_apply</Event><result_info><api_name>x</api_name></result_info>",
                Some(WxaEvent::Other {
                    event: "wxa_privacy_apply".into(),
                }),
            ),
            ("<Event>subscribe</Event>", None),
            ("<Event>weapp_audit_success</Event><SuccTime>soon</SuccTime>", Some(WxaEvent::AuditSuccess { succ_time: None })),
        ];
        for (body, want) in table {
            assert_eq!(event(body), want, "{body}");
        }
        assert_eq!(
            event("<Event>weapp_audit_delay</Event>").unwrap().name(),
            "weapp_audit_delay"
        );
    }

    #[test]
    fn messages_are_not_events() {
        let m = parse_authorizer_message(
            b"<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content>weapp_audit_success</Content><MsgId>1</MsgId></xml>",
        )
        .unwrap();
        assert_eq!(WxaEvent::from_message(&m), None);
    }
}
