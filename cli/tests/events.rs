//! `wxopen events` against a real `wxopen serve`: a message the webhook refuses stays pending
//! in the log; `list` shows it, `discard` makes it a dead letter, `replay` sends it again; the
//! bearer key comes from the environment only.
#![cfg(feature = "serve")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

use common::*;
use serde_json::Value;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};
use wxopen_fake::harness;

const ACCOUNT: &str = "wxa0e5000000000077";

fn events(
    internal: &str,
    component: &str,
    key: Option<&str>,
    args: &[&str],
) -> (i32, Value, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wxopen"));
    cmd.arg("events")
        .args(["--url", internal, "--component", component])
        .args(args)
        .env_remove("WXOPEN_KEY");
    if let Some(k) = key {
        cmd.env("WXOPEN_KEY", k);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let v = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap_or(-1),
        v,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wxopen_events_lists_discards_and_replays_a_services_events() {
    let hook = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&hook)
        .await;
    let fake = fake().await;
    let dir = temp_dir();
    let key = random_key();
    let component = format!(
        "webhook_url = {}\nwebhook_secret = \"webhook-secret-0123456789\"\nwebhook_delivery = \"async\"\n",
        harness::toml_string(&format!("{}/hook", hook.uri()))
    );
    let file = ConfigFile {
        component: &component,
        ..ConfigFile::default()
    };
    let cfg = write_config_with(dir.path(), &file, &fake, &key);
    let serve = Serve::start(&cfg, &[], &[]);
    let http = http();
    wait_healthy(&http, &serve.internal).await;
    authorize(&http, &serve, &fake, ACCOUNT).await;
    let routes = serve.routes(fake.component_appid());
    let push = fake
        .push_text_message(ACCOUNT, "ouser77", "hello log")
        .unwrap();
    let a = send(
        http.post(push.url(&routes.callback(ACCOUNT)))
            .body(push.body.clone()),
    )
    .await;
    assert_eq!((a.status, a.body.as_str()), (200, "success"));
    let appid = fake.component_appid().to_owned();

    let (code, v, err) = events(
        &serve.internal,
        &appid,
        Some(&key),
        &["list", "--kind", "text"],
    );
    assert_eq!(code, 0, "{err}");
    let list = v["events"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{v}");
    assert!(["pending", "in_flight"].contains(&list[0]["state"].as_str().unwrap()));
    assert!(list[0]["fields"].to_string().contains("hello log"));
    let id = list[0]["id"].as_u64().unwrap().to_string();

    let (code, v, err) = events(&serve.internal, &appid, Some(&key), &["discard", &id]);
    assert_eq!((code, v["changed"].as_u64()), (0, Some(1)), "{err}");
    let (_, v, _) = events(&serve.internal, &appid, Some(&key), &["get", &id]);
    assert_eq!(
        (v["state"].as_str(), v["dead_reason"].as_str()),
        (Some("dead"), Some("discarded"))
    );

    // The webhook takes it now; a replay sends it again and the worker delivers it.
    hook.reset().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&hook)
        .await;
    let (code, v, err) = events(&serve.internal, &appid, Some(&key), &["replay", &id]);
    assert_eq!((code, v["changed"].as_u64()), (0, Some(1)), "{err}");
    let mut delivered = false;
    for _ in 0..100 {
        let (_, v, _) = events(&serve.internal, &appid, Some(&key), &["get", &id]);
        if v["state"] == "delivered" {
            delivered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(delivered, "the replayed event was delivered");
    let texts = hook
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| String::from_utf8_lossy(&r.body).contains("hello log"))
        .count();
    assert_eq!(texts, 1);

    // No key in the environment: a usage error, nothing sent.
    let (code, _, err) = events(&serve.internal, &appid, None, &["list"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("WXOPEN_KEY"), "{err}");
    // A wrong key: the service's 401, reported.
    let (code, _, err) = events(
        &serve.internal,
        &appid,
        Some("wrong-key-0123456789abcdef"),
        &["list"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("401"), "{err}");
}
