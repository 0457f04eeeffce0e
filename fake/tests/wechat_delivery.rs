//! `deliver_like_wechat` against a receiver that fails, then answers; and one that never does;
//! `push_message_event` carries a mini-program event the receiver can read.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};
use wxopen_fake::{deliver_like_wechat, FakeWeChat, RetryPlan};

#[tokio::test]
async fn an_unanswered_push_is_sent_again_until_acknowledged() {
    let fake = FakeWeChat::start().await.unwrap();
    let push = fake
        .push_event("notify_3rd_wxa_auth", &[("taskid", "t1")])
        .unwrap();
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .mount(&receiver)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("success"))
        .mount(&receiver)
        .await;
    let http = reqwest::Client::new();
    let d = deliver_like_wechat(&http, &push, &receiver.uri(), RetryPlan::default()).await;
    assert_eq!(d.attempts, 3);
    assert_eq!(d.failures, vec![Some(503), Some(503)]);
    assert!(d.acknowledged());
    let bodies: Vec<String> = receiver
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| String::from_utf8(r.body.clone()).unwrap())
        .collect();
    assert!(
        bodies.iter().all(|b| *b == push.body),
        "the same push each time"
    );
}

#[tokio::test]
async fn a_push_never_answered_is_given_up_after_three_retries() {
    let fake = FakeWeChat::start().await.unwrap();
    let push = fake.push_ticket().unwrap();
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_millis(400)))
        .mount(&receiver)
        .await;
    let http = reqwest::Client::new();
    let plan = RetryPlan::default().answer_timeout(Duration::from_millis(50));
    let d = deliver_like_wechat(&http, &push, &receiver.uri(), plan).await;
    assert_eq!((d.attempts, d.acknowledged()), (4, false));
    assert_eq!(d.failures, vec![None; 4]);
}
