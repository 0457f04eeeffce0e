//! 40001/40014/42001: expire only the token that failed, refresh once, retry once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::json;
use wiremock::ResponseTemplate;
use wxopen_client::{ClientEvent, Error};

fn info_ok() -> ResponseTemplate {
    ok_json(json!({
        "authorizer_info": {"nick_name": "n", "user_name": "gh_1"},
        "authorization_info": {"authorizer_appid": "wxauthorizer01", "func_info": []}
    }))
}

/// A ticket, and one fetch of each component token in turn.
fn rotating_component_token() -> Scenario {
    Scenario::new()
        .ticket("ticket@@@t")
        .component_tokens(&["ctok-old", "ctok-new"])
}

/// `authorizer_info`'s error while WeChat answers it `answer`, expecting `fetches`
/// component-token fetches and `calls` calls.
async fn info_failing(fetches: u64, calls: u64, answer: ResponseTemplate) -> (Harness, Error) {
    let h = Scenario::ready("ctok", fetches)
        .expect(calls, post(P_AUTHORIZER_INFO), answer)
        .start()
        .await;
    let err = h.client.authorizer_info("wxauthorizer01").await;
    (h, err.unwrap_err())
}

#[tokio::test]
async fn component_token_40001_one_refresh_one_retry() {
    // First fetch gives ctok-old, the refresh gives ctok-new.
    let rejected = err_json(
        40001,
        "invalid credential, access_token is invalid or not latest",
    );
    let h = rotating_component_token()
        .expect(1, post(P_AUTHORIZER_INFO).ctok("ctok-old"), rejected)
        .expect(1, post(P_AUTHORIZER_INFO).ctok("ctok-new"), info_ok())
        .start()
        .await;
    let mut events = h.client.subscribe();

    let info = h.client.authorizer_info("wxauthorizer01").await.unwrap();
    assert_eq!(info.authorizer_info.user_name, "gh_1");
    assert_eq!(h.ctok().await, "ctok-new");
    let mut rejected = false;
    while let Ok(e) = events.try_recv() {
        rejected |= e
            == ClientEvent::TokenRejected {
                authorizer_appid: None,
                errcode: 40001,
            };
    }
    assert!(rejected);
    h.verify().await;
}

#[tokio::test]
async fn persistent_token_error_is_not_retried_forever() {
    // Every token is rejected: exactly two calls (original + one retry), two token fetches.
    let (h, err) = info_failing(2, 2, err_json(42001, "access_token expired")).await;
    assert!(err.is_token_invalid(), "{err}");
    assert_eq!(err.code(), Some(42001));
    h.verify().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn compare_and_expire_leaves_a_newer_token_alone() {
    // Two calls in flight with the same token both get 40001. The first expires that token and
    // refreshes; the second's compare-and-expire sees a newer version and leaves it alone, so
    // there is exactly one refresh (an unconditional expire would cause a second one).
    let slow_rejection =
        err_json(40001, "invalid credential").set_delay(std::time::Duration::from_millis(200));
    let h = rotating_component_token()
        .expect(2, post(P_AUTHORIZER_INFO).ctok("ctok-old"), slow_rejection)
        .expect(2, post(P_AUTHORIZER_INFO).ctok("ctok-new"), info_ok())
        .start()
        .await;
    h.client.component_access_token().await.unwrap();
    let (a, b) = tokio::join!(
        h.client.authorizer_info("wxauthorizer01"),
        h.client.authorizer_info("wxauthorizer01")
    );
    a.unwrap();
    b.unwrap();
    h.verify().await;
}

#[tokio::test]
async fn authorizer_token_40014_one_refresh_one_retry_keeps_refresh_token() {
    const OPTION: &str = "/cgi-bin/component/get_authorizer_option";
    let voice = json!({"option_name": "voice_recognize", "option_value": "1"});
    let h = Scenario::ready("ctok", 1)
        .authorized("wxauthorizer01", "atok-old", "refreshtoken@@@r1")
        .expect(
            1,
            post(OPTION).atok("atok-old"),
            err_json(40014, "invalid access_token"),
        )
        .expect(1, post(P_AUTHORIZER_TOKEN), atok_answer("atok-new"))
        .expect(1, post(OPTION).atok("atok-new"), ok_json(voice))
        .start()
        .await;
    let opt = h
        .client
        .authorizer_option("wxauthorizer01", "voice_recognize")
        .await
        .unwrap();
    assert_eq!(opt.option_value, "1");
    // No refresh token in the response: the stored one is kept, never lost.
    assert_eq!(h.refresh_token("wxauthorizer01").await, "refreshtoken@@@r1");
    let rec = h.record("wxauthorizer01").await.unwrap();
    assert_eq!(rec.access_token.unwrap().expose_secret(), "atok-new");
    h.verify().await;
}

#[tokio::test]
async fn unrelated_errors_do_not_trigger_refresh() {
    let (h, err) = info_failing(1, 1, err_json(48001, "api unauthorized")).await;
    assert!(
        matches!(err, Error::WechatApi { errcode: 48001, .. }),
        "{err}"
    );
    h.verify().await;
}
