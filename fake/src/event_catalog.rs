//! Every event kind WeChat pushes to a platform, as samples the fake can push
//! ([`FakeWeChat::push_sample`](crate::FakeWeChat::push_sample),
//! [`FakeWeChat::push_every_kind`](crate::FakeWeChat::push_every_kind)): the authorization-event
//! URL's `InfoType`s beyond tickets and authorizations ([`COMPONENT_SAMPLES`]) and the message
//! URL's mini-program and official-account events ([`MESSAGE_SAMPLES`]).
//!
//! Field names follow `api-contracts.md` §17: the review events (`weapp_audit_*`) and
//! `wxa_nickname_audit` are confirmed on the official pages; the registration and filing
//! notices come from peers (WxJava, Senparc). The six mini-program events known by name only
//! carry one illustrative field each (`Sample::illustrative`): a receiver must keep whatever
//! arrives, so the sample tests that, not a field list.

/// Which URL a sample is pushed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SampleUrl {
    /// The authorization-event URL (`InfoType`).
    Component,
    /// The message-and-event URL of an authorized account (`MsgType` `event`).
    Message,
}

/// One event kind with the fields WeChat sends with it (after `AppId`/`CreateTime`/`InfoType`,
/// or after the message envelope and `Event`). A value starting with `<` is raw XML content
/// (nested elements); `{account}` in a value is replaced by the account's appid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// Where it is pushed.
    pub url: SampleUrl,
    /// The `InfoType` or the `Event`.
    pub name: &'static str,
    /// The fields, in document order.
    pub fields: &'static [(&'static str, &'static str)],
    /// Whether the field names are illustrative (the kind is known by name only).
    pub illustrative: bool,
}

const fn component(name: &'static str, fields: &'static [(&'static str, &'static str)]) -> Sample {
    Sample {
        url: SampleUrl::Component,
        name,
        fields,
        illustrative: false,
    }
}

const fn message(name: &'static str, fields: &'static [(&'static str, &'static str)]) -> Sample {
    Sample {
        url: SampleUrl::Message,
        name,
        fields,
        illustrative: false,
    }
}

const fn by_name(name: &'static str, fields: &'static [(&'static str, &'static str)]) -> Sample {
    Sample {
        url: SampleUrl::Message,
        name,
        fields,
        illustrative: true,
    }
}

/// The authorization-event URL's kinds beyond `component_verify_ticket`, `authorized`,
/// `updateauthorized` and `unauthorized` (the fake pushes those from its own state). The
/// fast-register result has a failing status here: a status-0 push carries a code the fake
/// would have to issue ([`FakeWeChat::push_event`](crate::FakeWeChat::push_event) sends one).
pub const COMPONENT_SAMPLES: [Sample; 8] = [
    component(
        "notify_third_fasteregister",
        &[
            ("appid", "{account}"),
            ("status", "89251"),
            ("auth_code", ""),
            ("msg", "legal person has not confirmed"),
            (
                "info",
                "<name><![CDATA[Acme Ltd]]></name><code><![CDATA[91440300MA5EXAMPLE]]></code><code_type>1</code_type><legal_persona_wechat><![CDATA[legal_wx]]></legal_persona_wechat><legal_persona_name><![CDATA[Zhang San]]></legal_persona_name><component_phone><![CDATA[13800000000]]></component_phone>",
            ),
        ],
    ),
    component(
        "notify_third_fastregisterbetaapp",
        &[
            ("appid", "{account}"),
            ("status", "0"),
            ("msg", "OK"),
            (
                "info",
                "<unique_id><![CDATA[beta-unique-1]]></unique_id><name><![CDATA[Trial]]></name>",
            ),
        ],
    ),
    component(
        "notify_third_fastverifybetaapp",
        &[
            ("appid", "{account}"),
            ("status", "0"),
            ("msg", "OK"),
            (
                "info",
                "<unique_id><![CDATA[beta-unique-1]]></unique_id><name><![CDATA[Trial]]></name>",
            ),
        ],
    ),
    component(
        "notify_icpfiling_verify_result",
        &[
            ("task_id", "icp-task-1"),
            ("verify_appid", "{account}"),
            ("result", "3"),
            ("along_with_auth_result", "0"),
        ],
    ),
    component(
        "notify_apply_icpfiling_result",
        &[("authorizer_appid", "{account}"), ("beian_status", "3")],
    ),
    component(
        "notify_3rd_wxa_auth",
        &[
            ("appid", "{account}"),
            ("taskid", "auth-task-1"),
            ("task_status", "9"),
            ("apply_status", "3"),
            ("message", "passed"),
            (
                "dispatch_info",
                "<provider><![CDATA[provider]]></provider><contact><![CDATA[contact]]></contact><dispatch_time>1700000000</dispatch_time>",
            ),
        ],
    ),
    component(
        "notify_3rd_wxa_wxverify",
        &[
            ("appid", "{account}"),
            ("expired", "1735660800"),
            ("message", "verification expires soon"),
        ],
    ),
    component(
        "notify_3rd_wxa_auth_and_icp",
        &[
            ("appid", "{account}"),
            ("procedure_id", "procedure-1"),
            ("procedure_status", "3"),
        ],
    ),
];

/// The message URL's events: the mini-program review and name results (fields confirmed), the
/// mini-program events known by name, and the usual official-account events.
pub const MESSAGE_SAMPLES: [Sample; 16] = [
    message("weapp_audit_success", &[("SuccTime", "1700000100")]),
    message(
        "weapp_audit_fail",
        &[
            ("Reason", "1:content<br>2:category"),
            ("FailTime", "1700000100"),
            ("ScreenShot", "media-1|media-2"),
        ],
    ),
    message(
        "weapp_audit_delay",
        &[("Reason", "review queue"), ("DelayTime", "1700086400")],
    ),
    message(
        "wxa_nickname_audit",
        &[("ret", "3"), ("nickname", "Acme"), ("reason", "")],
    ),
    by_name("wxa_category_audit", &[("ret", "3")]),
    by_name("wxa_privacy_apply", &[("result", "1")]),
    by_name("wxa_illegal_record", &[("illegal_record_id", "illegal-1")]),
    by_name("wxa_appeal_record", &[("appeal_record_id", "appeal-1")]),
    by_name("wx_verify_pay_succ", &[("order_id", "order-1")]),
    by_name("wx_verify_dispatch", &[("provider", "provider")]),
    message("subscribe", &[("EventKey", "")]),
    message("unsubscribe", &[]),
    message("SCAN", &[("EventKey", "42"), ("Ticket", "qr-ticket")]),
    message(
        "LOCATION",
        &[
            ("Latitude", "23.137466"),
            ("Longitude", "113.352425"),
            ("Precision", "119.385040"),
        ],
    ),
    message("CLICK", &[("EventKey", "MENU_KEY")]),
    message("VIEW", &[("EventKey", "https://example.com/menu")]),
];

impl crate::FakeWeChat {
    /// Pushes `sample` for `authorizer_appid`: to the authorization-event URL (its `{account}`
    /// values replaced by the appid; the fake's state unchanged), or as an event of that
    /// authorized account to the message URL, from WeChat's system sender.
    pub fn push_sample(
        &self,
        sample: &Sample,
        authorizer_appid: &str,
    ) -> Result<crate::Push, crate::FakeError> {
        let fields: Vec<(&str, String)> = sample
            .fields
            .iter()
            .map(|(k, v)| (*k, v.replace("{account}", authorizer_appid)))
            .collect();
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        match sample.url {
            SampleUrl::Component => self.push_event(sample.name, &fields),
            SampleUrl::Message => {
                self.push_message_event(authorizer_appid, SYSTEM_SENDER, sample.name, &fields)
            }
        }
    }

    /// Every sample of [`COMPONENT_SAMPLES`] and [`MESSAGE_SAMPLES`] pushed for
    /// `authorizer_appid` (which must be authorized, for the message URL), in that order.
    pub fn push_every_kind(
        &self,
        authorizer_appid: &str,
    ) -> Result<Vec<(Sample, crate::Push)>, crate::FakeError> {
        COMPONENT_SAMPLES
            .iter()
            .chain(MESSAGE_SAMPLES.iter())
            .map(|s| Ok((*s, self.push_sample(s, authorizer_appid)?)))
            .collect()
    }
}

/// The `FromUserName` of the samples on the message URL (WeChat's system account).
pub const SYSTEM_SENDER: &str = "o6_bmjrPTlm6_2sgVt7hMZOPfL2M";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_the_issue_names_has_a_sample_once() {
        let names: Vec<&str> = COMPONENT_SAMPLES
            .iter()
            .chain(MESSAGE_SAMPLES.iter())
            .map(|s| s.name)
            .collect();
        let mut unique = names.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "a kind twice: {names:?}");
        for name in [
            "notify_third_fasteregister",
            "notify_third_fastregisterbetaapp",
            "notify_third_fastverifybetaapp",
            "notify_icpfiling_verify_result",
            "notify_apply_icpfiling_result",
            "notify_3rd_wxa_auth",
            "notify_3rd_wxa_wxverify",
            "notify_3rd_wxa_auth_and_icp",
            "weapp_audit_success",
            "weapp_audit_fail",
            "weapp_audit_delay",
            "wxa_nickname_audit",
            "wxa_category_audit",
            "wxa_privacy_apply",
            "wxa_illegal_record",
            "wxa_appeal_record",
            "wx_verify_pay_succ",
            "wx_verify_dispatch",
        ] {
            assert!(names.contains(&name), "{name} has no sample");
        }
        assert!(COMPONENT_SAMPLES
            .iter()
            .all(|s| s.url == SampleUrl::Component));
        assert!(MESSAGE_SAMPLES.iter().all(|s| s.url == SampleUrl::Message));
    }
}
