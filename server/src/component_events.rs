//! What the authorization-event URL puts in the event log: every push but tickets (state, not
//! events) — `authorized`, `updateauthorized` and `unauthorized` with what the store did with
//! them (`applied`, `record_version`), registration, verification and filing notices, the
//! fast-register result, and any `InfoType` wxopen does not know, each with every field WeChat
//! sent except the single-use codes (`AuthorizationCode`, `PreAuthCode`, `auth_code`: wxopen
//! exchanges them itself).

use wxopen_client::store::event_log::NewEvent;
use wxopen_client::wxopen_proto::xml::parse_flat;
use wxopen_client::{ComponentEvent, PushAck};

use wxopen_client::store::StoreKey;

use crate::outbox::{Source, CODE_SHA1, SOURCE, WITHHELD_FIELDS};

fn kept(name: &str) -> bool {
    let leaf = name.rsplit('/').next().unwrap_or(name);
    !WITHHELD_FIELDS.contains(&leaf)
}

fn pairs(list: &[(&str, String)]) -> Vec<(String, String)> {
    list.iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

/// The log entry of a component push, or `None` for a ticket (and kinds with nothing to relay).
pub(crate) fn event_for(component: &str, ack: &PushAck, received_at_ms: u64) -> Option<NewEvent> {
    let info_type = ack.event.info_type().to_owned();
    let (authorizer, create_time, fields, source) = match &ack.event {
        ComponentEvent::Authorized(g) | ComponentEvent::UpdateAuthorized(g) => (
            g.authorizer_appid.clone(),
            g.create_time,
            pairs(&[
                ("AppId", g.app_id.clone()),
                ("CreateTime", g.create_time.to_string()),
                ("InfoType", info_type.clone()),
                ("AuthorizerAppid", g.authorizer_appid.clone()),
                (
                    "AuthorizationCodeExpiredTime",
                    g.authorization_code_expired_time
                        .map(|t| t.to_string())
                        .unwrap_or_default(),
                ),
            ]),
            Source::Authorization,
        ),
        ComponentEvent::Unauthorized {
            app_id,
            create_time,
            authorizer_appid,
        } => (
            authorizer_appid.clone(),
            *create_time,
            pairs(&[
                ("AppId", app_id.clone()),
                ("CreateTime", create_time.to_string()),
                ("InfoType", info_type.clone()),
                ("AuthorizerAppid", authorizer_appid.clone()),
            ]),
            Source::Authorization,
        ),
        ComponentEvent::NotifyThirdFastRegister {
            app_id,
            create_time,
            appid,
            status,
            msg,
            info,
            ..
        } => {
            let mut f = pairs(&[
                ("AppId", app_id.clone()),
                ("CreateTime", create_time.to_string()),
                ("InfoType", info_type.clone()),
                ("appid", appid.clone().unwrap_or_default()),
                ("status", status.map(|s| s.to_string()).unwrap_or_default()),
                ("msg", msg.clone().unwrap_or_default()),
            ]);
            f.extend(info.iter().map(|(k, v)| (format!("info/{k}"), v.clone())));
            (
                appid.clone().unwrap_or_default(),
                *create_time,
                f,
                Source::ComponentEvent,
            )
        }
        ComponentEvent::Notice(n) => (
            n.account().unwrap_or("").to_owned(),
            n.create_time,
            n.fields.iter().filter(|(k, _)| kept(k)).cloned().collect(),
            Source::ComponentEvent,
        ),
        ComponentEvent::Unknown { raw, .. } => {
            let fields: Vec<(String, String)> = parse_flat(raw.as_bytes())
                .map(|x| x.fields)
                .unwrap_or_default()
                .into_iter()
                .filter(|(k, _)| kept(k))
                .collect();
            let get = |name: &str| {
                fields
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.trim().to_owned())
            };
            let authorizer = get("AuthorizerAppid").unwrap_or_default();
            let create_time = get("CreateTime").and_then(|t| t.parse().ok()).unwrap_or(0);
            (authorizer, create_time, fields, Source::ComponentEvent)
        }
        // Tickets are state; anything else new is covered by the arms above.
        _ => return None,
    };
    let mut parts: Vec<&str> = vec!["component", &info_type];
    let created = create_time.to_string();
    parts.push(&created);
    for (k, v) in &fields {
        parts.push(k);
        parts.push(v);
    }
    let delivery_id = crate::messages::delivery_id(&parts);
    let mut meta = vec![(SOURCE.to_owned(), source.as_str().to_owned())];
    if source == Source::Authorization {
        meta.push(("applied".to_owned(), ack.applied.to_string()));
        if let Some(v) = ack.record_version {
            meta.push(("record_version".to_owned(), v.to_string()));
        }
    }
    // The code's exchange record names it by digest: the relay waits for that exchange's
    // outcome (never the code itself, which is withheld).
    let code = match &ack.event {
        ComponentEvent::Authorized(g) | ComponentEvent::UpdateAuthorized(g) => {
            Some(&g.authorization_code)
        }
        ComponentEvent::NotifyThirdFastRegister {
            status: Some(0),
            auth_code: Some(code),
            ..
        } => Some(code),
        _ => None,
    };
    if let Some(StoreKey::CodeExchange { code_sha1, .. }) =
        code.map(|c| StoreKey::code_exchange(component, c))
    {
        meta.push((CODE_SHA1.to_owned(), code_sha1));
    }
    Some(NewEvent {
        component: component.to_owned(),
        authorizer,
        delivery_id,
        kind: info_type,
        create_time,
        received_at_ms,
        fields,
        meta,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use wxopen_client::parse_component_event;

    fn ack(xml: &str, applied: bool, version: Option<u64>) -> PushAck {
        PushAck {
            event: parse_component_event(xml.as_bytes()).unwrap(),
            ticket_stored: false,
            replayed: false,
            applied,
            record_version: version,
            reply: "success",
        }
    }

    #[test]
    fn every_kind_but_tickets_is_logged_without_its_codes() {
        let ticket = ack("<xml><AppId>c</AppId><CreateTime>1</CreateTime><InfoType>component_verify_ticket</InfoType><ComponentVerifyTicket>t</ComponentVerifyTicket></xml>", false, None);
        assert!(event_for("wxc", &ticket, 5).is_none());

        let auth = ack("<xml><AppId>c</AppId><CreateTime>7</CreateTime><InfoType>authorized</InfoType><AuthorizerAppid>wxa</AuthorizerAppid><AuthorizationCode>queryauthcode@@@secret</AuthorizationCode><AuthorizationCodeExpiredTime>600</AuthorizationCodeExpiredTime><PreAuthCode>preauthcode@@@p</PreAuthCode></xml>", true, Some(42));
        let e = event_for("wxc", &auth, 5).unwrap();
        assert_eq!(
            (e.authorizer.as_str(), e.kind.as_str(), e.create_time),
            ("wxa", "authorized", 7)
        );
        let text = format!("{:?}", e.fields);
        assert!(
            !text.contains("secret") && !text.contains("preauthcode"),
            "{text}"
        );
        assert!(e.meta.contains(&("applied".into(), "true".into())));
        assert!(e.meta.contains(&("record_version".into(), "42".into())));
        // WeChat's retry of the same push has the same delivery id; another push another.
        assert_eq!(
            event_for("wxc", &auth, 9).unwrap().delivery_id,
            e.delivery_id
        );
        let other = ack("<xml><AppId>c</AppId><CreateTime>8</CreateTime><InfoType>authorized</InfoType><AuthorizerAppid>wxa</AuthorizerAppid><AuthorizationCode>queryauthcode@@@x</AuthorizationCode></xml>", true, Some(43));
        assert_ne!(
            event_for("wxc", &other, 9).unwrap().delivery_id,
            e.delivery_id
        );

        let fast = ack("<xml><AppId>c</AppId><CreateTime>2</CreateTime><InfoType>notify_third_fasteregister</InfoType><appid>wxn</appid><status>0</status><auth_code>code-secret</auth_code><msg>OK</msg><info><name>co</name></info></xml>", false, None);
        let e = event_for("wxc", &fast, 5).unwrap();
        assert_eq!(e.authorizer, "wxn");
        assert!(e.fields.contains(&("info/name".into(), "co".into())));
        assert!(!format!("{:?}", e.fields).contains("code-secret"));
        assert!(e.meta.contains(&(SOURCE.into(), "component_event".into())));

        let unknown = ack("<xml><AppId>c</AppId><CreateTime>3</CreateTime><InfoType>brand_new</InfoType><list><x>1</x></list><list><x>2</x></list><auth_code>s</auth_code></xml>", false, None);
        let e = event_for("wxc", &unknown, 5).unwrap();
        assert_eq!((e.kind.as_str(), e.create_time), ("brand_new", 3));
        let xs: Vec<&str> = e
            .fields
            .iter()
            .filter(|(k, _)| k == "list/x")
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(xs, ["1", "2"]);
        assert!(!e.fields.iter().any(|(k, _)| k == "auth_code"));

        let notice = ack("<xml><AppId>c</AppId><CreateTime>4</CreateTime><InfoType>notify_apply_icpfiling_result</InfoType><authorizer_appid>wxb</authorizer_appid><beian_status>3</beian_status></xml>", false, None);
        assert_eq!(event_for("wxc", &notice, 5).unwrap().authorizer, "wxb");
    }
}
