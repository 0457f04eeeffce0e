//! Typed events pushed to the component's "authorization event receive URL".

use std::collections::BTreeMap;
use std::fmt;

use crate::error::PushError;
use crate::notice::{NoticeKind, PlatformNotice};
use crate::secret::{AuthorizationCode, ComponentVerifyTicket, PreAuthCode};
use crate::xml::{parse_flat, FlatXml};

/// An `authorized` or `updateauthorized` push: carries the code for
/// `wxopen_client::ComponentClient::query_auth`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationGrant {
    /// Component appid.
    pub app_id: String,
    /// Push time (unix seconds).
    pub create_time: u64,
    /// The authorizing account.
    pub authorizer_appid: String,
    /// Code to exchange with `query_auth`.
    pub authorization_code: AuthorizationCode,
    /// Expiry of the code (unix seconds), when sent.
    pub authorization_code_expired_time: Option<u64>,
    /// The pre-auth code the authorization was started with, when sent.
    pub pre_auth_code: Option<PreAuthCode>,
}

/// A decrypted component push.
///
/// `Debug` redacts what may identify people or carry credentials: the raw XML of
/// [`Unknown`](ComponentEvent::Unknown) events and the personal fields of the fast-register
/// `info` (legal person's name and WeChat id, phone; see [`FAST_REGISTER_PUBLIC_INFO`]).
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ComponentEvent {
    /// `component_verify_ticket`, pushed every 10 minutes.
    ComponentVerifyTicket {
        /// Component appid.
        app_id: String,
        /// Push time (unix seconds); orders tickets.
        create_time: u64,
        /// The ticket.
        ticket: ComponentVerifyTicket,
    },
    /// `authorized`: an account authorized the component.
    Authorized(AuthorizationGrant),
    /// `updateauthorized`: an account changed its granted permissions.
    UpdateAuthorized(AuthorizationGrant),
    /// `unauthorized`: an account revoked the authorization.
    Unauthorized {
        /// Component appid.
        app_id: String,
        /// Push time (unix seconds).
        create_time: u64,
        /// The account.
        authorizer_appid: String,
    },
    /// `notify_third_fasteregister`: result of a fast mini-program registration.
    NotifyThirdFastRegister {
        /// Component appid.
        app_id: String,
        /// Push time (unix seconds).
        create_time: u64,
        /// The registered mini program's appid (on success).
        appid: Option<String>,
        /// Status code (0 = success).
        status: Option<i64>,
        /// Code to exchange with `query_auth` (on success).
        auth_code: Option<AuthorizationCode>,
        /// Status message.
        msg: Option<String>,
        /// The `<info>` fields echoed back (name, code, code_type, legal_persona_wechat, …);
        /// redacted in `Debug` except [`FAST_REGISTER_PUBLIC_INFO`].
        info: BTreeMap<String, String>,
    },
    /// A registration, verification or filing notice (see [`crate::notice`]).
    Notice(PlatformNotice),
    /// Any other `InfoType`; never fails the push.
    Unknown {
        /// The `InfoType` (empty if absent).
        info_type: String,
        /// The decrypted XML (redacted in `Debug`).
        raw: String,
    },
}

/// The fast-register `info` fields shown in `Debug` (the company name and its registration code
/// and code type, which are public); every other field is redacted.
pub const FAST_REGISTER_PUBLIC_INFO: [&str; 3] = ["name", "code", "code_type"];

struct Redacted(usize);

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[redacted; {} bytes]", self.0)
    }
}

struct RedactedInfo<'a>(&'a BTreeMap<String, String>);

impl fmt::Debug for RedactedInfo<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (k, v) in self.0 {
            if FAST_REGISTER_PUBLIC_INFO.contains(&k.as_str()) {
                m.entry(k, v);
            } else {
                m.entry(k, &Redacted(v.len()));
            }
        }
        m.finish()
    }
}

impl fmt::Debug for ComponentEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ComponentEvent::ComponentVerifyTicket {
                app_id,
                create_time,
                ticket,
            } => f
                .debug_struct("ComponentVerifyTicket")
                .field("app_id", app_id)
                .field("create_time", create_time)
                .field("ticket", ticket)
                .finish(),
            ComponentEvent::Authorized(g) => f.debug_tuple("Authorized").field(g).finish(),
            ComponentEvent::UpdateAuthorized(g) => {
                f.debug_tuple("UpdateAuthorized").field(g).finish()
            }
            ComponentEvent::Unauthorized {
                app_id,
                create_time,
                authorizer_appid,
            } => f
                .debug_struct("Unauthorized")
                .field("app_id", app_id)
                .field("create_time", create_time)
                .field("authorizer_appid", authorizer_appid)
                .finish(),
            ComponentEvent::NotifyThirdFastRegister {
                app_id,
                create_time,
                appid,
                status,
                auth_code,
                msg,
                info,
            } => f
                .debug_struct("NotifyThirdFastRegister")
                .field("app_id", app_id)
                .field("create_time", create_time)
                .field("appid", appid)
                .field("status", status)
                .field("auth_code", auth_code)
                .field("msg", msg)
                .field("info", &RedactedInfo(info))
                .finish(),
            ComponentEvent::Notice(n) => f.debug_tuple("Notice").field(n).finish(),
            ComponentEvent::Unknown { info_type, raw } => f
                .debug_struct("Unknown")
                .field("info_type", info_type)
                .field("raw", &Redacted(raw.len()))
                .finish(),
        }
    }
}

impl ComponentEvent {
    /// The `InfoType` string of this event.
    pub fn info_type(&self) -> &str {
        match self {
            ComponentEvent::ComponentVerifyTicket { .. } => "component_verify_ticket",
            ComponentEvent::Authorized(_) => "authorized",
            ComponentEvent::UpdateAuthorized(_) => "updateauthorized",
            ComponentEvent::Unauthorized { .. } => "unauthorized",
            ComponentEvent::NotifyThirdFastRegister { .. } => "notify_third_fasteregister",
            ComponentEvent::Notice(n) => n.kind.info_type(),
            ComponentEvent::Unknown { info_type, .. } => info_type,
        }
    }

    /// The component appid named in the push, when the event type carries one.
    pub fn app_id(&self) -> Option<&str> {
        match self {
            ComponentEvent::ComponentVerifyTicket { app_id, .. }
            | ComponentEvent::Unauthorized { app_id, .. }
            | ComponentEvent::NotifyThirdFastRegister { app_id, .. } => Some(app_id),
            ComponentEvent::Authorized(g) | ComponentEvent::UpdateAuthorized(g) => Some(&g.app_id),
            ComponentEvent::Notice(n) => Some(&n.app_id),
            ComponentEvent::Unknown { .. } => None,
        }
    }
}

fn required<'a>(x: &'a FlatXml, name: &'static str) -> Result<&'a str, PushError> {
    match x.get(name) {
        Some(v) if !v.trim().is_empty() => Ok(v.trim()),
        _ => Err(PushError::MissingField(name)),
    }
}

fn number<T: std::str::FromStr>(x: &FlatXml, name: &'static str) -> Result<T, PushError> {
    required(x, name)?
        .parse()
        .map_err(|_| PushError::InvalidField(name))
}

fn optional_number<T: std::str::FromStr>(
    x: &FlatXml,
    name: &'static str,
) -> Result<Option<T>, PushError> {
    match x.get(name).map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| PushError::InvalidField(name)),
    }
}

fn optional_string(x: &FlatXml, name: &str) -> Option<String> {
    x.get(name)
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

fn grant(x: &FlatXml) -> Result<AuthorizationGrant, PushError> {
    Ok(AuthorizationGrant {
        app_id: required(x, "AppId")?.to_owned(),
        create_time: number(x, "CreateTime")?,
        authorizer_appid: required(x, "AuthorizerAppid")?.to_owned(),
        authorization_code: AuthorizationCode::new(required(x, "AuthorizationCode")?),
        authorization_code_expired_time: optional_number(x, "AuthorizationCodeExpiredTime")?,
        pre_auth_code: optional_string(x, "PreAuthCode").map(PreAuthCode::new),
    })
}

/// Parses a decrypted component push (pure; the fuzz target `push_event` calls this).
///
/// Known `InfoType`s with missing or malformed required fields are errors; unknown ones become
/// [`ComponentEvent::Unknown`]. DOCTYPEs and custom entities are refused.
pub fn parse_component_event(xml: &[u8]) -> Result<ComponentEvent, PushError> {
    let x = parse_flat(xml)?;
    let info_type = x.get("InfoType").map(str::trim).unwrap_or_default();
    Ok(match info_type {
        "component_verify_ticket" => ComponentEvent::ComponentVerifyTicket {
            app_id: required(&x, "AppId")?.to_owned(),
            create_time: number(&x, "CreateTime")?,
            ticket: ComponentVerifyTicket::new(required(&x, "ComponentVerifyTicket")?),
        },
        "authorized" => ComponentEvent::Authorized(grant(&x)?),
        "updateauthorized" => ComponentEvent::UpdateAuthorized(grant(&x)?),
        "unauthorized" => ComponentEvent::Unauthorized {
            app_id: required(&x, "AppId")?.to_owned(),
            create_time: number(&x, "CreateTime")?,
            authorizer_appid: required(&x, "AuthorizerAppid")?.to_owned(),
        },
        "notify_third_fasteregister" => ComponentEvent::NotifyThirdFastRegister {
            app_id: required(&x, "AppId")?.to_owned(),
            create_time: number(&x, "CreateTime")?,
            appid: optional_string(&x, "appid"),
            status: optional_number(&x, "status")?,
            auth_code: optional_string(&x, "auth_code").map(AuthorizationCode::new),
            msg: optional_string(&x, "msg"),
            info: x
                .fields
                .iter()
                .filter_map(|(k, v)| k.strip_prefix("info/").map(|k| (k.to_owned(), v.clone())))
                .collect(),
        },
        other => match NoticeKind::from_info_type(other) {
            Some(kind) => ComponentEvent::Notice(PlatformNotice {
                kind,
                app_id: x.get("AppId").map(str::trim).unwrap_or("").to_owned(),
                create_time: optional_number(&x, "CreateTime")?.unwrap_or(0),
                fields: x.fields,
            }),
            None => ComponentEvent::Unknown {
                info_type: other.to_owned(),
                raw: String::from_utf8_lossy(xml).into_owned(),
            },
        },
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn ticket() {
        let e = parse_component_event(
            b"<xml><AppId>some_appid</AppId><CreateTime>1413192605</CreateTime><InfoType>component_verify_ticket</InfoType><ComponentVerifyTicket>ticket@@@abc</ComponentVerifyTicket></xml>",
        )
        .unwrap();
        match &e {
            ComponentEvent::ComponentVerifyTicket {
                app_id,
                create_time,
                ticket,
            } => {
                assert_eq!(app_id, "some_appid");
                assert_eq!(*create_time, 1_413_192_605);
                assert_eq!(ticket.expose_secret(), "ticket@@@abc");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(e.info_type(), "component_verify_ticket");
        assert!(!format!("{e:?}").contains("abc"));
    }

    #[test]
    fn authorized_and_update() {
        let body = "<xml><AppId><![CDATA[c]]></AppId><CreateTime>1413192760</CreateTime><InfoType><![CDATA[{t}]]></InfoType><AuthorizerAppid><![CDATA[wxa]]></AuthorizerAppid><AuthorizationCode><![CDATA[queryauthcode@@@x]]></AuthorizationCode><AuthorizationCodeExpiredTime>600</AuthorizationCodeExpiredTime><PreAuthCode><![CDATA[preauthcode@@@y]]></PreAuthCode></xml>";
        let e = parse_component_event(body.replace("{t}", "authorized").as_bytes()).unwrap();
        let ComponentEvent::Authorized(g) = e else {
            panic!()
        };
        assert_eq!(g.authorizer_appid, "wxa");
        assert_eq!(g.authorization_code.expose_secret(), "queryauthcode@@@x");
        assert_eq!(g.authorization_code_expired_time, Some(600));
        assert!(g.pre_auth_code.is_some());
        let e = parse_component_event(body.replace("{t}", "updateauthorized").as_bytes()).unwrap();
        assert!(matches!(e, ComponentEvent::UpdateAuthorized(_)));
    }

    #[test]
    fn unauthorized_and_fast_register() {
        let e = parse_component_event(
            b"<xml><AppId>c</AppId><CreateTime>1</CreateTime><InfoType>unauthorized</InfoType><AuthorizerAppid>wxa</AuthorizerAppid></xml>",
        )
        .unwrap();
        assert_eq!(
            e,
            ComponentEvent::Unauthorized {
                app_id: "c".into(),
                create_time: 1,
                authorizer_appid: "wxa".into()
            }
        );
        let e = parse_component_event(
            b"<xml><AppId>c</AppId><CreateTime>2</CreateTime><InfoType>notify_third_fasteregister</InfoType><appid>wxn</appid><status>0</status><auth_code>code</auth_code><msg>OK</msg><info><name>co</name><code>123</code><code_type>1</code_type><legal_persona_wechat>w</legal_persona_wechat><legal_persona_name>p</legal_persona_name><component_phone>1</component_phone></info></xml>",
        )
        .unwrap();
        let ComponentEvent::NotifyThirdFastRegister {
            appid,
            status,
            auth_code,
            info,
            ..
        } = e
        else {
            panic!()
        };
        assert_eq!(appid.as_deref(), Some("wxn"));
        assert_eq!(status, Some(0));
        assert!(auth_code.is_some());
        assert_eq!(info.get("code").map(String::as_str), Some("123"));
        assert_eq!(info.len(), 6);
    }

    #[test]
    fn notices_keep_every_field_in_order_and_redact_in_debug() {
        for (kind, info_type) in NoticeKind::ALL {
            let xml = format!(
                "<xml><AppId>c</AppId><CreateTime>7</CreateTime><InfoType>{info_type}</InfoType><task_id>t1</task_id><list><x>1</x></list><list><x>2</x></list><message>张三 secret</message></xml>"
            );
            let e = parse_component_event(xml.as_bytes()).unwrap();
            assert_eq!(e.info_type(), info_type);
            let ComponentEvent::Notice(n) = &e else {
                panic!("{info_type}")
            };
            assert_eq!((n.kind, n.app_id.as_str(), n.create_time), (kind, "c", 7));
            assert_eq!(n.task_id(), Some("t1"));
            let lists: Vec<&str> = n
                .fields
                .iter()
                .filter(|(k, _)| k == "list/x")
                .map(|(_, v)| v.as_str())
                .collect();
            assert_eq!(lists, ["1", "2"], "repeated siblings kept in order");
            let d = format!("{e:?}");
            assert!(!d.contains("secret") && d.contains("t1"), "{d}");
        }
        let e = parse_component_event(b"<xml><AppId>c</AppId><InfoType>notify_icpfiling_verify_result</InfoType><verify_appid>wxv</verify_appid><result>3</result></xml>").unwrap();
        let ComponentEvent::Notice(n) = e else {
            panic!()
        };
        assert_eq!(
            (n.account(), n.result(), n.create_time),
            (Some("wxv"), Some(3), 0)
        );
        assert_eq!(
            parse_component_event(
                b"<xml><InfoType>notify_3rd_wxa_auth</InfoType><CreateTime>x</CreateTime></xml>"
            ),
            Err(PushError::InvalidField("CreateTime"))
        );
    }

    #[test]
    fn unknown_never_fails() {
        let e = parse_component_event(
            b"<xml><AppId>c</AppId><InfoType>something_new</InfoType><X><Y>1</Y></X></xml>",
        )
        .unwrap();
        assert!(
            matches!(e, ComponentEvent::Unknown { ref info_type, .. } if info_type == "something_new")
        );
        let e = parse_component_event(b"<xml/>").unwrap();
        assert!(matches!(e, ComponentEvent::Unknown { ref info_type, .. } if info_type.is_empty()));
    }

    #[test]
    fn debug_redacts_personal_and_raw_fields() {
        let e = parse_component_event(
            "<xml><AppId>c</AppId><CreateTime>2</CreateTime><InfoType>notify_third_fasteregister</InfoType><appid>wxn</appid><status>0</status><auth_code>code-secret</auth_code><msg>OK</msg><info><name>Acme Co</name><code>91310000</code><code_type>1</code_type><legal_persona_wechat>wechat-id-zhang</legal_persona_wechat><legal_persona_name>张三</legal_persona_name><component_phone>13800000000</component_phone></info></xml>".as_bytes(),
        )
        .unwrap();
        let d = format!("{e:?}");
        for leaked in ["wechat-id-zhang", "张三", "13800000000", "code-secret"] {
            assert!(!d.contains(leaked), "{leaked} in {d}");
        }
        assert!(
            d.contains("Acme Co") && d.contains("91310000") && d.contains("wxn"),
            "{d}"
        );
        assert!(
            d.contains("legal_persona_name") && d.contains("[redacted; 6 bytes]"),
            "{d}"
        );

        let e = parse_component_event(
            b"<xml><AppId>c</AppId><InfoType>something_new</InfoType><Secret>hunter2</Secret></xml>",
        )
        .unwrap();
        let d = format!("{e:?}");
        assert!(!d.contains("hunter2") && d.contains("something_new"), "{d}");
        let ComponentEvent::Unknown { raw, .. } = &e else {
            panic!()
        };
        assert!(raw.contains("hunter2"), "the value itself is kept");
        // The other variants still print their public fields.
        let e = parse_component_event(
            b"<xml><AppId>c</AppId><CreateTime>1</CreateTime><InfoType>unauthorized</InfoType><AuthorizerAppid>wxa</AuthorizerAppid></xml>",
        )
        .unwrap();
        assert_eq!(
            format!("{e:?}"),
            r#"Unauthorized { app_id: "c", create_time: 1, authorizer_appid: "wxa" }"#
        );
    }

    #[test]
    fn known_types_need_their_fields() {
        assert_eq!(
            parse_component_event(b"<xml><AppId>c</AppId><CreateTime>1</CreateTime><InfoType>component_verify_ticket</InfoType></xml>"),
            Err(PushError::MissingField("ComponentVerifyTicket"))
        );
        assert_eq!(
            parse_component_event(b"<xml><AppId>c</AppId><CreateTime>soon</CreateTime><InfoType>component_verify_ticket</InfoType><ComponentVerifyTicket>t</ComponentVerifyTicket></xml>"),
            Err(PushError::InvalidField("CreateTime"))
        );
        assert_eq!(
            parse_component_event(b"<xml><AppId>c</AppId><CreateTime>1</CreateTime><InfoType>unauthorized</InfoType></xml>"),
            Err(PushError::MissingField("AuthorizerAppid"))
        );
        assert_eq!(
            parse_component_event(b"<!DOCTYPE x><xml><InfoType>unauthorized</InfoType></xml>"),
            Err(PushError::Doctype)
        );
    }
}
