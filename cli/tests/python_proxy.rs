//! A service in another language (`tests/python/proxy_client.py`, Python 3 standard library
//! only) against a real `wxopen serve` and the fake platform: it reads a token, then calls
//! WeChat through the token-injecting proxy without holding one — an image after the fake
//! invalidated the account's token (one refresh, the bytes and their content type), a
//! multipart upload, a message (WeChat's answer as it is) and a denied path (403). `python3`
//! must be installed: without it the test fails.
#![cfg(feature = "serve")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

use common::*;
use serde_json::Value;
use wxopen_fake::{Endpoint, CUSTOM_SEND, GET_QRCODE, IMAGE_MAGIC, MEDIA_UPLOAD};

const ACCOUNT: &str = "wxa0e5000000000p01";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_service_gets_a_token_and_calls_wechat_through_the_proxy() {
    let fake = fake().await;
    let dir = temp_dir();
    let key = random_key();
    let cfg = write_config(dir.path(), &fake, &key);
    let serve = Serve::start(&cfg, &[], &[]);
    let http = http();
    wait_healthy(&http, &serve.internal).await;
    authorize(&http, &serve, &fake, ACCOUNT).await;
    fake.invalidate_authorizer_token(ACCOUNT).unwrap();
    fake.reset_counters();

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/proxy_client.py");
    let (internal, component) = (serve.internal.clone(), fake.component_appid().to_owned());
    let out = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg(script)
            .args([&internal, &component, ACCOUNT])
            .env("WXOPEN_KEY", key)
            .output()
            .expect("python3 must be installed to run this test")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "python failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let steps: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let step = |name: &str| {
        steps
            .iter()
            .find(|s| s["step"] == name)
            .unwrap_or_else(|| panic!("no {name} in {stdout}"))
            .clone()
    };

    let token = step("token");
    assert_eq!(token["status"], 200);
    assert_eq!(token["has_token"], true);
    // The image: the token the fake invalidated was refreshed once and the call repeated.
    let qr = step("qrcode");
    assert_eq!(qr["status"], 200, "{qr}");
    assert_eq!(qr["content_type"], "image/jpeg");
    assert_eq!(qr["head"], hex(IMAGE_MAGIC));
    assert_eq!(qr["tail"], format!("{ACCOUNT}:pages/index"));
    assert_eq!(fake.calls(GET_QRCODE), 2);
    // The token read in step 1 was the invalidated one: no refresh happened for it; the proxy's
    // retry made the only one.
    assert_eq!(fake.calls(Endpoint::AuthorizerToken), 1);

    let up = step("upload");
    assert_eq!(up["status"], 200, "{up}");
    assert_eq!(up["answer"]["type"], "image");
    let uploads = fake.uploads();
    assert_eq!(uploads.len(), 1);
    assert_eq!(up["answer"]["media_id"], uploads[0].0.as_str());
    assert_eq!(uploads[0].1.len(), 1024);
    assert_eq!(fake.calls(MEDIA_UPLOAD), 1);

    // WeChat's answer as it is: the user never wrote to the account (40003), sent once.
    let send = step("send");
    assert_eq!(send["status"], 200);
    assert_eq!(send["answer"]["errcode"], 40003);
    assert_eq!(fake.calls(CUSTOM_SEND), 1);

    let denied = step("denied");
    assert_eq!(denied["status"], 403);
    assert_eq!(fake.calls(Endpoint::QueryAuth), 0);
    eprintln!(
        "python proof: upstream calls: get_qrcode {} (1 retry), api_authorizer_token {}, media/upload {}, custom/send {}",
        fake.calls(GET_QRCODE),
        fake.calls(Endpoint::AuthorizerToken),
        fake.calls(MEDIA_UPLOAD),
        fake.calls(CUSTOM_SEND)
    );
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
