//! The push handler: local work only, newest ticket wins, unauthorized drops tokens, strict
//! verification, authorized-account messages.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use wiremock::matchers::any;
use wiremock::{Mock, ResponseTemplate};
use wxopen_client::{ComponentEvent, Error, PushError, PushQuery};

/// Every upstream request would hang for a minute, and none is expected.
fn hanging_fake() -> Scenario {
    let hang = ResponseTemplate::new(200).set_delay(Duration::from_secs(60));
    Scenario::new().expect(0, Mock::given(any()), hang)
}

/// Pushes `ticket` (with this `CreateTime`) and tells whether the handler stored it.
async fn ticket_stored(h: &Harness, ticket: &str, create_time: u64) -> bool {
    let (q, body) = push(&ticket_xml(ticket, create_time), TS, "n");
    let ack = h.client.handle_component_push(&q, &body).await.unwrap();
    ack.ticket_stored
}

#[tokio::test]
async fn handler_answers_without_upstream_even_when_fake_hangs() {
    let h = hanging_fake().start().await;
    let started = std::time::Instant::now();
    for (i, xml) in [
        ticket_xml("ticket@@@a", T0),
        authorized_xml("wxauthorizer01", "queryauthcode@@@c", T0 + 1),
        unauthorized_xml("wxauthorizer01", T0 + 2),
        "<xml><AppId>wxcomponent0001</AppId><CreateTime>3</CreateTime><InfoType>brand_new_thing</InfoType></xml>".to_owned(),
    ]
    .iter()
    .enumerate()
    {
        let (q, body) = push(xml, &(T0 + i as u64).to_string(), "n");
        let ack = tokio::time::timeout(Duration::from_secs(1), h.client.handle_component_push(&q, &body))
            .await
            .expect("push handler must not wait on the network")
            .unwrap();
        assert_eq!(ack.reply, "success");
    }
    assert!(started.elapsed() < Duration::from_secs(2));
    h.verify().await;
    assert!(h.server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn duplicate_or_older_ticket_never_replaces_newer() {
    let h = hanging_fake().start().await;
    assert!(ticket_stored(&h, "ticket@@@new", T0 + 600).await);
    // Duplicate (same CreateTime, even with another value) and older pushes are ignored.
    for (ticket, t) in [
        ("ticket@@@new", T0 + 600),
        ("ticket@@@dup", T0 + 600),
        ("ticket@@@old", T0),
    ] {
        let (q, body) = push(&ticket_xml(ticket, t), TS, "n");
        let ack = h.client.handle_component_push(&q, &body).await.unwrap();
        assert!(!ack.ticket_stored, "{ticket}");
        assert!(matches!(
            ack.event,
            ComponentEvent::ComponentVerifyTicket { .. }
        ));
    }
    let stored = h.client.stored_ticket().await.unwrap().unwrap();
    assert_eq!(stored.ticket.expose_secret(), "ticket@@@new");
    assert_eq!(stored.create_time, T0 + 600);
    // A newer one replaces it.
    assert!(ticket_stored(&h, "ticket@@@newer", T0 + 1200).await);
    let stored = h.client.stored_ticket().await.unwrap().unwrap();
    assert_eq!(stored.ticket.expose_secret(), "ticket@@@newer");
}

#[tokio::test]
async fn unauthorized_drops_that_authorizers_tokens_only() {
    let h = Scenario::ready("ctok", 1)
        .authorized("wxauthorizer01", "atok-1", "refreshtoken@@@r1")
        .authorized("wxauthorizer02", "atok-2", "refreshtoken@@@r2")
        .start()
        .await;
    let mut events = h.client.subscribe();
    let (q, body) = push(&unauthorized_xml("wxauthorizer01", T0 + 10), TS, "n");
    let ack = h.client.handle_component_push(&q, &body).await.unwrap();
    assert!(
        matches!(ack.event, ComponentEvent::Unauthorized { ref authorizer_appid, .. } if authorizer_appid == "wxauthorizer01")
    );
    assert!(h.record("wxauthorizer01").await.is_none());
    assert!(h.record("wxauthorizer02").await.is_some());
    assert_eq!(
        events.recv().await.unwrap(),
        wxopen_client::ClientEvent::AuthorizerUnauthorized {
            authorizer_appid: "wxauthorizer01".into()
        }
    );
    h.verify().await;
}

#[tokio::test]
async fn verification_uses_msg_signature_not_signature() {
    let h = hanging_fake().start().await;
    let (q, body) = push(&ticket_xml("ticket@@@a", T0), "1700000000", "n");
    // The query carries the genuine three-field `signature` for this token, timestamp and nonce.
    let signature = q.signature.clone().unwrap();
    assert!(
        wxopen_core::signature::verify_plain(&signature, TOKEN, &q.timestamp, &q.nonce).is_ok(),
        "the test's `signature` must be the real one"
    );
    assert_ne!(signature, q.msg_signature);
    // Passing that genuine `signature` as msg_signature fails with the official -40001.
    let wrong = PushQuery {
        msg_signature: q.signature.clone().unwrap(),
        ..q.clone()
    };
    let err = h
        .client
        .handle_component_push(&wrong, &body)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(-40001), "{err}");
    // A tampered timestamp fails too.
    let wrong = PushQuery {
        timestamp: "1700000001".into(),
        ..q.clone()
    };
    assert!(matches!(
        h.client.handle_component_push(&wrong, &body).await,
        Err(Error::Crypto(_))
    ));
    // A query without msg_signature is refused with a hint, even with the genuine `signature`.
    let err = PushQuery::parse(&format!(
        "signature={signature}&timestamp={}&nonce={}",
        q.timestamp, q.nonce
    ))
    .unwrap_err();
    assert_eq!(err, PushError::MissingQueryParam("msg_signature"));
    assert!(h.client.stored_ticket().await.unwrap().is_none());
    // `signature` plays no part: a wrong one next to the right msg_signature is accepted.
    let other = PushQuery {
        signature: Some("0".repeat(40)),
        ..q.clone()
    };
    let ack = h.client.handle_component_push(&other, &body).await.unwrap();
    assert!(ack.ticket_stored);
}

#[tokio::test]
async fn hostile_xml_inside_a_valid_envelope_is_refused() {
    let h = hanging_fake().start().await;
    for (xml, expected) in [
        (
            "<!DOCTYPE x [<!ENTITY e \"boom\">]><xml><AppId>wxcomponent0001</AppId><InfoType>component_verify_ticket</InfoType></xml>",
            PushError::Doctype,
        ),
        (
            "<xml><AppId>wxcomponent0001</AppId><CreateTime>1</CreateTime><InfoType>component_verify_ticket</InfoType><ComponentVerifyTicket>&e;</ComponentVerifyTicket></xml>",
            PushError::UnknownEntity("e".into()),
        ),
        (
            "<xml><AppId>wxsomeoneelse</AppId><CreateTime>1</CreateTime><InfoType>component_verify_ticket</InfoType><ComponentVerifyTicket>t</ComponentVerifyTicket></xml>",
            PushError::AppIdMismatch { expected: APPID.into(), found: "wxsomeoneelse".into() },
        ),
    ] {
        let (q, body) = push(xml, TS, "n");
        match h.client.handle_component_push(&q, &body).await {
            Err(Error::Push(e)) => assert_eq!(e, expected),
            other => panic!("{other:?}"),
        }
    }
    assert!(h.client.stored_ticket().await.unwrap().is_none());
}

#[tokio::test]
async fn timestamp_window_when_enabled() {
    let h = hanging_fake()
        .config(|c| c.with_push_timestamp_window(Some(Duration::from_secs(300))))
        .start()
        .await;
    let (q, body) = push(&ticket_xml("ticket@@@a", T0), &(T0 - 301).to_string(), "n");
    let err = h.client.handle_component_push(&q, &body).await.unwrap_err();
    assert_eq!(err.code(), Some(-40001));
    let (q, body) = push(&ticket_xml("ticket@@@a", T0), &(T0 - 10).to_string(), "n");
    assert!(h.client.handle_component_push(&q, &body).await.is_ok());
}

#[tokio::test]
async fn authorized_account_messages_decrypt_and_reply() {
    let h = hanging_fake().start().await;
    // A message for an authorized account: encrypted with the component's key, trailing id =
    // component appid, envelope with ToUserName.
    let msg = "<xml><ToUserName><![CDATA[gh_account]]></ToUserName><FromUserName><![CDATA[openid]]></FromUserName><CreateTime>1</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hi]]></Content></xml>";
    let crypt = wxopen_core::MsgCrypt::new(TOKEN, AES_KEY, APPID).unwrap();
    let enc = crypt
        .encrypt_reply(msg.as_bytes(), "1700000000", "nonce", b"fedcba9876543210")
        .unwrap();
    let body = format!("<xml><ToUserName><![CDATA[gh_account]]></ToUserName><Encrypt><![CDATA[{}]]></Encrypt></xml>", enc.encrypt);
    let q = PushQuery::new("1700000000", "nonce", enc.msg_signature.clone());
    let (plain, _) = h
        .client
        .decrypt_authorizer_message_raw(&q, body.as_bytes())
        .unwrap();
    assert_eq!(plain, msg.as_bytes());
    let message = h
        .client
        .decrypt_authorizer_message(&q, body.as_bytes())
        .unwrap();
    assert_eq!(message.content.as_deref(), Some("hi"));
    assert_eq!(message.to_user_name, "gh_account");
    assert_eq!(message.from_user_name, "openid");
    assert_eq!(message.msg_type.as_str(), "text");

    // Passive reply: encrypted, signed, decryptable by the platform side.
    let reply = h
        .client
        .encrypt_authorizer_reply(b"<xml><Content>ok</Content></xml>")
        .unwrap();
    assert_eq!(reply.timestamp, T0.to_string());
    assert_eq!(
        open_reply(&crypt, &reply),
        b"<xml><Content>ok</Content></xml>"
    );
    // Deterministic variant.
    let r1 = h
        .client
        .encrypt_authorizer_reply_with(b"x", "1", "n", &[7; 16])
        .unwrap();
    let r2 = h
        .client
        .encrypt_authorizer_reply_with(b"x", "1", "n", &[7; 16])
        .unwrap();
    assert_eq!(r1, r2);
    // A message for another receiver id is refused (-40005).
    let other = wxopen_core::MsgCrypt::new(TOKEN, AES_KEY, "wxauthorizer01").unwrap();
    let enc = other.encrypt_reply(b"<xml/>", TS, "n", &[1; 16]).unwrap();
    let q = PushQuery::new(TS, "n", enc.msg_signature.clone());
    let err = h
        .client
        .decrypt_authorizer_message(&q, enc.to_xml().as_bytes())
        .unwrap_err();
    assert_eq!(err.code(), Some(-40005), "{err}");
    h.verify().await;
}
