//! Binary answers and multipart uploads through the client against the stateful fake: an image
//! endpoint answering a JSON `{errcode: 40001}` with status 200 (WxJava PR#317: undetected, so
//! never refreshed) makes the client expire the token, refresh it once and retry once; the image
//! comes back as bytes with its content type; a `Multipart` upload reaches the fake's
//! `media/upload` byte for byte, and one over the cap is refused before any request.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use wxopen_client::api::ApiCall;
use wxopen_client::{
    ApiBody, AuthorizationCode, ComponentClient, Error, Jitter, Multipart, RetryPolicy,
    DEFAULT_MAX_UPLOAD_BYTES,
};
use wxopen_fake::{
    Endpoint, FakeConfig, FakeWeChat, PushKind, GET_QRCODE, IMAGE_MAGIC, MEDIA_UPLOAD,
    WXACODE_UNLIMIT,
};

const T0: u64 = 1_700_000_000;
const ACCOUNT: &str = "wx0fa0000000000b01";

async fn authorized() -> (FakeWeChat, ComponentClient) {
    let fake = FakeWeChat::start_with(FakeConfig {
        start_unix: Some(T0),
        ..FakeConfig::default()
    })
    .await
    .unwrap();
    let config = fake
        .client_config()
        .unwrap()
        .with_retry(RetryPolicy::immediate(1))
        .with_timeouts(Duration::from_secs(2), Duration::from_secs(1))
        .with_refresh(Duration::from_secs(600), Jitter::None);
    let client = fake.client_builder(config).build().unwrap();
    fake.push_ticket()
        .unwrap()
        .deliver_to(&client)
        .await
        .unwrap();
    let push = fake.push_authorized(ACCOUNT).unwrap();
    let PushKind::Authorized {
        authorization_code, ..
    } = &push.kind
    else {
        unreachable!()
    };
    client
        .query_auth(&AuthorizationCode::new(authorization_code.clone()))
        .await
        .unwrap();
    fake.reset_counters();
    (fake, client)
}

#[tokio::test]
async fn a_json_error_on_an_image_endpoint_refreshes_and_retries_once() {
    let (fake, client) = authorized().await;
    fake.invalidate_authorizer_token(ACCOUNT).unwrap();
    let call = ApiCall::get("wxa/get_qrcode").unwrap();
    let body = client
        .call_authorizer_api_body::<()>(ACCOUNT, &call, &[("path", "pages/a?x=1")], None)
        .await
        .unwrap();
    let ApiBody::Binary {
        content_type,
        bytes,
    } = body
    else {
        panic!("not an image: {body:?}")
    };
    assert_eq!(content_type, "image/jpeg");
    assert_eq!(
        bytes,
        [IMAGE_MAGIC, format!("{ACCOUNT}:pages/a?x=1").as_bytes()].concat()
    );
    // The JSON 40001 was seen: one refresh, one retry.
    assert_eq!(fake.calls(GET_QRCODE), 2);
    assert_eq!(fake.successes(GET_QRCODE), 1);
    assert_eq!(fake.calls(Endpoint::AuthorizerToken), 1);

    // A POST image endpoint with a JSON body: the same.
    fake.invalidate_authorizer_token(ACCOUNT).unwrap();
    let call = ApiCall::post("wxa/getwxacodeunlimit").unwrap();
    let body = client
        .call_authorizer_api_body(
            ACCOUNT,
            &call,
            &[],
            Some(&serde_json::json!({"scene": "a=1"})),
        )
        .await
        .unwrap();
    assert!(
        matches!(&body, ApiBody::Binary { content_type, .. } if content_type == "image/png"),
        "{body:?}"
    );
    assert_eq!(fake.calls(WXACODE_UNLIMIT), 2);
    assert_eq!(fake.calls(Endpoint::AuthorizerToken), 2);

    // A JSON error that is not about the token is a typed error, not retried.
    let err = client
        .call_authorizer_api_body(ACCOUNT, &call, &[], Some(&serde_json::json!({})))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::WechatApi { errcode: 41030, .. }),
        "{err:?}"
    );
    assert_eq!(fake.calls(WXACODE_UNLIMIT), 3);
}

#[tokio::test]
async fn multipart_uploads_reach_the_fake_and_over_the_cap_are_refused_before_sending() {
    let (fake, client) = authorized().await;
    let file: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
    let form = Multipart::new()
        .file("media", "photo.jpg", "image/jpeg", file.clone())
        .unwrap();
    let call = ApiCall::post("cgi-bin/media/upload").unwrap();
    // Without `type` the fake answers 40004 (a typed error, not retried: not idempotent).
    let err = client
        .upload_authorizer_api::<serde_json::Value>(ACCOUNT, &call, &[], &form)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::WechatApi { errcode: 40004, .. }),
        "no type: {err:?}"
    );
    assert_eq!(fake.calls(MEDIA_UPLOAD), 1);
    // With it, after the token was invalidated: refreshed, resent, stored byte for byte.
    fake.invalidate_authorizer_token(ACCOUNT).unwrap();
    let v: serde_json::Value = client
        .upload_authorizer_api(ACCOUNT, &call, &[("type", "image")], &form)
        .await
        .unwrap();
    assert_eq!(v["type"], "image");
    let uploads = fake.uploads();
    assert_eq!(uploads.len(), 1);
    assert_eq!(v["media_id"], uploads[0].0.as_str());
    assert_eq!(uploads[0].1, file);
    assert_eq!(fake.calls(MEDIA_UPLOAD), 3);
    assert_eq!(fake.calls(Endpoint::AuthorizerToken), 1);

    let big = Multipart::new()
        .file(
            "media",
            "big.bin",
            "application/octet-stream",
            vec![0u8; usize::try_from(DEFAULT_MAX_UPLOAD_BYTES).unwrap()],
        )
        .unwrap();
    let err = client
        .upload_authorizer_api::<serde_json::Value>(ACCOUNT, &call, &[("type", "image")], &big)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    assert_eq!(fake.calls(MEDIA_UPLOAD), 3, "the big one was never sent");
}
