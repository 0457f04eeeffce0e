//! query_auth never loses a spent code's result, imports from other systems, key rotation,
//! generic calls' retry rules, and the replay cache.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use serde_json::json;
use wiremock::matchers::{body_partial_json, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};
use wxopen_client::{
    ApiCall, AuthorizationCode, AuthorizerRefreshToken, ComponentClient, Error, KeyUsed,
    ManualClock, MemoryReplayCache, MemoryStore, PushQuery, TokenStore,
};
use wxopen_core::MsgCrypt;

const NEW_AES_KEY: &str = "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut";

fn query_auth_answer(refresh: &str) -> ResponseTemplate {
    ok_json(json!({"authorization_info": {
        "authorizer_appid": "wxauthorizer01",
        "authorizer_access_token": "atok-1",
        "expires_in": 7200,
        "authorizer_refresh_token": refresh,
        "func_info": [{"funcscope_category": {"id": 1}}]
    }}))
}

/// The code is spent once WeChat answers: a store failure then returns the answer in the
/// error, and storing it later works.
#[tokio::test]
async fn query_auth_returns_the_result_when_the_store_fails() {
    let server = MockServer::start().await;
    let clock = ManualClock::at_unix(T0);
    let store = Arc::new(FaultyStore::default());
    let client = client_on(config(&[&server]), store.clone(), &clock);
    client
        .record_ticket(wxopen_client::ComponentVerifyTicket::new("ticket@@@t"), T0)
        .await
        .unwrap();
    mount_component_token(&server, "ctok", 1).await;
    client.component_access_token().await.unwrap();
    Mock::given(method("POST"))
        .and(path(P_QUERY_AUTH))
        .respond_with(query_auth_answer("refreshtoken@@@r1"))
        .expect(1)
        .mount(&server)
        .await;
    store.fail_writes.store(true, Ordering::SeqCst);
    let err = client
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
    store.fail_writes.store(false, Ordering::SeqCst);
    client.store_authorization(info).await.unwrap();
    assert_eq!(
        client
            .authorizer_access_token("wxauthorizer01")
            .await
            .unwrap()
            .expose_secret(),
        "atok-1"
    );
    server.verify().await;
}

/// An empty refresh token in the answer is treated as absent: the access token is stored,
/// and the refresh token is recovered from the list when it is needed.
#[tokio::test]
async fn an_empty_refresh_token_from_query_auth_is_absent_not_an_error() {
    let server = MockServer::start().await;
    let h = harness(&[&server]);
    push_ticket(&h, "ticket@@@t", T0).await;
    mount_component_token(&server, "ctok", 2).await;
    Mock::given(method("POST"))
        .and(path(P_QUERY_AUTH))
        .respond_with(query_auth_answer(""))
        .expect(1)
        .mount(&server)
        .await;
    let info = h
        .client
        .query_auth(&AuthorizationCode::new("queryauthcode@@@c"))
        .await
        .unwrap();
    assert!(info.authorizer_refresh_token.is_none());
    assert_eq!(
        h.client
            .authorizer_access_token("wxauthorizer01")
            .await
            .unwrap()
            .expose_secret(),
        "atok-1"
    );
    // At expiry the refresh token comes from the authorizer list.
    h.clock.advance(Duration::from_secs(7200));
    Mock::given(method("POST"))
        .and(path(P_AUTHORIZER_LIST))
        .respond_with(ok_json(json!({"total_count": 1, "list": [
            {"authorizer_appid": "wxauthorizer01", "refresh_token": "refreshtoken@@@listed", "auth_time": 1}
        ]})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(P_AUTHORIZER_TOKEN))
        .and(body_partial_json(
            json!({"authorizer_refresh_token": "refreshtoken@@@listed"}),
        ))
        .respond_with(ok_json(
            json!({"authorizer_access_token": "atok-2", "expires_in": 7200}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(
        h.client
            .authorizer_access_token("wxauthorizer01")
            .await
            .unwrap()
            .expose_secret(),
        "atok-2"
    );
    server.verify().await;
}

/// Teams moving from another SDK import refresh tokens: one api_authorizer_token call each.
#[tokio::test]
async fn import_authorizers_with_their_refresh_tokens() {
    let server = MockServer::start().await;
    let h = harness(&[&server]);
    push_ticket(&h, "ticket@@@t", T0).await;
    mount_component_token(&server, "ctok", 1).await;
    Mock::given(method("POST"))
        .and(path(P_AUTHORIZER_TOKEN))
        .and(body_partial_json(
            json!({"authorizer_appid": "wxgood01", "authorizer_refresh_token": "refreshtoken@@@g"}),
        ))
        .respond_with(ok_json(json!({
            "authorizer_access_token": "atok-g", "expires_in": 7200,
            "authorizer_refresh_token": "refreshtoken@@@g2"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(P_AUTHORIZER_TOKEN))
        .and(body_partial_json(json!({"authorizer_appid": "wxbad01"})))
        .respond_with(err_json(61023, "refresh_token is invalid"))
        .expect(1)
        .mount(&server)
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
    let rec = h
        .client
        .authorizer_record("wxgood01")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        rec.refresh_token.unwrap().expose_secret(),
        "refreshtoken@@@g2"
    );
    assert_eq!(
        h.client
            .authorizer_access_token("wxgood01")
            .await
            .unwrap()
            .expose_secret(),
        "atok-g"
    );
    assert!(h
        .client
        .authorizer_record("wxbad01")
        .await
        .unwrap()
        .is_none());
    server.verify().await;
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
    let server = MockServer::start().await;
    let clock = ManualClock::at_unix(T0);
    let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::new());
    let before = client_on(config(&[&server]), store.clone(), &clock);
    let (q, body) = push_with(AES_KEY, &ticket_xml("ticket@@@1", T0));
    assert!(
        before
            .handle_component_push(&q, &body)
            .await
            .unwrap()
            .ticket_stored
    );

    // The key is rotated in the console; the service restarts with both keys.
    let mut cfg = config(&[&server]).with_previous_encoding_aes_key(AES_KEY);
    cfg.encoding_aes_key = NEW_AES_KEY.into();
    let after = client_on(cfg, store.clone(), &clock);
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
    let back = old
        .decrypt_message(
            reply.to_xml().as_bytes(),
            &reply.msg_signature,
            &reply.timestamp,
            &reply.nonce,
        )
        .unwrap();
    assert_eq!(back, b"<xml>ok</xml>");
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
    let server = MockServer::start().await;
    let h = harness_with(
        config(&[&server, &server])
            .with_timeouts(Duration::from_millis(300), Duration::from_millis(300)),
    );
    push_ticket(&h, "ticket@@@t", T0).await;
    mount_component_token(&server, "ctok", 1).await;
    authorize(&h, &server, "wxauthorizer01", "atok-1", "refreshtoken@@@r1").await;
    Mock::given(method("POST"))
        .and(path("/cgi-bin/message/custom/send"))
        .respond_with(err_json(0, "ok").set_delay(Duration::from_secs(2)))
        .mount(&server)
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
    assert_eq!(hits(&server, "/cgi-bin/message/custom/send").await, 1);

    Mock::given(method("GET"))
        .and(path("/wxa/gettemplatelist"))
        .and(query_param("access_token", "atok-1"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/wxa/gettemplatelist"))
        .respond_with(ok_json(json!({"errcode": 0, "template_list": []})))
        .mount(&server)
        .await;
    let list = ApiCall::get(format!("wxa/{}", "gettemplatelist"))
        .unwrap()
        .idempotent(true);
    let v: serde_json::Value = h
        .client
        .call_authorizer_api::<(), _>("wxauthorizer01", &list, None)
        .await
        .unwrap();
    assert_eq!(v["template_list"], json!([]));
    assert_eq!(hits(&server, "/wxa/gettemplatelist").await, 3);
}

/// With a replay cache, a push seen before is answered `success` and not applied again.
#[tokio::test]
async fn a_replayed_push_is_answered_and_not_applied() {
    let server = MockServer::start().await;
    let clock = ManualClock::at_unix(T0);
    let client = ComponentClient::builder(config(&[&server]))
        .clock(Arc::new(clock.clone()))
        .replay_cache(Arc::new(MemoryReplayCache::new(16)))
        .build()
        .unwrap();
    let (q, body) = push(&ticket_xml("ticket@@@1", T0), TS, "n");
    let first = client.handle_component_push(&q, &body).await.unwrap();
    assert!(first.ticket_stored && !first.replayed);
    let again = client.handle_component_push(&q, &body).await.unwrap();
    assert!(again.replayed && !again.ticket_stored);
    assert_eq!(again.reply, "success");
}
