//! query_auth never loses a spent code's result, imports from other systems, key rotation,
//! generic calls' retry rules, and the replay cache.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use serde_json::json;
use wiremock::ResponseTemplate;
use wxopen_client::{
    ApiCall, AuthorizationCode, AuthorizerRefreshToken, Error, KeyUsed, MemoryReplayCache,
    PushQuery,
};
use wxopen_core::MsgCrypt;

const NEW_AES_KEY: &str = "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut";

/// query_auth's answer for "wxauthorizer01" ("atok-1") with this refresh token.
fn exchanged(refresh: &str) -> ResponseTemplate {
    query_auth_answer("wxauthorizer01", "atok-1", refresh)
}

/// The code is spent once WeChat answers: a store failure then returns the answer in the
/// error, and storing it later works.
#[tokio::test]
async fn query_auth_returns_the_result_when_the_store_fails() {
    let h = Scenario::new()
        .store(Arc::new(FaultyStore::default()))
        .recorded_ticket("ticket@@@t")
        .component_token("ctok", 1)
        .start()
        .await;
    h.client.component_access_token().await.unwrap();
    h.expect(1, post(P_QUERY_AUTH), exchanged("refreshtoken@@@r1"))
        .await;
    h.store.fail_writes.store(true, Ordering::SeqCst);
    let err = h
        .client
        .query_auth(&AuthorizationCode::new("queryauthcode@@@c"))
        .await
        .unwrap_err();
    let Error::NotStored { info, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(info.authorizer_appid, "wxauthorizer01");
    assert_eq!(
        info.authorizer_refresh_token
            .as_ref()
            .unwrap()
            .expose_secret(),
        "refreshtoken@@@r1"
    );
    assert!(!err.to_string().contains("refreshtoken@@@r1"), "{err}");
    h.store.fail_writes.store(false, Ordering::SeqCst);
    h.client.store_authorization(info).await.unwrap();
    assert_eq!(h.atok("wxauthorizer01").await, "atok-1");
    h.verify().await;
}

/// An empty refresh token in the answer is treated as absent: the access token is stored,
/// and the refresh token is recovered from the list when it is needed.
#[tokio::test]
async fn an_empty_refresh_token_from_query_auth_is_absent_not_an_error() {
    let h = Scenario::ready("ctok", 2)
        .expect(1, post(P_QUERY_AUTH), exchanged(""))
        .start()
        .await;
    let info = h
        .client
        .query_auth(&AuthorizationCode::new("queryauthcode@@@c"))
        .await
        .unwrap();
    assert!(info.authorizer_refresh_token.is_none());
    assert_eq!(h.atok("wxauthorizer01").await, "atok-1");
    // At expiry the refresh token comes from the authorizer list.
    h.clock.advance(Duration::from_secs(7200));
    let listed = list_answer(1, &[("wxauthorizer01", "refreshtoken@@@listed")]);
    h.expect(1, post(P_AUTHORIZER_LIST), listed).await;
    let refresh = post(P_AUTHORIZER_TOKEN)
        .body_has(json!({"authorizer_refresh_token": "refreshtoken@@@listed"}));
    h.expect(1, refresh, atok_answer("atok-2")).await;
    assert_eq!(h.atok("wxauthorizer01").await, "atok-2");
    h.verify().await;
}

/// Teams moving from another SDK import refresh tokens: one api_authorizer_token call each.
#[tokio::test]
async fn import_authorizers_with_their_refresh_tokens() {
    let good =
        json!({"authorizer_appid": "wxgood01", "authorizer_refresh_token": "refreshtoken@@@g"});
    let bad = json!({"authorizer_appid": "wxbad01"});
    let h = Scenario::ready("ctok", 1)
        .expect(
            1,
            post(P_AUTHORIZER_TOKEN).body_has(good),
            rotated_atok_answer("atok-g", "refreshtoken@@@g2"),
        )
        .expect(
            1,
            post(P_AUTHORIZER_TOKEN).body_has(bad),
            err_json(61023, "refresh_token is invalid"),
        )
        .start()
        .await;
    let results = h
        .client
        .import_authorizers([
            (
                "wxgood01".to_owned(),
                AuthorizerRefreshToken::new("refreshtoken@@@g"),
            ),
            (
                "wxbad01".to_owned(),
                AuthorizerRefreshToken::new("refreshtoken@@@b"),
            ),
            (
                "bad appid".to_owned(),
                AuthorizerRefreshToken::new("refreshtoken@@@x"),
            ),
        ])
        .await;
    assert_eq!(results[0].1.as_ref().unwrap(), &(T0 + 7200));
    assert_eq!(results[1].1.as_ref().unwrap_err().code(), Some(61023));
    assert!(matches!(results[2].1, Err(Error::InvalidInput { .. })));
    assert_eq!(h.refresh_token("wxgood01").await, "refreshtoken@@@g2");
    assert_eq!(h.atok("wxgood01").await, "atok-g");
    assert!(h.record("wxbad01").await.is_none());
    h.verify().await;
}

fn push_with(key: &str, xml: &str) -> (PushQuery, Vec<u8>) {
    let crypt = MsgCrypt::new(TOKEN, key, APPID).unwrap();
    let r = crypt
        .encrypt_reply(xml.as_bytes(), TS, "n", b"0123456789abcdef")
        .unwrap();
    let body = format!(
        "<xml><AppId><![CDATA[{APPID}]]></AppId><Encrypt><![CDATA[{}]]></Encrypt></xml>",
        r.encrypt
    );
    (PushQuery::new(TS, "n", r.msg_signature), body.into_bytes())
}

/// EncodingAESKey rotation mid-flow: after the console change, pushes under the old key and
/// the new one both decrypt; a reply uses the key of the message it answers.
#[tokio::test]
async fn key_rotation_mid_flow_loses_no_push() {
    let h = Scenario::new().start().await;
    let before = &h.client;
    let (q, body) = push_with(AES_KEY, &ticket_xml("ticket@@@1", T0));
    assert!(
        before
            .handle_component_push(&q, &body)
            .await
            .unwrap()
            .ticket_stored
    );

    // The key is rotated in the console; the service restarts with both keys.
    let mut cfg = h.config.clone().with_previous_encoding_aes_key(AES_KEY);
    cfg.encoding_aes_key = NEW_AES_KEY.into();
    let after = h.client_with(cfg);
    for (i, key) in [AES_KEY, NEW_AES_KEY, AES_KEY, NEW_AES_KEY]
        .iter()
        .enumerate()
    {
        let (q, body) = push_with(
            key,
            &ticket_xml(&format!("ticket@@@{}", i + 2), T0 + 1 + i as u64),
        );
        let ack = after.handle_component_push(&q, &body).await.unwrap();
        assert!(ack.ticket_stored, "push {i} under {key}");
    }
    // A message under the old key is answered under the old key.
    let msg = "<xml><ToUserName><![CDATA[gh_a]]></ToUserName><FromUserName><![CDATA[o1]]></FromUserName><CreateTime>1</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hi]]></Content><MsgId>7</MsgId></xml>";
    let (q, body) = push_with(AES_KEY, msg);
    let (m, used) = after
        .decrypt_authorizer_message_with_key(&q, &body)
        .unwrap();
    assert_eq!(
        (m.content.as_deref(), used),
        (Some("hi"), KeyUsed::Previous)
    );
    let reply = after
        .encrypt_authorizer_reply_as(used, b"<xml>ok</xml>")
        .unwrap();
    let old = MsgCrypt::new(TOKEN, AES_KEY, APPID).unwrap();
    assert_eq!(open_reply(&old, &reply), b"<xml>ok</xml>");
    // A key that is neither is refused.
    let (q, body) = push_with(
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG",
        &ticket_xml("ticket@@@x", T0 + 99),
    );
    assert!(after.handle_component_push(&q, &body).await.is_err());
}

/// A generic call that is not idempotent is sent once on a timeout (not 6 times); GET works
/// and an idempotent GET is retried.
#[tokio::test]
async fn generic_calls_follow_their_idempotency() {
    let late = err_json(0, "ok").set_delay(Duration::from_secs(2));
    let h = Scenario::new()
        .same_server_twice()
        .config(|c| c.with_timeouts(Duration::from_millis(300), Duration::from_millis(300)))
        .ticket("ticket@@@t")
        .component_token("ctok", 1)
        .authorized("wxauthorizer01", "atok-1", "refreshtoken@@@r1")
        .start()
        .await;
    h.server
        .allow(post("/cgi-bin/message/custom/send"), late)
        .await;
    let send = ApiCall::post("cgi-bin/message/custom/send").unwrap();
    let err = h
        .client
        .call_authorizer_api::<_, serde_json::Value>(
            "wxauthorizer01",
            &send,
            Some(&json!({"touser": "o1", "msgtype": "text", "text": {"content": "x"}})),
        )
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert_eq!(h.server.hits("/cgi-bin/message/custom/send").await, 1);

    get("/wxa/gettemplatelist")
        .atok("atok-1")
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .mount(&h.server)
        .await;
    let templates = ok_json(json!({"errcode": 0, "template_list": []}));
    h.server.allow(get("/wxa/gettemplatelist"), templates).await;
    let list = ApiCall::get(format!("wxa/{}", "gettemplatelist"))
        .unwrap()
        .idempotent(true);
    let v: serde_json::Value = h
        .client
        .call_authorizer_api::<(), _>("wxauthorizer01", &list, None)
        .await
        .unwrap();
    assert_eq!(v["template_list"], json!([]));
    assert_eq!(h.server.hits("/wxa/gettemplatelist").await, 3);
}

/// With a replay cache, a push seen before is answered `success` and not applied again.
#[tokio::test]
async fn a_replayed_push_is_answered_and_not_applied() {
    let h = Scenario::new()
        .client(|b| b.replay_cache(Arc::new(MemoryReplayCache::new(16))))
        .start()
        .await;
    let client = &h.client;
    let (q, body) = push(&ticket_xml("ticket@@@1", T0), TS, "n");
    let first = client.handle_component_push(&q, &body).await.unwrap();
    assert!(first.ticket_stored && !first.replayed);
    let again = client.handle_component_push(&q, &body).await.unwrap();
    assert!(again.replayed && !again.ticket_stored);
    assert_eq!(again.reply, "success");
}
