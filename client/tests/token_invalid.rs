//! 40001/40014/42001: expire only the token that failed, refresh once, retry once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer};
use wxopen_client::{ClientEvent, Error};

fn info_ok() -> serde_json::Value {
    json!({
        "authorizer_info": {"nick_name": "n", "user_name": "gh_1"},
        "authorization_info": {"authorizer_appid": "wxauthorizer01", "func_info": []}
    })
}

#[tokio::test]
async fn component_token_40001_one_refresh_one_retry() {
    let server = MockServer::start().await;
    let h = harness(&[&server]);
    push_ticket(&h, "ticket@@@t", T0).await;
    let mut events = h.client.subscribe();

    // First fetch gives ctok-old, the refresh gives ctok-new.
    Mock::given(method("POST"))
        .and(path(P_COMPONENT_TOKEN))
        .respond_with(ok_json(
            json!({"component_access_token": "ctok-old", "expires_in": 7200}),
        ))
        .up_to_n_times(1)
        .expect(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(P_COMPONENT_TOKEN))
        .respond_with(ok_json(
            json!({"component_access_token": "ctok-new", "expires_in": 7200}),
        ))
        .expect(1)
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(P_AUTHORIZER_INFO))
        .and(query_param("component_access_token", "ctok-old"))
        .respond_with(err_json(
            40001,
            "invalid credential, access_token is invalid or not latest",
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(P_AUTHORIZER_INFO))
        .and(query_param("component_access_token", "ctok-new"))
        .respond_with(ok_json(info_ok()))
        .expect(1)
        .mount(&server)
        .await;

    let info = h.client.authorizer_info("wxauthorizer01").await.unwrap();
    assert_eq!(info.authorizer_info.user_name, "gh_1");
    assert_eq!(
        h.client
            .component_access_token()
            .await
            .unwrap()
            .expose_secret(),
        "ctok-new"
    );
    let mut rejected = false;
    while let Ok(e) = events.try_recv() {
        rejected |= e
            == ClientEvent::TokenRejected {
                authorizer_appid: None,
                errcode: 40001,
            };
    }
    assert!(rejected);
    server.verify().await;
}

#[tokio::test]
async fn persistent_token_error_is_not_retried_forever() {
    let server = MockServer::start().await;
    let h = harness(&[&server]);
    push_ticket(&h, "ticket@@@t", T0).await;
    // Every token is rejected: exactly two calls (original + one retry), two token fetches.
    mount_component_token(&server, "ctok", 2).await;
    Mock::given(method("POST"))
        .and(path(P_AUTHORIZER_INFO))
        .respond_with(err_json(42001, "access_token expired"))
        .expect(2)
        .mount(&server)
        .await;
    let err = h
        .client
        .authorizer_info("wxauthorizer01")
        .await
        .unwrap_err();
    assert!(err.is_token_invalid(), "{err}");
    assert_eq!(err.code(), Some(42001));
    server.verify().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn compare_and_expire_leaves_a_newer_token_alone() {
    // Two calls in flight with the same token both get 40001. The first expires that token and
    // refreshes; the second's compare-and-expire sees a newer version and leaves it alone, so
    // there is exactly one refresh (an unconditional expire would cause a second one).
    let server = MockServer::start().await;
    let h = harness(&[&server]);
    push_ticket(&h, "ticket@@@t", T0).await;
    Mock::given(method("POST"))
        .and(path(P_COMPONENT_TOKEN))
        .respond_with(ok_json(
            json!({"component_access_token": "ctok-old", "expires_in": 7200}),
        ))
        .up_to_n_times(1)
        .expect(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(P_COMPONENT_TOKEN))
        .respond_with(ok_json(
            json!({"component_access_token": "ctok-new", "expires_in": 7200}),
        ))
        .expect(1)
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(P_AUTHORIZER_INFO))
        .and(query_param("component_access_token", "ctok-old"))
        .respond_with(
            err_json(40001, "invalid credential").set_delay(std::time::Duration::from_millis(200)),
        )
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(P_AUTHORIZER_INFO))
        .and(query_param("component_access_token", "ctok-new"))
        .respond_with(ok_json(info_ok()))
        .expect(2)
        .mount(&server)
        .await;
    h.client.component_access_token().await.unwrap();
    let (a, b) = tokio::join!(
        h.client.authorizer_info("wxauthorizer01"),
        h.client.authorizer_info("wxauthorizer01")
    );
    a.unwrap();
    b.unwrap();
    server.verify().await;
}

#[tokio::test]
async fn authorizer_token_40014_one_refresh_one_retry_keeps_refresh_token() {
    let server = MockServer::start().await;
    let h = harness(&[&server]);
    push_ticket(&h, "ticket@@@t", T0).await;
    mount_component_token(&server, "ctok", 1).await;
    authorize(
        &h,
        &server,
        "wxauthorizer01",
        "atok-old",
        "refreshtoken@@@r1",
    )
    .await;

    Mock::given(method("POST"))
        .and(path("/cgi-bin/component/get_authorizer_option"))
        .and(query_param("access_token", "atok-old"))
        .respond_with(err_json(40014, "invalid access_token"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(P_AUTHORIZER_TOKEN))
        .respond_with(ok_json(
            json!({"authorizer_access_token": "atok-new", "expires_in": 7200}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/cgi-bin/component/get_authorizer_option"))
        .and(query_param("access_token", "atok-new"))
        .respond_with(ok_json(
            json!({"option_name": "voice_recognize", "option_value": "1"}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let opt = h
        .client
        .authorizer_option("wxauthorizer01", "voice_recognize")
        .await
        .unwrap();
    assert_eq!(opt.option_value, "1");
    // No refresh token in the response: the stored one is kept, never lost.
    let rec = h
        .client
        .authorizer_record("wxauthorizer01")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        rec.refresh_token.as_ref().unwrap().expose_secret(),
        "refreshtoken@@@r1"
    );
    assert_eq!(rec.access_token.unwrap().expose_secret(), "atok-new");
    server.verify().await;
}

#[tokio::test]
async fn unrelated_errors_do_not_trigger_refresh() {
    let server = MockServer::start().await;
    let h = harness(&[&server]);
    push_ticket(&h, "ticket@@@t", T0).await;
    mount_component_token(&server, "ctok", 1).await;
    Mock::given(method("POST"))
        .and(path(P_AUTHORIZER_INFO))
        .respond_with(err_json(48001, "api unauthorized"))
        .expect(1)
        .mount(&server)
        .await;
    let err = h
        .client
        .authorizer_info("wxauthorizer01")
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::WechatApi { errcode: 48001, .. }),
        "{err}"
    );
    server.verify().await;
}
